/*
 * engine_int.h: what engine.c (applying events) shares with snapshot.c (saving and loading
 * the state) and nobody else.
 */
#ifndef LE_ENGINE_INT_H
#define LE_ENGINE_INT_H

#include "engine.h"

#define CHUNK_BITS 16
#define CHUNK (1u << CHUNK_BITS)
#define EVICT_SAMPLES 16
#define JOURNEY 20      /* page views a contact remembers */
#define HISTORY 64      /* lifecycle transitions a contact remembers (the latest) */
#define RING (1u << 18) /* anonymous page views remembered site-wide, for a journey at linking */
#define SNAP_VERSION 2

enum {
    V_USED = 1u << 0,
    V_BOT = 1u << 1,
    V_GPC = 1u << 2,
    V_STAFF = 1u << 3,
};

/* Contact quality flags. */
enum {
    Q_BAD_PHONE = 1u << 0,
    Q_BAD_POSTAL = 1u << 1,
    Q_COMPANY_MISMATCH = 1u << 2,
    Q_FREEMAIL = 1u << 3,
    Q_DISPOSABLE = 1u << 4,
};

typedef struct {
    uint8_t id[16];
    uint32_t first_seen, last_seen;
    uint32_t contact; /* index + 1; 0 = anonymous */
    uint32_t account; /* index + 1; 0 = none */
    uint32_t flags;   /* V_* */
    uint32_t mql_at;  /* an anonymous lead's MQL time (mql.require_contact: false) */
    le_lead_t lead;   /* an anonymous visitor's scores; empty once linked to a contact */
} visitor_t;

_Static_assert(sizeof(visitor_t) == 64, "a visitor entry is one cache line");

typedef struct {
    char *url;
    uint32_t at;
} step_t;

/* One lifecycle transition: the stage reached, when, in which MQL cycle. */
typedef struct {
    uint32_t at;
    uint16_t cycle;
    uint8_t stage; /* le_stage_t */
    uint8_t pad;
} lc_t;

typedef struct {
    char id[33];
    char *email;
    char *first_name, *last_name, *job_title, *phone, *postal, *country, *company, *company_key,
        *industry;
    int64_t company_size; /* -1 unknown */
    int role;             /* le_role_t */
    int email_kind;       /* le_domain_kind_t */
    int company_match;    /* -1 unknown, 0, 1 */
    uint32_t quality;     /* Q_* */
    uint32_t first_seen, last_seen;
    uint32_t suppress; /* LE_SUP_* */
    uint32_t account;  /* index + 1 */
    uint32_t mql_at, mqls;
    le_lead_t lead;
    /* identity history: the visitors linked, with when */
    uint8_t (*vids)[16];
    uint32_t *vat;
    uint32_t nvids;
    /* the latest enrichment, for the payload and the CLI (ENRICH strings from ip_company, NULL
     * when unset), all in the one allocation enrich, so that seeing whether an event changes
     * them reads a line or two, not a dozen strings */
    char *ip_company, *ip_company_key, *ip_domain, *ip_country, *region, *continent, *city,
        *network, *browser, *os, *device_class, *language;
    char *enrich;
    bool consent; /* the latest event carried tracking consent */
    bool listed;  /* known to be among its account's contacts (account_t.contacts) */
    /* lifecycle: the CRM's stage updates */
    uint8_t stage;        /* le_stage_t of the current cycle */
    uint8_t bant;         /* LE_BANT_* given with tql */
    uint32_t recycled_at; /* when the lead was last recycled */
    uint32_t breached;    /* the cycle whose SLA was breached; 0 none */
    char *reason;         /* why rejected or lost */
    lc_t *history;        /* transitions, oldest first, at most HISTORY */
    uint32_t nhistory;
    step_t journey[JOURNEY];
    uint32_t njourney; /* steps ever; journey[(njourney - 1) % JOURNEY] is the latest */
} contact_t;

typedef struct {
    char *name, *domain;
    float behaviour;
    uint32_t btime;
    uint32_t members;
    uint32_t *contacts; /* indices of member contacts */
    uint32_t ncontacts;
    uint32_t mqa_at;
    char key[]; /* right after, so that a lookup compares it in the lines it reads anyway */
} account_t;

