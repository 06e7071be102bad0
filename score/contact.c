/*
 * contact.c: e-mail, domain sets, phone numbers, postal codes and roles from job titles
 * (contracts in contact.h, user-facing rules in docs/identity.md).
 *
 * Everything here works on bounded byte strings with hand-written checks: the patterns are
 * small (a domain label, a UK postcode) and a table of plain C is easier to review and
 * cheaper to run than regular expressions. Country rules are tables, one row per country,
 * so adding a country is adding a row.
 *
 * The domain set is an open-addressing hash table (linear probing, at most half full) of
 * lower-case names kept in one string pool; a lookup hashes each parent of the domain in
 * turn ("a.mail.gmx.de", "mail.gmx.de", "gmx.de"), so a few hash probes decide.
 *
 * Job titles are folded to lower-case ASCII words (libunistring decomposes the letters;
 * letters of other scripts become a byte 0x80 that no rule contains) and matched against an
 * ordered rule table; the first rule that matches decides.
 */
#include "contact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* ---- Bytes ------------------------------------------------------------------------------- */

static inline unsigned char lower(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline unsigned char upper(unsigned char c) {
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

static inline bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

static inline bool is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_alnum(unsigned char c) {
    return is_digit(c) || is_alpha(c);
}

/* Is c one of the bytes of set? (Never true for NUL.) */
static inline bool in_set(unsigned char c, const char *set) {
    return c != 0 && strchr(set, c) != NULL;
}

/* Bytes of white space at the start of s: ASCII white space, U+00A0, U+200B, U+FEFF. */
static size_t ws_head(const unsigned char *s, size_t n) {
    if (n >= 1 && in_set(s[0], " \t\r\n\v\f")) return 1;
    if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0) return 2;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0x8B) return 3;
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) return 3;
    return 0;
}

/* The same at the end of s. */
static size_t ws_tail(const unsigned char *s, size_t n) {
    if (n >= 1 && in_set(s[n - 1], " \t\r\n\v\f")) return 1;
    if (n >= 2 && s[n - 2] == 0xC2 && s[n - 1] == 0xA0) return 2;
    if (n >= 3 && s[n - 3] == 0xE2 && s[n - 2] == 0x80 && s[n - 1] == 0x8B) return 3;
    if (n >= 3 && s[n - 3] == 0xEF && s[n - 2] == 0xBB && s[n - 1] == 0xBF) return 3;
    return 0;
}

le_str_t le_text_trim(le_str_t s) {
    if (!s.ptr) return (le_str_t){"", 0};
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t n = s.len, k;
    while ((k = ws_head(p, n)) > 0) p += k, n -= k;
    while ((k = ws_tail(p, n)) > 0) n -= k;
    return (le_str_t){(const char *)p, n};
}

/* Write p[0..n) and a NUL to out, or fail with LE_ETOOBIG. */
static int put_out(const char *p, size_t n, char *out, size_t cap, size_t *outlen) {
    if (n >= cap) {
        if (cap > 0) out[0] = '\0';
        if (outlen) *outlen = 0;
        return LE_ETOOBIG;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    if (outlen) *outlen = n;
    return 0;
}

static int fail_out(int rc, char *out, size_t cap, size_t *outlen) {
    if (cap > 0) out[0] = '\0';
    if (outlen) *outlen = 0;
    return rc;
}

/*
 * A two-letter country code in upper case, with "UK" read as "GB"; false when c is NULL or
 * not two ASCII letters.
 */
static bool country_code(const char *c, char cc[3]) {
    if (!c || !is_alpha((unsigned char)c[0]) || !is_alpha((unsigned char)c[1]) || c[2] != '\0')
        return false;
    cc[0] = (char)upper((unsigned char)c[0]);
    cc[1] = (char)upper((unsigned char)c[1]);
    cc[2] = '\0';
    if (strcmp(cc, "UK") == 0) memcpy(cc, "GB", 3);
    return true;
}

/* ---- Domain names and e-mail ------------------------------------------------------------- */

/*
 * NULL when p[0..n) is a domain name as contact.h defines it (LDH labels, at least two, the
 * last starting with a letter), else why it is not.
 */
static const char *domain_error(const char *p, size_t n) {
    if (n == 0) return "empty domain name";
    if (n > 253) return "domain name longer than 253 bytes";
    size_t labels = 0, start = 0, last = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '.') {
            unsigned char c = (unsigned char)p[i];
            if (c >= 0x80)
                return "not an ASCII domain name (write internationalised names in punycode, "
                       "xn--...)";
            if (!is_alnum(c) && c != '-')
                return "only letters, digits, '-' and '.' may appear in a domain name";
            continue;
        }
        size_t len = i - start;
        if (len == 0) return "empty label (a leading, trailing or double dot)";
        if (len > 63) return "label longer than 63 bytes";
        if (p[start] == '-' || p[i - 1] == '-') return "label starts or ends with a hyphen";
        labels++;
        last = start;
        start = i + 1;
    }
    if (labels < 2) return "a single label: at least a name and a top-level domain are needed";
    if (n - last < 2 || !is_alpha((unsigned char)p[last]))
        return "the top-level domain must have two or more bytes and start with a letter";
    return NULL;
}

/* The characters of a dot-atom besides letters and digits (RFC 5322 atext). */
static inline bool atext(unsigned char c) {
    return is_alnum(c) || in_set(c, "!#$%&'*+-/=?^_`{|}~");
}

