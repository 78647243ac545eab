/* peak.c: the arithmetic ceilings of this CPU for the three kinds of products the decoder kernels use, one
 * thread per core: AVX-512 fp32 FMA (vfmadd231ps), AVX512-BF16 (vdpbf16ps) and AMX-BF16 (tdpbf16ps), each
 * as a loop of independent instructions on registers with no memory traffic. The benchmark tables' GFLOP/s
 * are read against these (docs/benchmarks.md). A path this CPU lacks prints "not on this CPU".
 * Usage: peak [threads (2)] [repetitions (7)]. Build without sanitizers at -O2. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <immintrin.h>

#include "bench_util.h"

#define ITERS 200000L

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bf16,avx512bw,avx512vl,amx-tile,amx-bf16")

/* ITERS rounds of OP on 16 independent accumulators a[i] (kept in registers: the loops are unrolled), then
 * their sum into *sink, which keeps them live. */
#define ACC_LOOP(OP, sink)                                                                                   \
    do {                                                                                                     \
        __m512 a[16];                                                                                        \
        _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) a[i] = _mm512_set1_ps((float)i);              \
        for (long n = 0; n < ITERS; n++) {                                                                   \
            _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) a[i] = OP(a[i], x, y);                    \
        }                                                                                                    \
        __m512 s = a[0];                                                                                     \
        _Pragma("GCC unroll 16") for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, a[i]);                   \
        *(sink) = _mm512_reduce_add_ps(s);                                                                   \
    } while (0)

/* Flops of ITERS rounds of 16 independent vfmadd231ps (2 x 16 lanes each). */
static double run_fma(float *sink)
{
    const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    ACC_LOOP(_mm512_fmadd_ps, sink);
    return (double)ITERS * 16 * 32;
}

/* Flops of ITERS rounds of 16 independent vdpbf16ps (16 lanes x 2 pairs x 2 each). */
static double run_vdp(float *sink)
{
    const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3F80), y = (__m512bh)_mm512_set1_epi16(0x3F00);
    ACC_LOOP(_mm512_dpbf16_ps, sink);
    return (double)ITERS * 16 * 64;
}

typedef struct tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg_t;

/* Flops of ITERS / 16 rounds of 4 tdpbf16ps on four accumulator tiles (16 x 16 x 32 x 2 each), the 2 x 2
 * blocking of the amx kernel without its loads. */
static double run_amx(float *sink)
{
    _Alignas(64) tilecfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
    _Alignas(64) static _Thread_local uint16_t src[16 * 32];
    _Alignas(64) static _Thread_local float dst[16 * 16];
    for (int i = 0; i < 16 * 32; i++)
        src[i] = 0x3C00; /* 2^-7 */
    _tile_loadd(4, src, 64);
    _tile_loadd(5, src, 64);
    _tile_loadd(6, src, 64);
    _tile_loadd(7, src, 64);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    const long rounds = ITERS / 16;
    for (long n = 0; n < rounds; n++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, dst, 64);
    *sink = dst[0];
    _tile_release();
    return (double)rounds * 4 * 16 * 16 * 32 * 2;
}

#pragma GCC pop_options

enum { P_FMA, P_VDP, P_AMX, N_PATHS };
static const char *const NAMES[N_PATHS] = {"fp32 FMA (vfmadd231ps, AVX-512)", "bf16 vdpbf16ps (AVX512-BF16)",
                                           "bf16 tdpbf16ps (AMX)"};
static const char *const KERNELS[N_PATHS] = {"avx512 (fused fp32)", "avx512bf16", "amx"};

static int usable(int p)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f"))
        return 0;
    if (p == P_FMA)
        return 1;
    if (!__builtin_cpu_supports("avx512bf16"))
        return 0;
    if (p == P_VDP)
        return 1;
    /* Linux grants the AMX tile state on request, once per process. */
    return __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
           syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}

/* GFLOP/s of path p on `threads` threads together, median of reps. */
static double measure(int p, int threads, int reps)
{
    double *v = malloc(sizeof(double) * (size_t)reps);
    if (v == NULL) {
        fprintf(stderr, "peak: out of memory\n");
        exit(1);
    }
    for (int r = 0; r < reps; r++) {
        double flops = 0, t0 = now();
        float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : flops, sink)
        {
            float s = 0;
            flops += p == P_FMA ? run_fma(&s) : p == P_VDP ? run_vdp(&s) : run_amx(&s);
            sink += s;
        }
        v[r] = flops / (now() - t0) * 1e-9;
        if (sink == 12345.0f) /* keeps the loops' results live */
            puts("");
    }
    double med = aw_bench_median(v, reps);
    free(v);
    return med;
}

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 7;
    if (threads < 1 || reps < 1) {
        fprintf(stderr, "usage: peak [threads] [repetitions]\n");
        return 2;
    }
    printf("peak: arithmetic ceilings, %d threads, median of %d\n\n", threads, reps);
    printf("| product | kernels that use it | GFLOP/s, %d threads | GFLOP/s per thread |\n", threads);
    printf("|---|---|---:|---:|\n");
    static const char *const bench_names[N_PATHS] = {"peak_fma", "peak_vdpbf16", "peak_amx"};
    double g[N_PATHS] = {0};
    for (int p = 0; p < N_PATHS; p++) {
        if (!usable(p)) {
            printf("| %s | %s | not on this CPU | |\n", NAMES[p], KERNELS[p]);
            continue;
        }
        measure(p, threads, 1); /* warm-up: clocks and, for AMX, the first use of the tile state */
        g[p] = measure(p, threads, reps);
        printf("| %s | %s | %.0f | %.0f |\n", NAMES[p], KERNELS[p], g[p], g[p] / threads);
    }
    printf("\n");
    for (int p = 0; p < N_PATHS; p++)
        if (g[p] > 0)
            printf("BENCH %s %.1f\n", bench_names[p], g[p]);
    return 0;
}
