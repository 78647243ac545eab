/* model.c: parameter layout and initialization, the workspace, the encoder passes (one GEMM per layer and
 * direction over all rows, element-wise work fused into one parallel pass per layer), the per-row kernels
 * the decoder kernels share, and the model-level calls on top of the decoder (decoder.h). */
#include "core/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/decoder.h"

static int width_ok(int w)
{
    return w >= 1 && w <= AW_MAX_WIDTH;
}

static int shape_valid(const aw_shape_t *s)
{
    if (!width_ok(s->D) || !width_ok(s->H) || s->n_hidden < 1 || s->n_hidden > AW_MAX_HIDDEN)
        return 0;
    for (int l = 0; l < s->n_hidden; l++)
        if (!width_ok(s->hidden[l]))
            return 0;
    return 1;
}

/* *n += out * in + out (a layer's weights and biases), or 0 when that passes AW_MAX_PARAMS. */
static int add_layer(size_t *n, size_t out, size_t in)
{
    if (in > (AW_MAX_PARAMS - *n) / out - 1)
        return 0;
    *n += out * in + out;
    return 1;
}

/* Fills the layer views (widths, W and b pointers) of m from its shape and params. */
static void bind_layers(aw_model_t *m)
{
    const aw_shape_t *s = &m->shape;
    const int L = s->n_hidden;
    aw_real *p = m->params;
    for (int l = 0; l <= L; l++) {
        aw_layer_t *y = &m->enc[l];
        y->in = l == 0 ? s->D : s->hidden[l - 1];
        y->out = l == L ? 2 * s->H : s->hidden[l];
        y->W = p;
        y->b = p + (size_t)y->out * y->in;
        p = y->b + y->out;
    }
    m->enc_n = (size_t)(p - m->params);
    m->dec_off = m->enc_n;
    for (int l = 0; l <= L; l++) {
        aw_layer_t *y = &m->dec[l];
        y->in = l == 0 ? s->H : s->hidden[L - l];
        y->out = l == L ? s->D : s->hidden[L - 1 - l];
        y->W = p;
        y->b = p + (size_t)y->out * y->in;
        p = y->b + y->out;
    }
    m->dec_n = (size_t)(p - m->params) - m->dec_off;
}

int aw_shape_equal(const aw_shape_t *a, const aw_shape_t *b)
{
    if (a->D != b->D || a->H != b->H || a->n_hidden != b->n_hidden)
        return 0;
    for (int i = 0; i < a->n_hidden; i++)
        if (a->hidden[i] != b->hidden[i])
            return 0;
    return 1;
}

size_t aw_shape_n_params(const aw_shape_t *shape)
{
    if (!shape_valid(shape))
        return 0;
    const int L = shape->n_hidden;
    size_t n = 0, in = (size_t)shape->D;
    for (int l = 0; l < L; l++) {
        if (!add_layer(&n, (size_t)shape->hidden[l], in))
            return 0;
        in = (size_t)shape->hidden[l];
    }
    if (!add_layer(&n, 2 * (size_t)shape->H, in))
        return 0;
    in = (size_t)shape->H;
    for (int l = L - 1; l >= 0; l--) {
        if (!add_layer(&n, (size_t)shape->hidden[l], in))
            return 0;
        in = (size_t)shape->hidden[l];
    }
    return add_layer(&n, (size_t)shape->D, in) ? n : 0;
}

/* 64-byte-aligned allocation of n bytes (rounded up), zeroed if zero is set, or NULL. */
static void *alloc64(size_t n, int zero)
{
    n = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, n ? n : 64);
    if (p && zero)
        memset(p, 0, n ? n : 64);
    return p;
}

static void init_layer(const aw_layer_t *l, aw_rng_t *rng)
{
    const double bound = 1.0 / sqrt((double)l->in);
    const size_t nw = (size_t)l->out * l->in;
    for (size_t i = 0; i < nw; i++)
        l->W[i] = (aw_real)((2.0 * aw_rng_uniform(rng) - 1.0) * bound);
    for (int i = 0; i < l->out; i++)
        l->b[i] = (aw_real)((2.0 * aw_rng_uniform(rng) - 1.0) * bound);
}

