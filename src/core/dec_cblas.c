/* dec_cblas.c: the reference decoder kernel (decoder.h): one CBLAS GEMM per layer and direction (mlp.h),
 * the Bernoulli rows and the element-wise passes between them, in the decoder buffers of the workspace. */
#include <omp.h>
#include <stddef.h>

#include "core/decoder.h"

/* Decoder forward on h [N,H]: fills dec_act and logits (without the last layer's bias, which
 * aw_model_bern_row adds). */
static void dec_forward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *h, int N)
{
    const int L = m->shape.n_hidden;
    const aw_real *in = h;
    for (int l = 0; l < L; l++) {
        aw_layer_forward_tanh(&m->dec[l], in, N, ws->dec_act[l]);
        in = ws->dec_act[l];
    }
    const aw_layer_t *y = &m->dec[L];
    aw_gemm(0, 1, N, y->out, y->in, in, y->in, y->W, y->in, AW_R(0.0), ws->logits, y->out);
}

/* Decoder backward from the logit gradient in logits [N,D] (filled by the caller) through the activations
 * of the last dec_forward on h [N,H]. If grad_dec != NULL writes the decoder weight gradient [dec_n]
 * (overwrites); if grad_h != NULL writes grad_h [N,H] = beta_h * grad_h + d/dh. */
static void dec_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *h, int N, aw_real *grad_dec,
                         aw_real *grad_h, aw_real beta_h)
{
    const int L = m->shape.n_hidden;
    const aw_real *dy = ws->logits;
    const aw_real *p0 = m->params + m->dec_off; /* layer l's gradient sits at its offset in the block */
    for (int l = L; l >= 0; l--) {
        const aw_layer_t *y = &m->dec[l];
        const aw_real *in = l == 0 ? h : ws->dec_act[l - 1];
        if (grad_dec)
            aw_layer_backward_weights(y, in, dy, N, grad_dec + (y->W - p0), grad_dec + (y->b - p0), AW_R(0.0));
        if (l == 0) {
            if (grad_h)
                aw_gemm(0, 0, N, y->in, y->out, dy, y->out, y->W, y->in, beta_h, grad_h, y->in);
            break;
        }
        aw_real *dx = ws->dec_d[l & 1];
        aw_layer_backward_input(y, dy, N, dx);
        aw_tanh_backward(ws->dec_act[l - 1], dx, N, y->in);
        dy = dx;
    }
}

/* v = ws restricted to decoder rows [r0, max_rows): the per-row buffers start at row r0. */
static void ws_rows(const aw_model_ws_t *ws, int r0, aw_model_ws_t *v)
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

/* Rows [r0, r0+n) of the log-likelihood, on the workspace view for those rows. */
static void loglik_rows(const aw_model_t *m, aw_model_ws_t *v, const aw_real *x, int K, int r0, int n,
                        const aw_real *h, aw_real *out, int flags, aw_real *grad_h)
{
    const int D = m->shape.D, H = m->shape.H;
    const aw_real *b = m->dec[m->shape.n_hidden].b;
    const int grad = grad_h != NULL;
    dec_forward(m, v, h, n);
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
        dec_backward(m, v, h, n, NULL, grad_h, AW_R(1.0));
}

static int ref_loglik(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K, const aw_real *h,
                      int N, aw_real *out, int flags, aw_real *grad_h)
{
    const int H = m->shape.H;
    const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt < 2) {
        loglik_rows(m, ws, x, K, 0, N, h, out, flags, grad_h);
        return 0;
    }
    /* Data parallel over chunks of AW_GEMM_ROWS rows: each thread runs the whole decoder on its chunks with
     * single-threaded GEMMs, so no barrier separates the GEMMs from the element-wise passes and a chunk
     * stays in its core's cache. The chunks are aw_gemm's, so every row sees the GEMM shapes it would see
     * in one call over all rows. */
    const int nc = (N + AW_GEMM_ROWS - 1) / AW_GEMM_ROWS;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int c = 0; c < nc; c++) {
        const int r0 = c * AW_GEMM_ROWS, n = N - r0 < AW_GEMM_ROWS ? N - r0 : AW_GEMM_ROWS;
        aw_model_ws_t v;
        ws_rows(ws, r0, &v);
        loglik_rows(m, &v, x, K, r0, n, h + (size_t)r0 * H, out + r0, flags,
                    grad_h != NULL ? grad_h + (size_t)r0 * H : NULL);
    }
    return 0;
}

/* The forward half keeps d log p(x|h) / d logits of every row in ws->logits; the backward half scales row n
 * by c[n] and runs the decoder backward from there. */
static int ref_train_forward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *x, int K,
                               const aw_real *h, int N, aw_real *out, int flags, int want_gh)
{
    (void)want_gh;
    const int D = m->shape.D, H = m->shape.H;
    const aw_real *b = m->dec[m->shape.n_hidden].b;
    dec_forward(m, ws, h, N);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        aw_real lp = aw_model_bern_row(x + (size_t)(n / K) * D, ws->logits + (size_t)n * D, b, D, 1, AW_R(1.0));
        if (flags & AW_LOGLIK_PRIOR)
            lp += aw_model_log_prior(h + (size_t)n * H, H);
        out[n] = (flags & AW_LOGLIK_ADD) ? out[n] + lp : lp;
    }
    ws->train_h = h;
    ws->train_N = N;
    return 0;
}

static void ref_train_backward(const aw_model_t *m, aw_model_ws_t *ws, const aw_real *c, aw_real *grad_dec,
                                 aw_real *gh)
{
    const int N = ws->train_N, D = m->shape.D;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        aw_real *z = ws->logits + (size_t)n * D;
        const aw_real cn = c[n];
#pragma omp simd
        for (int d = 0; d < D; d++)
            z[d] *= cn;
    }
    dec_backward(m, ws, ws->train_h, N, grad_dec, gh, AW_R(0.0));
}

static int ref_usable(const aw_shape_t *shape, int max_rows)
{
    (void)shape, (void)max_rows;
    return 1;
}

const aw_dec_kernel_t aw_dec_cblas = {
    .name = "cblas",
    .usable = ref_usable,
    .train_min_rows = 1,
    .row_independent = 0,
    .loglik = ref_loglik,
    .train_forward = ref_train_forward,
    .train_backward = ref_train_backward,
};
