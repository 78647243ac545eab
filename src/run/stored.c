/* stored.c: runs named in a database and the specs they were run with (stored.h). */
#include "run/stored.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/run_match.h"

/* The stored spec of run r with the overrides, checked to keep r's training; appended to out. */
static int one_spec(const aw_store_run_t *r, const char *const *overrides, int n_overrides, aw_spec_list_t *out,
                    aw_error_t *err)
{
    if (r->status != AW_RUN_FINISHED)
        return aw_error_set(err, AW_EARG, "run %s has not finished training (%s, epoch %lld of %lld): run its spec "
                            "to train it; --evaluate evaluates finished runs", r->name, aw_run_status_name(r->status),
                            (long long)r->epoch, (long long)r->epochs_total);
    char label[128];
    snprintf(label, sizeof label, "run %s (%.12s)", r->name, r->identity);
    aw_spec_list_t l;
    int rc = aw_spec_load_string(r->spec, label, overrides, n_overrides, &l, err);
    if (rc < 0)
        return rc;
    if (l.n != 1 || strcmp(l.runs[0].identity, r->identity) != 0) {
        rc = aw_error_set(err, AW_ESPEC, "%s: --set changes the training (identity %.12s..., the run's is %.12s...); "
                          "--evaluate changes evaluations only", label, l.n == 1 ? l.runs[0].identity : "(a sweep)",
                          r->identity);
        aw_spec_list_fini(&l);
        return rc;
    }
    aw_spec_t *grown = realloc(out->runs, (size_t)(out->n + 1) * sizeof *grown);
    if (grown == NULL) {
        aw_spec_list_fini(&l);
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    }
    out->runs = grown;
    out->runs[out->n] = l.runs[0];
    snprintf(out->runs[out->n].name, sizeof out->runs[out->n].name, "%s", r->name);
    out->n++;
    free(l.runs);
    return AW_OK;
}

int aw_run_stored_specs(aw_store_t *store, const char *query, const char *const *overrides, int n_overrides,
                        aw_spec_list_t *out, aw_error_t *err)
{
    out->n = 0;
    out->runs = NULL;
    aw_store_run_t *runs;
    size_t n;
    int rc = aw_store_runs_named(store, query, 1, &runs, &n, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == AW_OK; i++)
        rc = one_spec(&runs[i], overrides, n_overrides, out, err);
    aw_store_runs_free(runs, n);
    if (rc < 0)
        aw_spec_list_fini(out);
    return rc;
}
