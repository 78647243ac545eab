/* objective.c: VAE and IWAE losses with exact reparameterized gradients (encoder once per data point,
 * decoder once per sample row), and the "vae" / "iwae" training methods (one Adam over all parameters). */
#include "objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_ws.h"

#ifndef AW_REAL_DOUBLE
#include "adam.h"
#endif

/* Noise for n values: the library draws floats in bulk; the double test build draws the same kind. */
static void fill_normal(aw_rng_t *rng, aw_real *eps, size_t n)
{
#ifdef AW_REAL_DOUBLE
    for (size_t i = 0; i < n; i++)
        eps[i] = aw_rng_normal(rng);
#else
    aw_rng_fill_normal(rng, eps, n);
#endif
}

/* h [N,H] = mu + sigma * eps, row n using data point n / K of enc_out [B,2H]; row_a [N] = log p(h) -
 * log q(h|x) - sum_j log sigma_j (see aw_model_sample_row). */
static void sample_h(aw_model_ws_t *ws, const aw_real *eps, int N, int K, int H)
{
#pragma omp parallel for schedule(static) if ((size_t)N * H > 4096)
    for (int n = 0; n < N; n++) {
        const aw_real *mu = ws->enc_out + (size_t)(n / K) * 2 * H, *sig = ws->sig + (size_t)(n / K) * H;
        ws->row_a[n] = aw_model_sample_row(mu, sig, eps + (size_t)n * H, ws->h + (size_t)n * H, H);
    }
}

int aw_vae_loss_grad_eps(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B,
                         const aw_real *eps, aw_real *grad, int which, double *loss, double *bound)
{
    if (B < 1 || B > ws->max_points || which < 1 || which > (AW_GRAD_ENC | AW_GRAD_DEC))
        return AW_EARG;
    const int D = m->shape.D, H = m->shape.H;
    const aw_real *b = m->dec[m->shape.n_hidden].b;
    const aw_real c = AW_R(-1.0) / (aw_real)B;
    aw_model_enc_forward(m, ws, x, B);
    sample_h(ws, eps, B, 1, H);
    const int fused = aw_model_dec_train_begin(m, ws, x, 1, ws->h, B, ws->row_b, 0, which & AW_GRAD_ENC);
    if (!fused)
        aw_model_dec_forward(m, ws, ws->h, B);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        aw_real lpx = fused ? ws->row_b[i]
                            : aw_model_bern_row(x + (size_t)i * D, ws->logits + (size_t)i * D, b, D, 1, c);
        const aw_real *mu = ws->enc_out + (size_t)i * 2 * H, *ls = mu + H, *sig = ws->sig + (size_t)i * H;
        aw_real kl = 0;
        for (int j = 0; j < H; j++)
            kl += mu[j] * mu[j] + sig[j] * sig[j] - AW_R(1.0) - AW_R(2.0) * ls[j];
        ws->pt[i] = (double)(AW_R(0.5) * kl - lpx);
    }
    double s = 0;
    for (int i = 0; i < B; i++)
        s += ws->pt[i];
    *loss = *bound = s / B;
    if (fused) {
        for (int i = 0; i < B; i++)
            ws->row_a[i] = c;
        aw_model_dec_train_grad(m, ws, ws->row_a, (which & AW_GRAD_DEC) ? grad + m->dec_off : NULL,
                                (which & AW_GRAD_ENC) ? ws->gh : NULL);
    } else {
        aw_model_dec_backward(m, ws, ws->h, B, (which & AW_GRAD_DEC) ? grad + m->dec_off : NULL,
                              (which & AW_GRAD_ENC) ? ws->gh : NULL, AW_R(0.0));
    }
    if (!(which & AW_GRAD_ENC))
        return 0;
    /* d/dmu = dh + mu/B; d/dlogsig = dh * sigma * eps + (sigma^2 - 1)/B. */
    for (int i = 0; i < B; i++) {
        const aw_real *mu = ws->enc_out + (size_t)i * 2 * H, *sig = ws->sig + (size_t)i * H;
        const aw_real *gh = ws->gh + (size_t)i * H, *e = eps + (size_t)i * H;
        aw_real *dmu = ws->enc_dout + (size_t)i * 2 * H, *dls = dmu + H;
        for (int j = 0; j < H; j++) {
            dmu[j] = gh[j] - c * mu[j];
            dls[j] = gh[j] * sig[j] * e[j] - c * (sig[j] * sig[j] - AW_R(1.0));
        }
    }
    aw_model_enc_backward(m, ws, x, B, grad);
    return 0;
}

