/* store_ckpt.c: per-epoch metrics and checkpoints of a run (see store.h), and rolling a run back. */
#include "store/store_db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- metrics and checkpoints ---- */

/* "[a,b,...]" with %.17g (non-finite values as null); malloc'd, NULL if out of memory. */
static char *json_array(const double *x, size_t n)
{
    size_t cap = 3 + n * 26;
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    size_t k = 0;
    b[k++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            b[k++] = ',';
        if (isfinite(x[i]))
            k += (size_t)snprintf(b + k, cap - k, "%.17g", x[i]);
        else
            k += (size_t)snprintf(b + k, cap - k, "null");
    }
    b[k++] = ']';
    b[k] = '\0';
    return b;
}

/* Parses what json_array wrote into a new array (NULL when empty); -1 if malformed, -2 out of memory. */
static int json_parse(const char *t, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = t; *p; p++)
        cap += *p == ',';
    while (*t == ' ')
        t++;
    if (*t++ != '[')
        return -1;
    while (*t == ' ')
        t++;
    if (*t == ']') {
        t++;
        goto tail;
    }
    double *x = malloc(cap * sizeof *x);
    if (x == NULL)
        return -2;
    size_t k = 0;
    for (;;) {
        while (*t == ' ')
            t++;
        if (strncmp(t, "null", 4) == 0) {
            x[k] = NAN;
            t += 4;
        } else {
            char *end;
            x[k] = strtod(t, &end);
            if (end == t || !isfinite(x[k])) {
                free(x);
                return -1;
            }
            t = end;
        }
        k++;
        while (*t == ' ')
            t++;
        if (*t == ']') {
            t++;
            break;
        }
        if (*t++ != ',' || k == cap) {
            free(x);
            return -1;
        }
    }
    *out = x;
    *n = k;
tail:
    while (*t == ' ')
        t++;
    if (*t != '\0') {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* Inserts (or replaces, keeping an existing keep flag) checkpoint (epoch, position). */
static int put_ckpt(aw_store_t *s, aw_error_t *err, const char *what, const char *identity, int64_t epoch,
                    int64_t position, const void *blob, size_t nblob, int64_t keep)
{
    return aw_sq_exec(s, err, NULL, what,
                  "INSERT OR REPLACE INTO checkpoints(identity, epoch, position, created, blob, keep)"
                  " VALUES (?1, ?2, ?3, " NOW ", ?4, max(?5, coalesce((SELECT keep FROM checkpoints"
                  " WHERE identity = ?1 AND epoch = ?2 AND position = ?3), 0)))",
                  "tiibi", identity, epoch, position, blob, nblob, keep);
}

/* Deletes the run's checkpoints that are not kept, not (epoch, position) and not the newest. */
static int prune(aw_store_t *s, aw_error_t *err, const char *what, const char *identity, int64_t epoch,
                 int64_t position)
{
    return aw_sq_exec(s, err, NULL, what,
                  "DELETE FROM checkpoints WHERE identity = ?1 AND keep = 0 AND NOT (epoch = ?2 AND position = ?3)"
                  " AND rowid <> (SELECT rowid FROM checkpoints WHERE identity = ?1"
                  " ORDER BY epoch DESC, position DESC LIMIT 1)",
                  "tii", identity, epoch, position);
}

int aw_store_commit_epoch(aw_store_t *s, const char *identity, const aw_store_metrics_t *m, const void *blob,
                          size_t nblob, int keep, aw_error_t *err)
{
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    if (blob == NULL || nblob == 0 || m->epoch < 1 || (m->n_temps > 0 && (m->accept == NULL || m->step == NULL)))
        return aw_error_set(err, AW_EARG, "%s: run %s epoch %lld: commit needs epoch >= 1, a checkpoint and "
                            "n_temps values", s->path, identity, (long long)m->epoch);
    char what[160];
    snprintf(what, sizeof what, "committing epoch %lld of run %.12s", (long long)m->epoch, identity);
    char *acc = json_array(m->accept, m->n_temps), *stp = json_array(m->step, m->n_temps);
    if (acc == NULL || stp == NULL) {
        free(acc);
        free(stp);
        return aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
    }
    rc = aw_sq_begin(s, err, what);
    if (rc != 0)
        goto out;
    int changes = 0;
    rc = aw_sq_exec(s, err, &changes, what, "UPDATE runs SET epoch = ?2, updated = " NOW " WHERE identity = ?1", "ti",
                identity, m->epoch);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no run %s", s->path, what, identity);
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what,
                    "INSERT INTO metrics(identity, epoch, loss, bound, lr, accept, step, seconds, points_per_s,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, " NOW ")",
                    "tidddttdd", identity, m->epoch, m->loss, m->bound, m->lr, acc, stp, m->seconds,
                    m->points_per_s);
    if (rc == 0)
        rc = put_ckpt(s, err, what, identity, m->epoch, 0, blob, nblob, keep ? 1 : 0);
    if (rc == 0)
        rc = prune(s, err, what, identity, m->epoch, 0);
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0)
        aw_sq_abort(s);
