/*
 * lead.h: one lead's scores and how events change them.
 *
 * A lead (an anonymous visitor, or a contact with the visitors linked to it) has a behaviour
 * score that decays exponentially with scoring.behaviour.half_life and a fit score that is
 * the sum of the fit rules matching who it is now. Decay is lazy: the score is stored with the
 * time it was valid at, and brought forward only when the lead is touched, so an idle lead
 * costs nothing. Every rule that ever counted keeps its part of the score (decayed with the
 * score), so the score can always say which rules made it and with how many points; the same
 * parts carry the state `once` and `max_per_day` need.
 *
 * Times are Unix seconds of the events (the server's receive time), never the wall clock, so
 * a replay of the event log gives the same scores as the live run did.
 *
 * Pure: no I/O, no logging. A lead is used by one thread at a time.
 */
#ifndef LE_LEAD_H
#define LE_LEAD_H

#include "config.h"
#include "event.h"
#include "rules.h"

/* One rule's part in a lead's score (16 bytes). */
typedef struct {
    uint16_t rule;  /* index among the rules of its kind */
    uint8_t kind;   /* le_rules_kind_t */
    uint8_t today;  /* times it counted on `day` (max_per_day), saturating */
    uint16_t day;   /* UTC day (days since 1970-01-01) it last counted */
    uint16_t times; /* times it counted in all, saturating at 65535 */
    float points;   /* behaviour: its points, decayed like the score; fit: its points */
    uint32_t pad;
} le_part_t;

typedef struct {
    float behaviour; /* valid at btime */
    int32_t fit;
    uint32_t btime; /* Unix seconds; 0 = never scored */
    uint16_t nparts, cap;
    le_part_t *parts;
} le_lead_t;

/* What one event did: a rule that counted and its points. */
typedef struct {
    uint8_t kind;
    uint16_t rule;
    int32_t points;
} le_fired_t;

/* Release l's parts; l is an empty lead afterwards. */
void le_lead_free(le_lead_t *l);

/* Bring the behaviour score and its parts forward to now (no-op for now <= btime). */
void le_lead_decay(le_lead_t *l, uint32_t now, double half_life_s);

/*
 * Score one event: decay to the event's time, then add the points of every behaviour rule that
 * matches it and may count (not a `once` rule that already counted, not past `max_per_day` on
 * the event's UTC day). Up to max of them are written to fired; returns how many counted.
 */
size_t le_lead_behaviour(le_lead_t *l, le_rules_t *r, const le_event_t *ev, double half_life_s,
                         le_fired_t *fired, size_t max);

/* Recompute the fit score from f: the sum of the matching fit rules, each kept as a part. */
int32_t le_lead_fit(le_lead_t *l, le_rules_t *r, const le_fit_facts_t *f);

/*
 * Merge src into dst (a second visitor of the same contact), both brought to now: behaviour
 * adds up, except that a `once` rule both counted counts once, and a `max_per_day` rule both
 * counted on the same day counts at most max_per_day times that day. Fit parts are left to
 * the next le_lead_fit. src is left unchanged.
 */
void le_lead_merge(le_lead_t *dst, const le_lead_t *src, le_rules_t *r, uint32_t now,
                   double half_life_s);

/* Grade 'A'..'D' from fit and cuts (A at >= cuts[0], B >= cuts[1], C >= cuts[2]). */
char le_grade(int32_t fit, const int32_t cuts[3]);
/* Band 1..4 from behaviour (1 at >= cuts[0], ...). */
int le_band(double behaviour, const int32_t cuts[3]);

/* Is (behaviour, fit) over the MQL criterion of cfg: the matrix cells when mql.matrix lists
 * any, else both thresholds? */
bool le_mql_criterion(const le_config_t *cfg, double behaviour, int32_t fit);

/* Why a lead may never become an MQL; the bits of a lead's suppression. */
enum {
    LE_SUP_BOT = 1u << 0,
    LE_SUP_GPC = 1u << 1,
    LE_SUP_STAFF = 1u << 2,
    LE_SUP_COMPETITOR = 1u << 3,
    LE_SUP_CUSTOMER = 1u << 4,
    LE_SUP_PARTNER = 1u << 5,
    LE_SUP_FREEMAIL = 1u << 6,
};

/* The name of one LE_SUP_* bit ("bot", "gpc", "staff", ...), "" for others. */
const char *le_suppress_name(uint32_t bit);

/* The LE_SUP_* bits the suppress.*_domains lists give domain (an e-mail or company domain;
 * a list entry matches itself and its subdomains; ASCII case-insensitive). */
uint32_t le_suppress_domain(const le_config_t *cfg, le_str_t domain);

#endif
