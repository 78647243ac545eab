/* html.h: aiwae-report --html: one self-contained HTML page (no scripts, fonts or anything else fetched
 * from elsewhere) with the results tables, the run listing, and for each run its evaluations with their
 * settings, its curves (SVG) and its sample grid (PNG), the pictures embedded as data: URIs. */
#ifndef AW_REPORT_HTML_H
#define AW_REPORT_HTML_H

#include "util/error.h"
#include "report/results.h"
#include "report/snap.h"
#include "store/store.h"

/* Writes the page for the runs of snap to path; q's filters (dataset, where, split, epoch, reference)
 * shape the tables, q->table is ignored (every estimator's table is shown). A run's picture that cannot
 * be drawn (its data files missing, no checkpoint, no cairo) is replaced by a note saying why. Pictures
 * go through temporary files next to path. AW_EIO when path cannot be written, the table errors,
 * AW_ENOMEM. */
int aw_report_html(aw_store_t *store, const aw_report_snap_t *snap, const aw_report_query_t *q, const char *path,
                   aw_error_t *err);

#endif
