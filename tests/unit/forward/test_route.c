/*
 * test_route.c: routing (forward/route.c) on canonical payloads: the first match wins, the
 * default route, each operator (exact case-insensitive, glob across '/', regex, ranges on the
 * real behaviour score and on company_size), page over the journey, the country fallback,
 * missing values never matching, type mqa; the field list; and build errors with positions.
 * Routes are built by hand on le_config_default() (config.c's YAML is tested on its own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "payload.h"
#include "route.h"

/* ---- routes by hand ---------------------------------------------------------------------- */

/* A condition with values (NULL-terminated). */
static le_condconf_t cond(const char *field, le_condop_t op, ...) {
    le_condconf_t c = {.field = le_xstrdup(field), .op = op, .min = INT64_MIN, .max = INT64_MAX};
    va_list ap;
    va_start(ap, op);
    c.values = le_xcalloc(8, sizeof(char *));
    for (const char *v; (v = va_arg(ap, const char *)) && c.nvalues < 8;)
        c.values[c.nvalues++] = le_xstrdup(v);
    va_end(ap);
    return c;
}

static le_condconf_t range(const char *field, int64_t min, int64_t max) {
    le_condconf_t c = {.field = le_xstrdup(field), .op = LE_COND_RANGE, .min = min, .max = max};
    return c;
}

typedef struct {
    le_config_t *cfg;
    le_routes_t *routes;
} fixture_t;

/* Append a route named name with n conditions (copied) to cfg. */
static void add_route(le_config_t *cfg, const char *name, const le_condconf_t *when, size_t n) {
    cfg->routing.routes =
        le_xrealloc(cfg->routing.routes, (cfg->routing.nroutes + 1) * sizeof(le_routeconf_t));
    le_routeconf_t *r = &cfg->routing.routes[cfg->routing.nroutes++];
    memset(r, 0, sizeof(*r));
    r->name = le_xstrdup(name);
    r->endpoint = le_xstrdup("crm");
    r->line = (uint32_t)cfg->routing.nroutes * 10;
    r->col = 5;
    if (n) {
        r->when = le_xcalloc(n, sizeof(*r->when));
        memcpy(r->when, when, n * sizeof(*when));
        for (size_t i = 0; i < n; i++) {
            r->when[i].line = r->line + 1 + (uint32_t)i;
            r->when[i].col = 9;
        }
    }
    r->nwhen = n;
}

#define ROUTE(cfg, name, ...)                                                                      \
    do {                                                                                           \
        const le_condconf_t when_[] = {__VA_ARGS__};                                               \
        add_route((cfg), (name), when_, LE_ARRAY_SIZE(when_));                                     \
    } while (0)

static void free_routes(le_config_t *cfg) {
    for (size_t i = 0; i < cfg->routing.nroutes; i++) {
        le_routeconf_t *r = &cfg->routing.routes[i];
        for (size_t j = 0; j < r->nwhen; j++) {
            for (size_t k = 0; k < r->when[j].nvalues; k++) free(r->when[j].values[k]);
            free(r->when[j].values);
            free(r->when[j].field);
        }
        free(r->when);
        free(r->name);
        free(r->endpoint);
        free(r->team);
        free(r->owner);
        free(r->queue);
    }
    free(cfg->routing.routes);
    cfg->routing.routes = NULL;
    cfg->routing.nroutes = 0;
}

static le_config_t *new_config(void) {
    le_config_t *cfg = le_config_default();
    free(cfg->path);
    cfg->path = le_xstrdup("routes.yaml");
    return cfg;
}

static void done(le_config_t *cfg, le_routes_t *r) {
    le_routes_free(r);
    free_routes(cfg);
    le_config_unref(cfg);
}

static le_routes_t *build(le_config_t *cfg) {
    le_buf_t err = LE_BUF_INIT;
    le_routes_t *r = NULL;
    if (le_routes_build(cfg, &r, &err) != 0) fail_msg("%s", le_buf_cstr(&err));
    assert_int_equal(err.len, 0);
    le_buf_free(&err);
    return r;
}

