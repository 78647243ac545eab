#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/cli_common.h"
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
