/*
 * worker.c: the libuv side of the data plane.
 *
 * The sockets are driven by uv_poll_t handles: the worker accepts with
 * accept4(), reads with recv() and writes with send(..., MSG_NOSIGNAL) on
 * sockets it owns. A uv_tcp_t would always read and write with read() and
 * write(), and those go through the VFS layer (fdget_pos, rw_verify_area,
 * fsnotify, sock_read_iter) that recv() and send() skip; measured on our
 * paravirtualized VMs, the read()/write() pair costs 300 to 700 ns more per
 * request than recv()/send(), which is also why nginx uses recv and writev.
 * The loop, the timers and the async handles are still libuv's, and
 * uv_poll_t is libuv's documented way for code that does its own socket I/O.
 * A socket is closed only in its poll handle's close callback, never while
 * the handle is active.
 *
 * Per connection: a uv_poll_t and an le_http_t. Reads go into one 64 KiB
 * buffer per worker (the engine copies what it keeps). Responses collect in
 * c->http.out and are sent at once; what the socket would not take stays
 * there and goes out when the socket is writable, so the common case
 * allocates nothing. The poll mask is changed only when reading stops or
 * starts or a send was cut short, since each change costs libuv two
 * epoll_ctl calls.
 *
 * Timeouts: rather than a timer per connection, each connection carries a
 * deadline and a 250 ms tick sweeps the list: idle keep-alive past
 * server.timeouts.idle is closed, a request whose headers (or body) have not
 * arrived within server.timeouts.header (body) is answered 408 and closed.
 * A slow client therefore holds nothing but its own connection.
 *
 * Closing after an error or "Connection: close": once everything is written
 * we shut down our side (shutdown(2), SHUT_WR) and keep reading (discarding)
 * for a short linger, so the client gets our response instead of a reset
 * caused by unread bytes.
 */
#include "worker.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "log.h"

#define TICK_MS 250
#define LINGER_MS 2000
#define READ_BUF (64 * 1024)
#define READS_PER_EVENT 16 /* full buffers read in one go before other sockets get a turn */
#define OUT_HIGH_WATER (1024 * 1024)
#define ACCEPTS_PER_EVENT 64
#define ACCEPT_PAUSE_MS 250 /* out of descriptors or memory: stop accepting this long */

typedef struct conn_s conn_t;

struct le_worker_s {
    int id;
    uv_loop_t loop;
    uv_poll_t listener; /* on listen_fd, which the worker owns from le_worker_start on */
    uv_async_t wakeup;
    uv_async_t durable; /* the log made more frames durable (held answers may go) */
    int watch;          /* our le_evlog_watch handle; -1 when not holding answers */
    uint32_t nheld;     /* connections holding an answer until its events are durable */
    uv_timer_t tick;
    uv_thread_t thread;
    int listen_fd;           /* closed in the listener's close callback */
    bool accept_paused;      /* accept4 failed for want of resources: listener stopped */
    int accept_err;          /* the errno that paused accepting, 0 once one succeeds again */
    uint64_t accept_resume;  /* loop time at which the tick starts the listener again */
    uint64_t accept_skipped; /* accept4 failures since the last success */
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
    uv_poll_t poll;
    le_worker_t *w;
    conn_t *prev, *next;
    uint64_t id;
    uint64_t deadline; /* loop time in ms, 0 = none */
    int fd;            /* closed in on_conn_closed, after the poll handle */
    int events;        /* what the poll handle watches now: UV_READABLE, UV_WRITABLE */
    uint8_t seen_state;
    uint32_t seen_gen;
    bool writing; /* the socket would not take all of http.out: waiting for UV_WRITABLE */
    bool reading;
    bool lingering; /* shut down, discarding input until EOF or deadline */
    bool closed;
    bool held;         /* waiting for the log to make hold_seq durable */
    uint64_t hold_seq; /* answers in http.out go out once this frame is durable */
    size_t sent;       /* bytes at the front of http.out already sent */
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
    conn_t *c = le_container_of(hd, conn_t, poll);
    close(c->fd);
    le_http_free(&c->http);
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
    uv_close((uv_handle_t *)&c->poll, on_conn_closed);
}

static void on_io(uv_poll_t *p, int status, int events);

/*
 * Make the poll handle watch what the connection waits for: readable while
 * it reads, writable while output the socket refused is waiting (unless it
 * is held back). Called after every change of reading, writing or held.
 */
