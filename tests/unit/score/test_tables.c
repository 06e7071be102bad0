/*
 * test_tables.c: the engine's tables as a user sees them (score/engine.c, snapshot.c): the
 * journey ring (anonymous page views that join a contact's journey when it is linked: in
 * order, with long URLs, after the ring came round, after an erasure, after an eviction, and
 * through a snapshot), the visitor index (every visitor stays findable while others come and
 * go), accounts by company key (many, long keys), a contact's latest enrichment (updated,
 * kept, through a snapshot), an account counting each contact once, and a version 1 snapshot
 * still loading.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define RING (1u << 18) /* the ring's size (engine_int.h) */

static const char *yaml =
    "scoring:\n"
    "  behaviour:\n"
    "    rules:\n"
    "      - {name: pricing page, when: {event: pageview, url: \"*/pricing*\"}, points: 15}\n"
    "      - {name: demo request, when: {event: form, form: demo}, points: 40, once: true}\n"
    "  fit:\n"
    "    rules:\n"
    "      - {name: DACH, when: {country: [DE, AT, CH]}, points: 10}\n"
    "mql:\n"
    "  behaviour: 500\n"
    "  fit: 20\n"
    "  account:\n"
    "    members: 2\n"
    "    roles: 1\n"
    "    engaged: 30\n"
    "limits:\n"
    "  max_visitors: %u\n";

static const int64_t T0 = 1795000000000LL;

static le_config_t *config(unsigned max_visitors) {
    char text[2048];
    snprintf(text, sizeof(text), yaml, max_visitors);
    le_config_t *cfg;
    le_buf_t err = LE_BUF_INIT;
    if (le_config_load_string("t.yaml", text, strlen(text), &cfg, &err) != 0)
        fail_msg("%s", le_buf_cstr(&err));
    le_buf_free(&err);
    return cfg;
}

static le_engine_t *engine(unsigned max_visitors) {
    le_config_t *cfg = config(max_visitors);
    le_rules_t *r;
    le_buf_t err = LE_BUF_INIT;
    assert_int_equal(le_rules_build(cfg, &r, &err), 0);
    le_buf_free(&err);
    le_engine_t *e = le_engine_new(cfg, r, le_domains_new(), le_domains_new());
    le_config_unref(cfg); /* the engine holds its own reference */
    return e;
}

typedef struct {
    le_event_t ev;
    le_kv_t fields[4];
} evb_t;

/* Visitor vid's id: 32 hex digits, the first 16 of them different for every vid (a visitor's
 * place in the journey ring goes by its id's first 8 bytes, as random ids have them). */
static const char *vid_hex(unsigned vid, char id[33]) {
    snprintf(id, 33, "%016llx%016llx", (unsigned long long)(vid * 0x9e3779b97f4a7c15ull),
             (unsigned long long)vid);
    return id;
}

static void base(evb_t *b, unsigned vid, int64_t t) {
    memset(b, 0, sizeof(*b));
    b->ev.time_ms = t;
    b->ev.id_kind = LE_ID_COOKIE;
    b->ev.consent = true;
    vid_hex(vid, b->ev.id);
    b->ev.enriched = true;
    b->ev.x.country_code = le_str("DE");
    b->ev.x.network = LE_NET_BUSINESS;
    b->ev.x.company = le_str("Acme GmbH");
    b->ev.x.company_key = le_str("acme");
}

static le_apply_t pv(le_engine_t *e, unsigned vid, const char *url, int64_t t) {
    evb_t b;
    base(&b, vid, t);
    b.ev.type = LE_EV_PAGEVIEW;
    b.ev.name = le_str("pageview");
    b.ev.url = le_str(url);
    le_apply_t out;
    le_engine_apply(e, &b.ev, &out);
    return out;
}

static le_apply_t form(le_engine_t *e, unsigned vid, const char *email, int64_t t) {
    evb_t b;
    base(&b, vid, t);
    b.ev.type = LE_EV_FORM;
    b.ev.name = le_str("form");
    b.ev.form_id = le_str("demo");
    b.fields[0] = (le_kv_t){le_str("email"), le_str(email)};
    b.fields[1] = (le_kv_t){le_str("job_title"), le_str("CEO")};
    b.ev.fields = b.fields;
    b.ev.nfields = 2;
    le_apply_t out;
    le_engine_apply(e, &b.ev, &out);
    return out;
}

