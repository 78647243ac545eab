/* test_adam.c: Adam steps against a hand-computed trajectory, its checkpoint bytes, and Burda's schedule. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/adam.h"

START_TEST(test_three_steps)
{
    aw_adam_t a;
    ck_assert_int_eq(aw_adam_init(&a, 3, 0.9f, 0.999f, 1e-4f, NULL), 0);
    float p[3] = {1.0f, -2.0f, 0.5f};
    const float g[3][3] = {{0.5f, -1.0f, 0.0f}, {0.25f, 2.0f, 0.0f}, {-0.5f, 1.0f, 1e-3f}};
    const float lr = 0.01f;
    /* Step 1 by hand: mhat = g, vhat = g^2, so p -= lr * g / (|g| + eps). */
    aw_adam_step(&a, p, g[0], lr);
    ck_assert_int_eq(a.t, 1);
    ck_assert_double_eq_tol(p[0], 1.0 - 0.01 * 0.5 / (0.5 + 1e-4), 1e-7);
    ck_assert_double_eq_tol(p[1], -2.0 + 0.01 * 1.0 / (1.0 + 1e-4), 1e-7);
    ck_assert_float_eq(p[2], 0.5f);
    /* Steps 2 and 3: the textbook recursion in double. */
    double m[3] = {0}, v[3] = {0}, q[3] = {1.0, -2.0, 0.5};
    for (int t = 1; t <= 3; t++)
        for (int i = 0; i < 3; i++) {
            /* The hyper-parameters as the float values the optimizer stores. */
            const double b1 = 0.9f, b2 = 0.999f;
            m[i] = b1 * m[i] + (1 - b1) * g[t - 1][i];
            v[i] = b2 * v[i] + (1 - b2) * g[t - 1][i] * g[t - 1][i];
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            q[i] -= 0.01 * mh / (sqrt(vh) + 1e-4);
        }
    aw_adam_step(&a, p, g[1], lr);
    aw_adam_step(&a, p, g[2], lr);
    /* Hand values of step 2 for p[0]: m = 0.9*0.05 + 0.025 = 0.07, v = 0.999*2.5e-4 + 6.25e-5 = 3.1225e-4. */
    ck_assert_double_eq_tol(m[0], 0.9 * 0.07 - 0.05, 1e-8);
    for (int i = 0; i < 3; i++) {
        ck_assert_double_eq_tol(p[i], q[i], 2e-6);
        ck_assert_double_eq_tol(a.m[i], m[i], 1e-7);
        ck_assert_double_eq_tol(a.v[i], v[i], 1e-6 * v[i] + 1e-12);
    }
    ck_assert_int_eq(a.t, 3);
    aw_adam_fini(&a);
    aw_adam_fini(&a);
}
END_TEST

/* A long vector goes through the parallel path and matches the scalar formula element by element. */
START_TEST(test_parallel_path)
{
    enum { n = 100003 };
    aw_adam_t a;
    ck_assert_int_eq(aw_adam_init(&a, n, 0.9f, 0.999f, 1e-4f, NULL), 0);
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    ck_assert(p && g);
    for (int i = 0; i < n; i++) {
        p[i] = (float)i / n;
        g[i] = (float)((i % 7) - 3) / 3.0f;
    }
    aw_adam_step(&a, p, g, 1e-3f);
    for (int i = 0; i < n; i++) {
        double want = (double)i / n - (g[i] ? 1e-3 * g[i] / (fabs(g[i]) + 1e-4) : 0);
        ck_assert_double_eq_tol(p[i], want, 2e-7);
    }
    free(p);
    free(g);
    aw_adam_fini(&a);
}
END_TEST

