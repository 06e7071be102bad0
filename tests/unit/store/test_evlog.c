/*
 * test_evlog.c: the event log as its users see it: what is on disk after
 * appends from several threads, rotation, recovery of torn tails, refusal of
 * corruption, back-pressure, flush, the fsync modes, write failures and
 * follow-mode scanning. Every test works in its own mkdtemp directory.
 *
 * Events carry their producer and sequence number in the id ("%08x" thread,
 * "%016x" zero, "%08x" sequence) and have a fixed encoded size, so tests can
 * check order and compute exact frame counts and offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "evlog.h"
#include "frame.h"
#include "record.h"

#define MAX_THREADS 8

/* ---- helpers ------------------------------------------------------------- */

typedef struct {
    char url[64];
    char val[16];
    le_kv_t kv;
    le_event_t ev;
} evbuf_t;

static void make_event(evbuf_t *b, unsigned thread, unsigned seq) {
    memset(b, 0, sizeof(*b));
    snprintf(b->url, sizeof(b->url), "https://example.com/%02u/%08u", thread, seq);
    snprintf(b->val, sizeof(b->val), "%08u", seq);
    b->kv = (le_kv_t){LE_STR("seq"), le_str(b->val)};
    b->ev.time_ms = 1795713961123;
    b->ev.type = LE_EV_PAGEVIEW;
    b->ev.source = LE_SRC_PIXEL;
    b->ev.id_kind = LE_ID_COOKIE;
    b->ev.consent = true;
    snprintf(b->ev.id, sizeof(b->ev.id), "%08x%016x%08x", thread, 0u, seq);
    b->ev.name = LE_STR("pageview");
    b->ev.url = le_str(b->url);
    b->ev.props = &b->kv;
    b->ev.nprops = 1;
    b->ev.ip = LE_STR("203.0.0.0");
}

