/* aiwae.c: the "aiwae" training method (docs/math.md#aiwae): the encoder trained by the VAE loss with its
 * own Adam, the decoder by the AIS-weighted loss with its own Adam, and per-temperature HMC step sizes
 * adapted per step. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/adam.h"
#include "core/ais.h"
#include "core/ais_model.h"
#include "core/model.h"
#include "core/objective.h"
#include "methods/hmc_precision.h"
#include "methods/plugin.h"
#include "methods/step_size.h"
#include "util/bytes.h"

#define AIWAE_MAGIC 0x49415741u /* "AWAI" little-endian */
#define AIWAE_VERSION 1u

extern const aw_method_ops_t aw_aiwae_ops;

/* The method's settings (method.* in specs). */
typedef struct aiwae_cfg {
    int samples;          /* K, AIS chains per data point */
    int temperatures;     /* T >= 2, distributions from q(h|x) to p(h|x) */
    int leapfrog;         /* L, leapfrog steps per HMC transition */
    aw_step_cfg_t step;   /* HMC step sizes */
    int hmc_precision;    /* AW_HMC_FP32 or AW_HMC_BF16: the leapfrog gradients' products */
} aiwae_cfg_t;

static const aw_key_t aiwae_keys[] = {
    {.key = "samples", .type = AW_KEY_INT, .def = "5", .lo = 1, .identity = 1,
     .doc = "K, AIS chains (importance samples) per data point", .offset = offsetof(aiwae_cfg_t, samples)},
    {.key = "temperatures", .type = AW_KEY_INT, .def = "5", .lo = 2, .identity = 1,
     .doc = "T, annealing distributions from q(h|x) to p(h|x), both ends included",
     .offset = offsetof(aiwae_cfg_t, temperatures)},
    {.key = "leapfrog", .type = AW_KEY_INT, .def = "5", .lo = 1, .identity = 1,
     .doc = "L, leapfrog steps per HMC transition", .offset = offsetof(aiwae_cfg_t, leapfrog)},
    AW_STEP_SIZE_KEYS(aiwae_cfg_t, step, "0.1", "0.001", "0.3"),
    AW_HMC_PRECISION_KEY(aiwae_cfg_t, hmc_precision),
    {0}};

static int aiwae_check(const void *cfg, aw_check_t *c)
{
    return aw_step_size_check(&((const aiwae_cfg_t *)cfg)->step, c);
}

static int aiwae_n_temps(const void *cfg)
{
    return ((const aiwae_cfg_t *)cfg)->temperatures - 1;
}

static void aiwae_label(const void *cfg, char *buf, size_t n)
{
    const aiwae_cfg_t *c = cfg;
    snprintf(buf, n, "AIWAE K=%d T=%d L=%d", c->samples, c->temperatures, c->leapfrog);
}

/* Everything one AIWAE run keeps between steps; owns every pointer. */
typedef struct aiwae_state {
    aiwae_cfg_t cfg;       /* validated settings */
    int max_batch;         /* largest B a step accepts */
    int H;                 /* latent size */
    size_t n_params;       /* model parameters */
    size_t enc_n;          /* encoder block [0, enc_n) */
    size_t dec_off, dec_n; /* decoder block [dec_off, dec_off + dec_n) */
    aw_adam_t enc;         /* encoder optimizer */
    aw_adam_t dec;         /* decoder optimizer */
    float *step;           /* [T-1] HMC step size at temperatures 1..T-1 (training state) */
    double *accept;        /* [T-1] acceptance rates of the last step */
    aw_hmc_t hmc;          /* chains, max_batch*K of them */
    aw_model_ws_t *ws;     /* model scratch for max_batch points and max_batch*K rows */
    aw_model_ws_t *ws_grad; /* NULL, or the bf16 workspace of the leapfrog gradients (hmc_precision) */
    float *mu, *logsig;    /* [max_batch,H] q(h|x) of the minibatch */
    double *logw;          /* [max_batch*K] AIS log-weights */
    float *w;              /* [max_batch*K] softmax of logw within each point */
    float *grad;           /* [n_params] encoder gradient (VAE loss; decoder block unused) */
    float *grad_dec;       /* [dec_n] decoder gradient (AIS-weighted loss) */
    float *undo;           /* [3 dec_n] decoder parameters and Adam moments before this step's decoder update */
} aiwae_state_t;

