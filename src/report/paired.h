/* paired.h: point-by-point comparisons of evaluations that share points. Evaluation points are binarized by
 * their index alone (src/run/evaluate.c), so two runs' values of one test point compare like for like; their
 * difference removes most of the between-point variance. */
#ifndef AW_REPORT_PAIRED_H
#define AW_REPORT_PAIRED_H

#include <stdint.h>

#include "report/grid.h"
#include "report/results.h"
#include "report/snap.h"
#include "store/store.h"

/* Two evaluations on their common points. */
typedef struct aw_paired {
    int64_t n;            /* points both have */
    double mean_a, mean_b; /* their means over those points */
    double diff, se;      /* mean of b - a per point, and its standard error */
    double lo, hi;        /* diff -+ 1.96 se */
} aw_paired_t;

/* Pairs evaluations a and b (of store) by point index. AW_ENOTFOUND when they share no point. */
int aw_report_pair(aw_store_t *store, const aw_store_eval_t *a, const aw_store_eval_t *b, aw_paired_t *out,
                   aw_error_t *err);

/* aiwae-report --compare A B: for each settings of q's table's estimator (and split, epoch) that both runs
 * (snapshot indices ia, ib) evaluated, at each run's newest epoch: points in common, the two means, the mean
 * per-point difference B - A, its standard error and a 95% interval. AW_ENOTFOUND when they share none.
 * With ia == ib: the run's evaluations whose settings differ (each newest epoch), every pair of them, the
 * columns naming the settings items that differ (hmc_precision bf16 against fp32, say). */
int aw_report_compare(aw_store_t *store, const aw_report_snap_t *s, size_t ia, size_t ib,
                      const aw_report_query_t *q, aw_report_format_t fmt, char **out, aw_error_t *err);

/* aiwae-report --table T --baseline LABEL: under the table, each other row's paired difference against the
 * row labelled LABEL, per dataset. AW_ENOTFOUND listing the rows when none has that label. */
int aw_report_baseline(aw_store_t *store, const aw_report_snap_t *s, const aw_report_query_t *q,
                       const char *baseline, aw_report_format_t fmt, char **out, aw_error_t *err);

#endif
