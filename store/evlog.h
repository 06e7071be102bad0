/*
 * evlog.h: the append-only event log in store.data_dir.
 *
 * Files: <data_dir>/events-<seq:08>.log, each a sequence of frames
 * (frame.h) holding one record (record.h) each; a new segment starts when
 * the current one would pass store.segment_size.
 *
 * Writing: le_evlog_append may be called from any worker thread. It encodes
 * the event on the caller's thread, then copies the frame into the shared
 * pending buffer under a short mutex. One writer thread swaps that buffer out
 * every fsync_interval (group commit), writes it, and fsyncs according to
 * the fsync mode. A form or admin record is not held back: it wakes the writer
 * at once (a form is what usually makes an MQL, and speed to lead counts). A failed write or fsync is fatal for the log: every later
 * append fails with -EIO and le_evlog_healthy() turns false; nothing pretends
 * to be durable.
 *
 * Opening recovers: a torn tail of the newest segment (an incomplete or
 * checksum-failing last frame) is cut off and reported.
 */
#ifndef LE_EVLOG_H
#define LE_EVLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"

typedef struct le_evlog_s le_evlog_t;

typedef struct {
    const char *dir;       /* created (mode 0700) when missing */
    uint64_t segment_size; /* rotate before a segment passes this */
    int fsync_mode;        /* le_fsync_mode_t from config.h */
    uint32_t fsync_interval_ms;
    uint64_t buffer_limit; /* pending bytes past which appends fail with LE_EFULL */
} le_evlog_opts_t;

typedef struct {
    uint64_t appended; /* events accepted by le_evlog_append */
    uint64_t refused;  /* appends refused (full buffer or failed log) */
    uint64_t written;  /* events written to a file */
    uint64_t bytes;    /* bytes written */
    uint64_t fsyncs;
    uint64_t segments;   /* segments created by this process */
    uint64_t torn_bytes; /* bytes cut from a torn tail at open */
} le_evlog_stats_t;

/*
 * Open (creating dir and the first segment as needed), recover the tail and
 * start the writer thread. Returns 0 or -errno / LE_ECORRUPT (-EBUSY when
 * another le_evlog_t, in this or another process, has dir open); on failure
 * *msg (if non-NULL) is set to a static or malloc'd description the caller
 * frees with free() (always malloc'd).
 */
int le_evlog_open(le_evlog_t **out, const le_evlog_opts_t *opts, char **msg);

/* Thread-safe. 0, LE_EFULL (pending buffer over its limit) or -EIO (log failed).
 * Also LE_ETOOBIG for a record over LE_FRAME_MAX (16 MiB), which the request
 * limits make impossible. Never blocks on I/O: only a short mutex. */
int le_evlog_append(le_evlog_t *l, const le_event_t *ev);

/* Append a payload that is not an event record (the outbox keeps its own records in a log of
 * its own, framed and recovered the same way). The same results as le_evlog_append. */
int le_evlog_append_raw(le_evlog_t *l, const void *payload, size_t len);

/* le_evlog_append that also says where the frame is in the order of appends: *seq is its
 * sequence number (1, 2, ...), durable once le_evlog_synced() reaches it. */
int le_evlog_append_seq(le_evlog_t *l, const le_event_t *ev, uint64_t *seq);

/* How many appended frames are durable (written, and fsynced unless the mode is off).
 * Thread-safe, lock-free. */
uint64_t le_evlog_synced(le_evlog_t *l);

/*
 * Wake-ups for threads that hold answers until their events are durable (fsync always:
 * forms are acknowledged only then). le_evlog_watch registers cb (before appends start; at
 * most 256) and returns its handle; after le_evlog_arm(handle), the writer thread calls cb(ud)
 * once, after the next batch became durable or the log failed. cb must be quick and
 * thread-safe (uv_async_send).
 */
typedef void (*le_evlog_durable_cb)(void *ud);
int le_evlog_watch(le_evlog_t *l, le_evlog_durable_cb cb, void *ud);
void le_evlog_arm(le_evlog_t *l, int handle);

/* Block until everything appended before the call is written (and fsynced
 * unless the mode is never). 0 or -EIO. */
int le_evlog_flush(le_evlog_t *l);

/* Flush, stop the writer thread, close files, free. NULL is a no-op. */
void le_evlog_close(le_evlog_t *l);

