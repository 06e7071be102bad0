/*
 * test_config.c: loading, defaults and validation of config/ as a user sees them.
 *
 * Every rejected input is checked against the exact error text, line and column included, since
 * that text is the user interface of the loader. Fixture files live in fixtures/ (the test
 * changes into that folder so messages carry short names); short cases are inline YAML named
 * "t.yaml". The shipped config/leadedge.yaml must load, equal the built-in defaults and mention
 * every key; docs/configuration.md must mention every key too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <yaml.h>

#include "config.h"
#include "log.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Load inline YAML that must be accepted, with no error text. */
static le_config_t *load_ok(const char *yaml) {
    le_buf_t errors = LE_BUF_INIT;
    le_config_t *c = NULL;
    int rc = le_config_load_string("t.yaml", yaml, strlen(yaml), &c, &errors);
    if (rc != 0) fprintf(stderr, "unexpected errors:\n%s", le_buf_cstr(&errors));
    assert_int_equal(rc, 0);
    assert_non_null(c);
    assert_int_equal(errors.len, 0);
    le_buf_free(&errors);
    return c;
}

/* Load YAML that must be refused; assert the complete error text. */
static void expect_errors_n(const char *name, const char *yaml, size_t len, const char *want) {
    le_buf_t errors = LE_BUF_INIT;
    le_config_t *c = (le_config_t *)1;
    int rc = le_config_load_string(name, yaml, len, &c, &errors);
    assert_int_equal(rc, LE_EINVAL);
    assert_null(c);
    assert_string_equal(le_buf_cstr(&errors), want);
    le_buf_free(&errors);
}

static void expect_errors(const char *yaml, const char *want) {
    expect_errors_n("t.yaml", yaml, strlen(yaml), want);
}

static void expect_file_errors(const char *path, int want_rc, const char *want) {
    le_buf_t errors = LE_BUF_INIT;
    le_config_t *c = (le_config_t *)1;
    int rc = le_config_load(path, &c, &errors);
    assert_int_equal(rc, want_rc);
    assert_null(c);
    assert_string_equal(le_buf_cstr(&errors), want);
    le_buf_free(&errors);
}

static le_config_t *load_file_ok(const char *path) {
    le_buf_t errors = LE_BUF_INIT;
    le_config_t *c = NULL;
    int rc = le_config_load(path, &c, &errors);
    if (rc != 0) fprintf(stderr, "unexpected errors:\n%s", le_buf_cstr(&errors));
    assert_int_equal(rc, 0);
    assert_int_equal(errors.len, 0);
    le_buf_free(&errors);
    return c;
}

static uint32_t cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (uint32_t)n;
}

static void assert_strlist_equal(const le_strlist_t *a, const le_strlist_t *b) {
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) assert_string_equal(a->items[i], b->items[i]);
}

