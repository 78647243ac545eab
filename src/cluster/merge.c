/* merge.c: task files into the main database (cluster.h): the union of their rows by natural keys, one
 * transaction per file, conflicts named by both files, then the evaluations whose points are complete. */
#include "cluster/cluster.h"
#include "cluster/cluster_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table's rows that must agree wherever two files hold the same key: its key columns, the values
 * compared (IS, so NULLs agree), and which rows (f: the task file's row, m: the main database's). */
typedef struct mtable {
    const char *name, *keys, *vals, *filter;
} mtable_t;

static const mtable_t TABLES[] = {
    {"metrics", "identity, epoch", "loss, bound, lr, accept, step", "1"},
    {"checkpoints", "identity, epoch, position", "blob", "f.keep = 1 AND m.keep = 1"},
    {"evaluations", "identity, estimator, settings, split, epoch", "n_total", "1"},
    {"evaluations", "identity, estimator, settings, split, epoch", "mean, stderr, n",
     "f.status = 'finished' AND m.status = 'finished'"},
    {"eval_points", "identity, estimator, settings, split, epoch, idx", "value", "1"},
};
enum { N_TABLES = sizeof TABLES / sizeof TABLES[0], MAX_KEYS = 6 };

/* "x.a IS m.a AND x.b IS m.b" for the columns cols (comma separated). */
static void same_values(char *out, size_t n, const char *x, const char *cols)
{
    size_t at = 0;
    out[0] = '\0';
    for (const char *p = cols; *p != '\0' && at < n;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *q = p;
        while (*q != '\0' && *q != ',')
            q++;
        at += (size_t)snprintf(out + at, n - at, "%s%s.%.*s IS m.%.*s", at ? " AND " : "", x, (int)(q - p), p,
                               (int)(q - p), p);
        p = q;
    }
}

/* The main database's key values of one conflict, to find which other file holds them. */
typedef struct conflict {
    const mtable_t *t;
    int nkeys;
    sqlite3_value *key[MAX_KEYS];
    char what[512]; /* "metrics (identity=..., epoch=3)" */
} conflict_t;

static void conflict_fini(conflict_t *c)
{
    for (int i = 0; i < c->nkeys; i++)
        sqlite3_value_free(c->key[i]);
    c->nkeys = 0;
}

/* Looks in file f (attached as t) for a row of table T that disagrees with main; *found = 1 and c filled. */
static int find_conflict(aw_store_t *s, const mtable_t *T, conflict_t *c, int *found, aw_error_t *err)
{
    char same[512], sql[1400];
    same_values(same, sizeof same, "f", T->vals);
    snprintf(sql, sizeof sql, "SELECT %s FROM t.%s AS f JOIN main.%s AS m USING (%s) WHERE (%s) AND NOT (%s) LIMIT 1",
             T->keys, T->name, T->name, T->keys, T->filter, same);
    sqlite3_stmt *st;
    int rc = aw_cl_prep(s, err, "comparing the task file with the main database", sql, 0, NULL, &st);
    if (rc < 0)
        return rc;
    *found = 0;
    int e = sqlite3_step(st);
    if (e == SQLITE_ROW) {
        *found = 1;
        c->t = T;
        c->nkeys = sqlite3_column_count(st);
        size_t at = (size_t)snprintf(c->what, sizeof c->what, "%s (", T->name);
        for (int i = 0; i < c->nkeys && i < MAX_KEYS; i++) {
            c->key[i] = sqlite3_value_dup(sqlite3_column_value(st, i));
            const char *v = (const char *)sqlite3_column_text(st, i);
            if (at < sizeof c->what)
                at += (size_t)snprintf(c->what + at, sizeof c->what - at, "%s%s=%s", i ? ", " : "",
                                       sqlite3_column_name(st, i), v ? v : "NULL");
        }
        if (at < sizeof c->what)
            snprintf(c->what + at, sizeof c->what - at, ")");
    } else if (e != SQLITE_DONE) {
        rc = aw_error_set(err, AW_EDB, "%s: comparing with a task file: %s", aw_store_path(s),
                          sqlite3_errmsg(aw_store_handle(s)));
    }
    sqlite3_finalize(st);
    return rc;
}

