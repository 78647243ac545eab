/* ais_nll.c: the "ais_nll" estimator (SPEC 6): per point, -logmeanexp over C AIS chains from q(h|x) to
 * p(h|x), batches of points at a time, one step size per batch adapted after every temperature. */
#include <math.h>
#include <stdlib.h>

#include "core/ais.h"
#include "core/model.h"

static int ais_nll_validate(aw_estimator_cfg_t *c, aw_error_t *err)
{
    if (c->chains == 0)
        c->chains = 16;
    if (c->temperatures == 0)
        c->temperatures = 10000;
    if (c->leapfrog == 0)
        c->leapfrog = 10;
    if (c->step_init == 0)
        c->step_init = 0.1f;
    if (c->step_min == 0)
        c->step_min = 0.02f;
    if (c->step_max == 0)
        c->step_max = 0.3f;
    if (c->target_accept == 0)
        c->target_accept = 0.6f;
    if (c->batch == 0)
        c->batch = 256;
    if (c->chains < 1)
        return aw_error_set(err, AW_ESPEC, "ais_nll: chains must be an integer >= 1, got %d", c->chains);
    if (c->temperatures < 2)
        return aw_error_set(err, AW_ESPEC, "ais_nll: temperatures must be an integer >= 2, got %d",
                            c->temperatures);
    if (c->leapfrog < 1)
        return aw_error_set(err, AW_ESPEC, "ais_nll: leapfrog must be an integer >= 1, got %d", c->leapfrog);
    if (c->batch < 1)
        return aw_error_set(err, AW_ESPEC, "ais_nll: batch must be an integer >= 1, got %d", c->batch);
    if ((int64_t)c->batch * c->chains > 1 << 26)
        return aw_error_set(err, AW_ESPEC, "ais_nll: batch %d x chains %d is too many chains at once", c->batch,
                            c->chains);
    if (c->sigmoid != 0 && c->sigmoid != 1)
        return aw_error_set(err, AW_ESPEC, "ais_nll: schedule must be linear or sigmoid, got code %d",
                            c->sigmoid);
    if (!(c->step_min > 0) || !(c->step_max >= c->step_min) || !isfinite(c->step_max))
        return aw_error_set(err, AW_ESPEC, "ais_nll: step clip must satisfy 0 < min <= max, got [%g, %g]",
                            (double)c->step_min, (double)c->step_max);
    if (!(c->step_init >= c->step_min && c->step_init <= c->step_max))
        return aw_error_set(err, AW_ESPEC, "ais_nll: step_init must lie in [%g, %g], got %g",
                            (double)c->step_min, (double)c->step_max, (double)c->step_init);
    if (!(c->target_accept > 0 && c->target_accept < 1))
        return aw_error_set(err, AW_ESPEC, "ais_nll: target acceptance must lie in (0, 1), got %g",
                            (double)c->target_accept);
    return 0;
}

static int ais_nll_eval(const aw_estimator_cfg_t *cfg_in, const aw_model_t *model, const float *x, int n,
                        aw_rng_t *rng, double *out, aw_error_t *err)
{
    aw_estimator_cfg_t c = *cfg_in;
    int rc = ais_nll_validate(&c, err);
    if (rc != 0)
        return rc;
    if (n < 1)
        return aw_error_set(err, AW_EARG, "ais_nll: no points to evaluate (n=%d)", n);
    const int C = c.chains, H = model->shape.H, D = model->shape.D;
    const int bmax = c.batch < n ? c.batch : n, nmax = bmax * C;
    aw_hmc_t hmc;
    if ((rc = aw_hmc_init(&hmc, nmax, H, err)) != 0)
        return rc;
    aw_model_ws_t *ws = aw_model_ws_new(&model->shape, bmax, nmax);
    float *mu = malloc((size_t)bmax * H * sizeof *mu), *logsig = malloc((size_t)bmax * H * sizeof *logsig);
    double *logw = malloc((size_t)nmax * sizeof *logw);
    if (ws == NULL || mu == NULL || logsig == NULL || logw == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "ais_nll: out of memory for %d points x %d chains", bmax, C);
        goto done;
    }
    aw_ais_cfg_t ac = { .T = c.temperatures, .L = c.leapfrog,
                        .schedule = c.sigmoid ? AW_AIS_SIGMOID : AW_AIS_LINEAR, .delta = AW_AIS_SIGMOID_DELTA,
                        .step_mode = AW_AIS_STEP_ADAPT, .target = c.target_accept, .step_min = c.step_min,
                        .step_max = c.step_max, .stop = c.stop };
    for (int i0 = 0; i0 < n; i0 += bmax) {
        const int B = n - i0 < bmax ? n - i0 : bmax;
        const float *xb = x + (size_t)i0 * D;
        if ((rc = aw_model_encode(model, ws, xb, B, mu, logsig)) != 0) {
            rc = aw_error_set(err, rc, "ais_nll: encoder failed on points %d..%d", i0, i0 + B - 1);
            goto done;
        }
        aw_ais_model_ctx_t ctx = { .m = model, .ws = ws, .x = xb, .B = B, .K = C };
        aw_hmc_target_t tg = { .B = B, .K = C, .mu = mu, .logsig = logsig,
                               .log_joint = aw_ais_model_log_joint, .ctx = &ctx };
        float step = c.step_init;
        if ((rc = aw_ais_sweep(&hmc, &tg, &ac, &step, NULL, rng, logw, err)) != 0) {
            aw_error_prefix(err, "ais_nll: points %d..%d", i0, i0 + B - 1);
            goto done;
        }
        for (int b = 0; b < B; b++) {
            out[i0 + b] = -aw_ais_logmeanexp(logw + (size_t)b * C, C);
            if (!isfinite(out[i0 + b])) {
                rc = aw_error_set(err, AW_ENUMERIC, "ais_nll: non-finite estimate %g for point %d",
                                  out[i0 + b], i0 + b);
                goto done;
            }
        }
    }
done:
    aw_hmc_fini(&hmc);
    aw_model_ws_free(ws);
    free(mu);
    free(logsig);
    free(logw);
    return rc;
}

const aw_estimator_ops_t aw_ais_nll_ops = {
    .name = "ais_nll",
    .validate = ais_nll_validate,
    .eval = ais_nll_eval,
};
