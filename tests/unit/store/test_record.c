/*
 * test_record.c: event -> msgpack record -> event / JSON / text.
 *
 * Covers every field (Unicode, quotes, backslashes and control characters in
 * strings, props and form fields), the omission of empty values, the exact
 * bytes of a minimal record, tolerance of unknown keys of every msgpack type,
 * rejection of wrong types, truncation and trailing bytes, and a mutation
 * loop that must never crash (run it under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "record.h"

#define ID "0123456789abcdef0123456789abcdef"

static le_kv_t props[] = {
    {LE_STR("plan"), LE_STR("pro")},
    {LE_STR("ключ"), LE_STR("значение")},
    {LE_STR("q\"k"), LE_STR("a\\b")},
};
static le_kv_t fields[] = {
    {LE_STR("email"), LE_STR("a@example.com")},
    {LE_STR("note"), LE_STR("line1\nline2\t\x01 end")},
};

static le_event_t full_event(void) {
    le_event_t ev = {0};
    ev.time_ms = 1795713961123;
    ev.client_ts_ms = 1795713960000;
    ev.type = LE_EV_FORM;
    ev.source = LE_SRC_FORM;
    ev.id_kind = LE_ID_COOKIE;
    ev.consent = true;
    ev.gpc = true;
    ev.bot = true;
    ev.staff = true;
    memcpy(ev.id, ID, sizeof(ID));
    ev.name = LE_STR("form");
    ev.url = LE_STR("https://example.com/p?q=\"x\"&r=\\y");
    ev.ref = LE_STR("https://ref.example/");
    ev.title = LE_STR("Café — 日本語 🚀 \"quoted\"\n");
    ev.vid = LE_STR("v-123");
    ev.form_id = LE_STR("contact");
    ev.props = props;
    ev.nprops = LE_ARRAY_SIZE(props);
    ev.fields = fields;
    ev.nfields = LE_ARRAY_SIZE(fields);
    ev.ip = LE_STR("203.0.0.0");
    ev.ua = LE_STR("Mozilla/5.0 (X11; Linux x86_64)");
    ev.lang = LE_STR("de-CH,de;q=0.9");
    return ev;
}

static void encode(const le_event_t *ev, msgpack_sbuffer *sb) {
    msgpack_sbuffer_init(sb);
    le_record_encode(ev, sb);
}

static void assert_str(le_str_t got, le_str_t want) {
    assert_int_equal(got.len, want.len);
    if (want.len) assert_memory_equal(got.ptr, want.ptr, want.len);
}

static void assert_json_str(json_t *o, const char *key, le_str_t want) {
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    assert_int_equal(json_string_length(v), want.len);
    assert_memory_equal(json_string_value(v), want.ptr, want.len);
}

static void test_decode_round_trip(void **state) {
    (void)state;
    le_event_t ev = full_event(), got;
    msgpack_sbuffer sb;
    encode(&ev, &sb);

    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    assert_int_equal(le_record_decode(sb.data, sb.size, &got, &a), 0);
    assert_int_equal(got.time_ms, ev.time_ms);
    assert_int_equal(got.client_ts_ms, ev.client_ts_ms);
    assert_int_equal(got.type, ev.type);
    assert_int_equal(got.source, ev.source);
    assert_int_equal(got.id_kind, ev.id_kind);
    assert_true(got.consent && got.gpc && got.bot && got.staff);
    assert_string_equal(got.id, ID);
    assert_str(got.name, ev.name);
    assert_str(got.url, ev.url);
    assert_str(got.ref, ev.ref);
    assert_str(got.title, ev.title);
    assert_str(got.vid, ev.vid);
    assert_str(got.form_id, ev.form_id);
    assert_str(got.ip, ev.ip);
    assert_str(got.ua, ev.ua);
    assert_str(got.lang, ev.lang);
    assert_int_equal(got.nprops, ev.nprops);
    for (uint32_t i = 0; i < ev.nprops; i++) {
        assert_str(got.props[i].key, ev.props[i].key);
        assert_str(got.props[i].val, ev.props[i].val);
    }
    assert_int_equal(got.nfields, ev.nfields);
    for (uint32_t i = 0; i < ev.nfields; i++) {
        assert_str(got.fields[i].key, ev.fields[i].key);
        assert_str(got.fields[i].val, ev.fields[i].val);
    }
    /* Strings borrow from the payload. */
    assert_true(got.url.ptr > sb.data && got.url.ptr < sb.data + sb.size);

    /* msgpack-c reads it as one map with one entry per non-empty field. */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, sb.size);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(u.data.via.map.size, 22);
    msgpack_unpacked_destroy(&u);

    le_arena_free(&a);
    msgpack_sbuffer_destroy(&sb);
}

