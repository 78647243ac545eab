/* adam.h: the Adam optimizer (bias-corrected, docs/math.md#optimizer-and-learning-rate-schedule) with a serializable state, and Burda's
 * learning-rate schedule. */
#ifndef AW_ADAM_H
#define AW_ADAM_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct aw_adam {
    size_t n;                 /* parameters updated */
    float *m, *v;             /* first and second moments [n], owned */
    int64_t t;                /* steps taken */
    float beta1, beta2, eps;  /* hyper-parameters (0.9, 0.999, 1e-4) */
} aw_adam_t;

/* Allocates zeroed moments for n parameters, t = 0. Returns 0, AW_EARG (bad hyper-parameters) or
 * AW_ENOMEM. Free with aw_adam_fini (safe on a zeroed struct). */
int aw_adam_init(aw_adam_t *a, size_t n, float beta1, float beta2, float eps, aw_error_t *err);
void aw_adam_fini(aw_adam_t *a);

/* One step: t += 1; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * params[n] -= lr * mhat / (sqrt(vhat) + eps) with mhat = m/(1-b1^t), vhat = v/(1-b2^t). */
void aw_adam_step(aw_adam_t *a, float *params, const float *grad, float lr);

/* Serialized state: magic, n, t, then m and v, little-endian; aw_adam_state_bytes(a) bytes. */
size_t aw_adam_state_bytes(const aw_adam_t *a);
void aw_adam_save(const aw_adam_t *a, uint8_t *buf);
/* Restores a state saved for the same n (a initialized with aw_adam_init). Returns 0 or AW_EFORMAT
 * (wrong size, magic or n), leaving a unchanged on error. */
int aw_adam_load(aw_adam_t *a, const uint8_t *buf, size_t n, aw_error_t *err);

/* Burda's schedule (docs/math.md#optimizer-and-learning-rate-schedule): learning rate for 0-based epoch e: base * 10^(-i/7) where stage i holds 3^i
 * epochs (i = 0..7; stages end after epochs 1, 4, 13, 40, 121, 364, 1093, 3280); epochs past 3280 stay in
 * stage 7. */
float aw_lr_burda(float base, int64_t epoch);

#endif