out:
    free(acc);
    free(stp);
    return rc;
}

int aw_store_save_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, int64_t position,
                             const void *blob, size_t nblob, aw_error_t *err)
{
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    if (blob == NULL || nblob == 0 || epoch < 0 || position < 0)
        return aw_error_set(err, AW_EARG, "%s: run %s: checkpoint (%lld, %lld) needs a blob and a key >= 0",
                            s->path, identity, (long long)epoch, (long long)position);
    char what[160];
    snprintf(what, sizeof what, "saving checkpoint (epoch %lld, position %lld) of run %.12s", (long long)epoch,
             (long long)position, identity);
    rc = aw_sq_begin(s, err, what);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = aw_sq_exec(s, err, &changes, what, "UPDATE runs SET updated = " NOW " WHERE identity = ?", "t", identity);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no run %s", s->path, what, identity);
    if (rc == 0)
        rc = put_ckpt(s, err, what, identity, epoch, position, blob, nblob, 0);
    if (rc == 0)
        rc = prune(s, err, what, identity, epoch, position);
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0)
        aw_sq_abort(s);
    return rc;
}

int aw_store_checkpoints_list(aw_store_t *s, const char *identity, aw_store_ckpt_ref_t **refs, size_t *n,
                              aw_error_t *err)
{
    *refs = NULL;
    *n = 0;
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    const char *what = "listing checkpoints";
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what,
                "SELECT epoch, position, keep, length(blob) FROM checkpoints WHERE identity = ?"
                " ORDER BY epoch DESC, position DESC", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_ckpt_ref_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = aw_sq_step(s, err, st, what)) == 1) {
        if (aw_sq_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        arr[cnt].epoch = sqlite3_column_int64(st, 0);
        arr[cnt].position = sqlite3_column_int64(st, 1);
        arr[cnt].keep = sqlite3_column_int(st, 2) != 0;
        arr[cnt].bytes = (size_t)sqlite3_column_int64(st, 3);
        cnt++;
    }
    rc = aw_sq_end(s, err, st, rc, what);
    if (rc != 0) {
        free(arr);
        return rc;
    }
    *refs = arr;
    *n = cnt;
    return 0;
}

