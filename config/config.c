/*
 * config.c: the directive table, and loading YAML into an immutable le_config_t.
 *
 * Every key lives in one table below: its dotted name, type, where it goes in le_config_t, its
 * bounds, its default (written as the YAML a user would write, and parsed by the same code) and
 * an optional validator. Sections ("server.limits") are not listed: they are whatever prefixes
 * the names have. Loading parses the document into a node tree (yaml_tree.c), starts from the
 * defaults, walks the tree against the table, then runs the few checks that involve more than
 * one key. Nothing stops at the first error: every problem in the file is reported, one line
 * each, "file:line:col: key.path: message", and the half-built config is thrown away.
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

_Static_assert(LE_LOG_DEBUG == 0 && LE_LOG_INFO == 1 && LE_LOG_WARN == 2 && LE_LOG_ERROR == 3,
               "log.level values are indexes into level_names");
_Static_assert(LE_CONSENT_NOT_REQUIRED == 1 && LE_SAMESITE_NONE == 2 && LE_FSYNC_NEVER == 2,
               "enum values are indexes into their names");

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define SEC 1000ull
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

#define MAX_FILE (16 * MIB) /* a config file larger than this is a mistake */
#define MAX_KEY 64          /* bytes of a key shown in a message */
#define LISTEN_EXPECT "expected host:port or [ipv6]:port such as 127.0.0.1:8080"

typedef enum {
    T_STR,       /* char *; F_OPTIONAL: NULL when unset */
    T_BOOL,      /* bool */
    T_UINT,      /* uint8/16/32/64 by field size, bounds min..max */
    T_SIZE,      /* bytes, integer or k/M/G suffix */
    T_DUR,       /* milliseconds, or whole seconds with F_SECONDS; bounds in ms */
    T_ENUM,      /* int: the index of the value in names */
    T_STRLIST,   /* le_strlist_t */
    T_CIDRLIST,  /* le_cidr_t * at off, size_t count at off2 */
    T_LISTEN,    /* char * as written; host (char *) at off2 and port at off3 when off2 != 0 */
    T_WORKERS,   /* uint32: `auto` or min..max */
    T_DBLIST,    /* le_dbconf_t * at off, size_t count at off2 */
    T_INT,       /* int32, bounds (int64_t)min..(int64_t)max */
    T_CUTS,      /* int32[3], strictly descending: grade cut points */
    T_RULES,     /* le_rulelist_t; F_FIT: fit rules, else behaviour rules */
    T_ENDPOINTS, /* le_endpointconf_t * at off, size_t count at off2 */
    T_ROUTES,    /* le_routeconf_t * at off, size_t count at off2 */
} dtype_t;

enum { F_OPTIONAL = 1, F_SECONDS = 2, F_FIT = 4 };

/* A validator sees a string that passed the generic checks; it may normalise it in place and
 * returns NULL or a message. */
typedef const char *check_fn(char *s, size_t len);

typedef struct {
    const char *name;
    dtype_t type;
    size_t off, size;
    size_t off2, off3;
    uint64_t min, max;
    const char *def; /* default as YAML text; NULL: unset / empty list */
    const char *const *names;
    check_fn *check;
    unsigned flags;
} directive_t;

static check_fn check_cookie_name, check_cookie_value, check_domain, check_field_name, check_token,
    check_origin, check_url, check_language, check_cell, check_name;

static const char *const consent_names[] = {"required", "not_required", NULL};
static const char *const samesite_names[] = {"lax", "strict", "none", NULL};
static const char *const fsync_names[] = {"interval", "always", "off", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};

#define O(m) offsetof(le_config_t, m)
#define F(m) O(m), sizeof(((le_config_t *)0)->m)
#define UINT(n, m, lo, hi, d)                                                                      \
    { n, T_UINT, F(m), .min = (lo), .max = (hi), .def = (d) }
#define SIZE(n, m, lo, hi, d)                                                                      \
    { n, T_SIZE, F(m), .min = (lo), .max = (hi), .def = (d) }
#define DUR_MS(n, m, lo, hi, d)                                                                    \
    { n, T_DUR, F(m), .min = (lo), .max = (hi), .def = (d) }
#define DUR_S(n, m, lo, hi, d)                                                                     \
    { n, T_DUR, F(m), .min = (lo), .max = (hi), .def = (d), .flags = F_SECONDS }
#define STR(n, m, d, chk, fl)                                                                      \
    { n, T_STR, F(m), .def = (d), .check = (chk), .flags = (fl) }
#define BOOL(n, m, d)                                                                              \
    { n, T_BOOL, F(m), .def = (d) }
#define ENUM(n, m, vals, d)                                                                        \
    { n, T_ENUM, F(m), .names = (vals), .def = (d) }
#define STRLIST(n, m, chk)                                                                         \
    { n, T_STRLIST, F(m), .check = (chk) }
#define INT(n, m, lo, hi, d)                                                                       \
    { n, T_INT, F(m), .min = (uint64_t)(int64_t)(lo), .max = (uint64_t)(int64_t)(hi), .def = (d) }

/* The one place where keys, bounds and defaults are written down. Keep docs/configuration.md and
 * config/leadedge.yaml in step (a unit test checks both). */
static const directive_t table[] = {
    {"server.listen", T_LISTEN, F(server.listen), .off2 = O(server.listen_host),
     .off3 = O(server.listen_port), .def = "127.0.0.1:8080"},
    {"server.workers", T_WORKERS, F(server.workers), .min = 1, .max = 256, .def = "auto"},
    {"server.trusted_proxies", T_CIDRLIST, F(server.trusted_proxies),
     .off2 = O(server.ntrusted_proxies)},
    UINT("server.max_connections", server.max_connections, 1, 1000000, "10000"),
    UINT("server.backlog", server.backlog, 1, 65535, "511"),
    SIZE("server.limits.request_line", server.limits.request_line, 256, MIB, "8k"),
    SIZE("server.limits.header_bytes", server.limits.header_bytes, KIB, MIB, "16k"),
    UINT("server.limits.header_count", server.limits.header_count, 4, 1000, "64"),
    SIZE("server.limits.body", server.limits.body, KIB, 64 * MIB, "64k"),
    UINT("server.limits.params", server.limits.params, 1, 10000, "256"),
    DUR_MS("server.timeouts.header", server.timeouts.header_ms, 100, HOUR, "10s"),
    DUR_MS("server.timeouts.body", server.timeouts.body_ms, 100, HOUR, "10s"),
    DUR_MS("server.timeouts.idle", server.timeouts.idle_ms, 100, HOUR, "60s"),
    DUR_MS("server.timeouts.shutdown", server.timeouts.shutdown_ms, 100, HOUR, "10s"),

    STRLIST("tracking.allowed_origins", tracking.allowed_origins, check_origin),
    DUR_S("tracking.cors_max_age", tracking.cors_max_age_s, 0, DAY, "600s"),
    UINT("tracking.max_batch", tracking.max_batch, 1, 1000, "50"),
    UINT("tracking.max_props", tracking.max_props, 0, 1000, "32"),
    SIZE("tracking.max_value_len", tracking.max_value_len, 64, MIB, "2048"),
    STR("tracking.cookie.name", tracking.cookie.name, "le_vid", check_cookie_name, 0),
    DUR_S("tracking.cookie.max_age", tracking.cookie.max_age_s, HOUR, 400 * DAY, "395d"),
    ENUM("tracking.cookie.same_site", tracking.cookie.same_site, samesite_names, "lax"),
    BOOL("tracking.cookie.secure", tracking.cookie.secure, "false"),
    STR("tracking.cookie.domain", tracking.cookie.domain, NULL, check_domain, F_OPTIONAL),

    STR("forms.honeypot", forms.honeypot, "le_hp", check_field_name, 0),
    STRLIST("forms.redirect_allowlist", forms.redirect_allowlist, check_url),
    UINT("forms.max_fields", forms.max_fields, 1, 1000, "64"),

    ENUM("privacy.consent", privacy.consent, consent_names, "required"),
    STR("privacy.consent_cookie", privacy.consent_cookie, NULL, check_cookie_name, F_OPTIONAL),
    STR("privacy.consent_cookie_value", privacy.consent_cookie_value, NULL, check_cookie_value,
        F_OPTIONAL),
    BOOL("privacy.honour_gpc", privacy.honour_gpc, "true"),
    BOOL("privacy.honour_dnt", privacy.honour_dnt, "false"),
    UINT("privacy.ip_mask_v4", privacy.ip_mask_v4, 0, 32, "16"),
    UINT("privacy.ip_mask_v6", privacy.ip_mask_v6, 0, 128, "80"),

    DUR_MS("scoring.behaviour.half_life", scoring.behaviour.half_life_ms, HOUR, 3650 * DAY, "14d"),
    {"scoring.behaviour.rules", T_RULES, F(scoring.behaviour.rules), .def = NULL},
    {"scoring.fit.rules", T_RULES, F(scoring.fit.rules), .flags = F_FIT},
    {"scoring.grades.fit", T_CUTS, F(scoring.grades.fit), .def = "40,25,10"},
    {"scoring.grades.behaviour", T_CUTS, F(scoring.grades.behaviour), .def = "75,50,25"},

    INT("mql.behaviour", mql.behaviour, -1000000, 1000000, "50"),
    INT("mql.fit", mql.fit, -1000000, 1000000, "20"),
    STRLIST("mql.matrix", mql.matrix, check_cell),
    BOOL("mql.require_contact", mql.require_contact, "true"),
    DUR_MS("mql.recycle_cooldown", mql.recycle_cooldown_ms, 0, 3650 * DAY, "30d"),
    UINT("mql.account.members", mql.account.members, 0, 1000, "0"),
    UINT("mql.account.roles", mql.account.roles, 0, 5, "0"),
    INT("mql.account.engaged", mql.account.engaged, -1000000, 1000000, "20"),

    {"crm.endpoints", T_ENDPOINTS, F(crm.endpoints), .off2 = O(crm.nendpoints)},
    DUR_MS("crm.retry.base", crm.retry.base_ms, 10, HOUR, "1s"),
    DUR_MS("crm.retry.cap", crm.retry.cap_ms, 100, DAY, "10m"),
    DUR_MS("crm.retry.max_age", crm.retry.max_age_ms, MINUTE, 30 * DAY, "24h"),
    UINT("crm.journey", crm.journey, 0, 20, "10"),
    STR("crm.dead_letter", crm.dead_letter, NULL, NULL, F_OPTIONAL),
    {"routing.routes", T_ROUTES, F(routing.routes), .off2 = O(routing.nroutes)},
    DUR_MS("sla.accept_within", sla.accept_within_ms, SEC, 30 * DAY, "1h"),
    STR("sla.escalation_route", sla.escalation_route, NULL, check_name, F_OPTIONAL),

    BOOL("suppress.bots", suppress.bots, "true"),
    BOOL("suppress.gpc", suppress.gpc, "true"),
    BOOL("suppress.freemail", suppress.freemail, "false"),
    {"suppress.staff_networks", T_CIDRLIST, F(suppress.staff_networks),
     .off2 = O(suppress.nstaff_networks)},
    STRLIST("suppress.staff_domains", suppress.staff_domains, check_domain),
    STRLIST("suppress.competitor_domains", suppress.competitor_domains, check_domain),
    STRLIST("suppress.customer_domains", suppress.customer_domains, check_domain),
    STRLIST("suppress.partner_domains", suppress.partner_domains, check_domain),

    STR("identity.freemail_domains", identity.freemail_domains, NULL, NULL, F_OPTIONAL),
    STR("identity.disposable_domains", identity.disposable_domains, NULL, NULL, F_OPTIONAL),

    UINT("limits.max_visitors", limits.max_visitors, 1000, 100000000, "1000000"),

    STR("store.data_dir", store.data_dir, "./data", NULL, 0),
    SIZE("store.segment_size", store.segment_size, MIB, 4 * GIB, "64M"),
    ENUM("store.fsync", store.fsync, fsync_names, "interval"),
    DUR_MS("store.fsync_interval", store.fsync_interval_ms, 1, 10 * SEC, "10ms"),
    SIZE("store.buffer_limit", store.buffer_limit, MIB, 4 * GIB, "64M"),
    DUR_MS("store.snapshot_interval", store.snapshot_interval_ms, 0, 7 * DAY, "5m"),
    BOOL("store.retain_log", store.retain_log, "false"),

    {"enrich.databases", T_DBLIST, F(enrich.databases), .off2 = O(enrich.ndatabases)},
    STR("enrich.language", enrich.language, "en", check_language, 0),
    STR("enrich.company_ranges", enrich.company_ranges, NULL, NULL, F_OPTIONAL),
    DUR_MS("enrich.reload_check", enrich.reload_check_ms, 100, HOUR, "2s"),
    UINT("enrich.ip_cache_size", enrich.ip_cache_size, 0, 10000000, "8192"),
    STR("enrich.ua.regexes", enrich.ua.regexes, "/usr/share/uap-core/regexes.yaml", NULL, 0),
    UINT("enrich.ua.cache_size", enrich.ua.cache_size, 0, 10000000, "16384"),
    DUR_MS("enrich.bot.min_form_time", enrich.bot.min_form_ms, 0, HOUR, "1500ms"),
    BOOL("enrich.bot.networks", enrich.bot.networks, "true"),

    {"admin.listen", T_LISTEN, F(admin.listen), .def = "127.0.0.1:9090"},
    STR("admin.token", admin.token, NULL, check_token, F_OPTIONAL),

    ENUM("log.level", log.level, level_names, "info"),
};

