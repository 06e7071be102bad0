/*
 * pixel.c: the tracking endpoints (/p.gif, /e, /f, /t.js and CORS preflight).
 *
 * Each handler turns one parsed request into a response and zero or more
 * events. Per request we decide, once: the client address (truncated before
 * anything keeps it), consent, and the identity the events carry: the
 * first-party visitor id from the le_vid cookie when the request carries
 * consent (minting one, or adopting the snippet's vid, when there is none),
 * else a cookieless id that changes daily and is never linked to a person.
 *
 * The pixel always answers the GIF, whatever the parameters: a broken event
 * is counted and dropped, but the page never shows a broken image.
 */
#include "pixel.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

const unsigned char le_pixel_gif_bytes[43] = {
    /* "GIF89a", 1x1 logical screen, global colour table of 2 entries */
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
    /* colour table: black, white */
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    /* graphic control extension: transparent colour index 0 */
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,
    /* image descriptor 1x1 at 0,0, no local table */
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
    /* LZW min code size 2, one data block of 2 bytes, block terminator, trailer */
    0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

extern const unsigned char le_tracker_js[];
extern const size_t le_tracker_js_len;

#define NO_STORE                                                                                   \
    "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\nPragma: no-cache\r\n"        \
    "Expires: 0\r\n"

/* Per-request identity and context, decided once for all of its events. */
typedef struct {
    bool consent;
    bool gpc;
    bool staff; /* the client is in suppress.staff_networks (decided on the full IP) */
    uint8_t id_kind;
    char id[LE_ID_HEX_LEN + 1];
    bool set_cookie;
    le_str_t ip;              /* truncated, text */
    le_str_t ua;              /* User-Agent, bounded and valid UTF-8 (else empty) */
    le_str_t lang;            /* Accept-Language, likewise */
    le_ip_t client;           /* the full client address: enrichment only, never stored */
    bool honeypot;            /* forms: the honeypot field was filled */
    int64_t form_fill_ms;     /* forms: how long the form was open (_fill_ms), -1 unknown */
    const le_enrichment_t *x; /* the request's enrichment, in its first event; NULL before */
} ctx_t;

/* Header lines collected in the arena. */
typedef struct {
    char *p;
    size_t len, cap;
} hdrs_t;

static void hdr_add(hdrs_t *h, le_arena_t *a, const char *fmt, ...) LE_PRINTF(3, 4);

#include <stdarg.h>

static void hdr_add(hdrs_t *h, le_arena_t *a, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        size_t room = h->cap - h->len;
        va_start(ap, fmt);
        int n = vsnprintf(h->p ? h->p + h->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room) {
            h->len += (size_t)n;
            return;
        }
        size_t cap = LE_MAX(h->cap * 2, h->len + (size_t)n + 256);
        char *p = le_arena_alloc(a, cap);
        if (h->len) memcpy(p, h->p, h->len);
        h->p = p;
        h->cap = cap;
    }
}

static le_str_t hdrs_str(const hdrs_t *h) {
    return (le_str_t){h->p, h->len};
}

static bool truthy(le_str_t v) {
    return le_str_eq(v, "1") || le_str_ieq(v, "true") || le_str_ieq(v, "yes");
}

/* What the request says about consent and opt-outs, from its params (the pixel's query, each
 * beacon event, a form's _-fields) and headers. */
typedef struct {
    bool consent; /* consent=1 / _consent */
    bool gpc;     /* gpc=1 / _gpc: tracker.js read navigator.globalPrivacyControl */
    bool dnt;     /* dnt=1 / _dnt: tracker.js read navigator.doNotTrack */
} signals_t;

/* Does the param list carry key with a yes value ("consent=1")? */
static bool param_true(const le_kvlist_t *l, const char *key) {
    le_str_t v;
    return le_kvlist_get(l, key, &v) && truthy(v);
}

/* Add the consent and opt-out params of l (pixel query, beacon event) to s. */
static void signals_add(signals_t *s, const le_kvlist_t *l) {
    s->consent = s->consent || param_true(l, "consent");
    s->gpc = s->gpc || param_true(l, "gpc");
    s->dnt = s->dnt || param_true(l, "dnt");
}

