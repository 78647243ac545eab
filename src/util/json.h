/* json.h: JSON text written into an aw_sbuf_t: string literals and numbers. The one JSON escaper of
 * the project (aiwae-report's json format, safetensors headers). Memory failures are the buffer's
 * sticky oom flag, as for every aw_sbuf_t append. */
#ifndef AW_JSON_H
#define AW_JSON_H

#include "util/sbuf.h"

/* Appends s (UTF-8, NUL-terminated) as a JSON string literal: '"' and '\\' are backslash-escaped,
 * newline, carriage return and tab become \n, \r and \t, the other bytes below 0x20 \u00XX; every
 * other byte is copied as it is. */
void aw_json_str(aw_sbuf_t *b, const char *s);

/* Appends v as a JSON number with 10 significant digits ("%.10g"), or null when v is not finite. */
void aw_json_num(aw_sbuf_t *b, double v);

#endif