int aw_store_load_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, int64_t position,
                             uint8_t **blob, size_t *n, aw_error_t *err)
{
    *blob = NULL;
    *n = 0;
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    char what[160];
    snprintf(what, sizeof what, "loading checkpoint (epoch %lld, position %lld) of run %.12s", (long long)epoch,
             (long long)position, identity);
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what,
                "SELECT blob FROM checkpoints WHERE identity = ? AND epoch = ? AND position = ?", "tii", identity,
                epoch, position);
    if (rc != 0)
        return rc;
    rc = aw_sq_step(s, err, st, what);
    if (rc == 1) {
        const void *p = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if (p == NULL && len > 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
        } else {
            *blob = malloc(len > 0 ? (size_t)len : 1);
            if (*blob == NULL) {
                rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory for %d bytes", s->path, what, len);
            } else {
                if (len > 0)
                    memcpy(*blob, p, (size_t)len);
                *n = (size_t)len;
                rc = 0;
            }
        }
    } else if (rc == 0) {
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no such checkpoint", s->path, what);
    }
    rc = aw_sq_end(s, err, st, rc, what);
    if (rc != 0) {
        free(*blob);
        *blob = NULL;
        *n = 0;
    }
    return rc;
}

/* Offers checkpoint ref of the run to t->take; on a rejection logs and reports it. Returns 0 taken,
 * AW_ENOTFOUND rejected (why in *why), another error to end the search. */
static int offer_ckpt(aw_store_t *s, const char *identity, const aw_store_ckpt_ref_t *ref,
                      const aw_store_ckpt_taker_t *t, aw_error_t *why, aw_error_t *err)
{
    uint8_t *blob = NULL;
    size_t nb = 0;
    int rc = aw_store_load_checkpoint(s, identity, ref->epoch, ref->position, &blob, &nb, err);
    if (rc != 0)
        return rc;
    aw_error_clear(why);
    rc = t->take(t->ctx, blob, nb, why);
    free(blob);
    if (rc == 0)
        return 0;
    if (rc == AW_ENOMEM)
        return aw_error_set(err, rc, "%s", why->msg);
    char msg[AW_ERROR_MSG_MAX + 128];
    snprintf(msg, sizeof msg, "checkpoint at epoch %lld step %lld is unusable (%s); trying the previous one",
             (long long)ref->epoch, (long long)ref->position, why->msg);
    if (t->rejected != NULL)
        t->rejected(t->ctx, msg);
    if (!s->read_only && (rc = aw_store_log_event(s, identity, "checkpoint_bad", msg, err)) != 0)
        return rc;
    return AW_ENOTFOUND;
}

/* "epochs kept: 30, 20, 10" (newest first, the end-of-epoch checkpoints; at most 40 named) into out[n]. */
static void kept_epochs(const aw_store_ckpt_ref_t *refs, size_t n, char *out, size_t len)
{
    size_t at = (size_t)snprintf(out, len, "epochs kept:"), named = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (refs[i].position != 0 || refs[i].epoch == 0)
            continue;
        total++;
        if (named < 40 && at + 24 < len) {
            at += (size_t)snprintf(out + at, len - at, "%s %lld", named ? "," : "", (long long)refs[i].epoch);
            named++;
        }
    }
    if (total == 0)
        snprintf(out, len, "no epoch's checkpoint is kept yet");
    else if (named < total && at < len)
        snprintf(out + at, len - at, " and %zu more", total - named);
}

int aw_store_take_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, const aw_store_ckpt_taker_t *t,
                             aw_store_ckpt_ref_t *taken, aw_error_t *err)
{
    aw_store_ckpt_ref_t *refs;
    size_t n;
    int rc = aw_store_checkpoints_list(s, identity, &refs, &n, err);
    if (rc != 0)
        return rc;
    int bad = 0;
    aw_error_t why;
    aw_error_clear(&why);
    rc = AW_ENOTFOUND;
    for (size_t i = 0; i < n && rc == AW_ENOTFOUND; i++) {
        if (epoch >= 0 && (refs[i].epoch != epoch || refs[i].position != 0))
            continue;
        rc = offer_ckpt(s, identity, &refs[i], t, &why, err);
        if (rc == 0 && taken != NULL)
            *taken = refs[i];
        bad += rc == AW_ENOTFOUND;
    }
    char kept[320];
    kept_epochs(refs, n, kept, sizeof kept);
    free(refs);
    if (rc != AW_ENOTFOUND)
        return rc;
    char which[64] = "checkpoint";
    if (epoch >= 0)
        snprintf(which, sizeof which, "checkpoint kept at epoch %lld", (long long)epoch);
    if (bad == 0 && epoch >= 0)
        return aw_error_set(err, rc, "%s: run %.12s has no %s; %s", s->path, identity, which, kept);
    if (bad == 0)
        return aw_error_set(err, rc, "%s: run %.12s has no %s", s->path, identity, which);
    return aw_error_set(err, rc, "%s: run %.12s has no usable %s (%d failed their checks, the oldest: %s)", s->path,
                        identity, which, bad, why.msg);
}

