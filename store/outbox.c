/*
 * outbox.c: the outbox's records, replay and index (outbox.h).
 */
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <msgpack.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "evlog.h"

struct le_outbox_s {
    pthread_mutex_t mu;
    char *dir;
    le_evlog_t *log;
    size_t first_pending; /* no pending item before this index */
    bool erased;          /* replay met a "del": the files still hold what it erased */
    uint64_t erasures;    /* le_outbox_erasures */
    le_ob_item_t *items;  /* in the order added */
    size_t n, cap;
    uint32_t *slot; /* index + 1 by id; open addressing */
    size_t nslot;
};

const char *le_ob_state_name(le_ob_state_t s) {
    switch (s) {
        case LE_OB_PENDING:
            return "pending";
        case LE_OB_DELIVERED:
            return "delivered";
        case LE_OB_DEAD:
            return "dead";
        case LE_OB_DROPPED:
            return "dropped";
    }
    return "unknown";
}

/* ---- the index --------------------------------------------------------------------------- */

static size_t hash_id(const char *s) {
    return (size_t)le_hash(s, strlen(s));
}

static le_ob_item_t *find(le_outbox_t *ob, const char *id) {
    if (!ob->nslot) return NULL;
    for (size_t i = hash_id(id) & (ob->nslot - 1); ob->slot[i]; i = (i + 1) & (ob->nslot - 1))
        if (strcmp(ob->items[ob->slot[i] - 1].id, id) == 0) return &ob->items[ob->slot[i] - 1];
    return NULL;
}

static void index_put(le_outbox_t *ob, size_t idx) {
    for (size_t i = hash_id(ob->items[idx].id) & (ob->nslot - 1);; i = (i + 1) & (ob->nslot - 1))
        if (!ob->slot[i]) {
            ob->slot[i] = (uint32_t)idx + 1;
            return;
        }
}

static le_ob_item_t *push(le_outbox_t *ob) {
    if (ob->n == ob->cap) {
        ob->cap = ob->cap ? ob->cap * 2 : 64;
        ob->items = le_xrealloc(ob->items, ob->cap * sizeof(*ob->items));
    }
    if ((ob->n + 1) * 2 > ob->nslot) { /* at most half full */
        free(ob->slot);
        ob->nslot = ob->nslot ? ob->nslot * 2 : 128;
        ob->slot = le_xcalloc(ob->nslot, sizeof(uint32_t));
        for (size_t i = 0; i < ob->n; i++) index_put(ob, i);
    }
    le_ob_item_t *it = &ob->items[ob->n];
    memset(it, 0, sizeof(*it));
    return it;
}

static void free_item(le_ob_item_t *it);
static int compact(le_outbox_t *ob);

/* Take the item with id out (erasure), keeping the order of the rest. */
static bool remove_item(le_outbox_t *ob, const char *id) {
    le_ob_item_t *it = find(ob, id);
    if (!it) return false;
    size_t i = (size_t)(it - ob->items);
    free_item(it);
    memmove(&ob->items[i], &ob->items[i + 1], (ob->n - i - 1) * sizeof(*ob->items));
    ob->n--;
    memset(ob->slot, 0, ob->nslot * sizeof(uint32_t));
    for (size_t k = 0; k < ob->n; k++) index_put(ob, k);
    ob->first_pending = 0;
    return true;
}

/* ---- records ----------------------------------------------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Append a record and wait until it is durable (with wait; otherwise the writer thread syncs
 * it at once in the background). */
static int write_record_w(le_outbox_t *ob, const msgpack_sbuffer *sb, bool wait) {
    if (!ob->log) return -EROFS;
    int rc = le_evlog_append_raw(ob->log, sb->data, sb->size);
    if (rc == 0 && wait) rc = le_evlog_flush(ob->log);
    return rc == 0 ? 0 : -EIO;
}

static int write_record(le_outbox_t *ob, const msgpack_sbuffer *sb) {
    return write_record_w(ob, sb, true);
}

static const msgpack_object *get(const msgpack_object *map, const char *key) {
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == kl &&
            memcmp(kv->key.via.str.ptr, key, kl) == 0)
            return &kv->val;
    }
    return NULL;
}

