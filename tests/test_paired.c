/* test_paired.c: aiwae-report's paired comparisons on a database built here with known per-point values:
 * --compare of two runs (points in common, the mean difference, its standard error, the interval) and the
 * --baseline block (replicates matched by repeat, the standard error over pairs). */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "report/paired.h"
#include "report/report_db.h"
#include "spec/spec.h"
#include "store/store.h"

static char dir[512], db[600];
static const char NLL[] = "{chains: 16, temperatures: 500, leapfrog: 10, schedule: linear, step_size: {init: 0.1, "
                          "min: 0.0001, max: 10, target_accept: 0.6}, size: 4, batch: 256}";

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
    snprintf(db, sizeof db, "%s/p.db", dir);
}

static void teardown(void)
{
    aw_fx_rmtree(dir);
}

/* A finished run of method (K samples) and repeat r whose ais_nll values at epoch 3 are v[4] (NaN: not
 * stored). Its identity goes into id. */
static void add_run(aw_store_t *s, const char *method, int r, const double *v, char id[65])
{
    char yaml[256];
    snprintf(yaml, sizeof yaml, "name: %s_%d\nmethod: {name: %s, samples: %d}\ntrain: {epochs: 3}\nrepeat: %d\n",
             method, r, method, strcmp(method, "vae") == 0 ? 1 : 5, r);
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_msg(aw_spec_load_string(yaml, "t.yaml", NULL, 0, &l, &err) == 0, "%s", err.msg);
    aw_store_run_info_t info = {l.runs[0].identity, l.runs[0].name, l.runs[0].canonical, 3, "host", "test"};
    aw_store_run_t row;
    ck_assert_int_eq(aw_store_run_upsert(s, &info, &row, NULL, &err), 0);
    aw_store_run_fini(&row);
    memcpy(id, l.runs[0].identity, 65);
    aw_spec_list_fini(&l);
    ck_assert_int_eq(aw_store_run_set_status(s, id, AW_RUN_FINISHED, NULL, &err), 0);
    aw_store_eval_key_t key = {id, "ais_nll", NLL, "test", 3};
    ck_assert_int_eq(aw_store_eval_begin(s, &key, 4, NULL, &err), 0);
    double sum = 0;
    int n = 0;
    for (int i = 0; i < 4; i++)
        if (!isnan(v[i])) {
            ck_assert_int_eq(aw_store_eval_put_points(s, &key, i, &v[i], 1, 0.1, &err), 0);
            sum += v[i], n++;
        }
    ck_assert_int_eq(aw_store_eval_finish(s, &key, sum / n, 0.5, n, 1.0, &err), 0);
}

static void build(void)
{
    aw_store_t *s;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_store_open(&s, db, 0, &err), 0);
    char id[65];
    const double a0[4] = {10, 20, 30, 40}, b0[4] = {9, 21, 28, 38};       /* differences -1, 1, -2, -2 */
    const double a1[4] = {11, 19, 31, 41}, b1[4] = {8, 16, 28, 38};       /* differences -3 each */
    add_run(s, "iwae", 0, a0, id);
    add_run(s, "aiwae", 0, b0, id);
    add_run(s, "iwae", 1, a1, id);
    add_run(s, "aiwae", 1, b1, id);
    const double part[4] = {9, 21, 28, NAN}; /* a run that stored three of the four points */
    add_run(s, "vae", 0, part, id);
    aw_store_close(s);
}

static void load(aw_store_t **s, aw_report_snap_t *snap, size_t at[5])
{
    aw_error_t err = {0};
    ck_assert_int_eq(aw_report_open(s, db, 1000, &err), 0);
    ck_assert_int_eq(aw_report_snap_load(*s, snap, &err), 0);
    static const char *const names[5] = {"iwae_0", "aiwae_0", "iwae_1", "aiwae_1", "vae_0"};
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < snap->n_runs; i++)
            if (strcmp(snap->runs[i].row.name, names[k]) == 0)
                at[k] = i;
}

