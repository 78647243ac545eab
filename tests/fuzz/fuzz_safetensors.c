/* fuzz_safetensors.c: libFuzzer target for the safetensors parser (data/safetensors.c) and its F32 reads. */
#include <stdint.h>
#include <stdlib.h>

#include "data/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_st_file_t f;
    aw_error_t err = {0};
    if (aw_st_parse(data, size, &f, &err) != 0)
        return 0;
    for (size_t i = 0; i < f.n; i++) {
        const aw_st_tensor_t *t = &f.t[i];
        size_t n = (size_t)((t->end - t->begin) / 4);
        float *out = n < ((size_t)1 << 24) ? malloc(n * sizeof *out + 1) : NULL;
        if (out != NULL)
            (void)aw_st_get_f32(&f, t, out, n, &err);
        free(out);
    }
    aw_st_file_fini(&f);
    return 0;
}
