/*
 * net.c: the address forms the config accepts: CIDR networks and listen addresses.
 *
 * Both are strict on purpose. A CIDR with host bits set ("10.0.0.1/8") is refused rather than
 * silently widened, because in trusted_proxies a typo there decides whose X-Forwarded-For is
 * believed. Listen hosts are numeric (no name lookup at start-up, no surprise from /etc/hosts)
 * and IPv6 hosts are bracketed so that the port is never ambiguous.
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parse 1..3 decimal digits into *v; false on anything else. */
static bool parse_small(const char *s, unsigned *v) {
    unsigned x = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i == 3) return false;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    if (i == 0 || s[i] != '\0') return false;
    *v = x;
    return true;
}

const char *le__cidr_parse(const char *s, le_cidr_t *out, bool *host_bits) {
    static const char *bad = "expected an IP address or network such as 10.0.0.0/8 or fd00::/8";
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    le_cidr_t c = {0};
    unsigned prefix, max;

    *host_bits = false;
    if (alen == 0 || alen >= sizeof(addr)) return bad;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (memchr(addr, ':', alen)) {
        c.family = AF_INET6;
        max = 128;
    } else {
        c.family = AF_INET;
        max = 32;
    }
    if (inet_pton(c.family, addr, c.addr) != 1) return bad;
    if (!slash) {
        prefix = max;
    } else if (!parse_small(slash + 1, &prefix)) {
        return bad;
    } else if (prefix > max) {
        return c.family == AF_INET ? "prefix length must be between 0 and 32"
                                   : "prefix length must be between 0 and 128";
    }
    c.prefix = (uint8_t)prefix;
    /* Clear the host bits and see whether there were any. */
    for (unsigned bit = prefix; bit < max; bit++) {
        uint8_t mask = (uint8_t)(0x80u >> (bit % 8));
        if (c.addr[bit / 8] & mask) {
            c.addr[bit / 8] &= (uint8_t)~mask;
            *host_bits = true;
        }
    }
    *out = c;
    return *host_bits ? "host bits set" : NULL;
}

int le_cidr_parse(const char *s, le_cidr_t *out) {
    bool host_bits;
    le_cidr_t c;
    if (!s || le__cidr_parse(s, &c, &host_bits) != NULL) return LE_EINVAL;
    *out = c;
    return 0;
}

bool le_cidr_contains(const le_cidr_t *c, int family, const uint8_t *addr) {
    uint8_t mapped[16];
    const uint8_t *a = addr;

    if (!c || !addr) return false;
    if (family != AF_INET && family != AF_INET6) return false;
    if (family != c->family) {
        if (c->family == AF_INET && memcmp(addr, v4mapped_prefix, 12) == 0) {
            a = addr + 12;
        } else if (c->family == AF_INET6) {
            memcpy(mapped, v4mapped_prefix, 12);
            memcpy(mapped + 12, addr, 4);
            a = mapped;
        } else {
            return false;
        }
    }
    unsigned max = c->family == AF_INET ? 32 : 128;
    unsigned prefix = c->prefix > max ? max : c->prefix;
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, c->addr, whole) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (a[whole] & mask) == (c->addr[whole] & mask);
}

const char *le__listen_parse(const char *s, char *host, uint16_t *port) {
    static const char *bad = "expected host:port or [ipv6]:port such as 127.0.0.1:8080";
    static const char *badhost = "the host must be a numeric IPv4 address or a bracketed IPv6 "
                                 "address such as [::1]";
    uint8_t bytes[16];
    const char *colon;
    size_t hlen;
    int family;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return bad;
        if (close[1] != ':') return bad;
        colon = close + 1;
        s++;
        hlen = (size_t)(close - s);
        family = AF_INET6;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return bad;
        if (memchr(s, ':', (size_t)(colon - s))) return badhost; /* IPv6 without brackets */
        hlen = (size_t)(colon - s);
        family = AF_INET;
    }
    if (hlen == 0 || hlen >= LE_LISTEN_HOST_MAX) return badhost;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (inet_pton(family, host, bytes) != 1) return badhost;

    unsigned long p = 0;
    size_t i = 1;
    for (; colon[i] >= '0' && colon[i] <= '9'; i++) {
        if (i > 5) return "the port must be between 0 and 65535";
        p = p * 10 + (unsigned long)(colon[i] - '0');
    }
    if (i == 1 || colon[i] != '\0') return bad;
    if (p > 65535) return "the port must be between 0 and 65535";
    *port = (uint16_t)p;
    return NULL;
}

int le_listen_parse(const char *s, char *host, uint16_t *port) {
    char h[LE_LISTEN_HOST_MAX];
    uint16_t p;
    if (!s || le__listen_parse(s, h, &p) != NULL) return LE_EINVAL;
    memcpy(host, h, strlen(h) + 1);
    *port = p;
    return 0;
}
