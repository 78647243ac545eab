/* test_data.c: datasets by name on generated fixtures (search path, sizes, orientation, value checks),
 * batches and binarization, and the real MNIST and binarized MNIST files (from $AIWAE_DATA_DIR or the source
 * tree's data/; skipped, saying where they were looked for, when absent). The IDX and gzip readers
 * themselves are test_idx.c's. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data.h"
#include "fixtures.h"
#include "skip.h"
#include "data/idx.h"
#include "data/mat.h"
#include "util/rng.h"

#define SIDE AW_FX_SIDE
#define DIM (SIDE * SIDE)

static char tmp[4096];

static void make_tmp(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(tmp, sizeof tmp), 0);
}

static void drop_tmp(void)
{
    aw_fx_rmtree(tmp);
}

/* Writes buf to tmp/name. */
static void write_tmp(const char *name, const aw_fx_buf_t *b, char *path, size_t n)
{
    ck_assert_int_eq(aw_fx_write_in(tmp, name, b, path, n), 0);
}

/* A data dir with mnist/ (gzip), found through opts.dir, $AIWAE_DATA_DIR and ./data; sizes; labels. */
START_TEST(test_mnist_search_path)
{
    make_tmp();
    ck_assert_int_eq(aw_fx_mkdir(tmp, "d1"), 0);
    ck_assert_int_eq(aw_fx_mkdir(tmp, "d1/mnist"), 0);
    aw_fx_buf_t img, lab, gimg, glab, timg, tlab;
    aw_fx_mnist_like(7, &img, &lab);
    aw_fx_mnist_like(3, &timg, &tlab);
    aw_fx_gzip(img.p, img.n, &gimg);
    aw_fx_gzip(lab.p, lab.n, &glab);
    char path[4200];
    write_tmp("d1/mnist/train-images-idx3-ubyte.gz", &gimg, path, sizeof path);
    write_tmp("d1/mnist/train-labels-idx1-ubyte.gz", &glab, path, sizeof path);
    /* Test files uncompressed and directly in the base directory. */
    write_tmp("d1/t10k-images-idx3-ubyte", &timg, path, sizeof path);
    write_tmp("d1/t10k-labels.idx1-ubyte", &tlab, path, sizeof path);
    char d1[4200];
    snprintf(d1, sizeof d1, "%s/d1", tmp);
    aw_data_opts_t o = {.name = "mnist", .dir = d1};
    aw_dataset_t ds;
    aw_error_t err;
    ck_assert_msg(aw_data_load(&o, "train", &ds, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(ds.n, 7);
    ck_assert_uint_eq(ds.dim, DIM);
    ck_assert_int_eq(ds.rows, SIDE);
    ck_assert_int_eq(ds.cols, SIDE);
    ck_assert_ptr_nonnull(strstr(ds.source, "d1/mnist/train-images-idx3-ubyte.gz"));
    ck_assert_ptr_nonnull(ds.x8); /* 8-bit files stay 8-bit */
    ck_assert_float_eq(aw_dataset_value(&ds, 5 * DIM + 100), (float)((5 * 31 + 100) % 256) / 255.0f);
    ck_assert_int_eq(ds.labels[6], 6);
    aw_dataset_fini(&ds);
    o.train_size = 4;
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), 0);
    ck_assert_uint_eq(ds.n, 4);
    ck_assert_int_eq(ds.labels[3], 3);
    aw_dataset_fini(&ds);
    o.train_size = 8;
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_ESPEC);
    ck_assert_msg(strstr(err.msg, "dataset.train_size is 8 but split 'train'") && strstr(err.msg, "only 7 images"),
                  "%s", err.msg);
    ck_assert_ptr_null(ds.x);
    ck_assert_ptr_null(ds.x8);
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), 0);
    ck_assert_uint_eq(ds.n, 3);
    ck_assert_ptr_nonnull(strstr(ds.source, "d1/t10k-images-idx3-ubyte"));
    aw_dataset_fini(&ds);
    ck_assert_int_eq(aw_data_load(&o, "valid", &ds, &err), AW_EARG);
    /* $AIWAE_DATA_DIR when the spec gives no directory; the spec's directory wins over it. */
    o.dir = NULL;
    o.train_size = 0;
    ck_assert_int_eq(setenv("AIWAE_DATA_DIR", d1, 1), 0);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), 0);
    aw_dataset_fini(&ds);
    o.dir = tmp;
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "train images of dataset 'mnist' not found; tried ") &&
                      strstr(err.msg, "/mnist/train-images-idx3-ubyte, ") &&
                      strstr(err.msg, "/mnist/train-images-idx3-ubyte.gz, ") &&
                      strstr(err.msg, "/train-images-idx3-ubyte.gz (base directory from the spec's dataset.dir"),
                  "%s", err.msg);
    /* ./data when neither is set. */
    o.dir = NULL;
    ck_assert_int_eq(unsetenv("AIWAE_DATA_DIR"), 0);
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmp), 0);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "tried data/mnist/train-images-idx3-ubyte, ") &&
                      strstr(err.msg, "the default ./data"), "%s", err.msg);
    ck_assert_int_eq(rename("d1", "data"), 0);
    ck_assert_msg(aw_data_load(&o, "train", &ds, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(ds.source, "data/mnist/train-images-idx3-ubyte.gz");
    /* With a plain file beside the .gz (as data/fetch leaves them), the plain one is read: the same images. */
    write_tmp("data/mnist/train-images-idx3-ubyte", &img, path, sizeof path);
    aw_dataset_t plain;
    ck_assert_msg(aw_data_load(&o, "train", &plain, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(plain.source, "data/mnist/train-images-idx3-ubyte");
    ck_assert_uint_eq(plain.n, ds.n);
    ck_assert_int_eq(memcmp(plain.x8, ds.x8, ds.n * ds.dim), 0);
    aw_dataset_fini(&plain);
    ck_assert_int_eq(unlink("data/mnist/train-images-idx3-ubyte"), 0);
    aw_dataset_fini(&ds);
    /* Labels that disagree with the images, and labels out of 0..9. */
    lab.p[8 + 2] = 12;
    write_tmp("data/mnist/train-labels-idx1-ubyte", &lab, path, sizeof path);
    ck_assert_int_eq(unlink("data/mnist/train-labels-idx1-ubyte.gz"), 0);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "train-labels-idx1-ubyte: offset 10: label 12, expected 0..9"), "%s", err.msg);
    write_tmp("data/mnist/train-labels-idx1-ubyte", &tlab, path, sizeof path);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "offset 4: 3 labels, expected 7 to match the images"), "%s", err.msg);
    ck_assert_int_eq(chdir(cwd), 0);
    aw_fx_buf_fini(&img);
    aw_fx_buf_fini(&lab);
    aw_fx_buf_fini(&gimg);
    aw_fx_buf_fini(&glab);
    aw_fx_buf_fini(&timg);
    aw_fx_buf_fini(&tlab);
    drop_tmp();
}
END_TEST

