/*
 * le.h: the few things every leadedge module shares.
 *
 * A string view (le_str_t), allocation that aborts on failure (callers never
 * check for NULL), container_of, and the project's error codes. Error
 * convention: 0 is success, a negative value is failure: -errno for system
 * calls, LE_E* for the project's own conditions.
 */
#ifndef LE_H
#define LE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed byte string; not NUL-terminated unless the producer says so. */
typedef struct {
    const char *ptr;
    size_t len;
} le_str_t;

/* A key/value pair of borrowed strings (query params, form fields, props). */
typedef struct {
    le_str_t key;
    le_str_t val;
} le_kv_t;

#define LE_STR(lit) ((le_str_t){(lit), sizeof(lit) - 1})
#define LE_STR_NULL ((le_str_t){NULL, 0})
#define LE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define le_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define LE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LE_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define LE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LE_NORETURN __attribute__((noreturn))
#define LE_LIKELY(x) __builtin_expect(!!(x), 1)
#define LE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LE_PRINTF(f, a)
#define LE_NORETURN
#define LE_LIKELY(x) (x)
#define LE_UNLIKELY(x) (x)
#endif

/* Project error codes; kept far away from errno values. */
enum {
    LE_EINVAL = -10001,   /* malformed input */
    LE_ETOOBIG = -10002,  /* a configured bound was exceeded */
    LE_ECORRUPT = -10003, /* stored data failed its integrity check */
    LE_EFULL = -10004,    /* a bounded queue or buffer is full */
};

/* Allocation: abort with file and line when memory is exhausted. */
void *le__xmalloc(size_t n, const char *file, int line);
void *le__xcalloc(size_t n, size_t size, const char *file, int line);
void *le__xrealloc(void *p, size_t n, const char *file, int line);
char *le__xstrndup(const char *s, size_t n, const char *file, int line);
/* n bytes aligned to align (a power of two, a multiple of sizeof(void *)); free() releases. */
void *le__xaligned(size_t align, size_t n, const char *file, int line);
#define le_xmalloc(n) le__xmalloc((n), __FILE__, __LINE__)
#define le_xcalloc(n, s) le__xcalloc((n), (s), __FILE__, __LINE__)
#define le_xrealloc(p, n) le__xrealloc((p), (n), __FILE__, __LINE__)
#define le_xaligned(al, n) le__xaligned((al), (n), __FILE__, __LINE__)
#define le_xstrndup(s, n) le__xstrndup((s), (n), __FILE__, __LINE__)
#define le_xstrdup(s) le__xstrndup((s), strlen(s), __FILE__, __LINE__)

static inline le_str_t le_str(const char *s) {
    return (le_str_t){s, s ? strlen(s) : 0};
}

static inline bool le_str_eq(le_str_t a, const char *lit) {
    size_t n = strlen(lit);
    return a.len == n && memcmp(a.ptr, lit, n) == 0;
}

/* ASCII case-insensitive comparison with a NUL-terminated literal. */
static inline bool le_str_ieq(le_str_t a, const char *lit) {
    /* inline, so that the length of a literal is known at compile time and most calls end at
     * the length check (header names, media types) */
    size_t n = strlen(lit);
    if (a.len != n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)lit[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return false;
    }
    return true;
}

/* Current wall-clock time in milliseconds since the Unix epoch. */
int64_t le_now_ms(void);

/* Room for le_time_rfc3339's text, NUL included. */
#define LE_TIME_SIZE 32

/* ms since the Unix epoch as RFC 3339 UTC with milliseconds ("2026-11-26T17:26:01.123Z") into
 * out; false (out empty) when the year is outside 0..9999. */
bool le_time_rfc3339(int64_t ms, char out[LE_TIME_SIZE]);

/* Fill buf with n cryptographically random bytes (getrandom); aborts on failure. */
void le_random(void *buf, size_t n);

/* A 64-bit hash of n bytes for hash tables (FNV-1a with a final mix, so the low bits index
 * well). Not for anything an attacker must not predict. */
uint64_t le_hash(const void *p, size_t n);

/* A malloc'd string formatted like printf (the caller frees it); aborts when memory is out. */
char *le_strf(const char *fmt, ...) LE_PRINTF(1, 2);

/* The value of hex digit c (either case), -1 for any other byte. */
extern const signed char le__hexval[256]; /* value + 1; 0 for "not hex" */
static inline int le_hexval(char c) {
    return le__hexval[(unsigned char)c] - 1;
}

/* Lowercase hex of n bytes into out (2n chars plus NUL). */
void le_hex(char *out, const void *bytes, size_t n);

/*
 * Name a background thread (the event-log writer, the scorer) and give it the SCHED_BATCH
 * policy: it still gets its fair share of the CPU, but its wake-ups no longer preempt an
 * event loop in the middle of its requests. On a core shared with a busy worker that means a
 * few hundred context switches a second fewer, and requests not waiting behind a background
 * batch that could as well run a few milliseconds later. Failure to set the policy is
 * harmless and ignored.
 */
void le_thread_background(pthread_t t, const char *name);

#endif