static char *dup_obj_str(const msgpack_object *o) {
    return o && o->type == MSGPACK_OBJECT_STR ? le_xstrndup(o->via.str.ptr, o->via.str.size) : NULL;
}

static bool obj_int(const msgpack_object *o, int64_t *v) {
    if (!o) return false;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return true;
    }
    return false;
}

static void free_item(le_ob_item_t *it) {
    free(it->id);
    free(it->type);
    free(it->lead);
    free(it->endpoint);
    free(it->reason);
    free(it->payload);
}

/* Apply one replayed record. LE_ECORRUPT when it is not one of ours. */
static int replay_record(le_outbox_t *ob, const void *p, size_t len) {
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = LE_ECORRUPT;
    if (msgpack_unpack_next(&u, p, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
        u.data.type != MSGPACK_OBJECT_MAP)
        goto out;
    const msgpack_object *m = &u.data, *k = get(m, "k");
    char *id = dup_obj_str(get(m, "id"));
    if (!k || k->type != MSGPACK_OBJECT_STR || !id) {
        free(id);
        goto out;
    }
    int64_t t = 0, s = 0, n = 0, next = 0;
    if (k->via.str.size == 3 && memcmp(k->via.str.ptr, "add", 3) == 0) {
        const msgpack_object *pl = get(m, "p");
        if (!obj_int(get(m, "t"), &t) || !pl || pl->type != MSGPACK_OBJECT_STR) {
            free(id);
            goto out;
        }
        if (find(ob, id)) { /* a second add of an id: the first stands */
            free(id);
            rc = 0;
            goto out;
        }
        le_ob_item_t *it = push(ob);
        it->id = id;
        it->type = dup_obj_str(get(m, "ty"));
        it->lead = dup_obj_str(get(m, "lead"));
        it->endpoint = dup_obj_str(get(m, "ep"));
        it->created_ms = it->next_ms = it->state_ms = it->since_ms = t;
        it->payload = le_xstrndup(pl->via.str.ptr, pl->via.str.size);
        it->len = pl->via.str.size;
        index_put(ob, ob->n++);
        rc = 0;
    } else if (k->via.str.size == 3 && memcmp(k->via.str.ptr, "set", 3) == 0) {
        le_ob_item_t *it = find(ob, id);
        free(id);
        if (!it || !obj_int(get(m, "s"), &s) || s < 0 || s > LE_OB_DROPPED ||
            !obj_int(get(m, "n"), &n) || n < 0 || n > UINT32_MAX ||
            !obj_int(get(m, "next"), &next) || !obj_int(get(m, "t"), &t))
            goto out;
        it->state = (le_ob_state_t)s;
        it->attempts = (uint32_t)n;
        it->next_ms = next;
        it->state_ms = t;
        int64_t r;
        if (obj_int(get(m, "r"), &r)) it->since_ms = r;
        free(it->reason);
        it->reason = dup_obj_str(get(m, "why"));
        if (it->state == LE_OB_PENDING && (size_t)(it - ob->items) < ob->first_pending)
            ob->first_pending = (size_t)(it - ob->items);
        rc = 0;
    } else if (k->via.str.size == 3 && memcmp(k->via.str.ptr, "del", 3) == 0) {
        remove_item(ob, id);
        ob->erased = true;
        free(id);
        rc = 0;
    } else {
        free(id);
    }
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- API --------------------------------------------------------------------------------- */

/* Replay the records in dir up to end into ob. */
static int replay_all(le_outbox_t *ob, const char *dir, le_logpos_t end, char **msg) {
    le_logreader_t *rd = NULL;
    int rc = le_logreader_open(dir, (le_logpos_t){0, 0}, &rd, msg);
    if (rc == 0) {
        const void *p;
        size_t len;
        while ((rc = le_logreader_next(rd, end, &p, &len, msg)) == 1) {
            if (replay_record(ob, p, len) != 0) {
                le_logpos_t at = le_logreader_pos(rd);
                *msg = le_strf("%s: an outbox record before segment %u offset %llu is not "
                               "readable",
                               dir, at.seg, (unsigned long long)at.off);
                rc = LE_ECORRUPT;
                break;
            }
        }
    }
    le_logreader_close(rd);
    return rc;
}

static int open_log(const char *dir, le_evlog_t **log, char **msg) {
    le_evlog_opts_t o = {.dir = dir,
                         .segment_size = 64u << 20,
                         .fsync_mode = LE_FSYNC_ALWAYS,
                         .fsync_interval_ms = 10,
                         .buffer_limit = 16u << 20};
    return le_evlog_open(log, &o, msg);
}

/* Delete a folder of log segments (no subfolders). */
static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                char *f = le_strf("%s/%s", dir, de->d_name);
                unlink(f);
                free(f);
            }
        closedir(d);
    }
    rmdir(dir);
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Finish a rewrite a crash interrupted: outbox.new is complete and replaces the outbox;
 * outbox.tmp is not and goes. */
