/*
 * decode.c: the tracking protocol's text decoders: UTF-8 and control
 * character checks, percent-decoding, application/x-www-form-urlencoded, the
 * Cookie, Content-Type and Accept headers, and multipart/form-data.
 *
 * Every byte here is untrusted. The decoders run in one pass over their
 * input, never read past s[n), bound every count and length they produce,
 * and copy what they accept into the request's arena as NUL-terminated,
 * valid UTF-8. JSON bodies are in decode_json.c, param lists to events in
 * params.c.
 */
#include "decode.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

const char *le_dec_strerror(le_dec_err_t e) {
    switch (e) {
        case LE_DEC_OK:
            return "ok";
        case LE_DEC_BAD_PERCENT:
            return "bad percent-encoding";
        case LE_DEC_BAD_UTF8:
            return "invalid UTF-8";
        case LE_DEC_CONTROL:
            return "forbidden control character";
        case LE_DEC_TOO_MANY:
            return "too many params";
        case LE_DEC_TOO_LONG:
            return "value too long";
        case LE_DEC_BAD_JSON:
            return "bad JSON";
        case LE_DEC_BAD_MULTIPART:
            return "bad multipart body";
        case LE_DEC_MISSING:
            return "missing required param";
        case LE_DEC_BAD_VALUE:
            return "bad param value";
    }
    return "unknown decode error";
}

/*
 * UTF-8 as an incremental checker (RFC 3629, table 3-7 of Unicode): a lead
 * byte sets how many continuation bytes follow and the range the first of
 * them must fall in, which is what excludes overlongs (E0 80..9F, F0
 * 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..BF).
 * C0, C1 and F5..FF never lead. The same checker also refuses C0 controls
 * and DEL, so percent-decoding validates while it copies.
 */
typedef struct {
    unsigned need;    /* continuation bytes still expected */
    unsigned char lo; /* range of the next continuation byte */
    unsigned char hi;
    bool allow_newline;
} utf8_st;

static inline le_dec_err_t utf8_step(utf8_st *st, unsigned char c) {
    if (st->need) {
        if (c < st->lo || c > st->hi) return LE_DEC_BAD_UTF8;
        st->need--;
        st->lo = 0x80;
        st->hi = 0xBF;
        return LE_DEC_OK;
    }
    if (c < 0x80) {
        if (LE_UNLIKELY(c < 0x20 || c == 0x7F)) {
            if (st->allow_newline && (c == '\t' || c == '\r' || c == '\n')) return LE_DEC_OK;
            return LE_DEC_CONTROL;
        }
        return LE_DEC_OK;
    }
    if (c < 0xC2) return LE_DEC_BAD_UTF8; /* continuation or overlong 2-byte lead */
    if (c < 0xE0) {
        st->need = 1;
    } else if (c < 0xF0) {
        st->need = 2;
        st->lo = c == 0xE0 ? 0xA0 : 0x80;
        st->hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c < 0xF5) {
        st->need = 3;
        st->lo = c == 0xF0 ? 0x90 : 0x80;
        st->hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return LE_DEC_BAD_UTF8;
    }
    return LE_DEC_OK;
}

static inline void utf8_init(utf8_st *st, bool allow_newline) {
    st->need = 0;
    st->lo = 0x80;
    st->hi = 0xBF;
    st->allow_newline = allow_newline;
}

le_dec_err_t le_text_check(const char *s, size_t n, bool allow_newline) {
    utf8_st st;
    utf8_init(&st, allow_newline);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        /* Plain printable ASCII is the common case; skip the state machine. */
        if (LE_LIKELY(st.need == 0 && p[i] >= 0x20 && p[i] < 0x7F)) continue;
        le_dec_err_t rc = utf8_step(&st, p[i]);
        if (rc != LE_DEC_OK) return rc;
    }
    return st.need ? LE_DEC_BAD_UTF8 : LE_DEC_OK;
}

bool le_utf8_valid(const char *s, size_t n) {
    utf8_st st;
    utf8_init(&st, true);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    /* ASCII fast path, 8 bytes at a time: headers such as User-Agent are almost always ASCII. */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) break;
    }
    for (; i < n; i++) {
        if (p[i] < 0x80 && st.need == 0) continue; /* controls are not a UTF-8 matter */
        if (utf8_step(&st, p[i]) != LE_DEC_OK) return false;
    }
    return st.need == 0;
}

