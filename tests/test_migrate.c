/* test_migrate.c: schema 2 re-keys runs by the identity of their training. A schema-1 database is built
 * with runs under identities of the old rule (every key hashed): two of them one training evaluated two
 * ways, one a different training. Opening it re-keys every table, folds the two into one run with both
 * evaluations, and a database whose stored spec does not load is refused and left as it was. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "spec/spec.h"
#include "store/store.h"

static char dir[512];

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
}

static void teardown(void)
{
    aw_fx_rmtree(dir);
}

static int64_t q_int(const char *path, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_free(msg);
    sqlite3_close(h);
}

/* The canonical text of a spec given as YAML. */
static char *canonical(const char *yaml, char identity[65])
{
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_msg(aw_spec_load_string(yaml, "m.yaml", NULL, 0, &l, &err) == 0, "%s", err.msg);
    char *c = strdup(l.runs[0].canonical);
    memcpy(identity, l.runs[0].identity, 65);
    aw_spec_list_fini(&l);
    return c;
}

/* A run under old_id with spec text, one epoch of metrics and a checkpoint, and one finished evaluation of two
 * points (settings, values v0, v1). */
static void add_run(aw_store_t *s, const char *old_id, const char *name, const char *spec, int64_t epoch,
                    const char *settings, double v0, double v1)
{
    aw_error_t err = {0};
    aw_store_run_info_t info = {old_id, name, spec, 3, "host", "0.1.0"};
    aw_store_run_t r;
    ck_assert_msg(aw_store_run_upsert(s, &info, &r, NULL, &err) == 0, "%s", err.msg);
    aw_store_run_fini(&r);
    for (int64_t e = 1; e <= epoch; e++) {
        aw_store_metrics_t m = {.epoch = e, .loss = 100.0 - (double)e, .bound = 90, .lr = 1e-3};
        const char blob[] = "checkpoint bytes";
        ck_assert_msg(aw_store_commit_epoch(s, old_id, &m, blob, sizeof blob, 1, &err) == 0, "%s", err.msg);
    }
    ck_assert_int_eq(aw_store_run_set_status(s, old_id, epoch == 3 ? AW_RUN_FINISHED : AW_RUN_INTERRUPTED, NULL,
                                             &err), 0);
    aw_store_eval_key_t key = {old_id, "iwae_bound", settings, "test", epoch};
    const double v[2] = {v0, v1};
    ck_assert_int_eq(aw_store_eval_begin(s, &key, 2, NULL, &err), 0);
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, 0, v, 2, 0.5, &err), 0);
    ck_assert_int_eq(aw_store_eval_finish(s, &key, (v0 + v1) / 2, 0.5, 2, 0.5, &err), 0);
    ck_assert_int_eq(aw_store_log_event(s, old_id, "note", name, &err), 0);
}

