/*
 * deliver.h: the delivery loop, from the outbox to the CRM, on the control-plane thread.
 *
 * The scorer writes every MQL to the outbox (store/outbox.h) and kicks this loop. A pass over
 * the pending items sends each one that is due, at most one per lead at a time and in the
 * order added (a lead's second MQL waits until its first is delivered or dead), as a signed
 * POST (sign.h) through the client of the item's endpoint (client.h), with the endpoint's
 * field map applied to the stored payload (payload.h). Every outcome is recorded durably in
 * the outbox before the next attempt of the same item:
 *
 *   2xx                        delivered
 *   connection error, timeout, retried after a full-jitter backoff (retry.h), Retry-After
 *   408, 429, 5xx but 501/505  honoured; dead once the item is older than crm.retry.max_age
 *   any other answer           dead at once
 *
 * A dead item is also appended to the dead-letter file (one JSON object per line, the
 * payload included). A crash between a send and the recording of its answer leaves the item
 * pending: it is sent again after the restart with the same Idempotency-Key.
 *
 * Speed-to-lead SLA: an MQL the CRM has not accepted (hooks.awaiting) sla.accept_within after
 * it was decided is escalated once: a copy with "escalated": true goes to the escalation
 * route (an outbox item "<mql id>-esc") and the breach is recorded (hooks.breach).
 *
 * Everything here runs on the thread of the event_base given to le_deliver_new, except
 * le_deliver_kick and le_deliver_metrics, which any thread may call.
 */
#ifndef LE_DELIVER_H
#define LE_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "outbox.h"

struct event_base;

typedef struct le_deliver_s le_deliver_t;

typedef struct {
    /* Does the MQL of lead, cycle (its n-th), still wait to be accepted? */
    bool (*awaiting)(void *ud, const char *lead, uint32_t cycle);
    /* Record that the lead's MQL breached the SLA (durably). */
    void (*breach)(void *ud, const char *lead);
    void *ud;
} le_deliver_hooks_t;

/*
 * Start delivering ob's pending items on base with cfg's endpoints. 0, or LE_EINVAL with *msg
 * (an endpoint whose client cannot be made: a bad URL or CA file). Must be called on base's
 * thread.
 */
int le_deliver_new(struct event_base *base, le_config_t *cfg, le_outbox_t *ob,
                   const le_deliver_hooks_t *hooks, le_deliver_t **out, char **msg);

/* New items may be there: look soon. Any thread. */
void le_deliver_kick(le_deliver_t *d);

/* Take a reloaded config (endpoints, retry policy, SLA). The clients are made anew; requests
 * in flight are cancelled and sent again. 0, or LE_EINVAL with *msg (the old config stays).
 * On base's thread. */
int le_deliver_set_config(le_deliver_t *d, le_config_t *cfg, char **msg);

/* Prometheus lines: deliveries by outcome, attempt and hand-off latency histograms, dead
 * letters, SLA escalations, requests in flight. Any thread. */
void le_deliver_metrics(le_deliver_t *d, le_buf_t *out);

/* Cancel what is in flight (those items stay pending) and free. On base's thread. NULL is a
 * no-op. */
void le_deliver_free(le_deliver_t *d);

/* Check that a client can be made for every endpoint of cfg (URL, headers, CA file), for
 * --check-config. 0, or LE_EINVAL with one line per problem appended to err. */
int le_deliver_check(const le_config_t *cfg, le_buf_t *err);

/* The dead-letter file for cfg: crm.dead_letter, else <data_dir>/dead-letter.jsonl (malloc'd). */
char *le_dead_letter_path(const le_config_t *cfg);

/* Remove the lines of the dead-letter file at path whose lead is one of leads[0..n)
 * (erasure); the file is rewritten and renamed into place. 0 or -errno. Any thread. */
int le_dead_letter_erase(const char *path, const char *const *leads, size_t n);

#endif