int aw_vae_loss_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, aw_rng_t *rng,
                     aw_real *grad, int which, double *loss, double *bound)
{
    if (B < 1 || B > ws->max_points)
        return AW_EARG;
    fill_normal(rng, ws->eps, (size_t)B * m->shape.H);
    return aw_vae_loss_grad_eps(m, ws, x, B, ws->eps, grad, which, loss, bound);
}

int aw_iwae_loss_grad_eps(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                          const aw_real *eps, aw_real *grad, double *loss, double *bound)
{
    if (B < 1 || K < 1 || B > ws->max_points || (int64_t)B * K > ws->max_rows)
        return AW_EARG;
    const int D = m->shape.D, H = m->shape.H, N = B * K;
    const aw_real *b = m->dec[m->shape.n_hidden].b;
    const aw_real invB = AW_R(1.0) / (aw_real)B;
    aw_real *logw = ws->row_a, *c = ws->row_b;
    aw_model_enc_forward(m, ws, x, B);
    sample_h(ws, eps, N, K, H);
    /* The fused pass adds log p(x|h) to logw itself. */
    const int fused = aw_model_dec_train_begin(m, ws, x, K, ws->h, N, logw, AW_LOGLIK_ADD, 1);
    if (!fused)
        aw_model_dec_forward(m, ws, ws->h, N);
    /* Per point: log w_k = log p(x,h_k) - log q(h_k|x), with
     * log q = sum_j (-eps^2/2 - logsig_j) - H log sqrt(2 pi); loss_i = -logmeanexp_k log w_k;
     * row k's logit gradient is scaled by c_k = -wt_k / B. */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        const aw_real *xi = x + (size_t)i * D, *ls = ws->enc_out + (size_t)i * 2 * H + H;
        aw_real sum_ls = 0;
        for (int j = 0; j < H; j++)
            sum_ls += ls[j];
        aw_real mx = -INFINITY;
        for (int k = 0; k < K; k++) {
            const int n = i * K + k; /* logw[n] holds log p(h) - log q(h|x) - sum_ls */
            logw[n] += fused ? sum_ls
                             : aw_model_bern_row(xi, ws->logits + (size_t)n * D, b, D, 1, AW_R(1.0)) + sum_ls;
            mx = logw[n] > mx ? logw[n] : mx;
        }
        double se = 0;
        for (int k = 0; k < K; k++)
            se += exp((double)(logw[i * K + k] - mx));
        ws->pt[i] = -((double)mx + log(se / K));
        for (int k = 0; k < K; k++) {
            const int n = i * K + k;
            const aw_real cn = -(aw_real)(exp((double)(logw[n] - mx)) / se) * invB;
            c[n] = cn;
            if (fused)
                continue;
            aw_real *z = ws->logits + (size_t)n * D;
#pragma omp simd
            for (int d = 0; d < D; d++)
                z[d] *= cn;
        }
    }
    double s = 0;
    for (int i = 0; i < B; i++)
        s += ws->pt[i];
    *loss = *bound = s / B;
    if (fused)
        aw_model_dec_train_grad(m, ws, c, grad + m->dec_off, ws->gh);
    else
        aw_model_dec_backward(m, ws, ws->h, N, grad + m->dec_off, ws->gh, AW_R(0.0));
    /* dL/dh_n = gh_n - c_n h_n (prior); d/dmu = sum_k dL/dh; d/dlogsig = sum_k dL/dh * sigma * eps - 1/B. */
