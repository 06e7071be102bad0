/*
 * evlog.c: the append-only event log with group commit.
 *
 * Files. The log is a directory of segments named events-00000001.log,
 * events-00000002.log, ... (printf "events-%08u.log", numbered from 1; the
 * number only grows). A segment is a plain concatenation of frames (frame.c:
 * 4-byte LE length, 4-byte LE CRC-32C, payload), each payload one record
 * (record.c). There is no file header and no index: a segment can be read
 * from its first byte with nothing but frame.h. A frame never spans two
 * segments; the writer starts a new segment before one would grow past
 * segment_size, and a single frame larger than that sits alone in its own.
 *
 * Writing. le_evlog_append() runs on the caller's (worker's) thread: it
 * encodes the event into a stack buffer with room for the frame header in
 * front, computes the CRC, and only then takes the mutex to memcpy the frame
 * into the pending buffer. One writer thread swaps the pending buffer for an
 * empty spare (two buffers that keep their memory, so the steady state
 * allocates nothing), writes the batch with write(2) and fsyncs it:
 *
 *     interval  a batch is written fsync_interval_ms after its first event
 *               (sooner once 4 MiB are pending) and fsynced right after;
 *     always    the writer starts a batch as soon as there is data and it is
 *               not busy, and fsyncs every batch: appends never block, but
 *               the window of loss is one write+fsync instead of one interval;
 *     never     batches are written on the interval and never fsynced; close
 *               fsyncs the open segment and the directory.
 *
 * A new segment is followed by an fsync of the directory (except in never
 * mode). Any failed write or fsync marks the log failed for good: it is
 * logged once, later appends and flushes return -EIO, le_evlog_healthy()
 * turns false. Retrying an fsync after a failure can report success for data
 * the kernel already dropped, so there is no retry; the process restarts and
 * recovers from the files.
 *
 * Recovery at open. Only the newest segment can have a torn tail: older ones
 * were complete (and fsynced, unless in never mode) before the next one was
 * created. The newest is read frame by frame. At the first frame that is not
 * whole and valid, the rest of the file is a torn tail when it cannot hold a
 * lost record: the frame runs past the end of the file, or its length says it
 * ends exactly at the end of the file (a last frame with a bad checksum), or
 * every byte from there to the end is zero (space allocated but never
 * written). The tail is cut (ftruncate, fsync), counted in torn_bytes and
 * logged. Anything else (a bad frame with data after it) is corruption: open
 * fails with LE_ECORRUPT and leaves the file alone rather than silently drop
 * records that were acknowledged as durable. The directory is flock()ed so
 * that two processes cannot write one log.
 */
#include "evlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "frame.h"
#include "log.h"
#include "record.h"

#define SEG_PREFIX "events-"
#define SEG_SUFFIX ".log"
#define SEG_NAME_MAX 32
#define KICK_BYTES (4u << 20) /* pending bytes that wake the writer before the interval */
#define ENC_STACK 8192        /* encode buffer on the caller's stack; larger events use the heap */
#define READ_CHUNK (1u << 20)
#define RESERVE_MAX (256u << 20) /* per buffer, allocated at open */
#define POLL_MS 100
#define MAX_WATCHERS 256

struct le_evlog_s {
    /* Fixed at open. */
    char *dir;
    uint64_t segment_size;
    uint64_t buffer_limit;
    uint64_t kick_bytes;
    int mode;
    uint32_t interval_ms;

    /* Shared between appenders, flushers and the writer; under mu. */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the writer waits here (CLOCK_MONOTONIC) */
    pthread_cond_t done; /* flushers wait here for a finished batch */
    le_buf_t pending;
    uint64_t pending_events;
    uint64_t seq;        /* frames accepted since open */
    uint64_t synced;     /* frames written (and fsynced per mode) */
    le_logpos_t durable; /* the end of what is written (and fsynced per mode) */
    uint32_t flushers;
    uint32_t waiters; /* threads in le_evlog_wait */
    bool idle;        /* the writer sleeps until data arrives: signal it */
    bool urgent;      /* the writer has been asked to write now */
    bool stop;
    bool paused; /* test hook */

    atomic_bool failed;
    atomic_uint_fast64_t appended, refused, written, bytes, fsyncs, segments;
    atomic_uint_fast64_t synced_pub; /* synced, readable without the lock */
    struct {
        le_evlog_durable_cb cb;
        void *ud;
        atomic_bool armed;
    } watchers[MAX_WATCHERS];
    atomic_int nwatchers;
    uint64_t torn_bytes;

    /* The writer thread's own (and open/close's, before and after it runs). */
    le_buf_t spare;
    int dirfd;
    int fd;
    uint32_t segno;
    uint64_t seg_bytes;
    pthread_t thread;
};

/* ---- small helpers ----------------------------------------------------- */

static inline uint32_t get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void seg_name(char out[SEG_NAME_MAX], uint32_t segno) {
    snprintf(out, SEG_NAME_MAX, SEG_PREFIX "%08u" SEG_SUFFIX, segno);
}

/* "events-<digits>.log" -> its number; 0 for any other name. */
static uint32_t seg_parse(const char *name) {
    size_t n = strlen(name), p = sizeof(SEG_PREFIX) - 1, s = sizeof(SEG_SUFFIX) - 1;
    if (n < p + 8 + s || n > p + 10 + s || memcmp(name, SEG_PREFIX, p) != 0 ||
        memcmp(name + n - s, SEG_SUFFIX, s) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = p; i < n - s; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return v <= UINT32_MAX ? (uint32_t)v : 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The segment numbers in dirfd, ascending, in a malloc'd array. 0 or -errno. */
static int list_segments(int dirfd, uint32_t **out, size_t *n) {
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    uint32_t *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        uint32_t s = seg_parse(de->d_name);
        if (!s) continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            v = le_xrealloc(v, cap * sizeof(*v));
        }
        v[len++] = s;
    }
    int rc = errno ? -errno : 0;
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (len > 1) qsort(v, len, sizeof(*v), cmp_u32);
    *out = v;
    *n = len;
    return 0;
}

