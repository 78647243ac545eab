/* ais.h: annealed importance sampling from q(h|x) to p(h|x) with HMC transitions (docs/math.md#annealed-importance-sampling), the
 * temperature schedules, step-size adaptation rules, and the AIWAE method and ais_nll estimator plugins.
 *
 * Dimension letters as in hmc.h: B points, K chains per point, N = B*K chains point-major, H latent size,
 * T temperatures beta_0 = 0 < ... < beta_{T-1} = 1. Only the current state of each chain is kept: memory
 * does not grow with T. */
#ifndef AW_AIS_H
#define AW_AIS_H

#include <signal.h>

#include "core/hmc.h"

/* Temperature schedules. */
enum {
    AW_AIS_LINEAR = 0,  /* beta_t = t / (T-1) */
    AW_AIS_SIGMOID = 1  /* Wu et al. 2017: sigmoid(delta (2t/(T-1) - 1)) rescaled to [0,1] */
};

/* How a sweep uses its step sizes. */
enum {
    AW_AIS_STEP_PER_TEMP = 0, /* step [T-1]: step[t-1] at temperature t, not changed by the sweep */
    AW_AIS_STEP_ADAPT = 1     /* step [1]: one step size, after every temperature multiplied by 1.002 if
                                 that temperature's acceptance rate > target else by 0.998, then clipped */
};

#define AW_AIS_SIGMOID_DELTA 4.0

/* Settings of one sweep. */
typedef struct aw_ais_cfg {
    int T;            /* temperatures, >= 2 */
    int L;            /* leapfrog steps per transition, >= 1 */
    int schedule;     /* AW_AIS_LINEAR or AW_AIS_SIGMOID */
    double delta;     /* sigmoid schedule sharpness (AW_AIS_SIGMOID_DELTA) */
    int step_mode;    /* AW_AIS_STEP_PER_TEMP or AW_AIS_STEP_ADAPT */
    float target;     /* acceptance target of AW_AIS_STEP_ADAPT */
    float step_min;   /* clip of AW_AIS_STEP_ADAPT */
    float step_max;
    const volatile sig_atomic_t *stop; /* if non-NULL and set, the sweep returns AW_EINTR between temperatures */
    /* If non-NULL: called between temperatures, before temperature t (t-1 of them done since the sweep began or
     * resumed), where the state may be saved for aw_ais_sweep_from; stopping says the stop flag was seen (the
     * sweep then returns AW_EINTR). Returns 0 to go on, 1 to stop as if interrupted, or a negative AW_E*. */
    int (*at_temp)(void *ctx, int t, int stopping, aw_error_t *err);
    void *at_ctx;     /* passed to at_temp */
} aw_ais_cfg_t;

/* beta_t of the schedule for t in [0, T-1]; exactly 0 at t = 0 and 1 at t = T-1. */
double aw_ais_beta(int schedule, double delta, int T, int t);

/* One AIS sweep: binds s to tg, h ~ q (aw_hmc_start), logw [N] = 0; for t = 1..T-1: logw += (beta_t -
 * beta_{t-1}) (log p - log q) at the current state, then one HMC transition at beta_t. The final states
 * are left in s->h (s->logp etc. match them). step as described by cfg->step_mode (updated in place in
 * AW_AIS_STEP_ADAPT mode); accept [T-1] (may be NULL) receives each temperature's acceptance rate over
 * all N chains. 1 + (T-1) L log_joint calls. Returns 0 or the first error. */
int aw_ais_sweep(aw_hmc_t *s, const aw_hmc_target_t *tg, const aw_ais_cfg_t *cfg, float *step,
                 double *accept, aw_rng_t *rng, double *logw, aw_error_t *err);

/* The rest of a sweep from temperature t_first (1 <= t_first <= T-1): s is bound to its target and holds the
 * chains as they were before temperature t_first, logw their log-weights and step the step size(s) then, rng
 * the generator then; the result is the same as the sweep's that got there (aw_ais_sweep is aw_hmc_start,
 * logw = 0 and this from t_first = 1). */
int aw_ais_sweep_from(aw_hmc_t *s, const aw_ais_cfg_t *cfg, int t_first, float *step, double *accept,
                      aw_rng_t *rng, double *logw, aw_error_t *err);

/* AIWAE's per-temperature rule (docs/math.md#step-size-adaptation), applied after a minibatch: step[i] *= 0.998 if accept[i] < target
 * else 1.002, then clipped to [lo, hi], for i in [0, n). */
void aw_ais_adapt_steps(float *step, const double *accept, int n, float target, float lo, float hi);

/* log((1/n) sum_i exp(lw[i])) in double, max-subtracted; -inf if every lw is -inf, NaN if any is NaN. */
double aw_ais_logmeanexp(const double *lw, int n);

#endif
