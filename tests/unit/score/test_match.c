/*
 * test_match.c: behaviour-rule matching (score/rules.c, config/textmatch.c) held against a
 * plain reference written here from the rules' description: fnmatch(3) with FNM_CASEFOLD for
 * globs, a byte-by-byte ASCII case-insensitive comparison for exact values, PCRE2 called
 * directly for patterns, and a simple, separate query-string decoder for the utm_* fields.
 *
 * Many random rule sets (conditions on every event field, exact values, globs with and without
 * '?', sets and escapes, several values in one condition, a few patterns) are built from
 * generated YAML, and many random events are matched against them: URLs from a small
 * vocabulary in mixed case, with utm_* parameters in every shape (percent escapes good and
 * bad, '+', repeats, empty values, keys without '=', near-miss keys, fragments), values past
 * the decoder's 511 bytes, subjects past every stack buffer, bytes above 0x7f, a NUL byte
 * inside, props by name in any case (utm_* from props when the URL has none). Every rule's
 * answer, asked one rule at a time and through le_lead_behaviour (all rules of an event at
 * once, as the engine asks), must be the reference's.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lead.h"
#include "rules.h"

static uint64_t seed = 0x1234567;

static unsigned rnd(unsigned n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)((seed >> 11) % n);
}

/* ---- the reference ------------------------------------------------------------------------ */

enum { F_EVENT, F_URL, F_REF, F_TITLE, F_FORM, F_UTM0, F_PROP = F_UTM0 + 5, NFIELDS };
static const char *const field_names[NFIELDS] = {
    "event",      "url",          "ref",      "title",       "form", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "prop"};
enum { OP_EQ, OP_GLOB, OP_REGEX };

typedef struct {
    int f, op;
    char prop[16];
    char *v[4];
    size_t nv;
    pcre2_code *re[4];
} rcond_t;

typedef struct {
    rcond_t c[4];
    size_t n;
} rrule_t;

