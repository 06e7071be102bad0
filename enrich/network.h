/*
 * network.h: what kind of network an address belongs to, the verdict that decides whether
 * the organisation behind an IP may be reported as the visitor's company.
 *
 * Only business, government and education networks name the visitor's company; an ISP,
 * a mobile carrier, a hosting provider or an anonymiser is never reported as one.
 */
#ifndef LE_NETWORK_H
#define LE_NETWORK_H

#include <stdbool.h>

typedef enum {
    LE_NET_UNKNOWN = 0,
    LE_NET_BUSINESS,
    LE_NET_GOVERNMENT,
    LE_NET_EDUCATION,
    LE_NET_ISP, /* residential access */
    LE_NET_CELLULAR,
    LE_NET_HOSTING,
    LE_NET_ANONYMISER,
} le_network_t;

/* Anonymiser flags (bits of le_ipinfo_t.anon). */
enum {
    LE_ANON_ANY = 1u << 0, /* is_anonymous: any of the below, per the database */
    LE_ANON_VPN = 1u << 1,
    LE_ANON_TOR = 1u << 2,
    LE_ANON_HOSTING = 1u << 3,
    LE_ANON_PUBLIC_PROXY = 1u << 4,
    LE_ANON_RESIDENTIAL_PROXY = 1u << 5,
};

/* "business", "government", ...: the names used in records, JSON and config. */
static inline const char *le_network_name(le_network_t n) {
    static const char *const names[] = {"unknown",  "business", "government", "education",
                                        "isp",      "cellular", "hosting",    "anonymiser"};
    return (unsigned)n < sizeof(names) / sizeof(names[0]) ? names[n] : "unknown";
}

/* Does this kind of network name the visitor's company? */
static inline bool le_network_names_company(le_network_t n) {
    return n == LE_NET_BUSINESS || n == LE_NET_GOVERNMENT || n == LE_NET_EDUCATION;
}

#endif
