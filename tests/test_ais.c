/* test_ais.c: AIS on a linear-Gaussian model with a closed-form log p(x): estimates within their error bars,
 * error shrinking with T, unbiased weights, schedules, step-size adaptation, determinism across threads. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/ais.h"
#include "core/ais_state.h"
#include "lingauss.h"

/* The fixture of lingauss.h (noise sd 0.5) with the chains and their log weights. */
typedef struct fixture {
    lg_fixture_t lg;    /* model, points, q and the target */
    aw_hmc_t s;         /* chains */
    double *logw;       /* [N] */
} fixture_t;

/* q: posterior mean shifted by `shift` sds, sd scaled by `widen`. */
static void fx_init(fixture_t *f, int D, int H, int B, int K, double shift, double widen, uint64_t seed)
{
    ck_assert_int_eq(lg_fixture_init(&f->lg, D, H, B, K, 0.5, shift, widen, seed), 0);
    f->logw = malloc((size_t)B * K * sizeof *f->logw);
    ck_assert_ptr_nonnull(f->logw);
    aw_error_t err;
    ck_assert_int_eq(aw_hmc_init(&f->s, B * K, H, &err), 0);
}

static void fx_fini(fixture_t *f)
{
    aw_hmc_fini(&f->s);
    lg_fixture_fini(&f->lg);
    free(f->logw);
}

static aw_ais_cfg_t adapt_cfg(int T, int L, int schedule)
{
    return (aw_ais_cfg_t){ .T = T, .L = L, .schedule = schedule, .delta = AW_AIS_SIGMOID_DELTA,
                           .step_mode = AW_AIS_STEP_ADAPT, .target = 0.6f, .step_min = 0.01f,
                           .step_max = 1.0f };
}

/* Per-point summary of K log-weights: log Z_hat and the delta-method standard error of log Z_hat,
 * sd(w) / (mean(w) sqrt(K)). */
static void summarize(const double *lw, int K, double *logz, double *se)
{
    *logz = aw_ais_logmeanexp(lw, K);
    double m1 = 0, m2 = 0;
    for (int k = 0; k < K; k++) {
        double w = exp(lw[k] - *logz);
        m1 += w;
        m2 += w * w;
    }
    m1 /= K, m2 /= K;
    *se = sqrt(fmax(m2 - m1 * m1, 0) / K) / m1;
}

START_TEST(test_schedules)
{
    for (int sched = 0; sched < 2; sched++) {
        ck_assert_double_eq(aw_ais_beta(sched, 4.0, 2, 0), 0.0);
        ck_assert_double_eq(aw_ais_beta(sched, 4.0, 2, 1), 1.0);
        const int T = 101;
        ck_assert_double_eq(aw_ais_beta(sched, 4.0, T, 0), 0.0);
        ck_assert_double_eq(aw_ais_beta(sched, 4.0, T, T - 1), 1.0);
        for (int t = 1; t < T; t++) {
            ck_assert_double_gt(aw_ais_beta(sched, 4.0, T, t), aw_ais_beta(sched, 4.0, T, t - 1));
            /* both schedules are symmetric about the middle */
            ck_assert_double_eq_tol(aw_ais_beta(sched, 4.0, T, t) + aw_ais_beta(sched, 4.0, T, T - 1 - t),
                                    1.0, 1e-12);
        }
    }
    ck_assert_double_eq(aw_ais_beta(AW_AIS_LINEAR, 4.0, 5, 1), 0.25);
    /* sigmoid, T = 5, t = 1: (s(-2) - s(-4)) / (s(4) - s(-4)) */
    double s2 = 1 / (1 + exp(2.0)), s4 = 1 / (1 + exp(4.0));
    ck_assert_double_eq_tol(aw_ais_beta(AW_AIS_SIGMOID, 4.0, 5, 1), (s2 - s4) / (1 - 2 * s4), 1e-15);
    /* the sigmoid schedule spends more temperatures near the ends */
    ck_assert_double_lt(aw_ais_beta(AW_AIS_SIGMOID, 4.0, 101, 10), aw_ais_beta(AW_AIS_LINEAR, 4.0, 101, 10));
}
END_TEST