int aw_model_init(aw_model_t *m, const aw_shape_t *shape, aw_rng_t *rng, aw_error_t *err)
{
    memset(m, 0, sizeof *m);
    size_t n = aw_shape_n_params(shape);
    if (n == 0)
        return aw_error_set(err, AW_EARG,
                            "model: invalid shape (D=%d, H=%d, n_hidden=%d): widths must be in 1..%d, n_hidden at "
                            "most %d and the parameters at most %zu", shape->D, shape->H, shape->n_hidden,
                            AW_MAX_WIDTH, AW_MAX_HIDDEN, AW_MAX_PARAMS);
    m->params = alloc64(n * sizeof *m->params, 1);
    if (!m->params)
        return aw_error_set(err, AW_ENOMEM, "model: cannot allocate %zu parameters", n);
    m->shape = *shape;
    m->n_params = n;
    bind_layers(m);
    for (int l = 0; l <= shape->n_hidden; l++)
        init_layer(&m->enc[l], rng);
    for (int l = 0; l <= shape->n_hidden; l++)
        init_layer(&m->dec[l], rng);
    return 0;
}

void aw_model_fini(aw_model_t *m)
{
    free(m->params);
    memset(m, 0, sizeof *m);
}

aw_model_ws_t *aw_model_ws_new(const aw_shape_t *shape, int max_points, int max_rows)
{
    if (!shape_valid(shape) || max_points < 1 || max_rows < max_points)
        return NULL;
    aw_model_ws_t *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    const int L = shape->n_hidden, H = shape->H, D = shape->D;
    int widest = 2 * H;
    for (int l = 0; l < L; l++)
        widest = shape->hidden[l] > widest ? shape->hidden[l] : widest;
    const size_t P = (size_t)max_points, R = (size_t)max_rows;
    /* Sizes of each buffer in values, each rounded up to 16 values (64 bytes) so every buffer is aligned. */
    size_t sizes[4 * AW_MAX_HIDDEN + 16], total = 0;
    int nb = 0;
    for (int l = 0; l < L; l++)
        sizes[nb++] = P * shape->hidden[l];
    sizes[nb++] = P * 2 * H;
    sizes[nb++] = P * 2 * H;
    sizes[nb++] = P * H;
    sizes[nb++] = P * widest;
    sizes[nb++] = P * widest;
    for (int l = 0; l < L; l++)
        sizes[nb++] = R * shape->hidden[L - 1 - l];
    sizes[nb++] = R * D;
    sizes[nb++] = R * widest;
    sizes[nb++] = R * widest;
    sizes[nb++] = R * H;
    sizes[nb++] = R * H;
    sizes[nb++] = R * H;
    sizes[nb++] = R;
    sizes[nb++] = R;
    sizes[nb++] = P * sizeof(double) / sizeof(aw_real);
    for (int i = 0; i < nb; i++) {
        sizes[i] = (sizes[i] + 15) / 16 * 16;
        total += sizes[i];
    }
    aw_real *p = alloc64(total * sizeof *p, 0);
    if (!p) {
        free(ws);
        return NULL;
    }
    ws->block = p;
    ws->shape = *shape;
    ws->max_points = max_points;
    ws->max_rows = max_rows;
    int i = 0;
#define AW_TAKE(dst) do { (dst) = p; p += sizes[i++]; } while (0)
    for (int l = 0; l < L; l++)
        AW_TAKE(ws->enc_act[l]);
    AW_TAKE(ws->enc_out);
    AW_TAKE(ws->enc_dout);
    AW_TAKE(ws->sig);
    AW_TAKE(ws->enc_d[0]);
    AW_TAKE(ws->enc_d[1]);
    for (int l = 0; l < L; l++)
        AW_TAKE(ws->dec_act[l]);
    AW_TAKE(ws->logits);
    AW_TAKE(ws->dec_d[0]);
    AW_TAKE(ws->dec_d[1]);
    AW_TAKE(ws->h);
    AW_TAKE(ws->eps);
    AW_TAKE(ws->gh);
    AW_TAKE(ws->row_a);
    AW_TAKE(ws->row_b);
    ws->pt = (double *)(void *)p;
#undef AW_TAKE
    ws->dec = aw_dec_kernel_pick(shape, max_rows);
    return ws;
}

