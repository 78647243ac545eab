/* test_aiwae.c: HMC and AIS on the real Bernoulli model: the annealed gradient against finite differences,
 * T = 2 AIWAE weights equal IWAE weights, training steps, checkpoint round trip, errors, and ais_nll against
 * the log-likelihood by quadrature of a 2-d latent model. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "core/adam.h"
#include "core/ais.h"
#include "core/ais_model.h"
#include "core/model.h"
#include "core/objective.h"
#include "methods/plugin.h"

#define HALF_LOG_2PI 0.91893853320467274178

/* A tiny model with its decoder weights scaled up (a sharper, non-Gaussian posterior) and binary x [B,D]
 * drawn from it through random latents. */
static void tiny_model(aw_model_t *m, int D, int H, uint64_t seed, float *x, int B)
{
    aw_shape_t sh = { .D = D, .H = H, .n_hidden = 2, .hidden = { 16, 12 } };
    aw_rng_t r;
    aw_rng_seed(&r, seed, 0);
    aw_error_t err;
    ck_assert_int_eq(aw_model_init(m, &sh, &r, &err), 0);
    for (size_t i = m->dec_off; i < m->dec_off + m->dec_n; i++)
        m->params[i] *= 3.0f;
    for (int i = 0; i < B * D; i++)
        x[i] = aw_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
}

static const aw_method_ops_t *aiwae(void)
{
    return test_method("aiwae");
}

/* The aiwae method's settings with K, T, L and the default step sizes, plus extra "key=value" texts. */
static aw_cfg_t aiwae_cfg_kv(int K, int T, int L, const char *x1, const char *x2)
{
    char k[32], t[32], l[32];
    snprintf(k, sizeof k, "samples=%d", K);
    snprintf(t, sizeof t, "temperatures=%d", T);
    snprintf(l, sizeof l, "leapfrog=%d", L);
    aw_cfg_t c;
    test_cfg(&aiwae()->settings, &c, (const char *const[]){k, t, l, x1, x2, NULL});
    return c;
}

static aw_cfg_t aiwae_cfg(int K, int T, int L)
{
    return aiwae_cfg_kv(K, T, L, NULL, NULL);
}

/* Writes an int setting past the table's checks (a config struct a spec would not produce). */
static void poke_int(aw_cfg_t *c, const char *key, int v)
{
    const aw_key_t *k = aw_keys_find(aiwae()->settings.keys, key);
    ck_assert_ptr_nonnull(k);
    memcpy(c->bytes + k->offset, &v, sizeof v);
}

/* log f_beta for the N chains at h [N,H]: beta log p + (1 - beta) log q, in double from float log p. */
static void log_f(aw_hmc_t *s, double beta, const float *h, float *lp, double *lq, double *out)
{
    aw_error_t err;
    ck_assert_int_eq(s->tg.log_joint(s->tg.ctx, h, s->n, lp, NULL, &err), 0);
    aw_hmc_log_q(s, h, lq);
    for (int n = 0; n < s->n; n++)
        out[n] = beta * lp[n] + (1 - beta) * lq[n];
}

/* d log f_beta/dh of the real Bernoulli decoder (the gradient the leapfrog uses) against central differences
 * along random directions, in float. Tolerance: the difference quotient's truncation error delta^2 f'''/6,
 * estimated from a third difference, plus its rounding error 2 * 64 ulp(|f|) / (2 delta) (log p is a float
 * sum of D + H terms), plus float rounding of g.v, all times 3. */
