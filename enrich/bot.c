/*
 * bot.c: the bot verdict and the User-Agent token scan.
 *
 * The scan walks the User-Agent once. At each byte it looks up the tokens that start with
 * that (lowercased) byte, a handful at most, and compares each only as far as it keeps
 * matching; in practice the second byte rejects almost all of them, so the cost is a few
 * comparisons per byte and never more than the longest token per candidate. "bot" has its
 * own rule because it ends words rather than being one: it counts when no letter follows
 * (an "s" may: "/bots"), except after "cu" (Cubot phones) and "ro" ("Robot" in model names;
 * UptimeRobot is listed by name).
 */
#include "bot.h"

typedef struct {
    const char *s; /* lowercase; the first byte is the bucket's */
    uint8_t n;
    uint8_t flags;
} tok_t;

enum {
    WORD = 1,  /* must start the string or follow ' ', '(', ';' or ',' */
    DIGIT = 2, /* a digit must follow */
};

#define T(lit)                                                                                     \
    { lit, sizeof(lit) - 1, 0 }
#define TF(lit, f)                                                                                 \
    { lit, sizeof(lit) - 1, f }

/*
 * Tokens by first byte. Substrings, compared case-insensitively. What counts as a bot for
 * marketing: crawlers, SEO and AI fetchers, monitors, link-preview fetchers, automation and
 * HTTP tools. Not: in-app browsers (Facebook, Instagram, Pinterest apps) and Electron apps,
 * which are people.
 */
static const tok_t tok_a[] = {T("aiohttp"),     T("ahrefs"),       T("apache-httpclient"),
                              T("apis-google"), T("anthropic-ai"), T("archiver"),
                              T("axios/")};
static const tok_t tok_b[] = {T("bingpreview")};
static const tok_t tok_c[] = {T("crawl"),      T("curl/"),      T("chatgpt-user"), T("checkly"),
                              T("catchpoint"), T("claude-web"), T("censysinspect")};
static const tok_t tok_d[] = {T("datadog"), T("dataprovider")};
static const tok_t tok_e[] = {T("embedly")};
static const tok_t tok_f[] = {T("facebookexternalhit"), T("facebookcatalog"), T("feedfetcher")};
static const tok_t tok_g[] = {T("go-http-client"),    T("gtmetrix"),   T("google-inspectiontool"),
                              T("googleother"),       T("guzzlehttp"), T("google-read-aloud"),
                              T("google web preview")};
/* A URL: "(+http://example.com/bot.html)"; browsers never put one in their User-Agent. */
static const tok_t tok_h[] = {T("http://"), T("https://"), T("headless"),
                              T("httpx"),   T("httpie"),   T("heritrix")};
static const tok_t tok_i[] = {T("iframely"), T("insomnia/")};
/* "Java/17.0.9", not J2ME phones' "Java/HWJa/1.0", "HuaweiJava/1.0", "SEMC-Java/2.0" */
static const tok_t tok_j[] = {TF("java/", WORD | DIGIT)};
static const tok_t tok_l[] = {T("lighthouse"), T("libwww-perl"), T("lwp-")};
static const tok_t tok_m[] = {T("mediapartners-google"), T("meta-externalagent"),
                              T("meta-externalfetcher"), T("masscan")};
static const tok_t tok_n[] = {T("node-fetch"), T("newrelic"), T("new relic"),
                              T("nutch"),      T("nmap"),     T("nikto")};
static const tok_t tok_o[] = {T("okhttp")};
static const tok_t tok_p[] = {T("python"),     T("phantomjs"),       T("puppeteer"),
                              T("playwright"), T("pingdom"),         T("postmanruntime"),
                              T("pagespeed"),  T("perplexity-user"), T("ptst/")};
static const tok_t tok_r[] = {T("restsharp")};
static const tok_t tok_s[] = {T("spider"),   T("scrapy"),         T("scrape"),
                              T("slurp"),    T("statuscake"),     T("site24x7"),
                              T("semrush"),  T("slack-imgproxy"), T("skypeuripreview"),
                              T("selenium"), T("sqlmap")};
static const tok_t tok_u[] = {T("uptimerobot"), T("undici")};
static const tok_t tok_w[] = {T("wget"), T("whatsapp"), T("webdriver"), T("winhttp"),
                              T("wordpress/")};
static const tok_t tok_z[] = {T("zgrab")};

typedef struct {
    const tok_t *t;
    uint8_t n;
} bucket_t;

