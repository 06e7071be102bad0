/*
 * enrich.c: the tables bundle and the one-call enrichment (enrich.h).
 */
#include "enrich.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bot.h"
#include "company.h"
#include "lang.h"
#include "network.h"

/* Company keys longer than this are cut (at a UTF-8 boundary, by le_company_key). */
#define LE_COMPANY_KEY_CACHED 128

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

/* The strings of le_enrichment_t that come from the address, in the order an IP cache entry
 * keeps them. */
static const uint16_t ip_strs[] = {
    offsetof(le_enrichment_t, country_code), offsetof(le_enrichment_t, country),
    offsetof(le_enrichment_t, region_code),  offsetof(le_enrichment_t, region),
    offsetof(le_enrichment_t, city),         offsetof(le_enrichment_t, postal),
    offsetof(le_enrichment_t, time_zone),    offsetof(le_enrichment_t, continent),
    offsetof(le_enrichment_t, company),      offsetof(le_enrichment_t, company_key),
    offsetof(le_enrichment_t, domain),       offsetof(le_enrichment_t, org),
    offsetof(le_enrichment_t, as_org),       offsetof(le_enrichment_t, connection_type),
    offsetof(le_enrichment_t, user_type),
};
#define IP_NSTRS (sizeof(ip_strs) / sizeof(ip_strs[0]))

static inline le_str_t *x_str(le_enrichment_t *x, size_t i) {
    return (le_str_t *)(void *)((char *)x + ip_strs[i]);
}

/* What an address tells, kept per address: exactly the address's part of le_enrichment_t,
 * with its strings inline, so a hit reads one contiguous 512-byte block (a City + Enterprise
 * answer is ~200 bytes of text) instead of a dozen places in the memory-mapped databases. An
 * answer whose strings do not fit is not kept. */
#define IP_ENTRY_SIZE 512
typedef struct {
    uint64_t gen; /* the tables' generation */
    le_ip_t ip;
    double latitude, longitude;
    uint32_t accuracy_km, asn;
    uint8_t network, anon;
    bool has_location, from_ranges;
    uint16_t textlen;
    uint16_t off[IP_NSTRS], len[IP_NSTRS];
    char text[];
} ip_entry_t;
#define IP_TEXT_MAX (IP_ENTRY_SIZE - sizeof(ip_entry_t))
_Static_assert(sizeof(ip_entry_t) <= IP_ENTRY_SIZE / 2, "IP cache entry header too large");

/* Entries are kept in sets of IP_WAYS; an address lives in the set its hash picks, and a new
 * one replaces the set's least recently used entry. (A direct-mapped table lost a fifth of its
 * hits to collisions at a quarter full; with 4 ways, 2000 addresses sent in turn to 8192
 * entries still missed 3%, as a set holding five of them misses every time under LRU.) A set's
 * tags and clocks fill one cache line, so a lookup reads that line and, on a tag match, the
 * one entry: two places in memory. */
#define IP_WAYS 8
typedef struct {
    _Alignas(64) uint32_t tag[IP_WAYS]; /* hash bits of the address; 0 = empty */
    uint32_t used[IP_WAYS];             /* the cache's clock at the last hit or fill */
} ip_set_t;

struct le_enrich_cache_s {
    le_ua_cache_t *ua;
    ip_set_t *sets;
    char *entries; /* nsets * IP_WAYS entries of IP_ENTRY_SIZE bytes */
    size_t set_mask;
    uint32_t clock;
    uint64_t ip_hits, ip_misses;
};

/* Zeroed memory for the IP cache, aligned to cache lines, and on transparent huge pages when
 * large enough to matter: entries are read at random, one per request, and a TLB miss costs
 * as much as a cache miss. */
static void *cache_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    size_t align = bytes >= huge ? huge : 64;
    bytes = (bytes + align - 1) & ~(align - 1);
    void *p = le_xaligned(align, bytes);
#ifdef MADV_HUGEPAGE
    if (align == huge) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return p;
}

