/*
 * http.c: http-parser glue, limits and response serialisation.
 *
 * Request bytes are copied once into h->hbuf (URL, then each header name and
 * value) as http-parser hands them over, possibly in pieces across reads;
 * offsets are resolved to pointers only when the headers are complete, so
 * hbuf may grow freely before that. Every limit is checked as the bytes
 * arrive, so a client cannot make us buffer more than the limit before we
 * say no.
 *
 * A refusal decided inside a callback is recorded in error_status and the
 * callback returns non-zero, which stops the parser; le_http_feed then
 * answers with that status and closes.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

size_t le_http_busy(char *buf, size_t cap, const char *date) {
    int n = snprintf(buf, cap,
                     "HTTP/1.1 503 Service Unavailable\r\n%sContent-Type: text/plain\r\n"
                     "Retry-After: 1\r\nContent-Length: 21\r\nConnection: close\r\n\r\n"
                     "too many connections\n",
                     date);
    return n < 0 ? 0 : LE_MIN((size_t)n, cap - 1);
}

static const http_parser_settings settings;

void le_http_init(le_http_t *h, const le_config_t *cfg, le_router_ctx_t *router, const char *date,
                  const le_ip_t *peer) {
    memset(h, 0, offsetof(le_http_t, arena_first));
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
    h->cfg = cfg;
    h->router = router;
    h->date = date;
    h->peer = *peer;
    le_arena_init(&h->arena, h->arena_first, sizeof(h->arena_first));
}

void le_http_free(le_http_t *h) {
    le_buf_free(&h->out);
    le_buf_free(&h->hbuf);
    le_buf_free(&h->body);
    free(h->hdrs);
    h->hdrs = NULL;
    le_arena_free(&h->arena);
}

static const char *reason(unsigned status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 417:
            return "Expectation Failed";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

static void count_status(le_http_t *h, unsigned status) {
    le_metrics_t *m = h->router->metrics;
    if (status < 300)
        le_metrics_inc(m, LE_C_ST_2XX);
    else if (status < 400)
        le_metrics_inc(m, LE_C_ST_3XX);
    else if (status < 500)
        le_metrics_inc(m, LE_C_ST_4XX);
    else
        le_metrics_inc(m, LE_C_ST_5XX);
}

/* Decimal digits of v into the end of buf; returns the start. */
static char *utoa_end(char *end, size_t v) {
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* Serialise a response into h->out. Hot path: no printf. */
static void respond(le_http_t *h, const le_pixel_resp_t *r, bool head, bool close) {
    le_buf_t *o = &h->out;
    bool no_body = r->status == 204 || r->status == 304;
    char num[24], *p;
    le_buf_reserve(o, 256 + r->headers.len + r->body.len);
    le_buf_append(o, "HTTP/1.1 ", 9);
    p = utoa_end(num + sizeof(num), r->status);
    le_buf_append(o, p, (size_t)(num + sizeof(num) - p));
    le_buf_append(o, " ", 1);
    le_buf_puts(o, reason(r->status));
    le_buf_append(o, "\r\n", 2);
    le_buf_puts(o, h->date);
    if (!no_body) {
        le_buf_append(o, "Content-Length: ", 16);
        p = utoa_end(num + sizeof(num), r->body.len);
        le_buf_append(o, p, (size_t)(num + sizeof(num) - p));
        le_buf_append(o, "\r\n", 2);
    }
    if (r->content_type.len && !no_body) {
        le_buf_append(o, "Content-Type: ", 14);
        le_buf_putstr(o, r->content_type);
        le_buf_append(o, "\r\n", 2);
    }
    le_buf_putstr(o, r->headers);
    if (close)
        le_buf_append(o, "Connection: close\r\n", 19);
    else if (h->parser.http_major == 1 && h->parser.http_minor == 0)
        le_buf_append(o, "Connection: keep-alive\r\n", 24);
    le_buf_append(o, "\r\n", 2);
    if (!head && !no_body) le_buf_putstr(o, r->body);
    count_status(h, r->status);
}

/* A refusal from the engine itself: small text body, then close. */
static void respond_error(le_http_t *h, unsigned status, le_counter_t counter) {
    char body[96], extra[64] = "";
    le_pixel_resp_t r = {0};
    r.status = (uint16_t)status;
    r.content_type = LE_STR("text/plain; charset=utf-8");
    r.body =
        (le_str_t){body, (size_t)snprintf(body, sizeof(body), "%u %s\n", status, reason(status))};
    if (status == 405) {
        const char *allow;
        le_router_allows(h->route, h->method, &allow);
        snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
    } else if (status == 503) {
        snprintf(extra, sizeof(extra), "Retry-After: 1\r\n");
    }
    r.headers = le_str(extra);
    le_metrics_inc(h->router->metrics, counter);
    respond(h, &r, h->method == LE_M_HEAD, true);
    h->close = true;
    h->state = LE_HTTP_CLOSING;
}

static int refuse(le_http_t *h, unsigned status, le_counter_t counter) {
    h->error_status = (uint16_t)status;
    h->error_counter = counter;
    return -1;
}

/* ---- parser callbacks ------------------------------------------------ */

static int on_message_begin(http_parser *p) {
    le_http_t *h = p->data;
    h->gen++;
    h->state = LE_HTTP_HEAD;
    h->url_given = false;
    h->head_given = false;
    h->url_len = 0;
    h->header_bytes = 0;
    h->nhdrs = 0;
    h->last_was_value = false;
    h->route = LE_ROUTE_NONE;
    h->method = LE_M_OTHER;
    le_buf_reset(&h->hbuf);
    le_buf_reset(&h->body);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
    le_http_t *h = p->data;
    if (h->url_given) return 0;
    if (h->url_len + n > h->cfg->server.limits.request_line) return refuse(h, 414, LE_C_REJ_URI);
    le_buf_append(&h->hbuf, at, n);
    h->url_len += (uint32_t)n;
    return 0;
}

/* Header i of the list, growing it when i is one past its end. */
static le_http_hdr_t *hdr_slot(le_http_t *h, uint32_t i) {
    if (i == h->hdrs_cap) {
        h->hdrs_cap = h->hdrs_cap ? h->hdrs_cap * 2 : 16;
        h->hdrs = le_xrealloc(h->hdrs, h->hdrs_cap * sizeof(*h->hdrs));
    }
    return &h->hdrs[i];
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
    le_http_t *h = p->data;
    const le_config_t *cfg = h->cfg;
    if (h->head_given) return 0;
    h->header_bytes += (uint32_t)n;
    if (h->header_bytes > cfg->server.limits.header_bytes)
        return refuse(h, 431, LE_C_REJ_HDR_BYTES);
    if (h->nhdrs == 0 || h->last_was_value) {
        if (h->nhdrs >= cfg->server.limits.header_count) return refuse(h, 431, LE_C_REJ_HDR_COUNT);
        le_http_hdr_t *x = hdr_slot(h, h->nhdrs++);
        x->name_off = (uint32_t)h->hbuf.len;
        x->name_len = 0;
        x->val_off = 0;
        x->val_len = 0;
        h->last_was_value = false;
    }
    le_buf_append(&h->hbuf, at, n);
    h->hdrs[h->nhdrs - 1].name_len += (uint32_t)n;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
    le_http_t *h = p->data;
    if (h->head_given) return 0;
    h->header_bytes += (uint32_t)n;
    if (h->header_bytes > h->cfg->server.limits.header_bytes)
        return refuse(h, 431, LE_C_REJ_HDR_BYTES);
    le_http_hdr_t *x = &h->hdrs[h->nhdrs - 1];
    if (!h->last_was_value) {
        x->val_off = (uint32_t)h->hbuf.len;
        h->last_was_value = true;
    } else if (!h->value_at_feed_end) {
        /* A second piece of the same value that did not come from a new read: http-parser
         * unfolded an obs-fold line. RFC 9112 lets us refuse it, and we do. */
        return refuse(h, 400, LE_C_REJ_MALFORMED);
    }
    h->value_at_feed_end = at + n == h->feed_end;
    le_buf_append(&h->hbuf, at, n);
    x->val_len += (uint32_t)n;
    return 0;
}

/* RFC 9110 token characters (ALPHA, DIGIT and "!#$%&'*+-.^_`|~"), as a table: one load a byte
 * in the loops over header names. */
static const bool tchar[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['!'] = true,  ['#'] = true,
    ['$'] = true,         ['%'] = true,         ['&'] = true,         ['\''] = true, ['*'] = true,
    ['+'] = true,         ['-'] = true,         ['.'] = true,         ['^'] = true,  ['_'] = true,
    ['`'] = true,         ['|'] = true,         ['~'] = true,
};

static inline bool is_tchar(unsigned char ch) {
    return tchar[ch];
}

static uint8_t method_of(unsigned m) {
    switch (m) {
        case HTTP_GET:
            return LE_M_GET;
        case HTTP_HEAD:
            return LE_M_HEAD;
        case HTTP_POST:
            return LE_M_POST;
        case HTTP_OPTIONS:
            return LE_M_OPTIONS;
        default:
            return LE_M_OTHER;
    }
}

/* Does v[0..n) hold a CR, LF or NUL? One pass, 16 bytes at a time where SSE2 is there,
 * instead of three memchr calls per header. */
static bool has_crlf_nul(const char *v, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), z = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf)),
                                   _mm_cmpeq_epi8(x, z));
        if (_mm_movemask_epi8(hit)) return true;
    }
