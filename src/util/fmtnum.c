/* fmtnum.c: shortest round-trip decimal text of floats and doubles (fmtnum.h). */
#include "util/fmtnum.h"

#include <math.h>
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

/* The shortest of the %g forms that read back as v (is_float: as a float), then, where it has an exponent,
 * the plain %f form instead when that reads back and is no longer ("10" rather than "1.0e+01"). */
static void shortest(double v, int is_float, int max_prec, char out[32])
{
    for (int prec = 1; prec <= max_prec; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (is_float ? strtof(out, NULL) == (float)v : strtod(out, NULL) == v)
            break;
    }
    fix_exponent(out, 32);
    if (strchr(out, 'e') == NULL || !(fabs(v) < 1e15))
        return;
    char plain[64];
    for (int prec = 0; prec <= 20; prec++) {
        snprintf(plain, sizeof plain, "%.*f", prec, v);
        if (is_float ? strtof(plain, NULL) == (float)v : strtod(plain, NULL) == v) {
            if (strlen(plain) <= strlen(out))
                memcpy(out, plain, strlen(plain) + 1); /* no longer than out's text, so it fits */
            return;
        }
    }
}

void aw_fmt_float(float v, char out[32])
{
    shortest((double)v, 1, 9, out);
}

void aw_fmt_double(double v, char out[32])
{
    shortest(v, 0, 17, out);
}
