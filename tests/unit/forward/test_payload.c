/*
 * test_payload.c: the canonical webhook body (forward/payload.c): a full contact description
 * to the exact payload, a visitor with nulls, descriptions of the wrong shape, the company
 * fallback to form fields, journey trimming, route and escalation; the field map (rename with
 * and without the rest, array index paths, literals, missing sources, nested and conflicting
 * output paths), path validation and the compact dump.
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

static const char contact_desc[] =
    "{\"kind\":\"contact\",\"id\":\"c0ffee00c0ffee00c0ffee00c0ffee00\","
    "\"email\":\"ada@acme.example\",\"first_seen\":1795000000,\"last_seen\":1795000300,"
    "\"scores\":{\"behaviour\":55.5,\"fit\":25,\"grade\":\"B\",\"band\":2,\"rules\":["
    "{\"rule\":\"pricing page\",\"kind\":\"behaviour\",\"points\":15.0,\"times\":1},"
    "{\"rule\":\"DACH\",\"kind\":\"fit\",\"points\":10.0,\"times\":1}]},"
    "\"contact\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"job_title\":\"CTO\","
    "\"role\":\"decider\",\"email_domain\":\"business\",\"phone\":\"+4930123456\","
    "\"postal_code\":\"10115\",\"country\":\"DE\",\"company\":\"ACME GmbH\","
    "\"company_key\":\"acme\",\"company_size\":1200,\"industry\":\"software\","
    "\"quality\":[\"bad_phone\"]},"
    "\"visitors\":[{\"visitor\":\"00112233445566778899aabbccddeeff\",\"linked_at\":1795000100},"
    "{\"visitor\":\"ffeeddccbbaa99887766554433221100\",\"linked_at\":1795000250}],"
    "\"account\":{\"key\":\"acme\",\"name\":\"ACME\",\"domain\":\"acme.example\",\"members\":2,"
    "\"behaviour\":80.0,\"mqa\":false},"
    "\"mql\":true,\"mql_at\":1795000300,\"suppressed\":[],"
    "\"enrichment\":{\"company\":\"ACME GmbH\",\"company_key\":\"acme\","
    "\"domain\":\"acme.example\",\"network\":\"business\",\"country\":\"DE\",\"region\":\"BE\","
    "\"city\":\"Berlin\",\"continent\":\"EU\",\"browser\":\"Chrome\",\"os\":\"Linux\","
    "\"device_class\":\"desktop\",\"language\":\"de-DE\"},"
    "\"journey\":[{\"url\":\"https://www.example.com/\",\"at\":1795000000},"
    "{\"url\":\"https://www.example.com/pricing\",\"at\":1795000200},"
    "{\"url\":\"https://www.example.com/contact\",\"at\":1795000250}],"
    "\"consent\":true}";

static const char contact_payload[] =
    "{\"id\":\"c0ffee00c0ffee00c0ffee00c0ffee00-1\",\"type\":\"mql\","
    "\"created_at\":\"2026-11-18T11:11:40.123Z\",\"sla_due_at\":\"2026-11-18T12:11:40.123Z\","
    "\"escalated\":false,"
    "\"route\":{\"name\":null,\"team\":null,\"owner\":null,\"queue\":null},"
    "\"lead\":{\"id\":\"c0ffee00c0ffee00c0ffee00c0ffee00\",\"email\":\"ada@acme.example\","
    "\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"job_title\":\"CTO\",\"role\":\"decider\","
    "\"phone\":\"+4930123456\",\"postal_code\":\"10115\",\"country\":\"DE\","
    "\"company\":\"ACME GmbH\",\"company_size\":1200,\"industry\":\"software\","
    "\"email_domain\":\"business\",\"quality\":[\"bad_phone\"]},"
    "\"company\":{\"name\":\"ACME GmbH\",\"key\":\"acme\",\"domain\":\"acme.example\","
    "\"network\":\"business\",\"geo\":{\"country\":\"DE\",\"region\":\"BE\",\"city\":\"Berlin\","
    "\"continent\":\"EU\"}},"
    "\"visitor\":{\"first_seen\":\"2026-11-18T11:06:40.000Z\","
    "\"last_seen\":\"2026-11-18T11:11:40.000Z\",\"devices\":2,\"browser\":\"Chrome\","
    "\"os\":\"Linux\",\"device_class\":\"desktop\",\"language\":\"de-DE\"},"
    "\"scores\":{\"behaviour\":55.5,\"fit\":25,\"grade\":\"B\",\"band\":2,\"cell\":\"B2\","
    "\"rules\":[{\"name\":\"pricing page\",\"kind\":\"behaviour\",\"points\":15.0},"
    "{\"name\":\"DACH\",\"kind\":\"fit\",\"points\":10.0}]},"
    "\"journey\":[{\"url\":\"https://www.example.com/\",\"at\":\"2026-11-18T11:06:40.000Z\"},"
    "{\"url\":\"https://www.example.com/pricing\",\"at\":\"2026-11-18T11:10:00.000Z\"},"
    "{\"url\":\"https://www.example.com/contact\",\"at\":\"2026-11-18T11:10:50.000Z\"}],"
    "\"account\":{\"key\":\"acme\",\"name\":\"ACME\",\"domain\":\"acme.example\",\"members\":2,"
    "\"behaviour\":80.0,\"mqa\":false},"
    "\"consent\":{\"basis\":\"consent\",\"given\":true,\"gpc\":false}}";

static const le_payload_meta_t contact_meta = {
    .id = "c0ffee00c0ffee00c0ffee00c0ffee00-1",
    .type = "mql",
    .created_ms = 1795000300123LL,
    .sla_due_ms = 1795003900123LL,
    .escalated = false,
    .journey = 10,
    .consent_basis = "consent",
};

static json_t *load(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) fail_msg("bad test JSON at %d: %s", e.position, e.text);
    return j;
}

/* got equals the JSON text want (types included: 15 is not 15.0); got is released. */
static void expect_json(json_t *got, const char *want) {
    json_t *w = load(want);
    if (!json_equal(got, w)) {
        char *g = le_payload_dump(got);
        fprintf(stderr, "got:  %s\nwant: %s\n", g, want);
        free(g);
        fail_msg("payload differs");
    }
    json_decref(w);
    json_decref(got);
}

