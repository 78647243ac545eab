/* st_model.c: a model's parameters under the original PyTorch implementation's state-dict names
 * (safetensors.h): the tensors an export writes, and loading a parsed file back into a model, with
 * errors that name the tensor, and the shapes of the file and of the model when they differ. */
#include "data/safetensors.h"

#include <stdio.h>
#include <string.h>

static void entry2(aw_st_entry_t *e, char *name, const char *fmt_prefix, int idx, const char *what, int64_t d0,
                   int64_t d1, const float *data)
{
    if (idx >= 0)
        snprintf(name, AW_ST_NAME_LEN, "%s.%d.%s", fmt_prefix, idx, what);
    else
        snprintf(name, AW_ST_NAME_LEN, "%s.%s", fmt_prefix, what);
    e->name = name;
    e->ndim = d1 > 0 ? 2 : 1;
    e->shape[0] = d0;
    e->shape[1] = d1 > 0 ? d1 : 0;
    e->data = data;
}

size_t aw_st_model_entries(const aw_model_t *m, aw_st_entry_t *out, char (*names)[AW_ST_NAME_LEN])
{
    size_t k = 0;
    int nh = m->shape.n_hidden, H = m->shape.H;
    for (int i = 0; i < nh; i++) {
        const aw_layer_t *l = &m->enc[i];
        entry2(&out[k], names[k], "encoder.transform", 2 * i, "weight", l->out, l->in, l->W), k++;
        entry2(&out[k], names[k], "encoder.transform", 2 * i, "bias", l->out, 0, l->b), k++;
    }
    const aw_layer_t *hd = &m->enc[nh];
    entry2(&out[k], names[k], "encoder.fc_mu", -1, "weight", H, hd->in, hd->W), k++;
    entry2(&out[k], names[k], "encoder.fc_mu", -1, "bias", H, 0, hd->b), k++;
    entry2(&out[k], names[k], "encoder.fc_logsigma", -1, "weight", H, hd->in, hd->W + (size_t)H * (size_t)hd->in), k++;
    entry2(&out[k], names[k], "encoder.fc_logsigma", -1, "bias", H, 0, hd->b + H), k++;
    for (int i = 0; i <= nh; i++) {
        const aw_layer_t *l = &m->dec[i];
        entry2(&out[k], names[k], "decoder.transform", 2 * i, "weight", l->out, l->in, l->W), k++;
        entry2(&out[k], names[k], "decoder.transform", 2 * i, "bias", l->out, 0, l->b), k++;
    }
    return k;
}

/* "model.latent 50, model.hidden [200, 200] and 784 pixels" */
static void shape_text(const aw_shape_t *s, char *out, size_t n)
{
    size_t o = (size_t)snprintf(out, n, "model.latent %d, model.hidden [", s->H);
    for (int i = 0; i < s->n_hidden && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%d", i ? ", " : "", s->hidden[i]);
    if (o < n)
        snprintf(out + o, n - o, "] and %d pixels", s->D);
}

/* Dimension d of tensor name when it is a 2-D (or, for d = 0 of a bias, 1-D) tensor; else -1. */
static int64_t dim_of(const aw_st_file_t *f, const char *name, int d)
{
    const aw_st_tensor_t *t = aw_st_find(f, name);
    if (t == NULL || t->ndim != 2 || t->shape[d] < 1 || t->shape[d] > AW_MAX_WIDTH)
        return -1;
    return t->shape[d];
}

#define ST_NAMES "encoder.transform.{0,2,..}.*, encoder.fc_mu.*, encoder.fc_logsigma.*, decoder.transform.*"

int aw_st_model_shape(const aw_st_file_t *f, aw_shape_t *out, aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    char name[AW_ST_NAME_LEN];
    for (int i = 0; i <= AW_MAX_HIDDEN; i++) {
        snprintf(name, sizeof name, "encoder.transform.%d.weight", 2 * i);
        if (aw_st_find(f, name) == NULL)
            break;
        if (i == AW_MAX_HIDDEN)
            return aw_error_set(err, AW_EFORMAT, "has more than %d hidden layers (tensor %s)", AW_MAX_HIDDEN, name);
        int64_t w = dim_of(f, name, 0), in = dim_of(f, name, 1);
        if (w < 0 || in < 0)
            return aw_error_set(err, AW_EFORMAT, "tensor %s: expected a 2-D weight [out, in] of widths 1..%d",
                                name, AW_MAX_WIDTH);
        if (i == 0)
            out->D = (int)in;
        out->hidden[out->n_hidden++] = (int)w;
    }
    if (out->n_hidden == 0)
        return aw_error_set(err, AW_EFORMAT, "no tensor encoder.transform.0.weight (expected the original "
                            "state-dict names: " ST_NAMES ")");
    if (aw_st_find(f, "encoder.fc_mu.weight") == NULL)
        return aw_error_set(err, AW_EFORMAT, "no tensor encoder.fc_mu.weight (expected the original "
                            "state-dict names: " ST_NAMES ")");
    int64_t H = dim_of(f, "encoder.fc_mu.weight", 0);
    if (H < 0)
        return aw_error_set(err, AW_EFORMAT, "tensor encoder.fc_mu.weight: expected a 2-D weight [out, in] of "
                            "widths 1..%d", AW_MAX_WIDTH);
    out->H = (int)H;
    return AW_OK;
}

static void dims_text(int ndim, const int64_t *shape, char *out, size_t n)
{
    size_t o = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < n)
        snprintf(out + o, n - o, "]");
}

