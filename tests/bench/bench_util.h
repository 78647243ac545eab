/* bench_util.h: what both benchmark programs share: the floating-point mode and the statistics they report
 * (header-only, included by bench.c and bench_ais.c). */
#ifndef AW_BENCH_UTIL_H
#define AW_BENCH_UTIL_H

#include <cblas.h>
#include <pmmintrin.h>
#include <stdlib.h>
#include <xmmintrin.h>

#include "cli/cli_common.h"

/* Flush-to-zero and denormals-are-zero for this thread and the threads it starts later, as aiwae-run runs
 * (and as PyTorch's tuned peer does): without them, training slows down as values become subnormal. */
static inline void aw_bench_ftz(void)
{
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}

/* First thing in main, as aiwae-run starts: no fallback OpenBLAS kernels on this CPU (the program may
 * be run again; run/blas_core.h). Returns the core OpenBLAS runs, for the table's header. */
static inline const char *aw_bench_blas_core(const char *prog, char **argv)
{
    aw_cli_blas_core(prog, argv);
    return openblas_get_corename();
}

static int aw_bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v [n] and returns its median (v[0] is then the minimum). */
static inline double aw_bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, aw_bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
