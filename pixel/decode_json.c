/*
 * decode_json.c: JSON bodies, a form posted as JSON (POST /f) and one event
 * or a batch of them (POST /e), turned into the same param lists the query
 * string and urlencoded decoders produce.
 *
 * jansson does the parsing (valid UTF-8, no "\u0000", no duplicate keys, no
 * trailing bytes, nesting bounded by the library). Everything kept is
 * copied into the arena and the json_t freed before returning, so nothing
 * outlives the call except arena memory. Scalars become text: strings as
 * they are, integers in decimal, reals in their shortest round-trip form,
 * booleans as "true"/"false"; null is skipped.
 */
#include "decode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static le_dec_err_t load(const char *body, size_t n, json_t **root) {
    json_error_t err;
    *root = body ? json_loadb(body, n, JSON_REJECT_DUPLICATES, &err) : NULL;
    if (*root) return LE_DEC_OK;
    if (!body) return LE_DEC_BAD_JSON;
    switch (json_error_code(&err)) {
        case json_error_invalid_utf8:
            return LE_DEC_BAD_UTF8;
        case json_error_null_character:
        case json_error_null_byte_in_key:
            return LE_DEC_CONTROL;
        default:
            return LE_DEC_BAD_JSON;
    }
}

/* The shortest %g form that reads back as d (at most 17 significant digits). */
static int fmt_real(char *buf, size_t cap, double d) {
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    return len;
}

/*
 * A scalar as text in *out; *skip for null. Arrays and objects are
 * LE_DEC_BAD_JSON.
 */
static le_dec_err_t scalar(le_arena_t *a, json_t *v, uint32_t max_value, bool allow_newline,
                           le_str_t *out, bool *skip) {
    char buf[64];
    int len;
    *skip = false;
    switch (json_typeof(v)) {
        case JSON_STRING: {
            const char *s = json_string_value(v);
            size_t n = json_string_length(v);
            if (n > max_value) return LE_DEC_TOO_LONG;
            le_dec_err_t rc = le_text_check(s, n, allow_newline);
            if (rc != LE_DEC_OK) return rc;
            *out = (le_str_t){le_arena_strndup(a, s, n), n};
            return LE_DEC_OK;
        }
        case JSON_INTEGER:
            len = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            break;
        case JSON_REAL:
            len = fmt_real(buf, sizeof(buf), json_real_value(v));
            break;
        case JSON_TRUE:
            len = snprintf(buf, sizeof(buf), "true");
            break;
        case JSON_FALSE:
            len = snprintf(buf, sizeof(buf), "false");
            break;
        case JSON_NULL:
            *skip = true;
            return LE_DEC_OK;
        default:
            return LE_DEC_BAD_JSON;
    }
    if ((size_t)len > max_value) return LE_DEC_TOO_LONG;
    *out = (le_str_t){le_arena_strndup(a, buf, (size_t)len), (size_t)len};
    return LE_DEC_OK;
}

/* A key as a param name, optionally prefixed ("p."), checked and copied. */
static le_dec_err_t key(le_arena_t *a, const char *prefix, const char *k, uint32_t max_value,
                        le_str_t *out) {
    size_t pl = strlen(prefix), kl = strlen(k);
    if (pl + kl > max_value) return LE_DEC_TOO_LONG;
    le_dec_err_t rc = le_text_check(k, kl, false);
    if (rc != LE_DEC_OK) return rc;
    char *s = le_arena_alloc(a, pl + kl + 1);
    memcpy(s, prefix, pl);
    memcpy(s + pl, k, kl + 1);
    *out = (le_str_t){s, pl + kl};
    return LE_DEC_OK;
}

le_dec_err_t le_json_form_parse(le_arena_t *a, const char *body, size_t n, uint32_t max_fields,
                                uint32_t max_value, le_kvlist_t *out) {
    *out = (le_kvlist_t){NULL, 0};
    json_t *root;
    le_dec_err_t rc = load(body, n, &root);
    if (rc != LE_DEC_OK) return rc;
    if (!json_is_object(root)) {
        rc = LE_DEC_BAD_JSON;
        goto out;
    }
    size_t size = json_object_size(root);
    le_kv_t *kv = size ? le_arena_alloc(a, LE_MIN(size, (size_t)max_fields) * sizeof(*kv)) : NULL;
    uint32_t k = 0;
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v) {
        bool skip;
        le_str_t val;
        if ((rc = scalar(a, v, max_value, true, &val, &skip)) != LE_DEC_OK) goto out;
        if (skip) continue;
        if (k == max_fields) {
            rc = LE_DEC_TOO_MANY;
            goto out;
        }
        le_str_t ks;
        if ((rc = key(a, "", name, max_value, &ks)) != LE_DEC_OK) goto out;
        kv[k++] = (le_kv_t){ks, val};
    }
    *out = (le_kvlist_t){kv, k};
