/*
 * deliver.c: the delivery loop, the SLA watch and the dead-letter file (deliver.h).
 */
#include "deliver.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "payload.h"
#include "retry.h"
#include "sign.h"

#define SLA_TICK_MS 500 /* how often the SLA watch looks */
#define MAX_DUE 4096    /* items sent per pass at most (the next pass takes the rest) */

/* Latency buckets (seconds) of the two histograms. */
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                 1,     2.5,  5,     10,   30,  60,   300};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

typedef struct {
    atomic_uint_fast64_t count, sum_us, bucket[NBUCKETS];
} hist_t;

typedef struct {
    const le_endpointconf_t *conf; /* in d->cfg */
    le_client_t *client;
} ep_t;

/* One request in flight. */
typedef struct req_s {
    le_deliver_t *d;
    char *id, *lead, *type, *endpoint, *payload;
    uint32_t attempts; /* before this one */
    int64_t created_ms, since_ms;
    struct req_s *next;
} req_t;

struct le_deliver_s {
    struct event_base *base;
    le_config_t *cfg;
    le_outbox_t *ob;
    le_deliver_hooks_t hooks;
    ep_t *eps;
    size_t neps;
    req_t *inflight; /* a list: at most the sum of the endpoints' concurrency */
    struct event *scan, *due, *sla;
    size_t sla_mark;  /* outbox items before this one were looked at by the SLA watch */
    uint64_t sla_gen; /* le_outbox_erasures when sla_mark was last valid */
    char *dead_letter;
    bool closing;
    atomic_uint_fast64_t delivered, retried, dead, attempts, escalations, send_errors;
    hist_t attempt_latency, handoff_latency;
};

static pthread_mutex_t dlq_mu = PTHREAD_MUTEX_INITIALIZER; /* the dead-letter file */

/* The jitter's randomness (a retry is rare: a system call is fine). */
static uint64_t random64(void) {
    uint64_t r;
    le_random(&r, sizeof(r));
    return r;
}

static void observe(hist_t *h, int64_t us) {
    if (us < 0) us = 0;
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_us, (uint64_t)us);
    for (size_t i = 0; i < NBUCKETS; i++)
        if ((double)us <= buckets[i] * 1e6) atomic_fetch_add(&h->bucket[i], 1);
}

/* ---- the dead-letter file ---------------------------------------------------------------- */

char *le_dead_letter_path(const le_config_t *cfg) {
    return cfg->crm.dead_letter ? le_xstrdup(cfg->crm.dead_letter)
                                : le_strf("%s/dead-letter.jsonl", cfg->store.data_dir);
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int dead_letter_append(const char *path, const req_t *q, uint32_t attempts,
                              const char *reason, int64_t at) {
    char created[LE_PAYLOAD_TIME_SIZE], dead[LE_PAYLOAD_TIME_SIZE];
    le_payload_time(q->created_ms, created);
    le_payload_time(at, dead);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(q->id));
    json_object_set_new(o, "type", json_string(q->type ? q->type : "mql"));
    json_object_set_new(o, "lead", json_string(q->lead ? q->lead : ""));
    json_object_set_new(o, "endpoint", q->endpoint ? json_string(q->endpoint) : json_null());
    json_object_set_new(o, "attempts", json_integer(attempts));
    json_object_set_new(o, "reason", json_string(reason));
    json_object_set_new(o, "created_at", json_string(created));
    json_object_set_new(o, "dead_at", json_string(dead));
    json_t *p = json_loads(q->payload, 0, NULL);
    json_object_set_new(o, "payload", p ? p : json_string(q->payload));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    pthread_mutex_lock(&dlq_mu);
    int rc = 0, fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
    } else {
        rc = write_all(fd, line, strlen(line));
        if (rc == 0) rc = write_all(fd, "\n", 1);
        if (rc == 0 && fdatasync(fd) != 0) rc = -errno;
        close(fd);
    }
    pthread_mutex_unlock(&dlq_mu);
    free(line);
    return rc;
}

