/* test_fault.c: fault injection (issue 14). A tiny real run whose N-th database write, sync or truncate
 * fails with ENOSPC, EIO or EROFS (faultvfs.c), for every N the run makes: each time the database opens,
 * passes its integrity check, holds exactly what had been committed before the fault, and a rerun without
 * faults resumes to parameters, metrics and per-point values byte-identical to an uninterrupted run. Then
 * aw_io_write_atomic (exports) with its N-th write, fsync or rename failing (faultio.c): the target holds
 * the old bytes or the new ones, never a mix, and no temporary file is left. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "run/run.h"
#include "spec/spec.h"
#include "store/store.h"
#include "util/io.h"
#include "util/sha256.h"
#include "faultio.h"
#include "faultvfs.h"
#include "fixtures.h"

static char dir[256]; /* this test's scratch directory */
static const int fault_errnos[] = {ENOSPC, EIO, EROFS};

static void write_idx(const char *name, int n, unsigned seed)
{
    uint8_t px[64 * 36];
    ck_assert_int_le(n, 64);
    for (int i = 0; i < n * 36; i++) {
        seed = seed * 1103515245u + 12345u;
        px[i] = (uint8_t)((seed >> 16) & 0xff);
    }
    const uint32_t dims[3] = {(uint32_t)n, 6, 6};
    aw_fx_buf_t b;
    aw_fx_idx_u8(3, dims, px, &b);
    char p[512];
    ck_assert_int_eq(aw_fx_write_in(dir, name, &b, p, sizeof p), 0);
    aw_fx_buf_fini(&b);
}

static void setup(void)
{
    ck_assert_int_eq(aw_fv_install(), SQLITE_OK);
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
    write_idx("train.idx", 32, 1);
    write_idx("test.idx", 8, 2);
}

static void teardown(void)
{
    aw_fv_arm(0, 0);
    aw_fi_arm(0, 0);
    aw_fx_rmtree(dir);
}

/* Training with checkpoints every other epoch, an evaluation after training. */
static void load_spec(aw_spec_list_t *list)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: f\nseed: 3\n"
             "dataset: {name: idx, train_images: \"%s/train.idx\", test_images: \"%s/test.idx\"}\n"
             "model: {latent: 2, hidden: [4]}\n"
             "method: {name: iwae, samples: 2}\n"
             "train: {epochs: 4, batch_size: 8, schedule: constant, checkpoint_every: 2, threads: 1}\n"
             "evaluate: [{estimator: iwae_bound, samples: 4, split: test, batch: 4}]\n",
             dir, dir);
    aw_error_t err = {0};
    int rc = aw_spec_load_string(yaml, "test", NULL, 0, list, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
}

/* Hashes every row the query returns, every column as SQLite's text or blob bytes with its type. */
static void hash_query(sqlite3 *db, const char *sql, aw_sha256_t *h)
{
    sqlite3_stmt *st = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            uint8_t type = (uint8_t)sqlite3_column_type(st, c);
            const void *p = type == SQLITE_BLOB ? sqlite3_column_blob(st, c) : sqlite3_column_text(st, c);
            uint32_t n = (uint32_t)sqlite3_column_bytes(st, c);
            aw_sha256_update(h, &type, 1);
            aw_sha256_update(h, &n, sizeof n);
            if (n > 0)
                aw_sha256_update(h, p, n);
        }
    }
    ck_assert_msg(rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

/* Everything in the database: every table, every column, rows in a fixed order. */
static void digest_all(sqlite3 *db, uint8_t out[AW_SHA256_BYTES])
{
    aw_sha256_t h;
    aw_sha256_init(&h);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                                        -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char sql[512];
        int len = snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", sqlite3_column_text(st, 0));
        sqlite3_stmt *cols = NULL;
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &cols, NULL), SQLITE_OK);
        for (int c = 1; c <= sqlite3_column_count(cols) && len < 400; c++)
            len += snprintf(sql + len, sizeof sql - (size_t)len, "%s%d", c == 1 ? " ORDER BY " : ", ", c);
        sqlite3_finalize(cols);
        aw_sha256_update(&h, sql, strlen(sql));
        hash_query(db, sql, &h);
    }
    sqlite3_finalize(st);
    aw_sha256_final(&h, out);
}

/* What two runs of the same spec must agree on: metrics and evaluations without times, per-point values
 * and the final checkpoint's parameters (its blob). */
