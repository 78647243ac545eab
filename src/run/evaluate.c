/* evaluate.c: the evaluations of one run, resumable per chunk of points: each chunk has its own
 * generator and is committed on its own, so an interrupted evaluation redoes at most one chunk and
 * its values do not depend on where it was interrupted. */
#include "run/run_ctx.h"
#include "util/sha256.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t a, uint64_t b)
{
    uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Buffers of one evaluation: which points are done and their values, and one chunk's points. */
typedef struct eval_bufs {
    uint8_t *done;  /* [n_points] */
    double *all;    /* [n_points] */
    float *x;       /* [chunk, D] */
    double *vals;   /* [chunk] */
    size_t *idx;    /* [chunk] */
} eval_bufs_t;

static void bufs_fini(eval_bufs_t *b)
{
    free(b->done);
    free(b->all);
    free(b->x);
    free(b->vals);
    free(b->idx);
}

/* A number for an evaluation's storage key (estimator, settings, split): its generators depend on what it
 * computes, not on where it stands in the spec's evaluate list. */
static uint64_t key_stream(const aw_store_eval_key_t *key)
{
    aw_sha256_t h;
    uint8_t d[AW_SHA256_BYTES];
    aw_sha256_init(&h);
    aw_sha256_update(&h, key->estimator, strlen(key->estimator) + 1);
    aw_sha256_update(&h, key->settings, strlen(key->settings) + 1);
    aw_sha256_update(&h, key->split, strlen(key->split) + 1);
    aw_sha256_final(&h, d);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | d[i];
    return v;
}

/* x [m,D] = points idx[m] of ds, binarized with a generator that is a function of the point's index alone:
 * every run, estimator and setting sees the same binarized test point, so evaluations of two runs can be
 * compared point by point. */
static int binarize_points(const aw_dataset_t *ds, const size_t *idx, int m, const aw_binarize_t *bin, float *x)
{
    for (int j = 0; j < m; j++) {
        aw_rng_t g;
        aw_rng_seed(&g, 0x42494e4152495a45ULL, (uint64_t)idx[j]);
        int rc = aw_data_batch(ds, &idx[j], 1, bin, &g, x + (size_t)j * ds->dim);
        if (rc < 0)
            return rc;
    }
    return AW_OK;
}

/* Evaluates every chunk not yet stored, storing each as it is done. */
void aw_run_shard_range(long n_points, int batch, int shards, int k, long *lo, long *hi)
{
    int64_t calls = (n_points + batch - 1) / batch;
    int64_t c0 = calls * k / shards, c1 = calls * (k + 1) / shards;
    *lo = (long)(c0 * batch < n_points ? c0 * batch : n_points);
    *hi = (long)(c1 * batch < n_points ? c1 * batch : n_points);
}

/* Evaluates every chunk of points [lo, hi) not yet stored, storing each as it is done. */
static int eval_chunks(run_ctx_t *c, const aw_eval_spec_t *e, const aw_dataset_t *ds,
                       const aw_run_eval_setup_t *es, const aw_store_eval_key_t *key, int chunk, long lo, long hi,
                       eval_bufs_t *b, aw_error_t *err)
{
    const long n_points = hi;
    int rc;
    double t0 = aw_run_now_s();
    int64_t n_done = 0;
    for (long i = 0; i < n_points; i++)
        n_done += b->done[i] != 0;
    const uint64_t kstream = key_stream(key);
    for (long first = lo; first < n_points; first += chunk) {
        int m = (int)(n_points - first < chunk ? n_points - first : chunk);
        int todo = 0;
        for (int j = 0; j < m; j++)
            todo |= !b->done[first + j];
        if (!todo)
            continue;
        if (c->opts->stop != NULL && *c->opts->stop)
            return aw_error_set(err, AW_EINTR, "interrupted during evaluation %s", e->estimator);
        /* Each chunk has its own generator: the values do not depend on
         * which chunks ran before an interruption. */
        aw_rng_t g;
        uint64_t stream = mix64(mix64(mix64((uint64_t)c->spec->repeat, (uint64_t)c->ps.epoch), kstream),
                                (uint64_t)first);
        aw_rng_seed(&g, c->spec->seed ^ 0x4556414cULL, stream);
        for (int j = 0; j < m; j++)
            b->idx[j] = (size_t)(first + j);
        if ((rc = binarize_points(ds, b->idx, m, &c->bin, b->x)) < 0)
            return aw_error_set(err, rc, "%s: cannot binarize evaluation points", ds->source);
        aw_eval_ctx_t ctx = es->ctx;
        aw_eval_link_t link;
        aw_run_eval_link(&link, c, key, es->est->work_unit, first, m, n_done, n_points, &ctx);
        if ((rc = es->est->eval(es->cfg, &ctx, &c->model, b->x, m, &g, b->vals, err)) < 0)
            return rc;
        double t1 = aw_run_now_s();
        if ((rc = aw_store_eval_put_points(c->store, key, first, b->vals, (size_t)m, t1 - t0, err)) < 0)
            return rc;
        t0 = t1;
        for (int j = 0; j < m; j++) {
            b->done[first + j] = 1;
            b->all[first + j] = b->vals[j];
        }
        n_done = 0;
        for (long i = lo; i < hi; i++)
            n_done += b->done[i] != 0;
        aw_progress_t p = {.kind = AW_PROGRESS_EVAL, .epoch = c->ps.epoch, .estimator = e->estimator,
                           .done = n_done, .total = hi - lo, .eta_s = -1};
        aw_run_notify(c, &p);
    }
    return AW_OK;
}

void aw_run_eval_summary(const double *values, long n, double *mean, double *se)
{
    double m = 0, var = 0;
    for (long i = 0; i < n; i++)
        m += values[i];
    m /= (double)n;
    for (long i = 0; i < n; i++)
        var += (values[i] - m) * (values[i] - m);
    *mean = m;
    *se = n > 1 ? sqrt(var / (double)(n - 1) / (double)n) : 0.0;
}

/* Mean and standard error over the points, summed in index order, stored as the evaluation's result. */
static int eval_finish(run_ctx_t *c, const aw_eval_spec_t *e, const aw_run_eval_setup_t *es,
                       const aw_store_eval_key_t *key, const double *all, long n_points, aw_error_t *err)
{
    double mean, se;
    aw_run_eval_summary(all, n_points, &mean, &se);
    aw_store_eval_t fin;
    int rc = aw_store_eval_begin(c->store, key, n_points, &fin, err);
    if (rc < 0)
        return rc;
    double seconds = fin.seconds;
    aw_store_eval_fini(&fin);
    if ((rc = aw_store_eval_finish(c->store, key, mean, se, n_points, seconds, err)) < 0)
        return rc;
    aw_progress_t p = {.kind = AW_PROGRESS_EVAL_DONE, .epoch = c->ps.epoch, .estimator = e->estimator,
                       .done = n_points, .total = n_points, .value = mean, .stderr_ = se, .eta_s = -1,
                       .unit = es->est->unit};
    aw_run_notify(c, &p);
    return AW_OK;
}

/* An estimator whose values are not per point: one call on all n_points, its values stored as the
 * evaluation's "points" 0..n_values-1 and its summary as the result. */
static int eval_whole(run_ctx_t *c, const aw_eval_spec_t *e, const aw_dataset_t *ds,
                      const aw_run_eval_setup_t *es, const aw_store_eval_key_t *key, int nv, aw_error_t *err)
{
    const long n_points = es->n_points;
    float *x = malloc(sizeof(float) * (size_t)n_points * ds->dim);
    double *vals = malloc(sizeof(double) * (size_t)nv);
    size_t *idx = malloc(sizeof(size_t) * (size_t)n_points);
    int rc = AW_OK;
    if (x == NULL || vals == NULL || idx == NULL)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory for evaluation %s of %ld points", e->estimator, n_points);
    for (long i = 0; i < n_points && rc == AW_OK; i++)
        idx[i] = (size_t)i;
    if (rc == AW_OK && (rc = binarize_points(ds, idx, (int)n_points, &c->bin, x)) < 0)
        rc = aw_error_set(err, rc, "%s: cannot binarize evaluation points", ds->source);
    double t0 = aw_run_now_s(), value = NAN, se = NAN;
    aw_rng_t g;
    aw_rng_seed(&g, c->spec->seed ^ 0x4556414cULL, mix64(mix64((uint64_t)c->spec->repeat, (uint64_t)c->ps.epoch),
                                                          key_stream(key)));
    if (rc == AW_OK)
        rc = es->est->eval(es->cfg, &es->ctx, &c->model, x, (int)n_points, &g, vals, err);
    if (rc == AW_OK)
        rc = aw_store_eval_put_points(c->store, key, 0, vals, (size_t)nv, aw_run_now_s() - t0, err);
    if (rc == AW_OK) {
        es->est->summarize(es->cfg, vals, nv, &value, &se);
        rc = aw_store_eval_finish(c->store, key, value, se, n_points, aw_run_now_s() - t0, err);
    }
    if (rc == AW_OK) {
        aw_progress_t p = {.kind = AW_PROGRESS_EVAL_DONE, .epoch = c->ps.epoch, .estimator = e->estimator,
                           .done = n_points, .total = n_points, .value = value, .stderr_ = se, .eta_s = -1,
                           .unit = es->est->unit, .whole = 1};
        aw_run_notify(c, &p);
    }
    free(x);
    free(vals);
    free(idx);
    return rc;
}

static int run_eval(run_ctx_t *c, const aw_eval_spec_t *e, const aw_dataset_t *ds,
                    aw_error_t *err)
{
    aw_run_eval_setup_t es;
    int rc = aw_run_eval_setup(c, e, ds, &es, err);
    if (rc < 0)
        return rc;
    const long n_points = es.n_points;
    aw_store_eval_key_t key = {.identity = c->spec->identity, .estimator = e->estimator, .settings = es.settings,
                               .split = e->split, .epoch = c->ps.epoch};
    const int nv = es.est->n_values != NULL ? es.est->n_values(&c->model) : 0;
    aw_store_eval_t st;
    if ((rc = aw_store_eval_begin(c->store, &key, nv > 0 ? nv : n_points, &st, err)) < 0)
        return rc;
    int finished = st.finished;
    aw_store_eval_fini(&st);
    if (finished)
        return AW_OK;
    c->evals_run++;
    if (nv > 0)
        return eval_whole(c, e, ds, &es, &key, nv, err);
    int chunk = es.ctx.batch;
    size_t D = ds->dim;
    eval_bufs_t b = {.done = calloc((size_t)n_points, 1), .all = malloc(sizeof(double) * (size_t)n_points),
                     .x = malloc(sizeof(float) * (size_t)chunk * D), .vals = malloc(sizeof(double) * (size_t)chunk),
                     .idx = malloc(sizeof(size_t) * (size_t)chunk)};
    if (b.done == NULL || b.all == NULL || b.x == NULL || b.vals == NULL || b.idx == NULL)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory for evaluation");
    /* A shard task evaluates its own whole calls of points and leaves the result to the merge. */
    const int shard = c->opts->task == AW_RUN_TASK_SHARD;
    long lo = 0, hi = n_points;
    if (shard)
        aw_run_shard_range(n_points, chunk, e->shards, c->opts->shard, &lo, &hi);
    if (rc == AW_OK && (rc = aw_store_eval_points(c->store, &key, n_points, b.all, b.done, err)) == AW_OK &&
        (rc = eval_chunks(c, e, ds, &es, &key, chunk, lo, hi, &b, err)) == AW_OK && !shard)
        rc = eval_finish(c, e, &es, &key, b.all, n_points, err);
    bufs_fini(&b);
    return rc;
}

/* Runs the evaluations due after epoch c->ps.epoch (every N, or the last). */
int aw_run_evals(run_ctx_t *c, int final, aw_error_t *err)
{
    const aw_spec_t *spec = c->spec;
    aw_dataset_t splits[2];
    int loaded[2] = {0, 0};
    int rc = AW_OK;
    for (int j = 0; j < spec->n_eval && rc == AW_OK; j++) {
        const aw_eval_spec_t *e = &spec->eval[j];
        int due = final || (e->every > 0 && c->ps.epoch % e->every == 0);
        /* Cluster tasks: the final evaluation of a sharded entry is its shard tasks' (and only theirs). */
        const int last = c->ps.epoch == spec->train.epochs, sharded = last && e->shards > 1;
        if (c->opts->task == AW_RUN_TASK_TRAIN && sharded)
            due = 0;
        if (c->opts->task == AW_RUN_TASK_SHARD)
            due = last && j == c->opts->shard_eval;
        if (!due)
            continue;
        int which = strcmp(e->split, "train") == 0 ? 0 : 1;
        if (which == 0) {
            rc = run_eval(c, e, &c->train, err);
            continue;
        }
        if (!loaded[which]) {
            aw_data_opts_t o;
            aw_run_data_opts(spec, &o);
            o.bin = &c->bin;
            if ((rc = aw_data_load(&o, "test", &splits[which], err)) < 0)
                break;
            loaded[which] = 1;
        }
        rc = run_eval(c, e, &splits[which], err);
    }
    if (loaded[1])
        aw_dataset_fini(&splits[1]);
    return rc;
}
