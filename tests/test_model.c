/* test_model.c: parameter layout and initialization, the forward passes against a naive double
 * reference, the vectorizable float math against libm, and argument checks. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_f64.h"
#include "core/model.h"
#include "core/model_ws.h"

START_TEST(test_param_layout)
{
    const aw_shape_t sh = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};
    ck_assert_uint_eq(aw_shape_n_params(&sh), 425284);
    aw_rng_t rng;
    aw_rng_seed(&rng, 1, 0);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, NULL), 0);
    ck_assert_uint_eq(m.n_params, 425284);
    ck_assert_uint_eq(m.enc_n, 784 * 200 + 200 + 200 * 200 + 200 + 200 * 100 + 100);
    ck_assert_uint_eq(m.dec_off, m.enc_n);
    ck_assert_uint_eq(m.dec_n, 50 * 200 + 200 + 200 * 200 + 200 + 200 * 784 + 784);
    ck_assert_uint_eq((uintptr_t)m.params % 64, 0);
    /* Layers tile the block in order: W then b, encoder (D->200->200->2H) then decoder (H->200->200->D). */
    const int ins[6] = {784, 200, 200, 50, 200, 200}, outs[6] = {200, 200, 100, 200, 200, 784};
    const float *p = m.params;
    for (int k = 0; k < 6; k++) {
        const aw_layer_t *l = k < 3 ? &m.enc[k] : &m.dec[k - 3];
        ck_assert_int_eq(l->in, ins[k]);
        ck_assert_int_eq(l->out, outs[k]);
        ck_assert_ptr_eq(l->W, p);
        ck_assert_ptr_eq(l->b, p + (size_t)ins[k] * outs[k]);
        p = l->b + outs[k];
        /* Uniform(-1/sqrt(in), 1/sqrt(in)): inside the bound, variance bound^2/3 within 5 standard errors. */
        double bound = 1 / sqrt((double)ins[k]), s2 = 0;
        size_t nw = (size_t)ins[k] * outs[k];
        for (size_t i = 0; i < nw; i++) {
            ck_assert(fabs(l->W[i]) <= bound);
            s2 += (double)l->W[i] * l->W[i];
        }
        double var = bound * bound / 3, se = var * sqrt(0.8 / nw);
        ck_assert_double_eq_tol(s2 / nw, var, 5 * se);
        for (int j = 0; j < outs[k]; j++)
            ck_assert(fabs(l->b[j]) <= bound && l->b[j] != 0);
    }
    ck_assert_ptr_eq(p, m.params + m.n_params);
    /* The first weight is the first uniform draw of the seeded generator. */
    aw_rng_t r2;
    aw_rng_seed(&r2, 1, 0);
    ck_assert_float_eq(m.params[0], (float)((2 * aw_rng_uniform(&r2) - 1) / 28.0));
    aw_model_fini(&m);
    aw_model_fini(&m); /* safe twice */
}
END_TEST

START_TEST(test_invalid_shapes)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, 1, 0);
    aw_model_t m;
    aw_error_t err;
    aw_shape_t sh = {.D = 10, .H = 2, .n_hidden = 0};
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, &err), AW_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "n_hidden=0"));
    sh.n_hidden = AW_MAX_HIDDEN + 1;
    ck_assert_uint_eq(aw_shape_n_params(&sh), 0);
    sh = (aw_shape_t){.D = 10, .H = 2, .n_hidden = 2, .hidden = {3, 0}};
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, &err), AW_EARG);
    ck_assert_ptr_null(aw_model_ws_new(&sh, 1, 1));
    sh.hidden[1] = 3;
    ck_assert_ptr_null(aw_model_ws_new(&sh, 4, 3));
    ck_assert_ptr_null(aw_model_ws_new(&sh, 0, 3));
    aw_model_ws_t *ws = aw_model_ws_new(&sh, 2, 4);
    ck_assert_ptr_nonnull(ws);
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, &err), 0);
    float x[50] = {0}, mu[6], ls[6], h[12] = {0}, lp[6], w[6] = {0}, *g = malloc(m.dec_n * sizeof *g);
    double loss;
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(aw_model_encode(&m, ws, x, 3, mu, ls), AW_EARG);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, 1, 5, h, lp, NULL), AW_EARG);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, 2, 0, h, lp, NULL), AW_EARG);
    ck_assert_int_eq(aw_model_decoder_grad(&m, ws, x, 5, 1, h, w, g, &loss), AW_EARG);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, 2, 2, h, lp, NULL), 0);
    free(g);
    aw_model_ws_free(ws);
    aw_model_ws_free(NULL);
    aw_model_fini(&m);
}
END_TEST

/* Naive double forward of a dense layer: y[out] = W x + b, optionally tanh. */
static void ref_layer(const aw_layer_t *l, const double *x, double *y, int act)
{
    for (int o = 0; o < l->out; o++) {
        double s = l->b[o];
        for (int i = 0; i < l->in; i++)
            s += (double)l->W[(size_t)o * l->in + i] * x[i];
        y[o] = act ? tanh(s) : s;
    }
}

