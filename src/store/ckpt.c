/* ckpt.c: encoding and validating checkpoint blobs (see ckpt.h for the layout).
 * Decoding trusts nothing in the blob: every length is checked before use. */
#include "store/ckpt.h"

#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

#include "util/bytes.h"

#define HEADER_BYTES 12u  /* magic, version, count */
#define SECHEAD_BYTES 12u /* tag, u64 length */
#define CRC_BYTES 4u

/* CRC-32 (zlib's) of n bytes: libdeflate's, several times faster than zlib's on the 5 MB of a checkpoint. */
static uint32_t crc_of(const uint8_t *p, size_t n)
{
    return (uint32_t)libdeflate_crc32(0, p, n);
}

static int tag_ok(const char *tag, size_t len)
{
    if (len != AW_CKPT_TAG_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (tag[i] < 0x21 || tag[i] > 0x7e)
            return 0;
    return 1;
}

void aw_ckpt_init(aw_ckpt_t *c)
{
    c->sec = NULL;
    c->n = 0;
    c->cap = 0;
}

void aw_ckpt_fini(aw_ckpt_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->sec[i].data);
    free(c->sec);
    aw_ckpt_init(c);
}

static aw_ckpt_section_t *find(const aw_ckpt_t *c, const char *tag)
{
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->sec[i].tag, tag, AW_CKPT_TAG_LEN) == 0)
            return &c->sec[i];
    return NULL;
}

int aw_ckpt_put(aw_ckpt_t *c, const char *tag, const void *data, size_t n, aw_error_t *err)
{
    if (tag == NULL || !tag_ok(tag, strnlen(tag, AW_CKPT_TAG_LEN + 1)))
        return aw_error_set(err, AW_EARG, "checkpoint section tag \"%.8s\" must be 4 printable ASCII characters",
                            tag ? tag : "(null)");
    if (data == NULL && n > 0)
        return aw_error_set(err, AW_EARG, "checkpoint section %s: NULL data with %zu bytes", tag, n);
    uint8_t *copy = malloc(n > 0 ? n : 1);
    if (copy == NULL)
        return aw_error_set(err, AW_ENOMEM, "checkpoint section %s: out of memory for %zu bytes", tag, n);
    if (n > 0)
        memcpy(copy, data, n);
    aw_ckpt_section_t *s = find(c, tag);
    if (s != NULL) {
        free(s->data);
        s->data = copy;
        s->n = n;
        return 0;
    }
    if (c->n >= AW_CKPT_MAX_SECTIONS) {
        free(copy);
        return aw_error_set(err, AW_EARG, "checkpoint: more than %d sections", AW_CKPT_MAX_SECTIONS);
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        aw_ckpt_section_t *sec = realloc(c->sec, cap * sizeof *sec);
        if (sec == NULL) {
            free(copy);
            return aw_error_set(err, AW_ENOMEM, "checkpoint: out of memory for %zu sections", cap);
        }
        c->sec = sec;
        c->cap = cap;
    }
    s = &c->sec[c->n++];
    memcpy(s->tag, tag, AW_CKPT_TAG_LEN);
    s->tag[AW_CKPT_TAG_LEN] = '\0';
    s->data = copy;
    s->n = n;
    return 0;
}

int aw_ckpt_put_f32(aw_ckpt_t *c, const char *tag, const float *x, size_t n, aw_error_t *err)
{
    if (n > SIZE_MAX / 4)
        return aw_error_set(err, AW_EARG, "checkpoint section %s: %zu floats is too many", tag, n);
    uint8_t *b = malloc(n > 0 ? 4 * n : 1);
    if (b == NULL)
        return aw_error_set(err, AW_ENOMEM, "checkpoint section %s: out of memory for %zu floats", tag, n);
    aw_le_put_f32s(b, x, n);
    int rc = aw_ckpt_put(c, tag, b, 4 * n, err);
    free(b);
    return rc;
}

const void *aw_ckpt_get(const aw_ckpt_t *c, const char *tag, size_t *n)
{
    if (tag == NULL || strnlen(tag, AW_CKPT_TAG_LEN + 1) != AW_CKPT_TAG_LEN)
        return NULL;
    const aw_ckpt_section_t *s = find(c, tag);
    if (s == NULL)
        return NULL;
    if (n != NULL)
        *n = s->n;
    return s->data;
}

const void *aw_ckpt_need(const aw_ckpt_t *c, const char *tag, size_t n, aw_error_t *err)
{
    size_t have = 0;
    const void *p = aw_ckpt_get(c, tag, &have);
    if (p == NULL) {
        aw_error_set(err, AW_EFORMAT, "checkpoint has no section %.4s", tag ? tag : "");
        return NULL;
    }
    if (have != n) {
        aw_error_set(err, AW_EFORMAT, "checkpoint section %.4s has %zu bytes, expected %zu", tag, have, n);
        return NULL;
    }
    return p;
}

int aw_ckpt_get_f32(const aw_ckpt_t *c, const char *tag, float *x, size_t n, aw_error_t *err)
{
    if (n > SIZE_MAX / 4)
        return aw_error_set(err, AW_EARG, "checkpoint section %s: %zu floats is too many", tag, n);
    const uint8_t *p = aw_ckpt_need(c, tag, 4 * n, err);
    if (p == NULL)
        return AW_EFORMAT;
    aw_le_get_f32s(p, x, n);
    return 0;
}