START_TEST(test_grad_log_f_fd)
{
    enum { D = 24, H = 3, B = 2, K = 3, N = B * K };
    float x[B * D];
    aw_model_t m;
    tiny_model(&m, D, H, 101, x, B);
    aw_model_ws_t *ws = aw_model_ws_new(&m.shape, B, N);
    ck_assert_ptr_nonnull(ws);
    float mu[B * H], ls[B * H];
    ck_assert_int_eq(aw_model_encode(&m, ws, x, B, mu, ls), 0);
    aw_ais_model_ctx_t ctx = { .m = &m, .ws = ws, .x = x, .B = B, .K = K };
    aw_hmc_target_t tg = { .B = B, .K = K, .mu = mu, .logsig = ls, .log_joint = aw_ais_model_log_joint,
                           .ctx = &ctx };
    aw_hmc_t s;
    aw_error_t err;
    ck_assert_int_eq(aw_hmc_init(&s, N, H, &err), 0);
    aw_rng_t r;
    aw_rng_seed(&r, 102, 0);
    ck_assert_int_eq(aw_hmc_start(&s, &tg, &r, &err), 0);
    const double betas[3] = { 0.0, 0.37, 1.0 };
    const float delta = 1e-2f;
    float g[N * H], hv[5][N * H], lp[N];
    double lq[N], f[5][N];
    int checked = 0;
    for (int ib = 0; ib < 3; ib++) {
        aw_hmc_grad_log_f(&s, betas[ib], s.h, s.grad, g);
        for (int dir = 0; dir < 4; dir++) {
            float v[N * H];
            for (int i = 0; i < N * H; i++)
                v[i] = (float)aw_rng_normal(&r);
            for (int k = 0; k < 5; k++) {
                for (int i = 0; i < N * H; i++)
                    hv[k][i] = s.h[i] + (float)(k - 2) * delta * v[i];
                log_f(&s, betas[ib], hv[k], lp, lq, f[k]);
            }
            for (int n = 0; n < N; n++) {
                double gv = 0, gabs = 0, fmax_ = 0;
                for (int j = 0; j < H; j++) {
                    /* the actual float perturbation between the +delta and -delta points */
                    double dh = (double)hv[3][n * H + j] - (double)hv[1][n * H + j];
                    gv += g[n * H + j] * dh;
                    gabs += fabs(g[n * H + j] * dh);
                }
                for (int k = 0; k < 5; k++)
                    fmax_ = fmax(fmax_, fabs(f[k][n]));
                double fd = f[3][n] - f[1][n];
                double third = fabs(f[4][n] - 2 * f[3][n] + 2 * f[1][n] - f[0][n]);
                double trunc = third / 6.0; /* (2 delta) * delta^2 f'''/6, in the units of fd */
                double round = 2 * 64 * FLT_EPSILON * fmax_ + 8 * FLT_EPSILON * gabs;
                ck_assert_msg(fabs(fd - gv) <= 3 * (trunc + round) + 1e-12,
                              "beta %g chain %d: fd %g vs g.dh %g (trunc %g round %g)", betas[ib], n, fd, gv,
                              trunc, round);
                /* the test is sharp: the directional derivative is far above the tolerance */
                checked += fabs(gv) > 10 * 3 * (trunc + round);
            }
        }
    }
    ck_assert_int_gt(checked, 3 * 4 * N / 2);
    aw_hmc_fini(&s);
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* T = 2: the AIS log-weights are log p(x,h) - log q(h|x) at h = mu + sigma eps, the IWAE log-weights of the
 * same draws, and the AIWAE step's bound equals the IWAE bound computed by the objective module. */
START_TEST(test_T2_equals_iwae)
{
    enum { D = 24, H = 3, B = 3, K = 4, N = B * K };
    float x[B * D];
    aw_model_t m;
    tiny_model(&m, D, H, 111, x, B);
    aw_model_ws_t *ws = aw_model_ws_new(&m.shape, B, N);
    ck_assert_ptr_nonnull(ws);
    float mu[B * H], ls[B * H], eps[N * H], h[N * H], lp[N];
    ck_assert_int_eq(aw_model_encode(&m, ws, x, B, mu, ls), 0);
    aw_rng_t r, r2;
    aw_rng_seed(&r, 112, 0);
    r2 = r;
    aw_rng_fill_normal(&r2, eps, N * H);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < H; j++)
            h[n * H + j] = mu[n / K * H + j] + expf(ls[n / K * H + j]) * eps[n * H + j];
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, h, lp, NULL), 0);
    aw_ais_model_ctx_t ctx = { .m = &m, .ws = ws, .x = x, .B = B, .K = K };
    aw_hmc_target_t tg = { .B = B, .K = K, .mu = mu, .logsig = ls, .log_joint = aw_ais_model_log_joint,
                           .ctx = &ctx };
    aw_hmc_t s;
    aw_error_t err;
    ck_assert_int_eq(aw_hmc_init(&s, N, H, &err), 0);
    aw_ais_cfg_t ac = { .T = 2, .L = 3, .schedule = AW_AIS_LINEAR, .step_mode = AW_AIS_STEP_PER_TEMP };
    float step = 0.1f;
    double logw[N];
    ck_assert_int_eq(aw_ais_sweep(&s, &tg, &ac, &step, NULL, &r, logw, &err), 0);
    for (int n = 0; n < N; n++) {
        double lq = 0;
        for (int j = 0; j < H; j++)
            lq += -0.5 * (double)eps[n * H + j] * eps[n * H + j] - ls[n / K * H + j] - HALF_LOG_2PI;
        double iw = (double)lp[n] - lq;
        ck_assert_double_lt(fabs(logw[n] - iw), 1e-5 * (1 + fabs(lp[n])));
    }
    aw_hmc_fini(&s);
    /* Through the method: the step's bound (computed before its update) against aw_iwae_loss_grad_eps. */
    float *grad = malloc(m.n_params * sizeof *grad);
    ck_assert_ptr_nonnull(grad);
    double iw_loss, iw_bound;
    ck_assert_int_eq(aw_iwae_loss_grad_eps(&m, ws, x, B, K, eps, grad, &iw_loss, &iw_bound), 0);
    aw_cfg_t cfg = aiwae_cfg(K, 2, 3);
    void *st;
    ck_assert_int_eq(aiwae()->create(cfg.bytes, &test_adam, &m, B, &st, &err), 0);
    aw_rng_seed(&r, 112, 0);
    aw_step_stats_t stats;
    ck_assert_int_eq(aiwae()->step(st, &m, x, B, 1e-3f, &r, &stats, &err), 0);
    ck_assert_double_lt(fabs(stats.bound - iw_bound), 1e-5 * fabs(iw_bound));
    ck_assert_int_eq(stats.n_temps, 1);
    aiwae()->destroy(st);
    free(grad);
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* Structured tiny data (noisy copies of two prototypes): repeated AIWAE steps on it lower both losses;
 * a tight clip keeps every step size inside [step_min, step_max]. */
