/*
 * test_contact.c: contact data quality (score/contact.c).
 *
 * Tables of what people type into forms, each with the exact normal form (or the rejection)
 * it must give: e-mail addresses, phone numbers for DE, AT, CH, GB, FR, US and others,
 * postal codes, and job titles in German and English with the buying-centre role. Then the
 * domain lists: syntax errors with their line numbers, comments, parent-domain matches,
 * and the lists shipped in config/ (they must load cleanly and classify the big providers).
 * Bad input throughout: oversize strings, control bytes, NUL, invalid UTF-8.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "contact.h"

#ifndef LE_FREEMAIL_LIST
#error "LE_FREEMAIL_LIST: path of config/freemail-domains.txt"
#endif
#ifndef LE_DISPOSABLE_LIST
#error "LE_DISPOSABLE_LIST: path of config/disposable-domains.txt"
#endif

/* A string literal with its length, so cases may hold NUL bytes. */
#define S(lit) (lit), sizeof(lit) - 1

static const char *rc_name(int rc) {
    static char buf[32];
    switch (rc) {
        case 0:
            return "0";
        case LE_EINVAL:
            return "LE_EINVAL";
        case LE_ETOOBIG:
            return "LE_ETOOBIG";
        case LE_POSTAL_UNCHECKED:
            return "LE_POSTAL_UNCHECKED";
        default:
            snprintf(buf, sizeof(buf), "%d", rc);
            return buf;
    }
}

/* ---- E-mail ------------------------------------------------------------------------------ */

static const struct {
    const char *in;
    size_t len;
    const char *out; /* NULL: invalid */
} email_cases[] = {
    /* good: trimmed, domain lower-cased, local part as typed */
    {S("Max.Muster@Example.DE"), "Max.Muster@example.de"},
    {S("  john@example.com \t\r\n"), "john@example.com"},
    {S("\xc2\xa0"
       "a@b.co\xc2\xa0"),
     "a@b.co"},
    {S("\xef\xbb\xbfuser@Host.Example.ORG\xe2\x80\x8b"), "user@host.example.org"},
    {S("first.last+tag@sub-domain.example.co.uk"), "first.last+tag@sub-domain.example.co.uk"},
    {S("o'brien@example.ie"), "o'brien@example.ie"},
    {S("x!#$%&'*+-/=?^_`{|}~@example.com"), "x!#$%&'*+-/=?^_`{|}~@example.com"},
    {S("a@xn--mller-kva.de"), "a@xn--mller-kva.de"},
    {S("1234567890@123.example.com"), "1234567890@123.example.com"},
    {S("UPPER@UPPER.COM"), "UPPER@upper.com"},
    {S("a@b.io"), "a@b.io"},
    {S("a-b_c@a-1.example.museum"), "a-b_c@a-1.example.museum"},
    /* bad */
    {S(""), NULL},
    {S("   "), NULL},
    {S("plainaddress"), NULL},
    {S("@example.com"), NULL},
    {S("user@"), NULL},
    {S("a@@example.com"), NULL},
    {S("a@b@example.com"), NULL},
    {S(".a@example.com"), NULL},
    {S("a.@example.com"), NULL},
    {S("a..b@example.com"), NULL},
    {S("a@example..com"), NULL},
    {S("a@.example.com"), NULL},
    {S("a@example.com."), NULL},
    {S("a@localhost"), NULL},
    {S("a@example"), NULL}, /* missing TLD */
    {S("a@example.c"), NULL},
    {S("a@example.123"), NULL},
    {S("a@-example.com"), NULL},
    {S("a@example-.com"), NULL},
    {S("a@exa_mple.com"), NULL},
    {S("\"quoted\"@example.com"), NULL},
    {S("a@[192.0.2.1]"), NULL},
    {S("a b@example.com"), NULL},
    {S("a@exa mple.com"), NULL},
    {S("a\x01@example.com"), NULL},
    {S("a@example.com\x7f"), NULL},
    {S("a@example.com\0x"), NULL},
    {S("a\0@example.com"), NULL},
    {S("m\xc3\xbcller@example.de"), NULL},
    {S("a@m\xc3\xbcller.de"), NULL},
    {S("\xff\xfe@example.com"), NULL},
    {S("a@example.com\xc3"), NULL},
    {S("a(comment)@example.com"), NULL},
    {S("<a@example.com>"), NULL},
    {S("Max <a@example.com>"), NULL},
    {S("a@example.com, b@example.com"), NULL},
    {S("mailto:a@example.com"), NULL},
};

static void test_email_table(void **st) {
    int bad = 0;
    for (size_t i = 0; i < LE_ARRAY_SIZE(email_cases); i++) {
        char out[LE_EMAIL_SIZE];
        size_t olen = 99;
        int rc = le_email_normalize(email_cases[i].in, email_cases[i].len, out, sizeof(out), &olen);
        const char *want = email_cases[i].out;
        if (want ? (rc != 0 || strcmp(out, want) != 0 || olen != strlen(want))
                 : (rc != LE_EINVAL || out[0] != '\0' || olen != 0)) {
            print_error("email case %zu: rc %s out \"%s\", expected %s\n", i, rc_name(rc), out,
                        want ? want : "LE_EINVAL");
            bad++;
        }
    }
    if (bad) fail_msg("%d e-mail cases failed", bad);
}

/* An address of exactly len bytes with a local part of local bytes (labels of at most 51). */
static size_t make_address(char *buf, size_t local, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < local; i++) buf[n++] = 'a';
    buf[n++] = '@';
    size_t label = 0;
    while (n < len - 4) {
        buf[n++] = label == 50 ? '.' : 'b';
        label = label == 50 ? 0 : label + 1;
    }
    if (buf[n - 1] == '.') buf[n - 1] = 'b';
    memcpy(buf + n, ".com", 4);
    return n + 4;
}

