/*
 * test_engine.c: the scoring engine as a whole (score/engine.c, snapshot.c): a journey of
 * page views and a demo form becomes exactly one MQL; the same journey by a bot, a GPC browser,
 * a competitor or without an e-mail address does not; a second device merges into the contact
 * without counting a `once` rule twice; a flood of visitors stays under limits.max_visitors
 * and never drops a contact's visitor; a snapshot loads to the same state and goes on
 * identically; broken snapshots are refused; the description shows what a user needs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static const char *yaml =
    "scoring:\n"
    "  behaviour:\n"
    "    rules:\n"
    "      - {name: pricing page, when: {event: pageview, url: \"*/pricing*\"}, points: 15, "
    "max_per_day: 1}\n"
    "      - {name: product page, when: {event: pageview, url: \"*/product*\"}, points: 5}\n"
    "      - {name: demo request, when: {event: form, form: demo}, points: 40, once: true}\n"
    "  fit:\n"
    "    rules:\n"
    "      - {name: DACH, when: {country: [DE, AT, CH]}, points: 10}\n"
    "      - {name: business network, when: {network: [business]}, points: 10}\n"
    "      - {name: decision maker, when: {role: [decider]}, points: 15}\n"
    "mql:\n"
    "  behaviour: 50\n"
    "  fit: 20\n"
    "suppress:\n"
    "  competitor_domains: [rival.example]\n"
    "limits:\n"
    "  max_visitors: 1000\n";

static le_config_t *cfg;
static const int64_t T0 = 1795000000000LL;

static le_engine_t *engine(void) {
    le_rules_t *r;
    le_buf_t err = LE_BUF_INIT;
    assert_int_equal(le_rules_build(cfg, &r, &err), 0);
    le_buf_free(&err);
    le_domains_t *fm = le_domains_new(), *dis = le_domains_new();
    assert_int_equal(le_domains_add(fm, le_str("gmail.com")), 0);
    assert_int_equal(le_domains_add(dis, le_str("mailinator.com")), 0);
    return le_engine_new(cfg, r, fm, dis);
}

static int setup(void **state) {
    (void)state;
    le_buf_t err = LE_BUF_INIT;
    if (le_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &err) != 0) {
        fprintf(stderr, "%s", le_buf_cstr(&err));
        return -1;
    }
    le_buf_free(&err);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    le_config_unref(cfg);
    return 0;
}

/* An event of visitor vid (a number made into 32 hex digits) from a DACH business network. */
typedef struct {
    le_event_t ev;
    le_kv_t fields[8];
} evb_t;

/* The id kind base() gives its events (the pixel's decision: consent or not). */
static uint8_t id_kind = LE_ID_COOKIE;

static void base(evb_t *b, unsigned vid, int64_t t) {
    memset(b, 0, sizeof(*b));
    b->ev.time_ms = t;
    b->ev.id_kind = id_kind;
    snprintf(b->ev.id, sizeof(b->ev.id), "%032x", vid);
    b->ev.enriched = true;
    b->ev.x.country_code = le_str("DE");
    b->ev.x.network = LE_NET_BUSINESS;
    b->ev.x.company = le_str("Acme GmbH");
    b->ev.x.company_key = le_str("acme");
    b->ev.x.domain = le_str("acme.example");
    b->ev.x.browser = le_str("Chrome");
}

static le_apply_t pv(le_engine_t *e, unsigned vid, const char *url, int64_t t, bool bot, bool gpc) {
    evb_t b;
    base(&b, vid, t);
    b.ev.type = LE_EV_PAGEVIEW;
    b.ev.name = le_str("pageview");
    b.ev.url = le_str(url);
    b.ev.bot = bot;
    b.ev.gpc = gpc;
    le_apply_t out;
    le_engine_apply(e, &b.ev, &out);
    return out;
}

static le_apply_t demo(le_engine_t *e, unsigned vid, const char *email, int64_t t, bool gpc) {
    evb_t b;
    base(&b, vid, t);
    b.ev.type = LE_EV_FORM;
    b.ev.name = le_str("form");
    b.ev.form_id = le_str("demo");
    b.ev.gpc = gpc;
    uint32_t n = 0;
    if (email) b.fields[n++] = (le_kv_t){le_str("email"), le_str(email)};
    b.fields[n++] = (le_kv_t){le_str("Job-Title"), le_str("Geschäftsführer")};
    b.fields[n++] = (le_kv_t){le_str("phone"), le_str("030 1234567")};
    b.fields[n++] = (le_kv_t){le_str("company"), le_str("ACME GmbH & Co. KG")};
    b.fields[n++] = (le_kv_t){le_str("plz"), le_str("1011")};
    b.ev.fields = b.fields;
    b.ev.nfields = n;
    le_apply_t out;
    le_engine_apply(e, &b.ev, &out);
    return out;
}

