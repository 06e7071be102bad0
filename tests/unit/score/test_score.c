/*
 * test_score.c: scoring rules from the config (score/rules.c) and one lead's scores
 * (score/lead.c): rule matching on every kind of condition, decay, once, max_per_day, negative
 * points, fit recomputation, merging two visitors of one contact, grades, bands, the MQL
 * criterion (thresholds and matrix), domain suppression, and the config's rule errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lead.h"
#include "rules.h"

static const char *yaml = "scoring:\n"
                          "  behaviour:\n"
                          "    half_life: 14d\n"
                          "    rules:\n"
                          "      - name: pricing page\n"
                          "        when: { event: pageview, url: \"*/pricing*\" }\n"
                          "        points: 15\n"
                          "        max_per_day: 1\n"
                          "      - name: careers page\n"
                          "        when: { event: pageview, url: \"*/careers*\" }\n"
                          "        points: -20\n"
                          "      - name: demo request\n"
                          "        when: { event: form, form: demo }\n"
                          "        points: 40\n"
                          "        once: true\n"
                          "      - name: newsletter visit\n"
                          "        when: { utm_medium: email, ref: { regex: "
                          "\"^https://(www\\\\.)?example\\\\.com/\" } }\n"
                          "        points: 3\n"
                          "      - name: enterprise plan\n"
                          "        when: { prop.plan: [enterprise, corporate] }\n"
                          "        points: 7\n"
                          "  fit:\n"
                          "    rules:\n"
                          "      - name: DACH\n"
                          "        when: { country: [DE, AT, CH] }\n"
                          "        points: 10\n"
                          "      - name: business network\n"
                          "        when: { network: [business, government, education] }\n"
                          "        points: 10\n"
                          "      - name: decision maker\n"
                          "        when: { role: [decider] }\n"
                          "        points: 15\n"
                          "      - name: freemail\n"
                          "        when: { email_domain: freemail }\n"
                          "        points: -15\n"
                          "      - name: mid-size\n"
                          "        when: { company_size: { min: 50, max: 999 } }\n"
                          "        points: 5\n"
                          "      - name: german speaker at acme\n"
                          "        when: { language: de, company: \"ACME GmbH\" }\n"
                          "        points: 8\n"
                          "mql:\n"
                          "  behaviour: 50\n"
                          "  fit: 20\n"
                          "suppress:\n"
                          "  competitor_domains: [rival.example]\n"
                          "  customer_domains: [client.example]\n"
                          "  staff_domains: [us.example]\n";

static le_config_t *cfg;
static le_rules_t *rules;
static const double HL = 14 * 86400.0;
static const int64_t T0 = 1795000000000LL; /* an event time, Unix ms */

static le_config_t *load(const char *text, le_buf_t *err) {
    le_config_t *c = NULL;
    le_config_load_string("t.yaml", text, strlen(text), &c, err);
    return c;
}

static int setup(void **state) {
    (void)state;
    le_buf_t err = LE_BUF_INIT;
    cfg = load(yaml, &err);
    if (!cfg) {
        fprintf(stderr, "%s", le_buf_cstr(&err));
        return -1;
    }
    if (le_rules_build(cfg, &rules, &err) != 0) {
        fprintf(stderr, "%s", le_buf_cstr(&err));
        return -1;
    }
    le_buf_free(&err);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    le_rules_free(rules);
    le_config_unref(cfg);
    return 0;
}

static le_event_t pageview(const char *url, int64_t t) {
    le_event_t ev = {.time_ms = t, .type = LE_EV_PAGEVIEW};
    ev.name = le_str("pageview");
    ev.url = le_str(url);
    return ev;
}

static le_event_t form(const char *id, int64_t t) {
    le_event_t ev = {.time_ms = t, .type = LE_EV_FORM};
    ev.name = le_str("form");
    ev.form_id = le_str(id);
    return ev;
}

