/* iwae.c: the "vae" and "iwae" training methods: one Adam over all parameters, stepped on the VAE loss
 * (one sample, analytic KL) or the IWAE-K loss (docs/math.md, "Objectives"). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/adam.h"
#include "core/model_ws.h"
#include "core/objective.h"
#include "methods/plugin.h"

extern const aw_method_ops_t aw_vae_ops, aw_iwae_ops;

/* Both methods' settings (method.* in specs). */
typedef struct iwae_cfg {
    int samples; /* K, importance samples per data point */
} iwae_cfg_t;

static const aw_key_t vae_keys[] = {
    {.key = "samples", .type = AW_KEY_INT, .def = "1", .lo = 1, .hi = 1, .identity = 1,
     .expect = "1 (method vae draws one sample)", .doc = "K: the VAE loss draws one sample (use iwae for K > 1)",
     .offset = offsetof(iwae_cfg_t, samples)},
    {0}};

static const aw_key_t iwae_keys[] = {
    {.key = "samples", .type = AW_KEY_INT, .def = "5", .lo = 1, .identity = 1,
     .doc = "K, importance samples per data point", .offset = offsetof(iwae_cfg_t, samples)},
    {0}};

static void vae_label(const void *cfg, char *buf, size_t n)
{
    (void)cfg;
    snprintf(buf, n, "VAE");
}

static void iwae_label(const void *cfg, char *buf, size_t n)
{
    snprintf(buf, n, "IWAE K=%d", ((const iwae_cfg_t *)cfg)->samples);
}

/* Burda et al. 2015, Table 1: one stochastic layer of 50 units, MNIST test NLL. */
static double vae_reference(const void *cfg)
{
    (void)cfg;
    return 86.76;
}

static double iwae_reference(const void *cfg)
{
    switch (((const iwae_cfg_t *)cfg)->samples) {
    case 1:
        return 86.76;
    case 5:
        return 85.54;
    case 50:
        return 84.78;
    default:
        return NAN;
    }
}

typedef struct gd_state {
    const aw_method_ops_t *ops; /* aw_vae_ops or aw_iwae_ops */
    int K;                 /* samples per data point (1 for vae) */
    int vae;               /* 1: VAE loss, 0: IWAE loss */
    int max_batch;         /* B capacity of the workspace */
    aw_adam_t adam;        /* one optimizer over all parameters */
    float *grad;           /* [n_params] gradient of the last step */
    aw_model_ws_t *ws;     /* scratch for max_batch points and K * max_batch rows */
} gd_state_t;

static void gd_destroy(void *state)
{
    gd_state_t *s = state;
    if (!s)
        return;
    aw_adam_fini(&s->adam);
    free(s->grad);
    aw_model_ws_free(s->ws);
    free(s);
}

static int gd_create(const aw_method_ops_t *ops, const void *cfg_in, const aw_adam_cfg_t *adam,
                     const aw_model_t *model, int max_batch, void **state, aw_error_t *err)
{
    const iwae_cfg_t *cfg = cfg_in;
    const char *name = ops->name;
    *state = NULL;
    int rc = aw_settings_validate(&ops->settings, cfg, err);
    if (rc < 0)
        return aw_error_prefix(err, "method %s", name);
    if (max_batch < 1 || (int64_t)max_batch * cfg->samples > INT32_MAX / 4)
        return aw_error_set(err, AW_EARG, "method %s: batch %d with %d samples is out of range", name,
                            max_batch, cfg->samples);
    gd_state_t *s = calloc(1, sizeof *s);
    if (!s)
        return aw_error_set(err, AW_ENOMEM, "method %s: out of memory", name);
    s->ops = ops;
    s->K = cfg->samples;
    s->vae = ops == &aw_vae_ops;
    s->max_batch = max_batch;
    rc = aw_adam_init(&s->adam, model->n_params, adam->beta1, adam->beta2, adam->eps, err);
    if (rc < 0) {
        free(s);
        return aw_error_prefix(err, "method %s", name);
    }
    s->grad = aligned_alloc(64, (model->n_params * sizeof(float) + 63) / 64 * 64);
    s->ws = aw_model_ws_new(&model->shape, max_batch, max_batch * s->K);
    if (!s->grad || !s->ws) {
        gd_destroy(s);
        return aw_error_set(err, AW_ENOMEM, "method %s: cannot allocate the workspace for batch %d, %d "
                            "samples", name, max_batch, cfg->samples);
    }
    memset(s->grad, 0, model->n_params * sizeof(float));
    *state = s;
    return 0;
}

