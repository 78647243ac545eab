/* figures.c: training curves and decoded samples of runs in the database (figures.h). */
#include "report/figures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mlp.h"
#include "core/model.h"
#include "core/model_ws.h"
#include "data/data.h"
#include "report/plot.h"
#include "report/run_label.h"
#include "run/run.h"
#include "util/rng.h"

/* ---- curves ---- */

int aw_report_curves(aw_store_t *store, const aw_report_snap_t *snap, const size_t *runs, size_t n,
                     const char *split, const char *path, aw_error_t *err)
{
    const char *sp = split ? split : "test";
    aw_plot_run_t *pr = calloc(n + 1, sizeof *pr);
    aw_store_metrics_t **ms = calloc(n + 1, sizeof *ms);
    size_t *nms = calloc(n + 1, sizeof *nms);
    aw_plot_eval_t *ev = calloc(snap->n_evals + 1, sizeof *ev);
    const aw_report_run_t **rp = calloc(n + 1, sizeof *rp);
    char **labels = calloc(n + 1, sizeof *labels);
    int rc = AW_OK;
    if (pr == NULL || ms == NULL || nms == NULL || ev == NULL || rp == NULL || labels == NULL)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == AW_OK; i++)
        rp[i] = &snap->runs[runs[i]];
    if (rc == AW_OK)
        rc = aw_report_run_labels(rp, (int)n, labels, err);
    size_t nev = 0;
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        const aw_report_run_t *r = rp[i];
        if ((rc = aw_store_metrics_list(store, r->row.identity, &ms[i], &nms[i], err)) < 0)
            break;
        pr[i].name = labels[i];
        pr[i].metrics = ms[i];
        pr[i].n_metrics = nms[i];
        pr[i].evals = ev + nev;
        for (size_t e = 0; e < snap->n_evals; e++) {
            const aw_store_eval_t *x = &snap->evals[e];
            if (strcmp(x->identity, r->row.identity) != 0 || !x->finished || strcmp(x->split, sp) != 0)
                continue;
            ev[nev++] = (aw_plot_eval_t){.estimator = x->estimator, .epoch = x->epoch, .mean = x->mean, .se = x->se};
            pr[i].n_evals++;
        }
    }
    if (rc == AW_OK)
        rc = aw_plot_curves(path, "aiwae training curves", pr, n, err);
    for (size_t i = 0; ms != NULL && i < n; i++)
        aw_store_metrics_free(ms[i], nms[i]);
    for (size_t i = 0; labels != NULL && i < n; i++)
        free(labels[i]);
    free(labels);
    free(rp);
    free(pr);
    free(ms);
    free(nms);
    free(ev);
    return rc;
}

/* ---- samples ---- */

enum { N_PRIOR = 64, N_TEST = 32 };

/* Decoder probabilities for latent rows: p [N,D] = sigmoid(logits(h [N,H])). */
static int decode(const aw_model_t *m, const float *h, int N, float *p, aw_error_t *err)
{
    int nh = m->shape.n_hidden, width = m->shape.D;
    for (int i = 0; i < nh; i++)
        width = m->shape.hidden[i] > width ? m->shape.hidden[i] : width;
    float *a = malloc(sizeof(float) * (size_t)N * (size_t)width);
    float *b = malloc(sizeof(float) * (size_t)N * (size_t)width);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return aw_error_set(err, AW_ENOMEM, "out of memory decoding %d rows", N);
    }
    const float *in = h;
    for (int l = 0; l < nh; l++) {
        float *o = (l % 2 == 0) ? a : b;
        aw_layer_forward_tanh(&m->dec[l], in, N, o);
        in = o;
    }
    aw_layer_forward(&m->dec[nh], in, N, p);
    for (size_t i = 0; i < (size_t)N * (size_t)m->shape.D; i++)
        p[i] = aw_sigmoid(p[i]);
    free(a);
    free(b);
    return AW_OK;
}

