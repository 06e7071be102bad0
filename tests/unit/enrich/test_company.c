/*
 * test_company.c: company name keys (enrich/company.c).
 *
 * A table of names as they arrive from IP databases and forms, with the key each must give;
 * spellings of one firm must meet, different firms must not. Then the edges: invalid UTF-8,
 * 10 KB names, buffers that are too small, and the ASCII fast path against the Unicode path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "company.h"

static const char *key(const char *name) {
    static char buf[512];
    size_t n = le_company_key(name, strlen(name), buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    return buf;
}

static const struct {
    const char *name, *key;
} cases[] = {
    /* German legal forms, short and long, and stacked */
    {"Siemens AG", "siemens"},
    {"SIEMENS Aktiengesellschaft", "siemens"},
    {"Siemens Healthineers AG", "siemens healthineers"},
    {"Müller GmbH", "mueller"},
    {"Mueller GmbH", "mueller"},
    {"MÜLLER G.m.b.H.", "mueller"},
    {"Mu\xcc\x88ller GmbH", "mueller"}, /* u + combining diaeresis (NFD input) */
    {"Müller Gesellschaft mit beschränkter Haftung", "mueller"},
    {"Foo Holding GmbH & Co. KG", "foo holding"},
    {"Henkel AG & Co. KGaA", "henkel"},
    {"Bar GmbH & Co. KGaA", "bar"},
    {"Baz UG (haftungsbeschränkt)", "baz"},
    {"Baz UG (haftungsbeschraenkt) & Co. KG", "baz"},
    {"Förderverein Musterstadt e.V.", "foerderverein musterstadt"},
    {"Ärzte ohne Grenzen e. V.", "aerzte ohne grenzen"},
    {"Volksbank Musterstadt eG", "volksbank musterstadt"},
    {"Straßenbau Schmidt GbR", "strassenbau schmidt"},
    {"STRASSENBAU SCHMIDT", "strassenbau schmidt"},
    {"Sal. Oppenheim jr. & Cie. KGaA", "sal oppenheim jr"},
    {"Stiftung Warentest", "stiftung warentest"},
    /* a form in the middle is part of the name */
    {"Siemens Aktiengesellschaft Österreich", "siemens aktiengesellschaft oesterreich"},
    {"AG Immobilien", "ag immobilien"},
    /* English and international */
    {"Apple Inc.", "apple"},
    {"Apple, Inc", "apple"},
    {"The Boeing Company", "boeing"},
    {"Microsoft Corporation", "microsoft"},
    {"Ford Motor Co.", "ford motor"},
    {"Merck & Co., Inc.", "merck"},
    {"Dell Technologies L.L.C.", "dell technologies"},
    {"Deloitte LLP", "deloitte"},
    {"Vodafone Group Plc", "vodafone group"},
    {"Foo Pty Ltd", "foo"},
    {"Foo Pty. Limited", "foo"},
    {"Tata Consultancy Services Private Limited", "tata consultancy services"},
    {"Infosys Pvt. Ltd.", "infosys"},
    {"Huawei Technologies Co., Ltd.", "huawei technologies"},
    {"Foo Limited Liability Company", "foo"},
    {"Maybank Sdn. Bhd.", "maybank"},
    {"Société Générale S.A.", "societe generale"},
    {"Renault S.A.S.", "renault"},
    {"Dupont S.à r.l.", "dupont"},
    {"Telefónica, S.A.", "telefonica"},
    {"Foo S. de R.L. de C.V.", "foo"},
    {"Fiat S.p.A.", "fiat"},
    {"Fiat SpA", "fiat"},
    {"Rossi S.r.l.", "rossi"},
    {"Philips N.V.", "philips"},
    {"ASML Holding NV", "asml holding"},
    {"Heineken B.V.", "heineken"},
    {"Nokia Oyj", "nokia"},
    {"Volvo Car AB (publ)", "volvo car"},
    {"Mærsk A/S", "maersk"},
    {"Novo Nordisk A/S", "novo nordisk"},
    {"Equinor ASA", "equinor"},
    {"Toyota Motor K.K.", "toyota motor"},
    {"Kowalski Sp. z o.o.", "kowalski"},
    {"Kowalski Spółka z ograniczoną odpowiedzialnością", "kowalski"},
    {"Škoda Auto a.s.", "skoda auto"},
    {"Firma spol. s r.o.", "firma"},
    {"Magyar Telekom Nyrt.", "magyar telekom"},
    {"Krka d.o.o.", "krka"},
    /* conjunctions: '&', "and" and "und" are one word */
    {"Johnson & Johnson", "johnson and johnson"},
    {"Johnson and Johnson", "johnson and johnson"},
    {"Procter & Gamble", "procter and gamble"},
    {"Procter und Gamble", "procter and gamble"},
    {"AT&T Inc.", "at and t"},
    {"Müller & Söhne", "mueller and soehne"},
    /* words that look like forms but are the name */
    {"Bank of America Corporation", "bank of america"},
    {"Asco", "asco"},
    {"Asco Co", "asco"},
    {"Glas AG", "glas"},
    {"Glasag", "glasag"},
    {"Coop", "coop"},
    {"Incom", "incom"},
    {"Theodor Schmidt", "theodor schmidt"},
    /* only a legal form, or only "the": the name stays */
    {"AG", "ag"},
    {"GmbH & Co. KG", "gmbh"},
    {"The", "the"},
    {"The Company", "company"},
    /* diacritics and other scripts */
    {"Søren Østergaard ApS", "soren ostergaard"},
    {"Œuvre Café SARL", "oeuvre cafe"},
    {"Wrocław Łódź Sp. z o.o.", "wroclaw lodz"},
    {"Citroën", "citroen"},
    {"Nestlé S.A.", "nestle"},
    {"İş Bankası", "is bankasi"},
    {"Đồng Tâm", "dong tam"},
    {"Þór ehf.", "thor"},
    {"ǅemal d.o.o.", "dzemal"},
    {"Ελληνικά Πετρέλαια", "ελληνικα πετρελαια"},
    {"Яндекс", "яндекс"},
    {"ダイキン工業株式会社", "ダイキン工業株式会社"},
    {"हिन्दी Ltd", "हिन्दी"},
    /* full width, ligatures, spaces, punctuation, symbols, emoji */
    {"Ｓｉｅｍｅｎｓ　ＡＧ", "siemens"},
    {"ﬁrma Kft.", "firma"},
    {"  Siemens \t  AG  ", "siemens"},
    {"Siemens\xc2\xa0"
     "AG",
     "siemens"},
    {"Siemens—AG!!!", "siemens"},
    {"Coca-Cola Company", "coca cola"},
    {"O'Reilly Media, Inc.", "oreilly media"},
    {"O’Reilly Media", "oreilly media"},
    {"Acme™ GmbH", "acme"},
    {"Acme® GmbH", "acme"},
    {"🚀 Rocket GmbH 🚀", "rocket"},
    {"Sie\xc2\xadmens", "siemens"}, /* soft hyphen */
    {"٣M", "3m"},                   /* Arabic-Indic digit */
    {"...", ""},
    {"", ""},
    {"🚀", ""},
    /* invalid UTF-8 separates words */
    {"Foo\xff\xfe"
     "Bar GmbH",
     "foo bar"},
    {"Foo\xc3", "foo"},
    {"\xed\xa0\x80"
     "Foo",
     "foo"}, /* a UTF-16 surrogate */
    {"M\xc3\xbcller\x80 GmbH", "mueller"},
};

