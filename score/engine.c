/*
 * engine.c: the visitor table, contacts, accounts, and applying events (engine.h).
 *
 * Memory. A visitor is one 64-byte entry (one cache line: the slab's chunks are aligned) in a
 * chunked slab plus an 8-byte slot in an open-addressing index (linear probing, at most two
 * thirds full, deletion by backward shift, so no tombstones; a slot keeps the id's hash beside
 * the entry's index, so that a probe reads no entry but the one that matches), plus its rule
 * parts on the heap (16 bytes each). Contacts and accounts are few and richer: heap strings,
 * kept in vectors with their own indexes (which keep the keys' hashes too); an account holds
 * its key in the same allocation, a contact its latest enrichment strings in one block.
 *
 * Journeys. The latest RING page views of anonymous visitors are kept in a ring, each step
 * linked to the visitor's previous one, so that a contact's journey starts before its first
 * form. A small direct-mapped table gives a visitor's latest step (its seq, so that telling
 * whether the step is still in the ring needs no look at the step), and the URLs sit one after
 * the other in a circular text buffer that grows when a URL would overwrite one still in the
 * ring: a page view costs a copy, not a malloc and a free.
 *
 * Cache misses. Applying an event touches a handful of places in tables far larger than the
 * CPU's caches: its index slot, its visitor entry, its rule parts, its account or contact. The
 * replay loop (replay.c) asks le_engine_prefetch for them a batch of events ahead, stage by
 * stage, so that the misses of a batch overlap.
 *
 * Eviction. When limits.max_visitors are tracked and a new one arrives, up to EVICT_SAMPLES
 * random entries are looked at (Redis's sampled LRU) and the least recently seen anonymous one
 * is dropped, its behaviour taken out of its account. The random numbers come from a
 * generator whose state is part of the engine (and its snapshot), so replay evicts the same
 * visitors as the live run did.
 *
 * Snapshots (le_engine_save) are a sequence of msgpack objects: a header map, then one array
 * per visitor, contact and account. Loading unpacks them one at a time, so a large table
 * needs no second copy of itself in msgpack objects.
 */
#include "engine_int.h"

#include <errno.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <msgpack.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "company.h"

static const char *const quality_names[] = {"bad_phone", "bad_postal", "company_mismatch",
                                            "freemail", "disposable"};

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t next_rand(le_engine_t *e) {
    uint64_t x = e->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return e->rng = x;
}

static char *dup_str(le_str_t s) {
    return s.len ? le_xstrndup(s.ptr, s.len) : NULL;
}

/* Is the C string a (NULL: unset) s? One pass, reading a no further than its end. */
static bool str_is(const char *a, le_str_t s) {
    if (!a) return false;
    for (size_t i = 0; i < s.len; i++)
        if (a[i] != s.ptr[i] || !a[i]) return false;
    return a[s.len] == '\0';
}

static void set_str(char **dst, le_str_t s) {
    if (!s.len || str_is(*dst, s)) return;
    free(*dst);
    *dst = le_xstrndup(s.ptr, s.len);
}

#ifdef __SSE2__
/* The 16 bytes of 32 hex digits (either case) at s, when s[0..32) are all hex digits and s[32] is
 * the end; false (out unspecified) otherwise. Every event has one of these ids, so: two
 * vector loads, checked and converted 16 digits at a time. */
static bool hex_id_fast(const char *s, uint8_t out[16]) {
    if (s[32] != '\0') return false;
    const __m128i zero9 = _mm_set1_epi8('0' - 1), nine1 = _mm_set1_epi8('9' + 1),
                  a1 = _mm_set1_epi8('a' - 1), f1 = _mm_set1_epi8('f' + 1), c0 = _mm_set1_epi8('0'),
                  ca = _mm_set1_epi8('a' - 10), lc = _mm_set1_epi8(0x20),
                  lowmask = _mm_set1_epi16(0x00f0);
    __m128i half[2];
    for (int k = 0; k < 2; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + 16 * k));
        __m128i lw = _mm_or_si128(v, lc); /* 'A'..'F' -> 'a'..'f' (digits keep their bit) */
        __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(v, zero9), _mm_cmplt_epi8(v, nine1));
        __m128i alp = _mm_and_si128(_mm_cmpgt_epi8(lw, a1), _mm_cmplt_epi8(lw, f1));
        if (_mm_movemask_epi8(_mm_or_si128(dig, alp)) != 0xffff) return false;
        __m128i val = _mm_or_si128(_mm_and_si128(dig, _mm_sub_epi8(v, c0)),
                                   _mm_andnot_si128(dig, _mm_sub_epi8(lw, ca)));
        /* each 16-bit lane holds the high digit in its low byte: (hi << 4) | lo */
        half[k] =
            _mm_or_si128(_mm_and_si128(_mm_slli_epi16(val, 4), lowmask), _mm_srli_epi16(val, 8));
    }
    _mm_storeu_si128((__m128i *)(void *)out, _mm_packus_epi16(half[0], half[1]));
    return true;
}
#endif

/* 32 hex digits to 16 bytes; anything else is hashed to 16 bytes. s has at least 33 readable
 * bytes (an event's id array, or a key whose length is 32). */
static void id_bytes(const char *s, uint8_t out[16]) {
#ifdef __SSE2__
    if (hex_id_fast(s, out)) return;
#endif
    size_t n = strnlen(s, 33);
    if (n == 32) {
        int bad = 0;
        for (size_t i = 0; i < 16; i++) {
            int hi = le_hexval(s[2 * i]), lo = le_hexval(s[2 * i + 1]);
            bad |= hi | lo; /* negative once any is not a digit */
            out[i] = (uint8_t)((hi & 15) << 4 | (lo & 15));
        }
        if (bad >= 0) return;
    }
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, n, d);
    memcpy(out, d, 16);
}

static uint32_t secs(int64_t ms) {
    return ms <= 0 ? 0 : ms / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ms / 1000);
}

/* ---- string maps -------------------------------------------------------------------------- */

typedef const char *(*key_fn)(const le_engine_t *e, uint32_t idx);

static const char *contact_key(const le_engine_t *e, uint32_t i) {
    return e->contacts[i]->email;
}

static const char *contact_id_key(const le_engine_t *e, uint32_t i) {
    return e->contacts[i]->id;
}

static const char *account_key(const le_engine_t *e, uint32_t i) {
    return e->accounts[i]->key;
}

/* E-mail keys compare without regard to ASCII case: an address keeps its local part as typed,
 * but Ada@ and ada@ are one person. Ids (hex) and account keys compare exactly. */
static size_t smap_hash(key_fn key, const char *k) {
    size_t n = strlen(k);
    if (key != contact_key) return le_hash(k, n);
    char low[LE_EMAIL_SIZE];
    if (n > sizeof(low)) n = sizeof(low);
    for (size_t i = 0; i < n; i++) low[i] = (k[i] >= 'A' && k[i] <= 'Z') ? (char)(k[i] + 32) : k[i];
    return le_hash(low, n);
}

/* A slot holds the index + 1 in its low 32 bits and the key's hash in its high ones: a probe
 * reads a key (another cache line, or two) only when the hashes agree, and growing needs none. */
static uint32_t smap_get(const le_engine_t *e, const smap_t *m, key_fn key, const char *k) {
    if (!m->cap) return 0;
    uint32_t h = (uint32_t)smap_hash(key, k);
    size_t mask = m->cap - 1;
    bool fold = key == contact_key;
    for (size_t i = h & mask; m->slot[i]; i = (i + 1) & mask) {
        if ((uint32_t)(m->slot[i] >> 32) != h) continue;
        const char *s = key(e, (uint32_t)m->slot[i] - 1);
        if ((fold ? strcasecmp(s, k) : strcmp(s, k)) == 0) return (uint32_t)m->slot[i];
    }
    return 0;
}

static void smap_insert(smap_t *m, uint64_t slot) {
    size_t mask = m->cap - 1, i = (uint32_t)(slot >> 32) & mask;
    while (m->slot[i]) i = (i + 1) & mask;
    m->slot[i] = slot;
    m->n++;
}

static void smap_put(const le_engine_t *e, smap_t *m, key_fn key, uint32_t idx) {
    if ((m->n + 1) * 3 > m->cap * 2) {
        smap_t g = {le_xcalloc(m->cap ? m->cap * 2 : 64, sizeof(uint64_t)),
                    m->cap ? m->cap * 2 : 64, 0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->slot[i]) smap_insert(&g, m->slot[i]);
        free(m->slot);
        *m = g;
    }
    smap_insert(m, (uint64_t)(uint32_t)smap_hash(key, key(e, idx)) << 32 | (idx + 1));
}

/* ---- the visitor table -------------------------------------------------------------------- */

#define vis le__vis

/* A visitor id's 32-bit hash: its home slot in the index is the hash's low bits, and the whole
 * hash is kept in the slot beside the entry's index, so that probing compares hashes in the
 * index's own cache lines and reads a visitor entry only for the one that matches. */
static uint32_t vhash(const uint8_t id[16]) {
    uint64_t h;
    memcpy(&h, id, 8);
    h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

#define SLOT_IDX(s) ((uint32_t)(s))          /* entry index + 1; 0 = empty */
#define SLOT_HASH(s) ((uint32_t)((s) >> 32)) /* vhash of the entry's id */

/* The visitor's index + 1, or 0. */
static uint32_t vfind(const le_engine_t *e, const uint8_t id[16]) {
    uint32_t h = vhash(id);
    for (size_t i = h & e->index_mask;; i = (i + 1) & e->index_mask) {
        uint64_t s = e->index[i];
        if (!s) return 0;
        if (SLOT_HASH(s) == h && memcmp(vis(e, SLOT_IDX(s) - 1)->id, id, 16) == 0)
            return SLOT_IDX(s);
    }
}

static void vindex_remove(le_engine_t *e, uint32_t idx) {
    size_t i = vhash(vis(e, idx)->id) & e->index_mask;
    while (SLOT_IDX(e->index[i]) != idx + 1) i = (i + 1) & e->index_mask;
    /* backward shift: move up every later entry of the run that may live at i */
    for (size_t j = i;;) {
        e->index[i] = 0;
        for (;;) {
            j = (j + 1) & e->index_mask;
            if (!e->index[j]) return;
            size_t home = SLOT_HASH(e->index[j]) & e->index_mask;
            /* may the entry at j move to i? only if its home is not in (i, j] cyclically */
            bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) break;
        }
        e->index[i] = e->index[j];
        i = j;
    }
}