/* Decodes N_PRIOR prior draws and reconstructs the first test images of ds, then writes the picture. */
static int draw_samples(const aw_model_t *m, const aw_dataset_t *ds, const aw_binarize_t *bin, uint64_t seed,
                        const char *path, const char *title, aw_error_t *err)
{
    int D = m->shape.D, H = m->shape.H;
    int nt = ds->n < N_TEST ? (int)ds->n : N_TEST;
    if (nt < 1)
        return aw_error_set(err, AW_EFORMAT, "the test split is empty");
    size_t need = (size_t)N_PRIOR * (size_t)(H + D) + (size_t)nt * (size_t)(3 * D + 2 * H);
    float *buf = malloc(need * sizeof *buf);
    aw_model_ws_t *ws = aw_model_ws_new(&m->shape, nt, nt);
    int rc = AW_OK;
    if (buf == NULL || ws == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
        goto out;
    }
    float *h = buf, *prior = h + (size_t)N_PRIOR * H, *x = prior + (size_t)N_PRIOR * D, *mu = x + (size_t)nt * D,
          *ls = mu + (size_t)nt * H, *recon = ls + (size_t)nt * H;
    aw_rng_t rng;
    aw_rng_seed(&rng, seed, 0x53414d504c45ULL);
    aw_rng_fill_normal(&rng, h, (size_t)N_PRIOR * (size_t)H);
    if ((rc = decode(m, h, N_PRIOR, prior, err)) < 0)
        goto out;
    size_t idx[N_TEST];
    for (int i = 0; i < nt; i++)
        idx[i] = (size_t)i;
    if ((rc = aw_data_batch(ds, idx, nt, bin, &rng, x)) < 0 || (rc = aw_model_encode(m, ws, x, nt, mu, ls)) < 0) {
        aw_error_set(err, rc, "cannot encode or decode the test images");
        goto out;
    }
    if ((rc = decode(m, mu, nt, recon, err)) < 0)
        goto out;
    rc = aw_plot_samples(path, title, ds->rows, ds->cols, prior, N_PRIOR, x, recon, nt, err);
out:
    aw_model_ws_free(ws);
    free(buf);
    return rc;
}

int aw_report_samples(aw_store_t *store, const aw_report_run_t *r, int64_t epoch, uint64_t seed, const char *path,
                      int64_t *epoch_out, aw_error_t *err)
{
    if (!r->spec_ok)
        return aw_error_set(err, AW_ESPEC, "%s", r->spec_error);
    aw_model_t m;
    memset(&m, 0, sizeof m);
    int64_t ep = -1;
    int rc = aw_run_load_model(store, r->row.identity, epoch, &m, &ep, err);
    if (rc < 0)
        return rc;
    aw_binarize_t bin;
    aw_data_opts_t opts;
    aw_dataset_t ds;
    memset(&ds, 0, sizeof ds);
    if ((rc = aw_binarize_parse(r->spec.dataset.binarize, &bin, err)) < 0)
        goto out;
    aw_run_data_opts(&r->spec, &opts);
    opts.bin = &bin;
    if ((rc = aw_data_load(&opts, "test", &ds, err)) < 0)
        goto out;
    if ((size_t)m.shape.D != ds.dim || ds.rows * ds.cols != m.shape.D) {
        rc = aw_error_set(err, AW_EFORMAT, "%s: images have %zu pixels, the model %d", ds.source, ds.dim, m.shape.D);
        goto out;
    }
    char title[512];
    snprintf(title, sizeof title, "%.200s (%.12s), epoch %lld, %s test set", r->row.name, r->row.identity,
             (long long)ep, r->spec.dataset.name);
    if ((rc = draw_samples(&m, &ds, &bin, seed, path, title, err)) == AW_OK && epoch_out != NULL)
        *epoch_out = ep;
out:
    aw_dataset_fini(&ds);
    aw_model_fini(&m);
    return rc;
}
