/*
 * test_record_decode.c: le_record_decode (store/record.c) against the decoder it was before its
 * fast paths (fixstr and str 8 strings, integers, booleans, floats and keys read inline, keys
 * as one word), kept below verbatim as the reference.
 *
 * Random events (every field, strings at each length where msgpack's encoding changes, times
 * of every magnitude and sign, props, form fields, enrichment slots, vid same as id or not)
 * are encoded and decoded both ways, then records packed by msgpack-c with whatever encodings
 * it is given (non-minimal integers, str 16/32 keys and values, bin, unknown keys with nested
 * values, keys twice, wrong types), and every record mutated (bytes changed, cut, inserted).
 * Both decoders must give the same verdict and, when they decode, the same event: the same
 * numbers and the same string pointers into the payload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* ---- the reference: the decoder as it was ------------------------------------------------ */

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* The string fields of the enrichment: record key, and where `events --json` shows them
 * (object and name; language stands at the top level, written apart). In record order. */
static const struct {
    char key[3];
    const char *obj, *name;
    uint16_t off;
} xstr[] = {
    {"cc", "geo", "country_code", offsetof(le_enrichment_t, country_code)},
    {"cn", "geo", "country", offsetof(le_enrichment_t, country)},
    {"rc", "geo", "region_code", offsetof(le_enrichment_t, region_code)},
    {"rn", "geo", "region", offsetof(le_enrichment_t, region)},
    {"ci", "geo", "city", offsetof(le_enrichment_t, city)},
    {"pc", "geo", "postal", offsetof(le_enrichment_t, postal)},
    {"tz", "geo", "time_zone", offsetof(le_enrichment_t, time_zone)},
    {"co", "geo", "continent", offsetof(le_enrichment_t, continent)},
    {"cp", "company", "name", offsetof(le_enrichment_t, company)},
    {"ck", "company", "key", offsetof(le_enrichment_t, company_key)},
    {"dm", "company", "domain", offsetof(le_enrichment_t, domain)},
    {"og", "company", "org", offsetof(le_enrichment_t, org)},
    {"ao", "company", "as_org", offsetof(le_enrichment_t, as_org)},
    {"cx", "company", "connection_type", offsetof(le_enrichment_t, connection_type)},
    {"ut", "company", "user_type", offsetof(le_enrichment_t, user_type)},
    {"br", "device", "browser", offsetof(le_enrichment_t, browser)},
    {"bv", "device", "browser_version", offsetof(le_enrichment_t, browser_version)},
    {"os", "device", "os", offsetof(le_enrichment_t, os)},
    {"ov", "device", "os_version", offsetof(le_enrichment_t, os_version)},
    {"dv", "device", "family", offsetof(le_enrichment_t, device)},
    {"bd", "device", "brand", offsetof(le_enrichment_t, brand)},
    {"md", "device", "model", offsetof(le_enrichment_t, model)},
    {"lg", NULL, "language", offsetof(le_enrichment_t, language)},
};
#define NXSTR (sizeof(xstr) / sizeof(xstr[0]))

static inline le_str_t *xfield(le_enrichment_t *x, size_t i) {
    return (le_str_t *)(void *)((char *)x + xstr[i].off);
}
static inline const le_str_t *xfield_c(const le_enrichment_t *x, size_t i) {
    return (const le_str_t *)(const void *)((const char *)x + xstr[i].off);
}

/* Slots of "X" after the strings. */
enum { X_LA = NXSTR, X_LO, X_AR, X_AS, X_NW, X_AN, X_FR, X_DC, X_BT, X_SLOTS };

/* ---- decoding ---------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} cur_t;

typedef enum { T_NIL, T_BOOL, T_UINT, T_INT, T_FLOAT, T_STR, T_BIN, T_EXT, T_ARRAY, T_MAP } kind_t;

typedef struct {
    kind_t kind;
    bool b;
    uint64_t u;    /* T_UINT */
    int64_t i;     /* T_INT (negative or explicitly signed) */
    const char *s; /* T_STR, T_BIN, T_EXT body */
    uint32_t n;    /* string/bin/ext length, array/map count */
} tok_t;

