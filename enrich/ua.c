/*
 * ua.c: uap-core's regexes.yaml loaded, compiled and applied to a User-Agent.
 *
 * Loading: libyaml's event stream is walked into a list of rules (regex, flag, replacements,
 * with the line:column each rule was written at); every regex is compiled with PCRE2 and
 * JIT-compiled. Regexes run in UTF mode with Unicode properties (PCRE2_UCP) and accept invalid
 * UTF-8 in subjects (PCRE2_MATCH_INVALID_UTF): \d, \w, \s, \b and case-insensitivity then
 * mean what they mean in Python 3, so results equal uap-python's (Debian's python3-ua-parser)
 * even for non-ASCII User-Agents.
 *
 * Prefilter: running ~1,200 regexes one after the other costs far more than the 5 us a parse
 * may take, and almost all of them fail. So at load each regex is read by a small analyser (the
 * subset of PCRE syntax uap-core uses: literals, escapes, classes, groups, alternation,
 * quantifiers, anchors) that derives a necessary condition in the manner of RE2's
 * FilteredRE2: an AND of up to MAX_AND sets of "atoms", lower-cased literal strings of which at
 * least one must occur in any text the regex matches. All atoms go into one Aho-Corasick
 * automaton (dense, over byte classes, ASCII case folded through the class table). A parse
 * runs the automaton once over the User-Agent; each rule's most selective set (its trigger)
 * makes it a candidate, its other sets are checked for candidates only, and then only those
 * rules (plus the few the analyser could not read) are tried, in file order, so "first match
 * wins" is unchanged. The condition is only ever necessary, never sufficient: correctness
 * rests on PCRE2 alone, and a regex the analyser does not understand is simply always tried.
 * The two characters that Unicode case folding maps onto ASCII letters (U+017F, U+212A) are
 * atoms too; a User-Agent holding one makes every caseless rule a candidate.
 *
 * Threads: the rules are immutable after load. Each thread has its own scratch (PCRE2 match
 * data, match context with a JIT stack, prefilter marks) in thread-local storage, created on
 * its first parse and freed by a pthread key destructor when the thread exits.
 */
#include "ua.h"

#include "bot.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "arena.h"

enum { K_UA = 0, K_OS, K_DEV, K_COUNT };
static const char *const kind_key[K_COUNT] = {"user_agent_parsers", "os_parsers", "device_parsers"};
/* Replacement keys per kind, in output order (family, v1..v4 / device, brand, model). */
#define NREP 5
static const char *const rep_key[K_COUNT][NREP] = {
    {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", "v4_replacement"},
    {"os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement",
     "os_v4_replacement"},
    {"device_replacement", "brand_replacement", "model_replacement", NULL, NULL},
};

#define RULES_FILE_MAX (64u << 20) /* a regexes.yaml is ~250 KB; refuse absurd files */
#define MATCH_LIMIT 200000         /* PCRE2 backtracking bound per regex and subject */
#define MIN_ATOM 2                 /* shorter literals are too common to filter on */
#define MAX_ATOM 12                /* atoms are cut to this prefix (still necessary) */
#define MAX_EXACT 16               /* largest exact string set kept while analysing */
#define MAX_EXACT_LEN 64
#define MAX_OR 256 /* larger atom sets are dropped (always true) */
#define MAX_AND 4

typedef struct {
    pcre2_code *re;
    char *rep[NREP]; /* replacement templates; NULL when absent */
    uint16_t rep_len[NREP];
    uint8_t kind;
    bool jit;
    bool filtered; /* has a prefilter condition */
    bool caseless; /* regex_flag: 'i' */
    uint8_t nconj; /* atom sets checked for a candidate (besides its trigger set) */
    uint32_t conj; /* first of them in vset_start */
} rule_t;

struct le_ua_rules_s {
    atomic_uint refs;
    uint64_t generation;
    char *path; /* the file loaded, and its identity then (le_ua_rules_changed) */
    struct stat st;
    rule_t *rules;
    size_t n;
    size_t start[K_COUNT + 1]; /* rules of kind k are [start[k], start[k+1]) */
    uint32_t max_pairs;        /* ovector pairs needed by the largest regex */

    /* Prefilter: Aho-Corasick over byte classes (upper case folded to lower). */
    uint8_t cls[256];
    uint32_t nclasses;
    uint32_t nstates;
    uint32_t shift;      /* log2 of the row length (nclasses rounded up to a power of 2) */
    uint32_t *delta;     /* nstates << shift: target row offset | bit 31 when atoms end there */
    uint32_t *out_start; /* nstates + 1: atoms ending at each state (suffixes included) */
    uint32_t *out;
    uint32_t natoms;
    uint32_t *atom_start; /* natoms + 1: the rules each atom triggers, in atom_rules */
    uint32_t *atom_rules;
    uint32_t atom_mobile;  /* an extra atom, "mobile", for the device class */
    uint32_t atom_fold[2]; /* extra atoms: U+017F and U+212A, see fold_traps */
    uint64_t *caseless;    /* bitmap of rules compiled with PCRE2_CASELESS */
    uint32_t *vset_start;  /* atom sets to verify: atoms vatoms[vset_start[k]..[k + 1]) */
    uint32_t *vatoms;
    uint64_t *always; /* bitmap of rules without a condition */
    size_t nwords;
};

/* ---------------------------------------------------------------------------------------- */
/* Loading: regexes.yaml -> raw rules                                                        */

typedef struct {
    uint8_t kind;
    uint32_t line, col, index; /* where, and the index within its list */
    char *regex;
    char *flag;
    char *rep[NREP];
} raw_t;

typedef struct {
    const char *path;
    le_buf_t *err;
    yaml_parser_t p;
    yaml_event_t ev;
    bool have_ev;
    raw_t *raw;
    size_t n, cap;
} loader_t;

static void raw_free(raw_t *x) {
    free(x->regex);
    free(x->flag);
    for (int i = 0; i < NREP; i++) free(x->rep[i]);
}

static void fail_at(loader_t *L, yaml_mark_t m, const char *what) {
    if (L->err) le_buf_printf(L->err, "%s:%zu:%zu: %s\n", L->path, m.line + 1, m.column + 1, what);
}

/* Next event into L->ev (the previous one is released). */
static int next(loader_t *L) {
    if (L->have_ev) yaml_event_delete(&L->ev);
    L->have_ev = false;
    if (!yaml_parser_parse(&L->p, &L->ev)) {
        if (L->err)
            le_buf_printf(L->err, "%s:%zu:%zu: YAML error: %s\n", L->path,
                          L->p.problem_mark.line + 1, L->p.problem_mark.column + 1,
                          L->p.problem ? L->p.problem : "syntax error");
        return LE_EINVAL;
    }
    L->have_ev = true;
    return 0;
}

/* Skip the node whose first event is current (scalar, or a whole collection). */
static int skip_node(loader_t *L) {
    int depth = 0;
    do {
        switch (L->ev.type) {
            case YAML_SEQUENCE_START_EVENT:
            case YAML_MAPPING_START_EVENT:
                depth++;
                break;
            case YAML_SEQUENCE_END_EVENT:
            case YAML_MAPPING_END_EVENT:
                depth--;
                break;
            case YAML_STREAM_END_EVENT:
                return LE_EINVAL;
            default:
                break;
        }
        if (depth == 0) return 0;
        if (next(L)) return LE_EINVAL;
    } while (1);
}

static bool ev_is(const yaml_event_t *ev, const char *s) {
    return ev->type == YAML_SCALAR_EVENT && strlen(s) == ev->data.scalar.length &&
           memcmp(ev->data.scalar.value, s, ev->data.scalar.length) == 0;
}

/* One rule: a mapping of scalar keys to scalar values. Current event: MAPPING_START. */
static int load_rule(loader_t *L, int kind, uint32_t index) {
    char what[256];
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 1024;
        L->raw = le_xrealloc(L->raw, L->cap * sizeof(*L->raw));
    }
    raw_t *x = &L->raw[L->n++];
    memset(x, 0, sizeof(*x));
    x->kind = (uint8_t)kind;
    x->index = index;
    x->line = (uint32_t)L->ev.start_mark.line + 1;
    x->col = (uint32_t)L->ev.start_mark.column + 1;
    yaml_mark_t start = L->ev.start_mark;
    for (;;) {
        if (next(L)) return LE_EINVAL;
        if (L->ev.type == YAML_MAPPING_END_EVENT) break;
        if (L->ev.type != YAML_SCALAR_EVENT) {
            snprintf(what, sizeof(what), "%s[%u]: expected a key", kind_key[kind], index);
            fail_at(L, L->ev.start_mark, what);
            return LE_EINVAL;
        }
        char **slot = NULL;
        if (ev_is(&L->ev, "regex"))
            slot = &x->regex;
        else if (ev_is(&L->ev, "regex_flag"))
            slot = &x->flag;
        for (int i = 0; i < NREP && !slot; i++)
            if (rep_key[kind][i] && ev_is(&L->ev, rep_key[kind][i])) slot = &x->rep[i];
        if (!slot) {
            snprintf(what, sizeof(what), "%s[%u]: unknown key '%.*s'", kind_key[kind], index,
                     (int)LE_MIN(L->ev.data.scalar.length, 64), L->ev.data.scalar.value);
            fail_at(L, L->ev.start_mark, what);
            return LE_EINVAL;
        }
        if (*slot) {
            snprintf(what, sizeof(what), "%s[%u]: duplicate key '%.*s'", kind_key[kind], index,
                     (int)LE_MIN(L->ev.data.scalar.length, 64), L->ev.data.scalar.value);
            fail_at(L, L->ev.start_mark, what);
            return LE_EINVAL;
        }
        yaml_mark_t km = L->ev.start_mark;
        if (next(L)) return LE_EINVAL;
        if (L->ev.type != YAML_SCALAR_EVENT) {
            snprintf(what, sizeof(what), "%s[%u]: expected a string value", kind_key[kind], index);
            fail_at(L, km, what);
            return LE_EINVAL;
        }
        *slot = le_xstrndup((const char *)L->ev.data.scalar.value, L->ev.data.scalar.length);
    }
    if (!x->regex || !*x->regex) {
        snprintf(what, sizeof(what), "%s[%u]: rule has no regex", kind_key[kind], index);
        fail_at(L, start, what);
        return LE_EINVAL;
    }
    if (x->flag && strcmp(x->flag, "i") != 0) {
        snprintf(what, sizeof(what), "%s[%u]: regex_flag must be 'i'", kind_key[kind], index);
        fail_at(L, start, what);
        return LE_EINVAL;
    }
    return 0;
}