START_TEST(test_save_load)
{
    aw_adam_t a, b, c;
    ck_assert_int_eq(aw_adam_init(&a, 5, 0.9f, 0.999f, 1e-4f, NULL), 0);
    ck_assert_int_eq(aw_adam_init(&b, 5, 0.9f, 0.999f, 1e-4f, NULL), 0);
    ck_assert_int_eq(aw_adam_init(&c, 4, 0.9f, 0.999f, 1e-4f, NULL), 0);
    float p[5] = {0}, g[5] = {1, -2, 3, -4, 5};
    aw_adam_step(&a, p, g, 0.1f);
    aw_adam_step(&a, p, g, 0.1f);
    size_t n = aw_adam_state_bytes(&a);
    ck_assert_uint_eq(n, 24 + 2 * 5 * 4);
    uint8_t *buf = malloc(n);
    ck_assert_ptr_nonnull(buf);
    aw_adam_save(&a, buf);
    aw_error_t err;
    ck_assert_int_eq(aw_adam_load(&b, buf, n, &err), 0);
    ck_assert_int_eq(b.t, 2);
    ck_assert_int_eq(memcmp(a.m, b.m, sizeof p), 0);
    ck_assert_int_eq(memcmp(a.v, b.v, sizeof p), 0);
    /* Same next step from both. */
    float p2[5];
    memcpy(p2, p, sizeof p);
    aw_adam_step(&a, p, g, 0.1f);
    aw_adam_step(&b, p2, g, 0.1f);
    ck_assert_int_eq(memcmp(p, p2, sizeof p), 0);
    /* Errors: size for another n, truncated buffer, bad magic. b stays unchanged. */
    ck_assert_int_eq(aw_adam_load(&c, buf, n, &err), AW_EFORMAT);
    ck_assert_int_eq(aw_adam_load(&b, buf, n - 1, &err), AW_EFORMAT);
    buf[0] ^= 1;
    ck_assert_int_eq(aw_adam_load(&b, buf, n, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "magic"));
    ck_assert_int_eq(b.t, 3);
    free(buf);
    aw_adam_fini(&a);
    aw_adam_fini(&b);
    aw_adam_fini(&c);
}
END_TEST

START_TEST(test_init_errors)
{
    aw_adam_t a;
    aw_error_t err;
    ck_assert_int_eq(aw_adam_init(&a, 0, 0.9f, 0.999f, 1e-4f, &err), AW_EARG);
    ck_assert_int_eq(aw_adam_init(&a, 3, 1.0f, 0.999f, 1e-4f, &err), AW_EARG);
    ck_assert_int_eq(aw_adam_init(&a, 3, 0.9f, -0.1f, 1e-4f, &err), AW_EARG);
    ck_assert_int_eq(aw_adam_init(&a, 3, 0.9f, 0.999f, 0.0f, &err), AW_EARG);
    ck_assert_ptr_null(a.m);
}
END_TEST

START_TEST(test_burda_schedule)
{
    /* Stage i covers 3^i epochs: 0 | 1..3 | 4..12 | 13..39 | 40..120 | ... | 1093..3279, then stays at 7. */
    const struct {
        int64_t epoch;
        int stage;
    } cases[] = {{0, 0}, {1, 1}, {3, 1}, {4, 2}, {12, 2}, {13, 3}, {39, 3}, {40, 4}, {120, 4}, {121, 5},
                 {363, 5}, {364, 6}, {1092, 6}, {1093, 7}, {3279, 7}, {3280, 7}, {100000, 7}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double want = 1e-3 * pow(10.0, -cases[i].stage / 7.0);
        ck_assert_msg(fabs(aw_lr_burda(1e-3f, cases[i].epoch) - want) < 1e-6 * want, "epoch %lld",
                      (long long)cases[i].epoch);
    }
    ck_assert_float_eq_tol(aw_lr_burda(1e-3f, 0), 1e-3f, 1e-10f);
    ck_assert_float_eq_tol(aw_lr_burda(1e-3f, 3279), 1e-4f, 1e-10f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("adam");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_three_steps);
    tcase_add_test(tc, test_parallel_path);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_init_errors);
    tcase_add_test(tc, test_burda_schedule);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
