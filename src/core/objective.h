/* objective.h: the VAE and IWAE training losses with their exact reparameterized gradients (docs/math.md#objectives), used by
 * the training methods and estimators in src/methods/ (docs/math.md#objectives). */
#ifndef AW_OBJECTIVE_H
#define AW_OBJECTIVE_H

#include "util/error.h"
#include "core/model.h"
#include "util/rng.h"

/* Which parameter blocks a gradient call writes; AW_GRAD_REUSE_ENC: the encoder's forward pass of this x and
 * B is already in the workspace (aw_model_encode with the same ws, no encoder change since), so it is not
 * run again. */
enum { AW_GRAD_ENC = 1, AW_GRAD_DEC = 2, AW_GRAD_REUSE_ENC = 4 };

/* VAE loss (docs/math.md#vae: one sample, analytic KL), mean over B; eps [B,H] drawn from rng. Gradient written
 * into grad [n_params] laid out like params, only the blocks selected by `which` (others untouched).
 * *loss = the loss, *bound = the same as a positive NLL bound (-ELBO). Returns 0 or AW_EARG. */
int aw_vae_loss_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, aw_rng_t *rng,
                     aw_real *grad, int which, double *loss, double *bound);

/* As aw_vae_loss_grad with the noise given: eps [B,H] (h = mu + sigma * eps). */
int aw_vae_loss_grad_eps(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B,
                         const aw_real *eps, aw_real *grad, int which, double *loss, double *bound);

/* IWAE loss with K >= 1 samples (docs/math.md#iwae), mean over B; both blocks of grad [n_params] written.
 * *bound = *loss. K = 1 is the single-sample ELBO with the sampled (non-analytic) KL. Returns 0 or
 * AW_EARG. */
int aw_iwae_loss_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                      aw_rng_t *rng, aw_real *grad, double *loss, double *bound);

/* As aw_iwae_loss_grad with the noise given: eps [N,H], N = B*K point-major (h_n = mu + sigma * eps_n). */
int aw_iwae_loss_grad_eps(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                          const aw_real *eps, aw_real *grad, double *loss, double *bound);

#endif
