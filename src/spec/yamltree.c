/* yamltree.c: libyaml's document loader turned into aw_ynode_t trees with
 * positions, plus the few tree edits the spec layer needs (see yamltree.h). */
#include "spec/yamltree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

aw_ynode_t *aw_ynode_new(aw_ynode_kind_t kind, const char *origin, int line, int col)
{
    aw_ynode_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->kind = kind;
    n->origin = origin;
    n->line = line;
    n->col = col;
    return n;
}

aw_ynode_t *aw_ynode_new_scalar(const char *text, size_t len, int quoted, const char *origin, int line,
                                int col)
{
    aw_ynode_t *n = aw_ynode_new(AW_YSCALAR, origin, line, col);
    if (n == NULL)
        return NULL;
    n->text = malloc(len + 1);
    if (n->text == NULL) {
        free(n);
        return NULL;
    }
    if (len > 0)
        memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->len = len;
    n->quoted = quoted;
    return n;
}

void aw_ynode_free(aw_ynode_t *n)
{
    if (n == NULL)
        return;
    for (int i = 0; i < n->n; i++) {
        if (n->keys != NULL)
            aw_ynode_free(n->keys[i]);
        aw_ynode_free(n->vals[i]);
    }
    free(n->keys);
    free(n->vals);
    free(n->text);
    free(n);
}

int aw_ynode_append(aw_ynode_t *parent, aw_ynode_t *key, aw_ynode_t *val)
{
    if (parent->n == parent->cap) {
        int cap = parent->cap ? 2 * parent->cap : 4;
        aw_ynode_t **v = realloc(parent->vals, (size_t)cap * sizeof *v);
        if (v == NULL)
            goto fail;
        parent->vals = v;
        if (parent->kind == AW_YMAP) {
            aw_ynode_t **k = realloc(parent->keys, (size_t)cap * sizeof *k);
            if (k == NULL)
                goto fail;
            parent->keys = k;
        }
        parent->cap = cap;
    }
    if (parent->kind == AW_YMAP)
        parent->keys[parent->n] = key;
    parent->vals[parent->n++] = val;
    return AW_OK;
fail:
    aw_ynode_free(key);
    aw_ynode_free(val);
    return AW_ENOMEM;
}

aw_ynode_t *aw_ynode_copy(const aw_ynode_t *n)
{
    if (n->kind == AW_YSCALAR)
        return aw_ynode_new_scalar(n->text, n->len, n->quoted, n->origin, n->line, n->col);
    aw_ynode_t *c = aw_ynode_new(n->kind, n->origin, n->line, n->col);
    if (c == NULL)
        return NULL;
    for (int i = 0; i < n->n; i++) {
        aw_ynode_t *k = NULL, *v = aw_ynode_copy(n->vals[i]);
        if (n->kind == AW_YMAP)
            k = aw_ynode_copy(n->keys[i]);
        if (v == NULL || (n->kind == AW_YMAP && k == NULL)) {
            aw_ynode_free(k);
            aw_ynode_free(v);
            aw_ynode_free(c);
            return NULL;
        }
        if (aw_ynode_append(c, k, v) != AW_OK) {
            aw_ynode_free(c);
            return NULL;
        }
    }
    return c;
}

int aw_ynode_find(const aw_ynode_t *map, const char *key)
{
    for (int i = 0; i < map->n; i++)
        if (map->keys[i]->kind == AW_YSCALAR && strcmp(map->keys[i]->text, key) == 0)
            return i;
    return -1;
}

void aw_ynode_remove(aw_ynode_t *parent, int i)
{
    if (parent->keys != NULL) {
        aw_ynode_free(parent->keys[i]);
        memmove(parent->keys + i, parent->keys + i + 1, (size_t)(parent->n - i - 1) * sizeof *parent->keys);
    }
    aw_ynode_free(parent->vals[i]);
    memmove(parent->vals + i, parent->vals + i + 1, (size_t)(parent->n - i - 1) * sizeof *parent->vals);
    parent->n--;
}

