/* spec_diff.h: the keys of the training (the identity's keys) whose values differ between runs, as
 * aiwae-report --runs shows them: what tells runs apart that would otherwise look the same. */
#ifndef AW_REPORT_SPEC_DIFF_H
#define AW_REPORT_SPEC_DIFF_H

#include <stddef.h>

#include "util/error.h"

/* Keys and values. Zero-initialise; release with aw_report_diff_fini. */
typedef struct aw_report_diff {
    size_t n_specs; /* specs compared */
    size_t n_keys;  /* keys that differ */
    char **keys;    /* [n_keys] KEY.PATH (owned) */
    char **values;  /* [n_specs * n_keys] spec s's value of key k at s * n_keys + k, or NULL where it has
                       no such key or does not parse (owned) */
} aw_report_diff_t;

/* Compares the canonical specs[n] (aw_report_spec_leaves' leaves) over the keys inside the identity
 * (aw_spec_path_in_identity): a key differs when two of the specs that parse have different values for it
 * (a key that only some specs have, such as a method's own, differs only if those values differ: the key
 * that decides whether it is there shows the rest). The keys go in the order the specs first have them,
 * seed and repeat last. A spec that does not parse takes no part. AW_ENOMEM. */
int aw_report_spec_diff(const char *const *specs, size_t n, aw_report_diff_t *d, aw_error_t *err);

/* Frees what d holds and zeroes it. */
void aw_report_diff_fini(aw_report_diff_t *d);

#endif
