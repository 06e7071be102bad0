/*
 * test_textmatch.c: config/textmatch.c's matchers against fnmatch(3) with FNM_CASEFOLD and a
 * byte-by-byte case-insensitive comparison, on random subjects and values.
 *
 * The fast paths are the point: the vector search of literal runs (runs of 1 to 20 bytes,
 * found at the start, the end, 15 and 16 bytes from either, overlapping their own prefixes),
 * the lower-case copy made once per prepared subject and shared by several matchers (in the
 * caller's space, exactly fitting, or allocated when it does not fit), subjects of every
 * length around the 16-byte blocks and past the 2048 bytes le_textmatch keeps on its stack,
 * upper and lower case and bytes above 0x7f, and a NUL byte inside (which a glob of literal
 * runs and '*' never matches, and other globs see as the subject's end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textmatch.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)((seed >> 11) % n);
}

/* A small alphabet, so that runs are found, nearly found and found late. */
static const char alpha[] = "aAbB/.-\xc3\xa4";

static char pick(void) {
    return alpha[rnd(sizeof(alpha) - 1)];
}

static bool ref_glob(const char *pat, const char *s, size_t n) {
    if (n == 0) return false;
    bool nul = memchr(s, 0, n) != NULL;
    if (nul && !strpbrk(pat, "?[\\")) return false;
    char *z = malloc(n + 1);
    memcpy(z, s, n);
    z[n] = '\0';
    bool hit = fnmatch(pat, z, FNM_CASEFOLD) == 0;
    free(z);
    return hit;
}

static bool ref_eq(const char *v, const char *s, size_t n) {
    if (n == 0 || strlen(v) != n) return false;
    for (size_t i = 0; i < n; i++) {
        char a = v[i], b = s[i];
        if (a >= 'A' && a <= 'Z') a += 32;
        if (b >= 'A' && b <= 'Z') b += 32;
        if (a != b) return false;
    }
    return true;
}

/* A glob: literal runs of 1..20 bytes between '*', sometimes anchored, sometimes with '?' or a
 * set (fnmatch's path), sometimes one run only ("*lit*"). */
static void make_glob(char *out, size_t cap) {
    size_t n = 0;
    unsigned runs = 1 + rnd(3);
    if (rnd(4)) out[n++] = '*';
    for (unsigned r = 0; r < runs; r++) {
        unsigned len = 1 + (rnd(3) ? rnd(4) : rnd(20));
        for (unsigned i = 0; i < len && n + 8 < cap; i++) out[n++] = pick();
        unsigned g = rnd(16);
        if (g == 0) out[n++] = '?';
        if (g == 1) {
            memcpy(out + n, "[ab]", 4);
            n += 4;
        }
        if (r + 1 < runs) out[n++] = '*';
    }
    if (rnd(4)) out[n++] = '*';
    out[n] = '\0';
}

static size_t make_subject(char *out, size_t cap) {
    unsigned k = rnd(10);
    size_t len = k < 6   ? rnd(40)
                 : k < 9 ? 10 + rnd(60)
                         : 2030 + rnd(60); /* around le_textmatch's stack space */
    if (len > cap) len = cap;
    for (size_t i = 0; i < len; i++) out[i] = pick();
    if (len && rnd(25) == 0) out[rnd((unsigned)len)] = '\0';
    return len;
}

enum { NM = 4 };