static void finish_swap(const char *dir) {
    char *tmp = le_strf("%s.tmp", dir), *nw = le_strf("%s.new", dir), *old = le_strf("%s.old", dir);
    if (exists(tmp)) remove_dir(tmp);
    if (exists(nw)) {
        if (exists(dir)) {
            if (exists(old)) remove_dir(old);
            rename(dir, old);
        }
        rename(nw, dir);
    }
    if (exists(old)) remove_dir(old);
    free(tmp);
    free(nw);
    free(old);
}

int le_outbox_open(const char *dir, le_outbox_t **out, char **msg) {
    *out = NULL;
    *msg = NULL;
    finish_swap(dir);
    le_outbox_t *ob = le_xcalloc(1, sizeof(*ob));
    pthread_mutex_init(&ob->mu, NULL);
    ob->dir = le_xstrdup(dir);
    int rc = open_log(dir, &ob->log, msg);
    if (rc == 0) rc = replay_all(ob, dir, le_evlog_durable(ob->log), msg);
    if (rc == 0 && ob->erased && compact(ob) != 0) { /* an erasure a crash interrupted */
        *msg = le_strf("%s: cannot rewrite the outbox after an erasure", dir);
        rc = -EIO;
    }
    if (rc != 0) {
        le_outbox_close(ob);
        return rc;
    }
    *out = ob;
    return 0;
}

int le_outbox_open_readonly(const char *dir, le_outbox_t **out, char **msg) {
    *out = NULL;
    *msg = NULL;
    le_outbox_t *ob = le_xcalloc(1, sizeof(*ob));
    pthread_mutex_init(&ob->mu, NULL);
    ob->dir = le_xstrdup(dir);
    int rc = replay_all(ob, dir, (le_logpos_t){UINT32_MAX, UINT64_MAX}, msg);
    if (rc == -ENOENT) { /* no outbox yet: empty */
        free(*msg);
        *msg = NULL;
        rc = 0;
    }
    if (rc != 0) {
        le_outbox_close(ob);
        return rc;
    }
    *out = ob;
    return 0;
}

void le_outbox_close(le_outbox_t *ob) {
    if (!ob) return;
    le_evlog_close(ob->log);
    for (size_t i = 0; i < ob->n; i++) free_item(&ob->items[i]);
    free(ob->items);
    free(ob->slot);
    free(ob->dir);
    pthread_mutex_destroy(&ob->mu);
    free(ob);
}

static void pack_add(msgpack_packer *pk, const le_ob_item_t *it) {
    msgpack_pack_map(pk, it->endpoint ? 7 : 6);
    pk_str(pk, "k");
    pk_str(pk, "add");
    pk_str(pk, "id");
    pk_str(pk, it->id);
    pk_str(pk, "ty");
    pk_str(pk, it->type ? it->type : "mql");
    pk_str(pk, "lead");
    pk_str(pk, it->lead ? it->lead : "");
    pk_str(pk, "t");
    msgpack_pack_int64(pk, it->created_ms);
    if (it->endpoint) {
        pk_str(pk, "ep");
        pk_str(pk, it->endpoint);
    }
    pk_str(pk, "p");
    msgpack_pack_str(pk, it->len);
    msgpack_pack_str_body(pk, it->payload, it->len);
}