static inline uint64_t be(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Take n bytes: the big-endian integer they hold. */
static inline int take(cur_t *c, unsigned n, uint64_t *v) {
    if ((size_t)(c->end - c->p) < n) return LE_ECORRUPT;
    *v = be(c->p, n);
    c->p += n;
    return 0;
}

static inline int body(cur_t *c, tok_t *t, uint64_t len) {
    if ((uint64_t)(c->end - c->p) < len) return LE_ECORRUPT;
    t->s = (const char *)c->p;
    t->n = (uint32_t)len;
    c->p += len;
    return 0;
}

/*
 * Read one msgpack token. Scalars, strings, bin and ext are consumed whole;
 * for arrays and maps only the header is read and t->n is the entry count.
 */
static int next(cur_t *c, tok_t *t) {
    uint64_t v, w;
    if (c->p >= c->end) return LE_ECORRUPT;
    uint8_t b = *c->p++;
    if (b <= 0x7f) {
        t->kind = T_UINT;
        t->u = b;
        return 0;
    }
    if (b >= 0xe0) {
        t->kind = T_INT;
        t->i = (int8_t)b;
        return 0;
    }
    if (b <= 0x8f) {
        t->kind = T_MAP;
        t->n = b & 0x0f;
        return 0;
    }
    if (b <= 0x9f) {
        t->kind = T_ARRAY;
        t->n = b & 0x0f;
        return 0;
    }
    if (b <= 0xbf) {
        t->kind = T_STR;
        return body(c, t, b & 0x1f);
    }
    switch (b) {
        case 0xc0:
            t->kind = T_NIL;
            return 0;
        case 0xc2:
        case 0xc3:
            t->kind = T_BOOL;
            t->b = b == 0xc3;
            return 0;
        case 0xc4: /* bin 8/16/32 */
        case 0xc5:
        case 0xc6:
            t->kind = T_BIN;
            if (take(c, 1u << (b - 0xc4), &v)) return LE_ECORRUPT;
            return body(c, t, v);
        case 0xc7: /* ext 8/16/32: length, type byte, data */
        case 0xc8:
        case 0xc9:
            t->kind = T_EXT;
            if (take(c, 1u << (b - 0xc7), &v) || take(c, 1, &w)) return LE_ECORRUPT;
            return body(c, t, v);
        case 0xca: /* float 32/64 */
        case 0xcb:
            t->kind = T_FLOAT;
            t->n = b == 0xca ? 4 : 8;
            return take(c, t->n, &t->u);
        case 0xcc: /* uint 8/16/32/64 */
        case 0xcd:
        case 0xce:
        case 0xcf:
            t->kind = T_UINT;
            return take(c, 1u << (b - 0xcc), &t->u);
        case 0xd0: /* int 8/16/32/64 */
        case 0xd1:
        case 0xd2:
        case 0xd3: {
            unsigned n = 1u << (b - 0xd0);
            if (take(c, n, &v)) return LE_ECORRUPT;
            t->kind = T_INT;
            /* Sign-extend the n-byte two's complement value. */
            t->i =
                n == 8 ? (int64_t)v : (int64_t)(v ^ (1ull << (8 * n - 1))) - (1ll << (8 * n - 1));
            return 0;
        }
        case 0xd4: /* fixext 1/2/4/8/16: type byte, data */
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            t->kind = T_EXT;
            if (take(c, 1, &w)) return LE_ECORRUPT;
            return body(c, t, 1u << (b - 0xd4));
        case 0xd9: /* str 8/16/32 */
        case 0xda:
        case 0xdb:
            t->kind = T_STR;
            if (take(c, 1u << (b - 0xd9), &v)) return LE_ECORRUPT;
            return body(c, t, v);
        case 0xdc: /* array 16/32 */
        case 0xdd:
            t->kind = T_ARRAY;
            if (take(c, b == 0xdc ? 2 : 4, &v)) return LE_ECORRUPT;
            t->n = (uint32_t)v;
            return 0;
        case 0xde: /* map 16/32 */
        case 0xdf:
            t->kind = T_MAP;
            if (take(c, b == 0xde ? 2 : 4, &v)) return LE_ECORRUPT;
            t->n = (uint32_t)v;
            return 0;
        default: /* 0xc1 is never used */
            return LE_ECORRUPT;
    }
}

/* Skip one complete object of any type. Iterative: nesting cannot overflow the stack. */
static int ref_skip(cur_t *c) {
    uint64_t todo = 1;
    while (todo) {
        tok_t t;
        if (next(c, &t)) return LE_ECORRUPT;
        todo--;
        if (t.kind == T_ARRAY) todo += t.n;
        if (t.kind == T_MAP) todo += 2 * (uint64_t)t.n;
        /* Every object takes at least one byte. */
        if (todo > (uint64_t)(c->end - c->p)) return LE_ECORRUPT;
    }
    return 0;
}

static int get_str(cur_t *c, le_str_t *s) {
    /* a fixstr, what most strings are, without going through next() */
    if (LE_LIKELY(c->p < c->end && (*c->p & 0xe0) == 0xa0)) {
        size_t n = *c->p & 0x1fu;
        if ((size_t)(c->end - c->p) - 1 < n) return LE_ECORRUPT;
        s->ptr = (const char *)c->p + 1;
        s->len = n;
        c->p += 1 + n;
        return 0;
    }
    tok_t t;
    if (next(c, &t) || t.kind != T_STR) return LE_ECORRUPT;
    s->ptr = t.s;
    s->len = t.n;
    return 0;
}

static int get_int(cur_t *c, int64_t *out) {
    if (LE_LIKELY(c->p < c->end && *c->p <= 0x7f)) { /* a positive fixint */
        *out = *c->p++;
        return 0;
    }
    tok_t t;
    if (next(c, &t)) return LE_ECORRUPT;
    if (t.kind == T_INT) {
        *out = t.i;
        return 0;
    }
    if (t.kind == T_UINT && t.u <= INT64_MAX) {
        *out = (int64_t)t.u;
        return 0;
    }
    return LE_ECORRUPT;
}

static int get_u8(cur_t *c, uint8_t *out) {
    int64_t v;
    if (get_int(c, &v) || v < 0 || v > 255) return LE_ECORRUPT;
    *out = (uint8_t)v;
    return 0;
}

static int get_bool(cur_t *c, bool *out) {
    tok_t t;
    if (next(c, &t) || t.kind != T_BOOL) return LE_ECORRUPT;
    *out = t.b;
    return 0;
}

static int get_f64(cur_t *c, double *out) {
    tok_t t;
    if (next(c, &t) || t.kind != T_FLOAT) return LE_ECORRUPT;
    if (t.n == 4) {
        uint32_t bits = (uint32_t)t.u;
        float f;
        memcpy(&f, &bits, sizeof(f));
        *out = f;
    } else {
        memcpy(out, &t.u, sizeof(*out));
    }
    return 0;
}

static int get_u32(cur_t *c, uint32_t *out) {
    int64_t v;
    if (get_int(c, &v) || v < 0 || v > UINT32_MAX) return LE_ECORRUPT;
    *out = (uint32_t)v;
    return 0;
}

static int get_kvs(cur_t *c, le_arena_t *a, le_kv_t **out, uint32_t *nout) {
    tok_t t;
    if (next(c, &t) || t.kind != T_MAP) return LE_ECORRUPT;
    /* Each entry is at least two bytes: bound the allocation by the payload. */
    if (2 * (uint64_t)t.n > (uint64_t)(c->end - c->p)) return LE_ECORRUPT;
    le_kv_t *kv = t.n ? le_arena_alloc(a, t.n * sizeof(*kv)) : NULL;
    for (uint32_t i = 0; i < t.n; i++)
        if (get_str(c, &kv[i].key) || get_str(c, &kv[i].val)) return LE_ECORRUPT;
    *out = kv;
    *nout = t.n;
    return 0;
}

static inline bool key_is(le_str_t k, const char *lit, size_t n) {
    return k.len == n && memcmp(k.ptr, lit, n) == 0;
}
#define IS(k, lit) key_is((k), (lit), sizeof(lit) - 1)

/* A nil slot of "X": consumed, and true. */
static inline bool nil_slot(cur_t *c) {
    if (c->p < c->end && *c->p == 0xc0) {
        c->p++;
        return true;
    }
    return false;
}

static int get_enrichment_array(cur_t *c, le_enrichment_t *x) {
    tok_t m;
    if (next(c, &m) || m.kind != T_ARRAY) return LE_ECORRUPT;
    if ((uint64_t)m.n > (uint64_t)(c->end - c->p)) return LE_ECORRUPT;
    for (uint32_t i = 0; i < m.n; i++) {
        int rc = 0;
        if (i >= X_SLOTS) {
            rc = ref_skip(c); /* a slot of a later version */
        } else if (nil_slot(c)) {
            continue;
        } else if (i < NXSTR) {
            rc = get_str(c, xfield(x, i));
        } else {
            switch (i) {
                case X_LA:
                    rc = get_f64(c, &x->latitude);
                    x->has_location = true;
                    break;
                case X_LO:
                    rc = get_f64(c, &x->longitude);
                    break;
                case X_AR:
                    rc = get_u32(c, &x->accuracy_km);
                    break;
                case X_AS:
                    rc = get_u32(c, &x->asn);
                    break;
                case X_NW:
                    rc = get_u8(c, &x->network);
                    break;
                case X_AN:
                    rc = get_u8(c, &x->anon);
                    break;
                case X_FR:
                    rc = get_bool(c, &x->from_ranges);
                    break;
                case X_DC:
                    rc = get_u8(c, &x->device_class);
                    break;
                default:
                    rc = get_u32(c, &x->bot_reasons);
                    break;
            }
        }
        if (rc) return LE_ECORRUPT;
    }
    return 0;
}

/* The map form of records written before the array. */
static int get_enrichment(cur_t *c, le_enrichment_t *x) {
    tok_t m;
    if (next(c, &m) || m.kind != T_MAP) return LE_ECORRUPT;
    if (2 * (uint64_t)m.n > (uint64_t)(c->end - c->p)) return LE_ECORRUPT;
    for (uint32_t i = 0; i < m.n; i++) {
        le_str_t k;
        int rc = LE_ECORRUPT;
        size_t f = NXSTR;
        if (get_str(c, &k)) return LE_ECORRUPT;
        if (k.len == 2)
            for (f = 0; f < NXSTR && memcmp(xstr[f].key, k.ptr, 2) != 0; f++) continue;
        if (f < NXSTR) {
            rc = get_str(c, xfield(x, f));
        } else if (IS(k, "la")) {
            rc = get_f64(c, &x->latitude);
            x->has_location = true;
        } else if (IS(k, "lo")) {
            rc = get_f64(c, &x->longitude);
        } else if (IS(k, "ar")) {
            rc = get_u32(c, &x->accuracy_km);
        } else if (IS(k, "as")) {
            rc = get_u32(c, &x->asn);
        } else if (IS(k, "nw")) {
            rc = get_u8(c, &x->network);
        } else if (IS(k, "an")) {
            rc = get_u8(c, &x->anon);
        } else if (IS(k, "fr")) {
            rc = get_bool(c, &x->from_ranges);
        } else if (IS(k, "dc")) {
            rc = get_u8(c, &x->device_class);
        } else if (IS(k, "bt")) {
            rc = get_u32(c, &x->bot_reasons);
        } else {
            rc = ref_skip(c);
        }
        if (rc) return LE_ECORRUPT;
    }
    return 0;
}

/* A record key (at most three bytes) as one number, to dispatch on with a switch instead of
 * comparing it with every known key in turn. Longer keys (a later version's) get 0. */
#define KC1(a) (1u << 24 | (unsigned)(a))
#define KC2(a, b) (2u << 24 | (unsigned)(a) | (unsigned)(b) << 8)
#define KC3(a, b, c) (3u << 24 | (unsigned)(a) | (unsigned)(b) << 8 | (unsigned)(c) << 16)

static inline unsigned key_code(le_str_t k) {
    if (k.len == 0 || k.len > 3) return 0;
    unsigned c = (unsigned)k.len << 24 | (uint8_t)k.ptr[0];
    if (k.len > 1) c |= (unsigned)(uint8_t)k.ptr[1] << 8;
    if (k.len > 2) c |= (unsigned)(uint8_t)k.ptr[2] << 16;
    return c;
}

static int ref_decode(const void *payload, size_t len, le_event_t *ev, le_arena_t *a) {
    cur_t c = {payload, (const uint8_t *)payload + len};
    tok_t m;
    bool have_v = false, vid_is_id = false;

    memset(ev, 0, sizeof(*ev));
    if (next(&c, &m) || m.kind != T_MAP) return LE_ECORRUPT;
    if (2 * (uint64_t)m.n > (uint64_t)(c.end - c.p)) return LE_ECORRUPT;
    for (uint32_t i = 0; i < m.n; i++) {
        le_str_t k, id;
        int64_t v;
        int rc;
        if (get_str(&c, &k)) return LE_ECORRUPT;
        switch (key_code(k)) {
            case KC1('v'):
                rc = get_int(&c, &v);
                if (rc == 0 && v < 1) rc = LE_ECORRUPT;
                have_v = true;
                break;
            case KC1('t'):
                rc = get_int(&c, &ev->time_ms);
                break;
            case KC2('c', 't'):
                rc = get_int(&c, &ev->client_ts_ms);
                break;
            case KC2('t', 'y'):
                rc = get_u8(&c, &ev->type);
                break;
            case KC3('s', 'r', 'c'):
                rc = get_u8(&c, &ev->source);
                break;
            case KC2('i', 'k'):
                rc = get_u8(&c, &ev->id_kind);
                break;
            case KC2('i', 'd'):
                rc = get_str(&c, &id);
                if (rc == 0 && (id.len > LE_ID_HEX_LEN || memchr(id.ptr, 0, id.len)))
                    rc = LE_ECORRUPT;
                if (rc == 0) {
                    memcpy(ev->id, id.ptr, id.len);
                    ev->id[id.len] = '\0';
                }
                break;
            case KC1('c'):
                rc = get_bool(&c, &ev->consent);
                break;
            case KC3('g', 'p', 'c'):
                rc = get_bool(&c, &ev->gpc);
                break;
            case KC3('b', 'o', 't'):
                rc = get_bool(&c, &ev->bot);
                break;
            case KC2('s', 'f'):
                rc = get_bool(&c, &ev->staff);
                break;
            case KC1('n'):
                rc = get_str(&c, &ev->name);
                break;
            case KC1('u'):
                rc = get_str(&c, &ev->url);
                break;
            case KC1('r'):
                rc = get_str(&c, &ev->ref);
                break;
            case KC2('t', 'i'):
                rc = get_str(&c, &ev->title);
                break;
            case KC3('v', 'i', 'd'):
                if (c.p < c.end && *c.p == 0xc3) { /* the same as id (which may come later) */
                    c.p++;
                    vid_is_id = true;
                    rc = 0;
                } else {
                    rc = get_str(&c, &ev->vid);
                }
                break;
            case KC1('f'):
                rc = get_str(&c, &ev->form_id);
                break;
            case KC1('p'):
                rc = get_kvs(&c, a, &ev->props, &ev->nprops);
                break;
            case KC2('f', 'f'):
                rc = get_kvs(&c, a, &ev->fields, &ev->nfields);
                break;
            case KC2('i', 'p'):
                rc = get_str(&c, &ev->ip);
                break;
            case KC2('u', 'a'):
                rc = get_str(&c, &ev->ua);
                break;
            case KC1('l'):
                rc = get_str(&c, &ev->lang);
                break;
            case KC1('X'):
                rc = get_enrichment_array(&c, &ev->x);
                ev->enriched = true;
                break;
            case KC1('x'):
                rc = get_enrichment(&c, &ev->x);
                ev->enriched = true;
                break;
            default:
                rc = ref_skip(&c); /* a key from a later version */
                break;
        }
        if (rc) return LE_ECORRUPT;
    }
    if (c.p != c.end || !have_v) return LE_ECORRUPT;
    if (vid_is_id) ev->vid = (le_str_t){ev->id, strlen(ev->id)};
    return 0;
}

/* ---- comparing -------------------------------------------------------------------------- */

static uint64_t seed = 0xdecafbad;

static unsigned rnd(unsigned n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)((seed >> 11) % n);
}

