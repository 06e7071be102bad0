/*
 * textmatch.c: a condition's strings, globs and patterns, compiled and matched (textmatch.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "textmatch.h"

#include <fnmatch.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* A glob made only of literal runs and '*' (such as "*" "/pricing" "*"): matched by searching
 * the runs in order, ASCII case-insensitively, without fnmatch and without copying the
 * subject. */
typedef struct {
    bool simple;
    bool anchored_start, anchored_end; /* no leading / trailing '*' */
    size_t nparts;
    char **part; /* lower-case literal runs */
    size_t *plen;
} gplan_t;

struct le_textmatch_s {
    le_condop_t op;
    size_t n;
    char **values;  /* GLOB: as written; EQ: in ASCII lower case */
    size_t *lens;   /* their lengths */
    gplan_t *globs; /* GLOB: each value's plan */
    pcre2_code **re;
    pcre2_match_data *md;
};

static char lower_ascii(char ch) {
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static void lower_in_place(char *s) {
    for (; *s; s++) *s = lower_ascii(*s);
}

/* The plan for pattern when it has no '?', '[' or '\\' (fnmatch handles the rest). */
static void plan_glob(const char *pat, gplan_t *g) {
    memset(g, 0, sizeof(*g));
    if (strpbrk(pat, "?[\\")) return;
    size_t n = strlen(pat);
    g->simple = true;
    g->anchored_start = n == 0 || pat[0] != '*';
    g->anchored_end = n == 0 || pat[n - 1] != '*';
    g->part = le_xcalloc(n / 2 + 2, sizeof(char *));
    g->plen = le_xcalloc(n / 2 + 2, sizeof(size_t));
    for (const char *p = pat; *p;) {
        while (*p == '*') p++;
        const char *q = p;
        while (*q && *q != '*') q++;
        if (q > p) {
            char *part = le_xstrndup(p, (size_t)(q - p));
            lower_in_place(part);
            g->part[g->nparts] = part;
            g->plen[g->nparts++] = (size_t)(q - p);
        }
        p = q;
    }
}

/* dst = src with ASCII upper case lowered, 16 bytes at a time where SSE2 is there. */
static void lower_copy(char *dst, const char *src, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1), d = _mm_set1_epi8(0x20);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, a1), _mm_cmplt_epi8(v, z1));
        _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_add_epi8(v, _mm_and_si128(up, d)));
    }
#endif
    for (; i < n; i++) dst[i] = lower_ascii(src[i]);
}

/* The first n-byte needle in hay[0..len), NULL when none: the first byte found with memchr,
 * the rest compared. For the short needles and subjects of rules (a path in a URL) this beats
 * memmem(3), whose setup per call costs more than the search. */
static const char *find(const char *hay, size_t len, const char *needle, size_t n) {
    if (n == 0) return hay;
    const char *p = hay, *end = hay + len;
    while ((size_t)(end - p) >= n && (p = memchr(p, needle[0], (size_t)(end - p) - n + 1))) {
        if (memcmp(p + 1, needle + 1, n - 1) == 0) return p;
        p++;
    }
    return NULL;
}

/* s[0..n) equals the lower-case low[0..n), ASCII case-insensitively. */
static bool eq_lower(const char *s, const char *low, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lower_ascii(s[i]) != low[i]) return false;
    return true;
}

/* fnmatch(pat, v, FNM_CASEFOLD) for a simple pattern and a subject already in lower case: the
 * runs in order (memmem), anchored where the pattern has no '*' at that end. */
static bool simple_glob_lower(const gplan_t *g, const char *v, size_t vlen) {
    size_t at = 0, first = 0, last = g->nparts;
    if (g->nparts == 0) return !g->anchored_start || vlen == 0;
    if (g->anchored_start) {
        if (vlen < g->plen[0] || memcmp(v, g->part[0], g->plen[0]) != 0) return false;
        at = g->plen[0];
        first = 1;
        if (g->nparts == 1 && g->anchored_end) return vlen == at;
    }
    if (g->anchored_end && last > first) {
        size_t n = g->plen[last - 1];
        if (vlen < at + n || memcmp(v + vlen - n, g->part[last - 1], n) != 0) return false;
        vlen -= n;
        last--;
    }
    for (size_t k = first; k < last; k++) {
        const char *p = find(v + at, vlen - at, g->part[k], g->plen[k]);
        if (!p) return false;
        at = (size_t)(p - v) + g->plen[k];
    }
    return true;
}

