/*
 * rules.c: compiling and matching scoring rules (rules.h).
 *
 * The config (config.c) has already checked every key, field name and value shape; here each
 * condition becomes a field id plus values in the form matching wants: names become enum
 * indices, numbers integers, company names company keys, and text values a matcher
 * (config/textmatch.h: strings, globs, PCRE2 patterns).
 *
 * The behaviour rules are then planned for the scorer, which asks every one of them about
 * every event (plan_behaviour: conditions by cost, shared ones numbered, URL runs grouped per
 * field), and matched against an event prepared once (le_rules_event_t): the answers are
 * exactly those of trying each condition of each rule on its own.
 */
#include "rules.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "company.h"
#include "textmatch.h"

typedef enum {
    /* behaviour: the event */
    F_EVENT,
    F_URL,
    F_REF,
    F_TITLE,
    F_FORM,
    F_UTM_SOURCE,
    F_UTM_MEDIUM,
    F_UTM_CAMPAIGN,
    F_UTM_TERM,
    F_UTM_CONTENT,
    F_PROP,
    /* fit: the enrichment */
    F_COUNTRY,
    F_REGION,
    F_CITY,
    F_CONTINENT,
    F_NETWORK,
    F_COMPANY_KNOWN,
    F_COMPANY,
    F_DOMAIN,
    F_ASN,
    F_LANGUAGE,
    F_DEVICE_CLASS,
    F_BROWSER,
    F_OS,
    F_CONNECTION_TYPE,
    /* fit: the contact */
    F_ROLE,
    F_EMAIL_DOMAIN,
    F_JOB_TITLE,
    F_COMPANY_SIZE,
    F_INDUSTRY,
    F_COMPANY_MATCH,
} fid_t;

static const struct {
    const char *name;
    fid_t id;
} fields[] = {
    {"event", F_EVENT},
    {"url", F_URL},
    {"ref", F_REF},
    {"title", F_TITLE},
    {"form", F_FORM},
    {"utm_source", F_UTM_SOURCE},
    {"utm_medium", F_UTM_MEDIUM},
    {"utm_campaign", F_UTM_CAMPAIGN},
    {"utm_term", F_UTM_TERM},
    {"utm_content", F_UTM_CONTENT},
    {"country", F_COUNTRY},
    {"region", F_REGION},
    {"city", F_CITY},
    {"continent", F_CONTINENT},
    {"network", F_NETWORK},
    {"company_known", F_COMPANY_KNOWN},
    {"company", F_COMPANY},
    {"domain", F_DOMAIN},
    {"asn", F_ASN},
    {"language", F_LANGUAGE},
    {"device_class", F_DEVICE_CLASS},
    {"browser", F_BROWSER},
    {"os", F_OS},
    {"connection_type", F_CONNECTION_TYPE},
    {"role", F_ROLE},
    {"email_domain", F_EMAIL_DOMAIN},
    {"job_title", F_JOB_TITLE},
    {"company_size", F_COMPANY_SIZE},
    {"industry", F_INDUSTRY},
    {"company_match", F_COMPANY_MATCH},
};

/* Names whose position is the value the facts carry (config.c allows exactly these). */
static const char *const role_names[] = {"unknown", "decider",    "buyer", "influencer",
                                         "user",    "gatekeeper", NULL};
static const char *const domain_kinds[] = {"business", "freemail", "disposable", NULL};

typedef struct {
    fid_t f;
    le_condop_t op;
    const char *prop; /* F_PROP: the prop's name */
    size_t proplen;
    size_t n;
    le_textmatch_t *tm; /* text values: strings (company: keys), globs, patterns */
    int64_t *nums;      /* numbers, enum indices, 0/1 for booleans */
    int64_t min, max;
    int memo; /* behaviour: its place in le_rules_event_t.memo when rules share it, else -1 */
    int runs; /* behaviour: its bit in the answers of its field's runs (le_rules_s), else -1 */
    size_t minlen, maxlen; /* text: the lengths a value it matches may have */
} cond_t;

typedef struct {
    const le_ruleconf_t *conf;
    cond_t *c;
    size_t n;
} rule_t;

