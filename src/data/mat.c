/* mat.c: MATLAB level-5 MAT reader (see mat.h). Walks the top-level elements, peeks at the header of
 * each compressed variable to learn its name, and inflates and converts only the one asked for. */
#include "data/mat.h"

#include <float.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/io.h"

#define MAT_HEADER 128
/* Bytes inflated to read a compressed variable's flags, dimensions and name. */
#define MAT_PEEK 512
/* Returned (positive) when a peeked header needs more bytes than the peek holds. */
#define NEED_MORE 1
/* At most this many dimensions are accepted (MATLAB arrays rarely have more than a handful). */
#define MAT_MAX_DIMS 32

/* A bounds-checked view of bytes being parsed. */
typedef struct rd {
    const uint8_t *p; /* the bytes */
    size_t avail;     /* how many bytes are present */
    int swap;         /* 1 if the file is big-endian ("MI") */
    size_t zoff;      /* file offset of the miCOMPRESSED element these bytes were inflated from, or SIZE_MAX */
} rd_t;

/* A miMATRIX element's header. */
typedef struct mhdr {
    int mxclass;                 /* array class, AW_MX_* */
    int flags;                   /* flag bits of the array flags: 0x08 complex, 0x04 global, 0x02 logical */
    int two_d;                   /* 1 if all dimensions after the second are 1 */
    size_t rows, cols;           /* first two dimensions */
    char dims[96];               /* dimensions as text, "784x24345" */
    char name[AW_MAT_NAME_MAX + 1]; /* variable name */
    size_t content;              /* offset of the first sub-element after the name */
    size_t end;                  /* offset just past the element */
} mhdr_t;

const char *aw_mat_class_name(int mxclass)
{
    static const char *const names[] = {"unknown", "cell", "struct", "object", "char", "sparse", "double",
                                        "single", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                                        "int64", "uint64"};
    return mxclass >= 1 && mxclass <= 15 ? names[mxclass] : "unknown";
}

const char *aw_mat_type_name(int mitype)
{
    switch (mitype) {
    case AW_MI_INT8: return "miINT8";
    case AW_MI_UINT8: return "miUINT8";
    case AW_MI_INT16: return "miINT16";
    case AW_MI_UINT16: return "miUINT16";
    case AW_MI_INT32: return "miINT32";
    case AW_MI_UINT32: return "miUINT32";
    case AW_MI_SINGLE: return "miSINGLE";
    case AW_MI_DOUBLE: return "miDOUBLE";
    case AW_MI_INT64: return "miINT64";
    case AW_MI_UINT64: return "miUINT64";
    case AW_MI_MATRIX: return "miMATRIX";
    case AW_MI_COMPRESSED: return "miCOMPRESSED";
    case AW_MI_UTF8: return "miUTF8";
    case AW_MI_UTF16: return "miUTF16";
    case AW_MI_UTF32: return "miUTF32";
    default: return "unknown";
    }
}

/* Size in bytes of a numeric data type, 0 for the others. */
static size_t type_size(uint32_t t)
{
    switch (t) {
    case AW_MI_INT8:
    case AW_MI_UINT8: return 1;
    case AW_MI_INT16:
    case AW_MI_UINT16: return 2;
    case AW_MI_INT32:
    case AW_MI_UINT32:
    case AW_MI_SINGLE: return 4;
    case AW_MI_DOUBLE:
    case AW_MI_INT64:
    case AW_MI_UINT64: return 8;
    default: return 0;
    }
}

/* Integers in the file's byte order: swap means the file is big-endian. */
static uint16_t ld16(const uint8_t *p, int swap)
{
    return swap ? aw_be_get_u16(p) : aw_le_get_u16(p);
}

static uint32_t ld32(const uint8_t *p, int swap)
{
    return swap ? aw_be_get_u32(p) : aw_le_get_u32(p);
}

