/* io.h: whole-file reads and bounded zlib/gzip inflation (libdeflate, zlib) for the data loaders.
 * Every decoder checks its input length; errors name the byte offset and what was expected. */
#ifndef AW_IO_H
#define AW_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util/error.h"

/* Largest file or decompressed payload the loaders accept (1 GiB): MNIST is 47 MB, Omniglot's
 * chardata.mat holds about 200 MB of doubles. Anything larger is a corrupt size field or a bomb. */
#define AW_IO_MAX_BYTES ((size_t)1 << 30)

/* A byte buffer owned by whoever holds it; release with aw_buf_fini. */
typedef struct aw_buf {
    uint8_t *data; /* malloc'd bytes, NULL when empty */
    size_t size;   /* number of valid bytes */
} aw_buf_t;

/* Stream framings aw_io_inflate understands. */
typedef enum {
    AW_IO_GZIP, /* RFC 1952 members (concatenated members are joined), CRC-32 and length checked */
    AW_IO_ZLIB  /* RFC 1950 stream (MAT miCOMPRESSED), Adler-32 checked */
} aw_io_format_t;

/* Frees b->data and empties b. Safe on an empty or zeroed buffer. */
void aw_buf_fini(aw_buf_t *b);

/* Opens path for reading if it is a regular file (never blocking on a FIFO): *out and *st on success;
 * AW_EIO naming the path and what it is ("a FIFO", "a device", "a directory") otherwise. */
int aw_io_open_regular(const char *path, FILE **out, struct stat *st, aw_error_t *err);

/* Reads the whole file at path into out (owned by the caller). Fails with AW_EIO naming the path and
 * strerror(errno) if it cannot be opened or read or is not a regular file, and with AW_EFORMAT if it is larger than limit. */
int aw_io_read_file(const char *path, size_t limit, aw_buf_t *out, aw_error_t *err);

/* Writes buf[len] to path atomically: to PATH.tmp, fsync, rename over path, fsync of the directory. On
 * error (AW_EIO, the message says read-only file system, disk full, ... ) path is unchanged and PATH.tmp
 * removed. */
int aw_io_write_atomic(const char *path, const uint8_t *buf, size_t len, aw_error_t *err);

/* strerror(e), with the words this project's messages use for EROFS, ENOSPC and EDQUOT. */
const char *aw_io_strerror(int e);

/* True if buf starts with the gzip magic bytes 1f 8b. */
int aw_io_is_gzip(const uint8_t *buf, size_t n);

/* Inflates all of src[0..n) into out (owned by the caller; out->size = decompressed length).
 * size_hint (0: none) presizes the output; a stream that fits in size_hint <= limit bytes decodes in one
 * libdeflate call, anything else through zlib (same bytes, or the same error). Fails with AW_EFORMAT when the stream is truncated, corrupt,
 * fails its checksum, is followed by stray bytes, or decompresses to more than limit bytes; the message
 * gives the compressed offset and does not name a file (callers prefix it). */
int aw_io_inflate(const uint8_t *src, size_t n, aw_io_format_t fmt, size_t size_hint, size_t limit,
                  aw_buf_t *out, aw_error_t *err);

/* Inflates at most cap leading bytes of the stream src[0..n) into dst; *got receives how many were
 * produced (< cap only if the stream ends first). Checks what it decodes; fails with AW_EFORMAT if the
 * input runs out before cap bytes or the end of the stream. Used to peek at a compressed header. */
int aw_io_inflate_head(const uint8_t *src, size_t n, aw_io_format_t fmt, uint8_t *dst, size_t cap,
                       size_t *got, aw_error_t *err);

/* Reads path and, if it is gzip (by magic, whatever its name), inflates it: out holds the plain bytes.
 * *was_gzip (may be NULL) tells which. Errors are prefixed with the path. */
int aw_io_load(const char *path, size_t limit, aw_buf_t *out, int *was_gzip, aw_error_t *err);

#endif