struct le_rules_s {
    le_config_t *cfg; /* the rules' settings live in it */
    rule_t *rules[2];
    size_t n[2];
    uint32_t glob_fields; /* behaviour fields some glob looks at, a bit each (1u << fid_t) */
    size_t nmemo;         /* behaviour conditions decided once per event */
    /* per behaviour field: the conditions that are runs between '*' (URL rules), decided
     * together in one pass when the first of them is asked about */
    le_textmatch_runs_t *runs[LE_RULES_EVENT_FIELDS];
};

static bool numeric(fid_t f) {
    return f == F_NETWORK || f == F_COMPANY_KNOWN || f == F_ASN || f == F_DEVICE_CLASS ||
           f == F_ROLE || f == F_EMAIL_DOMAIN || f == F_COMPANY_SIZE || f == F_COMPANY_MATCH;
}

static int name_index(const char *const *names, const char *s) {
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

static int64_t value_number(fid_t f, const char *s) {
    switch (f) {
        case F_NETWORK:
            for (int i = 0; i < 8; i++)
                if (strcmp(le_network_name((le_network_t)i), s) == 0) return i;
            return -1;
        case F_DEVICE_CLASS:
            for (unsigned i = 0; i < 8; i++)
                if (strcmp(le_device_class_name(i), s) == 0) return i;
            return -1;
        case F_ROLE:
            return name_index(role_names, s);
        case F_EMAIL_DOMAIN:
            return name_index(domain_kinds, s);
        case F_COMPANY_KNOWN:
        case F_COMPANY_MATCH:
            return strcmp(s, "true") == 0;
        default:
            return strtoll(s, NULL, 10);
    }
}

static void free_cond(cond_t *c) {
    le_textmatch_free(c->tm);
    free(c->nums);
}

static int build_cond(const le_config_t *cfg, const char *path, const le_condconf_t *cc, cond_t *c,
                      le_buf_t *err) {
    c->memo = c->runs = -1;
    c->op = cc->op;
    c->n = cc->nvalues;
    c->min = cc->min;
    c->max = cc->max;
    if (strncmp(cc->field, "prop.", 5) == 0) {
        c->f = F_PROP;
        c->prop = cc->field + 5;
        c->proplen = strlen(c->prop);
    } else {
        size_t i = 0;
        while (i < LE_ARRAY_SIZE(fields) && strcmp(fields[i].name, cc->field) != 0) i++;
        if (i == LE_ARRAY_SIZE(fields)) {
            le_buf_printf(err, "%s:%u:%u: %s.when.%s: unknown condition\n", cfg->path, cc->line,
                          cc->col, path, cc->field);
            return LE_EINVAL;
        }
        c->f = fields[i].id;
    }
    if (cc->op == LE_COND_RANGE) return 0;
    if (numeric(c->f) && cc->op != LE_COND_REGEX) {
        c->nums = le_xcalloc(c->n, sizeof(*c->nums));
        for (size_t i = 0; i < c->n; i++) c->nums[i] = value_number(c->f, cc->values[i]);
        return 0;
    }
    char **values = cc->values, *why = NULL;
    if (c->f == F_COMPANY && c->op == LE_COND_EQ) {
        /* cut where the enrichment cuts its keys (enrich.c), so long names still meet */
        values = le_xcalloc(c->n ? c->n : 1, sizeof(char *));
        for (size_t i = 0; i < c->n; i++) {
            char key[128];
            le_company_key(cc->values[i], strlen(cc->values[i]), key, sizeof(key));
            values[i] = le_xstrdup(key);
        }
    }
    c->tm = le_textmatch_new(c->op, (const char *const *)values, c->n, &why);
    if (c->tm) le_textmatch_lengths(c->tm, &c->minlen, &c->maxlen);
    if (values != cc->values) {
        for (size_t i = 0; i < c->n; i++) free(values[i]);
        free(values);
    }
    if (!c->tm) {
        le_buf_printf(err, "%s:%u:%u: %s.when.%s: %s\n", cfg->path, cc->line, cc->col, path,
                      cc->field, why);
        free(why);
        return LE_EINVAL;
    }
    return 0;
}

/* What deciding a behaviour condition costs, roughly: exact values on the event's own
 * strings, then on the utm_* values (the query is scanned), globs, and patterns last. */
static int cost(const cond_t *c) {
    bool utm = c->f >= F_UTM_SOURCE && c->f <= F_UTM_CONTENT;
    switch (c->op) {
        case LE_COND_EQ:
            return utm ? 1 : 0;
        case LE_COND_GLOB:
            return utm ? 3 : 2;
        default:
            return 4;
    }
}

static bool same_cond(const cond_t *a, const cond_t *b) {
    return a->f == b->f && a->proplen == b->proplen &&
           (a->f != F_PROP || memcmp(a->prop, b->prop, a->proplen) == 0) &&
           le_textmatch_same(a->tm, b->tm);
}

/* Make the behaviour rules cheap to decide, with the same answers: the conditions of a rule
 * (all of which must hold, and which have no effects) in order of cost, so that the cheap
 * ones reject most events first; conditions that several rules share numbered for the
 * per-event memo; the fields globs look at noted, so that their lower-case copies get room. */
static void plan_behaviour(le_rules_t *r) {
    rule_t *rules = r->rules[LE_RULES_BEHAVIOUR];
    size_t n = r->n[LE_RULES_BEHAVIOUR];
    for (size_t i = 0; i < n; i++) {
        cond_t *c = rules[i].c;
        for (size_t j = 1; j < rules[i].n; j++) /* stable insertion sort: a handful */
            for (size_t k = j; k > 0 && cost(&c[k]) < cost(&c[k - 1]); k--) {
                cond_t t = c[k];
                c[k] = c[k - 1];
                c[k - 1] = t;
            }
        for (size_t j = 0; j < rules[i].n; j++)
            if (c[j].tm && le_textmatch_has_globs(c[j].tm) && c[j].f != F_PROP)
                r->glob_fields |= 1u << c[j].f;
    }
    /* per field, the distinct conditions that are runs between '*': one pass for all */
    for (fid_t f = 0; f < LE_RULES_EVENT_FIELDS; f++) {
        const le_textmatch_t *ms[64];
        size_t nm = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < rules[i].n; j++) {
                cond_t *c = &rules[i].c[j];
                if (c->f != f || !c->tm || !le_textmatch_is_runs(c->tm)) continue;
                size_t k = 0;
                while (k < nm && !le_textmatch_same(ms[k], c->tm)) k++;
                if (k == LE_ARRAY_SIZE(ms)) continue; /* decided alone */
                if (k == nm) ms[nm++] = c->tm;
                c->runs = (int)k;
            }
        if (nm >= 2)
            r->runs[f] = le_textmatch_runs_new(ms, nm);
        else /* one alone is searched for as fast without the set */
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < rules[i].n; j++)
                    if (rules[i].c[j].f == f) rules[i].c[j].runs = -1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < rules[i].n; j++) {
            cond_t *c = &rules[i].c[j];
            if (c->memo >= 0 || !c->tm || c->runs >= 0) continue;
            bool shared = false;
            for (size_t i2 = i + 1; i2 < n; i2++)
                for (size_t j2 = 0; j2 < rules[i2].n; j2++) {
                    cond_t *d = &rules[i2].c[j2];
                    if (d->memo < 0 && d->tm && d->runs < 0 && same_cond(c, d)) {
                        if (!shared && r->nmemo == LE_RULES_EVENT_MEMO) return;
                        if (!shared) c->memo = (int)r->nmemo++;
                        shared = true;
                        d->memo = c->memo;
                    }
                }
        }
}