/* The same string: the same place in the payload (or, for a vid that is the id, in each
 * event's own id). */
static void same_str(const char *what, le_str_t a, le_str_t b, const le_event_t *ea,
                     const le_event_t *eb) {
    if (a.len != b.len) fail_msg("%s: length %zu, want %zu", what, a.len, b.len);
    bool a_own = a.ptr >= ea->id && a.ptr < ea->id + sizeof(ea->id);
    bool b_own = b.ptr >= eb->id && b.ptr < eb->id + sizeof(eb->id);
    if (a_own != b_own || (a_own ? a.ptr - ea->id != b.ptr - eb->id : a.ptr != b.ptr))
        if (a.len) fail_msg("%s: another place", what);
}

static void same_kvs(const char *what, const le_kv_t *a, uint32_t na, const le_kv_t *b, uint32_t nb,
                     const le_event_t *ea, const le_event_t *eb) {
    if (na != nb) fail_msg("%s: %u entries, want %u", what, na, nb);
    for (uint32_t i = 0; i < na; i++) {
        same_str(what, a[i].key, b[i].key, ea, eb);
        same_str(what, a[i].val, b[i].val, ea, eb);
    }
}

static void same_event(const le_event_t *a, const le_event_t *b) {
    assert_true(a->time_ms == b->time_ms && a->client_ts_ms == b->client_ts_ms);
    assert_true(a->type == b->type && a->source == b->source && a->id_kind == b->id_kind);
    assert_true(a->consent == b->consent && a->gpc == b->gpc && a->bot == b->bot &&
                a->staff == b->staff && a->enriched == b->enriched);
    assert_memory_equal(a->id, b->id, sizeof(a->id));
    same_str("name", a->name, b->name, a, b);
    same_str("url", a->url, b->url, a, b);
    same_str("ref", a->ref, b->ref, a, b);
    same_str("title", a->title, b->title, a, b);
    same_str("vid", a->vid, b->vid, a, b);
    same_str("form", a->form_id, b->form_id, a, b);
    same_str("ip", a->ip, b->ip, a, b);
    same_str("ua", a->ua, b->ua, a, b);
    same_str("lang", a->lang, b->lang, a, b);
    same_kvs("props", a->props, a->nprops, b->props, b->nprops, a, b);
    same_kvs("fields", a->fields, a->nfields, b->fields, b->nfields, a, b);
    for (size_t i = 0; i < NXSTR; i++)
        same_str(xstr[i].key, *xfield((le_enrichment_t *)&a->x, i),
                 *xfield((le_enrichment_t *)&b->x, i), a, b);
    assert_memory_equal(&a->x.latitude, &b->x.latitude, sizeof(double));
    assert_memory_equal(&a->x.longitude, &b->x.longitude, sizeof(double));
    assert_true(a->x.accuracy_km == b->x.accuracy_km && a->x.has_location == b->x.has_location &&
                a->x.asn == b->x.asn && a->x.network == b->x.network && a->x.anon == b->x.anon &&
                a->x.from_ranges == b->x.from_ranges && a->x.device_class == b->x.device_class &&
                a->x.bot_reasons == b->x.bot_reasons);
}