static void test_email_limits(void **st) {
    char in[1024], out[LE_EMAIL_SIZE];
    size_t olen;
    /* local part 64 is fine, 65 is not */
    size_t n = make_address(in, 64, 80);
    assert_int_equal(le_email_normalize(in, n, out, sizeof(out), &olen), 0);
    assert_int_equal(olen, 80);
    n = make_address(in, 65, 80);
    assert_int_equal(le_email_normalize(in, n, out, sizeof(out), &olen), LE_EINVAL);
    /* 254 bytes in all is fine, 255 is not */
    n = make_address(in, 10, 254);
    assert_int_equal(n, 254);
    assert_int_equal(le_email_normalize(in, n, out, sizeof(out), &olen), 0);
    assert_int_equal(olen, 254);
    assert_memory_equal(out, in, 254);
    n = make_address(in, 10, 255);
    assert_int_equal(le_email_normalize(in, n, out, sizeof(out), &olen), LE_EINVAL);
    /* a label of 63 is fine, 64 is not */
    char lab[128] = "a@";
    memset(lab + 2, 'c', 63);
    memcpy(lab + 65, ".de", 4);
    assert_int_equal(le_email_normalize(lab, strlen(lab), out, sizeof(out), NULL), 0);
    memset(lab + 2, 'c', 64);
    memcpy(lab + 66, ".de", 4);
    assert_int_equal(le_email_normalize(lab, strlen(lab), out, sizeof(out), NULL), LE_EINVAL);
    /* 10 KB of garbage, and 10 KB of spaces around a good address */
    char *big = malloc(10240 + 32);
    memset(big, 'x', 10240);
    assert_int_equal(le_email_normalize(big, 10240, out, sizeof(out), &olen), LE_EINVAL);
    memset(big, ' ', 10240);
    memcpy(big + 5000, "A@B.DE", 6);
    assert_int_equal(le_email_normalize(big, 10240, out, sizeof(out), &olen), 0);
    assert_string_equal(out, "A@b.de");
    free(big);
    /* a small buffer: LE_ETOOBIG and an empty string; exactly fitting is fine */
    assert_int_equal(le_email_normalize(S("ab@Example.com"), out, 14, &olen), LE_ETOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(olen, 0);
    assert_int_equal(le_email_normalize(S("ab@Example.com"), out, 15, &olen), 0);
    assert_string_equal(out, "ab@example.com");
    assert_int_equal(le_email_normalize(S("ab@Example.com"), NULL, 0, NULL), LE_ETOOBIG);
    assert_int_equal(le_email_normalize(NULL, 0, out, sizeof(out), &olen), LE_EINVAL);
}

static void test_email_domain(void **st) {
    le_str_t d = le_email_domain(LE_STR("max@example.de"));
    assert_int_equal(d.len, 10);
    assert_memory_equal(d.ptr, "example.de", 10);
    d = le_email_domain(LE_STR("a@"));
    assert_non_null(d.ptr);
    assert_int_equal(d.len, 0);
    d = le_email_domain(LE_STR("no-at-sign"));
    assert_null(d.ptr);
    assert_int_equal(d.len, 0);
    d = le_email_domain(LE_STR_NULL);
    assert_null(d.ptr);
}

/* ---- Domain lists ------------------------------------------------------------------------ */

static void test_domains_text(void **st) {
    static const char text[] = "# freemail providers\n"
                               "\n"
                               "gmx.de\n"
                               "  WEB.DE  \r\n"
                               "t-online.de.\n"
                               "mail.example.org  # a comment after the domain\n"
                               "gmx.de\n"
                               "bad..example\n"
                               "localhost\n"
                               "two.com words.com\n"
                               "-dash.com\n"
                               "m\xc3\xbcller.de\n"
                               "\tyahoo.co.uk\t\n"
                               "a\x01"
                               "b.com\n"
                               "last.net";
    le_domains_t *d = le_domains_new();
    le_buf_t err = LE_BUF_INIT;
    assert_int_equal(le_domains_load(d, "freemail.txt", (le_str_t){text, sizeof(text) - 1}, &err),
                     LE_EINVAL);
    assert_string_equal(
        le_buf_cstr(&err),
        "freemail.txt:8: \"bad..example\": empty label (a leading, trailing or double dot)\n"
        "freemail.txt:9: \"localhost\": a single label: at least a name and a top-level domain "
        "are needed\n"
        "freemail.txt:10: \"two.com words.com\": expected one domain name per line\n"
        "freemail.txt:11: \"-dash.com\": label starts or ends with a hyphen\n"
        "freemail.txt:12: \"m\\xc3\\xbcller.de\": not an ASCII domain name (write "
        "internationalised names in punycode, xn--...)\n"
        "freemail.txt:14: \"a\\x01b.com\": only letters, digits, '-' and '.' may appear in a "
        "domain name\n");
    /* the good lines are in, duplicates once */
    assert_int_equal(le_domains_count(d), 6);
    assert_true(le_domains_has(d, LE_STR("gmx.de")));
    assert_true(le_domains_has(d, LE_STR("web.de")));
    assert_true(le_domains_has(d, LE_STR("t-online.de")));
    assert_true(le_domains_has(d, LE_STR("mail.example.org")));
    assert_true(le_domains_has(d, LE_STR("yahoo.co.uk")));
    assert_true(le_domains_has(d, LE_STR("last.net")));
    /* parents match, case-insensitively, with a trailing dot */
    assert_true(le_domains_has(d, LE_STR("mail.gmx.de")));
    assert_true(le_domains_has(d, LE_STR("A.B.MAIL.GMX.DE.")));
    assert_true(le_domains_has(d, LE_STR("Web.De")));
    assert_true(le_domains_has(d, LE_STR("x.mail.example.org")));
    /* children, siblings and look-alikes do not */
    assert_false(le_domains_has(d, LE_STR("example.org")));
    assert_false(le_domains_has(d, LE_STR("other.example.org")));
    assert_false(le_domains_has(d, LE_STR("xgmx.de")));
    assert_false(le_domains_has(d, LE_STR("gmx.de.evil.com")));
    assert_false(le_domains_has(d, LE_STR("de")));
    assert_false(le_domains_has(d, LE_STR("co.uk")));
    assert_false(le_domains_has(d, LE_STR("")));
    assert_false(le_domains_has(d, LE_STR(".")));
    assert_false(le_domains_has(d, LE_STR_NULL));
    assert_false(le_domains_has(NULL, LE_STR("gmx.de")));
    assert_false(le_domains_has(d, (le_str_t){"gmx.de\0", 7}));
    /* add */
    assert_int_equal(le_domains_add(d, LE_STR("Example.COM.")), 0);
    assert_true(le_domains_has(d, LE_STR("www.example.com")));
    assert_int_equal(le_domains_add(d, LE_STR("com")), LE_EINVAL);
    assert_int_equal(le_domains_add(d, LE_STR("a b.com")), LE_EINVAL);
    assert_int_equal(le_domains_add(d, LE_STR("")), LE_EINVAL);
    assert_int_equal(le_domains_count(d), 7);
    le_buf_free(&err);
    le_domains_free(d);

    /* Clean text: 0 and no message; NULL errors buffer is fine. */
    d = le_domains_new();
    assert_int_equal(le_domains_load(d, "x", LE_STR("# only\n\n  # comments\r\na.de\n"), NULL), 0);
    assert_int_equal(le_domains_load(d, "x", LE_STR("bad\n"), NULL), LE_EINVAL);
    assert_int_equal(le_domains_load(d, "x", LE_STR(""), NULL), 0);
    assert_int_equal(le_domains_count(d), 1);
    le_domains_free(d);
    le_domains_free(NULL);
}

static void test_domains_many(void **st) {
    /* 100k domains: the set grows; every one is found, no other */
    le_domains_t *d = le_domains_new();
    char name[64];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(name, sizeof(name), "host%d.example%d.com", i, i % 7);
        assert_int_equal(le_domains_add(d, (le_str_t){name, (size_t)n}), 0);
    }
    assert_int_equal(le_domains_count(d), 100000);
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(name, sizeof(name), "mx.HOST%d.example%d.com", i, i % 7);
        if (!le_domains_has(d, (le_str_t){name, (size_t)n})) fail_msg("%s missing", name);
        n = snprintf(name, sizeof(name), "host%d.example%d.com", i, (i + 1) % 7);
        if (le_domains_has(d, (le_str_t){name, (size_t)n})) fail_msg("%s found", name);
    }
    le_domains_free(d);

    /* More bad lines than are reported: 20 lines, then a summary. */
    le_buf_t text = LE_BUF_INIT, err = LE_BUF_INIT;
    for (int i = 0; i < 25; i++) le_buf_puts(&text, "bad\n");
    d = le_domains_new();
    assert_int_equal(le_domains_load(d, "l", (le_str_t){text.data, text.len}, &err), LE_EINVAL);
    const char *e = le_buf_cstr(&err);
    size_t lines = 0;
    for (const char *p = e; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 21);
    assert_non_null(strstr(e, "l:20: \"bad\""));
    assert_null(strstr(e, "l:21:"));
    assert_non_null(strstr(e, "\nl: 5 more bad lines\n"));
    le_domains_free(d);
    le_buf_free(&text);
    le_buf_free(&err);
}

