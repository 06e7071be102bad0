/*
 * scorer.c: start-up replay, following the durable log, snapshots (scorer.h).
 */
#include "scorer.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver.h"
#include "engine.h"
#include "lists.h"
#include "log.h"
#include "outbox.h"
#include "payload.h"
#include "record.h"
#include "replay.h"
#include "route.h"
#include "rules.h"
#include "snapshot.h"

#define BATCH 4096  /* records applied per hold of the engine's mutex */
#define WAIT_MS 200 /* longest sleep between looks at the log */

struct le_scorer_s {
    le_config_t *cfg;
    le_evlog_t *log; /* NULL: offline (CLI) */
    le_engine_t *eng;
    pthread_mutex_t mu; /* guards eng and pos */
    le_logreader_t *rd;
    le_logpos_t pos; /* applied up to here */
    le_logpos_t snap_pos;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    uint64_t next_snapshot_ms;
    le_replay_buf_t rb;       /* decoding room for the replay loop */
    le_outbox_t *outbox;      /* MQL hand-offs (live server only: the CLI never writes it) */
    le_routes_t *routes;      /* routing.routes, compiled (this thread's) */
    le_config_t *hand_cfg;    /* the config hand-offs follow (crm, routing, sla): reloadable */
    struct handoff *handoffs; /* decided under mu, written to the outbox after it */
    size_t nhandoffs, caphandoffs;
    void (*notify)(void *); /* told after every hand-off (the delivery loop's kick) */
    void *notify_ud;
    pthread_cond_t applied_cv; /* signalled after every batch (le_scorer_wait_applied) */
    bool snapshot_soon;        /* an erasure: the snapshot on disk still holds the person */
    char *dead_letter;
    atomic_uint_fast64_t applied, mqls, mqas, snapshots, snapshot_failures, log_errors;
    atomic_uint_fast64_t handed_off, outbox_failures;
};

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A domain list: the file the config names, else the built-in one. */
static le_domains_t *load_list(const char *path, const char *builtin, unsigned long len,
                               const char *what, le_buf_t *err) {
    le_domains_t *d = le_domains_new();
    int rc = path ? le_domains_load_file(d, path, err)
                  : le_domains_load(d, what, (le_str_t){builtin, len}, err);
    if (rc != 0) {
        le_domains_free(d);
        return NULL;
    }
    return d;
}

/* An MQL or MQA decided while applying, to be written to the outbox. */
struct handoff {
    char *id, *type, *lead, *endpoint, *body;
    int64_t time_ms;
};

/* Decide an MQL's or MQA's hand-off: written to the outbox, durably, before anything else is
 * told (write_handoffs). Its id is
 * stable (lead and cycle, or account and "mqa"), so the same decision replayed after a crash
 * is recognised and not added twice. The payload (forward/payload.h) describes the lead as of
 * the event, routed by routing.routes (no routes: the first endpoint). */
static void hand_off(le_scorer_t *s, const le_event_t *ev, const char *type, const char *id,
                     const char *lead) {
    const le_config_t *cfg = s->hand_cfg;
    le_buf_t desc = LE_BUF_INIT;
    uint32_t at = ev->time_ms > 0 ? (uint32_t)(ev->time_ms / 1000) : 0;
    if (le_engine_describe(s->eng, lead, at, &desc) != 0) le_buf_append(&desc, "null", 4);
    json_t *d = json_loadb(desc.data, desc.len, 0, NULL);
    le_payload_meta_t m = {
        .id = id,
        .type = type,
        .created_ms = ev->time_ms,
        .sla_due_ms =
            strcmp(type, "mql") == 0 ? ev->time_ms + (int64_t)cfg->sla.accept_within_ms : 0,
        .journey = cfg->crm.journey,
        .consent_basis =
            cfg->privacy.consent == LE_CONSENT_REQUIRED ? "consent" : "legitimate_interest"};
    json_t *p = le_payload_build(d, &m);
    json_decref(d);
    const le_routeconf_t *r = s->routes ? le_routes_pick(s->routes, p) : NULL;
    le_routeconf_t dflt = {.name = (char *)"default"};
    if (!r && cfg->crm.nendpoints) {
        dflt.endpoint = cfg->crm.endpoints[0].name;
        r = &dflt;
    }
    if (r) le_payload_set_route(p, r);
    if (s->nhandoffs == s->caphandoffs) {
        s->caphandoffs = s->caphandoffs ? s->caphandoffs * 2 : 16;
        s->handoffs = le_xrealloc(s->handoffs, s->caphandoffs * sizeof(*s->handoffs));
    }
    s->handoffs[s->nhandoffs++] =
        (struct handoff){.id = le_xstrdup(id),
                         .type = le_xstrdup(type),
                         .lead = le_xstrdup(lead),
                         .endpoint = r && r->endpoint ? le_xstrdup(r->endpoint) : NULL,
                         .time_ms = ev->time_ms,
                         .body = le_payload_dump(p)};
    json_decref(p);
    le_buf_free(&desc);
}

