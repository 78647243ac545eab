/* core_f64.h: a double-precision build of the numeric core (src/core/mlp.c, model.c, decoder.c, dec_cblas.c,
 * objective.c compiled again with AW_REAL_DOUBLE) behind a bridge with plain types, for gradient checks
 * and float/double agreement. */
#ifndef AW_CORE_F64_H
#define AW_CORE_F64_H

#include "core/model.h"

/* What awd_eval computes, all on the double build with the given parameters. */
enum {
    AWD_VAE,      /* loss and grad [n_params] of aw_vae_loss_grad_eps, both blocks (in = eps [B,H]) */
    AWD_VAE_ENC,  /* the same with AW_GRAD_ENC only (decoder block of grad left untouched) */
    AWD_IWAE,     /* loss and grad of aw_iwae_loss_grad_eps (in = eps [B*K,H]) */
    AWD_DEC,      /* loss and grad [dec_n] of aw_model_decoder_grad (in = h [B*K,H], w [B*K]) */
    AWD_LOGJOINT  /* out [B*K] = log p(x,h), grad [B*K,H] = d/dh (in = h) */
};

/* Runs `kind` on a double model of `shape` with params [n_params]; x [B,D]. loss may be NULL for
 * AWD_LOGJOINT, where `out` receives log p. Returns 0 or a negative AW_E* code. */
int awd_eval(int kind, const aw_shape_t *shape, const double *params, const double *x, int B, int K,
             const double *in, const double *w, double *loss, double *out, double *grad);

#endif