static le_apply_t erase(le_engine_t *e, const char *id, int64_t t) {
    le_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LE_EV_ERASE;
    ev.time_ms = t;
    snprintf(ev.id, sizeof(ev.id), "%s", id);
    le_apply_t out;
    le_engine_apply(e, &ev, &out);
    return out;
}

/* The description of key (an address, a contact or visitor id) as JSON, in out. */
static const char *describe(le_engine_t *e, const char *key, le_buf_t *out) {
    le_buf_reset(out);
    assert_int_equal(le_engine_describe(e, key, 0, out), 0);
    return le_buf_cstr(out);
}

/* The "journey" array of a description. */
static const char *journey_of(const char *json) {
    const char *j = strstr(json, "\"journey\":[");
    assert_non_null(j);
    return j;
}

static void assert_saves_same(le_engine_t *a, le_engine_t *b) {
    le_buf_t s1 = LE_BUF_INIT, s2 = LE_BUF_INIT;
    le_engine_save(a, &s1);
    le_engine_save(b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len);
    le_buf_free(&s1);
    le_buf_free(&s2);
}

/* A copy of e through a snapshot, checked to save the same. */
static le_engine_t *reload(le_engine_t *e, unsigned max_visitors) {
    le_engine_t *b = engine(max_visitors);
    le_buf_t s = LE_BUF_INIT;
    le_engine_save(e, &s);
    const char *why = NULL;
    assert_int_equal(le_engine_load(b, s.data, s.len, &why), 0);
    le_buf_free(&s);
    assert_saves_same(e, b);
    return b;
}

/* ---- the journey ring --------------------------------------------------------------------- */

/* Anonymous page views join the contact's journey at the form, oldest first, and others'
 * page views in between do not. */
static void test_journey_before_form(void **state) {
    (void)state;
    le_engine_t *e = engine(1000);
    pv(e, 1, "https://x.example/a", T0);
    pv(e, 2, "https://x.example/other", T0 + 500);
    pv(e, 1, "https://x.example/b", T0 + 1000);
    pv(e, 3, "https://x.example/other3", T0 + 1500);
    pv(e, 1, "https://x.example/c", T0 + 2000);
    assert_true(form(e, 1, "ada@acme.example", T0 + 3000).linked);
    pv(e, 1, "https://x.example/d", T0 + 4000);
    le_buf_t out = LE_BUF_INIT;
    const char *j = journey_of(describe(e, "ada@acme.example", &out));
    assert_non_null(strstr(j, "\"journey\":[{\"url\":\"https://x.example/a\",\"at\":1795000000},"
                              "{\"url\":\"https://x.example/b\",\"at\":1795000001},"
                              "{\"url\":\"https://x.example/c\",\"at\":1795000002},"
                              "{\"url\":\"https://x.example/d\",\"at\":1795000004}]"));
    le_buf_free(&out);
    le_engine_free(e);
}

/* A URL of len bytes, its own for visitor v's step. */
static const char *long_url(char *url, size_t len, unsigned v, unsigned step) {
    int n = snprintf(url, len + 1, "https://x.example/%u/%u/", v, step);
    memset(url + n, 'a' + (char)((v + step) % 26), len - (size_t)n);
    url[len] = '\0';
    return url;
}

/* URLs of 2,048 bytes (longer ones cut there) from many visitors: far more text than the ring
 * starts with; every visitor's steps come back whole whenever it is linked, and through a
 * snapshot. */
