/*
 * events_cmd.c: `leadedge events [-c FILE] [--json] [--follow]`, the stored
 * events read back from the event log, one per line (a JSON object each
 * with --json, a short human summary otherwise).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"
#include "evlog.h"
#include "record.h"

static volatile int stop_flag;

static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

typedef struct {
    bool json;
    bool follow;
    le_buf_t line;
    unsigned long long bad;
} printer_t;

static int visit(void *ud, const void *payload, size_t len) {
    printer_t *p = ud;
    le_buf_reset(&p->line);
    int rc = p->json ? le_record_to_json(payload, len, &p->line)
                     : le_record_to_text(payload, len, &p->line);
    if (rc != 0) {
        p->bad++;
        fprintf(stderr, "leadedge events: a record could not be decoded; skipped\n");
        return 0;
    }
    le_buf_append(&p->line, "\n", 1);
    if (fwrite(p->line.data, 1, p->line.len, stdout) != p->line.len) return 1; /* EPIPE */
    if (p->follow) fflush(stdout);
    return 0;
}

int le_events_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = LE_DEFAULT_CONFIG;
    printer_t p = {0};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:jfh", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                path = optarg;
                break;
            case 'j':
                p.json = true;
                break;
            case 'f':
                p.follow = true;
                break;
            case 'h':
                printf("usage: leadedge events [-c FILE] [--json] [--follow]\n");
                return 0;
            default:
                fprintf(stderr, "usage: leadedge events [-c FILE] [--json] [--follow]\n");
                return 2;
        }
    }
    le_config_t *cfg = le_cli_config(path);
    if (!cfg) return 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    int rc = le_evlog_scan(cfg->store.data_dir, p.follow, &stop_flag, visit, &p, stderr);
    fflush(stdout);
    le_buf_free(&p.line);
    le_config_unref(cfg);
    if (rc < 0) return 1;
    return p.bad ? 1 : 0;
}
