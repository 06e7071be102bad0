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
 * The text rule every decoded string obeys: valid UTF-8, no NUL, no other C0
 * control and no DEL; allow_newline admits TAB, CR and LF. Returns LE_DEC_OK,
 * LE_DEC_BAD_UTF8 or LE_DEC_CONTROL (whichever comes first in s).
 */
le_dec_err_t le_text_check(const char *s, size_t n, bool allow_newline);

/* The value of the first pair named key (exact, case-sensitive); false if absent. */
bool le_kvlist_get(const le_kvlist_t *l, const char *key, le_str_t *val);

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
 * LE_DEC_TOO_MANY (checked before anything is decoded); a decoded key or
 * value longer than max_value is LE_DEC_TOO_LONG. Values may hold newlines
 * (allow_newline as above); keys never do. Keys and values are NUL-terminated
 * copies in the arena. On failure *out is empty.
 */
le_dec_err_t le_urlencoded_parse(le_arena_t *a, const char *s, size_t n, uint32_t max_pairs,
                                 uint32_t max_value, bool allow_newline, le_kvlist_t *out);

/*
 * Find cookie `name` in a Cookie header ("a=1; b=2", RFC 6265; missing
 * spaces tolerated); the first pair whose name matches exactly wins. The raw,
 * undecoded value (surrounding double quotes removed, borrowed from header)
 * goes in *val.
 */
bool le_cookie_get(le_str_t header, const char *name, le_str_t *val);

/* Is the media type of a Content-Type header `type` (case-insensitive, params ignored)? */
bool le_media_type_is(le_str_t content_type, const char *type);

/*
 * Does an Accept header prefer application/json over text/html (q-values
 * honoured)? The JSON side is application/json, else the application
 * wildcard; the HTML side is text/html, else the text wildcard. A side that
 * is not listed counts as q=0, and the all-types wildcard counts for
 * neither: "Accept: <all>" alone is false, a browser's
 * "text/html,...,<all>;q=0.8" is false, while "application/json" (fetch,
 * axios) is true. True only when the JSON q is > 0 and strictly greater.
 */
bool le_accepts_json(le_str_t accept);

/*
 * Does an Accept-Encoding header admit gzip? "gzip" or "x-gzip" with a q above 0 decides;
 * when neither is listed, the "*" wildcard does. An absent header or one that lists neither is
 * false (identity is always acceptable, so we never need to compress).
 */
bool le_accepts_gzip(le_str_t accept_encoding);

/*
 * multipart/form-data (RFC 7578): text fields into out, file parts (a
 * filename or filename* in Content-Disposition) and parts whose Content-Type
 * is not text/plain skipped. The boundary comes from content_type (which must
 * be multipart/form-data; 1..70 RFC 2046 bchars, quoted or not). Lines end in
 * CRLF, or in LF throughout when the first boundary line does. The preamble
 * and epilogue are ignored; a body without the closing "--boundary--", a
 * part without Content-Disposition: form-data; name=..., or malformed part
 * headers is LE_DEC_BAD_MULTIPART. More than max_fields text fields is
 * LE_DEC_TOO_MANY; a name or value longer than max_value is LE_DEC_TOO_LONG.
 * Values may hold TAB/CR/LF, names may not. Copies live in the arena.
 */
le_dec_err_t le_multipart_parse(le_arena_t *a, le_str_t content_type, const char *body, size_t n,
                                uint32_t max_fields, uint32_t max_value, le_kvlist_t *out);

/*
 * A form posted as JSON: one flat object; string, number and boolean values
 * become strings ("true"/"false", integers in decimal, reals in the shortest
 * form that reads back to the same double); null is skipped; nested objects
 * or arrays, duplicate keys, or anything but an object is LE_DEC_BAD_JSON.
 * "\u0000" is LE_DEC_CONTROL, invalid UTF-8 LE_DEC_BAD_UTF8. Values may hold
 * TAB/CR/LF, keys may not. More than max_fields fields is LE_DEC_TOO_MANY, a
 * key or value longer than max_value LE_DEC_TOO_LONG.
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
 * than max_batch, fails whole: LE_DEC_BAD_JSON (also for duplicate keys at
 * any depth), LE_DEC_CONTROL for "\u0000", LE_DEC_BAD_UTF8, or
 * LE_DEC_TOO_MANY (a lone object counts as a batch of one).
 */
le_dec_err_t le_json_events_parse(le_arena_t *a, const char *body, size_t n, uint32_t max_batch,
                                  uint32_t max_params, uint32_t max_value, le_kvlist_t **events,
                                  uint32_t *nevents);

/*
 * le_json_events_parse, and also why each element was refused: (*errs)[i]
 * is LE_DEC_OK for an object that decoded, else the reason its param list is
 * empty (LE_DEC_BAD_JSON for a non-object, an array or nested object value,
 * or a "p" that is not an object; LE_DEC_TOO_MANY past max_params;
 * LE_DEC_TOO_LONG, LE_DEC_CONTROL as for forms, except that no value may
 * hold TAB/CR/LF). errs may be NULL. The arrays live in the arena.
 */
le_dec_err_t le_json_events_parse_ex(le_arena_t *a, const char *body, size_t n, uint32_t max_batch,
                                     uint32_t max_params, uint32_t max_value, le_kvlist_t **events,
                                     uint32_t *nevents, le_dec_err_t **errs);

/* Limits for turning a param list into an event. */
typedef struct {
    uint32_t max_props;
    uint32_t max_value_len;
} le_event_limits_t;

/*
 * Fill the protocol fields of ev (type, name, url, ref, title, vid,
 * client_ts_ms, props) from a decoded param list: e (required: "pv" means a
 * page view named "pageview", else an event name of 1..64 chars
 * [A-Za-z0-9_.:-] other than the reserved "pageview" and "form"), url, ref,
 * t (title), vid (empty, or 1..64 chars [A-Za-z0-9_-]), ts (digits only: 10
 * are Unix seconds, 13 Unix ms; empty means absent), p.<name> (name 1..64
 * chars of the event-name alphabet; at most lim->max_props, stored in
 * ev->props without the "p." prefix). The first occurrence of a param wins,
 * including repeated props. A url, ref, t, vid or prop value longer than
 * lim->max_value_len is LE_DEC_TOO_LONG. Unknown params are ignored, and so
 * are the fields of ev that are not protocol fields (time_ms, id, consent,
 * ip, ...). Returns LE_DEC_OK or the reason the event is bad (an absent or
 * empty e is LE_DEC_MISSING); *why (if non-NULL) gets a static description.
 * On failure ev is left untouched. The strings in ev borrow from params; the
 * props array is allocated in a.
 */
le_dec_err_t le_event_from_params(const le_kvlist_t *params, const le_event_limits_t *lim,
                                  le_arena_t *a, le_event_t *ev, const char **why);

#endif