/* Which file other than `self` gave the main database its row under c's key: the first task file that holds
 * the same values there, else the main database itself. */
static void conflict_holder(aw_store_t *s, char *const *files, size_t n_files, const char *self, const conflict_t *c,
                            char *out, size_t n)
{
    snprintf(out, n, "%s", aw_store_path(s));
    char same[512], where[512], sql[1600];
    same_values(same, sizeof same, "x", c->t->vals);
    size_t at = 0;
    where[0] = '\0';
    const char *k = c->t->keys;
    for (int i = 0; i < c->nkeys; i++) {
        while (*k == ' ' || *k == ',')
            k++;
        const char *q = strchr(k, ',');
        int len = q ? (int)(q - k) : (int)strlen(k);
        at += (size_t)snprintf(where + at, sizeof where - at, "%sm.%.*s = ?%d", i ? " AND " : "", len, k, i + 1);
        k += len;
    }
    snprintf(sql, sizeof sql, "SELECT 1 FROM o.%s AS x JOIN main.%s AS m USING (%s) WHERE %s AND %s LIMIT 1",
             c->t->name, c->t->name, c->t->keys, where, same);
    for (size_t i = 0; i < n_files; i++) {
        if (strcmp(files[i], self) == 0)
            continue;
        aw_error_t e2 = {0};
        if (aw_cl_attach(s, files[i], "o", &e2) < 0)
            continue;
        sqlite3_stmt *st = NULL;
        int hit = 0;
        if (sqlite3_prepare_v2(aw_store_handle(s), sql, -1, &st, NULL) == SQLITE_OK) {
            for (int j = 0; j < c->nkeys; j++)
                sqlite3_bind_value(st, j + 1, c->key[j]);
            hit = sqlite3_step(st) == SQLITE_ROW;
        }
        sqlite3_finalize(st);
        aw_cl_detach(s, "o");
        if (hit) {
            snprintf(out, n, "%s", files[i]);
            return;
        }
    }
}

/* The rows of the file attached as t, into main; training files also bring the runs' rows and progress. */
static const char *const INSERTS[] = {
    "INSERT OR IGNORE INTO main.metrics SELECT * FROM t.metrics",
    "INSERT OR IGNORE INTO main.checkpoints SELECT * FROM t.checkpoints WHERE keep = 1",
    "INSERT OR IGNORE INTO main.evaluations SELECT * FROM t.evaluations",
    /* an evaluation finished in the file but not yet in main (e.g. every-N ones merged while running) */
    "UPDATE main.evaluations AS m SET (n_done, n, mean, stderr, seconds, status, updated) = (SELECT f.n_done, f.n, "
    "f.mean, f.stderr, f.seconds, f.status, f.updated FROM t.evaluations AS f WHERE (f.identity, f.estimator, "
    "f.settings, f.split, f.epoch) = (m.identity, m.estimator, m.settings, m.split, m.epoch)) WHERE m.status <> "
    "'finished' AND EXISTS (SELECT 1 FROM t.evaluations AS f WHERE f.status = 'finished' AND (f.identity, "
    "f.estimator, f.settings, f.split, f.epoch) = (m.identity, m.estimator, m.settings, m.split, m.epoch))",
    "INSERT OR IGNORE INTO main.eval_points SELECT * FROM t.eval_points",
    "INSERT INTO main.events SELECT * FROM t.events AS f WHERE NOT EXISTS (SELECT 1 FROM main.events AS m WHERE "
    "m.identity IS f.identity AND m.time = f.time AND m.kind = f.kind AND m.message = f.message)",
    /* the time each file spent on its part of an unfinished evaluation, summed when it completes */
    "INSERT INTO temp.merge_seconds SELECT identity, estimator, settings, split, epoch, seconds FROM t.evaluations "
    "WHERE status = 'running' ON CONFLICT DO UPDATE SET seconds = seconds + excluded.seconds",
};
static const char *const RUN_INSERTS[] = {
    "INSERT OR IGNORE INTO main.runs SELECT * FROM t.runs",
    /* the file is the run's own: its progress wins unless main is further (or as far and finished) */
    "UPDATE main.runs AS m SET (name, spec, status, epochs_total, epoch, updated, host, version, message) = (SELECT "
    "f.name, f.spec, f.status, f.epochs_total, f.epoch, f.updated, f.host, f.version, f.message FROM t.runs AS f "
    "WHERE f.identity = m.identity) WHERE EXISTS (SELECT 1 FROM t.runs AS f WHERE f.identity = m.identity AND "
    "(f.epoch > m.epoch OR (f.epoch = m.epoch AND m.status <> 'finished')) AND (f.name, f.spec, f.status, f.epoch, "
    "f.message) IS NOT (m.name, m.spec, m.status, m.epoch, m.message))",
};