static void aiwae_destroy(void *state)
{
    aiwae_state_t *s = state;
    if (s == NULL)
        return;
    aw_adam_fini(&s->enc);
    aw_adam_fini(&s->dec);
    aw_hmc_fini(&s->hmc);
    aw_model_ws_free(s->ws);
    aw_model_ws_free(s->ws_grad);
    free(s->step);
    free(s->accept);
    free(s->mu);
    free(s->logsig);
    free(s->logw);
    free(s->w);
    free(s->grad);
    free(s->grad_dec);
    free(s->undo);
    free(s);
}

static int aiwae_create(const void *cfg_in, const aw_adam_cfg_t *adam, const aw_model_t *model, int max_batch,
                        void **state, aw_error_t *err)
{
    *state = NULL;
    const aiwae_cfg_t *cfg = cfg_in;
    int rc = aw_settings_validate(&aw_aiwae_ops.settings, cfg, err);
    if (rc != 0)
        return aw_error_prefix(err, "method aiwae");
    if (max_batch < 1)
        return aw_error_set(err, AW_EARG, "aiwae: max_batch must be >= 1, got %d", max_batch);
    const int K = cfg->samples, nt = cfg->temperatures - 1, H = model->shape.H;
    if ((int64_t)max_batch * K > 1 << 28)
        return aw_error_set(err, AW_ESPEC, "aiwae: batch %d x samples %d chains is too large", max_batch, K);
    const int N = max_batch * K;
    aiwae_state_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return aw_error_set(err, AW_ENOMEM, "aiwae: out of memory");
    s->cfg = *cfg;
    s->max_batch = max_batch;
    s->H = H;
    s->n_params = model->n_params;
    s->enc_n = model->enc_n;
    s->dec_off = model->dec_off;
    s->dec_n = model->dec_n;
    if ((rc = aw_adam_init(&s->enc, s->enc_n, adam->beta1, adam->beta2, adam->eps, err)) != 0 ||
        (rc = aw_adam_init(&s->dec, s->dec_n, adam->beta1, adam->beta2, adam->eps, err)) != 0 ||
        (rc = aw_hmc_init(&s->hmc, N, H, err)) != 0) {
        aiwae_destroy(s);
        return rc;
    }
    s->ws = aw_model_ws_new(&model->shape, max_batch, N);
    int grc = aw_hmc_grad_ws(cfg->hmc_precision, model, max_batch, N, &s->ws_grad);
    s->step = malloc((size_t)nt * sizeof *s->step);
    s->accept = calloc((size_t)nt, sizeof *s->accept);
    s->mu = malloc((size_t)max_batch * H * sizeof *s->mu);
    s->logsig = malloc((size_t)max_batch * H * sizeof *s->logsig);
    s->logw = malloc((size_t)N * sizeof *s->logw);
    s->w = malloc((size_t)N * sizeof *s->w);
    s->grad = calloc(s->n_params, sizeof *s->grad);
    s->grad_dec = malloc(s->dec_n * sizeof *s->grad_dec);
    s->undo = malloc(3 * s->dec_n * sizeof *s->undo);
    if (!s->ws || grc != 0 || !s->step || !s->accept || !s->mu || !s->logsig || !s->logw || !s->w || !s->grad ||
        !s->grad_dec || !s->undo) {
        aiwae_destroy(s);
        return aw_error_set(err, AW_ENOMEM, "aiwae: out of memory for batch %d x %d chains", max_batch, K);
    }
    for (int t = 0; t < nt; t++)
        s->step[t] = cfg->step.init;
    *state = s;
    return 0;
}

static int all_finite(const float *a, size_t n)
{
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= isfinite(a[i]);
    return ok;
}

