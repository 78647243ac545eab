/* test_ckpt.c: the checkpoint blob: exact layout, round trips, and that every
 * truncation, bit flip and crafted header is refused without reading outside the buffer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "run/ckpt_layout.h"
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

/* One section as the reference parser below finds it. */
typedef struct ref_sec {
    char tag[5];   /* the four tag bytes, NUL-terminated */
    size_t off;    /* offset of its data in the blob */
    size_t len;    /* its length */
} ref_sec_t;

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The blob format of docs/schema.md#checkpoints, parsed independently of store/ckpt.c: magic, version 1,
 * CRC-32 of all before the last 4 bytes, count sections (4 printable ASCII tag bytes, none twice, u64
 * length within the blob) and nothing after them. Returns the section count (at most max, in sec) or -1. */
static int ref_parse(const uint8_t *g, size_t n, ref_sec_t *sec, int max)
{
    if (n < 16 || memcmp(g, "AWCK", 4) != 0 || get_le(g + 4, 4) != 1)
        return -1;
    const size_t end = n - 4;
    if (get_le(g + end, 4) != (uint32_t)crc32(0L, g, (uInt)end))
        return -1;
    const uint64_t count = get_le(g + 8, 4);
    size_t off = 12;
    for (uint64_t i = 0; i < count; i++) {
        if ((int)i >= max || end - off < 12)
            return -1;
        for (int k = 0; k < 4; k++)
            if (g[off + k] < 0x21 || g[off + k] > 0x7e)
                return -1;
        for (uint64_t j = 0; j < i; j++)
            if (memcmp(sec[j].tag, g + off, 4) == 0)
                return -1;
        const uint64_t len = get_le(g + off + 4, 8);
        if (len > end - off - 12)
            return -1;
        memcpy(sec[i].tag, g + off, 4);
        sec[i].tag[4] = '\0';
        sec[i].off = off + 12;
        sec[i].len = (size_t)len;
        off += 12 + (size_t)len;
    }
    return off == end ? (int)count : -1;
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* Random bytes of random lengths: some with a valid header, some laid out as sections (tags from a small
 * alphabet, so some repeat; now and then a control character), with and without a valid checksum. The
 * decoder accepts exactly the blobs the reference parser accepts, and then holds its sections: tags,
 * lengths and bytes in blob order. */
START_TEST(test_random_garbage)
{
    uint64_t x = 88172645463325252ULL;
    aw_error_t err;
    int decoded = 0, sections = 0;
    for (int t = 0; t < 4000; t++) {
        size_t n = (size_t)(xorshift(&x) % 96);
        uint8_t *g = malloc(n > 0 ? n : 1);
        ck_assert_ptr_nonnull(g);
        for (size_t i = 0; i < n; i++)
            g[i] = (uint8_t)xorshift(&x);
        if (n >= 16) {
            memcpy(g, "AWCK", 4);
            put32(g + 4, 1);
            const uint32_t count = (uint32_t)(xorshift(&x) % 4);
            put32(g + 8, count);
            size_t off = 12;
            for (uint32_t i = 0; t % 4 >= 2 && i < count && off + 12 <= n - 4; i++) {
                for (int k = 0; k < 4; k++)
                    g[off + k] = (uint8_t)(xorshift(&x) % 64 == 0 ? '\t' : "AB"[xorshift(&x) % 2]);
                const size_t room = n - 4 - off - 12;
                const size_t len = i + 1 == count ? room : (size_t)(xorshift(&x) % (room + 1));
                put64(g + off + 4, len);
                off += 12 + len;
            }
            if (t % 2)
                fix_crc(g, n);
        }
        ref_sec_t want[8];
        const int nwant = ref_parse(g, n, want, 8);
        aw_ckpt_t c;
        aw_error_clear(&err);
        int rc = aw_ckpt_decode(g, n, &c, &err);
        ck_assert_msg(rc == (nwant >= 0 ? 0 : AW_EFORMAT), "case %d (%zu bytes): decode %d, reference %d: %s", t,
                      n, rc, nwant, err.msg);
        if (rc == 0) {
            ck_assert_uint_eq(c.n, (size_t)nwant);
            for (int i = 0; i < nwant; i++) {
                ck_assert_str_eq(c.sec[i].tag, want[i].tag);
                ck_assert_uint_eq(c.sec[i].n, want[i].len);
                ck_assert_ptr_nonnull(c.sec[i].data);
                ck_assert_int_eq(memcmp(c.sec[i].data, g + want[i].off, want[i].len), 0);
            }
            decoded++;
            sections += nwant;
        } else {
            ck_assert(strlen(err.msg) > 0);
        }
        aw_ckpt_fini(&c);
        free(g);
    }
    /* Both outcomes occur often, and decoded blobs have sections to compare. */
    ck_assert_int_gt(decoded, 200);
    ck_assert_int_lt(decoded, 3000);
    ck_assert_int_gt(sections, decoded);
}
END_TEST

/* ---- the run checkpoint's layout (run/ckpt_layout.h) ---- */

/* A run checkpoint written by the runner before the layout had its own codec (SHAP and PARM then
 * went out in host byte order): model D=3, H=1, one hidden layer of 2 (27 parameters, parameter i
 * = 0.25 i - 1.5), method state "meth\1", generator seeded (42, 7) and drawn from by the model's
 * initialization, epoch 7 step 3, 24 points, sums 123.5 and 120.25, 1.75 s, accept {3.5, -0.125}. */
static const uint8_t old_blob[333] = {
    0x41, 0x57, 0x43, 0x4b, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x53, 0x48, 0x41, 0x50,
    0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x41, 0x52, 0x4d, 0x6c, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xbf, 0x00, 0x00, 0xa0, 0xbf, 0x00, 0x00, 0x80, 0xbf,
    0x00, 0x00, 0x40, 0xbf, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x80, 0xbe, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x40, 0x3f, 0x00, 0x00, 0x80, 0x3f,
    0x00, 0x00, 0xa0, 0x3f, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0xe0, 0x3f, 0x00, 0x00, 0x00, 0x40,
    0x00, 0x00, 0x10, 0x40, 0x00, 0x00, 0x20, 0x40, 0x00, 0x00, 0x30, 0x40, 0x00, 0x00, 0x40, 0x40,
    0x00, 0x00, 0x50, 0x40, 0x00, 0x00, 0x60, 0x40, 0x00, 0x00, 0x70, 0x40, 0x00, 0x00, 0x80, 0x40,
    0x00, 0x00, 0x88, 0x40, 0x00, 0x00, 0x90, 0x40, 0x00, 0x00, 0x98, 0x40, 0x00, 0x00, 0xa0, 0x40,
    0x4d, 0x45, 0x54, 0x48, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6d, 0x65, 0x74, 0x68,
    0x01, 0x52, 0x4e, 0x47, 0x53, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5f, 0x30, 0x38,
    0x56, 0x4f, 0xe6, 0xa7, 0xfe, 0xc4, 0x64, 0x92, 0xa2, 0xab, 0x61, 0x64, 0xa6, 0x1a, 0x8e, 0xdd,
    0xcd, 0x76, 0x8d, 0x16, 0x7f, 0xf3, 0xba, 0xe5, 0x07, 0xba, 0x4a, 0x68, 0x1a, 0x50, 0x52, 0x4f,
    0x47, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x5e,
    0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x5e, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfc,
    0x3f, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
    0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xbf, 0x84, 0x74, 0x4a, 0x91
};

START_TEST(test_layout_reads_old_blob)
{
    aw_run_ckpt_t ck;
    aw_error_t err;
    ck_assert_msg(aw_run_ckpt_decode(old_blob, sizeof old_blob, &ck, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ck.shape.D, 3);
    ck_assert_int_eq(ck.shape.H, 1);
    ck_assert_int_eq(ck.shape.n_hidden, 1);
    ck_assert_int_eq(ck.shape.hidden[0], 2);
    ck_assert_uint_eq(aw_shape_n_params(&ck.shape), 27);
    for (int i = 0; i < 27; i++)
        ck_assert(ck.params[i] == (float)i * 0.25f - 1.5f);
    ck_assert_uint_eq(ck.meth_bytes, 5);
    ck_assert_int_eq(memcmp(ck.meth, "meth\1", 5), 0);
    ck_assert_int_eq(ck.prog.epoch, 7);
    ck_assert_int_eq(ck.prog.position, 3);
    ck_assert_int_eq(ck.prog.points, 24);
    ck_assert(ck.prog.sum_loss == 123.5 && ck.prog.sum_bound == 120.25 && ck.prog.seconds == 1.75);
    ck_assert_int_eq(ck.prog.n_temps, 2);
    ck_assert(ck.prog.sum_accept[0] == 3.5 && ck.prog.sum_accept[1] == -0.125);
    /* Encoding what was decoded writes the same bytes. */
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(aw_run_ckpt_encode(&ck, &b, &n, &err), 0);
    ck_assert_uint_eq(n, sizeof old_blob);
    ck_assert_int_eq(memcmp(b, old_blob, n), 0);
    free(b);
    /* The generator continues where the writer's did: it is the one seeded (42, 7), drawn from for the
     * model's initialization. */
    aw_rng_t g;
    aw_rng_seed(&g, 42, 7);
    aw_model_t m;
    ck_assert_int_eq(aw_model_init(&m, &ck.shape, &g, &err), 0);
    aw_model_fini(&m);
    ck_assert(aw_rng_next(&g) == aw_rng_next(&ck.rng));
    aw_run_ckpt_fini(&ck);
    ck_assert_ptr_null(ck.params);
}
END_TEST

/* A checkpoint of a two-layer model with n_temps temperatures, encoded. */
static void layout_blob(int n_temps, uint8_t **b, size_t *n)
{
    aw_run_ckpt_t ck = {.shape = {.D = 5, .H = 2, .n_hidden = 2, .hidden = {4, 3}}};
    size_t np = aw_shape_n_params(&ck.shape);
    float *p = malloc(np * sizeof *p);
    double acc[4] = {0.5, 0.25, 0.125, 1e-300};
    uint8_t meth[300];
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < np; i++)
        p[i] = (float)(i % 7) * -1.25e-3f + (float)i;
    for (int i = 0; i < 300; i++)
        meth[i] = (uint8_t)(i * 7 + 3);
    ck.params = p;
    ck.meth = meth;
    ck.meth_bytes = sizeof meth;
    aw_rng_seed(&ck.rng, 9, 1);
    ck.prog = (aw_run_progress_t){.epoch = 12, .position = 0, .points = 0, .sum_loss = -0.0, .sum_bound = 1e10,
                                  .seconds = 0, .n_temps = n_temps, .sum_accept = acc};
    aw_error_t err;
    ck_assert_msg(aw_run_ckpt_encode(&ck, b, n, &err) == 0, "%s", err.msg);
    free(p);
}

START_TEST(test_layout_roundtrip)
{
    for (int nt = 0; nt <= 4; nt += 4) {
        uint8_t *b;
        size_t n;
        layout_blob(nt, &b, &n);
        aw_run_ckpt_t ck;
        aw_error_t err;
        ck_assert_msg(aw_run_ckpt_decode(b, n, &ck, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(ck.shape.hidden[1], 3);
        size_t np = aw_shape_n_params(&ck.shape);
        for (size_t i = 0; i < np; i++)
            ck_assert(ck.params[i] == (float)(i % 7) * -1.25e-3f + (float)i);
        ck_assert_uint_eq(ck.meth_bytes, 300);
        ck_assert_uint_eq(ck.meth[299], (uint8_t)(299 * 7 + 3));
        aw_rng_t g;
        aw_rng_seed(&g, 9, 1);
        ck_assert(aw_rng_next(&g) == aw_rng_next(&ck.rng));
        ck_assert_int_eq(ck.prog.epoch, 12);
        ck_assert(ck.prog.sum_bound == 1e10);
        ck_assert_int_eq(ck.prog.n_temps, nt);
        if (nt > 0)
            ck_assert(ck.prog.sum_accept[3] == 1e-300);
        aw_run_ckpt_fini(&ck);
        /* Any cut short is refused. */
        for (size_t k = 0; k < n; k += 7)
            ck_assert_int_eq(aw_run_ckpt_decode(b, k, &ck, &err), AW_EFORMAT);
        free(b);
    }
}
END_TEST

/* Re-encodes the layout blob with section tag replaced by data [n] (or removed when data is NULL)
 * and decodes it into *out (which the caller finalizes): the container is sound, so what fails is the
 * layout's own check. */
static int decode_altered_into(const char *tag, const void *data, size_t n, aw_run_ckpt_t *out,
                               aw_error_t *err)
{
    uint8_t *b;
    size_t nb;
    layout_blob(2, &b, &nb);
    aw_ckpt_t c;
    ck_assert_int_eq(aw_ckpt_decode(b, nb, &c, err), 0);
    free(b);
    if (data != NULL) {
        ck_assert_int_eq(aw_ckpt_put(&c, tag, data, n, err), 0);
    } else {
        aw_ckpt_t d;
        aw_ckpt_init(&d);
        for (size_t i = 0; i < c.n; i++)
            if (strcmp(c.sec[i].tag, tag) != 0)
                ck_assert_int_eq(aw_ckpt_put(&d, c.sec[i].tag, c.sec[i].data, c.sec[i].n, err), 0);
        aw_ckpt_fini(&c);
        c = d;
    }
    ck_assert_int_eq(aw_ckpt_encode(&c, &b, &nb, err), 0);
    aw_ckpt_fini(&c);
    int rc = aw_run_ckpt_decode(b, nb, out, err);
    if (rc != 0)
        ck_assert_ptr_null(out->params);
    free(b);
    return rc;
}

/* decode_altered_into, for the refusals: the decoded checkpoint is dropped. */
static int decode_altered(const char *tag, const void *data, size_t n, aw_error_t *err)
{
    aw_run_ckpt_t ck;
    int rc = decode_altered_into(tag, data, n, &ck, err);
    aw_run_ckpt_fini(&ck);
    return rc;
}

START_TEST(test_layout_refuses_bad_sections)
{
    aw_error_t err;
    const char *need[] = {"SHAP", "PARM", "METH", "RNGS", "PROG"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(decode_altered(need[i], NULL, 0, &err), AW_EFORMAT);
        ck_assert_msg(strstr(err.msg, i == 0 ? "no section SHAP" : i == 1 ? "no section PARM" : "checkpoint") != NULL,
                      "%s", err.msg);
    }
    uint8_t shap[4 * (4 + AW_MAX_HIDDEN)];
    const int32_t bad_shapes[][4 + AW_MAX_HIDDEN] = {
        {5, 2, AW_MAX_HIDDEN + 1, 0, 4, 3, 1, 1}, /* too many layers */
        {5, 2, 2, 0, 4, 0, 0, 0},                 /* a zero width */
        {5, 2, 2, 1, 4, 3, 0, 0},                 /* the reserved word set */
        {5, 2, 2, 0, 4, 3, 9, 0},                 /* an unused width set */
        {5, 2, 1, 0, 4, 0, 0, 0},                 /* valid, but PARM has the parameters of another shape */
    };
    for (size_t k = 0; k < sizeof bad_shapes / sizeof bad_shapes[0]; k++) {
        for (int i = 0; i < 4 + AW_MAX_HIDDEN; i++)
            aw_le_put_u32(shap + 4 * i, (uint32_t)bad_shapes[k][i]);
        ck_assert_int_eq(decode_altered("SHAP", shap, sizeof shap, &err), AW_EFORMAT);
    }
    ck_assert_int_eq(decode_altered("SHAP", shap, sizeof shap - 4, &err), AW_EFORMAT);
    uint8_t zero[AW_RNG_STATE_BYTES] = {0};
    ck_assert_int_eq(decode_altered("RNGS", zero, sizeof zero, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "generator"));
    uint8_t prog[64 + 16] = {0};
    aw_le_put_u64(prog, 2);
    aw_le_put_u64(prog + 56, 2);
    ck_assert_int_eq(decode_altered("PROG", prog, sizeof prog, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "version 2"));
    /* A sound PROG of other values is read as written, and the other sections stay those of layout_blob. */
    aw_le_put_u64(prog, 1);
    aw_le_put_u64(prog + 8, 5);
    aw_le_put_u64(prog + 16, 3);
    aw_le_put_u64(prog + 24, 17);
    aw_le_put_f64(prog + 32, 2.5);
    aw_le_put_f64(prog + 40, -4.25);
    aw_le_put_f64(prog + 48, 1e-3);
    aw_le_put_f64(prog + 64, 0.75);
    aw_le_put_f64(prog + 72, -1.0);
    aw_run_ckpt_t ck;
    ck_assert_msg(decode_altered_into("PROG", prog, sizeof prog, &ck, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ck.prog.epoch, 5);
    ck_assert_int_eq(ck.prog.position, 3);
    ck_assert_int_eq(ck.prog.points, 17);
    ck_assert(ck.prog.sum_loss == 2.5 && ck.prog.sum_bound == -4.25 && ck.prog.seconds == 1e-3);
    ck_assert_int_eq(ck.prog.n_temps, 2);
    ck_assert(ck.prog.sum_accept[0] == 0.75 && ck.prog.sum_accept[1] == -1.0);
    ck_assert_int_eq(ck.shape.hidden[0], 4);
    ck_assert_int_eq(ck.shape.hidden[1], 3);
    for (size_t i = 0; i < aw_shape_n_params(&ck.shape); i++)
        ck_assert(ck.params[i] == (float)(i % 7) * -1.25e-3f + (float)i);
    ck_assert_uint_eq(ck.meth_bytes, 300);
    aw_run_ckpt_fini(&ck);
    memset(prog + 8, 0, 56);
    memset(prog + 64, 0, 16);
    aw_le_put_u64(prog + 56, 3); /* claims one temperature more than it holds */
    ck_assert_int_eq(decode_altered("PROG", prog, sizeof prog, &err), AW_EFORMAT);
    aw_le_put_u64(prog + 56, UINT64_MAX / 4);
    ck_assert_int_eq(decode_altered("PROG", prog, sizeof prog, &err), AW_EFORMAT);
    aw_le_put_u64(prog + 56, 2);
    aw_le_put_u64(prog + 8, UINT64_MAX); /* a negative epoch */
    ck_assert_int_eq(decode_altered("PROG", prog, sizeof prog, &err), AW_EFORMAT);
}
END_TEST

/* Issue 14.1: a shape whose parameter count wrapped around 2^64 to 3067 was accepted with a PARM section
 * of 3067 floats, and loading it wrote past the parameter block. Every width is now at most AW_MAX_WIDTH and
 * the count is overflow-checked. */
START_TEST(test_layout_refuses_wrapping_shape)
{
    const int32_t wrap[4 + AW_MAX_HIDDEN] = {1, 1, 4, 0, 1703446124, 1703446124, 1703446124, 2007644728};
    uint8_t shap[4 * (4 + AW_MAX_HIDDEN)];
    for (int i = 0; i < 4 + AW_MAX_HIDDEN; i++)
        aw_le_put_u32(shap + 4 * i, (uint32_t)wrap[i]);
    aw_shape_t s = {.D = 1, .H = 1, .n_hidden = 4, .hidden = {1703446124, 1703446124, 1703446124, 2007644728}};
    ck_assert_uint_eq(aw_shape_n_params(&s), 0);
    uint8_t *b;
    size_t nb;
    layout_blob(2, &b, &nb);
    aw_ckpt_t c;
    aw_error_t err;
    ck_assert_int_eq(aw_ckpt_decode(b, nb, &c, &err), 0);
    free(b);
    float *parm = calloc(3067, sizeof *parm);
    ck_assert_ptr_nonnull(parm);
    ck_assert_int_eq(aw_ckpt_put(&c, "SHAP", shap, sizeof shap, &err), 0);
    ck_assert_int_eq(aw_ckpt_put_f32(&c, "PARM", parm, 3067, &err), 0);
    free(parm);
    ck_assert_int_eq(aw_ckpt_encode(&c, &b, &nb, &err), 0);
    aw_ckpt_fini(&c);
    aw_run_ckpt_t ck;
    ck_assert_int_eq(aw_run_ckpt_decode(b, nb, &ck, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "no valid model shape") != NULL, "%s", err.msg);
    aw_run_ckpt_fini(&ck);
    free(b);
    /* The largest widths are fine on their own; past them, or past AW_MAX_PARAMS in all, is not. */
    aw_shape_t big = {.D = AW_MAX_WIDTH, .H = 1, .n_hidden = 1, .hidden = {1}};
    ck_assert_uint_gt(aw_shape_n_params(&big), 0);
    big.D = AW_MAX_WIDTH + 1;
    ck_assert_uint_eq(aw_shape_n_params(&big), 0);
    aw_shape_t wide = {.D = AW_MAX_WIDTH, .H = AW_MAX_WIDTH, .n_hidden = 4,
                       .hidden = {AW_MAX_WIDTH, AW_MAX_WIDTH, AW_MAX_WIDTH, AW_MAX_WIDTH}};
    ck_assert_uint_eq(aw_shape_n_params(&wide), 0);
}
END_TEST

/* Issue 14.10: finding a section scans the sections, so a blob of 100,000 empty sections took seconds;
 * the count is now capped. */
START_TEST(test_too_many_sections)
{
    size_t count = AW_CKPT_MAX_SECTIONS + 1, n = 12 + 12 * count + 4;
    uint8_t *b = calloc(n, 1);
    ck_assert_ptr_nonnull(b);
    memcpy(b, AW_CKPT_MAGIC, 4);
    aw_le_put_u32(b + 4, AW_CKPT_VERSION);
    aw_le_put_u32(b + 8, (uint32_t)count);
    for (size_t i = 0; i < count; i++)
        snprintf((char *)b + 12 + 12 * i, 5, "S%03zu", i);
    aw_le_put_u32(b + n - 4, (uint32_t)crc32(0L, b, (uInt)(n - 4)));
    aw_ckpt_t c;
    aw_error_t err;
    ck_assert_int_eq(aw_ckpt_decode(b, n, &c, &err), AW_EFORMAT);
    ck_assert_msg(strstr(err.msg, "at most 64") != NULL, "%s", err.msg);
    aw_le_put_u32(b + 8, (uint32_t)(count - 1));
    for (size_t i = 0; i < 12; i++)
        b[12 + 12 * (count - 1) + i] = 0; /* the last header becomes stray bytes: still refused */
    aw_le_put_u32(b + n - 4, (uint32_t)crc32(0L, b, (uInt)(n - 4)));
    ck_assert_int_eq(aw_ckpt_decode(b, n, &c, &err), AW_EFORMAT);
    free(b);
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
    TCase *lay = tcase_create("layout");
    tcase_add_test(lay, test_layout_reads_old_blob);
    tcase_add_test(lay, test_layout_roundtrip);
    tcase_add_test(lay, test_layout_refuses_bad_sections);
    tcase_add_test(lay, test_layout_refuses_wrapping_shape);
    tcase_add_test(bad, test_too_many_sections);
    suite_add_tcase(s, lay);
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