int le_dead_letter_erase(const char *path, const char *const *leads, size_t n) {
    pthread_mutex_lock(&dlq_mu);
    int rc = 0;
    FILE *in = fopen(path, "re");
    if (!in) {
        rc = errno == ENOENT ? 0 : -errno;
        pthread_mutex_unlock(&dlq_mu);
        return rc;
    }
    char *tmp = le_strf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool changed = false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (fd >= 0 && rc == 0 && (len = getline(&line, &cap, in)) > 0) {
        json_t *o = json_loadb(line, (size_t)len, 0, NULL);
        const char *lead = o ? json_string_value(json_object_get(o, "lead")) : NULL;
        bool hit = false;
        for (size_t i = 0; lead && i < n && !hit; i++) hit = strcmp(lead, leads[i]) == 0;
        json_decref(o);
        if (hit)
            changed = true;
        else
            rc = write_all(fd, line, (size_t)len);
    }
    free(line);
    fclose(in);
    if (fd < 0) rc = -errno;
    if (fd >= 0 && rc == 0 && fsync(fd) != 0) rc = -errno;
    if (fd >= 0) close(fd);
    if (rc == 0 && changed && rename(tmp, path) != 0) rc = -errno;
    if (rc != 0 || !changed) unlink(tmp);
    free(tmp);
    pthread_mutex_unlock(&dlq_mu);
    return rc;
}

/* ---- endpoints --------------------------------------------------------------------------- */

static void free_eps(ep_t *eps, size_t n) {
    for (size_t i = 0; i < n; i++) le_client_free(eps[i].client);
    free(eps);
}

static int make_eps(struct event_base *base, const le_config_t *cfg, ep_t **out, size_t *nout,
                    char **msg) {
    ep_t *eps = le_xcalloc(cfg->crm.nendpoints + 1, sizeof(*eps));
    for (size_t i = 0; i < cfg->crm.nendpoints; i++) {
        const le_endpointconf_t *c = &cfg->crm.endpoints[i];
        const char **hdrs = le_xcalloc(2 * c->nheaders + 1, sizeof(char *));
        for (size_t k = 0; k < c->nheaders; k++) {
            hdrs[2 * k] = c->headers[k].name;
            hdrs[2 * k + 1] = c->headers[k].value;
        }
        le_client_opts_t o = {.url = c->url,
                              .timeout_ms = c->timeout_ms,
                              .concurrency = c->concurrency,
                              .ca_file = c->ca_file,
                              .headers = hdrs,
                              .nheaders = c->nheaders};
        char *why = NULL;
        int rc = le_client_new(base, &o, &eps[i].client, &why);
        free(hdrs);
        if (rc != 0) {
            *msg = le_strf("crm.endpoints[%zu] (%s): %s", i, c->name, why ? why : "invalid");
            free(why);
            free_eps(eps, i);
            return LE_EINVAL;
        }
        eps[i].conf = c;
    }
    *out = eps;
    *nout = cfg->crm.nendpoints;
    return 0;
}

/* The item's endpoint; an item without one (or routed before routes existed) goes to the
 * first. NULL when there is none of that name. */
static ep_t *endpoint(le_deliver_t *d, const char *name) {
    if (!d->neps) return NULL;
    if (!name) return &d->eps[0];
    for (size_t i = 0; i < d->neps; i++)
        if (strcmp(d->eps[i].conf->name, name) == 0) return &d->eps[i];
    return NULL;
}

/* ---- in flight --------------------------------------------------------------------------- */

static bool in_flight(le_deliver_t *d, const char *id) {
    for (req_t *q = d->inflight; q; q = q->next)
        if (strcmp(q->id, id) == 0) return true;
    return false;
}

static void unlink_req(le_deliver_t *d, req_t *q) {
    for (req_t **p = &d->inflight; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            return;
        }
}

static void free_req(req_t *q) {
    free(q->id);
    free(q->lead);
    free(q->type);
    free(q->endpoint);
    free(q->payload);
    free(q);
}

static void schedule_scan(le_deliver_t *d) {
    if (!d->closing) event_active(d->scan, EV_TIMEOUT, 0);
}

/* ---- outcomes ---------------------------------------------------------------------------- */

