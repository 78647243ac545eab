/* ais_nll.c: the "ais_nll" estimator (docs/math.md#estimators): per point, -logmeanexp over C AIS chains from q(h|x) to
 * p(h|x), batches of points at a time, one step size per batch adapted after every temperature. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/ais.h"
#include "core/ais_model.h"
#include "core/model.h"
#include "methods/hmc_precision.h"
#include "methods/plugin.h"
#include "methods/step_size.h"

extern const aw_estimator_ops_t aw_ais_nll_ops;

static const char *const SCHEDULES[] = {"linear", "sigmoid", NULL};

/* The estimator's settings (evaluate[i].* in specs). */
typedef struct ais_nll_cfg {
    int chains;         /* C, AIS chains per point */
    int temperatures;   /* T_eval, annealing distributions */
    int leapfrog;       /* L, leapfrog steps per transition */
    int schedule;       /* index in SCHEDULES */
    aw_step_cfg_t step; /* HMC step size: one per batch, adapted after every temperature */
    int hmc_precision;  /* AW_HMC_FP32 or AW_HMC_BF16: the leapfrog gradients' products */
} ais_nll_cfg_t;

static const aw_key_t ais_nll_keys[] = {
    {.key = "chains", .type = AW_KEY_INT, .def = "16", .lo = 1, .identity = 1,
     .doc = "C, independent AIS chains per point", .offset = offsetof(ais_nll_cfg_t, chains)},
    {.key = "temperatures", .type = AW_KEY_INT, .def = "10000", .lo = 2, .identity = 1,
     .doc = "T, annealing distributions from q(h|x) to p(h|x), both ends included",
     .offset = offsetof(ais_nll_cfg_t, temperatures)},
    {.key = "leapfrog", .type = AW_KEY_INT, .def = "10", .lo = 1, .identity = 1,
     .doc = "L, leapfrog steps per HMC transition", .offset = offsetof(ais_nll_cfg_t, leapfrog)},
    {.key = "schedule", .type = AW_KEY_WORD, .def = "linear", .words = SCHEDULES, .identity = 1,
     .doc = "spacing of the inverse temperatures: linear, or sigmoid (Wu et al. 2017)",
     .offset = offsetof(ais_nll_cfg_t, schedule)},
    AW_STEP_SIZE_KEYS(ais_nll_cfg_t, step, "0.1", "0.02", "0.3"),
    AW_HMC_PRECISION_KEY(ais_nll_cfg_t, hmc_precision),
    {0}};

static int ais_nll_check(const void *cfg, aw_check_t *c)
{
    return aw_step_size_check(&((const ais_nll_cfg_t *)cfg)->step, c);
}

static int ais_nll_eval(const void *cfg, const aw_eval_ctx_t *ctx, const aw_model_t *model, const float *x,
                        int n, aw_rng_t *rng, double *out, aw_error_t *err)
{
    const ais_nll_cfg_t c = *(const ais_nll_cfg_t *)cfg;
    int rc = aw_settings_validate(&aw_ais_nll_ops.settings, &c, err);
    if (rc != 0)
        return aw_error_prefix(err, "ais_nll");
    if (ctx->batch < 1)
        return aw_error_set(err, AW_ESPEC, "ais_nll: batch must be an integer >= 1, got %d", ctx->batch);
    if ((int64_t)ctx->batch * c.chains > 1 << 26)
        return aw_error_set(err, AW_ESPEC, "ais_nll: batch %d x chains %d is too many chains at once",
                            ctx->batch, c.chains);
    if (n < 1)
        return aw_error_set(err, AW_EARG, "ais_nll: no points to evaluate (n=%d)", n);
    const int C = c.chains, H = model->shape.H, D = model->shape.D;
    const int bmax = ctx->batch < n ? ctx->batch : n, nmax = bmax * C;
    aw_hmc_t hmc;
    if ((rc = aw_hmc_init(&hmc, nmax, H, err)) != 0)
        return rc;
    aw_model_ws_t *ws = aw_model_ws_new(&model->shape, bmax, nmax), *ws_grad = NULL;
    int grc = aw_hmc_grad_ws(c.hmc_precision, model, bmax, nmax, &ws_grad);
    float *mu = malloc((size_t)bmax * H * sizeof *mu), *logsig = malloc((size_t)bmax * H * sizeof *logsig);
    double *logw = malloc((size_t)nmax * sizeof *logw);
    if (ws == NULL || grc != 0 || mu == NULL || logsig == NULL || logw == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "ais_nll: out of memory for %d points x %d chains", bmax, C);
        goto done;
    }
    aw_ais_cfg_t ac = { .T = c.temperatures, .L = c.leapfrog,
                        .schedule = c.schedule == 1 ? AW_AIS_SIGMOID : AW_AIS_LINEAR, .delta = AW_AIS_SIGMOID_DELTA,
                        .step_mode = AW_AIS_STEP_ADAPT, .target = c.step.target_accept, .step_min = c.step.min,
                        .step_max = c.step.max, .stop = ctx->stop };
    for (int i0 = 0; i0 < n; i0 += bmax) {
        const int B = n - i0 < bmax ? n - i0 : bmax;
        const float *xb = x + (size_t)i0 * D;
        if ((rc = aw_model_encode(model, ws, xb, B, mu, logsig)) != 0) {
            rc = aw_error_set(err, rc, "ais_nll: encoder failed on points %d..%d", i0, i0 + B - 1);
            goto done;
        }
        aw_ais_model_ctx_t mctx = { .m = model, .ws = ws, .ws_grad = ws_grad, .x = xb, .B = B, .K = C };
        aw_hmc_target_t tg = { .B = B, .K = C, .mu = mu, .logsig = logsig,
                               .log_joint = aw_ais_model_log_joint, .ctx = &mctx };
        aw_ais_model_bind_grad(&tg, &mctx);
        float step = c.step.init;
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
    aw_model_ws_free(ws_grad);
    free(mu);
    free(logsig);
    free(logw);
    return rc;
}

const aw_estimator_ops_t aw_ais_nll_ops = {
    .name = "ais_nll",
    .doc = "The NLL by annealed importance sampling: -log of the mean AIS weight over C chains",
    .settings = {ais_nll_keys, sizeof(ais_nll_cfg_t), ais_nll_check},
    .batch = 256,
    .default_entry = "{estimator: ais_nll, chains: 16, temperatures: 10000, leapfrog: 10, split: test, size: 1000}",
    .table = "nll",
    .table_title = "NLL",
    .what = "-log p(x) by annealed importance sampling",
    .eval = ais_nll_eval,
};
