/* test_hmc.c: leapfrog reversibility, the cost of a transition, and invariance of the exact posterior of a
 * linear-Gaussian model under HMC at beta = 1 (statistical checks at 5 standard errors, fixed seeds). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmc.h"
#include "lingauss.h"

/* The fixture of lingauss.h with noise sd 0.7 and q's mean 0.8 posterior sds off, its sds 1.5 times wider. */
static void fx_init(lg_fixture_t *f, int D, int H, int B, int K, uint64_t seed)
{
    ck_assert_int_eq(lg_fixture_init(f, D, H, B, K, 0.7, 0.8, 1.5, seed), 0);
}

/* Leapfrog forward L steps, flip the momentum, leapfrog again: back at the start to float precision. */
static void check_reversible(double beta, int per_chain)
{
    lg_fixture_t f;
    fx_init(&f, 5, 3, 2, 4, 11);
    const int N = f.B * f.K, H = f.H, L = 25;
    aw_hmc_t s;
    aw_error_t err;
    ck_assert_int_eq(aw_hmc_init(&s, N, H, &err), 0);
    aw_rng_t r;
    aw_rng_seed(&r, 5, 0);
    ck_assert_int_eq(aw_hmc_start(&s, &f.tg, &r, &err), 0);
    float h0[64], r0[64], step[8];
    for (int n = 0; n < N; n++)
        step[n] = per_chain ? 0.05f + 0.02f * n : 0.12f;
    memcpy(h0, s.h, sizeof(float) * N * H);
    aw_rng_fill_normal(&r, s.r, (size_t)N * H);
    memcpy(r0, s.r, sizeof(float) * N * H);
    ck_assert_int_eq(aw_hmc_leapfrog(&s, beta, step, per_chain, L, &err), 0);
    double moved = 0;
    for (int i = 0; i < N * H; i++)
        moved = fmax(moved, fabs(s.hp[i] - h0[i]));
    ck_assert_double_gt(moved, 0.3); /* the trajectory went somewhere */
    float h1[64];
    memcpy(h1, s.hp, sizeof(float) * N * H);
    ck_assert_int_eq(aw_hmc_start_at(&s, &f.tg, h1, &err), 0);
    for (int i = 0; i < N * H; i++)
        s.r[i] = -s.r[i];
    ck_assert_int_eq(aw_hmc_leapfrog(&s, beta, step, per_chain, L, &err), 0);
    /* Each step rounds to float: allow a few ulps per step of the O(1) values. */
    double tol = 4.0 * L * FLT_EPSILON * 4.0;
    for (int i = 0; i < N * H; i++) {
        ck_assert_double_lt(fabs(s.hp[i] - h0[i]), tol * (1 + fabs(h0[i])));
        ck_assert_double_lt(fabs(-s.r[i] - r0[i]), tol * (1 + fabs(r0[i])));
    }
    aw_hmc_fini(&s);
    lg_fixture_fini(&f);
}

START_TEST(test_reversible)
{
    check_reversible(1.0, 0);
    check_reversible(0.4, 0);
    check_reversible(0.0, 1);
    check_reversible(0.7, 1);
}
END_TEST

/* A transition costs exactly L callback evaluations; starting costs one. A tiny step conserves the energy
 * (error O(e^2)), so every proposal is accepted and the state is the proposal. */
START_TEST(test_cost_and_small_step)
{
    lg_fixture_t f;
    fx_init(&f, 4, 2, 3, 5, 12);
    const int N = 15, H = 2;
    aw_hmc_t s;
    aw_error_t err;
    ck_assert_int_eq(aw_hmc_init(&s, N, H, &err), 0);
    aw_rng_t r;
    aw_rng_seed(&r, 6, 0);
    ck_assert_int_eq(aw_hmc_start(&s, &f.tg, &r, &err), 0);
    ck_assert_int_eq(f.ctx.calls, 1);
    ck_assert_int_eq(s.n_calls, 1);
    float e = 1e-3f;
    int acc = -1;
    for (int t = 0; t < 3; t++) {
        ck_assert_int_eq(aw_hmc_transition(&s, 0.5, &e, 0, 7, &r, &acc, &err), 0);
        ck_assert_int_eq(acc, N);
        ck_assert_mem_eq(s.h, s.hp, sizeof(float) * N * H);
    }
    ck_assert_int_eq(f.ctx.calls, 1 + 3 * 7);
    ck_assert_int_eq(s.n_calls, 1 + 3 * 7);
    /* The cached values match a fresh evaluation at the current state. */
    float lp[15], g[30];
    double lq[15];
    ck_assert_int_eq(lg_log_joint(&f.ctx, s.h, N, lp, g, &err), 0);
    aw_hmc_log_q(&s, s.h, lq);
    for (int n = 0; n < N; n++) {
        ck_assert_float_eq(lp[n], s.logp[n]);
        ck_assert_double_eq(lq[n], s.logq[n]);
    }
    ck_assert_mem_eq(g, s.grad, sizeof g);
    aw_hmc_fini(&s);
    lg_fixture_fini(&f);
}
END_TEST

START_TEST(test_errors)
{
    aw_hmc_t s;
    aw_error_t err;
    aw_error_clear(&err);
    ck_assert_int_eq(aw_hmc_init(&s, 0, 3, &err), AW_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "max_n"));
    aw_hmc_fini(&s);
    lg_fixture_t f;
    fx_init(&f, 4, 2, 3, 5, 13);
    ck_assert_int_eq(aw_hmc_init(&s, 14, 2, &err), 0);
    aw_rng_t r;
    aw_rng_seed(&r, 1, 0);
    ck_assert_int_eq(aw_hmc_start(&s, &f.tg, &r, &err), AW_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "B*K <= 14"));
    aw_hmc_fini(&s);
    lg_fixture_fini(&f);
}
END_TEST

