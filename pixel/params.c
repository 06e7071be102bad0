/*
 * params.c: a decoded param list (pixel query string, beacon JSON) turned
 * into the protocol fields of an event, with the protocol's syntax rules.
 *
 * The params are already valid UTF-8 without controls (decode.c); here the
 * event name, prop names, visitor id and client timestamp get their own
 * alphabets and the values their length bound. The first occurrence of a
 * param wins, so a repeated "e" or "p.x" cannot change what an earlier one
 * said. Nothing is written to the event unless the whole list is good.
 */
#include "decode.h"

#define NAME_MAX_LEN 64
#define VID_MAX_LEN 64

/* Event and prop names: 1..64 of [A-Za-z0-9_.:-]. */
static bool valid_name(le_str_t s) {
    if (s.len < 1 || s.len > NAME_MAX_LEN) return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/* The snippet's visitor id: 1..64 of [A-Za-z0-9_-]. */
static bool valid_vid(le_str_t s) {
    if (s.len < 1 || s.len > VID_MAX_LEN) return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/* ts: 10 digits are Unix seconds, 13 digits Unix ms; anything else is refused. */
static bool parse_ts(le_str_t s, int64_t *ms) {
    if (s.len != 10 && s.len != 13) return false;
    int64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return false;
        v = v * 10 + (s.ptr[i] - '0'); /* at most 13 digits: no overflow */
    }
    *ms = s.len == 10 ? v * 1000 : v;
    return true;
}

static bool is_prop(le_str_t k) {
    return k.len >= 2 && k.ptr[0] == 'p' && k.ptr[1] == '.';
}

static le_dec_err_t fail(const char **why, const char *msg, le_dec_err_t rc) {
    if (why) *why = msg;
    return rc;
}

le_dec_err_t le_event_from_params(const le_kvlist_t *params, const le_event_limits_t *lim,
                                  le_arena_t *a, le_event_t *ev, const char **why) {
    static const le_str_t empty = {"", 0};
    le_str_t e = LE_STR_NULL, url = empty, ref = empty, title = empty, vid = empty;
    bool have_e = false, have_url = false, have_ref = false, have_t = false, have_vid = false;
    bool have_ts = false;
    int64_t ts = 0;
    uint32_t nprops = 0;

    if (why) *why = "ok";
    for (uint32_t i = 0; i < params->n; i++) {
        le_str_t k = params->kv[i].key, v = params->kv[i].val;
        if (is_prop(k)) {
            le_str_t pn = {k.ptr + 2, k.len - 2};
            if (!valid_name(pn)) return fail(why, "bad prop name", LE_DEC_BAD_VALUE);
            if (v.len > lim->max_value_len) return fail(why, "prop too long", LE_DEC_TOO_LONG);
            nprops++; /* an upper bound: repeats are dropped below */
            continue;
        }
        le_str_t *dst = NULL;
        bool *seen = NULL;
        if (le_str_eq(k, "e"))
            dst = &e, seen = &have_e;
        else if (le_str_eq(k, "url"))
            dst = &url, seen = &have_url;
        else if (le_str_eq(k, "ref"))
            dst = &ref, seen = &have_ref;
        else if (le_str_eq(k, "t"))
            dst = &title, seen = &have_t;
        else if (le_str_eq(k, "vid"))
            dst = &vid, seen = &have_vid;
        else if (le_str_eq(k, "ts") && !have_ts) {
            have_ts = true;
            if (v.len && !parse_ts(v, &ts)) return fail(why, "bad ts", LE_DEC_BAD_VALUE);
        }
        if (dst && !*seen) {
            *seen = true;
            *dst = v;
        }
    }

    if (!have_e || e.len == 0) return fail(why, "missing event name (e)", LE_DEC_MISSING);
    uint8_t type = LE_EV_EVENT;
    le_str_t name = e;
    if (le_str_eq(e, "pv")) {
        type = LE_EV_PAGEVIEW;
        name = LE_STR("pageview");
    } else if (!valid_name(e)) {
        return fail(why, "bad event name", LE_DEC_BAD_VALUE);
    } else if (le_str_eq(e, "pageview") || le_str_eq(e, "form")) {
        return fail(why, "reserved event name", LE_DEC_BAD_VALUE);
    }
    if (url.len > lim->max_value_len) return fail(why, "url too long", LE_DEC_TOO_LONG);
    if (ref.len > lim->max_value_len) return fail(why, "ref too long", LE_DEC_TOO_LONG);
    if (title.len > lim->max_value_len) return fail(why, "title too long", LE_DEC_TOO_LONG);
    if (vid.len > lim->max_value_len) return fail(why, "vid too long", LE_DEC_TOO_LONG);
    if (vid.len && !valid_vid(vid)) return fail(why, "bad vid", LE_DEC_BAD_VALUE);

    /* Props without the "p." prefix, first occurrence of each name only. */
    le_kv_t *props = NULL;
    uint32_t np = 0;
    if (nprops) {
        props = le_arena_alloc(a, LE_MIN(nprops, lim->max_props) * sizeof(*props));
        for (uint32_t i = 0; i < params->n; i++) {
            le_str_t k = params->kv[i].key;
            if (!is_prop(k)) continue;
            le_str_t pn = {k.ptr + 2, k.len - 2};
            bool dup = false;
            for (uint32_t j = 0; j < np && !dup; j++) {
                dup = props[j].key.len == pn.len && !memcmp(props[j].key.ptr, pn.ptr, pn.len);
            }
            if (dup) continue;
            if (np == lim->max_props) return fail(why, "too many props", LE_DEC_TOO_MANY);
            props[np].key = pn;
            props[np].val = params->kv[i].val;
            np++;
        }
    }

    ev->type = type;
    ev->name = name;
    ev->url = url;
    ev->ref = ref;
    ev->title = title;
    ev->vid = vid;
    ev->client_ts_ms = ts;
    ev->props = np ? props : NULL;
    ev->nprops = np;
    return LE_DEC_OK;
}