int le_email_normalize(const char *s, size_t n, char *out, size_t cap, size_t *outlen) {
    le_str_t t = le_text_trim((le_str_t){s, s ? n : 0});
    if (t.len == 0 || t.len > LE_EMAIL_MAX) return fail_out(LE_EINVAL, out, cap, outlen);
    const char *at = memchr(t.ptr, '@', t.len);
    if (!at) return fail_out(LE_EINVAL, out, cap, outlen);
    size_t ll = (size_t)(at - t.ptr), dl = t.len - ll - 1;
    const char *dom = at + 1;
    if (ll == 0 || ll > 64 || memchr(dom, '@', dl)) return fail_out(LE_EINVAL, out, cap, outlen);
    for (size_t i = 0; i < ll; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        if (c == '.') {
            if (i == 0 || i == ll - 1 || t.ptr[i - 1] == '.')
                return fail_out(LE_EINVAL, out, cap, outlen);
        } else if (!atext(c)) {
            return fail_out(LE_EINVAL, out, cap, outlen);
        }
    }
    if (domain_error(dom, dl)) return fail_out(LE_EINVAL, out, cap, outlen);
    if (t.len >= cap) return fail_out(LE_ETOOBIG, out, cap, outlen);
    memcpy(out, t.ptr, ll + 1);
    for (size_t i = 0; i < dl; i++) out[ll + 1 + i] = (char)lower((unsigned char)dom[i]);
    out[t.len] = '\0';
    if (outlen) *outlen = t.len;
    return 0;
}

le_str_t le_email_domain(le_str_t normalized) {
    for (size_t i = normalized.len; i > 0; i--)
        if (normalized.ptr[i - 1] == '@') return (le_str_t){normalized.ptr + i, normalized.len - i};
    return LE_STR_NULL;
}

/* ---- Domain sets ------------------------------------------------------------------------- */

typedef struct {
    uint64_t hash;
    uint32_t off; /* into the pool */
    uint32_t len; /* 0: an empty slot */
} slot_t;

struct le_domains {
    slot_t *slots;
    size_t mask; /* slot count - 1; the count is a power of two */
    size_t count;
    le_buf_t pool; /* the names, lower case, back to back */
};

/* FNV-1a over the lower-cased bytes, with a final mix so the low bits index well. */
static uint64_t hash_lower(const char *p, size_t n) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= lower((unsigned char)p[i]);
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* Equal, where a is lower case and b any case. */
static bool eq_lower(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a[i] != lower((unsigned char)b[i])) return false;
    return true;
}

static bool set_find(const le_domains_t *d, const char *p, size_t n, uint64_t h) {
    for (size_t i = h & d->mask;; i = (i + 1) & d->mask) {
        const slot_t *s = &d->slots[i];
        if (s->len == 0) return false;
        if (s->hash == h && s->len == n && eq_lower(d->pool.data + s->off, p, n)) return true;
    }
}

static void set_place(slot_t *slots, size_t mask, slot_t s) {
    size_t i = s.hash & mask;
    while (slots[i].len != 0) i = (i + 1) & mask;
    slots[i] = s;
}

static void set_grow(le_domains_t *d) {
    size_t n = (d->mask + 1) * 2;
    slot_t *slots = le_xcalloc(n, sizeof(slot_t));
    for (size_t i = 0; i <= d->mask; i++)
        if (d->slots[i].len) set_place(slots, n - 1, d->slots[i]);
    free(d->slots);
    d->slots = slots;
    d->mask = n - 1;
}

/* Insert a valid name (any case). */
static void set_insert(le_domains_t *d, const char *p, size_t n) {
    uint64_t h = hash_lower(p, n);
    if (set_find(d, p, n, h)) return;
    if ((d->count + 1) * 2 > d->mask + 1) set_grow(d);
    le_buf_reserve(&d->pool, n);
    slot_t s = {h, (uint32_t)d->pool.len, (uint32_t)n};
    for (size_t i = 0; i < n; i++) d->pool.data[d->pool.len + i] = (char)lower((unsigned char)p[i]);
    d->pool.len += n;
    set_place(d->slots, d->mask, s);
    d->count++;
}

le_domains_t *le_domains_new(void) {
    le_domains_t *d = le_xcalloc(1, sizeof(*d));
    d->mask = 63;
    d->slots = le_xcalloc(d->mask + 1, sizeof(slot_t));
    return d;
}

void le_domains_free(le_domains_t *d) {
    if (!d) return;
    free(d->slots);
    le_buf_free(&d->pool);
    free(d);
}

size_t le_domains_count(const le_domains_t *d) {
    return d ? d->count : 0;
}

/* Without one trailing dot. */
static le_str_t strip_dot(le_str_t s) {
    if (s.len > 0 && s.ptr[s.len - 1] == '.') s.len--;
    return s;
}

int le_domains_add(le_domains_t *d, le_str_t domain) {
    domain = strip_dot(domain);
    if (!domain.ptr || domain_error(domain.ptr, domain.len)) return LE_EINVAL;
    set_insert(d, domain.ptr, domain.len);
    return 0;
}

bool le_domains_has(const le_domains_t *d, le_str_t domain) {
    if (!d || !domain.ptr) return false;
    domain = strip_dot(domain);
    if (domain.len == 0 || domain.len > 253) return false;
    for (size_t i = 0; i < domain.len; i++) {
        if (i > 0 && domain.ptr[i - 1] != '.') continue;
        const char *p = domain.ptr + i;
        size_t n = domain.len - i;
        if (!memchr(p, '.', n)) break; /* a set never holds a single label */
        if (set_find(d, p, n, hash_lower(p, n))) return true;
    }
    return false;
}

/*
 * One line of a list: NULL when it is good (and its domain is added), else why it is bad.
 * tok gets the offending text for the message.
 */
static const char *load_line(le_domains_t *d, const char *p, size_t n, le_str_t *tok) {
    while (n > 0 && in_set((unsigned char)p[n - 1], " \t\r")) n--;
    while (n > 0 && in_set((unsigned char)*p, " \t")) p++, n--;
    *tok = (le_str_t){p, n};
    if (n == 0 || p[0] == '#') return NULL;
    size_t w = 0;
    while (w < n && !in_set((unsigned char)p[w], " \t")) w++;
    if (w < n) {
        size_t r = w;
        while (r < n && in_set((unsigned char)p[r], " \t")) r++;
        if (p[r] != '#') return "expected one domain name per line";
    }
    le_str_t dom = strip_dot((le_str_t){p, w});
    *tok = (le_str_t){p, w};
    const char *err = domain_error(dom.ptr, dom.len);
    if (err) return err;
    set_insert(d, dom.ptr, dom.len);
    return NULL;
}

