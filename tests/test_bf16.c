/* test_bf16.c: the bf16 gradient kernels (decoder.h: "amx", "avx512bf16"; docs/math.md#bf16-leapfrog-gradients)
 * against the fp32 kernel: gradients at bf16 level on the paper's shape and on odd shapes (every padding
 * and tail), values close; bit-identical results for any thread count and any place of a row in its
 * call (the exactness argument needs a deterministic function of each row); packs remade when the weights
 * change; and, through HMC, energies bit-identical to fp32 while only the leapfrog uses bf16. A kernel this
 * CPU cannot run is skipped, saying so. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/ais_model.h"
#include "core/decoder.h"
#include "core/hmc.h"
#include "core/model.h"
#include "skip.h"

static int n_bf16;

static const aw_shape_t paper = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};

static aw_model_ws_t *ws_on(const aw_dec_kernel_t *k, const aw_shape_t *sh, int B, int N)
{
    aw_model_ws_t *ws = aw_model_ws_new(sh, B, N);
    ck_assert_ptr_nonnull(ws);
    if (k == NULL || aw_model_ws_set_kernel(ws, k) == 0)
        return ws;
    aw_model_ws_free(ws);
    return NULL;
}

/* A model with its initialization's weights, biases ~ U(-1, 1) scaled; x binary (p 0.3), h ~ N(0, 1). */
static void setup(aw_model_t *m, const aw_shape_t *sh, unsigned seed, int B, int N, float *x, float *h)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, seed, 0);
    ck_assert_int_eq(aw_model_init(m, sh, &rng, NULL), 0);
    for (int i = 0; i < B * sh->D; i++)
        x[i] = (float)(aw_rng_uniform(&rng) < 0.3);
    for (int i = 0; i < N * sh->H; i++)
        h[i] = (float)aw_rng_normal(&rng);
}

static const struct {
    aw_shape_t sh;
    int B, K;
} cases[] = {
    {{.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}}, 16, 20},
    {{.D = 33, .H = 7, .n_hidden = 3, .hidden = {37, 19, 50}}, 5, 13},
    {{.D = 1, .H = 1, .n_hidden = 1, .hidden = {9}}, 2, 16},
    {{.D = 65, .H = 3, .n_hidden = 4, .hidden = {8, 16, 1, 24}}, 1, 47},
    {{.D = 129, .H = 40, .n_hidden = 2, .hidden = {64, 100}}, 3, 100},
};

/* The gradient (and value) of each bf16 kernel against the fp32 kernel of this CPU: the relative error
 * of the gradient, |g - g32| / |g32| over all rows, at bf16 level (below 1%) yet not fp32's (above 2e-5:
 * the products are bf16); values within 0.5% of |log p|. */
START_TEST(test_vs_fp32)
{
    const int c = _i / n_bf16;
    const aw_dec_kernel_t *k = aw_dec_bf16_kernels[_i % n_bf16];
    const aw_shape_t *sh = &cases[c].sh;
    const int B = cases[c].B, K = cases[c].K, N = B * K, D = sh->D, H = sh->H;
    aw_model_ws_t *ws = ws_on(k, sh, B, N);
    if (ws == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", k->name);
    aw_model_ws_t *ref = ws_on(NULL, sh, B, N);
    aw_model_t m;
    float *x = malloc((size_t)B * D * sizeof *x), *h = malloc((size_t)N * H * sizeof *h);
    float *lp = malloc(N * sizeof *lp), *lr = malloc(N * sizeof *lr);
    float *g = malloc((size_t)N * H * sizeof *g), *gr = malloc((size_t)N * H * sizeof *gr);
    ck_assert(x && h && lp && lr && g && gr);
    setup(&m, sh, 10 + c, B, N, x, h);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, h, lp, g), 0);
    ck_assert_int_eq(aw_model_log_joint(&m, ref, x, B, K, h, lr, gr), 0);
    double num = 0, den = 0;
    for (int i = 0; i < N * H; i++) {
        num += ((double)g[i] - gr[i]) * ((double)g[i] - gr[i]);
        den += (double)gr[i] * gr[i];
    }
    const double gerr = sqrt(num / den);
    double verr = 0;
    for (int n = 0; n < N; n++)
        verr = fmax(verr, fabs((double)lp[n] - lr[n]) / fabs((double)lr[n]));
    if (!(gerr < 1e-2 && gerr > 2e-5 && verr < 5e-3))
        ck_abort_msg("case %d, kernel %s: gradient relative error %.2e (want 2e-5..1e-2), value %.2e", c,
                     k->name, gerr, verr);
    aw_model_ws_free(ws);
    aw_model_ws_free(ref);
    free(x), free(h), free(lp), free(lr), free(g), free(gr);
    aw_model_fini(&m);
}
END_TEST

