/* ais_state.c: an AIS sweep's state between temperatures, to bytes and back (ais_state.h). */
#include "core/ais_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

#define MAGIC 0x54534941u /* "AIST" */
#define VERSION 1u
#define HEADER 24         /* magic, version, N, H, t (u32 each), step (f32) */

size_t aw_ais_state_bytes(int N, int H)
{
    size_t n = (size_t)N, nh = (size_t)N * (size_t)H;
    return HEADER + AW_RNG_STATE_BYTES + nh * 4 + n * 4 + nh * 4 + n * 8 + n * 8;
}

void aw_ais_state_save(const aw_hmc_t *s, int t, float step, const aw_rng_t *rng, const double *logw,
                       uint8_t *buf)
{
    const size_t n = (size_t)s->n, nh = n * (size_t)s->H;
    aw_le_put_u32(buf, MAGIC);
    aw_le_put_u32(buf + 4, VERSION);
    aw_le_put_u32(buf + 8, (uint32_t)s->n);
    aw_le_put_u32(buf + 12, (uint32_t)s->H);
    aw_le_put_u32(buf + 16, (uint32_t)t);
    aw_le_put_f32(buf + 20, step);
    uint8_t *p = buf + HEADER;
    aw_rng_save(rng, p);
    p += AW_RNG_STATE_BYTES;
    aw_le_put_f32s(p, s->h, nh);
    p += nh * 4;
    aw_le_put_f32s(p, s->logp, n);
    p += n * 4;
    aw_le_put_f32s(p, s->grad, nh);
    p += nh * 4;
    aw_le_put_f64s(p, s->logq, n);
    p += n * 8;
    aw_le_put_f64s(p, logw, n);
}

int aw_ais_state_load(aw_hmc_t *s, const aw_hmc_target_t *tg, int T, const uint8_t *buf, size_t n, int *t,
                      float *step, aw_rng_t *rng, double *logw, aw_error_t *err)
{
    const int N = tg->B * tg->K;
    if (n != aw_ais_state_bytes(N, s->H) || aw_le_get_u32(buf) != MAGIC || aw_le_get_u32(buf + 4) != VERSION ||
        aw_le_get_u32(buf + 8) != (uint32_t)N || aw_le_get_u32(buf + 12) != (uint32_t)s->H)
        return aw_error_set(err, AW_EFORMAT, "ais state: %zu bytes do not hold %d chains of size %d", n, N, s->H);
    uint32_t tt = aw_le_get_u32(buf + 16);
    float e = aw_le_get_f32(buf + 20);
    if (tt < 1 || tt >= (uint32_t)T || !isfinite(e) || e <= 0)
        return aw_error_set(err, AW_EFORMAT, "ais state: temperature %u of %d or step size %g is impossible",
                            (unsigned)tt, T, (double)e);
    const uint8_t *p = buf + HEADER;
    aw_rng_t g;
    if (aw_rng_load(&g, p) != 0)
        return aw_error_set(err, AW_EFORMAT, "ais state: the generator state is all zero");
    p += AW_RNG_STATE_BYTES;
    const size_t nh = (size_t)N * (size_t)s->H;
    float *h = malloc(nh * sizeof *h);
    if (h == NULL)
        return aw_error_set(err, AW_ENOMEM, "ais state: out of memory for %d chains", N);
    aw_le_get_f32s(p, h, nh);
    int rc = aw_hmc_start_at(s, tg, h, err);
    free(h);
    if (rc != 0)
        return rc;
    p += nh * 4;
    aw_le_get_f32s(p, s->logp, (size_t)N);
    p += (size_t)N * 4;
    aw_le_get_f32s(p, s->grad, nh);
    p += nh * 4;
    aw_le_get_f64s(p, s->logq, (size_t)N);
    p += (size_t)N * 8;
    aw_le_get_f64s(p, logw, (size_t)N);
    *t = (int)tt;
    *step = e;
    *rng = g;
    return 0;
}
