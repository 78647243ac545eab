/* dec_bf16.c: the gradient-only decoder kernels "amx" and "avx512bf16" (decoder.h): d log p(x,h)/dh with
 * bfloat16 inputs and weights and fp32 accumulation, for the leapfrog steps of HMC and AIS
 * (docs/math.md#bf16-leapfrog-gradients). Their log p values are bf16-level approximations: energies,
 * Metropolis tests and AIS weights use an fp32 kernel.
 *
 * Rows go through the decoder 32 at a time, row-major: each layer is one GEMM of the group's bf16 inputs
 * [32, Kp] by the layer's packed bf16 weights into fp32 [32, Jp], then the element-wise work (bias, tanh,
 * x - sigmoid, the tanh derivative) on 16 features per zmm, converting the next layer's input to bf16. The
 * output layer (D wide) runs 32 features at a time with the Bernoulli work on each block while it is in L1;
 * gradient-only calls (AW_LOGLIK_GRAD_ONLY, the leapfrog's) skip the values.
 * The two kernels share everything but the GEMM's inner loop: AMX tiles (tdpbf16ps, 2 x 2 tiles of 16 x 16
 * fp32) or AVX512-BF16 (vdpbf16ps, 8 rows x 32 features of accumulators). Weights are packed in AMX's
 * B-tile order, which is also the order vdpbf16ps wants: for 16 output features and 32 inputs, 16 rows of
 * input pairs, each row the 16 features' (k, k+1) pairs. Inner dimensions are zero-padded to 32, outputs
 * to 16.
 *
 * A row's arithmetic depends only on that row (no sum crosses rows; the k order is fixed), so each kernel
 * is a deterministic function of h row by row, whatever the thread count or grouping: what the exactness
 * argument needs. The two kernels differ from each other by rounding. */
#include "core/decoder.h"

#ifdef AW_DEC_AVX512

#include <immintrin.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RG 32 /* rows per group: two AMX row tiles */

enum { PATH_AMX, PATH_AVX512BF16 };

static int pad32(int n)
{
    return (n + 31) / 32 * 32;
}

static int pad16(int n)
{
    return (n + 15) / 16 * 16;
}

/* fp32 -> bf16, round to nearest even (finite values). */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Layout of the scratch block, in bytes: the fuse state head, the weights the packs were made from, the
 * packs, then one group's buffers per thread. */
typedef struct bf_layout {
    size_t wcopy;                    /* [dec_n] fp32 */
    size_t fwd[AW_MAX_HIDDEN + 1];   /* dec[l] forward: K = in, J = out (bf16, tile order) */
    size_t bwd[AW_MAX_HIDDEN + 1];   /* dec[l] backward: K = out, J = in */
    size_t group;                    /* thread 0's group buffers */
    size_t group_bytes;              /* bytes per thread */
    /* offsets inside a group's buffers */
    size_t a[AW_MAX_HIDDEN + 1];     /* bf16 [RG, pad32(dec[l].in)]: layer l's input */
    size_t act[AW_MAX_HIDDEN];       /* fp32 [RG, dec[l].out]: tanh outputs */
    size_t s;                        /* bf16 [RG, pad32(D)]: x - sigmoid(logits) */
    size_t d[2];                     /* bf16 [RG, pad32(widest hidden)]: backward deltas, ping-pong */
    size_t c;                        /* fp32 [RG, widest pad16]: a GEMM's output */
    size_t total;
} bf_layout_t;

typedef struct bf_state {
    int packed; /* 1 if the packs hold the weights in wcopy */
} bf_state_t;

static size_t up64(size_t n)
{
    return (n + 63) / 64 * 64;
}

static size_t pack_bytes(int K, int J)
{
    return (size_t)pad32(K) * pad16(J) * 2;
}