static unsigned decoded, refused;

/* Decode p[0..n) both ways: the same verdict, the same event. */
static void both(const void *p, size_t n) {
    static le_event_t a, b;
    le_arena_t aa, ab;
    le_arena_init(&aa, NULL, 0);
    le_arena_init(&ab, NULL, 0);
    int ra = le_record_decode(p, n, &a, &aa), rb = ref_decode(p, n, &b, &ab);
    if (ra != rb) fail_msg("le_record_decode %d, the reference %d (%zu bytes)", ra, rb, n);
    if (ra == 0) {
        same_event(&a, &b);
        decoded++;
    } else {
        refused++;
    }
    le_arena_free(&aa);
    le_arena_free(&ab);
}

/* Mutations of p[0..n): a byte changed (to a type byte most of the time), the record cut, a
 * byte inserted. */
static void mutations(const char *p, size_t n, unsigned times) {
    char *m = malloc(n + 1);
    static const unsigned char types[] = {0xc0, 0xc2, 0xc3, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3,
                                          0xd9, 0xda, 0xdb, 0xc4, 0xca, 0xcb, 0xdc, 0xde, 0xa0,
                                          0xa1, 0xa3, 0xbf, 0x7f, 0xe0, 0x8f, 0x9f, 0xc1, 0x00};
    for (unsigned t = 0; t < times && n; t++) {
        memcpy(m, p, n);
        size_t at = rnd((unsigned)n);
        switch (rnd(4)) {
            case 0:
                m[at] = (char)types[rnd(sizeof(types))];
                both(m, n);
                break;
            case 1:
                m[at] = (char)rnd(256);
                both(m, n);
                break;
            case 2:
                both(m, at);
                break;
            default:
                memmove(m + at + 1, m + at, n - at);
                m[at] = (char)types[rnd(sizeof(types))];
                both(m, n + 1);
                break;
        }
    }
    free(m);
}

