/* decoder.c: the table of decoder kernels, the choice of one per workspace, and the calls through it. */
#include "core/decoder.h"

#include <stdio.h>
#include <stdlib.h>

const aw_dec_kernel_t *const aw_dec_kernels[] = {
#ifdef AW_DEC_AVX512
    &aw_dec_avx512,
#endif
    &aw_dec_cblas,
    NULL,
};

const aw_dec_kernel_t *const aw_dec_bf16_kernels[] = {
#ifdef AW_DEC_AVX512
    &aw_dec_amx,
    &aw_dec_avx512bf16,
#endif
    NULL,
};

const aw_dec_kernel_t *aw_dec_bf16_pick(const aw_shape_t *shape, int max_rows)
{
    for (int i = 0; aw_dec_bf16_kernels[i] != NULL; i++)
        if (aw_dec_bf16_kernels[i]->usable(shape, max_rows))
            return aw_dec_bf16_kernels[i];
    return NULL;
}

const aw_dec_kernel_t *aw_dec_kernel_pick(const aw_shape_t *shape, int max_rows)
{
    for (int i = 0; aw_dec_kernels[i] != NULL; i++)
        if (aw_dec_kernels[i]->usable(shape, max_rows))
            return aw_dec_kernels[i];
    return &aw_dec_cblas;
}

const char *aw_model_ws_use_bf16(aw_model_ws_t *ws)
{
    const aw_dec_kernel_t *k = aw_dec_bf16_pick(&ws->shape, ws->max_rows);
    if (k == NULL || aw_model_ws_set_kernel(ws, k) != 0)
        return NULL;
    return k->name;
}

void aw_model_kernels_describe(char *out, size_t n)
{
    const aw_shape_t one = {.D = 1, .H = 1, .n_hidden = 1, .hidden = {1}}, *shape = &one;
    const aw_dec_kernel_t *k = aw_dec_bf16_pick(shape, 1);
    int w = snprintf(out, n, "fp32 %s, bf16 %s", aw_dec_kernel_pick(shape, 1)->name,
                     k != NULL ? k->name : "none (fp32 instead)");
    for (int i = 0; aw_dec_bf16_kernels[i] != NULL && w >= 0 && (size_t)w < n; i++)
        if (aw_dec_bf16_kernels[i] != k && aw_dec_bf16_kernels[i]->usable(shape, 1))
            w += snprintf(out + w, n - (size_t)w, " (also %s)", aw_dec_bf16_kernels[i]->name);
}

int aw_model_ws_set_kernel(aw_model_ws_t *ws, const aw_dec_kernel_t *k)
{
    if (!k->usable(&ws->shape, ws->max_rows))
        return AW_EARG;
    if (k != ws->dec) { /* the scratch's contents belong to the kernel that made them */
        free(ws->kscratch);
        ws->kscratch = NULL;
        ws->kscratch_bytes = 0;
    }
    ws->dec = k;
    ws->dec_train = NULL;
    return 0;
}

void aw_model_dec_loglik(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K, const aw_real *h,
                         int N, aw_real *out, int flags, aw_real *grad_h)
{
    if (N < 1)
        return;
    if (ws->dec->loglik(m, ws, x, K, h, N, out, flags, grad_h) != 0)
        aw_dec_cblas.loglik(m, ws, x, K, h, N, out, flags, grad_h);
}

void aw_model_dec_train_forward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K,
                                const aw_real *h, int N, aw_real *out, int flags, int want_gh)
{
    const aw_dec_kernel_t *k = N >= ws->dec->train_min_rows ? ws->dec : &aw_dec_cblas; /* bf16: INT_MAX */
    if (k->train_forward(m, ws, x, K, h, N, out, flags, want_gh) != 0) {
        k = &aw_dec_cblas;
        k->train_forward(m, ws, x, K, h, N, out, flags, want_gh);
    }
    ws->dec_train = k;
}

void aw_model_dec_train_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *c, aw_real *grad_dec,
                                 aw_real *gh)
{
    ws->dec_train->train_backward(m, ws, c, grad_dec, gh);
}