/* tok as a quoted, escaped excerpt for a message. */
static void put_excerpt(le_buf_t *b, le_str_t tok) {
    le_buf_puts(b, "\"");
    for (size_t i = 0; i < tok.len && i < 64; i++) {
        unsigned char c = (unsigned char)tok.ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            le_buf_append(b, &c, 1);
        else
            le_buf_printf(b, "\\x%02x", c);
    }
    le_buf_puts(b, tok.len > 64 ? "...\"" : "\"");
}

int le_domains_load(le_domains_t *d, const char *name, le_str_t text, le_buf_t *errors) {
    const char *p = text.ptr ? text.ptr : "", *end = p + (text.ptr ? text.len : 0);
    size_t line = 0, bad = 0;
    if (!name) name = "(domain list)";
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        le_str_t tok;
        line++;
        const char *err = load_line(d, p, (size_t)(e - p), &tok);
        if (err && ++bad <= LE_DOMAINS_MAX_ERRORS && errors) {
            le_buf_printf(errors, "%s:%zu: ", name, line);
            put_excerpt(errors, tok);
            le_buf_printf(errors, ": %s\n", err);
        }
        p = nl ? nl + 1 : end;
    }
    if (bad > LE_DOMAINS_MAX_ERRORS && errors)
        le_buf_printf(errors, "%s: %zu more bad lines\n", name, bad - LE_DOMAINS_MAX_ERRORS);
    return bad ? LE_EINVAL : 0;
}

int le_domains_load_file(le_domains_t *d, const char *path, le_buf_t *errors) {
    char *data = NULL;
    size_t len = 0, cap = 0;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > LE_DOMAINS_FILE_MAX) { /* read one byte more than allowed: too big */
                rc = LE_ETOOBIG;
                goto out;
            }
            cap = cap ? LE_MIN(cap * 2, (size_t)LE_DOMAINS_FILE_MAX + 1) : 64 * 1024;
            data = le_xrealloc(data, cap);
        }
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = -errno;
            goto out;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    rc = le_domains_load(d, path, (le_str_t){data, len}, errors);
out:
    if (rc < 0 && rc != LE_EINVAL && errors) {
        if (rc == LE_ETOOBIG) {
            le_buf_printf(errors, "%s: larger than %u bytes\n", path, LE_DOMAINS_FILE_MAX);
        } else {
            char msg[128];
            le_buf_printf(errors, "%s: %s\n", path, strerror_r(-rc, msg, sizeof(msg)));
        }
    }
    if (fd >= 0) close(fd);
    free(data);
    return rc;
}

le_domain_kind_t le_domain_classify(const le_domains_t *freemail, const le_domains_t *disposable,
                                    le_str_t domain) {
    if (le_domains_has(disposable, domain)) return LE_DOMAIN_DISPOSABLE;
    if (le_domains_has(freemail, domain)) return LE_DOMAIN_FREEMAIL;
    return LE_DOMAIN_BUSINESS;
}

static const char *const kind_names[] = {"business", "freemail", "disposable"};

const char *le_domain_kind_name(le_domain_kind_t k) {
    return (unsigned)k < LE_ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

/* The index of the name s[0..n) in names, or -1. */
static int name_index(const char *const *names, size_t count, const char *s, size_t n) {
    if (!s) return -1;
    for (size_t i = 0; i < count; i++)
        if (le_str_ieq((le_str_t){s, n}, names[i])) return (int)i;
    return -1;
}

int le_domain_kind_parse(const char *s, size_t n) {
    return name_index(kind_names, LE_ARRAY_SIZE(kind_names), s, n);
}

/* ---- Phone numbers ----------------------------------------------------------------------- */

#define PHONE_IN_MAX 64 /* longest input accepted, in bytes */
#define PHONE_DIGITS 24 /* most digits collected from an input */

/* The numbering plan of a country: see the table in contact.h. */
typedef struct {
    char iso2[3];
    const char *cc;         /* country calling code */
    uint8_t min, max;       /* NSN length */
    const char *first;      /* digits an NSN may start with */
    uint8_t alt_len;        /* another NSN length allowed ... */
    const char *alt_pfx[2]; /* ... after one of these prefixes */
    bool nanp;              /* North American plan: trunk 1 optional, area/exchange rules */
} phone_plan_t;

static const phone_plan_t plans[] = {
    {"DE", "49", 5, 13, "123456789", 0, {NULL, NULL}, false},
    {"AT", "43", 4, 13, "123456789", 0, {NULL, NULL}, false},
    {"CH", "41", 9, 9, "23456789", 0, {NULL, NULL}, false},
    {"GB", "44", 10, 10, "1235789", 9, {"800", "16977"}, false},
    {"FR", "33", 9, 9, "123456789", 0, {NULL, NULL}, false},
    {"US", "1", 10, 10, "23456789", 0, {NULL, NULL}, true},
    {"CA", "1", 10, 10, "23456789", 0, {NULL, NULL}, true},
};

static const phone_plan_t *plan_by_country(const char *iso2) {
    char cc[3];
    if (!country_code(iso2, cc)) return NULL;
    for (size_t i = 0; i < LE_ARRAY_SIZE(plans); i++)
        if (strcmp(plans[i].iso2, cc) == 0) return &plans[i];
    return NULL;
}

/* The plan whose country code starts digits (country codes are prefix-free). */
static const phone_plan_t *plan_by_code(const char *dig, size_t n) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(plans); i++) {
        size_t k = strlen(plans[i].cc);
        if (n >= k && memcmp(dig, plans[i].cc, k) == 0) return &plans[i];
    }
    return NULL;
}

