/* load.h: what the spec loader's files share (internal to src/spec/): one load's error record, typed reads
 * of YAML scalars with "WHERE: KEY.PATH: expected WHAT, found X" messages, key checks of mappings. */
#ifndef AW_SPEC_LOAD_H
#define AW_SPEC_LOAD_H

#include <stddef.h>

#include "methods/settings.h"
#include "spec/keypath.h"
#include "spec/spec.h"
#include "spec/yamltree.h"

#define PATH_MAX_LEN 512 /* bytes of a KEY.PATH in messages */

/* One load: the error record and the origin strings of --set nodes. */
typedef struct load {
    aw_error_t *err;       /* where problems go */
    char **origins;        /* owned "--set ..." labels that nodes borrow */
    int n_origins;         /* used entries */
    int cap_origins;       /* allocated entries */
} load_t;

/* The default evaluate list as spec text: the estimators' default entries in table order. */
const char *aw_spec_default_evaluate(void);
/* The origin its nodes carry in messages. */
extern const char AW_SPEC_DEFAULT_EVALUATE_ORIGIN[];
/* Parses the default evaluate list into *out. */
int aw_spec_parse_default_evaluate(aw_ynode_t **out, aw_error_t *err);

/* ---- read.c: errors, typed reads, key checks ---- */

/* "WHERE: PATH: <fmt>" (WHERE from at's origin and marks); returns AW_ESPEC. */
__attribute__((format(printf, 4, 5))) int aw_spec_fail(load_t *L, const aw_ynode_t *at, const char *path,
                                                       const char *fmt, ...);
/* "WHERE: PATH: expected WHAT, found <at>" */
int aw_spec_expected(load_t *L, const aw_ynode_t *at, const char *path, const char *what);
int aw_spec_oom(load_t *L);

/* out = path.key (or key at the top). */
void aw_spec_join_path(char *out, size_t size, const char *path, const char *key);
/* Index of s in the NULL-terminated list, or -1. */
int aw_spec_in_list(const char *const *list, const char *s);
/* "a, b, c" */
void aw_spec_join_list(const char *const *list, char *out, size_t size);
/* Whether c may stand in a run name (first: at its start). */
int aw_spec_name_char_ok(char c, int first);

/* Value of key in map, or NULL when map is NULL, the key is absent or its value is null. */
const aw_ynode_t *aw_spec_get(const aw_ynode_t *map, const char *key);

/* Typed reads of node v, named path in messages; expect (or NULL) replaces the range in messages. */
int aw_spec_read_int(load_t *L, const aw_ynode_t *v, const char *path, long long lo, long long hi,
                     const char *expect, long long *out);
int aw_spec_read_float(load_t *L, const aw_ynode_t *v, const char *path, const aw_key_t *k, float *out);
int aw_spec_read_string(load_t *L, const aw_ynode_t *v, const char *path, const char *what, char *out,
                        size_t size);
/* v as one of words: its index. */
int aw_spec_read_word(load_t *L, const aw_ynode_t *v, const char *path, const char *const *words, int *out);

/* Checks every key of map: a scalar, one of known, not repeated. */
int aw_spec_check_keys(load_t *L, const aw_ynode_t *map, const char *path, const char *const *known);
/* map[key] as a section: NULL when absent or null, else a mapping whose keys are checked against known. */
int aw_spec_get_section(load_t *L, const aw_ynode_t *map, const char *path, const char *key,
                        const char *const *known, const aw_ynode_t **out);

/* ---- schema.c ---- */

/* Validates the tree of one run (sweep already removed) into s (zeroed by the caller); default_name is
 * used when the spec gives none. */
int aw_spec_resolve(load_t *L, const aw_ynode_t *root, const char *default_name, aw_spec_t *s);
/* The keys a spec's top level accepts, NULL-terminated. */
extern const char *const AW_SPEC_ROOT_KEYS[];

/* ---- canon.c ---- */

/* Fills s->canonical and s->identity. */
int aw_spec_finish(load_t *L, aw_spec_t *s);

/* ---- keypath.c: --set overrides ---- */

/* Applies one "KEY.PATH=VALUE" override to root. */
int aw_spec_apply_override(load_t *L, aw_ynode_t *root, const char *arg);
/* Sets the node at p in root to value (owned; freed on failure); at locates nodes created on the way. */
int aw_spec_set_path(load_t *L, aw_ynode_t *root, const aw_keypath_t *p, aw_ynode_t *value, const aw_ynode_t *at);

/* ---- sweep.c ---- */

/* One sweep key with its values. */
typedef struct aw_sweep_key {
    aw_keypath_t path;       /* where values go */
    const aw_ynode_t *key;   /* borrowed: the key node (locates created nodes) */
    const aw_ynode_t *vals;  /* borrowed: the sequence of values */
} aw_sweep_key_t;

/* Base name from a file name: base name without extension, unsafe bytes as _. */
void aw_spec_default_name(const char *label, char *out, size_t size);
/* Reads the sweep mapping of root into keys[*nk] and removes it from root (*sweep owns it). */
int aw_spec_take_sweep(load_t *L, aw_ynode_t *root, aw_sweep_key_t **keys, int *nk, aw_ynode_t **sweep,
                       long *nruns);
/* AW_ESPEC when an override ("KEY.PATH=VALUE", already applied) sets something a sweep key also sets, which
 * the sweep's values would replace: the same key, a key under it, or a parent whose VALUE holds it. */
int aw_spec_check_sweep_overrides(load_t *L, const char *const *overrides, int n, const aw_sweep_key_t *keys,
                                  int nk);
/* Builds run r of the sweep (odometer, first key slowest) into s. */
int aw_spec_make_run(load_t *L, const aw_ynode_t *root, const aw_sweep_key_t *keys, int nk, long r,
                     const char *base, aw_spec_t *s);

#endif
