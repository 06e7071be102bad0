/*
 * test_replay.c: applying the event log (score/replay.c). A log of page views, custom events,
 * forms, erasures, stage updates and one record this version cannot decode, spread over
 * several segments, gives the same state and the same per-event results (in the same order)
 * whichever way it is applied: one record at a time with le_engine_apply, le_engine_replay
 * at once or in small pieces (the live follower), and the start-up replay on one thread or
 * with a second one reading. A damaged frame stops every way at the same record, with the
 * error and the reader at the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "record.h"
#include "replay.h"

static const char *yaml =
    "scoring:\n"
    "  behaviour:\n"
    "    rules:\n"
    "      - {name: pricing page, when: {event: pageview, url: \"*/pricing*\"}, points: 15, "
    "max_per_day: 2}\n"
    "      - {name: product page, when: {event: pageview, url: \"*/product*\"}, points: 5}\n"
    "      - {name: demo request, when: {event: form, form: demo}, points: 40, once: true}\n"
    "  fit:\n"
    "    rules:\n"
    "      - {name: DACH, when: {country: [DE, AT, CH]}, points: 10}\n"
    "      - {name: decision maker, when: {role: [decider]}, points: 15}\n"
    "mql:\n"
    "  behaviour: 40\n"
    "  fit: 10\n"
    "suppress:\n"
    "  competitor_domains: [firm3.example]\n"
    "limits:\n"
    "  max_visitors: 1000\n";

static const int64_t T0 = 1795000000000LL;
enum { NEVENTS = 6000 };

static le_config_t *cfg;
static char dir[256];

static le_engine_t *engine(void) {
    le_rules_t *r;
    le_buf_t err = LE_BUF_INIT;
    assert_int_equal(le_rules_build(cfg, &r, &err), 0);
    le_buf_free(&err);
    return le_engine_new(cfg, r, le_domains_new(), le_domains_new());
}

static uint64_t mix(uint64_t x) {
    x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29);
}

/* Event i of the log: 1,500 visitors (more than the table holds), a tenth of them filling in
 * forms with one of 100 addresses, now and then an erasure or a stage update. */
typedef struct {
    le_event_t ev;
    le_kv_t fields[2];
    char url[128], email[64], key[32];
} evb_t;

static void make_event(unsigned i, evb_t *b) {
    le_event_t *ev = &b->ev;
    memset(ev, 0, sizeof(*ev));
    uint64_t r = mix(i + 1);
    unsigned v = (unsigned)(r % 1500);
    ev->time_ms = T0 + (int64_t)i * 1000;
    ev->id_kind = LE_ID_COOKIE;
    ev->consent = true;
    snprintf(ev->id, sizeof(ev->id), "%016llx%016llx", (unsigned long long)mix(v + 7),
             (unsigned long long)v);
    ev->enriched = true;
    ev->x.country_code = le_str(v % 3 ? "DE" : "FR");
    ev->x.network = LE_NET_BUSINESS;
    snprintf(b->email, sizeof(b->email), "c%u@firm%u.example", v % 100, v % 40);
    snprintf(b->key, sizeof(b->key), "firm%u", v % 40);
    ev->x.company_key = le_str(b->key);
    ev->x.domain = le_str(strchr(b->email, '@') + 1); /* firm3.example is a competitor */
    ev->x.city = le_str(i % 2 ? "Berlin" : "Wien");
    unsigned k = (unsigned)((r >> 20) % 100);
    if (k < 2) {
        ev->type = LE_EV_ERASE;
        snprintf(ev->id, sizeof(ev->id), "%016llx%016llx", (unsigned long long)mix(v / 2 + 7),
                 (unsigned long long)(v / 2));
    } else if (k < 3) {
        ev->type = LE_EV_STATUS;
        ev->name = le_str("accepted");
    } else if (k < 8 && v % 10 == 0) {
        ev->type = LE_EV_FORM;
        ev->name = le_str("form");
        ev->form_id = le_str("demo");
        b->fields[0] = (le_kv_t){le_str("email"), le_str(b->email)};
        b->fields[1] = (le_kv_t){le_str("job_title"), le_str(k % 2 ? "CEO" : "Engineer")};
        ev->fields = b->fields;
        ev->nfields = 2;
    } else if (k < 12) {
        ev->type = LE_EV_EVENT;
        ev->name = le_str("scroll");
    } else {
        static const char *const pages[] = {"pricing", "product/a", "docs", "product/b", "about"};
        ev->type = LE_EV_PAGEVIEW;
        ev->name = le_str("pageview");
        int n = snprintf(b->url, sizeof(b->url), "https://x.example/%s?i=%u", pages[r % 5], i);
        ev->url = (le_str_t){b->url, (size_t)n};
    }
}