/* Output room decode() needs for n input bytes: it may store a whole vector past the last byte
 * it keeps, and the NUL. */
#define DECODE_ROOM(n) ((n) + 16 + 1)

/*
 * Percent-decode s[0..n) into o (DECODE_ROOM(n) bytes), NUL-terminated; *len gets the decoded
 * length. readable >= n is how many bytes from s may be read: where the caller knows the input
 * goes on (a pair inside a query string), the vector loop covers a short key or value in one
 * 16-byte step instead of a byte at a time, looking at no more than those bytes.
 */
static le_dec_err_t decode(const char *s, size_t n, size_t readable, bool plus_space,
                           bool allow_newline, char *o, size_t *len) {
    size_t j = 0;
    utf8_st st;
    utf8_init(&st, allow_newline);
    for (size_t i = 0; i < n;) {
#ifdef __SSE2__
        /* Runs of plain printable ASCII (most of a URL) are copied 16 bytes at a time. */
        if (st.need == 0) {
            const __m128i sp = _mm_set1_epi8(0x1F), del = _mm_set1_epi8(0x7F);
            const __m128i pct = _mm_set1_epi8('%'), plus = _mm_set1_epi8('+');
            while (i < n && readable - i >= 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
                __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, sp), _mm_cmplt_epi8(v, del));
                __m128i esc = _mm_or_si128(_mm_cmpeq_epi8(v, pct), _mm_cmpeq_epi8(v, plus));
                unsigned plain = (unsigned)_mm_movemask_epi8(_mm_andnot_si128(esc, ok));
                size_t left = n - i;
                unsigned valid = left >= 16 ? 0xffffu : (1u << left) - 1u;
                /* all 16 stored: j <= i, so they fit in DECODE_ROOM, and what follows the
                 * plain run is overwritten next (or is past the end) */
                _mm_storeu_si128((__m128i *)(void *)(o + j), v);
                unsigned stop = ~plain & valid;
                if (!stop) {
                    size_t step = left >= 16 ? 16 : left;
                    i += step;
                    j += step;
                    continue;
                }
                size_t k = (size_t)__builtin_ctz(stop);
                i += k;
                j += k;
                /* The usual escapes of a URL ("%3A%2F%2F", "+") decode to printable ASCII:
                 * written here, without leaving the vector loop. */
                if (s[i] == '%' && n - i >= 3) {
                    int h = le_hexval(s[i + 1]), l = le_hexval(s[i + 2]);
                    int d = h >= 0 && l >= 0 ? h << 4 | l : -1;
                    if (d >= 0x20 && d < 0x7F) {
                        o[j++] = (char)d;
                        i += 3;
                        continue;
                    }
                } else if (s[i] == '+' && plus_space) {
                    o[j++] = ' ';
                    i++;
                    continue;
                }
                break;
            }
            if (i >= n) break;
        }
#endif
        unsigned char c = (unsigned char)s[i];
        if (LE_LIKELY(st.need == 0 && c >= 0x20 && c < 0x7F && c != '%' && c != '+')) {
            o[j++] = (char)c;
            i++;
            continue;
        }
        if (c == '%') {
            if (n - i < 3) return LE_DEC_BAD_PERCENT;
            int h = le_hexval(s[i + 1]), l = le_hexval(s[i + 2]);
            if (h < 0 || l < 0) return LE_DEC_BAD_PERCENT;
            c = (unsigned char)(h << 4 | l);
            i += 3;
        } else {
            if (c == '+' && plus_space) c = ' ';
            i++;
        }
        le_dec_err_t rc = utf8_step(&st, c);
        if (rc != LE_DEC_OK) return rc;
        o[j++] = (char)c;
    }
    if (st.need) return LE_DEC_BAD_UTF8;
    o[j] = '\0';
    *len = j;
    return LE_DEC_OK;
}