int aw_ynode_is_null(const aw_ynode_t *n)
{
    if (n->kind != AW_YSCALAR || n->quoted)
        return 0;
    const char *t = n->text;
    return t[0] == '\0' || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 || strcmp(t, "Null") == 0 ||
           strcmp(t, "NULL") == 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int aw_ynode_number_kind(const aw_ynode_t *n)
{
    if (n->kind != AW_YSCALAR || n->quoted || n->len != strlen(n->text))
        return 0;
    const char *p = n->text;
    if (*p == '+' || *p == '-')
        p++;
    static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        if (strcmp(p, special[i]) == 0)
            return (i >= 3 && p != n->text) ? 0 : 2; /* no sign on .nan */
    const char *q = p;
    while (is_digit(*q))
        q++;
    int int_digits = (int)(q - p);
    if (*q == '\0')
        return int_digits > 0 ? 1 : 0;
    int frac_digits = 0;
    if (*q == '.') {
        q++;
        while (is_digit(*q))
            q++, frac_digits++;
    }
    if (int_digits == 0 && frac_digits == 0)
        return 0;
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!is_digit(*q))
            return 0;
        while (is_digit(*q))
            q++;
    }
    return *q == '\0' ? 2 : 0;
}

void aw_ynode_where(const aw_ynode_t *n, char *buf, size_t size)
{
    if (n->line > 0)
        snprintf(buf, size, "%s:%d:%d", n->origin, n->line, n->col);
    else
        snprintf(buf, size, "%s", n->origin);
}

