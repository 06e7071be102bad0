/*
 * admin.c: the control-plane thread: the admin API over libevent's evhttp, and the webhook
 * delivery loop (forward/deliver.h) on the same event_base.
 *
 * Slow, rare, feature-rich work belongs here and never on the data plane. Requests that
 * change lead state (stage updates, erasure) are written to the event log as records, like
 * every event, and answered once the scorer has applied them: the state stays a replay of
 * the log.
 */
#include "admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver.h"
#include "log.h"
#include "scorer.h"

struct le_admin_s {
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    pthread_mutex_t mu;
    le_config_t *cfg;
    le_evlog_t *log;
    le_metrics_t *const *blocks;
    size_t nblocks;
    le_scorer_t *scorer;   /* may be NULL */
    le_deliver_t *deliver; /* NULL without a scorer */
};

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
                  const char *body, size_t len) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, len);
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *msg) {
    reply(req, code, reason, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* Bearer token check in constant time (for equal lengths). */
static bool authorized(le_admin_t *a, struct evhttp_request *req, bool *configured) {
    pthread_mutex_lock(&a->mu);
    le_config_t *cfg = le_config_ref(a->cfg);
    pthread_mutex_unlock(&a->mu);
    bool ok = false;
    *configured = cfg->admin.token != NULL;
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (*configured && auth && strncmp(auth, "Bearer ", 7) == 0) {
        const char *given = auth + 7, *want = cfg->admin.token;
        size_t gl = strlen(given), wl = strlen(want);
        ok = gl == wl && CRYPTO_memcmp(given, want, wl) == 0;
    }
    le_config_unref(cfg);
    return ok;
}

static bool is_get(enum evhttp_cmd_type cmd) {
    return cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
}

static bool has_suffix(const char *s, const char *sfx) {
    size_t n = strlen(s), m = strlen(sfx);
    return n > m && strcmp(s + n - m, sfx) == 0;
}

static void reply_json(struct evhttp_request *req, int code, const char *reason, const char *j) {
    le_buf_t b = LE_BUF_INIT;
    le_buf_printf(&b, "%s\n", j);
    reply(req, code, reason, "application/json", b.data, b.len);
    le_buf_free(&b);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg) {
    json_t *o = json_pack("{s:s}", "error", msg);
    char *t = json_dumps(o, JSON_COMPACT);
    reply_json(req, code, reason, t);
    free(t);
    json_decref(o);
}

/* A query parameter (decoded, malloc'd) or NULL. */
static char *query_param(struct evhttp_request *req, const char *name) {
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!q) return NULL;
    struct evkeyvalq params;
    if (evhttp_parse_query_str(q, &params) != 0) return NULL;
    const char *v = evhttp_find_header(&params, name);
    char *out = v ? le_xstrdup(v) : NULL;
    evhttp_clear_headers(&params);
    return out;
}

/* Write an admin record (a stage update, a tombstone) to the event log, make it durable and
 * wait until the scorer has applied it. 0, or an HTTP status to answer with. */
static int append_applied(le_admin_t *a, le_event_t *ev) {
    if (!a->log) return 503;
    int rc = le_evlog_append(a->log, ev);
    if (rc == 0) rc = le_evlog_flush(a->log);
    if (rc != 0) return 503;
    return le_scorer_wait_applied(a->scorer, le_evlog_durable(a->log), 10000) == 0 ? 0 : 504;
}

static void describe(le_admin_t *a, struct evhttp_request *req, const char *key) {
    le_buf_t out = LE_BUF_INIT;
    if (key && *key && strlen(key) <= 320 && le_scorer_describe(a->scorer, key, &out) == 0) {
        le_buf_append(&out, "\n", 1);
        reply(req, 200, "OK", "application/json", out.data, out.len);
    } else {
        reply_error(req, 404, "Not Found", "not found");
    }
    le_buf_free(&out);
}

/* DELETE: erasure of a person (GDPR): a tombstone in the log, applied before the answer. */
static void erase(le_admin_t *a, struct evhttp_request *req, const char *key) {
    char id[33];
    bool is_contact;
    if (!key || !*key || strlen(key) > 320 || le_scorer_resolve(a->scorer, key, id, &is_contact)) {
        reply_error(req, 404, "Not Found", "not found");
        return;
    }
    le_event_t ev = {.time_ms = le_now_ms(), .type = LE_EV_ERASE, .source = LE_SRC_ADMIN};
    memcpy(ev.id, id, 33);
    ev.name = le_str(is_contact ? "contact" : "visitor");
    int code = append_applied(a, &ev);
    if (code) {
        reply_error(req, code, code == 504 ? "Gateway Timeout" : "Service Unavailable",
                    code == 504 ? "the erasure is logged but not applied yet"
                                : "the event log is not writable");
        return;
    }
    le_log(LE_LOG_INFO, "admin: erased %s %s", is_contact ? "contact" : "visitor", id);
    json_t *o = json_pack("{s:s,s:s}", "erased", id, "kind", is_contact ? "contact" : "visitor");
    char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    reply_json(req, 200, "OK", t);
    free(t);
    json_decref(o);
}

static void leads(le_admin_t *a, struct evhttp_request *req) {
    char *state = query_param(req, "state"), *lim = query_param(req, "limit");
    le_stage_t st = LE_STAGE_NONE;
    if (state &&
        !(st = strcmp(state, "mql") == 0 ? LE_STAGE_MQL : le_stage_parse(state, strlen(state)))) {
        reply_error(req, 400, "Bad Request",
                    "state: expected mql, accepted, tql, sal, sql, won, lost, recycled or "
                    "rejected");
    } else {
        long limit = lim ? strtol(lim, NULL, 10) : 1000;
        if (limit < 1 || limit > 100000) limit = 1000;
        le_buf_t out = LE_BUF_INIT;
        le_scorer_leads(a->scorer, st, (size_t)limit, &out);
        le_buf_append(&out, "\n", 1);
        reply(req, 200, "OK", "application/json", out.data, out.len);
        le_buf_free(&out);
    }
    free(state);
    free(lim);
}

/* POST /v1/leads/{id}/status {"status": "accepted", "reason": "...", "bant": [...]} */
static void set_status(le_admin_t *a, struct evhttp_request *req, const char *key) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = le_xmalloc(len + 1);
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    free(body);
    const char *status = j ? json_string_value(json_object_get(j, "status")) : NULL;
    const char *reason = j ? json_string_value(json_object_get(j, "reason")) : NULL;
    json_t *bant = j ? json_object_get(j, "bant") : NULL;
    le_stage_t st = status ? le_stage_parse(status, strlen(status)) : LE_STAGE_NONE;
    char bants[64] = "";
    bool ok = j && json_is_object(j) && st != LE_STAGE_NONE && (!reason || strlen(reason) <= 500);
    if (ok && bant) {
        size_t i;
        json_t *v;
        ok = json_is_array(bant);
        json_array_foreach(bant, i, v) {
            const char *b = json_string_value(v);
            if (!b || le_bant_parse(b, strlen(b)) <= 0 ||
                strlen(bants) + strlen(b) + 2 > sizeof(bants)) {
                ok = false;
                break;
            }
            if (*bants) strcat(bants, ",");
            strcat(bants, b);
        }
    }
    if (!ok) {
        reply_error(req, 400, "Bad Request",
                    "expected {\"status\": accepted (or tal), tql, sal, sql, won, lost, recycled "
                    "or rejected, \"reason\": text up to 500 bytes, \"bant\": [budget, "
                    "authority, need, timing]}");
        json_decref(j);
        return;
    }
    /* the lead: a contact id or e-mail, a visitor id of the contact, or an MQL id
     * (<contact id>-<n>) */
    char id[33];
    bool is_contact = false;
    char *k = le_xstrdup(key ? key : "");
    char *dash = strchr(k, '-');
    if (dash && !strchr(k, '@') && dash - k == 32) *dash = '\0';
    int rc = *k && strlen(k) <= 320 ? le_scorer_resolve(a->scorer, k, id, &is_contact) : -1;
    free(k);
    le_stage_t cur;
    uint32_t cycle, mql_at;
    if (rc != 0 || !is_contact) {
        reply_error(req, 404, "Not Found", "no contact with that id or e-mail address");
    } else if (le_scorer_stage(a->scorer, id, &cur, &cycle, &mql_at) != 0 || !cycle) {
        reply_error(req, 409, "Conflict", "the lead has never been an MQL");
    } else {
        le_kv_t props[2];
        le_event_t ev = {.time_ms = le_now_ms(), .type = LE_EV_STATUS, .source = LE_SRC_ADMIN};
        memcpy(ev.id, id, 33);
        ev.name = le_str(le_stage_name(st));
        if (reason && *reason) props[ev.nprops++] = (le_kv_t){le_str("reason"), le_str(reason)};
        if (*bants) props[ev.nprops++] = (le_kv_t){le_str("bant"), le_str(bants)};
        ev.props = props;
        int code = append_applied(a, &ev);
        if (code) {
            reply_error(req, code, code == 504 ? "Gateway Timeout" : "Service Unavailable",
                        code == 504 ? "the update is logged but not applied yet"
                                    : "the event log is not writable");
        } else {
            describe(a, req, id);
        }
    }
    json_decref(j);
}

