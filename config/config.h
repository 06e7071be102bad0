/*
 * config.h: leadedge's configuration, loaded from YAML and validated whole.
 *
 * Load = parse (libyaml), validate every key against the directive table
 * (type, bounds, enum values; unknown keys are errors with a did-you-mean),
 * then build one immutable le_config_t. A running server swaps whole config
 * objects on SIGHUP; readers hold a reference (le_config_ref/unref).
 *
 * Error messages have the form
 *     leadedge.yaml:12:5: server.limits.body: expected a size such as 64k
 * one per line, every error in the file reported, not just the first.
 *
 * Sizes accept an integer or a suffix k/K/KiB, m/M/MiB, g/G/GiB (powers of
 * 1024). Durations accept ms, s, m, h, d (a bare integer means seconds).
 */
#ifndef LE_CONFIG_H
#define LE_CONFIG_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "buf.h"

typedef enum { LE_CONSENT_REQUIRED = 0, LE_CONSENT_NOT_REQUIRED = 1 } le_consent_mode_t;
typedef enum { LE_SAMESITE_LAX = 0, LE_SAMESITE_STRICT = 1, LE_SAMESITE_NONE = 2 } le_samesite_t;
typedef enum { LE_FSYNC_INTERVAL = 0, LE_FSYNC_ALWAYS = 1, LE_FSYNC_NEVER = 2 } le_fsync_mode_t;

/* A network in CIDR form; family is AF_INET or AF_INET6, addr in network order. */
typedef struct {
    int family;
    uint8_t addr[16];
    uint8_t prefix; /* 0..32 or 0..128 */
} le_cidr_t;

/* Does the address (4 or 16 bytes in network order, family AF_INET/AF_INET6) fall in c? */
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) is
 * compared as the IPv4 address it carries, and an IPv4 address against an IPv6 network as its
 * mapped form. Any other family gives false. */
bool le_cidr_contains(const le_cidr_t *c, int family, const uint8_t *addr);
/* Parse "10.0.0.0/8", "::1/128" or a bare address (full prefix). 0 or LE_EINVAL. */
/* Host bits set beyond the prefix ("10.0.0.1/8") are an error too. */
int le_cidr_parse(const char *s, le_cidr_t *out);

/* Room for a listen host without brackets, NUL included (INET6_ADDRSTRLEN). */
#define LE_LISTEN_HOST_MAX 46

/*
 * Parse a listen address as the config accepts it: "127.0.0.1:8080" or "[::1]:8080", the host a
 * numeric IP address, the port 1..65535. host receives the address without brackets (at least
 * LE_LISTEN_HOST_MAX bytes). 0 or LE_EINVAL. For admin.listen, which has no parsed fields.
 */
int le_listen_parse(const char *s, char *host, uint16_t *port);

typedef struct {
    char **items;
    size_t n;
} le_strlist_t;

/* enrich.databases[i].fields: one output field ("country_code") read from a path in the
 * database's records, written dotted ("country.iso_code", "subdivisions.0.names.en"). */
typedef struct {
    char *name;
    char *path;
} le_fieldmap_t;

/* One enrich.databases entry: a .mmdb file, with an explicit field map for database types
 * leadedge does not know (nfields == 0 means: known type, built-in paths). */
typedef struct {
    char *path;
    le_fieldmap_t *fields;
    size_t nfields;
} le_dbconf_t;

/* One condition of a scoring rule's `when`: field is the key as written ("url", "country",
 * "prop.plan"), validated against the fields of its section. The rule matches when every
 * condition does; a condition matches when the value matches any of values. */
typedef enum {
    LE_COND_EQ = 0, /* values are exact strings (case-insensitive where the field says so) */
    LE_COND_GLOB,   /* values are globs: '*' any run, '?' one byte, [...] a set */
    LE_COND_REGEX,  /* values are PCRE2 patterns ({regex: "..."}) */
    LE_COND_RANGE,  /* numeric: min..max ({min: 10, max: 200}; either may be absent) */
} le_condop_t;

typedef struct {
    char *field;
    le_condop_t op;
    char **values;
    size_t nvalues;
    int64_t min, max;   /* LE_COND_RANGE */
    uint32_t line, col; /* where it was written, for errors found later (a regex that does
                           not compile) */
} le_condconf_t;

/* One scoring rule (scoring.behaviour.rules[i] or scoring.fit.rules[i]). */
typedef struct {
    char *name;
    le_condconf_t *when;
    size_t nwhen;
    int32_t points;
    bool once;            /* behaviour: at most once per lead, ever */
    uint32_t max_per_day; /* behaviour: at most this many times per lead and UTC day; 0 = no cap */
    uint32_t line, col;
} le_ruleconf_t;

