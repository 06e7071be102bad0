/*
 * mmdb.c: lookups in MaxMind-format databases through compiled field paths.
 *
 * libmaxminddb opens and maps each file and reads its metadata (MMDB_open). The search tree and
 * the data records are read here, for speed, under verification done at open:
 *
 *  - Search: the trees of the databases a lookup will certainly need are walked in lockstep
 *    (lookup_all), so their cache misses overlap, and each record found is prefetched while
 *    the others are still being searched.
 *  - Data: a small decoder of the data section format walks each record once along a trie of
 *    the wanted paths, skipping subtrees whose fields an earlier database already gave and
 *    leaving a map as soon as every wanted key has been seen. MMDB_aget_value would re-decode
 *    the record from its start once per field (about 5x slower over City + Enterprise, see
 *    bench/mmdb_bench.c). Map keys stored once and pointed at, as writers do, are recognised by
 *    their offset (db_t.koff, filled while verifying) without reading the string.
 *
 * Data section format (MaxMind DB spec 2.0), as decoded here. Each value starts with a control
 * byte: the top 3 bits are the type, the low 5 bits the size.
 *
 *   type 0      extended: the next byte + 7 is the type (8 int32, 9 uint64, 10 uint128,
 *               11 array, 12 data cache container, 13 end marker, 14 boolean, 15 float)
 *   type 1      pointer: bits 4-3 SS, bits 2-0 VVV; SS+1 more bytes; target =
 *               SS=0: VVV.b0 | SS=1: VVV.b0.b1 + 2048 | SS=2: VVV.b0.b1.b2 + 526336 |
 *               SS=3: b0.b1.b2.b3 (VVV ignored); a data-section offset; never to another pointer
 *   type 2..7   utf8_string, double, bytes, uint16, uint32, map
 *   size        < 29: the size; 29: 29 + next byte; 30: 285 + next 2 bytes; 31: 65821 + next 3
 *               bytes (big-endian; after the extended-type byte when there is one). For maps the
 *               size counts key/value pairs, for arrays elements, for booleans it is the value.
 *
 * Search tree: node_count nodes of two records (24, 28 or 32 bits each; 28-bit records keep
 * the left record's top nibble in the middle byte's high half). A record below node_count is a
 * node, equal to it means "no data", above it points at data offset record - node_count - 16.
 *
 * Safety: every database is verified whole at open (precheck_metadata, verify_db: every
 * search-tree record in range, every data record the tree reaches decoded with its pointers
 * followed, sizes within the section, map keys strings, nesting at most MAX_DEPTH), and the
 * lookup-time code checks bounds anyway: a decoding error at lookup makes that database
 * contribute nothing (counted in lookup_errors); nothing is read outside the mapping.
 */
#include "mmdb.h"

#include <errno.h>
#include <math.h>
#include <maxminddb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unistr.h>

#define MAX_DEPTH 512   /* nesting of maps, arrays and pointers, as libmaxminddb */
#define MAX_SEGMENTS 8  /* in a field path */
#define MAX_SEGMENT 255 /* bytes in one path segment */
#define NO_RANK 0xff
#define SEPARATOR 16 /* zero bytes between the search tree and the data section */

enum {
    T_EXTENDED = 0,
    T_POINTER = 1,
    T_STRING = 2,
    T_DOUBLE = 3,
    T_BYTES = 4,
    T_UINT16 = 5,
    T_UINT32 = 6,
    T_MAP = 7,
    T_INT32 = 8,
    T_UINT64 = 9,
    T_UINT128 = 10,
    T_ARRAY = 11,
    T_CONTAINER = 12,
    T_END_MARKER = 13,
    T_BOOLEAN = 14,
    T_FLOAT = 15,
};

/* --- output fields ------------------------------------------------------------------------ */

typedef enum { V_STR, V_DBL, V_U32, V_BOOL } vkind_t;

static const struct {
    const char *name;
    vkind_t kind;
    size_t off; /* of the le_str_t / double / uint32_t in le_ipinfo_t; anon bit for V_BOOL */
} FIELDS[LE_IPF__COUNT] = {
    [LE_IPF_COUNTRY_CODE] = {"country_code", V_STR, offsetof(le_ipinfo_t, country_code)},
    [LE_IPF_COUNTRY] = {"country", V_STR, offsetof(le_ipinfo_t, country)},
    [LE_IPF_SUBDIVISION_CODE] = {"subdivision_code", V_STR,
                                 offsetof(le_ipinfo_t, subdivision_code)},
    [LE_IPF_SUBDIVISION] = {"subdivision", V_STR, offsetof(le_ipinfo_t, subdivision)},
    [LE_IPF_CITY] = {"city", V_STR, offsetof(le_ipinfo_t, city)},
    [LE_IPF_POSTAL] = {"postal", V_STR, offsetof(le_ipinfo_t, postal)},
    [LE_IPF_LATITUDE] = {"latitude", V_DBL, offsetof(le_ipinfo_t, latitude)},
    [LE_IPF_LONGITUDE] = {"longitude", V_DBL, offsetof(le_ipinfo_t, longitude)},
    [LE_IPF_ACCURACY_RADIUS] = {"accuracy_radius", V_U32, offsetof(le_ipinfo_t, accuracy_km)},
    [LE_IPF_TIME_ZONE] = {"time_zone", V_STR, offsetof(le_ipinfo_t, time_zone)},
    [LE_IPF_CONTINENT_CODE] = {"continent_code", V_STR, offsetof(le_ipinfo_t, continent_code)},
    [LE_IPF_CONTINENT] = {"continent", V_STR, offsetof(le_ipinfo_t, continent)},
    [LE_IPF_ORG] = {"org", V_STR, offsetof(le_ipinfo_t, org)},
    [LE_IPF_ISP] = {"isp", V_STR, offsetof(le_ipinfo_t, isp)},
    [LE_IPF_DOMAIN] = {"domain", V_STR, offsetof(le_ipinfo_t, domain)},
    [LE_IPF_ASN] = {"asn", V_U32, offsetof(le_ipinfo_t, asn)},
    [LE_IPF_AS_ORG] = {"as_org", V_STR, offsetof(le_ipinfo_t, as_org)},
    [LE_IPF_CONNECTION_TYPE] = {"connection_type", V_STR, offsetof(le_ipinfo_t, connection_type)},
    [LE_IPF_USER_TYPE] = {"user_type", V_STR, offsetof(le_ipinfo_t, user_type)},
    [LE_IPF_IS_ANONYMOUS] = {"is_anonymous", V_BOOL, LE_ANON_ANY},
    [LE_IPF_IS_VPN] = {"is_vpn", V_BOOL, LE_ANON_VPN},
    [LE_IPF_IS_TOR] = {"is_tor", V_BOOL, LE_ANON_TOR},
    [LE_IPF_IS_HOSTING] = {"is_hosting", V_BOOL, LE_ANON_HOSTING},
    [LE_IPF_IS_PUBLIC_PROXY] = {"is_public_proxy", V_BOOL, LE_ANON_PUBLIC_PROXY},
    [LE_IPF_IS_RESIDENTIAL_PROXY] = {"is_residential_proxy", V_BOOL, LE_ANON_RESIDENTIAL_PROXY},
};

const char *le_ipfield_name(le_ipfield_t f) {
    return (unsigned)f < LE_IPF__COUNT ? FIELDS[f].name : NULL;
}

/* --- database kinds and their built-in paths ------------------------------------------------ */

typedef enum {
    K_CUSTOM = 0,
    K_CITY,
    K_COUNTRY,
    K_ENTERPRISE,
    K_ISP,
    K_ASN,
    K_CONN,
    K_ANON,
    K_DOMAIN,
} kind_t;

static const char *const KIND_NAMES[] = {"custom",          "city",         "country",
                                         "enterprise",      "isp",          "asn",
                                         "connection-type", "anonymous-ip", "domain"};

/* database_type -> kind. A name matches exactly or as a prefix followed by '-' ("GeoIP2-City-
 * Europe", "DBIP-City-Lite"); more specific names come first. A "(compat=NAME)" suffix, as DB-IP
 * writes it, is classified by NAME. */