#define B(c, arr) [c] = {arr, LE_ARRAY_SIZE(arr)}

static const bucket_t buckets[128] = {
    B('a', tok_a), B('b', tok_b), B('c', tok_c), B('d', tok_d), B('e', tok_e),
    B('f', tok_f), B('g', tok_g), B('h', tok_h), B('i', tok_i), B('j', tok_j),
    B('l', tok_l), B('m', tok_m), B('n', tok_n), B('o', tok_o), B('p', tok_p),
    B('r', tok_r), B('s', tok_s), B('u', tok_u), B('w', tok_w), B('z', tok_z),
};

static inline unsigned char lc(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

static inline bool is_alpha(unsigned char c) {
    c = lc(c);
    return c >= 'a' && c <= 'z';
}

static inline bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

static inline bool word_gap(unsigned char c) {
    return c == ' ' || c == '(' || c == ';' || c == ',';
}

/* "bot" at p[i..i+3) (already matched): does it end a word the rule counts? */
static bool bot_word(const unsigned char *p, size_t n, size_t i) {
    size_t j = i + 3;
    if (j < n && lc(p[j]) == 's') j++;
    if (j < n && is_alpha(p[j])) return false; /* "Botswana", "bottle" */
    if (i >= 2) {
        unsigned char a = lc(p[i - 2]), b = lc(p[i - 1]);
        if ((a == 'c' && b == 'u') || (a == 'r' && b == 'o')) return false; /* Cubot, Robot */
    }
    return true;
}

bool le_bot_ua_token(le_str_t ua) {
    const unsigned char *p = (const unsigned char *)ua.ptr;
    size_t n = ua.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = lc(p[i]);
        if (c >= 128) continue;
        if (c == 'b' && i + 3 <= n && lc(p[i + 1]) == 'o' && lc(p[i + 2]) == 't' &&
            bot_word(p, n, i))
            return true;
        const bucket_t *b = &buckets[c];
        for (unsigned t = 0; t < b->n; t++) {
            const tok_t *k = &b->t[t];
            if (k->n > n - i) continue;
            unsigned j = 1;
            while (j < k->n && lc(p[i + j]) == (unsigned char)k->s[j]) j++;
            if (j < k->n) continue;
            if ((k->flags & WORD) && i > 0 && !word_gap(p[i - 1])) continue;
            if ((k->flags & DIGIT) && (i + j >= n || !is_digit(p[i + j]))) continue;
            return true;
        }
    }
    return false;
}

static bool empty_ua(le_str_t ua) {
    size_t i = 0, n = ua.len;
    while (i < n && (ua.ptr[i] == ' ' || ua.ptr[i] == '\t')) i++;
    while (n > i && (ua.ptr[n - 1] == ' ' || ua.ptr[n - 1] == '\t')) n--;
    return n == i || (n - i == 1 && ua.ptr[i] == '-');
}

uint32_t le_bot_check_token(const le_bot_input_t *in, bool ua_token) {
    uint32_t r = 0;
    if (in->ua_spider) r |= LE_BOT_UA_SPIDER;
    if (ua_token) r |= LE_BOT_UA_TOKEN;
    if (empty_ua(in->ua)) r |= LE_BOT_EMPTY_UA;
    if (in->network == LE_NET_HOSTING || in->network == LE_NET_ANONYMISER) r |= LE_BOT_NETWORK;
    if (in->ua_browser && !in->has_accept_language) r |= LE_BOT_NO_LANGUAGE;
    if (in->honeypot) r |= LE_BOT_HONEYPOT;
    if (in->min_form_ms > 0 && in->form_fill_ms >= 0 && in->form_fill_ms < (int64_t)in->min_form_ms)
        r |= LE_BOT_FAST_FORM;
    return r;
}

uint32_t le_bot_check(const le_bot_input_t *in) {
    return le_bot_check_token(in, le_bot_ua_token(in->ua));
}

size_t le_bot_reasons_format(uint32_t mask, char *out, size_t cap) {
    size_t len = 0;
    for (unsigned b = 0; b < LE_BOT_REASONS; b++) {
        if (!(mask & (1u << b))) continue;
        const char *name = le_bot_reason_name(1u << b);
        size_t n = strlen(name);
        if (len) {
            if (len + 1 < cap) out[len] = ',';
            len++;
        }
        for (size_t i = 0; i < n; i++, len++)
            if (len + 1 < cap) out[len] = name[i];
    }
    if (cap) out[LE_MIN(len, cap - 1)] = '\0';
    return len;
}