typedef struct {
    le_ruleconf_t *items;
    size_t n;
} le_rulelist_t;

/* A name and a value as written in a YAML map: crm.endpoints[i].headers (header: value) and
 * crm.endpoints[i].field_map (output path: payload path). */
typedef struct {
    char *name;
    char *value;
} le_kvconf_t;

/* One crm.endpoints entry: where webhooks go, and how they are shaped for that receiver. */
typedef struct {
    char *name;           /* routes name it */
    char *url;            /* http:// or https://, host, optional port and path */
    le_kvconf_t *headers; /* extra request headers */
    size_t nheaders;
    le_strlist_t secrets; /* signing secrets, the newest first; at least one */
    uint32_t timeout_ms;  /* connect to full answer, per attempt */
    uint32_t concurrency; /* requests in flight (= keep-alive connections) */
    char *ca_file;        /* PEM bundle that verifies https; NULL: the system's */
    le_kvconf_t
        *field_map; /* output path <- payload path, dotted ("properties.email": "lead.email") */
    size_t nfield_map;
    bool keep_unmapped; /* payload fields the map does not name are sent too (default true) */
} le_endpointconf_t;

/* One routing.routes entry: the first route whose `when` matches a lead takes it. No `when`
 * matches every lead (the default route is the last such). Conditions use le_condconf_t on the
 * route fields (country, network, company_size, behaviour, page, ...: docs/webhooks.md). */
typedef struct {
    char *name;
    le_condconf_t *when;
    size_t nwhen;
    char *endpoint;             /* an endpoint's name */
    char *team, *owner, *queue; /* put into the payload's route; NULL when unset */
    uint32_t line, col;
} le_routeconf_t;

