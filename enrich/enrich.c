/*
 * enrich.c: the tables bundle and the one-call enrichment (enrich.h).
 */
#include "enrich.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "company.h"
#include "lang.h"
#include "network.h"

/* Company keys longer than this are cut (at a UTF-8 boundary, by le_company_key). */
#define LE_COMPANY_KEY_CACHED 128
/* Bytes of an IP cache entry's strings kept inline (a City + Enterprise answer is ~150). */
#define IP_TEXT_MAX 384

struct le_enrich_s {
    atomic_int refs;
    uint64_t gen; /* unique per tables object: IP cache entries name the tables they came from */
    le_mmdb_t *mmdb;
    le_ranges_t *ranges; /* NULL without enrich.company_ranges */
    le_ua_rules_t *ua;
    /* settings the parts were built with, to tell whether a reload may share them */
    char *language, *ranges_path, *regexes;
    le_dbconf_t *dbs; /* deep copy of enrich.databases */
    size_t ndbs;
    uint32_t min_form_ms;
    bool bot_networks;
};

static bool same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_dbs(const le_enrich_t *p, const le_config_t *cfg) {
    if (p->ndbs != cfg->enrich.ndatabases) return false;
    for (size_t i = 0; i < p->ndbs; i++) {
        const le_dbconf_t *a = &p->dbs[i], *b = &cfg->enrich.databases[i];
        if (strcmp(a->path, b->path) != 0 || a->nfields != b->nfields) return false;
        for (size_t j = 0; j < a->nfields; j++)
            if (strcmp(a->fields[j].name, b->fields[j].name) != 0 ||
                strcmp(a->fields[j].path, b->fields[j].path) != 0)
                return false;
    }
    return true;
}

static void copy_dbs(le_enrich_t *e, const le_config_t *cfg) {
    e->ndbs = cfg->enrich.ndatabases;
    e->dbs = le_xcalloc(e->ndbs ? e->ndbs : 1, sizeof(*e->dbs));
    for (size_t i = 0; i < e->ndbs; i++) {
        const le_dbconf_t *s = &cfg->enrich.databases[i];
        le_dbconf_t *d = &e->dbs[i];
        d->path = le_xstrdup(s->path);
        d->nfields = s->nfields;
        d->fields = le_xcalloc(s->nfields ? s->nfields : 1, sizeof(*d->fields));
        for (size_t j = 0; j < s->nfields; j++) {
            d->fields[j].name = le_xstrdup(s->fields[j].name);
            d->fields[j].path = le_xstrdup(s->fields[j].path);
        }
    }
}

static void destroy(le_enrich_t *e) {
    le_mmdb_unref(e->mmdb);
    le_ranges_unref(e->ranges);
    le_ua_rules_unref(e->ua);
    for (size_t i = 0; i < e->ndbs; i++) {
        for (size_t j = 0; j < e->dbs[i].nfields; j++) {
            free(e->dbs[i].fields[j].name);
            free(e->dbs[i].fields[j].path);
        }
        free(e->dbs[i].fields);
        free(e->dbs[i].path);
    }
    free(e->dbs);
    free(e->language);
    free(e->ranges_path);
    free(e->regexes);
    free(e);
}

