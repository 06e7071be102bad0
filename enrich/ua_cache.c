/*
 * ua_cache.c: a per-thread cache of User-Agent parses (not thread-safe by design).
 *
 * Set-associative: the key's hash picks a set of WAYS entries; a set's tags (the hash with the
 * low bit forced on, 0 = empty) and recency stamps share one cache line, so a lookup touches
 * that line plus the one entry whose tag matches. A hit compares the full key bytes. A miss
 * takes an empty way or the least recently used one. The hash is keyed with a random seed per
 * cache, and a flood of colliding keys can only churn one set, never grow anything.
 *
 * The key is the User-Agent's matched prefix (le__ua_match_len: a parse looks at nothing else)
 * followed by the six Client Hint values, each preceded by its length (2 bytes), so
 * ("a", "bc") and ("ab", "c") differ. Entries remember nothing about the rules: the cache
 * remembers the generation of the rules its entries were made under and empties itself when
 * asked about another one (a reload), so an old parse can never answer for new rules.
 */
#include "ua.h"

#include <stdlib.h>

#define WAYS 8

typedef struct {
    le_ua_t ua;
    uint32_t key_len, key_cap;
    char *key;
} entry_t;

typedef struct {
    uint64_t tag[WAYS];
    uint32_t stamp[WAYS];
} set_t;

struct le_ua_cache_s {
    set_t *sets;
    entry_t *e; /* nsets * WAYS */
    size_t nsets;
    uint64_t seed;
    uint64_t gen; /* rules generation of the entries; 0 = none yet */
    uint32_t clock;
    uint64_t hits, misses;
    size_t entries;
    le_ua_t tmp; /* the answer when nothing is stored */
};

/*
 * A small keyed hash in the style of wyhash: a 64x64->128 multiply per 16 bytes, three
 * independent lanes over long inputs so the multiplies overlap. h carries the state from the
 * previous part of the key; the length goes in first, so part boundaries count.
 */
