/*
 * outbox_cmd.c: `leadedge outbox list [-c FILE] [--json] [--state pending|delivered|dead]`,
 * the MQL and MQA hand-offs in <data_dir>/outbox, read from the files (a running server may
 * have them open), one per line: a short summary, or with --json one object each with the
 * payload.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "outbox.h"

int le_outbox_main(int argc, char **argv);

#define OUTBOX_USAGE                                                                               \
    "usage: leadedge outbox list [-c FILE] [--json] [--state pending|delivered|dead]\n"

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
                for (int s = LE_OB_PENDING; s <= LE_OB_DEAD; s++)
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
    if (optind != argc - 1 || strcmp(argv[optind], "list") != 0) {
        fputs(OUTBOX_USAGE, stderr);
        return 2;
    }
    le_config_t *cfg = le_cli_config(path);
    if (!cfg) return 1;
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
