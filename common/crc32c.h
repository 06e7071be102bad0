/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum of every stored record frame.
 *
 * Debian 12 packages no CRC-32C library for C, so this is the one piece of
 * checksum code we carry: SSE4.2's crc32 instruction when the CPU has it,
 * a slicing table otherwise. Check value: le_crc32c(0, "123456789", 9) ==
 * 0xE3069283.
 */
#ifndef LE_CRC32C_H
#define LE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) over n bytes. */
uint32_t le_crc32c(uint32_t crc, const void *data, size_t n);

#endif