static json_t *contact_build(void) {
    json_t *d = load(contact_desc);
    json_t *p = le_payload_build(d, &contact_meta);
    json_decref(d);
    return p;
}

static void test_contact(void **state) {
    (void)state;
    json_t *p = contact_build();
    /* members in schema order, not just equal */
    static const char *const order[] = {
        "id",      "type",    "created_at", "sla_due_at", "escalated", "route",  "lead",
        "company", "visitor", "scores",     "journey",    "account",   "consent"};
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(p, key, v) {
        assert_true(i < LE_ARRAY_SIZE(order));
        assert_string_equal(key, order[i++]);
    }
    assert_int_equal(i, LE_ARRAY_SIZE(order));
    expect_json(p, contact_payload);
}

static void test_visitor(void **state) {
    (void)state;
    json_t *d = load("{\"kind\":\"visitor\",\"id\":\"00112233445566778899aabbccddeeff\","
                     "\"first_seen\":1795000000,\"last_seen\":null,"
                     "\"scores\":{\"behaviour\":40,\"fit\":0,\"grade\":\"D\",\"band\":3,"
                     "\"rules\":[]},"
                     "\"contact\":null,\"account\":null,\"mql\":true,\"mql_at\":1795000300,"
                     "\"suppressed\":[\"bot\",\"gpc\"]}");
    le_payload_meta_t m = {.id = "00112233445566778899aabbccddeeff-1",
                           .type = "mql",
                           .created_ms = 0,
                           .journey = 10,
                           .consent_basis = "legitimate_interest"};
    json_t *p = le_payload_build(d, &m);
    expect_json(
        p, "{\"id\":\"00112233445566778899aabbccddeeff-1\",\"type\":\"mql\","
           "\"created_at\":\"1970-01-01T00:00:00.000Z\",\"sla_due_at\":null,\"escalated\":false,"
           "\"route\":{\"name\":null,\"team\":null,\"owner\":null,\"queue\":null},"
           "\"lead\":{\"id\":\"00112233445566778899aabbccddeeff\",\"email\":null,"
           "\"first_name\":null,\"last_name\":null,\"job_title\":null,\"role\":null,"
           "\"phone\":null,\"postal_code\":null,\"country\":null,\"company\":null,"
           "\"company_size\":null,\"industry\":null,\"email_domain\":null,\"quality\":[]},"
           "\"company\":{\"name\":null,\"key\":null,\"domain\":null,\"network\":null,"
           "\"geo\":{\"country\":null,\"region\":null,\"city\":null,\"continent\":null}},"
           "\"visitor\":{\"first_seen\":\"2026-11-18T11:06:40.000Z\",\"last_seen\":null,"
           "\"devices\":1,\"browser\":null,\"os\":null,\"device_class\":null,\"language\":null},"
           "\"scores\":{\"behaviour\":40.0,\"fit\":0,\"grade\":\"D\",\"band\":3,\"cell\":\"D3\","
           "\"rules\":[]},"
           "\"journey\":[],\"account\":null,"
           "\"consent\":{\"basis\":\"legitimate_interest\",\"given\":false,\"gpc\":true}}");
    json_decref(d);
}

