/*
 * main.c: the leadedge binary: command line, start-up, signals, shutdown.
 *
 *   leadedge [-c FILE]                   serve
 *   leadedge --check-config [-c FILE]    validate and exit (non-zero on errors)
 *   leadedge events [-c FILE] [--json] [--follow]
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
#include "http.h"
#include "config.h"
#include "evlog.h"
#include "log.h"
#include "worker.h"

#define DEFAULT_CONFIG "config/leadedge.yaml"

int le_events_main(int argc, char **argv);

static void usage(FILE *f) {
    fprintf(f,
            "usage: leadedge [-c FILE]                 serve (default config: %s)\n"
            "       leadedge --check-config [-c FILE]  validate the config and exit\n"
            "       leadedge events [-c FILE] [--json] [--follow]\n"
            "                                          print stored events\n"
            "       leadedge --version | --help\n",
            DEFAULT_CONFIG);
}

typedef struct {
    const char *path;
    le_config_t *cfg;
    le_evlog_t *log;
    le_admin_t *admin;
    le_worker_t **workers;
    le_metrics_t **blocks;
    uint32_t nworkers;
    atomic_int active;
    uv_signal_t sig_term, sig_int, sig_hup;
    bool stopping;
} server_t;

static int load(const char *path, le_config_t **cfg) {
    le_buf_t errs = LE_BUF_INIT;
    int rc = le_config_load(path, cfg, &errs);
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
#undef DIFF_STR
#undef DIFF_NUM
}

static void reload(server_t *s) {
    le_config_t *cfg;
    le_log(LE_LOG_INFO, "SIGHUP: reloading %s", s->path);
    le_buf_t errs = LE_BUF_INIT;
    if (le_config_load(s->path, &cfg, &errs) != 0) {
        /* One log line per error, then the verdict. */
        char *line = le_buf_cstr(&errs), *save = NULL;
        for (char *t = strtok_r(line, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
            le_log(LE_LOG_ERROR, "reload: %s", t);
        le_log(LE_LOG_ERROR, "reload refused; the running configuration stays in force");
        le_buf_free(&errs);
        return;
    }
    le_buf_free(&errs);
    warn_restart(s->cfg, cfg);
    le_log_set_level((le_log_level_t)cfg->log.level);
    for (uint32_t i = 0; i < s->nworkers; i++) le_worker_set_config(s->workers[i], cfg);
    if (s->admin) le_admin_set_config(s->admin, cfg);
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
}

static int serve(const char *path) {
    server_t s = {0};
    int rc = 1;
    s.path = path;
    if (load(path, &s.cfg) != 0) return 1;
    le_log_set_level((le_log_level_t)s.cfg->log.level);
    signal(SIGPIPE, SIG_IGN);
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

    char *msg = NULL;
    le_evlog_opts_t lo = {s.cfg->store.data_dir, s.cfg->store.segment_size, s.cfg->store.fsync,
                          s.cfg->store.fsync_interval_ms, s.cfg->store.buffer_limit};
    int e = le_evlog_open(&s.log, &lo, &msg);
    if (e != 0) {
        le_log(LE_LOG_ERROR, "event log %s: %s", s.cfg->store.data_dir,
               msg ? msg : strerror(e < 0 && e > -4096 ? -e : EIO));
        free(msg);
        le_config_unref(s.cfg);
        return 1;
    }

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
        if (le_worker_start(&s.workers[i], (int)i, fds[i], s.cfg, s.log, &s.active) != 0) {
            for (uint32_t k = i; k < n; k++) close(fds[k]);
            free(fds);
            goto stop_workers;
        }
        s.blocks[i] = le_worker_metrics(s.workers[i]);
        s.nworkers++;
    }
    free(fds);
    uint16_t admin_port = 0;
    if (le_admin_start(&s.admin, s.cfg, s.log, s.blocks, n, &admin_port) != 0) goto stop_workers;
    le_log(LE_LOG_INFO,
           "leadedge %s listening on %s:%u with %u workers; admin on port %u; data in %s",
           LE_VERSION, s.cfg->server.listen_host, bound, n, admin_port, s.cfg->store.data_dir);
    /* A machine-readable line for scripts and tests (stdout). */
    printf("listening %s %u admin %u\n", s.cfg->server.listen_host, bound, admin_port);
    fflush(stdout);

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
        le_evlog_close(s.log);
        if (fe != 0) rc = 1;
        le_log(LE_LOG_INFO, "event log flushed: %llu events written this run%s",
               (unsigned long long)st.written, fe ? " (log FAILED)" : "");
    }
    free(s.workers);
    free(s.blocks);
    le_config_unref(s.cfg);
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "events") == 0) return le_events_main(argc - 1, argv + 1);
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = DEFAULT_CONFIG;
    bool check = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                path = optarg;
                break;
            case 'k':
                check = true;
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
        if (load(path, &cfg) != 0) return 1;
        printf("%s: ok\n", path);
        le_config_unref(cfg);
        return 0;
    }
    return serve(path);
}
