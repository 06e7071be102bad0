/*
 * test_decode.c: percent-decoding, UTF-8 and control rules, urlencoded
 * lists, and the Cookie, Content-Type and Accept header helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "decode.h"

static le_arena_t arena;

static int setup(void **state) {
    le_arena_init(&arena, NULL, 0);
    return 0;
}

static int teardown(void **state) {
    le_arena_free(&arena);
    return 0;
}

/* Decode a literal; returns the error and leaves the result in *out. */
static le_dec_err_t pct(const char *in, bool plus, bool nl, le_str_t *out) {
    return le_pct_decode(&arena, in, strlen(in), plus, nl, out);
}

static void assert_pct(const char *in, bool plus, bool nl, const char *want, size_t want_len) {
    le_str_t out = {NULL, 12345};
    le_dec_err_t rc = pct(in, plus, nl, &out);
    if (rc != LE_DEC_OK) fail_msg("\"%s\": %s", in, le_dec_strerror(rc));
    assert_int_equal(out.len, want_len);
    assert_memory_equal(out.ptr, want, want_len);
    assert_int_equal(out.ptr[out.len], '\0');
}

static void assert_pct_err(const char *in, bool plus, bool nl, le_dec_err_t want) {
    le_str_t out;
    le_dec_err_t rc = pct(in, plus, nl, &out);
    if (rc != want)
        fail_msg("\"%s\": got %s, want %s", in, le_dec_strerror(rc), le_dec_strerror(want));
}

static void test_pct_good(void **state) {
    assert_pct("", false, false, "", 0);
    assert_pct("plain", false, false, "plain", 5);
    assert_pct("a%20b", false, false, "a b", 3);
    assert_pct("%2f%2F", false, false, "//", 2);
    assert_pct("%41%62%7e", false, false, "Ab~", 3);
    assert_pct("https%3A%2F%2Fexample.com%2Fa%3Fb%3D1", false, false, "https://example.com/a?b=1",
               25);
    assert_pct("caf%C3%A9", false, false, "caf\xc3\xa9", 5);
    assert_pct("caf\xc3\xa9", false, false, "caf\xc3\xa9", 5); /* raw UTF-8 is fine */
    assert_pct("%F0%9F%98%80", false, false, "\xf0\x9f\x98\x80", 4);
    assert_pct("%e2%82%ac", false, false, "\xe2\x82\xac", 3);
    assert_pct("%25", false, false, "%", 1);
    assert_pct("%2B", true, false, "+", 1); /* an encoded plus stays a plus */
}

