/*
 * arena.h: a bump allocator that a request owns and frees in one go.
 *
 * The arena starts in a caller-provided buffer (usually embedded in the
 * connection) and chains heap blocks when that is exhausted. Reset drops
 * every allocation and returns to the first buffer; free releases the heap
 * blocks. Handlers allocate from it and never free individual objects.
 */
#ifndef LE_ARENA_H
#define LE_ARENA_H

#include "le.h"

typedef struct le_arena_block_s le_arena_block_t;

typedef struct {
    char *base; /* current block's memory */
    size_t cap;
    size_t used;
    char *first; /* caller-provided first block */
    size_t first_cap;
    le_arena_block_t *blocks; /* heap blocks, newest first */
    size_t total;             /* bytes handed out since the last reset */
} le_arena_t;

void le_arena_init(le_arena_t *a, void *buf, size_t cap);
/* Returns n bytes aligned to 16; never NULL. */
void *le_arena_alloc(le_arena_t *a, size_t n);
void *le_arena_calloc(le_arena_t *a, size_t n);
/* Copy of s[0..n) with a terminating NUL. */
char *le_arena_strndup(le_arena_t *a, const char *s, size_t n);
void le_arena_reset(le_arena_t *a);
void le_arena_free(le_arena_t *a);

#endif