static void update_poll(conn_t *c) {
    if (c->closed) return;
    int want = (c->reading ? UV_READABLE : 0) | (c->writing && !c->held ? UV_WRITABLE : 0);
    if (want == c->events) return;
    c->events = want;
    if (!want || uv_poll_start(&c->poll, want, on_io) != 0) uv_poll_stop(&c->poll);
}

/* send() what the socket takes: the byte count (0 when it is full) or -errno. */
static ssize_t send_some(int fd, const char *p, size_t n) {
    for (;;) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k >= 0) return k;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -errno;
    }
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
    /* Our FIN after the last response; keep reading until the peer's EOF or the linger
     * deadline. ENOTCONN: the peer is gone already. */
    if (shutdown(c->fd, SHUT_WR) != 0) conn_close(c);
}

/*
 * With fsync: always a form is acknowledged only once its record is durable: its answer (and
 * whatever else is waiting in http.out) stays there, reading pauses, and the log's writer wakes
 * us (w->durable) after its next batch. If the log fails instead, the connection is closed
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
    c->reading = false;
    le_evlog_arm(w->log, w->watch);
    /* a batch that finished before the arm: look again on the next loop turn */
    if (le_evlog_synced(w->log) >= c->hold_seq) uv_async_send(&w->durable);
    return true;
}

/*
 * Send what http.out holds unless the socket is known to be full (then
 * UV_WRITABLE calls us again), the answers are held back, or the connection
 * is closed. Once all is out: close if the engine asked for it, else read
 * again. Backpressure: a client that pipelines without reading waits for us
 * once more than OUT_HIGH_WATER bytes are queued.
 */
