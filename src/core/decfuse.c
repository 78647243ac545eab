/* decfuse.c: the decoder kernel "avx512" (decoder.h): the decoder's log-likelihood and its gradient to h as
 * one fused AVX-512 pass per group of 48 (or 32) rows, for the float library on CPUs that have AVX-512 F, DQ
 * and VL.
 *
 * Why: on the evaluation and HMC paths only per-row scalars (log p(x|h)) and d/dh leave the decoder, so the
 * logits never need to reach memory. Rows are processed 48 at a time (the last groups of a call 32) with
 * activations kept feature-major (transposed) in cache, the weights broadcast straight from the model (no
 * packed copy to remake after every update: packs bought nothing measurable over eight strided streams),
 * and bias, tanh, softplus, sigmoid and x - sigmoid applied to each register tile before it is stored. For
 * training, the same pass keeps every row's activations and deltas feature-major so the weight gradients
 * are single GEMMs over all rows.
 *
 * Each row's arithmetic does not depend on how rows are grouped or split over threads, so results are the
 * same for any thread count. They differ from the reference (CBLAS) kernel by float rounding only.
 *
 * Letters as in model.h; a "T" suffix marks feature-major (transposed) group buffers [features, RG], so
 * that one zmm holds one feature of 16 rows. */
#include "core/decoder.h"

#ifdef AW_DEC_AVX512

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* Tile shape: 3 x 8 (24 of the 32 zmm registers accumulate; 11 loads per 24 FMAs). On Zen 4, 2 x 8, 3 x 8,
 * 2 x 12 and 4 x 6 ran alike at 4096 and 8000 rows; on Emerald Rapids 3 x 8 does the training passes of an
 * IWAE batch (640 rows) 3-5% faster than 2 x 8. A call's last groups may use the 2 x 8 tile (grouping). */
#define MV 3   /* zmm row vectors per register tile */
#define NR 8   /* output features per register tile (MV * NR = 24 accumulators) */
#define RG (16 * MV) /* rows per group */
#define FLUSH_PANELS (64 / NR) /* softplus products are logged every <= 64 factors in (1, 2] */

static size_t up16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* Feature-major values per row (column) of the pass buffers: hT, the aT and dT of each hidden layer, sT,
 * ghT. */
static size_t col_len(const aw_shape_t *s)
{
    size_t n = 2 * (size_t)s->H + s->D;
    for (int l = 0; l < s->n_hidden; l++)
        n += 2 * (size_t)s->hidden[l];
    return n;
}

/* The pass buffers of a group of columns: feature f of column i at [f * ld + i]. */
typedef struct bufs {
    float *hT;                    /* [H] h */
    float *aT[AW_MAX_HIDDEN];     /* [dec[l].out] tanh outputs of decoder layer l */
    float *sT;                    /* [D] x - sigmoid(logits): d log p(x|h) / d logits */
    float *dT[AW_MAX_HIDDEN];     /* [dec[l].out] d log p(x|h) / d (layer l's pre-activation) */
    float *ghT;                   /* [H] d log p(x|h) / dh */
    int ld;                       /* stride between features */
} bufs_t;

static void carve(const aw_shape_t *s, float *p, int ld, bufs_t *bf)
{
    const int L = s->n_hidden;
    bf->ld = ld;
    bf->hT = p;
    p += (size_t)s->H * ld;
    for (int l = 0; l < L; l++) { /* decoder layer l outputs hidden[L - 1 - l] features */
        bf->aT[l] = p;
        p += (size_t)s->hidden[L - 1 - l] * ld;
        bf->dT[l] = p;
        p += (size_t)s->hidden[L - 1 - l] * ld;
    }
    bf->sT = p;
    p += (size_t)s->D * ld;
    bf->ghT = p;
}

/* The head of the scratch block: the row count of the last training pass. */
typedef struct fuse_state {
    int train_N;  /* rows of the last fuse_train_forward */
} fuse_state_t;