/* A time for the funnel window: Unix seconds or an RFC 3339 date ("2026-11-01" or with a
 * time). -1 when neither. */
static int64_t parse_when(const char *s) {
    if (!s || !*s) return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*end && v >= 0) return v;
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p) return -1;
    if (*p == 'T' || *p == ' ') {
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (!p) return -1;
        if (*p == 'Z') p++;
    }
    if (*p) return -1;
    return (int64_t)timegm(&tm);
}

/* GET /v1/funnel?from=&to= (default: the last 30 days) */
static void funnel(le_admin_t *a, struct evhttp_request *req) {
    char *f = query_param(req, "from"), *t = query_param(req, "to");
    int64_t now = le_now_ms() / 1000;
    int64_t to = t ? parse_when(t) : now + 1, from = f ? parse_when(f) : to - 30 * 86400;
    if (from < 0 || to < 0 || from >= to || to > UINT32_MAX) {
        reply_error(req, 400, "Bad Request",
                    "from and to: Unix seconds or dates such as 2026-11-01, from before to");
    } else {
        le_buf_t out = LE_BUF_INIT;
        le_scorer_funnel(a->scorer, (uint32_t)from, (uint32_t)to, &out);
        le_buf_append(&out, "\n", 1);
        reply(req, 200, "OK", "application/json", out.data, out.len);
        le_buf_free(&out);
    }
    free(f);
    free(t);
}

