/*
 * textmatch.h: the text values of one condition (a scoring rule's, a route's) compiled for
 * matching.
 *
 * A value matches when it is one of the condition's strings (ASCII case-insensitive), matches
 * one of its globs (fnmatch(3), case-insensitive, '*' also crosses '/'; a glob made only of
 * literal runs and '*' is matched by searching the runs, without fnmatch) or one of its PCRE2
 * patterns (case-insensitive, UTF, JIT-compiled once). An empty value never matches.
 *
 * A compiled matcher keeps the regex match data, so one is used by one thread at a time.
 */
#ifndef LE_TEXTMATCH_H
#define LE_TEXTMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef struct le_textmatch_s le_textmatch_t;

/*
 * Compile values[0..n) for op (LE_COND_EQ, LE_COND_GLOB or LE_COND_REGEX). NULL when a
 * pattern does not compile: *why (malloc'd) then says which and why, as "bad regex at offset
 * N: message".
 */
le_textmatch_t *le_textmatch_new(le_condop_t op, const char *const *values, size_t n, char **why);

/* Does the len bytes at s match? */
bool le_textmatch(le_textmatch_t *m, const char *s, size_t len);

/* NULL is a no-op. */
void le_textmatch_free(le_textmatch_t *m);

#endif
