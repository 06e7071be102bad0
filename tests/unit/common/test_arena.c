/*
 * test_arena.c: the request arena: alignment, first-buffer use, chaining to
 * heap blocks, large allocations, reset and free. ASan runs catch leaks and
 * overruns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arena.h"

static bool inside(const void *p, const void *base, size_t cap) {
    return (const char *)p >= (const char *)base && (const char *)p < (const char *)base + cap;
}

static void test_first_buffer_then_heap(void **state) {
    (void)state;
    char mem[1024];
    le_arena_t a;
    le_arena_init(&a, mem + 3, sizeof(mem) - 3); /* misaligned on purpose */

    char *p = le_arena_alloc(&a, 10);
    assert_true(inside(p, mem, sizeof(mem)));
    assert_int_equal((uintptr_t)p % 16, 0);
    memset(p, 'x', 10);

    char *q = le_arena_alloc(&a, 1);
    assert_int_equal((uintptr_t)q % 16, 0);
    assert_true(q >= p + 10);

    /* Past the first buffer: heap blocks, still aligned, contents kept. */
    char *prev[64];
    for (int i = 0; i < 64; i++) {
        prev[i] = le_arena_alloc(&a, 100);
        assert_int_equal((uintptr_t)prev[i] % 16, 0);
        memset(prev[i], i, 100);
    }
    assert_non_null(a.blocks);
    for (int i = 0; i < 64; i++) assert_int_equal((unsigned char)prev[i][99], i);
    assert_int_equal(p[9], 'x');

    le_arena_reset(&a);
    assert_null(a.blocks);
    assert_int_equal(a.total, 0);
    char *r = le_arena_alloc(&a, 10);
    assert_ptr_equal(r, p); /* back to the start of the first buffer */
    le_arena_free(&a);
}

static void test_large_and_zero(void **state) {
    (void)state;
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    char *big = le_arena_alloc(&a, 100000);
    memset(big, 1, 100000);
    char *z = le_arena_calloc(&a, 300);
    for (int i = 0; i < 300; i++) assert_int_equal(z[i], 0);
    assert_non_null(le_arena_alloc(&a, 0)); /* never NULL */
    assert_true(a.total >= 100000 + 300);
    le_arena_free(&a);
}

static void test_strndup(void **state) {
    (void)state;
    char mem[256];
    le_arena_t a;
    le_arena_init(&a, mem, sizeof(mem));
    char *s = le_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    char *e = le_arena_strndup(&a, NULL, 0);
    assert_string_equal(e, "");
    le_arena_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_buffer_then_heap),
        cmocka_unit_test(test_large_and_zero),
        cmocka_unit_test(test_strndup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