static void digest_results(sqlite3 *db, uint8_t out[AW_SHA256_BYTES])
{
    static const char *const q[] = {
        "SELECT identity, epoch, loss, bound, lr, accept, step FROM metrics ORDER BY identity, epoch",
        "SELECT identity, estimator, settings, split, epoch, n_total, n_done, n, mean, stderr, status "
        "FROM evaluations ORDER BY 1, 2, 3, 4, 5",
        "SELECT * FROM eval_points ORDER BY 1, 2, 3, 4, 5, 6",
        "SELECT identity, status, epoch FROM runs ORDER BY identity",
    };
    aw_sha256_t h;
    aw_sha256_init(&h);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        hash_query(db, q[i], &h);
    aw_sha256_final(&h, out);
}

static float *final_params(aw_store_t *s, const char *identity, size_t *n)
{
    aw_model_t m;
    aw_error_t err = {0};
    int rc = aw_run_load_model(s, identity, -1, &m, NULL, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    *n = m.n_params;
    float *p = malloc(m.n_params * sizeof(float));
    ck_assert_ptr_nonnull(p);
    memcpy(p, m.params, m.n_params * sizeof(float));
    aw_model_fini(&m);
    return p;
}

/* The state after the newest commit, taken by a WAL hook (SQLite calls it once a commit is durable). */
static uint8_t committed[AW_SHA256_BYTES];
static long commits;

static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)arg;
    commits++;
    digest_all(db, committed);
    /* The hook replaces SQLite's automatic checkpoint: do what it does. */
    if (frames >= 1000)
        sqlite3_wal_checkpoint(db, name);
    return SQLITE_OK;
}

