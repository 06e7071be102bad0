/*
 * record.c: one le_event_t as a msgpack map, and back out as an event, JSON
 * or a line of text.
 *
 * A record is a single msgpack map whose keys are short strings. Keys whose
 * value is empty, zero or false are left out, so a typical page view costs a
 * few hundred bytes. The keys, in the order the encoder writes them:
 *
 *     key    msgpack type     event field       notes
 *     "v"    uint             -                 record version, 1; always present
 *     "t"    int              time_ms           server receive time, Unix ms
 *     "ct"   int              client_ts_ms      the client's own timestamp
 *     "ty"   uint 0..255      type              1 pageview, 2 event, 3 form, 4 status, 5 erase
 *     "src"  uint 0..255      source            1 pixel, 2 beacon, 3 form, 4 admin
 *     "ik"   uint 0..255      id_kind           1 visitor cookie, 2 cookieless
 *     "id"   str <= 32 bytes  id                hex visitor or cookieless id
 *     "c"    bool             consent           written only when true
 *     "gpc"  bool             gpc               written only when true
 *     "bot"  bool             bot               written only when true
 *     "sf"   bool             staff             written only when true
 *     "n"    str              name
 *     "u"    str              url
 *     "r"    str              ref
 *     "ti"   str              title
 *     "vid"  str              vid
 *     "f"    str              form_id
 *     "p"    map str->str     props             written only when non-empty
 *     "ff"   map str->str     fields            written only when non-empty
 *     "ip"   str              ip                already truncated by pixel/
 *     "ua"   str              ua
 *     "l"    str              lang
 *     "X"    array            x                 enrichment, only when enriched (below)
 *
 * "vid" is the value `true` instead of a string when the snippet's id is the
 * record's id (the usual case), which saves 34 bytes a record.
 *
 * The enrichment array "X" has one slot per field, by position, nil when the
 * field is unknown, and trailing nils left out: the strings (each a le_str_t
 * of le_enrichment_t) 0 country_code, 1 country, 2 region_code, 3 region,
 * 4 city, 5 postal, 6 time_zone, 7 continent, 8 company, 9 company_key,
 * 10 domain, 11 org, 12 as_org, 13 connection_type, 14 user_type, 15 browser,
 * 16 browser_version, 17 os, 18 os_version, 19 device, 20 brand, 21 model,
 * 22 language; then 23/24 float 64 latitude/longitude and 25 uint accuracy_km
 * (only with a location), 26 uint asn, 27 uint network, 28 uint anon bits,
 * 29 true from_ranges, 30 uint device_class, 31 uint bot reason bits. Slots a
 * later version adds go after these and are skipped by this one. (Records
 * written before the array have a map "x" with two-letter keys instead: "cc",
 * "cn", "rc", "rn", "ci", "pc", "tz", "co", "cp", "ck", "dm", "og", "ao", "cx",
 * "ut", "br", "bv", "os", "ov", "dv", "bd", "md", "lg", "la", "lo", "ar", "as",
 * "nw", "an", "fr", "dc", "bt" for the same fields; they still decode.)
 *
 * Integers and lengths use msgpack's smallest encoding, as msgpack-c's
 * packer writes them (a version 1 record starts with 0x8N or 0xde 0x00 0xNN,
 * then 0xa1 'v' 0x01). The decoder is a small bounds-checked cursor over the
 * payload rather than msgpack_unpack(): it allocates nothing per record
 * (strings borrow from the payload), so start-up replay stays fast, and a
 * hostile map header cannot make it allocate more than the payload could
 * hold. It skips keys it does not know, with any value type, so later record
 * versions can add fields; a known key with the wrong type, a non-string key,
 * trailing bytes or truncation is LE_ECORRUPT.
 */
#include "record.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#define RECORD_VERSION 1

/* ---- encoding ----------------------------------------------------------
 *
 * A record is written straight into one flat buffer that le_record_bound()
 * sized beforehand (the longest encoding of every field present), so the
 * writers below neither check for room nor hand pieces to a callback: about
 * 45 tokens a record cost less than their bookkeeping did. The bytes are
 * exactly what msgpack_pack_*() would write (smallest encoding; test_record
 * checks it).
 */

typedef struct {
    unsigned char *p; /* the next byte; the bound guarantees the room */
} out_t;

static inline void put_bytes(out_t *o, const void *p, size_t n) {
    if (n == 0) return; /* p may be NULL */
    memcpy(o->p, p, n);
    o->p += n;
}

