/*
 * mmdb.h: IP address -> geo, organisation and network verdict from MaxMind-format .mmdb files.
 *
 * A le_mmdb_t is a set of open databases (GeoIP2/GeoLite2 City, Country, Enterprise, ISP, ASN,
 * Connection-Type, Anonymous-IP, Domain, DB-IP's GeoIP2-compatible files, or any vendor's MMDB
 * through an explicit field map), memory-mapped with libmaxminddb and immutable once open: any
 * number of threads look up in it at once, and a reload opens a new set and swaps the pointer,
 * readers holding a reference to the old one until they drop it (le_mmdb_ref/unref).
 *
 * Every database is verified whole at open (search tree, then every data record the tree reaches,
 * with pointers, sizes and nesting checked), so a corrupt or truncated replacement is refused at
 * open and never reaches a request. Lookups walk each matching record once, collecting the wanted
 * fields along a path trie compiled at open; they never allocate, log or fail: a database that
 * holds nothing for the address, or data of an unexpected type, simply contributes nothing.
 *
 * The built-in paths per database type and the field-map syntax are in docs/enrich-ip.md; the
 * network verdict table is below and there.
 *
 * Network verdict (le_ipinfo_t.network), decided after every database has been read, first match
 * wins (string comparisons ignore ASCII case):
 *
 *   1. anonymiser flags vpn, tor, public_proxy or residential_proxy, or is_anonymous without
 *      is_hosting (MaxMind sets is_anonymous for hosting too), or user_type
 *      "consumer_privacy" (iCloud Private Relay and the like)             -> LE_NET_ANONYMISER
 *   2. is_hosting, or user_type "hosting" / "content_delivery_network"    -> LE_NET_HOSTING
 *   3. user_type "business"                                              -> LE_NET_BUSINESS *
 *      user_type "government" / "military"                               -> LE_NET_GOVERNMENT
 *      user_type "college" / "school" / "library"                         -> LE_NET_EDUCATION
 *      user_type "cellular"                                              -> LE_NET_CELLULAR
 *      user_type "residential" / "consumer" / "dialup" / "cable-dsl"      -> LE_NET_ISP
 *      user_type "traveler" / "cafe" / "router" / "search_engine_spider"  -> LE_NET_UNKNOWN
 *   4. (no user_type, or one not listed above)
 *      connection_type "Cellular"                                         -> LE_NET_CELLULAR
 *      connection_type "Corporate"                                        -> LE_NET_BUSINESS *
 *      connection_type "Cable/DSL" / "Dialup" / "Satellite"               -> LE_NET_ISP
 *   5. otherwise                                                          -> LE_NET_UNKNOWN **
 *
 *   *  A business verdict becomes LE_NET_ISP when the organisation equals the ISP name (an
 *      access line registered to the carrier itself, not to a customer). Government and
 *      education keep their verdict: universities and public bodies are often their own ISP.
 *   ** With neither user_type nor connection_type, an organisation equal to the ISP name gives
 *      LE_NET_ISP (ISP-database data on an access network); a different organisation alone is
 *      not evidence of a business network and stays LE_NET_UNKNOWN.
 *
 * company / company_domain are set only when le_network_names_company(network): the organisation
 * (org) and its domain. An ISP, carrier, hosting provider or anonymiser is never a company.
 *
 * Company ranges (ranges.h) come first in le_mmdb_lookup_with: a hit there sets company,
 * company_domain, network = LE_NET_BUSINESS and from_ranges, whatever the databases say; the
 * databases still supply every other field.
 */
#ifndef LE_MMDB_H
#define LE_MMDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "ip.h"
#include "le.h"
#include "network.h"
#include "ranges.h"

/* Output fields: the names usable in a field map, and the bits of le_ipinfo_t.found. */
typedef enum {
    LE_IPF_COUNTRY_CODE = 0, /* ISO 3166-1 alpha-2 */
    LE_IPF_COUNTRY,          /* name in the chosen language */
    LE_IPF_SUBDIVISION_CODE, /* first (largest) subdivision, ISO 3166-2 without the country */
    LE_IPF_SUBDIVISION,
    LE_IPF_CITY,
    LE_IPF_POSTAL,
    LE_IPF_LATITUDE,
    LE_IPF_LONGITUDE,
    LE_IPF_ACCURACY_RADIUS, /* kilometres */
    LE_IPF_TIME_ZONE,       /* IANA name */
    LE_IPF_CONTINENT_CODE,
    LE_IPF_CONTINENT,
    LE_IPF_ORG,
    LE_IPF_ISP,
    LE_IPF_DOMAIN,
    LE_IPF_ASN,
    LE_IPF_AS_ORG,
    LE_IPF_CONNECTION_TYPE,
    LE_IPF_USER_TYPE,
    LE_IPF_IS_ANONYMOUS,
    LE_IPF_IS_VPN,
    LE_IPF_IS_TOR,
    LE_IPF_IS_HOSTING,
    LE_IPF_IS_PUBLIC_PROXY,
    LE_IPF_IS_RESIDENTIAL_PROXY,
    LE_IPF__COUNT
} le_ipfield_t;

#define LE_IPF_BIT(f) (UINT32_C(1) << (f))

/* "country_code", "is_vpn", ...: the field's name in field maps and output; NULL when out of
 * range. */
const char *le_ipfield_name(le_ipfield_t f);

