/*
 * test_ua.c: enrich/ua as a user of it sees it: loading uap-core rules (and refusing broken
 * ones with a clear message), replacements, device classes, hostile User-Agents, Client Hints
 * and the per-thread cache.
 *
 * Small rule files are written to a mkdtemp folder. Tests that need the real rules read
 * /usr/share/uap-core/regexes.yaml (Debian package uap-core; $LE_UAP_CORE_DIR overrides the
 * folder) and are skipped when it is absent. uap-core's own suites run in
 * test_ua_conformance.c.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ua.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[] = "/tmp/test_ua.XXXXXX";
static le_ua_rules_t *real; /* uap-core's rules, or NULL when not installed */

static const char *write_file(const char *name, const char *text, size_t len) {
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static le_ua_rules_t *load_text(const char *yaml) {
    le_buf_t err = LE_BUF_INIT;
    le_ua_rules_t *r = NULL;
    const char *path = write_file("ok.yaml", yaml, strlen(yaml));
    int rc = le_ua_rules_load(path, &r, &err);
    if (rc) fprintf(stderr, "unexpected: %s", le_buf_cstr(&err));
    assert_int_equal(rc, 0);
    assert_non_null(r);
    le_buf_free(&err);
    return r;
}

/* Load text that must be refused with rc; the error must contain each of the fragments. */
static void expect_refused(const char *name, const char *text, size_t len, int want_rc,
                           const char *frag1, const char *frag2) {
    le_buf_t err = LE_BUF_INIT;
    le_ua_rules_t *r = (le_ua_rules_t *)1;
    const char *path = write_file(name, text, len);
    int rc = le_ua_rules_load(path, &r, &err);
    const char *msg = le_buf_cstr(&err);
    if (rc != want_rc || !strstr(msg, frag1) || (frag2 && !strstr(msg, frag2)))
        fprintf(stderr, "rc %d, message: %s", rc, msg);
    assert_int_equal(rc, want_rc);
    assert_null(r);
    assert_non_null(strstr(msg, path)); /* names the file */
    assert_non_null(strstr(msg, frag1));
    if (frag2) assert_non_null(strstr(msg, frag2));
    /* One line. */
    assert_int_equal(err.len > 0 && msg[err.len - 1] == '\n', 1);
    assert_null(memchr(msg, '\n', err.len - 1));
    le_buf_free(&err);
}

static void expect_field(const le_ua_t *u, le_ua_field_t f, const char *want) {
    le_str_t v = le_ua_get(u, f);
    if (!want) {
        if (v.len) fprintf(stderr, "field %d: want absent, got '%.*s'\n", f, (int)v.len, v.ptr);
        assert_int_equal(v.len, 0);
        return;
    }
    if (v.len != strlen(want) || memcmp(v.ptr, want, v.len) != 0)
        fprintf(stderr, "field %d: want '%s', got '%.*s'\n", f, want, (int)v.len, v.ptr);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.ptr, want, v.len);
}

static le_ua_t parse(const le_ua_rules_t *r, const char *ua) {
    le_ua_t u;
    le_ua_parse(r, ua, strlen(ua), &u);
    return u;
}

