/*
 * payload.h: the body of an MQL/MQA webhook, and its reshaping for one receiver.
 *
 * The scoring engine describes a lead as JSON (le_engine_describe); le_payload_build turns that
 * description into the canonical webhook body, the one schema every receiver is documented
 * against (docs/payload.md): id, type, times, the route, the lead (contact fields), the
 * company (IP enrichment, falling back to what the contact's forms gave), the visitor's
 * devices, the scores, the latest pages of the journey, the account and the consent.
 *
 * An endpoint may reshape that body with a field map (crm.endpoints[i].field_map): pairs of
 * output path <- payload path, both dotted ("properties.email" <- "lead.email"; a numeric
 * segment in a payload path indexes an array: "journey.0.url"). A payload path written as
 * "=text" is the literal string "text". With keep_unmapped the rest of the payload is sent too
 * and the map is a rename; without it only the mapped fields are.
 *
 * Pure: jansson only, no I/O, no clock (times are passed in), thread-safe. A missing or null
 * field anywhere in a description becomes null (or an empty list) in the payload; nothing here
 * fails on a description's shape.
 */
#ifndef LE_PAYLOAD_H
#define LE_PAYLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "le.h"

/* Longest payload or output path, in bytes, and most segments in one. */
#define LE_PAYLOAD_PATH_MAX 256
#define LE_PAYLOAD_PATH_DEPTH 16

/* What the description does not say about a hand-off. */
typedef struct {
    const char *id;            /* the outbox id ("<lead id>-<n>", "<account id>-mqa") */
    const char *type;          /* "mql" or "mqa" */
    int64_t created_ms;        /* when the lead became an MQL (Unix ms) */
    int64_t sla_due_ms;        /* when it must be accepted; <= 0: no SLA, sla_due_at is null */
    bool escalated;            /* the SLA ran out and it went to the escalation route */
    uint32_t journey;          /* at most this many page views (the latest; crm.journey) */
    const char *consent_basis; /* "consent" or "legitimate_interest"; NULL: null */
} le_payload_meta_t;

/*
 * The canonical body for the lead described by desc (a new reference; never NULL). desc may be
 * any JSON value or NULL: what is not there becomes null. route is {name, team, owner, queue}
 * with null members until le_payload_set_route.
 */
json_t *le_payload_build(const json_t *desc, const le_payload_meta_t *m);

/* Fill the payload's route from r (NULL: every member null); r's unset members are null. A
 * payload that is not an object is left alone. */
void le_payload_set_route(json_t *payload, const le_routeconf_t *r);

/* Set the payload's escalated flag. */
void le_payload_set_escalated(json_t *payload, bool e);

/*
 * Is path a valid dotted path (a field_map output path, or a payload path that is not a
 * "=text" literal)? Non-empty segments, at most LE_PAYLOAD_PATH_DEPTH of them, at most
 * LE_PAYLOAD_PATH_MAX bytes, valid UTF-8 without spaces or control characters. When not, *why
 * (if why is not NULL) says why in a few words, for a config error message.
 */
bool le_payload_path_ok(const char *path, const char **why);

/*
 * The body for one endpoint (a new reference; never NULL): for each of the n pairs, the value
 * at the payload path map[i].value (or the literal after '=') written at the output path
 * map[i].name; a payload path that leads nowhere writes null. An output path goes through
 * existing objects (and existing array elements, by index); anything else in its way is
 * replaced by an object, and missing objects are created. Pairs are written in order, so the
 * later of two pairs with the same output path wins. A pair with an invalid path
 * (le_payload_path_ok) is skipped.
 *
 * Without keep_unmapped the output holds only the mapped fields. With it, the output starts as
 * a copy of the payload from which every mapped source has been removed: an object member is
 * removed, with the objects that removal empties; an array element is left in place (removing
 * it would renumber the rest). Sources are read from the payload before anything is removed,
 * so the order of the pairs does not change what they read. With n == 0 the result is {}, or
 * with keep_unmapped a copy of the payload.
 */
json_t *le_payload_map(const json_t *payload, const le_kvconf_t *map, size_t n, bool keep_unmapped);

/* The compact JSON text of p (not NULL), members in order, reals to 10 significant digits;
 * free() it. Aborts only when memory is exhausted, like le_xmalloc. */
char *le_payload_dump(const json_t *p);

/* Unix ms as RFC 3339 UTC with milliseconds ("2026-11-26T21:20:44.123Z") into out (at least
 * LE_PAYLOAD_TIME_SIZE bytes); times before 1970 or after 9999 are clamped to those years. */
#define LE_PAYLOAD_TIME_SIZE LE_TIME_SIZE
void le_payload_time(int64_t ms, char *out);

#endif