#define NKEYS LE_ARRAY_SIZE(table)

enum { UNSEEN = 0, SET_OK, SET_BAD };

typedef struct {
    const char *file;
    le_buf_t *errors;
    int nerr;
    le_config_t *c;
    const le__ynode_t *node[NKEYS]; /* where each key was written, NULL when not */
    uint8_t state[NKEYS];
} ctx_t;

const char *le__config_key(size_t i) {
    return i < NKEYS ? table[i].name : NULL;
}

/* ---- errors ------------------------------------------------------------------------------- */

static void report(ctx_t *x, const le__ynode_t *n, const char *path, const char *fmt, ...)
    LE_PRINTF(4, 5);

static void report(ctx_t *x, const le__ynode_t *n, const char *path, const char *fmt, ...) {
    va_list ap;
    char msg[512];
    x->nerr++;
    if (!x->errors) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    le_buf_printf(x->errors, "%s:%u:%u: %s: %s\n", x->file, n ? n->line : 1, n ? n->col : 1, path,
                  msg);
}

/* A key fit for a one-line message: control characters, quotes and backslashes become '?', at
 * most MAX_KEY bytes without cutting a UTF-8 sequence. */
static void show_key(char *out, const char *s, size_t len) {
    size_t n = len;
    if (n > MAX_KEY) {
        n = MAX_KEY;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '?' : (char)ch;
    }
    if (n < len) memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
}

/* Only keys made of [a-z0-9_] can name a directive or a section. */
static bool plain_key(const le__ynode_t *k) {
    if (k->len == 0 || k->len > MAX_KEY) return false;
    for (size_t i = 0; i < k->len; i++) {
        char ch = k->str[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
    }
    return true;
}

/* ---- storing into the struct -------------------------------------------------------------- */

static void *field(le_config_t *c, size_t off) {
    return (char *)c + off;
}

static void put_uint(le_config_t *c, const directive_t *d, uint64_t v) {
    void *p = field(c, d->off);
    switch (d->size) {
        case 1:
            *(uint8_t *)p = (uint8_t)v;
            break;
        case 2:
            *(uint16_t *)p = (uint16_t)v;
            break;
        case 4:
            *(uint32_t *)p = (uint32_t)v;
            break;
        default:
            *(uint64_t *)p = v;
            break;
    }
}

static void put_str(le_config_t *c, size_t off, char *s) {
    char **p = field(c, off);
    free(*p);
    *p = s;
}

static void free_conds(le_condconf_t *when, size_t n) {
    for (size_t j = 0; j < n; j++) {
        for (size_t k = 0; k < when[j].nvalues; k++) free(when[j].values[k]);
        free(when[j].values);
        free(when[j].field);
    }
    free(when);
}

void le__free_rules(le_rulelist_t *l) {
    for (size_t i = 0; i < l->n; i++) {
        le_ruleconf_t *r = &l->items[i];
        free_conds(r->when, r->nwhen);
        free(r->name);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void free_strlist(le_strlist_t *l) {
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void free_endpoints(le_config_t *c, const directive_t *d);
static void free_routes(le_config_t *c, const directive_t *d);

static void free_value(le_config_t *c, const directive_t *d) {
    switch (d->type) {
        case T_STR:
            put_str(c, d->off, NULL);
            break;
        case T_LISTEN:
            put_str(c, d->off, NULL);
            if (d->off2) put_str(c, d->off2, NULL);
            break;
        case T_STRLIST:
            free_strlist(field(c, d->off));
            break;
        case T_DBLIST: {
            le_dbconf_t *dbs = *(le_dbconf_t **)field(c, d->off);
            size_t n = *(size_t *)field(c, d->off2);
            for (size_t i = 0; i < n; i++) {
                free(dbs[i].path);
                for (size_t j = 0; j < dbs[i].nfields; j++) {
                    free(dbs[i].fields[j].name);
                    free(dbs[i].fields[j].path);
                }
                free(dbs[i].fields);
            }
            free(dbs);
            *(le_dbconf_t **)field(c, d->off) = NULL;
            *(size_t *)field(c, d->off2) = 0;
            break;
        }
        case T_RULES:
            le__free_rules(field(c, d->off));
            break;
        case T_ENDPOINTS:
            free_endpoints(c, d);
            break;
        case T_ROUTES:
            free_routes(c, d);
            break;
        case T_CIDRLIST:
            free(*(le_cidr_t **)field(c, d->off));
            *(le_cidr_t **)field(c, d->off) = NULL;
            *(size_t *)field(c, d->off2) = 0;
            break;
        default:
            break;
    }
}

/* ---- scalar parsers ----------------------------------------------------------------------- */

enum { P_OK = 0, P_MALFORMED = -1, P_RANGE = -2 };

/* Decimal digits at *s; advances *s. P_RANGE on overflow, P_MALFORMED when there are none. */
static int digits(const char **s, uint64_t *v) {
    const char *p = *s;
    uint64_t x = 0;
    bool over = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned dgt = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - dgt) / 10)
            over = true;
        else
            x = x * 10 + dgt;
    }
    if (p == *s) return P_MALFORMED;
    *s = p;
    *v = x;
    return over ? P_RANGE : P_OK;
}

/* A leading '-' before a well-formed number is out of range, not malformed: the message then
 * says what is allowed. */
static int parse_uint(const char *s, uint64_t *v) {
    bool neg = *s == '-';
    if (neg || *s == '+') s++;
    int rc = digits(&s, v);
    if (rc == P_MALFORMED || *s) return P_MALFORMED;
    return neg && *v ? P_RANGE : rc;
}

static int parse_size(const char *s, uint64_t *v) {
    static const struct {
        const char *sfx;
        uint64_t mul;
    } sfx[] = {{"", 1},    {"k", KIB},   {"K", KIB}, {"KiB", KIB}, {"m", MIB},
               {"M", MIB}, {"MiB", MIB}, {"g", GIB}, {"G", GIB},   {"GiB", GIB}};
    bool neg = *s == '-';
    uint64_t n;
    if (neg) s++;
    int rc = digits(&s, &n);
    if (rc == P_MALFORMED) return rc;
    const char *t = s;
    while (*t == ' ') t++;
    for (size_t i = 0; i < LE_ARRAY_SIZE(sfx); i++) {
        if (strcmp(t, sfx[i].sfx) != 0 || (i == 0 && t != s)) continue;
        if (rc == P_RANGE || (neg && n) || n > UINT64_MAX / sfx[i].mul) return P_RANGE;
        *v = n * sfx[i].mul;
        return P_OK;
    }
    return P_MALFORMED;
}

/* "10s", "250ms", "1h30m"; a bare integer is seconds. Result in milliseconds. */
static int parse_duration(const char *s, uint64_t *ms) {
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"ms", 1}, {"s", SEC}, {"m", MINUTE}, {"h", HOUR}, {"d", DAY}};
    bool neg = *s == '-', range = false;
    uint64_t total = 0, n;
    if (neg) s++;
    int rc = digits(&s, &n);
    if (rc == P_MALFORMED) return rc;
    if (*s == '\0') { /* bare integer: seconds */
        if (rc == P_RANGE || n > UINT64_MAX / SEC || (neg && n)) return P_RANGE;
        *ms = n * SEC;
        return P_OK;
    }
    for (;;) {
        size_t i, ulen = 0;
        for (i = 0; i < LE_ARRAY_SIZE(units); i++) {
            ulen = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, ulen) == 0) break;
        }
        if (i == LE_ARRAY_SIZE(units)) return P_MALFORMED;
        s += ulen;
        if (rc == P_RANGE || n > (UINT64_MAX - total) / units[i].mul)
            range = true;
        else
            total += n * units[i].mul;
        if (*s == '\0') break;
        rc = digits(&s, &n);
        if (rc == P_MALFORMED || *s == '\0') return P_MALFORMED;
    }
    if (range || (neg && total)) return P_RANGE;
    *ms = total;
    return P_OK;
}

