/*
 * log.h: one line per event on stderr, with time, level and context.
 *
 * Never log a full client IP, an e-mail address, a secret or a signature.
 * enrich/ and score/ never log: they return errors to the caller.
 */
#ifndef LE_LOG_H
#define LE_LOG_H

#include "le.h"

typedef enum { LE_LOG_DEBUG = 0, LE_LOG_INFO, LE_LOG_WARN, LE_LOG_ERROR } le_log_level_t;

void le_log_set_level(le_log_level_t level);
le_log_level_t le_log_get_level(void);
/* Parse "debug" | "info" | "warn" | "error"; returns -1 when unknown. */
int le_log_level_parse(const char *s);
void le_log(le_log_level_t level, const char *fmt, ...) LE_PRINTF(2, 3);

#endif
