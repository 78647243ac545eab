/* mlp.h: the core's GEMM, dense layers over M rows (one GEMM per layer and direction) and the element-wise
 * kernels (tanh, stable sigmoid) that the model fuses around them. Row-major throughout. */
#ifndef AW_MLP_H
#define AW_MLP_H

#include <stddef.h>

#include "core/real.h"

/* A Linear layer, borrowing its weights from the model's parameter block. */
typedef struct aw_layer {
    int in;        /* input width */
    int out;       /* output width */
    aw_real *W;    /* weights [out,in], row-major; borrowed */
    aw_real *b;    /* bias [out]; borrowed */
} aw_layer_t;

/* Rows of the output per GEMM call. Every GEMM of the numeric core runs through aw_gemm: the rows of its
 * output split into chunks of AW_GEMM_ROWS (the last one shorter) that depend on the row count only, each
 * one single-threaded CBLAS call, the chunks spread over the OpenMP threads. OpenBLAS picks its kernels and
 * blockings from the shape of the call it gets (its edge and small-matrix kernels round differently), so
 * this way every output element comes from a call of the same shape and a row's results do not depend on
 * the thread count. */
#define AW_GEMM_ROWS 64

/* C [M,N] = op(A) op(B) + beta C, all row-major; op(A) is A [M,K] (lda >= K) or, if ta, A^T for A [K,M]
 * (lda >= M); op(B) is B [K,N] (ldb >= N) or, if tb, B^T for B [N,K] (ldb >= K). Chunks as above; inside
 * a parallel region they run one after another on the calling thread. */
void aw_gemm(int ta, int tb, int M, int N, int K, const aw_real *A, int lda, const aw_real *B, int ldb,
             aw_real beta, aw_real *C, int ldc);

/* y [M,out] = x [M,in] W^T + b (one GEMM; the bias is the GEMM's C init). */
void aw_layer_forward(const aw_layer_t *l, const aw_real *x, int M, aw_real *y);

/* y [M,out] = tanh(x [M,in] W^T + b) (one GEMM, then one fused bias+tanh pass). */
void aw_layer_forward_tanh(const aw_layer_t *l, const aw_real *x, int M, aw_real *y);

/* Weight gradients from dy [M,out] (gradient w.r.t. the layer's pre-activation) and its input x [M,in]:
 * dW [out,in] = beta*dW + dy^T x, db [out] = beta*db + sum_m dy[m,:]. beta is 0 (overwrite) or 1 (add). */
void aw_layer_backward_weights(const aw_layer_t *l, const aw_real *x, const aw_real *dy, int M,
                               aw_real *dW, aw_real *db, aw_real beta);

/* dx [M,in] = dy [M,out] W (gradient to the layer's input; one GEMM). */
void aw_layer_backward_input(const aw_layer_t *l, const aw_real *dy, int M, aw_real *dx);

/* Through a tanh: d [M,n] *= 1 - y^2, with y [M,n] the tanh output. */
void aw_tanh_backward(const aw_real *y, aw_real *d, int M, int n);

/* sigmoid(a) = 1 / (1 + e^-a), without overflow for large |a|. */
static inline aw_real aw_sigmoid(aw_real a)
{
    aw_real e = AW_EXP(-AW_FABS(a));
    aw_real num = a >= 0 ? AW_R(1.0) : e;
    return num / (AW_R(1.0) + e);
}

#endif
