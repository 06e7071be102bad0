/*
 * rules.h: the scoring rules of the config, compiled for matching.
 *
 * scoring.behaviour.rules look at one event (what a lead does); scoring.fit.rules at who the
 * lead is: the enrichment of its latest event and the contact fields forms gave. A rule
 * matches when every condition of its `when` does; a condition matches when the lead's value
 * matches any of the condition's values. Values are exact (ASCII case-insensitive), globs
 * (fnmatch(3), case-insensitive, '*' also crosses '/'), PCRE2 patterns (JIT-compiled once) or
 * numeric ranges. docs/scoring.md is the user's description.
 *
 * Matching is built for the scorer's hot path, where every event meets every behaviour rule:
 * the conditions of a rule are tried cheapest first, an event's fields are prepared once for
 * all rules (le_rules_event_t), conditions several rules share are decided once, and the
 * URL globs of all rules that are runs between '*' are searched for in one pass. None of that
 * changes an answer.
 *
 * Pure: no I/O, no logging. A compiled set is immutable except for the regex match data it
 * keeps, so one set is used by one thread at a time.
 */
#ifndef LE_RULES_H
#define LE_RULES_H

#include "buf.h"
#include "config.h"
#include "event.h"
#include "textmatch.h"

typedef struct le_rules_s le_rules_t;

/*
 * Compile cfg's scoring rules. 0 and *out, or LE_EINVAL with one "file:line:col: path: message"
 * line per problem appended to err (a regex that does not compile); *out is then NULL.
 */
int le_rules_build(const le_config_t *cfg, le_rules_t **out, le_buf_t *err);

/* NULL is a no-op. */
void le_rules_free(le_rules_t *r);

typedef enum { LE_RULES_BEHAVIOUR = 0, LE_RULES_FIT = 1 } le_rules_kind_t;

/* The rules of a kind, in config order: count, and each one's settings. */
size_t le_rules_count(const le_rules_t *r, le_rules_kind_t kind);
const le_ruleconf_t *le_rules_get(const le_rules_t *r, le_rules_kind_t kind, size_t i);

/* Does behaviour rule i match ev? (Each call prepares ev anew: to ask about several rules,
 * le_rules_event_t.) */
bool le_rules_behaviour_match(le_rules_t *r, size_t i, const le_event_t *ev);

/*
 * One event as the behaviour rules see it, prepared once for all of them rather than once per
 * condition: its own strings are set up at init, each with room for a lower-case copy that
 * the first glob on it makes; the URL's query is scanned once, when a rule first asks for a
 * utm_* value, for all five, and each is decoded at most once; a condition several rules
 * share (event: pageview) is decided once. The members are rules.c's; on the stack it costs
 * a few dozen stores (the space is not cleared). Between le_rules_event_init and
 * le_rules_event_done, ev and r must not change.
 */
#define LE_RULES_EVENT_FIELDS 10 /* event, url, ref, title, form, the five utm_* */
#define LE_RULES_EVENT_MEMO 64   /* conditions shared by several rules decided once */
#define LE_RULES_EVENT_SPACE 4096
typedef struct le_rules_block_s le_rules_block_t;
typedef struct {
    const le_event_t *ev;
    uint32_t ready;                           /* fields set up, a bit each */
    uint32_t runs_done;                       /* fields whose runs are decided, a bit each */
    uint64_t runs_hit[LE_RULES_EVENT_FIELDS]; /* their answers */
    bool utm_scanned;                         /* the URL's query has been looked at for utm_* */
    bool utm_plain;  /* ... and has no '%' or '+': its values need no decoding */
    le_str_t utm[5]; /* the raw (encoded) utm_* values in the URL; ptr NULL when absent */
    le_textmatch_subject_t f[LE_RULES_EVENT_FIELDS];
    uint8_t memo[LE_RULES_EVENT_MEMO]; /* 0 not decided yet, 1 false, 2 true */
    le_rules_block_t *blocks;          /* what did not fit in space */
    size_t used;                       /* bytes of space taken */
    char space[LE_RULES_EVENT_SPACE];  /* lower-case copies and decoded utm_* values */
} le_rules_event_t;

void le_rules_event_init(le_rules_event_t *c, const le_rules_t *r, const le_event_t *ev);
/* Does behaviour rule i match c's event? The same answer as le_rules_behaviour_match. */
bool le_rules_behaviour_match_event(le_rules_t *r, size_t i, le_rules_event_t *c);
/* The first behaviour rule from i on that c's event matches; le_rules_count when none. (One
 * call per rule that matches rather than per rule.) */
size_t le_rules_behaviour_next(le_rules_t *r, size_t i, le_rules_event_t *c);
void le_rules_event_done(le_rules_event_t *c);

/* Who a lead is, as fit rules see it. Unknown values never match a condition on them. */
typedef struct {
    const le_enrichment_t *x; /* the latest event's enrichment; NULL when none */
    int role;                 /* index in "unknown", "decider", "buyer", "influencer", "user",
                                 "gatekeeper"; 0 unknown */
    int email_kind;           /* -1 no e-mail, else 0 business, 1 freemail, 2 disposable */
    le_str_t job_title, industry;
    int64_t company_size; /* -1 unknown */
    int company_match;    /* -1 unknown, 0 the form's company differs from the IP's, 1 same */
} le_fit_facts_t;

/* Does fit rule i match f? */
bool le_rules_fit_match(le_rules_t *r, size_t i, const le_fit_facts_t *f);
/* The first fit rule from i on that f matches; le_rules_count when none. */
size_t le_rules_fit_next(le_rules_t *r, size_t i, const le_fit_facts_t *f);

/* Do a and b score alike: the same scoring, mql, suppress, identity and limits settings? (A
 * running server applies a change only at a restart: its scores are a replay of the log
 * under one set of rules.) */
bool le_scoring_config_equal(const le_config_t *a, const le_config_t *b);

#endif