le_dec_err_t le_pct_decode(le_arena_t *a, const char *s, size_t n, bool plus_space,
                           bool allow_newline, le_str_t *out) {
    char *o = le_arena_alloc(a, DECODE_ROOM(n));
    size_t len;
    *out = LE_STR_NULL;
    le_dec_err_t rc = decode(s, n, n, plus_space, allow_newline, o, &len);
    if (rc == LE_DEC_OK) *out = (le_str_t){o, len};
    return rc;
}

bool le_kvlist_get(const le_kvlist_t *l, const char *key, le_str_t *val) {
    for (uint32_t i = 0; i < l->n; i++) {
        if (le_str_eq(l->kv[i].key, key)) {
            *val = l->kv[i].val;
            return true;
        }
    }
    return false;
}

/* Bit i set where s[i] is c, for the 16 bytes at s. */
#ifdef __SSE2__
static inline unsigned bytes_eq16(const char *s, char c) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}
#endif

/* One "key=value" segment of s: its start, its first '=' (or end), its end. */
typedef struct {
    uint32_t start, eq, end;
} seg_t;

/* The split so far: the non-empty segments found, and the one being read. */
typedef struct {
    seg_t *seg;
    uint32_t n, max;
    uint32_t start, eq; /* of the current segment; eq UINT32_MAX until its first '=' */
} split_t;

/* The current segment ends at at ('&' or the end of s): false when it is one too many. */
static inline bool split_end(split_t *sp, uint32_t at) {
    if (at > sp->start) {
        if (sp->n == sp->max) return false;
        sp->seg[sp->n++] = (seg_t){sp->start, sp->eq == UINT32_MAX ? at : sp->eq, at};
    }
    sp->start = at + 1;
    sp->eq = UINT32_MAX;
    return true;
}

static inline void split_eq(split_t *sp, uint32_t at) {
    if (sp->eq == UINT32_MAX) sp->eq = at;
}

le_dec_err_t le_urlencoded_parse(le_arena_t *a, const char *s, size_t n, uint32_t max_pairs,
                                 uint32_t max_value, bool allow_newline, le_kvlist_t *out) {
    *out = (le_kvlist_t){NULL, 0};
    if (!s || n == 0) return LE_DEC_OK; /* an absent query or body is empty */
    if (n > UINT32_MAX) return LE_DEC_TOO_LONG;

    /* Split first, in one pass over the bytes (16 at a time where SSE2 is there, finding
     * every '&' and '=' at once): a flood of pairs fails before anything is decoded. */
    size_t most = LE_MIN((size_t)max_pairs, n / 2 + 1); /* non-empty segments are 1+ bytes apart */
    split_t sp = {le_arena_alloc(a, (most + 1) * sizeof(seg_t)), 0, max_pairs, 0, UINT32_MAX};
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        unsigned amp = bytes_eq16(s + i, '&'), all = amp | bytes_eq16(s + i, '=');
        while (all) {
            unsigned b = (unsigned)__builtin_ctz(all);
            all &= all - 1;
            if (!(amp >> b & 1))
                split_eq(&sp, (uint32_t)(i + b));
            else if (!split_end(&sp, (uint32_t)(i + b)))
                return LE_DEC_TOO_MANY;
        }
    }
#endif
    for (; i < n; i++) {
        if (s[i] == '=')
            split_eq(&sp, (uint32_t)i);
        else if (s[i] == '&' && !split_end(&sp, (uint32_t)i))
            return LE_DEC_TOO_MANY;
    }
    if (!split_end(&sp, (uint32_t)n)) return LE_DEC_TOO_MANY;
    uint32_t count = sp.n;
    const seg_t *seg = sp.seg;
    if (count == 0) return LE_DEC_OK;

    /* One block for every decoded key and value: decoding never grows a string, each takes
     * its length and a NUL, and the last one the vector slack (DECODE_ROOM). The pairs are
     * read with the rest of s as readable. */
    le_kv_t *kv = le_arena_alloc(a, count * sizeof(*kv));
    char *o = le_arena_alloc(a, DECODE_ROOM(n + 2 * (size_t)count));
    for (uint32_t k = 0; k < count; k++) {
        const seg_t *g = &seg[k];
        const char *key = s + g->start, *v = s + (g->eq < g->end ? g->eq + 1 : g->end);
        size_t klen, vlen;
        le_dec_err_t rc = decode(key, g->eq - g->start, n - g->start, true, false, o, &klen);
        if (rc == LE_DEC_OK && klen > max_value) rc = LE_DEC_TOO_LONG;
        if (rc != LE_DEC_OK) return rc;
        kv[k].key = (le_str_t){o, klen};
        o += klen + 1;
        rc =
            decode(v, (size_t)(s + g->end - v), (size_t)(s + n - v), true, allow_newline, o, &vlen);
        if (rc == LE_DEC_OK && vlen > max_value) rc = LE_DEC_TOO_LONG;
        if (rc != LE_DEC_OK) return rc;
        kv[k].val = (le_str_t){o, vlen};
        o += vlen + 1;
    }
    *out = (le_kvlist_t){kv, count};
    return LE_DEC_OK;
}

