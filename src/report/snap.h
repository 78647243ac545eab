/* snap.h: the in-memory snapshot of the results database that every table and listing of
 * aiwae-report reads (report_db.h fills and releases it). The snapshot owns all its rows;
 * functions taking it borrow it. */
#ifndef AW_REPORT_SNAP_H
#define AW_REPORT_SNAP_H

#include <stddef.h>

#include "spec/spec.h"
#include "store/store.h"

/* One run of the snapshot. */
typedef struct aw_report_run {
    aw_store_run_t row;       /* its row of table runs (owned) */
    aw_spec_t spec;           /* resolved spec rebuilt from row.spec (owned; valid when spec_ok) */
    int spec_ok;              /* 1 if row.spec loaded */
    char spec_error[256];     /* why it did not load, else "" */
    int has_metrics;          /* 1 if at least one epoch's metrics exist */
    aw_store_metrics_t last;  /* the newest metrics row (owned arrays; valid when has_metrics) */
    double recent_epoch_s;    /* mean wall seconds of the newest (up to 5) epochs; NaN without metrics */
    char job[160];            /* cluster mode: the task's latest job ("slurm job 12_3 ... on HOST"), else "" */
} aw_report_run_t;

/* Everything the tables read, taken in one read transaction. */
typedef struct aw_report_snap {
    aw_report_run_t *runs;  /* [n_runs], oldest first (owned) */
    size_t n_runs;          /* number of runs */
    aw_store_eval_t *evals; /* [n_evals] evaluations of all runs (owned) */
    size_t n_evals;         /* number of evaluations */
} aw_report_snap_t;

#endif
