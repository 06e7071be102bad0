/*
 * test_buf.c: the growable byte buffer: append, printf (short and past the
 * first reserve), consume, cstr, reset and free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_and_grow(void **state) {
    (void)state;
    le_buf_t b = LE_BUF_INIT;
    le_buf_append(&b, "", 0);
    assert_int_equal(b.len, 0);
    for (int i = 0; i < 1000; i++) le_buf_append(&b, "abc", 3);
    assert_int_equal(b.len, 3000);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.data + 2997, "abc", 3);
    le_buf_puts(&b, "!");
    le_buf_putstr(&b, LE_STR("?"));
    assert_int_equal(b.len, 3002);
    le_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

static void test_printf(void **state) {
    (void)state;
    le_buf_t b = LE_BUF_INIT;
    le_buf_printf(&b, "%d-%s", 42, "x");
    assert_int_equal(b.len, 4);
    assert_string_equal(le_buf_cstr(&b), "42-x");
    assert_int_equal(b.len, 4); /* the NUL is not counted */

    /* Longer than the 64-byte reserve: the second vsnprintf path. */
    char big[500];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    le_buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 4 + 2 + 499);
    assert_int_equal(b.data[4], '[');
    assert_int_equal(b.data[4 + 1 + 499], ']');
    assert_int_equal(strlen(le_buf_cstr(&b)), b.len);
    le_buf_free(&b);
}

static void test_consume_and_reset(void **state) {
    (void)state;
    le_buf_t b = LE_BUF_INIT;
    le_buf_puts(&b, "hello world");
    le_buf_consume(&b, 6);
    assert_int_equal(b.len, 5);
    assert_string_equal(le_buf_cstr(&b), "world");
    le_buf_consume(&b, 99);
    assert_int_equal(b.len, 0);
    size_t cap = b.cap;
    le_buf_puts(&b, "x");
    le_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap); /* memory kept */
    assert_string_equal(le_buf_cstr(&b), "");
    le_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_consume_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