/* One AIWAE step in the original's order, done by hand from the parts: AIS with the method's initial step
 * sizes, the decoder's Adam step on the AIS-weighted loss, then the encoder's VAE gradient at the updated
 * decoder and its Adam step. The method must give the same parameters bit for bit; taking the encoder's
 * gradient at the old decoder gives different ones (the test tells the two orders apart). */
START_TEST(test_step_order)
{
    enum { D = 24, H = 3, B = 4, K = 3, T = 3, L = 2, N = B * K };
    float x[B * D];
    aw_model_t m, by_hand, old_order;
    tiny_model(&m, D, H, 171, x, B);
    tiny_model(&by_hand, D, H, 171, x, B);
    tiny_model(&old_order, D, H, 171, x, B);
    aw_error_t err;
    aw_cfg_t cfg = aiwae_cfg(K, T, L);
    void *st;
    ck_assert_int_eq(aiwae()->create(cfg.bytes, &test_adam, &m, B, &st, &err), 0);
    aw_rng_t r, r_hand;
    aw_rng_seed(&r, 172, 0);
    r_hand = r;
    aw_step_stats_t stats;
    const float lr = 1e-2f;
    ck_assert_int_eq(aiwae()->step(st, &m, x, B, lr, &r, &stats, &err), 0);
    aiwae()->destroy(st);
    for (int pass = 0; pass < 2; pass++) {
        aw_model_t *mm = pass == 0 ? &by_hand : &old_order;
        aw_rng_t rr = r_hand;
        aw_model_ws_t *ws = aw_model_ws_new(&mm->shape, B, N);
        ck_assert_ptr_nonnull(ws);
        float mu[B * H], ls[B * H], steps[T - 1], w[N];
        double logw[N], accept[T - 1], loss, bound;
        for (int t = 0; t < T - 1; t++)
            steps[t] = 0.1f;
        ck_assert_int_eq(aw_model_encode(mm, ws, x, B, mu, ls), 0);
        aw_ais_model_ctx_t ctx = {.m = mm, .ws = ws, .x = x, .B = B, .K = K};
        aw_hmc_target_t tg = {.B = B, .K = K, .mu = mu, .logsig = ls, .log_joint = aw_ais_model_log_joint,
                              .ctx = &ctx};
        aw_ais_cfg_t ac = {.T = T, .L = L, .schedule = AW_AIS_LINEAR, .delta = AW_AIS_SIGMOID_DELTA,
                           .step_mode = AW_AIS_STEP_PER_TEMP};
        aw_hmc_t hmc;
        ck_assert_int_eq(aw_hmc_init(&hmc, N, H, &err), 0);
        ck_assert_int_eq(aw_ais_sweep(&hmc, &tg, &ac, steps, accept, &rr, logw, &err), 0);
        for (int b = 0; b < B; b++) {
            double lme = aw_ais_logmeanexp(logw + b * K, K);
            for (int k = 0; k < K; k++)
                w[b * K + k] = (float)(exp(logw[b * K + k] - lme) / K);
        }
        float *gdec = malloc(mm->dec_n * sizeof *gdec), *genc = calloc(mm->n_params, sizeof *genc);
        ck_assert(gdec && genc);
        ck_assert_int_eq(aw_model_decoder_grad(mm, ws, x, B, K, hmc.h, w, gdec, &loss), 0);
        aw_adam_t enc, dec;
        ck_assert_int_eq(aw_adam_init(&enc, mm->enc_n, 0.9f, 0.999f, 1e-4f, &err), 0);
        ck_assert_int_eq(aw_adam_init(&dec, mm->dec_n, 0.9f, 0.999f, 1e-4f, &err), 0);
        if (pass == 0)
            aw_adam_step(&dec, mm->params + mm->dec_off, gdec, lr);
        ck_assert_int_eq(aw_vae_loss_grad(mm, ws, x, B, &rr, genc, AW_GRAD_ENC, &loss, &bound), 0);
        if (pass == 1)
            aw_adam_step(&dec, mm->params + mm->dec_off, gdec, lr);
        aw_adam_step(&enc, mm->params, genc, lr);
        aw_adam_fini(&enc);
        aw_adam_fini(&dec);
        aw_hmc_fini(&hmc);
        aw_model_ws_free(ws);
        free(gdec);
        free(genc);
    }
    ck_assert_mem_eq(m.params, by_hand.params, m.n_params * sizeof *m.params);
    ck_assert(memcmp(m.params, old_order.params, m.enc_n * sizeof *m.params) != 0);
    aw_model_fini(&m);
    aw_model_fini(&by_hand);
    aw_model_fini(&old_order);
}
END_TEST