/* encode and log_joint against the reference on a 3-hidden-layer network with uneven widths. */
START_TEST(test_forward_matches_reference)
{
    const aw_shape_t sh = {.D = 17, .H = 5, .n_hidden = 3, .hidden = {9, 7, 6}};
    enum { B = 3, K = 2, D = 17, H = 5 };
    aw_rng_t rng;
    aw_rng_seed(&rng, 4, 0);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, NULL), 0);
    aw_model_ws_t *ws = aw_model_ws_new(&sh, B, B * K);
    ck_assert_ptr_nonnull(ws);
    float x[B * D], mu[B * H], ls[B * H], h[B * K * H], lp[B * K], lp2[B * K], gh[B * K * H];
    for (int i = 0; i < B * D; i++)
        x[i] = aw_rng_uniform(&rng) < 0.5;
    for (int i = 0; i < B * K * H; i++)
        h[i] = (float)aw_rng_normal(&rng);
    ck_assert_int_eq(aw_model_encode(&m, ws, x, B, mu, ls), 0);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, h, lp, gh), 0);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, h, lp2, NULL), 0);
    for (int i = 0; i < B; i++) {
        double a[32], b[32];
        for (int d = 0; d < D; d++)
            a[d] = x[i * D + d];
        for (int l = 0; l < 3; l++) {
            ref_layer(&m.enc[l], a, b, 1);
            memcpy(a, b, sizeof b);
        }
        ref_layer(&m.enc[3], a, b, 0);
        for (int j = 0; j < H; j++) {
            ck_assert_double_eq_tol(mu[i * H + j], b[j], 1e-5);
            ck_assert_double_eq_tol(ls[i * H + j], b[H + j], 1e-5);
        }
    }
    for (int n = 0; n < B * K; n++) {
        double a[32], b[32], want = 0;
        for (int j = 0; j < H; j++) {
            a[j] = h[n * H + j];
            want += -0.5 * a[j] * a[j] - 0.5 * log(2 * M_PI);
        }
        for (int l = 0; l < 3; l++) {
            ref_layer(&m.dec[l], a, b, 1);
            memcpy(a, b, sizeof b);
        }
        ref_layer(&m.dec[3], a, b, 0);
        for (int d = 0; d < D; d++)
            want += x[(n / K) * D + d] * b[d] - log1p(exp(b[d]));
        ck_assert_double_eq_tol(lp[n], want, 1e-5 * fabs(want));
        ck_assert_float_eq(lp[n], lp2[n]);
    }
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* The double build computes the same as the float build (and both the same as the reference above). */
START_TEST(test_log_joint_float_vs_double)
{
    const aw_shape_t sh = {.D = 40, .H = 6, .n_hidden = 2, .hidden = {20, 15}};
    enum { B = 4, K = 3, N = B * K, D = 40, H = 6 };
    aw_rng_t rng;
    aw_rng_seed(&rng, 8, 0);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, NULL), 0);
    aw_model_ws_t *ws = aw_model_ws_new(&sh, B, N);
    ck_assert_ptr_nonnull(ws);
    float x[B * D], h[N * H], lp[N], gh[N * H];
    double dx[B * D], dh[N * H], dlp[N], dgh[N * H], *p = malloc(m.n_params * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < m.n_params; i++)
        p[i] = m.params[i];
    for (int i = 0; i < B * D; i++)
        dx[i] = x[i] = aw_rng_uniform(&rng) < 0.3;
    for (int i = 0; i < N * H; i++)
        dh[i] = h[i] = (float)(2 * aw_rng_normal(&rng));
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, h, lp, gh), 0);
    ck_assert_int_eq(awd_eval(AWD_LOGJOINT, &sh, p, dx, B, K, dh, NULL, NULL, dlp, dgh), 0);
    double num = 0, den = 0;
    for (int n = 0; n < N; n++)
        ck_assert_double_eq_tol(lp[n], dlp[n], 1e-5 * fabs(dlp[n]));
    for (int i = 0; i < N * H; i++) {
        num += (gh[i] - dgh[i]) * (gh[i] - dgh[i]);
        den += dgh[i] * dgh[i];
    }
    ck_assert(sqrt(num / den) < 1e-5);
    free(p);
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* Float kernels against libm in double: exp, log1p on [0,1], tanh, the sigmoid helper, sqrt. */
START_TEST(test_float_math)
{
    double worst_exp = 0, worst_log1p = 0, worst_tanh = 0, worst_sig = 0;
    for (int i = 0; i <= 200000; i++) {
        double t = -87.0 + 174.0 * i / 200000.0;
        double e = exp((float)t);
        worst_exp = fmax(worst_exp, fabs(aw_fexp((float)t) - e) / e);
        double u = i / 200000.0;
        double l = log1p((float)u);
        worst_log1p = fmax(worst_log1p, fabs(aw_flog1p((float)u) - l) / fmax(l, 1e-30));
        double z = -12.0 + 24.0 * i / 200000.0;
        double th = tanh((float)z);
        worst_tanh = fmax(worst_tanh, fabs(aw_ftanh((float)z) - th) / fmax(fabs(th), 1e-30));
        double a = -80.0 + 180.0 * i / 200000.0; /* below -87 e^a is under float's normal range */
        double sg = 1 / (1 + exp(-(double)(float)a));
        worst_sig = fmax(worst_sig, fabs(aw_sigmoid((float)a) - sg) / sg);
    }
    double worst_sqrt = 0;
    for (int i = 0; i <= 200000; i++) {
        float v = (float)pow(10.0, -30.0 + 60.0 * i / 200000.0);
        worst_sqrt = fmax(worst_sqrt, fabs(aw_fsqrt(v) - sqrt((double)v)) / sqrt((double)v));
    }
    ck_assert_float_eq(aw_fsqrt(0.0f), 0.0f);
    printf("  float math rel err: exp %.1e log1p %.1e tanh %.1e sigmoid %.1e sqrt %.1e\n", worst_exp,
           worst_log1p, worst_tanh, worst_sig, worst_sqrt);
    ck_assert(worst_sqrt < 5e-7);
    ck_assert(worst_exp < 5e-7);
    ck_assert(worst_log1p < 5e-7);
    ck_assert(worst_tanh < 1e-6);
    ck_assert(worst_sig < 1e-6);
    /* Saturation: no inf or NaN, monotone limits. */
    ck_assert(isfinite(aw_fexp(1000.0f)) && aw_fexp(1000.0f) > 1e37f);
    ck_assert(isnan(aw_fexp(NAN)) && isnan(aw_ftanh(NAN)));
    ck_assert(aw_fexp(-1000.0f) >= 0 && aw_fexp(-1000.0f) < 1e-37f);
    ck_assert_float_eq_tol(aw_ftanh(50.0f), 1.0f, 1.2e-7f);
    ck_assert_float_eq_tol(aw_ftanh(-50.0f), -1.0f, 1.2e-7f);
    ck_assert_float_eq(aw_sigmoid(-1e30f), aw_sigmoid(-1e30f)); /* not NaN */
    ck_assert(aw_sigmoid(-1e30f) >= 0 && aw_sigmoid(-1e30f) < 1e-30f);
    ck_assert_float_eq(aw_sigmoid(1e30f), 1.0f);
}
END_TEST

