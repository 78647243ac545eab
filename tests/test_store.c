/* test_store.c: the results database: schema and migrations, refusing foreign
 * files, atomic epoch commits with pruning, checkpoint fallback, resumable
 * evaluations, concurrent processes, kill -9, full disk and read-only files. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/ckpt.h"
#include "store/run_match.h"
#include "store/store.h"
#include "store/store_delete.h"
#include "util/bytes.h"
#include "fixtures.h"

/* ---- fixtures ---- */

static char dir[256]; /* this test's scratch directory */
static char db[512];  /* dir/results/aiwae.db */

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
    snprintf(db, sizeof db, "%s/results/aiwae.db", dir);
}

static void teardown(void)
{
    aw_fx_rmtree(dir);
}

/* The 64-hex identity number k (distinct first digits for small k). */
static void ident(char out[65], unsigned k)
{
    uint64_t x = k;
    for (int i = 0; i < 8; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(out + 8 * i, 9, "%08x", (unsigned)(x >> 32));
    }
}

static aw_store_t *open_ok(const char *path, int ro)
{
    aw_store_t *s = NULL;
    aw_error_t err;
    aw_error_clear(&err);
    int rc = aw_store_open(&s, path, ro, &err);
    ck_assert_msg(rc == 0, "open %s: %s", path, err.msg);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Opening must fail with AW_EDB and a message naming the file and containing what. */
static void open_fails(const char *path, int ro, const char *what)
{
    aw_store_t *s = (aw_store_t *)1;
    aw_error_t err;
    aw_error_clear(&err);
    ck_assert_int_eq(aw_store_open(&s, path, ro, &err), AW_EDB);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, AW_EDB);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message names the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, what) != NULL, "expected \"%s\" in: %s", what, err.msg);
}

