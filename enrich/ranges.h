/*
 * ranges.h: the users' own company ranges, "this network is that company", from a CSV file.
 *
 * For the networks an operator knows better than any database (customers' office ranges, a
 * partner's VPN egress). The file has one network per record:
 *
 *     network,company,domain
 *     # comments and blank lines are allowed
 *     192.0.2.0/24,Example Corp,example.com
 *     2001:db8:1234::/48,"Example, Inc.",example.org
 *     198.51.100.7,"The ""Quoted"" Company",
 *
 * RFC 4180 fields (quoted fields may hold commas and doubled quotes); an optional first header
 * line "network,company,domain"; a UTF-8 byte-order mark is skipped. network is an IPv4 or IPv6
 * CIDR, a bare address meaning the full prefix; host bits set beyond the prefix are an error.
 * company is required (at most 256 bytes of UTF-8, no control characters); domain is optional (a
 * host name, stored lowercased). Networks either nest or are disjoint, so the most specific
 * network containing an address wins; the same network twice is an error.
 *
 * At load the networks are flattened into sorted disjoint intervals over one 128-bit space
 * (IPv4 as ::ffff:a.b.c.d), so a lookup is one binary search: O(log n) time, O(n) memory.
 * IPv4 addresses and IPv4-mapped IPv6 addresses match IPv4 networks.
 *
 * A loaded table is immutable with an atomic reference count, swapped whole on reload like
 * le_mmdb_t. Pure: no logging, errors are returned as text.
 */
#ifndef LE_RANGES_H
#define LE_RANGES_H

#include <stdbool.h>

#include "buf.h"
#include "ip.h"
#include "le.h"

typedef struct le_ranges_s le_ranges_t;

/* At most this many error lines are reported for one file; then loading stops. */
#define LE_RANGES_MAX_ERRORS 20

/*
 * Load csv_path. On success returns 0 and *out holds a table with one reference. On failure *out
 * is NULL and one line per problem is appended to err, "companies.csv:12: network
 * \"10.0.0.1/8\": host bits set beyond /8 (did you mean 10.0.0.0/8?)", up to
 * LE_RANGES_MAX_ERRORS lines; returns -errno when the file cannot be read, LE_ETOOBIG when it is
 * larger than 256 MiB, LE_EINVAL for content errors.
 */
int le_ranges_load(const char *csv_path, le_ranges_t **out, le_buf_t *err);

/* The same for CSV held in memory; name stands for the file in messages and in
 * le_ranges_changed (pass NULL to make le_ranges_changed always false). */
int le_ranges_load_string(const char *name, const char *csv, size_t len, le_ranges_t **out,
                          le_buf_t *err);

/* Take one more reference (atomic; any thread). Returns r; NULL is passed through. */
le_ranges_t *le_ranges_ref(le_ranges_t *r);

/* Drop one reference; the last one frees the table. NULL is a no-op. */
void le_ranges_unref(le_ranges_t *r);

/*
 * The most specific network containing ip: true and its company and domain (domain LE_STR_NULL
 * when the record had none; strings valid while the reference is held, not NUL-terminated), or
 * false when no network contains it (company and domain untouched). r may be NULL. company and
 * domain may be NULL when not wanted.
 */
bool le_ranges_find(const le_ranges_t *r, const le_ip_t *ip, le_str_t *company, le_str_t *domain);

/* Number of networks loaded (0 for NULL). */
size_t le_ranges_count(const le_ranges_t *r);

/* Has the file changed since it was loaded ((st_dev, st_ino, st_size, st_mtim) differ, or it
 * vanished)? The table keeps its file open, so a replacement always has a new inode number even
 * when size and mtime match. False for NULL and for tables loaded from a string. */
bool le_ranges_changed(const le_ranges_t *r);

#endif