/* Decode a request header value for storage: bounded and valid UTF-8, else empty. */
static le_str_t clean_header(le_str_t v, uint32_t max) {
    if (v.len > max || !le_utf8_valid(v.ptr, v.len)) return LE_STR_NULL;
    return v;
}

static bool consent_cookie(const le_pixel_req_t *r) {
    const le_config_t *cfg = r->cfg;
    le_str_t v;
    if (!cfg->privacy.consent_cookie || !r->cookie.len) return false;
    if (!le_cookie_get(r->cookie, cfg->privacy.consent_cookie, &v)) return false;
    if (cfg->privacy.consent_cookie_value) return le_str_eq(v, cfg->privacy.consent_cookie_value);
    return v.len && !le_str_eq(v, "0") && !le_str_ieq(v, "false") && !le_str_ieq(v, "no");
}

/* The client's full address (memory only), and the IP cache's set for it on its way to the
 * CPU cache (le_enrich_prefetch stage 0), while the request's parameters are decoded. */
static le_ip_t client_ip(const le_pixel_req_t *r) {
    const le_config_t *cfg = r->cfg;
    le_ip_headers_t ph = {r->x_forwarded_for, r->forwarded, r->x_real_ip};
    le_ip_t ip =
        le_ip_client(&r->peer, &ph, cfg->server.trusted_proxies, cfg->server.ntrusted_proxies);
    le_enrich_prefetch(r->cache, &ip, 0);
    return ip;
}

/*
 * Decide identity. client: client_ip(r). s: what the request itself signalled. vid: the snippet's
 * first-party id, adopted as the cookie value when the browser has no valid
 * cookie yet.
 */
static void ctx_init(const le_pixel_req_t *r, const le_ip_t *client, const signals_t *s,
                     le_str_t vid, ctx_t *c) {
    const le_config_t *cfg = r->cfg;
    memset(c, 0, sizeof(*c));
    /* Global Privacy Control (and Do Not Track, when configured) is an opt-out that overrides
     * everything else: no cookie, and the events are kept under the cookieless id, which is
     * never linked to a person. It is recorded in the events as gpc. */
    c->gpc = (cfg->privacy.honour_gpc && (s->gpc || le_str_eq(r->sec_gpc, "1"))) ||
             (cfg->privacy.honour_dnt && (s->dnt || le_str_eq(r->dnt, "1")));
    bool consent_signal = s->consent;
    c->consent = !c->gpc && (cfg->privacy.consent == LE_CONSENT_NOT_REQUIRED || consent_signal ||
                             consent_cookie(r));

    le_ip_t ip = *client;
    c->client = ip;
    c->form_fill_ms = -1;
    /* Staff networks are matched here, on the full address: only a truncated one is stored. */
    for (size_t i = 0; i < cfg->suppress.nstaff_networks && !c->staff; i++)
        c->staff = le_cidr_contains(&cfg->suppress.staff_networks[i], ip.family, ip.addr);
    le_ip_t t = le_ip_truncate(&ip, cfg->privacy.ip_mask_v4, cfg->privacy.ip_mask_v6);
    char *buf = le_arena_alloc(r->arena, INET6_ADDRSTRLEN);
    c->ip = (le_str_t){buf, le_ip_format(&t, buf)};
    c->ua = clean_header(r->user_agent, cfg->tracking.max_value_len);
    c->lang = clean_header(r->accept_language, 256);

    if (!c->consent) {
        c->id_kind = LE_ID_COOKIELESS;
        le_visitor_cookieless_id(r->now_ms, c->ip, r->user_agent, c->id);
        return;
    }
    c->id_kind = LE_ID_COOKIE;
    le_str_t v;
    if (r->cookie.len && le_cookie_get(r->cookie, cfg->tracking.cookie.name, &v) &&
        le_visitor_id_valid(v)) {
        memcpy(c->id, v.ptr, LE_ID_HEX_LEN);
        c->id[LE_ID_HEX_LEN] = '\0';
        return;
    }
    if (le_visitor_id_valid(vid)) {
        memcpy(c->id, vid.ptr, LE_ID_HEX_LEN);
        c->id[LE_ID_HEX_LEN] = '\0';
    } else {
        le_visitor_id_mint(c->id);
    }
    c->set_cookie = true;
}