#endif
    for (; i < n; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0') return true;
    return false;
}

static int on_headers_complete(http_parser *p) {
    le_http_t *h = p->data;
    const le_config_t *cfg = h->cfg;
    const char *u = h->hbuf.data;
    /* Only origin-form targets ("/path?query"). */
    if (h->url_len == 0 || u[0] != '/') return refuse(h, 400, LE_C_REJ_MALFORMED);
    /* HTTP/1.0 has no chunked framing: RFC 9112 6.1 says to treat it as faulty and close
     * the connection once the request is processed. */
    h->force_close = (p->flags & F_CHUNKED) && p->http_major == 1 && p->http_minor == 0;
    int expect = h->head_given ? h->head_expect : -1;
    for (uint32_t i = 0; i < h->nhdrs && !h->head_given; i++) {
        /* Header names are tokens (no space before the colon); values never carry CR, LF
         * or NUL. Both are request-smuggling shapes behind a lenient proxy. */
        const le_http_hdr_t *x = &h->hdrs[i];
        const char *nm = h->hbuf.data + x->name_off;
        if (x->name_len == 0) return refuse(h, 400, LE_C_REJ_MALFORMED);
        for (uint32_t k = 0; k < x->name_len; k++)
            if (!is_tchar((unsigned char)nm[k])) return refuse(h, 400, LE_C_REJ_MALFORMED);
        const char *v = h->hbuf.data + x->val_off;
        if (has_crlf_nul(v, x->val_len)) return refuse(h, 400, LE_C_REJ_MALFORMED);
        if (x->name_len == 6 && le_str_ieq((le_str_t){nm, 6}, "expect")) expect = (int)i;
    }
    /* Split the target once: path up to '?' or '#', query from '?' up to '#'. */
    const char *hash = memchr(u, '#', h->url_len);
    uint32_t uend = hash ? (uint32_t)(hash - u) : h->url_len;
    const char *qm = memchr(u, '?', uend);
    uint32_t plen = qm ? (uint32_t)(qm - u) : uend;
    uint32_t qend = qm ? uend : plen;
    h->path_len = plen;
    h->query_off = plen + 1;
    h->query_len = qend > plen ? qend - plen - 1 : 0;
    h->route = le_router_match((le_str_t){u, plen});
    h->method = method_of(p->method);
    if (h->route == LE_ROUTE_NONE) return refuse(h, 404, LE_C_REJ_NOT_FOUND);
    const char *allow;
    if (!le_router_allows(h->route, h->method, &allow)) return refuse(h, 405, LE_C_REJ_METHOD);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > cfg->server.limits.body)
        return refuse(h, 413, LE_C_REJ_BODY);
    h->state = LE_HTTP_BODY;
    /* Expect: 100-continue, once the request is known to be acceptable: send the body now. */
    if (expect >= 0) {
        const le_http_hdr_t *x = &h->hdrs[expect];
        if (!le_str_ieq((le_str_t){h->hbuf.data + x->val_off, x->val_len}, "100-continue"))
            return refuse(h, 417, LE_C_REJ_MALFORMED);
        le_buf_append(&h->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
    le_http_t *h = p->data;
    if (h->body.len + n > h->cfg->server.limits.body) return refuse(h, 413, LE_C_REJ_BODY);
    le_buf_append(&h->body, at, n);
    return 0;
}

/* Fill the handler's view of the request from the buffered bytes. */
static void build_request(le_http_t *h, le_pixel_req_t *r) {
    memset(r, 0, sizeof(*r));
    r->method = h->method;
    r->path = (le_str_t){h->hbuf.data, h->path_len};
    if (h->query_len) r->query = (le_str_t){h->hbuf.data + h->query_off, h->query_len};
    for (uint32_t i = 0; i < h->nhdrs; i++) {
        const le_http_hdr_t *x = &h->hdrs[i];
        le_str_t name = {h->hbuf.data + x->name_off, x->name_len};
        le_str_t v = {h->hbuf.data + x->val_off, x->val_len};
        while (v.len && (v.ptr[v.len - 1] == ' ' || v.ptr[v.len - 1] == '\t')) v.len--;
        le_str_t *dst = NULL;
        switch (name.len) {
            case 3:
                if (le_str_ieq(name, "dnt")) dst = &r->dnt;
                break;
            case 4:
                if (le_str_ieq(name, "host")) dst = &r->host;
                break;
            case 6:
                if (le_str_ieq(name, "cookie")) {
                    if (r->cookie.len) { /* several Cookie headers: join them */
                        char *j = le_arena_alloc(&h->arena, r->cookie.len + 2 + v.len);
                        memcpy(j, r->cookie.ptr, r->cookie.len);
                        memcpy(j + r->cookie.len, "; ", 2);
                        memcpy(j + r->cookie.len + 2, v.ptr, v.len);
                        v = (le_str_t){j, r->cookie.len + 2 + v.len};
                    }
                    dst = &r->cookie;
                } else if (le_str_ieq(name, "accept"))
                    dst = &r->accept;
                else if (le_str_ieq(name, "origin"))
                    dst = &r->origin;
                break;
            case 7:
                if (le_str_ieq(name, "referer"))
                    dst = &r->referer;
                else if (le_str_ieq(name, "sec-gpc"))
                    dst = &r->sec_gpc;
                break;
            case 9:
                if (le_str_ieq(name, "forwarded"))
                    dst = &r->forwarded;
                else if (le_str_ieq(name, "x-real-ip"))
                    dst = &r->x_real_ip;
                else if (le_str_ieq(name, "sec-ch-ua"))
                    dst = &r->hints.ch_ua;
                break;
            case 10:
                if (le_str_ieq(name, "user-agent")) dst = &r->user_agent;
                break;
            case 12:
                if (le_str_ieq(name, "content-type")) dst = &r->content_type;
                break;
            case 13:
                if (le_str_ieq(name, "if-none-match")) dst = &r->if_none_match;
                break;
            case 15:
                if (le_str_ieq(name, "accept-language"))
                    dst = &r->accept_language;
                else if (le_str_ieq(name, "accept-encoding"))
                    dst = &r->accept_encoding;
                else if (le_str_ieq(name, "x-forwarded-for"))
                    dst = &r->x_forwarded_for;
                else if (le_str_ieq(name, "sec-ch-ua-model"))
                    dst = &r->hints.ch_ua_model;
                break;
            case 16:
                if (le_str_ieq(name, "sec-ch-ua-mobile")) dst = &r->hints.ch_ua_mobile;
                break;
            case 18:
                if (le_str_ieq(name, "sec-ch-ua-platform")) dst = &r->hints.ch_ua_platform;
                break;
            case 26:
                if (le_str_ieq(name, "sec-ch-ua-platform-version"))
                    dst = &r->hints.ch_ua_platform_version;
                break;
            case 27:
                if (le_str_ieq(name, "sec-ch-ua-full-version-list"))
                    dst = &r->hints.ch_ua_full_version_list;
                break;
            case 29:
                if (le_str_ieq(name, "access-control-request-method")) dst = &r->acr_method;
                break;
            case 30:
                if (le_str_ieq(name, "access-control-request-headers")) dst = &r->acr_headers;
                break;
        }
        if (dst) *dst = v;
    }
    r->body = (le_str_t){h->body.data, h->body.len};
    r->peer = h->peer;
    r->now_ms = le_now_ms();
    r->cfg = h->cfg;
    r->arena = &h->arena;
    r->enrich = h->router->enrich;
    r->cache = h->router->cache;
}

static int on_message_complete(http_parser *p) {
    le_http_t *h = p->data;
    le_pixel_req_t req;
    le_pixel_resp_t resp;
    build_request(h, &req);
    le_metrics_inc(h->router->metrics, LE_C_REQUESTS);
    le_router_handle(h->router, h->route, &req, &resp);
    bool close = !http_should_keep_alive(p) || h->draining || h->force_close;
    respond(h, &resp, h->method == LE_M_HEAD, close);
    h->gen++;
    le_arena_reset(&h->arena);
    if (h->body.cap > 65536) le_buf_free(&h->body);
    if (h->hbuf.cap > 65536) le_buf_free(&h->hbuf);
    h->state = LE_HTTP_IDLE;
    if (close) {
        h->close = true;
        h->state = LE_HTTP_CLOSING;
        http_parser_pause(p, 1);
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/*
 * The request-target scan ahead of http-parser.
 *
 * http-parser reads a target one byte at a time through its URL state machine, about 3 ns a
 * byte here: for a pixel URL of 300 bytes that was most of its cost per request. When a new
 * request starts at the beginning of a read and its request line is plainly well formed,
 * "METHOD /target " with every target byte a visible ASCII character (0x21..0x7E), the
 * target is taken here with a vector scan and http-parser is fed "METHOD /" followed by the
 * bytes from the space after the target on. http-parser accepts every such target byte in
 * each of its path, query and fragment states, and leaves all of them the same way on the
 * space, so it ends in the same state as had it read the target itself; it still parses the
 * method, version, headers and framing. Anything else (a control or non-ASCII byte, a target
 * not in origin form, a request line split across reads) takes the ordinary path, so no
 * input is accepted here that http-parser would refuse.
 */

/* Length of the leading run of bytes in 0x21..0x7E. */
static size_t visible_run(const unsigned char *p, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i lo = _mm_set1_epi8(0x20), hi = _mm_set1_epi8(0x7f);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        /* signed compares: bytes >= 0x80 are negative and fail the first */
        __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
        unsigned bad = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;
        if (bad) return i + (size_t)__builtin_ctz(bad);
    }
#endif
    while (i < n && p[i] > 0x20 && p[i] < 0x7f) i++;
    return i;
}

/* When data starts with "METHOD /target ", sets *sp to the index of the space after the
 * method and *end to the index of the space after the target. */
static bool scan_request_line(const char *data, size_t n, size_t max_target, size_t *sp,
                              size_t *end) {
    size_t m = 0;
    while (m < n && m < 16 && data[m] >= 'A' && data[m] <= 'Z') m++;
    if (m == 0 || m + 2 > n || data[m] != ' ' || data[m + 1] != '/') return false;
    size_t room = LE_MIN(n - m - 1, max_target + 1);
    size_t len = visible_run((const unsigned char *)data + m + 1, room);
    if (len == room || len > max_target || data[m + 1 + len] != ' ') return false;
    *sp = m;
    *end = m + 1 + len;
    return true;
}

/*
 * The whole head ahead of http-parser.
 *
 * http-parser walks every header byte through its state machine, about 20 instructions a byte:
 * for a pixel request's 350 bytes of User-Agent, Cookie, Referer and the like, that was the
 * largest single cost of a request. Only five header names change what http-parser does
 * (Content-Length, Transfer-Encoding, Connection, Proxy-Connection, Upgrade: framing and
 * persistence); every other header it only checks and hands over. So when a read holds a
 * request's whole head and every line of it is plainly well formed (the request line as for
 * the target scan above with " HTTP/d.d" after the target; each header a token name, a colon,
 * optional blanks and a value without control bytes other than HTAB, each line ended by CRLF;
 * within the configured header limits), the head is taken here: copied into hbuf in one piece,
 * its headers recorded and checked as on_headers_complete would check them, and http-parser is
 * fed only "METHOD / HTTP/d.d", the framing header lines as they came, and the empty line. It
 * parses method, version and framing exactly as before and goes on with the body as before.
 * Anything else (a control byte, obs-fold, a space before a colon, a bare LF, a head split
 * across reads, a limit passed) takes the ordinary path, which then decides, so no input is
 * treated differently from how http-parser alone would treat it.
 */

#define HEAD_FRAMING_ROOM 1024 /* bytes of framing header lines forwarded; more: ordinary path */

/* Length of the leading run of bytes a header value may hold: anything but a control byte
 * (other than HTAB) or DEL. Bytes >= 0x80 (obs-text) are allowed, as http-parser allows them. */
static size_t value_run(const unsigned char *p, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f), tab = _mm_set1_epi8('\t');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v); /* v <= 0x1f, unsigned */
        ctl = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl);
        ctl = _mm_or_si128(ctl, _mm_cmpeq_epi8(v, del));
        unsigned m = (unsigned)_mm_movemask_epi8(ctl);
        if (m) return i + (size_t)__builtin_ctz(m);
    }