/* ---- payloads ---------------------------------------------------------------------------- */

static const char base_desc[] =
    "{\"kind\":\"contact\",\"id\":\"c0ffee00c0ffee00c0ffee00c0ffee00\","
    "\"email\":\"ada@acme.example\",\"first_seen\":1795000000,\"last_seen\":1795000300,"
    "\"scores\":{\"behaviour\":55.5,\"fit\":25,\"grade\":\"B\",\"band\":2,\"rules\":[]},"
    "\"contact\":{\"first_name\":\"Ada\",\"job_title\":\"Chief Technology Officer\","
    "\"role\":\"decider\",\"email_domain\":\"business\",\"country\":\"DE\","
    "\"company\":\"ACME GmbH\",\"company_key\":\"acme\",\"company_size\":1200,"
    "\"industry\":\"Software\",\"quality\":[]},"
    "\"account\":null,\"mql\":true,\"suppressed\":[],"
    "\"enrichment\":{\"company\":\"ACME GmbH\",\"company_key\":\"acme\","
    "\"domain\":\"acme.example\",\"network\":\"business\",\"country\":\"DE\",\"region\":\"BE\","
    "\"city\":\"Berlin\",\"continent\":\"EU\"},"
    "\"journey\":[{\"url\":\"https://www.example.com/\",\"at\":1795000000},"
    "{\"url\":\"https://www.example.com/en/pricing/enterprise\",\"at\":1795000200},"
    "{\"url\":\"https://www.example.com/contact\",\"at\":1795000250}],"
    "\"consent\":true}";

/* The canonical payload of base_desc after edit (a JSON object merged into the description,
 * one level deep per top-level member: {"contact": {...}} replaces members of contact). */
static json_t *payload(const char *type, const char *edit) {
    json_t *d = json_loads(base_desc, 0, NULL);
    assert_non_null(d);
    if (edit) {
        json_error_t e;
        json_t *ed = json_loads(edit, 0, &e);
        if (!ed) fail_msg("bad edit: %s", e.text);
        const char *k;
        json_t *v;
        json_object_foreach(ed, k, v) {
            json_t *cur = json_object_get(d, k);
            if (json_is_object(cur) && json_is_object(v))
                json_object_update(cur, v);
            else
                json_object_set(d, k, v);
        }
        json_decref(ed);
    }
    le_payload_meta_t m = {.id = "x-1", .type = type, .created_ms = 1795000300000LL, .journey = 10};
    json_t *p = le_payload_build(d, &m);
    json_decref(d);
    return p;
}

/* The name of the route r picks for the payload of edit (and type mql), or "-" for none. */
static const char *pick(le_routes_t *r, const char *edit) {
    json_t *p = payload("mql", edit);
    const le_routeconf_t *rc = le_routes_pick(r, p);
    json_decref(p);
    return rc ? rc->name : "-";
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_first_match_and_default(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "dach-enterprise", cond("country", LE_COND_EQ, "DE", "AT", "CH", NULL),
          range("company_size", 1000, INT64_MAX));
    ROUTE(cfg, "dach", cond("country", LE_COND_EQ, "de", "at", "ch", NULL));
    ROUTE(cfg, "nordics", cond("country", LE_COND_EQ, "SE", "NO", "DK", "FI", NULL));
    add_route(cfg, "default", NULL, 0);
    ROUTE(cfg, "never", cond("country", LE_COND_EQ, "DE", NULL)); /* after the default */
    le_routes_t *r = build(cfg);
    assert_string_equal(pick(r, NULL), "dach-enterprise");
    assert_string_equal(pick(r, "{\"contact\":{\"company_size\":50}}"), "dach");
    assert_string_equal(pick(r, "{\"enrichment\":{\"country\":\"at\"}}"), "dach-enterprise");
    assert_string_equal(pick(r, "{\"enrichment\":{\"country\":\"FI\"}}"), "nordics");
    assert_string_equal(pick(r, "{\"enrichment\":{\"country\":\"US\"}}"), "default");
    /* the route returned is the config's own */
    json_t *p = payload("mql", NULL);
    assert_ptr_equal(le_routes_pick(r, p), &cfg->routing.routes[0]);
    json_decref(p);
    done(cfg, r);

    /* no default: nothing matches, NULL; no routes at all: NULL */
    cfg = new_config();
    ROUTE(cfg, "us", cond("country", LE_COND_EQ, "US", NULL));
    r = build(cfg);
    assert_string_equal(pick(r, NULL), "-");
    done(cfg, r);
    cfg = new_config();
    r = build(cfg);
    assert_string_equal(pick(r, NULL), "-");
    done(cfg, r);
}

