/*
 * ua_hints.c: User-Agent Client Hints (Sec-CH-UA-*) applied to a parse.
 *
 * Chromium-based browsers freeze most of the User-Agent ("Windows NT 10.0" on Windows 11,
 * "Mac OS X 10_15_7" on any macOS, "Android 10; K", "Chrome/124.0.0.0") and send the real
 * values as Client Hints, structured fields (RFC 8941):
 *
 *   Sec-CH-UA:                   "Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"
 *   Sec-CH-UA-Full-Version-List: "Chromium";v="124.0.6367.91", "Google Chrome";v="124.0.6367.91"
 *   Sec-CH-UA-Mobile:            ?0
 *   Sec-CH-UA-Platform:          "Windows"
 *   Sec-CH-UA-Platform-Version:  "15.0.0"
 *   Sec-CH-UA-Model:             "Pixel 7"
 *
 * A value that is not a valid structured field of its type is ignored as a whole (RFC 8941
 * §4.2: a failed parse means the field is ignored). Within a valid list, members that are not
 * strings are skipped. Nothing here allocates or fails.
 */
#include "ua.h"

#define MAX_BRANDS 16

typedef struct {
    le_str_t brand;   /* raw string contents (escapes left in place) */
    le_str_t version; /* the "v" parameter, when it is a string */
} brand_t;

typedef struct {
    const char *p, *end;
} cur_t;

static bool lcalpha(char c) {
    return c >= 'a' && c <= 'z';
}
static bool digit(char c) {
    return c >= '0' && c <= '9';
}
static bool alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool tchar(char c) {
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
        case ':':
        case '/':
            return true;
        default:
            return alpha(c) || digit(c);
    }
}
static bool keychar(char c) {
    return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}

