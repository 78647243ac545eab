/* fuzz_idx.c: libFuzzer target for the IDX reader (data/idx.c), plain or gzip, and its float conversion. */
#include <stdint.h>
#include <stdlib.h>

#include "data/idx.h"
#include "util/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_buf_t plain = {0};
    aw_error_t err = {0};
    const uint8_t *p = data;
    size_t n = size;
    if (aw_io_is_gzip(data, size)) {
        if (aw_io_inflate(data, size, AW_IO_GZIP, 0, (size_t)1 << 24, &plain, &err) != 0)
            return 0;
        p = plain.data;
        n = plain.size;
    }
    aw_idx_t idx;
    if (aw_idx_parse(p, n, &idx, &err) == 0) {
        size_t items = idx.dims[0] < 4 ? idx.dims[0] : 4, per = idx.item;
        float *out = per > 0 && per < ((size_t)1 << 20) ? malloc(items * per * sizeof *out + 1) : NULL;
        if (out != NULL)
            (void)aw_idx_to_float(&idx, 0, items, out, &err);
        free(out);
        aw_idx_fini(&idx);
    }
    aw_buf_fini(&plain);
    return 0;
}