static void test_table(void **st) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        const char *got = key(cases[i].name);
        if (strcmp(got, cases[i].key) != 0)
            fail_msg("\"%s\": key \"%s\", expected \"%s\"", cases[i].name, got, cases[i].key);
    }
}

/* Appending an emoji (a separator) forces the Unicode path; the key must not change. */
static void test_ascii_path_matches_unicode(void **st) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        char name[256], a[256], u[256];
        snprintf(name, sizeof(name), "%s \xF0\x9F\x9A\x80", cases[i].name);
        le_company_key(cases[i].name, strlen(cases[i].name), a, sizeof(a));
        le_company_key(name, strlen(name), u, sizeof(u));
        if (strcmp(a, u) != 0) fail_msg("\"%s\": \"%s\" vs \"%s\"", cases[i].name, a, u);
    }
    /* Every ASCII byte and every character up to U+07FF (the ASCII and Latin fast paths
     * end there), between letters and before a legal form, gives the same key as the
     * Unicode path, which a trailing euro sign forces. */
    for (unsigned c = 0; c < 0x800; c++) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        char ch[4];
        size_t cn = c < 0x80 ? 1 : 2;
        if (c < 0x80)
            ch[0] = (char)c;
        else
            ch[0] = (char)(0xC0 | (c >> 6)), ch[1] = (char)(0x80 | (c & 0x3F));
        char name[32], uname[40], a[64], u[64];
        for (int form = 0; form < 2; form++) {
            size_t n = 0;
            memcpy(name + n, form ? "" : "xA", form ? 0 : 2), n += form ? 0 : 2;
            memcpy(name + n, ch, cn), n += cn;
            memcpy(name + n, form ? " GmbH" : "Bx", form ? 5 : 2), n += form ? 5 : 2;
            memcpy(uname, name, n);
            memcpy(uname + n, "\xE2\x82\xAC", 3); /* euro sign: a separator */
            le_company_key(name, n, a, sizeof(a));
            le_company_key(uname, n + 3, u, sizeof(u));
            if (strcmp(a, u) != 0) fail_msg("U+%04X: \"%s\" vs \"%s\"", c, a, u);
        }
    }
}

