/* store_eval.c: evaluations, resumable per point, and the event log (see store.h). */
#include "store/store_db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluations ---- */

#define EVAL_WHERE "identity = ?1 AND estimator = ?2 AND settings = ?3 AND split = ?4 AND epoch = ?5"
#define EVAL_COLS "identity, estimator, settings, split, epoch, n_total, n_done, n, mean, stderr, seconds, status, updated," \
    " (SELECT total(p.n_points * 1.0 * p.done / p.total) FROM eval_partial p WHERE " PART_OF_EVAL ")," \
    " (SELECT total(p.seconds) FROM eval_partial p WHERE " PART_OF_EVAL ")"
/* The partial states of the evaluations row being read. */
#define PART_OF_EVAL "p.identity = evaluations.identity AND p.estimator = evaluations.estimator AND" \
    " p.settings = evaluations.settings AND p.split = evaluations.split AND p.epoch = evaluations.epoch" \
    " AND p.total > 0"

static int check_key(const aw_store_t *s, aw_error_t *err, const aw_store_eval_key_t *k)
{
    int rc = aw_sq_check_id(s, err, k->identity);
    if (rc == 0 && (k->estimator == NULL || k->settings == NULL || k->split == NULL || k->epoch < 0))
        rc = aw_error_set(err, AW_EARG, "%s: evaluation of run %.12s: estimator, settings, split and epoch >= 0 "
                          "are required", s->path, k->identity);
    return rc;
}

void aw_store_eval_fini(aw_store_eval_t *e)
{
    if (e == NULL)
        return;
    free(e->estimator);
    free(e->settings);
    free(e->split);
    free(e->updated);
    memset(e, 0, sizeof *e);
}

void aw_store_evals_free(aw_store_eval_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aw_store_eval_fini(&rows[i]);
    free(rows);
}

static int read_eval(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, aw_store_eval_t *e)
{
    memset(e, 0, sizeof *e);
    const unsigned char *id = sqlite3_column_text(st, 0);
    snprintf(e->identity, sizeof e->identity, "%s", id ? (const char *)id : "");
    int rc = aw_sq_col_str(s, err, st, 1, 0, &e->estimator);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 2, 0, &e->settings);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 3, 0, &e->split);
    e->epoch = sqlite3_column_int64(st, 4);
    e->n_total = sqlite3_column_int64(st, 5);
    e->n_done = sqlite3_column_int64(st, 6);
    e->n = sqlite3_column_int64(st, 7);
    e->mean = aw_sq_col_double(st, 8);
    e->se = aw_sq_col_double(st, 9);
    e->seconds = aw_sq_col_double(st, 10);
    const unsigned char *status = sqlite3_column_text(st, 11);
    e->finished = status != NULL && strcmp((const char *)status, "finished") == 0;
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 12, 0, &e->updated);
    e->partial_points = sqlite3_column_double(st, 13);
    e->partial_seconds = sqlite3_column_double(st, 14);
    if (rc != 0)
        aw_store_eval_fini(e);
    return rc;
}

