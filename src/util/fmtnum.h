/* fmtnum.h: numbers as the shortest decimal text that reads back to the same value. One format for
 * every place that prints a setting (canonical spec text, the settings strings that key results,
 * --describe): "0.1", "0.00001", "10", "1.0e-07" (an exponent only where the plain form is longer, and then
 * always with a point, so YAML 1.1 readers also see a float). */
#ifndef AW_FMTNUM_H
#define AW_FMTNUM_H

#include <stddef.h>

/* Shortest text that strtof reads back as v. */
void aw_fmt_float(float v, char out[32]);

/* Shortest text that strtod reads back as v. */
void aw_fmt_double(double v, char out[32]);

#endif
