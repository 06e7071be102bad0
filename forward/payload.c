/*
 * payload.c: the canonical webhook body and the field map (payload.h).
 *
 * Building reads the description defensively: every member is looked up with a type check,
 * so a missing object, a null or a value of the wrong type becomes null in the payload and
 * never a crash. The field map works on split paths (at most LE_PAYLOAD_PATH_DEPTH segments in
 * one stack buffer); source values are copied from the untouched payload before anything is
 * removed or written, so the order of the pairs does not change what they read.
 */
#include "payload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

/* ---- small helpers ------------------------------------------------------------------------ */

static const json_t *member(const json_t *o, const char *key) {
    return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const char *member_str(const json_t *o, const char *key) {
    return json_string_value(member(o, key)); /* NULL unless a string */
}

/* A copy of the string at o.key, or null. */
static json_t *str_or_null(const json_t *o, const char *key) {
    const json_t *v = member(o, key);
    return json_is_string(v) ? json_stringn(json_string_value(v), json_string_length(v))
                             : json_null();
}

static json_t *cstr_or_null(const char *s) {
    json_t *v = s ? json_string(s) : NULL; /* NULL too when s is not UTF-8 */
    return v ? v : json_null();
}

void le_payload_time(int64_t ms, char *out) {
    const int64_t max = INT64_C(253402300799999); /* 9999-12-31T23:59:59.999Z */
    if (ms < 0) ms = 0;
    if (ms > max) ms = max;
    le_time_rfc3339(ms, out); /* clamped: always in range */
}

static json_t *time_ms(int64_t ms) {
    char buf[LE_PAYLOAD_TIME_SIZE];
    le_payload_time(ms, buf);
    return json_string(buf);
}

/* The Unix-seconds time at o.key as RFC 3339, or null when it is not a number. */
static json_t *time_or_null(const json_t *o, const char *key) {
    const json_t *v = member(o, key);
    if (!json_is_number(v)) return json_null();
    double s = json_number_value(v);
    if (!(s >= 0)) s = 0; /* NaN cannot come from jansson, but stays harmless */
    if (s > 253402300799.0) s = 253402300799.0;
    return time_ms((int64_t)llround(s * 1000));
}

static json_t *real_or_null(const json_t *o, const char *key) {
    const json_t *v = member(o, key);
    return json_is_number(v) ? json_real(json_number_value(v)) : json_null();
}

static bool int_of(const json_t *v, json_int_t *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_real(v)) return false;
    double d = json_real_value(v);
    if (!(d > -9.2e18 && d < 9.2e18)) return false;
    *out = (json_int_t)llround(d);
    return true;
}

static json_t *int_or_null(const json_t *o, const char *key) {
    json_int_t n;
    return int_of(member(o, key), &n) ? json_integer(n) : json_null();
}

static void set(json_t *o, const char *key, json_t *v) {
    json_object_set_new(o, key, v ? v : json_null());
}

/* ---- building ------------------------------------------------------------------------------ */

static json_t *build_route(void) {
    json_t *r = json_object();
    set(r, "name", json_null());
    set(r, "team", json_null());
    set(r, "owner", json_null());
    set(r, "queue", json_null());
    return r;
}

/* lead: the contact's fields; a visitor has its id and nothing else. */
static json_t *build_lead(const json_t *desc) {
    const json_t *c = member(desc, "contact");
    json_t *l = json_object();
    set(l, "id", str_or_null(desc, "id"));
    set(l, "email", str_or_null(desc, "email"));
    static const char *const text[] = {"first_name", "last_name",   "job_title", "role",
                                       "phone",      "postal_code", "country",   "company"};
    for (size_t i = 0; i < LE_ARRAY_SIZE(text); i++) set(l, text[i], str_or_null(c, text[i]));
    set(l, "company_size", int_or_null(c, "company_size"));
    set(l, "industry", str_or_null(c, "industry"));
    const char *kind = member_str(c, "email_domain");
    bool known = kind && (strcmp(kind, "business") == 0 || strcmp(kind, "freemail") == 0 ||
                          strcmp(kind, "disposable") == 0);
    set(l, "email_domain", known ? json_string(kind) : json_null());
    json_t *q = json_array();
    const json_t *flags = member(c, "quality"), *f;
    size_t i;
    json_array_foreach(flags, i, f) {
        if (json_is_string(f)) json_array_append_new(q, json_deep_copy(f));
    }
    set(l, "quality", q);
    return l;
}

