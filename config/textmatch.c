/*
 * textmatch.c: a condition's strings, globs and patterns, compiled and matched (textmatch.h).
 *
 * Globs made only of literal runs and '*' (nearly all that rules use: "*\/pricing*") are
 * matched without fnmatch: the runs are searched in order in a lower-case copy of the subject.
 * A subject prepared once (le_textmatch_subject_t) keeps that copy for every condition of the
 * event that looks at the same field, so a URL under a dozen URL rules is lowered once. The
 * search itself is the two-byte vector filter (compare 16 positions at once against the run's
 * first and last byte, confirm the few candidates byte by byte), which for the short runs and
 * subjects of rules costs less than memchr + memcmp calls per candidate of the first byte.
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
 * the runs in order, ASCII case-insensitively, without fnmatch. */
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
    char **values;                 /* GLOB and REGEX: as written; EQ: in ASCII lower case */
    char **masks;                  /* EQ: each value's case mask (eq_lower) */
    size_t *lens;                  /* their lengths */
    gplan_t *globs;                /* GLOB: each value's plan */
    size_t nsimple;                /* GLOB: how many plans are simple */
    le_textmatch_runs_t *own_runs; /* GLOB: several values, each a run between two '*' (as
                                      the product page rule's URL globs are): all searched for
                                      in one pass, a runs set of this matcher alone */
    pcre2_code **re;
    bool *jit; /* REGEX: compiled by the JIT, so pcre2_jit_match may skip pcre2_match's checks
                  (the patterns are compiled with PCRE2_MATCH_INVALID_UTF: nothing to check) */
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

/* dst = src with ASCII upper case lowered, 16 bytes at a time where SSE2 is there; returns
 * whether src holds a NUL byte (found in the same pass). */
static bool lower_copy(char *dst, const char *src, size_t n) {
    size_t i = 0;
    bool nul = false;
#ifdef __SSE2__
    if (n >= 16) {
        const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1),
                      d = _mm_set1_epi8(0x20), zero = _mm_setzero_si128();
        __m128i zeros = zero;
        for (;; i += 16) {
            if (i + 16 > n) i = n - 16; /* the last block overlaps the one before: same bytes */
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
            __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, a1), _mm_cmplt_epi8(v, z1));
            _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_add_epi8(v, _mm_and_si128(up, d)));
            zeros = _mm_or_si128(zeros, _mm_cmpeq_epi8(v, zero));
            if (i + 16 == n) break;
        }
        return _mm_movemask_epi8(zeros) != 0;
    }
#endif
    for (; i < n; i++) {
        dst[i] = lower_ascii(src[i]);
        nul |= src[i] == '\0';
    }
    return nul;
}

/* Make t's lower-case copy (padded with zero bytes for the vector search) and note whether it
 * holds a NUL byte. */
static void prepare(le_textmatch_subject_t *t) {
    size_t need = t->len + LE_TEXTMATCH_PAD;
    if (need <= t->cap) {
        t->low = t->space;
    } else {
        t->low = le_xmalloc(need);
        t->heap = true;
    }
    t->nul = lower_copy(t->low, t->s, t->len);
#ifdef __SSE2__
    _mm_storeu_si128((__m128i *)(void *)(t->low + t->len), _mm_setzero_si128());
#else
    memset(t->low + t->len, 0, LE_TEXTMATCH_PAD);
#endif
}

/* The first n-byte needle (n >= 1) in hay[0..len), NULL when none. hay is followed by at least
 * LE_TEXTMATCH_PAD readable bytes, and neither it nor the needle holds a NUL byte. */
static const char *find(const char *hay, size_t len, const char *needle, size_t n) {
    if (n > len) return NULL;
#ifdef __SSE2__
    /* positions i..i+15 at once: needle[0] at i + k and needle[n - 1] at i + k + n - 1; the
     * loads reach at most len - n + 15 + n - 1 < len + LE_TEXTMATCH_PAD */
    const __m128i first = _mm_set1_epi8(needle[0]), last = _mm_set1_epi8(needle[n - 1]);
    size_t span = len - n; /* the last position a match may start at */
    for (size_t i = 0; i <= span; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(hay + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(hay + i + n - 1));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
        if (span - i < 15) mask &= (2u << (span - i)) - 1; /* no start past span */
        while (mask) {
            const char *p = hay + i + (unsigned)__builtin_ctz(mask);
            size_t k = 1;
            while (k + 1 < n && p[k] == needle[k]) k++;
            if (k + 1 >= n) return p;
            mask &= mask - 1;
        }
    }
    return NULL;
#else
    const char *p = hay, *end = hay + len;
    while ((size_t)(end - p) >= n && (p = memchr(p, needle[0], (size_t)(end - p) - n + 1))) {
        if (memcmp(p + 1, needle + 1, n - 1) == 0) return p;
        p++;
    }
    return NULL;
#endif
}

