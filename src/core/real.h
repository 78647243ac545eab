/* real.h: the floating-point type of the numeric core (mlp, model, objective) and its fast float math.
 * The library builds float; tests rebuild the same sources with -DAW_REAL_DOUBLE as double (awd_* names). */
#ifndef AW_REAL_H
#define AW_REAL_H

#include <math.h>
#include <stdint.h>

/* Marks an element-wise kernel to be compiled for AVX-512 and AVX2 as well as the baseline, picked at load
 * time by the CPU (GCC function multi-versioning). Apply to functions whose loops are `omp simd`. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define AW_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define AW_KERNEL
#endif

#ifdef AW_REAL_DOUBLE
typedef double aw_real;
#define AW_GEMM cblas_dgemm
#define AW_R(c) (c)
#define AW_EXP exp
#define AW_LOG log
#define AW_LOG1P log1p
#define AW_TANH tanh
#define AW_SQRT sqrt
#define AW_FABS fabs
/* Every external symbol of mlp.c, model.c, decoder.c, dec_cblas.c and objective.c gets its double-precision
 * name. */
#define aw_gemm awd_gemm
#define aw_layer_forward awd_layer_forward
#define aw_layer_forward_tanh awd_layer_forward_tanh
#define aw_layer_backward_weights awd_layer_backward_weights
#define aw_layer_backward_input awd_layer_backward_input
#define aw_tanh_backward awd_tanh_backward
#define aw_shape_n_params awd_shape_n_params
#define aw_shape_equal awd_shape_equal
#define aw_model_init awd_model_init
#define aw_model_fini awd_model_fini
#define aw_model_ws_new awd_model_ws_new
#define aw_model_ws_free awd_model_ws_free
#define aw_model_encode awd_model_encode
#define aw_model_log_joint awd_model_log_joint
#define aw_model_log_joint_grad awd_model_log_joint_grad
#define aw_model_decoder_grad awd_model_decoder_grad
#define aw_model_enc_forward awd_model_enc_forward
#define aw_model_enc_backward awd_model_enc_backward
#define aw_model_bern_row awd_model_bern_row
#define aw_model_log_prior awd_model_log_prior
#define aw_model_sample_row awd_model_sample_row
#define aw_model_dec_loglik awd_model_dec_loglik
#define aw_model_ws_scratch awd_model_ws_scratch
#define aw_model_dec_train_forward awd_model_dec_train_forward
#define aw_model_dec_train_backward awd_model_dec_train_backward
#define aw_model_ws_set_kernel awd_model_ws_set_kernel
#define aw_dec_kernel_pick awd_dec_kernel_pick
#define aw_dec_kernels awd_dec_kernels
#define aw_dec_bf16_kernels awd_dec_bf16_kernels
#define aw_dec_bf16_pick awd_dec_bf16_pick
#define aw_model_ws_use_bf16 awd_model_ws_use_bf16
#define aw_model_kernels_describe awd_model_kernels_describe
#define aw_dec_cblas awd_dec_cblas
#define aw_vae_loss_grad awd_vae_loss_grad
#define aw_vae_loss_grad_eps awd_vae_loss_grad_eps
#define aw_iwae_loss_grad awd_iwae_loss_grad
#define aw_iwae_loss_grad_eps awd_iwae_loss_grad_eps
#else
typedef float aw_real;
#define AW_GEMM cblas_sgemm
#define AW_R(c) (c##f)
#define AW_EXP aw_fexp
#define AW_LOG logf
#define AW_LOG1P aw_flog1p
#define AW_TANH aw_ftanh
#define AW_SQRT sqrtf
#define AW_FABS fabsf

/* Branch-free float versions of exp, log1p and tanh (within a few ulp of libm) that the compiler
 * vectorizes inside `omp simd` loops, where libm calls stay scalar. Selects are only between ready values
 * (clamps): GCC does not if-convert a select whose arm computes something under -ftrapping-math. */
typedef union aw_fbits {
    float f;     /* the value */
    int32_t i;   /* its IEEE-754 bits */
} aw_fbits_t;

/* x with |x| clamped to c > 0 (sign kept, NaN kept), on the bits: IEEE magnitudes order like integers, and
 * integer selects vectorize where float selects feeding arithmetic do not. */
static inline float aw_fclamp_abs(float x, float c)
{
    aw_fbits_t ax = {.f = fabsf(x)}, cb = {.f = c}, r;
    int32_t m = ax.i < cb.i ? ax.i : cb.i;
    r.i = ax.i > 0x7F800000 ? ax.i : m;
    return copysignf(r.f, x);
}

/* e^x; |x| is clamped to 87, so results stay within [1.6e-38, 6.1e37] (normal floats). */
static inline float aw_fexp(float x)
{
    x = aw_fclamp_abs(x, 87.0f);
    /* k = round(x / ln 2) by the 1.5 * 2^23 trick, r = x - k ln 2 in two parts. */
    float t = x * 1.44269504088896341f + 12582912.0f;
    aw_fbits_t kb = {.f = t};
    float k = t - 12582912.0f;
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    aw_fbits_t s = {.i = (int32_t)(((uint32_t)(kb.i - 0x4B400000) + 127u) << 23)};
    return p * s.f;
}

/* sqrt(v) for v >= 0 (0 gives 0): v / sqrt(v + 1e-37) with the reciprocal root from the bit-level guess and
 * three Newton steps. libm's sqrtf stays scalar while errno handling (-fmath-errno) is on. */
static inline float aw_fsqrt(float v)
{
    float w = v + 1e-37f;
    aw_fbits_t g = {.f = w};
    g.i = 0x5F3759DF - (g.i >> 1);
    float y = g.f;
    y = y * (1.5f - 0.5f * w * y * y);
    y = y * (1.5f - 0.5f * w * y * y);
    y = y * (1.5f - 0.5f * w * y * y);
    return v * y;
}

/* log(1 + e) for e in [0, 1] (the softplus remainder): 2 atanh(t) with t = e / (2 + e) <= 1/3, as its odd
 * series to t^15 (truncation below 2e-9 relative); no cancellation for small e. */
static inline float aw_flog1p(float e)
{
    float t = e / (2.0f + e);
    float t2 = t * t;
    float q = 1.0f / 15;
    q = q * t2 + 1.0f / 13;
    q = q * t2 + 1.0f / 11;
    q = q * t2 + 1.0f / 9;
    q = q * t2 + 1.0f / 7;
    q = q * t2 + 1.0f / 5;
    q = q * t2 + 1.0f / 3;
    q = q * t2 + 1.0f;
    return 2.0f * t * q;
}

/* tanh(x) as a [13/6] rational function of x on [-7.9, 7.9] (Eigen's fast tanh; clamped outside, where
 * tanh rounds to +-1). NaN stays NaN. */
static inline float aw_ftanh(float x)
{
    x = aw_fclamp_abs(x, 7.90531110763549805f);
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return p / q;
}
#endif

#endif