static int merge_file(aw_store_t *s, char *const *files, size_t n_files, const char *file, aw_error_t *err)
{
    int rc = aw_cl_attach(s, file, "t", err);
    if (rc < 0)
        return rc;
    if ((rc = aw_cl_exec(s, err, "starting the merge transaction", "BEGIN IMMEDIATE", 0, NULL, NULL)) < 0) {
        aw_cl_detach(s, "t");
        return rc;
    }
    conflict_t c = {0};
    int found = 0;
    for (int i = 0; i < N_TABLES && rc == AW_OK && !found; i++)
        rc = find_conflict(s, &TABLES[i], &c, &found, err);
    const int train = aw_cl_is_train_file(file);
    for (size_t i = 0; train && i < sizeof RUN_INSERTS / sizeof *RUN_INSERTS && rc == AW_OK && !found; i++)
        rc = aw_cl_exec(s, err, "merging a task file's runs", RUN_INSERTS[i], 0, NULL, NULL);
    for (size_t i = 0; i < sizeof INSERTS / sizeof *INSERTS && rc == AW_OK && !found; i++) {
        if (!train && strstr(INSERTS[i], "checkpoints") != NULL)
            continue; /* a shard's file holds a copy of the final checkpoint at most */
        rc = aw_cl_exec(s, err, "merging a task file", INSERTS[i], 0, NULL, NULL);
    }
    if (rc == AW_OK && !found)
        rc = aw_cl_exec(s, err, "committing the merge", "COMMIT", 0, NULL, NULL);
    if (rc < 0 || found)
        (void)sqlite3_exec(aw_store_handle(s), "ROLLBACK", NULL, NULL, NULL);
    aw_cl_detach(s, "t");
    if (rc < 0) {
        /* name the task file in the message */
        char msg[AW_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        aw_error_set(err, rc, "merging %.300s: %.600s", file, msg);
    } else if (found) {
        char other[AW_CLUSTER_PATH_MAX];
        conflict_holder(s, files, n_files, file, &c, other, sizeof other);
        rc = aw_error_set(err, AW_EDB, "%.300s and %.300s disagree on %.300s; nothing of the first was merged", file,
                          other, c.what);
    }
    conflict_fini(&c);
    return rc;
}

/* Completes the main database's unfinished evaluations whose points are all stored. */
static int finish_evals(aw_store_t *s, int *finished, aw_error_t *err)
{
    sqlite3_stmt *st;
    int rc = aw_cl_prep(s, err, "listing unfinished evaluations",
                        "SELECT e.identity, e.estimator, e.settings, e.split, e.epoch, e.n_total, e.seconds, "
                        "coalesce(ms.seconds, 0) FROM evaluations AS e LEFT JOIN temp.merge_seconds AS ms USING "
                        "(identity, estimator, settings, split, epoch) WHERE e.status = 'running' AND e.n_total = "
                        "(SELECT count(*) FROM eval_points AS p WHERE (p.identity, p.estimator, p.settings, p.split, "
                        "p.epoch) = (e.identity, e.estimator, e.settings, e.split, e.epoch))",
                        0, NULL, &st);
    if (rc < 0)
        return rc;
    /* read every candidate first: the updates below must not run under the open SELECT's snapshot */
    typedef struct cand {
        char *k[5];
        int64_t n;
        double seconds;
    } cand_t;
    cand_t *cs = NULL;
    size_t nc = 0, cap = 0;
    int e;
    while (rc == AW_OK && (e = sqlite3_step(st)) == SQLITE_ROW) {
        if (nc == cap) {
            cap = cap ? 2 * cap : 16;
            cand_t *g = realloc(cs, cap * sizeof *g);
            if (g == NULL) {
                rc = aw_error_set(err, AW_ENOMEM, "out of memory");
                break;
            }
            cs = g;
        }
        cand_t *c = &cs[nc++];
        for (int i = 0; i < 5; i++)
            c->k[i] = strdup((const char *)sqlite3_column_text(st, i));
        c->n = sqlite3_column_int64(st, 5);
        double a = sqlite3_column_double(st, 6), b = sqlite3_column_double(st, 7);
        c->seconds = a > b ? a : b;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < nc && rc == AW_OK; i++) {
        cand_t *c = &cs[i];
        double *v = malloc(sizeof(double) * (size_t)(c->n > 0 ? c->n : 1));
        if (v == NULL || c->k[4] == NULL) {
            rc = aw_error_set(err, AW_ENOMEM, "out of memory");
            free(v);
            break;
        }
        const char *key[5] = {c->k[0], c->k[1], c->k[2], c->k[3], c->k[4]};
        rc = aw_cl_prep(s, err, "reading an evaluation's points",
                        "SELECT value FROM eval_points WHERE identity = ?1 AND estimator = ?2 AND settings = ?3 AND "
                        "split = ?4 AND epoch = CAST(?5 AS INTEGER) ORDER BY idx",
                        5, key, &st);
        int64_t m = 0;
        while (rc == AW_OK && m < c->n && sqlite3_step(st) == SQLITE_ROW) {
            v[m] = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
            m++;
        }
        sqlite3_finalize(st);
        double mean, se;
        aw_run_eval_summary(v, (long)m, &mean, &se);
        free(v);
        char sql[512];
        snprintf(sql, sizeof sql,
                 "UPDATE evaluations SET status = 'finished', n = %lld, n_done = %lld, mean = %.17g, stderr = %.17g, "
                 "seconds = %.17g, updated = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ','now') WHERE identity = ?1 AND "
                 "estimator = ?2 AND settings = ?3 AND split = ?4 AND epoch = CAST(?5 AS INTEGER)",
                 (long long)m, (long long)m, mean, se, c->seconds);
        if (rc == AW_OK && m == c->n && isfinite(mean) && isfinite(se)) {
            rc = aw_cl_exec(s, err, "completing an evaluation", sql, 5, key, NULL);
            *finished += rc == AW_OK;
        }
    }
    for (size_t i = 0; i < nc; i++)
        for (int j = 0; j < 5; j++)
            free(cs[i].k[j]);
    free(cs);
    return rc;
}

int aw_cluster_merge(const char *db_path, aw_cluster_merge_stats_t *st, aw_error_t *err)
{
    memset(st, 0, sizeof *st);
    char dir[AW_CLUSTER_DIR_MAX];
    int rc = aw_cluster_dir(db_path, dir, err);
    if (rc < 0)
        return rc;
    char **files = NULL;
    size_t n = 0;
    if ((rc = aw_cl_list(dir, &files, &n, err)) < 0)
        return rc;
    aw_store_t *s = NULL;
    if ((rc = aw_store_open(&s, db_path, 0, err)) == AW_OK)
        rc = aw_cl_exec(s, err, "preparing the merge",
                        "CREATE TEMP TABLE IF NOT EXISTS merge_seconds(identity, estimator, settings, split, epoch, "
                        "seconds, PRIMARY KEY (identity, estimator, settings, split, epoch))",
                        0, NULL, NULL);
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        rc = merge_file(s, files, n, files[i], err);
        st->files += rc == AW_OK;
    }
    if (rc == AW_OK && (rc = aw_cl_exec(s, err, "starting the merge transaction", "BEGIN IMMEDIATE", 0, NULL, NULL)) == AW_OK) {
        rc = finish_evals(s, &st->evals_finished, err);
        if (rc == AW_OK)
            rc = aw_cl_exec(s, err, "committing the merge", "COMMIT", 0, NULL, NULL);
        else
            (void)sqlite3_exec(aw_store_handle(s), "ROLLBACK", NULL, NULL, NULL);
    }
    aw_store_close(s);
    aw_cl_names_free(files, n);
    return rc;
}
