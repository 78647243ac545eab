/* build_info.c: the version and build report of --version (build_info.h). */
#include "run/build_info.h"

#include "config.h"

#include <cblas.h>
#include <omp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#ifdef HAVE_CAIRO
#include <cairo.h>
#endif

#include "core/model.h"
#include "run/blas_core.h"
#include "util/sbuf.h"

/* What OpenBLAS says of its threads (openblas_get_parallel: 0 none, 1 its own pthreads, 2 OpenMP). */
static const char *blas_threads(void)
{
    switch (openblas_get_parallel()) {
    case 0: return "single-threaded";
    case 1: return "its own pthreads pool (not the OpenMP build: threads would compete)";
    case 2: return "OpenMP (one pool with the element-wise kernels)";
    default: return "unknown";
    }
}

char *aw_build_info(const char *prog)
{
    /* The paper's model (784-200-200-50) and its training rows (batch 128, K = 5). */
    const aw_shape_t paper = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};
    char kernels[256];
    aw_dec_kernels_describe(&paper, 128 * 5, kernels, sizeof kernels);
    const char *config = openblas_get_config();
    aw_sbuf_t b = {0};
    aw_sbuf_printf(&b, "%s %s\n", prog, PACKAGE_VERSION);
    const char *core = openblas_get_corename();
    if (config == NULL)
        config = "OpenBLAS";
    aw_sbuf_printf(&b, "BLAS: %s", config);
    const char *was = aw_blas_core_note();
    if (core != NULL && was != NULL)
        aw_sbuf_printf(&b, " (core %s: %s set OPENBLAS_CORETYPE, OpenBLAS picked %s for this CPU)", core, prog, was);
    else if (core != NULL && strstr(config, core) == NULL)
        aw_sbuf_printf(&b, " (core %s)", core);
    aw_sbuf_printf(&b, "; threads: %s, %d by default\n", blas_threads(), omp_get_max_threads());
    aw_sbuf_printf(&b, "decoder kernels: %s\n", kernels);
    char precisions[200];
    aw_model_kernels_describe(precisions, sizeof precisions);
    aw_sbuf_printf(&b, "decoder kernels on this CPU: %s\n", precisions);
    aw_sbuf_printf(&b, "SQLite: %s (built with %s)\n", sqlite3_libversion(), SQLITE_VERSION);
#ifdef HAVE_CAIRO
    /* The version built against, not cairo_version_string(): that call alone would make aiwae-run load
     * cairo and the dozen X and font libraries under it at every start, for pictures it never draws. */
    aw_sbuf_printf(&b, "cairo: built with %s (pictures: PNG, SVG)\n", CAIRO_VERSION_STRING);
#else
    aw_sbuf_puts(&b, "cairo: not built in (no pictures)\n");
#endif
#if defined(__GNUC__) && !defined(__clang__)
    aw_sbuf_printf(&b, "compiler: GCC %s, OpenMP %d\n", __VERSION__, _OPENMP);
#endif
    return aw_sbuf_finish(&b);
}