/* ---- HTTP header helpers ---------------------------------------------------------------- */

static inline bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

static le_str_t trim(const char *p, const char *e) {
    while (p < e && is_ows(*p)) p++;
    while (e > p && is_ows(e[-1])) e--;
    return (le_str_t){p, (size_t)(e - p)};
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool le_cookie_get(le_str_t header, const char *name, le_str_t *val) {
    size_t nlen = strlen(name);
    if (!header.ptr) return false;
    const char *p = header.ptr, *end = header.ptr + header.len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (eq) {
            le_str_t k = trim(p, eq);
            if (k.len == nlen && memcmp(k.ptr, name, nlen) == 0) {
                le_str_t v = trim(eq + 1, e);
                if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
                    v.ptr++;
                    v.len -= 2;
                }
                *val = v;
                return true;
            }
        }
        p = e + 1;
    }
    return false;
}

/* The media type of a Content-Type or Accept element: up to the first ';', trimmed. */
static le_str_t media_type(const char *p, const char *e, const char **params) {
    const char *semi = memchr(p, ';', (size_t)(e - p));
    *params = semi ? semi : e;
    return trim(p, *params);
}

bool le_media_type_is(le_str_t content_type, const char *type) {
    if (!content_type.ptr) return false;
    const char *params;
    le_str_t t = media_type(content_type.ptr, content_type.ptr + content_type.len, &params);
    return le_str_ieq(t, type);
}

/*
 * The next "; name=value" of a header's parameter list, starting at *p (on
 * the ';'). Values are a token or a quoted-string; inside quotes, bytes are
 * taken as they are up to the closing quote (browsers percent-encode '"' in
 * multipart names rather than backslash-escape it, and send '\' raw).
 * Returns 1 with a param, 0 at the end, -1 on a malformed list.
 */
static int next_param(const char **p, const char *end, le_str_t *name, le_str_t *val) {
    const char *q = *p;
    while (q < end && (is_ows(*q) || *q == ';')) q++;
    if (q == end) return 0;
    const char *ns = q;
    while (q < end && is_tchar((unsigned char)*q)) q++;
    if (q == ns) return -1;
    *name = (le_str_t){ns, (size_t)(q - ns)};
    while (q < end && is_ows(*q)) q++;
    if (q == end || *q != '=') return -1;
    q++;
    while (q < end && is_ows(*q)) q++;
    if (q < end && *q == '"') {
        const char *vs = ++q;
        const char *cq = memchr(q, '"', (size_t)(end - q));
        if (!cq) return -1;
        *val = (le_str_t){vs, (size_t)(cq - vs)};
        q = cq + 1;
        while (q < end && is_ows(*q)) q++;
        if (q < end && *q != ';') return -1;
    } else {
        const char *vs = q;
        const char *semi = memchr(q, ';', (size_t)(end - q));
        q = semi ? semi : end;
        *val = trim(vs, q);
    }
    *p = q;
    return 1;
}

/*
 * An RFC 9110 qvalue as thousandths: "0", "0.5", "1", "1.000"; -1 when
 * malformed.
 */
static int parse_q(le_str_t v) {
    if (v.len == 0 || v.len > 5 || (v.ptr[0] != '0' && v.ptr[0] != '1')) return -1;
    int q = (v.ptr[0] - '0') * 1000, scale = 100;
    if (v.len > 1) {
        if (v.ptr[1] != '.') return -1;
        for (size_t i = 2; i < v.len; i++) {
            if (v.ptr[i] < '0' || v.ptr[i] > '9') return -1;
            q += (v.ptr[i] - '0') * scale;
            scale /= 10;
        }
    }
    return q > 1000 ? -1 : q;
}

