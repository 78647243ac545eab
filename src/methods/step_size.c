/* step_size.c: the rule min <= init <= max of the HMC step-size settings (step_size.h). */
#include "methods/step_size.h"

#include "util/fmtnum.h"

int aw_step_size_check(const aw_step_cfg_t *st, aw_check_t *c)
{
    char a[32], b[32];
    if (st->min > st->max) {
        if (aw_check_given(c, "step_size.max")) {
            aw_fmt_float(st->min, a);
            return aw_check_fail(c, "step_size.max", "a number >= min (%s)", a);
        }
        aw_fmt_float(st->max, a);
        return aw_check_fail(c, "step_size.min", "a number <= max (%s)", a);
    }
    if (st->init < st->min || st->init > st->max) {
        if (aw_check_given(c, "step_size.init")) {
            aw_fmt_float(st->min, a);
            aw_fmt_float(st->max, b);
            return aw_check_fail(c, "step_size.init", "a number in [min, max] = [%s, %s]", a, b);
        }
        aw_fmt_float(st->init, a);
        if (st->init < st->min)
            return aw_check_fail(c, "step_size.min", "a number <= init (%s)", a);
        return aw_check_fail(c, "step_size.max", "a number >= init (%s)", a);
    }
    return 0;
}
