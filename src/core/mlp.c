/* mlp.c: the core's GEMM in fixed row chunks, and dense layers as one such GEMM over all rows, with the
 * cheap element-wise passes around them (bias, tanh, tanh backward, bias gradient) parallelized over rows
 * or columns with static OpenMP loops. */
#include "core/mlp.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

/* Chunk c of aw_gemm: output rows [c * AW_GEMM_ROWS, +AW_GEMM_ROWS) clipped to M. */
static void gemm_chunk(int c, int ta, int tb, int M, int N, int K, const aw_real *A, int lda,
                       const aw_real *B, int ldb, aw_real beta, aw_real *C, int ldc)
{
    const int r0 = c * AW_GEMM_ROWS, m = M - r0 < AW_GEMM_ROWS ? M - r0 : AW_GEMM_ROWS;
    const aw_real *a = ta ? A + r0 : A + (size_t)r0 * lda;
    AW_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, N, K, AW_R(1.0),
            a, lda, B, ldb, beta, C + (size_t)r0 * ldc, ldc);
}

void aw_gemm(int ta, int tb, int M, int N, int K, const aw_real *A, int lda, const aw_real *B, int ldb,
             aw_real beta, aw_real *C, int ldc)
{
    if (M < 1 || N < 1)
        return;
    const int nc = (M + AW_GEMM_ROWS - 1) / AW_GEMM_ROWS;
    /* OpenBLAS runs one thread inside an active parallel region, and as many as OpenMP's maximum outside
     * one: so one thread calls the chunks where that maximum is 1 or a region is already active, and a team
     * of at least two (even for a single chunk) otherwise. */
    const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt < 2) {
        for (int c = 0; c < nc; c++)
            gemm_chunk(c, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int c = 0; c < nc; c++)
        gemm_chunk(c, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

/* Element count below which a pass stays on one thread (a parallel region costs about a microsecond). */
#define AW_PAR_MIN 4096

void aw_layer_forward(const aw_layer_t *l, const aw_real *x, int M, aw_real *y)
{
    const int out = l->out;
    const aw_real *b = l->b;
#pragma omp parallel for schedule(static) if ((size_t)M * out > AW_PAR_MIN)
    for (int m = 0; m < M; m++)
        memcpy(y + (size_t)m * out, b, (size_t)out * sizeof *y);
    aw_gemm(0, 1, M, out, l->in, x, l->in, l->W, l->in, AW_R(1.0), y, out);
}

/* r [n] = tanh(r + b). */
AW_KERNEL static void bias_tanh_row(aw_real *r, const aw_real *b, int n)
{
#pragma omp simd
    for (int j = 0; j < n; j++)
        r[j] = AW_TANH(r[j] + b[j]);
}

void aw_layer_forward_tanh(const aw_layer_t *l, const aw_real *x, int M, aw_real *y)
{
    const int out = l->out;
    aw_gemm(0, 1, M, out, l->in, x, l->in, l->W, l->in, AW_R(0.0), y, out);
#pragma omp parallel for schedule(static) if ((size_t)M * out > AW_PAR_MIN)
    for (int m = 0; m < M; m++)
        bias_tanh_row(y + (size_t)m * out, l->b, out);
}

/* Columns per task: each task sums its column block over all rows, in row order. */
#define AW_COLS_PER_TASK 64

/* s [w] = beta*s + sum over M rows of a (row stride n), w <= AW_COLS_PER_TASK. */
AW_KERNEL static void col_sum_block(const aw_real *a, int M, int n, int w, aw_real *s, aw_real beta)
{
    aw_real acc[AW_COLS_PER_TASK];
    for (int j = 0; j < w; j++)
        acc[j] = beta == 0 ? AW_R(0.0) : beta * s[j];
    for (int m = 0; m < M; m++) {
        const aw_real *r = a + (size_t)m * n;
#pragma omp simd
        for (int j = 0; j < w; j++)
            acc[j] += r[j];
    }
    for (int j = 0; j < w; j++)
        s[j] = acc[j];
}

/* s [n] = beta*s + sum_m a[m,:] over a [M,n], summed in row order (deterministic). */
static void col_sum(const aw_real *a, int M, int n, aw_real *s, aw_real beta)
{
    const int nblk = (n + AW_COLS_PER_TASK - 1) / AW_COLS_PER_TASK;
#pragma omp parallel for schedule(static) if ((size_t)M * n > AW_PAR_MIN && nblk > 1)
    for (int blk = 0; blk < nblk; blk++) {
        const int j0 = blk * AW_COLS_PER_TASK;
        const int w = j0 + AW_COLS_PER_TASK < n ? AW_COLS_PER_TASK : n - j0;
        col_sum_block(a + j0, M, n, w, s + j0, beta);
    }
}

void aw_layer_backward_weights(const aw_layer_t *l, const aw_real *x, const aw_real *dy, int M,
                               aw_real *dW, aw_real *db, aw_real beta)
{
    aw_gemm(1, 0, l->out, l->in, M, dy, l->out, x, l->in, beta, dW, l->in);
    col_sum(dy, M, l->out, db, beta);
}

void aw_layer_backward_input(const aw_layer_t *l, const aw_real *dy, int M, aw_real *dx)
{
    aw_gemm(0, 0, M, l->in, l->out, dy, l->out, l->W, l->in, AW_R(0.0), dx, l->in);
}

/* d [n] *= 1 - y^2. */
AW_KERNEL static void tanh_back_row(const aw_real *y, aw_real *d, int n)
{
#pragma omp simd
    for (int j = 0; j < n; j++)
        d[j] *= AW_R(1.0) - y[j] * y[j];
}

void aw_tanh_backward(const aw_real *y, aw_real *d, int M, int n)
{
#pragma omp parallel for schedule(static) if ((size_t)M * n > AW_PAR_MIN)
    for (int m = 0; m < M; m++)
        tanh_back_row(y + (size_t)m * n, d + (size_t)m * n, n);
}