/* Bit-identical for 1, 2 and 3 threads and for rows shifted by 5 places in their call. */
START_TEST(test_invariance)
{
    const aw_dec_kernel_t *k = aw_dec_bf16_kernels[_i];
    enum { N = 301, H = 50, D = 784 };
    aw_model_ws_t *probe = ws_on(k, &paper, N, N);
    if (probe == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", k->name);
    aw_model_ws_free(probe);
    aw_model_t m;
    float *x = malloc((size_t)N * D * sizeof *x), *h = malloc((size_t)N * H * sizeof *h);
    float *lp[4], *gh[4];
    ck_assert(x && h);
    setup(&m, &paper, 5, N, N, x, h);
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 4; t++) {
        lp[t] = malloc(N * sizeof *lp[t]);
        gh[t] = malloc((size_t)N * H * sizeof *gh[t]);
        ck_assert(lp[t] && gh[t]);
        aw_model_ws_t *ws = ws_on(k, &paper, N, N);
        if (t < 3) {
            omp_set_num_threads(t + 1);
            aw_model_dec_loglik(&m, ws, x, 1, h, N, lp[t], AW_LOGLIK_PRIOR, gh[t]);
        } else {
            omp_set_num_threads(2);
            aw_model_dec_loglik(&m, ws, x + 5 * D, 1, h + 5 * H, N - 5, lp[t] + 5, AW_LOGLIK_PRIOR,
                                gh[t] + 5 * H);
        }
        aw_model_ws_free(ws);
    }
    omp_set_num_threads(saved);
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(memcmp(lp[t], lp[0], N * sizeof *lp[0]) == 0, "%s: values differ on %d threads", k->name,
                      t + 1);
        ck_assert_msg(memcmp(gh[t], gh[0], (size_t)N * H * sizeof *gh[0]) == 0, "%s: grad differs on %d threads",
                      k->name, t + 1);
    }
    ck_assert_msg(memcmp(gh[3] + 5 * H, gh[0] + 5 * H, (size_t)(N - 5) * H * sizeof *gh[0]) == 0,
                  "%s: a row's gradient depends on its place in the call", k->name);
    ck_assert(memcmp(lp[3] + 5, lp[0] + 5, (N - 5) * sizeof *lp[0]) == 0);
    /* A gradient-only call (the leapfrog's) gives the same gradient bit for bit. */
    aw_model_ws_t *ws = ws_on(k, &paper, N, N);
    aw_model_dec_loglik(&m, ws, x, 1, h, N, lp[1], AW_LOGLIK_PRIOR | AW_LOGLIK_GRAD_ONLY, gh[1]);
    aw_model_ws_free(ws);
    ck_assert_msg(memcmp(gh[1], gh[0], (size_t)N * H * sizeof *gh[0]) == 0, "%s: the gradient-only call differs",
                  k->name);
    for (int t = 0; t < 4; t++)
        free(lp[t]), free(gh[t]);
    free(x), free(h);
    aw_model_fini(&m);
}
END_TEST