/* pricing, product, demo form: 15 + 5 + 40 = 60 behaviour, 10 + 10 (+15 decider) fit. */
static int journey(le_engine_t *e, unsigned vid, const char *email, bool bot, bool gpc) {
    int mqls = 0;
    mqls += pv(e, vid, "https://x.example/pricing", T0, bot, gpc).mql;
    mqls += pv(e, vid, "https://x.example/product/a", T0 + 60000, bot, gpc).mql;
    mqls += demo(e, vid, email, T0 + 120000, gpc).mql;
    mqls += pv(e, vid, "https://x.example/thanks", T0 + 180000, bot, gpc).mql;
    mqls += pv(e, vid, "https://x.example/product/b", T0 + 240000, bot, gpc).mql;
    return mqls;
}

static void test_journey_one_mql(void **state) {
    (void)state;
    le_engine_t *e = engine();
    le_apply_t a = pv(e, 1, "https://x.example/pricing", T0, false, false);
    assert_true(a.new_visitor);
    assert_int_equal(a.nfired, 1);
    assert_false(a.mql);
    a = pv(e, 1, "https://x.example/product/a", T0 + 60000, false, false);
    a = demo(e, 1, "  Jane.Doe@ACME.example ", T0 + 120000, false);
    assert_true(a.linked);
    assert_true(a.mql);
    assert_float_equal(a.behaviour, 60.0, 0.1);
    assert_int_equal(a.fit, 35);
    a = pv(e, 1, "https://x.example/product/b", T0 + 180000, false, false);
    assert_false(a.mql); /* once per lead */
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.mqls, 1);
    assert_int_equal(st.contacts, 1);
    assert_int_equal(st.accounts, 1);

    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(e, "Jane.Doe@ACME.example", (uint32_t)(T0 / 1000), &out),
                     0);
    const char *j = le_buf_cstr(&out);
    assert_non_null(strstr(j, "\"kind\":\"contact\""));
    assert_non_null(strstr(j, "\"email\":\"Jane.Doe@acme.example\""));
    assert_non_null(strstr(j, "\"rule\":\"demo request\""));
    assert_non_null(strstr(j, "\"role\":\"decider\""));
    assert_non_null(strstr(j, "\"phone\":\"+49301234567\""));
    assert_non_null(strstr(j, "\"grade\":\"B\""));
    assert_non_null(strstr(j, "\"mql\":true"));
    assert_non_null(strstr(j, "\"quality\":[\"bad_postal\"]")); /* 1011 is not a German PLZ */
    assert_non_null(strstr(j, "\"key\":\"acme\""));
    /* the contact's history starts with the visitor's first page view, not with the form */
    assert_non_null(strstr(j, "\"first_seen\":1795000000,"));
    /* the visitor id finds its contact too */
    le_buf_reset(&out);
    char vid[33];
    snprintf(vid, sizeof(vid), "%032x", 1);
    assert_int_equal(le_engine_describe(e, vid, 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"kind\":\"contact\""));
    le_buf_reset(&out);
    assert_int_equal(le_engine_describe(e, "nobody@acme.example", 0, &out), -ENOENT);
    /* the local part keeps its case as typed, but matches without it: one person */
    le_buf_reset(&out);
    assert_int_equal(le_engine_describe(e, "jane.doe@acme.example", 0, &out), 0);
    a = demo(e, 2, "JANE.DOE@Acme.Example", T0 + 240000, false);
    assert_true(a.linked);
    le_engine_stats(e, &st);
    assert_int_equal(st.contacts, 1);
    le_buf_free(&out);
    le_engine_free(e);
}

