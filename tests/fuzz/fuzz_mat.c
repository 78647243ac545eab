/* fuzz_mat.c: libFuzzer target for the MAT v5 reader (data/mat.c), both output orders. */
#include <stdint.h>

#include "data/mat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"x", "data", "images"};
    for (int i = 0; i < 3; i++) {
        aw_mat_var_t v;
        aw_error_t err = {0};
        if (aw_mat_parse(data, size, names[i], i == 1 ? AW_MAT_COL_MAJOR : AW_MAT_ROW_MAJOR, &v, &err) == 0)
            aw_mat_var_fini(&v);
    }
    return 0;
}
