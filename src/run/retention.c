/* retention.c: the checkpoint retention rule (retention.h). */
#include "run/retention.h"

#include <string.h>

/* The number of Burda's stages (docs/math.md#optimizer-and-learning-rate-schedule): stage i lasts 3^i
 * epochs, i = 0..7, the last running to the end of training. */
#define BURDA_STAGES 8
/* A constant schedule keeps the first epoch at or after each 1/CONSTANT_MARKS of the run. */
#define CONSTANT_MARKS 8

/* 1 if epoch ends a stage of the spec's learning-rate schedule. */
static int ends_stage(const aw_spec_t *spec, int64_t epoch)
{
    int64_t total = spec->train.epochs;
    if (strcmp(spec->train.schedule, "burda") == 0) {
        int64_t end = 0, len = 1;
        for (int i = 0; i < BURDA_STAGES - 1; i++, len *= 3) {
            end += len;
            if (epoch == end)
                return 1;
        }
        return 0;
    }
    /* A mark k * total / CONSTANT_MARKS falls in (epoch - 1, epoch]. */
    return (epoch * CONSTANT_MARKS) / total != ((epoch - 1) * CONSTANT_MARKS) / total;
}

int aw_run_keeps_checkpoint(const aw_spec_t *spec, int64_t epoch)
{
    if (epoch < 1 || epoch > spec->train.epochs)
        return 0;
    if (epoch == spec->train.epochs || ends_stage(spec, epoch))
        return 1;
    if (spec->train.checkpoint_every > 0 && epoch % spec->train.checkpoint_every == 0)
        return 1;
    for (int i = 0; i < spec->n_eval; i++)
        if (spec->eval[i].every > 0 && epoch % spec->eval[i].every == 0)
            return 1;
    return 0;
}

int64_t aw_run_kept_count(const aw_spec_t *spec)
{
    if (spec->train.epochs == 0)
        return 1; /* an evaluate-only run (model.init) keeps its initial state, its newest checkpoint */
    int64_t n = 0;
    for (int64_t e = 1; e <= spec->train.epochs; e++)
        n += aw_run_keeps_checkpoint(spec, e);
    return n;
}