/* ---- generated records ------------------------------------------------------------------ */

/* A string of one of the lengths around msgpack's encoding boundaries, or short. */
static le_str_t text(char *buf, size_t cap) {
    static const size_t lens[] = {0, 1, 3, 30, 31, 32, 33, 255, 256, 257, 65535, 65536};
    size_t n = rnd(3) ? rnd(40) : lens[rnd(LE_ARRAY_SIZE(lens))];
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) buf[i] = (char)('a' + rnd(26));
    return (le_str_t){buf, n};
}

static int64_t number(void) {
    static const int64_t v[] = {0,
                                1,
                                127,
                                128,
                                255,
                                256,
                                65535,
                                65536,
                                4294967295LL,
                                4294967296LL,
                                -1,
                                -32,
                                -33,
                                -128,
                                -129,
                                -32768,
                                -32769,
                                INT32_MIN,
                                INT64_MAX,
                                INT64_MIN + 1,
                                1795000000000LL,
                                -1795000000000LL};
    return v[rnd(LE_ARRAY_SIZE(v))];
}

static char pool[24][70000];

static void random_event(le_event_t *ev, le_kv_t *kv) {
    memset(ev, 0, sizeof(*ev));
    unsigned k = 0;
    ev->time_ms = number();
    ev->client_ts_ms = rnd(2) ? number() : 0;
    ev->type = (uint8_t)rnd(6);
    ev->source = (uint8_t)rnd(5);
    ev->id_kind = (uint8_t)rnd(3);
    size_t idn = rnd(4) ? 32 : rnd(33);
    for (size_t i = 0; i < idn; i++) ev->id[i] = "0123456789abcdef"[rnd(16)];
    ev->consent = rnd(2);
    ev->gpc = rnd(2);
    ev->bot = rnd(2);
    ev->staff = rnd(2);
    ev->name = text(pool[k++], 70000);
    ev->url = text(pool[k++], 70000);
    ev->ref = text(pool[k++], 70000);
    ev->title = text(pool[k++], 70000);
    ev->vid = rnd(2) ? (le_str_t){ev->id, idn} : text(pool[k++], 64);
    ev->form_id = text(pool[k++], 70000);
    ev->ip = text(pool[k++], 64);
    ev->ua = text(pool[k++], 300);
    ev->lang = text(pool[k++], 64);
    ev->nprops = rnd(3);
    ev->nfields = rnd(3);
    for (uint32_t i = 0; i < ev->nprops + ev->nfields; i++)
        kv[i] = (le_kv_t){text(pool[k++], 300), text(pool[k++], 300)};
    ev->props = kv;
    ev->fields = kv + ev->nprops;
    if (rnd(4)) {
        ev->enriched = true;
        for (size_t i = 0; i < NXSTR; i++)
            if (rnd(2)) *xfield(&ev->x, i) = text(pool[rnd(24)], 40);
        ev->x.has_location = rnd(2);
        ev->x.latitude = rnd(2) ? -33.5 : 52.52;
        ev->x.longitude = 13.4;
        ev->x.accuracy_km = (uint32_t)(rnd(2) ? number() : 0);
        ev->x.asn = (uint32_t)number();
        ev->x.network = (uint8_t)rnd(8);
        ev->x.anon = (uint8_t)rnd(64);
        ev->x.from_ranges = rnd(2);
        ev->x.device_class = (uint8_t)rnd(5);
        ev->x.bot_reasons = rnd(128);
    }
}

