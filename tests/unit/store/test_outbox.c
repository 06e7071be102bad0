/*
 * test_outbox.c: the outbox (store/outbox.c): items and their states survive a reopen, an id
 * is added once (the idempotency key), a torn tail is cut, a record that is not the outbox's
 * is refused, and adds from two threads all arrive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "evlog.h"
#include "outbox.h"

static char *tmpdir(void) {
    char *t = strdup("/tmp/le-outbox-test-XXXXXX");
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

static le_outbox_t *open_ok(const char *dir) {
    le_outbox_t *ob;
    char *msg = NULL;
    if (le_outbox_open(dir, &ob, &msg) != 0) fail_msg("open: %s", msg ? msg : "?");
    return ob;
}

static off_t seg_size(const char *dir) {
    char p[512];
    snprintf(p, sizeof(p), "%s/events-00000001.log", dir);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    return sb.st_size;
}

typedef struct {
    char ids[2000][40];
    int states[2000];
    size_t n;
} seen_t;

static int collect(void *ud, const le_ob_item_t *it) {
    seen_t *s = ud;
    snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", it->id);
    s->states[s->n++] = (int)it->state;
    return 0;
}

static void test_reopen_keeps_items_and_states(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_outbox_t *ob = open_ok(dir);
    const char *p1 = "{\"id\":\"a-1\"}";
    assert_int_equal(le_outbox_add(ob, "a-1", "mql", "lead-a", "crm", 1000, p1, strlen(p1)), 0);
    assert_int_equal(le_outbox_add(ob, "b-1", "mql", "lead-b", "crm", 2000, "{}", 2), 0);
    assert_int_equal(le_outbox_add(ob, "c-1", "mqa", "acct-c", "crm", 3000, "{}", 2), 0);
    off_t size = seg_size(dir);
    /* the same id again: nothing changes, nothing is written */
    assert_int_equal(le_outbox_add(ob, "a-1", "mql", "lead-a", "crm", 9999, "{\"x\":1}", 7), 1);
    assert_int_equal(seg_size(dir), size);
    assert_int_equal(le_outbox_set(ob, "a-1", LE_OB_DELIVERED, 1, 0, NULL, 1500), 0);
    assert_int_equal(le_outbox_set(ob, "b-1", LE_OB_PENDING, 3, 60000, "HTTP 503", 2500), 0);
    assert_int_equal(le_outbox_set(ob, "c-1", LE_OB_DEAD, 1, 0, "HTTP 400", 3500), 0);
    assert_int_equal(le_outbox_set(ob, "zz", LE_OB_DEAD, 1, 0, NULL, 1), -ENOENT);
    le_outbox_close(ob);

    ob = open_ok(dir);
    assert_int_equal(le_outbox_count(ob, LE_OB_DELIVERED), 1);
    assert_int_equal(le_outbox_count(ob, LE_OB_PENDING), 1);
    assert_int_equal(le_outbox_count(ob, LE_OB_DEAD), 1);
    static seen_t s;
    s.n = 0;
    le_outbox_each(ob, collect, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.ids[0], "a-1"); /* in the order added */
    assert_string_equal(s.ids[2], "c-1");
    assert_int_equal(s.states[1], LE_OB_PENDING);
    le_outbox_close(ob);
    rmtree(dir);
}

static int find_b(void *ud, const le_ob_item_t *it) {
    if (strcmp(it->id, "b-1") != 0) return 0;
    const le_ob_item_t **out = ud;
    *out = it;
    return 1;
}

static void test_fields_survive(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_outbox_t *ob = open_ok(dir);
    const char *body = "{\"lead\":{\"email\":\"x@y.example\"},\"scores\":[1,2,3]}";
    assert_int_equal(le_outbox_add(ob, "b-1", "mql", "lead-b", "crm", 2000, body, strlen(body)), 0);
    assert_int_equal(le_outbox_set(ob, "b-1", LE_OB_PENDING, 2, 61000, "timeout", 3000), 0);
    le_outbox_close(ob);
    ob = open_ok(dir);
    const le_ob_item_t *it = NULL;
    assert_int_equal(le_outbox_each(ob, find_b, &it), 1);
    assert_string_equal(it->payload, body);
    assert_int_equal(it->len, strlen(body));
    assert_string_equal(it->type, "mql");
    assert_string_equal(it->lead, "lead-b");
    assert_int_equal(it->created_ms, 2000);
    assert_int_equal(it->attempts, 2);
    assert_int_equal(it->next_ms, 61000);
    assert_string_equal(it->reason, "timeout");
    le_outbox_close(ob);
    rmtree(dir);
}