le_enrich_cache_t *le_enrich_cache_new(size_t ua_entries, size_t ip_entries) {
    le_enrich_cache_t *c = le_xcalloc(1, sizeof(*c));
    c->ua = le_ua_cache_new(ua_entries);
    if (ip_entries) {
        size_t sets = 1;
        while (sets * IP_WAYS < ip_entries) sets <<= 1;
        c->sets = cache_alloc(sets * sizeof(*c->sets));
        c->entries = cache_alloc(sets * IP_WAYS * IP_ENTRY_SIZE);
        c->set_mask = sets - 1;
    }
    return c;
}

void le_enrich_cache_free(le_enrich_cache_t *c) {
    if (!c) return;
    le_ua_cache_free(c->ua);
    free(c->sets);
    free(c->entries);
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

static uint64_t ip_hash(const le_ip_t *ip) {
    uint64_t a, b;
    memcpy(&a, ip->addr, 8);
    memcpy(&b, ip->addr + 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ip->family) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
}

static bool same_ip(const le_ip_t *x, const le_ip_t *y) {
    return x->family == y->family && memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16) == 0;
}

static inline ip_entry_t *entry_at(const le_enrich_cache_t *c, size_t set, int way) {
    return (ip_entry_t *)(void *)(c->entries + (set * IP_WAYS + (size_t)way) * IP_ENTRY_SIZE);
}

/* x's address part from a cache entry; its strings are copied into the arena in one piece, as
 * x must not point into an entry that a later lookup may replace. */
static void from_entry(le_enrichment_t *x, const ip_entry_t *ent, le_arena_t *a) {
    char *t = le_arena_alloc(a, ent->textlen ? ent->textlen : 1);
    memcpy(t, ent->text, ent->textlen);
    for (size_t i = 0; i < IP_NSTRS; i++)
        *x_str(x, i) = ent->len[i] ? (le_str_t){t + ent->off[i], ent->len[i]} : LE_STR_NULL;
    x->latitude = ent->latitude;
    x->longitude = ent->longitude;
    x->accuracy_km = ent->accuracy_km;
    x->asn = ent->asn;
    x->network = ent->network;
    x->anon = ent->anon;
    x->has_location = ent->has_location;
    x->from_ranges = ent->from_ranges;
}

/* Keep x's address part in ent; false (ent unusable) when its strings do not fit. */
static bool to_entry(ip_entry_t *ent, const le_enrichment_t *x, uint64_t gen, const le_ip_t *ip) {
    size_t n = 0;
    for (size_t i = 0; i < IP_NSTRS; i++) {
        const le_str_t *s = x_str((le_enrichment_t *)x, i);
        if (s->len > IP_TEXT_MAX - n) return false;
        if (s->len) memcpy(ent->text + n, s->ptr, s->len);
        ent->off[i] = (uint16_t)n;
        ent->len[i] = (uint16_t)s->len;
        n += s->len;
    }
    ent->textlen = (uint16_t)n;
    ent->gen = gen;
    ent->ip = *ip;
    ent->latitude = x->latitude;
    ent->longitude = x->longitude;
    ent->accuracy_km = x->accuracy_km;
    ent->asn = x->asn;
    ent->network = x->network;
    ent->anon = x->anon;
    ent->has_location = x->has_location;
    ent->from_ranges = x->from_ranges;
    return true;
}

/* x's address part from a fresh lookup: strings point into the tables (which the caller
 * holds) and the arena. */
