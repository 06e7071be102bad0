/*
 * outbox_cmd.c: `leadedge outbox list|retry ID|drop ID`.
 *
 * list: the MQL and MQA hand-offs in <data_dir>/outbox, read from the files (a running server
 * may have them open), one per line: a short summary, or with --json one object each with the
 * payload. retry: a dead (or dropped, or waiting) item is sent again at once, its age counted
 * anew; drop: a pending or dead item is never sent. With a server running (it holds the
 * outbox's lock) retry and drop go through its admin API (admin.listen, admin.token), so the
 * delivery loop sees them at once; otherwise they are written to the files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "cli.h"
#include "client.h"
#include "config.h"
#include "outbox.h"

int le_outbox_main(int argc, char **argv);

#define OUTBOX_USAGE                                                                               \
    "usage: leadedge outbox list [-c FILE] [--json] [--state pending|delivered|dead|dropped]\n"    \
    "       leadedge outbox retry ID [-c FILE]\n"                                                  \
    "       leadedge outbox drop ID [-c FILE]\n"

typedef struct {
    bool json;
    int state; /* -1: all */
} lister_t;

static void fmt_ms(int64_t ms, char out[32]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(out, 32, "-");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int print_item(void *ud, const le_ob_item_t *it) {
    lister_t *l = ud;
    if (l->state >= 0 && (int)it->state != l->state) return 0;
    char created[32], next[32];
    fmt_ms(it->created_ms, created);
    fmt_ms(it->next_ms, next);
    if (!l->json) {
        printf("%s %s %s attempts=%u created=%s%s%s%s%s\n", it->id, it->type ? it->type : "-",
               le_ob_state_name(it->state), it->attempts, created,
               it->state == LE_OB_PENDING ? " next=" : "", it->state == LE_OB_PENDING ? next : "",
               it->reason ? " last_error=" : "", it->reason ? it->reason : "");
        return 0;
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(it->id));
    json_object_set_new(o, "type", it->type ? json_string(it->type) : json_null());
    json_object_set_new(o, "lead", it->lead ? json_string(it->lead) : json_null());
    json_object_set_new(o, "endpoint", it->endpoint ? json_string(it->endpoint) : json_null());
    json_object_set_new(o, "state", json_string(le_ob_state_name(it->state)));
    json_object_set_new(o, "attempts", json_integer(it->attempts));
    json_object_set_new(o, "created_at", json_string(created));
    json_object_set_new(o, "next_attempt_at",
                        it->state == LE_OB_PENDING ? json_string(next) : json_null());
    json_object_set_new(o, "last_error", it->reason ? json_string(it->reason) : json_null());
    json_t *payload = json_loadb(it->payload, it->len, 0, NULL);
    json_object_set_new(o, "payload", payload ? payload : json_stringn(it->payload, it->len));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(o);
    return 0;
}

/* Is a server holding the outbox (its directory's lock)? */
static bool server_running(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    bool busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy;
}

typedef struct {
    bool done;
    int status;  /* 0: no answer */
    char *error; /* the answer's text outside 2xx, or why there was none */
} answer_t;

static void on_answer(void *ud, const le_client_result_t *r) {
    answer_t *a = ud;
    a->done = true;
    a->status = r->status;
    a->error = r->error ? le_xstrdup(r->error) : NULL;
}

/* POST path to the running server's admin API (through the webhook client, forward/client.h).
 * The HTTP status (0: no answer), with a->error; -1 when admin.listen cannot be reached. */
static int admin_post(const le_config_t *cfg, const char *path, answer_t *a) {
    char host[LE_LISTEN_HOST_MAX];
    uint16_t port;
    if (le_listen_parse(cfg->admin.listen, host, &port) != 0) return -1;
    if (port == 0) { /* any free port: the server wrote down which */
        char *pf = le_strf("%s/" LE_ADMIN_PORT_FILE, cfg->store.data_dir);
        FILE *f = fopen(pf, "re");
        unsigned p = 0;
        if (f && fscanf(f, "%u", &p) == 1 && p > 0 && p < 65536) port = (uint16_t)p;
        if (f) fclose(f);
        free(pf);
        if (port == 0) return -1;
    }
    bool v6 = strchr(host, ':') != NULL;
    const char *h = strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1"
                    : strcmp(host, "::") == 0    ? "::1"
                                                 : host;
    char *url = le_strf("http://%s%s%s:%u%s", v6 ? "[" : "", h, v6 ? "]" : "", port, path);
    char *auth = le_strf("Bearer %s", cfg->admin.token ? cfg->admin.token : "");
    const char *hdrs[] = {"Authorization", auth};
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    le_client_t *c = NULL;
    char *msg = NULL;
    le_client_opts_t o = {.url = url, .timeout_ms = 15000, .concurrency = 1};
    int rc = -1;
    if (le_client_new(base, &o, &c, &msg) == 0 &&
        le_client_post(c, hdrs, 1, "", 0, on_answer, a) == 0) {
        while (!a->done && event_base_loop(base, EVLOOP_ONCE) == 0) continue;
        rc = a->status;
    }
    le_client_free(c);
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
    free(msg);
    free(auth);
    free(url);
    return rc;
}

static int outbox_op(const le_config_t *cfg, bool retry, const char *id) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/outbox", cfg->store.data_dir);
    if (server_running(dir)) {
        char *enc = evhttp_encode_uri(id);
        char *path = le_strf("/v1/outbox/%s/%s", enc, retry ? "retry" : "drop");
        free(enc);
        answer_t a = {0};
        int status = admin_post(cfg, path, &a);
        free(path);
        if (status == 200) {
            printf("{\"state\":\"%s\"}\n", retry ? "pending" : "dropped");
        } else if (status <= 0) {
            fprintf(stderr,
                    "leadedge: a server holds the outbox, but its admin API on %s did "
                    "not answer%s%s\n",
                    cfg->admin.listen, a.error ? ": " : "", a.error ? a.error : "");
        } else {
            fprintf(stderr, "leadedge: %s: HTTP %d %s\n", id, status, a.error ? a.error : "");
        }
        free(a.error);
        return status == 200 ? 0 : 1;
    }
    le_outbox_t *ob;
    char *msg = NULL;
    if (le_outbox_open(dir, &ob, &msg) != 0) {
        fprintf(stderr, "leadedge: %s\n", msg ? msg : "cannot open the outbox");
        free(msg);
        return 1;
    }
    int64_t now = le_now_ms();
    int rc = retry ? le_outbox_retry(ob, id, now) : le_outbox_drop(ob, id, now);
    le_outbox_close(ob);
    if (rc == 0) {
        printf("{\"state\":\"%s\"}\n", retry ? "pending" : "dropped");
        return 0;
    }
    fprintf(stderr, "leadedge: %s: %s\n", id,
            rc == -ENOENT     ? "no outbox item with that id"
            : rc == -EALREADY ? (retry ? "already delivered" : "already delivered or dropped")
                              : strerror(-rc));
    return 1;
}