static void pack_set(msgpack_packer *pk, const le_ob_item_t *it) {
    bool retried = it->since_ms != it->created_ms;
    msgpack_pack_map(pk, 6 + (it->reason != NULL) + retried);
    pk_str(pk, "k");
    pk_str(pk, "set");
    pk_str(pk, "id");
    pk_str(pk, it->id);
    pk_str(pk, "s");
    msgpack_pack_int(pk, (int)it->state);
    pk_str(pk, "n");
    msgpack_pack_uint32(pk, it->attempts);
    pk_str(pk, "next");
    msgpack_pack_int64(pk, it->next_ms);
    pk_str(pk, "t");
    msgpack_pack_int64(pk, it->state_ms);
    if (it->reason) {
        pk_str(pk, "why");
        pk_str(pk, it->reason);
    }
    if (retried) {
        pk_str(pk, "r");
        msgpack_pack_int64(pk, it->since_ms);
    }
}

/* Write nw's add record (waiting for the disk with wait) and take the item in. Locked. */
static int append_add(le_outbox_t *ob, const le_ob_new_t *nw, bool wait, le_ob_item_t **out) {
    le_ob_item_t tmp = {.id = (char *)nw->id,
                        .type = (char *)nw->type,
                        .lead = (char *)nw->lead,
                        .endpoint = (char *)nw->endpoint,
                        .created_ms = nw->created_ms,
                        .payload = (char *)nw->payload,
                        .len = nw->len};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_add(&pk, &tmp);
    int rc = write_record_w(ob, &sb, wait);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0) return rc;
    le_ob_item_t *it = push(ob);
    it->id = le_xstrdup(nw->id);
    it->type = le_xstrdup(nw->type);
    it->lead = le_xstrdup(nw->lead);
    it->endpoint = nw->endpoint ? le_xstrdup(nw->endpoint) : NULL;
    it->created_ms = it->next_ms = it->state_ms = it->since_ms = nw->created_ms;
    it->payload = le_xstrndup(nw->payload, nw->len);
    it->len = nw->len;
    index_put(ob, ob->n++);
    if (out) *out = it;
    return 0;
}

void le_outbox_add_many(le_outbox_t *ob, const le_ob_new_t *items, size_t n, int *results) {
    size_t added = 0;
    pthread_mutex_lock(&ob->mu);
    for (size_t i = 0; i < n; i++) {
        le_ob_item_t *it;
        if (find(ob, items[i].id)) {
            results[i] = 1;
        } else if ((results[i] = append_add(ob, &items[i], false, &it)) == 0) {
            it->syncing = true;
            added++;
        }
    }
    le_evlog_t *log = ob->log;
    pthread_mutex_unlock(&ob->mu);
    if (!added) return;
    /* one fsync for the batch, outside the lock: the delivery loop goes on meanwhile */
    int rc = le_evlog_flush(log) == 0 ? 0 : -EIO;
    pthread_mutex_lock(&ob->mu);
    for (size_t i = 0; i < n; i++) {
        if (results[i] != 0) continue;
        le_ob_item_t *it = find(ob, items[i].id);
        if (!it) continue; /* erased meanwhile */
        if (rc == 0) {
            it->syncing = false;
        } else {
            remove_item(ob, items[i].id);
            results[i] = rc;
        }
    }
    pthread_mutex_unlock(&ob->mu);
}

int le_outbox_add(le_outbox_t *ob, const char *id, const char *type, const char *lead,
                  const char *endpoint, int64_t created_ms, const char *payload, size_t len) {
    le_ob_new_t nw = {id, type, lead, endpoint, created_ms, payload, len};
    pthread_mutex_lock(&ob->mu);
    int rc = find(ob, id) ? 1 : append_add(ob, &nw, true, NULL);
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

/* Write it's new state (the fields are already set on a copy) and take it. Locked. A
 * delivered mark is not waited for: lost in a crash, it costs one more delivery with the same
 * Idempotency-Key, and the delivery loop does not stall on an fsync for every success. */
static int commit_set(le_outbox_t *ob, le_ob_item_t *it, const le_ob_item_t *next) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_set(&pk, next);
    int rc = write_record_w(ob, &sb, next->state != LE_OB_DELIVERED);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0) {
        it->state = next->state;
        it->attempts = next->attempts;
        it->next_ms = next->next_ms;
        it->state_ms = next->state_ms;
        it->since_ms = next->since_ms;
        if (it->reason != next->reason) {
            free(it->reason);
            it->reason = next->reason ? le_xstrdup(next->reason) : NULL;
        }
        size_t idx = (size_t)(it - ob->items);
        if (it->state == LE_OB_PENDING && idx < ob->first_pending) ob->first_pending = idx;
    }
    return rc;
}

