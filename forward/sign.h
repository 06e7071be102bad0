/*
 * sign.h: the signature on every webhook leadedge sends, and its check.
 *
 *     Leadedge-Signature: t=1795000000,v1=3c378c93...,v1=fb0e7bd7...
 *
 * t is the Unix time of the attempt; each v1 is the lowercase hex HMAC-SHA256, keyed with one
 * of the endpoint's secrets, of the bytes "<t>.<body>". With several secrets (rotation) there
 * is one v1 per secret, the newest first, so a receiver that knows either one accepts it. A
 * receiver checks that t is recent (replays of old deliveries fail) and compares in constant
 * time. docs/webhooks.md shows the check with a test vector.
 *
 * Pure: OpenSSL's HMAC, no I/O, thread-safe.
 */
#ifndef LE_SIGN_H
#define LE_SIGN_H

#include "buf.h"
#include "le.h"

#define LE_SIG_HEX 64 /* hex digits of one v1 */

/* Append the header value for body at time t, one v1 per secret (n >= 1), to out. */
void le_sig_header(const char *const *secrets, size_t n, int64_t t, const void *body, size_t len,
                   le_buf_t *out);

typedef enum {
    LE_SIG_OK = 0,
    LE_SIG_MALFORMED, /* not "t=<digits>,v1=<64 hex>[,v1=...]" (other schemes are ignored) */
    LE_SIG_STALE,     /* t further than tolerance_s from now */
    LE_SIG_MISMATCH,  /* no v1 matches any of the secrets */
} le_sig_result_t;

/* Check header (its value) for body against secrets at time now (Unix seconds). Elements
 * other than t and v1 are ignored, so later schemes can be added beside v1. */
le_sig_result_t le_sig_verify(const char *header, size_t hlen, const char *const *secrets, size_t n,
                              const void *body, size_t len, int64_t now, int64_t tolerance_s);

#endif
