/* test_report.c: aiwae-report's tables against golden files, on databases built through the store
 * API from canonical specs; run lookup, --where, and the database errors (missing, foreign, newer, locked).
 * AIWAE_UPDATE_GOLDEN=1 rewrites the goldens in $AIWAE_SRCDIR/tests/golden instead of comparing. */
#include <config.h>

#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "report/figures.h"
#include "report/plot.h"
#include "report/filter.h"
#include "report/grid.h"
#include "report/listing.h"
#include "report/results.h"
#include "report/spec_diff.h"
#include "report/spec_paths.h"
#include "report/report_db.h"
#include "spec/spec.h"
#include "store/run_match.h"
#include "store/store.h"
#include "util/io.h"
#include "util/json.h"
#include "fixtures.h"

#ifdef HAVE_CAIRO
#include <cairo.h>
#endif

/* fontconfig (under cairo's text) keeps a process-wide cache that only FcFini frees. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static char dir[256]; /* scratch directory of one test */
static char db[512];  /* dir/aiwae.db */

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
    snprintf(db, sizeof db, "%s/aiwae.db", dir);
}

static void teardown(void)
{
    aw_fx_rmtree(dir);
}

/* ---- building a database ---- */

static const char NLL_SETTINGS[] = "{chains: 16, temperatures: 500, leapfrog: 10, schedule: linear, step_size: {init: "
                                   "0.1, min: 0.02, max: 0.3, target_accept: 0.6}, size: %d, batch: 256}";
static const char ELBO_SETTINGS[] = "{samples: 5000, size: %d, batch: 32}";

/* Opens the database for writing, without the fsync of every commit (durability is not under test). */
static aw_store_t *open_writer(void)
{
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    ck_assert_msg(aw_store_open(&s, db, 0, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s), "PRAGMA synchronous = OFF", NULL, NULL, NULL), SQLITE_OK);
    return s;
}

/* Registers the run of spec yaml with overrides (one run), returns its identity in id. */
static void add_run(aw_store_t *s, const char *yaml, const char *const *sets, int nsets, char id[65])
{
    aw_spec_list_t l = {0};
    aw_error_t err = {0};
    int rc = aw_spec_load_string(yaml, "test spec", sets, nsets, &l, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_eq(l.n, 1);
    aw_store_run_info_t info = {.identity = l.runs[0].identity, .name = l.runs[0].name,
                                .spec = l.runs[0].canonical, .epochs_total = l.runs[0].train.epochs,
                                .host = "testhost", .version = "test"};
    aw_store_run_t row;
    ck_assert_msg(aw_store_run_upsert(s, &info, &row, NULL, &err) == 0, "%s", err.msg);
    aw_store_run_fini(&row);
    memcpy(id, l.runs[0].identity, 65);
    aw_spec_list_fini(&l);
}

/* Commits epochs 1..n with a bound falling from `start` and nt temperatures. */
static void add_epochs(aw_store_t *s, const char *id, int n, double start, int nt)
{
    aw_error_t err = {0};
    for (int e = 1; e <= n; e++) {
        double acc[8], step[8];
        for (int t = 0; t < nt; t++) {
            acc[t] = 0.5 + 0.05 * t + 0.01 * e;
            step[t] = 0.1 * (1 + 0.25 * t) / e;
        }
        aw_store_metrics_t m = {.epoch = e, .loss = start - 10.0 * e + 1, .bound = start - 10.0 * e, .lr = 1e-3,
                                .n_temps = (size_t)nt, .accept = acc, .step = step, .seconds = 60.0 + e,
                                .points_per_s = 1000.0 - e};
        const char blob[] = "not a checkpoint";
        ck_assert_msg(aw_store_commit_epoch(s, id, &m, blob, sizeof blob, 1, &err) == 0, "%s", err.msg);
    }
}

/* A finished (or, with finish = 0, half-done) evaluation with the given mean. */
static void add_eval(aw_store_t *s, const char *id, const char *est, int points, int64_t epoch, double mean,
                     int finish)
{
    char settings[512];
    snprintf(settings, sizeof settings, strcmp(est, "ais_nll") == 0 ? NLL_SETTINGS : ELBO_SETTINGS, points);
    aw_store_eval_key_t key = {.identity = id, .estimator = est, .settings = settings, .split = "test",
                               .epoch = epoch};
    aw_error_t err = {0};
    ck_assert_msg(aw_store_eval_begin(s, &key, points, NULL, &err) == 0, "%s", err.msg);
    double v[4] = {mean, mean, mean, mean};
    ck_assert_msg(aw_store_eval_put_points(s, &key, 0, v, 4, 1.5, &err) == 0, "%s", err.msg);
    if (finish)
        ck_assert_msg(aw_store_eval_finish(s, &key, mean, 0.25, points, 12.5, &err) == 0, "%s", err.msg);
}

static const char BASE[] = "name: %s\n"
                           "dataset: {name: %s}\n"
                           "method: {name: %s, samples: %d}\n"
                           "train: {epochs: 3}\n";

/* method samples: one run per repeat in reps, each with NLL and ELBO means around nll / elbo. */
static void add_group(aw_store_t *s, const char *name, const char *data, const char *method, int K, int reps,
                      double nll, double elbo, int points)
{
    char yaml[512], rep[32];
    snprintf(yaml, sizeof yaml, BASE, name, data, method, K);
    for (int r = 0; r < reps; r++) {
        snprintf(rep, sizeof rep, "repeat=%d", r);
        const char *sets[] = {rep};
        char id[65];
        add_run(s, yaml, sets, 1, id);
        add_epochs(s, id, 3, nll + 40, strcmp(method, "aiwae") == 0 ? 4 : 0);
        /* replicate r is off by (r - 1) * 0.1: three replicates give sd 0.1 exactly around the centre */
        double d = (r - 1) * 0.1;
        add_eval(s, id, "ais_nll", points, 3, nll + d, 1);
        add_eval(s, id, "iwae_bound", points, 3, elbo + d, 1);
        aw_error_t err = {0};
        ck_assert(aw_store_run_set_status(s, id, AW_RUN_FINISHED, NULL, &err) == 0);
    }
}

/* Fixed times, so the listings are the same every time. */
static void fix_times(aw_store_t *s)
{
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s),
                                  "UPDATE runs SET created = '2026-01-02T03:04:05.000Z', "
                                  "updated = '2026-01-02T04:05:06.000Z'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
}

