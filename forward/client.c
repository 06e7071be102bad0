/*
 * client.c: HTTP/1.1 over libevent bufferevents, plain or OpenSSL (client.h).
 *
 * Hand-rolled on purpose rather than evhttp's client: libevent 2.1's evhttp_connection
 * reconnects with the bufferevent (and so the SSL object) of the connection the server
 * closed, retries on its own, and reports errors as a bare enum. Here a connection is a
 * small state machine that is never reused once closed:
 *
 *     RESOLVING -> CONNECTING -> [HANDSHAKE] -> BUSY <-> IDLE,  any state -> DEAD
 *
 * RESOLVING runs evdns_getaddrinfo (skipped for IP literals); CONNECTING is our own
 * non-blocking connect(), so a refusal reads as the errno from SO_ERROR, and tries every
 * address in turn; HANDSHAKE is bufferevent_openssl on the connected socket with a fresh SSL
 * object; BUSY is one request written and its answer being parsed (http_parser); IDLE waits
 * for the next request with reading on, so a close by the receiver is seen at once. A DEAD
 * connection goes on a list that the pump frees: nothing is freed from its own callback.
 *
 * The pump is one event made active whenever there is work: free dead connections, give
 * waiting requests a connection (an idle one, else a new one while fewer than `concurrency`
 * exist), then run the callbacks of finished requests. Callbacks therefore always come from
 * the loop, never from inside le_client_post, and a callback may post or free the client.
 *
 * Each request has its own timer (timeout_ms from le_client_post): on expiry the request is
 * answered "timeout" and its connection, in whatever state, is closed.
 */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define RETRY_AFTER_MAX 128 /* bytes of a Retry-After value kept */
#define REASON_MAX 128      /* bytes of a reason phrase kept */

typedef struct conn_s conn_t;
typedef struct req_s req_t;

/*
 * The resolver of a client with a host name. Lookups hold a reference: libevent 2.1 runs the
 * callback of a cancelled lookup later, from the loop, and touches the evdns_base then, so the
 * base outlives a freed client until its last lookup has called back.
 */
typedef struct {
    struct event_base *base;
    struct evdns_base *dns;
    unsigned refs;
} resolver_t;

typedef struct {
    resolver_t *res;
    conn_t *k; /* NULL once the connection gave up on it */
    struct evdns_getaddrinfo_request *q;
} lookup_t;

typedef enum { C_RESOLVING, C_CONNECTING, C_HANDSHAKE, C_IDLE, C_BUSY, C_DEAD } conn_state_t;

struct conn_s {
    le_client_t *c;
    conn_t *prev, *next; /* c->conns (most recently idle first), or c->dead */
    conn_state_t state;
    unsigned answers; /* answers read on this connection */
    lookup_t *lookup;
    struct evutil_addrinfo *ai_owned; /* from the resolver */
    struct evutil_addrinfo *ai_next;  /* the next address to try */
    int fd;                           /* while connecting; then the bufferevent owns it */
    struct event *wev;                /* connect() completion */
    int err;                          /* the last connect() errno */
    struct bufferevent *bev;
    req_t *req; /* the request this connection is for, if any */
    http_parser hp;
};

struct req_s {
    le_client_t *c;
    req_t *next; /* c->pending or c->done */
    conn_t *k;
    bool queued; /* on c->pending */
    le_buf_t wire;
    le_client_cb cb;
    void *ud;
    int64_t start_us, end_us;
    struct event *timer;
    bool reused, retried;
    /* the answer */
    size_t got;       /* bytes received for this attempt */
    size_t hdr_bytes; /* status line and headers, interim answers included */
    int status;
    bool interim, headers_done, complete, keep, stop;
    char field[16]; /* the header name being read, when short enough to matter */
    size_t field_len;
    bool in_value, in_retry_after;
    le_buf_t retry_after, reason, body;
    size_t body_total;
    const char *fail; /* a parse-time error from a callback */
    char *error;
};

struct le_client_s {
    struct event_base *base;
    char *host;      /* lowercase, no brackets */
    char *authority; /* host:port for messages, v6 in brackets */
    char port[8];
    bool tls, literal;
    struct evutil_addrinfo *literal_ai;
    uint32_t timeout_ms, concurrency;
    SSL_CTX *ssl_ctx;
    resolver_t *res;
    le_buf_t head; /* request line and the fixed headers */
    struct event *pump;
    conn_t *conns, *dead;
    uint32_t nconns;
    req_t *pending, **pending_tail;
    req_t *done, **done_tail;
    uint32_t inflight;
    bool delivering, doomed, closing;
};

static const char *const reserved[] = {
    "host",       "content-length",    "content-type", "user-agent",
    "connection", "transfer-encoding", "keep-alive",   "te",
    "trailer",    "upgrade",           "expect"};

