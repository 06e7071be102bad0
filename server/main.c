/*
 * main.c: the leadedge binary: command line, start-up, signals, shutdown.
 *
 *   leadedge [-c FILE]                   serve
 *   leadedge --check-config [-c FILE]    validate and exit (non-zero on errors)
 *   leadedge events [-c FILE] [--json] [--follow]
 *   leadedge lookup IP [--ua UA] | --ua-stdin   (lookup_cmd.c)
 *   leadedge --version | --help
 *
 * Start-up order: config, event log (recovering its tail), listeners (all
 * bound before any worker starts, so a busy port fails fast), admin thread,
 * workers. SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config, and
 * a config that does not validate is refused while the old one stays.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "admin.h"
#include "deliver.h"
#include "cli.h"
#include "http.h"
#include "config.h"
#include "evlog.h"
#include "log.h"
#include "rules.h"
#include "scorer.h"
#include "snapshot.h"
#include "worker.h"

int le_events_main(int argc, char **argv);
int le_lookup_main(int argc, char **argv);
int le_visitor_main(int argc, char **argv);
int le_state_main(int argc, char **argv);
int le_outbox_main(int argc, char **argv);

static void usage(FILE *f) {
    fprintf(f,
            "usage: leadedge [-c FILE] [--repair]      serve (default config: %s); --repair\n"
            "                                          cuts a damaged event log at the damage\n"
            "       leadedge --check-config [-c FILE]  validate the config and exit\n"
            "       leadedge events [-c FILE] [--json] [--follow]\n"
            "                                          print stored events\n"
            "       leadedge lookup IP [--ua UA] [--lang ACCEPT-LANGUAGE] [-c FILE]\n"
            "       leadedge lookup --ua-stdin [-c FILE]\n"
            "                                          what leadedge derives for an IP / UA\n"
            "       leadedge visitor ID|EMAIL [-c FILE] [--json]\n"
            "                                          a visitor's or contact's scores\n"
            "       leadedge state [-c FILE] [--no-snapshot]\n"
            "                                          digest and counts of all scores\n"
            "       leadedge outbox list [-c FILE] [--json] [--state STATE]\n"
            "                                          the MQL hand-offs and their delivery\n"
            "       leadedge --version | --help\n",
            LE_DEFAULT_CONFIG);
}

typedef struct {
    const char *path;
    le_config_t *cfg;
    le_evlog_t *log;
    le_scorer_t *scorer;
    le_enrich_t *enrich; /* the tables the workers were last given */
    uv_timer_t enrich_check;
    char *enrich_error; /* the last reload failure, logged once */
    le_admin_t *admin;
    le_worker_t **workers;
    le_metrics_t **blocks;
    uint32_t nworkers;
    atomic_int active;
    uv_signal_t sig_term, sig_int, sig_hup;
    bool stopping;
} server_t;

/* Load and validate path, scoring rules included (a regex that does not compile is an error
 * of the file like any other); errors are appended to errs. */
static int load_checked(const char *path, le_config_t **cfg, le_buf_t *errs) {
    int rc = le_config_load(path, cfg, errs);
    if (rc != 0) return rc;
    le_rules_t *rules = NULL;
    rc = le_rules_build(*cfg, &rules, errs);
    le_rules_free(rules);
    if (rc != 0) {
        le_config_unref(*cfg);
        *cfg = NULL;
    }
    return rc;
}

/* The same, with the errors on stderr. */
static int load(const char *path, le_config_t **cfg) {
    le_buf_t errs = LE_BUF_INIT;
    int rc = load_checked(path, cfg, &errs);
    if (rc != 0) fputs(le_buf_cstr(&errs), stderr);
    le_buf_free(&errs);
    return rc;
}

