/*
 * test_mmdb.c: IP -> geo, organisation and network verdict (enrich/mmdb.c) on the fixtures that
 * tests/fixtures/make_mmdb.pl generates into the build tree (LE_MMDB_FIXTURES). The values
 * asserted here are the ones written there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmdb.h"
#include "ranges.h"

#ifndef LE_MMDB_FIXTURES
#error "LE_MMDB_FIXTURES must name the generated fixture directory"
#endif

static const char *fx(const char *name) {
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", LE_MMDB_FIXTURES, name);
    return p;
}

/* Open the named fixtures (NULL-terminated) in order; the test fails on any error. */
static le_mmdb_t *open_fx(const char *lang, ...) {
    le_dbconf_t dbs[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, lang);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        assert_true(n < 8);
        dbs[n++] = (le_dbconf_t){(char *)fx(name), NULL, 0};
    }
    va_end(ap);
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *m = NULL;
    int rc = le_mmdb_open(dbs, n, lang, &m, &err);
    if (rc != 0) fail_msg("le_mmdb_open: %d: %s", rc, le_buf_cstr(&err));
    assert_non_null(m);
    assert_int_equal(err.len, 0);
    le_buf_free(&err);
    return m;
}

static le_ipinfo_t look(const le_mmdb_t *m, const char *addr) {
    le_ip_t ip;
    le_ipinfo_t out;
    assert_int_equal(le_ip_parse(le_str(addr), &ip), 0);
    le_mmdb_lookup(m, &ip, &out);
    return out;
}

static void str_is(le_str_t s, const char *want) {
    if (!want) {
        if (s.len) fail_msg("expected nothing, got \"%.*s\"", (int)s.len, s.ptr);
        return;
    }
    if (!le_str_eq(s, want)) fail_msg("expected \"%s\", got \"%.*s\"", want, (int)s.len, s.ptr);
}

#define HAS(info, f) (((info).found & LE_IPF_BIT(f)) != 0)

/* ---- one database type at a time ------------------------------------------------------------ */

static void test_city(void **st) {
    le_mmdb_t *m = open_fx("en", "city.mmdb", NULL);
    le_ipinfo_t i = look(m, "192.0.2.9");
    str_is(i.country_code, "DE");
    str_is(i.country, "Germany");
    str_is(i.subdivision_code, "BY");
    str_is(i.subdivision, "Bavaria");
    str_is(i.city, "Munich");
    str_is(i.postal, "80331");
    str_is(i.time_zone, "Europe/Berlin");
    str_is(i.continent_code, "EU");
    str_is(i.continent, "Europe");
    assert_true(i.has_location);
    assert_float_equal(i.latitude, 48.1375, 1e-9);
    assert_float_equal(i.longitude, 11.575, 1e-9);
    assert_int_equal(i.accuracy_km, 20);
    /* Geo only: no organisation, so no company and no verdict. */
    str_is(i.org, NULL);
    assert_int_equal(i.network, LE_NET_UNKNOWN);
    str_is(i.company, NULL);
    assert_int_equal(i.anon, 0);
    assert_false(HAS(i, LE_IPF_ORG));
    assert_true(HAS(i, LE_IPF_CITY) && HAS(i, LE_IPF_ACCURACY_RADIUS));

    /* A more specific network inside 198.51.100.0/24 wins over it; it has no postal code. */
    i = look(m, "198.51.100.7");
    str_is(i.city, "San Francisco");
    str_is(i.postal, "94107");
    str_is(i.subdivision_code, "CA");
    i = look(m, "198.51.100.200");
    str_is(i.city, "Oakland");
    str_is(i.postal, NULL);
    assert_false(HAS(i, LE_IPF_POSTAL));
    assert_float_equal(i.longitude, -122.2712, 1e-9);

    /* Country-level record. */
    i = look(m, "203.0.113.254");
    str_is(i.country_code, "JP");
    str_is(i.continent, "Asia");
    str_is(i.city, NULL);
    str_is(i.subdivision, NULL);
    assert_false(HAS(i, LE_IPF_CITY) || HAS(i, LE_IPF_SUBDIVISION_CODE));
    assert_true(i.has_location);
    assert_int_equal(i.accuracy_km, 500);
    le_mmdb_unref(m);
}

