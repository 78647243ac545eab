/* json.c: JSON string literals and numbers (json.h). */
#include "util/json.h"

#include <math.h>

void aw_json_str(aw_sbuf_t *b, const char *s)
{
    aw_sbuf_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': aw_sbuf_put(b, "\\\"", 2); break;
        case '\\': aw_sbuf_put(b, "\\\\", 2); break;
        case '\n': aw_sbuf_put(b, "\\n", 2); break;
        case '\r': aw_sbuf_put(b, "\\r", 2); break;
        case '\t': aw_sbuf_put(b, "\\t", 2); break;
        default:
            if (*c < 0x20)
                aw_sbuf_printf(b, "\\u%04x", *c);
            else
                aw_sbuf_put(b, (const char *)c, 1);
        }
    }
    aw_sbuf_put(b, "\"", 1);
}

void aw_json_num(aw_sbuf_t *b, double v)
{
    if (isfinite(v))
        aw_sbuf_printf(b, "%.10g", v);
    else
        aw_sbuf_puts(b, "null");
}
