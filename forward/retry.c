/*
 * retry.c: the retry policy (retry.h).
 */
#include "retry.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

le_retry_verdict_t le_retry_classify(int status) {
    if (status >= 200 && status <= 299) return LE_RETRY_DONE;
    if (status == 0 || status == 408 || status == 429) return LE_RETRY_AGAIN;
    if (status >= 500 && status <= 599 && status != 501 && status != 505) return LE_RETRY_AGAIN;
    return LE_RETRY_DEAD;
}

int64_t le_retry_delay_ms(uint32_t attempts, int64_t base_ms, int64_t cap_ms, uint64_t rnd,
                          int64_t retry_after_ms) {
    if (base_ms < 1) base_ms = 1;
    if (cap_ms < base_ms) cap_ms = base_ms;
    /* base * 2^(attempts-1), saturating at cap without overflow */
    int64_t ceiling = base_ms;
    for (uint32_t i = 1; i < attempts && ceiling < cap_ms; i++)
        ceiling = ceiling > cap_ms / 2 ? cap_ms : ceiling * 2;
    if (ceiling > cap_ms) ceiling = cap_ms;
    int64_t wait = (int64_t)(rnd % (uint64_t)(ceiling + 1)); /* full jitter: 0 .. ceiling */
    if (retry_after_ms > wait) wait = retry_after_ms < cap_ms ? retry_after_ms : cap_ms;
    return wait;
}

static bool all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return false;
    return true;
}

int64_t le_retry_after_ms(const char *value, int64_t now_ms) {
    while (*value == ' ' || *value == '\t') value++;
    char v[64];
    size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t')) n--;
    if (n == 0 || n >= sizeof(v)) return -1;
    memcpy(v, value, n);
    v[n] = '\0';
    if (all_digits(v)) {
        if (n > 9) return (int64_t)999999999 * 1000; /* absurdly long: cut to ~31 years */
        long long secs = 0;
        for (size_t i = 0; i < n; i++) secs = secs * 10 + (v[i] - '0');
        return secs * 1000;
    }
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
        "%a %b %e %H:%M:%S %Y",      /* asctime */
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(v, forms[i], &tm);
        if (!end || *end) continue;
        int64_t at = (int64_t)timegm(&tm) * 1000;
        return at > now_ms ? at - now_ms : 0;
    }
    return -1;
}
