/* mat.h: reads one named 2-D numeric variable from a MATLAB level-5 MAT file (v5/v6/v7, not the
 * HDF5-based v7.3) into floats. Handles both byte orders, miCOMPRESSED (zlib) elements, the small
 * data element format, column-major storage, and real parts stored in a narrower type than the
 * array class (MATLAB saves integer-valued doubles as miUINT8, miINT16, ...). Every read is bounds-checked. */
#ifndef AW_MAT_H
#define AW_MAT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* MAT v5 data types (element tags). */
enum {
    AW_MI_INT8 = 1, AW_MI_UINT8 = 2, AW_MI_INT16 = 3, AW_MI_UINT16 = 4, AW_MI_INT32 = 5, AW_MI_UINT32 = 6,
    AW_MI_SINGLE = 7, AW_MI_DOUBLE = 9, AW_MI_INT64 = 12, AW_MI_UINT64 = 13, AW_MI_MATRIX = 14,
    AW_MI_COMPRESSED = 15, AW_MI_UTF8 = 16, AW_MI_UTF16 = 17, AW_MI_UTF32 = 18
};

/* MATLAB array classes (low byte of the array flags). 6..15 are numeric. */
enum {
    AW_MX_CELL = 1, AW_MX_STRUCT = 2, AW_MX_OBJECT = 3, AW_MX_CHAR = 4, AW_MX_SPARSE = 5, AW_MX_DOUBLE = 6,
    AW_MX_SINGLE = 7, AW_MX_INT8 = 8, AW_MX_UINT8 = 9, AW_MX_INT16 = 10, AW_MX_UINT16 = 11, AW_MX_INT32 = 12,
    AW_MX_UINT32 = 13, AW_MX_INT64 = 14, AW_MX_UINT64 = 15
};

/* Most values a variable may have (2^27 = 134M; 512 MiB of floats; Omniglot's largest has 25M): bounds
 * what a small compressed file can make the reader allocate. */
#define AW_MAT_MAX_VALUES ((size_t)1 << 27)

/* Longest variable name MATLAB allows (namelengthmax). */
#define AW_MAT_NAME_MAX 63

/* Order of the floats aw_mat_read returns. */
typedef enum {
    AW_MAT_ROW_MAJOR, /* data[r * cols + c]: one matrix row after another */
    AW_MAT_COL_MAJOR  /* data[r + c * rows]: MATLAB's own order, one column after another */
} aw_mat_order_t;

/* One variable read from a MAT file. */
typedef struct aw_mat_var {
    char name[AW_MAT_NAME_MAX + 1]; /* variable name */
    int mxclass;                    /* array class (AW_MX_*) */
    int stored_type;                /* data type the real part was stored as (AW_MI_*) */
    size_t rows, cols;              /* MATLAB dimensions (trailing singleton dimensions dropped) */
    aw_mat_order_t order;           /* layout of data */
    float *data;                    /* [rows, cols] values in the order above; owned, free with aw_mat_var_fini */
} aw_mat_var_t;

/* Finds the variable called name in the MAT file bytes buf[0..n) and converts its real part to floats
 * in the given order (doubles outside the float range become +-inf). Fails with AW_ENOTFOUND if no
 * variable has that name (the message lists the variables found), with AW_EFORMAT naming the byte offset
 * if the bytes are not a valid MAT v5 file up to that variable, or if the variable is complex, sparse,
 * not numeric or not 2-D. Messages do not name a file. */
int aw_mat_parse(const uint8_t *buf, size_t n, const char *name, aw_mat_order_t order, aw_mat_var_t *out,
                 aw_error_t *err);

/* Reads path and calls aw_mat_parse; error messages start with the path. */
int aw_mat_read(const char *path, const char *name, aw_mat_order_t order, aw_mat_var_t *out,
                aw_error_t *err);

/* Reads only the 128-byte file header of path and checks it as aw_mat_parse does (a level-5 MAT file,
 * not v7.3): what a run checks before any work; the variables are read when the run loads them. */
int aw_mat_check_header(const char *path, aw_error_t *err);

/* Frees v->data and zeroes v. */
void aw_mat_var_fini(aw_mat_var_t *v);

/* Name of an array class ("double", "uint8", "cell", ...) or "unknown". */
const char *aw_mat_class_name(int mxclass);

/* Name of a data type ("miUINT8", ...) or "unknown". */
const char *aw_mat_type_name(int mitype);

#endif
