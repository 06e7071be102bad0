/*
 * admin.h: the control-plane thread: a libevent event_base serving the
 * admin API on admin.listen (loopback by default).
 *
 * Endpoints: GET /healthz (no auth), GET /readyz, GET /metrics (Prometheus text) and
 * GET /v1/visitors/{visitor id, contact id or e-mail} (a lead's scores, rules, identity,
 * account, MQL state and suppression, as JSON). Everything but /healthz requires
 * "Authorization: Bearer <admin.token>", compared in constant time; without
 * a configured token those endpoints answer 403.
 */
#ifndef LE_ADMIN_H
#define LE_ADMIN_H

#include "config.h"
#include "evlog.h"
#include "metrics.h"
#include "scorer.h"

typedef struct le_admin_s le_admin_t;

/* Bind and start the thread. *bound gets the port. scorer (may be NULL) serves the lead
 * endpoints and must outlive the admin server. 0 or -errno. */
int le_admin_start(le_admin_t **out, le_config_t *cfg, le_evlog_t *log, le_metrics_t *const *blocks,
                   size_t nblocks, le_scorer_t *scorer, uint16_t *bound);
/* Swap the config (token) after a reload. Thread-safe. */
void le_admin_set_config(le_admin_t *a, le_config_t *cfg);
/* Stop the loop, join the thread, free. NULL is a no-op. */
void le_admin_stop(le_admin_t *a);

#endif