static void test_journey_long_urls(void **state) {
    (void)state;
    enum { NV = 700, URL = 2100 };
    le_engine_t *e = engine(1000);
    char url[URL + 1], want[URL + 16];
    for (unsigned step = 0; step < 3; step++)
        for (unsigned v = 1; v <= NV; v++)
            pv(e, v, long_url(url, URL, v, step), T0 + (int64_t)(step * NV + v) * 10);
    le_engine_t *b = reload(e, 1000);
    le_buf_t out = LE_BUF_INIT;
    const unsigned check[] = {1, 2, 350, 699, NV};
    for (size_t i = 0; i < sizeof(check) / sizeof(check[0]); i++) {
        unsigned v = check[i];
        char email[64];
        snprintf(email, sizeof(email), "v%u@acme.example", v);
        for (int k = 0; k < 2; k++) {
            le_engine_t *x = k ? b : e;
            assert_true(form(x, v, email, T0 + 100000).linked);
            const char *j = journey_of(describe(x, email, &out));
            for (unsigned step = 0; step < 3; step++) {
                /* kept: the first 2,048 bytes */
                snprintf(want, sizeof(want), "\"url\":\"%.2048s\"", long_url(url, URL, v, step));
                assert_non_null(strstr(j, want));
            }
        }
    }
    assert_saves_same(e, b);
    le_buf_free(&out);
    le_engine_free(b);
    le_engine_free(e);
}

/* The ring keeps the latest RING page views: once it came round, older steps are gone from a
 * later journey, newer ones are there; a snapshot taken then loads and goes on the same. */
static void test_journey_ring_comes_round(void **state) {
    (void)state;
    le_engine_t *e = engine(2000);
    pv(e, 1, "https://x.example/early-1", T0);
    pv(e, 2, "https://x.example/early-2", T0);
    for (unsigned i = 0; i < RING + 10; i++)
        pv(e, 100 + i % 500, i % 7 ? "https://x.example/p" : "https://x.example/pricing",
           T0 + 1000 + i);
    pv(e, 2, "https://x.example/late-2", T0 + 2000000);
    le_engine_t *b = reload(e, 2000); /* the early steps' index entries outlived them */
    le_buf_t out = LE_BUF_INIT;
    for (int k = 0; k < 2; k++) {
        le_engine_t *x = k ? b : e;
        assert_true(form(x, 1, "one@acme.example", T0 + 3000000).linked);
        assert_non_null(strstr(describe(x, "one@acme.example", &out), "\"journey\":[]"));
        assert_true(form(x, 2, "two@acme.example", T0 + 3000000).linked);
        const char *j = journey_of(describe(x, "two@acme.example", &out));
        assert_null(strstr(j, "early-2"));
        assert_non_null(strstr(j, "\"journey\":[{\"url\":\"https://x.example/late-2\""));
    }
    assert_saves_same(e, b);
    le_buf_free(&out);
    le_engine_free(b);
    le_engine_free(e);
}

/* At the edge: the oldest of the latest RING page views is in a journey, the one before it is
 * not. */
static void test_journey_ring_edge(void **state) {
    (void)state;
    le_engine_t *e = engine(2000);
    pv(e, 1, "https://x.example/first", T0);  /* the ring's step 1 */
    pv(e, 2, "https://x.example/second", T0); /* step 2 */
    for (unsigned i = 0; i < RING - 1; i++) pv(e, 100 + i % 500, "https://x.example/p", T0 + i);
    /* RING + 1 steps: the first is gone, the second is the oldest kept */
    le_buf_t out = LE_BUF_INIT;
    assert_true(form(e, 1, "one@acme.example", T0 + 3000000).linked);
    assert_non_null(strstr(describe(e, "one@acme.example", &out), "\"journey\":[]"));
    assert_true(form(e, 2, "two@acme.example", T0 + 3000000).linked);
    assert_non_null(
        strstr(describe(e, "two@acme.example", &out),
               "\"journey\":[{\"url\":\"https://x.example/second\",\"at\":1795000000}]"));
    le_buf_free(&out);
    le_engine_free(e);
}

/* Erasure takes a visitor's steps out of the ring: the same id coming back starts afresh;
 * another visitor's steps stay. */
static void test_journey_erased(void **state) {
    (void)state;
    le_engine_t *e = engine(1000);
    pv(e, 1, "https://x.example/secret", T0);
    pv(e, 2, "https://x.example/kept", T0 + 100);
    pv(e, 1, "https://x.example/secret-2", T0 + 200);
    char v1[33];
    assert_true(erase(e, vid_hex(1, v1), T0 + 300).erased);
    le_buf_t s = LE_BUF_INIT;
    le_engine_save(e, &s);
    assert_null(memmem(s.data, s.len, "secret", 6)); /* not in the snapshot either */
    le_buf_free(&s);
    assert_true(pv(e, 1, "https://x.example/fresh", T0 + 400).new_visitor);
    assert_true(form(e, 1, "back@acme.example", T0 + 500).linked);
    assert_true(form(e, 2, "two@acme.example", T0 + 500).linked);
    le_buf_t out = LE_BUF_INIT;
    const char *j = journey_of(describe(e, "back@acme.example", &out));
    assert_null(strstr(j, "secret"));
    assert_non_null(strstr(j, "\"journey\":[{\"url\":\"https://x.example/fresh\""));
    assert_non_null(strstr(describe(e, "two@acme.example", &out), "https://x.example/kept"));
    le_buf_free(&out);
    le_engine_free(e);
}