#pragma omp parallel for schedule(static) if ((size_t)N * H > 4096)
    for (int i = 0; i < B; i++) {
        const aw_real *sig = ws->sig + (size_t)i * H;
        aw_real *dmu = ws->enc_dout + (size_t)i * 2 * H, *dls = dmu + H;
        for (int j = 0; j < H; j++)
            dmu[j] = dls[j] = 0;
        for (int k = 0; k < K; k++) {
            const int n = i * K + k;
            const aw_real *gh = ws->gh + (size_t)n * H, *h = ws->h + (size_t)n * H;
            const aw_real *e = eps + (size_t)n * H;
            for (int j = 0; j < H; j++) {
                aw_real g = gh[j] - c[n] * h[j];
                dmu[j] += g;
                dls[j] += g * e[j];
            }
        }
        for (int j = 0; j < H; j++)
            dls[j] = dls[j] * sig[j] - invB;
    }
    aw_model_enc_backward(m, ws, x, B, grad);
    return 0;
}

int aw_iwae_loss_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                      aw_rng_t *rng, aw_real *grad, double *loss, double *bound)
{
    if (B < 1 || K < 1 || B > ws->max_points || (int64_t)B * K > ws->max_rows)
        return AW_EARG;
    fill_normal(rng, ws->eps, (size_t)B * K * m->shape.H);
    return aw_iwae_loss_grad_eps(m, ws, x, B, K, ws->eps, grad, loss, bound);
}

#ifndef AW_REAL_DOUBLE
/* ---- the "vae" and "iwae" training methods ---- */

typedef struct gd_state {
    int K;                 /* samples per data point (1 for vae) */
    int vae;               /* 1: VAE loss, 0: IWAE loss */
    int max_batch;         /* B capacity of the workspace */
    aw_adam_t adam;        /* one optimizer over all parameters */
    float *grad;           /* [n_params] gradient of the last step */
    aw_model_ws_t *ws;     /* scratch for max_batch points and K * max_batch rows */
} gd_state_t;

static void gd_destroy(void *state)
{
    gd_state_t *s = state;
    if (!s)
        return;
    aw_adam_fini(&s->adam);
    free(s->grad);
    aw_model_ws_free(s->ws);
    free(s);
}

static int gd_create(const aw_method_cfg_t *cfg, const aw_model_t *model, int max_batch, int vae,
                     void **state, aw_error_t *err)
{
    const char *name = vae ? "vae" : "iwae";
    *state = NULL;
    if (vae && cfg->samples != 1)
        return aw_error_set(err, AW_ESPEC, "method %s: samples must be 1 (the VAE loss uses one sample and "
                            "the analytic KL), got %d; use method iwae for K > 1", name, cfg->samples);
    if (cfg->samples < 1)
        return aw_error_set(err, AW_ESPEC, "method %s: samples must be >= 1, got %d", name, cfg->samples);
    if (max_batch < 1 || (int64_t)max_batch * cfg->samples > INT32_MAX / 4)
        return aw_error_set(err, AW_EARG, "method %s: batch %d with %d samples is out of range", name,
                            max_batch, cfg->samples);
    float b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps;
    if (b1 == 0 && b2 == 0 && eps == 0)
        b1 = 0.9f, b2 = 0.999f, eps = 1e-4f;
    gd_state_t *s = calloc(1, sizeof *s);
    if (!s)
        return aw_error_set(err, AW_ENOMEM, "method %s: out of memory", name);
    s->K = cfg->samples;
    s->vae = vae;
    s->max_batch = max_batch;
    int rc = aw_adam_init(&s->adam, model->n_params, b1, b2, eps, err);
    if (rc < 0) {
        free(s);
        return aw_error_prefix(err, "method %s", name);
    }
    s->grad = aligned_alloc(64, (model->n_params * sizeof(float) + 63) / 64 * 64);
    s->ws = aw_model_ws_new(&model->shape, max_batch, max_batch * s->K);
    if (!s->grad || !s->ws) {
        gd_destroy(s);
        return aw_error_set(err, AW_ENOMEM, "method %s: cannot allocate the workspace for batch %d, %d "
                            "samples", name, max_batch, cfg->samples);
    }
    memset(s->grad, 0, model->n_params * sizeof(float));
    *state = s;
    return 0;
}