/* Write the hand-offs decided since the last call to the outbox (each durable before the
 * delivery loop is told), in the order decided. Called without mu (an fsync per item must not
 * hold up the admin API's reads), always before a snapshot can cover their events. */
static void write_handoffs(le_scorer_t *s) {
    if (!s->nhandoffs) return;
    le_ob_new_t *items = le_xcalloc(s->nhandoffs, sizeof(*items));
    int *results = le_xcalloc(s->nhandoffs, sizeof(int));
    for (size_t i = 0; i < s->nhandoffs; i++) {
        struct handoff *h = &s->handoffs[i];
        items[i] = (le_ob_new_t){h->id,      h->type, h->lead,        h->endpoint,
                                 h->time_ms, h->body, strlen(h->body)};
    }
    le_outbox_add_many(s->outbox, items, s->nhandoffs, results); /* one fsync for all */
    bool added = false;
    for (size_t i = 0; i < s->nhandoffs; i++) {
        struct handoff *h = &s->handoffs[i];
        if (results[i] < 0) {
            atomic_fetch_add(&s->outbox_failures, 1);
            le_log(LE_LOG_ERROR,
                   "outbox: %s %s could not be written (%s); it is decided again at "
                   "the next start",
                   h->type, h->id, strerror(-results[i]));
        } else if (results[i] == 0) {
            atomic_fetch_add(&s->handed_off, 1);
            added = true;
        }
        free(h->id);
        free(h->type);
        free(h->lead);
        free(h->endpoint);
        free(h->body);
    }
    if (added && s->notify) s->notify(s->notify_ud);
    s->nhandoffs = 0;
    free(items);
    free(results);
}

/* An erasure: the person's hand-offs leave the outbox and the dead-letter file, and the
 * snapshot on disk (which still holds them) is replaced soon. */
static void erased(le_scorer_t *s, const le_apply_t *out) {
    size_t n = 1 + out->nerased_vids;
    char(*ids)[33] = le_xcalloc(n, 33);
    const char **leads = le_xcalloc(n, sizeof(char *));
    memcpy(ids[0], out->lead, 33);
    for (uint32_t i = 0; i < out->nerased_vids; i++) le_hex(ids[i + 1], out->erased_vids[i], 16);
    for (size_t i = 0; i < n; i++) leads[i] = ids[i];
    write_handoffs(s); /* decided before the erasure: out with them, then erase */
    if (s->outbox) {
        int rc = le_outbox_erase(s->outbox, leads, n);
        if (rc < 0)
            le_log(LE_LOG_ERROR, "erase: the outbox could not be rewritten: %s", strerror(-rc));
        rc = le_dead_letter_erase(s->dead_letter, leads, n);
        if (rc < 0)
            le_log(LE_LOG_ERROR, "erase: the dead-letter file could not be rewritten: %s",
                   strerror(-rc));
    }
    if (s->log)
        le_log(LE_LOG_INFO, "erase: lead %s and %u visitors erased", out->lead, out->nerased_vids);
    s->snapshot_soon = true;
    free(ids);
    free(leads);
}

