/*
 * event.h: le_event_t, one tracked event as it crosses modules.
 *
 * pixel/ builds events from requests, store/ serialises them, and later
 * enrich/ and score/ read them. Every string is borrowed: it points into the
 * request's arena and lives as long as the request. Strings are valid UTF-8
 * (the decoder refuses anything else) and carry no NUL.
 */
#ifndef LE_EVENT_H
#define LE_EVENT_H

#include "le.h"

typedef enum {
    LE_EV_PAGEVIEW = 1, /* e=pv */
    LE_EV_EVENT = 2,    /* any other event name */
    LE_EV_FORM = 3,     /* a form post to /f */
} le_event_type_t;

typedef enum {
    LE_ID_NONE = 0,
    LE_ID_COOKIE = 1,     /* consented first-party visitor id (le_vid cookie) */
    LE_ID_COOKIELESS = 2, /* daily-rotating hash, never linked to a person */
} le_id_kind_t;

typedef enum {
    LE_SRC_PIXEL = 1,  /* GET /p.gif */
    LE_SRC_BEACON = 2, /* POST /e */
    LE_SRC_FORM = 3,   /* POST /f */
} le_event_source_t;

/* 128-bit ids are written as 32 lowercase hex digits. */
#define LE_ID_HEX_LEN 32

typedef struct {
    int64_t time_ms;            /* server receive time, Unix ms */
    int64_t client_ts_ms;       /* the `ts` the client sent, 0 when absent */
    uint8_t type;               /* le_event_type_t */
    uint8_t source;             /* le_event_source_t */
    uint8_t id_kind;            /* le_id_kind_t */
    bool consent;               /* the request carried tracking consent */
    bool gpc;                   /* Sec-GPC: 1 / globalPrivacyControl */
    bool bot;                   /* flagged as a bot (honeypot filled) */
    char id[LE_ID_HEX_LEN + 1]; /* visitor id or cookieless id, hex */
    le_str_t name;              /* event name: "pageview", "form" or the custom name */
    le_str_t url;               /* page URL */
    le_str_t ref;               /* referrer */
    le_str_t title;             /* page title */
    le_str_t vid;               /* the snippet's first-party id as sent (may be empty) */
    le_str_t form_id;           /* forms: the form's id (`_form`), else empty */
    le_kv_t *props;             /* custom props (p.<name>), nprops entries */
    uint32_t nprops;
    le_kv_t *fields; /* form fields, nfields entries */
    uint32_t nfields;
    le_str_t ip;   /* truncated client IP, text ("203.0.0.0"); never the full one */
    le_str_t ua;   /* User-Agent */
    le_str_t lang; /* Accept-Language */
} le_event_t;

#endif
