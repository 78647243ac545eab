/* store_migrate.c: the schema migrations that need more than SQL. Schema 2 keys every run by the identity of
 * its training alone (docs/schema.md): each run's stored spec is read back and its identity recomputed by the
 * spec's current rule; its rows in every table are re-keyed; runs that turn out to be one training (they
 * differed only in evaluations, train.threads or train.checkpoint_every) become one run, keeping the most
 * advanced lineage and the evaluations of all. Runs inside the caller's transaction: any failure leaves the
 * database as it was. */
#include "store/store_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"
#include "store/store_db.h"

/* One run as found before the migration. */
typedef struct old_run {
    char *identity, *spec, *name;
    char next[AW_STORE_ID_LEN + 1]; /* its identity by the current rule */
} old_run_t;

static void runs_free(old_run_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].identity);
        free(r[i].spec);
        free(r[i].name);
    }
    free(r);
}

/* Every run, the most advanced first (finished, then by epoch), so that the lineage kept when runs fold
 * together is the one that trained furthest. */
static int list_runs(aw_store_t *s, old_run_t **out, size_t *n, aw_error_t *err)
{
    const char *what = "upgrading to schema 2: listing runs";
    sqlite3_stmt *st;
    *out = NULL, *n = 0;
    size_t cap = 0;
    int rc = aw_sq_prep(s, err, &st, what,
                        "SELECT identity, spec, name FROM runs ORDER BY status = 'finished' DESC, epoch DESC, "
                        "created, identity", "");
    while (rc == 0 && (rc = aw_sq_step(s, err, st, what)) == 1) {
        if (aw_sq_grow((void **)out, &cap, *n, sizeof **out) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: out of memory %s", s->path, what);
            break;
        }
        old_run_t *r = &(*out)[*n];
        memset(r, 0, sizeof *r);
        (*n)++;
        if ((rc = aw_sq_col_str(s, err, st, 0, 0, &r->identity)) == 0 &&
            (rc = aw_sq_col_str(s, err, st, 1, 0, &r->spec)) == 0)
            rc = aw_sq_col_str(s, err, st, 2, 0, &r->name);
    }
    return aw_sq_end(s, err, st, rc < 0 ? rc : 0, what);
}

/* Moves every row of run from to identity to (no run is keyed to yet). */
static int rekey(aw_store_t *s, const char *from, const char *to, aw_error_t *err)
{
    static const char *const sql[] = {
        "UPDATE runs SET identity = ?2 WHERE identity = ?1",
        "UPDATE metrics SET identity = ?2 WHERE identity = ?1",
        "UPDATE checkpoints SET identity = ?2 WHERE identity = ?1",
        "UPDATE evaluations SET identity = ?2 WHERE identity = ?1",
        "UPDATE eval_points SET identity = ?2 WHERE identity = ?1",
        "UPDATE events SET identity = ?2 WHERE identity = ?1",
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0] && rc == 0; i++)
        rc = aw_sq_exec(s, err, NULL, "upgrading to schema 2: re-keying a run", sql[i], "tt", from, to);
    return rc;
}

/* Folds run from into run to (the same training): the evaluations to lacks move over with their points,
 * from's training rows go, its events stay with a note. */
static int fold(aw_store_t *s, const old_run_t *from, const char *to, aw_error_t *err)
{
    static const char *const sql[] = {
        "INSERT INTO eval_points SELECT ?2, p.estimator, p.settings, p.split, p.epoch, p.idx, p.value"
        " FROM eval_points p WHERE p.identity = ?1 AND NOT EXISTS (SELECT 1 FROM evaluations e"
        " WHERE e.identity = ?2 AND e.estimator = p.estimator AND e.settings = p.settings AND e.split = p.split"
        " AND e.epoch = p.epoch)",
        "INSERT OR IGNORE INTO evaluations SELECT ?2, estimator, settings, split, epoch, n_total, n_done, n,"
        " mean, stderr, seconds, status, created, updated FROM evaluations WHERE identity = ?1",
        "DELETE FROM eval_points WHERE identity = ?1 AND ?2 IS NOT NULL",
        "DELETE FROM evaluations WHERE identity = ?1 AND ?2 IS NOT NULL",
        "DELETE FROM metrics WHERE identity = ?1 AND ?2 IS NOT NULL",
        "DELETE FROM checkpoints WHERE identity = ?1 AND ?2 IS NOT NULL",
        "DELETE FROM runs WHERE identity = ?1 AND ?2 IS NOT NULL",
        "UPDATE events SET identity = ?2 WHERE identity = ?1",
    };
    const char *what = "upgrading to schema 2: folding runs of one training";
    int rc = 0;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0] && rc == 0; i++)
        rc = aw_sq_exec(s, err, NULL, what, sql[i], "tt", from->identity, to);
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what,
                        "INSERT INTO events(identity, time, kind, message) VALUES (?, " NOW ", 'migrated', "
                        "'run ' || ? || ' (' || ? || ') had the same training: its evaluations are this run''s')",
                        "ttt", to, from->name, from->identity);
    return rc;
}

int aw_store_migrate_identities(aw_store_t *s, aw_error_t *err)
{
    old_run_t *runs;
    size_t n;
    int rc = list_runs(s, &runs, &n, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char label[128];
        snprintf(label, sizeof label, "run %s", runs[i].identity);
        aw_error_t e = {0};
        if (aw_spec_identity_of(runs[i].spec, label, runs[i].next, &e) != AW_OK) {
            rc = aw_error_set(err, AW_EDB, "%s: cannot upgrade to schema 2 (runs keyed by their training): the "
                              "stored spec of run %s (%s) does not load: %s; the database was not changed",
                              s->path, runs[i].name, runs[i].identity, e.msg);
            break;
        }
        size_t j = 0;
        while (j < i && strcmp(runs[j].next, runs[i].next) != 0)
            j++;
        if (j < i)
            rc = fold(s, &runs[i], runs[i].next, err);
        else if (strcmp(runs[i].identity, runs[i].next) != 0)
            rc = rekey(s, runs[i].identity, runs[i].next, err);
    }
    runs_free(runs, n);
    return rc;
}
