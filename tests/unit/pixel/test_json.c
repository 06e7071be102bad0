/*
 * test_json.c: forms posted as JSON and beacon event bodies (one object or
 * a batch), including the shapes and bytes that must be refused.
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

static int setup(void **state) {
    le_arena_init(&arena, NULL, 0);
    return 0;
}

static int teardown(void **state) {
    le_arena_free(&arena);
    return 0;
}

static void assert_kv(const le_kvlist_t *l, uint32_t i, const char *k, const char *v) {
    if (i >= l->n) fail_msg("index %u past %u", i, l->n);
    assert_int_equal(l->kv[i].key.len, strlen(k));
    assert_string_equal(l->kv[i].key.ptr, k);
    assert_int_equal(l->kv[i].val.len, strlen(v));
    assert_string_equal(l->kv[i].val.ptr, v);
}

static le_kvlist_t jform(const char *body, uint32_t max_fields, uint32_t max_value,
                         le_dec_err_t want) {
    le_kvlist_t l = {(le_kv_t *)1, 99};
    le_dec_err_t rc = le_json_form_parse(&arena, body, strlen(body), max_fields, max_value, &l);
    if (rc != want)
        fail_msg("%s: got %s, want %s", body, le_dec_strerror(rc), le_dec_strerror(want));
    if (rc != LE_DEC_OK) assert_int_equal(l.n, 0);
    return l;
}

static void test_form_scalars(void **state) {
    le_kvlist_t l =
        jform("{\"email\":\"a@example.com\",\"n\":42,\"neg\":-7,\"big\":9007199254740993,"
              "\"r\":0.1,\"e\":1e21,\"third\":0.3333333333333333,\"ok\":true,"
              "\"no\":false,\"skip\":null,\"msg\":\"l1\\r\\nl2\\tx\",\"u\":\"\\u00e9\"}",
              32, 256, LE_DEC_OK);
    assert_int_equal(l.n, 11);
    assert_kv(&l, 0, "email", "a@example.com");
    assert_kv(&l, 1, "n", "42");
    assert_kv(&l, 2, "neg", "-7");
    assert_kv(&l, 3, "big", "9007199254740993");
    assert_kv(&l, 4, "r", "0.1");
    assert_kv(&l, 5, "e", "1e+21");
    assert_kv(&l, 6, "third", "0.3333333333333333");
    assert_kv(&l, 7, "ok", "true");
    assert_kv(&l, 8, "no", "false");
    assert_kv(&l, 9, "msg", "l1\r\nl2\tx");
    assert_kv(&l, 10, "u", "\xc3\xa9");

    l = jform("{}", 32, 256, LE_DEC_OK);
    assert_int_equal(l.n, 0);
    l = jform(" { \"a\" : \"\" } \n", 32, 256, LE_DEC_OK);
    assert_kv(&l, 0, "a", "");
}

static void test_form_refused(void **state) {
    jform("", 32, 256, LE_DEC_BAD_JSON);
    jform("{", 32, 256, LE_DEC_BAD_JSON);
    jform("{\"a\":1} x", 32, 256, LE_DEC_BAD_JSON); /* trailing bytes */
    jform("[{\"a\":1}]", 32, 256, LE_DEC_BAD_JSON);
    jform("\"a\"", 32, 256, LE_DEC_BAD_JSON);
    jform("{\"a\":{\"b\":1}}", 32, 256, LE_DEC_BAD_JSON);
    jform("{\"a\":[1]}", 32, 256, LE_DEC_BAD_JSON);
    jform("{\"a\":1,\"a\":2}", 32, 256, LE_DEC_BAD_JSON);
    jform("{\"a\":1e999}", 32, 256, LE_DEC_BAD_JSON);
    jform("{\"a\":99999999999999999999}", 32, 256, LE_DEC_BAD_JSON);
    jform("{\"a\":\"\\u0000\"}", 32, 256, LE_DEC_CONTROL);
    jform("{\"a\\u0000\":\"x\"}", 32, 256, LE_DEC_CONTROL);
    jform("{\"a\":\"\\u0001\"}", 32, 256, LE_DEC_CONTROL);
    jform("{\"a\":\"\\u007f\"}", 32, 256, LE_DEC_CONTROL);
    jform("{\"a\\nb\":\"x\"}", 32, 256, LE_DEC_CONTROL); /* no newline in a key */
    jform("{\"a\":\"\xc0\xaf\"}", 32, 256, LE_DEC_BAD_UTF8);
    jform("{\"a\":\"\xed\xa0\x80\"}", 32, 256, LE_DEC_BAD_UTF8);
    jform("{\"a\":\"\\ud800\"}", 32, 256, LE_DEC_BAD_JSON); /* lone surrogate escape */
    jform("{\"a\":1,\"b\":2,\"c\":3}", 2, 256, LE_DEC_TOO_MANY);
    le_kvlist_t l = jform("{\"a\":1,\"b\":null,\"c\":3}", 2, 256, LE_DEC_OK); /* null not counted */
    assert_int_equal(l.n, 2);
    jform("{\"a\":\"12345\"}", 4, 5, LE_DEC_OK);
    jform("{\"a\":\"123456\"}", 4, 5, LE_DEC_TOO_LONG);
    jform("{\"abcdef\":\"1\"}", 4, 5, LE_DEC_TOO_LONG);
    jform("{\"a\":123456}", 4, 5, LE_DEC_TOO_LONG);
    jform("{\"a\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}", 4, 5, LE_DEC_TOO_LONG); /* bytes, not chars */

    le_kvlist_t out;
    const char nul[] = "{\"a\":\"x\0\"}";
    assert_int_equal(le_json_form_parse(&arena, nul, sizeof(nul) - 1, 4, 64, &out),
                     LE_DEC_BAD_JSON);
    assert_int_equal(le_json_form_parse(&arena, NULL, 0, 4, 64, &out), LE_DEC_BAD_JSON);
}

