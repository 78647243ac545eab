/* progress.c: aiwae-report's view of runs still in their task files (cluster.h): each training task's file
 * read read-only, its run shown in place of the main database's row when the file is further along. */
#include "cluster/cluster.h"
#include "cluster/cluster_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_db.h"

#define REPORT_BUSY_MS 5000

/* Whether the task file's row t is news to the main database's row m. */
static int newer(const aw_store_run_t *t, const aw_store_run_t *m)
{
    if (t->epoch != m->epoch)
        return t->epoch > m->epoch;
    return m->status != AW_RUN_FINISHED && (t->status != m->status || strcmp(t->updated, m->updated) > 0);
}

/* The message of the newest "task" event of run identity in s into job[n] ("" when there is none). */
static int latest_job(aw_store_t *s, const char *identity, char *job, size_t n, aw_error_t *err)
{
    aw_store_event_t *ev = NULL;
    size_t ne = 0;
    job[0] = '\0';
    int rc = aw_store_events_list(s, identity, &ev, &ne, err);
    for (size_t i = 0; rc == AW_OK && i < ne; i++)
        if (strcmp(ev[i].kind, "task") == 0)
            snprintf(job, n, "%s", ev[i].message);
    aw_store_events_free(ev, ne);
    return rc;
}

/* Folds the runs of one task file's snapshot t into snap (entries move; t keeps what it replaced). */
static int fold(aw_report_snap_t *snap, aw_report_snap_t *t, aw_error_t *err)
{
    for (size_t i = 0; i < t->n_runs; i++) {
        aw_report_run_t *r = &t->runs[i];
        size_t at = 0;
        while (at < snap->n_runs && strcmp(snap->runs[at].row.identity, r->row.identity) != 0)
            at++;
        if (at < snap->n_runs) {
            char job[sizeof r->job];
            memcpy(job, r->job, sizeof job);
            if (newer(&r->row, &snap->runs[at].row)) {
                aw_report_run_t tmp = snap->runs[at];
                snap->runs[at] = *r;
                *r = tmp;
            }
            memcpy(snap->runs[at].job, job, sizeof job);
            continue;
        }
        aw_report_run_t *g = realloc(snap->runs, (snap->n_runs + 1) * sizeof *g);
        if (g == NULL)
            return aw_error_set(err, AW_ENOMEM, "out of memory");
        snap->runs = g;
        snap->runs[snap->n_runs++] = *r;
        memset(r, 0, sizeof *r);
    }
    return AW_OK;
}

int aw_cluster_overlay(const char *db_path, aw_report_snap_t *snap, int *n_files, aw_error_t *err)
{
    *n_files = 0;
    char dir[AW_CLUSTER_DIR_MAX];
    if (strncmp(db_path, "file:", 5) == 0)
        return AW_OK; /* a URI names no task directory */
    int rc = aw_cluster_dir(db_path, dir, err);
    char **files = NULL;
    size_t n = 0;
    if (rc == AW_OK)
        rc = aw_cl_list(dir, &files, &n, err);
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        if (!aw_cl_is_train_file(files[i]))
            continue;
        aw_store_t *s = NULL;
        aw_report_snap_t t = {0};
        if ((rc = aw_report_open(&s, files[i], REPORT_BUSY_MS, err)) == AW_OK &&
            (rc = aw_report_snap_load(s, &t, err)) == AW_OK) {
            for (size_t j = 0; j < t.n_runs && rc == AW_OK; j++)
                rc = latest_job(s, t.runs[j].row.identity, t.runs[j].job, sizeof t.runs[j].job, err);
            if (rc == AW_OK)
                rc = fold(snap, &t, err);
            *n_files += rc == AW_OK;
        }
        aw_report_snap_fini(&t);
        aw_store_close(s);
    }
    aw_cl_names_free(files, n);
    return rc;
}
