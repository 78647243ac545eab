/* lingauss.c: closed forms, the log_joint callback and the HMC/AIS fixture of the linear-Gaussian test model
 * (see lingauss.h).
 * Small dense linear algebra in double: Cholesky, triangular solves. */
#include "lingauss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_2PI 1.83787706640934548356

int lg_init(lg_model_t *m, int D, int H, double scale, double s, aw_rng_t *rng)
{
    m->D = D;
    m->H = H;
    m->s = s;
    m->W = malloc((size_t)D * H * sizeof *m->W);
    m->b = malloc((size_t)D * sizeof *m->b);
    if (m->W == NULL || m->b == NULL) {
        lg_fini(m);
        return -1;
    }
    for (int i = 0; i < D * H; i++)
        m->W[i] = scale * aw_rng_normal(rng);
    for (int i = 0; i < D; i++)
        m->b[i] = aw_rng_normal(rng);
    return 0;
}

void lg_fini(lg_model_t *m)
{
    free(m->W);
    free(m->b);
    m->W = m->b = NULL;
}

void lg_sample_x(const lg_model_t *m, int B, aw_rng_t *rng, double *x)
{
    const int D = m->D, H = m->H;
    double h[64];
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < H && j < 64; j++)
            h[j] = aw_rng_normal(rng);
        for (int d = 0; d < D; d++) {
            double a = m->b[d];
            for (int j = 0; j < H; j++)
                a += m->W[d * H + j] * h[j];
            x[(size_t)i * D + d] = a + m->s * aw_rng_normal(rng);
        }
    }
}

int lg_cholesky(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (int k = 0; k < j; k++)
            d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        a[j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double v = a[i * n + j];
            for (int k = 0; k < j; k++)
                v -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = v / d;
        }
        for (int k = j + 1; k < n; k++)
            a[j * n + k] = 0;
    }
    return 0;
}

/* Solves L y = v in place (L lower triangular [n,n]). */
static void solve_lower(const double *l, int n, double *v)
{
    for (int i = 0; i < n; i++) {
        double t = v[i];
        for (int k = 0; k < i; k++)
            t -= l[i * n + k] * v[k];
        v[i] = t / l[i * n + i];
    }
}

/* Solves L^T y = v in place. */
static void solve_upper_t(const double *l, int n, double *v)
{
    for (int i = n - 1; i >= 0; i--) {
        double t = v[i];
        for (int k = i + 1; k < n; k++)
            t -= l[k * n + i] * v[k];
        v[i] = t / l[i * n + i];
    }
}

double lg_log_evidence(const lg_model_t *m, const double *x)
{
    const int D = m->D, H = m->H;
    double *c = malloc((size_t)D * D * sizeof *c), *r = malloc((size_t)D * sizeof *r);
    if (c == NULL || r == NULL) {
        free(c);
        free(r);
        return NAN;
    }
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double v = i == j ? m->s * m->s : 0.0;
            for (int k = 0; k < H; k++)
                v += m->W[i * H + k] * m->W[j * H + k];
            c[i * D + j] = v;
        }
    double out = NAN;
    if (lg_cholesky(c, D) == 0) {
        for (int i = 0; i < D; i++)
            r[i] = x[i] - m->b[i];
        solve_lower(c, D, r);
        double q = 0, logdet = 0;
        for (int i = 0; i < D; i++) {
            q += r[i] * r[i];
            logdet += 2 * log(c[i * D + i]);
        }
        out = -0.5 * (q + logdet + D * LOG_2PI);
    }
    free(c);
    free(r);
    return out;
}

void lg_posterior(const lg_model_t *m, const double *x, double *mean, double *cov, double *chol)
{
    const int D = m->D, H = m->H;
    const double is2 = 1.0 / (m->s * m->s);
    /* Precision P = I + W^T W / s^2 into chol, then factor it: P = C C^T. */
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++) {
            double v = i == j ? 1.0 : 0.0;
            for (int d = 0; d < D; d++)
                v += m->W[d * H + i] * m->W[d * H + j] * is2;
            chol[i * H + j] = v;
        }
    lg_cholesky(chol, H);
    /* cov = P^{-1}, column by column. */
    for (int j = 0; j < H; j++) {
        double e[64];
        for (int i = 0; i < H; i++)
            e[i] = i == j ? 1.0 : 0.0;
        solve_lower(chol, H, e);
        solve_upper_t(chol, H, e);
        for (int i = 0; i < H; i++)
            cov[i * H + j] = e[i];
    }
    for (int i = 0; i < H; i++) {
        double v = 0;
        for (int d = 0; d < D; d++)
            v += m->W[d * H + i] * (x[d] - m->b[d]) * is2;
        mean[i] = v;
    }
    solve_lower(chol, H, mean);
    solve_upper_t(chol, H, mean);
    /* Cholesky factor of the covariance itself. */
    memcpy(chol, cov, (size_t)H * H * sizeof *chol);
    lg_cholesky(chol, H);
}

