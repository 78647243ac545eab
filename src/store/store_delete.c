/* store_delete.c: a run's rows counted, and runs deleted with all their rows (store_delete.h). */
#include "store/store_delete.h"

#include <stdio.h>
#include <string.h>

#include "store/store_db.h"

/* The tables that hold rows of a run, children first. */
static const char *const TABLES[] = {"eval_points", "evaluations", "metrics", "checkpoints", "events", "runs"};

int aw_store_run_usage(aw_store_t *s, const char *identity, aw_store_run_usage_t *u, aw_error_t *err)
{
    memset(u, 0, sizeof *u);
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    const char *what = "counting a run's rows";
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what,
                    "SELECT (SELECT count(*) FROM metrics WHERE identity = ?1),"
                    " (SELECT count(*) FROM checkpoints WHERE identity = ?1),"
                    " (SELECT coalesce(sum(length(blob)), 0) FROM checkpoints WHERE identity = ?1),"
                    " (SELECT count(*) FROM evaluations WHERE identity = ?1),"
                    " (SELECT count(*) FROM eval_points WHERE identity = ?1),"
                    " (SELECT count(*) FROM events WHERE identity = ?1)",
                    "t", identity);
    if (rc != 0)
        return rc;
    rc = aw_sq_step(s, err, st, what);
    if (rc == 1) {
        int64_t *f[] = {&u->metrics, &u->checkpoints, &u->checkpoint_bytes, &u->evaluations, &u->eval_points,
                        &u->events};
        for (int i = 0; i < 6; i++)
            *f[i] = sqlite3_column_int64(st, i);
        rc = 0;
    }
    return aw_sq_end(s, err, st, rc, what);
}

/* Inside the transaction: AW_ENOTFOUND / AW_EARG unless run identity exists and no live process holds it. */
static int check_deletable(aw_store_t *s, const char *identity, int (*is_alive)(const char *, void *), void *ctx,
                           aw_error_t *err)
{
    aw_store_run_t r;
    int rc = aw_store_run_get(s, identity, &r, err);
    if (rc != 0)
        return rc;
    if (r.status == AW_RUN_RUNNING && is_alive != NULL && is_alive(r.message, ctx))
        rc = aw_error_set(err, AW_EARG, "run %s (%.12s) is being run by %s; stop that process first", r.name,
                          r.identity, r.message);
    aw_store_run_fini(&r);
    return rc;
}

int aw_store_runs_delete(aw_store_t *s, const char *const *identities, size_t n,
                         int (*is_alive)(const char *owner, void *ctx), void *ctx, aw_error_t *err)
{
    const char *what = "deleting runs";
    int rc = aw_sq_begin(s, err, what);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = check_deletable(s, identities[i], is_alive, ctx, err);
        for (size_t t = 0; t < sizeof TABLES / sizeof TABLES[0] && rc == 0; t++) {
            char sql[128];
            snprintf(sql, sizeof sql, "DELETE FROM %s WHERE identity = ?", TABLES[t]);
            rc = aw_sq_exec(s, err, NULL, what, sql, "t", identities[i]);
        }
    }
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0)
        aw_sq_abort(s);
    return rc;
}