static void vindex_put(le_engine_t *e, uint64_t slot) {
    size_t i = SLOT_HASH(slot) & e->index_mask;
    while (e->index[i]) i = (i + 1) & e->index_mask;
    e->index[i] = slot;
}

/* The index grows with the table (at most two thirds full), so a few thousand active visitors
 * keep it small enough to stay in the CPU's caches; limits.max_visitors only bounds it. Growing
 * moves the slots by their kept hashes, without reading the entries. */
static void vindex_add(le_engine_t *e, uint32_t idx) {
    if (((size_t)e->nvisitors + 1) * 3 > (e->index_mask + 1) * 2) {
        uint64_t *old = e->index;
        size_t oldcap = e->index_mask + 1, cap = oldcap * 2;
        e->index = le_xcalloc(cap, sizeof(uint64_t));
        e->index_mask = cap - 1;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i]) vindex_put(e, old[i]);
        free(old);
    }
    vindex_put(e, (uint64_t)vhash(vis(e, idx)->id) << 32 | (idx + 1));
}

static void account_add(le_engine_t *e, uint32_t acct, double delta, uint32_t t);

/* Free visitor idx's entry. An anonymous visitor's behaviour leaves its account (a linked
 * one's contact stands for it there). */
static void free_visitor(le_engine_t *e, uint32_t idx) {
    visitor_t *v = vis(e, idx);
    if (v->account && !v->contact) {
        le_lead_decay(&v->lead, v->last_seen, e->half_life_s);
        account_t *a = e->accounts[v->account - 1];
        if (a->members) a->members--;
        account_add(e, v->account, -v->lead.behaviour, v->lead.btime);
    }
    vindex_remove(e, idx);
    le_lead_free(&v->lead);
    memset(v, 0, sizeof(*v));
    if (e->nfree == e->capfree) {
        e->capfree = e->capfree ? e->capfree * 2 : 64;
        e->freelist = le_xrealloc(e->freelist, e->capfree * sizeof(uint32_t));
    }
    e->freelist[e->nfree++] = idx;
    e->nvisitors--;
}

/* Drop visitor idx (anonymous) to make room. */
static void evict(le_engine_t *e, uint32_t idx) {
    free_visitor(e, idx);
    e->st.evicted++;
}

/* Make room for one more visitor: false when every sampled entry is a contact's. */
static bool make_room(le_engine_t *e) {
    uint32_t best = UINT32_MAX, best_seen = UINT32_MAX;
    for (int round = 0; round < 64 && best == UINT32_MAX; round++) {
        for (int k = 0; k < EVICT_SAMPLES; k++) {
            uint32_t i = (uint32_t)(next_rand(e) % e->hw);
            visitor_t *v = vis(e, i);
            if (!(v->flags & V_USED) || v->contact) continue;
            if (v->last_seen < best_seen || best == UINT32_MAX) {
                best = i;
                best_seen = v->last_seen;
            }
        }
    }
    if (best == UINT32_MAX) return false;
    evict(e, best);
    return true;
}

uint32_t le__engine_new_entry(le_engine_t *e) {
    uint32_t idx = e->hw++;
    if ((idx >> CHUNK_BITS) >= e->nchunks) {
        e->chunks = le_xrealloc(e->chunks, (e->nchunks + 1) * sizeof(*e->chunks));
        /* aligned to the cache line, so that each 64-byte entry is one line, not two halves */
        visitor_t *c = le_xaligned(64, CHUNK * sizeof(visitor_t));
        memset(c, 0, CHUNK * sizeof(visitor_t));
        e->chunks[e->nchunks++] = c;
    }
    return idx;
}

void le__engine_index_visitor(le_engine_t *e, uint32_t idx) {
    vindex_add(e, idx);
}

/* The visitor with id, created when new. UINT32_MAX when the table is full of contacts'. */
static uint32_t visitor_for(le_engine_t *e, const uint8_t id[16], uint32_t t, le_apply_t *out) {
    uint32_t s = vfind(e, id);
    if (s) return s - 1;
    if (e->nvisitors >= e->cfg->limits.max_visitors) {
        if (!make_room(e)) return UINT32_MAX;
        out->evicted = true;
    }
    uint32_t idx = e->nfree ? e->freelist[--e->nfree] : le__engine_new_entry(e);
    visitor_t *v = vis(e, idx);
    memset(v, 0, sizeof(*v));
    memcpy(v->id, id, 16);
    v->flags = V_USED;
    v->first_seen = v->last_seen = t;
    vindex_add(e, idx);
    e->nvisitors++;
    out->new_visitor = true;
    return idx;
}

/* ---- accounts ----------------------------------------------------------------------------- */

account_t *le__account_new(const char *key, size_t len) {
    account_t *a = le_xcalloc(1, sizeof(*a) + len + 1);
    memcpy(a->key, key, len);
    return a;
}

static uint32_t account_for(le_engine_t *e, const char *key, le_str_t name, le_str_t domain) {
    uint32_t s = smap_get(e, &e->by_key, account_key, key);
    if (s) return s;
    if (e->naccounts == e->capaccounts) {
        e->capaccounts = e->capaccounts ? e->capaccounts * 2 : 16;
        e->accounts = le_xrealloc(e->accounts, e->capaccounts * sizeof(*e->accounts));
    }
    account_t *a = le__account_new(key, strlen(key));
    a->name = dup_str(name);
    a->domain = dup_str(domain);
    e->accounts[e->naccounts] = a;
    smap_put(e, &e->by_key, account_key, (uint32_t)e->naccounts);
    return (uint32_t)++e->naccounts;
}

/* Add delta (points valid at t) to the account's decaying behaviour. */
static void account_add(le_engine_t *e, uint32_t acct, double delta, uint32_t t) {
    if (!acct || delta == 0) return;
    account_t *a = e->accounts[acct - 1];
    if (a->btime && t > a->btime)
        a->behaviour = (float)(a->behaviour * exp2(-(double)(t - a->btime) / e->half_life_s));
    else if (a->btime && t < a->btime)
        delta *= exp2(-(double)(a->btime - t) / e->half_life_s);
    if (t > a->btime) a->btime = t;
    a->behaviour = (float)(a->behaviour + delta);
}

/* Contact cidx joins its account's list, once: the contact remembers that it is there, so that
 * only its first event (after its creation or a load) looks through the list. */
static void account_add_contact(le_engine_t *e, uint32_t cidx) {
    contact_t *c = e->contacts[cidx];
    if (c->listed) return;
    account_t *a = e->accounts[c->account - 1];
    c->listed = true;
    for (uint32_t i = 0; i < a->ncontacts; i++)
        if (a->contacts[i] == cidx) return;
    a->contacts = le_xrealloc(a->contacts, (a->ncontacts + 1) * sizeof(uint32_t));
    a->contacts[a->ncontacts++] = cidx;
}

/* MQA: enough engaged contacts covering enough roles. */
static bool account_qualifies(le_engine_t *e, account_t *a, uint32_t t) {
    const le_config_t *c = e->cfg;
    if (!c->mql.account.members || a->mqa_at) return false;
    uint32_t engaged = 0, roles = 0;
    for (uint32_t i = 0; i < a->ncontacts; i++) {
        contact_t *k = e->contacts[a->contacts[i]];
        if (k->suppress) continue;
        le_lead_decay(&k->lead, t, e->half_life_s);
        if (k->lead.behaviour < c->mql.account.engaged) continue;
        engaged++;
        if (k->role > 0) roles |= 1u << k->role;
    }
    return engaged >= c->mql.account.members &&
           (uint32_t)__builtin_popcount(roles) >= c->mql.account.roles;
}

/* ---- contacts ----------------------------------------------------------------------------- */

/* The form field named like one of names ('-' and '_' alike, any case). */
static le_str_t form_field(const le_event_t *ev, const le_str_t *names) {
    for (uint32_t i = 0; i < ev->nfields; i++) {
        le_str_t k = ev->fields[i].key;
        for (const le_str_t *n = names; n->ptr; n++) {
            if (k.len != n->len) continue;
            bool same = true;
            for (size_t j = 0; j < n->len && same; j++) {
                char a = k.ptr[j], b = n->ptr[j];
                if (a == '-') a = '_';
                if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
                same = a == b;
            }
            if (same && ev->fields[i].val.len) return ev->fields[i].val;
        }
    }
    return LE_STR_NULL;
}

/* The names a form field goes by, with their lengths known at compile time. */
#define FN(s)                                                                                      \
    { s, sizeof(s) - 1 }
static const le_str_t f_email[] = {FN("email"),         FN("e_mail"),       FN("mail"),
                                   FN("email_address"), FN("emailaddress"), {NULL, 0}};
static const le_str_t f_first[] = {FN("first_name"), FN("firstname"), FN("vorname"),
                                   FN("given_name"), FN("fname"),     {NULL, 0}};
static const le_str_t f_last[] = {FN("last_name"),   FN("lastname"), FN("nachname"), FN("surname"),
                                  FN("family_name"), FN("lname"),    {NULL, 0}};
static const le_str_t f_name[] = {
    FN("name"), FN("full_name"), FN("fullname"), FN("your_name"), {NULL, 0}};
static const le_str_t f_title[] = {FN("job_title"), FN("jobtitle"), FN("title"), FN("position"),
                                   FN("funktion"),  FN("job"),      {NULL, 0}};
static const le_str_t f_phone[] = {FN("phone"),  FN("tel"),          FN("telephone"), FN("telefon"),
                                   FN("mobile"), FN("phone_number"), {NULL, 0}};
static const le_str_t f_company[] = {FN("company"),      FN("firma"),       FN("organization"),
                                     FN("organisation"), FN("unternehmen"), FN("company_name"),
                                     {NULL, 0}};
static const le_str_t f_postal[] = {FN("postal_code"), FN("zip"),    FN("plz"), FN("postcode"),
                                    FN("zipcode"),     FN("postal"), {NULL, 0}};
static const le_str_t f_country[] = {FN("country"), FN("land"), FN("country_code"), {NULL, 0}};
static const le_str_t f_size[] = {
    FN("company_size"), FN("employees"), FN("mitarbeiter"), FN("size"), {NULL, 0}};
static const le_str_t f_industry[] = {FN("industry"), FN("branche"), FN("sector"), {NULL, 0}};
#undef FN

