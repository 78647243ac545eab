/* keypath.h: KEY.PATH, the way specs, --set, sweep keys and aiwae-report --where name a spec key:
 * segments joined by ".", each a key of [A-Za-z0-9_] optionally followed by [N] indexes, or a bare
 * index N (evaluate[1].samples, evaluate.1.samples). After a leading "sweep." the rest is one key. */
#ifndef AW_KEYPATH_H
#define AW_KEYPATH_H

#include <stddef.h>

#define AW_KEYPATH_MAX_SEGS 16 /* segments of a KEY.PATH */
#define AW_KEYPATH_TEXT 512    /* bytes of its printed forms */

typedef struct aw_keypath {
    int n;                              /* segments */
    char key[AW_KEYPATH_MAX_SEGS][128]; /* segment key (when index < 0) */
    int index[AW_KEYPATH_MAX_SEGS];     /* segment index, or -1 for a key */
    char dotted[AW_KEYPATH_TEXT];       /* a.b.0.c, for run names */
    char pretty[AW_KEYPATH_TEXT];       /* a.b[0].c, for messages */
} aw_keypath_t;

/* Parses text[len] as a KEY.PATH into p. Returns 0, or -1 when malformed. */
int aw_keypath_parse(const char *text, size_t len, aw_keypath_t *p);

#endif