static void test_eq(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "industry", cond("industry", LE_COND_EQ, "SOFTWARE", NULL));
    ROUTE(cfg, "role", cond("role", LE_COND_EQ, "buyer", "Gatekeeper", NULL));
    ROUTE(cfg, "grade", cond("grade", LE_COND_EQ, "a", NULL));
    ROUTE(cfg, "band", cond("band", LE_COND_EQ, "4", "1", NULL));
    ROUTE(cfg, "key", cond("company_key", LE_COND_EQ, "initech", NULL));
    ROUTE(cfg, "domain", cond("domain", LE_COND_EQ, "Globex.Example", NULL));
    ROUTE(cfg, "mail", cond("email_domain", LE_COND_EQ, "freemail", NULL));
    ROUTE(cfg, "net", cond("network", LE_COND_EQ, "education", NULL));
    ROUTE(cfg, "geo", cond("continent", LE_COND_EQ, "na", NULL),
          cond("region", LE_COND_EQ, "ca", NULL), cond("city", LE_COND_EQ, "san francisco", NULL));
    ROUTE(cfg, "fit", cond("fit", LE_COND_EQ, "99", NULL));
    le_routes_t *r = build(cfg);
    assert_string_equal(pick(r, NULL), "industry");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":\"Software \"}}"), "-"); /* exact */
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":\"x\",\"role\":\"gatekeeper\"}}"),
                        "role");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null},\"scores\":{\"grade\":\"A\"}}"),
                        "grade");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null},\"scores\":{\"band\":1}}"),
                        "band");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null},\"scores\":{\"band\":1.5}}"),
                        "-");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null},"
                                "\"enrichment\":{\"company_key\":\"INITECH\"}}"),
                        "key");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null},"
                                "\"enrichment\":{\"domain\":\"globex.example\"}}"),
                        "domain");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null,\"email_domain\":\"freemail\"}}"),
                        "mail");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null},"
                                "\"enrichment\":{\"network\":\"education\"}}"),
                        "net");
    assert_string_equal(pick(r,
                             "{\"contact\":{\"industry\":null},\"enrichment\":{"
                             "\"continent\":\"NA\",\"region\":\"CA\",\"city\":\"San Francisco\"}}"),
                        "geo");
    /* every condition must hold */
    assert_string_equal(pick(r,
                             "{\"contact\":{\"industry\":null},\"enrichment\":{"
                             "\"continent\":\"NA\",\"region\":\"NY\",\"city\":\"San Francisco\"}}"),
                        "-");
    assert_string_equal(pick(r, "{\"contact\":{\"industry\":null},\"scores\":{\"fit\":99}}"),
                        "fit");
    done(cfg, r);
}

static void test_glob(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "exec", cond("job_title", LE_COND_GLOB, "chief*officer", "*head of*", NULL));
    ROUTE(cfg, "gmbh", cond("company", LE_COND_GLOB, "* gmbh", "* ag", NULL));
    ROUTE(cfg, "set", cond("city", LE_COND_GLOB, "[bm]?????", NULL));
    le_routes_t *r = build(cfg);
    assert_string_equal(pick(r, NULL), "exec");
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":\"VP, HEAD OF Sales\"}}"), "exec");
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":\"Chief / Officer\"}}"),
                        "exec"); /* '*' crosses '/' */
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":\"Engineer\"}}"), "gmbh");
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":null},"
                                "\"enrichment\":{\"company\":\"Globex AG\"}}"),
                        "gmbh");
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":null},"
                                "\"enrichment\":{\"company\":\"Globex Inc\",\"city\":\"Munich\"}}"),
                        "set");
    assert_string_equal(pick(r,
                             "{\"contact\":{\"job_title\":null},"
                             "\"enrichment\":{\"company\":\"Globex Inc\",\"city\":\"Hamburg\"}}"),
                        "-");
    done(cfg, r);
}

