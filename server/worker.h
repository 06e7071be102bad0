/*
 * worker.h: one data-plane worker: a thread with its own libuv loop and its
 * own SO_REUSEPORT listener, serving HTTP connections with le_http_t.
 *
 * The main thread creates workers, hands them a new config on reload and
 * asks them to stop; both go through a uv_async_t, so a worker's state is
 * only ever touched by its own thread.
 */
#ifndef LE_WORKER_H
#define LE_WORKER_H

#include <stdatomic.h>

#include "config.h"
#include "enrich.h"
#include "evlog.h"
#include "metrics.h"

typedef struct le_worker_s le_worker_t;

/*
 * Create a listening socket bound to host:port with SO_REUSEPORT (port 0:
 * any free port; *bound gets the port actually bound). Returns the fd or
 * -errno.
 */
int le_listen_socket(const char *host, uint16_t port, int backlog, uint16_t *bound);

/*
 * Start a worker thread serving connections accepted on listen_fd (which it
 * takes over). active is shared by all workers: the connection count that
 * server.max_connections bounds. Returns 0 or -errno.
 */
int le_worker_start(le_worker_t **out, int id, int listen_fd, le_config_t *cfg, le_evlog_t *log,
                    le_enrich_t *enrich, atomic_int *active);

/* Hand the worker a new config (it takes a reference). Thread-safe. */
void le_worker_set_config(le_worker_t *w, le_config_t *cfg);

/* Hand the worker new enrichment tables (it takes a reference); it swaps them between
 * requests and drops its reference to the old ones. Thread-safe. */
void le_worker_set_enrich(le_worker_t *w, le_enrich_t *e);

/* Ask the worker to stop accepting, finish in-flight requests (within
 * server.timeouts.shutdown) and end its loop. Thread-safe. */
void le_worker_stop(le_worker_t *w);

/* Wait for the worker thread to end, then free it. */
void le_worker_join(le_worker_t *w);

le_metrics_t *le_worker_metrics(le_worker_t *w);

#endif