/* The paper-like database: MNIST and Omniglot, VAE / IWAE K=5 / IWAE K=50 / AIWAE, 3 replicates
 * (2 for MNIST IWAE K=50, none on Omniglot), and one running AIWAE run mid-evaluation. */
static void build_paper_db(void)
{
    aw_store_t *s = open_writer();
    aw_error_t err = {0};
    add_group(s, "mnist_vae", "mnist", "vae", 1, 3, 86.9, 88.3, 1000);
    add_group(s, "mnist_iwae_k5", "mnist", "iwae", 5, 3, 85.6, 86.1, 1000);
    add_group(s, "mnist_iwae_k50", "mnist", "iwae", 50, 2, 84.95, 85.3, 1000);
    add_group(s, "mnist_aiwae_k5", "mnist", "aiwae", 5, 3, 85.2, 85.9, 1000);
    add_group(s, "omniglot_vae", "omniglot", "vae", 1, 3, 108.5, 110.1, 8070);
    add_group(s, "omniglot_iwae_k5", "omniglot", "iwae", 5, 3, 106.9, 107.7, 8070);
    add_group(s, "omniglot_aiwae_k5", "omniglot", "aiwae", 5, 3, 106.1, 107.0, 8070);
    char yaml[512], id[65];
    snprintf(yaml, sizeof yaml, BASE, "mnist_aiwae_k50", "mnist", "aiwae", 50);
    add_run(s, yaml, NULL, 0, id);
    add_epochs(s, id, 2, 130, 4);
    add_eval(s, id, "ais_nll", 1000, 2, 90.0, 0);
    ck_assert(aw_store_run_set_status(s, id, AW_RUN_RUNNING, NULL, &err) == 0);
    fix_times(s);
    aw_store_close(s);
}

/* The one run of the snapshot that query names (store/run_match.h), as aiwae-report looks it up. */
static int find_run(const aw_report_snap_t *snap, const char *query, size_t *at, aw_error_t *err)
{
    const aw_store_run_t *rows[64];
    size_t hits[64], n = 0;
    ck_assert_uint_le(snap->n_runs, 64);
    for (size_t i = 0; i < snap->n_runs; i++)
        rows[i] = &snap->runs[i].row;
    int rc = aw_store_run_match(rows, snap->n_runs, query, 0, hits, &n, err);
    if (rc == 0)
        *at = hits[0];
    return rc;
}

/* ---- goldens ---- */

/* The file's text, NUL-terminated (the caller frees it), or NULL when it cannot be read. */
static char *read_all(const char *path)
{
    aw_buf_t b = {0};
    aw_error_t err = {0};
    if (aw_io_read_file(path, AW_IO_MAX_BYTES, &b, &err) < 0)
        return NULL;
    char *text = malloc(b.size + 1);
    ck_assert_ptr_nonnull(text);
    if (b.size > 0)
        memcpy(text, b.data, b.size);
    text[b.size] = '\0';
    aw_buf_fini(&b);
    return text;
}

/* Compares text with tests/golden/name (or rewrites it under AIWAE_UPDATE_GOLDEN=1); frees text. */
static void golden(const char *name, char *text)
{
    const char *src = getenv("AIWAE_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/%s", src ? src : ".", name);
    const char *upd = getenv("AIWAE_UPDATE_GOLDEN");
    if (upd != NULL && strcmp(upd, "1") == 0) {
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot write %s", path);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
        free(text);
        return;
    }
    char *want = read_all(path);
    ck_assert_msg(want != NULL, "missing golden file %s (AIWAE_UPDATE_GOLDEN=1 creates it)", path);
    if (strcmp(want, text) != 0) {
        char got[600];
        snprintf(got, sizeof got, "%s.got", name);
        FILE *f = fopen(got, "wb");
        if (f != NULL) {
            fputs(text, f);
            fclose(f);
        }
        size_t i = 0;
        while (want[i] && want[i] == text[i])
            i++;
        ck_abort_msg("%s differs from %s at byte %zu (output saved as %s)", name, path, i, got);
    }
    free(want);
    free(text);
}

static void load_snap(aw_report_snap_t *snap)
{
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    ck_assert_msg(aw_report_open(&s, db, 1000, &err) == 0, "%s", err.msg);
    ck_assert_msg(aw_report_snap_load(s, snap, &err) == 0, "%s", err.msg);
    aw_store_close(s);
}

static const char *const EXT[] = {"md", "csv", "tex", "json"};

/* ---- tables ---- */

/* A run marked running under a claim of this host whose process is gone is listed as stale, without an ETA;
 * one claimed by this (live) process stays running. */