/* The frame bytes of event (thread, seq); returns the length. */
static size_t frame_of(unsigned thread, unsigned seq, uint8_t *out, size_t cap) {
    evbuf_t b;
    make_event(&b, thread, seq);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    le_record_encode(&b.ev, &sb);
    assert_true(LE_FRAME_HDR + sb.size <= cap);
    le_frame_header(out, sb.data, (uint32_t)sb.size);
    memcpy(out + LE_FRAME_HDR, sb.data, sb.size);
    size_t n = LE_FRAME_HDR + sb.size;
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static size_t frame_size(void) {
    uint8_t buf[512];
    return frame_of(0, 0, buf, sizeof(buf));
}

static char *tmpdir(void) {
    char *t = strdup("/tmp/le-evlog-test-XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rmtree(char *dir) {
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static void seg_path(char *out, size_t n, const char *dir, unsigned segno) {
    int len = snprintf(out, n, "%s/events-%08u.log", dir, segno);
    assert_true(len > 0 && (size_t)len < n);
}

static off_t file_size(const char *path) {
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static unsigned count_segments(const char *dir) {
    char p[512];
    unsigned n = 0;
    for (unsigned i = 1; i < 100000; i++) {
        seg_path(p, sizeof(p), dir, i);
        if (access(p, F_OK) != 0) break;
        n++;
    }
    return n;
}

static void append_bytes(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void poke_byte(const char *path, off_t off) {
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static le_evlog_opts_t opts_for(const char *dir) {
    le_evlog_opts_t o = {
        .dir = dir,
        .segment_size = 64u << 20,
        .fsync_mode = LE_FSYNC_INTERVAL,
        .fsync_interval_ms = 5,
        .buffer_limit = 64u << 20,
    };
    return o;
}

static le_evlog_t *open_ok(const le_evlog_opts_t *o) {
    le_evlog_t *l = NULL;
    char *msg = NULL;
    int rc = le_evlog_open(&l, o, &msg);
    if (rc) fail_msg("le_evlog_open: %d %s", rc, msg ? msg : "");
    assert_null(msg);
    return l;
}

static void append_ok(le_evlog_t *l, unsigned thread, unsigned seq) {
    evbuf_t b;
    make_event(&b, thread, seq);
    assert_int_equal(le_evlog_append(l, &b.ev), 0);
}

/* What a scan saw: per-producer counts, order, decode failures. */
typedef struct {
    atomic_int n;
    int next[MAX_THREADS];
    int out_of_order;
    int undecodable;
} seen_t;

static int collect_cb(void *ud, const void *payload, size_t len) {
    seen_t *s = ud;
    le_event_t ev;
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    if (le_record_decode(payload, len, &ev, &a) != 0 || strlen(ev.id) != 32) {
        s->undecodable++;
    } else {
        char th[9] = {0};
        memcpy(th, ev.id, 8);
        unsigned t = (unsigned)strtoul(th, NULL, 16);
        unsigned seq = (unsigned)strtoul(ev.id + 24, NULL, 16);
        if (t >= MAX_THREADS || (int)seq != s->next[t])
            s->out_of_order++;
        else
            s->next[t]++;
    }
    le_arena_free(&a);
    atomic_fetch_add(&s->n, 1);
    return 0;
}

/* Scan dir without follow; *errtext gets what the scan wrote to err (caller frees). */
static int scan(const char *dir, seen_t *s, char **errtext) {
    size_t elen;
    FILE *err = open_memstream(errtext, &elen);
    memset(s, 0, sizeof(*s));
    int rc = le_evlog_scan(dir, false, NULL, collect_cb, s, err);
    fclose(err);
    return rc;
}

static void scan_clean(const char *dir, int want) {
    seen_t s;
    char *e;
    assert_int_equal(scan(dir, &s, &e), 0);
    if (e[0]) fail_msg("unexpected scan message: %s", e);
    free(e);
    assert_int_equal(atomic_load(&s.n), want);
    assert_int_equal(s.undecodable, 0);
    assert_int_equal(s.out_of_order, 0);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- appends from threads ------------------------------------------------ */

typedef struct {
    le_evlog_t *l;
    unsigned t, n;
    unsigned failures;
} producer_t;

static void *produce(void *arg) {
    producer_t *p = arg;
    for (unsigned i = 0; i < p->n; i++) {
        evbuf_t b;
        make_event(&b, p->t, i);
        if (le_evlog_append(p->l, &b.ev) != 0) p->failures++;
    }
    return NULL;
}

static void test_threads_then_reopen_and_scan(void **state) {
    (void)state;
    enum { T = 4, PER = 20000 };
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = open_ok(&o);

    pthread_t th[T];
    producer_t p[T];
    for (unsigned i = 0; i < T; i++) {
        p[i] = (producer_t){l, i, PER, 0};
        pthread_create(&th[i], NULL, produce, &p[i]);
    }
    for (unsigned i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(p[i].failures, 0);
    }
    assert_int_equal(le_evlog_flush(l), 0);
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    assert_int_equal(st.appended, T * PER);
    assert_int_equal(st.written, T * PER);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.bytes, (uint64_t)T * PER * frame_size());
    assert_true(st.fsyncs >= 1);
    assert_int_equal(st.segments, 1);
    le_evlog_close(l);

    /* Reopen: nothing torn, same segment. */
    l = open_ok(&o);
    le_evlog_stats(l, &st);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(st.segments, 0);
    le_evlog_close(l);

    seen_t s;
    char *e;
    assert_int_equal(scan(dir, &s, &e), 0);
    assert_string_equal(e, "");
    free(e);
    assert_int_equal(atomic_load(&s.n), T * PER);
    assert_int_equal(s.undecodable, 0);
    assert_int_equal(s.out_of_order, 0); /* each producer's events in its own order */
    for (unsigned i = 0; i < T; i++) assert_int_equal(s.next[i], PER);
    rmtree(dir);
}

static void test_reopen_appends_to_same_segment(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    for (unsigned round = 0; round < 3; round++) {
        le_evlog_t *l = open_ok(&o);
        for (unsigned i = 0; i < 3; i++) append_ok(l, 0, round * 3 + i);
        le_evlog_close(l);
    }
    assert_int_equal(count_segments(dir), 1);
    scan_clean(dir, 9);
    rmtree(dir);
}

/* ---- rotation ------------------------------------------------------------ */

static void test_rotation_keeps_order_and_bounds(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.segment_size = 4096;
    size_t f = frame_size();
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 500; i++) {
        append_ok(l, 1, i);
        if (i % 97 == 0) assert_int_equal(le_evlog_flush(l), 0); /* vary the batch sizes */
    }
    assert_int_equal(le_evlog_flush(l), 0);
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    le_evlog_close(l);

    unsigned nseg = count_segments(dir);
    assert_true(nseg >= 500 * f / 4096);
    assert_int_equal(st.segments, nseg);
    char p[512];
    for (unsigned i = 1; i <= nseg; i++) {
        seg_path(p, sizeof(p), dir, i);
        off_t sz = file_size(p);
        assert_true(sz <= 4096);
        assert_int_equal(sz % (off_t)f, 0); /* whole frames only */
        /* Full segments are full: the next frame would not have fitted. */
        if (i < nseg) assert_true(sz + (off_t)f > 4096);
    }
    seen_t s;
    char *e;
    assert_int_equal(scan(dir, &s, &e), 0);
    assert_string_equal(e, "");
    free(e);
    assert_int_equal(atomic_load(&s.n), 500);
    assert_int_equal(s.out_of_order, 0);
    assert_int_equal(s.next[1], 500);
    rmtree(dir);
}

static void test_frame_larger_than_segment_sits_alone(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    size_t f = frame_size();
    o.segment_size = f / 2;
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 5; i++) append_ok(l, 0, i);
    le_evlog_close(l);

    /* The first segment was created empty at open and took the first frame. */
    assert_int_equal(count_segments(dir), 5);
    char p[512];
    for (unsigned i = 1; i <= 5; i++) {
        seg_path(p, sizeof(p), dir, i);
        assert_int_equal(file_size(p), (off_t)f);
    }
    scan_clean(dir, 5);
    rmtree(dir);
}

/* ---- recovery ------------------------------------------------------------ */

static void write_n_and_close(const char *dir, unsigned n) {
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < n; i++) append_ok(l, 0, i);
    le_evlog_close(l);
}

static void test_torn_tail_partial_frame(void **state) {
    (void)state;
    char *dir = tmpdir();
    char p[512];
    uint8_t fr[512];
    write_n_and_close(dir, 10);
    seg_path(p, sizeof(p), dir, 1);
    off_t good = file_size(p);
    frame_of(0, 10, fr, sizeof(fr));
    append_bytes(p, fr, 17);

    /* A reader skips and reports it. */
    seen_t s;
    char *e;
    assert_int_equal(scan(dir, &s, &e), 0);
    char want[128];
    snprintf(want, sizeof(want),
             "events-00000001.log: skipped torn tail of 17 bytes at offset %lld\n",
             (long long)good);
    assert_string_equal(e, want);
    free(e);
    assert_int_equal(atomic_load(&s.n), 10);

    /* Opening cuts it, and appending continues right there. */
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = open_ok(&o);
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    assert_int_equal(st.torn_bytes, 17);
    assert_int_equal(file_size(p), good);
    for (unsigned i = 10; i < 15; i++) append_ok(l, 0, i);
    le_evlog_close(l);
    scan_clean(dir, 15);
    rmtree(dir);
}

static void test_torn_tail_bad_checksum_and_zeros(void **state) {
    (void)state;
    char *dir = tmpdir();
    char p[512];
    uint8_t fr[512];
    write_n_and_close(dir, 4);
    seg_path(p, sizeof(p), dir, 1);
    off_t good = file_size(p);

    /* A whole last frame whose payload did not all reach the disk. */
    size_t n = frame_of(0, 4, fr, sizeof(fr));
    fr[n - 1] ^= 0xff;
    append_bytes(p, fr, n);
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = open_ok(&o);
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    assert_int_equal(st.torn_bytes, n);
    le_evlog_close(l);
    assert_int_equal(file_size(p), good);

    /* Space the file system allocated but never wrote: zeros. */
    static const uint8_t zeros[4096];
    append_bytes(p, zeros, sizeof(zeros));
    l = open_ok(&o);
    le_evlog_stats(l, &st);
    assert_int_equal(st.torn_bytes, sizeof(zeros));
    le_evlog_close(l);
    assert_int_equal(file_size(p), good);
    scan_clean(dir, 4);
    rmtree(dir);
}

static void test_corruption_in_older_segment(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.segment_size = 4096;
    size_t f = frame_size();
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 200; i++) append_ok(l, 0, i);
    le_evlog_close(l);
    assert_true(count_segments(dir) >= 3);

    /* Damage a payload byte of frame 5 in the first segment. */
    char p[512];
    seg_path(p, sizeof(p), dir, 1);
    off_t at = (off_t)(5 * f + LE_FRAME_HDR + 10);
    poke_byte(p, at);

    seen_t s;
    char *e;
    assert_int_equal(scan(dir, &s, &e), LE_ECORRUPT);
    char want[128];
    snprintf(want, sizeof(want), "events-00000001.log: corrupt record at offset %zu\n", 5 * f);
    assert_string_equal(e, want);
    free(e);
    assert_int_equal(atomic_load(&s.n), 5); /* the records before it were delivered */

    /* A truncated older segment is corruption too, not a torn tail. */
    poke_byte(p, at); /* repair */
    seg_path(p, sizeof(p), dir, 2);
    off_t sz = file_size(p);
    assert_int_equal(truncate(p, sz - 3), 0);
    assert_int_equal(scan(dir, &s, &e), LE_ECORRUPT);
    snprintf(want, sizeof(want), "events-00000002.log: corrupt record at offset %lld\n",
             (long long)(sz - (off_t)f));
    assert_string_equal(e, want);
    free(e);
    rmtree(dir);
}

static void test_corruption_mid_newest_segment_refused(void **state) {
    (void)state;
    char *dir = tmpdir();
    size_t f = frame_size();
    write_n_and_close(dir, 10);
    char p[512];
    seg_path(p, sizeof(p), dir, 1);
    off_t size = file_size(p);
    poke_byte(p, (off_t)(3 * f + LE_FRAME_HDR + 1));

    /* Valid records follow the bad one: not a torn tail; open refuses to cut it. */
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = NULL;
    char *msg = NULL;
    assert_int_equal(le_evlog_open(&l, &o, &msg), LE_ECORRUPT);
    assert_null(l);
    assert_non_null(msg);
    char want[64];
    snprintf(want, sizeof(want), "corrupt record at offset %zu", 3 * f);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "events-00000001.log"));
    free(msg);
    assert_int_equal(file_size(p), size); /* untouched */

    seen_t s;
    char *e;
    assert_int_equal(scan(dir, &s, &e), LE_ECORRUPT);
    char want2[128];
    snprintf(want2, sizeof(want2), "events-00000001.log: corrupt record at offset %zu\n", 3 * f);
    assert_string_equal(e, want2);
    free(e);
    assert_int_equal(atomic_load(&s.n), 3);
    rmtree(dir);
}