le_textmatch_t *le_textmatch_new(le_condop_t op, const char *const *values, size_t n, char **why) {
    le_textmatch_t *m = le_xcalloc(1, sizeof(*m));
    m->op = op;
    m->n = n;
    *why = NULL;
    if (op == LE_COND_REGEX) {
        m->re = le_xcalloc(n ? n : 1, sizeof(*m->re));
        for (size_t i = 0; i < n; i++) {
            int ecode;
            PCRE2_SIZE eoff;
            m->re[i] = pcre2_compile((PCRE2_SPTR)values[i], PCRE2_ZERO_TERMINATED,
                                     PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ecode,
                                     &eoff, NULL);
            if (!m->re[i]) {
                PCRE2_UCHAR msg[160];
                pcre2_get_error_message(ecode, msg, sizeof(msg));
                *why = le_strf("bad regex at offset %zu: %s", (size_t)eoff, (const char *)msg);
                le_textmatch_free(m);
                return NULL;
            }
            (void)pcre2_jit_compile(m->re[i], PCRE2_JIT_COMPLETE); /* else the interpreter */
        }
        m->md = pcre2_match_data_create(1, NULL);
        return m;
    }
    m->values = le_xcalloc(n ? n : 1, sizeof(*m->values));
    m->lens = le_xcalloc(n ? n : 1, sizeof(*m->lens));
    if (op == LE_COND_GLOB) m->globs = le_xcalloc(n ? n : 1, sizeof(*m->globs));
    for (size_t i = 0; i < n; i++) {
        m->values[i] = le_xstrdup(values[i]);
        m->lens[i] = strlen(values[i]);
        if (m->globs) plan_glob(m->values[i], &m->globs[i]);
        if (op == LE_COND_EQ) lower_in_place(m->values[i]);
    }
    return m;
}

bool le_textmatch(le_textmatch_t *m, const char *s, size_t len) {
    if (!s || !len) return false;
    if (m->op == LE_COND_REGEX) {
        for (size_t i = 0; i < m->n; i++)
            if (pcre2_match(m->re[i], (PCRE2_SPTR)s, len, 0, 0, m->md, NULL) >= 0) return true;
        return false;
    }
    if (m->op == LE_COND_GLOB) {
        bool all_simple = true, hit = false, nul = memchr(s, '\0', len) != NULL;
        char buf[2048], *low = len <= sizeof(buf) ? buf : le_xmalloc(len);
        if (!nul) lower_copy(low, s, len); /* once: then plain compares and memmem */
        for (size_t i = 0; i < m->n && !hit; i++) {
            if (!m->globs[i].simple)
                all_simple = false;
            else if (!nul)
                hit = simple_glob_lower(&m->globs[i], low, len);
        }
        if (low != buf) free(low);
        if (hit || all_simple) return hit;
        char small[1024], *z = len < sizeof(small) ? small : le_xmalloc(len + 1);
        memcpy(z, s, len);
        z[len] = '\0';
        for (size_t i = 0; i < m->n && !hit; i++) {
            /* a NUL inside s ends the subject early: such values only come from binary
             * junk, and matching less of them is harmless */
            if (!m->globs[i].simple) hit = fnmatch(m->values[i], z, FNM_CASEFOLD) == 0;
        }
        if (z != small) free(z);
        return hit;
    }
    for (size_t i = 0; i < m->n; i++)
        if (len == m->lens[i] && eq_lower(s, m->values[i], len)) return true;
    return false;
}

void le_textmatch_free(le_textmatch_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        if (m->values) free(m->values[i]);
        if (m->re) pcre2_code_free(m->re[i]);
        if (m->globs) {
            for (size_t k = 0; k < m->globs[i].nparts; k++) free(m->globs[i].part[k]);
            free(m->globs[i].part);
            free(m->globs[i].plen);
        }
    }
    free(m->globs);
    free(m->lens);
    free(m->values);
    free(m->re);
    pcre2_match_data_free(m->md);
    free(m);
}