int aw_ckpt_encode(const aw_ckpt_t *c, uint8_t **blob, size_t *n, aw_error_t *err)
{
    *blob = NULL;
    *n = 0;
    if (c->n > UINT32_MAX)
        return aw_error_set(err, AW_EARG, "checkpoint: %zu sections exceed the format's limit", c->n);
    size_t total = HEADER_BYTES + CRC_BYTES;
    for (size_t i = 0; i < c->n; i++) {
        if (c->sec[i].n > SIZE_MAX - total - SECHEAD_BYTES)
            return aw_error_set(err, AW_ENOMEM, "checkpoint: total size overflows");
        total += SECHEAD_BYTES + c->sec[i].n;
    }
    uint8_t *b = malloc(total);
    if (b == NULL)
        return aw_error_set(err, AW_ENOMEM, "checkpoint: out of memory for a %zu-byte blob", total);
    memcpy(b, AW_CKPT_MAGIC, 4);
    aw_le_put_u32(b + 4, AW_CKPT_VERSION);
    aw_le_put_u32(b + 8, (uint32_t)c->n);
    size_t off = HEADER_BYTES;
    for (size_t i = 0; i < c->n; i++) {
        memcpy(b + off, c->sec[i].tag, AW_CKPT_TAG_LEN);
        aw_le_put_u64(b + off + 4, (uint64_t)c->sec[i].n);
        off += SECHEAD_BYTES;
        if (c->sec[i].n > 0)
            memcpy(b + off, c->sec[i].data, c->sec[i].n);
        off += c->sec[i].n;
    }
    aw_le_put_u32(b + off, crc_of(b, off));
    *blob = b;
    *n = total;
    return 0;
}

int aw_ckpt_decode(const void *blob, size_t n, aw_ckpt_t *c, aw_error_t *err)
{
    const uint8_t *b = blob;
    aw_ckpt_init(c);
    if (b == NULL || n < HEADER_BYTES + CRC_BYTES)
        return aw_error_set(err, AW_EFORMAT, "checkpoint: %zu bytes is shorter than the %u-byte minimum",
                            b ? n : 0, HEADER_BYTES + CRC_BYTES);
    if (memcmp(b, AW_CKPT_MAGIC, 4) != 0)
        return aw_error_set(err, AW_EFORMAT, "checkpoint: bad magic at offset 0 (expected \"AWCK\")");
    uint32_t version = aw_le_get_u32(b + 4);
    if (version != AW_CKPT_VERSION)
        return aw_error_set(err, AW_EFORMAT, "checkpoint: format version %u at offset 4, this program reads version %u",
                            version, AW_CKPT_VERSION);
    size_t body = n - CRC_BYTES;
    uint32_t want = aw_le_get_u32(b + body), got = crc_of(b, body);
    if (want != got)
        return aw_error_set(err, AW_EFORMAT, "checkpoint: checksum mismatch (stored %08x, computed %08x over %zu bytes)",
                            want, got, body);
    uint32_t count = aw_le_get_u32(b + 8);
    if (count > (body - HEADER_BYTES) / SECHEAD_BYTES)
        return aw_error_set(err, AW_EFORMAT, "checkpoint: %u sections cannot fit in %zu bytes", count, n);
    if (count > AW_CKPT_MAX_SECTIONS)
        return aw_error_set(err, AW_EFORMAT, "checkpoint: %u sections, at most %d allowed", count,
                            AW_CKPT_MAX_SECTIONS);
    size_t off = HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        if (body - off < SECHEAD_BYTES) {
            aw_ckpt_fini(c);
            return aw_error_set(err, AW_EFORMAT, "checkpoint: section %u header at offset %zu runs past the end", i, off);
        }
        const char *tag = (const char *)(b + off);
        uint64_t len = aw_le_get_u64(b + off + 4);
        if (!tag_ok(tag, AW_CKPT_TAG_LEN)) {
            aw_ckpt_fini(c);
            return aw_error_set(err, AW_EFORMAT, "checkpoint: section %u at offset %zu has a malformed tag", i, off);
        }
        off += SECHEAD_BYTES;
        if (len > body - off) {
            aw_ckpt_fini(c);
            return aw_error_set(err, AW_EFORMAT,
                                "checkpoint: section %.4s at offset %zu claims %llu bytes, only %zu remain", tag,
                                off - SECHEAD_BYTES, (unsigned long long)len, body - off);
        }
        char t[AW_CKPT_TAG_LEN + 1];
        memcpy(t, tag, AW_CKPT_TAG_LEN);
        t[AW_CKPT_TAG_LEN] = '\0';
        if (find(c, t) != NULL) {
            aw_ckpt_fini(c);
            return aw_error_set(err, AW_EFORMAT, "checkpoint: section %s appears twice (second at offset %zu)", t,
                                off - SECHEAD_BYTES);
        }
        int rc = aw_ckpt_put(c, t, b + off, (size_t)len, err);
        if (rc != 0) {
            aw_ckpt_fini(c);
            return rc;
        }
        off += (size_t)len;
    }
    if (off != body) {
        aw_ckpt_fini(c);
        return aw_error_set(err, AW_EFORMAT, "checkpoint: %zu unexpected bytes after the last section at offset %zu",
                            body - off, off);
    }
    return 0;
}