static void test_form_deep_nesting(void **state) {
    /* jansson bounds nesting; a deep document must fail cleanly, not overflow the stack. */
    size_t depth = 100000;
    char *s = malloc(depth * 2 + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[depth * 2] = '\0';
    jform(s, 32, 256, LE_DEC_BAD_JSON);
    free(s);
}

typedef struct {
    le_kvlist_t *ev;
    uint32_t n;
    le_dec_err_t *errs;
} batch_t;

static batch_t events(const char *body, uint32_t max_batch, uint32_t max_params, uint32_t max_value,
                      le_dec_err_t want) {
    batch_t b = {(le_kvlist_t *)1, 99, (le_dec_err_t *)1};
    le_dec_err_t rc = le_json_events_parse_ex(&arena, body, strlen(body), max_batch, max_params,
                                              max_value, &b.ev, &b.n, &b.errs);
    if (rc != want)
        fail_msg("%s: got %s, want %s", body, le_dec_strerror(rc), le_dec_strerror(want));
    if (rc != LE_DEC_OK) {
        assert_null(b.ev);
        assert_int_equal(b.n, 0);
        assert_null(b.errs);
    }
    return b;
}

static void test_events_single(void **state) {
    batch_t b = events("{\"e\":\"signup\",\"url\":\"https://a.example/x\",\"ts\":1700000000123,"
                       "\"consent\":true,\"p\":{\"plan\":\"pro\",\"seats\":5,\"gone\":null},"
                       "\"p.src\":\"ad\"}",
                       20, 32, 256, LE_DEC_OK);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.errs[0], LE_DEC_OK);
    le_kvlist_t *l = &b.ev[0];
    assert_int_equal(l->n, 7);
    assert_kv(l, 0, "e", "signup");
    assert_kv(l, 1, "url", "https://a.example/x");
    assert_kv(l, 2, "ts", "1700000000123");
    assert_kv(l, 3, "consent", "true");
    assert_kv(l, 4, "p.plan", "pro");
    assert_kv(l, 5, "p.seats", "5");
    assert_kv(l, 6, "p.src", "ad");

    b = events("{\"e\":\"pv\",\"props\":{\"a\":\"1\"}}", 20, 32, 256, LE_DEC_OK);
    assert_kv(&b.ev[0], 1, "p.a", "1");
    b = events("{\"e\":\"pv\",\"p\":null}", 20, 32, 256, LE_DEC_OK);
    assert_int_equal(b.ev[0].n, 1);
    /* Only nulls: an empty, well-formed list (found by the fuzzer: UB on a NULL array). */
    b = events("[{\"e\":null},{\"p\":{\"a\":null}}]", 20, 32, 256, LE_DEC_OK);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.ev[0].n, 0);
    assert_int_equal(b.errs[0], LE_DEC_OK);
    assert_int_equal(b.ev[1].n, 0);
    assert_int_equal(b.errs[1], LE_DEC_OK);
}