static void applied(void *ud, const le_event_t *ev, const le_apply_t *out) {
    le_scorer_t *s = ud;
    if (out->mql) {
        atomic_fetch_add(&s->mqls, 1);
        if (s->log)
            le_log(LE_LOG_INFO, "mql: lead %s (behaviour %.1f, fit %d)", out->lead,
                   (double)out->behaviour, out->fit);
        if (s->outbox) {
            char id[48];
            snprintf(id, sizeof(id), "%s-%u", out->lead, out->cycle);
            hand_off(s, ev, "mql", id, out->lead);
        }
    }
    if (out->mqa) {
        atomic_fetch_add(&s->mqas, 1);
        if (s->outbox) {
            char id[48];
            snprintf(id, sizeof(id), "%s-mqa", out->account);
            hand_off(s, ev, "mqa", id, out->lead);
        }
    }
    if (out->erased) erased(s, out);
    if (out->breach && s->log) le_log(LE_LOG_WARN, "sla: lead %s breached the SLA", out->lead);
    if (out->linked && s->log)
        le_log(LE_LOG_INFO, "identity: visitor %s linked to contact %s%s", ev->id, out->lead,
               out->merged ? ", merged with the contact's other visitors" : "");
}

/* Apply records up to end, at most max of them (0: no limit). Returns records applied, or
 * a negative error with *msg. Called with s->mu held, or before the scoring thread exists.
 * The start-up replay (startup: all of the log there is, before the server takes a request)
 * reads and decodes on a second thread when the process may use a second CPU; following the
 * log takes it a batch at a time on this one. */
static int64_t apply_upto(le_scorer_t *s, le_logpos_t end, size_t max, bool startup, char **msg) {
    uint64_t bad = 0;
    int64_t n = startup ? le_engine_replay_all(s->eng, s->rd, end, LE_REPLAY_AUTO, &s->rb, applied,
                                               s, &bad, msg, NULL)
                        : le_engine_replay(s->eng, s->rd, end, max, &s->rb, applied, s, &bad, msg);
    if (bad) {
        /* frames with valid checksums but records this version cannot read: skipped, loudly,
         * rather than stop scoring */
        atomic_fetch_add(&s->log_errors, bad);
        le_log(LE_LOG_WARN,
               "scoring: %llu undecodable records skipped before segment %u "
               "offset %llu",
               (unsigned long long)bad, le_logreader_pos(s->rd).seg,
               (unsigned long long)le_logreader_pos(s->rd).off);
    }
    s->pos = le_logreader_pos(s->rd);
    if (n > 0) atomic_fetch_add(&s->applied, (uint64_t)n);
    return n;
}

/* Save the state at s->pos; delete the segments it covers. */
static void snapshot(le_scorer_t *s) {
    le_buf_t b = LE_BUF_INIT;
    pthread_mutex_lock(&s->mu);
    le_logpos_t pos = s->pos;
    if (pos.seg == 0) pos = le_evlog_durable(s->log); /* nothing read yet: where it starts */
    le_engine_save(s->eng, &b);
    pthread_mutex_unlock(&s->mu);
    char *msg = NULL;
    if (le_snapshot_write(s->cfg->store.data_dir, pos, b.data, b.len, &msg) != 0) {
        atomic_fetch_add(&s->snapshot_failures, 1);
        le_log(LE_LOG_ERROR, "%s; the log is kept until a snapshot succeeds", msg);
        free(msg);
    } else {
        atomic_fetch_add(&s->snapshots, 1);
        s->snap_pos = pos;
        le_log(LE_LOG_DEBUG, "snapshot: %zu bytes at segment %u offset %llu", b.len, pos.seg,
               (unsigned long long)pos.off);
        if (!s->cfg->store.retain_log) {
            int rc = le_evlog_drop_before(s->log, pos.seg);
            if (rc < 0)
                le_log(LE_LOG_WARN, "snapshot: deleting covered log segments: %s", strerror(-rc));
        }
    }
    le_buf_free(&b);
}

static void *run(void *arg) {
    le_scorer_t *s = arg;
    uint32_t interval = s->cfg->store.snapshot_interval_ms;
    s->next_snapshot_ms = interval ? mono_ms() + interval : 0;
    while (!atomic_load(&s->stop)) {
        le_logpos_t end = le_evlog_wait(s->log, s->pos, WAIT_MS);
        for (;;) {
            char *msg = NULL;
            pthread_mutex_lock(&s->mu);
            int64_t n = apply_upto(s, end, BATCH, false, &msg);
            pthread_mutex_unlock(&s->mu);
            write_handoffs(s);
            if (n < 0) {
                /* the log under the scorer is damaged: stop scoring, keep serving; the
                 * events are still appended, and a restart (with --repair) picks up */
                atomic_fetch_add(&s->log_errors, 1);
                le_log(LE_LOG_ERROR, "scoring stopped: %s", msg ? msg : "log read failed");
                free(msg);
                return NULL;
            }
            if (n < BATCH) break;
        }
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->applied_cv);
        bool soon = s->snapshot_soon;
        s->snapshot_soon = false;
        pthread_mutex_unlock(&s->mu);
        if (soon || (s->next_snapshot_ms && mono_ms() >= s->next_snapshot_ms)) {
            snapshot(s);
            if (interval) s->next_snapshot_ms = mono_ms() + interval;
        }
    }
    return NULL;
}

