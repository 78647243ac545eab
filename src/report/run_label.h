/* run_label.h: short labels for the runs one table or picture shows: the method's label ("IWAE K=5",
 * from its plugin) followed by the spec keys that tell the shown runs apart ("AIWAE K=5 T=5 L=5,
 * train.epochs=10"), instead of the long names sweeps give. */
#ifndef AW_REPORT_RUN_LABEL_H
#define AW_REPORT_RUN_LABEL_H

#include "util/error.h"
#include "report/snap.h"

/* labels[i] (new malloc'd strings the caller frees) for runs[i], i < n: the method label, then ", "
 * and the KEY.PATH=VALUE leaves of the resolved spec whose values differ among the n runs (name,
 * train.threads, train.checkpoint_every and evaluate left out; a method key only where runs with the
 * same method label differ in it). Runs that would still share a label get their names appended; a
 * run whose spec did not load is labelled by its name. AW_ENOMEM (labels all NULL then), AW_ESPEC. */
int aw_report_run_labels(const aw_report_run_t *const *runs, int n, char **labels, aw_error_t *err);

#endif
