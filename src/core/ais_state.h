/* ais_state.h: the state of an AIS sweep between two temperatures as bytes, so that a sweep interrupted
 * part-way resumes where it stopped with the same result (aw_ais_sweep_from): the next temperature, the step
 * size, the generator, and per chain its position, log p(x,h), the gradient of log p, log q(h|x) and its
 * log-weight. Little-endian; about (8 H + 24) bytes per chain. */
#ifndef AW_AIS_STATE_H
#define AW_AIS_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/hmc.h"
#include "util/rng.h"

/* Bytes of the state of N chains of latent size H. */
size_t aw_ais_state_bytes(int N, int H);

/* Writes the state of the N = s->n chains of s before temperature t into buf [aw_ais_state_bytes(N, H)]. */
void aw_ais_state_save(const aw_hmc_t *s, int t, float step, const aw_rng_t *rng, const double *logw,
                       uint8_t *buf);

/* Reads a state of n bytes for the chains of target tg (tg->B * tg->K of them) of a sweep over T
 * temperatures: binds s to tg at the saved positions (one log_joint call, whose values the saved ones then
 * replace), sets *t, *step, *rng and logw [N]. AW_EFORMAT (s unchanged but bound) when the bytes do not fit
 * these sizes or hold an impossible state. */
int aw_ais_state_load(aw_hmc_t *s, const aw_hmc_target_t *tg, int T, const uint8_t *buf, size_t n, int *t,
                      float *step, aw_rng_t *rng, double *logw, aw_error_t *err);

#endif