void le_rules_free(le_rules_t *r) {
    if (!r) return;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < r->n[k]; i++) {
            for (size_t j = 0; j < r->rules[k][i].n; j++) free_cond(&r->rules[k][i].c[j]);
            free(r->rules[k][i].c);
        }
        free(r->rules[k]);
    }
    for (int f = 0; f < LE_RULES_EVENT_FIELDS; f++) le_textmatch_runs_free(r->runs[f]);
    le_config_unref(r->cfg);
    free(r);
}

int le_rules_build(const le_config_t *cfg, le_rules_t **out, le_buf_t *err) {
    le_rules_t *r = le_xcalloc(1, sizeof(*r));
    r->cfg = le_config_ref((le_config_t *)cfg);
    const le_rulelist_t *lists[2] = {&cfg->scoring.behaviour.rules, &cfg->scoring.fit.rules};
    static const char *const paths[2] = {"scoring.behaviour.rules", "scoring.fit.rules"};
    int rc = 0;
    for (int k = 0; k < 2; k++) {
        r->rules[k] = le_xcalloc(lists[k]->n ? lists[k]->n : 1, sizeof(rule_t));
        for (size_t i = 0; i < lists[k]->n; i++) {
            const le_ruleconf_t *rc_ = &lists[k]->items[i];
            rule_t *rule = &r->rules[k][r->n[k]++];
            char path[64];
            snprintf(path, sizeof(path), "%s[%zu]", paths[k], i);
            rule->conf = rc_;
            rule->c = le_xcalloc(rc_->nwhen ? rc_->nwhen : 1, sizeof(cond_t));
            for (size_t j = 0; j < rc_->nwhen; j++) {
                rule->n++;
                if (build_cond(cfg, path, &rc_->when[j], &rule->c[j], err) != 0) rc = LE_EINVAL;
            }
        }
    }
    if (rc != 0) {
        le_rules_free(r);
        r = NULL;
    } else {
        plan_behaviour(r);
    }
    *out = r;
    return rc;
}