static bool valid_utf8(le_str_t s) {
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        unsigned n = p[i] < 0x80 ? 1 : (p[i] & 0xE0) == 0xC0 ? 2 : (p[i] & 0xF0) == 0xE0 ? 3 : 4;
        if (i + n > s.len) return false;
        for (unsigned k = 1; k < n; k++)
            if ((p[i + k] & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

#define NEED_REAL()                                                                                \
    do {                                                                                           \
        if (!real) skip();                                                                         \
    } while (0)

/* ---- loading ------------------------------------------------------------------------------ */

static const char small_rules[] = "user_agent_parsers:\n"
                                  "  - regex: '(Foo)/(\\d+)\\.(\\d+)'\n"
                                  "  - regex: 'Bar(?:/(\\d+)|)'\n"
                                  "    family_replacement: '  Bar $1 Browser  '\n"
                                  "    v1_replacement: 'v$1'\n"
                                  "  - regex: '(Empty)?Zed/(\\d+)'\n"
                                  "  - regex: 'Zed/(\\d+)'\n"
                                  "    family_replacement: 'Zed'\n"
                                  "os_parsers:\n"
                                  "  - regex: 'MyOS (\\d+)(?:\\.(\\d+)|)'\n"
                                  "    os_replacement: 'My OS'\n"
                                  "    os_v1_replacement: '$1'\n"
                                  "    os_v2_replacement: '$2'\n"
                                  "    os_v3_replacement: '$7'\n"
                                  "device_parsers:\n"
                                  "  - regex: 'dev-(\\w+)-(\\w+)'\n"
                                  "    regex_flag: 'i'\n"
                                  "    device_replacement: '$2 $1'\n"
                                  "    brand_replacement: '$2'\n"
                                  "    model_replacement: '$1'\n"
                                  "  - regex: '; (Phone\\w*)'\n";

static void test_load_errors(void **st) {
    char path[300];
    le_buf_t err = LE_BUF_INIT;
    le_ua_rules_t *r = (le_ua_rules_t *)1;
    snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
    assert_int_equal(le_ua_rules_load(path, &r, &err), -ENOENT);
    assert_null(r);
    assert_non_null(strstr(le_buf_cstr(&err), path));
    assert_non_null(strstr(le_buf_cstr(&err), "cannot open"));
    le_buf_reset(&err);
    /* A directory is not a rules file. */
    assert_true(le_ua_rules_load(tmpdir, &r, &err) < 0);
    assert_non_null(strstr(le_buf_cstr(&err), "not a regular file"));
    le_buf_free(&err);

    expect_refused("empty.yaml", "", 0, LE_EINVAL, "file is empty", NULL);
    expect_refused("comments.yaml", "# nothing\n", 10, LE_EINVAL, "file is empty", NULL);
    expect_refused("garbage.yaml", "user_agent_parsers: [ 'unterminated\n", 36, LE_EINVAL,
                   "YAML error", NULL);
    static const char binary[] = "\x01\x02\xff\xfe\x00garbage\x80";
    expect_refused("binary.yaml", binary, sizeof(binary) - 1, LE_EINVAL, "binary.yaml", NULL);
    expect_refused("list.yaml", "- a\n- b\n", 8, LE_EINVAL, "expected a mapping", NULL);
    static const char no_os[] = "user_agent_parsers:\n  - regex: 'a'\ndevice_parsers:\n"
                                "  - regex: 'b'\n";
    expect_refused("no_os.yaml", no_os, strlen(no_os), LE_EINVAL, "os_parsers is missing", NULL);
    static const char bad_regex[] = "user_agent_parsers:\n"
                                    "  - regex: 'good (\\d+)'\n"
                                    "  - regex: 'bad (unclosed'\n"
                                    "os_parsers:\n  - regex: 'x'\n"
                                    "device_parsers:\n  - regex: 'y'\n";
    expect_refused("bad_regex.yaml", bad_regex, strlen(bad_regex), LE_EINVAL,
                   "bad_regex.yaml:3:5: user_agent_parsers[1]: regex does not compile",
                   "missing closing parenthesis");
    static const char bad_key[] = "user_agent_parsers:\n  - regex: 'a'\n    famly_replacement: x\n"
                                  "os_parsers:\n  - regex: 'x'\ndevice_parsers:\n  - regex: 'y'\n";
    expect_refused("bad_key.yaml", bad_key, strlen(bad_key), LE_EINVAL,
                   ":3:5:", "unknown key 'famly_replacement'");
    static const char bad_flag[] = "user_agent_parsers:\n  - regex: 'a'\n"
                                   "os_parsers:\n  - regex: 'x'\n    regex_flag: 'g'\n"
                                   "device_parsers:\n  - regex: 'y'\n";
    expect_refused("bad_flag.yaml", bad_flag, strlen(bad_flag), LE_EINVAL, "os_parsers[0]",
                   "regex_flag must be 'i'");
    static const char no_regex[] = "user_agent_parsers:\n  - family_replacement: 'a'\n"
                                   "os_parsers:\n  - regex: 'x'\ndevice_parsers:\n  - regex: 'y'\n";
    expect_refused("no_regex.yaml", no_regex, strlen(no_regex), LE_EINVAL,
                   ":2:5:", "rule has no regex");
    static const char nested[] = "user_agent_parsers:\n  - regex: ['a']\n"
                                 "os_parsers:\n  - regex: 'x'\ndevice_parsers:\n  - regex: 'y'\n";
    expect_refused("nested.yaml", nested, strlen(nested), LE_EINVAL, "expected a string value",
                   NULL);
}

static void test_refcount(void **st) {
    le_ua_rules_t *r = load_text(small_rules);
    size_t ua, os, dev;
    le_ua_rules_count(r, &ua, &os, &dev);
    assert_int_equal(ua, 4);
    assert_int_equal(os, 1);
    assert_int_equal(dev, 2);
    assert_ptr_equal(le_ua_rules_ref(r), r);
    le_ua_rules_unref(r);
    le_ua_t u = parse(r, "Foo/1.2"); /* still alive: one reference left */
    expect_field(&u, LE_UA_BROWSER, "Foo");
    le_ua_rules_unref(r);
    le_ua_rules_unref(NULL);
}

static void test_changed(void **st) {
    le_buf_t err = LE_BUF_INIT;
    le_ua_rules_t *r;
    const char *path = write_file("watched.yaml", small_rules, strlen(small_rules));
    char saved[300];
    snprintf(saved, sizeof(saved), "%s", path);
    assert_int_equal(le_ua_rules_load(saved, &r, &err), 0);
    assert_false(le_ua_rules_changed(r));
    assert_false(le_ua_rules_changed(NULL));
    /* Replaced by a new file (a package upgrade renames one into place). */
    char tmp[310];
    snprintf(tmp, sizeof(tmp), "%s.new", saved);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    fputs(small_rules, f);
    fputs("# changed\n", f);
    fclose(f);
    assert_int_equal(rename(tmp, saved), 0);
    assert_true(le_ua_rules_changed(r));
    le_ua_rules_unref(r);
    assert_int_equal(le_ua_rules_load(saved, &r, &err), 0);
    assert_false(le_ua_rules_changed(r));
    /* Gone. */
    assert_int_equal(unlink(saved), 0);
    assert_true(le_ua_rules_changed(r));
    le_ua_rules_unref(r);
    le_buf_free(&err);
}

/* ---- uap-core semantics ------------------------------------------------------------------- */

static void test_replacements(void **st) {
    le_ua_rules_t *r = load_text(small_rules);
    le_ua_t u = parse(r, "x Foo/12.34 y");
    expect_field(&u, LE_UA_BROWSER, "Foo");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "12");
    expect_field(&u, LE_UA_BROWSER_MINOR, "34");
    expect_field(&u, LE_UA_BROWSER_PATCH, NULL);
    assert_true(u.browser_known);
    /* $1 substituted, result trimmed; a group that did not take part is empty. */
    u = parse(r, "Bar/7");
    expect_field(&u, LE_UA_BROWSER, "Bar 7 Browser");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "v7");
    u = parse(r, "Bar");
    expect_field(&u, LE_UA_BROWSER, "Bar  Browser");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "v");
    /* A match whose family is empty is no match: the next rule answers. */
    u = parse(r, "Zed/3");
    expect_field(&u, LE_UA_BROWSER, "Zed");
    expect_field(&u, LE_UA_BROWSER_MAJOR, NULL);
    /* OS: $2 absent -> absent; $7 beyond the groups -> empty -> absent. */
    u = parse(r, "MyOS 5");
    expect_field(&u, LE_UA_OS, "My OS");
    expect_field(&u, LE_UA_OS_MAJOR, "5");
    expect_field(&u, LE_UA_OS_MINOR, NULL);
    expect_field(&u, LE_UA_OS_PATCH, NULL);
    u = parse(r, "MyOS 5.1");
    expect_field(&u, LE_UA_OS_MINOR, "1");
    /* Device: regex_flag i; several $N in one replacement. Without replacements the first
     * group is both family and model, and there is no brand. */
    u = parse(r, "DEV-abc-Acme");
    expect_field(&u, LE_UA_DEVICE, "Acme abc");
    expect_field(&u, LE_UA_BRAND, "Acme");
    expect_field(&u, LE_UA_MODEL, "abc");
    u = parse(r, "Mozilla (x; PhoneX1)");
    expect_field(&u, LE_UA_DEVICE, "PhoneX1");
    expect_field(&u, LE_UA_BRAND, NULL);
    expect_field(&u, LE_UA_MODEL, "PhoneX1");
    /* Nothing matches: "Other", nothing else. */
    u = parse(r, "nothing at all");
    expect_field(&u, LE_UA_BROWSER, "Other");
    expect_field(&u, LE_UA_OS, "Other");
    expect_field(&u, LE_UA_DEVICE, "Other");
    expect_field(&u, LE_UA_BROWSER_MAJOR, NULL);
    expect_field(&u, LE_UA_MODEL, NULL);
    assert_false(u.browser_known);
    assert_false(u.spider);
    assert_int_equal(u.device_class, LE_DEV_OTHER);
    /* Out-of-range field: empty. */
    assert_int_equal(le_ua_get(&u, LE_UA_FIELD_COUNT).len, 0);
    le_ua_rules_unref(r);
}

