/* test_idx.c: the IDX reader and its gzip layer (data/idx.h, util/io.h): plain and gzip round trips, one
 * error per kind of bad input naming the file and offset, truncation at every length and byte-flip fuzzing
 * checked against the bytes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/idx.h"
#include "fixtures.h"
#include "util/io.h"
#include "util/rng.h"

#define SIDE AW_FX_SIDE
#define DIM (SIDE * SIDE)

static char tmp[4096]; /* this test's scratch directory */

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(tmp, sizeof tmp), 0);
}

static void teardown(void)
{
    aw_fx_rmtree(tmp);
}

/* Writes buf to tmp/name. */
static void write_tmp(const char *name, const aw_fx_buf_t *b, char *path, size_t n)
{
    ck_assert_int_eq(aw_fx_write_in(tmp, name, b, path, n), 0);
}

/* Parses a heap copy of exactly n bytes (gzip inflated first if it is gzip, told that the stream holds
 * hint bytes: 0 for none, which leaves it to zlib alone), so ASan sees over-reads. */
static int decode_hint(const uint8_t *p, size_t n, size_t hint, aw_idx_t *idx, aw_buf_t *plain, aw_error_t *err)
{
    uint8_t *copy = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, p, n);
    plain->data = NULL;
    plain->size = 0;
    int rc;
    if (aw_io_is_gzip(copy, n)) {
        rc = aw_io_inflate(copy, n, AW_IO_GZIP, hint, AW_IO_MAX_BYTES, plain, err);
        if (rc == AW_OK)
            rc = aw_idx_parse(plain->data, plain->size, idx, err);
    } else {
        /* The view must not outlive copy: keep copy as the plain buffer. */
        plain->data = copy;
        plain->size = n;
        copy = NULL;
        rc = aw_idx_parse(plain->data, plain->size, idx, err);
    }
    free(copy);
    return rc;
}

/* decode_hint without a size (zlib alone) and with the size hint (libdeflate first, zlib where it fails):
 * both give the same result, error message included. Returns it, with idx and plain from the first. */
static int decode_exact(const uint8_t *p, size_t n, size_t hint, aw_idx_t *idx, aw_buf_t *plain, aw_error_t *err)
{
    int rc = decode_hint(p, n, 0, idx, plain, err);
    if (hint == 0 || !aw_io_is_gzip(p, n))
        return rc;
    aw_idx_t idx2;
    aw_buf_t plain2;
    aw_error_t err2;
    aw_error_clear(&err2);
    int rc2 = decode_hint(p, n, hint, &idx2, &plain2, &err2);
    ck_assert_msg(rc2 == rc, "with a size hint: rc %d, without: %d", rc2, rc);
    ck_assert_uint_eq(plain2.size, plain->size);
    ck_assert(plain->size == 0 || memcmp(plain2.data, plain->data, plain->size) == 0);
    if (rc != 0)
        ck_assert_str_eq(err2.msg, err->msg);
    aw_buf_fini(&plain2);
    return rc;
}