static void conn_close(conn_t *k);
static void conn_connect(conn_t *k);
static void conn_send(conn_t *k, req_t *r);
static void read_input(conn_t *k);

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void kick(le_client_t *c) {
    if (c->pump) event_active(c->pump, EV_TIMEOUT, 0);
}

/* ---- helpers --------------------------------------------------------------------------- */

static bool is_tchar(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* 0, or a static sentence saying what is wrong with this header. */
static const char *check_header(const char *name, const char *value) {
    if (!name || !*name) return "empty header name";
    for (const char *p = name; *p; p++)
        if (!is_tchar((unsigned char)*p)) return "header name is not an HTTP token";
    for (size_t i = 0; i < LE_ARRAY_SIZE(reserved); i++)
        if (strcasecmp(name, reserved[i]) == 0) return "header is set by the client itself";
    if (!value) return "header has no value";
    for (const char *p = value; *p; p++)
        if (*p == '\r' || *p == '\n') return "header value contains CR or LF";
    return NULL;
}

static void put_headers(le_buf_t *b, const char *const *h, size_t n) {
    for (size_t i = 0; i < n; i++) le_buf_printf(b, "%s: %s\r\n", h[2 * i], h[2 * i + 1]);
}

/* Keep printable ASCII; everything else becomes '?' (and CR, LF, TAB a space). */
static char *sanitize(const le_buf_t *b) {
    char *s = le_xmalloc(b->len + 1);
    for (size_t i = 0; i < b->len; i++) {
        unsigned char ch = (unsigned char)b->data[i];
        s[i] = ch == '\r' || ch == '\n' || ch == '\t' ? ' ' : ch < 0x20 || ch > 0x7e ? '?' : ch;
    }
    s[b->len] = '\0';
    return s;
}

/* ---- the resolver ---------------------------------------------------------------------- */

static void resolver_free_cb(evutil_socket_t fd, short what, void *arg) {
    resolver_t *res = arg;
    evdns_base_free(res->dns, 0);
    free(res);
}

/* in_callback: called from a resolver callback, where the base must not be freed yet. */
static void resolver_unref(resolver_t *res, bool in_callback) {
    if (--res->refs > 0) return;
    if (in_callback) {
        struct timeval now = {0, 0};
        if (event_base_once(res->base, -1, EV_TIMEOUT, resolver_free_cb, res, &now) == 0) return;
    }
    resolver_free_cb(-1, 0, res);
}

static void lookup_cb(int result, struct evutil_addrinfo *ai, void *arg) {
    lookup_t *l = arg;
    conn_t *k = l->k;
    resolver_t *res = l->res;
    free(l);
    if (!k) {
        if (ai) evutil_freeaddrinfo(ai);
        resolver_unref(res, true);
        return;
    }
    k->lookup = NULL;
    resolver_unref(res, true); /* the client holds another reference */
    if (result != 0 || !ai) {
        if (ai) evutil_freeaddrinfo(ai);
        req_t *r = k->req;
        if (r && !r->error)
            r->error = le_strf("resolve %s: %s", k->c->host,
                               result ? evutil_gai_strerror(result) : "no address");
        k->err = 0;
        k->ai_next = NULL;
        conn_connect(k); /* no address: fails the request with the error above */
        return;
    }
    k->ai_owned = ai;
    k->ai_next = ai;
    conn_connect(k);
}

/* ---- requests -------------------------------------------------------------------------- */

static void pending_push(le_client_t *c, req_t *r, bool front) {
    r->queued = true;
    if (front) {
        r->next = c->pending;
        c->pending = r;
        if (!r->next) c->pending_tail = &r->next;
    } else {
        r->next = NULL;
        *c->pending_tail = r;
        c->pending_tail = &r->next;
    }
}

static req_t *pending_pop(le_client_t *c) {
    req_t *r = c->pending;
    c->pending = r->next;
    if (!c->pending) c->pending_tail = &c->pending;
    r->next = NULL;
    r->queued = false;
    return r;
}

static void pending_remove(le_client_t *c, req_t *r) {
    req_t **pp = &c->pending, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp) return;
    *pp = r->next;
    if (c->pending_tail == &r->next) c->pending_tail = prev ? &prev->next : &c->pending;
    r->next = NULL;
    r->queued = false;
}

/* The request has its result (status, error): off its connection and queue, to the pump. */
static void req_done(req_t *r) {
    le_client_t *c = r->c;
    evtimer_del(r->timer);
    if (r->k) {
        r->k->req = NULL;
        r->k = NULL;
    }
    if (r->queued) pending_remove(c, r);
    r->end_us = mono_us();
    r->next = NULL;
    *c->done_tail = r;
    c->done_tail = &r->next;
    kick(c);
}