size_t le_rules_count(const le_rules_t *r, le_rules_kind_t kind) {
    return r ? r->n[kind] : 0;
}

const le_ruleconf_t *le_rules_get(const le_rules_t *r, le_rules_kind_t kind, size_t i) {
    return r->rules[kind][i].conf;
}

/* ---- matching ---------------------------------------------------------------------------- */

/* The value of the event's property name[0..n) (ASCII case-insensitive); absent: null. */
static le_str_t prop(const le_event_t *ev, const char *name, size_t n) {
    for (uint32_t i = 0; i < ev->nprops; i++)
        if (ev->props[i].key.len == n && strncasecmp(ev->props[i].key.ptr, name, n) == 0)
            return ev->props[i].val;
    return LE_STR_NULL;
}

/* A value the condition's strings or patterns are tried on. An absent value never matches. */
static inline bool match_str(cond_t *c, le_str_t v) {
    if (v.len < c->minlen || v.len > c->maxlen) return false; /* 'DE' against "Germany" */
    return le_textmatch(c->tm, v.ptr, v.len);
}

static bool match_num(const cond_t *c, int64_t v) {
    if (c->op == LE_COND_RANGE) return v >= c->min && v <= c->max;
    for (size_t i = 0; i < c->n; i++)
        if (c->nums[i] == v) return true;
    return false;
}

/* "de" matches "de-DE" and "de"; "de-AT" only "de-AT". */
static bool match_language(cond_t *c, le_str_t v) {
    if (match_str(c, v)) return true;
    if (c->op != LE_COND_EQ || !v.len) return false;
    const char *dash = memchr(v.ptr, '-', v.len);
    return dash && match_str(c, (le_str_t){v.ptr, (size_t)(dash - v.ptr)});
}

/* ---- one event under the behaviour rules --------------------------------------------------- */

_Static_assert(F_UTM_CONTENT + 1 == LE_RULES_EVENT_FIELDS, "le_rules_event_t.f holds the fields");

/* Memory the event's context hands out beyond its space (a huge URL, many long utm values). */
struct le_rules_block_s {
    le_rules_block_t *next;
    char data[];
};

/* n bytes of c's space, or of a block freed with c. */
static char *take(le_rules_event_t *c, size_t n) {
    if (n <= sizeof(c->space) - c->used) {
        char *p = c->space + c->used;
        c->used += n;
        return p;
    }
    le_rules_block_t *b = le_xmalloc(sizeof(*b) + n);
    b->next = c->blocks;
    c->blocks = b;
    return b->data;
}

/* Field f's subject for the value v, with room for a lower-case copy when globs look at it. */
static inline void subject(const le_rules_t *r, le_rules_event_t *c, fid_t f, le_str_t v) {
    bool glob = (r->glob_fields & (1u << f)) && v.len;
    size_t cap = glob ? v.len + LE_TEXTMATCH_PAD : 0;
    le_textmatch_subject_init(&c->f[f], v.ptr, v.len, glob ? take(c, cap) : NULL, cap);
}

