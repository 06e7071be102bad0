/*
 * ua.h: User-Agent and Client Hints -> browser, OS, device and device class.
 *
 * The rules are uap-core's regexes.yaml (Debian package uap-core), loaded once into an
 * immutable, reference-counted le_ua_rules_t that any number of threads share; a reload builds
 * a new object and swaps the pointer. Parsing follows uap-core's specification: for each of the
 * three parser lists (user_agent_parsers, os_parsers, device_parsers) the first rule whose regex
 * matches wins, its *_replacement keys override the capture groups ($1..$9 substituted, the
 * result trimmed; an empty value is absent), and "Other" is the family when nothing matches.
 * Regexes are PCRE2 with JIT; a literal prefilter (Aho-Corasick over the atoms every match
 * must contain) skips the rules that cannot match, so a parse runs a handful of regexes instead
 * of a thousand.
 *
 * On top of uap-core: a device class (desktop, mobile, tablet, bot), and Sec-CH-UA-* Client
 * Hints, which refine what a reduced User-Agent no longer says (Windows 11, macOS version, the
 * full browser version, the Android model).
 *
 * The result, le_ua_t, is self-contained (no pointers; memcpy-able), so a per-thread cache
 * (le_ua_cache_t) can hold copies. Everything here is pure: no I/O except loading the rules
 * file, no logging; errors come back as text appended to a le_buf_t.
 *
 * Bounds: only the first LE_UA_MATCH_MAX bytes of a User-Agent are matched (cut back to a
 * UTF-8 boundary); any bytes are accepted (NUL, invalid UTF-8). A value longer than
 * LE_UA_FIELD_MAX bytes, or one that no longer fits in the result's LE_UA_TEXT_MAX bytes of
 * text, is cut at a UTF-8 boundary; uap-core's test suites fit without cuts.
 */
#ifndef LE_UA_H
#define LE_UA_H

#include "buf.h"
#include "event.h"
#include "le.h"

/* Bytes of a User-Agent that are matched; the rest is ignored. */
#define LE_UA_MATCH_MAX 512
/* Longest single value kept in a le_ua_t, and the text space for all values together. */
#define LE_UA_FIELD_MAX 160
#define LE_UA_TEXT_MAX 336

typedef struct le_ua_rules_s le_ua_rules_t;

/*
 * Load uap-core's regexes.yaml and compile every rule (PCRE2, JIT when the platform has it).
 * On success *out holds a rules object with one reference and 0 is returned. On failure *out
 * is NULL, the return value is -errno (file could not be read) or LE_EINVAL (not a valid
 * regexes.yaml: empty, YAML syntax error, wrong shape, unknown key, a regex that does not
 * compile), and one line naming the file (and the rule's line:column when a rule is at fault)
 * is appended to err (if not NULL).
 */
int le_ua_rules_load(const char *regexes_yaml_path, le_ua_rules_t **out, le_buf_t *err);

/* Take another reference (atomic; any thread). Returns r. */
le_ua_rules_t *le_ua_rules_ref(le_ua_rules_t *r);

/* Drop a reference; the last one frees the rules. NULL is a no-op. */
void le_ua_rules_unref(le_ua_rules_t *r);

/*
 * Has the file changed on disk since it was loaded: (st_dev, st_ino, st_size, st_mtim) differ,
 * or the path no longer exists? A stat per call; the caller then loads a new rules object and
 * swaps it in. NULL: false.
 */
bool le_ua_rules_changed(const le_ua_rules_t *r);

/* Number of rules in each list (user agent, os, device) of a loaded rules object. */
void le_ua_rules_count(const le_ua_rules_t *r, size_t *ua, size_t *os, size_t *device);

/* Device classes (le_device_class_t, le_device_class_name) are part of the event vocabulary
 * in event.h: LE_DEV_OTHER (unknown, TV, console, feature phone, car...), LE_DEV_DESKTOP
 * (desktop OS and no device found), LE_DEV_MOBILE (phone), LE_DEV_TABLET, LE_DEV_BOT (uap-core
 * device family "Spider"). */