/* "50-249" -> 50, "500+" -> 500, "1.000" -> 1000; -1 when there is no number. */
static int64_t parse_size(le_str_t s) {
    int64_t v = -1;
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        if (ch >= '0' && ch <= '9') {
            v = (v < 0 ? 0 : v) * 10 + (ch - '0');
            if (v > 100000000) return v;
        } else if ((ch == '.' || ch == ',' || ch == '\'') && v >= 0 && i + 1 < s.len &&
                   s.ptr[i + 1] >= '0' && s.ptr[i + 1] <= '9') {
            continue; /* a thousands separator */
        } else if (v >= 0) {
            break;
        }
    }
    return v;
}

static uint32_t contact_for(le_engine_t *e, const char *email, uint32_t t) {
    uint32_t s = smap_get(e, &e->by_email, contact_key, email);
    if (s) return s;
    if (e->ncontacts == e->capcontacts) {
        e->capcontacts = e->capcontacts ? e->capcontacts * 2 : 16;
        e->contacts = le_xrealloc(e->contacts, e->capcontacts * sizeof(*e->contacts));
    }
    contact_t *c = le_xcalloc(1, sizeof(*c));
    c->email = le_xstrdup(email);
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)email, strlen(email), d);
    le_hex(c->id, d, 16);
    c->company_size = -1;
    c->company_match = -1;
    c->first_seen = c->last_seen = t;
    le_str_t dom = le_email_domain(le_str(c->email));
    c->email_kind = (int)le_domain_classify(e->freemail, e->disposable, dom);
    if (c->email_kind == LE_DOMAIN_FREEMAIL) c->quality |= Q_FREEMAIL;
    if (c->email_kind == LE_DOMAIN_DISPOSABLE) c->quality |= Q_DISPOSABLE;
    c->suppress = le_suppress_domain(e->cfg, dom);
    e->contacts[e->ncontacts] = c;
    smap_put(e, &e->by_email, contact_key, (uint32_t)e->ncontacts);
    smap_put(e, &e->by_id, contact_id_key, (uint32_t)e->ncontacts);
    e->st.contacts = ++e->ncontacts;
    return (uint32_t)e->ncontacts;
}

/* Take the form's contact fields into c, normalised; problems become quality flags. */
/* role: the job title's le_role_t when the caller has it, else -1. */
static void contact_fields(contact_t *c, const le_event_t *ev, int role) {
    le_str_t v;
    le_str_t first = form_field(ev, f_first), last = form_field(ev, f_last);
    if (!first.len && !last.len && (v = le_text_trim(form_field(ev, f_name))).len) {
        /* one name field: its last word is the family name ("Grace Brewster Hopper") */
        const char *sp = NULL;
        for (size_t i = 0; i < v.len; i++)
            if (v.ptr[i] == ' ') sp = v.ptr + i;
        if (sp) {
            first = le_text_trim((le_str_t){v.ptr, (size_t)(sp - v.ptr)});
            last = (le_str_t){sp + 1, v.len - (size_t)(sp + 1 - v.ptr)};
        } else {
            first = v;
        }
    }
    set_str(&c->first_name, first);
    set_str(&c->last_name, last);
    set_str(&c->industry, form_field(ev, f_industry));
    if ((v = form_field(ev, f_title)).len) {
        set_str(&c->job_title, v);
        c->role = role >= 0 ? role : (int)le_role_from_title(v);
    }
    if ((v = form_field(ev, f_country)).len == 2) {
        char cc[3] = {(char)(v.ptr[0] & ~0x20), (char)(v.ptr[1] & ~0x20), 0};
        set_str(&c->country, le_str(cc));
    }
    /* phone numbers and postal codes are read for the form's country, else the IP's */
    const char *country = c->country;
    char ipcc[3] = "";
    if (!country && ev->enriched && ev->x.country_code.len == 2) {
        memcpy(ipcc, ev->x.country_code.ptr, 2);
        country = ipcc;
    }
    if ((v = form_field(ev, f_phone)).len) {
        char out[LE_PHONE_SIZE];
        if (le_phone_e164(v, country, out, sizeof(out), NULL) == 0) {
            set_str(&c->phone, le_str(out));
            c->quality &= ~(uint32_t)Q_BAD_PHONE;
        } else {
            c->quality |= Q_BAD_PHONE;
        }
    }
    if ((v = form_field(ev, f_postal)).len) {
        char out[LE_POSTAL_SIZE];
        int rc = le_postal_check(v, country, out, sizeof(out), NULL);
        if (rc == 0 || rc == LE_POSTAL_UNCHECKED) {
            set_str(&c->postal, le_str(out));
            c->quality &= ~(uint32_t)Q_BAD_POSTAL;
        } else {
            c->quality |= Q_BAD_POSTAL;
        }
    }
    if ((v = form_field(ev, f_size)).len) c->company_size = parse_size(v);
    if ((v = form_field(ev, f_company)).len) {
        set_str(&c->company, v);
        char key[128];
        le_company_key(v.ptr, v.len, key, sizeof(key));
        set_str(&c->company_key, le_str(key));
    }
    /* the form's company against the IP's: agreement is a fit signal */
    if (c->company_key && ev->enriched && ev->x.company_key.len) {
        bool same = str_is(c->company_key, ev->x.company_key);
        c->company_match = same;
        if (same)
            c->quality &= ~(uint32_t)Q_COMPANY_MISMATCH;
        else
            c->quality |= Q_COMPANY_MISMATCH;
    }
}

void le__contact_set_enrich(contact_t *c, const le_str_t val[ENRICH]) {
    char **cur[ENRICH] = CONTACT_ENRICH(c);
    size_t n = 0;
    for (int i = 0; i < ENRICH; i++) n += val[i].ptr ? val[i].len + 1 : 0;
    char *blob = n ? le_xmalloc(n) : NULL, *p = blob;
    for (int i = 0; i < ENRICH; i++) {
        if (!val[i].ptr) {
            *cur[i] = NULL;
            continue;
        }
        memcpy(p, val[i].ptr, val[i].len);
        p[val[i].len] = '\0';
        *cur[i] = p;
        p += val[i].len + 1;
    }
    free(c->enrich); /* after the copies: val may point into it */
    c->enrich = blob;
}

/* The latest enrichment: each value the event has replaces the contact's. Usually all are the
 * same as before, which one pass over the contact's one block of strings tells. */
static void contact_set_enrichment(contact_t *c, const le_enrichment_t *x) {
    le_str_t in[ENRICH] = {x->company,
                           x->company_key,
                           x->domain,
                           x->country_code,
                           x->region_code,
                           x->continent,
                           x->city,
                           le_str(le_network_name((le_network_t)x->network)),
                           x->browser,
                           x->os,
                           le_str(le_device_class_name(x->device_class)),
                           x->language};
    char **cur[ENRICH] = CONTACT_ENRICH(c);
    bool same = true;
    for (int i = 0; i < ENRICH && same; i++) same = !in[i].len || str_is(*cur[i], in[i]);
    if (same) return;
    for (int i = 0; i < ENRICH; i++) /* what the event does not have is kept */
        if (!in[i].len) in[i] = *cur[i] ? le_str(*cur[i]) : (le_str_t){NULL, 0};
    le__contact_set_enrich(c, in);
}

static void contact_enrichment(contact_t *c, const le_event_t *ev, uint32_t t) {
    if (ev->enriched) contact_set_enrichment(c, &ev->x);
    c->consent = ev->consent;
    if (ev->type == LE_EV_PAGEVIEW && ev->url.len) {
        step_t *s = &c->journey[c->njourney % JOURNEY];
        size_t n = ev->url.len > 2048 ? 2048 : ev->url.len;
        if (s->url && malloc_usable_size(s->url) > n) { /* the old step's room will do */
            memcpy(s->url, ev->url.ptr, n);
            s->url[n] = '\0';
        } else {
            free(s->url);
            s->url = le_xstrndup(ev->url.ptr, n);
        }
        s->at = t;
        c->njourney++;
    }
    if (t > c->last_seen) c->last_seen = t;
}

/* ---- anonymous journeys ------------------------------------------------------------------- */

/* A visitor's key in the ring: the first 8 bytes of its id, never 0 (an entry index would be
 * reused after an eviction; an id is not). */
static uint64_t ring_key(const uint8_t id[16]) {
    uint64_t k;
    memcpy(&k, id, 8);
    return k | 1;
}

static struct ring_last *ring_slot(const le_engine_t *e, uint64_t key) {
    return &e->ring_last[(size_t)((key * 0x9e3779b97f4a7c15ull) >> 46) & (RING - 1)];
}

/* The position + 1 of a live step of key older than seq `before`, 0 when it was overwritten
 * or is another visitor's. */
static uint32_t ring_live(const le_engine_t *e, uint32_t pos1, uint64_t key, uint64_t before) {
    if (!pos1) return 0;
    const struct ring_step *st = &e->ring[pos1 - 1];
    bool live = st->seq && st->key == key && st->seq < before && st->seq + RING > e->ring_seq;
    return live ? pos1 : 0;
}

/* The position + 1 of key's latest step when it is still in the ring, else 0. The slot names
 * the step of the last visitor that wrote through it; a step of key's found there is key's
 * latest (each of key's steps goes through this slot), and it is live while the ring has not
 * come round to its place again (erasure clears the slot of the visitor it erases). */
static uint32_t ring_latest(const le_engine_t *e, uint64_t key) {
    const struct ring_last *l = ring_slot(e, key);
    if (l->key != key || !l->seq || l->seq + RING <= e->ring_seq) return 0;
    return (uint32_t)((l->seq - 1) % RING) + 1;
}

#define TEXT_MIN (1u << 20)
#define URL_MAX 2048u

void le__ring_alloc(le_engine_t *e) {
    if (e->ring) return;
    e->ring = le_xcalloc(RING, sizeof(*e->ring));
    e->ring_last = le_xcalloc(RING, sizeof(*e->ring_last));
    e->ring_text_cap = TEXT_MIN;
    e->ring_text = le_xmalloc(TEXT_MIN);
    e->ring_text_end = 0; /* every step's off is 0: none is ahead of the text to come */
}

le_str_t le__ring_url(const le_engine_t *e, const struct ring_step *st) {
    const char *p = e->ring_text + st->off % e->ring_text_cap;
    uint16_t len;
    memcpy(&len, p, 2);
    return (le_str_t){p + 2, len};
}