static void test_language(void **st) {
    le_mmdb_t *m = open_fx("de", "city.mmdb", NULL);
    le_ipinfo_t i = look(m, "192.0.2.9");
    str_is(i.city, "München");
    str_is(i.country, "Deutschland");
    str_is(i.subdivision, "Bayern");
    str_is(i.continent, "Europa");
    /* Only an English name: the fallback. */
    i = look(m, "198.51.100.7");
    str_is(i.city, "San Francisco");
    str_is(i.country, "Vereinigte Staaten");
    str_is(i.subdivision, "Kalifornien");
    le_mmdb_unref(m);

    /* A language the database does not have at all: English throughout. */
    m = open_fx("ja", "city.mmdb", NULL);
    i = look(m, "192.0.2.9");
    str_is(i.city, "Munich");
    str_is(i.country, "Germany");
    le_mmdb_unref(m);

    /* NULL and "" mean English. */
    m = open_fx(NULL, "city.mmdb", NULL);
    str_is(look(m, "192.0.2.9").city, "Munich");
    le_mmdb_unref(m);
}

static void test_families(void **st) {
    le_mmdb_t *m = open_fx("de", "city.mmdb", NULL);
    le_ipinfo_t i = look(m, "2001:db8::1");
    str_is(i.city, "Köln");
    str_is(i.subdivision_code, "NW");
    i = look(m, "2001:db8:1::5");
    str_is(i.city, "Wien");
    str_is(i.country_code, "AT");
    /* IPv4-mapped IPv6, both folded by le_ip_parse and built by hand. */
    str_is(look(m, "::ffff:192.0.2.9").city, "München");
    le_ip_t raw = {.family = AF_INET6};
    raw.addr[10] = raw.addr[11] = 0xff;
    raw.addr[12] = 192, raw.addr[13] = 0, raw.addr[14] = 2, raw.addr[15] = 9;
    le_ipinfo_t o;
    le_mmdb_lookup(m, &raw, &o);
    str_is(o.city, "München");
    /* Not in the database. */
    i = look(m, "8.8.8.8");
    assert_int_equal(i.found, 0);
    assert_false(i.has_location);
    assert_int_equal(i.network, LE_NET_UNKNOWN);
    assert_int_equal(look(m, "2001:db9::1").found, 0);
    assert_int_equal(look(m, "::1").found, 0);
    /* A family that is neither: nothing, no crash. */
    le_ip_t none = {0};
    le_mmdb_lookup(m, &none, &o);
    assert_int_equal(o.found, 0);
    /* NULL set. */
    le_mmdb_lookup(NULL, &raw, &o);
    assert_int_equal(o.found, 0);
    le_mmdb_info_t info;
    assert_int_equal(le_mmdb_describe(m, 0, &info), 0);
    assert_int_equal(info.lookup_errors, 0);
    le_mmdb_unref(m);
}

static void test_enterprise(void **st) {
    le_mmdb_t *m = open_fx("en", "enterprise.mmdb", NULL);
    le_ipinfo_t i = look(m, "192.0.2.77");
    str_is(i.city, "Garching");
    str_is(i.country_code, "DE");
    str_is(i.org, "Example Corp");
    str_is(i.isp, "Example Transit");
    str_is(i.domain, "example.com");
    assert_int_equal(i.asn, 64501);
    str_is(i.as_org, "Example Corp AS");
    str_is(i.connection_type, "Corporate");
    str_is(i.user_type, "business");
    assert_int_equal(i.network, LE_NET_BUSINESS);
    str_is(i.company, "Example Corp");
    str_is(i.company_domain, "example.com");
    assert_false(i.from_ranges);

    i = look(m, "2001:db8:2::1");
    str_is(i.org, "IPv6 Research GmbH");
    assert_int_equal(i.asn, 64502);
    assert_int_equal(i.network, LE_NET_BUSINESS);
    str_is(i.company, "IPv6 Research GmbH");
    str_is(i.company_domain, "v6.example");
    assert_false(i.has_location);
    le_mmdb_unref(m);
}

static void test_asn(void **st) {
    le_mmdb_t *m = open_fx("en", "asn.mmdb", NULL);
    le_ipinfo_t i = look(m, "192.0.2.1");
    assert_int_equal(i.asn, 64496);
    str_is(i.as_org, "Documentation AS One");
    i = look(m, "203.0.113.1");
    assert_int_equal(i.asn, 64499);
    assert_true(HAS(i, LE_IPF_ASN));
    assert_false(HAS(i, LE_IPF_AS_ORG));
    i = look(m, "2001:db8:ffff::1");
    assert_int_equal(i.asn, 64498);
    str_is(i.as_org, "Documentation AS Six");
    /* An AS organisation is never the company. */
    assert_int_equal(i.network, LE_NET_UNKNOWN);
    str_is(i.company, NULL);
    le_mmdb_unref(m);
}

