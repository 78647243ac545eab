/* error.c: formatting of the error record (see error.h). */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int aw_error_set(aw_error_t *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int aw_error_prefix(aw_error_t *err, const char *fmt, ...)
{
    if (err == NULL)
        return AW_OK;
    char prefix[AW_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Compose in a buffer large enough for both, then keep what fits. */
    char joined[2 * AW_ERROR_MSG_MAX + 2];
    size_t np = strnlen(prefix, AW_ERROR_MSG_MAX), nm = strnlen(err->msg, AW_ERROR_MSG_MAX);
    memcpy(joined, prefix, np);
    memcpy(joined + np, ": ", 2);
    memcpy(joined + np + 2, err->msg, nm);
    size_t n = np + 2 + nm < AW_ERROR_MSG_MAX - 1 ? np + 2 + nm : AW_ERROR_MSG_MAX - 1;
    memcpy(err->msg, joined, n);
    err->msg[n] = '\0';
    return err->code;
}

void aw_error_clear(aw_error_t *err)
{
    if (err == NULL)
        return;
    err->code = AW_OK;
    err->msg[0] = '\0';
}

int aw_error_exit_status(int code)
{
    switch (code) {
    case AW_OK:
        return AW_EXIT_OK;
    case AW_EINTR:
        return AW_EXIT_INTERRUPTED;
    case AW_EARG:
        return AW_EXIT_USAGE;
    default:
        return AW_EXIT_ERROR;
    }
}
