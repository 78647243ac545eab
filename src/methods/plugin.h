/* plugin.h: the table of training methods and estimators. A new method or
 * estimator is one file that defines an aw_method_ops_t or aw_estimator_ops_t
 * (its settings as a key table, its callbacks) plus one row in plugin.c.
 * Nothing outside those files names a method or an estimator: the spec, the
 * runner and the report ask the ops.
 *
 * Dimension letters: B data points in a minibatch, D pixels, H latent size,
 * K samples (chains) per data point, T temperatures. */
#ifndef AW_PLUGIN_H
#define AW_PLUGIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "methods/settings.h"
#include "util/error.h"
#include "util/rng.h"

struct aw_model;

/* Adam's hyper-parameters (train.adam), handed to a method's create. */
typedef struct aw_adam_cfg {
    float beta1, beta2, eps;
} aw_adam_cfg_t;

/* What one minibatch step reports. Pointers borrow from the method state and
 * stay valid until the next step. */
typedef struct aw_step_stats {
    double loss;          /* minibatch mean of the loss the method minimizes */
    double bound;         /* minibatch mean of the training bound, as a positive NLL in nats
                             (IWAE-K bound for vae/iwae; AIS log-weight bound for aiwae) */
    int n_temps;          /* number of HMC temperatures (ops->n_temps(cfg)) */
    const double *accept; /* [n_temps] acceptance rate at each temperature this step */
    const float *step;    /* [n_temps] step size at each temperature after adaptation */
} aw_step_stats_t;

typedef struct aw_method_ops {
    const char *name;     /* method.name in specs */
    const char *doc;      /* one line, for --describe */
    /* Its settings under method.* (method.name aside): table, config struct size, cross-key rules. */
    aw_settings_t settings;
    int batch_size;       /* default of train.batch_size */
    /* Number of HMC temperatures whose acceptance and step size a step reports (0: none). */
    int (*n_temps)(const void *cfg);
    /* Row label in the paper tables, e.g. "IWAE K=5". */
    void (*label)(const void *cfg, char *buf, size_t n);
    /* Test NLL on MNIST that the IWAE paper reports for this setting (Burda et al. 2015, Table 1), or NAN. */
    double (*reference)(const void *cfg);
    /* Allocates the state (optimizers, step sizes, workspaces for up to max_batch points) for a validated
     * cfg (the method's config struct). */
    int (*create)(const void *cfg, const aw_adam_cfg_t *adam, const struct aw_model *model, int max_batch,
                  void **state, aw_error_t *err);
    void (*destroy)(void *state);
    /* One update on x [B,D] (already binarized) with learning rate lr. */
    int (*step)(void *state, struct aw_model *model, const float *x, int B, float lr,
                aw_rng_t *rng, aw_step_stats_t *stats, aw_error_t *err);
    /* Checkpoint of the state that must survive (Adam moments and step counts,
     * step sizes): state_bytes() bytes written by save, read back by load. */
    size_t (*state_bytes)(const void *state);
    void (*save)(const void *state, uint8_t *buf);
    int (*load)(void *state, const uint8_t *buf, size_t n, aw_error_t *err);
} aw_method_ops_t;

/* What tick asks of an estimator in the middle of a call (a mask). */
enum {
    AW_EVAL_SAVE = 1, /* save the call's partial state now (a few minutes of work went by since the last save) */
    AW_EVAL_STOP = 2  /* stop now as if interrupted, after saving (testing aid) */
};

/* What an estimator may tell the runner inside one eval call. Every function may be NULL. */
typedef struct aw_eval_hooks {
    void *ctx; /* passed to each */
    /* done of total units of the call's work (ais_nll: temperatures over all its batches); returns a mask
     * of AW_EVAL_SAVE and AW_EVAL_STOP. */
    int (*tick)(void *ctx, int64_t done, int64_t total);
    /* Stores the call's partial state (an opaque blob of the estimator's, replacing the previous one), and
     * done / total as tick had them. */
    int (*save)(void *ctx, const uint8_t *blob, size_t n, int64_t done, int64_t total, aw_error_t *err);
    /* The partial state stored for this call by an interrupted process: *blob (malloc'd, caller frees) of *n
     * bytes, or *blob = NULL when there is none. */
    int (*load)(void *ctx, uint8_t **blob, size_t *n, aw_error_t *err);
    /* May be NULL. A line about the work on the call's points [first, first + n) (indices within the call)
     * that is not a value (ais_nll: each batch's mean acceptance rate and last step size), kept as an event
     * of the run that names the points by their index in the evaluation. */
    int (*note)(void *ctx, int first, int n, const char *line, aw_error_t *err);
} aw_eval_hooks_t;