static void add_cookie(const le_pixel_req_t *r, const ctx_t *c, hdrs_t *h) {
    if (!c->set_cookie) return;
    const le_config_t *cfg = r->cfg;
    static const char *samesite[] = {"Lax", "Strict", "None"};
    bool secure = cfg->tracking.cookie.secure || cfg->tracking.cookie.same_site == LE_SAMESITE_NONE;
    hdr_add(h, r->arena, "Set-Cookie: %s=%s; Max-Age=%u; Path=/; HttpOnly; SameSite=%s%s%s%s\r\n",
            cfg->tracking.cookie.name, c->id, cfg->tracking.cookie.max_age_s,
            samesite[cfg->tracking.cookie.same_site], secure ? "; Secure" : "",
            cfg->tracking.cookie.domain ? "; Domain=" : "",
            cfg->tracking.cookie.domain ? cfg->tracking.cookie.domain : "");
}

/* Enrich once per request, into its first event; later events of a batch copy it. */
static void enrich(const le_pixel_req_t *r, ctx_t *c, le_event_t *ev) {
    if (c->x) {
        ev->x = *c->x;
        return;
    }
    le_enrich_input_t in = {
        .ip = c->client,
        .ua = c->ua,
        .hints = r->hints,
        .accept_language = c->lang,
        .honeypot = c->honeypot,
        .form_fill_ms = c->form_fill_ms,
    };
    le_enrich_run(r->enrich, r->cache, &in, r->arena, &ev->x);
    c->x = &ev->x;
}

static void fill_common(const le_pixel_req_t *r, ctx_t *c, uint8_t source, le_event_t *ev) {
    ev->time_ms = r->now_ms;
    ev->source = source;
    ev->id_kind = c->id_kind;
    ev->consent = c->consent;
    ev->gpc = c->gpc;
    ev->staff = c->staff;
    memcpy(ev->id, c->id, sizeof(ev->id));
    ev->ip = c->ip;
    ev->ua = c->ua;
    ev->lang = c->lang;
    if (r->enrich) {
        enrich(r, c, ev);
        ev->enriched = true;
        if (ev->x.bot_reasons) ev->bot = true;
    }
}

static le_event_limits_t limits(const le_config_t *cfg) {
    return (le_event_limits_t){cfg->tracking.max_props, cfg->tracking.max_value_len};
}

/* ---- CORS ------------------------------------------------------------- */

static bool origin_allowed(const le_config_t *cfg, le_str_t origin) {
    const le_strlist_t *l = &cfg->tracking.allowed_origins;
    for (size_t i = 0; i < l->n; i++)
        if (le_str_eq(origin, l->items[i])) return true;
    return false;
}

/* For /e and /f: false when the request must be refused with 403. */
static bool cors(const le_pixel_req_t *r, hdrs_t *h) {
    if (!r->origin.len || r->cfg->tracking.allowed_origins.n == 0) return true;
    if (!origin_allowed(r->cfg, r->origin)) return false;
    /* The origin is on the list: echo exactly it, never "*", since we send credentials. */
    hdr_add(h, r->arena,
            "Access-Control-Allow-Origin: %.*s\r\nAccess-Control-Allow-Credentials: true\r\n"
            "Vary: Origin\r\n",
            (int)r->origin.len, r->origin.ptr);
    return true;
}

static void refuse(const le_pixel_req_t *r, le_pixel_resp_t *out, uint16_t status, uint8_t reason,
                   const char *msg) {
    out->status = status;
    out->reject = reason;
    out->content_type = LE_STR("text/plain; charset=utf-8");
    out->body = le_str(le_arena_strndup(r->arena, msg, strlen(msg)));
}