static void test_anonymous(void **st) {
    le_mmdb_t *m = open_fx("en", "anon.mmdb", NULL);
    le_ipinfo_t i = look(m, "198.18.17.1");
    assert_int_equal(i.anon, LE_ANON_ANY | LE_ANON_VPN);
    assert_true(HAS(i, LE_IPF_IS_VPN) && HAS(i, LE_IPF_IS_ANONYMOUS));
    assert_int_equal(i.network, LE_NET_ANONYMISER);
    i = look(m, "198.18.18.1");
    assert_int_equal(i.anon, LE_ANON_ANY | LE_ANON_HOSTING);
    assert_int_equal(i.network, LE_NET_HOSTING);
    assert_int_equal(look(m, "198.18.19.1").anon, LE_ANON_ANY | LE_ANON_TOR);
    assert_int_equal(look(m, "198.18.20.1").anon, LE_ANON_ANY | LE_ANON_PUBLIC_PROXY);
    assert_int_equal(look(m, "198.18.21.1").anon, LE_ANON_ANY | LE_ANON_RESIDENTIAL_PROXY);
    i = look(m, "2001:db8:dead::1");
    assert_int_equal(i.anon, LE_ANON_ANY | LE_ANON_VPN | LE_ANON_HOSTING);
    assert_int_equal(i.network, LE_NET_ANONYMISER);
    assert_int_equal(look(m, "198.18.22.1").anon, 0);
    le_mmdb_unref(m);
}

static void test_ipv4_only_database(void **st) {
    le_mmdb_t *m = open_fx("en", "conn-v4.mmdb", NULL);
    le_ipinfo_t i = look(m, "192.0.2.1");
    str_is(i.connection_type, "Corporate");
    assert_int_equal(i.network, LE_NET_BUSINESS);
    str_is(i.company, NULL); /* a business network, but no organisation named */
    str_is(look(m, "198.51.100.1").connection_type, "Cellular");
    assert_int_equal(look(m, "198.51.100.1").network, LE_NET_CELLULAR);
    /* IPv6 in an IPv4-only database: nothing, and not counted as an error. */
    assert_int_equal(look(m, "2001:db8::1").found, 0);
    le_mmdb_info_t info;
    assert_int_equal(le_mmdb_describe(m, 0, &info), 0);
    assert_int_equal(info.ip_version, 4);
    assert_int_equal(info.lookup_errors, 0);
    le_mmdb_unref(m);
}

/* ---- several databases ---------------------------------------------------------------------- */

static void test_earlier_wins(void **st) {
    le_mmdb_t *m = open_fx("en", "city.mmdb", "enterprise.mmdb", "asn.mmdb", NULL);
    le_ipinfo_t i = look(m, "192.0.2.9");
    str_is(i.city, "Munich");       /* City first */
    str_is(i.org, "Example Corp");  /* only Enterprise has it */
    assert_int_equal(i.asn, 64501); /* Enterprise before ASN */
    str_is(i.as_org, "Example Corp AS");
    assert_int_equal(le_mmdb_count(m), 3);
    le_mmdb_unref(m);

    m = open_fx("en", "asn.mmdb", "enterprise.mmdb", "city.mmdb", NULL);
    i = look(m, "192.0.2.9");
    str_is(i.city, "Garching");
    assert_int_equal(i.asn, 64496);
    str_is(i.as_org, "Documentation AS One");
    str_is(i.postal, "80331"); /* both have the same; from Enterprise */
    /* What the earlier one lacks, a later one fills. */
    i = look(m, "2001:db8:2::1");
    str_is(i.city, "Cologne"); /* the Enterprise record has no city: City's 2001:db8::/32 */
    str_is(i.org, "IPv6 Research GmbH");
    assert_int_equal(i.asn, 64498);
    le_mmdb_unref(m);
}