/* mkdir -p with mode 0700 for what it creates; the parent of each new directory is fsynced. */
static int mkdir_p(const char *dir) {
    char *p = le_xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) == 0) {
            char *slash = strrchr(p, '/');
            char *parent = slash == p ? le_xstrdup("/")
                           : slash    ? le_xstrndup(p, (size_t)(slash - p))
                                      : le_xstrdup(".");
            int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd >= 0) {
                (void)fsync(pfd);
                close(pfd);
            }
            free(parent);
        } else if (errno != EEXIST) {
            rc = -errno;
        }
        *s = c;
        if (rc || c == '\0') break;
    }
    free(p);
    return rc;
}

/* ---- reading segments (recovery and scan) ------------------------------ */

/* A buffered sequential frame reader over one segment file, using pread. */
typedef struct {
    int fd;
    le_buf_t b;    /* file bytes; b.data[pos] is at file offset off */
    size_t pos;    /* first unconsumed byte in b */
    uint64_t off;  /* file offset of the next frame */
    bool trusted;  /* frames this process wrote and reads back: lengths only, no checksums */
    bool drop;     /* a log reader: give pages it has read back to the kernel (rd_drop_behind) */
    uint64_t kept; /* file offset from which pages may still be cached by this reader's doing */
} rd_t;

/*
 * A log reader reads each byte once, so the page cache it leaves behind only crowds out
 * memory that is worth keeping: a busy server writes gigabytes an hour, and without this the
 * kernel's cache fills with log pages nobody reads again (on a virtual machine whose memory
 * the host backs lazily, every one of those new pages also costs a fault in the host). So
 * readers advise the kernel to drop what they have consumed, in steps of DROP_STEP. The pages
 * the writer fills are read back by the scorer within a group-commit interval, which makes
 * the log's footprint in the cache a few megabytes instead of all of it. Pages still dirty
 * (fsync: never) are written back first by the kernel, not dropped; nothing is lost either
 * way, a later reader just reads from disk.
 */
#define DROP_STEP (4u << 20)
#define DROP_ALIGN (2u << 20) /* the largest folio: one straddling a cut would stay cached */

static void rd_drop_behind(rd_t *r, bool all) {
    if (!r->drop || r->fd < 0) return;
    if (all) { /* the whole file from kept: the reader is done with it */
        (void)posix_fadvise(r->fd, (off_t)r->kept, 0, POSIX_FADV_DONTNEED);
        r->kept = r->off;
        return;
    }
    uint64_t upto = r->off & ~(uint64_t)(DROP_ALIGN - 1);
    if (upto <= r->kept || upto - r->kept < DROP_STEP) return;
    (void)posix_fadvise(r->fd, (off_t)r->kept, (off_t)(upto - r->kept), POSIX_FADV_DONTNEED);
    r->kept = upto;
}

/* The frame at p as le_frame_parse sees it, without the checksum (trusted readers). */
static le_frame_status_t parse_trusted(const uint8_t *p, size_t avail, const uint8_t **payload,
                                       uint32_t *len) {
    if (avail < LE_FRAME_HDR) return LE_FRAME_SHORT;
    uint32_t n = get_le32(p);
    if (n == 0 || n > LE_FRAME_MAX) return LE_FRAME_BAD;
    if (avail - LE_FRAME_HDR < n) return LE_FRAME_SHORT;
    *payload = p + LE_FRAME_HDR;
    *len = n;
    return LE_FRAME_OK;
}

