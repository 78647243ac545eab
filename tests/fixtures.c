/* fixtures.c: builders of IDX and MAT v5 fixture files for the tests, scratch directories and
 * the real data's location (see fixtures.h). The builders are written from the format descriptions,
 * independently of the readers they test. */
#include "fixtures.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/data.h"
#include "data/idx.h"
#include "data/mat.h"

static void die(const char *what)
{
    fprintf(stderr, "fixtures: %s\n", what);
    abort();
}

void aw_fx_buf_fini(aw_fx_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void aw_fx_put(aw_fx_buf_t *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL)
            die("out of memory");
        b->p = q;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* Appends an unsigned integer of `bytes` bytes in the given byte order. */
static void put_uint(aw_fx_buf_t *b, uint64_t v, int bytes, int big)
{
    uint8_t s[8];
    for (int i = 0; i < bytes; i++)
        s[big ? bytes - 1 - i : i] = (uint8_t)(v >> (8 * i));
    aw_fx_put(b, s, (size_t)bytes);
}

static void pad8(aw_fx_buf_t *b, size_t start)
{
    static const uint8_t zero[8] = {0};
    size_t len = b->n - start;
    if (len % 8)
        aw_fx_put(b, zero, 8 - len % 8);
}

/* Appends one value converted to an IDX or MAT numeric type (code in the given family). */
static void put_value(aw_fx_buf_t *b, double v, int size, int is_float, int big)
{
    if (is_float && size == 4) {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        put_uint(b, u, 4, big);
    } else if (is_float) {
        uint64_t u;
        memcpy(&u, &v, 8);
        put_uint(b, u, 8, big);
    } else {
        put_uint(b, (uint64_t)(int64_t)v, size, big);
    }
}

void aw_fx_idx(int type, int ndim, const uint32_t *dims, const double *values, aw_fx_buf_t *out)
{
    memset(out, 0, sizeof *out);
    uint8_t magic[4] = {0, 0, (uint8_t)type, (uint8_t)ndim};
    aw_fx_put(out, magic, 4);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        put_uint(out, dims[i], 4, 1);
        count *= dims[i];
    }
    int size = type == AW_IDX_I16 ? 2 : type == AW_IDX_I32 || type == AW_IDX_F32 ? 4 : type == AW_IDX_F64 ? 8 : 1;
    int is_float = type == AW_IDX_F32 || type == AW_IDX_F64;
    for (size_t i = 0; i < count; i++)
        put_value(out, values ? values[i] : 0.0, size, is_float, 1);
}

void aw_fx_idx_u8(int ndim, const uint32_t *dims, const uint8_t *values, aw_fx_buf_t *out)
{
    memset(out, 0, sizeof *out);
    uint8_t magic[4] = {0, 0, AW_IDX_U8, (uint8_t)ndim};
    aw_fx_put(out, magic, 4);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        put_uint(out, dims[i], 4, 1);
        count *= dims[i];
    }
    aw_fx_put(out, values, count);
}

void aw_fx_mnist_like(size_t n, aw_fx_buf_t *img, aw_fx_buf_t *lab)
{
    const size_t dim = AW_FX_SIDE * AW_FX_SIDE;
    uint8_t *px = malloc(n ? n * dim : 1), *lb = malloc(n ? n : 1);
    if (px == NULL || lb == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < dim; k++)
            px[i * dim + k] = (uint8_t)((i * 31 + k) % 256);
        lb[i] = (uint8_t)(i % 10);
    }
    uint32_t d3[3] = {(uint32_t)n, AW_FX_SIDE, AW_FX_SIDE}, d1[1] = {(uint32_t)n};
    aw_fx_idx_u8(3, d3, px, img);
    aw_fx_idx_u8(1, d1, lb, lab);
    free(px);
    free(lb);
}