static void test_behaviour_matching(void **state) {
    (void)state;
    le_event_t ev = pageview("https://www.example.com/en/pricing?x=1", T0);
    assert_true(le_rules_behaviour_match(rules, 0, &ev));
    assert_false(le_rules_behaviour_match(rules, 1, &ev));
    ev.url = le_str("https://www.example.com/EN/PRICING"); /* globs ignore case */
    assert_true(le_rules_behaviour_match(rules, 0, &ev));
    ev.name = le_str("click");
    assert_false(le_rules_behaviour_match(rules, 0, &ev));
    ev = form("demo", T0);
    assert_true(le_rules_behaviour_match(rules, 2, &ev));
    ev.form_id = le_str("newsletter");
    assert_false(le_rules_behaviour_match(rules, 2, &ev));
    ev.form_id = LE_STR_NULL; /* absent never matches */
    assert_false(le_rules_behaviour_match(rules, 2, &ev));

    /* utm from the URL's query (decoded), referrer by regex */
    ev = pageview("https://x.example/a?utm_source=nl&utm_medium=e%6dail#top", T0);
    ev.ref = le_str("https://example.com/blog");
    assert_true(le_rules_behaviour_match(rules, 3, &ev));
    ev.ref = le_str("https://evil.example/https://example.com/");
    assert_false(le_rules_behaviour_match(rules, 3, &ev));
    ev.ref = le_str("https://www.example.com/");
    ev.url = le_str("https://x.example/a?utm_medium=social");
    assert_false(le_rules_behaviour_match(rules, 3, &ev));
    ev.url = le_str("https://x.example/a#utm_medium=email");
    assert_false(le_rules_behaviour_match(rules, 3, &ev));
    /* a later view of a single-page app: the landing page's utm_* come as properties */
    le_kv_t utm[1] = {{le_str("utm_medium"), le_str("email")}};
    ev.props = utm;
    ev.nprops = 1;
    assert_true(le_rules_behaviour_match(rules, 3, &ev));
    ev.url = le_str("https://x.example/a?utm_medium=social"); /* the URL's own utm_* win */
    assert_false(le_rules_behaviour_match(rules, 3, &ev));
    ev.nprops = 0;

    /* custom props */
    le_kv_t props[2] = {{le_str("tier"), le_str("x")}, {le_str("plan"), le_str("Corporate")}};
    ev = pageview("https://x.example/", T0);
    ev.props = props;
    ev.nprops = 2;
    assert_true(le_rules_behaviour_match(rules, 4, &ev));
    props[1].val = le_str("free");
    assert_false(le_rules_behaviour_match(rules, 4, &ev));
}

static void test_fit_matching(void **state) {
    (void)state;
    le_enrichment_t x = {0};
    x.country_code = le_str("AT");
    x.network = LE_NET_BUSINESS;
    x.language = le_str("de-AT");
    x.company = le_str("Acme GmbH & Co. KG");
    x.company_key = le_str("acme");
    le_fit_facts_t f = {.x = &x, .email_kind = -1, .company_size = -1, .company_match = -1};
    assert_true(le_rules_fit_match(rules, 0, &f));
    assert_true(le_rules_fit_match(rules, 1, &f));
    assert_false(le_rules_fit_match(rules, 2, &f)); /* role unknown */
    assert_false(le_rules_fit_match(rules, 3, &f)); /* no e-mail */
    assert_false(le_rules_fit_match(rules, 4, &f)); /* size unknown */
    assert_true(le_rules_fit_match(rules, 5, &f));  /* "de" covers de-AT; same company key */
    x.language = le_str("en-GB");
    assert_false(le_rules_fit_match(rules, 5, &f));
    x.country_code = le_str("FR");
    x.network = LE_NET_ISP;
    assert_false(le_rules_fit_match(rules, 0, &f));
    assert_false(le_rules_fit_match(rules, 1, &f));
    f.role = 1; /* decider */
    f.email_kind = 1;
    f.company_size = 50;
    assert_true(le_rules_fit_match(rules, 2, &f));
    assert_true(le_rules_fit_match(rules, 3, &f));
    assert_true(le_rules_fit_match(rules, 4, &f));
    f.company_size = 1000;
    assert_false(le_rules_fit_match(rules, 4, &f));
    f.role = 2; /* buyer */
    assert_false(le_rules_fit_match(rules, 2, &f));
    f.x = NULL;
    assert_false(le_rules_fit_match(rules, 0, &f));
}

static void test_decay(void **state) {
    (void)state;
    le_lead_t l = {0};
    le_fired_t fired[8];
    le_event_t ev = form("demo", T0);
    assert_int_equal(le_lead_behaviour(&l, rules, &ev, HL, fired, 8), 1);
    assert_int_equal(fired[0].points, 40);
    assert_float_equal(l.behaviour, 40.0, 1e-4);
    /* one half-life later: half; two: a quarter */
    le_lead_decay(&l, (uint32_t)(T0 / 1000) + 14 * 86400, HL);
    assert_float_equal(l.behaviour, 20.0, 1e-3);
    assert_float_equal(l.parts[0].points, 20.0, 1e-3);
    le_lead_decay(&l, (uint32_t)(T0 / 1000) + 28 * 86400, HL);
    assert_float_equal(l.behaviour, 10.0, 1e-3);
    /* time never runs backwards */
    le_lead_decay(&l, (uint32_t)(T0 / 1000), HL);
    assert_float_equal(l.behaviour, 10.0, 1e-3);
    /* decaying in many small steps equals one big step */
    le_lead_t a = {0}, b = {0};
    ev = pageview("https://x/pricing", T0);
    le_lead_behaviour(&a, rules, &ev, HL, NULL, 0);
    le_lead_behaviour(&b, rules, &ev, HL, NULL, 0);
    for (int i = 1; i <= 1000; i++) le_lead_decay(&a, (uint32_t)(T0 / 1000) + i * 3600, HL);
    le_lead_decay(&b, (uint32_t)(T0 / 1000) + 1000 * 3600, HL);
    assert_float_equal(a.behaviour, b.behaviour, 1e-3);
    assert_float_equal(b.behaviour, 15.0 * exp2(-1000.0 * 3600 / HL), 1e-3);
    le_lead_free(&a);
    le_lead_free(&b);
    le_lead_free(&l);
}