/* Make at least want bytes available from pos (fewer only at end of file). 0 or -errno. */
static int rd_fill(rd_t *r, size_t want) {
    size_t avail = r->b.len - r->pos;
    if (avail >= want) return 0;
    rd_drop_behind(r, false);
    if (r->pos) {
        memmove(r->b.data, r->b.data + r->pos, avail);
        r->b.len = avail;
        r->pos = 0;
    }
    le_buf_reserve(&r->b, LE_MAX(want, (size_t)READ_CHUNK));
    while (r->b.len < want) {
        ssize_t k =
            pread(r->fd, r->b.data + r->b.len, r->b.cap - 1 - r->b.len, (off_t)(r->off + r->b.len));
        if (k < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (k == 0) break;
        r->b.len += (size_t)k;
    }
    return 0;
}

/* Forget buffered bytes past pos so the next read sees the file as it is now. */
static void rd_drop(rd_t *r) {
    r->b.len = r->pos;
}

enum { RD_FRAME = 1, RD_END = 0 };

/*
 * The next frame: RD_FRAME with *payload and *len (valid until the next call),
 * RD_END at a clean end of file, -errno, or LE_ECORRUPT with *st saying
 * why (LE_FRAME_SHORT or LE_FRAME_BAD) and r->off at the frame's start.
 */
static int rd_next(rd_t *r, const uint8_t **payload, uint32_t *len, le_frame_status_t *st) {
    int rc = rd_fill(r, LE_FRAME_HDR);
    if (rc) return rc;
    if (r->b.len == r->pos) return RD_END;
    const uint8_t *p = (const uint8_t *)r->b.data + r->pos;
    le_frame_status_t (*parse)(const uint8_t *, size_t, const uint8_t **, uint32_t *) =
        r->trusted ? parse_trusted : le_frame_parse;
    *st = parse(p, r->b.len - r->pos, payload, len);
    if (*st == LE_FRAME_SHORT && r->b.len - r->pos >= LE_FRAME_HDR) {
        /* The header is here; read the rest of the frame (the length is <= LE_FRAME_MAX). */
        if ((rc = rd_fill(r, LE_FRAME_HDR + (size_t)get_le32(p)))) return rc;
        p = (const uint8_t *)r->b.data + r->pos;
        *st = parse(p, r->b.len - r->pos, payload, len);
    }
    if (*st != LE_FRAME_OK) return LE_ECORRUPT;
    r->pos += LE_FRAME_HDR + *len;
    r->off += LE_FRAME_HDR + *len;
    return RD_FRAME;
}

/*
 * After rd_next failed with st at r->off in a file of size bytes: could the
 * rest be a torn tail (true), or is it corruption with data after it
 * (false)? See the recovery rules at the top of the file. -errno on I/O errors.
 */
static int is_torn_tail(rd_t *r, le_frame_status_t st, uint64_t size) {
    if (st == LE_FRAME_SHORT) return 1;
    uint32_t n = get_le32((const uint8_t *)r->b.data + r->pos);
    if (n >= 1 && n <= LE_FRAME_MAX && r->off + LE_FRAME_HDR + n == size) return 1;
    /* All zeros to the end? */
    char buf[65536];
    for (uint64_t at = r->off; at < size;) {
        ssize_t k = pread(r->fd, buf, (size_t)LE_MIN((uint64_t)sizeof(buf), size - at), (off_t)at);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (k == 0) break;
        for (ssize_t i = 0; i < k; i++)
            if (buf[i]) return 0;
        at += (uint64_t)k;
    }
    return 1;
}

/* ---- writing ----------------------------------------------------------- */

/* Mark the log failed; the first failure is logged with its cause. Returns -EIO. */
static int fail(le_evlog_t *l, const char *op, int err) {
    if (!atomic_exchange(&l->failed, true)) {
        char name[SEG_NAME_MAX];
        seg_name(name, l->segno);
        le_log(LE_LOG_ERROR,
               "event log: %s of %s/%s failed: %s; the log is failed, appends are refused "
               "until restart",
               op, l->dir, name, strerror(err));
    }
    return -EIO;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Create segment segno and make it current. 0, or -errno with *op naming the step that failed. */
static int new_segment(le_evlog_t *l, uint32_t segno, const char **op) {
    char name[SEG_NAME_MAX];
    seg_name(name, segno);
    l->segno = segno;
    l->seg_bytes = 0;
    l->fd = openat(l->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (l->fd < 0) {
        *op = "create";
        return -errno;
    }
    if (l->mode != LE_FSYNC_NEVER && fsync(l->dirfd) != 0) {
        *op = "directory fsync";
        return -errno;
    }
    atomic_fetch_add_explicit(&l->segments, 1, memory_order_relaxed);
    return 0;
}

/* Finish the current segment and start the next. 0 or -EIO (the log has failed). */
static int rotate(le_evlog_t *l) {
    const char *op;
    int rc;
    if (l->mode != LE_FSYNC_NEVER) {
        if (fsync(l->fd) != 0) return fail(l, "fsync", errno);
        atomic_fetch_add_explicit(&l->fsyncs, 1, memory_order_relaxed);
    }
    close(l->fd);
    l->fd = -1;
    if ((rc = new_segment(l, l->segno + 1, &op))) return fail(l, op, -rc);
    return 0;
}

/*
 * How many bytes of whole frames from p[0..n) go into the current segment
 * without passing segment_size. An empty segment takes at least one frame,
 * however large. 0 means: rotate first.
 */
static size_t fits(const le_evlog_t *l, const char *p, size_t n) {
    uint64_t room = l->seg_bytes < l->segment_size ? l->segment_size - l->seg_bytes : 0;
    if (n <= room) return n;
    size_t run = 0;
    while (run < n) {
        size_t f = LE_FRAME_HDR + get_le32((const uint8_t *)p + run);
        if (run + f > room) {
            if (run == 0 && l->seg_bytes == 0) run = f;
            break;
        }
        run += f;
    }
    return run;
}

static int write_batch(le_evlog_t *l, const char *p, size_t n) {
    int rc;
    while (n > 0) {
        size_t run = fits(l, p, n);
        if (run == 0) {
            if ((rc = rotate(l))) return rc;
            continue;
        }
        if ((rc = write_all(l->fd, p, run))) return fail(l, "write", rc);
        l->seg_bytes += run;
        p += run;
        n -= run;
        atomic_fetch_add_explicit(&l->bytes, run, memory_order_relaxed);
    }
    if (l->mode != LE_FSYNC_NEVER) {
        if (fsync(l->fd) != 0) return fail(l, "fsync", errno);
        atomic_fetch_add_explicit(&l->fsyncs, 1, memory_order_relaxed);
    }
    return 0;
}

static void deadline_in(struct timespec *ts, uint32_t ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wake every armed watcher once (the writer's thread; also after a failure). */
static void notify_watchers(le_evlog_t *l) {
    int n = atomic_load_explicit(&l->nwatchers, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (atomic_exchange_explicit(&l->watchers[i].armed, false, memory_order_acq_rel))
            l->watchers[i].cb(l->watchers[i].ud);
}

static void *writer_main(void *arg) {
    le_evlog_t *l = arg;
    struct timespec deadline;
    bool have_deadline = false;

    pthread_mutex_lock(&l->mu);
    for (;;) {
        if (atomic_load(&l->failed)) {
            /* Nothing more reaches the file; wake flushers, wait for close. */
            l->pending.len = 0;
            l->pending_events = 0;
            pthread_cond_broadcast(&l->done);
        }
        if (l->pending.len == 0 || (l->paused && !l->stop)) {
            if (l->stop && l->pending.len == 0) break;
            l->idle = true;
            l->urgent = false;
            pthread_cond_wait(&l->wake, &l->mu);
            l->idle = false;
            continue;
        }
        /* Group commit: let more appends join until the interval is over. */
        if (!l->urgent && !l->stop && l->mode != LE_FSYNC_ALWAYS) {
            if (!have_deadline) {
                deadline_in(&deadline, l->interval_ms);
                have_deadline = true;
            }
            if (pthread_cond_timedwait(&l->wake, &l->mu, &deadline) != ETIMEDOUT) continue;
        }
        have_deadline = false;

        le_buf_t batch = l->pending;
        l->pending = l->spare;
        l->spare = batch;
        uint64_t upto = l->seq, events = l->pending_events;
        l->pending_events = 0;
        l->urgent = false;
        pthread_mutex_unlock(&l->mu);

        int rc = write_batch(l, l->spare.data, l->spare.len);

        pthread_mutex_lock(&l->mu);
        l->spare.len = 0;
        if (rc == 0) {
            l->synced = upto;
            atomic_store_explicit(&l->synced_pub, upto, memory_order_release);
            l->durable = (le_logpos_t){l->segno, l->seg_bytes};
            atomic_fetch_add_explicit(&l->written, events, memory_order_relaxed);
        }
        if (l->flushers || l->waiters) pthread_cond_broadcast(&l->done);
        notify_watchers(l);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- recovery ---------------------------------------------------------- */

/* Open the newest segment, cut a torn tail, make it current. */
static int recover(le_evlog_t *l, uint32_t segno, char **msg) {
    char name[SEG_NAME_MAX];
    struct stat sb;
    rd_t r = {.fd = -1};
    const uint8_t *payload;
    uint32_t len;
    le_frame_status_t st = LE_FRAME_OK;
    int rc;

    seg_name(name, segno);
    l->segno = segno;
    l->fd = openat(l->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC);
    if (l->fd < 0) {
        rc = -errno;
        *msg = le_strf("%s/%s: %s", l->dir, name, strerror(-rc));
        goto out;
    }
    r.fd = l->fd;
    while ((rc = rd_next(&r, &payload, &len, &st)) == RD_FRAME) {}
    if (rc == LE_ECORRUPT) {
        if (fstat(l->fd, &sb) != 0) {
            rc = -errno;
            *msg = le_strf("%s/%s: %s", l->dir, name, strerror(-rc));
            goto out;
        }
        uint64_t size = (uint64_t)sb.st_size;
        rc = is_torn_tail(&r, st, size);
        if (rc < 0) {
            *msg = le_strf("%s/%s: %s", l->dir, name, strerror(-rc));
            goto out;
        }
        if (rc == 0) {
            rc = LE_ECORRUPT;
            *msg = le_strf(
                "%s/%s: corrupt record at offset %llu with %llu more bytes after it: not "
                "a torn tail, so it is not cut; move the segment aside to start",
                l->dir, name, (unsigned long long)r.off, (unsigned long long)(size - r.off));
            goto out;
        }
        if (ftruncate(l->fd, (off_t)r.off) != 0 || fsync(l->fd) != 0) {
            rc = -errno;
            *msg = le_strf("%s/%s: cannot cut the torn tail: %s", l->dir, name, strerror(-rc));
            goto out;
        }
        l->torn_bytes = size - r.off;
        le_log(LE_LOG_WARN, "event log: %s/%s: cut a torn tail of %llu bytes at offset %llu",
               l->dir, name, (unsigned long long)l->torn_bytes, (unsigned long long)r.off);
        rc = 0;
    } else if (rc < 0) {
        *msg = le_strf("%s/%s: %s", l->dir, name, strerror(-rc));
        goto out;
    }
    l->seg_bytes = r.off;
    rc = 0;
out:
    le_buf_free(&r.b);
    return rc;
}

/* ---- public API -------------------------------------------------------- */

int le_evlog_open(le_evlog_t **out, const le_evlog_opts_t *opts, char **msgp) {
    le_evlog_t *l;
    char *msg = NULL;
    uint32_t *segs = NULL;
    size_t nsegs = 0;
    int rc;

    *out = NULL;
    if (!opts->dir || !opts->dir[0] || opts->segment_size == 0 || opts->buffer_limit == 0 ||
        opts->fsync_mode < LE_FSYNC_INTERVAL || opts->fsync_mode > LE_FSYNC_NEVER) {
        if (msgp) *msgp = le_strf("event log: invalid options");
        return LE_EINVAL;
    }

    l = le_xcalloc(1, sizeof(*l));
    l->dir = le_xstrdup(opts->dir);
    l->segment_size = opts->segment_size;
    l->buffer_limit = opts->buffer_limit;
    l->kick_bytes = LE_MIN((uint64_t)KICK_BYTES, LE_MAX(opts->buffer_limit / 2, 1));
    l->mode = opts->fsync_mode;
    l->interval_ms = opts->fsync_interval_ms;
    l->dirfd = -1;
    l->fd = -1;
    atomic_init(&l->failed, false);

    if ((rc = mkdir_p(l->dir))) {
        msg = le_strf("%s: cannot create: %s", l->dir, strerror(-rc));
        goto fail;
    }
    l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dirfd < 0) {
        rc = -errno;
        msg = le_strf("%s: %s", l->dir, strerror(-rc));
        goto fail;
    }
    if (flock(l->dirfd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        msg = le_strf("%s: %s", l->dir,
                      rc == -EBUSY ? "the event log is in use by another writer" : strerror(-rc));
        goto fail;
    }
    if ((rc = list_segments(l->dirfd, &segs, &nsegs))) {
        msg = le_strf("%s: %s", l->dir, strerror(-rc));
        goto fail;
    }
    if (nsegs == 0) {
        const char *op;
        if ((rc = new_segment(l, 1, &op))) {
            msg = le_strf("%s: %s of the first segment failed: %s", l->dir, op, strerror(-rc));
            goto fail;
        }
    } else if ((rc = recover(l, segs[nsegs - 1], &msg))) {
        goto fail;
    }

    /*
     * Both buffers get their full size now, so an append never reallocates
     * (and copies megabytes) while holding the lock. Untouched pages cost no
     * memory. Only a single frame larger than the limit can still grow one.
     */
    l->durable = (le_logpos_t){l->segno, l->seg_bytes};
    size_t cap = (size_t)LE_MIN(l->buffer_limit + (64u << 10), (uint64_t)RESERVE_MAX);
    l->pending = (le_buf_t){le_xmalloc(cap), 0, cap};
    l->spare = (le_buf_t){le_xmalloc(cap), 0, cap};

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_cond_init(&l->done, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&l->mu, NULL);

    /* The writer takes no signals: they belong to the event loops. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&l->thread, NULL, writer_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        rc = -rc;
        msg = le_strf("event log: cannot start the writer thread: %s", strerror(-rc));
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->wake);
        pthread_cond_destroy(&l->done);
        goto fail;
    }
    le_thread_background(l->thread, "le-evlog");
    free(segs);
    *out = l;
    if (msgp) *msgp = NULL;
    return 0;

fail:
    free(segs);
    if (l->fd >= 0) close(l->fd);
    if (l->dirfd >= 0) close(l->dirfd);
    le_buf_free(&l->pending);
    le_buf_free(&l->spare);
    free(l->dir);
    free(l);
    if (msgp)
        *msgp = msg;
    else
        free(msg);
    return rc;
}

/* A frame being built: header room, then the payload; on the caller's stack unless the
 * payload is too large for it. */
typedef struct {
    char *p;
    size_t len;
    bool heap;
} enc_t;

static void enc_init(enc_t *e, char *stack, size_t cap, size_t payload_max) {
    e->heap = LE_FRAME_HDR + payload_max > cap;
    e->p = e->heap ? le_xmalloc(LE_FRAME_HDR + payload_max) : stack;
    e->len = LE_FRAME_HDR;
}

int le_evlog_append(le_evlog_t *l, const le_event_t *ev) {
    return le_evlog_append_seq(l, ev, NULL);
}

uint64_t le_evlog_synced(le_evlog_t *l) {
    return atomic_load_explicit(&l->synced_pub, memory_order_acquire);
}

int le_evlog_watch(le_evlog_t *l, le_evlog_durable_cb cb, void *ud) {
    pthread_mutex_lock(&l->mu);
    int n = atomic_load(&l->nwatchers);
    if (n < MAX_WATCHERS) {
        l->watchers[n].cb = cb;
        l->watchers[n].ud = ud;
        atomic_init(&l->watchers[n].armed, false);
        atomic_store_explicit(&l->nwatchers, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&l->mu);
    return n < MAX_WATCHERS ? n : -1;
}

void le_evlog_arm(le_evlog_t *l, int handle) {
    if (handle < 0) return;
    atomic_store_explicit(&l->watchers[handle].armed, true, memory_order_release);
    /* a batch that finished (or a failure) between the caller's check and now */
    if (atomic_load(&l->failed) && atomic_exchange(&l->watchers[handle].armed, false))
        l->watchers[handle].cb(l->watchers[handle].ud);
}

/* Put the frame in e (header room first, payload after it) into the pending buffer. */
/* urgent: write (and sync) now instead of at the end of the group-commit interval. */
static int append_frame(le_evlog_t *l, enc_t *e, uint64_t *seqp, bool urgent) {
    int rc = 0;
    size_t plen = e->len - LE_FRAME_HDR;
    if (LE_UNLIKELY(plen > LE_FRAME_MAX)) {
        rc = LE_ETOOBIG;
        goto out;
    }
    le_frame_header((uint8_t *)e->p, e->p + LE_FRAME_HDR, (uint32_t)plen);

    bool signal = false;
    pthread_mutex_lock(&l->mu);
    if (atomic_load_explicit(&l->failed, memory_order_relaxed)) {
        rc = -EIO;
    } else if (l->pending.len != 0 && l->pending.len + e->len > l->buffer_limit) {
        rc = LE_EFULL; /* an empty buffer takes any one frame, so no event is refused forever */
    } else {
        le_buf_append(&l->pending, e->p, e->len);
        /* The next frame goes right after this one: ask for those lines now (for writing),
         * so that the next append's copy does not stall on them under the lock. */
        for (size_t k = 0; k < e->len && l->pending.len + k + 64 <= l->pending.cap; k += 64)
            __builtin_prefetch(l->pending.data + l->pending.len + k, 1);
        l->seq++;
        if (seqp) *seqp = l->seq;
        l->pending_events++;
        if (l->idle) {
            l->idle = false;
            signal = true;
        }
        if (!l->urgent &&
            (urgent || l->pending.len >= l->kick_bytes || l->mode == LE_FSYNC_ALWAYS)) {
            l->urgent = true;
            signal = true;
        }
    }
    pthread_mutex_unlock(&l->mu);
    if (signal) pthread_cond_signal(&l->wake);

out:
    atomic_fetch_add_explicit(rc ? &l->refused : &l->appended, 1, memory_order_relaxed);
    if (e->heap) free(e->p);
    return rc;
}

int le_evlog_append_seq(le_evlog_t *l, const le_event_t *ev, uint64_t *seqp) {
    if (LE_UNLIKELY(atomic_load_explicit(&l->failed, memory_order_relaxed))) {
        atomic_fetch_add_explicit(&l->refused, 1, memory_order_relaxed);
        return -EIO;
    }
    char stack[ENC_STACK];
    enc_t e;
    enc_init(&e, stack, sizeof(stack), le_record_bound(ev));
    e.len += le_record_pack_to(ev, e.p + LE_FRAME_HDR);
    /* forms (what makes most MQLs: speed to lead) and admin records are not held back for
     * the group commit; page views are */
    return append_frame(l, &e, seqp, ev->type >= LE_EV_FORM);
}

int le_evlog_append_raw(le_evlog_t *l, const void *payload, size_t len) {
    if (LE_UNLIKELY(atomic_load_explicit(&l->failed, memory_order_relaxed))) {
        atomic_fetch_add_explicit(&l->refused, 1, memory_order_relaxed);
        return -EIO;
    }
    char stack[ENC_STACK];
    enc_t e;
    enc_init(&e, stack, sizeof(stack), len);
    memcpy(e.p + LE_FRAME_HDR, payload, len);
    e.len += len;
    return append_frame(l, &e, NULL, false);
}

int le_evlog_flush(le_evlog_t *l) {
    pthread_mutex_lock(&l->mu);
    uint64_t target = l->seq;
    if (l->synced < target && !atomic_load(&l->failed)) {
        l->flushers++;
        if (l->pending.len) {
            l->urgent = true;
            pthread_cond_signal(&l->wake);
        }
        while (l->synced < target && !atomic_load(&l->failed)) pthread_cond_wait(&l->done, &l->mu);
        l->flushers--;
    }
    int rc = atomic_load(&l->failed) ? -EIO : 0;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void le_evlog_close(le_evlog_t *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_mutex_lock(&l->mu); /* waiters leave before the condition goes */
    while (l->waiters) {
        pthread_cond_broadcast(&l->done);
        pthread_mutex_unlock(&l->mu);
        sched_yield();
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);

    if (l->mode == LE_FSYNC_NEVER && !atomic_load(&l->failed) && l->fd >= 0) {
        if (fsync(l->fd) != 0)
            fail(l, "fsync", errno);
        else if (fsync(l->dirfd) != 0)
            fail(l, "directory fsync", errno);
        else
            atomic_fetch_add_explicit(&l->fsyncs, 1, memory_order_relaxed);
    }
    if (l->fd >= 0) close(l->fd);
    close(l->dirfd); /* releases the flock */
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->wake);
    pthread_cond_destroy(&l->done);
    le_buf_free(&l->pending);
    le_buf_free(&l->spare);
    free(l->dir);
    free(l);
}

int le_evlog_drop_before(le_evlog_t *l, uint32_t seg) {
    pthread_mutex_lock(&l->mu);
    uint32_t current = l->durable.seg;
    pthread_mutex_unlock(&l->mu);
    if (seg > current) seg = current;
    uint32_t *segs;
    size_t n;
    int rc = list_segments(l->dirfd, &segs, &n), dropped = 0;
    if (rc) return rc;
    for (size_t i = 0; i < n && segs[i] < seg; i++) {
        char name[SEG_NAME_MAX];
        seg_name(name, segs[i]);
        if (unlinkat(l->dirfd, name, 0) == 0)
            dropped++;
        else if (!rc)
            rc = -errno;
    }
    free(segs);
    if (dropped && l->mode != LE_FSYNC_NEVER) (void)fsync(l->dirfd);
    return rc ? rc : dropped;
}

le_logpos_t le_evlog_durable(le_evlog_t *l) {
    pthread_mutex_lock(&l->mu);
    le_logpos_t p = l->durable;
    pthread_mutex_unlock(&l->mu);
    return p;
}

le_logpos_t le_evlog_wait(le_evlog_t *l, le_logpos_t after, uint32_t timeout_ms) {
    struct timespec deadline;
    deadline_in(&deadline, timeout_ms);
    pthread_mutex_lock(&l->mu);
    l->waiters++;
    while (le_logpos_cmp(l->durable, after) <= 0 && !l->stop && !atomic_load(&l->failed)) {
        if (pthread_cond_timedwait(&l->done, &l->mu, &deadline) == ETIMEDOUT) break;
    }
    l->waiters--;
    le_logpos_t p = l->durable;
    pthread_mutex_unlock(&l->mu);
    return p;
}

bool le_evlog_healthy(le_evlog_t *l) {
    return !atomic_load(&l->failed);
}

void le_evlog_stats(le_evlog_t *l, le_evlog_stats_t *out) {
    out->appended = atomic_load_explicit(&l->appended, memory_order_relaxed);
    out->refused = atomic_load_explicit(&l->refused, memory_order_relaxed);
    out->written = atomic_load_explicit(&l->written, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&l->bytes, memory_order_relaxed);
    out->fsyncs = atomic_load_explicit(&l->fsyncs, memory_order_relaxed);
    out->segments = atomic_load_explicit(&l->segments, memory_order_relaxed);
    out->torn_bytes = l->torn_bytes;
}

void le__evlog_pause(le_evlog_t *l, bool paused) {
    pthread_mutex_lock(&l->mu);
    l->paused = paused;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
}

/* ---- scan -------------------------------------------------------------- */

static void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* The smallest segment number above cur in dirfd, or 0 (also on errors: try again later). */
static uint32_t next_segment(int dirfd, uint32_t cur) {
    uint32_t *v, best = 0;
    size_t n;
    if (list_segments(dirfd, &v, &n)) return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > cur) {
            best = v[i];
            break;
        }
    free(v);
    return best;
}

/* A relaxed atomic load: the flag is set by another thread (or a signal handler). */
static bool stopped(volatile int *stop) {
    return stop && __atomic_load_n(stop, __ATOMIC_RELAXED);
}

#define ERR(...)                                                                                   \
    do {                                                                                           \
        if (err) fprintf(err, __VA_ARGS__);                                                        \
    } while (0)

int le_evlog_scan(const char *dir, bool follow, volatile int *stop, le_evlog_visit_cb cb, void *ud,
                  FILE *err) {
    uint32_t *segs = NULL, cur, last;
    size_t nsegs = 0;
    char name[SEG_NAME_MAX];
    rd_t r = {.fd = -1};
    int rc;

    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        rc = -errno;
        ERR("%s: %s\n", dir, strerror(-rc));
        return rc;
    }
    if ((rc = list_segments(dirfd, &segs, &nsegs))) {
        ERR("%s: %s\n", dir, strerror(-rc));
        goto out;
    }
    if (nsegs == 0) {
        if (!follow) goto out;
        while (!(cur = next_segment(dirfd, 0))) {
            if (stopped(stop)) goto out;
            sleep_ms(POLL_MS);
        }
        last = cur;
    } else {
        cur = segs[0];
        last = segs[nsegs - 1];
    }

    for (;;) {
        const uint8_t *payload;
        uint32_t len;
        le_frame_status_t st = LE_FRAME_OK;

        if (r.fd < 0) {
            seg_name(name, cur);
            r.fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
            if (r.fd < 0) {
                rc = -errno;
                ERR("%s: %s\n", name, strerror(-rc));
                goto out;
            }
            r.off = 0;
            r.pos = r.b.len = 0;
        }
        rc = rd_next(&r, &payload, &len, &st);
        if (rc == RD_FRAME) {
            if ((rc = cb(ud, payload, len))) goto out;
            continue;
        }
        if (rc < 0 && rc != LE_ECORRUPT) {
            ERR("%s: %s\n", name, strerror(-rc));
            goto out;
        }

        /* The end of this segment, or a frame that is not whole. Is it the newest segment? */
        uint32_t next = 0;
        if (follow) {
            next = next_segment(dirfd, cur);
            if (next) {
                /* Rotation happened: cur is complete now. Read what was added meanwhile. */
                rd_drop(&r);
                rc = rd_next(&r, &payload, &len, &st);
                if (rc == RD_FRAME) {
                    if ((rc = cb(ud, payload, len))) goto out;
                    continue;
                }
                if (rc < 0 && rc != LE_ECORRUPT) {
                    ERR("%s: %s\n", name, strerror(-rc));
                    goto out;
                }
            }
        } else if (cur != last) {
            for (size_t i = 0; i < nsegs; i++)
                if (segs[i] > cur) {
                    next = segs[i];
                    break;
                }
        }

        if (rc == LE_ECORRUPT && (next || !follow)) {
            if (next) {
                ERR("%s: corrupt record at offset %llu\n", name, (unsigned long long)r.off);
                goto out;
            }
            struct stat sb;
            if (fstat(r.fd, &sb) != 0) {
                rc = -errno;
                ERR("%s: %s\n", name, strerror(-rc));
                goto out;
            }
            int torn = is_torn_tail(&r, st, (uint64_t)sb.st_size);
            if (torn < 0) {
                rc = torn;
                ERR("%s: %s\n", name, strerror(-rc));
            } else if (torn) {
                rc = 0;
                ERR("%s: skipped torn tail of %llu bytes at offset %llu\n", name,
                    (unsigned long long)((uint64_t)sb.st_size - r.off), (unsigned long long)r.off);
            } else {
                rc = LE_ECORRUPT;
                ERR("%s: corrupt record at offset %llu\n", name, (unsigned long long)r.off);
            }
            goto out;
        }
        if (next) {
            close(r.fd);
            r.fd = -1;
            cur = next;
            continue;
        }
        if (!follow) {
            rc = 0;
            goto out;
        }
        /*
         * Following the newest segment: wait for the rest of a partial frame,
         * more frames or the next segment. A corrupt frame with data after
         * it is not going to heal: report it.
         */
        if (rc == LE_ECORRUPT && st == LE_FRAME_BAD) {
            struct stat sb;
            if (fstat(r.fd, &sb) == 0 && is_torn_tail(&r, st, (uint64_t)sb.st_size) == 0) {
                ERR("%s: corrupt record at offset %llu\n", name, (unsigned long long)r.off);
                goto out;
            }
        }
        if (stopped(stop)) {
            rc = 0;
            goto out;
        }
        rd_drop(&r);
        sleep_ms(POLL_MS);
    }

out:
    if (r.fd >= 0) close(r.fd);
    le_buf_free(&r.b);
    free(segs);
    close(dirfd);
    return rc;
}

/* ---- positioned reading ------------------------------------------------ */

struct le_logreader_s {
    char *dir;
    int dirfd;
    uint32_t seg; /* the segment r reads (0 before the first) */
    rd_t r;
};

static void reader_close_seg(le_logreader_t *lr) {
    rd_drop_behind(&lr->r, true);
    if (lr->r.fd >= 0) close(lr->r.fd);
    lr->r.fd = -1;
    /* (trusted survives: it belongs to the reader, not the segment) */
    lr->r.pos = lr->r.b.len = 0;
}

static int reader_open_seg(le_logreader_t *lr, uint32_t seg, uint64_t off, char **msg) {
    char name[SEG_NAME_MAX];
    reader_close_seg(lr);
    seg_name(name, seg);
    lr->r.fd = openat(lr->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (lr->r.fd < 0) {
        int rc = -errno;
        *msg = le_strf("%s/%s: %s", lr->dir, name, strerror(-rc));
        return rc;
    }
    lr->seg = seg;
    lr->r.off = off;
    lr->r.kept = off & ~(uint64_t)(DROP_ALIGN - 1);
    return 0;
}

int le_logreader_open(const char *dir, le_logpos_t from, le_logreader_t **out, char **msg) {
    *out = NULL;
    *msg = NULL;
    le_logreader_t *lr = le_xcalloc(1, sizeof(*lr));
    lr->dir = le_xstrdup(dir);
    lr->r.fd = -1;
    lr->r.drop = true;
    lr->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (lr->dirfd < 0) {
        rc = -errno;
        *msg = le_strf("%s: %s", dir, strerror(-rc));
    } else if (from.seg) {
        if ((rc = reader_open_seg(lr, from.seg, from.off, msg)) == 0) {
            struct stat sb;
            if (fstat(lr->r.fd, &sb) != 0) {
                rc = -errno;
                *msg = le_strf("%s: %s", dir, strerror(-rc));
            } else if ((uint64_t)sb.st_size < from.off) {
                rc = LE_ECORRUPT;
                *msg = le_strf("%s: segment %u is shorter (%llu bytes) than the position %llu the "
                               "snapshot needs",
                               dir, from.seg, (unsigned long long)sb.st_size,
                               (unsigned long long)from.off);
            }
        }
    }
    if (rc) {
        le_logreader_close(lr);
        return rc;
    }
    *out = lr;
    return 0;
}

le_logpos_t le_logreader_pos(const le_logreader_t *lr) {
    return (le_logpos_t){lr->seg, lr->r.fd >= 0 ? lr->r.off : 0};
}

int le_logreader_next(le_logreader_t *lr, le_logpos_t end, const void **payload, size_t *len,
                      char **msg) {
    *msg = NULL;
    bool everything = end.seg == UINT32_MAX;
    for (;;) {
        if (lr->r.fd < 0) {
            uint32_t next = next_segment(lr->dirfd, lr->seg);
            if (!next || next > end.seg) return 0;
            int rc = reader_open_seg(lr, next, 0, msg);
            if (rc) return rc;
        }
        if (lr->seg > end.seg || (lr->seg == end.seg && lr->r.off >= end.off)) return 0;
        const uint8_t *p;
        uint32_t n;
        le_frame_status_t st = LE_FRAME_OK;
        int rc = rd_next(&lr->r, &p, &n, &st);
        if (rc == RD_END || rc == LE_ECORRUPT) {
            /* what was read ahead may be older than the file: look again */
            rd_drop(&lr->r);
            rc = rd_next(&lr->r, &p, &n, &st);
        }
        if (rc == RD_FRAME) {
            *payload = p;
            *len = n;
            return 1;
        }
        char name[SEG_NAME_MAX];
        seg_name(name, lr->seg);
        if (rc < 0 && rc != LE_ECORRUPT) {
            *msg = le_strf("%s/%s: %s", lr->dir, name, strerror(-rc));
            return rc;
        }
        uint32_t next = next_segment(lr->dirfd, lr->seg);
        if (rc == RD_END) {
            if (!next || next > end.seg) return 0;
            if ((rc = reader_open_seg(lr, next, 0, msg))) return rc;
            continue;
        }
        /* A damaged frame. In the newest segment, read to the end, it may be a torn tail. */
        struct stat sb;
        if (!next && everything && fstat(lr->r.fd, &sb) == 0) {
            int torn = is_torn_tail(&lr->r, st, (uint64_t)sb.st_size);
            if (torn == 1) return 0;
        }
        *msg = le_strf("%s/%s: corrupt record at offset %llu", lr->dir, name,
                       (unsigned long long)lr->r.off);
        return LE_ECORRUPT;
    }
}

void le_logreader_trust(le_logreader_t *lr) {
    lr->r.trusted = true;
}

void le_logreader_close(le_logreader_t *lr) {
    if (!lr) return;
    reader_close_seg(lr);
    le_buf_free(&lr->r.b);
    if (lr->dirfd >= 0) close(lr->dirfd);
    free(lr->dir);
    free(lr);
}

int le_evlog_repair(const char *dir, le_logpos_t pos, uint64_t *dropped, char **msg) {
    *dropped = 0;
    *msg = NULL;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        int rc = -errno;
        *msg = le_strf("%s: %s", dir, strerror(-rc));
        return rc;
    }
    int rc = 0;
    uint32_t *segs = NULL;
    size_t n = 0;
    if (flock(dirfd, LOCK_EX | LOCK_NB) != 0) {
        rc = LE_EINVAL;
        *msg = le_strf("%s: the event log is open for writing; stop leadedge first", dir);
        goto out;
    }
    if ((rc = list_segments(dirfd, &segs, &n))) {
        *msg = le_strf("%s: %s", dir, strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char name[SEG_NAME_MAX], aside[SEG_NAME_MAX + 16];
        seg_name(name, segs[i]);
        struct stat sb;
        if (fstatat(dirfd, name, &sb, 0) != 0) continue;
        if (segs[i] == pos.seg && (uint64_t)sb.st_size > pos.off) {
            int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ftruncate(fd, (off_t)pos.off) != 0 || fsync(fd) != 0) {
                rc = -errno;
                *msg = le_strf("%s/%s: cannot cut at %llu: %s", dir, name,
                               (unsigned long long)pos.off, strerror(-rc));
                if (fd >= 0) close(fd);
                goto out;
            }
            close(fd);
            *dropped += (uint64_t)sb.st_size - pos.off;
        } else if (segs[i] > pos.seg) {
            snprintf(aside, sizeof(aside), "%s.corrupt", name);
            if (renameat(dirfd, name, dirfd, aside) != 0) {
                rc = -errno;
                *msg = le_strf("%s/%s: cannot set aside: %s", dir, name, strerror(-rc));
                goto out;
            }
            *dropped += (uint64_t)sb.st_size;
        }
    }
    if (fsync(dirfd) != 0) {
        rc = -errno;
        *msg = le_strf("%s: directory fsync: %s", dir, strerror(-rc));
    }
out:
    free(segs);
    close(dirfd); /* releases the flock */
    return rc;
}
