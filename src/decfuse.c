/* decfuse.c: the decoder log-likelihood (and d/dh) fused into one AVX-512 pass per group of 32 rows; see
 * decfuse.h for why. Letters as in model.h; a "T" suffix marks feature-major (transposed) group buffers
 * [features, RG], so that one zmm holds one feature of 16 rows. */
#include "decfuse.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "model_ws.h"

#ifndef MV
#define MV 2   /* zmm row vectors per register tile */
#endif
#ifndef NR
#define NR 8   /* output features per register tile (MV * NR = 16 accumulators) */
#endif
#define RG (16 * MV) /* rows per group */
#define FLUSH_PANELS (64 / NR) /* softplus products are logged every <= 64 factors in (1, 2] */

/* Values of a packed layer: panels of NR output features, each [K][NR], zero-padded. */
static size_t pack_len(int K, int J)
{
    return (size_t)(J + NR - 1) / NR * NR * (size_t)K;
}

static size_t up16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* Floats of one thread's group scratch. */
static size_t group_len(const aw_shape_t *s)
{
    const int L = s->n_hidden;
    int widest = s->H;
    size_t n = (size_t)s->H * RG; /* hT */
    for (int l = 0; l < L; l++) {
        n += (size_t)s->hidden[l] * RG; /* actT */
        widest = s->hidden[l] > widest ? s->hidden[l] : widest;
    }
    n += (size_t)s->D * RG;         /* sT: x - sigmoid(logits) */
    n += 2 * (size_t)widest * RG;   /* backward deltas, ping-pong */
    return up16(n);
}

/* The head of the scratch block: which packs are valid. A fresh (zeroed) block has none. */
typedef struct fuse_state {
    int packed;   /* 0: none; 1: forward packs; 2: forward and backward packs, of the weights in wcopy */
} fuse_state_t;

/* Layout of the scratch block (offsets in floats; everything before groups is independent of N, K, nt,
 * so it survives the block being regrown). */
typedef struct layout {
    size_t wcopy;                  /* [dec_n] the decoder weights the packs were made from */
    size_t fwd[AW_MAX_HIDDEN + 1]; /* offset of dec[l]'s forward pack: P[k][j] = W[j][k] */
    size_t bwd[AW_MAX_HIDDEN + 1]; /* offset of dec[l]'s backward pack: P[k][j] = W[k][j] */
    size_t groups;                 /* per-thread group scratch, group_len each */
    size_t total;                  /* floats */
} layout_t;

static void plan(const aw_shape_t *s, int N, int K, int nt, layout_t *lo)
{
    const int L = s->n_hidden;
    size_t off = 16, ndec = 0; /* the first 64 bytes hold the fuse_state_t */
    int in = s->H;
    for (int l = 0; l <= L; l++) {
        const int out = l < L ? s->hidden[L - 1 - l] : s->D;
        ndec += (size_t)out * in + out;
        in = out;
    }
    lo->wcopy = off;
    off += up16(ndec);
    in = s->H;
    for (int l = 0; l <= L; l++) {
        const int out = l < L ? s->hidden[L - 1 - l] : s->D;
        lo->fwd[l] = off;
        off += up16(pack_len(in, out));
        lo->bwd[l] = off;
        off += up16(pack_len(out, in));
        in = out;
    }
    (void)N, (void)K;
    lo->groups = off;
    off += (size_t)nt * group_len(s);
    lo->total = off;
}