static void test_real_rules(void **st) {
    NEED_REAL();
    le_ua_t u = parse(real, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                            "like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0");
    expect_field(&u, LE_UA_BROWSER, "Edge");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "124");
    expect_field(&u, LE_UA_OS, "Windows");
    expect_field(&u, LE_UA_OS_MAJOR, "10");
    expect_field(&u, LE_UA_DEVICE, "Other");
    u = parse(real, "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like "
                    "Gecko) Chrome/112.0.0.0 Mobile Safari/537.36");
    expect_field(&u, LE_UA_BROWSER, "Chrome Mobile");
    expect_field(&u, LE_UA_DEVICE, "Samsung SM-S918B");
    expect_field(&u, LE_UA_BRAND, "Samsung");
    expect_field(&u, LE_UA_MODEL, "SM-S918B");
    /* Case-insensitive rules match any case. */
    u = parse(real, "MOZILLA/5.0 (COMPATIBLE; GOOGLEBOT/2.1; +HTTP://WWW.GOOGLE.COM/BOT.HTML)");
    expect_field(&u, LE_UA_DEVICE, "Spider");
    /* ...Unicode case too, as uap-python: U+017F (long s) folds to "s", so the caseless
     * spider rule matches although the text holds no "spider" for the prefilter to see. */
    u = parse(real, "Mozilla/5.0 (compatible; Cool \xc5\xbfpider)");
    expect_field(&u, LE_UA_DEVICE, "Spider");
    u = parse(real, "Mozilla/5.0 (compatible; Cool spider)");
    expect_field(&u, LE_UA_DEVICE, "Spider");
    /* \d is Unicode (as uap-python): Arabic-Indic digits are a version. */
    u = parse(real, "Mozilla/5.0 (Windows NT 10.0) Firefox/\xd9\xa1\xd9\xa2.0");
    expect_field(&u, LE_UA_BROWSER, "Firefox");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "\xd9\xa1\xd9\xa2");
}

static void test_device_class(void **st) {
    NEED_REAL();
    static const struct {
        const char *ua;
        le_device_class_t want;
    } cases[] = {
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Safari/537.36",
         LE_DEV_DESKTOP},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
         "Gecko) Version/17.4 Safari/605.1.15",
         LE_DEV_DESKTOP},
        {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
         LE_DEV_DESKTOP},
        {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Safari/537.36",
         LE_DEV_DESKTOP},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
         "like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
         LE_DEV_MOBILE},
        {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Mobile Safari/537.36",
         LE_DEV_MOBILE},
        {"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.4 Mobile/15E148 Safari/604.1",
         LE_DEV_TABLET},
        /* Android without "Mobile" is a tablet. */
        {"Mozilla/5.0 (Linux; Android 12; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/112.0.0.0 Safari/537.36",
         LE_DEV_TABLET},
        {"Mozilla/5.0 (Linux; U; Android 2.3.4; en-us; Kindle Fire Build/GINGERBREAD) "
         "AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
         LE_DEV_TABLET},
        {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", LE_DEV_BOT},
        /* A crawler posing as an iPhone is a bot, not a phone. */
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 6_0 like Mac OS X) AppleWebKit/536.26 (KHTML, like "
         "Gecko) Version/6.0 Mobile/10A5376e Safari/8536.25 (compatible; Googlebot/2.1; "
         "+http://www.google.com/bot.html)",
         LE_DEV_BOT},
        {"HbbTV/1.1.1 (;Samsung;SmartTV2013;T-FXPDEUC-1102.2;;) WebKit", LE_DEV_OTHER},
        {"Mozilla/5.0 (PlayStation 4 3.11) AppleWebKit/537.73 (KHTML, like Gecko)", LE_DEV_OTHER},
        {"curl/7.88.1", LE_DEV_OTHER},
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        le_ua_t u = parse(real, cases[i].ua);
        if (u.device_class != cases[i].want)
            fprintf(stderr, "%s: got %s\n", cases[i].ua, le_device_class_name(u.device_class));
        assert_int_equal(u.device_class, cases[i].want);
        assert_int_equal(u.spider, cases[i].want == LE_DEV_BOT);
    }
    assert_string_equal(le_device_class_name(LE_DEV_TABLET), "tablet");
    assert_string_equal(le_device_class_name(LE_DEV_BOT), "bot");
    assert_string_equal(le_device_class_name((le_device_class_t)77), "other");
}

/* ---- hostile inputs ----------------------------------------------------------------------- */

static void check_sane(const le_ua_t *u) {
    assert_true(u->text_len <= LE_UA_TEXT_MAX);
    for (int f = 0; f < LE_UA_FIELD_COUNT; f++) {
        le_str_t v = le_ua_get(u, (le_ua_field_t)f);
        assert_true(v.len <= LE_UA_FIELD_MAX);
        assert_true(u->off[f] + v.len <= u->text_len || v.len == 0);
    }
    assert_true(le_ua_get(u, LE_UA_BROWSER).len > 0);
    assert_true(le_ua_get(u, LE_UA_OS).len > 0);
    assert_true(le_ua_get(u, LE_UA_DEVICE).len > 0);
}