/* company: the IP's company where it names one, else the one the contact's forms gave. */
static json_t *build_company(const json_t *desc) {
    const json_t *x = member(desc, "enrichment"), *c = member(desc, "contact");
    const json_t *src = (member_str(x, "company") || member_str(x, "company_key")) ? x : c;
    json_t *o = json_object();
    set(o, "name", str_or_null(src, "company"));
    set(o, "key", str_or_null(src, "company_key"));
    set(o, "domain", str_or_null(x, "domain"));
    set(o, "network", str_or_null(x, "network"));
    json_t *geo = json_object();
    set(geo, "country", str_or_null(member_str(x, "country") ? x : c, "country"));
    set(geo, "region", str_or_null(x, "region"));
    set(geo, "city", str_or_null(x, "city"));
    set(geo, "continent", str_or_null(x, "continent"));
    set(o, "geo", geo);
    return o;
}

static json_t *build_visitor(const json_t *desc) {
    const json_t *x = member(desc, "enrichment");
    json_t *o = json_object();
    set(o, "first_seen", time_or_null(desc, "first_seen"));
    set(o, "last_seen", time_or_null(desc, "last_seen"));
    const json_t *ids = member(desc, "visitors");
    size_t n = json_is_array(ids) ? json_array_size(ids) : 0;
    set(o, "devices", json_integer(n > 1 ? (json_int_t)n : 1));
    set(o, "browser", str_or_null(x, "browser"));
    set(o, "os", str_or_null(x, "os"));
    set(o, "device_class", str_or_null(x, "device_class"));
    set(o, "language", str_or_null(x, "language"));
    return o;
}

static json_t *build_scores(const json_t *desc) {
    const json_t *s = member(desc, "scores");
    json_t *o = json_object();
    set(o, "behaviour", real_or_null(s, "behaviour"));
    set(o, "fit", int_or_null(s, "fit"));
    set(o, "grade", str_or_null(s, "grade"));
    json_int_t band = 0;
    bool has_band = int_of(member(s, "band"), &band);
    set(o, "band", has_band ? json_integer(band) : json_null());
    const char *grade = member_str(s, "grade");
    char cell[64];
    if (grade && has_band && strlen(grade) < 32) {
        snprintf(cell, sizeof(cell), "%s%lld", grade, (long long)band);
        set(o, "cell", json_string(cell));
    } else {
        set(o, "cell", json_null());
    }
    json_t *rules = json_array();
    const json_t *list = member(s, "rules"), *r;
    size_t i;
    json_array_foreach(list, i, r) {
        if (!json_is_object(r)) continue;
        json_t *e = json_object();
        set(e, "name", str_or_null(r, "rule"));
        set(e, "kind", str_or_null(r, "kind"));
        set(e, "points", real_or_null(r, "points"));
        json_array_append_new(rules, e);
    }
    set(o, "rules", rules);
    return o;
}

/* The latest `max` page views (objects) of desc.journey, oldest first. */
static json_t *build_journey(const json_t *desc, uint32_t max) {
    json_t *out = json_array();
    const json_t *j = member(desc, "journey");
    size_t n = json_is_array(j) ? json_array_size(j) : 0, first = n, kept = 0;
    while (first > 0 && kept < max) { /* back from the newest, counting the usable steps */
        const json_t *step = json_array_get(j, --first);
        if (json_is_object(step)) kept++;
    }
    for (size_t i = first; i < n; i++) {
        const json_t *step = json_array_get(j, i);
        if (!json_is_object(step)) continue;
        json_t *e = json_object();
        set(e, "url", str_or_null(step, "url"));
        set(e, "at", time_or_null(step, "at"));
        json_array_append_new(out, e);
    }
    return out;
}