/* One anonymous page view in the ring (32 bytes, two to a cache line). */
struct ring_step {
    uint64_t seq; /* 1-based; 0 unused or erased */
    uint64_t key; /* the visitor's (ring_key) */
    uint64_t off; /* where its URL is in the ring's text: a 2-byte length, then the bytes; kept
                      when the step is erased, so offsets stay in seq order */
    uint32_t at;
    uint32_t prev; /* ring position + 1 of the visitor's previous step; 0 none */
};

/* A visitor's latest step, found by its key (direct-mapped: a later visitor with the same slot
 * takes it over). The step is at ring position (seq - 1) % RING and still there while
 * seq + RING > ring_seq, so telling whether it is live needs no look at the step itself. */
struct ring_last {
    uint64_t key;
    uint64_t seq; /* 0 none */
};

/* An open-addressing set of indices + 1, keyed by a string the owner knows (each slot: the
 * index + 1, and the key's hash in the high 32 bits). */
typedef struct {
    uint64_t *slot;
    size_t cap, n; /* cap a power of two */
} smap_t;

struct le_engine_s {
    le_config_t *cfg;
    le_rules_t *rules;
    le_domains_t *freemail, *disposable;
    double half_life_s;

    visitor_t **chunks;
    size_t nchunks;
    uint32_t hw; /* entries ever used (high water) */
    uint32_t nvisitors;
    uint32_t *freelist;
    size_t nfree, capfree;
    uint64_t *index; /* visitor index + 1 in the low 32 bits, the id's hash in the high ones */
    size_t index_mask;
    uint64_t rng;

    contact_t **contacts;
    size_t ncontacts, capcontacts;
    smap_t by_email, by_id; /* contacts by address and by id */
    account_t **accounts;
    size_t naccounts, capaccounts;
    smap_t by_key;

    le_engine_stats_t st;
    /* the latest page views of anonymous visitors (a ring; each step links to the visitor's
     * previous one), so that a contact's journey starts before its first form */
    struct ring_step *ring;      /* RING steps, NULL until the first */
    uint64_t ring_seq;           /* steps ever written; the next goes to ring_seq % RING */
    struct ring_last *ring_last; /* per visitor (hashed, direct-mapped): its latest step */
    /* the steps' URLs, one after the other in a circular buffer addressed by 64-bit offsets
     * (text_end: bytes ever used); it grows when a URL would overwrite one still in the ring,
     * so a page view costs a copy instead of a malloc and a free */
    char *ring_text;
    uint64_t ring_text_cap, ring_text_end;
    uint8_t (*erased)[16]; /* the visitor ids the last erase removed (le_apply_t) */
    uint32_t nerased, caperased;
};

/* The enrichment strings of a contact, in snapshot order. */
#define ENRICH 12
#define CONTACT_ENRICH(c)                                                                          \
    {                                                                                              \
        &(c)->ip_company, &(c)->ip_company_key, &(c)->ip_domain, &(c)->ip_country, &(c)->region,   \
            &(c)->continent, &(c)->city, &(c)->network, &(c)->browser, &(c)->os,                   \
            &(c)->device_class, &(c)->language                                                     \
    }

static inline visitor_t *le__vis(const le_engine_t *e, uint32_t i) {
    return &e->chunks[i >> CHUNK_BITS][i & (CHUNK - 1)];
}

/* Shared by engine.c and snapshot.c: the indexes, and emptying the engine. */
void le__engine_clear(le_engine_t *e);
void le__engine_index_visitor(le_engine_t *e, uint32_t idx);
void le__engine_index_contact(le_engine_t *e, uint32_t idx);
void le__engine_index_account(le_engine_t *e, uint32_t idx);
/* The journey ring (engine.c), for the snapshot: a step's URL; allocating the ring; placing
 * the loaded steps' URLs (urls[pos], lens[pos] for every position holding a step, in any
 * order; the strings are the caller's). */
le_str_t le__ring_url(const le_engine_t *e, const struct ring_step *st);
void le__ring_alloc(le_engine_t *e);
void le__ring_load_text(le_engine_t *e, char *const *urls, const uint16_t *lens);
/* Set the enrichment strings of c to val (ptr NULL: unset) in a new block; the old one is
 * freed after the copies, so val may point into it. */
void le__contact_set_enrich(contact_t *c, const le_str_t val[ENRICH]);
/* A new account with a copy of key (len bytes), everything else empty. */
account_t *le__account_new(const char *key, size_t len);
/* A visitor entry at the next free place (the table grows by chunks); returns its index. */
uint32_t le__engine_new_entry(le_engine_t *e);

#endif
