/* model.c: parameter layout and initialization, the workspace, and the encoder / decoder passes: one GEMM
 * per layer and direction over all rows, element-wise work fused into one parallel pass per layer. */
#include "core/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <omp.h>
#include <string.h>

#include <cblas.h>

#include "core/model_ws.h"
#ifndef AW_REAL_DOUBLE
#include "core/decfuse.h"
#endif

static int shape_valid(const aw_shape_t *s)
{
    if (s->D < 1 || s->H < 1 || s->n_hidden < 1 || s->n_hidden > AW_MAX_HIDDEN)
        return 0;
    for (int l = 0; l < s->n_hidden; l++)
        if (s->hidden[l] < 1)
            return 0;
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

size_t aw_shape_n_params(const aw_shape_t *shape)
{
    if (!shape_valid(shape))
        return 0;
    const int L = shape->n_hidden;
    size_t n = 0;
    int in = shape->D;
    for (int l = 0; l < L; l++) {
        n += (size_t)shape->hidden[l] * in + shape->hidden[l];
        in = shape->hidden[l];
    }
    n += (size_t)2 * shape->H * in + 2 * shape->H;
    in = shape->H;
    for (int l = L - 1; l >= 0; l--) {
        n += (size_t)shape->hidden[l] * in + shape->hidden[l];
        in = shape->hidden[l];
    }
    n += (size_t)shape->D * in + shape->D;
    return n;
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
                            "model: invalid shape (D=%d, H=%d, n_hidden=%d): sizes must be >= 1 and "
                            "n_hidden at most %d", shape->D, shape->H, shape->n_hidden, AW_MAX_HIDDEN);
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
    return ws;
}

void aw_model_ws_free(aw_model_ws_t *ws)
{
    if (!ws)
        return;
    free(ws->fuse);
    free(ws->block);
    free(ws);
}

aw_real *aw_model_ws_eps(aw_model_ws_t *ws)
{
    return ws->eps;
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
        for (int j = 0; j < H; j++)
            ws->sig[(size_t)i * H + j] = AW_EXP(ws->enc_out[(size_t)i * 2 * H + H + j]);
}

/* Gradient block of layer l inside a network's gradient: W part at the same offset as in params. */
static aw_real *grad_at(const aw_model_t *m, aw_real *grad_block, size_t block_off, const aw_real *p)
{
    return grad_block + (size_t)(p - m->params) - block_off;
}

void aw_model_enc_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B,
                           aw_real *grad_enc)
{
    const int L = m->shape.n_hidden;
    const aw_real *dy = ws->enc_dout;
    for (int l = L; l >= 0; l--) {
        const aw_layer_t *y = &m->enc[l];
        const aw_real *in = l == 0 ? x : ws->enc_act[l - 1];
        aw_layer_backward_weights(y, in, dy, B, grad_at(m, grad_enc, 0, y->W), grad_at(m, grad_enc, 0, y->b),
                                  AW_R(0.0));
        if (l == 0)
            break;
        aw_real *dx = ws->enc_d[l & 1];
        aw_layer_backward_input(y, dy, B, dx);
        aw_tanh_backward(ws->enc_act[l - 1], dx, B, y->in);
        dy = dx;
    }
}

void aw_model_dec_forward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *h, int N)
{
    const int L = m->shape.n_hidden;
    const aw_real *in = h;
    for (int l = 0; l < L; l++) {
        aw_layer_forward_tanh(&m->dec[l], in, N, ws->dec_act[l]);
        in = ws->dec_act[l];
    }
    const aw_layer_t *y = &m->dec[L];
    AW_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, y->out, y->in, AW_R(1.0), in, y->in, y->W, y->in,
            AW_R(0.0), ws->logits, y->out);
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

