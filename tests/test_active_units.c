/* test_active_units.c: the active_units estimator on a model whose encoder means are constant in some
 * latent units (their weights zeroed) and vary in the others: the exact count, the per-unit variances
 * against a direct computation, another threshold, and the errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "core/model.h"
#include "methods/plugin.h"

enum { D = 30, H = 6, N = 200 };

/* A model whose mu-head rows for units 0, 2 and 4 are zero (constant mean: the bias) and x [N,D]. */
static void dead_units_model(aw_model_t *m, float *x)
{
    const aw_shape_t sh = {.D = D, .H = H, .n_hidden = 2, .hidden = {16, 12}};
    aw_rng_t r;
    aw_rng_seed(&r, 81, 0);
    ck_assert_int_eq(aw_model_init(m, &sh, &r, NULL), 0);
    aw_layer_t *head = &m->enc[sh.n_hidden];
    for (int j = 0; j < H; j += 2)
        memset(head->W + (size_t)j * head->in, 0, (size_t)head->in * sizeof *head->W);
    for (int i = 0; i < N * D; i++)
        x[i] = aw_rng_uniform(&r) < 0.3f ? 1.0f : 0.0f;
}

START_TEST(test_exact_count)
{
    const aw_estimator_ops_t *au = test_estimator("active_units");
    aw_model_t m;
    float *x = malloc(sizeof(float) * N * D);
    ck_assert_ptr_nonnull(x);
    dead_units_model(&m, x);
    ck_assert_int_eq(au->n_values(&m), H);
    aw_cfg_t c;
    test_cfg(&au->settings, &c, (const char *const[]){"threshold=1e-12", NULL});
    const aw_eval_ctx_t ctx = {.batch = 64}; /* several encoder passes, the last one short */
    aw_error_t err;
    double var[H], value, se;
    ck_assert_int_eq(au->eval(c.bytes, &ctx, &m, x, N, NULL, var, &err), 0);
    /* The direct computation of Var_x mu_j(x) over all points at once. */
    float *mu = malloc(sizeof(float) * N * H), *ls = malloc(sizeof(float) * N * H);
    aw_model_ws_t *ws = aw_model_ws_new(&m.shape, N, N);
    ck_assert(mu && ls && ws);
    ck_assert_int_eq(aw_model_encode(&m, ws, x, N, mu, ls), 0);
    for (int j = 0; j < H; j++) {
        double mean = 0, ss = 0;
        for (int i = 0; i < N; i++)
            mean += mu[i * H + j] / (double)N;
        for (int i = 0; i < N; i++)
            ss += (mu[i * H + j] - mean) * (mu[i * H + j] - mean);
        if (j % 2 == 0)
            ck_assert_msg(var[j] == 0.0, "unit %d: constant mean, variance %g", j, var[j]);
        else
            ck_assert_double_eq_tol(var[j], ss / (N - 1), 1e-9 + 1e-6 * var[j]);
    }
    au->summarize(c.bytes, var, H, &value, &se);
    ck_assert_double_eq(value, 3);
    ck_assert_double_eq(se, 0);
    /* A threshold above every variance: none active; between: the count changes with it. */
    double mx = 0;
    for (int j = 1; j < H; j += 2)
        mx = fmax(mx, var[j]);
    char t[64];
    snprintf(t, sizeof t, "threshold=%.9g", mx * 1.01);
    test_cfg(&au->settings, &c, (const char *const[]){t, NULL});
    au->summarize(c.bytes, var, H, &value, &se);
    ck_assert_double_eq(value, 0);
    aw_model_ws_free(ws);
    free(mu);
    free(ls);
    free(x);
    aw_model_fini(&m);
}
END_TEST

START_TEST(test_errors)
{
    const aw_estimator_ops_t *au = test_estimator("active_units");
    aw_model_t m;
    float *x = malloc(sizeof(float) * N * D);
    ck_assert_ptr_nonnull(x);
    dead_units_model(&m, x);
    aw_cfg_t c;
    test_cfg(&au->settings, &c, NULL);
    float th;
    memcpy(&th, c.bytes + aw_keys_find(au->settings.keys, "threshold")->offset, sizeof th);
    ck_assert_float_eq(th, 0.01f); /* the IWAE paper's */
    aw_error_t err;
    double var[H];
    const aw_eval_ctx_t ctx = {.batch = 64};
    ck_assert_int_eq(au->eval(c.bytes, &ctx, &m, x, 1, NULL, var, &err), AW_EARG);
    const aw_eval_ctx_t bad = {.batch = 0};
    ck_assert_int_eq(au->eval(c.bytes, &bad, &m, x, N, NULL, var, &err), AW_ESPEC);
    ck_assert_int_eq(aw_settings_set(&au->settings, c.bytes, "threshold", "0", &err), AW_ESPEC);
    free(x);
    aw_model_fini(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("active_units");
    TCase *tc = tcase_create("units");
    tcase_add_test(tc, test_exact_count);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
