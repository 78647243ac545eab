/* ckpt.h: the checkpoint blob, a versioned container of tagged sections with a
 * checksum; the runner decides what the sections hold (parameters, moments, RNG...).
 *
 * Layout (all integers little-endian):
 *   "AWCK" | u32 format version | u32 section count |
 *   count x ( 4-byte tag | u64 length | length bytes ) |
 *   u32 CRC-32 (zlib) of every byte before it.
 * Ownership: an aw_ckpt_t owns copies of its sections; aw_ckpt_get returns
 * pointers borrowed from it, valid until the section is replaced or aw_ckpt_fini. */
#ifndef AW_CKPT_H
#define AW_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define AW_CKPT_MAGIC "AWCK"
#define AW_CKPT_VERSION 1u
#define AW_CKPT_TAG_LEN 4
/* Most sections a checkpoint may hold (the runner writes 5): keeps lookups, which scan the sections,
 * from making decoding quadratic in a hostile blob's section count. */
#define AW_CKPT_MAX_SECTIONS 64

/* One tagged section. */
typedef struct aw_ckpt_section {
    char tag[AW_CKPT_TAG_LEN + 1]; /* four printable ASCII characters, NUL-terminated */
    uint8_t *data;                 /* owned copy of the bytes (never NULL, even when n == 0) */
    size_t n;                      /* length of data in bytes */
} aw_ckpt_section_t;

/* A checkpoint under construction or decoded. */
typedef struct aw_ckpt {
    aw_ckpt_section_t *sec; /* sections in insertion (or blob) order */
    size_t n;               /* number of sections */
    size_t cap;             /* allocated entries of sec */
} aw_ckpt_t;

/* Makes c empty. */
void aw_ckpt_init(aw_ckpt_t *c);

/* Frees every section; c is left empty and may be reused. */
void aw_ckpt_fini(aw_ckpt_t *c);

/* Copies n bytes of data into section tag (exactly 4 printable ASCII characters),
 * replacing a section with the same tag. data may be NULL when n == 0.
 * Returns 0, AW_EARG for a bad tag, or AW_ENOMEM. */
int aw_ckpt_put(aw_ckpt_t *c, const char *tag, const void *data, size_t n, aw_error_t *err);

/* Stores x [n] (IEEE-754 binary32) as section tag, little-endian whatever the host. */
int aw_ckpt_put_f32(aw_ckpt_t *c, const char *tag, const float *x, size_t n, aw_error_t *err);

/* Returns a borrowed pointer to section tag's bytes and its length in *n (if n
 * is non-NULL), or NULL when there is no such section. */
const void *aw_ckpt_get(const aw_ckpt_t *c, const char *tag, size_t *n);

/* Returns section tag's bytes if it exists and has exactly n bytes; otherwise
 * NULL with AW_EFORMAT in err ("section PARM has 12 bytes, expected 16"). */
const void *aw_ckpt_need(const aw_ckpt_t *c, const char *tag, size_t n, aw_error_t *err);

/* Reads back what aw_ckpt_put_f32 wrote into x [n]; the section must hold exactly n floats, else
 * AW_EFORMAT (nothing written to x). */
int aw_ckpt_get_f32(const aw_ckpt_t *c, const char *tag, float *x, size_t n, aw_error_t *err);

/* Serializes c into a new malloc'd buffer *blob of *n bytes (caller frees).
 * Returns 0 or AW_ENOMEM (then *blob is NULL). */
int aw_ckpt_encode(const aw_ckpt_t *c, uint8_t **blob, size_t *n, aw_error_t *err);

/* Parses n bytes of blob into c (initialized here; any previous content is
 * not freed, so pass an empty or fresh aw_ckpt_t). Checks the magic, the
 * format version, the checksum, every length against the buffer (no byte
 * outside blob[0..n) is read, whatever it holds), unique and well-formed tags
 * and that nothing trails the checksum. Returns 0, AW_EFORMAT (c left empty)
 * or AW_ENOMEM. Safe to call aw_ckpt_fini on c afterwards either way. */
int aw_ckpt_decode(const void *blob, size_t n, aw_ckpt_t *c, aw_error_t *err);

#endif