static int parse_bool(const char *s, bool *v) {
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    le_str_t str = le_str(s);
    for (size_t i = 0; i < 3; i++) {
        if (le_str_ieq(str, yes[i])) return *v = true, P_OK;
        if (le_str_ieq(str, no[i])) return *v = false, P_OK;
    }
    return P_MALFORMED;
}

static void fmt_size(char *out, size_t cap, uint64_t v) {
    if (v && v % GIB == 0)
        snprintf(out, cap, "%lluG", (unsigned long long)(v / GIB));
    else if (v && v % MIB == 0)
        snprintf(out, cap, "%lluM", (unsigned long long)(v / MIB));
    else if (v && v % KIB == 0)
        snprintf(out, cap, "%lluk", (unsigned long long)(v / KIB));
    else
        snprintf(out, cap, "%llu", (unsigned long long)v);
}

static void fmt_duration(char *out, size_t cap, uint64_t ms) {
    if (ms && ms % DAY == 0)
        snprintf(out, cap, "%llud", (unsigned long long)(ms / DAY));
    else if (ms && ms % HOUR == 0)
        snprintf(out, cap, "%lluh", (unsigned long long)(ms / HOUR));
    else if (ms && ms % MINUTE == 0)
        snprintf(out, cap, "%llum", (unsigned long long)(ms / MINUTE));
    else if (ms % SEC == 0)
        snprintf(out, cap, "%llus", (unsigned long long)(ms / SEC));
    else
        snprintf(out, cap, "%llums", (unsigned long long)ms);
}

/* ---- validators for strings --------------------------------------------------------------- */

static bool is_tchar(unsigned char ch) {
    return ch > 0x20 && ch < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* RFC 6265 cookie-name = token (RFC 7230). */
static const char *check_cookie_name(char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)s[i]))
            return "must be a cookie name: letters, digits and !#$%&'*+-.^_`|~ only";
    return NULL;
}

/* RFC 6265 cookie-octet: visible ASCII except DQUOTE, comma, semicolon and backslash. */
static const char *check_cookie_value(char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == ',' || ch == ';' || ch == '\\')
            return "must be a cookie value: visible ASCII without spaces, '\"', ',', ';' or '\\'";
    }
    return NULL;
}

static const char *check_domain(char *s, size_t len) {
    bool label = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (alnum)
            label = true;
        else if (ch != '-' && ch != '.')
            return "expected a domain name such as example.com (no scheme, port, spaces or ';')";
    }
    return label ? NULL
                 : "expected a domain name such as example.com (no scheme, port, spaces "
                   "or ';')";
}

static const char *check_field_name(char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '&' || ch == '=')
            return "must be a form field name without spaces, '&' or '='";
    }
    return NULL;
}

static const char *check_token(char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return "must be printable ASCII without spaces";
    return len < 16 ? "must be at least 16 characters" : NULL;
}

/* A BCP 47 language tag as names are published in ("en", "de", "pt-BR", "zh-CN"). */
static const char *check_language(char *s, size_t len) {
    size_t i = 0;
    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) i++;
    if (i < 2 || i > 3) return "expected a language code such as en, de or pt-BR";
    for (; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return "expected a language code such as en, de or pt-BR";
    return NULL;
}

/* A cell of the grade x band matrix: A-D then 1-4 ("A1", "b2" is normalised to "B2"). */
static const char *check_cell(char *s, size_t len) {
    if (len == 2 && s[0] >= 'a' && s[0] <= 'd') s[0] = (char)(s[0] - 'a' + 'A');
    if (len != 2 || s[0] < 'A' || s[0] > 'D' || s[1] < '1' || s[1] > '4')
        return "expected a matrix cell from A1 to D4 (grade A-D, band 1-4)";
    return NULL;
}