/* Put a URL (len <= URL_MAX) after the text's end; returns its offset. A URL never wraps round
 * the buffer's end: when it would, the bytes left there are skipped. The caller has seen to it
 * that this overwrites no step still in the ring. */
static uint64_t text_append(le_engine_t *e, const char *url, uint16_t len) {
    uint64_t at = e->ring_text_end, in = at % e->ring_text_cap;
    if (in + 2u + len > e->ring_text_cap) at += e->ring_text_cap - in;
    char *p = e->ring_text + at % e->ring_text_cap;
    memcpy(p, &len, 2);
    memcpy(p + 2, url, len);
    e->ring_text_end = at + 2u + len;
    return at;
}

/* A new text buffer for the URLs of the steps in the ring (of urls[pos], lens[pos] when urls
 * is not NULL, else their current ones), laid out again oldest first, with room for them and
 * `more` bytes, and half as much again, so that this stays rare. Positions of the ring without
 * a step get the offset of the text to come, so that offsets never go back. */
static void text_relayout(le_engine_t *e, uint64_t more, char *const *urls, const uint16_t *lens) {
    uint64_t first = e->ring_seq >= RING ? e->ring_seq - RING + 1 : 1, live = 0;
    for (uint64_t seq = first; seq <= e->ring_seq; seq++) {
        const struct ring_step *st = &e->ring[(seq - 1) % RING];
        if (st->seq) live += 2u + (urls ? lens[(seq - 1) % RING] : le__ring_url(e, st).len);
    }
    uint64_t cap = (live + more) * 3 / 2 + 2 * (2 + URL_MAX); /* and a skip at the end */
    cap = cap < TEXT_MIN ? TEXT_MIN : (cap + 65535) & ~(uint64_t)65535;
    char *old = e->ring_text;
    uint64_t oldcap = e->ring_text_cap;
    e->ring_text = le_xmalloc(cap);
    e->ring_text_cap = cap;
    e->ring_text_end = 0;
    for (uint64_t seq = first; seq <= e->ring_seq; seq++) {
        struct ring_step *st = &e->ring[(seq - 1) % RING];
        if (!st->seq) {
            st->off = e->ring_text_end;
        } else if (urls) {
            st->off = text_append(e, urls[(seq - 1) % RING], lens[(seq - 1) % RING]);
        } else {
            const char *p = old + st->off % oldcap;
            uint16_t len;
            memcpy(&len, p, 2);
            st->off = text_append(e, p + 2, len);
        }
    }
    free(old);
}

/* Put url (cut at URL_MAX bytes, and at a NUL: it is a C string everywhere after) into the text
 * buffer for the step about to become seq; returns its offset. */
static uint64_t ring_text_put(le_engine_t *e, uint64_t seq, le_str_t url) {
    uint16_t len = (uint16_t)(url.len > URL_MAX ? URL_MAX : url.len);
    const char *nul = memchr(url.ptr, 0, len);
    if (nul) len = (uint16_t)(nul - url.ptr);
    uint64_t need = 2u + len;
    /* the oldest step still in the ring once seq is written: its text, and all after, stays */
    uint64_t oldest = seq > RING ? seq - RING + 1 : 1;
    uint64_t floor = oldest < seq ? e->ring[(oldest - 1) % RING].off : e->ring_text_end;
    uint64_t at = e->ring_text_end, in = at % e->ring_text_cap;
    if (in + need > e->ring_text_cap) at += e->ring_text_cap - in;
    if (at + need > floor + e->ring_text_cap) text_relayout(e, need, NULL, NULL);
    return text_append(e, url.ptr, len);
}

void le__ring_load_text(le_engine_t *e, char *const *urls, const uint16_t *lens) {
    text_relayout(e, 0, urls, lens);
}

static void ring_record(le_engine_t *e, const uint8_t id[16], uint32_t t, le_str_t url) {
    le__ring_alloc(e);
    uint64_t key = ring_key(id);
    uint32_t prev = ring_latest(e, key);
    uint64_t seq = e->ring_seq + 1;
    uint64_t off = ring_text_put(e, seq, url);
    e->ring[(seq - 1) % RING] =
        (struct ring_step){.seq = seq, .key = key, .off = off, .at = t, .prev = prev};
    e->ring_seq = seq;
    *ring_slot(e, key) = (struct ring_last){key, seq};
}

/* Erasure: every step of the visitor goes, URL and all. */
static void ring_wipe(le_engine_t *e, const uint8_t id[16]) {
    if (!e->ring) return;
    uint64_t key = ring_key(id);
    struct ring_last *l = ring_slot(e, key);
    if (l->key == key) *l = (struct ring_last){0, 0};
    for (uint32_t i = 0; i < RING; i++)
        if (e->ring[i].seq && e->ring[i].key == key) {
            le_str_t u = le__ring_url(e, &e->ring[i]);
            memset((char *)u.ptr - 2, 0, u.len + 2);
            e->ring[i] = (struct ring_step){.off = e->ring[i].off};
        }
}

/* A visitor's anonymous page views join the journey of the contact it is linked to (in time
 * order, the latest JOURNEY kept). */
static void ring_to_contact(le_engine_t *e, const uint8_t id[16], contact_t *c) {
    if (!e->ring) return;
    uint64_t key = ring_key(id);
    /* linking is rare: a look at the step itself too, so that no bookkeeping slip could ever
     * put another visitor's page into this journey */
    uint32_t pos1 = ring_live(e, ring_latest(e, key), key, UINT64_MAX);
    if (!pos1) return;
    step_t all[2 * JOURNEY];
    uint32_t n = 0, nj = c->njourney < JOURNEY ? c->njourney : JOURNEY;
    for (uint32_t k = c->njourney - nj; k < c->njourney; k++) {
        all[n++] = c->journey[k % JOURNEY];
        c->journey[k % JOURNEY] = (step_t){0};
    }
    uint32_t first = n;
    for (uint32_t k = 0; k < JOURNEY && pos1; k++) { /* newest first */
        const struct ring_step *st = &e->ring[pos1 - 1];
        le_str_t u = le__ring_url(e, st);
        all[n++] = (step_t){le_xstrndup(u.ptr, u.len), st->at};
        pos1 = ring_live(e, st->prev, key, st->seq);
    }
    for (uint32_t i = first, j = n - 1; i < j; i++, j--) { /* oldest first */
        step_t x = all[i];
        all[i] = all[j];
        all[j] = x;
    }
    /* a stable sort by time: steps of the same second keep their order */
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && all[j - 1].at > all[j].at; j--) {
            step_t x = all[j];
            all[j] = all[j - 1];
            all[j - 1] = x;
        }
    uint32_t skip = n > JOURNEY ? n - JOURNEY : 0;
    for (uint32_t k = 0; k < skip; k++) free(all[k].url);
    for (uint32_t k = 0; k < JOURNEY; k++) c->journey[k] = (step_t){0};
    for (uint32_t k = skip; k < n; k++) c->journey[k - skip] = all[k];
    c->njourney = n - skip;
}

/* Link visitor vi to contact ci (1-based), merging its anonymous scores. */
static void link(le_engine_t *e, uint32_t vi, uint32_t ci, uint32_t t, le_apply_t *out) {
    visitor_t *v = vis(e, vi);
    contact_t *c = e->contacts[ci - 1];
    if (v->contact == ci) return;
    out->linked = true;
    if (!v->contact) {
        /* the visitor's anonymous scores move into the contact, and out of the visitor's
         * account: from now on the contact stands for it there */
        if (c->nvids) out->merged = true;
        if (v->account) {
            le_lead_decay(&v->lead, t, e->half_life_s);
            account_t *a = e->accounts[v->account - 1];
            if (a->members) a->members--;
            account_add(e, v->account, -v->lead.behaviour, v->lead.btime);
            v->account = 0;
        }
        le_lead_decay(&c->lead, t, e->half_life_s);
        float before = c->lead.behaviour;
        le_lead_merge(&c->lead, &v->lead, e->rules, t, e->half_life_s);
        account_add(e, c->account, (double)c->lead.behaviour - before, t);
        le_lead_free(&v->lead);
        if (v->mql_at && !c->mql_at) c->mql_at = v->mql_at;
        ring_to_contact(e, v->id, c);
        e->st.merges++;
    }
    v->contact = ci;
    /* the lead's history starts with the visitor's first event, not with the form */
    if (v->first_seen && v->first_seen < c->first_seen) c->first_seen = v->first_seen;
    if (v->flags & V_BOT) c->suppress |= LE_SUP_BOT;
    if (v->flags & V_GPC) c->suppress |= LE_SUP_GPC;
    if (v->flags & V_STAFF) c->suppress |= LE_SUP_STAFF;
    c->vids = le_xrealloc(c->vids, (c->nvids + 1) * sizeof(*c->vids));
    c->vat = le_xrealloc(c->vat, (c->nvids + 1) * sizeof(*c->vat));
    memcpy(c->vids[c->nvids], v->id, 16);
    c->vat[c->nvids++] = t;
}

static void free_contact(contact_t *c);

/* ---- lifecycle ---------------------------------------------------------------------------- */

static const char *const stage_names[LE_STAGE_COUNT] = {"none",     "mql",      "accepted", "tql",
                                                        "sal",      "sql",      "won",      "lost",
                                                        "recycled", "rejected", "breach"};

const char *le_stage_name(le_stage_t s) {
    return (unsigned)s < LE_STAGE_COUNT ? stage_names[s] : "none";
}

le_stage_t le_stage_parse(const char *s, size_t len) {
    if (len == 3 && strncasecmp(s, "tal", 3) == 0) return LE_STAGE_ACCEPTED;
    for (int i = LE_STAGE_ACCEPTED; i <= LE_STAGE_REJECTED; i++)
        if (strlen(stage_names[i]) == len && strncasecmp(s, stage_names[i], len) == 0)
            return (le_stage_t)i;
    return LE_STAGE_NONE;
}

int le_bant_parse(const char *s, size_t len) {
    static const char *const names[] = {"budget", "authority", "need", "timing"};
    int bits = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != ',') j++;
        size_t a = i, b = j;
        while (a < b && s[a] == ' ') a++;
        while (b > a && s[b - 1] == ' ') b--;
        if (b > a) {
            int bit = -1;
            for (int k = 0; k < 4; k++)
                if (strlen(names[k]) == b - a && strncasecmp(s + a, names[k], b - a) == 0)
                    bit = 1 << k;
            if (bit < 0) return -1;
            bits |= bit;
        }
        i = j + 1;
    }
    return bits;
}