static void test_json_every_field(void **state) {
    (void)state;
    le_event_t ev = full_event();
    msgpack_sbuffer sb;
    encode(&ev, &sb);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_record_to_json(sb.data, sb.size, &out), 0);
    assert_null(memchr(out.data, '\n', out.len)); /* compact: one line */

    json_error_t jerr;
    json_t *o = json_loadb(out.data, out.len, 0, &jerr);
    if (!o) fail_msg("invalid JSON (%s): %.*s", jerr.text, (int)out.len, out.data);

    static const char *order[] = {"time",    "time_ms", "type", "source",   "id",    "id_kind",
                                  "consent", "gpc",     "bot",  "staff",    "name",  "url",
                                  "ref",     "title",   "vid",  "form",     "props", "fields",
                                  "ip",      "ua",      "lang", "client_ts"};
    size_t i = 0;
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it), i++) {
        assert_true(i < LE_ARRAY_SIZE(order));
        assert_string_equal(json_object_iter_key(it), order[i]);
    }
    assert_int_equal(i, LE_ARRAY_SIZE(order));

    assert_string_equal(json_string_value(json_object_get(o, "time")), "2026-11-26T17:26:01.123Z");
    assert_int_equal(json_integer_value(json_object_get(o, "time_ms")), ev.time_ms);
    assert_int_equal(json_integer_value(json_object_get(o, "client_ts")), ev.client_ts_ms);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "form");
    assert_string_equal(json_string_value(json_object_get(o, "source")), "form");
    assert_string_equal(json_string_value(json_object_get(o, "id_kind")), "visitor");
    assert_string_equal(json_string_value(json_object_get(o, "id")), ID);
    assert_true(json_is_true(json_object_get(o, "consent")));
    assert_true(json_is_true(json_object_get(o, "gpc")));
    assert_true(json_is_true(json_object_get(o, "bot")));
    assert_json_str(o, "name", ev.name);
    assert_json_str(o, "url", ev.url);
    assert_json_str(o, "ref", ev.ref);
    assert_json_str(o, "title", ev.title);
    assert_json_str(o, "vid", ev.vid);
    assert_json_str(o, "form", ev.form_id);
    assert_json_str(o, "ip", ev.ip);
    assert_json_str(o, "ua", ev.ua);
    assert_json_str(o, "lang", ev.lang);

    json_t *p = json_object_get(o, "props");
    assert_true(json_is_object(p));
    assert_int_equal(json_object_size(p), LE_ARRAY_SIZE(props));
    assert_json_str(p, "plan", LE_STR("pro"));
    assert_json_str(p, "ключ", LE_STR("значение"));
    assert_json_str(p, "q\"k", LE_STR("a\\b"));
    json_t *f = json_object_get(o, "fields");
    assert_int_equal(json_object_size(f), LE_ARRAY_SIZE(fields));
    assert_json_str(f, "email", fields[0].val);
    assert_json_str(f, "note", fields[1].val);

    json_decref(o);
    le_buf_free(&out);
    msgpack_sbuffer_destroy(&sb);
}

static void test_json_exact(void **state) {
    (void)state;
    le_event_t ev = {0};
    ev.time_ms = 1795713961123;
    ev.client_ts_ms = 1795713960000;
    ev.type = LE_EV_PAGEVIEW;
    ev.source = LE_SRC_PIXEL;
    ev.id_kind = LE_ID_COOKIELESS;
    memcpy(ev.id, ID, sizeof(ID));
    ev.name = LE_STR("pageview");
    ev.url = LE_STR("https://example.com/p?q=\"x\"&r=\\y");
    ev.ip = LE_STR("203.0.0.0");
    msgpack_sbuffer sb;
    encode(&ev, &sb);

    le_buf_t out = LE_BUF_INIT;
    le_buf_puts(&out, "> "); /* appends, keeps what is there */
    assert_int_equal(le_record_to_json(sb.data, sb.size, &out), 0);
    assert_string_equal(le_buf_cstr(&out),
                        "> {\"time\":\"2026-11-26T17:26:01.123Z\",\"time_ms\":1795713961123,"
                        "\"type\":\"pageview\",\"source\":\"pixel\",\"id\":\"" ID "\","
                        "\"id_kind\":\"cookieless\",\"consent\":false,\"gpc\":false,"
                        "\"bot\":false,\"name\":\"pageview\","
                        "\"url\":\"https://example.com/p?q=\\\"x\\\"&r=\\\\y\","
                        "\"ip\":\"203.0.0.0\",\"client_ts\":1795713960000}");

    le_buf_reset(&out);
    assert_int_equal(le_record_to_text(sb.data, sb.size, &out), 0);
    assert_string_equal(le_buf_cstr(&out), "2026-11-26T17:26:01.123Z pageview " ID
                                           " https://example.com/p?q=\"x\"&r=\\y");
    le_buf_free(&out);
    msgpack_sbuffer_destroy(&sb);
}

static void test_text_forms(void **state) {
    (void)state;
    le_event_t ev = full_event();
    msgpack_sbuffer sb;
    le_buf_t out = LE_BUF_INIT;

    encode(&ev, &sb);
    assert_int_equal(le_record_to_text(sb.data, sb.size, &out), 0);
    assert_string_equal(le_buf_cstr(&out), "2026-11-26T17:26:01.123Z form:contact " ID
                                           " https://example.com/p?q=\"x\"&r=\\y");
    msgpack_sbuffer_destroy(&sb);

    le_event_t e2 = {0};
    e2.time_ms = -1500; /* before the epoch: floor, not truncation */
    e2.type = LE_EV_EVENT;
    e2.name = LE_STR("sign up\nnow");
    encode(&e2, &sb);
    le_buf_reset(&out);
    assert_int_equal(le_record_to_text(sb.data, sb.size, &out), 0);
    assert_string_equal(le_buf_cstr(&out), "1969-12-31T23:59:58.500Z event:sign?up?now - -");
    le_buf_free(&out);
    msgpack_sbuffer_destroy(&sb);
}