static int setup(void **state) {
    (void)state;
    le_buf_t err = LE_BUF_INIT;
    if (le_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &err) != 0) {
        fprintf(stderr, "%s", le_buf_cstr(&err));
        return -1;
    }
    le_buf_free(&err);
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof(dir), "%s/test-replay-XXXXXX", tmp);
    if (!mkdtemp(dir)) return -1;
    /* small segments: the readers cross from one to the next many times */
    le_evlog_opts_t o = {.dir = dir,
                         .segment_size = 64u << 10,
                         .fsync_mode = LE_FSYNC_NEVER,
                         .fsync_interval_ms = 10,
                         .buffer_limit = 64u << 20};
    le_evlog_t *l;
    char *msg = NULL;
    if (le_evlog_open(&l, &o, &msg) != 0) return -1;
    for (unsigned i = 0; i < NEVENTS; i++) {
        evb_t b;
        make_event(i, &b);
        if (le_evlog_append(l, &b.ev) != 0) return -1;
        if (i == NEVENTS / 3 && le_evlog_append_raw(l, "\x93\x01\x02", 3) != 0) /* no record */
            return -1;
    }
    le_evlog_close(l);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.') unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    le_config_unref(cfg);
    return 0;
}

/* What a way of applying did: the callbacks in order, the state, the return, the reader. */
typedef struct {
    le_buf_t calls, state;
    int64_t n;
    uint64_t bad;
    le_logpos_t pos;
    bool has_msg;
} run_t;

static void record_cb(void *ud, const le_event_t *ev, const le_apply_t *out) {
    le_buf_printf(ud, "%d %s %s n%d l%d m%d e%d u%d f%u mql%d %.3f %d %u s%u;", ev->type, ev->id,
                  out->lead, out->new_visitor, out->linked, out->merged, out->erased,
                  out->unknown_lead, out->nfired, out->mql, (double)out->behaviour, out->fit,
                  out->nerased_vids, out->suppress);
}

enum { REF, REPLAY, PIECES, ONE, TWO, AUTO, NWAYS };

static void run(int way, run_t *r) {
    memset(r, 0, sizeof(*r));
    r->calls = (le_buf_t)LE_BUF_INIT;
    r->state = (le_buf_t)LE_BUF_INIT;
    le_engine_t *e = engine();
    le_logreader_t *rd;
    char *msg = NULL;
    assert_int_equal(le_logreader_open(dir, (le_logpos_t){0, 0}, &rd, &msg), 0);
    const le_logpos_t end = {UINT32_MAX, UINT64_MAX};
    le_replay_buf_t rb;
    le_replay_buf_init(&rb);
    if (way == REF) { /* one record at a time, nothing clever */
        const void *p;
        size_t len;
        int rc;
        le_arena_t a;
        le_arena_init(&a, NULL, 0);
        while ((rc = le_logreader_next(rd, end, &p, &len, &msg)) == 1) {
            le_event_t ev;
            le_arena_reset(&a);
            if (le_record_decode(p, len, &ev, &a) != 0) {
                r->bad++;
                continue;
            }
            le_apply_t out;
            le_engine_apply(e, &ev, &out);
            record_cb(&r->calls, &ev, &out);
            r->n++;
        }
        if (rc < 0) r->n = rc;
        le_arena_free(&a);
    } else if (way == REPLAY) {
        r->n = le_engine_replay(e, rd, end, 0, &rb, record_cb, &r->calls, &r->bad, &msg);
    } else if (way == PIECES) { /* as the live follower: a few records per call */
        int64_t got;
        while ((got = le_engine_replay(e, rd, end, 7, &rb, record_cb, &r->calls, &r->bad, &msg)) >
               0)
            r->n += got;
        if (got < 0) r->n = got;
    } else {
        le_replay_mode_t mode = way == ONE   ? LE_REPLAY_ONE_THREAD
                                : way == TWO ? LE_REPLAY_TWO_THREADS
                                             : LE_REPLAY_AUTO;
        le_replay_mode_t used;
        r->n =
            le_engine_replay_all(e, rd, end, mode, &rb, record_cb, &r->calls, &r->bad, &msg, &used);
        if (mode != LE_REPLAY_AUTO) assert_int_equal(used, mode);
    }
    r->has_msg = msg != NULL;
    free(msg);
    r->pos = le_logreader_pos(rd);
    le_engine_save(e, &r->state);
    le_replay_buf_free(&rb);
    le_logreader_close(rd);
    le_engine_free(e);
}

