/*
 * test_hex.c: le_hex (common/le.c), whose 16-bytes-at-a-time path writes every lead id, against
 * snprintf("%02x") for every length up to 70 bytes and every byte value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "le.h"

static void test_hex_like_printf(void **state) {
    (void)state;
    unsigned char in[70];
    for (unsigned round = 0; round < 256; round++) {
        for (size_t i = 0; i < sizeof(in); i++) in[i] = (unsigned char)(round * 7 + i * 31);
        in[round % sizeof(in)] = (unsigned char)round; /* each byte value somewhere */
        for (size_t n = 0; n <= sizeof(in); n++) {
            char got[2 * sizeof(in) + 2], want[2 * sizeof(in) + 2];
            memset(got, 'x', sizeof(got));
            for (size_t i = 0; i < n; i++) snprintf(want + 2 * i, 3, "%02x", in[i]);
            want[2 * n] = '\0';
            le_hex(got, in, n);
            assert_string_equal(got, want);
            assert_int_equal(got[2 * n + 1], 'x'); /* nothing written past the NUL */
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_like_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
