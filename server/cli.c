/*
 * cli.c: helpers shared by the subcommands (cli.h).
 */
#include "cli.h"

#include <stdio.h>

le_config_t *le_cli_config(const char *path) {
    le_config_t *cfg = NULL;
    le_buf_t errs = LE_BUF_INIT;
    if (le_config_load(path, &cfg, &errs) != 0) fputs(le_buf_cstr(&errs), stderr);
    le_buf_free(&errs);
    return cfg;
}
