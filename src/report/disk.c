/* disk.c: the disk-use listing (disk.h). */
#include "report/disk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "run/retention.h"
#include "util/sbuf.h"

#define MB 1e6
/* Epochs listed in full; beyond this the first and last few are shown around a count. */
#define LIST_MAX 12
#define LIST_ENDS 5

/* "1 4 13 40 121" (oldest first; a mid-epoch checkpoint as EPOCH+STEPS) into b from refs[n], newest first. */
static void epochs_text(aw_sbuf_t *b, const aw_store_ckpt_ref_t *refs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (n > LIST_MAX && k == LIST_ENDS) {
            aw_sbuf_printf(b, " ... (%zu more)", n - 2 * LIST_ENDS);
            k = n - LIST_ENDS;
        }
        const aw_store_ckpt_ref_t *r = &refs[n - 1 - k];
        aw_sbuf_printf(b, "%s%lld", k ? " " : "", (long long)r->epoch);
        if (r->position > 0)
            aw_sbuf_printf(b, "+%lld", (long long)r->position);
    }
}

/* One run's row; adds its bytes to *total. */
static int disk_row(aw_store_t *store, aw_grid_t *g, const aw_report_run_t *r, aw_report_format_t fmt,
                    double *total, aw_error_t *err)
{
    aw_store_ckpt_ref_t *refs = NULL;
    size_t n = 0;
    int rc = aw_store_checkpoints_list(store, r->row.identity, &refs, &n, err);
    if (rc < 0)
        return rc;
    double bytes = 0;
    for (size_t k = 0; k < n; k++)
        bytes += (double)refs[k].bytes;
    *total += bytes;
    aw_cell_t *row = aw_grid_row(g);
    if (row != NULL) {
        char id[16];
        snprintf(id, sizeof id, "%.12s", r->row.identity);
        aw_grid_text(g, &row[0], fmt == AW_FMT_CSV || fmt == AW_FMT_JSON ? r->row.identity : id);
        aw_grid_text(g, &row[1], r->row.name);
        aw_grid_text(g, &row[2], aw_run_status_name(r->row.status));
        aw_grid_num(g, &row[3], (double)n, "%.0f");
        aw_sbuf_t b = {0};
        epochs_text(&b, refs, n);
        aw_grid_text(g, &row[4], b.oom ? "" : b.p ? b.p : "");
        g->oom |= b.oom;
        aw_sbuf_fini(&b);
        aw_grid_num(g, &row[5], bytes / MB, "%.1f");
        /* When finished: the checkpoints the rule keeps, each the size of the newest one. */
        double at_end = r->spec_ok ? (double)aw_run_kept_count(&r->spec) : NAN;
        aw_grid_num(g, &row[6], at_end, "%.0f");
        aw_grid_num(g, &row[7], n > 0 ? at_end * (double)refs[0].bytes / MB : NAN, "%.1f");
    }
    free(refs);
    return AW_OK;
}

int aw_report_disk(aw_store_t *store, const aw_report_snap_t *s, aw_report_format_t fmt, char **out,
                   aw_error_t *err)
{
    static const char *keys[] = {"identity", "name", "status", "checkpoints", "epochs", "mb", "checkpoints_at_end",
                                 "mb_at_end"};
    static const char *heads[] = {"Run", "Name", "Status", "Checkpoints", "Epochs kept", "MB", "At end", "MB at end"};
    aw_grid_t g = {.ncol = 8, .keys = keys, .heads = heads, .align = "lllrlrrr"};
    double total = 0;
    int rc = AW_OK;
    for (size_t i = 0; i < s->n_runs && rc == AW_OK; i++)
        rc = disk_row(store, &g, &s->runs[i], fmt, &total, err);
    if (rc == AW_OK) {
        if (s->n_runs == 0)
            aw_grid_note(&g, "The database has no runs yet.");
        else
            aw_grid_note(&g, "Checkpoints: %.1f MB in all (MB = 10^6 bytes). Epochs kept: EPOCH+STEPS is a "
                         "mid-epoch checkpoint. At end: what the retention rule keeps once the run has finished "
                         "(docs/cli.md#disk-use).", total / MB);
        rc = aw_grid_render(&g, "Disk use", fmt, out, err);
    }
    aw_grid_fini(&g);
    return rc;
}
