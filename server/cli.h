/*
 * cli.h: what the `leadedge` subcommands (events, lookup, visitor, state, outbox) share.
 */
#ifndef LE_CLI_H
#define LE_CLI_H

#include "config.h"

/* The config file used when -c is not given. */
#define LE_DEFAULT_CONFIG "config/leadedge.yaml"

/* In store.data_dir: the port the running server's admin API is bound to. */
#define LE_ADMIN_PORT_FILE "admin.port"

/* Load and validate path; on errors print them (file:line:col lines) to stderr and return
 * NULL. The caller drops the reference. */
le_config_t *le_cli_config(const char *path);

#endif