static void test_pct_bad(void **state) {
    assert_pct_err("%", false, false, LE_DEC_BAD_PERCENT);
    assert_pct_err("%4", false, false, LE_DEC_BAD_PERCENT);
    assert_pct_err("abc%4", false, false, LE_DEC_BAD_PERCENT);
    assert_pct_err("%zz", false, false, LE_DEC_BAD_PERCENT);
    assert_pct_err("%g0", false, false, LE_DEC_BAD_PERCENT);
    assert_pct_err("%0g", false, false, LE_DEC_BAD_PERCENT);
    assert_pct_err("% 41", false, false, LE_DEC_BAD_PERCENT);
    assert_pct_err("%00", false, false, LE_DEC_CONTROL);
    assert_pct_err("%00", false, true, LE_DEC_CONTROL); /* NUL even where newlines are allowed */
    assert_pct_err("a%01", false, false, LE_DEC_CONTROL);
    assert_pct_err("%1F", false, false, LE_DEC_CONTROL);
    assert_pct_err("%7F", false, false, LE_DEC_CONTROL);
    assert_pct_err("%7f", false, true, LE_DEC_CONTROL);
    assert_pct_err("a\x01", false, false, LE_DEC_CONTROL); /* raw control */
    assert_pct_err("%0A", false, false, LE_DEC_CONTROL);
    assert_pct_err("%0D", false, false, LE_DEC_CONTROL);
    assert_pct_err("%09", false, false, LE_DEC_CONTROL);
    assert_pct_err("a\nb", false, false, LE_DEC_CONTROL);
    /* UTF-8 */
    assert_pct_err("%C0%AF", false, false, LE_DEC_BAD_UTF8);       /* overlong '/' */
    assert_pct_err("%C1%BF", false, false, LE_DEC_BAD_UTF8);       /* overlong */
    assert_pct_err("%E0%80%AF", false, false, LE_DEC_BAD_UTF8);    /* overlong 3-byte */
    assert_pct_err("%F0%80%80%AF", false, false, LE_DEC_BAD_UTF8); /* overlong 4-byte */
    assert_pct_err("%ED%A0%80", false, false, LE_DEC_BAD_UTF8);    /* U+D800 */
    assert_pct_err("%ED%BF%BF", false, false, LE_DEC_BAD_UTF8);    /* U+DFFF */
    assert_pct_err("%F4%90%80%80", false, false, LE_DEC_BAD_UTF8); /* U+110000 */
    assert_pct_err("%F5%80%80%80", false, false, LE_DEC_BAD_UTF8);
    assert_pct_err("%FF", false, false, LE_DEC_BAD_UTF8);
    assert_pct_err("%80", false, false, LE_DEC_BAD_UTF8); /* lone continuation */
    assert_pct_err("%C3", false, false, LE_DEC_BAD_UTF8); /* truncated at the end */
    assert_pct_err("%E2%82", false, false, LE_DEC_BAD_UTF8);
    assert_pct_err("%C3a", false, false, LE_DEC_BAD_UTF8); /* interrupted */
    assert_pct_err("%F0%9F%98", false, false, LE_DEC_BAD_UTF8);
    assert_pct_err("\xc3", false, false, LE_DEC_BAD_UTF8); /* raw bytes too */
    assert_pct_err("%C3\xa9x%C3", false, false, LE_DEC_BAD_UTF8);
}

static void test_pct_mixed_raw_and_encoded(void **state) {
    /* A sequence may be split between an escape and a raw byte. */
    assert_pct("%C3\xa9", false, false, "\xc3\xa9", 2);
    assert_pct("\xe2%82\xac", false, false, "\xe2\x82\xac", 3);
}

static void test_pct_plus_and_newline(void **state) {
    assert_pct("a+b", true, false, "a b", 3);
    assert_pct("a+b", false, false, "a+b", 3);
    assert_pct("++", true, false, "  ", 2);
    assert_pct("a%0Ab", false, true, "a\nb", 3);
    assert_pct("a%0D%0Ab", false, true, "a\r\nb", 4);
    assert_pct("%09x", false, true, "\tx", 2);
    assert_pct("l1\r\nl2", false, true, "l1\r\nl2", 6);
    assert_pct_err("%0B", false, true, LE_DEC_CONTROL); /* VT is not a newline */
    assert_pct_err("%1B", false, true, LE_DEC_CONTROL);
}

static void test_pct_embedded_nul_input(void **state) {
    le_str_t out;
    assert_int_equal(le_pct_decode(&arena, "a\0b", 3, false, true, &out), LE_DEC_CONTROL);
}

static void test_pct_never_reads_past_n(void **state) {
    /* The input is a view: bytes after n belong to someone else. */
    le_str_t out;
    assert_int_equal(le_pct_decode(&arena, "%41", 2, false, false, &out), LE_DEC_BAD_PERCENT);
    assert_int_equal(le_pct_decode(&arena, "%41", 1, false, false, &out), LE_DEC_BAD_PERCENT);
    assert_int_equal(le_pct_decode(&arena, "ab%41", 2, false, false, &out), LE_DEC_OK);
    assert_int_equal(out.len, 2);
    assert_string_equal(out.ptr, "ab");
    assert_int_equal(le_pct_decode(&arena, "\xc3\xa9", 1, false, false, &out), LE_DEC_BAD_UTF8);
}

/* Inputs built from tokens whose decoding is known, long enough to cross the 16-byte blocks
 * the decoder copies at once, with the interesting byte at every offset of a block. */
