/*
 * test_params.c: decoded param lists to event protocol fields: event names,
 * timestamps, visitor ids, props and their bounds, fed through the real
 * query-string decoder as the pixel does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "decode.h"

static le_arena_t arena;
static const le_event_limits_t lim = {.max_props = 4, .max_value_len = 64};

static int setup(void **state) {
    le_arena_init(&arena, NULL, 0);
    return 0;
}

static int teardown(void **state) {
    le_arena_free(&arena);
    return 0;
}

/* Decode a query string and build an event from it; ev is pre-filled with a sentinel. */
static le_dec_err_t from_query(const char *q, const le_event_limits_t *l, le_event_t *ev,
                               const char **why) {
    le_kvlist_t params;
    le_dec_err_t rc = le_urlencoded_parse(&arena, q, strlen(q), 256, 4096, false, &params);
    assert_int_equal(rc, LE_DEC_OK);
    memset(ev, 0, sizeof(*ev));
    ev->time_ms = 111;
    ev->consent = true;
    ev->type = 99;
    ev->ip = LE_STR("203.0.0.0");
    memcpy(ev->id, "sentinel", 9);
    return le_event_from_params(&params, l, &arena, ev, why);
}

static void assert_str(le_str_t s, const char *want) {
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

static void assert_untouched_extras(const le_event_t *ev) {
    assert_int_equal(ev->time_ms, 111);
    assert_true(ev->consent);
    assert_str(ev->ip, "203.0.0.0");
    assert_string_equal(ev->id, "sentinel");
}

static void test_pageview(void **state) {
    le_event_t ev;
    const char *why = NULL;
    assert_int_equal(from_query("e=pv&url=https%3A%2F%2Fa.example%2Fpricing&ref=https%3A%2F%2F"
                                "google.com%2F&t=Pricing+%E2%80%94+ACME&vid=abc_DEF-123"
                                "&ts=1700000000",
                                &lim, &ev, &why),
                     LE_DEC_OK);
    assert_string_equal(why, "ok");
    assert_int_equal(ev.type, LE_EV_PAGEVIEW);
    assert_str(ev.name, "pageview");
    assert_str(ev.url, "https://a.example/pricing");
    assert_str(ev.ref, "https://google.com/");
    assert_str(ev.title, "Pricing \xe2\x80\x94 ACME");
    assert_str(ev.vid, "abc_DEF-123");
    assert_int_equal(ev.client_ts_ms, 1700000000000LL);
    assert_int_equal(ev.nprops, 0);
    assert_null(ev.props);
    assert_untouched_extras(&ev);
}

static void test_custom_event_and_props(void **state) {
    le_event_t ev;
    assert_int_equal(from_query("e=signup.completed:v2-x_y&ts=1700000000123&p.plan=pro&p.seats=5"
                                "&p.plan=enterprise&foo=bar",
                                &lim, &ev, NULL),
                     LE_DEC_OK);
    assert_int_equal(ev.type, LE_EV_EVENT);
    assert_str(ev.name, "signup.completed:v2-x_y");
    assert_int_equal(ev.client_ts_ms, 1700000000123LL);
    assert_str(ev.url, "");
    assert_str(ev.ref, "");
    assert_str(ev.title, "");
    assert_str(ev.vid, "");
    assert_int_equal(ev.nprops, 2); /* the repeated p.plan is dropped */
    assert_str(ev.props[0].key, "plan");
    assert_str(ev.props[0].val, "pro");
    assert_str(ev.props[1].key, "seats");
    assert_str(ev.props[1].val, "5");
    assert_int_equal(ev.props[0].key.ptr[ev.props[0].key.len], '\0'); /* still NUL-terminated */
    assert_untouched_extras(&ev);

    /* 64-character names are the maximum. */
    char q[256];
    snprintf(q, sizeof(q), "e=%.*s&p.%.*s=1", 64,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64,
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    assert_int_equal(from_query(q, &lim, &ev, NULL), LE_DEC_OK);
    assert_int_equal(ev.name.len, 64);
    assert_int_equal(ev.props[0].key.len, 64);
}

static void expect(const char *q, const le_event_limits_t *l, le_dec_err_t want,
                   const char *want_why) {
    le_event_t ev;
    const char *why = NULL;
    le_dec_err_t rc = from_query(q, l, &ev, &why);
    if (rc != want) fail_msg("%s: got %s (%s)", q, le_dec_strerror(rc), why ? why : "");
    assert_string_equal(why, want_why);
    if (rc != LE_DEC_OK) {
        assert_int_equal(ev.type, 99); /* untouched on failure */
        assert_int_equal(ev.nprops, 0);
        assert_null(ev.name.ptr);
    }
}

static void test_event_names(void **state) {
    expect("url=x", &lim, LE_DEC_MISSING, "missing event name (e)");
    expect("", &lim, LE_DEC_MISSING, "missing event name (e)");
    expect("e=", &lim, LE_DEC_MISSING, "missing event name (e)");
    expect("e", &lim, LE_DEC_MISSING, "missing event name (e)");
    expect("E=pv", &lim, LE_DEC_MISSING, "missing event name (e)");
    expect("e=sign+up", &lim, LE_DEC_BAD_VALUE, "bad event name");
    expect("e=a%2Fb", &lim, LE_DEC_BAD_VALUE, "bad event name");
    expect("e=caf%C3%A9", &lim, LE_DEC_BAD_VALUE, "bad event name");
    expect("e=a<b>", &lim, LE_DEC_BAD_VALUE, "bad event name");
    expect("e=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &lim,
           LE_DEC_BAD_VALUE, "bad event name"); /* 65 */
    expect("e=pageview", &lim, LE_DEC_BAD_VALUE, "reserved event name");
    expect("e=form", &lim, LE_DEC_BAD_VALUE, "reserved event name");
    expect("e=PV", &lim, LE_DEC_OK, "ok");              /* a custom event, not a page view */
    expect("e=pv&e=bad%20name", &lim, LE_DEC_OK, "ok"); /* first wins */
    expect("e=bad%20name&e=pv", &lim, LE_DEC_BAD_VALUE, "bad event name");
}

static void test_ts(void **state) {
    le_event_t ev;
    assert_int_equal(from_query("e=pv&ts=0000000001", &lim, &ev, NULL), LE_DEC_OK);
    assert_int_equal(ev.client_ts_ms, 1000);
    assert_int_equal(from_query("e=pv&ts=9999999999999", &lim, &ev, NULL), LE_DEC_OK);
    assert_int_equal(ev.client_ts_ms, 9999999999999LL);
    assert_int_equal(from_query("e=pv&ts=", &lim, &ev, NULL), LE_DEC_OK);
    assert_int_equal(ev.client_ts_ms, 0);
    assert_int_equal(from_query("e=pv", &lim, &ev, NULL), LE_DEC_OK);
    assert_int_equal(ev.client_ts_ms, 0);
    assert_int_equal(from_query("e=pv&ts=1700000000&ts=garbage", &lim, &ev, NULL), LE_DEC_OK);
    assert_int_equal(ev.client_ts_ms, 1700000000000LL);
    expect("e=pv&ts=garbage", &lim, LE_DEC_BAD_VALUE, "bad ts");
    expect("e=pv&ts=170000000", &lim, LE_DEC_BAD_VALUE, "bad ts");      /* 9 digits */
    expect("e=pv&ts=17000000000", &lim, LE_DEC_BAD_VALUE, "bad ts");    /* 11 */
    expect("e=pv&ts=170000000012", &lim, LE_DEC_BAD_VALUE, "bad ts");   /* 12 */
    expect("e=pv&ts=17000000001234", &lim, LE_DEC_BAD_VALUE, "bad ts"); /* 14 */
    expect("e=pv&ts=-170000000", &lim, LE_DEC_BAD_VALUE, "bad ts");
    expect("e=pv&ts=+170000000", &lim, LE_DEC_BAD_VALUE, "bad ts");
    expect("e=pv&ts=1.70000000", &lim, LE_DEC_BAD_VALUE, "bad ts");
    expect("e=pv&ts=1e12000000", &lim, LE_DEC_BAD_VALUE, "bad ts");
    expect("e=pv&ts=%201700000000", &lim, LE_DEC_BAD_VALUE, "bad ts");
}

static void test_vid(void **state) {
    expect("e=pv&vid=", &lim, LE_DEC_OK, "ok");
    expect("e=pv&vid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &lim,
           LE_DEC_OK, "ok"); /* 64 */
    le_event_limits_t big = {.max_props = 4, .max_value_len = 1024};
    expect("e=pv&vid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &big,
           LE_DEC_BAD_VALUE, "bad vid"); /* 65 */
    expect("e=pv&vid=abc.def", &lim, LE_DEC_BAD_VALUE, "bad vid");
    expect("e=pv&vid=abc%3Bdef", &lim, LE_DEC_BAD_VALUE, "bad vid");
    expect("e=pv&vid=a+b", &lim, LE_DEC_BAD_VALUE, "bad vid");
    expect("e=pv&vid=%C3%A9", &lim, LE_DEC_BAD_VALUE, "bad vid");
}

static void test_lengths_and_props(void **state) {
    le_event_limits_t small = {.max_props = 2, .max_value_len = 8};
    expect("e=pv&url=12345678", &small, LE_DEC_OK, "ok");
    expect("e=pv&url=123456789", &small, LE_DEC_TOO_LONG, "url too long");
    expect("e=pv&url=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9", &small, LE_DEC_TOO_LONG, "url too long");
    expect("e=pv&ref=123456789", &small, LE_DEC_TOO_LONG, "ref too long");
    expect("e=pv&t=123456789", &small, LE_DEC_TOO_LONG, "title too long");
    expect("e=pv&vid=123456789", &small, LE_DEC_TOO_LONG, "vid too long");
    expect("e=pv&p.a=123456789", &small, LE_DEC_TOO_LONG, "prop too long");
    expect("e=pv&p.a=1&p.b=2", &small, LE_DEC_OK, "ok");
    expect("e=pv&p.a=1&p.b=2&p.c=3", &small, LE_DEC_TOO_MANY, "too many props");
    expect("e=pv&p.a=1&p.b=2&p.a=3", &small, LE_DEC_OK, "ok"); /* a repeat is not a new prop */
    expect("e=pv&p.=1", &small, LE_DEC_BAD_VALUE, "bad prop name");
    expect("e=pv&p.a%20b=1", &small, LE_DEC_BAD_VALUE, "bad prop name");
    expect("e=pv&p.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", &small,
           LE_DEC_BAD_VALUE, "bad prop name");
    expect("e=pv&px=1&p=2&P.a=3", &small, LE_DEC_OK, "ok"); /* not props: ignored */
    le_event_limits_t none = {.max_props = 0, .max_value_len = 8};
    expect("e=pv&p.a=1", &none, LE_DEC_TOO_MANY, "too many props");

    /* Ten thousand props against a bound of 4. */
    size_t cap = 10000 * 12 + 8;
    char *q = malloc(cap);
    size_t n = (size_t)snprintf(q, cap, "e=pv");
    for (int i = 0; i < 10000; i++) n += (size_t)snprintf(q + n, cap - n, "&p.k%d=1", i);
    le_kvlist_t params;
    assert_int_equal(le_urlencoded_parse(&arena, q, n, 20000, 64, false, &params), LE_DEC_OK);
    le_event_t ev = {.nprops = 0};
    const char *why;
    assert_int_equal(le_event_from_params(&params, &lim, &arena, &ev, &why), LE_DEC_TOO_MANY);
    assert_string_equal(why, "too many props");
    free(q);
}

static void test_from_json_event(void **state) {
    const char *body = "{\"e\":\"cta_click\",\"url\":\"https://a.example/\",\"ts\":1700000000,"
                       "\"p\":{\"id\":\"hero\",\"n\":3}}";
    le_kvlist_t *evs;
    uint32_t n;
    assert_int_equal(le_json_events_parse(&arena, body, strlen(body), 10, 32, 256, &evs, &n),
                     LE_DEC_OK);
    assert_int_equal(n, 1);
    le_event_t ev = {.time_ms = 5};
    assert_int_equal(le_event_from_params(&evs[0], &lim, &arena, &ev, NULL), LE_DEC_OK);
    assert_int_equal(ev.type, LE_EV_EVENT);
    assert_str(ev.name, "cta_click");
    assert_str(ev.url, "https://a.example/");
    assert_int_equal(ev.client_ts_ms, 1700000000000LL);
    assert_int_equal(ev.nprops, 2);
    assert_str(ev.props[0].key, "id");
    assert_str(ev.props[0].val, "hero");
    assert_str(ev.props[1].key, "n");
    assert_str(ev.props[1].val, "3");
    assert_int_equal(ev.time_ms, 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pageview, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_event_and_props, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lengths_and_props, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_json_event, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
