/* report_db.h: aiwae-report's read-only side of the results database: opening it with clear
 * errors, taking a consistent snapshot (snap.h), and exporting a run's parameters.
 *
 * Nothing here writes to the database; every read works while aiwae-run is writing (WAL).
 * Ownership: snapshots are the caller's (aw_report_snap_fini). */
#ifndef AW_REPORT_DB_H
#define AW_REPORT_DB_H

#include <stdint.h>

#include "util/error.h"
#include "report/snap.h"
#include "store/store.h"

/* Opens path read-only for reporting, waiting at most busy_ms for a lock. Errors, each one line
 * naming path: AW_EIO "no such database" when the file does not exist (or is not a regular
 * file); AW_EDB when it is not SQLite, not an aiwae database, has a newer schema, or stays
 * locked. *out is NULL on failure. */
int aw_report_open(aw_store_t **out, const char *path, int busy_ms, aw_error_t *err);

/* Releases what a snapshot owns and zeroes it; safe on a zeroed snapshot. */
void aw_report_snap_fini(aw_report_snap_t *s);

/* Reads every run (with its spec rebuilt, its newest metrics row and recent epoch time) and
 * every evaluation into *snap (initialized here), inside one read transaction so the rows agree
 * with each other even while a run commits. AW_EDB / AW_ENOMEM on failure (snap left empty). */
int aw_report_snap_load(aw_store_t *s, aw_report_snap_t *snap, aw_error_t *err);

/* Exports run identity's parameters (the checkpoint at the end of `epoch`, or the newest when
 * epoch < 0) to path in the safetensors format under the original PyTorch names (see
 * safetensors.h), with metadata "format" = "pt", "identity", "name", "epoch", "spec" (the
 * resolved canonical YAML) and "aiwae_version" = version. *epoch_out gets the epoch exported. */
int aw_report_export(aw_store_t *s, const aw_report_run_t *run, int64_t epoch, const char *path,
                     const char *version, int64_t *epoch_out, aw_error_t *err);

#endif