/* ---- back-pressure, flush, fsync modes ----------------------------------- */

static void test_buffer_limit_refuses_when_full(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.buffer_limit = 4096;
    size_t f = frame_size();
    le_evlog_t *l = open_ok(&o);

    le__evlog_pause(l, true);
    unsigned accepted = 0;
    int rc;
    evbuf_t b;
    for (;;) {
        make_event(&b, 0, accepted);
        if ((rc = le_evlog_append(l, &b.ev)) != 0) break;
        accepted++;
        assert_true(accepted < 10000);
    }
    assert_int_equal(rc, LE_EFULL);
    assert_int_equal(accepted, 4096 / f);
    assert_int_equal(le_evlog_append(l, &b.ev), LE_EFULL);
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    assert_int_equal(st.appended, accepted);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.written, 0);
    assert_true(le_evlog_healthy(l)); /* full is back-pressure, not failure */

    le__evlog_pause(l, false);
    assert_int_equal(le_evlog_flush(l), 0);
    append_ok(l, 0, accepted); /* room again */
    le_evlog_close(l);
    scan_clean(dir, (int)accepted + 1);
    rmtree(dir);
}

static void test_flush_makes_data_visible(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.fsync_interval_ms = 60000; /* the group-commit window will not end by itself */
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 3; i++) append_ok(l, 0, i);
    scan_clean(dir, 0);
    assert_int_equal(le_evlog_flush(l), 0);
    scan_clean(dir, 3);
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    assert_int_equal(st.written, 3);
    assert_true(st.fsyncs >= 1);
    assert_int_equal(le_evlog_flush(l), 0); /* nothing pending: returns at once */
    le_evlog_close(l);
    rmtree(dir);
}