/* Descriptions of the wrong shape: every member missing, of the wrong type, or not an object at
 * all. The payload keeps its shape with nulls. */
static void test_wrong_shapes(void **state) {
    (void)state;
    static const char empty[] =
        "{\"id\":null,\"type\":null,\"created_at\":\"1970-01-01T00:00:00.000Z\","
        "\"sla_due_at\":null,\"escalated\":true,"
        "\"route\":{\"name\":null,\"team\":null,\"owner\":null,\"queue\":null},"
        "\"lead\":{\"id\":null,\"email\":null,\"first_name\":null,\"last_name\":null,"
        "\"job_title\":null,\"role\":null,\"phone\":null,\"postal_code\":null,\"country\":null,"
        "\"company\":null,\"company_size\":null,\"industry\":null,\"email_domain\":null,"
        "\"quality\":[]},"
        "\"company\":{\"name\":null,\"key\":null,\"domain\":null,\"network\":null,"
        "\"geo\":{\"country\":null,\"region\":null,\"city\":null,\"continent\":null}},"
        "\"visitor\":{\"first_seen\":null,\"last_seen\":null,\"devices\":1,\"browser\":null,"
        "\"os\":null,\"device_class\":null,\"language\":null},"
        "\"scores\":{\"behaviour\":null,\"fit\":null,\"grade\":null,\"band\":null,"
        "\"cell\":null,\"rules\":[]},"
        "\"journey\":[],\"account\":null,"
        "\"consent\":{\"basis\":null,\"given\":false,\"gpc\":false}}";
    le_payload_meta_t m = {.escalated = true, .journey = 5, .created_ms = -5};
    static const char *const descs[] = {
        "{}",
        "[]",
        "null",
        "42",
        "{\"kind\":\"contact\",\"id\":7,\"email\":[],\"first_seen\":\"x\",\"scores\":[],"
        "\"contact\":\"x\",\"visitors\":{},\"account\":[],\"suppressed\":{},"
        "\"enrichment\":[1],\"journey\":{\"url\":\"x\"},\"consent\":\"yes\"}",
        "{\"contact\":{\"first_name\":1,\"role\":false,\"email_domain\":\"?\","
        "\"company_size\":\"big\",\"quality\":\"bad_phone\"},\"scores\":{\"behaviour\":\"1\","
        "\"fit\":true,\"grade\":3,\"band\":\"2\",\"rules\":[1,null]},"
        "\"journey\":[1,\"x\",null],\"suppressed\":[1,null]}",
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(descs); i++) {
        json_t *d = json_loads(descs[i], JSON_DECODE_ANY, NULL);
        assert_non_null(d);
        expect_json(le_payload_build(d, &m), empty);
        json_decref(d);
    }
    expect_json(le_payload_build(NULL, &m), empty);
}