static int vae_create(const aw_method_cfg_t *cfg, const aw_model_t *model, int max_batch, void **state,
                      aw_error_t *err)
{
    return gd_create(cfg, model, max_batch, 1, state, err);
}

static int iwae_create(const aw_method_cfg_t *cfg, const aw_model_t *model, int max_batch, void **state,
                       aw_error_t *err)
{
    return gd_create(cfg, model, max_batch, 0, state, err);
}

/* A NaN or Inf anywhere in a layer's output gradient shows up in its bias gradient (a column sum), and with
 * finite bias gradients and finite activations the weight gradients are finite too, so checking the bias
 * blocks (a few thousand values) stands for the whole gradient. */
static int grad_finite(const aw_model_t *m, const float *grad)
{
    for (int net = 0; net < 2; net++)
        for (int l = 0; l <= m->shape.n_hidden; l++) {
            const aw_layer_t *y = net ? &m->dec[l] : &m->enc[l];
            const float *g = grad + (y->b - m->params);
            for (int j = 0; j < y->out; j++)
                if (!isfinite(g[j]))
                    return 0;
        }
    return 1;
}

static int gd_step(void *state, aw_model_t *model, const float *x, int B, float lr, aw_rng_t *rng,
                   aw_step_stats_t *stats, aw_error_t *err)
{
    gd_state_t *s = state;
    const char *name = s->vae ? "vae" : "iwae";
    if (B < 1 || B > s->max_batch)
        return aw_error_set(err, AW_EARG, "method %s: batch of %d points, expected 1..%d", name, B,
                            s->max_batch);
    double loss, bound;
    int rc = s->vae ? aw_vae_loss_grad(model, s->ws, x, B, rng, s->grad, AW_GRAD_ENC | AW_GRAD_DEC, &loss,
                                       &bound)
                    : aw_iwae_loss_grad(model, s->ws, x, B, s->K, rng, s->grad, &loss, &bound);
    if (rc < 0)
        return aw_error_set(err, rc, "method %s: invalid step arguments (B=%d, K=%d)", name, B, s->K);
    memset(stats, 0, sizeof *stats);
    stats->loss = loss;
    stats->bound = bound;
    if (!isfinite(loss) || !grad_finite(model, s->grad))
        return aw_error_set(err, AW_ENUMERIC, "method %s: the loss (%g) or its gradient is not finite at "
                            "Adam step %lld; parameters left unchanged", name, loss,
                            (long long)s->adam.t + 1);
    aw_adam_step(&s->adam, model->params, s->grad, lr);
    return 0;
}

static size_t gd_state_bytes(const void *state)
{
    const gd_state_t *s = state;
    return aw_adam_state_bytes(&s->adam);
}

static void gd_save(const void *state, uint8_t *buf)
{
    const gd_state_t *s = state;
    aw_adam_save(&s->adam, buf);
}

static int gd_load(void *state, const uint8_t *buf, size_t n, aw_error_t *err)
{
    gd_state_t *s = state;
    int rc = aw_adam_load(&s->adam, buf, n, err);
    return rc < 0 ? aw_error_prefix(err, "method %s state", s->vae ? "vae" : "iwae") : 0;
}

const aw_method_ops_t aw_vae_ops = {
    .name = "vae",
    .create = vae_create,
    .destroy = gd_destroy,
    .step = gd_step,
    .state_bytes = gd_state_bytes,
    .save = gd_save,
    .load = gd_load,
};

const aw_method_ops_t aw_iwae_ops = {
    .name = "iwae",
    .create = iwae_create,
    .destroy = gd_destroy,
    .step = gd_step,
    .state_bytes = gd_state_bytes,
    .save = gd_save,
    .load = gd_load,
};
#endif