/* Layout of the scratch block (offsets in floats). */
typedef struct layout {
    size_t region;                 /* per-thread group buffers (RG columns each), or a training pass's
                                      buffers (Np columns) */
    size_t xt[AW_MAX_HIDDEN + 1];  /* training: dec[l]'s input row-major [N][up16(in)], for dW */
    size_t total;                  /* floats */
} layout_t;

/* N rows in groups: n48 of RG = 48 rows, then n32 of 32 (the tile two vectors wide), so that few lanes are
 * padding and the groups split evenly over two threads: 640 rows (an IWAE batch) are 12 x 48 + 2 x 32,
 * where 14 x 48 would compute 32 rows of padding. */
typedef struct grouping {
    int n48, n32;
} grouping_t;

static grouping_t grouping(int N)
{
    const int q = N / RG, r = N % RG;
    if (r == 0)
        return (grouping_t){q, 0};
    if (r > 32)
        return (grouping_t){q + 1, 0};
    if (r > 16 || q == 0)
        return (grouping_t){q, 1};
    return (grouping_t){q - 1, 2};
}

/* Group g's first row and lanes (48 or 32). */
static int group_of(grouping_t gp, int g, int *lanes)
{
    *lanes = g < gp.n48 ? RG : 32;
    return g < gp.n48 ? g * RG : gp.n48 * RG + (g - gp.n48) * 32;
}

/* Rows and padding lanes of all the groups. */
static int padded(int N)
{
    const grouping_t gp = grouping(N);
    return gp.n48 * RG + gp.n32 * 32;
}

static void plan(const aw_shape_t *s, int N, int nt, int train, layout_t *lo)
{
    const int L = s->n_hidden;
    size_t off = 16; /* the first 64 bytes hold the fuse_state_t */
    lo->region = off;
    off += col_len(s) * (train ? (size_t)padded(N) : (size_t)nt * RG);
    for (int l = 0, in = s->H; l <= L; l++) { /* the weight gradients' row-major inputs (training only) */
        lo->xt[l] = off;
        if (train)
            off += up16(in) * (size_t)N;
        in = l < L ? s->hidden[L - 1 - l] : in;
    }
    lo->total = off;
}

/* Bytes of scratch for N rows on nt threads: for fuse_loglik (train = 0) or a training pass (train = 1,
 * which keeps its buffers for all N rows). */
static size_t fuse_bytes(const aw_shape_t *shape, int N, int nt, int train)
{
    layout_t lo;
    plan(shape, N, nt, train, &lo);
    return lo.total * sizeof(float);
}

static int fuse_usable(const aw_shape_t *shape, int max_rows)
{
    (void)shape, (void)max_rows; /* every valid shape and row count */
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")

/* e^x for x <= 0 (aw_fexp's polynomial, clamped at -87; NaN stays NaN). */
static inline __m512 v_exp_neg(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x); /* second operand returned for NaN */
    const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(12582912.0f));
    const __m512 k = _mm512_sub_ps(t, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(k, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000)),
                         _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* tanh(x), aw_ftanh's rational function (clamped at +-7.905; NaN stays NaN). */