static void assert_optstr_equal(const char *a, const char *b) {
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Field by field, every field of le_config_t but refs and path. */
static void assert_config_equal(const le_config_t *a, const le_config_t *b) {
    assert_string_equal(a->server.listen, b->server.listen);
    assert_string_equal(a->server.listen_host, b->server.listen_host);
    assert_int_equal(a->server.listen_port, b->server.listen_port);
    assert_int_equal(a->server.workers, b->server.workers);
    assert_int_equal(a->server.ntrusted_proxies, b->server.ntrusted_proxies);
    for (size_t i = 0; i < a->server.ntrusted_proxies; i++)
        assert_memory_equal(&a->server.trusted_proxies[i], &b->server.trusted_proxies[i],
                            sizeof(le_cidr_t));
    assert_int_equal(a->server.max_connections, b->server.max_connections);
    assert_int_equal(a->server.backlog, b->server.backlog);
    assert_int_equal(a->server.limits.request_line, b->server.limits.request_line);
    assert_int_equal(a->server.limits.header_bytes, b->server.limits.header_bytes);
    assert_int_equal(a->server.limits.header_count, b->server.limits.header_count);
    assert_int_equal(a->server.limits.body, b->server.limits.body);
    assert_int_equal(a->server.limits.params, b->server.limits.params);
    assert_int_equal(a->server.timeouts.header_ms, b->server.timeouts.header_ms);
    assert_int_equal(a->server.timeouts.body_ms, b->server.timeouts.body_ms);
    assert_int_equal(a->server.timeouts.idle_ms, b->server.timeouts.idle_ms);
    assert_int_equal(a->server.timeouts.shutdown_ms, b->server.timeouts.shutdown_ms);
    assert_strlist_equal(&a->tracking.allowed_origins, &b->tracking.allowed_origins);
    assert_int_equal(a->tracking.cors_max_age_s, b->tracking.cors_max_age_s);
    assert_int_equal(a->tracking.max_batch, b->tracking.max_batch);
    assert_int_equal(a->tracking.max_props, b->tracking.max_props);
    assert_int_equal(a->tracking.max_value_len, b->tracking.max_value_len);
    assert_string_equal(a->tracking.cookie.name, b->tracking.cookie.name);
    assert_int_equal(a->tracking.cookie.max_age_s, b->tracking.cookie.max_age_s);
    assert_int_equal(a->tracking.cookie.same_site, b->tracking.cookie.same_site);
    assert_int_equal(a->tracking.cookie.secure, b->tracking.cookie.secure);
    assert_optstr_equal(a->tracking.cookie.domain, b->tracking.cookie.domain);
    assert_string_equal(a->forms.honeypot, b->forms.honeypot);
    assert_strlist_equal(&a->forms.redirect_allowlist, &b->forms.redirect_allowlist);
    assert_int_equal(a->forms.max_fields, b->forms.max_fields);
    assert_int_equal(a->privacy.consent, b->privacy.consent);
    assert_optstr_equal(a->privacy.consent_cookie, b->privacy.consent_cookie);
    assert_optstr_equal(a->privacy.consent_cookie_value, b->privacy.consent_cookie_value);
    assert_int_equal(a->privacy.honour_gpc, b->privacy.honour_gpc);
    assert_int_equal(a->privacy.honour_dnt, b->privacy.honour_dnt);
    assert_int_equal(a->privacy.ip_mask_v4, b->privacy.ip_mask_v4);
    assert_int_equal(a->privacy.ip_mask_v6, b->privacy.ip_mask_v6);
    assert_string_equal(a->store.data_dir, b->store.data_dir);
    assert_int_equal(a->store.segment_size, b->store.segment_size);
    assert_int_equal(a->store.fsync, b->store.fsync);
    assert_int_equal(a->store.fsync_interval_ms, b->store.fsync_interval_ms);
    assert_int_equal(a->store.buffer_limit, b->store.buffer_limit);
    assert_string_equal(a->admin.listen, b->admin.listen);
    assert_optstr_equal(a->admin.token, b->admin.token);
    assert_int_equal(a->log.level, b->log.level);
}

/* ---- defaults and the shipped files ------------------------------------------------------- */

static void test_defaults(void **state) {
    le_config_t *c = le_config_default();
    assert_int_equal(atomic_load(&c->refs), 1);
    assert_string_equal(c->path, "<default>");
    assert_string_equal(c->server.listen, "127.0.0.1:8080");
    assert_string_equal(c->server.listen_host, "127.0.0.1");
    assert_int_equal(c->server.listen_port, 8080);
    assert_int_equal(c->server.workers, cpus());
    assert_null(c->server.trusted_proxies);
    assert_int_equal(c->server.ntrusted_proxies, 0);
    assert_int_equal(c->server.max_connections, 10000);
    assert_int_equal(c->server.backlog, 511);
    assert_int_equal(c->server.limits.request_line, 8192);
    assert_int_equal(c->server.limits.header_bytes, 16384);
    assert_int_equal(c->server.limits.header_count, 64);
    assert_int_equal(c->server.limits.body, 65536);
    assert_int_equal(c->server.limits.params, 256);
    assert_int_equal(c->server.timeouts.header_ms, 10000);
    assert_int_equal(c->server.timeouts.body_ms, 10000);
    assert_int_equal(c->server.timeouts.idle_ms, 60000);
    assert_int_equal(c->server.timeouts.shutdown_ms, 10000);
    assert_int_equal(c->tracking.allowed_origins.n, 0);
    assert_null(c->tracking.allowed_origins.items);
    assert_int_equal(c->tracking.cors_max_age_s, 600);
    assert_int_equal(c->tracking.max_batch, 50);
    assert_int_equal(c->tracking.max_props, 32);
    assert_int_equal(c->tracking.max_value_len, 2048);
    assert_string_equal(c->tracking.cookie.name, "le_vid");
    assert_int_equal(c->tracking.cookie.max_age_s, 395 * 86400);
    assert_int_equal(c->tracking.cookie.same_site, LE_SAMESITE_LAX);
    assert_false(c->tracking.cookie.secure);
    assert_null(c->tracking.cookie.domain);
    assert_string_equal(c->forms.honeypot, "le_hp");
    assert_int_equal(c->forms.redirect_allowlist.n, 0);
    assert_int_equal(c->forms.max_fields, 64);
    assert_int_equal(c->privacy.consent, LE_CONSENT_REQUIRED);
    assert_null(c->privacy.consent_cookie);
    assert_null(c->privacy.consent_cookie_value);
    assert_true(c->privacy.honour_gpc);
    assert_false(c->privacy.honour_dnt);
    assert_int_equal(c->privacy.ip_mask_v4, 16);
    assert_int_equal(c->privacy.ip_mask_v6, 80);
    assert_string_equal(c->store.data_dir, "./data");
    assert_int_equal(c->store.segment_size, 64ull << 20);
    assert_int_equal(c->store.fsync, LE_FSYNC_INTERVAL);
    assert_int_equal(c->store.fsync_interval_ms, 10);
    assert_int_equal(c->store.buffer_limit, 64ull << 20);
    assert_string_equal(c->admin.listen, "127.0.0.1:9090");
    assert_null(c->admin.token);
    assert_int_equal(c->log.level, LE_LOG_INFO);
    le_config_unref(c);
}

/* Documents with nothing in them are all defaults. */
static void test_empty_documents(void **state) {
    static const char *const docs[] = {
        "",    "{}",         "# only a comment\n", "---\n",
        "~\n", "---\n...\n", "server:\n",          "server: {}\ntracking:\n  cookie: ~\n"};
    le_config_t *d = le_config_default();
    for (size_t i = 0; i < LE_ARRAY_SIZE(docs); i++) {
        le_config_t *c = load_ok(docs[i]);
        assert_string_equal(c->path, "t.yaml");
        assert_config_equal(c, d);
        le_config_unref(c);
    }
    le_config_unref(d);
}

/* Collect the dotted path of every key whose value is not a mapping. */
static size_t yaml_keys(const char *path, char keys[][64], size_t max) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    yaml_parser_t p;
    yaml_event_t ev;
    char stack[8][64];
    bool expect_key[8];
    int depth = -1;
    size_t n = 0;
    char pending[64] = "";
    assert_true(yaml_parser_initialize(&p));
    yaml_parser_set_input_file(&p, f);
    for (bool done = false; !done;) {
        assert_true(yaml_parser_parse(&p, &ev));
        switch (ev.type) {
            case YAML_MAPPING_START_EVENT:
                if (depth >= 0) expect_key[depth] = true;
                depth++;
                assert_true(depth < 8);
                snprintf(stack[depth], 64, "%s", pending);
                expect_key[depth] = true;
                break;
            case YAML_MAPPING_END_EVENT:
                depth--;
                break;
            case YAML_SCALAR_EVENT:
            case YAML_SEQUENCE_START_EVENT:
                if (depth >= 0 && expect_key[depth] && ev.type == YAML_SCALAR_EVENT) {
                    snprintf(pending, 64, "%s%s%s", stack[depth], stack[depth][0] ? "." : "",
                             (const char *)ev.data.scalar.value);
                    expect_key[depth] = false;
                    break;
                }
                assert_true(n < max);
                snprintf(keys[n++], 64, "%s", pending);
                if (ev.type == YAML_SEQUENCE_START_EVENT) {
                    /* skip the sequence's content */
                    for (int level = 1; level;) {
                        yaml_event_delete(&ev);
                        assert_true(yaml_parser_parse(&p, &ev));
                        if (ev.type == YAML_SEQUENCE_START_EVENT) level++;
                        if (ev.type == YAML_SEQUENCE_END_EVENT) level--;
                    }
                }
                if (depth >= 0) expect_key[depth] = true;
                break;
            case YAML_STREAM_END_EVENT:
                done = true;
                break;
            default:
                break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return n;
}

static void test_shipped_config(void **state) {
    le_config_t *c = load_file_ok(LE_SOURCE_DIR "/config/leadedge.yaml");
    le_config_t *d = le_config_default();
    assert_string_equal(c->path, LE_SOURCE_DIR "/config/leadedge.yaml");
    assert_config_equal(c, d);
    assert_int_equal(c->privacy.consent, LE_CONSENT_REQUIRED);

    /* Every key is written out, and nothing else. */
    static char keys[128][64];
    size_t n = yaml_keys(LE_SOURCE_DIR "/config/leadedge.yaml", keys, 128);
    size_t nkeys = 0;
    for (const char *k; (k = le__config_key(nkeys)); nkeys++) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++) found = strcmp(keys[i], k) == 0;
        if (!found) fprintf(stderr, "config/leadedge.yaml lacks %s\n", k);
        assert_true(found);
    }
    assert_int_equal(n, nkeys);
    assert_int_equal(nkeys, 86);
    le_config_unref(c);
    le_config_unref(d);
}

static void test_docs_mention_every_key(void **state) {
    FILE *f = fopen(LE_SOURCE_DIR "/docs/configuration.md", "rb");
    assert_non_null(f);
    le_buf_t doc = LE_BUF_INIT;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) le_buf_append(&doc, chunk, got);
    fclose(f);
    const char *text = le_buf_cstr(&doc);
    for (size_t i = 0; le__config_key(i); i++) {
        char needle[80];
        snprintf(needle, sizeof(needle), "| `%s` |", le__config_key(i));
        if (!strstr(text, needle)) fprintf(stderr, "docs/configuration.md lacks %s\n", needle);
        assert_non_null(strstr(text, needle));
    }
    le_buf_free(&doc);
}

/* ---- good files --------------------------------------------------------------------------- */