typedef enum {
    LE_UA_BROWSER = 0, /* uap-core user_agent family; "Other" when unknown */
    LE_UA_BROWSER_MAJOR,
    LE_UA_BROWSER_MINOR,
    LE_UA_BROWSER_PATCH,
    LE_UA_BROWSER_PATCH_MINOR,
    LE_UA_OS, /* os family; "Other" when unknown */
    LE_UA_OS_MAJOR,
    LE_UA_OS_MINOR,
    LE_UA_OS_PATCH,
    LE_UA_OS_PATCH_MINOR,
    LE_UA_DEVICE, /* device family; "Other" when unknown */
    LE_UA_BRAND,
    LE_UA_MODEL,
    LE_UA_FIELD_COUNT
} le_ua_field_t;

/* What Client Hints changed in a le_ua_t (bits of le_ua_t.hints). */
enum {
    LE_UA_CH_OS = 1u << 0,      /* os family or version from Sec-CH-UA-Platform(-Version) */
    LE_UA_CH_BROWSER = 1u << 1, /* browser version from Sec-CH-UA(-Full-Version-List) */
    LE_UA_CH_MOBILE = 1u << 2,  /* device class set to mobile by Sec-CH-UA-Mobile */
    LE_UA_CH_MODEL = 1u << 3,   /* model from Sec-CH-UA-Model */
};

/*
 * A parse result. Self-contained: the values live in text[] as (offset, length) pairs, so the
 * struct can be copied with memcpy. Values are not NUL-terminated; read them with le_ua_get.
 */
typedef struct {
    uint16_t off[LE_UA_FIELD_COUNT];
    uint8_t len[LE_UA_FIELD_COUNT];
    uint8_t device_class; /* le_device_class_t */
    uint8_t hints;        /* LE_UA_CH_* bits */
    bool spider;          /* device family is "Spider" */
    bool browser_known;   /* browser family is not "Other" */
    bool bot_token;       /* le_bot_ua_token(): a bot, tool or headless token in the UA */
    uint16_t text_len;
    char text[LE_UA_TEXT_MAX];
} le_ua_t;

/* One value of u; absent values have length 0. The view lives as long as *u. */
static inline le_str_t le_ua_get(const le_ua_t *u, le_ua_field_t f) {
    if ((unsigned)f >= LE_UA_FIELD_COUNT) return (le_str_t){u->text, 0};
    return (le_str_t){u->text + u->off[f], u->len[f]};
}

/*
 * Parse ua[0..len) under rules r into *out (fully overwritten). Thread-safe: any number of
 * threads may parse with the same rules at once. Each thread keeps its own PCRE2 match data,
 * JIT stack and prefilter scratch, created on its first parse (and grown if a later rules
 * object needs more); a parse does not allocate otherwise. ua may be NULL when len is 0.
 */
void le_ua_parse(const le_ua_rules_t *r, const char *ua, size_t len, le_ua_t *out);

/*
 * Client Hints as received (header values, borrowed, RFC 8941 structured fields); an absent
 * header is an empty string.
 */
typedef struct {
    le_str_t ch_ua;                   /* Sec-CH-UA: "Chromium";v="124", ... */
    le_str_t ch_ua_mobile;            /* Sec-CH-UA-Mobile: ?1 or ?0 */
    le_str_t ch_ua_platform;          /* Sec-CH-UA-Platform: "Windows" */
    le_str_t ch_ua_platform_version;  /* Sec-CH-UA-Platform-Version: "15.0.0" */
    le_str_t ch_ua_full_version_list; /* Sec-CH-UA-Full-Version-List: "Google Chrome";v="..." */
    le_str_t ch_ua_model;             /* Sec-CH-UA-Model: "Pixel 7" */
} le_ua_hints_t;