static void test_suppressed_journeys(void **state) {
    (void)state;
    le_engine_t *e = engine();
    assert_int_equal(journey(e, 10, "bot@acme.example", true, false), 0);
    assert_int_equal(journey(e, 11, "gpc@acme.example", false, true), 0);
    assert_int_equal(journey(e, 12, "spy@rival.example", false, false), 0);
    assert_int_equal(journey(e, 13, NULL, false, false), 0); /* no contact */
    assert_int_equal(journey(e, 14, "not-an-address", false, false), 0);
    assert_int_equal(journey(e, 15, "real@acme.example", false, false), 1);
    /* staff: seen from an office network (the pixel decides on the full address) */
    evb_t b;
    base(&b, 16, T0);
    b.ev.type = LE_EV_PAGEVIEW;
    b.ev.name = le_str("pageview");
    b.ev.url = le_str("https://x.example/pricing");
    b.ev.staff = true;
    le_apply_t sa;
    le_engine_apply(e, &b.ev, &sa);
    assert_int_equal(sa.suppress, LE_SUP_STAFF);
    assert_int_equal(journey(e, 16, "colleague@acme.example", false, false), 0);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(e, "colleague@acme.example", 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"suppressed\":[\"staff\"]"));
    le_buf_reset(&out);
    assert_int_equal(le_engine_describe(e, "spy@rival.example", 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"suppressed\":[\"competitor\"]"));
    assert_non_null(strstr(le_buf_cstr(&out), "\"mql\":false"));
    le_buf_reset(&out);
    assert_int_equal(le_engine_describe(e, "bot@acme.example", 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"suppressed\":[\"bot\"]"));
    le_buf_free(&out);
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.bad_emails, 1);
    le_engine_free(e);
}

/* A form with one name field: the last word is the family name; first/last fields win. */
static void test_full_name_field(void **state) {
    (void)state;
    le_engine_t *e = engine();
    struct {
        const char *email, *k1, *v1, *k2, *v2, *want;
    } cases[] = {
        {"g@acme.example", "name", "  Grace Brewster Hopper ", NULL, NULL,
         "\"first_name\":\"Grace Brewster\",\"last_name\":\"Hopper\""},
        {"c@acme.example", "Full-Name", "Cher", NULL, NULL,
         "\"first_name\":\"Cher\",\"last_name\":null"},
        {"a@acme.example", "name", "Ada King", "first_name", "Ada",
         "\"first_name\":\"Ada\",\"last_name\":null"},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        evb_t b;
        base(&b, 40 + (unsigned)i, T0);
        b.ev.type = LE_EV_FORM;
        b.ev.name = le_str("form");
        b.ev.form_id = le_str("demo");
        uint32_t n = 0;
        b.fields[n++] = (le_kv_t){le_str("email"), le_str(cases[i].email)};
        b.fields[n++] = (le_kv_t){le_str(cases[i].k1), le_str(cases[i].v1)};
        if (cases[i].k2) b.fields[n++] = (le_kv_t){le_str(cases[i].k2), le_str(cases[i].v2)};
        b.ev.fields = b.fields;
        b.ev.nfields = n;
        le_apply_t out;
        le_engine_apply(e, &b.ev, &out);
        assert_true(out.linked);
        le_buf_t j = LE_BUF_INIT;
        assert_int_equal(le_engine_describe(e, cases[i].email, 0, &j), 0);
        if (!strstr(le_buf_cstr(&j), cases[i].want))
            fail_msg("%s in %s", cases[i].want, le_buf_cstr(&j));
        le_buf_free(&j);
    }
    le_engine_free(e);
}

/* Without consent (or with an opt-out) the pixel keeps events under a cookieless id: a form
 * from one names nobody, links nothing, and makes no MQL, however good the journey. */
static void test_cookieless_never_identified(void **state) {
    (void)state;
    le_engine_t *e = engine();
    id_kind = LE_ID_COOKIELESS;
    le_apply_t a = pv(e, 20, "https://x.example/pricing", T0, false, false);
    a = pv(e, 20, "https://x.example/product/a", T0 + 60000, false, false);
    a = demo(e, 20, "anon@acme.example", T0 + 120000, false);
    assert_false(a.linked);
    assert_false(a.mql);
    assert_float_equal(a.behaviour, 60.0, 0.1); /* the anonymous visitor still scores */
    assert_int_equal(journey(e, 21, "anon2@acme.example", false, false), 0);
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.contacts, 0);
    assert_int_equal(st.mqls, 0);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(e, "anon@acme.example", 0, &out), -ENOENT);
    /* the same person with consent is identified at once */
    id_kind = LE_ID_COOKIE;
    assert_int_equal(journey(e, 22, "anon@acme.example", false, false), 1);
    assert_int_equal(le_engine_describe(e, "anon@acme.example", 0, &out), 0);
    le_buf_free(&out);
    le_engine_free(e);
}