/* An anonymous visitor dropped to make room keeps its steps in the ring: back again and
 * linked, its journey starts before the eviction. */
static void test_journey_survives_eviction(void **state) {
    (void)state;
    le_engine_t *e = engine(1000);
    pv(e, 1, "https://x.example/before", T0);
    for (unsigned i = 0; i < 1500; i++) pv(e, 1000 + i, "https://x.example/p", T0 + 1000 + i);
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_true(st.evicted >= 500);
    assert_true(pv(e, 1, "https://x.example/after", T0 + 5000).new_visitor); /* it was dropped */
    assert_true(form(e, 1, "back@acme.example", T0 + 6000).linked);
    le_buf_t out = LE_BUF_INIT;
    const char *j = journey_of(describe(e, "back@acme.example", &out));
    assert_non_null(strstr(j, "[{\"url\":\"https://x.example/before\",\"at\":1795000000},"
                              "{\"url\":\"https://x.example/after\",\"at\":1795000005}]"));
    le_buf_free(&out);
    le_engine_free(e);
}

/* ---- the visitor index -------------------------------------------------------------------- */

/* Thousands of visitors come and go (evicted, erased) through a table of 1,000: every one the
 * table holds is found by its id, the ones it dropped are not, and a snapshot agrees. */
static void test_index_finds_every_visitor(void **state) {
    (void)state;
    enum { N = 6000 };
    le_engine_t *e = engine(1000);
    for (unsigned i = 0; i < N; i++) {
        pv(e, i, "https://x.example/p", T0 + i);
        if (i % 10 == 5) { /* an erasure now and then: a slot leaves the index mid-run */
            char id[33];
            erase(e, vid_hex(i - 3, id), T0 + i);
        }
        if (i % 3 == 0) pv(e, i / 2, "https://x.example/again", T0 + i); /* some come back */
    }
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.visitors, 1000);
    le_engine_t *b = reload(e, 1000);
    le_buf_t out = LE_BUF_INIT;
    uint64_t found[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (unsigned i = 0; i < N; i++) {
            char id[33];
            le_buf_reset(&out);
            found[k] += le_engine_describe(k ? b : e, vid_hex(i, id), 0, &out) == 0;
        }
    assert_int_equal(found[0], st.visitors);
    assert_int_equal(found[1], st.visitors);
    le_buf_free(&out);
    le_engine_free(b);
    le_engine_free(e);
}

/* ---- accounts ----------------------------------------------------------------------------- */

/* Many company keys, short and long: one account each, found again by the same key, through a
 * snapshot too. */
static void test_many_accounts(void **state) {
    (void)state;
    enum { N = 3000 };
    le_engine_t *e = engine(2 * N + 10);
    char key[160];
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < N; i++) {
            /* some keys far past a cache line: up to 129 bytes, the longest an account takes */
            int n = snprintf(key, sizeof(key), "company-%u", i);
            if (i % 5 == 0) {
                memset(key + n, 'k', 129 - (size_t)n);
                key[129] = '\0';
            }
            evb_t b;
            base(&b, pass * N + i, T0 + i);
            b.ev.type = LE_EV_PAGEVIEW;
            b.ev.url = le_str("https://x.example/pricing");
            b.ev.x.company_key = le_str(key);
            le_apply_t out;
            le_engine_apply(e, &b.ev, &out);
        }
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.accounts, N);
    le_engine_t *b = reload(e, 2 * N + 10);
    le_buf_t out = LE_BUF_INIT;
    char id[33], want[200];
    vid_hex(N + 17, id); /* the second pass, company 17 */
    snprintf(want, sizeof(want), "\"account\":{\"key\":\"company-17\",\"name\":\"Acme GmbH\"");
    assert_non_null(strstr(describe(b, id, &out), want));
    assert_non_null(strstr(le_buf_cstr(&out), "\"members\":2"));
    vid_hex(N + 20, id); /* a long key */
    assert_non_null(strstr(describe(b, id, &out), "\"key\":\"company-20kkkkk"));
    le_buf_free(&out);
    le_engine_free(b);
    le_engine_free(e);
}

