/* test_run.c: the runner's recovery paths on a tiny IDX data set: NaN
 * rollback, giving up, a damaged checkpoint, interruption and claims. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "core/objective.h"
#include "run/blas_core.h"
#include "run/ckpt_layout.h"
#include "run/retention.h"
#include "run/run.h"
#include "spec/spec.h"
#include "store/store.h"
#include "fixtures.h"

static char dir[256]; /* this test's scratch directory */

/* Writes dir/name: an IDX file of n images of 6x6 pixels, pseudo-random intensities. */
static void write_idx(const char *name, int n, unsigned seed)
{
    uint8_t *px = malloc((size_t)n * 36);
    ck_assert_ptr_nonnull(px);
    for (int i = 0; i < n * 36; i++) {
        seed = seed * 1103515245u + 12345u;
        px[i] = (uint8_t)((seed >> 16) & 0xff);
    }
    const uint32_t dims[3] = {(uint32_t)n, 6, 6};
    aw_fx_buf_t b;
    aw_fx_idx_u8(3, dims, px, &b);
    free(px);
    char p[512];
    ck_assert_int_eq(aw_fx_write_in(dir, name, &b, p, sizeof p), 0);
    aw_fx_buf_fini(&b);
}

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
    write_idx("train.idx", 64, 1);
    write_idx("test.idx", 16, 2);
}

static void teardown(void)
{
    aw_fx_rmtree(dir);
}

static void load_spec(aw_spec_list_t *list, int epochs)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: t\nseed: 5\n"
             "dataset: {name: idx, train_images: \"%s/train.idx\", test_images: \"%s/test.idx\"}\n"
             "model: {latent: 2, hidden: [5]}\n"
             "method: {name: iwae, samples: 2}\n"
             "train: {epochs: %d, batch_size: 8, schedule: constant, checkpoint_every: 2, threads: 1}\n"
             "evaluate: [{estimator: iwae_bound, samples: 8, split: test, batch: 4}]\n",
             dir, dir, epochs);
    aw_error_t err = {0};
    int rc = aw_spec_load_string(yaml, "test", NULL, 0, list, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(list->n, 1);
}

static aw_store_t *open_store(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    int rc = aw_store_open(&s, p, 0, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return s;
}

/* Overwrites byte 101 (1-based) of the one checkpoint of identity that matches `where` (an SQL condition)
 * with 0x00, so that it fails its checksum. */
static void damage_checkpoint(aw_store_t *s, const char *identity, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE checkpoints SET blob = substr(blob, 1, 100) || x'00' || substr(blob, 102) "
             "WHERE identity = '%s' AND %s", identity, where);
    char *emsg = NULL;
    ck_assert_msg(sqlite3_exec(aw_store_handle(s), sql, NULL, NULL, &emsg) == SQLITE_OK, "%s", emsg);
    ck_assert_int_eq(sqlite3_changes(aw_store_handle(s)), 1);
}

/* A method that behaves like iwae but fails with a non-finite loss at chosen steps. */
static long nan_from = -1, nan_until = -1; /* global steps [from, until) fail */
static long steps_seen;

static int flaky_step(void *state, struct aw_model *model, const float *x, int B, float lr, aw_rng_t *rng,
                      aw_step_stats_t *stats, aw_error_t *err)
{
    long k = steps_seen++;
    if (k >= nan_from && k < nan_until) {
        stats->loss = NAN;
        stats->bound = NAN;
        return aw_error_set(err, AW_ENUMERIC, "injected NaN at step %ld", k);
    }
    return aw_method_find("iwae")->step(state, model, x, B, lr, rng, stats, err);
}

static aw_method_ops_t flaky_ops;

static void init_flaky(long from, long until)
{
    flaky_ops = *aw_method_find("iwae");
    flaky_ops.name = "iwae";
    flaky_ops.step = flaky_step;
    nan_from = from;
    nan_until = until;
    steps_seen = 0;
}

