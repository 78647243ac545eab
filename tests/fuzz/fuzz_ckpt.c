/* fuzz_ckpt.c: libFuzzer target for checkpoint decoding (store/ckpt.c, run/ckpt_layout.c) and loading the
 * decoded parameters into a model, as aw_run_load_model does. The checksum is recomputed over the input
 * first, so that the fuzzer reaches the sections (anyone who can write the database can do the same). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/model.h"
#include "run/ckpt_layout.h"
#include "util/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16 || size > ((size_t)1 << 24))
        return 0;
    uint8_t *b = malloc(size);
    if (b == NULL)
        return 0;
    memcpy(b, data, size);
    aw_le_put_u32(b + size - 4, (uint32_t)crc32(0L, b, (uInt)(size - 4)));
    aw_run_ckpt_t ck;
    aw_error_t err = {0};
    if (aw_run_ckpt_decode(b, size, &ck, &err) == 0) {
        aw_model_t m;
        aw_rng_t g;
        aw_rng_seed(&g, 0, 0);
        if (aw_model_init(&m, &ck.shape, &g, &err) == 0) {
            memcpy(m.params, ck.params, m.n_params * sizeof(float));
            aw_model_fini(&m);
        }
        aw_run_ckpt_fini(&ck);
    }
    free(b);
    return 0;
}
