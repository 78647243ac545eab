/* test_objective.c: VAE / IWAE losses and gradients. Every gradient block is checked against central finite
 * differences on the double build of the same code; values against hand computations; float vs double. */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_f64.h"
#include "core/model_ws.h"
#include "core/objective.h"

/* The small network of the checks: D=12, H=3, hidden 5,4; B=3 points, K=4 samples. */
static const aw_shape_t small = {.D = 12, .H = 3, .n_hidden = 2, .hidden = {5, 4}};
enum { SB = 3, SK = 4 };

typedef struct problem {
    aw_model_t fm;          /* float model (initialized from seed 11, weights scaled by 1.5) */
    double *p;              /* [n_params] the same parameters in double */
    double x[SB * 12];      /* binary data */
    double eps[SB * SK * 3];/* noise for the VAE (first SB rows) and IWAE */
    double h[SB * SK * 3];  /* latent points for the decoder checks */
    double w[SB * SK];      /* per-row weights for the decoder loss (softmax per point) */
} problem_t;

static void problem_init(problem_t *pr)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, 11, 0);
    ck_assert_int_eq(aw_model_init(&pr->fm, &small, &rng, NULL), 0);
    pr->p = malloc(pr->fm.n_params * sizeof *pr->p);
    ck_assert_ptr_nonnull(pr->p);
    for (size_t i = 0; i < pr->fm.n_params; i++) {
        pr->fm.params[i] *= 1.5f; /* larger weights: the tanh units work off their linear range */
        pr->p[i] = pr->fm.params[i];
    }
    for (int i = 0; i < SB * 12; i++)
        pr->x[i] = aw_rng_uniform(&rng) < 0.4;
    for (int i = 0; i < SB * SK * 3; i++) {
        pr->eps[i] = (float)aw_rng_normal(&rng);
        pr->h[i] = (float)(1.3 * aw_rng_normal(&rng));
    }
    for (int i = 0; i < SB; i++) {
        double s = 0;
        for (int k = 0; k < SK; k++)
            s += pr->w[i * SK + k] = exp(aw_rng_normal(&rng));
        for (int k = 0; k < SK; k++)
            pr->w[i * SK + k] /= s;
    }
}

static void problem_fini(problem_t *pr)
{
    aw_model_fini(&pr->fm);
    free(pr->p);
}

/* Loss of `kind` at params p (double build). */
static double loss_at(int kind, const problem_t *pr, const double *p, double *grad_scratch)
{
    double loss = NAN;
    const int K = (kind == AWD_VAE || kind == AWD_VAE_ENC) ? 1 : SK;
    const double *in = kind == AWD_DEC ? pr->h : pr->eps;
    ck_assert_int_eq(awd_eval(kind, &small, p, pr->x, SB, K, in, pr->w, &loss, NULL, grad_scratch), 0);
    return loss;
}

/* Central differences for every parameter of [lo, hi), compared with grad per layer block (W and b
 * apart); prints and bounds the relative error ||fd - g|| / ||g|| of each block. */
static void check_blocks(const char *what, int kind, const problem_t *pr, const double *grad, size_t lo,
                         size_t hi)
{
    const aw_model_t *m = &pr->fm;
    double *p = malloc(m->n_params * sizeof *p), *scratch = malloc(m->n_params * sizeof *scratch);
    ck_assert(p && scratch);
    memcpy(p, pr->p, m->n_params * sizeof *p);
    for (int net = 0; net < 2; net++)
        for (int l = 0; l <= m->shape.n_hidden; l++) {
            const aw_layer_t *y = net ? &m->dec[l] : &m->enc[l];
            for (int part = 0; part < 2; part++) {
                size_t b0 = (size_t)((part ? y->b : y->W) - m->params);
                size_t bn = part ? (size_t)y->out : (size_t)y->out * y->in;
                if (b0 < lo || b0 >= hi)
                    continue;
                double num = 0, den = 0;
                for (size_t i = b0; i < b0 + bn; i++) {
                    const double step = 1e-5;
                    p[i] = pr->p[i] + step;
                    double fp = loss_at(kind, pr, p, scratch);
                    p[i] = pr->p[i] - step;
                    double fm = loss_at(kind, pr, p, scratch);
                    p[i] = pr->p[i];
                    double fd = (fp - fm) / (2 * step);
                    num += (fd - grad[i - lo]) * (fd - grad[i - lo]);
                    den += fd * fd;
                }
                double rel = sqrt(num / den);
                printf("  %-22s %s[%d].%s  rel err %.2e  (|g| %.3e)\n", what, net ? "dec" : "enc", l,
                       part ? "b" : "W", rel, sqrt(den));
                ck_assert_msg(den > 1e-20, "%s: %s[%d] gradient block is zero", what, net ? "dec" : "enc", l);
                ck_assert_msg(rel < 1e-6, "%s: %s[%d].%s relative error %g", what, net ? "dec" : "enc", l,
                              part ? "b" : "W", rel);
            }
        }
    free(p);
    free(scratch);
}