void le_pixel_preflight(const le_pixel_req_t *r, le_pixel_resp_t *out) {
    memset(out, 0, sizeof(*out));
    if (!r->origin.len || !origin_allowed(r->cfg, r->origin)) {
        refuse(r, out, 403, LE_PIX_ORIGIN, "origin not allowed\n");
        return;
    }
    hdrs_t h = {0};
    hdr_add(&h, r->arena,
            "Access-Control-Allow-Origin: %.*s\r\nAccess-Control-Allow-Credentials: true\r\n"
            "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
            "Access-Control-Allow-Headers: Content-Type\r\nAccess-Control-Max-Age: %u\r\n"
            "Vary: Origin\r\n",
            (int)r->origin.len, r->origin.ptr, r->cfg->tracking.cors_max_age_s);
    out->status = 204;
    out->headers = hdrs_str(&h);
}

/* ---- GET /p.gif ------------------------------------------------------- */

void le_pixel_gif(const le_pixel_req_t *r, le_pixel_resp_t *out) {
    const le_config_t *cfg = r->cfg;
    memset(out, 0, sizeof(*out));
    out->status = 200;
    out->content_type = LE_STR("image/gif");
    out->body = (le_str_t){(const char *)le_pixel_gif_bytes, sizeof(le_pixel_gif_bytes)};
    out->headers = LE_STR(NO_STORE);

    le_ip_t ip = client_ip(r);
    le_kvlist_t params;
    le_event_t *ev = le_arena_calloc(r->arena, sizeof(*ev));
    le_event_limits_t lim = limits(cfg);
    if (le_urlencoded_parse(r->arena, r->query.ptr, r->query.len, cfg->server.limits.params,
                            cfg->tracking.max_value_len, false, &params) != LE_DEC_OK ||
        le_event_from_params(&params, &lim, r->arena, ev, NULL) != LE_DEC_OK) {
        out->bad_events = 1;
        return;
    }
    le_enrich_prefetch(r->cache, &ip, 1);
    ctx_t c;
    signals_t s = {0};
    signals_add(&s, &params);
    ctx_init(r, &ip, &s, ev->vid, &c);
    fill_common(r, &c, LE_SRC_PIXEL, ev);
    if (!ev->ref.len) ev->ref = clean_header(r->referer, cfg->tracking.max_value_len);
    out->events = ev;
    out->nevents = 1;
    if (c.set_cookie) {
        hdrs_t h = {0};
        hdr_add(&h, r->arena, NO_STORE);
        add_cookie(r, &c, &h);
        out->headers = hdrs_str(&h);
    }
}

/* ---- POST /e ---------------------------------------------------------- */

void le_pixel_beacon(const le_pixel_req_t *r, le_pixel_resp_t *out) {
    const le_config_t *cfg = r->cfg;
    memset(out, 0, sizeof(*out));
    le_ip_t ip = client_ip(r);
    hdrs_t h = {0};
    if (!cors(r, &h)) {
        refuse(r, out, 403, LE_PIX_ORIGIN, "origin not allowed\n");
        return;
    }
    if (!le_media_type_is(r->content_type, "application/json") &&
        !le_media_type_is(r->content_type, "text/plain")) {
        refuse(r, out, 415, LE_PIX_MEDIA_TYPE, "expected application/json or text/plain\n");
        out->headers = hdrs_str(&h);
        return;
    }
    le_kvlist_t *evs;
    uint32_t n;
    le_dec_err_t e =
        le_json_events_parse(r->arena, r->body.ptr, r->body.len, cfg->tracking.max_batch,
                             cfg->server.limits.params, cfg->tracking.max_value_len, &evs, &n);
    if (e != LE_DEC_OK) {
        char msg[128];
        snprintf(msg, sizeof(msg), "bad event body: %s\n", le_dec_strerror(e));
        refuse(r, out, e == LE_DEC_TOO_MANY ? 413 : 400,
               e == LE_DEC_TOO_MANY ? LE_PIX_TOO_MANY : LE_PIX_BAD_BODY, msg);
        out->headers = hdrs_str(&h);
        return;
    }
    le_kvlist_t query = {0};
    signals_t s = {0};
    if (r->query.len &&
        le_urlencoded_parse(r->arena, r->query.ptr, r->query.len, cfg->server.limits.params, 64,
                            false, &query) == LE_DEC_OK) {
        signals_add(&s, &query);
    }
    le_str_t vid = LE_STR_NULL;
    for (uint32_t i = 0; i < n; i++) {
        signals_add(&s, &evs[i]);
        if (!vid.len) le_kvlist_get(&evs[i], "vid", &vid);
    }
    ctx_t c;
    ctx_init(r, &ip, &s, vid, &c);
    le_event_limits_t lim = limits(cfg);
    out->events = le_arena_calloc(r->arena, sizeof(le_event_t) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        le_event_t *ev = &out->events[out->nevents];
        if (evs[i].n == 0 || le_event_from_params(&evs[i], &lim, r->arena, ev, NULL) != LE_DEC_OK) {
            memset(ev, 0, sizeof(*ev));
            out->bad_events++;
            continue;
        }
        fill_common(r, &c, LE_SRC_BEACON, ev);
        out->nevents++;
    }
    add_cookie(r, &c, &h);
    hdr_add(&h, r->arena, "Cache-Control: no-store\r\n");
    out->status = 204;
    out->headers = hdrs_str(&h);
}