static void warn_restart(const le_config_t *a, const le_config_t *b) {
#define DIFF_STR(f, key)                                                                           \
    if ((a->f == NULL) != (b->f == NULL) || (a->f && b->f && strcmp(a->f, b->f)))                  \
        le_log(LE_LOG_WARN, "reload: %s changed; restart to apply", key);
#define DIFF_NUM(f, key)                                                                           \
    if (a->f != b->f) le_log(LE_LOG_WARN, "reload: %s changed; restart to apply", key);
    DIFF_STR(server.listen, "server.listen")
    DIFF_NUM(server.workers, "server.workers")
    DIFF_NUM(server.backlog, "server.backlog")
    DIFF_STR(store.data_dir, "store.data_dir")
    DIFF_NUM(store.segment_size, "store.segment_size")
    DIFF_NUM(store.fsync, "store.fsync")
    DIFF_NUM(store.fsync_interval_ms, "store.fsync_interval")
    DIFF_NUM(store.buffer_limit, "store.buffer_limit")
    DIFF_STR(admin.listen, "admin.listen")
    if (!le_scoring_config_equal(a, b))
        le_log(LE_LOG_WARN, "reload: scoring, mql, suppress, identity or limits changed; restart "
                            "to apply (scores are a replay of the log under one set of rules)");
#undef DIFF_STR
#undef DIFF_NUM
}

/* Build enrichment tables; on failure log every problem (one line each) and return non-zero.
 * quiet_if: a previous failure's text; the same failure again is logged at debug level only. */