static uint64_t ld64(const uint8_t *p, int swap)
{
    return swap ? aw_be_get_u64(p) : aw_le_get_u64(p);
}

/* Formats where offset off of r lies in the file. */
static const char *loc(const rd_t *r, size_t off, char *s, size_t n)
{
    if (r->zoff == SIZE_MAX)
        snprintf(s, n, "offset %zu", off);
    else
        snprintf(s, n, "offset %zu of the data inflated from the miCOMPRESSED element at offset %zu", off,
                 r->zoff);
    return s;
}

/* Reads the element tag at off inside a container ending at end. Fills the type, the data length and
 * offset, and the offset of the next element (data padded to 8 bytes unless pad is 0). Returns NEED_MORE
 * if the element lies within end but beyond the bytes present. */
static int rd_tag(const rd_t *r, size_t off, size_t end, int pad, const char *what, uint32_t *type,
                  size_t *nbytes, size_t *data, size_t *next, aw_error_t *err)
{
    char where[160];
    if (off > end || end - off < 8)
        return aw_error_set(err, AW_EFORMAT, "%s: %s: expected an 8-byte element tag, only %zu bytes remain",
                            loc(r, off, where, sizeof where), what, off > end ? (size_t)0 : end - off);
    if (off + 8 > r->avail)
        return NEED_MORE;
    uint32_t w0 = ld32(r->p + off, r->swap);
    if (w0 >> 16) {
        /* Small data element: 2 bytes length, 2 bytes type, up to 4 bytes of data in the tag itself. */
        *type = w0 & 0xffff;
        *nbytes = w0 >> 16;
        if (*nbytes > 4)
            return aw_error_set(err, AW_EFORMAT, "%s: %s: small data element claims %zu bytes, at most 4 fit",
                                loc(r, off, where, sizeof where), what, *nbytes);
        *data = off + 4;
        *next = off + 8;
        return AW_OK;
    }
    *type = w0;
    *nbytes = ld32(r->p + off + 4, r->swap);
    *data = off + 8;
    if (*nbytes > end - *data)
        return aw_error_set(err, AW_EFORMAT, "%s: %s: %s element of %zu bytes runs past the end of its "
                            "container (%zu bytes remain)", loc(r, off, where, sizeof where), what,
                            aw_mat_type_name((int)*type), *nbytes, end - *data);
    size_t padded = pad ? (*nbytes + 7) / 8 * 8 : *nbytes;
    *next = padded <= end - *data ? *data + padded : end;
    if (*data + *nbytes > r->avail)
        return NEED_MORE;
    return AW_OK;
}