/* ---- POST /f ---------------------------------------------------------- */

/* Is next an absolute http(s) URL allowed by forms.redirect_allowlist? An
 * entry with a path must match exactly; an origin entry matches any URL on
 * that origin. */
static bool redirect_allowed(const le_config_t *cfg, le_str_t next) {
    if (next.len == 0 || next.len > 2048) return false;
    for (size_t i = 0; i < next.len; i++) {
        unsigned char ch = (unsigned char)next.ptr[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '\\' || ch == '"' || ch == '<' || ch == '>')
            return false;
    }
    const le_strlist_t *l = &cfg->forms.redirect_allowlist;
    for (size_t i = 0; i < l->n; i++) {
        const char *e = l->items[i];
        size_t n = strlen(e);
        if (le_str_eq(next, e)) return true;
        const char *scheme_end = strstr(e, "://");
        bool origin_only = scheme_end && !strchr(scheme_end + 3, '/');
        if (origin_only && next.len > n && memcmp(next.ptr, e, n) == 0 &&
            (next.ptr[n] == '/' || next.ptr[n] == '?' || next.ptr[n] == '#'))
            return true;
    }
    return false;
}

static bool sensitive_field(le_str_t name) {
    static const char *deny[] = {"password", "passwd", "pwd", "cc-number", "cc-csc", "cvc", "iban"};
    char low[64];
    if (name.len >= sizeof(low)) return false;
    for (size_t i = 0; i < name.len; i++) {
        char ch = name.ptr[i];
        low[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    low[name.len] = '\0';
    for (size_t i = 0; i < LE_ARRAY_SIZE(deny); i++)
        if (strstr(low, deny[i])) return true;
    return false;
}

static const char thanks_html[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    "<title>Thank you</title></head>\n<body style=\"font-family:sans-serif;margin:3em\">"
    "<h1>Thank you</h1><p>Your submission was received.</p>"
    "<p><a href=\"javascript:history.back()\">Back</a></p></body></html>\n";

static void form_error(const le_pixel_req_t *r, le_pixel_resp_t *out, bool json, uint16_t status,
                       uint8_t reason, const char *msg) {
    char *b = le_arena_alloc(r->arena, 512);
    if (json) {
        snprintf(b, 512, "{\"ok\":false,\"error\":\"%s\"}\n", msg);
        out->content_type = LE_STR("application/json");
    } else {
        snprintf(b, 512,
                 "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<title>Form not accepted</title></head><body><h1>Form not accepted</h1>"
                 "<p>%s</p></body></html>\n",
                 msg);
        out->content_type = LE_STR("text/html; charset=utf-8");
    }
    out->status = status;
    out->reject = reason;
    out->body = le_str(b);
}

/* _fill_ms: milliseconds between the form being shown and sent, as tracker.js measures
 * it; anything but 1..10 decimal digits is unknown (-1). */
static int64_t fill_time(le_str_t v) {
    if (v.len == 0 || v.len > 10) return -1;
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9') return -1;
        n = n * 10 + (v.ptr[i] - '0');
    }
    return n;
}

void le_pixel_form(const le_pixel_req_t *r, le_pixel_resp_t *out) {
    const le_config_t *cfg = r->cfg;
    memset(out, 0, sizeof(*out));
    le_ip_t ip = client_ip(r);
    bool json = le_accepts_json(r->accept);
    hdrs_t h = {0};
    hdr_add(&h, r->arena, "Cache-Control: no-store\r\n");
    if (!cors(r, &h)) {
        form_error(r, out, json, 403, LE_PIX_ORIGIN, "origin not allowed");
        return;
    }
    le_kvlist_t f;
    le_dec_err_t e;
    uint32_t maxf = cfg->forms.max_fields, maxv = cfg->tracking.max_value_len;
    if (le_media_type_is(r->content_type, "application/x-www-form-urlencoded"))
        e = le_urlencoded_parse(r->arena, r->body.ptr, r->body.len, maxf, maxv, true, &f);
    else if (le_media_type_is(r->content_type, "multipart/form-data"))
        e = le_multipart_parse(r->arena, r->content_type, r->body.ptr, r->body.len, maxf, maxv, &f);
    else if (le_media_type_is(r->content_type, "application/json"))
        e = le_json_form_parse(r->arena, r->body.ptr, r->body.len, maxf, maxv, &f);
    else {
        form_error(r, out, json, 415, LE_PIX_MEDIA_TYPE,
                   "expected application/x-www-form-urlencoded, multipart/form-data or JSON");
        out->headers = hdrs_str(&h);
        return;
    }
    if (e != LE_DEC_OK) {
        form_error(r, out, json, e == LE_DEC_TOO_MANY ? 413 : 400,
                   e == LE_DEC_TOO_MANY ? LE_PIX_TOO_MANY : LE_PIX_BAD_BODY, le_dec_strerror(e));
        out->headers = hdrs_str(&h);
        return;
    }

    le_event_t *ev = le_arena_calloc(r->arena, sizeof(*ev));
    le_str_t next = LE_STR_NULL, vid = LE_STR_NULL;
    signals_t s = {0};
    int64_t fill_ms = -1;
    ev->fields = le_arena_alloc(r->arena, sizeof(le_kv_t) * (f.n ? f.n : 1));
    for (uint32_t i = 0; i < f.n; i++) {
        le_str_t k = f.kv[i].key, v = f.kv[i].val;
        if (le_str_eq(k, "_form"))
            ev->form_id = v;
        else if (le_str_eq(k, "_next"))
            next = v;
        else if (le_str_eq(k, "_consent"))
            s.consent = s.consent || truthy(v);
        else if (le_str_eq(k, "_gpc"))
            s.gpc = s.gpc || truthy(v);
        else if (le_str_eq(k, "_dnt"))
            s.dnt = s.dnt || truthy(v);
        else if (le_str_eq(k, "_vid"))
            vid = v;
        else if (le_str_eq(k, "_url"))
            ev->url = v;
        else if (le_str_eq(k, "_fill_ms"))
            fill_ms = fill_time(v);
        else if (le_str_eq(k, cfg->forms.honeypot)) {
            if (v.len) ev->bot = true;
        } else if (k.len && k.ptr[0] != '_' && !sensitive_field(k))
            ev->fields[ev->nfields++] = f.kv[i];
    }
    le_kvlist_t query = {0};
    if (r->query.len &&
        le_urlencoded_parse(r->arena, r->query.ptr, r->query.len, cfg->server.limits.params, maxv,
                            false, &query) == LE_DEC_OK) {
        signals_add(&s, &query);
        if (!ev->form_id.len) le_kvlist_get(&query, "form", &ev->form_id);
    }
    if (ev->vid.len == 0) ev->vid = vid;
    ctx_t c;
    ctx_init(r, &ip, &s, vid, &c);
    c.honeypot = ev->bot;
    c.form_fill_ms = fill_ms;
    fill_common(r, &c, LE_SRC_FORM, ev);
    ev->type = LE_EV_FORM;
    ev->name = LE_STR("form");

    if (!ev->url.len) ev->url = clean_header(r->referer, maxv);
    out->events = ev;
    out->nevents = 1;
    add_cookie(r, &c, &h);

    if (json) {
        out->status = 200;
        out->content_type = LE_STR("application/json");
        out->body = LE_STR("{\"ok\":true}\n");
    } else if (redirect_allowed(cfg, next)) {
        out->status = 303;
        hdr_add(&h, r->arena, "Location: %.*s\r\n", (int)next.len, next.ptr);
    } else {
        out->status = 200;
        out->content_type = LE_STR("text/html; charset=utf-8");
        out->body = (le_str_t){thanks_html, sizeof(thanks_html) - 1};
    }
    out->headers = hdrs_str(&h);
}

/* ---- GET /t.js -------------------------------------------------------- */

/* The script as it is and gzipped once at first use (zlib level 9): each variant has its own
 * entity tag, as RFC 9110 wants for different representations. */
static char tracker_etag[24], tracker_etag_gz[28];
static unsigned char *tracker_gz;
static size_t tracker_gz_len;
static pthread_once_t tracker_once = PTHREAD_ONCE_INIT;

static void tracker_init(void) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256(le_tracker_js, le_tracker_js_len, md);
    le_hex(hex, md, SHA256_DIGEST_LENGTH);
    snprintf(tracker_etag, sizeof(tracker_etag), "\"%.16s\"", hex);
    snprintf(tracker_etag_gz, sizeof(tracker_etag_gz), "\"%.16s-gz\"", hex);

    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return;
    uLong cap = deflateBound(&z, (uLong)le_tracker_js_len);
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)le_tracker_js;
    z.avail_in = (uInt)le_tracker_js_len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (out && deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < le_tracker_js_len) {
        tracker_gz = out; /* kept for the life of the process */
        tracker_gz_len = z.total_out;
    } else {
        free(out); /* served as it is */
    }
    deflateEnd(&z);
}

