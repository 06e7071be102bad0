/*
 * replay.h: applying a stretch of the event log to an engine, in order, fast.
 *
 * Used by the scorer for the start-up replay and for following the live log, and by the
 * benchmark, so that both measure the same loops. Records are taken in batches: their
 * payloads are copied aside, decoded, and the memory each will touch (its slot in the visitor
 * index, then its visitor entry, then what that leads to: rule parts, contact, account) is
 * prefetched for the whole batch before the first is applied, so that the cache misses of a
 * large table overlap instead of queueing. Order and results are exactly those of applying one
 * record at a time.
 *
 * The start-up replay (le_engine_replay_all) may also read and decode on a second thread,
 * a few batches ahead of the applying one: reading, checksums and decoding take about a third
 * of a record's time, and at start-up the server has nothing else for a second CPU to do.
 */
#ifndef LE_REPLAY_H
#define LE_REPLAY_H

#include "arena.h"
#include "buf.h"
#include "engine.h"
#include "evlog.h"

/* Called after each applied event (its decoded form and what it did), on the applying thread
 * (the caller's). */
typedef void (*le_replay_cb)(void *ud, const le_event_t *ev, const le_apply_t *out);

typedef struct {
    le_arena_t arena;
    le_buf_t scratch;
    char first[64 * 1024];
} le_replay_buf_t;

void le_replay_buf_init(le_replay_buf_t *b);
void le_replay_buf_free(le_replay_buf_t *b);

/*
 * Apply the records rd gives before end, at most max of them (0: no limit), on this thread. A
 * record whose frame is whole but whose content this version cannot decode is skipped and
 * counted in *undecodable. Returns the records applied, or a negative error from the reader
 * with *msg (records before the error have been applied).
 */
int64_t le_engine_replay(le_engine_t *e, le_logreader_t *rd, le_logpos_t end, size_t max,
                         le_replay_buf_t *b, le_replay_cb cb, void *ud, uint64_t *undecodable,
                         char **msg);

/* How le_engine_replay_all works: LE_REPLAY_AUTO picks by the CPUs the process may run on. */
typedef enum { LE_REPLAY_AUTO = 0, LE_REPLAY_ONE_THREAD, LE_REPLAY_TWO_THREADS } le_replay_mode_t;

/*
 * The start-up replay: le_engine_replay of everything before end, with the same results and
 * the same contract (rd is at the error, or after the last record, when it returns). With two
 * threads, a second one reads and decodes (rd is its own until the return) while the caller's
 * applies and calls cb; AUTO takes two when the process may run on two CPUs or more (its
 * affinity mask), else one. The mode used is put in *used when not NULL.
 */
int64_t le_engine_replay_all(le_engine_t *e, le_logreader_t *rd, le_logpos_t end,
                             le_replay_mode_t mode, le_replay_buf_t *b, le_replay_cb cb, void *ud,
                             uint64_t *undecodable, char **msg, le_replay_mode_t *used);

#endif