START_TEST(test_runs_stale_claims)
{
    aw_store_t *s = open_writer();
    aw_error_t err = {0};
    char yaml[512], id[2][65], owner[300], dead[300];
    const char *names[2] = {"gone", "live"};
    for (int i = 0; i < 2; i++) {
        snprintf(yaml, sizeof yaml, BASE, names[i], "mnist", "iwae", 5 + i);
        add_run(s, yaml, NULL, 0, id[i]);
        add_epochs(s, id[i], 1, 130, 4);
    }
    aw_store_owner_self(owner, sizeof owner);
    /* pid 2^22 + 1 is above Linux's largest pid, so no process has it */
    snprintf(dead, sizeof dead, "pid 4194305%s", strstr(owner, " on "));
    ck_assert(aw_store_run_set_status(s, id[0], AW_RUN_RUNNING, dead, &err) == 0);
    ck_assert(aw_store_run_set_status(s, id[1], AW_RUN_RUNNING, owner, &err) == 0);
    aw_store_close(s);
    aw_report_snap_t snap;
    load_snap(&snap);
    char *out = NULL;
    const aw_report_query_t q = {.epoch = -1};
    ck_assert_msg(aw_report_runs(&snap, &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    /* the runs differ in method.samples, a column between name and status */
    ck_assert_msg(strstr(out, ",gone,5,stale,") != NULL, "%s", out);
    ck_assert_msg(strstr(out, ",live,6,running,") != NULL, "%s", out);
    free(out);
    ck_assert_msg(aw_report_runs(&snap, &q, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "stale: marked running, but the process that claimed it is gone") != NULL, "%s", out);
    free(out);
    aw_report_snap_fini(&snap);
}
END_TEST

/* One results table of the paper database, in every format, against goldens BASE.md, .csv, .tex, .json. */
static void table_goldens(const aw_report_query_t *q, const char *base)
{
    build_paper_db();
    aw_report_snap_t snap;
    load_snap(&snap);
    ck_assert_uint_eq(snap.n_runs, 21);
    for (int f = 0; f < 4; f++) {
        char *out = NULL, name[64];
        aw_error_t err = {0};
        ck_assert_msg(aw_report_results(&snap, q, (aw_report_format_t)f, &out, &err) == 0, "%s", err.msg);
        snprintf(name, sizeof name, "%s.%s", base, EXT[f]);
        golden(name, out);
    }
    aw_report_snap_fini(&snap);
}

START_TEST(test_nll_table_every_format)
{
    const aw_report_query_t q = {.table = "nll", .epoch = -1};
    table_goldens(&q, "nll");
}
END_TEST

START_TEST(test_elbo_table_reference_every_format)
{
    const aw_report_query_t q = {.table = "elbo", .epoch = -1, .reference = 1};
    table_goldens(&q, "elbo_reference");
}
END_TEST

/* The cell values themselves, independent of the goldens: mean and sd over three replicates. */
START_TEST(test_cell_statistics)
{
    build_paper_db();
    aw_report_snap_t snap;
    load_snap(&snap);
    aw_report_query_t q = {.table = "nll", .epoch = -1, .n_datasets = 1, .datasets = {"omniglot"}};
    char *out = NULL;
    aw_error_t err = {0};
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    /* one record per cell; VAE on Omniglot: 108.4, 108.5, 108.6 */
    ck_assert_msg(strstr(out, "nll,vae,VAE,1,,,omniglot,108.5,0.1,3,8070,ais_nll,") != NULL, "%s", out);
    ck_assert_ptr_null(strstr(out, "mnist,"));
    free(out);
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "over 3 replicates") != NULL, "%s", out); /* same count everywhere: said once */
    ck_assert_ptr_null(strstr(out, "(n="));
    free(out);
    q.n_datasets = 0;
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "84.90 \xc2\xb1 0.07 (n=2)") != NULL, "%s", out); /* 84.85, 84.95: sd 0.0707 */
    ck_assert_msg(strstr(out, "1 unfinished evaluation is not shown") != NULL, "%s", out);
    free(out);
    aw_report_snap_fini(&snap);
}
END_TEST

START_TEST(test_where_filters)
{
    build_paper_db();
    aw_report_snap_t snap;
    load_snap(&snap);
    aw_report_query_t q = {.table = "nll", .epoch = -1, .n_where = 2,
                           .where = {"method.name=iwae", "model.hidden=[200, 200]"}};
    char *out = NULL;
    aw_error_t err = {0};
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    golden("nll_where_iwae.md", out);
    q.n_where = 1;
    q.where[0] = "method.samples=50";
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "IWAE K=50") != NULL && strstr(out, "IWAE K=5,") == NULL, "%s", out);
    free(out);
    q.where[0] = "train.learning_rate=1e-3"; /* numbers compare as numbers: 0.001 */
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "VAE") != NULL, "%s", out);
    free(out);
    q.where[0] = "train.no_such_key=1";
    ck_assert_int_eq(aw_report_results(&snap, &q, AW_FMT_MD, &out, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "train.no_such_key") != NULL, "%s", err.msg);
    ck_assert_ptr_null(out);
    q.where[0] = "no equals sign";
    ck_assert_int_eq(aw_report_results(&snap, &q, AW_FMT_MD, &out, &err), AW_EARG);
    aw_report_snap_fini(&snap);
}
END_TEST