static json_t *build_consent(const json_t *desc, const char *basis) {
    json_t *o = json_object();
    set(o, "basis", cstr_or_null(basis));
    set(o, "given", json_boolean(json_is_true(member(desc, "consent"))));
    bool gpc = false;
    const json_t *sup = member(desc, "suppressed"), *s;
    size_t i;
    json_array_foreach(sup, i, s) {
        const char *name = json_string_value(s);
        gpc = gpc || (name && strcmp(name, "gpc") == 0);
    }
    set(o, "gpc", json_boolean(gpc));
    return o;
}

json_t *le_payload_build(const json_t *desc, const le_payload_meta_t *m) {
    json_t *p = json_object();
    set(p, "id", cstr_or_null(m->id));
    set(p, "type", cstr_or_null(m->type));
    set(p, "created_at", time_ms(m->created_ms));
    set(p, "sla_due_at", m->sla_due_ms > 0 ? time_ms(m->sla_due_ms) : json_null());
    set(p, "escalated", json_boolean(m->escalated));
    set(p, "route", build_route());
    set(p, "lead", build_lead(desc));
    set(p, "company", build_company(desc));
    set(p, "visitor", build_visitor(desc));
    set(p, "scores", build_scores(desc));
    set(p, "journey", build_journey(desc, m->journey));
    const json_t *acct = member(desc, "account");
    set(p, "account", json_is_object(acct) ? json_deep_copy(acct) : json_null());
    set(p, "consent", build_consent(desc, m->consent_basis));
    return p;
}

void le_payload_set_route(json_t *payload, const le_routeconf_t *r) {
    if (!json_is_object(payload)) return;
    json_t *o = json_object_get(payload, "route");
    if (!json_is_object(o)) {
        o = build_route();
        set(payload, "route", o);
    }
    set(o, "name", cstr_or_null(r ? r->name : NULL));
    set(o, "team", cstr_or_null(r ? r->team : NULL));
    set(o, "owner", cstr_or_null(r ? r->owner : NULL));
    set(o, "queue", cstr_or_null(r ? r->queue : NULL));
}

void le_payload_set_escalated(json_t *payload, bool e) {
    set(payload, "escalated", json_boolean(e));
}

/* ---- paths and the field map ---------------------------------------------------------------- */

bool le_payload_path_ok(const char *path, const char **why) {
    const char *msg = NULL;
    size_t len = path ? strlen(path) : 0, depth = 1;
    if (len == 0) msg = "empty";
    if (!msg && len > LE_PAYLOAD_PATH_MAX) msg = "longer than 256 bytes";
    for (size_t i = 0; !msg && i < len; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch < 0x21 || ch == 0x7f) msg = "contains a space or a control character";
        if (ch == '.' && (i == 0 || path[i - 1] == '.')) msg = "has an empty segment";
        if (ch == '.') depth++;
    }
    if (!msg && path[len - 1] == '.') msg = "has an empty segment";
    if (!msg && depth > LE_PAYLOAD_PATH_DEPTH) msg = "deeper than 16 levels";
    /* jansson refuses keys that are not well-formed UTF-8 */
    if (!msg && u8_check((const uint8_t *)path, len)) msg = "not valid UTF-8";
    if (msg && why) *why = msg;
    return !msg;
}

typedef struct {
    char buf[LE_PAYLOAD_PATH_MAX + 1];
    const char *seg[LE_PAYLOAD_PATH_DEPTH];
    size_t n;
} path_t;

/* Split a valid path (le_payload_path_ok) into p; false when it is not valid. */
static bool split(const char *path, path_t *p) {
    if (!le_payload_path_ok(path, NULL)) return false;
    size_t len = strlen(path);
    memcpy(p->buf, path, len + 1);
    p->n = 0;
    p->seg[p->n++] = p->buf;
    for (size_t i = 0; i < len; i++)
        if (p->buf[i] == '.') {
            p->buf[i] = '\0';
            p->seg[p->n++] = p->buf + i + 1;
        }
    return true;
}

/* The array index seg names (decimal digits, at most 9), or -1. */
static long index_of(const char *seg) {
    long v = 0;
    size_t i = 0;
    for (; seg[i]; i++) {
        if (seg[i] < '0' || seg[i] > '9' || i == 9) return -1;
        v = v * 10 + (seg[i] - '0');
    }
    return i ? v : -1;
}

