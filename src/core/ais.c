/* ais.c: one AIS sweep over a batch of chains (weights accumulated before each transition), the temperature
 * schedules, the step-size rules and logmeanexp. */
#include "core/ais.h"

#include <math.h>

double aw_ais_beta(int schedule, double delta, int T, int t)
{
    if (t <= 0)
        return 0.0;
    if (t >= T - 1)
        return 1.0;
    double x = (double)t / (double)(T - 1);
    if (schedule != AW_AIS_SIGMOID)
        return x;
    double lo = 1.0 / (1.0 + exp(delta)), hi = 1.0 / (1.0 + exp(-delta));
    double v = 1.0 / (1.0 + exp(-delta * (2.0 * x - 1.0)));
    return (v - lo) / (hi - lo);
}

static float clipf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void aw_ais_adapt_steps(float *step, const double *accept, int n, float target, float lo, float hi)
{
    for (int i = 0; i < n; i++)
        step[i] = clipf(step[i] * ((float)accept[i] < target ? 0.998f : 1.002f), lo, hi);
}

double aw_ais_logmeanexp(const double *lw, int n)
{
    double m = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (isnan(lw[i]))
            return NAN;
        if (lw[i] > m)
            m = lw[i];
    }
    if (m == -INFINITY || m == INFINITY)
        return m;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += exp(lw[i] - m);
    return m + log(s / n);
}

int aw_ais_sweep(aw_hmc_t *s, const aw_hmc_target_t *tg, const aw_ais_cfg_t *cfg, float *step,
                 double *accept, aw_rng_t *rng, double *logw, aw_error_t *err)
{
    if (cfg->T < 2 || cfg->L < 1)
        return aw_error_set(err, AW_EARG, "ais: need T >= 2 and L >= 1, got T=%d L=%d", cfg->T, cfg->L);
    int rc = aw_hmc_start(s, tg, rng, err);
    if (rc != 0)
        return rc;
    for (int n = 0; n < s->n; n++)
        logw[n] = 0.0;
    return aw_ais_sweep_from(s, cfg, 1, step, accept, rng, logw, err);
}

int aw_ais_sweep_from(aw_hmc_t *s, const aw_ais_cfg_t *cfg, int t_first, float *step, double *accept,
                      aw_rng_t *rng, double *logw, aw_error_t *err)
{
    if (cfg->T < 2 || cfg->L < 1 || t_first < 1 || t_first >= cfg->T)
        return aw_error_set(err, AW_EARG, "ais: need T >= 2, L >= 1 and 1 <= t_first < T, got T=%d L=%d t_first=%d",
                            cfg->T, cfg->L, t_first);
    const int N = s->n;
    int rc;
    double prev = aw_ais_beta(cfg->schedule, cfg->delta, cfg->T, t_first - 1);
    for (int t = t_first; t < cfg->T; t++) {
        int stopping = cfg->stop != NULL && *cfg->stop;
        if (cfg->at_temp != NULL && t > t_first) {
            if ((rc = cfg->at_temp(cfg->at_ctx, t, stopping, err)) < 0)
                return rc;
            stopping |= rc > 0;
        }
        if (stopping)
            return aw_error_set(err, AW_EINTR, "ais: interrupted at temperature %d of %d", t, cfg->T - 1);
        double beta = aw_ais_beta(cfg->schedule, cfg->delta, cfg->T, t), db = beta - prev;
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            logw[n] += db * ((double)s->logp[n] - s->logq[n]);
        const float *e = cfg->step_mode == AW_AIS_STEP_ADAPT ? step : step + (t - 1);
        int n_acc = 0;
        rc = aw_hmc_transition(s, beta, e, 0, cfg->L, rng, &n_acc, err);
        if (rc != 0) {
            aw_error_prefix(err, "ais: temperature %d of %d", t, cfg->T - 1);
            return rc;
        }
        double a = (double)n_acc / (double)N;
        if (accept != NULL)
            accept[t - 1] = a;
        if (cfg->step_mode == AW_AIS_STEP_ADAPT)
            step[0] = clipf(step[0] * ((float)a > cfg->target ? 1.002f : 0.998f), cfg->step_min, cfg->step_max);
        prev = beta;
    }
    return 0;
}
