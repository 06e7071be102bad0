/*
 * lang.c: choosing the language from Accept-Language (rules in lang.h).
 *
 * Elements are split at commas; within one, the range runs to the first ';' or blank and
 * each ';' starts a parameter, of which only q (any case, blanks around '=' tolerated) is
 * allowed. qvalue = "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3"0" ], kept as thousandths.
 */
#include "lang.h"

static inline bool ows(char c) {
    return c == ' ' || c == '\t';
}

static inline bool alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool digit(char c) {
    return c >= '0' && c <= '9';
}

/* qvalue in s[0..n) as thousandths; -1 when invalid. */
static int qvalue(const char *s, size_t n) {
    if (n == 0 || (s[0] != '0' && s[0] != '1')) return -1;
    int q = (s[0] - '0') * 1000;
    if (n == 1) return q;
    if (s[1] != '.' || n > 5) return -1;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (!digit(s[i])) return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* Is s[0..n) a tag we accept (lang.h)? */
static bool valid_tag(const char *s, size_t n) {
    if (n == 0 || n >= LE_LANG_TAG_MAX) return false;
    size_t i = 0, nsub = 0, last = 0;
    while (i <= n) {
        size_t b = i;
        bool letters = true;
        while (i < n && s[i] != '-') {
            if (!alpha(s[i])) {
                if (!digit(s[i])) return false;
                letters = false;
            }
            i++;
        }
        size_t len = i - b;
        if (len < 1 || len > 8) return false;
        if (nsub == 0 && (len < 2 || len > 3 || !letters)) return false;
        nsub++;
        last = len;
        i++; /* past '-', or past the end */
    }
    return last != 1; /* no trailing singleton */
}

/* Copy s[0..n) (a valid tag) to out in canonical case. */
static void canonical(const char *s, size_t n, char *out) {
    size_t i = 0, nsub = 0;
    bool ext = false; /* after a singleton */
    while (i < n) {
        size_t b = i;
        while (i < n && s[i] != '-') i++;
        size_t len = i - b;
        for (size_t j = b; j < i; j++) {
            char c = s[j];
            bool upper;
            if (nsub == 0 || ext)
                upper = false;
            else if (len == 2)
                upper = true;
            else if (len == 4)
                upper = j == b;
            else
                upper = false;
            if (upper && c >= 'a' && c <= 'z') c -= 'a' - 'A';
            if (!upper && c >= 'A' && c <= 'Z') c += 'a' - 'A';
            out[j] = c;
        }
        if (len == 1 && nsub > 0) ext = true;
        if (i < n) out[i++] = '-';
        nsub++;
    }
}

size_t le_lang_subtag(const char *tag, size_t len) {
    const char *d = memchr(tag, '-', len);
    return d ? (size_t)(d - tag) : len;
}

/* The weight of one element's parameters p[0..n) (after the range); -1 when malformed. */
static int params_q(const char *p, size_t n) {
    size_t i = 0;
    int q = 1000;
    bool seen = false;
    while (i < n && ows(p[i])) i++;
    while (i < n) {
        if (p[i] != ';') return -1;
        i++;
        while (i < n && ows(p[i])) i++;
        if (i >= n || (p[i] != 'q' && p[i] != 'Q') || seen) return -1;
        i++;
        while (i < n && ows(p[i])) i++;
        if (i >= n || p[i] != '=') return -1;
        i++;
        while (i < n && ows(p[i])) i++;
        size_t b = i;
        while (i < n && p[i] != ';' && !ows(p[i])) i++;
        q = qvalue(p + b, i - b);
        if (q < 0) return -1;
        seen = true;
        while (i < n && ows(p[i])) i++;
    }
    return q;
}

size_t le_lang_primary(le_str_t al, char *tag, size_t cap) {
    const char *s = al.ptr, *best = NULL;
    size_t n = al.ptr ? al.len : 0, best_len = 0, i = 0;
    int best_q = 0;
    while (i < n && best_q < 1000) {
        size_t e = i;
        while (e < n && s[e] != ',') e++;
        size_t b = i;
        i = e + 1;
        while (b < e && ows(s[b])) b++;
        size_t r = b;
        while (r < e && s[r] != ';' && !ows(s[r])) r++;
        if (r == b || (r - b == 1 && s[b] == '*')) continue;
        int q = params_q(s + r, e - r);
        if (q <= best_q || !valid_tag(s + b, r - b)) continue;
        best = s + b;
        best_len = r - b;
        best_q = q;
    }
    if (cap) tag[0] = '\0';
    if (!best || cap == 0) return 0;

    char canon[LE_LANG_TAG_MAX];
    canonical(best, best_len, canon);
    /* Too long for cap: drop whole subtags from the end, then a singleton left last. */
    size_t len = best_len;
    while (len >= cap) {
        const char *d = memrchr(canon, '-', len);
        if (!d) return 0;
        len = (size_t)(d - canon);
        if (len >= 2 && canon[len - 2] == '-') len -= 2;
    }
    memcpy(tag, canon, len);
    tag[len] = '\0';
    return len;
}