/* Is nsn[0..n) a valid national significant number of plan pl? */
static bool nsn_ok(const phone_plan_t *pl, const char *nsn, size_t n) {
    bool len_ok = n >= pl->min && n <= pl->max;
    if (!len_ok && pl->alt_len && n == pl->alt_len) {
        for (size_t i = 0; i < LE_ARRAY_SIZE(pl->alt_pfx) && pl->alt_pfx[i]; i++) {
            size_t k = strlen(pl->alt_pfx[i]);
            if (n >= k && memcmp(nsn, pl->alt_pfx[i], k) == 0) len_ok = true;
        }
    }
    if (!len_ok || !in_set((unsigned char)nsn[0], pl->first)) return false;
    if (pl->nanp) {
        /* Area code NXX and exchange NXX: N is 2-9; neither is an N11 service code. */
        if (nsn[3] < '2') return false;
        if (nsn[1] == '1' && nsn[2] == '1') return false;
        if (nsn[4] == '1' && nsn[5] == '1') return false;
    }
    return strlen(pl->cc) + n <= 15;
}

static int phone_out(const char *cc, size_t ccn, const char *nsn, size_t n, char *out, size_t cap,
                     size_t *outlen) {
    char buf[1 + 2 * PHONE_DIGITS];
    buf[0] = '+';
    memcpy(buf + 1, cc, ccn);
    memcpy(buf + 1 + ccn, nsn, n);
    return put_out(buf, 1 + ccn + n, out, cap, outlen);
}

int le_phone_e164(le_str_t in, const char *country_iso2, char *out, size_t cap, size_t *outlen) {
    le_str_t t = le_text_trim(in);
    const unsigned char *s = (const unsigned char *)t.ptr;
    char dig[PHONE_DIGITS];
    size_t nd = 0, paren_at = 0;
    long zero_at = -1; /* the index in dig of the digit of a "(0)" group */
    bool plus = false, paren = false;

    if (t.len == 0 || t.len > PHONE_IN_MAX) goto invalid;
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = s[i];
        if (is_digit(c)) {
            if (nd == sizeof(dig)) goto invalid;
            dig[nd++] = (char)c;
        } else if (c == '+') {
            if (i != 0) goto invalid;
            plus = true;
        } else if (c == '(') {
            if (paren) goto invalid;
            paren = true;
            paren_at = nd;
        } else if (c == ')') {
            if (!paren || nd == paren_at) goto invalid;
            paren = false;
            if (nd - paren_at == 1 && dig[paren_at] == '0') {
                if (zero_at >= 0) goto invalid;
                zero_at = (long)paren_at;
            }
        } else if (c == 0xC2 && i + 1 < t.len && s[i + 1] == 0xA0) {
            i++; /* no-break space */
        } else if (!in_set(c, " \t.-/")) {
            goto invalid;
        }
    }
    if (paren || nd == 0) goto invalid;

    const phone_plan_t *home = plan_by_country(country_iso2);
    size_t p = 0; /* where the country code starts */
    bool intl = plus;
    if (!plus && nd >= 2 && dig[0] == '0' && dig[1] == '0') {
        intl = true;
        p = 2;
    } else if (!plus && home && home->nanp && nd >= 3 && memcmp(dig, "011", 3) == 0) {
        intl = true;
        p = 3;
    }

    if (!intl) {
        /* National: the home country's trunk prefix; a "(0)" can only be that prefix. */
        if (!home || zero_at > 0) goto invalid;
        const char *nsn = dig;
        size_t n = nd;
        if (home->nanp) {
            if (n == 11 && nsn[0] == '1') nsn++, n--;
        } else {
            if (nsn[0] != '0') goto invalid;
            nsn++, n--;
        }
        if (n == 0 || !nsn_ok(home, nsn, n)) goto invalid;
        return phone_out(home->cc, strlen(home->cc), nsn, n, out, cap, outlen);
    }

    if (p >= nd || dig[p] == '0') goto invalid; /* no country code starts with 0 */
    if (zero_at >= 0 && (size_t)zero_at < p) goto invalid;
    const phone_plan_t *pl = plan_by_code(dig + p, nd - p);
    if (pl) {
        size_t ccn = strlen(pl->cc), q = p + ccn;
        if (zero_at >= 0) {
            if ((size_t)zero_at != q) goto invalid;
            q++;
        } else if (!pl->nanp && q < nd && dig[q] == '0') {
            q++; /* "+49 030 ...": a trunk 0 written after the country code */
        }
        if (q >= nd || !nsn_ok(pl, dig + q, nd - q)) goto invalid;
        return phone_out(pl->cc, ccn, dig + q, nd - q, out, cap, outlen);
    }
    /* Another country: "(0)" only right after a country code of 1..3 digits. */
    char num[PHONE_DIGITS];
    size_t nn = 0;
    for (size_t i = p; i < nd; i++) {
        if ((long)i == zero_at) {
            if (i - p < 1 || i - p > 3) goto invalid;
            continue;
        }
        num[nn++] = dig[i];
    }
    if (nn < 8 || nn > 15) goto invalid;
    /* "+4 (0)30 ...": dropping the zero must not make it another plan's number ("+430..."). */
    if (zero_at >= 0 && plan_by_code(num, nn)) goto invalid;
    return phone_out("", 0, num, nn, out, cap, outlen);

invalid:
    return fail_out(LE_EINVAL, out, cap, outlen);
}

/* ---- Postal codes ------------------------------------------------------------------------ */

#define POSTAL_IN_MAX 32 /* longest input accepted after trimming, in bytes */

/* The value of p[0..n) when it is exactly n decimal digits, else -1. */
static long digits_value(const char *p, size_t n) {
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i])) return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/*
 * The checkers: p[0..n) is the trimmed input without a country prefix; on success they
 * write the normal form to o (room for LE_POSTAL_SIZE) and return its length, else -1.
 */
typedef long (*postal_fn)(const char *p, size_t n, char *o);

static long postal_range(const char *p, size_t n, char *o, size_t len, long lo, long hi) {
    long v = n == len ? digits_value(p, n) : -1;
    if (v < lo || v > hi) return -1;
    memcpy(o, p, n);
    return (long)n;
}

