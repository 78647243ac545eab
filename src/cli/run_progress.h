/* run_progress.h: aiwae-run's progress output on stderr. On a terminal: one live line, redrawn in place and
 * cut to the terminal's width (a long run name loses its middle, so the line never wraps), and one summary
 * line per epoch and per finished evaluation. Elsewhere: the summary lines only. A write that fails because
 * nobody reads stderr any more (a broken pipe, a hung-up terminal) stops the output and raises the stop flag,
 * so the run is checkpointed and marked interrupted instead of dying half-way. */
#ifndef AW_RUN_PROGRESS_H
#define AW_RUN_PROGRESS_H

#include <signal.h>
#include <stddef.h>

#include "run/run.h"

typedef struct progress_printer {
    int tty;                      /* stderr is a terminal */
    int quiet;                    /* print nothing */
    int dead;                     /* stderr cannot be written any more */
    int line_open;                /* a live line is on screen */
    int width;                    /* columns to fit (0: ask the terminal each time) */
    volatile sig_atomic_t *stop;  /* raised when stderr dies */
} progress_printer_t;

/* The progress callback of aw_run_opts_t (ctx: a progress_printer_t). */
void progress_on(void *ctx, const aw_progress_t *p);

/* Ends the live line, if one is open, so that what follows starts on a line of its own. */
void progress_end_line(progress_printer_t *pr);

/* Copies s into out[n], cut to at most max characters by replacing its middle with "...". */
void progress_fit_middle(const char *s, size_t max, char *out, size_t n);

#endif
