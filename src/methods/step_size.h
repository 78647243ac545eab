/* step_size.h: the HMC step-size settings that the aiwae method and the ais_nll estimator share
 * (step_size.init / min / max / target_accept; docs/math.md#step-size-adaptation): their keys and their
 * rule min <= init <= max. */
#ifndef AW_STEP_SIZE_H
#define AW_STEP_SIZE_H

#include <stddef.h>

#include "methods/settings.h"

typedef struct aw_step_cfg {
    float init;          /* initial step size at every temperature */
    float min, max;      /* adapted step sizes are clipped to [min, max] */
    float target_accept; /* adaptation target for the acceptance rate */
} aw_step_cfg_t;

/* Four key-table rows for the aw_step_cfg_t member `member` of config struct `type`, with the given
 * defaults (strings, as canonical text prints them). */
#define AW_STEP_SIZE_KEYS(cfg_type, member, dinit, dmin, dmax)                                                  \
    {.key = "step_size.init", .type = AW_KEY_FLOAT, .def = dinit, .range = AW_GT0, .identity = 1,            \
     .doc = "initial HMC step size at every temperature; min <= init <= max",                                \
     .offset = offsetof(cfg_type, member.init)},                                                                 \
    {.key = "step_size.min", .type = AW_KEY_FLOAT, .def = dmin, .range = AW_GT0, .identity = 1,              \
     .doc = "lower clip of the adapted step sizes", .offset = offsetof(cfg_type, member.min)},                   \
    {.key = "step_size.max", .type = AW_KEY_FLOAT, .def = dmax, .range = AW_GT0, .identity = 1,              \
     .doc = "upper clip of the adapted step sizes", .offset = offsetof(cfg_type, member.max)},                   \
    {.key = "step_size.target_accept", .type = AW_KEY_FLOAT, .def = "0.6", .range = AW_UNIT_OPEN,            \
     .identity = 1, .doc = "acceptance rate the per-temperature step sizes adapt towards",                  \
     .offset = offsetof(cfg_type, member.target_accept)}

/* The rule min <= init <= max, blaming a value the spec gave (the defaults are consistent):
 * 0, or -1 after aw_check_fail. */
int aw_step_size_check(const aw_step_cfg_t *st, aw_check_t *c);

#endif