static void sp(cur_t *c) {
    while (c->p < c->end && *c->p == ' ') c->p++;
}
static void ows(cur_t *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

enum { T_BAD = 0, T_STRING, T_TOKEN, T_NUMBER, T_BOOL, T_BYTES };

/* One bare item at c->p; *v is its contents (string without quotes, boolean "0"/"1"). */
static int bare_item(cur_t *c, le_str_t *v) {
    if (c->p >= c->end) return T_BAD;
    const char *s = c->p;
    if (*s == '"') {
        const char *q = s + 1;
        while (q < c->end && *q != '"') {
            unsigned char ch = (unsigned char)*q;
            if (ch == '\\') {
                if (q + 1 >= c->end || (q[1] != '"' && q[1] != '\\')) return T_BAD;
                q += 2;
                continue;
            }
            if (ch < 0x20 || ch > 0x7e) return T_BAD;
            q++;
        }
        if (q >= c->end) return T_BAD;
        *v = (le_str_t){s + 1, (size_t)(q - s - 1)};
        c->p = q + 1;
        return T_STRING;
    }
    if (*s == '?') {
        if (s + 1 >= c->end || (s[1] != '0' && s[1] != '1')) return T_BAD;
        *v = (le_str_t){s + 1, 1};
        c->p = s + 2;
        return T_BOOL;
    }
    if (*s == '-' || digit(*s)) {
        const char *q = s + (*s == '-');
        size_t nd = 0, fd = 0;
        while (q < c->end && digit(*q)) q++, nd++;
        if (nd == 0 || nd > 15) return T_BAD;
        if (q < c->end && *q == '.') {
            q++;
            while (q < c->end && digit(*q)) q++, fd++;
            if (nd > 12 || fd == 0 || fd > 3) return T_BAD;
        }
        *v = (le_str_t){s, (size_t)(q - s)};
        c->p = q;
        return T_NUMBER;
    }
    if (*s == ':') {
        const char *q = s + 1;
        while (q < c->end && *q != ':') {
            if (!alpha(*q) && !digit(*q) && *q != '+' && *q != '/' && *q != '=') return T_BAD;
            q++;
        }
        if (q >= c->end) return T_BAD;
        *v = (le_str_t){s + 1, (size_t)(q - s - 1)};
        c->p = q + 1;
        return T_BYTES;
    }
    if (alpha(*s) || *s == '*') {
        const char *q = s + 1;
        while (q < c->end && tchar(*q)) q++;
        *v = (le_str_t){s, (size_t)(q - s)};
        c->p = q;
        return T_TOKEN;
    }
    return T_BAD;
}

/* Parameters after an item; the value of "v" (when a string) goes to *ver. false: syntax. */
static bool params(cur_t *c, le_str_t *ver) {
    while (c->p < c->end && *c->p == ';') {
        c->p++;
        sp(c);
        const char *k = c->p;
        if (c->p >= c->end || (!lcalpha(*c->p) && *c->p != '*')) return false;
        while (c->p < c->end && keychar(*c->p)) c->p++;
        size_t kn = (size_t)(c->p - k);
        le_str_t v = LE_STR("1");
        int t = T_BOOL;
        if (c->p < c->end && *c->p == '=') {
            c->p++;
            t = bare_item(c, &v);
            if (t == T_BAD) return false;
        }
        if (ver && kn == 1 && *k == 'v' && t == T_STRING) *ver = v;
    }
    return true;
}

/* A whole field holding one item; its bare item's type and value. T_BAD if not exactly that. */
static int single_item(le_str_t f, le_str_t *v) {
    cur_t c = {f.ptr, f.ptr + f.len};
    if (!f.ptr || !f.len) return T_BAD;
    sp(&c);
    int t = bare_item(&c, v);
    if (t == T_BAD || !params(&c, NULL)) return T_BAD;
    sp(&c);
    return c.p == c.end ? t : T_BAD;
}

/* A list of brands (Sec-CH-UA, Sec-CH-UA-Full-Version-List). -1 when the field is invalid. */
static int brand_list(le_str_t f, brand_t *out, int max) {
    cur_t c = {f.ptr, f.ptr + f.len};
    int n = 0;
    if (!f.ptr || !f.len) return -1;
    sp(&c);
    while (c.p < c.end) {
        le_str_t v, ver = {NULL, 0};
        if (*c.p == '(') { /* inner list: valid syntax, not a brand */
            c.p++;
            for (;;) {
                sp(&c);
                if (c.p >= c.end) return -1;
                if (*c.p == ')') break;
                if (bare_item(&c, &v) == T_BAD || !params(&c, NULL)) return -1;
                if (c.p < c.end && *c.p != ' ' && *c.p != ')') return -1;
            }
            c.p++;
            if (!params(&c, NULL)) return -1;
        } else {
            int t = bare_item(&c, &v);
            if (t == T_BAD || !params(&c, &ver)) return -1;
            if (t == T_STRING && n < max) out[n++] = (brand_t){v, ver};
        }
        ows(&c);
        if (c.p >= c.end) break;
        if (*c.p != ',') return -1;
        c.p++;
        ows(&c);
        if (c.p >= c.end) return -1; /* trailing comma */
    }
    return n;
}

/*
 * GREASE brands ("Not A;Brand", "Not_A Brand", "Not)A;Brand", ...) are random decoys; they
 * are never used: only a brand from brand_map below can name the browser.
 */

/* Split a dotted version of digits into up to 4 parts; false when it is not one. */
static int split_version(le_str_t v, le_str_t part[4]) {
    int n = 0;
    size_t i = 0;
    if (!v.len || v.len > 32) return 0;
    while (i < v.len) {
        size_t s = i;
        while (i < v.len && digit(v.ptr[i])) i++;
        if (i == s || n == 4) return 0;
        part[n++] = (le_str_t){v.ptr + s, i - s};
        if (i < v.len) {
            if (v.ptr[i] != '.') return 0;
            if (++i == v.len) return 0;
        }
    }
    return n;
}

static unsigned num(le_str_t s) {
    unsigned v = 0;
    for (size_t i = 0; i < s.len && i < 9; i++) v = v * 10 + (unsigned)(s.ptr[i] - '0');
    return v;
}

/* Client Hints brand -> the uap-core families it names. */
#define S(lit)                                                                                     \
    { lit, sizeof(lit) - 1 }
static const struct {
    le_str_t brand;
    le_str_t family[2];
} brand_map[] = {
    {S("Google Chrome"), {S("Chrome"), S("Chrome Mobile")}},
    {S("Microsoft Edge"), {S("Edge"), S("Edge Mobile")}},
    {S("Opera"), {S("Opera"), S("Opera Mobile")}},
    {S("Opera GX"), {S("Opera"), {NULL, 0}}},
    {S("Brave"), {S("Brave"), {NULL, 0}}},
    {S("Chromium"), {S("Chromium"), {NULL, 0}}},
    {S("Vivaldi"), {S("Vivaldi"), {NULL, 0}}},
    {S("Yandex"), {S("Yandex Browser"), {NULL, 0}}},
    {S("YaBrowser"), {S("Yandex Browser"), {NULL, 0}}},
    {S("Samsung Internet"), {S("Samsung Internet"), {NULL, 0}}},
    {S("Android WebView"), {S("Chrome Mobile WebView"), {NULL, 0}}},
};
#undef S

static bool str_same(le_str_t a, le_str_t b) {
    return a.len == b.len && a.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static bool brand_names(le_str_t brand, le_str_t family) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(brand_map); i++)
        if (str_same(brand, brand_map[i].brand))
            return str_same(family, brand_map[i].family[0]) ||
                   str_same(family, brand_map[i].family[1]);
    return false;
}