static void test_pct_blocks(void **state) {
    static const struct {
        const char *in, *out;
    } tok[] = {
        {"a", "a"},
        {"Z", "Z"},
        {"/", "/"},
        {"~", "~"},
        {" ", " "},
        {"+", " "},
        {"%41", "A"},
        {"%25", "%"},
        {"%2B", "+"},
        {"%20", " "},
        {"%7e", "~"},
        {"%5b", "["},
        {"%C3%A4", "\xc3\xa4"},
        {"\xc3\xa4", "\xc3\xa4"},
        {"\xe2\x80\x93", "\xe2\x80\x93"},
        {"%F0%9F%98%80", "\xf0\x9f\x98\x80"},
    };
    const size_t ntok = sizeof(tok) / sizeof(tok[0]);
    unsigned seed = 12345;
    for (int round = 0; round < 3000; round++) {
        char in[512], want[512];
        size_t ni = 0, nw = 0;
        /* a run of plain bytes of every length 0..47, then random tokens */
        for (int k = round % 48; k > 0; k--) in[ni++] = want[nw++] = (char)('a' + k % 26);
        int ntoks = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 40;
        for (int t = 0; t < ntoks; t++) {
            seed = seed * 1103515245u + 12345u;
            size_t i = (seed >> 16) % ntok;
            size_t li = strlen(tok[i].in), lo = strlen(tok[i].out);
            memcpy(in + ni, tok[i].in, li);
            memcpy(want + nw, tok[i].out, lo);
            ni += li;
            nw += lo;
        }
        le_str_t out;
        le_dec_err_t rc = le_pct_decode(&arena, in, ni, true, false, &out);
        if (rc != LE_DEC_OK) fail_msg("round %d: %s", round, le_dec_strerror(rc));
        assert_int_equal(out.len, nw);
        assert_memory_equal(out.ptr, want, nw);
        /* one bad byte at the end of the plain run is found wherever it falls */
        size_t plain = (size_t)(round % 48);
        in[plain] = '\x01';
        assert_int_equal(le_pct_decode(&arena, in, plain + 1, true, false, &out), LE_DEC_CONTROL);
        in[plain] = '\x80';
        assert_int_equal(le_pct_decode(&arena, in, plain + 1, true, false, &out), LE_DEC_BAD_UTF8);
        in[plain] = '%';
        assert_int_equal(le_pct_decode(&arena, in, plain + 1, true, false, &out),
                         LE_DEC_BAD_PERCENT);
        le_arena_reset(&arena);
    }
}

typedef struct {
    const char *s;
    bool valid;
} utf8_case_t;

static void test_utf8_table(void **state) {
    static const utf8_case_t cases[] = {
        {"", true},
        {"ascii", true},
        {"\xc2\x80", true},                 /* U+0080 */
        {"\xdf\xbf", true},                 /* U+07FF */
        {"\xe0\xa0\x80", true},             /* U+0800 */
        {"\xef\xbf\xbf", true},             /* U+FFFF */
        {"\xed\x9f\xbf", true},             /* U+D7FF */
        {"\xee\x80\x80", true},             /* U+E000 */
        {"\xf0\x90\x80\x80", true},         /* U+10000 */
        {"\xf0\x9f\x98\x80", true},         /* emoji */
        {"\xf4\x8f\xbf\xbf", true},         /* U+10FFFF */
        {"\xe6\x97\xa5\xe6\x9c\xac", true}, /* CJK */
        {"\xc0\x80", false},                /* overlong NUL */
        {"\xc0\xaf", false},                /* overlong '/' */
        {"\xc1\xbf", false},                /* overlong */
        {"\xe0\x9f\xbf", false},            /* overlong 3-byte */
        {"\xf0\x8f\xbf\xbf", false},        /* overlong 4-byte */
        {"\xed\xa0\x80", false},            /* U+D800 */
        {"\xed\xbf\xbf", false},            /* U+DFFF */
        {"\xf4\x90\x80\x80", false},        /* U+110000 */
        {"\xf5\x80\x80\x80", false},        /* F5 lead */
        {"\xf8\x88\x80\x80\x80", false},    /* 5-byte form */
        {"\xfe", false},
        {"\xff", false},
        {"\x80", false}, /* lone continuation */
        {"\xbf", false},
        {"\xc3", false}, /* truncated */
        {"\xe2\x82", false},
        {"\xf0\x9f\x98", false},
        {"\xc3\x28", false}, /* bad continuation */
        {"\xe2\x28\xa1", false},
        {"\xf0\x9f\x98\x28", false},
        {"a\xc3\xa9\xc3", false},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        bool got = le_utf8_valid(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].valid) fail_msg("case %zu: got %d want %d", i, got, cases[i].valid);
        /* Percent-encoded, the decoder must agree. */
        char enc[64];
        size_t n = 0;
        for (const char *p = cases[i].s; *p; p++)
            n += (size_t)sprintf(enc + n, "%%%02X", *p & 0xff);
        enc[n] = '\0';
        le_str_t out;
        le_dec_err_t rc = le_pct_decode(&arena, enc, n, false, false, &out);
        if ((rc == LE_DEC_OK) != cases[i].valid) fail_msg("case %zu decoded: %d", i, rc);
        if (!cases[i].valid) assert_int_equal(rc, LE_DEC_BAD_UTF8);
    }
    /* Controls are valid UTF-8; le_text_check is the stricter rule. */
    assert_true(le_utf8_valid("a\0b\x01", 4));
}