/* An answer with a status: the error text is the kept body, else the reason phrase. */
static void req_answered(req_t *r) {
    if (r->status < 200 || r->status > 299) {
        free(r->error);
        r->error = r->body.len ? sanitize(&r->body) : r->reason.len ? sanitize(&r->reason) : NULL;
    } else {
        free(r->error);
        r->error = NULL;
    }
    req_done(r);
}

static void req_fail(req_t *r, const char *why) {
    if (r->headers_done) { /* the status line and headers are the answer */
        req_answered(r);
        return;
    }
    r->status = 0;
    if (!r->error) r->error = le_xstrdup(why);
    req_done(r);
}

static void req_free(req_t *r) {
    event_free(r->timer);
    le_buf_free(&r->wire);
    le_buf_free(&r->retry_after);
    le_buf_free(&r->reason);
    le_buf_free(&r->body);
    free(r->error);
    free(r);
}

static void req_reset_answer(req_t *r) {
    r->got = r->hdr_bytes = r->body_total = 0;
    r->status = 0;
    r->interim = r->headers_done = r->complete = r->keep = r->stop = false;
    r->field_len = 0;
    r->in_value = r->in_retry_after = false;
    le_buf_reset(&r->retry_after);
    le_buf_reset(&r->reason);
    le_buf_reset(&r->body);
    r->fail = NULL;
    free(r->error);
    r->error = NULL;
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg) {
    req_t *r = arg;
    conn_t *k = r->k;
    if (k) {
        k->req = NULL;
        r->k = NULL;
        conn_close(k);
    }
    req_fail(r, "timeout");
}

/* ---- the answer (http_parser callbacks) ------------------------------------------------ */

static req_t *hp_req(http_parser *hp) {
    return ((conn_t *)hp->data)->req;
}

static int hdr_budget(req_t *r, size_t n) {
    r->hdr_bytes += n;
    if (r->hdr_bytes <= LE_CLIENT_HEADERS_MAX) return 0;
    r->fail = "answer headers too large"; /* over LE_CLIENT_HEADERS_MAX */
    return -1;
}

static void append_max(le_buf_t *b, const char *at, size_t n, size_t max) {
    if (b->len < max) le_buf_append(b, at, LE_MIN(n, max - b->len));
}

static int on_message_begin(http_parser *hp) {
    req_t *r = hp_req(hp);
    r->status = 0;
    r->interim = false;
    r->field_len = 0;
    r->in_value = r->in_retry_after = false;
    le_buf_reset(&r->retry_after);
    le_buf_reset(&r->reason);
    return 0;
}

static int on_status(http_parser *hp, const char *at, size_t n) {
    req_t *r = hp_req(hp);
    if (hdr_budget(r, n)) return -1;
    append_max(&r->reason, at, n, REASON_MAX);
    return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t n) {
    req_t *r = hp_req(hp);
    if (hdr_budget(r, n)) return -1;
    if (r->in_value) { /* a new header */
        r->in_value = false;
        r->field_len = 0;
    }
    if (r->field_len + n < sizeof(r->field)) memcpy(r->field + r->field_len, at, n);
    r->field_len += n;
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t n) {
    req_t *r = hp_req(hp);
    if (hdr_budget(r, n)) return -1;
    if (!r->in_value) {
        r->in_value = true;
        r->in_retry_after = r->field_len == 11 && strncasecmp(r->field, "retry-after", 11) == 0;
        if (r->in_retry_after) le_buf_reset(&r->retry_after); /* the last one counts */
    }
    if (r->in_retry_after) append_max(&r->retry_after, at, n, RETRY_AFTER_MAX);
    return 0;
}

static int on_headers_complete(http_parser *hp) {
    req_t *r = hp_req(hp);
    r->status = hp->status_code;
    r->interim = r->status >= 100 && r->status <= 199 && r->status != 101;
    if (!r->interim) r->headers_done = true;
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t n) {
    req_t *r = hp_req(hp);
    r->body_total += n;
    if (r->status < 200 || r->status > 299) append_max(&r->body, at, n, LE_CLIENT_ERROR_MAX);
    if (r->body_total > LE_CLIENT_BODY_MAX) {
        r->stop = true;
        http_parser_pause(hp, 1);
    }
    return 0;
}