static void test_once_caps_negative(void **state) {
    (void)state;
    le_lead_t l = {0};
    le_event_t ev = form("demo", T0);
    assert_int_equal(le_lead_behaviour(&l, rules, &ev, HL, NULL, 0), 1);
    ev.time_ms += 60 * 86400000LL; /* once means once, even months later */
    assert_int_equal(le_lead_behaviour(&l, rules, &ev, HL, NULL, 0), 0);
    le_lead_free(&l);

    /* max_per_day: 1 per UTC day */
    int64_t midnight = (T0 / 86400000 + 1) * 86400000;
    ev = pageview("https://x/pricing", midnight - 3600000);
    assert_int_equal(le_lead_behaviour(&l, rules, &ev, HL, NULL, 0), 1);
    ev.time_ms += 60000;
    assert_int_equal(le_lead_behaviour(&l, rules, &ev, HL, NULL, 0), 0);
    ev.time_ms = midnight + 1000; /* the next day */
    assert_int_equal(le_lead_behaviour(&l, rules, &ev, HL, NULL, 0), 1);
    assert_int_equal(l.parts[0].times, 2);
    assert_float_equal(l.behaviour, 30.0, 0.1);

    /* negative points take away */
    ev = pageview("https://x/careers/jobs", midnight + 2000);
    assert_int_equal(le_lead_behaviour(&l, rules, &ev, HL, NULL, 0), 1);
    assert_float_equal(l.behaviour, 10.0, 0.1);
    le_lead_behaviour(&l, rules, &ev, HL, NULL, 0);
    assert_float_equal(l.behaviour, -10.0, 0.1);
    le_lead_free(&l);
}

static void test_fit_recomputed(void **state) {
    (void)state;
    le_lead_t l = {0};
    le_enrichment_t x = {0};
    x.country_code = le_str("DE");
    x.network = LE_NET_BUSINESS;
    le_fit_facts_t f = {.x = &x, .email_kind = -1, .company_size = -1, .company_match = -1};
    assert_int_equal(le_lead_fit(&l, rules, &f), 20);
    f.role = 1;
    f.email_kind = 1;
    assert_int_equal(le_lead_fit(&l, rules, &f), 20); /* +15 decider, -15 freemail */
    assert_int_equal(l.nparts, 4);
    x.network = LE_NET_ISP;
    assert_int_equal(le_lead_fit(&l, rules, &f), 10);
    assert_int_equal(l.nparts, 3); /* parts follow the facts */
    le_lead_free(&l);
}

static void test_merge(void **state) {
    (void)state;
    le_lead_t a = {0}, b = {0};
    /* both filled in the demo form (once: counts once) and saw pricing the same day
     * (max 1 per day: counts once that day); b also saw careers */
    le_event_t ev = form("demo", T0);
    le_lead_behaviour(&a, rules, &ev, HL, NULL, 0);
    le_lead_behaviour(&b, rules, &ev, HL, NULL, 0);
    ev = pageview("https://x/pricing", T0 + 1000);
    le_lead_behaviour(&a, rules, &ev, HL, NULL, 0);
    le_lead_behaviour(&b, rules, &ev, HL, NULL, 0);
    ev = pageview("https://x/careers", T0 + 2000);
    le_lead_behaviour(&b, rules, &ev, HL, NULL, 0);
    assert_float_equal(a.behaviour, 55.0, 0.01);
    assert_float_equal(b.behaviour, 35.0, 0.01);
    le_lead_merge(&a, &b, rules, (uint32_t)(T0 / 1000) + 3, HL);
    assert_float_equal(a.behaviour, 35.0, 0.01); /* 40 + 15 - 20 */
    assert_float_equal(b.behaviour, 35.0, 0.01); /* src unchanged */
    le_lead_free(&b);
    /* a pricing view of another day adds up */
    le_lead_t c = {0};
    ev = pageview("https://x/pricing", T0 - 86400000LL * 2);
    le_lead_behaviour(&c, rules, &ev, HL, NULL, 0);
    le_lead_merge(&a, &c, rules, (uint32_t)(T0 / 1000) + 3, HL);
    double want = 35.0 + 15.0 * exp2(-(2 * 86400.0 + 3) / HL);
    assert_float_equal(a.behaviour, want, 0.01);
    le_lead_free(&c);
    le_lead_free(&a);
}