START_TEST(test_gradcheck_vae)
{
    problem_t pr;
    problem_init(&pr);
    size_t n = pr.fm.n_params;
    double *g = malloc(n * sizeof *g), loss;
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(awd_eval(AWD_VAE, &small, pr.p, pr.x, SB, 1, pr.eps, NULL, &loss, NULL, g), 0);
    ck_assert(isfinite(loss) && loss > 0);
    check_blocks("vae", AWD_VAE, &pr, g, 0, n);
    /* Encoder-only: same encoder gradient, decoder block untouched. */
    double *ge = malloc(n * sizeof *ge);
    ck_assert_ptr_nonnull(ge);
    for (size_t i = 0; i < n; i++)
        ge[i] = 12345.0;
    double loss_e;
    ck_assert_int_eq(awd_eval(AWD_VAE_ENC, &small, pr.p, pr.x, SB, 1, pr.eps, NULL, &loss_e, NULL, ge), 0);
    ck_assert_double_eq(loss, loss_e);
    for (size_t i = pr.fm.dec_off; i < n; i++)
        ck_assert_double_eq(ge[i], 12345.0);
    check_blocks("vae (encoder only)", AWD_VAE_ENC, &pr, ge, 0, pr.fm.enc_n);
    free(g);
    free(ge);
    problem_fini(&pr);
}
END_TEST

START_TEST(test_gradcheck_iwae)
{
    problem_t pr;
    problem_init(&pr);
    size_t n = pr.fm.n_params;
    double *g = malloc(n * sizeof *g), loss;
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(awd_eval(AWD_IWAE, &small, pr.p, pr.x, SB, SK, pr.eps, NULL, &loss, NULL, g), 0);
    ck_assert(isfinite(loss) && loss > 0);
    check_blocks("iwae K=4", AWD_IWAE, &pr, g, 0, n);
    free(g);
    problem_fini(&pr);
}
END_TEST

START_TEST(test_gradcheck_decoder)
{
    problem_t pr;
    problem_init(&pr);
    const aw_model_t *m = &pr.fm;
    double *g = malloc(m->dec_n * sizeof *g), loss;
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(awd_eval(AWD_DEC, &small, pr.p, pr.x, SB, SK, pr.h, pr.w, &loss, NULL, g), 0);
    check_blocks("decoder_grad", AWD_DEC, &pr, g, m->dec_off, m->n_params);
    /* The loss is -(1/B) sum_n w_n log p(x, h_n). */
    double lp[SB * SK], gh[SB * SK * 3], s = 0;
    ck_assert_int_eq(awd_eval(AWD_LOGJOINT, &small, pr.p, pr.x, SB, SK, pr.h, NULL, NULL, lp, gh), 0);
    for (int i = 0; i < SB * SK; i++)
        s += pr.w[i] * lp[i];
    ck_assert_double_eq_tol(loss, -s / SB, 1e-12 * fabs(s));
    free(g);
    problem_fini(&pr);
}
END_TEST