static void history_add(contact_t *c, le_stage_t stage, uint32_t t) {
    if (c->nhistory == HISTORY) { /* the oldest transition goes */
        memmove(c->history, c->history + 1, (HISTORY - 1) * sizeof(*c->history));
        c->nhistory--;
    }
    if (!c->history) c->history = le_xcalloc(HISTORY, sizeof(*c->history));
    c->history[c->nhistory++] =
        (lc_t){.at = t,
               .cycle = (uint16_t)(c->mqls > UINT16_MAX ? UINT16_MAX : c->mqls),
               .stage = (uint8_t)stage};
}

static uint32_t contact_by_id(le_engine_t *e, const char *id) {
    char lower[33];
    if (strlen(id) != 32) return 0;
    for (int i = 0; i < 33; i++)
        lower[i] = id[i] >= 'A' && id[i] <= 'F' ? (char)(id[i] - 'A' + 'a') : id[i];
    return smap_get(e, &e->by_id, contact_id_key, lower);
}

/* The lead key names (an e-mail address, a contact id, or a visitor id, whose contact it is
 * when linked): *ci the contact's index + 1, else *vi the anonymous visitor's index + 1; false
 * when nobody. */
static bool lookup(le_engine_t *e, const char *key, uint32_t *ci, uint32_t *vi) {
    *ci = *vi = 0;
    if (strchr(key, '@')) {
        char email[LE_EMAIL_SIZE];
        if (le_email_normalize(key, strlen(key), email, sizeof(email), NULL) == 0)
            *ci = smap_get(e, &e->by_email, contact_key, email);
        return *ci != 0;
    }
    if ((*ci = contact_by_id(e, key)) != 0 || strlen(key) != 32) return *ci != 0;
    uint8_t id[16];
    id_bytes(key, id);
    uint32_t s = vfind(e, id);
    if (s && vis(e, s - 1)->contact)
        *ci = vis(e, s - 1)->contact;
    else
        *vi = s;
    return s != 0;
}

static le_str_t prop(const le_event_t *ev, const char *name) {
    size_t n = strlen(name);
    for (uint32_t i = 0; i < ev->nprops; i++)
        if (ev->props[i].key.len == n && memcmp(ev->props[i].key.ptr, name, n) == 0)
            return ev->props[i].val;
    return LE_STR_NULL;
}

/* A stage update from the CRM (or the SLA breach mark). Only contacts that were MQLs have a
 * lifecycle; the admin API refuses the rest before it writes the record. */
static void apply_status(le_engine_t *e, const le_event_t *ev, uint32_t t, le_apply_t *out) {
    uint32_t s = contact_by_id(e, ev->id);
    contact_t *c = s ? e->contacts[s - 1] : NULL;
    memcpy(out->lead, ev->id, 33);
    if (!c || !c->mqls) {
        out->unknown_lead = true;
        return;
    }
    if (ev->name.len == 6 && memcmp(ev->name.ptr, "breach", 6) == 0) {
        /* once per cycle, and only while the MQL still waits to be accepted */
        if (c->breached != c->mqls && c->stage == LE_STAGE_MQL) {
            c->breached = c->mqls;
            history_add(c, LE_STAGE_BREACH, t);
            out->breach = true;
            e->st.sla_breaches++;
        }
        return;
    }
    le_stage_t st = le_stage_parse(ev->name.ptr, ev->name.len);
    if (st == LE_STAGE_NONE) {
        out->unknown_lead = true;
        return;
    }
    c->stage = (uint8_t)st;
    history_add(c, st, t);
    if (st == LE_STAGE_RECYCLED) c->recycled_at = t;
    le_str_t v = prop(ev, "bant");
    if (st == LE_STAGE_TQL && v.len) {
        int bits = le_bant_parse(v.ptr, v.len);
        if (bits >= 0) c->bant = (uint8_t)bits;
    }
    v = prop(ev, "reason");
    if (v.len) set_str(&c->reason, v);
    out->status = true;
    e->st.status_updates++;
}

/* ---- erasure ------------------------------------------------------------------------------ */

static void note_erased(le_engine_t *e, const uint8_t id[16]) {
    if (e->nerased == e->caperased) {
        e->caperased = e->caperased ? e->caperased * 2 : 8;
        e->erased = le_xrealloc(e->erased, e->caperased * sizeof(*e->erased));
    }
    memcpy(e->erased[e->nerased++], id, 16);
}

/* Remove visitor idx and everything it brought to its account, its journey steps included. */
static void drop_visitor(le_engine_t *e, uint32_t idx) {
    visitor_t *v = vis(e, idx);
    note_erased(e, v->id);
    ring_wipe(e, v->id);
    free_visitor(e, idx);
}

static void rebuild_contact_maps(le_engine_t *e) {
    free(e->by_email.slot);
    free(e->by_id.slot);
    e->by_email = (smap_t){0};
    e->by_id = (smap_t){0};
    for (size_t i = 0; i < e->ncontacts; i++) le__engine_index_contact(e, (uint32_t)i);
}

/* Remove contact ci (1-based), its visitors, and its place in its account; the last contact
 * takes its slot, so every reference to that one is renumbered. */
static void drop_contact(le_engine_t *e, uint32_t ci) {
    contact_t *c = e->contacts[ci - 1];
    for (uint32_t k = 0; k < c->nvids; k++) {
        uint32_t s = vfind(e, c->vids[k]);
        if (s && vis(e, s - 1)->contact == ci) drop_visitor(e, s - 1);
    }
    if (c->account) {
        account_t *a = e->accounts[c->account - 1];
        le_lead_decay(&c->lead, c->last_seen, e->half_life_s);
        if (a->members) a->members--;
        account_add(e, c->account, -c->lead.behaviour, c->lead.btime);
        for (uint32_t k = 0; k < a->ncontacts; k++)
            if (a->contacts[k] == ci - 1) a->contacts[k--] = a->contacts[--a->ncontacts];
    }
    free_contact(c);
    uint32_t last = (uint32_t)e->ncontacts; /* 1-based */
    if (ci != last) {
        contact_t *m = e->contacts[last - 1];
        e->contacts[ci - 1] = m;
        for (uint32_t k = 0; k < m->nvids; k++) {
            uint32_t s = vfind(e, m->vids[k]);
            if (s && vis(e, s - 1)->contact == last) vis(e, s - 1)->contact = ci;
        }
        if (m->account) {
            account_t *a = e->accounts[m->account - 1];
            for (uint32_t k = 0; k < a->ncontacts; k++)
                if (a->contacts[k] == last - 1) a->contacts[k] = ci - 1;
        }
    }
    e->ncontacts--;
    e->st.contacts = e->ncontacts;
    rebuild_contact_maps(e);
}

/* A tombstone: the visitor or contact with ev->id, and everything held on that person, goes.
 * A visitor linked to a contact is that contact's person: the contact goes with all its
 * visitors. */
static void apply_erase(le_engine_t *e, const le_event_t *ev, le_apply_t *out) {
    e->nerased = 0;
    memcpy(out->lead, ev->id, 33);
    uint32_t ci, vi;
    if (!lookup(e, ev->id, &ci, &vi)) {
        out->unknown_lead = true;
        return;
    }
    if (ci) {
        memcpy(out->lead, e->contacts[ci - 1]->id, 33);
        drop_contact(e, ci);
    } else {
        drop_visitor(e, vi - 1);
    }
    out->erased = true;
    out->erased_vids = (const uint8_t(*)[16])e->erased;
    out->nerased_vids = e->nerased;
    e->st.erasures++;
}

/* ---- applying an event -------------------------------------------------------------------- */

le_engine_t *le_engine_new(const le_config_t *cfg, le_rules_t *rules, le_domains_t *freemail,
                           le_domains_t *disposable) {
    le_engine_t *e = le_xcalloc(1, sizeof(*e));
    e->cfg = le_config_ref((le_config_t *)cfg);
    e->rules = rules;
    e->freemail = freemail;
    e->disposable = disposable;
    e->half_life_s = (double)cfg->scoring.behaviour.half_life_ms / 1000.0;
    e->index = le_xcalloc(1024, sizeof(uint64_t));
    e->index_mask = 1023;
    e->rng = 0x9e3779b97f4a7c15ull;
    return e;
}

static void free_contact(contact_t *c) {
    char **strs[] = {&c->email,       &c->first_name, &c->last_name, &c->job_title,
                     &c->phone,       &c->postal,     &c->country,   &c->company,
                     &c->company_key, &c->industry,   &c->reason};
    for (size_t i = 0; i < LE_ARRAY_SIZE(strs); i++) free(*strs[i]);
    free(c->enrich);
    free(c->history);
    for (int i = 0; i < JOURNEY; i++) free(c->journey[i].url);
    free(c->vids);
    free(c->vat);
    le_lead_free(&c->lead);
    free(c);
}

void le__engine_index_contact(le_engine_t *e, uint32_t idx) {
    smap_put(e, &e->by_email, contact_key, idx);
    smap_put(e, &e->by_id, contact_id_key, idx);
}

void le__engine_index_account(le_engine_t *e, uint32_t idx) {
    smap_put(e, &e->by_key, account_key, idx);
}

void le__engine_clear(le_engine_t *e) {
    free(e->ring);
    free(e->ring_last);
    free(e->ring_text);
    e->ring = NULL;
    e->ring_last = NULL;
    e->ring_text = NULL;
    e->ring_seq = e->ring_text_cap = e->ring_text_end = 0;
    for (uint32_t i = 0; i < e->hw; i++) le_lead_free(&vis(e, i)->lead);
    for (size_t i = 0; i < e->nchunks; i++) free(e->chunks[i]);
    free(e->chunks);
    e->chunks = NULL;
    e->nchunks = 0;
    e->hw = e->nvisitors = 0;
    free(e->freelist);
    e->freelist = NULL;
    e->nfree = e->capfree = 0;
    memset(e->index, 0, (e->index_mask + 1) * sizeof(uint64_t));
    for (size_t i = 0; i < e->ncontacts; i++) free_contact(e->contacts[i]);
    free(e->contacts);
    e->contacts = NULL;
    e->ncontacts = e->capcontacts = 0;
    free(e->by_email.slot);
    e->by_email = (smap_t){0};
    free(e->by_id.slot);
    e->by_id = (smap_t){0};
    for (size_t i = 0; i < e->naccounts; i++) {
        free(e->accounts[i]->name);
        free(e->accounts[i]->domain);
        free(e->accounts[i]->contacts);
        free(e->accounts[i]);
    }
    free(e->accounts);
    e->accounts = NULL;
    e->naccounts = e->capaccounts = 0;
    free(e->by_key.slot);
    e->by_key = (smap_t){0};
    memset(&e->st, 0, sizeof(e->st));
    e->rng = 0x9e3779b97f4a7c15ull;
}

