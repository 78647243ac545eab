/* optsuggest.c: messages for refused command-line options, with the nearest known option (optsuggest.h). */
#include "util/optsuggest.h"

#include <stdio.h>
#include <string.h>

#include "util/suggest.h"

#define MAXLEN 64 /* bytes of an option name considered */

/* The option's name without its leading dashes and any "=VALUE", into name[n]. */
static void bare_name(const char *arg, char *name, size_t n)
{
    while (*arg == '-')
        arg++;
    size_t len = strcspn(arg, "=");
    snprintf(name, n, "%.*s", (int)(len < n ? len : n - 1), arg);
}

/* "unknown" or "ambiguous" with the candidates: the long options name is a prefix of, else the nearest. */
static void long_unknown(const char *arg, const struct option *longopts, char *buf, size_t n)
{
    char name[MAXLEN + 1], shown[MAXLEN + 3];
    bare_name(arg, name, sizeof name);
    snprintf(shown, sizeof shown, "--%s", name);
    size_t len = strlen(name), at = 0;
    int n_prefix = 0;
    for (const struct option *o = longopts; o->name != NULL; o++) {
        if (strcmp(o->name, name) == 0) { /* known, but refused: "--quiet=1" */
            snprintf(buf, n, "option '%s' takes no value", shown);
            return;
        }
        n_prefix += len > 0 && strncmp(o->name, name, len) == 0;
    }
    if (n_prefix > 1) {
        at = (size_t)snprintf(buf, n, "ambiguous option '%s' (could be", shown);
        const char *sep = " ";
        for (const struct option *o = longopts; o->name != NULL && at < n; o++)
            if (strncmp(o->name, name, len) == 0) {
                at += (size_t)snprintf(buf + at, n - at, "%s--%s", sep, o->name);
                sep = ", ";
            }
        if (at < n)
            snprintf(buf + at, n - at, ")");
        return;
    }
    const char *best = NULL;
    int best_d = 1 << 30;
    for (const struct option *o = longopts; o->name != NULL; o++) {
        int d = aw_edit_distance(name, strlen(name), o->name, strlen(o->name));
        if (d < best_d) {
            best_d = d;
            best = o->name;
        }
    }
    /* Close enough to be a slip of the finger: two edits, or a third of a long name. */
    int limit = len >= 9 ? (int)len / 3 : 2;
    if (best != NULL && best_d <= limit && len > 1)
        snprintf(buf, n, "unknown option '%s' (did you mean --%s?)", shown, best);
    else
        snprintf(buf, n, "unknown option '%s'", shown);
}

/* Whether getopt refused the long option in arg rather than a short one (in "-qx" arg is the word before):
 * getopt sets optopt to 0 for an unknown long option, else to the refused option's value. */
static int is_long_word(const char *arg, int short_opt, const struct option *longopts)
{
    if (arg == NULL || strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return 0;
    if (short_opt == 0)
        return 1;
    char name[MAXLEN + 1];
    bare_name(arg, name, sizeof name);
    size_t len = strlen(name);
    for (const struct option *o = longopts; o->name != NULL; o++)
        if (o->val == short_opt && o->flag == NULL && len > 0 && strncmp(o->name, name, len) == 0)
            return 1;
    return 0;
}

void aw_option_error(int opt, const char *arg, int short_opt, const struct option *longopts, char *buf,
                     size_t n)
{
    if (n == 0)
        return;
    int is_long = is_long_word(arg, short_opt, longopts);
    if (opt == ':') {
        if (is_long) {
            char name[MAXLEN + 1];
            bare_name(arg, name, sizeof name);
            snprintf(buf, n, "option '--%s' needs a value", name);
        } else {
            snprintf(buf, n, "option '-%c' needs a value", short_opt);
        }
    } else if (is_long) {
        long_unknown(arg, longopts, buf, n);
    } else if (short_opt > 0 && short_opt < 128) {
        snprintf(buf, n, "unknown option '-%c'", short_opt);
    } else {
        snprintf(buf, n, "unknown option '%s'", arg != NULL ? arg : "?");
    }
}