void le_rules_event_init(le_rules_event_t *c, const le_rules_t *r, const le_event_t *ev) {
    c->ev = ev;
    c->runs_done = 0;
    c->utm_scanned = false;
    c->blocks = NULL;
    c->used = 0;
    memset(c->memo, 0, sizeof(c->memo)); /* a constant size: a few vector stores, no call */
    /* the event's own strings now (a subject costs a few stores; the lower-case copy is
     * made when a glob first needs it); the utm_* values when a rule first asks */
    subject(r, c, F_EVENT, ev->name);
    subject(r, c, F_URL, ev->url);
    subject(r, c, F_REF, ev->ref);
    subject(r, c, F_TITLE, ev->title);
    subject(r, c, F_FORM, ev->form_id);
    c->ready = 1u << F_EVENT | 1u << F_URL | 1u << F_REF | 1u << F_TITLE | 1u << F_FORM;
}

void le_rules_event_done(le_rules_event_t *c) {
    for (unsigned f = 0; f < LE_RULES_EVENT_FIELDS; f++)
        if (c->ready & (1u << f)) le_textmatch_subject_free(&c->f[f]);
    while (c->blocks) {
        le_rules_block_t *b = c->blocks;
        c->blocks = b->next;
        free(b);
    }
}

/* The utm_* names, in fid_t order from F_UTM_SOURCE. */
static const le_str_t utm_names[5] = {LE_STR("utm_source"), LE_STR("utm_medium"),
                                      LE_STR("utm_campaign"), LE_STR("utm_term"),
                                      LE_STR("utm_content")};

/* The query parameter p[0..n), if it is a utm_* one: noted where it is, unless one of that
 * name came first. A key without '=' is no parameter; an empty value is one. */
static inline void utm_param(le_rules_event_t *c, const char *p, size_t n) {
    if (n <= 5 || memcmp(p, "utm_", 4) != 0) return; /* "utm_", one more byte and '=' */
    int k;
    size_t kn;
    /* the names as literals: each comparison a load or two, no memcmp call */
#define IS(lit)                                                                                    \
    (kn = sizeof(lit) - 1, n > kn && p[kn] == '=' && memcmp(p + 4, (lit) + 4, kn - 4) == 0)
    if (IS("utm_source"))
        k = 0;
    else if (IS("utm_medium"))
        k = 1;
    else if (IS("utm_campaign"))
        k = 2;
    else if (IS("utm_term"))
        k = 3;
    else if (IS("utm_content"))
        k = 4;
    else
        return;
#undef IS
    if (!c->utm[k].ptr) c->utm[k] = (le_str_t){p + kn + 1, n - kn - 1};
}

/* Note where each utm_* parameter of the event's URL is, and whether the query has a '%' or
 * '+' (a value to decode): the query is what follows the first '?', up to a '#'; the first
 * parameter of a name counts. One pass for the five names, 16 bytes a step where SSE2 is. */
static void scan_utm(le_rules_event_t *c) {
    le_str_t url = c->ev->url;
    c->utm_scanned = true;
    c->utm_plain = true;
    for (int k = 0; k < 5; k++) c->utm[k] = LE_STR_NULL;
    const char *q = url.len ? memchr(url.ptr, '?', url.len) : NULL;
    if (!q) return;
    const char *p = q + 1, *seg = p, *end = url.ptr + url.len;
#ifdef __SSE2__
    const __m128i hash = _mm_set1_epi8('#'), amp = _mm_set1_epi8('&'), pct = _mm_set1_epi8('%'),
                  plus = _mm_set1_epi8('+');
    for (; p < end; p += 16) {
        size_t left = (size_t)(end - p);
        const char *blk = p; /* the 16 bytes looked at, bit i for blk[i] */
        unsigned valid = 0xffffu;
        __m128i v;
        if (left < 16 && url.len >= 16) { /* the URL's last 16 bytes: nothing read past it */
            blk = end - 16;
            valid = (0xffffu << (16 - left)) & 0xffffu;
            v = _mm_loadu_si128((const __m128i *)(const void *)blk);
        } else if (left < 16) { /* a short URL: its last bytes copied */
            char tail[16] = {0};
            memcpy(tail, p, left);
            v = _mm_loadu_si128((const __m128i *)(const void *)tail);
            valid = (1u << left) - 1;
        } else {
            v = _mm_loadu_si128((const __m128i *)(const void *)p);
        }
        unsigned mh = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, hash)) & valid;
        if (mh) valid &= (1u << __builtin_ctz(mh)) - 1; /* the query ends at the '#' */
        unsigned ma = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, amp)) & valid;
        if ((unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(v, pct), _mm_cmpeq_epi8(v, plus))) &
            valid)
            c->utm_plain = false;
        for (; ma; ma &= ma - 1) {
            const char *at = blk + __builtin_ctz(ma);
            utm_param(c, seg, (size_t)(at - seg));
            seg = at + 1;
        }
        if (mh) {
            end = blk + __builtin_ctz(mh);
            break;
        }
    }