START_TEST(test_training_decreases_loss)
{
    enum { D = 24, H = 3, B = 16, K = 3 };
    float x[B * D];
    aw_model_t m;
    tiny_model(&m, D, H, 121, x, B);
    aw_rng_t r;
    aw_rng_seed(&r, 122, 0);
    for (int b = 0; b < B; b++)
        for (int d = 0; d < D; d++) {
            int on = (b % 2 == 0) ? d < D / 2 : d % 3 == 0;
            x[b * D + d] = (aw_rng_uniform(&r) < 0.05) ? (float)!on : (float)on;
        }
    const float step_min = 0.09f, step_max = 0.1005f;
    aw_cfg_t cfg = aiwae_cfg_kv(K, 4, 3, "step_size.min=0.09", "step_size.max=0.1005");
    void *st;
    aw_error_t err;
    ck_assert_int_eq(aiwae()->create(cfg.bytes, &test_adam, &m, B, &st, &err), 0);
    const int steps = 80;
    double first = 0, last = 0, bfirst = 0, blast = 0;
    int at_max = 0;
    for (int i = 0; i < steps; i++) {
        aw_step_stats_t stats;
        ck_assert_int_eq(aiwae()->step(st, &m, x, B, 1e-2f, &r, &stats, &err), 0);
        ck_assert_int_eq(stats.n_temps, 3);
        for (int t = 0; t < 3; t++) {
            ck_assert(stats.step[t] >= step_min && stats.step[t] <= step_max);
            ck_assert(stats.accept[t] >= 0 && stats.accept[t] <= 1);
            at_max += stats.step[t] == step_max;
        }
        if (i < 5)
            first += stats.loss / 5, bfirst += stats.bound / 5;
        if (i >= steps - 5)
            last += stats.loss / 5, blast += stats.bound / 5;
    }
    ck_assert_int_gt(at_max, 0); /* the clip was reached */
    ck_assert_double_lt(last, first - 2.0);
    ck_assert_double_lt(blast, bfirst - 2.0);
    aiwae()->destroy(st);
    aw_model_fini(&m);
}
END_TEST

