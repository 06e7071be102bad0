/*
 * route.c: compiling and matching routing.routes (route.h).
 *
 * Each condition becomes a field id plus its values in the form matching wants: numbers as
 * doubles, text values a matcher (config/textmatch.h: strings, globs, PCRE2 patterns, as
 * scoring rules match them). Matching reads the field's value from the
 * canonical payload by a fixed path, so the route fields and the payload schema stay in one
 * place each (payload.c builds, this file only reads).
 */
#include "route.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textmatch.h"

typedef enum {
    F_TYPE,
    F_COUNTRY,
    F_REGION,
    F_CITY,
    F_CONTINENT,
    F_NETWORK,
    F_COMPANY,
    F_COMPANY_KEY,
    F_DOMAIN,
    F_COMPANY_SIZE,
    F_INDUSTRY,
    F_ROLE,
    F_JOB_TITLE,
    F_EMAIL_DOMAIN,
    F_BEHAVIOUR,
    F_FIT,
    F_GRADE,
    F_BAND,
    F_PAGE,
    F_COUNT
} fid_t;

/* In fid_t order. */
const char *const le_route_fields[] = {
    "type",        "country", "region",       "city",     "continent", "network",   "company",
    "company_key", "domain",  "company_size", "industry", "role",      "job_title", "email_domain",
    "behaviour",   "fit",     "grade",        "band",     "page",      NULL,
};
_Static_assert(LE_ARRAY_SIZE(le_route_fields) == F_COUNT + 1, "le_route_fields and fid_t differ");

/* Where each field is in the payload (up to three member names), and whether it is a number.
 * country falls back to lead.country in match_cond; page is every journey[i].url. */
static const struct {
    const char *path[3];
    bool numeric;
} where[F_COUNT] = {
    [F_TYPE] = {{"type"}, false},
    [F_COUNTRY] = {{"company", "geo", "country"}, false},
    [F_REGION] = {{"company", "geo", "region"}, false},
    [F_CITY] = {{"company", "geo", "city"}, false},
    [F_CONTINENT] = {{"company", "geo", "continent"}, false},
    [F_NETWORK] = {{"company", "network"}, false},
    [F_COMPANY] = {{"company", "name"}, false},
    [F_COMPANY_KEY] = {{"company", "key"}, false},
    [F_DOMAIN] = {{"company", "domain"}, false},
    [F_COMPANY_SIZE] = {{"lead", "company_size"}, true},
    [F_INDUSTRY] = {{"lead", "industry"}, false},
    [F_ROLE] = {{"lead", "role"}, false},
    [F_JOB_TITLE] = {{"lead", "job_title"}, false},
    [F_EMAIL_DOMAIN] = {{"lead", "email_domain"}, false},
    [F_BEHAVIOUR] = {{"scores", "behaviour"}, true},
    [F_FIT] = {{"scores", "fit"}, true},
    [F_GRADE] = {{"scores", "grade"}, false},
    [F_BAND] = {{"scores", "band"}, true},
    [F_PAGE] = {{"journey"}, false},
};

typedef struct {
    fid_t f;
    le_condop_t op;
    size_t n;
    le_textmatch_t *tm; /* text: strings, globs, patterns */
    double *nums;       /* EQ on a number */
    double min, max;    /* RANGE; +-infinity where a bound is absent */
} cond_t;

typedef struct {
    cond_t *c;
    size_t n;
} route_t;

struct le_routes_s {
    le_config_t *cfg; /* the routes live in it */
    route_t *routes;
    size_t n;
};

bool le_route_field(const char *name, size_t len, bool *numeric) {
    for (size_t i = 0; i < F_COUNT; i++)
        if (strlen(le_route_fields[i]) == len && memcmp(le_route_fields[i], name, len) == 0) {
            if (numeric) *numeric = where[i].numeric;
            return true;
        }
    return false;
}

/* ---- building ------------------------------------------------------------------------------ */

static void free_cond(cond_t *c) {
    le_textmatch_free(c->tm);
    free(c->nums);
}

void le_routes_free(le_routes_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        for (size_t j = 0; j < r->routes[i].n; j++) free_cond(&r->routes[i].c[j]);
        free(r->routes[i].c);
    }
    free(r->routes);
    le_config_unref(r->cfg);
    free(r);
}

/* A whole decimal number (integer or real) in s, or false. */
static bool parse_number(const char *s, double *out) {
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(d)) return false;
    *out = d;
    return true;
}

#define ERR(fmt, ...)                                                                              \
    le_buf_printf(err, "%s:%u:%u: routing.routes[%zu].when.%s: " fmt "\n",                         \
                  cfg->path ? cfg->path : "<config>", cc->line, cc->col, ri, cc->field,            \
                  __VA_ARGS__)