static void test_empty_fields_omitted(void **state) {
    (void)state;
    le_event_t ev = {0};
    ev.time_ms = 5;
    ev.type = LE_EV_EVENT;
    ev.url = (le_str_t){"", 0};
    ev.props = props; /* nprops 0: not written */
    msgpack_sbuffer sb;
    encode(&ev, &sb);
    const uint8_t want[] = {0x83, 0xa1, 'v', 0x01, 0xa1, 't', 0x05, 0xa2, 't', 'y', 0x02};
    assert_int_equal(sb.size, sizeof(want));
    assert_memory_equal(sb.data, want, sizeof(want));

    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_record_to_json(sb.data, sb.size, &out), 0);
    assert_string_equal(le_buf_cstr(&out),
                        "{\"time\":\"1970-01-01T00:00:00.005Z\",\"time_ms\":5,\"type\":\"event\","
                        "\"consent\":false,\"gpc\":false,\"bot\":false}");
    le_buf_free(&out);
    msgpack_sbuffer_destroy(&sb);

    /* An event with nothing set is still a record: {"v":1}. */
    le_event_t none = {0};
    encode(&none, &sb);
    assert_int_equal(sb.size, 4);
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    assert_int_equal(le_record_decode(sb.data, sb.size, &ev, &a), 0);
    assert_int_equal(ev.time_ms, 0);
    assert_int_equal(ev.nprops, 0);
    assert_null(ev.props);
    le_arena_free(&a);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- the encoder against msgpack-c's packer ------------------------------ */

/* The record as msgpack_pack_*() writes it, key by key in the documented order. */
static void ref_str(msgpack_packer *pk, le_str_t s) {
    msgpack_pack_str_with_body(pk, s.ptr, s.len);
}

static void ref_pack(const le_event_t *ev, msgpack_sbuffer *sb) {
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    size_t idlen = strlen(ev->id);
    const le_str_t strs[] = {ev->name, ev->url, ev->ref, ev->title, ev->vid, ev->form_id};
    const char *skeys[] = {"n", "u", "r", "ti", "vid", "f"};
    const le_str_t tail[] = {ev->ip, ev->ua, ev->lang};
    const char *tkeys[] = {"ip", "ua", "l"};
    size_t n = 1 + (ev->time_ms != 0) + (ev->client_ts_ms != 0) + (ev->type != 0) +
               (ev->source != 0) + (ev->id_kind != 0) + (idlen != 0) + ev->consent + ev->gpc +
               ev->bot + ev->staff + (ev->nprops != 0) + (ev->nfields != 0);
    for (int i = 0; i < 6; i++) n += strs[i].len != 0;
    for (int i = 0; i < 3; i++) n += tail[i].len != 0;
    msgpack_pack_map(&pk, n);
    ref_str(&pk, LE_STR("v"));
    msgpack_pack_uint8(&pk, 1);
    if (ev->time_ms) ref_str(&pk, LE_STR("t")), msgpack_pack_int64(&pk, ev->time_ms);
    if (ev->client_ts_ms) ref_str(&pk, LE_STR("ct")), msgpack_pack_int64(&pk, ev->client_ts_ms);
    if (ev->type) ref_str(&pk, LE_STR("ty")), msgpack_pack_uint8(&pk, ev->type);
    if (ev->source) ref_str(&pk, LE_STR("src")), msgpack_pack_uint8(&pk, ev->source);
    if (ev->id_kind) ref_str(&pk, LE_STR("ik")), msgpack_pack_uint8(&pk, ev->id_kind);
    if (idlen) ref_str(&pk, LE_STR("id")), ref_str(&pk, le_str(ev->id));
    if (ev->consent) ref_str(&pk, LE_STR("c")), msgpack_pack_true(&pk);
    if (ev->gpc) ref_str(&pk, LE_STR("gpc")), msgpack_pack_true(&pk);
    if (ev->bot) ref_str(&pk, LE_STR("bot")), msgpack_pack_true(&pk);
    if (ev->staff) ref_str(&pk, LE_STR("sf")), msgpack_pack_true(&pk);
    for (int i = 0; i < 6; i++)
        if (strs[i].len) ref_str(&pk, le_str(skeys[i])), ref_str(&pk, strs[i]);
    if (ev->nprops) {
        ref_str(&pk, LE_STR("p"));
        msgpack_pack_map(&pk, ev->nprops);
        for (uint32_t i = 0; i < ev->nprops; i++)
            ref_str(&pk, ev->props[i].key), ref_str(&pk, ev->props[i].val);
    }
    if (ev->nfields) {
        ref_str(&pk, LE_STR("ff"));
        msgpack_pack_map(&pk, ev->nfields);
        for (uint32_t i = 0; i < ev->nfields; i++)
            ref_str(&pk, ev->fields[i].key), ref_str(&pk, ev->fields[i].val);
    }
    for (int i = 0; i < 3; i++)
        if (tail[i].len) ref_str(&pk, le_str(tkeys[i])), ref_str(&pk, tail[i]);
}

static void assert_same_bytes(const le_event_t *ev) {
    msgpack_sbuffer got, want;
    encode(ev, &got);
    ref_pack(ev, &want);
    assert_int_equal(got.size, want.size);
    assert_memory_equal(got.data, want.data, want.size);
    msgpack_sbuffer_destroy(&got);
    msgpack_sbuffer_destroy(&want);
}