static void test_second_device_merges(void **state) {
    (void)state;
    le_engine_t *e = engine();
    /* device 1 asks for a demo; device 2 does too, with the same address in other case */
    demo(e, 21, "max@acme.example", T0, false);
    pv(e, 22, "https://x.example/pricing", T0 + 1000, false, false);
    le_apply_t a = demo(e, 22, "MAX@ACME.EXAMPLE", T0 + 2000, false);
    assert_true(a.linked);
    assert_true(a.merged); /* the local part keeps its case as typed but matches without it */
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.contacts, 1);
    le_engine_free(e);

    e = engine();
    demo(e, 21, "max@acme.example", T0, false);
    pv(e, 22, "https://x.example/pricing", T0 + 1000, false, false);
    a = demo(e, 22, "max@ACME.example", T0 + 2000, false);
    assert_true(a.merged);
    assert_float_equal(a.behaviour, 55.0, 0.1); /* 40 once, not twice, + 15 pricing */
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(e, "max@acme.example", 0, &out), 0);
    const char *j = le_buf_cstr(&out);
    char v1[33], v2[33];
    snprintf(v1, sizeof(v1), "%032x", 21);
    snprintf(v2, sizeof(v2), "%032x", 22);
    assert_non_null(strstr(j, v1));
    assert_non_null(strstr(j, v2));
    le_buf_free(&out);
    le_engine_free(e);
}

static void test_flood_stays_bounded(void **state) {
    (void)state;
    le_engine_t *e = engine();
    journey(e, 1, "keep@acme.example", false, false);
    for (unsigned i = 0; i < 20000; i++)
        pv(e, 1000 + i, "https://x.example/", T0 + 1000000 + i * 1000LL, false, false);
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_true(st.visitors <= 1000);
    assert_true(st.evicted >= 19000);
    /* the contact's visitor is still there */
    char vid[33];
    snprintf(vid, sizeof(vid), "%032x", 1);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(e, vid, 0, &out), 0);
    /* the most recent visitors survive, the oldest anonymous ones went first */
    le_buf_reset(&out);
    snprintf(vid, sizeof(vid), "%032x", 1000 + 19999);
    assert_int_equal(le_engine_describe(e, vid, 0, &out), 0);
    le_buf_reset(&out);
    snprintf(vid, sizeof(vid), "%032x", 1000);
    assert_int_equal(le_engine_describe(e, vid, 0, &out), -ENOENT);
    le_buf_free(&out);
    le_engine_free(e);
}

static void test_snapshot_round_trip(void **state) {
    (void)state;
    le_engine_t *a = engine(), *b = engine();
    for (unsigned i = 0; i < 30; i++)
        journey(a, 100 + i, i % 3 ? NULL : "x@acme.example", i == 7, false);
    for (unsigned i = 0; i < 3000; i++)
        pv(a, 5000 + i, "https://x.example/product", T0 + 5000000 + i * 10LL, false, false);
    le_buf_t s1 = LE_BUF_INIT, s2 = LE_BUF_INIT;
    le_engine_save(a, &s1);
    const char *why = NULL;
    assert_int_equal(le_engine_load(b, s1.data, s1.len, &why), 0);
    le_engine_save(b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len);
    /* both go on the same way, evictions included */
    for (unsigned i = 0; i < 2000; i++) {
        pv(a, 9000 + i, "https://x.example/pricing", T0 + 9000000 + i * 10LL, false, false);
        pv(b, 9000 + i, "https://x.example/pricing", T0 + 9000000 + i * 10LL, false, false);
    }
    journey(a, 120, "y@acme.example", false, false);
    journey(b, 120, "y@acme.example", false, false);
    le_buf_reset(&s1);
    le_buf_reset(&s2);
    le_engine_save(a, &s1);
    le_engine_save(b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len);

    /* broken snapshots are refused and leave an empty engine */
    for (size_t cut = 1; cut < s1.len; cut += s1.len / 97 + 1) {
        assert_int_equal(le_engine_load(b, s1.data, cut, &why), LE_ECORRUPT);
        assert_non_null(why);
    }
    char *bad = malloc(s1.len);
    memcpy(bad, s1.data, s1.len);
    bad[3] ^= 0x55;
    (void)le_engine_load(b, bad, s1.len, &why); /* must not crash; may fail */
    free(bad);
    le_engine_stats_t st;
    assert_int_equal(le_engine_load(b, "\x80", 1, &why), LE_ECORRUPT);
    le_engine_stats(b, &st);
    assert_int_equal(st.visitors, 0);
    assert_int_equal(st.contacts, 0);
    le_buf_free(&s1);
    le_buf_free(&s2);
    le_engine_free(a);
    le_engine_free(b);
}