/* The network verdict table (mmdb.h), case N at 198.18.N.1 in enterprise.mmdb + anon.mmdb. */
static void test_verdict_table(void **st) {
    static const struct {
        int n;
        le_network_t want;
        const char *company, *domain;
    } cases[] = {
        {1, LE_NET_BUSINESS, "Acme GmbH", "acme.example"},
        {2, LE_NET_ISP, NULL, NULL}, /* business, but the org is the ISP itself */
        {3, LE_NET_GOVERNMENT, "City of Springfield", "springfield.example"},
        {4, LE_NET_GOVERNMENT, "Example Army", NULL}, /* military; org == isp keeps it */
        {5, LE_NET_EDUCATION, "Example University", "uni.example"},
        {6, LE_NET_EDUCATION, "Springfield Elementary", NULL},
        {7, LE_NET_EDUCATION, "Public Library", NULL},
        {8, LE_NET_CELLULAR, NULL, NULL},
        {9, LE_NET_CELLULAR, NULL, NULL}, /* connection_type only */
        {10, LE_NET_ISP, NULL, NULL},     /* residential */
        {11, LE_NET_ISP, NULL, NULL},     /* Cable/DSL, even with another org name */
        {12, LE_NET_BUSINESS, "Initech", "initech.example"}, /* Corporate */
        {13, LE_NET_ISP, NULL, NULL}, /* Corporate, org == isp ignoring case */
        {14, LE_NET_HOSTING, NULL, NULL},
        {15, LE_NET_HOSTING, NULL, NULL},          /* content_delivery_network */
        {16, LE_NET_ANONYMISER, NULL, NULL},       /* consumer_privacy */
        {17, LE_NET_ANONYMISER, NULL, NULL},       /* business + VPN */
        {18, LE_NET_HOSTING, NULL, NULL},          /* business + hosting provider */
        {19, LE_NET_ANONYMISER, NULL, NULL},       /* business + Tor */
        {20, LE_NET_ANONYMISER, NULL, NULL},       /* business + public proxy */
        {21, LE_NET_ANONYMISER, NULL, NULL},       /* business + residential proxy */
        {22, LE_NET_UNKNOWN, NULL, NULL},          /* an org alone is no evidence */
        {23, LE_NET_UNKNOWN, NULL, NULL},          /* traveler */
        {24, LE_NET_ISP, NULL, NULL},              /* Satellite */
        {25, LE_NET_UNKNOWN, NULL, NULL},          /* search_engine_spider */
        {26, LE_NET_ISP, NULL, NULL},              /* ISP-style data: org == isp, no types */
        {27, LE_NET_BUSINESS, "Mobile Biz", NULL}, /* user_type beats connection_type */
    };
    le_mmdb_t *m = open_fx("en", "enterprise.mmdb", "anon.mmdb", NULL);
    for (size_t k = 0; k < LE_ARRAY_SIZE(cases); k++) {
        char addr[32];
        snprintf(addr, sizeof addr, "198.18.%d.1", cases[k].n);
        le_ipinfo_t i = look(m, addr);
        if (i.network != cases[k].want)
            fail_msg("case %d: network %s, want %s", cases[k].n, le_network_name(i.network),
                     le_network_name(cases[k].want));
        str_is(i.company, cases[k].company);
        str_is(i.company_domain, cases[k].domain);
        /* The company is named exactly when the verdict allows it. */
        if (!le_network_names_company(i.network)) assert_int_equal(i.company.len, 0);
        assert_true(HAS(i, LE_IPF_ORG)); /* the org is still reported as such */
    }
    le_mmdb_unref(m);
}

/* ---- explicit field maps -------------------------------------------------------------------- */

static le_fieldmap_t fm(const char *name, const char *path) {
    return (le_fieldmap_t){(char *)name, (char *)path};
}

static void test_field_map(void **st) {
    le_fieldmap_t f[] = {
        fm("country_code", "country"), fm("city", "no_such_key"),   fm("city", "city"),
        fm("subdivision", "region"),   fm("latitude", "lat"),       fm("longitude", "lng"),
        fm("postal", "postal_code"),   fm("time_zone", "timezone"), fm("asn", "asn"),
        fm("as_org", "as_name"),
    };
    le_dbconf_t db = {(char *)fx("ipinfo.mmdb"), f, LE_ARRAY_SIZE(f)};
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *m = NULL;
    assert_int_equal(le_mmdb_open(&db, 1, "en", &m, &err), 0);
    le_ipinfo_t i = look(m, "192.0.2.1");
    str_is(i.country_code, "DE");
    str_is(i.city, "Potsdam"); /* the second path, the first finds nothing */
    str_is(i.subdivision, "Brandenburg");
    assert_true(i.has_location);
    assert_float_equal(i.latitude, 52.39886, 1e-9); /* numbers stored as text */
    assert_float_equal(i.longitude, 13.06566, 1e-9);
    str_is(i.postal, "14467");
    str_is(i.time_zone, "Europe/Berlin");
    assert_int_equal(i.asn, 64496); /* "AS64496" */
    str_is(i.as_org, "Documentation AS One");
    i = look(m, "2001:db8::99");
    str_is(i.city, "Leipzig");
    assert_int_equal(i.asn, 64498); /* "64498" */
    assert_false(HAS(i, LE_IPF_POSTAL));
    le_mmdb_info_t info;
    assert_int_equal(le_mmdb_describe(m, 0, &info), 0);
    assert_string_equal(info.kind, "custom");
    assert_string_equal(info.database_type, "ipinfo standard_location");
    assert_true(info.field_map);
    assert_int_equal(info.npaths, LE_ARRAY_SIZE(f));
    le_mmdb_unref(m);

    /* More distinct key texts than the key table holds (255): keys are compared as text. */
    enum { MANY = 300 };
    le_fieldmap_t *many = calloc(MANY + 1, sizeof *many);
    char(*names)[16] = calloc(MANY, sizeof *names);
    for (int k = 0; k < MANY; k++) {
        snprintf(names[k], sizeof names[k], "no_key_%d", k);
        many[k] = fm("city", names[k]);
    }
    many[MANY] = fm("city", "city");
    le_dbconf_t mdb = {(char *)fx("ipinfo.mmdb"), many, MANY + 1};
    assert_int_equal(le_mmdb_open(&mdb, 1, "en", &m, &err), 0);
    str_is(look(m, "192.0.2.1").city, "Potsdam");
    str_is(look(m, "2001:db8::1").city, "Leipzig");
    le_mmdb_unref(m);
    free(many);
    free(names);

    /* A field map on a known type replaces the built-in paths. */
    le_fieldmap_t g[] = {fm("city", "city.names.de"),
                         fm("country_code", "registered_country.iso_code"),
                         fm("subdivision_code", "subdivisions.-1.iso_code")};
    le_dbconf_t cdb = {(char *)fx("city.mmdb"), g, LE_ARRAY_SIZE(g)};
    assert_int_equal(le_mmdb_open(&cdb, 1, "en", &m, &err), 0);
    i = look(m, "192.0.2.9");
    str_is(i.city, "München");
    str_is(i.country_code, "DE");
    str_is(i.subdivision_code, "BY");
    str_is(i.country, NULL); /* not mapped */
    assert_int_equal(i.found, LE_IPF_BIT(LE_IPF_CITY) | LE_IPF_BIT(LE_IPF_COUNTRY_CODE) |
                                  LE_IPF_BIT(LE_IPF_SUBDIVISION_CODE));
    assert_int_equal(le_mmdb_describe(m, 0, &info), 0);
    assert_string_equal(info.kind, "city");
    le_buf_t paths = LE_BUF_INIT;
    le_mmdb_describe_paths(m, 0, &paths);
    assert_string_equal(le_buf_cstr(&paths), "city city.names.de\n"
                                             "country_code registered_country.iso_code\n"
                                             "subdivision_code subdivisions.-1.iso_code\n");
    le_buf_free(&paths);
    le_mmdb_unref(m);
    assert_int_equal(err.len, 0);
    le_buf_free(&err);
}