static void test_globs_against_fnmatch(void **state) {
    (void)state;
    unsigned hits = 0, checked = 0;
    for (unsigned round = 0; round < 3000; round++) {
        /* several matchers, one glob each or a few, all over the same subjects */
        char pats[NM][3][96];
        size_t np[NM];
        le_textmatch_t *m[NM];
        for (int j = 0; j < NM; j++) {
            np[j] = 1 + (rnd(3) == 0) * 2;
            const char *vals[3];
            for (size_t k = 0; k < np[j]; k++) {
                make_glob(pats[j][k], sizeof(pats[j][k]));
                vals[k] = pats[j][k];
            }
            char *why;
            m[j] = le_textmatch_new(LE_COND_GLOB, vals, np[j], &why);
            assert_non_null(m[j]);
            assert_true(le_textmatch_has_globs(m[j]));
        }
        for (unsigned e = 0; e < 40; e++) {
            static char s[2100];
            size_t len = make_subject(s, sizeof(s));
            /* the copy in the caller's space (exactly fitting, or roomy), or allocated */
            static char space[2100 + LE_TEXTMATCH_PAD];
            unsigned how = rnd(3);
            size_t cap = how == 0 ? len + LE_TEXTMATCH_PAD : how == 1 ? sizeof(space) : len;
            le_textmatch_subject_t t;
            le_textmatch_subject_init(&t, s, len, how == 2 && rnd(2) ? NULL : space, cap);
            for (int j = 0; j < NM; j++) {
                bool want = false;
                for (size_t k = 0; k < np[j]; k++) want |= ref_glob(pats[j][k], s, len);
                bool got = le_textmatch_subject(m[j], &t);
                if (got != want)
                    fail_msg("glob \"%s\"%s against \"%.*s\" (%zu bytes): want %d", pats[j][0],
                             np[j] > 1 ? " and more" : "", (int)len, s, len, want);
                assert_int_equal(le_textmatch(m[j], s, len), want);
                hits += want;
                checked++;
            }
            le_textmatch_subject_free(&t);
        }
        for (int j = 0; j < NM; j++) le_textmatch_free(m[j]);
    }
    assert_true(hits > checked / 20);
    assert_true(hits < checked * 9 / 10);
}

/* Bytes at the edges of the case-folding arithmetic: the neighbours of 'A'..'Z' and 'a'..'z',
 * and bytes above 0x7f whose low 7 bits are a letter (never folded). */
static const char edge[] = "aAzZmM@[`{\xc1\xda\xe1\xfa";

static char flip(char c) {
    if (c >= 'a' && c <= 'z') return (char)(c - 32);
    if (c >= 'A' && c <= 'Z') return (char)(c + 32);
    return c;
}

static void test_exact_values(void **state) {
    (void)state;
    unsigned hits = 0, checked = 0;
    for (unsigned round = 0; round < 3000; round++) {
        char vals[3][24];
        const char *vp[3];
        size_t n = 1 + rnd(3);
        for (size_t k = 0; k < n; k++) {
            size_t len = 1 + rnd(20);
            for (size_t i = 0; i < len; i++) vals[k][i] = edge[rnd(sizeof(edge) - 1)];
            vals[k][len] = '\0';
            vp[k] = vals[k];
        }
        char *why;
        le_textmatch_t *m = le_textmatch_new(LE_COND_EQ, vp, n, &why);
        assert_false(le_textmatch_has_globs(m));
        for (unsigned e = 0; e < 40; e++) {
            /* a value in another case, with a byte changed now and then, or anything */
            char s[24];
            size_t len;
            if (rnd(3)) {
                const char *v = vals[rnd((unsigned)n)];
                len = strlen(v);
                for (size_t i = 0; i < len; i++) s[i] = rnd(2) ? flip(v[i]) : v[i];
                if (rnd(3) == 0) s[rnd((unsigned)len)] = edge[rnd(sizeof(edge) - 1)];
            } else {
                len = rnd(21);
                for (size_t i = 0; i < len; i++) s[i] = edge[rnd(sizeof(edge) - 1)];
            }
            bool want = false;
            for (size_t k = 0; k < n; k++) want |= ref_eq(vals[k], s, len);
            char space[24 + LE_TEXTMATCH_PAD];
            le_textmatch_subject_t t;
            le_textmatch_subject_init(&t, s, len, space, sizeof(space));
            if (le_textmatch_subject(m, &t) != want)
                fail_msg("\"%.*s\" against \"%s\"%s: want %d", (int)len, s, vals[0],
                         n > 1 ? " and more" : "", want);
            assert_int_equal(le_textmatch(m, s, len), want);
            le_textmatch_subject_free(&t);
            hits += want;
            checked++;
        }
        le_textmatch_free(m);
    }
    assert_true(hits > checked / 4);
    assert_true(hits < checked * 3 / 4);
}

