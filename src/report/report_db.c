/* report_db.c: aiwae-report's read-only access to the results database: open with clear
 * errors, a consistent snapshot of runs and evaluations, and the safetensors export. */
#include "report/report_db.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run/run.h"
#include "data/safetensors.h"

int aw_report_open(aw_store_t **out, const char *path, int busy_ms, aw_error_t *err)
{
    *out = NULL;
    struct stat st;
    if (strncmp(path, "file:", 5) != 0) {
        if (stat(path, &st) != 0)
            return aw_error_set(err, AW_EIO, "%s: no such database (%s); aiwae-run creates it, --db names another",
                                path, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return aw_error_set(err, AW_EIO, "%s: not a database file (it is a directory or a device)", path);
    }
    /* aw_store_open waits up to its own 30 s for a lock; a report should say sooner that the
     * file is held, so probe with busy_ms first. Other failures are left to aw_store_open,
     * which names them. */
    sqlite3 *probe = NULL;
    if (sqlite3_open_v2(path, &probe, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(probe, busy_ms) == SQLITE_OK) {
        int e = sqlite3_exec(probe, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
        if ((e & 0xff) == SQLITE_BUSY || (e & 0xff) == SQLITE_LOCKED) {
            sqlite3_close_v2(probe);
            return aw_error_set(err, AW_EDB, "%s: database is locked by another process (waited %d ms); try again",
                                path, busy_ms);
        }
    }
    sqlite3_close_v2(probe);
    aw_store_t *s = NULL;
    int rc = aw_store_open(&s, path, 1, err);
    if (rc < 0)
        return rc;
    if ((rc = aw_store_set_busy_timeout(s, busy_ms, err)) < 0) {
        aw_store_close(s);
        return rc;
    }
    *out = s;
    return AW_OK;
}

static int exec_sql(aw_store_t *s, const char *sql, const char *what, aw_error_t *err)
{
    int e = sqlite3_exec(aw_store_handle(s), sql, NULL, NULL, NULL);
    if (e == SQLITE_OK)
        return AW_OK;
    if ((e & 0xff) == SQLITE_BUSY || (e & 0xff) == SQLITE_LOCKED)
        return aw_error_set(err, AW_EDB, "%s: %s: database is locked by another process", aw_store_path(s), what);
    return aw_error_set(err, AW_EDB, "%s: %s: %s", aw_store_path(s), what, sqlite3_errmsg(aw_store_handle(s)));
}

static int load_run(aw_store_t *s, aw_report_run_t *r, aw_error_t *err)
{
    char label[64];
    snprintf(label, sizeof label, "run %.12s", r->row.identity);
    aw_error_t serr = {0};
    if (aw_spec_from_canonical(r->row.spec, label, &r->spec, &serr) == AW_OK)
        r->spec_ok = 1;
    else
        snprintf(r->spec_error, sizeof r->spec_error, "%.255s", serr.msg);
    aw_store_metrics_t *m = NULL;
    size_t n = 0;
    int rc = aw_store_metrics_list(s, r->row.identity, &m, &n, err);
    if (rc < 0)
        return rc;
    r->recent_epoch_s = NAN;
    if (n > 0) {
        r->last = m[n - 1];
        /* the snapshot keeps the newest row's arrays; the others are freed below */
        m[n - 1].accept = NULL;
        m[n - 1].step = NULL;
        m[n - 1].n_temps = 0;
        r->has_metrics = 1;
        double sum = 0;
        int k = 0;
        for (size_t i = n; i-- > 0 && k < 5;)
            if (isfinite(m[i].seconds)) {
                sum += m[i].seconds;
                k++;
            }
        if (k > 0)
            r->recent_epoch_s = sum / k;
    }
    aw_store_metrics_free(m, n);
    return AW_OK;
}

void aw_report_snap_fini(aw_report_snap_t *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        aw_report_run_t *r = &s->runs[i];
        aw_store_run_fini(&r->row);
        if (r->spec_ok)
            aw_spec_fini(&r->spec);
        if (r->has_metrics) {
            free(r->last.accept);
            free(r->last.step);
        }
    }
    free(s->runs);
    aw_store_evals_free(s->evals, s->n_evals);
    memset(s, 0, sizeof *s);
}

int aw_report_snap_load(aw_store_t *s, aw_report_snap_t *snap, aw_error_t *err)
{
    memset(snap, 0, sizeof *snap);
    int rc = exec_sql(s, "BEGIN", "starting a read transaction", err);
    if (rc < 0)
        return rc;
    aw_store_run_t *runs = NULL;
    size_t n = 0;
    if ((rc = aw_store_runs_list(s, &runs, &n, err)) < 0)
        goto done;
    snap->runs = calloc(n + 1, sizeof *snap->runs);
    if (snap->runs == NULL) {
        aw_store_runs_free(runs, n);
        rc = aw_error_set(err, AW_ENOMEM, "out of memory reading %zu runs", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        snap->runs[i].row = runs[i]; /* ownership moves into the snapshot */
        snap->n_runs++;
    }
    free(runs);
    for (size_t i = 0; i < snap->n_runs && rc == AW_OK; i++)
        rc = load_run(s, &snap->runs[i], err);
    if (rc == AW_OK)
        rc = aw_store_evals_list(s, NULL, &snap->evals, &snap->n_evals, err);
done:
    {
        aw_error_t e2 = {0};
        int rc2 = exec_sql(s, "COMMIT", "ending the read transaction", &e2);
        if (rc == AW_OK && rc2 < 0) {
            rc = rc2;
            *err = e2;
        }
    }
    if (rc < 0)
        aw_report_snap_fini(snap);
    return rc;
}

int aw_report_export(aw_store_t *s, const aw_report_run_t *run, int64_t epoch, const char *path,
                     const char *version, int64_t *epoch_out, aw_error_t *err)
{
    aw_model_t m;
    memset(&m, 0, sizeof m);
    int64_t ep = -1;
    int rc = aw_run_load_model(s, run->row.identity, epoch, &m, &ep, err);
    if (rc < 0)
        return rc;
    aw_st_entry_t ent[AW_ST_MODEL_MAX_TENSORS];
    char names[AW_ST_MODEL_MAX_TENSORS][AW_ST_NAME_LEN];
    size_t n = aw_st_model_entries(&m, ent, names);
    char epoch_s[32];
    snprintf(epoch_s, sizeof epoch_s, "%lld", (long long)ep);
    aw_st_meta_t meta[] = {
        {"format", "pt"},
        {"identity", (char *)run->row.identity},
        {"name", run->row.name},
        {"epoch", epoch_s},
        {"spec", run->row.spec},
        {"aiwae_version", (char *)(version ? version : "")},
    };
    rc = aw_st_write(path, ent, n, meta, sizeof meta / sizeof meta[0], err);
    aw_model_fini(&m);
    if (rc == AW_OK && epoch_out != NULL)
        *epoch_out = ep;
    return rc;
}
