/* ckpt_layout.h: what a run's checkpoint holds, its one encoder and its one decoder, and loading a
 * run's parameters from the store (for aiwae-report and the tests).
 *
 * Sections of the checkpoint container (store/ckpt.h), every number little-endian whatever the host:
 *   SHAP  i32 [4 + AW_MAX_HIDDEN]: D, H, n_hidden, 0, the hidden widths (unused ones 0)
 *   PARM  f32 [aw_shape_n_params]: the model parameters in aw_model_t order
 *   METH  the training method's state, in its own format (aw_method_ops_t save / load)
 *   RNGS  the run's generator (aw_rng_save, AW_RNG_STATE_BYTES bytes)
 *   PROG  u64 version (1), epoch, position, points; f64 sum_loss, sum_bound, seconds; u64 n_temps;
 *         f64 sum_accept [n_temps] */
#ifndef AW_CKPT_LAYOUT_H
#define AW_CKPT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "store/store.h"
#include "util/error.h"
#include "util/rng.h"

/* Where training stands, including the partial sums of the current epoch so that a run resumed
 * mid-epoch logs the same metrics as an uninterrupted one. */
typedef struct aw_run_progress {
    int64_t epoch;       /* epochs completed */
    int64_t position;    /* minibatches done in the current epoch */
    int64_t points;      /* data points seen in the current epoch */
    double sum_loss;     /* sum over steps of loss * batch size */
    double sum_bound;    /* sum over steps of bound * batch size */
    double seconds;      /* wall time spent in the current epoch before the checkpoint */
    int n_temps;         /* entries used in sum_accept */
    double *sum_accept;  /* [n_temps] sum over steps of acceptance rate * batch size */
} aw_run_progress_t;

/* Everything one checkpoint holds. Given to the encoder, every pointer is borrowed and only read;
 * filled by the decoder, params, meth and prog.sum_accept are owned (aw_run_ckpt_fini frees them). */
typedef struct aw_run_ckpt {
    aw_shape_t shape;        /* the model's architecture */
    float *params;           /* [aw_shape_n_params(&shape)] */
    uint8_t *meth;           /* [meth_bytes] the method's state */
    size_t meth_bytes;
    aw_rng_t rng;            /* the run's generator */
    aw_run_progress_t prog;  /* position and partial sums */
} aw_run_ckpt_t;

/* Encodes ck into a new malloc'd *blob of *n bytes (caller frees). Returns 0, AW_EARG for an invalid
 * shape, or AW_ENOMEM. */
int aw_run_ckpt_encode(const aw_run_ckpt_t *ck, uint8_t **blob, size_t *n, aw_error_t *err);

/* Decodes n bytes of blob into *ck (initialized here; aw_run_ckpt_fini is safe afterwards either way).
 * Checks the container (store/ckpt.h), every section's presence and size, a valid shape with its
 * parameter count, a valid generator state and the progress version. Returns 0, AW_EFORMAT (err says
 * what is wrong) or AW_ENOMEM. */
int aw_run_ckpt_decode(const uint8_t *blob, size_t n, aw_run_ckpt_t *ck, aw_error_t *err);

/* Frees what the decoder allocated; ck is left empty. */
void aw_run_ckpt_fini(aw_run_ckpt_t *ck);

/* Loads the parameters of a run from the store into model (initialized here; the caller calls
 * aw_model_fini): from the newest usable checkpoint when epoch < 0, else from the end-of-epoch
 * checkpoint kept at that epoch. *epoch_out (if non-NULL) receives the checkpoint's epoch.
 * AW_ENOTFOUND when there is no such checkpoint that decodes. */
int aw_run_load_model(aw_store_t *store, const char *identity, int64_t epoch, aw_model_t *model,
                      int64_t *epoch_out, aw_error_t *err);

#endif