/* Several "*run*" values whose runs start with the same byte: one pass over the subject. */
static void test_runs_in_one_pass(void **state) {
    (void)state;
    unsigned hits = 0, checked = 0;
    for (unsigned round = 0; round < 3000; round++) {
        char pats[4][16];
        const char *vp[4];
        size_t n = 2 + rnd(3);
        char first = pick();
        for (size_t k = 0; k < n; k++) {
            size_t len = rnd(3) ? rnd(4) : rnd(10);
            pats[k][0] = '*';
            pats[k][1] = first;
            for (size_t i = 0; i < len; i++) pats[k][2 + i] = pick();
            pats[k][2 + len] = '*';
            pats[k][3 + len] = '\0';
            vp[k] = pats[k];
        }
        char *why;
        le_textmatch_t *m = le_textmatch_new(LE_COND_GLOB, vp, n, &why);
        for (unsigned e = 0; e < 40; e++) {
            static char s[2100];
            size_t len = make_subject(s, sizeof(s));
            bool want = false;
            for (size_t k = 0; k < n; k++) want |= ref_glob(pats[k], s, len);
            if (le_textmatch(m, s, len) != want)
                fail_msg("\"%s\" and %zu more against \"%.*s\": want %d", pats[0], n - 1, (int)len,
                         s, want);
            hits += want;
            checked++;
        }
        le_textmatch_free(m);
    }
    assert_true(hits > checked / 10);
    assert_true(hits < checked * 9 / 10);
}

/* Sets of matchers whose values are runs between '*', decided in one pass: each bit as the
 * matcher alone says, on subjects shared with other matchers (one lower-case copy). */
static void test_run_sets(void **state) {
    (void)state;
    unsigned hits = 0, checked = 0;
    for (unsigned round = 0; round < 2000; round++) {
        enum { MAXM = 12 };
        char pats[MAXM][3][16];
        size_t np[MAXM], nm = 1 + rnd(MAXM);
        le_textmatch_t *m[MAXM];
        for (size_t j = 0; j < nm; j++) {
            np[j] = 1 + (rnd(4) == 0) * (1 + rnd(2));
            const char *vp[3];
            for (size_t k = 0; k < np[j]; k++) {
                size_t len = 1 + (rnd(3) ? rnd(5) : rnd(12)), n = 0;
                pats[j][k][n++] = '*';
                if (rnd(8) == 0) pats[j][k][n++] = '*';
                for (size_t i = 0; i < len; i++) pats[j][k][n++] = pick();
                pats[j][k][n++] = '*';
                pats[j][k][n] = '\0';
                vp[k] = pats[j][k];
            }
            char *why;
            m[j] = le_textmatch_new(LE_COND_GLOB, vp, np[j], &why);
            assert_true(le_textmatch_is_runs(m[j]));
        }
        le_textmatch_runs_t *rs = le_textmatch_runs_new((const le_textmatch_t *const *)m, nm);
        for (unsigned e = 0; e < 30; e++) {
            static char s[2100];
            size_t len = make_subject(s, sizeof(s));
            char space[2100 + LE_TEXTMATCH_PAD];
            le_textmatch_subject_t t;
            le_textmatch_subject_init(&t, s, len, space, rnd(4) ? sizeof(space) : 0);
            if (rnd(2)) le_textmatch_subject(m[0], &t); /* the copy made before, or by the set */
            uint64_t got = le_textmatch_runs_match(rs, &t);
            for (size_t j = 0; j < nm; j++) {
                bool want = false;
                for (size_t k = 0; k < np[j]; k++) want |= ref_glob(pats[j][k], s, len);
                if ((got >> j & 1) != want)
                    fail_msg("set of %zu: \"%s\" against \"%.*s\": want %d", nm, pats[j][0],
                             (int)len, s, want);
                hits += want;
                checked++;
            }
            le_textmatch_subject_free(&t);
        }
        le_textmatch_runs_free(rs);
        for (size_t j = 0; j < nm; j++) le_textmatch_free(m[j]);
    }
    assert_true(hits > checked / 10);
    assert_true(hits < checked * 9 / 10);
    /* not runs: anchored, two runs, '?' */
    const char *no[] = {"/x*", "*/x", "*a*b*", "*a?*", "abc"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(no); i++) {
        char *why;
        le_textmatch_t *m = le_textmatch_new(LE_COND_GLOB, &no[i], 1, &why);
        assert_false(le_textmatch_is_runs(m));
        le_textmatch_free(m);
    }
}