static void bf_plan(const aw_model_t *m, int nt, bf_layout_t *lo)
{
    const aw_shape_t *s = &m->shape;
    const int L = s->n_hidden;
    size_t off = 64;
    lo->wcopy = off;
    off += up64(m->dec_n * sizeof(float));
    int widest = 16, widest_k = 32;
    for (int l = 0; l <= L; l++) {
        const aw_layer_t *y = &m->dec[l];
        lo->fwd[l] = off;
        off += up64(pack_bytes(y->in, y->out));
        lo->bwd[l] = off;
        off += up64(pack_bytes(y->out, y->in));
        widest = pad16(y->out) > widest ? pad16(y->out) : widest;
        widest = pad16(y->in) > widest ? pad16(y->in) : widest;
        if (l < L)
            widest_k = pad32(y->out) > widest_k ? pad32(y->out) : widest_k;
    }
    lo->group = off;
    size_t g = 0;
    for (int l = 0; l <= L; l++) {
        lo->a[l] = g;
        g += up64((size_t)RG * pad32(m->dec[l].in) * 2);
    }
    for (int l = 0; l < L; l++) {
        lo->act[l] = g;
        g += up64((size_t)RG * m->dec[l].out * sizeof(float));
    }
    lo->s = g;
    g += up64((size_t)RG * pad32(s->D) * 2);
    for (int i = 0; i < 2; i++) {
        lo->d[i] = g;
        g += up64((size_t)RG * widest_k * 2);
    }
    lo->c = g;
    g += up64((size_t)RG * widest * sizeof(float));
    lo->group_bytes = g;
    lo->total = off + (size_t)nt * g;
}

/* 16-feature blocks of one pack. */
static int pack_njb(const aw_layer_t *y, int bwd)
{
    return pad16(bwd ? y->in : y->out) / 16;
}

/* Packs value(k, j) for k < K, j < J (zero beyond) in tile order: block (jb, kb) of 16 features and 32
 * inputs is 16 rows of 16 (k, k+1) pairs, blocks ordered jb-major; this call writes the blocks of jb, every
 * kb. Forward: value = W[j][k]; backward: value = W[k][j] (W is [out, in]). */
static void pack(const aw_layer_t *y, int bwd, int jb, uint16_t *dst)
{
    const int K = bwd ? y->out : y->in, J = bwd ? y->in : y->out;
    const int nkb = pad32(K) / 32;
    for (int kb = 0; kb < nkb; kb++) {
        uint16_t *blk = dst + ((size_t)jb * nkb + kb) * 512;
        for (int r = 0; r < 16; r++)
            for (int jl = 0; jl < 16; jl++)
                for (int e = 0; e < 2; e++) {
                    const int k = kb * 32 + 2 * r + e, j = jb * 16 + jl;
                    float v = 0.0f;
                    if (k < K && j < J)
                        v = bwd ? y->W[(size_t)k * y->in + j] : y->W[(size_t)j * y->in + k];
                    blk[r * 32 + jl * 2 + e] = to_bf16(v);
                }
    }
}

/* Makes the packs match the model's current decoder weights (remade only when they changed). */
static void ensure_packs(const aw_model_t *m, unsigned char *base, const bf_layout_t *lo)
{
    bf_state_t *st = (bf_state_t *)(void *)base;
    const float *w = m->params + m->dec_off;
    const size_t wbytes = m->dec_n * sizeof *w;
    if (st->packed && memcmp(base + lo->wcopy, w, wbytes) == 0)
        return;
    memcpy(base + lo->wcopy, w, wbytes);
    /* Every pack's 16-feature blocks are one list of tasks, so that both threads share the output layer
     * (three quarters of the work) instead of one thread taking it whole. */
    const int L = m->shape.n_hidden;
    int first[2 * (AW_MAX_HIDDEN + 1) + 1];
    first[0] = 0;
    for (int t = 0; t < 2 * (L + 1); t++)
        first[t + 1] = first[t] + pack_njb(&m->dec[t / 2], t % 2);
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < first[2 * (L + 1)]; i++) {
        int t = 0;
        while (first[t + 1] <= i)
            t++;
        const int l = t / 2, bwd = t % 2;
        pack(&m->dec[l], bwd, i - first[t], (uint16_t *)(void *)(base + (bwd ? lo->bwd[l] : lo->fwd[l])));
    }
    st->packed = 1;
}

/* The AMX state: permission to use the tile data (Linux asks once per process), then a tile
 * configuration per thread. */
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_permitted(void)
{
    static int state = -1; /* -1 unknown, 0 no, 1 yes */
    int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
    if (s < 0) {
        s = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
        __atomic_store_n(&state, s, __ATOMIC_RELEASE);
    }
    return s;
}

static int amx_usable(const aw_shape_t *shape, int max_rows)
{
    (void)shape, (void)max_rows;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16") &&
           __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") && amx_permitted();
}

