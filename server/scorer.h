/*
 * scorer.h: the thread that turns the durable event log into scores, contacts, accounts and
 * MQL decisions.
 *
 * The data plane never touches lead state: workers only append events to the log. One scorer
 * thread follows the log (le_logreader) up to what the writer has made durable, decodes each
 * record and applies it to the engine (score/engine.h) in log order. So the scores are exactly
 * a replay of the log: after a crash, loading the last snapshot and replaying the log after
 * it gives the state the live run had, and no decision (an MQL) is ever taken on an event that
 * could still be lost.
 *
 * Start-up loads <data_dir>/snapshot.bin (if any) and replays the log after its position
 * before the workers start. Every store.snapshot_interval, and at shutdown, the state is saved
 * again (under the engine's mutex: appliers wait, the data plane does not), and segments the
 * snapshot covers are deleted unless store.retain_log.
 */
#ifndef LE_SCORER_H
#define LE_SCORER_H

#include "buf.h"
#include "config.h"
#include "engine.h"
#include "evlog.h"
#include "outbox.h"

typedef struct le_scorer_s le_scorer_t;

typedef struct {
    bool no_snapshot;       /* in: ignore snapshot.bin and replay the whole log */
    uint64_t replayed;      /* events applied at start-up */
    double replay_seconds;  /* how long the start-up replay took */
    bool snapshot_loaded;   /* start-up began from a snapshot */
    le_logpos_t corrupt_at; /* with LE_ECORRUPT from the log: the damaged frame */
} le_scorer_start_t;

/*
 * Build the engine for cfg, load the snapshot in data_dir, replay the log up to log's durable
 * end, and (when log is not NULL) start following it. With log NULL nothing is started: the
 * state is that of the files (the CLI). 0 and *out; LE_ECORRUPT for a damaged snapshot or log
 * (st->corrupt_at set for the log; the caller may repair and try again); -errno; LE_EINVAL
 * for rules or domain lists that do not load. *msg explains every failure (malloc'd).
 */
int le_scorer_open(le_scorer_t **out, le_config_t *cfg, le_evlog_t *log, le_scorer_start_t *st,
                   char **msg);

/* Check what scoring needs from cfg without touching data: the rules compile and the domain
 * list files load. 0, or LE_EINVAL with one line per problem in err (--check-config). */
int le_scorer_check(const le_config_t *cfg, le_buf_t *err);

/* Apply everything durable, stop the thread, save a final snapshot (when log was given), free.
 * NULL is a no-op. */
void le_scorer_close(le_scorer_t *s);

/* Describe a visitor (id) or contact (e-mail or id) as JSON; 0 or -ENOENT. Thread-safe. */
int le_scorer_describe(le_scorer_t *s, const char *key, le_buf_t *out);

/* The whole state as the snapshot would save it (for tests comparing two replays). */
void le_scorer_dump(le_scorer_t *s, le_buf_t *out);

/* Prometheus lines for the scorer's counters and gauges, appended to out. Thread-safe. */
void le_scorer_metrics(le_scorer_t *s, le_buf_t *out);

/* Take a reloaded config's hand-off settings (crm, routing, sla; the scoring ones need a
 * restart). 0, or LE_EINVAL with *msg (routes that do not compile; the old ones stay). */
int le_scorer_reconfigure(le_scorer_t *s, le_config_t *cfg, char **msg);

/* fn(ud) is called (on the scorer thread) after every item added to the outbox. */
void le_scorer_set_notify(le_scorer_t *s, void (*fn)(void *), void *ud);

/* The outbox the scorer writes (NULL offline). */
le_outbox_t *le_scorer_outbox(le_scorer_t *s);

/* Wait until everything up to pos is applied (an admin request's own record). 0 or
 * -ETIMEDOUT. Thread-safe. */
int le_scorer_wait_applied(le_scorer_t *s, le_logpos_t pos, uint32_t timeout_ms);

/* Thread-safe wrappers of the engine's lifecycle queries (engine.h). */
int le_scorer_resolve(le_scorer_t *s, const char *key, char id[33], bool *is_contact);
int le_scorer_stage(le_scorer_t *s, const char *id, le_stage_t *stage, uint32_t *cycle,
                    uint32_t *mql_at);
void le_scorer_leads(le_scorer_t *s, le_stage_t stage, size_t limit, le_buf_t *out);
void le_scorer_funnel(le_scorer_t *s, uint32_t from, uint32_t to, le_buf_t *out);

#endif