START_TEST(test_gradcheck_log_joint_h)
{
    problem_t pr;
    problem_init(&pr);
    enum { N = SB * SK, H = 3 };
    double lp[N], gh[N * H], lp2[N], scratch[N * H], h[N * H];
    ck_assert_int_eq(awd_eval(AWD_LOGJOINT, &small, pr.p, pr.x, SB, SK, pr.h, NULL, NULL, lp, gh), 0);
    /* Same value without the gradient. */
    ck_assert_int_eq(awd_eval(AWD_LOGJOINT, &small, pr.p, pr.x, SB, SK, pr.h, NULL, NULL, lp2, NULL), 0);
    for (int n = 0; n < N; n++)
        ck_assert_double_eq(lp[n], lp2[n]);
    double num = 0, den = 0;
    memcpy(h, pr.h, sizeof h);
    for (int i = 0; i < N * H; i++) {
        const double step = 1e-5;
        double fp[N], fm[N];
        h[i] = pr.h[i] + step;
        ck_assert_int_eq(awd_eval(AWD_LOGJOINT, &small, pr.p, pr.x, SB, SK, h, NULL, NULL, fp, scratch), 0);
        h[i] = pr.h[i] - step;
        ck_assert_int_eq(awd_eval(AWD_LOGJOINT, &small, pr.p, pr.x, SB, SK, h, NULL, NULL, fm, scratch), 0);
        h[i] = pr.h[i];
        int row = i / H;
        double fd = (fp[row] - fm[row]) / (2 * step);
        num += (fd - gh[i]) * (fd - gh[i]);
        den += fd * fd;
    }
    double rel = sqrt(num / den);
    printf("  log_joint d/dh          rel err %.2e  (|g| %.3e)\n", rel, sqrt(den));
    ck_assert(rel < 1e-6);
    problem_fini(&pr);
}
END_TEST

/* The float build against the double build on the same parameters, data and noise. */
START_TEST(test_float_matches_double)
{
    problem_t pr;
    problem_init(&pr);
    const aw_model_t *m = &pr.fm;
    size_t n = m->n_params;
    aw_model_ws_t *ws = aw_model_ws_new(&small, SB, SB * SK);
    ck_assert_ptr_nonnull(ws);
    float fx[SB * 12], feps[SB * SK * 3];
    for (int i = 0; i < SB * 12; i++)
        fx[i] = (float)pr.x[i];
    for (int i = 0; i < SB * SK * 3; i++)
        feps[i] = (float)pr.eps[i];
    float *fg = malloc(n * sizeof *fg);
    double *dg = malloc(n * sizeof *dg);
    ck_assert(fg && dg);
    for (int kind = 0; kind < 2; kind++) {
        double fl, fb, dl;
        if (kind == 0) {
            ck_assert_int_eq(aw_vae_loss_grad_eps(m, ws, fx, SB, feps, fg, 3, &fl, &fb), 0);
            ck_assert_int_eq(awd_eval(AWD_VAE, &small, pr.p, pr.x, SB, 1, pr.eps, NULL, &dl, NULL, dg), 0);
        } else {
            ck_assert_int_eq(aw_iwae_loss_grad_eps(m, ws, fx, SB, SK, feps, fg, &fl, &fb), 0);
            ck_assert_int_eq(awd_eval(AWD_IWAE, &small, pr.p, pr.x, SB, SK, pr.eps, NULL, &dl, NULL, dg), 0);
        }
        ck_assert_double_eq(fl, fb);
        double num = 0, den = 0;
        for (size_t i = 0; i < n; i++) {
            num += (fg[i] - dg[i]) * (fg[i] - dg[i]);
            den += dg[i] * dg[i];
        }
        printf("  float vs double %-5s loss rel %.2e, grad rel %.2e\n", kind ? "iwae" : "vae",
               fabs(fl - dl) / fabs(dl), sqrt(num / den));
        ck_assert(fabs(fl - dl) < 1e-5 * fabs(dl));
        ck_assert(sqrt(num / den) < 1e-4);
    }
    free(fg);
    free(dg);
    aw_model_ws_free(ws);
    problem_fini(&pr);
}
END_TEST