int aw_store_eval_begin(aw_store_t *s, const aw_store_eval_key_t *key, int64_t n_total, aw_store_eval_t *out,
                        aw_error_t *err)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    if (n_total < 1)
        return aw_error_set(err, AW_EARG, "%s: evaluation needs n_total >= 1, got %lld", s->path, (long long)n_total);
    char what[256];
    snprintf(what, sizeof what, "starting evaluation %s/%s of run %.12s epoch %lld", key->estimator, key->split,
             key->identity, (long long)key->epoch);
    rc = aw_sq_begin(s, err, what);
    if (rc != 0)
        return rc;
    rc = aw_sq_exec(s, err, NULL, what,
                "INSERT OR IGNORE INTO evaluations(identity, estimator, settings, split, epoch, n_total, n_done, n,"
                " mean, stderr, seconds, status, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 0, NULL, NULL, 0, 'running', " NOW ", " NOW ")",
                "ttttii", key->identity, key->estimator, key->settings, key->split, key->epoch, n_total);
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        rc = aw_sq_prep(s, err, &st, what, "SELECT " EVAL_COLS " FROM evaluations WHERE " EVAL_WHERE, "tttti",
                    key->identity, key->estimator, key->settings, key->split, key->epoch);
    if (rc == 0) {
        aw_store_eval_t e;
        rc = aw_sq_step(s, err, st, what);
        if (rc == 1) {
            rc = read_eval(s, err, st, &e);
            if (rc == 0) {
                if (e.n_total != n_total)
                    rc = aw_error_set(err, AW_EDB, "%s: %s: it exists with %lld points, asked for %lld", s->path,
                                      what, (long long)e.n_total, (long long)n_total);
                if (rc == 0 && out != NULL)
                    *out = e;
                else
                    aw_store_eval_fini(&e);
            }
        } else if (rc == 0) {
            rc = aw_error_set(err, AW_EDB, "%s: %s: the row vanished", s->path, what);
        }
        rc = aw_sq_end(s, err, st, rc, what);
    }
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0) {
        aw_sq_abort(s);
        if (out != NULL)
            aw_store_eval_fini(out);
    }
    return rc;
}

int aw_store_eval_put_points(aw_store_t *s, const aw_store_eval_key_t *key, int64_t first, const double *values,
                             size_t n, double seconds, aw_error_t *err)
{
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    char what[256];
    snprintf(what, sizeof what, "storing points %lld..%lld of evaluation %s/%s of run %.12s epoch %lld",
             (long long)first, (long long)first + (long long)n - 1, key->estimator, key->split, key->identity,
             (long long)key->epoch);
    if (n > 0 && values == NULL)
        return aw_error_set(err, AW_EARG, "%s: %s: no values", s->path, what);
    rc = aw_sq_begin(s, err, what);
    if (rc != 0)
        return rc;
    int64_t n_total = -1;
    sqlite3_stmt *st = NULL;
    rc = aw_sq_prep(s, err, &st, what, "SELECT n_total FROM evaluations WHERE " EVAL_WHERE, "tttti", key->identity,
                key->estimator, key->settings, key->split, key->epoch);
    if (rc == 0) {
        rc = aw_sq_step(s, err, st, what);
        if (rc == 1) {
            n_total = sqlite3_column_int64(st, 0);
            rc = 0;
        } else if (rc == 0) {
            rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: the evaluation was not begun", s->path, what);
        }
        rc = aw_sq_end(s, err, st, rc, what);
    }
    if (rc == 0 && (first < 0 || n > (size_t)INT64_MAX || first > n_total - (int64_t)n))
        rc = aw_error_set(err, AW_EARG, "%s: %s: range outside [0, %lld)", s->path, what, (long long)n_total);
    if (rc == 0)
        rc = aw_sq_prep(s, err, &st, what,
                    "INSERT OR REPLACE INTO eval_points(identity, estimator, settings, split, epoch, idx, value)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", "tttti", key->identity, key->estimator, key->settings,
                    key->split, key->epoch);
    if (rc == 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            int e = sqlite3_bind_int64(st, 6, (sqlite3_int64)(first + (int64_t)i));
            if (e == SQLITE_OK)
                e = isfinite(values[i]) ? sqlite3_bind_double(st, 7, values[i]) : sqlite3_bind_null(st, 7);
            if (e != SQLITE_OK) {
                rc = aw_sq_fail(s, err, e, "%s: binding", what);
                break;
            }
            rc = aw_sq_step(s, err, st, what);
            if (rc == 1)
                rc = aw_error_set(err, AW_EDB, "%s: %s: insert returned a row", s->path, what);
            if (rc == 0 && (e = sqlite3_reset(st)) != SQLITE_OK)
                rc = aw_sq_fail(s, err, e, "%s", what);
        }
        rc = aw_sq_end(s, err, st, rc, what);
    }
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what,
                    "UPDATE evaluations SET n_done = (SELECT count(*) FROM eval_points WHERE " EVAL_WHERE "),"
                    " seconds = seconds + ?6 + (SELECT total(seconds) FROM eval_partial WHERE " EVAL_WHERE
                    " AND first BETWEEN ?7 AND ?8), updated = " NOW " WHERE " EVAL_WHERE,
                    "ttttidii", key->identity, key->estimator, key->settings, key->split, key->epoch,
                    isfinite(seconds) ? seconds : 0.0, first, first + (int64_t)n - 1);
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what, "DELETE FROM eval_partial WHERE " EVAL_WHERE " AND first BETWEEN ?6 AND ?7",
                        "ttttiii", key->identity, key->estimator, key->settings, key->split, key->epoch, first,
                        first + (int64_t)n - 1);
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0)
        aw_sq_abort(s);
    return rc;
}

