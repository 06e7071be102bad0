/*
 * replay.c: batched, prefetching application of log records (replay.h), on one thread or with
 * a second one reading and decoding.
 *
 * Two threads: the reader fills batches (payloads copied into the batch's scratch buffer,
 * decoded, their engine hints worked out) and hands them over through a ring of QUEUE batches
 * under one mutex; the applier (the caller) takes them in order, prefetches and applies. The
 * engine is only ever touched by the applier; the reader only by the reader until it is done.
 * A batch carries the reader's status with it, so that an error or the end of the log reaches
 * the applier after every record before it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "replay.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define BATCH 32   /* records prefetched together (more buys nothing measurable) */
#define PBATCH 256 /* records per batch handed between the threads */
#define QUEUE 8    /* batches between the threads */

void le_replay_buf_init(le_replay_buf_t *b) {
    le_arena_init(&b->arena, b->first, sizeof(b->first));
    b->scratch = (le_buf_t)LE_BUF_INIT;
}

void le_replay_buf_free(le_replay_buf_t *b) {
    le_arena_free(&b->arena);
    le_buf_free(&b->scratch);
}

/* Apply ev[0..k) (those with ok), prefetching BATCH at a time; adds to *n the events applied. */
static void apply_events(le_engine_t *e, le_event_t *ev, const bool *ok, le_engine_hint_t *hint,
                         size_t k, le_replay_cb cb, void *ud, int64_t *n) {
    for (size_t b = 0; b < k; b += BATCH) {
        size_t m = k - b < BATCH ? k - b : BATCH;
        le_engine_prefetch_batch(e, ev + b, ok + b, hint + b, m);
        for (size_t i = b; i < b + m; i++) {
            if (!ok[i]) continue;
            le_apply_t out;
            le_engine_apply_hinted(e, &ev[i], &hint[i], &out);
            (*n)++;
            if (cb) cb(ud, &ev[i], &out);
        }
    }
}

/* Decode the k payloads at scratch + off[i] (len[i] bytes) into ev, with their hints; returns
 * how many could not be decoded (their ok is false). */
static uint64_t decode_events(const le_engine_t *e, const char *scratch, const size_t *off,
                              const size_t *len, size_t k, le_arena_t *a, le_event_t *ev, bool *ok,
                              le_engine_hint_t *hint) {
    uint64_t bad = 0;
    for (size_t i = 0; i < k; i++) {
        ok[i] = le_record_decode(scratch + off[i], len[i], &ev[i], a) == 0;
        if (ok[i])
            le_engine_hint_init(e, &ev[i], &hint[i]);
        else
            bad++;
    }
    return bad;
}

int64_t le_engine_replay(le_engine_t *e, le_logreader_t *rd, le_logpos_t end, size_t max,
                         le_replay_buf_t *b, le_replay_cb cb, void *ud, uint64_t *undecodable,
                         char **msg) {
    int64_t n = 0;
    *msg = NULL;
    for (;;) {
        size_t off[BATCH], len[BATCH], k = 0;
        const void *p;
        size_t plen;
        int rc = 0;
        le_buf_reset(&b->scratch);
        while (k < BATCH && (max == 0 || (size_t)n + k < max) &&
               (rc = le_logreader_next(rd, end, &p, &plen, msg)) == 1) {
            off[k] = b->scratch.len;
            len[k] = plen;
            le_buf_append(&b->scratch, p, plen); /* the reader's buffer moves on next() */
            k++;
        }
        if (k == 0) return rc < 0 ? rc : n;

        le_event_t ev[BATCH];
        bool ok[BATCH];
        le_engine_hint_t hint[BATCH];
        le_arena_reset(&b->arena);
        uint64_t bad = decode_events(e, b->scratch.data, off, len, k, &b->arena, ev, ok, hint);
        if (bad && undecodable) *undecodable += bad;
        apply_events(e, ev, ok, hint, k, cb, ud, &n);
        if (rc < 0) return rc; /* what came before the error is applied */
        if (k < BATCH || (max && (size_t)n >= max)) return n;
    }
}

/* ---- two threads -------------------------------------------------------------------------- */

typedef struct {
    le_buf_t scratch;
    le_arena_t arena;
    size_t off[PBATCH], len[PBATCH], k;
    le_event_t ev[PBATCH];
    bool ok[PBATCH];
    le_engine_hint_t hint[PBATCH];
    uint64_t bad;
    int rc;    /* the reader's last answer: 1 more to come, 0 the end, < 0 an error */
    char *msg; /* with an error */
} batch_t;

