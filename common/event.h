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
    LE_EV_STATUS = 4,   /* the CRM's stage update for a lead (admin API): id the lead, name the
                           stage, props reason and bant */
    LE_EV_ERASE = 5,    /* erasure tombstone (admin API): id the visitor or contact, name
                           "visitor" or "contact" */
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
    LE_SRC_ADMIN = 4,  /* the admin API (status updates, erasure) */
} le_event_source_t;

/* What kind of network the client address belongs to (enrich/network.h has the rules). */
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
    static const char *const names[] = {"unknown", "business", "government", "education",
                                        "isp",     "cellular", "hosting",    "anonymiser"};
    return (unsigned)n < sizeof(names) / sizeof(names[0]) ? names[n] : "unknown";
}

/* The device class derived from the User-Agent and Client Hints. */
typedef enum {
    LE_DEV_OTHER = 0,
    LE_DEV_DESKTOP,
    LE_DEV_MOBILE,
    LE_DEV_TABLET,
    LE_DEV_BOT,
} le_device_class_t;

static inline const char *le_device_class_name(unsigned c) {
    static const char *const names[] = {"other", "desktop", "mobile", "tablet", "bot"};
    return c < sizeof(names) / sizeof(names[0]) ? names[c] : "other";
}

/* Why an event counts as a bot's (bits of le_enrichment_t.bot_reasons; enrich/bot.h). */
enum {
    LE_BOT_UA_SPIDER = 1u << 0,   /* uap-core: device family Spider */
    LE_BOT_UA_TOKEN = 1u << 1,    /* a bot, tool or headless token in the User-Agent */
    LE_BOT_EMPTY_UA = 1u << 2,    /* no User-Agent at all */
    LE_BOT_NETWORK = 1u << 3,     /* from a hosting or anonymiser network */
    LE_BOT_NO_LANGUAGE = 1u << 4, /* a browser's User-Agent without Accept-Language */
    LE_BOT_HONEYPOT = 1u << 5,    /* the form's honeypot field was filled */
    LE_BOT_FAST_FORM = 1u << 6,   /* the form was sent faster than a person could */
};
#define LE_BOT_REASONS 7

/* "ua_spider", "ua_token", ...; NULL for a bit that is not a reason. */
static inline const char *le_bot_reason_name(uint32_t bit) {
    static const char *const names[LE_BOT_REASONS] = {
        "ua_spider", "ua_token", "empty_ua", "network", "no_language", "honeypot", "fast_form"};
    for (unsigned b = 0; b < LE_BOT_REASONS; b++)
        if (bit == 1u << b) return names[b];
    return NULL;
}

/*
 * What enrich/ derived from the request (the full client IP, the User-Agent and Client Hints,
 * Accept-Language). Strings are borrowed like every event string; empty means unknown.
 * Numeric codes are enrich/'s enums (le_network_t, LE_ANON_*, le_device_class_t, the
 * LE_BOT_* reason bits), kept as plain integers here so common/ needs no enrich/ header.
 */
typedef struct {
    /* geo, from the IP */
    le_str_t country_code, country, region_code, region, city, postal, time_zone, continent;
    double latitude, longitude;
    uint32_t accuracy_km;
    bool has_location;
    /* network and company, from the IP */
    le_str_t company;     /* the visitor's company: only business/government/education */
    le_str_t company_key; /* its normalised key (le_company_key) */
    le_str_t domain;      /* the company's domain */
    le_str_t org;         /* the organisation registered for the network, as published */
    le_str_t as_org;
    le_str_t connection_type, user_type;
    uint32_t asn;
    uint8_t network;  /* le_network_t; 0 unknown */
    uint8_t anon;     /* LE_ANON_* bits */
    bool from_ranges; /* company from the operator's own enrich.company_ranges */
    /* device, from the User-Agent and Client Hints */
    le_str_t browser, browser_version, os, os_version, device, brand, model;
    uint8_t device_class; /* le_device_class_t; 0 other */
    /* bot verdict: LE_BOT_* reason bits; the event's bot flag is set when any is */
    uint32_t bot_reasons;
    le_str_t language; /* primary language by q-value, canonical case ("de-DE") */
} le_enrichment_t;

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
    bool staff;                 /* the full client IP is in suppress.staff_networks */
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
    bool enriched; /* x holds enrich/'s results */
    le_enrichment_t x;
} le_event_t;

#endif