static void test_bytes_match_msgpack_c(void **state) {
    (void)state;
    le_event_t ev = full_event();
    assert_same_bytes(&ev);

    /* Every width of integer, string and map header. */
    static const int64_t ints[] = {
        1,  127, 128, 255,  256,  65535,  65536,  4294967295LL, 4294967296LL,           INT64_MAX,
        -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,    (int64_t)INT32_MIN - 1, INT64_MIN};
    for (size_t i = 0; i < LE_ARRAY_SIZE(ints); i++) {
        ev.time_ms = ints[i];
        ev.client_ts_ms = -ints[i] / 3;
        assert_same_bytes(&ev);
    }
    size_t big = 70000;
    char *s = malloc(big);
    memset(s, 'a', big);
    static const size_t lens[] = {31, 32, 64, 65, 255, 256, 511, 512, 513, 65535, 65536, 70000};
    for (size_t i = 0; i < LE_ARRAY_SIZE(lens); i++) {
        ev.url = (le_str_t){s, lens[i]};
        ev.ua = (le_str_t){s, lens[LE_ARRAY_SIZE(lens) - 1 - i]};
        assert_same_bytes(&ev);
    }
    le_kv_t many[70];
    for (int i = 0; i < 70; i++) many[i] = (le_kv_t){{s, (size_t)i}, {s, (size_t)(70 - i)}};
    ev.props = many;
    ev.nprops = 70; /* map16 */
    ev.fields = many;
    ev.nfields = 15; /* fixmap */
    assert_same_bytes(&ev);
    free(s);
}

static le_event_t enriched_event(void);

/* le_record_pack_to writes what le_record_encode does, never past le_record_bound: checked
 * with a canary after the bound, on events with every field at its widest encoding. */
static void assert_within_bound(const le_event_t *ev) {
    msgpack_sbuffer want;
    encode(ev, &want);
    size_t bound = le_record_bound(ev);
    unsigned char *b = malloc(bound + 64);
    memset(b, 0xAA, bound + 64);
    size_t n = le_record_pack_to(ev, b);
    assert_true(n <= bound);
    assert_int_equal(n, want.size);
    assert_memory_equal(b, want.data, n);
    for (size_t i = bound; i < bound + 64; i++) assert_int_equal(b[i], 0xAA);
    free(b);
    msgpack_sbuffer_destroy(&want);
}

static void test_bound_holds(void **state) {
    (void)state;
    size_t big = 70000;
    char *s = malloc(big);
    memset(s, 'x', big);
    le_event_t ev = enriched_event();
    assert_within_bound(&ev);
    ev.time_ms = INT64_MIN;
    ev.client_ts_ms = INT64_MAX;
    ev.type = 255;
    ev.source = 255;
    ev.id_kind = 255;
    ev.consent = ev.gpc = ev.bot = ev.staff = true;
    memset(ev.id, 'f', LE_ID_HEX_LEN);
    ev.id[LE_ID_HEX_LEN] = '\0';
    ev.name = ev.url = ev.ref = ev.title = ev.vid = ev.form_id = ev.ip = ev.ua = ev.lang =
        (le_str_t){s, big};
    le_kv_t many[70];
    for (int i = 0; i < 70; i++) many[i] = (le_kv_t){{s, big - (size_t)i}, {s, (size_t)i}};
    ev.props = many;
    ev.nprops = 70;
    ev.fields = many;
    ev.nfields = 70;
    ev.x.latitude = -1e300;
    ev.x.longitude = 1e300;
    ev.x.has_location = true;
    ev.x.accuracy_km = ev.x.asn = ev.x.bot_reasons = UINT32_MAX;
    ev.x.network = ev.x.anon = ev.x.device_class = 255;
    ev.x.from_ranges = true;
    ev.x.city = ev.x.org = ev.x.language = (le_str_t){s, big};
    assert_within_bound(&ev);
    /* and the smallest: nothing but the version */
    le_event_t empty;
    memset(&empty, 0, sizeof(empty));
    assert_within_bound(&empty);
    free(s);
}

/* ---- hand-built records -------------------------------------------------- */

#define K(pk, lit) msgpack_pack_str_with_body((pk), (lit), sizeof(lit) - 1)

static void test_unknown_keys_tolerated(void **state) {
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    K(&pk, "zz"); /* before "v": order does not matter */
    msgpack_pack_array(&pk, 7);
    msgpack_pack_nil(&pk);
    msgpack_pack_double(&pk, 2.5);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_map(&pk, 1);
    K(&pk, "a");
    msgpack_pack_bin_with_body(&pk, "xy", 2);
    msgpack_pack_ext_with_body(&pk, "abc", 3, 5);
    msgpack_pack_int64(&pk, -100000);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    K(&pk, "v");
    msgpack_pack_uint8(&pk, 2); /* a later version */
    K(&pk, "t");
    msgpack_pack_int64(&pk, 7);
    K(&pk, "future");
    msgpack_pack_ext_with_body(&pk, "12345678", 8, 1); /* fixext 8 */
    K(&pk, "deep");
    for (int i = 0; i < 200; i++) msgpack_pack_array(&pk, 1); /* nesting needs no stack */
    msgpack_pack_nil(&pk);

    le_event_t ev;
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    assert_int_equal(le_record_decode(sb.data, sb.size, &ev, &a), 0);
    assert_int_equal(ev.time_ms, 7);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_record_to_json(sb.data, sb.size, &out), 0);
    assert_non_null(strstr(le_buf_cstr(&out), "\"time_ms\":7"));
    le_buf_free(&out);
    le_arena_free(&a);
    msgpack_sbuffer_destroy(&sb);
}