static void test_hostile(void **st) {
    NEED_REAL();
    le_ua_t u;
    /* Empty, and NULL with length 0. */
    le_ua_parse(real, "", 0, &u);
    check_sane(&u);
    expect_field(&u, LE_UA_BROWSER, "Other");
    le_ua_parse(real, NULL, 0, &u);
    check_sane(&u);
    expect_field(&u, LE_UA_DEVICE, "Other");
    /* 10 KB: only the first LE_UA_MATCH_MAX bytes count. */
    size_t big = 10 * 1024;
    char *s = malloc(big + 1);
    assert_non_null(s);
    memset(s, 'a', big);
    memcpy(s, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Version/17.4 Mobile", 72);
    memcpy(s + big - 20, " Firefox/99.0 Build/", 20);
    le_ua_parse(real, s, big, &u);
    check_sane(&u);
    expect_field(&u, LE_UA_OS, "iOS");
    /* ReDoS shapes from uap-core's own tests, far longer than the cap. */
    static const char *const reps[] = {"Mobile", " ", "0", "Windows Phone ", "; ", "[FB"};
    for (size_t k = 0; k < LE_ARRAY_SIZE(reps); k++) {
        size_t n = strlen(reps[k]), o = 0;
        memcpy(s, "Mozilla", 7), o = 7;
        while (o + n < big) memcpy(s + o, reps[k], n), o += n;
        le_ua_parse(real, s, o, &u);
        check_sane(&u);
    }
    /* NUL bytes inside: matched as bytes, no early stop, no crash. */
    static const char nul[] =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)\0 Safari/604.1 "
        "\0\0 (compatible; Googlebot/2.1)";
    le_ua_parse(real, nul, sizeof(nul) - 1, &u);
    check_sane(&u);
    expect_field(&u, LE_UA_OS, "iOS");
    expect_field(&u, LE_UA_DEVICE, "Spider"); /* "Googlebot" after the NULs was seen */
    /* Invalid UTF-8: stray continuation bytes, overlong forms, truncated sequences, 0xff. */
    static const char bad[] = "Mozilla/5.0 (\xff\xfe; \xc0\xaf; Android 9; \xe2\x82) \x80\x80"
                              "Chrome/99.0.1.2 Mobile Safari\xf0\x9f";
    le_ua_parse(real, bad, sizeof(bad) - 1, &u);
    check_sane(&u);
    expect_field(&u, LE_UA_OS, "Android");
    /* Every byte value. */
    for (int b = 0; b < 256; b++) s[b] = (char)b;
    le_ua_parse(real, s, 256, &u);
    check_sane(&u);
    /* A model longer than LE_UA_FIELD_MAX, in two-byte characters: cut at a character. */
    size_t o = 0;
    o += (size_t)sprintf(s, "Mozilla/5.0 (Linux; Android 4.4.2; ");
    for (int k = 0; k < 90; k++) s[o++] = '\xc3', s[o++] = '\xa9';
    o += (size_t)sprintf(s + o, " Build/KOT49H) AppleWebKit/537.36 Mobile Safari/537.36");
    le_ua_parse(real, s, o, &u);
    check_sane(&u);
    le_str_t model = le_ua_get(&u, LE_UA_MODEL);
    assert_true(model.len > 100 && model.len <= LE_UA_FIELD_MAX);
    assert_true(valid_utf8(model));
    /* A multi-byte character across the LE_UA_MATCH_MAX boundary is not split. */
    memset(s, 'x', 1024);
    memcpy(s, "Mozilla/5.0 ", 12);
    s[LE_UA_MATCH_MAX - 1] = '\xe2', s[LE_UA_MATCH_MAX] = '\x82', s[LE_UA_MATCH_MAX + 1] = '\xac';
    assert_int_equal(le__ua_match_len(s, 1024), LE_UA_MATCH_MAX - 1);
    le_ua_parse(real, s, 1024, &u);
    check_sane(&u);
    free(s);
}

/* ---- Client Hints ------------------------------------------------------------------------- */

static const char chrome_win[] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                 "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
static const char chrome_fvl[] = "\"Chromium\";v=\"124.0.6367.91\", \"Google Chrome\";"
                                 "v=\"124.0.6367.91\", \"Not-A.Brand\";v=\"99.0.0.0\"";
static const char chrome_ua[] = "\"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", "
                                "\"Not-A.Brand\";v=\"99\"";

static le_ua_t hinted(const char *ua, const le_ua_hints_t *h) {
    le_ua_t u = parse(real, ua);
    le_ua_apply_hints(&u, h);
    return u;
}

static void test_hints_windows(void **st) {
    NEED_REAL();
    le_ua_hints_t h = {.ch_ua = le_str(chrome_ua),
                       .ch_ua_mobile = LE_STR("?0"),
                       .ch_ua_platform = LE_STR("\"Windows\""),
                       .ch_ua_platform_version = LE_STR("\"15.0.0\"")};
    le_ua_t u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_OS, "Windows");
    expect_field(&u, LE_UA_OS_MAJOR, "11");
    assert_true(u.hints & LE_UA_CH_OS);
    assert_false(u.hints & LE_UA_CH_BROWSER); /* same major as the User-Agent */
    assert_false(u.hints & LE_UA_CH_MOBILE);
    assert_int_equal(u.device_class, LE_DEV_DESKTOP);
    expect_field(&u, LE_UA_BROWSER, "Chrome");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "124");
    /* 13 is the first Windows 11 version; 1..12 are Windows 10 (no change here). */
    h.ch_ua_platform_version = LE_STR("\"13.0.0\"");
    u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_OS_MAJOR, "11");
    h.ch_ua_platform_version = LE_STR("\"10.0.0\"");
    u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_OS_MAJOR, "10");
    assert_int_equal(u.hints, 0);
    h.ch_ua_platform_version = LE_STR("\"1.0.0\"");
    u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_OS_MAJOR, "10");
    /* 0.x: Windows 7, 8, 8.1 (uap-core writes 8.1 as major 8, minor 1). */
    h.ch_ua_platform_version = LE_STR("\"0.3.0\"");
    u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_OS_MAJOR, "8");
    expect_field(&u, LE_UA_OS_MINOR, "1");
    h.ch_ua_platform_version = LE_STR("\"0.1.0\"");
    u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_OS_MAJOR, "7");
    expect_field(&u, LE_UA_OS_MINOR, NULL);
    /* 0.0.0 says nothing. */
    h.ch_ua_platform_version = LE_STR("\"0.0.0\"");
    u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_OS_MAJOR, "10");
}

