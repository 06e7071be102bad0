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
#include <stdint.h>
#include <stdlib.h>

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

/*
 * A subject prepared once for every condition that looks at it (say, the URL of one event
 * under a dozen rules): globs of literal runs and '*' compare against a lower-case copy, made
 * and checked for NUL bytes on the first such glob and kept for the next ones. The copy goes
 * into the caller's space when it fits (len + LE_TEXTMATCH_PAD bytes: the vector search reads
 * up to 16 bytes past the subject's end), else into memory le_textmatch_subject_free
 * releases. s must stay valid while the subject is used. All fields are the module's: fill
 * them with le_textmatch_subject_init only.
 */
#define LE_TEXTMATCH_PAD 16
typedef struct {
    const char *s;
    size_t len;
    char *low;   /* the lower-case copy, NULL until made */
    char *space; /* where it may go, cap bytes */
    size_t cap;
    int8_t nul; /* s holds a NUL byte: 1 yes, 0 no, -1 not looked at */
    bool heap;  /* low was allocated */
} le_textmatch_subject_t;

/* A subject for the len bytes at s (s NULL: an absent value), its copy in space[0..cap) when it
 * fits (space may be NULL). Allocates nothing. */
static inline void le_textmatch_subject_init(le_textmatch_subject_t *t, const char *s, size_t len,
                                             char *space, size_t cap) {
    t->s = s;
    t->len = s ? len : 0;
    t->low = NULL;
    t->space = space;
    t->cap = cap;
    t->nul = -1;
    t->heap = false;
}

/* Does the prepared subject t match? The same answer as le_textmatch(m, t->s, t->len). */
bool le_textmatch_subject(le_textmatch_t *m, le_textmatch_subject_t *t);

/* Release what t allocated; t is then as after init without the copy. Inline: nearly always
 * there is nothing to release. */
static inline void le_textmatch_subject_free(le_textmatch_subject_t *t) {
    if (t->heap) free(t->low);
    t->low = NULL;
    t->heap = false;
    t->nul = -1;
}

/*
 * Several matchers over the same field decided in one pass: those whose values are all runs
 * between two '*' (a URL rule's "*" "/pricing" "*", written as one string), as URL rules mostly
 * are. One pass over the subject's lower-case copy finds the places where some run's first
 * byte is and tries there every run that starts with it, instead of one search per run.
 */
typedef struct le_textmatch_runs_s le_textmatch_runs_t;

/* Is every value of m a run between two '*' (so that m may join a le_textmatch_runs_t)? */
bool le_textmatch_is_runs(const le_textmatch_t *m);

/* A set of m[0..n) (n <= 64, each le_textmatch_is_runs); the matchers must outlive it. */
le_textmatch_runs_t *le_textmatch_runs_new(const le_textmatch_t *const *m, size_t n);

/* Which of the set's matchers match t: bit i for m[i]; the same answers as
 * le_textmatch_subject for each. */
uint64_t le_textmatch_runs_match(const le_textmatch_runs_t *rs, le_textmatch_subject_t *t);

/* NULL is a no-op. */
void le_textmatch_runs_free(le_textmatch_runs_t *rs);

/* The lengths a subject m matches may have: those of its values for exact values (a caller
 * can then pass over a subject of another length without a call), 0..SIZE_MAX for globs and
 * patterns. */
void le_textmatch_lengths(const le_textmatch_t *m, size_t *min, size_t *max);

/* Has m globs (so that a subject it sees is worth room for a lower-case copy)? */
bool le_textmatch_has_globs(const le_textmatch_t *m);

/* Do a and b match exactly the same subjects by construction: the same kind and the same
 * values in the same order? (Conditions shared by several rules are then decided once.) */
bool le_textmatch_same(const le_textmatch_t *a, const le_textmatch_t *b);

/* NULL is a no-op. */
void le_textmatch_free(le_textmatch_t *m);

#endif
