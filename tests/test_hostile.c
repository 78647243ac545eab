/* test_hostile.c: input made to hurt (issue 14): files that are not regular files, oversized specs,
 * deeply nested YAML, size fields that overflow, MAT variables larger than their dimensions, a device as
 * the database. Each case is bounded in time by the suite's timeout: a hang fails it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/idx.h"
#include "data/mat.h"
#include "data/safetensors.h"
#include "fixtures.h"
#include "spec/spec.h"
#include "spec/yamltree.h"
#include "store/store.h"
#include "util/bytes.h"
#include "util/io.h"

static char dir[512];

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
}

static void teardown(void)
{
    aw_fx_rmtree(dir);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Issue 14.7: a FIFO as a spec or a data file blocked forever in open(); a device grew without bound. */
START_TEST(test_not_regular_files)
{
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    aw_error_t err = {0};
    aw_spec_list_t l;
    ck_assert_int_eq(aw_spec_load(fifo, NULL, 0, &l, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "is a FIFO, expected a regular file") != NULL, "%s", err.msg);
    aw_idx_t idx;
    ck_assert_int_eq(aw_idx_read(fifo, &idx, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "a FIFO") != NULL, "%s", err.msg);
    ck_assert_int_eq(aw_spec_load("/dev/zero", NULL, 0, &l, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "/dev/zero: is a device, expected a regular file") != NULL, "%s", err.msg);
    aw_st_file_t st;
    ck_assert_int_eq(aw_st_read("/dev/zero", &st, &err), AW_EIO);
    ck_assert_int_eq(aw_spec_load(dir, NULL, 0, &l, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "is a directory") != NULL, "%s", err.msg);
}
END_TEST

/* Issue 14.7: a spec is at most 1 MiB. */
START_TEST(test_spec_size_limit)
{
    size_t n = ((size_t)1 << 20) + 1;
    char *big = malloc(n);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', n);
    big[n - 1] = '\n';
    char path[600];
    snprintf(path, sizeof path, "%s/big.yaml", dir);
    ck_assert_int_eq(aw_fx_write(path, big, n), 0);
    free(big);
    aw_error_t err = {0};
    aw_spec_list_t l;
    ck_assert_int_eq(aw_spec_load(path, NULL, 0, &l, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "larger than the limit of 1048576 bytes") != NULL, "%s", err.msg);
}
END_TEST

/* Issue 14.4: 100,000 '[' took 23 s in --set and a 2 MB file many minutes: the depth limit now stops
 * the parse where it is crossed. */
START_TEST(test_deep_yaml_is_fast)
{
    size_t n = 100000;
    char *deep = malloc(n + 16);
    ck_assert_ptr_nonnull(deep);
    memcpy(deep, "model.hidden=", 13);
    memset(deep + 13, '[', n);
    deep[13 + n] = '\0';
    const char *set[1] = {deep};
    aw_error_t err = {0};
    aw_spec_list_t l;
    double t0 = now_s();
    ck_assert_int_eq(aw_spec_load_string("{}", "t", set, 1, &l, &err), AW_ESPEC);
    ck_assert_msg(strstr(err.msg, "bad YAML: nested deeper than 64 levels") != NULL, "%s", err.msg);
    aw_ynode_t *root;
    ck_assert_int_eq(aw_ytree_parse(deep + 13, n, "f", 1, &root, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "f:1:66: bad YAML: nested deeper than 64 levels");
    ck_assert_msg(now_s() - t0 < 2.0, "took %.1f s", now_s() - t0);
    free(deep);
    /* 64 levels are fine; a billion laughs stops at the node limit. */
    char ok[200];
    memset(ok, '[', 64);
    memset(ok + 64, ']', 64);
    ck_assert_int_eq(aw_ytree_parse(ok, 128, "f", 1, &root, &err), AW_OK);
    aw_ynode_free(root);
    const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    ck_assert_int_eq(aw_ytree_parse(laughs, strlen(laughs), "f", 1, &root, &err), AW_ESPEC);
    ck_assert_msg(strstr(err.msg, "more than 100000 nodes") != NULL, "%s", err.msg);
}
END_TEST

/* Issue 14.3: [2^61] F64 is 2^64 bytes, which wrapped to 0 and matched offsets [0,0]. */
START_TEST(test_safetensors_size_overflow)
{
    const char *hdr = "{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}";
    size_t hl = strlen(hdr);
    uint8_t buf[256];
    aw_le_put_u64(buf, hl);
    memcpy(buf + 8, hdr, hl);
    aw_st_file_t f;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_st_parse(buf, 8 + hl, &f, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "overflow") != NULL, "%s", err.msg);
}
END_TEST