static inline __m512 v_tanh(__m512 x)
{
    const __m512 c = _mm512_set1_ps(7.90531110763549805f);
    x = _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), c), _mm512_min_ps(c, x));
    const __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-2.76076847742355e-16f);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.00018790482477e-13f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-8.60467152213735e-11f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(5.12229709037114e-08f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.48572235717979e-05f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(6.37261928875436e-04f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(4.89352455891786e-03f));
    p = _mm512_mul_ps(p, x);
    __m512 q = _mm512_set1_ps(1.19825839466702e-06f);
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(1.18534705686654e-04f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(2.26843463243900e-03f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(4.89352518554385e-03f));
    return _mm512_div_ps(p, q);
}

/* The register tile: acc[j][v] = sum over k < K, in order, of s[j * js + k * ks] * vec[k * ld + 16v ..+15]
 * for j < NR (rows j >= jn read row jn - 1: a short panel) and v < mv. The broadcasts come from NR rows
 * of W (a forward pass: js = W's row length, ks = 1), from NR columns of W (a backward pass: js = 1, ks =
 * the row length) or from NR rows of kept deltas (the weight gradients: js = their stride, ks = 1). */
static inline __attribute__((always_inline)) void tile_bc(const float *restrict s, size_t js, size_t ks, int jn,
                                                         const float *restrict vec, size_t ld, int K, int mv,
                                                         __m512 acc[NR][MV])
{
    const float *r[NR];
#pragma GCC unroll 12
    for (int j = 0; j < NR; j++) {
        r[j] = s + (size_t)(j < jn ? j : jn - 1) * js;
#pragma GCC unroll 4
        for (int v = 0; v < MV; v++)
            acc[j][v] = _mm512_setzero_ps();
    }
    for (int k = 0; k < K; k++) {
        __m512 a[MV];
#pragma GCC unroll 4
        for (int v = 0; v < mv; v++)
            a[v] = _mm512_load_ps(vec + (size_t)k * ld + 16 * v);
#pragma GCC unroll 12
        for (int j = 0; j < NR; j++) {
            const __m512 w = _mm512_set1_ps(r[j][(size_t)k * ks]);
#pragma GCC unroll 4
            for (int v = 0; v < mv; v++)
                acc[j][v] = _mm512_fmadd_ps(a[v], w, acc[j][v]);
        }
    }
}

/* tile_bc for output features [NR p, NR p + jn) of a layer with weights W [out, in] over the feature-major
 * inT (stride ld, K rows): forward (out = J outputs, in = K inputs: the broadcasts are W[j][k]) or
 * backward (bwd: out = K inputs, in = J outputs of this pass: W[k][j]). */
static inline __attribute__((always_inline)) void tile(const float *restrict W, int bwd, int p, int jn, int K,
                                                      int J, const float *restrict inT, int ld, int mv,
                                                      __m512 acc[NR][MV])
{
    if (bwd)
        tile_bc(W + (size_t)p * NR, 1, (size_t)J, jn, inT, (size_t)ld, K, mv, acc);
    else
        tile_bc(W + (size_t)p * NR * K, (size_t)K, 1, jn, inT, (size_t)ld, K, mv, acc);
}

enum {
    EP_STORE,     /* out = acc */
    EP_TANH,      /* out = tanh(acc + b[j]) */
    EP_DTANH      /* out = acc * (1 - a^2), a = aT[j] (backward through a tanh layer) */
};

/* outT [J] (stride ld) = epilogue(P^T inT) over 16 mv columns, P [K][J] being W^T (forward) or W (bwd);
 * inT [K] and aT [J] have the same stride. mv is a constant where it is inlined (rows_mv). */
static inline __attribute__((always_inline)) void layer(int mode, const float *W, int bwd, int K, int J,
                                                       const float *inT, const float *b, const float *aT,
                                                       float *outT, int ld, int mv)
{
    const int np = (J + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        __m512 acc[NR][MV];
        const int j0 = p * NR, jn = J - j0 < NR ? J - j0 : NR;
        tile(W, bwd, p, jn, K, J, inT, ld, mv, acc);
#pragma GCC unroll 12
        for (int jj = 0; jj < NR; jj++) {
            if (jj >= jn)
                break;
            const int j = j0 + jj;
            float *o = outT + (size_t)j * ld;
#pragma GCC unroll 4
            for (int q = 0; q < mv; q++) {
                __m512 r = acc[jj][q];
                if (mode == EP_TANH) {
                    r = v_tanh(_mm512_add_ps(r, _mm512_set1_ps(b[j])));
                } else if (mode == EP_DTANH) {
                    const __m512 a = _mm512_load_ps(aT + (size_t)j * ld + 16 * q);
                    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(a, a, _mm512_set1_ps(1.0f)));
                }
                _mm512_store_ps(o + 16 * q, r);
            }
        }
    }
}

/* Where a row vector's pixels come from: 16 lanes of one data point (one broadcast per pixel), or not
 * (one gather per pixel). */
typedef struct xsrc {
    const float *x0;   /* the first lane's image [D] */
    __m512i off;       /* per-lane offsets of each lane's image from x0, in floats */
    int uniform;       /* 1 if all 16 lanes share one image */
} xsrc_t;

