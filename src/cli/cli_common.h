/* What both programs' main functions do alike: report an error and map it to the exit status, and print
 * --version. */
#ifndef AIWAE_CLI_COMMON_H
#define AIWAE_CLI_COMMON_H

/* "PROG: error: MSG" on standard error; returns the exit status for the error code. */
int aw_cli_die(const char *prog, int code, const char *msg);

/* --version: the version and what the program runs on (BLAS, decoder kernels, SQLite), on standard
 * output; returns the exit status. */
int aw_cli_print_version(const char *prog);

#endif