static void test_good_full(void **state) {
    le_config_t *c = load_file_ok("good_full.yaml");
    assert_string_equal(c->path, "good_full.yaml");
    assert_string_equal(c->server.listen, "[::1]:8443");
    assert_string_equal(c->server.listen_host, "::1");
    assert_int_equal(c->server.listen_port, 8443);
    assert_int_equal(c->server.workers, 3);
    assert_int_equal(c->server.ntrusted_proxies, 3);
    const le_cidr_t *tp = c->server.trusted_proxies;
    assert_int_equal(tp[0].family, AF_INET);
    assert_memory_equal(tp[0].addr, "\x0a\0\0\0", 4);
    assert_int_equal(tp[0].prefix, 8);
    assert_int_equal(tp[1].family, AF_INET6);
    assert_int_equal(tp[1].addr[0], 0xfd);
    assert_int_equal(tp[1].prefix, 8);
    assert_int_equal(tp[2].family, AF_INET);
    assert_memory_equal(tp[2].addr, "\xc0\x00\x02\x07", 4);
    assert_int_equal(tp[2].prefix, 32);
    assert_int_equal(c->server.max_connections, 500);
    assert_int_equal(c->server.backlog, 128);
    assert_int_equal(c->server.limits.request_line, 4096);
    assert_int_equal(c->server.limits.header_bytes, 32768);
    assert_int_equal(c->server.limits.header_count, 100);
    assert_int_equal(c->server.limits.body, 1048576);
    assert_int_equal(c->server.limits.params, 99);
    assert_int_equal(c->server.timeouts.header_ms, 2000);
    assert_int_equal(c->server.timeouts.body_ms, 1500);
    assert_int_equal(c->server.timeouts.idle_ms, 120000);
    assert_int_equal(c->server.timeouts.shutdown_ms, 30000);
    assert_int_equal(c->tracking.allowed_origins.n, 2);
    assert_string_equal(c->tracking.allowed_origins.items[0], "https://www.example.com");
    /* scheme and host lowercased, as browsers send them */
    assert_string_equal(c->tracking.allowed_origins.items[1], "http://shop.example.com:8080");
    assert_int_equal(c->tracking.cors_max_age_s, 3600);
    assert_int_equal(c->tracking.max_batch, 20);
    assert_int_equal(c->tracking.max_props, 0);
    assert_int_equal(c->tracking.max_value_len, 4096);
    assert_string_equal(c->tracking.cookie.name, "__Host-vid");
    assert_int_equal(c->tracking.cookie.max_age_s, 30 * 86400);
    assert_int_equal(c->tracking.cookie.same_site, LE_SAMESITE_NONE);
    assert_true(c->tracking.cookie.secure);
    assert_null(c->tracking.cookie.domain);
    assert_string_equal(c->forms.honeypot, "website");
    assert_int_equal(c->forms.redirect_allowlist.n, 2);
    assert_string_equal(c->forms.redirect_allowlist.items[0], "https://www.example.com/thanks");
    assert_string_equal(c->forms.redirect_allowlist.items[1], "https://example.com");
    assert_int_equal(c->forms.max_fields, 12);
    assert_int_equal(c->privacy.consent, LE_CONSENT_NOT_REQUIRED);
    assert_string_equal(c->privacy.consent_cookie, "cookie_consent");
    assert_string_equal(c->privacy.consent_cookie_value, "yes");
    assert_false(c->privacy.honour_gpc);
    assert_true(c->privacy.honour_dnt);
    assert_int_equal(c->privacy.ip_mask_v4, 8);
    assert_int_equal(c->privacy.ip_mask_v6, 64);
    assert_string_equal(c->store.data_dir, "/var/lib/leadedge");
    assert_int_equal(c->store.segment_size, 1ull << 30);
    assert_int_equal(c->store.fsync, LE_FSYNC_ALWAYS);
    assert_int_equal(c->store.fsync_interval_ms, 250);
    assert_int_equal(c->store.buffer_limit, 128ull << 20);
    assert_string_equal(c->admin.listen, "0.0.0.0:9191");
    assert_string_equal(c->admin.token, "0123456789abcdef0123");
    assert_int_equal(c->log.level, LE_LOG_DEBUG);
    le_config_unref(c);
}

static void test_good_inline(void **state) {
    le_config_t *c;

    /* same_site none without secure written: secure is forced on. */
    c = load_ok("tracking:\n  cookie:\n    same_site: none\n");
    assert_int_equal(c->tracking.cookie.same_site, LE_SAMESITE_NONE);
    assert_true(c->tracking.cookie.secure);
    le_config_unref(c);

    /* Booleans in their YAML 1.1 spellings; strict same_site; domain. */
    c = load_ok("tracking:\n  cookie:\n    secure: yes\n    same_site: strict\n"
                "    domain: .example.com\nprivacy:\n  honour_gpc: Off\n");
    assert_true(c->tracking.cookie.secure);
    assert_int_equal(c->tracking.cookie.same_site, LE_SAMESITE_STRICT);
    assert_string_equal(c->tracking.cookie.domain, ".example.com");
    assert_false(c->privacy.honour_gpc);
    le_config_unref(c);

    /* Workers: a number, `auto`, and quoted numbers are read by their text. */
    c = load_ok("server:\n  workers: 256\n  listen: 0.0.0.0:80\n");
    assert_int_equal(c->server.workers, 256);
    assert_string_equal(c->server.listen_host, "0.0.0.0");
    assert_int_equal(c->server.listen_port, 80);
    le_config_unref(c);
    c = load_ok("server:\n  workers: auto\n  max_connections: \"42\"\n");
    assert_int_equal(c->server.workers, cpus());
    assert_int_equal(c->server.max_connections, 42);
    le_config_unref(c);

    /* Empty lists, flow style, `key:` meaning the empty list; optional strings unset by ~. */
    c = load_ok("server:\n  trusted_proxies: []\ntracking:\n  allowed_origins:\n"
                "  cookie:\n    domain: ~\nadmin:\n  token: null\n");
    assert_int_equal(c->server.ntrusted_proxies, 0);
    assert_int_equal(c->tracking.allowed_origins.n, 0);
    assert_null(c->tracking.cookie.domain);
    assert_null(c->admin.token);
    le_config_unref(c);

    /* Anchors and aliases. */
    c = load_ok("server:\n  timeouts:\n    header: &t 3s\n    body: *t\n"
                "  trusted_proxies: &nets [127.0.0.1, '::1']\n");
    assert_int_equal(c->server.timeouts.header_ms, 3000);
    assert_int_equal(c->server.timeouts.body_ms, 3000);
    assert_int_equal(c->server.ntrusted_proxies, 2);
    assert_int_equal(c->server.trusted_proxies[1].family, AF_INET6);
    assert_int_equal(c->server.trusted_proxies[1].prefix, 128);
    le_config_unref(c);

    /* Edges of bounds are inside. */
    c = load_ok("server:\n  limits:\n    request_line: 256\n    header_bytes: 1M\n"
                "    header_count: 4\n    body: 64M\n  timeouts:\n    idle: 1h\n"
                "    header: 100ms\nprivacy:\n  ip_mask_v4: 0\n  ip_mask_v6: 128\n"
                "store:\n  segment_size: 4G\n  fsync_interval: 1ms\n  buffer_limit: 1M\n"
                "tracking:\n  cors_max_age: 0\n  cookie:\n    max_age: 400d\n");
    assert_int_equal(c->server.limits.request_line, 256);
    assert_int_equal(c->server.limits.header_bytes, 1 << 20);
    assert_int_equal(c->server.limits.header_count, 4);
    assert_int_equal(c->server.limits.body, 64 << 20);
    assert_int_equal(c->server.timeouts.idle_ms, 3600000);
    assert_int_equal(c->server.timeouts.header_ms, 100);
    assert_int_equal(c->privacy.ip_mask_v4, 0);
    assert_int_equal(c->privacy.ip_mask_v6, 128);
    assert_int_equal(c->store.segment_size, 4ull << 30);
    assert_int_equal(c->store.fsync_interval_ms, 1);
    assert_int_equal(c->store.buffer_limit, 1 << 20);
    assert_int_equal(c->tracking.cors_max_age_s, 0);
    assert_int_equal(c->tracking.cookie.max_age_s, 400 * 86400);
    le_config_unref(c);

    /* Every log level; consent cookie with any value. */
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        char yaml[64];
        snprintf(yaml, sizeof(yaml), "log:\n  level: %s\n", levels[i]);
        c = load_ok(yaml);
        assert_int_equal(c->log.level, i);
        le_config_unref(c);
    }
    c = load_ok("privacy:\n  consent_cookie: cc\n");
    assert_string_equal(c->privacy.consent_cookie, "cc");
    assert_null(c->privacy.consent_cookie_value);
    le_config_unref(c);
}

