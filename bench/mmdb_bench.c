/*
 * mmdb_bench.c: cost of le_mmdb_lookup (IP -> geo, organisation, network verdict), side by side
 * with libmaxminddb used directly on the same addresses.
 *
 * Fixtures: bench-city.mmdb (GeoIP2-City shape, names in 8 languages), bench-enterprise.mmdb
 * (GeoIP2-Enterprise shape) and bench-asn.mmdb (GeoLite2-ASN), N random IPv4 /24 networks plus
 * N/4 IPv6 /48s, and bench-addrs.txt with one address in each network. They are generated on
 * first use by tests/fixtures/make_mmdb.pl --bench N into the build tree (a few seconds), or
 * taken from -d DIR.
 *
 * Rows (nanoseconds per lookup over all addresses in a shuffled order, best of R rounds):
 *   baseline  MMDB_lookup_sockaddr alone (the search tree walk, no data read), per database
 *   baseline  MMDB_lookup_sockaddr + MMDB_aget_value for each field leadedge reads
 *   baseline  MMDB_lookup_sockaddr + MMDB_get_entry_data_list (decode the whole record)
 *   leadedge  le_mmdb_lookup on City, Enterprise, City+Enterprise, City+Enterprise+ASN
 * DESIGN.md section 5 asks for geo + company together <= 1.5 us (City+Enterprise).
 *
 *     mmdb_bench [-d fixture-dir] [-n networks] [-r rounds] [-p]
 *
 * -p runs only le_mmdb_lookup on City+Enterprise, for a profiler.
 */
#include <arpa/inet.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mmdb.h"

#ifndef LE_MMDB_BENCH_DIR
#define LE_MMDB_BENCH_DIR "mmdb-bench-fixtures"
#endif
#ifndef LE_MAKE_MMDB
#define LE_MAKE_MMDB "tests/fixtures/make_mmdb.pl"
#endif

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct {
    le_ip_t ip;
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } sa;
} addr_t;

static addr_t *addrs;
static size_t naddrs;
static volatile uint64_t sink;

static void load_addrs(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char line[128];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line) continue;
        if (naddrs == cap) {
            cap = cap ? 2 * cap : 1024;
            addrs = realloc(addrs, cap * sizeof *addrs);
        }
        addr_t *a = &addrs[naddrs];
        memset(a, 0, sizeof *a);
        if (le_ip_parse(le_str(line), &a->ip) != 0) continue;
        if (a->ip.family == AF_INET) {
            a->sa.in.sin_family = AF_INET;
            memcpy(&a->sa.in.sin_addr, a->ip.addr, 4);
        } else {
            a->sa.in6.sin6_family = AF_INET6;
            memcpy(&a->sa.in6.sin6_addr, a->ip.addr, 16);
        }
        naddrs++;
    }
    fclose(f);
    /* Shuffle (fixed seed): neighbouring lookups should not share cache lines by construction. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = naddrs; i > 1; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = (size_t)(x % i);
        addr_t t = addrs[i - 1];
        addrs[i - 1] = addrs[j];
        addrs[j] = t;
    }
}

/* ---- the candidates -------------------------------------------------------------------------- */

typedef void (*run_fn)(void *ctx);

static double measure(run_fn fn, void *ctx, int rounds) {
    double best = 1e300;
    fn(ctx); /* warm-up */
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ns();
        fn(ctx);
        double ns = (now_ns() - t0) / (double)naddrs;
        if (ns < best) best = ns;
    }
    return best;
}

typedef struct {
    MMDB_s *db[3];
    int n;
} raw_t;

static void run_raw_search(void *ctx) {
    raw_t *r = ctx;
    uint64_t s = 0;
    for (size_t i = 0; i < naddrs; i++) {
        for (int k = 0; k < r->n; k++) {
            int e;
            MMDB_lookup_result_s res = MMDB_lookup_sockaddr(r->db[k], &addrs[i].sa.sa, &e);
            s += res.found_entry + res.entry.offset;
        }
    }
    sink += s;
}