static const struct {
    const char *name;
    kind_t kind;
} TYPES[] = {
    {"GeoIP2-Enterprise", K_ENTERPRISE},
    {"GeoIP2-Precision-Enterprise", K_ENTERPRISE},
    {"DBIP-Location-ISP", K_ENTERPRISE},
    {"GeoIP2-City", K_CITY},
    {"GeoLite2-City", K_CITY},
    {"GeoIP2-Precision-City", K_CITY},
    {"DBIP-City", K_CITY},
    {"DBIP-Location", K_CITY},
    {"GeoIP2-Country", K_COUNTRY},
    {"GeoLite2-Country", K_COUNTRY},
    {"DBIP-Country", K_COUNTRY},
    {"GeoIP2-ISP", K_ISP},
    {"GeoIP2-Precision-ISP", K_ISP},
    {"DBIP-ISP", K_ISP},
    {"GeoLite2-ASN", K_ASN},
    {"GeoIP2-ASN", K_ASN},
    {"DBIP-ASN", K_ASN},
    {"GeoIP2-Connection-Type", K_CONN},
    {"GeoIP2-Precision-Connection-Type", K_CONN},
    {"GeoIP2-Anonymous-IP", K_ANON},
    {"GeoIP2-Domain", K_DOMAIN},
};

static kind_t classify_name(const char *t, size_t n) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(TYPES); i++) {
        size_t k = strlen(TYPES[i].name);
        if (n >= k && memcmp(t, TYPES[i].name, k) == 0 && (n == k || t[k] == '-'))
            return TYPES[i].kind;
    }
    return K_CUSTOM;
}

static kind_t classify(const char *type) {
    if (!type) return K_CUSTOM;
    const char *compat = strstr(type, "(compat=");
    if (compat) {
        const char *s = compat + 8, *e = strchr(s, ')');
        if (e) return classify_name(s, (size_t)(e - s));
    }
    size_t n = strlen(type);
    while (n && type[n - 1] == ' ') n--;
    return classify_name(type, n);
}

/* Built-in paths. '@' as the last segment stands for the language (then "en" as a fallback). */
typedef struct {
    le_ipfield_t field;
    const char *path;
} bpath_t;

#define GEO_PATHS                                                                                  \
    {LE_IPF_COUNTRY_CODE, "country.iso_code"}, {LE_IPF_COUNTRY, "country.names.@"},                \
        {LE_IPF_CONTINENT_CODE, "continent.code"}, {                                               \
        LE_IPF_CONTINENT, "continent.names.@"                                                      \
    }
#define CITY_PATHS                                                                                 \
    GEO_PATHS, {LE_IPF_SUBDIVISION_CODE, "subdivisions.0.iso_code"},                               \
        {LE_IPF_SUBDIVISION, "subdivisions.0.names.@"}, {LE_IPF_CITY, "city.names.@"},             \
        {LE_IPF_POSTAL, "postal.code"}, {LE_IPF_LATITUDE, "location.latitude"},                    \
        {LE_IPF_LONGITUDE, "location.longitude"},                                                  \
        {LE_IPF_ACCURACY_RADIUS, "location.accuracy_radius"}, {                                    \
        LE_IPF_TIME_ZONE, "location.time_zone"                                                     \
    }

static const bpath_t P_CITY[] = {CITY_PATHS};
static const bpath_t P_COUNTRY[] = {GEO_PATHS};
static const bpath_t P_ENTERPRISE[] = {
    CITY_PATHS,
    {LE_IPF_ORG, "traits.organization"},
    {LE_IPF_ISP, "traits.isp"},
    {LE_IPF_DOMAIN, "traits.domain"},
    {LE_IPF_ASN, "traits.autonomous_system_number"},
    {LE_IPF_AS_ORG, "traits.autonomous_system_organization"},
    {LE_IPF_CONNECTION_TYPE, "traits.connection_type"},
    {LE_IPF_USER_TYPE, "traits.user_type"},
};
static const bpath_t P_ISP[] = {
    {LE_IPF_ORG, "organization"},
    {LE_IPF_ISP, "isp"},
    {LE_IPF_ASN, "autonomous_system_number"},
    {LE_IPF_AS_ORG, "autonomous_system_organization"},
};
static const bpath_t P_ASN[] = {
    {LE_IPF_ASN, "autonomous_system_number"},
    {LE_IPF_AS_ORG, "autonomous_system_organization"},
};
static const bpath_t P_CONN[] = {{LE_IPF_CONNECTION_TYPE, "connection_type"}};
static const bpath_t P_ANON[] = {
    {LE_IPF_IS_ANONYMOUS, "is_anonymous"},
    {LE_IPF_IS_VPN, "is_anonymous_vpn"},
    {LE_IPF_IS_TOR, "is_tor_exit_node"},
    {LE_IPF_IS_HOSTING, "is_hosting_provider"},
    {LE_IPF_IS_PUBLIC_PROXY, "is_public_proxy"},
    {LE_IPF_IS_RESIDENTIAL_PROXY, "is_residential_proxy"},
};
static const bpath_t P_DOMAIN[] = {{LE_IPF_DOMAIN, "domain"}};

static const struct {
    const bpath_t *p;
    size_t n;
} BUILTIN[] = {
    [K_CUSTOM] = {NULL, 0},
    [K_CITY] = {P_CITY, LE_ARRAY_SIZE(P_CITY)},
    [K_COUNTRY] = {P_COUNTRY, LE_ARRAY_SIZE(P_COUNTRY)},
    [K_ENTERPRISE] = {P_ENTERPRISE, LE_ARRAY_SIZE(P_ENTERPRISE)},
    [K_ISP] = {P_ISP, LE_ARRAY_SIZE(P_ISP)},
    [K_ASN] = {P_ASN, LE_ARRAY_SIZE(P_ASN)},
    [K_CONN] = {P_CONN, LE_ARRAY_SIZE(P_CONN)},
    [K_ANON] = {P_ANON, LE_ARRAY_SIZE(P_ANON)},
    [K_DOMAIN] = {P_DOMAIN, LE_ARRAY_SIZE(P_DOMAIN)},
};

/* --- the path trie -------------------------------------------------------------------------- */

typedef struct {
    uint8_t field, rank; /* rank: position among the field's fallbacks, 0 first */
} out_t;

typedef struct pnode_s {
    char *key; /* segment (NUL-terminated, owned) */
    uint32_t keylen;
    bool numeric; /* "-?[0-9]+": also an array index */
    int32_t index;
    struct pnode_s **kids;
    uint16_t nkids;
    out_t *outs;
    uint16_t nouts;
    uint32_t mask; /* LE_IPF_BIT of every field at or below this node */
    uint8_t seg;   /* id of the key text among the trie's distinct segments (1..255), 0: none */
} pnode_t;

static void pnode_free(pnode_t *n) {
    if (!n) return;
    for (uint16_t i = 0; i < n->nkids; i++) pnode_free(n->kids[i]);
    free(n->kids);
    free(n->outs);
    free(n->key);
    free(n);
}

static pnode_t *pnode_new(const char *key, size_t len) {
    pnode_t *n = le_xcalloc(1, sizeof *n);
    n->key = le_xstrndup(key ? key : "", len);
    n->keylen = (uint32_t)len;
    if (len && len <= 11) {
        size_t i = key[0] == '-' ? 1 : 0;
        bool digits = i < len;
        for (size_t k = i; k < len; k++) digits = digits && key[k] >= '0' && key[k] <= '9';
        if (digits) {
            long v = strtol(n->key, NULL, 10);
            if (v >= INT32_MIN && v <= INT32_MAX) {
                n->numeric = true;
                n->index = (int32_t)v;
            }
        }
    }
    return n;
}

/* Why a path is malformed, or NULL when it is fine. */
static const char *path_problem(const char *path) {
    if (!path || !*path) return "empty path";
    size_t len = strlen(path), segs = 1, seg = 0;
    if (path[0] == ' ' || path[len - 1] == ' ') return "leading or trailing blank";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f) return "control character";
        if (c == '.') {
            if (seg == 0) return "empty segment";
            if (++segs > MAX_SEGMENTS) return "more than 8 segments";
            seg = 0;
            continue;
        }
        if (++seg > MAX_SEGMENT) return "segment longer than 255 bytes";
    }
    if (seg == 0) return "empty segment";
    return NULL;
}