/* ---- sizes and durations ------------------------------------------------------------------ */

static void test_sizes(void **state) {
    static const struct {
        const char *text;
        uint32_t bytes;
    } ok[] = {{"1024", 1024},    {"1k", 1024},       {"1K", 1024},    {"1KiB", 1024},
              {"3 KiB", 3072},   {"1m", 1048576},    {"2M", 2097152}, {"1MiB", 1048576},
              {"64M", 67108864}, {"\"1536\"", 1536}, {"0001k", 1024}};
    for (size_t i = 0; i < LE_ARRAY_SIZE(ok); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "server:\n  limits:\n    body: %s\n", ok[i].text);
        le_config_t *c = load_ok(yaml);
        assert_int_equal(c->server.limits.body, ok[i].bytes);
        le_config_unref(c);
    }
    le_config_t *c = load_ok("store:\n  segment_size: 1g\n  buffer_limit: 2GiB\n");
    assert_int_equal(c->store.segment_size, 1ull << 30);
    assert_int_equal(c->store.buffer_limit, 2ull << 30);
    le_config_unref(c);

    static const char *const bad[] = {"1.5k", "1kb",  "1 k b", "k", "1KB", "0x10", "1T",
                                      "1 ",   "true", "[1]",   "~", "''",  "1k ",  "+2k"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad); i++) {
        char yaml[128], want[128];
        snprintf(yaml, sizeof(yaml), "server:\n  limits:\n    body: %s%s%s\n",
                 strchr(bad[i], ' ') ? "\"" : "", bad[i], strchr(bad[i], ' ') ? "\"" : "");
        snprintf(want, sizeof(want),
                 "t.yaml:3:11: server.limits.body: expected a size such as 64k\n");
        expect_errors(yaml, want);
    }
    expect_errors("server:\n  limits:\n    body: -1k\n",
                  "t.yaml:3:11: server.limits.body: must be between 1k and 64M\n");
    expect_errors("server:\n  limits:\n    body: 1023\n",
                  "t.yaml:3:11: server.limits.body: must be between 1k and 64M\n");
    expect_errors("server:\n  limits:\n    body: 18446744073709551616\n",
                  "t.yaml:3:11: server.limits.body: must be between 1k and 64M\n");
    expect_errors("server:\n  limits:\n    body: 17179869184G\n",
                  "t.yaml:3:11: server.limits.body: must be between 1k and 64M\n");
    expect_errors("store:\n  segment_size: 4097M\n",
                  "t.yaml:2:17: store.segment_size: must be between 1M and 4G\n");
}

static void test_durations(void **state) {
    static const struct {
        const char *text;
        uint32_t ms;
    } ok[] = {{"1", 1000},      {"100ms", 100},    {"1s", 1000},     {"90s", 90000},
              {"2m", 120000},   {"1h", 3600000},   {"1m30s", 90000}, {"1s500ms", 1500},
              {"\"5s\"", 5000}, {"3600", 3600000}, {"0h1m", 60000},  {"59m60s", 3600000}};
    for (size_t i = 0; i < LE_ARRAY_SIZE(ok); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "server:\n  timeouts:\n    idle: %s\n", ok[i].text);
        le_config_t *c = load_ok(yaml);
        assert_int_equal(c->server.timeouts.idle_ms, ok[i].ms);
        le_config_unref(c);
    }
    /* Fields kept in seconds. */
    le_config_t *c = load_ok("tracking:\n  cors_max_age: 2h\n  cookie:\n    max_age: 1d12h\n");
    assert_int_equal(c->tracking.cors_max_age_s, 7200);
    assert_int_equal(c->tracking.cookie.max_age_s, 129600);
    le_config_unref(c);

    static const char *const bad[] = {"1.5s", "s",   "10 s", "1sec", "1h30", "ms1",  "1w",
                                      "1S",   "1hh", "true", "{}",   "~",    "1m-1s"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad); i++) {
        char yaml[128], want[128];
        snprintf(yaml, sizeof(yaml), "server:\n  timeouts:\n    idle: \"%s\"\n", bad[i]);
        if (strcmp(bad[i], "{}") == 0 || strcmp(bad[i], "~") == 0)
            snprintf(yaml, sizeof(yaml), "server:\n  timeouts:\n    idle: %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "t.yaml:3:11: server.timeouts.idle: expected a duration such as 10s\n");
        expect_errors(yaml, want);
    }
    expect_errors("server:\n  timeouts:\n    idle: 2h\n",
                  "t.yaml:3:11: server.timeouts.idle: must be between 100ms and 1h\n");
    expect_errors("server:\n  timeouts:\n    idle: -5s\n",
                  "t.yaml:3:11: server.timeouts.idle: must be between 100ms and 1h\n");
    expect_errors("server:\n  timeouts:\n    idle: 99ms\n",
                  "t.yaml:3:11: server.timeouts.idle: must be between 100ms and 1h\n");
    expect_errors("server:\n  timeouts:\n    idle: 99999999999999999999d\n",
                  "t.yaml:3:11: server.timeouts.idle: must be between 100ms and 1h\n");
    expect_errors("tracking:\n  cors_max_age: 1500ms\n",
                  "t.yaml:2:17: tracking.cors_max_age: must be a whole number of seconds\n");
    expect_errors("tracking:\n  cors_max_age: 2d\n",
                  "t.yaml:2:17: tracking.cors_max_age: must be between 0s and 1d\n");
    expect_errors("store:\n  fsync_interval: 11s\n",
                  "t.yaml:2:19: store.fsync_interval: must be between 1ms and 10s\n");
}

/* ---- bad files ---------------------------------------------------------------------------- */

static void test_bad_unknown(void **state) {
    expect_file_errors(
        "bad_unknown.yaml", LE_EINVAL,
        "bad_unknown.yaml:3:3: server.lisen: unknown key \"lisen\" (did you mean \"listen\"?)\n"
        "bad_unknown.yaml:4:3: server.max_conn: unknown key \"max_conn\" (did you mean "
        "\"max_connections\"?)\n"
        "bad_unknown.yaml:6:5: server.limits.bdy: unknown key \"bdy\" (did you mean \"body\"?)\n"
        "bad_unknown.yaml:7:3: server.timeout: unknown key \"timeout\" (did you mean "
        "\"timeouts\"?)\n"
        "bad_unknown.yaml:11:5: tracking.cookie.nmae: unknown key \"nmae\" (did you mean "
        "\"name\"?)\n"
        "bad_unknown.yaml:12:1: sever: unknown key \"sever\" (did you mean \"server\"?)\n"
        "bad_unknown.yaml:14:1: zzz: unknown key \"zzz\"\n"
        "bad_unknown.yaml:17:3: log.colour: unknown key \"colour\"\n");
}

