/*
 * worker.c: the libuv side of the data plane.
 *
 * Per connection: a uv_tcp_t and an le_http_t. Reads go into one 64 KiB
 * buffer per worker (the engine copies what it keeps), responses are written
 * with uv_try_write first and uv_write only for what the socket would not
 * take at once, so the common case allocates nothing.
 *
 * Timeouts: rather than a timer per connection, each connection carries a
 * deadline and a 250 ms tick sweeps the list: idle keep-alive past
 * server.timeouts.idle is closed, a request whose headers (or body) have not
 * arrived within server.timeouts.header (body) is answered 408 and closed.
 * A slow client therefore holds nothing but its own connection.
 *
 * Closing after an error or "Connection: close": we shut down our side and
 * keep reading (discarding) for a short linger, so the client gets our
 * response instead of a reset caused by unread bytes.
 */
#include "worker.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "log.h"

#define TICK_MS 250
#define LINGER_MS 2000
#define READ_BUF (64 * 1024)
#define OUT_HIGH_WATER (1024 * 1024)

typedef struct conn_s conn_t;

struct le_worker_s {
    int id;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t wakeup;
    uv_async_t durable; /* the log made more frames durable (held answers may go) */
    int watch;          /* our le_evlog_watch handle; -1 when not holding answers */
    uint32_t nheld;     /* connections holding an answer until its events are durable */
    uv_timer_t tick;
    uv_thread_t thread;
    int listen_fd;
    le_config_t *cfg;
    le_evlog_t *log;
    atomic_int *active;

    pthread_mutex_t mu; /* guards the three fields below */
    le_config_t *pending_cfg;
    le_enrich_t *pending_enrich;
    bool stop_requested;

    bool draining;
    uint64_t drain_deadline;
    conn_t *conns; /* doubly linked list of open connections */
    uint32_t nconns;
    uint64_t next_conn_id;
    le_metrics_t metrics;
    le_router_ctx_t router;       /* router.enrich and router.cache are this worker's */
    le_enrich_cache_stats_t seen; /* cache stats already added to the counters */
    char date[48];                /* "Date: Thu, 26 Nov 2026 17:26:01 GMT\r\n" */
    time_t date_sec;
    char readbuf[READ_BUF];
};

struct conn_s {
    uv_tcp_t tcp;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    le_worker_t *w;
    conn_t *prev, *next;
    uint64_t id;
    uint64_t deadline; /* loop time in ms, 0 = none */
    uint8_t seen_state;
    uint32_t seen_gen;
    bool writing;
    bool reading;
    bool lingering; /* shut down, discarding input until EOF or deadline */
    bool closed;
    bool held;         /* waiting for the log to make hold_seq durable */
    uint64_t hold_seq; /* answers in http.out go out once this frame is durable */
    le_buf_t wbuf;     /* bytes in flight with uv_write */
    le_http_t http;
};

int le_listen_socket(const char *host, uint16_t port, int backlog, uint16_t *bound) {
    struct addrinfo hints = {0}, *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) return -EADDRNOTAVAIL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto done;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        rc = -errno;
        close(fd);
        goto done;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    rc = fd;
done:
    freeaddrinfo(ai);
    return rc;
}

le_metrics_t *le_worker_metrics(le_worker_t *w) {
    return &w->metrics;
}

