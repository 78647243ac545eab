/* ais_model.c: the VAE model's log p(x,h) as the target of AIS and HMC (ais_model.h). */
#include "core/ais_model.h"

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
