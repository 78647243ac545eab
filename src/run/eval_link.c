/* eval_link.c: what one evaluation call tells the runner while it works (run_ctx.h): progress inside the call
 * with an ETA for the evaluation, saves of the call's partial state every few minutes of work (and when it is
 * interrupted), and the testing aid that stops it after a number of work units. */
#include "run/run_ctx.h"

#include <stdlib.h>

#include "util/sbuf.h"

/* How often a call's progress is passed on. */
#define NOTIFY_S 0.1

static int link_tick(void *ctx, int64_t done, int64_t total)
{
    aw_eval_link_t *l = ctx;
    run_ctx_t *c = l->c;
    const double now = aw_run_now_s();
    if (l->units_seen == 0) { /* the rate is measured from the first report on */
        l->t_first = now;
        l->done_first = done;
    }
    l->units_seen++;
    c->eval_units++;
    int ask = 0;
    const double every = c->opts->eval_save_s > 0 ? c->opts->eval_save_s : AW_RUN_EVAL_SAVE_S;
    if (now - l->last_save >= every) {
        ask |= AW_EVAL_SAVE;
        l->last_save = now;
    }
    if (c->opts->stop_after_eval_units > 0 && c->eval_units >= c->opts->stop_after_eval_units)
        ask |= AW_EVAL_STOP;
    if (now - l->last_notify >= NOTIFY_S || (ask & AW_EVAL_STOP)) {
        l->last_notify = now;
        double eta = -1;
        if (done > l->done_first && total > 0) {
            /* seconds per unit, over this call's units and those of the calls after it */
            double spu = (now - l->t_first) / (double)(done - l->done_first);
            double later = (double)(l->n_points - l->n_done - l->m) * (double)total / (double)l->m;
            eta = spu * ((double)(total - done) + (later > 0 ? later : 0));
        }
        aw_progress_t p = {.kind = AW_PROGRESS_EVAL_STEP, .epoch = c->ps.epoch, .estimator = l->key->estimator,
                           .done = l->n_done, .total = l->n_points, .part = done, .parts = total,
                           .first = l->first, .chunk = l->m, .unit = l->unit, .eta_s = eta};
        aw_run_notify(c, &p);
    }
    return ask;
}

static int link_save(void *ctx, const uint8_t *blob, size_t n, int64_t done, int64_t total, aw_error_t *err)
{
    aw_eval_link_t *l = ctx;
    double seconds = l->seconds_before + (aw_run_now_s() - l->t_start);
    return aw_store_eval_put_partial(l->c->store, l->key, l->first, l->m, done, total, seconds, blob, n, err);
}

static int link_load(void *ctx, uint8_t **blob, size_t *n, aw_error_t *err)
{
    aw_eval_link_t *l = ctx;
    int rc = aw_store_eval_get_partial(l->c->store, l->key, l->first, blob, n, &l->seconds_before, err);
    if (rc == 0 && *blob != NULL)
        aw_run_note(l->c, "%s: resuming points %lld..%lld from their saved partial state", l->key->estimator,
                    (long long)l->first, (long long)(l->first + l->m - 1));
    return rc;
}

static int link_note(void *ctx, int first, int n, const char *line, aw_error_t *err)
{
    aw_eval_link_t *l = ctx;
    aw_sbuf_t b = {0};
    aw_sbuf_printf(&b, "%s %s %s epoch %lld: points %lld..%lld: %s", l->key->estimator, l->key->settings,
                   l->key->split, (long long)l->key->epoch, (long long)(l->first + first),
                   (long long)(l->first + first + n - 1), line);
    char *msg = aw_sbuf_finish(&b);
    if (msg == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory for an evaluation note");
    int rc = aw_store_log_event(l->c->store, l->key->identity, "eval_note", msg, err);
    free(msg);
    return rc;
}

void aw_run_eval_link(aw_eval_link_t *l, run_ctx_t *c, const aw_store_eval_key_t *key, const char *unit,
                      int64_t first, int64_t m, int64_t n_done, int64_t n_points, aw_eval_ctx_t *ctx)
{
    const double now = aw_run_now_s();
    *l = (aw_eval_link_t){.c = c, .key = key, .unit = unit, .first = first, .m = m, .n_done = n_done, .n_points = n_points,
                          .t_start = now, .last_save = now, .last_notify = now - NOTIFY_S};
    ctx->hooks = (aw_eval_hooks_t){.ctx = l, .tick = link_tick, .save = link_save, .load = link_load,
                                   .note = link_note};
}
