/* plugin.h: the table of training methods and estimators. A new method is one
 * file that defines an aw_method_ops_t plus one row in plugin.c.
 *
 * Dimension letters: B data points in a minibatch, D pixels, H latent size,
 * K samples (chains) per data point, T temperatures. */
#ifndef AW_PLUGIN_H
#define AW_PLUGIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/rng.h"

struct aw_model;

/* Settings of a training method, resolved from the spec (method.* and train.*). */
typedef struct aw_method_cfg {
    int samples;          /* K >= 1 (vae requires 1) */
    int temperatures;     /* T >= 2 (aiwae only) */
    int leapfrog;         /* L >= 1 (aiwae only) */
    float step_init;      /* initial HMC step size (aiwae) */
    float step_min;       /* step sizes are clipped to [step_min, step_max] */
    float step_max;
    float target_accept;  /* adaptation target for the acceptance rate */
    float beta1, beta2, eps; /* Adam hyper-parameters */
} aw_method_cfg_t;

/* What one minibatch step reports. Pointers borrow from the method state and
 * stay valid until the next step. */
typedef struct aw_step_stats {
    double loss;          /* minibatch mean of the loss the method minimizes */
    double bound;         /* minibatch mean of the training bound, as a positive NLL in nats
                             (IWAE-K bound for vae/iwae; AIS log-weight bound for aiwae) */
    int n_temps;          /* number of HMC temperatures (T-1 for aiwae, else 0) */
    const double *accept; /* [n_temps] acceptance rate at each temperature this step */
    const float *step;    /* [n_temps] step size at each temperature after adaptation */
} aw_step_stats_t;

typedef struct aw_method_ops {
    const char *name;
    /* Validates cfg against this method and allocates its state (optimizers,
     * step sizes, workspaces for up to max_batch points). */
    int (*create)(const aw_method_cfg_t *cfg, const struct aw_model *model, int max_batch,
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

/* Settings of an estimator, resolved from one entry of the spec's evaluate list. */
typedef struct aw_estimator_cfg {
    int samples;          /* S, importance samples per point (iwae_bound) */
    int chains;           /* C, AIS chains per point (ais_nll) */
    int temperatures;     /* T_eval (ais_nll) */
    int leapfrog;         /* L (ais_nll) */
    int sigmoid;          /* 1: sigmoid schedule (Wu et al. 2017), 0: linear (ais_nll) */
    float step_init;      /* initial step size (ais_nll; 0.1) */
    float step_min, step_max, target_accept;
    int batch;            /* points processed together (memory / speed knob) */
    const volatile sig_atomic_t *stop; /* not a setting: when non-NULL and set (by a signal handler), eval
                                          returns AW_EINTR at its next temperature / sample chunk */
} aw_estimator_cfg_t;

typedef struct aw_estimator_ops {
    const char *name;
    /* Checks cfg, filling defaults for zero fields. */
    int (*validate)(aw_estimator_cfg_t *cfg, aw_error_t *err);
    /* Per-point estimates of -log p(x) in nats for x [n,D] (binarized by the
     * caller): out[n]. Memory must not grow with S or T_eval. */
    int (*eval)(const aw_estimator_cfg_t *cfg, const struct aw_model *model, const float *x,
                int n, aw_rng_t *rng, double *out, aw_error_t *err);
} aw_estimator_ops_t;

/* Look-ups by name; NULL when there is no such plugin. */
const aw_method_ops_t *aw_method_find(const char *name);
const aw_estimator_ops_t *aw_estimator_find(const char *name);

/* NULL-terminated name lists, for error messages and --help. */
const char *const *aw_method_names(void);
const char *const *aw_estimator_names(void);

#endif
