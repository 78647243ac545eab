/* fixtures.h: the tests' shared file helpers: writers of small data files (IDX plain or gzip, MATLAB v5
 * MAT files compressed or not, either byte order, small-element tags, narrow storage types), scratch
 * directories (every test that needs one makes it here and removes it with aw_fx_rmtree), and where the
 * real data files are. */
#ifndef AW_TEST_FIXTURES_H
#define AW_TEST_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer the builders append to; free with aw_fx_buf_fini. */
typedef struct aw_fx_buf {
    uint8_t *p; /* malloc'd bytes */
    size_t n;   /* bytes used */
    size_t cap; /* bytes allocated */
} aw_fx_buf_t;

/* One variable of a MAT fixture. Values are given column-major as doubles and stored converted to the
 * `stored` data type (which must represent them exactly for a round trip). */
typedef struct aw_fx_matvar {
    const char *name;      /* variable name (<= 4 bytes: written as a small data element) */
    int mxclass;           /* array class, AW_MX_* */
    int stored;            /* data type of the real part, AW_MI_* (<= 4 bytes of data: small element) */
    uint32_t rows, cols;   /* dimensions */
    uint32_t dim3;         /* 0: 2-D; else a third dimension of this size */
    const double *values;  /* rows * cols * max(dim3,1) values, column-major; NULL: all zero */
    long count_delta;      /* added to the number of values written (to make a corrupt fixture) */
    int compress;          /* 1: wrap the variable in a miCOMPRESSED (zlib) element */
    int complex;           /* 1: set the complex flag and append an all-zero imaginary part */
} aw_fx_matvar_t;

/* Frees b's bytes and zeroes it. */
void aw_fx_buf_fini(aw_fx_buf_t *b);

/* Appends n bytes; aborts the test program if memory runs out. */
void aw_fx_put(aw_fx_buf_t *b, const void *p, size_t n);

/* Builds an IDX file: big-endian header for `type` (AW_IDX_*) and dims, then values converted to the
 * type (big-endian). Returns the bytes in out (initialised by the call). */
void aw_fx_idx(int type, int ndim, const uint32_t *dims, const double *values, aw_fx_buf_t *out);

/* Same for unsigned-byte data given as bytes. */
void aw_fx_idx_u8(int ndim, const uint32_t *dims, const uint8_t *values, aw_fx_buf_t *out);

/* An MNIST-like pair: an IDX image file of n AW_FX_SIDE x AW_FX_SIDE images whose pixel (i, k) is
 * (i * 31 + k) % 256, and its IDX label file, label i % 10 (both initialised by the call). */
#define AW_FX_SIDE 28
void aw_fx_mnist_like(size_t n, aw_fx_buf_t *img, aw_fx_buf_t *lab);

/* Compresses in[0..n) as one gzip member (level 6) or a zlib stream into out (initialised by the call). */
void aw_fx_gzip(const uint8_t *in, size_t n, aw_fx_buf_t *out);
void aw_fx_zlib(const uint8_t *in, size_t n, aw_fx_buf_t *out);

/* Builds a MAT v5 file holding vars[0..nvars) in order, little-endian ("IM") or big-endian ("MI"). */
void aw_fx_mat(const aw_fx_matvar_t *vars, int nvars, int big_endian, aw_fx_buf_t *out);

/* Writes bytes to path; returns 0 or -1 (errno set). */
int aw_fx_write(const char *path, const void *p, size_t n);

/* Writes b's bytes to dir/name and that path into path[n]; returns 0 or -1. */
int aw_fx_write_in(const char *dir, const char *name, const aw_fx_buf_t *b, char *path, size_t n);

/* Creates a fresh directory /tmp/aiwae-fx-XXXXXX (or under $TMPDIR) and writes its path into out[n].
 * Returns 0 or -1. */
int aw_fx_tmpdir(char *out, size_t n);

/* Creates dir/sub (one level) and returns 0 or -1. */
int aw_fx_mkdir(const char *dir, const char *sub);

/* Removes dir and everything below it. */
void aw_fx_rmtree(const char *dir);

/* The base directory of the real data files, chosen as the programs choose it without a spec: $AIWAE_DATA_DIR
 * when set (aw_data_base_dir), else the source tree's data/ ($AIWAE_SRCDIR/data, where data/fetch puts the
 * files), else ./data. Writes it into buf[n] and returns buf. */
const char *aw_fx_data_dir(char *buf, size_t n);

/* Finds the real data file `name` of dataset `sub` (e.g. "binarized_mnist") as aw_data_load does: under the
 * base directory of aw_fx_data_dir, first in sub/, then in the base itself. Returns 0 with the path in
 * path[n], or -1 with "tried A, B" (every path looked at) in path[n]. */
int aw_fx_data_file(const char *sub, const char *name, char *path, size_t n);

#endif
