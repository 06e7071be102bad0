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

#include "event.h" /* le_network_t and LE_ANON_*: part of the event vocabulary */

/* Does this kind of network name the visitor's company? */
static inline bool le_network_names_company(le_network_t n) {
    return n == LE_NET_BUSINESS || n == LE_NET_GOVERNMENT || n == LE_NET_EDUCATION;
}

#endif