static void test_text_check(void **state) {
    assert_int_equal(le_text_check("hello \xc3\xa9", 8, false), LE_DEC_OK);
    assert_int_equal(le_text_check("a\tb", 3, false), LE_DEC_CONTROL);
    assert_int_equal(le_text_check("a\tb\r\n", 5, true), LE_DEC_OK);
    assert_int_equal(le_text_check("a\0b", 3, true), LE_DEC_CONTROL);
    assert_int_equal(le_text_check("\x7f", 1, true), LE_DEC_CONTROL);
    assert_int_equal(le_text_check("\xed\xa0\x80", 3, true), LE_DEC_BAD_UTF8);
    assert_int_equal(le_text_check("\xc3", 1, true), LE_DEC_BAD_UTF8);
}

/* ---- urlencoded ---- */

static le_kvlist_t form(const char *s, uint32_t max_pairs, uint32_t max_value, bool nl,
                        le_dec_err_t want) {
    le_kvlist_t l;
    le_dec_err_t rc = le_urlencoded_parse(&arena, s, strlen(s), max_pairs, max_value, nl, &l);
    if (rc != want)
        fail_msg("\"%.60s\": got %s, want %s", s, le_dec_strerror(rc), le_dec_strerror(want));
    if (rc != LE_DEC_OK) assert_int_equal(l.n, 0);
    return l;
}

static void assert_kv(const le_kvlist_t *l, uint32_t i, const char *k, const char *v) {
    assert_true(i < l->n);
    assert_int_equal(l->kv[i].key.len, strlen(k));
    assert_string_equal(l->kv[i].key.ptr, k);
    assert_int_equal(l->kv[i].val.len, strlen(v));
    assert_string_equal(l->kv[i].val.ptr, v);
}

/* The splitter against a plain one on every string of a small alphabet, at lengths that put
 * '&' and '=' on both sides of the 16-byte blocks the splitter reads at once. The reference
 * decodes each part on its own (le_pct_decode, which reads no byte past a part); the parser
 * decodes them all into one block, reading a part's neighbours in its vector steps. The
 * alphabet makes escapes ("%41", "%2"), UTF-8 (and broken UTF-8) and control bytes. */
