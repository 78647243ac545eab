/* test_methods.c: the plugin table and its settings tables; the vae / iwae methods and the iwae_bound
 * estimator through their ops (training, checkpoints, config errors, the bound against a direct
 * computation). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "core/model.h"
#include "core/model_ws.h"
#include "methods/plugin.h"
#include "methods/step_size.h"
#include "util/fmtnum.h"
#include "util/sbuf.h"

/* ---- the tables ---- */

START_TEST(test_table_rows)
{
    /* Every row is complete: name, doc, a settings table that fits AW_CFG_MAX and whose defaults pass
     * their own rules, and the fields callers ask for. */
    int nm = 0, ne = 0;
    for (const aw_method_ops_t *m; (m = aw_method_at(nm)) != NULL; nm++) {
        ck_assert_ptr_eq(aw_method_find(m->name), m);
        ck_assert_int_eq(aw_method_index(m), nm);
        ck_assert(m->doc != NULL && m->label != NULL && m->create != NULL && m->step != NULL);
        ck_assert(m->batch_size >= 1 && m->settings.size <= AW_CFG_MAX);
        ck_assert(aw_keys_find(m->settings.keys, "samples") != NULL);
        aw_cfg_t c;
        test_cfg(&m->settings, &c, NULL);
        char label[64];
        m->label(c.bytes, label, sizeof label);
        ck_assert(label[0] != '\0');
    }
    for (const aw_estimator_ops_t *e; (e = aw_estimator_at(ne)) != NULL; ne++) {
        ck_assert_ptr_eq(aw_estimator_find(e->name), e);
        ck_assert(e->doc != NULL && e->eval != NULL && e->batch >= 1 && e->settings.size <= AW_CFG_MAX);
        ck_assert_ptr_nonnull(aw_estimator_for_table(e->table));
    }
    ck_assert_int_eq(nm, 3);
    ck_assert_int_ge(ne, 2);
    ck_assert_ptr_nonnull(aw_estimator_find("iwae_bound"));
    ck_assert_ptr_nonnull(aw_estimator_find("ais_nll"));
    ck_assert_ptr_null(aw_method_find("nope"));
    ck_assert_ptr_null(aw_estimator_for_table("nope"));
    const char *const *names = aw_method_names();
    ck_assert_str_eq(names[0], "vae");
    ck_assert_str_eq(names[2], "aiwae");
    ck_assert_ptr_null(names[3]);
}
END_TEST