int le_enrich_open(const le_config_t *cfg, const le_enrich_t *prev, le_enrich_t **out,
                   le_buf_t *err) {
    static atomic_uint_fast64_t generations;
    le_enrich_t *e = le_xcalloc(1, sizeof(*e));
    int rc = 0, r;
    atomic_init(&e->refs, 1);
    e->gen = atomic_fetch_add_explicit(&generations, 1, memory_order_relaxed) + 1;
    e->language = le_xstrdup(cfg->enrich.language);
    e->ranges_path = cfg->enrich.company_ranges ? le_xstrdup(cfg->enrich.company_ranges) : NULL;
    e->regexes = le_xstrdup(cfg->enrich.ua.regexes);
    e->min_form_ms = cfg->enrich.bot.min_form_ms;
    e->bot_networks = cfg->enrich.bot.networks;
    copy_dbs(e, cfg);

    /* Each part is read again only when its settings or its files changed. Every part is
     * tried, so one call reports every problem. */
    if (prev && prev->mmdb && same_dbs(prev, cfg) && same_str(prev->language, e->language) &&
        !le_mmdb_changed(prev->mmdb)) {
        e->mmdb = le_mmdb_ref(prev->mmdb);
    } else if ((r = le_mmdb_open(e->dbs, e->ndbs, e->language, &e->mmdb, err)) != 0) {
        rc = r;
    }
    if (e->ranges_path) {
        if (prev && prev->ranges && same_str(prev->ranges_path, e->ranges_path) &&
            !le_ranges_changed(prev->ranges)) {
            e->ranges = le_ranges_ref(prev->ranges);
        } else if ((r = le_ranges_load(e->ranges_path, &e->ranges, err)) != 0) {
            rc = rc ? rc : r;
        }
    }
    if (prev && prev->ua && same_str(prev->regexes, e->regexes) && !le_ua_rules_changed(prev->ua)) {
        e->ua = le_ua_rules_ref(prev->ua);
    } else if ((r = le_ua_rules_load(e->regexes, &e->ua, err)) != 0) {
        rc = rc ? rc : r;
    }
    if (rc != 0) {
        destroy(e);
        *out = NULL;
        return rc;
    }
    *out = e;
    return 0;
}

le_enrich_t *le_enrich_ref(le_enrich_t *e) {
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    return e;
}

void le_enrich_unref(le_enrich_t *e) {
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) destroy(e);
}

bool le_enrich_changed(const le_enrich_t *e) {
    return (e->mmdb && le_mmdb_changed(e->mmdb)) || (e->ranges && le_ranges_changed(e->ranges)) ||
           (e->ua && le_ua_rules_changed(e->ua));
}

/* ---- caches ------------------------------------------------------------------------------ */

/* What an address tells, kept per address: the lookup result and the company key. */
typedef struct {
    uint64_t gen;  /* the tables' generation; 0 = empty slot */
    uint64_t used; /* the cache's clock at the last hit or fill */
    le_ip_t ip;
    le_ipinfo_t info;
    uint8_t keylen;
    char key[LE_COMPANY_KEY_CACHED];
    /* The strings of info, copied here when they fit, so a hit reads one contiguous entry
     * instead of a dozen places in the memory-mapped databases. */
    uint16_t textlen;
    char text[IP_TEXT_MAX];
} ip_entry_t;

/* The string fields of le_ipinfo_t. */
static const uint16_t info_strs[] = {
    offsetof(le_ipinfo_t, country_code),
    offsetof(le_ipinfo_t, country),
    offsetof(le_ipinfo_t, subdivision_code),
    offsetof(le_ipinfo_t, subdivision),
    offsetof(le_ipinfo_t, city),
    offsetof(le_ipinfo_t, postal),
    offsetof(le_ipinfo_t, time_zone),
    offsetof(le_ipinfo_t, continent_code),
    offsetof(le_ipinfo_t, continent),
    offsetof(le_ipinfo_t, org),
    offsetof(le_ipinfo_t, isp),
    offsetof(le_ipinfo_t, domain),
    offsetof(le_ipinfo_t, as_org),
    offsetof(le_ipinfo_t, connection_type),
    offsetof(le_ipinfo_t, user_type),
    offsetof(le_ipinfo_t, company),
    offsetof(le_ipinfo_t, company_domain),
};

static inline le_str_t *info_str(le_ipinfo_t *ii, size_t i) {
    return (le_str_t *)(void *)((char *)ii + info_strs[i]);
}

/* Copy the strings of e->info into e->text as far as they fit (the rest keep pointing into
 * the tables, which outlive the entry). */
static void pack_text(ip_entry_t *e) {
    e->textlen = 0;
    for (size_t i = 0; i < sizeof(info_strs) / sizeof(info_strs[0]); i++) {
        le_str_t *s = info_str(&e->info, i);
        if (!s->len || s->len > (size_t)IP_TEXT_MAX - e->textlen) continue;
        memcpy(e->text + e->textlen, s->ptr, s->len);
        s->ptr = e->text + e->textlen;
        e->textlen = (uint16_t)(e->textlen + s->len);
    }
}

/* IP entries are kept in sets of IP_WAYS; an address lives in the set its hash picks, and a
 * new one replaces the set's least recently used entry. (A direct-mapped table lost a fifth
 * of its hits to collisions at a quarter full.) */
#define IP_WAYS 4