static char *write_temp(const char *content, size_t n) {
    const char *base = getenv("TMPDIR");
    char *path = malloc(512);
    snprintf(path, 512, "%s/le_contact_XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_domains_file(void **st) {
    static const char text[] = "# test list\nok.example\n\nbad_name.example\nfine.example.\n";
    char *path = write_temp(text, sizeof(text) - 1);
    le_domains_t *d = le_domains_new();
    le_buf_t err = LE_BUF_INIT, want = LE_BUF_INIT;
    assert_int_equal(le_domains_load_file(d, path, &err), LE_EINVAL);
    le_buf_printf(&want,
                  "%s:4: \"bad_name.example\": only letters, digits, '-' and '.' may appear in "
                  "a domain name\n",
                  path);
    assert_string_equal(le_buf_cstr(&err), le_buf_cstr(&want));
    assert_int_equal(le_domains_count(d), 2);
    assert_true(le_domains_has(d, LE_STR("www.fine.example")));
    unlink(path);

    /* missing file, a directory */
    le_buf_reset(&err);
    le_buf_reset(&want);
    assert_int_equal(le_domains_load_file(d, path, &err), -ENOENT);
    le_buf_printf(&want, "%s: No such file or directory\n", path);
    assert_string_equal(le_buf_cstr(&err), le_buf_cstr(&want));
    le_buf_reset(&err);
    assert_int_equal(le_domains_load_file(d, "/", &err), -EISDIR);
    assert_string_equal(le_buf_cstr(&err), "/: Is a directory\n");
    assert_int_equal(le_domains_count(d), 2);
    free(path);

    /* an empty file, and one without a final newline */
    path = write_temp("", 0);
    assert_int_equal(le_domains_load_file(d, path, NULL), 0);
    unlink(path);
    free(path);
    path = write_temp("z.example", 9);
    assert_int_equal(le_domains_load_file(d, path, NULL), 0);
    assert_true(le_domains_has(d, LE_STR("z.example")));
    unlink(path);
    free(path);

    le_buf_free(&err);
    le_buf_free(&want);
    le_domains_free(d);
}

/* Each domain line of the file at path, handed to fn. */
static void for_each_listed(const char *path, void (*fn)(le_str_t dom, void *arg), void *arg) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        size_t n = strcspn(line, " \t\r\n#");
        if (n > 0) fn((le_str_t){line, n}, arg);
    }
    fclose(f);
}

static void not_in(le_str_t dom, void *arg) {
    if (le_domains_has(arg, dom)) fail_msg("%.*s is in both shipped lists", (int)dom.len, dom.ptr);
}

static void test_shipped_lists(void **st) {
    le_domains_t *fm = le_domains_new(), *dis = le_domains_new();
    le_buf_t err = LE_BUF_INIT;
    assert_int_equal(le_domains_load_file(fm, LE_FREEMAIL_LIST, &err), 0);
    assert_int_equal(le_domains_load_file(dis, LE_DISPOSABLE_LIST, &err), 0);
    assert_int_equal(err.len, 0);
    assert_true(le_domains_count(fm) >= 200);
    assert_true(le_domains_count(dis) >= 100);

    static const struct {
        const char *domain;
        le_domain_kind_t kind;
    } cases[] = {
        {"gmail.com", LE_DOMAIN_FREEMAIL},
        {"googlemail.com", LE_DOMAIN_FREEMAIL},
        {"web.de", LE_DOMAIN_FREEMAIL},
        {"gmx.de", LE_DOMAIN_FREEMAIL},
        {"gmx.net", LE_DOMAIN_FREEMAIL},
        {"gmx.at", LE_DOMAIN_FREEMAIL},
        {"gmx.ch", LE_DOMAIN_FREEMAIL},
        {"t-online.de", LE_DOMAIN_FREEMAIL},
        {"freenet.de", LE_DOMAIN_FREEMAIL},
        {"posteo.de", LE_DOMAIN_FREEMAIL},
        {"mailbox.org", LE_DOMAIN_FREEMAIL},
        {"outlook.com", LE_DOMAIN_FREEMAIL},
        {"hotmail.de", LE_DOMAIN_FREEMAIL},
        {"hotmail.co.uk", LE_DOMAIN_FREEMAIL},
        {"live.de", LE_DOMAIN_FREEMAIL},
        {"yahoo.fr", LE_DOMAIN_FREEMAIL},
        {"icloud.com", LE_DOMAIN_FREEMAIL},
        {"me.com", LE_DOMAIN_FREEMAIL},
        {"aol.com", LE_DOMAIN_FREEMAIL},
        {"proton.me", LE_DOMAIN_FREEMAIL},
        {"protonmail.com", LE_DOMAIN_FREEMAIL},
        {"bluewin.ch", LE_DOMAIN_FREEMAIL},
        {"orange.fr", LE_DOMAIN_FREEMAIL},
        {"free.fr", LE_DOMAIN_FREEMAIL},
        {"laposte.net", LE_DOMAIN_FREEMAIL},
        {"btinternet.com", LE_DOMAIN_FREEMAIL},
        {"MAIL.GMX.DE.", LE_DOMAIN_FREEMAIL},
        {"mailinator.com", LE_DOMAIN_DISPOSABLE},
        {"10minutemail.com", LE_DOMAIN_DISPOSABLE},
        {"guerrillamail.com", LE_DOMAIN_DISPOSABLE},
        {"yopmail.com", LE_DOMAIN_DISPOSABLE},
        {"trashmail.com", LE_DOMAIN_DISPOSABLE},
        {"temp-mail.org", LE_DOMAIN_DISPOSABLE},
        {"sub.mailinator.com", LE_DOMAIN_DISPOSABLE},
        {"example-firm.de", LE_DOMAIN_BUSINESS},
        {"siemens.com", LE_DOMAIN_BUSINESS},
        {"gmail.com.example-firm.de", LE_DOMAIN_BUSINESS},
        {"de", LE_DOMAIN_BUSINESS},
    };
    int bad = 0;
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        le_domain_kind_t k = le_domain_classify(fm, dis, le_str(cases[i].domain));
        if (k != cases[i].kind) {
            print_error("%s: %s, expected %s\n", cases[i].domain, le_domain_kind_name(k),
                        le_domain_kind_name(cases[i].kind));
            bad++;
        }
    }
    if (bad) fail_msg("%d classifications failed", bad);
    /* no domain is in both lists (disposable would win silently) */
    for_each_listed(LE_DISPOSABLE_LIST, not_in, fm);
    /* no lists: everything is business */
    assert_int_equal(le_domain_classify(NULL, NULL, LE_STR("gmail.com")), LE_DOMAIN_BUSINESS);
    /* disposable wins */
    le_domains_t *both = le_domains_new();
    assert_int_equal(le_domains_add(both, LE_STR("gmail.com")), 0);
    assert_int_equal(le_domain_classify(fm, both, LE_STR("gmail.com")), LE_DOMAIN_DISPOSABLE);
    le_domains_free(both);
    le_buf_free(&err);
    le_domains_free(fm);
    le_domains_free(dis);
}

