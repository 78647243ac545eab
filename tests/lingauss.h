/* lingauss.h: a linear-Gaussian latent model with closed-form answers, for testing HMC and AIS:
 * h ~ N(0, I_H), x | h ~ N(W h + b, s^2 I_D); log p(x) and the Gaussian posterior p(h|x) are exact.
 *
 * Dimension letters: B points, K chains per point, N = B*K rows point-major, D observed size, H latent size.
 * Everything is computed in double; the callback rounds only its outputs to float. */
#ifndef AW_TEST_LINGAUSS_H
#define AW_TEST_LINGAUSS_H

#include "core/hmc.h"
#include "util/rng.h"

typedef struct lg_model {
    int D;          /* observed size */
    int H;          /* latent size */
    double *W;      /* [D,H] loading matrix, owned */
    double *b;      /* [D] offset, owned */
    double s;       /* observation noise standard deviation */
} lg_model_t;

/* What the log_joint callback needs: the model, the points and the chains per point (borrowed). */
typedef struct lg_ctx {
    const lg_model_t *m;  /* the model */
    const double *x;      /* [B,D] observed points */
    int K;                /* chains per point */
    long calls;           /* callback evaluations so far */
} lg_ctx_t;

/* The test fixture of HMC and AIS: a model, B points drawn from it, and a deliberately imperfect Gaussian q
 * per point (the exact posterior's mean shifted by `shift` posterior sds, its sds scaled by `widen`), with
 * the callback context and the HMC target over them. ctx and tg point into the fixture: do not copy it. */
typedef struct lg_fixture {
    lg_model_t m;       /* the model */
    int B, K, H;        /* points, chains per point, latent size */
    double *x;          /* [B,D] observed points */
    float *mu, *ls;     /* [B,H] q's mean and log sd */
    lg_ctx_t ctx;       /* callback context */
    aw_hmc_target_t tg; /* the target */
} lg_fixture_t;

/* Fixture for model lg_init(D, H, scale 1, noise s) with rng stream (seed, 0); x ~ the model's marginal.
 * H <= 64. Returns 0, or -1 (out of memory or H too large) with nothing left to free. */
int lg_fixture_init(lg_fixture_t *f, int D, int H, int B, int K, double s, double shift, double widen,
                    uint64_t seed);
void lg_fixture_fini(lg_fixture_t *f);

/* Random model: W entries N(0, scale^2), b entries N(0, 1); noise s. Returns 0 or -1 on OOM. */
int lg_init(lg_model_t *m, int D, int H, double scale, double s, aw_rng_t *rng);
void lg_fini(lg_model_t *m);

/* Draws x [B,D] from the model's marginal (h ~ prior, then x | h). */
void lg_sample_x(const lg_model_t *m, int B, aw_rng_t *rng, double *x);

/* Exact log p(x) for one point x [D]. */
double lg_log_evidence(const lg_model_t *m, const double *x);

/* Exact posterior of one point: mean [H], cov [H,H], and chol [H,H] (lower Cholesky factor of cov). */
void lg_posterior(const lg_model_t *m, const double *x, double *mean, double *cov, double *chol);

/* aw_log_joint_fn over ctx = lg_ctx_t: logp [N] and grad_h [N,H] (if not NULL) at h [N,H]. */
int lg_log_joint(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err);

/* aw_log_joint_fn over ctx = lg_ctx_t standing in for a bf16 leapfrog gradient (a grad_joint): deterministic
 * but inexact, 0.8 times the gradient at h rounded to bf16, rounded to bf16, with the values 0.8 log p(x,h)
 * (the surrogate target p^0.8): chains that used these values for energies would sample p^0.8, whose
 * variance is 25% larger than the posterior's. grad_h must not be NULL. */
int lg_grad_approx(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err);

/* In-place lower Cholesky factorization of the symmetric positive definite a [n,n]; 0 or -1. */
int lg_cholesky(double *a, int n);

#endif