int lg_log_joint(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err)
{
    lg_ctx_t *c = ctx;
    const lg_model_t *m = c->m;
    const int D = m->D, H = m->H, K = c->K;
    const double is2 = 1.0 / (m->s * m->s);
    const double cst = -0.5 * (H + D) * LOG_2PI - D * log(m->s);
    c->calls++;
    if (D > 256 || H > 64)
        return aw_error_set(err, AW_EARG, "lingauss: D <= 256 and H <= 64 supported, got D=%d H=%d", D, H);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *hn = h + (size_t)n * H;
        const double *x = c->x + (size_t)(n / K) * D;
        double res[256], lp = cst;
        for (int j = 0; j < H; j++)
            lp -= 0.5 * (double)hn[j] * (double)hn[j];
        for (int d = 0; d < D; d++) {
            double a = m->b[d];
            for (int j = 0; j < H; j++)
                a += m->W[d * H + j] * (double)hn[j];
            res[d] = x[d] - a;
            lp -= 0.5 * res[d] * res[d] * is2;
        }
        logp[n] = (float)lp;
        if (grad_h != NULL)
            for (int j = 0; j < H; j++) {
                double g = -(double)hn[j];
                for (int d = 0; d < D; d++)
                    g += m->W[d * H + j] * res[d] * is2;
                grad_h[(size_t)n * H + j] = (float)g;
            }
    }
    return 0;
}

int lg_fixture_init(lg_fixture_t *f, int D, int H, int B, int K, double s, double shift, double widen,
                    uint64_t seed)
{
    memset(f, 0, sizeof *f);
    if (H > 64)
        return -1;
    aw_rng_t r;
    aw_rng_seed(&r, seed, 0);
    if (lg_init(&f->m, D, H, 1.0, s, &r) != 0)
        return -1;
    f->B = B, f->K = K, f->H = H;
    f->x = malloc((size_t)B * D * sizeof *f->x);
    f->mu = malloc((size_t)B * H * sizeof *f->mu);
    f->ls = malloc((size_t)B * H * sizeof *f->ls);
    if (f->x == NULL || f->mu == NULL || f->ls == NULL) {
        lg_fixture_fini(f);
        return -1;
    }
    lg_sample_x(&f->m, B, &r, f->x);
    for (int b = 0; b < B; b++) {
        double mean[64], cov[64 * 64], chol[64 * 64];
        lg_posterior(&f->m, f->x + (size_t)b * D, mean, cov, chol);
        for (int j = 0; j < H; j++) {
            double sd = sqrt(cov[j * H + j]);
            f->mu[b * H + j] = (float)(mean[j] + shift * sd);
            f->ls[b * H + j] = (float)log(widen * sd);
        }
    }
    f->ctx = (lg_ctx_t){ .m = &f->m, .x = f->x, .K = K, .calls = 0 };
    f->tg = (aw_hmc_target_t){ .B = B, .K = K, .mu = f->mu, .logsig = f->ls, .log_joint = lg_log_joint,
                               .ctx = &f->ctx };
    return 0;
}

void lg_fixture_fini(lg_fixture_t *f)
{
    lg_fini(&f->m);
    free(f->x);
    free(f->mu);
    free(f->ls);
    f->x = NULL;
    f->mu = f->ls = NULL;
}

/* f rounded to bf16 (nearest even), as a float. */
static float bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    u &= 0xFFFF0000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

int lg_grad_approx(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err)
{
    const int H = ((lg_ctx_t *)ctx)->m->H;
    float *hr = malloc((size_t)N * H * sizeof *hr);
    if (hr == NULL)
        return aw_error_set(err, AW_ENOMEM, "lingauss: out of memory");
    for (size_t i = 0; i < (size_t)N * H; i++)
        hr[i] = bf16_round(h[i]);
    int rc = lg_log_joint(ctx, hr, N, logp, grad_h, err);
    free(hr);
    for (int n = 0; n < N && rc == 0; n++)
        logp[n] *= 0.8f;
    for (size_t i = 0; i < (size_t)N * H && rc == 0; i++)
        grad_h[i] = bf16_round(0.8f * grad_h[i]);
    return rc;
}
