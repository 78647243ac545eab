/* spec_paths.h: a run's resolved spec (canonical YAML) seen as KEY.PATH=VALUE leaves, for telling
 * table rows apart, and the --where test of one KEY.PATH against a value. */
#ifndef AW_REPORT_SPEC_PATHS_H
#define AW_REPORT_SPEC_PATHS_H

#include <stddef.h>

#include "util/error.h"

/* The leaves of a spec, in document order. Zero-initialise; release with aw_report_leaves_fini. */
typedef struct aw_report_leaves {
    char **kv;  /* "key.path=value" strings (a list of scalars is one leaf "[a,b]"), owned */
    size_t n;   /* number of leaves */
    int oom;    /* an allocation failed */
} aw_report_leaves_t;

/* Frees the leaves and zeroes l. */
void aw_report_leaves_fini(aw_report_leaves_t *l);

/* Appends the leaves of the canonical spec yaml to l. AW_ESPEC when it does not parse, AW_ENOMEM. */
int aw_report_spec_leaves(const char *yaml, aw_report_leaves_t *l, aw_error_t *err);

/* 1 if the canonical spec yaml has a scalar at key_path ("a.b[0].c" or "a.b.0.c") equal to
 * value (as text, or as numbers when both read as numbers), 0 if it differs or is not a scalar,
 * -1 if the key is absent; AW_ESPEC / AW_ENOMEM (< -1) when yaml does not parse. */
int aw_report_spec_match(const char *yaml, const char *key_path, const char *value, aw_error_t *err);

/* The leaf key path of the canonical spec yaml nearest to key_path (util/suggest.h) into out[n], or ""
 * when none is near or yaml does not parse: the "did you mean" of a --where key no run has. */
void aw_report_spec_suggest(const char *yaml, const char *key_path, char *out, size_t n);
/* The value at key_path of the canonical spec yaml as text into buf[n]: a scalar as written ("~" for
 * null), a list of scalars in its flat form "[200,200]", "{...}" for a mapping and "[...]" for other
 * lists. 1 when found, 0 when the key is absent; AW_ESPEC / AW_ENOMEM when yaml does not parse. */
int aw_report_spec_value(const char *yaml, const char *key_path, char *buf, size_t n, aw_error_t *err);

#endif