static void test_encoded_events(void **state) {
    (void)state;
    le_kv_t kv[8];
    for (unsigned i = 0; i < 3000; i++) {
        le_event_t ev;
        random_event(&ev, kv);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        le_record_encode(&ev, &sb);
        both(sb.data, sb.size);
        mutations(sb.data, sb.size, 20);
        msgpack_sbuffer_destroy(&sb);
    }
    assert_true(decoded > 3000 && refused > 3000);
}

/* A known key's value in some encoding, or any value (wrong type, nested junk). */
static void pack_value(msgpack_packer *pk, unsigned depth) {
    char s[300];
    switch (rnd(depth ? 8 : 12)) {
        case 0:
            msgpack_pack_nil(pk);
            break;
        case 1:
            rnd(2) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
            break;
        case 2:
            msgpack_pack_int64(pk, number()); /* msgpack-c: the smallest form */
            break;
        case 3: {
            int64_t v = number();
            switch (rnd(4)) { /* on purpose wider than needed */
                case 0:
                    msgpack_pack_fix_int64(pk, v);
                    break;
                case 1:
                    msgpack_pack_fix_uint64(pk, (uint64_t)v);
                    break;
                case 2:
                    msgpack_pack_fix_int32(pk, (int32_t)v);
                    break;
                default:
                    msgpack_pack_fix_uint16(pk, (uint16_t)v);
                    break;
            }
            break;
        }
        case 4: {
            le_str_t t = text(s, sizeof(s));
            msgpack_pack_str(pk, t.len);
            msgpack_pack_str_body(pk, t.ptr, t.len);
            break;
        }
        case 5:
            rnd(2) ? msgpack_pack_double(pk, 1.5) : msgpack_pack_float(pk, -2.25f);
            break;
        case 6: {
            le_str_t t = text(s, sizeof(s));
            msgpack_pack_bin(pk, t.len);
            msgpack_pack_bin_body(pk, t.ptr, t.len);
            break;
        }
        case 7: /* str written wider than needed: str 16 or 32 headers */
            if (rnd(2)) {
                char h[3] = {(char)0xda, 0, 3};
                msgpack_sbuffer_write(pk->data, h, 3);
            } else {
                char h[5] = {(char)0xdb, 0, 0, 0, 3};
                msgpack_sbuffer_write(pk->data, h, 5);
            }
            msgpack_sbuffer_write(pk->data, "abc", 3);
            break;
        case 8:
        case 9: {
            unsigned n = rnd(4);
            msgpack_pack_array(pk, n);
            for (unsigned i = 0; i < n; i++) pack_value(pk, depth + 1);
            break;
        }
        default: {
            unsigned n = rnd(3);
            msgpack_pack_map(pk, n);
            for (unsigned i = 0; i < n; i++) {
                pack_value(pk, depth + 1);
                pack_value(pk, depth + 1);
            }
            break;
        }
    }
}