static void test_fsync_always_writes_without_flush(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.fsync_mode = LE_FSYNC_ALWAYS;
    o.fsync_interval_ms = 60000; /* irrelevant in this mode */
    le_evlog_t *l = open_ok(&o);
    append_ok(l, 0, 0);
    le_evlog_stats_t st;
    for (int i = 0; i < 500; i++) { /* up to 10 s on a very slow machine */
        le_evlog_stats(l, &st);
        if (st.fsyncs >= 1 && st.written == 1) break;
        sleep_ms(20);
    }
    assert_int_equal(st.written, 1);
    assert_true(st.fsyncs >= 1);
    scan_clean(dir, 1);
    le_evlog_close(l);
    rmtree(dir);
}

static void test_fsync_never(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.fsync_mode = LE_FSYNC_NEVER;
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 3; i++) append_ok(l, 0, i);
    assert_int_equal(le_evlog_flush(l), 0); /* written, not fsynced */
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.fsyncs, 0);
    scan_clean(dir, 3);
    le_evlog_close(l);
    scan_clean(dir, 3);
    rmtree(dir);
}

/* ---- failure ------------------------------------------------------------- */

static void test_write_failure_is_fatal(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.fsync_interval_ms = 1;
    size_t f = frame_size();
    le_evlog_t *l = open_ok(&o);

    /* Files of this process may not grow past 2048 bytes: write(2) fails with EFBIG. */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 2048;
    char logpath[512];
    snprintf(logpath, sizeof(logpath), "%s/stderr.txt", dir);
    int saved = dup(2), lf = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(lf, 2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    unsigned accepted = 0;
    for (unsigned i = 0; i < 100; i++) {
        evbuf_t b;
        make_event(&b, 0, i);
        if (le_evlog_append(l, &b.ev) == 0) accepted++;
    }
    int frc = le_evlog_flush(l);
    evbuf_t b;
    make_event(&b, 0, 100);
    int arc = le_evlog_append(l, &b.ev);
    int frc2 = le_evlog_flush(l);
    bool healthy = le_evlog_healthy(l);

    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, oldsig);
    dup2(saved, 2);
    close(saved);
    close(lf);

    assert_int_equal(frc, -EIO);
    assert_int_equal(arc, -EIO);
    assert_int_equal(frc2, -EIO);
    assert_false(healthy);
    le_evlog_stats_t st;
    le_evlog_stats(l, &st);
    assert_int_equal(st.appended + st.refused, 101);
    assert_true(st.refused >= 1);
    le_evlog_close(l);

    /* Logged exactly once, with the cause. */
    FILE *lg = fopen(logpath, "r");
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof(line), lg)) {
        if (!strstr(line, "event log:")) continue;
        lines++;
        assert_non_null(strstr(line, strerror(EFBIG)));
    }
    fclose(lg);
    unlink(logpath);
    assert_int_equal(lines, 1);

    /* On restart the partial frame at the limit is cut; whole frames remain. */
    char p[512];
    seg_path(p, sizeof(p), dir, 1);
    assert_int_equal(file_size(p), 2048);
    l = open_ok(&o);
    le_evlog_stats(l, &st);
    assert_int_equal(st.torn_bytes, 2048 % f);
    assert_true(le_evlog_healthy(l));
    le_evlog_close(l);
    scan_clean(dir, (int)(2048 / f));
    (void)accepted;
    rmtree(dir);
}