/* Save after two steps, load into a fresh state and a copy of the model: the next step is bit-identical. */
START_TEST(test_save_load_bit_exact)
{
    enum { D = 24, H = 3, B = 5, K = 2 };
    float x[B * D];
    aw_model_t m, m2;
    tiny_model(&m, D, H, 131, x, B);
    tiny_model(&m2, D, H, 131, x, B);
    aw_cfg_t cfg = aiwae_cfg(K, 5, 2);
    void *a, *b;
    aw_error_t err;
    ck_assert_int_eq(aiwae()->create(cfg.bytes, &test_adam, &m, B, &a, &err), 0);
    ck_assert_int_eq(aiwae()->create(cfg.bytes, &test_adam, &m2, B, &b, &err), 0);
    aw_rng_t r;
    aw_rng_seed(&r, 132, 0);
    aw_step_stats_t sa, sb;
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(aiwae()->step(a, &m, x, B, 1e-2f, &r, &sa, &err), 0);
    size_t nb = aiwae()->state_bytes(a);
    ck_assert_uint_eq(nb, aiwae()->state_bytes(b));
    uint8_t *buf = malloc(nb);
    ck_assert_ptr_nonnull(buf);
    aiwae()->save(a, buf);
    /* corrupt copies are refused and leave b as it was */
    ck_assert_int_eq(aiwae()->load(b, buf, nb - 1, &err), AW_EFORMAT);
    buf[0] ^= 1;
    ck_assert_int_eq(aiwae()->load(b, buf, nb, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "magic"));
    buf[0] ^= 1;
    ck_assert_int_eq(aiwae()->load(b, buf, nb, &err), 0);
    memcpy(m2.params, m.params, m.n_params * sizeof *m.params);
    aw_rng_t r2 = r;
    ck_assert_int_eq(aiwae()->step(a, &m, x, B, 1e-2f, &r, &sa, &err), 0);
    ck_assert_int_eq(aiwae()->step(b, &m2, x, B, 1e-2f, &r2, &sb, &err), 0);
    ck_assert_mem_eq(m.params, m2.params, m.n_params * sizeof *m.params);
    ck_assert_mem_eq(sa.step, sb.step, 4 * sizeof *sa.step);
    ck_assert_mem_eq(sa.accept, sb.accept, 4 * sizeof *sa.accept);
    ck_assert(sa.loss == sb.loss && sa.bound == sb.bound);
    /* and the steps did change the parameters relative to a state that was not restored */
    free(buf);
    aiwae()->destroy(a);
    aiwae()->destroy(b);
    aw_model_fini(&m);
    aw_model_fini(&m2);
}
END_TEST

