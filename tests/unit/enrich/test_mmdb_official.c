/*
 * test_mmdb_official.c: conformance with MaxMind's official test databases.
 *
 * For each test-data/<name>.mmdb with its source-data/<name>.json (an array of
 * {"network": record} objects), every network's first address is looked up through
 * le_mmdb_lookup and each field the database's paths map (le_mmdb_describe_paths) is compared
 * with the value the same path reaches in the JSON record of the most specific network containing
 * that address; fields the JSON lacks must be absent. Localised names are checked in German, so
 * the English fallback is exercised too. A pass rate is printed per database; anything below
 * 100% fails the test.
 *
 * Then every file under bad-data/ (recursively) must either be refused by le_mmdb_open with a
 * message, or open and answer lookups cleanly (no crash; ASan/UBSan builds check the rest).
 *
 * The directory is $LE_MAXMIND_TESTDATA or ../shared/testdata/maxmind next to the source tree;
 * without it the test is skipped (exit 77).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mmdb.h"

#define SKIP 77

typedef struct {
    uint8_t addr[16]; /* IPv4 as ::a.b.c.d, as the test data writes it */
    unsigned prefix;
    json_t *rec; /* borrowed from the document */
} entry_t;

static bool parse_net(const char *s, entry_t *e) {
    char buf[128];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof buf) return false;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    e->prefix = (unsigned)atoi(slash + 1);
    memset(e->addr, 0, 16);
    if (inet_pton(AF_INET6, buf, e->addr) == 1) return e->prefix <= 128;
    if (inet_pton(AF_INET, buf, e->addr + 12) == 1) {
        e->prefix += 96;
        return e->prefix <= 128;
    }
    return false;
}

static bool contains(const entry_t *n, const uint8_t *a) {
    unsigned whole = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(n->addr, a, whole) != 0) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (n->addr[whole] & mask) == (a[whole] & mask);
}

/* The JSON value at a dotted path ("subdivisions.0.names.de"), NULL when absent. */
static json_t *json_path(json_t *v, const char *path) {
    char seg[256];
    const char *s = path;
    while (v && *s) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (len >= sizeof seg) return NULL;
        memcpy(seg, s, len);
        seg[len] = '\0';
        if (json_is_object(v)) {
            v = json_object_get(v, seg);
        } else if (json_is_array(v)) {
            char *end;
            long i = strtol(seg, &end, 10);
            if (*end || end == seg) return NULL;
            if (i < 0) i += (long)json_array_size(v);
            v = i >= 0 ? json_array_get(v, (size_t)i) : NULL;
        } else {
            return NULL;
        }
        s = dot ? dot + 1 : s + len;
    }
    return v;
}

typedef enum { K_STR, K_DBL, K_U32, K_BOOL } kind_t;

static kind_t field_kind(le_ipfield_t f) {
    switch (f) {
        case LE_IPF_LATITUDE:
        case LE_IPF_LONGITUDE:
            return K_DBL;
        case LE_IPF_ACCURACY_RADIUS:
        case LE_IPF_ASN:
            return K_U32;
        case LE_IPF_IS_ANONYMOUS:
        case LE_IPF_IS_VPN:
        case LE_IPF_IS_TOR:
        case LE_IPF_IS_HOSTING:
        case LE_IPF_IS_PUBLIC_PROXY:
        case LE_IPF_IS_RESIDENTIAL_PROXY:
            return K_BOOL;
        default:
            return K_STR;
    }
}

/* Does the JSON value count as a value of this field (the lookup would take it)? */
static bool usable(json_t *v, kind_t k) {
    switch (k) {
        case K_STR:
            return json_is_string(v) && json_string_length(v) > 0;
        case K_DBL:
            return json_is_number(v);
        case K_U32:
            return json_is_integer(v) && json_integer_value(v) >= 0;
        case K_BOOL:
            return json_is_boolean(v);
    }
    return false;
}

