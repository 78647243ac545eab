/* iwae_bound.c: the "iwae_bound" estimator (docs/math.md#estimators): -logmeanexp over S importance samples from q(h|x),
 * S processed in chunks so memory does not grow with S; per-point sums kept in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model_ws.h"
#include "core/objective.h"
#include "methods/plugin.h"

#ifndef AW_IWAE_BOUND_CHUNK
#define AW_IWAE_BOUND_CHUNK 250  /* samples per point per decoder pass (torch: 50..250 best) */
#endif

extern const aw_estimator_ops_t aw_iwae_bound_ops;

/* The estimator's settings (evaluate[i].* in specs). */
typedef struct bound_cfg {
    int samples; /* S, importance samples per point */
} bound_cfg_t;

static const aw_key_t bound_keys[] = {
    {.key = "samples", .type = AW_KEY_INT, .def = "5000", .lo = 1, .identity = 1,
     .doc = "S, importance samples from q(h|x) per point", .offset = offsetof(bound_cfg_t, samples)},
    {0}};

static int bound_eval(const void *cfg, const aw_eval_ctx_t *ctx, const aw_model_t *m, const float *x, int n,
                      aw_rng_t *rng, double *out, aw_error_t *err)
{
    const bound_cfg_t c = *(const bound_cfg_t *)cfg;
    int rc = aw_settings_validate(&aw_iwae_bound_ops.settings, &c, err);
    if (rc < 0)
        return aw_error_prefix(err, "iwae_bound");
    if (ctx->batch < 1 || ctx->batch > 65536)
        return aw_error_set(err, AW_ESPEC, "iwae_bound: batch must be in 1..65536, got %d", ctx->batch);
    if (n < 0)
        return aw_error_set(err, AW_EARG, "iwae_bound: %d points", n);
    if (n == 0)
        return 0;
    const int S = c.samples, P = ctx->batch < n ? ctx->batch : n;
    const int chunk = S < AW_IWAE_BOUND_CHUNK ? S : AW_IWAE_BOUND_CHUNK;
    const int D = m->shape.D, H = m->shape.H;
    aw_model_ws_t *ws = aw_model_ws_new(&m->shape, P, P * chunk);
    double *mx = malloc((size_t)P * sizeof *mx), *se = malloc((size_t)P * sizeof *se);
    float *sum_ls = malloc((size_t)P * sizeof *sum_ls);
    if (!ws || !mx || !se || !sum_ls) {
        aw_model_ws_free(ws);
        free(mx);
        free(se);
        free(sum_ls);
        return aw_error_set(err, AW_ENOMEM, "iwae_bound: cannot allocate the workspace for %d points x %d "
                            "samples", P, chunk);
    }
    float *logw = ws->row_a;
    for (int i0 = 0; i0 < n; i0 += P) {
        const int B = n - i0 < P ? n - i0 : P;
        const float *xb = x + (size_t)i0 * D;
        aw_model_enc_forward(m, ws, xb, B);
        for (int i = 0; i < B; i++) {
            mx[i] = -INFINITY;
            se[i] = 0;
            sum_ls[i] = 0;
            for (int j = 0; j < H; j++)
                sum_ls[i] += ws->enc_out[(size_t)i * 2 * H + H + j];
        }
        for (int s0 = 0; s0 < S; s0 += chunk) {
            if (ctx->stop != NULL && *ctx->stop) {
                rc = aw_error_set(err, AW_EINTR, "iwae_bound: interrupted");
                goto done;
            }
            const int K = S - s0 < chunk ? S - s0 : chunk, N = B * K;
            aw_rng_fill_normal(rng, ws->eps, (size_t)N * H);
            /* h = mu + sigma eps; log w = log p(h) - log q(h|x) now, + log p(x|h) after the decoder. */
#pragma omp parallel for schedule(static)
            for (int r = 0; r < N; r++) {
                const int i = r / K;
                const float *mu = ws->enc_out + (size_t)i * 2 * H, *sig = ws->sig + (size_t)i * H;
                const float *e = ws->eps + (size_t)r * H;
                logw[r] = sum_ls[i] + aw_model_sample_row(mu, sig, e, ws->h + (size_t)r * H, H);
            }
            aw_model_dec_loglik(m, ws, xb, K, ws->h, N, logw, AW_LOGLIK_ADD, NULL);
            for (int i = 0; i < B; i++) {
                const float *lw = logw + (size_t)i * K;
                double m1 = mx[i];
                for (int k = 0; k < K; k++)
                    m1 = lw[k] > m1 ? lw[k] : m1;
                if (!(m1 > -INFINITY))
                    continue; /* every weight so far is zero */
                double s1 = se[i] * exp(mx[i] - m1);
                if (!(mx[i] > -INFINITY))
                    s1 = 0;
                for (int k = 0; k < K; k++)
                    s1 += exp((double)lw[k] - m1);
                mx[i] = m1;
                se[i] = s1;
            }
        }
        for (int i = 0; i < B; i++) {
            out[i0 + i] = -(mx[i] + log(se[i] / S));
            if (isnan(out[i0 + i])) {
                rc = aw_error_set(err, AW_ENUMERIC, "iwae_bound: the estimate for point %d is NaN (the "
                                  "model's log-weights are not finite)", i0 + i);
                goto done;
            }
        }
    }
done:
    aw_model_ws_free(ws);
    free(mx);
    free(se);
    free(sum_ls);
    return rc;
}

const aw_estimator_ops_t aw_iwae_bound_ops = {
    .name = "iwae_bound",
    .doc = "The IWAE bound: -log of the mean of S importance weights from q(h|x)",
    .settings = {bound_keys, sizeof(bound_cfg_t), NULL},
    .batch = 32,
    .default_entry = "{estimator: iwae_bound, samples: 5000, split: test}",
    .table = "elbo",
    .table_title = "ELBO",
    .unit = "nats",
    .better = "lower",
    .what = "the importance-weighted bound -log mean_s w_s",
    .eval = bound_eval,
};
