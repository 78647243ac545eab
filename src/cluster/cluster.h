/* cluster.h: cluster mode (docs/cluster.md). A sweep becomes tasks: one training task per run and, for an
 * evaluate entry with shards: S > 1, S shard tasks of its final evaluation. Each task writes only its own
 * SQLite file in the task directory next to the main database ("<db>.tasks/"), named by the run's identity,
 * so that a resubmission or a requeue finds the same file and resumes it; the merge folds the files into the
 * main database by their natural keys. Slurm job arrays are the launcher (submit.c); plain processes run the
 * same tasks with aiwae-run SPEC --task I [--shard E:K]. */
#ifndef AW_CLUSTER_H
#define AW_CLUSTER_H

#include <signal.h>
#include <stddef.h>

#include "run/run.h"
#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

#define AW_CLUSTER_PATH_MAX 4200                    /* bytes of a task file's path */
#define AW_CLUSTER_DIR_MAX (AW_CLUSTER_PATH_MAX - 200) /* bytes of the task directory's path */

/* One task of a spec's runs. */
typedef struct aw_cluster_task {
    int run;   /* index in the spec's list of runs */
    int eval;  /* -1: the run's training task; else the evaluate entry of a shard task */
    int shard; /* the shard, 0 .. shards - 1 */
} aw_cluster_task_t;

/* ---- tasks.c ---- */

/* The task directory of the main database db_path ("<db_path>.tasks") into out[AW_CLUSTER_DIR_MAX]. */
int aw_cluster_dir(const char *db_path, char *out, aw_error_t *err);

/* The file of task t of run `run` into out[AW_CLUSTER_PATH_MAX]: "<dir>/<identity>.db" for training,
 * "<dir>/<identity>.<entry>.<K>of<S>.db" for a shard, where <entry> is 16 hex digits of the hash of the
 * evaluation's estimator, settings and split. */
int aw_cluster_task_file(const char *db_path, const aw_spec_t *run, const aw_cluster_task_t *t, char *out,
                         aw_error_t *err);

/* Checks that t names a task of list (its run, entry and shard exist; the entry has shards > 1). */
int aw_cluster_task_check(const aw_spec_list_t *list, const aw_cluster_task_t *t, aw_error_t *err);

/* Whether task t of run is done: its run finished, or its shard evaluated, by the main database main_db
 * (may be NULL) or its own file. */
int aw_cluster_task_done(const char *db_path, aw_store_t *main_db, const aw_spec_t *run,
                         const aw_cluster_task_t *t, int *done, aw_error_t *err);

/* Runs task t into its own file (opts' task fields are set here; job, if not NULL, is logged as event
 * "task", e.g. "slurm job 12_3 on node7"). A shard task takes the run's final checkpoint from the
 * training task's file or the main database, and fails when the run is not trained. *finished_before as
 * aw_run's (1: nothing was left to do). */
int aw_cluster_run_task(const char *db_path, const aw_spec_list_t *list, const aw_cluster_task_t *t,
                        const char *job, aw_run_opts_t *opts, int *finished_before, aw_error_t *err);

/* The tasks of list not yet done, in order (training tasks of all runs, then the shards by run, entry
 * and shard), into a new array *out of *n (free()). */
int aw_cluster_pending(const char *db_path, const aw_spec_list_t *list, aw_cluster_task_t **out, int *n,
                       aw_error_t *err);

/* ---- merge.c ---- */

typedef struct aw_cluster_merge_stats {
    int files;           /* task files read */
    int evals_finished;  /* evaluations completed by this merge (all their shards present) */
} aw_cluster_merge_stats_t;

/* Folds every task file of db_path's task directory into the main database db_path (created if needed):
 * the union of their rows by natural keys, each file in one transaction; the runs' status and progress
 * from the training files; then completes the evaluations whose points are all present (mean and
 * standard error over all points, as an unsharded evaluation computes them). Running it again changes
 * nothing. Two files (or a file and the main database) that hold different values under one key are
 * AW_EDB naming both and the key; files merged before it stay merged. */
int aw_cluster_merge(const char *db_path, aw_cluster_merge_stats_t *st, aw_error_t *err);

/* ---- progress.c ---- */

struct aw_report_snap;

/* aiwae-report --runs during a cluster run: the runs of the training task files of db_path's task
 * directory (read-only) join the snapshot of the main database, each in place of the main row when the
 * file is further along, with its latest job in ->job. *n_files gets the files read. */
int aw_cluster_overlay(const char *db_path, struct aw_report_snap *snap, int *n_files, aw_error_t *err);

/* ---- submit.c ---- */

typedef struct aw_cluster_submit_opts {
    const char *db_path;          /* main database */
    const char *spec_path;        /* the spec file */
    const char *const *sets;      /* [n_sets] --set overrides, passed on to every task */
    int n_sets;
    int threads;                  /* --threads for the tasks (0: train.threads) */
    const char *sbatch_args;      /* extra sbatch options, split at white space (may be NULL) */
    int parallel;                 /* at most this many tasks of an array at once (0: no limit) */
    int dry_run;                  /* return the scripts instead of submitting them */
} aw_cluster_submit_opts_t;

typedef struct aw_cluster_jobs {
    char **ids;   /* [n] Slurm job ids submitted (owned) */
    int n;
    char *text;   /* what was done, or the scripts (dry run); owned */
} aw_cluster_jobs_t;

/* Submits the tasks of list not yet done as Slurm job arrays (training; the shards of each entry, each
 * depending on its run's training task), then a merge job that depends on all of them (afterany). */
int aw_cluster_submit(const aw_cluster_submit_opts_t *o, const aw_spec_list_t *list, aw_cluster_jobs_t *jobs,
                      aw_error_t *err);
void aw_cluster_jobs_fini(aw_cluster_jobs_t *j);

/* Waits until none of the jobs is queued or running (squeue), polling every poll_s seconds; AW_EINTR
 * when *stop becomes nonzero. */
int aw_cluster_wait(const aw_cluster_jobs_t *jobs, double poll_s, volatile sig_atomic_t *stop, aw_error_t *err);

#endif