START_TEST(test_logmeanexp_and_adapt)
{
    double lw[4] = { 1000.0, 1000.0 + log(3.0), -INFINITY, 1000.0 };
    ck_assert_double_eq_tol(aw_ais_logmeanexp(lw, 4), 1000.0 + log(5.0 / 4.0), 1e-12);
    double none[2] = { -INFINITY, -INFINITY };
    ck_assert(isinf(aw_ais_logmeanexp(none, 2)) && aw_ais_logmeanexp(none, 2) < 0);
    double nan[2] = { 0.0, NAN };
    ck_assert(isnan(aw_ais_logmeanexp(nan, 2)));
    float step[4] = { 0.1f, 0.1f, 0.3f, 0.001f };
    double acc[4] = { 0.5, 0.6, 0.9, 0.1 };
    aw_ais_adapt_steps(step, acc, 4, 0.6f, 0.001f, 0.3f);
    ck_assert_float_eq(step[0], 0.1f * 0.998f);
    ck_assert_float_eq(step[1], 0.1f * 1.002f);
    ck_assert_float_eq(step[2], 0.3f);
    ck_assert_float_eq(step[3], 0.001f);
}
END_TEST

/* log Z_hat within 5 standard errors of the exact log p(x), for both schedules; the sweep makes exactly
 * 1 + (T-1) L callback calls. */
START_TEST(test_estimates_evidence)
{
    fixture_t f;
    const int B = 3, K = 400;
    fx_init(&f, 6, 3, B, K, 1.0, 2.0, 41);
    aw_rng_t r;
    aw_rng_seed(&r, 42, 0);
    aw_error_t err;
    for (int sched = 0; sched < 2; sched++) {
        aw_ais_cfg_t c = adapt_cfg(50, 4, sched);
        float step = 0.2f;
        long calls0 = f.lg.ctx.calls;
        ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, NULL, &r, f.logw, &err), 0);
        ck_assert_int_eq(f.lg.ctx.calls - calls0, 1 + 49 * 4);
        for (int b = 0; b < B; b++) {
            double logz, se, exact = lg_log_evidence(&f.lg.m, f.lg.x + (size_t)b * f.lg.m.D);
            summarize(f.logw + (size_t)b * K, K, &logz, &se);
            ck_assert_double_gt(se, 0);
            ck_assert_double_lt(fabs(logz - exact), 5 * se);
        }
    }
    fx_fini(&f);
}
END_TEST

/* The Monte Carlo error of log Z_hat falls as T grows (T = 2 is plain importance sampling from q), and
 * every estimate stays within 5 of its standard errors of the exact value. */
START_TEST(test_error_shrinks_with_T)
{
    fixture_t f;
    const int K = 1000;
    fx_init(&f, 6, 3, 1, K, 1.5, 2.5, 51);
    const double exact = lg_log_evidence(&f.lg.m, f.lg.x);
    aw_rng_t r;
    aw_rng_seed(&r, 52, 0);
    aw_error_t err;
    const int Ts[3] = { 2, 10, 100 };
    double se_prev = INFINITY, var_prev = INFINITY;
    for (int i = 0; i < 3; i++) {
        aw_ais_cfg_t c = adapt_cfg(Ts[i], 4, AW_AIS_LINEAR);
        float step = 0.2f;
        ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, NULL, &r, f.logw, &err), 0);
        double logz, se, m = 0, v = 0;
        summarize(f.logw, K, &logz, &se);
        ck_assert_double_lt(fabs(logz - exact), 5 * se);
        for (int k = 0; k < K; k++)
            m += f.logw[k] / K;
        for (int k = 0; k < K; k++)
            v += (f.logw[k] - m) * (f.logw[k] - m) / (K - 1);
        /* the variance of the log-weights at least halves at each step of T (its relative standard
         * error at K = 1000 is a few percent, far below a factor 2) */
        ck_assert_double_lt(v, 0.5 * var_prev);
        ck_assert_double_lt(se, se_prev);
        se_prev = se, var_prev = v;
    }
    fx_fini(&f);
}
END_TEST

/* E[w] = p(x) for every chain: the mean of exp(log w - log p(x)) over 4000 independent chains is 1 within 5
 * standard errors, for a short sweep (large weight variance, so weighting at the wrong state would show).
 * Loop 1: the leapfrog uses lg_grad_approx (bf16-rounded, 0.8 times the gradient; docs/math.md#bf16-leapfrog-gradients):
 * the weights, on exact values, stay unbiased (weights on its values, those of p^0.8, would not). */
START_TEST(test_weights_unbiased)
{
    const int K = 4000;
    fixture_t f;
    fx_init(&f, 5, 2, 1, K, 1.5, 2.0, 61);
    if (_i == 1) { /* leapfrog on an inexact gradient, weights on exact values */
        f.lg.tg.grad_joint = lg_grad_approx;
        f.lg.tg.grad_ctx = &f.lg.ctx;
    }
    const double exact = lg_log_evidence(&f.lg.m, f.lg.x);
    aw_rng_t r;
    aw_rng_seed(&r, 62, 0);
    aw_error_t err;
    for (int sched = 0; sched < 2; sched++) {
        for (int T = 2; T <= 6; T += 4) {
            aw_ais_cfg_t c = adapt_cfg(T, 3, sched);
            float step = 0.3f;
            ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, NULL, &r, f.logw, &err), 0);
            double m1 = 0, m2 = 0;
            for (int k = 0; k < K; k++) {
                double w = exp(f.logw[k] - exact);
                m1 += w / K;
                m2 += w * w / K;
            }
            double se = sqrt((m2 - m1 * m1) / K);
            ck_assert_double_gt(se, 0.005);
            ck_assert_double_lt(fabs(m1 - 1.0), 5 * se);
        }
    }
    fx_fini(&f);
}
END_TEST