void aw_model_ws_free(aw_model_ws_t *ws)
{
    if (!ws)
        return;
    free(ws->kscratch);
    free(ws->block);
    free(ws);
}

void *aw_model_ws_scratch(aw_model_ws_t *ws, size_t need)
{
    if (need > ws->kscratch_bytes) {
        free(ws->kscratch);
        ws->kscratch = alloc64(need, 1);
        ws->kscratch_bytes = ws->kscratch != NULL ? need : 0;
    }
    return ws->kscratch;
}

/* sig [H] = exp(ls [H]), vectorized (a scalar loop was 5% of the encoder's forward pass). */
AW_KERNEL static void sig_row(const aw_real *ls, aw_real *sig, int H)
{
#pragma omp simd
    for (int j = 0; j < H; j++)
        sig[j] = AW_EXP(ls[j]);
}

void aw_model_enc_forward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B)
{
    const int L = m->shape.n_hidden;
    const aw_real *in = x;
    for (int l = 0; l < L; l++) {
        aw_layer_forward_tanh(&m->enc[l], in, B, ws->enc_act[l]);
        in = ws->enc_act[l];
    }
    aw_layer_forward(&m->enc[L], in, B, ws->enc_out);
    const int H = m->shape.H;
    for (int i = 0; i < B; i++)
        sig_row(ws->enc_out + (size_t)i * 2 * H + H, ws->sig + (size_t)i * H, H);
}

/* Where the gradient of the encoder parameters at p sits in grad_enc: at their offset in params. */
static aw_real *grad_at(const aw_model_t *m, aw_real *grad_enc, const aw_real *p)
{
    return grad_enc + (p - m->params);
}

void aw_model_enc_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B,
                           aw_real *grad_enc)
{
    const int L = m->shape.n_hidden;
    const aw_real *dy = ws->enc_dout;
    for (int l = L; l >= 0; l--) {
        const aw_layer_t *y = &m->enc[l];
        const aw_real *in = l == 0 ? x : ws->enc_act[l - 1];
        aw_layer_backward_weights(y, in, dy, B, grad_at(m, grad_enc, y->W), grad_at(m, grad_enc, y->b),
                                  AW_R(0.0));
        if (l == 0)
            break;
        aw_real *dx = ws->enc_d[l & 1];
        aw_layer_backward_input(y, dy, B, dx);
        aw_tanh_backward(ws->enc_act[l - 1], dx, B, y->in);
        dy = dx;
    }
}

/* Lanes of the Bernoulli kernel and chunks of lanes between two flushes of the log-products (each factor
 * 1 + e is in (1, 2], so a lane's product stays below 2^64). */
#define AW_BERN_LANES 16
#define AW_BERN_FLUSH 64

AW_KERNEL aw_real aw_model_bern_row(const aw_real *x, aw_real *z, const aw_real *b, int D, int grad,
                                    aw_real scale)
{
    /* sum_d (x a - softplus(a)) = sum_d (x a - max(a,0)) - log prod_d (1 + e^-|a|): one exp per pixel and
     * one log per lane and flush instead of a log per pixel. */
    const int L = AW_BERN_LANES;
    aw_real acc[AW_BERN_LANES], prod[AW_BERN_LANES], s = 0;
    for (int j = 0; j < L; j++) {
        acc[j] = 0;
        prod[j] = 1;
    }
    int d = 0, chunks = 0;
    for (; d + L <= D; d += L) {
        if (grad) {
#pragma omp simd
            for (int j = 0; j < L; j++) {
                aw_real a = z[d + j] + b[d + j];
                aw_real e = AW_EXP(-AW_FABS(a));
                aw_real pos = a > 0 ? a : AW_R(0.0);
                aw_real u = AW_R(1.0) + e;
                aw_real num = a >= 0 ? AW_R(1.0) : e;
                acc[j] += x[d + j] * a - pos;
                prod[j] *= u;
                z[d + j] = scale * (x[d + j] - num / u);
            }
        } else {
#pragma omp simd
            for (int j = 0; j < L; j++) {
                aw_real a = z[d + j] + b[d + j];
                aw_real e = AW_EXP(-AW_FABS(a));
                aw_real pos = a > 0 ? a : AW_R(0.0);
                acc[j] += x[d + j] * a - pos;
                prod[j] *= AW_R(1.0) + e;
            }
        }
        if (++chunks == AW_BERN_FLUSH) {
            chunks = 0;
            for (int j = 0; j < L; j++) {
                s -= AW_LOG(prod[j]);
                prod[j] = 1;
            }
        }
    }
    for (; d < D; d++) {
        aw_real a = z[d] + b[d];
        aw_real e = AW_EXP(-AW_FABS(a));
        aw_real pos = a > 0 ? a : AW_R(0.0);
        s += x[d] * a - pos - AW_LOG1P(e);
        if (grad) {
            aw_real num = a >= 0 ? AW_R(1.0) : e;
            z[d] = scale * (x[d] - num / (AW_R(1.0) + e));
        }
    }
    for (int j = 0; j < L; j++)
        s += acc[j] - AW_LOG(prod[j]);
    return s;
}

