/*
 * crc32c.c: CRC-32C with the SSE4.2 instruction when present, else a
 * byte-wise table (reflected polynomial 0x82F63B78).
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[256];

static void init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        table[i] = c;
    }
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int hw; /* the CPU has SSE4.2 */

static void init(void) {
    init_table();
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
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t n) {
    uint64_t c = crc;
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
