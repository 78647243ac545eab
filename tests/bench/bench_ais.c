/* bench_ais.c: throughput of the AIWAE training step and of AIS evaluation at the sizes the PyTorch peer
 * (tests/bench/peer_torch.py) measures, peak memory of an AIWAE step at T = 5 vs T = 50, printed as a
 * markdown table.
 * Usage: bench_ais [threads (2)] [repetitions (7)] [all|aiwae|ais|mem]. Build without sanitizers at -O2. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/ais.h"
#include "core/model.h"

/* GEMM flops "as implemented" (encoder once per data point, L decoder gradients per HMC transition):
 * AIWAE step B=128, K=5, T=5, L=5, N=KB=640: q 128*433,600 + HMC 640*827,200*(1+4*5) + decoder loss
 * 640*1,220,800 + encoder loss 128*1,814,400; AIS per temperature: 256*16*10*827,200. */
#define AIWAE_MFLOP 12186.6
#define AIS_TEMP_MFLOP 33882.1

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const aw_error_t *err)
{
    fprintf(stderr, "bench_ais: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static void make_model(aw_model_t *m, float **x, int n, uint64_t seed)
{
    aw_shape_t sh = { .D = 784, .H = 50, .n_hidden = 2, .hidden = { 200, 200 } };
    aw_rng_t r;
    aw_rng_seed(&r, seed, 0);
    aw_error_t err;
    if (aw_model_init(m, &sh, &r, &err) != 0)
        die("model", &err);
    *x = malloc((size_t)n * 784 * sizeof **x);
    if (*x == NULL)
        die("out of memory", NULL);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        (*x)[i] = aw_rng_uniform(&r) < 0.13 ? 1.0f : 0.0f;
}

static aw_method_cfg_t aiwae_cfg(int T)
{
    return (aw_method_cfg_t){ .samples = 5, .temperatures = T, .leapfrog = 5, .step_init = 0.1f,
                              .step_min = 0.001f, .step_max = 0.3f, .target_accept = 0.6f, .beta1 = 0.9f,
                              .beta2 = 0.999f, .eps = 1e-4f };
}

/* Median seconds per AIWAE step, B = 128, K = 5, T = 5, L = 5. */
static double bench_aiwae(int reps)
{
    aw_model_t m;
    float *x;
    make_model(&m, &x, 128, 1);
    aw_method_cfg_t cfg = aiwae_cfg(5);
    void *st;
    aw_error_t err;
    if (aw_aiwae_ops.create(&cfg, &m, 128, &st, &err) != 0)
        die("aiwae create", &err);
    aw_rng_t r;
    aw_rng_seed(&r, 2, 0);
    double *t = malloc((size_t)reps * sizeof *t);
    aw_step_stats_t stats;
    for (int i = -2; i < reps; i++) {
        double t0 = now();
        if (aw_aiwae_ops.step(st, &m, x, 128, 1e-3f, &r, &stats, &err) != 0)
            die("aiwae step", &err);
        if (i >= 0)
            t[i] = now() - t0;
    }
    double med = aw_bench_median(t, reps);
    free(t);
    aw_aiwae_ops.destroy(st);
    aw_model_fini(&m);
    free(x);
    return med;
}

/* Median seconds per AIS temperature (256 points x 16 chains, L = 10) and of the per-batch start
 * (q(h|x) draw and one gradient evaluation). */
static void bench_ais(int reps, double *per_temp, double *start)
{
    enum { B = 256, C = 16, NT = 20 };
    aw_model_t m;
    float *x;
    make_model(&m, &x, B, 3);
    aw_model_ws_t *ws = aw_model_ws_new(&m.shape, B, B * C);
    float *mu = malloc(sizeof(float) * B * 50), *ls = malloc(sizeof(float) * B * 50);
    double *logw = malloc(sizeof(double) * B * C);
    aw_hmc_t s;
    aw_error_t err;
    if (!ws || !mu || !ls || !logw || aw_hmc_init(&s, B * C, 50, &err) != 0)
        die("ais setup", &err);
    if (aw_model_encode(&m, ws, x, B, mu, ls) != 0)
        die("encode", NULL);
    aw_ais_model_ctx_t ctx = { .m = &m, .ws = ws, .x = x, .B = B, .K = C };
    aw_hmc_target_t tg = { .B = B, .K = C, .mu = mu, .logsig = ls, .log_joint = aw_ais_model_log_joint,
                           .ctx = &ctx };
    aw_ais_cfg_t ac = { .T = NT + 1, .L = 10, .schedule = AW_AIS_LINEAR, .step_mode = AW_AIS_STEP_ADAPT,
                        .target = 0.6f, .step_min = 0.02f, .step_max = 0.3f };
    aw_rng_t r;
    aw_rng_seed(&r, 4, 0);
    double *tt = malloc(sizeof(double) * (size_t)reps), *ts = malloc(sizeof(double) * (size_t)reps);
    for (int i = -1; i < reps; i++) {
        double t0 = now();
        if (aw_hmc_start(&s, &tg, &r, &err) != 0)
            die("hmc start", &err);
        double t1 = now();
        float step = 0.1f;
        if (aw_ais_sweep(&s, &tg, &ac, &step, NULL, &r, logw, &err) != 0)
            die("ais sweep", &err);
        double t2 = now();
        if (i >= 0) {
            ts[i] = t1 - t0;
            tt[i] = (t2 - t1 - (t1 - t0)) / NT;
        }
    }
    *per_temp = aw_bench_median(tt, reps);
    *start = aw_bench_median(ts, reps);
    free(tt);
    free(ts);
    aw_hmc_fini(&s);
    aw_model_ws_free(ws);
    free(mu);
    free(ls);
    free(logw);
    aw_model_fini(&m);
    free(x);
}

/* In a child process (fresh high-water mark): create an AIWAE state at T, run 2 steps, report the peak
 * RSS in KiB. Runs before the parent starts any OpenMP threads. */
static long peak_rss_kib(int T)
{
    int fd[2];
    if (pipe(fd) != 0)
        die("pipe", NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        close(fd[0]);
        aw_model_t m;
        float *x;
        make_model(&m, &x, 128, 5);
        aw_method_cfg_t cfg = aiwae_cfg(T);
        void *st;
        aw_error_t err;
        if (aw_aiwae_ops.create(&cfg, &m, 128, &st, &err) != 0)
            die("aiwae create", &err);
        aw_rng_t r;
        aw_rng_seed(&r, 6, 0);
        for (int i = 0; i < 2; i++)
            if (aw_aiwae_ops.step(st, &m, x, 128, 1e-3f, &r, NULL, &err) != 0)
                die("aiwae step", &err);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        long v = ru.ru_maxrss;
        if (write(fd[1], &v, sizeof v) != (ssize_t)sizeof v)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    long v = -1;
    if (read(fd[0], &v, sizeof v) != (ssize_t)sizeof v)
        v = -1;
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || v < 0)
        die("memory child", NULL);
    return v;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 7;
    if (threads < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_ais [threads] [repetitions]\n");
        return 2;
    }
    const char *what = argc > 3 ? argv[3] : "all";
    int all = strcmp(what, "all") == 0;
    aw_bench_ftz(); /* before the thread pool starts, so that its threads inherit the mode */
    omp_set_num_threads(threads);
    long m5 = 0, m50 = 0;
    if (all || strcmp(what, "mem") == 0)
        m5 = peak_rss_kib(5), m50 = peak_rss_kib(50);
    printf("bench_ais: %d threads, median of %d\n\n", threads, reps);
    printf("| benchmark | metric | value | target | ms/call | GFLOP/s (as implemented) |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    double aiwae_pps = 0, ais_clf = 0; /* for the BENCH lines tests/bench/compare reads */
    if (all || strcmp(what, "aiwae") == 0) {
        double ta = bench_aiwae(reps);
        aiwae_pps = 128 / ta;
        printf("| AIWAE train B=128 K=5 T=5 L=5 | data points/s | %.0f | >= 2,652 | %.1f | %.1f |\n", 128 / ta,
               1e3 * ta, AIWAE_MFLOP * 1e-3 / ta);
    }
    if (all || strcmp(what, "ais") == 0) {
        double tt, ts;
        bench_ais(reps, &tt, &ts);
        ais_clf = 256.0 * 16 * 10 / tt;
        printf("| AIS 256 pts x 16 chains L=10 | chain-leapfrog steps/s | %.3g | >= 3.56e5 | %.1f per temperature "
               "| %.1f |\n", 256.0 * 16 * 10 / tt, 1e3 * tt, AIS_TEMP_MFLOP * 1e-3 / tt);
        printf("| AIS batch start (q draw + 1 gradient) | ms | %.1f | | | |\n", 1e3 * ts);
    }
    if (m5 > 0)
        printf("| AIWAE step peak RSS, T=5 vs T=50 | MiB | %.1f vs %.1f (%+.2f%%) | equal within 5%% | | |\n",
               m5 / 1024.0, m50 / 1024.0, 100.0 * (double)(m50 - m5) / (double)m5);
    printf("\n");
    if (aiwae_pps > 0)
        printf("BENCH aiwae_train_b128 %.1f\n", aiwae_pps);
    if (ais_clf > 0)
        printf("BENCH ais_eval %.1f\n", ais_clf);
    return 0;
}
