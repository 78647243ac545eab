/* bench_ais.c: throughput of the AIWAE training step and of AIS evaluation at the sizes the PyTorch peer
 * (tests/bench/peer_torch.py) measures, with the leapfrog gradients in fp32 and in bf16 (every bf16 kernel
 * this CPU runs, in the same run: docs/math.md#bf16-leapfrog-gradients), peak memory of an AIWAE step at
 * T = 5 vs T = 50, printed as a markdown table.
 * Usage: bench_ais [threads (2)] [repetitions (7)] [all|aiwae|ais|mem] [fp32|bf16 (fp32)]. The last
 * argument picks which precision's figures the BENCH lines carry (tests/bench/compare with
 * BENCH_AIS_ARGS='2 7 all bf16' PEER_ARGS=--bf16 compares the bf16 paths). Build without sanitizers at -O2. */
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
#include "core/ais_model.h"
#include "core/decoder.h"
#include "core/model.h"
#include "methods/plugin.h"

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

/* The aiwae method and its settings at T temperatures (the rest its defaults), hmc_precision prec. */
static const aw_method_ops_t *aiwae_cfg(int T, const char *prec, aw_cfg_t *cfg)
{
    const aw_method_ops_t *ops = aw_method_find("aiwae");
    aw_error_t err;
    char t[16];
    snprintf(t, sizeof t, "%d", T);
    if (ops == NULL || aw_settings_defaults(&ops->settings, cfg->bytes, &err) != 0 ||
        aw_settings_set(&ops->settings, cfg->bytes, "temperatures", t, &err) != 0 ||
        aw_settings_set(&ops->settings, cfg->bytes, "hmc_precision", prec, &err) != 0)
        die("aiwae settings", ops == NULL ? NULL : &err);
    return ops;
}

static const aw_adam_cfg_t adam = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-4f};

/* Median seconds per AIWAE step, B = 128, K = 5, T = 5, L = 5, HMC gradients in prec. */
static double bench_aiwae(int reps, const char *prec)
{
    aw_model_t m;
    float *x;
    make_model(&m, &x, 128, 1);
    aw_cfg_t cfg;
    const aw_method_ops_t *ops = aiwae_cfg(5, prec, &cfg);
    void *st;
    aw_error_t err;
    if (ops->create(cfg.bytes, &adam, &m, 128, &st, &err) != 0)
        die("aiwae create", &err);
    aw_rng_t r;
    aw_rng_seed(&r, 2, 0);
    double *t = malloc((size_t)reps * sizeof *t);
    aw_step_stats_t stats;
    for (int i = -2; i < reps; i++) {
        double t0 = now();
        if (ops->step(st, &m, x, 128, 1e-3f, &r, &stats, &err) != 0)
            die("aiwae step", &err);
        if (i >= 0)
            t[i] = now() - t0;
    }
    double med = aw_bench_median(t, reps);
    free(t);
    ops->destroy(st);
    aw_model_fini(&m);
    free(x);
    return med;
}

/* Median seconds per AIS temperature (256 points x 16 chains, L = 10) and of the per-batch start
 * (q(h|x) draw and one gradient evaluation), with the leapfrog gradients on bf16 kernel gk (NULL: fp32);
 * *acc: the mean acceptance rate over the timed sweeps. */