#else
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash) end = hash;
    c->utm_plain = !memchr(p, '%', (size_t)(end - p)) && !memchr(p, '+', (size_t)(end - p));
    for (const char *amp; (amp = memchr(seg, '&', (size_t)(end - seg))); seg = amp + 1)
        utm_param(c, seg, (size_t)(amp - seg));
#endif
    if (seg < end) utm_param(c, seg, (size_t)(end - seg));
}

/* The longest utm_* value kept: longer ones are cut (a limit the matching always had). */
#define UTM_MAX 511

/* utm_* value k of the event: from its URL, percent-decoded ('+' a space, %XX a byte when both
 * are hex digits), else from the property of that name (tracker.js sends the landing page's
 * utm_* with every page view, so a single-page app's later views keep them). */
static le_str_t utm_value(le_rules_event_t *c, int k) {
    if (!c->utm_scanned) scan_utm(c);
    le_str_t raw = c->utm[k];
    if (!raw.ptr) return prop(c->ev, utm_names[k].ptr, utm_names[k].len);
    size_t n = raw.len < UTM_MAX ? raw.len : UTM_MAX, i = 0;
    if (!c->utm_plain)
        while (i < n && raw.ptr[i] != '%' && raw.ptr[i] != '+') i++; /* values are short */
    if (c->utm_plain || i == n)
        return (le_str_t){raw.ptr, n}; /* nothing to decode: the URL's bytes will do */
    char *buf = take(c, UTM_MAX);
    n = 0;
    for (const char *s = raw.ptr, *stop = raw.ptr + raw.len; s < stop && n < UTM_MAX; s++) {
        int hi, lo;
        if (*s == '%' && stop - s >= 3 && (hi = le_hexval(s[1])) >= 0 &&
            (lo = le_hexval(s[2])) >= 0) {
            buf[n++] = (char)(hi << 4 | lo);
            s += 2;
        } else {
            buf[n++] = *s == '+' ? ' ' : *s;
        }
    }
    return (le_str_t){buf, n};
}

/* Set up utm_* field f of the event (the others are from le_rules_event_init). */
static __attribute__((noinline)) le_textmatch_subject_t *setup(le_rules_t *r, le_rules_event_t *c,
                                                               fid_t f) {
    subject(r, c, f, utm_value(c, (int)(f - F_UTM_SOURCE)));
    c->ready |= 1u << f;
    return &c->f[f];
}

/* A prop condition: its value looked up, with room for a lower-case copy. */
static __attribute__((noinline)) bool decide_prop(cond_t *k, le_rules_event_t *c) {
    le_str_t v = prop(c->ev, k->prop, k->proplen);
    le_textmatch_subject_t t;
    le_textmatch_subject_init(&t, v.ptr, v.len, v.len ? take(c, v.len + LE_TEXTMATCH_PAD) : NULL,
                              v.len + LE_TEXTMATCH_PAD);
    bool hit = le_textmatch_subject(k->tm, &t);
    le_textmatch_subject_free(&t);
    return hit;
}

/* Field f of the event, set up on first use. */
static inline le_textmatch_subject_t *field(le_rules_t *r, le_rules_event_t *c, fid_t f) {
    return c->ready & (1u << f) ? &c->f[f] : setup(r, c, f);
}