void aw_model_dec_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *h, int N,
                           aw_real *grad_dec, aw_real *grad_h, aw_real beta_h)
{
    const int L = m->shape.n_hidden;
    const aw_real *dy = ws->logits;
    for (int l = L; l >= 0; l--) {
        const aw_layer_t *y = &m->dec[l];
        const aw_real *in = l == 0 ? h : ws->dec_act[l - 1];
        if (grad_dec)
            aw_layer_backward_weights(y, in, dy, N, grad_at(m, grad_dec, m->dec_off, y->W),
                                      grad_at(m, grad_dec, m->dec_off, y->b), AW_R(0.0));
        if (l == 0) {
            if (grad_h)
                AW_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, y->in, y->out, AW_R(1.0), dy, y->out,
                        y->W, y->in, beta_h, grad_h, y->in);
            break;
        }
        aw_real *dx = ws->dec_d[l & 1];
        aw_layer_backward_input(y, dy, N, dx);
        aw_tanh_backward(ws->dec_act[l - 1], dx, N, y->in);
        dy = dx;
    }
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

void aw_model_ws_rows(const aw_model_ws_t *ws, int r0, aw_model_ws_t *v)
{
    *v = *ws;
    const int L = ws->shape.n_hidden, H = ws->shape.H, D = ws->shape.D;
    int widest = 2 * H;
    for (int l = 0; l < L; l++)
        widest = ws->shape.hidden[l] > widest ? ws->shape.hidden[l] : widest;
    const size_t r = (size_t)r0;
    for (int l = 0; l < L; l++)
        v->dec_act[l] = ws->dec_act[l] + r * (size_t)ws->shape.hidden[L - 1 - l];
    v->logits = ws->logits + r * (size_t)D;
    v->dec_d[0] = ws->dec_d[0] + r * (size_t)widest;
    v->dec_d[1] = ws->dec_d[1] + r * (size_t)widest;
    v->h = ws->h + r * (size_t)H;
    v->eps = ws->eps + r * (size_t)H;
    v->gh = ws->gh + r * (size_t)H;
    v->row_a = ws->row_a + r;
    v->row_b = ws->row_b + r;
    v->max_rows = ws->max_rows - r0;
}

/* Rows [r0, r0+n) of aw_model_dec_loglik, on the workspace view for those rows. */
static void dec_loglik_rows(const aw_model_t *m, aw_model_ws_t *v, const aw_real *x, int K, int r0, int n,
                            const aw_real *h, aw_real *out, int flags, aw_real *grad_h)
{
    const int D = m->shape.D, H = m->shape.H;
    const aw_real *b = m->dec[m->shape.n_hidden].b;
    const int grad = grad_h != NULL;
    aw_model_dec_forward(m, v, h, n);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const aw_real *hi = h + (size_t)i * H, *xi = x + (size_t)((r0 + i) / K) * D;
        aw_real lp = aw_model_bern_row(xi, v->logits + (size_t)i * D, b, D, grad, AW_R(1.0));
        if (flags & AW_LOGLIK_PRIOR)
            lp += aw_model_log_prior(hi, H);
        out[i] = (flags & AW_LOGLIK_ADD) ? out[i] + lp : lp;
        if (grad)
            for (int j = 0; j < H; j++)
                grad_h[(size_t)i * H + j] = (flags & AW_LOGLIK_PRIOR) ? -hi[j] : AW_R(0.0);
    }
    if (grad)
        aw_model_dec_backward(m, v, h, n, NULL, grad_h, AW_R(1.0));
}

/* Rows per thread below which splitting the rows over threads does not pay. */
#define AW_ROWS_PER_THREAD_MIN 64

void aw_model_ws_set_fused(aw_model_ws_t *ws, int on)
{
    ws->no_fuse = !on;
}

#ifndef AW_REAL_DOUBLE
/* ws's fused-decoder scratch with at least `need` bytes, or NULL (out of memory: callers fall back to the
 * reference path). A regrown block is zeroed, which marks its packed weights invalid. */
static void *fuse_scratch(aw_model_ws_t *ws, size_t need)
{
    if (need > ws->fuse_bytes) {
        free(ws->fuse);
        ws->fuse = alloc64(need, 1);
        ws->fuse_bytes = ws->fuse != NULL ? need : 0;
    }
    return ws->fuse;
}
#endif

/* Rows below which a training pass stays on the reference path: a few groups would leave threads idle. */
#define AW_FUSE_TRAIN_MIN_ROWS 128