static void test_domain_kind_names(void **st) {
    assert_string_equal(le_domain_kind_name(LE_DOMAIN_BUSINESS), "business");
    assert_string_equal(le_domain_kind_name(LE_DOMAIN_FREEMAIL), "freemail");
    assert_string_equal(le_domain_kind_name(LE_DOMAIN_DISPOSABLE), "disposable");
    assert_string_equal(le_domain_kind_name((le_domain_kind_t)3), "?");
    assert_string_equal(le_domain_kind_name((le_domain_kind_t)-1), "?");
    assert_int_equal(le_domain_kind_parse(S("business")), LE_DOMAIN_BUSINESS);
    assert_int_equal(le_domain_kind_parse(S("Freemail")), LE_DOMAIN_FREEMAIL);
    assert_int_equal(le_domain_kind_parse(S("DISPOSABLE")), LE_DOMAIN_DISPOSABLE);
    assert_int_equal(le_domain_kind_parse(S("free")), -1);
    assert_int_equal(le_domain_kind_parse(S("freemail ")), -1);
    assert_int_equal(le_domain_kind_parse(S("")), -1);
    assert_int_equal(le_domain_kind_parse(NULL, 0), -1);
}

/* ---- Phone numbers ----------------------------------------------------------------------- */

static const struct {
    const char *in;
    size_t len;
    const char *country;
    const char *out; /* NULL: invalid */
} phone_cases[] = {
    /* DE */
    {S("+49 30 1234567"), NULL, "+49301234567"},
    {S("+49 (0)30 1234567"), NULL, "+49301234567"},
    {S("+49 (0) 30 / 123 45 67"), "DE", "+49301234567"},
    {S("030 1234567"), "DE", "+49301234567"},
    {S("030/1234567"), "de", "+49301234567"},
    {S("0049 30 1234567"), NULL, "+49301234567"},
    {S("(030) 123-4567"), "DE", "+49301234567"},
    {S("(0)30 1234567"), "DE", "+49301234567"},
    {S("+49 030 1234567"), NULL, "+49301234567"},
    {S("+49\xc2\xa0"
       "30\xc2\xa0"
       "1234567"),
     NULL, "+49301234567"},
    {S("  +49 171 1234567\r\n"), "FR", "+491711234567"},
    {S("0171.123.45.67"), "DE", "+491711234567"},
    {S("+49 89 12345"), NULL, "+498912345"},
    {S("030 1234567"), NULL, NULL},
    {S("30 1234567"), "DE", NULL},
    {S("+49 1234"), NULL, NULL},
    {S("+49 12345678901234"), NULL, NULL},
    {S("+49 30 12 (0) 34567"), NULL, NULL},
    /* AT */
    {S("+43 1 234567"), NULL, "+431234567"},
    {S("01 234567"), "AT", "+431234567"},
    {S("0043 664 1234567"), NULL, "+436641234567"},
    {S("+43 (0)664 123 45 67"), NULL, "+436641234567"},
    {S("+43 123"), NULL, NULL},
    /* CH */
    {S("044 668 18 00"), "CH", "+41446681800"},
    {S("+41 44 668 18 00"), NULL, "+41446681800"},
    {S("+41 (0)79 123 45 67"), "ch", "+41791234567"},
    {S("+41 44 668 18 0"), NULL, NULL},
    {S("0041 12 345 67 89"), NULL, NULL},
    /* GB */
    {S("+44 20 7946 0018"), NULL, "+442079460018"},
    {S("020 7946 0018"), "GB", "+442079460018"},
    {S("020 7946 0018"), "uk", "+442079460018"},
    {S("07700 900123"), "GB", "+447700900123"},
    {S("+44 (0)20 7946 0018"), NULL, "+442079460018"},
    {S("0800 123456"), "GB", "+44800123456"},
    {S("+44 20 7946 001"), NULL, NULL},
    {S("+44 4123 456789"), NULL, NULL},
    /* FR */
    {S("01 23 45 67 89"), "FR", "+33123456789"},
    {S("+33 6 12 34 56 78"), NULL, "+33612345678"},
    {S("+33 (0)6 12 34 56 78"), NULL, "+33612345678"},
    {S("06.12.34.56.78"), "FR", "+33612345678"},
    {S("+33 6 12 34 56 7"), NULL, NULL},
    {S("+33 6 12 34 56 789"), NULL, NULL},
    /* US, CA */
    {S("(212) 555-1234"), "US", "+12125551234"},
    {S("1-212-555-1234"), "US", "+12125551234"},
    {S("+1 212 555 1234"), NULL, "+12125551234"},
    {S("212.555.1234"), "CA", "+12125551234"},
    {S("011 49 30 1234567"), "US", "+49301234567"},
    {S("(112) 555-1234"), "US", NULL},
    {S("(212) 155-1234"), "US", NULL},
    {S("(911) 555-1234"), "US", NULL},
    {S("(212) 411-1234"), "US", NULL},
    {S("212 555 123"), "US", NULL},
    {S("2-212-555-1234"), "US", NULL},
    /* other countries: international only, 8..15 digits */
    {S("+39 06 1234 5678"), NULL, "+390612345678"},
    {S("+7 495 123-45-67"), "DE", "+74951234567"},
    {S("0086 10 1234 5678"), NULL, "+861012345678"},
    {S("+353 (0)1 234 5678"), NULL, "+35312345678"},
    {S("+4 (0)30 1234567"), NULL, NULL}, /* not "+4301234567": that is AT with a 0 */
    {S("06 1234 5678"), "IT", NULL},
    {S("+1234567"), NULL, NULL},
    {S("+999 123456789012345"), NULL, NULL},
    /* bad input */
    {S(""), "DE", NULL},
    {S("   "), "DE", NULL},
    {S("+"), NULL, NULL},
    {S("+49 30 1234567 ext. 12"), NULL, NULL},
    {S("Tel: +49 30 1234567"), NULL, NULL},
    {S("+49 30 (1234567"), NULL, NULL},
    {S("+49 30) 1234567"), NULL, NULL},
    {S("+49 30 ((12)) 34567"), NULL, NULL},
    {S("+49 30 () 1234567"), NULL, NULL},
    {S("+49+30 1234567"), NULL, NULL},
    {S("+0049 30 1234567"), NULL, NULL},
    {S("000 49 30 1234567"), NULL, NULL},
    {S("1-800-FLOWERS"), "US", NULL},
    {S("+49 30 1234567\0"), NULL, NULL},
    {S("+49 30\x01 1234567"), NULL, NULL},
    {S("\xff\xfe"), NULL, NULL},
    {S("+49 30 1234567"), "DEU", "+49301234567"},
    {S("030 1234567"), "DEU", NULL},
    {S("030 1234567"), "", NULL},
    {S("+4930123456789012345678901234567890"), NULL, NULL},
};

