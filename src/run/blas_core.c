/* blas_core.c: OpenBLAS's fallback kernels replaced by ones of the CPU's vector width (blas_core.h). */
#include "run/blas_core.h"

#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Set together with OPENBLAS_CORETYPE for the program run again: what OpenBLAS had picked. */
#define MARK "AIWAE_OPENBLAS_PICKED"
#define CORETYPE "OPENBLAS_CORETYPE"

static char picked[64];

int aw_blas_cpu_level(void)
{
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 1;
#endif
    return 0;
}

/* The level of OpenBLAS's x86-64 kernel sets by their names (openblas_get_corename). */
static int core_level(const char *core)
{
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const avx2[] = {"Haswell", "Zen", "Excavator", NULL};
    for (int i = 0; avx512[i] != NULL; i++)
        if (strcmp(core, avx512[i]) == 0)
            return 2;
    for (int i = 0; avx2[i] != NULL; i++)
        if (strcmp(core, avx2[i]) == 0)
            return 1;
    return 0;
}

const char *aw_blas_core_for(const char *core, int cpu_level)
{
    /* Only OpenBLAS's fallback is overridden: an AVX2 pick on an AVX-512 CPU (OpenBLAS 0.3.21 runs its
     * "Zen" kernels on Zen 4) is its own judgement of which kernels are fastest there. */
    if (core == NULL || cpu_level < 1 || core_level(core) >= 1)
        return NULL;
    return cpu_level >= 2 ? "SkylakeX" : "Haswell";
}

int aw_blas_core_ensure(char **argv, aw_error_t *err)
{
    const char *mark = getenv(MARK);
    if (mark != NULL) { /* run again by the call below: OpenBLAS has read OPENBLAS_CORETYPE by now */
        size_t n = strlen(mark);
        memcpy(picked, mark, n < sizeof picked ? n + 1 : sizeof picked - 1);
        unsetenv(MARK);
        unsetenv(CORETYPE);
        return 0;
    }
    if (getenv(CORETYPE) != NULL)
        return 0; /* the caller's choice */
    const char *core = openblas_get_corename();
    const char *want = aw_blas_core_for(core, aw_blas_cpu_level());
    if (want == NULL)
        return 0;
    /* The program's own path, as the kernel knows it (tools such as valgrind answer for their client). */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return aw_error_set(err, AW_EIO, "OpenBLAS runs its %s kernels on this CPU; cannot find this program "
                            "to run it again with %s=%s (/proc/self/exe: %s)", core, CORETYPE, want,
                            strerror(errno));
    self[len] = '\0';
    if (setenv(MARK, core, 1) != 0 || setenv(CORETYPE, want, 1) != 0)
        return aw_error_set(err, AW_EIO, "cannot set %s=%s: %s", CORETYPE, want, strerror(errno));
    execv(self, argv);
    int e = errno;
    unsetenv(MARK);
    unsetenv(CORETYPE);
    return aw_error_set(err, AW_EIO, "OpenBLAS runs its %s kernels on this CPU; running %s again with %s=%s "
                        "failed: %s", core, self, CORETYPE, want, strerror(e));
}

const char *aw_blas_core_note(void)
{
    return picked[0] != '\0' ? picked : NULL;
}