/* The entry of list[0..n) naming family, or NULL. */
static const brand_t *find_brand(const brand_t *list, int n, le_str_t family) {
    for (int i = 0; i < n; i++)
        if (brand_names(list[i].brand, family)) return &list[i];
    return NULL;
}

static const brand_t *find_exact(const brand_t *list, int n, const char *brand) {
    for (int i = 0; i < n; i++)
        if (le_str_eq(list[i].brand, brand)) return &list[i];
    return NULL;
}

/* Sec-CH-UA-Platform -> uap-core os family. */
static const char *platform_family(le_str_t p) {
    if (le_str_eq(p, "Windows")) return "Windows";
    if (le_str_eq(p, "macOS")) return "Mac OS X";
    if (le_str_eq(p, "Android")) return "Android";
    if (le_str_eq(p, "Chrome OS") || le_str_eq(p, "Chromium OS")) return "Chrome OS";
    if (le_str_eq(p, "Linux")) return "Linux";
    if (le_str_eq(p, "iOS")) return "iOS";
    return NULL;
}

/* Does the parsed os family agree with the platform's? Linux covers the distributions. */
static bool os_agrees(le_str_t parsed, const char *fam) {
    static const char *const linuxes[] = {
        "Linux",      "Ubuntu",   "Debian",        "Fedora",    "Red Hat", "SUSE",       "Kubuntu",
        "Linux Mint", "Mandriva", "Gentoo",        "Slackware", "CentOS",  "Arch Linux", "Xubuntu",
        "Lubuntu",    "Mageia",   "elementary OS", "PCLinuxOS", NULL};
    if (le_str_eq(parsed, fam)) return true;
    if (strcmp(fam, "Linux") == 0)
        for (const char *const *l = linuxes; *l; l++)
            if (le_str_eq(parsed, *l)) return true;
    return false;
}

/* Values being rebuilt: v[f] for every field. */
typedef struct {
    le_str_t v[LE_UA_FIELD_COUNT];
} vals_t;

static void set_version(vals_t *x, le_ua_field_t major, const le_str_t *part, int n) {
    for (int k = 0; k < 4; k++) x->v[major + k] = k < n ? part[k] : (le_str_t){NULL, 0};
}

