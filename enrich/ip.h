/*
 * ip.h: the client's address, and the truncated form that is all we keep.
 *
 * Pure functions (no I/O, no logging). The client IP is the socket peer or,
 * only when the peer is a trusted proxy, the rightmost untrusted address in
 * X-Forwarded-For / Forwarded (X-Real-IP as a fallback). The full address is
 * used in memory only; everything stored holds le_ip_truncate's output.
 */
#ifndef LE_IP_H
#define LE_IP_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "config.h"
#include "le.h"

typedef struct {
    int family;       /* AF_INET or AF_INET6 (IPv4-mapped IPv6 is folded to AF_INET) */
    uint8_t addr[16]; /* network order; 4 bytes used for AF_INET */
} le_ip_t;

/* From a socket address (sockaddr_in or sockaddr_in6). 0 or LE_EINVAL. */
int le_ip_from_sockaddr(const struct sockaddr *sa, le_ip_t *out);

/* Parse text ("203.0.113.9", "2001:db8::1", "[2001:db8::1]:443", "1.2.3.4:80"). */
int le_ip_parse(le_str_t s, le_ip_t *out);

/* Headers a proxy may have set; any may be empty. */
typedef struct {
    le_str_t x_forwarded_for;
    le_str_t forwarded;
    le_str_t x_real_ip;
} le_ip_headers_t;

/*
 * The client address: peer unless peer is in trusted[0..n); then walk the
 * forwarding chain from the right and return the first address that is not
 * trusted (or the leftmost if all are trusted). Unparsable header entries
 * end the walk at the last good address.
 */
le_ip_t le_ip_client(const le_ip_t *peer, const le_ip_headers_t *h, const le_cidr_t *trusted,
                     size_t n);

bool le_ip_in(const le_ip_t *ip, const le_cidr_t *nets, size_t n);

/* Clear the low v4_bits (IPv4) or v6_bits (IPv6) bits. */
le_ip_t le_ip_truncate(const le_ip_t *ip, unsigned v4_bits, unsigned v6_bits);

/* Text form into out (at least INET6_ADDRSTRLEN bytes); returns the length. */
size_t le_ip_format(const le_ip_t *ip, char *out);

#endif
