/* run_ctx.h: what the runner's files share (internal to src/run): the context one run holds while it
 * trains and evaluates, and what each file provides to the others. run.c: lifecycle, claims, progress;
 * setup.c: the context and the evaluations from the spec; train.c: the training loop and NaN rollback;
 * evaluate.c: evaluations; checkpoint.c: the context into checkpoints and back; inputs.c: checks before any
 * work and failed runs' fingerprints; retention.c: which checkpoints are kept; kernels_used.c: the bf16
 * kernel a run gets, as an event. */
#ifndef AW_RUN_CTX_H
#define AW_RUN_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "data/data.h"
#include "methods/plugin.h"
#include "run/ckpt_layout.h"
#include "run/run.h"
#include "spec/spec.h"
#include "store/store.h"

/* Everything one run holds while it trains. */
typedef struct run_ctx {
    const aw_spec_t *spec;          /* the resolved run (borrowed) */
    aw_store_t *store;              /* results database (borrowed) */
    const aw_run_opts_t *opts;      /* options (borrowed) */
    const aw_method_ops_t *ops;     /* training method */
    aw_model_t model;               /* parameters */
    void *method;                   /* method state */
    aw_rng_t rng;                   /* the run's generator */
    aw_dataset_t train;             /* training split */
    aw_binarize_t bin;              /* binarization of every batch */
    aw_run_progress_t ps;            /* position and partial sums */
    size_t *order;                  /* [train.n] data order of the current epoch */
    float *xbatch;                  /* [batch_size, D] binarized batch */
    int evals_run;                  /* evaluations computed (not found finished) by this process */
    int64_t eval_units;             /* units of work inside evaluation calls done by this process */
    int nan_retries;                /* rollbacks so far in this process */
    const float *last_step;         /* step sizes reported by the last step (borrowed from the method) */
    uint8_t *initial;               /* the initial state as a checkpoint blob, kept in memory for the
                                       first epoch's rollback; NULL once a checkpoint is stored */
    size_t initial_n;               /* its bytes */
} run_ctx_t;

/* ---- kernels_used.c ---- */

/* Where the run asks for bf16 HMC gradients (method or an evaluation), an event "kernels" saying which
 * kernel runs them on this CPU, or that they run in fp32. */
int aw_run_log_kernels(const run_ctx_t *c, aw_error_t *err);

/* ---- run.c ---- */

/* Monotonic wall time in seconds. */
double aw_run_now_s(void);

/* Passes p to the progress callback (if any), naming the run. */
void aw_run_notify(const run_ctx_t *c, aw_progress_t *p);

/* Tells the progress callback one AW_PROGRESS_NOTE line. */
void aw_run_note(const run_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- setup.c ---- */

/* Resolves the method, loads the training split, builds the model and the method state; on error the
 * caller still calls aw_run_ctx_fini. */
int aw_run_ctx_init(run_ctx_t *c, aw_error_t *err);
void aw_run_ctx_fini(run_ctx_t *c);

/* One evaluation resolved from its spec entry. */
typedef struct aw_run_eval_setup {
    const aw_estimator_ops_t *est;  /* the estimator */
    const void *cfg;                /* its settings (the spec's config struct, borrowed) */
    aw_eval_ctx_t ctx;              /* batch and the run's stop flag */
    long n_points;                  /* points of the split evaluated */
    char settings[512];             /* canonical settings text: the key its results are stored under */
} aw_run_eval_setup_t;

/* Resolves evaluation e on data set ds into *out. */
int aw_run_eval_setup(const run_ctx_t *c, const aw_eval_spec_t *e, const aw_dataset_t *ds,
                      aw_run_eval_setup_t *out, aw_error_t *err);

/* ---- inputs.c ---- */

/* *unchanged = 1 (and err->msg says how it failed, code AW_OK) when the run's newest failure was logged with
 * the inputs' fingerprint it has now; 0 when they changed or are unknown. */
int aw_run_failed_unchanged(const aw_spec_t *spec, aw_store_t *store, int *unchanged, aw_error_t *err);

/* Logs the run's failure with message and its inputs' fingerprint (event "failed"). */
int aw_run_log_failure(const aw_spec_t *spec, aw_store_t *store, const char *message, aw_error_t *err);

/* ---- checkpoint.c ---- */

/* Restores the newest checkpoint that decodes and fits the run, dropping whatever is newer in the
 * store; *found = 0 when there is none. */
int aw_run_resume_latest(run_ctx_t *c, int *found, aw_error_t *err);

/* Stores the current state: as the end-of-epoch checkpoint with metrics m, or mid-epoch. */
int aw_run_commit_checkpoint(run_ctx_t *c, int end_of_epoch, const aw_store_metrics_t *m, aw_error_t *err);

/* Keeps the current (initial) state in memory, for aw_run_restore_initial. */
int aw_run_keep_initial(run_ctx_t *c, aw_error_t *err);

/* Restores the state kept by aw_run_keep_initial; *found = 0 when none is kept. */
int aw_run_restore_initial(run_ctx_t *c, int *found, aw_error_t *err);

/* ---- train.c ---- */

int64_t aw_run_steps_per_epoch(const run_ctx_t *c);

/* Trains until the spec's epochs are done, running the evaluations due every N epochs. */
int aw_run_train(run_ctx_t *c, aw_error_t *err);

/* ---- eval_link.c ---- */

/* One evaluation call's link to the runner (its aw_eval_hooks_t ctx). */
typedef struct aw_eval_link {
    run_ctx_t *c;                     /* the run */
    const aw_store_eval_key_t *key;   /* the evaluation (borrowed) */
    const char *unit;                 /* what a unit of the call's work is (the estimator's work_unit) */
    int64_t first, m;                 /* the call's points: first .. first + m - 1 */
    int64_t n_done, n_points;         /* points of the evaluation stored before the call, and in all */
    double t_start;                   /* when this process began the call */
    double seconds_before;            /* work time held by the partial state it resumed from */
    double last_save, last_notify;    /* times of the last save request and progress report */
    double t_first;                   /* time of the first work report */
    int64_t done_first, units_seen;   /* units done at the first report; reports so far */
} aw_eval_link_t;

/* Prepares l for the call evaluating points first .. first + m - 1 of key (n_done of n_points stored) and
 * points ctx->hooks at it. */
void aw_run_eval_link(aw_eval_link_t *l, run_ctx_t *c, const aw_store_eval_key_t *key, const char *unit,
                      int64_t first, int64_t m, int64_t n_done, int64_t n_points, aw_eval_ctx_t *ctx);

/* ---- evaluate.c ---- */

/* Runs the evaluations due after epoch c->ps.epoch (every N, or all when final). */
int aw_run_evals(run_ctx_t *c, int final, aw_error_t *err);

#endif