/* A network with one hidden unit per layer, D=2, H=1, K=2: the IWAE loss written out by hand. */
START_TEST(test_iwae_by_hand)
{
    const aw_shape_t sh = {.D = 2, .H = 1, .n_hidden = 1, .hidden = {1}};
    aw_model_t m;
    aw_rng_t rng;
    aw_rng_seed(&rng, 3, 0);
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, NULL), 0);
    ck_assert_uint_eq(m.n_params, 3 + 4 + 2 + 4);
    /* encoder: u = tanh(0.5 x1 - 0.3 x2 + 0.1); mu = 0.8 u - 0.2; logsig = -0.6 u + 0.05
     * decoder: v = tanh(1.2 h - 0.4); a1 = 2 v + 0.3, a2 = -1.5 v - 0.7 */
    const float p[] = {0.5f, -0.3f, 0.1f, 0.8f, -0.6f, -0.2f, 0.05f, 1.2f, -0.4f, 2.0f, -1.5f, 0.3f, -0.7f};
    memcpy(m.params, p, sizeof p);
    const float x[2] = {1, 0}, eps[2] = {0.7f, -1.1f};
    aw_model_ws_t *ws = aw_model_ws_new(&sh, 1, 2);
    ck_assert_ptr_nonnull(ws);
    float g[15];
    double loss, bound;
    ck_assert_int_eq(aw_iwae_loss_grad_eps(&m, ws, x, 1, 2, eps, g, &loss, &bound), 0);
    double u = tanh(0.5 * 1 - 0.3 * 0 + 0.1), mu = 0.8 * u - 0.2, ls = -0.6 * u + 0.05;
    double lw[2];
    for (int k = 0; k < 2; k++) {
        double h = mu + exp(ls) * eps[k];
        double v = tanh(1.2 * h - 0.4), a1 = 2 * v + 0.3, a2 = -1.5 * v - 0.7;
        double lpx = (1 * a1 - log1p(exp(a1))) + (0 * a2 - log1p(exp(a2)));
        double lph = -0.5 * h * h - 0.5 * log(2 * M_PI);
        double lq = -0.5 * eps[k] * eps[k] - ls - 0.5 * log(2 * M_PI);
        lw[k] = lpx + lph - lq;
    }
    double want = -log(0.5 * (exp(lw[0]) + exp(lw[1])));
    printf("  iwae by hand: %.8f, code %.8f\n", want, loss);
    ck_assert_double_eq_tol(loss, want, 1e-5);
    ck_assert_double_eq(loss, bound);
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* IWAE with K=1 is the single-sample ELBO with the sampled KL: -(log p(x,h) - log q(h|x)) at the same eps. */
START_TEST(test_iwae_k1_is_elbo)
{
    problem_t pr;
    problem_init(&pr);
    const aw_model_t *m = &pr.fm;
    aw_model_ws_t *ws = aw_model_ws_new(&small, SB, SB);
    ck_assert_ptr_nonnull(ws);
    float fx[SB * 12], feps[SB * 3], h[SB * 3], mu[SB * 3], ls[SB * 3], lp[SB];
    for (int i = 0; i < SB * 12; i++)
        fx[i] = (float)pr.x[i];
    for (int i = 0; i < SB * 3; i++)
        feps[i] = (float)pr.eps[i];
    float *g = malloc(m->n_params * sizeof *g);
    ck_assert_ptr_nonnull(g);
    double loss, bound;
    ck_assert_int_eq(aw_iwae_loss_grad_eps(m, ws, fx, SB, 1, feps, g, &loss, &bound), 0);
    ck_assert_int_eq(aw_model_encode(m, ws, fx, SB, mu, ls), 0);
    for (int i = 0; i < SB * 3; i++)
        h[i] = mu[i] + expf(ls[i]) * feps[i];
    ck_assert_int_eq(aw_model_log_joint(m, ws, fx, SB, 1, h, lp, NULL), 0);
    double want = 0;
    for (int i = 0; i < SB; i++) {
        double lq = 0;
        for (int j = 0; j < 3; j++)
            lq += -0.5 * feps[i * 3 + j] * feps[i * 3 + j] - ls[i * 3 + j] - 0.5 * log(2 * M_PI);
        want += -(lp[i] - lq) / SB;
    }
    ck_assert_double_eq_tol(loss, want, 1e-5 * fabs(want));
    /* And the VAE loss with the analytic KL differs from it only by the KL estimate's noise, not by a
     * systematic shift: the same decoder term. E_eps[sampled KL] = analytic KL, so check the decoder part. */
    double vl, vb;
    ck_assert_int_eq(aw_vae_loss_grad_eps(m, ws, fx, SB, feps, g, AW_GRAD_ENC | AW_GRAD_DEC, &vl, &vb), 0);
    double kl = 0, lqp = 0;
    for (int i = 0; i < SB; i++)
        for (int j = 0; j < 3; j++) {
            double mm = mu[i * 3 + j], l = ls[i * 3 + j], hh = h[i * 3 + j], e = feps[i * 3 + j];
            kl += 0.5 * (mm * mm + exp(2 * l) - 1 - 2 * l) / SB;
            lqp += ((-0.5 * e * e - l) - (-0.5 * hh * hh)) / SB; /* sampled KL: log q - log p(h) */
        }
    ck_assert_double_eq_tol(vl - kl, loss - lqp, 1e-5 * fabs(loss));
    free(g);
    aw_model_ws_free(ws);
    problem_fini(&pr);
}
END_TEST