/* Different estimator settings, epochs and point counts never share a cell. */
START_TEST(test_settings_kept_apart)
{
    aw_store_t *s = open_writer();
    aw_error_t err = {0};
    char yaml[512], id[3][65];
    snprintf(yaml, sizeof yaml, BASE, "iwae", "mnist", "iwae", 5);
    for (int r = 0; r < 3; r++) {
        char rep[32];
        snprintf(rep, sizeof rep, "repeat=%d", r);
        const char *sets[] = {rep};
        add_run(s, yaml, sets, 1, id[r]);
    }
    add_eval(s, id[0], "ais_nll", 100, 3, 85.0, 1);
    add_eval(s, id[1], "ais_nll", 100, 3, 85.2, 1);
    add_eval(s, id[2], "ais_nll", 200, 3, 86.0, 1); /* more points: a row of its own */
    add_eval(s, id[0], "ais_nll", 100, 1, 95.0, 1); /* an earlier epoch: left out by default */
    /* a different schedule length: other settings, marked [b] */
    aw_store_eval_key_t key = {.identity = id[0], .estimator = "ais_nll",
                               .settings = "{chains: 16, temperatures: 10000, leapfrog: 10, schedule: linear, "
                                           "step_size: {init: 0.1, min: 0.02, max: 0.3, target_accept: 0.6}, "
                                           "size: 100, batch: 256}",
                               .split = "test", .epoch = 3};
    ck_assert(aw_store_eval_begin(s, &key, 100, NULL, &err) == 0);
    ck_assert(aw_store_eval_finish(s, &key, 84.5, 0.2, 100, 1.0, &err) == 0);
    /* a run trained longer: same label, told apart by train.epochs */
    char yaml2[512], id2[65];
    snprintf(yaml2, sizeof yaml2, "name: iwae_long\ndataset: {name: mnist}\nmethod: {name: iwae, samples: 5}\n"
                                  "train: {epochs: 10}\n");
    add_run(s, yaml2, NULL, 0, id2);
    add_eval(s, id2, "ais_nll", 100, 10, 84.0, 1);
    aw_store_close(s);

    aw_report_snap_t snap;
    load_snap(&snap);
    aw_report_query_t q = {.table = "nll", .epoch = -1};
    char *out = NULL;
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    golden("nll_settings_apart.md", out);
    q.epoch = 1;
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, ",95,") != NULL && strstr(out, ",85.1,") == NULL, "%s", out);
    free(out);
    aw_report_snap_fini(&snap);
}
END_TEST

START_TEST(test_empty_database)
{
    aw_store_t *s = open_writer();
    aw_error_t err = {0};
    aw_store_close(s);
    aw_report_snap_t snap;
    load_snap(&snap);
    char *out = NULL;
    aw_report_query_t q = {.table = "elbo", .epoch = -1};
    ck_assert_msg(aw_report_results(&snap, &q, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "No finished iwae_bound evaluations") != NULL, "%s", out);
    free(out);
    ck_assert_msg(aw_report_runs(&snap, NULL, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "no runs yet") != NULL, "%s", out);
    free(out);
    size_t at;
    ck_assert_int_eq(find_run(&snap, "abc", &at, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "has no runs") != NULL, "%s", err.msg);
    aw_report_snap_fini(&snap);
}
END_TEST

/* ---- listings ---- */

START_TEST(test_runs_listing_every_format)
{
    build_paper_db();
    aw_report_snap_t snap;
    load_snap(&snap);
    for (int f = 0; f < 4; f++) {
        char *out = NULL, name[64];
        aw_error_t err = {0};
        ck_assert_msg(aw_report_runs(&snap, NULL, (aw_report_format_t)f, &out, &err) == 0, "%s", err.msg);
        snprintf(name, sizeof name, "runs.%s", EXT[f]);
        golden(name, out);
    }
    aw_report_snap_fini(&snap);
}
END_TEST