/* Give up on q after attempts: dead in the outbox, a line in the dead-letter file. The
 * outbox's answer: -ENOENT when the item was erased meanwhile (nothing of it is written). */
static int go_dead(le_deliver_t *d, const req_t *q, uint32_t attempts, const char *why,
                   int64_t now) {
    int rc = le_outbox_set(d->ob, q->id, LE_OB_DEAD, attempts, 0, why, now);
    if (rc == -ENOENT) return rc;
    atomic_fetch_add(&d->dead, 1);
    int drc = dead_letter_append(d->dead_letter, q, attempts, why, now);
    le_log(LE_LOG_ERROR, "deliver: %s to %s is dead after %u attempts (%s)%s%s", q->id,
           q->endpoint ? q->endpoint : "-", attempts, why,
           drc ? "; writing the dead-letter file failed: " : "", drc ? strerror(-drc) : "");
    return rc;
}

static void record(le_deliver_t *d, req_t *q, const le_client_result_t *r) {
    int64_t now = le_now_ms();
    uint32_t attempts = q->attempts + 1;
    char reason[256];
    if (r->status)
        snprintf(reason, sizeof(reason), "HTTP %d%s%.200s", r->status, r->error ? ": " : "",
                 r->error ? r->error : "");
    else
        snprintf(reason, sizeof(reason), "%.240s", r->error ? r->error : "no answer");
    le_retry_verdict_t v = le_retry_classify(r->status);
    const le_config_t *cfg = d->cfg;
    int rc = 0;
    if (v == LE_RETRY_DONE) {
        rc = le_outbox_set(d->ob, q->id, LE_OB_DELIVERED, attempts, 0, NULL, now);
        atomic_fetch_add(&d->delivered, 1);
        observe(&d->handoff_latency, (now - q->created_ms) * 1000);
        le_log(LE_LOG_INFO, "deliver: %s delivered to %s (attempt %u, %lld ms)", q->id,
               q->endpoint ? q->endpoint : "-", attempts, (long long)(r->elapsed_us / 1000));
    } else if (v == LE_RETRY_AGAIN && now - q->since_ms < (int64_t)cfg->crm.retry.max_age_ms) {
        int64_t ra = r->retry_after ? le_retry_after_ms(r->retry_after, now) : -1;
        int64_t wait = le_retry_delay_ms(attempts, (int64_t)cfg->crm.retry.base_ms,
                                         (int64_t)cfg->crm.retry.cap_ms, random64(), ra);
        rc = le_outbox_set(d->ob, q->id, LE_OB_PENDING, attempts, now + wait, reason, now);
        atomic_fetch_add(&d->retried, 1);
        le_log(attempts == 1 ? LE_LOG_WARN : LE_LOG_DEBUG,
               "deliver: %s to %s failed (%s); attempt %u again in %lld ms", q->id,
               q->endpoint ? q->endpoint : "-", reason, attempts + 1, (long long)wait);
    } else {
        char why[320];
        if (v == LE_RETRY_AGAIN)
            snprintf(why, sizeof(why), "still failing after crm.retry.max_age: %s", reason);
        else
            snprintf(why, sizeof(why), "%s", reason);
        rc = go_dead(d, q, attempts, why, now);
    }
    if (rc == -ENOENT)
        le_log(LE_LOG_INFO, "deliver: %s was erased while in flight; its answer is ignored", q->id);
    else if (rc != 0)
        le_log(LE_LOG_ERROR,
               "deliver: recording the outcome of %s failed (%s); it is sent again later", q->id,
               strerror(rc < 0 ? -rc : EIO));
}

static void on_done(void *ud, const le_client_result_t *r) {
    req_t *q = ud;
    le_deliver_t *d = q->d;
    unlink_req(d, q);
    /* cancelled (a reload or shutdown): no attempt was made as far as the item goes */
    bool cancelled = !r->status && r->error && strcmp(r->error, "cancelled") == 0;
    if (!cancelled) {
        atomic_fetch_add(&d->attempts, 1);
        observe(&d->attempt_latency, r->elapsed_us);
        record(d, q, r);
    }
    free_req(q);
    schedule_scan(d);
}

