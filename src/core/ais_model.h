/* ais_model.h: the VAE model as the end target of AIS and HMC: log p(x,h) and its gradient in h for
 * B points with K chains each. Used by the aiwae method and the ais_nll estimator alike. */
#ifndef AW_AIS_MODEL_H
#define AW_AIS_MODEL_H

#include "util/error.h"

struct aw_model;
struct aw_model_ws;

/* Context of aw_ais_model_log_joint: the end target log p(x,h) of the VAE model for points x [B,D]. */
typedef struct aw_ais_model_ctx {
    const struct aw_model *m;  /* the model (borrowed) */
    struct aw_model_ws *ws;    /* scratch for B points and B*K rows (borrowed) */
    struct aw_model_ws *ws_grad; /* NULL, or a bf16 workspace (aw_model_ws_use_bf16) for the leapfrog
                                    gradients of aw_ais_model_grad_joint (borrowed) */
    const float *x;            /* [B,D] binarized points (borrowed) */
    int B;                     /* points */
    int K;                     /* chains per point */
} aw_ais_model_ctx_t;

/* aw_log_joint_fn over ctx = aw_ais_model_ctx_t: aw_model_log_joint for the N = B*K chains. */
int aw_ais_model_log_joint(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err);

/* aw_log_joint_fn over the same ctx for the target's grad_joint: the gradient on ctx->ws_grad (bf16
 * products; docs/math.md#bf16-leapfrog-gradients), its approximate values into logp. */
int aw_ais_model_grad_joint(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err);

/* Points tg's leapfrog gradient at ctx's bf16 workspace when ctx->ws_grad is set (else leaves tg as is). */
struct aw_hmc_target;
void aw_ais_model_bind_grad(struct aw_hmc_target *tg, aw_ais_model_ctx_t *ctx);

#endif
