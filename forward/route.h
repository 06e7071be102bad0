/*
 * route.h: which route (endpoint, team, owner, queue) takes a lead.
 *
 * routing.routes is an ordered list; the first route whose every `when` condition matches the
 * lead's canonical payload (payload.h) takes it, and a route without conditions matches every
 * lead (the default route, written last). A condition names one route field (le_route_fields)
 * and matches when the lead's value matches any of its values: exact (ASCII case-insensitive),
 * globs (fnmatch(3), case-insensitive, '*' also crosses '/'), PCRE2 patterns (case-insensitive,
 * searched anywhere unless anchored; JIT-compiled once) or a numeric range min..max, bounds
 * included. A condition on a missing or null value never matches; `page` matches when any page
 * of the payload's journey does. docs/payload.md is the user's description.
 *
 * Pure: no I/O, no logging. A compiled set is immutable except for the regex match data it
 * keeps, so one set is used by one thread at a time.
 */
#ifndef LE_ROUTE_H
#define LE_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"

/*
 * The fields a route's `when` may name, NULL-terminated: type, country, region, city,
 * continent, network, company, company_key, domain, company_size, industry, role, job_title,
 * email_domain, behaviour, fit, grade, band, page. (config.c keeps its own copy of this list:
 * config/ cannot depend on forward/.)
 */
extern const char *const le_route_fields[];

/* Is name[0..len) a route field? *numeric (when not NULL) says whether its values are numbers
 * (company_size, behaviour, fit, band: exact numbers or ranges) or text. */
bool le_route_field(const char *name, size_t len, bool *numeric);

typedef struct le_routes_s le_routes_t;

/*
 * Compile cfg's routing.routes. 0 and *out, or LE_EINVAL with one
 * "file:line:col: routing.routes[i].when.<field>: message" line per problem appended to err (an
 * unknown field, a range on a text field, a value that is not a number on a numeric one, a
 * regex that does not compile); *out is then NULL. The set holds a reference to cfg: the routes
 * it returns live in it.
 */
int le_routes_build(const le_config_t *cfg, le_routes_t **out, le_buf_t *err);

/* NULL is a no-op. */
void le_routes_free(le_routes_t *r);

/* The first route that takes the lead whose canonical payload this is, or NULL when none does
 * (no default route). */
const le_routeconf_t *le_routes_pick(le_routes_t *r, const json_t *payload);

#endif