/* How an evaluation runs, apart from the estimator's settings. */
typedef struct aw_eval_ctx {
    int batch;                         /* points processed together (memory / speed knob), >= 1 */
    const volatile sig_atomic_t *stop; /* when non-NULL and set (by a signal handler), eval returns AW_EINTR
                                          at its next temperature / sample chunk (after saving its partial
                                          state through hooks.save, if it has one) */
    aw_eval_hooks_t hooks;             /* progress and partial state inside the call */
} aw_eval_ctx_t;

typedef struct aw_estimator_ops {
    const char *name;     /* evaluate[].estimator in specs */
    const char *doc;      /* one line, for --describe */
    aw_settings_t settings; /* its settings under evaluate[i] (beside estimator, split, size, every, batch) */
    int batch;            /* default of evaluate[].batch */
    const char *default_entry; /* its entry in the default evaluate list (flow YAML), or NULL: not in it */
    const char *table;    /* the aiwae-report table its results go to (--table NAME): "nll", "elbo" */
    const char *table_title; /* that table's name in its title, e.g. "NLL" */
    const char *what;     /* what a value is, for the table's title, e.g. "-log p(x) by annealed importance
                             sampling" */
    const char *unit;     /* what its values count, e.g. "nats" */
    const char *better;   /* "lower" or "higher" (is better) */
    const char *work_unit; /* what one unit of the work its eval reports through ctx->hooks.tick is, e.g.
                              "temperature" (NULL: it reports none) */
    /* The values an evaluation of x [n,D] (binarized by the caller) produces, into out. With n_values NULL:
     * one per point (e.g. its -log p(x) in nats), out[n], called on chunks of ctx->batch points, the result
     * being their mean and standard error. Otherwise out[n_values(model)] (e.g. one per latent unit),
     * called once on all n points, the result given by summarize. cfg is the estimator's validated config
     * struct. Memory must not grow with the number of samples or temperatures.
     * A long call reports through ctx->hooks and may save its partial state there; a call given the same x
     * and rng that finds a saved state resumes from it with the same out. */
    int (*eval)(const void *cfg, const aw_eval_ctx_t *ctx, const struct aw_model *model, const float *x,
                int n, aw_rng_t *rng, double *out, aw_error_t *err);
    int (*n_values)(const struct aw_model *model);
    /* The result of out[n] from a whole-split eval: *value and its standard error *se (0 when exact). */
    void (*summarize)(const void *cfg, const double *out, int n, double *value, double *se);
} aw_estimator_ops_t;

/* The method of a spec that names none (the paper's). */
const aw_method_ops_t *aw_method_default(void);

/* Look-ups by name; NULL when there is no such plugin. */
const aw_method_ops_t *aw_method_find(const char *name);
const aw_estimator_ops_t *aw_estimator_find(const char *name);

/* The i-th row of each table (table order), NULL past the end. */
const aw_method_ops_t *aw_method_at(int i);
const aw_estimator_ops_t *aw_estimator_at(int i);

/* Row of ops in its table (the order of methods in the paper tables), or -1. */
int aw_method_index(const aw_method_ops_t *ops);

/* NULL-terminated names in table order: the words method.name and evaluate[].estimator accept. */
const char *const *aw_method_names(void);
const char *const *aw_estimator_names(void);

/* The distinct table names of the estimators, in table order, joined by sep with last_sep before the last
 * ("nll or elbo", "nll|elbo"). */
void aw_estimator_tables(char *out, size_t n, const char *sep, const char *last_sep);

/* The first estimator whose results go to table (e.g. "nll"), or NULL. */
const aw_estimator_ops_t *aw_estimator_for_table(const char *table);

#endif