/*
 * Refine a parse with Client Hints (h may be NULL: nothing happens). A header that does not
 * parse as its structured-field type is ignored; nothing here fails. Bots (spider) are left
 * as they are. Rules (see docs/enrich-ua.md):
 *  - Platform "Windows" + Platform-Version: major >= 13 -> Windows 11, 1..12 -> Windows 10,
 *    0.1 -> 7, 0.2 -> 8, 0.3 -> 8.1 (Microsoft's table); macOS, Android, Chrome OS, Linux,
 *    iOS: the platform version fills os major/minor/patch. A platform that disagrees with the
 *    parsed OS replaces it.
 *  - Browser version from the Full-Version-List entry, else the Sec-CH-UA major, of the brand
 *    that names the parsed browser (Google Chrome -> Chrome, Microsoft Edge -> Edge, ...);
 *    GREASE brands ("Not A;Brand", "Not_A Brand", ...) are skipped.
 *  - Brave (Chrome's User-Agent unchanged) is told apart by its brand.
 *  - Mobile ?1 -> device class mobile unless tablet; ?0 with the platform Android replacing a
 *    desktop OS -> tablet. Model fills the model (and a generic device family).
 * u->hints records what changed. No allocation; ~150 ns for a full set of Chrome's hints.
 */
void le_ua_apply_hints(le_ua_t *u, const le_ua_hints_t *h);

/*
 * A per-thread cache of parses keyed by the User-Agent (its first LE_UA_MATCH_MAX bytes, which
 * is all a parse looks at) plus every Client Hint value. Not thread-safe: one per thread.
 * Set-associative (8 ways, least recently used evicted), capacity entries at most; a hit
 * compares the full key bytes, never the hash alone. A key longer than LE_UA_CACHE_KEY_MAX
 * bytes is parsed but not stored, so memory is bounded by
 * capacity * (sizeof(le_ua_t) + LE_UA_CACHE_KEY_MAX + 64) bytes. A hit costs ~40-90 ns.
 */
#define LE_UA_CACHE_KEY_MAX 1024
typedef struct le_ua_cache_s le_ua_cache_t;

/* capacity entries (rounded up to a multiple of 8); 0 = no caching (every lookup parses). */
le_ua_cache_t *le_ua_cache_new(size_t capacity);

/* NULL is a no-op. */
void le_ua_cache_free(le_ua_cache_t *c);

/*
 * The parse of ua refined by hints h (NULL: none) under rules r, from the cache or parsed and
 * stored. Entries made under other rules (a previous rules object, after a reload) never hit.
 * The pointer stays valid until the next call on c.
 */
const le_ua_t *le_ua_lookup(le_ua_cache_t *c, const le_ua_rules_t *r, le_str_t ua,
                            const le_ua_hints_t *h);

/* Counters since le_ua_cache_new; any out pointer may be NULL. */
void le_ua_cache_stats(const le_ua_cache_t *c, uint64_t *hits, uint64_t *misses, size_t *entries);

/* Internal, shared by ua.c, ua_hints.c and ua_cache.c. */

/* A number unique to each loaded rules object, never reused. */
uint64_t le__ua_rules_generation(const le_ua_rules_t *r);

/* Set field f of u to v (cut as the header says; text shared with an equal earlier value). */
void le__ua_put(le_ua_t *u, le_ua_field_t f, le_str_t v);

/* How many leading bytes of ua[0..len) a parse matches: LE_UA_MATCH_MAX at most, cut back so
 * that no UTF-8 sequence is split. Everything a parse returns depends on these bytes only. */
static inline size_t le__ua_match_len(const char *ua, size_t len) {
    if (len <= LE_UA_MATCH_MAX) return len;
    size_t k = LE_UA_MATCH_MAX;
    while (k > LE_UA_MATCH_MAX - 3 && ((unsigned char)ua[k] & 0xC0) == 0x80) k--;
    return k;
}

#endif