static void test_bad_type(void **state) {
    expect_file_errors("bad_type.yaml", LE_EINVAL,
                       "bad_type.yaml:2:12: server.workers: expected auto or an integer\n"
                       "bad_type.yaml:3:20: server.max_connections: expected an integer\n"
                       "bad_type.yaml:5:11: server.limits.body: expected a size such as 64k\n"
                       "bad_type.yaml:7:11: server.timeouts.idle: expected a duration such as 10s\n"
                       "bad_type.yaml:8:20: server.trusted_proxies: expected a list\n"
                       "bad_type.yaml:11:13: tracking.cookie.secure: expected true or false\n"
                       "bad_type.yaml:12:11: tracking.cookie.name: expected a string\n"
                       "bad_type.yaml:15:7: tracking.allowed_origins[1]: expected a string\n"
                       "bad_type.yaml:16:10: privacy: expected a mapping\n"
                       "bad_type.yaml:17:8: store: expected a mapping\n");
}

static void test_bad_bounds(void **state) {
    expect_file_errors(
        "bad_bounds.yaml", LE_EINVAL,
        "bad_bounds.yaml:2:12: server.workers: must be between 1 and 256\n"
        "bad_bounds.yaml:3:12: server.backlog: must be between 1 and 65535\n"
        "bad_bounds.yaml:5:19: server.limits.request_line: must be between 256 and 1M\n"
        "bad_bounds.yaml:6:19: server.limits.header_bytes: must be between 1k and 1M\n"
        "bad_bounds.yaml:7:19: server.limits.header_count: must be between 4 and 1000\n"
        "bad_bounds.yaml:8:11: server.limits.body: must be between 1k and 64M\n"
        "bad_bounds.yaml:9:13: server.limits.params: must be between 1 and 10000\n"
        "bad_bounds.yaml:11:13: server.timeouts.header: must be between 100ms and 1h\n"
        "bad_bounds.yaml:12:15: server.timeouts.shutdown: must be between 100ms and 1h\n"
        "bad_bounds.yaml:15:14: tracking.cookie.max_age: must be between 1h and 400d\n"
        "bad_bounds.yaml:17:15: privacy.ip_mask_v4: must be between 0 and 32\n"
        "bad_bounds.yaml:18:15: privacy.ip_mask_v6: must be between 0 and 128\n"
        "bad_bounds.yaml:20:17: store.segment_size: must be between 1M and 4G\n"
        "bad_bounds.yaml:21:19: store.fsync_interval: must be between 1ms and 10s\n"
        "bad_bounds.yaml:22:17: store.buffer_limit: must be between 1M and 4G\n");
}

static void test_bad_enum(void **state) {
    expect_file_errors(
        "bad_enum.yaml", LE_EINVAL,
        "bad_enum.yaml:3:16: tracking.cookie.same_site: expected one of: lax, strict, none\n"
        "bad_enum.yaml:5:12: privacy.consent: expected one of: required, not_required\n"
        "bad_enum.yaml:7:10: store.fsync: expected one of: interval, always, off\n"
        "bad_enum.yaml:9:10: log.level: expected one of: debug, info, warn, error\n");
}

static void test_enrich_databases(void **state) {
    (void)state;
    le_config_t *c = load_ok("enrich:\n"
                             "  databases:\n"
                             "    - /var/lib/GeoIP/GeoLite2-City.mmdb\n"
                             "    - path: /data/ipinfo.mmdb\n"
                             "      fields: {country_code: country, latitude: loc.0}\n"
                             "    - {path: /data/asn.mmdb}\n"
                             "  language: pt-BR\n"
                             "  company_ranges: /etc/leadedge/companies.csv\n"
                             "  bot:\n"
                             "    min_form_time: 0\n");
    assert_int_equal(c->enrich.ndatabases, 3);
    assert_string_equal(c->enrich.databases[0].path, "/var/lib/GeoIP/GeoLite2-City.mmdb");
    assert_int_equal(c->enrich.databases[0].nfields, 0);
    assert_string_equal(c->enrich.databases[1].path, "/data/ipinfo.mmdb");
    assert_int_equal(c->enrich.databases[1].nfields, 2);
    assert_string_equal(c->enrich.databases[1].fields[0].name, "country_code");
    assert_string_equal(c->enrich.databases[1].fields[0].path, "country");
    assert_string_equal(c->enrich.databases[1].fields[1].name, "latitude");
    assert_string_equal(c->enrich.databases[1].fields[1].path, "loc.0");
    assert_string_equal(c->enrich.databases[2].path, "/data/asn.mmdb");
    assert_string_equal(c->enrich.language, "pt-BR");
    assert_string_equal(c->enrich.company_ranges, "/etc/leadedge/companies.csv");
    assert_int_equal(c->enrich.bot.min_form_ms, 0);
    assert_int_equal(c->enrich.reload_check_ms, 2000);
    le_config_unref(c);

    expect_errors("enrich:\n  databases: /x.mmdb\n",
                  "t.yaml:2:14: enrich.databases: expected a list\n");
    expect_errors("enrich:\n"
                  "  databases:\n"
                  "    - [a]\n"
                  "    - {fields: {city: city}}\n"
                  "    - {path: /a.mmdb, feilds: {}}\n"
                  "    - {path: /b.mmdb, fields: [city]}\n"
                  "    - {path: /c.mmdb, fields: {City: city, org: .a, asn: a..b, x: \"\"}}\n"
                  "  language: german\n",
                  "t.yaml:3:7: enrich.databases[0]: expected a path or a map with path:\n"
                  "t.yaml:4:7: enrich.databases[1]: missing path\n"
                  "t.yaml:5:23: enrich.databases[2].feilds: unknown key \"feilds\" (expected path "
                  "or fields)\n"
                  "t.yaml:6:31: enrich.databases[3].fields: expected a map of field: path\n"
                  "t.yaml:7:32: enrich.databases[4].fields.City: expected a field name such as "
                  "country_code\n"
                  "t.yaml:7:49: enrich.databases[4].fields.org: expected a dotted path such as "
                  "country.names.en\n"
                  "t.yaml:7:58: enrich.databases[4].fields.asn: expected a dotted path such as "
                  "country.names.en\n"
                  "t.yaml:7:67: enrich.databases[4].fields.x: must not be empty\n"
                  "t.yaml:8:13: enrich.language: expected a language code such as en, de or "
                  "pt-BR\n");
}

/* ---- CRM endpoints, routes, SLA ------------------------------------------------------------ */