static bool is_alnum(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static void lower(char *p, const char *end) {
    for (; p < end; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
}

/* host[:port] at *p, ending at one of stop (or NUL). Lowercases the host. */
static bool authority(char **pp, const char *stop) {
    char *p = *pp, *h = p;
    if (*p == '[') {
        for (p++; *p && *p != ']'; p++)
            if (!(is_alnum((unsigned char)*p) || *p == ':' || *p == '.')) return false;
        if (*p != ']' || p == h + 1) return false;
        p++;
    } else {
        while (is_alnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_') p++;
        if (p == h) return false;
    }
    lower(h, p);
    if (*p == ':') {
        uint64_t port;
        const char *q = ++p;
        if (digits(&q, &port) != P_OK || port < 1 || port > 65535) return false;
        p = (char *)q;
    }
    if (*p && !strchr(stop, *p)) return false;
    *pp = p;
    return true;
}

/* An origin as browsers send it: scheme://host[:port], nothing after. Lowercased in place, as
 * browsers serialise origins in lower case and pixel/ compares them exactly. */
static const char *check_origin(char *s, size_t len) {
    static const char *msg = "expected an origin such as https://www.example.com "
                             "(scheme://host[:port], no path or trailing slash)";
    char *p = s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return msg;
    while (is_alnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') p++;
    if (strncmp(p, "://", 3) != 0) return msg;
    lower(s, p);
    p += 3;
    if (!authority(&p, "") || *p) return msg;
    return NULL;
}

/* An http(s) URL without user info or spaces; scheme and host lowercased in place. */
static const char *check_url(char *s, size_t len) {
    static const char *msg = "expected an http:// or https:// URL such as "
                             "https://www.example.com/thanks";
    size_t skip;
    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return msg;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f) return msg;
    lower(s, s + skip);
    char *p = s + skip;
    if (!authority(&p, "/?#")) return msg;
    return NULL;
}

/* ---- one value ---------------------------------------------------------------------------- */

static bool is_scalar(const le__ynode_t *v) {
    return v->kind == LE__YSCALAR && !v->null;
}

/* A scalar that C string functions see whole. */
static bool is_text(const le__ynode_t *v) {
    return is_scalar(v) && !memchr(v->str, '\0', v->len);
}

/* The checks every string gets. NULL or a message. */
static const char *string_ok(const le__ynode_t *v) {
    if (v->len == 0) return "must not be empty";
    if (memchr(v->str, '\0', v->len) || memchr(v->str, '\r', v->len) ||
        memchr(v->str, '\n', v->len))
        return "must not contain NUL, CR or LF";
    return NULL;
}

/* A checked, validated heap copy of a string node, or NULL after reporting. */
static char *take_string(ctx_t *x, const le__ynode_t *v, const char *path, check_fn *check,
                         const char *expect) {
    const char *msg;
    if (!is_scalar(v)) {
        report(x, v, path, "%s", expect);
        return NULL;
    }
    if ((msg = string_ok(v))) {
        report(x, v, path, "%s", msg);
        return NULL;
    }
    char *s = le_xstrndup(v->str, v->len);
    if (check && (msg = check(s, v->len))) {
        report(x, v, path, "%s", msg);
        free(s);
        return NULL;
    }
    return s;
}

static void between(ctx_t *x, const le__ynode_t *v, const char *path, const directive_t *d) {
    char lo[32], hi[32];
    if (d->type == T_SIZE) {
        fmt_size(lo, sizeof(lo), d->min);
        fmt_size(hi, sizeof(hi), d->max);
    } else if (d->type == T_DUR) {
        fmt_duration(lo, sizeof(lo), d->min);
        fmt_duration(hi, sizeof(hi), d->max);
    } else {
        snprintf(lo, sizeof(lo), "%llu", (unsigned long long)d->min);
        snprintf(hi, sizeof(hi), "%llu", (unsigned long long)d->max);
    }
    report(x, v, path, "must be between %s and %s", lo, hi);
}

static void set_number(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    static const char *expect[] = {[T_UINT] = "expected an integer",
                                   [T_SIZE] = "expected a size such as 64k",
                                   [T_DUR] = "expected a duration such as 10s",
                                   [T_WORKERS] = "expected auto or an integer"};
    uint64_t n = 0;
    int rc;
    if (!is_text(v)) {
        report(x, v, path, "%s", expect[d->type]);
        return;
    }
    if (d->type == T_WORKERS && strcmp(v->str, "auto") == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        put_uint(x->c, d, (uint64_t)(cpus < 1 ? 1 : cpus > (long)d->max ? (long)d->max : cpus));
        return;
    }
    rc = d->type == T_SIZE  ? parse_size(v->str, &n)
         : d->type == T_DUR ? parse_duration(v->str, &n)
                            : parse_uint(v->str, &n);
    if (rc == P_MALFORMED) {
        report(x, v, path, "%s", expect[d->type]);
        return;
    }
    if (rc == P_RANGE || n < d->min || n > d->max) {
        between(x, v, path, d);
        return;
    }
    if (d->type == T_DUR && (d->flags & F_SECONDS)) {
        if (n % SEC) {
            report(x, v, path, "must be a whole number of seconds");
            return;
        }
        n /= SEC;
    }
    put_uint(x->c, d, n);
}

static void set_enum(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    if (is_scalar(v)) {
        for (int i = 0; d->names[i]; i++) {
            if (strlen(d->names[i]) == v->len && memcmp(d->names[i], v->str, v->len) == 0) {
                *(int *)field(x->c, d->off) = i;
                return;
            }
        }
    }
    char list[256];
    size_t n = 0;
    for (int i = 0; d->names[i]; i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", d->names[i]);
    report(x, v, path, "expected one of: %s", list);
}

static void set_list(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    char ipath[200];
    free_value(x->c, d);
    if (v->kind == LE__YSCALAR && v->null) return; /* `key:` or `key: ~` is the empty list */
    if (v->kind != LE__YSEQ) {
        report(x, v, path, "expected a list");
        return;
    }
    if (v->n == 0) return;
    if (d->type == T_STRLIST) {
        le_strlist_t *l = field(x->c, d->off);
        l->items = le_xcalloc(v->n, sizeof(char *));
        for (size_t i = 0; i < v->n; i++) {
            snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
            char *s = take_string(x, v->kids[i], ipath, d->check, "expected a string");
            if (s) l->items[l->n++] = s;
        }
        return;
    }
    le_cidr_t *cidrs = le_xcalloc(v->n, sizeof(le_cidr_t));
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const le__ynode_t *it = v->kids[i];
        const char *msg;
        bool host_bits;
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (!is_scalar(it)) {
            report(x, it, ipath, "expected an IP address or network such as 10.0.0.0/8");
        } else if ((msg = string_ok(it))) {
            report(x, it, ipath, "%s", msg);
        } else if ((msg = le__cidr_parse(it->str, &cidrs[n], &host_bits)) && host_bits) {
            char net[INET6_ADDRSTRLEN];
            inet_ntop(cidrs[n].family, cidrs[n].addr, net, sizeof(net));
            report(x, it, ipath, "host bits set (did you mean %s/%u?)", net, cidrs[n].prefix);
        } else if (msg) {
            report(x, it, ipath, "%s", msg);
        } else {
            n++;
        }
    }
    *(le_cidr_t **)field(x->c, d->off) = cidrs;
    *(size_t *)field(x->c, d->off2) = n;
}

/* A field map entry: an output name (lowercase letters, digits, '_') and a dotted path of
 * map keys and array indexes ("country.names.en", "subdivisions.0.iso_code"). */
static const char *check_field_path(char *s, size_t len) {
    bool fresh = true;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (fresh) return "expected a dotted path such as country.names.en";
            fresh = true;
        } else {
            fresh = false;
        }
    }
    return fresh ? "expected a dotted path such as country.names.en" : NULL;
}

static const char *check_output_name(char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return "expected a field name such as country_code";
    return NULL;
}

/* enrich.databases: each item a path, or a map with `path` and an optional `fields` map. */
static void set_dblist(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    char ipath[200], kpath[300];
    free_value(x->c, d);
    if (v->kind == LE__YSCALAR && v->null) return;
    if (v->kind != LE__YSEQ) {
        report(x, v, path, "expected a list");
        return;
    }
    if (v->n == 0) return;
    le_dbconf_t *dbs = le_xcalloc(v->n, sizeof(*dbs));
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const le__ynode_t *it = v->kids[i];
        le_dbconf_t *db = &dbs[n];
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (it->kind != LE__YMAP) {
            db->path = take_string(x, it, ipath, NULL, "expected a path or a map with path:");
            if (db->path) n++;
            continue;
        }
        const le__ynode_t *fields = NULL;
        bool reported = false; /* a bad path or an unknown key: "missing path" would be noise */
        for (size_t k = 0; k + 1 < it->n; k += 2) {
            const le__ynode_t *key = it->kids[k], *val = it->kids[k + 1];
            char shown[MAX_KEY + 4];
            show_key(shown, key->str, key->kind == LE__YSCALAR ? key->len : 0);
            snprintf(kpath, sizeof(kpath), "%s.%s", ipath, shown);
            if (key->kind == LE__YSCALAR && key->len == 4 && memcmp(key->str, "path", 4) == 0) {
                free(db->path);
                db->path = take_string(x, val, kpath, NULL, "expected a path");
                reported = reported || !db->path;
            } else if (key->kind == LE__YSCALAR && key->len == 6 &&
                       memcmp(key->str, "fields", 6) == 0) {
                fields = val;
            } else {
                report(x, key, kpath, "unknown key \"%s\" (expected path or fields)", shown);
                reported = true;
            }
        }
        if (!db->path && !reported) report(x, it, ipath, "missing path");
        if (fields && !(fields->kind == LE__YSCALAR && fields->null)) {
            snprintf(kpath, sizeof(kpath), "%s.fields", ipath);
            if (fields->kind != LE__YMAP) {
                report(x, fields, kpath, "expected a map of field: path");
            } else {
                db->fields = le_xcalloc(fields->n / 2 + 1, sizeof(*db->fields));
                for (size_t k = 0; k + 1 < fields->n; k += 2) {
                    const le__ynode_t *key = fields->kids[k], *val = fields->kids[k + 1];
                    char shown[MAX_KEY + 4], fpath[400];
                    show_key(shown, key->str, key->kind == LE__YSCALAR ? key->len : 0);
                    snprintf(fpath, sizeof(fpath), "%s.%s", kpath, shown);
                    char *name = take_string(x, key, fpath, check_output_name, "expected a name");
                    char *p = take_string(x, val, fpath, check_field_path, "expected a path");
                    if (name && p) {
                        db->fields[db->nfields].name = name;
                        db->fields[db->nfields++].path = p;
                    } else {
                        free(name);
                        free(p);
                    }
                }
            }
        }
        n++; /* kept even when broken, so free_value releases it; the load fails anyway */
    }
    *(le_dbconf_t **)field(x->c, d->off) = dbs;
    *(size_t *)field(x->c, d->off2) = n;
}

/* ---- integers, grade cut points and scoring rules ------------------------------------------ */

/* A decimal integer with an optional sign, within lo..hi. P_OK, P_MALFORMED or P_RANGE. */
static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    bool neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    uint64_t u;
    int rc = parse_uint(s, &u);
    if (rc != P_OK) return rc;
    if (u > (uint64_t)INT64_MAX) return P_RANGE;
    int64_t v = neg ? -(int64_t)u : (int64_t)u;
    if (v < lo || v > hi) return P_RANGE;
    *out = v;
    return P_OK;
}

/* Report and return false unless v is an integer within lo..hi. */
static bool take_int(ctx_t *x, const le__ynode_t *v, const char *path, int64_t lo, int64_t hi,
                     int64_t *out) {
    if (!is_text(v)) {
        report(x, v, path, "expected an integer");
        return false;
    }
    int rc = parse_int(v->str, lo, hi, out);
    if (rc == P_MALFORMED) report(x, v, path, "expected an integer");
    if (rc == P_RANGE)
        report(x, v, path, "must be between %lld and %lld", (long long)lo, (long long)hi);
    return rc == P_OK;
}

static void set_int(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    int64_t n;
    if (take_int(x, v, path, (int64_t)d->min, (int64_t)d->max, &n))
        *(int32_t *)field(x->c, d->off) = (int32_t)n;
}

/* Grade cut points: a list of three integers, highest first ([40, 25, 10]); a default is
 * written "40,25,10". */
static void set_cuts(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    int64_t cut[3];
    const char *expect = "expected three integers, highest first, such as [40, 25, 10]";
    if (v->kind == LE__YSCALAR && !v->null) { /* the table's default */
        long long a, b, c;
        if (sscanf(v->str, "%lld,%lld,%lld", &a, &b, &c) != 3) {
            report(x, v, path, "%s", expect);
            return;
        }
        cut[0] = a, cut[1] = b, cut[2] = c;
    } else if (v->kind != LE__YSEQ || v->n != 3) {
        report(x, v, path, "%s", expect);
        return;
    } else {
        char ipath[200];
        for (size_t i = 0; i < 3; i++) {
            snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
            if (!take_int(x, v->kids[i], ipath, -1000000, 1000000, &cut[i])) return;
        }
    }
    if (!(cut[0] > cut[1] && cut[1] > cut[2])) {
        report(x, v, path, "%s", expect);
        return;
    }
    int32_t *out = field(x->c, d->off);
    for (int i = 0; i < 3; i++) out[i] = (int32_t)cut[i];
}

/* What a `when` key may name. Behaviour rules look at the event; fit rules at who the lead is. */
typedef enum { V_TEXT, V_NUMBER, V_BOOL, V_NAMES } vkind_t;

typedef struct {
    const char *name;
    vkind_t kind;
    const char *const *names; /* V_NAMES: the values allowed */
} condfield_t;

static const char *const network_names[] = {"unknown",   "business",   "government",
                                            "education", "isp",        "cellular",
                                            "hosting",   "anonymiser", NULL};
static const char *const device_names[] = {"other", "desktop", "mobile", "tablet", "bot", NULL};
static const char *const role_names[] = {"unknown", "decider",    "buyer", "influencer",
                                         "user",    "gatekeeper", NULL};
static const char *const domain_kind_names[] = {"business", "freemail", "disposable", NULL};

static const condfield_t behaviour_fields[] = {
    {"event", V_TEXT, NULL},       {"url", V_TEXT, NULL},          {"ref", V_TEXT, NULL},
    {"title", V_TEXT, NULL},       {"form", V_TEXT, NULL},         {"utm_source", V_TEXT, NULL},
    {"utm_medium", V_TEXT, NULL},  {"utm_campaign", V_TEXT, NULL}, {"utm_term", V_TEXT, NULL},
    {"utm_content", V_TEXT, NULL},
};

static const condfield_t fit_fields[] = {
    {"country", V_TEXT, NULL},
    {"region", V_TEXT, NULL},
    {"city", V_TEXT, NULL},
    {"continent", V_TEXT, NULL},
    {"network", V_NAMES, network_names},
    {"company_known", V_BOOL, NULL},
    {"company", V_TEXT, NULL},
    {"domain", V_TEXT, NULL},
    {"asn", V_NUMBER, NULL},
    {"language", V_TEXT, NULL},
    {"device_class", V_NAMES, device_names},
    {"browser", V_TEXT, NULL},
    {"os", V_TEXT, NULL},
    {"connection_type", V_TEXT, NULL},
    {"role", V_NAMES, role_names},
    {"email_domain", V_NAMES, domain_kind_names},
    {"job_title", V_TEXT, NULL},
    {"company_size", V_NUMBER, NULL},
    {"industry", V_TEXT, NULL},
    {"company_match", V_BOOL, NULL},
};