/* The whole document. Returns 0 or LE_EINVAL (message appended). */
static int load_doc(loader_t *L) {
    char what[160];
    bool seen[K_COUNT] = {false};
    size_t count[K_COUNT] = {0};
    if (next(L) || L->ev.type != YAML_STREAM_START_EVENT) return LE_EINVAL;
    if (next(L)) return LE_EINVAL;
    if (L->ev.type != YAML_DOCUMENT_START_EVENT) {
        if (L->err) le_buf_printf(L->err, "%s: file is empty\n", L->path);
        return LE_EINVAL;
    }
    if (next(L)) return LE_EINVAL;
    if (L->ev.type != YAML_MAPPING_START_EVENT) {
        fail_at(L, L->ev.start_mark,
                "expected a mapping with user_agent_parsers, os_parsers and device_parsers");
        return LE_EINVAL;
    }
    for (;;) {
        if (next(L)) return LE_EINVAL;
        if (L->ev.type == YAML_MAPPING_END_EVENT) break;
        if (L->ev.type != YAML_SCALAR_EVENT) {
            fail_at(L, L->ev.start_mark, "expected a key");
            return LE_EINVAL;
        }
        int kind = -1;
        for (int k = 0; k < K_COUNT; k++)
            if (ev_is(&L->ev, kind_key[k])) kind = k;
        if (next(L)) return LE_EINVAL;
        if (kind < 0) { /* a section this version does not know: ignored */
            if (skip_node(L)) return LE_EINVAL;
            continue;
        }
        if (seen[kind]) {
            snprintf(what, sizeof(what), "%s appears twice", kind_key[kind]);
            fail_at(L, L->ev.start_mark, what);
            return LE_EINVAL;
        }
        seen[kind] = true;
        if (L->ev.type != YAML_SEQUENCE_START_EVENT) {
            snprintf(what, sizeof(what), "%s: expected a list of rules", kind_key[kind]);
            fail_at(L, L->ev.start_mark, what);
            return LE_EINVAL;
        }
        for (uint32_t i = 0;; i++) {
            if (next(L)) return LE_EINVAL;
            if (L->ev.type == YAML_SEQUENCE_END_EVENT) break;
            if (L->ev.type != YAML_MAPPING_START_EVENT) {
                snprintf(what, sizeof(what), "%s[%u]: expected a rule (regex: ...)", kind_key[kind],
                         i);
                fail_at(L, L->ev.start_mark, what);
                return LE_EINVAL;
            }
            if (load_rule(L, kind, i)) return LE_EINVAL;
            count[kind]++;
        }
    }
    for (int k = 0; k < K_COUNT; k++) {
        if (!seen[k] || count[k] == 0) {
            if (L->err) le_buf_printf(L->err, "%s: %s is missing or empty\n", L->path, kind_key[k]);
            return LE_EINVAL;
        }
    }
    return 0;
}

