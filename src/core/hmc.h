/* hmc.h: Hamiltonian Monte Carlo on the annealed targets of docs/math.md#hamiltonian-monte-carlo,
 * log f_beta(h) = beta log p(x,h) + (1-beta) log q(h|x), over a generic end target.
 *
 * Dimension letters: B data points, K chains per point, N = B*K chains ordered point-major (chain n belongs
 * to data point n / K), H latent size. The end target log p(x,h) is a callback; q(h|x) = N(mu, sigma^2) is
 * diagonal per point and handled analytically (d log q / dh = -(h - mu) / sigma^2).
 *
 * The chain state caches log p, its gradient and log q at the current h, so one transition with L leapfrog
 * steps costs exactly L callback evaluations (the last one, at the proposal, also gives U(proposal)); with
 * a separate leapfrog gradient (grad_joint) it costs L gradient calls and one value call. All
 * buffers are allocated once by aw_hmc_init; memory does not depend on the number of transitions. */
#ifndef AW_HMC_H
#define AW_HMC_H

#include <stdint.h>

#include "util/error.h"
#include "util/rng.h"

/* Evaluates the end target for N chains: logp [N] = log p(x,h) and, if grad_h != NULL, grad_h [N,H] =
 * d log p(x,h) / dh, for h [N,H] (chain n belongs to point n / K; the callback knows x and K through ctx).
 * Returns 0 or a negative AW_E* code with err filled. */
typedef int (*aw_log_joint_fn)(void *ctx, const float *h, int N, float *logp, float *grad_h,
                               aw_error_t *err);

/* The annealing path's two ends for one batch. Everything is borrowed and must stay unchanged while an
 * aw_hmc_t is bound to it (from aw_hmc_start to the last call that uses it). */
typedef struct aw_hmc_target {
    int B;                     /* data points */
    int K;                     /* chains per data point */
    const float *mu;           /* [B,H] mean of q(h|x) */
    const float *logsig;       /* [B,H] log standard deviation of q(h|x) */
    aw_log_joint_fn log_joint; /* end target log p(x,h) and its h-gradient */
    void *ctx;                 /* passed to log_joint */
    /* NULL, or the gradient the leapfrog uses in place of log_joint's (docs/math.md#bf16-leapfrog-gradients):
     * any deterministic function of h row by row (bf16 products); the logp it writes is not used. Then
     * log_joint is asked for values only (grad_h NULL): at the start and at the end of each trajectory,
     * so energies, Metropolis tests and AIS weights stay those of log_joint. */
    aw_log_joint_fn grad_joint;
    void *grad_ctx;            /* passed to grad_joint */
} aw_hmc_target_t;

/* Chain state and scratch for up to max_n chains. Owns every array. */
typedef struct aw_hmc {
    int max_n;               /* chains the buffers hold */
    int H;                   /* latent size */
    int n;                   /* chains in use, B*K of the bound target */
    aw_hmc_target_t tg;      /* bound target (copied by aw_hmc_start; its arrays are borrowed) */
    float *ivar;             /* [B,H] 1/sigma^2 of the bound target */
    float *h;                /* [N,H] current state */
    float *logp;             /* [N] log p(x,h) at h */
    float *grad;             /* [N,H] d log p(x,h)/dh at h */
    double *logq;            /* [N] log q(h|x) at h */
    float *hp;               /* [N,H] proposal (end of the last leapfrog trajectory) */
    float *logpp;            /* [N] log p(x,hp) */
    float *gradp;            /* [N,H] d log p(x,hp)/dhp */
    float *r;                /* [N,H] momentum */
    float *u;                /* [N] uniforms of the Metropolis tests */
    double *energy0;         /* [N] H0 = U(h) + |r|^2/2 at the start of the transition */
    unsigned char *accepted; /* [N] 1 if the chain accepted its last proposal, else 0 */
    int64_t n_calls;         /* log_joint and grad_joint evaluations made so far (tests and benchmarks) */
} aw_hmc_t;

/* Allocates the state for up to max_n chains of latent size H (64-byte aligned arrays). Returns 0,
 * AW_EARG for non-positive sizes or AW_ENOMEM. On failure nothing needs freeing. */
int aw_hmc_init(aw_hmc_t *s, int max_n, int H, aw_error_t *err);

/* Frees the arrays (safe on a zeroed or failed-init struct). */
void aw_hmc_fini(aw_hmc_t *s);

/* Binds s to tg (B*K <= max_n), draws h = mu + sigma * eps with eps [N,H] from rng (one bulk normal fill),
 * and evaluates log p, its gradient and log q there: one log_joint call. */
int aw_hmc_start(aw_hmc_t *s, const aw_hmc_target_t *tg, aw_rng_t *rng, aw_error_t *err);

/* Like aw_hmc_start but with the initial state h0 [N,H] given (copied). */
int aw_hmc_start_at(aw_hmc_t *s, const aw_hmc_target_t *tg, const float *h0, aw_error_t *err);

/* log q(h|x) of the bound target for the N rows of h [N,H] into out [N], accumulated in double. */
void aw_hmc_log_q(const aw_hmc_t *s, const float *h, double *out);

/* out [N,H] = d log f_beta / dh = beta grad_logp + (1 - beta) (-(h - mu) / sigma^2) for the N rows of h [N,H]
 * with grad_logp [N,H] = d log p(x,h)/dh, using the bound target's q (the gradient the leapfrog uses). */
void aw_hmc_grad_log_f(const aw_hmc_t *s, double beta, const float *h, const float *grad_logp, float *out);

/* Leapfrog integration at temperature beta from (s->h, its cached gradient, momentum s->r) for L steps
 * (half momentum steps at both ends) into (s->hp, s->logpp, s->gradp) with the final momentum left in s->r.
 * step: one step size (per_chain == 0) or step [N] one per chain. Exactly L log_joint calls
 * (L grad_joint calls and one log_joint call, at the proposal, when the target has grad_joint). s->h is not
 * changed. */
int aw_hmc_leapfrog(aw_hmc_t *s, double beta, const float *step, int per_chain, int L, aw_error_t *err);

/* One HMC transition at temperature beta (docs/math.md#leapfrog) for every chain: momentum r ~ N(0,I), leapfrog as above,
 * accept the proposal with probability min(1, exp(H0 - H1)) independently per chain (a proposal with a
 * non-finite energy is rejected). Updates h, logp, grad, logq of the accepted chains and s->accepted;
 * *n_accepted (if not NULL) receives the number of accepted chains. The calls of aw_hmc_leapfrog. */
int aw_hmc_transition(aw_hmc_t *s, double beta, const float *step, int per_chain, int L, aw_rng_t *rng,
                      int *n_accepted, aw_error_t *err);

#endif
