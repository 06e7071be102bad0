/*
 * frame.h: the record frame every stored record travels in.
 *
 * Byte layout (little endian):
 *     0..3   payload length N (uint32), 1 <= N <= LE_FRAME_MAX
 *     4..7   CRC-32C of the payload (uint32)
 *     8..    N bytes of payload (one msgpack object)
 * A reader that finds a length past the end of the file, a zero or oversize
 * length, or a checksum mismatch has found a torn or corrupt record.
 */
#ifndef LE_FRAME_H
#define LE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define LE_FRAME_HDR 8u
#define LE_FRAME_MAX (16u << 20) /* 16 MiB: far above any event record */

/* Write the 8-byte header for payload[0..len). */
void le_frame_header(uint8_t hdr[LE_FRAME_HDR], const void *payload, uint32_t len);

typedef enum {
    LE_FRAME_OK = 0,    /* *payload and *len are set; the frame is 8 + *len bytes */
    LE_FRAME_SHORT = 1, /* fewer bytes than the frame claims: torn tail, or wait for more */
    LE_FRAME_BAD = 2,   /* zero/oversize length or checksum mismatch */
} le_frame_status_t;

/* Decode the frame at p (avail bytes available). */
le_frame_status_t le_frame_parse(const uint8_t *p, size_t avail, const uint8_t **payload,
                                 uint32_t *len);

#endif