static void test_signed_encodings_accepted(void **state) {
    (void)state;
    /* {"v": int8 1, "ty": int8 2, "t": int64 -1}: signed forms of small numbers. */
    const uint8_t rec[] = {0x83, 0xa1, 'v',  0xd0, 0x01, 0xa2, 't',  'y',  0xd0, 0x02, 0xa1,
                           't',  0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    le_event_t ev;
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    assert_int_equal(le_record_decode(rec, sizeof(rec), &ev, &a), 0);
    assert_int_equal(ev.type, LE_EV_EVENT);
    assert_int_equal(ev.time_ms, -1);
    le_arena_free(&a);
}

typedef void (*bad_fn)(msgpack_packer *pk);

static void bad_t_str(msgpack_packer *pk) {
    K(pk, "t");
    K(pk, "yesterday");
}
static void bad_t_huge(msgpack_packer *pk) {
    K(pk, "t");
    msgpack_pack_uint64(pk, (uint64_t)INT64_MAX + 1);
}
static void bad_ty_300(msgpack_packer *pk) {
    K(pk, "ty");
    msgpack_pack_uint16(pk, 300);
}
static void bad_ty_neg(msgpack_packer *pk) {
    K(pk, "ty");
    msgpack_pack_int8(pk, -1);
}
static void bad_u_int(msgpack_packer *pk) {
    K(pk, "u");
    msgpack_pack_int8(pk, 5);
}
static void bad_u_bin(msgpack_packer *pk) {
    K(pk, "u");
    msgpack_pack_bin_with_body(pk, "ab", 2);
}
static void bad_c_int(msgpack_packer *pk) {
    K(pk, "c");
    msgpack_pack_int8(pk, 1);
}
static void bad_p_array(msgpack_packer *pk) {
    K(pk, "p");
    msgpack_pack_array(pk, 1);
    K(pk, "a");
}
static void bad_p_int_val(msgpack_packer *pk) {
    K(pk, "p");
    msgpack_pack_map(pk, 1);
    K(pk, "a");
    msgpack_pack_int8(pk, 1);
}
static void bad_ff_int_key(msgpack_packer *pk) {
    K(pk, "ff");
    msgpack_pack_map(pk, 1);
    msgpack_pack_int8(pk, 1);
    K(pk, "a");
}
static void bad_id_long(msgpack_packer *pk) {
    K(pk, "id");
    K(pk, ID "0");
}
static void bad_int_key(msgpack_packer *pk) {
    msgpack_pack_int8(pk, 1);
    msgpack_pack_int8(pk, 2);
}
static void bad_v_zero(msgpack_packer *pk) {
    K(pk, "v");
    msgpack_pack_uint8(pk, 0);
}

static void test_wrong_types_are_corrupt(void **state) {
    (void)state;
    bad_fn cases[] = {bad_t_str,   bad_t_huge,  bad_ty_300,  bad_ty_neg,    bad_u_int,
                      bad_u_bin,   bad_c_int,   bad_p_array, bad_p_int_val, bad_ff_int_key,
                      bad_id_long, bad_int_key, bad_v_zero};
    for (size_t i = 0; i < LE_ARRAY_SIZE(cases); i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        K(&pk, "v");
        msgpack_pack_uint8(&pk, 1);
        cases[i](&pk);

        le_event_t ev;
        le_arena_t a;
        le_arena_init(&a, NULL, 0);
        le_buf_t out = LE_BUF_INIT;
        le_buf_puts(&out, "keep");
        if (le_record_decode(sb.data, sb.size, &ev, &a) != LE_ECORRUPT)
            fail_msg("case %zu decoded", i);
        assert_int_equal(le_record_to_json(sb.data, sb.size, &out), LE_ECORRUPT);
        assert_int_equal(le_record_to_text(sb.data, sb.size, &out), LE_ECORRUPT);
        assert_int_equal(out.len, 4); /* unchanged */
        le_buf_free(&out);
        le_arena_free(&a);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_malformed_payloads(void **state) {
    (void)state;
    le_event_t ev = full_event(), got;
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    msgpack_sbuffer sb;
    encode(&ev, &sb);

    /* Every truncation. */
    for (size_t n = 0; n < sb.size; n++)
        assert_int_equal(le_record_decode(sb.data, n, &got, &a), LE_ECORRUPT);
    /* Trailing bytes. */
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    assert_int_equal(le_record_decode(sb.data, sb.size, &got, &a), LE_ECORRUPT);
    msgpack_sbuffer_destroy(&sb);

    const uint8_t no_v[] = {0x81, 0xa1, 't', 0x05};
    const uint8_t array[] = {0x91, 0x01};
    const uint8_t never_used[] = {0x81, 0xa1, 'v', 0xc1};
    /* A map claiming 2^32-1 entries must not allocate for them. */
    const uint8_t huge_map[] = {0x82, 0xa1, 'v', 0x01, 0xa1, 'p', 0xdf, 0xff, 0xff, 0xff, 0xff};
    const uint8_t huge_str[] = {0x81, 0xa1, 'v', 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    assert_int_equal(le_record_decode(no_v, sizeof(no_v), &got, &a), LE_ECORRUPT);
    assert_int_equal(le_record_decode(array, sizeof(array), &got, &a), LE_ECORRUPT);
    assert_int_equal(le_record_decode(never_used, sizeof(never_used), &got, &a), LE_ECORRUPT);
    assert_int_equal(le_record_decode(huge_map, sizeof(huge_map), &got, &a), LE_ECORRUPT);
    assert_int_equal(le_record_decode(huge_str, sizeof(huge_str), &got, &a), LE_ECORRUPT);
    le_arena_free(&a);
}

static void test_invalid_utf8_is_not_json(void **state) {
    (void)state;
    le_event_t ev = {0};
    ev.time_ms = 1;
    ev.url = LE_STR("https://x/\xff\xfe");
    msgpack_sbuffer sb;
    encode(&ev, &sb);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_record_to_json(sb.data, sb.size, &out), LE_ECORRUPT);
    assert_int_equal(out.len, 0);
    assert_int_equal(le_record_to_text(sb.data, sb.size, &out), 0); /* text shows raw bytes */
    le_buf_reset(&out);
    msgpack_sbuffer_destroy(&sb);

    /* A NUL in a prop key is not an event string either (event.h). */
    le_kv_t kv = {{"a\0b", 3}, LE_STR("v")};
    ev.url = LE_STR("https://x/");
    ev.props = &kv;
    ev.nprops = 1;
    encode(&ev, &sb);
    assert_int_equal(le_record_to_json(sb.data, sb.size, &out), LE_ECORRUPT);
    le_buf_free(&out);
    msgpack_sbuffer_destroy(&sb);
}

static void test_mutations_never_crash(void **state) {
    (void)state;
    le_event_t ev = full_event(), got;
    msgpack_sbuffer sb;
    encode(&ev, &sb);
    char *m = malloc(sb.size);
    srand(4242);
    int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(m, sb.data, sb.size);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++) m[rand() % sb.size] = (char)rand();
        size_t n = rand() % 4 ? sb.size : (size_t)rand() % sb.size;
        le_arena_t a;
        le_arena_init(&a, NULL, 0);
        int rc = le_record_decode(m, n, &got, &a);
        assert_true(rc == 0 || rc == LE_ECORRUPT);
        le_buf_t out = LE_BUF_INIT;
        rc = le_record_to_json(m, n, &out);
        assert_true(rc == 0 || rc == LE_ECORRUPT);
        if (rc == 0) {
            json_error_t jerr;
            json_t *o = json_loadb(out.data, out.len, 0, &jerr);
            if (!o) fail_msg("invalid JSON (%s): %.*s", jerr.text, (int)out.len, out.data);
            json_decref(o);
            ok++;
        }
        rc = le_record_to_text(m, n, &out);
        assert_true(rc == 0 || rc == LE_ECORRUPT);
        le_buf_free(&out);
        le_arena_free(&a);
    }
    assert_true(ok > 0); /* some mutations only touch string contents */
    free(m);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- enrichment ----------------------------------------------------------- */

static le_event_t enriched_event(void) {
    le_event_t ev = full_event();
    le_enrichment_t *x = &ev.x;
    ev.enriched = true;
    x->country_code = LE_STR("DE");
    x->country = LE_STR("Deutschland");
    x->region_code = LE_STR("BY");
    x->region = LE_STR("Bayern");
    x->city = LE_STR("M\xc3\xbcnchen");
    x->postal = LE_STR("80331");
    x->time_zone = LE_STR("Europe/Berlin");
    x->continent = LE_STR("Europa");
    x->latitude = 48.1374;
    x->longitude = -11.5755;
    x->accuracy_km = 20;
    x->has_location = true;
    x->company = LE_STR("Example GmbH");
    x->company_key = LE_STR("example");
    x->domain = LE_STR("example.de");
    x->org = LE_STR("Example GmbH");
    x->as_org = LE_STR("Example Networks");
    x->connection_type = LE_STR("Corporate");
    x->user_type = LE_STR("business");
    x->asn = 4294967295u;
    x->network = LE_NET_BUSINESS;
    x->anon = LE_ANON_VPN | LE_ANON_ANY;
    x->from_ranges = true;
    x->browser = LE_STR("Chrome");
    x->browser_version = LE_STR("131.0.6778.86");
    x->os = LE_STR("Windows");
    x->os_version = LE_STR("11");
    x->device = LE_STR("Other");
    x->brand = LE_STR("Google");
    x->model = LE_STR("Pixel 9");
    x->device_class = LE_DEV_DESKTOP;
    x->bot_reasons = LE_BOT_NETWORK | LE_BOT_FAST_FORM;
    x->language = LE_STR("de-DE");
    return ev;
}

static void test_enrichment_round_trip(void **state) {
    (void)state;
    le_event_t ev = enriched_event(), got;
    msgpack_sbuffer sb;
    encode(&ev, &sb);
    char mem[1024];
    le_arena_t a;
    le_arena_init(&a, mem, sizeof(mem));
    assert_int_equal(le_record_decode(sb.data, sb.size, &got, &a), 0);
    assert_true(got.enriched);
    const le_enrichment_t *x = &ev.x, *y = &got.x;
    assert_str(y->country_code, x->country_code);
    assert_str(y->country, x->country);
    assert_str(y->region_code, x->region_code);
    assert_str(y->region, x->region);
    assert_str(y->city, x->city);
    assert_str(y->postal, x->postal);
    assert_str(y->time_zone, x->time_zone);
    assert_str(y->continent, x->continent);
    assert_true(y->has_location);
    assert_true(y->latitude == x->latitude && y->longitude == x->longitude);
    assert_int_equal(y->accuracy_km, 20);
    assert_str(y->company, x->company);
    assert_str(y->company_key, x->company_key);
    assert_str(y->domain, x->domain);
    assert_str(y->org, x->org);
    assert_str(y->as_org, x->as_org);
    assert_str(y->connection_type, x->connection_type);
    assert_str(y->user_type, x->user_type);
    assert_int_equal(y->asn, x->asn);
    assert_int_equal(y->network, LE_NET_BUSINESS);
    assert_int_equal(y->anon, x->anon);
    assert_true(y->from_ranges);
    assert_str(y->browser, x->browser);
    assert_str(y->browser_version, x->browser_version);
    assert_str(y->os, x->os);
    assert_str(y->os_version, x->os_version);
    assert_str(y->device, x->device);
    assert_str(y->brand, x->brand);
    assert_str(y->model, x->model);
    assert_int_equal(y->device_class, LE_DEV_DESKTOP);
    assert_int_equal(y->bot_reasons, x->bot_reasons);
    assert_str(y->language, x->language);
    assert_str(got.url, ev.url); /* the rest of the record is untouched */

    /* A not-enriched record decodes as not enriched, with x all zero. */
    le_event_t plain = full_event();
    msgpack_sbuffer sb2;
    encode(&plain, &sb2);
    assert_int_equal(le_record_decode(sb2.data, sb2.size, &got, &a), 0);
    assert_false(got.enriched);
    assert_int_equal(got.x.country.len, 0);
    assert_int_equal(got.x.network, 0);
    assert_true(sb.size > sb2.size);

    /* Truncating anywhere inside the record, enrichment included, is corruption. */
    for (size_t cut = 0; cut < sb.size; cut++)
        assert_int_equal(le_record_decode(sb.data, cut, &got, &a), LE_ECORRUPT);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&sb2);
    le_arena_free(&a);
}

/* The snippet's id equal to the record's id is written as `true` and read back as the id. */
static void test_vid_same_as_id(void **state) {
    (void)state;
    le_event_t ev = full_event(), got;
    msgpack_sbuffer a, b;
    encode(&ev, &a); /* vid "v-123": written out */
    ev.vid = le_str(ev.id);
    encode(&ev, &b);
    assert_int_equal(a.size - strlen("v-123"), b.size - 0); /* a str of 5 against `true` */
    char mem[1024];
    le_arena_t ar;
    le_arena_init(&ar, mem, sizeof(mem));
    assert_int_equal(le_record_decode(b.data, b.size, &got, &ar), 0);
    assert_str(got.vid, le_str(ev.id));
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_record_to_json(b.data, b.size, &out), 0);
    char want[80];
    snprintf(want, sizeof(want), "\"vid\":\"%s\"", ev.id);
    assert_non_null(strstr(le_buf_cstr(&out), want));
    le_buf_free(&out);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
    le_arena_free(&ar);
}

