/*
 * outbox.c: the outbox's records, replay and index (outbox.h).
 */
#include "outbox.h"

#include <errno.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "evlog.h"

struct le_outbox_s {
    pthread_mutex_t mu;
    le_evlog_t *log;
    le_ob_item_t *items; /* in the order added */
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

/* ---- records ----------------------------------------------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Append a record and wait until it is durable. */
static int write_record(le_outbox_t *ob, const msgpack_sbuffer *sb) {
    if (!ob->log) return -EROFS;
    int rc = le_evlog_append_raw(ob->log, sb->data, sb->size);
    if (rc == 0) rc = le_evlog_flush(ob->log);
    return rc == 0 ? 0 : -EIO;
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
        it->created_ms = it->next_ms = it->state_ms = t;
        it->payload = le_xstrndup(pl->via.str.ptr, pl->via.str.size);
        it->len = pl->via.str.size;
        index_put(ob, ob->n++);
        rc = 0;
    } else if (k->via.str.size == 3 && memcmp(k->via.str.ptr, "set", 3) == 0) {
        le_ob_item_t *it = find(ob, id);
        free(id);
        if (!it || !obj_int(get(m, "s"), &s) || s < 0 || s > LE_OB_DEAD ||
            !obj_int(get(m, "n"), &n) || n < 0 || n > UINT32_MAX ||
            !obj_int(get(m, "next"), &next) || !obj_int(get(m, "t"), &t))
            goto out;
        it->state = (le_ob_state_t)s;
        it->attempts = (uint32_t)n;
        it->next_ms = next;
        it->state_ms = t;
        free(it->reason);
        it->reason = dup_obj_str(get(m, "why"));
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

int le_outbox_open(const char *dir, le_outbox_t **out, char **msg) {
    *out = NULL;
    *msg = NULL;
    le_outbox_t *ob = le_xcalloc(1, sizeof(*ob));
    pthread_mutex_init(&ob->mu, NULL);
    le_evlog_opts_t o = {.dir = dir,
                         .segment_size = 64u << 20,
                         .fsync_mode = LE_FSYNC_ALWAYS,
                         .fsync_interval_ms = 10,
                         .buffer_limit = 16u << 20};
    int rc = le_evlog_open(&ob->log, &o, msg);
    if (rc == 0) rc = replay_all(ob, dir, le_evlog_durable(ob->log), msg);
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
    pthread_mutex_destroy(&ob->mu);
    free(ob);
}

int le_outbox_add(le_outbox_t *ob, const char *id, const char *type, const char *lead,
                  int64_t created_ms, const char *payload, size_t len) {
    pthread_mutex_lock(&ob->mu);
    if (find(ob, id)) {
        pthread_mutex_unlock(&ob->mu);
        return 1;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    pk_str(&pk, "k");
    pk_str(&pk, "add");
    pk_str(&pk, "id");
    pk_str(&pk, id);
    pk_str(&pk, "ty");
    pk_str(&pk, type);
    pk_str(&pk, "lead");
    pk_str(&pk, lead);
    pk_str(&pk, "t");
    msgpack_pack_int64(&pk, created_ms);
    pk_str(&pk, "p");
    msgpack_pack_str(&pk, len);
    msgpack_pack_str_body(&pk, payload, len);
    int rc = write_record(ob, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0) {
        le_ob_item_t *it = push(ob);
        it->id = le_xstrdup(id);
        it->type = le_xstrdup(type);
        it->lead = le_xstrdup(lead);
        it->created_ms = it->next_ms = it->state_ms = created_ms;
        it->payload = le_xstrndup(payload, len);
        it->len = len;
        index_put(ob, ob->n++);
    }
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int le_outbox_set(le_outbox_t *ob, const char *id, le_ob_state_t state, uint32_t attempts,
                  int64_t next_ms, const char *reason, int64_t at_ms) {
    pthread_mutex_lock(&ob->mu);
    le_ob_item_t *it = find(ob, id);
    if (!it) {
        pthread_mutex_unlock(&ob->mu);
        return -ENOENT;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, reason ? 7 : 6);
    pk_str(&pk, "k");
    pk_str(&pk, "set");
    pk_str(&pk, "id");
    pk_str(&pk, id);
    pk_str(&pk, "s");
    msgpack_pack_int(&pk, (int)state);
    pk_str(&pk, "n");
    msgpack_pack_uint32(&pk, attempts);
    pk_str(&pk, "next");
    msgpack_pack_int64(&pk, next_ms);
    pk_str(&pk, "t");
    msgpack_pack_int64(&pk, at_ms);
    if (reason) {
        pk_str(&pk, "why");
        pk_str(&pk, reason);
    }
    int rc = write_record(ob, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0) {
        it->state = state;
        it->attempts = attempts;
        it->next_ms = next_ms;
        it->state_ms = at_ms;
        free(it->reason);
        it->reason = reason ? le_xstrdup(reason) : NULL;
    }
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

size_t le_outbox_count(le_outbox_t *ob, le_ob_state_t s) {
    size_t c = 0;
    pthread_mutex_lock(&ob->mu);
    for (size_t i = 0; i < ob->n; i++) c += ob->items[i].state == s;
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
