/* adam.c: bias-corrected Adam over a flat float parameter vector (one parallel pass per step), its
 * checkpoint bytes, and Burda's learning-rate schedule. */
#include "core/adam.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "core/real.h"

/* "ADAM" little-endian, then the format version. */
#define AW_ADAM_MAGIC 0x4D414441u
#define AW_ADAM_VERSION 1u
#define AW_ADAM_HEADER 24 /* magic u32, version u32, n u64, t i64 */

int aw_adam_init(aw_adam_t *a, size_t n, float beta1, float beta2, float eps, aw_error_t *err)
{
    memset(a, 0, sizeof *a);
    if (n == 0 || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0))
        return aw_error_set(err, AW_EARG, "adam: need n >= 1, 0 <= beta1, beta2 < 1 and eps > 0, got n=%zu "
                            "beta1=%g beta2=%g eps=%g", n, beta1, beta2, eps);
    a->m = calloc(n, sizeof *a->m);
    a->v = calloc(n, sizeof *a->v);
    if (!a->m || !a->v) {
        aw_adam_fini(a);
        return aw_error_set(err, AW_ENOMEM, "adam: cannot allocate moments for %zu parameters", n);
    }
    a->n = n;
    a->beta1 = beta1;
    a->beta2 = beta2;
    a->eps = eps;
    return 0;
}

void aw_adam_fini(aw_adam_t *a)
{
    free(a->m);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* Hyper-parameters of one step, bias corrections folded in. */
typedef struct adam_coef {
    float b1, b2, eps;  /* decay rates and epsilon */
    float lr_t;         /* lr / (1 - b1^t) */
    float inv_c2;       /* 1 / sqrt(1 - b2^t) */
} adam_coef_t;

/* The update on elements [0, n) of the given arrays. */
AW_KERNEL static void adam_block(const adam_coef_t *c, float *restrict params, const float *restrict grad,
                                 float *restrict m, float *restrict v, long n)
{
    const float b1 = c->b1, b2 = c->b2, eps = c->eps, lr_t = c->lr_t, inv_c2 = c->inv_c2;
#pragma omp simd
    for (long i = 0; i < n; i++) {
        float g = grad[i];
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] -= lr_t * mi / (aw_fsqrt(vi) * inv_c2 + eps);
    }
}

void aw_adam_step(aw_adam_t *a, float *params, const float *grad, float lr)
{
    a->t++;
    /* params -= lr_t * m / (sqrt(v) / sqrt(1 - b2^t) + eps): the same as lr * mhat / (sqrt(vhat) + eps). */
    const adam_coef_t c = {
        .b1 = a->beta1, .b2 = a->beta2, .eps = a->eps,
        .lr_t = (float)(lr / (1.0 - pow(a->beta1, (double)a->t))),
        .inv_c2 = (float)(1.0 / sqrt(1.0 - pow(a->beta2, (double)a->t))),
    };
    const long n = (long)a->n, blk = 8192;
    const long nblk = (n + blk - 1) / blk;
#pragma omp parallel for schedule(dynamic, 2) if (nblk > 2)
    for (long k = 0; k < nblk; k++) {
        const long lo = k * blk, len = lo + blk < n ? blk : n - lo;
        adam_block(&c, params + lo, grad + lo, a->m + lo, a->v + lo, len);
    }
}

size_t aw_adam_state_bytes(const aw_adam_t *a)
{
    return AW_ADAM_HEADER + 2 * a->n * sizeof(float);
}

void aw_adam_save(const aw_adam_t *a, uint8_t *buf)
{
    aw_le_put_u32(buf, AW_ADAM_MAGIC);
    aw_le_put_u32(buf + 4, AW_ADAM_VERSION);
    aw_le_put_u64(buf + 8, (uint64_t)a->n);
    aw_le_put_u64(buf + 16, (uint64_t)a->t);
    aw_le_put_f32s(buf + AW_ADAM_HEADER, a->m, a->n);
    aw_le_put_f32s(buf + AW_ADAM_HEADER + 4 * a->n, a->v, a->n);
}

int aw_adam_load(aw_adam_t *a, const uint8_t *buf, size_t n, aw_error_t *err)
{
    if (n != aw_adam_state_bytes(a))
        return aw_error_set(err, AW_EFORMAT, "adam state: %zu bytes, expected %zu for %zu parameters", n,
                            aw_adam_state_bytes(a), a->n);
    if (aw_le_get_u32(buf) != AW_ADAM_MAGIC || aw_le_get_u32(buf + 4) != AW_ADAM_VERSION)
        return aw_error_set(err, AW_EFORMAT, "adam state: bad magic or version (0x%08x v%u), expected "
                            "0x%08x v%u", aw_le_get_u32(buf), aw_le_get_u32(buf + 4), AW_ADAM_MAGIC,
                            AW_ADAM_VERSION);
    uint64_t nn = aw_le_get_u64(buf + 8);
    int64_t t = (int64_t)aw_le_get_u64(buf + 16);
    if (nn != a->n || t < 0)
        return aw_error_set(err, AW_EFORMAT, "adam state: %llu parameters at step %lld, expected %zu "
                            "parameters and a step >= 0", (unsigned long long)nn, (long long)t, a->n);
    a->t = t;
    aw_le_get_f32s(buf + AW_ADAM_HEADER, a->m, a->n);
    aw_le_get_f32s(buf + AW_ADAM_HEADER + 4 * a->n, a->v, a->n);
    return 0;
}

float aw_lr_burda(float base, int64_t epoch)
{
    /* Stage i covers epochs [ (3^i - 1)/2, (3^(i+1) - 1)/2 ): 0, 1..3, 4..12, ... */
    int i = 0;
    int64_t end = 1, len = 1;
    while (i < 7 && epoch >= end) {
        i++;
        len *= 3;
        end += len;
    }
    return (float)(base * pow(10.0, -i / 7.0));
}