static int build_cond(const le_config_t *cfg, size_t ri, const le_condconf_t *cc, cond_t *c,
                      le_buf_t *err) {
    bool numeric = false;
    size_t flen = cc->field ? strlen(cc->field) : 0;
    if (!cc->field || !le_route_field(cc->field, flen, &numeric)) {
        ERR("%s", "unknown route condition");
        return LE_EINVAL;
    }
    for (c->f = 0; strcmp(le_route_fields[c->f], cc->field) != 0; c->f++) continue;
    c->op = cc->op;
    c->n = cc->nvalues;
    if (cc->op == LE_COND_RANGE) {
        if (!numeric) {
            ERR("%s", "a range needs a numeric field (company_size, behaviour, fit, band)");
            return LE_EINVAL;
        }
        c->min = cc->min == INT64_MIN ? -INFINITY : (double)cc->min;
        c->max = cc->max == INT64_MAX ? INFINITY : (double)cc->max;
        return 0;
    }
    if (c->n == 0) {
        ERR("%s", "expected at least one value");
        return LE_EINVAL;
    }
    if (numeric && cc->op != LE_COND_EQ) {
        ERR("%s", "expected numbers or {min: .., max: ..}");
        return LE_EINVAL;
    }
    if (numeric) {
        c->nums = le_xcalloc(c->n, sizeof(*c->nums));
        for (size_t i = 0; i < c->n; i++)
            if (!parse_number(cc->values[i], &c->nums[i])) {
                ERR("expected a number, not \"%s\"", cc->values[i]);
                return LE_EINVAL;
            }
        return 0;
    }
    char *why = NULL;
    c->tm = le_textmatch_new(cc->op, (const char *const *)cc->values, c->n, &why);
    if (!c->tm) {
        ERR("%s", why);
        free(why);
        return LE_EINVAL;
    }
    return 0;
}

#undef ERR

int le_routes_build(const le_config_t *cfg, le_routes_t **out, le_buf_t *err) {
    le_routes_t *r = le_xcalloc(1, sizeof(*r));
    r->cfg = le_config_ref((le_config_t *)cfg);
    size_t n = cfg->routing.nroutes;
    r->routes = le_xcalloc(n ? n : 1, sizeof(*r->routes));
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const le_routeconf_t *rc_ = &cfg->routing.routes[i];
        route_t *route = &r->routes[r->n++];
        route->c = le_xcalloc(rc_->nwhen ? rc_->nwhen : 1, sizeof(cond_t));
        for (size_t j = 0; j < rc_->nwhen; j++) {
            route->n++;
            if (build_cond(cfg, i, &rc_->when[j], &route->c[j], err) != 0) rc = LE_EINVAL;
        }
    }
    if (rc != 0) {
        le_routes_free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

/* ---- matching ---------------------------------------------------------------------------- */

/* A text value against the condition's strings or patterns. Absent and empty never match. */
static bool match_str(cond_t *c, const json_t *v) {
    return c->tm && le_textmatch(c->tm, json_string_value(v), json_string_length(v));
}

static bool match_num(const cond_t *c, const json_t *v) {
    if (!json_is_number(v)) return false;
    double d = json_number_value(v);
    if (c->op == LE_COND_RANGE) return d >= c->min && d <= c->max;
    for (size_t i = 0; i < c->n; i++)
        if (c->nums[i] == d) return true;
    return false;
}

static const json_t *value_at(const json_t *payload, fid_t f) {
    const json_t *v = payload;
    for (size_t i = 0; i < 3 && where[f].path[i] && v; i++)
        v = json_object_get(v, where[f].path[i]); /* NULL for a non-object */
    return v;
}

static bool match_cond(cond_t *c, const json_t *payload) {
    const json_t *v = value_at(payload, c->f);
    if (where[c->f].numeric) return match_num(c, v);
    if (c->f == F_PAGE) {
        const json_t *step;
        size_t i;
        json_array_foreach(v, i, step) {
            if (match_str(c, json_object_get(step, "url"))) return true;
        }
        return false;
    }
    if (c->f == F_COUNTRY && !(json_is_string(v) && json_string_length(v))) {
        const json_t *lead = json_object_get(payload, "lead");
        v = lead ? json_object_get(lead, "country") : NULL;
    }
    return match_str(c, v);
}

const le_routeconf_t *le_routes_pick(le_routes_t *r, const json_t *payload) {
    for (size_t i = 0; i < r->n; i++) {
        bool all = true;
        for (size_t j = 0; j < r->routes[i].n && all; j++)
            all = match_cond(&r->routes[i].c[j], payload);
        if (all) return &r->cfg->routing.routes[i];
    }
    return NULL;
}
