/*
 * metrics.c: summing the per-worker counter blocks and rendering them.
 */
#include "metrics.h"

static const char *names[] = {
#define X(e, n, l) n,
    LE_COUNTERS(X)
#undef X
};
static const char *labels[] = {
#define X(e, n, l) l,
    LE_COUNTERS(X)
#undef X
};

uint64_t le_metrics_sum(le_metrics_t *const *blocks, size_t n, le_counter_t k) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += atomic_load_explicit(&blocks[i]->c[k], memory_order_relaxed);
    return s;
}

void le_metrics_render(le_buf_t *out, le_metrics_t *const *blocks, size_t n, le_evlog_t *log) {
    const char *last = "";
    for (int k = 0; k < LE_C__COUNT; k++) {
        if (strcmp(last, names[k]) != 0) {
            le_buf_printf(out, "# TYPE %s counter\n", names[k]);
            last = names[k];
        }
        uint64_t v = le_metrics_sum(blocks, n, (le_counter_t)k);
        if (labels[k][0])
            le_buf_printf(out, "%s{%s} %llu\n", names[k], labels[k], (unsigned long long)v);
        else
            le_buf_printf(out, "%s %llu\n", names[k], (unsigned long long)v);
    }
    int64_t active = 0;
    for (size_t i = 0; i < n; i++)
        active += atomic_load_explicit(&blocks[i]->active_connections, memory_order_relaxed);
    le_buf_printf(out,
                  "# TYPE leadedge_connections_active gauge\nleadedge_connections_active %lld\n",
                  (long long)active);
    if (log) {
        le_evlog_stats_t s;
        le_evlog_stats(log, &s);
        le_buf_printf(out,
                      "# TYPE leadedge_evlog_appended_total counter\n"
                      "leadedge_evlog_appended_total %llu\n"
                      "# TYPE leadedge_evlog_refused_total counter\n"
                      "leadedge_evlog_refused_total %llu\n"
                      "# TYPE leadedge_evlog_written_total counter\n"
                      "leadedge_evlog_written_total %llu\n"
                      "# TYPE leadedge_evlog_bytes_total counter\n"
                      "leadedge_evlog_bytes_total %llu\n"
                      "# TYPE leadedge_evlog_fsyncs_total counter\n"
                      "leadedge_evlog_fsyncs_total %llu\n"
                      "# TYPE leadedge_evlog_torn_bytes_total counter\n"
                      "leadedge_evlog_torn_bytes_total %llu\n"
                      "# TYPE leadedge_evlog_healthy gauge\nleadedge_evlog_healthy %d\n",
                      (unsigned long long)s.appended, (unsigned long long)s.refused,
                      (unsigned long long)s.written, (unsigned long long)s.bytes,
                      (unsigned long long)s.fsyncs, (unsigned long long)s.torn_bytes,
                      le_evlog_healthy(log) ? 1 : 0);
    }
}
