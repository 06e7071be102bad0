/*
 * ip.c: client address resolution behind trusted proxies, and truncation.
 *
 * Forwarding headers are only believed when the socket peer is a configured
 * proxy; we then walk the chain right to left, because each proxy appends
 * the address it saw, and the rightmost address not belonging to us is the
 * first one nobody we trust could have forged.
 */
#include "ip.h"

#include <arpa/inet.h>
#include <string.h>

static void fold_mapped(le_ip_t *ip) {
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip->family == AF_INET6 && memcmp(ip->addr, prefix, 12) == 0) {
        memmove(ip->addr, ip->addr + 12, 4);
        memset(ip->addr + 4, 0, 12);
        ip->family = AF_INET;
    }
}

int le_ip_from_sockaddr(const struct sockaddr *sa, le_ip_t *out) {
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        out->family = AF_INET6;
        memcpy(out->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        fold_mapped(out);
        return 0;
    }
    return LE_EINVAL;
}

int le_ip_parse(le_str_t s, le_ip_t *out) {
    char tmp[INET6_ADDRSTRLEN + 8];
    /* Trim spaces and optional quotes (Forwarded: for="[::1]:80"). */
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t' || s.ptr[0] == '"')) s.ptr++, s.len--;
    while (s.len &&
           (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t' || s.ptr[s.len - 1] == '"'))
        s.len--;
    if (s.len == 0 || s.len >= sizeof(tmp)) return LE_EINVAL;
    memset(out, 0, sizeof(*out));
    if (s.ptr[0] == '[') {
        const char *end = memchr(s.ptr, ']', s.len);
        if (!end) return LE_EINVAL;
        size_t n = (size_t)(end - s.ptr - 1);
        memcpy(tmp, s.ptr + 1, n);
        tmp[n] = '\0';
        if (inet_pton(AF_INET6, tmp, out->addr) != 1) return LE_EINVAL;
        out->family = AF_INET6;
        fold_mapped(out);
        return 0;
    }
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = '\0';
    /* Every IPv6 text form has a colon; without one, only IPv4 is worth trying. */
    bool colons = memchr(tmp, ':', s.len) != NULL;
    if (colons && inet_pton(AF_INET6, tmp, out->addr) == 1) {
        out->family = AF_INET6;
        fold_mapped(out);
        return 0;
    }
    char *colon = colons ? strchr(tmp, ':') : NULL; /* IPv4 with a port */
    if (colon) {
        if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
            strlen(colon + 1) > 5)
            return LE_EINVAL;
        *colon = '\0';
    }
    if (inet_pton(AF_INET, tmp, out->addr) == 1) {
        out->family = AF_INET;
        return 0;
    }
    return LE_EINVAL;
}

bool le_ip_in(const le_ip_t *ip, const le_cidr_t *nets, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (le_cidr_contains(&nets[i], ip->family, ip->addr)) return true;
    return false;
}

/* Split s on sep and return the element before *end (walking right to left). */
static bool prev_item(le_str_t s, char sep, size_t *end, le_str_t *item) {
    if (*end == 0) return false;
    size_t e = *end, b = e;
    while (b > 0 && s.ptr[b - 1] != sep) b--;
    item->ptr = s.ptr + b;
    item->len = e - b;
    *end = b > 0 ? b - 1 : 0;
    return true;
}

/* From one Forwarded element ("for=1.2.3.4;proto=https"), the for= value. */
static bool forwarded_for(le_str_t el, le_str_t *out) {
    size_t i = 0;
    while (i < el.len) {
        while (i < el.len && (el.ptr[i] == ' ' || el.ptr[i] == ';')) i++;
        size_t k = i;
        while (i < el.len && el.ptr[i] != ';') i++;
        le_str_t pair = {el.ptr + k, i - k};
        if (pair.len > 4 && (pair.ptr[0] | 32) == 'f' && (pair.ptr[1] | 32) == 'o' &&
            (pair.ptr[2] | 32) == 'r' && pair.ptr[3] == '=') {
            *out = (le_str_t){pair.ptr + 4, pair.len - 4};
            return true;
        }
    }
    return false;
}

le_ip_t le_ip_client(const le_ip_t *peer, const le_ip_headers_t *h, const le_cidr_t *trusted,
                     size_t n) {
    le_ip_t best = *peer;
    if (n == 0 || !le_ip_in(peer, trusted, n)) return best;
    if (h->x_forwarded_for.len || h->forwarded.len) {
        bool fwd = h->x_forwarded_for.len == 0;
        le_str_t chain = fwd ? h->forwarded : h->x_forwarded_for;
        size_t end = chain.len;
        le_str_t item;
        while (prev_item(chain, ',', &end, &item)) {
            le_str_t addr = item;
            if (fwd && !forwarded_for(item, &addr)) break;
            le_ip_t ip;
            if (le_ip_parse(addr, &ip) != 0) break;
            best = ip;
            if (!le_ip_in(&ip, trusted, n)) break;
        }
        return best;
    }
    le_ip_t ip;
    if (h->x_real_ip.len && le_ip_parse(h->x_real_ip, &ip) == 0) best = ip;
    return best;
}

le_ip_t le_ip_truncate(const le_ip_t *ip, unsigned v4_bits, unsigned v6_bits) {
    le_ip_t t = *ip;
    unsigned total = ip->family == AF_INET ? 32 : 128;
    unsigned clear = ip->family == AF_INET ? v4_bits : v6_bits;
    if (clear > total) clear = total;
    unsigned keep = total - clear;
    for (unsigned byte = 0; byte < total / 8; byte++) {
        unsigned first_bit = byte * 8;
        if (first_bit >= keep)
            t.addr[byte] = 0;
        else if (first_bit + 8 > keep)
            t.addr[byte] &= (uint8_t)(0xff << (8 - (keep - first_bit)));
    }
    return t;
}

size_t le_ip_format(const le_ip_t *ip, char *out) {
    if (ip->family == AF_INET) { /* hot path: inet_ntop goes through sprintf */
        char *o = out;
        for (int i = 0; i < 4; i++) {
            unsigned v = ip->addr[i];
            if (v >= 100) *o++ = (char)('0' + v / 100);
            if (v >= 10) *o++ = (char)('0' + v / 10 % 10);
            *o++ = (char)('0' + v % 10);
            *o++ = i < 3 ? '.' : '\0';
        }
        return (size_t)(o - out - 1);
    }
    if (!inet_ntop(ip->family, ip->addr, out, INET6_ADDRSTRLEN)) {
        out[0] = '\0';
        return 0;
    }
    return strlen(out);
}