/* Sign and send item id. False when its endpoint cannot take it now. */
static bool send_item(le_deliver_t *d, const char *id) {
    le_ob_item_t it;
    if (le_outbox_get(d->ob, id, &it) != 0) return true;
    ep_t *ep = endpoint(d, it.endpoint);
    bool sent = true;
    if (!ep) {
        /* the route named an endpoint the config no longer has: wait for a config that has */
        int64_t now = le_now_ms();
        char why[160];
        snprintf(why, sizeof(why), "no endpoint named %.64s in crm.endpoints",
                 it.endpoint ? it.endpoint : "-");
        le_outbox_set(d->ob, id, LE_OB_PENDING, it.attempts, now + 60000, why, now);
        le_log(LE_LOG_WARN, "deliver: %s: %s; looking again in a minute", id, why);
        le_ob_item_free(&it);
        return true;
    }
    if (!le_client_can_send(ep->client)) {
        le_ob_item_free(&it);
        return false;
    }
    const le_endpointconf_t *c = ep->conf;
    json_t *p = json_loadb(it.payload, it.len, 0, NULL);
    char *body;
    if (p && c->nfield_map) {
        json_t *m = le_payload_map(p, c->field_map, c->nfield_map, c->keep_unmapped);
        body = le_payload_dump(m);
        json_decref(m);
    } else {
        body = le_xstrndup(it.payload, it.len);
    }
    json_decref(p);
    int64_t t = le_now_ms() / 1000;
    le_buf_t sig = LE_BUF_INIT;
    le_sig_header((const char *const *)c->secrets.items, c->secrets.n, t, body, strlen(body), &sig);
    char attempt[16];
    snprintf(attempt, sizeof(attempt), "%u", it.attempts + 1);
    const char *hdrs[] = {"Leadedge-Signature", le_buf_cstr(&sig),
                          "Idempotency-Key",    it.id,
                          "Leadedge-Attempt",   attempt};
    req_t *q = le_xcalloc(1, sizeof(*q));
    q->d = d;
    q->id = it.id;
    q->lead = it.lead;
    q->type = it.type;
    q->endpoint = le_xstrdup(c->name);
    q->payload = it.payload;
    q->attempts = it.attempts;
    q->created_ms = it.created_ms;
    q->since_ms = it.since_ms;
    it.id = it.lead = it.type = it.payload = NULL;
    le_ob_item_free(&it);
    int rc = le_client_post(ep->client, hdrs, 3, body, strlen(body), on_done, q);
    le_buf_free(&sig);
    free(body);
    if (rc == LE_EFULL) {
        free_req(q);
        return false;
    }
    if (rc != 0) {
        atomic_fetch_add(&d->send_errors, 1);
        le_log(LE_LOG_ERROR, "deliver: %s could not be sent (%d)", id, rc);
        free_req(q);
        return sent;
    }
    q->next = d->inflight;
    d->inflight = q;
    return sent;
}

/* ---- the pass ---------------------------------------------------------------------------- */

typedef struct {
    le_deliver_t *d;
    int64_t now, next_due; /* the earliest future attempt; INT64_MAX none */
    uint32_t *avail;       /* per endpoint: requests it can take in this pass */
    char **due;
    size_t ndue;
    bool *expired;
    /* leads with an earlier item pending or in flight (their later items wait) */
    char **busy;
    size_t nbusy, capbusy; /* open addressing, capbusy a power of two */
} pass_t;

static bool busy_add(pass_t *p, const char *lead) {
    if ((p->nbusy + 1) * 2 > p->capbusy) {
        size_t cap = p->capbusy ? p->capbusy * 2 : 64;
        char **n = le_xcalloc(cap, sizeof(char *));
        for (size_t i = 0; i < p->capbusy; i++)
            if (p->busy[i]) {
                size_t h = le_hash(p->busy[i], strlen(p->busy[i])) & (cap - 1);
                while (n[h]) h = (h + 1) & (cap - 1);
                n[h] = p->busy[i];
            }
        free(p->busy);
        p->busy = n;
        p->capbusy = cap;
    }
    size_t h = le_hash(lead, strlen(lead)) & (p->capbusy - 1);
    for (; p->busy[h]; h = (h + 1) & (p->capbusy - 1))
        if (strcmp(p->busy[h], lead) == 0) return false;
    p->busy[h] = le_xstrdup(lead);
    p->nbusy++;
    return true;
}