static void test_torn_tail_and_foreign_record(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_outbox_t *ob = open_ok(dir);
    assert_int_equal(le_outbox_add(ob, "a-1", "mql", "l", "crm", 1, "{}", 2), 0);
    le_outbox_close(ob);
    char p[512];
    snprintf(p, sizeof(p), "%s/events-00000001.log", dir);
    FILE *f = fopen(p, "ab");
    fwrite("\x30\x00\x00\x00\x01\x02", 1, 6, f); /* half a frame */
    fclose(f);
    ob = open_ok(dir); /* cut, and the item is there */
    assert_int_equal(le_outbox_count(ob, LE_OB_PENDING), 1);
    le_outbox_close(ob);

    /* a whole, checksummed frame that is not an outbox record */
    le_evlog_opts_t o = {dir, 1u << 20, LE_FSYNC_ALWAYS, 10, 1u << 20};
    le_evlog_t *l;
    char *msg = NULL;
    assert_int_equal(le_evlog_open(&l, &o, &msg), 0);
    assert_int_equal(le_evlog_append_raw(l, "\x81\xa1k\xa3zzz", 7), 0);
    le_evlog_close(l);
    le_outbox_t *bad = NULL;
    assert_int_equal(le_outbox_open(dir, &bad, &msg), LE_ECORRUPT);
    assert_null(bad);
    assert_non_null(strstr(msg, "not readable"));
    free(msg);
    rmtree(dir);
}

typedef struct {
    le_outbox_t *ob;
    int t;
} adder_t;