/* The IP names no company (a residential network) and no country: the form's company, key and
 * country stand in; the domain stays the IP's (none). The IP's region and city remain. */
static void test_company_fallback(void **state) {
    (void)state;
    json_t *d = load(contact_desc);
    json_t *x = json_object_get(d, "enrichment");
    json_object_set_new(x, "company", json_null());
    json_object_del(x, "company_key");
    json_object_set_new(x, "domain", json_null());
    json_object_set_new(x, "network", json_string("isp"));
    json_object_del(x, "country");
    json_t *p = le_payload_build(d, &contact_meta);
    expect_json(json_incref(json_object_get(p, "company")),
                "{\"name\":\"ACME GmbH\",\"key\":\"acme\",\"domain\":null,\"network\":\"isp\","
                "\"geo\":{\"country\":\"DE\",\"region\":\"BE\",\"city\":\"Berlin\","
                "\"continent\":\"EU\"}}");
    json_decref(p);
    /* the IP's company wins over the form's when it names one */
    json_object_set_new(x, "company", json_string("Other AG"));
    json_object_set_new(x, "country", json_string("AT"));
    p = le_payload_build(d, &contact_meta);
    expect_json(json_incref(json_object_get(p, "company")),
                "{\"name\":\"Other AG\",\"key\":null,\"domain\":null,\"network\":\"isp\","
                "\"geo\":{\"country\":\"AT\",\"region\":\"BE\",\"city\":\"Berlin\","
                "\"continent\":\"EU\"}}");
    json_decref(p);
    /* no enrichment at all */
    json_object_del(d, "enrichment");
    p = le_payload_build(d, &contact_meta);
    expect_json(json_incref(json_object_get(p, "company")),
                "{\"name\":\"ACME GmbH\",\"key\":\"acme\",\"domain\":null,\"network\":null,"
                "\"geo\":{\"country\":\"DE\",\"region\":null,\"city\":null,\"continent\":null}}");
    json_decref(p);
    json_decref(d);
}

static void test_journey_trim(void **state) {
    (void)state;
    json_t *d = load(contact_desc);
    json_t *j = json_array();
    for (int i = 0; i < 20; i++) {
        char url[64];
        snprintf(url, sizeof(url), "https://www.example.com/p%d", i);
        json_t *step = json_object();
        json_object_set_new(step, "url", json_string(url));
        json_object_set_new(step, "at", json_integer(1795000000 + i));
        json_array_append_new(j, step);
    }
    json_object_set_new(d, "journey", j);
    le_payload_meta_t m = contact_meta;
    m.journey = 3;
    json_t *p = le_payload_build(d, &m);
    expect_json(json_incref(json_object_get(p, "journey")),
                "[{\"url\":\"https://www.example.com/p17\",\"at\":\"2026-11-18T11:06:57.000Z\"},"
                "{\"url\":\"https://www.example.com/p18\",\"at\":\"2026-11-18T11:06:58.000Z\"},"
                "{\"url\":\"https://www.example.com/p19\",\"at\":\"2026-11-18T11:06:59.000Z\"}]");
    json_decref(p);
    m.journey = 0;
    p = le_payload_build(d, &m);
    assert_int_equal(json_array_size(json_object_get(p, "journey")), 0);
    json_decref(p);
    m.journey = 50; /* more than there are: all, oldest first */
    p = le_payload_build(d, &m);
    json_t *got = json_object_get(p, "journey");
    assert_int_equal(json_array_size(got), 20);
    assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "url")),
                        "https://www.example.com/p0");
    json_decref(p);
    /* junk steps do not count; a step without url or time keeps its place with nulls */
    json_array_insert_new(j, 19, json_string("junk"));
    json_array_insert_new(j, 18, json_null());
    json_array_append_new(j, json_object());
    m.journey = 2;
    p = le_payload_build(d, &m);
    expect_json(json_incref(json_object_get(p, "journey")),
                "[{\"url\":\"https://www.example.com/p19\",\"at\":\"2026-11-18T11:06:59.000Z\"},"
                "{\"url\":null,\"at\":null}]");
    json_decref(p);
    json_decref(d);
}