/* Add a well-formed path to the trie. */
static void trie_add(pnode_t *root, const char *path, le_ipfield_t field, unsigned rank) {
    pnode_t *n = root;
    const char *s = path;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        pnode_t *kid = NULL;
        for (uint16_t i = 0; i < n->nkids; i++) {
            if (n->kids[i]->keylen == len && memcmp(n->kids[i]->key, s, len) == 0) {
                kid = n->kids[i];
                break;
            }
        }
        if (!kid) {
            kid = pnode_new(s, len);
            n->kids = le_xrealloc(n->kids, (n->nkids + 1u) * sizeof *n->kids);
            n->kids[n->nkids++] = kid;
        }
        n = kid;
        if (!dot) break;
        s = dot + 1;
    }
    n->outs = le_xrealloc(n->outs, (n->nouts + 1u) * sizeof *n->outs);
    n->outs[n->nouts++] = (out_t){(uint8_t)field, (uint8_t)(rank < NO_RANK ? rank : NO_RANK - 1)};
}

/* Fill in every node's mask (its fields and its descendants'); returns the root's. */
static uint32_t trie_mask(pnode_t *n) {
    uint32_t m = 0;
    for (uint16_t i = 0; i < n->nouts; i++) m |= LE_IPF_BIT(n->outs[i].field);
    for (uint16_t i = 0; i < n->nkids; i++) m |= trie_mask(n->kids[i]);
    return n->mask = m;
}

/* The trie's distinct key texts, ids 1..255; with more, no key table is built (overflow) and
 * every key is compared as text. */
typedef struct {
    const char *key[255];
    uint32_t len[255];
    unsigned n;
    bool overflow; /* more than 255: no key table, keys compared as text */
} segs_t;

static void trie_segs(pnode_t *n, segs_t *S) {
    for (uint16_t i = 0; i < n->nkids; i++) {
        pnode_t *k = n->kids[i];
        unsigned id = 0;
        for (unsigned j = 0; j < S->n && !id; j++)
            if (S->len[j] == k->keylen && memcmp(S->key[j], k->key, k->keylen) == 0) id = j + 1;
        if (!id && S->n < 255) {
            S->key[S->n] = k->key;
            S->len[S->n] = k->keylen;
            id = ++S->n;
        } else if (!id) {
            S->overflow = true;
        }
        k->seg = (uint8_t)id;
        trie_segs(k, S);
    }
}

/* --- the set -------------------------------------------------------------------------------- */

typedef struct {
    uint8_t field;
    char *path;
} cpath_t;

typedef struct {
    MMDB_s mmdb;
    bool opened;
    char *path;
    struct stat st;
    kind_t kind;
    bool field_map; /* paths from an explicit map, not the kind's built-ins */
    pnode_t *root;
    cpath_t *paths; /* compiled, in order: for describe */
    size_t npaths;
    atomic_uint_fast64_t *errors; /* mutable counter of an otherwise immutable database */
    /* Map keys are almost always stored once and pointed at. verify_db records the data offset
     * of every key string that spells a trie segment, so a lookup matches such a key by its
     * pointer alone, without reading the string. Open addressing, offset + 1 (0 = empty). */
    uint32_t *koff;
    uint8_t *kseg;
    unsigned kbits;   /* table size 1 << kbits; 0: no table, compare key strings */
    bool eager;       /* offers a field no earlier database of the set does (lookup_all) */
    uint32_t v4_node; /* where IPv4 addresses start in an IPv6 tree (::/96), and at which bit */
    unsigned v4_bit;
} db_t;

struct le_mmdb_s {
    atomic_int refs;
    size_t n;
    db_t *dbs;
};

static void db_free(db_t *db) {
    if (db->opened) MMDB_close(&db->mmdb);
    pnode_free(db->root);
    for (size_t i = 0; i < db->npaths; i++) free(db->paths[i].path);
    free(db->paths);
    free(db->path);
    free((void *)db->errors);
    free(db->koff);
    free(db->kseg);
}

static void set_free(le_mmdb_t *m) {
    for (size_t i = 0; i < m->n; i++) db_free(&m->dbs[i]);
    free(m->dbs);
    free(m);
}

static void add_path(db_t *db, le_ipfield_t f, const char *path, unsigned rank) {
    trie_add(db->root, path, f, rank);
    db->paths = le_xrealloc(db->paths, (db->npaths + 1) * sizeof *db->paths);
    db->paths[db->npaths++] = (cpath_t){(uint8_t)f, le_xstrdup(path)};
}

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63) return 99;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            row[j] = LE_MIN(LE_MIN(row[j] + 1, row[j - 1] + 1), sub);
            prev = cur;
        }
    }
    return row[lb];
}

static int field_by_name(const char *name) {
    for (int f = 0; f < LE_IPF__COUNT; f++)
        if (name && strcmp(name, FIELDS[f].name) == 0) return f;
    return -1;
}

/* Compile an explicit field map; one error line per problem. Returns the number of problems. */
static unsigned compile_map(db_t *db, const le_dbconf_t *c, le_buf_t *err) {
    unsigned bad = 0, rank[LE_IPF__COUNT] = {0};
    for (size_t i = 0; i < c->nfields; i++) {
        const char *name = c->fields[i].name, *path = c->fields[i].path;
        int f = field_by_name(name);
        if (f < 0) {
            const char *best = NULL;
            size_t bestd = 3;
            for (int k = 0; name && k < LE_IPF__COUNT; k++) {
                size_t d = edit_distance(name, FIELDS[k].name);
                if (d < bestd) bestd = d, best = FIELDS[k].name;
            }
            le_buf_printf(err, "%s: fields: unknown field \"%s\"", db->path, name ? name : "");
            if (best) {
                le_buf_printf(err, " (did you mean \"%s\"?)\n", best);
            } else {
                for (int k = 0; k < LE_IPF__COUNT; k++)
                    le_buf_printf(err, "%s%s", k ? ", " : " (known: ", FIELDS[k].name);
                le_buf_puts(err, ")\n");
            }
            bad++;
            continue;
        }
        const char *why = path_problem(path);
        if (why) {
            le_buf_printf(err, "%s: fields: %s: malformed path \"%s\": %s\n", db->path, name,
                          path ? path : "", why);
            bad++;
            continue;
        }
        add_path(db, (le_ipfield_t)f, path, rank[f]++);
    }
    return bad;
}

static void compile_builtin(db_t *db, const char *lang) {
    for (size_t i = 0; i < BUILTIN[db->kind].n; i++) {
        const bpath_t *b = &BUILTIN[db->kind].p[i];
        size_t len = strlen(b->path);
        if (b->path[len - 1] != '@') {
            add_path(db, b->field, b->path, 0);
            continue;
        }
        char buf[128];
        unsigned rank = 0;
        snprintf(buf, sizeof buf, "%.*s%s", (int)(len - 1), b->path, lang);
        add_path(db, b->field, buf, rank++);
        if (strcmp(lang, "en") != 0) {
            snprintf(buf, sizeof buf, "%.*sen", (int)(len - 1), b->path);
            add_path(db, b->field, buf, rank++);
        }
    }
}

/* --- data section decoding ------------------------------------------------------------------ */

typedef struct {
    uint8_t type;
    uint32_t size;    /* bytes, pairs, elements, or the boolean's value */
    uint32_t payload; /* offset of the payload (first key/element for maps/arrays); the target
                         for pointers */
    uint32_t next;    /* offset after the header and payload (after the header for containers) */
} val_t;

static inline uint64_t be(const uint8_t *p, uint32_t n) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

#if defined(__GNUC__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