out:
    json_decref(root);
    return rc;
}

/* One event object: top-level scalars as they are, "p"/"props" flattened to p.<key>. */
static le_dec_err_t event_object(le_arena_t *a, json_t *obj, uint32_t max_params,
                                 uint32_t max_value, le_kvlist_t *out) {
    /* An upper bound on the params first, so a huge object fails before copying. */
    size_t total = 0;
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        bool nested = !strcmp(name, "p") || !strcmp(name, "props");
        if (nested && json_is_object(v)) {
            const char *pn;
            json_t *pv;
            json_object_foreach(v, pn, pv) total += !json_is_null(pv);
        } else if (nested && !json_is_null(v)) {
            return LE_DEC_BAD_JSON;
        } else {
            total += !json_is_null(v);
        }
    }
    if (total > max_params) return LE_DEC_TOO_MANY;
    le_kv_t *kv = total ? le_arena_alloc(a, total * sizeof(*kv)) : NULL;
    uint32_t k = 0;
    le_dec_err_t rc;
    /* kv is NULL when every value is null: build each pair in locals, store it when kept. */
    le_str_t ks, vs;
    bool skip;
    json_object_foreach(obj, name, v) {
        if (!strcmp(name, "p") || !strcmp(name, "props")) {
            const char *pn;
            json_t *pv;
            json_object_foreach(v, pn, pv) {
                if ((rc = scalar(a, pv, max_value, false, &vs, &skip)) != LE_DEC_OK) return rc;
                if (skip) continue;
                if ((rc = key(a, "p.", pn, max_value, &ks)) != LE_DEC_OK) return rc;
                kv[k++] = (le_kv_t){ks, vs};
            }
            continue;
        }
        if ((rc = scalar(a, v, max_value, false, &vs, &skip)) != LE_DEC_OK) return rc;
        if (skip) continue;
        if ((rc = key(a, "", name, max_value, &ks)) != LE_DEC_OK) return rc;
        kv[k++] = (le_kv_t){ks, vs};
    }
    *out = (le_kvlist_t){kv, k};
    return LE_DEC_OK;
}

le_dec_err_t le_json_events_parse_ex(le_arena_t *a, const char *body, size_t n, uint32_t max_batch,
                                     uint32_t max_params, uint32_t max_value, le_kvlist_t **events,
                                     uint32_t *nevents, le_dec_err_t **errs) {
    *events = NULL;
    *nevents = 0;
    if (errs) *errs = NULL;
    json_t *root;
    le_dec_err_t rc = load(body, n, &root);
    if (rc != LE_DEC_OK) return rc;

    size_t count;
    if (json_is_array(root)) {
        count = json_array_size(root);
    } else if (json_is_object(root)) {
        count = 1; /* a lone object is a batch of one */
    } else {
        rc = LE_DEC_BAD_JSON;
        goto out;
    }
    if (count > max_batch) {
        rc = LE_DEC_TOO_MANY;
        goto out;
    }
    le_kvlist_t *evs = le_arena_calloc(a, count * sizeof(*evs));
    le_dec_err_t *why = errs ? le_arena_alloc(a, count * sizeof(*why)) : NULL;
    for (size_t i = 0; i < count; i++) {
        json_t *el = json_is_array(root) ? json_array_get(root, i) : root;
        le_dec_err_t erc = LE_DEC_BAD_JSON;
        if (json_is_object(el)) erc = event_object(a, el, max_params, max_value, &evs[i]);
        if (erc != LE_DEC_OK) evs[i] = (le_kvlist_t){NULL, 0};
        if (why) why[i] = erc;
    }
    *events = evs;
    *nevents = (uint32_t)count;
    if (errs) *errs = why;
out:
    json_decref(root);
    return rc;
}

le_dec_err_t le_json_events_parse(le_arena_t *a, const char *body, size_t n, uint32_t max_batch,
                                  uint32_t max_params, uint32_t max_value, le_kvlist_t **events,
                                  uint32_t *nevents) {
    return le_json_events_parse_ex(a, body, n, max_batch, max_params, max_value, events, nevents,
                                   NULL);
}
