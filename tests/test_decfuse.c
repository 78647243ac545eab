/* test_decfuse.c: every decoder kernel of the table (decoder.h: the fused AVX-512 pass, the CBLAS
 * reference) against the double-precision build, on the paper's shape and on odd shapes that exercise every
 * padding and tail; its independence of thread count and of a row's place in its group; the reuse of its
 * kept scratch (the fused pass's packed weights); and that one bad row stays in its row. A kernel this CPU
 * cannot run is skipped, saying so (tests/skip.h); the reference runs everywhere. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_f64.h"
#include "core/decoder.h"
#include "core/model.h"
#include "core/objective.h"
#include "skip.h"

/* Kernels in the table (set by main; every loop test runs once per kernel, or per case and kernel). */
static int n_kernels;

/* A workspace for sh, B points and N rows on kernel k, or NULL if this CPU cannot run k. */
static aw_model_ws_t *ws_on(const aw_dec_kernel_t *k, const aw_shape_t *sh, int B, int N)
{
    aw_model_ws_t *ws = aw_model_ws_new(sh, B, N);
    ck_assert_ptr_nonnull(ws);
    if (aw_model_ws_set_kernel(ws, k) == 0)
        return ws;
    aw_model_ws_free(ws);
    return NULL;
}

/* A model of shape sh with weights ~ U(-s, s) * scale / sqrt(in): larger than the initialization, so that
 * tanh units and logits cover their whole range. */
static void model_new(aw_model_t *m, const aw_shape_t *sh, unsigned seed, float scale)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, seed, 0);
    ck_assert_int_eq(aw_model_init(m, sh, &rng, NULL), 0);
    for (int l = 0; l <= sh->n_hidden; l++) {
        const aw_layer_t *y = &m->dec[l];
        const float s = scale / sqrtf((float)y->in);
        for (int i = 0; i < y->out * y->in; i++)
            y->W[i] = s * (float)(2 * aw_rng_uniform(&rng) - 1);
        for (int i = 0; i < y->out; i++)
            y->b[i] = (float)(2 * aw_rng_uniform(&rng) - 1);
    }
}

/* x [B,D]: binary with probability 0.3, or gray levels in [0,1]. h [N,H] ~ 1.5 N(0,1). */
static void inputs(int B, int N, const aw_shape_t *sh, int gray, unsigned seed, float *x, float *h)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, seed, 1);
    for (int i = 0; i < B * sh->D; i++)
        x[i] = gray ? (float)aw_rng_uniform(&rng) : (float)(aw_rng_uniform(&rng) < 0.3);
    for (int i = 0; i < N * sh->H; i++)
        h[i] = (float)(1.5 * aw_rng_normal(&rng));
}

/* Relative error of a against the double values ref: max |a - ref| / (1 + max |ref|). */
static double rel_err(const float *a, const double *ref, int n)
{
    double e = 0, s = 0;
    for (int i = 0; i < n; i++) {
        e = fmax(e, fabs(a[i] - ref[i]));
        s = fmax(s, fabs(ref[i]));
    }
    return e / (1 + s);
}

/* The cases: shapes with widths that are and are not multiples of the 8-feature tiles, one to four hidden
 * layers, D from 1 up; (B, K) with N below, at and above the 32-row group, K = 1 and K > N. */
static const struct {
    aw_shape_t sh;
    int B, K, gray;
    float scale;
} cases[] = {
    {{.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}}, 3, 50, 0, 1.0f},
    {{.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}}, 7, 16, 1, 3.0f},
    {{.D = 33, .H = 7, .n_hidden = 3, .hidden = {37, 19, 50}}, 5, 13, 0, 2.0f},
    {{.D = 33, .H = 7, .n_hidden = 3, .hidden = {37, 19, 50}}, 100, 1, 1, 2.0f},
    {{.D = 1, .H = 1, .n_hidden = 1, .hidden = {9}}, 2, 16, 0, 4.0f},
    {{.D = 65, .H = 3, .n_hidden = 4, .hidden = {8, 16, 1, 24}}, 1, 47, 0, 2.0f},
    {{.D = 20, .H = 5, .n_hidden = 1, .hidden = {10}}, 4, 49, 1, 1.0f},
    {{.D = 129, .H = 16, .n_hidden = 2, .hidden = {64, 64}}, 3, 1000, 0, 2.0f},
};