/* The generic IDX pair: paths from the spec, labels optional, float images checked to lie in [0,1]. */
START_TEST(test_idx_dataset)
{
    make_tmp();
    double v[2 * 4] = {0, 0.5, 1, 0.25, 0.75, 1, 0, 0.5};
    uint32_t d[3] = {2, 2, 2};
    aw_fx_buf_t b;
    aw_fx_idx(AW_IDX_F32, 3, d, v, &b);
    char tr[4200], te[4200];
    write_tmp("tr.idx", &b, tr, sizeof tr);
    aw_fx_buf_fini(&b);
    v[3] = 1.5;
    aw_fx_idx(AW_IDX_F32, 3, d, v, &b);
    write_tmp("te.idx", &b, te, sizeof te);
    aw_fx_buf_fini(&b);
    aw_data_opts_t o = {.name = "idx", .train_images = tr, .test_images = te};
    aw_dataset_t ds;
    aw_error_t err;
    ck_assert_msg(aw_data_load(&o, "train", &ds, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(ds.n, 2);
    ck_assert_uint_eq(ds.dim, 4);
    ck_assert_int_eq(ds.rows, 2);
    ck_assert_ptr_null(ds.labels);
    ck_assert_float_eq(ds.x[5], 1.0f);
    aw_dataset_fini(&ds);
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "te.idx: images: image 0 pixel 3 is 1.5, expected a value in [0,1]"), "%s",
                  err.msg);
    v[3] = 0.25, v[6] = NAN; /* a NaN in the second image is named too */
    aw_fx_idx(AW_IDX_F32, 3, d, v, &b);
    write_tmp("te.idx", &b, te, sizeof te);
    aw_fx_buf_fini(&b);
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "te.idx: images: image 1 pixel 2 is nan, expected a value in [0,1]"), "%s",
                  err.msg);
    aw_binarize_t fixed = {AW_BIN_FIXED, 0};
    o.bin = &fixed;
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "image 0 pixel 1 is 0.5, expected 0 or 1 because binarize is 'fixed'"), "%s",
                  err.msg);
    o.test_images = NULL;
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), AW_ESPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "dataset 'idx' needs dataset.test_images"));
    o.name = "cifar";
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_ESPEC);
    ck_assert_ptr_nonnull(strstr(err.msg, "dataset.name is 'cifar'"));
    drop_tmp();
}
END_TEST

