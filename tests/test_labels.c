/* test_labels.c: run labels of tables and pictures (report/run_label.h): the method's label plus the
 * spec keys that differ among the runs shown, names only where nothing else tells runs apart. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "report/run_label.h"
#include "spec/spec.h"

/* The runs of a sweep over spec yaml, as the snapshot holds them (spec loaded, row.spec canonical). */
static aw_spec_list_t L;
static aw_report_run_t R[8];
static const aw_report_run_t *P[8];

static int load(const char *yaml)
{
    aw_error_t err = {0};
    ck_assert_msg(aw_spec_load_string(yaml, "t.yaml", NULL, 0, &L, &err) == 0, "%s", err.msg);
    ck_assert_int_le(L.n, 8);
    memset(R, 0, sizeof R);
    for (int i = 0; i < L.n; i++) {
        R[i].spec = L.runs[i];
        R[i].spec_ok = 1;
        R[i].row.spec = L.runs[i].canonical;
        R[i].row.name = L.runs[i].name;
        P[i] = &R[i];
    }
    return L.n;
}

/* Labels of the first n runs, checked against want[n]. */
static void expect(int n, const char *const *want)
{
    char *labels[8];
    aw_error_t err = {0};
    ck_assert_msg(aw_report_run_labels(P, n, labels, &err) == 0, "%s", err.msg);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(labels[i], want[i]);
        free(labels[i]);
    }
}

START_TEST(test_method_label_and_what_differs)
{
    int n = load("name: mnist_10epochs\nmethod: {name: aiwae, samples: 5, temperatures: 5, leapfrog: 5}\n"
                 "sweep: {train.epochs: [10, 20]}\n");
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(R[0].row.name, "train.epochs=10"));
    expect(2, (const char *const[]){"AIWAE K=5 T=5 L=5, train.epochs=10", "AIWAE K=5 T=5 L=5, train.epochs=20"});
    expect(1, (const char *const[]){"AIWAE K=5 T=5 L=5"}); /* one run: nothing differs */
    aw_spec_list_fini(&L);
}
END_TEST

START_TEST(test_method_keys_only_within_a_label)
{
    /* The labels tell K apart; model.latent differs too and is named. */
    load("name: s\nsweep: {method.samples: [1, 5], model.latent: [20, 50]}\nmethod: {name: iwae}\n");
    ck_assert_int_eq(L.n, 4);
    expect(4, (const char *const[]){"IWAE K=1, model.latent=20", "IWAE K=1, model.latent=50",
                                   "IWAE K=5, model.latent=20", "IWAE K=5, model.latent=50"});
    aw_spec_list_fini(&L);
}
END_TEST

START_TEST(test_names_when_nothing_else_differs)
{
    load("name: a\nmethod: {name: iwae, samples: 2}\nsweep: {train.threads: [1]}\n");
    aw_spec_list_t first = L;
    aw_report_run_t a = R[0];
    load("name: b\nmethod: {name: iwae, samples: 2}\n");
    R[1] = R[0];
    R[0] = a;
    P[1] = &R[1];
    expect(2, (const char *const[]){"IWAE K=2 (a-train.threads=1)", "IWAE K=2 (b)"});
    R[0].spec_ok = 0; /* a spec that did not load: its name */
    expect(2, (const char *const[]){"a-train.threads=1", "IWAE K=2"});
    aw_spec_list_fini(&first);
    aw_spec_list_fini(&L);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("labels");
    TCase *t = tcase_create("labels");
    tcase_add_test(t, test_method_label_and_what_differs);
    tcase_add_test(t, test_method_keys_only_within_a_label);
    tcase_add_test(t, test_names_when_nothing_else_differs);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