static int avx512bf16_usable(const aw_shape_t *shape, int max_rows)
{
    (void)shape, (void)max_rows;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx512bf16,amx-tile,amx-bf16,avx2,fma")

typedef struct tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg_t;

static void amx_config(void)
{
    _Alignas(64) tilecfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
}

/* 8 rows x NB (1 or 2) blocks of 16 features of the AVX512-BF16 GEMM, k pairs in order. */
static inline __attribute__((always_inline)) void vdp_block(const uint16_t *A, int Kp, const uint16_t *B0,
                                                          size_t bstride, int NB, float *C, int Jp)
{
    __m512 acc[8][2];
    for (int r = 0; r < 8; r++)
        for (int b = 0; b < NB; b++)
            acc[r][b] = _mm512_setzero_ps();
    const int nkp = Kp / 2;
    for (int kp = 0; kp < nkp; kp++) {
        __m512i bv[2];
        for (int b = 0; b < NB; b++)
            bv[b] = _mm512_load_si512(B0 + (size_t)b * bstride + (size_t)kp * 32);
        for (int r = 0; r < 8; r++) {
            int32_t pair;
            memcpy(&pair, A + (size_t)r * Kp + 2 * kp, sizeof pair);
            const __m512i a = _mm512_set1_epi32(pair);
            for (int b = 0; b < NB; b++)
                acc[r][b] = _mm512_dpbf16_ps(acc[r][b], (__m512bh)a, (__m512bh)bv[b]);
        }
    }
    for (int r = 0; r < 8; r++)
        for (int b = 0; b < NB; b++)
            _mm512_storeu_ps(C + (size_t)r * Jp + 16 * b, acc[r][b]);
}

/* C [RG, 16 nb] (row stride ldc floats) = A [RG, Kp] (bf16, row stride Kp) times the packed B's 16-feature
 * blocks jb and, with nb = 2, jb + 1, in fp32: on AMX tiles (2 x 2 tiles of 16 x 16) or with vdpbf16ps
 * (8 rows at a time); k in order either way. */
static void gemm_cols(int path, const uint16_t *A, int Kp, const uint16_t *Bp, int jb, int nb, float *C, int ldc)
{
    const int nkb = Kp / 32;
    const size_t bstride = (size_t)nkb * 512;
    const uint16_t *B0 = Bp + (size_t)jb * bstride, *B1 = B0 + bstride;
    if (path != PATH_AMX) {
        for (int r0 = 0; r0 < RG; r0 += 8)
            vdp_block(A + (size_t)r0 * Kp, Kp, B0, bstride, nb, C + (size_t)r0 * ldc, ldc);
        return;
    }
    const size_t lda = (size_t)Kp * 2, ldcb = (size_t)ldc * 4;
    const uint16_t *A1 = A + (size_t)16 * Kp;
    _tile_zero(0);
    _tile_zero(2);
    if (nb == 2) {
        _tile_zero(1);
        _tile_zero(3);
        for (int kb = 0; kb < nkb; kb++) {
            _tile_loadd(4, A + kb * 32, lda);
            _tile_loadd(5, A1 + kb * 32, lda);
            _tile_loadd(6, B0 + (size_t)kb * 512, 64);
            _tile_loadd(7, B1 + (size_t)kb * 512, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(1, C + 16, ldcb);
        _tile_stored(3, C + (size_t)16 * ldc + 16, ldcb);
    } else {
        for (int kb = 0; kb < nkb; kb++) {
            _tile_loadd(4, A + kb * 32, lda);
            _tile_loadd(5, A1 + kb * 32, lda);
            _tile_loadd(6, B0 + (size_t)kb * 512, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(2, 5, 6);
        }
    }
    _tile_stored(0, C, ldcb);
    _tile_stored(2, C + (size_t)16 * ldc, ldcb);
}

/* C [RG, Jp] = A [RG, Kp] times the packed B (Kp x Jp), fp32. */
static void gemm(int path, const uint16_t *A, int Kp, const uint16_t *Bp, int Jp, float *C)
{
    const int njb = Jp / 16;
    for (int jb = 0; jb < njb; jb += 2)
        gemm_cols(path, A, Kp, Bp, jb, njb - jb >= 2 ? 2 : 1, C + (size_t)16 * jb, Jp);
}

/* e^x for x <= 0 to about 1e-5 relative (a degree-5 polynomial after the 2^k split; bf16 needs 4e-3). */
static inline __m512 v_exp_neg(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
    const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(12582912.0f));
    const __m512 k = _mm512_sub_ps(t, _mm512_set1_ps(12582912.0f));
    const __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693147180559945f), x);
    __m512 p = _mm512_set1_ps(8.3334519073e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i e = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000)),
                         _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|), with a 14-bit reciprocal: about 1e-4 absolute. */
