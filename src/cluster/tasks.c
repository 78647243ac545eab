/* tasks.c: the tasks of a spec's runs, their files in the task directory, whether each is done, and
 * running one (cluster.h). */
#include "cluster/cluster.h"
#include "cluster/cluster_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/sha256.h"

#define SHARD_DONE "shard_done" /* event kind a shard task logs in its file when its points are stored */

int aw_cluster_dir(const char *db_path, char *out, aw_error_t *err)
{
    if (strncmp(db_path, "file:", 5) == 0)
        return aw_error_set(err, AW_EARG, "--db %s: cluster mode needs a file path, not a URI", db_path);
    int w = snprintf(out, AW_CLUSTER_DIR_MAX, "%s.tasks", db_path);
    if (w < 0 || w >= AW_CLUSTER_DIR_MAX)
        return aw_error_set(err, AW_EARG, "--db %.200s...: path too long for its task directory", db_path);
    return AW_OK;
}

/* 16 hex digits naming evaluate entry e: its estimator, settings (with the size as given) and split. */
static int entry_name(const aw_eval_spec_t *e, char out[17], aw_error_t *err)
{
    char *settings = aw_spec_eval_settings(e, e->size);
    if (settings == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    aw_sha256_t h;
    uint8_t d[AW_SHA256_BYTES];
    aw_sha256_init(&h);
    aw_sha256_update(&h, e->estimator, strlen(e->estimator) + 1);
    aw_sha256_update(&h, settings, strlen(settings) + 1);
    aw_sha256_update(&h, e->split, strlen(e->split) + 1);
    aw_sha256_final(&h, d);
    free(settings);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return AW_OK;
}

/* The message of a shard's SHARD_DONE event: "<entry> shard K of S". */
static int shard_label(const aw_spec_t *run, const aw_cluster_task_t *t, char *out, size_t n, aw_error_t *err)
{
    char name[17];
    int rc = entry_name(&run->eval[t->eval], name, err);
    if (rc == AW_OK)
        snprintf(out, n, "%s shard %d of %d", name, t->shard, run->eval[t->eval].shards);
    return rc;
}

int aw_cluster_task_file(const char *db_path, const aw_spec_t *run, const aw_cluster_task_t *t, char *out,
                         aw_error_t *err)
{
    char dir[AW_CLUSTER_DIR_MAX];
    int rc = aw_cluster_dir(db_path, dir, err);
    if (rc < 0)
        return rc;
    if (t->eval < 0) {
        snprintf(out, AW_CLUSTER_PATH_MAX, "%s/%s.db", dir, run->identity);
        return AW_OK;
    }
    char name[17];
    if ((rc = entry_name(&run->eval[t->eval], name, err)) < 0)
        return rc;
    snprintf(out, AW_CLUSTER_PATH_MAX, "%s/%s.%s.%dof%d.db", dir, run->identity, name, t->shard,
             run->eval[t->eval].shards);
    return AW_OK;
}

int aw_cluster_task_check(const aw_spec_list_t *list, const aw_cluster_task_t *t, aw_error_t *err)
{
    if (t->run < 0 || t->run >= list->n)
        return aw_error_set(err, AW_EARG, "--task %d: the spec has %d runs (tasks 0 to %d)", t->run, list->n,
                            list->n - 1);
    const aw_spec_t *r = &list->runs[t->run];
    if (t->eval < 0)
        return AW_OK;
    if (t->eval >= r->n_eval)
        return aw_error_set(err, AW_EARG, "--shard %d:%d: run %s has %d evaluate entries", t->eval, t->shard,
                            r->name, r->n_eval);
    int S = r->eval[t->eval].shards;
    if (S < 2)
        return aw_error_set(err, AW_EARG, "--shard %d:%d: evaluate[%d] of run %s has shards: 1 (its training task "
                            "evaluates it)", t->eval, t->shard, t->eval, r->name);
    if (t->shard < 0 || t->shard >= S)
        return aw_error_set(err, AW_EARG, "--shard %d:%d: evaluate[%d] has shards 0 to %d", t->eval, t->shard,
                            t->eval, S - 1);
    return AW_OK;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether store s holds run identity finished (*yes). */
static int run_finished(aw_store_t *s, const char *identity, int *yes, aw_error_t *err)
{
    aw_store_run_t row;
    *yes = 0;
    int rc = aw_store_run_get(s, identity, &row, err);
    if (rc == AW_ENOTFOUND) {
        aw_error_clear(err);
        return AW_OK;
    }
    if (rc < 0)
        return rc;
    *yes = row.status == AW_RUN_FINISHED && row.epoch >= row.epochs_total;
    aw_store_run_fini(&row);
    return AW_OK;
}

/* Whether store s holds event (identity, kind, message) (*yes). */
static int has_event(aw_store_t *s, const char *identity, const char *kind, const char *message, int *yes,
                     aw_error_t *err)
{
    aw_store_event_t *ev = NULL;
    size_t n = 0;
    *yes = 0;
    int rc = aw_store_events_list(s, identity, &ev, &n, err);
    for (size_t i = 0; rc == AW_OK && i < n && !*yes; i++)
        *yes = strcmp(ev[i].kind, kind) == 0 && strcmp(ev[i].message, message) == 0;
    aw_store_events_free(ev, n);
    return rc;
}

/* Whether task t is done in store s. */
static int done_in(aw_store_t *s, const aw_spec_t *run, const aw_cluster_task_t *t, int *done, aw_error_t *err)
{
    if (t->eval < 0)
        return run_finished(s, run->identity, done, err);
    char label[96];
    int rc = shard_label(run, t, label, sizeof label, err);
    return rc < 0 ? rc : has_event(s, run->identity, SHARD_DONE, label, done, err);
}

int aw_cluster_task_done(const char *db_path, aw_store_t *main_db, const aw_spec_t *run,
                         const aw_cluster_task_t *t, int *done, aw_error_t *err)
{
    *done = 0;
    int rc = main_db != NULL ? done_in(main_db, run, t, done, err) : AW_OK;
    char path[AW_CLUSTER_PATH_MAX];
    if (rc < 0 || *done || (rc = aw_cluster_task_file(db_path, run, t, path, err)) < 0 || !file_exists(path))
        return rc;
    aw_store_t *s = NULL;
    if ((rc = aw_store_open(&s, path, 1, err)) == AW_OK)
        rc = done_in(s, run, t, done, err);
    aw_store_close(s);
    return rc;
}

int aw_cluster_pending(const char *db_path, const aw_spec_list_t *list, aw_cluster_task_t **out, int *n,
                       aw_error_t *err)
{
    *out = NULL;
    *n = 0;
    aw_store_t *main_db = NULL;
    int rc = file_exists(db_path) ? aw_store_open(&main_db, db_path, 1, err) : AW_OK;
    int cap = 0;
    for (int pass = 0; pass < 2 && rc == AW_OK; pass++)
        for (int i = 0; i < list->n && rc == AW_OK; i++) {
            const aw_spec_t *r = &list->runs[i];
            for (int j = pass ? 0 : -1; j < (pass ? r->n_eval : 0) && rc == AW_OK; j++) {
                int S = j < 0 ? 1 : r->eval[j].shards;
                for (int k = 0; k < S && (j < 0 || S > 1) && rc == AW_OK; k++) {
                    aw_cluster_task_t t = {.run = i, .eval = j, .shard = k};
                    int done = 0;
                    if ((rc = aw_cluster_task_done(db_path, main_db, r, &t, &done, err)) < 0 || done)
                        continue;
                    if (*n == cap) {
                        cap = cap ? 2 * cap : 16;
                        aw_cluster_task_t *g = realloc(*out, (size_t)cap * sizeof *g);
                        if (g == NULL) {
                            rc = aw_error_set(err, AW_ENOMEM, "out of memory");
                            break;
                        }
                        *out = g;
                    }
                    (*out)[(*n)++] = t;
                }
            }
        }
    aw_store_close(main_db);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* A shard's file gets the run's row and its final kept checkpoint from the training task's file, or from
 * the main database, whichever has the run finished. */
static int seed_shard(aw_store_t *s, const char *db_path, const aw_spec_t *run, aw_error_t *err)
{
    char train[AW_CLUSTER_PATH_MAX];
    aw_cluster_task_t t = {.run = 0, .eval = -1};
    int rc = aw_cluster_task_file(db_path, run, &t, train, err);
    const char *src = NULL;
    for (int i = 0; i < 2 && rc == AW_OK && src == NULL; i++) {
        const char *p = i == 0 ? train : db_path;
        if (!file_exists(p))
            continue;
        aw_store_t *o = NULL;
        int yes = 0;
        if ((rc = aw_store_open(&o, p, 1, err)) == AW_OK && (rc = run_finished(o, run->identity, &yes, err)) == AW_OK &&
            yes)
            src = p;
        aw_store_close(o);
    }
    if (rc < 0)
        return rc;
    if (src == NULL)
        return aw_error_set(err, AW_ENOTFOUND, "run %s is not trained yet (neither %s nor %s holds it finished); "
                            "its training task runs first", run->name, train, db_path);
    if ((rc = aw_cl_attach(s, src, "src", err)) < 0)
        return rc;
    char epoch[32];
    snprintf(epoch, sizeof epoch, "%d", run->train.epochs);
    const char *args[2] = {run->identity, epoch};
    int copied = 0;
    rc = aw_cl_exec(s, err, "copying the run", "INSERT OR IGNORE INTO main.runs SELECT * FROM src.runs WHERE identity = ?1",
                    1, args, NULL);
    if (rc == AW_OK)
        rc = aw_cl_exec(s, err, "copying the final checkpoint",
                        "INSERT OR REPLACE INTO main.checkpoints SELECT * FROM src.checkpoints WHERE identity = ?1 AND "
                        "epoch = CAST(?2 AS INTEGER) AND position = 0 AND keep = 1",
                        2, args, &copied);
    aw_cl_detach(s, "src");
    if (rc == AW_OK && copied != 1)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: run %s has no kept checkpoint of its last epoch %s", src, run->name,
                          epoch);
    return rc;
}

/* A shard task: its points of the final evaluation, from a copy of the final checkpoint, which is dropped
 * once they are stored. */
static int run_shard(aw_store_t *s, const char *db_path, const aw_spec_t *run, const aw_cluster_task_t *t,
                     aw_run_opts_t *opts, int *finished_before, aw_error_t *err)
{
    char label[96];
    int done = 0, rc = shard_label(run, t, label, sizeof label, err);
    if (rc == AW_OK)
        rc = has_event(s, run->identity, SHARD_DONE, label, &done, err);
    if (rc < 0 || done) {
        *finished_before = done;
        return rc;
    }
    aw_store_ckpt_ref_t *refs = NULL;
    size_t n = 0;
    if ((rc = aw_store_checkpoints_list(s, run->identity, &refs, &n, err)) < 0)
        return rc;
    free(refs);
    if (n == 0 && (rc = seed_shard(s, db_path, run, err)) < 0)
        return rc;
    opts->task = AW_RUN_TASK_SHARD;
    opts->shard_eval = t->eval;
    opts->shard = t->shard;
    if ((rc = aw_run(run, s, opts, finished_before, err)) < 0 || *finished_before == 2)
        return rc;
    const char *args[1] = {run->identity};
    if ((rc = aw_store_log_event(s, run->identity, SHARD_DONE, label, err)) == AW_OK)
        rc = aw_cl_exec(s, err, "dropping the checkpoint copy", "DELETE FROM checkpoints WHERE identity = ?1", 1, args,
                        NULL);
    return rc;
}

int aw_cluster_run_task(const char *db_path, const aw_spec_list_t *list, const aw_cluster_task_t *t,
                        const char *job, aw_run_opts_t *opts, int *finished_before, aw_error_t *err)
{
    *finished_before = 0;
    int rc = aw_cluster_task_check(list, t, err);
    if (rc < 0)
        return rc;
    const aw_spec_t *run = &list->runs[t->run];
    char path[AW_CLUSTER_PATH_MAX];
    if ((rc = aw_cluster_task_file(db_path, run, t, path, err)) < 0)
        return rc;
    aw_store_t *s = NULL;
    if ((rc = aw_store_open(&s, path, 0, err)) < 0)
        return rc;
    if (job != NULL)
        rc = aw_store_log_event(s, run->identity, "task", job, err);
    if (rc == AW_OK && t->eval < 0) {
        opts->task = AW_RUN_TASK_TRAIN;
        rc = aw_run(run, s, opts, finished_before, err);
    } else if (rc == AW_OK) {
        rc = run_shard(s, db_path, run, t, opts, finished_before, err);
    }
    aw_store_close(s);
    return rc;
}