/* Enrichment: only the slots up to the last known field; records with the older map "x" and
 * arrays from a later version (more slots) decode; a slot of the wrong type is corruption. */
static void test_enrichment_slots_and_old_map(void **state) {
    (void)state;
    le_event_t ev = {0}, got;
    ev.type = LE_EV_PAGEVIEW;
    ev.enriched = true;
    ev.x.country_code = LE_STR("AT");
    msgpack_sbuffer sb;
    encode(&ev, &sb);
    /* ... 0xa1 'X' 0x91 0xa2 'A' 'T' at the end: one slot */
    assert_memory_equal(sb.data + sb.size - 6,
                        "\xa1X\x91\xa2"
                        "AT",
                        6);
    msgpack_sbuffer_destroy(&sb);
    ev.x.bot_reasons = 4; /* the last slot: all 32, nil between */
    encode(&ev, &sb);
    const char *arr = memmem(sb.data, sb.size,
                             "\xa1X\xdc\x00\x20\xa2"
                             "AT",
                             8);
    assert_non_null(arr);
    assert_int_equal((size_t)(sb.data + sb.size - (arr + 8)), 31); /* 30 nils and the 4 */
    assert_int_equal(sb.data[sb.size - 1], 4);
    msgpack_sbuffer_destroy(&sb);

    char mem[1024];
    le_arena_t ar;
    le_arena_init(&ar, mem, sizeof(mem));
    /* a record of the older form, written with msgpack-c */
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    ref_str(&pk, LE_STR("v"));
    msgpack_pack_uint8(&pk, 1);
    ref_str(&pk, LE_STR("id"));
    ref_str(&pk, LE_STR("0123456789abcdef0123456789abcdef"));
    ref_str(&pk, LE_STR("x"));
    msgpack_pack_map(&pk, 5);
    ref_str(&pk, LE_STR("cc"));
    ref_str(&pk, LE_STR("DE"));
    ref_str(&pk, LE_STR("la"));
    msgpack_pack_double(&pk, 1.5);
    ref_str(&pk, LE_STR("lo"));
    msgpack_pack_double(&pk, 2.5);
    ref_str(&pk, LE_STR("nw"));
    msgpack_pack_uint8(&pk, LE_NET_BUSINESS);
    ref_str(&pk, LE_STR("br"));
    ref_str(&pk, LE_STR("Firefox"));
    assert_int_equal(le_record_decode(sb.data, sb.size, &got, &ar), 0);
    assert_true(got.enriched && got.x.has_location);
    assert_str(got.x.country_code, LE_STR("DE"));
    assert_str(got.x.browser, LE_STR("Firefox"));
    assert_int_equal(got.x.network, LE_NET_BUSINESS);
    assert_true(got.x.longitude == 2.5);
    msgpack_sbuffer_destroy(&sb);

    /* an array with a slot from a later version, and one with a wrong type */
    for (int bad = 0; bad < 2; bad++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        ref_str(&pk, LE_STR("v"));
        msgpack_pack_uint8(&pk, 1);
        ref_str(&pk, LE_STR("X"));
        msgpack_pack_array(&pk, 34);
        for (int i = 0; i < 34; i++) {
            if (i == 0)
                ref_str(&pk, LE_STR("CH"));
            else if (i == 27)
                bad ? ref_str(&pk, LE_STR("business")) : (void)msgpack_pack_uint8(&pk, 1);
            else if (i == 33)
                msgpack_pack_map(&pk, 0); /* a later version's slot */
            else
                msgpack_pack_nil(&pk);
        }
        int rc = le_record_decode(sb.data, sb.size, &got, &ar);
        if (bad) {
            assert_int_equal(rc, LE_ECORRUPT);
        } else {
            assert_int_equal(rc, 0);
            assert_str(got.x.country_code, LE_STR("CH"));
            assert_int_equal(got.x.network, LE_NET_BUSINESS);
            assert_false(got.x.has_location);
        }
        msgpack_sbuffer_destroy(&sb);
    }
    le_arena_free(&ar);
}