static int count_events(aw_store_t *s, const char *identity, const char *kind)
{
    aw_store_event_t *ev = NULL;
    size_t n = 0;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_store_events_list(s, identity, &ev, &n, &err), 0);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(ev[i].kind, kind) == 0;
    aw_store_events_free(ev, n);
    return k;
}

static void run_status(aw_store_t *s, const char *identity, aw_run_status_t want, int64_t epoch)
{
    aw_store_run_t row;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_store_run_get(s, identity, &row, &err), 0);
    ck_assert_int_eq(row.status, want);
    ck_assert_int_eq(row.epoch, epoch);
    aw_store_run_fini(&row);
}

static void final_params(aw_store_t *s, const char *identity, float **out, size_t *n)
{
    aw_model_t m;
    aw_error_t err = {0};
    int rc = aw_run_load_model(s, identity, -1, &m, NULL, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    *n = m.n_params;
    *out = malloc(m.n_params * sizeof(float));
    ck_assert_ptr_nonnull(*out);
    memcpy(*out, m.params, m.n_params * sizeof(float));
    aw_model_fini(&m);
}

START_TEST(test_nan_rolls_back_and_recovers)
{
    aw_spec_list_t list;
    load_spec(&list, 4);
    aw_store_t *s = open_store("nan.db");
    init_flaky(13, 14); /* one failure in epoch 2 (8 steps per epoch) */
    aw_run_opts_t o = {.threads = 1, .method = &flaky_ops};
    aw_error_t err = {0};
    int fb = -1;
    int rc = aw_run(&list.runs[0], s, &o, &fb, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(fb, 0);
    ck_assert_int_eq(count_events(s, list.runs[0].identity, "nan_rollback"), 1);
    run_status(s, list.runs[0].identity, AW_RUN_FINISHED, 4);
    /* Epoch 2 was redone from the epoch-1 checkpoint: 4*8 steps + 1 failed + 5 redone. */
    ck_assert_int_eq(steps_seen, 4 * 8 + 1 + 5);
    aw_store_close(s);
    aw_spec_list_fini(&list);
}
END_TEST

/* A non-finite loss in the first epoch rolls back to the initial state, which a training run keeps in
 * memory instead of storing (nothing at epoch 0 step 0 in the store). */
START_TEST(test_nan_in_first_epoch)
{
    aw_spec_list_t list;
    load_spec(&list, 4);
    aw_store_t *s = open_store("nan1.db");
    init_flaky(3, 4);
    aw_run_opts_t o = {.threads = 1, .method = &flaky_ops};
    aw_error_t err = {0};
    int fb = -1;
    int rc = aw_run(&list.runs[0], s, &o, &fb, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(count_events(s, list.runs[0].identity, "nan_rollback"), 1);
    run_status(s, list.runs[0].identity, AW_RUN_FINISHED, 4);
    /* Epoch 1 was redone from the start: 4*8 steps + 1 failed + 3 redone. */
    ck_assert_int_eq(steps_seen, 4 * 8 + 1 + 3);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(aw_store_handle(s), "SELECT count(*) FROM checkpoints WHERE epoch = 0",
                                        -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    aw_store_close(s);
    aw_spec_list_fini(&list);
}
END_TEST

START_TEST(test_nan_gives_up)
{
    aw_spec_list_t list;
    load_spec(&list, 4);
    aw_store_t *s = open_store("nan2.db");
    init_flaky(10, 1000000);
    aw_run_opts_t o = {.threads = 1, .method = &flaky_ops, .max_nan_retries = 3};
    aw_error_t err = {0};
    int fb = -1;
    int rc = aw_run(&list.runs[0], s, &o, &fb, &err);
    ck_assert_int_eq(rc, AW_ENUMERIC);
    ck_assert_msg(strstr(err.msg, "gave up after 3 rollbacks") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "at epoch 2 step 0") != NULL, "%s", err.msg);
    ck_assert_int_eq(count_events(s, list.runs[0].identity, "nan_rollback"), 3);
    run_status(s, list.runs[0].identity, AW_RUN_FAILED, 1);
    aw_store_close(s);
    aw_spec_list_fini(&list);
}
END_TEST

/* A damaged newest checkpoint is reported and the previous one used; the
 * final parameters are still those of an uninterrupted run. */
START_TEST(test_bad_checkpoint_falls_back)
{
    aw_spec_list_t list;
    load_spec(&list, 5);
    const aw_spec_t *spec = &list.runs[0];
    aw_error_t err = {0};
    int fb;

    aw_store_t *ref = open_store("ref.db");
    aw_run_opts_t o = {.threads = 1};
    ck_assert_int_eq(aw_run(spec, ref, &o, &fb, &err), 0);

    aw_store_t *s = open_store("bad.db");
    aw_run_opts_t stop = {.threads = 1, .stop_after_steps = 27};
    ck_assert_int_eq(aw_run(spec, s, &stop, &fb, &err), AW_EINTR);
    run_status(s, spec->identity, AW_RUN_INTERRUPTED, 3);
    /* Damage the mid-epoch checkpoint the interruption wrote (epoch 3, step 3). */
    damage_checkpoint(s, spec->identity, "epoch = 3 AND position = 3");
    ck_assert_int_eq(aw_run(spec, s, &o, &fb, &err), 0);
    ck_assert_int_eq(count_events(s, spec->identity, "checkpoint_bad"), 1);
    run_status(s, spec->identity, AW_RUN_FINISHED, 5);

    float *a, *b;
    size_t na, nb;
    final_params(ref, spec->identity, &a, &na);
    final_params(s, spec->identity, &b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(a, b, na * sizeof(float)), 0);
    free(a);
    free(b);
    aw_store_close(ref);
    aw_store_close(s);
    aw_spec_list_fini(&list);
}
END_TEST

/* aw_run_load_model, as aiwae-report calls it on a read-only store: the newest checkpoint, the one kept
 * at an epoch, and the fallback past a damaged one without writing to the store. */
START_TEST(test_load_model)
{
    aw_spec_list_t list;
    load_spec(&list, 20);
    const aw_spec_t *spec = &list.runs[0];
    aw_error_t err = {0};
    int fb;
    aw_store_t *s = open_store("load.db");
    aw_run_opts_t o = {.threads = 1};
    ck_assert_int_eq(aw_run(spec, s, &o, &fb, &err), 0); /* kept: the even epochs (checkpoint_every: 2) and 3, 5, 13, 15 (eighths) */
    char p[512];
    snprintf(p, sizeof p, "%s/load.db", dir);
    aw_store_t *ro = NULL;
    ck_assert_int_eq(aw_store_open(&ro, p, 1, &err), 0);
    aw_model_t m4, m;
    int64_t ep = -1;
    ck_assert_msg(aw_run_load_model(ro, spec->identity, -1, &m, &ep, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ep, 20);
    ck_assert_int_eq(m.shape.D, 36);
    ck_assert_int_eq(m.shape.hidden[0], 5);
    ck_assert_int_eq(aw_run_load_model(ro, spec->identity, 18, &m4, &ep, &err), 0);
    ck_assert_int_eq(ep, 18);
    ck_assert_uint_eq(m.n_params, m4.n_params);
    ck_assert_int_ne(memcmp(m.params, m4.params, m.n_params * sizeof(float)), 0);
    aw_model_fini(&m);
    ck_assert_int_eq(aw_run_load_model(ro, spec->identity, 7, &m, &ep, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "no checkpoint kept at epoch 7") != NULL, "%s", err.msg);
    /* Damage the newest: the newest usable one is then epoch 18's, and nothing is logged. */
    damage_checkpoint(s, spec->identity, "epoch = 20");
    ck_assert_msg(aw_run_load_model(ro, spec->identity, -1, &m, &ep, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ep, 18);
    ck_assert_int_eq(memcmp(m.params, m4.params, m.n_params * sizeof(float)), 0);
    aw_model_fini(&m);
    ck_assert_int_eq(aw_run_load_model(ro, spec->identity, 20, &m, &ep, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "1 failed their checks") != NULL, "%s", err.msg);
    ck_assert_int_eq(count_events(s, spec->identity, "checkpoint_bad"), 0);
    aw_model_fini(&m4);
    aw_store_close(ro);
    aw_store_close(s);
    aw_spec_list_fini(&list);
}
END_TEST

/* Rewrites checkpoint (epoch, position) of a run with its progress section's position and points set as
 * given, re-encoded so that its checksum is valid (as anyone who can write the database could). */
static void forge_position(aw_store_t *s, const char *identity, int64_t epoch, int64_t position, int64_t new_pos,
                           int64_t new_points)
{
    sqlite3 *db = aw_store_handle(s);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT blob FROM checkpoints WHERE identity = ? AND epoch = ? AND "
                                        "position = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, identity, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, epoch);
    sqlite3_bind_int64(st, 3, position);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    aw_run_ckpt_t ck;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_run_ckpt_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &ck, &err),
                     0);
    sqlite3_finalize(st);
    ck.prog.position = new_pos;
    ck.prog.points = new_points;
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(aw_run_ckpt_encode(&ck, &b, &n, &err), 0);
    aw_run_ckpt_fini(&ck);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "UPDATE checkpoints SET blob = ? WHERE identity = ? AND epoch = ? AND "
                                        "position = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, b, (int)n, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, identity, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, epoch);
    sqlite3_bind_int64(st, 4, position);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    ck_assert_int_eq(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    free(b);
}

static void same_params(aw_store_t *a, aw_store_t *b, const char *identity)
{
    float *x, *y;
    size_t nx, ny;
    final_params(a, identity, &x, &nx);
    final_params(b, identity, &y, &ny);
    ck_assert_uint_eq(nx, ny);
    ck_assert_int_eq(memcmp(x, y, nx * sizeof(float)), 0);
    free(x);
    free(y);
}

static int64_t count_rows(aw_store_t *s, const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(aw_store_handle(s), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Issue 14.2: a checkpoint with a valid checksum but a position past the epoch (or points that do not
 * match it) is rejected as checkpoint_bad and the run falls back to the previous one, ending with the
 * parameters of an uninterrupted run. */
START_TEST(test_forged_position_falls_back)
{
    aw_spec_list_t list;
    load_spec(&list, 5);
    const aw_spec_t *spec = &list.runs[0];
    aw_error_t err = {0};
    int fb;
    aw_store_t *ref = open_store("ref.db");
    aw_run_opts_t o = {.threads = 1};
    ck_assert_int_eq(aw_run(spec, ref, &o, &fb, &err), 0);
    const int64_t forged[][2] = {{1000, 8000}, {3, 5}, {-4, -32}};
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "forged%d.db", k);
        aw_store_t *s = open_store(name);
        aw_run_opts_t stop = {.threads = 1, .stop_after_steps = 27};
        ck_assert_int_eq(aw_run(spec, s, &stop, &fb, &err), AW_EINTR);
        forge_position(s, spec->identity, 3, 3, forged[k][0], forged[k][1]);
        ck_assert_msg(aw_run(spec, s, &o, &fb, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(count_events(s, spec->identity, "checkpoint_bad"), 1);
        run_status(s, spec->identity, AW_RUN_FINISHED, 5);
        same_params(ref, s, spec->identity);
        aw_store_close(s);
    }
    aw_store_close(ref);
    aw_spec_list_fini(&list);
}
END_TEST

/* Issue 14.9: when no checkpoint is usable the run starts over, and must first drop the metrics it had
 * recorded (the resume failed with "UNIQUE constraint failed: metrics.identity, metrics.epoch"). A
 * rollback also drops the evaluations after its epoch. */
START_TEST(test_all_checkpoints_bad_starts_over)
{
    aw_spec_list_t list;
    load_spec(&list, 5);
    const aw_spec_t *spec = &list.runs[0];
    aw_error_t err = {0};
    int fb;
    aw_store_t *ref = open_store("ref.db");
    aw_run_opts_t o = {.threads = 1};
    ck_assert_int_eq(aw_run(spec, ref, &o, &fb, &err), 0);
    aw_store_t *s = open_store("allbad.db");
    aw_run_opts_t stop = {.threads = 1, .stop_after_steps = 27};
    ck_assert_int_eq(aw_run(spec, s, &stop, &fb, &err), AW_EINTR);
    ck_assert_int_eq(count_rows(s, "SELECT count(*) FROM metrics"), 3);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s), "UPDATE checkpoints SET blob = x'00'", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_msg(aw_run(spec, s, &o, &fb, &err) == 0, "%s", err.msg);
    run_status(s, spec->identity, AW_RUN_FINISHED, 5);
    same_params(ref, s, spec->identity);
    ck_assert_int_eq(count_rows(s, "SELECT count(*) FROM metrics"), 5);
    /* The finished run has its final evaluation at epoch 5; rolling back to epoch 4 drops it. */
    ck_assert_int_eq(count_rows(s, "SELECT count(*) FROM evaluations WHERE epoch = 5"), 1);
    ck_assert_int_gt(count_rows(s, "SELECT count(*) FROM eval_points WHERE epoch = 5"), 0);
    ck_assert_int_eq(aw_store_rollback(s, spec->identity, 4, 0, &err), 0);
    ck_assert_int_eq(count_rows(s, "SELECT count(*) FROM evaluations WHERE epoch > 4"), 0);
    ck_assert_int_eq(count_rows(s, "SELECT count(*) FROM eval_points WHERE epoch > 4"), 0);
    ck_assert_int_eq(count_rows(s, "SELECT count(*) FROM metrics"), 4);
    aw_store_close(s);
    aw_store_close(ref);
    aw_spec_list_fini(&list);
}
END_TEST

/* Issue 14.5: train.threads is bounded like --threads, and a count the system cannot create is an error
 * (OpenMP would abort), not a crash. */
START_TEST(test_threads_bounded)
{
    aw_error_t err = {0};
    ck_assert_int_eq(aw_run_set_threads(AW_MAX_THREADS + 1, &err), AW_EARG);
    ck_assert_int_eq(aw_run_set_threads(0, &err), AW_EARG);
    ck_assert_int_eq(aw_run_set_threads(1, &err), 0);
    aw_spec_list_t list;
    ck_assert_int_eq(aw_spec_load_string("train: {threads: 100000}\n", "t", NULL, 0, &list, &err), AW_ESPEC);
    ck_assert_msg(strstr(err.msg, "expected an integer in 1..1024") != NULL, "%s", err.msg);
}
END_TEST

/* A run claimed by a live process is left alone; one claimed by a dead
 * process is taken over. */
START_TEST(test_claims)
{
    aw_spec_list_t list;
    load_spec(&list, 2);
    const aw_spec_t *spec = &list.runs[0];
    aw_store_t *s = open_store("claim.db");
    aw_error_t err = {0};
    aw_store_run_info_t info = {.identity = spec->identity, .name = spec->name, .spec = spec->canonical,
                                .epochs_total = 2, .version = "test"};
    aw_store_run_t row;
    ck_assert_int_eq(aw_store_run_upsert(s, &info, &row, NULL, &err), 0);
    aw_store_run_fini(&row);
    char host[256], owner[400];
    ck_assert_int_eq(gethostname(host, sizeof host), 0);
    host[sizeof host - 1] = '\0';
    /* our parent is alive and is not us */
    snprintf(owner, sizeof owner, "pid %ld on %s", (long)getppid(), host);
    ck_assert_int_eq(aw_store_run_set_status(s, spec->identity, AW_RUN_RUNNING, owner, &err), 0);
    aw_run_opts_t o = {.threads = 1};
    int fb = -1;
    ck_assert_int_eq(aw_run(spec, s, &o, &fb, &err), 0);
    ck_assert_int_eq(fb, 2);
    ck_assert_msg(strstr(err.msg, owner) != NULL, "%s", err.msg);
    /* a pid that cannot exist */
    snprintf(owner, sizeof owner, "pid 2147483600 on %s", host);
    ck_assert_int_eq(aw_store_run_set_status(s, spec->identity, AW_RUN_RUNNING, owner, &err), 0);
    ck_assert_int_eq(aw_run(spec, s, &o, &fb, &err), 0);
    ck_assert_int_eq(fb, 0);
    run_status(s, spec->identity, AW_RUN_FINISHED, 2);
    aw_store_close(s);
    aw_spec_list_fini(&list);
}
END_TEST

/* The epochs rule keeps for good: the kept epochs of spec text yaml, joined by spaces, into buf. */
static void kept_epochs(const char *yaml, char *buf, size_t n)
{
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_msg(aw_spec_load_string(yaml, "retention", NULL, 0, &l, &err) == 0, "%s", err.msg);
    size_t used = 0;
    buf[0] = '\0';
    for (int64_t e = 0; e <= l.runs[0].train.epochs + 1; e++)
        if (aw_run_keeps_checkpoint(&l.runs[0], e))
            used += (size_t)snprintf(buf + used, n - used, "%s%lld", used ? " " : "", (long long)e);
    int64_t count = 0;
    for (const char *p = buf; *p; p++)
        count += *p == ' ';
    ck_assert_int_eq(aw_run_kept_count(&l.runs[0]), (buf[0] ? count + 1 : 0));
    aw_spec_list_fini(&l);
}

START_TEST(test_retention)
{
    char got[4096];
    /* The paper's run: the ends of Burda's eight stages, the last being the run's end. */
    kept_epochs("evaluate: []\n", got, sizeof got);
    ck_assert_str_eq(got, "1 4 13 40 121 364 1093 3280");
    /* A short Burda run: the stage ends it reaches and its last epoch. */
    kept_epochs("train: {epochs: 10}\n", got, sizeof got);
    ck_assert_str_eq(got, "1 4 10");
    /* A constant schedule: the first epoch at or after each eighth, and every epoch of a short run. */
    kept_epochs("train: {epochs: 20, schedule: constant}\n", got, sizeof got);
    ck_assert_str_eq(got, "3 5 8 10 13 15 18 20");
    kept_epochs("train: {epochs: 3, schedule: constant}\n", got, sizeof got);
    ck_assert_str_eq(got, "1 2 3");
    /* Epochs with an every-N evaluation due, and checkpoint_every's multiples. */
    kept_epochs("train: {epochs: 30, checkpoint_every: 25}\n"
                "evaluate: [{estimator: iwae_bound}, {estimator: iwae_bound, samples: 7, every: 12}]\n",
                got, sizeof got);
    ck_assert_str_eq(got, "1 4 12 13 24 25 30");
}
END_TEST

/* Shards of an evaluation are whole calls of `batch` points, in order, covering every point once. */
/* OpenBLAS's fallback kernel sets (below AVX2) are replaced by the widest the CPU has; its AVX2 and AVX-512
 * picks are kept. */
START_TEST(test_blas_core_for)
{
    ck_assert_str_eq(aw_blas_core_for("Prescott", 2), "SkylakeX");
    ck_assert_str_eq(aw_blas_core_for("Nehalem", 2), "SkylakeX");
    ck_assert_ptr_null(aw_blas_core_for("Haswell", 2));
    ck_assert_ptr_null(aw_blas_core_for("Zen", 2));
    ck_assert_str_eq(aw_blas_core_for("Prescott", 1), "Haswell");
    ck_assert_str_eq(aw_blas_core_for("Sandybridge", 1), "Haswell");
    ck_assert_ptr_null(aw_blas_core_for("SkylakeX", 2));
    ck_assert_ptr_null(aw_blas_core_for("Cooperlake", 2));
    ck_assert_ptr_null(aw_blas_core_for("SapphireRapids", 2));
    ck_assert_ptr_null(aw_blas_core_for("SkylakeX", 1));
    ck_assert_ptr_null(aw_blas_core_for("Haswell", 1));
    ck_assert_ptr_null(aw_blas_core_for("Prescott", 0));
    ck_assert_ptr_null(aw_blas_core_for(NULL, 2));
}
END_TEST

/* The program run again with OPENBLAS_CORETYPE removes what was set, so that the programs it starts pick
 * for themselves, and keeps what OpenBLAS had picked for --version; a caller's OPENBLAS_CORETYPE stays. */
START_TEST(test_blas_core_rerun)
{
    aw_error_t err = {0};
    ck_assert_int_eq(setenv("AIWAE_OPENBLAS_PICKED", "Prescott", 1), 0);
    ck_assert_int_eq(setenv("OPENBLAS_CORETYPE", "SkylakeX", 1), 0);
    char *argv[] = {"test_run", NULL};
    ck_assert_int_eq(aw_blas_core_ensure(argv, &err), 0);
    ck_assert_ptr_null(getenv("AIWAE_OPENBLAS_PICKED"));
    ck_assert_ptr_null(getenv("OPENBLAS_CORETYPE"));
    ck_assert_str_eq(aw_blas_core_note(), "Prescott");
    ck_assert_int_eq(setenv("OPENBLAS_CORETYPE", "Haswell", 1), 0);
    ck_assert_int_eq(aw_blas_core_ensure(argv, &err), 0); /* the caller's choice: no exec */
    ck_assert_str_eq(getenv("OPENBLAS_CORETYPE"), "Haswell");
    unsetenv("OPENBLAS_CORETYPE");
}
END_TEST

START_TEST(test_shard_ranges)
{
    static const long sizes[] = {1, 23, 24, 25, 1000};
    static const int batches[] = {1, 5, 256}, shard_counts[] = {1, 2, 3, 7, 300};
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 5; c++) {
                long n = sizes[a], next = 0;
                int B = batches[b], S = shard_counts[c];
                for (int k = 0; k < S; k++) {
                    long lo, hi;
                    aw_run_shard_range(n, B, S, k, &lo, &hi);
                    ck_assert_int_eq(lo, next);
                    ck_assert_int_le(lo, hi);
                    ck_assert(lo % B == 0);
                    ck_assert(hi % B == 0 || hi == n);
                    next = hi;
                }
                ck_assert_int_eq(next, n);
            }
    double v[3] = {1.0, 2.0, 4.0}, mean, se;
    aw_run_eval_summary(v, 3, &mean, &se);
    ck_assert(fabs(mean - 7.0 / 3.0) < 1e-15);
    ck_assert(fabs(se - sqrt((16.0 / 9 + 1.0 / 9 + 25.0 / 9) / 2 / 3)) < 1e-15);
}
END_TEST

static Suite *run_suite(void)
{
    Suite *su = suite_create("run");
    TCase *tc = tcase_create("recovery");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_nan_rolls_back_and_recovers);
    tcase_add_test(tc, test_nan_in_first_epoch);
    tcase_add_test(tc, test_nan_gives_up);
    tcase_add_test(tc, test_bad_checkpoint_falls_back);
    tcase_add_test(tc, test_shard_ranges);
    tcase_add_test(tc, test_blas_core_for);
    tcase_add_test(tc, test_blas_core_rerun);
    tcase_add_test(tc, test_load_model);
    tcase_add_test(tc, test_claims);
    tcase_add_test(tc, test_forged_position_falls_back);
    tcase_add_test(tc, test_all_checkpoints_bad_starts_over);
    tcase_add_test(tc, test_threads_bounded);
    tcase_add_test(tc, test_retention);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(run_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