/* binarized_mnist from MAT fixtures (X, N x 784, stored as miUINT8 in miCOMPRESSED like the real ones). */
START_TEST(test_binarized_mnist_fixture)
{
    make_tmp();
    ck_assert_int_eq(aw_fx_mkdir(tmp, "binarized_mnist"), 0);
    enum { N = 5 };
    double *x = malloc(N * DIM * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t r = 0; r < N; r++)
        for (size_t c = 0; c < DIM; c++)
            x[r + c * N] = (double)((r * 3 + c) % 7 == 0); /* column-major: element (r, c) */
    aw_fx_matvar_t var = {.name = "X", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT8, .rows = N, .cols = DIM,
                          .values = x, .compress = 1};
    aw_fx_buf_t f;
    aw_fx_mat(&var, 1, 0, &f);
    char path[4200];
    write_tmp("binarized_mnist/binarized_mnist_valid.mat", &f, path, sizeof path);
    aw_fx_buf_fini(&f);
    aw_binarize_t fixed = {AW_BIN_FIXED, 0};
    aw_data_opts_t o = {.name = "binarized_mnist", .dir = tmp, .bin = &fixed, .test_size = 2};
    aw_dataset_t ds;
    aw_error_t err;
    ck_assert_msg(aw_data_load(&o, "valid", &ds, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(ds.n, N); /* valid is always whole */
    ck_assert_uint_eq(ds.dim, DIM);
    int bad = 0;
    for (size_t r = 0; r < N; r++)
        for (size_t c = 0; c < DIM; c++)
            bad += ds.x[r * DIM + c] != (float)x[r + c * N];
    ck_assert_int_eq(bad, 0);
    aw_dataset_fini(&ds);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "binarized_mnist/binarized_mnist_train.mat"));
    /* Wrong shape (784 x N), wrong variable name, and non-binary values with 'fixed'. */
    var.rows = DIM;
    var.cols = N;
    aw_fx_mat(&var, 1, 0, &f);
    write_tmp("binarized_mnist/binarized_mnist_test.mat", &f, path, sizeof path);
    aw_fx_buf_fini(&f);
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "binarized_mnist_test.mat: variable 'X' is 784 x 5, expected N x 784"), "%s",
                  err.msg);
    var.rows = N;
    var.cols = DIM;
    var.name = "Y";
    aw_fx_mat(&var, 1, 0, &f);
    write_tmp("binarized_mnist/binarized_mnist_test.mat", &f, path, sizeof path);
    aw_fx_buf_fini(&f);
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "binarized_mnist_test.mat: no variable 'X'; the file holds Y (5x784 double)"),
                  "%s", err.msg);
    var.name = "X";
    var.stored = AW_MI_DOUBLE;
    x[6] = 0.5; /* (r 1, c 1): inside the test_size = 2 images kept */
    aw_fx_mat(&var, 1, 0, &f);
    write_tmp("binarized_mnist/binarized_mnist_test.mat", &f, path, sizeof path);
    aw_fx_buf_fini(&f);
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "variable 'X': image 1 pixel 1 is 0.5, expected 0 or 1"), "%s", err.msg);
    o.bin = NULL;
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), 0);
    ck_assert_uint_eq(ds.n, 2);
    aw_dataset_fini(&ds);
    free(x);
    drop_tmp();
}
END_TEST