void le_engine_free(le_engine_t *e) {
    if (!e) return;
    le__engine_clear(e);
    free(e->index);
    free(e->erased);
    le_rules_free(e->rules);
    le_domains_free(e->freemail);
    le_domains_free(e->disposable);
    le_config_unref(e->cfg);
    free(e);
}

static void apply(le_engine_t *e, const le_event_t *ev, const le_engine_hint_t *h, le_apply_t *out);

void le_engine_apply(le_engine_t *e, const le_event_t *ev, le_apply_t *out) {
    apply(e, ev, NULL, out);
}

void le_engine_apply_hinted(le_engine_t *e, const le_event_t *ev, const le_engine_hint_t *h,
                            le_apply_t *out) {
    apply(e, ev, h, out);
}

/* Apply ev; h is its hint (le_engine_hint_init) when the caller has one, else NULL. */
static void apply(le_engine_t *e, const le_event_t *ev, const le_engine_hint_t *h,
                  le_apply_t *out) {
    memset(out, 0, sizeof(*out));
    const le_config_t *cfg = e->cfg;
    uint32_t t = secs(ev->time_ms);
    e->st.events++;
    if (ev->type == LE_EV_STATUS) {
        apply_status(e, ev, t, out);
        return;
    }
    if (ev->type == LE_EV_ERASE) {
        apply_erase(e, ev, out);
        return;
    }

    uint8_t id[16];
    if (h)
        memcpy(id, h->id, 16);
    else
        id_bytes(ev->id, id);
    uint32_t vi = visitor_for(e, id, t, out);
    if (vi == UINT32_MAX) {
        out->dropped = true;
        e->st.dropped++;
        return;
    }
    visitor_t *v = vis(e, vi);
    if (t > v->last_seen) v->last_seen = t;
    if (ev->bot || (ev->enriched && ev->x.bot_reasons)) v->flags |= V_BOT;
    if (ev->gpc) v->flags |= V_GPC;
    if (ev->staff) v->flags |= V_STAFF;

    /* identity: a form with an e-mail address. A cookieless id (no consent, or an opt-out such
     * as Global Privacy Control) is never linked to a person: such a form counts for the
     * anonymous visitor only, so it names no contact and makes no MQL. */
    bool cookieless = ev->id_kind == LE_ID_COOKIELESS;
    if (ev->type == LE_EV_FORM && !cookieless) {
        le_str_t raw = form_field(ev, f_email);
        if (raw.len) {
            char email[LE_EMAIL_SIZE];
            if (le_email_normalize(raw.ptr, raw.len, email, sizeof(email), NULL) == 0) {
                uint32_t ci = contact_for(e, email, t);
                link(e, vi, ci, t, out);
            } else {
                out->bad_email = true;
                e->st.bad_emails++;
            }
        }
    }
    contact_t *c = v->contact ? e->contacts[v->contact - 1] : NULL;
    if (c) {
        if (ev->type == LE_EV_FORM) contact_fields(c, ev, h ? h->role : -1);
        contact_enrichment(c, ev, t);
        if (v->flags & V_BOT) c->suppress |= LE_SUP_BOT;
        if (v->flags & V_GPC) c->suppress |= LE_SUP_GPC;
        if (v->flags & V_STAFF) c->suppress |= LE_SUP_STAFF;
    }
    le_lead_t *lead = c ? &c->lead : &v->lead;
    if (!c && ev->type == LE_EV_PAGEVIEW && ev->url.len) ring_record(e, v->id, t, ev->url);

    /* account: the IP company when the network names one, else a business e-mail domain */
    uint32_t *acct = c ? &c->account : &v->account;
    if (!*acct) {
        char key[260];
        if (ev->enriched && ev->x.company_key.len && ev->x.company_key.len < 130) {
            memcpy(key, ev->x.company_key.ptr, ev->x.company_key.len);
            key[ev->x.company_key.len] = '\0';
            *acct = account_for(e, key, ev->x.company, ev->x.domain);
        } else if (c && c->email_kind == LE_DOMAIN_BUSINESS) {
            le_str_t dom = le_email_domain(le_str(c->email));
            key[0] = '@';
            memcpy(key + 1, dom.ptr, dom.len); /* <= 253 bytes */
            key[dom.len + 1] = '\0';
            *acct = account_for(e, key, LE_STR_NULL, dom);
        }
        if (*acct) {
            account_t *a = e->accounts[*acct - 1];
            a->members++;
            le_lead_decay(lead, t, e->half_life_s);
            account_add(e, *acct, lead->behaviour, lead->btime);
        }
    }
    if (c && c->account) account_add_contact(e, v->contact - 1);

    /* behaviour and fit */
    le_lead_decay(lead, t, e->half_life_s);
    float before = lead->behaviour;
    out->nfired = (uint32_t)le_lead_behaviour(lead, e->rules, ev, e->half_life_s, NULL, 0);
    account_add(e, *acct, (double)lead->behaviour - before, t);
    le_fit_facts_t f = {.x = ev->enriched ? &ev->x : NULL,
                        .email_kind = c ? c->email_kind : -1,
                        .company_size = c ? c->company_size : -1,
                        .company_match = c ? c->company_match : -1};
    if (c) {
        f.role = c->role;
        f.job_title = le_str(c->job_title);
        f.industry = le_str(c->industry);
    }
    le_lead_fit(lead, e->rules, &f);

    /* suppression */
    uint32_t sup = c ? c->suppress : 0;
    if (v->flags & V_BOT) sup |= LE_SUP_BOT;
    if (v->flags & V_GPC) sup |= LE_SUP_GPC;
    if (v->flags & V_STAFF) sup |= LE_SUP_STAFF;
    if (h)
        sup |= h->sup;
    else if (ev->enriched)
        sup |= le_suppress_domain(cfg, ev->x.domain);
    if (c && cfg->suppress.freemail && c->email_kind == LE_DOMAIN_FREEMAIL) sup |= LE_SUP_FREEMAIL;
    if (!cfg->suppress.bots) sup &= ~(uint32_t)LE_SUP_BOT;
    if (!cfg->suppress.gpc) sup &= ~(uint32_t)LE_SUP_GPC;
    if (c) c->suppress |= sup & ~(uint32_t)LE_SUP_FREEMAIL;

    /* the MQL decision */
    uint32_t *mql_at = c ? &c->mql_at : &v->mql_at;
    /* a recycled lead is eligible again once the cool-down is over */
    bool eligible = !*mql_at || (c && c->stage == LE_STAGE_RECYCLED &&
                                 (uint64_t)t * 1000 >= (uint64_t)c->recycled_at * 1000 +
                                                           cfg->mql.recycle_cooldown_ms);
    if (eligible && !sup && !cookieless && (c || !cfg->mql.require_contact) &&
        le_mql_criterion(cfg, lead->behaviour, lead->fit)) {
        *mql_at = t ? t : 1;
        if (c) {
            c->mqls++;
            c->stage = LE_STAGE_MQL;
            history_add(c, LE_STAGE_MQL, *mql_at);
        }
        out->mql = true;
        out->cycle = c ? c->mqls : 1;
        e->st.mqls++;
    }
    if (*acct && cfg->mql.account.members) {
        account_t *a = e->accounts[*acct - 1];
        if (account_qualifies(e, a, t)) {
            a->mqa_at = t ? t : 1;
            out->mqa = true;
            uint8_t d[SHA256_DIGEST_LENGTH];
            SHA256((const unsigned char *)a->key, strlen(a->key), d);
            le_hex(out->account, d, 16);
            e->st.mqas++;
        }
    }

    if (c)
        memcpy(out->lead, c->id, 33);
    else
        le_hex(out->lead, v->id, 16);
    out->behaviour = lead->behaviour;
    out->fit = lead->fit;
    out->suppress = sup;
}

/* The company key an event's account would be looked up by (apply's rule), or an empty one. */
static le_str_t event_company_key(const le_event_t *ev) {
    if (ev->enriched && ev->x.company_key.len && ev->x.company_key.len < 130)
        return ev->x.company_key;
    return LE_STR_NULL;
}

static void prefetch_lines(const void *p, size_t n) {
    for (size_t off = 0; off < n; off += 64) __builtin_prefetch((const char *)p + off);
}

/* The account whose key hashes to h, when the slot probed first (the line prefetched) holds
 * one with that hash: where to look, never an answer. */
static const account_t *account_hint(const le_engine_t *e, uint32_t h) {
    if (!e->by_key.cap) return NULL;
    size_t mask = e->by_key.cap - 1;
    for (size_t i = h & mask; e->by_key.slot[i]; i = (i + 1) & mask)
        if ((uint32_t)(e->by_key.slot[i] >> 32) == h)
            return e->accounts[(uint32_t)e->by_key.slot[i] - 1];
    return NULL;
}

void le_engine_hint_init(const le_engine_t *e, const le_event_t *ev, le_engine_hint_t *h) {
    memset(h, 0, sizeof(*h));
    h->role = -1;
    if (ev->type == LE_EV_STATUS || ev->type == LE_EV_ERASE) return; /* no visitor to look at */
    id_bytes(ev->id, h->id);
    h->hash = vhash(h->id);
    le_str_t k = event_company_key(ev);
    h->has_akey = k.len != 0;
    h->akey = k.len ? (uint32_t)le_hash(k.ptr, k.len) : 0;
    if (ev->enriched) h->sup = le_suppress_domain(e->cfg, ev->x.domain);
    le_str_t title = ev->type == LE_EV_FORM ? form_field(ev, f_title) : LE_STR_NULL;
    if (title.len) h->role = (int8_t)le_role_from_title(title);
}

static inline void prefetch(const le_engine_t *e, const le_event_t *ev, int stage,
                            le_engine_hint_t *h);