START_TEST(test_idx_roundtrip_plain_and_gzip)
{
    aw_fx_buf_t img, lab, gz;
    aw_fx_mnist_like(3, &img, &lab);
    aw_fx_gzip(img.p, img.n, &gz);
    char p1[4200], p2[4200];
    write_tmp("plain-idx3", &img, p1, sizeof p1);
    write_tmp("images.gz", &gz, p2, sizeof p2);
    for (int g = 0; g < 2; g++) {
        aw_idx_t idx;
        aw_error_t err;
        ck_assert_msg(aw_idx_read(g ? p2 : p1, &idx, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(idx.type, AW_IDX_U8);
        ck_assert_int_eq(idx.ndim, 3);
        ck_assert_uint_eq(idx.dims[0], 3);
        ck_assert_uint_eq(idx.item, DIM);
        float *x = malloc(2 * DIM * sizeof *x);
        ck_assert_ptr_nonnull(x);
        ck_assert_int_eq(aw_idx_to_float(&idx, 1, 2, x, &err), 0);
        int bad = 0;
        for (size_t k = 0; k < 2 * DIM; k++)
            bad += x[k] != (float)(((1 + k / DIM) * 31 + k % DIM) % 256) / 255.0f;
        ck_assert_int_eq(bad, 0);
        ck_assert_int_eq(aw_idx_to_float(&idx, 2, 2, x, &err), AW_EARG);
        free(x);
        aw_idx_fini(&idx);
    }
    /* Two concatenated gzip members are one stream (RFC 1952). */
    aw_fx_buf_t g1, g2, two = {0};
    aw_fx_gzip(img.p, 10, &g1);
    aw_fx_gzip(img.p + 10, img.n - 10, &g2);
    aw_fx_put(&two, g1.p, g1.n);
    aw_fx_put(&two, g2.p, g2.n);
    aw_buf_t out;
    aw_error_t err;
    for (size_t hint = 0; hint < 3 * img.n; hint += img.n - 10) { /* none, short, long (libdeflate tries) */
        ck_assert_int_eq(aw_io_inflate(two.p, two.n, AW_IO_GZIP, hint, AW_IO_MAX_BYTES, &out, &err), 0);
        ck_assert_uint_eq(out.size, img.n);
        ck_assert_int_eq(memcmp(out.data, img.p, img.n), 0);
        aw_buf_fini(&out);
    }
    /* One member with no size, the right size, a short or a long one: the same bytes. */
    const size_t hints[] = {0, img.n, img.n - 1, img.n + 1, 2 * img.n};
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        ck_assert_int_eq(aw_io_inflate(gz.p, gz.n, AW_IO_GZIP, hints[i], AW_IO_MAX_BYTES, &out, &err), 0);
        ck_assert_uint_eq(out.size, img.n);
        ck_assert_int_eq(memcmp(out.data, img.p, img.n), 0);
        aw_buf_fini(&out);
    }
    /* The size limit is enforced. */
    ck_assert_int_eq(aw_io_inflate(gz.p, gz.n, AW_IO_GZIP, 0, img.n - 1, &out, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than the limit"));
    ck_assert_int_eq(aw_io_inflate(gz.p, gz.n, AW_IO_GZIP, img.n, img.n - 1, &out, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than the limit"));
    ck_assert_int_eq(aw_io_inflate(gz.p, gz.n, AW_IO_GZIP, 0, img.n, &out, &err), 0);
    aw_buf_fini(&out);
    /* Float IDX files are intensities as they are. */
    double fv[6] = {0, 0.25, 0.5, 0.75, 1, 0.125};
    uint32_t fd[2] = {2, 3};
    aw_fx_buf_t fidx;
    aw_fx_idx(AW_IDX_F64, 2, fd, fv, &fidx);
    aw_idx_t idx;
    ck_assert_int_eq(aw_idx_parse(fidx.p, fidx.n, &idx, &err), 0);
    float fx[6];
    ck_assert_int_eq(aw_idx_to_float(&idx, 0, 2, fx, &err), 0);
    for (int k = 0; k < 6; k++)
        ck_assert_float_eq(fx[k], (float)fv[k]);
    aw_fx_buf_fini(&fidx);
    aw_fx_idx(AW_IDX_I32, 2, fd, fv, &fidx);
    ck_assert_int_eq(aw_idx_parse(fidx.p, fidx.n, &idx, &err), 0);
    ck_assert_int_eq(aw_idx_to_float(&idx, 0, 2, fx, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a pixel intensity type"));
    aw_fx_buf_fini(&fidx);
    aw_fx_buf_fini(&g1);
    aw_fx_buf_fini(&g2);
    aw_fx_buf_fini(&two);
    aw_fx_buf_fini(&img);
    aw_fx_buf_fini(&lab);
    aw_fx_buf_fini(&gz);
}
END_TEST

/* Each bad input gives one error naming the file, the offset and what was expected. */
START_TEST(test_idx_errors)
{
    aw_fx_buf_t img, lab, gz;
    aw_fx_mnist_like(2, &img, &lab);
    char path[4200];
    aw_idx_t idx;
    aw_error_t err;
    /* Missing file. */
    snprintf(path, sizeof path, "%s/absent.gz", tmp);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "cannot open: No such file"), "%s", err.msg);
    /* Wrong magic. */
    img.p[0] = 0x1f;
    write_tmp("magic", &img, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "offset 0: bad IDX magic 0x1f000803"), "%s", err.msg);
    img.p[0] = 0;
    img.p[2] = 0x07;
    write_tmp("type", &img, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "offset 2: unknown IDX element type 0x07"), "%s", err.msg);
    img.p[2] = 0x08;
    /* Dimensions that disagree with the size: one byte short, one byte extra. */
    aw_fx_buf_t cut = {0};
    aw_fx_put(&cut, img.p, img.n - 1);
    write_tmp("short", &cut, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "offset 16: dimensions 2x28x28 of unsigned byte need 1568 data bytes after the "
                                  "16-byte header, the file has 1567"), "%s", err.msg);
    aw_fx_put(&cut, "\0\0", 2);
    write_tmp("long", &cut, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "the file has 1569"));
    /* Dimensions whose product overflows. */
    static const uint8_t huge[16] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff};
    ck_assert_int_eq(aw_idx_parse(huge, sizeof huge, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "offset 16: dimensions 4294967295x4294967295x4294967295 of unsigned byte need "
                                  "more than"), "%s", err.msg);
    /* Truncated gzip. */
    aw_fx_gzip(img.p, img.n, &gz);
    aw_fx_buf_t tg = {0};
    aw_fx_put(&tg, gz.p, gz.n - 5);
    write_tmp("trunc.gz", &tg, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "truncated gzip stream"), "%s", err.msg);
    /* Corrupt gzip: a changed CRC-32, and a changed byte in the deflate data. */
    gz.p[gz.n - 6] ^= 0xff;
    write_tmp("crc.gz", &gz, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "corrupt gzip stream") && strstr(err.msg, "incorrect data check"), "%s",
                  err.msg);
    gz.p[gz.n - 6] ^= 0xff;
    gz.p[gz.n / 2] ^= 0x55;
    write_tmp("data.gz", &gz, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "corrupt gzip stream near compressed offset"), "%s", err.msg);
    gz.p[gz.n / 2] ^= 0x55;
    /* Stray bytes after the stream. */
    aw_fx_put(&gz, "junk", 4);
    write_tmp("trail.gz", &gz, path, sizeof path);
    ck_assert_int_eq(aw_idx_read(path, &idx, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "4 unexpected bytes after the end of the gzip stream"), "%s", err.msg);
    aw_fx_buf_fini(&tg);
    aw_fx_buf_fini(&cut);
    aw_fx_buf_fini(&img);
    aw_fx_buf_fini(&lab);
    aw_fx_buf_fini(&gz);
}
END_TEST