static bool same_version(const vals_t *x, le_ua_field_t major, const le_str_t *part, int n) {
    for (int k = 0; k < 4; k++) {
        le_str_t want = k < n ? part[k] : (le_str_t){NULL, 0};
        le_str_t have = x->v[major + k];
        if (want.len != have.len || (want.len && memcmp(want.ptr, have.ptr, want.len) != 0))
            return false;
    }
    return true;
}

static void apply_os(vals_t *x, const le_ua_hints_t *h, uint8_t *flags) {
    le_str_t plat, pv;
    if (single_item(h->ch_ua_platform, &plat) != T_STRING) return;
    const char *fam = platform_family(plat);
    if (!fam) return;
    bool changed = false;
    if (!os_agrees(x->v[LE_UA_OS], fam)) {
        x->v[LE_UA_OS] = le_str(fam);
        set_version(x, LE_UA_OS_MAJOR, NULL, 0);
        changed = true;
    }
    le_str_t part[4];
    int n = single_item(h->ch_ua_platform_version, &pv) == T_STRING ? split_version(pv, part) : 0;
    if (n && strcmp(fam, "Windows") == 0) {
        /* Microsoft's table: 13+ = 11; 1..12 = 10; 0.1 = 7, 0.2 = 8, 0.3 = 8.1; 0.0 = older. */
        static const char *const win[] = {"7", "8", "8"};
        unsigned major = num(part[0]), minor = n > 1 ? num(part[1]) : 0;
        le_str_t w[2];
        int wn = 1;
        if (major >= 13)
            w[0] = LE_STR("11");
        else if (major >= 1)
            w[0] = LE_STR("10");
        else if (minor >= 1 && minor <= 3) {
            w[0] = le_str(win[minor - 1]);
            if (minor == 3) w[1] = LE_STR("1"), wn = 2;
        } else
            wn = 0;
        if (wn && !same_version(x, LE_UA_OS_MAJOR, w, wn)) {
            set_version(x, LE_UA_OS_MAJOR, w, wn);
            changed = true;
        }
    } else if (n && strcmp(fam, "Linux") != 0 && !same_version(x, LE_UA_OS_MAJOR, part, n)) {
        set_version(x, LE_UA_OS_MAJOR, part, n);
        changed = true;
    } else if (n && strcmp(fam, "Linux") == 0 && le_str_eq(x->v[LE_UA_OS], "Linux") &&
               !same_version(x, LE_UA_OS_MAJOR, part, n)) {
        set_version(x, LE_UA_OS_MAJOR, part, n);
        changed = true;
    }
    if (changed) *flags |= LE_UA_CH_OS;
}

static void apply_browser(vals_t *x, const le_ua_hints_t *h, uint8_t *flags) {
    brand_t list[MAX_BRANDS];
    le_str_t part[4];
    le_str_t fam = x->v[LE_UA_BROWSER];
    int n = brand_list(h->ch_ua_full_version_list, list, MAX_BRANDS);
    bool full = true;
    if (n <= 0) {
        n = brand_list(h->ch_ua, list, MAX_BRANDS);
        full = false;
    }
    if (n <= 0) return;
    const brand_t *b = find_brand(list, n, fam);
    /* Brave sends Chrome's User-Agent unchanged; only its brand tells them apart. */
    if (!b && le_str_eq(fam, "Chrome") && !find_exact(list, n, "Google Chrome") &&
        (b = find_exact(list, n, "Brave")) != NULL) {
        x->v[LE_UA_BROWSER] = LE_STR("Brave");
        *flags |= LE_UA_CH_BROWSER;
    }
    if (!b) return;
    int pn = split_version(b->version, part);
    if (!pn) return;
    if (full) {
        if (!same_version(x, LE_UA_BROWSER_MAJOR, part, pn)) {
            set_version(x, LE_UA_BROWSER_MAJOR, part, pn);
            *flags |= LE_UA_CH_BROWSER;
        }
    } else {
        le_str_t have = x->v[LE_UA_BROWSER_MAJOR];
        if (have.len == part[0].len && memcmp(have.ptr, part[0].ptr, have.len) == 0)
            return; /* same major: the User-Agent's minor and patch stand */
        set_version(x, LE_UA_BROWSER_MAJOR, part, 1);
        *flags |= LE_UA_CH_BROWSER;
    }
}