/* The Bernoulli output layer over 16 mv columns: l = W inT + b over J = D pixels (W [J, K]); lp [16 mv] =
 * sum_d (x_d l_d - softplus(l_d)) per row, as sum (x l - max(l,0)) minus the logs of products of
 * (1 + e^-|l|), logged every 64 pixels (aw_model_bern_row's scheme); if sT != NULL also sT [D] =
 * x - sigmoid(l). Stride ld. */
static inline __attribute__((always_inline)) void bern_layer(const float *W, int K, int J, const float *inT,
                                                            const float *b, const xsrc_t *xs, float *sT, int ld,
                                                            float *lp, int mv)
{
    const int np = (J + NR - 1) / NR;
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
    __m512 lin[MV], prod[MV];
    float lg[RG];
    for (int q = 0; q < mv; q++) {
        lin[q] = zero;
        prod[q] = one;
    }
    for (int m = 0; m < 16 * mv; m++)
        lg[m] = 0;
    for (int p = 0; p < np; p++) {
        __m512 acc[NR][MV];
        const int j0 = p * NR, jn = J - j0 < NR ? J - j0 : NR;
        tile(W, 0, p, jn, K, J, inT, ld, mv, acc);
#pragma GCC unroll 12
        for (int jj = 0; jj < NR; jj++) {
            if (jj >= jn)
                break;
            const int j = j0 + jj;
            const __m512 bj = _mm512_set1_ps(b[j]);
#pragma GCC unroll 4
            for (int q = 0; q < mv; q++) {
                const __m512 l = _mm512_add_ps(acc[jj][q], bj);
                const __m512 x = xs[q].uniform ? _mm512_set1_ps(xs[q].x0[j])
                                               : _mm512_i32gather_ps(_mm512_add_epi32(xs[q].off,
                                                                                      _mm512_set1_epi32(j)),
                                                                     xs[q].x0, 4);
                const __m512 e = v_exp_neg(_mm512_sub_ps(zero, _mm512_and_ps(l, absmask)));
                const __m512 u = _mm512_add_ps(one, e);
                lin[q] = _mm512_add_ps(lin[q], _mm512_fmsub_ps(x, l, _mm512_max_ps(zero, l)));
                prod[q] = _mm512_mul_ps(prod[q], u);
                if (sT != NULL) {
                    const __mmask16 nonneg = _mm512_cmp_ps_mask(l, zero, _CMP_GE_OQ);
                    const __m512 num = _mm512_mask_blend_ps(nonneg, e, one);
                    _mm512_store_ps(sT + (size_t)j * ld + 16 * q, _mm512_sub_ps(x, _mm512_div_ps(num, u)));
                }
            }
        }
        if ((p + 1) % FLUSH_PANELS == 0 || p == np - 1) {
            for (int q = 0; q < mv; q++) {
                float f[16];
                _mm512_storeu_ps(f, prod[q]);
                for (int i = 0; i < 16; i++)
                    lg[16 * q + i] += logf(f[i]);
                prod[q] = one;
            }
        }
    }
    for (int q = 0; q < mv; q++)
        _mm512_storeu_ps(lp + 16 * q, _mm512_sub_ps(lin[q], _mm512_loadu_ps(lg + 16 * q)));
}

/* What one call shares between its threads. */
typedef struct job {
    const aw_model_t *m;
    float *base;       /* the scratch block */
    layout_t lo;
    const float *x, *h;
    int K, N, flags;
    float *out;        /* [N] values (see flags) */
    int grad;          /* 1: the backward pass to the input (dT, and ghT if want_gh) */
    int want_gh;       /* 1: ghT = d/dh */
    float *grad_h;     /* [N,H] or NULL: d/dh copied out row-major (with the prior's term) */
} job_t;