/* log p(x,h) and d/dh of each kernel (float) against the double build: the same bound for every kernel. */
START_TEST(test_kernel_vs_double)
{
    const int c = _i / n_kernels;
    const aw_dec_kernel_t *kern = aw_dec_kernels[_i % n_kernels];
    const aw_shape_t *sh = &cases[c].sh;
    const int B = cases[c].B, K = cases[c].K, N = B * K, D = sh->D, H = sh->H;
    aw_model_ws_t *ws = ws_on(kern, sh, B, N);
    if (ws == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", kern->name);
    aw_model_t m;
    model_new(&m, sh, 10 + c, cases[c].scale);
    float *x = malloc((size_t)B * D * sizeof *x), *h = malloc((size_t)N * H * sizeof *h);
    float *lp = malloc((size_t)N * sizeof *lp), *gh = malloc((size_t)N * H * sizeof *gh);
    double *dx = malloc((size_t)B * D * sizeof *dx), *dh = malloc((size_t)N * H * sizeof *dh);
    double *dlp = malloc((size_t)N * sizeof *dlp), *dgh = malloc((size_t)N * H * sizeof *dgh);
    double *p = malloc(m.n_params * sizeof *p);
    ck_assert(x && h && lp && gh && dx && dh && dlp && dgh && p);
    inputs(B, N, sh, cases[c].gray, 20 + c, x, h);
    for (int i = 0; i < B * D; i++)
        dx[i] = x[i];
    for (int i = 0; i < N * H; i++)
        dh[i] = h[i];
    for (size_t i = 0; i < m.n_params; i++)
        p[i] = m.params[i];
    ck_assert_int_eq(awd_eval(AWD_LOGJOINT, sh, p, dx, B, K, dh, NULL, NULL, dlp, dgh), 0);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, h, lp, gh), 0);
    const double worst_lp = rel_err(lp, dlp, N), worst_gh = rel_err(gh, dgh, N * H);
    /* Float rounding of sums over up to 784 terms of size ~10: 1e-6 relative of the largest value. */
    const double tol = 2e-6;
    if (worst_lp > tol || worst_gh > tol)
        ck_abort_msg("case %d, kernel %s: relative error against double %.2e (log p) %.2e (grad), bound %.0e",
                     c, kern->name, worst_lp, worst_gh, tol);
    aw_model_ws_free(ws);
    free(x), free(h), free(lp), free(gh), free(dx), free(dh), free(dlp), free(dgh), free(p);
    aw_model_fini(&m);
}
END_TEST

/* Flags: AW_LOGLIK_ADD adds to out, no prior without AW_LOGLIK_PRIOR, and without a gradient the values are
 * those of the gradient call. */