static void add_run(aw_store_t *s, const char *id, const char *name, int64_t epochs)
{
    aw_store_run_info_t info = {id, name, "model: {}\n", epochs, "testhost", "0.1.0"};
    aw_store_run_t r;
    aw_error_t err;
    int created = -1;
    ck_assert_msg(aw_store_run_upsert(s, &info, &r, &created, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(created, 1);
    aw_store_run_fini(&r);
}

/* Opens db for writing with run number k (its identity written into id) registered. */
static aw_store_t *open_with_run(char id[65], unsigned k, const char *name, int64_t epochs)
{
    aw_store_t *s = open_ok(db, 0);
    ident(id, k);
    add_run(s, id, name, epochs);
    return s;
}

/* The epoch stored for run id. */
static int64_t run_epoch(aw_store_t *s, const char *id)
{
    aw_store_run_t r;
    aw_error_t err;
    ck_assert_msg(aw_store_run_get(s, id, &r, &err) == 0, "%s", err.msg);
    int64_t e = r.epoch;
    aw_store_run_fini(&r);
    return e;
}

/* An encoded checkpoint whose EPOC/POSN sections name its key, padded to bytes. */
static uint8_t *make_blob(int64_t epoch, int64_t position, size_t pad, size_t *n)
{
    aw_ckpt_t c;
    aw_error_t err;
    aw_ckpt_init(&c);
    uint8_t key[16];
    aw_le_put_u64(key, (uint64_t)epoch);
    aw_le_put_u64(key + 8, (uint64_t)position);
    ck_assert_int_eq(aw_ckpt_put(&c, "EPOC", key, 8, &err), 0);
    ck_assert_int_eq(aw_ckpt_put(&c, "POSN", key + 8, 8, &err), 0);
    uint8_t *p = calloc(pad > 0 ? pad : 1, 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < pad; i++)
        p[i] = (uint8_t)(i * 31 + (size_t)epoch);
    ck_assert_int_eq(aw_ckpt_put(&c, "PARM", p, pad, &err), 0);
    free(p);
    uint8_t *b;
    ck_assert_int_eq(aw_ckpt_encode(&c, &b, n, &err), 0);
    aw_ckpt_fini(&c);
    return b;
}

static int commit(aw_store_t *s, const char *id, int64_t epoch, int keep, size_t pad, aw_error_t *err)
{
    double acc[2] = {0.5 + 0.01 * (double)epoch, NAN}, step[2] = {0.1, 0.2};
    aw_store_metrics_t m = {epoch, 100.0 - (double)epoch, 99.0 - (double)epoch, 1e-3, 2, acc, step, 1.5, 1000.0};
    size_t n;
    uint8_t *b = make_blob(epoch, 0, pad, &n);
    int rc = aw_store_commit_epoch(s, id, &m, b, n, keep, err);
    free(b);
    return rc;
}

static int64_t q_int(aw_store_t *s, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(aw_store_handle(s), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    ck_assert_int_eq(sqlite3_finalize(st), SQLITE_OK);
    return v;
}

/* The EPOC section of a decoded make_blob checkpoint. */
static int64_t ckpt_epoch(const aw_ckpt_t *c)
{
    aw_error_t err;
    const uint8_t *p = aw_ckpt_need(c, "EPOC", 8, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    return (int64_t)aw_le_get_u64(p);
}

static int64_t blob_epoch(const uint8_t *b, size_t n)
{
    aw_ckpt_t c;
    aw_error_t err;
    ck_assert_int_eq(aw_ckpt_decode(b, n, &c, &err), 0);
    int64_t e = ckpt_epoch(&c);
    aw_ckpt_fini(&c);
    return e;
}

/* aw_store_take_checkpoint's taker for these tests: decodes the container into the aw_ckpt_t at ctx. */
static int take_decoded(void *ctx, const uint8_t *blob, size_t n, aw_error_t *err)
{
    return aw_ckpt_decode(blob, n, ctx, err);
}

static int n_rejected;
static char last_rejected[AW_ERROR_MSG_MAX + 256];

static void count_rejected(void *ctx, const char *message)
{
    (void)ctx;
    n_rejected++;
    snprintf(last_rejected, sizeof last_rejected, "%s", message);
}

/* The newest checkpoint of run id that decodes (at `epoch` when >= 0) into c, its key into *ref. */
static int newest_ckpt(aw_store_t *s, const char *id, int64_t epoch, aw_ckpt_t *c, aw_store_ckpt_ref_t *ref,
                       aw_error_t *err)
{
    n_rejected = 0;
    last_rejected[0] = '\0';
    aw_ckpt_init(c);
    aw_store_ckpt_taker_t t = {.take = take_decoded, .rejected = count_rejected, .ctx = c};
    return aw_store_take_checkpoint(s, id, epoch, &t, ref, err);
}

/* Runs sql on a plain SQLite connection (not through the store). */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_free(msg);
    ck_assert_int_eq(sqlite3_close(h), SQLITE_OK);
}

/* ---- schema ---- */

START_TEST(test_create_and_reopen)
{
    aw_store_t *s = open_ok(db, 0); /* creates dir/results too */
    ck_assert_int_eq(q_int(s, "PRAGMA user_version"), AW_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(q_int(s, "PRAGMA application_id"), AW_STORE_APPLICATION_ID);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                              "('aiwae_meta','runs','metrics','checkpoints','evaluations','eval_points','events')"), 7);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(aw_store_handle(s), "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    ck_assert_int_eq(q_int(s, "PRAGMA synchronous"), 2); /* FULL */
    ck_assert_str_eq(aw_store_path(s), db);
    char id[65];
    ident(id, 1);
    add_run(s, id, "first", 10);
    aw_store_close(s);

    s = open_ok(db, 0);
    aw_store_run_t r;
    aw_error_t err;
    ck_assert_int_eq(aw_store_run_get(s, id, &r, &err), 0);
    ck_assert_str_eq(r.name, "first");
    ck_assert_str_eq(r.spec, "model: {}\n");
    ck_assert_int_eq(r.status, AW_RUN_PENDING);
    ck_assert_int_eq(r.epochs_total, 10);
    ck_assert_int_eq(r.epoch, 0);
    ck_assert_str_eq(r.host, "testhost");
    ck_assert_str_eq(r.version, "0.1.0");
    ck_assert_int_eq((int)strlen(r.created), 24); /* 2024-05-01T12:00:00.000Z */
    aw_store_run_fini(&r);
    aw_store_close(s);
    s = open_ok(db, 1);
    ck_assert_int_eq(aw_store_run_get(s, id, &r, &err), 0);
    aw_store_run_fini(&r);
    aw_store_close(s);
}
END_TEST

/* A zero-byte file is an empty database: every migration runs from user_version 0. */
START_TEST(test_migration_from_empty)
{
    char path[600];
    snprintf(path, sizeof path, "%s/empty.db", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fclose(f), 0);
    open_fails(path, 1, "empty"); /* read-only cannot create the schema */
    aw_store_t *s = open_ok(path, 0);
    ck_assert_int_eq(q_int(s, "PRAGMA user_version"), AW_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM aiwae_meta WHERE key = 'application' AND value = 'aiwae'"), 1);
    aw_store_close(s);
    /* A database left at version 0 by a plain sqlite3 open is migrated too. */
    snprintf(path, sizeof path, "%s/plain.db", dir);
    raw_exec(path, "PRAGMA user_version = 0");
    s = open_ok(path, 0);
    ck_assert_int_eq(q_int(s, "PRAGMA user_version"), AW_STORE_SCHEMA_VERSION);
    aw_store_close(s);
}
END_TEST

START_TEST(test_newer_version_rejected)
{
    aw_store_close(open_ok(db, 0));
    char sql[64], what[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", AW_STORE_SCHEMA_VERSION + 1);
    snprintf(what, sizeof what, "newer aiwae (schema version %d", AW_STORE_SCHEMA_VERSION + 1);
    raw_exec(db, sql);
    open_fails(db, 0, what);
    open_fails(db, 1, "newer aiwae");
}
END_TEST

START_TEST(test_foreign_sqlite_rejected)
{
    char path[600];
    snprintf(path, sizeof path, "%s/other.db", dir);
    raw_exec(path, "CREATE TABLE runs(x); INSERT INTO runs VALUES (1)");
    open_fails(path, 0, "not an aiwae database");
    open_fails(path, 1, "not an aiwae database");
    /* The foreign file was not touched: still rollback-journal mode, no new tables. */
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "delete");
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(h);
    /* Our application_id without the aiwae_meta marker is refused too. */
    snprintf(path, sizeof path, "%s/fake.db", dir);
    raw_exec(path, "PRAGMA application_id = 1095325505; PRAGMA user_version = 1; CREATE TABLE t(x)");
    open_fails(path, 0, "no aiwae_meta marker");
}
END_TEST

START_TEST(test_text_file_rejected)
{
    char path[600];
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "this is a text file, line %d\n", i);
    ck_assert_int_eq(fclose(f), 0);
    open_fails(path, 0, "not an SQLite database");
    open_fails(path, 1, "not an SQLite database");
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.db", dir);
    open_fails(missing, 1, "cannot open");
}
END_TEST

/* ---- runs ---- */

START_TEST(test_runs)
{
    aw_store_t *s = open_ok(db, 0);
    char a[65], b[65];
    ident(a, 7);
    ident(b, 8);
    add_run(s, a, "alpha", 5);
    add_run(s, b, "beta", 6);
    aw_error_t err;
    aw_store_run_info_t again = {a, "alpha", "other spec", 99, NULL, "0.2.0"};
    aw_store_run_t r;
    int created = -1;
    ck_assert_int_eq(aw_store_run_upsert(s, &again, &r, &created, &err), 0);
    ck_assert_int_eq(created, 0);
    ck_assert_int_eq(r.epochs_total, 5); /* the existing row: its training as it was */
    ck_assert_str_eq(r.spec, "other spec"); /* the spec text it was last given */
    aw_store_run_fini(&r);

    ck_assert_int_eq(aw_store_run_set_status(s, a, AW_RUN_FAILED, "NaN in the loss", &err), 0);
    ck_assert_int_eq(aw_store_run_get(s, a, &r, &err), 0);
    ck_assert_int_eq(r.status, AW_RUN_FAILED);
    ck_assert_str_eq(r.message, "NaN in the loss");
    ck_assert_str_eq(aw_run_status_name(r.status), "failed");
    aw_store_run_fini(&r);
    ck_assert_int_eq(aw_run_status_parse("interrupted"), AW_RUN_INTERRUPTED);
    ck_assert_int_eq(aw_run_status_parse("done"), -1);

    aw_store_run_t *rows;
    size_t n;
    ck_assert_int_eq(aw_store_runs_list(s, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(rows[0].identity, a);
    ck_assert_str_eq(rows[1].identity, b);
    aw_store_runs_free(rows, n);
    ck_assert_int_eq(aw_store_runs_named(s, "beta", 0, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(rows[0].identity, b);
    aw_store_runs_free(rows, n);
    char prefix[9];
    memcpy(prefix, a, 8);
    prefix[8] = '\0';
    for (int i = 0; i < 8; i++)
        if (prefix[i] >= 'a')
            prefix[i] = (char)(prefix[i] - 32); /* upper case matches too */
    ck_assert_int_eq(aw_store_runs_named(s, prefix, 0, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(rows[0].name, "alpha");
    aw_store_runs_free(rows, n);
    ck_assert_int_eq(aw_store_runs_named(s, b, 0, &rows, &n, &err), 0); /* the full identity */
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(rows[0].name, "beta");
    aw_store_runs_free(rows, n);
    ck_assert_int_eq(aw_store_runs_named(s, "*a", 1, &rows, &n, &err), 0); /* a glob: every match, oldest first */
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(rows[0].name, "alpha");
    ck_assert_str_eq(rows[1].name, "beta");
    aw_store_runs_free(rows, n);
    ck_assert_int_eq(aw_store_runs_named(s, "*a", 0, &rows, &n, &err), AW_ENOTFOUND); /* one wanted */
    ck_assert_msg(strstr(err.msg, "matches 2 runs") != NULL && strstr(err.msg, "alpha (") != NULL, "%s", err.msg);
    ck_assert_int_eq(aw_store_runs_named(s, "", 0, &rows, &n, &err), AW_EARG);
    ck_assert_int_eq(aw_store_runs_named(s, "gamma", 0, &rows, &n, &err), AW_ENOTFOUND);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(rows);
    ck_assert_msg(strstr(err.msg, "no run matches \"gamma\"") != NULL && strstr(err.msg, "beta") != NULL, "%s",
                  err.msg);

    char unknown[65];
    ident(unknown, 9);
    ck_assert_int_eq(aw_store_run_get(s, unknown, &r, &err), AW_ENOTFOUND);
    ck_assert_int_eq(aw_store_run_set_status(s, unknown, AW_RUN_RUNNING, NULL, &err), AW_ENOTFOUND);
    ck_assert_int_eq(aw_store_run_get(s, "ABC", &r, &err), AW_EARG);
    aw_store_run_info_t bad = {"xyz", "n", "s", 1, NULL, "v"};
    ck_assert_int_eq(aw_store_run_upsert(s, &bad, &r, NULL, &err), AW_EARG);
    aw_store_close(s);
}
END_TEST

/* ---- epochs and checkpoints ---- */

/* Latest plus every checkpoint_every-th epoch survive, and metrics round-trip. */
START_TEST(test_commit_and_prune)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 1, "prune", 10);
    aw_error_t err;
    const int every = 3;
    for (int e = 1; e <= 10; e++) {
        ck_assert_msg(commit(s, id, e, e % every == 0, 100, &err) == 0, "%s", err.msg);
        aw_store_ckpt_ref_t *refs;
        size_t n;
        ck_assert_int_eq(aw_store_checkpoints_list(s, id, &refs, &n, &err), 0);
        /* Expected, newest first: e, then the multiples of 3 below it. */
        size_t k = 0;
        ck_assert_uint_ge(n, 1);
        ck_assert_int_eq(refs[k].epoch, e);
        ck_assert_int_eq(refs[k].keep, e % every == 0);
        k++;
        for (int m = (e - 1) / every * every; m >= every; m -= every, k++) {
            ck_assert_uint_gt(n, k);
            ck_assert_int_eq(refs[k].epoch, m);
            ck_assert_int_eq(refs[k].position, 0);
            ck_assert_int_eq(refs[k].keep, 1);
        }
        ck_assert_uint_eq(n, k);
        free(refs);
    }
    ck_assert_int_eq(run_epoch(s, id), 10);
    aw_store_metrics_t *rows;
    size_t n;
    ck_assert_int_eq(aw_store_metrics_list(s, id, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 10);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(rows[i].epoch, (int64_t)i + 1);
        ck_assert_double_eq(rows[i].loss, 100.0 - (double)(i + 1));
        ck_assert_double_eq(rows[i].bound, 99.0 - (double)(i + 1));
        ck_assert_double_eq(rows[i].lr, 1e-3);
        ck_assert_uint_eq(rows[i].n_temps, 2);
        ck_assert_double_eq(rows[i].accept[0], 0.5 + 0.01 * (double)(i + 1)); /* %.17g is exact */
        ck_assert(isnan(rows[i].accept[1]));
        ck_assert_double_eq(rows[i].step[1], 0.2);
        ck_assert_double_eq(rows[i].points_per_s, 1000.0);
    }
    aw_store_metrics_free(rows, n);
    /* A method without temperatures stores empty arrays. */
    char id2[65];
    ident(id2, 2);
    add_run(s, id2, "vae", 1);
    aw_store_metrics_t m = {1, NAN, 2.0, 1e-3, 0, NULL, NULL, 1.0, INFINITY};
    size_t nb;
    uint8_t *b = make_blob(1, 0, 10, &nb);
    ck_assert_int_eq(aw_store_commit_epoch(s, id2, &m, b, nb, 0, &err), 0);
    free(b);
    ck_assert_int_eq(aw_store_metrics_list(s, id2, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(rows[0].n_temps, 0);
    ck_assert(isnan(rows[0].loss) && isnan(rows[0].points_per_s));
    aw_store_metrics_free(rows, n);
    aw_store_close(s);
}
END_TEST

/* A commit that fails half way leaves no trace: not the metrics, the blob, nor runs.epoch. */
START_TEST(test_commit_atomic)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 3, "atomic", 10);
    aw_error_t err;
    for (int e = 1; e <= 3; e++)
        ck_assert_int_eq(commit(s, id, e, 1, 50, &err), 0);
    /* Epoch 2 again: runs.epoch is updated first, then the metrics insert fails. */
    ck_assert_int_eq(commit(s, id, 2, 1, 77, &err), AW_EDB);
    ck_assert_ptr_nonnull(strstr(err.msg, db));
    ck_assert_ptr_nonnull(strstr(err.msg, "already exists"));
    ck_assert_int_eq(run_epoch(s, id), 3);
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(aw_store_load_checkpoint(s, id, 2, 0, &b, &n, &err), 0);
    size_t n50;
    uint8_t *b50 = make_blob(2, 0, 50, &n50);
    ck_assert_uint_eq(n, n50); /* the original blob, not the 77-byte one */
    ck_assert_int_eq(memcmp(b, b50, n), 0);
    free(b);
    free(b50);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), 3);
    /* Unknown run: nothing is written. */
    char other[65];
    ident(other, 4);
    ck_assert_int_eq(commit(s, other, 1, 1, 10, &err), AW_ENOTFOUND);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), 3);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM checkpoints"), 3);
    ck_assert_int_eq(aw_store_load_checkpoint(s, id, 9, 0, &b, &n, &err), AW_ENOTFOUND);
    aw_store_close(s);
}
END_TEST

START_TEST(test_mid_epoch_checkpoints)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 5, "mid", 10);
    aw_error_t err;
    ck_assert_int_eq(commit(s, id, 1, 0, 20, &err), 0);
    ck_assert_int_eq(commit(s, id, 2, 0, 20, &err), 0);
    size_t n;
    uint8_t *b = make_blob(2, 100, 20, &n);
    ck_assert_int_eq(aw_store_save_checkpoint(s, id, 2, 100, b, n, &err), 0);
    free(b);
    aw_store_ckpt_ref_t *refs;
    size_t k;
    ck_assert_int_eq(aw_store_checkpoints_list(s, id, &refs, &k, &err), 0);
    ck_assert_uint_eq(k, 1); /* (2,0) is neither kept nor newest */
    ck_assert_int_eq(refs[0].epoch, 2);
    ck_assert_int_eq(refs[0].position, 100);
    free(refs);
    /* Writing an older key never deletes it or the newest. */
    b = make_blob(1, 50, 20, &n);
    ck_assert_int_eq(aw_store_save_checkpoint(s, id, 1, 50, b, n, &err), 0);
    free(b);
    ck_assert_int_eq(aw_store_checkpoints_list(s, id, &refs, &k, &err), 0);
    ck_assert_uint_eq(k, 2);
    ck_assert_int_eq(refs[0].position, 100);
    ck_assert_int_eq(refs[1].epoch, 1);
    ck_assert_int_eq(refs[1].position, 50);
    free(refs);
    /* The next epoch's commit prunes both; a kept checkpoint re-saved at its key stays kept. */
    ck_assert_int_eq(commit(s, id, 3, 1, 20, &err), 0);
    b = make_blob(3, 0, 20, &n);
    ck_assert_int_eq(aw_store_save_checkpoint(s, id, 3, 0, b, n, &err), 0);
    free(b);
    ck_assert_int_eq(commit(s, id, 4, 0, 20, &err), 0);
    ck_assert_int_eq(aw_store_checkpoints_list(s, id, &refs, &k, &err), 0);
    ck_assert_uint_eq(k, 2);
    ck_assert_int_eq(refs[0].epoch, 4);
    ck_assert_int_eq(refs[1].epoch, 3);
    ck_assert_int_eq(refs[1].keep, 1);
    free(refs);
    ck_assert_int_eq(aw_store_save_checkpoint(s, id, 4, 1, NULL, 0, &err), AW_EARG);
    aw_store_close(s);
}
END_TEST

/* The newest blob corrupted in the database: reported, the previous good one is used. */
START_TEST(test_corrupt_checkpoint_fallback)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 6, "fallback", 10);
    aw_error_t err;
    for (int e = 1; e <= 4; e++)
        ck_assert_int_eq(commit(s, id, e, e % 2 == 0, 64, &err), 0);
    /* Checkpoints 4 (newest, kept) and 2 (kept); flip one byte inside the newest blob. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE checkpoints SET blob = substr(blob, 1, 40) || X'FF' || substr(blob, 42)"
             " WHERE identity = '%s' AND epoch = 4", id);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s), sql, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_changes(aw_store_handle(s)), 1);
    aw_ckpt_t c;
    aw_store_ckpt_ref_t ref = {-1, -1, -1, 0};
    ck_assert_msg(newest_ckpt(s, id, -1, &c, &ref, &err) == 0, "%s", err.msg);
    int64_t epoch = ref.epoch, pos = ref.position;
    ck_assert_int_eq(epoch, 2);
    ck_assert_int_eq(pos, 0);
    ck_assert_int_eq(n_rejected, 1);
    ck_assert_ptr_nonnull(strstr(last_rejected, "epoch 4 step 0"));
    ck_assert_ptr_nonnull(strstr(last_rejected, "checksum"));
    ck_assert_int_eq(ckpt_epoch(&c), 2);
    aw_ckpt_fini(&c);
    aw_store_event_t *ev;
    size_t nev;
    ck_assert_int_eq(aw_store_events_list(s, id, &ev, &nev, &err), 0);
    ck_assert_uint_eq(nev, 1);
    ck_assert_str_eq(ev[0].kind, "checkpoint_bad");
    ck_assert_str_eq(ev[0].identity, id);
    aw_store_events_free(ev, nev);
    /* Roll back to it: metrics and checkpoints after epoch 2 go, training continues from 3. */
    ck_assert_int_eq(aw_store_rollback(s, id, epoch, pos, &err), 0);
    ck_assert_int_eq(run_epoch(s, id), 2);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), 2);
    ck_assert_int_eq(q_int(s, "SELECT max(epoch) FROM checkpoints"), 2);
    ck_assert_int_eq(commit(s, id, 3, 0, 64, &err), 0);
    /* A wrong format version is refused the same way; with every blob bad there is nothing to load. */
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s),
                                  "UPDATE checkpoints SET blob = substr(blob, 1, 4) || X'02000000' || substr(blob, 9)",
                                  NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(newest_ckpt(s, id, -1, &c, &ref, &err), AW_ENOTFOUND);
    ck_assert_int_eq(n_rejected, 2);
    ck_assert_ptr_nonnull(strstr(last_rejected, "format version 2"));
    ck_assert_msg(strstr(err.msg, "no usable checkpoint (2 failed their checks") != NULL, "%s", err.msg);
    ck_assert_uint_eq(c.n, 0);
    aw_store_close(s);
}
END_TEST