/* Acceptance stays near the 0.6 target and steps stay inside the clip, for both adaptation rules. */
START_TEST(test_step_adaptation)
{
    fixture_t f;
    const int K = 256;
    fx_init(&f, 5, 3, 1, K, 1.0, 2.0, 71);
    aw_rng_t r;
    aw_rng_seed(&r, 72, 0);
    aw_error_t err;
    /* ais_nll's rule: one step size adapted after every temperature. */
    const int T = 1501;
    double *acc = malloc((size_t)(T - 1) * sizeof *acc);
    ck_assert_ptr_nonnull(acc);
    aw_ais_cfg_t c = adapt_cfg(T, 2, AW_AIS_LINEAR);
    float step = 0.2f;
    ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, acc, &r, f.logw, &err), 0);
    double mean = 0;
    for (int t = (T - 1) / 2; t < T - 1; t++)
        mean += acc[t] / ((T - 1) - (T - 1) / 2);
    ck_assert_double_lt(fabs(mean - 0.6), 0.05);
    ck_assert(step >= c.step_min && step <= c.step_max);
    /* A tight clip binds: the step sits at its maximum and acceptance rises above the target. */
    c.step_max = 0.05f;
    step = 0.3f;
    ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, acc, &r, f.logw, &err), 0);
    ck_assert_float_eq(step, 0.05f);
    ck_assert_double_gt(acc[T - 2], 0.8);
    free(acc);
    fx_fini(&f);
    /* AIWAE's rule: per-temperature steps, adapted after each sweep ("minibatch"), on a model with a tighter
     * posterior so that the steps that reach the target lie inside [0.001, 0.3]. */
    fx_init(&f, 20, 3, 1, K, 1.0, 1.0, 73);
    enum { NT = 4 };
    aw_ais_cfg_t cp = { .T = NT + 1, .L = 3, .schedule = AW_AIS_LINEAR, .step_mode = AW_AIS_STEP_PER_TEMP };
    float steps[NT] = { 0.1f, 0.1f, 0.1f, 0.1f };
    double a[NT], amean[NT] = { 0 };
    const int sweeps = 900, tail = 300;
    for (int i = 0; i < sweeps; i++) {
        ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &cp, steps, a, &r, f.logw, &err), 0);
        aw_ais_adapt_steps(steps, a, NT, 0.6f, 0.001f, 0.3f);
        for (int t = 0; t < NT; t++) {
            ck_assert(steps[t] >= 0.001f && steps[t] <= 0.3f);
            if (i >= sweeps - tail)
                amean[t] += a[t] / tail;
        }
    }
    for (int t = 0; t < NT; t++) {
        ck_assert_double_lt(fabs(amean[t] - 0.6), 0.05);
    }
    fx_fini(&f);
}
END_TEST

/* Same seed, 1 or 2 threads: bit-identical log-weights and final states. */
START_TEST(test_thread_independent)
{
    fixture_t f;
    const int B = 4, K = 300;
    fx_init(&f, 6, 3, B, K, 1.0, 2.0, 81);
    double *lw1 = malloc((size_t)B * K * sizeof *lw1);
    float *h1 = malloc((size_t)B * K * 3 * sizeof *h1);
    ck_assert(lw1 && h1);
    aw_error_t err;
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        aw_rng_t r;
        aw_rng_seed(&r, 82, 0);
        aw_ais_cfg_t c = adapt_cfg(20, 3, AW_AIS_SIGMOID);
        float step = 0.2f;
        ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, NULL, &r, f.logw, &err), 0);
        if (threads == 1) {
            memcpy(lw1, f.logw, (size_t)B * K * sizeof *lw1);
            memcpy(h1, f.s.h, (size_t)B * K * 3 * sizeof *h1);
        } else {
            ck_assert_mem_eq(lw1, f.logw, (size_t)B * K * sizeof *lw1);
            ck_assert_mem_eq(h1, f.s.h, (size_t)B * K * 3 * sizeof *h1);
        }
    }
    free(lw1);
    free(h1);
    fx_fini(&f);
}
END_TEST

