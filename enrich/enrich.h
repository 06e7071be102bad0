/*
 * enrich.h: everything leadedge derives from one request, in one call.
 *
 * An le_enrich_t bundles the immutable tables the enrichment reads: the .mmdb
 * databases (mmdb.h), the operator's company ranges (ranges.h) and the uap-core
 * rules (ua.h), plus the settings that shape the verdicts. It is built from the
 * config, shared by every worker through reference counts and never changed:
 * a reload builds a new one (sharing the parts whose files did not change) and
 * the workers swap pointers between requests.
 *
 * le_enrich_run() is pure: from the full client IP (memory only; it is never
 * stored), the User-Agent, the Client Hints and Accept-Language it fills an
 * le_enrichment_t: geo, network verdict and company (with its normalised key),
 * device, language and the bot verdict with its reasons.
 */
#ifndef LE_ENRICH_H
#define LE_ENRICH_H

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "event.h"
#include "ip.h"
#include "mmdb.h"
#include "ranges.h"
#include "ua.h"

typedef struct le_enrich_s le_enrich_t;

/*
 * Build the tables for cfg (enrich.databases, enrich.company_ranges, enrich.ua.regexes,
 * enrich.language, enrich.bot.*). With prev, a part whose settings are the same and whose
 * files have not changed since prev read them is shared with prev instead of read again.
 * 0 and *out with one reference; on failure LE_EINVAL or -errno, *out NULL, and one line per
 * problem in err (each names the file). Never logs.
 */
int le_enrich_open(const le_config_t *cfg, const le_enrich_t *prev, le_enrich_t **out,
                   le_buf_t *err);

le_enrich_t *le_enrich_ref(le_enrich_t *e);
/* NULL is a no-op. The last reference frees the tables. */
void le_enrich_unref(le_enrich_t *e);

/* Has any file behind e been replaced, changed or removed since it was read? */
bool le_enrich_changed(const le_enrich_t *e);

/*
 * A worker's caches (not thread-safe: one per thread): parsed User-Agents with their Client
 * Hints (ua.h), and IP results (geo, network, company and its key) keyed by the full
 * address. IP entries are tied to the tables they were computed from and are never used
 * with others; the full addresses they hold stay in memory and are dropped with the cache.
 * A size of 0 turns a cache off.
 */
typedef struct le_enrich_cache_s le_enrich_cache_t;

le_enrich_cache_t *le_enrich_cache_new(size_t ua_entries, size_t ip_entries);
/* NULL is a no-op. */
void le_enrich_cache_free(le_enrich_cache_t *c);

typedef struct {
    uint64_t ua_hits, ua_misses, ip_hits, ip_misses;
} le_enrich_cache_stats_t;

void le_enrich_cache_stats(const le_enrich_cache_t *c, le_enrich_cache_stats_t *out);

/*
 * A hint that le_enrich_run will soon look ip up in c: stage 0 prefetches the address's set
 * of the IP cache, stage 1 (some work later, when the set has arrived) the entry its tag
 * names, if any. The cache is read at random, one address per request, so without the hint a
 * request waits for two cache misses; with it the misses overlap the request's other work
 * (decoding its parameters). Changes nothing; NULL c or a cache without IP entries is a no-op.
 */
void le_enrich_prefetch(const le_enrich_cache_t *c, const le_ip_t *ip, int stage);

/* What the request tells. Strings are borrowed for the call. */
typedef struct {
    le_ip_t ip;          /* the full client address (le_ip_client), never stored */
    le_str_t ua;         /* User-Agent */
    le_ua_hints_t hints; /* Sec-CH-UA-* */
    le_str_t accept_language;
    bool honeypot;        /* a form's honeypot field was filled */
    int64_t form_fill_ms; /* how long the form was open; -1 when unknown */
    bool ua_only;         /* judge the User-Agent alone (lookup --ua-stdin): no address,
                                and a missing Accept-Language is not held against it */
} le_enrich_input_t;

/*
 * Fill x from in. cache (the calling thread's, may be NULL) saves repeated work. Strings in
 * x point into the tables (valid while the caller holds its reference to e) or into a.
 */
void le_enrich_run(const le_enrich_t *e, le_enrich_cache_t *cache, const le_enrich_input_t *in,
                   le_arena_t *a, le_enrichment_t *x);

#endif