/*
 * s[0..n) equals the lower-case value low[0..n), ASCII case-insensitively, given the value's
 * case mask (0x20 where low has a letter, else 0): s | mask == low, 8 bytes at a time. Where
 * low has a letter, s may have it in either case (the two differ in 0x20 alone, and no other
 * byte or'ed with 0x20 gives a lower-case letter); elsewhere s must have low's byte, which is
 * what folding s's upper case first would say, since low has no upper case.
 */
static inline bool eq_lower(const char *s, const char *low, const char *mask, size_t n) {
    uint64_t a, b, c;
    for (; n >= 8; n -= 8, s += 8, low += 8, mask += 8) {
        memcpy(&a, s, 8);
        memcpy(&b, low, 8);
        memcpy(&c, mask, 8);
        if ((a | c) != b) return false;
    }
    for (size_t i = 0; i < n; i++)
        if ((s[i] | mask[i]) != low[i]) return false;
    return true;
}

/* run[0..n) is at p (both lower case; the caller knows p has n bytes): inline, for the few
 * bytes of a rule's run, where a memcmp call costs more than the comparison. */
static inline bool run_at(const char *p, const char *run, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != run[i]) return false;
    return true;
}

/* fnmatch(pat, v, FNM_CASEFOLD) for a simple pattern and a subject already in lower case, with
 * no NUL byte and padded as find() needs: the runs in order, anchored where the pattern has no
 * '*' at that end. */
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
    m->values = le_xcalloc(n ? n : 1, sizeof(*m->values));
    m->lens = le_xcalloc(n ? n : 1, sizeof(*m->lens));
    for (size_t i = 0; i < n; i++) {
        m->values[i] = le_xstrdup(values[i]);
        m->lens[i] = strlen(values[i]);
    }
    if (op == LE_COND_REGEX) {
        m->re = le_xcalloc(n ? n : 1, sizeof(*m->re));
        m->jit = le_xcalloc(n ? n : 1, sizeof(*m->jit));
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
            m->jit[i] = pcre2_jit_compile(m->re[i], PCRE2_JIT_COMPLETE) == 0; /* else the
                                                                                 interpreter */
        }
        m->md = pcre2_match_data_create(1, NULL);
        return m;
    }
    if (op == LE_COND_GLOB) m->globs = le_xcalloc(n ? n : 1, sizeof(*m->globs));
    for (size_t i = 0; i < n; i++) {
        if (m->globs) {
            plan_glob(m->values[i], &m->globs[i]);
            m->nsimple += m->globs[i].simple;
        }
    }
    if (op == LE_COND_EQ) {
        m->masks = le_xcalloc(n ? n : 1, sizeof(*m->masks));
        for (size_t i = 0; i < n; i++) {
            lower_in_place(m->values[i]);
            m->masks[i] = le_xmalloc(m->lens[i] + 1);
            for (size_t j = 0; j <= m->lens[i]; j++)
                m->masks[i][j] = m->values[i][j] >= 'a' && m->values[i][j] <= 'z' ? 0x20 : 0;
        }
    }
    if (n >= 2 && le_textmatch_is_runs(m))
        m->own_runs = le_textmatch_runs_new((const le_textmatch_t *const *)&m, 1);
    return m;
}

/* The globs of m against t (not empty). Out of line, like match_re: the exact values, most
 * conditions, then take le_textmatch_subject's path without saving registers for these. */
static __attribute__((noinline)) bool match_globs(le_textmatch_t *m, le_textmatch_subject_t *t) {
    bool hit = false;
    if (m->own_runs) return le_textmatch_runs_match(m->own_runs, t) != 0;
    if (m->nsimple) {
        if (!t->low) prepare(t); /* once for every glob that sees t */
        for (size_t i = 0; i < m->n && !hit; i++)
            if (m->globs[i].simple && !t->nul)
                hit = simple_glob_lower(&m->globs[i], t->low, t->len);
        if (hit || m->nsimple == m->n) return hit;
    }
    size_t len = t->len;
    char small[1024], *z = len < sizeof(small) ? small : le_xmalloc(len + 1);
    memcpy(z, t->s, len);
    z[len] = '\0';
    for (size_t i = 0; i < m->n && !hit; i++) {
        /* a NUL inside s ends the subject early: such values only come from binary junk, and
         * matching less of them is harmless */
        if (!m->globs[i].simple) hit = fnmatch(m->values[i], z, FNM_CASEFOLD) == 0;
    }
    if (z != small) free(z);
    return hit;
}