int aw_store_rollback(aw_store_t *s, const char *identity, int64_t epoch, int64_t position, aw_error_t *err)
{
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    char what[160];
    snprintf(what, sizeof what, "rolling run %.12s back to (epoch %lld, position %lld)", identity,
             (long long)epoch, (long long)position);
    rc = aw_sq_begin(s, err, what);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = aw_sq_exec(s, err, &changes, what,
                "UPDATE runs SET epoch = min(epoch, ?2), updated = " NOW " WHERE identity = ?1", "ti", identity,
                epoch);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no run %s", s->path, what, identity);
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what, "DELETE FROM metrics WHERE identity = ? AND epoch > ?", "ti", identity,
                    epoch);
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what,
                    "DELETE FROM checkpoints WHERE identity = ?1 AND (epoch > ?2 OR (epoch = ?2 AND position > ?3))",
                    "tii", identity, epoch, position);
    /* Evaluations of the model after a discarded epoch belong to the discarded lineage. */
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what, "DELETE FROM eval_points WHERE identity = ? AND epoch > ?", "ti", identity,
                    epoch);
    if (rc == 0)
        rc = aw_sq_exec(s, err, NULL, what, "DELETE FROM evaluations WHERE identity = ? AND epoch > ?", "ti", identity,
                    epoch);
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0)
        aw_sq_abort(s);
    return rc;
}

void aw_store_metrics_free(aw_store_metrics_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].accept);
        free(rows[i].step);
    }
    free(rows);
}

int aw_store_metrics_list(aw_store_t *s, const char *identity, aw_store_metrics_t **rows, size_t *n,
                          aw_error_t *err)
{
    *rows = NULL;
    *n = 0;
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    const char *what = "listing metrics";
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what,
                "SELECT epoch, loss, bound, lr, accept, step, seconds, points_per_s FROM metrics"
                " WHERE identity = ? ORDER BY epoch", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_metrics_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = aw_sq_step(s, err, st, what)) == 1) {
        if (aw_sq_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        aw_store_metrics_t *m = &arr[cnt];
        memset(m, 0, sizeof *m);
        m->epoch = sqlite3_column_int64(st, 0);
        m->loss = aw_sq_col_double(st, 1);
        m->bound = aw_sq_col_double(st, 2);
        m->lr = aw_sq_col_double(st, 3);
        m->seconds = aw_sq_col_double(st, 6);
        m->points_per_s = aw_sq_col_double(st, 7);
        cnt++;
        const unsigned char *ta = sqlite3_column_text(st, 4), *ts = sqlite3_column_text(st, 5);
        size_t na = 0, ns = 0;
        int ea = ta ? json_parse((const char *)ta, &m->accept, &na) : -1;
        int es = ts ? json_parse((const char *)ts, &m->step, &ns) : -1;
        if (ea == -2 || es == -2) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        if (ea != 0 || es != 0 || na != ns) {
            rc = aw_error_set(err, AW_EDB, "%s: metrics of run %.12s epoch %lld: accept/step are not two JSON "
                              "number arrays of one length", s->path, identity, (long long)m->epoch);
            break;
        }
        m->n_temps = na;
    }
    rc = aw_sq_end(s, err, st, rc, what);
    if (rc != 0) {
        aw_store_metrics_free(arr, cnt);
        return rc;
    }
    *rows = arr;
    *n = cnt;
    return 0;
}

