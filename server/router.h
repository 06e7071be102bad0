/*
 * router.h: which handler a request path reaches, which methods it takes,
 * and running the handler (pixel/ endpoints, /healthz) with its side effects:
 * appending events to the log and counting outcomes.
 */
#ifndef LE_ROUTER_H
#define LE_ROUTER_H

#include "evlog.h"
#include "metrics.h"
#include "pixel.h"

typedef enum {
    LE_ROUTE_NONE = 0, /* 404 */
    LE_ROUTE_GIF,      /* /p.gif: GET, HEAD */
    LE_ROUTE_BEACON,   /* /e: POST, OPTIONS */
    LE_ROUTE_FORM,     /* /f: POST, OPTIONS */
    LE_ROUTE_TRACKER,  /* /t.js: GET, HEAD */
    LE_ROUTE_HEALTH,   /* /healthz: GET, HEAD */
} le_route_t;

typedef struct {
    le_evlog_t *log; /* NULL: events are counted but not stored (fuzzing) */
    le_metrics_t *metrics;
    le_enrich_t *enrich;      /* the worker's current tables; NULL: no enrichment */
    le_enrich_cache_t *cache; /* the worker's own */
    bool hold_forms;          /* fsync always: forms are answered once durable */
    uint64_t hold_seq;        /* out: the last form frame appended (le_evlog_append_seq), for the
                          worker to hold the answer until le_evlog_synced() reaches it */
} le_router_ctx_t;

le_route_t le_router_match(le_str_t path);
/* Does route take method? *allow gets the Allow header value either way. */
bool le_router_allows(le_route_t route, uint8_t method, const char **allow);
/* Run the handler; events are appended to the log and counted. */
void le_router_handle(le_router_ctx_t *ctx, le_route_t route, const le_pixel_req_t *req,
                      le_pixel_resp_t *resp);

#endif