static void test_enrichment_json(void **state) {
    (void)state;
    le_event_t ev = enriched_event();
    msgpack_sbuffer sb;
    encode(&ev, &sb);
    le_buf_t out = LE_BUF_INIT;
    assert_int_equal(le_record_to_json(sb.data, sb.size, &out), 0);
    json_error_t err;
    json_t *o = json_loadb(out.data, out.len, 0, &err);
    assert_non_null(o);
    json_t *geo = json_object_get(o, "geo"), *co = json_object_get(o, "company"),
           *dev = json_object_get(o, "device");
    assert_non_null(geo);
    assert_non_null(co);
    assert_non_null(dev);
    assert_json_str(geo, "city", LE_STR("M\xc3\xbcnchen"));
    assert_json_str(geo, "region_code", LE_STR("BY"));
    assert_true(json_real_value(json_object_get(geo, "longitude")) == -11.5755);
    assert_int_equal(json_integer_value(json_object_get(geo, "accuracy_km")), 20);
    assert_json_str(co, "name", LE_STR("Example GmbH"));
    assert_json_str(co, "key", LE_STR("example"));
    assert_json_str(co, "network", LE_STR("business"));
    assert_json_str(co, "source", LE_STR("ranges"));
    assert_int_equal(json_integer_value(json_object_get(co, "asn")), 4294967295LL);
    json_t *anon = json_object_get(co, "anonymiser");
    assert_int_equal(json_array_size(anon), 2);
    assert_string_equal(json_string_value(json_array_get(anon, 0)), "anonymous");
    assert_string_equal(json_string_value(json_array_get(anon, 1)), "vpn");
    assert_json_str(dev, "class", LE_STR("desktop"));
    assert_json_str(dev, "os_version", LE_STR("11"));
    assert_json_str(o, "language", LE_STR("de-DE"));
    json_t *bot = json_object_get(o, "bot_reasons");
    assert_int_equal(json_array_size(bot), 2);
    assert_string_equal(json_string_value(json_array_get(bot, 0)), "network");
    assert_string_equal(json_string_value(json_array_get(bot, 1)), "fast_form");
    json_decref(o);

    /* Without enrichment there are no such objects. */
    le_event_t plain = full_event();
    msgpack_sbuffer sb2;
    encode(&plain, &sb2);
    out.len = 0;
    assert_int_equal(le_record_to_json(sb2.data, sb2.size, &out), 0);
    o = json_loadb(out.data, out.len, 0, &err);
    assert_null(json_object_get(o, "geo"));
    assert_null(json_object_get(o, "bot_reasons"));
    json_decref(o);
    le_buf_free(&out);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&sb2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_round_trip),
        cmocka_unit_test(test_enrichment_round_trip),
        cmocka_unit_test(test_vid_same_as_id),
        cmocka_unit_test(test_enrichment_slots_and_old_map),
        cmocka_unit_test(test_enrichment_json),
        cmocka_unit_test(test_json_every_field),
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_text_forms),
        cmocka_unit_test(test_empty_fields_omitted),
        cmocka_unit_test(test_bytes_match_msgpack_c),
        cmocka_unit_test(test_bound_holds),
        cmocka_unit_test(test_unknown_keys_tolerated),
        cmocka_unit_test(test_signed_encodings_accepted),
        cmocka_unit_test(test_wrong_types_are_corrupt),
        cmocka_unit_test(test_malformed_payloads),
        cmocka_unit_test(test_invalid_utf8_is_not_json),
        cmocka_unit_test(test_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