/* Logits of +-80 and far beyond: finite losses and gradients, correct saturated values. */
START_TEST(test_saturated_decoder)
{
    problem_t pr;
    problem_init(&pr);
    aw_model_t *m = &pr.fm;
    aw_model_ws_t *ws = aw_model_ws_new(&small, SB, SB * SK);
    ck_assert_ptr_nonnull(ws);
    const aw_layer_t *last = &m->dec[m->shape.n_hidden];
    float fx[SB * 12], feps[SB * SK * 3];
    for (int i = 0; i < SB * 12; i++)
        fx[i] = (float)pr.x[i];
    for (int i = 0; i < SB * SK * 3; i++)
        feps[i] = (float)pr.eps[i];
    float *g = malloc(m->n_params * sizeof *g);
    ck_assert_ptr_nonnull(g);
    const float scales[] = {80.0f, 1000.0f, 1e30f};
    for (int s = 0; s < 3; s++) {
        /* Zero last-layer weights, biases of +-scale: pixel d has logit +-scale for every h. */
        memset(last->W, 0, (size_t)last->out * last->in * sizeof *last->W);
        for (int d = 0; d < 12; d++)
            last->b[d] = (d % 2 ? -1 : 1) * scales[s];
        double loss, bound;
        ck_assert_int_eq(aw_iwae_loss_grad_eps(m, ws, fx, SB, SK, feps, g, &loss, &bound), 0);
        ck_assert(isfinite(loss));
        for (size_t i = 0; i < m->n_params; i++)
            ck_assert_msg(isfinite(g[i]), "scale %g: grad[%zu] = %g", scales[s], i, g[i]);
        ck_assert_int_eq(aw_vae_loss_grad_eps(m, ws, fx, SB, feps, g, 3, &loss, &bound), 0);
        ck_assert(isfinite(loss));
        for (size_t i = 0; i < m->n_params; i++)
            ck_assert(isfinite(g[i]));
        /* -log p(x|h) is the sum of the mismatch penalties |a| over mismatched pixels (plus ~e^-|a|). */
        float h[3] = {0.1f, -0.2f, 0.3f}, lp, gh[3];
        ck_assert_int_eq(aw_model_log_joint(m, ws, fx, 1, 1, h, &lp, gh), 0);
        double want = -0.5 * (0.01 + 0.04 + 0.09) - 1.5 * log(2 * M_PI);
        for (int d = 0; d < 12; d++) {
            int on = d % 2 == 0;
            if (on != (fx[d] > 0.5f))
                want -= scales[s];
        }
        ck_assert(isfinite(lp) && isfinite(gh[0]) && isfinite(gh[1]) && isfinite(gh[2]));
        ck_assert_double_eq_tol(lp, want, 1e-6 * fabs(want) + 1e-5);
    }
    free(g);
    aw_model_ws_free(ws);
    problem_fini(&pr);
}
END_TEST

