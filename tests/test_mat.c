/* test_mat.c: the MAT v5 reader on generated fixtures (every storage type, both byte orders, compressed
 * or not, small elements), its errors, truncation and byte-flip fuzzing, and the real binarized MNIST files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "skip.h"
#include "data/mat.h"
#include "util/io.h"
#include "util/rng.h"
#include "util/sha256.h"

/* Parses a heap copy of exactly n bytes, so AddressSanitizer sees any read past the end. */
static int parse_exact(const uint8_t *p, size_t n, const char *name, aw_mat_order_t order, aw_mat_var_t *v,
                       aw_error_t *err)
{
    uint8_t *copy = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, p, n);
    int rc = aw_mat_parse(copy, n, name, order, v, err);
    free(copy);
    return rc;
}

/* Values for a rows x cols matrix that every storage type represents exactly (signed ones too). */
static void fill_values(double *v, size_t rows, size_t cols, int is_signed)
{
    for (size_t c = 0; c < cols; c++)
        for (size_t r = 0; r < rows; r++)
            v[r + c * rows] = (double)(r * 10 + c) * (is_signed && (r + c) % 2 ? -1.0 : 1.0);
}

static const int stored_types[] = {AW_MI_INT8,  AW_MI_UINT8,  AW_MI_INT16,  AW_MI_UINT16, AW_MI_INT32,
                                   AW_MI_UINT32, AW_MI_SINGLE, AW_MI_DOUBLE, AW_MI_INT64, AW_MI_UINT64};

/* Every stored type x compressed or not x byte order, read back in both orders. */
START_TEST(test_roundtrip_types)
{
    enum { R = 3, C = 5 };
    for (size_t ti = 0; ti < sizeof stored_types / sizeof stored_types[0]; ti++)
        for (int compress = 0; compress < 2; compress++)
            for (int big = 0; big < 2; big++) {
                int t = stored_types[ti];
                int is_signed = t == AW_MI_INT8 || t == AW_MI_INT16 || t == AW_MI_INT32 || t == AW_MI_INT64 ||
                                t == AW_MI_SINGLE || t == AW_MI_DOUBLE;
                double vals[R * C];
                fill_values(vals, R, C, is_signed);
                aw_fx_matvar_t var = {.name = "M", .mxclass = AW_MX_DOUBLE, .stored = t, .rows = R, .cols = C,
                                      .values = vals, .compress = compress};
                aw_fx_buf_t f;
                aw_fx_mat(&var, 1, big, &f);
                aw_mat_var_t v;
                aw_error_t err;
                ck_assert_msg(parse_exact(f.p, f.n, "M", AW_MAT_ROW_MAJOR, &v, &err) == 0, "%s", err.msg);
                ck_assert_uint_eq(v.rows, R);
                ck_assert_uint_eq(v.cols, C);
                ck_assert_int_eq(v.stored_type, t);
                ck_assert_int_eq(v.mxclass, AW_MX_DOUBLE);
                for (size_t r = 0; r < R; r++)
                    for (size_t c = 0; c < C; c++)
                        ck_assert_float_eq(v.data[r * C + c], (float)vals[r + c * R]);
                aw_mat_var_fini(&v);
                ck_assert_int_eq(parse_exact(f.p, f.n, "M", AW_MAT_COL_MAJOR, &v, &err), 0);
                for (size_t k = 0; k < R * C; k++)
                    ck_assert_float_eq(v.data[k], (float)vals[k]);
                aw_mat_var_fini(&v);
                aw_fx_buf_fini(&f);
            }
}
END_TEST

/* Small data elements (names and real parts of <= 4 bytes), several variables, long names, and a
 * matrix larger than the tile used for transposing. */