/* Decode the value header at off; false when malformed or out of bounds. */
HOT bool decode(const uint8_t *d, uint32_t n, uint32_t off, val_t *v) {
    if (LE_UNLIKELY(off >= n)) return false;
    uint8_t ctrl = d[off++];
    unsigned type = ctrl >> 5;
    if (type == T_POINTER) {
        unsigned ss = (ctrl >> 3) & 3;
        if (n - off < ss + 1) return false;
        const uint8_t *p = d + off;
        uint32_t t;
        switch (ss) {
            case 0:
                t = ((uint32_t)(ctrl & 7) << 8) | p[0];
                break;
            case 1:
                t = (((uint32_t)(ctrl & 7) << 16) | (uint32_t)be(p, 2)) + 2048;
                break;
            case 2:
                t = (((uint32_t)(ctrl & 7) << 24) | (uint32_t)be(p, 3)) + 526336;
                break;
            default:
                t = (uint32_t)be(p, 4);
                break;
        }
        if (t >= n) return false;
        v->type = T_POINTER;
        v->size = 0;
        v->payload = t;
        v->next = off + ss + 1;
        return true;
    }
    if (type == T_EXTENDED) {
        if (off >= n) return false;
        type = 7u + d[off++];
        if (type < T_INT32 || type > T_FLOAT) return false;
    }
    uint32_t size = ctrl & 31;
    if (size >= 29) {
        uint32_t k = size - 28;
        if (n - off < k) return false;
        uint32_t x = (uint32_t)be(d + off, k);
        off += k;
        size = k == 1 ? 29 + x : k == 2 ? 285 + x : 65821 + x;
    }
    v->type = (uint8_t)type;
    v->size = size;
    v->payload = off;
    switch (type) {
        case T_STRING:
        case T_BYTES:
            break;
        case T_DOUBLE:
            if (size != 8) return false;
            break;
        case T_FLOAT:
            if (size != 4) return false;
            break;
        case T_UINT16:
            if (size > 2) return false;
            break;
        case T_UINT32:
        case T_INT32:
            if (size > 4) return false;
            break;
        case T_UINT64:
            if (size > 8) return false;
            break;
        case T_UINT128:
            if (size > 16) return false;
            break;
        case T_BOOLEAN:
            if (size > 1) return false;
            v->next = off;
            return true;
        case T_MAP:
        case T_ARRAY:
            v->next = off;
            return true;
        default:
            return false; /* container, end marker */
    }
    if (n - off < size) return false;
    v->next = off + size;
    return true;
}

/* Decode at off and, when it is a pointer, at its target (which must not be a pointer). */
HOT bool decode_follow(const uint8_t *d, uint32_t n, uint32_t off, val_t *v, uint32_t *after) {
    if (!decode(d, n, off, v)) return false;
    *after = v->next;
    if (v->type != T_POINTER) return true;
    return decode(d, n, v->payload, v) && v->type != T_POINTER;
}

/* Offset after the value at off, without following pointers. Iterative: each value adds its
 * children to `pending`, and every value takes at least one byte, so the loop is bounded by the
 * section size. */
static bool skip(const uint8_t *d, uint32_t n, uint32_t off, uint32_t *next) {
    uint64_t pending = 1;
    val_t v;
    while (pending) {
        if (!decode(d, n, off, &v)) return false;
        pending--;
        if (v.type == T_MAP)
            pending += 2 * (uint64_t)v.size;
        else if (v.type == T_ARRAY)
            pending += v.size;
        off = v.next;
        if (pending > (uint64_t)(n - off)) return false;
    }
    *next = off;
    return true;
}

/* --- verification at open ------------------------------------------------------------------- */

typedef struct {
    const uint8_t *d;
    uint32_t n;
    uint8_t *done; /* bit per offset: the value starting there was verified */
    uint32_t bad_off;
    const char *why;
    const segs_t *segs; /* key texts to look for; NULL: none */
    uint8_t *kdone;     /* bit per offset: key string at this offset classified */
    uint32_t *koff;     /* (offset, segment) of every key string that spells a segment */
    uint8_t *kseg;
    size_t nk, capk;
} verify_t;

static bool vfail(verify_t *V, uint32_t off, const char *why) {
    if (!V->why) {
        V->why = why;
        V->bad_off = off;
    }
    return false;
}

static inline bool done_get(const verify_t *V, uint32_t off) {
    return V->done[off >> 3] & (1u << (off & 7));
}

static inline void done_set(verify_t *V, uint32_t off) {
    V->done[off >> 3] |= (uint8_t)(1u << (off & 7));
}

static bool verify_value(verify_t *V, uint32_t off, unsigned depth, uint32_t *next);

/* A key string at offset t, pointed at from a map: note it when it spells a trie segment. */
static void key_seen(verify_t *V, uint32_t t, const val_t *k) {
    const segs_t *S = V->segs;
    for (unsigned j = 0; j < S->n; j++) {
        if (S->len[j] != k->size || memcmp(S->key[j], V->d + k->payload, k->size) != 0) continue;
        if (V->nk == V->capk) {
            V->capk = V->capk ? 2 * V->capk : 64;
            V->koff = le_xrealloc(V->koff, V->capk * sizeof *V->koff);
            V->kseg = le_xrealloc(V->kseg, V->capk * sizeof *V->kseg);
        }
        V->koff[V->nk] = t;
        V->kseg[V->nk++] = (uint8_t)(j + 1);
        return;
    }
}

/* A pointer's target, verified once (the mark is set after, so a cycle hits MAX_DEPTH). */
static bool verify_target(verify_t *V, uint32_t target, unsigned depth) {
    val_t t;
    uint32_t ignored;
    if (done_get(V, target)) return true;
    if (!decode(V->d, V->n, target, &t)) return vfail(V, target, "malformed value");
    if (t.type == T_POINTER) return vfail(V, target, "pointer to a pointer");
    if (!verify_value(V, target, depth + 1, &ignored)) return false;
    done_set(V, target);
    return true;
}

static bool verify_value(verify_t *V, uint32_t off, unsigned depth, uint32_t *next) {
    val_t v;
    if (depth > MAX_DEPTH) return vfail(V, off, "nested deeper than 512 levels");
    if (!decode(V->d, V->n, off, &v)) return vfail(V, off, "malformed value");
    if (v.type == T_POINTER) {
        *next = v.next;
        return verify_target(V, v.payload, depth);
    }
    uint32_t p = v.next;
    if (v.type == T_MAP) {
        if ((uint64_t)v.size * 2 > V->n - p) return vfail(V, off, "map larger than the data");
        for (uint32_t i = 0; i < v.size; i++) {
            val_t k;
            if (!decode(V->d, V->n, p, &k)) return vfail(V, p, "malformed map key");
            uint32_t after = k.next;
            if (k.type == T_POINTER) {
                uint32_t t = k.payload;
                if (!decode(V->d, V->n, t, &k)) return vfail(V, p, "malformed map key");
                if (k.type == T_STRING && V->segs && !(V->kdone[t >> 3] & (1u << (t & 7)))) {
                    V->kdone[t >> 3] |= (uint8_t)(1u << (t & 7));
                    key_seen(V, t, &k);
                }
            }
            if (k.type != T_STRING) return vfail(V, p, "map key is not a string");
            if (!verify_value(V, after, depth + 1, &p)) return false;
        }
    } else if (v.type == T_ARRAY) {
        if ((uint64_t)v.size > V->n - p) return vfail(V, off, "array larger than the data");
        for (uint32_t i = 0; i < v.size; i++)
            if (!verify_value(V, p, depth + 1, &p)) return false;
    }
    *next = p;
    return true;
}

HOT uint64_t read_record(const uint8_t *node, unsigned rs, int right) {
    switch (rs) {
        case 24:
            return be(node + (right ? 3 : 0), 3);
        case 28:
            if (right) return be(node + 3, 4) & 0x0fffffff;
            return ((uint64_t)(node[3] & 0xf0) << 20) | be(node, 3);
        default:
            return be(node + (right ? 4 : 0), 4);
    }
}

/* Check every search-tree record and every data record it reaches. false and a message in err
 * on the first problem. */
static inline uint32_t khash(uint32_t off, unsigned bits) {
    return (uint32_t)((off * 2654435761u) >> (32 - bits));
}

