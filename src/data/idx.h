/* idx.h: the IDX format of the MNIST files (big-endian header: 0, 0, type, ndim, then ndim uint32
 * sizes, then the elements row-major). Parsing checks that the dimensions match the payload exactly. */
#ifndef AW_IDX_H
#define AW_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/io.h"

#define AW_IDX_MAX_DIMS 8

/* IDX element type codes (third byte of the magic number). */
enum {
    AW_IDX_U8 = 0x08,  /* unsigned byte */
    AW_IDX_I8 = 0x09,  /* signed byte */
    AW_IDX_I16 = 0x0B, /* big-endian int16 */
    AW_IDX_I32 = 0x0C, /* big-endian int32 */
    AW_IDX_F32 = 0x0D, /* big-endian IEEE float */
    AW_IDX_F64 = 0x0E  /* big-endian IEEE double */
};

/* A parsed IDX file. data points into buf (owned) after aw_idx_read, or into the caller's bytes after
 * aw_idx_parse (buf then stays empty and the caller's bytes must outlive the view). */
typedef struct aw_idx {
    int type;                       /* one of AW_IDX_* */
    int ndim;                       /* number of dimensions, 1..AW_IDX_MAX_DIMS */
    uint32_t dims[AW_IDX_MAX_DIMS]; /* dims[0] is the item count (images, labels) */
    size_t count;                   /* product of all dims */
    size_t item;                    /* elements per item: product of dims[1..ndim) (1 when ndim == 1) */
    size_t elsize;                  /* bytes per element */
    const uint8_t *data;            /* count big-endian elements */
    aw_buf_t buf;                   /* the decoded file when owned, else empty */
} aw_idx_t;

/* Parses the IDX bytes buf[0..n) as a view (no copy). Fails with AW_EFORMAT, naming the byte offset,
 * on a bad magic, an unknown type, a zero or oversized dimension count, or a payload whose length is
 * not exactly the dimensions' product times the element size. Messages do not name a file. */
int aw_idx_parse(const uint8_t *buf, size_t n, aw_idx_t *out, aw_error_t *err);

/* Reads path (gzip detected by magic, else plain) and parses it; out owns the bytes. Error messages
 * start with the path. */
int aw_idx_read(const char *path, aw_idx_t *out, aw_error_t *err);

/* Reads only the header of path (gzip or plain): type, ndim, dims, count, item and elsize of out are set,
 * data is NULL and nothing needs freeing. A plain file's length is checked against its dimensions; a gzip
 * file's payload is checked when it is read. Errors as aw_idx_read's. What a run checks before any work. */
int aw_idx_read_header(const char *path, aw_idx_t *out, aw_error_t *err);

/* Frees what aw_idx_read allocated and zeroes out. */
void aw_idx_fini(aw_idx_t *idx);

/* Converts items [first, first+nitems) to intensities: out [nitems, item]. Unsigned bytes map to
 * byte/255; float and double are taken as they are (the caller checks the range). Other types fail
 * with AW_EFORMAT: they are not pixel intensities. */
int aw_idx_to_float(const aw_idx_t *idx, size_t first, size_t nitems, float *out, aw_error_t *err);

/* What an 8-bit IDX value means: the intensity k / 255, as a float. */
static inline float aw_idx_u8_value(uint8_t k)
{
    return (float)k / 255.0f;
}

/* Writes the dimensions as text ("60000x28x28") into buf[n]; returns buf. */
const char *aw_idx_shape(const aw_idx_t *idx, char *buf, size_t n);

/* Short name of an IDX type code ("unsigned byte", ...), or "unknown". */
const char *aw_idx_type_name(int type);

#endif