static inline __m512 v_tanh(__m512 x)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
    const __m512 ax = _mm512_and_ps(x, absmask);
    const __m512 e = v_exp_neg(_mm512_mul_ps(ax, _mm512_set1_ps(-2.0f)));
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 t = _mm512_mul_ps(_mm512_sub_ps(one, e), _mm512_rcp14_ps(_mm512_add_ps(one, e)));
    return _mm512_or_ps(t, _mm512_andnot_ps(absmask, x));
}

static inline __mmask16 tail_mask(int j, int J)
{
    const int n = J - j;
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

static inline void store_bf16(uint16_t *p, __m512 v)
{
    _mm256_storeu_si256((__m256i *)(void *)p, (__m256i)_mm512_cvtneps_pbh(v));
}

/* act [RG, J] = tanh(C + b), next [RG, pad32(J)] = its bf16 copy, zero past J. */
static void ep_tanh(const float *C, int Jp, const float *b, int J, float *act, uint16_t *next)
{
    const int Kn = pad32(J);
    for (int r = 0; r < RG; r++)
        for (int j = 0; j < Kn; j += 16) {
            const __mmask16 m = tail_mask(j, J);
            const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, C + (size_t)r * Jp + j),
                                           _mm512_maskz_loadu_ps(m, b + j));
            const __m512 t = _mm512_maskz_mov_ps(m, v_tanh(v));
            _mm512_mask_storeu_ps(act + (size_t)r * J + j, m, t);
            store_bf16(next + (size_t)r * Kn + j, t);
        }
}

/* next [RG, pad32(J)] = bf16 of C * (1 - a^2) with a = act [RG, J], zero past J. */
static void ep_dtanh(const float *C, int Jp, const float *act, int J, uint16_t *next)
{
    const int Kn = pad32(J);
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int r = 0; r < RG; r++)
        for (int j = 0; j < Kn; j += 16) {
            const __mmask16 m = tail_mask(j, J);
            const __m512 a = _mm512_maskz_loadu_ps(m, act + (size_t)r * J + j);
            const __m512 g = _mm512_maskz_loadu_ps(m, C + (size_t)r * Jp + j);
            store_bf16(next + (size_t)r * Kn + j, _mm512_mul_ps(g, _mm512_fnmadd_ps(a, a, one)));
        }
}

/* The final flush of a row's Bernoulli value: sum of lin minus the logs of the lanes' products. */
static float bern_value(const float *lin, const float *prod, float lg)
{
    for (int i = 0; i < 16; i++)
        lg += logf(prod[i]);
    return _mm512_reduce_add_ps(_mm512_load_ps(lin)) - lg;
}

/* The Bernoulli layer of the group's rows [0, n) fused with its GEMM, 32 features at a time so that the
 * logits stay in L1 (Cb [RG, 32]): l = A W + b over D pixels; with `value`, val[i] = sum_d (x_d l_d -
 * softplus(l_d)) (the log of per-lane products of 1 + e^-|l|, flushed every 63-64 vectors); if S != NULL
 * also S [n, pad32(D)] = bf16 of x - sigmoid(l), zero past D. x0: the data rows, row i's being that of
 * group row r0 + i over K. */