START_TEST(test_errors)
{
    enum { D = 24, H = 3, B = 4 };
    float x[B * D];
    aw_model_t m;
    tiny_model(&m, D, H, 141, x, B);
    void *st;
    aw_error_t err;
    aw_cfg_t c = aiwae_cfg(2, 3, 2);
    poke_int(&c, "temperatures", 1);
    ck_assert_int_eq(aiwae()->create(c.bytes, &test_adam, &m, B, &st, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "method aiwae: temperatures: expected an integer >= 2, found 1");
    c = aiwae_cfg(2, 3, 2);
    poke_int(&c, "samples", 0);
    ck_assert_int_eq(aiwae()->create(c.bytes, &test_adam, &m, B, &st, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "method aiwae: samples: expected an integer >= 1, found 0");
    c = aiwae_cfg(2, 3, 2);
    poke_int(&c, "leapfrog", 0);
    ck_assert_int_eq(aiwae()->create(c.bytes, &test_adam, &m, B, &st, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "method aiwae: leapfrog: expected an integer >= 1, found 0");
    /* A NaN decoder weight: AW_ENUMERIC and the parameters stay as they were. */
    c = aiwae_cfg(2, 3, 2);
    ck_assert_int_eq(aiwae()->create(c.bytes, &test_adam, &m, B, &st, &err), 0);
    m.params[m.dec_off + 3] = NAN;
    float *before = malloc(m.n_params * sizeof *before);
    ck_assert_ptr_nonnull(before);
    memcpy(before, m.params, m.n_params * sizeof *before);
    aw_rng_t r;
    aw_rng_seed(&r, 142, 0);
    aw_step_stats_t stats;
    ck_assert_int_eq(aiwae()->step(st, &m, x, B, 1e-3f, &r, &stats, &err), AW_ENUMERIC);
    ck_assert_mem_eq(before, m.params, m.n_params * sizeof *before);
    ck_assert_int_eq(aiwae()->step(st, &m, x, B + 1, 1e-3f, &r, &stats, &err), AW_EARG);
    free(before);
    aiwae()->destroy(st);
    /* ais_nll's defaults are those of the original scripts, and its eval checks what it is given */
    const aw_estimator_ops_t *ais = test_estimator("ais_nll");
    aw_cfg_t e;
    test_cfg(&ais->settings, &e, NULL);
    int v;
    ck_assert(aw_settings_int(&ais->settings, e.bytes, "chains", &v) && v == 16);
    ck_assert(aw_settings_int(&ais->settings, e.bytes, "temperatures", &v) && v == 10000);
    ck_assert(aw_settings_int(&ais->settings, e.bytes, "leapfrog", &v) && v == 10);
    ck_assert_int_eq(ais->batch, 256);
    const aw_key_t *ki = aw_keys_find(ais->settings.keys, "step_size.init");
    float init;
    memcpy(&init, e.bytes + ki->offset, sizeof init);
    ck_assert_float_eq(init, 0.1f);
    const int one = 1;
    memcpy(e.bytes + aw_keys_find(ais->settings.keys, "temperatures")->offset, &one, sizeof one);
    const aw_eval_ctx_t ctx = {.batch = 2};
    double out[B];
    ck_assert_int_eq(ais->eval(e.bytes, &ctx, &m, x, B, &r, out, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "ais_nll: temperatures: expected an integer >= 2, found 1");
    aw_model_fini(&m);
}
END_TEST

/* The notes an evaluation passes to its runner. */
typedef struct notes {
    int n;
    char line[4][256];
} notes_t;

static int keep_note(void *ctx, int first, int n, const char *line, aw_error_t *err)
{
    (void)err;
    notes_t *k = ctx;
    ck_assert_int_lt(k->n, 4);
    snprintf(k->line[k->n++], sizeof k->line[0], "points %d..%d: %s", first, first + n - 1, line);
    return 0;
}

/* ais_nll against log p(x) by quadrature over a 2-d latent grid: the plugin's output equals -logmeanexp of
 * a direct sweep with the same generator, and that is within 5 standard errors of the exact value; its note
 * per batch gives that sweep's mean acceptance rate and last step size. */
START_TEST(test_ais_nll_quadrature)
{
    enum { D = 16, H = 2, B = 3, C = 64, G = 161 };
    float x[B * D];
    aw_model_t m;
    tiny_model(&m, D, H, 151, x, B);
    /* Trapezoid rule on [-7,7]^2 (the prior's mass outside is below 1e-10). */
    aw_model_ws_t *ws = aw_model_ws_new(&m.shape, 1, G * G);
    ck_assert_ptr_nonnull(ws);
    float *h = malloc(sizeof(float) * G * G * H), *lp = malloc(sizeof(float) * G * G);
    ck_assert(h && lp);
    const double a = 7.0, dx = 2 * a / (G - 1);
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            h[(i * G + j) * H + 0] = (float)(-a + i * dx);
            h[(i * G + j) * H + 1] = (float)(-a + j * dx);
        }
    double exact[B];
    for (int b = 0; b < B; b++) {
        ck_assert_int_eq(aw_model_log_joint(&m, ws, x + b * D, 1, G * G, h, lp, NULL), 0);
        double mx = -INFINITY, sum = 0;
        for (int i = 0; i < G * G; i++)
            mx = fmax(mx, lp[i]);
        for (int i = 0; i < G; i++)
            for (int j = 0; j < G; j++) {
                double wgt = (i == 0 || i == G - 1 ? 0.5 : 1.0) * (j == 0 || j == G - 1 ? 0.5 : 1.0);
                sum += wgt * exp(lp[i * G + j] - mx);
            }
        exact[b] = mx + log(sum * dx * dx);
    }
    free(h);
    free(lp);
    aw_model_ws_free(ws);
    const aw_estimator_ops_t *ais = test_estimator("ais_nll");
    aw_cfg_t e;
    char chains[32];
    snprintf(chains, sizeof chains, "chains=%d", C);
    test_cfg(&ais->settings, &e, (const char *const[]){chains, "temperatures=200", "leapfrog=5", NULL});
    notes_t notes = {0};
    const aw_eval_ctx_t ectx = {.batch = 2, .hooks = {.ctx = &notes, .note = keep_note}};
    aw_error_t err;
    double out[B];
    aw_rng_t r, r2;
    aw_rng_seed(&r, 152, 0);
    r2 = r;
    ck_assert_int_eq(ais->eval(e.bytes, &ectx, &m, x, B, &r, out, &err), 0);
    /* The same computation by hand, batch by batch, keeping the log-weights for error bars. */
    ws = aw_model_ws_new(&m.shape, 2, 2 * C);
    aw_hmc_t s;
    ck_assert_int_eq(aw_hmc_init(&s, 2 * C, H, &err), 0);
    aw_ais_cfg_t ac = { .T = 200, .L = 5, .schedule = AW_AIS_LINEAR, .step_mode = AW_AIS_STEP_ADAPT,
                        .target = 0.6f, .step_min = 0.0001f, .step_max = 10.0f };
    double logw[2 * C];
    for (int i0 = 0; i0 < B; i0 += 2) {
        int nb = B - i0 < 2 ? B - i0 : 2;
        float mu[2 * H], ls[2 * H];
        ck_assert_int_eq(aw_model_encode(&m, ws, x + i0 * D, nb, mu, ls), 0);
        aw_ais_model_ctx_t ctx = { .m = &m, .ws = ws, .x = x + i0 * D, .B = nb, .K = C };
        aw_hmc_target_t tg = { .B = nb, .K = C, .mu = mu, .logsig = ls,
                               .log_joint = aw_ais_model_log_joint, .ctx = &ctx };
        float step = 0.1f;
        double accept[199], mean_accept = 0;
        ck_assert_int_eq(aw_ais_sweep(&s, &tg, &ac, &step, accept, &r2, logw, &err), 0);
        for (int t = 0; t < 199; t++)
            mean_accept += accept[t];
        char want[256];
        snprintf(want, sizeof want, "points %d..%d: acceptance %.4f (mean over 199 temperatures x %d chains), "
                 "step size %.6g at the last temperature", i0, i0 + nb - 1, mean_accept / 199, nb * C, step);
        ck_assert_int_eq(notes.n, B / 2 + 1);
        ck_assert_str_eq(notes.line[i0 / 2], want);
        ck_assert_double_gt(mean_accept / 199, 0.3);
        for (int b = 0; b < nb; b++) {
            double lz = aw_ais_logmeanexp(logw + b * C, C), m1 = 0, m2 = 0;
            ck_assert_double_eq(out[i0 + b], -lz);
            for (int k = 0; k < C; k++) {
                double w = exp(logw[b * C + k] - lz);
                m1 += w / C;
                m2 += w * w / C;
            }
            double se = sqrt((m2 - m1 * m1) / C) / m1;
            ck_assert_double_lt(fabs(lz - exact[i0 + b]), 5 * se + 1e-4);
        }
    }
    aw_hmc_fini(&s);
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

static Suite *aiwae_suite(void)
{
    Suite *s = suite_create("aiwae");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_grad_log_f_fd);
    tcase_add_test(tc, test_T2_equals_iwae);
    tcase_add_test(tc, test_step_order);
    tcase_add_test(tc, test_training_decreases_loss);
    tcase_add_test(tc, test_save_load_bit_exact);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_ais_nll_quadrature);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(aiwae_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