static bool verify_db(db_t *db, const segs_t *segs, le_buf_t *err) {
    const MMDB_s *mm = &db->mmdb;
    uint32_t nodes = mm->metadata.node_count;
    unsigned rs = mm->metadata.record_size;
    size_t nbytes = (size_t)rs * 2 / 8;
    const uint8_t *tree = mm->file_content;
    verify_t V = {.d = mm->data_section, .n = mm->data_section_size, .segs = segs};

    if (rs != 24 && rs != 28 && rs != 32) {
        le_buf_printf(err, "%s: corrupt database: record size %u\n", db->path, rs);
        return false;
    }
    if (mm->metadata.ip_version != 4 && mm->metadata.ip_version != 6) {
        le_buf_printf(err, "%s: corrupt database: ip_version %u\n", db->path,
                      (unsigned)mm->metadata.ip_version);
        return false;
    }
    if (nodes == 0) {
        le_buf_printf(err, "%s: corrupt database: empty search tree\n", db->path);
        return false;
    }
    for (int i = 0; i < SEPARATOR; i++) {
        if (mm->data_section[i - SEPARATOR] != 0) {
            le_buf_printf(err, "%s: corrupt database: no data section separator after %u nodes\n",
                          db->path, nodes);
            return false;
        }
    }
    V.done = le_xcalloc((size_t)V.n / 8 + 1, 1);
    if (segs && segs->n)
        V.kdone = le_xcalloc((size_t)V.n / 8 + 1, 1);
    else
        V.segs = NULL;
    bool ok = true;
    for (uint32_t i = 0; i < nodes && ok; i++) {
        const uint8_t *node = tree + (size_t)i * nbytes;
        for (int side = 0; side < 2 && ok; side++) {
            uint64_t r = read_record(node, rs, side);
            if (r < nodes) {
                if (r == 0) {
                    le_buf_printf(err,
                                  "%s: corrupt database: search tree node %u points back at "
                                  "the root\n",
                                  db->path, i);
                    ok = false;
                }
                continue;
            }
            if (r == nodes) continue; /* no data */
            if (r < (uint64_t)nodes + SEPARATOR) {
                le_buf_printf(err,
                              "%s: corrupt database: search tree node %u points into the "
                              "data section separator\n",
                              db->path, i);
                ok = false;
                continue;
            }
            if (r - nodes - SEPARATOR >= V.n) {
                le_buf_printf(err,
                              "%s: corrupt database: search tree node %u points outside "
                              "the data section\n",
                              db->path, i);
                ok = false;
                continue;
            }
            uint32_t off = (uint32_t)(r - nodes - SEPARATOR), ignored;
            if (done_get(&V, off)) continue;
            if (!verify_value(&V, off, 0, &ignored)) {
                le_buf_printf(err, "%s: corrupt database: data at offset %u: %s\n", db->path,
                              V.bad_off, V.why ? V.why : "malformed value");
                ok = false;
                continue;
            }
            done_set(&V, off);
        }
    }
    free(V.done);
    free(V.kdone);
    if (ok && V.segs) {
        unsigned bits = 4;
        while ((1u << bits) < 2 * V.nk + 2) bits++;
        db->kbits = bits;
        db->koff = le_xcalloc((size_t)1 << bits, sizeof *db->koff);
        db->kseg = le_xcalloc((size_t)1 << bits, sizeof *db->kseg);
        for (size_t i = 0; i < V.nk; i++) {
            uint32_t h = khash(V.koff[i], bits);
            while (db->koff[h]) h = (h + 1) & ((1u << bits) - 1);
            db->koff[h] = V.koff[i] + 1;
            db->kseg[h] = V.kseg[i];
        }
    }
    free(V.koff);
    free(V.kseg);
    return ok;
}

/* --- lookup --------------------------------------------------------------------------------- */

typedef struct {
    union {
        le_str_t s;
        double d;
        uint32_t u;
        bool b;
    } v;
    uint8_t rank;
} slot_t;

typedef struct {
    const uint8_t *d;
    uint32_t n;
    bool err;
    uint32_t want;        /* fields no earlier database has set: the rest of the trie is pruned */
    const uint32_t *koff; /* the database's key-offset table (db_t.koff), NULL: none */
    const uint8_t *kseg;
    unsigned kbits;
    uint32_t have; /* LE_IPF_BIT of slots set */
    slot_t slot[LE_IPF__COUNT];
} walk_t;

/* A number as text ("52.52", "AS64496"): copied to a NUL-terminated buffer first. */
static bool text_double(const uint8_t *s, uint32_t n, double *out) {
    char buf[48], *end;
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double x = strtod(buf, &end);
    if (*end || end == buf) return false;
    *out = x;
    return true;
}

static bool text_u32(const uint8_t *s, uint32_t n, uint32_t *out) {
    if (n >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) s += 2, n -= 2;
    if (n == 0 || n > 10) return false;
    uint64_t x = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (s[i] - '0');
    }
    if (x > UINT32_MAX) return false;
    *out = (uint32_t)x;
    return true;
}