static void bern_fused(int path, const uint16_t *A, int Kp, const uint16_t *Bp, const float *b, const float *x0,
                       int K, int r0, int n, int D, uint16_t *S, int value, float *val, float *Cb)
{
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
    const int Jp = pad16(D), Kn = pad32(D), njb = Jp / 16;
    _Alignas(64) float lin[RG][16], prod[RG][16];
    float lg[RG];
    for (int i = 0; i < n; i++) {
        _mm512_store_ps(lin[i], zero);
        _mm512_store_ps(prod[i], one);
        lg[i] = 0.0f;
    }
    int v = 0; /* vectors in the products since their last flush */
    for (int jb = 0; jb < njb; jb += 2) {
        const int nb = njb - jb >= 2 ? 2 : 1;
        gemm_cols(path, A, Kp, Bp, jb, nb, Cb, 32);
        for (int i = 0; i < n; i++) {
            const float *x = x0 + (size_t)((r0 + i) / K) * D;
            __m512 li = _mm512_load_ps(lin[i]), pr = _mm512_load_ps(prod[i]);
            for (int q = 0; q < nb; q++) {
                const int j = 16 * (jb + q);
                const __mmask16 m = tail_mask(j, D);
                const __m512 l = _mm512_add_ps(_mm512_maskz_loadu_ps(m, Cb + (size_t)i * 32 + 16 * q),
                                               _mm512_maskz_loadu_ps(m, b + j));
                const __m512 xv = _mm512_maskz_loadu_ps(m, x + j);
                const __m512 e = v_exp_neg(_mm512_sub_ps(zero, _mm512_and_ps(l, absmask)));
                const __m512 u = _mm512_add_ps(one, e);
                if (value) {
                    li = _mm512_mask_add_ps(li, m, li, _mm512_fmsub_ps(xv, l, _mm512_max_ps(zero, l)));
                    pr = _mm512_mask_mul_ps(pr, m, pr, u);
                }
                if (S != NULL) {
                    const __mmask16 nonneg = _mm512_cmp_ps_mask(l, zero, _CMP_GE_OQ);
                    const __m512 num = _mm512_mask_blend_ps(nonneg, e, one);
                    store_bf16(S + (size_t)i * Kn + j,
                               _mm512_maskz_mov_ps(m, _mm512_sub_ps(xv, _mm512_mul_ps(num, _mm512_rcp14_ps(u)))));
                }
            }
            if (value) {
                _mm512_store_ps(lin[i], li);
                _mm512_store_ps(prod[i], pr);
            }
        }
        v += nb;
        if (value && v >= 63) { /* at most 64 factors of (1, 2] per lane: no overflow */
            for (int i = 0; i < n; i++) {
                for (int l = 0; l < 16; l++)
                    lg[i] += logf(prod[i][l]);
                _mm512_store_ps(prod[i], one);
            }
            v = 0;
        }
    }
    if (S != NULL && Kn > Jp)
        for (int i = 0; i < n; i++)
            store_bf16(S + (size_t)i * Kn + Jp, zero);
    if (value)
        for (int i = 0; i < n; i++)
            val[i] = bern_value(lin[i], prod[i], lg[i]);
}

/* What one call shares between its threads. */
typedef struct bf_job {
    const aw_model_t *m;
    unsigned char *base;
    bf_layout_t lo;
    int path;
    const float *x, *h;
    int K, N, flags;
    float *out, *grad_h;
} bf_job_t;