/* A taker that refuses every blob with the code at ctx. */
static int take_nothing(void *ctx, const uint8_t *blob, size_t n, aw_error_t *err)
{
    (void)blob;
    (void)n;
    return aw_error_set(err, *(const int *)ctx, "refused");
}

static int count_kind(aw_store_t *s, const char *id, const char *kind)
{
    aw_store_event_t *ev;
    size_t nev;
    aw_error_t err;
    ck_assert_int_eq(aw_store_events_list(s, id, &ev, &nev, &err), 0);
    int k = 0;
    for (size_t i = 0; i < nev; i++)
        k += strcmp(ev[i].kind, kind) == 0;
    aw_store_events_free(ev, nev);
    return k;
}

/* Which checkpoints aw_store_take_checkpoint offers, what ends its search, and that a read-only store
 * reports a damaged checkpoint without logging it. */
START_TEST(test_take_checkpoint)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 7, "take", 10);
    aw_error_t err;
    for (int e = 1; e <= 4; e++)
        ck_assert_int_eq(commit(s, id, e, e % 2 == 0, 32, &err), 0);
    size_t n;
    uint8_t *b = make_blob(4, 3, 32, &n);
    ck_assert_int_eq(aw_store_save_checkpoint(s, id, 4, 3, b, n, &err), 0);
    free(b);
    /* Stored now: (4, 3), (4, 0) and (2, 0). */
    aw_ckpt_t c;
    aw_store_ckpt_ref_t ref;
    const int64_t want[3][2] = {{-1, 4}, {4, 4}, {2, 2}}; /* epoch asked for, epoch taken */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(newest_ckpt(s, id, want[i][0], &c, &ref, &err), 0);
        ck_assert_int_eq(ref.epoch, want[i][1]);
        ck_assert_int_eq(ref.position, want[i][0] < 0 ? 3 : 0);
        ck_assert_int_eq(ckpt_epoch(&c), want[i][1]);
        aw_ckpt_fini(&c);
    }
    ck_assert_int_eq(newest_ckpt(s, id, 3, &c, &ref, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "no checkpoint kept at epoch 3") != NULL, "%s", err.msg);
    ck_assert_int_eq(n_rejected, 0);
    /* Out of memory ends the search at once; any other refusal moves on to the older one. */
    int code = AW_ENOMEM;
    aw_store_ckpt_taker_t t = {.take = take_nothing, .rejected = count_rejected, .ctx = &code};
    n_rejected = 0;
    ck_assert_int_eq(aw_store_take_checkpoint(s, id, -1, &t, NULL, &err), AW_ENOMEM);
    ck_assert_int_eq(n_rejected, 0);
    ck_assert_int_eq(count_kind(s, id, "checkpoint_bad"), 0);
    code = AW_EARG;
    ck_assert_int_eq(aw_store_take_checkpoint(s, id, -1, &t, NULL, &err), AW_ENOTFOUND);
    ck_assert_int_eq(n_rejected, 3);
    ck_assert_int_eq(count_kind(s, id, "checkpoint_bad"), 3);
    /* Damage (4, 3): a reader falls back to (4, 0), tells of it and logs nothing. */
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s),
                                  "UPDATE checkpoints SET blob = substr(blob, 1, 30) || X'FF' || substr(blob, 32)"
                                  " WHERE epoch = 4 AND position = 3", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_changes(aw_store_handle(s)), 1);
    aw_store_t *ro = open_ok(db, 1);
    ck_assert_int_eq(newest_ckpt(ro, id, -1, &c, &ref, &err), 0);
    ck_assert_int_eq(ref.epoch, 4);
    ck_assert_int_eq(ref.position, 0);
    ck_assert_int_eq(n_rejected, 1);
    ck_assert_ptr_nonnull(strstr(last_rejected, "epoch 4 step 3"));
    aw_ckpt_fini(&c);
    aw_store_close(ro);
    ck_assert_int_eq(count_kind(s, id, "checkpoint_bad"), 3);
    aw_store_close(s);
}
END_TEST