static void test_page(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "pricing", cond("page", LE_COND_GLOB, "*/pricing/*", NULL));
    ROUTE(cfg, "careers", cond("page", LE_COND_REGEX, "^https://[^/]+/careers(/|$)", NULL));
    ROUTE(cfg, "exact", cond("page", LE_COND_EQ, "HTTPS://WWW.EXAMPLE.COM/DEMO", NULL));
    le_routes_t *r = build(cfg);
    /* any page of the journey: the pricing page is the second of three */
    assert_string_equal(pick(r, NULL), "pricing");
    assert_string_equal(pick(r, "{\"journey\":[{\"url\":\"https://x.example/careers\"}]}"),
                        "careers");
    assert_string_equal(pick(r, "{\"journey\":[{\"url\":\"https://x.example/careersx\"},"
                                "{\"url\":null},{\"at\":5},7,"
                                "{\"url\":\"https://www.example.com/demo\"}]}"),
                        "exact");
    assert_string_equal(pick(r, "{\"journey\":[]}"), "-");
    assert_string_equal(pick(r, "{\"journey\":null}"), "-");
    done(cfg, r);
    /* only the latest crm.journey pages are in the payload, so only they route */
    cfg = new_config();
    ROUTE(cfg, "pricing", cond("page", LE_COND_GLOB, "*/pricing/*", NULL));
    r = build(cfg);
    json_t *d = json_loads(base_desc, 0, NULL);
    le_payload_meta_t m = {.id = "x", .type = "mql", .journey = 1};
    json_t *p = le_payload_build(d, &m);
    assert_null(le_routes_pick(r, p));
    json_decref(p);
    json_decref(d);
    done(cfg, r);
}

static void test_regex(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "c-level", cond("job_title", LE_COND_REGEX, "^c[tef]o$", "\\bchief\\b", NULL));
    ROUTE(cfg, "tld", cond("domain", LE_COND_REGEX, "\\.(de|at|ch)$", NULL));
    le_routes_t *r = build(cfg);
    assert_string_equal(pick(r, NULL), "c-level"); /* "Chief ...": case-insensitive */
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":\"CFO\"}}"), "c-level");
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":\"CFO of X\"}}"), "-");
    assert_string_equal(pick(r, "{\"contact\":{\"job_title\":\"mischief maker\"},"
                                "\"enrichment\":{\"domain\":\"acme.de\"}}"),
                        "tld");
    /* invalid UTF-8 in a value is matched, not an error */
    json_t *p = payload("mql", "{\"contact\":{\"job_title\":\"x\"}}");
    json_object_set_new(json_object_get(p, "lead"), "job_title",
                        json_stringn_nocheck("\xff"
                                             "cto",
                                             4));
    assert_null(le_routes_pick(r, p));
    json_decref(p);
    done(cfg, r);
}