static void update_date(le_worker_t *w) {
    time_t now = time(NULL);
    if (now == w->date_sec) return;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(w->date, sizeof(w->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    w->date_sec = now;
}

/* ---- connection lifecycle ------------------------------------------- */

static void on_conn_closed(uv_handle_t *hd) {
    conn_t *c = le_container_of(hd, conn_t, tcp);
    le_http_free(&c->http);
    le_buf_free(&c->wbuf);
    free(c);
}

static void conn_close(conn_t *c) {
    if (c->closed) return;
    c->closed = true;
    le_worker_t *w = c->w;
    if (c->held) w->nheld--;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    w->nconns--;
    atomic_fetch_sub_explicit(w->active, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&w->metrics.active_connections, 1, memory_order_relaxed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* For handles that are the first member of a plain malloc'd block. */
static void free_handle(uv_handle_t *hd) {
    free(hd);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    conn_t *c = le_container_of(req, conn_t, sreq);
    if (status < 0) conn_close(c);
    /* else keep reading until the peer's EOF or the linger deadline */
}

/* Everything is written and the engine wants the connection closed. */
static void conn_finish(conn_t *c) {
    if (c->lingering || c->closed) return;
    c->lingering = true;
    c->deadline = uv_now(&c->w->loop) + LINGER_MS;
    if (!c->reading) {
        conn_close(c);
        return;
    }
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_close(c);
}

static void flush(conn_t *c);

static void on_write(uv_write_t *req, int status) {
    conn_t *c = le_container_of(req, conn_t, wreq);
    c->writing = false;
    le_buf_reset(&c->wbuf);
    if (c->closed) return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    flush(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf);

/*
 * With fsync: always a form is acknowledged only once its record is durable: its answer (and
 * any pipelined after it) stays in http.out, reading pauses, and the log's writer wakes us
 * (w->durable) after its next batch. If the log fails instead, the connection is closed
 * without an answer: nothing is ever acknowledged that is not on disk.
 */
static bool held_back(conn_t *c) {
    le_worker_t *w = c->w;
    if (!c->hold_seq) return false;
    if (le_evlog_synced(w->log) >= c->hold_seq) {
        c->hold_seq = 0;
        if (c->held) {
            c->held = false;
            w->nheld--;
        }
        return false;
    }
    if (!le_evlog_healthy(w->log)) {
        conn_close(c);
        return true;
    }
    if (!c->held) {
        c->held = true;
        w->nheld++;
    }
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    le_evlog_arm(w->log, w->watch);
    /* a batch that finished before the arm: look again on the next loop turn */
    if (le_evlog_synced(w->log) >= c->hold_seq) uv_async_send(&w->durable);
    return true;
}

static void flush(conn_t *c) {
    if (c->writing || c->closed) return;
    if (held_back(c)) return;
    le_buf_t *o = &c->http.out;
    if (o->len) {
        uv_buf_t b = uv_buf_init(o->data, (unsigned)o->len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n == UV_EAGAIN) n = 0;
        if (n < 0) {
            conn_close(c);
            return;
        }
        if ((size_t)n < o->len) {
            /* Hand the rest to uv_write; swap buffers so the engine can go on appending. */
            le_buf_consume(o, (size_t)n);
            le_buf_t t = c->wbuf;
            c->wbuf = *o;
            *o = t;
            le_buf_reset(o);
            b = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
            if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
                conn_close(c);
                return;
            }
            c->writing = true;
            return;
        }
        le_buf_reset(o);
    }
    if (c->http.close) {
        conn_finish(c);
        return;
    }
    if (!c->reading && !c->w->draining) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = true;
    }
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf) {
    conn_t *c = le_container_of(hd, conn_t, tcp);
    *buf = uv_buf_init(c->w->readbuf, READ_BUF);
}

/* Arm the deadline that belongs to the engine's state, when it changed. */
static void arm(conn_t *c) {
    const le_config_t *cfg = c->w->cfg;
    uint8_t st = c->http.state;
    if ((st == c->seen_state && c->http.gen == c->seen_gen) || c->lingering) return;
    c->seen_state = st;
    c->seen_gen = c->http.gen;
    uint64_t now = uv_now(&c->w->loop);
    switch (st) {
        case LE_HTTP_IDLE:
            c->deadline = now + cfg->server.timeouts.idle_ms;
            break;
        case LE_HTTP_HEAD:
            c->deadline = now + cfg->server.timeouts.header_ms;
            break;
        case LE_HTTP_BODY:
            c->deadline = now + cfg->server.timeouts.body_ms;
            break;
        default:
            break;
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    conn_t *c = le_container_of(s, conn_t, tcp);
    if (n == 0) return;
    if (n < 0) {
        if (!c->lingering) le_http_eof(&c->http);
        conn_close(c);
        return;
    }
    if (c->lingering) return; /* discard until EOF */
    le_http_feed(&c->http, buf->base, (size_t)n);
    if (c->w->router.hold_seq > c->hold_seq) c->hold_seq = c->w->router.hold_seq;
    c->w->router.hold_seq = 0;
    arm(c);
    flush(c);
    /* Backpressure: a client that pipelines without reading waits for us. */
    if (!c->closed && c->writing && c->wbuf.len + c->http.out.len > OUT_HIGH_WATER && c->reading) {
        uv_read_stop(s);
        c->reading = false;
    }
}

static void on_connection(uv_stream_t *server, int status) {
    le_worker_t *w = le_container_of(server, le_worker_t, listener);
    if (status < 0) return;
    conn_t *c = le_xmalloc(sizeof(*c));
    memset(c, 0, offsetof(conn_t, http));
    uv_tcp_init(&w->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    c->w = w;
    int before = atomic_fetch_add_explicit(w->active, 1, memory_order_relaxed);
    if ((uint32_t)before >= w->cfg->server.max_connections || w->draining) {
        atomic_fetch_sub_explicit(w->active, 1, memory_order_relaxed);
        le_metrics_inc(&w->metrics, LE_C_CONN_REFUSED);
        le_metrics_inc(&w->metrics, LE_C_ST_5XX);
        char busy[256];
        uv_buf_t b = uv_buf_init(busy, (unsigned)le_http_busy(busy, sizeof(busy), w->date));
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    le_metrics_inc(&w->metrics, LE_C_CONN_ACCEPTED);
    atomic_fetch_add_explicit(&w->metrics.active_connections, 1, memory_order_relaxed);
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    le_ip_t peer = {0};
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0)
        le_ip_from_sockaddr((struct sockaddr *)&ss, &peer);
    le_http_init(&c->http, w->cfg, &w->router, w->date, &peer);
    c->id = ++w->next_conn_id;
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    /* The first request must arrive within the header timeout. */
    c->seen_state = LE_HTTP_HEAD;
    c->deadline = uv_now(&w->loop) + w->cfg->server.timeouts.header_ms;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
    else
        conn_close(c);
}

/* ---- tick: date, deadlines, drain ------------------------------------ */

static void close_all_handles(le_worker_t *w);

static void release_held(le_worker_t *w);

static void on_tick(uv_timer_t *t) {
    le_worker_t *w = le_container_of(t, le_worker_t, tick);
    uint64_t now = uv_now(&w->loop);
    update_date(w);
    if (w->router.cache) {
        le_enrich_cache_stats_t st;
        le_enrich_cache_stats(w->router.cache, &st);
        le_metrics_add(&w->metrics, LE_C_UA_HIT, st.ua_hits - w->seen.ua_hits);
        le_metrics_add(&w->metrics, LE_C_UA_MISS, st.ua_misses - w->seen.ua_misses);
        le_metrics_add(&w->metrics, LE_C_IP_HIT, st.ip_hits - w->seen.ip_hits);
        le_metrics_add(&w->metrics, LE_C_IP_MISS, st.ip_misses - w->seen.ip_misses);
        w->seen = st;
    }
    release_held(w); /* a safety net for a lost wake-up */
    for (conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        bool force = w->draining && now >= w->drain_deadline;
        if (!force && (!c->deadline || now < c->deadline)) continue;
        if (c->lingering || force) {
            conn_close(c);
        } else if (c->http.state == LE_HTTP_IDLE) {
            le_metrics_inc(&w->metrics, LE_C_IDLE_CLOSED);
            conn_close(c);
        } else if (c->writing) {
            /* The client is not reading what we owe it: nothing more to say to it. */
            conn_close(c);
        } else {
            le_http_timeout(&c->http);
            flush(c);
        }
    }
    if (w->draining && w->nconns == 0) close_all_handles(w);
}

/* ---- control: reload and stop ---------------------------------------- */

static void begin_drain(le_worker_t *w) {
    if (w->draining) return;
    w->draining = true;
    w->drain_deadline = uv_now(&w->loop) + w->cfg->server.timeouts.shutdown_ms;
    uv_close((uv_handle_t *)&w->listener, NULL);
    for (conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        c->http.draining = true;
        /* Idle keep-alive connections have nothing in flight: close now. */
        if ((c->http.state == LE_HTTP_IDLE && !c->writing && c->http.out.len == 0) || c->lingering)
            conn_close(c);
    }
    if (w->nconns == 0) close_all_handles(w);
}

static void close_all_handles(le_worker_t *w) {
    if (!uv_is_closing((uv_handle_t *)&w->tick)) uv_close((uv_handle_t *)&w->tick, NULL);
    if (!uv_is_closing((uv_handle_t *)&w->wakeup)) uv_close((uv_handle_t *)&w->wakeup, NULL);
    if (!uv_is_closing((uv_handle_t *)&w->durable)) uv_close((uv_handle_t *)&w->durable, NULL);
}

/* Held answers whose events are durable now go out. */
static void release_held(le_worker_t *w) {
    if (!w->nheld) return;
    for (conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->held) flush(c);
    }
}

static void on_durable(uv_async_t *a) {
    release_held(le_container_of(a, le_worker_t, durable));
}

/* Called on the log writer's thread. */
static void durable_cb(void *ud) {
    uv_async_send(&((le_worker_t *)ud)->durable);
}

static void on_wakeup(uv_async_t *a) {
    le_worker_t *w = le_container_of(a, le_worker_t, wakeup);
    pthread_mutex_lock(&w->mu);
    le_config_t *cfg = w->pending_cfg;
    le_enrich_t *en = w->pending_enrich;
    bool stop = w->stop_requested;
    w->pending_cfg = NULL;
    w->pending_enrich = NULL;
    pthread_mutex_unlock(&w->mu);
    if (cfg) {
        le_config_t *old = w->cfg;
        w->cfg = cfg;
        for (conn_t *c = w->conns; c; c = c->next) c->http.cfg = cfg;
        if (cfg->enrich.ua.cache_size != old->enrich.ua.cache_size ||
            cfg->enrich.ip_cache_size != old->enrich.ip_cache_size) {
            le_enrich_cache_free(w->router.cache);
            w->router.cache =
                le_enrich_cache_new(cfg->enrich.ua.cache_size, cfg->enrich.ip_cache_size);
            memset(&w->seen, 0, sizeof(w->seen));
        }
        le_config_unref(old);
    }
    if (en) {
        /* Between requests: nothing on this thread still points into the old tables. */
        le_enrich_unref(w->router.enrich);
        w->router.enrich = en;
    }
    if (stop) begin_drain(w);
}

static void run(void *arg) {
    le_worker_t *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int le_worker_start(le_worker_t **out, int id, int listen_fd, le_config_t *cfg, le_evlog_t *log,
                    le_enrich_t *enrich, atomic_int *active) {
    le_worker_t *w = le_xcalloc(1, sizeof(*w));
    int rc;
    w->id = id;
    w->cfg = le_config_ref(cfg);
    w->log = log;
    w->active = active;
    w->router.log = log;
    w->router.metrics = &w->metrics;
    w->router.enrich = enrich ? le_enrich_ref(enrich) : NULL;
    w->router.cache = le_enrich_cache_new(cfg->enrich.ua.cache_size, cfg->enrich.ip_cache_size);
    pthread_mutex_init(&w->mu, NULL);
    update_date(w);
    if ((rc = uv_loop_init(&w->loop)) != 0) goto fail;
    uv_tcp_init(&w->loop, &w->listener);
    if ((rc = uv_tcp_open(&w->listener, listen_fd)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&w->listener, (int)cfg->server.backlog, on_connection)) != 0)
        goto fail;
    uv_async_init(&w->loop, &w->wakeup, on_wakeup);
    uv_async_init(&w->loop, &w->durable, on_durable);
    w->watch = -1;
    w->router.hold_forms = log && cfg->store.fsync == LE_FSYNC_ALWAYS;
    if (w->router.hold_forms) w->watch = le_evlog_watch(log, durable_cb, w);
    uv_timer_init(&w->loop, &w->tick);
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    if ((rc = uv_thread_create(&w->thread, run, w)) != 0) goto fail;
    *out = w;
    return 0;
fail:
    le_log(LE_LOG_ERROR, "worker %d: cannot start: %s", id, uv_strerror(rc));
    return rc;
}

void le_worker_set_config(le_worker_t *w, le_config_t *cfg) {
    pthread_mutex_lock(&w->mu);
    if (w->pending_cfg) le_config_unref(w->pending_cfg);
    w->pending_cfg = le_config_ref(cfg);
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->wakeup);
}

void le_worker_set_enrich(le_worker_t *w, le_enrich_t *e) {
    pthread_mutex_lock(&w->mu);
    le_enrich_unref(w->pending_enrich);
    w->pending_enrich = le_enrich_ref(e);
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->wakeup);
}

void le_worker_stop(le_worker_t *w) {
    pthread_mutex_lock(&w->mu);
    w->stop_requested = true;
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->wakeup);
}

void le_worker_join(le_worker_t *w) {
    uv_thread_join(&w->thread);
    uv_run(&w->loop, UV_RUN_NOWAIT); /* run close callbacks still queued */
    uv_loop_close(&w->loop);
    if (w->pending_cfg) le_config_unref(w->pending_cfg);
    le_config_unref(w->cfg);
    le_enrich_unref(w->pending_enrich);
    le_enrich_unref(w->router.enrich);
    le_enrich_cache_free(w->router.cache);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