/* ---- evaluations ---- */

/* A claim that always counts as alive, for aw_store_runs_delete. */
static int always_alive(const char *owner, void *ctx)
{
    (void)owner;
    (void)ctx;
    return 1;
}

/* Rows of run id in every table. */
static int64_t rows_of(aw_store_t *s, const char *id)
{
    static const char *const tables[] = {"runs", "metrics", "checkpoints", "evaluations", "eval_points", "events"};
    int64_t n = 0;
    for (int t = 0; t < 6; t++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE identity = '%s'", tables[t], id);
        n += q_int(s, sql);
    }
    return n;
}

/* Deleting runs: what each has is counted; all of a run's rows go, in one transaction, and no one else's. */
START_TEST(test_delete_runs)
{
    aw_store_t *s = open_ok(db, 0);
    char a[65], b[65], none[65];
    ident(a, 21);
    ident(b, 22);
    ident(none, 23);
    aw_error_t err;
    const char *ids[] = {a, b};
    for (int r = 0; r < 2; r++) {
        add_run(s, ids[r], r == 0 ? "alpha" : "beta", 3);
        for (int e = 1; e <= 2; e++)
            ck_assert_msg(commit(s, ids[r], e, 1, 100, &err) == 0, "%s", err.msg);
        aw_store_eval_key_t key = {ids[r], "iwae_bound", "{samples: 5}", "test", 2};
        ck_assert_int_eq(aw_store_eval_begin(s, &key, 4, NULL, &err), 0);
        double v[4] = {1, 2, 3, 4};
        ck_assert_int_eq(aw_store_eval_put_points(s, &key, 0, v, 4, 1.0, &err), 0);
        ck_assert_int_eq(aw_store_log_event(s, ids[r], "resume", "resumed", &err), 0);
    }
    ck_assert_int_eq(aw_store_log_event(s, NULL, "note", "about no run", &err), 0);
    aw_store_run_usage_t u;
    ck_assert_msg(aw_store_run_usage(s, a, &u, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(u.metrics, 2);
    ck_assert_int_eq(u.checkpoints, 2);
    ck_assert_int_gt(u.checkpoint_bytes, 200);
    ck_assert_int_eq(u.evaluations, 1);
    ck_assert_int_eq(u.eval_points, 4);
    ck_assert_int_eq(u.events, 1);
    int64_t before_b = rows_of(s, b);
    /* an unknown identity in the list: nothing at all is deleted */
    const char *with_unknown[] = {a, none};
    ck_assert_int_eq(aw_store_runs_delete(s, with_unknown, 2, NULL, NULL, &err), AW_ENOTFOUND);
    ck_assert_int_eq(rows_of(s, a), 11);
    /* a run held by a live process is refused */
    ck_assert_int_eq(aw_store_run_set_status(s, a, AW_RUN_RUNNING, "pid 1 on elsewhere", &err), 0);
    ck_assert_int_eq(aw_store_runs_delete(s, ids, 1, always_alive, NULL, &err), AW_EARG);
    ck_assert_msg(strstr(err.msg, "is being run by pid 1 on elsewhere") != NULL, "%s", err.msg);
    ck_assert_int_eq(rows_of(s, a), 11);
    /* a run whose claimer is gone is not */
    ck_assert_msg(aw_store_runs_delete(s, ids, 1, NULL, NULL, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(rows_of(s, a), 0);
    ck_assert_int_eq(rows_of(s, b), before_b);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM events WHERE identity IS NULL"), 1);
    ck_assert_msg(aw_store_run_usage(s, a, &u, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(u.metrics + u.checkpoints + u.evaluations + u.eval_points + u.events, 0);
    aw_store_close(s);
}
END_TEST

START_TEST(test_eval_resume)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 10, "eval", 1);
    aw_store_eval_key_t key = {id, "ais_nll", "{chains: 16, temperatures: 100}", "test", 5};
    aw_store_eval_t e;
    aw_error_t err;
    ck_assert_int_eq(aw_store_eval_begin(s, &key, 10, &e, &err), 0);
    ck_assert_int_eq(e.n_done, 0);
    ck_assert_int_eq(e.finished, 0);
    ck_assert(isnan(e.mean));
    aw_store_eval_fini(&e);
    double v[10];
    for (int i = 0; i < 10; i++)
        v[i] = -90.0 - 0.5 * i;
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, 0, v, 4, 1.5, &err), 0);
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, 4, v + 4, 3, 2.0, &err), 0);
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, 8, v, 3, 0, &err), AW_EARG); /* past n_total */
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, -1, v, 1, 0, &err), AW_EARG);
    aw_store_close(s);

    /* Resume in a new connection: 7 done, time accumulated, the same points back. */
    s = open_ok(db, 0);
    ck_assert_int_eq(aw_store_eval_begin(s, &key, 10, &e, &err), 0);
    ck_assert_int_eq(e.n_done, 7);
    ck_assert_double_eq(e.seconds, 3.5);
    aw_store_eval_fini(&e);
    ck_assert_int_eq(aw_store_eval_begin(s, &key, 11, NULL, &err), AW_EDB);
    double got[10];
    uint8_t have[10];
    for (int i = 0; i < 10; i++)
        got[i] = 12345.0;
    ck_assert_int_eq(aw_store_eval_points(s, &key, 10, got, have, &err), 0);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(have[i], i < 7);
        ck_assert_double_eq(got[i], i < 7 ? v[i] : 12345.0);
    }
    /* Re-storing a point replaces it without double counting. */
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, 6, v + 6, 4, 1.0, &err), 0);
    double mean = 0;
    for (int i = 0; i < 10; i++)
        mean += v[i] / 10;
    ck_assert_int_eq(aw_store_eval_finish(s, &key, mean, 0.25, 10, 4.5, &err), 0);
    aw_store_eval_t *rows;
    size_t n;
    ck_assert_int_eq(aw_store_evals_list(s, NULL, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(rows[0].n_done, 10);
    ck_assert_int_eq(rows[0].n, 10);
    ck_assert_int_eq(rows[0].finished, 1);
    ck_assert_double_eq(rows[0].mean, mean);
    ck_assert_double_eq(rows[0].se, 0.25);
    ck_assert_double_eq(rows[0].seconds, 4.5);
    ck_assert_str_eq(rows[0].settings, key.settings);
    aw_store_evals_free(rows, n);
    ck_assert_int_eq(aw_store_evals_list(s, id, &rows, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    aw_store_evals_free(rows, n);
    /* Another split is another evaluation; one never begun cannot take points. */
    aw_store_eval_key_t train = key;
    train.split = "train";
    ck_assert_int_eq(aw_store_eval_put_points(s, &train, 0, v, 1, 0, &err), AW_ENOTFOUND);
    ck_assert_int_eq(aw_store_eval_finish(s, &train, 0, 0, 0, 0, &err), AW_ENOTFOUND);
    aw_store_close(s);
}
END_TEST

/* ---- several processes, crashes, full disk, read-only ---- */

/* The metrics writer_child commits for epoch e (acc and step hold its one temperature's values). */
static aw_store_metrics_t writer_metrics(int64_t e, double *acc, double *step)
{
    *acc = 0.9;
    *step = 0.1;
    return (aw_store_metrics_t){e, 1.0, 2.0, 1e-3, 1, acc, step, 0.01, 1e4};
}

/* 1 if m[0..nm) are the rows writer_child committed: epochs 1..nm in order, each with writer_metrics. */
static int metrics_as_written(const aw_store_metrics_t *m, size_t nm)
{
    for (size_t i = 0; i < nm; i++) {
        double acc, step;
        aw_store_metrics_t w = writer_metrics((int64_t)i + 1, &acc, &step);
        if (m[i].epoch != w.epoch || m[i].loss != w.loss || m[i].bound != w.bound || m[i].lr != w.lr ||
            m[i].n_temps != 1 || m[i].accept[0] != acc || m[i].step[0] != step || m[i].seconds != w.seconds ||
            m[i].points_per_s != w.points_per_s)
            return 0;
    }
    return 1;
}

/* Child body: registers run k and commits epochs 1..n; exits 0 or prints and exits 1. */
static void writer_child(const char *path, unsigned k, int n)
{
    aw_store_t *s;
    aw_error_t err;
    char id[65];
    ident(id, k);
    aw_store_run_info_t info = {id, "writer", "spec", n, NULL, "0.1.0"};
    aw_store_run_t r;
    if (aw_store_open(&s, path, 0, &err) != 0 || aw_store_run_upsert(s, &info, &r, NULL, &err) != 0) {
        fprintf(stderr, "child %u: %s\n", k, err.msg);
        _exit(1);
    }
    aw_store_run_fini(&r);
    for (int e = 1; e <= n; e++) {
        double acc, step;
        aw_store_metrics_t m = writer_metrics(e, &acc, &step);
        size_t nb;
        uint8_t *b = make_blob(e, 0, 2048, &nb);
        usleep(2000); /* the epoch's training: commits are spaced, as in real runs */
        int rc = aw_store_commit_epoch(s, id, &m, b, nb, e % 10 == 0, &err);
        free(b);
        if (rc != 0) {
            fprintf(stderr, "child %u epoch %d: %s\n", k, e, err.msg);
            _exit(1);
        }
    }
    aw_store_close(s);
    _exit(0);
}

/* Child body: reads through a read-only connection while the writers write; every read shows whole
 * epochs: the metrics as committed, at least as many as the run's epoch read just before. */
static void reader_child(const char *path, int rounds)
{
    aw_store_t *s = NULL;
    aw_error_t err;
    for (int i = 0; i < 200 && s == NULL; i++) { /* wait for a writer to create the schema */
        if (aw_store_open(&s, path, 1, &err) != 0)
            usleep(10000);
    }
    if (s == NULL) {
        fprintf(stderr, "reader: %s\n", err.msg);
        _exit(1);
    }
    for (int i = 0; i < rounds; i++) {
        aw_store_run_t *runs;
        size_t n;
        if (aw_store_runs_list(s, &runs, &n, &err) != 0) {
            fprintf(stderr, "reader: %s\n", err.msg);
            _exit(1);
        }
        for (size_t j = 0; j < n; j++) {
            aw_store_metrics_t *m;
            size_t nm;
            if (aw_store_metrics_list(s, runs[j].identity, &m, &nm, &err) != 0) {
                fprintf(stderr, "reader: %s\n", err.msg);
                _exit(1);
            }
            if (!metrics_as_written(m, nm) || nm < (size_t)runs[j].epoch) {
                fprintf(stderr, "reader: run %s at epoch %lld: %zu metrics rows, not as committed\n",
                        runs[j].identity, (long long)runs[j].epoch, nm);
                _exit(1);
            }
            aw_store_metrics_free(m, nm);
        }
        aw_store_runs_free(runs, n);
        usleep(5000);
    }
    aw_store_close(s);
    _exit(0);
}

START_TEST(test_two_processes)
{
    const int n = 50;
    pid_t pid[3];
    int gate[2]; /* children start together when the parent closes the pipe */
    ck_assert_int_eq(pipe(gate), 0);
    for (int k = 0; k < 3; k++) {
        pid[k] = fork();
        ck_assert_int_ge(pid[k], 0);
        if (pid[k] == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) != 0)
                _exit(3);
            if (k < 2)
                writer_child(db, 100 + (unsigned)k, n); /* both create the new file at once */
            reader_child(db, 40);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int k = 0; k < 3; k++) {
        int status;
        ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed (see stderr)", k);
    }
    aw_store_t *s = open_ok(db, 1);
    aw_error_t err;
    for (unsigned k = 100; k < 102; k++) {
        char id[65];
        ident(id, k);
        ck_assert_int_eq(run_epoch(s, id), n);
        aw_store_metrics_t *m;
        size_t nm;
        ck_assert_int_eq(aw_store_metrics_list(s, id, &m, &nm, &err), 0);
        ck_assert_uint_eq(nm, (size_t)n);
        ck_assert(metrics_as_written(m, nm));
        aw_store_metrics_free(m, nm);
        aw_store_ckpt_ref_t *refs;
        size_t nr;
        ck_assert_int_eq(aw_store_checkpoints_list(s, id, &refs, &nr, &err), 0);
        ck_assert_uint_eq(nr, 5); /* 50 (newest) and 40, 30, 20, 10 */
        free(refs);
    }
    /* The writers really overlapped: each one's commits span some of the other's. */
    char a[65], b[65], sql[512];
    ident(a, 100);
    ident(b, 101);
    snprintf(sql, sizeof sql,
             "SELECT (SELECT min(created) FROM metrics WHERE identity = '%s') < (SELECT max(created) FROM metrics"
             " WHERE identity = '%s') AND (SELECT min(created) FROM metrics WHERE identity = '%s') <"
             " (SELECT max(created) FROM metrics WHERE identity = '%s')", a, b, b, a);
    ck_assert_int_eq(q_int(s, sql), 1);
    aw_store_close(s);
}
END_TEST

/* kill -9 in the middle of commits: the file is intact and the run resumable
 * at exactly the last committed epoch. */
START_TEST(test_kill9)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 200, "victim", 1000000);
    aw_store_close(s);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        aw_store_t *c;
        aw_error_t err;
        if (aw_store_open(&c, db, 0, &err) != 0)
            _exit(1);
        for (int e = 1;; e++)
            if (commit(c, id, e, e % 7 == 0, 1 << 16, &err) != 0)
                _exit(2);
    }
    /* Let it commit a few epochs (watched through a reader), then kill it mid-write. */
    s = open_ok(db, 1);
    int64_t epoch = 0;
    for (int i = 0; i < 500 && epoch < 5; i++) {
        usleep(10000);
        epoch = q_int(s, "SELECT coalesce(max(epoch), 0) FROM metrics");
    }
    ck_assert_int_ge(epoch, 5);
    usleep(3000);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    aw_store_close(s);

    s = open_ok(db, 0);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(aw_store_handle(s), "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    aw_error_t err;
    int64_t last = run_epoch(s, id);
    ck_assert_int_ge(last, epoch);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), last);
    ck_assert_int_eq(q_int(s, "SELECT max(epoch) FROM metrics"), last);
    aw_ckpt_t c;
    aw_store_ckpt_ref_t ref;
    ck_assert_int_eq(newest_ckpt(s, id, -1, &c, &ref, &err), 0);
    ck_assert_int_eq(n_rejected, 0);
    ck_assert_int_eq(ref.epoch, last);
    ck_assert_int_eq(ckpt_epoch(&c), last);
    aw_ckpt_fini(&c);
    ck_assert_int_eq(commit(s, id, last + 1, 0, 100, &err), 0); /* resumable */
    aw_store_close(s);
}
END_TEST