static int read_file(const char *path, char **data, size_t *len, struct stat *out_st,
                     le_buf_t *err) {
    char eb[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        if (err) le_buf_printf(err, "%s: cannot open: %s\n", path, strerror_r(-rc, eb, 128));
        return rc;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        if (err) le_buf_printf(err, "%s: cannot stat: %s\n", path, strerror_r(-rc, eb, 128));
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        if (err) le_buf_printf(err, "%s: not a regular file\n", path);
    } else if ((uint64_t)st.st_size > RULES_FILE_MAX) {
        rc = LE_EINVAL;
        if (err) le_buf_printf(err, "%s: file too large for a regexes.yaml\n", path);
    }
    if (rc) {
        close(fd);
        return rc;
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *p = le_xmalloc(n + 1);
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : -EIO;
            if (err) le_buf_printf(err, "%s: cannot read: %s\n", path, strerror_r(-rc, eb, 128));
            free(p);
            close(fd);
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    p[n] = '\0';
    *out_st = st;
    *data = p;
    *len = n;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Prefilter analysis: a regex -> AND of atom sets                                           */

typedef struct {
    const char *s;
    uint32_t n;
} atom_t;

typedef struct {
    atom_t *a;
    uint32_t n;
} aset_t;

typedef struct {
    bool exact;    /* the node matches exactly the strings of ex (case-folded) */
    aset_t ex;     /* when exact */
    uint32_t nand; /* when !exact: AND of all[0..nand), each an OR of atoms; 0 = always */
    aset_t *all;
} info_t;

typedef struct {
    le_arena_t *a;
    const char *p, *end;
    bool bad; /* syntax the analyser does not know: no condition for this regex */
    int depth;
} ana_t;

static unsigned char fold(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static info_t info_any(void) {
    return (info_t){false, {NULL, 0}, 0, NULL};
}

static info_t info_str(ana_t *A, const char *s, uint32_t n) {
    info_t i = {true, {le_arena_alloc(A->a, sizeof(atom_t)), 1}, 0, NULL};
    i.ex.a[0] = (atom_t){s, n};
    return i;
}

static info_t info_empty(ana_t *A) {
    return info_str(A, "", 0);
}

static bool atom_eq(atom_t x, atom_t y) {
    return x.n == y.n && memcmp(x.s, y.s, x.n) == 0;
}

/* Append x to set s (its array has room) unless present. */
static void aset_add(aset_t *s, atom_t x) {
    for (uint32_t i = 0; i < s->n; i++)
        if (atom_eq(s->a[i], x)) return;
    s->a[s->n++] = x;
}

/*
 * Everyday User-Agents (lower case). An atom found in one of them says little: choosing
 * between alternatives, a set with such an atom ("android", "mozilla") ranks below one
 * without ("bot/", "yrspider"), whatever their lengths.
 */
static const char common_uas[] =
    "mozilla/5.0 (windows nt 10.0; win64; x64) applewebkit/537.36 (khtml, like gecko) "
    "chrome/124.0.0.0 safari/537.36 edg/124.0.0.0\n"
    "mozilla/5.0 (macintosh; intel mac os x 10_15_7) applewebkit/605.1.15 (khtml, like gecko) "
    "version/17.4 safari/605.1.15\n"
    "mozilla/5.0 (iphone; cpu iphone os 17_4 like mac os x) applewebkit/605.1.15 (khtml, like "
    "gecko) version/17.4 mobile/15e148 safari/604.1\n"
    "mozilla/5.0 (linux; android 10; k) applewebkit/537.36 (khtml, like gecko) "
    "chrome/124.0.0.0 mobile safari/537.36\n"
    "mozilla/5.0 (linux; u; android 4.4.2; en-us; sm-g900f build/kot49h) applewebkit/534.30 "
    "(khtml, like gecko) version/4.0 mobile safari/534.30\n"
    "mozilla/5.0 (x11; linux x86_64; rv:125.0) gecko/20100101 firefox/125.0\n"
    "mozilla/5.0 (windows nt 6.1; wow64; trident/7.0; rv:11.0) like gecko\n"
    "mozilla/5.0 (compatible; msie 9.0; windows nt 6.1; trident/5.0)\n";

static bool common_atom(atom_t a) {
    return memmem(common_uas, sizeof(common_uas) - 1, a.s, a.n) != NULL;
}

/* Higher is more selective: no everyday atom first, then a longer shortest atom, then fewer. */
static int aset_score(const aset_t *s) {
    uint32_t mn = UINT32_MAX;
    bool common = false;
    for (uint32_t i = 0; i < s->n; i++) {
        mn = LE_MIN(mn, s->a[i].n);
        common = common || common_atom(s->a[i]);
    }
    return (common ? 0 : 10000) + (int)LE_MIN(mn, 8u) * 1000 - (int)LE_MIN(s->n, 999u);
}

/* The necessary condition of i as an AND list (exact sets become one OR set). */
static info_t to_match(ana_t *A, info_t i) {
    if (!i.exact) return i;
    info_t m = info_any();
    for (uint32_t k = 0; k < i.ex.n; k++)
        if (i.ex.a[k].n < MIN_ATOM) return m;
    m.nand = 1;
    m.all = le_arena_alloc(A->a, sizeof(aset_t));
    m.all[0] = i.ex;
    return m;
}

/* Keep the MAX_AND best sets. */
static void prune_and(info_t *m) {
    while (m->nand > MAX_AND) {
        uint32_t worst = 0;
        for (uint32_t k = 1; k < m->nand; k++)
            if (aset_score(&m->all[k]) < aset_score(&m->all[worst])) worst = k;
        m->all[worst] = m->all[--m->nand];
    }
}

/* x then y when both are exact and the product stays small; otherwise a non-exact info. */
static info_t cross(ana_t *A, info_t x, info_t y) {
    if (x.ex.n * y.ex.n > MAX_EXACT) return info_any();
    for (uint32_t i = 0; i < x.ex.n; i++)
        for (uint32_t j = 0; j < y.ex.n; j++)
            if (x.ex.a[i].n + y.ex.a[j].n > MAX_EXACT_LEN) return info_any();
    info_t r = {true, {le_arena_alloc(A->a, x.ex.n * y.ex.n * sizeof(atom_t)), 0}, 0, NULL};
    for (uint32_t i = 0; i < x.ex.n; i++)
        for (uint32_t j = 0; j < y.ex.n; j++) {
            uint32_t n = x.ex.a[i].n + y.ex.a[j].n;
            char *str = le_arena_alloc(A->a, n + 1);
            memcpy(str, x.ex.a[i].s, x.ex.a[i].n);
            memcpy(str + x.ex.a[i].n, y.ex.a[j].s, y.ex.a[j].n);
            aset_add(&r.ex, (atom_t){str, n});
        }
    return r;
}

/* Both conditions must hold: the AND of their sets (exact infos count as one OR set). */
static info_t and_info(ana_t *A, info_t x, info_t y) {
    info_t mx = to_match(A, x), my = to_match(A, y);
    info_t r = info_any();
    r.nand = mx.nand + my.nand;
    if (!r.nand) return r;
    r.all = le_arena_alloc(A->a, r.nand * sizeof(aset_t));
    if (mx.nand) memcpy(r.all, mx.all, mx.nand * sizeof(aset_t));
    if (my.nand) memcpy(r.all + mx.nand, my.all, my.nand * sizeof(aset_t));
    prune_and(&r);
    return r;
}

static const aset_t *best_set(const info_t *m) {
    const aset_t *b = &m->all[0];
    for (uint32_t k = 1; k < m->nand; k++)
        if (aset_score(&m->all[k]) > aset_score(b)) b = &m->all[k];
    return b;
}

static info_t alt(ana_t *A, info_t x, info_t y) {
    if (x.exact && y.exact && x.ex.n + y.ex.n <= MAX_EXACT) {
        info_t r = {true, {le_arena_alloc(A->a, (x.ex.n + y.ex.n) * sizeof(atom_t)), 0}, 0, NULL};
        for (uint32_t i = 0; i < x.ex.n; i++) aset_add(&r.ex, x.ex.a[i]);
        for (uint32_t i = 0; i < y.ex.n; i++) aset_add(&r.ex, y.ex.a[i]);
        return r;
    }
    info_t mx = to_match(A, x), my = to_match(A, y);
    if (!mx.nand || !my.nand) return info_any();
    const aset_t *bx = best_set(&mx), *by = best_set(&my);
    if (bx->n + by->n > MAX_OR) return info_any();
    info_t r = info_any();
    r.nand = 1;
    r.all = le_arena_alloc(A->a, sizeof(aset_t));
    r.all[0].a = le_arena_alloc(A->a, (bx->n + by->n) * sizeof(atom_t));
    r.all[0].n = 0;
    for (uint32_t i = 0; i < bx->n; i++) aset_add(&r.all[0], bx->a[i]);
    for (uint32_t i = 0; i < by->n; i++) aset_add(&r.all[0], by->a[i]);
    return r;
}

static info_t quest(ana_t *A, info_t x) {
    if (x.exact && x.ex.n + 1 <= MAX_EXACT) return alt(A, x, info_empty(A));
    return info_any();
}

static info_t parse_alt(ana_t *A);

/* A character class; A->p is past '['. Exact when it has at most 4 (folded) members. */
static info_t parse_class(ana_t *A) {
    uint8_t set[256] = {0};
    bool neg = false, big = false;
    if (A->p < A->end && *A->p == '^') neg = true, A->p++;
    bool first = true;
    for (;;) {
        if (A->p >= A->end) {
            A->bad = true;
            return info_any();
        }
        unsigned char c = (unsigned char)*A->p;
        if (c == ']' && !first) {
            A->p++;
            break;
        }
        first = false;
        int lo;
        if (c == '[' && A->p + 1 < A->end && A->p[1] == ':') { /* [:alpha:] */
            const char *q = memchr(A->p + 2, ']', (size_t)(A->end - A->p - 2));
            if (!q) {
                A->bad = true;
                return info_any();
            }
            A->p = q + 1;
            big = true;
            continue;
        }
        A->p++;
        if (c == '\\') {
            if (A->p >= A->end) {
                A->bad = true;
                return info_any();
            }
            unsigned char e = (unsigned char)*A->p++;
            switch (e) {
                case 'd':
                case 'D':
                case 'w':
                case 'W':
                case 's':
                case 'S':
                case 'h':
                case 'H':
                case 'v':
                case 'V':
                    big = true;
                    continue;
                case 'n':
                    lo = '\n';
                    break;
                case 't':
                    lo = '\t';
                    break;
                case 'r':
                    lo = '\r';
                    break;
                case 'f':
                    lo = '\f';
                    break;
                case 'b':
                    lo = '\b';
                    break;
                default:
                    if ((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
                        (e >= 'A' && e <= 'Z')) {
                        A->bad = true;
                        return info_any();
                    }
                    lo = e;
            }
        } else {
            lo = c;
        }
        int hi = lo;
        if (A->p + 1 < A->end && *A->p == '-' && A->p[1] != ']') {
            unsigned char h = (unsigned char)A->p[1];
            if (h == '\\' || h == '[') {
                A->bad = true;
                return info_any();
            }
            hi = h;
            A->p += 2;
            if (hi < lo) {
                A->bad = true;
                return info_any();
            }
        }
        for (int k = lo; k <= hi; k++) set[fold((unsigned char)k)] = 1;
    }
    if (neg || big) return info_any();
    info_t r = {true, {le_arena_alloc(A->a, 4 * sizeof(atom_t)), 0}, 0, NULL};
    for (int k = 0; k < 256; k++) {
        if (!set[k]) continue;
        if (r.ex.n == 4 || k >= 0x80) return info_any();
        char *s = le_arena_alloc(A->a, 1);
        s[0] = (char)k;
        r.ex.a[r.ex.n++] = (atom_t){s, 1};
    }
    if (!r.ex.n) return info_any();
    return r;
}

/* One atom: literal, escape, class, group, dot, anchor. */
static info_t parse_atom(ana_t *A) {
    unsigned char c = (unsigned char)*A->p++;
    switch (c) {
        case '.':
            return info_any();
        case '^':
        case '$':
            return info_empty(A);
        case '[':
            return parse_class(A);
        case '(': {
            if (++A->depth > 64) {
                A->bad = true;
                return info_any();
            }
            bool look = false;
            if (A->p < A->end && *A->p == '?') {
                if (A->end - A->p >= 2 && A->p[1] == ':')
                    A->p += 2;
                else if (A->end - A->p >= 2 && (A->p[1] == '=' || A->p[1] == '!'))
                    A->p += 2, look = true;
                else if (A->end - A->p >= 3 && A->p[1] == '<' && (A->p[2] == '=' || A->p[2] == '!'))
                    A->p += 3, look = true;
                else {
                    A->bad = true; /* named groups, inline flags, ...: not in uap-core */
                    return info_any();
                }
            }
            info_t in = parse_alt(A);
            if (A->p >= A->end || *A->p != ')') {
                A->bad = true;
                return info_any();
            }
            A->p++;
            A->depth--;
            return look ? info_empty(A) : in;
        }
        case '\\': {
            if (A->p >= A->end) {
                A->bad = true;
                return info_any();
            }
            unsigned char e = (unsigned char)*A->p++;
            char *s = le_arena_alloc(A->a, 1);
            switch (e) {
                case 'd':
                case 'D':
                case 'w':
                case 'W':
                case 's':
                case 'S':
                case 'h':
                case 'H':
                case 'v':
                case 'V':
                case 'N':
                    return info_any();
                case 'b':
                case 'B':
                case 'A':
                case 'Z':
                case 'z':
                case 'G':
                    return info_empty(A);
                case 'n':
                    s[0] = '\n';
                    break;
                case 't':
                    s[0] = '\t';
                    break;
                case 'r':
                    s[0] = '\r';
                    break;
                case 'f':
                    s[0] = '\f';
                    break;
                default:
                    if ((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
                        (e >= 'A' && e <= 'Z')) {
                        A->bad = true; /* backreferences, \x.., \p{..}: not analysed */
                        return info_any();
                    }
                    s[0] = (char)e;
            }
            return info_str(A, s, 1);
        }
        default: {
            if (c >= 0x80) {
                A->bad = true;
                return info_any();
            }
            char *s = le_arena_alloc(A->a, 1);
            s[0] = (char)fold(c);
            return info_str(A, s, 1);
        }
    }
}

/* Digits at *q (capped), advancing *q; false when there are none. */
static bool number(const char **q, const char *end, unsigned *v) {
    const char *s = *q;
    *v = 0;
    for (; *q < end && **q >= '0' && **q <= '9'; (*q)++) {
        *v = *v * 10 + (unsigned)(**q - '0');
        if (*v > 100000) *v = 100000;
    }
    return *q > s;
}

/* Parse "{n}", "{n,}", "{n,m}" at A->p (pointing at '{'); false if it is a literal brace. */
static bool parse_braces(ana_t *A, unsigned *mn, unsigned *mx) {
    const char *q = A->p + 1;
    unsigned a, b;
    if (!number(&q, A->end, &a) || q >= A->end) return false;
    if (*q == '}') {
        b = a;
    } else if (*q == ',') {
        q++;
        if (!number(&q, A->end, &b)) b = UINT32_MAX;
        if (q >= A->end || *q != '}') return false;
    } else {
        return false;
    }
    A->p = q + 1;
    *mn = a;
    *mx = b;
    return true;
}

/*
 * An atom and its quantifiers. *brk is set when the result is exact but what follows may not
 * come right after it (x+, x{2,5}): the caller ends its run of adjacent literals there.
 */
static info_t parse_repeat(ana_t *A, bool *brk) {
    info_t x;
    *brk = false;
    if (*A->p == '{') { /* a brace that is not a quantifier is a literal */
        unsigned mn, mx;
        const char *save = A->p;
        if (parse_braces(A, &mn, &mx)) {
            A->bad = true; /* a quantifier with nothing to repeat */
            return info_any();
        }
        A->p = save + 1;
        x = info_str(A, "{", 1);
    } else {
        x = parse_atom(A);
    }
    for (;;) {
        if (A->p >= A->end || A->bad) return x;
        unsigned mn, mx;
        char q = *A->p;
        if (q == '*')
            mn = 0, mx = UINT32_MAX, A->p++;
        else if (q == '+')
            mn = 1, mx = UINT32_MAX, A->p++;
        else if (q == '?')
            mn = 0, mx = 1, A->p++;
        else if (q != '{' || !parse_braces(A, &mn, &mx))
            return x;
        if (A->p < A->end && (*A->p == '?' || *A->p == '+')) A->p++; /* lazy, possessive */
        if (*brk) { /* a quantified quantifier: keep it simple */
            x = to_match(A, x);
            *brk = false;
        }
        if (mn == 0 && mx == 1)
            x = quest(A, x);
        else if (mn == 0)
            x = info_any();
        else if (mn == 1 && mx == 1)
            continue;
        else if (x.exact)
            *brk = true;
    }
}

/*
 * A sequence: adjacent exact parts are multiplied out into a run of literal strings (so
 * "AIRIS" is one atom, not five letters); a non-exact part, or a run grown too large, closes
 * the run into an OR set of the AND list.
 */
static info_t parse_concat(ana_t *A) {
    info_t run = info_empty(A), acc = info_any();
    bool exact = true;
    while (A->p < A->end && *A->p != '|' && *A->p != ')' && !A->bad) {
        bool brk;
        info_t c = parse_repeat(A, &brk);
        if (c.exact) {
            info_t j = cross(A, run, c);
            if (j.exact) {
                run = j;
            } else {
                acc = and_info(A, acc, run);
                run = c;
                exact = false;
            }
            if (brk) {
                acc = and_info(A, acc, run);
                run = info_empty(A);
                exact = false;
            }
        } else {
            acc = and_info(A, and_info(A, acc, run), c);
            run = info_empty(A);
            exact = false;
        }
    }
    return exact ? run : and_info(A, acc, run);
}

static info_t parse_alt(ana_t *A) {
    info_t x = parse_concat(A);
    while (A->p < A->end && *A->p == '|' && !A->bad) {
        A->p++;
        x = alt(A, x, parse_concat(A));
    }
    return x;
}

/* The condition of one regex: AND of OR-sets; nand 0 when none could be derived. */
static info_t analyse(le_arena_t *a, const char *re) {
    ana_t A = {a, re, re + strlen(re), false, 0};
    info_t x = parse_alt(&A);
    if (A.bad || A.p != A.end) return info_any();
    x = to_match(&A, x);
    prune_and(&x);
    return x;
}

/* ---------------------------------------------------------------------------------------- */
/* Prefilter construction: atoms -> Aho-Corasick automaton                                   */

typedef struct {
    uint32_t atom, set; /* set: the rule an atom triggers */
} pair_t;

static int pair_cmp(const void *x, const void *y) {
    const pair_t *a = x, *b = y;
    if (a->atom != b->atom) return a->atom < b->atom ? -1 : 1;
    return a->set < b->set ? -1 : a->set > b->set;
}

/* The trie under construction: dense rows of C classes; term[s] = atom id + 1 (0: none). */
typedef struct {
    uint32_t *delta, *term;
    size_t cap;
    uint32_t C, nstates, natoms;
} trie_t;

/* Insert an atom (bytes mapped through cls); its id, the same for the same string. */
static uint32_t trie_add(trie_t *t, const uint8_t *cls, atom_t a) {
    const uint32_t C = t->C;
    uint32_t st = 0;
    for (uint32_t b = 0; b < a.n; b++) {
        uint32_t c = cls[(unsigned char)a.s[b]];
        if (!t->delta[(size_t)st * C + c]) {
            if (t->nstates == t->cap) {
                t->delta = le_xrealloc(t->delta, t->cap * 2 * C * sizeof(uint32_t));
                memset(t->delta + t->cap * C, 0, t->cap * C * sizeof(uint32_t));
                t->term = le_xrealloc(t->term, t->cap * 2 * sizeof(uint32_t));
                memset(t->term + t->cap, 0, t->cap * sizeof(uint32_t));
                t->cap *= 2;
            }
            t->delta[(size_t)st * C + c] = t->nstates++;
        }
        st = t->delta[(size_t)st * C + c];
    }
    if (!t->term[st]) t->term[st] = ++t->natoms;
    return t->term[st] - 1;
}

/*
 * The prefilter folds ASCII case only, but PCRE2 (like Python) folds Unicode case: in a
 * caseless regex "s" also matches U+017F (long s) and "k" U+212A (Kelvin sign), the only
 * non-ASCII characters that fold to ASCII letters. A subject containing either makes every
 * caseless rule a candidate, whatever its atoms.
 */
static const char *const fold_traps[2] = {"\xc5\xbf", "\xe2\x84\xaa"};

static void build_prefilter(le_ua_rules_t *r, raw_t *raw) {
    le_arena_t a;
    le_arena_init(&a, NULL, 0);
    info_t *conds = le_arena_alloc(&a, r->n * sizeof(info_t));
    bool used[256] = {false};
    size_t total_sets = 0, total_atoms = 0;
    for (size_t i = 0; i < r->n; i++) {
        conds[i] = analyse(&a, raw[i].regex);
        total_sets += conds[i].nand;
        for (uint32_t k = 0; k < conds[i].nand; k++) {
            aset_t *s = &conds[i].all[k];
            total_atoms += s->n;
            for (uint32_t j = 0; j < s->n; j++) {
                if (s->a[j].n > MAX_ATOM) s->a[j].n = MAX_ATOM;
                for (uint32_t b = 0; b < s->a[j].n; b++) used[(unsigned char)s->a[j].s[b]] = 1;
            }
        }
    }
    static const char mobile[] = "mobile";
    for (size_t b = 0; b < sizeof(mobile) - 1; b++) used[(unsigned char)mobile[b]] = 1;
    for (int k = 0; k < 2; k++)
        for (const char *b = fold_traps[k]; *b; b++) used[(unsigned char)*b] = 1;
    /* Byte classes: 0 for bytes in no atom; upper case shares the class of lower case. */
    r->nclasses = 1;
    memset(r->cls, 0, sizeof(r->cls));
    for (int b = 0; b < 256; b++)
        if (used[b]) r->cls[b] = (uint8_t)r->nclasses++;
    for (int b = 'A'; b <= 'Z'; b++) r->cls[b] = r->cls[b + 32];
    const uint32_t C = r->nclasses;

    /*
     * Trie with dense rows; a terminal state's atom id in term[] (0 = none, else id + 1).
     * Each rule's most selective set is its trigger: its atoms make the rule a candidate. The
     * other sets are checked only for candidates (any of their atoms seen), so a common atom
     * such as " build", in the AND lists of hundreds of rules, costs nothing when it is seen.
     */
    trie_t T = {
        le_xcalloc(1024 * C, sizeof(uint32_t)), le_xcalloc(1024, sizeof(uint32_t)), 1024, C, 1, 0};
    pair_t *pairs = le_xmalloc((total_atoms + 1) * sizeof(pair_t));
    size_t npairs = 0;
    r->vset_start = le_xmalloc((total_sets + 1) * sizeof(uint32_t));
    r->vatoms = le_xmalloc((total_atoms + 1) * sizeof(uint32_t));
    uint32_t nvsets = 0, nvatoms = 0;
    r->vset_start[0] = 0;
    for (size_t i = 0; i < r->n; i++) {
        info_t *m = &conds[i];
        uint32_t trig = 0;
        for (uint32_t k = 1; k < m->nand; k++)
            if (aset_score(&m->all[k]) > aset_score(&m->all[trig])) trig = k;
        r->rules[i].filtered = m->nand > 0;
        r->rules[i].conj = nvsets;
        r->rules[i].nconj = (uint8_t)(m->nand ? m->nand - 1 : 0);
        for (uint32_t k = 0; k < m->nand; k++) {
            aset_t *set = &m->all[k];
            for (uint32_t j = 0; j < set->n; j++) {
                uint32_t atom = trie_add(&T, r->cls, set->a[j]);
                if (k == trig)
                    pairs[npairs++] = (pair_t){atom, (uint32_t)i};
                else
                    r->vatoms[nvatoms++] = atom;
            }
            if (k != trig) r->vset_start[++nvsets] = nvatoms;
        }
    }
    r->atom_mobile = trie_add(&T, r->cls, (atom_t){mobile, sizeof(mobile) - 1});
    for (int k = 0; k < 2; k++)
        r->atom_fold[k] =
            trie_add(&T, r->cls, (atom_t){fold_traps[k], (uint32_t)strlen(fold_traps[k])});
    uint32_t *delta = T.delta, *term = T.term, nstates = T.nstates, natoms = T.natoms;
    /* atom -> rules it triggers (CSR), duplicates dropped. */
    qsort(pairs, npairs, sizeof(pair_t), pair_cmp);
    r->natoms = natoms;
    r->atom_start = le_xcalloc(natoms + 1, sizeof(uint32_t));
    r->atom_rules = le_xmalloc((npairs + 1) * sizeof(uint32_t));
    size_t ns = 0;
    for (size_t k = 0; k < npairs; k++) {
        if (k && pairs[k].atom == pairs[k - 1].atom && pairs[k].set == pairs[k - 1].set) continue;
        r->atom_rules[ns++] = pairs[k].set;
        r->atom_start[pairs[k].atom + 1] = (uint32_t)ns;
    }
    for (uint32_t k = 1; k <= natoms; k++)
        if (r->atom_start[k] < r->atom_start[k - 1]) r->atom_start[k] = r->atom_start[k - 1];
    free(pairs);

    /* Failure links in BFS order turn the trie into a DFA; outputs follow suffix links. */
    uint32_t *fail = le_xcalloc(nstates, sizeof(uint32_t));
    uint32_t *queue = le_xmalloc(nstates * sizeof(uint32_t));
    uint32_t *outn = le_xcalloc(nstates, sizeof(uint32_t));
    size_t qh = 0, qt = 0;
    queue[qt++] = 0;
    while (qh < qt) {
        uint32_t s = queue[qh++];
        for (uint32_t c = 1; c < C; c++) {
            uint32_t *t = &delta[(size_t)s * C + c];
            if (*t) {
                fail[*t] = s ? delta[(size_t)fail[s] * C + c] : 0;
                queue[qt++] = *t;
            } else {
                *t = s ? delta[(size_t)fail[s] * C + c] : 0;
            }
        }
    }
    /*
     * Renumber the states in BFS order, so that the shallow states every byte passes through
     * sit together at the front of the table, and store each transition as the target's row
     * offset (id << shift) with bit 31 set when atoms end there: the scan then costs a load
     * and an add per byte, and a second table is read only where an atom ends.
     */
    uint32_t shift = 0;
    while ((1u << shift) < C) shift++;
    if ((uint64_t)nstates << shift >= (1u << 31)) abort(); /* far beyond any regexes.yaml */
    uint32_t *renum = le_xmalloc(nstates * sizeof(uint32_t));
    for (uint32_t k = 0; k < nstates; k++) renum[queue[k]] = k;
    r->out_start = le_xcalloc(nstates + 1, sizeof(uint32_t));
    for (uint32_t k = 1; k < nstates; k++) {
        uint32_t s = queue[k];
        outn[s] = (term[s] ? 1 : 0) + outn[fail[s]];
    }
    for (uint32_t k = 0; k < nstates; k++) r->out_start[k + 1] = r->out_start[k] + outn[queue[k]];
    r->out = le_xmalloc((r->out_start[nstates] + 1) * sizeof(uint32_t));
    for (uint32_t k = 1; k < nstates; k++) { /* fail[s] precedes s in BFS order */
        uint32_t s = queue[k], o = r->out_start[k];
        if (term[s]) r->out[o++] = term[s] - 1;
        uint32_t f = renum[fail[s]];
        memcpy(&r->out[o], &r->out[r->out_start[f]], outn[fail[s]] * sizeof(uint32_t));
    }
    r->shift = shift;
    r->delta = le_xcalloc((size_t)nstates << shift, sizeof(uint32_t));
    for (uint32_t s = 0; s < nstates; s++)
        for (uint32_t c = 0; c < C; c++) {
            uint32_t t = delta[(size_t)s * C + c];
            r->delta[((size_t)renum[s] << shift) + c] =
                (renum[t] << shift) | (outn[t] ? 1u << 31 : 0);
        }
    free(delta);
    free(renum);
    free(fail);
    free(queue);
    free(outn);
    free(term);
    r->nstates = nstates;
    r->nwords = (r->n + 63) / 64;
    r->always = le_xcalloc(r->nwords, sizeof(uint64_t));
    r->caseless = le_xcalloc(r->nwords, sizeof(uint64_t));
    for (size_t i = 0; i < r->n; i++) {
        r->rules[i].caseless = raw[i].flag != NULL;
        if (!r->rules[i].filtered) r->always[i / 64] |= 1ull << (i % 64);
        if (r->rules[i].caseless) r->caseless[i / 64] |= 1ull << (i % 64);
    }
    le_arena_free(&a);
}

/* ---------------------------------------------------------------------------------------- */
/* Load, reference counting                                                                  */

static atomic_uint_fast64_t next_generation = 1;

static void rules_free(le_ua_rules_t *r) {
    for (size_t i = 0; i < r->n; i++) {
        pcre2_code_free(r->rules[i].re);
        for (int k = 0; k < NREP; k++) free(r->rules[i].rep[k]);
    }
    free(r->rules);
    free(r->path);
    free(r->delta);
    free(r->out_start);
    free(r->out);
    free(r->atom_start);
    free(r->atom_rules);
    free(r->vset_start);
    free(r->vatoms);
    free(r->always);
    free(r->caseless);
    free(r);
}

static int compile_rules(le_ua_rules_t *r, raw_t *raw, size_t n, const char *path, le_buf_t *err) {
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) abort();
    r->rules = le_xcalloc(n, sizeof(rule_t));
    r->max_pairs = 1;
    for (size_t i = 0; i < n; i++) {
        raw_t *x = &raw[i];
        rule_t *u = &r->rules[i];
        int ec;
        PCRE2_SIZE eo;
        uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
        if (x->flag) opts |= PCRE2_CASELESS;
        u->re = pcre2_compile((PCRE2_SPTR)x->regex, PCRE2_ZERO_TERMINATED, opts, &ec, &eo, cc);
        if (!u->re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof(msg));
            if (err)
                le_buf_printf(err, "%s:%u:%u: %s[%u]: regex does not compile at offset %zu: %s\n",
                              path, x->line, x->col, kind_key[x->kind], x->index, (size_t)eo,
                              (const char *)msg);
            pcre2_compile_context_free(cc);
            r->n = i;
            return LE_EINVAL;
        }
        r->n = i + 1;
        u->kind = x->kind;
        u->jit = pcre2_jit_compile(u->re, PCRE2_JIT_COMPLETE) == 0;
        uint32_t caps = 0;
        pcre2_pattern_info(u->re, PCRE2_INFO_CAPTURECOUNT, &caps);
        if (caps + 1 > r->max_pairs) r->max_pairs = caps + 1;
        for (int k = 0; k < NREP; k++) {
            u->rep[k] = x->rep[k];
            x->rep[k] = NULL;
            u->rep_len[k] = u->rep[k] ? (uint16_t)LE_MIN(strlen(u->rep[k]), 4096u) : 0;
        }
    }
    pcre2_compile_context_free(cc);
    return 0;
}

int le_ua_rules_load(const char *path, le_ua_rules_t **out, le_buf_t *err) {
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    struct stat st;
    int rc = read_file(path, &data, &len, &st, err);
    if (rc) return rc;
    loader_t L = {.path = path, .err = err};
    size_t err0 = err ? err->len : 0;
    le_ua_rules_t *r = NULL;
    if (!yaml_parser_initialize(&L.p)) abort();
    yaml_parser_set_input_string(&L.p, (const unsigned char *)data, len);
    rc = len == 0 ? LE_EINVAL : load_doc(&L);
    if (len == 0 && err) le_buf_printf(err, "%s: file is empty\n", path);
    if (rc == LE_EINVAL && err && err->len == err0)
        le_buf_printf(err, "%s: not a uap-core regexes.yaml\n", path);
    if (rc) goto done;
    /* Rules in kind order (the file may list the sections in any order). */
    raw_t *sorted = le_xmalloc(L.n * sizeof(raw_t));
    r = le_xcalloc(1, sizeof(*r));
    size_t m = 0;
    for (int k = 0; k < K_COUNT; k++) {
        r->start[k] = m;
        for (size_t i = 0; i < L.n; i++)
            if (L.raw[i].kind == k) sorted[m++] = L.raw[i];
    }
    r->start[K_COUNT] = m;
    memcpy(L.raw, sorted, m * sizeof(raw_t));
    free(sorted);
    rc = compile_rules(r, L.raw, L.n, path, err);
    if (rc) goto done;
    build_prefilter(r, L.raw);
    atomic_init(&r->refs, 1);
    r->path = le_xstrdup(path);
    r->st = st;
    r->generation = atomic_fetch_add(&next_generation, 1);
    *out = r;
    r = NULL;
done:
    if (r) rules_free(r);
    if (L.have_ev) yaml_event_delete(&L.ev);
    yaml_parser_delete(&L.p);
    for (size_t i = 0; i < L.n; i++) raw_free(&L.raw[i]);
    free(L.raw);
    free(data);
    return rc;
}

le_ua_rules_t *le_ua_rules_ref(le_ua_rules_t *r) {
    if (r) atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    return r;
}

void le_ua_rules_unref(le_ua_rules_t *r) {
    if (!r) return;
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) rules_free(r);
}

void le_ua_rules_count(const le_ua_rules_t *r, size_t *ua, size_t *os, size_t *device) {
    if (ua) *ua = r->start[1] - r->start[0];
    if (os) *os = r->start[2] - r->start[1];
    if (device) *device = r->start[3] - r->start[2];
}

bool le_ua_rules_changed(const le_ua_rules_t *r) {
    struct stat st;
    if (!r || !r->path) return false;
    if (stat(r->path, &st) != 0) return true;
    return st.st_dev != r->st.st_dev || st.st_ino != r->st.st_ino || st.st_size != r->st.st_size ||
           st.st_mtim.tv_sec != r->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != r->st.st_mtim.tv_nsec;
}

uint64_t le__ua_rules_generation(const le_ua_rules_t *r) {
    return r->generation;
}

/* ---------------------------------------------------------------------------------------- */
/* Per-thread scratch                                                                        */

typedef struct {
    pcre2_match_data *md;
    uint32_t pairs;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
    uint32_t epoch;
    bool trap; /* this subject holds a fold trap: caseless rules skip the prefilter */
    uint32_t *atom_seen;
    size_t atom_cap;
    uint64_t *cand;
    size_t cand_cap;
} scratch_t;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static _Thread_local scratch_t *tls;

static void scratch_free(void *p) {
    scratch_t *s = p;
    if (!s) return;
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    pcre2_jit_stack_free(s->stack);
    free(s->atom_seen);
    free(s->cand);
    free(s);
    if (tls == s) tls = NULL;
}

static void tls_init(void) {
    if (pthread_key_create(&tls_key, scratch_free) != 0) abort();
}

static void *grow_zero(void *p, size_t *cap, size_t want, size_t elem) {
    if (want <= *cap) return p;
    p = le_xrealloc(p, want * elem);
    memset((char *)p + *cap * elem, 0, (want - *cap) * elem);
    *cap = want;
    return p;
}

/* Slow path: the first parse on this thread, or rules that need more room. */
static scratch_t *scratch_grow(const le_ua_rules_t *r) {
    scratch_t *s = tls;
    if (!s) {
        pthread_once(&tls_once, tls_init);
        s = le_xcalloc(1, sizeof(*s));
        s->mctx = pcre2_match_context_create(NULL);
        s->stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
        if (!s->mctx || !s->stack) abort();
        pcre2_jit_stack_assign(s->mctx, NULL, s->stack);
        pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
        pcre2_set_depth_limit(s->mctx, MATCH_LIMIT);
        tls = s;
        pthread_setspecific(tls_key, s);
    }
    if (s->pairs < r->max_pairs) {
        pcre2_match_data_free(s->md);
        s->md = pcre2_match_data_create(r->max_pairs, NULL);
        if (!s->md) abort();
        s->pairs = r->max_pairs;
    }
    s->atom_seen = grow_zero(s->atom_seen, &s->atom_cap, r->natoms + 1, sizeof(uint32_t));
    s->cand = grow_zero(s->cand, &s->cand_cap, r->nwords + 1, sizeof(uint64_t));
    return s;
}

static inline scratch_t *scratch_get(const le_ua_rules_t *r) {
    scratch_t *s = tls;
    if (LE_UNLIKELY(!s || s->pairs < r->max_pairs || s->atom_cap <= r->natoms ||
                    s->cand_cap <= r->nwords))
        s = scratch_grow(r);
    if (LE_UNLIKELY(++s->epoch == 0)) { /* wrapped: old marks could collide */
        memset(s->atom_seen, 0, s->atom_cap * sizeof(uint32_t));
        s->epoch = 1;
    }
    return s;
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing                                                                                   */

/* Run the automaton over the subject: mark satisfied atom sets and candidate rules. */
static void prefilter(const le_ua_rules_t *r, scratch_t *s, const unsigned char *p, size_t n) {
    const uint32_t ep = s->epoch, shift = r->shift;
    const uint32_t *delta = r->delta;
    const uint8_t *cls = r->cls;
    memcpy(s->cand, r->always, r->nwords * sizeof(uint64_t));
    uint32_t row = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t t = delta[row + cls[p[i]]];
        row = t & 0x7fffffffu;
        if (LE_LIKELY(!(t >> 31))) continue;
        uint32_t st = row >> shift;
        for (uint32_t k = r->out_start[st]; k < r->out_start[st + 1]; k++) {
            uint32_t atom = r->out[k];
            if (s->atom_seen[atom] == ep) continue;
            s->atom_seen[atom] = ep;
            for (uint32_t j = r->atom_start[atom]; j < r->atom_start[atom + 1]; j++) {
                uint32_t rule = r->atom_rules[j];
                s->cand[rule / 64] |= 1ull << (rule % 64);
            }
        }
    }
}

/* A candidate's other atom sets: each needs one of its atoms seen. */
static bool conj_ok(const le_ua_rules_t *r, const scratch_t *s, const rule_t *u) {
    for (uint32_t k = u->conj; k < u->conj + u->nconj; k++) {
        bool any = false;
        for (uint32_t j = r->vset_start[k]; j < r->vset_start[k + 1] && !any; j++)
            any = s->atom_seen[r->vatoms[j]] == s->epoch;
        if (!any) return false;
    }
    return true;
}

static bool is_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Group g of the last match, or an empty view when it did not take part. */
static le_str_t group(const char *subj, const PCRE2_SIZE *ov, int rc, unsigned g) {
    if ((int)g >= rc || ov[2 * g] == PCRE2_UNSET) return (le_str_t){subj, 0};
    return (le_str_t){subj + ov[2 * g], ov[2 * g + 1] - ov[2 * g]};
}

/*
 * A replacement template with $1..$9 substituted (a group that did not take part is empty),
 * then trimmed, into buf (cap bytes, output cut there).
 */
static le_str_t substitute(const char *tpl, size_t tn, const char *subj, const PCRE2_SIZE *ov,
                           int rc, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < tn && o < cap; i++) {
        if (tpl[i] == '$' && i + 1 < tn && tpl[i + 1] >= '0' && tpl[i + 1] <= '9') {
            le_str_t g = tpl[i + 1] == '0' ? (le_str_t){subj, 0}
                                           : group(subj, ov, rc, (unsigned)(tpl[i + 1] - '0'));
            size_t k = LE_MIN(g.len, cap - o);
            memcpy(buf + o, g.ptr, k);
            o += k;
            i++;
        } else {
            buf[o++] = tpl[i];
        }
    }
    size_t b = 0;
    while (b < o && is_space((unsigned char)buf[b])) b++;
    while (o > b && is_space((unsigned char)buf[o - 1])) o--;
    return (le_str_t){buf + b, o - b};
}

/* Cut n bytes of p to at most max without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *p, size_t n, size_t max) {
    if (n <= max) return n;
    size_t k = max;
    while (k > 0 && max - k < 3 && ((unsigned char)p[k] & 0xC0) == 0x80) k--;
    return k;
}

void le__ua_put(le_ua_t *u, le_ua_field_t f, le_str_t v) {
    size_t n = utf8_cut(v.ptr, v.len, LE_UA_FIELD_MAX), room = LE_UA_TEXT_MAX - u->text_len;
    u->off[f] = 0;
    u->len[f] = 0;
    if (!n) return;
    if (n > room) { /* out of room: share an equal earlier value, else cut */
        const char *same = u->text_len ? memmem(u->text, u->text_len, v.ptr, n) : NULL;
        if (same) {
            u->off[f] = (uint16_t)(same - u->text);
            u->len[f] = (uint8_t)n;
            return;
        }
        n = utf8_cut(v.ptr, n, room);
        if (!n) return;
    }
    memcpy(u->text + u->text_len, v.ptr, n);
    u->off[f] = u->text_len;
    u->len[f] = (uint8_t)n;
    u->text_len = (uint16_t)(u->text_len + n);
}