/* POST /v1/outbox/{id}/retry and /drop (what `leadedge outbox retry|drop` asks a running
 * server to do) */
static void outbox_op(le_admin_t *a, struct evhttp_request *req, const char *id, bool retry) {
    le_outbox_t *ob = le_scorer_outbox(a->scorer);
    int rc = !ob || !id ? -ENOENT
             : retry    ? le_outbox_retry(ob, id, le_now_ms())
                        : le_outbox_drop(ob, id, le_now_ms());
    if (rc == 0) {
        if (retry && a->deliver) le_deliver_kick(a->deliver);
        reply_json(req, 200, "OK", retry ? "{\"state\":\"pending\"}" : "{\"state\":\"dropped\"}");
    } else if (rc == -ENOENT) {
        reply_error(req, 404, "Not Found", "no outbox item with that id");
    } else if (rc == -EALREADY) {
        reply_error(req, 409, "Conflict",
                    retry ? "already delivered" : "already delivered or dropped");
    } else {
        reply_error(req, 503, "Service Unavailable", "the outbox is not writable");
    }
}

static void on_request(struct evhttp_request *req, void *arg) {
    le_admin_t *a = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (!path) path = "/";
    bool healthy = !a->log || le_evlog_healthy(a->log);
    if (strcmp(path, "/healthz") == 0) {
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
            reply_text(req, 405, "Method Not Allowed", "method not allowed\n");
            return;
        }
        reply_text(req, healthy ? 200 : 503, healthy ? "OK" : "Service Unavailable",
                   healthy ? "ok\n" : "event log failed\n");
        return;
    }
    bool configured;
    if (!authorized(a, req, &configured)) {
        if (!configured) {
            reply_text(req, 403, "Forbidden",
                       "admin.token is not set: the admin API is disabled\n");
        } else {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"leadedge\"");
            reply_text(req, 401, "Unauthorized", "missing or wrong bearer token\n");
        }
        return;
    }
    if (strcmp(path, "/readyz") == 0 && is_get(cmd)) {
        bool ready = healthy && (!a->scorer || le_scorer_outbox(a->scorer));
        reply_text(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable",
                   !healthy ? "event log failed\n"
                   : ready  ? "ready\n"
                            : "outbox not open\n");
    } else if (strcmp(path, "/metrics") == 0 && is_get(cmd)) {
        le_buf_t out = LE_BUF_INIT;
        le_metrics_render(&out, a->blocks, a->nblocks, a->log);
        if (a->scorer) le_scorer_metrics(a->scorer, &out);
        if (a->deliver) le_deliver_metrics(a->deliver, &out);
        reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
        le_buf_free(&out);
    } else if (!a->scorer) {
        reply_text(req, 404, "Not Found", "not found\n");
    } else if (strncmp(path, "/v1/visitors/", 13) == 0 || strncmp(path, "/v1/contacts/", 13) == 0) {
        char *key = evhttp_uridecode(path + 13, 0, NULL);
        if (cmd == EVHTTP_REQ_DELETE)
            erase(a, req, key);
        else if (is_get(cmd))
            describe(a, req, key);
        else
            reply_json(req, 405, "Method Not Allowed", "{\"error\":\"use GET or DELETE\"}");
        free(key);
    } else if (strcmp(path, "/v1/leads") == 0 && is_get(cmd)) {
        leads(a, req);
    } else if (strncmp(path, "/v1/leads/", 10) == 0 && has_suffix(path, "/status")) {
        if (cmd != EVHTTP_REQ_POST) {
            reply_json(req, 405, "Method Not Allowed", "{\"error\":\"use POST\"}");
        } else {
            size_t n = strlen(path) - 10 - 7;
            char *enc = le_xstrndup(path + 10, n);
            char *key = evhttp_uridecode(enc, 0, NULL);
            set_status(a, req, key);
            free(key);
            free(enc);
        }
    } else if (strcmp(path, "/v1/funnel") == 0 && is_get(cmd)) {
        funnel(a, req);
    } else if (strncmp(path, "/v1/outbox/", 11) == 0 &&
               (has_suffix(path, "/retry") || has_suffix(path, "/drop"))) {
        if (cmd != EVHTTP_REQ_POST) {
            reply_json(req, 405, "Method Not Allowed", "{\"error\":\"use POST\"}");
        } else {
            bool retry = has_suffix(path, "/retry");
            char *enc = le_xstrndup(path + 11, strlen(path) - 11 - (retry ? 6 : 5));
            char *id = evhttp_uridecode(enc, 0, NULL);
            outbox_op(a, req, id, retry);
            free(id);
            free(enc);
        }
    } else {
        reply_text(req, 404, "Not Found", "not found\n");
    }
}