/* Rows [r0, r0 + n), n <= RG, through the decoder on the group buffers g. */
static void bf_rows(const bf_job_t *jb, unsigned char *g, int r0, int n)
{
    const aw_model_t *m = jb->m;
    const bf_layout_t *lo = &jb->lo;
    const int L = m->shape.n_hidden, H = m->shape.H, D = m->shape.D;
    uint16_t *a0 = (uint16_t *)(void *)(g + lo->a[0]);
    const int K0 = pad32(H);
    for (int i = 0; i < RG; i++)
        for (int k = 0; k < K0; k++)
            a0[(size_t)i * K0 + k] = i < n && k < H ? to_bf16(jb->h[(size_t)(r0 + i) * H + k]) : 0;
    float *C = (float *)(void *)(g + lo->c);
    for (int l = 0; l < L; l++) {
        const aw_layer_t *y = &m->dec[l];
        gemm(jb->path, (uint16_t *)(void *)(g + lo->a[l]), pad32(y->in),
             (const uint16_t *)(void *)(jb->base + lo->fwd[l]), pad16(y->out), C);
        ep_tanh(C, pad16(y->out), y->b, y->out, (float *)(void *)(g + lo->act[l]),
                (uint16_t *)(void *)(g + lo->a[l + 1]));
    }
    const aw_layer_t *yl = &m->dec[L];
    uint16_t *S = (uint16_t *)(void *)(g + lo->s);
    const int grad = jb->grad_h != NULL, prior = jb->flags & AW_LOGLIK_PRIOR;
    const int value = !(grad && (jb->flags & AW_LOGLIK_GRAD_ONLY)); /* gradient-only: out stays unwritten */
    float val[RG];
    bern_fused(jb->path, (uint16_t *)(void *)(g + lo->a[L]), pad32(yl->in),
               (const uint16_t *)(void *)(jb->base + lo->fwd[L]), yl->b, jb->x, jb->K, r0, n, D, grad ? S : NULL,
               value, val, C);
    for (int i = 0; value && i < n; i++) {
        const int r = r0 + i;
        float v = val[i];
        if (prior)
            v += aw_model_log_prior(jb->h + (size_t)r * H, H);
        jb->out[r] = (jb->flags & AW_LOGLIK_ADD) ? jb->out[r] + v : v;
    }
    if (!grad)
        return;
    if (n < RG)
        memset(S + (size_t)n * pad32(D), 0, (size_t)(RG - n) * pad32(D) * 2);
    /* Back from d/dl = x - sigmoid(l) through the tanh layers to h. */
    const uint16_t *dy = S;
    for (int l = L; l >= 1; l--) {
        const aw_layer_t *y = &m->dec[l];
        uint16_t *dx = (uint16_t *)(void *)(g + lo->d[l & 1]);
        gemm(jb->path, dy, pad32(y->out), (const uint16_t *)(void *)(jb->base + lo->bwd[l]), pad16(y->in), C);
        ep_dtanh(C, pad16(y->in), (const float *)(void *)(g + lo->act[l - 1]), y->in, dx);
        dy = dx;
    }
    gemm(jb->path, dy, pad32(m->dec[0].out), (const uint16_t *)(void *)(jb->base + lo->bwd[0]), pad16(H), C);
    for (int i = 0; i < n; i++) {
        const float *hi = jb->h + (size_t)(r0 + i) * H;
        float *gi = jb->grad_h + (size_t)(r0 + i) * H;
        for (int k = 0; k < H; k++)
            gi[k] = (prior ? -hi[k] : 0.0f) + C[(size_t)i * pad16(H) + k];
    }
}

static void bf_run(bf_job_t *jb, int nt)
{
#pragma omp parallel num_threads(nt)
    {
        if (jb->path == PATH_AMX)
            amx_config();
        unsigned char *g = jb->base + jb->lo.group + (size_t)omp_get_thread_num() * jb->lo.group_bytes;
#pragma omp for schedule(static)
        for (int r0 = 0; r0 < jb->N; r0 += RG)
            bf_rows(jb, g, r0, jb->N - r0 < RG ? jb->N - r0 : RG);
        if (jb->path == PATH_AMX)
            _tile_release();
    }
}

#pragma GCC pop_options

static int bf_loglik(int path, const aw_model_t *m, aw_model_ws_t *ws, const float *x, int K, const float *h,
                     int N, float *out, int flags, float *grad_h)
{
    const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    bf_job_t jb = {.m = m, .path = path, .x = x, .h = h, .K = K, .N = N, .flags = flags, .out = out,
                   .grad_h = grad_h};
    bf_plan(m, nt, &jb.lo);
    jb.base = aw_model_ws_scratch(ws, jb.lo.total);
    if (jb.base == NULL)
        return AW_ENOMEM;
    ensure_packs(m, jb.base, &jb.lo);
    bf_run(&jb, nt);
    return 0;
}

static int amx_loglik(const aw_model_t *m, aw_model_ws_t *ws, const float *x, int K, const float *h, int N,
                      float *out, int flags, float *grad_h)
{
    return bf_loglik(PATH_AMX, m, ws, x, K, h, N, out, flags, grad_h);
}

static int avx512bf16_loglik(const aw_model_t *m, aw_model_ws_t *ws, const float *x, int K, const float *h,
                             int N, float *out, int flags, float *grad_h)
{
    return bf_loglik(PATH_AVX512BF16, m, ws, x, K, h, N, out, flags, grad_h);
}

const aw_dec_kernel_t aw_dec_amx = {
    .name = "amx",
    .usable = amx_usable,
    .train_min_rows = INT_MAX, /* gradient-only: training passes run on the reference */
    .row_independent = 1,
    .bf16 = 1,
    .loglik = amx_loglik,
};

const aw_dec_kernel_t aw_dec_avx512bf16 = {
    .name = "avx512bf16",
    .usable = avx512bf16_usable,
    .train_min_rows = INT_MAX, /* gradient-only: training passes run on the reference */
    .row_independent = 1,
    .bf16 = 1,
    .loglik = avx512bf16_loglik,
};

#endif