int le_scorer_check(const le_config_t *cfg, le_buf_t *err) {
    le_rules_t *rules = NULL;
    int rc = le_rules_build(cfg, &rules, err);
    le_rules_free(rules);
    le_routes_t *routes = NULL;
    if (le_routes_build(cfg, &routes, err) != 0) rc = LE_EINVAL;
    le_routes_free(routes);
    le_domains_t *fm = load_list(cfg->identity.freemail_domains, le_builtin_freemail,
                                 le_builtin_freemail_len, "built-in freemail list", err);
    le_domains_t *dis = load_list(cfg->identity.disposable_domains, le_builtin_disposable,
                                  le_builtin_disposable_len, "built-in disposable list", err);
    if (!fm || !dis) rc = LE_EINVAL;
    le_domains_free(fm);
    le_domains_free(dis);
    return rc;
}

int le_scorer_open(le_scorer_t **out, le_config_t *cfg, le_evlog_t *log, le_scorer_start_t *st,
                   char **msg) {
    *out = NULL;
    *msg = NULL;
    bool no_snapshot = st->no_snapshot;
    memset(st, 0, sizeof(*st));
    st->no_snapshot = no_snapshot;
    le_buf_t err = LE_BUF_INIT;
    le_rules_t *rules = NULL;
    if (le_rules_build(cfg, &rules, &err) != 0) {
        *msg = le_xstrdup(le_buf_cstr(&err));
        le_buf_free(&err);
        return LE_EINVAL;
    }
    le_domains_t *fm = load_list(cfg->identity.freemail_domains, le_builtin_freemail,
                                 le_builtin_freemail_len, "built-in freemail list", &err);
    le_domains_t *dis = load_list(cfg->identity.disposable_domains, le_builtin_disposable,
                                  le_builtin_disposable_len, "built-in disposable list", &err);
    if (!fm || !dis) {
        *msg = le_xstrdup(le_buf_cstr(&err));
        le_buf_free(&err);
        le_rules_free(rules);
        le_domains_free(fm);
        le_domains_free(dis);
        return LE_EINVAL;
    }
    le_buf_free(&err);

    le_routes_t *routes = NULL;
    if (le_routes_build(cfg, &routes, &err) != 0) {
        *msg = le_xstrdup(le_buf_cstr(&err));
        le_buf_free(&err);
        le_rules_free(rules);
        le_domains_free(fm);
        le_domains_free(dis);
        return LE_EINVAL;
    }
    le_scorer_t *s = le_xcalloc(1, sizeof(*s));
    s->cfg = le_config_ref(cfg);
    s->log = log;
    s->eng = le_engine_new(cfg, rules, fm, dis);
    s->routes = routes;
    s->hand_cfg = le_config_ref(cfg);
    s->dead_letter = le_dead_letter_path(cfg);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->applied_cv, NULL);
    le_replay_buf_init(&s->rb);

    if (log) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/outbox", cfg->store.data_dir);
        int orc = le_outbox_open(dir, &s->outbox, msg);
        if (orc != 0) {
            s->log = NULL;
            le_scorer_close(s);
            return orc;
        }
    }
    uint64_t t0 = mono_ms();
    le_buf_t snap = LE_BUF_INIT;
    le_logpos_t from = {0, 0};
    int rc = no_snapshot ? -ENOENT : le_snapshot_read(cfg->store.data_dir, &from, &snap, msg);
    if (rc == 0) {
        const char *why = NULL;
        if (le_engine_load(s->eng, snap.data, snap.len, &why) != 0) {
            rc = LE_ECORRUPT;
            *msg = le_strf("%s/" LE_SNAPSHOT_FILE ": %s", cfg->store.data_dir, why);
        } else {
            st->snapshot_loaded = true;
            s->snap_pos = from;
        }
    } else if (rc == -ENOENT) {
        rc = 0;
    }
    le_buf_free(&snap);
    if (rc == 0) rc = le_logreader_open(cfg->store.data_dir, from, &s->rd, msg);
    if (rc == 0) {
        le_logpos_t end = log ? le_evlog_durable(log) : (le_logpos_t){UINT32_MAX, UINT64_MAX};
        int64_t n = apply_upto(s, end, 0, true, msg);
        write_handoffs(s);
        if (n < 0) {
            rc = (int)n;
            if (rc == LE_ECORRUPT) st->corrupt_at = le_logreader_pos(s->rd);
        } else {
            st->replayed = (uint64_t)n;
        }
    }
    st->replay_seconds = (double)(mono_ms() - t0) / 1000.0;
    if (rc == 0 && log) {
        /* what follows is what this process writes: its checksums need no second look */
        le_logreader_trust(s->rd);
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int e = pthread_create(&s->thread, NULL, run, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e) {
            rc = -e;
            *msg = le_strf("scoring: cannot start its thread: %s", strerror(e));
        } else {
            le_thread_background(s->thread, "le-score");
            s->running = true;
        }
    }
    if (rc) {
        s->log = NULL; /* no final snapshot */
        le_scorer_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void le_scorer_close(le_scorer_t *s) {
    if (!s) return;
    if (s->running) {
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
        /* what became durable since the thread's last look */
        char *msg = NULL;
        pthread_mutex_lock(&s->mu);
        int64_t n = apply_upto(s, le_evlog_durable(s->log), 0, false, &msg);
        pthread_mutex_unlock(&s->mu);
        write_handoffs(s);
        if (n < 0) {
            le_log(LE_LOG_ERROR, "scoring: %s", msg ? msg : "log read failed");
            free(msg);
        } else {
            snapshot(s);
        }
    }
    if (s->outbox) write_handoffs(s); /* none left after a normal close */
    le_logreader_close(s->rd);
    le_outbox_close(s->outbox);
    le_engine_free(s->eng);
    free(s->handoffs);
    le_routes_free(s->routes);
    le_config_unref(s->hand_cfg);
    free(s->dead_letter);
    le_replay_buf_free(&s->rb);
    pthread_cond_destroy(&s->applied_cv);
    pthread_mutex_destroy(&s->mu);
    le_config_unref(s->cfg);
    free(s);
}

int le_scorer_describe(le_scorer_t *s, const char *key, le_buf_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&s->mu);
    int rc = le_engine_describe(s->eng, key, (uint32_t)ts.tv_sec, out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void le_scorer_dump(le_scorer_t *s, le_buf_t *out) {
    pthread_mutex_lock(&s->mu);
    le_engine_save(s->eng, out);
    pthread_mutex_unlock(&s->mu);
}

void le_scorer_metrics(le_scorer_t *s, le_buf_t *out) {
    le_engine_stats_t st;
    pthread_mutex_lock(&s->mu);
    le_engine_stats(s->eng, &st);
    size_t mem = le_engine_memory(s->eng);
    pthread_mutex_unlock(&s->mu);
    le_buf_printf(out,
                  "# TYPE leadedge_scoring_events_total counter\n"
                  "leadedge_scoring_events_total %llu\n"
                  "# TYPE leadedge_mql_total counter\nleadedge_mql_total %llu\n"
                  "# TYPE leadedge_mqa_total counter\nleadedge_mqa_total %llu\n"
                  "# TYPE leadedge_visitors gauge\nleadedge_visitors %llu\n"
                  "# TYPE leadedge_contacts gauge\nleadedge_contacts %llu\n"
                  "# TYPE leadedge_accounts gauge\nleadedge_accounts %llu\n"
                  "# TYPE leadedge_visitors_evicted_total counter\n"
                  "leadedge_visitors_evicted_total %llu\n"
                  "# TYPE leadedge_scoring_dropped_total counter\n"
                  "leadedge_scoring_dropped_total %llu\n"
                  "# TYPE leadedge_identity_merges_total counter\n"
                  "leadedge_identity_merges_total %llu\n"
                  "# TYPE leadedge_forms_bad_email_total counter\n"
                  "leadedge_forms_bad_email_total %llu\n"
                  "# TYPE leadedge_scoring_memory_bytes gauge\nleadedge_scoring_memory_bytes %zu\n"
                  "# TYPE leadedge_snapshots_total counter\nleadedge_snapshots_total %llu\n"
                  "# TYPE leadedge_snapshot_failures_total counter\n"
                  "leadedge_snapshot_failures_total %llu\n"
                  "# TYPE leadedge_scoring_log_errors_total counter\n"
                  "leadedge_scoring_log_errors_total %llu\n"
                  "# TYPE leadedge_outbox_added_total counter\n"
                  "leadedge_outbox_added_total %llu\n"
                  "# TYPE leadedge_outbox_write_failures_total counter\n"
                  "leadedge_outbox_write_failures_total %llu\n"
                  "# TYPE leadedge_outbox_pending gauge\nleadedge_outbox_pending %zu\n",
                  (unsigned long long)st.events, (unsigned long long)st.mqls,
                  (unsigned long long)st.mqas, (unsigned long long)st.visitors,
                  (unsigned long long)st.contacts, (unsigned long long)st.accounts,
                  (unsigned long long)st.evicted, (unsigned long long)st.dropped,
                  (unsigned long long)st.merges, (unsigned long long)st.bad_emails, mem,
                  (unsigned long long)atomic_load(&s->snapshots),
                  (unsigned long long)atomic_load(&s->snapshot_failures),
                  (unsigned long long)atomic_load(&s->log_errors),
                  (unsigned long long)atomic_load(&s->handed_off),
                  (unsigned long long)atomic_load(&s->outbox_failures),
                  s->outbox ? le_outbox_count(s->outbox, LE_OB_PENDING) : (size_t)0);
}

void le_scorer_set_notify(le_scorer_t *s, void (*fn)(void *), void *ud) {
    pthread_mutex_lock(&s->mu);
    s->notify = fn;
    s->notify_ud = ud;
    pthread_mutex_unlock(&s->mu);
}

le_outbox_t *le_scorer_outbox(le_scorer_t *s) {
    return s->outbox;
}

int le_scorer_wait_applied(le_scorer_t *s, le_logpos_t pos, uint32_t timeout_ms) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) dl.tv_sec++, dl.tv_nsec -= 1000000000;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (le_logpos_cmp(s->pos, pos) < 0 && rc == 0)
        rc = pthread_cond_timedwait(&s->applied_cv, &s->mu, &dl);
    pthread_mutex_unlock(&s->mu);
    return rc == 0 ? 0 : -ETIMEDOUT;
}