START_TEST(test_metrics_every_format)
{
    build_paper_db();
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    aw_report_snap_t snap;
    load_snap(&snap);
    size_t at;
    ck_assert_msg(find_run(&snap, "mnist_aiwae_k50", &at, &err) == 0, "%s", err.msg);
    ck_assert_msg(aw_report_open(&s, db, 1000, &err) == 0, "%s", err.msg);
    aw_store_metrics_t *rows = NULL;
    size_t n = 0;
    ck_assert_msg(aw_store_metrics_list(s, snap.runs[at].row.identity, &rows, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 2);
    for (int f = 0; f < 4; f++) {
        char *out = NULL, name[64];
        ck_assert_msg(aw_report_metrics(&snap, &snap.runs[at], rows, n, (aw_report_format_t)f, &out, &err) == 0, "%s",
                      err.msg);
        snprintf(name, sizeof name, "metrics_aiwae.%s", EXT[f]);
        golden(name, out);
    }
    aw_store_metrics_free(rows, n);
    aw_store_close(s);
    aw_report_snap_fini(&snap);
}
END_TEST

START_TEST(test_find_run)
{
    build_paper_db();
    aw_report_snap_t snap;
    load_snap(&snap);
    aw_error_t err = {0};
    size_t at;
    /* by name (unique), by a full identity in upper case, by its first 12 digits */
    ck_assert_msg(find_run(&snap, "mnist_aiwae_k50", &at, &err) == 0, "%s", err.msg);
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(snap.runs[at].row.identity[i] >= 'a' ? snap.runs[at].row.identity[i] - 32
                                                                : snap.runs[at].row.identity[i]);
    size_t at2 = 99;
    ck_assert_msg(find_run(&snap, upper, &at2, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(at, at2);
    char pre[13];
    memcpy(pre, snap.runs[at].row.identity, 12);
    pre[12] = '\0';
    ck_assert_int_eq(find_run(&snap, pre, &at2, &err), 0);
    ck_assert_uint_eq(at, at2);
    /* a name shared by three replicates: ambiguous, the candidates are listed */
    ck_assert_int_eq(find_run(&snap, "mnist_vae", &at2, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "names 3 runs") != NULL && strstr(err.msg, "(finished, epoch 3 of 3)") != NULL,
                  "%s", err.msg);
    /* a glob that names one run, and one that names several where one is wanted */
    ck_assert_msg(find_run(&snap, "mnist_aiwae_k5?", &at2, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(at, at2);
    ck_assert_int_eq(find_run(&snap, "mnist_*", &at2, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "matches 12 runs and this command takes one") != NULL, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "mnist_vae"));
    /* one hex digit matches several runs */
    char one[2] = {snap.runs[0].row.identity[0], '\0'};
    int hits = 0;
    for (size_t i = 0; i < snap.n_runs; i++)
        hits += snap.runs[i].row.identity[0] == one[0];
    ck_assert_int_eq(find_run(&snap, one, &at2, &err), hits == 1 ? 0 : AW_ENOTFOUND);
    /* nothing matches: the runs there are are listed, on one line */
    ck_assert_int_eq(find_run(&snap, "zzz", &at2, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "no run matches \"zzz\"") != NULL && strstr(err.msg, "mnist_vae") != NULL &&
                      strstr(err.msg, "and 9 more") != NULL && strchr(err.msg, '\n') == NULL,
                  "%s", err.msg);
    /* a near miss lists the runs whose names contain it */
    ck_assert_int_eq(find_run(&snap, "aiwae_k5", &at2, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "runs whose names contain it: ") != NULL && strstr(err.msg, "mnist_vae") == NULL &&
                      strstr(err.msg, "omniglot_aiwae_k5") != NULL,
                  "%s", err.msg);
    aw_report_snap_fini(&snap);
}
END_TEST

/* --runs with --dataset, --where and --status: the runs kept, the keys that differ as columns, and filters
 * that match nothing as errors that list what exists. */
START_TEST(test_runs_filters)
{
    build_paper_db();
    aw_report_snap_t snap;
    load_snap(&snap);
    aw_error_t err = {0};
    char *out = NULL;
    aw_report_query_t q = {.epoch = -1, .n_datasets = 1, .datasets = {"omniglot"}};
    ck_assert_msg(aw_report_runs(&snap, &q, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    /* omniglot's runs differ in method and repeat, not in dataset */
    ck_assert_msg(strncmp(out, "identity,name,method.name,method.samples,train.batch_size,repeat,status,", 72) == 0,
                  "%s", out);
    ck_assert_ptr_null(strstr(out, "mnist"));
    ck_assert_ptr_nonnull(strstr(out, ",omniglot_iwae_k5,iwae,5,20,2,finished,"));
    free(out);
    q.datasets[0] = "mnsit";
    ck_assert_int_eq(aw_report_runs(&snap, &q, AW_FMT_MD, &out, &err), AW_ENOTFOUND);
    ck_assert_msg(strncmp(err.msg, "--dataset mnsit: no run is on that dataset; the runs' datasets: ", 63) == 0 &&
                      strstr(err.msg, "mnist (12 runs)") != NULL && strstr(err.msg, "omniglot (9 runs)") != NULL,
                  "%s", err.msg);
    q.n_datasets = 2; /* one good dataset does not hide a misspelt one */
    q.datasets[1] = "mnist";
    ck_assert_int_eq(aw_report_runs(&snap, &q, AW_FMT_MD, &out, &err), AW_ENOTFOUND);
    aw_report_query_t w = {.epoch = -1, .n_where = 1, .where = {"train.epochs=5"}};
    ck_assert_int_eq(aw_report_runs(&snap, &w, AW_FMT_MD, &out, &err), AW_ENOTFOUND);
    ck_assert_str_eq(err.msg, "--where train.epochs=5: no run has that value; the runs' values of train.epochs: "
                              "3 (21 runs)");
    /* each filter alone matches runs, together none */
    aw_report_query_t both = {.epoch = -1, .n_datasets = 1, .datasets = {"omniglot"}, .n_where = 1,
                              .where = {"method.samples=50"}};
    ck_assert_int_eq(aw_report_results(&snap, &(aw_report_query_t){.table = "nll", .epoch = -1, .n_datasets = 1,
                                                                    .datasets = {"omniglot"}, .n_where = 1,
                                                                    .where = {"method.samples=50"}},
                                       AW_FMT_MD, &out, &err),
                     AW_ENOTFOUND);
    ck_assert_int_eq(aw_report_runs(&snap, &both, AW_FMT_MD, &out, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "no run passes --dataset omniglot --where method.samples=50 together") != NULL,
                  "%s", err.msg);
    /* --status: the one running run; a status no run has is an empty listing that says so */
    aw_report_query_t st = {.epoch = -1, .n_status = 1, .status = {AW_RUN_RUNNING}};
    ck_assert_msg(aw_report_runs(&snap, &st, AW_FMT_CSV, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strncmp(out, "identity,name,status,", 21) == 0 && strstr(out, ",mnist_aiwae_k50,running,") &&
                      strstr(out, "finished") == NULL,
                  "%s", out);
    free(out);
    st.status[0] = AW_RUN_FAILED;
    ck_assert_msg(aw_report_runs(&snap, &st, AW_FMT_MD, &out, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(out, "No run of the 21 in the database has the status asked for.") != NULL, "%s", out);
    free(out);
    aw_report_snap_fini(&snap);
}
END_TEST

/* The keys that differ: training keys only, in document order, with each spec's value. */
START_TEST(test_spec_diff)
{
    /* model.latent is only in a: a key that only some have differs only if their values do */
    const char *specs[] = {"name: a\nmethod: {name: iwae, samples: 5}\ntrain: {epochs: 3, threads: 1}\n"
                           "evaluate: [{estimator: iwae_bound, samples: 10}]\nseed: 0\nrepeat: 0\nmodel: {latent: 2}\n",
                           "name: b\nmethod: {name: iwae, samples: 50}\ntrain: {epochs: 3, threads: 2}\n"
                           "evaluate: [{estimator: iwae_bound, samples: 20}]\nseed: 4\n",
                           "not: [valid"};
    aw_report_diff_t d;
    aw_error_t err = {0};
    ck_assert_msg(aw_report_spec_diff(specs, 3, &d, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n_keys, 2);
    ck_assert_str_eq(d.keys[0], "method.samples");
    ck_assert_str_eq(d.keys[1], "seed");
    ck_assert_str_eq(d.values[0], "5");
    ck_assert_str_eq(d.values[1], "0");
    ck_assert_str_eq(d.values[2], "50");
    ck_assert_str_eq(d.values[3], "4");
    ck_assert_ptr_null(d.values[4]); /* the spec that does not parse */
    aw_report_diff_fini(&d);
    ck_assert_msg(aw_report_spec_diff(specs, 1, &d, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n_keys, 0); /* one run: nothing differs */
    aw_report_diff_fini(&d);
}
END_TEST

START_TEST(test_spec_match)
{
    const char *y = "name: \"x\"\nmodel:\n  latent: 50\n  hidden: [200, 200]\ntrain:\n  learning_rate: 0.001\n"
                    "dataset:\n  dir: ~\nevaluate:\n  - estimator: iwae_bound\n    samples: 5000\n";
    aw_error_t err = {0};
    ck_assert_int_eq(aw_report_spec_match(y, "model.latent", "50", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "model.latent", "20", &err), 0);
    ck_assert_int_eq(aw_report_spec_match(y, "model.hidden", "[200,200]", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "model.hidden", "[200, 200]", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "model.hidden[1]", "200", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "train.learning_rate", "1e-3", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "dataset.dir", "null", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "evaluate[0].samples", "5000", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "evaluate.0.samples", "5000", &err), 1);
    ck_assert_int_eq(aw_report_spec_match(y, "evaluate[1].samples", "5000", &err), -1);
    ck_assert_int_eq(aw_report_spec_match(y, "model", "50", &err), 0);
    ck_assert_int_eq(aw_report_spec_match(y, "model.depth", "2", &err), -1);
    ck_assert_int_eq(aw_report_spec_match(y, "name", "x", &err), 1);
    ck_assert_int_lt(aw_report_spec_match("a: [", "a", "1", &err), -1);
}
END_TEST

/* The reference number of the run a spec text describes. */
static double reference_of(const char *yaml)
{
    aw_spec_t sp;
    aw_error_t err = {0};
    ck_assert_msg(aw_spec_from_canonical(yaml, "t.yaml", &sp, &err) == 0, "%s", err.msg);
    double r = aw_report_reference(&sp);
    aw_spec_fini(&sp);
    return r;
}

START_TEST(test_formats_and_labels)
{
    aw_report_format_t f;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_report_format_parse("latex", &f, &err), 0);
    ck_assert_int_eq(f, AW_FMT_LATEX);
    ck_assert_int_eq(aw_report_format_parse("xml", &f, &err), AW_EARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "xml"));
    ck_assert_double_eq_tol(reference_of("method: {name: iwae, samples: 50}"), 84.78, 1e-12);
    ck_assert_double_eq_tol(reference_of("method: {name: iwae, samples: 5}"), 85.54, 1e-12);
    ck_assert_double_eq_tol(reference_of("method: {name: vae}"), 86.76, 1e-12);
    ck_assert(isnan(reference_of("method: {name: aiwae, samples: 5}")));
    ck_assert(isnan(reference_of("method: {name: iwae, samples: 7}")));
}
END_TEST

/* ---- database errors ---- */

START_TEST(test_missing_and_foreign_database)
{
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_report_open(&s, db, 1000, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "no such database") != NULL && strstr(err.msg, db) != NULL, "%s", err.msg);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(access(db, F_OK), -1); /* and it was not created */
    ck_assert_int_eq(aw_report_open(&s, dir, 1000, &err), AW_EIO);
    FILE *f = fopen(db, "w");
    ck_assert_ptr_nonnull(f);
    fputs("name,value\nx,1\n", f);
    fclose(f);
    ck_assert_int_eq(aw_report_open(&s, db, 1000, &err), AW_EDB);
    ck_assert_msg(strstr(err.msg, "not an SQLite database") != NULL || strstr(err.msg, "not an aiwae") != NULL, "%s",
                  err.msg);
    ck_assert_ptr_null(strchr(err.msg, '\n'));
    /* an SQLite file of someone else */
    unlink(db);
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ck_assert_int_eq(aw_report_open(&s, db, 1000, &err), AW_EDB);
    ck_assert_msg(strstr(err.msg, "not an aiwae database") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_newer_schema)
{
    aw_store_t *s = open_writer();
    aw_error_t err = {0};
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(s), "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    aw_store_close(s);
    ck_assert_int_eq(aw_report_open(&s, db, 1000, &err), AW_EDB);
    ck_assert_msg(strstr(err.msg, "newer") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_locked_database)
{
    build_paper_db();
    /* A writer that holds the database exclusively (locking_mode=EXCLUSIVE and a write). */
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "PRAGMA journal_mode=DELETE; PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; "
                                     "UPDATE runs SET name = name",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    aw_report_snap_t snap;
    int rc = aw_report_open(&s, db, 200, &err);
    if (rc == 0) {
        rc = aw_report_snap_load(s, &snap, &err);
        aw_store_close(s);
    }
    ck_assert_int_eq(rc, AW_EDB);
    ck_assert_msg(strstr(err.msg, "locked") != NULL, "%s", err.msg);
    ck_assert_ptr_null(strchr(err.msg, '\n'));
    ck_assert_int_eq(sqlite3_exec(h, "COMMIT; PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}
END_TEST

/* A writer in the middle of a transaction (WAL) does not stop the reader, who sees the last commit. */
START_TEST(test_reads_while_writing)
{
    build_paper_db();
    aw_store_t *w = NULL;
    aw_error_t err = {0};
    ck_assert_msg(aw_store_open(&w, db, 0, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(w), "BEGIN IMMEDIATE; DELETE FROM evaluations", NULL, NULL, NULL),
                     SQLITE_OK);
    aw_report_snap_t snap;
    load_snap(&snap);
    ck_assert_uint_eq(snap.n_runs, 21);
    ck_assert_uint_eq(snap.n_evals, 41);
    aw_report_snap_fini(&snap);
    ck_assert_int_eq(sqlite3_exec(aw_store_handle(w), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    aw_store_close(w);
}
END_TEST


/* ---- pictures ---- */

/* 1 if this build draws (configure found cairo); the picture functions fail with AW_EARG otherwise. */
#ifdef HAVE_CAIRO
#define HAVE_PLOT 1
#else
#define HAVE_PLOT 0
#endif

/* Width and height from a PNG's IHDR chunk, or -1 if the file is not a PNG. */
static void png_size(const char *path, long *w, long *h)
{
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    *w = *h = -1;
    if (f == NULL)
        return;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 24 || memcmp(b, sig, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0)
        return;
    *w = (long)b[16] << 24 | (long)b[17] << 16 | (long)b[18] << 8 | b[19];
    *h = (long)b[20] << 24 | (long)b[21] << 16 | (long)b[22] << 8 | b[23];
}

START_TEST(test_curves_png_and_svg)
{
    aw_store_metrics_t m[2][30];
    double acc[30][3], step[30][3];
    for (int e = 0; e < 30; e++) {
        for (int t = 0; t < 3; t++) {
            acc[e][t] = 0.9 - 0.1 * t - 0.005 * e;
            step[e][t] = 0.05 * (t + 1) * (1 + 0.02 * e);
        }
        for (int r = 0; r < 2; r++)
            m[r][e] = (aw_store_metrics_t){.epoch = e + 1, .bound = 200 - 3 * e - 5 * r, .loss = 200 - 3 * e,
                                           .n_temps = r == 1 ? 3 : 0, .accept = acc[e], .step = step[e]};
    }
    m[0][7].bound = NAN; /* a gap in the line */
    aw_plot_eval_t ev[] = {{"iwae_bound", 10, 150, 1.5}, {"ais_nll", 30, 120, 2.0}};
    aw_plot_run_t runs[] = {{"first", m[0], 30, ev, 2}, {"second (aiwae)", m[1], 30, ev + 1, 1}};
    char path[600];
    aw_error_t err = {0};
    snprintf(path, sizeof path, "%s/c.png", dir);
    if (!HAVE_PLOT) {
        ck_assert_int_eq(aw_plot_curves(path, "t", runs, 2, &err), AW_EARG);
        ck_assert_ptr_nonnull(strstr(err.msg, "not built in"));
        return;
    }
    ck_assert_msg(aw_plot_curves(path, "curves", runs, 2, &err) == 0, "%s", err.msg);
    long w, h;
    png_size(path, &w, &h);
    ck_assert_int_eq(w, 1100);
    ck_assert_int_eq(h, 520 + 330); /* one extra row: the run with temperatures */
    ck_assert_msg(aw_plot_curves(path, "curves", runs, 1, &err) == 0, "%s", err.msg);
    png_size(path, &w, &h);
    ck_assert_int_eq(h, 520);
    snprintf(path, sizeof path, "%s/c.svg", dir);
    ck_assert_msg(aw_plot_curves(path, "curves", runs, 2, &err) == 0, "%s", err.msg);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char head[512] = "";
    size_t got = fread(head, 1, sizeof head - 1, f);
    head[got] = '\0';
    fclose(f);
    ck_assert_msg(strstr(head, "<svg") != NULL && strstr(head, "width=\"1100") != NULL, "%s", head);
    snprintf(path, sizeof path, "%s/c.gif", dir);
    ck_assert_int_eq(aw_plot_curves(path, "curves", runs, 2, &err), AW_EARG);
    snprintf(path, sizeof path, "%s/no/dir/c.png", dir);
    ck_assert_int_eq(aw_plot_curves(path, "curves", runs, 2, &err), AW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "no/dir"));
    /* no data at all still draws empty axes */
    snprintf(path, sizeof path, "%s/empty.png", dir);
    aw_plot_run_t none = {"nothing", NULL, 0, NULL, 0};
    ck_assert_msg(aw_plot_curves(path, NULL, &none, 1, &err) == 0, "%s", err.msg);
}
END_TEST

START_TEST(test_samples_grid)
{
    enum { R = 8, C = 8, NP = 4, NT = 2 };
    float prior[NP * R * C], x[NT * R * C], recon[NT * R * C];
    for (int i = 0; i < NP * R * C; i++)
        prior[i] = 1.0f; /* all ink: black squares */
    for (int i = 0; i < NT * R * C; i++) {
        x[i] = 1.0f;
        recon[i] = 0.0f; /* no ink: white squares */
    }
    char path[600];
    aw_error_t err = {0};
    snprintf(path, sizeof path, "%s/s.png", dir);
    if (!HAVE_PLOT) {
        ck_assert_int_eq(aw_plot_samples(path, "t", R, C, prior, NP, x, recon, NT, &err), AW_EARG);
        return;
    }
    ck_assert_msg(aw_plot_samples(path, "samples", R, C, prior, NP, x, recon, NT, &err) == 0, "%s", err.msg);
#ifdef HAVE_CAIRO
    /* Read the picture back: images are scaled 3x, the prior grid starts at (40, 80), the pairs
     * grid 50 pixels to the right of the prior grid (2 columns of 8*3+2 pixels). */
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    ck_assert_int_eq(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    cairo_surface_flush(img);
    const unsigned char *d = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    uint32_t px;
    memcpy(&px, d + (80 + 5) * stride + 4 * (40 + 5), 4);
    ck_assert_uint_eq(px & 0xffffff, 0x000000); /* inside a prior sample: black */
    int x2 = 40 + 2 * (C * 3 + 2) + 50;
    memcpy(&px, d + (80 + 5) * stride + 4 * (x2 + 5), 4);
    ck_assert_uint_eq(px & 0xffffff, 0x000000); /* a test image */
    memcpy(&px, d + (80 + 5) * stride + 4 * (x2 + (C * 3 + 2) + 5), 4);
    ck_assert_uint_eq(px & 0xffffff, 0xffffff); /* its reconstruction, next to it */
    cairo_surface_destroy(img);
    cairo_debug_reset_static_data();
#endif
    ck_assert_int_eq(aw_plot_samples(path, "samples", 0, C, prior, NP, x, recon, NT, &err), AW_EARG);
    snprintf(path, sizeof path, "%s/s.svg", dir);
    ck_assert_int_eq(aw_plot_samples(path, "samples", R, C, prior, NP, x, recon, NT, &err), AW_EARG);
}
END_TEST

/* ---- the shared pieces: JSON text, the dataset table, pictures from the database ---- */

START_TEST(test_json_text)
{
    aw_sbuf_t b = {0};
    aw_json_str(&b, "a\"b\\c\nd\re\tf\x01g\xc2\xb1");
    aw_sbuf_puts(&b, " ");
    aw_json_num(&b, 0.1);
    aw_sbuf_puts(&b, " ");
    aw_json_num(&b, NAN);
    aw_sbuf_puts(&b, " ");
    aw_json_num(&b, -INFINITY);
    char *text = aw_sbuf_finish(&b);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\xc2\xb1\" 0.1 null null");
    free(text);
}
END_TEST

START_TEST(test_dataset_table)
{
    const char *const *names = aw_dataset_names();
    int n = 0;
    while (names[n] != NULL)
        n++;
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(names[0], "mnist");
    ck_assert_str_eq(names[1], "omniglot");
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(aw_dataset_index(names[i]), i);
    ck_assert_int_eq(aw_dataset_index("cifar"), -1);
    ck_assert_int_eq(aw_dataset_index(NULL), -1);
    ck_assert_str_eq(aw_dataset_title("binarized_mnist"), "Binarized MNIST");
    ck_assert_str_eq(aw_dataset_title("omniglot"), "Omniglot");
    ck_assert_str_eq(aw_dataset_title("cifar"), "cifar");
    /* the loader names the datasets it knows when given another */
    aw_data_opts_t o = {.name = "cifar"};
    aw_dataset_t ds;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_ESPEC);
    ck_assert_msg(strstr(err.msg, "expected mnist, omniglot, binarized_mnist or idx") != NULL, "%s", err.msg);
}
END_TEST

/* Curves and samples of runs the database has: unknown runs and runs without checkpoints fail
 * with one clear error; curves of known runs are drawn. */
START_TEST(test_figures_from_db)
{
    build_paper_db();
    aw_report_snap_t snap;
    load_snap(&snap);
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    ck_assert_msg(aw_report_open(&s, db, 1000, &err) == 0, "%s", err.msg);
    char path[600];
    snprintf(path, sizeof path, "%s/c.png", dir);
    size_t good[1];
    ck_assert_msg(find_run(&snap, "mnist_aiwae_k50", &good[0], &err) == 0, "%s", err.msg);
    int rc = aw_report_curves(s, &snap, good, 1, "test", path, &err);
    if (HAVE_PLOT) {
        ck_assert_msg(rc == 0, "%s", err.msg);
        long w, h;
        png_size(path, &w, &h);
        ck_assert_int_eq(w, 1100);
        ck_assert_int_eq(h, 520 + 330); /* the AIWAE run has temperatures */
    } else {
        ck_assert_int_eq(rc, AW_EARG);
    }
    size_t at;
    ck_assert_msg(find_run(&snap, "mnist_aiwae_k50", &at, &err) == 0, "%s", err.msg);
    int64_t ep = -7;
    snprintf(path, sizeof path, "%s/s.png", dir);
    ck_assert_int_lt(aw_report_samples(s, &snap.runs[at], -1, 0, path, &ep, &err), 0);
    ck_assert_int_eq(ep, -7); /* untouched on failure */
    ck_assert_ptr_null(strchr(err.msg, '\n'));
    ck_assert_int_eq(access(path, F_OK), -1);
    aw_report_run_t broken = snap.runs[at];
    broken.spec_ok = 0;
    snprintf(broken.spec_error, sizeof broken.spec_error, "run x: the stored spec does not load");
    ck_assert_int_eq(aw_report_samples(s, &broken, -1, 0, path, &ep, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "run x: the stored spec does not load");
    aw_store_close(s);
    aw_report_snap_fini(&snap);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *t = tcase_create("tables");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_nll_table_every_format);
    tcase_add_test(t, test_elbo_table_reference_every_format);
    tcase_add_test(t, test_cell_statistics);
    tcase_add_test(t, test_where_filters);
    tcase_add_test(t, test_settings_kept_apart);
    tcase_add_test(t, test_empty_database);
    suite_add_tcase(s, t);
    t = tcase_create("listings");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_runs_listing_every_format);
    tcase_add_test(t, test_runs_stale_claims);
    tcase_add_test(t, test_metrics_every_format);
    tcase_add_test(t, test_find_run);
    tcase_add_test(t, test_spec_match);
    tcase_add_test(t, test_runs_filters);
    tcase_add_test(t, test_spec_diff);
    tcase_add_test(t, test_formats_and_labels);
    suite_add_tcase(s, t);
    t = tcase_create("errors");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_missing_and_foreign_database);
    tcase_add_test(t, test_newer_schema);
    tcase_add_test(t, test_locked_database);
    tcase_add_test(t, test_reads_while_writing);
    suite_add_tcase(s, t);
    t = tcase_create("pictures");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_curves_png_and_svg);
    tcase_add_test(t, test_samples_grid);
    tcase_add_test(t, test_figures_from_db);
    suite_add_tcase(s, t);
    t = tcase_create("shared");
    tcase_add_test(t, test_json_text);
    tcase_add_test(t, test_dataset_table);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
