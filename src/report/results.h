/* results.h: the paper's tables (NLL, ELBO): methods with their settings as rows, datasets as
 * columns, mean +- standard deviation over replicates, from the snapshot (snap.h), in any format
 * of grid.h. The text is a new malloc'd string *out that the caller frees. */
#ifndef AW_REPORT_RESULTS_H
#define AW_REPORT_RESULTS_H

#include <stdint.h>

#include "util/error.h"
#include "report/grid.h"
#include "report/snap.h"

#define AW_REPORT_MAX_FILTERS 16

/* What to put in a results table. Strings are borrowed. */
typedef struct aw_report_query {
    const char *table;                             /* which table: an estimator's table name ("nll") */
    const char *split;                             /* data split evaluated ("test" if NULL) */
    int64_t epoch;                                 /* evaluations at this epoch; < 0: each run's newest */
    int n_datasets;                                /* 0: every dataset */
    const char *datasets[AW_REPORT_MAX_FILTERS];   /* keep runs whose dataset.name is one of these */
    int n_where;                                   /* conditions, all must hold */
    const char *where[AW_REPORT_MAX_FILTERS];      /* "KEY.PATH=VALUE" on the resolved spec */
    int n_status;                                  /* 0: every status */
    int status[AW_REPORT_MAX_FILTERS];             /* keep runs with one of these (aw_run_status_t) */
    int reference;                                 /* 1: add the IWAE paper's numbers (docs/math.md#reference-numbers) as a column */
} aw_report_query_t;

/* Renders the table: rows are methods with their settings (and whatever else tells runs apart),
 * columns datasets, cells mean +- standard deviation of the finished evaluations over replicates
 * (runs whose resolved specs differ only in name, repeat, seed and threads). Evaluations with
 * different estimator settings, split, epoch or points never share a cell; the settings are
 * listed under the table. Runs are filtered by aw_report_filter_runs (filter.h). Returns 0, AW_EARG
 * (bad where clause), AW_ENOTFOUND (a filter that matches no run, as filter.h says) or AW_ENOMEM. */
int aw_report_results(const aw_report_snap_t *s, const aw_report_query_t *q, aw_report_format_t fmt, char **out,
                      aw_error_t *err);

/* The published MNIST test NLL for the run's method and settings (its plugin's reference: the IWAE paper,
 * Table 1), or NaN. */
double aw_report_reference(const aw_spec_t *spec);

#endif
