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

/* Conversion of a loaded libyaml document. */
typedef struct convert {
    yaml_document_t *doc;  /* borrowed: the loaded document */
    const char *origin;    /* borrowed: origin for the nodes */
    int positions;         /* keep line/col */
    long count;            /* nodes created so far (alias expansion counts every copy) */
    aw_error_t *err;       /* where problems go */
} convert_t;

static int convert_node(convert_t *cv, yaml_node_t *yn, int depth, aw_ynode_t **out)
{
    *out = NULL;
    int line = cv->positions ? (int)yn->start_mark.line + 1 : 0;
    int col = cv->positions ? (int)yn->start_mark.column + 1 : 0;
    char where[512];
    if (cv->positions)
        snprintf(where, sizeof where, "%s:%d:%d", cv->origin, line, col);
    else
        snprintf(where, sizeof where, "%s", cv->origin);
    if (depth > AW_YTREE_MAX_DEPTH)
        return aw_error_set(cv->err, AW_ESPEC, "%s: bad YAML: nested deeper than %d levels (a recursive alias?)",
                            where, AW_YTREE_MAX_DEPTH);
    if (++cv->count > AW_YTREE_MAX_NODES)
        return aw_error_set(cv->err, AW_ESPEC, "%s: bad YAML: more than %d nodes (after expanding aliases)",
                            where, AW_YTREE_MAX_NODES);
    aw_ynode_t *n = NULL;
    switch (yn->type) {
    case YAML_SCALAR_NODE:
        n = aw_ynode_new_scalar((const char *)yn->data.scalar.value, yn->data.scalar.length,
                                yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, cv->origin, line, col);
        break;
    case YAML_SEQUENCE_NODE:
        n = aw_ynode_new(AW_YSEQ, cv->origin, line, col);
        for (yaml_node_item_t *it = yn->data.sequence.items.start; n != NULL && it < yn->data.sequence.items.top;
             it++) {
            aw_ynode_t *c;
            int rc = convert_node(cv, yaml_document_get_node(cv->doc, *it), depth + 1, &c);
            if (rc == AW_OK)
                rc = aw_ynode_append(n, NULL, c);
            if (rc != AW_OK) {
                aw_ynode_free(n);
                return rc == AW_ENOMEM ? aw_error_set(cv->err, AW_ENOMEM, "%s: out of memory", where) : rc;
            }
        }
        break;
    case YAML_MAPPING_NODE:
        n = aw_ynode_new(AW_YMAP, cv->origin, line, col);
        for (yaml_node_pair_t *p = yn->data.mapping.pairs.start; n != NULL && p < yn->data.mapping.pairs.top; p++) {
            aw_ynode_t *k = NULL, *v = NULL;
            int rc = convert_node(cv, yaml_document_get_node(cv->doc, p->key), depth + 1, &k);
            if (rc == AW_OK)
                rc = convert_node(cv, yaml_document_get_node(cv->doc, p->value), depth + 1, &v);
            if (rc == AW_OK)
                rc = aw_ynode_append(n, k, v);
            else
                aw_ynode_free(k);
            if (rc != AW_OK) {
                aw_ynode_free(n);
                return rc == AW_ENOMEM ? aw_error_set(cv->err, AW_ENOMEM, "%s: out of memory", where) : rc;
            }
        }
        break;
    default:
        return aw_error_set(cv->err, AW_ESPEC, "%s: bad YAML: empty node", where);
    }
    if (n == NULL)
        return aw_error_set(cv->err, AW_ENOMEM, "%s: out of memory", where);
    *out = n;
    return AW_OK;
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

int aw_ytree_parse(const char *buf, size_t len, const char *origin, int positions, aw_ynode_t **root,
                   aw_error_t *err)
{
    *root = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory while parsing YAML", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int rc = AW_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = parser_error(&parser, buf, len, origin, positions, err);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    if (top != NULL) {
        convert_t cv = {&doc, origin, positions, 0, err};
        rc = convert_node(&cv, top, 0, root);
    }
    yaml_document_delete(&doc);
    if (rc == AW_OK && top != NULL) {
        /* A second document is an error: a spec is one mapping. */
        if (!yaml_parser_load(&parser, &doc)) {
            rc = parser_error(&parser, buf, len, origin, positions, err);
        } else {
            yaml_node_t *second = yaml_document_get_root_node(&doc);
            if (second != NULL) {
                if (positions)
                    rc = aw_error_set(err, AW_ESPEC, "%s:%d:%d: bad YAML: expected one document, found a second one",
                                      origin, (int)second->start_mark.line + 1, (int)second->start_mark.column + 1);
                else
                    rc = aw_error_set(err, AW_ESPEC, "%s: bad YAML: expected one document, found a second one",
                                      origin);
            }
            yaml_document_delete(&doc);
        }
    }
    yaml_parser_delete(&parser);
    if (rc != AW_OK) {
        aw_ynode_free(*root);
        *root = NULL;
    }
    return rc;
}