/*
 * The next element of an Accept-style list ("text/html;q=0.9, ..." or "gzip;q=0, br") from *p:
 * its value and its q in thousandths (1000 when absent, -1 when its parameters are malformed,
 * so that it is ignored). false at the end of the list.
 */
static bool next_q(const char **p, const char *end, le_str_t *value, int *q) {
    if (*p >= end) return false;
    const char *comma = memchr(*p, ',', (size_t)(end - *p));
    const char *e = comma ? comma : end;
    const char *params;
    *value = media_type(*p, e, &params);
    *q = 1000;
    le_str_t pn, pv;
    int r;
    while ((r = next_param(&params, e, &pn, &pv)) > 0)
        if (le_str_ieq(pn, "q")) *q = parse_q(pv);
    if (r < 0) *q = -1;
    *p = e + 1;
    return true;
}

bool le_accepts_gzip(le_str_t accept_encoding) {
    int gzip = -1, any = -1; /* best q of each; -1 when not listed */
    if (!accept_encoding.ptr) return false;
    const char *p = accept_encoding.ptr, *end = p + accept_encoding.len;
    le_str_t coding;
    int q;
    while (next_q(&p, end, &coding, &q)) {
        if (le_str_ieq(coding, "gzip") || le_str_ieq(coding, "x-gzip"))
            gzip = LE_MAX(gzip, q);
        else if (le_str_eq(coding, "*"))
            any = LE_MAX(any, q);
    }
    /* gzip named decides; else the wildcard (RFC 9110 12.5.3) */
    return (gzip >= 0 ? gzip : any) > 0;
}

bool le_accepts_json(le_str_t accept) {
    /* Best q per range; -1 when the range is not listed. */
    int json = -1, app_any = -1, html = -1, text_any = -1;
    if (!accept.ptr) return false;
    const char *p = accept.ptr, *end = accept.ptr + accept.len;
    le_str_t range;
    int q;
    while (next_q(&p, end, &range, &q)) {
        if (q >= 0) {
            int *slot = NULL;
            if (le_str_ieq(range, "application/json"))
                slot = &json;
            else if (le_str_ieq(range, "application/*"))
                slot = &app_any;
            else if (le_str_ieq(range, "text/html"))
                slot = &html;
            else if (le_str_ieq(range, "text/*"))
                slot = &text_any;
            if (slot && q > *slot) *slot = q;
        }
    }
    /* The most specific listed range decides each side (RFC 9110 12.5.1). */
    int jq = json >= 0 ? json : app_any >= 0 ? app_any : 0;
    int hq = html >= 0 ? html : text_any >= 0 ? text_any : 0;
    return jq > 0 && jq > hq;
}

/* ---- multipart/form-data ---------------------------------------------------------------- */

/* Per-part header bounds: far above what browsers send (one or two short lines). */
#define MP_MAX_HEADER_BYTES 8192
#define MP_MAX_HEADERS 16
#define MP_MAX_BOUNDARY 70

/* RFC 2046 bchars (space is allowed too, but not last). */
static bool is_bchar(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c && strchr("'()+_,-./:=? ", c) != NULL;
}

static bool boundary_get(le_str_t content_type, le_str_t *b) {
    const char *params, *end = content_type.ptr + content_type.len;
    le_str_t t = media_type(content_type.ptr, end, &params);
    if (!le_str_ieq(t, "multipart/form-data")) return false;
    le_str_t pn, pv;
    bool found = false;
    int r;
    while ((r = next_param(&params, end, &pn, &pv)) > 0) {
        if (!le_str_ieq(pn, "boundary")) continue;
        if (found) return false; /* two boundaries: ambiguous */
        *b = pv;
        found = true;
    }
    if (r < 0 || !found || b->len < 1 || b->len > MP_MAX_BOUNDARY) return false;
    for (size_t i = 0; i < b->len; i++) {
        if (!is_bchar((unsigned char)b->ptr[i])) return false;
    }
    return b->ptr[b->len - 1] != ' ';
}