void le_engine_prefetch(const le_engine_t *e, const le_event_t *ev, int stage,
                        le_engine_hint_t *h) {
    prefetch(e, ev, stage, h);
}

void le_engine_prefetch_batch(const le_engine_t *e, const le_event_t *ev, const bool *ok,
                              le_engine_hint_t *h, size_t n) {
    for (int stage = 0; stage < LE_ENGINE_PREFETCH_STAGES; stage++)
        for (size_t i = 0; i < n; i++)
            if (ok[i]) prefetch(e, &ev[i], stage, &h[i]);
}

static inline void prefetch(const le_engine_t *e, const le_event_t *ev, int stage,
                            le_engine_hint_t *h) {
    if (ev->type == LE_EV_STATUS || ev->type == LE_EV_ERASE) return;
    if (stage == 0) {
        __builtin_prefetch(&e->index[h->hash & e->index_mask]);
        if (e->ring && ev->type == LE_EV_PAGEVIEW && ev->url.len)
            __builtin_prefetch(ring_slot(e, ring_key(h->id)));
        return;
    }
    if (stage == 1) {
        /* the probe apply will make, in the index line that has arrived */
        for (size_t i = h->hash & e->index_mask; e->index[i]; i = (i + 1) & e->index_mask)
            if (SLOT_HASH(e->index[i]) == h->hash) {
                h->entry = SLOT_IDX(e->index[i]);
                __builtin_prefetch(vis(e, h->entry - 1));
                break;
            }
        if (!h->entry && h->has_akey && e->by_key.cap)
            __builtin_prefetch(&e->by_key.slot[h->akey & (e->by_key.cap - 1)]);
        return;
    }
    const visitor_t *v = h->entry ? vis(e, h->entry - 1) : NULL;
    if (v && memcmp(v->id, h->id, 16) != 0) v = NULL;
    const contact_t *c = v && v->contact ? e->contacts[v->contact - 1] : NULL;
    if (stage == 2) {
        if (v && v->lead.parts) __builtin_prefetch(v->lead.parts);
        const account_t *a = NULL;
        if (c)
            prefetch_lines(c, sizeof(*c));
        else if (v && v->account)
            a = e->accounts[v->account - 1];
        else if (h->has_akey) /* a new visitor's account, looked up by its key */
            a = account_hint(e, h->akey);
        if (a) prefetch_lines(a, sizeof(*a) + 32);
        return;
    }
    if (c) { /* stage 3: what the contact's lines lead to */
        if (c->lead.parts) __builtin_prefetch(c->lead.parts);
        if (c->account) prefetch_lines(e->accounts[c->account - 1], sizeof(account_t) + 32);
        if (c->enrich) prefetch_lines(c->enrich, 128);
        if (c->job_title) __builtin_prefetch(c->job_title); /* for the fit rules */
        if (c->industry) __builtin_prefetch(c->industry);
        if (ev->type == LE_EV_PAGEVIEW && c->journey[c->njourney % JOURNEY].url)
            __builtin_prefetch(c->journey[c->njourney % JOURNEY].url);
    }
}

void le_engine_stats(const le_engine_t *e, le_engine_stats_t *out) {
    *out = e->st;
    out->visitors = e->nvisitors;
    out->contacts = e->ncontacts;
    out->accounts = e->naccounts;
}

size_t le_engine_memory(const le_engine_t *e) {
    size_t n = sizeof(*e) + (e->index_mask + 1) * sizeof(uint64_t) +
               e->nchunks * (CHUNK * sizeof(visitor_t) + sizeof(void *)) +
               e->capfree * sizeof(uint32_t);
    for (uint32_t i = 0; i < e->hw; i++) {
        const visitor_t *v = vis(e, i);
        if (v->lead.parts) n += malloc_usable_size(v->lead.parts);
    }
    for (size_t i = 0; i < e->ncontacts; i++) n += sizeof(contact_t) + 256;
    for (size_t i = 0; i < e->naccounts; i++) n += sizeof(account_t) + 64;
    n += (e->by_email.cap + e->by_id.cap + e->by_key.cap) * sizeof(uint64_t);
    return n;
}

/* ---- describing a lead (the CLI, the admin API) ------------------------------------------- */

