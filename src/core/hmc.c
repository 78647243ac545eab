/* hmc.c: leapfrog integration and Metropolis-corrected HMC transitions on the annealed targets, with the
 * end target's value and gradient cached so a transition costs L callback evaluations. */
#include "core/hmc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HALF_LOG_2PI 0.91893853320467274178

static void *alloc64(size_t bytes)
{
    size_t n = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, n == 0 ? 64 : n);
}

void aw_hmc_fini(aw_hmc_t *s)
{
    free(s->ivar);
    free(s->h);
    free(s->logp);
    free(s->grad);
    free(s->logq);
    free(s->hp);
    free(s->logpp);
    free(s->gradp);
    free(s->r);
    free(s->u);
    free(s->energy0);
    free(s->accepted);
    memset(s, 0, sizeof *s);
}

int aw_hmc_init(aw_hmc_t *s, int max_n, int H, aw_error_t *err)
{
    memset(s, 0, sizeof *s);
    if (max_n < 1 || H < 1)
        return aw_error_set(err, AW_EARG, "hmc: need max_n >= 1 and H >= 1, got max_n=%d H=%d", max_n, H);
    size_t nh = (size_t)max_n * (size_t)H, n = (size_t)max_n;
    s->max_n = max_n;
    s->H = H;
    s->ivar = alloc64(nh * sizeof(float));
    s->h = alloc64(nh * sizeof(float));
    s->logp = alloc64(n * sizeof(float));
    s->grad = alloc64(nh * sizeof(float));
    s->logq = alloc64(n * sizeof(double));
    s->hp = alloc64(nh * sizeof(float));
    s->logpp = alloc64(n * sizeof(float));
    s->gradp = alloc64(nh * sizeof(float));
    s->r = alloc64(nh * sizeof(float));
    s->u = alloc64(n * sizeof(float));
    s->energy0 = alloc64(n * sizeof(double));
    s->accepted = alloc64(n);
    if (!s->ivar || !s->h || !s->logp || !s->grad || !s->logq || !s->hp || !s->logpp || !s->gradp || !s->r ||
        !s->u || !s->energy0 || !s->accepted) {
        aw_hmc_fini(s);
        return aw_error_set(err, AW_ENOMEM, "hmc: out of memory for %d chains of size %d", max_n, H);
    }
    memset(s->accepted, 0, n);
    return 0;
}

/* log q(h|x) of one row h [H] of point b, in double. */
static double log_q_row(const aw_hmc_t *s, int b, const float *h)
{
    const int H = s->H;
    const float *mu = s->tg.mu + (size_t)b * H, *ls = s->tg.logsig + (size_t)b * H;
    const float *iv = s->ivar + (size_t)b * H;
    double acc = 0;
    for (int j = 0; j < H; j++) {
        double d = (double)h[j] - (double)mu[j];
        acc += -0.5 * d * d * (double)iv[j] - (double)ls[j] - HALF_LOG_2PI;
    }
    return acc;
}

void aw_hmc_log_q(const aw_hmc_t *s, const float *h, double *out)
{
    const int N = s->n, K = s->tg.K, H = s->H;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        out[n] = log_q_row(s, n / K, h + (size_t)n * H);
}

static int bind(aw_hmc_t *s, const aw_hmc_target_t *tg, aw_error_t *err)
{
    if (tg->B < 1 || tg->K < 1 || (int64_t)tg->B * tg->K > s->max_n)
        return aw_error_set(err, AW_EARG, "hmc: target has B=%d K=%d, need B,K >= 1 and B*K <= %d chains",
                            tg->B, tg->K, s->max_n);
    if (tg->mu == NULL || tg->logsig == NULL || tg->log_joint == NULL)
        return aw_error_set(err, AW_EARG, "hmc: target needs mu, logsig and log_joint");
    s->tg = *tg;
    s->n = tg->B * tg->K;
    const size_t bh = (size_t)tg->B * s->H;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < bh; i++)
        s->ivar[i] = expf(-2.0f * tg->logsig[i]);
    return 0;
}

/* The leapfrog's gradient grad [N,H] at h [N,H]: the target's grad_joint (its values go to the scratch
 * logpp, unused) where it has one, else log_joint's gradient with the values into logp. */
static int eval_grad(aw_hmc_t *s, const float *h, float *logp, float *grad, aw_error_t *err)
{
    s->n_calls++;
    if (s->tg.grad_joint != NULL)
        return s->tg.grad_joint(s->tg.grad_ctx, h, s->n, s->logpp, grad, err);
    return s->tg.log_joint(s->tg.ctx, h, s->n, logp, grad, err);
}

/* With a separate leapfrog gradient, the values at h come from log_joint alone (fp32 energies). */
static int eval_values(aw_hmc_t *s, const float *h, float *logp, aw_error_t *err)
{
    if (s->tg.grad_joint == NULL)
        return 0;
    s->n_calls++;
    return s->tg.log_joint(s->tg.ctx, h, s->n, logp, NULL, err);
}

/* Evaluates the end target at the current state and caches log q. */
static int eval_current(aw_hmc_t *s, aw_error_t *err)
{
    int rc = eval_grad(s, s->h, s->logp, s->grad, err);
    if (rc == 0)
        rc = eval_values(s, s->h, s->logp, err);
    if (rc != 0)
        return rc;
    aw_hmc_log_q(s, s->h, s->logq);
    return 0;
}