static void test_open_errors(void **st) {
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *m = (le_mmdb_t *)&err; /* must be reset to NULL */

    /* A vendor type without a map. */
    le_dbconf_t db = {(char *)fx("ipinfo.mmdb"), NULL, 0};
    assert_int_equal(le_mmdb_open(&db, 1, "en", &m, &err), LE_EINVAL);
    assert_null(m);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: database_type \"ipinfo standard_location\" has no built-in field paths: give "
             "it a field map (fields: {country_code: ..., city: ...})\n",
             fx("ipinfo.mmdb"));
    assert_string_equal(le_buf_cstr(&err), want);
    le_buf_reset(&err);

    /* Unknown field names and malformed paths: every problem, one line each. */
    le_fieldmap_t f[] = {
        fm("cuontry", "country"),
        fm("city", "city..names"),
        fm("city", ".city"),
        fm("postal", "postal."),
        fm("asn", ""),
        fm("bogus_field_name", "x"),
        fm("city", "a.b.c.d.e.f.g.h.i"),
        fm("city", "ci\tty"),
        fm("city", " city"),
    };
    db = (le_dbconf_t){(char *)fx("ipinfo.mmdb"), f, LE_ARRAY_SIZE(f)};
    assert_int_equal(le_mmdb_open(&db, 1, "en", &m, &err), LE_EINVAL);
    assert_null(m);
    const char *p = fx("ipinfo.mmdb");
    char exp[4096];
    snprintf(exp, sizeof exp,
             "%s: fields: unknown field \"cuontry\" (did you mean \"country\"?)\n"
             "%s: fields: city: malformed path \"city..names\": empty segment\n"
             "%s: fields: city: malformed path \".city\": empty segment\n"
             "%s: fields: postal: malformed path \"postal.\": empty segment\n"
             "%s: fields: asn: malformed path \"\": empty path\n"
             "%s: fields: unknown field \"bogus_field_name\" (known: country_code, country, "
             "subdivision_code, subdivision, city, postal, latitude, longitude, accuracy_radius, "
             "time_zone, continent_code, continent, org, isp, domain, asn, as_org, "
             "connection_type, user_type, is_anonymous, is_vpn, is_tor, is_hosting, "
             "is_public_proxy, is_residential_proxy)\n"
             "%s: fields: city: malformed path \"a.b.c.d.e.f.g.h.i\": more than 8 segments\n"
             "%s: fields: city: malformed path \"ci\tty\": control character\n"
             "%s: fields: city: malformed path \" city\": leading or trailing blank\n",
             p, p, p, p, p, p, p, p, p);
    assert_string_equal(le_buf_cstr(&err), exp);
    le_buf_reset(&err);

    /* Missing file, not an MMDB, a directory, bad language: all reported, the first code wins. */
    le_dbconf_t several[] = {
        {(char *)fx("no-such.mmdb"), NULL, 0},
        {(char *)fx("../CMakeFiles"), NULL, 0},
        {(char *)LE_MMDB_FIXTURES "/../CTestTestfile.cmake", NULL, 0},
        {(char *)fx("city.mmdb"), NULL, 0},
    };
    assert_int_equal(le_mmdb_open(several, 4, "d e", &m, &err), LE_EINVAL);
    assert_null(m);
    char *e = le_buf_cstr(&err);
    assert_non_null(strstr(e, "language \"d e\": expected a language tag such as en, de or "
                              "pt-BR\n"));
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory\n", fx("no-such.mmdb"));
    assert_non_null(strstr(e, want));
    snprintf(want, sizeof want, "%s: not a regular file\n", fx("../CMakeFiles"));
    assert_non_null(strstr(e, want));
    snprintf(want, sizeof want,
             "%s: not a valid MaxMind DB file: ", LE_MMDB_FIXTURES "/../CTestTestfile.cmake");
    assert_non_null(strstr(e, want));
    le_buf_reset(&err);
    assert_int_equal(le_mmdb_open(several, 1, "en", &m, &err), -ENOENT);
    le_buf_reset(&err);
    assert_int_equal(le_mmdb_open(several + 2, 1, "en", &m, &err), LE_ECORRUPT);
    le_buf_free(&err);
}