static int aiwae_step(void *state, aw_model_t *model, const float *x, int B, float lr, aw_rng_t *rng,
                      aw_step_stats_t *stats, aw_error_t *err)
{
    aiwae_state_t *s = state;
    const int K = s->cfg.samples, T = s->cfg.temperatures;
    if (B < 1 || B > s->max_batch)
        return aw_error_set(err, AW_EARG, "aiwae: batch of %d points, expected 1..%d", B, s->max_batch);
    if (model->n_params != s->n_params)
        return aw_error_set(err, AW_EARG, "aiwae: model has %zu parameters, the state was made for %zu",
                            model->n_params, s->n_params);
    int rc = aw_model_encode(model, s->ws, x, B, s->mu, s->logsig);
    if (rc != 0)
        return aw_error_set(err, rc, "aiwae: encoder failed for a batch of %d", B);
    /* Decoder: AIS from q(h|x) to p(h|x), K chains per point. */
    aw_ais_model_ctx_t ctx = { .m = model, .ws = s->ws, .ws_grad = s->ws_grad, .x = x, .B = B, .K = K };
    aw_hmc_target_t tg = { .B = B, .K = K, .mu = s->mu, .logsig = s->logsig,
                           .log_joint = aw_ais_model_log_joint, .ctx = &ctx };
    aw_ais_model_bind_grad(&tg, &ctx);
    aw_ais_cfg_t ac = { .T = T, .L = s->cfg.leapfrog, .schedule = AW_AIS_LINEAR, .delta = AW_AIS_SIGMOID_DELTA,
                        .step_mode = AW_AIS_STEP_PER_TEMP };
    if ((rc = aw_ais_sweep(&s->hmc, &tg, &ac, s->step, s->accept, rng, s->logw, err)) != 0)
        return rc;
    double bound = 0;
    for (int b = 0; b < B; b++) {
        double lme = aw_ais_logmeanexp(s->logw + (size_t)b * K, K);
        bound -= lme;
        for (int k = 0; k < K; k++)
            s->w[b * K + k] = (float)(exp(s->logw[b * K + k] - lme) / K);
    }
    bound /= B;
    double loss_dec = NAN, loss_enc = NAN, bound_enc = NAN;
    if (isfinite(bound) &&
        (rc = aw_model_decoder_grad(model, s->ws, x, B, K, s->hmc.h, s->w, s->grad_dec, &loss_dec)) != 0)
        return aw_error_set(err, rc, "aiwae: decoder gradient failed for a batch of %d", B);
    if (!isfinite(bound) || !isfinite(loss_dec) || !all_finite(s->grad_dec, s->dec_n))
        return aw_error_set(err, AW_ENUMERIC, "aiwae: non-finite AIS bound %g or decoder loss %g; parameters not "
                            "updated", bound, loss_dec);
    /* As the original: the decoder's optimizer steps first, then the encoder's VAE loss is taken at the
     * updated decoder, reusing this step's encoder pass (docs/math.md#aiwae). Should the encoder's gradient
     * not be finite, the decoder is put back as it was, so a failed step changes nothing. */
    float *params_dec = model->params + s->dec_off;
    memcpy(s->undo, params_dec, s->dec_n * sizeof *s->undo);
    memcpy(s->undo + s->dec_n, s->dec.m, s->dec_n * sizeof *s->undo);
    memcpy(s->undo + 2 * s->dec_n, s->dec.v, s->dec_n * sizeof *s->undo);
    aw_adam_step(&s->dec, params_dec, s->grad_dec, lr);
    rc = aw_vae_loss_grad(model, s->ws, x, B, rng, s->grad, AW_GRAD_ENC | AW_GRAD_REUSE_ENC, &loss_enc, &bound_enc);
    if (rc != 0 || !isfinite(loss_enc) || !all_finite(s->grad, s->enc_n)) {
        memcpy(params_dec, s->undo, s->dec_n * sizeof *s->undo);
        memcpy(s->dec.m, s->undo + s->dec_n, s->dec_n * sizeof *s->undo);
        memcpy(s->dec.v, s->undo + 2 * s->dec_n, s->dec_n * sizeof *s->undo);
        s->dec.t--;
        if (rc != 0)
            return aw_error_set(err, rc, "aiwae: encoder (VAE) gradient failed for a batch of %d", B);
        return aw_error_set(err, AW_ENUMERIC, "aiwae: non-finite encoder loss %g or gradient (AIS bound %g, decoder "
                            "loss %g); parameters not updated", loss_enc, bound, loss_dec);
    }
    aw_adam_step(&s->enc, model->params, s->grad, lr);
    aw_ais_adapt_steps(s->step, s->accept, T - 1, s->cfg.step.target_accept, s->cfg.step.min, s->cfg.step.max);
    if (stats != NULL) {
        stats->loss = loss_enc + loss_dec;
        stats->bound = bound;
        stats->n_temps = T - 1;
        stats->accept = s->accept;
        stats->step = s->step;
    }
    return 0;
}

/* Layout: magic, version, n_temps (u32 each), steps (f32 [n_temps]), encoder Adam size (u64) and bytes,
 * decoder Adam size (u64) and bytes. */
static size_t aiwae_state_bytes(const void *state)
{
    const aiwae_state_t *s = state;
    return 12 + 4 * (size_t)(s->cfg.temperatures - 1) + 8 + aw_adam_state_bytes(&s->enc) + 8 +
           aw_adam_state_bytes(&s->dec);
}