static void test_crm(void **state) {
    const char *yaml =
        "crm:\n"
        "  endpoints:\n"
        "    - name: hub\n"
        "      url: HTTPS://CRM.Example/hooks?x=1\n"
        "      secrets: [new_secret_0123456789, old_secret_0123456789]\n"
        "      headers: { X-Api-Key: abc }\n"
        "      timeout: 2s\n"
        "      concurrency: 8\n"
        "      field_map: { properties.email: lead.email, properties.stage: \"=MQL\" }\n"
        "      keep_unmapped: false\n"
        "    - { name: b, url: \"http://127.0.0.1:9/\", secret: one_secret_0123456789 }\n"
        "routing:\n"
        "  routes:\n"
        "    - { name: dach, when: { country: [DE, AT], behaviour: { min: 60 } }, "
        "endpoint: hub, team: t1 }\n"
        "    - { name: rest, endpoint: b }\n"
        "sla:\n  accept_within: 15m\n  escalation_route: rest\n"
        "mql:\n  recycle_cooldown: 2d\n";
    le_config_t *c = load_ok(yaml);
    assert_int_equal(c->crm.nendpoints, 2);
    const le_endpointconf_t *e = &c->crm.endpoints[0];
    assert_string_equal(e->name, "hub");
    assert_string_equal(e->url, "https://crm.example/hooks?x=1");
    assert_int_equal(e->secrets.n, 2);
    assert_string_equal(e->secrets.items[1], "old_secret_0123456789");
    assert_int_equal(e->nheaders, 1);
    assert_string_equal(e->headers[0].name, "X-Api-Key");
    assert_int_equal(e->timeout_ms, 2000);
    assert_int_equal(e->concurrency, 8);
    assert_int_equal(e->nfield_map, 2);
    assert_string_equal(e->field_map[1].value, "=MQL");
    assert_false(e->keep_unmapped);
    e = &c->crm.endpoints[1];
    assert_int_equal(e->secrets.n, 1);
    assert_int_equal(e->timeout_ms, 10000);
    assert_int_equal(e->concurrency, 4);
    assert_true(e->keep_unmapped);
    assert_int_equal(c->routing.nroutes, 2);
    assert_int_equal(c->routing.routes[0].nwhen, 2);
    assert_int_equal(c->routing.routes[0].when[1].op, LE_COND_RANGE);
    assert_string_equal(c->routing.routes[0].team, "t1");
    assert_null(c->routing.routes[1].when);
    assert_int_equal(c->sla.accept_within_ms, 15 * 60 * 1000);
    assert_string_equal(c->sla.escalation_route, "rest");
    assert_int_equal(c->mql.recycle_cooldown_ms, 2 * 86400 * 1000ull);
    le_config_unref(c);

    expect_errors("crm:\n  endpoints:\n    - { name: a, url: \"ftp://x\", secrets: [s] }\n",
                  "t.yaml:3:23: crm.endpoints[0].url: expected an http:// or https:// URL such "
                  "as https://www.example.com/thanks\n"
                  "t.yaml:3:44: crm.endpoints[0].secrets[0]: must be at least 16 characters\n");
    expect_errors("crm:\n  endpoints:\n    - { name: a, url: \"http://x/\" }\n",
                  "t.yaml:3:7: crm.endpoints[0]: missing secrets (the webhooks are signed)\n");
    expect_errors("crm:\n  endpoints:\n    - { name: a, url: \"http://x/\", secret: "
                  "abcdefghijklmnopq, headers: { Content-Length: 1 }, colour: red }\n",
                  "t.yaml:3:74: crm.endpoints[0].headers.Content-Length: leadedge sets this "
                  "header itself\n"
                  "t.yaml:3:95: crm.endpoints[0].colour: unknown key \"colour\" (expected name, "
                  "url, secrets, headers, timeout, concurrency, ca_file, field_map or "
                  "keep_unmapped)\n");
    expect_errors("crm:\n  endpoints:\n    - { name: a, url: \"http://x/\", secret: "
                  "abcdefghijklmnopq }\nrouting:\n  routes:\n"
                  "    - { name: r, when: { country: DE }, endpoint: nope }\n",
                  "t.yaml:6:7: routing.routes[0]: endpoint \"nope\" is not one of crm.endpoints\n"
                  "t.yaml:6:5: routing.routes: needs a default route: one without when, taking "
                  "every lead the others do not\n");
    expect_errors("routing:\n  routes:\n    - { name: r, when: { colour: red }, endpoint: a }\n",
                  "t.yaml:3:26: routing.routes[0].when.colour: unknown condition \"colour\" "
                  "(routes look at type, country, region, city, continent, network, company, "
                  "company_key, domain, company_size, industry, role, job_title, email_domain, "
                  "behaviour, fit, grade, band, page)\n");
    expect_errors("sla:\n  escalation_route: nowhere\n",
                  "t.yaml:2:21: sla.escalation_route: \"nowhere\" is not one of routing.routes\n");
    expect_errors("crm:\n  retry:\n    base: 2h\n",
                  "t.yaml:3:11: crm.retry.base: must be between 10ms and 1h\n");
    expect_errors("crm:\n  retry:\n    base: 1h\n    cap: 1m\n",
                  "t.yaml:3:11: crm.retry.base: the backoff base must not exceed its cap\n");
}

static void test_bad_cidr(void **state) {
    expect_file_errors(
        "bad_cidr.yaml", LE_EINVAL,
        "bad_cidr.yaml:4:7: server.trusted_proxies[1]: host bits set (did you mean "
        "10.0.0.0/8?)\n"
        "bad_cidr.yaml:5:7: server.trusted_proxies[2]: prefix length must be between 0 and 32\n"
        "bad_cidr.yaml:6:7: server.trusted_proxies[3]: expected an IP address or network such "
        "as 10.0.0.0/8 or fd00::/8\n"
        "bad_cidr.yaml:7:7: server.trusted_proxies[4]: host bits set (did you mean "
        "2001:db8::/32?)\n"
        "bad_cidr.yaml:8:7: server.trusted_proxies[5]: prefix length must be between 0 and "
        "128\n"
        "bad_cidr.yaml:9:7: server.trusted_proxies[6]: expected an IP address or network such "
        "as 10.0.0.0/8 or fd00::/8\n"
        "bad_cidr.yaml:10:7: server.trusted_proxies[7]: must not be empty\n");
}

static void test_bad_listen(void **state) {
    expect_file_errors("bad_listen.yaml", LE_EINVAL,
                       "bad_listen.yaml:2:11: server.listen: expected host:port or [ipv6]:port "
                       "such as 127.0.0.1:8080\n"
                       "bad_listen.yaml:4:11: admin.listen: the host must be a numeric IPv4 "
                       "address or a bracketed IPv6 address such as [::1]\n");
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"127.0.0.1:65536", "the port must be between 0 and 65535"},
        {"127.0.0.1:1234567", "the port must be between 0 and 65535"},
        {"127.0.0.1:", "expected host:port or [ipv6]:port such as 127.0.0.1:8080"},
        {"127.0.0.1:80x", "expected host:port or [ipv6]:port such as 127.0.0.1:8080"},
        {"[::1]", "expected host:port or [ipv6]:port such as 127.0.0.1:8080"},
        {"[::1:80", "expected host:port or [ipv6]:port such as 127.0.0.1:8080"},
        {"localhost:80", "the host must be a numeric IPv4 address or a bracketed IPv6 address "
                         "such as [::1]"},
        {"[1.2.3.4]:80", "the host must be a numeric IPv4 address or a bracketed IPv6 address "
                         "such as [::1]"},
        {":80", "the host must be a numeric IPv4 address or a bracketed IPv6 address such as "
                "[::1]"},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        char yaml[128], want[256];
        snprintf(yaml, sizeof(yaml), "server:\n  listen: \"%s\"\n", cases[i].text);
        snprintf(want, sizeof(want), "t.yaml:2:11: server.listen: %s\n", cases[i].msg);
        expect_errors(yaml, want);
    }
    expect_errors("server:\n  listen:\n",
                  "t.yaml:2:10: server.listen: expected host:port or [ipv6]:port such as "
                  "127.0.0.1:8080\n");
}