static void test_empty_set(void **st) {
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *m = NULL;
    assert_int_equal(le_mmdb_open(NULL, 0, "en", &m, &err), 0);
    assert_non_null(m);
    assert_int_equal(le_mmdb_count(m), 0);
    assert_false(le_mmdb_changed(m));
    le_ipinfo_t i = look(m, "192.0.2.1");
    assert_int_equal(i.found, 0);
    le_mmdb_info_t info;
    assert_int_equal(le_mmdb_describe(m, 0, &info), LE_EINVAL);
    assert_ptr_equal(le_mmdb_ref(m), m);
    le_mmdb_unref(m);
    le_mmdb_unref(m);
    le_mmdb_unref(NULL);
    assert_null(le_mmdb_ref(NULL));
    assert_int_equal(le_mmdb_count(NULL), 0);
    assert_false(le_mmdb_changed(NULL));
    assert_null(le_ipfield_name(LE_IPF__COUNT));
    assert_string_equal(le_ipfield_name(LE_IPF_IS_RESIDENTIAL_PROXY), "is_residential_proxy");
    le_buf_free(&err);
}

static void test_describe(void **st) {
    le_mmdb_t *m = open_fx("de", "city.mmdb", "anon.mmdb", NULL);
    le_mmdb_info_t info;
    assert_int_equal(le_mmdb_describe(m, 0, &info), 0);
    assert_string_equal(info.path, fx("city.mmdb"));
    assert_string_equal(info.database_type, "GeoIP2-City");
    assert_string_equal(info.kind, "city");
    assert_int_equal(info.ip_version, 6);
    assert_int_equal(info.record_size, 28);
    assert_true(info.node_count > 100);
    assert_true(info.build_epoch > 1600000000);
    assert_true(info.file_size > 1000);
    assert_false(info.field_map);
    le_buf_t paths = LE_BUF_INIT;
    le_mmdb_describe_paths(m, 0, &paths);
    assert_non_null(strstr(le_buf_cstr(&paths), "city city.names.de\ncity city.names.en\n"));
    assert_non_null(strstr(le_buf_cstr(&paths), "subdivision_code subdivisions.0.iso_code\n"));
    le_buf_free(&paths);
    assert_int_equal(le_mmdb_describe(m, 1, &info), 0);
    assert_string_equal(info.kind, "anonymous-ip");
    assert_int_equal(info.npaths, 6);
    assert_int_equal(le_mmdb_describe(m, 2, &info), LE_EINVAL);
    le_mmdb_unref(m);
}

/* ---- reload and corrupt replacements -------------------------------------------------------- */

static char tmpdir[256];