static bool text_bool(const uint8_t *s, uint32_t n, bool *out) {
    le_str_t t = {(const char *)s, n};
    if (le_str_ieq(t, "true") || le_str_eq(t, "1") || le_str_ieq(t, "yes")) {
        *out = true;
        return true;
    }
    if (le_str_ieq(t, "false") || le_str_eq(t, "0") || le_str_ieq(t, "no") || n == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* An integer value of any integer type: false for other types and negative int32. */
static bool int_value(const uint8_t *d, const val_t *v, uint64_t *out) {
    switch (v->type) {
        case T_UINT16:
        case T_UINT32:
        case T_UINT64:
            *out = be(d + v->payload, v->size);
            return true;
        case T_UINT128: {
            uint32_t lead = v->size > 8 ? v->size - 8 : 0;
            for (uint32_t i = 0; i < lead; i++)
                if (d[v->payload + i]) return false;
            *out = be(d + v->payload + lead, v->size - lead);
            return true;
        }
        case T_INT32: {
            /* As libmaxminddb: the bytes are a two's complement 32-bit value only when all four
             * are present; shorter encodings are non-negative. */
            uint32_t x = (uint32_t)be(d + v->payload, v->size);
            if (v->size == 4 && (x & 0x80000000u)) return false;
            *out = x;
            return true;
        }
        default:
            return false;
    }
}

static void convert(walk_t *w, const pnode_t *node, const val_t *v) {
    const uint8_t *d = w->d, *p = d + v->payload;
    for (uint16_t i = 0; i < node->nouts; i++) {
        unsigned f = node->outs[i].field;
        slot_t *s = &w->slot[f];
        if (!(w->want & LE_IPF_BIT(f))) continue;
        if ((w->have & LE_IPF_BIT(f)) && s->rank <= node->outs[i].rank) continue;
        uint64_t u;
        switch (FIELDS[f].kind) {
            case V_STR:
                if (v->type != T_STRING || v->size == 0 || u8_check(p, v->size)) continue;
                s->v.s = (le_str_t){(const char *)p, v->size};
                break;
            case V_DBL: {
                double x;
                if (v->type == T_DOUBLE) {
                    uint64_t bits = be(p, 8);
                    memcpy(&x, &bits, sizeof x);
                } else if (v->type == T_FLOAT) {
                    uint32_t bits = (uint32_t)be(p, 4);
                    float fl;
                    memcpy(&fl, &bits, sizeof fl);
                    x = fl;
                } else if (int_value(d, v, &u)) {
                    x = (double)u;
                } else if (v->type != T_STRING || !text_double(p, v->size, &x)) {
                    continue;
                }
                double lim = f == LE_IPF_LATITUDE ? 90 : 180;
                if (!isfinite(x) || x < -lim || x > lim) continue;
                s->v.d = x;
                break;
            }
            case V_U32:
                if (int_value(d, v, &u)) {
                    if (u > UINT32_MAX) continue;
                    s->v.u = (uint32_t)u;
                } else if (v->type != T_STRING || !text_u32(p, v->size, &s->v.u)) {
                    continue;
                }
                break;
            case V_BOOL:
                if (v->type == T_BOOLEAN)
                    s->v.b = v->size != 0;
                else if (int_value(d, v, &u))
                    s->v.b = u != 0;
                else if (v->type != T_STRING || !text_bool(p, v->size, &s->v.b))
                    continue;
                break;
        }
        s->rank = node->outs[i].rank;
        w->have |= LE_IPF_BIT(f);
    }
}

static inline bool key_eq(const char *a, const uint8_t *b, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != (char)b[i]) return false;
    return true;
}

/*
 * Walk the value at off along node. Returns the offset after the value when need_end (the caller
 * continues after it), otherwise anything. The trie bounds the recursion (MAX_SEGMENTS). Only
 * children with a wanted field are followed, and a map or array is left as soon as all of those
 * have been seen, unless its end is needed.
 */
static uint32_t walk(walk_t *w, const pnode_t *node, uint32_t off, bool need_end) {
    val_t v;
    uint32_t after;
    if (LE_UNLIKELY(!decode(w->d, w->n, off, &v))) goto fail;
    bool via_ptr = v.type == T_POINTER;
    after = v.next;
    if (via_ptr && LE_UNLIKELY(!decode(w->d, w->n, v.payload, &v) || v.type == T_POINTER))
        goto fail;
    bool inner_need = need_end && !via_ptr;

    if (node->nouts) convert(w, node, &v);
    if (node->nkids && (v.type == T_MAP || v.type == T_ARRAY)) {
        const uint32_t want = w->want;
        unsigned wanted = 0;
        for (uint16_t j = 0; j < node->nkids; j++) wanted += (node->kids[j]->mask & want) != 0;
        uint32_t p = v.next;
        unsigned matched = 0;
        for (uint32_t i = 0; i < v.size; i++) {
            if (matched >= wanted && !inner_need) return after;
            const pnode_t *kid = NULL;
            if (v.type == T_MAP) {
                val_t k;
                if (LE_UNLIKELY(!decode(w->d, w->n, p, &k))) goto fail;
                p = k.next;
                if (k.type == T_POINTER && w->koff) {
                    /* Which segment the pointed-at key spells, from the table: no string read. */
                    uint32_t h = khash(k.payload, w->kbits), mask = (1u << w->kbits) - 1;
                    unsigned seg = 0;
                    for (; w->koff[h]; h = (h + 1) & mask) {
                        if (w->koff[h] == k.payload + 1) {
                            seg = w->kseg[h];
                            break;
                        }
                    }
                    for (uint16_t j = 0; seg && j < node->nkids; j++) {
                        const pnode_t *c = node->kids[j];
                        if (c->seg == seg && (c->mask & want)) {
                            kid = c;
                            break;
                        }
                    }
                } else {
                    if (k.type == T_POINTER &&
                        LE_UNLIKELY(!decode(w->d, w->n, k.payload, &k) || k.type == T_POINTER))
                        goto fail;
                    if (LE_UNLIKELY(k.type != T_STRING)) goto fail;
                    const uint8_t *kp = w->d + k.payload;
                    for (uint16_t j = 0; j < node->nkids; j++) {
                        const pnode_t *c = node->kids[j];
                        if (c->keylen == k.size && (c->mask & want) && key_eq(c->key, kp, k.size)) {
                            kid = c;
                            break;
                        }
                    }
                }
            } else {
                for (uint16_t j = 0; j < node->nkids; j++) {
                    const pnode_t *c = node->kids[j];
                    if (c->numeric && (c->mask & want) &&
                        (c->index >= 0 ? (uint32_t)c->index == i
                                       : (int64_t)v.size + c->index == (int64_t)i)) {
                        kid = c;
                        break;
                    }
                }
            }
            if (kid) {
                matched++;
                p = walk(w, kid, p, inner_need || matched < wanted);
                if (w->err) return 0;
            } else if (LE_UNLIKELY(!skip(w->d, w->n, p, &p))) {
                goto fail;
            }
        }
        return via_ptr ? after : p;
    }
    if (!need_end || via_ptr) return after;
    if (v.type != T_MAP && v.type != T_ARRAY) return v.next;
    if (!skip(w->d, w->n, off, &after)) goto fail;
    return after;
fail:
    w->err = true;
    return 0;
}

static void commit(le_ipinfo_t *out, const walk_t *w) {
    uint32_t todo = w->have & ~out->found;
    while (todo) {
        unsigned f = (unsigned)__builtin_ctz(todo);
        todo &= todo - 1;
        const slot_t *s = &w->slot[f];
        char *base = (char *)out + FIELDS[f].off;
        switch (FIELDS[f].kind) {
            case V_STR:
                memcpy(base, &s->v.s, sizeof s->v.s);
                break;
            case V_DBL:
                memcpy(base, &s->v.d, sizeof s->v.d);
                break;
            case V_U32:
                memcpy(base, &s->v.u, sizeof s->v.u);
                break;
            case V_BOOL:
                if (s->v.b) out->anon |= (uint32_t)FIELDS[f].off;
                break;
        }
        out->found |= LE_IPF_BIT(f);
    }
}

/* --- search -------------------------------------------------------------------------------- */

/*
 * The search tree, walked here rather than by MMDB_lookup_sockaddr so that the trees of several
 * databases are walked in lockstep: their node reads are independent, so the cache misses of
 * one overlap those of the others. The address is 16 bytes, IPv4 as ::a.b.c.d; an IPv4-only
 * tree starts at bit 96, an IPv6 tree at its IPv4 subtree (db_t.v4_node/v4_bit, found at open
 * as libmaxminddb does).
 */
typedef struct {
    const uint8_t *tree;
    uint32_t node, nodes;
    unsigned bit, rs, nbytes;
} cursor_t;

/* false when the database cannot hold the address (IPv6 in an IPv4-only database). */
static bool cursor_init(const db_t *db, bool v4, cursor_t *c) {
    const MMDB_s *mm = &db->mmdb;
    c->tree = mm->file_content;
    c->nodes = mm->metadata.node_count;
    c->rs = mm->metadata.record_size;
    c->nbytes = c->rs / 4;
    if (mm->metadata.ip_version == 4) {
        if (!v4) return false;
        c->node = 0;
        c->bit = 96;
    } else if (v4) {
        c->node = db->v4_node;
        c->bit = db->v4_bit;
    } else {
        c->node = 0;
        c->bit = 0;
    }
    return true;
}

/* One bit down; false once the walk has ended. */
HOT bool cursor_step(cursor_t *c, const uint8_t *a) {
    if (c->bit >= 128 || c->node >= c->nodes) return false;
    unsigned b = (a[c->bit >> 3] >> (7 - (c->bit & 7))) & 1;
    c->node = (uint32_t)read_record(c->tree + (size_t)c->node * c->nbytes, c->rs, (int)b);
    c->bit++;
    return true;
}

/* Where the walk ended: 1 and the record's offset (prefetched), 0 for no data, -1 on an error
 * (counted; verified databases have none). */
static int cursor_end(const db_t *db, const cursor_t *c, uint32_t *off) {
    if (c->node == c->nodes) return 0;
    uint64_t r = (uint64_t)c->node - c->nodes - SEPARATOR;
    if (LE_UNLIKELY(c->node < c->nodes + SEPARATOR || r >= db->mmdb.data_section_size)) {
        atomic_fetch_add_explicit(db->errors, 1, memory_order_relaxed);
        return -1;
    }
    *off = (uint32_t)r;
    /* Start loading the record now; it is walked after the other searches. */
    __builtin_prefetch(db->mmdb.data_section + r);
    return 1;
}

static int search(const db_t *db, const uint8_t *a, bool v4, uint32_t *off) {
    cursor_t c;
    if (!cursor_init(db, v4, &c)) return 0;
    while (cursor_step(&c, a)) {}
    return cursor_end(db, &c, off);
}

/* The data step: walk the record at off for the fields no earlier database gave. */
static void walk_db(const db_t *db, uint32_t off, le_ipinfo_t *out) {
    walk_t w;
    w.d = db->mmdb.data_section;
    w.n = db->mmdb.data_section_size;
    w.err = false;
    w.want = db->root->mask & ~out->found;
    w.koff = db->kbits ? db->koff : NULL;
    w.kseg = db->kseg;
    w.kbits = db->kbits;
    w.have = 0;
    if (!w.want) return;
    walk(&w, db->root, off, false);
    if (LE_UNLIKELY(w.err)) {
        atomic_fetch_add_explicit(db->errors, 1, memory_order_relaxed);
        return;
    }
    commit(out, &w);
}

/*
 * All databases for one address. A database that offers a field no earlier one can (db_t.eager)
 * will be needed whatever the earlier ones find, so its tree search runs up front and its record
 * is prefetched while the others are searched and walked; the rest are searched only when
 * something they offer is still missing.
 */
static void lookup_all(const le_mmdb_t *m, const uint8_t *a, bool v4, le_ipinfo_t *out) {
    enum { PIPE = 8, LATER = 2 };
    int st[PIPE];
    uint32_t off[PIPE];
    cursor_t cur[PIPE];
    bool live[PIPE];
    size_t npipe = LE_MIN(m->n, (size_t)PIPE);
    bool any = false;
    for (size_t i = 0; i < npipe; i++) {
        st[i] = LATER;
        live[i] = false;
        if (!m->dbs[i].eager) continue;
        st[i] = 0;
        live[i] = cursor_init(&m->dbs[i], v4, &cur[i]);
        any |= live[i];
    }
    while (any) {
        any = false;
        for (size_t i = 0; i < npipe; i++) {
            if (!live[i]) continue;
            live[i] = cursor_step(&cur[i], a);
            if (live[i])
                any = true;
            else
                st[i] = cursor_end(&m->dbs[i], &cur[i], &off[i]);
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        const db_t *db = &m->dbs[i];
        uint32_t o = 0;
        int r;
        if (i < npipe && st[i] != LATER) {
            r = st[i];
            o = off[i];
        } else {
            if (!(db->root->mask & ~out->found)) continue;
            r = search(db, a, v4, &o);
        }
        if (r == 1) walk_db(db, o, out);
    }
}

static bool str_ieq(le_str_t a, le_str_t b) {
    if (a.len != b.len) return false;
    for (size_t i = 0; i < a.len; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b.ptr[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return false;
    }
    return true;
}

static bool ieq_any(le_str_t s, const char *const *list) {
    for (; *list; list++)
        if (le_str_ieq(s, *list)) return true;
    return false;
}

/* The network verdict table of mmdb.h. */
static le_network_t verdict(const le_ipinfo_t *o) {
    static const char *const hosting[] = {"hosting", "content_delivery_network", NULL};
    static const char *const government[] = {"government", "military", NULL};
    static const char *const education[] = {"college", "school", "library", NULL};
    static const char *const isp[] = {"residential", "consumer",  "dialup",
                                      "cable-dsl",   "cable/dsl", NULL};
    static const char *const other[] = {"traveler", "cafe", "router", "search_engine_spider", NULL};
    static const char *const ct_isp[] = {"cable/dsl", "dialup", "satellite", NULL};
    const uint32_t a = o->anon;
    le_str_t ut = o->user_type, ct = o->connection_type;
    le_network_t n = LE_NET_UNKNOWN;

    if (a & (LE_ANON_VPN | LE_ANON_TOR | LE_ANON_PUBLIC_PROXY | LE_ANON_RESIDENTIAL_PROXY))
        return LE_NET_ANONYMISER;
    if ((a & LE_ANON_ANY) && !(a & LE_ANON_HOSTING)) return LE_NET_ANONYMISER;
    if (le_str_ieq(ut, "consumer_privacy")) return LE_NET_ANONYMISER;
    if ((a & LE_ANON_HOSTING) || ieq_any(ut, hosting)) return LE_NET_HOSTING;

    bool decided = true;
    if (le_str_ieq(ut, "business"))
        n = LE_NET_BUSINESS;
    else if (ieq_any(ut, government))
        n = LE_NET_GOVERNMENT;
    else if (ieq_any(ut, education))
        n = LE_NET_EDUCATION;
    else if (le_str_ieq(ut, "cellular"))
        n = LE_NET_CELLULAR;
    else if (ieq_any(ut, isp))
        n = LE_NET_ISP;
    else if (!ieq_any(ut, other))
        decided = false;
    if (!decided) {
        if (le_str_ieq(ct, "cellular"))
            n = LE_NET_CELLULAR;
        else if (le_str_ieq(ct, "corporate"))
            n = LE_NET_BUSINESS;
        else if (ieq_any(ct, ct_isp))
            n = LE_NET_ISP;
    }
    bool same = o->org.len && o->isp.len && str_ieq(o->org, o->isp);
    if (same && (n == LE_NET_BUSINESS || (n == LE_NET_UNKNOWN && !ut.len && !ct.len)))
        n = LE_NET_ISP;
    return n;
}

void le_mmdb_lookup_with(const le_mmdb_t *m, const le_ranges_t *r, const le_ip_t *ip,
                         le_ipinfo_t *out) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint8_t a[16] = {0};
    bool v4;

    memset(out, 0, sizeof *out);
    if (r && le_ranges_find(r, ip, &out->company, &out->company_domain)) {
        out->network = LE_NET_BUSINESS;
        out->from_ranges = true;
    }
    if (ip->family == AF_INET || (ip->family == AF_INET6 && memcmp(ip->addr, mapped, 12) == 0)) {
        /* IPv4 and IPv4-mapped IPv6: ::a.b.c.d, the IPv4 subtree. */
        memcpy(a + 12, ip->family == AF_INET ? ip->addr : ip->addr + 12, 4);
        v4 = true;
    } else if (ip->family == AF_INET6) {
        memcpy(a, ip->addr, 16);
        v4 = false;
    } else {
        return;
    }
    if (m && m->n) lookup_all(m, a, v4, out);
    out->has_location =
        (out->found & LE_IPF_BIT(LE_IPF_LATITUDE)) && (out->found & LE_IPF_BIT(LE_IPF_LONGITUDE));
    if (out->from_ranges) return;
    out->network = verdict(out);
    if (le_network_names_company(out->network)) {
        out->company = out->org;
        out->company_domain = out->domain;
    }
}

void le_mmdb_lookup(const le_mmdb_t *m, const le_ip_t *ip, le_ipinfo_t *out) {
    le_mmdb_lookup_with(m, NULL, ip, out);
}

/* --- open ----------------------------------------------------------------------------------- */

static bool language_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 15) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Every element of the array (or every value of the map) at v is a string. d/n: a verified
 * section. */
static bool all_strings(const uint8_t *d, uint32_t n, const val_t *v) {
    uint32_t p = v->next;
    for (uint32_t i = 0; i < v->size; i++) {
        val_t e;
        uint32_t after;
        if (v->type == T_MAP && !skip(d, n, p, &p)) return false; /* the key */
        if (!decode_follow(d, n, p, &e, &after) || e.type != T_STRING) return false;
        p = after;
    }
    return true;
}

/* The metadata keys libmaxminddb reads, with the types it insists on. The map at offset 0 of
 * the verified section d/n. NULL when fine. */
static const char *metadata_problem(const uint8_t *d, uint32_t n) {
    static const struct {
        const char *key;
        uint8_t type;
    } want[] = {
        {"node_count", T_UINT32},
        {"record_size", T_UINT16},
        {"ip_version", T_UINT16},
        {"database_type", T_STRING},
        {"languages", T_ARRAY},
        {"binary_format_major_version", T_UINT16},
        {"binary_format_minor_version", T_UINT16},
        {"build_epoch", T_UINT64},
        {"description", T_MAP},
    };
    bool seen[LE_ARRAY_SIZE(want)] = {false};
    val_t m;
    uint32_t after;
    if (!decode_follow(d, n, 0, &m, &after) || m.type != T_MAP) return "metadata is not a map";
    uint32_t p = m.next;
    for (uint32_t i = 0; i < m.size; i++) {
        val_t k, v;
        if (!decode_follow(d, n, p, &k, &after) || k.type != T_STRING) return "bad metadata key";
        p = after;
        if (!decode_follow(d, n, p, &v, &after)) return "bad metadata value";
        for (size_t j = 0; j < LE_ARRAY_SIZE(want); j++) {
            if (k.size != strlen(want[j].key) || memcmp(d + k.payload, want[j].key, k.size) != 0)
                continue;
            if (v.type != want[j].type) return "metadata value of the wrong type";
            if ((v.type == T_ARRAY || v.type == T_MAP) && !all_strings(d, n, &v))
                return "metadata languages or description not all strings";
            seen[j] = true;
        }
        if (!skip(d, n, p, &p)) return "bad metadata value";
    }
    for (size_t j = 0; j < LE_ARRAY_SIZE(want); j++)
        if (!seen[j]) return "metadata incomplete";
    return NULL;
}

/*
 * Check the metadata section the way verify_db checks data, before libmaxminddb reads it:
 * libmaxminddb 1.7 (Debian 12) leaks its decode pool when MMDB_open meets undecodable metadata
 * (fixed upstream in 1.12), so such files must not reach it. The metadata is whatever follows
 * the last "\xab\xcd\xefMaxMind.com" marker in the file's last 128 KiB, a map whose pointers
 * are relative to its own start. Returns NULL when fine, else why not.
 */
static const char *precheck_metadata(const char *path, int *e) {
    static const char marker[] = "\xab\xcd\xefMaxMind.com";
    const size_t mlen = sizeof marker - 1;
    struct stat st;
    const char *why = NULL;
    *e = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        *e = errno;
        if (fd >= 0) close(fd);
        return "cannot read";
    }
    if (st.st_size < (off_t)mlen || (uint64_t)st.st_size > ((uint64_t)1 << 40)) {
        close(fd);
        return "no metadata";
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        *e = errno;
        return "cannot read";
    }
    size_t start = size > 131072 ? size - 131072 : 0;
    const uint8_t *meta = NULL, *p = map + start;
    size_t left = size - start;
    for (;;) {
        const uint8_t *hit = memmem(p, left, marker, mlen);
        if (!hit) break;
        left -= (size_t)(hit - p) + mlen;
        p = hit + mlen;
        meta = p;
    }
    if (!meta) {
        why = "no metadata";
    } else {
        verify_t V = {.d = meta, .n = (uint32_t)left};
        uint32_t ignored;
        val_t v;
        V.done = le_xcalloc(left / 8 + 1, 1);
        if (left == 0 || !decode(meta, (uint32_t)left, 0, &v) || v.type != T_MAP ||
            !verify_value(&V, 0, 0, &ignored))
            why = "corrupt metadata";
        else
            why = metadata_problem(meta, (uint32_t)left);
        free(V.done);
    }
    munmap((void *)map, size);
    return why;
}

