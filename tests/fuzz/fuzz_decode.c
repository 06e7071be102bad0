/*
 * fuzz_decode.c: libFuzzer driver for every decoder in pixel/decode.h.
 *
 * Input layout: byte 0 holds options (bit 0 plus_space, bit 1
 * allow_newline, bits 2-3 pick one of four limit tiers, from generous down
 * to zero); the remaining bytes are the data, fed to every decoder in turn:
 * UTF-8 and text checks (against a straightforward reference decoder),
 * percent-decoding (against a reference two-pass decoder), urlencoded,
 * Cookie, Content-Type and Accept, multipart (the first line as the
 * Content-Type and the rest as the body, then the whole data under a fixed
 * boundary "B"), JSON forms and events, and every resulting param list
 * through le_event_from_params. Besides the sanitizers, the driver aborts
 * when a decoder breaks its contract: output that is not NUL-terminated,
 * not valid UTF-8, holding a forbidden control, or over a bound.
 *
 * Built with fuzz_arena.c, which gives every arena allocation its own
 * redzone. tests/fuzz/corpus/decode holds the seeds; replay_main.c replays
 * them under ctest with any compiler.
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_decode: invariant broken: %s (line %d)\n", #cond, __LINE__);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    uint32_t pairs, value, batch, props;
} tier_t;

static const tier_t tiers[4] = {
    {64, 4096, 20, 32},
    {4, 16, 3, 2},
    {1, 4, 1, 1},
    {0, 0, 0, 0},
};

/* Reference UTF-8 and control check, written the obvious way: 0 ok, else the decode error. */
static le_dec_err_t ref_text(const uint8_t *s, size_t n, bool controls, bool nl) {
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c < 0x80) {
            bool ctl = c < 0x20 || c == 0x7F;
            if (controls && ctl && !(nl && (c == '\t' || c == '\r' || c == '\n')))
                return LE_DEC_CONTROL;
            i++;
            continue;
        }
        size_t len = c >= 0xF8 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        if (!len) return LE_DEC_BAD_UTF8;
        uint32_t cp = c & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return LE_DEC_BAD_UTF8;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return LE_DEC_BAD_UTF8;
        i += len;
    }
    return LE_DEC_OK;
}

static int ref_hex(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reference percent-decoder: decode everything, then validate. */
static bool ref_pct(const uint8_t *s, size_t n, bool plus, bool nl, uint8_t *out, size_t *olen) {
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) return false;
            int h = ref_hex(s[i + 1]), l = ref_hex(s[i + 2]);
            if (h < 0 || l < 0) return false;
            out[j++] = (uint8_t)(h * 16 + l);
            i += 2;
        } else {
            out[j++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    *olen = j;
    return ref_text(out, j, true, nl) == LE_DEC_OK;
}

static void check_str(le_str_t s, bool nl, uint32_t max) {
    CHECK(s.ptr != NULL);
    CHECK(s.len <= max);
    CHECK(s.ptr[s.len] == '\0');
    CHECK(ref_text((const uint8_t *)s.ptr, s.len, true, nl) == LE_DEC_OK);
}

static void check_list(const le_kvlist_t *l, uint32_t max_n, uint32_t max_value, bool nl) {
    CHECK(l->n <= max_n);
    CHECK(l->n == 0 || l->kv != NULL);
    for (uint32_t i = 0; i < l->n; i++) {
        check_str(l->kv[i].key, false, max_value);
        check_str(l->kv[i].val, nl, max_value);
    }
}

static bool ref_alpha(le_str_t s, const char *extra, size_t max) {
    if (s.len < 1 || s.len > max) return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c && strchr(extra, c));
        if (!ok) return false;
    }
    return true;
}

static void check_event(const le_kvlist_t *params, const tier_t *t, le_arena_t *a) {
    le_event_limits_t lim = {.max_props = t->props, .max_value_len = t->value};
    le_event_t ev;
    memset(&ev, 0xA5, sizeof(ev));
    const char *why = NULL;
    le_dec_err_t rc = le_event_from_params(params, &lim, a, &ev, &why);
    CHECK(why != NULL);
    if (rc != LE_DEC_OK) {
        CHECK(ev.type == 0xA5 && ev.nprops == 0xA5A5A5A5u); /* untouched */
        return;
    }
    le_str_t e;
    CHECK(le_kvlist_get(params, "e", &e));
    if (ev.type == LE_EV_PAGEVIEW) {
        CHECK(le_str_eq(e, "pv") && le_str_eq(ev.name, "pageview"));
    } else {
        CHECK(ev.type == LE_EV_EVENT);
        CHECK(ref_alpha(ev.name, "_.:-", 64));
        CHECK(!le_str_eq(ev.name, "pageview") && !le_str_eq(ev.name, "form"));
    }
    CHECK(ev.url.ptr && ev.url.len <= lim.max_value_len);
    CHECK(ev.ref.ptr && ev.ref.len <= lim.max_value_len);
    CHECK(ev.title.ptr && ev.title.len <= lim.max_value_len);
    CHECK(ev.vid.ptr && (ev.vid.len == 0 || ref_alpha(ev.vid, "_-", 64)));
    CHECK(ev.client_ts_ms >= 0 && ev.client_ts_ms <= 9999999999999LL);
    CHECK(ev.nprops <= lim.max_props);
    CHECK(ev.nprops == 0 || ev.props != NULL);
    for (uint32_t i = 0; i < ev.nprops; i++) {
        CHECK(ref_alpha(ev.props[i].key, "_.:-", 64));
        CHECK(ev.props[i].val.len <= lim.max_value_len);
        for (uint32_t j = 0; j < i; j++) {
            CHECK(ev.props[j].key.len != ev.props[i].key.len ||
                  memcmp(ev.props[j].key.ptr, ev.props[i].key.ptr, ev.props[i].key.len) != 0);
        }
    }
    CHECK(ev.time_ms == (int64_t)0xA5A5A5A5A5A5A5A5ULL); /* not a protocol field */
}

