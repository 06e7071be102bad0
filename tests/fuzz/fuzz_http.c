/*
 * fuzz_http.c: libFuzzer driver for the whole request path without a
 * network: bytes -> le_http_t (http-parser glue, limits) -> router ->
 * pixel handlers -> response bytes. Events are counted, not stored.
 *
 * The input is split at an arbitrary point taken from its first byte and fed
 * in two reads, so that callbacks delivering data in pieces are exercised.
 * Invariants checked: the engine never asks to keep going after it decided
 * to close, and every response it wrote starts with a status line. Each input
 * runs three times: with the whole-head and request-target scans ahead of
 * http-parser (http.c), with the target scan only, and with http-parser alone;
 * all three must answer with the same statuses and the same close, and count
 * the same requests, refusals and events.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static le_config_t *cfg;
static le_metrics_t metrics;
static le_router_ctx_t router = {.log = NULL, .metrics = &metrics};

/* The status codes of every status line in out, as "200 204 ...", cut to cap. */
static void statuses(const le_buf_t *out, char *dst, size_t cap) {
    size_t len = 0;
    dst[0] = '\0';
    for (size_t i = 0; i + 12 <= out->len && len + 5 < cap; i++) {
        if (memcmp(out->data + i, "HTTP/1.1 ", 9) != 0) continue;
        memcpy(dst + len, out->data + i + 9, 3);
        dst[len + 3] = ' ';
        len += 4;
        dst[len] = '\0';
    }
}

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
    enum { RUNS = 3 };
    char seen[RUNS][256];
    bool closed[RUNS];
    uint64_t counted[RUNS][LE_C__COUNT];
    for (int run = 0; run < RUNS; run++) {
        static le_http_t h;
        le_ip_t peer = {AF_INET, {127, 0, 0, 1}};
        uint64_t before[LE_C__COUNT];
        for (int k = 0; k < LE_C__COUNT; k++) before[k] = atomic_load(&metrics.c[k]);
        le_http_init(&h, cfg, &router, "Date: Thu, 26 Nov 2026 17:26:01 GMT\r\n", &peer);
        h.no_head_scan = run >= 1;
        h.no_target_scan = run == 2;
        size_t cut = size ? (size_t)data[0] % (size + 1) : 0;
        le_http_feed(&h, (const char *)data, cut);
        le_http_feed(&h, (const char *)data + cut, size - cut);
        if (h.out.len && memcmp(h.out.data, "HTTP/1.1 ", 9) != 0) abort();
        statuses(&h.out, seen[run], sizeof(seen[run]));
        closed[run] = h.close;
        le_http_eof(&h);
        le_http_free(&h);
        for (int k = 0; k < LE_C__COUNT; k++)
            counted[run][k] = atomic_load(&metrics.c[k]) - before[k];
    }
    for (int run = 1; run < RUNS; run++)
        if (strcmp(seen[0], seen[run]) != 0 || closed[0] != closed[run] ||
            memcmp(counted[0], counted[run], sizeof(counted[0])) != 0)
            abort();
    return 0;
}