int aw_store_eval_put_partial(aw_store_t *s, const aw_store_eval_key_t *key, int64_t first, int64_t n_points,
                              int64_t done, int64_t total, double seconds, const void *blob, size_t n,
                              aw_error_t *err)
{
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    if (first < 0 || n_points < 1 || done < 0 || total < done || blob == NULL)
        return aw_error_set(err, AW_EARG, "%s: partial state of evaluation %s/%s of run %.12s: bad range or no blob",
                            s->path, key->estimator, key->split, key->identity);
    return aw_sq_exec(s, err, NULL, "storing the partial state of an evaluation call",
                      "INSERT OR REPLACE INTO eval_partial(identity, estimator, settings, split, epoch, first, n_points,"
                      " done, total, seconds, updated, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " NOW ", ?)",
                      "ttttiiiiidb", key->identity, key->estimator, key->settings, key->split, key->epoch, first,
                      n_points, done, total, isfinite(seconds) ? seconds : 0.0, blob, n);
}

int aw_store_eval_get_partial(aw_store_t *s, const aw_store_eval_key_t *key, int64_t first, uint8_t **blob,
                              size_t *n, double *seconds, aw_error_t *err)
{
    *blob = NULL;
    *n = 0;
    *seconds = 0;
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    const char *what = "reading the partial state of an evaluation call";
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what, "SELECT blob, seconds FROM eval_partial WHERE " EVAL_WHERE " AND first = ?6",
                    "ttttii", key->identity, key->estimator, key->settings, key->split, key->epoch, first);
    if (rc != 0)
        return rc;
    rc = aw_sq_step(s, err, st, what);
    if (rc == 1) {
        const void *p = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        rc = 0;
        if (len > 0 && p != NULL && (*blob = malloc((size_t)len)) != NULL) {
            memcpy(*blob, p, (size_t)len);
            *n = (size_t)len;
            *seconds = aw_sq_col_double(st, 1);
        } else if (len > 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory for %d bytes", s->path, what, len);
        }
    }
    return aw_sq_end(s, err, st, rc, what);
}

int aw_store_eval_points(aw_store_t *s, const aw_store_eval_key_t *key, int64_t n_total, double *values,
                         uint8_t *have, aw_error_t *err)
{
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    if (n_total < 0)
        return aw_error_set(err, AW_EARG, "%s: reading evaluation points: n_total %lld < 0", s->path,
                            (long long)n_total);
    memset(have, 0, (size_t)n_total);
    const char *what = "reading evaluation points";
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what, "SELECT idx, value FROM eval_points WHERE " EVAL_WHERE " ORDER BY idx",
                "tttti", key->identity, key->estimator, key->settings, key->split, key->epoch);
    if (rc != 0)
        return rc;
    while ((rc = aw_sq_step(s, err, st, what)) == 1) {
        int64_t i = sqlite3_column_int64(st, 0);
        if (i < 0 || i >= n_total) {
            rc = aw_error_set(err, AW_EDB, "%s: evaluation %s/%s of run %.12s: stored point %lld outside [0, %lld)",
                              s->path, key->estimator, key->split, key->identity, (long long)i, (long long)n_total);
            break;
        }
        values[i] = aw_sq_col_double(st, 1);
        have[i] = 1;
    }
    return aw_sq_end(s, err, st, rc, what);
}