START_TEST(test_kernel_flags)
{
    const aw_dec_kernel_t *kern = aw_dec_kernels[_i];
    const aw_shape_t sh = {.D = 50, .H = 4, .n_hidden = 2, .hidden = {24, 17}};
    enum { B = 6, K = 11, N = B * K, D = 50, H = 4 };
    aw_model_ws_t *ws = ws_on(kern, &sh, B, N);
    if (ws == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", kern->name);
    aw_model_t m;
    model_new(&m, &sh, 3, 2.0f);
    float x[B * D], h[N * H], with[N], plain[N], added[N], gh[N * H];
    inputs(B, N, &sh, 0, 4, x, h);
    aw_model_dec_loglik(&m, ws, x, K, h, N, with, AW_LOGLIK_PRIOR, gh);
    aw_model_dec_loglik(&m, ws, x, K, h, N, plain, 0, NULL);
    for (int n = 0; n < N; n++)
        added[n] = 1000.0f;
    aw_model_dec_loglik(&m, ws, x, K, h, N, added, AW_LOGLIK_ADD, NULL);
    for (int n = 0; n < N; n++) {
        ck_assert_float_eq(with[n], plain[n] + aw_model_log_prior(h + (size_t)n * H, H));
        ck_assert_float_eq(added[n], 1000.0f + plain[n]);
    }
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* Bit-identical results for 1, 2 and 3 threads, and, for a row-independent kernel, for a row at any place
 * in its call (in the fused pass: in its 32-row group). */
START_TEST(test_kernel_invariance)
{
    const aw_dec_kernel_t *kern = aw_dec_kernels[_i];
    const aw_shape_t sh = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};
    enum { N = 301, D = 784, H = 50 };
    aw_model_ws_t *probe = ws_on(kern, &sh, N, N);
    if (probe == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", kern->name);
    aw_model_ws_free(probe);
    aw_model_t m;
    model_new(&m, &sh, 5, 2.0f);
    float *x = malloc((size_t)N * D * sizeof *x), *h = malloc((size_t)N * H * sizeof *h);
    float *lp[4], *gh[4];
    ck_assert(x && h);
    inputs(N, N, &sh, 0, 6, x, h);
    const int saved = omp_get_max_threads(), runs = kern->row_independent ? 4 : 3;
    for (int t = 0; t < runs; t++) {
        lp[t] = malloc(N * sizeof *lp[t]);
        gh[t] = malloc((size_t)N * H * sizeof *gh[t]);
        ck_assert(lp[t] && gh[t]);
        aw_model_ws_t *ws = ws_on(kern, &sh, N, N);
        ck_assert_ptr_nonnull(ws);
        if (t < 3) { /* all rows, K = 1, on 1, 2, 3 threads */
            omp_set_num_threads(t + 1);
            aw_model_dec_loglik(&m, ws, x, 1, h, N, lp[t], AW_LOGLIK_PRIOR, gh[t]);
        } else { /* rows 5.. alone: each row lands 5 lanes earlier in its group */
            omp_set_num_threads(2);
            aw_model_dec_loglik(&m, ws, x + 5 * D, 1, h + 5 * H, N - 5, lp[t] + 5, AW_LOGLIK_PRIOR,
                                gh[t] + 5 * H);
        }
        aw_model_ws_free(ws);
    }
    omp_set_num_threads(saved);
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(memcmp(lp[t], lp[0], N * sizeof *lp[0]) == 0, "%s: log p differs on %d threads",
                      kern->name, t + 1);
        ck_assert_msg(memcmp(gh[t], gh[0], (size_t)N * H * sizeof *gh[0]) == 0, "%s: grad differs on %d threads",
                      kern->name, t + 1);
    }
    if (runs == 4) {
        ck_assert(memcmp(lp[3] + 5, lp[0] + 5, (N - 5) * sizeof *lp[0]) == 0);
        ck_assert(memcmp(gh[3] + 5 * H, gh[0] + 5 * H, (size_t)(N - 5) * H * sizeof *gh[0]) == 0);
    }
    for (int t = 0; t < runs; t++) {
        free(lp[t]);
        free(gh[t]);
    }
    free(x);
    free(h);
    aw_model_fini(&m);
}
END_TEST

/* What a kernel keeps in the workspace between calls (the fused pass's packed weights) is remade when any
 * decoder weight changes (first layer, last bias), and a gradient call after a value-only call packs the
 * backward weights: every call equals one on a fresh workspace. */
START_TEST(test_kernel_scratch_reuse)
{
    const aw_dec_kernel_t *kern = aw_dec_kernels[_i];
    const aw_shape_t sh = {.D = 60, .H = 5, .n_hidden = 2, .hidden = {30, 20}};
    enum { B = 3, K = 20, N = B * K, D = 60, H = 5 };
    aw_model_ws_t *ws = ws_on(kern, &sh, B, N);
    if (ws == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", kern->name);
    aw_model_t m;
    model_new(&m, &sh, 7, 2.0f);
    float x[B * D], h[N * H], a[N], b[N], ga[N * H], gb[N * H];
    inputs(B, N, &sh, 0, 8, x, h);
    for (int step = 0; step < 4; step++) {
        if (step == 1)
            m.dec[0].W[3] += 0.25f;
        if (step == 3)
            m.dec[sh.n_hidden].b[D - 1] -= 0.5f;
        const int grad = step >= 2;
        aw_model_dec_loglik(&m, ws, x, K, h, N, a, AW_LOGLIK_PRIOR, grad ? ga : NULL);
        aw_model_ws_t *fresh = ws_on(kern, &sh, B, N);
        ck_assert_ptr_nonnull(fresh);
        aw_model_dec_loglik(&m, fresh, x, K, h, N, b, AW_LOGLIK_PRIOR, grad ? gb : NULL);
        aw_model_ws_free(fresh);
        ck_assert_msg(memcmp(a, b, sizeof a) == 0, "step %d: stale packed weights", step);
        if (grad)
            ck_assert_msg(memcmp(ga, gb, sizeof ga) == 0, "step %d: stale backward packs", step);
    }
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* Saturated logits (|logit| up to ~80 and beyond) stay finite; a NaN in one row's h makes that row NaN and
 * leaves the other rows (those of its 16-lane vector in the fused pass) exactly as without it. */
START_TEST(test_kernel_extremes)
{
    const aw_dec_kernel_t *kern = aw_dec_kernels[_i];
    const aw_shape_t sh = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};
    enum { B = 2, K = 24, N = B * K, D = 784, H = 50 };
    aw_model_ws_t *ws = ws_on(kern, &sh, B, N);
    if (ws == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", kern->name);
    aw_model_t m;
    model_new(&m, &sh, 9, 1.0f);
    const aw_layer_t *y = &m.dec[sh.n_hidden];
    for (int i = 0; i < y->out * y->in; i++)
        y->W[i] *= 40.0f; /* logits of a few hundred */
    float x[B * D], h[N * H], lp[N], gh[N * H], lp2[N], gh2[N * H];
    inputs(B, N, &sh, 0, 10, x, h);
    aw_model_dec_loglik(&m, ws, x, K, h, N, lp, AW_LOGLIK_PRIOR, gh);
    for (int n = 0; n < N; n++)
        ck_assert_msg(isfinite(lp[n]) && lp[n] < 0, "row %d: log p = %g", n, lp[n]);
    for (int i = 0; i < N * H; i++)
        ck_assert(isfinite(gh[i]));
    h[7 * H + 3] = NAN;
    aw_model_dec_loglik(&m, ws, x, K, h, N, lp2, AW_LOGLIK_PRIOR, gh2);
    for (int n = 0; n < N; n++) {
        if (n == 7) {
            ck_assert(isnan(lp2[n]));
            continue;
        }
        ck_assert_float_eq(lp2[n], lp[n]);
        ck_assert(memcmp(gh2 + n * H, gh + n * H, H * sizeof *gh) == 0);
    }
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* Training gradients through each kernel (VAE both blocks, VAE encoder only, IWAE, the AIWAE decoder loss)
 * against the double build, on enough rows that every kernel's training pass runs (train_min_rows). */
static const struct {
    aw_shape_t sh;
    int kind, B, K;
} train_cases[] = {
    {{.D = 70, .H = 6, .n_hidden = 2, .hidden = {40, 27}}, AWD_VAE, 160, 1},
    {{.D = 70, .H = 6, .n_hidden = 2, .hidden = {40, 27}}, AWD_VAE_ENC, 150, 1},
    {{.D = 70, .H = 6, .n_hidden = 2, .hidden = {40, 27}}, AWD_IWAE, 41, 5},
    {{.D = 70, .H = 6, .n_hidden = 2, .hidden = {40, 27}}, AWD_DEC, 50, 4},
    {{.D = 33, .H = 5, .n_hidden = 3, .hidden = {17, 24, 9}}, AWD_IWAE, 13, 11},
    {{.D = 33, .H = 5, .n_hidden = 3, .hidden = {17, 24, 9}}, AWD_DEC, 7, 33},
};

/* Float loss and gradient of train_cases[c] on the given workspace. */
static double train_eval(int c, const aw_model_t *m, aw_model_ws_t *ws, const float *x, const float *in,
                         const float *w, float *grad)
{
    const int B = train_cases[c].B, K = train_cases[c].K;
    double loss = NAN, bound;
    switch (train_cases[c].kind) {
    case AWD_VAE:
        ck_assert_int_eq(aw_vae_loss_grad_eps(m, ws, x, B, in, grad, AW_GRAD_ENC | AW_GRAD_DEC, &loss, &bound), 0);
        break;
    case AWD_VAE_ENC:
        ck_assert_int_eq(aw_vae_loss_grad_eps(m, ws, x, B, in, grad, AW_GRAD_ENC, &loss, &bound), 0);
        break;
    case AWD_IWAE:
        ck_assert_int_eq(aw_iwae_loss_grad_eps(m, ws, x, B, K, in, grad, &loss, &bound), 0);
        break;
    default:
        ck_assert_int_eq(aw_model_decoder_grad(m, ws, x, B, K, in, w, grad + m->dec_off, &loss), 0);
    }
    return loss;
}

START_TEST(test_kernel_training_vs_double)
{
    const int c = _i / n_kernels;
    const aw_dec_kernel_t *kern = aw_dec_kernels[_i % n_kernels];
    const aw_shape_t *sh = &train_cases[c].sh;
    const int kind = train_cases[c].kind, B = train_cases[c].B, K = train_cases[c].K, N = B * K;
    const int D = sh->D, H = sh->H;
    aw_model_ws_t *ws = ws_on(kern, sh, B, N);
    if (ws == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", kern->name);
    aw_model_t m;
    model_new(&m, sh, 30 + c, 2.0f);
    const size_t np = m.n_params;
    float *x = malloc((size_t)B * D * sizeof *x), *in = malloc((size_t)N * H * sizeof *in);
    float *w = malloc((size_t)N * sizeof *w), *g = calloc(np, sizeof *g);
    double *dx = malloc((size_t)B * D * sizeof *dx), *din = malloc((size_t)N * H * sizeof *din);
    double *dw = malloc((size_t)N * sizeof *dw), *dg = calloc(np, sizeof *dg), *p = malloc(np * sizeof *p);
    ck_assert(x && in && w && g && dx && din && dw && dg && p);
    inputs(B, N, sh, 0, 40 + c, x, in); /* in: eps for the losses, h for the decoder loss */
    aw_rng_t rng;
    aw_rng_seed(&rng, 50 + c, 0);
    for (int i = 0; i < B; i++) { /* AIS-like weights: each point's K weights sum to 1 */
        double s = 0;
        for (int k = 0; k < K; k++)
            s += w[i * K + k] = (float)(0.05 + aw_rng_uniform(&rng));
        for (int k = 0; k < K; k++)
            w[i * K + k] = (float)(w[i * K + k] / s);
    }
    for (int i = 0; i < B * D; i++)
        dx[i] = x[i];
    for (int i = 0; i < N * H; i++)
        din[i] = in[i];
    for (int i = 0; i < N; i++)
        dw[i] = w[i];
    for (size_t i = 0; i < np; i++)
        p[i] = m.params[i];
    double dl;
    ck_assert_int_eq(awd_eval(kind, sh, p, dx, B, K, din, dw, &dl, NULL, kind == AWD_DEC ? dg + m.dec_off : dg),
                     0);
    /* Blocks the loss has a gradient for: the VAE encoder-only and decoder losses leave the other alone. */
    const size_t lo = kind == AWD_DEC ? m.dec_off : 0, hi = kind == AWD_VAE_ENC ? m.enc_n : np;
    const double fl = train_eval(c, &m, ws, x, in, w, g);
    ck_assert_msg(ws->dec_train == kern, "kernel %s: the training pass ran on %s", kern->name,
                  ws->dec_train->name);
    double num = 0, den = 0;
    for (size_t i = lo; i < hi; i++) {
        num += (g[i] - dg[i]) * (g[i] - dg[i]);
        den += dg[i] * dg[i];
    }
    const double lerr = fabs(fl - dl) / fabs(dl), gerr = sqrt(num / den);
    if (lerr > 1e-6 || gerr > 1e-5)
        ck_abort_msg("training case %d, kernel %s: relative error against double: loss %.2e grad %.2e", c,
                     kern->name, lerr, gerr);
    aw_model_ws_free(ws);
    free(g), free(x), free(in), free(w), free(dx), free(din), free(dw), free(dg), free(p);
    aw_model_fini(&m);
}
END_TEST

/* Each kernel's training pass (values, decoder gradient, d/dh) is bit-identical on 1, 2 and 3 threads. */
START_TEST(test_kernel_training_threads)
{
    const aw_dec_kernel_t *kern = aw_dec_kernels[_i];
    const aw_shape_t sh = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};
    enum { B = 37, K = 5, N = B * K, D = 784, H = 50 };
    aw_model_ws_t *probe = ws_on(kern, &sh, B, N);
    if (probe == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", kern->name);
    aw_model_ws_free(probe);
    aw_model_t m;
    model_new(&m, &sh, 60, 1.0f);
    float *x = malloc((size_t)B * D * sizeof *x), *h = malloc((size_t)N * H * sizeof *h), c[N];
    float *lp[3], *g[3], *gh[3];
    ck_assert(x && h);
    inputs(B, N, &sh, 0, 61, x, h);
    for (int n = 0; n < N; n++)
        c[n] = -(float)(n % 7 + 1) / (4.0f * B);
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 3; t++) {
        omp_set_num_threads(t + 1);
        aw_model_ws_t *ws = ws_on(kern, &sh, B, N);
        ck_assert_ptr_nonnull(ws);
        lp[t] = malloc(N * sizeof *lp[t]);
        g[t] = malloc(m.dec_n * sizeof *g[t]);
        gh[t] = malloc((size_t)N * H * sizeof *gh[t]);
        ck_assert(lp[t] && g[t] && gh[t]);
        aw_model_dec_train_forward(&m, ws, x, K, h, N, lp[t], AW_LOGLIK_PRIOR, 1);
        ck_assert_ptr_eq(ws->dec_train, kern);
        aw_model_dec_train_backward(&m, ws, c, g[t], gh[t]);
        aw_model_ws_free(ws);
    }
    omp_set_num_threads(saved);
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(memcmp(lp[t], lp[0], N * sizeof *lp[0]) == 0, "%s: values differ on %d threads",
                      kern->name, t + 1);
        ck_assert_msg(memcmp(g[t], g[0], m.dec_n * sizeof *g[0]) == 0, "%s: gradient differs on %d threads",
                      kern->name, t + 1);
        ck_assert_msg(memcmp(gh[t], gh[0], (size_t)N * H * sizeof *gh[0]) == 0, "%s: d/dh differs on %d threads",
                      kern->name, t + 1);
    }
    for (int t = 0; t < 3; t++) {
        free(lp[t]);
        free(g[t]);
        free(gh[t]);
    }
    free(x);
    free(h);
    aw_model_fini(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decfuse");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    while (aw_dec_kernels[n_kernels] != NULL)
        n_kernels++;
    const int nk = n_kernels;
    tcase_add_loop_test(tc, test_kernel_vs_double, 0, (int)(sizeof cases / sizeof cases[0]) * nk);
    tcase_add_loop_test(tc, test_kernel_training_vs_double, 0,
                        (int)(sizeof train_cases / sizeof train_cases[0]) * nk);
    tcase_add_loop_test(tc, test_kernel_training_threads, 0, nk);
    tcase_add_loop_test(tc, test_kernel_flags, 0, nk);
    tcase_add_loop_test(tc, test_kernel_invariance, 0, nk);
    tcase_add_loop_test(tc, test_kernel_scratch_reuse, 0, nk);
    tcase_add_loop_test(tc, test_kernel_extremes, 0, nk);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