static int visit_pending(void *ud, const le_ob_item_t *it) {
    pass_t *p = ud;
    bool first = busy_add(p, it->lead ? it->lead : it->id);
    if (!first || in_flight(p->d, it->id)) return 0;
    if (it->next_ms > p->now) {
        if (it->next_ms < p->next_due) p->next_due = it->next_ms;
        return 0;
    }
    bool expired = p->now - it->since_ms >= (int64_t)p->d->cfg->crm.retry.max_age_ms;
    ep_t *ep = endpoint(p->d, it->endpoint);
    if (!expired && ep) { /* only what the endpoint can take now; a completion looks again */
        uint32_t *avail = &p->avail[ep - p->d->eps];
        if (!*avail) return 0;
        (*avail)--;
    }
    p->due[p->ndue] = le_xstrdup(it->id);
    p->expired[p->ndue++] = expired;
    return p->ndue == MAX_DUE;
}

static void expire(le_deliver_t *d, const char *id) {
    le_ob_item_t it;
    if (le_outbox_get(d->ob, id, &it) != 0) return;
    int64_t now = le_now_ms();
    char why[320];
    snprintf(why, sizeof(why), "older than crm.retry.max_age%s%.240s", it.reason ? ": " : "",
             it.reason ? it.reason : "");
    req_t q = {.id = it.id,
               .lead = it.lead,
               .type = it.type,
               .endpoint = it.endpoint,
               .payload = it.payload,
               .created_ms = it.created_ms};
    go_dead(d, &q, it.attempts, why, now);
    le_ob_item_free(&it);
}

static void on_scan(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    le_deliver_t *d = arg;
    if (d->closing || !d->neps) return; /* no endpoints: MQLs wait in the outbox */
    pass_t p = {.d = d, .now = le_now_ms(), .next_due = INT64_MAX};
    p.avail = le_xcalloc(d->neps, sizeof(uint32_t));
    for (size_t i = 0; i < d->neps; i++) {
        uint32_t busy = 0;
        for (req_t *q = d->inflight; q; q = q->next)
            busy += q->endpoint && strcmp(q->endpoint, d->eps[i].conf->name) == 0;
        p.avail[i] = d->eps[i].conf->concurrency > busy ? d->eps[i].conf->concurrency - busy : 0;
    }
    p.due = le_xcalloc(MAX_DUE, sizeof(char *));
    p.expired = le_xcalloc(MAX_DUE, sizeof(bool));
    bool more = le_outbox_each_pending(d->ob, visit_pending, &p) != 0;
    for (size_t i = 0; i < p.ndue; i++) {
        if (p.expired[i])
            expire(d, p.due[i]);
        else
            send_item(d, p.due[i]);
        free(p.due[i]);
    }
    for (size_t i = 0; i < p.capbusy; i++) free(p.busy[i]);
    free(p.busy);
    free(p.due);
    free(p.expired);
    free(p.avail);
    if (more) {
        /* through a timer, so that the loop reads the answers in between (an active event
         * made active again from its own callback runs again before any I/O) */
        struct timeval zero = {0, 0};
        event_add(d->due, &zero);
    } else if (p.next_due != INT64_MAX) {
        int64_t wait = p.next_due - le_now_ms();
        if (wait < 1) wait = 1;
        struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
        event_add(d->due, &tv);
    }
}

/* ---- the SLA watch ----------------------------------------------------------------------- */

typedef struct {
    int64_t now, within;
    char **ids;
    size_t n, cap;
} sla_pass_t;

static bool is_escalation(const char *id) {
    size_t n = strlen(id);
    return n > 4 && strcmp(id + n - 4, "-esc") == 0;
}