/* Accounts: members add up; an MQA needs enough engaged contacts covering enough roles. */
static void test_accounts_and_mqa(void **state) {
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text),
             "%smql:\n  account:\n    members: 2\n    roles: 2\n    engaged: 30\n", yaml);
    /* the file's own mql: block comes first; a second one would be a duplicate key */
    char *m = strstr(text, "mql:\n  behaviour: 50\n  fit: 20\n");
    assert_non_null(m);
    memmove(m, m + strlen("mql:\n  behaviour: 50\n  fit: 20\n"),
            strlen(m + strlen("mql:\n  behaviour: 50\n  fit: 20\n")) + 1);
    le_config_t *saved = cfg;
    le_buf_t err = LE_BUF_INIT;
    if (le_config_load_string("t.yaml", text, strlen(text), &cfg, &err) != 0)
        fail_msg("%s", le_buf_cstr(&err));
    le_buf_free(&err);
    le_engine_t *e = engine();
    /* two anonymous visitors of acme: the account sums them */
    pv(e, 31, "https://x.example/pricing", T0, false, false);
    pv(e, 32, "https://x.example/pricing", T0 + 1000, false, false);
    le_buf_t out = LE_BUF_INIT;
    char v[33];
    snprintf(v, sizeof(v), "%032x", 32);
    assert_int_equal(le_engine_describe(e, v, (uint32_t)(T0 / 1000) + 1, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"members\":2"));
    assert_non_null(strstr(le_buf_cstr(&out), "\"behaviour\":30.0"));
    /* a decider engaged: not yet (one member) */
    le_apply_t a = demo(e, 33, "ceo@acme.example", T0 + 2000, false);
    assert_false(a.mqa);
    /* a second engaged contact with the same role: still one role */
    a = demo(e, 34, "cto@acme.example", T0 + 3000, false);
    assert_false(a.mqa);
    /* a buyer: two roles, three engaged members: MQA, once */
    evb_t b;
    base(&b, 35, T0 + 4000);
    b.ev.type = LE_EV_FORM;
    b.ev.name = le_str("form");
    b.ev.form_id = le_str("demo");
    b.fields[0] = (le_kv_t){le_str("email"), le_str("einkauf@acme.example")};
    b.fields[1] = (le_kv_t){le_str("position"), le_str("Leiterin Einkauf")};
    b.ev.fields = b.fields;
    b.ev.nfields = 2;
    le_engine_apply(e, &b.ev, &a);
    assert_true(a.mqa);
    a = pv(e, 35, "https://x.example/pricing", T0 + 5000, false, false);
    assert_false(a.mqa);
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.mqas, 1);
    assert_int_equal(st.accounts, 1);
    le_buf_free(&out);
    le_engine_free(e);
    le_config_unref(cfg);
    cfg = saved;
}

/* A snapshot loaded under changed rules: parts follow their rule by name; a removed rule's
 * part goes, its points stay. */
static void test_snapshot_under_changed_rules(void **state) {
    (void)state;
    le_engine_t *a = engine();
    journey(a, 70, "x@acme.example", false, false); /* pricing, product x2, demo */
    le_buf_t snap = LE_BUF_INIT;
    le_engine_save(a, &snap);
    le_engine_free(a);

    static const char *changed =
        "scoring:\n"
        "  behaviour:\n"
        "    rules:\n"
        "      - {name: demo request, when: {event: form, form: demo}, points: 40, once: true}\n"
        "      - {name: new rule, when: {event: pageview, url: \"*/new*\"}, points: 1}\n"
        "      - {name: pricing page, when: {event: pageview, url: \"*/pricing*\"}, points: 15}\n"
        "  fit:\n"
        "    rules:\n"
        "      - {name: DACH, when: {country: [DE, AT, CH]}, points: 10}\n";
    le_config_t *saved = cfg;
    le_buf_t err = LE_BUF_INIT;
    assert_int_equal(le_config_load_string("t.yaml", changed, strlen(changed), &cfg, &err), 0);
    le_engine_t *b = engine();
    const char *why = NULL;
    assert_int_equal(le_engine_load(b, snap.data, snap.len, &why), 0);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(b, "x@acme.example", (uint32_t)(T0 / 1000) + 240, &out), 0);
    const char *j = le_buf_cstr(&out);
    assert_non_null(strstr(j, "\"rule\":\"demo request\""));
    assert_non_null(strstr(j, "\"rule\":\"pricing page\""));
    assert_null(strstr(j, "product page")); /* gone from the config */
    assert_null(strstr(j, "new rule"));     /* never fired */
    /* 15 + 5 + 5 + 40 (decayed by four minutes): the points of the removed rule stay */
    if (!strstr(j, "\"behaviour\":64.99")) fail_msg("%s", j);
    /* the account counts the contact once (the visitor it absorbed is not a member apart) */
    if (!strstr(j, "\"members\":1,\"behaviour\":64.99")) fail_msg("%s", j);
    /* once still holds under the new index */
    le_apply_t r = demo(b, 70, "x@acme.example", T0 + 300000, false);
    assert_int_equal(r.nfired, 0);
    le_buf_free(&out);
    le_buf_free(&err);
    le_buf_free(&snap);
    le_engine_free(b);
    le_config_unref(cfg);
    cfg = saved;
}