/*
 * What the databases (and company ranges) say about one address. Strings point into the
 * memory-mapped databases or the ranges table: valid while the caller holds its reference to the
 * le_mmdb_t / le_ranges_t it looked up in; not NUL-terminated; LE_STR_NULL when unknown.
 * Numbers are 0 and has_location false when unknown; `found` tells a real 0 from a missing one.
 */
typedef struct {
    le_str_t country_code, country, subdivision_code, subdivision, city, postal, time_zone,
        continent_code, continent;
    double latitude, longitude;
    uint32_t accuracy_km;
    bool has_location; /* latitude and longitude both known */
    le_str_t org, isp, domain, as_org, connection_type, user_type;
    uint32_t asn;
    uint32_t anon; /* LE_ANON_* bits (network.h) */
    le_network_t network;
    le_str_t company, company_domain; /* only when le_network_names_company(network) */
    bool from_ranges;                 /* company came from the company ranges CSV */
    uint32_t found;                   /* LE_IPF_BIT(field) for every field some database had */
} le_ipinfo_t;

typedef struct le_mmdb_s le_mmdb_t;

/*
 * Open every database in dbs[0..n) (MMDB_MODE_MMAP) and verify it whole. Field paths come from
 * the database's metadata.database_type (built-in paths for the types listed in docs/enrich-ip.md)
 * or, when dbs[i].nfields > 0, from that explicit field map instead; a type without built-in
 * paths requires a field map. language ("de", "pt-BR"; NULL or "" means "en") picks localised
 * names, with English as the fallback.
 *
 * Field maps: name is an output field (le_ipfield_name), path a dotted path into the record
 * ("country.names.en", "subdivisions.0.iso_code", "-1" for the last array element). A name given
 * more than once lists fallbacks, tried in order. Unknown names and malformed paths are errors.
 *
 * On success returns 0 and *out holds a set with one reference (n == 0 gives a valid empty set).
 * On failure *out is NULL, nothing is leaked, and one line per problem is appended to err, each
 * naming the file ("GeoIP2-City.mmdb: cannot open: No such file or directory"); every database
 * is checked so that all problems are reported at once. Returns the first failure's code:
 * -errno when a file cannot be opened or read, LE_ECORRUPT for a file that is not a valid
 * MaxMind DB, LE_EINVAL for configuration errors (field map, unknown type without map, language).
 */
int le_mmdb_open(const le_dbconf_t *dbs, size_t n, const char *language, le_mmdb_t **out,
                 le_buf_t *err);

/* Take one more reference (atomic; any thread). Returns m; NULL is passed through. */
le_mmdb_t *le_mmdb_ref(le_mmdb_t *m);

/* Drop one reference; the last one unmaps every file and frees the set. NULL is a no-op. */
void le_mmdb_unref(le_mmdb_t *m);

/*
 * Look ip up in every database, in the order they were given: out is zeroed, then each database
 * fills the fields it has that no earlier database set (the earlier database wins), then the
 * network verdict and company are derived (see the table above). IPv4 (and IPv4-mapped IPv6)
 * addresses are looked up through an IPv6 database's IPv4 subtree; an IPv6 address in an
 * IPv4-only database finds nothing. m may be NULL (nothing found). Never fails, never allocates.
 */
void le_mmdb_lookup(const le_mmdb_t *m, const le_ip_t *ip, le_ipinfo_t *out);

/*
 * As le_mmdb_lookup, but consult the company ranges r first (r may be NULL): a hit sets company,
 * company_domain, network = LE_NET_BUSINESS and from_ranges, and the databases fill the rest.
 */
void le_mmdb_lookup_with(const le_mmdb_t *m, const le_ranges_t *r, const le_ip_t *ip,
                         le_ipinfo_t *out);

/*
 * Has any file changed on disk since it was opened: (st_dev, st_ino, st_size, st_mtim) differ,
 * or the path no longer exists? The open set keeps each file mapped, so a replacement always has
 * a new inode number. This is how a geoipupdate-style rename is noticed; the caller
 * then opens a new set and swaps it in. A stat per file; call it every few seconds, not per
 * request. NULL or an empty set: false.
 */
bool le_mmdb_changed(const le_mmdb_t *m);

/* Number of databases in the set (0 for NULL). */
size_t le_mmdb_count(const le_mmdb_t *m);

/* One database, for the `lookup` command, logs and the admin API. Strings belong to the set. */
typedef struct {
    const char *path;
    const char *database_type; /* metadata.database_type, "" when absent */
    const char *kind;          /* from database_type: "city", "country", "enterprise", "isp",
                                  "asn", "connection-type", "anonymous-ip", "domain", or
                                  "custom" for a type without built-in paths */
    uint64_t build_epoch;      /* seconds since the Unix epoch */
    unsigned ip_version;       /* 4 or 6 */
    unsigned record_size;      /* bits: 24, 28 or 32 */
    uint32_t node_count;
    uint64_t file_size;
    size_t npaths;          /* field paths compiled for it */
    bool field_map;         /* paths from an explicit field map (not the kind's built-ins) */
    uint64_t lookup_errors; /* lookups that hit an error in this database (should stay 0) */
} le_mmdb_info_t;

/* Describe database i (0 <= i < le_mmdb_count). 0, or LE_EINVAL when i is out of range. */
int le_mmdb_describe(const le_mmdb_t *m, size_t i, le_mmdb_info_t *out);

/* Append database i's field paths to out, one "name path\n" line each, in fallback order. */
void le_mmdb_describe_paths(const le_mmdb_t *m, size_t i, le_buf_t *out);

#endif