/* Parses the array flags, dimensions and name of the miMATRIX whose contents are [start, end). */
static int parse_header(const rd_t *r, size_t start, size_t end, mhdr_t *h, aw_error_t *err)
{
    memset(h, 0, sizeof *h);
    h->end = end;
    char where[160];
    uint32_t type;
    size_t nb, data, next;
    int rc = rd_tag(r, start, end, 1, "array flags", &type, &nb, &data, &next, err);
    if (rc != AW_OK)
        return rc;
    if (type != AW_MI_UINT32 || nb != 8)
        return aw_error_set(err, AW_EFORMAT, "%s: array flags: expected a miUINT32 element of 8 bytes, found "
                            "%s (%u) of %zu bytes", loc(r, start, where, sizeof where),
                            aw_mat_type_name((int)type), (unsigned)type, nb);
    uint32_t fw = ld32(r->p + data, r->swap);
    h->mxclass = (int)(fw & 0xff);
    h->flags = (int)((fw >> 8) & 0xff);
    size_t off = next;
    rc = rd_tag(r, off, end, 1, "dimensions", &type, &nb, &data, &next, err);
    if (rc != AW_OK)
        return rc;
    if (type != AW_MI_INT32 || nb % 4 != 0 || nb / 4 < 2 || nb / 4 > MAT_MAX_DIMS)
        return aw_error_set(err, AW_EFORMAT, "%s: dimensions: expected a miINT32 element of 2..%d values, found "
                            "%s (%u) of %zu bytes", loc(r, off, where, sizeof where), MAT_MAX_DIMS,
                            aw_mat_type_name((int)type), (unsigned)type, nb);
    size_t nd = nb / 4, tl = 0;
    h->two_d = 1;
    for (size_t i = 0; i < nd; i++) {
        int32_t d = (int32_t)ld32(r->p + data + 4 * i, r->swap);
        if (d < 0)
            return aw_error_set(err, AW_EFORMAT, "%s: dimension %zu is %d, expected >= 0",
                                loc(r, data + 4 * i, where, sizeof where), i + 1, (int)d);
        if (i == 0)
            h->rows = (size_t)d;
        else if (i == 1)
            h->cols = (size_t)d;
        else if (d != 1)
            h->two_d = 0;
        if (tl < sizeof h->dims)
            tl += (size_t)snprintf(h->dims + tl, sizeof h->dims - tl, i ? "x%d" : "%d", (int)d);
    }
    off = next;
    rc = rd_tag(r, off, end, 1, "array name", &type, &nb, &data, &next, err);
    if (rc != AW_OK)
        return rc;
    if ((type != AW_MI_INT8 && type != AW_MI_UINT8 && type != AW_MI_UTF8) || nb > AW_MAT_NAME_MAX)
        return aw_error_set(err, AW_EFORMAT, "%s: array name: expected a miINT8 element of at most %d bytes, "
                            "found %s (%u) of %zu bytes", loc(r, off, where, sizeof where), AW_MAT_NAME_MAX,
                            aw_mat_type_name((int)type), (unsigned)type, nb);
    memcpy(h->name, r->p + data, nb);
    h->name[nb] = '\0';
    h->content = next;
    return AW_OK;
}

/* Converts count stored values of type t (column-major) to floats. */
static void convert(const uint8_t *s, uint32_t t, int swap, size_t count, float *out)
{
    switch (t) {
    case AW_MI_INT8:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)(int8_t)s[i];
        break;
    case AW_MI_UINT8:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)s[i];
        break;
    case AW_MI_INT16:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)(int16_t)ld16(s + 2 * i, swap);
        break;
    case AW_MI_UINT16:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)ld16(s + 2 * i, swap);
        break;
    case AW_MI_INT32:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)(int32_t)ld32(s + 4 * i, swap);
        break;
    case AW_MI_UINT32:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)ld32(s + 4 * i, swap);
        break;
    case AW_MI_SINGLE:
        for (size_t i = 0; i < count; i++) {
            uint32_t u = ld32(s + 4 * i, swap);
            memcpy(&out[i], &u, sizeof u);
        }
        break;
    case AW_MI_DOUBLE:
        for (size_t i = 0; i < count; i++) {
            uint64_t u = ld64(s + 8 * i, swap);
            double v;
            memcpy(&v, &u, sizeof v);
            /* Out-of-range double -> float conversion is undefined behaviour in C; saturate instead. */
            out[i] = v > FLT_MAX ? INFINITY : v < -FLT_MAX ? -INFINITY : (float)v;
        }
        break;
    case AW_MI_INT64:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)(int64_t)ld64(s + 8 * i, swap);
        break;
    case AW_MI_UINT64:
        for (size_t i = 0; i < count; i++)
            out[i] = (float)ld64(s + 8 * i, swap);
        break;
    default:
        break;
    }
}