static const char *const route_type_names[] = {"mql", "mqa", NULL};
static const char *const grade_names[] = {"A", "B", "C", "D", NULL};

/* What a route's `when` may name (forward/route.c reads them from the payload). */
static const condfield_t route_fields[] = {
    {"type", V_NAMES, route_type_names},
    {"country", V_TEXT, NULL},
    {"region", V_TEXT, NULL},
    {"city", V_TEXT, NULL},
    {"continent", V_TEXT, NULL},
    {"network", V_NAMES, network_names},
    {"company", V_TEXT, NULL},
    {"company_key", V_TEXT, NULL},
    {"domain", V_TEXT, NULL},
    {"company_size", V_NUMBER, NULL},
    {"industry", V_TEXT, NULL},
    {"role", V_NAMES, role_names},
    {"job_title", V_TEXT, NULL},
    {"email_domain", V_NAMES, domain_kind_names},
    {"behaviour", V_NUMBER, NULL},
    {"fit", V_NUMBER, NULL},
    {"grade", V_NAMES, grade_names},
    {"band", V_NUMBER, NULL},
    {"page", V_TEXT, NULL},
};

/* Whose `when` a condition is in. */
typedef enum { W_BEHAVIOUR, W_FIT, W_ROUTE } when_kind_t;

/* The field a `when` key names; prop.<name> (behaviour) is any custom prop. */
static const condfield_t *cond_field(when_kind_t kind, const char *k, size_t len) {
    static const condfield_t prop = {"prop.", V_TEXT, NULL};
    const condfield_t *f = kind == W_FIT     ? fit_fields
                           : kind == W_ROUTE ? route_fields
                                             : behaviour_fields;
    size_t n = kind == W_FIT     ? LE_ARRAY_SIZE(fit_fields)
               : kind == W_ROUTE ? LE_ARRAY_SIZE(route_fields)
                                 : LE_ARRAY_SIZE(behaviour_fields);
    for (size_t i = 0; i < n; i++)
        if (strlen(f[i].name) == len && memcmp(f[i].name, k, len) == 0) return &f[i];
    if (kind == W_BEHAVIOUR && len > 5 && memcmp(k, "prop.", 5) == 0) return &prop;
    return NULL;
}

static bool has_glob(const char *s) {
    return strpbrk(s, "*?[") != NULL;
}

/* One `when` entry: a value, a list of values, {regex: ...} or {min: .., max: ..}. */
static bool set_cond(ctx_t *x, const condfield_t *f, const le__ynode_t *key, const le__ynode_t *v,
                     const char *path, le_condconf_t *c) {
    char ipath[400];
    c->field = le_xstrndup(key->str, key->len);
    c->line = v->line;
    c->col = v->col;
    if (v->kind == LE__YMAP) {
        bool range = false, regex = false, ok = true;
        c->min = INT64_MIN;
        c->max = INT64_MAX;
        for (size_t k = 0; k + 1 < v->n; k += 2) {
            const le__ynode_t *mk = v->kids[k], *mv = v->kids[k + 1];
            char shown[MAX_KEY + 4];
            show_key(shown, mk->str, mk->kind == LE__YSCALAR ? mk->len : 0);
            snprintf(ipath, sizeof(ipath), "%s.%s", path, shown);
            if (f->kind == V_TEXT && mk->kind == LE__YSCALAR && strcmp(mk->str, "regex") == 0) {
                const le__ynode_t *items = mv;
                size_t n = mv->kind == LE__YSEQ ? mv->n : 1;
                c->values = le_xcalloc(n, sizeof(char *));
                for (size_t i = 0; i < n; i++) {
                    const le__ynode_t *it = mv->kind == LE__YSEQ ? items->kids[i] : mv;
                    char *s = take_string(x, it, ipath, NULL, "expected a regular expression");
                    if (!s) return false;
                    c->values[c->nvalues++] = s;
                }
                regex = true;
            } else if (f->kind == V_NUMBER && mk->kind == LE__YSCALAR &&
                       (strcmp(mk->str, "min") == 0 || strcmp(mk->str, "max") == 0)) {
                int64_t n;
                if (!take_int(x, mv, ipath, INT64_MIN + 1, INT64_MAX, &n)) return false;
                *(mk->str[1] == 'i' ? &c->min : &c->max) = n;
                range = true;
            } else {
                report(x, mk, ipath, "unknown key \"%s\" (expected %s)", shown,
                       f->kind == V_NUMBER ? "min or max" : "regex");
                ok = false;
            }
        }
        if (!ok) return false;
        if (!range && !regex) {
            report(x, v, path, "expected %s", f->kind == V_NUMBER ? "min or max" : "regex");
            return false;
        }
        if (range && c->min > c->max) {
            report(x, v, path, "min must not exceed max");
            return false;
        }
        c->op = regex ? LE_COND_REGEX : LE_COND_RANGE;
        return true;
    }
    size_t n = v->kind == LE__YSEQ ? v->n : 1;
    if (n == 0) {
        report(x, v, path, "expected at least one value");
        return false;
    }
    c->values = le_xcalloc(n, sizeof(char *));
    bool glob = false;
    for (size_t i = 0; i < n; i++) {
        const le__ynode_t *it = v->kind == LE__YSEQ ? v->kids[i] : v;
        if (v->kind == LE__YSEQ)
            snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        else
            snprintf(ipath, sizeof(ipath), "%s", path);
        char *s = take_string(x, it, ipath, NULL, "expected a value or a list of values");
        if (!s) return false;
        c->values[c->nvalues++] = s;
        if (f->kind == V_BOOL) {
            bool b;
            if (parse_bool(s, &b) != P_OK || n != 1) {
                report(x, it, ipath, "expected true or false");
                return false;
            }
            strcpy(s, b ? "true" : "false");
        } else if (f->kind == V_NUMBER) {
            int64_t num;
            if (parse_int(s, INT64_MIN + 1, INT64_MAX, &num) != P_OK) {
                report(x, it, ipath, "expected an integer or {min: .., max: ..}");
                return false;
            }
        } else if (f->kind == V_NAMES) {
            bool known = false;
            for (size_t j = 0; f->names[j] && !known; j++) known = strcmp(f->names[j], s) == 0;
            if (!known) {
                char list[200];
                size_t m = 0;
                for (size_t j = 0; f->names[j]; j++)
                    m += (size_t)snprintf(list + m, sizeof(list) - m, "%s%s", j ? ", " : "",
                                          f->names[j]);
                report(x, it, ipath, "expected one of: %s", list);
                return false;
            }
        } else if (has_glob(s)) {
            glob = true;
        }
    }
    c->op = glob ? LE_COND_GLOB : LE_COND_EQ;
    return true;
}

/* The conditions of a `when` map (not empty) into *out / *n: each key a field of kind, no key
 * twice. */
static void set_when(ctx_t *x, when_kind_t kind, const le__ynode_t *when, const char *ipath,
                     le_condconf_t **out, size_t *n) {
    static const char *const hints[] = {
        [W_BEHAVIOUR] = "behaviour rules look at event, url, ref, title, form, utm_source, "
                        "utm_medium, utm_campaign, utm_term, utm_content, prop.<name>",
        [W_FIT] = "fit rules look at country, region, city, continent, network, company_known, "
                  "company, domain, asn, language, device_class, browser, os, connection_type, "
                  "role, email_domain, job_title, company_size, industry, company_match",
        [W_ROUTE] = "routes look at type, country, region, city, continent, network, company, "
                    "company_key, domain, company_size, industry, role, job_title, email_domain, "
                    "behaviour, fit, grade, band, page",
    };
    char kpath[300];
    *out = le_xcalloc(when->n / 2, sizeof(**out));
    for (size_t k = 0; k + 1 < when->n; k += 2) {
        const le__ynode_t *key = when->kids[k], *val = when->kids[k + 1];
        char shown[MAX_KEY + 4];
        show_key(shown, key->str, key->kind == LE__YSCALAR ? key->len : 0);
        snprintf(kpath, sizeof(kpath), "%s.when.%s", ipath, shown);
        const condfield_t *f =
            key->kind == LE__YSCALAR ? cond_field(kind, key->str, key->len) : NULL;
        if (!f) {
            report(x, key, kpath, "unknown condition \"%s\" (%s)", shown, hints[kind]);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < *n; j++) dup = dup || strcmp((*out)[j].field, key->str) == 0;
        if (dup) {
            report(x, key, kpath, "duplicate condition \"%s\"", shown);
            continue;
        }
        set_cond(x, f, key, val, kpath, &(*out)[(*n)++]);
    }
}

static void set_rule(ctx_t *x, bool fit, const le__ynode_t *it, const char *ipath,
                     le_ruleconf_t *r) {
    char kpath[300];
    const le__ynode_t *when = NULL, *points = NULL;
    r->line = it->line;
    r->col = it->col;
    for (size_t k = 0; k + 1 < it->n; k += 2) {
        const le__ynode_t *key = it->kids[k], *val = it->kids[k + 1];
        char shown[MAX_KEY + 4];
        show_key(shown, key->str, key->kind == LE__YSCALAR ? key->len : 0);
        snprintf(kpath, sizeof(kpath), "%s.%s", ipath, shown);
        const char *kn = key->kind == LE__YSCALAR ? key->str : "";
        int64_t n;
        if (strcmp(kn, "name") == 0) {
            free(r->name);
            r->name = take_string(x, val, kpath, NULL, "expected a name");
        } else if (strcmp(kn, "when") == 0) {
            when = val;
        } else if (strcmp(kn, "points") == 0) {
            points = val;
            if (take_int(x, val, kpath, -100000, 100000, &n)) r->points = (int32_t)n;
        } else if (!fit && strcmp(kn, "once") == 0) {
            bool b;
            if (!is_text(val) || parse_bool(val->str, &b) != P_OK)
                report(x, val, kpath, "expected true or false");
            else
                r->once = b;
        } else if (!fit && strcmp(kn, "max_per_day") == 0) {
            if (take_int(x, val, kpath, 1, 100000, &n)) r->max_per_day = (uint32_t)n;
        } else {
            report(x, key, kpath, "unknown key \"%s\" (expected name, when, points%s)", shown,
                   fit ? "" : ", once or max_per_day");
        }
    }
    if (!r->name) report(x, it, ipath, "missing name");
    if (!points) report(x, it, ipath, "missing points");
    if (r->once && r->max_per_day) report(x, it, ipath, "once and max_per_day exclude each other");
    if (!when || when->kind != LE__YMAP || when->n == 0) {
        report(x, when ? when : it, ipath, "expected when: with at least one condition");
        return;
    }
    set_when(x, fit ? W_FIT : W_BEHAVIOUR, when, ipath, &r->when, &r->nwhen);
}

