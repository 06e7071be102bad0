/*
 * client_probe.c: drive forward/client (le_client) from the command line, for test_client.py.
 *
 *     client_probe URL [--ca FILE] [--timeout MS] [--concurrency N] [--count N]
 *                      [--body JSON] [--secret S]... [--header NAME:VALUE]...
 *                      [--pause-ms MS] [--free-after-ms MS] [--verbose 1]
 *
 * Posts --count requests (default 1), keeping up to --concurrency in flight, each signed with
 * Leadedge-Signature when --secret is given (one v1 per secret) and carrying an
 * Idempotency-Key. The body is --body, else {"seq":<i>}. --pause-ms waits that long after each
 * answer before the next post; --free-after-ms frees the client that long after the start (the
 * requests in flight are cancelled; no more are posted). --header adds a static header.
 * --verbose 1 turns on the client's debug log (stderr).
 *
 * Prints one JSON line per answer, in the order they come:
 *
 *     {"seq":0,"status":200,"error":null,"retry_after":null,"elapsed_us":1234}
 *
 * Exit status: 0 when every posted request was answered (whatever the answers were), 2 when
 * the client cannot be created (the reason on stderr), 1 for a usage or post error.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "log.h"
#include "sign.h"

#define MAX_LIST 16

typedef struct {
    struct event_base *base;
    le_client_t *client;
    const char *body;
    const char *secrets[MAX_LIST];
    size_t nsecrets;
    unsigned count, posted, answered;
    long pause_ms;
    struct event *next_ev;
    int rc;
} probe_t;

typedef struct {
    probe_t *p;
    unsigned seq;
} slot_t;

static void json_str(const char *s) {
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20 || ch > 0x7e)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void post_more(probe_t *p);

static void answer_cb(void *ud, const le_client_result_t *r) {
    slot_t *s = ud;
    probe_t *p = s->p;
    printf("{\"seq\":%u,\"status\":%d,\"error\":", s->seq, r->status);
    json_str(r->error);
    fputs(",\"retry_after\":", stdout);
    json_str(r->retry_after);
    printf(",\"elapsed_us\":%lld}\n", (long long)r->elapsed_us);
    fflush(stdout);
    free(s);
    p->answered++;
    if (!p->client) return; /* being freed: no more posts */
    if (p->answered == p->count) {
        event_base_loopexit(p->base, NULL);
        return;
    }
    struct timeval tv = {p->pause_ms / 1000, (p->pause_ms % 1000) * 1000};
    evtimer_add(p->next_ev, &tv);
}

static void post_one(probe_t *p) {
    unsigned seq = p->posted;
    le_buf_t body = LE_BUF_INIT, sig = LE_BUF_INIT;
    if (p->body)
        le_buf_puts(&body, p->body);
    else
        le_buf_printf(&body, "{\"seq\":%u}", seq);
    char key[64];
    snprintf(key, sizeof(key), "probe-%ld-%u", (long)getpid(), seq);
    const char *h[4] = {"Idempotency-Key", key, NULL, NULL};
    size_t nh = 1;
    if (p->nsecrets) {
        le_sig_header(p->secrets, p->nsecrets, (int64_t)time(NULL), body.data, body.len, &sig);
        h[2] = "Leadedge-Signature";
        h[3] = le_buf_cstr(&sig);
        nh = 2;
    }
    slot_t *s = malloc(sizeof(*s));
    s->p = p;
    s->seq = seq;
    int rc = le_client_post(p->client, h, nh, body.data, body.len, answer_cb, s);
    le_buf_free(&body);
    le_buf_free(&sig);
    if (rc < 0) {
        fprintf(stderr, "client_probe: le_client_post: %d\n", rc);
        free(s);
        p->rc = 1;
        event_base_loopexit(p->base, NULL);
        return;
    }
    p->posted++;
}

static void post_more(probe_t *p) {
    while (p->client && p->posted < p->count && le_client_can_send(p->client)) {
        post_one(p);
        if (p->pause_ms > 0 || p->rc) break;
    }
}

static void next_cb(evutil_socket_t fd, short what, void *arg) {
    post_more(arg);
}

static void free_cb(evutil_socket_t fd, short what, void *arg) {
    probe_t *p = arg;
    le_client_t *c = p->client;
    p->client = NULL; /* answers from inside le_client_free see it gone */
    le_client_free(c);
    event_base_loopexit(p->base, NULL);
}

static void usage(void) {
    fprintf(stderr, "usage: client_probe URL [--ca FILE] [--timeout MS] [--concurrency N] "
                    "[--count N] [--body JSON] [--secret S]... [--header NAME:VALUE]... "
                    "[--pause-ms MS] [--free-after-ms MS] [--verbose 1]\n");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    probe_t p = {.count = 1};
    le_client_opts_t o = {.url = argv[1], .timeout_ms = 5000, .concurrency = 1};
    const char *hdrs[2 * MAX_LIST];
    char *owned[MAX_LIST];
    size_t nh = 0;
    long free_after = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (strcmp(a, "--ca") == 0)
            o.ca_file = v;
        else if (strcmp(a, "--timeout") == 0)
            o.timeout_ms = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--concurrency") == 0)
            o.concurrency = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--count") == 0)
            p.count = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--body") == 0)
            p.body = v;
        else if (strcmp(a, "--pause-ms") == 0)
            p.pause_ms = strtol(v, NULL, 10);
        else if (strcmp(a, "--free-after-ms") == 0)
            free_after = strtol(v, NULL, 10);
        else if (strcmp(a, "--verbose") == 0)
            le_log_set_level(LE_LOG_DEBUG);
        else if (strcmp(a, "--secret") == 0 && p.nsecrets < MAX_LIST)
            p.secrets[p.nsecrets++] = v;
        else if (strcmp(a, "--header") == 0 && nh < MAX_LIST && strchr(v, ':')) {
            const char *colon = strchr(v, ':');
            owned[nh] = strndup(v, (size_t)(colon - v));
            hdrs[2 * nh] = owned[nh];
            hdrs[2 * nh + 1] = colon + 1;
            nh++;
        } else
            usage();
    }
    o.headers = hdrs;
    o.nheaders = nh;
    signal(SIGPIPE, SIG_IGN); /* as leadedge does: see client.h */
    p.base = event_base_new();
    char *msg = NULL;
    if (le_client_new(p.base, &o, &p.client, &msg) < 0) {
        fprintf(stderr, "client_probe: %s\n", msg);
        free(msg);
        for (size_t i = 0; i < nh; i++) free(owned[i]);
        event_base_free(p.base);
        return 2;
    }
    p.next_ev = evtimer_new(p.base, next_cb, &p);
    struct event *free_ev = evtimer_new(p.base, free_cb, &p);
    if (free_after >= 0) {
        struct timeval tv = {free_after / 1000, (free_after % 1000) * 1000};
        evtimer_add(free_ev, &tv);
    }
    if (p.count > 0) {
        post_more(&p);
        event_base_dispatch(p.base);
    }
    le_client_free(p.client);
    event_free(p.next_ev);
    event_free(free_ev);
    event_base_free(p.base);
    for (size_t i = 0; i < nh; i++) free(owned[i]);
    if (p.rc == 0 && p.answered != p.posted) {
        fprintf(stderr, "client_probe: %u posted, %u answered\n", p.posted, p.answered);
        p.rc = 1;
    }
    return p.rc;
}
