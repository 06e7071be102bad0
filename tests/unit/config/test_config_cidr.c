/*
 * test_config_cidr.c: le_cidr_parse, le_cidr_contains and le_listen_parse at their edges.
 *
 * trusted_proxies decides whose X-Forwarded-For is believed, so the prefix arithmetic is tested
 * at every kind of boundary: /0, whole-byte prefixes, odd prefixes that split a byte (/13, /33,
 * /127), full-length prefixes, the first and last address inside a network and the neighbours
 * just outside it, and IPv4 clients seen through a dual-stack socket as ::ffff:a.b.c.d.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config.h"

static le_cidr_t cidr(const char *s) {
    le_cidr_t c;
    memset(&c, 0xAA, sizeof(c));
    int rc = le_cidr_parse(s, &c);
    if (rc != 0) fprintf(stderr, "le_cidr_parse(%s) failed\n", s);
    assert_int_equal(rc, 0);
    return c;
}

/* Does the network s contain the address a (either family, by its spelling)? */
static bool in(const char *s, const char *a) {
    le_cidr_t c = cidr(s);
    uint8_t bytes[16];
    int family = strchr(a, ':') ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(family, a, bytes), 1);
    return le_cidr_contains(&c, family, bytes);
}

static void test_parse(void **state) {
    le_cidr_t c = cidr("10.0.0.0/8");
    assert_int_equal(c.family, AF_INET);
    assert_memory_equal(c.addr, "\x0a\x00\x00\x00", 4);
    assert_int_equal(c.prefix, 8);

    c = cidr("192.0.2.1");
    assert_int_equal(c.family, AF_INET);
    assert_memory_equal(c.addr, "\xc0\x00\x02\x01", 4);
    assert_int_equal(c.prefix, 32);

    c = cidr("::1");
    assert_int_equal(c.family, AF_INET6);
    assert_memory_equal(c.addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    assert_int_equal(c.prefix, 128);

    c = cidr("2001:db8::/32");
    assert_int_equal(c.family, AF_INET6);
    assert_memory_equal(c.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    assert_int_equal(c.prefix, 32);

    c = cidr("0.0.0.0/0");
    assert_int_equal(c.prefix, 0);
    c = cidr("::/0");
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 0);
    c = cidr("10.8.0.0/13");
    assert_int_equal(c.prefix, 13);
    c = cidr("::ffff:10.0.0.0/104");
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 104);
}

static void test_parse_rejects(void **state) {
    static const char *const bad[] = {
        "",
        "/8",
        "10.0.0.0/",
        "10.0.0.0/33",
        "10.0.0.0/-1",
        "10.0.0.0/8/8",
        "10.0.0.0 /8",
        " 10.0.0.0/8",
        "10.0.0.0/8 ",
        "010.0.0.0/8",
        "1.2.3.4.5",
        "1.2.3",
        "256.0.0.0/8",
        "::1/129",
        "fe80::1%eth0",
        "10.0.0.0/0008",
        "10.0.0.0/+8",
        "host.example",
        "::1/",
        "1::2::3",
        /* host bits set beyond the prefix */
        "10.0.0.1/8",
        "10.9.0.0/13",
        "192.168.1.1/31",
        "0.0.0.1/0",
        "2001:db8::1/32",
        "2001:db8:8000::/32",
        "::1/127",
        "8000::/0",
        "2001:db8:c000::/33",
    };
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad); i++) {
        le_cidr_t c;
        memset(&c, 0x5A, sizeof(c));
        if (le_cidr_parse(bad[i], &c) != LE_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
        /* *out is left alone on failure */
        assert_int_equal(c.prefix, 0x5A);
    }
    le_cidr_t c;
    assert_int_equal(le_cidr_parse(NULL, &c), LE_EINVAL);
}

static void test_contains_v4(void **state) {
    /* /0: everything IPv4 */
    assert_true(in("0.0.0.0/0", "0.0.0.0"));
    assert_true(in("0.0.0.0/0", "255.255.255.255"));
    /* /32: exactly one address */
    assert_true(in("192.0.2.7/32", "192.0.2.7"));
    assert_false(in("192.0.2.7/32", "192.0.2.6"));
    assert_false(in("192.0.2.7/32", "192.0.2.8"));
    assert_false(in("192.0.2.7/32", "193.0.2.7"));
    /* /8 on a byte boundary */
    assert_true(in("10.0.0.0/8", "10.0.0.0"));
    assert_true(in("10.0.0.0/8", "10.255.255.255"));
    assert_false(in("10.0.0.0/8", "11.0.0.0"));
    assert_false(in("10.0.0.0/8", "9.255.255.255"));
    /* /13 splits the second byte: 10.8.0.0 - 10.15.255.255 */
    assert_true(in("10.8.0.0/13", "10.8.0.0"));
    assert_true(in("10.8.0.0/13", "10.15.255.255"));
    assert_true(in("10.8.0.0/13", "10.12.34.56"));
    assert_false(in("10.8.0.0/13", "10.7.255.255"));
    assert_false(in("10.8.0.0/13", "10.16.0.0"));
    assert_false(in("10.8.0.0/13", "138.8.0.0")); /* differs in the first bit only */
    /* /1 and /31 */
    assert_true(in("128.0.0.0/1", "128.0.0.0"));
    assert_true(in("128.0.0.0/1", "255.255.255.255"));
    assert_false(in("128.0.0.0/1", "127.255.255.255"));
    assert_true(in("192.168.1.0/31", "192.168.1.1"));
    assert_false(in("192.168.1.0/31", "192.168.1.2"));
    /* /23 splits the third byte */
    assert_true(in("172.16.2.0/23", "172.16.3.255"));
    assert_false(in("172.16.2.0/23", "172.16.4.0"));
    assert_false(in("172.16.2.0/23", "172.16.1.255"));
}

