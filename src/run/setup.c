/* setup.c: what the runner reads from a run's spec: the data options, the run context (method, model,
 * method state, temperatures) and each evaluation's estimator, settings and storage key. */
#include "run/run_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/safetensors.h"
#include "util/io.h"
#include "util/sha256.h"

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

void aw_run_ctx_fini(run_ctx_t *c)
{
    if (c->method != NULL)
        c->ops->destroy(c->method);
    aw_model_fini(&c->model);
    aw_dataset_fini(&c->train);
    free(c->ps.sum_accept);
    free(c->order);
    free(c->xbatch);
    free(c->initial);
}

/* Overwrites m's parameters with those of the file model.init, whose SHA-256 must still be the one the
 * spec resolved with (it is part of the run's identity). */
static int load_init(const aw_spec_t *spec, aw_model_t *m, aw_error_t *err)
{
    const char *path = spec->model.init;
    aw_buf_t b = {0};
    int rc = aw_io_read_file(path, AW_IO_MAX_BYTES, &b, err);
    if (rc < 0)
        return aw_error_prefix(err, "model.init");
    char hex[AW_SHA256_HEX];
    aw_sha256_hex(b.data, b.size, hex);
    if (strcmp(hex, spec->model.init_sha256) != 0) {
        aw_buf_fini(&b);
        return aw_error_set(err, AW_ESPEC, "model.init: %s has SHA-256 %.12s..., the run's model.init_sha256 is "
                            "%.12s... (the file changed since the run was created)", path, hex,
                            spec->model.init_sha256);
    }
    aw_st_file_t f;
    rc = aw_st_parse(b.data, b.size, &f, err);
    aw_buf_fini(&b);
    if (rc == AW_OK)
        rc = aw_st_model_load(&f, m, err);
    aw_st_file_fini(&f);
    return rc < 0 ? aw_error_prefix(err, "model.init: %s", path) : AW_OK;
}

int aw_run_ctx_init(run_ctx_t *c, aw_error_t *err)
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
    if (spec->model.init[0] != '\0' && (rc = load_init(spec, &c->model, err)) < 0)
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

int aw_run_eval_setup(const run_ctx_t *c, const aw_eval_spec_t *e, const aw_dataset_t *ds,
                      aw_run_eval_setup_t *out, aw_error_t *err)
{
    long n_points = e->size > 0 && (size_t)e->size < ds->n ? e->size : (long)ds->n;
    char *settings = aw_spec_eval_settings(e, n_points);
    if (settings == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory for evaluation %s", e->estimator);
    size_t len = strlen(settings);
    if (len >= sizeof out->settings) {
        free(settings);
        return aw_error_set(err, AW_ESPEC, "evaluation %s: its settings text is %zu bytes, at most %zu",
                            e->estimator, len, sizeof out->settings - 1);
    }
    memcpy(out->settings, settings, len + 1);
    free(settings);
    out->est = e->ops;
    out->cfg = e->cfg.bytes;
    /* A signal stops a long chunk; its points are simply redone. */
    out->ctx = (aw_eval_ctx_t){.batch = e->batch, .stop = c->opts->stop};
    out->n_points = n_points;
    return AW_OK;
}
