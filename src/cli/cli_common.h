/* What both programs' main functions do alike: report an error and map it to the exit status, and print
 * --version. */
#ifndef AIWAE_CLI_COMMON_H
#define AIWAE_CLI_COMMON_H

/* "PROG: error: MSG" on standard error; returns the exit status for the error code. */
int aw_cli_die(const char *prog, int code, const char *msg);

/* --version: the version and what the program runs on (BLAS, decoder kernels, SQLite), on standard
 * output; returns the exit status. */
int aw_cli_print_version(const char *prog);

/* First thing in main: no fallback OpenBLAS kernels on this CPU (run/blas_core.h; the program may
 * be run again); where that fails, a one-line notice on standard error, and the program goes on. */
void aw_cli_blas_core(const char *prog, char **argv);

#endif