static void test_grades_and_criterion(void **state) {
    (void)state;
    const int32_t *fc = cfg->scoring.grades.fit, *bc = cfg->scoring.grades.behaviour;
    assert_int_equal(le_grade(40, fc), 'A');
    assert_int_equal(le_grade(39, fc), 'B');
    assert_int_equal(le_grade(25, fc), 'B');
    assert_int_equal(le_grade(10, fc), 'C');
    assert_int_equal(le_grade(-5, fc), 'D');
    assert_int_equal(le_band(75, bc), 1);
    assert_int_equal(le_band(74.9, bc), 2);
    assert_int_equal(le_band(25, bc), 3);
    assert_int_equal(le_band(0, bc), 4);
    assert_true(le_mql_criterion(cfg, 50, 20));
    assert_false(le_mql_criterion(cfg, 49.9, 20));
    assert_false(le_mql_criterion(cfg, 90, 19));

    le_buf_t err = LE_BUF_INIT;
    le_config_t *m = load("mql:\n  matrix: [A1, a2, B1]\n", &err);
    assert_non_null(m);
    assert_string_equal(m->mql.matrix.items[1], "A2");
    assert_true(le_mql_criterion(m, 80, 45));  /* A1 */
    assert_true(le_mql_criterion(m, 60, 45));  /* A2 */
    assert_false(le_mql_criterion(m, 30, 45)); /* A3 */
    assert_true(le_mql_criterion(m, 75, 30));  /* B1 */
    assert_false(le_mql_criterion(m, 60, 30)); /* B2 */
    le_config_unref(m);
    le_buf_free(&err);
}

static void test_suppress_domains(void **state) {
    (void)state;
    assert_int_equal(le_suppress_domain(cfg, le_str("rival.example")), LE_SUP_COMPETITOR);
    assert_int_equal(le_suppress_domain(cfg, le_str("eu.RIVAL.example")), LE_SUP_COMPETITOR);
    assert_int_equal(le_suppress_domain(cfg, le_str("notrival.example")), 0);
    assert_int_equal(le_suppress_domain(cfg, le_str("client.example")), LE_SUP_CUSTOMER);
    assert_int_equal(le_suppress_domain(cfg, le_str("us.example")), LE_SUP_STAFF);
    assert_int_equal(le_suppress_domain(cfg, le_str("")), 0);
    assert_string_equal(le_suppress_name(LE_SUP_GPC), "gpc");
}

/* Globs of literal runs and '*' take a fast path: it agrees with fnmatch(FNM_CASEFOLD) on
 * every pattern and subject of a small alphabet, up to these lengths. */
static void test_glob_fast_path_agrees_with_fnmatch(void **state) {
    (void)state;
    static const char pa[] = "aB/*.";
    static const char sa[] = "aAb/.";
    unsigned seed = 7;
    int checked = 0;
    for (int np = 0; np < 400; np++) {
        char pat[8];
        int plen = np < 5 ? np : (int)((seed = seed * 1103515245u + 12345u) >> 16) % 7;
        for (int i = 0; i < plen; i++)
            pat[i] = pa[((seed = seed * 1103515245u + 12345u) >> 16) % 5];
        pat[plen] = '\0';
        if (plen == 0) continue; /* an empty value is refused by the config */
        char yml[256];
        snprintf(yml, sizeof(yml),
                 "scoring:\n  behaviour:\n    rules:\n      - {name: g, when: {url: \"%s\"}, "
                 "points: 1}\n",
                 pat);
        le_buf_t err = LE_BUF_INIT;
        le_config_t *c = load(yml, &err);
        if (!c) fail_msg("%s: %s", pat, le_buf_cstr(&err));
        le_rules_t *r;
        assert_int_equal(le_rules_build(c, &r, &err), 0);
        for (int ns = 0; ns < 150; ns++) {
            char subj[10];
            int slen = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 9;
            for (int i = 0; i < slen; i++)
                subj[i] = sa[((seed = seed * 1103515245u + 12345u) >> 16) % 5];
            subj[slen] = '\0';
            le_event_t ev = pageview(subj, T0);
            bool want = slen > 0 && fnmatch(pat, subj, FNM_CASEFOLD) == 0;
            if (le_rules_behaviour_match(r, 0, &ev) != want)
                fail_msg("pattern \"%s\" subject \"%s\": want %d", pat, subj, want);
            checked++;
            if (ns % 10 == 0) { /* a long subject (past the lower-cased copy): the other path */
                static char big[2200];
                memset(big, 'A', 2100);
                memcpy(big + 2100, subj, (size_t)slen + 1);
                ev = pageview(big, T0);
                want = fnmatch(pat, big, FNM_CASEFOLD) == 0;
                if (le_rules_behaviour_match(r, 0, &ev) != want)
                    fail_msg("pattern \"%s\" long subject ending \"%s\": want %d", pat, subj, want);
            }
        }
        le_rules_free(r);
        le_config_unref(c);
        le_buf_free(&err);
    }
    assert_true(checked > 50000);
}

