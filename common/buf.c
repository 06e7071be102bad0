/*
 * buf.c: growable byte buffer.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void le_buf_reserve(le_buf_t *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = le_xrealloc(b->data, cap);
    b->cap = cap;
}

void le_buf_append(le_buf_t *b, const void *p, size_t n) {
    if (n == 0) return;
    le_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void le_buf_printf(le_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    le_buf_reserve(b, 64);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= b->cap - b->len) {
        le_buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void le_buf_consume(le_buf_t *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void le_buf_free(le_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *le_buf_cstr(le_buf_t *b) {
    le_buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return b->data;
}