static long postal_de(const char *p, size_t n, char *o) {
    return postal_range(p, n, o, 5, 1001, 99998);
}

static long postal_at(const char *p, size_t n, char *o) {
    return postal_range(p, n, o, 4, 1010, 9992);
}

static long postal_ch(const char *p, size_t n, char *o) {
    return postal_range(p, n, o, 4, 1000, 9658);
}

static long postal_li(const char *p, size_t n, char *o) {
    return postal_range(p, n, o, 4, 9485, 9498);
}

static long postal_fr(const char *p, size_t n, char *o) {
    long v = n == 5 ? digits_value(p, n) : -1;
    long dept = v / 1000;
    if (v < 0 || dept < 1 || dept == 96 || dept > 98) return -1;
    memcpy(o, p, n);
    return (long)n;
}

static long postal_us(const char *p, size_t n, char *o) {
    if (n < 5 || digits_value(p, 5) <= 0) return -1; /* 00000 is no ZIP code */
    memcpy(o, p, 5);
    if (n == 5) return 5;
    const char *plus4;
    if (n == 10 && (p[5] == '-' || p[5] == ' '))
        plus4 = p + 6;
    else if (n == 9)
        plus4 = p + 5;
    else
        return -1;
    if (digits_value(plus4, 4) < 0) return -1;
    o[5] = '-';
    memcpy(o + 6, plus4, 4);
    return 10;
}

/* The outward code of a UK postcode: A9, A99, A9A, AA9, AA99 or AA9A, letters restricted. */
static bool gb_outward(const char *o, size_t n) {
    if (n < 2 || n > 4 || !in_set((unsigned char)o[0], "ABCDEFGHIJKLMNOPRSTUWYZ")) return false;
    if (is_digit((unsigned char)o[1])) {
        if (n == 2) return true;
        return n == 3 &&
               (is_digit((unsigned char)o[2]) || in_set((unsigned char)o[2], "ABCDEFGHJKPSTUW"));
    }
    if (!in_set((unsigned char)o[1], "ABCDEFGHKLMNOPQRSTUVWXY")) return false;
    if (n < 3 || !is_digit((unsigned char)o[2])) return false;
    if (n == 3) return true;
    return is_digit((unsigned char)o[3]) || in_set((unsigned char)o[3], "ABEHMNPRVWXY");
}

static long postal_gb(const char *p, size_t n, char *o) {
    char c[8];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ' ' || p[i] == '\t') continue;
        if (k == sizeof(c)) return -1;
        c[k++] = (char)upper((unsigned char)p[i]);
    }
    if (k < 5 || k > 7) return -1;
    const char *inw = c + k - 3;
    bool ok =
        (k == 6 && memcmp(c, "GIR0AA", 6) == 0) ||
        (is_digit((unsigned char)inw[0]) && in_set((unsigned char)inw[1], "ABDEFGHJLNPQRSTUWXYZ") &&
         in_set((unsigned char)inw[2], "ABDEFGHJLNPQRSTUWXYZ") && gb_outward(c, k - 3));
    if (!ok) return -1;
    memcpy(o, c, k - 3);
    o[k - 3] = ' ';
    memcpy(o + k - 2, inw, 3);
    return (long)k + 1;
}

static const struct {
    char iso2[3];
    const char *prefixes[2]; /* country prefixes dropped before the check */
    postal_fn check;
} postal_rules[] = {
    {"DE", {"DE-", "D-"}, postal_de}, {"AT", {"AT-", "A-"}, postal_at},
    {"CH", {"CH-", NULL}, postal_ch}, {"LI", {"FL-", "LI-"}, postal_li},
    {"FR", {"FR-", "F-"}, postal_fr}, {"US", {NULL, NULL}, postal_us},
    {"GB", {NULL, NULL}, postal_gb},
};

/* Any other country: plausible characters, upper-cased, white space runs made one space. */
static int postal_other(le_str_t t, char *out, size_t cap, size_t *outlen) {
    char o[POSTAL_IN_MAX];
    size_t k = 0;
    bool alnum = false;
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        if (c == ' ' || c == '\t') {
            if (o[k - 1] != ' ') o[k++] = ' '; /* t is trimmed: never at i == 0 */
        } else if (is_alnum(c) || c == '-') {
            alnum |= is_alnum(c);
            o[k++] = (char)upper(c);
        } else {
            return fail_out(LE_EINVAL, out, cap, outlen);
        }
    }
    if (!alnum || k > LE_POSTAL_MAX) return fail_out(LE_EINVAL, out, cap, outlen);
    int rc = put_out(o, k, out, cap, outlen);
    return rc ? rc : LE_POSTAL_UNCHECKED;
}

int le_postal_check(le_str_t in, const char *country_iso2, char *out, size_t cap, size_t *outlen) {
    le_str_t t = le_text_trim(in);
    char cc[3], o[LE_POSTAL_SIZE];
    if (t.len == 0 || t.len > POSTAL_IN_MAX) return fail_out(LE_EINVAL, out, cap, outlen);
    if (!country_code(country_iso2, cc)) return postal_other(t, out, cap, outlen);
    for (size_t i = 0; i < LE_ARRAY_SIZE(postal_rules); i++) {
        if (strcmp(postal_rules[i].iso2, cc) != 0) continue;
        for (size_t j = 0; j < 2 && postal_rules[i].prefixes[j]; j++) {
            size_t k = strlen(postal_rules[i].prefixes[j]);
            if (t.len > k && le_str_ieq((le_str_t){t.ptr, k}, postal_rules[i].prefixes[j])) {
                t.ptr += k;
                t.len -= k;
                break;
            }
        }
        long n = postal_rules[i].check(t.ptr, t.len, o);
        if (n < 0) return fail_out(LE_EINVAL, out, cap, outlen);
        return put_out(o, (size_t)n, out, cap, outlen);
    }
    return postal_other(t, out, cap, outlen);
}

/* ---- Roles from job titles --------------------------------------------------------------- */