START_TEST(test_compare)
{
    build();
    aw_store_t *s;
    aw_report_snap_t snap;
    size_t at[5];
    load(&s, &snap, at);
    aw_report_query_t q = {.epoch = -1};
    aw_error_t err = {0};
    char *out = NULL;
    ck_assert_msg(aw_report_compare(s, &snap, at[0], at[1], &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    /* differences -1, 1, -2, -2: mean -1, sd sqrt(2), se sqrt(2)/2 */
    const double se = sqrt(2.0) / 2, lo = -1 - 1.959963984540054 * se, hi = -1 + 1.959963984540054 * se;
    char want[512];
    snprintf(want, sizeof want, ",3,3,4,25,24,-1,%.10g,%.10g,%.10g\n", se, lo, hi);
    ck_assert_msg(strstr(out, want) != NULL, "want %s in\n%s", want, out);
    free(out);
    /* only the points both have are paired */
    ck_assert_int_eq(aw_report_compare(s, &snap, at[0], at[4], &q, AW_FMT_CSV, &out, &err), 0);
    ck_assert_msg(strstr(out, ",3,3,3,20,") != NULL, "%s", out); /* 3 points, mean A over them 20 */
    free(out);
    /* another table's estimator: nothing in common is an error naming both runs */
    q.table = "elbo";
    ck_assert_int_eq(aw_report_compare(s, &snap, at[0], at[1], &q, AW_FMT_CSV, &out, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "iwae_0") && strstr(err.msg, "aiwae_0"), "%s", err.msg);
    q.table = "units";
    ck_assert_int_eq(aw_report_compare(s, &snap, at[0], at[1], &q, AW_FMT_CSV, &out, &err), AW_EARG);
    aw_report_snap_fini(&snap);
    aw_store_close(s);
}
END_TEST

/* --compare RUN RUN: two evaluations of one run with different settings, paired; the settings columns give
 * what differs. */
START_TEST(test_compare_within)
{
    build();
    aw_store_t *s;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_store_open(&s, db, 0, &err), 0);
    aw_report_snap_t snap;
    ck_assert_int_eq(aw_report_snap_load(s, &snap, &err), 0);
    char id[65] = "";
    for (size_t i = 0; i < snap.n_runs; i++)
        if (strcmp(snap.runs[i].row.name, "iwae_0") == 0)
            memcpy(id, snap.runs[i].row.identity, 65);
    aw_report_snap_fini(&snap);
    static const char BF16[] = "{chains: 16, temperatures: 500, leapfrog: 10, schedule: linear, step_size: {init: "
                               "0.1, min: 0.0001, max: 10, target_accept: 0.6}, hmc_precision: bf16, size: 4, "
                               "batch: 256}";
    aw_store_eval_key_t key = {id, "ais_nll", BF16, "test", 3};
    const double v[4] = {10.5, 20, 29, 40.5}; /* against 10, 20, 30, 40: differences 0.5, 0, -1, 0.5 */
    ck_assert_int_eq(aw_store_eval_begin(s, &key, 4, NULL, &err), 0);
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, 0, v, 4, 0.1, &err), 0);
    ck_assert_int_eq(aw_store_eval_finish(s, &key, 25, 0.5, 4, 1.0, &err), 0);
    aw_store_close(s);
    size_t at[5];
    load(&s, &snap, at);
    aw_report_query_t q = {.epoch = -1};
    char *out = NULL;
    ck_assert_msg(aw_report_compare(s, &snap, at[0], at[0], &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    /* mean 0, sd sqrt(0.5), se sqrt(0.5)/2; the list is in the database's order, so either may be A */
    const double se = sqrt(0.5) / 2, z = 1.959963984540054;
    char want_ab[256], want_ba[256];
    snprintf(want_ab, sizeof want_ab, "(the same),hmc_precision: bf16,3,3,4,25,25,0,%.10g,%.10g,%.10g\n", se,
             -z * se, z * se);
    snprintf(want_ba, sizeof want_ba, "hmc_precision: bf16,(the same),3,3,4,25,25,0,%.10g,%.10g,%.10g\n", se,
             -z * se, z * se);
    ck_assert_msg(strstr(out, want_ab) != NULL || strstr(out, want_ba) != NULL, "want %s in\n%s", want_ab, out);
    ck_assert_msg(strncmp(out, "settings_a,settings_b,", 22) == 0, "%s", out);
    free(out);
    /* a run with one evaluation has nothing to pair within */
    ck_assert_int_eq(aw_report_compare(s, &snap, at[1], at[1], &q, AW_FMT_CSV, &out, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "aiwae_0") && strstr(err.msg, "different settings"), "%s", err.msg);
    aw_report_snap_fini(&snap);
    aw_store_close(s);
}
END_TEST

START_TEST(test_baseline)
{
    build();
    aw_store_t *s;
    aw_report_snap_t snap;
    size_t at[5];
    load(&s, &snap, at);
    aw_report_query_t q = {.table = "nll", .epoch = -1};
    aw_error_t err = {0};
    char *out = NULL;
    ck_assert_msg(aw_report_baseline(s, &snap, &q, "IWAE K=5", AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    /* AIWAE against IWAE: pairs (repeat 0: -1, repeat 1: -3), mean -2, se over pairs sd(-1,-3)/sqrt(2) = 1 */
    char want[256];
    snprintf(want, sizeof want, "AIWAE K=5 T=5 L=5,mnist,2,4,-2,1,%.10g,%.10g\n", -2 - 1.959963984540054,
             -2 + 1.959963984540054);
    ck_assert_msg(strstr(out, want) != NULL, "want %s in\n%s", want, out);
    /* VAE has one replicate, of repeat 0: one pair on 3 points, its se over points */
    ck_assert_msg(strstr(out, "VAE,mnist,1,3,") != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(aw_report_baseline(s, &snap, &q, "IWAE K=50", AW_FMT_CSV, &out, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "\"IWAE K=5\"") != NULL, "the rows are listed: %s", err.msg);
    aw_report_snap_fini(&snap);
    aw_store_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("paired");
    TCase *tc = tcase_create("paired");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_compare);
    tcase_add_test(tc, test_compare_within);
    tcase_add_test(tc, test_baseline);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
