/*
 * decode.h: the tracking protocol's wire decoders, pure and bounded.
 *
 * Everything here takes untrusted bytes and either produces decoded,
 * validated strings in the caller's arena or says no. Decoded strings are
 * valid UTF-8 with no NUL and no other C0 control except TAB, CR and LF in
 * form field values (CR/LF are refused everywhere else). Nothing here
 * allocates outside the arena or keeps state.
 */
#ifndef LE_DECODE_H
#define LE_DECODE_H

#include "arena.h"
#include "event.h"
#include "le.h"

typedef struct {
    le_kv_t *kv;
    uint32_t n;
} le_kvlist_t;

/* Why a decode failed; for counters and error bodies. */
typedef enum {
    LE_DEC_OK = 0,
    LE_DEC_BAD_PERCENT,   /* "%zz", "%4" */
    LE_DEC_BAD_UTF8,      /* invalid or overlong UTF-8, surrogates */
    LE_DEC_CONTROL,       /* NUL or another forbidden control character */
    LE_DEC_TOO_MANY,      /* more pairs/fields/events than allowed */
    LE_DEC_TOO_LONG,      /* a value longer than allowed */
    LE_DEC_BAD_JSON,      /* not JSON, or not the expected shape */
    LE_DEC_BAD_MULTIPART, /* no boundary, missing closing delimiter, bad part headers */
    LE_DEC_MISSING,       /* a required param is absent (e) */
    LE_DEC_BAD_VALUE,     /* a param has a value outside its syntax (event name, ts) */
} le_dec_err_t;

const char *le_dec_strerror(le_dec_err_t e);

/* UTF-8 validity (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
bool le_utf8_valid(const char *s, size_t n);

/*
 * Percent-decode s[0..n) into the arena (NUL-terminated, len excludes it).
 * plus_space turns '+' into ' ' (query strings and urlencoded bodies). The
 * result must be valid UTF-8 without NUL; allow_newline admits CR, LF
 * and TAB (form values), otherwise any C0 control or DEL is refused.
 */
le_dec_err_t le_pct_decode(le_arena_t *a, const char *s, size_t n, bool plus_space,
                           bool allow_newline, le_str_t *out);

/*
 * Split and decode "a=1&b=2" (a query string or an
 * application/x-www-form-urlencoded body). Empty segments are skipped; a key
 * without '=' gets an empty value. More than max_pairs pairs is
 * LE_DEC_TOO_MANY; a decoded value longer than max_value is LE_DEC_TOO_LONG.
 * Values may hold newlines (allow_newline as above).
 */
le_dec_err_t le_urlencoded_parse(le_arena_t *a, const char *s, size_t n, uint32_t max_pairs,
                                 uint32_t max_value, bool allow_newline, le_kvlist_t *out);

/* Find cookie `name` in a Cookie header; the raw value (quotes removed) in *val. */
bool le_cookie_get(le_str_t header, const char *name, le_str_t *val);

/* Is the media type of a Content-Type header `type` (case-insensitive, params ignored)? */
bool le_media_type_is(le_str_t content_type, const char *type);

/* Does an Accept header prefer application/json over text/html (q-values honoured)? */
bool le_accepts_json(le_str_t accept);

/*
 * multipart/form-data: text fields into out, file parts (a filename in
 * Content-Disposition) skipped. The boundary comes from content_type.
 */
le_dec_err_t le_multipart_parse(le_arena_t *a, le_str_t content_type, const char *body, size_t n,
                                uint32_t max_fields, uint32_t max_value, le_kvlist_t *out);

/*
 * A form posted as JSON: one flat object; string, number and boolean values
 * become strings ("true"/"false", numbers as written); null is skipped;
 * nested objects or arrays are LE_DEC_BAD_JSON.
 */
le_dec_err_t le_json_form_parse(le_arena_t *a, const char *body, size_t n, uint32_t max_fields,
                                uint32_t max_value, le_kvlist_t *out);

/*
 * POST /e bodies: one event object or an array of at most max_batch of them.
 * Each object becomes a param list with the same names as the pixel's query
 * string: "e", "url", "ref", "t", "vid", "ts", "consent" and "p.<name>" (an
 * object under "p" or "props" is flattened to p.<key>; "p.<key>" keys are
 * taken as they are). String, number and boolean values become strings.
 * An element that is not an object yields an empty param list (the caller
 * counts it as a bad event); a body that is not JSON, or an array longer
 * than max_batch, fails whole.
 */
le_dec_err_t le_json_events_parse(le_arena_t *a, const char *body, size_t n, uint32_t max_batch,
                                  uint32_t max_params, uint32_t max_value, le_kvlist_t **events,
                                  uint32_t *nevents);

/* Limits for turning a param list into an event. */
typedef struct {
    uint32_t max_props;
    uint32_t max_value_len;
} le_event_limits_t;

/*
 * Fill the protocol fields of ev (type, name, url, ref, title, vid,
 * client_ts_ms, props) from a decoded param list: e (required: "pv" means a
 * page view, else an event name of 1..64 chars [A-Za-z0-9_.:-]), url, ref,
 * t, vid, ts (Unix ms or s, digits only), p.<name> (name 1..64 chars of the
 * same alphabet). Unknown params are ignored. Returns LE_DEC_OK or the
 * reason the event is bad; *why (if non-NULL) gets a static description.
 * The strings in ev borrow from params.
 */
le_dec_err_t le_event_from_params(const le_kvlist_t *params, const le_event_limits_t *lim,
                                  le_event_t *ev, const char **why);

#endif
