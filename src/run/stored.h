/* stored.h: runs named in a database, and the specs they were run with: what `aiwae-run --evaluate RUN`
 * evaluates. */
#ifndef AW_RUN_STORED_H
#define AW_RUN_STORED_H

#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

/* The runs of store that query names (aw_store_runs_named: a run's name, a unique prefix of its identity, or
 * a glob over names, 'mnist-*aiwae*', every match); AW_ENOTFOUND listing the runs when nothing or, for a
 * name or prefix, several match. Their stored specs with overrides[n_overrides] applied go into out (owned
 * by the caller, aw_spec_list_fini). Each must be a finished run and keep its identity: AW_ESPEC when an
 * override changes the training (only evaluations may change), AW_EARG for a run that has not finished
 * training. */
int aw_run_stored_specs(aw_store_t *store, const char *query, const char *const *overrides, int n_overrides,
                        aw_spec_list_t *out, aw_error_t *err);

#endif