static void test_phone_table(void **st) {
    int bad = 0;
    for (size_t i = 0; i < LE_ARRAY_SIZE(phone_cases); i++) {
        char out[LE_PHONE_SIZE];
        size_t olen = 99;
        int rc = le_phone_e164((le_str_t){phone_cases[i].in, phone_cases[i].len},
                               phone_cases[i].country, out, sizeof(out), &olen);
        const char *want = phone_cases[i].out;
        if (want ? (rc != 0 || strcmp(out, want) != 0 || olen != strlen(want))
                 : (rc != LE_EINVAL || out[0] != '\0' || olen != 0)) {
            print_error("phone case %zu \"%s\" (%s): rc %s out \"%s\", expected %s\n", i,
                        phone_cases[i].in, phone_cases[i].country ? phone_cases[i].country : "-",
                        rc_name(rc), out, want ? want : "LE_EINVAL");
            bad++;
        }
    }
    if (bad) fail_msg("%d phone cases failed", bad);
}

static void test_phone_limits(void **st) {
    char out[LE_PHONE_SIZE], in[256];
    size_t olen;
    /* the longest German number: 15 digits */
    assert_int_equal(le_phone_e164(LE_STR("+49 1234567890123"), NULL, out, sizeof(out), &olen), 0);
    assert_string_equal(out, "+491234567890123");
    assert_int_equal(olen, 16);
    /* small buffers */
    assert_int_equal(le_phone_e164(LE_STR("+49 30 1234567"), NULL, out, 12, &olen), LE_ETOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(le_phone_e164(LE_STR("+49 30 1234567"), NULL, out, 13, &olen), 0);
    assert_int_equal(le_phone_e164(LE_STR("+49 30 1234567"), NULL, NULL, 0, NULL), LE_ETOOBIG);
    /* 64 bytes of input are fine, 65 are not */
    memset(in, ' ', sizeof(in));
    memcpy(in + 1, "+49 30 1234567", 14);
    assert_int_equal(le_phone_e164((le_str_t){in, 64}, NULL, out, sizeof(out), NULL), 0);
    memset(in + 30, '-', 40);
    assert_int_equal(le_phone_e164((le_str_t){in, 64}, NULL, out, sizeof(out), NULL), 0);
    assert_int_equal(le_phone_e164((le_str_t){in, 66}, NULL, out, sizeof(out), NULL), LE_EINVAL);
    assert_int_equal(le_phone_e164(LE_STR_NULL, "DE", out, sizeof(out), NULL), LE_EINVAL);
    /* every single byte value after a valid number: only separators keep it valid */
    for (int c = 0; c < 256; c++) {
        int n = snprintf(in, sizeof(in), "+49 30 1234567");
        in[n++] = (char)c;
        int rc = le_phone_e164((le_str_t){in, (size_t)n}, NULL, out, sizeof(out), NULL);
        bool sep = c == ' ' || c == '\t' || c == '.' || c == '-' || c == '/' || c == '\r' ||
                   c == '\n' || c == '\v' || c == '\f';
        if (c >= '0' && c <= '9') continue; /* another digit: another number */
        if (rc != (sep ? 0 : LE_EINVAL)) fail_msg("byte 0x%02x: rc %d", c, rc);
    }
}

/* ---- Postal codes ------------------------------------------------------------------------ */

static const struct {
    const char *in;
    size_t len;
    const char *country;
    int rc;
    const char *out;
} postal_cases[] = {
    /* DE */
    {S("10115"), "DE", 0, "10115"},
    {S(" 10115 "), "de", 0, "10115"},
    {S("D-10115"), "DE", 0, "10115"},
    {S("de-80331"), "DE", 0, "80331"},
    {S("01001"), "DE", 0, "01001"},
    {S("99998"), "DE", 0, "99998"},
    {S("01000"), "DE", LE_EINVAL, ""},
    {S("00123"), "DE", LE_EINVAL, ""},
    {S("99999"), "DE", LE_EINVAL, ""},
    {S("1011"), "DE", LE_EINVAL, ""},
    {S("101155"), "DE", LE_EINVAL, ""},
    {S("1O115"), "DE", LE_EINVAL, ""},
    {S("10 115"), "DE", LE_EINVAL, ""},
    {S("A-1010"), "DE", LE_EINVAL, ""},
    /* AT, CH, LI */
    {S("1010"), "AT", 0, "1010"},
    {S("A-1010"), "AT", 0, "1010"},
    {S("9992"), "AT", 0, "9992"},
    {S("1009"), "AT", LE_EINVAL, ""},
    {S("9993"), "AT", LE_EINVAL, ""},
    {S("8001"), "CH", 0, "8001"},
    {S("CH-8001"), "CH", 0, "8001"},
    {S("0999"), "CH", LE_EINVAL, ""},
    {S("9659"), "CH", LE_EINVAL, ""},
    {S("999"), "CH", LE_EINVAL, ""},
    {S("FL-9490"), "LI", 0, "9490"},
    {S("8001"), "LI", LE_EINVAL, ""},
    /* FR */
    {S("75001"), "FR", 0, "75001"},
    {S("F-75001"), "FR", 0, "75001"},
    {S("20000"), "FR", 0, "20000"},
    {S("97400"), "FR", 0, "97400"},
    {S("98000"), "FR", 0, "98000"},
    {S("00100"), "FR", LE_EINVAL, ""},
    {S("96000"), "FR", LE_EINVAL, ""},
    {S("99000"), "FR", LE_EINVAL, ""},
    {S("7500"), "FR", LE_EINVAL, ""},
    /* US */
    {S("90210"), "US", 0, "90210"},
    {S("90210-1234"), "US", 0, "90210-1234"},
    {S("90210 1234"), "us", 0, "90210-1234"},
    {S("902101234"), "US", 0, "90210-1234"},
    {S("00501"), "US", 0, "00501"},
    {S("00000"), "US", LE_EINVAL, ""},
    {S("9021"), "US", LE_EINVAL, ""},
    {S("90210-12"), "US", LE_EINVAL, ""},
    {S("90210-abcd"), "US", LE_EINVAL, ""},
    {S("90210--1234"), "US", LE_EINVAL, ""},
    /* GB */
    {S("SW1A 1AA"), "GB", 0, "SW1A 1AA"},
    {S("sw1a1aa"), "GB", 0, "SW1A 1AA"},
    {S("  ec1a   1bb "), "UK", 0, "EC1A 1BB"},
    {S("M1 1AE"), "GB", 0, "M1 1AE"},
    {S("B33 8TH"), "GB", 0, "B33 8TH"},
    {S("CR2 6XH"), "GB", 0, "CR2 6XH"},
    {S("DN55 1PT"), "GB", 0, "DN55 1PT"},
    {S("W1A 0AX"), "GB", 0, "W1A 0AX"},
    {S("gir 0aa"), "GB", 0, "GIR 0AA"},
    {S("QA1 1AA"), "GB", LE_EINVAL, ""},
    {S("AZ1 1AA"), "GB", LE_EINVAL, ""},
    {S("SW1A 1CA"), "GB", LE_EINVAL, ""},
    {S("W1I 1AA"), "GB", LE_EINVAL, ""},
    {S("EC1Z 1AA"), "GB", LE_EINVAL, ""},
    {S("SW1A1A"), "GB", LE_EINVAL, ""},
    {S("SW1A 1AAA"), "GB", LE_EINVAL, ""},
    {S("12345"), "GB", LE_EINVAL, ""},
    {S("SW1A-1AA"), "GB", LE_EINVAL, ""},
    /* other countries: plausible, not validated */
    {S("1234-567"), "PT", LE_POSTAL_UNCHECKED, "1234-567"},
    {S("k1a 0b1"), "CA", LE_POSTAL_UNCHECKED, "K1A 0B1"},
    {S("  12345  "), NULL, LE_POSTAL_UNCHECKED, "12345"},
    {S("a \t  b"), "NL", LE_POSTAL_UNCHECKED, "A B"},
    {S("10115"), "DEU", LE_POSTAL_UNCHECKED, "10115"},
    {S("<script>"), "BR", LE_EINVAL, ""},
    {S("----"), "XX", LE_EINVAL, ""},
    {S("12345678901234567"), "JP", LE_EINVAL, ""},
    {S("1234\xc3\xa4"), "SE", LE_EINVAL, ""},
    /* bad input */
    {S(""), "DE", LE_EINVAL, ""},
    {S("   "), NULL, LE_EINVAL, ""},
    {S("10115\0"), "DE", LE_EINVAL, ""},
    {S("\xff\xfe"), "GB", LE_EINVAL, ""},
    {S("\xff\xfe"), NULL, LE_EINVAL, ""},
    {S("D-"), "DE", LE_EINVAL, ""},
};

static void test_postal_table(void **st) {
    int bad = 0;
    for (size_t i = 0; i < LE_ARRAY_SIZE(postal_cases); i++) {
        char out[LE_POSTAL_SIZE];
        size_t olen = 99;
        int rc = le_postal_check((le_str_t){postal_cases[i].in, postal_cases[i].len},
                                 postal_cases[i].country, out, sizeof(out), &olen);
        if (rc != postal_cases[i].rc || strcmp(out, postal_cases[i].out) != 0 ||
            olen != strlen(postal_cases[i].out)) {
            print_error("postal case %zu \"%s\" (%s): rc %s out \"%s\", expected %s \"%s\"\n", i,
                        postal_cases[i].in, postal_cases[i].country ? postal_cases[i].country : "-",
                        rc_name(rc), out, rc_name(postal_cases[i].rc), postal_cases[i].out);
            bad++;
        }
    }
    if (bad) fail_msg("%d postal cases failed", bad);
}

static void test_postal_limits(void **st) {
    char out[LE_POSTAL_SIZE];
    assert_int_equal(le_postal_check(LE_STR("sw1a1aa"), "GB", out, 8, NULL), LE_ETOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(le_postal_check(LE_STR("sw1a1aa"), "GB", out, 9, NULL), 0);
    assert_string_equal(out, "SW1A 1AA");
    assert_int_equal(le_postal_check(LE_STR("1234-567"), "PT", out, 8, NULL), LE_ETOOBIG);
    assert_int_equal(le_postal_check(LE_STR("10115"), "DE", NULL, 0, NULL), LE_ETOOBIG);
    assert_int_equal(le_postal_check(LE_STR_NULL, "DE", out, sizeof(out), NULL), LE_EINVAL);
    /* 10 KB */
    char *big = malloc(10240);
    memset(big, '1', 10240);
    assert_int_equal(le_postal_check((le_str_t){big, 10240}, "DE", out, sizeof(out), NULL),
                     LE_EINVAL);
    assert_int_equal(le_postal_check((le_str_t){big, 10240}, NULL, out, sizeof(out), NULL),
                     LE_EINVAL);
    free(big);
}

/* ---- Roles ------------------------------------------------------------------------------- */

static const struct {
    const char *title;
    size_t len;
    le_role_t role;
} role_cases[] = {
    /* deciders */
    {S("CEO"), LE_ROLE_DECIDER},
    {S("cto"), LE_ROLE_DECIDER},
    {S("Chief Financial Officer"), LE_ROLE_DECIDER},
    {S("Co-Founder & CEO"), LE_ROLE_DECIDER},
    {S("Geschäftsführer"), LE_ROLE_DECIDER},
    {S("Geschaeftsfuehrer"), LE_ROLE_DECIDER},
    {S("GESCHÄFTSFÜHRER"), LE_ROLE_DECIDER},
    {S("Gescha\xcc\x88"
       "ftsfu\xcc\x88hrer"),
     LE_ROLE_DECIDER}, /* decomposed umlauts */
    {S("Geschaftsfuhrer"), LE_ROLE_DECIDER},
    {S("Geschäftsführerin"), LE_ROLE_DECIDER},
    {S("Geschäftsführer/-in"), LE_ROLE_DECIDER},
    {S("Geschäftsführender Gesellschafter"), LE_ROLE_DECIDER},
    {S("Vorstand"), LE_ROLE_DECIDER},
    {S("Vorstandsvorsitzende"), LE_ROLE_DECIDER},
    {S("Mitglied des Vorstands"), LE_ROLE_DECIDER},
    {S("Finanzvorstand"), LE_ROLE_DECIDER},
    {S("Managing Director"), LE_ROLE_DECIDER},
    {S("Inhaber"), LE_ROLE_DECIDER},
    {S("Inhaberin"), LE_ROLE_DECIDER},
    {S("Owner"), LE_ROLE_DECIDER},
    {S("Gründerin"), LE_ROLE_DECIDER},
    {S("VP Sales"), LE_ROLE_DECIDER},
    {S("Senior Vice President Marketing"), LE_ROLE_DECIDER},
    {S("Vizepräsidentin"), LE_ROLE_DECIDER},
    {S("Head of IT"), LE_ROLE_DECIDER},
    {S("IT-Leiter"), LE_ROLE_DECIDER},
    {S("IT-Leiterin"), LE_ROLE_DECIDER},
    {S("Leiter/in IT"), LE_ROLE_DECIDER},
    {S("Leiter:in Marketing"), LE_ROLE_DECIDER},
    {S("Leiter*in Vertrieb"), LE_ROLE_DECIDER},
    {S("Leiter_in Vertrieb"), LE_ROLE_DECIDER},
    {S("Leiter(in) Produktion"), LE_ROLE_DECIDER},
    {S("LeiterIn Personal"), LE_ROLE_DECIDER},
    {S("Leiter\xc2\xb7innen Technik"), LE_ROLE_DECIDER},
    {S("Abteilungsleiter Vertrieb"), LE_ROLE_DECIDER},
    {S("Verkaufsleiterin"), LE_ROLE_DECIDER},
    {S("Kaufmännischer Leiter"), LE_ROLE_DECIDER},
    {S("Head of Marketing"), LE_ROLE_DECIDER},
    {S("Director of Engineering"), LE_ROLE_DECIDER},
    {S("Prokurist"), LE_ROLE_DECIDER},
    {S("Selbstständig"), LE_ROLE_DECIDER},
    {S("Leiter/Inhaber"), LE_ROLE_DECIDER},
    {S("\xef\xbc\xa3\xef\xbc\xa5\xef\xbc\xaf"), LE_ROLE_DECIDER}, /* full-width CEO */
    {S("\xff CEO \xfe"), LE_ROLE_DECIDER},
    /* buyers */
    {S("Einkauf"), LE_ROLE_BUYER},
    {S("Einkäufer"), LE_ROLE_BUYER},
    {S("Einkäuferin"), LE_ROLE_BUYER},
    {S("Strategischer Einkäufer (m/w/d)"), LE_ROLE_BUYER},
    {S("Leiter Einkauf"), LE_ROLE_BUYER},
    {S("Leiter*in Einkauf"), LE_ROLE_BUYER},
    {S("Einkaufsleiter"), LE_ROLE_BUYER},
    {S("Procurement Manager"), LE_ROLE_BUYER},
    {S("Purchasing manager"), LE_ROLE_BUYER},
    {S("Head of Procurement"), LE_ROLE_BUYER},
    {S("Senior Buyer"), LE_ROLE_BUYER},
    {S("Chief Procurement Officer"), LE_ROLE_BUYER},
    {S("Sachbearbeiterin Einkauf"), LE_ROLE_BUYER},
    {S("Referent Beschaffung"), LE_ROLE_BUYER},
    {S("Leitung Einkauf"), LE_ROLE_BUYER},
    {S("Sourcing Manager"), LE_ROLE_BUYER},
    /* gatekeepers */
    {S("Assistenz der Geschäftsführung"), LE_ROLE_GATEKEEPER},
    {S("Assistentin der Geschäftsführung"), LE_ROLE_GATEKEEPER},
    {S("Executive Assistant"), LE_ROLE_GATEKEEPER},
    {S("Assistant to the CEO"), LE_ROLE_GATEKEEPER},
    {S("Vorstandsassistentin"), LE_ROLE_GATEKEEPER},
    {S("Teamassistenz Vertrieb"), LE_ROLE_GATEKEEPER},
    {S("Sekretärin"), LE_ROLE_GATEKEEPER},
    {S("Sekretariat"), LE_ROLE_GATEKEEPER},
    {S("Office Manager"), LE_ROLE_GATEKEEPER},
    {S("Office-Managerin"), LE_ROLE_GATEKEEPER},
    {S("Empfang"), LE_ROLE_GATEKEEPER},
    {S("Mitarbeiterin Empfang"), LE_ROLE_GATEKEEPER},
    {S("Rezeptionistin"), LE_ROLE_GATEKEEPER},
    {S("Receptionist"), LE_ROLE_GATEKEEPER},
    {S("Empfangsmitarbeiterin"), LE_ROLE_GATEKEEPER},
    {S("Einkaufsassistentin"), LE_ROLE_GATEKEEPER},
    /* influencers */
    {S("Marketing Manager"), LE_ROLE_INFLUENCER},
    {S("Produktmanagerin"), LE_ROLE_INFLUENCER},
    {S("Teamleiter Kundenservice"), LE_ROLE_INFLUENCER},
    {S("Teamleiterin"), LE_ROLE_INFLUENCER},
    {S("Projektleiter"), LE_ROLE_INFLUENCER},
    {S("Team-Leiter Logistik"), LE_ROLE_INFLUENCER},
    {S("Team Lead Backend"), LE_ROLE_INFLUENCER},
    {S("Lead Developer"), LE_ROLE_INFLUENCER},
    {S("Senior Consultant"), LE_ROLE_INFLUENCER},
    {S("Unternehmensberater"), LE_ROLE_INFLUENCER},
    {S("Business Analyst"), LE_ROLE_INFLUENCER},
    {S("IT-Architektin"), LE_ROLE_INFLUENCER},
    {S("Referentin der Geschäftsführung"), LE_ROLE_INFLUENCER},
    {S("Vorstandsreferent"), LE_ROLE_INFLUENCER},
    {S("Product Owner"), LE_ROLE_INFLUENCER},
    {S("Assistant Vice President"), LE_ROLE_INFLUENCER},
    {S("Datenschutzbeauftragter"), LE_ROLE_INFLUENCER},
    {S("Chief of Staff"), LE_ROLE_INFLUENCER},
    {S("Art Director"), LE_ROLE_INFLUENCER},
    {S("Key Account Manager"), LE_ROLE_INFLUENCER},
    {S("Vorsitzender des Betriebsrats"), LE_ROLE_INFLUENCER},
    {S("Bauleiter"), LE_ROLE_INFLUENCER},
    {S("Principal Engineer"), LE_ROLE_INFLUENCER},
    {S("Assistant Professor"), LE_ROLE_INFLUENCER},
    /* users */
    {S("Softwareentwickler"), LE_ROLE_USER},
    {S("Entwicklerin"), LE_ROLE_USER},
    {S("Software Developer"), LE_ROLE_USER},
    {S("Senior Software Engineer"), LE_ROLE_USER},
    {S("Sachbearbeiter"), LE_ROLE_USER},
    {S("Sachbearbeiterin Buchhaltung"), LE_ROLE_USER},
    {S("Systemadministrator"), LE_ROLE_USER},
    {S("Werkstudentin Marketing"), LE_ROLE_USER},
    {S("Ingenieur Halbleiter"), LE_ROLE_USER},
    {S("Halbleiterentwickler"), LE_ROLE_USER},
    {S("Account Executive"), LE_ROLE_USER},
    {S("Industriekauffrau"), LE_ROLE_USER},
    {S("Data Scientist"), LE_ROLE_USER},
    {S("Head-Hunter"), LE_ROLE_USER},
    {S("Sachbearbeitung"), LE_ROLE_USER},
    {S("Technische Assistentin"), LE_ROLE_USER},
    /* unknown */
    {S(""), LE_ROLE_UNKNOWN},
    {S("Dr."), LE_ROLE_UNKNOWN},
    {S("Marketing"), LE_ROLE_UNKNOWN},
    {S("Headhunting"), LE_ROLE_UNKNOWN},
    {S("Leiterplattenbestücker"), LE_ROLE_UNKNOWN},
    {S("Halbleiter"), LE_ROLE_UNKNOWN},
    {S("Генеральный директор"), LE_ROLE_UNKNOWN},
    {S("Gesch\xe4"
       "ftsf\xfchrer"),
     LE_ROLE_UNKNOWN}, /* Latin-1, not UTF-8 */
    {S("C\0EO"), LE_ROLE_UNKNOWN},
};

static void test_role_table(void **st) {
    int bad = 0;
    for (size_t i = 0; i < LE_ARRAY_SIZE(role_cases); i++) {
        le_role_t r = le_role_from_title((le_str_t){role_cases[i].title, role_cases[i].len});
        if (r != role_cases[i].role) {
            print_error("role case %zu \"%s\": %s, expected %s\n", i, role_cases[i].title,
                        le_role_name(r), le_role_name(role_cases[i].role));
            bad++;
        }
    }
    if (bad) fail_msg("%d role cases failed", bad);
}

static void test_role_limits(void **st) {
    assert_true(le__role_rules_ok());
    assert_int_equal(le_role_from_title(LE_STR_NULL), LE_ROLE_UNKNOWN);
    /* only the first LE_TITLE_MAX bytes count */
    char *big = malloc(10240);
    memset(big, 'x', 10240);
    memcpy(big, "CEO ", 4);
    assert_int_equal(le_role_from_title((le_str_t){big, 10240}), LE_ROLE_DECIDER);
    memset(big, ' ', 10240);
    memcpy(big + LE_TITLE_MAX - 4, " CEO", 4);
    assert_int_equal(le_role_from_title((le_str_t){big, 10240}), LE_ROLE_DECIDER);
    memcpy(big + LE_TITLE_MAX - 3, " CEO", 4);
    assert_int_equal(le_role_from_title((le_str_t){big, 10240}), LE_ROLE_UNKNOWN);
    /* 10 KB of characters with long decompositions and of invalid bytes */
    for (size_t i = 0; i + 3 <= 10240; i += 3) memcpy(big + i, "\xef\xb7\xba", 3); /* U+FDFA */
    assert_int_equal(le_role_from_title((le_str_t){big, 10240}), LE_ROLE_UNKNOWN);
    memset(big, 0xff, 10240);
    assert_int_equal(le_role_from_title((le_str_t){big, 10240}), LE_ROLE_UNKNOWN);
    /* 100 words */
    size_t n = 0;
    for (int i = 0; i < 100; i++) n += (size_t)sprintf(big + n, "a ");
    n += (size_t)sprintf(big + n, "CTO");
    assert_int_equal(le_role_from_title((le_str_t){big, n}), LE_ROLE_DECIDER);
    free(big);
}

static void test_role_names(void **st) {
    static const char *const names[] = {"unknown",    "decider", "buyer",
                                        "influencer", "user",    "gatekeeper"};
    for (int r = 0; r < 6; r++) {
        assert_string_equal(le_role_name((le_role_t)r), names[r]);
        assert_int_equal(le_role_parse(names[r], strlen(names[r])), r);
    }
    assert_int_equal(LE_ROLE_UNKNOWN, 0);
    assert_string_equal(le_role_name((le_role_t)6), "?");
    assert_string_equal(le_role_name((le_role_t)-1), "?");
    assert_int_equal(le_role_parse(S("Decider")), LE_ROLE_DECIDER);
    assert_int_equal(le_role_parse(S("GATEKEEPER")), LE_ROLE_GATEKEEPER);
    assert_int_equal(le_role_parse(S("decide")), -1);
    assert_int_equal(le_role_parse(S("decider\0")), -1);
    assert_int_equal(le_role_parse(S("")), -1);
    assert_int_equal(le_role_parse(NULL, 3), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_table),   cmocka_unit_test(test_email_limits),
        cmocka_unit_test(test_email_domain),  cmocka_unit_test(test_domains_text),
        cmocka_unit_test(test_domains_many),  cmocka_unit_test(test_domains_file),
        cmocka_unit_test(test_shipped_lists), cmocka_unit_test(test_domain_kind_names),
        cmocka_unit_test(test_phone_table),   cmocka_unit_test(test_phone_limits),
        cmocka_unit_test(test_postal_table),  cmocka_unit_test(test_postal_limits),
        cmocka_unit_test(test_role_table),    cmocka_unit_test(test_role_limits),
        cmocka_unit_test(test_role_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
