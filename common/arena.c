/*
 * arena.c: bump allocation over a caller buffer plus chained heap blocks.
 */
#include "arena.h"

#include <stdlib.h>

struct le_arena_block_s {
    le_arena_block_t *next;
    size_t cap;
    _Alignas(16) char data[];
};

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

void le_arena_init(le_arena_t *a, void *buf, size_t cap) {
    /* Align the caller's buffer start. */
    uintptr_t p = (uintptr_t)buf, q = (p + 15) & ~(uintptr_t)15;
    size_t skip = (size_t)(q - p);
    a->first = buf ? (char *)q : NULL;
    a->first_cap = buf && cap > skip ? cap - skip : 0;
    a->base = a->first;
    a->cap = a->first_cap;
    a->used = 0;
    a->blocks = NULL;
    a->total = 0;
}

void *le_arena_alloc(le_arena_t *a, size_t n) {
    n = ALIGN16(n ? n : 1);
    if (LE_UNLIKELY(a->used + n > a->cap)) {
        size_t cap = n > 8192 ? n : 8192;
        if (a->blocks && a->blocks->cap * 2 > cap && a->blocks->cap < (1u << 20))
            cap = a->blocks->cap * 2;
        le_arena_block_t *b = le_xmalloc(sizeof(*b) + cap);
        b->next = a->blocks;
        b->cap = cap;
        a->blocks = b;
        a->base = b->data;
        a->cap = cap;
        a->used = 0;
    }
    void *p = a->base + a->used;
    a->used += n;
    a->total += n;
    return p;
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

static void free_blocks(le_arena_t *a) {
    le_arena_block_t *b = a->blocks;
    while (b) {
        le_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->blocks = NULL;
}

void le_arena_reset(le_arena_t *a) {
    free_blocks(a);
    a->base = a->first;
    a->cap = a->first_cap;
    a->used = 0;
    a->total = 0;
}

void le_arena_free(le_arena_t *a) {
    le_arena_reset(a);
}