void aw_ynode_describe(const aw_ynode_t *n, char *buf, size_t size)
{
    if (n->kind == AW_YSEQ) {
        if (n->n == 0)
            snprintf(buf, size, "an empty sequence");
        else
            snprintf(buf, size, "a sequence of %d item%s", n->n, n->n == 1 ? "" : "s");
        return;
    }
    if (n->kind == AW_YMAP) {
        snprintf(buf, size, "%s", n->n == 0 ? "an empty mapping" : "a mapping");
        return;
    }
    if (aw_ynode_is_null(n)) {
        snprintf(buf, size, "null");
        return;
    }
    if (aw_ynode_number_kind(n) != 0 && n->len <= 40) {
        snprintf(buf, size, "%s", n->text);
        return;
    }
    /* A string: quoted, escaped, at most 40 bytes of it (cut on a UTF-8 boundary). */
    char tmp[200];
    size_t o = 0, limit = 40;
    tmp[o++] = '"';
    size_t i = 0;
    for (; i < n->len && i < limit; i++) {
        unsigned char c = (unsigned char)n->text[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(tmp + o, sizeof tmp - o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(tmp + o, sizeof tmp - o, "\\x%02x", c);
        else
            tmp[o++] = (char)c;
    }
    if (i < n->len) {
        while (o > 1 && ((unsigned char)tmp[o - 1] & 0xC0) == 0x80)
            o--; /* drop a cut multi-byte sequence's continuation bytes */
        if (o > 1 && ((unsigned char)tmp[o - 1] & 0xC0) == 0xC0)
            o--; /* and its lead byte */
        memcpy(tmp + o, "...", 3);
        o += 3;
    }
    tmp[o++] = '"';
    tmp[o] = '\0';
    snprintf(buf, size, "%s", tmp);
}

/* The tree is built from libyaml's events, not from its document loader: the loader builds the whole
 * document before anything can be checked, and its flow scanning is quadratic in the nesting depth, so a
 * file of 100,000 '[' took minutes. Here the depth limit stops the parse as soon as it is crossed. */
typedef struct anchor {
    char *name;        /* owned */
    aw_ynode_t *node;  /* borrowed: a finished node of the tree being built */
} anchor_t;

typedef struct builder {
    const char *origin;                          /* borrowed: origin for the nodes */
    int positions;                               /* keep line/col */
    long count;                                  /* nodes created so far (alias copies count every node) */
    int depth;                                   /* open collections */
    aw_ynode_t *open[AW_YTREE_MAX_DEPTH + 1];    /* the open collections, outermost first */
    aw_ynode_t *key[AW_YTREE_MAX_DEPTH + 1];     /* an open mapping's key waiting for its value */
    char *open_anchor[AW_YTREE_MAX_DEPTH + 1];   /* an open collection's anchor (owned), or NULL */
    anchor_t *anchors;                           /* finished anchored nodes */
    size_t n_anchors, cap_anchors;
    aw_ynode_t *root;                            /* the finished document, or NULL */
    aw_error_t *err;                             /* where problems go */
} builder_t;

static void mark_where(const builder_t *b, yaml_mark_t m, char *buf, size_t size)
{
    if (b->positions)
        snprintf(buf, size, "%s:%d:%d", b->origin, (int)m.line + 1, (int)m.column + 1);
    else
        snprintf(buf, size, "%s", b->origin);
}

static int oom(const builder_t *b, yaml_mark_t m)
{
    char where[512];
    mark_where(b, m, where, sizeof where);
    return aw_error_set(b->err, AW_ENOMEM, "%s: out of memory", where);
}

/* Nodes and depth of the tree at n (depth of a scalar: 0). */
static void tree_size(const aw_ynode_t *n, long *nodes, int *depth)
{
    *nodes = 1;
    *depth = 0;
    for (int i = 0; i < n->n; i++) {
        long cn;
        int cd;
        if (n->keys != NULL) {
            tree_size(n->keys[i], &cn, &cd);
            *nodes += cn;
        }
        tree_size(n->vals[i], &cn, &cd);
        *nodes += cn;
        if (cd + 1 > *depth)
            *depth = cd + 1;
    }
}

/* Checks that nodes more nodes with a deepest one depth levels below the current level fit the limits. */
static int check_limits(builder_t *b, long nodes, int depth, yaml_mark_t m)
{
    char where[512];
    mark_where(b, m, where, sizeof where);
    if (b->depth + depth > AW_YTREE_MAX_DEPTH)
        return aw_error_set(b->err, AW_ESPEC, "%s: bad YAML: nested deeper than %d levels", where,
                            AW_YTREE_MAX_DEPTH);
    if (nodes > AW_YTREE_MAX_NODES - b->count)
        return aw_error_set(b->err, AW_ESPEC, "%s: bad YAML: more than %d nodes (after expanding aliases)", where,
                            AW_YTREE_MAX_NODES);
    b->count += nodes;
    return AW_OK;
}

/* Records that node (finished, in the tree) carries anchor name (taken over; NULL for none). */
static int add_anchor(builder_t *b, char *name, aw_ynode_t *node, yaml_mark_t m)
{
    if (name == NULL)
        return AW_OK;
    if (b->n_anchors == b->cap_anchors) {
        size_t cap = b->cap_anchors ? 2 * b->cap_anchors : 8;
        anchor_t *a = realloc(b->anchors, cap * sizeof *a);
        if (a == NULL) {
            free(name);
            return oom(b, m);
        }
        b->anchors = a;
        b->cap_anchors = cap;
    }
    b->anchors[b->n_anchors++] = (anchor_t){name, node};
    return AW_OK;
}

/* Puts a finished node into the open collection (or makes it the root); takes node. */
static int attach(builder_t *b, aw_ynode_t *node, yaml_mark_t m)
{
    if (b->depth == 0) {
        b->root = node;
        return AW_OK;
    }
    int d = b->depth - 1;
    aw_ynode_t *parent = b->open[d];
    if (parent->kind == AW_YMAP && b->key[d] == NULL) {
        b->key[d] = node;
        return AW_OK;
    }
    aw_ynode_t *k = parent->kind == AW_YMAP ? b->key[d] : NULL;
    b->key[d] = NULL;
    return aw_ynode_append(parent, k, node) == AW_OK ? AW_OK : oom(b, m);
}

static char *dup_anchor(const yaml_char_t *a)
{
    return a == NULL ? NULL : strdup((const char *)a);
}

static int on_scalar(builder_t *b, const yaml_event_t *e)
{
    int rc = check_limits(b, 1, 0, e->start_mark);
    if (rc < 0)
        return rc;
    int line = b->positions ? (int)e->start_mark.line + 1 : 0, col = b->positions ? (int)e->start_mark.column + 1 : 0;
    aw_ynode_t *n = aw_ynode_new_scalar((const char *)e->data.scalar.value, e->data.scalar.length,
                                        e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, b->origin, line, col);
    char *anchor = dup_anchor(e->data.scalar.anchor);
    if (n == NULL || (e->data.scalar.anchor != NULL && anchor == NULL)) {
        aw_ynode_free(n);
        free(anchor);
        return oom(b, e->start_mark);
    }
    if ((rc = attach(b, n, e->start_mark)) < 0) {
        free(anchor);
        return rc;
    }
    return add_anchor(b, anchor, n, e->start_mark);
}

static int on_start(builder_t *b, const yaml_event_t *e, aw_ynode_kind_t kind, const yaml_char_t *anchor)
{
    int rc = check_limits(b, 1, 0, e->start_mark);
    if (rc < 0)
        return rc;
    int line = b->positions ? (int)e->start_mark.line + 1 : 0, col = b->positions ? (int)e->start_mark.column + 1 : 0;
    aw_ynode_t *n = aw_ynode_new(kind, b->origin, line, col);
    char *a = dup_anchor(anchor);
    if (n == NULL || (anchor != NULL && a == NULL)) {
        aw_ynode_free(n);
        free(a);
        return oom(b, e->start_mark);
    }
    b->open[b->depth] = n;
    b->key[b->depth] = NULL;
    b->open_anchor[b->depth] = a;
    b->depth++;
    return AW_OK;
}

static int on_end(builder_t *b, const yaml_event_t *e)
{
    b->depth--;
    aw_ynode_t *n = b->open[b->depth];
    char *anchor = b->open_anchor[b->depth];
    b->open_anchor[b->depth] = NULL;
    aw_ynode_free(b->key[b->depth]); /* libyaml always gives a key its value: never set here */
    b->key[b->depth] = NULL;
    int rc = attach(b, n, e->start_mark);
    if (rc < 0) {
        free(anchor);
        return rc;
    }
    return add_anchor(b, anchor, n, e->start_mark);
}

/* An alias: a copy of the newest finished node with that anchor. An anchor whose node is still open is
 * a recursive alias (the node would contain itself). */
static int on_alias(builder_t *b, const yaml_event_t *e)
{
    const char *name = (const char *)e->data.alias.anchor;
    char where[512];
    mark_where(b, e->start_mark, where, sizeof where);
    for (int d = 0; d < b->depth; d++)
        if (b->open_anchor[d] != NULL && strcmp(b->open_anchor[d], name) == 0)
            return aw_error_set(b->err, AW_ESPEC, "%s: bad YAML: recursive alias *%s (inside the node it names)",
                                where, name);
    for (size_t i = b->n_anchors; i-- > 0;) {
        if (strcmp(b->anchors[i].name, name) != 0)
            continue;
        long nodes;
        int depth;
        tree_size(b->anchors[i].node, &nodes, &depth);
        int rc = check_limits(b, nodes, depth, e->start_mark);
        if (rc < 0)
            return rc;
        aw_ynode_t *c = aw_ynode_copy(b->anchors[i].node);
        return c == NULL ? oom(b, e->start_mark) : attach(b, c, e->start_mark);
    }
    return aw_error_set(b->err, AW_ESPEC, "%s: bad YAML: alias *%s names no anchor before it", where, name);
}

/* Frees what the builder holds (not the finished root). */
static void builder_fini(builder_t *b)
{
    while (b->depth > 0) {
        b->depth--;
        aw_ynode_free(b->key[b->depth]);
        aw_ynode_free(b->open[b->depth]);
        free(b->open_anchor[b->depth]);
    }
    for (size_t i = 0; i < b->n_anchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
}

/* One event into the tree; *done set at the end of the first document. */
static int on_event(builder_t *b, const yaml_event_t *e, int *done)
{
    switch (e->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(b, e);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, e, AW_YSEQ, e->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, e, AW_YMAP, e->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b, e);
    case YAML_ALIAS_EVENT:
        return on_alias(b, e);
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
        *done = 1;
        return AW_OK;
    default:
        return AW_OK;
    }
}

/* 1-based line and column of byte offset off in buf (for reader errors, which
 * carry an offset instead of a mark). */
static void offset_position(const char *buf, size_t len, size_t off, int *line, int *col)
{
    *line = 1, *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (buf[i] == '\n')
            (*line)++, *col = 1;
        else if (((unsigned char)buf[i] & 0xC0) != 0x80)
            (*col)++;
    }
}

static int parser_error(const yaml_parser_t *p, const char *buf, size_t len, const char *origin, int positions,
                        aw_error_t *err)
{
    if (p->error == YAML_MEMORY_ERROR)
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory while parsing YAML", origin);
    int line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_position(buf, len, p->problem_offset, &line, &col);
    } else {
        line = (int)p->problem_mark.line + 1;
        col = (int)p->problem_mark.column + 1;
    }
    const char *problem = p->problem ? p->problem : "unknown problem";
    char ctx[256] = "";
    if (p->context != NULL && p->error != YAML_READER_ERROR) {
        if (positions)
            snprintf(ctx, sizeof ctx, " (%s at %d:%d)", p->context, (int)p->context_mark.line + 1,
                     (int)p->context_mark.column + 1);
        else
            snprintf(ctx, sizeof ctx, " (%s)", p->context);
    }
    if (positions)
        return aw_error_set(err, AW_ESPEC, "%s:%d:%d: bad YAML: %s%s", origin, line, col, problem, ctx);
    if (p->error != YAML_READER_ERROR && p->problem_mark.index >= len)
        return aw_error_set(err, AW_ESPEC, "%s: bad YAML: %s%s (at the end of the value)", origin, problem, ctx);
    if (line == 1)
        return aw_error_set(err, AW_ESPEC, "%s: bad YAML: %s%s (at column %d of the value)", origin, problem, ctx,
                            col);
    return aw_error_set(err, AW_ESPEC, "%s: bad YAML: %s%s (at line %d, column %d of the value)", origin, problem,
                        ctx, line, col);
}