static inline void put_be(unsigned char *d, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) d[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

/* A type byte followed by an n-byte big-endian value. */
static inline void put_tagged(out_t *o, unsigned char tag, uint64_t v, unsigned n) {
    unsigned char *d = o->p;
    d[0] = tag;
    put_be(d + 1, v, n);
    o->p += 1 + n;
}

static inline void put_str(out_t *o, const char *s, size_t n) {
    if (n < 32) {
        *o->p++ = (unsigned char)(0xa0 | n);
    } else if (n < 256) {
        put_tagged(o, 0xd9, n, 1);
    } else if (n < 65536) {
        put_tagged(o, 0xda, n, 2);
    } else {
        put_tagged(o, 0xdb, n, 4);
    }
    put_bytes(o, s, n);
}

static inline void put_map(out_t *o, uint32_t n) {
    if (n < 16) {
        *o->p++ = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        put_tagged(o, 0xde, n, 2);
    } else {
        put_tagged(o, 0xdf, n, 4);
    }
}

static inline void put_array(out_t *o, uint32_t n) {
    if (n < 16) {
        *o->p++ = (unsigned char)(0x90 | n);
    } else if (n < 65536) {
        put_tagged(o, 0xdc, n, 2);
    } else {
        put_tagged(o, 0xdd, n, 4);
    }
}

static inline void put_uint(out_t *o, uint64_t v) {
    if (v < 128) {
        *o->p++ = (unsigned char)v;
    } else if (v < 256) {
        put_tagged(o, 0xcc, v, 1);
    } else if (v < 65536) {
        put_tagged(o, 0xcd, v, 2);
    } else if (v <= UINT32_MAX) {
        put_tagged(o, 0xce, v, 4);
    } else {
        put_tagged(o, 0xcf, v, 8);
    }
}

static inline void put_int(out_t *o, int64_t v) {
    if (v >= 0) {
        put_uint(o, (uint64_t)v);
    } else if (v >= -32) {
        *o->p++ = (unsigned char)(int8_t)v; /* negative fixint 0xe0..0xff */
    } else if (v >= INT8_MIN) {
        put_tagged(o, 0xd0, (uint64_t)v, 1);
    } else if (v >= INT16_MIN) {
        put_tagged(o, 0xd1, (uint64_t)v, 2);
    } else if (v >= INT32_MIN) {
        put_tagged(o, 0xd2, (uint64_t)v, 4);
    } else {
        put_tagged(o, 0xd3, (uint64_t)v, 8);
    }
}

static inline void put_f64(out_t *o, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    put_tagged(o, 0xcb, bits, 8);
}

/* A key is a literal shorter than 32 bytes: fixstr. */
#define KEY(o, lit)                                                                                \
    do {                                                                                           \
        (o)->p[0] = (unsigned char)(0xa0 | (sizeof(lit) - 1));                                     \
        memcpy((o)->p + 1, (lit), sizeof(lit) - 1);                                                \
        (o)->p += sizeof(lit);                                                                     \
    } while (0)

static void put_kvs(out_t *o, const le_kv_t *kv, uint32_t n) {
    put_map(o, n);
    for (uint32_t i = 0; i < n; i++) {
        put_str(o, kv[i].key.ptr, kv[i].key.len);
        put_str(o, kv[i].val.ptr, kv[i].val.len);
    }
}

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

static void put_enrichment(out_t *o, const le_enrichment_t *x) {
    const uint64_t num[] = {[X_AR - X_LA] = x->has_location ? x->accuracy_km : 0,
                            [X_AS - X_LA] = x->asn,
                            [X_NW - X_LA] = x->network,
                            [X_AN - X_LA] = x->anon,
                            [X_FR - X_LA] = x->from_ranges,
                            [X_DC - X_LA] = x->device_class,
                            [X_BT - X_LA] = x->bot_reasons};
    /* the slots up to the last known one */
    size_t n = X_SLOTS;
    while (n > 0) {
        size_t i = n - 1;
        bool known = i < NXSTR ? xfield_c(x, i)->len != 0
                     : i == X_LA || i == X_LO
                         ? x->has_location
                         : num[i - X_LA] != 0 || (i == X_AR && x->has_location);
        if (known) break;
        n--;
    }
    put_array(o, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        if (i < NXSTR) {
            const le_str_t *v = xfield_c(x, i);
            if (v->len)
                put_str(o, v->ptr, v->len);
            else
                put_bytes(o, "\xc0", 1);
        } else if (i == X_LA || i == X_LO) {
            if (x->has_location)
                put_f64(o, i == X_LA ? x->latitude : x->longitude);
            else
                put_bytes(o, "\xc0", 1);
        } else if (i == X_FR) {
            put_bytes(o, x->from_ranges ? "\xc3" : "\xc0", 1);
        } else if (num[i - X_LA] || (i == X_AR && x->has_location)) {
            put_uint(o, num[i - X_LA]);
        } else {
            put_bytes(o, "\xc0", 1);
        }
    }
}

/* The most bytes a string of n bytes takes (str 32 header). */
#define STR_MAX(n) ((size_t)(n) + 5)

static size_t kvs_bound(const le_kv_t *kv, uint32_t n) {
    size_t b = 5; /* map 32 */
    for (uint32_t i = 0; i < n; i++) b += STR_MAX(kv[i].key.len) + STR_MAX(kv[i].val.len);
    return b;
}

size_t le_record_bound(const le_event_t *ev) {
    /* map header; every key (at most "src"/"vid"/"gpc": 4 bytes) with the largest value
     * of its type: int 9, bool 1 */
    size_t b = 5 + 24 * 4 + 9 * 7 + 4;
    b += STR_MAX(LE_ID_HEX_LEN) + STR_MAX(ev->name.len) + STR_MAX(ev->url.len) +
         STR_MAX(ev->ref.len) + STR_MAX(ev->title.len) + STR_MAX(ev->vid.len) +
         STR_MAX(ev->form_id.len) + STR_MAX(ev->ip.len) + STR_MAX(ev->ua.len) +
         STR_MAX(ev->lang.len);
    if (ev->nprops) b += kvs_bound(ev->props, ev->nprops);
    if (ev->nfields) b += kvs_bound(ev->fields, ev->nfields);
    if (ev->enriched) {
        b += 5; /* array 32 */
        for (size_t i = 0; i < NXSTR; i++) b += STR_MAX(xfield_c(&ev->x, i)->len);
        b += (X_SLOTS - X_LA) * 9;
    }
    return b;
}

size_t le_record_pack_to(const le_event_t *ev, void *dst) {
    out_t o = {dst};
    size_t idlen = strnlen(ev->id, LE_ID_HEX_LEN);
    uint32_t n = 1 + (ev->time_ms != 0) + (ev->client_ts_ms != 0) + (ev->type != 0) +
                 (ev->source != 0) + (ev->id_kind != 0) + (idlen != 0) + ev->consent + ev->gpc +
                 ev->bot + ev->staff + (ev->name.len != 0) + (ev->url.len != 0) +
                 (ev->ref.len != 0) + (ev->title.len != 0) + (ev->vid.len != 0) +
                 (ev->form_id.len != 0) + (ev->nprops != 0) + (ev->nfields != 0) +
                 (ev->ip.len != 0) + (ev->ua.len != 0) + (ev->lang.len != 0) + ev->enriched;

    put_map(&o, n);
    KEY(&o, "v");
    put_uint(&o, RECORD_VERSION);
    if (ev->time_ms) {
        KEY(&o, "t");
        put_int(&o, ev->time_ms);
    }
    if (ev->client_ts_ms) {
        KEY(&o, "ct");
        put_int(&o, ev->client_ts_ms);
    }
    if (ev->type) {
        KEY(&o, "ty");
        put_uint(&o, ev->type);
    }
    if (ev->source) {
        KEY(&o, "src");
        put_uint(&o, ev->source);
    }
    if (ev->id_kind) {
        KEY(&o, "ik");
        put_uint(&o, ev->id_kind);
    }
    if (idlen) {
        KEY(&o, "id");
        put_str(&o, ev->id, idlen);
    }
    if (ev->consent) {
        KEY(&o, "c");
        put_bytes(&o, "\xc3", 1);
    }
    if (ev->gpc) {
        KEY(&o, "gpc");
        put_bytes(&o, "\xc3", 1);
    }
    if (ev->bot) {
        KEY(&o, "bot");
        put_bytes(&o, "\xc3", 1);
    }
    if (ev->staff) {
        KEY(&o, "sf");
        put_bytes(&o, "\xc3", 1);
    }
#define STR_FIELD(lit, s)                                                                          \
    if ((s).len) {                                                                                 \
        KEY(&o, lit);                                                                              \
        put_str(&o, (s).ptr, (s).len);                                                             \
    }
    STR_FIELD("n", ev->name);
    STR_FIELD("u", ev->url);
    STR_FIELD("r", ev->ref);
    STR_FIELD("ti", ev->title);
    if (ev->vid.len && ev->vid.len == idlen && memcmp(ev->vid.ptr, ev->id, idlen) == 0) {
        KEY(&o, "vid");
        put_bytes(&o, "\xc3", 1); /* the same as id */
    } else {
        STR_FIELD("vid", ev->vid);
    }
    STR_FIELD("f", ev->form_id);
    if (ev->nprops) {
        KEY(&o, "p");
        put_kvs(&o, ev->props, ev->nprops);
    }
    if (ev->nfields) {
        KEY(&o, "ff");
        put_kvs(&o, ev->fields, ev->nfields);
    }
    STR_FIELD("ip", ev->ip);
    STR_FIELD("ua", ev->ua);
    STR_FIELD("l", ev->lang);
#undef STR_FIELD
    if (ev->enriched) {
        KEY(&o, "X");
        put_enrichment(&o, &ev->x);
    }
    return (size_t)(o.p - (unsigned char *)dst);
}

void le_record_encode(const le_event_t *ev, msgpack_sbuffer *sb) {
    unsigned char stack[4096];
    size_t bound = le_record_bound(ev);
    unsigned char *b = bound <= sizeof(stack) ? stack : le_xmalloc(bound);
    msgpack_sbuffer_write(sb, (const char *)b, le_record_pack_to(ev, b));
    if (b != stack) free(b);
}

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

/* The n-byte (1, 2, 4 or 8) big-endian integer at p: one load and a byte swap. */
static inline uint64_t be(const uint8_t *p, unsigned n) {
    uint16_t v2;
    uint32_t v4;
    uint64_t v8;
    switch (n) {
        case 1:
            return p[0];
        case 2:
            memcpy(&v2, p, 2);
            return __builtin_bswap16(v2);
        case 4:
            memcpy(&v4, p, 4);
            return __builtin_bswap32(v4);
        default:
            memcpy(&v8, p, 8);
            return __builtin_bswap64(v8);
    }
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
static __attribute__((noinline)) int next_tok(cur_t *c, tok_t *t) {
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

/*
 * next_tok through a copy of the cursor. The decoder keeps its cursor in a local that only
 * inline functions see; were its address passed to a function that is not inlined, the
 * compiler would keep it in memory and store and reload it at every step of every record.
 */
static inline int next(cur_t *c, tok_t *t) {
    cur_t k = *c;
    int rc = next_tok(&k, t);
    *c = k;
    return rc;
}

/* Skip one complete object of any type. Iterative: nesting cannot overflow the stack. */
static __attribute__((noinline)) int skip_obj(cur_t *c) {
    uint64_t todo = 1;
    while (todo) {
        tok_t t;
        if (next_tok(c, &t)) return LE_ECORRUPT;
        todo--;
        if (t.kind == T_ARRAY) todo += t.n;
        if (t.kind == T_MAP) todo += 2 * (uint64_t)t.n;
        /* Every object takes at least one byte. */
        if (todo > (uint64_t)(c->end - c->p)) return LE_ECORRUPT;
    }
    return 0;
}

/* skip_obj through a copy of the cursor (next's reason). */
static inline int skip(cur_t *c) {
    cur_t k = *c;
    int rc = skip_obj(&k);
    *c = k;
    return rc;
}

static inline int get_str(cur_t *c, le_str_t *s) {
    /* a fixstr or a str 8, what nearly all strings are, without going through next() */
    if (LE_LIKELY(c->p < c->end)) {
        size_t avail = (size_t)(c->end - c->p);
        unsigned b = *c->p;
        if ((b & 0xe0) == 0xa0) {
            size_t n = b & 0x1fu;
            if (avail - 1 < n) return LE_ECORRUPT;
            s->ptr = (const char *)c->p + 1;
            s->len = n;
            c->p += 1 + n;
            return 0;
        }
        if (b == 0xd9 && avail >= 2) {
            size_t n = c->p[1];
            if (avail - 2 < n) return LE_ECORRUPT;
            s->ptr = (const char *)c->p + 2;
            s->len = n;
            c->p += 2 + n;
            return 0;
        }
    }
    tok_t t;
    if (next(c, &t) || t.kind != T_STR) return LE_ECORRUPT;
    s->ptr = t.s;
    s->len = t.n;
    return 0;
}

static inline int get_int(cur_t *c, int64_t *out) {
    if (LE_LIKELY(c->p < c->end)) {
        unsigned b = *c->p;
        if (b <= 0x7f) { /* a positive fixint */
            *out = b;
            c->p++;
            return 0;
        }
        if (b >= 0xcc && b <= 0xd3) { /* uint or int 8/16/32/64 (a time: 64) */
            unsigned n = 1u << ((b - 0xcc) & 3);
            if ((size_t)(c->end - c->p) - 1 < n) return LE_ECORRUPT;
            uint64_t v = be(c->p + 1, n);
            c->p += 1 + n;
            if (b <= 0xcf) {
                if (v > INT64_MAX) return LE_ECORRUPT;
                *out = (int64_t)v;
            } else { /* sign-extend the n-byte two's complement value */
                *out = n == 8 ? (int64_t)v
                              : (int64_t)(v ^ (1ull << (8 * n - 1))) - (1ll << (8 * n - 1));
            }
            return 0;
        }
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

static inline int get_u8(cur_t *c, uint8_t *out) {
    int64_t v;
    if (get_int(c, &v) || v < 0 || v > 255) return LE_ECORRUPT;
    *out = (uint8_t)v;
    return 0;
}

static inline int get_bool(cur_t *c, bool *out) {
    if (c->p >= c->end || (*c->p | 1) != 0xc3) return LE_ECORRUPT; /* 0xc2 false, 0xc3 true */
    *out = *c->p++ == 0xc3;
    return 0;
}

static inline int get_f64(cur_t *c, double *out) {
    size_t avail = (size_t)(c->end - c->p);
    if (avail >= 9 && *c->p == 0xcb) {
        uint64_t bits = be(c->p + 1, 8);
        memcpy(out, &bits, sizeof(*out));
        c->p += 9;
        return 0;
    }
    if (avail >= 5 && *c->p == 0xca) {
        uint32_t bits = (uint32_t)be(c->p + 1, 4);
        float f;
        memcpy(&f, &bits, sizeof(f));
        *out = f;
        c->p += 5;
        return 0;
    }
    return LE_ECORRUPT;
}

static inline int get_u32(cur_t *c, uint32_t *out) {
    int64_t v;
    if (get_int(c, &v) || v < 0 || v > UINT32_MAX) return LE_ECORRUPT;
    *out = (uint32_t)v;
    return 0;
}

static inline int get_kvs(cur_t *c, le_arena_t *a, le_kv_t **out, uint32_t *nout) {
    tok_t t;
    if (c->p < c->end && (*c->p & 0xf0) == 0x80) { /* a fixmap, as the encoder writes it */
        t.kind = T_MAP;
        t.n = *c->p++ & 0x0fu;
    } else if (next(c, &t) || t.kind != T_MAP) {
        return LE_ECORRUPT;
    }
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

static inline int get_enrichment_array(cur_t *c, le_enrichment_t *x) {
    tok_t m;
    if (c->p < c->end && (*c->p & 0xf0) == 0x90) { /* a fixarray or an array 16, as the */
        m.kind = T_ARRAY;                          /* encoder writes them */
        m.n = *c->p++ & 0x0fu;
    } else if (c->end - c->p >= 3 && *c->p == 0xdc) {
        m.kind = T_ARRAY;
        m.n = (uint32_t)be(c->p + 1, 2);
        c->p += 3;
    } else if (next(c, &m) || m.kind != T_ARRAY) {
        return LE_ECORRUPT;
    }
    if ((uint64_t)m.n > (uint64_t)(c->end - c->p)) return LE_ECORRUPT;
    /* the string slots first, in a loop of their own: most of the array */
    uint32_t i = 0, nstr = m.n < NXSTR ? m.n : (uint32_t)NXSTR;
    const uint8_t *p = c->p, *end = c->end;
    for (; i < nstr; i++) {
        if (p >= end) return LE_ECORRUPT;
        unsigned b = *p;
        if (b == 0xc0) { /* nil: unknown */
            p++;
            continue;
        }
        if ((b & 0xe0) == 0xa0) { /* a fixstr, as nearly all of them are */
            size_t n = b & 0x1fu;
            if ((size_t)(end - p) <= n) return LE_ECORRUPT;
            *xfield(x, i) = (le_str_t){(const char *)p + 1, n};
            p += 1 + n;
            continue;
        }
        c->p = p;
        if (get_str(c, xfield(x, i))) return LE_ECORRUPT;
        p = c->p;
    }
    c->p = p;
    for (; i < m.n; i++) {
        int rc = 0;
        if (i >= X_SLOTS) {
            rc = skip(c); /* a slot of a later version */
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

/* The map form of records written before the array (rare: called with a copy of the cursor). */
static __attribute__((noinline)) int get_enrichment(cur_t *c, le_enrichment_t *x) {
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
            rc = skip(c);
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

/* The known keys, dense, for the switch in take_value. */
enum {
    K_OTHER,
    K_V,
    K_T,
    K_CT,
    K_TY,
    K_SRC,
    K_IK,
    K_ID,
    K_C,
    K_GPC,
    K_BOT,
    K_SF,
    K_N,
    K_U,
    K_R,
    K_TI,
    K_VID,
    K_F,
    K_P,
    K_FF,
    K_IP,
    K_UA,
    K_L,
    K_XA, /* "X": the enrichment array */
    K_XM, /* "x": the enrichment map of older records */
};

/* The kind of the key with code: only keys out of the encoder's order (a record of another
 * version) come here. */
static unsigned key_kind(unsigned code) {
    switch (code) {
        case KC1('v'):
            return K_V;
        case KC1('t'):
            return K_T;
        case KC2('c', 't'):
            return K_CT;
        case KC2('t', 'y'):
            return K_TY;
        case KC3('s', 'r', 'c'):
            return K_SRC;
        case KC2('i', 'k'):
            return K_IK;
        case KC2('i', 'd'):
            return K_ID;
        case KC1('c'):
            return K_C;
        case KC3('g', 'p', 'c'):
            return K_GPC;
        case KC3('b', 'o', 't'):
            return K_BOT;
        case KC2('s', 'f'):
            return K_SF;
        case KC1('n'):
            return K_N;
        case KC1('u'):
            return K_U;
        case KC1('r'):
            return K_R;
        case KC2('t', 'i'):
            return K_TI;
        case KC3('v', 'i', 'd'):
            return K_VID;
        case KC1('f'):
            return K_F;
        case KC1('p'):
            return K_P;
        case KC2('f', 'f'):
            return K_FF;
        case KC2('i', 'p'):
            return K_IP;
        case KC2('u', 'a'):
            return K_UA;
        case KC1('l'):
            return K_L;
        case KC1('X'):
            return K_XA;
        case KC1('x'):
            return K_XM;
        default:
            return K_OTHER;
    }
}

/*
 * The keys in the order le_record_pack_to writes them (any it leaves out are passed over): each
 * as the first bytes of its entry, its fixstr header and its bytes, read as a little-endian
 * word and compared under a mask. A record in that order finds each key in one or two
 * comparisons; any other key, or one out of order, goes through get_key and key_kind.
 */
#define OK1(a)                                                                                     \
    { 0xa1u | (unsigned)(a) << 8, 0xffffu, 2, 0 }
#define OK2(a, b)                                                                                  \
    { 0xa2u | (unsigned)(a) << 8 | (unsigned)(b) << 16, 0xffffffu, 3, 0 }
#define OK3(a, b, c)                                                                               \
    { 0xa3u | (unsigned)(a) << 8 | (unsigned)(b) << 16 | (unsigned)(c) << 24, ~0u, 4, 0 }
static const struct {
    uint32_t word, mask;
    uint8_t len, pad;
} order[] = {
    OK1('v'),           OK1('t'),      OK2('c', 't'), OK2('t', 'y'),      OK3('s', 'r', 'c'),
    OK2('i', 'k'),      OK2('i', 'd'), OK1('c'),      OK3('g', 'p', 'c'), OK3('b', 'o', 't'),
    OK2('s', 'f'),      OK1('n'),      OK1('u'),      OK1('r'),           OK2('t', 'i'),
    OK3('v', 'i', 'd'), OK1('f'),      OK1('p'),      OK2('f', 'f'),      OK2('i', 'p'),
    OK2('u', 'a'),      OK1('l'),      OK1('X'),
};
#undef OK1
#undef OK2
#undef OK3
static const uint8_t order_kind[] = {K_V,   K_T,   K_CT, K_TY, K_SRC, K_IK, K_ID, K_C,
                                     K_GPC, K_BOT, K_SF, K_N,  K_U,   K_R,  K_TI, K_VID,
                                     K_F,   K_P,   K_FF, K_IP, K_UA,  K_L,  K_XA};
_Static_assert(LE_ARRAY_SIZE(order) == LE_ARRAY_SIZE(order_kind), "one kind per key");

/* The next key's code: a fixstr of 1 to 3 bytes (every key a version 1 record has) read as one
 * little-endian word (header, then the bytes) when 4 bytes are there, else through get_str. */
static inline int get_key(cur_t *c, unsigned *code) {
    if (LE_LIKELY(c->end - c->p >= 4)) {
        uint32_t w;
        memcpy(&w, c->p, 4);
        unsigned n = (w & 0xff) - 0xa1; /* the length - 1, for fixstr 1..3 */
        if (n < 3) {
            *code = (n + 1) << 24 | ((w >> 8) & (0xffffffu >> (8 * (2 - n))));
            c->p += n + 2;
            return 0;
        }
    }
    le_str_t k;
    if (get_str(c, &k)) return LE_ECORRUPT;
    *code = key_code(k);
    return 0;
}

/* *ev = {0}. A memset of a size known at compile time becomes rep stos here, one instruction
 * per 8 bytes as valgrind counts them (80 for an event); the library's is a few dozen. */
static inline void zero_event(le_event_t *ev) {
    size_t n = sizeof(*ev);
    __asm__("" : "+r"(n)); /* a size the compiler cannot see: the library's vector memset */
    memset(ev, 0, n);
}

/* The id s (at most 32 bytes, checked) into ev->id, NUL-terminated: LE_ECORRUPT when it holds a
 * NUL byte. When 32 bytes from s are in the payload (the id is not its last string), two
 * vector loads do the check and the copy; the bytes past the id keep what ev->id had there,
 * as a memcpy of the id's length would. */
static inline int put_id(le_event_t *ev, le_str_t id, const uint8_t *end) {
#ifdef __SSE2__
    if ((size_t)(end - (const uint8_t *)id.ptr) >= 32) {
        const __m128i n = _mm_set1_epi8((char)id.len), zero = _mm_setzero_si128();
        const __m128i i0 = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        const __m128i i1 = _mm_add_epi8(i0, _mm_set1_epi8(16));
        __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)id.ptr);
        __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(id.ptr + 16));
        __m128i in0 = _mm_cmpgt_epi8(n, i0), in1 = _mm_cmpgt_epi8(n, i1); /* place < len */
        __m128i nul = _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(lo, zero), in0),
                                   _mm_and_si128(_mm_cmpeq_epi8(hi, zero), in1));
        if (_mm_movemask_epi8(nul)) return LE_ECORRUPT;
        __m128i old0 = _mm_loadu_si128((const __m128i *)(const void *)ev->id);
        __m128i old1 = _mm_loadu_si128((const __m128i *)(const void *)(ev->id + 16));
        _mm_storeu_si128((__m128i *)(void *)ev->id,
                         _mm_or_si128(_mm_and_si128(lo, in0), _mm_andnot_si128(in0, old0)));
        _mm_storeu_si128((__m128i *)(void *)(ev->id + 16),
                         _mm_or_si128(_mm_and_si128(hi, in1), _mm_andnot_si128(in1, old1)));
        ev->id[id.len] = '\0';
        return 0;
    }
#endif
    if (memchr(id.ptr, 0, id.len)) return LE_ECORRUPT;
    memcpy(ev->id, id.ptr, id.len);
    ev->id[id.len] = '\0';
    return 0;
}

/* The 4 bytes at p as a little-endian word (the caller knows they are there). */
static inline uint32_t load32(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* What the decoder notes besides the event. */
typedef struct {
    bool have_v, vid_is_id;
    size_t idlen;
} dstate_t;

/* The value of a key of kind into ev. Inline: with a constant kind (the pass in the
 * encoder's order) the switch folds away. */
static inline __attribute__((always_inline)) int take_value(cur_t *c, unsigned kind, le_event_t *ev,
                                                            le_arena_t *a, dstate_t *st) {
    le_str_t id;
    int64_t v;
    int rc;
    switch (kind) {
        case K_V:
            rc = get_int(c, &v);
            if (rc == 0 && v < 1) rc = LE_ECORRUPT;
            st->have_v = true;
            return rc;
        case K_T:
            return get_int(c, &ev->time_ms);
        case K_CT:
            return get_int(c, &ev->client_ts_ms);
        case K_TY:
            return get_u8(c, &ev->type);
        case K_SRC:
            return get_u8(c, &ev->source);
        case K_IK:
            return get_u8(c, &ev->id_kind);
        case K_ID:
            rc = get_str(c, &id);
            if (rc == 0 && id.len > LE_ID_HEX_LEN) rc = LE_ECORRUPT;
            if (rc == 0) rc = put_id(ev, id, c->end);
            if (rc == 0) st->idlen = id.len;
            return rc;
        case K_C:
            return get_bool(c, &ev->consent);
        case K_GPC:
            return get_bool(c, &ev->gpc);
        case K_BOT:
            return get_bool(c, &ev->bot);
        case K_SF:
            return get_bool(c, &ev->staff);
        case K_N:
            return get_str(c, &ev->name);
        case K_U:
            return get_str(c, &ev->url);
        case K_R:
            return get_str(c, &ev->ref);
        case K_TI:
            return get_str(c, &ev->title);
        case K_VID:
            if (c->p < c->end && *c->p == 0xc3) { /* the same as id (which may come later) */
                c->p++;
                st->vid_is_id = true;
                return 0;
            }
            return get_str(c, &ev->vid);
        case K_F:
            return get_str(c, &ev->form_id);
        case K_P:
            return get_kvs(c, a, &ev->props, &ev->nprops);
        case K_FF:
            return get_kvs(c, a, &ev->fields, &ev->nfields);
        case K_IP:
            return get_str(c, &ev->ip);
        case K_UA:
            return get_str(c, &ev->ua);
        case K_L:
            return get_str(c, &ev->lang);
        case K_XA:
            ev->enriched = true;
            return get_enrichment_array(c, &ev->x);
        case K_XM: {
            cur_t k = *c;
            rc = get_enrichment(&k, &ev->x);
            *c = k;
            ev->enriched = true;
            return rc;
        }
        default:
            return skip(c); /* a key from a later version */
    }
}

int le_record_decode(const void *payload, size_t len, le_event_t *ev, le_arena_t *a) {
    cur_t c = {payload, (const uint8_t *)payload + len};
    tok_t m;
    dstate_t st = {false, false, 0};

    zero_event(ev);
    if (c.end - c.p >= 3 && *c.p == 0xde) { /* map 16: a record has 16 keys or more */
        m.kind = T_MAP;
        m.n = (uint32_t)be(c.p + 1, 2);
        c.p += 3;
    } else if (next(&c, &m) || m.kind != T_MAP) {
        return LE_ECORRUPT;
    }
    if (2 * (uint64_t)m.n > (uint64_t)(c.end - c.p)) return LE_ECORRUPT;

    /* First the keys in the encoder's order, straight through: each one comparison of the
     * entry's first bytes, and its value read by code made for that key. Keys the encoder
     * left out cost their comparison; the first that is not where the order says stops this,
     * and the loop below takes the rest as they come. */
    uint32_t i = 0;
    size_t o = 0; /* the next place in order[] a key may be at */
#define STEP(k)                                                                                    \
    do {                                                                                           \
        if (i < m.n && c.end - c.p >= 4 && (load32(c.p) & order[k].mask) == order[k].word) {       \
            c.p += order[k].len;                                                                   \
            if (take_value(&c, order_kind[k], ev, a, &st)) return LE_ECORRUPT;                     \
            i++;                                                                                   \
            o = (k) + 1;                                                                           \
        }                                                                                          \
    } while (0)
    _Static_assert(LE_ARRAY_SIZE(order) == 23, "a STEP per key in order[]");
    STEP(0);
    STEP(1);
    STEP(2);
    STEP(3);
    STEP(4);
    STEP(5);
    STEP(6);
    STEP(7);
    STEP(8);
    STEP(9);
    STEP(10);
    STEP(11);
    STEP(12);
    STEP(13);
    STEP(14);
    STEP(15);
    STEP(16);
    STEP(17);
    STEP(18);
    STEP(19);
    STEP(20);
    STEP(21);
    STEP(22);
#undef STEP

    for (; i < m.n; i++) {
        unsigned kind = K_OTHER;
        bool found = false;
        if (LE_LIKELY(c.end - c.p >= 4)) {
            uint32_t w = load32(c.p);
            for (size_t k = o; k < LE_ARRAY_SIZE(order); k++)
                if ((w & order[k].mask) == order[k].word) {
                    kind = order_kind[k];
                    c.p += order[k].len;
                    o = k + 1;
                    found = true;
                    break;
                }
        }
        if (!found) {
            unsigned code;
            if (get_key(&c, &code)) return LE_ECORRUPT;
            kind = key_kind(code);
        }
        if (take_value(&c, kind, ev, a, &st)) return LE_ECORRUPT;
    }
    if (c.p != c.end || !st.have_v) return LE_ECORRUPT;
    if (st.vid_is_id) ev->vid = (le_str_t){ev->id, st.idlen}; /* strlen(ev->id): no NUL in ids */
    return 0;
}

/* ---- JSON and text ----------------------------------------------------- */

static const char *type_name(uint8_t t) {
    switch (t) {
        case LE_EV_PAGEVIEW:
            return "pageview";
        case LE_EV_EVENT:
            return "event";
        case LE_EV_FORM:
            return "form";
        case LE_EV_STATUS:
            return "status";
        case LE_EV_ERASE:
            return "erase";
        default:
            return NULL;
    }
}

static const char *source_name(uint8_t s) {
    switch (s) {
        case LE_SRC_PIXEL:
            return "pixel";
        case LE_SRC_BEACON:
            return "beacon";
        case LE_SRC_FORM:
            return "form";
        case LE_SRC_ADMIN:
            return "admin";
        default:
            return NULL;
    }
}

static const char *id_kind_name(uint8_t k) {
    switch (k) {
        case LE_ID_COOKIE:
            return "visitor";
        case LE_ID_COOKIELESS:
            return "cookieless";
        default:
            return NULL;
    }
}

/*
 * A JSON string for s, or NULL when s is not valid UTF-8 (json_stringn checks)
 * or holds a NUL: events never carry one (event.h), and many JSON readers,
 * jansson's own among them, refuse "\u0000" in keys.
 */
static json_t *jstr(le_str_t s) {
    if (memchr(s.ptr, 0, s.len)) return NULL;
    return json_stringn(s.ptr, s.len);
}

/* Set o[key] to the string s when s is not empty. */
static int set_str(json_t *o, const char *key, le_str_t s) {
    if (s.len == 0) return 0;
    json_t *v = jstr(s);
    if (!v) return LE_ECORRUPT;
    json_object_set_new(o, key, v);
    return 0;
}

/* A known name, or the number itself for a value this version does not know. */
static void set_enum(json_t *o, const char *key, uint8_t v, const char *name) {
    if (v == 0) return;
    json_object_set_new(o, key, name ? json_string(name) : json_integer(v));
}

static int set_kvs(json_t *o, const char *key, const le_kv_t *kv, uint32_t n) {
    if (n == 0) return 0;
    json_t *m = json_object();
    json_object_set_new(o, key, m);
    for (uint32_t i = 0; i < n; i++) {
        if (memchr(kv[i].key.ptr, 0, kv[i].key.len)) return LE_ECORRUPT;
        json_t *v = jstr(kv[i].val);
        /* setn_new checks the key's UTF-8 and releases v when it fails. */
        if (!v || json_object_setn_new(m, kv[i].key.ptr, kv[i].key.len, v)) return LE_ECORRUPT;
    }
    return 0;
}

/* An object under key, or NULL when it would be empty. */
static json_t *sub(json_t *o, const char *key) {
    json_t *s = json_object_get(o, key);
    if (!s) {
        s = json_object();
        json_object_set_new(o, key, s);
    }
    return s;
}

/*
 * The enrichment as three objects, written only with what is known:
 *   "geo":     country_code, country, region_code, region, city, postal, latitude,
 *              longitude, accuracy_km, time_zone, continent
 *   "company": name, key, domain, org, asn, as_org, network, connection_type,
 *              user_type, anonymiser (list), source ("ranges" or "ip")
 *   "device":  browser, browser_version, os, os_version, family, brand, model, class
 * plus "language" and "bot_reasons" (list) at the top.
 */
static int put_enrichment_json(json_t *o, const le_enrichment_t *x) {
    static const char *const anon_names[] = {"anonymous", "vpn",          "tor",
                                             "hosting",   "public_proxy", "residential_proxy"};
    int rc;
    for (size_t i = 0; i < NXSTR; i++) {
        const le_str_t *v = xfield_c(x, i);
        if (xstr[i].obj && v->len && (rc = set_str(sub(o, xstr[i].obj), xstr[i].name, *v)))
            return rc;
    }
    if (x->has_location) {
        json_t *g = sub(o, "geo");
        json_object_set_new(g, "latitude", json_real(x->latitude));
        json_object_set_new(g, "longitude", json_real(x->longitude));
        json_object_set_new(g, "accuracy_km", json_integer(x->accuracy_km));
    }
    json_t *c = sub(o, "company");
    if (x->asn) json_object_set_new(c, "asn", json_integer(x->asn));
    json_object_set_new(c, "network", json_string(le_network_name((le_network_t)x->network)));
    if (x->anon) {
        json_t *l = json_array();
        for (unsigned b = 0; b < sizeof(anon_names) / sizeof(anon_names[0]); b++)
            if (x->anon & (1u << b)) json_array_append_new(l, json_string(anon_names[b]));
        json_object_set_new(c, "anonymiser", l);
    }
    if (x->company.len)
        json_object_set_new(c, "source", json_string(x->from_ranges ? "ranges" : "ip"));
    json_object_set_new(sub(o, "device"), "class",
                        json_string(le_device_class_name(x->device_class)));
    if (x->language.len && (rc = set_str(o, "language", x->language))) return rc;
    json_t *l = json_array();
    for (unsigned b = 0; b < 32; b++)
        if (x->bot_reasons & (1u << b)) {
            const char *name = le_bot_reason_name(1u << b);
            json_array_append_new(l, name ? json_string(name) : json_integer(1u << b));
        }
    json_object_set_new(o, "bot_reasons", l);
    return 0;
}

static int dump_cb(const char *buffer, size_t size, void *data) {
    le_buf_append(data, buffer, size);
    return 0;
}

int le_record_to_json(const void *payload, size_t len, le_buf_t *out) {
    char mem[2048], ts[32];
    le_arena_t a;
    le_event_t ev;
    json_t *o = NULL;
    int rc;

    le_arena_init(&a, mem, sizeof(mem));
    rc = le_record_decode(payload, len, &ev, &a);
    if (rc) goto done;

    o = json_object();
    if (ev.time_ms) {
        if (le_time_rfc3339(ev.time_ms, ts)) json_object_set_new(o, "time", json_string(ts));
        json_object_set_new(o, "time_ms", json_integer(ev.time_ms));
    }
    set_enum(o, "type", ev.type, type_name(ev.type));
    set_enum(o, "source", ev.source, source_name(ev.source));
    if (ev.id[0]) {
        json_t *id = json_string(ev.id);
        if (!id) {
            rc = LE_ECORRUPT;
            goto done;
        }
        json_object_set_new(o, "id", id);
    }
    set_enum(o, "id_kind", ev.id_kind, id_kind_name(ev.id_kind));
    json_object_set_new(o, "consent", json_boolean(ev.consent));
    json_object_set_new(o, "gpc", json_boolean(ev.gpc));
    json_object_set_new(o, "bot", json_boolean(ev.bot));
    if (ev.staff) json_object_set_new(o, "staff", json_true());
    if ((rc = set_str(o, "name", ev.name)) || (rc = set_str(o, "url", ev.url)) ||
        (rc = set_str(o, "ref", ev.ref)) || (rc = set_str(o, "title", ev.title)) ||
        (rc = set_str(o, "vid", ev.vid)) || (rc = set_str(o, "form", ev.form_id)) ||
        (rc = set_kvs(o, "props", ev.props, ev.nprops)) ||
        (rc = set_kvs(o, "fields", ev.fields, ev.nfields)) || (rc = set_str(o, "ip", ev.ip)) ||
        (rc = set_str(o, "ua", ev.ua)) || (rc = set_str(o, "lang", ev.lang)))
        goto done;
    if (ev.client_ts_ms) json_object_set_new(o, "client_ts", json_integer(ev.client_ts_ms));
    if (ev.enriched && (rc = put_enrichment_json(o, &ev.x))) goto done;

    json_dump_callback(o, dump_cb, out, JSON_COMPACT | JSON_PRESERVE_ORDER);

done:
    json_decref(o);
    le_arena_free(&a);
    return rc;
}

/* Append s with control bytes replaced, so the summary stays on one line; "-" when empty. */
static void put_field(le_buf_t *out, le_str_t s) {
    if (s.len == 0) {
        le_buf_append(out, "-", 1);
        return;
    }
    le_buf_reserve(out, s.len);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        out->data[out->len++] = ch < 0x20 || ch == 0x7f || ch == ' ' ? '?' : (char)ch;
    }
}

/*
 * "<time> <what> <id> <url>", fields separated by one space, "-" for a
 * missing one. <what> is "pageview", "event:<name>", "form:<form id>" (or
 * "form"), or "type<N>" for a type this version does not know.
 */
int le_record_to_text(const void *payload, size_t len, le_buf_t *out) {
    char mem[2048], ts[32];
    le_arena_t a;
    le_event_t ev;

    le_arena_init(&a, mem, sizeof(mem));
    int rc = le_record_decode(payload, len, &ev, &a);
    if (rc == 0) {
        if (ev.time_ms && le_time_rfc3339(ev.time_ms, ts))
            le_buf_puts(out, ts);
        else
            le_buf_printf(out, "%lld", (long long)ev.time_ms);
        le_buf_append(out, " ", 1);
        if (ev.type == LE_EV_EVENT) {
            le_buf_puts(out, "event:");
            put_field(out, ev.name);
        } else if (ev.type == LE_EV_FORM) {
            le_buf_puts(out, "form");
            if (ev.form_id.len) {
                le_buf_append(out, ":", 1);
                put_field(out, ev.form_id);
            }
        } else if (type_name(ev.type)) {
            le_buf_puts(out, type_name(ev.type));
        } else {
            le_buf_printf(out, "type%u", ev.type);
        }
        le_buf_append(out, " ", 1);
        put_field(out, le_str(ev.id));
        le_buf_append(out, " ", 1);
        put_field(out, ev.url);
    }
    le_arena_free(&a);
    return rc;
}

int le_enrichment_to_json(const le_enrichment_t *x, const char *first_key, le_str_t first_value,
                          le_buf_t *out) {
    json_t *o = json_object();
    int rc = first_key ? set_str(o, first_key, first_value) : 0;
    if (rc == 0) rc = put_enrichment_json(o, x);
    if (rc == 0) {
        json_object_set_new(o, "bot", json_boolean(x->bot_reasons != 0));
        json_dump_callback(o, dump_cb, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(o);
    return rc;
}
