/* bench.c: throughput of the numeric core at the paper's shapes (IWAE training steps, the IWAE-5000 bound)
 * and of cblas_sgemm at the same GEMM shapes, printed as a markdown table (`make bench`). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "core/objective.h"
#include "methods/plugin.h"

/* One benchmark's result row. */
typedef struct row {
    const char *name;     /* peer_torch.py's benchmark name (or a GEMM label) */
    const char *what;     /* human description */
    double sec;           /* median seconds per call */
    double best;          /* fastest repetition's seconds per call */
    double points;        /* data points per call (0 for GEMMs) */
    double flop;          /* GEMM flops per call, "as implemented" (encoder once per data point) */
    double target;        /* points/s to reach (1.5x / 2x the tuned PyTorch peer on the reference host), 0 if none */
} row_t;

/* Wall time, or with --cputime the process's CPU time (meaningful with --threads 1 on a busy machine). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void die(const char *what, const aw_error_t *err)
{
    fprintf(stderr, "bench: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static const aw_shape_t paper = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};

/* Binary images, each pixel on with probability 0.13 (peer_torch.py's inputs). */
static float *images(aw_rng_t *rng, int n)
{
    float *x = malloc((size_t)n * paper.D * sizeof *x);
    if (!x)
        die("images", NULL);
    for (size_t i = 0; i < (size_t)n * paper.D; i++)
        x[i] = aw_rng_uniform(rng) < 0.13;
    return x;
}

/* IWAE training steps (Adam included) on B points, K samples: median over reps of `iters` steps. */
static row_t bench_iwae_step(int B, int K, int reps, int iters)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, 1, 0);
    aw_model_t m;
    aw_error_t err;
    if (aw_model_init(&m, &paper, &rng, &err) < 0)
        die("model", &err);
    enum { NBATCH = 8 };
    float *x = images(&rng, NBATCH * B);
    const aw_method_ops_t *ops = aw_method_find("iwae");
    aw_cfg_t cfg;
    char k[16];
    snprintf(k, sizeof k, "%d", K);
    if (ops == NULL || aw_settings_defaults(&ops->settings, cfg.bytes, &err) != 0 ||
        aw_settings_set(&ops->settings, cfg.bytes, "samples", k, &err) != 0)
        die("iwae settings", ops == NULL ? NULL : &err);
    const aw_adam_cfg_t adam = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-4f};
    void *st;
    if (ops->create(cfg.bytes, &adam, &m, B, &st, &err) < 0)
        die("iwae create", &err);
    aw_step_stats_t stats;
    double *t = malloc((size_t)reps * sizeof *t);
    for (int it = 0; it < 20; it++) { /* warm-up, and past the very first steps */
        const float *xb = x + (size_t)(it % NBATCH) * B * paper.D;
        if (ops->step(st, &m, xb, B, 1e-3f, &rng, &stats, &err) < 0)
            die("iwae step", &err);
    }
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int it = 0; it < iters; it++)
            if (ops->step(st, &m, x + (size_t)(it % NBATCH) * B * paper.D, B, 1e-3f, &rng, &stats, &err) < 0)
                die("iwae step", &err);
        t[r] = (now() - t0) / iters;
    }
    const double med = aw_bench_median(t, reps); /* sorts t */
    row_t row = {.sec = med, .best = t[0], .points = B,
                 .flop = B * 987200.0 + (double)K * B * 1240800.0};
    free(t);
    free(x);
    ops->destroy(st);
    aw_model_fini(&m);
    return row;
}

/* The IWAE-S bound on one batch of P points per call. */
static row_t bench_bound(int S, int P, int reps)
{
    aw_rng_t rng;
    aw_rng_seed(&rng, 2, 0);
    aw_model_t m;
    aw_error_t err;
    if (aw_model_init(&m, &paper, &rng, &err) < 0)
        die("model", &err);
    float *x = images(&rng, P);
    const aw_estimator_ops_t *est = aw_estimator_find("iwae_bound");
    aw_cfg_t cfg;
    char sv[16];
    snprintf(sv, sizeof sv, "%d", S);
    if (est == NULL || aw_settings_defaults(&est->settings, cfg.bytes, &err) != 0 ||
        aw_settings_set(&est->settings, cfg.bytes, "samples", sv, &err) != 0 ||
        aw_settings_validate(&est->settings, cfg.bytes, &err) != 0)
        die("bound settings", est == NULL ? NULL : &err);
    const aw_eval_ctx_t ctx = {.batch = P};
    double *out = malloc((size_t)P * sizeof *out), *t = malloc((size_t)reps * sizeof *t);
    if (est->eval(cfg.bytes, &ctx, &m, x, P, &rng, out, &err) < 0)
        die("bound", &err);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (est->eval(cfg.bytes, &ctx, &m, x, P, &rng, out, &err) < 0)
            die("bound", &err);
        t[r] = now() - t0;
    }
    const double med = aw_bench_median(t, reps); /* sorts t */
    row_t row = {.sec = med, .best = t[0], .points = P, .flop = P * 433600.0 + (double)P * S * 413600.0};
    free(t);
    free(out);
    free(x);
    aw_model_fini(&m);
    return row;
}