static void bench_ais(int reps, const aw_dec_kernel_t *gk, double *per_temp, double *start, double *acc)
{
    enum { B = 256, C = 16, NT = 20 };
    aw_model_t m;
    float *x;
    make_model(&m, &x, B, 3);
    aw_model_ws_t *ws = aw_model_ws_new(&m.shape, B, B * C), *wg = NULL;
    if (gk != NULL && ((wg = aw_model_ws_new(&m.shape, B, B * C)) == NULL || aw_model_ws_set_kernel(wg, gk) != 0))
        die("bf16 workspace", NULL);
    float *mu = malloc(sizeof(float) * B * 50), *ls = malloc(sizeof(float) * B * 50);
    double *logw = malloc(sizeof(double) * B * C);
    aw_hmc_t s;
    aw_error_t err;
    if (!ws || !mu || !ls || !logw || aw_hmc_init(&s, B * C, 50, &err) != 0)
        die("ais setup", &err);
    if (aw_model_encode(&m, ws, x, B, mu, ls) != 0)
        die("encode", NULL);
    aw_ais_model_ctx_t ctx = { .m = &m, .ws = ws, .ws_grad = wg, .x = x, .B = B, .K = C };
    aw_hmc_target_t tg = { .B = B, .K = C, .mu = mu, .logsig = ls, .log_joint = aw_ais_model_log_joint,
                           .ctx = &ctx };
    aw_ais_model_bind_grad(&tg, &ctx);
    double accept[NT], acc_sum = 0;
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
        if (aw_ais_sweep(&s, &tg, &ac, &step, accept, &r, logw, &err) != 0)
            die("ais sweep", &err);
        double t2 = now();
        if (i >= 0) {
            for (int t = 0; t < NT; t++)
                acc_sum += accept[t] / (NT * reps);
            ts[i] = t1 - t0;
            tt[i] = (t2 - t1 - (t1 - t0)) / NT;
        }
    }
    *per_temp = aw_bench_median(tt, reps);
    *start = aw_bench_median(ts, reps);
    *acc = acc_sum;
    free(tt);
    free(ts);
    aw_hmc_fini(&s);
    aw_model_ws_free(ws);
    aw_model_ws_free(wg);
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
        aw_cfg_t cfg;
        const aw_method_ops_t *ops = aiwae_cfg(T, "fp32", &cfg);
        void *st;
        aw_error_t err;
        if (ops->create(cfg.bytes, &adam, &m, 128, &st, &err) != 0)
            die("aiwae create", &err);
        aw_rng_t r;
        aw_rng_seed(&r, 6, 0);
        for (int i = 0; i < 2; i++)
            if (ops->step(st, &m, x, 128, 1e-3f, &r, NULL, &err) != 0)
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
    const char *blas = aw_bench_blas_core("bench_ais", argv);
    int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 7;
    const char *what = argc > 3 ? argv[3] : "all", *prec = argc > 4 ? argv[4] : "fp32";
    if (threads < 1 || reps < 1 || (strcmp(prec, "fp32") != 0 && strcmp(prec, "bf16") != 0)) {
        fprintf(stderr, "usage: bench_ais [threads] [repetitions] [all|aiwae|ais|mem] [fp32|bf16]\n");
        return 2;
    }
    int all = strcmp(what, "all") == 0;
    aw_bench_ftz(); /* before the thread pool starts, so that its threads inherit the mode */
    omp_set_num_threads(threads);
    long m5 = 0, m50 = 0;
    if (all || strcmp(what, "mem") == 0)
        m5 = peak_rss_kib(5), m50 = peak_rss_kib(50);
    char kern[200];
    aw_model_kernels_describe(kern, sizeof kern);
    printf("bench_ais: %d threads, median of %d; decoder kernels: %s; OpenBLAS core %s\n\n", threads, reps, kern,
           blas);
    printf("| benchmark | HMC gradients | metric | value | ms/call | GFLOP/s (as implemented) | accept |\n");
    printf("|---|---|---|---:|---:|---:|---:|\n");
    const aw_dec_kernel_t *bk = aw_dec_bf16_pick(&(aw_shape_t){.D = 784, .H = 50, .n_hidden = 2,
                                                               .hidden = {200, 200}}, 4096);
    double aiwae_pps = 0, ais_clf = 0; /* for the BENCH lines tests/bench/compare reads */
    if (all || strcmp(what, "aiwae") == 0) {
        for (int p = 0; p < 2; p++) {
            const char *pp = p == 0 ? "fp32" : "bf16";
            if (p == 1 && bk == NULL)
                break;
            double ta = bench_aiwae(reps, pp);
            if (strcmp(pp, prec) == 0)
                aiwae_pps = 128 / ta;
            printf("| AIWAE train B=128 K=5 T=5 L=5 | %s | data points/s | %.0f | %.1f | %.1f | |\n",
                   p == 0 ? "fp32" : bk->name, 128 / ta, 1e3 * ta, AIWAE_MFLOP * 1e-3 / ta);
        }
    }
    if (all || strcmp(what, "ais") == 0) {
        int nk = 0;
        while (aw_dec_bf16_kernels[nk] != NULL)
            nk++;
        for (int p = 0; p <= nk; p++) { /* fp32, then every bf16 kernel */
            const aw_dec_kernel_t *gk = p == 0 ? NULL : aw_dec_bf16_kernels[p - 1];
            if (gk != NULL && !gk->usable(&(aw_shape_t){.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}}, 4096))
                continue;
            double tt, ts, acc;
            bench_ais(reps, gk, &tt, &ts, &acc);
            const double clf = 256.0 * 16 * 10 / tt;
            if ((gk == NULL && strcmp(prec, "fp32") == 0) || (gk == bk && gk != NULL && strcmp(prec, "bf16") == 0))
                ais_clf = clf;
            printf("| AIS 256 pts x 16 chains L=10 | %s | chain-leapfrog steps/s | %.3g | %.1f per temperature "
                   "| %.1f | %.3f |\n", gk == NULL ? "fp32" : gk->name, clf, 1e3 * tt, AIS_TEMP_MFLOP * 1e-3 / tt,
                   acc);
        }
    }
    if (m5 > 0)
        printf("| AIWAE step peak RSS, T=5 vs T=50 | fp32 | MiB | %.1f vs %.1f (%+.2f%%) | | | |\n",
               m5 / 1024.0, m50 / 1024.0, 100.0 * (double)(m50 - m5) / (double)m5);
    printf("\n");
    if (aiwae_pps > 0)
        printf("BENCH aiwae_train_b128 %.1f\n", aiwae_pps);
    if (ais_clf > 0)
        printf("BENCH ais_eval %.1f\n", ais_clf);
    return 0;
}