/* An account counts each contact once however many of its events it sees, before and after a
 * snapshot: one engaged contact is not two (mql.account.members: 2, roles: 1). */
static void test_account_counts_contact_once(void **state) {
    (void)state;
    le_engine_t *e = engine(1000);
    assert_false(form(e, 1, "ceo@acme.example", T0).mqa);
    for (unsigned i = 0; i < 5; i++)
        assert_false(pv(e, 1, "https://x.example/pricing", T0 + 1000 * (i + 1)).mqa);
    le_engine_t *b = reload(e, 1000);
    for (int k = 0; k < 2; k++) {
        le_engine_t *x = k ? b : e;
        for (unsigned i = 0; i < 3; i++)
            assert_false(pv(x, 1, "https://x.example/pricing", T0 + 10000 + 1000 * i).mqa);
        assert_true(form(x, 2, "cto@acme.example", T0 + 20000).mqa); /* two contacts now */
    }
    assert_saves_same(e, b);
    le_engine_free(b);
    le_engine_free(e);
}

/* ---- a contact's enrichment --------------------------------------------------------------- */

/* The latest event's values replace the contact's, values it lacks are kept, and the strings
 * go through a snapshot as they are (an empty one stays empty, not unset). */
static void test_contact_enrichment(void **state) {
    (void)state;
    le_engine_t *e = engine(1000);
    evb_t b;
    base(&b, 1, T0);
    b.ev.type = LE_EV_FORM;
    b.ev.form_id = le_str("demo");
    b.fields[0] = (le_kv_t){le_str("email"), le_str("ada@acme.example")};
    b.ev.fields = b.fields;
    b.ev.nfields = 1;
    b.ev.x.city = le_str("Berlin");
    b.ev.x.browser = le_str("Chrome");
    b.ev.x.os = le_str("Linux");
    le_apply_t out;
    le_engine_apply(e, &b.ev, &out);
    le_buf_t j = LE_BUF_INIT;
    assert_non_null(strstr(describe(e, "ada@acme.example", &j),
                           "\"enrichment\":{\"company\":\"Acme GmbH\",\"company_key\":\"acme\","
                           "\"domain\":null,\"country\":\"DE\",\"region\":null,\"continent\":null,"
                           "\"city\":\"Berlin\",\"network\":\"business\",\"browser\":\"Chrome\","
                           "\"os\":\"Linux\",\"device_class\":\"other\",\"language\":null}"));
    /* a new browser, no city: the city stays */
    base(&b, 1, T0 + 1000);
    b.ev.type = LE_EV_PAGEVIEW;
    b.ev.url = le_str("https://x.example/p");
    b.ev.x.browser = le_str("Firefox");
    b.ev.x.os = le_str("Linux");
    b.ev.x.language = le_str("de");
    le_engine_apply(e, &b.ev, &out);
    le_engine_apply(e, &b.ev, &out); /* the same again changes nothing */
    const char *d = describe(e, "ada@acme.example", &j);
    assert_non_null(strstr(d, "\"city\":\"Berlin\""));
    assert_non_null(strstr(d, "\"browser\":\"Firefox\""));
    assert_non_null(strstr(d, "\"language\":\"de\""));
    /* a value that is a C string of nothing (it starts with a NUL) is set, and empty */
    b.ev.x.region_code = (le_str_t){"\0BE", 3};
    le_engine_apply(e, &b.ev, &out);
    assert_non_null(strstr(describe(e, "ada@acme.example", &j), "\"region\":\"\""));
    le_engine_t *r = reload(e, 1000);
    assert_non_null(strstr(describe(r, "ada@acme.example", &j), "\"region\":\"\""));
    le_buf_free(&j);
    le_engine_free(r);
    le_engine_free(e);
}

