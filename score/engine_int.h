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
#define JOURNEY 20 /* page views a contact remembers */
#define SNAP_VERSION 1

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
    /* the latest enrichment, for the payload and the CLI */
    char *ip_company, *ip_country, *city, *network, *browser, *os, *language;
    step_t journey[JOURNEY];
    uint32_t njourney; /* steps ever; journey[(njourney - 1) % JOURNEY] is the latest */
} contact_t;

typedef struct {
    char *key, *name, *domain;
    float behaviour;
    uint32_t btime;
    uint32_t members;
    uint32_t *contacts; /* indices of member contacts */
    uint32_t ncontacts;
    uint32_t mqa_at;
} account_t;

/* An open-addressing set of indices + 1, keyed by a string the owner knows. */
typedef struct {
    uint32_t *slot;
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
    uint32_t *index; /* visitor index + 1 */
    size_t index_mask;
    uint64_t rng;

    contact_t **contacts;
    size_t ncontacts, capcontacts;
    smap_t by_email, by_id; /* contacts by address and by id */
    account_t **accounts;
    size_t naccounts, capaccounts;
    smap_t by_key;

    le_engine_stats_t st;
};

static inline visitor_t *le__vis(const le_engine_t *e, uint32_t i) {
    return &e->chunks[i >> CHUNK_BITS][i & (CHUNK - 1)];
}

/* Shared by engine.c and snapshot.c: the indexes, and emptying the engine. */
void le__engine_clear(le_engine_t *e);
void le__engine_index_visitor(le_engine_t *e, uint32_t idx);
void le__engine_index_contact(le_engine_t *e, uint32_t idx);
void le__engine_index_account(le_engine_t *e, uint32_t idx);
/* A visitor entry at the next free place (the table grows by chunks); returns its index. */
uint32_t le__engine_new_entry(le_engine_t *e);

#endif
