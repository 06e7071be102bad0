/*
 * test_lang.c: choosing the language from Accept-Language (enrich/lang.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lang.h"

static const struct {
    const char *header, *tag;
} cases[] = {
    /* what browsers send */
    {"de-DE,de;q=0.9,en;q=0.8", "de-DE"},
    {"en-us", "en-US"},
    {"da, en-gb;q=0.8, en;q=0.7", "da"},
    {"en-US,en;q=0.9", "en-US"},
    {"zh-hant-tw,zh;q=0.8", "zh-Hant-TW"},
    {"SR-LATN-rs", "sr-Latn-RS"},
    {"es-419,es;q=0.9", "es-419"},
    {"DE", "de"},
    {"de-1996", "de-1996"},
    {"sl-rozaj-biske", "sl-rozaj-biske"},
    {"en-Latn-gb-boont-R-Extended-Sequence-x-Private",
     "en-Latn-GB-boont-r-extended-sequence-x-private"},
    /* the highest weight wins, the first on a tie */
    {"fr;q=0.5, de;q=0.9", "de"},
    {"fr;q=0.9, de;q=0.9", "fr"},
    {"en-US;q=0.8, en-GB;q=0.8", "en-US"},
    {"en;q=0.001, de;q=0.002", "de"},
    {"en;Q=0.5, de;q=0.4", "en"},
    {"en;q=0.5, fr;q=1., de;q=1.000", "fr"},
    /* "*" and q=0 are skipped */
    {"*", ""},
    {"*;q=1, en;q=0.1", "en"},
    {"en;q=0, de;q=0.001", "de"},
    {"en;q=0", ""},
    {"en;q=0.000", ""},
    {"en;q=0.", ""},
    /* blanks anywhere between the parts */
    {"  de-AT ;  q = 0.7 ,\ten ; q=0.6", "de-AT"},
    {",,, ,de", "de"},
    {" \t ", ""},
    /* broken weights: the element goes, the others stay */
    {"en;q=1.5, de;q=0.5", "de"},
    {"en;q=1.0001, de;q=0.5", "de"},
    {"en;q=0.0001, de;q=0.5", "de"},
    {"en;q=-1, de;q=0.2", "de"},
    {"en;q=.5, de;q=0.2", "de"},
    {"en;q=, de;q=0.2", "de"},
    {"en;q=0.5x, de;q=0.2", "de"},
    {"en;q=0.5;q=0.9, de;q=0.1", "de"},
    {"en;level=1, fr;q=0.3", "fr"},
    {"en;, fr;q=0.3", "fr"},
    {"en q=0.9, fr;q=0.3", "fr"},
    /* ranges that are not tags */
    {"x-klingon, i-navajo, de;q=0.1", "de"},
    {"e, english, en--us, en-, -en, en-toolongsub, 12, d3, de;q=0.1", "de"},
    {"en_US, fr;q=0.4", "fr"},
    {"en-x, fr;q=0.4", "fr"},
    {"\xc3\xa9n, fr;q=0.4", "fr"},
    {"en-US\"<script>, fr;q=0.4", "fr"},
};

static void test_table(void **st) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        char tag[LE_LANG_TAG_MAX];
        size_t n = le_lang_primary(le_str(cases[i].header), tag, sizeof(tag));
        if (strcmp(tag, cases[i].tag) != 0 || n != strlen(tag))
            fail_msg("\"%s\": \"%s\" (%zu), expected \"%s\"", cases[i].header, tag, n,
                     cases[i].tag);
    }
}