/* Omniglot: data / testdata 784 x N, each column a column-major 28x28 image, transposed to row-major. */
START_TEST(test_omniglot_fixture)
{
    make_tmp();
    ck_assert_int_eq(aw_fx_mkdir(tmp, "omniglot"), 0);
    enum { NTR = 3, NTE = 2 };
    double *tr = malloc(DIM * NTR * sizeof *tr), *te = malloc(DIM * NTE * sizeof *te);
    ck_assert_ptr_nonnull(tr);
    ck_assert_ptr_nonnull(te);
    /* Image i, pixel (row, col) = ((i*7 + row*3 + col*11) % 101) / 100, stored at p = row + 28*col. */
    for (size_t i = 0; i < NTR; i++)
        for (size_t row = 0; row < SIDE; row++)
            for (size_t col = 0; col < SIDE; col++)
                tr[i * DIM + row + SIDE * col] = (double)((i * 7 + row * 3 + col * 11) % 101) / 100.0;
    for (size_t k = 0; k < DIM * NTE; k++)
        te[k] = (double)(k % 2);
    aw_fx_matvar_t vars[] = {
        {.name = "data", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_DOUBLE, .rows = DIM, .cols = NTR, .values = tr,
         .compress = 1},
        {.name = "target", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT8, .rows = 1, .cols = 2, .compress = 1},
        {.name = "testdata", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT8, .rows = DIM, .cols = NTE,
         .values = te, .compress = 1},
    };
    aw_fx_buf_t f;
    aw_fx_mat(vars, 3, 0, &f);
    char path[4200];
    write_tmp("omniglot/chardata.mat", &f, path, sizeof path);
    aw_fx_buf_fini(&f);
    aw_data_opts_t o = {.name = "omniglot", .dir = tmp};
    aw_dataset_t ds;
    aw_error_t err;
    ck_assert_msg(aw_data_load(&o, "train", &ds, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(ds.n, NTR);
    ck_assert_int_eq(ds.rows, SIDE);
    int bad = 0;
    for (size_t i = 0; i < NTR; i++)
        for (size_t row = 0; row < SIDE; row++)
            for (size_t col = 0; col < SIDE; col++)
                bad += ds.x[i * DIM + row * SIDE + col] !=
                       (float)((double)((i * 7 + row * 3 + col * 11) % 101) / 100.0);
    ck_assert_int_eq(bad, 0);
    ck_assert_ptr_null(ds.labels);
    aw_dataset_fini(&ds);
    o.test_size = 1;
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), 0);
    ck_assert_uint_eq(ds.n, 1);
    ck_assert_float_eq(ds.x[1], 0.0f);          /* pixel (0,1) is stored at p = 28: even -> 0 */
    ck_assert_float_eq(ds.x[SIDE], 1.0f);       /* pixel (1,0) is stored at p = 1: odd -> 1 */
    aw_dataset_fini(&ds);
    /* Wrong shape, values outside [0,1], and a file without testdata. */
    vars[0].rows = NTR;
    vars[0].cols = DIM;
    vars[2].name = "other";
    tr[5] = -0.5;
    aw_fx_mat(vars, 3, 1, &f);
    write_tmp("omniglot/chardata.mat", &f, path, sizeof path);
    aw_fx_buf_fini(&f);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "chardata.mat: variable 'data' is 3 x 784, expected 784 x N"), "%s", err.msg);
    ck_assert_int_eq(aw_data_load(&o, "test", &ds, &err), AW_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "no variable 'testdata'; the file holds data (3x784 double), target (1x2 "
                                  "double), other (784x2 double)"), "%s", err.msg);
    vars[0].rows = DIM;
    vars[0].cols = NTR;
    aw_fx_mat(vars, 1, 0, &f);
    write_tmp("omniglot/chardata.mat", &f, path, sizeof path);
    aw_fx_buf_fini(&f);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "chardata.mat: variable 'data': image 0 pixel 140 is -0.5, expected a value in "
                                  "[0,1]"), "%s", err.msg); /* p = 5 is (row 5, col 0) -> 5*28 = 140 */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(aw_data_load(&o, "train", &ds, &err), AW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "omniglot/chardata.mat"));
    free(tr);
    free(te);
    drop_tmp();
}
END_TEST

