/* spec.c: experiment specs from YAML (spec.h): parse, overrides, sweep expansion, one resolved run per
 * combination; the public entry points. The keys live in schema.c and the plugins' tables, the
 * canonical text in canon.c, --set in keypath.c, the sweep in sweep.c. */
#include "spec/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/load.h"
#include "util/io.h"

/* ---- public API ---- */

void aw_spec_fini(aw_spec_t *s)
{
    if (s == NULL)
        return;
    free(s->canonical);
    s->canonical = NULL;
}

void aw_spec_list_fini(aw_spec_list_t *list)
{
    if (list == NULL)
        return;
    for (int i = 0; i < list->n; i++)
        aw_spec_fini(&list->runs[i]);
    free(list->runs);
    list->runs = NULL;
    list->n = 0;
}

int aw_spec_copy(aw_spec_t *dst, const aw_spec_t *src, aw_error_t *err)
{
    memcpy(dst, src, sizeof *dst);
    dst->canonical = NULL;
    if (src->canonical != NULL && (dst->canonical = strdup(src->canonical)) == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory copying spec %s", src->name);
    return AW_OK;
}

/* Loads from text with label; name_from gives the default name. */
static int load_text(const char *yaml, size_t len, const char *label, const char *const *overrides,
                     int n_overrides, aw_spec_list_t *out, aw_error_t *err)
{
    out->n = 0;
    out->runs = NULL;
    load_t L = {.err = err};
    aw_ynode_t *root = NULL, *sweep = NULL;
    aw_sweep_key_t *keys = NULL;
    int nk = 0;
    long nruns = 1;
    char base[AW_SPEC_NAME_MAX + 1];
    aw_spec_default_name(label, base, sizeof base);
    int rc = aw_ytree_parse(yaml, len, label, 1, &root, err);
    if (rc != AW_OK)
        goto done;
    if (root == NULL || aw_ynode_is_null(root)) {
        /* An empty file is a mistake, not a request for the paper's full run; {} means all defaults. */
        rc = aw_error_set(err, AW_ESPEC, "%s:1:1: empty spec: expected a mapping of spec keys (write {} for "
                          "all defaults)", label);
        goto done;
    }
    if (root->kind != AW_YMAP) {
        rc = aw_spec_expected(&L, root, "", "a mapping of spec keys");
        goto done;
    }
    rc = aw_spec_check_keys(&L, root, "", AW_SPEC_ROOT_KEYS);
    for (int i = 0; i < n_overrides && rc == AW_OK; i++)
        rc = aw_spec_apply_override(&L, root, overrides[i]);
    if (rc == AW_OK)
        rc = aw_spec_take_sweep(&L, root, &keys, &nk, &sweep, &nruns);
    if (rc == AW_OK)
        rc = aw_spec_check_sweep_overrides(&L, overrides, n_overrides, keys, nk);
    if (rc != AW_OK)
        goto done;
    out->runs = calloc((size_t)nruns, sizeof *out->runs);
    if (out->runs == NULL) {
        rc = aw_spec_oom(&L);
        goto done;
    }
    for (long r = 0; r < nruns && rc == AW_OK; r++) {
        rc = aw_spec_make_run(&L, root, keys, nk, r, base, &out->runs[r]);
        snprintf(out->runs[r].source, sizeof out->runs[r].source, "%s", label);
        out->n = (int)r + 1; /* so that a failed run's canonical (NULL) is finalized too */
    }
    /* Distinct runs must be distinct experiments. */
    for (int i = 0; i < out->n && rc == AW_OK; i++)
        for (int j = 0; j < i && rc == AW_OK; j++)
            if (strcmp(out->runs[i].identity, out->runs[j].identity) == 0)
                rc = aw_spec_fail(&L, sweep, "sweep",
                          "expected every run to be a different experiment, found %s and %s identical "
                          "(identity %.12s...); sweep only keys of the training (not train.threads, "
                          "train.checkpoint_every or evaluations: list several evaluate entries instead) and give "
                          "each value once",
                          out->runs[j].name, out->runs[i].name, out->runs[i].identity);
done:
    if (rc != AW_OK)
        aw_spec_list_fini(out);
    free(keys);
    aw_ynode_free(sweep);
    aw_ynode_free(root);
    for (int i = 0; i < L.n_origins; i++)
        free(L.origins[i]);
    free(L.origins);
    return rc;
}

int aw_spec_load_string(const char *yaml, const char *label, const char *const *overrides, int n_overrides,
                        aw_spec_list_t *out, aw_error_t *err)
{
    return load_text(yaml, strlen(yaml), label, overrides, n_overrides, out, err);
}

/* Specs are a few KB: a file over 1 MiB is not one (docs/robustness.md). */
#define SPEC_MAX_BYTES ((size_t)1 << 20)

int aw_spec_load(const char *path, const char *const *overrides, int n_overrides, aw_spec_list_t *out,
                 aw_error_t *err)
{
    out->n = 0;
    out->runs = NULL;
    aw_buf_t buf = {0};
    int rc = aw_io_read_file(path, SPEC_MAX_BYTES, &buf, err);
    if (rc != AW_OK)
        return rc;
    rc = load_text((const char *)buf.data, buf.size, path, overrides, n_overrides, out, err);
    aw_buf_fini(&buf);
    return rc;
}

int aw_spec_from_canonical(const char *yaml, const char *label, aw_spec_t *out, aw_error_t *err)
{
    aw_spec_list_t list;
    memset(out, 0, sizeof *out);
    int rc = aw_spec_load_string(yaml, label, NULL, 0, &list, err);
    if (rc != AW_OK)
        return rc;
    if (list.n != 1) {
        rc = aw_error_set(err, AW_ESPEC, "%s: expected one run, found a sweep of %d", label, list.n);
        aw_spec_list_fini(&list);
        return rc;
    }
    *out = list.runs[0];
    free(list.runs);
    return AW_OK;
}