static int on_message_complete(http_parser *hp) {
    req_t *r = hp_req(hp);
    if (r->interim) return 0; /* 100 Continue and friends: the answer is still to come */
    r->complete = true;
    r->keep = http_should_keep_alive(hp) && !hp->upgrade;
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings hp_settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- connections ----------------------------------------------------------------------- */

static void conn_unlink(conn_t *k) {
    le_client_t *c = k->c;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->conns = k->next;
    if (k->next) k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

static void conn_push_front(conn_t *k) {
    le_client_t *c = k->c;
    k->prev = NULL;
    k->next = c->conns;
    if (c->conns) c->conns->prev = k;
    c->conns = k;
}

/* Stop all I/O; the pump frees it. k->req must already be detached. */
static void conn_close(conn_t *k) {
    le_client_t *c = k->c;
    if (k->state == C_DEAD) return;
    k->state = C_DEAD;
    if (k->lookup) { /* its callback frees it, later */
        lookup_t *l = k->lookup;
        k->lookup = NULL;
        l->k = NULL;
        if (l->q) evdns_getaddrinfo_cancel(l->q);
    }
    if (k->wev) event_del(k->wev);
    if (k->bev) {
        bufferevent_setcb(k->bev, NULL, NULL, NULL, NULL);
        bufferevent_disable(k->bev, EV_READ | EV_WRITE);
    }
    conn_unlink(k);
    c->nconns--;
    k->next = c->dead;
    c->dead = k;
    kick(c);
}

static void conn_free(conn_t *k) {
    if (k->bev) bufferevent_free(k->bev); /* closes the socket, frees the SSL object */
    if (k->fd >= 0) close(k->fd);
    if (k->wev) event_free(k->wev);
    if (k->ai_owned) evutil_freeaddrinfo(k->ai_owned);
    free(k);
}

/*
 * The connection failed. Its request fails with why, or, when the connection was a reused one
 * and not a byte of the answer came, goes back to the head of the queue for one more try.
 */
static void conn_fail(conn_t *k, const char *why) {
    req_t *r = k->req;
    le_client_t *c = k->c;
    if (r) {
        k->req = NULL;
        r->k = NULL;
        if (r->reused && r->got == 0 && !r->retried && !c->closing) {
            r->retried = true;
            le_log(LE_LOG_DEBUG, "client %s: kept-alive connection closed (%s), sending again",
                   c->authority, why);
            pending_push(c, r, true);
            kick(c);
        } else {
            req_fail(r, why);
        }
    }
    conn_close(k);
}

static void conn_idle(conn_t *k) {
    struct timeval idle = {LE_CLIENT_IDLE_MS / 1000, (LE_CLIENT_IDLE_MS % 1000) * 1000};
    k->state = C_IDLE;
    conn_unlink(k);
    conn_push_front(k);
    bufferevent_set_timeouts(k->bev, &idle, NULL);
    kick(k->c);
}

/* Why the TLS connection failed, into out. err: the socket errno at the event. */
static void tls_reason(conn_t *k, int err, char *out, size_t n) {
    SSL *ssl = bufferevent_openssl_get_ssl(k->bev);
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e, first = 0;
    while ((e = bufferevent_get_openssl_error(k->bev)) != 0)
        if (!first && ERR_GET_LIB(e) != 0) first = e; /* skip libevent's SSL_ERROR_* codes */
    if (vr != X509_V_OK) {
        snprintf(out, n, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
    } else if (first) {
        const char *reason = ERR_reason_error_string(first);
        if (reason)
            snprintf(out, n, "%s", reason);
        else
            ERR_error_string_n(first, out, n);
    } else if (err) {
        snprintf(out, n, "%s", strerror(err));
    } else {
        snprintf(out, n, "connection closed");
    }
}

static void answer(conn_t *k) {
    req_t *r = k->req;
    bool keep = r->complete && r->keep && !r->stop && !k->c->closing &&
                evbuffer_get_length(bufferevent_get_input(k->bev)) == 0 &&
                evbuffer_get_length(bufferevent_get_output(k->bev)) == 0;
    k->answers++;
    k->req = NULL;
    r->k = NULL;
    req_answered(r);
    if (keep)
        conn_idle(k);
    else
        conn_close(k);
}

static void read_input(conn_t *k) {
    struct evbuffer *in = bufferevent_get_input(k->bev);
    size_t n;
    while (k->state == C_BUSY && k->req && (n = evbuffer_get_contiguous_space(in)) > 0) {
        req_t *r = k->req;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        r->got += n;
        size_t used = http_parser_execute(&k->hp, &hp_settings, p, n);
        evbuffer_drain(in, used);
        if (r->complete || r->stop) {
            answer(k);
            return;
        }
        enum http_errno e = HTTP_PARSER_ERRNO(&k->hp);
        if (e != HPE_OK || used != n) {
            char why[256];
            snprintf(why, sizeof(why), "bad answer from %s: %s", k->c->authority,
                     r->fail ? r->fail : http_errno_description(e));
            r->headers_done = false; /* a broken answer is no answer */
            conn_fail(k, why);
            return;
        }
    }
}

static void read_cb(struct bufferevent *bev, void *arg) {
    conn_t *k = arg;
    if (k->state == C_BUSY)
        read_input(k);
    else if (k->state == C_IDLE)
        conn_close(k); /* unasked bytes: do not trust it any more */
}

static void event_cb(struct bufferevent *bev, short what, void *arg) {
    conn_t *k = arg;
    le_client_t *c = k->c;
    int err = EVUTIL_SOCKET_ERROR();
    char why[320], detail[256];
    if (what & BEV_EVENT_CONNECTED) {
        if (k->state == C_HANDSHAKE && k->req)
            conn_send(k, k->req);
        else if (k->state == C_HANDSHAKE)
            conn_idle(k);
        return;
    }
    switch (k->state) {
        case C_HANDSHAKE:
            tls_reason(k, err, detail, sizeof(detail));
            snprintf(why, sizeof(why), "TLS handshake with %s: %s", c->authority, detail);
            conn_fail(k, why);
            return;
        case C_BUSY:
            if (what & BEV_EVENT_EOF) {
                read_input(k);
                if (k->state != C_BUSY || !k->req) return;
                http_parser_execute(&k->hp, &hp_settings, NULL, 0); /* EOF may end the body */
                if (k->req->complete) {
                    answer(k);
                    return;
                }
                snprintf(why, sizeof(why), "connection closed by %s before the answer",
                         c->authority);
            } else {
                if (c->tls)
                    tls_reason(k, err, detail, sizeof(detail));
                else
                    snprintf(detail, sizeof(detail), "%s", err ? strerror(err) : "error");
                snprintf(why, sizeof(why), "connection to %s failed: %s", c->authority, detail);
            }
            conn_fail(k, why);
            return;
        default: /* idle: closed by the receiver, idle too long, or an error; nothing lost */
            if (c->tls) tls_reason(k, err, detail, sizeof(detail)); /* drain the errors */
            conn_close(k);
            return;
    }
}

/* TCP is up: wrap the socket in a bufferevent (with a new SSL object for https). */
static void conn_tcp_up(conn_t *k) {
    le_client_t *c = k->c;
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    if (c->tls) {
        SSL *ssl = SSL_new(c->ssl_ctx);
        if (!ssl) {
            fprintf(stderr, "leadedge: SSL_new failed\n");
            abort(); /* like an allocation failure */
        }
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (c->literal) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c->host);
        } else {
            SSL_set_tlsext_host_name(ssl, c->host);
            SSL_set1_host(ssl, c->host);
        }
        k->bev =
            bufferevent_openssl_socket_new(c->base, k->fd, ssl, BUFFEREVENT_SSL_CONNECTING, opts);
        /* A receiver that closes without close_notify (many do) reads as EOF: the framing of
         * the answer (Content-Length, chunked) says whether anything was cut short. */
        if (k->bev) bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
        k->state = C_HANDSHAKE;
    } else {
        k->bev = bufferevent_socket_new(c->base, k->fd, opts);
    }
    if (!k->bev) {
        fprintf(stderr, "leadedge: bufferevent allocation failed\n");
        abort();
    }
    k->fd = -1;
    bufferevent_setcb(k->bev, read_cb, NULL, event_cb, k);
    bufferevent_enable(k->bev, EV_READ | EV_WRITE);
    if (!c->tls) {
        if (k->req)
            conn_send(k, k->req);
        else
            conn_idle(k);
    }
}

static void connect_cb(evutil_socket_t fd, short what, void *arg) {
    conn_t *k = arg;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == 0) {
        conn_tcp_up(k);
        return;
    }
    k->err = err;
    close(k->fd);
    k->fd = -1;
    conn_connect(k); /* the next address, if any */
}