/* Copies tensor e->name of f into the model block at dst, after checking its shape against e's. */
static int load_tensor(const aw_st_file_t *f, const aw_st_entry_t *e, float *dst, aw_error_t *err)
{
    const aw_st_tensor_t *t = aw_st_find(f, e->name);
    if (t == NULL)
        return aw_error_set(err, AW_EFORMAT, "no tensor %s (expected the original state-dict names: " ST_NAMES ")",
                            e->name);
    size_t n = 1;
    int same = t->ndim == e->ndim;
    for (int d = 0; d < e->ndim; d++) {
        same = same && t->shape[d] == e->shape[d];
        n *= (size_t)e->shape[d];
    }
    if (!same) {
        char got[96], want[96];
        dims_text(t->ndim, t->shape, got, sizeof got);
        dims_text(e->ndim, e->shape, want, sizeof want);
        return aw_error_set(err, AW_EFORMAT, "tensor %s has shape %s, expected %s", e->name, got, want);
    }
    if (strcmp(t->dtype, "F32") != 0)
        return aw_error_set(err, AW_EFORMAT, "tensor %s has dtype %s, expected F32 (in PyTorch: model.float() "
                            "before saving)", e->name, t->dtype);
    return aw_st_get_f32(f, t, dst, n, err);
}

int aw_st_model_load(const aw_st_file_t *f, aw_model_t *m, aw_error_t *err)
{
    aw_shape_t fs;
    int rc = aw_st_model_shape(f, &fs, err);
    if (rc < 0)
        return rc;
    if (!aw_shape_equal(&fs, &m->shape)) {
        char a[128], b[128];
        shape_text(&fs, a, sizeof a);
        shape_text(&m->shape, b, sizeof b);
        return aw_error_set(err, AW_EFORMAT, "holds a model with %s; the spec (with its data set) "
                            "has %s", a, b);
    }
    aw_st_entry_t ent[AW_ST_MODEL_MAX_TENSORS];
    char names[AW_ST_MODEL_MAX_TENSORS][AW_ST_NAME_LEN];
    size_t n = aw_st_model_entries(m, ent, names);
    for (size_t i = 0; i < n; i++)
        if ((rc = load_tensor(f, &ent[i], m->params + (ent[i].data - m->params), err)) < 0)
            return rc;
    for (size_t j = 0; j < f->n; j++) {
        size_t i = 0;
        while (i < n && strcmp(f->t[j].name, ent[i].name) != 0)
            i++;
        if (i == n)
            return aw_error_set(err, AW_EFORMAT, "unexpected tensor %s (the model of %d hidden layers has %zu "
                                "tensors: " ST_NAMES ")", f->t[j].name, m->shape.n_hidden, n);
    }
    return AW_OK;
}