/* Open, verify and compile one database; returns 0 or the error code (message in err). */
static int open_one(db_t *db, const le_dbconf_t *c, const char *lang, le_buf_t *err) {
    int rc = 0;
    db->path = le_xstrdup(c->path ? c->path : "");
    db->root = pnode_new("", 0);
    db->errors = le_xmalloc(sizeof *db->errors);
    atomic_init(db->errors, 0);

    /* The field map does not need the file: check it first, so every problem shows at once. */
    db->field_map = c->nfields > 0;
    if (c->nfields && compile_map(db, c, err)) rc = LE_EINVAL;

    /* stat before opening: if the file is replaced in between, le_mmdb_changed reports it. */
    if (stat(db->path, &db->st) != 0) {
        int e = errno;
        le_buf_printf(err, "%s: cannot open: %s\n", db->path, strerror(e));
        return rc ? rc : -e;
    }
    if (!S_ISREG(db->st.st_mode)) {
        le_buf_printf(err, "%s: not a regular file\n", db->path);
        return rc ? rc : -EINVAL;
    }
    int e;
    const char *why = precheck_metadata(db->path, &e);
    if (why && e) {
        le_buf_printf(err, "%s: cannot open: %s\n", db->path, strerror(e));
        return rc ? rc : -e;
    }
    if (why) {
        le_buf_printf(err, "%s: not a valid MaxMind DB file: %s\n", db->path, why);
        return rc ? rc : LE_ECORRUPT;
    }
    errno = 0;
    int st = MMDB_open(db->path, MMDB_MODE_MMAP, &db->mmdb);
    if (st != MMDB_SUCCESS) {
        e = errno;
        if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) {
            le_buf_printf(err, "%s: cannot open: %s\n", db->path,
                          e ? strerror(e) : MMDB_strerror(st));
            return rc ? rc : (e ? -e : -EIO);
        }
        le_buf_printf(err, "%s: not a valid MaxMind DB file: %s\n", db->path, MMDB_strerror(st));
        return rc ? rc : LE_ECORRUPT;
    }
    db->opened = true;

    /* The paths first: verification notes where their key strings are stored. */
    db->kind = classify(db->mmdb.metadata.database_type);
    if (c->nfields == 0) compile_builtin(db, lang); /* nothing for K_CUSTOM */
    trie_mask(db->root);
    segs_t *segs = le_xcalloc(1, sizeof *segs);
    trie_segs(db->root, segs);
    bool ok = verify_db(db, segs->overflow ? NULL : segs, err);
    free(segs);
    if (!ok) return rc ? rc : LE_ECORRUPT;
    /* The IPv4 subtree: 96 zero bits down from the root (stopping early at a leaf). */
    const MMDB_s *mm = &db->mmdb;
    uint32_t node = 0;
    unsigned bit = 0;
    if (mm->metadata.ip_version == 6) {
        for (; bit < 96 && node < mm->metadata.node_count; bit++)
            node = (uint32_t)read_record(mm->file_content +
                                             (size_t)node * (mm->metadata.record_size / 4),
                                         mm->metadata.record_size, 0);
    }
    db->v4_node = node;
    db->v4_bit = bit;
    if (c->nfields == 0 && db->kind == K_CUSTOM) {
        le_buf_printf(err,
                      "%s: database_type \"%s\" has no built-in field paths: give it a "
                      "field map (fields: {country_code: ..., city: ...})\n",
                      db->path,
                      db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "");
        return rc ? rc : LE_EINVAL;
    }
    return rc;
}

