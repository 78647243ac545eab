/* fmtnum.c: shortest round-trip decimal text of floats and doubles (fmtnum.h). */
#include "util/fmtnum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "1e-05" -> "1.0e-05" (a point before the exponent). */
static void fix_exponent(char *t, size_t size)
{
    char *e = strchr(t, 'e');
    if (e != NULL && strchr(t, '.') == NULL && strlen(t) + 3 <= size) {
        memmove(e + 2, e, strlen(e) + 1);
        e[0] = '.', e[1] = '0';
    }
}

void aw_fmt_float(float v, char out[32])
{
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(out, 32, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v)
            break;
    }
    fix_exponent(out, 32);
}

void aw_fmt_double(double v, char out[32])
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    fix_exponent(out, 32);
}
