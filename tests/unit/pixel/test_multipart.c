/*
 * test_multipart.c: multipart/form-data bodies as browsers and HTTP
 * libraries send them, and the malformed shapes the decoder must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "decode.h"

static le_arena_t arena;

static int setup(void **state) {
    le_arena_init(&arena, NULL, 0);
    return 0;
}

static int teardown(void **state) {
    le_arena_free(&arena);
    return 0;
}

#define CT "multipart/form-data; boundary=----WebKitFormBoundaryX3b"
#define B "------WebKitFormBoundaryX3b"

static le_kvlist_t mp_ct(const char *ct, const char *body, uint32_t max_fields, uint32_t max_value,
                         le_dec_err_t want) {
    le_kvlist_t l = {(le_kv_t *)1, 99};
    le_dec_err_t rc =
        le_multipart_parse(&arena, le_str(ct), body, strlen(body), max_fields, max_value, &l);
    if (rc != want)
        fail_msg("got %s, want %s for:\n%s", le_dec_strerror(rc), le_dec_strerror(want), body);
    if (rc != LE_DEC_OK) assert_int_equal(l.n, 0);
    return l;
}

static le_kvlist_t mp(const char *body, le_dec_err_t want) {
    return mp_ct(CT, body, 16, 1024, want);
}

static void assert_kv(const le_kvlist_t *l, uint32_t i, const char *k, const char *v) {
    assert_true(i < l->n);
    assert_int_equal(l->kv[i].key.len, strlen(k));
    assert_string_equal(l->kv[i].key.ptr, k);
    assert_int_equal(l->kv[i].val.len, strlen(v));
    assert_string_equal(l->kv[i].val.ptr, v);
}

static void test_two_fields_and_a_file(void **state) {
    le_kvlist_t l = mp(B "\r\n"
                         "Content-Disposition: form-data; name=\"email\"\r\n"
                         "\r\n"
                         "a@example.com\r\n" B "\r\n"
                         "Content-Disposition: form-data; name=\"upload\"; filename=\"x.bin\"\r\n"
                         "Content-Type: application/octet-stream\r\n"
                         "\r\n"
                         "\x01\xff binary\r\n" B "x\r\n\r\n" B "\r\n"
                         "content-disposition: FORM-DATA; name=company\r\n"
                         "\r\n"
                         "ACME \xc3\xa9\r\n" B "--\r\n",
                       LE_DEC_OK);
    assert_int_equal(l.n, 2);
    assert_kv(&l, 0, "email", "a@example.com");
    assert_kv(&l, 1, "company", "ACME \xc3\xa9");
}

static void test_preamble_epilogue_and_empty_value(void **state) {
    le_kvlist_t l = mp("This is the preamble.\r\n" B "\r\n"
                       "Content-Disposition: form-data; name=\"a\"\r\n"
                       "\r\n"
                       "\r\n" B "\r\n"
                       "Content-Disposition: form-data; name=\"b\"\r\n"
                       "Content-Type: text/plain; charset=UTF-8\r\n"
                       "\r\n"
                       "2\r\n" B "--\r\n"
                       "epilogue " B "\r\ngarbage",
                       LE_DEC_OK);
    assert_int_equal(l.n, 2);
    assert_kv(&l, 0, "a", "");
    assert_kv(&l, 1, "b", "2");
}

static void test_value_with_newlines(void **state) {
    le_kvlist_t l = mp(B "\r\n"
                         "Content-Disposition: form-data; name=\"msg\"\r\n"
                         "\r\n"
                         "line1\r\nline2\r\n\tindented\r\n--not-the-boundary\r\n" B "--",
                       LE_DEC_OK);
    assert_int_equal(l.n, 1);
    assert_kv(&l, 0, "msg", "line1\r\nline2\r\n\tindented\r\n--not-the-boundary");
}

static void test_boundary_forms(void **state) {
    const char *body = "--abc'()+_,-./:=?\r\n"
                       "Content-Disposition: form-data; name=\"k\"\r\n\r\n"
                       "v\r\n--abc'()+_,-./:=?--\r\n";
    le_kvlist_t l =
        mp_ct("multipart/form-data; boundary=\"abc'()+_,-./:=?\"", body, 4, 64, LE_DEC_OK);
    assert_kv(&l, 0, "k", "v");
    /* Unquoted, other params around it, mixed case. */
    body = "--xyz\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--xyz--";
    l = mp_ct("Multipart/Form-Data ; charset=utf-8; BOUNDARY=xyz ; foo=\"b;ar\"", body, 4, 64,
              LE_DEC_OK);
    assert_kv(&l, 0, "k", "v");
    /* Quoted boundary with a space inside. */
    body = "--a b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--a b--";
    l = mp_ct("multipart/form-data; boundary=\"a b\"", body, 4, 64, LE_DEC_OK);
    assert_kv(&l, 0, "k", "v");

    /* 70 characters is the maximum. */
    char b70[71], ct[128], buf[512];
    memset(b70, 'b', 70);
    b70[70] = '\0';
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b70);
    snprintf(buf, sizeof(buf), "--%s\r\nContent-Disposition: form-data; name=k\r\n\r\nv\r\n--%s--",
             b70, b70);
    l = mp_ct(ct, buf, 4, 64, LE_DEC_OK);
    assert_kv(&l, 0, "k", "v");
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%sb", b70);
    mp_ct(ct, buf, 4, 64, LE_DEC_BAD_MULTIPART);

    body = "--x\r\nContent-Disposition: form-data; name=k\r\n\r\nv\r\n--x--";
    mp_ct("multipart/form-data", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/form-data; boundary=", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/form-data; boundary=\"\"", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/form-data; boundary=\"x", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/form-data; boundary=x; boundary=x", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/form-data; boundary=\"x \"",
          "--x \r\nContent-Disposition: form-data; name=k\r\n\r\nv\r\n--x --", 4, 64,
          LE_DEC_BAD_MULTIPART); /* a boundary may not end in a space */
    mp_ct("multipart/form-data; boundary=x\"y", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/form-data; boundary=\"x\\y\"", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/mixed; boundary=x", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("application/x-www-form-urlencoded; boundary=x", body, 4, 64, LE_DEC_BAD_MULTIPART);
    mp_ct("multipart/form-data; boundary=x", body, 4, 64, LE_DEC_OK);
}

