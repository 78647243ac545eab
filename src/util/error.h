/* error.h: the error record every library function fills instead of printing.
 * Library code returns 0 or a negative AW_E* code; only main() prints and exits. */
#ifndef AW_ERROR_H
#define AW_ERROR_H

#include <stddef.h>

/* Error codes (negative) and the exit statuses main() maps them to. */
enum {
    AW_OK = 0,
    AW_EIO = -1,      /* a file could not be opened, read or written (errno in the message) */
    AW_EFORMAT = -2,  /* a data file is malformed: bad magic, size, truncated stream */
    AW_ESPEC = -3,    /* an experiment spec is invalid */
    AW_ENOMEM = -4,   /* allocation failed */
    AW_EDB = -5,      /* the results database failed or is not ours */
    AW_ENUMERIC = -6, /* a NaN or Inf appeared where a finite value was needed */
    AW_EINTR = -7,    /* stopped on SIGINT/SIGTERM */
    AW_EARG = -8,     /* a caller passed an invalid argument (bug or bad CLI value) */
    AW_ENOTFOUND = -9 /* a named thing (run, variable, plugin) does not exist */
};

/* Exit statuses of the programs, documented in --help and the README. */
enum {
    AW_EXIT_OK = 0,
    AW_EXIT_ERROR = 1,       /* spec, data or run errors */
    AW_EXIT_USAGE = 2,       /* bad command line */
    AW_EXIT_INTERRUPTED = 3  /* stopped by a signal after checkpointing */
};

#define AW_ERROR_MSG_MAX 1024

typedef struct aw_error {
    int code;                    /* one of AW_E*, AW_OK when nothing failed */
    char msg[AW_ERROR_MSG_MAX];  /* one line, no trailing newline: "FILE:...: what was expected, what was found" */
} aw_error_t;

/* Sets err (if non-NULL) to code and the formatted message; returns code so
 * callers can write `return aw_error_set(err, AW_EIO, "...")`. */
int aw_error_set(aw_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "prefix: " (for adding a file name or
 * key path on the way up). Returns err->code. */
int aw_error_prefix(aw_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears err to AW_OK and an empty message. */
void aw_error_clear(aw_error_t *err);

/* Maps an AW_E* code to the process exit status. */
int aw_error_exit_status(int code);

#endif
