/*
 * test_enrich.c: le_enrich_run's IP cache (enrich/enrich.c). Answers from the cache equal
 * answers without it, on a miss and on a hit; results never point into an entry that a later
 * lookup replaces; the counters count exactly; a full set gives up its least recently used
 * entry; entries of other tables are never served; an answer too long to keep inline is
 * looked up every time and still right. The tables are a company ranges CSV written here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich.h"

static char dir[] = "/tmp/le-test-enrich-XXXXXX";
static char csv_path[256];
static le_arena_t arena;

/* 10.0.N.0/24 names "Company N GmbH" (domain cN.example) for N < 64; 10.1.0.0/24 names a
 * company whose name, key and domain do not fit an entry. With tag, names carry it ("Company 3 v2 GmbH"). */
static void write_ranges(const char *tag) {
    FILE *f = fopen(csv_path, "w");
    assert_non_null(f);
    fprintf(f, "network,company,domain\n");
    for (int n = 0; n < 64; n++)
        fprintf(f, "10.0.%d.0/24,Company %d%s%s GmbH,c%d.example\n", n, n, tag ? " " : "",
                tag ? tag : "", n);
    /* company (<= 256 bytes), key and domain (<= 253) together exceed an entry's text */
    fprintf(f, "10.1.0.0/24,");
    for (int i = 10; i < 32; i++) fprintf(f, "Longname%d ", i);
    fprintf(f, "AG,");
    for (int label = 0; label < 4; label++)
        fprintf(f, "%.60s.", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmn");
    fprintf(f, "example\n");
    assert_int_equal(fclose(f), 0);
}

static le_enrich_t *open_tables(void) {
    char yaml[512];
    snprintf(yaml, sizeof yaml, "enrich:\n  company_ranges: \"%s\"\n", csv_path);
    le_config_t *cfg = NULL;
    le_buf_t err = LE_BUF_INIT;
    if (le_config_load_string("test.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("config: %s", le_buf_cstr(&err));
    le_enrich_t *e = NULL;
    if (le_enrich_open(cfg, NULL, &e, &err) != 0) fail_msg("tables: %s", le_buf_cstr(&err));
    le_buf_free(&err);
    le_config_unref(cfg);
    return e;
}

static int setup(void **state) {
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(csv_path, sizeof csv_path, "%s/companies.csv", dir);
    le_arena_init(&arena, NULL, 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    le_arena_free(&arena);
    unlink(csv_path);
    rmdir(dir);
    return 0;
}

static void run(const le_enrich_t *e, le_enrich_cache_t *c, const char *addr, le_enrichment_t *x) {
    le_enrich_input_t in = {.form_fill_ms = -1};
    assert_int_equal(le_ip_parse(le_str(addr), &in.ip), 0);
    in.ua = le_str("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    in.accept_language = le_str("de-DE,de;q=0.9");
    le_enrich_run(e, c, &in, &arena, x);
}

/* The address part of x as one line, to compare answers. */
static const char *show(const le_enrichment_t *x) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%.*s|%.*s|%.*s|%.*s|net=%u|ranges=%d|asn=%u", (int)x->company.len,
             x->company.ptr ? x->company.ptr : "", (int)x->company_key.len,
             x->company_key.ptr ? x->company_key.ptr : "", (int)x->domain.len,
             x->domain.ptr ? x->domain.ptr : "", (int)x->country_code.len,
             x->country_code.ptr ? x->country_code.ptr : "", x->network, x->from_ranges, x->asn);
    return buf;
}

static uint64_t hits(const le_enrich_cache_t *c) {
    le_enrich_cache_stats_t s;
    le_enrich_cache_stats(c, &s);
    return s.ip_hits;
}

static uint64_t misses(const le_enrich_cache_t *c) {
    le_enrich_cache_stats_t s;
    le_enrich_cache_stats(c, &s);
    return s.ip_misses;
}

static void test_same_answers_and_counters(void **state) {
    (void)state;
    write_ranges(NULL);
    le_enrich_t *e = open_tables();
    le_enrich_cache_t *c = le_enrich_cache_new(64, 256);
    char want[64][2048], addr[32];
    for (int n = 0; n < 64; n++) {
        le_enrichment_t x;
        snprintf(addr, sizeof addr, "10.0.%d.%d", n, 7 + n);
        run(e, NULL, addr, &x);
        snprintf(want[n], sizeof want[n], "%s", show(&x));
        char expect[128];
        snprintf(expect, sizeof expect, "Company %d GmbH|company %d|c%d.example||net=%u|ranges=1",
                 n, n, n, (unsigned)LE_NET_BUSINESS);
        assert_memory_equal(want[n], expect, strlen(expect));
    }
    for (int round = 0; round < 3; round++) {
        for (int n = 0; n < 64; n++) {
            le_enrichment_t x;
            snprintf(addr, sizeof addr, "10.0.%d.%d", n, 7 + n);
            run(e, c, addr, &x);
            assert_string_equal(show(&x), want[n]);
        }
    }
    assert_int_equal(misses(c), 64);
    assert_int_equal(hits(c), 128);
    le_enrich_cache_free(c);
    le_enrich_unref(e);
}

static void test_results_outlive_the_entry(void **state) {
    (void)state;
    write_ranges(NULL);
    le_enrich_t *e = open_tables();
    le_enrich_cache_t *c = le_enrich_cache_new(64, 8); /* one set of eight */
    le_enrichment_t first, again;
    run(e, c, "10.0.1.1", &first);
    run(e, c, "10.0.1.1", &again); /* a hit */
    char keep[2048];
    snprintf(keep, sizeof keep, "%s", show(&again));
    char addr[32];
    for (int n = 2; n < 40; n++) { /* every entry replaced several times */
        le_enrichment_t x;
        snprintf(addr, sizeof addr, "10.0.%d.1", n);
        run(e, c, addr, &x);
    }
    assert_string_equal(show(&again), keep);
    assert_string_equal(show(&first), keep);
    le_enrich_cache_free(c);
    le_enrich_unref(e);
}

static void test_lru(void **state) {
    (void)state;
    write_ranges(NULL);
    le_enrich_t *e = open_tables();
    le_enrich_cache_t *c = le_enrich_cache_new(64, 8); /* one set of eight */
    le_enrichment_t x;
    char addr[32];
    for (int n = 0; n < 8; n++) {
        snprintf(addr, sizeof addr, "10.0.%d.1", n);
        run(e, c, addr, &x);
    }
    assert_int_equal(misses(c), 8);
    run(e, c, "10.0.0.1", &x); /* 0 is now the most recent; 1 the least */
    assert_int_equal(hits(c), 1);
    run(e, c, "10.0.8.1", &x); /* replaces 1 */
    assert_int_equal(misses(c), 9);
    run(e, c, "10.0.0.1", &x);
    run(e, c, "10.0.2.1", &x);
    assert_int_equal(hits(c), 3);
    run(e, c, "10.0.1.1", &x); /* was replaced */
    assert_int_equal(misses(c), 10);
    assert_string_equal(show(&x), "Company 1 GmbH|company 1|c1.example||net=1|ranges=1|asn=0");
    /* Eight addresses sent in turn to eight ways: after the first round, only hits. */
    le_enrich_cache_t *d = le_enrich_cache_new(64, 8);
    for (int round = 0; round < 5; round++)
        for (int n = 0; n < 8; n++) {
            snprintf(addr, sizeof addr, "10.0.%d.9", 20 + n);
            run(e, d, addr, &x);
        }
    assert_int_equal(misses(d), 8);
    assert_int_equal(hits(d), 32);
    le_enrich_cache_free(d);
    le_enrich_cache_free(c);
    le_enrich_unref(e);
}

static void test_other_tables_never_served(void **state) {
    (void)state;
    write_ranges(NULL);
    le_enrich_t *e1 = open_tables();
    write_ranges("v2");
    le_enrich_t *e2 = open_tables();
    le_enrich_cache_t *c = le_enrich_cache_new(64, 64);
    le_enrichment_t x;
    run(e1, c, "10.0.3.3", &x);
    assert_string_equal(show(&x), "Company 3 GmbH|company 3|c3.example||net=1|ranges=1|asn=0");
    run(e2, c, "10.0.3.3", &x);
    assert_string_equal(show(&x),
                        "Company 3 v2 GmbH|company 3 v2|c3.example||net=1|ranges=1|asn=0");
    assert_int_equal(misses(c), 2);
    run(e2, c, "10.0.3.3", &x);
    assert_int_equal(hits(c), 1);
    run(e1, c, "10.0.3.3", &x); /* requests still holding the old tables get their answers */
    assert_string_equal(show(&x), "Company 3 GmbH|company 3|c3.example||net=1|ranges=1|asn=0");
    assert_int_equal(misses(c), 3);
    le_enrich_cache_free(c);
    le_enrich_unref(e1);
    le_enrich_unref(e2);
}

static void test_too_long_to_keep(void **state) {
    (void)state;
    write_ranges(NULL);
    le_enrich_t *e = open_tables();
    le_enrich_cache_t *c = le_enrich_cache_new(64, 64);
    le_enrichment_t x, y;
    run(e, NULL, "10.1.0.5", &x);
    assert_true(x.company.len + x.company_key.len + x.domain.len > 512);
    char want[2048];
    snprintf(want, sizeof want, "%s", show(&x));
    for (int i = 0; i < 3; i++) {
        run(e, c, "10.1.0.5", &y);
        assert_string_equal(show(&y), want);
    }
    assert_int_equal(misses(c), 3);
    assert_int_equal(hits(c), 0);
    /* and it did not cost a shorter answer its place */
    run(e, c, "10.0.5.5", &y);
    run(e, c, "10.0.5.5", &y);
    assert_int_equal(hits(c), 1);
    le_enrich_cache_free(c);
    le_enrich_unref(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_answers_and_counters),
        cmocka_unit_test(test_results_outlive_the_entry),
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_other_tables_never_served),
        cmocka_unit_test(test_too_long_to_keep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
