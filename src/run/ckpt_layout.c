/* ckpt_layout.c: the run checkpoint's sections (see ckpt_layout.h for the layout) on top of the
 * container of store/ckpt.c. Decoding trusts nothing: every size is checked before use. */
#include "run/ckpt_layout.h"

#include <stdlib.h>
#include <string.h>

#include "store/ckpt.h"
#include "util/bytes.h"

#define PROG_VERSION 1
#define SHAP_WORDS (4 + AW_MAX_HIDDEN)
#define PROG_HEAD_BYTES 64

/* SHAP: D, H, n_hidden, a zero word, then the widths, unused ones zero. */
static void shape_save(const aw_shape_t *s, uint8_t *buf)
{
    uint32_t w[SHAP_WORDS] = {(uint32_t)s->D, (uint32_t)s->H, (uint32_t)s->n_hidden, 0};
    for (int i = 0; i < s->n_hidden && i < AW_MAX_HIDDEN; i++)
        w[4 + i] = (uint32_t)s->hidden[i];
    for (int i = 0; i < SHAP_WORDS; i++)
        aw_le_put_u32(buf + 4 * i, w[i]);
}

static int shape_load(aw_shape_t *s, const uint8_t *buf, aw_error_t *err)
{
    int32_t w[SHAP_WORDS];
    for (int i = 0; i < SHAP_WORDS; i++)
        w[i] = (int32_t)aw_le_get_u32(buf + 4 * i);
    memset(s, 0, sizeof *s);
    s->D = w[0];
    s->H = w[1];
    s->n_hidden = w[2];
    int unused_zero = w[3] == 0;
    for (int i = 0; i < AW_MAX_HIDDEN; i++) {
        if (i < s->n_hidden)
            s->hidden[i] = w[4 + i];
        else
            unused_zero &= w[4 + i] == 0;
    }
    if (!unused_zero || aw_shape_n_params(s) == 0)
        return aw_error_set(err, AW_EFORMAT, "checkpoint has no valid model shape (D=%d, H=%d, n_hidden=%d)",
                            w[0], w[1], w[2]);
    return AW_OK;
}

static size_t prog_bytes(const aw_run_progress_t *ps)
{
    return PROG_HEAD_BYTES + 8 * (size_t)ps->n_temps;
}

static void prog_save(const aw_run_progress_t *ps, uint8_t *buf)
{
    aw_le_put_u64(buf, PROG_VERSION);
    aw_le_put_u64(buf + 8, (uint64_t)ps->epoch);
    aw_le_put_u64(buf + 16, (uint64_t)ps->position);
    aw_le_put_u64(buf + 24, (uint64_t)ps->points);
    aw_le_put_f64(buf + 32, ps->sum_loss);
    aw_le_put_f64(buf + 40, ps->sum_bound);
    aw_le_put_f64(buf + 48, ps->seconds);
    aw_le_put_u64(buf + 56, (uint64_t)ps->n_temps);
    aw_le_put_f64s(buf + 64, ps->sum_accept, (size_t)ps->n_temps);
}

/* Reads PROG into ps, allocating ps->sum_accept (left NULL on error). */
static int prog_load(aw_run_progress_t *ps, const uint8_t *buf, size_t n, aw_error_t *err)
{
    memset(ps, 0, sizeof *ps);
    if (n < PROG_HEAD_BYTES)
        return aw_error_set(err, AW_EFORMAT, "progress section of %zu bytes, expected at least %d", n,
                            PROG_HEAD_BYTES);
    uint64_t version = aw_le_get_u64(buf);
    if (version != PROG_VERSION)
        return aw_error_set(err, AW_EFORMAT, "progress section version %llu, expected %d",
                            (unsigned long long)version, PROG_VERSION);
    uint64_t nt = aw_le_get_u64(buf + 56);
    int64_t epoch = (int64_t)aw_le_get_u64(buf + 8), position = (int64_t)aw_le_get_u64(buf + 16);
    if (nt > (n - PROG_HEAD_BYTES) / 8 || n != PROG_HEAD_BYTES + 8 * nt)
        return aw_error_set(err, AW_EFORMAT, "progress section holds %llu temperatures in %zu bytes",
                            (unsigned long long)nt, n);
    if (epoch < 0 || position < 0)
        return aw_error_set(err, AW_EFORMAT, "progress section at epoch %lld step %lld", (long long)epoch,
                            (long long)position);
    ps->sum_accept = malloc(sizeof(double) * (nt > 0 ? (size_t)nt : 1));
    if (ps->sum_accept == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory for a checkpoint's %llu temperatures",
                            (unsigned long long)nt);
    ps->epoch = epoch;
    ps->position = position;
    ps->points = (int64_t)aw_le_get_u64(buf + 24);
    ps->sum_loss = aw_le_get_f64(buf + 32);
    ps->sum_bound = aw_le_get_f64(buf + 40);
    ps->seconds = aw_le_get_f64(buf + 48);
    ps->n_temps = (int)nt;
    aw_le_get_f64s(buf + 64, ps->sum_accept, (size_t)nt);
    return AW_OK;
}

