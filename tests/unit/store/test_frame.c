/*
 * test_frame.c: the record frame, byte by byte: header layout, round trip,
 * and each way a frame can be torn or corrupt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

static void test_header_layout(void **state) {
    (void)state;
    uint8_t hdr[LE_FRAME_HDR];
    le_frame_header(hdr, "abc", 3);
    /* Length 3 LE, then CRC-32C("abc") = 0x364B3FB7 LE. */
    const uint8_t want[LE_FRAME_HDR] = {3, 0, 0, 0, 0xb7, 0x3f, 0x4b, 0x36};
    assert_memory_equal(hdr, want, sizeof(want));
}

static size_t make(uint8_t *out, const void *payload, uint32_t n) {
    le_frame_header(out, payload, n);
    memcpy(out + LE_FRAME_HDR, payload, n);
    return LE_FRAME_HDR + n;
}

static void test_round_trip(void **state) {
    (void)state;
    uint8_t buf[600];
    char payload[300];
    for (size_t i = 0; i < sizeof(payload); i++) payload[i] = (char)(i * 7);
    size_t n1 = make(buf, payload, sizeof(payload));
    size_t n2 = make(buf + n1, "x", 1);

    const uint8_t *p;
    uint32_t len;
    /* Two frames back to back, with trailing bytes after the first. */
    assert_int_equal(le_frame_parse(buf, n1 + n2, &p, &len), LE_FRAME_OK);
    assert_int_equal(len, sizeof(payload));
    assert_ptr_equal(p, buf + LE_FRAME_HDR);
    assert_memory_equal(p, payload, sizeof(payload));
    assert_int_equal(le_frame_parse(buf + n1, n2, &p, &len), LE_FRAME_OK);
    assert_int_equal(len, 1);
    assert_int_equal(p[0], 'x');
}

static void test_short(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t n = make(buf, "hello, frame", 12);
    const uint8_t *p;
    uint32_t len;
    for (size_t avail = 0; avail < n; avail++)
        assert_int_equal(le_frame_parse(buf, avail, &p, &len), LE_FRAME_SHORT);
    assert_int_equal(le_frame_parse(buf, n, &p, &len), LE_FRAME_OK);
}

static void test_bad_crc(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t n = make(buf, "hello, frame", 12);
    const uint8_t *p;
    uint32_t len;
    for (size_t i = 4; i < n; i++) { /* every bit of the CRC and the payload */
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(le_frame_parse(buf, n, &p, &len), LE_FRAME_BAD);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* A length off by one: the checksum covers the wrong bytes. */
    uint8_t longer[65];
    memcpy(longer, buf, n);
    longer[n] = 0;
    longer[0] = 13;
    assert_int_equal(le_frame_parse(longer, n + 1, &p, &len), LE_FRAME_BAD);
}

static void test_zero_and_oversize(void **state) {
    (void)state;
    const uint8_t *p;
    uint32_t len;
    uint8_t zero[16] = {0};
    assert_int_equal(le_frame_parse(zero, sizeof(zero), &p, &len), LE_FRAME_BAD);

    uint8_t big[16] = {0};
    uint32_t n = LE_FRAME_MAX + 1;
    big[0] = (uint8_t)n;
    big[1] = (uint8_t)(n >> 8);
    big[2] = (uint8_t)(n >> 16);
    big[3] = (uint8_t)(n >> 24);
    /* Known bad from the header alone: no need to wait for 16 MiB. */
    assert_int_equal(le_frame_parse(big, sizeof(big), &p, &len), LE_FRAME_BAD);
    big[0] = 0xff;
    big[1] = big[2] = big[3] = 0xff;
    assert_int_equal(le_frame_parse(big, sizeof(big), &p, &len), LE_FRAME_BAD);

    /* Exactly LE_FRAME_MAX is legal: with fewer bytes it is merely short. */
    n = LE_FRAME_MAX;
    big[0] = (uint8_t)n;
    big[1] = (uint8_t)(n >> 8);
    big[2] = (uint8_t)(n >> 16);
    big[3] = (uint8_t)(n >> 24);
    assert_int_equal(le_frame_parse(big, sizeof(big), &p, &len), LE_FRAME_SHORT);
}

static void test_max_size_frame(void **state) {
    (void)state;
    uint8_t *buf = malloc(LE_FRAME_HDR + LE_FRAME_MAX);
    memset(buf + LE_FRAME_HDR, 0xa5, LE_FRAME_MAX);
    le_frame_header(buf, buf + LE_FRAME_HDR, LE_FRAME_MAX);
    const uint8_t *p;
    uint32_t len;
    assert_int_equal(le_frame_parse(buf, LE_FRAME_HDR + LE_FRAME_MAX, &p, &len), LE_FRAME_OK);
    assert_int_equal(len, LE_FRAME_MAX);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_bad_crc),
        cmocka_unit_test(test_zero_and_oversize),
        cmocka_unit_test(test_max_size_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