#endif
    for (; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) return i;
    return n;
}

/* Is the header name one of those http-parser acts on? */
static bool is_framing_name(const char *nm, size_t n) {
    le_str_t s = {nm, n};
    switch (n) {
        case 7:
            return le_str_ieq(s, "upgrade");
        case 10:
            return le_str_ieq(s, "connection");
        case 14:
            return le_str_ieq(s, "content-length");
        case 16:
            return le_str_ieq(s, "proxy-connection");
        case 17:
            return le_str_ieq(s, "transfer-encoding");
        default:
            return false;
    }
}

static bool execute(le_http_t *h, const char *data, size_t n);

/* Begin a message whose request line scan_request_line found in data ("METHOD /target "): feed
 * http-parser "METHOD /" (on_message_begin resets hbuf and the header list), then put the real
 * target first in hbuf. False when http-parser refused the method (answered). */
static bool begin_scanned(le_http_t *h, const char *data, size_t sp, size_t end) {
    char line[18];
    memcpy(line, data, sp + 2);
    if (!execute(h, line, sp + 2)) return false;
    h->url_len = (uint32_t)(end - sp - 1);
    h->url_given = true;
    le_buf_reset(&h->hbuf);
    le_buf_append(&h->hbuf, data + sp + 1, h->url_len);
    return true;
}