size_t aw_decfuse_bytes(const aw_shape_t *shape, int N, int K, int nt)
{
    layout_t lo;
    plan(shape, N, K, nt, &lo);
    return lo.total * sizeof(float);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>

int aw_decfuse_usable(const aw_shape_t *shape)
{
    (void)shape;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,fma")

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

/* The register tile: acc[j][v] = sum over k of P[k][j] * inT[k][16v..16v+15], k in order. */
static inline __attribute__((always_inline)) void tile(const float *restrict pw, const float *restrict inT,
                                                      int K, __m512 acc[NR][MV])
{
#pragma GCC unroll 12
    for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
        for (int v = 0; v < MV; v++)
            acc[j][v] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 a[MV];
#pragma GCC unroll 4
        for (int v = 0; v < MV; v++)
            a[v] = _mm512_load_ps(inT + (size_t)k * RG + 16 * v);
#pragma GCC unroll 12
        for (int j = 0; j < NR; j++) {
            const __m512 w = _mm512_set1_ps(pw[(size_t)k * NR + j]);
#pragma GCC unroll 4
            for (int v = 0; v < MV; v++)
                acc[j][v] = _mm512_fmadd_ps(a[v], w, acc[j][v]);
        }
    }
}

enum {
    EP_STORE,     /* out = acc */
    EP_TANH,      /* out = tanh(acc + b[j]) */
    EP_DTANH      /* out = acc * (1 - a^2), a = aT[j] (backward through a tanh layer) */
};

/* outT [J, RG] = epilogue(P^T inT) for the packed layer pw (K inputs, J outputs). */
static void layer(int mode, const float *pw, int K, int J, const float *inT, const float *b, const float *aT,
                  float *outT)
{
    const int np = (J + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        __m512 acc[NR][MV];
        tile(pw + (size_t)p * K * NR, inT, K, acc);
        const int j0 = p * NR, jn = J - j0 < NR ? J - j0 : NR;
#pragma GCC unroll 12
        for (int jj = 0; jj < NR; jj++) {
            if (jj >= jn)
                break;
            const int j = j0 + jj;
            float *o = outT + (size_t)j * RG;
#pragma GCC unroll 4
            for (int q = 0; q < MV; q++) {
                __m512 r = acc[jj][q];
                if (mode == EP_TANH) {
                    r = v_tanh(_mm512_add_ps(r, _mm512_set1_ps(b[j])));
                } else if (mode != EP_STORE) {
                    const __m512 a = _mm512_load_ps(aT + (size_t)j * RG + 16 * q);
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

/* The Bernoulli output layer: l = P^T inT + b over J = D pixels; lp [RG] = sum_d (x_d l_d - softplus(l_d))
 * per row, as sum (x l - max(l,0)) minus the logs of products of (1 + e^-|l|), logged every <= 64 pixels
 * (aw_model_bern_row's scheme); if sT != NULL also sT [D, RG] = x - sigmoid(l). */
static void bern_layer(const float *pw, int K, int J, const float *inT, const float *b, const xsrc_t *xs,
                       float *sT, float *lp)
{
    const int np = (J + NR - 1) / NR;
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
    __m512 lin[MV], prod[MV];
    float lg[RG];
    for (int q = 0; q < MV; q++) {
        lin[q] = zero;
        prod[q] = one;
    }
    for (int m = 0; m < RG; m++)
        lg[m] = 0;
    for (int p = 0; p < np; p++) {
        __m512 acc[NR][MV];
        tile(pw + (size_t)p * K * NR, inT, K, acc);
        const int j0 = p * NR, jn = J - j0 < NR ? J - j0 : NR;
#pragma GCC unroll 12
        for (int jj = 0; jj < NR; jj++) {
            if (jj >= jn)
                break;
            const int j = j0 + jj;
            const __m512 bj = _mm512_set1_ps(b[j]);
#pragma GCC unroll 4
            for (int q = 0; q < MV; q++) {
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
                    _mm512_store_ps(sT + (size_t)j * RG + 16 * q, _mm512_sub_ps(x, _mm512_div_ps(num, u)));
                }
            }
        }
        if ((p + 1) % FLUSH_PANELS == 0 || p == np - 1) {
            for (int q = 0; q < MV; q++) {
                float f[16];
                _mm512_storeu_ps(f, prod[q]);
                for (int i = 0; i < 16; i++)
                    lg[16 * q + i] += logf(f[i]);
                prod[q] = one;
            }
        }
    }
    for (int q = 0; q < MV; q++)
        _mm512_storeu_ps(lp + 16 * q, _mm512_sub_ps(lin[q], _mm512_loadu_ps(lg + 16 * q)));
}

/* What one call shares between its threads. */
typedef struct job {
    const aw_model_t *m;
    float *base;       /* the scratch block */
    layout_t lo;
    const float *x, *h;
    int K, N, flags;
    float *out, *grad_h;
} job_t;

/* Packs panel p of dec[l] (forward if !bwd): panel [K][NR] of P[k][j], P = W^T forward, W backward. */
static void pack_panel(const aw_layer_t *y, int bwd, int p, float *dst)
{
    const int K = bwd ? y->out : y->in, J = bwd ? y->in : y->out;
    float *d = dst + (size_t)p * K * NR;
    for (int k = 0; k < K; k++)
        for (int jj = 0; jj < NR; jj++) {
            const int j = p * NR + jj;
            d[(size_t)k * NR + jj] = j >= J ? 0.0f : bwd ? y->W[(size_t)k * y->in + j] : y->W[(size_t)j * y->in + k];
        }
}

/* Rows [r0, r0 + n), n <= RG, through the whole decoder in the group scratch gs. */
static void rows(const job_t *jb, float *gs, int r0, int n)
{
    const aw_model_t *m = jb->m;
    const int L = m->shape.n_hidden, H = m->shape.H, D = m->shape.D, J0 = m->dec[L].in, K = jb->K;
    int widest = H;
    for (int l = 0; l < L; l++)
        widest = m->shape.hidden[l] > widest ? m->shape.hidden[l] : widest;
    float *hT = gs, *actT[AW_MAX_HIDDEN], *p = gs + (size_t)H * RG;
    for (int l = 0; l < L; l++) {
        actT[l] = p;
        p += (size_t)m->dec[l].out * RG;
    }
    float *sT = p, *g0 = sT + (size_t)D * RG, *g1 = g0 + (size_t)widest * RG;

    for (int k = 0; k < H; k++)
        for (int i = 0; i < RG; i++)
            hT[(size_t)k * RG + i] = i < n ? jb->h[(size_t)(r0 + i) * H + k] : 0.0f;
    xsrc_t xs[MV];
    for (int q = 0; q < MV; q++) {
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

    const float *in = hT;
    for (int l = 0; l < L; l++) {
        const aw_layer_t *y = &m->dec[l];
        layer(EP_TANH, jb->base + jb->lo.fwd[l], y->in, y->out, in, y->b, NULL, actT[l]);
        in = actT[l];
    }
    float lp[RG];
    const int grad = jb->grad_h != NULL;
    bern_layer(jb->base + jb->lo.fwd[L], J0, D, in, m->dec[L].b, xs, grad ? sT : NULL, lp);
    for (int i = 0; i < n; i++) {
        const int r = r0 + i;
        float v = lp[i];
        if (jb->flags & AW_LOGLIK_PRIOR)
            v += aw_model_log_prior(jb->h + (size_t)r * H, H);
        jb->out[r] = (jb->flags & AW_LOGLIK_ADD) ? jb->out[r] + v : v;
    }
    if (!grad)
        return;
    /* Back from d/dl = x - sigmoid(l) through the tanh layers to h. */
    float *g = g0, *gn = g1;
    layer(EP_DTANH, jb->base + jb->lo.bwd[L], D, J0, sT, NULL, actT[L - 1], g);
    for (int l = L - 1; l >= 1; l--) {
        const aw_layer_t *y = &m->dec[l];
        layer(EP_DTANH, jb->base + jb->lo.bwd[l], y->out, y->in, g, NULL, actT[l - 1], gn);
        float *t = g;
        g = gn;
        gn = t;
    }
    layer(EP_STORE, jb->base + jb->lo.bwd[0], m->dec[0].out, H, g, NULL, NULL, gn);
    const int prior = jb->flags & AW_LOGLIK_PRIOR;
    for (int i = 0; i < n; i++) {
        const float *hi = jb->h + (size_t)(r0 + i) * H;
        float *gi = jb->grad_h + (size_t)(r0 + i) * H;
        for (int k = 0; k < H; k++)
            gi[k] = (prior ? -hi[k] : 0.0f) + gn[(size_t)k * RG + i];
    }
}

void aw_decfuse_loglik(const aw_model_t *m, void *scratch, int nt, const float *x, int K, const float *h,
                       int N, float *out, int flags, float *grad_h)
{
    job_t jb = {.m = m, .base = scratch, .x = x, .h = h, .K = K, .N = N, .flags = flags, .out = out,
                .grad_h = grad_h};
    plan(&m->shape, N, K, nt, &jb.lo);
    const int L = m->shape.n_hidden;
    /* The packs are remade only when the decoder weights differ from those they were made from (an exact
     * compare costs ~1% of a call; packing ~10% for a few hundred rows). */
    fuse_state_t *st = scratch;
    float *wcopy = jb.base + jb.lo.wcopy;
    const float *w = m->params + m->dec_off;
    const size_t wbytes = m->dec_n * sizeof *w;
    const int need = grad_h != NULL ? 2 : 1;
    int have = st->packed;
    if (have > 0 && memcmp(wcopy, w, wbytes) != 0)
        have = 0;
    int first[2 * (AW_MAX_HIDDEN + 1) + 1], dir[2 * (AW_MAX_HIDDEN + 1)], npk = 0;
    const aw_layer_t *which[2 * (AW_MAX_HIDDEN + 1)];
    first[0] = 0;
    const int dir0 = have >= 1, dir1 = have >= need ? dir0 : need; /* pack directions [dir0, dir1) */
    for (int l = 0; l <= L; l++)
        for (int bwd = dir0; bwd < dir1; bwd++) {
            const aw_layer_t *y = &m->dec[l];
            which[npk] = y;
            dir[npk] = bwd;
            first[npk + 1] = first[npk] + ((bwd ? y->in : y->out) + NR - 1) / NR;
            npk++;
        }
    if (have == 0)
        memcpy(wcopy, w, wbytes);
    st->packed = have > need ? have : need;
    const size_t glen = group_len(&m->shape);
#pragma omp parallel num_threads(nt)
    {
        float *gs = jb.base + jb.lo.groups + (size_t)omp_get_thread_num() * glen;
#pragma omp for schedule(dynamic, 4)
        for (int t = 0; t < first[npk]; t++) {
            int i = 0;
            while (t >= first[i + 1])
                i++;
            const int l = (int)(which[i] - m->dec);
            pack_panel(which[i], dir[i], t - first[i], jb.base + (dir[i] ? jb.lo.bwd[l] : jb.lo.fwd[l]));
        }
#pragma omp for schedule(static)
        for (int r0 = 0; r0 < N; r0 += RG)
            rows(&jb, gs, r0, N - r0 < RG ? N - r0 : RG);
    }
}

#pragma GCC pop_options

#else /* no GCC x86-64: the reference path in model.c always runs */

int aw_decfuse_usable(const aw_shape_t *shape)
{
    (void)shape;
    return 0;
}

void aw_decfuse_loglik(const aw_model_t *m, void *scratch, int nt, const float *x, int K, const float *h,
                       int N, float *out, int flags, float *grad_h)
{
    (void)m, (void)scratch, (void)nt, (void)x, (void)K, (void)h, (void)N, (void)out, (void)flags,
        (void)grad_h;
}
#endif