static void flush(conn_t *c) {
    le_buf_t *o = &c->http.out;
    if (c->closed) return;
    if (held_back(c)) goto out;
    if (!c->writing && c->sent < o->len) {
        ssize_t n = send_some(c->fd, o->data + c->sent, o->len - c->sent);
        if (n < 0) { /* EPIPE, ECONNRESET: the peer is gone */
            conn_close(c);
            return;
        }
        c->sent += (size_t)n;
        c->writing = c->sent < o->len;
    }
    if (c->sent == o->len) {
        le_buf_reset(o);
        c->sent = 0;
        if (c->http.close) {
            conn_finish(c);
            goto out;
        }
        if (!c->reading && !c->w->draining) c->reading = true;
    } else {
        /* Drop what was sent once it is the larger part, so appends do not grow o for ever. */
        if (c->sent >= READ_BUF && c->sent >= o->len - c->sent) {
            le_buf_consume(o, c->sent);
            c->sent = 0;
        }
        if (o->len - c->sent > OUT_HIGH_WATER) c->reading = false;
    }
out:
    update_poll(c);
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

/*
 * Read while the connection wants input: until the socket has no more (a
 * short read says so; the poll is level-triggered and tells us of more), or
 * READS_PER_EVENT full buffers. EOF, a reset or any other error ends the
 * connection (the engine hears of a request cut short); while lingering,
 * input is discarded.
 */
static void conn_read(conn_t *c) {
    le_worker_t *w = c->w;
    for (int i = 0; i < READS_PER_EVENT && c->reading && !c->closed; i++) {
        ssize_t n = recv(c->fd, w->readbuf, READ_BUF, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
            if (!c->lingering) le_http_eof(&c->http);
            conn_close(c);
            return;
        }
        if (!c->lingering) {
            le_http_feed(&c->http, w->readbuf, (size_t)n);
            if (w->router.hold_seq > c->hold_seq) c->hold_seq = w->router.hold_seq;
            w->router.hold_seq = 0;
            arm(c);
            flush(c);
        }
        if (n < READ_BUF) return;
    }
}

static void on_io(uv_poll_t *p, int status, int events) {
    conn_t *c = le_container_of(p, conn_t, poll);
    if (status < 0) {
        /* POLLERR (a reset): libuv has stopped the handle. Bytes that arrived before the
         * reset are still read and handled, as libuv's stream did; recv then reports it. */
        c->events = 0;
        if (c->reading) conn_read(c);
        if (!c->closed) {
            if (!c->lingering) le_http_eof(&c->http);
            conn_close(c);
        }
        return;
    }
    if (events & UV_WRITABLE) {
        c->writing = false;
        flush(c);
    }
    if (events & UV_READABLE) conn_read(c);
}

/* A connection refused at max_connections (or while draining) gets the ready-made 503. */
static void refuse(le_worker_t *w, int fd) {
    le_metrics_inc(&w->metrics, LE_C_CONN_REFUSED);
    le_metrics_inc(&w->metrics, LE_C_ST_5XX);
    char busy[256];
    send_some(fd, busy, le_http_busy(busy, sizeof(busy), w->date));
    close(fd);
}

static void conn_open(le_worker_t *w, int fd, const struct sockaddr_storage *ss) {
    int before = atomic_fetch_add_explicit(w->active, 1, memory_order_relaxed);
    if ((uint32_t)before >= w->cfg->server.max_connections || w->draining) {
        atomic_fetch_sub_explicit(w->active, 1, memory_order_relaxed);
        refuse(w, fd);
        return;
    }
    conn_t *c = le_xmalloc(sizeof(*c));
    memset(c, 0, offsetof(conn_t, http));
    if (uv_poll_init_socket(&w->loop, &c->poll, fd) != 0) {
        atomic_fetch_sub_explicit(w->active, 1, memory_order_relaxed);
        close(fd);
        free(c);
        return;
    }
    c->w = w;
    c->fd = fd;
    le_metrics_inc(&w->metrics, LE_C_CONN_ACCEPTED);
    atomic_fetch_add_explicit(&w->metrics.active_connections, 1, memory_order_relaxed);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    le_ip_t peer = {0};
    le_ip_from_sockaddr((const struct sockaddr *)ss, &peer);
    le_http_init(&c->http, w->cfg, &w->router, w->date, &peer);
    c->id = ++w->next_conn_id;
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    /* The first request must arrive within the header timeout. */
    c->seen_state = LE_HTTP_HEAD;
    c->deadline = uv_now(&w->loop) + w->cfg->server.timeouts.header_ms;
    c->reading = true;
    update_poll(c);
}

/*
 * Out of descriptors (EMFILE, ENFILE) or memory: the pending connection
 * stays in the backlog and the level-triggered listener would report it
 * again at once, so stop watching it for ACCEPT_PAUSE_MS (the tick starts it
 * again). Logged once when it begins and once when accepting works again.
 */
static void accept_pause(le_worker_t *w, int err) {
    w->accept_skipped++;
    if (!w->accept_err)
        le_log(LE_LOG_WARN, "worker %d: accept: %s; pausing accepts for %d ms at a time", w->id,
               strerror(err), ACCEPT_PAUSE_MS);
    w->accept_err = err;
    w->accept_paused = true;
    w->accept_resume = uv_now(&w->loop) + ACCEPT_PAUSE_MS;
    uv_poll_stop(&w->listener);
}

static void on_accept(uv_poll_t *p, int status, int events) {
    le_worker_t *w = le_container_of(p, le_worker_t, listener);
    (void)events;
    if (status < 0) { /* an error on the listening socket: libuv stopped the handle */
        accept_pause(w, EIO);
        return;
    }
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(w->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK) return;
            /* The connection died in the backlog, or a signal: the next one may be fine.
             * Linux also reports the new socket's pending network errors here (accept(2)). */
            if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == ENETDOWN ||
                e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH ||
                e == EOPNOTSUPP || e == ENETUNREACH || e == EPERM)
                continue;
            accept_pause(w, e); /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
            return;
        }
        if (w->accept_err) {
            le_log(LE_LOG_INFO, "worker %d: accepting again after %llu failed accepts", w->id,
                   (unsigned long long)w->accept_skipped);
            w->accept_err = 0;
            w->accept_skipped = 0;
        }
        conn_open(w, fd, &ss);
    }
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
    if (w->accept_paused && !w->draining && now >= w->accept_resume) {
        w->accept_paused = false;
        uv_poll_start(&w->listener, UV_READABLE, on_accept);
    }
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

/* The listener's socket is the worker's (main.c handed it over): closed here, once. */
static void on_listener_closed(uv_handle_t *hd) {
    le_worker_t *w = le_container_of(hd, le_worker_t, listener);
    close(w->listen_fd);
    w->listen_fd = -1;
}

static void begin_drain(le_worker_t *w) {
    if (w->draining) return;
    w->draining = true;
    w->drain_deadline = uv_now(&w->loop) + w->cfg->server.timeouts.shutdown_ms;
    uv_close((uv_handle_t *)&w->listener, on_listener_closed);
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
    w->listen_fd = listen_fd; /* ours once started; main.c closes it when the start fails */
    if ((rc = uv_loop_init(&w->loop)) != 0) goto fail;
    /* le_listen_socket already called listen() with server.backlog. */
    if ((rc = uv_poll_init_socket(&w->loop, &w->listener, listen_fd)) != 0 ||
        (rc = uv_poll_start(&w->listener, UV_READABLE, on_accept)) != 0)
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