static void test_urlencoded_split_matches_reference(void **state) {
    (void)state;
    static const char *const tok[] = {"a", "b", "=", "&", "+", "%41", "%2f", "%C3%A4", "\xc3\xa4",
                                      "aaaaaaa", "=&", "&&",
                                      /* and, rarely, bad ones */
                                      "%2", "\x01", "\xa4"};
    const size_t ntok = sizeof(tok) / sizeof(tok[0]);
    unsigned seed = 11;
    for (int round = 0; round < 20000; round++) {
        char s[80];
        size_t n = 0, want_len = (size_t)((seed = seed * 1103515245u + 12345u) >> 16) % 72;
        while (n < want_len) {
            unsigned r = (seed = seed * 1103515245u + 12345u) >> 16;
            size_t t = r % 64 == 0 ? ntok - 1 - r / 64 % 3 : r % (ntok - 3);
            size_t len = strlen(tok[t]);
            memcpy(s + n, tok[t], len);
            n += len;
        }
        uint32_t max_pairs = round % 7 == 0 ? 3 : 64;
        /* the reference: split by hand, decode each part */
        le_kv_t want[80];
        uint32_t nw = 0;
        le_dec_err_t wrc = LE_DEC_OK;
        size_t start = 0;
        for (size_t i = 0; i <= n && wrc == LE_DEC_OK; i++) {
            if (i < n && s[i] != '&') continue;
            if (i > start && ++nw > max_pairs) wrc = LE_DEC_TOO_MANY;
            start = i + 1;
        }
        start = 0;
        nw = 0;
        for (size_t i = 0; i <= n && wrc == LE_DEC_OK; i++) {
            if (i < n && s[i] != '&') continue;
            if (i > start) {
                const char *eq = memchr(s + start, '=', i - start);
                size_t ke = eq ? (size_t)(eq - s) : i, vs = eq ? ke + 1 : i;
                wrc = le_pct_decode(&arena, s + start, ke - start, true, false, &want[nw].key);
                if (wrc == LE_DEC_OK)
                    wrc = le_pct_decode(&arena, s + vs, i - vs, true, false, &want[nw].val);
                nw++;
            }
            start = i + 1;
        }
        le_kvlist_t got;
        le_dec_err_t rc = le_urlencoded_parse(&arena, s, n, max_pairs, 1024, false, &got);
        if (rc != wrc)
            fail_msg("\"%.*s\": got %s, want %s", (int)n, s, le_dec_strerror(rc),
                     le_dec_strerror(wrc));
        if (rc != LE_DEC_OK) continue;
        assert_int_equal(got.n, nw);
        for (uint32_t k = 0; k < nw; k++) {
            assert_int_equal(got.kv[k].key.ptr[got.kv[k].key.len], '\0');
            assert_int_equal(got.kv[k].val.ptr[got.kv[k].val.len], '\0');
            assert_int_equal(got.kv[k].key.len, want[k].key.len);
            assert_memory_equal(got.kv[k].key.ptr, want[k].key.ptr, want[k].key.len);
            assert_int_equal(got.kv[k].val.len, want[k].val.len);
            assert_memory_equal(got.kv[k].val.ptr, want[k].val.ptr, want[k].val.len);
        }
        le_arena_reset(&arena);
    }
}

static void test_urlencoded_basic(void **state) {
    le_kvlist_t l =
        form("e=pv&url=https%3A%2F%2Fa.example%2F&t=Hello+World", 64, 1024, false, LE_DEC_OK);
    assert_int_equal(l.n, 3);
    assert_kv(&l, 0, "e", "pv");
    assert_kv(&l, 1, "url", "https://a.example/");
    assert_kv(&l, 2, "t", "Hello World");

    l = form("", 64, 1024, false, LE_DEC_OK);
    assert_int_equal(l.n, 0);
    l = form("&&&", 64, 1024, false, LE_DEC_OK);
    assert_int_equal(l.n, 0);

    l = form("&a=1&&b=&c&=d&", 64, 1024, false, LE_DEC_OK);
    assert_int_equal(l.n, 4);
    assert_kv(&l, 0, "a", "1");
    assert_kv(&l, 1, "b", "");
    assert_kv(&l, 2, "c", ""); /* key without '=' */
    assert_kv(&l, 3, "", "d");

    l = form("a=b=c&x%3Dy=1", 64, 1024, false, LE_DEC_OK);
    assert_int_equal(l.n, 2);
    assert_kv(&l, 0, "a", "b=c");
    assert_kv(&l, 1, "x=y", "1");

    l = form("a%20b+c=%26%3D", 64, 1024, false, LE_DEC_OK);
    assert_kv(&l, 0, "a b c", "&=");

    l = form("a=1&a=2", 64, 1024, false, LE_DEC_OK); /* repeats are kept in order */
    assert_int_equal(l.n, 2);
    le_str_t v;
    assert_true(le_kvlist_get(&l, "a", &v));
    assert_string_equal(v.ptr, "1");
    assert_false(le_kvlist_get(&l, "b", &v));
}

