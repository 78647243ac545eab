/* ais_nll.c: the "ais_nll" estimator (docs/math.md#estimators): per point, -logmeanexp over C AIS chains from q(h|x) to
 * p(h|x), batches of points at a time, one step size per batch adapted after every temperature. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ais.h"
#include "core/ais_model.h"
#include "core/ais_state.h"
#include "core/model.h"
#include "methods/hmc_precision.h"
#include "methods/plugin.h"
#include "methods/step_size.h"
#include "util/bytes.h"

extern const aw_estimator_ops_t aw_ais_nll_ops;

static const char *const SCHEDULES[] = {"linear", "sigmoid", NULL};

/* The estimator's settings (evaluate[i].* in specs). */
typedef struct ais_nll_cfg {
    int chains;         /* C, AIS chains per point */
    int temperatures;   /* T_eval, annealing distributions */
    int leapfrog;       /* L, leapfrog steps per transition */
    int schedule;       /* index in SCHEDULES */
    aw_step_cfg_t step; /* HMC step size: one per batch, adapted after every temperature */
    int hmc_precision;  /* AW_HMC_FP32 or AW_HMC_BF16: the leapfrog gradients' products */
} ais_nll_cfg_t;

static const aw_key_t ais_nll_keys[] = {
    {.key = "chains", .type = AW_KEY_INT, .def = "16", .lo = 1, .identity = 1,
     .doc = "C, independent AIS chains per point", .offset = offsetof(ais_nll_cfg_t, chains)},
    {.key = "temperatures", .type = AW_KEY_INT, .def = "10000", .lo = 2, .identity = 1,
     .doc = "T, annealing distributions from q(h|x) to p(h|x), both ends included",
     .offset = offsetof(ais_nll_cfg_t, temperatures)},
    {.key = "leapfrog", .type = AW_KEY_INT, .def = "10", .lo = 1, .identity = 1,
     .doc = "L, leapfrog steps per HMC transition", .offset = offsetof(ais_nll_cfg_t, leapfrog)},
    {.key = "schedule", .type = AW_KEY_WORD, .def = "linear", .words = SCHEDULES, .identity = 1,
     .doc = "spacing of the inverse temperatures: linear, or sigmoid (Wu et al. 2017)",
     .offset = offsetof(ais_nll_cfg_t, schedule)},
    /* The original NLL scripts declare a clip of [0.02, 0.3] but never apply it; these bounds are wide
     * enough never to bind in practice (docs/math.md#step-size-adaptation), so the adaptation is the
     * original's, and finite so that no chain's step can run away to 0 or infinity. */
    AW_STEP_SIZE_KEYS(ais_nll_cfg_t, step, "0.1", "0.0001", "10"),
    AW_HMC_PRECISION_KEY(ais_nll_cfg_t, hmc_precision),
    {0}};

static int ais_nll_check(const void *cfg, aw_check_t *c)
{
    return aw_step_size_check(&((const ais_nll_cfg_t *)cfg)->step, c);
}

/* A call's partial state: this header (magic, version, n, bmax, C, i0 as u32), out [i0] (f64) of the batches
 * done, then the AIS state of the batch at i0 (core/ais_state.h). */
#define PART_MAGIC 0x4e534941u /* "AISN" */
#define PART_VERSION 1u
#define PART_HEADER 24

/* One call's work, shared with the callback between temperatures. */
typedef struct call {
    const aw_eval_ctx_t *ctx;
    const aw_model_t *model;
    const float *x;
    int n, bmax, C, T; /* points, points per batch, chains per point, temperatures */
    aw_ais_cfg_t ac;
    aw_hmc_t hmc;
    aw_model_ws_t *ws;
    aw_model_ws_t *ws_grad; /* bf16 leapfrog gradients' workspace, or NULL (fp32) */
    float *mu, *logsig;
    double *logw;
    double *accept;    /* [T-1] each temperature's acceptance rate in the current batch (NaN: not run here) */
    double *out;
    aw_rng_t *rng;
    float step_init;   /* each batch's first step size */
    float step;        /* the batch's step size, adapted in place by the sweep */
    int i0;            /* first point of the current batch */
    uint8_t *buf;      /* the partial state being saved */
    size_t nbuf;
} call_t;

