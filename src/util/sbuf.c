/* sbuf.c: the growable text buffer (see sbuf.h). Capacity doubles from 256 bytes, so appending
 * n bytes in total costs O(n); printf formats straight into the spare capacity. */
#include "util/sbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for extra more bytes plus the NUL; 0 on success, -1 (and oom set) on failure. */
static int reserve(aw_sbuf_t *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra > SIZE_MAX / 2 - b->n - 1) {
        b->oom = 1;
        return -1;
    }
    if (b->n + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (b->n + extra + 1 > cap)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void aw_sbuf_put(aw_sbuf_t *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    if (n > 0)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void aw_sbuf_puts(aw_sbuf_t *b, const char *s)
{
    aw_sbuf_put(b, s, strlen(s));
}

void aw_sbuf_printf(aw_sbuf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = 1;
        return;
    }
    if (b->p != NULL && (size_t)k < b->cap - b->n) {
        b->n += (size_t)k;
        return;
    }
    /* It did not fit (what was written past n is scratch): grow and format again. */
    if (reserve(b, (size_t)k) != 0) {
        if (b->p != NULL)
            b->p[b->n] = '\0';
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

char *aw_sbuf_finish(aw_sbuf_t *b)
{
    if (b->p == NULL)
        aw_sbuf_put(b, "", 0);
    char *p = b->oom ? NULL : b->p;
    if (p == NULL)
        free(b->p);
    *b = (aw_sbuf_t){ 0 };
    return p;
}

void aw_sbuf_fini(aw_sbuf_t *b)
{
    free(b->p);
    *b = (aw_sbuf_t){ 0 };
}
