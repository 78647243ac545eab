/* rng.c: xoshiro256** (Blackman and Vigna), splitmix64 seeding, the
 * Marsaglia-Tsang ziggurat for normals, and thread-count-independent bulk fills. */
#include "util/rng.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>

#include "util/bytes.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void aw_rng_seed(aw_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    uint64_t y = splitmix64(&x) ^ stream;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&y);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

uint64_t aw_rng_next(aw_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double aw_rng_uniform(aw_rng_t *r)
{
    return (double)(aw_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Ziggurat tables (128 layers), built once. */
static double zig_k[128], zig_w[128], zig_f[128];
static pthread_once_t zig_once = PTHREAD_ONCE_INIT;

static void zig_init(void)
{
    const double m1 = 2147483648.0, vn = 9.91256303526217e-3;
    double dn = 3.442619855899, tn = dn;
    double q = vn / exp(-0.5 * dn * dn);
    zig_k[0] = (dn / q) * m1;
    zig_k[1] = 0;
    zig_w[0] = q / m1;
    zig_w[127] = dn / m1;
    zig_f[0] = 1.0;
    zig_f[127] = exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; i--) {
        dn = sqrt(-2.0 * log(vn / dn + exp(-0.5 * dn * dn)));
        zig_k[i + 1] = (dn / tn) * m1;
        tn = dn;
        zig_f[i] = exp(-0.5 * dn * dn);
        zig_w[i] = dn / m1;
    }
}

/* Open interval (0,1): safe under log(). */
static inline double uniform_open(aw_rng_t *r)
{
    return ((double)(aw_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double normal_tables_ready(aw_rng_t *r)
{
    for (;;) {
        uint64_t u = aw_rng_next(r);
        int iz = (int)(u & 127);
        int64_t hz = (int32_t)(uint32_t)(u >> 32);
        double x = (double)hz * zig_w[iz];
        if ((hz < 0 ? -hz : hz) < (int64_t)zig_k[iz])
            return x;
        if (iz == 0) {
            /* tail beyond r = 3.442620 */
            const double rr = 3.442619855899;
            double xt, yt;
            do {
                xt = -log(uniform_open(r)) / rr;
                yt = -log(uniform_open(r));
            } while (yt + yt < xt * xt);
            return hz > 0 ? rr + xt : -rr - xt;
        }
        if (zig_f[iz] + uniform_open(r) * (zig_f[iz - 1] - zig_f[iz]) < exp(-0.5 * x * x))
            return x;
    }
}

double aw_rng_normal(aw_rng_t *r)
{
    pthread_once(&zig_once, zig_init);
    return normal_tables_ready(r);
}

static void block_rng(uint64_t key, size_t block, aw_rng_t *out)
{
    aw_rng_seed(out, key, (uint64_t)block + 1);
}

void aw_rng_fill_uniform(aw_rng_t *r, float *out, size_t n)
{
    uint64_t key = aw_rng_next(r);
    size_t nb = (n + AW_RNG_BLOCK - 1) / AW_RNG_BLOCK;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        aw_rng_t g;
        block_rng(key, b, &g);
        size_t end = (b + 1) * AW_RNG_BLOCK < n ? (b + 1) * AW_RNG_BLOCK : n;
        for (size_t i = b * AW_RNG_BLOCK; i < end; i++)
            out[i] = (float)(aw_rng_next(&g) >> 40) * 0x1.0p-24f;
    }
}

void aw_rng_fill_normal(aw_rng_t *r, float *out, size_t n)
{
    pthread_once(&zig_once, zig_init);
    uint64_t key = aw_rng_next(r);
    size_t nb = (n + AW_RNG_BLOCK - 1) / AW_RNG_BLOCK;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        aw_rng_t g;
        block_rng(key, b, &g);
        size_t end = (b + 1) * AW_RNG_BLOCK < n ? (b + 1) * AW_RNG_BLOCK : n;
        for (size_t i = b * AW_RNG_BLOCK; i < end; i++)
            out[i] = (float)normal_tables_ready(&g);
    }
}

/* Block b of a Bernoulli fill, one draw at a time. */
static void bernoulli_block(uint64_t key, size_t b, const float *p, float *out, size_t n)
{
    aw_rng_t g;
    block_rng(key, b, &g);
    size_t end = (b + 1) * AW_RNG_BLOCK < n ? (b + 1) * AW_RNG_BLOCK : n;
    for (size_t i = b * AW_RNG_BLOCK; i < end; i++) {
        float u = (float)(aw_rng_next(&g) >> 40) * 0x1.0p-24f;
        out[i] = u < p[i] ? 1.0f : 0.0f;
    }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define AW_RNG_AVX512 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2")
#include <immintrin.h>

/* Eight xoshiro256** generators, one per 64-bit lane. */
typedef struct lanes {
    __m512i s0, s1, s2, s3;
} lanes_t;

/* aw_rng_next in every lane (x * 5 and x * 9 as shifts and adds, modulo 2^64 like the multiplies). */
static inline __m512i next8(lanes_t *g)
{
    const __m512i s1 = g->s1;
    __m512i r = _mm512_rol_epi64(_mm512_add_epi64(_mm512_slli_epi64(s1, 2), s1), 7);
    r = _mm512_add_epi64(_mm512_slli_epi64(r, 3), r);
    const __m512i t = _mm512_slli_epi64(s1, 17);
    g->s2 = _mm512_xor_si512(g->s2, g->s0);
    g->s3 = _mm512_xor_si512(g->s3, g->s1);
    g->s1 = _mm512_xor_si512(g->s1, g->s2);
    g->s0 = _mm512_xor_si512(g->s0, g->s3);
    g->s2 = _mm512_xor_si512(g->s2, t);
    g->s3 = _mm512_rol_epi64(g->s3, 45);
    return r;
}

/* r [8] := its transpose (lane i of r[j] <-> lane j of r[i]). */
static inline void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* Blocks [b0, b0 + nl) (nl <= 8) of a Bernoulli fill, block b0 + l in lane l: the same draws as
 * bernoulli_block, eight steps of every lane at a time, transposed so that each lane's eight values are
 * stored together. */
static void bernoulli_lanes(uint64_t key, size_t b0, int nl, const float *p, float *out, size_t n)
{
    uint64_t st[4][8];
    for (int l = 0; l < 8; l++) {
        aw_rng_t g;
        block_rng(key, b0 + (size_t)(l < nl ? l : 0), &g);
        for (int w = 0; w < 4; w++)
            st[w][l] = g.s[w];
    }
    lanes_t g = {_mm512_loadu_si512(st[0]), _mm512_loadu_si512(st[1]), _mm512_loadu_si512(st[2]),
                 _mm512_loadu_si512(st[3])};
    size_t len[8];
    for (int l = 0; l < 8; l++) {
        const size_t first = (b0 + (size_t)l) * AW_RNG_BLOCK;
        len[l] = l < nl ? (first + AW_RNG_BLOCK < n ? AW_RNG_BLOCK : n - first) : 0;
    }
    const size_t steps = len[0];
    const __m256 scale = _mm256_set1_ps(0x1.0p-24f), one = _mm256_set1_ps(1.0f);
    for (size_t i = 0; i < steps; i += 8) {
        __m256 u[8];
        for (int j = 0; j < 8; j++)
            u[j] = _mm256_mul_ps(_mm512_cvtepu64_ps(_mm512_srli_epi64(next8(&g), 40)), scale);
        transpose8(u);
        for (int l = 0; l < nl; l++) {
            const size_t at = (b0 + (size_t)l) * AW_RNG_BLOCK + i;
            const size_t left = len[l] > i ? len[l] - i : 0;
            const __mmask8 live = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1);
            const __mmask8 on = _mm256_mask_cmp_ps_mask(live, u[l], _mm256_maskz_loadu_ps(live, p + at), _CMP_LT_OQ);
            _mm256_mask_storeu_ps(out + at, live, _mm256_maskz_mov_ps(on, one));
        }
    }
}

#pragma GCC pop_options
#endif

/* 1: bulk fills may use the AVX-512 lanes where the CPU has them (aw_rng_set_vector). */
static int use_vector = 1;

int aw_rng_set_vector(int on)
{
    int was = use_vector;
    use_vector = on;
    return was;
}

void aw_rng_fill_bernoulli(aw_rng_t *r, const float *p, float *out, size_t n)
{
    uint64_t key = aw_rng_next(r);
    size_t nb = (n + AW_RNG_BLOCK - 1) / AW_RNG_BLOCK;
#ifdef AW_RNG_AVX512
    __builtin_cpu_init();
    if (use_vector && nb > 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl")) {
        /* Each thread takes a contiguous run of blocks, eight lanes at a time; every block's values are
         * those of bernoulli_block whichever thread or lane draws them. */
#pragma omp parallel
        {
            const size_t nt = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
            const size_t lo = nb * t / nt, hi = nb * (t + 1) / nt;
            for (size_t b = lo; b < hi; b += 8)
                bernoulli_lanes(key, b, (int)(hi - b < 8 ? hi - b : 8), p, out, n);
        }
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++)
        bernoulli_block(key, b, p, out, n);
}

void aw_rng_derive(aw_rng_t *r, uint64_t stream, aw_rng_t *child)
{
    aw_rng_seed(child, aw_rng_next(r), stream);
}

void aw_rng_save(const aw_rng_t *r, uint8_t buf[AW_RNG_STATE_BYTES])
{
    for (int i = 0; i < 4; i++)
        aw_le_put_u64(buf + 8 * i, r->s[i]);
}

int aw_rng_load(aw_rng_t *r, const uint8_t buf[AW_RNG_STATE_BYTES])
{
    aw_rng_t t;
    for (int i = 0; i < 4; i++)
        t.s[i] = aw_le_get_u64(buf + 8 * i);
    if ((t.s[0] | t.s[1] | t.s[2] | t.s[3]) == 0)
        return -1;
    *r = t;
    return 0;
}
