/* store_delete.h: what the database holds for a run, and deleting runs with everything recorded for them
 * (aiwae-run --delete). */
#ifndef AW_STORE_DELETE_H
#define AW_STORE_DELETE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

/* The rows recorded for one run. */
typedef struct aw_store_run_usage {
    int64_t metrics;          /* epochs of metrics */
    int64_t checkpoints;      /* checkpoints kept */
    int64_t checkpoint_bytes; /* their blobs' bytes */
    int64_t evaluations;      /* evaluations, finished or not */
    int64_t eval_points;      /* per-point values of those */
    int64_t events;           /* event log lines */
} aw_store_run_usage_t;

/* Counts what run identity has in each table into *u (zeros for an unknown identity). */
int aw_store_run_usage(aw_store_t *s, const char *identity, aw_store_run_usage_t *u, aw_error_t *err);

/* Deletes the runs identities[n] and every row recorded for them (metrics, checkpoints, evaluations,
 * eval_points, events) in ONE transaction: all of them or, on any failure, nothing. A run marked running
 * whose claiming process is_alive(owner, ctx) says is at work is refused (AW_EARG naming it), as is an
 * identity with no run (AW_ENOTFOUND). */
int aw_store_runs_delete(aw_store_t *s, const char *const *identities, size_t n,
                         int (*is_alive)(const char *owner, void *ctx), void *ctx, aw_error_t *err);

#endif