/* ---- the delivery loop's hooks ------------------------------------------------------------ */

/* Does the contact's MQL of that cycle still wait to be accepted? */
static bool hook_awaiting(void *ud, const char *lead, uint32_t cycle) {
    le_admin_t *a = ud;
    char id[33];
    bool is_contact = false;
    le_stage_t st;
    uint32_t c, at;
    if (le_scorer_resolve(a->scorer, lead, id, &is_contact) != 0 || !is_contact ||
        strcmp(id, lead) != 0 || le_scorer_stage(a->scorer, lead, &st, &c, &at) != 0)
        return false;
    return st == LE_STAGE_MQL && c == cycle;
}

/* The breach goes into the log like a stage update (the funnel counts it). */
static void hook_breach(void *ud, const char *lead) {
    le_admin_t *a = ud;
    if (!a->log || strlen(lead) != 32) return;
    le_event_t ev = {.time_ms = le_now_ms(), .type = LE_EV_STATUS, .source = LE_SRC_ADMIN};
    memcpy(ev.id, lead, 33);
    ev.name = le_str("breach");
    if (le_evlog_append(a->log, &ev) != 0)
        le_log(LE_LOG_ERROR, "sla: the breach of %s could not be logged", lead);
}

static void kick(void *ud) {
    le_deliver_kick(ud);
}