int aw_run_ckpt_encode(const aw_run_ckpt_t *ck, uint8_t **blob, size_t *n, aw_error_t *err)
{
    *blob = NULL;
    *n = 0;
    size_t n_params = aw_shape_n_params(&ck->shape);
    if (n_params == 0 || ck->prog.n_temps < 0)
        return aw_error_set(err, AW_EARG, "checkpoint of an invalid model shape or progress");
    aw_ckpt_t c;
    aw_ckpt_init(&c);
    uint8_t shap[4 * SHAP_WORDS], rngbuf[AW_RNG_STATE_BYTES];
    shape_save(&ck->shape, shap);
    aw_rng_save(&ck->rng, rngbuf);
    size_t pbytes = prog_bytes(&ck->prog);
    uint8_t *pbuf = malloc(pbytes);
    int rc;
    if (pbuf == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory building a checkpoint");
        goto out;
    }
    prog_save(&ck->prog, pbuf);
    if ((rc = aw_ckpt_put(&c, "SHAP", shap, sizeof shap, err)) < 0 ||
        (rc = aw_ckpt_put_f32(&c, "PARM", ck->params, n_params, err)) < 0 ||
        (rc = aw_ckpt_put(&c, "METH", ck->meth, ck->meth_bytes, err)) < 0 ||
        (rc = aw_ckpt_put(&c, "RNGS", rngbuf, sizeof rngbuf, err)) < 0 ||
        (rc = aw_ckpt_put(&c, "PROG", pbuf, pbytes, err)) < 0)
        goto out;
    rc = aw_ckpt_encode(&c, blob, n, err);
out:
    free(pbuf);
    aw_ckpt_fini(&c);
    return rc;
}

/* The sections of a decoded container into ck (its owned arrays allocated here). */
static int sections_load(const aw_ckpt_t *c, aw_run_ckpt_t *ck, aw_error_t *err)
{
    const uint8_t *p = aw_ckpt_need(c, "SHAP", 4 * SHAP_WORDS, err);
    if (p == NULL)
        return AW_EFORMAT;
    int rc = shape_load(&ck->shape, p, err);
    if (rc < 0)
        return rc;
    size_t n_params = aw_shape_n_params(&ck->shape), len = 0;
    /* The parameter section must hold the shape's count before anything that large is allocated: a shape
     * read back from a database is input too (found by fuzz_ckpt). */
    if (aw_ckpt_need(c, "PARM", n_params * sizeof(float), err) == NULL)
        return AW_EFORMAT;
    if ((ck->params = malloc(n_params * sizeof(float))) == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory for a checkpoint's %zu parameters", n_params);
    if ((rc = aw_ckpt_get_f32(c, "PARM", ck->params, n_params, err)) < 0)
        return rc;
    const uint8_t *meth = aw_ckpt_get(c, "METH", &len);
    if (meth == NULL)
        return aw_error_set(err, AW_EFORMAT, "checkpoint has no method state");
    if ((ck->meth = malloc(len > 0 ? len : 1)) == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory for a checkpoint's %zu-byte method state", len);
    memcpy(ck->meth, meth, len);
    ck->meth_bytes = len;
    const uint8_t *rngb = aw_ckpt_get(c, "RNGS", &len);
    if (rngb == NULL || len != AW_RNG_STATE_BYTES || aw_rng_load(&ck->rng, rngb) != 0)
        return aw_error_set(err, AW_EFORMAT, "checkpoint generator state is missing or invalid");
    const uint8_t *prog = aw_ckpt_get(c, "PROG", &len);
    if (prog == NULL)
        return aw_error_set(err, AW_EFORMAT, "checkpoint has no progress section");
    return prog_load(&ck->prog, prog, len, err);
}

int aw_run_ckpt_decode(const uint8_t *blob, size_t n, aw_run_ckpt_t *ck, aw_error_t *err)
{
    memset(ck, 0, sizeof *ck);
    aw_ckpt_t c;
    int rc = aw_ckpt_decode(blob, n, &c, err);
    if (rc < 0)
        return rc;
    rc = sections_load(&c, ck, err);
    aw_ckpt_fini(&c);
    if (rc < 0)
        aw_run_ckpt_fini(ck);
    return rc;
}

void aw_run_ckpt_fini(aw_run_ckpt_t *ck)
{
    free(ck->params);
    free(ck->meth);
    free(ck->prog.sum_accept);
    memset(ck, 0, sizeof *ck);
}

/* aw_run_load_model's taker: decodes a blob into the aw_run_ckpt_t at ctx. */
static int take_decoded(void *ctx, const uint8_t *blob, size_t n, aw_error_t *err)
{
    return aw_run_ckpt_decode(blob, n, ctx, err);
}

int aw_run_load_model(aw_store_t *store, const char *identity, int64_t epoch, aw_model_t *model,
                      int64_t *epoch_out, aw_error_t *err)
{
    aw_run_ckpt_t ck;
    memset(&ck, 0, sizeof ck);
    aw_store_ckpt_taker_t t = {.take = take_decoded, .ctx = &ck};
    aw_store_ckpt_ref_t ref;
    int rc = aw_store_take_checkpoint(store, identity, epoch, &t, &ref, err);
    if (rc < 0)
        return rc;
    aw_rng_t g;
    aw_rng_seed(&g, 0, 0);
    if ((rc = aw_model_init(model, &ck.shape, &g, err)) == AW_OK) {
        memcpy(model->params, ck.params, model->n_params * sizeof(float));
        if (epoch_out != NULL)
            *epoch_out = ref.epoch;
    }
    aw_run_ckpt_fini(&ck);
    return rc;
}
