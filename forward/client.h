/*
 * client.h: the outbound HTTP(S) client that POSTs webhooks to one CRM endpoint.
 *
 * One client per configured endpoint URL, on the control-plane thread's libevent loop. Not
 * thread-safe: every call, and every callback, happens on the thread that runs that loop.
 *
 * Each request is an HTTP/1.1 POST of a JSON body with these headers, then the caller's:
 *
 *     POST /path?query HTTP/1.1
 *     Host: crm.example.com              (":port" only when the URL gave a non-default one)
 *     User-Agent: leadedge/0.1.0
 *     Content-Type: application/json
 *     Content-Length: 123
 *     <static headers from the options, in order>
 *     <per-request headers, in order>
 *
 * Connections: at most `concurrency` requests are in flight, and as many keep-alive
 * connections are kept, one request at a time on each (no pipelining). An idle connection is
 * reused (the most recently used first) and dropped when the receiver closes it, sends
 * anything unasked, or it stays idle for LE_CLIENT_IDLE_MS. A request that finds its reused
 * connection closed before any byte of an answer arrived (the receiver closed it just as the
 * request went out) is sent once more on a fresh connection, within the same timeout: webhooks
 * carry an Idempotency-Key, so a duplicate is harmless. Every new connection gets a fresh TLS
 * session: an SSL object is never reused for a second connection.
 *
 * TLS: the certificate chain is verified against ca_file (else the system's default paths),
 * and the name against the URL's host (a DNS name, or an IP literal against the certificate's
 * IP addresses); SNI is sent for DNS names; TLS 1.2 at least. Host names are resolved with
 * libevent's asynchronous resolver (/etc/resolv.conf and /etc/hosts), every address in turn.
 *
 * The process must ignore SIGPIPE (leadedge's main does): libevent writes with write(2), and a
 * write to a connection the receiver reset would otherwise kill it.
 *
 * Answers: the status line and the headers are the answer. The body is read and thrown away;
 * outside 2xx its first LE_CLIENT_ERROR_MAX bytes are kept as the error text. Headers over
 * LE_CLIENT_HEADERS_MAX are a transport error; a body over LE_CLIENT_BODY_MAX stops the
 * reading (the status stands, the connection is closed). 1xx interim answers are skipped.
 */
#ifndef LE_CLIENT_H
#define LE_CLIENT_H

#include <stdint.h>

#include "le.h"

struct event_base;

#define LE_CLIENT_CONCURRENCY_MAX 256 /* bound on opts.concurrency (file descriptors) */
#define LE_CLIENT_ERROR_MAX 4096      /* bytes of a non-2xx body kept as the error text */
#define LE_CLIENT_HEADERS_MAX 16384   /* bytes of answer status line and headers */
#define LE_CLIENT_BODY_MAX (1 << 20)  /* bytes of answer body read before giving up on it */
#define LE_CLIENT_IDLE_MS 30000       /* an idle keep-alive connection is closed after this */

typedef struct le_client_s le_client_t;

typedef struct {
    const char *url;      /* http://host[:port][/path][?query] or https://...; [v6] literals */
    uint32_t timeout_ms;  /* per request, from le_client_post to the whole answer; >= 1 */
    uint32_t concurrency; /* requests in flight = keep-alive connections; 1 .. LIMIT above */
    const char *ca_file;  /* PEM bundle to trust for https; NULL: the system's default paths */
    const char *const *headers; /* static headers: name, value, name, value, ... */
    size_t nheaders;            /* number of headers (pairs), so 2 * nheaders strings */
} le_client_opts_t;

/*
 * A client for o->url on base; every string in o is copied. On failure returns LE_EINVAL and
 * sets *msg to a malloc'd sentence for the operator (the caller frees it; it never repeats the
 * URL, which may carry a secret): an unsupported scheme, userinfo, a fragment, a missing or
 * malformed host or port, a bad option, a header name that is not a token or is one the
 * client sets itself (Host, Content-Length, Content-Type, User-Agent, Connection, ...), a
 * header value with CR, LF or NUL, a ca_file OpenSSL cannot load.
 */
int le_client_new(struct event_base *base, const le_client_opts_t *o, le_client_t **out,
                  char **msg);

/* True while fewer than `concurrency` requests are in flight: le_client_post will take one. A
 * request stops being in flight just before its callback, so a callback may post again. */
bool le_client_can_send(const le_client_t *c);

typedef struct {
    int status;              /* the HTTP status; 0: no answer (transport error, timeout,
                                cancelled) */
    const char *error;       /* status 0: why, e.g. "timeout", "cancelled", "connect
                                127.0.0.1:9: Connection refused", "TLS handshake with h:443:
                                certificate verify failed: hostname mismatch"; outside 2xx: the
                                body's start (printable ASCII; other bytes become '?'), else the
                                reason phrase; NULL when there is nothing to say */
    const char *retry_after; /* the Retry-After header value (see retry.h), or NULL */
    int64_t elapsed_us;      /* from le_client_post to the answer */
} le_client_result_t;

/* The strings in r live until the callback returns. */
typedef void (*le_client_cb)(void *ud, const le_client_result_t *r);

/*
 * POST len bytes of body (copied) with nheaders extra headers (name, value pairs, copied:
 * the signature, the Idempotency-Key). On 0, cb(ud, result) is called exactly once, later,
 * from the loop: never from inside le_client_post. Fails without calling cb: LE_EFULL when
 * le_client_can_send is false, LE_EINVAL for a bad or reserved header (as le_client_new) or
 * when the client is being freed.
 */
int le_client_post(le_client_t *c, const char *const *headers, size_t nheaders, const void *body,
                   size_t len, le_client_cb cb, void *ud);

/*
 * Close every connection and free the client (NULL is fine). Requests still in flight are
 * answered from inside this call: with status 0 and error "cancelled", or with the answer when
 * it had already arrived; posting from those callbacks fails. Called from inside one of this
 * client's callbacks, the same happens as soon as that callback returns. A host name lookup
 * still out is cancelled, but libevent 2.1 reports the cancellation later, from the loop, and
 * only then can the resolver go: before event_base_free, let the loop run (two
 * event_base_loop(base, EVLOOP_NONBLOCK) passes suffice) or that memory is leaked.
 */
void le_client_free(le_client_t *c);

#endif