static int visit_sla(void *ud, const le_ob_item_t *it) {
    sla_pass_t *p = ud;
    if (is_escalation(it->id)) return 0; /* created when escalated: out of the MQLs' order */
    if (it->created_ms + p->within > p->now) return 1; /* this one and later are not due */
    if (it->type && strcmp(it->type, "mql") == 0 && it->state != LE_OB_DROPPED) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 16;
            p->ids = le_xrealloc(p->ids, p->cap * sizeof(char *));
        }
        p->ids[p->n++] = le_xstrdup(it->id);
    }
    return 0;
}

static const le_routeconf_t *route_named(const le_config_t *cfg, const char *name) {
    for (size_t i = 0; name && i < cfg->routing.nroutes; i++)
        if (strcmp(cfg->routing.routes[i].name, name) == 0) return &cfg->routing.routes[i];
    return NULL;
}

static void escalate(le_deliver_t *d, const char *id) {
    le_ob_item_t it;
    if (le_outbox_get(d->ob, id, &it) != 0) return;
    const char *dash = strrchr(id, '-');
    uint32_t cycle = dash ? (uint32_t)strtoul(dash + 1, NULL, 10) : 0;
    if (!it.lead || !d->hooks.awaiting || !d->hooks.awaiting(d->hooks.ud, it.lead, cycle)) {
        le_ob_item_free(&it);
        return;
    }
    char *eid = le_strf("%s-esc", id);
    json_t *p = json_loadb(it.payload, it.len, 0, NULL);
    if (!p) p = json_object();
    json_object_set_new(p, "id", json_string(eid)); /* the id is the Idempotency-Key */
    le_payload_set_escalated(p, true);
    const le_routeconf_t *r = route_named(d->cfg, d->cfg->sla.escalation_route);
    if (r) le_payload_set_route(p, r);
    char *body = le_payload_dump(p);
    json_decref(p);
    int64_t now = le_now_ms();
    int rc = le_outbox_add(d->ob, eid, "mql", it.lead, r ? r->endpoint : it.endpoint, now, body,
                           strlen(body));
    if (rc == 0) {
        atomic_fetch_add(&d->escalations, 1);
        if (d->hooks.breach) d->hooks.breach(d->hooks.ud, it.lead);
        le_log(LE_LOG_WARN, "sla: %s was not accepted within sla.accept_within; escalated as %s",
               id, eid);
        schedule_scan(d);
    } else if (rc < 0) {
        le_log(LE_LOG_ERROR, "sla: escalating %s failed: %s", id, strerror(-rc));
    }
    free(eid);
    free(body);
    le_ob_item_free(&it);
}

static void on_sla(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    le_deliver_t *d = arg;
    if (d->closing) return;
    uint64_t gen = le_outbox_erasures(d->ob);
    if (gen != d->sla_gen) { /* an erasure moved the items: look at all of them again */
        d->sla_gen = gen;
        d->sla_mark = 0;
    }
    sla_pass_t p = {.now = le_now_ms(), .within = (int64_t)d->cfg->sla.accept_within_ms};
    le_outbox_each_from(d->ob, &d->sla_mark, visit_sla, &p);
    for (size_t i = 0; i < p.n; i++) {
        escalate(d, p.ids[i]);
        free(p.ids[i]);
    }
    free(p.ids);
}

/* ---- API --------------------------------------------------------------------------------- */

int le_deliver_new(struct event_base *base, le_config_t *cfg, le_outbox_t *ob,
                   const le_deliver_hooks_t *hooks, le_deliver_t **out, char **msg) {
    *out = NULL;
    *msg = NULL;
    le_deliver_t *d = le_xcalloc(1, sizeof(*d));
    if (make_eps(base, cfg, &d->eps, &d->neps, msg) != 0) {
        free(d);
        return LE_EINVAL;
    }
    d->base = base;
    d->cfg = le_config_ref(cfg);
    d->ob = ob;
    if (hooks) d->hooks = *hooks;
    d->dead_letter = le_dead_letter_path(cfg);
    d->scan = event_new(base, -1, 0, on_scan, d);
    d->due = evtimer_new(base, on_scan, d);
    d->sla = event_new(base, -1, EV_PERSIST, on_sla, d);
    struct timeval tick = {0, SLA_TICK_MS * 1000};
    event_add(d->sla, &tick);
    if (!d->neps)
        le_log(LE_LOG_WARN, "webhooks: crm.endpoints is empty: MQLs wait in the outbox until an "
                            "endpoint is configured");
    schedule_scan(d); /* what a previous run left pending */
    *out = d;
    return 0;
}

