/* idx.c: IDX parsing and conversion to float intensities (see idx.h).
 * Every read is checked against the buffer length before it happens. */
#include "data/idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/bytes.h"

const char *aw_idx_type_name(int type)
{
    switch (type) {
    case AW_IDX_U8: return "unsigned byte";
    case AW_IDX_I8: return "signed byte";
    case AW_IDX_I16: return "int16";
    case AW_IDX_I32: return "int32";
    case AW_IDX_F32: return "float";
    case AW_IDX_F64: return "double";
    default: return "unknown";
    }
}

static size_t type_size(int type)
{
    switch (type) {
    case AW_IDX_U8:
    case AW_IDX_I8: return 1;
    case AW_IDX_I16: return 2;
    case AW_IDX_I32:
    case AW_IDX_F32: return 4;
    case AW_IDX_F64: return 8;
    default: return 0;
    }
}

const char *aw_idx_shape(const aw_idx_t *idx, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < idx->ndim && off < n; i++) {
        int w = snprintf(buf + off, n - off, i ? "x%u" : "%u", (unsigned)idx->dims[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return buf;
}

/* Parses the magic and dimensions at buf[0..n) into out (type, ndim, dims, count, item, elsize; data NULL);
 * *header = the header's bytes, *overflow = 1 when the element count does not fit a size_t. */
static int parse_head(const uint8_t *buf, size_t n, aw_idx_t *out, size_t *header_out, int *overflow_out,
                      aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (n < 4)
        return aw_error_set(err, AW_EFORMAT, "offset 0: file is %zu bytes, too short for the 4-byte IDX magic", n);
    uint32_t magic = aw_be_get_u32(buf);
    if (buf[0] != 0 || buf[1] != 0)
        return aw_error_set(err, AW_EFORMAT, "offset 0: bad IDX magic 0x%08x, expected 0x0000TTNN "
                            "(two zero bytes, type, number of dimensions; e.g. 0x00000803 for images)", magic);
    int type = buf[2], ndim = buf[3];
    size_t elsize = type_size(type);
    if (elsize == 0)
        return aw_error_set(err, AW_EFORMAT, "offset 2: unknown IDX element type 0x%02x, expected 0x08, 0x09, "
                            "0x0b, 0x0c, 0x0d or 0x0e", (unsigned)type);
    if (ndim < 1 || ndim > AW_IDX_MAX_DIMS)
        return aw_error_set(err, AW_EFORMAT, "offset 3: IDX dimension count %d, expected 1..%d", ndim,
                            AW_IDX_MAX_DIMS);
    size_t header = 4 + 4 * (size_t)ndim;
    if (n < header)
        return aw_error_set(err, AW_EFORMAT, "offset %zu: file ends inside the header: %d dimensions need "
                            "a %zu-byte header, the file is %zu bytes", n, ndim, header, n);
    size_t count = 1, item = 1;
    int overflow = 0;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = aw_be_get_u32(buf + 4 + 4 * (size_t)i);
        out->dims[i] = d;
        if (d != 0 && count > SIZE_MAX / d)
            overflow = 1;
        else
            count *= d;
        if (i > 0)
            item = overflow ? 0 : item * d;
    }
    out->type = type;
    out->ndim = ndim;
    out->count = overflow ? SIZE_MAX : count;
    out->item = item;
    out->elsize = elsize;
    *header_out = header;
    *overflow_out = overflow || count > SIZE_MAX / elsize;
    return AW_OK;
}

/* The payload bytes the header of h promises (its count times element size), or an error naming the
 * offset when they are not `payload`. */
static int check_payload(const aw_idx_t *h, size_t header, int overflow, size_t payload, aw_error_t *err)
{
    char shape[AW_IDX_MAX_DIMS * 12];
    aw_idx_shape(h, shape, sizeof shape);
    if (overflow || h->count * h->elsize != payload)
        return aw_error_set(err, AW_EFORMAT, "offset %zu: dimensions %s of %s need %s%zu data bytes after the "
                            "%zu-byte header, the file has %zu", header, shape, aw_idx_type_name(h->type),
                            overflow ? "more than " : "", overflow ? SIZE_MAX : h->count * h->elsize, header,
                            payload);
    return AW_OK;
}

int aw_idx_parse(const uint8_t *buf, size_t n, aw_idx_t *out, aw_error_t *err)
{
    size_t header;
    int overflow;
    int rc = parse_head(buf, n, out, &header, &overflow, err);
    if (rc == AW_OK)
        rc = check_payload(out, header, overflow, n - header, err);
    if (rc != AW_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->data = buf + header;
    return AW_OK;
}

int aw_idx_read(const char *path, aw_idx_t *out, aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    aw_buf_t b;
    int rc = aw_io_load(path, AW_IO_MAX_BYTES, &b, NULL, err);
    if (rc != AW_OK)
        return rc;
    rc = aw_idx_parse(b.data, b.size, out, err);
    if (rc != AW_OK) {
        aw_buf_fini(&b);
        return aw_error_prefix(err, "%s", path);
    }
    out->buf = b;
    return AW_OK;
}

/* Bytes read from the front of a file for its header: a gzip stream's first deflate blocks hold it. */
#define HEAD_READ 65536

int aw_idx_read_header(const char *path, aw_idx_t *out, aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return aw_error_set(err, AW_EIO, "%s: cannot open (%s)", path, strerror(errno));
    uint8_t *raw = malloc(HEAD_READ);
    struct stat st;
    int ok = raw != NULL && fstat(fileno(f), &st) == 0;
    size_t got = ok ? fread(raw, 1, HEAD_READ, f) : 0;
    ok = ok && !ferror(f);
    fclose(f);
    if (!ok) {
        free(raw);
        return aw_error_set(err, raw == NULL ? AW_ENOMEM : AW_EIO, "%s: cannot read its header", path);
    }
    uint8_t head[4 + 4 * AW_IDX_MAX_DIMS];
    const uint8_t *h = raw;
    size_t n = got, header;
    int overflow, gz = aw_io_is_gzip(raw, got), rc = AW_OK;
    if (gz) {
        rc = aw_io_inflate_head(raw, got, AW_IO_GZIP, head, sizeof head, &n, err);
        h = head;
    }
    if (rc == AW_OK)
        rc = parse_head(h, n, out, &header, &overflow, err);
    /* A plain file's length must match its header; a gzip one's is checked when the run loads it. */
    if (rc == AW_OK && !gz)
        rc = check_payload(out, header, overflow, (size_t)st.st_size - header, err);
    free(raw);
    if (rc != AW_OK) {
        memset(out, 0, sizeof *out);
        return aw_error_prefix(err, "%s", path);
    }
    return AW_OK;
}

void aw_idx_fini(aw_idx_t *idx)
{
    if (idx == NULL)
        return;
    aw_buf_fini(&idx->buf);
    memset(idx, 0, sizeof *idx);
}

int aw_idx_to_float(const aw_idx_t *idx, size_t first, size_t nitems, float *out, aw_error_t *err)
{
    size_t items = idx->ndim >= 1 ? idx->dims[0] : 0;
    if (first > items || nitems > items - first)
        return aw_error_set(err, AW_EARG, "items [%zu, %zu) requested, the file has %zu", first, first + nitems,
                            items);
    size_t m = idx->item, n = nitems * m;
    const uint8_t *src = idx->data + first * m * idx->elsize;
    if (idx->type == AW_IDX_U8) {
        float lut[256];
        for (int i = 0; i < 256; i++)
            lut[i] = aw_idx_u8_value((uint8_t)i);
#pragma omp parallel for schedule(static) if (n > 100000)
        for (size_t i = 0; i < n; i++)
            out[i] = lut[src[i]];
        return AW_OK;
    }
    if (idx->type == AW_IDX_F32) {
        for (size_t i = 0; i < n; i++) {
            uint32_t u = aw_be_get_u32(src + 4 * i);
            float v;
            memcpy(&v, &u, sizeof v);
            out[i] = v;
        }
        return AW_OK;
    }
    if (idx->type == AW_IDX_F64) {
        for (size_t i = 0; i < n; i++) {
            uint64_t u = aw_be_get_u64(src + 8 * i);
            double v;
            memcpy(&v, &u, sizeof v);
            out[i] = (float)v;
        }
        return AW_OK;
    }
    return aw_error_set(err, AW_EFORMAT, "offset 2: element type %s (0x%02x) is not a pixel intensity type; "
                        "expected unsigned byte (0x08), float (0x0d) or double (0x0e)",
                        aw_idx_type_name(idx->type), (unsigned)idx->type);
}