static void from_lookup(const le_enrich_t *e, const le_ip_t *ip, le_arena_t *a,
                        le_enrichment_t *x) {
    le_ipinfo_t ii;
    le_mmdb_lookup_with(e->mmdb, e->ranges, ip, &ii);
    x->country_code = ii.country_code;
    x->country = ii.country;
    x->region_code = ii.subdivision_code;
    x->region = ii.subdivision;
    x->city = ii.city;
    x->postal = ii.postal;
    x->time_zone = ii.time_zone;
    x->continent = ii.continent;
    x->has_location = ii.has_location;
    x->latitude = ii.latitude;
    x->longitude = ii.longitude;
    x->accuracy_km = ii.accuracy_km;
    x->org = ii.org;
    x->as_org = ii.as_org;
    x->asn = ii.asn;
    x->connection_type = ii.connection_type;
    x->user_type = ii.user_type;
    x->network = (uint8_t)ii.network;
    x->anon = (uint8_t)ii.anon;
    x->from_ranges = ii.from_ranges;
    if (ii.company.len && le_network_names_company(ii.network)) {
        x->company = ii.company;
        x->domain = ii.company_domain;
        char key[LE_COMPANY_KEY_CACHED];
        size_t keylen = le_company_key(ii.company.ptr, ii.company.len, key, sizeof(key));
        if (keylen >= sizeof(key)) keylen = strlen(key); /* cut at a character boundary */
        if (keylen) x->company_key = (le_str_t){le_arena_strndup(a, key, keylen), keylen};
    }
}

void le_enrich_prefetch(const le_enrich_cache_t *c, const le_ip_t *ip, int stage) {
    if (!c || !c->sets || (ip->family != AF_INET && ip->family != AF_INET6)) return;
    uint64_t h = ip_hash(ip);
    size_t si = (size_t)h & c->set_mask;
    const ip_set_t *set = &c->sets[si];
    if (stage == 0) {
        __builtin_prefetch(set);
        return;
    }
    uint32_t tag = (uint32_t)(h >> 32) | 1u;
    for (int w = 0; w < IP_WAYS; w++) {
        if (set->tag[w] != tag) continue;
        const char *ent = (const char *)entry_at(c, si, w);
        for (size_t off = 0; off < IP_ENTRY_SIZE; off += 64) __builtin_prefetch(ent + off);
        return;
    }
}

/* x's address part for ip, from the cache or looked up (and kept). */
static void ip_part(const le_enrich_t *e, le_enrich_cache_t *c, const le_ip_t *ip, le_arena_t *a,
                    le_enrichment_t *x) {
    if (!c || !c->sets) {
        from_lookup(e, ip, a, x);
        return;
    }
    uint64_t h = ip_hash(ip);
    size_t si = (size_t)h & c->set_mask;
    ip_set_t *set = &c->sets[si];
    uint32_t tag = (uint32_t)(h >> 32) | 1u;
    uint32_t now = ++c->clock;
    int victim = 0;
    for (int w = 0; w < IP_WAYS; w++) {
        if (set->tag[w] == tag) {
            ip_entry_t *ent = entry_at(c, si, w);
            if (same_ip(&ent->ip, ip)) {
                if (ent->gen == e->gen) {
                    c->ip_hits++;
                    set->used[w] = now;
                    from_entry(x, ent, a);
                    return;
                }
                victim = w; /* the same address from other tables: refresh it in place */
                break;
            }
        }
        /* the victim: an empty way, else the least recently used (clock wrap-safe) */
        if (set->tag[victim] != 0 &&
            (set->tag[w] == 0 || (int32_t)(set->used[w] - set->used[victim]) < 0))
            victim = w;
    }
    c->ip_misses++;
    from_lookup(e, ip, a, x);
    if (to_entry(entry_at(c, si, victim), x, e->gen, ip)) {
        set->tag[victim] = tag;
        set->used[victim] = now;
    } else {
        set->tag[victim] = 0;
    }
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
    if (in->ip.family == AF_INET || in->ip.family == AF_INET6) ip_part(e, cache, &in->ip, a, x);

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
        .network = e->bot_networks ? (le_network_t)x->network : LE_NET_UNKNOWN,
        .honeypot = in->honeypot,
        .form_fill_ms = in->form_fill_ms,
        .min_form_ms = e->min_form_ms,
    };
    x->bot_reasons = le_bot_check_token(&b, u->bot_token);
}
