/*
 * crc32c.c: CRC-32C with the SSE4.2 instruction when present (three streams at once on long
 * inputs, joined by table), else a byte-wise table (reflected polynomial 0x82F63B78).
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u /* reflected */

static uint32_t table[256];

static void init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[i] = c;
    }
}

/*
 * Combining CRCs. The register after bytes A then B is the register after A moved past |B|
 * zero bytes, xor the register B alone gives from 0: moving past n zero bytes is a product
 * with x^(8n) modulo the polynomial (bit-reflected: bit 31 is x^0). For one fixed n that
 * product is linear in the register, so it is four lookups in tables built once.
 */
static uint32_t mulmod(uint32_t a, uint32_t b) {
    uint32_t r = 0;
    for (int i = 31; i >= 0; i--) { /* a's x^0 ... x^31 terms, bit 31 first */
        if (a >> i & 1) r ^= b;
        b = b & 1 ? (b >> 1) ^ POLY : b >> 1; /* b *= x */
    }
    return r;
}

#define BLOCK 64 /* bytes per stream and round: three streams interleave 192 bytes */
static uint32_t shift1[4][256], shift2[4][256]; /* past BLOCK and 2 * BLOCK zero bytes */

static void init_shift(uint32_t t[4][256], size_t n) {
    uint32_t xn = 1u << 31;                                       /* x^0 */
    for (size_t i = 0; i < 8 * n; i++) xn = mulmod(xn, 1u << 30); /* times x */
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) t[k][b] = mulmod(xn, b << (8 * k));
}

static inline uint32_t shift(const uint32_t t[4][256], uint32_t c) {
    return t[0][c & 0xff] ^ t[1][c >> 8 & 0xff] ^ t[2][c >> 16 & 0xff] ^ t[3][c >> 24];
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int hw; /* the CPU has SSE4.2 */

static void init(void) {
    init_table();
    init_shift(shift1, BLOCK);
    init_shift(shift2, 2 * BLOCK);
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&once, init);
    while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * The crc32 instruction takes three cycles but can start one each cycle, so one chain of it
 * runs at a third of the speed the CPU has: long inputs are cut into rounds of three 64-byte
 * blocks, each with a chain of its own, joined with the shift tables.
 */
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t n) {
    uint64_t c = crc;
    if (n >= 3 * BLOCK) pthread_once(&once, init); /* the shift tables */
    while (n >= 3 * BLOCK) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < BLOCK; i += 8) {
            uint64_t v0, v1, v2;
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + BLOCK + i, 8);
            memcpy(&v2, p + 2 * BLOCK + i, 8);
            c = __builtin_ia32_crc32di(c, v0);
            c1 = __builtin_ia32_crc32di(c1, v1);
            c2 = __builtin_ia32_crc32di(c2, v2);
        }
        c = shift(shift2, (uint32_t)c) ^ shift(shift1, (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * BLOCK;
        n -= 3 * BLOCK;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t le_crc32c(uint32_t crc, const void *data, size_t n) {
    pthread_once(&once, init);
    crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
    if (hw) return ~crc_hw(crc, data, n);
#endif
    return ~crc_sw(crc, data, n);
}