#define FOLD_CAP (4 * LE_TITLE_MAX)  /* folded title; what does not fit is dropped */
#define MAX_WORDS (LE_TITLE_MAX / 2) /* as many as the bytes of a title can separate */
#define OTHER_LETTER '\x80'          /* a letter of a script no rule is written in */

/* The folded title: lower-case ASCII letters and digits, OTHER_LETTER, single spaces. */
typedef struct {
    char p[FOLD_CAP];
    size_t len;
} fold_t;

static void fold_put(fold_t *f, const char *s, size_t n) {
    if (f->len + n > sizeof(f->p)) return;
    memcpy(f->p + f->len, s, n);
    f->len += n;
}

static void fold_sep(fold_t *f) {
    if (f->len > 0 && f->p[f->len - 1] != ' ') fold_put(f, " ", 1);
}

static bool fold_after_letter(const fold_t *f) {
    if (f->len == 0) return false;
    char c = f->p[f->len - 1];
    return (c >= 'a' && c <= 'z') || c == OTHER_LETTER;
}

/* Latin letters that do not decompose, written in ASCII (lower case only: folded first). */
static const char *latin_special(ucs4_t uc) {
    switch (uc) {
        case 0xDF:
            return "ss"; /* ß */
        case 0xE6:
            return "ae"; /* æ */
        case 0x153:
            return "oe"; /* œ */
        case 0xF8:
            return "o"; /* ø */
        case 0x142:
            return "l"; /* ł */
        case 0x111:
        case 0xF0:
            return "d"; /* đ ð */
        case 0xFE:
            return "th"; /* þ */
        case 0x131:
            return "i"; /* dotless ı */
        default:
            return NULL;
    }
}

/*
 * Fold one character: lower case, then the full decomposition (canonical and compatibility,
 * so "é" is "e", "ﬁ" is "fi", full-width "Ａ" is "a"), combining marks dropped except that a
 * diaeresis on a, o or u adds the German 'e' ("ä" is "ae", also typed decomposed).
 */
static void fold_uc(fold_t *f, ucs4_t uc, int depth) {
    if (uc < 0x80) {
        char c = (char)lower((unsigned char)uc);
        if (is_alnum((unsigned char)c))
            fold_put(f, &c, 1);
        else
            fold_sep(f);
        return;
    }
    if (uc_is_general_category(uc, UC_CATEGORY_M)) {
        if (uc == 0x308 && f->len > 0 && in_set((unsigned char)f->p[f->len - 1], "aou"))
            fold_put(f, "e", 1);
        return;
    }
    if (uc_is_general_category(uc, UC_CATEGORY_Cf)) return; /* soft hyphen, ZWJ, BOM */
    if (!uc_is_general_category(uc, UC_CATEGORY_L) && !uc_is_general_category(uc, UC_CATEGORY_N)) {
        fold_sep(f);
        return;
    }
    ucs4_t lo = uc_tolower(uc);
    if (uc == 0x1E9E) lo = 0xDF; /* capital sharp s */
    const char *sp = latin_special(lo);
    if (sp) {
        fold_put(f, sp, strlen(sp));
        return;
    }
    if (depth < 4) {
        if (lo != uc) {
            fold_uc(f, lo, depth + 1);
            return;
        }
        ucs4_t dec[UC_DECOMPOSITION_MAX_LENGTH];
        int tag, m = uc_decomposition(uc, &tag, dec);
        if (m > 0) {
            for (int i = 0; i < m; i++) fold_uc(f, dec[i], depth + 1);
            return;
        }
    }
    int dv = uc_digit_value(uc);
    char c = dv >= 0 ? (char)('0' + dv) : OTHER_LETTER;
    fold_put(f, &c, 1);
}

/*
 * Bytes of a gender ending at s[i..n) after a word: "/in", "/-in", ":in", "*in", "_in",
 * "·in", "(in)", each also with "innen"; 0 when there is none. A letter must not follow
 * ("/Inhaber" is another word).
 */
static size_t gender_ending(const unsigned char *s, size_t i, size_t n) {
    size_t j = i;
    bool paren = false;
    if (s[j] == '(') {
        paren = true;
        j++;
    } else if (in_set(s[j], "/:*_")) {
        j++;
        if (j < n && s[j] == '-') j++;
    } else if (s[j] == 0xC2 && j + 1 < n && s[j + 1] == 0xB7) {
        j += 2;
    } else {
        return 0;
    }
    if (j + 2 > n || lower(s[j]) != 'i' || lower(s[j + 1]) != 'n') return 0;
    j += 2;
    if (j + 3 <= n && lower(s[j]) == 'n' && lower(s[j + 1]) == 'e' && lower(s[j + 2]) == 'n')
        j += 3;
    if (paren) {
        if (j >= n || s[j] != ')') return 0;
        j++;
    }
    if (j < n && (is_alpha(s[j]) || s[j] >= 0x80)) return 0;
    return j - i;
}

static void fold_title(le_str_t title, fold_t *f) {
    const unsigned char *s = (const unsigned char *)title.ptr;
    size_t n = title.ptr ? LE_MIN(title.len, (size_t)LE_TITLE_MAX) : 0;
    f->len = 0;
    for (size_t i = 0; i < n;) {
        size_t g = fold_after_letter(f) ? gender_ending(s, i, n) : 0;
        if (g > 0) {
            i += g;
            fold_sep(f);
            continue;
        }
        ucs4_t uc;
        int m = u8_mbtoucr(&uc, s + i, n - i);
        if (m < 0) { /* invalid or cut UTF-8: one byte, a separator */
            fold_sep(f);
            i++;
            continue;
        }
        if (m == 0) m = 1; /* NUL */
        fold_uc(f, uc, 0);
        i += (size_t)m;
    }
}

/*
 * The rules, in order (contact.h lists them for users). A rule is up to four consecutive
 * words; a word "x" matches exactly, "*x" at the end of a word, "x*" at its start, "*x*"
 * anywhere in it; exact and end matches also take a feminine "in" or "innen" after them.
 */