static void test_contains_v6(void **state) {
    assert_true(in("::/0", "::"));
    assert_true(in("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_true(in("::1/128", "::1"));
    assert_false(in("::1/128", "::2"));
    assert_false(in("::1/128", "::"));
    assert_false(in("::1/128", "8000::1"));
    /* /32 byte boundary */
    assert_true(in("2001:db8::/32", "2001:db8::"));
    assert_true(in("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(in("2001:db8::/32", "2001:db9::"));
    assert_false(in("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
    /* /33 takes one bit of the fifth byte */
    assert_true(in("2001:db8::/33", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(in("2001:db8::/33", "2001:db8:8000::"));
    assert_true(in("2001:db8:8000::/33", "2001:db8:8000::"));
    assert_true(in("2001:db8:8000::/33", "2001:db8:ffff::1"));
    assert_false(in("2001:db8:8000::/33", "2001:db8:7fff::"));
    /* /127, /1, /7 (fc00::/7, unique local) */
    assert_true(in("2001:db8::/127", "2001:db8::1"));
    assert_false(in("2001:db8::/127", "2001:db8::2"));
    assert_true(in("8000::/1", "8000::"));
    assert_false(in("8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_true(in("fc00::/7", "fd12:3456::1"));
    assert_false(in("fc00::/7", "fe80::1"));
    /* /121 splits the last byte */
    assert_true(in("2001:db8::80/121", "2001:db8::ff"));
    assert_false(in("2001:db8::80/121", "2001:db8::7f"));
}

static void test_contains_families(void **state) {
    /* An IPv4 network and an IPv4 client seen on a dual-stack socket. */
    assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_false(in("10.0.0.0/8", "::ffff:11.1.2.3"));
    assert_true(in("0.0.0.0/0", "::ffff:1.2.3.4"));
    /* A plain IPv6 address never falls in an IPv4 network, even /0. */
    assert_false(in("0.0.0.0/0", "::1"));
    assert_false(in("0.0.0.0/0", "::a00:1")); /* IPv4-compatible, deprecated: not mapped */
    /* An IPv6 network written in mapped form covers IPv4 clients. */
    assert_true(in("::ffff:10.0.0.0/104", "10.9.8.7"));
    assert_false(in("::ffff:10.0.0.0/104", "11.9.8.7"));
    assert_true(in("::/0", "1.2.3.4"));
    assert_false(in("2001:db8::/32", "1.2.3.4"));
    /* Unknown families and NULLs are never contained. */
    le_cidr_t c = cidr("0.0.0.0/0");
    uint8_t a[16] = {0};
    assert_false(le_cidr_contains(&c, AF_UNIX, a));
    assert_false(le_cidr_contains(&c, AF_INET, NULL));
    assert_false(le_cidr_contains(NULL, AF_INET, a));
}

static void test_listen_parse(void **state) {
    char host[LE_LISTEN_HOST_MAX];
    uint16_t port = 0;
    assert_int_equal(le_listen_parse("127.0.0.1:8080", host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(le_listen_parse("[::1]:443", host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 443);
    assert_int_equal(le_listen_parse("[::]:1", host, &port), 0);
    assert_string_equal(host, "::");
    assert_int_equal(port, 1);
    assert_int_equal(le_listen_parse("0.0.0.0:65535", host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 65535);
    assert_int_equal(le_listen_parse("127.0.0.1:0", host, &port), 0); /* any free port */
    assert_int_equal(port, 0);
    assert_int_equal(
        le_listen_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:8", host, &port), 0);
    assert_string_equal(host, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");

    static const char *const bad[] = {
        "127.0.0.1",     "127.0.0.1:65536", "127.0.0.1:",    ":8080",          "::1:8080",
        "[::1]",         "[::1]8080",       "[::1]:",        "localhost:8080", "1.2.3:80",
        "127.0.0.1:8o",  "[]:80",           "127.0.0.1:+80", "127.0.0.1:-1",   "",
        "[127.0.0.1]:80"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(bad); i++) {
        port = 7;
        if (le_listen_parse(bad[i], host, &port) != LE_EINVAL) fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(port, 7);
    }
    assert_int_equal(le_listen_parse(NULL, host, &port), LE_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_contains_v4),
        cmocka_unit_test(test_contains_v6),
        cmocka_unit_test(test_contains_families),
        cmocka_unit_test(test_listen_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
