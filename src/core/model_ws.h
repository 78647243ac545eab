/* model_ws.h (private to the numeric core): the workspace layout and the layer-level passes that model.c,
 * objective.c, the decoder kernels (decoder.h) and iwae_bound.c compose. Dimension letters as in model.h;
 * all buffers are row-major. */
#ifndef AW_MODEL_WS_H
#define AW_MODEL_WS_H

#include "core/model.h"

#define AW_LOG_SQRT_2PI 0.91893853320467274178

struct aw_model_ws {
    aw_shape_t shape;                  /* architecture the buffers are sized for */
    int max_points;                    /* B capacity */
    int max_rows;                      /* N capacity */
    aw_real *enc_act[AW_MAX_HIDDEN];   /* [max_points, hidden[l]] tanh outputs of encoder layer l */
    aw_real *enc_out;                  /* [max_points, 2H] head output: mu then log sigma per row */
    aw_real *enc_dout;                 /* [max_points, 2H] loss gradient w.r.t. enc_out */
    aw_real *sig;                      /* [max_points, H] sigma = exp(log sigma) of the last encoder pass */
    aw_real *enc_d[2];                 /* [max_points, widest] ping-pong deltas of the encoder backward */
    aw_real *dec_act[AW_MAX_HIDDEN];   /* [max_rows, dec[l].out] tanh outputs of decoder layer l */
    aw_real *logits;                   /* [max_rows, D] logits before the bias, then their loss gradient */
    aw_real *dec_d[2];                 /* [max_rows, widest] ping-pong deltas of the decoder backward */
    aw_real *h;                        /* [max_rows, H] latent samples */
    aw_real *eps;                      /* [max_rows, H] their standard normal noise */
    aw_real *gh;                       /* [max_rows, H] loss gradient w.r.t. h */
    aw_real *row_a;                    /* [max_rows] per-row scratch (log p(x|h), log w) */
    aw_real *row_b;                    /* [max_rows] per-row scratch (weights) */
    double *pt;                        /* [max_points] per-point values (losses, bounds) */
    void *block;                       /* the single allocation all of the above point into */
    const struct aw_dec_kernel *dec;   /* the decoder kernel (decoder.h), picked by aw_model_ws_new */
    const struct aw_dec_kernel *dec_train; /* the kernel that ran the last training forward, or NULL */
    void *kscratch;                    /* the decoder kernel's scratch, grown by aw_model_ws_scratch */
    size_t kscratch_bytes;             /* its size */
    const aw_real *train_h;            /* the reference kernel's last training forward: its h [train_N,H] */
    int train_N;                       /* and its row count */
};

/* ws's kernel scratch with at least `need` bytes, 64-byte aligned, or NULL (out of memory). A block grown
 * here is zeroed; a block that is large enough keeps its contents. */
void *aw_model_ws_scratch(aw_model_ws_t *ws, size_t need);

/* Encoder forward on x [B,D]: fills enc_act, enc_out and sig. */
void aw_model_enc_forward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B);

/* Encoder backward from enc_dout [B,2H] (filled by the caller) to the encoder weight gradient
 * grad_enc [enc_n] (overwritten); needs the activations of the last aw_model_enc_forward on the same x. */
void aw_model_enc_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B,
                           aw_real *grad_enc);

/* One row of the Bernoulli log-likelihood: a = z + b; returns sum_d (x_d a_d - softplus(a_d)), and if
 * grad, overwrites z [D] with scale * d/da = scale * (x - sigmoid(a)). */
aw_real aw_model_bern_row(const aw_real *x, aw_real *z, const aw_real *b, int D, int grad, aw_real scale);

/* log N(h; 0, I) of one row h [H]. */
aw_real aw_model_log_prior(const aw_real *h, int H);

/* One reparameterized sample: h [H] = mu + sig * eps. Returns log N(h; 0, I) - log q(h|x) - sum_j log sig_j
 * = sum_j (eps_j^2 - h_j^2) / 2 (the 2 pi terms cancel), so log w = log p(x|h) + that + sum_j log sig_j. */
aw_real aw_model_sample_row(const aw_real *mu, const aw_real *sig, const aw_real *eps, aw_real *h, int H);

enum {
    AW_LOGLIK_PRIOR = 1, /* add log N(h; 0, I) (and its gradient -h) */
    AW_LOGLIK_ADD = 2,   /* out[n] += the value instead of out[n] = it */
    AW_LOGLIK_GRAD_ONLY = 4 /* only grad_h is wanted: out [N] is scratch, which a kernel may leave unwritten */
};

/* out [N] = log p(x_{n/K} | h_n) (+ log p(h_n) with AW_LOGLIK_PRIOR, += with AW_LOGLIK_ADD) for h [N,H];
 * with grad_h != NULL also grad_h [N,H] = its gradient with respect to h. Runs ws's decoder kernel
 * (decoder.h; the reference where that kernel lacks memory for its scratch); a row's value does not
 * depend on the thread count. */
void aw_model_dec_loglik(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K, const aw_real *h,
                         int N, aw_real *out, int flags, aw_real *grad_h);

#endif