static int vae_create(const void *cfg, const aw_adam_cfg_t *adam, const aw_model_t *model, int max_batch,
                      void **state, aw_error_t *err)
{
    return gd_create(&aw_vae_ops, cfg, adam, model, max_batch, state, err);
}

static int iwae_create(const void *cfg, const aw_adam_cfg_t *adam, const aw_model_t *model, int max_batch,
                       void **state, aw_error_t *err)
{
    return gd_create(&aw_iwae_ops, cfg, adam, model, max_batch, state, err);
}

/* A NaN or Inf anywhere in a layer's output gradient shows up in its bias gradient (a column sum), and with
 * finite bias gradients and finite activations the weight gradients are finite too, so checking the bias
 * blocks (a few thousand values) stands for the whole gradient. */
static int grad_finite(const aw_model_t *m, const float *grad)
{
    for (int net = 0; net < 2; net++)
        for (int l = 0; l <= m->shape.n_hidden; l++) {
            const aw_layer_t *y = net ? &m->dec[l] : &m->enc[l];
            const float *g = grad + (y->b - m->params);
            for (int j = 0; j < y->out; j++)
                if (!isfinite(g[j]))
                    return 0;
        }
    return 1;
}

static int gd_step(void *state, aw_model_t *model, const float *x, int B, float lr, aw_rng_t *rng,
                   aw_step_stats_t *stats, aw_error_t *err)
{
    gd_state_t *s = state;
    const char *name = s->ops->name;
    if (B < 1 || B > s->max_batch)
        return aw_error_set(err, AW_EARG, "method %s: batch of %d points, expected 1..%d", name, B,
                            s->max_batch);
    double loss, bound;
    int rc = s->vae ? aw_vae_loss_grad(model, s->ws, x, B, rng, s->grad, AW_GRAD_ENC | AW_GRAD_DEC, &loss,
                                       &bound)
                    : aw_iwae_loss_grad(model, s->ws, x, B, s->K, rng, s->grad, &loss, &bound);
    if (rc < 0)
        return aw_error_set(err, rc, "method %s: invalid step arguments (B=%d, K=%d)", name, B, s->K);
    memset(stats, 0, sizeof *stats);
    stats->loss = loss;
    stats->bound = bound;
    if (!isfinite(loss) || !grad_finite(model, s->grad))
        return aw_error_set(err, AW_ENUMERIC, "method %s: the loss (%g) or its gradient is not finite at "
                            "Adam step %lld; parameters left unchanged", name, loss,
                            (long long)s->adam.t + 1);
    aw_adam_step(&s->adam, model->params, s->grad, lr);
    return 0;
}

static size_t gd_state_bytes(const void *state)
{
    const gd_state_t *s = state;
    return aw_adam_state_bytes(&s->adam);
}

static void gd_save(const void *state, uint8_t *buf)
{
    const gd_state_t *s = state;
    aw_adam_save(&s->adam, buf);
}

static int gd_load(void *state, const uint8_t *buf, size_t n, aw_error_t *err)
{
    gd_state_t *s = state;
    int rc = aw_adam_load(&s->adam, buf, n, err);
    return rc < 0 ? aw_error_prefix(err, "method %s state", s->ops->name) : 0;
}

const aw_method_ops_t aw_vae_ops = {
    .name = "vae",
    .doc = "VAE (Kingma and Welling 2014): one reparameterized sample and the analytic KL",
    .settings = {vae_keys, sizeof(iwae_cfg_t), NULL},
    .batch_size = 20,
    .label = vae_label,
    .reference = vae_reference,
    .create = vae_create,
    .destroy = gd_destroy,
    .step = gd_step,
    .state_bytes = gd_state_bytes,
    .save = gd_save,
    .load = gd_load,
};

const aw_method_ops_t aw_iwae_ops = {
    .name = "iwae",
    .doc = "IWAE (Burda et al. 2015): the K-sample importance-weighted bound",
    .settings = {iwae_keys, sizeof(iwae_cfg_t), NULL},
    .batch_size = 20,
    .label = iwae_label,
    .reference = iwae_reference,
    .create = iwae_create,
    .destroy = gd_destroy,
    .step = gd_step,
    .state_bytes = gd_state_bytes,
    .save = gd_save,
    .load = gd_load,
};
