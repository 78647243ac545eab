/* bench_util.h: the statistics both benchmark programs report (header-only,
 * included by bench.c and bench_ais.c). */
#ifndef AW_BENCH_UTIL_H
#define AW_BENCH_UTIL_H

#include <stdlib.h>

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