/* The list at v for a setter: false (reported unless null, which means an empty list) when it
 * is null, not a list, or longer than max. */
static bool take_list(ctx_t *x, const le__ynode_t *v, const char *path, const char *what,
                      size_t max) {
    if (v->kind == LE__YSCALAR && v->null) return false;
    if (v->kind != LE__YSEQ) {
        report(x, v, path, "expected a list of %s", what);
        return false;
    }
    if (v->n > max) {
        report(x, v, path, "at most %zu %s", max, what);
        return false;
    }
    return true;
}

static void set_rules(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    char ipath[200];
    le_rulelist_t *l = field(x->c, d->off);
    le__free_rules(l);
    if (!take_list(x, v, path, "rules", 1000)) return;
    l->items = le_xcalloc(v->n ? v->n : 1, sizeof(*l->items));
    for (size_t i = 0; i < v->n; i++) {
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        le_ruleconf_t *r = &l->items[l->n++]; /* kept even when broken, for free */
        if (v->kids[i]->kind != LE__YMAP) {
            report(x, v->kids[i], ipath, "expected a rule: a map with name, when and points");
            continue;
        }
        set_rule(x, (d->flags & F_FIT) != 0, v->kids[i], ipath, r);
        for (size_t j = 0; j + 1 < l->n && r->name; j++)
            if (l->items[j].name && strcmp(l->items[j].name, r->name) == 0)
                report(x, v->kids[i], ipath, "duplicate rule name \"%s\"", r->name);
    }
}

/* ---- CRM endpoints and routes --------------------------------------------------------------- */

/* Report and return false unless v is a duration within lo..hi ms. */
static bool take_duration(ctx_t *x, const le__ynode_t *v, const char *path, uint64_t lo,
                          uint64_t hi, uint64_t *ms) {
    char a[32], b[32];
    if (!is_text(v) || parse_duration(v->str, ms) == P_MALFORMED) {
        report(x, v, path, "expected a duration such as 10s");
        return false;
    }
    if (parse_duration(v->str, ms) != P_OK || *ms < lo || *ms > hi) {
        fmt_duration(a, sizeof(a), lo);
        fmt_duration(b, sizeof(b), hi);
        report(x, v, path, "must be between %s and %s", a, b);
        return false;
    }
    return true;
}

static bool take_bool(ctx_t *x, const le__ynode_t *v, const char *path, bool *out) {
    if (!is_text(v) || parse_bool(v->str, out) != P_OK) {
        report(x, v, path, "expected true or false");
        return false;
    }
    return true;
}

/* Endpoint and route names: what logs, metrics labels and references show. */
static const char *check_name(char *s, size_t len) {
    if (len > 64) return "at most 64 characters";
    for (size_t i = 0; i < len; i++)
        if (!(is_alnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return "expected a name of letters, digits, '-', '_' and '.'";
    return NULL;
}

/* An HTTP header name (RFC 9110 token) that leadedge does not set itself. */
static const char *check_header_name(char *s, size_t len) {
    static const char *const own[] = {"host",       "content-length",     "content-type",
                                      "connection", "transfer-encoding",  "te",
                                      "upgrade",    "leadedge-signature", "idempotency-key",
                                      "user-agent", "keep-alive",         "trailer"};
    for (size_t i = 0; i < len; i++)
        if (!(is_alnum((unsigned char)s[i]) || strchr("!#$%&'*+-.^_`|~", s[i])))
            return "expected a header name such as X-Api-Key";
    for (size_t i = 0; i < LE_ARRAY_SIZE(own); i++)
        if (strcasecmp(s, own[i]) == 0) return "leadedge sets this header itself";
    return NULL;
}

static const char *check_secret(char *s, size_t len) {
    (void)s;
    return len < 16 ? "must be at least 16 characters" : NULL;
}

/* A dotted path into the payload ("lead.email", "journey.0.url"), or "=text" (a literal). */
static const char *check_payload_path(char *s, size_t len) {
    if (s[0] == '=') return NULL;
    if (len > 256) return "at most 256 bytes";
    size_t depth = 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') depth++;
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f) return "must not contain spaces";
    }
    if (depth > 16) return "at most 16 levels";
    return check_field_path(s, len) ? "expected a dotted path such as lead.email" : NULL;
}

/* A name: value map into pairs. */
static void take_pairs(ctx_t *x, const le__ynode_t *v, const char *path, check_fn *kcheck,
                       check_fn *vcheck, const char *expect, le_kvconf_t **out, size_t *n) {
    if (v->kind == LE__YSCALAR && v->null) return;
    if (v->kind != LE__YMAP) {
        report(x, v, path, "%s", expect);
        return;
    }
    *out = le_xcalloc(v->n / 2 + 1, sizeof(**out));
    for (size_t k = 0; k + 1 < v->n; k += 2) {
        const le__ynode_t *key = v->kids[k], *val = v->kids[k + 1];
        char shown[MAX_KEY + 4], kpath[400];
        show_key(shown, key->str, key->kind == LE__YSCALAR ? key->len : 0);
        snprintf(kpath, sizeof(kpath), "%s.%s", path, shown);
        char *name = take_string(x, key, kpath, kcheck, expect);
        char *value = take_string(x, val, kpath, vcheck, expect);
        for (size_t j = 0; name && j < *n; j++)
            if (strcasecmp((*out)[j].name, name) == 0) {
                report(x, key, kpath, "duplicate \"%s\"", shown);
                free(name), name = NULL;
            }
        if (name && value) {
            (*out)[*n].name = name;
            (*out)[(*n)++].value = value;
        } else {
            free(name);
            free(value);
        }
    }
}

static void free_pairs(le_kvconf_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

static void free_endpoints(le_config_t *c, const directive_t *d) {
    le_endpointconf_t *e = *(le_endpointconf_t **)field(c, d->off);
    size_t n = *(size_t *)field(c, d->off2);
    for (size_t i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].url);
        free(e[i].ca_file);
        free_pairs(e[i].headers, e[i].nheaders);
        free_pairs(e[i].field_map, e[i].nfield_map);
        free_strlist(&e[i].secrets);
    }
    free(e);
    *(le_endpointconf_t **)field(c, d->off) = NULL;
    *(size_t *)field(c, d->off2) = 0;
}

static void set_endpoint(ctx_t *x, const le__ynode_t *it, const char *ipath, le_endpointconf_t *e) {
    char kpath[300];
    e->timeout_ms = 10000;
    e->concurrency = 4;
    e->keep_unmapped = true;
    bool reported = false;
    for (size_t k = 0; k + 1 < it->n; k += 2) {
        const le__ynode_t *key = it->kids[k], *val = it->kids[k + 1];
        char shown[MAX_KEY + 4];
        show_key(shown, key->str, key->kind == LE__YSCALAR ? key->len : 0);
        snprintf(kpath, sizeof(kpath), "%s.%s", ipath, shown);
        const char *kn = key->kind == LE__YSCALAR ? key->str : "";
        int before = x->nerr;
        uint64_t ms;
        int64_t n;
        if (strcmp(kn, "name") == 0) {
            free(e->name);
            e->name = take_string(x, val, kpath, check_name, "expected a name");
        } else if (strcmp(kn, "url") == 0) {
            free(e->url);
            e->url = take_string(x, val, kpath, check_url, "expected a URL");
        } else if (strcmp(kn, "secret") == 0 || strcmp(kn, "secrets") == 0) {
            free_strlist(&e->secrets);
            size_t m = val->kind == LE__YSEQ ? val->n : 1;
            e->secrets.items = le_xcalloc(m + 1, sizeof(char *));
            for (size_t i = 0; i < m; i++) {
                char spath[340];
                snprintf(spath, sizeof(spath), "%s[%zu]", kpath, i);
                char *sec = take_string(x, val->kind == LE__YSEQ ? val->kids[i] : val,
                                        val->kind == LE__YSEQ ? spath : kpath, check_secret,
                                        "expected a secret or a list of secrets, newest first");
                if (sec) e->secrets.items[e->secrets.n++] = sec;
            }
            if (m == 0) report(x, val, kpath, "expected at least one secret");
        } else if (strcmp(kn, "headers") == 0) {
            take_pairs(x, val, kpath, check_header_name, NULL, "expected a map of header: value",
                       &e->headers, &e->nheaders);
        } else if (strcmp(kn, "timeout") == 0) {
            if (take_duration(x, val, kpath, 100, 5 * MINUTE, &ms)) e->timeout_ms = (uint32_t)ms;
        } else if (strcmp(kn, "concurrency") == 0) {
            if (take_int(x, val, kpath, 1, 64, &n)) e->concurrency = (uint32_t)n;
        } else if (strcmp(kn, "ca_file") == 0) {
            free(e->ca_file);
            e->ca_file = take_string(x, val, kpath, NULL, "expected a path to a PEM file");
        } else if (strcmp(kn, "field_map") == 0) {
            take_pairs(x, val, kpath, check_payload_path, check_payload_path,
                       "expected a map of output path: payload path", &e->field_map,
                       &e->nfield_map);
        } else if (strcmp(kn, "keep_unmapped") == 0) {
            take_bool(x, val, kpath, &e->keep_unmapped);
        } else {
            report(x, key, kpath,
                   "unknown key \"%s\" (expected name, url, secrets, headers, timeout, "
                   "concurrency, ca_file, field_map or keep_unmapped)",
                   shown);
        }
        reported = reported || x->nerr != before;
    }
    if (reported) return;
    if (!e->name) report(x, it, ipath, "missing name");
    if (!e->url) report(x, it, ipath, "missing url");
    if (!e->secrets.n) report(x, it, ipath, "missing secrets (the webhooks are signed)");
}

