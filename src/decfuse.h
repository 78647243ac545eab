/* decfuse.h (private to the numeric core): the decoder's log-likelihood and its gradient to h as one fused
 * AVX-512 pass per block of rows, for the float library on CPUs that have AVX-512F.
 *
 * Why: on the evaluation and HMC paths only per-row scalars (log p(x|h)) and d/dh leave the decoder, so the
 * logits never need to reach memory. Rows are processed 32 at a time with activations kept feature-major
 * (transposed) in cache, the weights packed once per call, and bias, tanh, softplus and sigmoid applied to
 * each tile while it is still in registers. The x-dependent part uses sum_d x_d a_d = h_L . (W^T x) + x . b
 * with W^T x computed once per data point, so the pixel loop needs no x.
 *
 * Each row's arithmetic does not depend on how rows are grouped or split over threads, so results are the
 * same for any thread count. They differ from the reference (CBLAS) path by float rounding only. */
#ifndef AW_DECFUSE_H
#define AW_DECFUSE_H

#include <stddef.h>

#include "model.h"

/* 1 if the fused pass can run on this CPU for this shape. */
int aw_decfuse_usable(const aw_shape_t *shape);

/* Bytes of scratch aw_decfuse_loglik needs for N rows of K samples per point on nt threads. */
size_t aw_decfuse_bytes(const aw_shape_t *shape, int N, int K, int nt);

/* out [N] = log p(x_{n/K} | h_n) (+ log p(h_n) with AW_LOGLIK_PRIOR; += with AW_LOGLIK_ADD) for h [N,H],
 * x [ceil(N/K), D]; if grad_h != NULL also grad_h [N,H] = d out / dh (overwritten). scratch: 64-byte
 * aligned, aw_decfuse_bytes(shape, N, K, nt) bytes, zeroed when first allocated; it keeps the packed
 * weights between calls (remade when the decoder weights change), so regrow it only by a zeroed block.
 * Runs nt OpenMP threads (1 inside a parallel region). */
void aw_decfuse_loglik(const aw_model_t *m, void *scratch, int nt, const float *x, int K, const float *h,
                       int N, float *out, int flags, float *grad_h);

#endif