static void test_route_and_escalation(void **state) {
    (void)state;
    json_t *p = contact_build();
    le_routeconf_t r = {.name = "dach", .team = "sales-dach", .queue = "inbound"};
    le_payload_set_route(p, &r);
    le_payload_set_escalated(p, true);
    expect_json(json_incref(json_object_get(p, "route")),
                "{\"name\":\"dach\",\"team\":\"sales-dach\",\"owner\":null,\"queue\":\"inbound\"}");
    assert_true(json_is_true(json_object_get(p, "escalated")));
    /* still in schema order */
    char *s = le_payload_dump(p);
    assert_non_null(strstr(s, "\"escalated\":true,\"route\":{\"name\":\"dach\""));
    free(s);
    le_payload_set_route(p, NULL);
    expect_json(json_incref(json_object_get(p, "route")),
                "{\"name\":null,\"team\":null,\"owner\":null,\"queue\":null}");
    le_payload_set_escalated(p, false);
    json_decref(p);
    le_payload_set_route(NULL, &r); /* not an object: nothing happens */
}

static void test_time(void **state) {
    (void)state;
    char buf[LE_PAYLOAD_TIME_SIZE];
    le_payload_time(1795000300123LL, buf);
    assert_string_equal(buf, "2026-11-18T11:11:40.123Z");
    le_payload_time(1000, buf);
    assert_string_equal(buf, "1970-01-01T00:00:01.000Z");
    le_payload_time(951782400007LL, buf); /* a leap day */
    assert_string_equal(buf, "2000-02-29T00:00:00.007Z");
    le_payload_time(-1, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    le_payload_time(INT64_MAX, buf);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
}

/* ---- the field map ---------------------------------------------------------------------- */

static json_t *mapped(const json_t *p, const le_kvconf_t *map, size_t n, bool keep) {
    return le_payload_map(p, map, n, keep);
}

static void test_map_only_mapped(void **state) {
    (void)state;
    json_t *p = contact_build();
    le_kvconf_t map[] = {
        {"properties.email", "lead.email"},
        {"properties.firstname", "lead.first_name"},
        {"properties.lifecyclestage", "=MQL"},
        {"properties.first_page", "journey.0.url"},
        {"properties.last_page", "journey.2.url"},
        {"properties.top_rule", "scores.rules.0.name"},
        {"properties.behaviour", "scores.behaviour"},
        {"properties.company_size", "lead.company_size"},
        {"properties.fax", "lead.fax"},             /* missing: null */
        {"properties.page_99", "journey.99.url"},   /* past the end: null */
        {"properties.deeper", "lead.email.domain"}, /* under a string: null */
        {"properties.idx", "lead.0"},               /* an index into an object: a key */
        {"properties.empty", "="},                  /* the empty literal */
        {"properties.eq", "==x"},                   /* a literal starting with '=' */
        {"meta.scores", "scores.rules"},            /* a whole array */
        {"a.b.c.d.e", "consent.given"},             /* nested output created */
        {"ids.0", "id"},                            /* a numeric output key in an object */
    };
    json_t *out = mapped(p, map, LE_ARRAY_SIZE(map), false);
    expect_json(out, "{\"properties\":{\"email\":\"ada@acme.example\",\"firstname\":\"Ada\","
                     "\"lifecyclestage\":\"MQL\",\"first_page\":\"https://www.example.com/\","
                     "\"last_page\":\"https://www.example.com/contact\","
                     "\"top_rule\":\"pricing page\",\"behaviour\":55.5,\"company_size\":1200,"
                     "\"fax\":null,\"page_99\":null,\"deeper\":null,\"idx\":null,\"empty\":\"\","
                     "\"eq\":\"=x\"},"
                     "\"meta\":{\"scores\":[{\"name\":\"pricing page\",\"kind\":\"behaviour\","
                     "\"points\":15.0},{\"name\":\"DACH\",\"kind\":\"fit\",\"points\":10.0}]},"
                     "\"a\":{\"b\":{\"c\":{\"d\":{\"e\":true}}}},"
                     "\"ids\":{\"0\":\"c0ffee00c0ffee00c0ffee00c0ffee00-1\"}}");
    /* the payload is untouched */
    expect_json(p, contact_payload);
    /* nothing mapped, nothing kept: an empty object */
    p = contact_build();
    expect_json(mapped(p, NULL, 0, false), "{}");
    /* nothing mapped, the rest kept: a copy */
    expect_json(mapped(p, NULL, 0, true), contact_payload);
    json_decref(p);
}

static void test_map_keep_unmapped(void **state) {
    (void)state;
    json_t *p = contact_build();
    le_kvconf_t map[] = {
        {"properties.email", "lead.email"},
        {"properties.firstname", "lead.first_name"},
        {"properties.lifecyclestage", "=MQL"},
        {"properties.first_page", "journey.0.url"}, /* a member inside an array element */
        {"properties.top_rule", "scores.rules.0"},  /* an array element: copied, left there */
        {"owner_team", "route.team"},
        {"owner_name", "route.name"},
        {"owner_id", "route.owner"},
        {"owner_queue", "route.queue"}, /* route emptied: it goes too */
        {"properties.fax", "lead.fax"},
        {"journey.1.seen", "=yes"},       /* into an existing array element */
        {"consent.gpc", "consent.given"}, /* reads the original: order does not matter */
        {"consent.given", "consent.gpc"},
    };
    json_t *out = mapped(p, map, LE_ARRAY_SIZE(map), true);
    json_t *want = load(contact_payload);
    json_t *lead = json_object_get(want, "lead");
    json_object_del(lead, "email");
    json_object_del(lead, "first_name");
    json_object_del(want, "route");
    json_t *j = json_object_get(want, "journey");
    json_object_del(json_array_get(j, 0), "url");
    json_object_set_new(json_array_get(j, 1), "seen", json_string("yes"));
    json_object_set_new(json_object_get(want, "consent"), "given", json_false());
    json_object_set_new(json_object_get(want, "consent"), "gpc", json_true());
    json_t *props = load("{\"email\":\"ada@acme.example\",\"firstname\":\"Ada\","
                         "\"lifecyclestage\":\"MQL\",\"first_page\":\"https://www.example.com/\","
                         "\"top_rule\":{\"name\":\"pricing page\",\"kind\":\"behaviour\","
                         "\"points\":15.0},\"fax\":null}");
    json_object_set_new(want, "properties", props);
    json_object_set_new(want, "owner_team", json_null());
    json_object_set_new(want, "owner_name", json_null());
    json_object_set_new(want, "owner_id", json_null());
    json_object_set_new(want, "owner_queue", json_null());
    char *w = le_payload_dump(want);
    expect_json(out, w);
    free(w);
    json_decref(want);

    /* a rename onto itself keeps the value; a later pair on the same output wins */
    le_kvconf_t self[] = {{"lead.email", "lead.email"}, {"type", "=first"}, {"type", "=second"}};
    out = mapped(p, self, LE_ARRAY_SIZE(self), true);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "lead"), "email")),
                        "ada@acme.example");
    assert_string_equal(json_string_value(json_object_get(out, "type")), "second");
    json_decref(out);

    /* a value in the way of an output path becomes an object; so does an array without that
     * index */
    le_kvconf_t over[] = {{"id.value", "id"}, {"journey.7.url", "=x"}, {"account.name.x", "=y"}};
    out = mapped(p, over, LE_ARRAY_SIZE(over), true);
    expect_json(json_incref(json_object_get(out, "id")),
                "{\"value\":\"c0ffee00c0ffee00c0ffee00c0ffee00-1\"}");
    expect_json(json_incref(json_object_get(out, "journey")), "{\"7\":{\"url\":\"x\"}}");
    expect_json(json_incref(json_object_get(out, "account")),
                "{\"key\":\"acme\",\"name\":{\"x\":\"y\"},\"domain\":\"acme.example\","
                "\"members\":2,\"behaviour\":80.0,\"mqa\":false}");
    json_decref(out);
    json_decref(p);
}