bool le_evlog_healthy(le_evlog_t *l);
void le_evlog_stats(le_evlog_t *l, le_evlog_stats_t *out);

/*
 * Test hook, not for production code: while paused, the writer thread takes
 * nothing from the pending buffer (a batch already taken is finished), so
 * tests can fill the buffer deterministically. le_evlog_flush() blocks while
 * paused; le_evlog_close() overrides the pause and writes everything.
 */
void le__evlog_pause(le_evlog_t *l, bool paused);

/*
 * Reading (for `leadedge events`): visit every record in every segment of
 * dir, oldest first. cb returns 0 to go on, non-zero to stop (that value is
 * returned). A torn tail in the newest segment is skipped and reported on
 * err; corruption inside a segment is reported with file and offset and ends
 * the scan with LE_ECORRUPT. With follow, keep waiting for new records
 * (and new segments) until *stop becomes true (checked at least every 200 ms).
 */
typedef int (*le_evlog_visit_cb)(void *ud, const void *payload, size_t len);
int le_evlog_scan(const char *dir, bool follow, volatile int *stop, le_evlog_visit_cb cb, void *ud,
                  FILE *err);

/*
 * Positions. A place in the log is a segment number and a byte offset in it; positions order
 * by (seg, off). {0, 0} is before everything.
 */
typedef struct {
    uint32_t seg;
    uint64_t off;
} le_logpos_t;

static inline int le_logpos_cmp(le_logpos_t a, le_logpos_t b) {
    return a.seg != b.seg   ? (a.seg < b.seg ? -1 : 1)
           : a.off != b.off ? (a.off < b.off ? -1 : 1)
                            : 0;
}

/* The end of what is durable: written and, unless the mode is off, fsynced. Every record
 * before it survives a crash of the process or the machine. Thread-safe. */
le_logpos_t le_evlog_durable(le_evlog_t *l);

/* Wait until the durable end passes after, for at most timeout_ms; returns the durable end
 * (which may equal after on a timeout, on close or when the log has failed). Thread-safe. */
le_logpos_t le_evlog_wait(le_evlog_t *l, le_logpos_t after, uint32_t timeout_ms);

/*
 * A reader from a position onwards, for replay and for following what the writer makes
 * durable. from.seg 0 starts at the oldest segment; otherwise from must be a record boundary
 * in an existing segment (a snapshot's position).
 */
typedef struct le_logreader_s le_logreader_t;

/* 0 and *out, or -errno / LE_ECORRUPT with *msg (malloc'd, for the caller to free). */
int le_logreader_open(const char *dir, le_logpos_t from, le_logreader_t **out, char **msg);

/*
 * The next record before end: 1 with *payload and *len (valid until the next call); 0 when
 * the reader has reached end or the last whole record present (a torn tail of the newest
 * segment counts as absent); LE_ECORRUPT when a frame is damaged with data after it (*msg
 * names the file and offset, and le_logreader_pos is the damaged frame's position); -errno on
 * I/O errors (*msg too).
 */
int le_logreader_next(le_logreader_t *r, le_logpos_t end, const void **payload, size_t *len,
                      char **msg);

/* The position after the last record returned (where the next one starts). */
le_logpos_t le_logreader_pos(const le_logreader_t *r);

/*
 * From now on, trust frame checksums instead of checking them: for a reader that follows what
 * this process's own writer makes durable (the bytes come back from the page cache the writer
 * filled). Start-up replay checks every checksum; this skips ~25% of a live follower's work.
 */
void le_logreader_trust(le_logreader_t *r);

/* NULL is a no-op. */
void le_logreader_close(le_logreader_t *r);

/*
 * Delete the segments numbered below seg (never the one being written): a snapshot covers
 * them. Returns how many were deleted, or -errno (the first failure; the rest are tried).
 * Thread-safe.
 */
int le_evlog_drop_before(le_evlog_t *l, uint32_t seg);

/*
 * Repair for `--repair`: cut the log at pos (a damaged frame found by a reader or by open):
 * the segment is truncated there and every later segment is renamed to *.log.corrupt, so that
 * nothing is deleted. Refuses (LE_EINVAL) while the log is open for writing. 0, or -errno with
 * *msg. *dropped receives the bytes set aside.
 */
int le_evlog_repair(const char *dir, le_logpos_t pos, uint64_t *dropped, char **msg);

#endif
