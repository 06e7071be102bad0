/*
 * test_ranges.c: the company ranges CSV (enrich/ranges.c): parsing and quoting, every error
 * message, longest-prefix lookup over IPv4, IPv6 and IPv4-mapped addresses, change detection,
 * and a 100k-line file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ranges.h"

static le_ranges_t *load_ok(const char *csv) {
    le_buf_t err = LE_BUF_INIT;
    le_ranges_t *r = NULL;
    int rc = le_ranges_load_string("companies.csv", csv, strlen(csv), &r, &err);
    if (rc != 0) fail_msg("load: %d: %s", rc, le_buf_cstr(&err));
    assert_int_equal(err.len, 0);
    le_buf_free(&err);
    return r;
}

/* Load csv, expect failure, and compare the whole error text. */
static void load_bad(const char *csv, const char *want) {
    le_buf_t err = LE_BUF_INIT;
    le_ranges_t *r = (le_ranges_t *)&err;
    assert_int_equal(le_ranges_load_string("companies.csv", csv, strlen(csv), &r, &err), LE_EINVAL);
    assert_null(r);
    assert_string_equal(le_buf_cstr(&err), want);
    le_buf_free(&err);
}

static const char *find(const le_ranges_t *r, const char *addr) {
    static char buf[512];
    le_ip_t ip;
    le_str_t c, d;
    assert_int_equal(le_ip_parse(le_str(addr), &ip), 0);
    if (!le_ranges_find(r, &ip, &c, &d)) return NULL;
    snprintf(buf, sizeof buf, "%.*s|%.*s", (int)c.len, c.ptr, (int)d.len, d.ptr ? d.ptr : "");
    return buf;
}

#define FIND(r, addr, want)                                                                        \
    do {                                                                                           \
        const char *got_ = find((r), (addr));                                                      \
        if ((want) == NULL) {                                                                      \
            if (got_) fail_msg("%s: expected no match, got %s", (addr), got_);                     \
        } else {                                                                                   \
            if (!got_) fail_msg("%s: expected %s, got no match", (addr), (const char *)(want));    \
            assert_string_equal(got_, (want));                                                     \
        }                                                                                          \
    } while (0)

