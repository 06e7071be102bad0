/*
 * frame.c: the length + CRC-32C envelope around every stored record.
 *
 * A frame is an 8-byte header followed by the payload, all little endian:
 *
 *     offset  size  field
 *     0       4     payload length N, uint32 LE, 1 <= N <= LE_FRAME_MAX (16 MiB)
 *     4       4     CRC-32C (Castagnoli) of the N payload bytes, uint32 LE
 *     8       N     payload: one msgpack object (record.c)
 *
 * The checksum covers the payload only; a damaged length shows up either as
 * an impossible value (0, above LE_FRAME_MAX), as a frame running past the
 * end of the data, or as a checksum mismatch over the wrong byte range. The
 * byte order is fixed so that logs move between machines unchanged.
 */
#include "frame.h"

#include "crc32c.h"

static inline void put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void le_frame_header(uint8_t hdr[LE_FRAME_HDR], const void *payload, uint32_t len) {
    put_le32(hdr, len);
    put_le32(hdr + 4, le_crc32c(0, payload, len));
}

le_frame_status_t le_frame_parse(const uint8_t *p, size_t avail, const uint8_t **payload,
                                 uint32_t *len) {
    if (avail < LE_FRAME_HDR) return LE_FRAME_SHORT;
    uint32_t n = get_le32(p);
    if (n == 0 || n > LE_FRAME_MAX) return LE_FRAME_BAD;
    if (avail - LE_FRAME_HDR < n) return LE_FRAME_SHORT;
    if (le_crc32c(0, p + LE_FRAME_HDR, n) != get_le32(p + 4)) return LE_FRAME_BAD;
    *payload = p + LE_FRAME_HDR;
    *len = n;
    return LE_FRAME_OK;
}