START_TEST(test_settings_text)
{
    const aw_estimator_ops_t *ais = test_estimator("ais_nll");
    aw_cfg_t c;
    test_cfg(&ais->settings, &c, (const char *const[]){"chains=4", "schedule=sigmoid", "step_size.min=1e-07", NULL});
    aw_sbuf_t b = {0};
    aw_settings_write_flow(ais->settings.keys, c.bytes, &b);
    char *flow = aw_sbuf_finish(&b);
    ck_assert_str_eq(flow, "chains: 4, temperatures: 10000, leapfrog: 10, schedule: sigmoid, step_size: {init: 0.1, "
                           "min: 1.0e-07, max: 10, target_accept: 0.6}");
    free(flow);
    aw_sbuf_t k = {0};
    aw_settings_write_block(ais->settings.keys, c.bytes, &k, "  ", 0, NULL, NULL);
    char *block = aw_sbuf_finish(&k);
    ck_assert_str_eq(block, "  chains: 4\n  temperatures: 10000\n  leapfrog: 10\n  schedule: sigmoid\n  step_size:\n"
                            "    init: 0.1\n    min: 1.0e-07\n    max: 10\n    target_accept: 0.6\n");
    free(block);
    int v;
    ck_assert(aw_settings_int(&ais->settings, c.bytes, "schedule", &v) && v == 1);
    ck_assert(!aw_settings_int(&ais->settings, c.bytes, "samples", &v));
    aw_error_t err;
    ck_assert_int_eq(aw_settings_set(&ais->settings, c.bytes, "schedule", "cosine", &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "schedule: expected one of linear, sigmoid, found \"cosine\"");
    ck_assert_int_eq(aw_settings_set(&ais->settings, c.bytes, "temperatures", "1", &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "temperatures: expected an integer >= 2, found \"1\"");
    ck_assert_int_eq(aw_settings_set(&ais->settings, c.bytes, "step_size.max", "nan", &err), AW_ESPEC);
    ck_assert_int_eq(aw_settings_set(&ais->settings, c.bytes, "nope", "1", &err), AW_ESPEC);
    /* The rule min <= init <= max: the init was not given, so the bound that was is blamed. */
    ck_assert_int_eq(aw_settings_set(&ais->settings, c.bytes, "step_size.max", "0.05", &err), 0);
    ck_assert_int_eq(aw_settings_validate(&ais->settings, c.bytes, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "step_size.max: expected a number >= init (0.1)");
}
END_TEST

/* Shortest text that reads back: an exponent only where the plain form is longer. */
START_TEST(test_float_text)
{
    static const struct {
        float v;
        const char *text;
    } cases[] = {{0.1f, "0.1"}, {10.0f, "10"}, {100.0f, "100"}, {1e-5f, "0.00001"}, {1e-7f, "1.0e-07"},
                 {3.4e38f, "3.4e+38"}, {0.6f, "0.6"}, {1.17549435e-38f, "1.1754944e-38"}, {0.0f, "0"},
                 {-2.5f, "-2.5"}, {123456.0f, "123456"}, {1e15f, "1.0e+15"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[32];
        aw_fmt_float(cases[i].v, t);
        ck_assert_str_eq(t, cases[i].text);
        ck_assert(strtof(t, NULL) == cases[i].v);
    }
    char d[32];
    aw_fmt_double(0.30000000000000004, d);
    ck_assert_str_eq(d, "0.30000000000000004");
}
END_TEST

START_TEST(test_step_size_rule)
{
    typedef struct {
        aw_step_cfg_t s;
        unsigned char given[4];
        const char *blame, *what;
    } case_t;
    const case_t cases[] = {
        {{0.1f, 0.02f, 0.3f, 0.6f}, {0}, NULL, NULL},
        {{0.1f, 0.5f, 0.3f, 0.6f}, {0, 1, 0, 0}, "step_size.min", "a number <= max (0.3)"},
        {{0.1f, 0.5f, 0.3f, 0.6f}, {0, 1, 1, 0}, "step_size.max", "a number >= min (0.5)"},
        {{0.5f, 0.02f, 0.3f, 0.6f}, {1, 0, 0, 0}, "step_size.init", "a number in [min, max] = [0.02, 0.3]"},
        {{0.1f, 0.2f, 0.3f, 0.6f}, {0, 1, 0, 0}, "step_size.min", "a number <= init (0.1)"},
    };
    static const aw_key_t tk[] = {{.key = "step_size.init"}, {.key = "step_size.min"}, {.key = "step_size.max"},
                                  {.key = "step_size.target_accept"}, {0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aw_check_t c = {.keys = tk, .given = cases[i].given};
        int rc = aw_step_size_check(&cases[i].s, &c);
        if (cases[i].blame == NULL) {
            ck_assert_int_eq(rc, 0);
            continue;
        }
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(c.blame, cases[i].blame);
        ck_assert_str_eq(c.what, cases[i].what);
    }
}
END_TEST

/* ---- the methods through their plugin tables ---- */

static float *binary_data(aw_rng_t *rng, int n, int D)
{
    float *x = malloc((size_t)n * D * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < n * D; i++) /* a few prototypes plus noise, so there is something to learn */
        x[i] = aw_rng_uniform(rng) < (((i / D) % 3 == (i % D) % 3) ? 0.9 : 0.1);
    return x;
}

START_TEST(test_methods_train_and_checkpoint)
{
    const aw_shape_t sh = {.D = 30, .H = 4, .n_hidden = 2, .hidden = {16, 12}};
    const aw_method_ops_t *ops[2] = {test_method("vae"), test_method("iwae")};
    for (int o = 0; o < 2; o++) {
        aw_rng_t rng;
        aw_rng_seed(&rng, 5, 0);
        aw_model_t m;
        ck_assert_int_eq(aw_model_init(&m, &sh, &rng, NULL), 0);
        aw_cfg_t cfg;
        test_cfg(&ops[o]->settings, &cfg, (const char *const[]){o ? "samples=5" : "samples=1", NULL});
        void *st;
        aw_error_t err;
        ck_assert_int_eq(ops[o]->create(cfg.bytes, &test_adam, &m, 16, &st, &err), 0);
        float *x = binary_data(&rng, 16, sh.D);
        aw_step_stats_t stats;
        double first = 0, last = 0;
        for (int it = 0; it < 300; it++) {
            ck_assert_int_eq(ops[o]->step(st, &m, x, 16, 3e-3f, &rng, &stats, &err), 0);
            ck_assert(isfinite(stats.loss) && stats.n_temps == 0);
            if (it < 20)
                first += stats.loss / 20;
            if (it >= 280)
                last += stats.loss / 20;
        }
        printf("  %s: loss %.3f -> %.3f over 300 steps\n", ops[o]->name, first, last);
        ck_assert(last < first - 1.0);
        /* Checkpoint: save, take two steps, restore into a fresh state and the same params -> same result. */
        size_t nb = ops[o]->state_bytes(st);
        uint8_t *buf = malloc(nb);
        ck_assert_ptr_nonnull(buf);
        ops[o]->save(st, buf);
        float *p0 = malloc(m.n_params * sizeof *p0), *p1 = malloc(m.n_params * sizeof *p1);
        ck_assert(p0 && p1);
        memcpy(p0, m.params, m.n_params * sizeof *p0);
        aw_rng_t r0 = rng;
        for (int it = 0; it < 2; it++)
            ck_assert_int_eq(ops[o]->step(st, &m, x, 16, 1e-3f, &rng, &stats, &err), 0);
        memcpy(p1, m.params, m.n_params * sizeof *p1);
        void *st2;
        ck_assert_int_eq(ops[o]->create(cfg.bytes, &test_adam, &m, 16, &st2, &err), 0);
        ck_assert_int_eq(ops[o]->load(st2, buf, nb, &err), 0);
        ck_assert_int_eq(ops[o]->load(st2, buf, nb - 1, &err), AW_EFORMAT);
        memcpy(m.params, p0, m.n_params * sizeof *p0);
        rng = r0;
        for (int it = 0; it < 2; it++)
            ck_assert_int_eq(ops[o]->step(st2, &m, x, 16, 1e-3f, &rng, &stats, &err), 0);
        ck_assert_int_eq(memcmp(p1, m.params, m.n_params * sizeof *p1), 0);
        /* Non-finite loss: AW_ENUMERIC and parameters unchanged. */
        m.dec[sh.n_hidden].b[0] = NAN;
        memcpy(p1, m.params, m.n_params * sizeof *p1);
        ck_assert_int_eq(ops[o]->step(st2, &m, x, 16, 1e-3f, &rng, &stats, &err), AW_ENUMERIC);
        ck_assert_int_eq(memcmp(p1, m.params, m.n_params * sizeof *p1), 0);
        ck_assert_int_eq(ops[o]->step(st2, &m, x, 17, 1e-3f, &rng, &stats, &err), AW_EARG);
        ops[o]->destroy(st);
        ops[o]->destroy(st2);
        free(buf);
        free(p0);
        free(p1);
        free(x);
        aw_model_fini(&m);
    }
}
END_TEST

START_TEST(test_method_config_errors)
{
    const aw_shape_t sh = {.D = 8, .H = 2, .n_hidden = 1, .hidden = {4}};
    aw_rng_t rng;
    aw_rng_seed(&rng, 5, 0);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &sh, &rng, NULL), 0);
    const aw_method_ops_t *vae = test_method("vae"), *iwae = test_method("iwae");
    aw_cfg_t cfg;
    test_cfg(&iwae->settings, &cfg, (const char *const[]){"samples=5", NULL});
    void *st = NULL;
    aw_error_t err;
    /* A config struct that did not come from a spec is checked against the table all the same. */
    ck_assert_int_eq(vae->create(cfg.bytes, &test_adam, &m, 4, &st, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "method vae: samples: expected 1 (method vae draws one sample), found 5");
    ck_assert_int_eq(aw_settings_set(&iwae->settings, cfg.bytes, "samples", "0", &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "samples: expected an integer >= 1, found \"0\"");
    int zero = 0;
    memcpy(cfg.bytes, &zero, sizeof zero);
    ck_assert_int_eq(iwae->create(cfg.bytes, &test_adam, &m, 4, &st, &err), AW_ESPEC);
    test_cfg(&iwae->settings, &cfg, (const char *const[]){"samples=1", NULL}); /* K = 1 IWAE is allowed */
    ck_assert_int_eq(iwae->create(cfg.bytes, &test_adam, &m, 4, &st, &err), 0);
    iwae->destroy(st);
    const aw_adam_cfg_t bad = {1.5f, 0.999f, 1e-4f};
    st = NULL;
    ck_assert_int_eq(iwae->create(cfg.bytes, &bad, &m, 4, &st, &err), AW_EARG);
    ck_assert_ptr_null(st);
    aw_model_fini(&m);
}
END_TEST

/* ---- the iwae_bound estimator ---- */

static const aw_shape_t bshape = {.D = 20, .H = 4, .n_hidden = 2, .hidden = {10, 10}};

/* With batch = n and S = 600 (chunks 250, 250, 100) the estimator equals -logmeanexp of log p - log q
 * with the noise of the same draws, computed here directly. */
START_TEST(test_bound_matches_direct)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, 9, 0);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &bshape, &rng, NULL), 0);
    enum { n = 3, S = 600, D = 20, H = 4 };
    float *x = binary_data(&rng, n, D);
    const aw_estimator_ops_t *bound = test_estimator("iwae_bound");
    aw_cfg_t cfg;
    test_cfg(&bound->settings, &cfg, (const char *const[]){"samples=600", NULL});
    const aw_eval_ctx_t ctx = {.batch = 4};
    aw_error_t err;
    double out[n];
    aw_rng_t r0 = rng;
    ck_assert_int_eq(bound->eval(cfg.bytes, &ctx, &m, x, n, &rng, out, &err), 0);
    /* Direct computation. */
    aw_model_ws_t *ws = aw_model_ws_new(&bshape, n, n * 250);
    ck_assert_ptr_nonnull(ws);
    float mu[n * H], ls[n * H];
    ck_assert_int_eq(aw_model_encode(&m, ws, x, n, mu, ls), 0);
    float *eps = malloc((size_t)n * 250 * H * sizeof *eps), *h = malloc((size_t)n * 250 * H * sizeof *h);
    float *lp = malloc((size_t)n * 250 * sizeof *lp);
    double *lw = malloc((size_t)n * S * sizeof *lw);
    ck_assert(eps && h && lp && lw);
    for (int s0 = 0; s0 < S; s0 += 250) {
        int K = S - s0 < 250 ? S - s0 : 250;
        aw_rng_fill_normal(&r0, eps, (size_t)n * K * H);
        for (int r = 0; r < n * K; r++)
            for (int j = 0; j < H; j++)
                h[r * H + j] = mu[(r / K) * H + j] + expf(ls[(r / K) * H + j]) * eps[r * H + j];
        ck_assert_int_eq(aw_model_log_joint(&m, ws, x, n, K, h, lp, NULL), 0);
        for (int r = 0; r < n * K; r++) {
            double lq = 0;
            for (int j = 0; j < H; j++)
                lq += -0.5 * eps[r * H + j] * eps[r * H + j] - ls[(r / K) * H + j] - 0.5 * log(2 * M_PI);
            lw[(r / K) * S + s0 + r % K] = lp[r] - lq;
        }
    }
    for (int i = 0; i < n; i++) {
        double mx = -INFINITY, se = 0;
        for (int s = 0; s < S; s++)
            mx = fmax(mx, lw[i * S + s]);
        for (int s = 0; s < S; s++)
            se += exp(lw[i * S + s] - mx);
        double want = -(mx + log(se / S));
        ck_assert_double_eq_tol(out[i], want, 1e-5 * fabs(want));
    }
    free(eps);
    free(h);
    free(lp);
    free(lw);
    free(x);
    aw_model_ws_free(ws);
    aw_model_fini(&m);
}
END_TEST

/* E[IWAE-S bound] does not increase with S. Paired differences over 200 points: each mean decrease must be
 * >= -5 standard errors, and the S=1 -> S=1000 gap > 5 standard errors (a plain average of log-weights,
 * whose mean does not depend on S, fails this). */
START_TEST(test_bound_monotone_in_s)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, 10, 0);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &bshape, &rng, NULL), 0);
    enum { n = 200, NS = 4 };
    const int S[NS] = {1, 10, 100, 1000};
    float *x = binary_data(&rng, n, 20);
    /* Stronger decoder weights: p(x|h) varies a lot with h, so the prior-like q is a poor proposal. */
    for (size_t i = m.dec_off; i < m.n_params; i++)
        m.params[i] *= 3.0f;
    double out[NS][n];
    aw_error_t err;
    const aw_estimator_ops_t *bound = test_estimator("iwae_bound");
    ck_assert_int_eq(bound->batch, 32);
    const aw_eval_ctx_t ctx = {.batch = bound->batch};
    for (int s = 0; s < NS; s++) {
        aw_cfg_t cfg;
        char kv[32];
        snprintf(kv, sizeof kv, "samples=%d", S[s]);
        test_cfg(&bound->settings, &cfg, (const char *const[]){kv, NULL});
        ck_assert_int_eq(bound->eval(cfg.bytes, &ctx, &m, x, n, &rng, out[s], &err), 0);
    }
    for (int s = 0; s + 1 < NS; s++) {
        double md = 0, m2 = 0;
        for (int i = 0; i < n; i++) {
            double d = out[s][i] - out[s + 1][i];
            md += d / n;
            m2 += d * d / n;
        }
        double se = sqrt((m2 - md * md) / (n - 1));
        printf("  bound S=%d -> S=%d: mean decrease %.4f (se %.4f)\n", S[s], S[s + 1], md, se);
        ck_assert(md > -5 * se);
    }
    double md = 0, m2 = 0;
    for (int i = 0; i < n; i++) {
        double d = out[0][i] - out[NS - 1][i];
        md += d / n;
        m2 += d * d / n;
    }
    ck_assert(md > 5 * sqrt((m2 - md * md) / (n - 1)));
    aw_cfg_t bad;
    test_cfg(&bound->settings, &bad, NULL);
    int samples;
    ck_assert(aw_settings_int(&bound->settings, bad.bytes, "samples", &samples) && samples == 5000);
    const int minus = -1;
    memcpy(bad.bytes, &minus, sizeof minus);
    ck_assert_int_eq(bound->eval(bad.bytes, &ctx, &m, x, n, &rng, out[0], &err), AW_ESPEC);
    free(x);
    aw_model_fini(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("methods");
    TCase *tt = tcase_create("tables");
    tcase_add_test(tt, test_table_rows);
    tcase_add_test(tt, test_settings_text);
    tcase_add_test(tt, test_step_size_rule);
    tcase_add_test(tt, test_float_text);
    suite_add_tcase(s, tt);
    TCase *tm = tcase_create("methods");
    tcase_set_timeout(tm, 120);
    tcase_add_test(tm, test_methods_train_and_checkpoint);
    tcase_add_test(tm, test_method_config_errors);
    tcase_add_test(tm, test_bound_matches_direct);
    tcase_add_test(tm, test_bound_monotone_in_s);
    suite_add_tcase(s, tm);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
