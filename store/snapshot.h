/*
 * snapshot.h: one file holding a saved state and the event-log position it covers.
 *
 * <data_dir>/snapshot.bin is written whole or not at all: to snapshot.bin.tmp, fsynced,
 * renamed over the old one, and the directory fsynced. Its layout, little-endian:
 *
 *   offset  size  field
 *   0       8     magic "LESNAP01"
 *   8       4     log position: segment
 *   12      8     log position: offset
 *   20      8     payload length
 *   28      4     CRC-32C of bytes 0..27 and the payload
 *   32      n     payload (the engine's msgpack, score/snapshot.c)
 *
 * Start-up loads it and replays the log from the position; segments wholly before the
 * position are no longer needed.
 */
#ifndef LE_SNAPSHOT_H
#define LE_SNAPSHOT_H

#include "buf.h"
#include "evlog.h"

#define LE_SNAPSHOT_FILE "snapshot.bin"

/* Write data as the snapshot covering the log up to pos. 0 or -errno with *msg. */
int le_snapshot_write(const char *dir, le_logpos_t pos, const void *data, size_t len, char **msg);

/*
 * Read the snapshot into data (appended) and *pos. 0; -ENOENT when there is none (*msg NULL);
 * LE_ECORRUPT for a damaged file and -errno for I/O errors, both with *msg.
 */
int le_snapshot_read(const char *dir, le_logpos_t *pos, le_buf_t *data, char **msg);

#endif
