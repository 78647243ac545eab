/* run_progress.c: aiwae-run's progress lines (run_progress.h). */
#include "cli/run_progress.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define NAME_MIN 10 /* a run name is never cut below this */

static void fmt_eta(double s, char *buf, size_t n)
{
    if (s < 0 || !isfinite(s))
        snprintf(buf, n, "--");
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else if (s < 100 * 3600)
        snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
    else
        snprintf(buf, n, "%dd%02dh", (int)(s / 86400), (int)fmod(s, 86400) / 3600);
}

void progress_fit_middle(const char *s, size_t max, char *out, size_t n)
{
    size_t len = strlen(s);
    if (len <= max || max < 5) {
        snprintf(out, n, "%s", s);
        return;
    }
    size_t keep = max - 3, head = (keep + 1) / 2, tail = keep - head;
    snprintf(out, n, "%.*s...%s", (int)head, s, s + len - tail);
}

/* Columns of the terminal on stderr (80 when it does not say). */
static int columns(const progress_printer_t *pr)
{
    if (pr->width > 0)
        return pr->width;
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Writes text; a failure with nobody left to read ends the output and stops the run. */
static void emit(progress_printer_t *pr, const char *text)
{
    if (pr->dead)
        return;
    if (fputs(text, stderr) < 0 || fflush(stderr) != 0) {
        if (errno == EPIPE || errno == EIO) {
            pr->dead = 1;
            if (pr->stop != NULL)
                *pr->stop = 1;
        }
        clearerr(stderr);
    }
}

void progress_end_line(progress_printer_t *pr)
{
    if (pr->line_open) {
        emit(pr, "\n");
        pr->line_open = 0;
    }
}

/* Writes "NAME: REST". On a terminal the line fits its width: the name loses its middle first (down to
 * NAME_MIN), then the end of the line goes, except from a message (fit 0), which may wrap. A live line is
 * drawn over the previous one and left open; a summary line replaces an open live line. */
static void put_text(progress_printer_t *pr, const char *name, int live, int fit, const char *rest)
{
    char shown[512], line[1400];
    if (!pr->tty) {
        snprintf(line, sizeof line, "%s: %s\n", name, rest);
        emit(pr, line);
        return;
    }
    /* one column is left free: a line that fills the last one wraps on some terminals */
    const size_t width = (size_t)columns(pr) - 1, used = strlen(rest) + 2;
    size_t room = width > used + NAME_MIN ? width - used : NAME_MIN;
    progress_fit_middle(name, room, shown, sizeof shown);
    const char *cr = live || pr->line_open ? "\r" : "";
    int len = snprintf(line, sizeof line, "%s%s: %s", cr, shown, rest);
    if (fit && len > 0 && (size_t)len - strlen(cr) > width)
        line[width + strlen(cr)] = '\0';
    /* \033[K clears what a longer previous line left to the right */
    snprintf(line + strlen(line), sizeof line - strlen(line), "\033[K%s", live ? "" : "\n");
    emit(pr, line);
    pr->line_open = live;
}

static void put_line(progress_printer_t *pr, const char *name, int live, int fit, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void put_line(progress_printer_t *pr, const char *name, int live, int fit, const char *fmt, ...)
{
    char rest[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    put_text(pr, name, live, fit, rest);
}

/* A live line "HEAD [bar] TAIL", or "HEAD TAIL" when the bar would not leave the name NAME_MIN columns. */
static void put_bar(progress_printer_t *pr, const char *name, const char *head, double done, double total,
                    const char *tail)
{
    char b[40], rest[768];
    int w = columns(pr) >= 110 ? 24 : 12;
    int filled = total > 0 ? (int)(w * done / total) : 0;
    for (int i = 0; i < w; i++)
        b[i] = i < filled ? '#' : '.';
    b[w] = '\0';
    snprintf(rest, sizeof rest, "%s [%s] %s", head, b, tail);
    if (strlen(rest) + 2 + NAME_MIN > (size_t)columns(pr) - 1)
        snprintf(rest, sizeof rest, "%s %s", head, tail);
    put_text(pr, name, 1, 1, rest);
}

void progress_on(void *ctx, const aw_progress_t *p)
{
    progress_printer_t *pr = ctx;
    if (pr->quiet || pr->dead)
        return;
    char eta[32], head[256], tail[128];
    fmt_eta(p->eta_s, eta, sizeof eta);
    switch (p->kind) {
    case AW_PROGRESS_START:
    case AW_PROGRESS_NOTE:
        put_line(pr, p->run, 0, 0, "%s", p->message);
        break;
    case AW_PROGRESS_STEP:
        if (!pr->tty)
            break;
        snprintf(head, sizeof head, "epoch %lld/%lld", (long long)p->epoch + 1, (long long)p->epochs);
        snprintf(tail, sizeof tail, "loss %.3f  %.0f pts/s  ETA %s", p->loss, p->points_per_s, eta);
        put_bar(pr, p->run, head, (double)p->step, (double)p->steps, tail);
        break;
    case AW_PROGRESS_EPOCH:
        put_line(pr, p->run, 0, 1, "epoch %lld/%lld  loss %.4f  bound %.4f  %.0f pts/s", (long long)p->epoch,
                 (long long)p->epochs, p->loss, p->bound, p->points_per_s);
        break;
    case AW_PROGRESS_EVAL:
        if (pr->tty)
            put_line(pr, p->run, 1, 1, "%s %lld/%lld points", p->estimator, (long long)p->done, (long long)p->total);
        break;
    case AW_PROGRESS_EVAL_STEP:
        if (!pr->tty)
            break;
        snprintf(head, sizeof head, "%s %lld/%lld points, %s %lld of %lld", p->estimator, (long long)p->done,
                 (long long)p->total, p->unit != NULL ? p->unit : "step", (long long)p->part, (long long)p->parts);
        snprintf(tail, sizeof tail, "ETA %s", eta);
        put_bar(pr, p->run, head, (double)p->part, (double)p->parts, tail);
        break;
    case AW_PROGRESS_EVAL_DONE:
        if (p->whole)
            put_line(pr, p->run, 0, 1, "%s at epoch %lld: %g %s (%lld points)", p->estimator, (long long)p->epoch,
                     p->value, p->unit, (long long)p->total);
        else
            put_line(pr, p->run, 0, 1, "%s at epoch %lld: %.4f +- %.4f %s (%lld points)", p->estimator,
                     (long long)p->epoch, p->value, p->stderr_, p->unit, (long long)p->total);
        break;
    case AW_PROGRESS_DONE:
        put_line(pr, p->run, 0, 1, "finished (%lld epochs)", (long long)p->epoch);
        break;
    }
}