static int64_t units_total(const call_t *k)
{
    return (int64_t)((k->n + k->bmax - 1) / k->bmax) * (k->T - 1);
}

static int save_partial(call_t *k, int t, int64_t done, aw_error_t *err)
{
    size_t need = PART_HEADER + (size_t)k->i0 * 8 + aw_ais_state_bytes(k->hmc.n, k->hmc.H);
    if (need > k->nbuf) {
        uint8_t *b = realloc(k->buf, need);
        if (b == NULL)
            return aw_error_set(err, AW_ENOMEM, "ais_nll: out of memory for a %zu-byte partial state", need);
        k->buf = b;
        k->nbuf = need;
    }
    const uint32_t head[6] = {PART_MAGIC, PART_VERSION, (uint32_t)k->n, (uint32_t)k->bmax, (uint32_t)k->C,
                              (uint32_t)k->i0};
    for (int j = 0; j < 6; j++)
        aw_le_put_u32(k->buf + 4 * j, head[j]);
    aw_le_put_f64s(k->buf + PART_HEADER, k->out, (size_t)k->i0);
    aw_ais_state_save(&k->hmc, t, k->step, k->rng, k->logw, k->buf + PART_HEADER + (size_t)k->i0 * 8);
    return k->ctx->hooks.save(k->ctx->hooks.ctx, k->buf, need, done, units_total(k), err);
}

/* Between temperatures: progress, and the partial state saved when the runner asks or the run stops. */
static int at_temp(void *ctx, int t, int stopping, aw_error_t *err)
{
    call_t *k = ctx;
    const aw_eval_hooks_t *h = &k->ctx->hooks;
    int64_t done = (int64_t)(k->i0 / k->bmax) * (k->T - 1) + (t - 1);
    int ask = h->tick != NULL ? h->tick(h->ctx, done, units_total(k)) : 0;
    int rc;
    if ((stopping || ask != 0) && h->save != NULL && (rc = save_partial(k, t, done, err)) < 0)
        return rc;
    return (ask & AW_EVAL_STOP) != 0;
}

/* The first point of the batch a partial state resumes, with out [0, i0) filled from it; -1 if blob is not a
 * partial state of this call (it is then ignored). *state points at its AIS state. */
static int partial_start(const call_t *k, const uint8_t *blob, size_t n, const uint8_t **state, size_t *n_state)
{
    if (blob == NULL || n < PART_HEADER || aw_le_get_u32(blob) != PART_MAGIC ||
        aw_le_get_u32(blob + 4) != PART_VERSION || aw_le_get_u32(blob + 8) != (uint32_t)k->n ||
        aw_le_get_u32(blob + 12) != (uint32_t)k->bmax || aw_le_get_u32(blob + 16) != (uint32_t)k->C)
        return -1;
    uint32_t i0 = aw_le_get_u32(blob + 20);
    if (i0 >= (uint32_t)k->n || i0 % (uint32_t)k->bmax != 0 || n < PART_HEADER + (size_t)i0 * 8)
        return -1;
    aw_le_get_f64s(blob + PART_HEADER, k->out, i0);
    *state = blob + PART_HEADER + (size_t)i0 * 8;
    *n_state = n - PART_HEADER - (size_t)i0 * 8;
    return (int)i0;
}

/* The batch's mean acceptance rate over the temperatures this process ran and its last step size, passed to
 * the runner as a note. */