static void test_bad_duplicate(void **state) {
    expect_file_errors("bad_duplicate.yaml", LE_EINVAL,
                       "bad_duplicate.yaml:4:3: server.listen: duplicate key \"listen\"\n"
                       "bad_duplicate.yaml:7:1: log: duplicate key \"log\"\n");
}

static void test_bad_syntax(void **state) {
    expect_file_errors(
        "bad_syntax.yaml", LE_EINVAL,
        "bad_syntax.yaml:3:11: syntax: mapping values are not allowed in this context\n");
    expect_errors("server:\n  listen: \"127.0.0.1:8080\n",
                  "t.yaml:3:1: syntax: found unexpected end of stream\n");
    expect_errors("server:\n\tlisten: x\n",
                  "t.yaml:2:1: syntax: found character that cannot start any token\n");
    expect_errors("a: 1\n---\nb: 2\n", "t.yaml:2:1: syntax: more than one document\n");
    expect_errors("server:\n  timeouts:\n    idle: *nowhere\n",
                  "t.yaml:3:11: syntax: undefined alias \"nowhere\"\n");
    /* An alias to its own ancestor is not defined yet: no cycles. */
    expect_errors("server: &s\n  x: *s\n", "t.yaml:2:6: syntax: undefined alias \"s\"\n");
    /* Invalid UTF-8 is placed by its byte offset. */
    expect_errors("log:\n  level: \xff\n", "t.yaml:2:10: syntax: invalid leading UTF-8 octet\n");
    /* Nesting is bounded. */
    char deep[300];
    memset(deep, '[', 100);
    deep[100] = '\0';
    expect_errors(deep, "t.yaml:1:65: syntax: nested more than 64 levels deep\n");
}

static void test_bad_many(void **state) {
    expect_file_errors(
        "bad_many.yaml", LE_EINVAL,
        "bad_many.yaml:3:11: server.listen: the port must be between 0 and 65535\n"
        "bad_many.yaml:6:11: server.limits.body: expected a size such as 64k\n"
        "bad_many.yaml:14:7: forms.redirect_allowlist[1]: expected an http:// or https:// URL "
        "such as https://www.example.com/thanks\n"
        "bad_many.yaml:16:10: admin.token: must be at least 16 characters\n"
        "bad_many.yaml:17:1: lgo: unknown key \"lgo\" (did you mean \"log\"?)\n"
        "bad_many.yaml:10:13: tracking.cookie.secure: must be true when same_site is none\n");
}

static void test_bad_toplevel(void **state) {
    expect_file_errors("bad_toplevel.yaml", LE_EINVAL,
                       "bad_toplevel.yaml:1:1: top level: expected a mapping\n");
    expect_errors("just a string\n", "t.yaml:1:1: top level: expected a mapping\n");
    expect_errors("? [a, b]\n: 1\n", "t.yaml:1:3: top level: keys must be strings\n");
}

static void test_unreadable(void **state) {
    expect_file_errors("does-not-exist.yaml", -ENOENT,
                       "does-not-exist.yaml: cannot read: No such file or directory\n");
    expect_file_errors(".", -EISDIR, ".: cannot read: Is a directory\n");
    /* A NULL errors buffer is allowed; the code is still returned. */
    le_config_t *c = (le_config_t *)1;
    assert_int_equal(le_config_load("does-not-exist.yaml", &c, NULL), -ENOENT);
    assert_null(c);
}

/* ---- strings and the checks across keys --------------------------------------------------- */

static void test_bad_strings(void **state) {
    expect_errors("store:\n  data_dir: \"a\\nb\"\n",
                  "t.yaml:2:13: store.data_dir: must not contain NUL, CR or LF\n");
    expect_errors("store:\n  data_dir: \"a\\0b\"\n",
                  "t.yaml:2:13: store.data_dir: must not contain NUL, CR or LF\n");
    expect_errors("store:\n  data_dir: \"a\\rb\"\n",
                  "t.yaml:2:13: store.data_dir: must not contain NUL, CR or LF\n");
    expect_errors("store:\n  data_dir: ''\n", "t.yaml:2:13: store.data_dir: must not be empty\n");
    expect_errors("store:\n  data_dir:\n", "t.yaml:2:12: store.data_dir: expected a string\n");
    expect_errors("admin:\n  token: \"0123456789abcde\"\n",
                  "t.yaml:2:10: admin.token: must be at least 16 characters\n");
    expect_errors("admin:\n  token: \"0123456789 abcdef\"\n",
                  "t.yaml:2:10: admin.token: must be printable ASCII without spaces\n");
    expect_errors("tracking:\n  cookie:\n    name: \"le vid\"\n",
                  "t.yaml:3:11: tracking.cookie.name: must be a cookie name: letters, digits and "
                  "!#$%&'*+-.^_`|~ only\n");
    expect_errors("tracking:\n  cookie:\n    name: a=b\n",
                  "t.yaml:3:11: tracking.cookie.name: must be a cookie name: letters, digits and "
                  "!#$%&'*+-.^_`|~ only\n");
    expect_errors("privacy:\n  consent_cookie: \"a;b\"\n",
                  "t.yaml:2:19: privacy.consent_cookie: must be a cookie name: letters, digits "
                  "and !#$%&'*+-.^_`|~ only\n");
    expect_errors("privacy:\n  consent_cookie: c\n  consent_cookie_value: \"a b\"\n",
                  "t.yaml:3:25: privacy.consent_cookie_value: must be a cookie value: visible "
                  "ASCII without spaces, '\"', ',', ';' or '\\'\n");
    static const char *const domains[] = {"\"a b\"", "\"a;b\"", "https://a.example", "\"...\"",
                                          "a.example:80"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(domains); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "tracking:\n  cookie:\n    domain: %s\n", domains[i]);
        expect_errors(yaml, "t.yaml:3:13: tracking.cookie.domain: expected a domain name such "
                            "as example.com (no scheme, port, spaces or ';')\n");
    }
    expect_errors("forms:\n  honeypot: \"a&b\"\n",
                  "t.yaml:2:13: forms.honeypot: must be a form field name without spaces, '&' or "
                  "'='\n");
    static const char *const origins[] = {"https://a.example/",  "https://a.example/path",
                                          "a.example",           "https://",
                                          "https://a:0",         "https://a:65536",
                                          "https://u@a.example", "*",
                                          "https://a.example?x", "1http://a"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(origins); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "tracking:\n  allowed_origins: [\"%s\"]\n", origins[i]);
        expect_errors(yaml, "t.yaml:2:21: tracking.allowed_origins[0]: expected an origin such "
                            "as https://www.example.com (scheme://host[:port], no path or "
                            "trailing slash)\n");
    }
    le_config_t *c = load_ok("tracking:\n  allowed_origins: ['http://[::1]:8080', "
                             "'app://x', 'https://a-b.example']\n");
    assert_string_equal(c->tracking.allowed_origins.items[0], "http://[::1]:8080");
    assert_string_equal(c->tracking.allowed_origins.items[1], "app://x");
    assert_string_equal(c->tracking.allowed_origins.items[2], "https://a-b.example");
    le_config_unref(c);
    static const char *const urls[] = {
        "ftp://a.example/",           "https://",  "https://a.example/a b",
        "https://user@evil.example/", "/relative", "https://a.example:99999/"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(urls); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "forms:\n  redirect_allowlist: [\"%s\"]\n", urls[i]);
        expect_errors(yaml, "t.yaml:2:24: forms.redirect_allowlist[0]: expected an http:// or "
                            "https:// URL such as https://www.example.com/thanks\n");
    }
    c = load_ok("forms:\n  redirect_allowlist: ['https://A.example:8443/Thanks?x=1#Top', "
                "'http://b.example']\n");
    assert_string_equal(c->forms.redirect_allowlist.items[0],
                        "https://a.example:8443/Thanks?x=1#Top");
    assert_string_equal(c->forms.redirect_allowlist.items[1], "http://b.example");
    le_config_unref(c);
}

