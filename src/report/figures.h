/* figures.h: aiwae-report's pictures of runs in the results database: training curves of several
 * runs, and decoded samples of one run's model. Gathers what plot.h draws (metrics, evaluations,
 * a checkpoint's model, the test images) and writes the picture. Without cairo at build time both
 * fail with AW_EARG (plot.h). Nothing here writes to the database. */
#ifndef AW_REPORT_FIGURES_H
#define AW_REPORT_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "report/snap.h"
#include "store/store.h"

/* Draws the training curves (plot.h aw_plot_curves) of the runs snap->runs[runs[i]], i < n, with their
 * finished evaluations on split ("test" if NULL) to path (.png or .svg). AW_EDB, AW_EARG, AW_EIO. */
int aw_report_curves(aw_store_t *store, const aw_report_snap_t *snap, const size_t *runs, size_t n,
                     const char *split, const char *path, aw_error_t *err);

/* Writes a PNG (plot.h aw_plot_samples) of 64 images decoded from prior draws next to the first 32
 * test images of run r's dataset and their reconstructions (the decoder's probabilities at the
 * encoder's mean), with the model of the checkpoint at the end of epoch (< 0: the newest). seed
 * seeds the prior draws and the test images' binarization. *epoch_out (may be NULL) gets the epoch
 * drawn. AW_ESPEC when r's spec does not load; the errors of checkpoints and data loading; AW_EFORMAT
 * when the images do not fit the model or the test split is empty. */
int aw_report_samples(aw_store_t *store, const aw_report_run_t *r, int64_t epoch, uint64_t seed, const char *path,
                      int64_t *epoch_out, aw_error_t *err);

#endif
