/*
 * pixel.h: the tracking endpoints, as pure request -> response functions.
 *
 * The server parses HTTP and hands each request here as an le_pixel_req_t;
 * a handler fills an le_pixel_resp_t: status, headers, body and the events
 * to store. Handlers never block and never do I/O: the server appends the
 * events to the log and writes the response. Everything a handler returns
 * lives in the request's arena.
 *
 * Endpoints: GET|HEAD /p.gif, POST /e, POST /f, GET|HEAD /t.js, and the
 * CORS preflight OPTIONS /e, /f.
 */
#ifndef LE_PIXEL_H
#define LE_PIXEL_H

#include "arena.h"
#include "config.h"
#include "decode.h"
#include "enrich.h"
#include "event.h"
#include "ip.h"

typedef enum { LE_M_GET = 0, LE_M_HEAD, LE_M_POST, LE_M_OPTIONS, LE_M_OTHER } le_method_t;

/* The request as the server parsed it. Header values are raw (last one wins,
 * except Cookie, whose occurrences are joined with "; "). */
typedef struct {
    uint8_t method; /* le_method_t */
    le_str_t path;  /* raw path, no query */
    le_str_t query; /* raw query string without '?', may be empty */
    le_str_t host, cookie, user_agent, accept, accept_encoding, accept_language, content_type,
        origin, referer, if_none_match, sec_gpc, dnt, x_forwarded_for, forwarded, x_real_ip,
        acr_method, acr_headers;
    le_ua_hints_t hints; /* Sec-CH-UA, -Mobile, -Platform, -Platform-Version, ... */
    le_str_t body;
    le_ip_t peer;
    int64_t now_ms;
    const le_config_t *cfg;
    le_arena_t *arena;
    const le_enrich_t *enrich; /* NULL: events are not enriched (tests, fuzzing) */
    le_enrich_cache_t *cache;  /* the worker's; may be NULL */
} le_pixel_req_t;

/* Why a request was refused as a whole (for counters), or NONE. */
typedef enum {
    LE_PIX_OK = 0,
    LE_PIX_ORIGIN,     /* Origin not on tracking.allowed_origins: 403 */
    LE_PIX_MEDIA_TYPE, /* unsupported Content-Type: 415 */
    LE_PIX_BAD_BODY,   /* undecodable body: 400 */
    LE_PIX_TOO_MANY,   /* more events/fields than allowed: 413 */
} le_pix_reject_t;

typedef struct {
    uint16_t status;
    le_str_t content_type; /* empty: no body and no Content-Type */
    le_str_t body;
    le_str_t headers;   /* extra header lines, each "Name: value\r\n" */
    le_event_t *events; /* events to store, nevents of them */
    uint32_t nevents;
    uint32_t bad_events; /* counted and dropped */
    uint8_t reject;      /* le_pix_reject_t */
} le_pixel_resp_t;

/* The 43-byte transparent GIF. */
extern const unsigned char le_pixel_gif_bytes[43];

void le_pixel_gif(const le_pixel_req_t *r, le_pixel_resp_t *out);
void le_pixel_beacon(const le_pixel_req_t *r, le_pixel_resp_t *out);
void le_pixel_form(const le_pixel_req_t *r, le_pixel_resp_t *out);
void le_pixel_tracker(const le_pixel_req_t *r, le_pixel_resp_t *out);
void le_pixel_preflight(const le_pixel_req_t *r, le_pixel_resp_t *out);

/* Visitor identity (visitor.c). */

/* Is s a valid visitor id (32 lowercase hex digits)? */
bool le_visitor_id_valid(le_str_t s);
/* A new random visitor id (128 bits) into out (33 bytes). */
void le_visitor_id_mint(char out[LE_ID_HEX_LEN + 1]);
/*
 * The cookieless id for a request without consent: a hash of a daily salt,
 * the truncated IP and the User-Agent. The salt is random, kept in memory
 * only and replaced at UTC midnight, so yesterday's ids cannot be recomputed
 * by anyone, us included.
 */
void le_visitor_cookieless_id(int64_t now_ms, le_str_t truncated_ip, le_str_t ua,
                              char out[LE_ID_HEX_LEN + 1]);

#endif
