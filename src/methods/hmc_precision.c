/* hmc_precision.c: the words of the hmc_precision key and the workspace it asks for (hmc_precision.h). */
#include "methods/hmc_precision.h"

#include "core/model.h"

const char *const aw_hmc_precision_words[] = {"fp32", "bf16", NULL};

int aw_hmc_grad_ws(int precision, const aw_model_t *m, int B, int N, aw_model_ws_t **out)
{
    *out = NULL;
    if (precision != AW_HMC_BF16)
        return 0;
    aw_model_ws_t *ws = aw_model_ws_new(&m->shape, B, N);
    if (ws == NULL)
        return AW_ENOMEM;
    if (aw_model_ws_use_bf16(ws) == NULL) {
        aw_model_ws_free(ws);
        return 0;
    }
    *out = ws;
    return 0;
}

const char *aw_hmc_bf16_kernel(void)
{
    const aw_shape_t one = {.D = 1, .H = 1, .n_hidden = 1, .hidden = {1}};
    aw_model_ws_t *ws = aw_model_ws_new(&one, 1, 1);
    const char *name = ws != NULL ? aw_model_ws_use_bf16(ws) : NULL;
    aw_model_ws_free(ws);
    return name;
}