/* Rows [r0, r0 + n), n <= 16 mv, through the decoder: bf's pointers are at these rows' first column. */
static inline __attribute__((always_inline)) void rows_mv(const job_t *jb, const bufs_t *bf, int r0, int n,
                                                         int mv)
{
    const aw_model_t *m = jb->m;
    const int L = m->shape.n_hidden, H = m->shape.H, D = m->shape.D, J0 = m->dec[L].in, K = jb->K;
    const int ld = bf->ld;
    for (int k = 0; k < H; k++)
        for (int i = 0; i < 16 * mv; i++)
            bf->hT[(size_t)k * ld + i] = i < n ? jb->h[(size_t)(r0 + i) * H + k] : 0.0f;
    xsrc_t xs[MV];
    for (int q = 0; q < mv; q++) {
        int off[16], p0 = -1;
        xs[q].uniform = 1;
        for (int i = 0; i < 16; i++) {
            const int r = r0 + (16 * q + i < n ? 16 * q + i : n - 1), pt = r / K;
            if (i == 0)
                p0 = pt;
            off[i] = (pt - p0) * D;
            xs[q].uniform &= pt == p0;
        }
        xs[q].x0 = jb->x + (size_t)p0 * D;
        xs[q].off = _mm512_loadu_si512(off);
    }

    const float *in = bf->hT;
    for (int l = 0; l < L; l++) {
        const aw_layer_t *y = &m->dec[l];
        layer(EP_TANH, y->W, 0, y->in, y->out, in, y->b, NULL, bf->aT[l], ld, mv);
        in = bf->aT[l];
    }
    float lp[RG];
    bern_layer(m->dec[L].W, J0, D, in, m->dec[L].b, xs, jb->grad ? bf->sT : NULL, ld, lp, mv);
    for (int i = 0; i < n; i++) {
        const int r = r0 + i;
        float v = lp[i];
        if (jb->flags & AW_LOGLIK_PRIOR)
            v += aw_model_log_prior(jb->h + (size_t)r * H, H);
        jb->out[r] = (jb->flags & AW_LOGLIK_ADD) ? jb->out[r] + v : v;
    }
    if (!jb->grad)
        return;
    /* Back from d/dl = x - sigmoid(l) through the tanh layers (to h if wanted). */
    layer(EP_DTANH, m->dec[L].W, 1, D, J0, bf->sT, NULL, bf->aT[L - 1], bf->dT[L - 1], ld, mv);
    for (int l = L - 1; l >= 1; l--) {
        const aw_layer_t *y = &m->dec[l];
        layer(EP_DTANH, y->W, 1, y->out, y->in, bf->dT[l], NULL, bf->aT[l - 1], bf->dT[l - 1], ld, mv);
    }
    if (!jb->want_gh)
        return;
    layer(EP_STORE, m->dec[0].W, 1, m->dec[0].out, H, bf->dT[0], NULL, NULL, bf->ghT, ld, mv);
    if (jb->grad_h == NULL)
        return;
    const int prior = jb->flags & AW_LOGLIK_PRIOR;
    for (int i = 0; i < n; i++) {
        const float *hi = jb->h + (size_t)(r0 + i) * H;
        float *gi = jb->grad_h + (size_t)(r0 + i) * H;
        for (int k = 0; k < H; k++)
            gi[k] = (prior ? -hi[k] : 0.0f) + bf->ghT[(size_t)k * ld + i];
    }
}

/* rows_mv for a group of 48 lanes, and of 32. */
static void rows48(const job_t *jb, const bufs_t *bf, int r0, int n)
{
    rows_mv(jb, bf, r0, n, MV);
}

static void rows32(const job_t *jb, const bufs_t *bf, int r0, int n)
{
    rows_mv(jb, bf, r0, n, 2);
}

/* bf shifted to column c. */
static bufs_t at_column(const aw_shape_t *s, const bufs_t *bf, int c)
{
    bufs_t v = *bf;
    v.hT += c;
    v.sT += c;
    v.ghT += c;
    for (int l = 0; l < s->n_hidden; l++) {
        v.aT[l] += c;
        v.dT[l] += c;
    }
    return v;
}

/* Group g of the call's rows through the decoder: in bf's columns from the group's first row where whole
 * (a training pass keeps every row), else from column 0 (a thread's buffers of RG columns). */