int le_deliver_check(const le_config_t *cfg, le_buf_t *err) {
    struct event_base *base = event_base_new();
    ep_t *eps = NULL;
    size_t n = 0;
    char *msg = NULL;
    int rc = make_eps(base, cfg, &eps, &n, &msg);
    if (rc == 0)
        free_eps(eps, n);
    else
        le_buf_printf(err, "%s: %s\n", cfg->path, msg);
    free(msg);
    event_base_free(base);
    return rc;
}

void le_deliver_kick(le_deliver_t *d) {
    if (d) event_active(d->scan, EV_TIMEOUT, 0);
}

/* Cancel every request in flight (their callbacks run now; the items stay pending). */
static void cancel_all(le_deliver_t *d) {
    ep_t *eps = d->eps;
    size_t n = d->neps;
    d->eps = NULL;
    d->neps = 0;
    free_eps(eps, n);
}

int le_deliver_set_config(le_deliver_t *d, le_config_t *cfg, char **msg) {
    ep_t *eps;
    size_t n;
    *msg = NULL;
    if (make_eps(d->base, cfg, &eps, &n, msg) != 0) return LE_EINVAL;
    cancel_all(d);
    d->eps = eps;
    d->neps = n;
    le_config_unref(d->cfg);
    d->cfg = le_config_ref(cfg);
    free(d->dead_letter);
    d->dead_letter = le_dead_letter_path(cfg);
    d->sla_mark = 0; /* a new window: look at everything again */
    schedule_scan(d);
    return 0;
}

void le_deliver_free(le_deliver_t *d) {
    if (!d) return;
    d->closing = true;
    cancel_all(d);
    event_free(d->scan);
    event_free(d->due);
    event_free(d->sla);
    le_config_unref(d->cfg);
    free(d->dead_letter);
    free(d);
}

static void hist_lines(le_buf_t *out, const char *name, const char *help, hist_t *h) {
    le_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t i = 0; i < NBUCKETS; i++)
        le_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, buckets[i],
                      (unsigned long long)atomic_load(&h->bucket[i]));
    unsigned long long count = atomic_load(&h->count);
    le_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, count,
                  name, (double)atomic_load(&h->sum_us) / 1e6, name, count);
}

void le_deliver_metrics(le_deliver_t *d, le_buf_t *out) {
    le_buf_printf(out,
                  "# HELP leadedge_deliveries_total Webhook attempts by outcome.\n"
                  "# TYPE leadedge_deliveries_total counter\n"
                  "leadedge_deliveries_total{outcome=\"delivered\"} %llu\n"
                  "leadedge_deliveries_total{outcome=\"retried\"} %llu\n"
                  "leadedge_deliveries_total{outcome=\"dead\"} %llu\n"
                  "# HELP leadedge_delivery_send_errors_total Requests that could not be "
                  "started.\n"
                  "# TYPE leadedge_delivery_send_errors_total counter\n"
                  "leadedge_delivery_send_errors_total %llu\n"
                  "# HELP leadedge_sla_escalations_total MQLs not accepted within "
                  "sla.accept_within, escalated.\n"
                  "# TYPE leadedge_sla_escalations_total counter\n"
                  "leadedge_sla_escalations_total %llu\n",
                  (unsigned long long)atomic_load(&d->delivered),
                  (unsigned long long)atomic_load(&d->retried),
                  (unsigned long long)atomic_load(&d->dead),
                  (unsigned long long)atomic_load(&d->send_errors),
                  (unsigned long long)atomic_load(&d->escalations));
    hist_lines(out, "leadedge_delivery_attempt_seconds",
               "Time from sending a webhook to its answer.", &d->attempt_latency);
    hist_lines(out, "leadedge_handoff_seconds",
               "Time from the MQL decision to the CRM's 2xx (speed to lead).", &d->handoff_latency);
}