static void test_paths(void **state) {
    (void)state;
    char deep[64] = "", deeper[80], longest[300], too_long[300];
    for (int i = 0; i < 16; i++) strcat(deep, i ? ".a" : "a");
    snprintf(deeper, sizeof(deeper), "%s.a", deep);
    memset(longest, 'x', 256);
    longest[256] = '\0';
    memset(too_long, 'x', 257);
    too_long[257] = '\0';
    static const char *const good[] = {
        "a", "lead.email", "journey.0.url", "properties.é", "=not-special-here", "a-b_c:d"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(good); i++)
        if (!le_payload_path_ok(good[i], NULL)) fail_msg("%s refused", good[i]);
    assert_true(le_payload_path_ok(deep, NULL));
    assert_true(le_payload_path_ok(longest, NULL));
    static const struct {
        const char *path, *why;
    } bad[] = {
        {"", "empty"},
        {".a", "has an empty segment"},
        {"a.", "has an empty segment"},
        {"a..b", "has an empty segment"},
        {".", "has an empty segment"},
        {"a b", "contains a space or a control character"},
        {"a\tb", "contains a space or a control character"},
        {"a\x7f", "contains a space or a control character"},
        {"a.\xff", "not valid UTF-8"},
        {"\xc3", "not valid UTF-8"},
        {"\xed\xa0\x80", "not valid UTF-8"},
        {"\xc0\xaf", "not valid UTF-8"},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad); i++) {
        const char *why = NULL;
        if (le_payload_path_ok(bad[i].path, &why)) fail_msg("%s accepted", bad[i].path);
        assert_string_equal(why, bad[i].why);
    }
    const char *why = NULL;
    assert_false(le_payload_path_ok(deeper, &why));
    assert_string_equal(why, "deeper than 16 levels");
    assert_false(le_payload_path_ok(too_long, &why));
    assert_string_equal(why, "longer than 256 bytes");
    assert_false(le_payload_path_ok(NULL, NULL));

    /* the map skips pairs with an invalid path, on either side */
    json_t *p = contact_build();
    le_kvconf_t map[] = {
        {"a..b", "lead.email"}, {"ok", "lead..email"}, {"", "=x"},    {"x y", "id"},
        {deeper, "id"},         {"fine", "id"},        {"src", deep},
    };
    expect_json(mapped(p, map, LE_ARRAY_SIZE(map), false),
                "{\"fine\":\"c0ffee00c0ffee00c0ffee00c0ffee00-1\",\"src\":null}");
    json_t *out = mapped(p, map, LE_ARRAY_SIZE(map), true);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "lead"), "email")),
                        "ada@acme.example"); /* its pair was skipped: not removed either */
    assert_null(json_object_get(out, "id"));
    json_decref(out);
    json_decref(p);
}

static void test_dump(void **state) {
    (void)state;
    json_t *o = json_object();
    json_object_set_new(o, "z", json_real(0.1 + 0.2));
    json_object_set_new(o, "a", json_real(55.5));
    json_object_set_new(o, "m", json_integer(3));
    json_object_set_new(o, "s", json_string("é\"/"));
    json_object_set_new(o, "n", json_null());
    char *s = le_payload_dump(o);
    assert_string_equal(s, "{\"z\":0.3,\"a\":55.5,\"m\":3,\"s\":\"é\\\"/\",\"n\":null}");
    free(s);
    json_decref(o);
    json_t *p = contact_build();
    s = le_payload_dump(p);
    assert_null(strchr(s, '\n'));
    assert_null(strstr(s, ": "));
    json_t *back = load(s);
    assert_true(json_equal(back, p));
    json_decref(back);
    free(s);
    json_decref(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact),
        cmocka_unit_test(test_visitor),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_company_fallback),
        cmocka_unit_test(test_journey_trim),
        cmocka_unit_test(test_route_and_escalation),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_map_only_mapped),
        cmocka_unit_test(test_map_keep_unmapped),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