/* ---- open ---------------------------------------------------------------- */

static void test_open_creates_dir_and_locks(void **state) {
    (void)state;
    char *top = tmpdir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/a/b/log", top);
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = open_ok(&o);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(count_segments(dir), 1);

    /* A second writer on the same directory is refused. */
    le_evlog_t *l2 = NULL;
    char *msg = NULL;
    assert_int_equal(le_evlog_open(&l2, &o, &msg), -EBUSY);
    assert_null(l2);
    assert_non_null(msg);
    free(msg);
    le_evlog_close(l);
    l = open_ok(&o);
    le_evlog_close(l);
    le_evlog_close(NULL);

    /* Bad options and a file in the way. */
    o.segment_size = 0;
    assert_int_equal(le_evlog_open(&l, &o, NULL), LE_EINVAL);
    char file[600];
    snprintf(file, sizeof(file), "%s/plain", top);
    int fd = open(file, O_WRONLY | O_CREAT, 0600);
    close(fd);
    o = opts_for(file);
    msg = NULL;
    assert_int_equal(le_evlog_open(&l, &o, &msg), -ENOTDIR);
    assert_non_null(msg);
    free(msg);
    rmtree(top);
}

static void test_scan_missing_and_empty(void **state) {
    (void)state;
    char *dir = tmpdir();
    scan_clean(dir, 0);
    char missing[512];
    snprintf(missing, sizeof(missing), "%s/nope", dir);
    seen_t s;
    char *e;
    assert_int_equal(scan(missing, &s, &e), -ENOENT);
    assert_non_null(strstr(e, "nope"));
    free(e);
    rmtree(dir);
}

/* ---- follow -------------------------------------------------------------- */

typedef struct {
    const char *dir;
    volatile int stop;
    seen_t seen;
    FILE *err;
    char *errtext;
    size_t errlen;
    int rc;
} follower_t;

static void *follow_main(void *arg) {
    follower_t *f = arg;
    f->rc = le_evlog_scan(f->dir, true, &f->stop, collect_cb, &f->seen, f->err);
    return NULL;
}

static void follower_start(follower_t *f, pthread_t *th, const char *dir) {
    memset(f, 0, sizeof(*f));
    f->dir = dir;
    f->err = open_memstream(&f->errtext, &f->errlen);
    pthread_create(th, NULL, follow_main, f);
}

static void wait_for(follower_t *f, int n) {
    for (int i = 0; i < 1000 && atomic_load(&f->seen.n) < n; i++) sleep_ms(10);
    assert_int_equal(atomic_load(&f->seen.n), n);
}