static inline bool decide(le_rules_t *r, cond_t *k, le_rules_event_t *c) {
    if (k->runs >= 0) { /* with the other runs of its field, in one pass */
        uint32_t bit = 1u << k->f;
        if (!(c->runs_done & bit)) {
            c->runs_hit[k->f] = le_textmatch_runs_match(r->runs[k->f], field(r, c, k->f));
            c->runs_done |= bit;
        }
        return c->runs_hit[k->f] >> k->runs & 1;
    }
    if (k->f == F_PROP) return decide_prop(k, c);
    le_textmatch_subject_t *t = field(r, c, k->f);
    /* 'event: form' against a page view: the length says no, no call needed */
    if (t->len < k->minlen || t->len > k->maxlen) return false;
    return le_textmatch_subject(k->tm, t);
}

/* Does rule match c's event: all its conditions, each decided once per event when rules
 * share it. */
static inline bool rule_matches(le_rules_t *r, const rule_t *rule, le_rules_event_t *c) {
    for (size_t j = 0; j < rule->n; j++) {
        cond_t *k = &rule->c[j];
        bool hit;
        if (k->memo < 0) {
            hit = decide(r, k, c);
        } else if (c->memo[k->memo]) {
            hit = c->memo[k->memo] == 2;
        } else {
            hit = decide(r, k, c);
            c->memo[k->memo] = (uint8_t)(1 + hit);
        }
        if (!hit) return false;
    }
    return true;
}

bool le_rules_behaviour_match_event(le_rules_t *r, size_t i, le_rules_event_t *c) {
    return rule_matches(r, &r->rules[LE_RULES_BEHAVIOUR][i], c);
}

size_t le_rules_behaviour_next(le_rules_t *r, size_t i, le_rules_event_t *c) {
    const rule_t *rules = r->rules[LE_RULES_BEHAVIOUR];
    size_t n = r->n[LE_RULES_BEHAVIOUR];
    for (; i < n; i++)
        if (rule_matches(r, &rules[i], c)) return i;
    return n;
}

bool le_rules_behaviour_match(le_rules_t *r, size_t i, const le_event_t *ev) {
    le_rules_event_t c;
    le_rules_event_init(&c, r, ev);
    bool hit = le_rules_behaviour_match_event(r, i, &c);
    le_rules_event_done(&c);
    return hit;
}

/* One switch: the contact's facts, then the enrichment's (none without one). */
static inline bool match_fit(cond_t *c, const le_fit_facts_t *f) {
    const le_enrichment_t *x = f->x;
    switch (c->f) {
        case F_ROLE:
            return f->role > 0 && match_num(c, f->role);
        case F_EMAIL_DOMAIN:
            return f->email_kind >= 0 && match_num(c, f->email_kind);
        case F_JOB_TITLE:
            return match_str(c, f->job_title);
        case F_INDUSTRY:
            return match_str(c, f->industry);
        case F_COMPANY_SIZE:
            return f->company_size >= 0 && match_num(c, f->company_size);
        case F_COMPANY_MATCH:
            return f->company_match >= 0 && match_num(c, f->company_match);
        case F_COUNTRY:
            return x && (match_str(c, x->country_code) || match_str(c, x->country));
        case F_REGION:
            return x && (match_str(c, x->region_code) || match_str(c, x->region));
        case F_CITY:
            return x && match_str(c, x->city);
        case F_CONTINENT:
            return x && match_str(c, x->continent);
        case F_NETWORK:
            return x && match_num(c, x->network);
        case F_COMPANY_KNOWN:
            return x && match_num(c, x->company.len != 0);
        case F_COMPANY:
            return x &&
                   (c->op == LE_COND_EQ ? match_str(c, x->company_key) : match_str(c, x->company));
        case F_DOMAIN:
            return x && match_str(c, x->domain);
        case F_ASN:
            return x && x->asn != 0 && match_num(c, x->asn);
        case F_LANGUAGE:
            return x && match_language(c, x->language);
        case F_DEVICE_CLASS:
            return x && match_num(c, x->device_class);
        case F_BROWSER:
            return x && match_str(c, x->browser);
        case F_OS:
            return x && match_str(c, x->os);
        case F_CONNECTION_TYPE:
            return x && match_str(c, x->connection_type);
        default:
            return false;
    }
}