/* Runs found at every distance from the ends of subjects of every length up to 80 bytes. */
static void test_run_at_every_place(void **state) {
    (void)state;
    const char *run = "/Pricing";
    char *why;
    const char *v[] = {"*/pricing*"};
    le_textmatch_t *m = le_textmatch_new(LE_COND_GLOB, v, 1, &why);
    for (size_t len = 0; len <= 80; len++) {
        for (size_t at = 0; at + 8 <= len; at++) {
            char s[96];
            memset(s, 'p', len); /* the run's last byte everywhere but where it ends */
            memcpy(s + at, run, 8);
            assert_true(le_textmatch(m, s, len));
            s[at + 7] = 'x';
            assert_false(le_textmatch(m, s, len));
        }
        char s[96];
        memset(s, '/', len);
        assert_false(le_textmatch(m, s, len));
    }
    le_textmatch_free(m);
}

static void test_absent_and_empty(void **state) {
    (void)state;
    char *why;
    const char *v[] = {"*"};
    le_textmatch_t *m = le_textmatch_new(LE_COND_GLOB, v, 1, &why);
    le_textmatch_subject_t t;
    le_textmatch_subject_init(&t, NULL, 5, NULL, 0);
    assert_false(le_textmatch_subject(m, &t));
    le_textmatch_subject_init(&t, "", 0, NULL, 0);
    assert_false(le_textmatch_subject(m, &t));
    le_textmatch_subject_init(&t, "x", 1, NULL, 0);
    assert_true(le_textmatch_subject(m, &t));
    le_textmatch_subject_free(&t);
    le_textmatch_free(m);
}

static void test_same(void **state) {
    (void)state;
    char *why;
    const char *a[] = {"*/pricing*", "*/x*"}, *b[] = {"*/pricing*", "*/x*"}, *c[] = {"*/x*"};
    const char *d[] = {"PageView"}, *e[] = {"pageview"};
    le_textmatch_t *ma = le_textmatch_new(LE_COND_GLOB, a, 2, &why),
                   *mb = le_textmatch_new(LE_COND_GLOB, b, 2, &why),
                   *mc = le_textmatch_new(LE_COND_GLOB, c, 1, &why),
                   *md = le_textmatch_new(LE_COND_EQ, d, 1, &why),
                   *me = le_textmatch_new(LE_COND_EQ, e, 1, &why),
                   *mr = le_textmatch_new(LE_COND_REGEX, e, 1, &why);
    assert_true(le_textmatch_same(ma, mb));
    assert_false(le_textmatch_same(ma, mc));
    assert_true(le_textmatch_same(md, me)); /* exact values are case-insensitive */
    assert_false(le_textmatch_same(me, mr));
    le_textmatch_t *all[] = {ma, mb, mc, md, me, mr};
    for (size_t i = 0; i < LE_ARRAY_SIZE(all); i++) le_textmatch_free(all[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_globs_against_fnmatch),
        cmocka_unit_test(test_exact_values),
        cmocka_unit_test(test_runs_in_one_pass),
        cmocka_unit_test(test_run_sets),
        cmocka_unit_test(test_run_at_every_place),
        cmocka_unit_test(test_absent_and_empty),
        cmocka_unit_test(test_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
