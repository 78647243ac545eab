/* test_rng.c: the generator's reproducibility, serialization and distributions. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"

#include "skip.h"

START_TEST(test_seed_reproducible)
{
    aw_rng_t a, b, c;
    aw_rng_seed(&a, 42, 0);
    aw_rng_seed(&b, 42, 0);
    aw_rng_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = aw_rng_next(&a), y = aw_rng_next(&b), z = aw_rng_next(&c);
        ck_assert_uint_eq(x, y);
        same_c += (x == z);
    }
    ck_assert_int_lt(same_c, 2);
}
END_TEST

START_TEST(test_save_load_roundtrip)
{
    aw_rng_t a, b;
    aw_rng_seed(&a, 7, 3);
    for (int i = 0; i < 17; i++)
        aw_rng_next(&a);
    uint8_t buf[AW_RNG_STATE_BYTES];
    aw_rng_save(&a, buf);
    ck_assert_int_eq(aw_rng_load(&b, buf), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(aw_rng_next(&a), aw_rng_next(&b));
    memset(buf, 0, sizeof buf);
    ck_assert_int_eq(aw_rng_load(&b, buf), -1);
}
END_TEST

/* Moments of bulk fills, with tolerances of 5 standard errors. */
START_TEST(test_normal_moments)
{
    size_t n = 1 << 20;
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    aw_rng_t r;
    aw_rng_seed(&r, 1, 0);
    aw_rng_fill_normal(&r, x, n);
    double m1 = 0, m2 = 0, m4 = 0, tail = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        m1 += v;
        m2 += v * v;
        m4 += v * v * v * v;
        tail += fabs(v) > 3.442619855899;
    }
    m1 /= n, m2 /= n, m4 /= n, tail /= n;
    ck_assert_double_lt(fabs(m1), 5.0 / sqrt((double)n));
    ck_assert_double_lt(fabs(m2 - 1.0), 5.0 * sqrt(2.0 / n));
    ck_assert_double_lt(fabs(m4 - 3.0), 5.0 * sqrt(96.0 / n));
    /* P(|Z| > r) = 5.76e-4: the ziggurat's tail path is exercised and right. */
    double p = 5.7617e-4;
    ck_assert_double_lt(fabs(tail - p), 5.0 * sqrt(p / n));
    free(x);
}
END_TEST

START_TEST(test_uniform_bernoulli)
{
    size_t n = 1 << 18;
    float *u = malloc(n * sizeof *u), *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(u);
    ck_assert_ptr_nonnull(p);
    aw_rng_t r;
    aw_rng_seed(&r, 2, 0);
    aw_rng_fill_uniform(&r, u, n);
    double m = 0;
    size_t out_of_range = 0;
    for (size_t i = 0; i < n; i++) {
        out_of_range += !(u[i] >= 0.0f && u[i] < 1.0f);
        m += u[i];
    }
    ck_assert_uint_eq(out_of_range, 0);
    m /= n;
    ck_assert_double_lt(fabs(m - 0.5), 5.0 * sqrt(1.0 / 12 / n));
    for (size_t i = 0; i < n; i++)
        p[i] = 0.3f;
    aw_rng_fill_bernoulli(&r, p, p, n);
    double k = 0;
    size_t not_binary = 0;
    for (size_t i = 0; i < n; i++) {
        not_binary += !(p[i] == 0.0f || p[i] == 1.0f);
        k += p[i];
    }
    ck_assert_uint_eq(not_binary, 0);
    k /= n;
    ck_assert_double_lt(fabs(k - 0.3), 5.0 * sqrt(0.21 / n));
    free(u);
    free(p);
}
END_TEST

/* The AVX-512 Bernoulli fill (eight blocks in eight lanes) gives the scalar fill's values, bit for bit,
 * for sizes that end inside a block, inside a group of eight values, and that leave a thread fewer than
 * eight blocks, on 1, 2 and 3 threads; and leaves the caller's generator where the scalar one does. */
START_TEST(test_bernoulli_vector_path)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq") ||
        !__builtin_cpu_supports("avx512vl"))
        AW_SKIP("this CPU lacks AVX-512 F/DQ/VL: the fills run their scalar version only");
#else
    AW_SKIP("the AVX-512 fills are built for x86-64 with GCC only");
#endif
    const size_t sizes[] = {1, 7, 8, AW_RNG_BLOCK, AW_RNG_BLOCK + 1, 2 * AW_RNG_BLOCK - 3, 8 * AW_RNG_BLOCK,
                            9 * AW_RNG_BLOCK + 5, 25 * AW_RNG_BLOCK - 3, 128 * 784};
    const size_t nmax = 128 * 784 > 25 * AW_RNG_BLOCK ? 128 * 784 : 25 * AW_RNG_BLOCK;
    float *p = malloc(nmax * sizeof *p), *a = malloc(nmax * sizeof *a), *b = malloc(nmax * sizeof *b);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    aw_rng_t g;
    aw_rng_seed(&g, 4, 1);
    for (size_t i = 0; i < nmax; i++) /* 0 and 1 exactly, and everything between */
        p[i] = i % 17 == 0 ? 0.0f : i % 17 == 1 ? 1.0f : (float)aw_rng_uniform(&g);
    for (int nt = 1; nt <= 3; nt++) {
        omp_set_num_threads(nt);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            const size_t n = sizes[s];
            aw_rng_t r1, r2;
            aw_rng_seed(&r1, 11, s);
            aw_rng_seed(&r2, 11, s);
            ck_assert_int_eq(aw_rng_set_vector(0), 1);
            aw_rng_fill_bernoulli(&r1, p, a, n);
            aw_rng_set_vector(1);
            memcpy(b, p, n * sizeof *b); /* in place, as aw_data_batch calls it */
            aw_rng_fill_bernoulli(&r2, b, b, n);
            ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "n = %zu, %d threads", n, nt);
            ck_assert_uint_eq(aw_rng_next(&r1), aw_rng_next(&r2));
        }
    }
    omp_set_num_threads(2);
    free(p);
    free(a);
    free(b);
}
END_TEST

/* Bulk fills give the same numbers whatever the OpenMP thread count. */
START_TEST(test_fill_thread_independent)
{
    size_t n = 5 * AW_RNG_BLOCK + 123;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    aw_rng_t r1, r2;
    aw_rng_seed(&r1, 9, 0);
    aw_rng_seed(&r2, 9, 0);
    omp_set_num_threads(1);
    aw_rng_fill_normal(&r1, a, n);
    omp_set_num_threads(2);
    aw_rng_fill_normal(&r2, b, n);
    ck_assert_int_eq(memcmp(a, b, n * sizeof *a), 0);
    ck_assert_uint_eq(aw_rng_next(&r1), aw_rng_next(&r2));
    free(a);
    free(b);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_seed_reproducible);
    tcase_add_test(tc, test_save_load_roundtrip);
    tcase_add_test(tc, test_normal_moments);
    tcase_add_test(tc, test_uniform_bernoulli);
    tcase_add_test(tc, test_fill_thread_independent);
    tcase_add_test(tc, test_bernoulli_vector_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rng_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