static char lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool ieq(const char *a, size_t n, const char *b) {
    if (strlen(b) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

/* fnmatch on a copy ending at the subject's first NUL. A subject with a NUL inside never
 * matches a glob of literal runs and '*' alone (rules.h: such values only come from binary
 * junk); other globs see it up to the NUL. */
static bool ref_glob(const char *pat, const char *s, size_t n) {
    bool nul = memchr(s, 0, n) != NULL;
    if (nul && !strpbrk(pat, "?[\\")) return false;
    char *z = malloc(n + 1);
    memcpy(z, s, n);
    z[n] = '\0';
    bool hit = fnmatch(pat, z, FNM_CASEFOLD) == 0;
    free(z);
    return hit;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Query parameter name of url, decoded ('+' a space, %XX a byte when both are hex digits),
 * cut at 511 bytes; *found false when the URL has no such parameter. The query is what
 * follows the first '?', up to a '#'; the first parameter of that name counts, an empty value
 * included; a key without '=' is no parameter. */
static size_t ref_param(const char *url, size_t len, const char *name, char *out, bool *found) {
    *found = false;
    const char *q = memchr(url, '?', len), *end = url + len;
    if (!q) return 0;
    for (const char *h = q; h < end; h++)
        if (*h == '#') {
            end = h;
            break;
        }
    const char *p = q + 1;
    while (p <= end) {
        const char *stop = p;
        while (stop < end && *stop != '&') stop++;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq && (size_t)(eq - p) == strlen(name) && memcmp(p, name, strlen(name)) == 0) {
            size_t n = 0;
            for (const char *s = eq + 1; s < stop && n < 511; s++) {
                if (*s == '%' && stop - s >= 3 && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
                    out[n++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
                    s += 2;
                } else {
                    out[n++] = *s == '+' ? ' ' : *s;
                }
            }
            *found = true;
            return n;
        }
        p = stop + 1;
    }
    return 0;
}

static bool ref_prop(const le_event_t *ev, const char *name, le_str_t *v) {
    for (uint32_t i = 0; i < ev->nprops; i++)
        if (ieq(ev->props[i].key.ptr, ev->props[i].key.len, name)) {
            *v = ev->props[i].val;
            return true;
        }
    return false;
}

static bool ref_cond(const rcond_t *c, const le_event_t *ev) {
    le_str_t v = LE_STR_NULL;
    char buf[600];
    switch (c->f) {
        case F_EVENT:
            v = ev->name;
            break;
        case F_URL:
            v = ev->url;
            break;
        case F_REF:
            v = ev->ref;
            break;
        case F_TITLE:
            v = ev->title;
            break;
        case F_FORM:
            v = ev->form_id;
            break;
        case F_PROP:
            ref_prop(ev, c->prop, &v);
            break;
        default: {
            bool found;
            size_t n = ref_param(ev->url.ptr, ev->url.len, field_names[c->f], buf, &found);
            if (found)
                v = (le_str_t){buf, n};
            else
                ref_prop(ev, field_names[c->f], &v);
        }
    }
    if (!v.len) return false;
    for (size_t i = 0; i < c->nv; i++) {
        bool hit = c->op == OP_EQ     ? ieq(v.ptr, v.len, c->v[i])
                   : c->op == OP_GLOB ? ref_glob(c->v[i], v.ptr, v.len)
                                      : false;
        if (c->op == OP_REGEX) {
            pcre2_match_data *md = pcre2_match_data_create(1, NULL);
            hit = pcre2_match(c->re[i], (PCRE2_SPTR)v.ptr, v.len, 0, 0, md, NULL) >= 0;
            pcre2_match_data_free(md);
        }
        if (hit) return true;
    }
    return false;
}

static bool ref_rule(const rrule_t *r, const le_event_t *ev) {
    for (size_t j = 0; j < r->n; j++)
        if (!ref_cond(&r->c[j], ev)) return false;
    return true;
}

/* ---- generated rules ---------------------------------------------------------------------- */

/* Words subjects and values are made of, so that they meet often. */
static const char *const words[] = {
    "news",   "a",    "%20",      " ", "+", "%41",     "/",    "Email", "letter", "B",   "%2B",
    "%2",     "%zz",  "\xc3\xa4", "-", "x", "pricing", "mail", ".",     "com",    "50%", "%25",
    "spring", "2026", "/docs/",   "?", "=", "&",       "#",    "Pr",    "ICING",  "[",
};

static void word(char *out, size_t *n, size_t cap) {
    /* the first few most of the time */
    const char *w = words[rnd(4) ? rnd(8) : rnd(LE_ARRAY_SIZE(words))];
    for (size_t i = 0; w[i] && *n + 1 < cap; i++)
        out[(*n)++] = rnd(4) == 0 ? (char)(w[i] >= 'a' && w[i] <= 'z' ? w[i] - 32 : w[i]) : w[i];
}

/* A value of a condition: words, in a glob with '*', '?', a set or an escape here and there. */
static void make_value(int op, char *out, size_t cap) {
    size_t n = 0;
    unsigned k = 1 + (rnd(3) == 0);
    if (op == OP_GLOB && rnd(25) == 0) { /* matches anything but an absent or empty value */
        snprintf(out, cap, "%s", rnd(2) ? "*" : "**");
        return;
    }
    if (op == OP_GLOB && rnd(4)) out[n++] = '*';
    for (unsigned i = 0; i < k; i++) {
        size_t before = n;
        word(out, &n, cap - 8);
        /* the characters a glob gives meaning to stay out of exact values and plain runs */
        for (size_t j = before; j < n; j++)
            if (out[j] == '?' || out[j] == '[' || out[j] == '*' || out[j] == '\\') out[j] = 'q';
        if (op == OP_GLOB) {
            unsigned g = rnd(12);
            if (g < 4) out[n++] = '*';
            if (g == 4) out[n++] = '?';
            if (g == 5) {
                memcpy(out + n, "[a-c]", 5);
                n += 5;
            }
            if (g == 6) {
                memcpy(out + n, "[!x]", 4);
                n += 4;
            }
            if (g == 7) {
                memcpy(out + n, "\\%", 2);
                n += 2;
            }
        }
    }
    if (op == OP_GLOB && rnd(4)) out[n++] = '*';
    if (n == 0) out[n++] = 'a';
    out[n] = '\0';
}

/* Rule sets like a site's: most conditions runs between '*' on the URL and the referrer, so
 * that several rules share a field's one-pass search. */
static bool url_runs;

/* "*run*", the run one or two words without a glob's special characters. */
static void make_run(char *out, size_t cap) {
    size_t n = 0;
    out[n++] = '*';
    unsigned k = 1 + (rnd(3) == 0);
    for (unsigned i = 0; i < k; i++) word(out, &n, cap - 2);
    for (size_t j = 1; j < n; j++)
        if (out[j] == '?' || out[j] == '[' || out[j] == '*' || out[j] == '\\') out[j] = 'q';
    out[n++] = '*';
    out[n] = '\0';
}

static const char *const patterns[] = {"^https?://", "pric(e|ing)", "[0-9]{4}$", "e.?mail", "%"};

/* YAML for rules[0..n), filled in at random, with the reference's copy of each. */
static void make_rules(rrule_t *rr, size_t n, le_buf_t *yml) {
    le_buf_printf(yml, "scoring:\n  behaviour:\n    rules:\n");
    for (size_t i = 0; i < n; i++) {
        rrule_t *r = &rr[i];
        memset(r, 0, sizeof(*r));
        r->n = 1 + (rnd(3) == 0) + (rnd(6) == 0);
        bool used[NFIELDS] = {false};
        le_buf_printf(yml, "      - name: r%zu\n        points: 1\n        when:\n", i);
        for (size_t j = 0; j < r->n; j++) {
            rcond_t *c = &r->c[j];
            do c->f = url_runs && rnd(4) ? (rnd(3) ? F_URL : F_REF) : (int)rnd(NFIELDS);
            while (used[c->f] && c->f != F_PROP);
            used[c->f] = true;
            if (c->f == F_PROP) {
                static const char *const props[] = {"plan", "Plan", "utm_source", "x"};
                snprintf(c->prop, sizeof(c->prop), "%s", props[rnd(4)]);
                bool dup = false; /* the same key twice: the rule ends before it */
                for (size_t k = 0; k < j; k++)
                    dup |= r->c[k].f == F_PROP && strcmp(r->c[k].prop, c->prop) == 0;
                if (dup) {
                    r->n = j;
                    break;
                }
                le_buf_printf(yml, "          prop.%s: ", c->prop);
            } else {
                le_buf_printf(yml, "          %s: ", field_names[c->f]);
            }
            unsigned o = rnd(20);
            c->op = o < 8 ? OP_EQ : o < 19 ? OP_GLOB : OP_REGEX;
            if (url_runs && (c->f == F_URL || c->f == F_REF) && o < 16) c->op = OP_GLOB;
            c->nv = 1 + rnd(3);
            if (c->op == OP_REGEX) {
                le_buf_printf(yml, "{regex: [");
                for (size_t k = 0; k < c->nv; k++) {
                    const char *p = patterns[rnd(LE_ARRAY_SIZE(patterns))];
                    c->v[k] = strdup(p);
                    int ec;
                    PCRE2_SIZE eo;
                    c->re[k] = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED,
                                             PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                             &ec, &eo, NULL);
                    le_buf_printf(yml, "%s\"%s\"", k ? ", " : "", p);
                }
                le_buf_printf(yml, "]}\n");
                continue;
            }
            bool glob = false;
            le_buf_printf(yml, "[");
            for (size_t k = 0; k < c->nv; k++) {
                char v[64];
                if (url_runs && c->op == OP_GLOB && rnd(5))
                    make_run(v, sizeof(v));
                else
                    make_value(c->op == OP_GLOB && (k == 0 || rnd(2)) ? OP_GLOB : OP_EQ, v,
                               sizeof(v));
                glob |= strpbrk(v, "*?[") != NULL;
                c->v[k] = strdup(v);
                le_buf_printf(yml, "%s\"", k ? ", " : "");
                for (const char *p = v; *p; p++)
                    le_buf_printf(yml, *p == '\\' || *p == '"' ? "\\%c" : "%c", *p);
                le_buf_printf(yml, "\"");
            }
            le_buf_printf(yml, "]\n");
            /* a list with one glob in it is a list of globs (config.c) */
            c->op = glob ? OP_GLOB : OP_EQ;
        }
    }
}

static void free_rules(rrule_t *rr, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < rr[i].n; j++)
            for (size_t k = 0; k < rr[i].c[j].nv; k++) {
                free(rr[i].c[j].v[k]);
                pcre2_code_free(rr[i].c[j].re[k]);
            }
}

/* ---- generated events --------------------------------------------------------------------- */

typedef struct {
    le_event_t ev;
    le_kv_t props[3];
    char url[6000], ref[200], title[200], name[64], form[64], pv[3][64];
} evb_t;

static size_t text(char *out, size_t cap, unsigned words_max) {
    size_t n = 0;
    unsigned k = rnd(words_max + 1);
    for (unsigned i = 0; i < k; i++) word(out, &n, cap);
    return n;
}

static const char *const keys[] = {"utm_source",  "utm_medium", "utm_campaign", "utm_term",
                                   "utm_content", "UTM_SOURCE", "utm_sourcex",  "xutm_medium",
                                   "utm_term",    "a"};

static void make_event(evb_t *b) {
    le_event_t *ev = &b->ev;
    memset(ev, 0, sizeof(*ev));
    ev->type = LE_EV_PAGEVIEW;
    size_t n = 0;
    if (rnd(4)) {
        memcpy(b->url, "https://Example.com", 19);
        n = 19;
    }
    n += text(b->url + n, 200, 3);
    if (rnd(4)) {
        b->url[n++] = '?';
        unsigned k = rnd(5);
        for (unsigned i = 0; i < k; i++) {
            if (i) b->url[n++] = '&';
            const char *key = keys[rnd(LE_ARRAY_SIZE(keys))];
            memcpy(b->url + n, key, strlen(key));
            n += strlen(key);
            if (rnd(8)) b->url[n++] = '=';
            n += text(b->url + n, n + 200, 3);
            if (rnd(40) == 0) /* a value past the decoder's 511 bytes */
                for (unsigned j = 0; j < 700; j++) b->url[n++] = j % 50 == 7 ? '+' : 'v';
        }
        if (rnd(6) == 0) {
            b->url[n++] = '#';
            n += text(b->url + n, n + 100, 3);
        }
    }
    if (rnd(30) == 0) /* long: past any stack buffer */
        for (unsigned j = 0; j < 5000 && n + 20 < sizeof(b->url); j++) b->url[n++] = "aB/x"[j % 4];
    if (rnd(40) == 0 && n > 3) b->url[rnd((unsigned)n)] = '\0';
    ev->url = (le_str_t){b->url, n};
    ev->ref = (le_str_t){b->ref, text(b->ref, sizeof(b->ref), 4)};
    ev->title = (le_str_t){b->title, text(b->title, sizeof(b->title), 4)};
    ev->name = (le_str_t){b->name, text(b->name, sizeof(b->name), 2)};
    ev->form_id = (le_str_t){b->form, text(b->form, sizeof(b->form), 2)};
    static const char *const pk[] = {"plan", "PLAN", "utm_source", "Utm_Medium", "utm_term", "x"};
    ev->nprops = rnd(4);
    for (uint32_t i = 0; i < ev->nprops; i++)
        b->props[i] = (le_kv_t){le_str(pk[rnd(LE_ARRAY_SIZE(pk))]),
                                (le_str_t){b->pv[i], text(b->pv[i], sizeof(b->pv[i]), 2)}};
    ev->props = b->props;
}

/* ---- the tests ---------------------------------------------------------------------------- */

enum { NRULES = 10 };

static void check_rule_sets(unsigned sets, unsigned events) {
    evb_t *b = calloc(1, sizeof(*b));
    unsigned hits = 0, checked = 0;
    for (unsigned s = 0; s < sets; s++) {
        rrule_t rr[NRULES];
        le_buf_t yml = LE_BUF_INIT, err = LE_BUF_INIT;
        make_rules(rr, NRULES, &yml);
        le_config_t *cfg = NULL;
        if (le_config_load_string("t.yaml", yml.data, yml.len, &cfg, &err) != 0)
            fail_msg("%s\n%s", le_buf_cstr(&err), le_buf_cstr(&yml));
        le_rules_t *r;
        assert_int_equal(le_rules_build(cfg, &r, &err), 0);
        for (unsigned e = 0; e < events; e++) {
            make_event(b);
            bool want[NRULES];
            le_fired_t fired[NRULES];
            le_lead_t lead = {0};
            size_t nf = le_lead_behaviour(&lead, r, &b->ev, 86400.0, fired, NRULES), k = 0;
            le_lead_free(&lead);
            for (size_t i = 0; i < NRULES; i++) {
                want[i] = ref_rule(&rr[i], &b->ev);
                if (le_rules_behaviour_match(r, i, &b->ev) != want[i])
                    fail_msg("rule %zu: want %d for url \"%.*s\" name \"%.*s\" in\n%s", i, want[i],
                             (int)b->ev.url.len, b->ev.url.ptr, (int)b->ev.name.len, b->ev.name.ptr,
                             le_buf_cstr(&yml));
                if (want[i]) {
                    if (k >= nf || fired[k].rule != i)
                        fail_msg("le_lead_behaviour: rule %zu missing for url \"%.*s\" in\n%s", i,
                                 (int)b->ev.url.len, b->ev.url.ptr, le_buf_cstr(&yml));
                    k++;
                }
                hits += want[i];
                checked++;
            }
            assert_int_equal(k, nf);
        }
        le_rules_free(r);
        le_config_unref(cfg);
        free_rules(rr, NRULES);
        le_buf_free(&yml);
        le_buf_free(&err);
    }
    /* the generator makes both answers often enough to mean something */
    assert_true(hits > checked / 100);
    assert_true(hits < checked / 2);
    free(b);
}

static void test_random_rules(void **state) {
    (void)state;
    check_rule_sets(400, 300);
}

static void test_random_url_rules(void **state) {
    (void)state;
    url_runs = true;
    check_rule_sets(300, 300);
    url_runs = false;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_rules),
        cmocka_unit_test(test_random_url_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