/* The child of container c named by seg: an object's member, an array's element; or NULL. */
static json_t *child(const json_t *c, const char *seg) {
    if (json_is_object(c)) return json_object_get(c, seg);
    long i = json_is_array(c) ? index_of(seg) : -1;
    return i >= 0 ? json_array_get(c, (size_t)i) : NULL;
}

static const json_t *lookup(const json_t *root, const path_t *p) {
    const json_t *cur = root;
    for (size_t i = 0; cur && i < p->n; i++) cur = child(cur, p->seg[i]);
    return cur;
}

/* Remove the object member p names, and the objects that empties, up to (not) the root. */
static void remove_path(json_t *root, const path_t *p) {
    json_t *chain[LE_PAYLOAD_PATH_DEPTH + 1];
    chain[0] = root;
    for (size_t i = 0; i + 1 < p->n; i++) {
        chain[i + 1] = child(chain[i], p->seg[i]);
        if (!chain[i + 1]) return;
    }
    json_t *parent = chain[p->n - 1];
    if (!json_is_object(parent) || json_object_del(parent, p->seg[p->n - 1]) != 0) return;
    for (size_t d = p->n - 1; d >= 1; d--) {
        if (!json_is_object(chain[d]) || json_object_size(chain[d]) != 0 ||
            !json_is_object(chain[d - 1]))
            break;
        json_object_del(chain[d - 1], p->seg[d - 1]);
    }
}

/* Is c a container that can hold seg as a child: any object, an array holding that index? */
static bool can_hold(const json_t *c, const char *seg) {
    if (json_is_object(c)) return true;
    long i = json_is_array(c) ? index_of(seg) : -1;
    return i >= 0 && (size_t)i < json_array_size(c);
}

/* Put v (stolen) into container c (can_hold) at seg. */
static void put(json_t *c, const char *seg, json_t *v) {
    if (json_is_object(c))
        json_object_set_new(c, seg, v);
    else
        json_array_set_new(c, (size_t)index_of(seg), v);
}

/* Write v (stolen) at p under root (an object), creating or replacing what is in the way. */
static void write_path(json_t *root, const path_t *p, json_t *v) {
    json_t *cur = root;
    for (size_t i = 0; i + 1 < p->n; i++) {
        json_t *next = child(cur, p->seg[i]);
        if (!next || !can_hold(next, p->seg[i + 1])) {
            next = json_object();
            put(cur, p->seg[i], next);
        }
        cur = next;
    }
    put(cur, p->seg[p->n - 1], v);
}

json_t *le_payload_map(const json_t *payload, const le_kvconf_t *map, size_t n,
                       bool keep_unmapped) {
    json_t *out = keep_unmapped && json_is_object(payload) ? json_deep_copy(payload) : NULL;
    if (!out) out = json_object();
    json_t **vals = le_xcalloc(n ? n : 1, sizeof(*vals));
    path_t *src = le_xmalloc(sizeof(*src)), *dst = le_xmalloc(sizeof(*dst));
    /* read every source from the untouched payload first */
    for (size_t i = 0; i < n; i++) {
        const char *from = map[i].value;
        if (!map[i].name || !from || !le_payload_path_ok(map[i].name, NULL)) continue;
        if (from[0] == '=') {
            vals[i] = cstr_or_null(from + 1);
        } else if (split(from, src)) {
            const json_t *v = lookup(payload, src);
            vals[i] = v ? json_deep_copy(v) : json_null();
        }
    }
    if (keep_unmapped) /* a rename: the sources leave their old places */
        for (size_t i = 0; i < n; i++)
            if (vals[i] && map[i].value[0] != '=' && split(map[i].value, src))
                remove_path(out, src);
    for (size_t i = 0; i < n; i++) {
        if (!vals[i]) continue;
        if (split(map[i].name, dst))
            write_path(out, dst, vals[i]);
        else
            json_decref(vals[i]);
    }
    free(src);
    free(dst);
    free(vals);
    return out;
}

char *le_payload_dump(const json_t *p) {
    char *s = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(10));
    if (!s) {
        fprintf(stderr, "leadedge: out of memory encoding a payload\n");
        abort(); /* json_dumps fails only when allocation does (le_x* convention) */
    }
    return s;
}
