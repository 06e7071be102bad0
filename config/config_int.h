/*
 * config_int.h: what the files of config/ share with each other and with nobody else.
 *
 * The YAML front end (yaml_tree.c) turns a document into a small tree of nodes that keep their
 * 1-based line and column, so that the validator (config.c) can point at the exact spot of every
 * error. The network parsers (net.c) explain why an address was refused, which the public
 * le_cidr_parse/le_listen_parse cannot.
 */
#ifndef LE_CONFIG_INT_H
#define LE_CONFIG_INT_H

#include "arena.h"
#include "config.h"

typedef enum { LE__YSCALAR = 0, LE__YMAP = 1, LE__YSEQ = 2 } le__ykind_t;

typedef struct le__ynode_s le__ynode_t;

/*
 * One YAML node. Scalars hold their bytes NUL-terminated (len counts them; a scalar may hold a
 * NUL of its own through a "\0" escape). Mappings hold key, value, key, value... in kids, so n is
 * twice the number of pairs; sequences hold their items. An alias points at the node its anchor
 * named, so the tree may share subtrees (it never has cycles).
 */
struct le__ynode_s {
    le__ykind_t kind;
    uint32_t line, col; /* 1-based */
    bool null;          /* plain "", "~", "null", "Null", "NULL", or tagged !!null */
    const char *str;
    size_t len;
    le__ynode_t **kids;
    size_t n, cap;
};

typedef struct {
    uint32_t line, col;
    char msg[200];
} le__yerror_t;

/*
 * Parse one YAML document of len bytes into a tree allocated from a. *root is NULL for a stream
 * without a document. Returns 0, or LE_EINVAL with the first syntax error in *e (YAML cannot be
 * parsed past it).
 */
int le__yaml_parse(le_arena_t *a, const char *yaml, size_t len, le__ynode_t **root,
                   le__yerror_t *e);

/*
 * The reasoned forms of le_cidr_parse and le_listen_parse: NULL on success, otherwise a message
 * for the user. A CIDR with host bits set still fills *out with the network (host bits cleared)
 * and sets *host_bits, so that the message can suggest the right spelling.
 */
const char *le__cidr_parse(const char *s, le_cidr_t *out, bool *host_bits);
const char *le__listen_parse(const char *s, char *host, uint16_t *port);

/* Release every rule of l and empty it. */
void le__free_rules(le_rulelist_t *l);

#endif
