/*
 * retry.h: what to do after a delivery attempt, and when to try again.
 *
 * Retried: connection errors and timeouts, 408, 429 and 5xx except 501 and 505. Every other
 * status outside 2xx is final: the item goes to the dead-letter file at once. So does an item
 * older than the maximum age, whatever the answer. The wait before attempt n+1 is "full
 * jitter" exponential backoff: a uniformly random time between 0 and min(cap, base * 2^n); a
 * Retry-After the receiver sent (seconds, or an HTTP date) is honoured instead when it is
 * later, up to the cap.
 *
 * Pure: no I/O, no clock (times are passed in), thread-safe.
 */
#ifndef LE_RETRY_H
#define LE_RETRY_H

#include <stdint.h>

#include "le.h"

typedef enum {
    LE_RETRY_DONE = 0, /* delivered (2xx) */
    LE_RETRY_AGAIN,    /* try again after the wait */
    LE_RETRY_DEAD,     /* never again: dead letter */
} le_retry_verdict_t;

/* status: the HTTP status, or 0 for a connection error or timeout. */
le_retry_verdict_t le_retry_classify(int status);

/*
 * Milliseconds to wait before the next attempt after `attempts` failed ones (1 after the
 * first), base and cap in ms, rnd a uniformly random 64-bit number. retry_after_ms: what the
 * receiver asked for (-1 when it did not); the result is at least that, but never over cap.
 */
int64_t le_retry_delay_ms(uint32_t attempts, int64_t base_ms, int64_t cap_ms, uint64_t rnd,
                          int64_t retry_after_ms);

/*
 * A Retry-After header value in milliseconds from now_ms: delta-seconds ("120") or an
 * HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT", also the obsolete RFC 850 and asctime forms);
 * a date in the past is 0. -1 when the value is neither.
 */
int64_t le_retry_after_ms(const char *value, int64_t now_ms);

#endif