/* After the first document: AW_OK at the end of the stream, an error when a second document follows. */
static int no_second_document(yaml_parser_t *p, const char *buf, size_t len, const builder_t *b)
{
    for (int started = 0;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(p, &e))
            return parser_error(p, buf, len, b->origin, b->positions, b->err);
        yaml_event_type_t t = e.type;
        yaml_mark_t m = e.start_mark;
        yaml_event_delete(&e);
        if (t == YAML_STREAM_END_EVENT)
            return AW_OK;
        if (t == YAML_DOCUMENT_START_EVENT) {
            started = 1;
        } else if (started) {
            char where[512];
            mark_where(b, m, where, sizeof where);
            return aw_error_set(b->err, AW_ESPEC, "%s: bad YAML: expected one document, found a second one", where);
        }
    }
}

int aw_ytree_parse(const char *buf, size_t len, const char *origin, int positions, aw_ynode_t **root,
                   aw_error_t *err)
{
    *root = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory while parsing YAML", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    builder_t b;
    memset(&b, 0, sizeof b);
    b.origin = origin;
    b.positions = positions;
    b.err = err;
    int rc = AW_OK, done = 0;
    while (rc == AW_OK && !done) {
        yaml_event_t e;
        if (!yaml_parser_parse(&parser, &e)) {
            rc = parser_error(&parser, buf, len, origin, positions, err);
            break;
        }
        rc = on_event(&b, &e, &done);
        yaml_event_delete(&e);
    }
    if (rc == AW_OK && b.root != NULL)
        rc = no_second_document(&parser, buf, len, &b);
    builder_fini(&b);
    yaml_parser_delete(&parser);
    if (rc != AW_OK)
        aw_ynode_free(b.root);
    else
        *root = b.root;
    return rc;
}
