/* run.h: training and evaluation of one resolved run, resumable at any moment.
 * The run's state lives in the store: per-epoch metrics and checkpoints are
 * committed together, evaluation values per chunk of points. */
#ifndef AW_RUN_H
#define AW_RUN_H

#include <signal.h>
#include <stdint.h>

#include "data/data.h"
#include "util/error.h"
#include "core/model.h"
#include "methods/plugin.h"
#include "run/ckpt_layout.h" /* aw_run_load_model, which aiwae-report also calls */
#include "spec/spec.h"
#include "store/store.h"

/* What the progress callback is told. */
typedef enum {
    AW_PROGRESS_START,      /* a run starts or resumes (message says which) */
    AW_PROGRESS_STEP,       /* a training step finished (called at most ~10 times a second) */
    AW_PROGRESS_EPOCH,      /* an epoch was committed */
    AW_PROGRESS_EVAL,       /* an evaluation chunk was committed */
    AW_PROGRESS_EVAL_STEP,  /* work inside an evaluation chunk (called at most ~10 times a second) */
    AW_PROGRESS_EVAL_DONE,  /* an evaluation finished */
    AW_PROGRESS_NOTE,       /* something worth a line: resume point, bad checkpoint, NaN rollback */
    AW_PROGRESS_DONE        /* the run finished */
} aw_progress_kind_t;

typedef struct aw_progress {
    aw_progress_kind_t kind;  /* what happened */
    const char *run;          /* run name */
    int64_t epoch;            /* epochs completed (STEP: the current epoch, 0-based) */
    int64_t epochs;           /* epochs in the run */
    int64_t step, steps;      /* step within the epoch and steps per epoch */
    double loss;              /* running mean loss of the epoch (or the epoch's, at EPOCH) */
    double bound;             /* running mean training bound (nats) */
    double points_per_s;      /* training throughput of the epoch so far */
    double eta_s;             /* estimated seconds until training ends, or EVAL_STEP: until the evaluation
                                 ends (-1 unknown) */
    const char *estimator;    /* EVAL*: estimator name */
    int64_t done, total;      /* EVAL*: points done (stored) and to do */
    int64_t part, parts;      /* EVAL_STEP: units of the chunk's work done and in all (ais_nll: temperatures
                                 of its batches); first, chunk: the chunk's first point and its points */
    int64_t first, chunk;
    const char *unit;         /* EVAL_STEP: what a unit is, e.g. "temperature" (the estimator's work_unit);
                                 EVAL_DONE: what the value counts, e.g. "nats" (its unit) */
    double value, stderr_;    /* EVAL_DONE: mean and standard error over the points, or the summary */
    int whole;                /* EVAL_DONE: the value summarizes values that are not per point (active units) */
    const char *message;      /* START / NOTE: one line */
} aw_progress_t;

/* Default seconds of evaluation work between saves of a call's partial state: an interrupted AIS batch
 * loses at most this much. */
#define AW_RUN_EVAL_SAVE_S 120.0

typedef void (*aw_progress_fn)(void *ctx, const aw_progress_t *p);

/* Which evaluations a process does (docs/cluster.md). */
typedef enum aw_run_task {
    AW_RUN_TASK_ALL = 0, /* every evaluation, whole (a plain run) */
    AW_RUN_TASK_TRAIN,   /* a training task: the final evaluations with shards > 1 are left to shard tasks */
    AW_RUN_TASK_SHARD    /* a shard task: only one shard of one final evaluation, never finished here */
} aw_run_task_t;