static void test_range(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "hot", range("behaviour", 80, INT64_MAX));
    ROUTE(cfg, "warm", range("behaviour", 55, 79));
    ROUTE(cfg, "smb", range("company_size", INT64_MIN, 49));
    ROUTE(cfg, "mid", range("company_size", 50, 999));
    ROUTE(cfg, "fit", range("fit", 10, 20), range("band", 3, 4));
    le_routes_t *r = build(cfg);
    assert_string_equal(pick(r, NULL), "warm"); /* 55.5 */
    assert_string_equal(pick(r, "{\"scores\":{\"behaviour\":80}}"), "hot");
    assert_string_equal(pick(r, "{\"scores\":{\"behaviour\":79}}"), "warm");
    /* 79.5 is past the integer bound 79: ranges compare the real score, not a rounded one */
    assert_string_equal(pick(r, "{\"scores\":{\"behaviour\":79.5},"
                                "\"contact\":{\"company_size\":1000}}"),
                        "-");
    assert_string_equal(pick(r, "{\"scores\":{\"behaviour\":54.99},"
                                "\"contact\":{\"company_size\":49}}"),
                        "smb");
    assert_string_equal(pick(r, "{\"scores\":{\"behaviour\":1},\"contact\":{\"company_size\":50}}"),
                        "mid");
    assert_string_equal(
        pick(r, "{\"scores\":{\"behaviour\":1},\"contact\":{\"company_size\":999}}"), "mid");
    assert_string_equal(pick(r, "{\"scores\":{\"behaviour\":1,\"fit\":10,\"band\":4},"
                                "\"contact\":{\"company_size\":1000}}"),
                        "fit");
    assert_string_equal(pick(r, "{\"scores\":{\"behaviour\":1,\"fit\":21,\"band\":4},"
                                "\"contact\":{\"company_size\":1000}}"),
                        "-");
    /* an unknown size never matches, not even the open-ended smb range */
    assert_string_equal(
        pick(r, "{\"scores\":{\"behaviour\":1},\"contact\":{\"company_size\":null}}"), "-");
    done(cfg, r);
}

/* A condition on a missing or null value never matches: not EQ, glob "*", regex "", a range,
 * not page over an empty journey. A visitor has no contact fields at all. */
static void test_missing(void **state) {
    (void)state;
    static const char *const text[] = {
        "country", "region",   "city", "continent", "network",      "company", "company_key",
        "domain",  "industry", "role", "job_title", "email_domain", "grade",   "page"};
    le_config_t *cfg = new_config();
    for (size_t i = 0; i < LE_ARRAY_SIZE(text); i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s-glob", text[i]);
        ROUTE(cfg, name, cond(text[i], LE_COND_GLOB, "*", NULL));
        snprintf(name, sizeof(name), "%s-regex", text[i]);
        ROUTE(cfg, name, cond(text[i], LE_COND_REGEX, "", NULL));
    }
    static const char *const nums[] = {"company_size", "behaviour", "fit", "band"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(nums); i++)
        ROUTE(cfg, nums[i], range(nums[i], INT64_MIN, INT64_MAX));
    le_routes_t *r = build(cfg);
    json_t *d = json_loads("{\"kind\":\"visitor\",\"id\":\"00112233445566778899aabbccddeeff\","
                           "\"scores\":null,\"contact\":null}",
                           0, NULL);
    le_payload_meta_t m = {.id = "x", .type = "mql", .journey = 10};
    json_t *p = le_payload_build(d, &m);
    assert_null(le_routes_pick(r, p));
    /* empty strings count as missing too */
    json_object_set_new(json_object_get(p, "lead"), "industry", json_string(""));
    assert_null(le_routes_pick(r, p));
    /* and the same payload with one value present matches that field's glob route */
    json_object_set_new(json_object_get(p, "lead"), "industry", json_string("x"));
    assert_string_equal(le_routes_pick(r, p)->name, "industry-glob");
    json_object_set_new(json_object_get(p, "lead"), "industry", json_null());
    json_object_set_new(json_object_get(p, "scores"), "fit", json_integer(0));
    assert_string_equal(le_routes_pick(r, p)->name, "fit");
    /* not an object at all */
    json_t *junk = json_array();
    assert_null(le_routes_pick(r, junk));
    json_decref(junk);
    json_decref(p);
    json_decref(d);
    done(cfg, r);
}

/* country: the IP's, else the one the contact's form gave. */
static void test_country_fallback(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "fr", cond("country", LE_COND_EQ, "FR", NULL));
    le_routes_t *r = build(cfg);
    assert_string_equal(pick(r, "{\"contact\":{\"country\":\"FR\"}}"), "-"); /* the IP's DE */
    assert_string_equal(pick(r, "{\"contact\":{\"country\":\"FR\"},"
                                "\"enrichment\":{\"country\":null}}"),
                        "fr");
    /* a payload whose company.geo.country was blanked still falls back to lead.country */
    json_t *p = payload("mql", "{\"contact\":{\"country\":\"FR\"}}");
    json_object_set_new(json_object_get(json_object_get(p, "company"), "geo"), "country",
                        json_string(""));
    assert_string_equal(le_routes_pick(r, p)->name, "fr");
    json_decref(p);
    done(cfg, r);
}