static uint64_t be_bytes(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* idx, parsed from p[0..n), against the IDX layout read here from the same bytes: 0, 0, type, ndim, ndim
 * big-endian u32 dims, then every element; and its conversion to intensities: a byte b is b/255, a float
 * or double the value its big-endian bits hold, any other type is refused. */
static void check_decoded(const aw_idx_t *idx, const uint8_t *p, size_t n)
{
    static const struct { int type, size; } sizes[] = {{AW_IDX_U8, 1}, {AW_IDX_I8, 1}, {AW_IDX_I16, 2},
                                                       {AW_IDX_I32, 4}, {AW_IDX_F32, 4}, {AW_IDX_F64, 8}};
    ck_assert_uint_ge(n, 4);
    ck_assert(p[0] == 0 && p[1] == 0);
    ck_assert_int_eq(idx->type, p[2]);
    ck_assert_int_eq(idx->ndim, p[3]);
    int size = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        size = sizes[i].type == p[2] ? sizes[i].size : size;
    ck_assert_int_gt(size, 0);
    ck_assert_uint_eq(idx->elsize, (size_t)size);
    const size_t hdr = 4 + 4 * (size_t)p[3];
    uint64_t count = 1;
    for (int i = 0; i < p[3]; i++) {
        ck_assert_uint_eq(idx->dims[i], be_bytes(p + 4 + 4 * i, 4));
        count *= idx->dims[i];
    }
    ck_assert_uint_eq(idx->count, count);
    ck_assert_uint_eq(n, hdr + count * (size_t)size);
    ck_assert_int_eq(memcmp(idx->data, p + hdr, count * (size_t)size), 0);
    float *x = malloc((count ? count : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    aw_error_t err;
    int rc = aw_idx_to_float(idx, 0, idx->dims[0], x, &err);
    if (p[2] != AW_IDX_U8 && p[2] != AW_IDX_F32 && p[2] != AW_IDX_F64) {
        ck_assert_int_eq(rc, AW_EFORMAT);
        free(x);
        return;
    }
    ck_assert_int_eq(rc, 0);
    for (size_t k = 0; k < count; k++) {
        const uint8_t *e = p + hdr + k * (size_t)size;
        float want;
        if (size == 1) {
            want = (float)e[0] / 255.0f;
        } else if (size == 4) {
            uint32_t u = (uint32_t)be_bytes(e, 4);
            memcpy(&want, &u, 4);
        } else {
            uint64_t u = be_bytes(e, 8);
            double d;
            memcpy(&d, &u, 8);
            want = (float)d;
        }
        ck_assert_msg(x[k] == want || (isnan(x[k]) && isnan(want)), "element %zu: %g, expected %g", k, x[k], want);
    }
    free(x);
}

/* Truncated at every length, plain and gzip, the loader fails cleanly; random byte flips never read
 * outside the buffer (ASan) and either fail with a message or parse to what the bytes say (check_decoded):
 * a flipped plain file to its own header and elements, a flipped gzip file (whose CRC-32 guards the
 * content) to exactly the original. */
START_TEST(test_idx_fuzz)
{
    uint8_t px[2 * 5 * 4];
    for (size_t k = 0; k < sizeof px; k++)
        px[k] = (uint8_t)(k * 7);
    uint32_t dims[3] = {2, 5, 4};
    aw_fx_buf_t plain, gz;
    aw_fx_idx_u8(3, dims, px, &plain);
    aw_fx_gzip(plain.p, plain.n, &gz);
    aw_rng_t r;
    aw_rng_seed(&r, 99, 0);
    for (int g = 0; g < 2; g++) {
        const aw_fx_buf_t *f = g ? &gz : &plain;
        aw_idx_t idx;
        aw_buf_t b;
        aw_error_t err;
        ck_assert_int_eq(decode_exact(f->p, f->n, plain.n, &idx, &b, &err), 0);
        aw_buf_fini(&b);
        for (size_t len = 0; len < f->n; len++) {
            aw_error_clear(&err);
            int rc = decode_exact(f->p, len, plain.n, &idx, &b, &err);
            aw_buf_fini(&b);
            ck_assert_msg(rc == AW_EFORMAT && err.msg[0], "truncation at %zu of %zu: rc %d", len, f->n, rc);
        }
        uint8_t *m = malloc(f->n);
        ck_assert_ptr_nonnull(m);
        int ok = 0, bad = 0;
        for (int trial = 0; trial < 3000; trial++) {
            memcpy(m, f->p, f->n);
            int flips = 1 + (int)(aw_rng_next(&r) % 3);
            for (int k = 0; k < flips; k++)
                m[aw_rng_next(&r) % f->n] ^= (uint8_t)(1 + aw_rng_next(&r) % 255);
            aw_error_clear(&err);
            int rc = decode_exact(m, f->n, plain.n, &idx, &b, &err);
            if (rc == 0) {
                if (g) {
                    ck_assert_uint_eq(b.size, plain.n);
                    ck_assert_int_eq(memcmp(b.data, plain.p, plain.n), 0);
                }
                check_decoded(&idx, g ? plain.p : m, g ? plain.n : f->n);
                ok++;
            } else {
                bad += rc < 0 && err.msg[0] != '\0';
            }
            aw_buf_fini(&b);
        }
        ck_assert_int_eq(ok + bad, 3000);
        ck_assert_int_gt(bad, 0);
        ck_assert_int_gt(ok, 50); /* plain: flipped elements; gzip: flipped header fields (time, OS) */
        free(m);
    }
    aw_fx_buf_fini(&plain);
    aw_fx_buf_fini(&gz);
}
END_TEST

static Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_idx_roundtrip_plain_and_gzip);
    tcase_add_test(tc, test_idx_errors);
    tcase_add_test(tc, test_idx_fuzz);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(idx_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