static aw_dataset_t small_ds(float *x, size_t n, size_t dim)
{
    aw_dataset_t ds;
    memset(&ds, 0, sizeof ds);
    ds.n = n;
    ds.dim = dim;
    ds.rows = 1;
    ds.cols = (int)dim;
    ds.x = x;
    return ds;
}

/* Dynamic binarization draws Bernoulli(x) (mean within 5 standard errors), reproducibly from the seed;
 * threshold and fixed are deterministic; bad arguments are refused. */
START_TEST(test_batch)
{
    enum { N = 4, D = 1000, B = 3 };
    float *x = malloc(N * D * sizeof *x), *out = malloc(B * D * sizeof *out), *out2 = malloc(B * D * sizeof *out2);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(out2);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < D; k++)
            x[i * D + k] = (float)(i + 1) / 5.0f; /* image i has every pixel (i+1)/5 */
    aw_dataset_t ds = small_ds(x, N, D);
    size_t idx[B] = {3, 0, 3};
    aw_binarize_t dyn = {AW_BIN_DYNAMIC, 0}, thr = {AW_BIN_THRESHOLD, 0.3f}, fix = {AW_BIN_FIXED, 0};
    aw_rng_t r1, r2;
    aw_rng_seed(&r1, 5, 0);
    aw_rng_seed(&r2, 5, 0);
    double sum[B] = {0};
    int reps = 200;
    for (int rep = 0; rep < reps; rep++) {
        ck_assert_int_eq(aw_data_batch(&ds, idx, B, &dyn, &r1, out), 0);
        ck_assert_int_eq(aw_data_batch(&ds, idx, B, &dyn, &r2, out2), 0);
        ck_assert_int_eq(memcmp(out, out2, B * D * sizeof *out), 0);
        for (int b = 0; b < B; b++)
            for (size_t k = 0; k < D; k++)
                sum[b] += out[(size_t)b * D + k];
    }
    /* Fresh draws each time: two consecutive batches differ. */
    ck_assert_int_eq(aw_data_batch(&ds, idx, B, &dyn, &r1, out2), 0);
    ck_assert_int_ne(memcmp(out, out2, B * D * sizeof *out), 0);
    double cnt = (double)reps * D;
    for (int b = 0; b < B; b++) {
        double p = (double)(idx[b] + 1) / 5.0;
        ck_assert_double_lt(fabs(sum[b] / cnt - p), 5.0 * sqrt(p * (1 - p) / cnt));
    }
    ck_assert_int_eq(aw_data_batch(&ds, idx, B, &thr, NULL, out), 0);
    ck_assert_float_eq(out[0], 1.0f);        /* 0.8 > 0.3 */
    ck_assert_float_eq(out[D], 0.0f);        /* 0.2 <= 0.3 */
    ck_assert_int_eq(aw_data_batch(&ds, idx, B, &fix, NULL, out), 0);
    ck_assert_float_eq(out[D + 7], 0.2f);
    size_t badidx[1] = {N};
    ck_assert_int_eq(aw_data_batch(&ds, badidx, 1, &thr, NULL, out), AW_EARG);
    ck_assert_int_eq(aw_data_batch(&ds, idx, B, &dyn, NULL, out), AW_EARG);
    ck_assert_int_eq(aw_data_batch(&ds, idx, -1, &thr, NULL, out), AW_EARG);
    ck_assert_int_eq(aw_data_batch(&ds, NULL, 0, &thr, NULL, out), 0);
    free(x);
    free(out);
    free(out2);
}
END_TEST