static void follower_stop(follower_t *f, pthread_t th) {
    __atomic_store_n(&f->stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    fclose(f->err);
}

static void test_follow_across_rotation(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.segment_size = 2048;
    le_evlog_t *l = open_ok(&o);

    follower_t f;
    pthread_t th;
    follower_start(&f, &th, dir);
    for (unsigned i = 0; i < 200; i++) {
        append_ok(l, 2, i);
        if (i % 20 == 19) assert_int_equal(le_evlog_flush(l), 0);
    }
    wait_for(&f, 200);
    le_evlog_close(l);
    follower_stop(&f, th);
    assert_true(count_segments(dir) > 3);
    assert_int_equal(f.rc, 0);
    assert_string_equal(f.errtext, "");
    assert_int_equal(f.seen.out_of_order, 0);
    assert_int_equal(f.seen.undecodable, 0);
    assert_int_equal(f.seen.next[2], 200);
    free(f.errtext);
    rmtree(dir);
}

static void test_follow_waits_for_partial_frame(void **state) {
    (void)state;
    char *dir = tmpdir();
    write_n_and_close(dir, 3);
    char p[512];
    uint8_t fr[512];
    seg_path(p, sizeof(p), dir, 1);
    size_t n = frame_of(0, 3, fr, sizeof(fr));
    append_bytes(p, fr, n / 2);

    follower_t f;
    pthread_t th;
    follower_start(&f, &th, dir);
    wait_for(&f, 3);
    sleep_ms(300); /* several polls with the half frame there */
    assert_int_equal(atomic_load(&f.seen.n), 3);
    append_bytes(p, fr + n / 2, n - n / 2);
    wait_for(&f, 4);
    follower_stop(&f, th);
    assert_int_equal(f.rc, 0);
    assert_string_equal(f.errtext, ""); /* waited for, not reported */
    assert_int_equal(f.seen.next[0], 4);
    free(f.errtext);
    rmtree(dir);
}

static void test_follow_survives_restart_cutting_torn_tail(void **state) {
    (void)state;
    char *dir = tmpdir();
    write_n_and_close(dir, 3);
    char p[512];
    uint8_t fr[512];
    seg_path(p, sizeof(p), dir, 1);
    frame_of(5, 99, fr, sizeof(fr)); /* a frame that never finished */
    append_bytes(p, fr, 17);

    follower_t f;
    pthread_t th;
    follower_start(&f, &th, dir);
    wait_for(&f, 3);
    sleep_ms(250);

    /* The server restarts: the torn tail is cut and new frames take its place. */
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = open_ok(&o);
    append_ok(l, 0, 3);
    append_ok(l, 0, 4);
    assert_int_equal(le_evlog_flush(l), 0);
    wait_for(&f, 5);
    le_evlog_close(l);
    follower_stop(&f, th);
    assert_int_equal(f.rc, 0);
    assert_string_equal(f.errtext, "");
    assert_int_equal(f.seen.out_of_order, 0);
    assert_int_equal(f.seen.next[0], 5);
    free(f.errtext);
    rmtree(dir);
}

/* ---- positioned reading -------------------------------------------------- */

/* The sequence number of a record written by append_ok (its id ends in "%08x" seq). */
static unsigned seq_of(const void *payload, size_t len) {
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    le_event_t ev;
    assert_int_equal(le_record_decode(payload, len, &ev, &a), 0);
    unsigned seq = (unsigned)strtoul(ev.id + 24, NULL, 16);
    le_arena_free(&a);
    return seq;
}

/* Read from `from` up to end; returns how many, checks they run first, first+1, ... */
static unsigned read_range(const char *dir, le_logpos_t from, le_logpos_t end, unsigned first,
                           le_logpos_t *after) {
    le_logreader_t *r;
    char *msg;
    assert_int_equal(le_logreader_open(dir, from, &r, &msg), 0);
    const void *p;
    size_t len;
    unsigned n = 0;
    int rc;
    while ((rc = le_logreader_next(r, end, &p, &len, &msg)) == 1) {
        assert_int_equal(seq_of(p, len), first + n);
        n++;
    }
    if (rc != 0) fail_msg("reader: %d %s", rc, msg ? msg : "");
    if (after) *after = le_logreader_pos(r);
    le_logreader_close(r);
    return n;
}

static const le_logpos_t ALL = {UINT32_MAX, UINT64_MAX};

static void test_reader_positions(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.segment_size = 4096;
    size_t f = frame_size(), per = 4096 / f; /* frames per segment */
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 300; i++) append_ok(l, 0, i);
    assert_int_equal(le_evlog_flush(l), 0);
    le_logpos_t end = le_evlog_durable(l);
    le_evlog_close(l);
    unsigned nseg = count_segments(dir);
    assert_int_equal(end.seg, nseg);
    assert_int_equal(end.off, (300 - (nseg - 1) * per) * f);

    le_logpos_t after;
    assert_int_equal(read_range(dir, (le_logpos_t){0, 0}, ALL, 0, &after), 300);
    assert_int_equal(le_logpos_cmp(after, end), 0);
    /* from a record boundary inside segment 2 */
    assert_int_equal(read_range(dir, (le_logpos_t){2, 3 * f}, ALL, (unsigned)(per + 3), NULL),
                     300 - per - 3);
    /* up to a bound inside segment 3 */
    assert_int_equal(read_range(dir, (le_logpos_t){0, 0}, (le_logpos_t){3, 2 * f}, 0, &after),
                     2 * per + 2);
    assert_int_equal(after.seg, 3);
    assert_int_equal(after.off, 2 * f);
    /* from the end: nothing */
    assert_int_equal(read_range(dir, end, ALL, 300, NULL), 0);
    /* a position past the end of its segment is refused */
    le_logreader_t *r;
    char *msg;
    assert_int_equal(le_logreader_open(dir, (le_logpos_t){1, 4096 * 2}, &r, &msg), LE_ECORRUPT);
    assert_non_null(strstr(msg, "shorter"));
    free(msg);
    assert_int_equal(le_logreader_open(dir, (le_logpos_t){nseg + 5, 0}, &r, &msg), -ENOENT);
    free(msg);
    rmtree(dir);
}