/* Take a whole head from data[0..n) when it qualifies (see above): returns the bytes it used,
 * 0 when the ordinary path must read this request. Called only between requests. */
static size_t head_scan(le_http_t *h, const char *data, size_t n) {
    const le_config_t *cfg = h->cfg;
    const uint32_t max_count = cfg->server.limits.header_count;
    const size_t max_bytes = cfg->server.limits.header_bytes;
    size_t sp, end;
    if (!scan_request_line(data, n, cfg->server.limits.request_line, &sp, &end)) return 0;
    /* " HTTP/d.d\r\n": what http-parser reads after the target */
    const char *v = data + end;
    if (n - end < 11 || memcmp(v, " HTTP/", 6) != 0 || v[6] < '0' || v[6] > '9' || v[7] != '.' ||
        v[8] < '0' || v[8] > '9' || v[9] != '\r' || v[10] != '\n')
        return 0;
    const size_t hstart = end + 11;
    size_t p = hstart, bytes = 0, framing = 0;
    uint32_t nh = 0;
    int32_t expect = -1;
    char synth[11 + HEAD_FRAMING_ROOM + 2];
    memcpy(synth, v, 11);
    size_t slen = 11;
    for (;;) {
        if (n - p < 2) return 0;
        if (data[p] == '\r') {
            if (data[p + 1] != '\n') return 0;
            p += 2;
            break;
        }
        size_t q = p;
        while (q < n && is_tchar((unsigned char)data[q])) q++;
        if (q == p || q == n || data[q] != ':') return 0;
        size_t nlen = q - p;
        for (q++; q < n && (data[q] == ' ' || data[q] == '\t'); q++) {}
        size_t e = q + value_run((const unsigned char *)data + q, n - q);
        if (n - e < 2 || data[e] != '\r' || data[e + 1] != '\n') return 0;
        bytes += nlen + (e - q);
        if (nh >= max_count || bytes > max_bytes) return 0; /* the ordinary path refuses it */
        /* offsets from hstart for now: hbuf is filled once the head is known to qualify */
        *hdr_slot(h, nh) = (le_http_hdr_t){(uint32_t)(p - hstart), (uint32_t)nlen,
                                           (uint32_t)(q - hstart), (uint32_t)(e - q)};
        if (nlen == 6 && le_str_ieq((le_str_t){data + p, 6}, "expect")) expect = (int32_t)nh;
        if (is_framing_name(data + p, nlen)) {
            size_t line = e + 2 - p;
            if (line > HEAD_FRAMING_ROOM - framing) return 0;
            memcpy(synth + slen, data + p, line);
            slen += line;
            framing += line;
        }
        nh++;
        p = e + 2;
    }
    memcpy(synth + slen, "\r\n", 2);
    slen += 2;

    if (!begin_scanned(h, data, sp, end)) return p;
    le_buf_append(&h->hbuf, data + hstart, p - hstart);
    for (uint32_t i = 0; i < nh; i++) {
        h->hdrs[i].name_off += h->url_len;
        h->hdrs[i].val_off += h->url_len;
    }
    h->nhdrs = nh;
    h->head_given = true;
    h->head_expect = expect;
    h->header_bytes = (uint32_t)bytes;
    (void)execute(h, synth, slen);
    return p;
}

