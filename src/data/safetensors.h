/* safetensors.h: the safetensors file format (writer of F32 tensors, and a strict parser),
 * plus the mapping of an aw_model_t onto the original PyTorch implementation's state dict.
 *
 * Format: u64 little-endian N | N bytes of JSON header (UTF-8, padded with spaces to a multiple
 * of 8) | data. The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
 * end]} (byte offsets into the data section) and may hold "__metadata__", a map of strings.
 * Tensors are row-major and little-endian; together they cover the data section exactly.
 * Ownership: an aw_st_file_t owns its names, metadata and data (aw_st_file_fini); entries and
 * metadata passed to the writer are borrowed for the call. */
#ifndef AW_SAFETENSORS_H
#define AW_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "core/model.h"

#define AW_ST_MAX_DIMS 8                    /* dimensions a tensor may have */
#define AW_ST_MAX_HEADER (100u * 1024 * 1024) /* the format's limit on the header size */

/* A tensor to write: F32 values, row-major (borrowed). */
typedef struct aw_st_entry {
    const char *name;              /* tensor name, e.g. "encoder.fc_mu.weight" */
    int ndim;                      /* number of dimensions, 0..AW_ST_MAX_DIMS */
    int64_t shape[AW_ST_MAX_DIMS]; /* sizes, outermost first */
    const float *data;             /* prod(shape) values */
} aw_st_entry_t;

/* One metadata pair (strings; borrowed by the writer, owned by a parsed file). */
typedef struct aw_st_meta {
    char *key;   /* metadata key */
    char *value; /* its value (any UTF-8 text) */
} aw_st_meta_t;

/* A tensor as described by a parsed header. */
typedef struct aw_st_tensor {
    char *name;                    /* tensor name, owned */
    char dtype[8];                 /* "F32", "F64", "I64", ... as in the header */
    int ndim;                      /* number of dimensions */
    int64_t shape[AW_ST_MAX_DIMS]; /* sizes, outermost first */
    uint64_t begin, end;           /* byte range in the data section */
} aw_st_tensor_t;

/* A parsed safetensors file. */
typedef struct aw_st_file {
    uint64_t header_len; /* N, bytes of the JSON header including padding */
    aw_st_tensor_t *t;   /* tensors in header order [n], owned */
    size_t n;            /* number of tensors */
    aw_st_meta_t *meta;  /* metadata pairs in header order [n_meta], owned */
    size_t n_meta;       /* number of metadata pairs */
    uint8_t *data;       /* copy of the data section [data_len], owned */
    size_t data_len;     /* bytes in the data section */
} aw_st_file_t;

/* Encodes n tensors (F32, little-endian whatever the host) and n_meta metadata pairs into a new
 * malloc'd buffer *buf of *len bytes (caller frees). Names must be unique, non-empty and not
 * "__metadata__". Returns 0, AW_EARG (bad name, shape or duplicate) or AW_ENOMEM. */
int aw_st_encode(const aw_st_entry_t *t, size_t n, const aw_st_meta_t *meta, size_t n_meta, uint8_t **buf,
                 size_t *len, aw_error_t *err);

/* aw_st_encode, then writes the bytes to path through a temporary file renamed into place, so
 * a reader never sees half a file. Returns 0, AW_EARG, AW_ENOMEM or AW_EIO (naming path). */
int aw_st_write(const char *path, const aw_st_entry_t *t, size_t n, const aw_st_meta_t *meta, size_t n_meta,
                aw_error_t *err);

/* Parses buf[len] into *out (initialized here). Checks the header length against the buffer,
 * the JSON syntax, each entry's dtype, shape and offsets (end - begin = elements x dtype size),
 * that the tensors cover the data section exactly without overlapping, and that names and
 * metadata keys are unique. Errors are AW_EFORMAT naming the byte offset or the tensor and what
 * was expected; AW_ENOMEM. On failure *out is left empty (aw_st_file_fini is safe). */
int aw_st_parse(const uint8_t *buf, size_t len, aw_st_file_t *out, aw_error_t *err);

/* Reads and parses the file at path (AW_EIO naming it when it cannot be read). */
int aw_st_read(const char *path, aw_st_file_t *out, aw_error_t *err);

/* Frees everything f owns and empties it; safe on an empty or zeroed file. */
void aw_st_file_fini(aw_st_file_t *f);

/* The tensor called name, or NULL. */
const aw_st_tensor_t *aw_st_find(const aw_st_file_t *f, const char *name);

/* The metadata value of key (borrowed), or NULL. */
const char *aw_st_meta_get(const aw_st_file_t *f, const char *key);

/* Copies F32 tensor t of f into out[n] (host floats); AW_EFORMAT if t is not F32 or does not hold
 * exactly n values. */
int aw_st_get_f32(const aw_st_file_t *f, const aw_st_tensor_t *t, float *out, size_t n, aw_error_t *err);

/* The tensors of a model under the original PyTorch implementation's state-dict names:
 * encoder.transform.{0,2,..}.{weight,bias} (hidden layers; tanh layers sit between them),
 * encoder.fc_mu.*, encoder.fc_logsigma.* (the two halves of the fused head), and
 * decoder.transform.{0,2,..,2*n_hidden}.* (the last one gives the logits); weights [out,in].
 * Fills out[] (capacity AW_ST_MODEL_MAX_TENSORS) with views into m->params and name storage in
 * names (capacity AW_ST_MODEL_MAX_TENSORS names of AW_ST_NAME_LEN bytes); returns the count. */
#define AW_ST_MODEL_MAX_TENSORS (4 * AW_MAX_HIDDEN + 6)
#define AW_ST_NAME_LEN 48
size_t aw_st_model_entries(const aw_model_t *m, aw_st_entry_t *out, char (*names)[AW_ST_NAME_LEN]);

/* The shape of the model f holds under those names (D from encoder.transform.0, the hidden widths
 * from encoder.transform.{0,2,..}, H from encoder.fc_mu): AW_EFORMAT naming the missing or malformed
 * tensor. */
int aw_st_model_shape(const aw_st_file_t *f, aw_shape_t *out, aw_error_t *err);

/* Copies f's tensors into m's parameters (st_model.c). The file's shape must be m's (else an error
 * naming both), every tensor of aw_st_model_entries must be there, F32 and of its shape, and no other
 * tensor may be (each error names the tensor). AW_EFORMAT; m may be partly overwritten on error. */
int aw_st_model_load(const aw_st_file_t *f, aw_model_t *m, aw_error_t *err);

#endif