static void *adder(void *arg) {
    adder_t *a = arg;
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof(id), "t%d-%03d", a->t, i);
        if (le_outbox_add(a->ob, id, "mql", "l", NULL, i, "{}", 2) != 0) abort();
    }
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_outbox_t *ob = open_ok(dir);
    adder_t a[2] = {{ob, 0}, {ob, 1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, adder, &a[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    le_outbox_close(ob);
    ob = open_ok(dir);
    assert_int_equal(le_outbox_count(ob, LE_OB_PENDING), 400);
    le_outbox_close(ob);
    rmtree(dir);
}

static void test_readonly(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_outbox_t *ob = open_ok(dir), *ro = NULL;
    char *msg = NULL;
    assert_int_equal(le_outbox_add(ob, "a-1", "mql", "l", "crm", 1, "{}", 2), 0);
    /* beside the writer */
    assert_int_equal(le_outbox_open_readonly(dir, &ro, &msg), 0);
    assert_int_equal(le_outbox_count(ro, LE_OB_PENDING), 1);
    assert_int_equal(le_outbox_add(ro, "b-1", "mql", "l", NULL, 1, "{}", 2), -EROFS);
    assert_int_equal(le_outbox_set(ro, "a-1", LE_OB_DEAD, 1, 0, NULL, 1), -EROFS);
    le_outbox_close(ro);
    le_outbox_close(ob);
    /* no outbox at all: empty */
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/none", dir);
    assert_int_equal(le_outbox_open_readonly(missing, &ro, &msg), 0);
    assert_int_equal(le_outbox_count(ro, LE_OB_PENDING), 0);
    le_outbox_close(ro);
    rmtree(dir);
}

/* Does any file under dir hold needle? */
static bool dir_holds(const char *dir, const char *needle) {
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "grep -rqa '%s' '%s' 2>/dev/null", needle, dir);
    return system(cmd) == 0;
}

/* An operator's retry and drop; erasure takes the items of a lead out of memory and off the
 * disk (the files are rewritten), and survives a reopen; the rest stays as it was. */
static void test_retry_drop_erase(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_outbox_t *ob = open_ok(dir);
    assert_int_equal(le_outbox_add(ob, "a-1", "mql", "lead-a", "crm", 1000,
                                   "{\"email\":\"secret-a@x.example\"}", 31),
                     0);
    assert_int_equal(le_outbox_add(ob, "b-1", "mql", "lead-b", "crm", 2000, "{\"b\":1}", 7), 0);
    assert_int_equal(le_outbox_add(ob, "a-2", "mql", "lead-a", "crm", 3000,
                                   "{\"email\":\"secret-a@x.example\"}", 31),
                     0);
    assert_int_equal(le_outbox_set(ob, "b-1", LE_OB_DEAD, 4, 0, "HTTP 400", 2500), 0);
    assert_int_equal(le_outbox_retry(ob, "b-1", 50000), 0);
    le_ob_item_t it;
    assert_int_equal(le_outbox_get(ob, "b-1", &it), 0);
    assert_int_equal(it.state, LE_OB_PENDING);
    assert_int_equal(it.attempts, 0);
    assert_int_equal(it.since_ms, 50000);
    assert_string_equal(it.endpoint, "crm");
    le_ob_item_free(&it);
    assert_int_equal(le_outbox_retry(ob, "nope", 1), -ENOENT);
    assert_int_equal(le_outbox_set(ob, "a-1", LE_OB_DELIVERED, 1, 0, NULL, 1100), 0);
    assert_int_equal(le_outbox_retry(ob, "a-1", 1), -EALREADY);
    assert_int_equal(le_outbox_drop(ob, "a-1", 1), -EALREADY);
    assert_int_equal(le_outbox_drop(ob, "b-1", 60000), 0);
    assert_int_equal(le_outbox_drop(ob, "b-1", 60000), -EALREADY);
    assert_true(dir_holds(dir, "secret-a@x.example"));

    const char *leads[] = {"lead-a"};
    assert_int_equal(le_outbox_erase(ob, leads, 1), 2);
    assert_int_equal(le_outbox_get(ob, "a-1", &it), -ENOENT);
    assert_false(dir_holds(dir, "secret-a@x.example"));
    /* the outbox still works after the rewrite */
    assert_int_equal(le_outbox_add(ob, "c-1", "mql", "lead-c", "crm", 4000, "{}", 2), 0);
    le_outbox_close(ob);
    ob = open_ok(dir);
    assert_int_equal(le_outbox_get(ob, "a-2", &it), -ENOENT);
    assert_int_equal(le_outbox_get(ob, "b-1", &it), 0);
    assert_int_equal(it.state, LE_OB_DROPPED);
    assert_int_equal(it.since_ms, 50000);
    le_ob_item_free(&it);
    assert_int_equal(le_outbox_count(ob, LE_OB_PENDING), 1);
    assert_int_equal(le_outbox_erase(ob, leads, 1), 0);
    le_outbox_close(ob);

    /* a crash after the rewrite was complete but before the swap: opening finishes it */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s.new' && rm -f '%s'/*", dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    ob = open_ok(dir);
    assert_int_equal(le_outbox_count(ob, LE_OB_PENDING), 1);
    le_outbox_close(ob);
    rmtree(dir);
}

static int count_pending(void *ud, const le_ob_item_t *it) {
    (void)it;
    (*(int *)ud)++;
    return 0;
}

/* Several adds with one fsync: a duplicate id is reported, the rest become pending, and all
 * survive a reopen. */
static void test_add_many(void **state) {
    (void)state;
    char *dir = tmpdir();
    le_outbox_t *ob = open_ok(dir);
    assert_int_equal(le_outbox_add(ob, "a-1", "mql", "a", "crm", 1, "{}", 2), 0);
    le_ob_new_t items[] = {{"b-1", "mql", "b", "crm", 2, "{\"b\":1}", 7},
                           {"a-1", "mql", "a", "crm", 3, "{}", 2},
                           {"c-1", "mql", "c", NULL, 4, "{}", 2}};
    int results[3] = {-1, -1, -1};
    le_outbox_add_many(ob, items, 3, results);
    assert_int_equal(results[0], 0);
    assert_int_equal(results[1], 1);
    assert_int_equal(results[2], 0);
    int n = 0;
    le_outbox_each_pending(ob, count_pending, &n);
    assert_int_equal(n, 3);
    le_outbox_close(ob);
    ob = open_ok(dir);
    assert_int_equal(le_outbox_count(ob, LE_OB_PENDING), 3);
    le_ob_item_t it;
    assert_int_equal(le_outbox_get(ob, "b-1", &it), 0);
    assert_string_equal(it.payload, "{\"b\":1}");
    le_ob_item_free(&it);
    le_outbox_close(ob);
    rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen_keeps_items_and_states),
        cmocka_unit_test(test_fields_survive),
        cmocka_unit_test(test_torn_tail_and_foreign_record),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_readonly),
        cmocka_unit_test(test_retry_drop_erase),
        cmocka_unit_test(test_add_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
