#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/cli_common.h"
#include "run/blas_core.h"
#include "run/build_info.h"
#include "util/error.h"

int aw_cli_die(const char *prog, int code, const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", prog, msg);
    return aw_error_exit_status(code);
}

int aw_cli_print_version(const char *prog)
{
    char *text = aw_build_info(prog);
    if (text == NULL)
        return aw_cli_die(prog, AW_ENOMEM, "out of memory");
    int ok = fputs(text, stdout) >= 0 && fflush(stdout) == 0;
    free(text);
    return ok ? AW_EXIT_OK : aw_cli_die(prog, AW_EIO, "cannot write to standard output");
}

void aw_cli_blas_core(const char *prog, char **argv)
{
    aw_error_t err = {0};
    if (aw_blas_core_ensure(argv, &err) != 0)
        fprintf(stderr, "%s: notice: %s\n", prog, err.msg);
}
