/* model.h: the VAE/IWAE model: Gaussian encoder q(h|x), Bernoulli decoder p(x|h), standard normal prior,
 * all parameters in one block. aw_real is float in the library (see real.h).
 *
 * Dimension letters: B data points, D pixels, H latent size, K samples per point, N = B*K decoder rows
 * ordered point-major (row n belongs to data point n / K).
 * Parameter layout (checkpoints and exports rely on it): each Linear layer is W [out,in] row-major then
 * b [out]. Encoder: hidden layers D->h1->...->h_last, then the mu and log-sigma heads fused as one layer
 * [2H, h_last] (rows 0..H-1 mu, rows H..2H-1 log sigma). Decoder: H->h_last->...->h1->D. */
#ifndef AW_MODEL_H
#define AW_MODEL_H

#include <stddef.h>

#include "util/error.h"
#include "core/mlp.h"
#include "util/rng.h"

#define AW_MAX_HIDDEN 4

typedef struct aw_shape {
    int D;                      /* pixels per image (784) */
    int H;                      /* latent size (50) */
    int n_hidden;               /* deterministic layers per network (2) */
    int hidden[AW_MAX_HIDDEN];  /* their widths (200, 200); decoder uses them in reverse order */
} aw_shape_t;

typedef struct aw_model {
    aw_shape_t shape;                  /* architecture */
    size_t n_params;                   /* values in params */
    aw_real *params;                   /* ONE 64-byte-aligned block, owned: encoder then decoder block */
    size_t enc_n;                      /* encoder parameters are params[0, enc_n) */
    size_t dec_off, dec_n;             /* decoder parameters are params[dec_off, dec_off + dec_n) */
    aw_layer_t enc[AW_MAX_HIDDEN + 1]; /* encoder layers (views into params); enc[n_hidden] = fused heads */
    aw_layer_t dec[AW_MAX_HIDDEN + 1]; /* decoder layers (views into params); dec[n_hidden] -> logits */
} aw_model_t;

/* Bounds on a shape, whatever it comes from (a spec, a dataset, a checkpoint read back): every width
 * (D, H, hidden) at most AW_MAX_WIDTH and at most AW_MAX_PARAMS parameters in all (8 GiB of floats). */
#define AW_MAX_WIDTH 65536
#define AW_MAX_PARAMS ((size_t)1 << 31)

/* Number of parameters of a shape, or 0 if the shape is invalid (D, H, widths >= 1, 1 <= n_hidden <=
 * AW_MAX_HIDDEN). */
size_t aw_shape_n_params(const aw_shape_t *shape);

/* 1 if a and b describe the same architecture (D, H and every hidden width), else 0. */
int aw_shape_equal(const aw_shape_t *a, const aw_shape_t *b);

/* Allocates the parameter block and initializes it (docs/math.md#parameters-and-initialization): layer by layer in layout order, W then b,
 * each element Uniform(-1/sqrt(in), 1/sqrt(in)) drawn from rng. Returns 0, AW_EARG or AW_ENOMEM. */
int aw_model_init(aw_model_t *m, const aw_shape_t *shape, aw_rng_t *rng, aw_error_t *err);

/* Frees the parameter block; safe on a zeroed or already finalized model. */
void aw_model_fini(aw_model_t *m);

typedef struct aw_model_ws aw_model_ws_t; /* opaque scratch space */

/* Scratch for up to max_points data points and max_rows decoder rows (max_rows >= max_points); owned by
 * the caller, freed with aw_model_ws_free. NULL on OOM or invalid sizes. A workspace serves one call at a
 * time. */
aw_model_ws_t *aw_model_ws_new(const aw_shape_t *shape, int max_points, int max_rows);
void aw_model_ws_free(aw_model_ws_t *ws);

/* "avx512 (in use), cblas (reference)": the decoder kernels compiled in (core/decoder.h), in order of
 * preference, each marked "in use" where a workspace for shape and max_rows would pick it on this CPU,
 * "not usable on this CPU" where it cannot run; into out[n]. */
void aw_dec_kernels_describe(const aw_shape_t *shape, int max_rows, char *out, size_t n);
/* Makes ws a workspace for the leapfrog gradients of HMC in bfloat16 (docs/math.md#bf16-leapfrog-gradients):
 * its decoder kernel becomes the first bf16 kernel this CPU runs (AMX, else AVX512-BF16), whose gradients
 * are bf16-level and whose log p values are approximations (energies need an fp32 workspace). Returns the
 * kernel's name ("amx", "avx512bf16"), or NULL (ws unchanged) where this CPU or build has none. */
const char *aw_model_ws_use_bf16(aw_model_ws_t *ws);

/* One line (no newline) naming the decoder kernels this CPU gets: "fp32 avx512, bf16 amx (also
 * avx512bf16)", or "..., bf16 none (fp32 instead)" (every kernel's CPU check is independent of the shape). */
void aw_model_kernels_describe(char *out, size_t n);

/* x [B,D] -> mu [B,H], logsig [B,H] (log sigma). Returns 0 or AW_EARG (B out of range). */
int aw_model_encode(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, aw_real *mu,
                    aw_real *logsig);

/* logp [N] = log p(x,h) = log N(h;0,I) + sum_d (x_d a_d - softplus(a_d)) for the N = B*K rows of h [N,H];
 * if grad_h != NULL also grad_h [N,H] = d log p(x,h) / dh (one decoder forward and one backward to the
 * input, no weight gradients). Returns 0 or AW_EARG. */
int aw_model_log_joint(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                       const aw_real *h, aw_real *logp, aw_real *grad_h);

/* As aw_model_log_joint for the gradient alone (grad_h != NULL): scratch [N] may be left unwritten or hold
 * approximate values (the bf16 kernels skip them). Returns 0 or AW_EARG. */
int aw_model_log_joint_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                            const aw_real *h, aw_real *scratch, aw_real *grad_h);

/* Decoder loss = -(1/B) sum_n w[n] log p(x_{n/K}, h_n), with h [N,H] and w [N] constants. Writes its
 * gradient into grad_dec [dec_n] (overwrites), the loss into *loss. Returns 0 or AW_EARG. */
int aw_model_decoder_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                          const aw_real *h, const aw_real *w, aw_real *grad_dec, double *loss);

#endif