static void deflate_to(const uint8_t *in, size_t n, int window_bits, aw_fx_buf_t *out)
{
    memset(out, 0, sizeof *out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed");
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    out->p = malloc(cap);
    if (out->p == NULL)
        die("out of memory");
    out->cap = cap;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out->p;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        die("deflate did not finish");
    out->n = cap - zs.avail_out;
    deflateEnd(&zs);
}

void aw_fx_gzip(const uint8_t *in, size_t n, aw_fx_buf_t *out)
{
    deflate_to(in, n, 15 + 16, out);
}

void aw_fx_zlib(const uint8_t *in, size_t n, aw_fx_buf_t *out)
{
    deflate_to(in, n, 15, out);
}

/* Appends a data element: small format when it holds at most 4 bytes, else tag + data padded to 8. */
static void put_element(aw_fx_buf_t *b, uint32_t type, const uint8_t *data, size_t n, int big)
{
    if (n <= 4 && n > 0) {
        /* Small data element: 16-bit length and 16-bit type packed into one 32-bit word. */
        put_uint(b, (uint32_t)n << 16 | type, 4, big);
        uint8_t four[4] = {0};
        memcpy(four, data, n);
        aw_fx_put(b, four, 4);
        return;
    }
    put_uint(b, type, 4, big);
    put_uint(b, n, 4, big);
    size_t start = b->n;
    aw_fx_put(b, data, n);
    pad8(b, start);
}

static int mi_size(int t)
{
    switch (t) {
    case AW_MI_INT8:
    case AW_MI_UINT8: return 1;
    case AW_MI_INT16:
    case AW_MI_UINT16: return 2;
    case AW_MI_INT32:
    case AW_MI_UINT32:
    case AW_MI_SINGLE: return 4;
    default: return 8;
    }
}

/* Builds the miMATRIX element (tag included) of one variable. */
static void put_matrix(aw_fx_buf_t *b, const aw_fx_matvar_t *v, int big)
{
    aw_fx_buf_t body = {0};
    /* Array flags: class in the low byte, complex flag 0x0800; second word nzmax (unused). */
    uint8_t flags[8];
    aw_fx_buf_t t = {0};
    put_uint(&t, (uint32_t)v->mxclass | (v->complex ? 0x0800u : 0u), 4, big);
    put_uint(&t, 0, 4, big);
    memcpy(flags, t.p, 8);
    aw_fx_buf_fini(&t);
    put_element(&body, AW_MI_UINT32, flags, 8, big);
    aw_fx_buf_t dims = {0};
    put_uint(&dims, v->rows, 4, big);
    put_uint(&dims, v->cols, 4, big);
    if (v->dim3)
        put_uint(&dims, v->dim3, 4, big);
    put_element(&body, AW_MI_INT32, dims.p, dims.n, big);
    aw_fx_buf_fini(&dims);
    put_element(&body, AW_MI_INT8, (const uint8_t *)v->name, strlen(v->name), big);
    long count = (long)v->rows * (long)v->cols * (v->dim3 ? (long)v->dim3 : 1) + v->count_delta;
    int size = mi_size(v->stored);
    int is_float = v->stored == AW_MI_SINGLE || v->stored == AW_MI_DOUBLE;
    for (int part = 0; part < (v->complex ? 2 : 1); part++) {
        aw_fx_buf_t vals = {0};
        for (long i = 0; i < count; i++)
            put_value(&vals, part == 0 && v->values ? v->values[i] : 0.0, size, is_float, big);
        if (vals.n == 0) {
            put_uint(&body, (uint32_t)v->stored, 4, big);
            put_uint(&body, 0, 4, big);
        } else {
            put_element(&body, (uint32_t)v->stored, vals.p, vals.n, big);
        }
        aw_fx_buf_fini(&vals);
    }
    put_uint(b, AW_MI_MATRIX, 4, big);
    put_uint(b, body.n, 4, big);
    aw_fx_put(b, body.p, body.n);
    aw_fx_buf_fini(&body);
}

void aw_fx_mat(const aw_fx_matvar_t *vars, int nvars, int big_endian, aw_fx_buf_t *out)
{
    memset(out, 0, sizeof *out);
    char text[116];
    memset(text, ' ', sizeof text);
    const char *head = "MATLAB 5.0 MAT-file, Platform: aiwae-test, Created on: fixture";
    memcpy(text, head, strlen(head));
    aw_fx_put(out, text, sizeof text);
    uint8_t subsys[8] = {0};
    aw_fx_put(out, subsys, 8);
    put_uint(out, 0x0100, 2, big_endian);
    aw_fx_put(out, big_endian ? "MI" : "IM", 2);
    for (int i = 0; i < nvars; i++) {
        aw_fx_buf_t m = {0};
        put_matrix(&m, &vars[i], big_endian);
        if (vars[i].compress) {
            aw_fx_buf_t z;
            aw_fx_zlib(m.p, m.n, &z);
            put_uint(out, AW_MI_COMPRESSED, 4, big_endian);
            put_uint(out, z.n, 4, big_endian);
            aw_fx_put(out, z.p, z.n); /* compressed elements are not padded */
            aw_fx_buf_fini(&z);
        } else {
            aw_fx_put(out, m.p, m.n);
        }
        aw_fx_buf_fini(&m);
    }
}

int aw_fx_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    int rc = fclose(f);
    return w == n && rc == 0 ? 0 : -1;
}

int aw_fx_write_in(const char *dir, const char *name, const aw_fx_buf_t *b, char *path, size_t n)
{
    int w = snprintf(path, n, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= n)
        return -1;
    return aw_fx_write(path, b->p, b->n);
}

int aw_fx_tmpdir(char *out, size_t n)
{
    const char *t = getenv("TMPDIR");
    int w = snprintf(out, n, "%s/aiwae-fx-XXXXXX", t && t[0] ? t : "/tmp");
    if (w < 0 || (size_t)w >= n)
        return -1;
    return mkdtemp(out) ? 0 : -1;
}

int aw_fx_mkdir(const char *dir, const char *sub)
{
    char p[4096];
    int w = snprintf(p, sizeof p, "%s/%s", dir, sub);
    if (w < 0 || (size_t)w >= sizeof p)
        return -1;
    return mkdir(p, 0700);
}

void aw_fx_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[4096];
            int w = snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (w < 0 || (size_t)w >= sizeof p)
                continue;
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                aw_fx_rmtree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

const char *aw_fx_data_dir(char *buf, size_t n)
{
    const char *env = getenv("AIWAE_DATA_DIR");
    const char *src = getenv("AIWAE_SRCDIR");
    if ((env == NULL || env[0] == '\0') && src != NULL && src[0] != '\0')
        snprintf(buf, n, "%s/data", src);
    else
        aw_data_base_dir(NULL, buf, n);
    return buf;
}

int aw_fx_data_file(const char *sub, const char *name, char *path, size_t n)
{
    char base[4096], cand[2][4400];
    aw_fx_data_dir(base, sizeof base);
    snprintf(cand[0], sizeof cand[0], "%s/%s/%s", base, sub, name);
    snprintf(cand[1], sizeof cand[1], "%s/%s", base, name);
    for (int i = 0; i < 2; i++)
        if (access(cand[i], R_OK) == 0) {
            snprintf(path, n, "%s", cand[i]);
            return 0;
        }
    snprintf(path, n, "tried %s, %s", cand[0], cand[1]);
    return -1;
}