typedef struct {
    le_admin_t *a;
    le_config_t *cfg;
} reconf_t;

static void on_reconf(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    reconf_t *r = arg;
    char *msg = NULL;
    if (r->a->deliver && le_deliver_set_config(r->a->deliver, r->cfg, &msg) != 0) {
        le_log(LE_LOG_ERROR, "reload: webhook endpoints not changed: %s", msg);
        free(msg);
    }
    le_config_unref(r->cfg);
    free(r);
}

static void *run(void *arg) {
    le_admin_t *a = arg;
    event_base_dispatch(a->base);
    return NULL;
}

int le_admin_start(le_admin_t **out, le_config_t *cfg, le_evlog_t *log, le_metrics_t *const *blocks,
                   size_t nblocks, le_scorer_t *scorer, uint16_t *bound) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))evthread_use_pthreads);
    le_admin_t *a = le_xcalloc(1, sizeof(*a));
    a->cfg = le_config_ref(cfg);
    a->log = log;
    a->blocks = blocks;
    a->nblocks = nblocks;
    a->scorer = scorer;
    pthread_mutex_init(&a->mu, NULL);
    a->base = event_base_new();
    a->http = evhttp_new(a->base);
    evhttp_set_gencb(a->http, on_request, a);
    evhttp_set_max_headers_size(a->http, 16384);
    evhttp_set_max_body_size(a->http, 65536);
    evhttp_set_timeout(a->http, 10);

    char host[LE_LISTEN_HOST_MAX];
    uint16_t port;
    bool bound_ok = false;
    if (le_listen_parse(cfg->admin.listen, host, &port) != 0) goto fail;
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(a->http, host, port);
    if (!s) goto fail;
    bound_ok = true;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    if (scorer && log && le_scorer_outbox(scorer)) {
        le_deliver_hooks_t hooks = {.awaiting = hook_awaiting, .breach = hook_breach, .ud = a};
        char *msg = NULL;
        if (le_deliver_new(a->base, cfg, le_scorer_outbox(scorer), &hooks, &a->deliver, &msg) !=
            0) {
            le_log(LE_LOG_ERROR, "webhooks: %s", msg);
            free(msg);
            goto fail;
        }
        le_scorer_set_notify(scorer, kick, a->deliver);
    }
    if (pthread_create(&a->thread, NULL, run, a) != 0) goto fail;
    *out = a;
    return 0;
fail:
    if (!bound_ok) le_log(LE_LOG_ERROR, "admin: cannot listen on %s", cfg->admin.listen);
    if (a->scorer) le_scorer_set_notify(a->scorer, NULL, NULL);
    le_deliver_free(a->deliver);
    evhttp_free(a->http);
    event_base_free(a->base);
    le_config_unref(a->cfg);
    pthread_mutex_destroy(&a->mu);
    free(a);
    return -EADDRNOTAVAIL;
}

void le_admin_set_config(le_admin_t *a, le_config_t *cfg) {
    pthread_mutex_lock(&a->mu);
    le_config_t *old = a->cfg;
    a->cfg = le_config_ref(cfg);
    pthread_mutex_unlock(&a->mu);
    le_config_unref(old);
    if (a->deliver) { /* the endpoints are the control-plane thread's */
        reconf_t *r = le_xcalloc(1, sizeof(*r));
        r->a = a;
        r->cfg = le_config_ref(cfg);
        event_base_once(a->base, -1, EV_TIMEOUT, on_reconf, r, NULL);
    }
}

void le_admin_stop(le_admin_t *a) {
    if (!a) return;
    event_base_loopbreak(a->base);
    pthread_join(a->thread, NULL);
    if (a->scorer) le_scorer_set_notify(a->scorer, NULL, NULL);
    le_deliver_free(a->deliver); /* in flight: stays pending, sent again at the next start */
    /* cancelled DNS lookups report from the loop: let them */
    event_base_loop(a->base, EVLOOP_NONBLOCK);
    event_base_loop(a->base, EVLOOP_NONBLOCK);
    evhttp_free(a->http);
    event_base_free(a->base);
    le_config_unref(a->cfg);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
