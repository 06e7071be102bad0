/*
 * test_http.c: the HTTP engine's whole-head scan ahead of http-parser (http.c).
 *
 * Every request here is fed three ways: with the whole-head and target scans (as the server
 * runs), with the target scan only, and to http-parser alone. The three must write the same
 * bytes, make the same close decision and count the same requests, refusals and events, for
 * well-formed heads (which the scan takes) and for every shape it must leave to http-parser
 * (framing headers, obs-fold, control bytes, a space before a colon, bare LF, limits passed).
 * Each request is also fed in two reads cut at every byte, which the scan must not take.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "config.h"
#include "http.h"

#define DATE "Date: Thu, 26 Nov 2026 17:26:01 GMT\r\n"

static le_config_t *cfg;
static le_metrics_t metrics;
static le_router_ctx_t router = {.log = NULL, .metrics = &metrics};

enum { MODE_ALL, MODE_TARGET, MODE_PLAIN, MODES };

typedef struct {
    le_buf_t out;
    bool close;
    bool head_given; /* the last request's head was taken by the scan */
    uint64_t counted[LE_C__COUNT];
} outcome_t;

/* Feed req[0..len) in two reads cut at cut; record what the engine did. */
static void run(const char *req, size_t len, int mode, size_t cut, outcome_t *o) {
    static le_http_t h;
    le_ip_t peer = {AF_INET, {127, 0, 0, 1}};
    uint64_t before[LE_C__COUNT];
    for (int k = 0; k < LE_C__COUNT; k++) before[k] = atomic_load(&metrics.c[k]);
    le_http_init(&h, cfg, &router, DATE, &peer);
    h.no_head_scan = mode != MODE_ALL;
    h.no_target_scan = mode == MODE_PLAIN;
    le_http_feed(&h, req, cut);
    le_http_feed(&h, req + cut, len - cut);
    o->out = (le_buf_t)LE_BUF_INIT;
    le_buf_append(&o->out, h.out.data, h.out.len);
    o->close = h.close;
    o->head_given = h.head_given;
    le_http_eof(&h);
    le_http_free(&h);
    for (int k = 0; k < LE_C__COUNT; k++) o->counted[k] = atomic_load(&metrics.c[k]) - before[k];
}

static void assert_same(const outcome_t *a, const outcome_t *b, const char *what) {
    if (a->out.len != b->out.len || memcmp(a->out.data, b->out.data, a->out.len) != 0) {
        fprintf(stderr, "%s: different answers:\n--- %.*s\n--- %.*s\n", what, (int)a->out.len,
                a->out.data, (int)b->out.len, b->out.data);
        fail();
    }
    assert_int_equal(a->close, b->close);
    assert_memory_equal(a->counted, b->counted, sizeof(a->counted));
}

/* The three ways agree on req, whole and cut anywhere; returns the whole-read outcome of the
 * server's way (caller frees out), after checking whether the scan took the head. */
static outcome_t check(const char *req, size_t len, bool scanned) {
    outcome_t o[MODES];
    for (int m = 0; m < MODES; m++) run(req, len, m, len, &o[m]);
    assert_int_equal(o[MODE_ALL].head_given, scanned);
    assert_same(&o[MODE_ALL], &o[MODE_TARGET], "scan vs target scan");
    assert_same(&o[MODE_ALL], &o[MODE_PLAIN], "scan vs http-parser");
    for (size_t cut = 0; cut < len; cut++) {
        outcome_t c;
        run(req, len, MODE_ALL, cut, &c);
        assert_same(&o[MODE_PLAIN], &c, "whole vs cut");
        le_buf_free(&c.out);
    }
    le_buf_free(&o[MODE_TARGET].out);
    le_buf_free(&o[MODE_PLAIN].out);
    return o[MODE_ALL];
}

/* check() for a NUL-terminated request; asserts the status of the first answer. */
static void expect(const char *req, bool scanned, const char *status) {
    outcome_t o = check(req, strlen(req), scanned);
    assert_true(o.out.len >= 12);
    assert_memory_equal(o.out.data + 9, status, 3);
    le_buf_free(&o.out);
}