static void test_hints_browser(void **st) {
    NEED_REAL();
    /* Chrome's full version from the Full-Version-List. */
    le_ua_hints_t h = {.ch_ua = le_str(chrome_ua), .ch_ua_full_version_list = le_str(chrome_fvl)};
    le_ua_t u = hinted(chrome_win, &h);
    expect_field(&u, LE_UA_BROWSER, "Chrome");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "124");
    expect_field(&u, LE_UA_BROWSER_MINOR, "0");
    expect_field(&u, LE_UA_BROWSER_PATCH, "6367");
    expect_field(&u, LE_UA_BROWSER_PATCH_MINOR, "91");
    assert_true(u.hints & LE_UA_CH_BROWSER);
    /* Edge: its own brand, not Chrome's or Chromium's version. */
    le_ua_hints_t e = {.ch_ua_full_version_list =
                           LE_STR("\"Chromium\";v=\"124.0.6367.119\", \"Microsoft "
                                  "Edge\";v=\"124.0.2478.80\", \"Not-A.Brand\";"
                                  "v=\"99.0.0.0\"")};
    u = hinted("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
               &e);
    expect_field(&u, LE_UA_BROWSER, "Edge");
    expect_field(&u, LE_UA_BROWSER_PATCH, "2478");
    expect_field(&u, LE_UA_BROWSER_PATCH_MINOR, "80");
    /* Without the full list, Sec-CH-UA's major when it differs (minor and patch unknown). */
    le_ua_hints_t m = {.ch_ua = LE_STR("\"Google Chrome\";v=\"125\", \"Chromium\";v=\"125\"")};
    u = hinted(chrome_win, &m);
    expect_field(&u, LE_UA_BROWSER_MAJOR, "125");
    expect_field(&u, LE_UA_BROWSER_MINOR, NULL);
    /* GREASE first, with a plausible version, and no brand naming the browser: nothing. */
    le_ua_hints_t g = {.ch_ua_full_version_list = LE_STR("\"Not_A Brand\";v=\"8.0.0.0\", "
                                                         "\"Chromium\";v=\"120.0.6099.71\"")};
    u = hinted(chrome_win, &g);
    expect_field(&u, LE_UA_BROWSER_MAJOR, "124");
    expect_field(&u, LE_UA_BROWSER_PATCH, "0");
    assert_int_equal(u.hints, 0);
    /* GREASE with odd characters and a real brand after it. */
    le_ua_hints_t g2 = {.ch_ua = LE_STR("\"Not)A;Brand\";v=\"24\", \"Google Chrome\";v=\"116\"")};
    u = hinted(chrome_win, &g2);
    expect_field(&u, LE_UA_BROWSER_MAJOR, "116");
    /* Brave sends Chrome's User-Agent: its brand names it. */
    le_ua_hints_t b = {.ch_ua = LE_STR("\"Chromium\";v=\"124\", \"Brave\";v=\"124\", "
                                       "\"Not-A.Brand\";v=\"99\"")};
    u = hinted(chrome_win, &b);
    expect_field(&u, LE_UA_BROWSER, "Brave");
    expect_field(&u, LE_UA_BROWSER_MAJOR, "124");
    assert_true(u.browser_known);
}

static void test_hints_platforms(void **st) {
    NEED_REAL();
    /* macOS: the User-Agent is frozen at 10_15_7. */
    le_ua_hints_t h = {.ch_ua_platform = LE_STR("\"macOS\""),
                       .ch_ua_platform_version = LE_STR("\"14.4.1\"")};
    le_ua_t u = hinted("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                       "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                       &h);
    expect_field(&u, LE_UA_OS, "Mac OS X");
    expect_field(&u, LE_UA_OS_MAJOR, "14");
    expect_field(&u, LE_UA_OS_MINOR, "4");
    expect_field(&u, LE_UA_OS_PATCH, "1");
    assert_int_equal(u.device_class, LE_DEV_DESKTOP);
    /* Android, reduced User-Agent ("Android 10; K"): model and version from the hints. */
    le_ua_hints_t a = {.ch_ua_mobile = LE_STR("?1"),
                       .ch_ua_platform = LE_STR("\"Android\""),
                       .ch_ua_platform_version = LE_STR("\"14.0.0\""),
                       .ch_ua_model = LE_STR("\"Pixel 7\"")};
    u = hinted("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Mobile Safari/537.36",
               &a);
    expect_field(&u, LE_UA_OS, "Android");
    expect_field(&u, LE_UA_OS_MAJOR, "14");
    expect_field(&u, LE_UA_MODEL, "Pixel 7");
    expect_field(&u, LE_UA_DEVICE, "Pixel 7");
    assert_int_equal(u.device_class, LE_DEV_MOBILE);
    assert_true(u.hints & LE_UA_CH_MODEL);
    assert_true(u.hints & LE_UA_CH_OS);
    /* A real model in the User-Agent keeps its family; the hint's model replaces the model. */
    u = hinted("Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/112.0.0.0 Mobile Safari/537.36",
               &a);
    expect_field(&u, LE_UA_DEVICE, "Samsung SM-S918B");
    expect_field(&u, LE_UA_MODEL, "Pixel 7");
    /* Mobile ?1 on a desktop-looking User-Agent (a phone in desktop mode): mobile. */
    le_ua_hints_t mob = {.ch_ua_mobile = LE_STR("?1"), .ch_ua_platform = LE_STR("\"Android\"")};
    u = hinted("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Safari/537.36",
               &mob);
    assert_int_equal(u.device_class, LE_DEV_MOBILE);
    assert_true(u.hints & LE_UA_CH_MOBILE);
    expect_field(&u, LE_UA_OS, "Android"); /* the platform disagreed: it wins */
    /* Android in desktop mode that is not mobile: a tablet. */
    le_ua_hints_t tab = {.ch_ua_mobile = LE_STR("?0"), .ch_ua_platform = LE_STR("\"Android\"")};
    u = hinted("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Safari/537.36",
               &tab);
    assert_int_equal(u.device_class, LE_DEV_TABLET);
    expect_field(&u, LE_UA_OS, "Android");
    /* ...but a tablet stays a tablet. */
    u = hinted("Mozilla/5.0 (Linux; Android 12; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/112.0.0.0 Safari/537.36",
               &mob);
    assert_int_equal(u.device_class, LE_DEV_TABLET);
    /* Chrome OS and Linux (a distribution is not overwritten by "Linux"). */
    le_ua_hints_t c = {.ch_ua_platform = LE_STR("\"Chrome OS\""),
                       .ch_ua_platform_version = LE_STR("\"15633.69.0\"")};
    u = hinted("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Safari/537.36",
               &c);
    expect_field(&u, LE_UA_OS, "Chrome OS");
    expect_field(&u, LE_UA_OS_MAJOR, "15633");
    expect_field(&u, LE_UA_OS_MINOR, "69");
    le_ua_hints_t l = {.ch_ua_platform = LE_STR("\"Linux\""),
                       .ch_ua_platform_version = LE_STR("\"6.5.0\"")};
    u = hinted("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
               &l);
    expect_field(&u, LE_UA_OS, "Ubuntu");
    assert_int_equal(u.hints, 0);
}

