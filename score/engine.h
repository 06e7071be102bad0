/*
 * engine.h: every lead's state, and what one event does to it.
 *
 * The engine holds the visitor table (one compact entry per visitor id, bounded by
 * limits.max_visitors), the contacts (one per normalised e-mail address, never evicted) and
 * the accounts (one per company key). Events are applied in the order of the event log, one
 * at a time, by one thread: the state is a pure function of the log (and of the snapshot it
 * started from), so replaying the log after a crash gives exactly the state the live run had.
 * Nothing here reads the clock; times are the events' receive times.
 *
 * Applying an event:
 *   1. the visitor is found or created (when the table is full, the least recently seen of a
 *      sample of anonymous visitors makes room; visitors linked to a contact are never
 *      dropped);
 *   2. a form with a valid e-mail address links the visitor to that address's contact,
 *      creating it, and merges the visitor's anonymous scores into the contact's (a `once`
 *      rule counts once); a later visitor with the same address merges the same way. Form
 *      fields (name, job title, phone, postal code, company, size, industry) are normalised
 *      and checked; problems are kept as quality flags;
 *   3. behaviour rules add points to the lead (the contact when there is one, else the
 *      visitor), fit rules are evaluated again, the account (by the IP company when the
 *      network names one, else a business e-mail domain) adds up its members' behaviour;
 *   4. suppression reasons are collected (bot, GPC, staff, competitor, customer, partner,
 *      freemail), and a lead over the MQL criterion that is not suppressed (and has a contact
 *      when mql.require_contact) becomes an MQL, once.
 *
 * Pure: no I/O besides the caller's buffers, no logging, no clock.
 */
#ifndef LE_ENGINE_H
#define LE_ENGINE_H

#include "buf.h"
#include "config.h"
#include "contact.h"
#include "event.h"
#include "lead.h"
#include "rules.h"

typedef struct le_engine_s le_engine_t;

/* A lead's stage in the funnel: MQL (leadedge's decision), then the CRM's updates. BREACH is
 * a history mark: the SLA to accept the MQL was missed. */
typedef enum {
    LE_STAGE_NONE = 0,
    LE_STAGE_MQL,
    LE_STAGE_ACCEPTED, /* TAL: sales took the lead */
    LE_STAGE_TQL,      /* qualified by tele-sales, with BANT flags */
    LE_STAGE_SAL,
    LE_STAGE_SQL,
    LE_STAGE_WON,
    LE_STAGE_LOST,
    LE_STAGE_RECYCLED, /* back to marketing: may become an MQL again after a cool-down */
    LE_STAGE_REJECTED, /* with a reason */
    LE_STAGE_BREACH,
    LE_STAGE_COUNT
} le_stage_t;

enum { LE_BANT_BUDGET = 1, LE_BANT_AUTHORITY = 2, LE_BANT_NEED = 4, LE_BANT_TIMING = 8 };

/* "mql", "accepted", "tql", "sal", "sql", "won", "lost", "recycled", "rejected", "breach". */
const char *le_stage_name(le_stage_t s);
/* The stage a CRM may report ("accepted" or "tal", "tql", ..., "rejected"; case-insensitive),
 * or LE_STAGE_NONE. */
le_stage_t le_stage_parse(const char *s, size_t len);
/* "budget,need" -> bits; -1 on an unknown name. */
int le_bant_parse(const char *s, size_t len);

/*
 * A new, empty engine for cfg (scoring, mql, suppress, limits) with its compiled rules and
 * domain lists; it holds a reference to cfg and takes ownership of rules, freemail and
 * disposable.
 */
le_engine_t *le_engine_new(const le_config_t *cfg, le_rules_t *rules, le_domains_t *freemail,
                           le_domains_t *disposable);
void le_engine_free(le_engine_t *e);

/* What one event did. */
typedef struct {
    bool dropped;     /* the table was full of contacts' visitors: the event was not scored */
    bool new_visitor; /* its visitor was seen for the first time (or again after eviction) */
    bool evicted;     /* an anonymous visitor was dropped to make room */
    bool linked;      /* the visitor was linked to a contact by this event */
    bool merged;      /* ... and brought anonymous scores into a contact that had others */
    bool bad_email;   /* a form carried an e-mail field that is not a valid address */
    uint32_t nfired;  /* behaviour rules that counted */
    bool mql, mqa;    /* the lead (account) became an MQL (MQA) with this event */
    uint32_t cycle;   /* with mql: the how-manieth MQL of the lead (1 the first) */
    char account[33]; /* with mqa: the account's id (hex of the SHA-256 of its key) */
    char lead[33];    /* the lead's id: the contact's, else the visitor's */
    float behaviour;  /* the lead's scores after the event */
    int32_t fit;
    uint32_t suppress; /* LE_SUP_* bits of the lead */
    /* status and erase events */
    bool unknown_lead; /* the event names no contact (status) or nobody (erase) */
    bool status;       /* a stage update was taken */
    bool breach;       /* an SLA breach was recorded (once per cycle) */
    bool erased;       /* a person was erased: lead (contact or visitor id) and the ids of the
                          visitors removed with it (valid until the next apply) */
    const uint8_t (*erased_vids)[16];
    uint32_t nerased_vids;
} le_apply_t;