static inline uint64_t mix(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#define P0 0xa0761d6478bd642full
#define P1 0xe7037ed1a0b428dbull
#define P2 0x8ebc6af09c88c6e3ull
#define P3 0x589965cc75374cc3ull

static uint64_t hash_bytes(uint64_t h, const char *ptr, size_t n) {
    const unsigned char *p = (const unsigned char *)ptr;
    h = (h ^ n ^ P0) * P1;
    if (n > 48) {
        uint64_t h1 = h ^ P2, h2 = h ^ P3;
        do {
            h = mix(load64(p) ^ P1, load64(p + 8) ^ h);
            h1 = mix(load64(p + 16) ^ P2, load64(p + 24) ^ h1);
            h2 = mix(load64(p + 32) ^ P3, load64(p + 40) ^ h2);
            p += 48;
            n -= 48;
        } while (n > 48);
        h ^= h1 ^ h2;
    }
    while (n > 16) {
        h = mix(load64(p) ^ P1, load64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
    if (n > 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, n - 8);
    } else if (n) {
        memcpy(&a, p, n);
    }
    return mix(a ^ P3 ^ h, b ^ P0);
}

le_ua_cache_t *le_ua_cache_new(size_t capacity) {
    le_ua_cache_t *c = le_xcalloc(1, sizeof(*c));
    c->nsets = (capacity + WAYS - 1) / WAYS;
    if (c->nsets) {
        c->sets = le_xcalloc(c->nsets, sizeof(set_t));
        c->e = le_xcalloc(c->nsets * WAYS, sizeof(entry_t));
    }
    le_random(&c->seed, sizeof(c->seed));
    return c;
}

void le_ua_cache_free(le_ua_cache_t *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nsets * WAYS; i++) free(c->e[i].key);
    free(c->e);
    free(c->sets);
    free(c);
}

void le_ua_cache_stats(const le_ua_cache_t *c, uint64_t *hits, uint64_t *misses, size_t *entries) {
    if (hits) *hits = c->hits;
    if (misses) *misses = c->misses;
    if (entries) *entries = c->entries;
}

#define NPARTS 7

static void key_parts(le_str_t ua, const le_ua_hints_t *h, le_str_t part[NPARTS]) {
    static const char empty[1] = "";
    part[0] = ua;
    if (h) {
        part[1] = h->ch_ua;
        part[2] = h->ch_ua_mobile;
        part[3] = h->ch_ua_platform;
        part[4] = h->ch_ua_platform_version;
        part[5] = h->ch_ua_full_version_list;
        part[6] = h->ch_ua_model;
    } else {
        for (int i = 1; i < NPARTS; i++) part[i] = (le_str_t){empty, 0};
    }
    for (int i = 0; i < NPARTS; i++)
        if (!part[i].ptr) part[i] = (le_str_t){empty, 0};
}

static bool key_equal(const entry_t *e, const le_str_t part[NPARTS], size_t klen) {
    if (e->key_len != klen) return false;
    const char *k = e->key;
    for (int i = 0; i < NPARTS; i++) {
        uint16_t n;
        memcpy(&n, k, 2);
        if (n != part[i].len || (n && memcmp(k + 2, part[i].ptr, n) != 0)) return false;
        k += 2 + n;
    }
    return true;
}

static void key_store(entry_t *e, const le_str_t part[NPARTS], size_t klen) {
    if (e->key_cap < klen) {
        free(e->key);
        e->key_cap = (uint32_t)LE_MAX(klen, 256u);
        e->key = le_xmalloc(e->key_cap);
    }
    char *k = e->key;
    for (int i = 0; i < NPARTS; i++) {
        uint16_t n = (uint16_t)part[i].len;
        memcpy(k, &n, 2);
        memcpy(k + 2, part[i].ptr, n);
        k += 2 + n;
    }
    e->key_len = (uint32_t)klen;
}

static const le_ua_t *parse_into(le_ua_t *out, const le_ua_rules_t *r, le_str_t ua,
                                 const le_ua_hints_t *h) {
    le_ua_parse(r, ua.ptr, ua.len, out);
    le_ua_apply_hints(out, h);
    return out;
}

const le_ua_t *le_ua_lookup(le_ua_cache_t *c, const le_ua_rules_t *r, le_str_t ua,
                            const le_ua_hints_t *h) {
    if (!ua.ptr) ua.len = 0;
    ua.len = le__ua_match_len(ua.ptr, ua.len);
    if (!c->nsets) {
        c->misses++;
        return parse_into(&c->tmp, r, ua, h);
    }
    le_str_t part[NPARTS];
    key_parts(ua, h, part);
    size_t klen = 0;
    for (int i = 0; i < NPARTS; i++) klen += 2 + part[i].len;
    if (klen > LE_UA_CACHE_KEY_MAX) { /* too long to keep: parsed, never stored */
        c->misses++;
        return parse_into(&c->tmp, r, ua, h);
    }
    uint64_t gen = le__ua_rules_generation(r);
    if (LE_UNLIKELY(gen != c->gen)) { /* other rules: nothing stored applies */
        memset(c->sets, 0, c->nsets * sizeof(set_t));
        c->entries = 0;
        c->gen = gen;
    }
    /* The User-Agent, the six hint lengths in one block (so part boundaries count), then the
     * hints that are not empty. */
    uint64_t hv = hash_bytes(c->seed, part[0].ptr, part[0].len), lens[2] = {0, 0};
    for (int i = 1; i < NPARTS; i++)
        lens[(i - 1) / 3] |= (uint64_t)part[i].len << (21 * ((i - 1) % 3));
    hv = mix(lens[0] ^ P1 ^ hv, lens[1] ^ P2);
    for (int i = 1; i < NPARTS; i++)
        if (part[i].len) hv = hash_bytes(hv, part[i].ptr, part[i].len);
    uint64_t tag = hv | 1;
    set_t *s = &c->sets[(size_t)(((hv >> 32) * (uint64_t)c->nsets) >> 32)];
    entry_t *base = &c->e[(size_t)(s - c->sets) * WAYS];
    for (int w = 0; w < WAYS; w++) {
        if (s->tag[w] == tag && key_equal(&base[w], part, klen)) {
            s->stamp[w] = ++c->clock;
            c->hits++;
            return &base[w].ua;
        }
    }
    /* Miss: an empty way, else the least recently used. */
    int victim = 0;
    for (int w = 0; w < WAYS; w++) {
        if (!s->tag[w]) {
            victim = w;
            c->entries++;
            break;
        }
        if ((int32_t)(s->stamp[w] - s->stamp[victim]) < 0) victim = w;
    }
    c->misses++;
    entry_t *e = &base[victim];
    parse_into(&e->ua, r, ua, h);
    key_store(e, part, klen);
    s->tag[victim] = tag;
    s->stamp[victim] = ++c->clock;
    return &e->ua;
}