#define PIXEL "GET /p.gif?e=pv&url=https%3A%2F%2Fa.example%2Fpricing HTTP/1.1\r\n"
#define BROWSER                                                                                    \
    "Host: t.example\r\n"                                                                          \
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0\r\n"          \
    "Accept-Language: de-DE,de;q=0.9\r\n"                                                          \
    "Referer: https://a.example/\r\n"

static int setup(void **state) {
    (void)state;
    http_parser_set_max_header_size(LE_HTTP_PARSER_MAX_HEAD);
    static const char yaml[] = "server:\n  limits:\n    header_count: 8\n    header_bytes: 1k\n"
                               "    body: 4k\n";
    le_buf_t errs = LE_BUF_INIT;
    int rc = le_config_load_string("test", yaml, sizeof(yaml) - 1, &cfg, &errs);
    if (rc != 0) fprintf(stderr, "%.*s\n", (int)errs.len, errs.data);
    le_buf_free(&errs);
    return rc;
}

static int teardown(void **state) {
    (void)state;
    le_config_unref(cfg);
    return 0;
}

static void test_plain_requests_are_scanned(void **state) {
    (void)state;
    expect(PIXEL BROWSER "\r\n", true, "200");
    expect("HEAD /p.gif HTTP/1.1\r\n" BROWSER "\r\n", true, "200");
    expect("GET /healthz HTTP/1.0\r\n\r\n", true, "200");
    expect("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n", true, "404");
    expect("DELETE /p.gif HTTP/1.1\r\nHost: a\r\n\r\n", true, "405");
    /* blanks around values, an empty value, HTAB and obs-text inside a value */
    expect(PIXEL
           "Host:a\r\nX-Empty:\r\nX-Blank: \t \r\nX-Tab: a\tb\r\nX-Text: caf\xc3\xa9 \r\n\r\n",
           true, "200");
}

