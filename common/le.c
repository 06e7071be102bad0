/*
 * le.c: allocation that aborts, small string and time helpers.
 */
#include "le.h"

#include <errno.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

static LE_NORETURN void oom(size_t n, const char *file, int line) {
    fprintf(stderr, "leadedge: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *le__xmalloc(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n, file, line);
    return p;
}

void *le__xaligned(size_t align, size_t n, const char *file, int line) {
    void *p = NULL;
    if (posix_memalign(&p, align, n ? n : 1) != 0) oom(n, file, line);
    return p;
}

void *le__xcalloc(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size, file, line);
    return p;
}

void *le__xrealloc(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n, file, line);
    return q;
}

char *le__xstrndup(const char *s, size_t n, const char *file, int line) {
    char *p = le__xmalloc(n + 1, file, line);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int64_t le_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool le_time_rfc3339(int64_t ms, char out[LE_TIME_SIZE]) {
    int64_t s = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        s--;
    }
    time_t tt = (time_t)s;
    struct tm tm;
    out[0] = '\0';
    if (!gmtime_r(&tt, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) return false;
    size_t n = strftime(out, LE_TIME_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, LE_TIME_SIZE - n, ".%03uZ", (unsigned)frac % 1000u);
    return true;
}

void le_random(void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "leadedge: getrandom failed: %s\n", strerror(errno));
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

uint64_t le_hash(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

char *le_strf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t cap = n > 0 ? (size_t)n + 1 : 1;
    char *s = le_xmalloc(cap);
    va_start(ap, fmt);
    vsnprintf(s, cap, fmt, ap);
    va_end(ap);
    return s;
}

const signed char le__hexval[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

void le_hex(char *out, const void *bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = bytes;
    size_t i = 0;
#ifdef __SSE2__
    /* 16 bytes at a time (ids, digests): nibbles interleaved, then '0' + n, plus 39 past 9 */
    const __m128i mask = _mm_set1_epi8(0x0f), c0 = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9),
                  gap = _mm_set1_epi8('a' - '0' - 10);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask), lo = _mm_and_si128(v, mask);
        __m128i d[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};
        for (int k = 0; k < 2; k++) {
            __m128i c = _mm_add_epi8(_mm_add_epi8(d[k], c0),
                                     _mm_and_si128(_mm_cmpgt_epi8(d[k], nine), gap));
            _mm_storeu_si128((__m128i *)(void *)(out + 2 * i + 16 * k), c);
        }
    }
#endif
    for (; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void le_thread_background(pthread_t t, const char *name) {
    pthread_setname_np(t, name);
#ifdef SCHED_BATCH
    struct sched_param sp = {0};
    (void)pthread_setschedparam(t, SCHED_BATCH, &sp);
#endif
}
