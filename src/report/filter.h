/* filter.h: which runs of the snapshot pass aiwae-report's --dataset, --where and --status (the filters of
 * a query, results.h); the tables and the run listing share it. */
#ifndef AW_REPORT_FILTER_H
#define AW_REPORT_FILTER_H

#include "util/error.h"
#include "report/results.h"
#include "report/snap.h"

/* keep[i] (room for s->n_runs) = 1 for each run that passes q's filters (q NULL or without filters: every
 * run). A run passes when its dataset is one of q->datasets (if any), every q->where holds on its resolved
 * spec, and its status is one of q->status (if any); with --dataset or --where, a run whose stored spec
 * does not load passes none. When the database has runs, it is an error (AW_ENOTFOUND, one line that lists
 * what exists) that a --dataset value names no run's dataset, that a --where key is in no run's spec or
 * its value in no run's spec, or that the --dataset and --where filters, each matching some run, match
 * none together. A --status that matches nothing is not an error. AW_EARG for a --where without "=". */
int aw_report_filter_runs(const aw_report_snap_t *s, const aw_report_query_t *q, unsigned char *keep,
                          aw_error_t *err);

#endif