static void test_framing_headers_reach_http_parser(void **state) {
    (void)state;
    const char *form = "POST /f HTTP/1.1\r\nHost: a\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: 21\r\n\r\nemail=a%40b.example&x=1";
    expect(form, true, "200");
    expect("POST /e HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
           "Transfer-Encoding: chunked\r\n\r\n9\r\n{\"e\":\"pv\"\r\n1\r\n}\r\n0\r\n\r\n",
           true, "204");
    /* smuggling shapes: http-parser refuses them whichever way they arrive */
    expect("POST /e HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           true, "400");
    expect("POST /e HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\nabcd", true, "400");
    expect("POST /e HTTP/1.1\r\nContent-Length: 1x\r\n\r\na", true, "400");
    /* persistence: close and keep-alive decided from what http-parser saw */
    outcome_t o =
        check(PIXEL "Connection: close\r\n\r\n", strlen(PIXEL "Connection: close\r\n\r\n"), true);
    assert_true(o.close);
    le_buf_free(&o.out);
    o = check("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
              strlen("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), true);
    assert_false(o.close);
    le_buf_free(&o.out);
    o = check("GET /healthz HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
              strlen("GET /healthz HTTP/1.1\r\nProxy-Connection: close\r\n\r\n"), true);
    le_buf_free(&o.out);
    /* an upgrade ends HTTP/1.1 on the connection; what follows is not read */
    const char *up =
        "GET /healthz HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" PIXEL "\r\n";
    o = check(up, strlen(up), true);
    assert_true(o.close);
    le_buf_free(&o.out);
}

static void test_expect_continue(void **state) {
    (void)state;
    const char *req = "POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\n"
                      "Content-Length: 10\r\n\r\n{\"e\":\"pv\"}";
    outcome_t o = check(req, strlen(req), true);
    assert_true(o.out.len > 25);
    assert_memory_equal(o.out.data, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204", 37);
    le_buf_free(&o.out);
    expect("POST /e HTTP/1.1\r\nExpect: something-else\r\nContent-Length: 1\r\n\r\na", true, "417");
}

/* Shapes the scan leaves to http-parser, which then answers as it always did. */
static void test_odd_heads_take_the_ordinary_path(void **state) {
    (void)state;
    expect(PIXEL "Host: a\r\nX-Fold: a\r\n b\r\n\r\n", false, "400");       /* obs-fold */
    expect(PIXEL "Host : a\r\n\r\n", false, "400");                         /* space before : */
    expect(PIXEL "X(y): a\r\n\r\n", false, "400");                          /* not a token */
    expect(PIXEL ": a\r\n\r\n", false, "400");                              /* empty name */
    expect(PIXEL "X-Del: a\x7f\r\n\r\n", false, "400");                     /* DEL */
    expect(PIXEL "X-Ctl: a\x01z\r\n\r\n", false, "400");                    /* a control byte */
    expect(PIXEL "X-Cr: a\rb\r\n\r\n", false, "400");                       /* bare CR */
    expect("GET /p.gif?e=pv HTTP/1.1\nHost: a\n\n", false, "200");          /* bare LF */
    expect("GET /p.gif?e=pv HTTP/1.1\r\nHost: a\r\n\r\n", true, "200");     /* for contrast */
    expect("GET /p.gif?e=pv HTTP/11\r\nHost: a\r\n\r\n", false, "400");     /* version */
    expect("GET http://a/p.gif HTTP/1.1\r\nHost: a\r\n\r\n", false, "400"); /* absolute form */
    expect("get /p.gif HTTP/1.1\r\nHost: a\r\n\r\n", false, "400");         /* method case */
    const char nul[] = "GET /p.gif?e=pv HTTP/1.1\r\nX-Nul: a\0b\r\n\r\n";
    outcome_t o = check(nul, sizeof(nul) - 1, false);
    assert_memory_equal(o.out.data + 9, "400", 3);
    le_buf_free(&o.out);
}

static void test_limits_are_left_to_the_ordinary_path(void **state) {
    (void)state;
    /* header_count: 8 */
    expect(PIXEL "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n\r\n", true,
           "200");
    expect(PIXEL "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n\r\n",
           false, "431");
    /* header_bytes: 1k, names and values (trailing blanks count, leading ones do not) */
    char req[2048];
    char val[1023];
    memset(val, 'v', sizeof(val));
    snprintf(req, sizeof(req), "%sX: %.*s\r\n\r\n", PIXEL, 1023, val); /* 1 + 1023 */
    expect(req, true, "200");
    snprintf(req, sizeof(req), "%sX:   %.*s  \r\n\r\n", PIXEL, 1021, val); /* 1 + 1021 + 2 */
    expect(req, true, "200");
    snprintf(req, sizeof(req), "%sXY: %.*s\r\n\r\n", PIXEL, 1023, val);
    expect(req, false, "431");
}

static void test_pipelined_heads(void **state) {
    (void)state;
    const char *req =
        PIXEL BROWSER "\r\n"
                      "POST /e HTTP/1.1\r\nContent-Type: text/plain\r\n"
                      "Content-Length: 10\r\n\r\n{\"e\":\"pv\"}" PIXEL "Host: a\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nX-Fold: a\r\n b\r\n\r\n" PIXEL "\r\n";
    outcome_t o = check(req, strlen(req), false); /* the fourth request is refused */
    size_t answers = 0;
    for (size_t i = 0; i + 9 <= o.out.len; i++)
        if (memcmp(o.out.data + i, "HTTP/1.1 ", 9) == 0) answers++;
    assert_int_equal(answers, 4);
    assert_true(o.close);
    le_buf_free(&o.out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_requests_are_scanned),
        cmocka_unit_test(test_framing_headers_reach_http_parser),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_odd_heads_take_the_ordinary_path),
        cmocka_unit_test(test_limits_are_left_to_the_ordinary_path),
        cmocka_unit_test(test_pipelined_heads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