static void test_longest_prefix(void **st) {
    le_ranges_t *r = load_ok("network,company,domain\n"
                             "10.1.2.0/24,C,\n" /* order in the file does not matter */
                             "10.0.0.0/8,A,a.example\n"
                             "10.1.0.0/16,B,b.example\n"
                             "10.1.2.128/25,D,\n"
                             "10.2.0.0/16,E,\n"
                             "10.1.2.255,Host,\n"
                             "192.168.0.0/24,X,\n"
                             "192.168.1.0/24,Y,\n"
                             "2001:db8::/32,F,f.example\n"
                             "2001:db8:1::/48,G,\n"
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120,Top,\n"
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,Last,\n");
    assert_int_equal(le_ranges_count(r), 12);
    FIND(r, "9.255.255.255", NULL);
    FIND(r, "10.0.0.0", "A|a.example");
    FIND(r, "10.0.0.1", "A|a.example");
    FIND(r, "10.1.0.1", "B|b.example");
    FIND(r, "10.1.2.1", "C|");
    FIND(r, "10.1.2.127", "C|");
    FIND(r, "10.1.2.128", "D|");
    FIND(r, "10.1.2.254", "D|");
    FIND(r, "10.1.2.255", "Host|");
    FIND(r, "10.1.3.0", "B|b.example");
    FIND(r, "10.1.255.255", "B|b.example");
    FIND(r, "10.2.255.255", "E|");
    FIND(r, "10.3.0.0", "A|a.example");
    FIND(r, "10.255.255.255", "A|a.example");
    FIND(r, "11.0.0.0", NULL);
    FIND(r, "192.168.0.255", "X|");
    FIND(r, "192.168.1.0", "Y|");
    FIND(r, "192.168.2.0", NULL);
    FIND(r, "2001:db8::", "F|f.example");
    FIND(r, "2001:db8:1::1", "G|");
    FIND(r, "2001:db8:2::1", "F|f.example");
    FIND(r, "2001:db9::", NULL);
    FIND(r, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", NULL);
    FIND(r, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "Top|");
    FIND(r, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "Last|");
    /* IPv4-mapped IPv6, folded by the parser or built by hand, matches IPv4 networks. */
    FIND(r, "::ffff:10.1.2.200", "D|");
    le_ip_t raw = {.family = AF_INET6};
    raw.addr[10] = raw.addr[11] = 0xff;
    raw.addr[12] = 10, raw.addr[13] = 1, raw.addr[14] = 2, raw.addr[15] = 200;
    le_str_t c;
    assert_true(le_ranges_find(r, &raw, &c, NULL));
    assert_true(le_str_eq(c, "D"));
    /* IPv4-compatible (::10.1.2.200) is not IPv4. */
    FIND(r, "::10.1.2.200", NULL);
    le_ip_t none = {0};
    assert_false(le_ranges_find(r, &none, &c, NULL));
    le_ranges_unref(r);
}

static void test_catch_all(void **st) {
    le_ranges_t *r = load_ok("::/0,Any6,\n0.0.0.0/0,Any4,\n::ffff:192.0.2.0/120,Mapped,\n");
    FIND(r, "1.2.3.4", "Any4|");
    FIND(r, "192.0.2.7", "Mapped|"); /* an IPv6 network in the mapped space holds IPv4 */
    FIND(r, "2001:db8::1", "Any6|");
    FIND(r, "::", "Any6|");
    FIND(r, "ffff::", "Any6|");
    le_ranges_unref(r);
}

static void test_format(void **st) {
    le_ranges_t *r = load_ok("\xef\xbb\xbf"
                             "# company ranges\r\n"
                             "Network , Company , Domain\r\n"
                             "\r\n"
                             "   # indented comment\n"
                             " 192.0.2.0/24 , Example Corp , Example.COM \r\n"
                             "198.51.100.0/24,\"Example, Inc.\",example.org\n"
                             "203.0.113.0/25, \"The \"\"Quoted\"\" Company\" ,\r\n"
                             "203.0.113.128/25,No Domain\n"
                             "2001:db8::/48,\"Ümlaut GmbH\",\"xn--mlaut-jva.example\"\n"
                             "\n"
                             "2001:db8:1::/48,Last Line,last.example");
    assert_int_equal(le_ranges_count(r), 6);
    FIND(r, "192.0.2.1", "Example Corp|example.com");
    FIND(r, "198.51.100.1", "Example, Inc.|example.org");
    FIND(r, "203.0.113.1", "The \"Quoted\" Company|");
    FIND(r, "203.0.113.200", "No Domain|");
    FIND(r, "2001:db8::1", "Ümlaut GmbH|xn--mlaut-jva.example");
    FIND(r, "2001:db8:1::1", "Last Line|last.example");
    le_ip_t ip;
    le_str_t c = LE_STR_NULL, d = LE_STR("untouched");
    assert_int_equal(le_ip_parse(le_str("203.0.113.200"), &ip), 0);
    assert_true(le_ranges_find(r, &ip, &c, &d));
    assert_null(d.ptr);
    assert_int_equal(le_ip_parse(le_str("8.8.8.8"), &ip), 0);
    d = LE_STR("untouched");
    assert_false(le_ranges_find(r, &ip, &c, &d));
    assert_true(le_str_eq(d, "untouched"));
    le_ranges_unref(r);

    /* Empty, header only, comments only: valid and empty. */
    r = load_ok("");
    assert_int_equal(le_ranges_count(r), 0);
    FIND(r, "1.2.3.4", NULL);
    le_ranges_unref(r);
    r = load_ok("network,company,domain\n# nothing yet\n");
    assert_int_equal(le_ranges_count(r), 0);
    le_ranges_unref(r);
    /* A header is only a header on the first record. */
    load_bad("192.0.2.0/24,A,\nnetwork,company,domain\n",
             "companies.csv:2: network \"network\": not an IP address or CIDR (such as "
             "192.0.2.0/24)\n");
    /* NULL table. */
    assert_int_equal(le_ranges_count(NULL), 0);
    assert_false(le_ranges_changed(NULL));
    assert_null(le_ranges_ref(NULL));
    le_ranges_unref(NULL);
    le_ip_t any;
    assert_int_equal(le_ip_parse(le_str("1.2.3.4"), &any), 0);
    assert_false(le_ranges_find(NULL, &any, NULL, NULL));
}

static void test_errors(void **st) {
    load_bad("network,company,domain\n192.0.2.0/24\n",
             "companies.csv:2: expected 2 or 3 fields (network,company,domain), found 1\n");
    load_bad("192.0.2.0/24,A,a.example,extra\n",
             "companies.csv:1: expected 2 or 3 fields (network,company,domain), found 4\n");
    load_bad("192.0.2.0/24,A,a.example,1,2,3,4,5,6,7,8,9\n",
             "companies.csv:1: expected 2 or 3 fields (network,company,domain), found 12\n");
    load_bad("10.0.0.1/8,A,\n", "companies.csv:1: network \"10.0.0.1/8\": host bits set beyond "
                                "/8 (did you mean 10.0.0.0/8?)\n");
    load_bad("2001:db8::1/64,A,\n", "companies.csv:1: network \"2001:db8::1/64\": host bits set "
                                    "beyond /64 (did you mean 2001:db8::/64?)\n");
    load_bad("10.0.0.0/33,A,\n",
             "companies.csv:1: network \"10.0.0.0/33\": prefix length must be 0..32 for IPv4\n");
    load_bad("2001:db8::/129,A,\n", "companies.csv:1: network \"2001:db8::/129\": prefix length "
                                    "must be 0..128 for IPv6\n");
    load_bad("example.com,A,\n", "companies.csv:1: network \"example.com\": not an IP address or "
                                 "CIDR (such as 192.0.2.0/24)\n");
    load_bad("10.0.0.0/,A,\n10.0.0.0/-1,B,\n10.0.0.0/8x,C,\n10.0.0/8,D,\n",
             "companies.csv:1: network \"10.0.0.0/\": not an IP address or CIDR (such as "
             "192.0.2.0/24)\n"
             "companies.csv:2: network \"10.0.0.0/-1\": not an IP address or CIDR (such as "
             "192.0.2.0/24)\n"
             "companies.csv:3: network \"10.0.0.0/8x\": not an IP address or CIDR (such as "
             "192.0.2.0/24)\n"
             "companies.csv:4: network \"10.0.0/8\": not an IP address or CIDR (such as "
             "192.0.2.0/24)\n");
    load_bad(",A,\n", "companies.csv:1: network is empty\n");
    load_bad("10.0.0.0/8,,a.example\n", "companies.csv:1: company is empty\n");
    load_bad("10.0.0.0/8, \"\" ,a.example\n", "companies.csv:1: company is empty\n");
    char longname[400];
    memset(longname, 'x', 257);
    longname[257] = '\0';
    char csv[600];
    snprintf(csv, sizeof csv, "10.0.0.0/8,%s,\n", longname);
    load_bad(csv, "companies.csv:1: company is longer than 256 bytes\n");
    longname[256] = '\0';
    snprintf(csv, sizeof csv, "10.0.0.0/8,%s,\n", longname);
    le_ranges_unref(load_ok(csv)); /* exactly 256 is fine */
    load_bad("10.0.0.0/8,Bad \xc3\x28 UTF-8,\n", "companies.csv:1: company is not valid UTF-8\n");
    load_bad("10.0.0.0/8,Overlong \xc0\xaf,\n", "companies.csv:1: company is not valid UTF-8\n");
    load_bad("10.0.0.0/8,Tab\there,\n", "companies.csv:1: company contains a control character\n");
    load_bad("10.0.0.0/8,\"Two\nLines\",\n11.0.0.0/8,\"x\ny\"\"z\",\n",
             "companies.csv:1: company contains a control character\n"
             "companies.csv:3: company contains a control character\n");
    load_bad("10.0.0.0/8,A,https://a.example\n10.0.0.0/16,B,a..example\n11.0.0.0/8,C,.a\n"
             "12.0.0.0/8,D,a b\n",
             "companies.csv:1: domain \"https://a.example\": expected a host name such as "
             "example.com\n"
             "companies.csv:2: domain \"a..example\": expected a host name such as example.com\n"
             "companies.csv:3: domain \".a\": expected a host name such as example.com\n"
             "companies.csv:4: domain \"a b\": expected a host name such as example.com\n");
    load_bad("10.0.0.0/8,\"Unterminated,\n11.0.0.0/8,B,\n",
             "companies.csv:1: unterminated quoted field\n");
    load_bad("10.0.0.0/8,\"A\"x,\n11.0.0.0/8,B,\n",
             "companies.csv:1: unexpected character after a closing quote\n");
    load_bad("10.0.0.0/8,A \"B\",\n11.0.0.0/8,B,\n",
             "companies.csv:1: quote inside an unquoted field (quote the whole field)\n");
    load_bad("# header comment\n10.0.0.0/8,A,\n11.0.0.0/8,B,\n10.0.0.0/8,C,\n",
             "companies.csv:4: duplicate network 10.0.0.0/8 (first on line 2)\n");
    load_bad("2001:db8::/32,A,\n2001:db8:0::/32,B,\n",
             "companies.csv:2: duplicate network 2001:db8::/32 (first on line 1)\n");
    load_bad("192.0.2.1,A,\n192.0.2.1/32,B,\n",
             "companies.csv:2: duplicate network 192.0.2.1/32 (first on line 1)\n");
    /* Several errors on one line are all reported; a good line between bad ones is fine. */
    load_bad("10.0.0.1/8,,bad domain\n11.0.0.0/8,Fine,\n12.0.0.0/33,X,\n",
             "companies.csv:1: network \"10.0.0.1/8\": host bits set beyond /8 (did you mean "
             "10.0.0.0/8?)\n"
             "companies.csv:1: company is empty\n"
             "companies.csv:1: domain \"bad domain\": expected a host name such as example.com\n"
             "companies.csv:3: network \"12.0.0.0/33\": prefix length must be 0..32 for IPv4\n");
    /* Long and control-character input is shown safely: '?' for controls, 64 bytes at most. */
    char in[128], exp[256];
    snprintf(in, sizeof in, "\x01\x02%.70s,A,\n",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(exp, sizeof exp,
             "companies.csv:1: network \"??%.62s...\": not an IP address or CIDR (such as "
             "192.0.2.0/24)\n",
             in + 2);
    load_bad(in, exp);
}

static void test_error_cap(void **st) {
    le_buf_t csv = LE_BUF_INIT, want = LE_BUF_INIT;
    for (int i = 1; i <= 30; i++) le_buf_printf(&csv, "10.0.0.%d/8,A,\n", i);
    for (int i = 1; i <= LE_RANGES_MAX_ERRORS; i++)
        le_buf_printf(&want,
                      "companies.csv:%d: network \"10.0.0.%d/8\": host bits set beyond /8 (did "
                      "you mean 10.0.0.0/8?)\n",
                      i, i);
    le_buf_puts(&want, "companies.csv: too many errors, stopped after 20\n");
    load_bad(le_buf_cstr(&csv), le_buf_cstr(&want));
    le_buf_free(&csv);
    le_buf_free(&want);
}

static char tmpdir[256];

static void write_file(const char *path, const char *data) {
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(data, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_file_and_changed(void **st) {
    char path[512];
    snprintf(path, sizeof path, "%s/companies.csv", tmpdir);
    le_buf_t err = LE_BUF_INIT;
    le_ranges_t *r = (le_ranges_t *)&err;

    assert_int_equal(le_ranges_load(path, &r, &err), -ENOENT);
    assert_null(r);
    char want[700];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory\n", path);
    assert_string_equal(le_buf_cstr(&err), want);
    le_buf_reset(&err);

    assert_int_equal(le_ranges_load(tmpdir, &r, &err), -EINVAL);
    snprintf(want, sizeof want, "%s: not a regular file\n", tmpdir);
    assert_string_equal(le_buf_cstr(&err), want);
    le_buf_reset(&err);

    write_file(path, "192.0.2.0/24,Old Co,\n1.2.3.4/33,Bad,\n");
    assert_int_equal(le_ranges_load(path, &r, &err), LE_EINVAL);
    snprintf(want, sizeof want,
             "%s:2: network \"1.2.3.4/33\": prefix length must be 0..32 for IPv4\n", path);
    assert_string_equal(le_buf_cstr(&err), want);
    le_buf_reset(&err);

    write_file(path, "192.0.2.0/24,Old Co,\n");
    assert_int_equal(le_ranges_load(path, &r, &err), 0);
    assert_false(le_ranges_changed(r));
    FIND(r, "192.0.2.1", "Old Co|");
    /* Same size, likely the same mtime tick: the new inode number still tells. */
    write_file(path, "192.0.2.0/24,New Co,\n");
    assert_true(le_ranges_changed(r));
    le_ranges_t *r2 = NULL;
    assert_int_equal(le_ranges_load(path, &r2, &err), 0);
    assert_false(le_ranges_changed(r2));
    FIND(r2, "192.0.2.1", "New Co|");
    FIND(r, "192.0.2.1", "Old Co|"); /* the old table is untouched */
    assert_ptr_equal(le_ranges_ref(r2), r2);
    le_ranges_unref(r2);
    assert_int_equal(unlink(path), 0);
    assert_true(le_ranges_changed(r2));
    le_ranges_unref(r);
    le_ranges_unref(r2);

    /* Loaded from a string: never "changed". */
    r = load_ok("10.0.0.0/8,A,\n");
    assert_false(le_ranges_changed(r));
    le_ranges_unref(r);
    le_buf_free(&err);
}

/* Random nested networks against a linear longest-prefix scan. */
typedef struct {
    uint32_t addr;
    int prefix;
} net4_t;

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void test_random_against_scan(void **st) {
    enum { N = 1500, Q = 20000 };
    net4_t *nets = calloc(N, sizeof *nets);
    le_buf_t csv = LE_BUF_INIT;
    size_t n = 0;
    while (n < N) {
        int prefix = 8 + (int)(rnd() % 25);
        uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
        uint32_t a = (0x0a000000u | (rnd() & 0x00ffffffu)) & mask;
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++) dup = nets[i].addr == a && nets[i].prefix == prefix;
        if (dup) continue;
        nets[n].addr = a;
        nets[n].prefix = prefix;
        le_buf_printf(&csv, "%u.%u.%u.%u/%d,N%zu,\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                      a & 255, prefix, n);
        n++;
    }
    le_ranges_t *r = load_ok(le_buf_cstr(&csv));
    for (int q = 0; q < Q; q++) {
        uint32_t a = q % 4 == 0 ? nets[rnd() % N].addr + (rnd() % 3) - 1
                                : 0x0a000000u | (rnd() & 0x00ffffffu);
        int best = -1;
        for (size_t i = 0; i < N; i++) {
            uint32_t mask = ~0u << (32 - nets[i].prefix);
            if ((a & mask) == nets[i].addr && (best < 0 || nets[i].prefix > nets[best].prefix))
                best = (int)i;
        }
        le_ip_t ip = {.family = AF_INET};
        ip.addr[0] = (uint8_t)(a >> 24), ip.addr[1] = (uint8_t)(a >> 16);
        ip.addr[2] = (uint8_t)(a >> 8), ip.addr[3] = (uint8_t)a;
        le_str_t c;
        bool hit = le_ranges_find(r, &ip, &c, NULL);
        if (best < 0) {
            assert_false(hit);
        } else {
            char want[16];
            snprintf(want, sizeof want, "N%d", best);
            assert_true(hit);
            if (!le_str_eq(c, want)) fail_msg("%08x: got %.*s want %s", a, (int)c.len, c.ptr, want);
        }
    }
    le_ranges_unref(r);
    le_buf_free(&csv);
    free(nets);
}

static void test_large_file(void **st) {
    enum { LINES = 100000 };
    char path[512];
    snprintf(path, sizeof path, "%s/large.csv", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("network,company,domain\n", f);
    for (int i = 0; i < LINES; i++) {
        if (i % 2)
            fprintf(f, "%d.%d.%d.0/24,\"Company %d, Inc.\",c%d.example\n", 11 + i / 65536,
                    (i / 256) % 256, i % 256, i, i);
        else
            fprintf(f, "2001:db8:%x:%x::/64,Company %d,\n", i / 65536, i % 65536, i);
    }
    assert_int_equal(fclose(f), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    le_buf_t err = LE_BUF_INIT;
    le_ranges_t *r = NULL;
    assert_int_equal(le_ranges_load(path, &r, &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("loaded %d lines in %.1f ms\n", LINES, ms);
    assert_int_equal(le_ranges_count(r), LINES);
    /* Sane: linear-ish. A quadratic load would take minutes; this bound holds under ASan. */
    assert_true(ms < 10000);
    FIND(r, "11.0.1.77", "Company 1, Inc.|c1.example");
    FIND(r, "12.134.159.9", "Company 99999, Inc.|c99999.example");
    FIND(r, "11.0.0.1", NULL); /* i = 0 is IPv6 */
    FIND(r, "2001:db8:1:869e::5", "Company 99998|");
    FIND(r, "2001:db8:1:869f::5", NULL);
    le_ranges_unref(r);
    le_buf_free(&err);
    unlink(path);
}

static int setup(void **st) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/le_ranges_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st) {
    char p[600];
    snprintf(p, sizeof p, "%s/companies.csv.tmp", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_prefix),
        cmocka_unit_test(test_catch_all),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_file_and_changed),
        cmocka_unit_test(test_random_against_scan),
        cmocka_unit_test(test_large_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