int le_mmdb_open(const le_dbconf_t *dbs, size_t n, const char *language, le_mmdb_t **out,
                 le_buf_t *err) {
    int rc = 0;
    const char *lang = language && *language ? language : "en";
    le_mmdb_t *m = le_xcalloc(1, sizeof *m);

    *out = NULL;
    atomic_init(&m->refs, 1);
    if (!language_ok(lang)) {
        le_buf_printf(err, "language \"%s\": expected a language tag such as en, de or pt-BR\n",
                      lang);
        rc = LE_EINVAL;
        /* The databases are still checked below, to report everything at once. */
        lang = "en";
    }
    m->dbs = le_xcalloc(n ? n : 1, sizeof *m->dbs);
    for (size_t i = 0; i < n; i++) {
        m->n = i + 1; /* so that set_free sees what was opened */
        int r = open_one(&m->dbs[i], &dbs[i], lang, err);
        if (r && !rc) rc = r;
    }
    if (rc) {
        set_free(m);
        return rc;
    }
    uint32_t earlier = 0;
    for (size_t i = 0; i < n; i++) {
        m->dbs[i].eager = (m->dbs[i].root->mask & ~earlier) != 0;
        earlier |= m->dbs[i].root->mask;
    }
    *out = m;
    return 0;
}

le_mmdb_t *le_mmdb_ref(le_mmdb_t *m) {
    if (m) atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void le_mmdb_unref(le_mmdb_t *m) {
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) set_free(m);
}

bool le_mmdb_changed(const le_mmdb_t *m) {
    if (!m) return false;
    for (size_t i = 0; i < m->n; i++) {
        const struct stat *o = &m->dbs[i].st;
        struct stat st;
        if (stat(m->dbs[i].path, &st) != 0) return true;
        if (st.st_dev != o->st_dev || st.st_ino != o->st_ino || st.st_size != o->st_size ||
            st.st_mtim.tv_sec != o->st_mtim.tv_sec || st.st_mtim.tv_nsec != o->st_mtim.tv_nsec)
            return true;
    }
    return false;
}

size_t le_mmdb_count(const le_mmdb_t *m) {
    return m ? m->n : 0;
}

int le_mmdb_describe(const le_mmdb_t *m, size_t i, le_mmdb_info_t *out) {
    if (!m || i >= m->n) return LE_EINVAL;
    const db_t *db = &m->dbs[i];
    const MMDB_metadata_s *md = &db->mmdb.metadata;
    *out = (le_mmdb_info_t){
        .path = db->path,
        .database_type = md->database_type ? md->database_type : "",
        .kind = KIND_NAMES[db->kind],
        .build_epoch = md->build_epoch,
        .ip_version = md->ip_version,
        .record_size = md->record_size,
        .node_count = md->node_count,
        .file_size = (uint64_t)db->mmdb.file_size,
        .npaths = db->npaths,
        .field_map = db->field_map,
        .lookup_errors = atomic_load_explicit(db->errors, memory_order_relaxed),
    };
    return 0;
}

void le_mmdb_describe_paths(const le_mmdb_t *m, size_t i, le_buf_t *out) {
    if (!m || i >= m->n) return;
    const db_t *db = &m->dbs[i];
    for (size_t k = 0; k < db->npaths; k++)
        le_buf_printf(out, "%s %s\n", FIELDS[db->paths[k].field].name, db->paths[k].path);
}