/* Connect to the next address that does not fail at once; fail when none is left. */
static void conn_connect(conn_t *k) {
    le_client_t *c = k->c;
    k->state = C_CONNECTING;
    while (k->ai_next) {
        struct evutil_addrinfo *ai = k->ai_next;
        k->ai_next = ai->ai_next;
        if (ai->ai_socktype && ai->ai_socktype != SOCK_STREAM) continue;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            k->err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        k->fd = fd;
        if (connect(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) == 0) {
            conn_tcp_up(k);
            return;
        }
        if (errno == EINPROGRESS) {
            if (!k->wev)
                k->wev = event_new(c->base, fd, EV_WRITE, connect_cb, k);
            else
                event_assign(k->wev, c->base, fd, EV_WRITE, connect_cb, k);
            if (!k->wev) {
                fprintf(stderr, "leadedge: event allocation failed\n");
                abort();
            }
            event_add(k->wev, NULL); /* the request's timer bounds it */
            return;
        }
        k->err = errno;
        close(fd);
        k->fd = -1;
    }
    char why[320];
    snprintf(why, sizeof(why), "connect %s: %s", c->authority,
             k->err ? strerror(k->err) : "no address");
    conn_fail(k, why);
}

/* A new connection for request r (not yet started: the pump calls conn_start). */
static conn_t *conn_new(le_client_t *c, req_t *r) {
    conn_t *k = le_xcalloc(1, sizeof(*k));
    k->c = c;
    k->fd = -1;
    k->req = r;
    r->k = k;
    r->reused = false;
    conn_push_front(k);
    c->nconns++;
    return k;
}