/* The paths leadedge reads from City and Enterprise records (English names). */
static const char *const P_GEO[][5] = {
    {"country", "iso_code", NULL},
    {"country", "names", "en", NULL},
    {"continent", "code", NULL},
    {"continent", "names", "en", NULL},
    {"subdivisions", "0", "iso_code", NULL},
    {"subdivisions", "0", "names", "en", NULL},
    {"city", "names", "en", NULL},
    {"postal", "code", NULL},
    {"location", "latitude", NULL},
    {"location", "longitude", NULL},
    {"location", "accuracy_radius", NULL},
    {"location", "time_zone", NULL},
};
static const char *const P_TRAITS[][3] = {
    {"traits", "organization", NULL},
    {"traits", "isp", NULL},
    {"traits", "domain", NULL},
    {"traits", "autonomous_system_number", NULL},
    {"traits", "autonomous_system_organization", NULL},
    {"traits", "connection_type", NULL},
    {"traits", "user_type", NULL},
};

static void run_aget(void *ctx) {
    raw_t *r = ctx;
    uint64_t s = 0;
    for (size_t i = 0; i < naddrs; i++) {
        for (int k = 0; k < r->n; k++) {
            int e;
            MMDB_lookup_result_s res = MMDB_lookup_sockaddr(r->db[k], &addrs[i].sa.sa, &e);
            if (!res.found_entry) continue;
            MMDB_entry_data_s d;
            for (size_t p = 0; p < LE_ARRAY_SIZE(P_GEO); p++)
                if (MMDB_aget_value(&res.entry, &d, P_GEO[p]) == MMDB_SUCCESS && d.has_data)
                    s += d.data_size;
            /* The second database is the Enterprise one: its traits too. */
            if (k == 1)
                for (size_t p = 0; p < LE_ARRAY_SIZE(P_TRAITS); p++)
                    if (MMDB_aget_value(&res.entry, &d, P_TRAITS[p]) == MMDB_SUCCESS && d.has_data)
                        s += d.data_size;
        }
    }
    sink += s;
}

static void run_entry_list(void *ctx) {
    raw_t *r = ctx;
    uint64_t s = 0;
    for (size_t i = 0; i < naddrs; i++) {
        for (int k = 0; k < r->n; k++) {
            int e;
            MMDB_lookup_result_s res = MMDB_lookup_sockaddr(r->db[k], &addrs[i].sa.sa, &e);
            if (!res.found_entry) continue;
            MMDB_entry_data_list_s *list = NULL;
            if (MMDB_get_entry_data_list(&res.entry, &list) == MMDB_SUCCESS)
                for (MMDB_entry_data_list_s *l = list; l; l = l->next) s += l->entry_data.type;
            MMDB_free_entry_data_list(list);
        }
    }
    sink += s;
}

static void run_le(void *ctx) {
    const le_mmdb_t *m = ctx;
    uint64_t s = 0;
    le_ipinfo_t out;
    for (size_t i = 0; i < naddrs; i++) {
        le_mmdb_lookup(m, &addrs[i].ip, &out);
        s += out.found + out.city.len + out.company.len + out.network;
    }
    sink += s;
}

/* ---- agreement with libmaxminddb ---------------------------------------------------------- */

static bool same_str(le_str_t got, MMDB_entry_s *e, const char *const *path) {
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0)
        return got.len == 0;
    return got.len == d.data_size && memcmp(got.ptr, d.utf8_string, d.data_size) == 0;
}

/* Before timing anything: for every address, le_mmdb_lookup on City+Enterprise and libmaxminddb
 * must agree on a sample of fields (the tree walk and the record decoder are leadedge's own). */