int le_outbox_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"state", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = LE_DEFAULT_CONFIG;
    lister_t l = {false, -1};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:js:h", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                path = optarg;
                break;
            case 'j':
                l.json = true;
                break;
            case 's':
                for (int s = LE_OB_PENDING; s <= LE_OB_DROPPED; s++)
                    if (strcmp(optarg, le_ob_state_name((le_ob_state_t)s)) == 0) l.state = s;
                if (l.state < 0) {
                    fputs(OUTBOX_USAGE, stderr);
                    return 2;
                }
                break;
            case 'h':
                fputs(OUTBOX_USAGE, stdout);
                return 0;
            default:
                fputs(OUTBOX_USAGE, stderr);
                return 2;
        }
    }
    bool list = optind == argc - 1 && strcmp(argv[optind], "list") == 0;
    bool op = optind == argc - 2 &&
              (strcmp(argv[optind], "retry") == 0 || strcmp(argv[optind], "drop") == 0);
    if (!list && !op) {
        fputs(OUTBOX_USAGE, stderr);
        return 2;
    }
    le_config_t *cfg = le_cli_config(path);
    if (!cfg) return 1;
    if (op) {
        int rc = outbox_op(cfg, strcmp(argv[optind], "retry") == 0, argv[optind + 1]);
        le_config_unref(cfg);
        return rc;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/outbox", cfg->store.data_dir);
    le_config_unref(cfg);
    le_outbox_t *ob;
    char *msg = NULL;
    if (le_outbox_open_readonly(dir, &ob, &msg) != 0) {
        fprintf(stderr, "leadedge: %s\n", msg ? msg : "cannot read the outbox");
        free(msg);
        return 1;
    }
    le_outbox_each(ob, print_item, &l);
    le_outbox_close(ob);
    return 0;
}
