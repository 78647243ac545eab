/* active_units.c: the "active_units" estimator (docs/math.md#active_units): a latent unit j is active when
 * the variance over the data of its posterior mean, Var_x E_q[h_j|x] = Var_x mu_j(x), exceeds a threshold
 * (Burda et al. 2015, section 5.2: 0.01). Its values are the H per-unit variances (so a reader can apply
 * another threshold); its result is the number of active units. */
#include <stdint.h>
#include <stdlib.h>

#include "core/model.h"
#include "core/model_ws.h"
#include "methods/plugin.h"

extern const aw_estimator_ops_t aw_active_units_ops;

/* The estimator's settings (evaluate[i].* in specs). */
typedef struct units_cfg {
    float threshold; /* a unit is active when its variance exceeds this */
} units_cfg_t;

static const aw_key_t units_keys[] = {
    {.key = "threshold", .type = AW_KEY_FLOAT, .def = "0.01", .range = AW_GT0, .identity = 1,
     .doc = "a latent unit is active when Var_x E_q[h_j|x] exceeds this", .offset = offsetof(units_cfg_t, threshold)},
    {0}};

static int units_n_values(const aw_model_t *model)
{
    return model->shape.H;
}

/* out[H]: the variance over the n points of each unit's posterior mean (two passes in double). */
static int units_eval(const void *cfg, const aw_eval_ctx_t *ctx, const aw_model_t *m, const float *x, int n,
                      aw_rng_t *rng, double *out, aw_error_t *err)
{
    (void)rng;
    int rc = aw_settings_validate(&aw_active_units_ops.settings, cfg, err);
    if (rc != 0)
        return aw_error_prefix(err, "active_units");
    if (n < 2)
        return aw_error_set(err, AW_EARG, "active_units: a variance needs at least 2 points, got %d", n);
    if (ctx->batch < 1)
        return aw_error_set(err, AW_ESPEC, "active_units: batch must be an integer >= 1, got %d", ctx->batch);
    const int H = m->shape.H, D = m->shape.D, P = ctx->batch < n ? ctx->batch : n;
    aw_model_ws_t *ws = aw_model_ws_new(&m->shape, P, P);
    float *mu = malloc((size_t)n * H * sizeof *mu), *ls = malloc((size_t)P * H * sizeof *ls);
    if (ws == NULL || mu == NULL || ls == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "active_units: out of memory for %d points", n);
        goto done;
    }
    for (int i0 = 0; i0 < n && rc == 0; i0 += P) {
        const int B = n - i0 < P ? n - i0 : P;
        if (ctx->stop != NULL && *ctx->stop)
            rc = aw_error_set(err, AW_EINTR, "active_units: interrupted");
        else if ((rc = aw_model_encode(m, ws, x + (size_t)i0 * D, B, mu + (size_t)i0 * H, ls)) != 0)
            rc = aw_error_set(err, rc, "active_units: encoder failed on points %d..%d", i0, i0 + B - 1);
    }
    for (int j = 0; j < H && rc == 0; j++) {
        double mean = 0, ss = 0;
        for (int i = 0; i < n; i++)
            mean += mu[(size_t)i * H + j];
        mean /= n;
        for (int i = 0; i < n; i++) {
            double d = mu[(size_t)i * H + j] - mean;
            ss += d * d;
        }
        out[j] = ss / (n - 1);
    }
done:
    aw_model_ws_free(ws);
    free(mu);
    free(ls);
    return rc;
}

static void units_summarize(const void *cfg, const double *out, int n, double *value, double *se)
{
    const units_cfg_t *c = cfg;
    int active = 0;
    for (int j = 0; j < n; j++)
        active += out[j] > c->threshold;
    *value = active;
    *se = 0;
}

const aw_estimator_ops_t aw_active_units_ops = {
    .name = "active_units",
    .doc = "Active units: latent units whose posterior mean varies over the data (Burda et al. 2015)",
    .settings = {units_keys, sizeof(units_cfg_t), NULL},
    .batch = 500,
    .table = "units",
    .table_title = "active units",
    .what = "latent units j with Var_x E_q[h_j|x] > threshold",
    .unit = "units",
    .better = "higher",
    .eval = units_eval,
    .n_values = units_n_values,
    .summarize = units_summarize,
};