/* The patterns of m against s[0..len) (not empty). */
static __attribute__((noinline)) bool match_re(le_textmatch_t *m, const char *s, size_t len) {
    for (size_t i = 0; i < m->n; i++) {
        int rc = m->jit[i] ? pcre2_jit_match(m->re[i], (PCRE2_SPTR)s, len, 0, 0, m->md, NULL)
                           : pcre2_match(m->re[i], (PCRE2_SPTR)s, len, 0, 0, m->md, NULL);
        if (rc >= 0) return true;
    }
    return false;
}

/* The values of m against s[0..len) (not empty): the lengths first, most differ in theirs. */
static __attribute__((noinline)) bool match_eq(const le_textmatch_t *m, const char *s, size_t len) {
    for (size_t i = 0; i < m->n; i++)
        if (len == m->lens[i] && eq_lower(s, m->values[i], m->masks[i], len)) return true;
    return false;
}

bool le_textmatch_subject(le_textmatch_t *m, le_textmatch_subject_t *t) {
    /* a dispatcher that saves no registers: each kind has its own function */
    if (!t->s || !t->len) return false;
    if (m->op == LE_COND_GLOB) return match_globs(m, t);
    if (m->op == LE_COND_REGEX) return match_re(m, t->s, t->len);
    return match_eq(m, t->s, t->len);
}

bool le_textmatch(le_textmatch_t *m, const char *s, size_t len) {
    if (m->op != LE_COND_GLOB) { /* values and patterns need no copy: no subject to set up */
        le_textmatch_subject_t t = {.s = s, .len = s ? len : 0};
        return le_textmatch_subject(m, &t);
    }
    /* the usual subject (a URL, a name) fits the stack */
    char space[2048 + LE_TEXTMATCH_PAD];
    le_textmatch_subject_t t;
    le_textmatch_subject_init(&t, s, len, space, sizeof(space));
    bool hit = le_textmatch_subject(m, &t);
    le_textmatch_subject_free(&t);
    return hit;
}

/* ---- runs of several matchers in one pass ------------------------------------------------ */

typedef struct {
    const char *s; /* the run, lower case */
    size_t n;
    uint32_t head, mask; /* its first 4 bytes (fewer: masked), read as one word */
    unsigned who;        /* the matcher it is a value of */
} run_t;

struct le_textmatch_runs_s {
    run_t *run; /* grouped by first byte, in the order of firsts */
    size_t nrun;
    unsigned char first[256];  /* the distinct first bytes */
    size_t nfirst, start[257]; /* run[start[k]..start[k + 1]) begin with first[k] */
    uint64_t (*second)[4];     /* per first byte: the bytes its runs have next, a bit each (all
                                  of them when a run is that one byte): most places of a common
                                  first byte ('/' in a URL) are passed over on the next byte */
    uint64_t all;              /* a bit for every matcher */
};

bool le_textmatch_is_runs(const le_textmatch_t *m) {
    if (m->op != LE_COND_GLOB || m->nsimple != m->n || m->n == 0) return false;
    for (size_t i = 0; i < m->n; i++) {
        const gplan_t *g = &m->globs[i];
        if (g->anchored_start || g->anchored_end || g->nparts != 1) return false;
    }
    return true;
}

static uint32_t load32(const char *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

le_textmatch_runs_t *le_textmatch_runs_new(const le_textmatch_t *const *m, size_t n) {
    le_textmatch_runs_t *rs = le_xcalloc(1, sizeof(*rs));
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += m[i]->n;
    rs->run = le_xcalloc(total ? total : 1, sizeof(run_t));
    rs->all = n >= 64 ? ~0ull : (1ull << n) - 1;
    /* the distinct first bytes (rules that share a field share a few), then the runs by
     * first byte */
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < m[i]->n; v++) {
            unsigned char c = (unsigned char)m[i]->globs[v].part[0][0];
            size_t k = 0;
            while (k < rs->nfirst && rs->first[k] != c) k++;
            if (k == rs->nfirst) rs->first[rs->nfirst++] = c;
        }
    for (size_t k = 0; k < rs->nfirst; k++) {
        rs->start[k] = rs->nrun;
        for (size_t i = 0; i < n; i++)
            for (size_t v = 0; v < m[i]->n; v++) {
                const gplan_t *g = &m[i]->globs[v];
                if ((unsigned char)g->part[0][0] != rs->first[k]) continue;
                run_t *r = &rs->run[rs->nrun++];
                r->s = g->part[0];
                r->n = g->plen[0];
                char head[4] = {0};
                memcpy(head, r->s, r->n < 4 ? r->n : 4);
                r->head = load32(head);
                memset(head, 0, 4);
                memset(head, 0xff, r->n < 4 ? r->n : 4);
                r->mask = load32(head);
                r->who = (unsigned)i;
            }
    }
    rs->start[rs->nfirst] = rs->nrun;
    rs->second = le_xcalloc(rs->nfirst ? rs->nfirst : 1, sizeof(*rs->second));
    for (size_t k = 0; k < rs->nfirst; k++)
        for (size_t j = rs->start[k]; j < rs->start[k + 1]; j++) {
            const run_t *r = &rs->run[j];
            if (r->n == 1) {
                memset(rs->second[k], 0xff, sizeof(rs->second[k]));
                continue;
            }
            unsigned char b = (unsigned char)r->s[1];
            rs->second[k][b >> 6] |= 1ull << (b & 63);
        }
    return rs;
}