static void group(const job_t *jb, const bufs_t *bf, int whole, grouping_t gp, int g)
{
    int lanes;
    const int r0 = group_of(gp, g, &lanes), n = jb->N - r0 < lanes ? jb->N - r0 : lanes;
    const bufs_t v = whole ? at_column(&jb->m->shape, bf, r0) : *bf;
    if (lanes == RG)
        rows48(jb, &v, r0, n);
    else
        rows32(jb, &v, r0, n);
}

/* out [N] = log p(x_{n/K} | h_n) (+ log p(h_n) with AW_LOGLIK_PRIOR; += with AW_LOGLIK_ADD) for h [N,H];
 * if grad_h != NULL also grad_h [N,H] = d out / dh (overwritten). scratch: 64-byte aligned,
 * fuse_bytes(shape, N, nt, 0) bytes. Runs nt OpenMP threads (1 inside a parallel region). */
static void fuse_loglik(const aw_model_t *m, void *scratch, int nt, const float *x, int K, const float *h,
                        int N, float *out, int flags, float *grad_h)
{
    job_t jb = {.m = m, .base = scratch, .x = x, .h = h, .K = K, .N = N, .flags = flags, .out = out,
                .grad = grad_h != NULL, .want_gh = grad_h != NULL, .grad_h = grad_h};
    plan(&m->shape, N, nt, 0, &jb.lo);
    const size_t glen = col_len(&m->shape) * RG;
    const grouping_t gp = grouping(N);
#pragma omp parallel num_threads(nt)
    {
        bufs_t bf;
        carve(&m->shape, jb.base + jb.lo.region + (size_t)omp_get_thread_num() * glen, RG, &bf);
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < gp.n48 + gp.n32; g++)
            group(&jb, &bf, 0, gp, g);
    }
}

/* The first half of a training gradient: out [N] as fuse_loglik, and in the scratch (which must have
 * fuse_bytes(shape, N, nt, 1) bytes) every row's activations and its backward pass from
 * d log p(x|h)/d logits down to the first layer's pre-activation, and to h if want_gh. */
static void fuse_train_forward(const aw_model_t *m, void *scratch, int nt, const float *x, int K,
                               const float *h, int N, float *out, int flags, int want_gh)
{
    job_t jb = {.m = m, .base = scratch, .x = x, .h = h, .K = K, .N = N, .flags = flags, .out = out,
                .grad = 1, .want_gh = want_gh};
    plan(&m->shape, N, nt, 1, &jb.lo);
    ((fuse_state_t *)scratch)->train_N = N;
    bufs_t bf;
    carve(&m->shape, jb.base + jb.lo.region, padded(N), &bf);
    const grouping_t gp = grouping(N);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int g = 0; g < gp.n48 + gp.n32; g++)
        group(&jb, &bf, 1, gp, g);
}

/* sum of the products a[i] c[i], i < n, each rounded, in a fixed order (16 lanes, then the lanes in
 * order): the same for any thread count. */
static float dot_fixed(const float *a, const float *c, int n)
{
    __m512 s = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16)
        s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(c + i)));
    float lanes[16], t = 0;
    _mm512_storeu_ps(lanes, s);
    for (int j = 0; j < 16; j++)
        t += lanes[j];
    for (; i < n; i++) {
        const float p = a[i] * c[i];
        t += p;
    }
    return t;
}

/* r [16] := its transpose: lane i of r[j] <-> lane j of r[i] (four rounds of in-lane and cross-lane
 * shuffles). */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}

/* dst [n][0, ldx) = c[n] src[k][n] for k < K and the rows n in [n0, n1) (src feature-major with stride lds
 * and at least up16(n1) columns; dst row-major, zero beyond K; ldx a multiple of 16), in 16 x 16 blocks:
 * the weight gradients' vector operand, each row scaled by its weight in the loss. */
