/*
 * yaml_tree.c: libyaml's event stream turned into a tree of nodes with line:col marks.
 *
 * The validator needs to look at keys in any order, to see all of them (for duplicates and
 * did-you-mean) and to say where each one was written, so the document is first built into a
 * tree. Everything lives in the caller's arena and goes away with it. Anchors and aliases work
 * (an alias shares the anchored node); an anchor is only known once its node is complete, so an
 * alias can never refer to its own ancestor and the tree has no cycles. Nesting is bounded so a
 * hostile file cannot exhaust the stack of whoever walks the tree.
 */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define NULL_TAG "tag:yaml.org,2002:null"

typedef struct anchor_s anchor_t;
struct anchor_s {
    anchor_t *next;
    const char *name;
    le__ynode_t *node;
};

typedef struct {
    le_arena_t *a;
    const char *yaml;
    size_t len;
    le__ynode_t *stack[MAX_DEPTH];
    const char *stack_anchor[MAX_DEPTH];
    int depth;
    anchor_t *anchors;
    le__ynode_t *root;
    le__yerror_t *e;
} builder_t;

static void set_error(builder_t *b, yaml_mark_t m, const char *fmt, const char *arg) {
    b->e->line = (uint32_t)m.line + 1;
    b->e->col = (uint32_t)m.column + 1;
    snprintf(b->e->msg, sizeof(b->e->msg), fmt, arg);
}

static le__ynode_t *new_node(builder_t *b, le__ykind_t kind, yaml_mark_t m) {
    le__ynode_t *n = le_arena_calloc(b->a, sizeof(*n));
    n->kind = kind;
    n->line = (uint32_t)m.line + 1;
    n->col = (uint32_t)m.column + 1;
    return n;
}

/* Append n to the open collection, or make it the root. */
static void add(builder_t *b, le__ynode_t *n) {
    if (b->depth == 0) {
        b->root = n;
        return;
    }
    le__ynode_t *p = b->stack[b->depth - 1];
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        le__ynode_t **kids = le_arena_alloc(b->a, cap * sizeof(*kids));
        if (p->n) memcpy(kids, p->kids, p->n * sizeof(*kids));
        p->kids = kids;
        p->cap = cap;
    }
    p->kids[p->n++] = n;
}

static void remember(builder_t *b, const yaml_char_t *name, le__ynode_t *n) {
    if (!name) return;
    anchor_t *an = le_arena_alloc(b->a, sizeof(*an));
    an->name = le_arena_strndup(b->a, (const char *)name, strlen((const char *)name));
    an->node = n;
    an->next = b->anchors;
    b->anchors = an;
}

static bool is_null(const yaml_event_t *ev) {
    const char *v = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag && strcmp(tag, NULL_TAG) == 0) return true;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || tag) return false;
    return ev->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset, not a mark. */
static void reader_mark(builder_t *b, size_t off, yaml_mark_t *m) {
    m->line = 0;
    m->column = 0;
    for (size_t i = 0; i < off && i < b->len; i++) {
        unsigned char ch = (unsigned char)b->yaml[i];
        if (ch == '\n') {
            m->line++;
            m->column = 0;
        } else if ((ch & 0xC0) != 0x80) {
            m->column++; /* count characters, as libyaml's marks do */
        }
    }
}

static int on_event(builder_t *b, yaml_event_t *ev, int *ndocs) {
    le__ynode_t *n;
    const yaml_char_t *anchor;
    switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++*ndocs > 1) {
                set_error(b, ev->start_mark, "syntax: %s", "more than one document");
                return LE_EINVAL;
            }
            return 0;
        case YAML_SCALAR_EVENT:
            n = new_node(b, LE__YSCALAR, ev->start_mark);
            n->len = ev->data.scalar.length;
            n->str = le_arena_strndup(b->a, (const char *)ev->data.scalar.value, n->len);
            n->null = is_null(ev);
            add(b, n);
            remember(b, ev->data.scalar.anchor, n);
            return 0;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (b->depth == MAX_DEPTH) {
                set_error(b, ev->start_mark, "syntax: %s", "nested more than 64 levels deep");
                return LE_EINVAL;
            }
            n = new_node(b, ev->type == YAML_MAPPING_START_EVENT ? LE__YMAP : LE__YSEQ,
                         ev->start_mark);
            add(b, n);
            anchor = ev->type == YAML_MAPPING_START_EVENT ? ev->data.mapping_start.anchor
                                                          : ev->data.sequence_start.anchor;
            b->stack_anchor[b->depth] =
                anchor ? le_arena_strndup(b->a, (const char *)anchor, strlen((const char *)anchor))
                       : NULL;
            b->stack[b->depth++] = n;
            return 0;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            b->depth--;
            remember(b, (const yaml_char_t *)b->stack_anchor[b->depth], b->stack[b->depth]);
            return 0;
        case YAML_ALIAS_EVENT:
            for (anchor_t *an = b->anchors; an; an = an->next) {
                if (strcmp(an->name, (const char *)ev->data.alias.anchor) == 0) {
                    add(b, an->node);
                    return 0;
                }
            }
            set_error(b, ev->start_mark, "syntax: undefined alias \"%.64s\"",
                      (const char *)ev->data.alias.anchor);
            return LE_EINVAL;
        default:
            return 0;
    }
}

int le__yaml_parse(le_arena_t *a, const char *yaml, size_t len, le__ynode_t **root,
                   le__yerror_t *e) {
    builder_t b = {.a = a, .yaml = yaml, .len = len, .e = e};
    yaml_parser_t p;
    yaml_event_t ev;
    int rc = 0, ndocs = 0;

    *root = NULL;
    if (!yaml_parser_initialize(&p)) {
        fprintf(stderr, "leadedge: out of memory initialising the YAML parser\n");
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR) {
                fprintf(stderr, "leadedge: out of memory parsing YAML\n");
                abort();
            }
            yaml_mark_t m = p.problem_mark;
            if (p.error == YAML_READER_ERROR) reader_mark(&b, p.problem_offset, &m);
            set_error(&b, m, "syntax: %s", p.problem ? p.problem : "malformed YAML");
            rc = LE_EINVAL;
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev, &ndocs);
        yaml_event_delete(&ev);
        if (end || rc) break;
    }
    yaml_parser_delete(&p);
    if (rc == 0) *root = b.root;
    return rc;
}
