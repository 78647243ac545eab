/* run_match.h: the runs a person means by what they type -- a run's name, a unique prefix of its
 * identity, or a glob over names ('mnist_10epochs-*aiwae*'). The one lookup of runs by name: aiwae-run
 * (--evaluate, --delete) and aiwae-report (--metrics, --curves, --samples, --export, --spec) use it. */
#ifndef AW_STORE_RUN_MATCH_H
#define AW_STORE_RUN_MATCH_H

#include <stddef.h>

#include "store/store.h"
#include "util/error.h"

/* Which of rows[n] (borrowed: pointers into whatever records the caller holds) query names, by
 * position in rows, into hits[] (room for n) and *n_hits, in the order of rows:
 * - a name equal to query names the runs of that name;
 * - otherwise a query with *, ? or [ is a glob (fnmatch) over names;
 * - otherwise 1 to 64 hex digits (any case) name the runs whose identity starts with them.
 * A name or a prefix must name exactly one run, and so must a glob unless many is 1. Errors, one line
 * each: AW_ENOTFOUND when nothing matches (listing the runs whose names contain query, or else the
 * runs there are; or saying there are none) and when several match where one is needed (listing them
 * with their identity prefixes, status and epochs); AW_EARG for an empty query. */
int aw_store_run_match(const aw_store_run_t *const *rows, size_t n, const char *query, int many, size_t *hits,
                       size_t *n_hits, aw_error_t *err);

/* aw_store_run_match over every run of s: the rows it names into a new array *runs of *n, oldest
 * first (free with aw_store_runs_free). */
int aw_store_runs_named(aw_store_t *s, const char *query, int many, aw_store_run_t **runs, size_t *n,
                        aw_error_t *err);

#endif