typedef struct {
    const le_engine_t *e; /* its configuration only (le_engine_hint_init) */
    le_logreader_t *rd;
    le_logpos_t end;
    batch_t *q; /* QUEUE batches, used in turn */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t filled, taken; /* batches ever filled by the reader, ever done with by the applier */
} pipe_t;

static void *reader_main(void *arg) {
    pipe_t *pp = arg;
    for (size_t i = 0;; i++) {
        pthread_mutex_lock(&pp->mu);
        while (pp->filled - pp->taken == QUEUE) pthread_cond_wait(&pp->cv, &pp->mu);
        pthread_mutex_unlock(&pp->mu);

        batch_t *b = &pp->q[i % QUEUE];
        const void *p;
        size_t plen;
        le_buf_reset(&b->scratch);
        b->k = 0;
        b->msg = NULL;
        while (b->k < PBATCH &&
               (b->rc = le_logreader_next(pp->rd, pp->end, &p, &plen, &b->msg)) == 1) {
            b->off[b->k] = b->scratch.len;
            b->len[b->k] = plen;
            le_buf_append(&b->scratch, p, plen);
            b->k++;
        }
        le_arena_reset(&b->arena);
        b->bad = decode_events(pp->e, b->scratch.data, b->off, b->len, b->k, &b->arena, b->ev,
                               b->ok, b->hint);

        pthread_mutex_lock(&pp->mu);
        pp->filled++;
        pthread_cond_broadcast(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
        if (b->rc != 1) return NULL; /* the end, or an error: the last batch says which */
    }
}

/* May this process run on two CPUs or more? */
static bool two_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 2;
}

static int64_t replay_two(le_engine_t *e, pipe_t *pp, le_replay_cb cb, void *ud,
                          uint64_t *undecodable, char **msg) {
    int64_t n = 0;
    for (size_t i = 0;; i++) {
        pthread_mutex_lock(&pp->mu);
        while (pp->filled == i) pthread_cond_wait(&pp->cv, &pp->mu);
        pthread_mutex_unlock(&pp->mu);

        batch_t *b = &pp->q[i % QUEUE];
        if (b->bad && undecodable) *undecodable += b->bad;
        apply_events(e, b->ev, b->ok, b->hint, b->k, cb, ud, &n);
        int rc = b->rc;
        if (rc < 0) *msg = b->msg;

        pthread_mutex_lock(&pp->mu);
        pp->taken++;
        pthread_cond_broadcast(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
        if (rc != 1) return rc < 0 ? rc : n;
    }
}

int64_t le_engine_replay_all(le_engine_t *e, le_logreader_t *rd, le_logpos_t end,
                             le_replay_mode_t mode, le_replay_buf_t *rb, le_replay_cb cb, void *ud,
                             uint64_t *undecodable, char **msg, le_replay_mode_t *used) {
    *msg = NULL;
    if (mode == LE_REPLAY_AUTO) mode = two_cpus() ? LE_REPLAY_TWO_THREADS : LE_REPLAY_ONE_THREAD;
    pipe_t pp = {.e = e, .rd = rd, .end = end};
    if (mode == LE_REPLAY_TWO_THREADS) {
        pp.q = le_xcalloc(QUEUE, sizeof(*pp.q));
        for (size_t i = 0; i < QUEUE; i++) {
            pp.q[i].scratch = (le_buf_t)LE_BUF_INIT;
            le_arena_init(&pp.q[i].arena, NULL, 0);
        }
        pthread_mutex_init(&pp.mu, NULL);
        pthread_cond_init(&pp.cv, NULL);
        /* the reader takes no signals: they stay with the threads that handle them */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_t t;
        bool started = pthread_create(&t, NULL, reader_main, &pp) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        int64_t n = 0;
        if (started) {
            n = replay_two(e, &pp, cb, ud, undecodable, msg);
            pthread_join(t, NULL);
        }
        for (size_t i = 0; i < QUEUE; i++) {
            le_buf_free(&pp.q[i].scratch);
            le_arena_free(&pp.q[i].arena);
        }
        free(pp.q);
        pthread_cond_destroy(&pp.cv);
        pthread_mutex_destroy(&pp.mu);
        if (started) {
            if (used) *used = LE_REPLAY_TWO_THREADS;
            return n;
        }
        /* no second thread to be had: the same work on this one */
    }
    if (used) *used = LE_REPLAY_ONE_THREAD;
    return le_engine_replay(e, rd, end, 0, rb, cb, ud, undecodable, msg);
}
