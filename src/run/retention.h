/* retention.h: which end-of-epoch checkpoints a run keeps for good (the rest are pruned once a newer
 * one exists; the newest is always kept, see store.h). The default set is what a researcher goes back
 * to: the last epoch, the ends of the learning-rate schedule's stages (Burda's: epochs 1, 4, 13, 40,
 * 121, 364, 1093, 3280; a constant schedule: the first epoch at or after each eighth of the run), and
 * the epochs at which an `every` evaluation is due; train.checkpoint_every adds every N-th epoch. */
#ifndef AW_RUN_RETENTION_H
#define AW_RUN_RETENTION_H

#include <stdint.h>

#include "spec/spec.h"

/* 1 if the checkpoint at the end of epoch (1-based, completed epochs) is kept for good. */
int aw_run_keeps_checkpoint(const aw_spec_t *spec, int64_t epoch);

/* How many end-of-epoch checkpoints the rule keeps over the whole run (the disk cost is this times
 * one checkpoint's size); 1 for train.epochs 0, whose initial state is its newest checkpoint. */
int64_t aw_run_kept_count(const aw_spec_t *spec);

#endif