static void conn_start(conn_t *k) {
    le_client_t *c = k->c;
    if (c->literal) {
        k->ai_next = c->literal_ai;
        conn_connect(k);
        return;
    }
    k->state = C_RESOLVING;
    lookup_t *l = le_xcalloc(1, sizeof(*l));
    l->res = c->res;
    l->k = k;
    c->res->refs++;
    k->lookup = l;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    /* NULL when the callback already ran (hosts file, or an error) */
    struct evdns_getaddrinfo_request *q =
        evdns_getaddrinfo(c->res->dns, c->host, c->port, &hints, lookup_cb, l);
    if (q) l->q = q;
}

/* Write r on the (connected, idle or fresh) connection k. */
static void conn_send(conn_t *k, req_t *r) {
    k->state = C_BUSY;
    k->req = r;
    r->k = k;
    r->reused = k->answers > 0;
    req_reset_answer(r);
    http_parser_init(&k->hp, HTTP_RESPONSE);
    k->hp.data = k;
    bufferevent_set_timeouts(k->bev, NULL, NULL);
    bufferevent_write(k->bev, r->wire.data, r->wire.len);
}

/* ---- the pump -------------------------------------------------------------------------- */

static void deliver(le_client_t *c) {
    req_t *r = c->done;
    c->done = r->next;
    if (!c->done) c->done_tail = &c->done;
    le_client_result_t res = {
        .status = r->status,
        .error = r->error,
        .retry_after = r->retry_after.len ? le_buf_cstr(&r->retry_after) : NULL,
        .elapsed_us = r->end_us - r->start_us,
    };
    if (res.retry_after) { /* trim: http_parser keeps trailing blanks */
        char *s = r->retry_after.data;
        size_t n = r->retry_after.len;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
        if (!n) res.retry_after = NULL;
    }
    c->inflight--;
    r->cb(r->ud, &res);
    req_free(r);
}

static conn_t *idle_conn(le_client_t *c) {
    for (conn_t *k = c->conns; k; k = k->next)
        if (k->state == C_IDLE) return k;
    return NULL;
}

static void destroy(le_client_t *c);

static void pump_cb(evutil_socket_t fd, short what, void *arg) {
    le_client_t *c = arg;
    while (c->dead) {
        conn_t *k = c->dead;
        c->dead = k->next;
        conn_free(k);
    }
    while (c->pending && !c->closing) {
        conn_t *k = idle_conn(c);
        if (!k && c->nconns >= c->concurrency) break;
        req_t *r = pending_pop(c);
        if (k) {
            conn_send(k, r);
        } else {
            k = conn_new(c, r);
            conn_start(k);
        }
    }
    c->delivering = true;
    while (c->done && !c->doomed) deliver(c);
    c->delivering = false;
    if (c->doomed) destroy(c);
}

/* ---- the URL --------------------------------------------------------------------------- */

