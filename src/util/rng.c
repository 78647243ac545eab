/* rng.c: xoshiro256** (Blackman and Vigna), splitmix64 seeding, the
 * Marsaglia-Tsang ziggurat for normals, and thread-count-independent bulk fills. */
#include "util/rng.h"

#include <math.h>
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

void aw_rng_fill_bernoulli(aw_rng_t *r, const float *p, float *out, size_t n)
{
    uint64_t key = aw_rng_next(r);
    size_t nb = (n + AW_RNG_BLOCK - 1) / AW_RNG_BLOCK;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        aw_rng_t g;
        block_rng(key, b, &g);
        size_t end = (b + 1) * AW_RNG_BLOCK < n ? (b + 1) * AW_RNG_BLOCK : n;
        for (size_t i = b * AW_RNG_BLOCK; i < end; i++) {
            float u = (float)(aw_rng_next(&g) >> 40) * 0x1.0p-24f;
            out[i] = u < p[i] ? 1.0f : 0.0f;
        }
    }
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