/* An 8-bit dataset (x8, as MNIST loads) and its float twin (x = k / 255) give the same batches, bit for
 * bit, under every binarization; 100 images of 784 pixels take the threaded conversion. */
START_TEST(test_batch_bytes)
{
    enum { N = 100, D = 784, B = 100 };
    uint8_t *x8 = malloc(N * D);
    float *x = malloc(N * D * sizeof *x), *a = malloc(B * D * sizeof *a), *b = malloc(B * D * sizeof *b);
    ck_assert(x8 && x && a && b);
    for (size_t k = 0; k < (size_t)N * D; k++) {
        x8[k] = (uint8_t)(k * 37 % 256);
        x[k] = (float)x8[k] / 255.0f;
    }
    aw_dataset_t df = small_ds(x, N, D), d8 = small_ds(NULL, N, D);
    d8.x8 = x8;
    size_t idx[B];
    for (int i = 0; i < B; i++)
        idx[i] = (size_t)(i * 7 % N);
    const aw_binarize_t bins[3] = {{AW_BIN_DYNAMIC, 0}, {AW_BIN_THRESHOLD, 0.5f}, {AW_BIN_FIXED, 0}};
    for (int k = 0; k < 3; k++) {
        aw_rng_t r1, r2;
        aw_rng_seed(&r1, 9, 0);
        aw_rng_seed(&r2, 9, 0);
        ck_assert_int_eq(aw_data_batch(&df, idx, B, &bins[k], &r1, a), 0);
        ck_assert_int_eq(aw_data_batch(&d8, idx, B, &bins[k], &r2, b), 0);
        ck_assert_msg(memcmp(a, b, B * D * sizeof *a) == 0, "binarization %d: 8-bit and float batches differ", k);
    }
    ck_assert_float_eq(aw_dataset_value(&d8, 5), x[5]);
    ck_assert_int_eq(aw_data_images(&d8, idx, B, b), 0);
    ck_assert_float_eq(b[D + 3], x[idx[1] * D + 3]);
    size_t bad = N;
    ck_assert_int_eq(aw_data_images(&d8, &bad, 1, b), AW_EARG);
    free(x8);
    free(x);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_binarize_parse)
{
    aw_binarize_t b;
    aw_error_t err;
    ck_assert_int_eq(aw_binarize_parse("dynamic", &b, &err), 0);
    ck_assert_int_eq(b.kind, AW_BIN_DYNAMIC);
    ck_assert_int_eq(aw_binarize_parse("fixed", &b, &err), 0);
    ck_assert_int_eq(b.kind, AW_BIN_FIXED);
    ck_assert_int_eq(aw_binarize_parse("0.5", &b, &err), 0);
    ck_assert_int_eq(b.kind, AW_BIN_THRESHOLD);
    ck_assert_float_eq(b.threshold, 0.5f);
    static const char *const bad[] = {"", "0", "1", "1.5", "-0.1", "0.5x", "Dynamic", "nan", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(aw_binarize_parse(bad[i], &b, &err), AW_ESPEC);
        char want[64];
        snprintf(want, sizeof want, "dataset.binarize is \"%s\", expected", bad[i]);
        ck_assert_msg(strstr(err.msg, want), "%s", err.msg);
    }
}
END_TEST

/* Loads split of the real dataset o->name into ds (o->dir: aw_fx_data_dir). Returns 1 when loaded, 0 when
 * its files are not there (err: the loader's message, listing every path it tried, without its advice on
 * where the base directory came from); fails the test on any other error. */