static le_str_t str_field(const le_ipinfo_t *i, le_ipfield_t f) {
    switch (f) {
        case LE_IPF_COUNTRY_CODE:
            return i->country_code;
        case LE_IPF_COUNTRY:
            return i->country;
        case LE_IPF_SUBDIVISION_CODE:
            return i->subdivision_code;
        case LE_IPF_SUBDIVISION:
            return i->subdivision;
        case LE_IPF_CITY:
            return i->city;
        case LE_IPF_POSTAL:
            return i->postal;
        case LE_IPF_TIME_ZONE:
            return i->time_zone;
        case LE_IPF_CONTINENT_CODE:
            return i->continent_code;
        case LE_IPF_CONTINENT:
            return i->continent;
        case LE_IPF_ORG:
            return i->org;
        case LE_IPF_ISP:
            return i->isp;
        case LE_IPF_DOMAIN:
            return i->domain;
        case LE_IPF_AS_ORG:
            return i->as_org;
        case LE_IPF_CONNECTION_TYPE:
            return i->connection_type;
        case LE_IPF_USER_TYPE:
            return i->user_type;
        default:
            return LE_STR_NULL;
    }
}

static uint32_t anon_bit(le_ipfield_t f) {
    switch (f) {
        case LE_IPF_IS_ANONYMOUS:
            return LE_ANON_ANY;
        case LE_IPF_IS_VPN:
            return LE_ANON_VPN;
        case LE_IPF_IS_TOR:
            return LE_ANON_TOR;
        case LE_IPF_IS_HOSTING:
            return LE_ANON_HOSTING;
        case LE_IPF_IS_PUBLIC_PROXY:
            return LE_ANON_PUBLIC_PROXY;
        default:
            return LE_ANON_RESIDENTIAL_PROXY;
    }
}

typedef struct {
    le_ipfield_t field;
    char path[256];
} path_t;

/* Parse le_mmdb_describe_paths output ("name path\n" lines). */
static size_t load_paths(const le_mmdb_t *m, path_t *out, size_t cap) {
    le_buf_t b = LE_BUF_INIT;
    le_mmdb_describe_paths(m, 0, &b);
    size_t n = 0;
    char *s = le_buf_cstr(&b), *line;
    while ((line = strsep(&s, "\n")) != NULL && n < cap) {
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = '\0';
        for (int f = 0; f < LE_IPF__COUNT; f++) {
            if (strcmp(le_ipfield_name((le_ipfield_t)f), line) == 0) {
                out[n].field = (le_ipfield_t)f;
                snprintf(out[n].path, sizeof out[n].path, "%s", sp + 1);
                n++;
            }
        }
    }
    le_buf_free(&b);
    return n;
}

static int mismatches_shown;

static void mismatch(const char *db, const char *net, const char *what) {
    if (mismatches_shown++ < 30) printf("  MISMATCH %s %s: %s\n", db, net, what);
}