static int parse_url(le_client_t *c, const char *url, le_buf_t *target, le_buf_t *hosthdr,
                     char **msg) {
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep) {
        *msg = le_strf("url: not an absolute http:// or https:// URL");
        return LE_EINVAL;
    }
    size_t slen = (size_t)(sep - url);
    if (slen == 4 && strncasecmp(url, "http", 4) == 0)
        c->tls = false;
    else if (slen == 5 && strncasecmp(url, "https", 5) == 0)
        c->tls = true;
    else {
        *msg = le_strf("url: unsupported scheme '%.*s' (use http or https)", (int)LE_MIN(slen, 16),
                       url);
        for (char *p = *msg; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) *p = '?';
        return LE_EINVAL;
    }
    for (const char *p = url; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f) {
            *msg = le_strf("url: contains a space, a control character or a non-ASCII byte "
                           "(percent-encode it)");
            return LE_EINVAL;
        }
    }
    if (strchr(url, '#')) {
        *msg = le_strf("url: fragments (#...) are not allowed");
        return LE_EINVAL;
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?");
    const char *rest = auth + alen;
    if (memchr(auth, '@', alen)) {
        *msg =
            le_strf("url: userinfo (user:password@) is not allowed; put credentials in a header");
        return LE_EINVAL;
    }
    if (alen == 0) {
        *msg = le_strf("url: missing host");
        return LE_EINVAL;
    }
    const char *host, *port = NULL;
    size_t hlen, plen = 0;
    bool v6 = false;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close) {
            *msg = le_strf("url: IPv6 literal without ']'");
            return LE_EINVAL;
        }
        host = auth + 1;
        hlen = (size_t)(close - host);
        const char *after = close + 1;
        if (after < auth + alen) {
            if (*after != ':') {
                *msg = le_strf("url: unexpected characters after the IPv6 literal");
                return LE_EINVAL;
            }
            port = after + 1;
            plen = (size_t)(auth + alen - port);
        }
        v6 = true;
    } else {
        const char *colon = memchr(auth, ':', alen);
        host = auth;
        hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon) {
            port = colon + 1;
            plen = (size_t)(auth + alen - port);
            if (memchr(port, ':', plen)) {
                *msg = le_strf("url: an IPv6 address must be in brackets ([::1])");
                return LE_EINVAL;
            }
        }
    }
    if (hlen == 0) {
        *msg = le_strf("url: missing host");
        return LE_EINVAL;
    }
    if (hlen > 253) {
        *msg = le_strf("url: host name too long");
        return LE_EINVAL;
    }
    c->host = le_xstrndup(host, hlen);
    for (char *p = c->host; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    unsigned char bin[sizeof(struct in6_addr)];
    if (v6) {
        if (inet_pton(AF_INET6, c->host, bin) != 1) {
            *msg = le_strf("url: '%s' is not an IPv6 address", c->host);
            return LE_EINVAL;
        }
        c->literal = true;
    } else {
        for (const char *p = c->host; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                  *p == '_')) {
                *msg = le_strf("url: '%s' is not a valid host name", c->host);
                return LE_EINVAL;
            }
        c->literal = inet_pton(AF_INET, c->host, bin) == 1;
    }
    unsigned long pnum = c->tls ? 443 : 80;
    bool explicit_port = false;
    if (port) {
        if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen) {
            *msg = le_strf("url: bad port (want 1 to 65535)");
            return LE_EINVAL;
        }
        pnum = strtoul(port, NULL, 10);
        if (pnum < 1 || pnum > 65535) {
            *msg = le_strf("url: bad port (want 1 to 65535)");
            return LE_EINVAL;
        }
        explicit_port = pnum != (c->tls ? 443u : 80u);
    }
    snprintf(c->port, sizeof(c->port), "%lu", pnum);
    c->authority = v6 ? le_strf("[%s]:%lu", c->host, pnum) : le_strf("%s:%lu", c->host, pnum);
    le_buf_printf(hosthdr, v6 ? "[%s]" : "%s", c->host);
    if (explicit_port) le_buf_printf(hosthdr, ":%lu", pnum);
    if (*rest != '/') le_buf_puts(target, "/");
    le_buf_puts(target, rest);
    return 0;
}

/* ---- the client ------------------------------------------------------------------------ */

static char *ssl_error(void) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return le_xstrdup("unknown error");
    const char *reason = ERR_reason_error_string(e);
    if (reason) return le_xstrdup(reason);
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    return le_xstrdup(buf);
}

static int setup_tls(le_client_t *c, const char *ca_file, char **msg) {
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx) {
        char *e = ssl_error();
        *msg = le_strf("tls: cannot create an OpenSSL context: %s", e);
        free(e);
        return LE_EINVAL;
    }
    SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations(c->ssl_ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
    if (ok != 1) {
        char *e = ssl_error();
        if (ca_file)
            *msg = le_strf("ca_file: cannot load '%s': %s", ca_file, e);
        else
            *msg = le_strf("tls: cannot load the system's trusted certificates: %s", e);
        free(e);
        return LE_EINVAL;
    }
    return 0;
}

