/* decoder.h (private to the numeric core): the decoder's kernels behind one interface, and the calls the
 * losses make through it. Dimension letters as in model.h.
 *
 * A kernel computes, for N rows h [N,H] and images x [ceil(N/K), D] (row n uses image n / K),
 * log p(x_{n/K} | h_n) and the gradients the losses need. Each workspace picks its kernel once, in
 * aw_model_ws_new: the first row of aw_dec_kernels that is usable for its shape and row capacity on this CPU
 * (aw_model_ws_set_kernel overrides it, for tests). Adding a kernel is one file defining its row, the
 * row's declaration below and one line in the table of decoder.c; test_decfuse then tests it like the
 * others.
 *
 * aw_model_dec_loglik (model_ws.h) and the training pass below run ws's kernel. Every kernel computes
 * each row's values with arithmetic that depends neither on the thread count nor on how the rows are
 * grouped; kernels differ from one another by float rounding only. */
#ifndef AW_DECODER_H
#define AW_DECODER_H

#include "core/model_ws.h"

typedef struct aw_dec_kernel {
    const char *name;   /* short name, for messages and tests */
    /* 1 if the kernel runs on this CPU for this shape and up to max_rows rows per call. */
    int (*usable)(const aw_shape_t *shape, int max_rows);
    /* Training passes with fewer rows than this run on the reference kernel (for the fused kernel a few
     * row groups would leave threads idle); 1 for kernels without such a bound. */
    int train_min_rows;
    /* 1 if a row's results also do not depend on which other rows share its call (the fused pass computes
     * each row alike wherever it sits in its group); 0 where they may (the reference kernel's GEMM shapes
     * follow the row count and a row's place among the rows). */
    int row_independent;
    /* 1 for the gradient-only kernels with bfloat16 products (dec_bf16.c): their gradient is bf16-level
     * and their values are approximations, so they are never picked for values: only the leapfrog
     * gradients of HMC ask for them (aw_dec_bf16_pick; docs/math.md#bf16-leapfrog-gradients). Their
     * train_min_rows is INT_MAX and their training passes are NULL. */
    int bf16;
    /* out [N] = log p(x|h) (+ log p(h) with AW_LOGLIK_PRIOR; += with AW_LOGLIK_ADD); if grad_h != NULL
     * also grad_h [N,H] = d out / dh (overwritten); with AW_LOGLIK_GRAD_ONLY and grad_h, out is scratch that
     * a kernel may leave unwritten (the bf16 kernels do). N >= 1. Returns 0, or AW_ENOMEM having done nothing. */
    int (*loglik)(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K, const aw_real *h, int N,
                  aw_real *out, int flags, aw_real *grad_h);
    /* The first half of a training pass: out [N] as loglik (flags likewise), keeping in ws what
     * train_backward needs (h stays the caller's and must not change in between); want_gh: d/dh will be
     * asked for. Returns 0, or AW_ENOMEM having done nothing. */
    int (*train_forward)(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K, const aw_real *h,
                         int N, aw_real *out, int flags, int want_gh);
    /* The second half, for the loss sum_n c[n] log p(x_{n/K} | h_n) over the rows of the last
     * train_forward on ws: grad_dec [dec_n] (the decoder block, overwritten) if not NULL; gh [N,H] =
     * c[n] d log p(x|h_n) / dh_n (without the prior) if not NULL (needs want_gh). Once per forward. */
    void (*train_backward)(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *c, aw_real *grad_dec,
                           aw_real *gh);
} aw_dec_kernel_t;

/* The reference kernel (dec_cblas.c): CBLAS GEMMs over fixed row chunks; every CPU, float and double. */
extern const aw_dec_kernel_t aw_dec_cblas;

#if !defined(AW_REAL_DOUBLE) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define AW_DEC_AVX512 1
/* The fused AVX-512 pass (decfuse.c), float library, CPUs with AVX-512 F, DQ and VL. */
extern const aw_dec_kernel_t aw_dec_avx512;

/* The bf16 gradient kernels (dec_bf16.c): AMX tiles, and AVX512-BF16's vdpbf16ps. */
extern const aw_dec_kernel_t aw_dec_amx;
extern const aw_dec_kernel_t aw_dec_avx512bf16;
#endif

/* The bf16 gradient kernels compiled in, in order of preference (AMX first); NULL-terminated, and empty
 * where none is compiled. */
extern const aw_dec_kernel_t *const aw_dec_bf16_kernels[];

/* The first kernel of aw_dec_bf16_kernels usable for shape and max_rows on this CPU, or NULL. */
const aw_dec_kernel_t *aw_dec_bf16_pick(const aw_shape_t *shape, int max_rows);

/* The fp32 kernels compiled in, in order of preference, the reference last; NULL-terminated. */
extern const aw_dec_kernel_t *const aw_dec_kernels[];

/* The first kernel of aw_dec_kernels usable for shape and max_rows (the reference always is). */
const aw_dec_kernel_t *aw_dec_kernel_pick(const aw_shape_t *shape, int max_rows);

/* Makes ws use kernel k from now on (tests compare kernels). Returns 0, or AW_EARG (ws unchanged) if k is
 * not usable for ws here. */
int aw_model_ws_set_kernel(aw_model_ws_t *ws, const aw_dec_kernel_t *k);

/* A training pass in two halves, as train_forward and train_backward of ws's kernel (of the reference for
 * fewer than its train_min_rows rows, or where it lacks memory). */
void aw_model_dec_train_forward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K,
                                const aw_real *h, int N, aw_real *out, int flags, int want_gh);
void aw_model_dec_train_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *c, aw_real *grad_dec,
                                 aw_real *gh);

#endif