struct le_enrich_cache_s {
    le_ua_cache_t *ua;
    ip_entry_t *ip; /* nsets * IP_WAYS entries */
    size_t set_mask;
    uint64_t clock;
    uint64_t ip_hits, ip_misses;
};

le_enrich_cache_t *le_enrich_cache_new(size_t ua_entries, size_t ip_entries) {
    le_enrich_cache_t *c = le_xcalloc(1, sizeof(*c));
    c->ua = le_ua_cache_new(ua_entries);
    if (ip_entries) {
        size_t sets = 1;
        while (sets * IP_WAYS < ip_entries) sets <<= 1;
        c->ip = le_xcalloc(sets * IP_WAYS, sizeof(*c->ip));
        c->set_mask = sets - 1;
    }
    return c;
}

void le_enrich_cache_free(le_enrich_cache_t *c) {
    if (!c) return;
    le_ua_cache_free(c->ua);
    free(c->ip);
    free(c);
}

void le_enrich_cache_stats(const le_enrich_cache_t *c, le_enrich_cache_stats_t *out) {
    size_t entries;
    memset(out, 0, sizeof(*out));
    if (!c) return;
    le_ua_cache_stats(c->ua, &out->ua_hits, &out->ua_misses, &entries);
    out->ip_hits = c->ip_hits;
    out->ip_misses = c->ip_misses;
}

static size_t ip_slot(const le_ip_t *ip, size_t mask) {
    uint64_t a, b;
    memcpy(&a, ip->addr, 8);
    memcpy(&b, ip->addr + 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ip->family) * 0xff51afd7ed558ccdull;
    return (size_t)(h ^ (h >> 29)) & mask;
}

static bool same_ip(const le_ip_t *x, const le_ip_t *y) {
    return x->family == y->family && memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16) == 0;
}

/* The lookup for in->ip, from the cache or computed (and kept). key/keylen: company key. */
static const le_ipinfo_t *ip_info(const le_enrich_t *e, le_enrich_cache_t *c, const le_ip_t *ip,
                                  le_ipinfo_t *tmp, char *key, size_t *keylen,
                                  const ip_entry_t **entry) {
    ip_entry_t *slot = NULL;
    *entry = NULL;
    if (c && c->ip) {
        ip_entry_t *set = &c->ip[ip_slot(ip, c->set_mask) * IP_WAYS];
        c->clock++;
        slot = &set[0];
        for (int w = 0; w < IP_WAYS; w++) {
            ip_entry_t *s = &set[w];
            if (s->gen == e->gen && same_ip(&s->ip, ip)) {
                c->ip_hits++;
                s->used = c->clock;
                memcpy(key, s->key, s->keylen);
                *keylen = s->keylen;
                *entry = s;
                return &s->info;
            }
            /* the victim: an entry of other tables, else the least recently used */
            if (slot->gen == e->gen && (s->gen != e->gen || s->used < slot->used)) slot = s;
        }
        c->ip_misses++;
    }
    le_mmdb_lookup_with(e->mmdb, e->ranges, ip, tmp);
    *keylen = 0;
    if (tmp->company.len && le_network_names_company(tmp->network))
        *keylen = le_company_key(tmp->company.ptr, tmp->company.len, key, LE_COMPANY_KEY_CACHED);
    if (!slot) return tmp;
    slot->gen = e->gen;
    slot->used = c->clock;
    slot->ip = *ip;
    slot->info = *tmp;
    pack_text(slot);
    slot->keylen = (uint8_t)*keylen;
    memcpy(slot->key, key, *keylen);
    *entry = slot;
    return &slot->info;
}

/* ---- the enrichment ----------------------------------------------------------------------- */

/* "131.0.6778" from its parts, stopping at the first absent one; empty without a major. */
static le_str_t version(le_arena_t *a, const le_ua_t *u, le_ua_field_t first, int n) {
    size_t len = 0;
    le_str_t part[4];
    int k = 0;
    for (; k < n; k++) {
        part[k] = le_ua_get(u, (le_ua_field_t)(first + k));
        if (!part[k].len) break;
        len += part[k].len + 1;
    }
    if (k == 0) return LE_STR_NULL;
    char *s = le_arena_alloc(a, len), *p = s;
    for (int i = 0; i < k; i++) {
        if (i) *p++ = '.';
        memcpy(p, part[i].ptr, part[i].len);
        p += part[i].len;
    }
    return (le_str_t){s, (size_t)(p - s)};
}