static void apply_model(vals_t *x, const le_ua_hints_t *h, uint8_t *flags) {
    le_str_t m;
    if (single_item(h->ch_ua_model, &m) != T_STRING || !m.len) return;
    for (size_t i = 0; i < m.len; i++)
        if (m.ptr[i] == '\\') return; /* escapes in a model name: not worth unescaping */
    le_str_t dev = x->v[LE_UA_DEVICE], old = x->v[LE_UA_MODEL];
    bool generic = le_str_eq(dev, "Other") || le_str_eq(dev, "K") ||
                   (dev.len >= 7 && memcmp(dev.ptr, "Generic", 7) == 0) ||
                   (old.len && dev.len == old.len && memcmp(dev.ptr, old.ptr, old.len) == 0);
    if (old.len == m.len && memcmp(old.ptr, m.ptr, m.len) == 0) return;
    x->v[LE_UA_MODEL] = m;
    if (generic) x->v[LE_UA_DEVICE] = m;
    *flags |= LE_UA_CH_MODEL;
}

void le_ua_apply_hints(le_ua_t *u, const le_ua_hints_t *h) {
    if (!h || u->spider || u->device_class == LE_DEV_BOT) return;
    vals_t x;
    for (int f = 0; f < LE_UA_FIELD_COUNT; f++) x.v[f] = le_ua_get(u, (le_ua_field_t)f);
    uint8_t flags = 0;
    apply_os(&x, h, &flags);
    apply_browser(&x, h, &flags);
    apply_model(&x, h, &flags);
    le_str_t mob;
    int mobile = single_item(h->ch_ua_mobile, &mob) == T_BOOL ? mob.ptr[0] - '0' : -1;
    if (mobile == 1 && u->device_class != LE_DEV_TABLET && u->device_class != LE_DEV_MOBILE) {
        u->device_class = LE_DEV_MOBILE;
        u->hints |= LE_UA_CH_MOBILE;
    }
    if (!(flags & (LE_UA_CH_OS | LE_UA_CH_BROWSER | LE_UA_CH_MODEL))) return;
    /* Rebuild the text from the new values (they point into u->text or the hint headers). */
    le_ua_t n;
    memset(&n, 0, offsetof(le_ua_t, text));
    n.device_class = u->device_class;
    n.spider = u->spider;
    n.hints = (uint8_t)(u->hints | flags);
    for (int f = 0; f < LE_UA_FIELD_COUNT; f++) le__ua_put(&n, (le_ua_field_t)f, x.v[f]);
    n.browser_known = !le_str_eq(le_ua_get(&n, LE_UA_BROWSER), "Other");
    /* The OS the platform names may change the class the User-Agent suggested: an unknown
     * device on a desktop OS is a desktop; an Android device (a tablet in desktop mode says
     * "Linux x86_64") that is not mobile (?0) is a tablet, as an Android UA without "Mobile". */
    le_str_t os = le_ua_get(&n, LE_UA_OS);
    if ((flags & LE_UA_CH_OS) && n.device_class == LE_DEV_OTHER &&
        le_str_eq(le_ua_get(&n, LE_UA_DEVICE), "Other") &&
        (le_str_eq(os, "Windows") || le_str_eq(os, "Mac OS X") || le_str_eq(os, "Linux") ||
         le_str_eq(os, "Chrome OS")))
        n.device_class = LE_DEV_DESKTOP;
    if ((flags & LE_UA_CH_OS) && mobile == 0 && le_str_eq(os, "Android") &&
        (n.device_class == LE_DEV_DESKTOP || n.device_class == LE_DEV_OTHER))
        n.device_class = LE_DEV_TABLET;
    memcpy(u, &n, offsetof(le_ua_t, text) + n.text_len);
}