static int open_enrich(const le_config_t *cfg, const le_enrich_t *prev, le_enrich_t **out,
                       const char *what, char **last_error) {
    le_buf_t errs = LE_BUF_INIT;
    int rc = le_enrich_open(cfg, prev, out, &errs);
    if (rc != 0) {
        const char *text = le_buf_cstr(&errs);
        bool again = last_error && *last_error && strcmp(*last_error, text) == 0;
        le_log_level_t lvl = again ? LE_LOG_DEBUG : LE_LOG_ERROR;
        if (last_error && !again) {
            free(*last_error);
            *last_error = le_xstrdup(text);
        }
        char *line = le_buf_cstr(&errs), *save = NULL;
        for (char *t = strtok_r(line, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
            le_log(lvl, "%s: %s", what, t);
    } else if (last_error) {
        free(*last_error);
        *last_error = NULL;
    }
    le_buf_free(&errs);
    return rc;
}

static void set_enrich(server_t *s, le_enrich_t *e) {
    for (uint32_t i = 0; i < s->nworkers; i++) le_worker_set_enrich(s->workers[i], e);
    le_enrich_unref(s->enrich);
    s->enrich = e;
}

/* Every enrich.reload_check: pick up replaced database, ranges and rules files. */
static void on_enrich_check(uv_timer_t *t) {
    server_t *s = t->data;
    le_enrich_t *e;
    if (!le_enrich_changed(s->enrich)) return;
    if (open_enrich(s->cfg, s->enrich, &e, "enrich reload", &s->enrich_error) != 0) {
        if (s->enrich_error)
            le_log(LE_LOG_DEBUG, "enrich reload refused; the tables in use keep serving");
        return;
    }
    set_enrich(s, e);
    le_log(LE_LOG_INFO, "enrich: replaced files loaded");
}

/* <data_dir>/admin.port: the admin API's bound port, for the CLI (`outbox retry`) when
 * admin.listen asks for any free port (:0). */
static void write_admin_port(const le_config_t *cfg, uint16_t port) {
    char *path = le_strf("%s/" LE_ADMIN_PORT_FILE, cfg->store.data_dir);
    char *tmp = le_strf("%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (f) {
        fprintf(f, "%u\n", port);
        if (fclose(f) == 0) rename(tmp, path);
    }
    unlink(tmp);
    free(tmp);
    free(path);
}

static void reload(server_t *s) {
    le_config_t *cfg;
    le_log(LE_LOG_INFO, "SIGHUP: reloading %s", s->path);
    le_buf_t errs = LE_BUF_INIT;
    if (load_checked(s->path, &cfg, &errs) != 0) {
        /* One log line per error, then the verdict. */
        char *line = le_buf_cstr(&errs), *save = NULL;
        for (char *t = strtok_r(line, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
            le_log(LE_LOG_ERROR, "reload: %s", t);
        le_log(LE_LOG_ERROR, "reload refused; the running configuration stays in force");
        le_buf_free(&errs);
        return;
    }
    le_buf_free(&errs);
    /* SIGHUP reads every table file again; if one is broken, nothing of this reload applies. */
    le_enrich_t *en;
    if (open_enrich(cfg, NULL, &en, "reload", NULL) != 0) {
        le_log(LE_LOG_ERROR, "reload refused; the running configuration and tables stay in force");
        le_config_unref(cfg);
        return;
    }
    warn_restart(s->cfg, cfg);
    le_log_set_level((le_log_level_t)cfg->log.level);
    for (uint32_t i = 0; i < s->nworkers; i++) le_worker_set_config(s->workers[i], cfg);
    if (s->admin) le_admin_set_config(s->admin, cfg);
    char *msg = NULL;
    if (s->scorer && le_scorer_reconfigure(s->scorer, cfg, &msg) != 0) {
        le_log(LE_LOG_ERROR, "reload: routing.routes not changed: %s", msg);
        free(msg);
    }
    set_enrich(s, en);
    free(s->enrich_error);
    s->enrich_error = NULL;
    if (cfg->enrich.reload_check_ms != s->cfg->enrich.reload_check_ms)
        uv_timer_start(&s->enrich_check, on_enrich_check, cfg->enrich.reload_check_ms,
                       cfg->enrich.reload_check_ms);
    le_config_unref(s->cfg);
    s->cfg = cfg;
    le_log(LE_LOG_INFO, "reload: configuration applied");
}

static void on_signal(uv_signal_t *h, int signum) {
    server_t *s = h->data;
    if (signum == SIGHUP) {
        reload(s);
        return;
    }
    if (s->stopping) return;
    s->stopping = true;
    le_log(LE_LOG_INFO, "%s: draining connections, then flushing the event log",
           signum == SIGTERM ? "SIGTERM" : "SIGINT");
    for (uint32_t i = 0; i < s->nworkers; i++) le_worker_stop(s->workers[i]);
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
    uv_close((uv_handle_t *)&s->sig_hup, NULL);
    uv_close((uv_handle_t *)&s->enrich_check, NULL);
}

/* --repair: read the whole log and cut it at the first damaged frame (later segments are set
 * aside as *.corrupt, not deleted). 0 when it is whole or was repaired. */
static int repair_log(const char *dir) {
    le_logreader_t *r;
    char *msg = NULL;
    int rc = le_logreader_open(dir, (le_logpos_t){0, 0}, &r, &msg);
    if (rc == -ENOENT) return 0;
    if (rc) {
        le_log(LE_LOG_ERROR, "repair: %s", msg);
        free(msg);
        return rc;
    }
    const void *p;
    size_t len;
    while ((rc = le_logreader_next(r, (le_logpos_t){UINT32_MAX, UINT64_MAX}, &p, &len, &msg)) ==
           1) {}
    le_logpos_t at = le_logreader_pos(r);
    le_logreader_close(r);
    if (rc == 0) return 0;
    if (rc != LE_ECORRUPT) {
        le_log(LE_LOG_ERROR, "repair: %s", msg);
        free(msg);
        return rc;
    }
    le_log(LE_LOG_WARN, "repair: %s", msg);
    free(msg);
    uint64_t dropped = 0;
    if ((rc = le_evlog_repair(dir, at, &dropped, &msg)) != 0) {
        le_log(LE_LOG_ERROR, "repair: %s", msg);
        free(msg);
        return rc;
    }
    le_log(LE_LOG_WARN,
           "repair: the log was cut at segment %u offset %llu; %llu bytes set aside as *.corrupt",
           at.seg, (unsigned long long)at.off, (unsigned long long)dropped);
    return 0;
}

static int serve(const char *path, bool repair) {
    server_t s = {0};
    int rc = 1;
    s.path = path;
    if (load(path, &s.cfg) != 0) return 1;
    le_log_set_level((le_log_level_t)s.cfg->log.level);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit fails the log's write (EFBIG: the log turns unhealthy and stops
     * acknowledging) instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    /* http-parser has its own cap on the request head (80 KiB by default); ours are the
     * configured limits, checked byte by byte, so lift its cap above their largest bound. */
    http_parser_set_max_header_size(LE_HTTP_PARSER_MAX_HEAD);
    /* Signal handlers go in before any thread starts or the ready line is printed, so a
     * signal is never fatal; their callbacks run only once the loop does. */
    uv_loop_t *loop = uv_default_loop();
    uv_signal_t *sigs[] = {&s.sig_term, &s.sig_int, &s.sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(loop, sigs[i]);
        sigs[i]->data = &s;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }

    if (open_enrich(s.cfg, NULL, &s.enrich, "enrich", NULL) != 0) {
        le_log(LE_LOG_ERROR, "cannot start without the enrichment tables");
        le_config_unref(s.cfg);
        return 1;
    }
    uv_timer_init(loop, &s.enrich_check);
    s.enrich_check.data = &s;

    char *msg = NULL;
    le_evlog_opts_t lo = {s.cfg->store.data_dir, s.cfg->store.segment_size, s.cfg->store.fsync,
                          s.cfg->store.fsync_interval_ms, s.cfg->store.buffer_limit};
    int e = repair ? repair_log(s.cfg->store.data_dir) : 0;
    if (e == 0) e = le_evlog_open(&s.log, &lo, &msg);
    if (e != 0) {
        le_log(LE_LOG_ERROR, "event log %s: %s%s", s.cfg->store.data_dir,
               msg ? msg : strerror(e < 0 && e > -4096 ? -e : EIO),
               e == LE_ECORRUPT && !repair ? " (start with --repair to cut the log there)" : "");
        free(msg);
        uv_close((uv_handle_t *)&s.enrich_check, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        le_enrich_unref(s.enrich);
        le_config_unref(s.cfg);
        return 1;
    }
    /* Scores: the snapshot plus a replay of the log after it, before any request. */
    le_scorer_start_t sst = {0};
    e = le_scorer_open(&s.scorer, s.cfg, s.log, &sst, &msg);
    if (e == LE_ECORRUPT && repair && sst.corrupt_at.seg == 0) {
        /* a damaged snapshot: set it aside and score the log that is left */
        char from[4096], to[4096];
        snprintf(from, sizeof(from), "%s/" LE_SNAPSHOT_FILE, s.cfg->store.data_dir);
        snprintf(to, sizeof(to), "%s/" LE_SNAPSHOT_FILE ".corrupt", s.cfg->store.data_dir);
        le_log(LE_LOG_WARN, "repair: %s; set aside as %s, the log is replayed from its start%s",
               msg, to, s.cfg->store.retain_log ? "" : " (segments it covered may be gone)");
        free(msg);
        msg = NULL;
        if (rename(from, to) == 0) {
            memset(&sst, 0, sizeof(sst));
            e = le_scorer_open(&s.scorer, s.cfg, s.log, &sst, &msg);
        }
    }
    if (e != 0) {
        le_log(LE_LOG_ERROR, "scoring: %s%s", msg ? msg : strerror(e < 0 && e > -4096 ? -e : EIO),
               e == LE_ECORRUPT && !repair ? " (start with --repair to cut the log there)" : "");
        free(msg);
        goto out;
    }
    le_log(LE_LOG_INFO, "scoring: %s, replayed %llu events in %.2f s",
           sst.snapshot_loaded ? "snapshot loaded" : "no snapshot",
           (unsigned long long)sst.replayed, sst.replay_seconds);

    uint32_t n = s.cfg->server.workers;
    int *fds = le_xcalloc(n, sizeof(int));
    uint16_t port = s.cfg->server.listen_port, bound = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* The first socket may ask for port 0; the others share what it got. */
        fds[i] = le_listen_socket(s.cfg->server.listen_host, i ? bound : port,
                                  (int)s.cfg->server.backlog, &bound);
        if (fds[i] < 0) {
            le_log(LE_LOG_ERROR, "cannot listen on %s: %s", s.cfg->server.listen,
                   strerror(-fds[i]));
            for (uint32_t k = 0; k < i; k++) close(fds[k]);
            free(fds);
            goto out;
        }
    }
    s.workers = le_xcalloc(n, sizeof(*s.workers));
    s.blocks = le_xcalloc(n, sizeof(*s.blocks));
    for (uint32_t i = 0; i < n; i++) {
        if (le_worker_start(&s.workers[i], (int)i, fds[i], s.cfg, s.log, s.enrich, &s.active) !=
            0) {
            for (uint32_t k = i; k < n; k++) close(fds[k]);
            free(fds);
            goto stop_workers;
        }
        s.blocks[i] = le_worker_metrics(s.workers[i]);
        s.nworkers++;
    }
    free(fds);
    uint16_t admin_port = 0;
    if (le_admin_start(&s.admin, s.cfg, s.log, s.blocks, n, s.scorer, &admin_port) != 0)
        goto stop_workers;
    le_log(LE_LOG_INFO,
           "leadedge %s listening on %s:%u with %u workers; admin on port %u; data in %s",
           LE_VERSION, s.cfg->server.listen_host, bound, n, admin_port, s.cfg->store.data_dir);
    write_admin_port(s.cfg, admin_port);
    /* A machine-readable line for scripts and tests (stdout). */
    printf("listening %s %u admin %u\n", s.cfg->server.listen_host, bound, admin_port);
    fflush(stdout);

    uv_timer_start(&s.enrich_check, on_enrich_check, s.cfg->enrich.reload_check_ms,
                   s.cfg->enrich.reload_check_ms);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    rc = 0;

stop_workers:
    for (uint32_t i = 0; i < s.nworkers; i++) {
        if (rc != 0) le_worker_stop(s.workers[i]);
        le_worker_join(s.workers[i]);
    }
    le_admin_stop(s.admin);
out:
    if (s.log) {
        le_evlog_stats_t st;
        int fe = le_evlog_flush(s.log);
        le_evlog_stats(s.log, &st);
        le_scorer_close(s.scorer); /* scores what is durable, saves a snapshot */
        le_evlog_close(s.log);
        if (fe != 0) rc = 1;
        le_log(LE_LOG_INFO, "event log flushed: %llu events written this run%s",
               (unsigned long long)st.written, fe ? " (log FAILED)" : "");
    }
    if (rc != 0) {
        uv_close((uv_handle_t *)&s.enrich_check, NULL);
        uv_close((uv_handle_t *)&s.sig_term, NULL);
        uv_close((uv_handle_t *)&s.sig_int, NULL);
        uv_close((uv_handle_t *)&s.sig_hup, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
    }
    free(s.workers);
    free(s.blocks);
    le_enrich_unref(s.enrich);
    free(s.enrich_error);
    le_config_unref(s.cfg);
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "events") == 0) return le_events_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "lookup") == 0) return le_lookup_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "visitor") == 0) return le_visitor_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "state") == 0) return le_state_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "outbox") == 0) return le_outbox_main(argc - 1, argv + 1);
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'k'},
        {"repair", no_argument, NULL, 'R'},       {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *path = LE_DEFAULT_CONFIG;
    bool check = false, repair = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                path = optarg;
                break;
            case 'k':
                check = true;
                break;
            case 'R':
                repair = true;
                break;
            case 'V':
                printf("leadedge %s\n", LE_VERSION);
                return 0;
            case 'h':
                usage(stdout);
                return 0;
            default:
                usage(stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "leadedge: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (check) {
        le_config_t *cfg;
        le_enrich_t *en;
        if (load(path, &cfg) != 0) return 1;
        /* The files the config names must load too: databases, ranges, uap-core rules. */
        le_buf_t errs = LE_BUF_INIT;
        if (le_enrich_open(cfg, NULL, &en, &errs) != 0) {
            fprintf(stderr, "%s", le_buf_cstr(&errs));
            le_buf_free(&errs);
            le_config_unref(cfg);
            return 1;
        }
        /* and the identity lists the scoring loads, the routes, the webhook endpoints */
        if (le_scorer_check(cfg, &errs) != 0 || le_deliver_check(cfg, &errs) != 0) {
            fprintf(stderr, "%s", le_buf_cstr(&errs));
            le_buf_free(&errs);
            le_enrich_unref(en);
            le_config_unref(cfg);
            return 1;
        }
        le_buf_free(&errs);
        printf("%s: ok\n", path);
        le_enrich_unref(en);
        le_config_unref(cfg);
        return 0;
    }
    return serve(path, repair);
}