int le_client_new(struct event_base *base, const le_client_opts_t *o, le_client_t **out,
                  char **msg) {
    *out = NULL;
    *msg = NULL;
    le_client_t *c = le_xcalloc(1, sizeof(*c));
    c->base = base;
    c->pending_tail = &c->pending;
    c->done_tail = &c->done;
    le_buf_t target = LE_BUF_INIT, hosthdr = LE_BUF_INIT;
    int rc = parse_url(c, o->url, &target, &hosthdr, msg);
    if (rc < 0) goto fail;
    rc = LE_EINVAL;
    if (o->timeout_ms == 0) {
        *msg = le_strf("timeout_ms: must be at least 1");
        goto fail;
    }
    if (o->concurrency == 0 || o->concurrency > LE_CLIENT_CONCURRENCY_MAX) {
        *msg = le_strf("concurrency: must be 1 to %d", LE_CLIENT_CONCURRENCY_MAX);
        goto fail;
    }
    c->timeout_ms = o->timeout_ms;
    c->concurrency = o->concurrency;
    for (size_t i = 0; i < o->nheaders; i++) {
        const char *why = check_header(o->headers[2 * i], o->headers[2 * i + 1]);
        if (why) {
            *msg = le_strf("headers[%zu]: %s", i, why);
            goto fail;
        }
    }
    if (c->tls && (rc = setup_tls(c, o->ca_file, msg)) < 0) goto fail;
    if (c->literal) {
        struct evutil_addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
        int gai = evutil_getaddrinfo(c->host, c->port, &hints, &c->literal_ai);
        if (gai != 0) {
            *msg = le_strf("url: '%s': %s", c->host, evutil_gai_strerror(gai));
            rc = LE_EINVAL;
            goto fail;
        }
    } else {
        c->res = le_xcalloc(1, sizeof(*c->res));
        c->res->base = base;
        c->res->refs = 1;
        c->res->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                               EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (!c->res->dns) {
            *msg = le_strf("url: cannot set up the DNS resolver for '%s'", c->host);
            rc = LE_EINVAL;
            goto fail;
        }
    }
    le_buf_printf(&c->head,
                  "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: leadedge/%s\r\n"
                  "Content-Type: application/json\r\n",
                  le_buf_cstr(&target), le_buf_cstr(&hosthdr), LE_VERSION);
    put_headers(&c->head, o->headers, o->nheaders);
    c->pump = event_new(base, -1, 0, pump_cb, c);
    if (!c->pump) {
        fprintf(stderr, "leadedge: event allocation failed\n");
        abort();
    }
    le_buf_free(&target);
    le_buf_free(&hosthdr);
    *out = c;
    return 0;
fail:
    le_buf_free(&target);
    le_buf_free(&hosthdr);
    c->closing = true;
    destroy(c);
    return rc;
}

bool le_client_can_send(const le_client_t *c) {
    return !c->closing && !c->doomed && c->inflight < c->concurrency;
}

int le_client_post(le_client_t *c, const char *const *headers, size_t nheaders, const void *body,
                   size_t len, le_client_cb cb, void *ud) {
    if (c->closing || c->doomed) return LE_EINVAL;
    if (c->inflight >= c->concurrency) return LE_EFULL;
    for (size_t i = 0; i < nheaders; i++)
        if (check_header(headers[2 * i], headers[2 * i + 1])) return LE_EINVAL;
    req_t *r = le_xcalloc(1, sizeof(*r));
    r->c = c;
    r->cb = cb;
    r->ud = ud;
    r->start_us = mono_us();
    le_buf_reserve(&r->wire, c->head.len + 64 + len);
    le_buf_append(&r->wire, c->head.data, c->head.len);
    le_buf_printf(&r->wire, "Content-Length: %zu\r\n", len);
    put_headers(&r->wire, headers, nheaders);
    le_buf_puts(&r->wire, "\r\n");
    le_buf_append(&r->wire, body, len);
    r->timer = evtimer_new(c->base, timeout_cb, r);
    if (!r->timer) {
        fprintf(stderr, "leadedge: event allocation failed\n");
        abort();
    }
    struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
    evtimer_add(r->timer, &tv);
    pending_push(c, r, false);
    c->inflight++;
    kick(c);
    return 0;
}

/* Answer everything still in flight, then free it all. c->closing is set. */
static void destroy(le_client_t *c) {
    c->closing = true;
    while (c->conns) {
        conn_t *k = c->conns;
        if (k->req) {
            req_t *r = k->req;
            k->req = NULL;
            r->k = NULL;
            req_fail(r, "cancelled");
        }
        conn_close(k);
    }
    while (c->pending) req_fail(c->pending, "cancelled");
    c->delivering = true;
    while (c->done) deliver(c);
    while (c->dead) {
        conn_t *k = c->dead;
        c->dead = k->next;
        conn_free(k);
    }
    if (c->pump) event_free(c->pump);
    if (c->ssl_ctx) SSL_CTX_free(c->ssl_ctx);
    if (c->res) {
        if (c->res->dns)
            resolver_unref(c->res, false);
        else
            free(c->res);
    }
    if (c->literal_ai) evutil_freeaddrinfo(c->literal_ai);
    le_buf_free(&c->head);
    free(c->host);
    free(c->authority);
    free(c);
}

void le_client_free(le_client_t *c) {
    if (!c || c->closing) return;
    if (c->delivering) { /* from inside a callback: the pump finishes the job */
        c->doomed = true;
        return;
    }
    destroy(c);
}