static void copy_file(const char *from, const char *to, size_t limit) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && total < limit) {
        if (n > limit - total) n = limit - total;
        assert_int_equal(fwrite(buf, 1, n, out), n);
        total += n;
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static size_t file_size(const char *p) {
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return (size_t)st.st_size;
}

/* Replace `path` the way geoipupdate does: write a temporary file, rename it over. */
static void replace_with(const char *path, const void *data, size_t len) {
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void *slurp(const char *path, size_t *len) {
    *len = file_size(path);
    void *p = malloc(*len);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(p, 1, *len, f), *len);
    fclose(f);
    return p;
}

static le_mmdb_t *open_path(const char *path, int want_rc, le_buf_t *err) {
    le_dbconf_t db = {(char *)path, NULL, 0};
    le_mmdb_t *m = NULL;
    int rc = le_mmdb_open(&db, 1, "en", &m, err);
    if (want_rc == 0 && rc != 0) fail_msg("open %s: %d %s", path, rc, le_buf_cstr(err));
    if (want_rc != 0) {
        assert_int_equal(rc, want_rc);
        assert_null(m);
    }
    return m;
}

static void test_reload(void **st) {
    char path[512];
    snprintf(path, sizeof path, "%s/GeoIP2-City.mmdb", tmpdir);
    copy_file(fx("city.mmdb"), path, SIZE_MAX);
    le_buf_t err = LE_BUF_INIT;
    le_mmdb_t *old = open_path(path, 0, &err);
    assert_false(le_mmdb_changed(old));
    str_is(look(old, "192.0.2.9").city, "Munich");

    size_t len;
    void *data = slurp(fx("city2.mmdb"), &len);
    replace_with(path, data, len);
    free(data);
    assert_true(le_mmdb_changed(old));
    le_mmdb_t *cur = open_path(path, 0, &err);
    assert_false(le_mmdb_changed(cur));
    str_is(look(cur, "192.0.2.9").city, "Hamburg");
    /* The old set still answers from the file it mapped. */
    str_is(look(old, "192.0.2.9").city, "Munich");
    le_mmdb_unref(old);

    /* Corrupt replacements are refused at open; the current set keeps working. */
    data = slurp(fx("city.mmdb"), &len);
    replace_with(path, data, len / 2);
    assert_true(le_mmdb_changed(cur));
    assert_null(open_path(path, LE_ECORRUPT, &err));
    char want[700];
    snprintf(want, sizeof want, "%s: not a valid MaxMind DB file: ", path);
    assert_memory_equal(err.data, want, strlen(want));
    le_buf_reset(&err);
    str_is(look(cur, "192.0.2.9").city, "Hamburg");

    unsigned char noise[8192];
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)(i * 2654435761u >> 13);
    replace_with(path, noise, sizeof noise);
    assert_null(open_path(path, LE_ECORRUPT, &err));
    assert_memory_equal(err.data, want, strlen(want));
    le_buf_reset(&err);

    /* Search-tree damage behind intact metadata: every record of node 0 pointing far out. */
    unsigned char *bad = malloc(len);
    memcpy(bad, data, len);
    memset(bad, 0xff, 7);
    replace_with(path, bad, len);
    assert_null(open_path(path, LE_ECORRUPT, &err));
    snprintf(want, sizeof want,
             "%s: corrupt database: search tree node 0 points outside the data section\n", path);
    assert_string_equal(le_buf_cstr(&err), want);
    le_buf_reset(&err);
    free(bad);

    /* Vanished: changed. */
    assert_int_equal(unlink(path), 0);
    assert_true(le_mmdb_changed(cur));
    str_is(look(cur, "192.0.2.9").city, "Hamburg");
    le_mmdb_unref(cur);
    free(data);
    le_buf_free(&err);
}

/*
 * Damage every byte position in turn (every 7th in the first 2000 bytes, mostly search tree),
 * then several random bytes at once and truncations: the open either refuses the file with a
 * message, or the database verifies and every lookup is clean (ASan/UBSan builds check
 * "clean", leaks included).
 */
static void test_damage(void **st) {
    const char *srcs[] = {"enterprise.mmdb", "city.mmdb"};
    char path[512];
    snprintf(path, sizeof path, "%s/damaged.mmdb", tmpdir);
    static const char *addrs[] = {"192.0.2.9",   "198.51.100.7",  "198.51.100.200", "203.0.113.1",
                                  "2001:db8::1", "2001:db8:1::1", "198.18.1.1",     "198.18.12.1"};
    unsigned refused = 0, opened = 0;
    for (size_t s = 0; s < LE_ARRAY_SIZE(srcs); s++) {
        size_t len;
        unsigned char *orig = slurp(fx(srcs[s]), &len), *buf = malloc(len);
        for (size_t pos = 0; pos < len; pos += (pos < 2000 ? 7 : 1)) {
            for (int v = 0; v < 2; v++) {
                memcpy(buf, orig, len);
                buf[pos] = v ? (unsigned char)(orig[pos] ^ 0x80) : 0xff;
                replace_with(path, buf, len);
                le_buf_t err = LE_BUF_INIT;
                le_dbconf_t db = {path, NULL, 0};
                le_mmdb_t *m = NULL;
                if (le_mmdb_open(&db, 1, "en", &m, &err) != 0) {
                    assert_null(m);
                    assert_true(err.len > 0);
                    refused++;
                } else {
                    opened++;
                    for (size_t k = 0; k < LE_ARRAY_SIZE(addrs); k++) {
                        le_ipinfo_t i = look(m, addrs[k]);
                        (void)i;
                    }
                    le_mmdb_info_t info;
                    assert_int_equal(le_mmdb_describe(m, 0, &info), 0);
                    assert_int_equal(info.lookup_errors, 0); /* verified means clean */
                    le_mmdb_unref(m);
                }
                le_buf_free(&err);
            }
        }
        /* Then several random bytes at once, and truncations. */
        uint64_t x = 0x2545f4914f6cdd1dull + s;
        for (int round = 0; round < 1500; round++) {
            memcpy(buf, orig, len);
            size_t cut = len;
            int k = 1 + round % 8;
            for (int j = 0; j < k; j++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[x % len] = (unsigned char)(x >> 32);
            }
            if (round % 25 == 0) cut = (size_t)(x % len);
            replace_with(path, buf, cut);
            le_buf_t err = LE_BUF_INIT;
            le_dbconf_t db = {path, NULL, 0};
            le_mmdb_t *m = NULL;
            if (le_mmdb_open(&db, 1, "en", &m, &err) != 0) {
                assert_true(err.len > 0);
                refused++;
            } else {
                opened++;
                for (size_t a = 0; a < LE_ARRAY_SIZE(addrs); a++) look(m, addrs[a]);
                le_mmdb_unref(m);
            }
            le_buf_free(&err);
        }
        free(orig);
        free(buf);
    }
    print_message("damaged copies: %u refused at open, %u opened and looked up cleanly\n", refused,
                  opened);
    assert_true(refused > 0 && opened > 0);
    unlink(path);
}

