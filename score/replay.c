/*
 * replay.c: batched, prefetching application of log records (replay.h).
 */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include "record.h"

#define BATCH 16

void le_replay_buf_init(le_replay_buf_t *b) {
    le_arena_init(&b->arena, b->first, sizeof(b->first));
    b->scratch = (le_buf_t)LE_BUF_INIT;
}

void le_replay_buf_free(le_replay_buf_t *b) {
    le_arena_free(&b->arena);
    le_buf_free(&b->scratch);
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
        le_arena_reset(&b->arena);
        for (size_t i = 0; i < k; i++) {
            ok[i] = le_record_decode(b->scratch.data + off[i], len[i], &ev[i], &b->arena) == 0;
            if (!ok[i] && undecodable) (*undecodable)++;
        }
        le_engine_hint_t hint[BATCH];
        for (int stage = 0; stage < 3; stage++)
            for (size_t i = 0; i < k; i++)
                if (ok[i]) le_engine_prefetch(e, &ev[i], stage, &hint[i]);
        for (size_t i = 0; i < k; i++) {
            if (!ok[i]) continue;
            le_apply_t out;
            le_engine_apply(e, &ev[i], &out);
            n++;
            if (cb) cb(ud, &ev[i], &out);
        }
        if (rc < 0) return rc; /* what came before the error is applied */
        if (k < BATCH || (max && (size_t)n >= max)) return n;
    }
}
