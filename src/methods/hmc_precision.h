/* hmc_precision.h: the hmc_precision setting that the aiwae method and the ais_nll estimator share
 * (docs/math.md#bf16-leapfrog-gradients): the products of HMC's leapfrog gradients in fp32, or in bf16 on
 * AMX / AVX512-BF16 with energies, Metropolis tests and AIS weights still in fp32. */
#ifndef AW_HMC_PRECISION_H
#define AW_HMC_PRECISION_H

#include <stddef.h>

#include "methods/settings.h"

struct aw_model;
struct aw_model_ws;

/* Values of the key (indices of its words). */
enum { AW_HMC_FP32 = 0, AW_HMC_BF16 = 1 };

extern const char *const aw_hmc_precision_words[];

/* The key-table row for the int member `member` of config struct `cfg_type`. */
#define AW_HMC_PRECISION_KEY(cfg_type, member)                                                               \
    {.key = "hmc_precision", .type = AW_KEY_WORD, .def = "fp32", .words = aw_hmc_precision_words,            \
     .identity = 1, .omit_default = 1,                                                                        \
     .doc = "products of the HMC leapfrog gradients: fp32, or bf16 (AMX, else AVX512-BF16; energies, "       \
            "Metropolis tests and AIS weights stay fp32; fp32 with a notice where the CPU has neither; "       \
            "written in canonical text only when bf16)",                                                     \
     .offset = offsetof(cfg_type, member)}

/* The workspace of the leapfrog gradients for precision: with AW_HMC_BF16 on a CPU that has a bf16 kernel,
 * a new workspace for B points and N rows on it (*out, freed with aw_model_ws_free); else *out = NULL
 * (the gradients come with the fp32 values). Returns 0 or AW_ENOMEM. */
int aw_hmc_grad_ws(int precision, const struct aw_model *m, int B, int N, struct aw_model_ws **out);

/* The bf16 kernel a run asking for bf16 gets on this CPU ("amx", "avx512bf16"), or NULL: then its
 * gradients run in fp32 (the caller says so once). The kernels' CPU checks do not depend on the shape. */
const char *aw_hmc_bf16_kernel(void);

#endif
