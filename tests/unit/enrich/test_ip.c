/*
 * test_ip.c: client address resolution and truncation (enrich/ip.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "ip.h"

static le_ip_t ip(const char *s) {
    le_ip_t out;
    assert_int_equal(le_ip_parse(le_str(s), &out), 0);
    return out;
}

static const char *fmt(le_ip_t a) {
    static char buf[INET6_ADDRSTRLEN];
    le_ip_format(&a, buf);
    return buf;
}

static void test_parse(void **st) {
    le_ip_t a;
    assert_string_equal(fmt(ip("203.0.113.9")), "203.0.113.9");
    assert_string_equal(fmt(ip("2001:db8::1")), "2001:db8::1");
    assert_string_equal(fmt(ip("[2001:db8::1]:443")), "2001:db8::1");
    assert_string_equal(fmt(ip("1.2.3.4:80")), "1.2.3.4");
    assert_string_equal(fmt(ip("\"[::ffff:10.1.2.3]\"")), "10.1.2.3");
    assert_int_equal(ip("::ffff:10.1.2.3").family, AF_INET);
    assert_int_equal(le_ip_parse(le_str("999.1.1.1"), &a), LE_EINVAL);
    assert_int_equal(le_ip_parse(le_str(""), &a), LE_EINVAL);
    assert_int_equal(le_ip_parse(le_str("unknown"), &a), LE_EINVAL);
    assert_int_equal(le_ip_parse(le_str("[::1"), &a), LE_EINVAL);
}

static void test_truncate(void **st) {
    le_ip_t a = ip("203.0.113.77");
    assert_string_equal(fmt(le_ip_truncate(&a, 16, 80)), "203.0.0.0");
    assert_string_equal(fmt(le_ip_truncate(&a, 8, 80)), "203.0.113.0");
    assert_string_equal(fmt(le_ip_truncate(&a, 0, 80)), "203.0.113.77");
    assert_string_equal(fmt(le_ip_truncate(&a, 12, 80)), "203.0.112.0");
    assert_string_equal(fmt(le_ip_truncate(&a, 32, 80)), "0.0.0.0");
    le_ip_t b = ip("2001:db8:abcd:1234:5678::1");
    assert_string_equal(fmt(le_ip_truncate(&b, 16, 80)), "2001:db8:abcd::");
    assert_string_equal(fmt(le_ip_truncate(&b, 16, 84)), "2001:db8:abc0::");
    assert_string_equal(fmt(le_ip_truncate(&b, 16, 128)), "::");
}

static le_cidr_t cidr(const char *s) {
    le_cidr_t c;
    assert_int_equal(le_cidr_parse(s, &c), 0);
    return c;
}

static void test_client(void **st) {
    le_cidr_t trusted[] = {cidr("127.0.0.1/32"), cidr("10.0.0.0/8")};
    le_ip_t peer = ip("127.0.0.1"), other = ip("198.51.100.1");
    le_ip_headers_t h = {le_str("203.0.113.5, 198.51.100.7, 10.1.1.1"), LE_STR_NULL, LE_STR_NULL};
    /* Rightmost untrusted address wins. */
    assert_string_equal(fmt(le_ip_client(&peer, &h, trusted, 2)), "198.51.100.7");
    /* Untrusted peer: the header is ignored. */
    assert_string_equal(fmt(le_ip_client(&other, &h, trusted, 2)), "198.51.100.1");
    /* No trusted proxies configured: the header is ignored. */
    assert_string_equal(fmt(le_ip_client(&peer, &h, trusted, 0)), "127.0.0.1");
    /* All trusted: the leftmost. */
    le_ip_headers_t all = {le_str("10.0.0.2,10.0.0.3"), LE_STR_NULL, LE_STR_NULL};
    assert_string_equal(fmt(le_ip_client(&peer, &all, trusted, 2)), "10.0.0.2");
    /* Garbage stops the walk at the last good address. */
    le_ip_headers_t bad = {le_str("203.0.113.5, bogus, 10.0.0.9"), LE_STR_NULL, LE_STR_NULL};
    assert_string_equal(fmt(le_ip_client(&peer, &bad, trusted, 2)), "10.0.0.9");
    /* Forwarded (RFC 7239), IPv6 in quotes and brackets. */
    le_ip_headers_t fw = {
        LE_STR_NULL, le_str("for=192.0.2.60;proto=http, for=\"[2001:db8::7]:4711\""), LE_STR_NULL};
    assert_string_equal(fmt(le_ip_client(&peer, &fw, trusted, 2)), "2001:db8::7");
    /* X-Real-IP as the fallback. */
    le_ip_headers_t real = {LE_STR_NULL, LE_STR_NULL, le_str("192.0.2.44")};
    assert_string_equal(fmt(le_ip_client(&peer, &real, trusted, 2)), "192.0.2.44");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