/* Sample mean and covariance of the chains against the exact posterior, each entry within 5 standard
 * errors (chains are independent; Var of a covariance entry estimate = (S_ii S_jj + S_ij^2) / N). */
static void check_posterior_moments(const aw_hmc_t *s, int N, int H, const double *mean, const double *cov)
{
    double m[8] = { 0 }, c[64] = { 0 };
    for (int n = 0; n < N; n++)
        for (int j = 0; j < H; j++)
            m[j] += s->h[n * H + j];
    for (int j = 0; j < H; j++)
        m[j] /= N;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < H; j++)
                c[i * H + j] += (s->h[n * H + i] - m[i]) * (s->h[n * H + j] - m[j]);
    for (int i = 0; i < H; i++) {
        ck_assert_double_lt(fabs(m[i] - mean[i]), 5 * sqrt(cov[i * H + i] / N));
        for (int j = 0; j < H; j++) {
            double sij = c[i * H + j] / (N - 1), ref = cov[i * H + j];
            double se = sqrt((cov[i * H + i] * cov[j * H + j] + ref * ref) / N);
            ck_assert_double_lt(fabs(sij - ref), 5 * se);
        }
    }
}

/* Chains started at exact posterior draws stay posterior-distributed under HMC at beta = 1. The step is
 * large (1.1 posterior sd) so that leapfrog alone would inflate the variance by about 40%: without a
 * correct Metropolis test this fails. Loop 1: the leapfrog uses lg_grad_approx (bf16-rounded, 0.8 times
 * the gradient) while the energies stay exact: still invariant; had the energies come from the
 * approximation, the chains would drift to p^0.8 (25% more variance) and fail. */
START_TEST(test_posterior_invariant)
{
    lg_fixture_t f;
    const int N = 4000, H = 2;
    fx_init(&f, 4, H, 1, N, 21);
    if (_i == 1) { /* the leapfrog on an inexact gradient (docs/math.md#bf16-leapfrog-gradients) */
        f.tg.grad_joint = lg_grad_approx;
        f.tg.grad_ctx = &f.ctx;
    }
    double mean[4], cov[4], chol[4];
    lg_posterior(&f.m, f.x, mean, cov, chol);
    float *h0 = malloc(sizeof(float) * N * H);
    ck_assert_ptr_nonnull(h0);
    aw_rng_t r;
    aw_rng_seed(&r, 22, 0);
    for (int n = 0; n < N; n++) {
        double z0 = aw_rng_normal(&r), z1 = aw_rng_normal(&r);
        h0[n * 2 + 0] = (float)(mean[0] + chol[0] * z0);
        h0[n * 2 + 1] = (float)(mean[1] + chol[2] * z0 + chol[3] * z1);
    }
    aw_hmc_t s;
    aw_error_t err;
    ck_assert_int_eq(aw_hmc_init(&s, N, H, &err), 0);
    ck_assert_int_eq(aw_hmc_start_at(&s, &f.tg, h0, &err), 0);
    float e = (float)(1.1 * sqrt(fmin(cov[0], cov[3])));
    long acc_total = 0;
    const int n_trans = 10;
    for (int t = 0; t < n_trans; t++) {
        int acc;
        ck_assert_int_eq(aw_hmc_transition(&s, 1.0, &e, 0, 3, &r, &acc, &err), 0);
        acc_total += acc;
    }
    double rate = (double)acc_total / ((double)N * n_trans);
    ck_assert_double_gt(rate, 0.2);
    ck_assert_double_lt(rate, 0.97);
    double moved = 0;
    for (int i = 0; i < N * H; i++)
        moved += fabs(s.h[i] - h0[i]);
    ck_assert_double_gt(moved / (N * H), 0.3 * sqrt(fmin(cov[0], cov[3])));
    check_posterior_moments(&s, N, H, mean, cov);
    free(h0);
    aw_hmc_fini(&s);
    lg_fixture_fini(&f);
}
END_TEST

/* Chains started from q (off the posterior) converge to it under repeated transitions at beta = 1. */
START_TEST(test_converges_from_q)
{
    lg_fixture_t f;
    const int N = 2000, H = 3;
    fx_init(&f, 5, H, 1, N, 31);
    double mean[9], cov[9], chol[9];
    lg_posterior(&f.m, f.x, mean, cov, chol);
    aw_hmc_t s;
    aw_error_t err;
    ck_assert_int_eq(aw_hmc_init(&s, N, H, &err), 0);
    aw_rng_t r;
    aw_rng_seed(&r, 32, 0);
    ck_assert_int_eq(aw_hmc_start(&s, &f.tg, &r, &err), 0);
    double sdmin = sqrt(fmin(cov[0], fmin(cov[4], cov[8])));
    float e = (float)(0.6 * sdmin);
    for (int t = 0; t < 60; t++)
        ck_assert_int_eq(aw_hmc_transition(&s, 1.0, &e, 0, 5, &r, NULL, &err), 0);
    check_posterior_moments(&s, N, H, mean, cov);
    aw_hmc_fini(&s);
    lg_fixture_fini(&f);
}
END_TEST

static Suite *hmc_suite(void)
{
    Suite *s = suite_create("hmc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reversible);
    tcase_add_test(tc, test_cost_and_small_step);
    tcase_add_test(tc, test_errors);
    tcase_add_loop_test(tc, test_posterior_invariant, 0, 2);
    tcase_add_test(tc, test_converges_from_q);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hmc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