static le_apply_t status(le_engine_t *e, const char *lead, const char *stage, int64_t t,
                         const char *bant, const char *reason) {
    le_event_t ev;
    le_kv_t props[2];
    memset(&ev, 0, sizeof(ev));
    ev.type = LE_EV_STATUS;
    ev.source = LE_SRC_ADMIN;
    ev.time_ms = t;
    snprintf(ev.id, sizeof(ev.id), "%s", lead);
    ev.name = le_str(stage);
    if (bant) props[ev.nprops++] = (le_kv_t){le_str("bant"), le_str(bant)};
    if (reason) props[ev.nprops++] = (le_kv_t){le_str("reason"), le_str(reason)};
    ev.props = props;
    le_apply_t out;
    le_engine_apply(e, &ev, &out);
    return out;
}

static le_apply_t erase(le_engine_t *e, const char *id, int64_t t) {
    le_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LE_EV_ERASE;
    ev.source = LE_SRC_ADMIN;
    ev.time_ms = t;
    snprintf(ev.id, sizeof(ev.id), "%s", id);
    le_apply_t out;
    le_engine_apply(e, &ev, &out);
    return out;
}

/* Stage updates, BANT, the SLA breach mark, recycling with its cool-down, the funnel, and a
 * snapshot that keeps all of it. */