/* The config refuses broken rules with the place and the reason. */
static void expect_error(const char *text, const char *want) {
    le_buf_t err = LE_BUF_INIT;
    le_config_t *c = load(text, &err);
    if (c) {
        le_rules_t *r = NULL;
        int rc = le_rules_build(c, &r, &err);
        le_config_unref(c);
        assert_int_not_equal(rc, 0);
        assert_null(r);
    }
    if (!strstr(le_buf_cstr(&err), want)) fail_msg("want \"%s\" in:\n%s", want, le_buf_cstr(&err));
    le_buf_free(&err);
}

static void test_rule_errors(void **state) {
    (void)state;
    const char *head = "scoring:\n  behaviour:\n    rules:\n";
    char t[1024];
#define RULE(body) (snprintf(t, sizeof t, "%s%s", head, body), t)
    expect_error(RULE("      - name: a\n        when: { url: \"*\" }\n"),
                 "t.yaml:4:9: scoring.behaviour.rules[0]: missing points");
    expect_error(RULE("      - when: { url: \"*\" }\n        points: 1\n"), "missing name");
    expect_error(RULE("      - name: a\n        points: 1\n"), "expected when:");
    expect_error(RULE("      - name: a\n        when: { uri: x }\n        points: 1\n"),
                 "scoring.behaviour.rules[0].when.uri: unknown condition \"uri\"");
    expect_error(RULE("      - name: a\n        when: { country: DE }\n        points: 1\n"),
                 "unknown condition \"country\" (behaviour rules look at");
    expect_error(RULE("      - name: a\n        when: { url: x }\n        points: lots\n"),
                 "rules[0].points: expected an integer");
    expect_error(RULE("      - name: a\n        when: { url: x }\n        points: 1\n"
                      "        once: true\n        max_per_day: 2\n"),
                 "once and max_per_day exclude each other");
    expect_error(
        RULE("      - name: a\n        when: { url: { regex: \"(unclosed\" } }\n"
             "        points: 1\n"),
        "t.yaml:5:22: scoring.behaviour.rules[0].when.url: bad regex at offset 9: missing closing");
    expect_error(RULE("      - name: a\n        when: { url: x }\n        points: 1\n"
                      "      - name: a\n        when: { url: y }\n        points: 2\n"),
                 "duplicate rule name \"a\"");
    expect_error("scoring:\n  fit:\n    rules:\n      - name: a\n        when: { network: "
                 "corporate }\n        points: 1\n",
                 "expected one of: unknown, business, government");
    expect_error("scoring:\n  fit:\n    rules:\n      - name: a\n        when: { asn: x }\n"
                 "        points: 1\n",
                 "expected an integer or {min: .., max: ..}");
    expect_error("scoring:\n  fit:\n    rules:\n      - name: a\n        when: { country: DE }\n"
                 "        points: 1\n        once: true\n",
                 "unknown key \"once\" (expected name, when, points)");
    expect_error("scoring:\n  grades:\n    fit: [10, 20, 30]\n", "highest first");
    expect_error("mql:\n  matrix: [E1]\n", "expected a matrix cell from A1 to D4");
    expect_error("store:\n  fsync: sometimes\n", "expected one of: interval, always, off");
#undef RULE
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_behaviour_matching),
        cmocka_unit_test(test_fit_matching),
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_once_caps_negative),
        cmocka_unit_test(test_fit_recomputed),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_grades_and_criterion),
        cmocka_unit_test(test_suppress_domains),
        cmocka_unit_test(test_rule_errors),
        cmocka_unit_test(test_glob_fast_path_agrees_with_fnmatch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
