/*
 * metrics.h: the data plane's counters, one block per worker.
 *
 * Each worker owns a le_metrics_t and is its only writer, so a counter bump
 * is a relaxed load and store (no locked instruction); the admin thread
 * reads every block with relaxed loads and adds them up. Rendering is
 * Prometheus text format.
 */
#ifndef LE_METRICS_H
#define LE_METRICS_H

#include <stdatomic.h>

#include "buf.h"
#include "evlog.h"

/* X(enum, prometheus name, labels) */
#define LE_COUNTERS(X)                                                                             \
    X(CONN_ACCEPTED, "leadedge_connections_accepted_total", "")                                    \
    X(REQUESTS, "leadedge_http_requests_total", "")                                                \
    X(CONN_REFUSED, "leadedge_http_rejected_total", "reason=\"connections\"")                      \
    X(REJ_URI, "leadedge_http_rejected_total", "reason=\"request_line\"")                          \
    X(REJ_HDR_BYTES, "leadedge_http_rejected_total", "reason=\"header_bytes\"")                    \
    X(REJ_HDR_COUNT, "leadedge_http_rejected_total", "reason=\"header_count\"")                    \
    X(REJ_BODY, "leadedge_http_rejected_total", "reason=\"body\"")                                 \
    X(REJ_METHOD, "leadedge_http_rejected_total", "reason=\"method\"")                             \
    X(REJ_NOT_FOUND, "leadedge_http_rejected_total", "reason=\"not_found\"")                       \
    X(REJ_MALFORMED, "leadedge_http_rejected_total", "reason=\"malformed\"")                       \
    X(REJ_HDR_TIMEOUT, "leadedge_http_rejected_total", "reason=\"header_timeout\"")                \
    X(REJ_BODY_TIMEOUT, "leadedge_http_rejected_total", "reason=\"body_timeout\"")                 \
    X(REJ_ORIGIN, "leadedge_http_rejected_total", "reason=\"origin\"")                             \
    X(REJ_MEDIA_TYPE, "leadedge_http_rejected_total", "reason=\"media_type\"")                     \
    X(REJ_BAD_BODY, "leadedge_http_rejected_total", "reason=\"bad_body\"")                         \
    X(REJ_TOO_MANY, "leadedge_http_rejected_total", "reason=\"too_many\"")                         \
    X(REJ_UNAVAILABLE, "leadedge_http_rejected_total", "reason=\"unavailable\"")                   \
    X(IDLE_CLOSED, "leadedge_connections_idle_closed_total", "")                                   \
    X(EV_PAGEVIEW, "leadedge_events_total", "type=\"pageview\",outcome=\"accepted\"")              \
    X(EV_EVENT, "leadedge_events_total", "type=\"event\",outcome=\"accepted\"")                    \
    X(EV_FORM, "leadedge_events_total", "type=\"form\",outcome=\"accepted\"")                      \
    X(EV_BOT_PAGEVIEW, "leadedge_events_total", "type=\"pageview\",outcome=\"bot\"")               \
    X(EV_BOT_EVENT, "leadedge_events_total", "type=\"event\",outcome=\"bot\"")                     \
    X(EV_BOT, "leadedge_events_total", "type=\"form\",outcome=\"bot\"")                            \
    X(EV_BAD, "leadedge_events_total", "type=\"any\",outcome=\"bad\"")                             \
    X(EV_REFUSED, "leadedge_events_total", "type=\"any\",outcome=\"refused\"")                     \
    X(ST_2XX, "leadedge_http_responses_total", "class=\"2xx\"")                                    \
    X(ST_3XX, "leadedge_http_responses_total", "class=\"3xx\"")                                    \
    X(ST_4XX, "leadedge_http_responses_total", "class=\"4xx\"")                                    \
    X(ST_5XX, "leadedge_http_responses_total", "class=\"5xx\"")                                    \
    X(UA_HIT, "leadedge_ua_cache_total", "result=\"hit\"")                                         \
    X(UA_MISS, "leadedge_ua_cache_total", "result=\"miss\"")                                       \
    X(IP_HIT, "leadedge_ip_cache_total", "result=\"hit\"")                                         \
    X(IP_MISS, "leadedge_ip_cache_total", "result=\"miss\"")

typedef enum {
#define X(e, n, l) LE_C_##e,
    LE_COUNTERS(X)
#undef X
        LE_C__COUNT
} le_counter_t;

typedef struct {
    _Alignas(64) atomic_uint_fast64_t c[LE_C__COUNT];
    atomic_int_fast64_t active_connections; /* gauge */
} le_metrics_t;

/* Single-writer increment: only the owning worker calls this. */
static inline void le_metrics_add(le_metrics_t *m, le_counter_t k, uint64_t n) {
    atomic_store_explicit(&m->c[k], atomic_load_explicit(&m->c[k], memory_order_relaxed) + n,
                          memory_order_relaxed);
}
#define le_metrics_inc(m, k) le_metrics_add((m), (k), 1)

/* Sum of one counter over n blocks. */
uint64_t le_metrics_sum(le_metrics_t *const *blocks, size_t n, le_counter_t k);

/* Prometheus text for the blocks plus the event log's stats (log may be NULL). */
void le_metrics_render(le_buf_t *out, le_metrics_t *const *blocks, size_t n, le_evlog_t *log);

#endif