/* Field index of output slot k of each kind. */
static const uint8_t slot_field[K_COUNT][NREP] = {
    {LE_UA_BROWSER, LE_UA_BROWSER_MAJOR, LE_UA_BROWSER_MINOR, LE_UA_BROWSER_PATCH,
     LE_UA_BROWSER_PATCH_MINOR},
    {LE_UA_OS, LE_UA_OS_MAJOR, LE_UA_OS_MINOR, LE_UA_OS_PATCH, LE_UA_OS_PATCH_MINOR},
    {LE_UA_DEVICE, LE_UA_BRAND, LE_UA_MODEL, 0, 0},
};
/* Capture group that fills slot k when it has no replacement (0: nothing). */
static const uint8_t slot_group[K_COUNT][NREP] = {
    {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {1, 0, 1, 0, 0}};

/* The first rule of kind k that matches (with a non-empty family) fills its fields. */
static void parse_kind(const le_ua_rules_t *r, scratch_t *s, int k, const char *subj, size_t n,
                       le_ua_t *out) {
    const uint64_t *cand = s->cand;
    size_t lo = r->start[k], hi = r->start[k + 1];
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    char buf[NREP][LE_UA_MATCH_MAX + 64];
    for (size_t w = lo / 64; w <= (hi - 1) / 64; w++) {
        uint64_t bits = cand[w];
        if (w == lo / 64) bits &= ~0ull << (lo % 64);
        if (w == (hi - 1) / 64 && hi % 64) bits &= ~(~0ull << (hi % 64));
        while (bits) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            const rule_t *u = &r->rules[i];
            if (u->filtered && !(s->trap && u->caseless) && !conj_ok(r, s, u)) continue;
            int rc = u->jit ? pcre2_jit_match(u->re, (PCRE2_SPTR)subj, n, 0, 0, s->md, s->mctx)
                            : pcre2_match(u->re, (PCRE2_SPTR)subj, n, 0, 0, s->md, s->mctx);
            if (rc <= 0) continue;
            le_str_t v[NREP];
            int nslots = k == K_DEV ? 3 : NREP;
            for (int j = 0; j < nslots; j++) {
                if (u->rep[j])
                    v[j] =
                        substitute(u->rep[j], u->rep_len[j], subj, ov, rc, buf[j], sizeof(buf[j]));
                else if (slot_group[k][j])
                    v[j] = group(subj, ov, rc, slot_group[k][j]);
                else
                    v[j] = (le_str_t){subj, 0};
            }
            if (v[0].len == 0) continue; /* as the reference parsers: an empty family is no match */
            for (int j = 0; j < nslots; j++) le__ua_put(out, slot_field[k][j], v[j]);
            return;
        }
    }
    le__ua_put(out, slot_field[k][0], LE_STR("Other"));
}