static void test_hints_bots_and_garbage(void **st) {
    NEED_REAL();
    /* Hints never turn a bot into a browser. */
    le_ua_hints_t h = {.ch_ua = le_str(chrome_ua),
                       .ch_ua_full_version_list = le_str(chrome_fvl),
                       .ch_ua_mobile = LE_STR("?1"),
                       .ch_ua_platform = LE_STR("\"Windows\""),
                       .ch_ua_platform_version = LE_STR("\"15.0.0\""),
                       .ch_ua_model = LE_STR("\"Pixel 7\"")};
    le_ua_t u =
        hinted("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", &h);
    assert_int_equal(u.device_class, LE_DEV_BOT);
    assert_true(u.spider);
    assert_int_equal(u.hints, 0);
    expect_field(&u, LE_UA_BROWSER, "Googlebot");
    expect_field(&u, LE_UA_OS, "Other");
    /* NULL hints: nothing happens. */
    le_ua_t ref = parse(real, chrome_win), v = ref;
    le_ua_apply_hints(&v, NULL);
    assert_memory_equal(&v, &ref, sizeof(v));
    /* Malformed structured fields are ignored as a whole. */
    static const char *const bad_lists[] = {
        "\"Google Chrome\";v=\"125",                          /* unterminated string */
        "\"Google Chrome\";v=\"125\" \"Chromium\";v=\"125\"", /* missing comma */
        "\"Google Chrome\";v=\"125\",",                       /* trailing comma */
        "\"Google Chrome\";V=\"125\"",                        /* upper-case key */
        "\"Google\x01 Chrome\";v=\"125\"",                    /* control character */
        "\"Google \xc3\xa9\";v=\"125\"",                      /* non-ASCII in a string */
        "\"Google Chrome\";v=\"125\\x\"",                     /* bad escape */
        "(\"Google Chrome\";v=\"125\"",                       /* unclosed inner list */
        ";;;",
        "\"Google Chrome\";v=\"1.2.3.4.5.6\"", /* too many parts */
        "\"Google Chrome\";v=\"99999999999999999999999999999999999\"",
        "\"Google Chrome\";v=\"12a\"",
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad_lists); i++) {
        le_ua_hints_t b = {.ch_ua_full_version_list = le_str(bad_lists[i])};
        u = hinted(chrome_win, &b);
        if (u.hints) fprintf(stderr, "accepted: %s\n", bad_lists[i]);
        assert_int_equal(u.hints, 0);
        expect_field(&u, LE_UA_BROWSER_MAJOR, "124");
        expect_field(&u, LE_UA_BROWSER_PATCH, "0");
    }
    static const char *const bad_platforms[] = {"Windows", "\"Windows", "\"Windows\" x",
                                                "?1",      "\"\"",      "\"Windows\"\"Linux\""};
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad_platforms); i++) {
        le_ua_hints_t b = {.ch_ua_platform = le_str(bad_platforms[i]),
                           .ch_ua_platform_version = LE_STR("\"15.0.0\"")};
        u = hinted(chrome_win, &b);
        assert_int_equal(u.hints, 0);
        expect_field(&u, LE_UA_OS_MAJOR, "10");
    }
    static const char *const bad_versions[] = {"15.0.0",  "\"abc\"", "\"15..0\"", "\"15.\"",
                                               "\".15\"", "\"-15\"", "\"\""};
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad_versions); i++) {
        le_ua_hints_t b = {.ch_ua_platform = LE_STR("\"Windows\""),
                           .ch_ua_platform_version = le_str(bad_versions[i])};
        u = hinted(chrome_win, &b);
        expect_field(&u, LE_UA_OS_MAJOR, "10");
    }
    static const char *const bad_mobile[] = {"?2", "1", "?", "?1 x", "\"?1\"", "true"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad_mobile); i++) {
        le_ua_hints_t b = {.ch_ua_mobile = le_str(bad_mobile[i])};
        u = hinted(chrome_win, &b);
        assert_int_equal(u.device_class, LE_DEV_DESKTOP);
    }
    /* Valid but unusual: parameters on items, inner lists and tokens skipped, OWS. */
    le_ua_hints_t ok = {.ch_ua = LE_STR("  (\"a\" \"b\");x=1, tok, ?0, 12, \"Google Chrome\";"
                                        "q=0.5;v=\"126\";z  ,\t\"Chromium\";v=\"126\"  "),
                        .ch_ua_mobile = LE_STR("?1;x=2")};
    u = hinted(chrome_win, &ok);
    expect_field(&u, LE_UA_BROWSER_MAJOR, "126");
    assert_int_equal(u.device_class, LE_DEV_MOBILE);
    /* An empty model says nothing. */
    le_ua_hints_t em = {.ch_ua_model = LE_STR("\"\"")};
    u = hinted(chrome_win, &em);
    expect_field(&u, LE_UA_MODEL, NULL);
    assert_int_equal(u.hints, 0);
}

