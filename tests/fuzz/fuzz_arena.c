/*
 * fuzz_arena.c: a drop-in le_arena_t for fuzz drivers and their replays in
 * which every allocation is its own malloc of exactly the size asked for.
 *
 * The real arena (common/arena.c) bumps through 8 KiB blocks, so a decoder
 * writing one byte past what it allocated lands in the next allocation and
 * AddressSanitizer cannot see it. Linked instead of arena.c, this version
 * puts a redzone after every allocation. It is slow and wasteful, which is
 * fine for fuzzing and never used elsewhere. Same contract as arena.h.
 */
#include "arena.h"

#include <stdlib.h>

/* One allocation: a header the size of the alignment, then the caller's bytes. */
struct le_arena_block_s {
    le_arena_block_t *next;
    _Alignas(16) char data[];
};

void le_arena_init(le_arena_t *a, void *buf, size_t cap) {
    memset(a, 0, sizeof(*a));
}

void *le_arena_alloc(le_arena_t *a, size_t n) {
    le_arena_block_t *b = le_xmalloc(sizeof(*b) + n);
    b->next = a->blocks;
    a->blocks = b;
    a->total += n;
    return b->data;
}

void *le_arena_calloc(le_arena_t *a, size_t n) {
    void *p = le_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *le_arena_strndup(le_arena_t *a, const char *s, size_t n) {
    char *p = le_arena_alloc(a, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void le_arena_reset(le_arena_t *a) {
    le_arena_block_t *b = a->blocks;
    while (b) {
        le_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->blocks = NULL;
    a->total = 0;
}

void le_arena_free(le_arena_t *a) {
    le_arena_reset(a);
}