static void set_endpoints(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    char ipath[200];
    free_endpoints(x->c, d);
    if (!take_list(x, v, path, "endpoints", 64)) return;
    le_endpointconf_t *eps = le_xcalloc(v->n + 1, sizeof(*eps));
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) {
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        le_endpointconf_t *e = &eps[n++]; /* kept even when broken, for free */
        if (v->kids[i]->kind != LE__YMAP) {
            report(x, v->kids[i], ipath, "expected an endpoint: a map with name, url and secrets");
            continue;
        }
        set_endpoint(x, v->kids[i], ipath, e);
        for (size_t j = 0; j + 1 < n && e->name; j++)
            if (eps[j].name && strcmp(eps[j].name, e->name) == 0)
                report(x, v->kids[i], ipath, "duplicate endpoint name \"%s\"", e->name);
    }
    *(le_endpointconf_t **)field(x->c, d->off) = eps;
    *(size_t *)field(x->c, d->off2) = n;
}

static void free_routes(le_config_t *c, const directive_t *d) {
    le_routeconf_t *r = *(le_routeconf_t **)field(c, d->off);
    size_t n = *(size_t *)field(c, d->off2);
    for (size_t i = 0; i < n; i++) {
        free_conds(r[i].when, r[i].nwhen);
        free(r[i].name);
        free(r[i].endpoint);
        free(r[i].team);
        free(r[i].owner);
        free(r[i].queue);
    }
    free(r);
    *(le_routeconf_t **)field(c, d->off) = NULL;
    *(size_t *)field(c, d->off2) = 0;
}

static void set_route(ctx_t *x, const le__ynode_t *it, const char *ipath, le_routeconf_t *r) {
    char kpath[300];
    const le__ynode_t *when = NULL;
    r->line = it->line;
    r->col = it->col;
    for (size_t k = 0; k + 1 < it->n; k += 2) {
        const le__ynode_t *key = it->kids[k], *val = it->kids[k + 1];
        char shown[MAX_KEY + 4];
        show_key(shown, key->str, key->kind == LE__YSCALAR ? key->len : 0);
        snprintf(kpath, sizeof(kpath), "%s.%s", ipath, shown);
        const char *kn = key->kind == LE__YSCALAR ? key->str : "";
        char **slot = strcmp(kn, "name") == 0       ? &r->name
                      : strcmp(kn, "endpoint") == 0 ? &r->endpoint
                      : strcmp(kn, "team") == 0     ? &r->team
                      : strcmp(kn, "owner") == 0    ? &r->owner
                      : strcmp(kn, "queue") == 0    ? &r->queue
                                                    : NULL;
        if (slot) {
            free(*slot);
            *slot = take_string(x, val, kpath,
                                slot == &r->name || slot == &r->endpoint ? check_name : NULL,
                                "expected a string");
        } else if (strcmp(kn, "when") == 0) {
            when = val;
        } else {
            report(x, key, kpath,
                   "unknown key \"%s\" (expected name, when, endpoint, team, owner or queue)",
                   shown);
        }
    }
    if (!r->name) report(x, it, ipath, "missing name");
    if (!when || (when->kind == LE__YSCALAR && when->null)) return; /* a default route */
    if (when->kind != LE__YMAP || when->n == 0) {
        report(x, when, ipath, "expected when: with at least one condition, or no when");
        return;
    }
    set_when(x, W_ROUTE, when, ipath, &r->when, &r->nwhen);
}

static void set_routes(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    char ipath[200];
    free_routes(x->c, d);
    if (!take_list(x, v, path, "routes", 1000)) return;
    le_routeconf_t *rs = le_xcalloc(v->n + 1, sizeof(*rs));
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) {
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        le_routeconf_t *r = &rs[n++];
        if (v->kids[i]->kind != LE__YMAP) {
            report(x, v->kids[i], ipath, "expected a route: a map with name, when and endpoint");
            continue;
        }
        set_route(x, v->kids[i], ipath, r);
        for (size_t j = 0; j + 1 < n && r->name; j++)
            if (rs[j].name && strcmp(rs[j].name, r->name) == 0)
                report(x, v->kids[i], ipath, "duplicate route name \"%s\"", r->name);
    }
    *(le_routeconf_t **)field(x->c, d->off) = rs;
    *(size_t *)field(x->c, d->off2) = n;
}

static void set_listen(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    char host[LE_LISTEN_HOST_MAX];
    uint16_t port;
    const char *msg;
    char *s = take_string(x, v, path, NULL, LISTEN_EXPECT);
    if (!s) return;
    if ((msg = le__listen_parse(s, host, &port))) {
        report(x, v, path, "%s", msg);
        free(s);
        return;
    }
    put_str(x->c, d->off, s);
    if (d->off2) {
        put_str(x->c, d->off2, le_xstrdup(host));
        *(uint16_t *)field(x->c, d->off3) = port;
    }
}

static void set_value(ctx_t *x, const directive_t *d, const le__ynode_t *v, const char *path) {
    switch (d->type) {
        case T_STR:
            if (v->kind == LE__YSCALAR && v->null && (d->flags & F_OPTIONAL)) {
                put_str(x->c, d->off, NULL);
            } else {
                char *s = take_string(x, v, path, d->check, "expected a string");
                if (s) put_str(x->c, d->off, s);
            }
            break;
        case T_BOOL: {
            bool b;
            if (!is_text(v) || parse_bool(v->str, &b) != P_OK)
                report(x, v, path, "expected true or false");
            else
                *(bool *)field(x->c, d->off) = b;
            break;
        }
        case T_UINT:
        case T_SIZE:
        case T_DUR:
        case T_WORKERS:
            set_number(x, d, v, path);
            break;
        case T_ENUM:
            set_enum(x, d, v, path);
            break;
        case T_STRLIST:
        case T_CIDRLIST:
            set_list(x, d, v, path);
            break;
        case T_LISTEN:
            set_listen(x, d, v, path);
            break;
        case T_DBLIST:
            set_dblist(x, d, v, path);
            break;
        case T_INT:
            set_int(x, d, v, path);
            break;
        case T_CUTS:
            set_cuts(x, d, v, path);
            break;
        case T_RULES:
            set_rules(x, d, v, path);
            break;
        case T_ENDPOINTS:
            set_endpoints(x, d, v, path);
            break;
        case T_ROUTES:
            set_routes(x, d, v, path);
            break;
    }
}

/* ---- walking the document ----------------------------------------------------------------- */

static const directive_t *find(const char *name, size_t len) {
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0) return &table[i];
    return NULL;
}

static bool is_section(const char *name, size_t len) {
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(table[i].name, name, len) == 0 && table[i].name[len] == '.') return true;
    return false;
}

static size_t levenshtein(const char *a, size_t la, const char *b, size_t lb) {
    size_t row[MAX_KEY + 1];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The known key under prefix closest to key: the smallest Levenshtein distance if it is at most 2
 * (and less than the key's length), else the first name that shares a prefix of at least three
 * bytes with the key (one being a prefix of the other). NULL when nothing is close; the name is
 * written into out. */
static const char *suggest(const char *prefix, size_t plen, const char *key, size_t klen, char *out,
                           size_t cap) {
    size_t best = 3;
    const char *near = NULL, *pre = NULL;
    size_t near_len = 0, pre_len = 0;
    if (klen > MAX_KEY) return NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        const char *name = table[i].name;
        if (plen && (strncmp(name, prefix, plen) != 0 || name[plen] != '.')) continue;
        const char *c = plen ? name + plen + 1 : name;
        size_t clen = strcspn(c, ".");
        if (clen > MAX_KEY) continue;
        size_t dist = levenshtein(key, klen, c, clen);
        if (dist < best && dist < klen) {
            best = dist;
            near = c;
            near_len = clen;
        }
        if (!pre && klen >= 3 && clen >= 3 && memcmp(key, c, LE_MIN(klen, clen)) == 0) {
            pre = c;
            pre_len = clen;
        }
    }
    if (!near) near = pre, near_len = pre_len;
    if (!near) return NULL;
    snprintf(out, cap, "%.*s", (int)near_len, near);
    return out;
}

static void walk(ctx_t *x, const le__ynode_t *map, const char *prefix) {
    size_t plen = strlen(prefix);
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const le__ynode_t *k = map->kids[i], *v = map->kids[i + 1];
        char shown[MAX_KEY + 4], path[MAX_KEY + 64], near[MAX_KEY + 1];
        bool dup = false;

        if (k->kind != LE__YSCALAR) {
            report(x, k, plen ? prefix : "top level", "keys must be strings");
            continue;
        }
        show_key(shown, k->str, k->len);
        snprintf(path, sizeof(path), "%s%s%s", prefix, plen ? "." : "", shown);
        for (size_t j = 0; j < i && !dup; j += 2) {
            const le__ynode_t *o = map->kids[j];
            dup = o->kind == LE__YSCALAR && o->len == k->len && memcmp(o->str, k->str, k->len) == 0;
        }
        if (dup) {
            report(x, k, path, "duplicate key \"%s\"", shown);
            continue;
        }

        size_t len = strlen(path);
        bool plain = plain_key(k);
        const directive_t *d = plain ? find(path, len) : NULL;
        if (d) {
            int before = x->nerr;
            x->node[d - table] = v;
            set_value(x, d, v, path);
            x->state[d - table] = x->nerr == before ? SET_OK : SET_BAD;
        } else if (plain && is_section(path, len)) {
            if (v->kind == LE__YMAP)
                walk(x, v, path);
            else if (!(v->kind == LE__YSCALAR && v->null))
                report(x, v, path, "expected a mapping");
        } else if (suggest(prefix, plen, k->str, k->len, near, sizeof(near))) {
            report(x, k, path, "unknown key \"%s\" (did you mean \"%s\"?)", shown, near);
        } else {
            report(x, k, path, "unknown key \"%s\"", shown);
        }
    }
}

