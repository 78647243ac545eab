/* kernels_info.c: the decoder kernels compiled in and the one in use, as text (model.h), for --version.
 * Apart from decoder.c, which the double-precision test build compiles a second time. */
#include <stdio.h>

#include "core/decoder.h"

void aw_dec_kernels_describe(const aw_shape_t *shape, int max_rows, char *out, size_t n)
{
    const aw_dec_kernel_t *pick = aw_dec_kernel_pick(shape, max_rows);
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; aw_dec_kernels[i] != NULL && o < n; i++) {
        const aw_dec_kernel_t *k = aw_dec_kernels[i];
        const char *note = k == pick ? " (in use)" : !k->usable(shape, max_rows) ? " (not usable on this CPU)" : "";
        int w = snprintf(out + o, n - o, "%s%s%s%s", i ? ", " : "", k->name, note,
                         k == &aw_dec_cblas ? (k == pick ? "" : " (reference)") : "");
        o += w > 0 ? (size_t)w : 0;
    }
}