/* A full disk (simulated by max_page_count): a clear error, nothing committed lost. */
START_TEST(test_disk_full)
{
    char id[65];
    aw_store_t *s = open_with_run(id, 300, "full", 10);
    aw_error_t err;
    for (int e = 1; e <= 3; e++)
        ck_assert_int_eq(commit(s, id, e, 0, 1000, &err), 0);
    aw_store_eval_key_t key = {id, "iwae_bound", "{samples: 5000}", "test", 3};
    ck_assert_int_eq(aw_store_eval_begin(s, &key, 100000, NULL, &err), 0);
    int64_t pages = q_int(s, "PRAGMA page_count");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages + 2);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s), sql, NULL, NULL, NULL), SQLITE_OK);
    aw_error_clear(&err);
    ck_assert_int_eq(commit(s, id, 4, 0, 1 << 18, &err), AW_EDB);
    ck_assert_ptr_nonnull(strstr(err.msg, db));
    ck_assert_msg(strstr(err.msg, "disk full") != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "epoch 4"));
    /* The same connection still reads the committed state. */
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), 3);
    static double v[100000];
    ck_assert_int_eq(aw_store_eval_put_points(s, &key, 0, v, 100000, 1.0, &err), AW_EDB);
    ck_assert_ptr_nonnull(strstr(err.msg, "disk full"));
    aw_store_close(s);

    s = open_ok(db, 0);
    ck_assert_int_eq(run_epoch(s, id), 3);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), 3);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM eval_points"), 0);
    aw_ckpt_t c;
    aw_store_ckpt_ref_t ref;
    ck_assert_int_eq(newest_ckpt(s, id, -1, &c, &ref, &err), 0);
    ck_assert_int_eq(ref.epoch, 3);
    aw_ckpt_fini(&c);
    ck_assert_int_eq(commit(s, id, 4, 0, 1 << 18, &err), 0); /* room again: the same commit succeeds */
    aw_store_close(s);
}
END_TEST

