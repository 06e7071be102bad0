/*
 * lookup_cmd.c: `leadedge lookup`, everything leadedge derives for an IP and a
 * User-Agent, printed as JSON, with the same tables and code as the server.
 *
 *   leadedge lookup IP [--ua UA] [--lang ACCEPT-LANGUAGE] [-c FILE]
 *       one JSON object: ip, geo, company, device, language, bot_reasons, bot
 *   leadedge lookup --ua-stdin [-c FILE]
 *       one User-Agent per input line, one JSON object per output line (ua, device,
 *       bot_reasons, bot), for classifying logs; only what a User-Agent tells counts
 *       towards the bot verdict there (no network, no Accept-Language)
 *
 * The IP is the operator's own input and is printed as given; nothing is stored.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "enrich.h"
#include "decode.h"
#include "record.h"

#define USAGE                                                                                      \
    "usage: leadedge lookup IP [--ua UA] [--lang ACCEPT-LANGUAGE] [-c FILE]\n"                     \
    "       leadedge lookup --ua-stdin [-c FILE]\n"

/* Longest stdin line taken as a User-Agent; longer lines are reported and skipped. */
#define LINE_MAX_BYTES (64 * 1024)

static int print_one(const le_enrich_t *en, le_enrich_cache_t *cache, const le_enrich_input_t *in,
                     const char *key, le_str_t value, le_buf_t *out) {
    char mem[4096];
    le_arena_t a;
    le_enrichment_t x;
    le_arena_init(&a, mem, sizeof(mem));
    le_enrich_run(en, cache, in, &a, &x);
    le_buf_reset(out);
    int rc = le_enrichment_to_json(&x, key, value, out);
    le_arena_free(&a);
    if (rc != 0) return rc;
    le_buf_append(out, "\n", 1);
    return fwrite(out->data, 1, out->len, stdout) == out->len ? 0 : -1;
}

int le_lookup_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"ua", required_argument, NULL, 'u'},
        {"lang", required_argument, NULL, 'l'},   {"ua-stdin", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *path = LE_DEFAULT_CONFIG, *ua = NULL, *lang = NULL;
    bool from_stdin = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                path = optarg;
                break;
            case 'u':
                ua = optarg;
                break;
            case 'l':
                lang = optarg;
                break;
            case 's':
                from_stdin = true;
                break;
            case 'h':
                fputs(USAGE, stdout);
                return 0;
            default:
                fputs(USAGE, stderr);
                return 2;
        }
    }
    const char *ip_text = optind < argc ? argv[optind++] : NULL;
    if (optind < argc || (from_stdin == (ip_text != NULL)) || (from_stdin && (ua || lang))) {
        fputs(USAGE, stderr);
        return 2;
    }
    le_enrich_input_t in = {.form_fill_ms = -1};
    if (ip_text && le_ip_parse(le_str(ip_text), &in.ip) != 0) {
        fprintf(stderr, "leadedge lookup: '%s' is not an IPv4 or IPv6 address\n", ip_text);
        return 2;
    }

    le_config_t *cfg;
    le_enrich_t *en;
    le_buf_t errs = LE_BUF_INIT;
    if (le_config_load(path, &cfg, &errs) != 0 || le_enrich_open(cfg, NULL, &en, &errs) != 0) {
        fputs(le_buf_cstr(&errs), stderr);
        le_buf_free(&errs);
        return 1;
    }
    le_buf_free(&errs);

    le_buf_t out = LE_BUF_INIT;
    int rc = 0;
    if (!from_stdin) {
        in.ua = ua ? le_str(ua) : LE_STR_NULL;
        in.accept_language = lang ? le_str(lang) : LE_STR_NULL;
        if (print_one(en, NULL, &in, "ip", le_str(ip_text), &out) != 0) {
            fprintf(stderr, "leadedge lookup: the result is not valid UTF-8\n");
            rc = 1;
        }
    } else {
        le_enrich_cache_t *cache = le_enrich_cache_new(cfg->enrich.ua.cache_size, 0);
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned long long lineno = 0;
        in.ua_only = true;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
            le_str_t u = {line, (size_t)n};
            if (n > LINE_MAX_BYTES || !le_utf8_valid(u.ptr, u.len) || memchr(u.ptr, 0, u.len)) {
                fprintf(stderr, "leadedge lookup: line %llu: %s; skipped\n", lineno,
                        n > LINE_MAX_BYTES ? "longer than 64 KiB" : "not valid UTF-8 text");
                printf("{\"line\":%llu,\"error\":\"%s\"}\n", lineno,
                       n > LINE_MAX_BYTES ? "too long" : "invalid text");
                rc = 1;
                continue;
            }
            in.ua = u;
            if (print_one(en, cache, &in, "ua", u, &out) != 0) {
                rc = 1;
                break;
            }
        }
        free(line);
        le_enrich_cache_free(cache);
    }
    fflush(stdout);
    le_buf_free(&out);
    le_enrich_unref(en);
    le_config_unref(cfg);
    return rc;
}
