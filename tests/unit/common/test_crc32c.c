/*
 * test_crc32c.c: CRC-32C against its published check value and against a
 * bit-at-a-time reference, for both the table and the SSE4.2 code paths.
 *
 * crc32c.c picks one path by CPU at run time and keeps both static, so this
 * file includes the source to call each directly. Random buffers use odd
 * lengths and every alignment, so the 8-byte loop, the byte tail and
 * unaligned loads are all exercised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crc32c.c"

/* The definition, one bit at a time: reflected polynomial 0x82F63B78. */
static uint32_t crc_ref(uint32_t crc, const unsigned char *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static uint32_t sw(uint32_t crc, const void *p, size_t n) {
    return ~crc_sw(~crc, p, n);
}

static int hw_available(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
#else
    return 0;
#endif
}

static void test_check_value(void **state) {
    (void)state;
    assert_int_equal(le_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc_ref(0, (const unsigned char *)"123456789", 9), 0xE3069283u);
    assert_int_equal(le_crc32c(0, "abc", 3), 0x364B3FB7u);
    assert_int_equal(le_crc32c(0, "", 0), 0);
    /* 32 bytes of zeros and of 0xff: the iSCSI test vectors (RFC 3720 B.4). */
    unsigned char z[32] = {0}, f[32];
    memset(f, 0xff, sizeof(f));
    assert_int_equal(le_crc32c(0, z, sizeof(z)), 0x8A9136AAu);
    assert_int_equal(le_crc32c(0, f, sizeof(f)), 0x62A8AB43u);
}

static void test_paths_agree_on_random_buffers(void **state) {
    (void)state;
    enum { MAX = 4099 };
    unsigned char *buf = malloc(MAX + 8);
    srand(12345);
    for (size_t i = 0; i < MAX + 8; i++) buf[i] = (unsigned char)rand();
    int have_hw = hw_available();
    for (size_t n = 1; n <= MAX; n += 2 + (n > 100 ? 60 : 0)) {
        for (size_t align = 0; align < 8; align++) {
            const unsigned char *p = buf + align;
            uint32_t want = crc_ref(0, p, n);
            assert_int_equal(sw(0, p, n), want);
            assert_int_equal(le_crc32c(0, p, n), want);
#if defined(__x86_64__) && defined(__GNUC__)
            if (have_hw) assert_int_equal(~crc_hw(~0u, p, n), want);
#endif
        }
    }
    if (!have_hw) print_message("no SSE4.2 here: only the table path was compared\n");
    free(buf);
}

static void test_incremental_equals_one_shot(void **state) {
    (void)state;
    unsigned char buf[1001];
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (unsigned char)(i * 131 + 7);
    uint32_t whole = le_crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 37) {
        uint32_t c = le_crc32c(0, buf, cut);
        assert_int_equal(le_crc32c(c, buf + cut, sizeof(buf) - cut), whole);
        assert_int_equal(sw(sw(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_paths_agree_on_random_buffers),
        cmocka_unit_test(test_incremental_equals_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
