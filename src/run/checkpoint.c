/* checkpoint.c: the run context into a checkpoint and back (the layout is ckpt_layout.h's), resuming
 * from the newest checkpoint that fits the run, and committing new ones. Everything that must survive
 * a kill lives in the checkpoint (parameters, method state, generator, position, partial sums). */
#include "run/run_ctx.h"
#include "run/retention.h"

#include <stdlib.h>
#include <string.h>

static int ckpt_build(const run_ctx_t *c, uint8_t **blob, size_t *n, aw_error_t *err)
{
    size_t mbytes = c->ops->state_bytes(c->method);
    uint8_t *mbuf = malloc(mbytes ? mbytes : 1);
    if (mbuf == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory building a checkpoint");
    c->ops->save(c->method, mbuf);
    aw_run_ckpt_t ck = {.shape = c->model.shape, .params = c->model.params, .meth = mbuf, .meth_bytes = mbytes,
                        .rng = c->rng, .prog = c->ps};
    int rc = aw_run_ckpt_encode(&ck, blob, n, err);
    free(mbuf);
    return rc;
}

static int same_shape(const aw_shape_t *a, const aw_shape_t *b)
{
    if (a->D != b->D || a->H != b->H || a->n_hidden != b->n_hidden)
        return 0;
    for (int i = 0; i < a->n_hidden; i++)
        if (a->hidden[i] != b->hidden[i])
            return 0;
    return 1;
}

/* Restores the run from one checkpoint blob; leaves the context untouched on error. */
static int ckpt_restore(run_ctx_t *c, const uint8_t *blob, size_t n, aw_error_t *err)
{
    aw_run_ckpt_t ck;
    int rc = aw_run_ckpt_decode(blob, n, &ck, err);
    if (rc < 0)
        return rc;
    if (!same_shape(&ck.shape, &c->model.shape))
        rc = aw_error_set(err, AW_EFORMAT, "checkpoint is for another model shape");
    else if (ck.prog.n_temps != c->ps.n_temps)
        rc = aw_error_set(err, AW_EFORMAT, "progress section holds %d temperatures, expected %d", ck.prog.n_temps,
                          c->ps.n_temps);
    else
        rc = c->ops->load(c->method, ck.meth, ck.meth_bytes, err);
    if (rc == AW_OK) {
        memcpy(c->model.params, ck.params, c->model.n_params * sizeof(float));
        c->rng = ck.rng;
        double *acc = c->ps.sum_accept;
        memcpy(acc, ck.prog.sum_accept, sizeof(double) * (size_t)ck.prog.n_temps);
        c->ps = ck.prog;
        c->ps.sum_accept = acc;
    }
    aw_run_ckpt_fini(&ck);
    return rc;
}

/* aw_run_resume_latest's taker: restores a blob into the run context at ctx. */
static int take_restored(void *ctx, const uint8_t *blob, size_t n, aw_error_t *err)
{
    return ckpt_restore(ctx, blob, n, err);
}

/* Tells the progress callback of a checkpoint that could not be used. */
static void tell_rejected(void *ctx, const char *message)
{
    aw_run_note(ctx, "%s", message);
}

int aw_run_resume_latest(run_ctx_t *c, int *found, aw_error_t *err)
{
    *found = 0;
    aw_store_ckpt_taker_t t = {.take = take_restored, .rejected = tell_rejected, .ctx = c};
    int rc = aw_store_take_checkpoint(c->store, c->spec->identity, -1, &t, NULL, err);
    if (rc == AW_ENOTFOUND) {
        aw_error_clear(err);
        return AW_OK;
    }
    if (rc < 0)
        return rc;
    *found = 1;
    /* Drop whatever is newer than the state resumed from (a damaged newer
     * checkpoint, metrics of epochs that will be redone). */
    return aw_store_rollback(c->store, c->spec->identity, c->ps.epoch, c->ps.position, err);
}

int aw_run_commit_checkpoint(run_ctx_t *c, int end_of_epoch, const aw_store_metrics_t *m, aw_error_t *err)
{
    uint8_t *blob = NULL;
    size_t n = 0;
    int rc = ckpt_build(c, &blob, &n, err);
    if (rc < 0)
        return rc;
    if (end_of_epoch) {
        int keep = aw_run_keeps_checkpoint(c->spec, c->ps.epoch);
        rc = aw_store_commit_epoch(c->store, c->spec->identity, m, blob, n, keep, err);
    } else {
        rc = aw_store_save_checkpoint(c->store, c->spec->identity, c->ps.epoch, c->ps.position, blob, n, err);
    }
    free(blob);
    return rc;
}
