/* blas_core.h: which kernels OpenBLAS runs. A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from the
 * CPU's model number while it loads; for a model it does not know it falls back to its SSE3 "Prescott"
 * kernels (OpenBLAS 0.3.21 on Emerald Rapids, model 207: matrix products at the model's shapes 4-5x slower
 * than its AVX-512 "SkylakeX" kernels on the same CPU). OpenBLAS reads OPENBLAS_CORETYPE only while it
 * loads, so the programs run themselves again with it set (docs/cli.md#environment). */
#ifndef AW_BLAS_CORE_H
#define AW_BLAS_CORE_H

#include "util/error.h"

/* Vector widths, as levels: 0 below AVX2, 1 AVX2 with FMA, 2 AVX-512 (F, BW, DQ and VL). */
int aw_blas_cpu_level(void);

/* The OPENBLAS_CORETYPE for an OpenBLAS that picked `core` on a CPU of cpu_level: where core is below
 * AVX2 (OpenBLAS's fallback for CPUs it does not know) and the CPU is not, "SkylakeX" for level 2 and
 * "Haswell" for 1; else NULL (also for core NULL), OpenBLAS's pick standing. */
const char *aw_blas_core_for(const char *core, int cpu_level);

/* First thing in main. Where OpenBLAS fell back below this CPU's level and the caller did not set
 * OPENBLAS_CORETYPE, runs the program again (its path from /proc/self/exe, same argv) with it set:
 * returns only if there was nothing to do (0) or that failed (AW_EIO, err says why; the program goes on
 * with OpenBLAS's kernels). In the program run again it removes what it set, so that programs this one
 * starts (Slurm tasks on other CPUs) pick for themselves, and keeps what OpenBLAS had picked for
 * aw_blas_core_note. */
int aw_blas_core_ensure(char **argv, aw_error_t *err);

/* NULL, or what OpenBLAS had picked before aw_blas_core_ensure set OPENBLAS_CORETYPE (for --version). */
const char *aw_blas_core_note(void);

#endif