/* Apply one event (decoded from the log). */
void le_engine_apply(le_engine_t *e, const le_event_t *ev, le_apply_t *out);

/*
 * Hints before applying events, so that the cache misses of several events overlap instead of
 * queueing. For each event of a batch: le_engine_hint_init (fills h with what depends on the
 * event alone: the visitor id as bytes, hashes, what its domain and job title say), then
 * le_engine_prefetch stage 0, 1, 2 and 3
 * (each once the previous one's memory may have arrived), then le_engine_apply_hinted. Stage 0
 * prefetches the event's slot in the visitor index and its visitor's slot in the journey
 * ring's index, stage 1 the visitor entry (or, for a new visitor, the account's slot), stage 2
 * what the entry leads to (rule parts, contact, account), stage 3 what a contact leads to (its
 * rule parts, account, enrichment strings, job title, journey step). Prefetching changes
 * nothing in the engine; events applied between the stages of another (the batch's earlier
 * ones) only make its hints less useful, never wrong.
 */
typedef struct {
    uint8_t id[16]; /* the event's visitor id as bytes */
    uint32_t hash;  /* its hash in the visitor index */
    uint32_t entry; /* stage 1: the entry whose index slot matched, index + 1; 0 none */
    uint32_t akey;  /* the hash of the event's company key (an account's) */
    uint32_t sup;   /* the LE_SUP_* bits the event's IP domain gives */
    bool has_akey;  /* ... when it has one */
    int8_t role;    /* a form's job title's le_role_t, -1 none */
} le_engine_hint_t;

#define LE_ENGINE_PREFETCH_STAGES 4
/* Reads nothing of e but its configuration, which never changes: any thread may call it while
 * another applies. */
void le_engine_hint_init(const le_engine_t *e, const le_event_t *ev, le_engine_hint_t *h);
void le_engine_prefetch(const le_engine_t *e, const le_event_t *ev, int stage, le_engine_hint_t *h);
/* Every stage for ev[0..n) (those with ok), each stage for all of them before the next: the
 * replay loop's way, one call for a batch instead of one per event and stage. */
void le_engine_prefetch_batch(const le_engine_t *e, const le_event_t *ev, const bool *ok,
                              le_engine_hint_t *h, size_t n);

/* le_engine_apply for an event le_engine_hint_init filled h for (what h holds is not worked
 * out again). */
void le_engine_apply_hinted(le_engine_t *e, const le_event_t *ev, const le_engine_hint_t *h,
                            le_apply_t *out);

typedef struct {
    uint64_t visitors, contacts, accounts;
    uint64_t events, dropped, evicted, merges, mqls, mqas, bad_emails;
    uint64_t status_updates, sla_breaches, erasures;
} le_engine_stats_t;

void le_engine_stats(const le_engine_t *e, le_engine_stats_t *out);

/*
 * Describe the visitor with id (32 hex digits) or the contact with e-mail address or id, as
 * one JSON object appended to out: scores (behaviour decayed to now, Unix seconds), grade,
 * band, the rules that made them with their points, identity links, account, MQL state and
 * suppression reasons. Returns 0, or -ENOENT when there is no such visitor or contact.
 */
int le_engine_describe(le_engine_t *e, const char *key, uint32_t now, le_buf_t *out);

/*
 * The current stage and MQL cycle of the lead with id (a contact's or a visitor's id). 0, or
 * -ENOENT. A visitor lead (mql.require_contact: false) is at LE_STAGE_MQL once it is one.
 */
int le_engine_stage(le_engine_t *e, const char *id, le_stage_t *stage, uint32_t *cycle,
                    uint32_t *mql_at);

/* The id of the contact with that e-mail address or id, or of the visitor (its contact's when
 * linked), into id (33 bytes). 0 or -ENOENT. */
int le_engine_resolve(le_engine_t *e, const char *key, char id[33], bool *is_contact);

/*
 * The MQL leads as a JSON array appended to out, newest MQL first, at most limit: id, email,
 * stage, mql_at, cycle, behaviour, fit, grade. stage filters by the current stage
 * (LE_STAGE_NONE: all).
 */
void le_engine_leads(le_engine_t *e, le_stage_t stage, size_t limit, uint32_t now, le_buf_t *out);

/*
 * The funnel for MQLs decided in [from, to) (Unix seconds) as one JSON object: transitions per
 * stage in the window, the cohort of those MQLs and how far each got, conversion between
 * successive stages, median and p90 time from MQL to accepted, SLA breaches.
 */
void le_engine_funnel(le_engine_t *e, uint32_t from, uint32_t to, le_buf_t *out);

/* Every visitor's, contact's and account's state, as one msgpack document appended to out
 * (the snapshot's payload). */
void le_engine_save(const le_engine_t *e, le_buf_t *out);

/* Replace e's state with a saved one. 0, or LE_ECORRUPT (e is then empty) with a reason. */
int le_engine_load(le_engine_t *e, const void *data, size_t len, const char **why);

/* Bytes of memory the state uses (the table, the index, rule parts, contacts, accounts). */
size_t le_engine_memory(const le_engine_t *e);

#endif
