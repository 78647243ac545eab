/* core_f64.c: the numeric core's own sources compiled a second time in double precision (names become
 * awd_*), plus the bridge declared in core_f64.h. */
#define AW_REAL_DOUBLE 1

#include "../src/core/mlp.c"
#include "../src/core/model.c"
#include "../src/core/decoder.c"
#include "../src/core/dec_cblas.c"
#include "../src/core/objective.c"

#include "core_f64.h"

int awd_eval(int kind, const aw_shape_t *shape, const double *params, const double *x, int B, int K,
             const double *in, const double *w, double *loss, double *out, double *grad)
{
    aw_model_t m;
    aw_rng_t rng;
    aw_rng_seed(&rng, 1, 0);
    int rc = aw_model_init(&m, shape, &rng, NULL);
    if (rc < 0)
        return rc;
    memcpy(m.params, params, m.n_params * sizeof *m.params);
    aw_model_ws_t *ws = aw_model_ws_new(shape, B, B * K);
    if (!ws) {
        aw_model_fini(&m);
        return AW_ENOMEM;
    }
    double bound;
    switch (kind) {
    case AWD_VAE:
        rc = aw_vae_loss_grad_eps(&m, ws, x, B, in, grad, AW_GRAD_ENC | AW_GRAD_DEC, loss, &bound);
        break;
    case AWD_VAE_ENC:
        rc = aw_vae_loss_grad_eps(&m, ws, x, B, in, grad, AW_GRAD_ENC, loss, &bound);
        break;
    case AWD_IWAE:
        rc = aw_iwae_loss_grad_eps(&m, ws, x, B, K, in, grad, loss, &bound);
        break;
    case AWD_DEC:
        rc = aw_model_decoder_grad(&m, ws, x, B, K, in, w, grad, loss);
        break;
    case AWD_LOGJOINT:
        rc = aw_model_log_joint(&m, ws, x, B, K, in, out, grad);
        break;
    default:
        rc = AW_EARG;
    }
    aw_model_ws_free(ws);
    aw_model_fini(&m);
    return rc;
}
