/* find.h: a run of the snapshot by what people type: its name or a prefix of its identity. */
#ifndef AW_REPORT_FIND_H
#define AW_REPORT_FIND_H

#include <stddef.h>

#include "util/error.h"
#include "report/snap.h"

/* The run named by query: its full name, or a unique prefix of its identity (hex, any case).
 * *index receives its position in s->runs. AW_ENOTFOUND when nothing matches (the message
 * lists the runs there are, or says the database has none) or when several do (it lists them). */
int aw_report_find_run(const aw_report_snap_t *s, const char *query, size_t *index, aw_error_t *err);

#endif