static size_t check_agreement(const le_mmdb_t *m, MMDB_s *city, MMDB_s *ent) {
    static const char *const p_city[] = {"city", "names", "en", NULL};
    static const char *const p_cc[] = {"country", "iso_code", NULL};
    static const char *const p_sub[] = {"subdivisions", "0", "iso_code", NULL};
    static const char *const p_tz[] = {"location", "time_zone", NULL};
    static const char *const p_lat[] = {"location", "latitude", NULL};
    static const char *const p_org[] = {"traits", "organization", NULL};
    static const char *const p_asn[] = {"traits", "autonomous_system_number", NULL};
    size_t bad = 0;
    for (size_t i = 0; i < naddrs; i++) {
        le_ipinfo_t out;
        le_mmdb_lookup(m, &addrs[i].ip, &out);
        int e1, e2;
        MMDB_lookup_result_s rc = MMDB_lookup_sockaddr(city, &addrs[i].sa.sa, &e1);
        MMDB_lookup_result_s re = MMDB_lookup_sockaddr(ent, &addrs[i].sa.sa, &e2);
        bool ok = e1 == MMDB_SUCCESS && e2 == MMDB_SUCCESS && rc.found_entry && re.found_entry;
        if (ok) {
            MMDB_entry_data_s d;
            ok = same_str(out.city, &rc.entry, p_city) &&
                 same_str(out.country_code, &rc.entry, p_cc) &&
                 same_str(out.subdivision_code, &rc.entry, p_sub) &&
                 same_str(out.time_zone, &rc.entry, p_tz) && same_str(out.org, &re.entry, p_org);
            if (ok && MMDB_aget_value(&rc.entry, &d, p_lat) == MMDB_SUCCESS && d.has_data)
                ok = d.type == MMDB_DATA_TYPE_DOUBLE && d.double_value == out.latitude;
            if (ok && MMDB_aget_value(&re.entry, &d, p_asn) == MMDB_SUCCESS && d.has_data)
                ok = d.type == MMDB_DATA_TYPE_UINT32 && d.uint32 == out.asn;
        }
        if (!ok && bad++ < 5) {
            char text[64];
            le_ip_format(&addrs[i].ip, text);
            fprintf(stderr, "mmdb_bench: %s: le_mmdb_lookup disagrees with libmaxminddb\n", text);
        }
    }
    return bad;
}

/* ---- main ------------------------------------------------------------------------------------ */

static le_mmdb_t *open_set(const char *dir, const char *const *names, int n, double *ms) {
    le_dbconf_t dbs[4];
    char paths[4][1024];
    for (int i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
        dbs[i] = (le_dbconf_t){paths[i], NULL, 0};
    }
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *m = NULL;
    double t0 = now_ns();
    if (le_mmdb_open(dbs, (size_t)n, "en", &m, &err) != 0) {
        fprintf(stderr, "mmdb_bench: %s", le_buf_cstr(&err));
        exit(1);
    }
    if (ms) *ms = (now_ns() - t0) / 1e6;
    le_buf_free(&err);
    return m;
}