/* ---- checks across keys ------------------------------------------------------------------- */

static size_t key_index(const char *name) {
    const directive_t *d = find(name, strlen(name));
    if (!d) abort(); /* a typo in this file */
    return (size_t)(d - table);
}

/* Ports equal and hosts equal, or either host a wildcard: the second bind would fail. */
static bool listen_clash(const char *a, const char *b) {
    char ha[LE_LISTEN_HOST_MAX], hb[LE_LISTEN_HOST_MAX];
    uint16_t pa, pb;
    le_cidr_t ca, cb;
    static const uint8_t zero[16];
    if (le_listen_parse(a, ha, &pa) || le_listen_parse(b, hb, &pb) || pa != pb || pa == 0)
        return false;
    if (le_cidr_parse(ha, &ca) || le_cidr_parse(hb, &cb)) return false;
    size_t la = ca.family == AF_INET ? 4 : 16, lb = cb.family == AF_INET ? 4 : 16;
    if (memcmp(ca.addr, zero, la) == 0 || memcmp(cb.addr, zero, lb) == 0) return true;
    return ca.family == cb.family && memcmp(ca.addr, cb.addr, la) == 0;
}

/* Routes name endpoints that exist; with routes there is a default; the escalation route
 * exists; the backoff base is below its cap. */
static void crm_checks(ctx_t *x) {
    le_config_t *c = x->c;
    size_t eps = key_index("crm.endpoints"), routes = key_index("routing.routes"),
           esc = key_index("sla.escalation_route"), base = key_index("crm.retry.base"),
           cap = key_index("crm.retry.cap");
    if (x->state[eps] == SET_BAD || x->state[routes] == SET_BAD) return;
    bool dflt = false;
    for (size_t i = 0; i < c->routing.nroutes; i++) {
        const le_routeconf_t *r = &c->routing.routes[i];
        char path[64];
        snprintf(path, sizeof(path), "routing.routes[%zu]", i);
        le__ynode_t at = {.line = r->line, .col = r->col};
        bool found = false;
        for (size_t j = 0; r->endpoint && j < c->crm.nendpoints; j++)
            found = found || strcmp(c->crm.endpoints[j].name, r->endpoint) == 0;
        if (!r->endpoint)
            report(x, &at, path, "missing endpoint");
        else if (!found)
            report(x, &at, path, "endpoint \"%s\" is not one of crm.endpoints", r->endpoint);
        dflt = dflt || r->nwhen == 0;
    }
    if (c->routing.nroutes && !dflt)
        report(x, x->node[routes], "routing.routes",
               "needs a default route: one without when, taking every lead the others do not");
    if (x->state[esc] == SET_OK && c->sla.escalation_route) {
        bool found = false;
        for (size_t i = 0; i < c->routing.nroutes; i++)
            found = found || strcmp(c->routing.routes[i].name, c->sla.escalation_route) == 0;
        if (!found)
            report(x, x->node[esc], "sla.escalation_route", "\"%s\" is not one of routing.routes",
                   c->sla.escalation_route);
    }
    if (x->state[base] != SET_BAD && x->state[cap] != SET_BAD &&
        c->crm.retry.base_ms > c->crm.retry.cap_ms)
        report(x, x->node[x->state[base] == SET_OK ? base : cap],
               x->state[base] == SET_OK ? "crm.retry.base" : "crm.retry.cap",
               "the backoff base must not exceed its cap");
}

static void cross_checks(ctx_t *x) {
    le_config_t *c = x->c;
    size_t same_site = key_index("tracking.cookie.same_site"),
           secure = key_index("tracking.cookie.secure"), name = key_index("tracking.cookie.name"),
           domain = key_index("tracking.cookie.domain"),
           cvalue = key_index("privacy.consent_cookie_value"),
           ccookie = key_index("privacy.consent_cookie"), slisten = key_index("server.listen"),
           alisten = key_index("admin.listen");

    /* Browsers drop SameSite=None cookies that are not Secure. Unwritten, secure follows; written
     * false, it is a contradiction the user should resolve. */
    if (x->state[same_site] != SET_BAD && x->state[secure] != SET_BAD &&
        c->tracking.cookie.same_site == LE_SAMESITE_NONE && !c->tracking.cookie.secure) {
        if (x->state[secure] == SET_OK)
            report(x, x->node[secure], "tracking.cookie.secure",
                   "must be true when same_site is none");
        else
            c->tracking.cookie.secure = true;
    }
    /* Cookie prefixes (RFC 6265bis): browsers refuse them without Secure, and __Host- with a
     * Domain attribute. */
    if (x->state[name] == SET_OK && x->state[secure] != SET_BAD) {
        const char *n = c->tracking.cookie.name;
        bool host = strncasecmp(n, "__Host-", 7) == 0;
        if ((host || strncasecmp(n, "__Secure-", 9) == 0) && !c->tracking.cookie.secure)
            report(x, x->node[name], "tracking.cookie.name",
                   "a __Secure- or __Host- cookie needs secure: true");
        if (host && c->tracking.cookie.domain && x->state[domain] == SET_OK)
            report(x, x->node[domain], "tracking.cookie.domain",
                   "must be unset for a __Host- cookie");
    }
    if (x->state[cvalue] == SET_OK && c->privacy.consent_cookie_value &&
        x->state[ccookie] != SET_BAD && !c->privacy.consent_cookie)
        report(x, x->node[cvalue], "privacy.consent_cookie_value",
               "needs privacy.consent_cookie to be set");
    crm_checks(x);
    if (x->state[slisten] != SET_BAD && x->state[alisten] != SET_BAD &&
        (x->state[slisten] == SET_OK || x->state[alisten] == SET_OK) &&
        listen_clash(c->server.listen, c->admin.listen)) {
        if (x->state[alisten] == SET_OK)
            report(x, x->node[alisten], "admin.listen", "must differ from server.listen (%s)",
                   c->server.listen);
        else
            report(x, x->node[slisten], "server.listen", "must differ from admin.listen (%s)",
                   c->admin.listen);
    }
}

/* ---- load --------------------------------------------------------------------------------- */

static void free_config(le_config_t *c) {
    for (size_t i = 0; i < NKEYS; i++) free_value(c, &table[i]);
    free(c->path);
    free(c);
}

/* Every default goes through the same parser as a user's value: a default that does not pass its
 * own bounds is a bug in the table and aborts at the first load. */
static void apply_defaults(le_config_t *c) {
    ctx_t x = {.file = "<default>", .c = c};
    for (size_t i = 0; i < NKEYS; i++) {
        const directive_t *d = &table[i];
        uint64_t max = d->type == T_DUR && (d->flags & F_SECONDS) ? d->max / SEC : d->max;
        if ((d->type == T_UINT || d->type == T_SIZE || d->type == T_DUR) && d->size < 8 &&
            max >> (8 * d->size)) {
            fprintf(stderr, "leadedge: config.c: %s: bound too big for its field\n", d->name);
            abort();
        }
        if (d->type == T_ENUM && d->size != sizeof(int)) {
            fprintf(stderr, "leadedge: config.c: %s: an enum field must be int-sized\n", d->name);
            abort();
        }
        if (!d->def) continue;
        le__ynode_t n = {.kind = LE__YSCALAR, .str = d->def, .len = strlen(d->def)};
        set_value(&x, d, &n, d->name);
    }
    if (x.nerr) {
        fprintf(stderr, "leadedge: config.c: a default in the directive table is invalid\n");
        abort();
    }
}

int le_config_load_string(const char *name, const char *yaml, size_t len, le_config_t **out,
                          le_buf_t *errors) {
    char first[4096];
    le_arena_t a;
    le__ynode_t *root = NULL;
    le__yerror_t ye;
    le_config_t *c = le_xcalloc(1, sizeof(*c));
    ctx_t x = {.file = name ? name : "<string>", .errors = errors, .c = c};
    int rc = 0;

    *out = NULL;
    atomic_init(&c->refs, 1);
    c->path = le_xstrdup(x.file);
    apply_defaults(c);

    le_arena_init(&a, first, sizeof(first));
    if (le__yaml_parse(&a, yaml ? yaml : "", yaml ? len : 0, &root, &ye) != 0) {
        if (errors) le_buf_printf(errors, "%s:%u:%u: %s\n", x.file, ye.line, ye.col, ye.msg);
        rc = LE_EINVAL;
        goto done;
    }
    if (root && root->kind == LE__YMAP)
        walk(&x, root, "");
    else if (root && !(root->kind == LE__YSCALAR && root->null))
        report(&x, root, "top level", "expected a mapping");
    cross_checks(&x);
    if (x.nerr) rc = LE_EINVAL;

done:
    le_arena_free(&a);
    if (rc)
        free_config(c);
    else
        *out = c;
    return rc;
}

int le_config_load(const char *path, le_config_t **out, le_buf_t *errors) {
    le_buf_t data = LE_BUF_INIT;
    int fd = -1, rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    for (;;) {
        le_buf_reserve(&data, 64 * 1024);
        ssize_t n = read(fd, data.data + data.len, data.cap - data.len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = -errno;
            goto fail;
        }
        if (n == 0) break;
        data.len += (size_t)n;
        if (data.len > MAX_FILE) {
            rc = -EFBIG;
            goto fail;
        }
    }
    close(fd);
    rc = le_config_load_string(path, data.data, data.len, out, errors);
    le_buf_free(&data);
    return rc;

fail:
    if (errors) {
        char eb[128];
        le_buf_printf(errors, "%s: cannot read: %s\n", path, strerror_r(-rc, eb, sizeof(eb)));
    }
    if (fd >= 0) close(fd);
    le_buf_free(&data);
    return rc;
}

le_config_t *le_config_default(void) {
    le_config_t *c;
    if (le_config_load_string("<default>", "", 0, &c, NULL) != 0) abort();
    return c;
}

le_config_t *le_config_ref(le_config_t *c) {
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void le_config_unref(le_config_t *c) {
    if (!c) return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) free_config(c);
}
