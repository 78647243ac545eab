/* run.c: the training loop, checkpoint/resume, NaN rollback and evaluations
 * of one run (see run.h). Everything that must survive a kill lives in the
 * checkpoint (parameters, method state, generator, position, partial sums). */
#include "run/run.h"

#include "config.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/adam.h"
#include "util/bytes.h"
#include "store/ckpt.h"
#include "data/data.h"
#include "core/model.h"
#include "methods/plugin.h"

/* OpenBLAS's thread control (cblas.h of some versions does not declare it). */
void openblas_set_num_threads(int num_threads);

#define AW_CKPT_VERSION_PROG 1
#define AW_MAX_TEMPS_LOGGED 4096

#if defined(__SSE__)
#include <xmmintrin.h>
/* Flush-to-zero and denormals-are-zero: training drives some activations and
 * gradients into the subnormal range, where each operation costs ~100 cycles
 * (IWAE training slowed from 14,000 to 6,000 points/s by epoch 6 without it).
 * Values below 1.2e-38 become 0, which changes no result that matters. */
static void flush_denormals(void)
{
    _mm_setcsr(_mm_getcsr() | 0x8040);
}
#else
static void flush_denormals(void)
{
}
#endif

void aw_run_set_threads(int threads)
{
    if (threads < 1)
        threads = 1;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    /* The control register is per thread: set it here (threads created later
     * inherit it) and in every thread of the pool. */
    flush_denormals();
#pragma omp parallel num_threads(threads)
    flush_denormals();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Where training stands, including the partial sums of the current epoch so
 * that a run resumed mid-epoch logs the same metrics as an uninterrupted one. */
typedef struct progress_state {
    int64_t epoch;       /* epochs completed */
    int64_t position;    /* minibatches done in the current epoch */
    int64_t points;      /* data points seen in the current epoch */
    double sum_loss;     /* sum over steps of loss * batch size */
    double sum_bound;    /* sum over steps of bound * batch size */
    double seconds;      /* wall time spent in the current epoch before the checkpoint */
    int n_temps;         /* entries used in sum_accept */
    double *sum_accept;  /* [n_temps] sum over steps of acceptance rate * batch size */
} progress_state_t;

static size_t prog_bytes(const progress_state_t *ps)
{
    return 8 * (8 + (size_t)ps->n_temps);
}

/* Layout: version, epoch, position, points (u64), sum_loss, sum_bound, seconds (f64), n_temps (u64),
 * sum_accept (f64 [n_temps]); all little-endian. */
static void prog_save(const progress_state_t *ps, uint8_t *buf)
{
    aw_le_put_u64(buf, AW_CKPT_VERSION_PROG);
    aw_le_put_u64(buf + 8, (uint64_t)ps->epoch);
    aw_le_put_u64(buf + 16, (uint64_t)ps->position);
    aw_le_put_u64(buf + 24, (uint64_t)ps->points);
    aw_le_put_f64(buf + 32, ps->sum_loss);
    aw_le_put_f64(buf + 40, ps->sum_bound);
    aw_le_put_f64(buf + 48, ps->seconds);
    aw_le_put_u64(buf + 56, (uint64_t)ps->n_temps);
    aw_le_put_f64s(buf + 64, ps->sum_accept, (size_t)ps->n_temps);
}

static int prog_load(progress_state_t *ps, const uint8_t *buf, size_t n, aw_error_t *err)
{
    if (n < 64)
        return aw_error_set(err, AW_EFORMAT, "progress section of %zu bytes, expected at least 64", n);
    uint64_t version = aw_le_get_u64(buf);
    if (version != AW_CKPT_VERSION_PROG)
        return aw_error_set(err, AW_EFORMAT, "progress section version %llu, expected %d",
                            (unsigned long long)version, AW_CKPT_VERSION_PROG);
    uint64_t nt = aw_le_get_u64(buf + 56);
    if (nt != (uint64_t)ps->n_temps || n != 64 + 8 * nt)
        return aw_error_set(err, AW_EFORMAT, "progress section holds %llu temperatures in %zu bytes, expected %d",
                            (unsigned long long)nt, n, ps->n_temps);
    ps->epoch = (int64_t)aw_le_get_u64(buf + 8);
    ps->position = (int64_t)aw_le_get_u64(buf + 16);
    ps->points = (int64_t)aw_le_get_u64(buf + 24);
    ps->sum_loss = aw_le_get_f64(buf + 32);
    ps->sum_bound = aw_le_get_f64(buf + 40);
    ps->seconds = aw_le_get_f64(buf + 48);
    aw_le_get_f64s(buf + 64, ps->sum_accept, (size_t)ps->n_temps);
    return AW_OK;
}

static void prog_reset_epoch(progress_state_t *ps)
{
    ps->position = 0;
    ps->points = 0;
    ps->sum_loss = 0;
    ps->sum_bound = 0;
    ps->seconds = 0;
    for (int t = 0; t < ps->n_temps; t++)
        ps->sum_accept[t] = 0;
}

/* Everything one run holds while it trains. */
typedef struct run_ctx {
    const aw_spec_t *spec;          /* the resolved run (borrowed) */
    aw_store_t *store;              /* results database (borrowed) */
    const aw_run_opts_t *opts;      /* options (borrowed) */
    const aw_method_ops_t *ops;     /* training method */
    aw_model_t model;               /* parameters */
    void *method;                   /* method state */
    aw_rng_t rng;                   /* the run's generator */
    aw_dataset_t train;             /* training split */
    aw_binarize_t bin;              /* binarization of every batch */
    progress_state_t ps;            /* position and partial sums */
    size_t *order;                  /* [train.n] data order of the current epoch */
    float *xbatch;                  /* [batch_size, D] binarized batch */
    int nan_retries;                /* rollbacks so far in this process */
    const float *last_step;         /* step sizes reported by the last step (borrowed from the method) */
} run_ctx_t;

static void notify(const run_ctx_t *c, aw_progress_t *p)
{
    if (c->opts->progress == NULL)
        return;
    p->run = c->spec->name;
    p->epochs = c->spec->train.epochs;
    c->opts->progress(c->opts->progress_ctx, p);
}

static void note(const run_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(const run_ctx_t *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aw_progress_t p = {.kind = AW_PROGRESS_NOTE, .message = msg, .epoch = c->ps.epoch, .eta_s = -1};
    notify(c, &p);
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

static int64_t steps_per_epoch(const run_ctx_t *c)
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

/* ---- checkpoints ---- */

static int ckpt_build(const run_ctx_t *c, uint8_t **blob, size_t *n, aw_error_t *err)
{
    aw_ckpt_t ck;
    aw_ckpt_init(&ck);
    int rc;
    int32_t shape[4 + AW_MAX_HIDDEN] = {c->model.shape.D, c->model.shape.H, c->model.shape.n_hidden, 0};
    for (int i = 0; i < c->model.shape.n_hidden; i++)
        shape[4 + i] = c->model.shape.hidden[i];
    uint8_t rngbuf[AW_RNG_STATE_BYTES];
    aw_rng_save(&c->rng, rngbuf);
    size_t mbytes = c->ops->state_bytes(c->method);
    size_t pbytes = prog_bytes(&c->ps);
    uint8_t *mbuf = malloc(mbytes ? mbytes : 1), *pbuf = malloc(pbytes);
    if (mbuf == NULL || pbuf == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory building a checkpoint");
        goto out;
    }
    c->ops->save(c->method, mbuf);
    prog_save(&c->ps, pbuf);
    if ((rc = aw_ckpt_put(&ck, "SHAP", shape, sizeof shape, err)) < 0 ||
        (rc = aw_ckpt_put(&ck, "PARM", c->model.params, c->model.n_params * sizeof(float), err)) < 0 ||
        (rc = aw_ckpt_put(&ck, "METH", mbuf, mbytes, err)) < 0 ||
        (rc = aw_ckpt_put(&ck, "RNGS", rngbuf, sizeof rngbuf, err)) < 0 ||
        (rc = aw_ckpt_put(&ck, "PROG", pbuf, pbytes, err)) < 0)
        goto out;
    rc = aw_ckpt_encode(&ck, blob, n, err);
out:
    free(mbuf);
    free(pbuf);
    aw_ckpt_fini(&ck);
    return rc;
}

/* Restores the run from one checkpoint blob; leaves the context untouched on error. */
static int ckpt_restore(run_ctx_t *c, const uint8_t *blob, size_t n, aw_error_t *err)
{
    aw_ckpt_t ck;
    int rc = aw_ckpt_decode(blob, n, &ck, err);
    if (rc < 0)
        return rc;
    size_t len;
    int32_t shape[4 + AW_MAX_HIDDEN] = {c->model.shape.D, c->model.shape.H, c->model.shape.n_hidden, 0};
    for (int i = 0; i < c->model.shape.n_hidden; i++)
        shape[4 + i] = c->model.shape.hidden[i];
    const void *s = aw_ckpt_get(&ck, "SHAP", &len);
    if (s == NULL || len != sizeof shape || memcmp(s, shape, sizeof shape) != 0) {
        rc = aw_error_set(err, AW_EFORMAT, "checkpoint is for another model shape");
        goto out;
    }
    const void *parm = aw_ckpt_get(&ck, "PARM", &len);
    if (parm == NULL || len != c->model.n_params * sizeof(float)) {
        rc = aw_error_set(err, AW_EFORMAT, "checkpoint parameters: %zu bytes, expected %zu", parm ? len : 0,
                          c->model.n_params * sizeof(float));
        goto out;
    }
    const void *rngb = aw_ckpt_get(&ck, "RNGS", &len);
    aw_rng_t rng;
    if (rngb == NULL || len != AW_RNG_STATE_BYTES || aw_rng_load(&rng, rngb) != 0) {
        rc = aw_error_set(err, AW_EFORMAT, "checkpoint generator state is missing or invalid");
        goto out;
    }
    progress_state_t ps = c->ps;
    double *acc = malloc(sizeof(double) * (size_t)(ps.n_temps ? ps.n_temps : 1));
    if (acc == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory restoring a checkpoint");
        goto out;
    }
    ps.sum_accept = acc;
    const void *prog = aw_ckpt_get(&ck, "PROG", &len);
    if (prog == NULL) {
        free(acc);
        rc = aw_error_set(err, AW_EFORMAT, "checkpoint has no progress section");
        goto out;
    }
    if ((rc = prog_load(&ps, prog, len, err)) < 0) {
        free(acc);
        goto out;
    }
    const void *meth = aw_ckpt_get(&ck, "METH", &len);
    if (meth == NULL) {
        free(acc);
        rc = aw_error_set(err, AW_EFORMAT, "checkpoint has no method state");
        goto out;
    }
    if ((rc = c->ops->load(c->method, meth, len, err)) < 0) {
        free(acc);
        goto out;
    }
    memcpy(c->model.params, parm, c->model.n_params * sizeof(float));
    c->rng = rng;
    memcpy(c->ps.sum_accept, acc, sizeof(double) * (size_t)ps.n_temps);
    free(acc);
    ps.sum_accept = c->ps.sum_accept;
    c->ps = ps;
    rc = AW_OK;
out:
    aw_ckpt_fini(&ck);
    return rc;
}

/* Loads the newest checkpoint that decodes; *found = 0 when there is none. */
static int resume_latest(run_ctx_t *c, int *found, aw_error_t *err)
{
    aw_store_ckpt_ref_t *refs = NULL;
    size_t nrefs = 0;
    *found = 0;
    int rc = aw_store_checkpoints_list(c->store, c->spec->identity, &refs, &nrefs, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nrefs && !*found; i++) {
        uint8_t *blob = NULL;
        size_t n = 0;
        if ((rc = aw_store_load_checkpoint(c->store, c->spec->identity, refs[i].epoch, refs[i].position, &blob, &n,
                                           err)) < 0)
            break;
        aw_error_t cerr = {0};
        if (ckpt_restore(c, blob, n, &cerr) == 0) {
            *found = 1;
        } else {
            char msg[1200];
            snprintf(msg, sizeof msg, "checkpoint at epoch %lld step %lld is unusable (%s); trying the previous one",
                     (long long)refs[i].epoch, (long long)refs[i].position, cerr.msg);
            note(c, "%s", msg);
            aw_error_t e2 = {0};
            (void)aw_store_log_event(c->store, c->spec->identity, "checkpoint_bad", msg, &e2);
        }
        free(blob);
        rc = AW_OK;
    }
    free(refs);
    /* Drop whatever is newer than the state resumed from (a damaged newer
     * checkpoint, metrics of epochs that will be redone). */
    if (rc == AW_OK && *found)
        rc = aw_store_rollback(c->store, c->spec->identity, c->ps.epoch, c->ps.position, err);
    return rc;
}

static int commit_checkpoint(run_ctx_t *c, int end_of_epoch, const aw_store_metrics_t *m, aw_error_t *err)
{
    uint8_t *blob = NULL;
    size_t n = 0;
    int rc = ckpt_build(c, &blob, &n, err);
    if (rc < 0)
        return rc;
    if (end_of_epoch) {
        int keep = (c->ps.epoch % c->spec->train.checkpoint_every) == 0 || c->ps.epoch == c->spec->train.epochs;
        rc = aw_store_commit_epoch(c->store, c->spec->identity, m, blob, n, keep, err);
    } else {
        rc = aw_store_save_checkpoint(c->store, c->spec->identity, c->ps.epoch, c->ps.position, blob, n, err);
    }
    free(blob);
    return rc;
}

/* ---- evaluation ---- */

static uint64_t mix64(uint64_t a, uint64_t b)
{
    uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int run_eval(run_ctx_t *c, const aw_eval_spec_t *e, int eval_index, const aw_dataset_t *ds,
                    aw_error_t *err)
{
    const aw_estimator_ops_t *est = e->ops;
    /* A signal stops a long chunk; its points are simply redone. */
    const aw_eval_ctx_t ectx = {.batch = e->batch, .stop = c->opts->stop};
    long n_points = e->size > 0 && (size_t)e->size < ds->n ? e->size : (long)ds->n;
    char *settings = aw_spec_eval_settings(e, n_points);
    if (settings == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory for evaluation %s", e->estimator);
    int rc;
    aw_store_eval_key_t key = {.identity = c->spec->identity, .estimator = e->estimator, .settings = settings,
                               .split = e->split, .epoch = c->ps.epoch};
    aw_store_eval_t st;
    if ((rc = aw_store_eval_begin(c->store, &key, n_points, &st, err)) < 0) {
        free(settings);
        return rc;
    }
    int finished = st.finished;
    aw_store_eval_fini(&st);
    if (finished) {
        free(settings);
        return AW_OK;
    }
    int chunk = e->batch;
    size_t D = ds->dim;
    uint8_t *done = calloc((size_t)n_points, 1);
    double *all = malloc(sizeof(double) * (size_t)n_points);
    float *x = malloc(sizeof(float) * (size_t)chunk * D);
    double *vals = malloc(sizeof(double) * (size_t)chunk);
    size_t *idx = malloc(sizeof(size_t) * (size_t)chunk);
    if (done == NULL || all == NULL || x == NULL || vals == NULL || idx == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory for evaluation");
        goto out;
    }
    if ((rc = aw_store_eval_points(c->store, &key, n_points, all, done, err)) < 0)
        goto out;
    double t0 = now_s();
    int64_t n_done = 0;
    for (long i = 0; i < n_points; i++)
        n_done += done[i] != 0;
    for (long first = 0; first < n_points; first += chunk) {
        int m = (int)(n_points - first < chunk ? n_points - first : chunk);
        int todo = 0;
        for (int j = 0; j < m; j++)
            todo |= !done[first + j];
        if (!todo)
            continue;
        if (c->opts->stop != NULL && *c->opts->stop) {
            rc = aw_error_set(err, AW_EINTR, "interrupted during evaluation %s", e->estimator);
            goto out;
        }
        /* Each chunk has its own generator: the values do not depend on
         * which chunks ran before an interruption. */
        aw_rng_t g;
        uint64_t stream = mix64(mix64(mix64((uint64_t)c->spec->repeat, (uint64_t)c->ps.epoch),
                                      (uint64_t)eval_index), (uint64_t)first);
        aw_rng_seed(&g, c->spec->seed ^ 0x4556414cULL, stream);
        for (int j = 0; j < m; j++)
            idx[j] = (size_t)(first + j);
        if ((rc = aw_data_batch(ds, idx, m, &c->bin, &g, x)) < 0) {
            rc = aw_error_set(err, rc, "%s: cannot binarize evaluation points", ds->source);
            goto out;
        }
        if ((rc = est->eval(e->cfg.bytes, &ectx, &c->model, x, m, &g, vals, err)) < 0)
            goto out;
        double t1 = now_s();
        if ((rc = aw_store_eval_put_points(c->store, &key, first, vals, (size_t)m, t1 - t0, err)) < 0)
            goto out;
        t0 = t1;
        for (int j = 0; j < m; j++) {
            done[first + j] = 1;
            all[first + j] = vals[j];
        }
        n_done = 0;
        for (long i = 0; i < n_points; i++)
            n_done += done[i] != 0;
        aw_progress_t p = {.kind = AW_PROGRESS_EVAL, .epoch = c->ps.epoch, .estimator = e->estimator,
                           .done = n_done, .total = n_points, .eta_s = -1};
        notify(c, &p);
    }
    /* Mean and standard error over points, summed in index order. */
    double mean = 0, var = 0;
    for (long i = 0; i < n_points; i++)
        mean += all[i];
    mean /= (double)n_points;
    for (long i = 0; i < n_points; i++)
        var += (all[i] - mean) * (all[i] - mean);
    double se = n_points > 1 ? sqrt(var / (double)(n_points - 1) / (double)n_points) : 0.0;
    aw_store_eval_t fin;
    if ((rc = aw_store_eval_begin(c->store, &key, n_points, &fin, err)) < 0)
        goto out;
    double seconds = fin.seconds;
    aw_store_eval_fini(&fin);
    if ((rc = aw_store_eval_finish(c->store, &key, mean, se, n_points, seconds, err)) < 0)
        goto out;
    aw_progress_t p = {.kind = AW_PROGRESS_EVAL_DONE, .epoch = c->ps.epoch, .estimator = e->estimator,
                       .done = n_points, .total = n_points, .value = mean, .stderr_ = se, .eta_s = -1};
    notify(c, &p);
    rc = AW_OK;
out:
    free(settings);
    free(done);
    free(all);
    free(x);
    free(vals);
    free(idx);
    return rc;
}

/* Runs the evaluations due after epoch c->ps.epoch (every N, or the last). */
static int run_evals(run_ctx_t *c, int final, aw_error_t *err)
{
    const aw_spec_t *spec = c->spec;
    aw_dataset_t splits[2];
    int loaded[2] = {0, 0};
    int rc = AW_OK;
    for (int j = 0; j < spec->n_eval && rc == AW_OK; j++) {
        const aw_eval_spec_t *e = &spec->eval[j];
        int due = final || (e->every > 0 && c->ps.epoch % e->every == 0);
        if (!due)
            continue;
        int which = strcmp(e->split, "train") == 0 ? 0 : 1;
        if (which == 0) {
            rc = run_eval(c, e, j, &c->train, err);
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
        rc = run_eval(c, e, j, &splits[which], err);
    }
    if (loaded[1])
        aw_dataset_fini(&splits[1]);
    return rc;
}

void aw_run_data_opts(const aw_spec_t *spec, aw_data_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->name = spec->dataset.name;
    o->dir = spec->dataset.dir[0] ? spec->dataset.dir : NULL;
    o->train_images = spec->dataset.train_images[0] ? spec->dataset.train_images : NULL;
    o->train_labels = spec->dataset.train_labels[0] ? spec->dataset.train_labels : NULL;
    o->test_images = spec->dataset.test_images[0] ? spec->dataset.test_images : NULL;
    o->test_labels = spec->dataset.test_labels[0] ? spec->dataset.test_labels : NULL;
    o->train_size = spec->dataset.train_size;
    o->test_size = spec->dataset.test_size;
}

/* ---- training ---- */

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
    int rc = commit_checkpoint(c, 1, &m, err);
    if (rc < 0)
        return rc;
    aw_progress_t p = {.kind = AW_PROGRESS_EPOCH, .epoch = c->ps.epoch, .loss = m.loss, .bound = m.bound,
                       .points_per_s = m.points_per_s, .eta_s = -1};
    notify(c, &p);
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
    int rc = resume_latest(c, &found, err);
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
    note(c, "%s", msg);
    return aw_store_log_event(c->store, c->spec->identity, "nan_rollback", msg, err);
}

static int train(run_ctx_t *c, aw_error_t *err)
{
    const aw_spec_t *spec = c->spec;
    int64_t steps = steps_per_epoch(c);
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
            if (due && (rc = run_evals(c, 0, err)) < 0)
                return rc;
        }
        if (order_epoch != c->ps.epoch) {
            epoch_order(spec, c->ps.epoch, c->order, c->train.n);
            order_epoch = c->ps.epoch;
        }
        double t_start = now_s() - c->ps.seconds;
        int rolled_back = 0;
        while (c->ps.position < steps) {
            int stop = c->opts->stop != NULL && *c->opts->stop;
            if (c->opts->stop_after_steps > 0 && steps_this_process >= c->opts->stop_after_steps)
                stop = 1;
            if (stop) {
                c->ps.seconds = now_s() - t_start;
                int rc = commit_checkpoint(c, 0, NULL, err);
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
            double t = now_s();
            if (c->opts->progress != NULL && (t - last_notify > 0.1 || c->ps.position == steps)) {
                last_notify = t;
                double el = t - t_start, pps = el > 0 ? (double)c->ps.points / el : 0;
                double total_pts = (double)c->train.n * (double)(spec->train.epochs - c->ps.epoch) - (double)c->ps.points;
                aw_progress_t p = {.kind = AW_PROGRESS_STEP, .epoch = c->ps.epoch, .step = c->ps.position,
                                   .steps = steps, .loss = c->ps.sum_loss / (double)c->ps.points,
                                   .bound = c->ps.sum_bound / (double)c->ps.points, .points_per_s = pps,
                                   .eta_s = pps > 0 ? total_pts / pps : -1};
                notify(c, &p);
            }
        }
        if (rolled_back)
            continue;
        int rc = finish_epoch(c, now_s() - t_start, err);
        if (rc < 0)
            return rc;
    }
    return AW_OK;
}

static void ctx_fini(run_ctx_t *c)
{
    if (c->method != NULL)
        c->ops->destroy(c->method);
    aw_model_fini(&c->model);
    aw_dataset_fini(&c->train);
    free(c->ps.sum_accept);
    free(c->order);
    free(c->xbatch);
}

static int ctx_init(run_ctx_t *c, aw_error_t *err)
{
    const aw_spec_t *spec = c->spec;
    c->ops = c->opts->method != NULL ? c->opts->method : aw_method_find(spec->method.name);
    if (c->ops == NULL)
        return aw_error_set(err, AW_ESPEC, "%s: method.name: unknown method %s", spec->source, spec->method.name);
    int rc = aw_binarize_parse(spec->dataset.binarize, &c->bin, err);
    if (rc < 0)
        return rc;
    aw_data_opts_t o;
    aw_run_data_opts(spec, &o);
    o.bin = &c->bin;
    if ((rc = aw_data_load(&o, "train", &c->train, err)) < 0)
        return rc;
    aw_shape_t shape = {.D = (int)c->train.dim, .H = spec->model.latent, .n_hidden = spec->model.n_hidden};
    for (int i = 0; i < spec->model.n_hidden; i++)
        shape.hidden[i] = spec->model.hidden[i];
    aw_rng_seed(&c->rng, spec->seed, 0x52554eULL + (uint64_t)spec->repeat);
    if ((rc = aw_model_init(&c->model, &shape, &c->rng, err)) < 0)
        return rc;
    if ((rc = c->ops->create(spec->method.cfg.bytes, &spec->train.adam, &c->model, spec->train.batch_size,
                             &c->method, err)) < 0) {
        c->method = NULL;
        return rc;
    }
    c->ps.n_temps = c->ops->n_temps != NULL ? c->ops->n_temps(spec->method.cfg.bytes) : 0;
    c->ps.sum_accept = calloc((size_t)(c->ps.n_temps > 0 ? c->ps.n_temps : 1), sizeof(double));
    c->order = malloc(sizeof(size_t) * (c->train.n ? c->train.n : 1));
    c->xbatch = malloc(sizeof(float) * (size_t)spec->train.batch_size * c->train.dim);
    if (c->ps.sum_accept == NULL || c->order == NULL || c->xbatch == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory setting up run %s", spec->name);
    return AW_OK;
}

/* Whether the process named by a claim ("pid N on HOST") is alive. A claim
 * from another host counts as dead: a database moved to a new machine after
 * the old one was lost must resume. */
static int owner_alive(const char *owner, void *ctx)
{
    (void)ctx;
    long pid;
    char host[256], me[256];
    if (sscanf(owner, "pid %ld on %255s", &pid, host) != 2 || pid <= 0)
        return 0;
    if (gethostname(me, sizeof me) != 0)
        return 0;
    me[sizeof me - 1] = '\0';
    if (strcmp(host, me) != 0)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int aw_run(const aw_spec_t *spec, aw_store_t *store, const aw_run_opts_t *opts, int *finished_before,
           aw_error_t *err)
{
    *finished_before = 0;
    aw_store_run_t row;
    aw_store_run_info_t info = {.identity = spec->identity, .name = spec->name, .spec = spec->canonical,
                                .epochs_total = spec->train.epochs, .host = NULL, .version = PACKAGE_VERSION};
    int rc = aw_store_run_upsert(store, &info, &row, NULL, err);
    if (rc < 0)
        return rc;
    aw_run_status_t status = row.status;
    aw_store_run_fini(&row);
    if (status == AW_RUN_FINISHED) {
        *finished_before = 1;
        return AW_OK;
    }
    /* Claim the run so that another process working through the same sweep
     * skips it instead of training it twice. */
    char owner[300], host[256], holder[512];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(owner, sizeof owner, "pid %ld on %s", (long)getpid(), host);
    int claimed = 0;
    if ((rc = aw_store_run_claim(store, spec->identity, owner, owner_alive, NULL, &claimed, holder, sizeof holder,
                                 err)) < 0)
        return rc;
    if (!claimed) {
        *finished_before = 2;
        aw_error_set(err, AW_OK, "being run by %s", holder);
        return AW_OK;
    }
    aw_run_set_threads(opts->threads > 0 ? opts->threads : spec->train.threads);

    run_ctx_t c;
    memset(&c, 0, sizeof c);
    c.spec = spec;
    c.store = store;
    c.opts = opts;
    if ((rc = ctx_init(&c, err)) < 0)
        goto fail;
    int found = 0;
    if ((rc = resume_latest(&c, &found, err)) < 0)
        goto fail;
    char msg[256];
    if (found && c.ps.epoch >= spec->train.epochs)
        snprintf(msg, sizeof msg, "resuming the evaluations after epoch %lld", (long long)c.ps.epoch);
    else if (found)
        snprintf(msg, sizeof msg, "resuming at epoch %lld step %lld of %lld", (long long)c.ps.epoch + 1,
                 (long long)c.ps.position, (long long)steps_per_epoch(&c));
    else
        snprintf(msg, sizeof msg, "starting: %zu training images, %lld steps per epoch", c.train.n,
                 (long long)steps_per_epoch(&c));
    aw_progress_t p = {.kind = AW_PROGRESS_START, .epoch = c.ps.epoch, .message = msg, .eta_s = -1};
    notify(&c, &p);
    /* The initial state is a checkpoint too, so that a non-finite loss in
     * the first epoch has something to roll back to. */
    if (!found && (rc = commit_checkpoint(&c, 0, NULL, err)) < 0)
        goto fail;
    if ((rc = train(&c, err)) < 0)
        goto fail;
    if ((rc = run_evals(&c, 1, err)) < 0)
        goto fail;
    if ((rc = aw_store_run_set_status(store, spec->identity, AW_RUN_FINISHED, NULL, err)) < 0)
        goto fail;
    aw_progress_t d = {.kind = AW_PROGRESS_DONE, .epoch = c.ps.epoch, .eta_s = -1};
    notify(&c, &d);
    ctx_fini(&c);
    return AW_OK;
fail:
    {
        aw_error_t e2 = {0};
        aw_run_status_t st = rc == AW_EINTR ? AW_RUN_INTERRUPTED : AW_RUN_FAILED;
        (void)aw_store_run_set_status(store, spec->identity, st, err->msg, &e2);
    }
    ctx_fini(&c);
    return rc;
}

int aw_run_next_replicate(aw_store_t *store, aw_spec_t *spec, aw_error_t *err)
{
    for (int tries = 0; tries < 100000; tries++) {
        aw_store_run_t row;
        int rc = aw_store_run_get(store, spec->identity, &row, err);
        if (rc == AW_ENOTFOUND) {
            aw_error_clear(err);
            return AW_OK;
        }
        if (rc < 0)
            return rc;
        aw_store_run_fini(&row);
        char set[64];
        snprintf(set, sizeof set, "repeat=%d", spec->repeat + 1);
        const char *sets[1] = {set};
        aw_spec_list_t next = {0};
        if ((rc = aw_spec_load_string(spec->canonical, spec->source, sets, 1, &next, err)) < 0)
            return rc;
        if (next.n != 1) {
            aw_spec_list_fini(&next);
            return aw_error_set(err, AW_ESPEC, "%s: resolved spec expanded into %d runs", spec->source, next.n);
        }
        /* Keep the run's name, with the new replicate index appended. */
        char name[sizeof spec->name];
        snprintf(name, sizeof name, "%s", spec->name);
        aw_spec_fini(spec);
        *spec = next.runs[0];
        next.runs[0].canonical = NULL;
        aw_spec_list_fini(&next);
        char *dash = strstr(name, "-repeat=");
        if (dash != NULL)
            *dash = '\0';
        snprintf(spec->name, sizeof spec->name, "%.200s-repeat=%d", name, spec->repeat);
    }
    return aw_error_set(err, AW_ESPEC, "%s: no unused replicate index", spec->source);
}

int aw_run_load_model(aw_store_t *store, const char *identity, int64_t epoch, aw_model_t *model,
                      int64_t *epoch_out, aw_error_t *err)
{
    aw_store_ckpt_ref_t *refs = NULL;
    size_t nrefs = 0;
    int rc = aw_store_checkpoints_list(store, identity, &refs, &nrefs, err);
    if (rc < 0)
        return rc;
    rc = aw_error_set(err, AW_ENOTFOUND, "run %.12s has no %s checkpoint%s", identity,
                      epoch >= 0 ? "kept" : "usable", epoch >= 0 ? " at that epoch" : "");
    for (size_t i = 0; i < nrefs; i++) {
        if (epoch >= 0 && (refs[i].epoch != epoch || refs[i].position != 0))
            continue;
        uint8_t *blob = NULL;
        size_t n = 0;
        if ((rc = aw_store_load_checkpoint(store, identity, refs[i].epoch, refs[i].position, &blob, &n, err)) < 0)
            break;
        aw_ckpt_t ck;
        aw_error_t cerr = {0};
        rc = aw_ckpt_decode(blob, n, &ck, &cerr);
        free(blob);
        if (rc < 0) {
            *err = cerr;
            continue; /* a damaged checkpoint: try the previous one */
        }
        size_t len;
        const int32_t *s = aw_ckpt_get(&ck, "SHAP", &len);
        const float *parm = aw_ckpt_get(&ck, "PARM", NULL);
        aw_shape_t shape = {0};
        if (s != NULL && len == sizeof(int32_t) * (4 + AW_MAX_HIDDEN) && parm != NULL) {
            shape.D = s[0];
            shape.H = s[1];
            shape.n_hidden = s[2];
            for (int j = 0; j < AW_MAX_HIDDEN && j < shape.n_hidden; j++)
                shape.hidden[j] = s[4 + j];
        }
        aw_rng_t g;
        aw_rng_seed(&g, 0, 0);
        if (aw_shape_n_params(&shape) == 0) {
            aw_ckpt_fini(&ck);
            rc = aw_error_set(err, AW_EFORMAT, "run %.12s: checkpoint has no valid model shape", identity);
            continue;
        }
        aw_ckpt_get(&ck, "PARM", &len);
        if (len != aw_shape_n_params(&shape) * sizeof(float)) {
            aw_ckpt_fini(&ck);
            rc = aw_error_set(err, AW_EFORMAT, "run %.12s: checkpoint parameters do not match its shape", identity);
            continue;
        }
        if ((rc = aw_model_init(model, &shape, &g, err)) < 0) {
            aw_ckpt_fini(&ck);
            break;
        }
        memcpy(model->params, parm, len);
        aw_ckpt_fini(&ck);
        if (epoch_out != NULL)
            *epoch_out = refs[i].epoch;
        rc = AW_OK;
        break;
    }
    free(refs);
    return rc;
}