int le_scorer_resolve(le_scorer_t *s, const char *key, char id[33], bool *is_contact) {
    pthread_mutex_lock(&s->mu);
    int rc = le_engine_resolve(s->eng, key, id, is_contact);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int le_scorer_stage(le_scorer_t *s, const char *id, le_stage_t *stage, uint32_t *cycle,
                    uint32_t *mql_at) {
    pthread_mutex_lock(&s->mu);
    int rc = le_engine_stage(s->eng, id, stage, cycle, mql_at);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void le_scorer_leads(le_scorer_t *s, le_stage_t stage, size_t limit, le_buf_t *out) {
    uint32_t now = (uint32_t)(le_now_ms() / 1000);
    pthread_mutex_lock(&s->mu);
    le_engine_leads(s->eng, stage, limit, now, out);
    pthread_mutex_unlock(&s->mu);
}

void le_scorer_funnel(le_scorer_t *s, uint32_t from, uint32_t to, le_buf_t *out) {
    pthread_mutex_lock(&s->mu);
    le_engine_funnel(s->eng, from, to, out);
    pthread_mutex_unlock(&s->mu);
}

int le_scorer_reconfigure(le_scorer_t *s, le_config_t *cfg, char **msg) {
    le_buf_t err = LE_BUF_INIT;
    le_routes_t *routes = NULL;
    *msg = NULL;
    if (le_routes_build(cfg, &routes, &err) != 0) {
        *msg = le_xstrdup(le_buf_cstr(&err));
        le_buf_free(&err);
        return LE_EINVAL;
    }
    le_buf_free(&err);
    pthread_mutex_lock(&s->mu);
    le_routes_t *old = s->routes;
    le_config_t *oldcfg = s->hand_cfg;
    s->routes = routes;
    s->hand_cfg = le_config_ref(cfg);
    char *dl = s->dead_letter;
    s->dead_letter = le_dead_letter_path(cfg);
    pthread_mutex_unlock(&s->mu);
    le_routes_free(old);
    le_config_unref(oldcfg);
    free(dl);
    return 0;
}