static void raw_open(const char *dir, const char *name, MMDB_s *db) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (MMDB_open(p, MMDB_MODE_MMAP, db) != MMDB_SUCCESS) {
        fprintf(stderr, "mmdb_bench: cannot open %s\n", p);
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *dir = LE_MMDB_BENCH_DIR;
    int rounds = 5;
    unsigned nets = 20000;
    bool only = false; /* -p: only le_mmdb_lookup on City+Enterprise, for a profiler */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "-p") == 0)
            only = true;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            nets = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: mmdb_bench [-d fixture-dir] [-n networks] [-r rounds] [-p]\n");
            return 2;
        }
    }
    if (rounds < 1) rounds = 1;
    char addrfile[1024];
    struct stat st;
    snprintf(addrfile, sizeof addrfile, "%s/bench-addrs.txt", dir);
    if (stat(addrfile, &st) != 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "perl '%s' --bench %u '%s'", LE_MAKE_MMDB, nets, dir);
        fprintf(stderr, "mmdb_bench: generating fixtures: %s\n", cmd);
        if (system(cmd) != 0) {
            fprintf(stderr, "mmdb_bench: fixture generation failed\n");
            return 1;
        }
    }
    load_addrs(addrfile);
    if (naddrs == 0) {
        fprintf(stderr, "mmdb_bench: no addresses in %s\n", addrfile);
        return 1;
    }

    static const char *const city[] = {"bench-city.mmdb"};
    static const char *const ent[] = {"bench-enterprise.mmdb"};
    static const char *const both[] = {"bench-city.mmdb", "bench-enterprise.mmdb"};
    static const char *const all[] = {"bench-city.mmdb", "bench-enterprise.mmdb", "bench-asn.mmdb"};
    double open_city_ms, open_ent_ms, open_asn_ms;
    le_mmdb_t *m_city = open_set(dir, city, 1, &open_city_ms);
    le_mmdb_t *m_ent = open_set(dir, ent, 1, &open_ent_ms);
    le_mmdb_t *m_both = open_set(dir, both, 2, NULL);
    le_mmdb_t *m_all = open_set(dir, all, 3, NULL);
    static const char *const asn[] = {"bench-asn.mmdb"};
    le_mmdb_unref(open_set(dir, asn, 1, &open_asn_ms));

    if (only) {
        printf("le_mmdb_lookup, City+Enterprise: %.0f ns\n", measure(run_le, m_both, rounds));
        le_mmdb_unref(m_city);
        le_mmdb_unref(m_ent);
        le_mmdb_unref(m_both);
        le_mmdb_unref(m_all);
        free(addrs);
        return 0;
    }
    MMDB_s raw[3];
    raw_open(dir, "bench-city.mmdb", &raw[0]);
    raw_open(dir, "bench-enterprise.mmdb", &raw[1]);
    raw_open(dir, "bench-asn.mmdb", &raw[2]);
    size_t bad = check_agreement(m_both, &raw[0], &raw[1]);
    if (bad) {
        fprintf(stderr, "mmdb_bench: %zu of %zu addresses disagree\n", bad, naddrs);
        return 1;
    }
    raw_t r_city = {{&raw[0]}, 1}, r_both = {{&raw[0], &raw[1]}, 2},
          r_all = {{&raw[0], &raw[1], &raw[2]}, 3};

    le_mmdb_info_t ic, ie;
    le_mmdb_describe(m_city, 0, &ic);
    le_mmdb_describe(m_ent, 0, &ie);
    printf("mmdb lookups: %zu addresses (%s), best of %d rounds; City %u nodes %.1f MB, "
           "Enterprise %u nodes %.1f MB\n",
           naddrs, dir, rounds, ic.node_count, (double)ic.file_size / 1e6, ie.node_count,
           (double)ie.file_size / 1e6);
    printf("check: all %zu addresses agree with libmaxminddb (City+Enterprise fields)\n", naddrs);
    printf("%-44s %12s %10s\n", "what", "ns/lookup", "goal");
    printf("%-44s %12.0f\n", "baseline: MMDB_lookup_sockaddr, City",
           measure(run_raw_search, &r_city, rounds));
    printf("%-44s %12.0f\n", "baseline: MMDB_lookup_sockaddr, City+Ent",
           measure(run_raw_search, &r_both, rounds));
    printf("%-44s %12.0f\n", "baseline: MMDB_lookup_sockaddr, City+Ent+ASN",
           measure(run_raw_search, &r_all, rounds));
    printf("%-44s %12.0f\n", "baseline: lookup + MMDB_aget_value, City+Ent",
           measure(run_aget, &r_both, rounds));
    printf("%-44s %12.0f\n", "baseline: lookup + get_entry_data_list, C+E",
           measure(run_entry_list, &r_both, rounds));
    printf("%-44s %12.0f\n", "leadedge: le_mmdb_lookup, City", measure(run_le, m_city, rounds));
    printf("%-44s %12.0f\n", "leadedge: le_mmdb_lookup, Enterprise",
           measure(run_le, m_ent, rounds));
    double both_ns = measure(run_le, m_both, rounds);
    printf("%-44s %12.0f %10s  %s\n", "leadedge: le_mmdb_lookup, City+Enterprise", both_ns,
           "<= 1500", both_ns <= 1500 ? "ok" : "BELOW GOAL");
    printf("%-44s %12.0f\n", "leadedge: le_mmdb_lookup, City+Ent+ASN",
           measure(run_le, m_all, rounds));
    printf("open + verify: City %.1f ms, Enterprise %.1f ms, ASN %.1f ms\n", open_city_ms,
           open_ent_ms, open_asn_ms);

    for (int i = 0; i < 3; i++) MMDB_close(&raw[i]);
    le_mmdb_unref(m_city);
    le_mmdb_unref(m_ent);
    le_mmdb_unref(m_both);
    le_mmdb_unref(m_all);
    free(addrs);
    return 0;
}
