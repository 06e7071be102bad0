/*
 * buf.h: a growable byte buffer (response output, encoders).
 */
#ifndef LE_BUF_H
#define LE_BUF_H

#include "le.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} le_buf_t;

#define LE_BUF_INIT                                                                                \
    { NULL, 0, 0 }

void le_buf_reserve(le_buf_t *b, size_t extra);
void le_buf_append(le_buf_t *b, const void *p, size_t n);
static inline void le_buf_puts(le_buf_t *b, const char *s) {
    le_buf_append(b, s, strlen(s));
}
static inline void le_buf_putstr(le_buf_t *b, le_str_t s) {
    le_buf_append(b, s.ptr, s.len);
}
void le_buf_printf(le_buf_t *b, const char *fmt, ...) LE_PRINTF(2, 3);
/* Keep the memory, drop the contents. */
static inline void le_buf_reset(le_buf_t *b) {
    b->len = 0;
}
/* Drop the first n bytes. */
void le_buf_consume(le_buf_t *b, size_t n);
void le_buf_free(le_buf_t *b);
/* NUL-terminate without counting the NUL in len; returns data. */
char *le_buf_cstr(le_buf_t *b);

#endif