typedef struct {
    const char *w[4];
    le_role_t role;
} role_rule_t;

#define DEC LE_ROLE_DECIDER
#define BUY LE_ROLE_BUYER
#define INF LE_ROLE_INFLUENCER
#define USR LE_ROLE_USER
#define GK LE_ROLE_GATEKEEPER

static const role_rule_t rules[] = {
    /* 1. Exceptions to the rules below. */
    {{"assistant", "vice", "president"}, INF},
    {{"assistant", "director"}, INF},
    {{"assistant", "manager"}, INF},
    {{"assistant", "professor"}, INF},
    {{"technisch*", "*assistent"}, USR},
    {{"avp"}, INF},
    {{"product", "owner"}, INF},
    {{"chief", "of", "staff"}, INF},
    {{"chief", "architect"}, INF},
    {{"chief", "engineer"}, INF},
    {{"art", "director"}, INF},
    {{"*betriebsrat*"}, INF},
    {{"head", "hunter"}, USR},
    {{"generalsekretaer"}, DEC},
    {{"general", "secretary"}, DEC},
    /* 2. Gatekeepers: assistants of anyone, secretariat, office management, reception. */
    {{"*assistent"}, GK},
    {{"*assistenz"}, GK},
    {{"*assistant"}, GK},
    {{"*sekretaer"}, GK},
    {{"*sekretariat"}, GK},
    {{"secretary"}, GK},
    {{"office", "manager"}, GK},
    {{"office", "management"}, GK},
    {{"officemanager"}, GK},
    {{"bueroleit*"}, GK},
    {{"bueromanag*"}, GK},
    {{"empfang*"}, GK},
    {{"*empfang"}, GK},
    {{"rezeption*"}, GK},
    {{"reception*"}, GK},
    {{"front", "desk"}, GK},
    {{"frontdesk"}, GK},
    {{"*telefonist"}, GK},
    {{"telefonzentrale"}, GK},
    {{"vorzimmer*"}, GK},
    /* 3. Buyers: purchasing at any level. */
    {{"*einkauf*"}, BUY},
    {{"*einkaeufer"}, BUY},
    {{"*beschaffung*"}, BUY},
    {{"procurement"}, BUY},
    {{"purchasing"}, BUY},
    {{"purchaser"}, BUY},
    {{"buyer"}, BUY},
    {{"sourcing"}, BUY},
    {{"*lieferantenmanag*"}, BUY},
    /* 4. Influencers whose titles contain a decider's word. */
    {{"*referent"}, INF},
    {{"*teamleit*"}, INF},
    {{"*projektleit*"}, INF},
    {{"*gruppenleit*"}, INF},
    {{"*schichtleit*"}, INF},
    {{"*bauleit*"}, INF},
    {{"team", "leit*"}, INF},
    {{"projekt", "leit*"}, INF},
    {{"gruppen", "leit*"}, INF},
    /* 5. Deciders: owners, executives, boards, department heads. */
    {{"ceo"}, DEC},
    {{"cto"}, DEC},
    {{"cfo"}, DEC},
    {{"coo"}, DEC},
    {{"cio"}, DEC},
    {{"cmo"}, DEC},
    {{"cso"}, DEC},
    {{"cdo"}, DEC},
    {{"cpo"}, DEC},
    {{"cro"}, DEC},
    {{"ciso"}, DEC},
    {{"cco"}, DEC},
    {{"chro"}, DEC},
    {{"cxo"}, DEC},
    {{"chief"}, DEC},
    {{"gf"}, DEC},
    {{"geschaeftsfuehr*"}, DEC},
    {{"geschaftsfuhr*"}, DEC},
    {{"*vorstand*"}, DEC},
    {{"vorsitzend*"}, DEC},
    {{"*aufsichtsrat*"}, DEC},
    {{"*praesident*"}, DEC},
    {{"president"}, DEC},
    {{"vp"}, DEC},
    {{"svp"}, DEC},
    {{"evp"}, DEC},
    {{"chairman"}, DEC},
    {{"chairwoman"}, DEC},
    {{"chairperson"}, DEC},
    {{"chair"}, DEC},
    {{"board"}, DEC},
    {{"general", "manager"}, DEC},
    {{"country", "manager"}, DEC},
    {{"managing", "partner"}, DEC},
    {{"senior", "partner"}, DEC},
    {{"director"}, DEC},
    {{"*direktor"}, DEC},
    {{"head"}, DEC},
    {{"*leiter"}, DEC},
    {{"*leitung"}, DEC},
    {{"*inhaber"}, DEC},
    {{"owner"}, DEC},
    {{"coowner"}, DEC},
    {{"proprietor"}, DEC},
    {{"*founder"}, DEC},
    {{"*gruender"}, DEC},
    {{"*gesellschafter"}, DEC},
    {{"prokurist"}, DEC},
    {{"unternehmer"}, DEC},
    {{"entrepreneur"}, DEC},
    {{"selbststaendig*"}, DEC},
    {{"selbstaendig*"}, DEC},
    {{"self", "employed"}, DEC},
    {{"freelancer"}, DEC},
    {{"freiberuf*"}, DEC},
    /* 6. Influencers: managers, leads, experts and advisers. */
    {{"*manager"}, INF},
    {{"*lead"}, INF},
    {{"*leader"}, INF},
    {{"principal"}, INF},
    {{"*architect"}, INF},
    {{"*architekt"}, INF},
    {{"*consultant"}, INF},
    {{"*berater"}, INF},
    {{"*analyst"}, INF},
    {{"advisor"}, INF},
    {{"adviser"}, INF},
    {{"strategist"}, INF},
    {{"*stratege"}, INF},
    {{"*controller"}, INF},
    {{"*coordinator"}, INF},
    {{"*koordinator"}, INF},
    {{"*beauftragt*"}, INF},
    {{"officer"}, INF},
    {{"scrum", "master"}, INF},
    {{"*expert"}, INF},
    {{"*experte"}, INF},
    /* 7. Users: the people who work with the product. */
    {{"*developer"}, USR},
    {{"*entwickler"}, USR},
    {{"programmer"}, USR},
    {{"*programmierer"}, USR},
    {{"*engineer"}, USR},
    {{"*ingenieur"}, USR},
    {{"technician"}, USR},
    {{"*techniker"}, USR},
    {{"*administrator"}, USR},
    {{"admin"}, USR},
    {{"*sachbearbeit*"}, USR},
    {{"*mitarbeiter"}, USR},
    {{"angestellte*"}, USR},
    {{"employee"}, USR},
    {{"clerk"}, USR},
    {{"accountant"}, USR},
    {{"*buchhalter"}, USR},
    {{"bookkeeper"}, USR},
    {{"*designer"}, USR},
    {{"operator"}, USR},
    {{"support"}, USR},
    {{"specialist"}, USR},
    {{"*spezialist"}, USR},
    {{"*fachkraft"}, USR},
    {{"*kaufmann"}, USR},
    {{"*kauffrau"}, USR},
    {{"*disponent"}, USR},
    {{"scientist"}, USR},
    {{"researcher"}, USR},
    {{"*wissenschaftler"}, USR},
    {{"*tester"}, USR},
    {{"*redakteur"}, USR},
    {{"editor"}, USR},
    {{"*verkaeufer"}, USR},
    {{"associate"}, USR},
    {{"representative"}, USR},
    {{"agent"}, USR},
    {{"account", "executive"}, USR},
    {{"*monteur"}, USR},
    {{"*informatiker"}, USR},
    {{"*student"}, USR},
    {{"intern"}, USR},
    {{"*praktikant"}, USR},
    {{"*doktorand"}, USR},
    {{"trainee"}, USR},
    {{"azubi"}, USR},
    {{"auszubildend*"}, USR},
};