/* ---- cache -------------------------------------------------------------------------------- */

static void expect_stats(le_ua_cache_t *c, uint64_t hits, uint64_t misses, size_t entries) {
    uint64_t h, m;
    size_t e;
    le_ua_cache_stats(c, &h, &m, &e);
    assert_int_equal(h, hits);
    assert_int_equal(m, misses);
    assert_int_equal(e, entries);
}

static void test_cache(void **st) {
    le_ua_rules_t *r = load_text(small_rules);
    le_ua_cache_t *c = le_ua_cache_new(64);
    le_str_t a = LE_STR("Foo/1.2"), b = LE_STR("Bar/3");
    const le_ua_t *u = le_ua_lookup(c, r, a, NULL);
    expect_field(u, LE_UA_BROWSER, "Foo");
    expect_stats(c, 0, 1, 1);
    u = le_ua_lookup(c, r, a, NULL);
    expect_field(u, LE_UA_BROWSER, "Foo");
    expect_field(u, LE_UA_BROWSER_MINOR, "2");
    expect_stats(c, 1, 1, 1);
    u = le_ua_lookup(c, r, b, NULL);
    expect_field(u, LE_UA_BROWSER, "Bar 3 Browser");
    expect_stats(c, 1, 2, 2);
    /* Same bytes from another buffer: a hit (full key compared, not the pointer). */
    char copy[] = "Foo/1.2";
    u = le_ua_lookup(c, r, le_str(copy), NULL);
    expect_field(u, LE_UA_BROWSER, "Foo");
    expect_stats(c, 2, 2, 2);
    /* A prefix or an extension of a cached key is another key. */
    le_ua_lookup(c, r, LE_STR("Foo/1."), NULL);
    le_ua_lookup(c, r, LE_STR("Foo/1.23"), NULL);
    expect_stats(c, 2, 4, 4);
    /* Results equal a direct parse. */
    le_ua_t direct = parse(r, "Foo/1.23");
    u = le_ua_lookup(c, r, LE_STR("Foo/1.23"), NULL);
    assert_memory_equal(u, &direct, offsetof(le_ua_t, text) + direct.text_len);
    le_ua_cache_free(c);
    le_ua_cache_free(NULL);
    le_ua_rules_unref(r);
}

static void test_cache_bounds(void **st) {
    le_ua_rules_t *r = load_text(small_rules);
    le_ua_cache_t *c = le_ua_cache_new(16);
    char ua[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(ua, sizeof(ua), "Foo/%d.%d", i, i % 7);
        const le_ua_t *u = le_ua_lookup(c, r, le_str(ua), NULL);
        char want[16];
        snprintf(want, sizeof(want), "%d", i);
        expect_field(u, LE_UA_BROWSER_MAJOR, want);
    }
    size_t entries;
    uint64_t hits, misses;
    le_ua_cache_stats(c, &hits, &misses, &entries);
    assert_true(entries <= 16);
    assert_int_equal(misses, 1000);
    /* The most recent key is still there. */
    le_ua_lookup(c, r, le_str(ua), NULL);
    le_ua_cache_stats(c, &hits, NULL, NULL);
    assert_int_equal(hits, 1);
    /* Keys longer than LE_UA_CACHE_KEY_MAX are answered, never stored. */
    char *model = malloc(2000);
    assert_non_null(model);
    memset(model, 'm', 1999);
    model[0] = model[1998] = '"';
    model[1999] = '\0';
    le_ua_hints_t h = {.ch_ua_model = le_str(model)};
    le_ua_cache_stats(c, &hits, &misses, &entries);
    for (int k = 0; k < 3; k++)
        expect_field(le_ua_lookup(c, r, LE_STR("Foo/1.1"), &h), LE_UA_BROWSER, "Foo");
    expect_stats(c, hits, misses + 3, entries);
    free(model);
    /* A User-Agent is keyed by what a parse looks at: its first LE_UA_MATCH_MAX bytes. */
    char *l1 = malloc(3000), *l2 = malloc(3000);
    assert_non_null(l1);
    assert_non_null(l2);
    memset(l1, 'z', 3000);
    memcpy(l1, "Foo/9.9 ", 8);
    memcpy(l2, l1, 3000);
    l2[2999] = 'y';
    le_ua_cache_stats(c, &hits, &misses, &entries);
    le_ua_lookup(c, r, (le_str_t){l1, 3000}, NULL);
    const le_ua_t *u = le_ua_lookup(c, r, (le_str_t){l2, 3000}, NULL);
    expect_field(u, LE_UA_BROWSER_MAJOR, "9");
    uint64_t h2, m2;
    le_ua_cache_stats(c, &h2, &m2, &entries);
    assert_int_equal(h2, hits + 1);
    assert_int_equal(m2, misses + 1);
    assert_true(entries <= 16);
    free(l1);
    free(l2);
    le_ua_cache_free(c);
    /* Capacity 0: no caching at all. */
    c = le_ua_cache_new(0);
    for (int k = 0; k < 3; k++)
        expect_field(le_ua_lookup(c, r, LE_STR("Foo/1.1"), NULL), LE_UA_BROWSER, "Foo");
    expect_stats(c, 0, 3, 0);
    le_ua_cache_free(c);
    le_ua_rules_unref(r);
}

