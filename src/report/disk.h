/* disk.h: aiwae-report --disk: what each run keeps on disk. One line per run: its checkpoints (how
 * many, at which epochs, their bytes) and what the retention rule (run/retention.h) will keep when it
 * has finished; the notes give the database's total. */
#ifndef AW_REPORT_DISK_H
#define AW_REPORT_DISK_H

#include "util/error.h"
#include "report/grid.h"
#include "report/snap.h"
#include "store/store.h"

/* The listing of the runs of s (their checkpoints read from store) into a new string *out. */
int aw_report_disk(aw_store_t *store, const aw_report_snap_t *s, aw_report_format_t fmt, char **out,
                   aw_error_t *err);

#endif
