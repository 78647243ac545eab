/* results_table.h: the results table of results.h as data, between building it (results_table.c:
 * which evaluations, which rows and columns, the cell statistics) and rendering it (results.c).
 * Internal to those two files. */
#ifndef AW_REPORT_RESULTS_TABLE_H
#define AW_REPORT_RESULTS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "report/results.h"
#include "report/snap.h"

/* One finished evaluation that made it into the table. */
typedef struct aw_res_item {
    const aw_report_run_t *run;  /* its run */
    const aw_store_eval_t *ev;   /* the evaluation */
    char *rowcfg;                /* the run's leaves that tell rows apart, joined by '\n' (owned) */
    char *skey;                  /* estimator settings without the size, then "|split|epoch" (owned) */
    int64_t points;              /* points evaluated */
    int row;                     /* row index */
    int col;                     /* dataset column */
} aw_res_item_t;

typedef struct aw_res_row {
    const aw_report_run_t *first; /* a run of the row, for its method fields */
    const char *rowcfg;           /* borrowed from an item */
    const char *skey;             /* borrowed from an item */
    int64_t points;               /* -1 unless points split this row */
    int sid;                      /* settings letter index */
    char label[512];              /* what the first column shows */
} aw_res_row_t;

typedef struct aw_res_cell {
    double sum, sumsq; /* of the replicate means */
    double mean, sd;   /* results */
    int n;             /* replicates */
    int64_t points;    /* points evaluated (same for all, by construction) */
} aw_res_cell_t;

/* The results table. Set s, q, estimator and split, zero the rest, then build. */
typedef struct aw_res_table {
    const aw_report_snap_t *s;  /* the snapshot (borrowed) */
    const aw_report_query_t *q; /* what was asked (borrowed) */
    const char *estimator;      /* the name of the estimator whose table this is */
    const char *split;          /* data split */
    aw_res_item_t *items;       /* [nitems] evaluations in the table (owned) */
    size_t nitems;              /* number of items */
    size_t running;             /* matching evaluations not finished yet */
    size_t skipped_spec;        /* runs whose stored spec does not load */
    const char **cols;          /* [ncols] dataset names (borrowed from the specs) */
    int ncols;                  /* dataset columns */
    char **skeys;               /* [nskeys] distinct settings keys, in letter order (borrowed from items) */
    int nskeys;                 /* settings keys */
    aw_res_row_t *rows;         /* [nrows] rows, in display order (owned) */
    int nrows;                  /* rows */
    aw_res_cell_t *cells;       /* [nrows * ncols] cell statistics (owned) */
    int nmin, nmax;             /* fewest and most replicates in a non-empty cell */
} aw_res_table_t;

/* Selects the finished evaluations (q's filters, estimator, split, epoch), makes the columns
 * (datasets, the paper's first) and rows (sorted, labelled), and the cell statistics. AW_ENOTFOUND
 * for a --where key no run has, AW_ESPEC / AW_ENOMEM. On failure t still needs aw_res_table_fini. */
int aw_res_table_build(aw_res_table_t *t, aw_error_t *err);

/* Frees what t owns. */
void aw_res_table_fini(aw_res_table_t *t);

/* The run's method setting key (samples, temperatures, leapfrog) as an int, or -1 when its method has none. */
int aw_res_method_int(const aw_spec_t *spec, const char *key);

#endif
