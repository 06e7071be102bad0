/*
 * admin.c: admin API over libevent's evhttp, on its own thread.
 *
 * Slow, rare, feature-rich work belongs here and never on the data plane;
 * later issues add the leads, visitors and erase endpoints and the webhook
 * client to this same event_base.
 */
#include "admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>

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
    le_scorer_t *scorer; /* may be NULL */
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
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        reply_text(req, 405, "Method Not Allowed", "method not allowed\n");
        return;
    }
    if (strcmp(path, "/readyz") == 0) {
        reply_text(req, healthy ? 200 : 503, healthy ? "OK" : "Service Unavailable",
                   healthy ? "ready\n" : "event log failed\n");
    } else if (strcmp(path, "/metrics") == 0) {
        le_buf_t out = LE_BUF_INIT;
        le_metrics_render(&out, a->blocks, a->nblocks, a->log);
        if (a->scorer) le_scorer_metrics(a->scorer, &out);
        reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
        le_buf_free(&out);
    } else if (strncmp(path, "/v1/visitors/", 13) == 0 && a->scorer) {
        /* a visitor id, a contact id or an e-mail address (percent-encoded) */
        char *key = evhttp_uridecode(path + 13, 0, NULL);
        le_buf_t out = LE_BUF_INIT;
        if (key && *key && strlen(key) <= 320 && le_scorer_describe(a->scorer, key, &out) == 0) {
            le_buf_append(&out, "\n", 1);
            reply(req, 200, "OK", "application/json", out.data, out.len);
        } else {
            reply(req, 404, "Not Found", "application/json", "{\"error\":\"not found\"}\n", 22);
        }
        le_buf_free(&out);
        free(key);
    } else {
        reply_text(req, 404, "Not Found", "not found\n");
    }
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
    if (le_listen_parse(cfg->admin.listen, host, &port) != 0) goto fail;
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(a->http, host, port);
    if (!s) goto fail;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    if (pthread_create(&a->thread, NULL, run, a) != 0) goto fail;
    *out = a;
    return 0;
fail:
    le_log(LE_LOG_ERROR, "admin: cannot listen on %s", cfg->admin.listen);
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
}

void le_admin_stop(le_admin_t *a) {
    if (!a) return;
    event_base_loopbreak(a->base);
    pthread_join(a->thread, NULL);
    evhttp_free(a->http);
    event_base_free(a->base);
    le_config_unref(a->cfg);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