static void test_small_cap(void **st) {
    char tag[16];
    memset(tag, 'z', sizeof(tag));
    assert_int_equal(le_lang_primary(le_str("zh-Hant-TW"), tag, 11), 10);
    assert_string_equal(tag, "zh-Hant-TW");
    /* whole subtags are dropped from the end */
    assert_int_equal(le_lang_primary(le_str("zh-Hant-TW"), tag, 10), 7);
    assert_string_equal(tag, "zh-Hant");
    assert_int_equal(le_lang_primary(le_str("en-US,en;q=0.9"), tag, 3), 2);
    assert_string_equal(tag, "en");
    /* a singleton is never left last */
    assert_int_equal(le_lang_primary(le_str("de-DE-x-phonebk"), tag, 10), 5);
    assert_string_equal(tag, "de-DE");
    /* not even the primary subtag fits */
    assert_int_equal(le_lang_primary(le_str("en-US"), tag, 2), 0);
    assert_string_equal(tag, "");
    assert_int_equal(le_lang_primary(le_str("en-US"), NULL, 0), 0);
}

static void test_bounds(void **st) {
    char tag[LE_LANG_TAG_MAX], big[LE_LANG_TAG_MAX + 8];
    /* 63 bytes is the longest tag accepted */
    strcpy(big, "en");
    while (strlen(big) < LE_LANG_TAG_MAX - 1) strcat(big, "-abcdefg");
    big[LE_LANG_TAG_MAX - 1] = '\0';
    if (big[LE_LANG_TAG_MAX - 2] == '-') big[LE_LANG_TAG_MAX - 2] = 'a';
    assert_int_equal(strlen(big), LE_LANG_TAG_MAX - 1);
    assert_int_equal(le_lang_primary(le_str(big), tag, sizeof(tag)), LE_LANG_TAG_MAX - 1);
    strcat(big, "b");
    assert_int_equal(le_lang_primary(le_str(big), tag, sizeof(tag)), 0);

    /* NUL inside a range breaks it */
    const char nul[] = "de\0, en;q=0.5";
    assert_int_equal(le_lang_primary((le_str_t){nul, sizeof(nul) - 1}, tag, sizeof(tag)), 2);
    assert_string_equal(tag, "en");
    assert_int_equal(le_lang_primary(LE_STR_NULL, tag, sizeof(tag)), 0);
}

/* 10 KB headers: many elements, one huge element, only separators. */
static void test_hostile(void **st) {
    size_t cap = 10 * 1024 + 64, n;
    char *h = malloc(cap), tag[LE_LANG_TAG_MAX];

    memset(h, ',', 10 * 1024);
    assert_int_equal(le_lang_primary((le_str_t){h, 10 * 1024}, tag, sizeof(tag)), 0);

    memset(h, 'a', 10 * 1024);
    assert_int_equal(le_lang_primary((le_str_t){h, 10 * 1024}, tag, sizeof(tag)), 0);

    for (n = 0; n < 10 * 1024;) n += (size_t)sprintf(h + n, "en;q=0.5,");
    n += (size_t)sprintf(h + n, "fr-ca;q=0.6");
    assert_int_equal(le_lang_primary((le_str_t){h, n}, tag, sizeof(tag)), 5);
    assert_string_equal(tag, "fr-CA");

    for (n = 0; n < 10 * 1024;) n += (size_t)sprintf(h + n, ";q=;;==,*,-,x-y,");
    n += (size_t)sprintf(h + n, "pt-br;q=0.01");
    assert_int_equal(le_lang_primary((le_str_t){h, n}, tag, sizeof(tag)), 5);
    assert_string_equal(tag, "pt-BR");

    for (n = 0; n < 10 * 1024;) n += (size_t)sprintf(h + n, "  \t");
    assert_int_equal(le_lang_primary((le_str_t){h, n}, tag, sizeof(tag)), 0);
    free(h);
}

static void test_subtag(void **st) {
    assert_int_equal(le_lang_subtag("de-DE", 5), 2);
    assert_int_equal(le_lang_subtag("gsw-CH", 6), 3);
    assert_int_equal(le_lang_subtag("en", 2), 2);
    assert_int_equal(le_lang_subtag("de-DE", 2), 2);
    assert_int_equal(le_lang_subtag("", 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),  cmocka_unit_test(test_small_cap),
        cmocka_unit_test(test_bounds), cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_subtag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
