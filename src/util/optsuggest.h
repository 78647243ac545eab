/* optsuggest.h: the one-line message for a command-line option getopt_long refused (unknown, ambiguous or
 * missing its value), with the nearest known option when one is close ("did you mean --threads?"). Both
 * programs' mains print it as `PROG: error: MESSAGE; try --help` and exit 2. */
#ifndef AW_OPTSUGGEST_H
#define AW_OPTSUGGEST_H

#include <getopt.h>
#include <stddef.h>

/* Describes the option getopt_long just refused into buf[n]: opt is what it returned ('?' or ':', the
 * latter when the option string starts with ':'), arg the command-line word it was reading (argv[optind -
 * 1] for a long option), short_opt getopt's optopt. longopts ends with a zero row. Examples:
 *   unknown option '--treads' (did you mean --threads?)
 *   ambiguous option '--d' (could be --db, --dry-run, --describe)
 *   option '--db' needs a value
 *   unknown option '-x' */
void aw_option_error(int opt, const char *arg, int short_opt, const struct option *longopts, char *buf,
                     size_t n);

#endif