/* cblas_sgemm C [M,N] = op(A) op(B) at one of the model's shapes; op is "NT", "NN" or "TN". */
static row_t bench_sgemm(int M, int N, int K, const char *op, int reps)
{
    float *a = calloc((size_t)M * K, sizeof *a), *b = calloc((size_t)K * N, sizeof *b),
          *c = calloc((size_t)M * N, sizeof *c);
    if (!a || !b || !c)
        die("sgemm buffers", NULL);
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)K * N; i++)
        b[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    const int ta = op[0] == 'T', tb = op[1] == 'T';
    const int iters = (int)fmax(1, 2e8 / (2.0 * M * N * K));
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        for (int it = 0; it < iters; it++)
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                        K, 1.0f, a, ta ? M : K, b, tb ? K : N, 0.0f, c, N);
        if (r >= 0)
            t[r] = (now() - t0) / iters;
    }
    const double med = aw_bench_median(t, reps); /* sorts t */
    row_t row = {.sec = med, .best = t[0], .flop = 2.0 * M * N * K};
    free(t);
    free(a);
    free(b);
    free(c);
    return row;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench [--threads N] [--reps R] [--quick] [--no-ftz] [--cputime]\n"
                    "  IWAE training steps and the IWAE-5000 bound at the paper's shapes, and cblas_sgemm\n"
                    "  at the same GEMM shapes; prints a markdown table and `BENCH <name> <points/s>`\n"
                    "  lines (read by tests/bench/compare).\n");
}

int main(int argc, char **argv)
{
    const char *blas = aw_bench_blas_core("bench", argv);
    int threads = 2, reps = 7, quick = 0, ftz = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--no-ftz"))
            ftz = 0;
        else if (!strcmp(argv[i], "--cputime"))
            bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        else {
            usage();
            return 2;
        }
    }
    if (threads < 1 || reps < 1) {
        usage();
        return 2;
    }
    if (quick)
        reps = 3;
    if (ftz)
        aw_bench_ftz();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);

    row_t rows[16];
    int n = 0;
    rows[n] = bench_iwae_step(20, 5, reps, quick ? 50 : 200);
    rows[n].name = "iwae_train_b20", rows[n].what = "IWAE train step K=5 B=20 (with Adam)";
    rows[n++].target = 12540;
    rows[n] = bench_iwae_step(128, 5, reps, quick ? 10 : 40);
    rows[n].name = "iwae_train_b128", rows[n].what = "IWAE train step K=5 B=128 (with Adam)";
    rows[n++].target = 29160;
    rows[n] = bench_bound(5000, 32, quick ? 3 : (reps < 5 ? reps : 5));
    rows[n].name = "iwae5000_eval", rows[n].what = "IWAE-5000 bound, 32 points per call";
    rows[n++].target = 119;
    const struct {
        int M, N, K;
        const char *op, *what;
    } g[] = {{640, 784, 200, "NT", "dec L3 fwd"},     {640, 200, 784, "NN", "dec L3 bwd-in"},
             {200, 784, 640, "TN", "dec L3 bwd-W"},   {640, 200, 200, "NT", "L2 fwd"},
             {640, 200, 50, "NT", "dec L1 fwd"},      {100, 784, 200, "NT", "dec L3 fwd (B=20)"},
             {8000, 784, 200, "NT", "dec L3 fwd (bound chunk)"},
             {8000, 200, 200, "NT", "L2 fwd (bound chunk)"}};
    static char labels[8][80];
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        rows[n] = bench_sgemm(g[i].M, g[i].N, g[i].K, g[i].op, reps);
        snprintf(labels[i], sizeof labels[i], "sgemm %dx%dx%d %s (%s)", g[i].M, g[i].N, g[i].K, g[i].op,
                 g[i].what);
        rows[n].name = "sgemm";
        rows[n++].what = labels[i];
    }

    printf("\nnumeric core, %d threads%s%s, median of %d repetitions, OpenBLAS core %s\n\n", threads,
           ftz ? ", FTZ/DAZ" : ", no FTZ/DAZ", bench_clock == CLOCK_MONOTONIC ? "" : ", CPU time", reps, blas);
    printf("| benchmark | ms/call | points/s | target points/s | GFLOP/s | best rep: ms, GFLOP/s |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        char pts[32] = "", tgt[32] = "";
        if (r->points > 0)
            snprintf(pts, sizeof pts, "%.1f", r->points / r->sec);
        if (r->target > 0)
            snprintf(tgt, sizeof tgt, "%.0f%s", r->target, r->points / r->sec >= r->target ? " (met)" : "");
        printf("| %s | %.3f | %s | %s | %.1f | %.3f, %.1f |\n", r->what, r->sec * 1e3, pts, tgt,
               r->flop / r->sec * 1e-9, r->best * 1e3, r->flop / r->best * 1e-9);
    }
    printf("\n");
    for (int i = 0; i < n; i++)
        if (rows[i].points > 0)
            printf("BENCH %s %.6g\n", rows[i].name, rows[i].points / rows[i].sec);
    return 0;
}
