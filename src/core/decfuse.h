/* decfuse.h (private to the numeric core): the decoder's log-likelihood and its gradient to h as one fused
 * AVX-512 pass per block of rows, for the float library on CPUs that have AVX-512 F, DQ and VL.
 *
 * Why: on the evaluation and HMC paths only per-row scalars (log p(x|h)) and d/dh leave the decoder, so the
 * logits never need to reach memory. Rows are processed 32 at a time with activations kept feature-major
 * (transposed) in cache, the weights packed once and kept while they do not change, and bias, tanh,
 * softplus, sigmoid and x - sigmoid applied to each register tile before it is stored.
 *
 * For training, the same pass keeps every row's activations and deltas feature-major so the weight
 * gradients are single GEMMs over all rows.
 *
 * Each row's arithmetic does not depend on how rows are grouped or split over threads, so results are the
 * same for any thread count. They differ from the reference (CBLAS) path by float rounding only. */
#ifndef AW_DECFUSE_H
#define AW_DECFUSE_H

#include <stddef.h>

#include "core/model.h"

/* 1 if the fused pass can run on this CPU (it handles every valid shape). */
int aw_decfuse_usable(void);

/* Bytes of scratch for N rows on nt threads: for aw_decfuse_loglik (train = 0) or a training pass
 * (train = 1, which keeps its buffers for all N rows). */
size_t aw_decfuse_bytes(const aw_shape_t *shape, int N, int nt, int train);

/* out [N] = log p(x_{n/K} | h_n) (+ log p(h_n) with AW_LOGLIK_PRIOR; += with AW_LOGLIK_ADD) for h [N,H],
 * x [ceil(N/K), D]; if grad_h != NULL also grad_h [N,H] = d out / dh (overwritten). scratch: 64-byte
 * aligned, aw_decfuse_bytes(shape, N, nt, 0) bytes, zeroed when first allocated; it keeps the packed
 * weights between calls (remade when the decoder weights change), so regrow it only by a zeroed block.
 * Runs nt OpenMP threads (1 inside a parallel region). */
void aw_decfuse_loglik(const aw_model_t *m, void *scratch, int nt, const float *x, int K, const float *h,
                       int N, float *out, int flags, float *grad_h);

/* The first half of a training gradient: out [N] as aw_decfuse_loglik, and in the scratch (which must have
 * aw_decfuse_bytes(shape, N, nt, 1) bytes) every row's activations and its backward pass from
 * d log p(x|h)/d logits down to the first layer's pre-activation, and to h if want_gh. */
void aw_decfuse_train_forward(const aw_model_t *m, void *scratch, int nt, const float *x, int K,
                              const float *h, int N, float *out, int flags, int want_gh);

/* The second half, for the loss sum_n c[n] log p(x_n | h_n) over the rows of the last
 * aw_decfuse_train_forward on this scratch: grad_dec [dec_n] (the decoder block, overwritten) if not NULL;
 * gh [N,H] = c[n] d log p(x_n|h_n) / dh_n if not NULL (needs want_gh). Rescales the kept buffers, so call
 * it once per forward. */
void aw_decfuse_train_backward(const aw_model_t *m, void *scratch, int nt, const float *c, float *grad_dec,
                               float *gh);

#endif
