/*
 * visitor_cmd.c: `leadedge visitor ID|EMAIL [-c FILE] [--json]` and
 * `leadedge state [-c FILE] [--no-snapshot]`.
 *
 * Both read the files, not a running server: the snapshot in store.data_dir plus a replay of
 * the event log after it (scorer.h), which is exactly the state a server started now would
 * have. (A running server answers the same question on its admin API:
 * GET /v1/visitors/{id or e-mail}.)
 *
 * `visitor` shows one visitor or contact: scores (behaviour decayed to now), grade and band,
 * the rules that made them, identity links, account, MQL state and suppression reasons.
 * `state` prints a digest of the whole state (SHA-256 of the snapshot encoding) and its counts;
 * with --no-snapshot the state is rebuilt from the whole log, so comparing the two checks that
 * the snapshot and the log agree (store.retain_log keeps the segments this needs).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "scorer.h"

int le_visitor_main(int argc, char **argv);
int le_state_main(int argc, char **argv);

#define VISITOR_USAGE "usage: leadedge visitor ID|EMAIL [-c FILE] [--json]\n"
#define STATE_USAGE "usage: leadedge state [-c FILE] [--no-snapshot]\n"

static le_scorer_t *open_offline(const char *path, bool no_snapshot) {
    le_config_t *cfg = le_cli_config(path);
    if (!cfg) return NULL;
    le_log_set_level(LE_LOG_ERROR);
    le_scorer_t *s;
    char *msg = NULL;
    int rc;
    /* A running server may take a snapshot and delete the segments it covers between our
     * reading its snapshot and its log: start over from the newer snapshot (a few times). */
    for (int attempt = 0;; attempt++) {
        le_scorer_start_t st = {.no_snapshot = no_snapshot};
        rc = le_scorer_open(&s, cfg, NULL, &st, &msg);
        if (rc != -ENOENT || no_snapshot || attempt == 3) break;
        free(msg);
        msg = NULL;
    }
    le_config_unref(cfg);
    if (rc != 0) {
        fprintf(stderr, "leadedge: %s\n", msg ? msg : "cannot read the state");
        free(msg);
        return NULL;
    }
    return s;
}

static const char *when(json_t *t, char *buf, size_t cap) {
    if (!json_is_integer(t)) return "-";
    time_t v = (time_t)json_integer_value(t);
    struct tm tm;
    gmtime_r(&v, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

static const char *str(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

/* The human form of le_engine_describe's JSON. */
static void print_text(json_t *o) {
    char t1[32], t2[32];
    json_t *sc = json_object_get(o, "scores");
    printf("%s %s", str(o, "kind"), str(o, "id"));
    if (json_is_string(json_object_get(o, "email"))) printf(" <%s>", str(o, "email"));
    printf("\n  seen        %s .. %s\n", when(json_object_get(o, "first_seen"), t1, sizeof(t1)),
           when(json_object_get(o, "last_seen"), t2, sizeof(t2)));
    printf("  behaviour   %.2f (band %lld)\n", json_number_value(json_object_get(sc, "behaviour")),
           json_integer_value(json_object_get(sc, "band")));
    printf("  fit         %lld (grade %s)\n", json_integer_value(json_object_get(sc, "fit")),
           str(sc, "grade"));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(sc, "rules"), i, r) {
        printf("  %-11s %-30s %+8.2f  x%lld\n", i ? "" : "rules", str(r, "rule"),
               json_number_value(json_object_get(r, "points")),
               json_integer_value(json_object_get(r, "times")));
    }
    json_t *c = json_object_get(o, "contact");
    if (json_is_object(c)) {
        printf("  contact     %s %s, %s (%s), %s\n", str(c, "first_name"), str(c, "last_name"),
               str(c, "job_title"), str(c, "role"), str(c, "company"));
        printf("  e-mail      %s domain\n", str(c, "email_domain"));
        json_t *q;
        printf("  quality    ");
        if (!json_array_size(json_object_get(c, "quality"))) printf(" ok");
        json_array_foreach(json_object_get(c, "quality"), i, q) printf(" %s", json_string_value(q));
        printf("\n");
    }
    json_t *v;
    json_array_foreach(json_object_get(o, "visitors"), i, v) {
        printf("  %-11s %s linked %s\n", i ? "" : "identity", str(v, "visitor"),
               when(json_object_get(v, "linked_at"), t1, sizeof(t1)));
    }
    json_t *a = json_object_get(o, "account");
    if (json_is_object(a))
        printf("  account     %s (%s), %lld members, behaviour %.2f%s\n", str(a, "key"),
               str(a, "name"), json_integer_value(json_object_get(a, "members")),
               json_number_value(json_object_get(a, "behaviour")),
               json_is_true(json_object_get(a, "mqa")) ? ", MQA" : "");
    printf("  mql         %s\n", json_is_true(json_object_get(o, "mql"))
                                     ? when(json_object_get(o, "mql_at"), t1, sizeof(t1))
                                     : "no");
    printf("  suppressed ");
    json_t *sup = json_object_get(o, "suppressed");
    if (!json_array_size(sup)) printf(" no");
    json_array_foreach(sup, i, v) printf(" %s", json_string_value(v));
    printf("\n");
}

int le_visitor_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = LE_DEFAULT_CONFIG;
    bool json = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                path = optarg;
                break;
            case 'j':
                json = true;
                break;
            case 'h':
                fputs(VISITOR_USAGE, stdout);
                return 0;
            default:
                fputs(VISITOR_USAGE, stderr);
                return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(VISITOR_USAGE, stderr);
        return 2;
    }
    const char *key = argv[optind];
    le_scorer_t *s = open_offline(path, false);
    if (!s) return 1;
    le_buf_t out = LE_BUF_INIT;
    int rc = le_scorer_describe(s, key, &out);
    le_scorer_close(s);
    if (rc != 0) {
        fprintf(stderr, "leadedge: no visitor or contact \"%s\"\n", key);
        le_buf_free(&out);
        return 1;
    }
    if (json) {
        printf("%s\n", le_buf_cstr(&out));
    } else {
        json_t *o = json_loadb(out.data, out.len, 0, NULL);
        if (o) print_text(o);
        json_decref(o);
    }
    le_buf_free(&out);
    return 0;
}

int le_state_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"no-snapshot", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = LE_DEFAULT_CONFIG;
    bool no_snapshot = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:nh", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                path = optarg;
                break;
            case 'n':
                no_snapshot = true;
                break;
            case 'h':
                fputs(STATE_USAGE, stdout);
                return 0;
            default:
                fputs(STATE_USAGE, stderr);
                return 2;
        }
    }
    if (optind != argc) {
        fputs(STATE_USAGE, stderr);
        return 2;
    }
    le_scorer_t *s = open_offline(path, no_snapshot);
    if (!s) return 1;
    le_buf_t out = LE_BUF_INIT;
    le_scorer_dump(s, &out);
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)out.data, out.len, d);
    printf("digest ");
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) printf("%02x", d[i]);
    printf("\n");
    le_buf_t m = LE_BUF_INIT;
    le_scorer_metrics(s, &m);
    /* the counts, from the metrics lines that are not comments */
    for (char *line = strtok(m.data, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#' && !strstr(line, "snapshot") && !strstr(line, "memory"))
            printf("%s\n", line);
    le_buf_free(&m);
    le_buf_free(&out);
    le_scorer_close(s);
    return 0;
}