/* One database: returns true when every check passed. */
static bool check_db(const char *dir, const char *name, const char *want_kind) {
    char mmdb[1024], src[1024];
    snprintf(mmdb, sizeof mmdb, "%s/test-data/%s.mmdb", dir, name);
    snprintf(src, sizeof src, "%s/source-data/%s.json", dir, name);
    le_dbconf_t conf = {mmdb, NULL, 0};
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *m = NULL;
    if (le_mmdb_open(&conf, 1, "de", &m, &err) != 0) {
        printf("FAIL %s: open: %s", name, le_buf_cstr(&err));
        le_buf_free(&err);
        return false;
    }
    le_buf_free(&err);
    le_mmdb_info_t info;
    le_mmdb_describe(m, 0, &info);
    if (strcmp(info.kind, want_kind) != 0) {
        printf("FAIL %s: database_type \"%s\" classified as %s, want %s\n", name,
               info.database_type, info.kind, want_kind);
        le_mmdb_unref(m);
        return false;
    }
    path_t paths[64];
    size_t npaths = load_paths(m, paths, 64);

    json_error_t jerr;
    json_t *doc = json_load_file(src, 0, &jerr);
    if (!doc || !json_is_array(doc)) {
        printf("FAIL %s: %s:%d: %s\n", name, src, jerr.line, jerr.text);
        json_decref(doc);
        le_mmdb_unref(m);
        return false;
    }
    size_t n = json_array_size(doc);
    entry_t *e = calloc(n ? n : 1, sizeof *e);
    const char **names = calloc(n ? n : 1, sizeof *names);
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        json_t *val;
        json_object_foreach(json_array_get(doc, i), key, val) {
            if (parse_net(key, &e[ne])) {
                e[ne].rec = val;
                names[ne] = key;
                ne++;
            }
        }
    }

    unsigned long checks = 0, passed = 0, company_ok = 0;
    for (size_t i = 0; i < ne; i++) {
        /* The record that holds for this network's first address: the most specific network
         * containing it, the later one on a tie (later inserts overwrite). */
        const entry_t *best = NULL;
        for (size_t j = 0; j < ne; j++)
            if (contains(&e[j], e[i].addr) && (!best || e[j].prefix >= best->prefix)) best = &e[j];
        le_ip_t ip;
        static const uint8_t zero[12];
        if (memcmp(e[i].addr, zero, 12) == 0 && e[i].prefix >= 96) {
            ip.family = AF_INET;
            memcpy(ip.addr, e[i].addr + 12, 4);
        } else {
            ip.family = AF_INET6;
            memcpy(ip.addr, e[i].addr, 16);
        }
        le_ipinfo_t got;
        le_mmdb_lookup(m, &ip, &got);

        bool seen[LE_IPF__COUNT] = {false};
        for (size_t p = 0; p < npaths; p++) {
            le_ipfield_t f = paths[p].field;
            if (seen[f]) continue;
            kind_t k = field_kind(f);
            json_t *v = json_path(best->rec, paths[p].path);
            /* The last path of a field decides absence; earlier ones are fallbacks. */
            bool last = true;
            for (size_t q = p + 1; q < npaths; q++) last = last && paths[q].field != f;
            if (!usable(v, k) && !last) continue;
            seen[f] = true;
            checks++;
            bool has = (got.found & LE_IPF_BIT(f)) != 0;
            char what[512];
            if (!usable(v, k)) {
                if (!has) {
                    passed++;
                } else {
                    snprintf(what, sizeof what, "%s: expected absent, found", paths[p].path);
                    mismatch(name, names[i], what);
                }
                continue;
            }
            bool ok = has;
            if (ok && k == K_STR) {
                le_str_t s = str_field(&got, f);
                ok = s.len == json_string_length(v) &&
                     memcmp(s.ptr, json_string_value(v), s.len) == 0;
            } else if (ok && k == K_DBL) {
                double x = f == LE_IPF_LATITUDE ? got.latitude : got.longitude;
                ok = fabs(x - json_number_value(v)) < 1e-9;
            } else if (ok && k == K_U32) {
                uint32_t x = f == LE_IPF_ASN ? got.asn : got.accuracy_km;
                ok = x == (uint64_t)json_integer_value(v);
            } else if (ok && k == K_BOOL) {
                ok = ((got.anon & anon_bit(f)) != 0) == json_is_true(v);
            }
            if (ok) {
                passed++;
            } else {
                snprintf(what, sizeof what, "%s: lookup disagrees with the source data",
                         paths[p].path);
                mismatch(name, names[i], what);
            }
        }
        /* A company only ever for a verdict that names one. */
        if (!got.company.len || le_network_names_company(got.network)) company_ok++;
    }
    double rate = checks ? 100.0 * (double)passed / (double)checks : 0;
    printf("%-28s %-15s %5zu networks, %6lu/%-6lu field checks passed (%.1f%%)%s\n", name,
           info.kind, ne, passed, checks, rate,
           company_ok == ne ? "" : ", COMPANY ON A NON-COMPANY VERDICT");
    bool ok = checks > 0 && passed == checks && company_ok == ne && ne > 0;
    free(e);
    free(names);
    json_decref(doc);
    le_mmdb_unref(m);
    return ok;
}

/* ---- bad data ------------------------------------------------------------------------------ */

static unsigned bad_refused, bad_opened, bad_failed;