/* ---- a version 1 snapshot ----------------------------------------------------------------- */

static int buf_write(void *data, const char *p, size_t n) {
    le_buf_append(data, p, n);
    return 0;
}

static void pk_s(msgpack_packer *pk, const char *s) {
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Version 1 (before lifecycles) had 27-element contacts with 7 enrichment strings (company,
 * country, city, network, browser, os, language): each lands where it belongs. */
static void test_version_1_snapshot(void **state) {
    (void)state;
    le_buf_t s = LE_BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s, buf_write);
    msgpack_pack_map(&pk, 8);
    pk_s(&pk, "v");
    msgpack_pack_uint32(&pk, 1);
    pk_s(&pk, "hw");
    msgpack_pack_uint32(&pk, 0);
    pk_s(&pk, "visitors");
    msgpack_pack_uint32(&pk, 0);
    pk_s(&pk, "contacts");
    msgpack_pack_uint32(&pk, 1);
    pk_s(&pk, "accounts");
    msgpack_pack_uint32(&pk, 0);
    pk_s(&pk, "rng");
    msgpack_pack_uint64(&pk, 12345);
    pk_s(&pk, "stats");
    msgpack_pack_array(&pk, 7);
    for (int i = 0; i < 7; i++) msgpack_pack_uint32(&pk, 1);
    pk_s(&pk, "free");
    msgpack_pack_array(&pk, 0);
    /* the contact */
    msgpack_pack_array(&pk, 27);
    pk_s(&pk, "0123456789abcdef0123456789abcdef");
    pk_s(&pk, "ada@acme.example");
    for (int i = 0; i < 9; i++) pk_s(&pk, i == 0 ? "Ada" : NULL); /* first_name .. industry */
    msgpack_pack_int64(&pk, -1);                                  /* company_size */
    for (int i = 0; i < 3; i++) msgpack_pack_int(&pk, i == 2 ? -1 : 0);
    for (int i = 0; i < 7; i++) msgpack_pack_uint32(&pk, i == 1 || i == 2 ? 1795000000 : 0);
    msgpack_pack_array(&pk, 4); /* lead */
    msgpack_pack_float(&pk, 10);
    msgpack_pack_int32(&pk, 0);
    msgpack_pack_uint32(&pk, 1795000000);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_array(&pk, 0); /* visitors */
    msgpack_pack_array(&pk, 7);
    const char *enr[7] = {"Acme GmbH", "DE", "Berlin", "business", "Chrome", "Linux", "de"};
    for (int i = 0; i < 7; i++) pk_s(&pk, enr[i]);
    msgpack_pack_uint32(&pk, 1); /* njourney */
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    pk_s(&pk, "https://x.example/a");
    msgpack_pack_uint32(&pk, 1795000000);

    le_engine_t *e = engine(1000);
    const char *why = NULL;
    assert_int_equal(le_engine_load(e, s.data, s.len, &why), 0);
    le_buf_t j = LE_BUF_INIT;
    assert_non_null(strstr(describe(e, "ada@acme.example", &j),
                           "\"enrichment\":{\"company\":\"Acme GmbH\",\"company_key\":null,"
                           "\"domain\":null,\"country\":\"DE\",\"region\":null,\"continent\":null,"
                           "\"city\":\"Berlin\",\"network\":\"business\",\"browser\":\"Chrome\","
                           "\"os\":\"Linux\",\"device_class\":null,\"language\":\"de\"}"));
    le_engine_t *r = reload(e, 1000); /* saved as the current version, loaded the same */
    le_buf_free(&j);
    le_buf_free(&s);
    le_engine_free(r);
    le_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journey_before_form),
        cmocka_unit_test(test_journey_long_urls),
        cmocka_unit_test(test_journey_ring_comes_round),
        cmocka_unit_test(test_journey_ring_edge),
        cmocka_unit_test(test_journey_erased),
        cmocka_unit_test(test_journey_survives_eviction),
        cmocka_unit_test(test_index_finds_every_visitor),
        cmocka_unit_test(test_many_accounts),
        cmocka_unit_test(test_account_counts_contact_once),
        cmocka_unit_test(test_contact_enrichment),
        cmocka_unit_test(test_version_1_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