START_TEST(test_rekey_and_fold)
{
    char path[600], sql[1024], id_a[65], id_c[65];
    snprintf(path, sizeof path, "%s/old.db", dir);
    /* a and b: one training, evaluated two ways (their old identities differed); c: another training. */
    char *spec_a = canonical("name: a\nevaluate: [{estimator: iwae_bound, samples: 10}]\n", id_a);
    char *spec_b = canonical("name: b\ntrain: {checkpoint_every: 1}\n"
                             "evaluate: [{estimator: iwae_bound, samples: 20}]\n", id_c);
    char *spec_c = canonical("name: c\nseed: 7\n", id_c);
    char id_b[65];
    memcpy(id_b, id_a, 65);
    const char *old_a = "aaaa000000000000000000000000000000000000000000000000000000000000";
    const char *old_b = "bbbb000000000000000000000000000000000000000000000000000000000000";
    const char *old_c = "cccc000000000000000000000000000000000000000000000000000000000000";
    aw_store_t *s;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_store_open(&s, path, 0, &err), 0);
    add_run(s, old_a, "a", spec_a, 3, "{samples: 10, size: 2, batch: 32}", 1.0, 2.0);
    add_run(s, old_b, "b", spec_b, 2, "{samples: 20, size: 2, batch: 32}", 3.0, 4.0);
    add_run(s, old_c, "c", spec_c, 3, "{samples: 10, size: 2, batch: 32}", 5.0, 6.0);
    aw_store_close(s);
    raw_exec(path, "PRAGMA user_version = 1");

    ck_assert_msg(aw_store_open(&s, path, 0, &err) == 0, "%s", err.msg);
    aw_store_close(s);
    ck_assert_int_eq(q_int(path, "PRAGMA user_version"), AW_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(q_int(path, "SELECT count(*) FROM runs"), 2);
    /* Every table is keyed by the new identities; nothing is left under the old ones. */
    static const char *const tables[] = {"runs", "metrics", "checkpoints", "evaluations", "eval_points", "events"};
    for (int t = 0; t < 6; t++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE identity NOT IN ('%s', '%s')", tables[t], id_a,
                 id_c);
        ck_assert_msg(q_int(path, sql) == 0, "%s keeps old identities", tables[t]);
    }
    /* a trained furthest: its lineage (3 epochs) is kept, b's 2 epochs are gone; both evaluations stay. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM metrics WHERE identity = '%s'", id_a);
    ck_assert_int_eq(q_int(path, sql), 3);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM evaluations WHERE identity = '%s'", id_a);
    ck_assert_int_eq(q_int(path, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM eval_points WHERE identity = '%s' AND settings LIKE "
                              "'{samples: 20%%' AND value IN (3.0, 4.0)", id_a);
    ck_assert_int_eq(q_int(path, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE identity = '%s' AND name = 'a' AND status = "
                              "'finished'", id_a);
    ck_assert_int_eq(q_int(path, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE identity = '%s' AND kind = 'migrated'", id_a);
    ck_assert_int_eq(q_int(path, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM eval_points WHERE identity = '%s'", id_c);
    ck_assert_int_eq(q_int(path, sql), 2);
    (void)id_b;
    free(spec_a);
    free(spec_b);
    free(spec_c);
}
END_TEST

START_TEST(test_unloadable_spec_refused)
{
    char path[600], id[65];
    snprintf(path, sizeof path, "%s/bad.db", dir);
    char *spec = canonical("name: a\n", id);
    aw_store_t *s;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_store_open(&s, path, 0, &err), 0);
    const char *old = "dddd000000000000000000000000000000000000000000000000000000000000";
    const char *odd = "eeee000000000000000000000000000000000000000000000000000000000000";
    add_run(s, old, "a", spec, 3, "{samples: 10, size: 2, batch: 32}", 1.0, 2.0);
    add_run(s, odd, "odd", "seed: [not a number]\n", 3, "{samples: 10, size: 2, batch: 32}", 1.0, 2.0);
    aw_store_close(s);
    raw_exec(path, "PRAGMA user_version = 1");
    ck_assert_int_eq(aw_store_open(&s, path, 0, &err), AW_EDB);
    ck_assert_msg(strstr(err.msg, "cannot upgrade to schema 2") && strstr(err.msg, "run odd") &&
                      strstr(err.msg, "the database was not changed"),
                  "%s", err.msg);
    /* Not altered half-way: the old version and the old identities everywhere. */
    ck_assert_int_eq(q_int(path, "PRAGMA user_version"), 1);
    ck_assert_int_eq(q_int(path, "SELECT count(*) FROM runs WHERE identity LIKE 'dddd%' OR identity LIKE 'eeee%'"),
                     2);
    ck_assert_int_eq(q_int(path, "SELECT count(*) FROM metrics WHERE identity LIKE 'dddd%'"), 3);
    free(spec);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("migrate");
    TCase *tc = tcase_create("schema2");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rekey_and_fold);
    tcase_add_test(tc, test_unloadable_spec_refused);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