typedef struct {
    const char *body, *end;
    char pat[4 + MP_MAX_BOUNDARY]; /* "\r\n--" boundary */
    size_t plen;
    const char *nl; /* the line ending: "\r\n" or "\n" */
    size_t nllen;
} mp_t;

/*
 * After "--boundary" at q: "--" closes the body; else transport padding
 * (spaces, tabs) and a line ending make it a delimiter. Anything else means
 * these bytes were content that happened to start like a boundary. Sets
 * *next to the start of the following part and *close; returns false if this
 * is not a delimiter. When mp->nl is unset (the first delimiter), the line
 * ending found here fixes it for the whole body.
 */
static bool delim_tail(mp_t *mp, const char *q, const char **next, bool *close) {
    const char *end = mp->end;
    if (end - q >= 2 && q[0] == '-' && q[1] == '-') {
        *close = true;
        *next = end;
        return true;
    }
    while (q < end && is_ows(*q)) q++;
    if (!mp->nl) {
        if (end - q >= 2 && q[0] == '\r' && q[1] == '\n')
            mp->nl = "\r\n", mp->nllen = 2;
        else if (q < end && q[0] == '\n')
            mp->nl = "\n", mp->nllen = 1;
        else
            return false;
    } else if ((size_t)(end - q) < mp->nllen || memcmp(q, mp->nl, mp->nllen) != 0) {
        return false;
    }
    *close = false;
    *next = q + mp->nllen;
    return true;
}

/*
 * Find the delimiter ending the part that starts at from: a line ending,
 * "--" and the boundary. *at gets where the part's content ends.
 */
static bool find_delim(mp_t *mp, const char *from, const char **at, const char **next,
                       bool *close) {
    const char *pat = mp->nllen == 2 ? mp->pat : mp->pat + 1;
    size_t plen = mp->nllen == 2 ? mp->plen : mp->plen - 1;
    while (from < mp->end) {
        const char *d = memmem(from, (size_t)(mp->end - from), pat, plen);
        if (!d) return false;
        if (delim_tail(mp, d + plen, next, close)) {
            *at = d;
            return true;
        }
        from = d + 1;
    }
    return false;
}

/* The first delimiter: at the very start, or after the preamble and a line ending. */
static bool find_first(mp_t *mp, const char **next, bool *close) {
    const char *dash = mp->pat + 2; /* "--" boundary */
    size_t dlen = mp->plen - 2;
    if ((size_t)(mp->end - mp->body) >= dlen && memcmp(mp->body, dash, dlen) == 0 &&
        delim_tail(mp, mp->body + dlen, next, close))
        return true;
    for (const char *from = mp->body; from < mp->end;) {
        const char *d = memmem(from, (size_t)(mp->end - from), mp->pat + 1, mp->plen - 1);
        if (!d) return false;
        if (delim_tail(mp, d + mp->plen - 1, next, close)) return true;
        from = d + 1;
    }
    return false;
}

typedef struct {
    le_str_t name;
    bool has_cd, has_ct, has_name, skip;
} mp_part_t;

/* Content-Disposition: form-data; name="x"[; filename="y"] */
static bool parse_disposition(le_str_t v, mp_part_t *part) {
    const char *params, *end = v.ptr + v.len;
    le_str_t t = media_type(v.ptr, end, &params);
    if (!le_str_ieq(t, "form-data")) return false;
    le_str_t pn, pv;
    int r;
    while ((r = next_param(&params, end, &pn, &pv)) > 0) {
        if (le_str_ieq(pn, "name")) {
            if (part->has_name) return false;
            part->name = pv;
            part->has_name = true;
        } else if (le_str_ieq(pn, "filename") || le_str_ieq(pn, "filename*")) {
            part->skip = true;
        }
    }
    return r == 0 && part->has_name;
}

/*
 * Parse the header lines of the part [p, end): "Name: value" lines up to an
 * empty line. *body gets the start of the content.
 */