AW_KERNEL aw_real aw_model_log_prior(const aw_real *h, int H)
{
    aw_real s = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < H; j++)
        s += h[j] * h[j];
    return AW_R(-0.5) * s - (aw_real)(H * AW_LOG_SQRT_2PI);
}

AW_KERNEL aw_real aw_model_sample_row(const aw_real *mu, const aw_real *sig, const aw_real *eps, aw_real *h,
                                      int H)
{
    aw_real s = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < H; j++) {
        aw_real v = mu[j] + sig[j] * eps[j];
        h[j] = v;
        s += eps[j] * eps[j] - v * v;
    }
    return AW_R(0.5) * s;
}

int aw_model_encode(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, aw_real *mu,
                    aw_real *logsig)
{
    if (B < 1 || B > ws->max_points)
        return AW_EARG;
    aw_model_enc_forward(m, ws, x, B);
    const int H = m->shape.H;
    for (int i = 0; i < B; i++) {
        memcpy(mu + (size_t)i * H, ws->enc_out + (size_t)i * 2 * H, (size_t)H * sizeof *mu);
        memcpy(logsig + (size_t)i * H, ws->enc_out + (size_t)i * 2 * H + H, (size_t)H * sizeof *logsig);
    }
    return 0;
}

/* Checks B >= 1, K >= 1 and that N = B*K rows fit the workspace. */
static int rows_ok(const aw_model_ws_t *ws, int B, int K)
{
    return B >= 1 && K >= 1 && (int64_t)B * K <= ws->max_rows;
}

int aw_model_log_joint(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                       const aw_real *h, aw_real *logp, aw_real *grad_h)
{
    if (!rows_ok(ws, B, K))
        return AW_EARG;
    aw_model_dec_loglik(m, ws, x, K, h, B * K, logp, AW_LOGLIK_PRIOR, grad_h);
    return 0;
}

int aw_model_log_joint_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                            const aw_real *h, aw_real *scratch, aw_real *grad_h)
{
    if (!rows_ok(ws, B, K) || grad_h == NULL)
        return AW_EARG;
    aw_model_dec_loglik(m, ws, x, K, h, B * K, scratch, AW_LOGLIK_PRIOR | AW_LOGLIK_GRAD_ONLY, grad_h);
    return 0;
}

int aw_model_decoder_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                          const aw_real *h, const aw_real *w, aw_real *grad_dec, double *loss)
{
    if (!rows_ok(ws, B, K))
        return AW_EARG;
    const int N = B * K;
    aw_real *lp = ws->row_a, *c = ws->row_b;
    aw_model_dec_train_forward(m, ws, x, K, h, N, lp, AW_LOGLIK_PRIOR, 0);
    double s = 0;
    for (int n = 0; n < N; n++)
        s += (double)w[n] * lp[n];
    *loss = -s / B;
    for (int n = 0; n < N; n++)
        c[n] = -w[n] / (aw_real)B;
    aw_model_dec_train_backward(m, ws, c, grad_dec, NULL);
    return 0;
}