int aw_store_eval_finish(aw_store_t *s, const aw_store_eval_key_t *key, double mean, double se, int64_t n,
                         double seconds, aw_error_t *err)
{
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = aw_sq_exec(s, err, &changes, "finishing an evaluation",
                "UPDATE evaluations SET mean = ?6, stderr = ?7, n = ?8, seconds = ?9, status = 'finished',"
                " updated = " NOW " WHERE " EVAL_WHERE,
                "ttttiddid", key->identity, key->estimator, key->settings, key->split, key->epoch, mean, se, n,
                seconds);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: evaluation %s/%s of run %.12s epoch %lld was not begun", s->path,
                          key->estimator, key->split, key->identity, (long long)key->epoch);
    return rc;
}

int aw_store_evals_list(aw_store_t *s, const char *identity, aw_store_eval_t **rows, size_t *n, aw_error_t *err)
{
    *rows = NULL;
    *n = 0;
    int rc = identity != NULL ? aw_sq_check_id(s, err, identity) : 0;
    if (rc != 0)
        return rc;
    const char *what = "listing evaluations";
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what,
                "SELECT " EVAL_COLS " FROM evaluations WHERE ?1 IS NULL OR identity = ?1"
                " ORDER BY identity, estimator, settings, split, epoch", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_eval_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = aw_sq_step(s, err, st, what)) == 1) {
        if (aw_sq_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        rc = read_eval(s, err, st, &arr[cnt]);
        if (rc != 0)
            break;
        cnt++;
    }
    rc = aw_sq_end(s, err, st, rc, what);
    if (rc != 0) {
        aw_store_evals_free(arr, cnt);
        return rc;
    }
    *rows = arr;
    *n = cnt;
    return 0;
}

/* ---- events ---- */

int aw_store_log_event(aw_store_t *s, const char *identity, const char *kind, const char *message,
                       aw_error_t *err)
{
    if (kind == NULL || message == NULL)
        return aw_error_set(err, AW_EARG, "%s: an event needs a kind and a message", s->path);
    return aw_sq_exec(s, err, NULL, "logging an event",
                  "INSERT INTO events(identity, time, kind, message) VALUES (?, " NOW ", ?, ?)", "ttt", identity,
                  kind, message);
}

void aw_store_events_free(aw_store_event_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].identity);
        free(rows[i].time);
        free(rows[i].kind);
        free(rows[i].message);
    }
    free(rows);
}

int aw_store_events_list(aw_store_t *s, const char *identity, aw_store_event_t **rows, size_t *n,
                         aw_error_t *err)
{
    *rows = NULL;
    *n = 0;
    const char *what = "listing events";
    sqlite3_stmt *st;
    int rc = aw_sq_prep(s, err, &st, what,
                    "SELECT identity, time, kind, message FROM events WHERE ?1 IS NULL OR identity = ?1"
                    " ORDER BY time, rowid", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_event_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = aw_sq_step(s, err, st, what)) == 1) {
        if (aw_sq_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        aw_store_event_t *e = &arr[cnt];
        memset(e, 0, sizeof *e);
        cnt++;
        rc = aw_sq_col_str(s, err, st, 0, 1, &e->identity);
        if (rc == 0)
            rc = aw_sq_col_str(s, err, st, 1, 0, &e->time);
        if (rc == 0)
            rc = aw_sq_col_str(s, err, st, 2, 0, &e->kind);
        if (rc == 0)
            rc = aw_sq_col_str(s, err, st, 3, 0, &e->message);
        if (rc != 0)
            break;
    }
    rc = aw_sq_end(s, err, st, rc, what);
    if (rc != 0) {
        aw_store_events_free(arr, cnt);
        return rc;
    }
    *rows = arr;
    *n = cnt;
    return 0;
}

