/* kernels_used.c: which bf16 HMC kernel a run that asks for one gets, recorded as an event of the run
 * (the stored settings keep what was asked; the event says what ran). */
#include "run/run_ctx.h"

#include <stdio.h>

#include "methods/hmc_precision.h"

static int settings_ask_bf16(const aw_settings_t *st, const void *cfg)
{
    int v;
    return aw_settings_int(st, cfg, "hmc_precision", &v) && v == AW_HMC_BF16;
}

int aw_run_asks_bf16(const aw_spec_t *spec)
{
    if (settings_ask_bf16(&spec->method.ops->settings, spec->method.cfg.bytes))
        return 1;
    for (int e = 0; e < spec->n_eval; e++)
        if (settings_ask_bf16(&spec->eval[e].ops->settings, spec->eval[e].cfg.bytes))
            return 1;
    return 0;
}

int aw_run_log_kernels(const run_ctx_t *c, aw_error_t *err)
{
    if (!aw_run_asks_bf16(c->spec))
        return AW_OK;
    const char *k = aw_hmc_bf16_kernel();
    char msg[160];
    if (k != NULL)
        snprintf(msg, sizeof msg, "hmc_precision bf16: the leapfrog gradients run on %s", k);
    else
        snprintf(msg, sizeof msg, "hmc_precision bf16: this CPU has neither AMX nor AVX512-BF16; the leapfrog "
                                  "gradients run in fp32");
    return aw_store_log_event(c->store, c->spec->identity, "kernels", msg, err);
}