static void test_type(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "accounts", cond("type", LE_COND_EQ, "mqa", NULL));
    ROUTE(cfg, "leads", cond("type", LE_COND_EQ, "MQL", NULL));
    le_routes_t *r = build(cfg);
    json_t *p = payload("mqa", NULL);
    assert_string_equal(le_routes_pick(r, p)->name, "accounts");
    json_decref(p);
    p = payload("mql", NULL);
    assert_string_equal(le_routes_pick(r, p)->name, "leads");
    json_decref(p);
    p = payload(NULL, NULL); /* no type: neither */
    assert_null(le_routes_pick(r, p));
    json_decref(p);
    done(cfg, r);
}

static void test_fields(void **state) {
    (void)state;
    static const char *const want[] = {"type",      "country",      "region",    "city",
                                       "continent", "network",      "company",   "company_key",
                                       "domain",    "company_size", "industry",  "role",
                                       "job_title", "email_domain", "behaviour", "fit",
                                       "grade",     "band",         "page"};
    size_t n = 0;
    while (le_route_fields[n]) n++;
    assert_int_equal(n, LE_ARRAY_SIZE(want));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(le_route_fields[i], want[i]);
        bool numeric = true;
        assert_true(le_route_field(want[i], strlen(want[i]), &numeric));
        bool should = strcmp(want[i], "company_size") == 0 || strcmp(want[i], "behaviour") == 0 ||
                      strcmp(want[i], "fit") == 0 || strcmp(want[i], "band") == 0;
        assert_int_equal(numeric, should);
    }
    assert_true(le_route_field("country_code", 7, NULL)); /* a length within a longer name */
    assert_false(le_route_field("country_code", 12, NULL));
    assert_false(le_route_field("url", 3, NULL));
    assert_false(le_route_field("", 0, NULL));
}

static void test_build_errors(void **state) {
    (void)state;
    le_config_t *cfg = new_config();
    ROUTE(cfg, "ok", cond("country", LE_COND_EQ, "DE", NULL));
    ROUTE(cfg, "bad", cond("job_title", LE_COND_REGEX, "ok", "(unclosed", NULL),
          cond("url", LE_COND_EQ, "x", NULL), range("country", 1, 2),
          cond("company_size", LE_COND_EQ, "big", NULL), cond("band", LE_COND_GLOB, "1*", NULL),
          cond("city", LE_COND_EQ, NULL));
    le_buf_t err = LE_BUF_INIT;
    le_routes_t *r = (le_routes_t *)1;
    assert_int_equal(le_routes_build(cfg, &r, &err), LE_EINVAL);
    assert_null(r);
    const char *want =
        "routes.yaml:21:9: routing.routes[1].when.job_title: bad regex at offset 9: missing "
        "closing parenthesis\n"
        "routes.yaml:22:9: routing.routes[1].when.url: unknown route condition\n"
        "routes.yaml:23:9: routing.routes[1].when.country: a range needs a numeric field "
        "(company_size, behaviour, fit, band)\n"
        "routes.yaml:24:9: routing.routes[1].when.company_size: expected a number, not \"big\"\n"
        "routes.yaml:25:9: routing.routes[1].when.band: expected numbers or {min: .., max: ..}\n"
        "routes.yaml:26:9: routing.routes[1].when.city: expected at least one value\n";
    assert_string_equal(le_buf_cstr(&err), want);
    le_buf_free(&err);
    done(cfg, NULL);
    /* numbers may be written as reals */
    cfg = new_config();
    ROUTE(cfg, "half", cond("behaviour", LE_COND_EQ, "55.5", NULL));
    r = build(cfg);
    assert_string_equal(pick(r, NULL), "half");
    done(cfg, r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_match_and_default),
        cmocka_unit_test(test_eq),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_country_fallback),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_build_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