static void check_bad(const char *path) {
    /* A type without built-in paths needs a field map; give one that reaches into maps, arrays
     * and scalars, so such files are looked up too rather than refused for want of a map. */
    static le_fieldmap_t map[] = {
        {"city", "city.names.en"},
        {"country_code", "country.iso_code"},
        {"subdivision", "subdivisions.0.names.en"},
        {"asn", "0"},
        {"org", "-1"},
        {"latitude", "location.latitude"},
        {"is_vpn", "a.b.c.d.e.f.g.h"},
        {"isp", "ip"},
    };
    le_dbconf_t conf = {(char *)path, NULL, 0};
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *m = NULL;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int rc = le_mmdb_open(&conf, 1, "en", &m, &err);
    if (rc == LE_EINVAL && strstr(le_buf_cstr(&err), "has no built-in field paths")) {
        conf.fields = map;
        conf.nfields = sizeof map / sizeof map[0];
        le_buf_reset(&err);
        rc = le_mmdb_open(&conf, 1, "en", &m, &err);
    }
    if (rc != 0) {
        if (m || err.len == 0) {
            printf("FAIL bad-data %s: refused without a message\n", base);
            bad_failed++;
        } else {
            const char *msg = le_buf_cstr(&err) + strlen(path) + 2;
            printf("  bad-data %-52s refused: %s", base, msg);
            bad_refused++;
        }
        le_buf_free(&err);
        return;
    }
    /* Opened: the file is well-formed enough; lookups must be clean. */
    unsigned found = 0;
    for (unsigned a = 0; a < 256; a++) {
        le_ip_t ip = {.family = AF_INET, .addr = {(uint8_t)a, (uint8_t)(a * 7), 1, 1}};
        le_ipinfo_t i;
        le_mmdb_lookup(m, &ip, &i);
        found += i.found != 0;
        le_ip_t ip6 = {.family = AF_INET6, .addr = {0x20, 0x01, (uint8_t)a, 0x08}};
        le_mmdb_lookup(m, &ip6, &i);
        found += i.found != 0;
    }
    le_mmdb_info_t info;
    le_mmdb_describe(m, 0, &info);
    printf("  bad-data %-52s opened (%s, %s%s): %u/512 lookups found data, %llu lookup "
           "errors\n",
           base, info.database_type, info.kind, conf.nfields ? " with a field map" : "", found,
           (unsigned long long)info.lookup_errors);
    bad_opened++;
    le_mmdb_unref(m);
    le_buf_free(&err);
}

static void walk_bad(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *ent;
    char **names = NULL;
    size_t n = 0;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(ent->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) { /* sorted for a stable report */
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(names[j], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        char p[2048];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            walk_bad(p);
        else if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            check_bad(p);
        free(names[i]);
    }
    free(names);
}

int main(void) {
    const char *dir = getenv("LE_MAXMIND_TESTDATA");
    if (!dir || !*dir) dir = LE_MAXMIND_TESTDATA_DEFAULT;
    char probe[1024];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/test-data", dir);
    if (stat(probe, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("SKIP: MaxMind test databases not found at %s (set LE_MAXMIND_TESTDATA to a "
               "checkout of MaxMind-DB with test-data/ and source-data/)\n",
               dir);
        return SKIP;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const struct {
        const char *name, *kind;
    } dbs[] = {
        {"GeoIP2-City-Test", "city"},
        {"GeoLite2-City-Test", "city"},
        {"GeoIP2-Country-Test", "country"},
        {"GeoIP2-Enterprise-Test", "enterprise"},
        {"GeoIP2-ISP-Test", "isp"},
        {"GeoLite2-ASN-Test", "asn"},
        {"GeoIP2-Connection-Type-Test", "connection-type"},
        {"GeoIP2-Anonymous-IP-Test", "anonymous-ip"},
        {"GeoIP2-Domain-Test", "domain"},
    };
    int failed = 0, ran = 0;
    printf("MaxMind test databases in %s:\n", dir);
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/test-data/%s.mmdb", dir, dbs[i].name);
        if (stat(p, &st) != 0) {
            printf("%-28s missing, not checked\n", dbs[i].name);
            continue;
        }
        ran++;
        if (!check_db(dir, dbs[i].name, dbs[i].kind)) failed++;
    }
    snprintf(probe, sizeof probe, "%s/bad-data", dir);
    walk_bad(probe);
    printf("bad-data: %u refused at open, %u opened and looked up cleanly, %u failed\n",
           bad_refused, bad_opened, bad_failed);
    if (ran == 0) {
        printf("SKIP: no test databases in %s/test-data\n", dir);
        return SKIP;
    }
    printf("%s: %d of %d databases below 100%%\n", failed || bad_failed ? "FAIL" : "PASS", failed,
           ran);
    return failed || bad_failed ? 1 : 0;
}