int aw_model_dec_train_begin(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K,
                             const aw_real *h, int N, aw_real *out, int flags, int want_gh)
{
#ifndef AW_REAL_DOUBLE
    const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (ws->no_fuse || N < AW_FUSE_TRAIN_MIN_ROWS || !aw_decfuse_usable())
        return 0;
    void *scratch = fuse_scratch(ws, aw_decfuse_bytes(&m->shape, N, nt, 1));
    if (scratch == NULL)
        return 0;
    aw_decfuse_train_forward(m, scratch, nt, x, K, h, N, out, flags, want_gh);
    return 1;
#else
    (void)m, (void)ws, (void)x, (void)K, (void)h, (void)N, (void)out, (void)flags, (void)want_gh;
    return 0;
#endif
}

void aw_model_dec_train_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *c, aw_real *grad_dec,
                             aw_real *gh)
{
#ifndef AW_REAL_DOUBLE
    aw_decfuse_train_backward(m, ws->fuse, omp_in_parallel() ? 1 : omp_get_max_threads(), c, grad_dec, gh);
#else
    (void)m, (void)ws, (void)c, (void)grad_dec, (void)gh;
#endif
}

void aw_model_dec_loglik(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K, const aw_real *h,
                         int N, aw_real *out, int flags, aw_real *grad_h)
{
    const int H = m->shape.H;
    const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
#ifndef AW_REAL_DOUBLE
    if (!ws->no_fuse && N > 0 && aw_decfuse_usable()) {
        void *scratch = fuse_scratch(ws, aw_decfuse_bytes(&m->shape, N, nt, 0));
        if (scratch != NULL) {
            aw_decfuse_loglik(m, scratch, nt, x, K, h, N, out, flags, grad_h);
            return;
        }
    }
#endif
    if (nt < 2 || N < nt * AW_ROWS_PER_THREAD_MIN) {
        dec_loglik_rows(m, ws, x, K, 0, N, h, out, flags, grad_h);
        return;
    }
    /* Data parallel: each thread runs the whole decoder on its own block of rows with single-threaded
     * GEMMs (OpenBLAS runs one thread inside a parallel region), so no barrier separates the GEMMs from
     * the element-wise passes and each block stays in its core's cache. Row results do not depend on the
     * blocking, and the split is a fixed function of N and the thread count. */
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        const int r0 = (int)((long)N * t / T), r1 = (int)((long)N * (t + 1) / T);
        if (r1 > r0) {
            aw_model_ws_t v;
            aw_model_ws_rows(ws, r0, &v);
            dec_loglik_rows(m, &v, x, K, r0, r1 - r0, h + (size_t)r0 * H, out + r0, flags,
                            grad_h != NULL ? grad_h + (size_t)r0 * H : NULL);
        }
    }
}

int aw_model_log_joint(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                       const aw_real *h, aw_real *logp, aw_real *grad_h)
{
    if (!rows_ok(ws, B, K))
        return AW_EARG;
    aw_model_dec_loglik(m, ws, x, K, h, B * K, logp, AW_LOGLIK_PRIOR, grad_h);
    return 0;
}

int aw_model_decoder_grad(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int B, int K,
                          const aw_real *h, const aw_real *w, aw_real *grad_dec, double *loss)
{
    if (!rows_ok(ws, B, K))
        return AW_EARG;
    const int N = B * K, D = m->shape.D, H = m->shape.H;
    const aw_real *b = m->dec[m->shape.n_hidden].b;
    aw_real *lp = ws->row_a, *c = ws->row_b;
    const int fused = aw_model_dec_train_begin(m, ws, x, K, h, N, lp, AW_LOGLIK_PRIOR, 0);
    if (!fused) {
        aw_model_dec_forward(m, ws, h, N);
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const aw_real *xn = x + (size_t)(n / K) * D;
            lp[n] = aw_model_bern_row(xn, ws->logits + (size_t)n * D, b, D, 1, -w[n] / (aw_real)B) +
                    aw_model_log_prior(h + (size_t)n * H, H);
        }
    }
    double s = 0;
    for (int n = 0; n < N; n++)
        s += (double)w[n] * lp[n];
    *loss = -s / B;
    if (fused) {
        for (int n = 0; n < N; n++)
            c[n] = -w[n] / (aw_real)B;
        aw_model_dec_train_grad(m, ws, c, grad_dec, NULL);
    } else {
        aw_model_dec_backward(m, ws, h, N, grad_dec, NULL, AW_R(0.0));
    }
    return 0;
}