static void assert_same_runs(run_t *r) {
    for (int w = 1; w < NWAYS; w++) {
        assert_int_equal(r[w].n, r[REF].n);
        assert_int_equal(r[w].bad, r[REF].bad);
        assert_int_equal(r[w].has_msg, r[REF].has_msg);
        assert_int_equal(le_logpos_cmp(r[w].pos, r[REF].pos), 0);
        assert_int_equal(r[w].calls.len, r[REF].calls.len);
        assert_memory_equal(r[w].calls.data, r[REF].calls.data, r[REF].calls.len);
        assert_int_equal(r[w].state.len, r[REF].state.len);
        assert_memory_equal(r[w].state.data, r[REF].state.data, r[REF].state.len);
    }
}

static void free_runs(run_t *r) {
    for (int w = 0; w < NWAYS; w++) {
        le_buf_free(&r[w].calls);
        le_buf_free(&r[w].state);
    }
}

static void test_every_way_the_same(void **state) {
    (void)state;
    run_t r[NWAYS];
    for (int w = 0; w < NWAYS; w++) run(w, &r[w]);
    assert_int_equal(r[REF].n, NEVENTS);
    assert_int_equal(r[REF].bad, 1);
    assert_false(r[REF].has_msg);
    /* the log did what it is for: evictions, links, erasures, MQLs */
    assert_non_null(strstr(r[REF].calls.data, " l1 "));
    assert_non_null(strstr(r[REF].calls.data, " e1 "));
    assert_non_null(strstr(r[REF].calls.data, " mql1 "));
    assert_non_null(strstr(r[REF].calls.data, " s8;")); /* a competitor's */
    assert_same_runs(r);
    free_runs(r);
}

/* The first segment's frame number k (0-based) gets a flipped payload byte: its checksum
 * fails, with frames after it. */
static void damage(unsigned k, long *where, unsigned char *was) {
    char path[512];
    snprintf(path, sizeof(path), "%s/events-00000001.log", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    long off = 0;
    for (unsigned i = 0; i <= k; i++) {
        unsigned char hdr[8];
        assert_int_equal(fseek(f, off, SEEK_SET), 0);
        assert_int_equal(fread(hdr, 1, 8, f), 8);
        uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
                       (uint32_t)hdr[3] << 24;
        if (i == k) {
            *where = off + 8 + (long)len / 2;
            break;
        }
        off += 8 + (long)len;
    }
    assert_int_equal(fseek(f, *where, SEEK_SET), 0);
    *was = (unsigned char)fgetc(f);
    assert_int_equal(fseek(f, *where, SEEK_SET), 0);
    fputc(*was ^ 0x20, f);
    fclose(f);
}

static void undamage(long where, unsigned char was) {
    char path[512];
    snprintf(path, sizeof(path), "%s/events-00000001.log", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, where, SEEK_SET), 0);
    fputc(was, f);
    fclose(f);
}

static void test_damaged_frame_stops_every_way(void **state) {
    (void)state;
    long where;
    unsigned char was;
    damage(77, &where, &was);
    run_t r[NWAYS];
    for (int w = 0; w < NWAYS; w++) run(w, &r[w]);
    undamage(where, was);
    assert_int_equal(r[REF].n, LE_ECORRUPT);
    assert_true(r[REF].has_msg);
    /* the 77 records before it were applied, and the reader is at the damaged frame */
    assert_int_equal(r[REF].pos.seg, 1);
    assert_true(r[REF].pos.off > 0 && r[REF].pos.off < (uint64_t)where);
    size_t calls = 0;
    for (size_t i = 0; i < r[REF].calls.len; i++) calls += r[REF].calls.data[i] == ';';
    assert_int_equal(calls, 77);
    assert_same_runs(r);
    free_runs(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_way_the_same),
        cmocka_unit_test(test_damaged_frame_stops_every_way),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