/* The packed bf16 weights are remade when a decoder weight changes: every call equals a fresh one. */
START_TEST(test_scratch_reuse)
{
    const aw_dec_kernel_t *k = aw_dec_bf16_kernels[_i];
    const aw_shape_t sh = {.D = 60, .H = 5, .n_hidden = 2, .hidden = {30, 20}};
    enum { B = 3, K = 20, N = B * K, D = 60, H = 5 };
    aw_model_ws_t *ws = ws_on(k, &sh, B, N);
    if (ws == NULL)
        AW_SKIP("kernel %s cannot run on this CPU", k->name);
    aw_model_t m;
    float x[B * D], h[N * H], a[N], b[N], ga[N * H], gb[N * H];
    setup(&m, &sh, 7, B, N, x, h);
    for (int step = 0; step < 3; step++) {
        if (step == 1)
            m.dec[0].W[3] += 0.25f;
        if (step == 2)
            m.dec[sh.n_hidden].b[D - 1] -= 0.5f;
        aw_model_dec_loglik(&m, ws, x, K, h, N, a, AW_LOGLIK_PRIOR, ga);
        aw_model_ws_t *fresh = ws_on(k, &sh, B, N);
        aw_model_dec_loglik(&m, fresh, x, K, h, N, b, AW_LOGLIK_PRIOR, gb);
        aw_model_ws_free(fresh);
        ck_assert_msg(memcmp(a, b, sizeof a) == 0 && memcmp(ga, gb, sizeof ga) == 0, "step %d: stale packs",
                      step);
    }
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* HMC on the VAE model with the bf16 leapfrog gradient: after transitions, every chain's cached log p is
 * bit-identical to the fp32 kernel's value at its state (energies and Metropolis tests in fp32), the
 * cached gradient is the bf16 kernel's at that state, and chains move with a sane acceptance rate. */
START_TEST(test_hmc_energies_fp32)
{
    enum { B = 8, K = 4, N = B * K, H = 50, D = 784 };
    aw_model_ws_t *ws = ws_on(NULL, &paper, B, N), *wg = ws_on(NULL, &paper, B, N);
    if (aw_model_ws_use_bf16(wg) == NULL) {
        aw_model_ws_free(ws);
        aw_model_ws_free(wg);
        AW_SKIP("this CPU has neither AMX nor AVX512-BF16");
    }
    aw_model_t m;
    float *x = malloc((size_t)B * D * sizeof *x), *h = malloc((size_t)N * H * sizeof *h);
    float mu[B * H], ls[B * H], lp[N], g[N * H];
    ck_assert(x && h);
    setup(&m, &paper, 3, B, N, x, h);
    ck_assert_int_eq(aw_model_encode(&m, ws, x, B, mu, ls), 0);
    aw_ais_model_ctx_t ctx = {.m = &m, .ws = ws, .ws_grad = wg, .x = x, .B = B, .K = K};
    aw_hmc_target_t tg = {.B = B, .K = K, .mu = mu, .logsig = ls, .log_joint = aw_ais_model_log_joint,
                          .ctx = &ctx};
    aw_ais_model_bind_grad(&tg, &ctx);
    aw_hmc_t s;
    aw_error_t err;
    aw_rng_t rng;
    aw_rng_seed(&rng, 4, 0);
    ck_assert_int_eq(aw_hmc_init(&s, N, H, &err), 0);
    ck_assert_int_eq(aw_hmc_start(&s, &tg, &rng, &err), 0);
    ck_assert_int_eq(s.n_calls, 2);
    const float e = 0.05f;
    int acc_total = 0;
    for (int t = 0; t < 4; t++) {
        int acc;
        ck_assert_int_eq(aw_hmc_transition(&s, 0.7, &e, 0, 3, &rng, &acc, &err), 0);
        acc_total += acc;
    }
    ck_assert_int_eq(s.n_calls, 2 + 4 * (3 + 1));
    ck_assert_int_gt(acc_total, N);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, s.h, lp, NULL), 0);
    ck_assert_msg(memcmp(lp, s.logp, sizeof lp) == 0, "cached energies are not the fp32 values");
    ck_assert_int_eq(aw_model_log_joint(&m, wg, x, B, K, s.h, lp, g), 0);
    ck_assert_msg(memcmp(g, s.grad, sizeof g) == 0, "cached gradient is not the bf16 kernel's");
    aw_hmc_fini(&s);
    aw_model_ws_free(ws);
    aw_model_ws_free(wg);
    free(x), free(h);
    aw_model_fini(&m);
}
END_TEST

/* The one-line kernel description names an fp32 kernel and says what bf16 gets. */
START_TEST(test_describe)
{
    char line[200];
    aw_model_kernels_describe(line, sizeof line);
    ck_assert_msg(strncmp(line, "fp32 ", 5) == 0 && strstr(line, ", bf16 ") != NULL, "got '%s'", line);
    aw_model_ws_t *ws = ws_on(NULL, &paper, 1, 1);
    const char *name = aw_model_ws_use_bf16(ws);
    ck_assert(name == NULL ? strstr(line, "bf16 none") != NULL : strstr(line, name) != NULL);
    aw_model_ws_free(ws);
}
END_TEST

int main(void)
{
    while (aw_dec_bf16_kernels[n_bf16] != NULL)
        n_bf16++;
    Suite *su = suite_create("bf16");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 120);
    if (n_bf16 > 0) {
        tcase_add_loop_test(tc, test_vs_fp32, 0, n_bf16 * (int)(sizeof cases / sizeof cases[0]));
        tcase_add_loop_test(tc, test_invariance, 0, n_bf16);
        tcase_add_loop_test(tc, test_scratch_reuse, 0, n_bf16);
    }
    tcase_add_test(tc, test_hmc_energies_fp32);
    tcase_add_test(tc, test_describe);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