/* Writes through a read-only connection fail with "read-only"; reads work. */
static void check_read_only(aw_store_t *s, const char *id)
{
    aw_error_t err;
    ck_assert_int_eq(run_epoch(s, id), 2);
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(aw_store_load_checkpoint(s, id, 2, 0, &b, &n, &err), 0);
    ck_assert_int_eq(blob_epoch(b, n), 2);
    free(b);
    aw_error_clear(&err);
    ck_assert_int_eq(aw_store_run_set_status(s, id, AW_RUN_RUNNING, "x", &err), AW_EDB);
    ck_assert_msg(strstr(err.msg, "database is read-only") != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, db));
    aw_error_clear(&err);
    ck_assert_int_eq(commit(s, id, 3, 0, 10, &err), AW_EDB);
    ck_assert_msg(strstr(err.msg, "database is read-only") != NULL, "%s", err.msg);
    ck_assert_int_eq(aw_store_log_event(s, id, "k", "m", &err), AW_EDB);
    ck_assert_ptr_nonnull(strstr(err.msg, "read-only"));
}

START_TEST(test_read_only)
{
    char id[65];
    aw_store_t *w = open_with_run(id, 400, "ro", 10);
    aw_error_t err;
    ck_assert_int_eq(commit(w, id, 1, 1, 10, &err), 0);
    ck_assert_int_eq(commit(w, id, 2, 1, 10, &err), 0);
    /* Read-only open while the writer's connection is open. */
    aw_store_t *s = open_ok(db, 1);
    check_read_only(s, id);
    ck_assert_int_eq(commit(w, id, 3, 1, 10, &err), 0); /* the writer is not blocked by the reader */
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), 3); /* and the reader sees it */
    ck_assert_int_eq(aw_store_rollback(w, id, 2, 0, &err), 0);
    aw_store_close(s);
    /* A mode=ro URI, even when opened for writing. */
    char uri[700];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", db);
    s = open_ok(uri, 0);
    aw_error_clear(&err);
    ck_assert_int_eq(aw_store_run_set_status(s, id, AW_RUN_RUNNING, "x", &err), AW_EDB);
    ck_assert_msg(strstr(err.msg, "database is read-only") != NULL, "%s", err.msg);
    aw_store_close(s);
    /* query_only, as when the file cannot be written. */
    s = open_ok(db, 0);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s), "PRAGMA query_only = 1", NULL, NULL, NULL), SQLITE_OK);
    check_read_only(s, id);
    aw_store_close(s);
    /* A file without write permission (only meaningful when not root). */
    if (geteuid() != 0) {
        aw_store_close(w);
        w = NULL;
        ck_assert_int_eq(chmod(db, 0444), 0);
        s = open_ok(db, 1);
        check_read_only(s, id);
        aw_store_close(s);
        ck_assert_int_eq(chmod(db, 0644), 0);
    }
    aw_store_close(w);
    /* Nothing was lost along the way. */
    s = open_ok(db, 0);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM metrics"), 2);
    ck_assert_int_eq(q_int(s, "SELECT count(*) FROM events"), 0);
    aw_store_close(s);
}
END_TEST

