/* ais_model.c: the VAE model's log p(x,h) as the target of AIS and HMC (ais_model.h). */
#include "core/ais_model.h"

#include "core/hmc.h"
#include "core/model.h"

int aw_ais_model_log_joint(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err)
{
    aw_ais_model_ctx_t *c = ctx;
    if (N != c->B * c->K)
        return aw_error_set(err, AW_EARG, "ais: log_joint called for %d chains, the batch has %d x %d", N,
                            c->B, c->K);
    int rc = aw_model_log_joint(c->m, c->ws, c->x, c->B, c->K, h, logp, grad_h);
    if (rc != 0)
        return aw_error_set(err, rc, "ais: model log_joint failed for B=%d K=%d", c->B, c->K);
    return 0;
}

int aw_ais_model_grad_joint(void *ctx, const float *h, int N, float *logp, float *grad_h, aw_error_t *err)
{
    aw_ais_model_ctx_t *c = ctx;
    if (N != c->B * c->K)
        return aw_error_set(err, AW_EARG, "ais: grad_joint called for %d chains, the batch has %d x %d", N,
                            c->B, c->K);
    int rc = aw_model_log_joint_grad(c->m, c->ws_grad, c->x, c->B, c->K, h, logp, grad_h);
    if (rc != 0)
        return aw_error_set(err, rc, "ais: model bf16 gradient failed for B=%d K=%d", c->B, c->K);
    return 0;
}

void aw_ais_model_bind_grad(aw_hmc_target_t *tg, aw_ais_model_ctx_t *ctx)
{
    if (ctx->ws_grad == NULL)
        return;
    tg->grad_joint = aw_ais_model_grad_joint;
    tg->grad_ctx = ctx;
}
