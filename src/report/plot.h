/* plot.h: aiwae-report's pictures, drawn with cairo: training curves (PNG or SVG) and grids of
 * decoded images (PNG). Without cairo at build time every function fails with AW_EARG.
 *
 * Ownership: all inputs are borrowed for the call; the functions write only the output file. */
#ifndef AW_PLOT_H
#define AW_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "store/store.h"

/* One finished evaluation drawn as a marker with its standard error. */
typedef struct aw_plot_eval {
    const char *estimator; /* the estimator's name (its table picks the marker shape) */
    int64_t epoch;         /* epoch evaluated */
    double mean, se;       /* estimate and its standard error (nats) */
} aw_plot_eval_t;

/* One run's curves. */
typedef struct aw_plot_run {
    const char *name;                  /* legend label */
    const aw_store_metrics_t *metrics; /* [n_metrics] per-epoch rows, by epoch */
    size_t n_metrics;                  /* rows */
    const aw_plot_eval_t *evals;       /* [n_evals] evaluations */
    size_t n_evals;                    /* evaluations */
} aw_plot_run_t;

/* Draws training bound and evaluations against epoch, one colour per run, with axes, labels
 * and a legend; below it, for every run whose metrics have temperatures, a row with acceptance
 * rate and step size (log scale) per temperature against epoch. The format follows path's
 * extension: .png or .svg (AW_EARG otherwise). AW_EIO naming path when it cannot be written. */
int aw_plot_curves(const char *path, const char *title, const aw_plot_run_t *runs, size_t n, aw_error_t *err);

/* Writes a PNG of two panels: left, n_prior images prior [n_prior, rows*cols] in a square-ish
 * grid; right, n_test pairs side by side, each test image x [n_test, rows*cols] next to its
 * reconstruction recon [n_test, rows*cols]. Pixel values in [0,1] (1 = ink, drawn black on
 * white). AW_EARG for a bad path or sizes, AW_EIO when the file cannot be written. */
int aw_plot_samples(const char *path, const char *title, int rows, int cols, const float *prior, int n_prior,
                    const float *x, const float *recon, int n_test, aw_error_t *err);

#endif