void le_enrich_run(const le_enrich_t *e, le_enrich_cache_t *cache, const le_enrich_input_t *in,
                   le_arena_t *a, le_enrichment_t *x) {
    memset(x, 0, sizeof(*x));

    /* Where, and who: the operator's ranges first, then the databases in order. */
    le_ipinfo_t tmp;
    const le_ipinfo_t *ii = &tmp;
    const ip_entry_t *ent = NULL;
    char key[LE_COMPANY_KEY_CACHED];
    size_t keylen = 0;
    if (in->ip.family == AF_INET || in->ip.family == AF_INET6) {
        ii = ip_info(e, cache, &in->ip, &tmp, key, &keylen, &ent);
    } else {
        memset(&tmp, 0, sizeof(tmp));
    }
    if (ent) {
        /* The entry's strings go into the arena in one piece: x must not point into a
         * cache entry that a later lookup may replace. */
        tmp = *ii;
        char *t = le_arena_alloc(a, ent->textlen ? ent->textlen : 1);
        memcpy(t, ent->text, ent->textlen);
        for (size_t i = 0; i < sizeof(info_strs) / sizeof(info_strs[0]); i++) {
            le_str_t *s = info_str(&tmp, i);
            if (s->len && s->ptr >= ent->text && s->ptr < ent->text + ent->textlen)
                s->ptr = t + (s->ptr - ent->text);
        }
        ii = &tmp;
    }
    x->country_code = ii->country_code;
    x->country = ii->country;
    x->region_code = ii->subdivision_code;
    x->region = ii->subdivision;
    x->city = ii->city;
    x->postal = ii->postal;
    x->time_zone = ii->time_zone;
    x->continent = ii->continent;
    x->has_location = ii->has_location;
    x->latitude = ii->latitude;
    x->longitude = ii->longitude;
    x->accuracy_km = ii->accuracy_km;
    x->org = ii->org;
    x->as_org = ii->as_org;
    x->asn = ii->asn;
    x->connection_type = ii->connection_type;
    x->user_type = ii->user_type;
    x->network = (uint8_t)ii->network;
    x->anon = (uint8_t)ii->anon;
    x->from_ranges = ii->from_ranges;
    if (ii->company.len && le_network_names_company(ii->network)) {
        x->company = ii->company;
        x->domain = ii->company_domain;
        if (keylen) x->company_key = (le_str_t){le_arena_strndup(a, key, keylen), keylen};
    }

    /* With what. The cache entry is copied: x must not depend on the cache's next use. */
    le_ua_t *u = le_arena_alloc(a, sizeof(*u));
    if (cache && cache->ua) {
        memcpy(u, le_ua_lookup(cache->ua, e->ua, in->ua, &in->hints), sizeof(*u));
    } else {
        le_ua_parse(e->ua, in->ua.ptr, in->ua.len, u);
        le_ua_apply_hints(u, &in->hints);
    }
    x->browser = le_ua_get(u, LE_UA_BROWSER);
    x->browser_version = version(a, u, LE_UA_BROWSER_MAJOR, 3);
    x->os = le_ua_get(u, LE_UA_OS);
    x->os_version = version(a, u, LE_UA_OS_MAJOR, 3);
    x->device = le_ua_get(u, LE_UA_DEVICE);
    x->brand = le_ua_get(u, LE_UA_BRAND);
    x->model = le_ua_get(u, LE_UA_MODEL);
    x->device_class = u->device_class;

    char tag[64];
    size_t tn = le_lang_primary(in->accept_language, tag, sizeof(tag));
    if (tn) x->language = (le_str_t){le_arena_strndup(a, tag, tn), tn};

    le_bot_input_t b = {
        .ua = in->ua,
        .ua_spider = u->spider,
        .ua_browser = u->browser_known,
        .has_accept_language = in->accept_language.len != 0 || in->ua_only,
        .network = e->bot_networks ? ii->network : LE_NET_UNKNOWN,
        .honeypot = in->honeypot,
        .form_fill_ms = in->form_fill_ms,
        .min_form_ms = e->min_form_ms,
    };
    x->bot_reasons = le_bot_check_token(&b, u->bot_token);
}