/* Reads the real part of the matching variable h into out. */
static int read_values(const rd_t *r, const mhdr_t *h, aw_mat_order_t order, aw_mat_var_t *out, aw_error_t *err)
{
    char where[160];
    if (h->mxclass < AW_MX_DOUBLE || h->mxclass > AW_MX_UINT64)
        return aw_error_set(err, AW_EFORMAT, "variable '%s' is a %s array (class %d), expected a numeric matrix",
                            h->name, aw_mat_class_name(h->mxclass), h->mxclass);
    if (h->flags & 0x08)
        return aw_error_set(err, AW_EFORMAT, "variable '%s' is complex, expected a real matrix", h->name);
    if (!h->two_d)
        return aw_error_set(err, AW_EFORMAT, "variable '%s' has dimensions %s, expected a 2-D matrix", h->name,
                            h->dims);
    uint32_t type;
    size_t nb, data, next;
    int rc = rd_tag(r, h->content, h->end, 1, "real part", &type, &nb, &data, &next, err);
    if (rc != AW_OK)
        return rc == NEED_MORE ? aw_error_set(err, AW_EFORMAT, "internal: real part outside the bytes read")
                               : rc;
    size_t es = type_size(type);
    if (es == 0)
        return aw_error_set(err, AW_EFORMAT, "%s: real part of '%s': stored as %s (%u), expected a numeric type",
                            loc(r, h->content, where, sizeof where), h->name, aw_mat_type_name((int)type),
                            (unsigned)type);
    size_t count = h->rows * h->cols; /* both < 2^31: no overflow in 64-bit size_t */
    if (count > AW_MAT_MAX_VALUES)
        return aw_error_set(err, AW_EFORMAT, "variable '%s' has dimensions %s, more than the limit of %zu values",
                            h->name, h->dims, (size_t)AW_MAT_MAX_VALUES);
    if (nb % es != 0 || nb / es != count)
        return aw_error_set(err, AW_EFORMAT, "%s: real part of '%s': %zu bytes of %s, expected %zu values for "
                            "dimensions %s", loc(r, h->content, where, sizeof where), h->name, nb,
                            aw_mat_type_name((int)type), count, h->dims);
    float *res = malloc((count ? count : 1) * sizeof *res);
    if (res == NULL)
        return aw_error_set(err, AW_ENOMEM, "cannot allocate %zu floats for '%s'", count, h->name);
    if (order == AW_MAT_ROW_MAJOR && h->rows > 1 && h->cols > 1) {
        /* Converted a tile of columns at a time (contiguous in the file), then transposed into place:
         * col[r + c*rows] -> res[r*cols + c], without a second full-size copy. */
        const size_t tile = 32;
        float *col = malloc(tile * h->rows * sizeof *col);
        if (col == NULL) {
            free(res);
            return aw_error_set(err, AW_ENOMEM, "cannot allocate %zu floats for '%s'", tile * h->rows, h->name);
        }
        for (size_t c0 = 0; c0 < h->cols; c0 += tile) {
            size_t c1 = c0 + tile < h->cols ? c0 + tile : h->cols;
            convert(r->p + data + c0 * h->rows * es, type, r->swap, (c1 - c0) * h->rows, col);
            for (size_t r0 = 0; r0 < h->rows; r0 += tile) {
                size_t r1 = r0 + tile < h->rows ? r0 + tile : h->rows;
                for (size_t rr = r0; rr < r1; rr++)
                    for (size_t cc = c0; cc < c1; cc++)
                        res[rr * h->cols + cc] = col[rr + (cc - c0) * h->rows];
            }
        }
        free(col);
    } else {
        convert(r->p + data, type, r->swap, count, res);
    }
    memcpy(out->name, h->name, sizeof out->name);
    out->mxclass = h->mxclass;
    out->stored_type = (int)type;
    out->rows = h->rows;
    out->cols = h->cols;
    out->order = order;
    out->data = res;
    return AW_OK;
}

/* Appends "name (RxC class)" to the list of variables seen, for the not-found message. */
static void note_var(char *list, size_t n, const mhdr_t *h)
{
    size_t len = strlen(list);
    if (len + 4 >= n)
        return;
    int w = snprintf(list + len, n - len, "%s%s (%s %s)", len ? ", " : "", h->name, h->dims,
                     aw_mat_class_name(h->mxclass));
    if (w < 0 || (size_t)w >= n - len)
        memcpy(list + n - 4, "...", 4);
}

