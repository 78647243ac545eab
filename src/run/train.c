/* train.c: the training loop of one run: data order, learning rate, epoch commits and the rollback
 * to the newest good checkpoint after a non-finite loss. */
#include "run/run_ctx.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/adam.h"

#define AW_MAX_TEMPS_LOGGED 4096

static void prog_reset_epoch(aw_run_progress_t *ps)
{
    ps->position = 0;
    ps->points = 0;
    ps->sum_loss = 0;
    ps->sum_bound = 0;
    ps->seconds = 0;
    for (int t = 0; t < ps->n_temps; t++)
        ps->sum_accept[t] = 0;
}

/* The data order of epoch e: a permutation from a generator of its own, so
 * that it is the same whether or not the run was interrupted. */
static void epoch_order(const aw_spec_t *spec, int64_t epoch, size_t *order, size_t n)
{
    aw_rng_t g;
    aw_rng_seed(&g, spec->seed, 0x4f52444552ULL ^ ((uint64_t)spec->repeat << 40) ^ (uint64_t)epoch);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(((unsigned __int128)aw_rng_next(&g) * i) >> 64);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

int64_t aw_run_steps_per_epoch(const run_ctx_t *c)
{
    int64_t b = c->spec->train.batch_size;
    return ((int64_t)c->train.n + b - 1) / b;
}

static float learning_rate(const aw_spec_t *spec, int64_t epoch)
{
    if (strcmp(spec->train.schedule, "constant") == 0)
        return spec->train.learning_rate;
    return aw_lr_burda(spec->train.learning_rate, epoch);
}

static int finish_epoch(run_ctx_t *c, double epoch_seconds, aw_error_t *err)
{
    aw_store_metrics_t m;
    memset(&m, 0, sizeof m);
    double pts = c->ps.points > 0 ? (double)c->ps.points : 1.0;
    m.epoch = c->ps.epoch + 1;
    m.loss = c->ps.sum_loss / pts;
    m.bound = c->ps.sum_bound / pts;
    m.lr = learning_rate(c->spec, c->ps.epoch);
    m.seconds = epoch_seconds;
    m.points_per_s = epoch_seconds > 0 ? pts / epoch_seconds : 0;
    m.n_temps = c->ps.n_temps;
    double accept[AW_MAX_TEMPS_LOGGED], step[AW_MAX_TEMPS_LOGGED];
    int nt = c->ps.n_temps < AW_MAX_TEMPS_LOGGED ? c->ps.n_temps : AW_MAX_TEMPS_LOGGED;
    if (c->last_step == NULL)
        nt = 0;
    for (int t = 0; t < nt; t++) {
        accept[t] = c->ps.sum_accept[t] / pts;
        step[t] = c->last_step[t];
    }
    m.n_temps = (size_t)nt;
    m.accept = accept;
    m.step = step;
    c->ps.epoch++;
    prog_reset_epoch(&c->ps);
    int rc = aw_run_commit_checkpoint(c, 1, &m, err);
    if (rc < 0)
        return rc;
    aw_progress_t p = {.kind = AW_PROGRESS_EPOCH, .epoch = c->ps.epoch, .loss = m.loss, .bound = m.bound,
                       .points_per_s = m.points_per_s, .eta_s = -1};
    aw_run_notify(c, &p);
    return AW_OK;
}

/* Rolls back to the newest good checkpoint after a non-finite loss and
 * perturbs the generator so the retry draws fresh numbers. */
static int rollback(run_ctx_t *c, const char *why, aw_error_t *err)
{
    int max = c->opts->max_nan_retries > 0 ? c->opts->max_nan_retries : 5;
    int64_t at_epoch = c->ps.epoch, at_step = c->ps.position;
    if (++c->nan_retries > max)
        return aw_error_set(err, AW_ENUMERIC,
                            "non-finite loss at epoch %lld step %lld (%s); gave up after %d rollbacks",
                            (long long)at_epoch + 1, (long long)at_step, why, max);
    int found = 0;
    int rc = aw_run_resume_latest(c, &found, err);
    if (rc == AW_OK && !found)
        rc = aw_run_restore_initial(c, &found, err);
    if (rc < 0)
        return rc;
    if (!found)
        return aw_error_set(err, AW_ENUMERIC, "non-finite loss at epoch %lld step %lld (%s) and no checkpoint to roll back to",
                            (long long)at_epoch + 1, (long long)at_step, why);
    aw_rng_derive(&c->rng, 0x4e614eULL + (uint64_t)c->nan_retries, &c->rng);
    char msg[512];
    snprintf(msg, sizeof msg, "non-finite loss at epoch %lld step %lld (%.*s): rolled back to epoch %lld step %lld, retry %d of %d",
             (long long)at_epoch + 1, (long long)at_step, (int)(sizeof msg / 2), why, (long long)c->ps.epoch, (long long)c->ps.position,
             c->nan_retries, max);
    aw_run_note(c, "%s", msg);
    return aw_store_log_event(c->store, c->spec->identity, "nan_rollback", msg, err);
}

int aw_run_train(run_ctx_t *c, aw_error_t *err)
{
    const aw_spec_t *spec = c->spec;
    int64_t steps = aw_run_steps_per_epoch(c);
    int64_t B = spec->train.batch_size;
    int64_t order_epoch = -1;
    double last_notify = 0;
    int64_t steps_this_process = 0;
    while (c->ps.epoch < spec->train.epochs) {
        /* Evaluations due every N epochs run before the next epoch starts,
         * here rather than after the commit, so that a run killed between
         * the two still does them when it resumes (finished ones are skipped). */
        if (c->ps.position == 0 && c->ps.epoch > 0) {
            int due = 0;
            for (int j = 0; j < spec->n_eval; j++)
                due |= spec->eval[j].every > 0 && c->ps.epoch % spec->eval[j].every == 0;
            int rc;
            if (due && (rc = aw_run_evals(c, 0, err)) < 0)
                return rc;
        }
        if (order_epoch != c->ps.epoch) {
            epoch_order(spec, c->ps.epoch, c->order, c->train.n);
            order_epoch = c->ps.epoch;
        }
        double t_start = aw_run_now_s() - c->ps.seconds;
        int rolled_back = 0;
        while (c->ps.position < steps) {
            int stop = c->opts->stop != NULL && *c->opts->stop;
            if (c->opts->stop_after_steps > 0 && steps_this_process >= c->opts->stop_after_steps)
                stop = 1;
            if (stop) {
                c->ps.seconds = aw_run_now_s() - t_start;
                int rc = aw_run_commit_checkpoint(c, 0, NULL, err);
                if (rc < 0)
                    return rc;
                return aw_error_set(err, AW_EINTR, "interrupted at epoch %lld step %lld",
                                    (long long)c->ps.epoch + 1, (long long)c->ps.position);
            }
            int64_t first = c->ps.position * B;
            int b = (int)((int64_t)c->train.n - first < B ? (int64_t)c->train.n - first : B);
            int rc = aw_data_batch(&c->train, c->order + first, b, &c->bin, &c->rng, c->xbatch);
            if (rc < 0)
                return aw_error_set(err, rc, "%s: cannot assemble a training batch", c->train.source);
            aw_step_stats_t st;
            memset(&st, 0, sizeof st);
            aw_error_t serr = {0};
            rc = c->ops->step(c->method, &c->model, c->xbatch, b, learning_rate(spec, c->ps.epoch), &c->rng, &st,
                              &serr);
            if (rc == 0 && (!isfinite(st.loss) || !isfinite(st.bound))) {
                rc = AW_ENUMERIC;
                aw_error_set(&serr, AW_ENUMERIC, "loss %g, bound %g", st.loss, st.bound);
            }
            if (rc == AW_ENUMERIC) {
                if ((rc = rollback(c, serr.msg, err)) < 0)
                    return rc;
                rolled_back = 1;
                break;
            }
            if (rc < 0) {
                *err = serr;
                return rc;
            }
            steps_this_process++;
            c->ps.position++;
            c->ps.points += b;
            c->ps.sum_loss += st.loss * b;
            c->ps.sum_bound += st.bound * b;
            for (int t = 0; t < st.n_temps && t < c->ps.n_temps; t++)
                c->ps.sum_accept[t] += st.accept[t] * b;
            if (st.n_temps > 0)
                c->last_step = st.step;
            double t = aw_run_now_s();
            if (c->opts->progress != NULL && (t - last_notify > 0.1 || c->ps.position == steps)) {
                last_notify = t;
                double el = t - t_start, pps = el > 0 ? (double)c->ps.points / el : 0;
                double total_pts = (double)c->train.n * (double)(spec->train.epochs - c->ps.epoch) - (double)c->ps.points;
                aw_progress_t p = {.kind = AW_PROGRESS_STEP, .epoch = c->ps.epoch, .step = c->ps.position,
                                   .steps = steps, .loss = c->ps.sum_loss / (double)c->ps.points,
                                   .bound = c->ps.sum_bound / (double)c->ps.points, .points_per_s = pps,
                                   .eta_s = pps > 0 ? total_pts / pps : -1};
                aw_run_notify(c, &p);
            }
        }
        if (rolled_back)
            continue;
        int rc = finish_epoch(c, aw_run_now_s() - t_start, err);
        if (rc < 0)
            return rc;
    }
    return AW_OK;
}
