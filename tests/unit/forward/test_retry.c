/*
 * test_retry.c: the retry policy (forward/retry.c): which answers are retried, the full-jitter
 * backoff bounds (no overflow at any attempt count), Retry-After in its three date forms and
 * as seconds, and what is not a Retry-After.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "retry.h"

static void test_classify(void **state) {
    (void)state;
    static const int done[] = {200, 201, 202, 204, 299};
    static const int again[] = {0, 408, 429, 500, 502, 503, 504, 507, 599};
    static const int dead[] = {100, 199, 300, 301, 304, 400, 401, 403, 404,
                               409, 410, 413, 422, 451, 499, 501, 505, 600};
    for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
        assert_int_equal(le_retry_classify(done[i]), LE_RETRY_DONE);
    for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++)
        assert_int_equal(le_retry_classify(again[i]), LE_RETRY_AGAIN);
    for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++)
        if (le_retry_classify(dead[i]) != LE_RETRY_DEAD) fail_msg("%d is not final", dead[i]);
}

static void test_backoff(void **state) {
    (void)state;
    const int64_t base = 1000, cap = 300000;
    /* the upper bound doubles per attempt until the cap, reached with rnd = bound */
    int64_t bound = base;
    for (uint32_t n = 1; n <= 12; n++) {
        assert_int_equal(le_retry_delay_ms(n, base, cap, (uint64_t)bound, -1), bound);
        assert_int_equal(le_retry_delay_ms(n, base, cap, (uint64_t)bound + 1, -1), 0);
        assert_true(le_retry_delay_ms(n, base, cap, UINT64_MAX, -1) <= bound);
        assert_int_equal(le_retry_delay_ms(n, base, cap, 0, -1), 0);
        bound = bound * 2 > cap ? cap : bound * 2;
    }
    /* any attempt count, any cap: bounded, no overflow */
    assert_true(le_retry_delay_ms(UINT32_MAX, base, cap, UINT64_MAX, -1) <= cap);
    assert_true(le_retry_delay_ms(64, base, INT64_MAX / 2, UINT64_MAX, -1) <= INT64_MAX / 2);
    /* jitter spreads: 1000 draws of a simple generator over [0, 8000] */
    uint64_t x = 88172645463325252ull;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t d = le_retry_delay_ms(4, base, cap, x, -1);
        assert_true(d >= 0 && d <= 8000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(lo < 800 && hi > 7200);
    /* Retry-After wins when later, but not past the cap */
    assert_int_equal(le_retry_delay_ms(1, base, cap, 0, 30000), 30000);
    assert_int_equal(le_retry_delay_ms(1, base, cap, 0, 3600000), cap);
    assert_int_equal(le_retry_delay_ms(5, base, cap, 16000, 10), 16000);
    /* nonsense settings stay sane */
    assert_int_equal(le_retry_delay_ms(3, 0, 0, UINT64_MAX, -1) <= 1, 1);
}

static void test_retry_after(void **state) {
    (void)state;
    const int64_t now = 1792562400000LL; /* 2026-10-21 06:00:00 GMT */
    assert_int_equal(le_retry_after_ms("120", now), 120000);
    assert_int_equal(le_retry_after_ms("0", now), 0);
    assert_int_equal(le_retry_after_ms(" 5\t", now), 5000);
    assert_int_equal(le_retry_after_ms("99999999999999", now), 999999999LL * 1000);
    /* 07:28:00 is 88 minutes later, in each of the three date forms */
    assert_int_equal(le_retry_after_ms("Wed, 21 Oct 2026 07:28:00 GMT", now), 88 * 60000);
    assert_int_equal(le_retry_after_ms("Wednesday, 21-Oct-26 07:28:00 GMT", now), 88 * 60000);
    assert_int_equal(le_retry_after_ms("Wed Oct 21 07:28:00 2026", now), 88 * 60000);
    assert_int_equal(le_retry_after_ms("Wed, 21 Oct 2026 05:00:00 GMT", now), 0); /* past */
    static const char *bad[] = {"",
                                " ",
                                "soon",
                                "-5",
                                "1.5",
                                "12abc",
                                "Wed, 21 Oct 2026",
                                "Wed, 21 Oct 2026 07:28:00 CET",
                                "Thu, 32 Oct 2026 07:28:00 GMT"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (le_retry_after_ms(bad[i], now) != -1) fail_msg("\"%s\" taken as a Retry-After", bad[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