static inline bool fit_matches(const rule_t *rule, const le_fit_facts_t *f) {
    for (size_t j = 0; j < rule->n; j++)
        if (!match_fit(&rule->c[j], f)) return false;
    return true;
}

bool le_rules_fit_match(le_rules_t *r, size_t i, const le_fit_facts_t *f) {
    return fit_matches(&r->rules[LE_RULES_FIT][i], f);
}

size_t le_rules_fit_next(le_rules_t *r, size_t i, const le_fit_facts_t *f) {
    const rule_t *rules = r->rules[LE_RULES_FIT];
    size_t n = r->n[LE_RULES_FIT];
    for (; i < n; i++)
        if (fit_matches(&rules[i], f)) return i;
    return n;
}

/* ---- comparing settings ------------------------------------------------------------------ */

static bool str_eq(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strlist_eq(const le_strlist_t *a, const le_strlist_t *b) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (!str_eq(a->items[i], b->items[i])) return false;
    return true;
}

static bool rulelist_eq(const le_rulelist_t *a, const le_rulelist_t *b) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        const le_ruleconf_t *x = &a->items[i], *y = &b->items[i];
        if (!str_eq(x->name, y->name) || x->points != y->points || x->once != y->once ||
            x->max_per_day != y->max_per_day || x->nwhen != y->nwhen)
            return false;
        for (size_t j = 0; j < x->nwhen; j++) {
            const le_condconf_t *c = &x->when[j], *d = &y->when[j];
            if (!str_eq(c->field, d->field) || c->op != d->op || c->nvalues != d->nvalues ||
                c->min != d->min || c->max != d->max)
                return false;
            for (size_t k = 0; k < c->nvalues; k++)
                if (!str_eq(c->values[k], d->values[k])) return false;
        }
    }
    return true;
}

bool le_scoring_config_equal(const le_config_t *a, const le_config_t *b) {
    return a->scoring.behaviour.half_life_ms == b->scoring.behaviour.half_life_ms &&
           rulelist_eq(&a->scoring.behaviour.rules, &b->scoring.behaviour.rules) &&
           rulelist_eq(&a->scoring.fit.rules, &b->scoring.fit.rules) &&
           memcmp(a->scoring.grades.fit, b->scoring.grades.fit, sizeof(a->scoring.grades.fit)) ==
               0 &&
           memcmp(a->scoring.grades.behaviour, b->scoring.grades.behaviour,
                  sizeof(a->scoring.grades.behaviour)) == 0 &&
           a->mql.behaviour == b->mql.behaviour && a->mql.fit == b->mql.fit &&
           strlist_eq(&a->mql.matrix, &b->mql.matrix) &&
           a->mql.require_contact == b->mql.require_contact &&
           a->mql.account.members == b->mql.account.members &&
           a->mql.account.roles == b->mql.account.roles &&
           a->mql.account.engaged == b->mql.account.engaged &&
           a->suppress.bots == b->suppress.bots && a->suppress.gpc == b->suppress.gpc &&
           a->suppress.freemail == b->suppress.freemail &&
           a->suppress.nstaff_networks == b->suppress.nstaff_networks &&
           (a->suppress.nstaff_networks == 0 ||
            memcmp(a->suppress.staff_networks, b->suppress.staff_networks,
                   a->suppress.nstaff_networks * sizeof(le_cidr_t)) == 0) &&
           strlist_eq(&a->suppress.staff_domains, &b->suppress.staff_domains) &&
           strlist_eq(&a->suppress.competitor_domains, &b->suppress.competitor_domains) &&
           strlist_eq(&a->suppress.customer_domains, &b->suppress.customer_domains) &&
           strlist_eq(&a->suppress.partner_domains, &b->suppress.partner_domains) &&
           str_eq(a->identity.freemail_domains, b->identity.freemail_domains) &&
           str_eq(a->identity.disposable_domains, b->identity.disposable_domains) &&
           a->limits.max_visitors == b->limits.max_visitors;
}