START_TEST(test_argument_errors)
{
    problem_t pr;
    problem_init(&pr);
    aw_model_ws_t *ws = aw_model_ws_new(&small, 2, 4);
    ck_assert_ptr_nonnull(ws);
    float x[3 * 12] = {0}, *g = malloc(pr.fm.n_params * sizeof *g);
    ck_assert_ptr_nonnull(g);
    double l, b;
    aw_rng_t rng;
    aw_rng_seed(&rng, 1, 0);
    ck_assert_int_eq(aw_vae_loss_grad(&pr.fm, ws, x, 3, &rng, g, AW_GRAD_ENC, &l, &b), AW_EARG);
    ck_assert_int_eq(aw_vae_loss_grad(&pr.fm, ws, x, 2, &rng, g, 0, &l, &b), AW_EARG);
    ck_assert_int_eq(aw_iwae_loss_grad(&pr.fm, ws, x, 2, 3, &rng, g, &l, &b), AW_EARG);
    ck_assert_int_eq(aw_iwae_loss_grad(&pr.fm, ws, x, 1, 0, &rng, g, &l, &b), AW_EARG);
    ck_assert_int_eq(aw_iwae_loss_grad(&pr.fm, ws, x, 2, 2, &rng, g, &l, &b), 0);
    free(g);
    aw_model_ws_free(ws);
    problem_fini(&pr);
}
END_TEST

/* Same seed, same result, bit for bit: at 2 threads twice, and at 1 and 3 threads (no floating-point
 * reduction depends on the thread count, and every GEMM runs as calls of the same shapes: aw_gemm in
 * mlp.h). K = 5 gives 120 decoder rows, K = 7 gives 168, above the fused kernel's train_min_rows. */
START_TEST(test_deterministic)
{
    const aw_shape_t sh = {.D = 300, .H = 10, .n_hidden = 2, .hidden = {64, 48}};
    enum { B = 24, RUNS = 4 };
    const int K = _i == 0 ? 5 : 7;
    aw_rng_t rng;
    aw_rng_seed(&rng, 21, 0);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, NULL), 0);
    float *x = malloc((size_t)B * sh.D * sizeof *x);
    float *g[RUNS];
    double loss[RUNS], bound;
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < B * sh.D; i++)
        x[i] = aw_rng_uniform(&rng) < 0.2;
    aw_model_ws_t *ws = aw_model_ws_new(&sh, B, B * K);
    ck_assert_ptr_nonnull(ws);
    const int threads[RUNS] = {2, 2, 1, 3};
    for (int r = 0; r < RUNS; r++) {
        g[r] = malloc(m.n_params * sizeof *g[r]);
        ck_assert_ptr_nonnull(g[r]);
        omp_set_num_threads(threads[r]);
        openblas_set_num_threads(threads[r]);
        aw_rng_t rr;
        aw_rng_seed(&rr, 5, 0);
        ck_assert_int_eq(aw_iwae_loss_grad(&m, ws, x, B, K, &rr, g[r], &loss[r], &bound), 0);
    }
    omp_set_num_threads(2);
    openblas_set_num_threads(2);
    for (int r = 1; r < RUNS; r++) {
        ck_assert_msg(loss[r] == loss[0], "K = %d: loss differs on %d threads", K, threads[r]);
        ck_assert_msg(memcmp(g[0], g[r], m.n_params * sizeof *g[0]) == 0,
                      "K = %d: gradient differs on %d threads", K, threads[r]);
    }
    for (int r = 0; r < RUNS; r++)
        free(g[r]);
    free(x);
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("objective");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gradcheck_vae);
    tcase_add_test(tc, test_gradcheck_iwae);
    tcase_add_test(tc, test_gradcheck_decoder);
    tcase_add_test(tc, test_gradcheck_log_joint_h);
    tcase_add_test(tc, test_float_matches_double);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("values");
    tcase_add_test(tv, test_iwae_by_hand);
    tcase_add_test(tv, test_iwae_k1_is_elbo);
    tcase_add_test(tv, test_saturated_decoder);
    tcase_add_test(tv, test_argument_errors);
    tcase_add_loop_test(tv, test_deterministic, 0, 2);
    suite_add_tcase(s, tv);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