static json_t *jstr(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *parts_json(le_engine_t *e, const le_lead_t *l) {
    json_t *arr = json_array();
    for (uint16_t i = 0; i < l->nparts; i++) {
        const le_part_t *p = &l->parts[i];
        const le_ruleconf_t *rc = le_rules_get(e->rules, (le_rules_kind_t)p->kind, p->rule);
        json_t *o = json_object();
        json_object_set_new(o, "rule", json_string(rc->name));
        json_object_set_new(o, "kind", json_string(p->kind == LE_RULES_FIT ? "fit" : "behaviour"));
        json_object_set_new(o, "points", json_real(round(p->points * 100) / 100));
        json_object_set_new(o, "times", json_integer(p->times));
        json_array_append_new(arr, o);
    }
    return arr;
}

static void suppress_json(json_t *o, uint32_t sup) {
    json_t *arr = json_array();
    for (uint32_t b = 1; b <= LE_SUP_FREEMAIL; b <<= 1)
        if (sup & b) json_array_append_new(arr, json_string(le_suppress_name(b)));
    json_object_set_new(o, "suppressed", arr);
}

/* The scores of l brought forward to now, on a copy: describing a lead never changes it (the
 * state must stay exactly a replay of the log). */
static void scores_json(le_engine_t *e, json_t *o, const le_lead_t *orig, uint32_t now) {
    le_lead_t copy = *orig, *l = &copy;
    copy.parts = orig->nparts ? le_xmalloc(orig->nparts * sizeof(le_part_t)) : NULL;
    if (orig->nparts) memcpy(copy.parts, orig->parts, orig->nparts * sizeof(le_part_t));
    copy.cap = orig->nparts;
    le_lead_decay(l, now, e->half_life_s);
    json_t *s = json_object();
    json_object_set_new(s, "behaviour", json_real(round(l->behaviour * 100) / 100));
    json_object_set_new(s, "fit", json_integer(l->fit));
    char grade[2] = {le_grade(l->fit, e->cfg->scoring.grades.fit), 0};
    json_object_set_new(s, "grade", json_string(grade));
    json_object_set_new(s, "band",
                        json_integer(le_band(l->behaviour, e->cfg->scoring.grades.behaviour)));
    json_object_set_new(s, "rules", parts_json(e, l));
    json_object_set_new(o, "scores", s);
    le_lead_free(&copy);
}

static json_t *account_json(le_engine_t *e, uint32_t acct) {
    if (!acct) return json_null();
    account_t *a = e->accounts[acct - 1];
    json_t *o = json_object();
    json_object_set_new(o, "key", json_string(a->key));
    json_object_set_new(o, "name", jstr(a->name));
    json_object_set_new(o, "domain", jstr(a->domain));
    json_object_set_new(o, "members", json_integer(a->members));
    json_object_set_new(o, "behaviour", json_real(round(a->behaviour * 100) / 100));
    json_object_set_new(o, "mqa", json_boolean(a->mqa_at != 0));
    return o;
}

static json_t *time_json(uint32_t t) {
    return t ? json_integer(t) : json_null();
}

/* Append o as compact JSON (members in order) to out, and drop o. */
static void append_json(le_buf_t *out, json_t *o) {
    char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    le_buf_append(out, txt, strlen(txt));
    free(txt);
    json_decref(o);
}

static json_t *lifecycle_json(const contact_t *c) {
    json_t *o = json_object();
    json_object_set_new(o, "stage", c->stage ? json_string(le_stage_name(c->stage)) : json_null());
    json_object_set_new(o, "cycle", json_integer(c->mqls));
    json_t *b = json_array();
    static const char *const bant[] = {"budget", "authority", "need", "timing"};
    for (int i = 0; i < 4; i++)
        if (c->bant & (1 << i)) json_array_append_new(b, json_string(bant[i]));
    json_object_set_new(o, "bant", b);
    json_object_set_new(o, "reason", jstr(c->reason));
    json_object_set_new(o, "sla_breached", json_boolean(c->breached && c->breached == c->mqls));
    json_t *h = json_array();
    for (uint32_t i = 0; i < c->nhistory; i++) {
        json_t *t = json_object();
        json_object_set_new(t, "stage", json_string(le_stage_name(c->history[i].stage)));
        json_object_set_new(t, "at", json_integer(c->history[i].at));
        json_object_set_new(t, "cycle", json_integer(c->history[i].cycle));
        json_array_append_new(h, t);
    }
    json_object_set_new(o, "history", h);
    return o;
}

int le_engine_describe(le_engine_t *e, const char *key, uint32_t now, le_buf_t *out) {
    json_t *o = NULL;
    uint32_t ci, vi;
    if (!lookup(e, key, &ci, &vi)) return -ENOENT;
    contact_t *c = ci ? e->contacts[ci - 1] : NULL;
    if (vi) {
        visitor_t *v = vis(e, vi - 1);
        o = json_object();
        json_object_set_new(o, "kind", json_string("visitor"));
        json_object_set_new(o, "id", json_string(key));
        json_object_set_new(o, "first_seen", time_json(v->first_seen));
        json_object_set_new(o, "last_seen", time_json(v->last_seen));
        scores_json(e, o, &v->lead, now);
        json_object_set_new(o, "contact", json_null());
        json_object_set_new(o, "account", account_json(e, v->account));
        json_object_set_new(o, "mql", json_boolean(v->mql_at != 0));
        json_object_set_new(o, "mql_at", time_json(v->mql_at));
        uint32_t sup = 0;
        if (v->flags & V_BOT) sup |= LE_SUP_BOT;
        if (v->flags & V_GPC) sup |= LE_SUP_GPC;
        if (v->flags & V_STAFF) sup |= LE_SUP_STAFF;
        suppress_json(o, sup);
    }
    if (c) {
        o = json_object();
        json_object_set_new(o, "kind", json_string("contact"));
        json_object_set_new(o, "id", json_string(c->id));
        json_object_set_new(o, "email", json_string(c->email));
        json_object_set_new(o, "first_seen", time_json(c->first_seen));
        json_object_set_new(o, "last_seen", time_json(c->last_seen));
        scores_json(e, o, &c->lead, now);
        json_t *f = json_object();
        json_object_set_new(f, "first_name", jstr(c->first_name));
        json_object_set_new(f, "last_name", jstr(c->last_name));
        json_object_set_new(f, "job_title", jstr(c->job_title));
        json_object_set_new(f, "role", json_string(le_role_name((le_role_t)c->role)));
        json_object_set_new(f, "email_domain",
                            json_string(le_domain_kind_name((le_domain_kind_t)c->email_kind)));
        json_object_set_new(f, "phone", jstr(c->phone));
        json_object_set_new(f, "postal_code", jstr(c->postal));
        json_object_set_new(f, "country", jstr(c->country));
        json_object_set_new(f, "company", jstr(c->company));
        json_object_set_new(f, "company_key", jstr(c->company_key));
        json_object_set_new(f, "company_size",
                            c->company_size >= 0 ? json_integer(c->company_size) : json_null());
        json_object_set_new(f, "industry", jstr(c->industry));
        json_t *q = json_array();
        for (uint32_t b = 0; b < LE_ARRAY_SIZE(quality_names); b++)
            if (c->quality & (1u << b)) json_array_append_new(q, json_string(quality_names[b]));
        json_object_set_new(f, "quality", q);
        json_object_set_new(o, "contact", f);
        json_t *ids = json_array();
        for (uint32_t i = 0; i < c->nvids; i++) {
            char hex[33];
            le_hex(hex, c->vids[i], 16);
            json_t *l = json_object();
            json_object_set_new(l, "visitor", json_string(hex));
            json_object_set_new(l, "linked_at", json_integer(c->vat[i]));
            json_array_append_new(ids, l);
        }
        json_object_set_new(o, "visitors", ids);
        json_object_set_new(o, "account", account_json(e, c->account));
        json_object_set_new(o, "mql", json_boolean(c->mql_at != 0));
        json_object_set_new(o, "mql_at", time_json(c->mql_at));
        suppress_json(o, c->suppress);
        static const char *const enames[ENRICH] = {
            "company", "company_key", "domain",  "country", "region",       "continent",
            "city",    "network",     "browser", "os",      "device_class", "language"};
        char **enr[ENRICH] = CONTACT_ENRICH(c);
        json_t *x = json_object();
        for (int i = 0; i < ENRICH; i++) json_object_set_new(x, enames[i], jstr(*enr[i]));
        json_object_set_new(o, "enrichment", x);
        json_t *j = json_array();
        uint32_t nj = c->njourney < JOURNEY ? c->njourney : JOURNEY;
        for (uint32_t k = c->njourney - nj; k < c->njourney; k++) {
            const step_t *st = &c->journey[k % JOURNEY];
            json_t *so = json_object();
            json_object_set_new(so, "url", jstr(st->url));
            json_object_set_new(so, "at", json_integer(st->at));
            json_array_append_new(j, so);
        }
        json_object_set_new(o, "journey", j);
        json_object_set_new(o, "consent", json_boolean(c->consent));
        json_object_set_new(o, "lifecycle", lifecycle_json(c));
    }
    if (!o) return -ENOENT;
    append_json(out, o);
    return 0;
}

/* ---- lifecycle queries -------------------------------------------------------------------- */

int le_engine_resolve(le_engine_t *e, const char *key, char id[33], bool *is_contact) {
    uint32_t ci, vi;
    if (!lookup(e, key, &ci, &vi)) return -ENOENT;
    *is_contact = ci != 0;
    if (ci)
        memcpy(id, e->contacts[ci - 1]->id, 33);
    else
        le_hex(id, vis(e, vi - 1)->id, 16);
    return 0;
}

int le_engine_stage(le_engine_t *e, const char *id, le_stage_t *stage, uint32_t *cycle,
                    uint32_t *mql_at) {
    uint32_t ci = contact_by_id(e, id);
    if (ci) {
        const contact_t *c = e->contacts[ci - 1];
        *stage = (le_stage_t)c->stage;
        *cycle = c->mqls;
        *mql_at = c->mql_at;
        return 0;
    }
    if (strlen(id) != 32) return -ENOENT;
    uint8_t vid[16];
    id_bytes(id, vid);
    uint32_t s = vfind(e, vid);
    if (!s) return -ENOENT;
    const visitor_t *v = vis(e, s - 1);
    *stage = v->mql_at ? LE_STAGE_MQL : LE_STAGE_NONE;
    *cycle = v->mql_at ? 1 : 0;
    *mql_at = v->mql_at;
    return 0;
}

static int by_mql_desc(const void *a, const void *b) {
    const contact_t *x = *(contact_t *const *)a, *y = *(contact_t *const *)b;
    return x->mql_at < y->mql_at ? 1 : x->mql_at > y->mql_at ? -1 : strcmp(x->id, y->id);
}

void le_engine_leads(le_engine_t *e, le_stage_t stage, size_t limit, uint32_t now, le_buf_t *out) {
    contact_t **sel = le_xmalloc((e->ncontacts ? e->ncontacts : 1) * sizeof(*sel));
    size_t n = 0;
    for (size_t i = 0; i < e->ncontacts; i++) {
        contact_t *c = e->contacts[i];
        if (c->mql_at && (stage == LE_STAGE_NONE || c->stage == stage)) sel[n++] = c;
    }
    qsort(sel, n, sizeof(*sel), by_mql_desc);
    json_t *arr = json_array();
    for (size_t i = 0; i < n && i < limit; i++) {
        contact_t *c = sel[i];
        le_lead_t copy = c->lead;
        copy.parts = NULL;
        copy.nparts = copy.cap = 0;
        le_lead_decay(&copy, now, e->half_life_s);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(c->id));
        json_object_set_new(o, "email", json_string(c->email));
        json_object_set_new(o, "stage", json_string(le_stage_name(c->stage)));
        json_object_set_new(o, "cycle", json_integer(c->mqls));
        json_object_set_new(o, "mql_at", json_integer(c->mql_at));
        json_object_set_new(o, "behaviour", json_real(round(copy.behaviour * 100) / 100));
        json_object_set_new(o, "fit", json_integer(copy.fit));
        char grade[2] = {le_grade(copy.fit, e->cfg->scoring.grades.fit), 0};
        json_object_set_new(o, "grade", json_string(grade));
        json_object_set_new(o, "sla_breached", json_boolean(c->breached && c->breached == c->mqls));
        json_array_append_new(arr, o);
    }
    free(sel);
    append_json(out, arr);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of n sorted values, nearest rank. */
static uint32_t percentile(const uint32_t *v, size_t n, unsigned p) {
    size_t rank = (n * p + 99) / 100;
    return v[rank ? rank - 1 : 0];
}

void le_engine_funnel(le_engine_t *e, uint32_t from, uint32_t to, le_buf_t *out) {
    /* the funnel's stages in order; won, lost, recycled, rejected are outcomes */
    static const le_stage_t order[] = {LE_STAGE_MQL, LE_STAGE_ACCEPTED, LE_STAGE_TQL,
                                       LE_STAGE_SAL, LE_STAGE_SQL,      LE_STAGE_WON};
    uint64_t moves[LE_STAGE_COUNT] = {0}, cohort[LE_STAGE_COUNT] = {0};
    uint32_t *waits = NULL;
    size_t nwaits = 0, capwaits = 0;
    for (size_t i = 0; i < e->ncontacts; i++) {
        const contact_t *c = e->contacts[i];
        for (uint32_t k = 0; k < c->nhistory; k++) {
            const lc_t *h = &c->history[k];
            if (h->at >= from && h->at < to) moves[h->stage]++;
            if (h->stage != LE_STAGE_MQL || h->at < from || h->at >= to) continue;
            /* an MQL of the window: how far did its cycle get? */
            bool reached[LE_STAGE_COUNT] = {false};
            reached[LE_STAGE_MQL] = true;
            uint32_t accepted_at = 0;
            for (uint32_t m = k + 1; m < c->nhistory && c->history[m].cycle == h->cycle; m++) {
                const lc_t *n = &c->history[m];
                reached[n->stage] = true;
                if (n->stage == LE_STAGE_ACCEPTED && !accepted_at) accepted_at = n->at;
            }
            /* a later stage implies the earlier ones of the funnel (a CRM may skip some) */
            for (int s = (int)LE_ARRAY_SIZE(order) - 1; s > 0; s--)
                if (reached[order[s]]) reached[order[s - 1]] = true;
            for (int s = 0; s < LE_STAGE_COUNT; s++) cohort[s] += reached[s];
            if (accepted_at) {
                if (nwaits == capwaits) {
                    capwaits = capwaits ? capwaits * 2 : 64;
                    waits = le_xrealloc(waits, capwaits * sizeof(*waits));
                }
                waits[nwaits++] = accepted_at >= h->at ? accepted_at - h->at : 0;
            }
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "from", json_integer(from));
    json_object_set_new(o, "to", json_integer(to));
    json_t *mv = json_object(), *co = json_object(), *conv = json_object();
    for (int s = LE_STAGE_MQL; s < LE_STAGE_COUNT; s++) {
        json_object_set_new(mv, le_stage_name((le_stage_t)s), json_integer((json_int_t)moves[s]));
        json_object_set_new(co, le_stage_name((le_stage_t)s), json_integer((json_int_t)cohort[s]));
    }
    for (size_t s = 0; s + 1 < LE_ARRAY_SIZE(order); s++) {
        char name[40];
        snprintf(name, sizeof(name), "%s_to_%s", le_stage_name(order[s]),
                 le_stage_name(order[s + 1]));
        uint64_t a = cohort[order[s]], b = cohort[order[s + 1]];
        json_object_set_new(conv, name,
                            a ? json_real(round((double)b / a * 10000) / 10000) : json_null());
    }
    json_object_set_new(o, "stages", mv);
    json_object_set_new(o, "cohort", co);
    json_object_set_new(o, "conversion", conv);
    json_t *tta = json_object();
    json_object_set_new(tta, "n", json_integer((json_int_t)nwaits));
    if (nwaits) {
        qsort(waits, nwaits, sizeof(*waits), cmp_u32);
        json_object_set_new(tta, "median_s", json_integer(percentile(waits, nwaits, 50)));
        json_object_set_new(tta, "p90_s", json_integer(percentile(waits, nwaits, 90)));
    } else {
        json_object_set_new(tta, "median_s", json_null());
        json_object_set_new(tta, "p90_s", json_null());
    }
    json_object_set_new(o, "time_to_accept", tta);
    json_object_set_new(o, "sla_breaches", json_integer((json_int_t)cohort[LE_STAGE_BREACH]));
    free(waits);
    append_json(out, o);
}