int le_outbox_set(le_outbox_t *ob, const char *id, le_ob_state_t state, uint32_t attempts,
                  int64_t next_ms, const char *reason, int64_t at_ms) {
    pthread_mutex_lock(&ob->mu);
    le_ob_item_t *it = find(ob, id);
    int rc = -ENOENT;
    if (it) {
        le_ob_item_t next = *it;
        next.state = state;
        next.attempts = attempts;
        next.next_ms = next_ms;
        next.state_ms = at_ms;
        next.reason = (char *)reason;
        rc = commit_set(ob, it, &next);
    }
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int le_outbox_retry(le_outbox_t *ob, const char *id, int64_t now_ms) {
    pthread_mutex_lock(&ob->mu);
    le_ob_item_t *it = find(ob, id);
    int rc = !it ? -ENOENT : it->state == LE_OB_DELIVERED ? -EALREADY : 0;
    if (rc == 0) {
        le_ob_item_t next = *it;
        next.state = LE_OB_PENDING;
        next.attempts = 0;
        next.next_ms = next.state_ms = now_ms;
        next.since_ms = now_ms == it->created_ms ? now_ms + 1 : now_ms;
        next.reason = "retried by an operator";
        rc = commit_set(ob, it, &next);
    }
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int le_outbox_drop(le_outbox_t *ob, const char *id, int64_t now_ms) {
    pthread_mutex_lock(&ob->mu);
    le_ob_item_t *it = find(ob, id);
    int rc = !it                                                          ? -ENOENT
             : it->state == LE_OB_DELIVERED || it->state == LE_OB_DROPPED ? -EALREADY
                                                                          : 0;
    if (rc == 0) {
        le_ob_item_t next = *it;
        next.state = LE_OB_DROPPED;
        next.state_ms = now_ms;
        next.reason = "dropped by an operator";
        rc = commit_set(ob, it, &next);
    }
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

/* Write every item (add, then its state) into a fresh outbox at dir. Locked. */
static int write_all(le_outbox_t *ob, const char *dir) {
    le_evlog_t *log = NULL;
    char *msg = NULL;
    int rc = open_log(dir, &log, &msg);
    free(msg);
    if (rc != 0) return -EIO;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (size_t i = 0; i < ob->n && rc == 0; i++) {
        const le_ob_item_t *it = &ob->items[i];
        msgpack_sbuffer_clear(&sb);
        pack_add(&pk, it);
        rc = le_evlog_append_raw(log, sb.data, sb.size);
        if (rc == 0 && (it->state != LE_OB_PENDING || it->attempts || it->reason ||
                        it->since_ms != it->created_ms || it->next_ms != it->created_ms)) {
            msgpack_sbuffer_clear(&sb);
            pack_set(&pk, it);
            rc = le_evlog_append_raw(log, sb.data, sb.size);
        }
    }
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0) rc = le_evlog_flush(log);
    le_evlog_close(log);
    return rc == 0 ? 0 : -EIO;
}

/* The old segments still hold erased payloads: write the outbox anew and swap it in. */
static int compact(le_outbox_t *ob) {
    int rc;
    char *tmp = le_strf("%s.tmp", ob->dir), *nw = le_strf("%s.new", ob->dir);
    remove_dir(tmp);
    rc = write_all(ob, tmp);
    if (rc == 0 && rename(tmp, nw) != 0) rc = -EIO;
    if (rc == 0) {
        le_evlog_close(ob->log);
        ob->log = NULL;
        finish_swap(ob->dir);
        char *msg = NULL;
        if (open_log(ob->dir, &ob->log, &msg) != 0) rc = -EIO;
        free(msg);
    } else {
        remove_dir(tmp);
    }
    free(tmp);
    free(nw);
    ob->erased = false;
    return rc;
}

int le_outbox_erase(le_outbox_t *ob, const char *const *leads, size_t n) {
    pthread_mutex_lock(&ob->mu);
    if (!ob->log) {
        pthread_mutex_unlock(&ob->mu);
        return -EROFS;
    }
    int erased = 0, rc = 0;
    for (size_t i = 0; i < ob->n && rc == 0;) {
        const le_ob_item_t *it = &ob->items[i];
        bool hit = false;
        for (size_t k = 0; k < n && !hit; k++) hit = it->lead && strcmp(it->lead, leads[k]) == 0;
        if (!hit) {
            i++;
            continue;
        }
        /* first a tombstone in the live log, so that a crash before the rewrite still
         * forgets the item at the next open (which rewrites then) */
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        pk_str(&pk, "k");
        pk_str(&pk, "del");
        pk_str(&pk, "id");
        pk_str(&pk, it->id);
        rc = write_record(ob, &sb);
        msgpack_sbuffer_destroy(&sb);
        if (rc == 0) {
            char *id = le_xstrdup(it->id);
            remove_item(ob, id);
            free(id);
            erased++;
        }
    }
    if (erased) ob->erasures++;
    if (rc == 0 && erased) rc = compact(ob);
    pthread_mutex_unlock(&ob->mu);
    return rc < 0 ? rc : erased;
}

uint64_t le_outbox_erasures(le_outbox_t *ob) {
    pthread_mutex_lock(&ob->mu);
    uint64_t n = ob->erasures;
    pthread_mutex_unlock(&ob->mu);
    return n;
}

size_t le_outbox_count(le_outbox_t *ob, le_ob_state_t s) {
    size_t c = 0;
    pthread_mutex_lock(&ob->mu);
    for (size_t i = s == LE_OB_PENDING ? ob->first_pending : 0; i < ob->n; i++)
        c += ob->items[i].state == s;
    pthread_mutex_unlock(&ob->mu);
    return c;
}

int le_outbox_each(le_outbox_t *ob, le_outbox_visit_cb cb, void *ud) {
    int rc = 0;
    pthread_mutex_lock(&ob->mu);
    for (size_t i = 0; i < ob->n && rc == 0; i++) rc = cb(ud, &ob->items[i]);
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int le_outbox_each_pending(le_outbox_t *ob, le_outbox_visit_cb cb, void *ud) {
    int rc = 0;
    pthread_mutex_lock(&ob->mu);
    while (ob->first_pending < ob->n && ob->items[ob->first_pending].state != LE_OB_PENDING)
        ob->first_pending++;
    for (size_t i = ob->first_pending; i < ob->n && rc == 0; i++)
        if (ob->items[i].state == LE_OB_PENDING && !ob->items[i].syncing)
            rc = cb(ud, &ob->items[i]);
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int le_outbox_each_from(le_outbox_t *ob, size_t *from, le_outbox_visit_cb cb, void *ud) {
    int rc = 0;
    pthread_mutex_lock(&ob->mu);
    size_t i = *from;
    for (; i < ob->n; i++)
        if ((rc = cb(ud, &ob->items[i])) != 0) break;
    *from = i;
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int le_outbox_get(le_outbox_t *ob, const char *id, le_ob_item_t *out) {
    pthread_mutex_lock(&ob->mu);
    le_ob_item_t *it = find(ob, id);
    if (it) {
        *out = *it;
        out->id = le_xstrdup(it->id);
        out->type = it->type ? le_xstrdup(it->type) : NULL;
        out->lead = it->lead ? le_xstrdup(it->lead) : NULL;
        out->endpoint = it->endpoint ? le_xstrdup(it->endpoint) : NULL;
        out->reason = it->reason ? le_xstrdup(it->reason) : NULL;
        out->payload = le_xstrndup(it->payload, it->len);
    }
    pthread_mutex_unlock(&ob->mu);
    return it ? 0 : -ENOENT;
}

void le_ob_item_free(le_ob_item_t *it) {
    free_item(it);
    memset(it, 0, sizeof(*it));
}
