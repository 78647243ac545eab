/* checkpoint.c: the run context into a checkpoint and back (the layout is ckpt_layout.h's), resuming
 * from the newest checkpoint that fits the run, and committing new ones. Everything that must survive
 * a kill lives in the checkpoint (parameters, method state, generator, position, partial sums). */
#include "run/run_ctx.h"
#include "run/retention.h"

#include <math.h>
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

/* Checks a decoded position against the run's spec, so that a well-formed checkpoint with a valid
 * checksum but impossible numbers (written by anyone who can write the database) is rejected like a
 * damaged one: 0 <= epoch <= epochs, 0 <= position < steps per epoch (0 after the last epoch), every step
 * done a full batch, finite sums and time. */
static int prog_fits(const run_ctx_t *c, const aw_run_progress_t *p, aw_error_t *err)
{
    const int64_t steps = aw_run_steps_per_epoch(c), B = c->spec->train.batch_size;
    const int64_t epochs = c->spec->train.epochs;
    if (p->epoch < 0 || p->epoch > epochs)
        return aw_error_set(err, AW_EFORMAT, "progress at epoch %lld, expected 0..%lld", (long long)p->epoch,
                            (long long)epochs);
    if (p->position < 0 || p->position >= steps || (p->epoch == epochs && p->position != 0))
        return aw_error_set(err, AW_EFORMAT, "progress at step %lld of epoch %lld, expected 0..%lld",
                            (long long)p->position, (long long)p->epoch + 1,
                            (long long)(p->epoch == epochs ? 0 : steps - 1));
    if (p->points != p->position * B)
        return aw_error_set(err, AW_EFORMAT, "progress counts %lld points after %lld steps of %lld",
                            (long long)p->points, (long long)p->position, (long long)B);
    int finite = isfinite(p->sum_loss) && isfinite(p->sum_bound) && isfinite(p->seconds) && p->seconds >= 0;
    for (int t = 0; t < p->n_temps; t++)
        finite &= isfinite(p->sum_accept[t]);
    if (!finite)
        return aw_error_set(err, AW_EFORMAT, "progress holds a non-finite sum or a negative time");
    return AW_OK;
}

/* Restores the run from one checkpoint blob; leaves the context untouched on error. */
static int ckpt_restore(run_ctx_t *c, const uint8_t *blob, size_t n, aw_error_t *err)
{
    aw_run_ckpt_t ck;
    int rc = aw_run_ckpt_decode(blob, n, &ck, err);
    if (rc < 0)
        return rc;
    if (!aw_shape_equal(&ck.shape, &c->model.shape))
        rc = aw_error_set(err, AW_EFORMAT, "checkpoint is for another model shape");
    else if (ck.prog.n_temps != c->ps.n_temps)
        rc = aw_error_set(err, AW_EFORMAT, "progress section holds %d temperatures, expected %d", ck.prog.n_temps,
                          c->ps.n_temps);
    else if ((rc = prog_fits(c, &ck.prog, err)) == AW_OK)
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
        /* No usable checkpoint: the run starts over, so nothing it recorded before may stay (metrics,
         * evaluations, unusable checkpoints). */
        aw_error_clear(err);
        return aw_store_rollback(c->store, c->spec->identity, 0, -1, err);
    }
    if (rc < 0)
        return rc;
    *found = 1;
    /* Drop whatever is newer than the state resumed from (a damaged newer
     * checkpoint, metrics of epochs that will be redone). */
    return aw_store_rollback(c->store, c->spec->identity, c->ps.epoch, c->ps.position, err);
}

int aw_run_keep_initial(run_ctx_t *c, aw_error_t *err)
{
    free(c->initial);
    c->initial = NULL;
    return ckpt_build(c, &c->initial, &c->initial_n, err);
}

int aw_run_restore_initial(run_ctx_t *c, int *found, aw_error_t *err)
{
    *found = 0;
    if (c->initial == NULL)
        return AW_OK;
    int rc = ckpt_restore(c, c->initial, c->initial_n, err);
    if (rc < 0)
        return aw_error_prefix(err, "the initial state kept in memory");
    *found = 1;
    return AW_OK;
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
    if (rc == AW_OK) { /* the store holds a state to roll back to from now on */
        free(c->initial);
        c->initial = NULL;
    }
    return rc;
}
