/* canon.c: a resolved run as canonical YAML, its identity, and the settings strings of its evaluations
 * (load.h, spec.h). Every key is written through its table, in table order. */
#include "spec/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/schema.h"
#include "util/sbuf.h"
#include "util/sha256.h"

/* name (quoted), dataset.binarize and model.hidden: the keys whose values are not of a plain type. */
static void write_custom(aw_sbuf_t *b, const aw_key_t *k, const void *base)
{
    const aw_spec_t *s = base;
    if (k->offset == offsetof(aw_spec_t, name)) {
        aw_settings_write_string(b, s->name);
    } else if (k->offset == offsetof(aw_spec_t, dataset.binarize)) {
        aw_sbuf_printf(b, "%s", s->dataset.binarize);
    } else {
        aw_sbuf_printf(b, "[");
        for (int i = 0; i < s->model.n_hidden; i++)
            aw_sbuf_printf(b, "%s%d", i ? ", " : "", s->model.hidden[i]);
        aw_sbuf_printf(b, "]");
    }
}

/* The canonical text of s; with identity != 0 only what changes the trained parameters: without the keys
 * outside the identity (name, train.threads, train.checkpoint_every) and without the evaluations, which
 * attach to the run and an epoch (docs/schema.md). */
static char *write_canonical(const aw_spec_t *s, int identity)
{
    const aw_spec_section_t *S = AW_SPEC_SECTIONS;
    aw_sbuf_t b = {0};
    aw_settings_write_block(S[AW_SEC_ROOT].keys, s, &b, "", identity, NULL, write_custom);
    aw_sbuf_printf(&b, "dataset:\n");
    aw_settings_write_block(S[AW_SEC_DATASET].keys, s, &b, "  ", identity, s->dataset.name, write_custom);
    aw_sbuf_printf(&b, "model:\n");
    aw_settings_write_block(S[AW_SEC_MODEL].keys, s, &b, "  ", identity, NULL, write_custom);
    aw_sbuf_printf(&b, "method:\n");
    aw_settings_write_block(S[AW_SEC_METHOD].keys, s, &b, "  ", identity, NULL, NULL);
    aw_settings_write_block(s->method.ops->settings.keys, s->method.cfg.bytes, &b, "  ", identity, NULL, NULL);
    aw_sbuf_printf(&b, "train:\n");
    aw_settings_write_block(S[AW_SEC_TRAIN].keys, s, &b, "  ", identity, NULL, NULL);
    if (identity)
        return aw_sbuf_finish(&b);
    aw_sbuf_printf(&b, "evaluate:%s\n", s->n_eval == 0 ? " []" : "");
    for (int i = 0; i < s->n_eval; i++) {
        const aw_eval_spec_t *e = &s->eval[i];
        size_t at = b.n;
        aw_settings_write_block(S[AW_SEC_EVAL].keys, e, &b, "    ", 0, NULL, NULL);
        aw_settings_write_block(e->ops->settings.keys, e->cfg.bytes, &b, "    ", 0, NULL, NULL);
        if (!b.oom && b.n >= at + 4)
            memcpy(b.p + at, "  - ", 4);
    }
    return aw_sbuf_finish(&b);
}

int aw_spec_finish(load_t *L, aw_spec_t *s)
{
    char *id = write_canonical(s, 1);
    s->canonical = write_canonical(s, 0);
    if (id == NULL || s->canonical == NULL) {
        free(id);
        free(s->canonical);
        s->canonical = NULL;
        return aw_spec_oom(L);
    }
    aw_sha256_hex(id, strlen(id), s->identity);
    free(id);
    return AW_OK;
}

char *aw_spec_eval_settings(const aw_eval_spec_t *e, long n_points)
{
    aw_sbuf_t b = {0};
    aw_sbuf_printf(&b, "{");
    aw_settings_write_flow(e->ops->settings.keys, e->cfg.bytes, &b);
    aw_sbuf_printf(&b, ", size: %ld, batch: %d}", n_points, e->batch);
    return aw_sbuf_finish(&b);
}

int aw_spec_identity_of(const char *canonical, const char *label, char out[65], aw_error_t *err)
{
    aw_spec_t s;
    int rc = aw_spec_from_canonical(canonical, label, &s, err);
    if (rc != AW_OK)
        return rc;
    memcpy(out, s.identity, 65);
    aw_spec_fini(&s);
    return AW_OK;
}

/* The key of table keys that path names under prefix ("train." + "threads"), or NULL. */
static const aw_key_t *key_under(const aw_key_t *keys, const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return NULL;
    return aw_keys_find(keys, path + n);
}

int aw_spec_path_in_identity(const char *key_path)
{
    if (strcmp(key_path, "evaluate") == 0 || strncmp(key_path, "evaluate.", 9) == 0 ||
        strncmp(key_path, "evaluate[", 9) == 0)
        return 0;
    static const char *const prefixes[] = {"", "dataset.", "model.", "method.", "train."};
    static const int sections[] = {AW_SEC_ROOT, AW_SEC_DATASET, AW_SEC_MODEL, AW_SEC_METHOD, AW_SEC_TRAIN};
    for (int i = 0; i < 5; i++) {
        const aw_key_t *k = key_under(AW_SPEC_SECTIONS[sections[i]].keys, prefixes[i], key_path);
        if (k != NULL)
            return k->identity;
    }
    return 1; /* the methods' own keys are all part of it */
}