static void transpose_in(const float *src, size_t lds, int K, int n0, int n1, const float *c, float *dst,
                         int ldx)
{
    for (; n0 < n1; n0 += 16) {
        const int nn = n1 - n0 < 16 ? n1 - n0 : 16;
        for (int k0 = 0; k0 < ldx; k0 += 16) {
            __m512 r[16];
            for (int k = 0; k < 16; k++)
                r[k] = k0 + k < K ? _mm512_loadu_ps(src + (size_t)(k0 + k) * lds + n0) : _mm512_setzero_ps();
            transpose16(r);
            for (int i = 0; i < nn; i++)
                _mm512_store_ps(dst + (size_t)(n0 + i) * ldx + k0, _mm512_mul_ps(r[i], _mm512_set1_ps(c[n0 + i])));
        }
    }
}

/* dW [jn][in] (row stride in) = dy [jn][N] (stride ldy) times xt [N][ldx]^T for one panel of jn <= NR
 * output features: column blocks of 16 * MV inputs, the last one only as many vectors wide as it needs
 * (xt's rows hold up16(in) values). */
_Static_assert(MV <= 3, "dw_panel instantiates tiles of 1 to 3 vectors");

static void dw_panel(const float *dy, size_t ldy, int jn, const float *xt, int ldx, int in, int N, float *dW)
{
    for (int k0 = 0; k0 < in; k0 += 16 * MV) {
        __m512 acc[NR][MV];
        const int left = (in - k0 + 15) / 16, mv = left < MV ? left : MV;
        if (mv == MV)
            tile_bc(dy, ldy, 1, jn, xt + k0, (size_t)ldx, N, MV, acc);
        else if (mv == 2)
            tile_bc(dy, ldy, 1, jn, xt + k0, (size_t)ldx, N, 2, acc);
        else
            tile_bc(dy, ldy, 1, jn, xt + k0, (size_t)ldx, N, 1, acc);
        for (int j = 0; j < jn; j++)
            for (int v = 0; v < mv; v++) {
                const int k = k0 + 16 * v, w = in - k < 16 ? in - k : 16;
                if (w > 0)
                    _mm512_mask_storeu_ps(dW + (size_t)j * in + k, (__mmask16)((1u << w) - 1), acc[j][v]);
            }
    }
}

/* The second half, for the loss sum_n c[n] log p(x_n | h_n) over the rows of the last fuse_train_forward
 * on this scratch: grad_dec [dec_n] (the decoder block, overwritten) if not NULL; gh [N,H] =
 * c[n] d log p(x_n|h_n) / dh_n if not NULL (needs want_gh). */
static void fuse_train_backward(const aw_model_t *m, void *scratch, int nt, const float *c, float *grad_dec,
                                float *gh)
{
    const int N = ((fuse_state_t *)scratch)->train_N, Np = padded(N), L = m->shape.n_hidden, H = m->shape.H;
    layout_t lo;
    plan(&m->shape, N, nt, 1, &lo);
    float *base = scratch;
    bufs_t bf;
    carve(&m->shape, base + lo.region, Np, &bf);
    const float *p0 = m->params + m->dec_off;
    /* Two rounds of tasks, a barrier between them; each task's arithmetic is fixed by the shape, so the
     * results are the same for any thread count. Row n's gradient is c[n] times its own: the scaling goes
     * onto the layer inputs as they are copied row-major, and into the bias sums.
     * 1. Layer l's tasks [first[l], first[l + 1]): AW_GEMM_ROWS output features each, db = the c-weighted
     *    sum of dY over the rows; before them, per layer and chunk of AW_GEMM_ROWS rows, the copy of its
     *    input row-major and scaled by c for the tiles (xt).
     * 2. One task per panel of NR output features of a layer: its rows of dW = dY (c X)^T, as register
     *    tiles that sum over the rows in order. */
    const int nrc = (N + AW_GEMM_ROWS - 1) / AW_GEMM_ROWS;
    int first[AW_MAX_HIDDEN + 2], pfirst[AW_MAX_HIDDEN + 2];
    first[0] = pfirst[0] = 0;
    for (int l = 0; l <= L; l++) {
        first[l + 1] = first[l] + (m->dec[l].out + AW_GEMM_ROWS - 1) / AW_GEMM_ROWS;
        pfirst[l + 1] = pfirst[l] + (m->dec[l].out + NR - 1) / NR;
    }
    const int ncopy = (L + 1) * nrc;
    const int ntask1 = grad_dec != NULL ? ncopy + first[L + 1] : 0;
    const int ntask2 = grad_dec != NULL ? pfirst[L + 1] : 0;
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < ntask1; t++) {
            if (t < ncopy) { /* rows [n0, n1) of layer l's input, row-major and scaled */
                const int l = t / nrc, n0 = t % nrc * AW_GEMM_ROWS;
                transpose_in(l == 0 ? bf.hT : bf.aT[l - 1], (size_t)Np, m->dec[l].in, n0,
                             n0 + AW_GEMM_ROWS < N ? n0 + AW_GEMM_ROWS : N, c, base + lo.xt[l],
                             (int)up16(m->dec[l].in));
                continue;
            }
            const int ts = t - ncopy;
            int l = 0;
            while (ts >= first[l + 1])
                l++;
            const aw_layer_t *y = &m->dec[l];
            const int f0 = (ts - first[l]) * AW_GEMM_ROWS;
            const int f1 = y->out - f0 < AW_GEMM_ROWS ? y->out : f0 + AW_GEMM_ROWS;
            const float *dY = l == L ? bf.sT : bf.dT[l];
            float *db = grad_dec + (y->b - p0);
            for (int f = f0; f < f1; f++)
                db[f] = dot_fixed(dY + (size_t)f * Np, c, N);
        }