/* Handles the miCOMPRESSED element at off whose stream is buf[data, data+nb). Returns 0 and sets *found
 * when it held the variable asked for. */
static int scan_compressed(const uint8_t *buf, size_t off, size_t data, size_t nb, int swap, const char *name,
                           aw_mat_order_t order, aw_mat_var_t *out, int *found, char *list, size_t list_n,
                           aw_error_t *err)
{
    uint8_t peek[MAT_PEEK];
    size_t got;
    int rc = aw_io_inflate_head(buf + data, nb, AW_IO_ZLIB, peek, sizeof peek, &got, err);
    if (rc != AW_OK)
        return aw_error_prefix(err, "offset %zu: miCOMPRESSED element of %zu bytes", off, nb);
    rd_t in = {peek, got, swap, off};
    int ended = got < sizeof peek; /* the whole stream fit in the peek */
    uint32_t type;
    size_t inb, idata, inext;
    rc = rd_tag(&in, 0, ended ? got : SIZE_MAX, 1, "compressed element", &type, &inb, &idata, &inext, err);
    if (rc < 0)
        return rc;
    if (type != AW_MI_MATRIX || inb == 0)
        return AW_OK; /* not a variable (or an empty one): nothing to read */
    size_t cend = 8 + inb;
    mhdr_t h;
    rc = parse_header(&in, 8, cend, &h, err);
    if (rc < 0)
        return rc;
    if (rc == AW_OK && strcmp(h.name, name) != 0) {
        note_var(list, list_n, &h);
        return AW_OK;
    }
    /* The name matched, or the header is longer than the peek: inflate the whole element, but no more than
     * what its dimensions can hold (the header, one tag and at most 8 bytes a value, padded). */
    if (rc == AW_OK) {
        size_t count = h.rows * h.cols;
        if (count > AW_MAT_MAX_VALUES)
            return aw_error_set(err, AW_EFORMAT, "offset %zu: variable '%s' has dimensions %s, more than the limit "
                                "of %zu values", off, h.name, h.dims, (size_t)AW_MAT_MAX_VALUES);
        if (cend > h.content + 16 + 8 * count)
            return aw_error_set(err, AW_EFORMAT, "offset %zu: miCOMPRESSED element holds a miMATRIX of %zu bytes, "
                                "more than its dimensions %s can fill", off, cend, h.dims);
    }
    if (cend > AW_IO_MAX_BYTES)
        return aw_error_set(err, AW_EFORMAT, "offset %zu: miCOMPRESSED element holds a miMATRIX of %zu bytes, "
                            "more than the limit of %zu", off, cend, AW_IO_MAX_BYTES);
    aw_buf_t full;
    rc = aw_io_inflate(buf + data, nb, AW_IO_ZLIB, cend, cend + 8, &full, err);
    if (rc != AW_OK)
        return aw_error_prefix(err, "offset %zu: miCOMPRESSED element holding a miMATRIX of %zu bytes", off, cend);
    if (full.size < cend) {
        aw_buf_fini(&full);
        return aw_error_set(err, AW_EFORMAT, "offset %zu: miCOMPRESSED element: its miMATRIX tag says %zu bytes, "
                            "the stream inflates to only %zu", off, cend, full.size);
    }
    rd_t fr = {full.data, full.size, swap, off};
    rc = parse_header(&fr, 8, cend, &h, err);
    if (rc == AW_OK) {
        if (strcmp(h.name, name) == 0) {
            rc = read_values(&fr, &h, order, out, err);
            if (rc == AW_OK)
                *found = 1;
        } else {
            note_var(list, list_n, &h);
        }
    }
    aw_buf_fini(&full);
    return rc;
}

