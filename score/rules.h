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
 * Pure: no I/O, no logging. A compiled set is immutable except for the regex match data it
 * keeps, so one set is used by one thread at a time.
 */
#ifndef LE_RULES_H
#define LE_RULES_H

#include "buf.h"
#include "config.h"
#include "event.h"

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

/* Does behaviour rule i match ev? */
bool le_rules_behaviour_match(le_rules_t *r, size_t i, const le_event_t *ev);

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

/* Do a and b score alike: the same scoring, mql, suppress, identity and limits settings? (A
 * running server applies a change only at a restart: its scores are a replay of the log
 * under one set of rules.) */
bool le_scoring_config_equal(const le_config_t *a, const le_config_t *b);

#endif