int aw_hmc_start(aw_hmc_t *s, const aw_hmc_target_t *tg, aw_rng_t *rng, aw_error_t *err)
{
    int rc = bind(s, tg, err);
    if (rc != 0)
        return rc;
    const int N = s->n, K = tg->K, H = s->H;
    aw_rng_fill_normal(rng, s->h, (size_t)N * H);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *mu = tg->mu + (size_t)(n / K) * H, *ls = tg->logsig + (size_t)(n / K) * H;
        float *h = s->h + (size_t)n * H;
        for (int j = 0; j < H; j++)
            h[j] = mu[j] + expf(ls[j]) * h[j];
    }
    return eval_current(s, err);
}

int aw_hmc_start_at(aw_hmc_t *s, const aw_hmc_target_t *tg, const float *h0, aw_error_t *err)
{
    int rc = bind(s, tg, err);
    if (rc != 0)
        return rc;
    memmove(s->h, h0, (size_t)s->n * s->H * sizeof(float));
    return eval_current(s, err);
}

/* d log f_beta / dh for one element: beta * d log p/dh + (1 - beta) * (-(h - mu) / sigma^2). */
static inline float annealed_grad(float beta, float gp, float h, float mu, float iv)
{
    return beta * gp - (1.0f - beta) * (h - mu) * iv;
}

void aw_hmc_grad_log_f(const aw_hmc_t *s, double beta, const float *h, const float *grad_logp, float *out)
{
    const int N = s->n, K = s->tg.K, H = s->H;
    const float fb = (float)beta;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const size_t o = (size_t)n * H, ob = (size_t)(n / K) * H;
        for (int j = 0; j < H; j++)
            out[o + j] = annealed_grad(fb, grad_logp[o + j], h[o + j], s->tg.mu[ob + j], s->ivar[ob + j]);
    }
}

/* One row of a leapfrog kick-drift: r += a * grad log f_beta(h); then, if e != 0, hp = h + e * r.
 * gp [H] is d log p/dh at h; mu, iv [H] are q's mean and inverse variance. hp may equal h. */
static inline void kick_drift(int H, float beta, float a, float e, const float *h, const float *restrict gp,
                              const float *restrict mu, const float *restrict iv, float *restrict r, float *hp)
{
    for (int j = 0; j < H; j++)
        r[j] += a * annealed_grad(beta, gp[j], h[j], mu[j], iv[j]);
    if (e != 0.0f)
        for (int j = 0; j < H; j++)
            hp[j] = h[j] + e * r[j];
}

int aw_hmc_leapfrog(aw_hmc_t *s, double beta, const float *step, int per_chain, int L, aw_error_t *err)
{
    if (L < 1)
        return aw_error_set(err, AW_EARG, "hmc: leapfrog steps must be >= 1, got %d", L);
    const int N = s->n, K = s->tg.K, H = s->H;
    const float fb = (float)beta;
    const float *mu = s->tg.mu;
    /* First half kick at the cached state, then a full drift. */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const size_t o = (size_t)n * H, ob = (size_t)(n / K) * H;
        const float e = per_chain ? step[n] : step[0];
        kick_drift(H, fb, 0.5f * e, e, s->h + o, s->grad + o, mu + ob, s->ivar + ob, s->r + o, s->hp + o);
    }
    for (int l = 1; l <= L; l++) {
        int rc = eval_grad(s, s->hp, s->logpp, s->gradp, err);
        if (rc != 0)
            return rc;
        const int last = l == L;
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const size_t o = (size_t)n * H, ob = (size_t)(n / K) * H;
            const float e = per_chain ? step[n] : step[0];
            /* In place: hp is both the position the kick reads and the one the drift advances. */
            kick_drift(H, fb, last ? 0.5f * e : e, last ? 0.0f : e, s->hp + o, s->gradp + o, mu + ob,
                       s->ivar + ob, s->r + o, s->hp + o);
        }
    }
    return eval_values(s, s->hp, s->logpp, err); /* the proposal's energy, in fp32 */
}

static double kinetic(int H, const float *r)
{
    double k = 0;
    for (int j = 0; j < H; j++)
        k += (double)r[j] * (double)r[j];
    return 0.5 * k;
}

int aw_hmc_transition(aw_hmc_t *s, double beta, const float *step, int per_chain, int L, aw_rng_t *rng,
                      int *n_accepted, aw_error_t *err)
{
    const int N = s->n, K = s->tg.K, H = s->H;
    aw_rng_fill_normal(rng, s->r, (size_t)N * H);
    aw_rng_fill_uniform(rng, s->u, (size_t)N);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        s->energy0[n] = -(beta * (double)s->logp[n] + (1.0 - beta) * s->logq[n]) +
                        kinetic(H, s->r + (size_t)n * H);
    int rc = aw_hmc_leapfrog(s, beta, step, per_chain, L, err);
    if (rc != 0)
        return rc;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const size_t o = (size_t)n * H;
        double lq = log_q_row(s, n / K, s->hp + o);
        double e1 = -(beta * (double)s->logpp[n] + (1.0 - beta) * lq) + kinetic(H, s->r + o);
        /* log u < H0 - H1; a NaN or infinite proposal energy fails the test. */
        int acc = isfinite(e1) && log((double)s->u[n]) < s->energy0[n] - e1;
        s->accepted[n] = (unsigned char)acc;
        if (acc) {
            memcpy(s->h + o, s->hp + o, (size_t)H * sizeof(float));
            memcpy(s->grad + o, s->gradp + o, (size_t)H * sizeof(float));
            s->logp[n] = s->logpp[n];
            s->logq[n] = lq;
        }
    }
    if (n_accepted != NULL) {
        int c = 0;
        for (int n = 0; n < N; n++)
            c += s->accepted[n];
        *n_accepted = c;
    }
    return 0;
}
