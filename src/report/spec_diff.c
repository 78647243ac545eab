/* spec_diff.c: the training keys whose values differ between runs (spec_diff.h). */
#include "report/spec_diff.h"

#include <stdlib.h>
#include <string.h>

#include "report/spec_paths.h"
#include "spec/spec.h"

void aw_report_diff_fini(aw_report_diff_t *d)
{
    for (size_t i = 0; d->values != NULL && i < d->n_specs * d->n_keys; i++)
        free(d->values[i]);
    for (size_t k = 0; k < d->n_keys; k++)
        free(d->keys[k]);
    free(d->values);
    free(d->keys);
    memset(d, 0, sizeof *d);
}

/* The value part of leaf "path=value" of l whose path is key, or NULL. */
static const char *value_of(const aw_report_leaves_t *l, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < l->n; i++)
        if (strncmp(l->kv[i], key, n) == 0 && l->kv[i][n] == '=')
            return l->kv[i] + n + 1;
    return NULL;
}

/* The paths of the identity's leaves of the specs that parse, each once, in first-seen order, into *keys[*nk]. */
static int candidate_keys(const aw_report_leaves_t *L, const int *ok, size_t n, char ***keys, size_t *nk)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; ok[i] && j < L[i].n; j++) {
            size_t len = strcspn(L[i].kv[j], "=");
            char *path = strndup(L[i].kv[j], len);
            if (path == NULL)
                return AW_ENOMEM;
            int seen = !aw_spec_path_in_identity(path);
            for (size_t k = 0; k < *nk && !seen; k++)
                seen = strcmp((*keys)[k], path) == 0;
            if (seen) {
                free(path);
                continue;
            }
            if (*nk == cap) {
                char **grown = realloc(*keys, (cap = cap ? 2 * cap : 32) * sizeof *grown);
                if (grown == NULL) {
                    free(path);
                    return AW_ENOMEM;
                }
                *keys = grown;
            }
            (*keys)[(*nk)++] = path;
        }
    }
    return AW_OK;
}

/* seed and repeat: what tells replicates apart, shown after the keys that tell experiments apart. */
static int is_replicate_key(const char *path)
{
    return strcmp(path, "seed") == 0 || strcmp(path, "repeat") == 0;
}

/* Moves the keys of cand[nc] whose values differ into d (replicate keys last), their values with them. */
static int keep_differing(const aw_report_leaves_t *L, const int *ok, size_t n, char **cand, size_t nc,
                          aw_report_diff_t *d)
{
    d->keys = calloc(nc + 1, sizeof *d->keys);
    d->values = calloc(n * nc + 1, sizeof *d->values);
    if (d->keys == NULL || d->values == NULL)
        return AW_ENOMEM;
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < nc; k++) {
            if (cand[k] == NULL || is_replicate_key(cand[k]) != pass)
                continue;
            const char *first = NULL;
            int differs = 0;
            for (size_t i = 0; i < n && !differs; i++) {
                const char *v = ok[i] ? value_of(&L[i], cand[k]) : NULL;
                if (v != NULL && first == NULL)
                    first = v;
                else if (v != NULL)
                    differs = strcmp(v, first) != 0;
            }
            if (!differs)
                continue;
            d->keys[d->n_keys++] = cand[k];
            cand[k] = NULL;
        }
    /* the values, laid out for the final key count */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; ok[i] && k < d->n_keys; k++) {
            const char *v = value_of(&L[i], d->keys[k]);
            if (v != NULL && (d->values[i * d->n_keys + k] = strdup(v)) == NULL)
                return AW_ENOMEM;
        }
    return AW_OK;
}

int aw_report_spec_diff(const char *const *specs, size_t n, aw_report_diff_t *d, aw_error_t *err)
{
    memset(d, 0, sizeof *d);
    d->n_specs = n;
    aw_report_leaves_t *L = calloc(n + 1, sizeof *L);
    int *ok = calloc(n + 1, sizeof *ok);
    char **cand = NULL;
    size_t nc = 0;
    int rc = L == NULL || ok == NULL ? AW_ENOMEM : AW_OK;
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        aw_error_t e = {0};
        int r = aw_report_spec_leaves(specs[i], &L[i], &e);
        ok[i] = r == AW_OK;
        rc = r == AW_ENOMEM ? r : AW_OK;
    }
    if (rc == AW_OK)
        rc = candidate_keys(L, ok, n, &cand, &nc);
    if (rc == AW_OK)
        rc = keep_differing(L, ok, n, cand, nc, d);
    for (size_t k = 0; k < nc; k++)
        free(cand[k]);
    free(cand);
    for (size_t i = 0; L != NULL && i < n; i++)
        aw_report_leaves_fini(&L[i]);
    free(L);
    free(ok);
    if (rc < 0) {
        aw_report_diff_fini(d);
        return aw_error_set(err, rc, "out of memory comparing the runs' specs");
    }
    return AW_OK;
}