START_TEST(test_small_elements_and_many_vars)
{
    double one = 0.25, three[3] = {1, 2, 3};
    double *big = malloc(70 * 45 * sizeof *big);
    ck_assert_ptr_nonnull(big);
    fill_values(big, 70, 45, 0);
    aw_fx_matvar_t vars[] = {
        {.name = "s", .mxclass = AW_MX_SINGLE, .stored = AW_MI_SINGLE, .rows = 1, .cols = 1, .values = &one},
        {.name = "abc", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT8, .rows = 1, .cols = 3, .values = three,
         .compress = 1},
        {.name = "a_much_longer_variable_name", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT16, .rows = 70,
         .cols = 45, .values = big, .compress = 1},
        {.name = "last", .mxclass = AW_MX_UINT8, .stored = AW_MI_UINT8, .rows = 3, .cols = 1, .values = three},
    };
    for (int big_endian = 0; big_endian < 2; big_endian++) {
        aw_fx_buf_t f;
        aw_fx_mat(vars, 4, big_endian, &f);
        aw_mat_var_t v;
        aw_error_t err;
        ck_assert_msg(parse_exact(f.p, f.n, "s", AW_MAT_ROW_MAJOR, &v, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(v.rows * v.cols, 1);
        ck_assert_float_eq(v.data[0], 0.25f);
        aw_mat_var_fini(&v);
        ck_assert_msg(parse_exact(f.p, f.n, "abc", AW_MAT_ROW_MAJOR, &v, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(v.stored_type, AW_MI_UINT8);
        ck_assert_float_eq(v.data[2], 3.0f);
        aw_mat_var_fini(&v);
        ck_assert_msg(parse_exact(f.p, f.n, "a_much_longer_variable_name", AW_MAT_ROW_MAJOR, &v, &err) == 0, "%s",
                      err.msg);
        for (size_t r = 0; r < 70; r++)
            for (size_t c = 0; c < 45; c++)
                ck_assert_float_eq(v.data[r * 45 + c], (float)big[r + c * 70]);
        aw_mat_var_fini(&v);
        ck_assert_msg(parse_exact(f.p, f.n, "last", AW_MAT_ROW_MAJOR, &v, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(v.rows, 3);
        ck_assert_float_eq(v.data[1], 2.0f);
        aw_mat_var_fini(&v);
        /* Not found: the message lists what the file holds. */
        ck_assert_int_eq(parse_exact(f.p, f.n, "X", AW_MAT_ROW_MAJOR, &v, &err), AW_ENOTFOUND);
        ck_assert_ptr_nonnull(strstr(err.msg, "no variable 'X'"));
        ck_assert_ptr_nonnull(strstr(err.msg, "abc (1x3 double)"));
        ck_assert_ptr_nonnull(strstr(err.msg, "last (3x1 uint8)"));
        ck_assert_ptr_null(v.data);
        aw_fx_buf_fini(&f);
    }
    free(big);
}
END_TEST

/* Builds a file with one variable and checks that parsing it for "V" fails with code and message part. */
static void expect_var_error(const aw_fx_matvar_t *var, int code, const char *part)
{
    aw_fx_buf_t f;
    aw_fx_mat(var, 1, 0, &f);
    aw_mat_var_t v;
    aw_error_t err;
    aw_error_clear(&err);
    ck_assert_int_eq(parse_exact(f.p, f.n, "V", AW_MAT_ROW_MAJOR, &v, &err), code);
    ck_assert_msg(strstr(err.msg, part) != NULL, "message \"%s\" lacks \"%s\"", err.msg, part);
    ck_assert_ptr_null(v.data);
    aw_fx_buf_fini(&f);
}

START_TEST(test_variable_errors)
{
    double vals[6] = {0, 1, 0, 1, 1, 0};
    aw_fx_matvar_t v = {.name = "V", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT8, .rows = 2, .cols = 3,
                        .values = vals};
    aw_fx_matvar_t c = v;
    c.complex = 1;
    expect_var_error(&c, AW_EFORMAT, "variable 'V' is complex");
    c = v;
    c.mxclass = AW_MX_CHAR;
    c.stored = AW_MI_UINT16;
    expect_var_error(&c, AW_EFORMAT, "is a char array");
    double vals12[12] = {0};
    c = v;
    c.dim3 = 2;
    c.values = vals12;
    c.compress = 1;
    expect_var_error(&c, AW_EFORMAT, "dimensions 2x3x2, expected a 2-D matrix");
    c = v;
    c.count_delta = -1;
    expect_var_error(&c, AW_EFORMAT, "expected 6 values for dimensions 2x3");
    c = v;
    c.stored = AW_MI_MATRIX;
    expect_var_error(&c, AW_EFORMAT, "stored as miMATRIX");
    /* A trailing singleton dimension is still 2-D. */
    c = v;
    c.dim3 = 1;
    c.count_delta = 0;
    aw_fx_buf_t f;
    aw_fx_mat(&c, 1, 0, &f);
    aw_mat_var_t out;
    aw_error_t err;
    ck_assert_int_eq(parse_exact(f.p, f.n, "V", AW_MAT_ROW_MAJOR, &out, &err), 0);
    ck_assert_float_eq(out.data[1 * 3 + 1], 1.0f); /* (1,1) is element 1 + 1*2 = vals[3] */
    aw_mat_var_fini(&out);
    aw_fx_buf_fini(&f);
}
END_TEST

static void set_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(test_header_errors)
{
    double vals[2] = {1, 0};
    aw_fx_matvar_t v = {.name = "V", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_DOUBLE, .rows = 1, .cols = 2,
                        .values = vals, .compress = 1};
    aw_fx_buf_t f;
    aw_fx_mat(&v, 1, 0, &f);
    aw_mat_var_t out;
    aw_error_t err;
    ck_assert_int_eq(parse_exact(f.p, 100, "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "shorter than the 128-byte MAT v5 header"));
    f.p[126] = 'X';
    ck_assert_int_eq(parse_exact(f.p, f.n, "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "offset 126: endian indicator"));
    f.p[126] = 'I';
    f.p[124] = 0x00, f.p[125] = 0x02;
    ck_assert_int_eq(parse_exact(f.p, f.n, "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "v7.3 (HDF5)"));
    f.p[125] = 0x07;
    ck_assert_int_eq(parse_exact(f.p, f.n, "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "offset 124: MAT version 0x0700"));
    f.p[125] = 0x01;
    /* A byte changed inside the deflate data: zlib reports corruption or the Adler-32 check fails. */
    f.p[f.n - 6] ^= 0x5a;
    ck_assert_int_eq(parse_exact(f.p, f.n, "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "offset 128: miCOMPRESSED element") && strstr(err.msg, "corrupt zlib stream"),
                  "%s", err.msg);
    f.p[f.n - 6] ^= 0x5a;
    /* The compressed element's length cut short: the zlib stream is truncated. */
    uint32_t zlen = (uint32_t)f.p[132] | (uint32_t)f.p[133] << 8 | (uint32_t)f.p[134] << 16 |
                    (uint32_t)f.p[135] << 24;
    ck_assert_uint_eq(zlen, f.n - 136);
    set_le32(f.p + 132, zlen - 3);
    ck_assert_int_eq(parse_exact(f.p, f.n - 3, "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "truncated zlib stream"), "%s", err.msg);
    /* The element claims more bytes than the file has. */
    set_le32(f.p + 132, zlen + 16);
    ck_assert_int_eq(parse_exact(f.p, f.n, "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "offset 128: top-level element: miCOMPRESSED element of"), "%s", err.msg);
    aw_fx_buf_fini(&f);
    /* Reading a file that does not exist names it. */
    ck_assert_int_eq(aw_mat_read("/nonexistent/x.mat", "V", AW_MAT_ROW_MAJOR, &out, &err), AW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.mat: cannot open"));
}
END_TEST

/* A u32 or i16 of a MAT fixture in its byte order. */
static uint32_t mat_u32(const uint8_t *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned mat_u16(const uint8_t *p, int big)
{
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

/* What an uncompressed 2-D variable of 12 16-bit values whose miMATRIX element starts at e (tag, array
 * flags, dims with rows at +32 and cols at +36, an 8-byte name, the real part's tag at +56 and its data at
 * +64) holds, read straight from the bytes: checks v against it. */
static void check_target_bytes(const aw_mat_var_t *v, const uint8_t *e, int big)
{
    const size_t rows = mat_u32(e + 32, big), cols = mat_u32(e + 36, big);
    const uint32_t type = mat_u32(e + 56, big);
    ck_assert_uint_eq(v->rows, rows);
    ck_assert_uint_eq(v->cols, cols);
    ck_assert_int_eq(v->stored_type, (int)type);
    ck_assert(type == AW_MI_INT16 || type == AW_MI_UINT16);
    for (size_t k = 0; k < 12; k++) {
        const size_t rm = v->order == AW_MAT_ROW_MAJOR;
        const size_t r = rm ? k / cols : k % rows, c = rm ? k % cols : k / rows;
        const unsigned u = mat_u16(e + 64 + 2 * (r + c * rows), big);
        const float want = type == AW_MI_INT16 ? (float)(int16_t)u : (float)u;
        ck_assert_msg(v->data[k] == want, "element %zu: %g, the bytes hold %g", k, v->data[k], want);
    }
}

/* Every truncation of small fixtures fails cleanly (the variable read is the last in the file), and
 * random byte flips never make the reader touch memory outside the buffer (ASan checks that). What parses
 * is what the bytes say: flips outside the target variable, or anywhere in it when it is compressed (zlib's
 * Adler-32 guards it), leave its values; flips only in its uncompressed data must parse, to the values the
 * flipped bytes hold; other flips in its uncompressed element parse, if at all, to what its bytes say. */
START_TEST(test_fuzz_truncate_and_flip)
{
    double vals[12];
    fill_values(vals, 3, 4, 0);
    double one = 0.5;
    for (int variant = 0; variant < 4; variant++) {
        int compress = variant & 1, big = variant >> 1;
        aw_fx_matvar_t vars[] = {
            {.name = "pre", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT8, .rows = 1, .cols = 1, .values = &one,
             .compress = !compress},
            {.name = "target", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_INT16, .rows = 3, .cols = 4,
             .values = vals, .compress = compress},
        };
        aw_fx_buf_t f;
        aw_fx_mat(vars, 2, big, &f);
        aw_mat_var_t v;
        aw_error_t err;
        ck_assert_int_eq(parse_exact(f.p, f.n, "target", AW_MAT_ROW_MAJOR, &v, &err), 0);
        aw_mat_var_fini(&v);
        for (size_t len = 0; len < f.n; len++) {
            aw_error_clear(&err);
            int rc = parse_exact(f.p, len, "target", AW_MAT_ROW_MAJOR, &v, &err);
            ck_assert_msg(rc < 0, "truncation at %zu of %zu bytes parsed", len, f.n);
            ck_assert_int_eq(err.code, rc);
            ck_assert(err.msg[0] != '\0');
            ck_assert_ptr_null(v.data);
        }
        /* The target is the last element; its size is that of a file holding only it, less the header. */
        aw_fx_buf_t solo;
        aw_fx_mat(&vars[1], 1, big, &solo);
        const size_t tstart = f.n - (solo.n - 128), tdata = tstart + 64;
        aw_fx_buf_fini(&solo);
        ck_assert_int_eq(parse_exact(f.p, f.n, "target", AW_MAT_COL_MAJOR, &v, &err), 0);
        for (size_t k = 0; k < 12; k++)
            ck_assert(v.data[k] == (float)vals[k]);
        if (!compress)
            check_target_bytes(&v, f.p + tstart, big); /* the offsets above are the fixture's */
        aw_mat_var_fini(&v);
        aw_rng_t r;
        aw_rng_seed(&r, 1234, (uint64_t)variant);
        uint8_t *m = malloc(f.n);
        ck_assert_ptr_nonnull(m);
        int ok[3] = {0, 0, 0}; /* parsed after flips outside the target, in its data only, elsewhere in it */
        for (int trial = 0; trial < 3000; trial++) {
            memcpy(m, f.p, f.n);
            int flips = 1 + (int)(aw_rng_next(&r) % 3), where = 0;
            size_t lo = f.n, hi = 0;
            for (int k = 0; k < flips; k++) {
                size_t at = aw_rng_next(&r) % f.n;
                m[at] ^= (uint8_t)(1 + aw_rng_next(&r) % 255);
                lo = at < lo ? at : lo;
                hi = at > hi ? at : hi;
            }
            if (hi >= tstart)
                where = !compress && lo >= tdata ? 1 : 2;
            aw_error_clear(&err);
            aw_mat_order_t order = trial % 2 ? AW_MAT_COL_MAJOR : AW_MAT_ROW_MAJOR;
            int rc = parse_exact(m, f.n, "target", order, &v, &err);
            if (where == 1)
                ck_assert_msg(rc == 0, "flips in the data only: %s", err.msg);
            if (rc != 0) {
                ck_assert_int_lt(rc, 0);
                ck_assert(err.msg[0] != '\0');
                ck_assert_ptr_null(v.data);
                continue;
            }
            ok[where]++;
            ck_assert_ptr_nonnull(v.data);
            ck_assert_str_eq(v.name, "target");
            ck_assert_int_eq(v.order, order);
            if (where == 0 || compress) {
                ck_assert_uint_eq(v.rows, 3);
                ck_assert_uint_eq(v.cols, 4);
                for (size_t k = 0; k < 12; k++) {
                    const size_t rr = order == AW_MAT_ROW_MAJOR ? k / 4 : k % 3;
                    const size_t cc = order == AW_MAT_ROW_MAJOR ? k % 4 : k / 3;
                    ck_assert(v.data[k] == (float)vals[cc * 3 + rr]);
                }
            } else {
                check_target_bytes(&v, m + tstart, big);
            }
            aw_mat_var_fini(&v);
        }
        ck_assert_int_gt(ok[0], 0); /* flips in the header text or in "pre" */
        if (!compress)
            ck_assert_int_gt(ok[1], 0);
        free(m);
        aw_fx_buf_fini(&f);
    }
}
END_TEST

/* The real binarized MNIST .mat files (from $AIWAE_DATA_DIR or the source tree's data/, as data/fetch puts
 * them): double class stored as miUINT8 inside miCOMPRESSED, N x 784 of 0/1, the README's mean ink, and
 * row i = image i with pixels row-major: the SHA-256 of the matrix as N*784 bytes in that order equals that
 * of the IDX conversion's pixel bytes (data/README.md; the derived IDX copies are not fetched, so their
 * digests stand in for them). */
START_TEST(test_real_binarized_mnist)
{
    static const char *const splits[3] = {"train", "valid", "test"};
    static const size_t counts[3] = {50000, 10000, 10000};
    static const double means[3] = {0.1306, 0.1311, 0.1325};
    static const char *const digests[3] = {
        "43490d4d6ac9002727af4426d8748609fdb7e4094fa65ad8d681ea60082a7a5a",
        "069b4f0beb389b776478c3e872b4df71c95ac4be64d7cbe6d32e24ebac8e6d5e",
        "ca0294c3b8d984c7a1dc891015a8eea6f37bae59a34e35ea0fc8c47110a8dd86"};
    for (int s = 0; s < 3; s++) {
        char name[64], path[4600];
        snprintf(name, sizeof name, "binarized_mnist_%s.mat", splits[s]);
        if (aw_fx_data_file("binarized_mnist", name, path, sizeof path) != 0) {
            ck_assert_int_eq(s, 0); /* all three splits or none */
            AW_SKIP("real binarized MNIST not tested (run data/fetch or set AIWAE_DATA_DIR): %s not found; %s",
                    name, path);
        }
        aw_mat_var_t v;
        aw_error_t err;
        ck_assert_msg(aw_mat_read(path, "X", AW_MAT_ROW_MAJOR, &v, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(v.rows, counts[s]);
        ck_assert_uint_eq(v.cols, 784);
        ck_assert_int_eq(v.mxclass, AW_MX_DOUBLE);
        ck_assert_int_eq(v.stored_type, AW_MI_UINT8);
        double sum = 0;
        size_t nonbinary = 0;
        uint8_t *bytes = malloc(v.rows * v.cols);
        ck_assert_ptr_nonnull(bytes);
        for (size_t k = 0; k < v.rows * v.cols; k++) {
            nonbinary += v.data[k] != 0.0f && v.data[k] != 1.0f;
            sum += v.data[k];
            bytes[k] = (uint8_t)v.data[k];
        }
        ck_assert_uint_eq(nonbinary, 0);
        double mean = sum / (double)(v.rows * v.cols);
        ck_assert_msg(fabs(mean - means[s]) < 0.0001, "mean %.5f, README says %.4f", mean, means[s]);
        char hex[AW_SHA256_HEX];
        aw_sha256_hex(bytes, v.rows * v.cols, hex);
        ck_assert_str_eq(hex, digests[s]);
        free(bytes);
        aw_mat_var_fini(&v);
        /* The variable is X: asking for the Omniglot names fails and says what is there. */
        if (s == 2) {
            ck_assert_int_eq(aw_mat_read(path, "data", AW_MAT_ROW_MAJOR, &v, &err), AW_ENOTFOUND);
            ck_assert_msg(strstr(err.msg, "binarized_mnist_test.mat: no variable 'data'; the file holds X "
                                          "(10000x784 double)"), "%s", err.msg);
        }
    }
}
END_TEST

static Suite *mat_suite(void)
{
    Suite *s = suite_create("mat");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip_types);
    tcase_add_test(tc, test_small_elements_and_many_vars);
    tcase_add_test(tc, test_variable_errors);
    tcase_add_test(tc, test_header_errors);
    tcase_add_test(tc, test_fuzz_truncate_and_flip);
    tcase_add_test(tc, test_real_binarized_mnist);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mat_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