static void test_embedded_nul(void **st) {
    char out[64];
    assert_int_equal(le_company_key("Foo\0Bar AG", 10, out, sizeof(out)), 7);
    assert_string_equal(out, "foo bar");
}

static void test_small_cap(void **st) {
    char out[16];
    /* snprintf-like: the whole length, a cut prefix. */
    assert_int_equal(le_company_key("Müller GmbH", strlen("Müller GmbH"), out, 4), 7);
    assert_string_equal(out, "mue");
    /* Cut at a character boundary: "я" is two bytes, "н" would need two more. */
    assert_int_equal(le_company_key("Яндекс", strlen("Яндекс"), out, 4), 12);
    assert_string_equal(out, "я");
    /* No trailing space in a cut key. */
    assert_int_equal(le_company_key("Foo Bar", 7, out, 5), 7);
    assert_string_equal(out, "foo");
    assert_int_equal(le_company_key("Foo", 3, out, 1), 3);
    assert_string_equal(out, "");
    assert_int_equal(le_company_key("Foo", 3, NULL, 0), 3);
    /* Exactly fitting. */
    assert_int_equal(le_company_key("Foo AG", 6, out, 4), 3);
    assert_string_equal(out, "foo");
}

static void test_long_input(void **st) {
    /* 10 KB ASCII: "Acme & Acme & ... GmbH" */
    size_t cap = 64 * 1024;
    char *name = malloc(cap), *out = malloc(cap);
    size_t n = 0;
    while (n < 10 * 1024) n += (size_t)sprintf(name + n, "Acme & ");
    n += (size_t)sprintf(name + n, "GmbH");
    size_t k = le_company_key(name, n, out, cap);
    assert_int_equal(k, strlen(out));
    assert_int_equal(k % strlen("acme and "), strlen("acme"));
    assert_memory_equal(out, "acme and acme", 13);
    assert_string_equal(out + k - 8, "and acme");

    /* 10 KB of umlauts and stacked forms: everything but the first word goes. */
    n = (size_t)sprintf(name, "Müller");
    while (n < 10 * 1024) n += (size_t)sprintf(name + n, " GmbH & Co. KG");
    assert_int_equal(le_company_key(name, n, out, cap), 7);
    assert_string_equal(out, "mueller");

    /* 10 KB of invalid bytes and of full-width letters. */
    memset(name, 0xff, 10 * 1024);
    assert_int_equal(le_company_key(name, 10 * 1024, out, cap), 0);
    n = 0;
    while (n < 10 * 1024) n += (size_t)sprintf(name + n, "Ａ");
    k = le_company_key(name, n, out, cap);
    assert_int_equal(k, n / 3);
    /* Into a small buffer. */
    char small[8];
    assert_int_equal(le_company_key(name, n, small, sizeof(small)), k);
    assert_string_equal(small, "aaaaaaa");
    free(name);
    free(out);
}

static void test_forms_table(void **st) {
    assert_true(le__company_forms_ok());
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),        cmocka_unit_test(test_ascii_path_matches_unicode),
        cmocka_unit_test(test_embedded_nul), cmocka_unit_test(test_small_cap),
        cmocka_unit_test(test_long_input),   cmocka_unit_test(test_forms_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