/* A reader that follows the writer sees exactly what became durable, across rotations. */
static void test_reader_follows_durable(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.segment_size = 4096;
    le_evlog_t *l = open_ok(&o);
    le_logreader_t *r;
    char *msg;
    assert_int_equal(le_logreader_open(dir, le_evlog_durable(l), &r, &msg), 0);
    unsigned sent = 0, got = 0;
    le_logpos_t seen = le_evlog_durable(l);
    for (int round = 0; round < 40; round++) {
        if (round == 20) le_logreader_trust(r); /* the second half reads without checksums */
        for (int k = 0; k < round % 7 + 1; k++) append_ok(l, 0, sent++);
        le_logpos_t d = le_evlog_wait(l, seen, 2000);
        assert_true(le_logpos_cmp(d, seen) > 0);
        const void *p;
        size_t len;
        int rc;
        while ((rc = le_logreader_next(r, d, &p, &len, &msg)) == 1)
            assert_int_equal(seq_of(p, len), got++);
        assert_int_equal(rc, 0);
        assert_int_equal(le_logpos_cmp(le_logreader_pos(r), d), 0);
        seen = d;
    }
    assert_int_equal(le_evlog_flush(l), 0);
    le_logpos_t d = le_evlog_durable(l);
    const void *p;
    size_t len;
    while (le_logreader_next(r, d, &p, &len, &msg) == 1) got++;
    assert_int_equal(got, sent);
    assert_true(count_segments(dir) > 3);
    /* nothing new: the wait times out and says where the end is */
    le_logpos_t same = le_evlog_wait(l, d, 50);
    assert_int_equal(le_logpos_cmp(same, d), 0);
    le_logreader_close(r);
    le_evlog_close(l);
    rmtree(dir);
}

/* Pages of segment segno the page cache holds, of its whole pages in [0, upto). */
static size_t cached_pages(const char *dir, unsigned segno, size_t *whole) {
    char p[512];
    seg_path(p, sizeof(p), dir, segno);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    size_t size = (size_t)file_size(p), page = (size_t)sysconf(_SC_PAGESIZE);
    *whole = size / page;
    void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    unsigned char *vec = malloc(*whole + 1);
    assert_int_equal(mincore(m, size, vec), 0);
    size_t n = 0;
    for (size_t i = 0; i < *whole; i++) n += vec[i] & 1;
    free(vec);
    munmap(m, size);
    close(fd);
    return n;
}

/* A reader gives the pages it has read back to the kernel: whole segments it has passed and,
 * in the one it is in, everything but the last few MiB. The writer's fresh pages are cached
 * before (else the check below would prove nothing). */
static void test_reader_drops_what_it_read(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.segment_size = 8u << 20;
    size_t f = frame_size();
    unsigned n = (unsigned)((47u << 19) / f); /* 8 + 8 + 7.5 MiB */
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < n; i++) append_ok(l, 0, i);
    assert_int_equal(le_evlog_flush(l), 0);
    le_logpos_t end = le_evlog_durable(l);
    assert_int_equal(end.seg, 3);
    size_t whole, before = cached_pages(dir, 1, &whole);
    assert_true(before >= whole / 2);

    le_logreader_t *r;
    char *msg;
    assert_int_equal(le_logreader_open(dir, (le_logpos_t){0, 0}, &r, &msg), 0);
    const void *pl;
    size_t len;
    unsigned got = 0;
    while (le_logreader_next(r, end, &pl, &len, &msg) == 1)
        assert_int_equal(seq_of(pl, len), got++);
    assert_int_equal(got, n);
    assert_int_equal(cached_pages(dir, 1, &whole), 0);
    assert_int_equal(cached_pages(dir, 2, &whole), 0);
    size_t last = cached_pages(dir, 3, &whole);
    assert_true(whole > (6u << 20) / 4096 && last <= (6u << 20) / 4096);
    le_logreader_close(r);
    assert_int_equal(cached_pages(dir, 3, &whole), 0); /* closing gives back the rest */
    le_evlog_close(l);
    rmtree(dir);
}