static aw_store_t *open_store(const char *path)
{
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    int rc = aw_store_open(&s, path, 0, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return s;
}

static void remove_db(const char *path)
{
    char p[600];
    const char *const ext[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        ck_assert(unlink(p) == 0 || errno == ENOENT);
    }
}

/* SQLite's integrity check of the whole file answers "ok". */
static void check_integrity(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

/* The store's error names the database and says what kind of failure it was. SQLite passes the errno on
 * only as SQLITE_FULL (ENOSPC on a write); otherwise its commit path reports a bare I/O error. */
static void check_message(const char *msg, const char *path, const char *op, int e)
{
    ck_assert_msg(strstr(msg, path) != NULL, "%s", msg);
    if (e == ENOSPC && strcmp(op, "write") == 0)
        ck_assert_msg(strstr(msg, "disk full") != NULL, "%s", msg);
    else
        ck_assert_msg(strstr(msg, "disk full") != NULL || strstr(msg, "I/O error") != NULL ||
                      strstr(msg, "read-only") != NULL, "%s", msg);
}

/* One faulted run: the n-th operation fails with errno e; then the checks of the file comment. */
static void fault_once(const aw_spec_t *spec, long n, int e, const float *ref_params, size_t n_params,
                       const uint8_t ref_results[AW_SHA256_BYTES])
{
    char path[512];
    snprintf(path, sizeof path, "%s/fault.db", dir);
    remove_db(path);
    aw_store_t *s = open_store(path);
    sqlite3_wal_hook(aw_store_handle(s), on_commit, NULL);
    digest_all(aw_store_handle(s), committed);
    commits = 0;
    aw_error_t err = {0};
    int fb;
    aw_run_opts_t o = {.threads = 1};
    aw_fv_arm(n, e);
    int rc = aw_run(spec, s, &o, &fb, &err);
    int fired = aw_fv_fired();
    const char *op = aw_fv_fired_op();
    long made = aw_fv_count();
    aw_fv_arm(0, 0);
    /* Page counts vary a little with the values stored (timings), so a run may make fewer than n. */
    ck_assert_msg(fired || made < n, "operation %ld of a run that made %ld did not fail", n, made);
    /* Every operation of this run belongs to a commit (its WAL stays below SQLite's automatic checkpoint
     * of 1000 pages; test_close_faults covers the checkpoint), so every fault is an error. */
    if (fired) {
        ck_assert_msg(rc != 0, "fault %ld (%s, %s) went unreported", n, op, strerror(e));
        check_message(err.msg, path, op, e);
    } else {
        ck_assert_msg(rc == 0, "%s", err.msg);
    }
    uint8_t before[AW_SHA256_BYTES];
    memcpy(before, committed, sizeof before);
    aw_store_close(s);

    s = open_store(path);
    sqlite3 *db = aw_store_handle(s);
    check_integrity(db);
    uint8_t now[AW_SHA256_BYTES];
    digest_all(db, now);
    ck_assert_msg(memcmp(now, before, sizeof now) == 0,
                  "fault %ld (%s, %s, rc %d after %ld commits): the database is not what was committed", n, op,
                  strerror(e), rc, commits);

    rc = aw_run(spec, s, &o, &fb, &err);
    ck_assert_msg(rc == 0, "resume after fault %ld (%s, %s): %s", n, op, strerror(e), err.msg);
    aw_store_run_t row;
    ck_assert_int_eq(aw_store_run_get(s, spec->identity, &row, &err), 0);
    ck_assert_msg(row.status == AW_RUN_FINISHED, "resume after fault %ld (%s, %s): the run is %s, not finished "
                  "(%s)", n, op, strerror(e), aw_run_status_name(row.status), err.msg);
    aw_store_run_fini(&row);
    size_t np;
    float *p = final_params(s, spec->identity, &np);
    ck_assert_uint_eq(np, n_params);
    ck_assert_msg(memcmp(p, ref_params, np * sizeof(float)) == 0, "fault %ld (%s, %s): parameters differ", n, op,
                  strerror(e));
    free(p);
    digest_results(db, now);
    ck_assert_msg(memcmp(now, ref_results, sizeof now) == 0, "fault %ld (%s, %s): metrics or evaluations differ",
                  n, op, strerror(e));
    aw_store_close(s);
}

/* Every write, sync and truncate of a whole run, each errno in turn. */
START_TEST(test_store_faults)
{
    aw_spec_list_t list;
    load_spec(&list);
    const aw_spec_t *spec = &list.runs[0];
    char path[512];
    snprintf(path, sizeof path, "%s/ref.db", dir);
    aw_store_t *ref = open_store(path);
    aw_error_t err = {0};
    int fb;
    aw_run_opts_t o = {.threads = 1};
    aw_fv_arm(0, 0);
    ck_assert_int_eq(aw_run(spec, ref, &o, &fb, &err), 0);
    long total = aw_fv_count();
    ck_assert_int_gt(total, 10);
    size_t np;
    float *params = final_params(ref, spec->identity, &np);
    uint8_t results[AW_SHA256_BYTES];
    digest_results(aw_store_handle(ref), results);
    aw_store_close(ref);
    for (long n = 1; n <= total; n++)
        fault_once(spec, n, fault_errnos[n % 3], params, np, results);
    fprintf(stderr, "test_fault: a run: %ld store operations, each failed once\n", total);
    free(params);
    aw_spec_list_fini(&list);
}
END_TEST

/* Opens path (integrity-checked) and checks that it holds what a fault-free run of spec records. */
static void check_complete(const aw_spec_t *spec, const char *path, const uint8_t results[AW_SHA256_BYTES])
{
    aw_store_t *s = open_store(path);
    check_integrity(aw_store_handle(s));
    aw_error_t err = {0};
    int fb;
    aw_run_opts_t o = {.threads = 1};
    ck_assert_msg(aw_run(spec, s, &o, &fb, &err) == 0, "%s", err.msg);
    uint8_t now[AW_SHA256_BYTES];
    digest_results(aw_store_handle(s), now);
    ck_assert_msg(memcmp(now, results, sizeof now) == 0, "%s: metrics or evaluations differ", path);
    aw_store_close(s);
}

/* Creating a database (schema, WAL mode) with its n-th write or sync failing: the open fails cleanly or
 * succeeds, and the next open makes a database that records a complete run. */
START_TEST(test_open_faults)
{
    aw_spec_list_t list;
    load_spec(&list);
    const aw_spec_t *spec = &list.runs[0];
    char path[512];
    snprintf(path, sizeof path, "%s/ref.db", dir);
    aw_fv_arm(0, 0);
    aw_store_t *s = open_store(path);
    long total = aw_fv_count();
    ck_assert_int_gt(total, 2);
    aw_error_t err = {0};
    int fb;
    aw_run_opts_t o = {.threads = 1};
    ck_assert_int_eq(aw_run(spec, s, &o, &fb, &err), 0);
    uint8_t results[AW_SHA256_BYTES];
    digest_results(aw_store_handle(s), results);
    aw_store_close(s);
    snprintf(path, sizeof path, "%s/open.db", dir);
    for (long n = 1; n <= total; n++) {
        remove_db(path);
        aw_fv_arm(n, fault_errnos[n % 3]);
        s = NULL;
        int rc = aw_store_open(&s, path, 0, &err);
        const char *op = aw_fv_fired_op();
        ck_assert_msg(aw_fv_fired() || aw_fv_count() < n, "operation %ld of an open did not fail", n);
        aw_fv_arm(0, 0);
        if (rc != 0)
            check_message(err.msg, path, op, fault_errnos[n % 3]);
        else
            aw_store_close(s);
        check_complete(spec, path, results);
    }
    fprintf(stderr, "test_fault: creating a database: %ld operations, each failed once\n", total);
    aw_spec_list_fini(&list);
}
END_TEST

/* Closing a database after a run (SQLite checkpoints the WAL into it and removes the WAL) with the
 * n-th write, sync or truncate failing: nothing committed is lost. */
START_TEST(test_close_faults)
{
    aw_spec_list_t list;
    load_spec(&list);
    const aw_spec_t *spec = &list.runs[0];
    char path[512];
    snprintf(path, sizeof path, "%s/close.db", dir);
    uint8_t results[AW_SHA256_BYTES] = {0}, before[AW_SHA256_BYTES], now[AW_SHA256_BYTES];
    long total = 1;
    for (long n = 0; n <= total; n++) {
        remove_db(path);
        aw_fv_arm(0, 0);
        aw_store_t *s = open_store(path);
        aw_error_t err = {0};
        int fb;
        aw_run_opts_t o = {.threads = 1};
        ck_assert_int_eq(aw_run(spec, s, &o, &fb, &err), 0);
        digest_all(aw_store_handle(s), before);
        if (n == 0)
            digest_results(aw_store_handle(s), results);
        aw_fv_arm(n, fault_errnos[n % 3]); /* n = 0: counts the operations of a clean close */
        aw_store_close(s);
        if (n == 0)
            total = aw_fv_count();
        else
            ck_assert_msg(aw_fv_fired() || aw_fv_count() < n, "operation %ld of a close did not fail", n);
        aw_fv_arm(0, 0);
        s = open_store(path);
        digest_all(aw_store_handle(s), now);
        ck_assert_msg(memcmp(now, before, sizeof now) == 0, "close fault %ld: the database changed", n);
        aw_store_close(s);
        check_complete(spec, path, results);
    }
    ck_assert_int_gt(total, 1);
    fprintf(stderr, "test_fault: closing after a run: %ld operations, each failed once\n", total);
    aw_spec_list_fini(&list);
}
END_TEST

/* Reads path whole into a malloc'd buffer; *n its size. NULL when it does not exist. */
static uint8_t *slurp(const char *path, size_t *n)
{
    aw_buf_t b = {0};
    aw_error_t err = {0};
    if (access(path, F_OK) != 0)
        return NULL;
    ck_assert_msg(aw_io_read_file(path, 1 << 20, &b, &err) == 0, "%s", err.msg);
    *n = b.size;
    return b.data;
}

/* aw_io_write_atomic over an existing file, each of its calls failing in turn. */
START_TEST(test_atomic_write_faults)
{
    char path[512], tmp[600];
    snprintf(path, sizeof path, "%s/export.bin", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    uint8_t old_bytes[3000], new_bytes[5000];
    for (size_t i = 0; i < sizeof new_bytes; i++)
        new_bytes[i] = (uint8_t)(i * 7 + 1);
    memset(old_bytes, 0x5a, sizeof old_bytes);
    aw_error_t err = {0};
    aw_fi_arm(0, 0);
    ck_assert_int_eq(aw_io_write_atomic(path, new_bytes, sizeof new_bytes, &err), 0);
    long total = aw_fi_count();
    ck_assert_int_ge(total, 4); /* write, fsync, rename, fsync of the directory */
    for (long n = 1; n <= total; n++) {
        for (int k = 0; k < 3; k++) {
            aw_fi_arm(0, 0);
            ck_assert_int_eq(aw_io_write_atomic(path, old_bytes, sizeof old_bytes, &err), 0);
            aw_fi_arm(n, fault_errnos[k]);
            int rc = aw_io_write_atomic(path, new_bytes, sizeof new_bytes, &err);
            const char *op = aw_fi_fired_op();
            aw_fi_arm(0, 0);
            ck_assert_msg(rc != 0, "call %ld (%s) failed silently", n, op);
            ck_assert_msg(strstr(err.msg, aw_io_strerror(fault_errnos[k])) != NULL, "%s", err.msg);
            size_t got = 0;
            uint8_t *b = slurp(path, &got);
            ck_assert_ptr_nonnull(b);
            int is_old = got == sizeof old_bytes && memcmp(b, old_bytes, got) == 0;
            int is_new = got == sizeof new_bytes && memcmp(b, new_bytes, got) == 0;
            /* Before the rename the old file stands; after it only the directory's sync can fail. */
            ck_assert_msg(n < total ? is_old : is_new, "call %ld (%s): the file is neither version", n, op);
            free(b);
            ck_assert_msg(access(tmp, F_OK) != 0, "call %ld (%s) left %s", n, op, tmp);
        }
    }
    fprintf(stderr, "test_fault: an atomic write: %ld calls, each failed with 3 errnos\n", total);
}
END_TEST

static Suite *fault_suite(void)
{
    Suite *su = suite_create("fault");
    TCase *tc = tcase_create("inject");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_store_faults);
    tcase_add_test(tc, test_open_faults);
    tcase_add_test(tc, test_close_faults);
    tcase_add_test(tc, test_atomic_write_faults);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(fault_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