/* Issue 14.6: a compressed MAT variable may inflate only to what its dimensions hold, and a variable may
 * have at most AW_MAT_MAX_VALUES values. */
START_TEST(test_mat_bounded_by_dimensions)
{
    static double v[8 + 4096] = {1, 2, 3, 4, 5, 6, 7, 8}; /* the fixture writes 4096 values too many */
    aw_fx_matvar_t var = {.name = "x", .mxclass = AW_MX_DOUBLE, .stored = AW_MI_UINT8, .rows = 2, .cols = 4,
                          .values = v, .count_delta = 4096, .compress = 1};
    aw_fx_buf_t b;
    aw_fx_mat(&var, 1, 0, &b);
    aw_mat_var_t out;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_mat_parse(b.p, b.n, "x", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "more than its dimensions 2x4 can fill") != NULL, "%s", err.msg);
    aw_fx_buf_fini(&b);
    var.rows = 1 << 14;
    var.cols = (1 << 13) + 1;
    var.values = NULL;
    var.count_delta = -(long)var.rows * (long)var.cols + 8;
    for (int compress = 0; compress < 2; compress++) {
        var.compress = compress;
        aw_fx_mat(&var, 1, 0, &b);
        ck_assert_int_eq(aw_mat_parse(b.p, b.n, "x", AW_MAT_ROW_MAJOR, &out, &err), AW_EFORMAT);
        ck_assert_msg(strstr(err.msg, "more than the limit of 134217728 values") != NULL, "%s", err.msg);
        aw_fx_buf_fini(&b);
    }
}
END_TEST

/* Issue 14.8: a device as the database failed late (creating /dev/null-journal as root). */
START_TEST(test_store_not_a_file)
{
    aw_store_t *s = NULL;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_store_open(&s, "/dev/null", 0, &err), AW_EIO);
    ck_assert_str_eq(err.msg, "/dev/null: not a database file (it is a device, FIFO or socket)");
    ck_assert_ptr_null(s);
    ck_assert_int_eq(access("/dev/null-journal", F_OK), -1);
    ck_assert_int_eq(aw_store_open(&s, dir, 0, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "it is a directory") != NULL, "%s", err.msg);
}
END_TEST

/* Issue 14.10: aw_io_write_atomic (safetensors exports) leaves the old file on failure. */
START_TEST(test_atomic_write)
{
    char path[600];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    aw_error_t err = {0};
    ck_assert_int_eq(aw_io_write_atomic(path, (const uint8_t *)"old", 3, &err), 0);
    snprintf(path, sizeof path, "%s/missing/out.bin", dir);
    ck_assert_int_eq(aw_io_write_atomic(path, (const uint8_t *)"new", 3, &err), AW_EIO);
    ck_assert_msg(strstr(err.msg, "cannot create") != NULL, "%s", err.msg);
    snprintf(path, sizeof path, "%s/out.bin", dir);
    aw_buf_t b;
    ck_assert_int_eq(aw_io_read_file(path, 100, &b, &err), 0);
    ck_assert_uint_eq(b.size, 3);
    ck_assert_int_eq(memcmp(b.data, "old", 3), 0);
    aw_buf_fini(&b);
    ck_assert_str_eq(aw_io_strerror(EROFS), "read-only file system");
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("inputs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_not_regular_files);
    tcase_add_test(tc, test_spec_size_limit);
    tcase_add_test(tc, test_deep_yaml_is_fast);
    tcase_add_test(tc, test_safetensors_size_overflow);
    tcase_add_test(tc, test_mat_bounded_by_dimensions);
    tcase_add_test(tc, test_store_not_a_file);
    tcase_add_test(tc, test_atomic_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hostile_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