static void test_bad_shapes(void **state) {
    expect_errors("server:\n  workers: [1]\n  listen: {a: b}\n",
                  "t.yaml:2:12: server.workers: expected auto or an integer\n"
                  "t.yaml:3:11: server.listen: expected host:port or [ipv6]:port such as "
                  "127.0.0.1:8080\n");
    expect_errors("server:\n  workers: 257\n",
                  "t.yaml:2:12: server.workers: must be between 1 and 256\n");
    expect_errors("server:\n  workers: AUTO\n",
                  "t.yaml:2:12: server.workers: expected auto or an integer\n");
    expect_errors("server:\n  backlog: 1.0\n",
                  "t.yaml:2:12: server.backlog: expected an integer\n");
    expect_errors("server:\n  backlog: 0x10\n",
                  "t.yaml:2:12: server.backlog: expected an integer\n");
    expect_errors("server:\n  backlog: -3\n",
                  "t.yaml:2:12: server.backlog: must be between 1 and 65535\n");
    expect_errors("server:\n  backlog: 99999999999999999999999\n",
                  "t.yaml:2:12: server.backlog: must be between 1 and 65535\n");
    expect_errors("log:\n  level: [info]\n",
                  "t.yaml:2:10: log.level: expected one of: debug, info, warn, error\n");
    expect_errors("server:\n  limits: 5\n", "t.yaml:2:11: server.limits: expected a mapping\n");
    expect_errors("server:\n  trusted_proxies:\n    - [10.0.0.0/8]\n",
                  "t.yaml:3:7: server.trusted_proxies[0]: expected an IP address or network "
                  "such as 10.0.0.0/8\n");
    expect_errors("server:\n  listen: \"[::1]:80\"\n  server: 1\n",
                  "t.yaml:3:3: server.server: unknown key \"server\"\n");
    /* Keys that are not plain names are shown safely and never match. */
    expect_errors("\"se\\nrver\": 1\n",
                  "t.yaml:1:1: se?rver: unknown key \"se?rver\" (did you mean \"server\"?)\n");
    expect_errors("Server: {}\n",
                  "t.yaml:1:1: Server: unknown key \"Server\" (did you mean \"server\"?)\n");
    expect_errors("log:\n  level: info\n  \"\": 1\n", "t.yaml:3:3: log.: unknown key \"\"\n");
    char yaml[256], want[512];
    snprintf(yaml, sizeof(yaml), "%0100d: 1\n", 0);
    snprintf(want, sizeof(want), "t.yaml:1:1: %064d...: unknown key \"%064d...\"\n", 0, 0);
    expect_errors(yaml, want);
}

static void test_cross_checks(void **state) {
    expect_errors("tracking:\n  cookie:\n    secure: false\n    same_site: none\n",
                  "t.yaml:3:13: tracking.cookie.secure: must be true when same_site is none\n");
    expect_errors("tracking:\n  cookie:\n    name: __Secure-vid\n",
                  "t.yaml:3:11: tracking.cookie.name: a __Secure- or __Host- cookie needs "
                  "secure: true\n");
    expect_errors("tracking:\n  cookie:\n    name: __Host-vid\n    secure: true\n"
                  "    domain: example.com\n",
                  "t.yaml:5:13: tracking.cookie.domain: must be unset for a __Host- cookie\n");
    expect_errors("privacy:\n  consent_cookie_value: \"1\"\n",
                  "t.yaml:2:25: privacy.consent_cookie_value: needs privacy.consent_cookie to "
                  "be set\n");
    expect_errors("admin:\n  listen: 0.0.0.0:8080\n",
                  "t.yaml:2:11: admin.listen: must differ from server.listen (127.0.0.1:8080)\n");
    expect_errors("server:\n  listen: \"[::1]:9090\"\nadmin:\n  listen: \"[::1]:9090\"\n",
                  "t.yaml:4:11: admin.listen: must differ from server.listen ([::1]:9090)\n");
    expect_errors("server:\n  listen: 127.0.0.1:9090\n",
                  "t.yaml:2:11: server.listen: must differ from admin.listen (127.0.0.1:9090)\n");
    /* Same port on different specific addresses is fine. */
    le_config_t *c =
        load_ok("server:\n  listen: 127.0.0.1:9090\nadmin:\n  listen: 127.0.0.2:9090\n");
    le_config_unref(c);
    /* A value that failed its own check does not trigger a second, derived error. */
    expect_errors("tracking:\n  cookie:\n    secure: perhaps\n    same_site: none\n",
                  "t.yaml:3:13: tracking.cookie.secure: expected true or false\n");
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static void test_refcount(void **state) {
    le_config_t *c = load_ok("server:\n  trusted_proxies: [10.0.0.0/8]\ntracking:\n"
                             "  allowed_origins: [https://a.example]\nadmin:\n"
                             "  token: abcdefghijklmnopq\n");
    assert_ptr_equal(le_config_ref(c), c);
    assert_int_equal(atomic_load(&c->refs), 2);
    le_config_unref(c);
    assert_int_equal(atomic_load(&c->refs), 1);
    assert_string_equal(c->admin.token, "abcdefghijklmnopq");
    le_config_unref(c); /* frees; ASan reports a leak or a double free */
    le_config_unref(NULL);
}

/* Errors are appended, never overwrite what the caller already had. */
static void test_errors_append(void **state) {
    le_buf_t errors = LE_BUF_INIT;
    le_buf_puts(&errors, "before\n");
    le_config_t *c;
    assert_int_equal(le_config_load_string(NULL, "log: {level: loud}\n", 19, &c, &errors),
                     LE_EINVAL);
    assert_string_equal(le_buf_cstr(&errors),
                        "before\n<string>:1:14: log.level: expected one of: debug, info, warn, "
                        "error\n");
    le_buf_free(&errors);
    /* The length is honoured: the YAML need not be NUL-terminated. */
    assert_int_equal(le_config_load_string("t.yaml", "log: {level: warn}\nzzz: 1\n", 19, &c, NULL),
                     0);
    assert_int_equal(c->log.level, LE_LOG_WARN);
    le_config_unref(c);
}

int main(void) {
    if (chdir(LE_FIXTURES) != 0) {
        perror(LE_FIXTURES);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_shipped_config),
        cmocka_unit_test(test_docs_mention_every_key),
        cmocka_unit_test(test_good_full),
        cmocka_unit_test(test_good_inline),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bad_unknown),
        cmocka_unit_test(test_bad_type),
        cmocka_unit_test(test_bad_bounds),
        cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_bad_cidr),
        cmocka_unit_test(test_enrich_databases),
        cmocka_unit_test(test_crm),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_bad_duplicate),
        cmocka_unit_test(test_bad_syntax),
        cmocka_unit_test(test_bad_many),
        cmocka_unit_test(test_bad_toplevel),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_cross_checks),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_errors_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
