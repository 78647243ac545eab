/* objective.c: VAE and IWAE losses with exact reparameterized gradients (encoder once per data point,
 * decoder once per sample row). */
#include "core/objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/decoder.h"

#ifndef AW_REAL_DOUBLE
#include "core/adam.h"
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
    const int reuse = which & AW_GRAD_REUSE_ENC;
    which &= ~AW_GRAD_REUSE_ENC;
    if (B < 1 || B > ws->max_points || which < 1 || which > (AW_GRAD_ENC | AW_GRAD_DEC))
        return AW_EARG;
    const int H = m->shape.H;
    const aw_real c = AW_R(-1.0) / (aw_real)B;
    if (!reuse)
        aw_model_enc_forward(m, ws, x, B);
    sample_h(ws, eps, B, 1, H);
    aw_model_dec_train_forward(m, ws, x, 1, ws->h, B, ws->row_b, 0, which & AW_GRAD_ENC);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        const aw_real *mu = ws->enc_out + (size_t)i * 2 * H, *ls = mu + H, *sig = ws->sig + (size_t)i * H;
        aw_real kl = 0;
        for (int j = 0; j < H; j++)
            kl += mu[j] * mu[j] + sig[j] * sig[j] - AW_R(1.0) - AW_R(2.0) * ls[j];
        ws->pt[i] = (double)(AW_R(0.5) * kl - ws->row_b[i]);
    }
    double s = 0;
    for (int i = 0; i < B; i++)
        s += ws->pt[i];
    *loss = *bound = s / B;
    for (int i = 0; i < B; i++)
        ws->row_a[i] = c;
    aw_model_dec_train_backward(m, ws, ws->row_a, (which & AW_GRAD_DEC) ? grad + m->dec_off : NULL,
                                (which & AW_GRAD_ENC) ? ws->gh : NULL);
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
    const int H = m->shape.H, N = B * K;
    const aw_real invB = AW_R(1.0) / (aw_real)B;
    aw_real *logw = ws->row_a, *c = ws->row_b;
    aw_model_enc_forward(m, ws, x, B);
    sample_h(ws, eps, N, K, H);
    /* logw [N] holds log p(h) - log q(h|x) - sum_ls; the decoder adds log p(x|h). */
    aw_model_dec_train_forward(m, ws, x, K, ws->h, N, logw, AW_LOGLIK_ADD, 1);
    /* Per point: log w_k = log p(x,h_k) - log q(h_k|x), with
     * log q = sum_j (-eps^2/2 - logsig_j) - H log sqrt(2 pi); loss_i = -logmeanexp_k log w_k;
     * row k's part of the loss is scaled by c_k = -wt_k / B. */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        const aw_real *ls = ws->enc_out + (size_t)i * 2 * H + H;
        aw_real sum_ls = 0;
        for (int j = 0; j < H; j++)
            sum_ls += ls[j];
        aw_real mx = -INFINITY;
        for (int k = 0; k < K; k++) {
            const int n = i * K + k;
            logw[n] += sum_ls;
            mx = logw[n] > mx ? logw[n] : mx;
        }
        double se = 0;
        for (int k = 0; k < K; k++)
            se += exp((double)(logw[i * K + k] - mx));
        ws->pt[i] = -((double)mx + log(se / K));
        for (int k = 0; k < K; k++) {
            const int n = i * K + k;
            c[n] = -(aw_real)(exp((double)(logw[n] - mx)) / se) * invB;
        }
    }
    double s = 0;
    for (int i = 0; i < B; i++)
        s += ws->pt[i];
    *loss = *bound = s / B;
    aw_model_dec_train_backward(m, ws, c, grad + m->dec_off, ws->gh);
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

