/* listing.h: aiwae-report's run listing and a run's per-epoch metrics, from the snapshot
 * (snap.h), in any format of grid.h. The text is a new malloc'd string *out that the caller frees. */
#ifndef AW_REPORT_LISTING_H
#define AW_REPORT_LISTING_H

#include <stddef.h>

#include "util/error.h"
#include "report/grid.h"
#include "report/results.h"
#include "report/snap.h"
#include "store/store.h"

/* One line per run that passes q's filters (aw_report_filter_runs; q may be NULL): short identity, name,
 * the values of the training keys that differ between the runs listed (aw_report_spec_diff), status,
 * epoch / total, last training bound, points/s, last update, and an ETA for running runs (from the
 * recent epochs' time). A filter that matches no run is an error, as filter.h says. */
int aw_report_runs(const aw_report_snap_t *s, const aw_report_query_t *q, aw_report_format_t fmt, char **out,
                   aw_error_t *err);

/* The per-epoch metrics rows[n] of run r (acceptance rate and step size per temperature for
 * methods that have temperatures), with its finished evaluations from s listed under the table. */
int aw_report_metrics(const aw_report_snap_t *s, const aw_report_run_t *r, const aw_store_metrics_t *rows, size_t n,
                      aw_report_format_t fmt, char **out, aw_error_t *err);

#endif