typedef struct aw_run_opts {
    int threads;                        /* 0: the spec's train.threads */
    volatile sig_atomic_t *stop;        /* set to nonzero by a signal handler: stop at the next step */
    aw_progress_fn progress;            /* may be NULL */
    void *progress_ctx;                 /* passed to progress */
    int max_nan_retries;                /* rollbacks after a non-finite loss before failing (0: 5) */
    int64_t stop_after_steps;           /* testing aid: behave as if stopped after this many steps (0: never) */
    int retry_failed;                   /* train a failed run again even if its spec and data are unchanged */
    int64_t stop_after_eval_units;      /* testing aid: likewise after this many units of evaluation work
                                           inside calls (ais_nll temperatures) (0: never) */
    double eval_save_s;                 /* seconds of work between saves of an evaluation call's partial
                                           state (0: AW_RUN_EVAL_SAVE_S) */
    const struct aw_method_ops *method;  /* testing aid: train with these ops instead of the spec's method */
    aw_run_task_t task;                 /* cluster tasks (src/cluster): which evaluations this process does */
    int shard_eval, shard;              /* AW_RUN_TASK_SHARD: the evaluate entry and its shard (0-based) */
} aw_run_opts_t;

/* Trains and evaluates `spec` in `store`: starts it, resumes it from its latest
 * good checkpoint, or does nothing if it is finished (*finished_before = 1),
 * being run by another live process on this host (*finished_before = 2, and
 * err->msg says by whom), or failed before with the inputs it has now (its
 * fingerprint, see aw_run_check) and opts->retry_failed is 0 (*finished_before
 * = 3, err->msg says how it failed).
 * Returns 0 when the run finished, AW_EINTR when stopped by opts->stop (after
 * checkpointing and marking it interrupted), another AW_E* on failure (the run
 * is then marked failed with the message). */
int aw_run(const aw_spec_t *spec, aw_store_t *store, const aw_run_opts_t *opts,
           int *finished_before, aw_error_t *err);

/* Whether the process that claimed a run ("pid N on HOST", the run's message while running) is still at
 * work: a live process of this host (a claim from another host counts as dead); ctx is unused. The
 * is_alive of aw_store_run_claim and aw_store_runs_delete. */
int aw_run_owner_alive(const char *owner, void *ctx);
/* Checks before any work what the run needs: its method and estimators, its
 * binarization, and the headers of the data files of every split it reads
 * (aw_data_check), so that a sweep learns of a missing or damaged file before
 * it trains anything. On success fingerprint[65] is the run's inputs'
 * fingerprint: the SHA-256 of its canonical spec and of its data files' paths,
 * sizes and modification times. A run that fails is logged with it (event
 * "failed", message "inputs FINGERPRINT: MESSAGE"). */
int aw_run_check(const aw_spec_t *spec, char fingerprint[65], aw_error_t *err);

/* --fresh: moves spec to the next replicate index (repeat + 1, + 2, ...) whose
 * run is not yet in the store, recomputing its identity and naming it
 * NAME-repeat=R. */
int aw_run_next_replicate(aw_store_t *store, aw_spec_t *spec, aw_error_t *err);

/* Shard k of `shards` of an evaluation of n_points points in calls of `batch` points: points [*lo, *hi),
 * whole calls only, so that every call's generator is the unsharded evaluation's (empty when there are
 * fewer calls than shards). */
void aw_run_shard_range(long n_points, int batch, int shards, int k, long *lo, long *hi);

/* Mean of values[n] (summed in index order) and its standard error: an evaluation's result. */
void aw_run_eval_summary(const double *values, long n, double *mean, double *se);

/* Fills data options from the spec's dataset section (pointers borrow from spec). */
void aw_run_data_opts(const aw_spec_t *spec, aw_data_opts_t *o);

/* 1 if the run asks for bf16 HMC gradients (method.hmc_precision or an evaluation's). */
int aw_run_asks_bf16(const aw_spec_t *spec);

/* Sets the process's thread count (1..AW_MAX_THREADS): OpenMP's pool, which OpenBLAS (the OpenMP build)
 * shares. First checks that the system lets this process create that many threads with the default
 * stack (OpenMP would abort the process otherwise). Returns 0, AW_EARG out of range, or AW_ENOMEM
 * ("cannot create N threads: ..."). */
int aw_run_set_threads(int threads, aw_error_t *err);

#endif