typedef struct le_config_s {
    atomic_int refs;
    char *path; /* the file it was loaded from ("<string>" for inline YAML) */

    struct {
        char *listen;      /* "host:port" as written; "[::1]:8080" for IPv6 */
        char *listen_host; /* parsed host ("127.0.0.1", "::1", "0.0.0.0") */
        uint16_t listen_port;
        uint32_t workers; /* resolved: `auto` becomes the CPU count; 1..256 */
        le_cidr_t *trusted_proxies;
        size_t ntrusted_proxies;
        uint32_t max_connections; /* over all workers; past it: 503 + close */
        uint32_t backlog;
        struct {
            uint32_t request_line; /* bytes of the request target (path + query): 414 past it */
            uint32_t header_bytes; /* all header lines together: 431 */
            uint32_t header_count; /* 431 */
            uint32_t body;         /* 413 */
            uint32_t params;       /* query/form params per request */
        } limits;
        struct {
            uint32_t header_ms;   /* first byte to end of headers */
            uint32_t body_ms;     /* end of headers to end of body */
            uint32_t idle_ms;     /* keep-alive wait for the next request */
            uint32_t shutdown_ms; /* grace for in-flight requests on SIGTERM */
        } timeouts;
    } server;

    struct {
        le_strlist_t allowed_origins; /* exact-match CORS origins for /e and /f */
        uint32_t cors_max_age_s;
        uint32_t max_batch;     /* events per POST /e */
        uint32_t max_props;     /* custom props per event */
        uint32_t max_value_len; /* bytes of url, ref, title, prop and field values */
        struct {
            char *name;         /* visitor id cookie, default "le_vid" */
            uint32_t max_age_s; /* default 13 months (395 days) */
            le_samesite_t same_site;
            bool secure;  /* forced on when same_site is none */
            char *domain; /* NULL when unset */
        } cookie;
    } tracking;

    struct {
        char *honeypot; /* field name; filled = bot; default "le_hp" */
        le_strlist_t
            redirect_allowlist; /* exact URLs or origins ("https://a.example") allowed as _next */
        uint32_t max_fields;
    } forms;

    struct {
        le_consent_mode_t consent;
        char *consent_cookie;       /* name of a site consent cookie, NULL when unset */
        char *consent_cookie_value; /* value meaning "yes"; NULL = any value but "0"/"false"/"no" */
        bool honour_gpc;
        bool honour_dnt;
        uint8_t ip_mask_v4; /* bits cleared at rest, default 16 */
        uint8_t ip_mask_v6; /* default 80 */
    } privacy;

    struct {
        le_dbconf_t *databases; /* .mmdb files in order: the earlier one wins a field */
        size_t ndatabases;
        char *language;           /* for place names, English as the fallback; default "en" */
        char *company_ranges;     /* CSV network,company,domain; NULL when unset */
        uint32_t reload_check_ms; /* how often files are checked for a replacement */
        uint32_t ip_cache_size;   /* addresses whose results are kept per worker */
        struct {
            char *regexes;       /* uap-core regexes.yaml */
            uint32_t cache_size; /* parsed User-Agents kept per worker */
        } ua;
        struct {
            uint32_t min_form_ms; /* a form sent faster than this is a bot's; 0 = off */
            bool networks;        /* hosting and anonymiser networks count as bots */
        } bot;
    } enrich;

    struct {
        struct {
            uint64_t half_life_ms; /* behavioural points halve in this time */
            le_rulelist_t rules;
        } behaviour;
        struct {
            le_rulelist_t rules;
        } fit;
        struct {
            int32_t fit[3];       /* grade A at >= fit[0], B >= fit[1], C >= fit[2], else D */
            int32_t behaviour[3]; /* band 1 at >= behaviour[0], 2, 3, else 4 */
        } grades;
    } scoring;

    struct {
        int32_t behaviour; /* thresholds: both reached makes an MQL (when matrix is empty) */
        int32_t fit;
        le_strlist_t matrix; /* cells such as "A1": the lead's grade and band in the set */
        bool require_contact;
        uint64_t recycle_cooldown_ms; /* a recycled lead may become an MQL again after this */
        struct {
            uint32_t members; /* MQA: at least this many engaged members (0 = off) */
            uint32_t roles;   /* covering at least this many buying-centre roles */
            int32_t engaged;  /* behaviour score that makes a member engaged */
        } account;
    } mql;

    struct {
        le_endpointconf_t *endpoints;
        size_t nendpoints;
        struct {
            uint64_t base_ms;    /* backoff base: the first retry waits up to this */
            uint64_t cap_ms;     /* longest wait between attempts */
            uint64_t max_age_ms; /* older than this (from the MQL) and still failing: dead */
        } retry;
        uint32_t journey;  /* page views in a payload's journey (the latest) */
        char *dead_letter; /* the dead-letter file; NULL: <data_dir>/dead-letter.jsonl */
    } crm;

    struct {
        le_routeconf_t *routes; /* in order: the first match wins */
        size_t nroutes;
    } routing;

    struct {
        uint64_t accept_within_ms; /* an MQL not accepted in this time is escalated */
        char *escalation_route;    /* the route escalations go to; NULL: the lead's own */
    } sla;

    struct {
        bool bots, gpc, freemail;
        le_cidr_t *staff_networks;
        size_t nstaff_networks;
        le_strlist_t staff_domains, competitor_domains, customer_domains, partner_domains;
    } suppress;

    struct {
        char *freemail_domains;   /* list file; NULL = the built-in list */
        char *disposable_domains; /* list file; NULL = the built-in list */
    } identity;

    struct {
        uint32_t max_visitors; /* visitors kept in memory; cold anonymous ones go first */
    } limits;

    struct {
        char *data_dir;
        uint64_t segment_size;
        le_fsync_mode_t fsync;
        uint32_t fsync_interval_ms;
        uint64_t buffer_limit;         /* bytes queued for the writer before appends are refused */
        uint32_t snapshot_interval_ms; /* 0: only at shutdown */
        bool retain_log;               /* keep segments a snapshot covers */
    } store;

    struct {
        char *listen;
        char *token; /* NULL when unset */
    } admin;

    struct {
        int level; /* le_log_level_t */
    } log;
} le_config_t;

/*
 * Load and validate a config file. On success returns 0 and *out holds a
 * config with one reference. On failure returns LE_EINVAL (or -errno when
 * the file cannot be read), *out is NULL, and every error is appended to
 * errors as one "file:line:col: key.path: message\n" line.
 */
int le_config_load(const char *path, le_config_t **out, le_buf_t *errors);

/* The same for YAML held in memory; name stands for the file in messages. */
int le_config_load_string(const char *name, const char *yaml, size_t len, le_config_t **out,
                          le_buf_t *errors);

/* Every key at its default (as if loading an empty document). Never fails. */
le_config_t *le_config_default(void);

/* Take one more reference (atomic; any thread); returns c. */
le_config_t *le_config_ref(le_config_t *c);
/* Drop one reference; the last one frees the config and every string and list in it. NULL is a
 * no-op. */
void le_config_unref(le_config_t *c);

/* Internal, for tests and docs: the dotted name of the i-th key ("server.limits.body"), NULL
 * past the last one. */
const char *le__config_key(size_t i);

#endif