#pragma omp for schedule(dynamic, 1) nowait
        for (int t = 0; t < ntask2; t++) {
            int l = 0;
            while (t >= pfirst[l + 1])
                l++;
            const aw_layer_t *y = &m->dec[l];
            const int f0 = (t - pfirst[l]) * NR, jn = y->out - f0 < NR ? y->out - f0 : NR;
            const float *dY = (l == L ? bf.sT : bf.dT[l]) + (size_t)f0 * Np;
            dw_panel(dY, (size_t)Np, jn, base + lo.xt[l], (int)up16(y->in), y->in, N,
                     grad_dec + (y->W - p0) + (size_t)f0 * y->in);
        }
        if (gh != NULL)
#pragma omp for schedule(static) nowait
            for (int n = 0; n < N; n++)
                for (int k = 0; k < H; k++)
                    gh[(size_t)n * H + k] = c[n] * bf.ghT[(size_t)k * Np + n];
    }
}

#pragma GCC pop_options

/* Threads of a call: the OpenMP team it would start, or 1 inside a parallel region. */
static int fuse_threads(void)
{
    return omp_in_parallel() ? 1 : omp_get_max_threads();
}

static int avx512_loglik(const aw_model_t *m, aw_model_ws_t *ws, const float *x, int K, const float *h, int N,
                         float *out, int flags, float *grad_h)
{
    const int nt = fuse_threads();
    void *scratch = aw_model_ws_scratch(ws, fuse_bytes(&m->shape, N, nt, 0));
    if (scratch == NULL)
        return AW_ENOMEM;
    fuse_loglik(m, scratch, nt, x, K, h, N, out, flags, grad_h);
    return 0;
}

static int avx512_train_forward(const aw_model_t *m, aw_model_ws_t *ws, const float *x, int K, const float *h,
                                int N, float *out, int flags, int want_gh)
{
    const int nt = fuse_threads();
    void *scratch = aw_model_ws_scratch(ws, fuse_bytes(&m->shape, N, nt, 1));
    if (scratch == NULL)
        return AW_ENOMEM;
    fuse_train_forward(m, scratch, nt, x, K, h, N, out, flags, want_gh);
    return 0;
}

static void avx512_train_backward(const aw_model_t *m, aw_model_ws_t *ws, const float *c, float *grad_dec,
                                  float *gh)
{
    fuse_train_backward(m, ws->kscratch, fuse_threads(), c, grad_dec, gh);
}

const aw_dec_kernel_t aw_dec_avx512 = {
    .name = "avx512",
    .usable = fuse_usable,
    .train_min_rows = 128, /* fewer rows: a few groups would leave threads idle */
    .row_independent = 1,
    .loglik = avx512_loglik,
    .train_forward = avx512_train_forward,
    .train_backward = avx512_train_backward,
};

#endif