/* The runs r0..r1 (one first byte, whose next bytes are in second) that are at v + at, into
 * *hit; v[0..len) is lower case and padded, so 4 bytes from any place in it are readable. */
static inline void runs_at(const run_t *r0, const run_t *r1, const uint64_t second[4],
                           const char *v, size_t len, size_t at, uint64_t *hit) {
    unsigned char b = (unsigned char)v[at + 1];
    if (!(second[b >> 6] >> (b & 63) & 1)) return;
    uint32_t w = load32(v + at);
    for (const run_t *r = r0; r < r1; r++) {
        if ((w & r->mask) != r->head || r->n > len - at || (*hit >> r->who & 1)) continue;
        if (r->n <= 4 || run_at(v + at + 4, r->s + 4, r->n - 4)) *hit |= 1ull << r->who;
    }
}

uint64_t le_textmatch_runs_match(const le_textmatch_runs_t *rs, le_textmatch_subject_t *t) {
    if (!t->s || !t->len) return 0;
    if (!t->low) prepare(t);
    if (t->nul) return 0; /* runs never match a subject with a NUL inside (match_globs) */
    const char *v = t->low;
    size_t len = t->len;
    uint64_t hit = 0;
    for (size_t k = 0; k < rs->nfirst && hit != rs->all; k++) {
        const run_t *r0 = &rs->run[rs->start[k]], *r1 = &rs->run[rs->start[k + 1]];
        /* every place the first byte is at */
#ifdef __SSE2__
        const __m128i first = _mm_set1_epi8((char)rs->first[k]);
        for (size_t i = 0; i < len && hit != rs->all; i += 16) {
            unsigned mask = (unsigned)_mm_movemask_epi8(
                _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(v + i)), first));
            if (len - i < 16) mask &= (1u << (len - i)) - 1;
            for (; mask; mask &= mask - 1)
                runs_at(r0, r1, rs->second[k], v, len, i + (unsigned)__builtin_ctz(mask), &hit);
        }
#else
        for (const char *p = v;
             hit != rs->all && (p = memchr(p, rs->first[k], len - (size_t)(p - v))); p++)
            runs_at(r0, r1, rs->second[k], v, len, (size_t)(p - v), &hit);
#endif
    }
    return hit;
}

void le_textmatch_runs_free(le_textmatch_runs_t *rs) {
    if (!rs) return;
    free(rs->second);
    free(rs->run);
    free(rs);
}

void le_textmatch_lengths(const le_textmatch_t *m, size_t *min, size_t *max) {
    *min = SIZE_MAX;
    *max = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->lens[i] < *min) *min = m->lens[i];
        if (m->lens[i] > *max) *max = m->lens[i];
    }
    if (m->op != LE_COND_EQ || m->n == 0) { /* anything may match a glob or a pattern */
        *min = 0;
        *max = SIZE_MAX;
    }
}

bool le_textmatch_has_globs(const le_textmatch_t *m) {
    return m->op == LE_COND_GLOB;
}

bool le_textmatch_same(const le_textmatch_t *a, const le_textmatch_t *b) {
    if (a->op != b->op || a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->values[i], b->values[i]) != 0) return false;
    return true;
}

void le_textmatch_free(le_textmatch_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        if (m->values) free(m->values[i]);
        if (m->masks) free(m->masks[i]);
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
    free(m->masks);
    free(m->re);
    free(m->jit);
    le_textmatch_runs_free(m->own_runs);
    pcre2_match_data_free(m->md);
    free(m);
}
