/*
 * http.h: HTTP/1.1 on one connection, as a byte-in/byte-out engine.
 *
 * The engine knows nothing about sockets or loops: the owner feeds it the
 * bytes it reads and writes out whatever accumulates in h->out. That keeps
 * the whole request path (http-parser glue, limits, routing, handlers)
 * testable and fuzzable without a network.
 *
 * Per request it enforces, from the live config: request line (414), header
 * bytes and count (431), body (413, decided from Content-Length before the
 * body is read, or while a chunked body arrives), method (405), path (404)
 * and malformed input (400, then close). Keep-alive and pipelining are
 * handled; responses to pipelined requests are appended in order.
 */
#ifndef LE_HTTP_H
#define LE_HTTP_H

#include <http_parser.h>

#include "arena.h"
#include "router.h"

typedef enum {
    LE_HTTP_IDLE = 0, /* between requests (keep-alive wait) */
    LE_HTTP_HEAD,     /* receiving request line and headers */
    LE_HTTP_BODY,     /* receiving the body */
    LE_HTTP_CLOSING,  /* answered; nothing more is parsed */
} le_http_state_t;

typedef struct {
    uint32_t name_off, name_len, val_off, val_len;
} le_http_hdr_t;

typedef struct {
    http_parser parser;
    const le_config_t *cfg;  /* the owner keeps this current (reload) */
    le_router_ctx_t *router; /* log and counters */
    const char *date;        /* the owner's cached "Date: ...\r\n" line */
    le_ip_t peer;
    bool draining; /* shutting down: answer with Connection: close */

    uint8_t state;          /* le_http_state_t */
    uint32_t gen;           /* bumped when a request begins or completes (timer re-arming) */
    const char *feed_end;   /* end of the bytes being fed (obs-fold detection) */
    bool value_at_feed_end; /* the last header value piece ended where the feed ended */
    bool force_close;       /* close after this request whatever it asked for */
    bool close;             /* close once out is written */
    bool no_target_scan;    /* tests: always let http-parser read the request target */
    bool no_head_scan;      /* tests: never take a whole head ahead of http-parser */
    le_buf_t out;           /* response bytes for the owner to write */

    /* request being received */
    le_route_t route;
    uint8_t method;
    bool last_was_value;
    bool skip_body;        /* rejected: ignore the rest */
    uint16_t error_status; /* set by a callback that refuses the request */
    le_counter_t error_counter;
    bool url_given;      /* the target was scanned ahead of http-parser; ignore on_url */
    bool head_given;     /* the whole head was scanned ahead of http-parser (hdrs are filled and
                        checked); ignore its header callbacks */
    int32_t head_expect; /* with head_given: the index of the Expect header, or -1 */
    uint32_t url_len;
    uint32_t path_len;  /* target split once, at the end of the headers */
    uint32_t query_off; /* query_len bytes at hbuf.data + query_off, without '?' */
    uint32_t query_len;
    uint32_t header_bytes;
    le_buf_t hbuf; /* url, then header names and values */
    le_http_hdr_t *hdrs;
    uint32_t nhdrs, hdrs_cap;
    le_buf_t body;
    le_arena_t arena;
    _Alignas(16) char arena_first[4096];
} le_http_t;

/* Passed to http_parser_set_max_header_size() at start-up: above the largest request
 * line plus header bytes the config allows (1 MiB each) with per-line overhead. */
#define LE_HTTP_PARSER_MAX_HEAD (4u << 20)

void le_http_init(le_http_t *h, const le_config_t *cfg, le_router_ctx_t *router, const char *date,
                  const le_ip_t *peer);
void le_http_free(le_http_t *h);

/*
 * Parse n bytes. Complete requests are handled and their responses appended
 * to h->out in order. After a call, h->close says the connection must be
 * closed once out is written; further bytes are then ignored.
 */
void le_http_feed(le_http_t *h, const char *data, size_t n);

/* The peer closed its side. Returns true when a request was cut short. */
bool le_http_eof(le_http_t *h);

/* The owner's header or body timer fired: answer 408 and close. */
void le_http_timeout(le_http_t *h);

/* A ready-made response for a refused connection (503, Retry-After). */
/* Written into buf (at least 256 bytes) with the given Date line; returns its length. */
size_t le_http_busy(char *buf, size_t cap, const char *date);

#endif