/* Substring test for the short values of a result (a plain loop beats memmem there). */
static bool has(le_str_t s, const char *lit) {
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= s.len; i++)
        if (s.ptr[i] == lit[0] && memcmp(s.ptr + i, lit, n) == 0) return true;
    return false;
}

static bool starts(le_str_t s, const char *lit) {
    size_t n = strlen(lit);
    return s.len >= n && memcmp(s.ptr, lit, n) == 0;
}

static bool in_list(le_str_t s, const char *const *list) {
    for (; *list; list++)
        if (le_str_eq(s, *list)) return true;
    return false;
}

static const char *const desktop_os[] = {
    "Windows",    "Mac OS X", "Mac OS",  "Linux",         "Ubuntu",    "Chrome OS",  "FreeBSD",
    "OpenBSD",    "NetBSD",   "Debian",  "Fedora",        "Red Hat",   "SUSE",       "Kubuntu",
    "Linux Mint", "Mandriva", "Gentoo",  "Slackware",     "CentOS",    "Solaris",    "Mageia",
    "Arch Linux", "Xubuntu",  "Lubuntu", "elementary OS", "PCLinuxOS", "Chromecast", NULL};
static const char *const mobile_os[] = {
    "iOS",        "Android",    "Windows Phone", "BlackBerry OS",
    "Symbian OS", "Symbian^3",  "KaiOS",         "Firefox OS",
    "Tizen",      "Bada",       "webOS",         "Windows Mobile",
    "MeeGo",      "Maemo",      "Sailfish",      "Ubuntu Touch",
    "HarmonyOS",  "Windows CE", "Palm OS",       "Series40",
    "Symbian",    NULL};

