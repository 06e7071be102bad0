/*
 * outbox.h: the durable outbox of MQL (and MQA) hand-offs to the CRM.
 *
 * Every MQL is written here, and made durable, before anything else is told about it. Its id
 * is stable (the same decision replayed after a crash has the same id) and is the delivery's
 * idempotency key: adding an id the outbox already holds changes nothing. Delivery attempts
 * and outcomes are recorded here too, so a restart knows what is still pending.
 *
 * Storage: an event log of its own (evlog.h) in <data_dir>/outbox, fsync always, whose
 * records are msgpack maps:
 *
 *     {"k": "add", "id": str, "ty": "mql"|"mqa", "lead": str, "t": created ms, "ep": endpoint,
 *      "p": payload}
 *     {"k": "set", "id": str, "s": 0 pending | 1 delivered | 2 dead | 3 dropped, "n": attempts,
 *      "next": ms of the next attempt, "why": str (optional), "t": ms,
 *      "r": ms (optional: a manual retry; the maximum age counts from here)}
 *     {"k": "del", "id": str}   (erasure: the item and its payload are gone)
 *
 * Opening replays them (a torn tail is cut as in the event log). An erasure rewrites the
 * outbox without the erased items (into outbox.tmp, renamed to outbox.new once complete,
 * then swapped in), so that no erased payload stays on disk; opening finishes a swap a crash
 * interrupted. Thread-safe.
 */
#ifndef LE_OUTBOX_H
#define LE_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

typedef struct le_outbox_s le_outbox_t;

typedef enum {
    LE_OB_PENDING = 0,
    LE_OB_DELIVERED = 1,
    LE_OB_DEAD = 2,    /* failed for good: in the dead-letter file */
    LE_OB_DROPPED = 3, /* an operator dropped it (`leadedge outbox drop`) */
} le_ob_state_t;

const char *le_ob_state_name(le_ob_state_t s);

typedef struct {
    char *id, *type, *lead;
    char *endpoint; /* the endpoint's name (routing chose it); may be NULL */
    int64_t created_ms;
    int64_t since_ms; /* the maximum age counts from here: created, or the last manual retry */
    le_ob_state_t state;
    uint32_t attempts;
    int64_t next_ms;  /* when the next attempt is due (pending) */
    int64_t state_ms; /* when the state was last set */
    char *reason;     /* why it is dead, or the last failure; NULL */
    char *payload;    /* the JSON body, NUL-terminated */
    size_t len;
    bool syncing; /* added, not yet durable: not pending for delivery yet */
} le_ob_item_t;

/* Open (creating) the outbox in dir and replay it. 0, or -errno / LE_ECORRUPT with *msg. */
int le_outbox_open(const char *dir, le_outbox_t **out, char **msg);

/* Open for reading only, beside a server that may have it open for writing: replay what is
 * on disk (a torn tail counts as absent). Adding and setting then return -EROFS. A missing
 * outbox reads as empty. */
int le_outbox_open_readonly(const char *dir, le_outbox_t **out, char **msg);

/* NULL is a no-op. */
void le_outbox_close(le_outbox_t *ob);

/*
 * Add a pending item and make it durable before returning. 0 added; 1 when id is already
 * there (nothing written: the id is the idempotency key); -EIO when the outbox's log failed;
 * -EROFS when opened read-only.
 */
int le_outbox_add(le_outbox_t *ob, const char *id, const char *type, const char *lead,
                  const char *endpoint, int64_t created_ms, const char *payload, size_t len);

/* One item for le_outbox_add_many. */
typedef struct {
    const char *id, *type, *lead, *endpoint;
    int64_t created_ms;
    const char *payload;
    size_t len;
} le_ob_new_t;

/* le_outbox_add for n items with one fsync for all of them; results[i] is what
 * le_outbox_add would have returned for item i. No item is visible as pending before all are
 * durable. The fsync happens outside the outbox's lock, so it must not run concurrently with
 * le_outbox_erase (both are the scorer thread's). */
void le_outbox_add_many(le_outbox_t *ob, const le_ob_new_t *items, size_t n, int *results);

/* Record an attempt's outcome for id: durable on return, except LE_OB_DELIVERED, which is
 * synced in the background (lost in a crash, it means one more delivery with the same
 * idempotency key). 0, -ENOENT, -EIO, -EROFS. */
int le_outbox_set(le_outbox_t *ob, const char *id, le_ob_state_t state, uint32_t attempts,
                  int64_t next_ms, const char *reason, int64_t at_ms);

/* An operator's retry: a dead, dropped or pending item becomes pending with no attempts,
 * due now, its age counted from now. 0, -ENOENT, -EALREADY (delivered), -EIO, -EROFS. */
int le_outbox_retry(le_outbox_t *ob, const char *id, int64_t now_ms);

/* An operator's drop: a pending or dead item is never tried again. 0, -ENOENT, -EALREADY
 * (delivered or dropped), -EIO, -EROFS. */
int le_outbox_drop(le_outbox_t *ob, const char *id, int64_t now_ms);

/* Erase every item whose lead is one of leads[0..n) and rewrite the files without them.
 * Returns the number erased, or -EIO / -EROFS. */
int le_outbox_erase(le_outbox_t *ob, const char *const *leads, size_t n);

/* How many erasures have removed items (their removal shifts later items' indices). */
uint64_t le_outbox_erasures(le_outbox_t *ob);

/* How many items are in state s. */
size_t le_outbox_count(le_outbox_t *ob, le_ob_state_t s);

/* Visit every item in the order added; cb returns non-zero to stop. The item is valid only
 * during the call (the outbox is locked meanwhile: do not call back into it). */
typedef int (*le_outbox_visit_cb)(void *ud, const le_ob_item_t *it);
int le_outbox_each(le_outbox_t *ob, le_outbox_visit_cb cb, void *ud);

/* The same over the pending items only, in the order added (cheap when most are delivered). */
int le_outbox_each_pending(le_outbox_t *ob, le_outbox_visit_cb cb, void *ud);

/* Visit items from index *from on, in the order added, until cb returns non-zero; *from is
 * left at the item cb stopped at (or past the last). An erasure shifts later items down. */
int le_outbox_each_from(le_outbox_t *ob, size_t *from, le_outbox_visit_cb cb, void *ud);

/* A copy of the item with id (free with le_ob_item_free). 0 or -ENOENT. */
int le_outbox_get(le_outbox_t *ob, const char *id, le_ob_item_t *out);
void le_ob_item_free(le_ob_item_t *it);

#endif