static void test_events_batch(void **state) {
    batch_t b = events("[{\"e\":\"pv\"},{\"e\":\"click\",\"p\":{\"id\":\"b1\"}},7,\"x\",null,[],"
                       "{\"e\":\"a\",\"p\":{\"deep\":{}}},{\"e\":\"b\",\"p\":[1]},{\"e\":[]},"
                       "{\"e\":\"c\",\"t\":\"a\\nb\"},{}]",
                       20, 32, 256, LE_DEC_OK);
    assert_int_equal(b.n, 11);
    assert_int_equal(b.ev[0].n, 1);
    assert_kv(&b.ev[0], 0, "e", "pv");
    assert_int_equal(b.errs[0], LE_DEC_OK);
    assert_kv(&b.ev[1], 1, "p.id", "b1");
    for (int i = 2; i <= 8; i++) {
        if (b.ev[i].n != 0 || b.errs[i] != LE_DEC_BAD_JSON) fail_msg("element %d", i);
    }
    assert_int_equal(b.ev[9].n, 0);
    assert_int_equal(b.errs[9], LE_DEC_CONTROL); /* no newlines in event params */
    assert_int_equal(b.ev[10].n, 0);
    assert_int_equal(b.errs[10], LE_DEC_OK); /* empty but well-formed: the caller finds no e */

    b = events("[]", 20, 32, 256, LE_DEC_OK);
    assert_int_equal(b.n, 0);

    /* The plain variant gives the same lists. */
    le_kvlist_t *ev;
    uint32_t n;
    const char *body = "[{\"e\":\"pv\"},1]";
    assert_int_equal(le_json_events_parse(&arena, body, strlen(body), 2, 8, 64, &ev, &n),
                     LE_DEC_OK);
    assert_int_equal(n, 2);
    assert_kv(&ev[0], 0, "e", "pv");
    assert_int_equal(ev[1].n, 0);
}

static void test_events_limits(void **state) {
    events("[{},{},{}]", 3, 32, 256, LE_DEC_OK);
    events("[{},{},{},{}]", 3, 32, 256, LE_DEC_TOO_MANY);
    events("[{}]", 0, 32, 256, LE_DEC_TOO_MANY);
    events("{}", 0, 32, 256, LE_DEC_TOO_MANY); /* a lone object counts as a batch of one */
    events("{}", 1, 32, 256, LE_DEC_OK);
    batch_t b =
        events("[{\"e\":\"x\",\"p\":{\"a\":1,\"b\":2}},{\"e\":\"x\",\"p\":{\"a\":1,\"b\":null}}]",
               4, 2, 256, LE_DEC_OK);
    assert_int_equal(b.errs[0], LE_DEC_TOO_MANY);
    assert_int_equal(b.ev[0].n, 0);
    assert_int_equal(b.errs[1], LE_DEC_OK);
    assert_int_equal(b.ev[1].n, 2);
    b = events("[{\"e\":\"12345\"},{\"e\":\"123456\"},{\"p\":{\"abc\":1}},{\"p\":{\"abcd\":1}}]", 4,
               8, 5, LE_DEC_OK);
    assert_int_equal(b.errs[0], LE_DEC_OK);
    assert_int_equal(b.errs[1], LE_DEC_TOO_LONG);
    assert_int_equal(b.errs[2], LE_DEC_OK); /* "p.abc" is 5 bytes */
    assert_kv(&b.ev[2], 0, "p.abc", "1");
    assert_int_equal(b.errs[3], LE_DEC_TOO_LONG);
}

static void test_events_refused_whole(void **state) {
    events("", 20, 32, 256, LE_DEC_BAD_JSON);
    events("not json", 20, 32, 256, LE_DEC_BAD_JSON);
    events("[{\"e\":\"pv\"}", 20, 32, 256, LE_DEC_BAD_JSON);
    events("\"pv\"", 20, 32, 256, LE_DEC_BAD_JSON);
    events("42", 20, 32, 256, LE_DEC_BAD_JSON);
    events("[{\"e\":\"\\u0000\"}]", 20, 32, 256, LE_DEC_CONTROL);
    events("[{\"e\":\"\xff\"}]", 20, 32, 256, LE_DEC_BAD_UTF8);
    events("{\"e\":\"pv\",\"e\":\"x\"}", 20, 32, 256, LE_DEC_BAD_JSON);
    events("[{\"e\":\"pv\",\"p\":{\"a\":1,\"a\":2}}]", 20, 32, 256, LE_DEC_BAD_JSON);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_form_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_refused_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