static void test_lifecycle_and_funnel(void **state) {
    (void)state;
    le_engine_t *e = engine();
    char lead[4][33];
    for (unsigned i = 0; i < 4; i++) {
        char email[64];
        snprintf(email, sizeof(email), "p%u@acme.example", i);
        pv(e, 10 + i, "https://x.example/pricing", T0, false, false);
        pv(e, 10 + i, "https://x.example/product/a", T0 + 60000, false, false);
        le_apply_t a = demo(e, 10 + i, email, T0 + 120000, false);
        assert_true(a.mql);
        assert_int_equal(a.cycle, 1);
        memcpy(lead[i], a.lead, 33);
    }
    le_stage_t st;
    uint32_t cycle, mql_at;
    assert_int_equal(le_engine_stage(e, lead[0], &st, &cycle, &mql_at), 0);
    assert_int_equal(st, LE_STAGE_MQL);
    assert_int_equal(cycle, 1);
    assert_int_equal(mql_at, (uint32_t)((T0 + 120000) / 1000));

    /* lead 0: accepted after 10 minutes, TQL with BANT, won; lead 1 accepted after 30 min;
     * lead 2 breached, then rejected; lead 3 untouched */
    int64_t m = T0 + 120000;
    assert_true(status(e, lead[0], "TAL", m + 600000, NULL, NULL).status);
    assert_true(status(e, lead[0], "tql", m + 700000, "budget, need", NULL).status);
    assert_true(status(e, lead[0], "won", m + 800000, NULL, NULL).status);
    assert_true(status(e, lead[1], "accepted", m + 1800000, NULL, NULL).status);
    assert_true(status(e, lead[2], "breach", m + 3600000, NULL, NULL).breach);
    assert_false(status(e, lead[2], "breach", m + 3700000, NULL, NULL).breach); /* once */
    assert_true(status(e, lead[2], "rejected", m + 3800000, NULL, "no budget").status);
    assert_true(status(e, "ffffffffffffffffffffffffffffffff", "sal", m, NULL, NULL).unknown_lead);
    assert_true(status(e, lead[3], "promoted", m, NULL, NULL).unknown_lead);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(e, lead[0], 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"stage\":\"won\""));
    assert_non_null(strstr(le_buf_cstr(&out), "\"bant\":[\"budget\",\"need\"]"));
    assert_non_null(strstr(le_buf_cstr(&out), "\"journey\":[{\"url\":\"https://x.example/"));
    assert_non_null(strstr(le_buf_cstr(&out), "\"company_key\":\"acme\""));
    le_buf_reset(&out);
    assert_int_equal(le_engine_describe(e, lead[2], 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"reason\":\"no budget\""));
    assert_non_null(strstr(le_buf_cstr(&out), "\"sla_breached\":true"));

    le_buf_reset(&out);
    uint32_t from = (uint32_t)(T0 / 1000), to = from + 86400;
    le_engine_funnel(e, from, to, &out);
    const char *f = le_buf_cstr(&out);
    assert_non_null(strstr(f, "\"cohort\":{\"mql\":4,\"accepted\":2,\"tql\":1,\"sal\":1,\"sql\":1,"
                              "\"won\":1,\"lost\":0,\"recycled\":0,\"rejected\":1,\"breach\":1}"));
    assert_non_null(strstr(f, "\"mql_to_accepted\":0.5"));
    assert_non_null(strstr(f, "\"time_to_accept\":{\"n\":2,\"median_s\":600,\"p90_s\":1800}"));
    assert_non_null(strstr(f, "\"sla_breaches\":1"));
    le_buf_reset(&out);
    le_engine_funnel(e, to, to + 86400, &out); /* nothing then */
    assert_non_null(strstr(le_buf_cstr(&out), "\"cohort\":{\"mql\":0"));

    le_buf_reset(&out);
    le_engine_leads(e, LE_STAGE_MQL, 100, to, &out);
    assert_non_null(strstr(le_buf_cstr(&out), lead[3]));
    assert_null(strstr(le_buf_cstr(&out), lead[0]));

    /* recycled: a new MQL (cycle 2) only after mql.recycle_cooldown (30 days by default) */
    assert_true(status(e, lead[1], "recycled", m + 86400000, NULL, NULL).status);
    int64_t later = m + 86400000 + 3600000;
    assert_false(pv(e, 11, "https://x.example/pricing", later, false, false).mql);
    later = m + 86400000 + 31LL * 86400000;
    le_apply_t a = {0};
    for (int i = 0; i < 6 && !a.mql; i++) /* the score decayed over a month: earn it again */
        a = pv(e, 11, "https://x.example/pricing", later + i * 86400000LL, false, false);
    assert_true(a.mql);
    assert_int_equal(a.cycle, 2);
    assert_false(pv(e, 11, "https://x.example/pricing", later + 9 * 86400000LL, false, false).mql);

    /* a snapshot keeps the lifecycle */
    le_engine_t *b = engine();
    le_buf_t s1 = LE_BUF_INIT, s2 = LE_BUF_INIT;
    le_engine_save(e, &s1);
    const char *why = NULL;
    assert_int_equal(le_engine_load(b, s1.data, s1.len, &why), 0);
    le_engine_save(b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len);
    le_buf_reset(&out);
    le_engine_funnel(b, from, to, &out);
    assert_non_null(strstr(le_buf_cstr(&out), "\"sla_breaches\":1"));
    le_buf_free(&s1);
    le_buf_free(&s2);
    le_buf_free(&out);
    le_engine_free(b);
    le_engine_free(e);
}

/* Erasure: a contact goes with its visitors and its place in the account; another contact
 * keeps working (it may have moved into the erased one's slot); a visitor id of a linked
 * visitor erases the whole person; an unknown id is reported. */