static int note_batch(const call_t *k, int B, aw_error_t *err)
{
    const aw_eval_hooks_t *h = &k->ctx->hooks;
    if (h->note == NULL)
        return 0;
    double sum = 0;
    int n = 0;
    for (int t = 0; t < k->T - 1; t++)
        if (!isnan(k->accept[t])) {
            sum += k->accept[t];
            n++;
        }
    char line[200];
    snprintf(line, sizeof line, "acceptance %.4f (mean over %d temperatures x %d chains), step size %.6g at the "
             "last temperature", n > 0 ? sum / n : NAN, n, B * k->C, k->step);
    return h->note(h->ctx, k->i0, B, line, err);
}

/* The batches from point `from` on; the first resumes from state when state != NULL. */
static int run_batches(call_t *k, int from, const uint8_t *state, size_t n_state, aw_error_t *err)
{
    const int D = k->model->shape.D, C = k->C;
    for (k->i0 = from; k->i0 < k->n; k->i0 += k->bmax) {
        const int i0 = k->i0, B = k->n - i0 < k->bmax ? k->n - i0 : k->bmax;
        const float *xb = k->x + (size_t)i0 * D;
        int rc;
        if ((rc = aw_model_encode(k->model, k->ws, xb, B, k->mu, k->logsig)) != 0)
            return aw_error_set(err, rc, "ais_nll: encoder failed on points %d..%d", i0, i0 + B - 1);
        aw_ais_model_ctx_t mctx = {.m = k->model, .ws = k->ws, .ws_grad = k->ws_grad, .x = xb, .B = B, .K = C};
        aw_hmc_target_t tg = {.B = B, .K = C, .mu = k->mu, .logsig = k->logsig,
                              .log_joint = aw_ais_model_log_joint, .ctx = &mctx};
        aw_ais_model_bind_grad(&tg, &mctx);
        for (int t = 0; t < k->T - 1; t++)
            k->accept[t] = NAN;
        if (i0 == from && state != NULL) {
            int t = 1;
            if ((rc = aw_ais_state_load(&k->hmc, &tg, k->T, state, n_state, &t, &k->step, k->rng, k->logw, err)) == 0)
                rc = aw_ais_sweep_from(&k->hmc, &k->ac, t, &k->step, k->accept, k->rng, k->logw, err);
        } else {
            k->step = k->step_init;
            rc = aw_ais_sweep(&k->hmc, &tg, &k->ac, &k->step, k->accept, k->rng, k->logw, err);
        }
        if (rc != 0)
            return rc == AW_EFORMAT ? rc : aw_error_prefix(err, "ais_nll: points %d..%d", i0, i0 + B - 1);
        if ((rc = note_batch(k, B, err)) < 0)
            return rc;
        for (int b = 0; b < B; b++) {
            k->out[i0 + b] = -aw_ais_logmeanexp(k->logw + (size_t)b * C, C);
            if (!isfinite(k->out[i0 + b]))
                return aw_error_set(err, AW_ENUMERIC, "ais_nll: non-finite estimate %g for point %d",
                                    k->out[i0 + b], i0 + b);
        }
    }
    return 0;
}

/* Resumes from the partial state the runner kept for this call, if it has one that fits; else starts. */
static int run_call(call_t *k, aw_error_t *err)
{
    const aw_eval_hooks_t *h = &k->ctx->hooks;
    uint8_t *blob = NULL;
    size_t nb = 0, n_state = 0;
    const uint8_t *state = NULL;
    int rc = h->load != NULL ? h->load(h->ctx, &blob, &nb, err) : 0;
    if (rc < 0)
        return rc;
    int from = blob != NULL ? partial_start(k, blob, nb, &state, &n_state) : -1;
    rc = from >= 0 ? run_batches(k, from, state, n_state, err) : run_batches(k, 0, NULL, 0, err);
    if (rc == AW_EFORMAT && from >= 0) { /* a state that does not fit: the call starts over, as if unsaved */
        aw_error_clear(err);
        rc = run_batches(k, 0, NULL, 0, err);
    }
    free(blob);
    return rc;
}