static void fuzz_text(const uint8_t *d, size_t n, bool plus, bool nl, le_arena_t *a) {
    const char *s = (const char *)d;
    CHECK(le_utf8_valid(s, n) == (ref_text(d, n, false, false) == LE_DEC_OK));
    CHECK(le_text_check(s, n, nl) == ref_text(d, n, true, nl));

    le_str_t out;
    le_dec_err_t rc = le_pct_decode(a, s, n, plus, nl, &out);
    uint8_t *ref = malloc(n ? n : 1);
    size_t rlen = 0;
    bool ref_ok = ref_pct(d, n, plus, nl, ref, &rlen);
    CHECK((rc == LE_DEC_OK) == ref_ok);
    if (rc == LE_DEC_OK) {
        check_str(out, nl, (uint32_t)n);
        CHECK(out.len == rlen && memcmp(out.ptr, ref, rlen) == 0);
    }
    free(ref);
}

static void fuzz_headers(const uint8_t *d, size_t n) {
    le_str_t h = {(const char *)d, n}, v;
    static const char *names[] = {"le_vid", "a", "le_consent"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(names); i++) {
        if (le_cookie_get(h, names[i], &v)) {
            CHECK(v.ptr >= h.ptr && v.ptr + v.len <= h.ptr + h.len);
        }
    }
    (void)le_media_type_is(h, "application/json");
    (void)le_media_type_is(h, "multipart/form-data");
    (void)le_accepts_json(h);
}

static void fuzz_multipart(le_str_t ct, const char *body, size_t n, const tier_t *t,
                           le_arena_t *a) {
    le_kvlist_t l;
    if (le_multipart_parse(a, ct, body, n, t->pairs, t->value, &l) == LE_DEC_OK) {
        check_list(&l, t->pairs, t->value, true);
    } else {
        CHECK(l.n == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t opt = data[0];
    bool plus = opt & 1, nl = opt & 2;
    const tier_t *t = &tiers[(opt >> 2) & 3];
    /* The data proper in its own exact-size buffer, so reads past it are caught. */
    size_t n = size - 1;
    char *s = malloc(n ? n : 1);
    memcpy(s, data + 1, n);
    const uint8_t *d = (const uint8_t *)s;
    le_arena_t a;
    le_arena_init(&a, NULL, 0);

    fuzz_text(d, n, plus, nl, &a);
    fuzz_headers(d, n);

    le_kvlist_t l;
    if (le_urlencoded_parse(&a, s, n, t->pairs, t->value, nl, &l) == LE_DEC_OK) {
        check_list(&l, t->pairs, t->value, nl);
        check_event(&l, t, &a);
    } else {
        CHECK(l.n == 0);
    }

    const char *eol = memchr(s, '\n', n);
    size_t ctlen = eol ? (size_t)(eol - s) : n;
    const char *body = eol ? eol + 1 : s + n;
    fuzz_multipart((le_str_t){s, ctlen}, body, n - (size_t)(body - s), t, &a);
    fuzz_multipart(LE_STR("multipart/form-data; boundary=B"), s, n, t, &a);

    if (le_json_form_parse(&a, s, n, t->pairs, t->value, &l) == LE_DEC_OK) {
        check_list(&l, t->pairs, t->value, true);
    } else {
        CHECK(l.n == 0);
    }

    /* Bit 4 picks the plain events entry point (no per-event reasons). */
    le_kvlist_t *evs;
    uint32_t nev;
    le_dec_err_t *errs = NULL;
    le_dec_err_t rc =
        opt & 16
            ? le_json_events_parse(&a, s, n, t->batch, t->pairs, t->value, &evs, &nev)
            : le_json_events_parse_ex(&a, s, n, t->batch, t->pairs, t->value, &evs, &nev, &errs);
    CHECK(le_dec_strerror(rc)[0] != '\0');
    if (rc == LE_DEC_OK) {
        CHECK(nev <= t->batch && (errs != NULL || opt & 16));
        for (uint32_t i = 0; i < nev; i++) {
            CHECK(!errs || errs[i] == LE_DEC_OK || evs[i].n == 0);
            check_list(&evs[i], t->pairs, t->value, false);
            check_event(&evs[i], t, &a);
        }
    } else {
        CHECK(evs == NULL && nev == 0 && errs == NULL);
    }

    le_arena_free(&a);
    free(s);
    return 0;
}
