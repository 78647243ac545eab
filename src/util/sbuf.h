/* sbuf.h: a growable, NUL-terminated text buffer for building reports, spec texts and JSON headers.
 * An allocation failure is sticky: later appends do nothing and the owner checks oom once at the end. */
#ifndef AW_SBUF_H
#define AW_SBUF_H

#include <stddef.h>

/* A zero-initialised aw_sbuf_t ({0}) is an empty buffer. The buffer owns p until aw_sbuf_finish hands
 * it over or aw_sbuf_fini frees it; callers may read p, n and oom and may set oom to make appends no-ops. */
typedef struct aw_sbuf {
    char *p;    /* text, NUL-terminated once anything (even "") was appended; NULL before */
    size_t n;   /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated at p */
    int oom;    /* an allocation failed: later appends are ignored and the text is incomplete */
} aw_sbuf_t;

/* Appends the n bytes at s (which may hold NULs). Sets b->oom and leaves the text as it was if memory
 * runs out; does nothing once b->oom is set. Appending 0 bytes still allocates p, so p becomes "". */
void aw_sbuf_put(aw_sbuf_t *b, const char *s, size_t n);

/* Appends the NUL-terminated string s, as aw_sbuf_put. */
void aw_sbuf_puts(aw_sbuf_t *b, const char *s);

/* Appends printf-formatted text, as aw_sbuf_put; a formatting error also sets b->oom. */
void aw_sbuf_printf(aw_sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands the text over: returns it (the caller frees it; "" if nothing was appended) or, if b->oom is
 * set or the final allocation fails, frees it and returns NULL. Either way b is left empty ({0}). */
char *aw_sbuf_finish(aw_sbuf_t *b);

/* Frees the text and leaves b empty ({0}). Safe on an empty buffer. */
void aw_sbuf_fini(aw_sbuf_t *b);

#endif