/*
 * Device class from the uap fields and whether the User-Agent says "Mobile" (any case; found
 * by the prefilter's scan, see docs/enrich-ua.md).
 */
static le_device_class_t classify(const le_ua_t *u, bool ua_mobile) {
    if (u->spider) return LE_DEV_BOT;
    le_str_t dev = le_ua_get(u, LE_UA_DEVICE), os = le_ua_get(u, LE_UA_OS);
    le_str_t brand = le_ua_get(u, LE_UA_BRAND), model = le_ua_get(u, LE_UA_MODEL);
    bool other = le_str_eq(dev, "Other");
    if (starts(dev, "iPad") || has(dev, "Kindle") || has(dev, "Tablet") || has(dev, "Xoom") ||
        has(dev, "PlayBook") || has(dev, "Galaxy Tab") || starts(dev, "Nexus 7") ||
        starts(dev, "Nexus 9") || starts(dev, "Nexus 10") || le_str_eq(model, "Tablet") ||
        le_str_eq(brand, "Generic_Android_Tablet") || le_str_eq(os, "BlackBerry Tablet OS"))
        return LE_DEV_TABLET;
    bool tv = has(dev, "TV") || le_str_eq(brand, "Generic_Inettv");
    if (le_str_eq(os, "Android") && !tv && !ua_mobile && !le_str_eq(dev, "Generic Feature Phone"))
        return LE_DEV_TABLET;
    if (starts(dev, "iPhone") || starts(dev, "iPod") || has(dev, "Smartphone") ||
        has(dev, "Feature Phone") || le_str_eq(brand, "Generic_Android") ||
        (!tv && in_list(os, mobile_os)) || (!other && !tv && ua_mobile))
        return LE_DEV_MOBILE;
    if ((other || le_str_eq(dev, "Mac")) &&
        (in_list(os, desktop_os) ||
         (starts(os, "Windows") && !has(os, "Phone") && !has(os, "Mobile") && !has(os, "CE"))))
        return LE_DEV_DESKTOP;
    return LE_DEV_OTHER;
}

void le_ua_parse(const le_ua_rules_t *r, const char *ua, size_t len, le_ua_t *out) {
    memset(out, 0, offsetof(le_ua_t, text));
    if (!ua) len = 0;
    out->bot_token = le_bot_ua_token((le_str_t){ua ? ua : "", len});
    len = le__ua_match_len(ua, len);
    scratch_t *s = scratch_get(r);
    prefilter(r, s, (const unsigned char *)ua, len);
    s->trap =
        s->atom_seen[r->atom_fold[0]] == s->epoch || s->atom_seen[r->atom_fold[1]] == s->epoch;
    if (LE_UNLIKELY(s->trap))
        for (size_t w = 0; w < r->nwords; w++) s->cand[w] |= r->caseless[w];
    const char *subj = ua ? ua : "";
    for (int k = 0; k < K_COUNT; k++) parse_kind(r, s, k, subj, len, out);
    out->spider = le_str_eq(le_ua_get(out, LE_UA_DEVICE), "Spider");
    out->browser_known = !le_str_eq(le_ua_get(out, LE_UA_BROWSER), "Other");
    out->device_class = (uint8_t)classify(out, s->atom_seen[r->atom_mobile] == s->epoch);
}