static void test_urlencoded_newlines(void **state) {
    le_kvlist_t l = form("msg=line1%0D%0Aline2", 64, 1024, true, LE_DEC_OK);
    assert_kv(&l, 0, "msg", "line1\r\nline2");
    form("msg=line1%0D%0Aline2", 64, 1024, false, LE_DEC_CONTROL);
    form("m%0Asg=x", 64, 1024, true, LE_DEC_CONTROL); /* never in keys */
    form("a=1&b=%00", 64, 1024, true, LE_DEC_CONTROL);
    form("a=1&b=%ZZ", 64, 1024, true, LE_DEC_BAD_PERCENT);
    form("a=%C0%AF", 64, 1024, true, LE_DEC_BAD_UTF8);
}

static void test_urlencoded_limits(void **state) {
    /* 10k params against a bound of 256. */
    size_t n = 10000 * 4;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < 10000; i++) memcpy(s + i * 4, "a=1&", 4);
    s[n - 1] = '\0';
    form(s, 256, 1024, false, LE_DEC_TOO_MANY);
    le_kvlist_t l = form(s, 10000, 1024, false, LE_DEC_OK);
    assert_int_equal(l.n, 10000);
    free(s);

    form("a=1&b=2&c=3", 2, 1024, false, LE_DEC_TOO_MANY);
    l = form("a=1&b=2&&&", 2, 1024, false, LE_DEC_OK); /* empty segments do not count */
    assert_int_equal(l.n, 2);

    /* The bound is on the decoded length. */
    l = form("v=%41%41%41%41", 64, 4, false, LE_DEC_OK);
    assert_kv(&l, 0, "v", "AAAA");
    form("v=AAAAA", 64, 4, false, LE_DEC_TOO_LONG);
    form("vvvvv=1", 64, 4, false, LE_DEC_TOO_LONG);
}

/* ---- cookies ---- */

static void assert_cookie(const char *hdr, const char *name, const char *want) {
    le_str_t v = {NULL, 0};
    bool found = le_cookie_get(le_str(hdr), name, &v);
    if (!want) {
        if (found) fail_msg("%s in \"%s\": found \"%.*s\"", name, hdr, (int)v.len, v.ptr);
        return;
    }
    if (!found) fail_msg("%s in \"%s\": not found", name, hdr);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.ptr, want, v.len);
}

static void test_cookies(void **state) {
    assert_cookie("le_vid=abc", "le_vid", "abc");
    assert_cookie("a=1; le_vid=abc; b=2", "le_vid", "abc");
    assert_cookie("a=1;le_vid=abc;b=2", "le_vid", "abc");
    assert_cookie("a=1 ;  le_vid = abc ; b=2", "le_vid", "abc");
    assert_cookie("le_vid=\"q v\"; b=2", "le_vid", "q v");
    assert_cookie("le_vid=\"\"", "le_vid", "");
    assert_cookie("le_vid=", "le_vid", "");
    assert_cookie("le_vid=first; le_vid=second", "le_vid", "first");
    assert_cookie("le_vid=a=b", "le_vid", "a=b");
    assert_cookie("a=1; b=2", "le_vid", NULL);
    assert_cookie("", "le_vid", NULL);
    assert_cookie("xle_vid=1", "le_vid", NULL);
    assert_cookie("le_vidx=1; Le_vid=2; le_vi=3", "le_vid", NULL);
    assert_cookie("xle_vid=1; le_vid=2", "le_vid", "2");
    assert_cookie("le_vid; b=2", "le_vid", NULL);
    assert_cookie("garbage;;; ;le_c=1", "le_c", "1");
    le_str_t v;
    assert_false(le_cookie_get(LE_STR_NULL, "le_vid", &v));
}

/* ---- media types ---- */

