/*
 * visitor.c: visitor ids and the cookieless daily id.
 *
 * The daily salt is 32 random bytes held only in memory and replaced when
 * the UTC day changes. A restart also replaces it: cookieless counts split
 * at a restart, which is the price of never writing the salt anywhere.
 */
#include "pixel.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

bool le_visitor_id_valid(le_str_t s) {
    if (s.len != LE_ID_HEX_LEN) return false;
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
    }
    return true;
}

void le_visitor_id_mint(char out[LE_ID_HEX_LEN + 1]) {
    /* Refill a thread-local pool so that minting costs one syscall per 256 ids. */
    static _Thread_local unsigned char pool[4096];
    static _Thread_local size_t left;
    if (left < 16) {
        le_random(pool, sizeof(pool));
        left = sizeof(pool);
    }
    le_hex(out, pool + sizeof(pool) - left, 16);
    memset(pool + sizeof(pool) - left, 0, 16);
    left -= 16;
}

static pthread_mutex_t salt_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t salt_day = -1;
static unsigned char salt[32];

void le_visitor_cookieless_id(int64_t now_ms, le_str_t ip, le_str_t ua,
                              char out[LE_ID_HEX_LEN + 1]) {
    int64_t day = now_ms / 86400000;
    unsigned char s[32];
    pthread_mutex_lock(&salt_mu);
    if (day != salt_day) {
        le_random(salt, sizeof(salt));
        salt_day = day;
    }
    memcpy(s, salt, sizeof(s));
    pthread_mutex_unlock(&salt_mu);

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (!h) abort();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    EVP_DigestUpdate(h, s, sizeof(s));
    EVP_DigestUpdate(h, ip.ptr, ip.len);
    EVP_DigestUpdate(h, "", 1); /* separator: a NUL can occur in neither */
    EVP_DigestUpdate(h, ua.ptr, ua.len);
    EVP_DigestFinal_ex(h, md, &mdlen);
    EVP_MD_CTX_free(h);
    le_hex(out, md, 16);
}