/* Words that only look like compounds of a rule word: "Halbleiter" (semiconductor) is not a
 * "Leiter", a "Rohrleitung" (pipeline) no "Leitung". Wildcard rule words skip them. */
static const char *const neutral_words[] = {
    "halbleiter",   "halbleitern", "rohrleitung",   "rohrleitungen",
    "stromleitung", "gasleitung",  "wasserleitung", "datenleitung",
};

static bool is_neutral(const char *w, size_t n) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(neutral_words); i++)
        if (strlen(neutral_words[i]) == n && memcmp(neutral_words[i], w, n) == 0) return true;
    return false;
}

static bool contains(const char *w, size_t n, const char *x, size_t k) {
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(w + i, x, k) == 0) return true;
    return false;
}

/* Does the title word w[0..n) match the rule word pat? */
static bool word_match(const char *pat, const char *w, size_t n) {
    size_t pn = strlen(pat);
    bool tail = pat[0] == '*', head = pat[pn - 1] == '*';
    const char *core = pat + tail;
    size_t cn = pn - tail - head;
    if (tail && head) return contains(w, n, core, cn) && (n == cn || !is_neutral(w, n));
    if (head) return n >= cn && memcmp(w, core, cn) == 0 && (n == cn || !is_neutral(w, n));
    static const char *const endings[] = {"", "in", "innen"};
    for (size_t e = 0; e < LE_ARRAY_SIZE(endings); e++) {
        size_t en = strlen(endings[e]);
        if (n < cn + en || memcmp(w + n - en, endings[e], en) != 0) continue;
        size_t base = n - en;
        if (tail ? memcmp(w + base - cn, core, cn) == 0 && (base == cn || !is_neutral(w, n))
                 : base == cn && memcmp(w, core, cn) == 0)
            return true;
    }
    return false;
}

le_role_t le_role_from_title(le_str_t title) {
    fold_t f;
    struct {
        const char *p;
        size_t n;
    } words[MAX_WORDS];
    size_t nw = 0;

    fold_title(title, &f);
    for (size_t i = 0; i < f.len && nw < MAX_WORDS;) {
        if (f.p[i] == ' ') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < f.len && f.p[j] != ' ') j++;
        words[nw].p = f.p + i;
        words[nw].n = j - i;
        nw++;
        i = j;
    }
    for (size_t r = 0; r < LE_ARRAY_SIZE(rules); r++) {
        size_t k = 0;
        while (k < LE_ARRAY_SIZE(rules[r].w) && rules[r].w[k]) k++;
        for (size_t s = 0; s + k <= nw; s++) {
            size_t m = 0;
            while (m < k && word_match(rules[r].w[m], words[s + m].p, words[s + m].n)) m++;
            if (m == k) return rules[r].role;
        }
    }
    return LE_ROLE_UNKNOWN;
}

bool le__role_rules_ok(void) {
    for (size_t r = 0; r < LE_ARRAY_SIZE(rules); r++) {
        if (rules[r].role <= LE_ROLE_UNKNOWN || rules[r].role > LE_ROLE_GATEKEEPER) return false;
        if (!rules[r].w[0]) return false;
        for (size_t k = 0; k < LE_ARRAY_SIZE(rules[r].w) && rules[r].w[k]; k++) {
            const char *w = rules[r].w[k];
            size_t n = strlen(w), b = w[0] == '*', e = n > 0 && w[n - 1] == '*';
            if (n < b + e + 2) return false; /* a core of two letters at least */
            for (size_t i = b; i < n - e; i++)
                if (!(w[i] >= 'a' && w[i] <= 'z') && !is_digit((unsigned char)w[i])) return false;
        }
    }
    return true;
}

static const char *const role_names[] = {"unknown",    "decider", "buyer",
                                         "influencer", "user",    "gatekeeper"};

const char *le_role_name(le_role_t role) {
    return (unsigned)role < LE_ARRAY_SIZE(role_names) ? role_names[role] : "?";
}

int le_role_parse(const char *s, size_t n) {
    return name_index(role_names, LE_ARRAY_SIZE(role_names), s, n);
}