/* Does If-None-Match (a list of entity tags, or "*") match etag? */
static bool etag_match(le_str_t inm, const char *etag) {
    size_t n = strlen(etag);
    for (size_t i = 0; i < inm.len;) {
        while (i < inm.len && (inm.ptr[i] == ' ' || inm.ptr[i] == ',')) i++;
        if (i < inm.len && inm.ptr[i] == '*') return true;
        if (i + 2 < inm.len && inm.ptr[i] == 'W' && inm.ptr[i + 1] == '/') i += 2;
        if (i + n <= inm.len && memcmp(inm.ptr + i, etag, n) == 0) return true;
        while (i < inm.len && inm.ptr[i] != ',') i++;
    }
    return false;
}

void le_pixel_tracker(const le_pixel_req_t *r, le_pixel_resp_t *out) {
    pthread_once(&tracker_once, tracker_init);
    memset(out, 0, sizeof(*out));
    bool gz = tracker_gz && le_accepts_gzip(r->accept_encoding);
    const char *etag = gz ? tracker_etag_gz : tracker_etag;
    hdrs_t h = {0};
    hdr_add(&h, r->arena,
            "ETag: %s\r\nCache-Control: public, max-age=3600, stale-while-revalidate=86400\r\n"
            "X-Content-Type-Options: nosniff\r\nVary: Accept-Encoding\r\n%s"
            /* Ask for the Client Hints a reduced User-Agent hides: the browser sends them
             * on its next requests to this origin (the pixel and beacons). A site that
             * loads leadedge from another origin delegates them with Permissions-Policy
             * (docs/enrichment.md). */
            "Accept-CH: Sec-CH-UA-Platform-Version, Sec-CH-UA-Full-Version-List, "
            "Sec-CH-UA-Model\r\n",
            etag, gz ? "Content-Encoding: gzip\r\n" : "");
    out->headers = hdrs_str(&h);
    if (r->if_none_match.len && etag_match(r->if_none_match, etag)) {
        out->status = 304;
        return;
    }
    out->status = 200;
    out->content_type = LE_STR("application/javascript; charset=utf-8");
    out->body = gz ? (le_str_t){(const char *)tracker_gz, tracker_gz_len}
                   : (le_str_t){(const char *)le_tracker_js, le_tracker_js_len};
}