static void test_media_type(void **state) {
    assert_true(le_media_type_is(LE_STR("application/json"), "application/json"));
    assert_true(le_media_type_is(LE_STR("application/json; charset=utf-8"), "application/json"));
    assert_true(le_media_type_is(LE_STR("Application/JSON;charset=UTF-8"), "application/json"));
    assert_true(le_media_type_is(LE_STR("  text/plain  ; x=y"), "text/plain"));
    assert_true(le_media_type_is(LE_STR("\tapplication/x-www-form-urlencoded\t"),
                                 "application/x-www-form-urlencoded"));
    assert_true(le_media_type_is(LE_STR("multipart/form-data; boundary=x"), "multipart/form-data"));
    assert_false(le_media_type_is(LE_STR("application/jsonx"), "application/json"));
    assert_false(le_media_type_is(LE_STR("application/json-seq"), "application/json"));
    assert_false(le_media_type_is(LE_STR("text/json"), "application/json"));
    assert_false(le_media_type_is(LE_STR("application/ json"), "application/json"));
    assert_false(le_media_type_is(LE_STR(""), "application/json"));
    assert_false(le_media_type_is(LE_STR_NULL, "application/json"));
}

/* ---- Accept ---- */

static void test_accepts_json(void **state) {
    static const struct {
        const char *accept;
        bool json;
    } cases[] = {
        {"application/json", true},
        {"Application/JSON", true},
        {"application/json, text/plain, */*", true}, /* axios */
        {"application/json;q=0.9, text/html;q=0.8", true},
        {"text/html;q=0.5, application/*", true},
        {"application/*;q=0.9", true},
        {"application/json, text/*;q=0.9", true},
        {"*/*", false},
        {"", false},
        {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
         false},
        {"text/html, application/json", false}, /* a tie goes to HTML */
        {"application/json;q=0.5, text/html", false},
        {"application/json;q=0", false},
        {"application/json;q=0.000", false},
        {"application/*, application/json;q=0", false}, /* the specific range wins */
        {"application/json, text/*", false},
        {"application/json;q=0.8, text/*;q=0.9", false},
        {"application/json;q=1.5", false}, /* malformed q ignores the element */
        {"application/json;q=abc", false},
        {"application/json;q=0.1234", false},
        {"application/json ; q=0.5", true},
        {"text/html;q=0.1,application/json;q=0.2", true},
        {"application/xml, application/ld+json", false},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        bool got = le_accepts_json(le_str(cases[i].accept));
        if (got != cases[i].json) fail_msg("\"%s\": got %d", cases[i].accept, got);
    }
    assert_false(le_accepts_json(LE_STR_NULL));
}

static void test_accepts_gzip(void **state) {
    (void)state;
    static const struct {
        const char *ae;
        bool gzip;
    } cases[] = {
        {"gzip, deflate, br, zstd", true}, /* Chrome */
        {"GZIP", true},
        {"x-gzip", true},
        {"*", true},
        {"br;q=1, gzip;q=0.5", true},
        {"identity, gzip;q=1.0", true},
        {"gzip ; q=0.5", true},
        {"", false},
        {"identity", false},
        {"br", false},
        {"gzip;q=0", false},
        {"gzip;q=0.000, br", false},
        {"x-gzip;q=0, *;q=0", false},
        {"gzip;q=0, *", false}, /* named gzip decides over the wildcard */
        {"*;q=0, gzip", true},
        {"gzip;q=abc", false}, /* malformed q ignores the element */
        {"gzipx, xgzip", false},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        bool got = le_accepts_gzip(le_str(cases[i].ae));
        if (got != cases[i].gzip) fail_msg("\"%s\": got %d", cases[i].ae, got);
    }
    assert_false(le_accepts_gzip(LE_STR_NULL));
}

static void test_strerror(void **state) {
    assert_string_equal(le_dec_strerror(LE_DEC_OK), "ok");
    assert_string_equal(le_dec_strerror(LE_DEC_BAD_UTF8), "invalid UTF-8");
    assert_string_equal(le_dec_strerror((le_dec_err_t)999), "unknown decode error");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pct_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urlencoded_split_matches_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pct_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pct_mixed_raw_and_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pct_plus_and_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pct_embedded_nul_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pct_never_reads_past_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pct_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urlencoded_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urlencoded_newlines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urlencoded_limits, setup, teardown),
        cmocka_unit_test(test_cookies),
        cmocka_unit_test(test_media_type),
        cmocka_unit_test(test_accepts_json),
        cmocka_unit_test(test_accepts_gzip),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