/* Feed http-parser; false when it stopped on an error (answered here). */
static bool execute(le_http_t *h, const char *data, size_t n) {
    h->feed_end = data + n;
    (void)http_parser_execute(&h->parser, &settings, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
    if (e == HPE_OK || e == HPE_PAUSED) return true;
    if (h->error_status) {
        respond_error(h, h->error_status, h->error_counter);
        return false;
    }
    switch (e) {
        case HPE_HEADER_OVERFLOW:
            respond_error(h, 431, LE_C_REJ_HDR_BYTES);
            break;
        case HPE_INVALID_METHOD:
            /* Not a method http-parser knows: nothing after it can be parsed, so we cannot
             * name the target's methods in an Allow header. A plain 400, then close. */
            respond_error(h, 400, LE_C_REJ_METHOD);
            break;
        default:
            respond_error(h, 400, LE_C_REJ_MALFORMED);
            break;
    }
    return false;
}

/* An Upgrade or CONNECT request ends HTTP/1.1 on this connection: the request was answered
 * normally; we do not switch protocols. True when that happened. */
static bool upgraded(le_http_t *h) {
    if (!h->parser.upgrade || h->state == LE_HTTP_CLOSING) return false;
    h->close = true;
    h->state = LE_HTTP_CLOSING;
    return true;
}

void le_http_feed(le_http_t *h, const char *data, size_t n) {
    /* Whole heads first, as many as this read holds (pipelining). */
    while (n && h->state == LE_HTTP_IDLE && !h->no_head_scan) {
        size_t used = head_scan(h, data, n);
        if (!used) break;
        data += used;
        n -= used;
        if (upgraded(h)) return;
    }
    if (h->state == LE_HTTP_CLOSING || n == 0) return;
    size_t sp, end;
    if (h->state == LE_HTTP_IDLE && !h->no_target_scan &&
        scan_request_line(data, n, h->cfg->server.limits.request_line, &sp, &end)) {
        if (!begin_scanned(h, data, sp, end)) return;
        data += end;
        n -= end;
    }
    if (execute(h, data, n)) (void)upgraded(h);
}

bool le_http_eof(le_http_t *h) {
    bool cut = h->state == LE_HTTP_HEAD || h->state == LE_HTTP_BODY;
    h->state = LE_HTTP_CLOSING;
    h->close = true;
    return cut;
}

void le_http_timeout(le_http_t *h) {
    if (h->state == LE_HTTP_HEAD)
        respond_error(h, 408, LE_C_REJ_HDR_TIMEOUT);
    else if (h->state == LE_HTTP_BODY)
        respond_error(h, 408, LE_C_REJ_BODY_TIMEOUT);
}