/* The Bernoulli row kernel on a long row (16-lane chunks, log-product flushes, scalar tail): value and
 * scaled gradient against per-pixel double formulas, for moderate, +-80 and huge logits. */
START_TEST(test_bern_row)
{
    enum { D = 2100 };
    static float x[D], z[D], b[D], z0[D];
    aw_rng_t rng;
    aw_rng_seed(&rng, 12, 0);
    const float scales[] = {3.0f, 80.0f, 1e30f};
    for (int sc = 0; sc < 3; sc++) {
        double want = 0;
        for (int d = 0; d < D; d++) {
            x[d] = aw_rng_uniform(&rng) < 0.3;
            z0[d] = (float)(scales[sc] * (2 * aw_rng_uniform(&rng) - 1));
            b[d] = (float)(0.5 * aw_rng_normal(&rng));
            if (sc > 0) /* saturated: +-scale exactly */
                z0[d] = (d % 3 ? 1 : -1) * scales[sc], b[d] = 0;
            double a = (double)z0[d] + b[d];
            want += x[d] * a - (fmax(a, 0) + log1p(exp(-fabs(a))));
        }
        memcpy(z, z0, sizeof z);
        float v0 = aw_model_bern_row(x, z, b, D, 0, 1.0f);
        ck_assert_int_eq(memcmp(z, z0, sizeof z), 0);
        float v1 = aw_model_bern_row(x, z, b, D, 1, -0.25f);
        printf("  bern_row scale %g: %.6g vs %.6g\n", scales[sc], v1, want);
        ck_assert(isfinite(v0) && v0 == v1);
        ck_assert_double_eq_tol(v1, want, 1e-6 * fabs(want) + 1e-4);
        for (int d = 0; d < D; d++) {
            double a = (double)z0[d] + b[d], sg = 1 / (1 + exp(-a));
            ck_assert_double_eq_tol(z[d], -0.25 * (x[d] - sg), 1e-7);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_param_layout);
    tcase_add_test(tc, test_invalid_shapes);
    tcase_add_test(tc, test_forward_matches_reference);
    tcase_add_test(tc, test_log_joint_float_vs_double);
    tcase_add_test(tc, test_float_math);
    tcase_add_test(tc, test_bern_row);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