static int load_real(aw_data_opts_t *o, char *dir, size_t n, const char *split, aw_dataset_t *ds,
                     aw_error_t *err)
{
    o->dir = aw_fx_data_dir(dir, n);
    int rc = aw_data_load(o, split, ds, err);
    if (rc == AW_EIO && strstr(err->msg, " not found; tried ") != NULL) {
        char *how = strstr(err->msg, " (base directory from"); /* the dir is the test's, not a spec's */
        if (how != NULL)
            *how = '\0';
        return 0;
    }
    ck_assert_msg(rc == 0, "%s", err->msg);
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* All of MNIST: sizes, the published label counts, mean training intensity 0.1307 (the load time is printed). */
START_TEST(test_real_mnist)
{
    static const size_t counts[2][10] = {{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
                                         {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}};
    char dir[4096];
    aw_data_opts_t o = {.name = "mnist"};
    aw_dataset_t tr, te;
    aw_error_t err;
    double t0 = now();
    if (!load_real(&o, dir, sizeof dir, "train", &tr, &err))
        AW_SKIP("real MNIST not tested (run data/fetch or set AIWAE_DATA_DIR): %s", err.msg);
    ck_assert_int_eq(load_real(&o, dir, sizeof dir, "test", &te, &err), 1);
    double t1 = now();
    printf("MNIST train+test loaded in %.3f s\n", t1 - t0);
    ck_assert_uint_eq(tr.n, 60000);
    ck_assert_uint_eq(te.n, 10000);
    ck_assert_uint_eq(tr.dim, 784);
    ck_assert_uint_eq(te.dim, 784);
    for (int s = 0; s < 2; s++) {
        const aw_dataset_t *d = s ? &te : &tr;
        size_t c[10] = {0};
        for (size_t i = 0; i < d->n; i++)
            c[d->labels[i]]++;
        for (int k = 0; k < 10; k++)
            ck_assert_uint_eq(c[k], counts[s][k]);
    }
    double sum = 0;
    for (size_t k = 0; k < tr.n * tr.dim; k++)
        sum += aw_dataset_value(&tr, k);
    double mean = sum / (double)(tr.n * tr.dim);
    ck_assert_msg(fabs(mean - 0.1307) < 0.00005, "mean %.6f", mean);
    aw_dataset_fini(&tr);
    aw_dataset_fini(&te);
}
END_TEST

/* Binarized MNIST through the dataset layer with 'fixed': 50000 x 784 of 0/1 (and 10000 valid / test). */
START_TEST(test_real_binarized_mnist)
{
    char dir[4096];
    aw_binarize_t fixed = {AW_BIN_FIXED, 0};
    aw_data_opts_t o = {.name = "binarized_mnist", .bin = &fixed};
    static const char *const splits[3] = {"train", "valid", "test"};
    static const size_t n[3] = {50000, 10000, 10000};
    for (int s = 0; s < 3; s++) {
        aw_dataset_t ds;
        aw_error_t err;
        if (!load_real(&o, dir, sizeof dir, splits[s], &ds, &err)) {
            ck_assert_int_eq(s, 0); /* all three splits or none */
            AW_SKIP("real binarized MNIST not tested (run data/fetch or set AIWAE_DATA_DIR): %s", err.msg);
        }
        ck_assert_uint_eq(ds.n, n[s]);
        ck_assert_uint_eq(ds.dim, 784);
        size_t ones = 0, other = 0;
        for (size_t k = 0; k < ds.n * ds.dim; k++) {
            ones += ds.x[k] == 1.0f;
            other += ds.x[k] != 1.0f && ds.x[k] != 0.0f;
        }
        ck_assert_uint_eq(other, 0);
        ck_assert_uint_gt(ones, ds.n * ds.dim / 10); /* about 13% ink */
        aw_dataset_fini(&ds);
    }
    /* Without Omniglot (data/fetch leaves it out unless asked), the error says where it looked. */
    aw_data_opts_t om = {.name = "omniglot", .dir = dir};
    aw_dataset_t ds;
    aw_error_t err;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/omniglot/chardata.mat", dir);
    if (access(probe, R_OK) != 0) {
        ck_assert_int_eq(aw_data_load(&om, "train", &ds, &err), AW_EIO);
        ck_assert_ptr_nonnull(strstr(err.msg, "omniglot/chardata.mat"));
    }
}
END_TEST

/* The check before any work reads headers only: it accepts what aw_data_load accepts, catches a missing
 * file, a bad header, a truncated plain file, mismatched labels and a size larger than the split, and its
 * fingerprint follows the files' size and time. */
START_TEST(test_data_check)
{
    make_tmp();
    ck_assert_int_eq(aw_fx_mkdir(tmp, "mnist"), 0);
    aw_fx_buf_t img, lab, gimg, glab, img5, lab5;
    aw_fx_mnist_like(7, &img, &lab);
    aw_fx_mnist_like(5, &img5, &lab5);
    aw_fx_gzip(img.p, img.n, &gimg);
    aw_fx_gzip(lab.p, lab.n, &glab);
    char path[4200], ip[4200], lp[4200];
    write_tmp("mnist/train-images-idx3-ubyte.gz", &gimg, path, sizeof path);
    write_tmp("mnist/train-labels-idx1-ubyte.gz", &glab, path, sizeof path);
    aw_data_opts_t o = {.name = "mnist", .dir = tmp};
    aw_error_t err;
    aw_sha256_t fp;
    aw_sha256_init(&fp);
    ck_assert_msg(aw_data_check(&o, "train", &fp, &err) == 0, "%s", err.msg);
    uint8_t d1[AW_SHA256_BYTES], d2[AW_SHA256_BYTES];
    aw_sha256_final(&fp, d1);
    o.train_size = 8;
    ck_assert_int_eq(aw_data_check(&o, "train", NULL, &err), AW_ESPEC);
    ck_assert_msg(strstr(err.msg, "dataset.train_size is 8 but split 'train'") != NULL, "%s", err.msg);
    o.train_size = 0;
    ck_assert_int_eq(aw_data_check(&o, "test", NULL, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "run 'data/fetch mnist'") != NULL, "%s", err.msg);
    /* A newer file changes the fingerprint. */
    write_tmp("mnist/train-labels-idx1-ubyte.gz", &glab, path, sizeof path);
    struct timespec later[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, later, 0), 0);
    aw_sha256_init(&fp);
    ck_assert_int_eq(aw_data_check(&o, "train", &fp, &err), 0);
    aw_sha256_final(&fp, d2);
    ck_assert_int_ne(memcmp(d1, d2, sizeof d1), 0);
    /* idx: a truncated plain file and labels that do not match, found from the headers. */
    write_tmp("short.idx", &(aw_fx_buf_t){.p = img.p, .n = img.n - 1}, ip, sizeof ip);
    aw_data_opts_t x = {.name = "idx", .train_images = ip};
    ck_assert_int_eq(aw_data_check(&x, "train", NULL, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "short.idx: offset 16: dimensions 7x28x28 of unsigned byte need 5488 data bytes") != NULL,
                  "%s", err.msg);
    write_tmp("img.idx", &img, ip, sizeof ip);
    write_tmp("lab5.idx", &lab5, lp, sizeof lp);
    x.train_labels = lp;
    ck_assert_int_eq(aw_data_check(&x, "train", NULL, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "5 labels, expected 7") != NULL, "%s", err.msg);
    x.train_labels = NULL;
    ck_assert_msg(aw_data_check(&x, "train", NULL, &err) == 0, "%s", err.msg);
    /* MAT files: the level-5 header. */
    ck_assert_int_eq(aw_fx_mkdir(tmp, "omniglot"), 0);
    write_tmp("omniglot/chardata.mat", &img, path, sizeof path);
    aw_data_opts_t om = {.name = "omniglot", .dir = tmp};
    ck_assert_int_eq(aw_data_check(&om, "train", NULL, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "chardata.mat: offset 126: endian indicator") != NULL, "%s", err.msg);
    aw_fx_buf_fini(&img);
    aw_fx_buf_fini(&lab);
    aw_fx_buf_fini(&gimg);
    aw_fx_buf_fini(&glab);
    aw_fx_buf_fini(&lab5);
    aw_fx_buf_fini(&img5);
    drop_tmp();
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mnist_search_path);
    tcase_add_test(tc, test_idx_dataset);
    tcase_add_test(tc, test_binarized_mnist_fixture);
    tcase_add_test(tc, test_omniglot_fixture);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_batch_bytes);
    tcase_add_test(tc, test_binarize_parse);
    tcase_add_test(tc, test_data_check);
    tcase_add_test(tc, test_real_mnist);
    tcase_add_test(tc, test_real_binarized_mnist);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(data_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