static const char *const keys[] = {"v",   "t",  "ct", "ty", "src", "ik", "id",  "c",     "gpc",
                                   "bot", "sf", "n",  "u",  "r",   "ti", "vid", "f",     "p",
                                   "ff",  "ip", "ua", "l",  "X",   "x",  "zz",  "later", ""};

static void test_packed_records(void **state) {
    (void)state;
    for (unsigned i = 0; i < 20000; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        unsigned n = 1 + rnd(12);
        msgpack_pack_map(&pk, n);
        msgpack_pack_str(&pk, 1);
        msgpack_pack_str_body(&pk, "v", 1);
        msgpack_pack_int(&pk, rnd(8) ? 1 : (int)number());
        for (unsigned j = 1; j < n; j++) {
            const char *k = keys[rnd(LE_ARRAY_SIZE(keys))];
            size_t kl = strlen(k);
            if (rnd(10) == 0) { /* a key written as str 8 or str 16 */
                char h8[2] = {(char)0xd9, (char)kl}, h16[3] = {(char)0xda, 0, (char)kl};
                if (rnd(2))
                    msgpack_sbuffer_write(&sb, h8, 2);
                else
                    msgpack_sbuffer_write(&sb, h16, 3);
                msgpack_pack_str_body(&pk, k, kl);
            } else {
                msgpack_pack_str(&pk, kl);
                msgpack_pack_str_body(&pk, k, kl);
            }
            if (k[0] == 'X' && rnd(2)) { /* an enrichment array of any slots */
                unsigned m = rnd(40);
                msgpack_pack_array(&pk, m);
                for (unsigned s = 0; s < m; s++) pack_value(&pk, 1);
            } else if ((k[0] == 'p' || (k[0] == 'f' && k[1] == 'f')) && rnd(2)) {
                unsigned m = rnd(4);
                msgpack_pack_map(&pk, m);
                for (unsigned s = 0; s < 2 * m; s++) pack_value(&pk, 2);
            } else {
                pack_value(&pk, 0);
            }
        }
        both(sb.data, sb.size);
        mutations(sb.data, sb.size, 3);
        msgpack_sbuffer_destroy(&sb);
    }
    assert_true(decoded > 10000 && refused > 10000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoded_events),
        cmocka_unit_test(test_packed_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