static void aiwae_save(const void *state, uint8_t *buf)
{
    const aiwae_state_t *s = state;
    const int nt = s->cfg.temperatures - 1;
    aw_le_put_u32(buf, AIWAE_MAGIC);
    aw_le_put_u32(buf + 4, AIWAE_VERSION);
    aw_le_put_u32(buf + 8, (uint32_t)nt);
    aw_le_put_f32s(buf + 12, s->step, (size_t)nt);
    uint8_t *p = buf + 12 + 4 * (size_t)nt;
    size_t eb = aw_adam_state_bytes(&s->enc), db = aw_adam_state_bytes(&s->dec);
    aw_le_put_u64(p, eb);
    aw_adam_save(&s->enc, p + 8);
    p += 8 + eb;
    aw_le_put_u64(p, db);
    aw_adam_save(&s->dec, p + 8);
}

static int aiwae_load(void *state, const uint8_t *buf, size_t n, aw_error_t *err)
{
    aiwae_state_t *s = state;
    const int nt = s->cfg.temperatures - 1;
    const size_t want = aiwae_state_bytes(s);
    if (n != want)
        return aw_error_set(err, AW_EFORMAT, "aiwae state: %zu bytes, expected %zu", n, want);
    if (aw_le_get_u32(buf) != AIWAE_MAGIC)
        return aw_error_set(err, AW_EFORMAT, "aiwae state: bad magic 0x%08x at offset 0", aw_le_get_u32(buf));
    if (aw_le_get_u32(buf + 4) != AIWAE_VERSION)
        return aw_error_set(err, AW_EFORMAT, "aiwae state: version %u at offset 4, expected %u",
                            aw_le_get_u32(buf + 4), AIWAE_VERSION);
    if (aw_le_get_u32(buf + 8) != (uint32_t)nt)
        return aw_error_set(err, AW_EFORMAT, "aiwae state: %u temperatures at offset 8, the run has %d",
                            aw_le_get_u32(buf + 8), nt);
    float *steps = malloc((size_t)nt * sizeof *steps);
    if (steps == NULL)
        return aw_error_set(err, AW_ENOMEM, "aiwae state: out of memory");
    const uint8_t *p = buf + 12;
    aw_le_get_f32s(p, steps, (size_t)nt);
    for (int t = 0; t < nt; t++, p += 4) {
        if (!(steps[t] > 0) || !isfinite(steps[t])) {
            double bad = steps[t];
            free(steps);
            return aw_error_set(err, AW_EFORMAT, "aiwae state: step size %g at offset %zu is not positive",
                                bad, (size_t)(p - buf));
        }
    }
    const size_t eb = aw_adam_state_bytes(&s->enc), db = aw_adam_state_bytes(&s->dec);
    const size_t eoff = (size_t)(p - buf), doff = eoff + 8 + eb;
    if (aw_le_get_u64(buf + eoff) != eb || aw_le_get_u64(buf + doff) != db) {
        free(steps);
        return aw_error_set(err, AW_EFORMAT, "aiwae state: optimizer sizes at offsets %zu and %zu do not match",
                            eoff, doff);
    }
    /* Load into fresh optimizers first so a failure leaves the state unchanged. */
    aw_adam_t enc = { 0 }, dec = { 0 };
    int rc;
    if ((rc = aw_adam_init(&enc, s->enc.n, s->enc.beta1, s->enc.beta2, s->enc.eps, err)) != 0 ||
        (rc = aw_adam_init(&dec, s->dec.n, s->dec.beta1, s->dec.beta2, s->dec.eps, err)) != 0 ||
        (rc = aw_adam_load(&enc, buf + eoff + 8, eb, err)) != 0 ||
        (rc = aw_adam_load(&dec, buf + doff + 8, db, err)) != 0) {
        aw_adam_fini(&enc);
        aw_adam_fini(&dec);
        free(steps);
        aw_error_prefix(err, "aiwae state");
        return rc;
    }
    aw_adam_fini(&s->enc);
    aw_adam_fini(&s->dec);
    s->enc = enc;
    s->dec = dec;
    memcpy(s->step, steps, (size_t)nt * sizeof *steps);
    free(steps);
    return 0;
}

const aw_method_ops_t aw_aiwae_ops = {
    .name = "aiwae",
    .doc = "AIWAE (Ding and Freedman 2019): encoder by the VAE loss, decoder by AIS-weighted samples",
    .settings = {aiwae_keys, sizeof(aiwae_cfg_t), aiwae_check},
    .batch_size = 128,
    .n_temps = aiwae_n_temps,
    .label = aiwae_label,
    .create = aiwae_create,
    .destroy = aiwae_destroy,
    .step = aiwae_step,
    .state_bytes = aiwae_state_bytes,
    .save = aiwae_save,
    .load = aiwae_load,
};