static void test_cache_hints_key(void **st) {
    NEED_REAL();
    le_ua_cache_t *c = le_ua_cache_new(128);
    le_ua_hints_t w11 = {.ch_ua_platform = LE_STR("\"Windows\""),
                         .ch_ua_platform_version = LE_STR("\"15.0.0\"")};
    le_ua_hints_t w10 = {.ch_ua_platform = LE_STR("\"Windows\""),
                         .ch_ua_platform_version = LE_STR("\"10.0.0\"")};
    /* Same bytes split differently across two hints: another key. */
    le_ua_hints_t split = {.ch_ua_platform = LE_STR("\"Windows\"\"15.0.0\""),
                           .ch_ua_platform_version = LE_STR("")};
    le_str_t ua = le_str(chrome_win);
    expect_field(le_ua_lookup(c, real, ua, NULL), LE_UA_OS_MAJOR, "10");
    expect_field(le_ua_lookup(c, real, ua, &w11), LE_UA_OS_MAJOR, "11");
    expect_field(le_ua_lookup(c, real, ua, &w10), LE_UA_OS_MAJOR, "10");
    expect_field(le_ua_lookup(c, real, ua, &split), LE_UA_OS_MAJOR, "10");
    expect_stats(c, 0, 4, 4);
    expect_field(le_ua_lookup(c, real, ua, &w11), LE_UA_OS_MAJOR, "11");
    expect_field(le_ua_lookup(c, real, ua, NULL), LE_UA_OS_MAJOR, "10");
    /* Empty hints are the same key as no hints. */
    le_ua_hints_t none = {0};
    expect_field(le_ua_lookup(c, real, ua, &none), LE_UA_OS_MAJOR, "10");
    expect_stats(c, 3, 4, 4);
    le_ua_cache_free(c);
}

static void test_cache_generation(void **st) {
    le_ua_rules_t *r1 = load_text(small_rules);
    /* The same User-Agent means something else under the reloaded rules. */
    static const char other[] = "user_agent_parsers:\n"
                                "  - regex: '(Foo)/(\\d+)'\n"
                                "    family_replacement: 'Reloaded'\n"
                                "os_parsers:\n  - regex: 'x'\n    os_replacement: X\n"
                                "device_parsers:\n  - regex: 'y'\n    device_replacement: Y\n";
    le_ua_rules_t *r2 = load_text(other);
    assert_true(le__ua_rules_generation(r1) != le__ua_rules_generation(r2));
    le_ua_cache_t *c = le_ua_cache_new(32);
    le_str_t a = LE_STR("Foo/1.2");
    expect_field(le_ua_lookup(c, r1, a, NULL), LE_UA_BROWSER, "Foo");
    expect_field(le_ua_lookup(c, r1, a, NULL), LE_UA_BROWSER, "Foo");
    expect_stats(c, 1, 1, 1);
    expect_field(le_ua_lookup(c, r2, a, NULL), LE_UA_BROWSER, "Reloaded");
    expect_stats(c, 1, 2, 1);
    expect_field(le_ua_lookup(c, r2, a, NULL), LE_UA_BROWSER, "Reloaded");
    expect_stats(c, 2, 2, 1);
    /* Even a rules object at a recycled address is another generation. */
    le_ua_rules_unref(r1);
    le_ua_rules_t *r3 = load_text(small_rules);
    expect_field(le_ua_lookup(c, r3, a, NULL), LE_UA_BROWSER, "Foo");
    expect_stats(c, 2, 3, 1);
    le_ua_cache_free(c);
    le_ua_rules_unref(r2);
    le_ua_rules_unref(r3);
}

/* ---- threads ------------------------------------------------------------------------------ */

#define NTHREADS 4
static const char *const thread_uas[] = {
    chrome_win,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36",
    "curl/7.88.1",
};

static void *thread_main(void *arg) {
    const le_ua_t *want = arg;
    le_ua_cache_t *c = le_ua_cache_new(8);
    int bad = 0;
    for (int k = 0; k < 300; k++) {
        size_t i = (size_t)k % LE_ARRAY_SIZE(thread_uas);
        le_ua_t u;
        le_ua_parse(real, thread_uas[i], strlen(thread_uas[i]), &u);
        bad += memcmp(&u, &want[i], offsetof(le_ua_t, text) + want[i].text_len) != 0;
        const le_ua_t *x = le_ua_lookup(c, real, le_str(thread_uas[i]), NULL);
        bad += memcmp(x, &want[i], offsetof(le_ua_t, text) + want[i].text_len) != 0;
    }
    le_ua_cache_free(c);
    return (void *)(intptr_t)bad;
}

static void test_threads(void **st) {
    NEED_REAL();
    le_ua_t want[LE_ARRAY_SIZE(thread_uas)];
    for (size_t i = 0; i < LE_ARRAY_SIZE(thread_uas); i++) want[i] = parse(real, thread_uas[i]);
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, want), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *bad;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_int_equal((intptr_t)bad, 0);
    }
}

/* ---- main --------------------------------------------------------------------------------- */

static int setup(void **st) {
    if (!mkdtemp(tmpdir)) return -1;
    const char *dir = getenv("LE_UAP_CORE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/regexes.yaml", dir && *dir ? dir : "/usr/share/uap-core");
    le_buf_t err = LE_BUF_INIT;
    if (access(path, R_OK) == 0 && le_ua_rules_load(path, &real, &err) != 0) {
        fprintf(stderr, "%s", le_buf_cstr(&err));
        le_buf_free(&err);
        return -1;
    }
    if (!real) fprintf(stderr, "note: %s not installed; tests that need it are skipped\n", path);
    le_buf_free(&err);
    return 0;
}

static int teardown(void **st) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return -1;
    le_ua_rules_unref(real);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_changed),
        cmocka_unit_test(test_replacements),
        cmocka_unit_test(test_real_rules),
        cmocka_unit_test(test_device_class),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_hints_windows),
        cmocka_unit_test(test_hints_browser),
        cmocka_unit_test(test_hints_platforms),
        cmocka_unit_test(test_hints_bots_and_garbage),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_bounds),
        cmocka_unit_test(test_cache_hints_key),
        cmocka_unit_test(test_cache_generation),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