static void test_reader_corruption_and_repair(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    o.segment_size = 4096;
    size_t f = frame_size();
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 200; i++) append_ok(l, 0, i);
    assert_int_equal(le_evlog_flush(l), 0);
    /* no repair while the log is open */
    uint64_t dropped;
    char *msg;
    assert_int_equal(le_evlog_repair(dir, (le_logpos_t){1, 0}, &dropped, &msg), LE_EINVAL);
    free(msg);
    le_evlog_close(l);
    unsigned nseg = count_segments(dir);
    char p[512];
    seg_path(p, sizeof(p), dir, 2);
    poke_byte(p, (off_t)(4 * f + LE_FRAME_HDR + 3));

    le_logreader_t *r;
    assert_int_equal(le_logreader_open(dir, (le_logpos_t){0, 0}, &r, &msg), 0);
    const void *pl;
    size_t len;
    unsigned n = 0;
    int rc;
    while ((rc = le_logreader_next(r, ALL, &pl, &len, &msg)) == 1) n++;
    assert_int_equal(rc, LE_ECORRUPT);
    assert_non_null(strstr(msg, "events-00000002.log: corrupt record at offset"));
    free(msg);
    le_logpos_t bad = le_logreader_pos(r);
    assert_int_equal(bad.seg, 2);
    assert_int_equal(bad.off, 4 * f);
    size_t per = 4096 / f;
    assert_int_equal(n, per + 4);
    le_logreader_close(r);

    off_t seg2 = file_size(p);
    assert_int_equal(le_evlog_repair(dir, bad, &dropped, &msg), 0);
    assert_int_equal(file_size(p), (off_t)(4 * f));
    assert_true(dropped >= (uint64_t)seg2 - 4 * f);
    assert_int_equal(count_segments(dir), 2);
    char aside[600];
    snprintf(aside, sizeof(aside), "%s/events-%08u.log.corrupt", dir, nseg);
    assert_int_equal(access(aside, F_OK), 0); /* set aside, not deleted */
    assert_int_equal(read_range(dir, (le_logpos_t){0, 0}, ALL, 0, NULL), per + 4);
    /* and the log opens and goes on after the cut */
    l = open_ok(&o);
    append_ok(l, 0, (unsigned)(per + 4));
    assert_int_equal(le_evlog_flush(l), 0);
    le_evlog_close(l);
    assert_int_equal(read_range(dir, (le_logpos_t){0, 0}, ALL, 0, NULL), per + 5);
    rmtree(dir);
}

/* Reading everything stops quietly at a torn tail of the newest segment. */
static void test_reader_torn_tail(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_evlog_opts_t o = opts_for(dir);
    le_evlog_t *l = open_ok(&o);
    for (unsigned i = 0; i < 10; i++) append_ok(l, 0, i);
    le_evlog_close(l);
    char p[512];
    seg_path(p, sizeof(p), dir, 1);
    uint8_t frame[512];
    size_t n = frame_of(0, 10, frame, sizeof(frame));
    append_bytes(p, frame, n / 2);
    assert_int_equal(read_range(dir, (le_logpos_t){0, 0}, ALL, 0, NULL), 10);
    rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_then_reopen_and_scan),
        cmocka_unit_test(test_reopen_appends_to_same_segment),
        cmocka_unit_test(test_rotation_keeps_order_and_bounds),
        cmocka_unit_test(test_frame_larger_than_segment_sits_alone),
        cmocka_unit_test(test_torn_tail_partial_frame),
        cmocka_unit_test(test_torn_tail_bad_checksum_and_zeros),
        cmocka_unit_test(test_corruption_in_older_segment),
        cmocka_unit_test(test_corruption_mid_newest_segment_refused),
        cmocka_unit_test(test_buffer_limit_refuses_when_full),
        cmocka_unit_test(test_flush_makes_data_visible),
        cmocka_unit_test(test_fsync_always_writes_without_flush),
        cmocka_unit_test(test_fsync_never),
        cmocka_unit_test(test_write_failure_is_fatal),
        cmocka_unit_test(test_open_creates_dir_and_locks),
        cmocka_unit_test(test_scan_missing_and_empty),
        cmocka_unit_test(test_follow_across_rotation),
        cmocka_unit_test(test_follow_waits_for_partial_frame),
        cmocka_unit_test(test_follow_survives_restart_cutting_torn_tail),
        cmocka_unit_test(test_reader_positions),
        cmocka_unit_test(test_reader_follows_durable),
        cmocka_unit_test(test_reader_corruption_and_repair),
        cmocka_unit_test(test_reader_torn_tail),
        cmocka_unit_test(test_reader_drops_what_it_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