static int ais_nll_eval(const void *cfg, const aw_eval_ctx_t *ctx, const aw_model_t *model, const float *x,
                        int n, aw_rng_t *rng, double *out, aw_error_t *err)
{
    const ais_nll_cfg_t c = *(const ais_nll_cfg_t *)cfg;
    int rc = aw_settings_validate(&aw_ais_nll_ops.settings, &c, err);
    if (rc != 0)
        return aw_error_prefix(err, "ais_nll");
    if (ctx->batch < 1)
        return aw_error_set(err, AW_ESPEC, "ais_nll: batch must be an integer >= 1, got %d", ctx->batch);
    if ((int64_t)ctx->batch * c.chains > 1 << 26)
        return aw_error_set(err, AW_ESPEC, "ais_nll: batch %d x chains %d is too many chains at once",
                            ctx->batch, c.chains);
    if (n < 1)
        return aw_error_set(err, AW_EARG, "ais_nll: no points to evaluate (n=%d)", n);
    const int C = c.chains, H = model->shape.H;
    const int bmax = ctx->batch < n ? ctx->batch : n, nmax = bmax * C;
    call_t k = {.ctx = ctx, .model = model, .x = x, .n = n, .bmax = bmax, .C = C, .T = c.temperatures,
                .out = out, .rng = rng, .step_init = c.step.init};
    k.ac = (aw_ais_cfg_t){.T = c.temperatures, .L = c.leapfrog,
                          .schedule = c.schedule == 1 ? AW_AIS_SIGMOID : AW_AIS_LINEAR, .delta = AW_AIS_SIGMOID_DELTA,
                          .step_mode = AW_AIS_STEP_ADAPT, .target = c.step.target_accept, .step_min = c.step.min,
                          .step_max = c.step.max, .stop = ctx->stop, .at_temp = at_temp, .at_ctx = &k};
    if ((rc = aw_hmc_init(&k.hmc, nmax, H, err)) != 0)
        return rc;
    k.ws = aw_model_ws_new(&model->shape, bmax, nmax);
    int grc = aw_hmc_grad_ws(c.hmc_precision, model, bmax, nmax, &k.ws_grad);
    k.mu = malloc((size_t)bmax * H * sizeof *k.mu);
    k.logsig = malloc((size_t)bmax * H * sizeof *k.logsig);
    k.logw = malloc((size_t)nmax * sizeof *k.logw);
    k.accept = malloc((size_t)(c.temperatures - 1) * sizeof *k.accept);
    if (k.ws == NULL || grc != 0 || k.mu == NULL || k.logsig == NULL || k.logw == NULL || k.accept == NULL)
        rc = aw_error_set(err, AW_ENOMEM, "ais_nll: out of memory for %d points x %d chains", bmax, C);
    else
        rc = run_call(&k, err);
    aw_hmc_fini(&k.hmc);
    aw_model_ws_free(k.ws);
    aw_model_ws_free(k.ws_grad);
    free(k.mu);
    free(k.logsig);
    free(k.logw);
    free(k.accept);
    free(k.buf);
    return rc;
}

const aw_estimator_ops_t aw_ais_nll_ops;

const aw_estimator_ops_t aw_ais_nll_ops = {
    .name = "ais_nll",
    .doc = "The NLL by annealed importance sampling: -log of the mean AIS weight over C chains",
    .settings = {ais_nll_keys, sizeof(ais_nll_cfg_t), ais_nll_check},
    .batch = 256,
    .default_entry = "{estimator: ais_nll, chains: 16, temperatures: 10000, leapfrog: 10, split: test, size: 1000}",
    .table = "nll",
    .table_title = "NLL",
    .unit = "nats",
    .better = "lower",
    .what = "-log p(x) by annealed importance sampling",
    .work_unit = "temperature",
    .eval = ais_nll_eval,
};