static le_dec_err_t parse_part_headers(const mp_t *mp, const char *p, const char *end,
                                       mp_part_t *part, const char **body) {
    const char *start = p;
    unsigned nh = 0;
    for (;;) {
        const char *nl = memmem(p, (size_t)(end - p), mp->nl, mp->nllen);
        if (!nl) return LE_DEC_BAD_MULTIPART; /* no empty line before the next delimiter */
        const char *line = p;
        p = nl + mp->nllen;
        if (nl == line) break;
        if (p - start > MP_MAX_HEADER_BYTES || ++nh > MP_MAX_HEADERS) return LE_DEC_BAD_MULTIPART;
        /* No controls but TAB (so no bare CR or LF) and no DEL; the name is checked later. */
        for (const char *c = line; c < nl; c++) {
            if ((unsigned char)*c < 0x20 && *c != '\t') return LE_DEC_BAD_MULTIPART;
            if (*c == 0x7F) return LE_DEC_BAD_MULTIPART;
        }
        const char *colon = line;
        while (colon < nl && is_tchar((unsigned char)*colon)) colon++;
        if (colon == line || colon == nl || *colon != ':') return LE_DEC_BAD_MULTIPART;
        le_str_t hn = {line, (size_t)(colon - line)};
        le_str_t hv = trim(colon + 1, nl);
        if (le_str_ieq(hn, "Content-Disposition")) {
            if (part->has_cd || !parse_disposition(hv, part)) return LE_DEC_BAD_MULTIPART;
            part->has_cd = true;
        } else if (le_str_ieq(hn, "Content-Type")) {
            if (part->has_ct) return LE_DEC_BAD_MULTIPART;
            part->has_ct = true;
            if (!le_media_type_is(hv, "text/plain")) part->skip = true;
        }
    }
    if (!part->has_cd) return LE_DEC_BAD_MULTIPART;
    *body = p;
    return LE_DEC_OK;
}

le_dec_err_t le_multipart_parse(le_arena_t *a, le_str_t content_type, const char *body, size_t n,
                                uint32_t max_fields, uint32_t max_value, le_kvlist_t *out) {
    *out = (le_kvlist_t){NULL, 0};
    le_str_t b = LE_STR_NULL;
    if (!content_type.ptr || !boundary_get(content_type, &b)) return LE_DEC_BAD_MULTIPART;
    if (!body) return LE_DEC_BAD_MULTIPART;

    mp_t mp = {.body = body, .end = body + n, .nl = NULL, .nllen = 0};
    memcpy(mp.pat, "\r\n--", 4);
    memcpy(mp.pat + 4, b.ptr, b.len);
    mp.plen = 4 + b.len;

    const char *p, *at;
    bool close;
    if (!find_first(&mp, &p, &close)) return LE_DEC_BAD_MULTIPART;

    le_kv_t *kv = NULL;
    uint32_t k = 0, cap = 0;
    while (!close) {
        const char *next;
        if (!find_delim(&mp, p, &at, &next, &close)) return LE_DEC_BAD_MULTIPART;
        mp_part_t part = {.has_cd = false};
        const char *content;
        le_dec_err_t rc = parse_part_headers(&mp, p, at, &part, &content);
        if (rc != LE_DEC_OK) return rc;
        p = next;
        if (part.skip) continue;

        if (k == max_fields) return LE_DEC_TOO_MANY;
        size_t vlen = (size_t)(at - content);
        if (part.name.len > max_value || vlen > max_value) return LE_DEC_TOO_LONG;
        if ((rc = le_text_check(part.name.ptr, part.name.len, false)) != LE_DEC_OK) return rc;
        if ((rc = le_text_check(content, vlen, true)) != LE_DEC_OK) return rc;
        if (k == cap) {
            uint32_t ncap = cap ? cap * 2 : 8;
            if (ncap > max_fields) ncap = max_fields;
            le_kv_t *nkv = le_arena_alloc(a, ncap * sizeof(*nkv));
            if (k) memcpy(nkv, kv, k * sizeof(*kv));
            kv = nkv;
            cap = ncap;
        }
        kv[k].key = (le_str_t){le_arena_strndup(a, part.name.ptr, part.name.len), part.name.len};
        kv[k].val = (le_str_t){le_arena_strndup(a, content, vlen), vlen};
        k++;
    }
    *out = (le_kvlist_t){kv, k};
    return LE_DEC_OK;
}