static void test_missing_closing_boundary(void **state) {
    mp(B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" B "\r\n",
       LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n", LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" B "-", LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" B, LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1" B "--", LE_DEC_BAD_MULTIPART);
    mp("", LE_DEC_BAD_MULTIPART);
    mp("no boundary at all", LE_DEC_BAD_MULTIPART);
    mp(B, LE_DEC_BAD_MULTIPART);
    /* A body that is only the close delimiter has no fields, which is fine. */
    le_kvlist_t l = mp(B "--\r\n", LE_DEC_OK);
    assert_int_equal(l.n, 0);
}

static void test_crlf_variants(void **state) {
    /* LF throughout (some non-browser clients): accepted, fixed by the first line. */
    le_kvlist_t l = mp(B "\n"
                         "Content-Disposition: form-data; name=\"a\"\n"
                         "\n"
                         "1\nx\n" B "\n"
                         "Content-Disposition: form-data; name=\"b\"\n"
                         "\n"
                         "2\n" B "--\n",
                       LE_DEC_OK);
    assert_int_equal(l.n, 2);
    assert_kv(&l, 0, "a", "1\nx");
    assert_kv(&l, 1, "b", "2");

    /* CRLF delimiter, then LF-only headers: the header block never ends. */
    mp(B "\r\nContent-Disposition: form-data; name=\"a\"\n\n1\r\n" B "--", LE_DEC_BAD_MULTIPART);
    /* LF first, CRLF headers: CR in a header line. */
    mp(B "\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\n" B "--", LE_DEC_BAD_MULTIPART);
    /* In CRLF mode a bare-LF delimiter is content, so the close is never found. */
    mp(B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\n" B "--", LE_DEC_BAD_MULTIPART);
    /* Transport padding after the boundary is allowed. */
    l = mp(B " \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" B "--", LE_DEC_OK);
    assert_kv(&l, 0, "a", "1");
    /* A bare CR in a header line. */
    mp(B "\r\nContent-Disposition: form-data;\r name=\"a\"\r\n\r\n1\r\n" B "--",
       LE_DEC_BAD_MULTIPART);
    /* Folded (obsolete) header lines. */
    mp(B "\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\n1\r\n" B "--",
       LE_DEC_BAD_MULTIPART);
}

static void test_bad_part_headers(void **state) {
    /* No Content-Disposition. */
    mp(B "\r\nContent-Type: text/plain\r\n\r\n1\r\n" B "--", LE_DEC_BAD_MULTIPART);
    /* No headers at all. */
    mp(B "\r\n\r\n1\r\n" B "--", LE_DEC_BAD_MULTIPART);
    /* Not form-data. */
    mp(B "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n" B "--",
       LE_DEC_BAD_MULTIPART);
    /* No name. */
    mp(B "\r\nContent-Disposition: form-data\r\n\r\n1\r\n" B "--", LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\n1\r\n" B "--",
       LE_DEC_BAD_MULTIPART);
    /* Two names, two dispositions. */
    mp(B "\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n1\r\n" B "--",
       LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
         "name=b\r\n\r\n1\r\n" B "--",
       LE_DEC_BAD_MULTIPART);
    /* Unterminated quote, missing colon, no blank line. */
    mp(B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n" B "--", LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition form-data; name=a\r\n\r\n1\r\n" B "--", LE_DEC_BAD_MULTIPART);
    mp(B "\r\nContent-Disposition: form-data; name=a\r\n" B "--", LE_DEC_BAD_MULTIPART);
    /* A NUL in a header line. */
    const char body[] = B "\r\nContent-Disposition: form-data; name=\"a\0\"\r\n\r\n1\r\n" B "--";
    le_kvlist_t l;
    assert_int_equal(le_multipart_parse(&arena, LE_STR(CT), body, sizeof(body) - 1, 16, 1024, &l),
                     LE_DEC_BAD_MULTIPART);
    /* Unknown headers are ignored. */
    l = mp(B "\r\nX-Whatever: 1\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n" B "--",
           LE_DEC_OK);
    assert_kv(&l, 0, "a", "1");
}

static void test_skipped_parts(void **state) {
    le_kvlist_t l = mp(B "\r\n"
                         "Content-Disposition: form-data; name=\"j\"\r\n"
                         "Content-Type: application/json\r\n\r\n"
                         "{}\r\n" B "\r\n"
                         "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''a.txt\r\n"
                         "\r\n"
                         "file\r\n" B "\r\n"
                         "Content-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n"
                         "Content-Type: application/octet-stream\r\n\r\n"
                         "\r\n" B "\r\n"
                         "Content-Disposition: form-data; name=\"t\"\r\n"
                         "Content-Type: TEXT/PLAIN\r\n\r\n"
                         "kept\r\n" B "--",
                       LE_DEC_OK);
    assert_int_equal(l.n, 1);
    assert_kv(&l, 0, "t", "kept");
    /* A skipped file part may hold anything, including invalid UTF-8 and NUL. */
    const char body[] = B "\r\nContent-Disposition: form-data; name=f; filename=a\r\n\r\n"
                          "\0\xc0\xff\r\n" B "--";
    assert_int_equal(le_multipart_parse(&arena, LE_STR(CT), body, sizeof(body) - 1, 16, 1024, &l),
                     LE_DEC_OK);
    assert_int_equal(l.n, 0);
}

static void test_limits_and_text_rules(void **state) {
    const char *three = B "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n" B
                          "\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n" B
                          "\r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n" B "--";
    le_kvlist_t l = mp_ct(CT, three, 3, 64, LE_DEC_OK);
    assert_int_equal(l.n, 3);
    assert_kv(&l, 2, "c", "3");
    mp_ct(CT, three, 2, 64, LE_DEC_TOO_MANY);
    mp_ct(CT, three, 0, 64, LE_DEC_TOO_MANY);

    /* Many fields: the array grows past its first size. */
    char *big = malloc(64 * 1024);
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(big + n,
                             B "\r\nContent-Disposition: form-data; name=f%d\r\n\r\nv%d\r\n", i, i);
    sprintf(big + n, B "--");
    l = mp_ct(CT, big, 100, 64, LE_DEC_OK);
    assert_int_equal(l.n, 100);
    assert_kv(&l, 0, "f0", "v0");
    assert_kv(&l, 99, "f99", "v99");
    mp_ct(CT, big, 99, 64, LE_DEC_TOO_MANY);
    free(big);

    mp_ct(CT, B "\r\nContent-Disposition: form-data; name=a\r\n\r\n12345\r\n" B "--", 4, 5,
          LE_DEC_OK);
    mp_ct(CT, B "\r\nContent-Disposition: form-data; name=a\r\n\r\n123456\r\n" B "--", 4, 5,
          LE_DEC_TOO_LONG);
    mp_ct(CT, B "\r\nContent-Disposition: form-data; name=abcdef\r\n\r\n1\r\n" B "--", 4, 5,
          LE_DEC_TOO_LONG);

    mp(B "\r\nContent-Disposition: form-data; name=a\r\n\r\n\xc0\xaf\r\n" B "--", LE_DEC_BAD_UTF8);
    mp(B "\r\nContent-Disposition: form-data; name=a\r\n\r\n\xed\xa0\x80\r\n" B "--",
       LE_DEC_BAD_UTF8);
    mp(B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\x1b\r\n" B "--", LE_DEC_CONTROL);
    mp(B "\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nx\r\n" B "--", LE_DEC_BAD_UTF8);
    const char nul[] = B "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\0y\r\n" B "--";
    assert_int_equal(le_multipart_parse(&arena, LE_STR(CT), nul, sizeof(nul) - 1, 16, 1024, &l),
                     LE_DEC_CONTROL);
    /* UTF-8 names as browsers send them, raw. */
    l = mp(B "\r\nContent-Disposition: form-data; name=\"pr\xc3\xa9nom\"\r\n\r\nZo\xc3\xa9\r\n" B
             "--",
           LE_DEC_OK);
    assert_kv(&l, 0, "pr\xc3\xa9nom", "Zo\xc3\xa9");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_fields_and_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preamble_epilogue_and_empty_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_with_newlines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boundary_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_closing_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crlf_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_part_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_text_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