/* Checks the 128-byte file header of buf[0..n): endian indicator and version; *swap = byte order. */
static int file_header(const uint8_t *buf, size_t n, int *swap_out, aw_error_t *err)
{
    if (n < MAT_HEADER)
        return aw_error_set(err, AW_EFORMAT, "offset 0: file is %zu bytes, shorter than the 128-byte MAT v5 "
                            "header", n);
    int swap;
    if (buf[126] == 'I' && buf[127] == 'M')
        swap = 0;
    else if (buf[126] == 'M' && buf[127] == 'I')
        swap = 1;
    else
        return aw_error_set(err, AW_EFORMAT, "offset 126: endian indicator is 0x%02x%02x, expected 'IM' or 'MI': "
                            "not a MATLAB level-5 MAT file (a v4 MAT file has no such header)", buf[126], buf[127]);
    uint16_t version = ld16(buf + 124, swap);
    if (version == 0x0200)
        return aw_error_set(err, AW_EFORMAT, "offset 124: version 0x0200 is a MATLAB v7.3 (HDF5) file, which "
                            "is not supported; re-save it with save(..., '-v7')");
    if (version != 0x0100)
        return aw_error_set(err, AW_EFORMAT, "offset 124: MAT version 0x%04x, expected 0x0100", version);
    *swap_out = swap;
    return AW_OK;
}

int aw_mat_parse(const uint8_t *buf, size_t n, const char *name, aw_mat_order_t order, aw_mat_var_t *out,
                 aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    int swap;
    int hrc = file_header(buf, n, &swap, err);
    if (hrc != AW_OK)
        return hrc;
    rd_t top = {buf, n, swap, SIZE_MAX};
    char list[512] = "";
    size_t off = MAT_HEADER;
    while (off < n) {
        uint32_t type;
        size_t nb, data, next;
        int rc = rd_tag(&top, off, n, 1, "top-level element", &type, &nb, &data, &next, err);
        if (rc != AW_OK)
            return rc;
        if (type == AW_MI_COMPRESSED) {
            int found = 0;
            rc = scan_compressed(buf, off, data, nb, swap, name, order, out, &found, list, sizeof list, err);
            if (rc != AW_OK || found)
                return rc;
            off = data + nb; /* compressed elements are not padded */
            continue;
        }
        if (type == AW_MI_MATRIX && nb > 0) {
            mhdr_t h;
            rc = parse_header(&top, data, data + nb, &h, err);
            if (rc != AW_OK)
                return rc;
            if (strcmp(h.name, name) == 0)
                return read_values(&top, &h, order, out, err);
            note_var(list, sizeof list, &h);
        }
        off = next;
    }
    return aw_error_set(err, AW_ENOTFOUND, "no variable '%s'; the file holds %s", name,
                        list[0] ? list : "no variables");
}

int aw_mat_read(const char *path, const char *name, aw_mat_order_t order, aw_mat_var_t *out, aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    aw_buf_t b;
    int rc = aw_io_read_file(path, AW_IO_MAX_BYTES, &b, err);
    if (rc != AW_OK)
        return rc;
    rc = aw_mat_parse(b.data, b.size, name, order, out, err);
    aw_buf_fini(&b);
    if (rc != AW_OK)
        aw_error_prefix(err, "%s", path);
    return rc;
}

int aw_mat_check_header(const char *path, aw_error_t *err)
{
    uint8_t head[MAT_HEADER];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return aw_error_set(err, AW_EIO, "%s: cannot open (%s)", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return aw_error_set(err, AW_EIO, "%s: cannot read", path);
    int swap;
    int rc = file_header(head, got, &swap, err);
    if (rc != AW_OK)
        aw_error_prefix(err, "%s", path);
    return rc;
}

void aw_mat_var_fini(aw_mat_var_t *v)
{
    if (v == NULL)
        return;
    free(v->data);
    memset(v, 0, sizeof *v);
}