START_TEST(test_errors)
{
    fixture_t f;
    fx_init(&f, 4, 2, 1, 8, 0.0, 1.0, 91);
    aw_rng_t r;
    aw_rng_seed(&r, 92, 0);
    aw_error_t err;
    aw_ais_cfg_t c = adapt_cfg(1, 3, AW_AIS_LINEAR);
    float step = 0.1f;
    ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, NULL, &r, f.logw, &err), AW_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "T >= 2"));
    fx_fini(&f);
}
END_TEST

/* The state saved between temperatures (by at_temp, which then stops the sweep) and loaded into fresh chains
 * resumes the sweep to the same bytes of log-weights, step size and generator as an uninterrupted one. */
typedef struct saver {
    int at;          /* stop before this temperature */
    uint8_t *buf;    /* the state saved there */
    size_t n;
    fixture_t *f;
    float *step;
    aw_rng_t *rng;
    int calls;       /* at_temp calls */
} saver_t;

static int save_at(void *ctx, int t, int stopping, aw_error_t *err)
{
    (void)err;
    saver_t *v = ctx;
    v->calls++;
    ck_assert_int_eq(stopping, 0);
    if (t != v->at)
        return 0;
    v->n = aw_ais_state_bytes(v->f->s.n, v->f->lg.H);
    v->buf = malloc(v->n);
    ck_assert_ptr_nonnull(v->buf);
    aw_ais_state_save(&v->f->s, t, *v->step, v->rng, v->f->logw, v->buf);
    return 1;
}

START_TEST(test_resume_between_temperatures)
{
    fixture_t f;
    const int B = 2, K = 16, T = 40;
    fx_init(&f, 5, 3, B, K, 0.5, 1.5, 61);
    aw_error_t err;
    aw_rng_t r;
    aw_rng_seed(&r, 62, 0);
    aw_ais_cfg_t c = adapt_cfg(T, 3, AW_AIS_LINEAR);
    float step = 0.2f;
    ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, NULL, &r, f.logw, &err), 0);
    double ref[32];
    memcpy(ref, f.logw, sizeof ref);
    const float ref_step = step;
    const uint64_t ref_next = aw_rng_next(&r);

    aw_rng_seed(&r, 62, 0);
    step = 0.2f;
    saver_t v = {.at = 17, .f = &f, .step = &step, .rng = &r};
    c.at_temp = save_at;
    c.at_ctx = &v;
    ck_assert_int_eq(aw_ais_sweep(&f.s, &f.lg.tg, &c, &step, NULL, &r, f.logw, &err), AW_EINTR);
    ck_assert_int_eq(v.calls, 16); /* before temperatures 2..17 */
    ck_assert_ptr_nonnull(v.buf);

    /* fresh chains, a scrambled generator and weights: everything comes from the saved bytes */
    aw_hmc_fini(&f.s);
    ck_assert_int_eq(aw_hmc_init(&f.s, B * K, f.lg.H, &err), 0);
    for (int n = 0; n < B * K; n++)
        f.logw[n] = 1e9;
    aw_rng_seed(&r, 999, 9);
    int t = 0;
    ck_assert_msg(aw_ais_state_load(&f.s, &f.lg.tg, T, v.buf, v.n, &t, &step, &r, f.logw, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(t, 17);
    c.at_temp = NULL;
    ck_assert_int_eq(aw_ais_sweep_from(&f.s, &c, t, &step, NULL, &r, f.logw, &err), 0);
    ck_assert_int_eq(memcmp(ref, f.logw, sizeof ref), 0);
    ck_assert(step == ref_step);
    ck_assert(aw_rng_next(&r) == ref_next);

    /* bytes that do not fit are refused */
    ck_assert_int_eq(aw_ais_state_load(&f.s, &f.lg.tg, T, v.buf, v.n - 1, &t, &step, &r, f.logw, &err), AW_EFORMAT);
    ck_assert_int_eq(aw_ais_state_load(&f.s, &f.lg.tg, 10, v.buf, v.n, &t, &step, &r, f.logw, &err), AW_EFORMAT);
    free(v.buf);
    fx_fini(&f);
}
END_TEST

static Suite *ais_suite(void)
{
    Suite *s = suite_create("ais");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_schedules);
    tcase_add_test(tc, test_logmeanexp_and_adapt);
    tcase_add_test(tc, test_estimates_evidence);
    tcase_add_test(tc, test_error_shrinks_with_T);
    tcase_add_loop_test(tc, test_weights_unbiased, 0, 2);
    tcase_add_test(tc, test_step_adaptation);
    tcase_add_test(tc, test_thread_independent);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_resume_between_temperatures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ais_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
