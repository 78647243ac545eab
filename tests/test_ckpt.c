/* test_ckpt.c: the checkpoint blob: exact layout, round trips, and that every
 * truncation, bit flip and crafted header is refused without reading outside the buffer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "store/ckpt.h"
#include "util/bytes.h"

/* Section tag holding v as 8 little-endian bytes. */
static void put_u64_section(aw_ckpt_t *c, const char *tag, uint64_t v)
{
    uint8_t b[8];
    aw_error_t err;
    aw_le_put_u64(b, v);
    ck_assert_int_eq(aw_ckpt_put(c, tag, b, sizeof b, &err), 0);
}

/* The u64 in section tag, which must have exactly 8 bytes. */
static uint64_t get_u64_section(const aw_ckpt_t *c, const char *tag)
{
    aw_error_t err;
    const uint8_t *p = aw_ckpt_need(c, tag, 8, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    return aw_le_get_u64(p);
}

/* A checkpoint with a few sections of different kinds, encoded. */
static void sample_blob(uint8_t **blob, size_t *n)
{
    aw_ckpt_t c;
    aw_error_t err;
    aw_ckpt_init(&c);
    float w[7] = {1.5f, -2.25f, 0.0f, -0.0f, 3.0e-38f, 1.0e30f, 0.1f};
    double st[3] = {0.01, 0.125, -1e300};
    uint8_t rng[32];
    for (int i = 0; i < 32; i++)
        rng[i] = (uint8_t)(i * 37 + 1);
    ck_assert_int_eq(aw_ckpt_put_f32(&c, "PARM", w, 7, &err), 0);
    uint8_t stb[sizeof st];
    aw_le_put_f64s(stb, st, 3);
    ck_assert_int_eq(aw_ckpt_put(&c, "STEP", stb, sizeof stb, &err), 0);
    ck_assert_int_eq(aw_ckpt_put(&c, "RNGS", rng, sizeof rng, &err), 0);
    put_u64_section(&c, "EPOC", 12345678901ULL);
    ck_assert_int_eq(aw_ckpt_put(&c, "NONE", NULL, 0, &err), 0);
    ck_assert_int_eq(aw_ckpt_encode(&c, blob, n, &err), 0);
    aw_ckpt_fini(&c);
}

/* Rewrites the trailing CRC so a crafted blob passes the checksum. */
static void fix_crc(uint8_t *b, size_t n)
{
    uint32_t crc = (uint32_t)crc32(0L, b, (uInt)(n - 4));
    for (int i = 0; i < 4; i++)
        b[n - 4 + i] = (uint8_t)(crc >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Decodes a heap copy of exactly n bytes (so ASan sees any over-read); returns the code. */
static int decode_copy(const uint8_t *b, size_t n, aw_error_t *err)
{
    uint8_t *copy = malloc(n > 0 ? n : 1);
    ck_assert_ptr_nonnull(copy);
    if (n > 0)
        memcpy(copy, b, n);
    aw_ckpt_t c;
    int rc = aw_ckpt_decode(copy, n, &c, err);
    if (rc != 0) {
        ck_assert_uint_eq(c.n, 0);
        ck_assert_ptr_null(c.sec);
    }
    aw_ckpt_fini(&c);
    free(copy);
    return rc;
}

START_TEST(test_exact_layout)
{
    aw_ckpt_t c;
    aw_error_t err;
    aw_ckpt_init(&c);
    const uint8_t data[3] = {1, 2, 3};
    ck_assert_int_eq(aw_ckpt_put(&c, "ABCD", data, 3, &err), 0);
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(aw_ckpt_encode(&c, &b, &n, &err), 0);
    const uint8_t want[] = {'A', 'W', 'C', 'K', 1, 0, 0, 0, 1, 0, 0, 0, 'A', 'B', 'C', 'D',
                            3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3};
    ck_assert_uint_eq(n, sizeof want + 4);
    ck_assert_int_eq(memcmp(b, want, sizeof want), 0);
    uint32_t crc = (uint32_t)crc32(0L, want, sizeof want);
    ck_assert_uint_eq(b[n - 4] | b[n - 3] << 8 | b[n - 2] << 16 | (uint32_t)b[n - 1] << 24, crc);
    free(b);
    aw_ckpt_fini(&c);
}
END_TEST

START_TEST(test_roundtrip)
{
    uint8_t *b;
    size_t n;
    sample_blob(&b, &n);
    aw_ckpt_t c;
    aw_error_t err;
    ck_assert_int_eq(aw_ckpt_decode(b, n, &c, &err), 0);
    ck_assert_uint_eq(c.n, 5);
    ck_assert_str_eq(c.sec[0].tag, "PARM");
    ck_assert_str_eq(c.sec[4].tag, "NONE");
    float w[7], want_w[7] = {1.5f, -2.25f, 0.0f, -0.0f, 3.0e-38f, 1.0e30f, 0.1f};
    ck_assert_int_eq(aw_ckpt_get_f32(&c, "PARM", w, 7, &err), 0);
    ck_assert_int_eq(memcmp(w, want_w, sizeof w), 0);
    double st[3];
    const uint8_t *stb = aw_ckpt_need(&c, "STEP", sizeof st, &err);
    ck_assert_ptr_nonnull(stb);
    aw_le_get_f64s(stb, st, 3);
    ck_assert(st[0] == 0.01 && st[1] == 0.125 && st[2] == -1e300);
    ck_assert_uint_eq(get_u64_section(&c, "EPOC"), 12345678901ULL);
    size_t k = 99;
    const uint8_t *r = aw_ckpt_get(&c, "RNGS", &k);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(k, 32);
    ck_assert_uint_eq(r[5], (uint8_t)(5 * 37 + 1));
    ck_assert_ptr_nonnull(aw_ckpt_get(&c, "NONE", &k));
    ck_assert_uint_eq(k, 0);
    ck_assert_ptr_null(aw_ckpt_get(&c, "MISS", &k));
    ck_assert_ptr_null(aw_ckpt_get(&c, "PAR", &k));
    /* Wrong sizes and missing sections are format errors naming the tag. */
    ck_assert_ptr_null(aw_ckpt_need(&c, "PARM", 27, &err));
    ck_assert_int_eq(err.code, AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "PARM has 28 bytes, expected 27"));
    ck_assert_int_eq(aw_ckpt_get_f32(&c, "PARM", w, 6, &err), AW_EFORMAT);
    ck_assert_int_eq(aw_ckpt_get_f32(&c, "MISS", w, 7, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "no section MISS"));
    /* Re-encoding the decoded checkpoint gives the same bytes. */
    uint8_t *b2;
    size_t n2;
    ck_assert_int_eq(aw_ckpt_encode(&c, &b2, &n2, &err), 0);
    ck_assert_uint_eq(n2, n);
    ck_assert_int_eq(memcmp(b, b2, n), 0);
    free(b2);
    aw_ckpt_fini(&c);
    free(b);
}
END_TEST

START_TEST(test_empty_and_replace)
{
    aw_ckpt_t c;
    aw_error_t err;
    aw_ckpt_init(&c);
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(aw_ckpt_encode(&c, &b, &n, &err), 0);
    ck_assert_uint_eq(n, 16);
    aw_ckpt_t d;
    ck_assert_int_eq(aw_ckpt_decode(b, n, &d, &err), 0);
    ck_assert_uint_eq(d.n, 0);
    aw_ckpt_fini(&d);
    free(b);
    /* put replaces a section of the same tag; more than the initial capacity of sections works. */
    for (int i = 0; i < 20; i++) {
        char tag[5] = {'T', '0', (char)('0' + i / 10), (char)('0' + i % 10), '\0'};
        put_u64_section(&c, tag, (uint64_t)i);
    }
    put_u64_section(&c, "T007", 700);
    ck_assert_uint_eq(c.n, 20);
    ck_assert_uint_eq(get_u64_section(&c, "T007"), 700);
    ck_assert_uint_eq(get_u64_section(&c, "T019"), 19);
    aw_ckpt_fini(&c);
}
END_TEST

START_TEST(test_bad_tags)
{
    aw_ckpt_t c;
    aw_error_t err;
    aw_ckpt_init(&c);
    const char *bad[] = {"ABC", "ABCDE", "AB D", "", "AB\tD"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        aw_error_clear(&err);
        ck_assert_int_eq(aw_ckpt_put(&c, bad[i], "x", 1, &err), AW_EARG);
        ck_assert_int_eq(err.code, AW_EARG);
    }
    ck_assert_int_eq(aw_ckpt_put(&c, NULL, "x", 1, &err), AW_EARG);
    ck_assert_int_eq(aw_ckpt_put(&c, "GOOD", NULL, 4, &err), AW_EARG);
    ck_assert_uint_eq(c.n, 0);
    aw_ckpt_fini(&c);
}
END_TEST

/* Every proper prefix of a valid blob is refused cleanly. */
START_TEST(test_truncation_every_length)
{
    uint8_t *b;
    size_t n;
    sample_blob(&b, &n);
    aw_error_t err;
    for (size_t k = 0; k < n; k++) {
        aw_error_clear(&err);
        ck_assert_int_eq(decode_copy(b, k, &err), AW_EFORMAT);
        ck_assert_int_eq(err.code, AW_EFORMAT);
        ck_assert(strlen(err.msg) > 0);
    }
    ck_assert_int_eq(decode_copy(b, n, &err), 0);
    /* One byte too many (trailing garbage) is refused too. */
    uint8_t *longer = malloc(n + 1);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, b, n);
    longer[n] = 0;
    ck_assert_int_eq(decode_copy(longer, n + 1, &err), AW_EFORMAT);
    free(longer);
    aw_ckpt_t c;
    ck_assert_int_eq(aw_ckpt_decode(NULL, 0, &c, &err), AW_EFORMAT);
    free(b);
}
END_TEST

/* Every single-bit flip anywhere (header, tags, lengths, data, checksum) is caught. */
START_TEST(test_every_bit_flip)
{
    uint8_t *b;
    size_t n;
    sample_blob(&b, &n);
    aw_error_t err;
    int checksum_msgs = 0;
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            aw_error_clear(&err);
            ck_assert_int_eq(decode_copy(b, n, &err), AW_EFORMAT);
            checksum_msgs += strstr(err.msg, "checksum") != NULL;
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Past the magic and version, it is the checksum that catches flips. */
    ck_assert_int_eq(checksum_msgs, (int)(8 * (n - 8)));
    ck_assert_int_eq(decode_copy(b, n, &err), 0);
    free(b);
}
END_TEST

START_TEST(test_version_mismatch)
{
    uint8_t *b;
    size_t n;
    sample_blob(&b, &n);
    put32(b + 4, 2);
    fix_crc(b, n);
    aw_error_t err;
    ck_assert_int_eq(decode_copy(b, n, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "format version 2"));
    ck_assert_ptr_nonnull(strstr(err.msg, "reads version 1"));
    memcpy(b, "AWCX", 4);
    ck_assert_int_eq(decode_copy(b, n, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "magic"));
    free(b);
}
END_TEST

/* Blobs whose checksum is right but whose structure lies. */
START_TEST(test_crafted_structure)
{
    uint8_t *b;
    size_t n;
    sample_blob(&b, &n);
    uint8_t *w = malloc(n);
    ck_assert_ptr_nonnull(w);
    aw_error_t err;
    /* Huge section count. */
    memcpy(w, b, n);
    put32(w + 8, 0xffffffffu);
    fix_crc(w, n);
    ck_assert_int_eq(decode_copy(w, n, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot fit"));
    /* One section more than there is: the next header runs past the end. */
    memcpy(w, b, n);
    put32(w + 8, 6);
    fix_crc(w, n);
    ck_assert_int_eq(decode_copy(w, n, &err), AW_EFORMAT);
    /* One section fewer: trailing bytes. */
    memcpy(w, b, n);
    put32(w + 8, 4);
    fix_crc(w, n);
    ck_assert_int_eq(decode_copy(w, n, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "unexpected bytes"));
    /* First section length huge, and length + offset overflowing 64 bits. */
    uint64_t lens[] = {(uint64_t)n, UINT64_MAX, UINT64_MAX - 11, 29};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memcpy(w, b, n);
        put64(w + 16, lens[i]);
        fix_crc(w, n);
        ck_assert_int_eq(decode_copy(w, n, &err), AW_EFORMAT);
    }
    /* Duplicate tag, and a tag with a control character. */
    memcpy(w, b, n);
    memcpy(w + 12 + 12 + 28, "PARM", 4);
    fix_crc(w, n);
    ck_assert_int_eq(decode_copy(w, n, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "twice"));
    memcpy(w, b, n);
    w[13] = '\n';
    fix_crc(w, n);
    ck_assert_int_eq(decode_copy(w, n, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "malformed tag"));
    free(w);
    free(b);
}
END_TEST

/* Random garbage of random lengths, with and without a valid checksum. */
START_TEST(test_random_garbage)
{
    uint64_t x = 88172645463325252ULL;
    aw_error_t err;
    for (int t = 0; t < 2000; t++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % 96);
        uint8_t *g = malloc(n > 0 ? n : 1);
        ck_assert_ptr_nonnull(g);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            g[i] = (uint8_t)x;
        }
        if (n >= 16) {
            memcpy(g, "AWCK", 4);
            put32(g + 4, 1);
            put32(g + 8, (uint32_t)(x % 4));
            if (t % 2)
                fix_crc(g, n);
        }
        aw_ckpt_t c;
        int rc = aw_ckpt_decode(g, n, &c, &err);
        ck_assert(rc == 0 || rc == AW_EFORMAT);
        aw_ckpt_fini(&c);
        free(g);
    }
}
END_TEST

static Suite *ckpt_suite(void)
{
    Suite *s = suite_create("ckpt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_exact_layout);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_empty_and_replace);
    tcase_add_test(tc, test_bad_tags);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("corrupt");
    tcase_add_test(bad, test_truncation_every_length);
    tcase_add_test(bad, test_every_bit_flip);
    tcase_add_test(bad, test_version_mismatch);
    tcase_add_test(bad, test_crafted_structure);
    tcase_add_test(bad, test_random_garbage);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ckpt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
