/* run.c: one run's lifecycle (see run.h): claiming it, starting or resuming it, training, the final
 * evaluations and its status; the thread count; progress reports. The rest of the runner is in the
 * files run_ctx.h names. */
#include "run/run_ctx.h"

#include "config.h"

#include <cblas.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* OpenBLAS's thread control (cblas.h of some versions does not declare it). */
void openblas_set_num_threads(int num_threads);

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

static void *idle_thread(void *arg)
{
    return arg;
}

/* Creates and joins threads - 1 threads with the default attributes (those OpenMP uses): 0 or errno. */
static int probe_threads(int threads)
{
    pthread_t t[AW_MAX_THREADS];
    int made = 0, e = 0;
    while (made < threads - 1 && (e = pthread_create(&t[made], NULL, idle_thread, NULL)) == 0)
        made++;
    for (int i = 0; i < made; i++)
        pthread_join(t[i], NULL);
    return made == threads - 1 ? 0 : e;
}

int aw_run_set_threads(int threads, aw_error_t *err)
{
    if (threads < 1 || threads > AW_MAX_THREADS)
        return aw_error_set(err, AW_EARG, "threads: expected 1 to %d, found %d", AW_MAX_THREADS, threads);
    int e = probe_threads(threads);
    if (e != 0)
        return aw_error_set(err, AW_ENOMEM, "cannot create %d threads: %s", threads, strerror(e));
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    /* The control register is per thread: set it here (threads created later
     * inherit it) and in every thread of the pool. */
    flush_denormals();
#pragma omp parallel num_threads(threads)
    flush_denormals();
    return AW_OK;
}

double aw_run_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void aw_run_notify(const run_ctx_t *c, aw_progress_t *p)
{
    if (c->opts->progress == NULL)
        return;
    p->run = c->spec->name;
    p->epochs = c->spec->train.epochs;
    c->opts->progress(c->opts->progress_ctx, p);
}

void aw_run_note(const run_ctx_t *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aw_progress_t p = {.kind = AW_PROGRESS_NOTE, .message = msg, .epoch = c->ps.epoch, .eta_s = -1};
    aw_run_notify(c, &p);
}

/* Whether the process named by a claim is at work. A claim from another host counts as dead: a database
 * moved to a new machine after the old one was lost must resume. */
static int owner_alive(const char *owner, void *ctx)
{
    (void)ctx;
    return aw_store_owner_alive(owner) == 1;
}

int aw_run_owner_alive(const char *owner, void *ctx)
{
    return owner_alive(owner, ctx);
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
    /* A failed run is tried again only when its inputs changed since it failed, or when asked to. */
    if (status == AW_RUN_FAILED && !opts->retry_failed) {
        int unchanged = 0;
        if ((rc = aw_run_failed_unchanged(spec, store, &unchanged, err)) < 0)
            return rc;
        if (unchanged) {
            *finished_before = 3;
            return AW_OK;
        }
    }
    /* A finished run trains nothing; evaluations of the spec it has not done yet are done from its kept
     * final checkpoint. */
    const int was_finished = status == AW_RUN_FINISHED;
    /* Claim the run so that another process working through the same sweep
     * skips it instead of training it twice. */
    char owner[300], holder[512];
    aw_store_owner_self(owner, sizeof owner);
    int claimed = 0;
    if ((rc = aw_store_run_claim(store, spec->identity, owner, owner_alive, NULL, &claimed, holder, sizeof holder,
                                 err)) < 0)
        return rc;
    if (!claimed) {
        *finished_before = 2;
        aw_error_set(err, AW_OK, "being run by %s", holder);
        return AW_OK;
    }
    run_ctx_t c;
    memset(&c, 0, sizeof c);
    c.spec = spec;
    c.store = store;
    c.opts = opts;
    if ((rc = aw_run_set_threads(opts->threads > 0 ? opts->threads : spec->train.threads, err)) < 0 ||
        (rc = aw_run_ctx_init(&c, err)) < 0)
        goto fail;
    int found = 0;
    if ((rc = aw_run_resume_latest(&c, &found, err)) < 0)
        goto fail;
    char msg[256];
    if (was_finished)
        msg[0] = '\0';
    else if (found && c.ps.epoch >= spec->train.epochs)
        snprintf(msg, sizeof msg, "resuming the evaluations after epoch %lld", (long long)c.ps.epoch);
    else if (found)
        snprintf(msg, sizeof msg, "resuming at epoch %lld step %lld of %lld", (long long)c.ps.epoch + 1,
                 (long long)c.ps.position, (long long)aw_run_steps_per_epoch(&c));
    else if (spec->train.epochs == 0)
        snprintf(msg, sizeof msg, "evaluating the parameters of model.init %.160s (train.epochs 0)", spec->model.init);
    else
        snprintf(msg, sizeof msg, "starting: %zu training images, %lld steps per epoch", c.train.n,
                 (long long)aw_run_steps_per_epoch(&c));
    aw_progress_t p = {.kind = AW_PROGRESS_START, .epoch = c.ps.epoch, .message = msg, .eta_s = -1};
    if (!was_finished)
        aw_run_notify(&c, &p);
    if ((rc = aw_run_log_kernels(&c, err)) < 0)
        goto fail;
    /* The initial state, so that a non-finite loss in the first epoch has something to roll back to: kept
     * in memory while training (a run killed before its first commit starts over from the same state,
     * which is a function of the spec), stored when nothing is trained (train.epochs 0: the checkpoint
     * the run's evaluations, now and later, are done from). Storing it cost a 5 MB write, a sync and a WAL
     * checkpoint at every start (~45 ms for the paper's model). */
    if (!found && (rc = spec->train.epochs > 0 ? aw_run_keep_initial(&c, err)
                                                 : aw_run_commit_checkpoint(&c, 0, NULL, err)) < 0)
        goto fail;
    if ((rc = aw_run_train(&c, err)) < 0)
        goto fail;
    if ((rc = aw_run_evals(&c, 1, err)) < 0)
        goto fail;
    if ((rc = aw_store_run_set_status(store, spec->identity, AW_RUN_FINISHED, NULL, err)) < 0)
        goto fail;
    if (was_finished && c.evals_run == 0)
        *finished_before = 1;
    aw_progress_t d = {.kind = AW_PROGRESS_DONE, .epoch = c.ps.epoch, .eta_s = -1};
    if (!*finished_before)
        aw_run_notify(&c, &d);
    aw_run_ctx_fini(&c);
    return AW_OK;
fail:
    {
        aw_error_t e2 = {0};
        /* A finished run stays finished: what failed is an evaluation added later, and the next run
         * does it again. */
        aw_run_status_t st = was_finished ? AW_RUN_FINISHED : rc == AW_EINTR ? AW_RUN_INTERRUPTED : AW_RUN_FAILED;
        (void)aw_store_run_set_status(store, spec->identity, st, was_finished ? NULL : err->msg, &e2);
        /* Best effort, like the status: without the event the run is simply retried next time. A store
         * error (disk full, read-only, I/O) or running out of memory says nothing about the run's inputs:
         * not logged against them, so that the same command resumes the run once the cause is gone. */
        if (st == AW_RUN_FAILED && rc != AW_EDB && rc != AW_ENOMEM)
            (void)aw_run_log_failure(spec, store, err->msg, &e2);
    }
    aw_run_ctx_fini(&c);
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