/* Another process holding the write lock past the timeout gives the "locked" message. */
START_TEST(test_locked)
{
    aw_store_t *a = open_ok(db, 0), *b = open_ok(db, 0);
    char id[65];
    ident(id, 500);
    add_run(a, id, "locked", 10);
    aw_error_t err;
    ck_assert_int_eq(aw_store_set_busy_timeout(b, 100, &err), 0);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(a), "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    aw_error_clear(&err);
    ck_assert_int_eq(commit(b, id, 1, 0, 10, &err), AW_EDB);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(strstr(err.msg, "locked by another process") != NULL, "%s", err.msg);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert_double_ge(waited, 0.09);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(a), "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(commit(b, id, 1, 0, 10, &err), 0);
    aw_store_close(a);
    aw_store_close(b);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_create_and_reopen);
    tcase_add_test(tc, test_migration_from_empty);
    tcase_add_test(tc, test_newer_version_rejected);
    tcase_add_test(tc, test_foreign_sqlite_rejected);
    tcase_add_test(tc, test_text_file_rejected);
    suite_add_tcase(s, tc);
    tc = tcase_create("rows");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_runs);
    tcase_add_test(tc, test_commit_and_prune);
    tcase_add_test(tc, test_commit_atomic);
    tcase_add_test(tc, test_mid_epoch_checkpoints);
    tcase_add_test(tc, test_corrupt_checkpoint_fallback);
    tcase_add_test(tc, test_take_checkpoint);
    tcase_add_test(tc, test_eval_resume);
    tcase_add_test(tc, test_delete_runs);
    suite_add_tcase(s, tc);
    tc = tcase_create("durability");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_two_processes);
    tcase_add_test(tc, test_kill9);
    tcase_add_test(tc, test_disk_full);
    tcase_add_test(tc, test_read_only);
    tcase_add_test(tc, test_locked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