/* ---- company ranges first ------------------------------------------------------------------- */

static void test_with_ranges(void **st) {
    static const char csv[] = "network,company,domain\n"
                              "198.18.2.0/24,Telekom Customer AG,customer.example\n"
                              "198.18.17.0/25,Known VPN User Inc,vpnuser.example\n"
                              "2001:db8:2::/48,Override GmbH,\n";
    le_buf_t err = LE_BUF_INIT;
    le_ranges_t *r = NULL;
    assert_int_equal(le_ranges_load_string("companies.csv", csv, sizeof csv - 1, &r, &err), 0);
    le_mmdb_t *m = open_fx("en", "enterprise.mmdb", "anon.mmdb", NULL);
    le_ip_t ip;
    le_ipinfo_t i;

    assert_int_equal(le_ip_parse(le_str("198.18.2.5"), &ip), 0);
    le_mmdb_lookup_with(m, r, &ip, &i);
    assert_true(i.from_ranges);
    assert_int_equal(i.network, LE_NET_BUSINESS);
    str_is(i.company, "Telekom Customer AG");
    str_is(i.company_domain, "customer.example");
    str_is(i.org, "Deutsche Telekom AG"); /* the databases still fill the rest */
    str_is(i.country_code, "DE");

    /* Ranges win over an anonymiser verdict. */
    assert_int_equal(le_ip_parse(le_str("198.18.17.5"), &ip), 0);
    le_mmdb_lookup_with(m, r, &ip, &i);
    assert_int_equal(i.network, LE_NET_BUSINESS);
    str_is(i.company, "Known VPN User Inc");
    assert_int_equal(i.anon, LE_ANON_ANY | LE_ANON_VPN);
    /* Outside the /25: the databases decide. */
    assert_int_equal(le_ip_parse(le_str("198.18.17.200"), &ip), 0);
    le_mmdb_lookup_with(m, r, &ip, &i);
    assert_false(i.from_ranges);
    assert_int_equal(i.network, LE_NET_ANONYMISER);
    str_is(i.company, NULL);

    assert_int_equal(le_ip_parse(le_str("2001:db8:2::9"), &ip), 0);
    le_mmdb_lookup_with(m, r, &ip, &i);
    str_is(i.company, "Override GmbH");
    str_is(i.company_domain, NULL);
    str_is(i.org, "IPv6 Research GmbH");

    /* Ranges alone, without databases. */
    assert_int_equal(le_ip_parse(le_str("198.18.2.5"), &ip), 0);
    le_mmdb_lookup_with(NULL, r, &ip, &i);
    str_is(i.company, "Telekom Customer AG");
    assert_int_equal(i.found, 0);
    /* No ranges: same as le_mmdb_lookup. */
    le_mmdb_lookup_with(m, NULL, &ip, &i);
    assert_int_equal(i.network, LE_NET_ISP);

    le_mmdb_unref(m);
    le_ranges_unref(r);
    le_buf_free(&err);
}

static int setup(void **st) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/le_mmdb_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st) {
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_city),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_enterprise),
        cmocka_unit_test(test_asn),
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_ipv4_only_database),
        cmocka_unit_test(test_earlier_wins),
        cmocka_unit_test(test_verdict_table),
        cmocka_unit_test(test_field_map),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_empty_set),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_with_ranges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
