/* yamltree.h: a small YAML node tree (scalars, sequences, mappings) in which
 * every node remembers where it came from, so spec errors can say FILE:LINE:COL.
 *
 * Ownership: a node owns its text, its children and their keys; origin strings
 * are borrowed and must outlive the tree. */
#ifndef AW_YAMLTREE_H
#define AW_YAMLTREE_H

#include <stddef.h>

#include "util/error.h"

typedef enum aw_ynode_kind {
    AW_YSCALAR, /* a scalar: text */
    AW_YSEQ,    /* a sequence: vals[n] */
    AW_YMAP     /* a mapping: keys[n] -> vals[n], in document order */
} aw_ynode_kind_t;

typedef struct aw_ynode {
    aw_ynode_kind_t kind;    /* what the node is */
    const char *origin;      /* borrowed: file name or label the node came from */
    int line, col;           /* 1-based position in origin; 0 when origin has no positions */
    char *text;              /* scalar: value, NUL-terminated, owned; NULL for collections */
    size_t len;              /* scalar: bytes in text (a YAML "\0" escape makes strlen(text) < len) */
    int quoted;              /* scalar: 1 when written quoted or as a block scalar (never null or a number) */
    int n;                   /* number of items (sequence) or pairs (mapping) */
    int cap;                 /* allocated slots in keys / vals */
    struct aw_ynode **keys;  /* mapping: key nodes [n], owned (scalars in practice); NULL for a sequence */
    struct aw_ynode **vals;  /* sequence items / mapping values [n], owned */
} aw_ynode_t;

/* Limits that keep alias expansion ("billion laughs") and recursion bounded. */
#define AW_YTREE_MAX_DEPTH 64
#define AW_YTREE_MAX_NODES 100000

/* Parses buf[len] (one YAML document) into *root. An empty stream gives
 * *root == NULL. With positions != 0 nodes get 1-based line/col in origin,
 * else 0/0 (for one-line values such as --set VALUE). Aliases are expanded
 * into copies; an alias inside the node it names, or naming no earlier anchor, is an error. Built from
 * libyaml's events: the parse stops as soon as the depth or node limit is crossed. Errors (AW_ESPEC, one line): "ORIGIN:L:C: bad YAML: <libyaml's
 * problem> (<context> at L:C)", or without positions "ORIGIN: bad YAML:
 * <problem> (at column C of the value)"; AW_ENOMEM when memory runs out.
 * The caller owns *root (aw_ynode_free). */
int aw_ytree_parse(const char *buf, size_t len, const char *origin, int positions, aw_ynode_t **root,
                   aw_error_t *err);

/* New empty sequence or mapping, or NULL when out of memory. */
aw_ynode_t *aw_ynode_new(aw_ynode_kind_t kind, const char *origin, int line, int col);
/* New scalar holding a copy of text[len], or NULL when out of memory. */
aw_ynode_t *aw_ynode_new_scalar(const char *text, size_t len, int quoted, const char *origin, int line,
                                int col);
/* Frees n and everything under it; NULL is fine. */
void aw_ynode_free(aw_ynode_t *n);
/* Deep copy (same origins and positions), or NULL when out of memory. */
aw_ynode_t *aw_ynode_copy(const aw_ynode_t *n);
/* Appends val (sequence: key must be NULL) or the pair key -> val (mapping).
 * Takes ownership of key and val even when it fails (AW_ENOMEM: both freed). */
int aw_ynode_append(aw_ynode_t *parent, aw_ynode_t *key, aw_ynode_t *val);
/* Index of the first pair of mapping map whose key text is key, or -1. */
int aw_ynode_find(const aw_ynode_t *map, const char *key);
/* Removes pair i of a mapping (or item i of a sequence) and frees it. */
void aw_ynode_remove(aw_ynode_t *parent, int i);
/* 1 when n is a plain null scalar: empty, ~, null, Null or NULL. */
int aw_ynode_is_null(const aw_ynode_t *n);
/* 1 when n is a plain scalar spelled as a YAML 1.2 core-schema integer
 * ([-+]?[0-9]+), 2 when spelled as a float ([-+]?(.D+|D+(.D*)?)([eE][-+]?D+)?
 * or [-+]?.inf / .nan in their three casings), else 0. */
int aw_ynode_number_kind(const aw_ynode_t *n);
/* Writes where n came from: "ORIGIN:LINE:COL", or "ORIGIN" without positions. */
void aw_ynode_where(const aw_ynode_t *n, char *buf, size_t size);
/* Writes how n reads in a "found ..." message: a number or null as written,
 * a string in double quotes (shortened), "a sequence of N items", "a mapping". */
void aw_ynode_describe(const aw_ynode_t *n, char *buf, size_t size);

#endif