static void test_erase(void **state) {
    (void)state;
    le_engine_t *e = engine();
    journey(e, 1, "a@acme.example", false, false);
    journey(e, 2, "b@acme.example", false, false);
    pv(e, 3, "https://x.example/product", T0, false, false); /* a second device of b */
    demo(e, 3, "b@acme.example", T0 + 1000, false);
    journey(e, 4, "c@acme.example", false, false);
    pv(e, 5, "https://x.example/pricing", T0, false, false); /* anonymous */
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.contacts, 3);
    assert_int_equal(st.visitors, 5);

    char bid[33];
    bool is_contact;
    assert_int_equal(le_engine_resolve(e, "b@acme.example", bid, &is_contact), 0);
    assert_true(is_contact);
    char v3[33];
    snprintf(v3, sizeof(v3), "%032x", 3);
    le_apply_t a = erase(e, v3, T0 + 9000); /* b's second device: b goes whole */
    assert_true(a.erased);
    assert_string_equal(a.lead, bid);
    assert_int_equal(a.nerased_vids, 2);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_engine_describe(e, "b@acme.example", 0, &out), -ENOENT);
    char v2[33];
    snprintf(v2, sizeof(v2), "%032x", 2);
    assert_int_equal(le_engine_describe(e, v2, 0, &out), -ENOENT);
    /* c moved into b's slot and still works */
    assert_int_equal(le_engine_describe(e, "c@acme.example", 0, &out), 0);
    le_buf_reset(&out);
    pv(e, 4, "https://x.example/pricing", T0 + 86400000LL * 2, false, false);
    char v4[33];
    snprintf(v4, sizeof(v4), "%032x", 4);
    assert_int_equal(le_engine_describe(e, v4, 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "c@acme.example"));
    le_engine_stats(e, &st);
    assert_int_equal(st.contacts, 2);
    assert_int_equal(st.visitors, 3);
    /* anonymous visitor */
    char v5[33];
    snprintf(v5, sizeof(v5), "%032x", 5);
    a = erase(e, v5, T0 + 9000);
    assert_true(a.erased);
    assert_int_equal(a.nerased_vids, 1);
    assert_true(erase(e, v5, T0 + 9000).unknown_lead);
    /* the same address comes back as a new contact, with nothing of the old one */
    a = demo(e, 9, "b@acme.example", T0 + 86400000LL * 3, false);
    assert_true(a.linked);
    le_buf_reset(&out);
    assert_int_equal(le_engine_describe(e, "b@acme.example", 0, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out),
                           "\"visitors\":[{\"visitor\":\"00000000000000000000000000000009\""));
    /* snapshot after erasures loads */
    le_engine_t *b = engine();
    le_buf_t s1 = LE_BUF_INIT;
    le_engine_save(e, &s1);
    const char *why = NULL;
    assert_int_equal(le_engine_load(b, s1.data, s1.len, &why), 0);
    le_buf_free(&s1);
    le_buf_free(&out);
    le_engine_free(b);
    le_engine_free(e);
}

/* A visitor id is its 32 hex digits in either case; any other id (a non-hex byte anywhere,
 * one digit more or less) is a visitor of its own, hashed. The lead id shows the bytes in
 * lower-case hex. */
static void test_visitor_ids(void **state) {
    (void)state;
    le_engine_t *e = engine();
    static const char *const same[] = {"0123456789abcdef0123456789ABCDEF",
                                       "0123456789ABCDEF0123456789abcdef",
                                       "0123456789aBcDeF0123456789AbCdEf"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(same); i++) {
        evb_t b;
        base(&b, 0, T0 + (int64_t)i * 1000);
        snprintf(b.ev.id, sizeof(b.ev.id), "%s", same[i]);
        b.ev.type = LE_EV_PAGEVIEW;
        b.ev.name = le_str("pageview");
        le_apply_t out;
        le_engine_apply(e, &b.ev, &out);
        assert_int_equal(out.new_visitor, i == 0);
        assert_string_equal(out.lead, "0123456789abcdef0123456789abcdef");
    }
    /* each differs from a hex id at one place: a new visitor each time, and twice the same */
    for (int pos = 0; pos < 33; pos++) {
        for (int round = 0; round < 2; round++) {
            evb_t b;
            base(&b, 0, T0 + 10000 + pos * 10 + round);
            snprintf(b.ev.id, sizeof(b.ev.id), "%s", "0123456789abcdef0123456789abcdef");
            if (pos < 32)
                b.ev.id[pos] = "g/:@`G \x7f"[pos % 8]; /* just outside the digits' ranges */
            else
                b.ev.id[31] = '\0'; /* 31 digits */
            b.ev.type = LE_EV_PAGEVIEW;
            b.ev.name = le_str("pageview");
            le_apply_t out;
            le_engine_apply(e, &b.ev, &out);
            assert_int_equal(out.new_visitor, round == 0);
            assert_string_not_equal(out.lead, "0123456789abcdef0123456789abcdef");
        }
    }
    le_engine_stats_t st;
    le_engine_stats(e, &st);
    assert_int_equal(st.visitors, 1 + 33);
    le_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journey_one_mql),
        cmocka_unit_test(test_lifecycle_and_funnel),
        cmocka_unit_test(test_erase),
        cmocka_unit_test(test_suppressed_journeys),
        cmocka_unit_test(test_cookieless_never_identified),
        cmocka_unit_test(test_full_name_field),
        cmocka_unit_test(test_second_device_merges),
        cmocka_unit_test(test_flood_stays_bounded),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_visitor_ids),
        cmocka_unit_test(test_accounts_and_mqa),
        cmocka_unit_test(test_snapshot_under_changed_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
