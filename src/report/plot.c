/* plot.c: training curves and image grids drawn with cairo (PNG through the image surface,
 * SVG through the SVG surface); axes with "nice" ticks, linear or log scales, legends. */
#include <config.h>

#include "report/plot.h"

#include "methods/plugin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CAIRO
#include <cairo.h>
#ifdef CAIRO_HAS_SVG_SURFACE
#include <cairo-svg.h>
#endif

/* Drops cairo's font caches once a picture is done and none of our cairo objects is alive, so the
 * fontconfig patterns they hold are not left behind (LeakSanitizer reports them otherwise). */
static void release_caches(void)
{
    cairo_debug_reset_static_data();
}

/* ---- axes ---- */

typedef struct axis {
    double lo, hi; /* data range shown */
    int log;       /* 1: log10 scale (lo > 0) */
} axis_t;

typedef struct panel {
    double x, y, w, h; /* plot area in device units (inside the frame) */
    axis_t ax, ay;     /* scales */
} panel_t;

static double axis_frac(const axis_t *a, double v)
{
    if (a->log)
        return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

static double px(const panel_t *p, double v)
{
    return p->x + axis_frac(&p->ax, v) * p->w;
}

static double py(const panel_t *p, double v)
{
    return p->y + p->h - axis_frac(&p->ay, v) * p->h;
}

/* A step of 1, 2 or 5 times a power of ten giving about `want` intervals over span. */
static double nice_step(double span, int want)
{
    double raw = span / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* Widens a linear range to whole ticks (and a degenerate one to something visible). */
static void axis_fit(axis_t *a, int want)
{
    if (a->log) {
        if (!(a->lo > 0))
            a->lo = 1e-3;
        if (!(a->hi > a->lo))
            a->hi = a->lo * 10;
        a->lo = pow(10, floor(log10(a->lo) + 1e-9));
        a->hi = pow(10, ceil(log10(a->hi) - 1e-9));
        if (a->hi <= a->lo)
            a->hi = a->lo * 10;
        return;
    }
    if (!isfinite(a->lo) || !isfinite(a->hi)) {
        a->lo = 0;
        a->hi = 1;
    }
    if (a->hi - a->lo < 1e-9 * fmax(1, fabs(a->hi))) {
        a->lo -= 0.5 * fmax(1e-3, fabs(a->lo) * 0.01);
        a->hi += 0.5 * fmax(1e-3, fabs(a->hi) * 0.01);
    }
    double st = nice_step(a->hi - a->lo, want);
    a->lo = floor(a->lo / st + 1e-9) * st;
    a->hi = ceil(a->hi / st - 1e-9) * st;
}

static void fmt_tick(double v, double step, char *buf, size_t n)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) >= 1e5 || (fabs(v) < 1e-3 && v != 0))
        snprintf(buf, n, "%.0e", v);
    else
        snprintf(buf, n, "%.*f", dec, v);
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    cairo_move_to(cr, x - te.x_advance * ax, y + te.height * ay);
    cairo_show_text(cr, s);
}

/* s, or if it is wider than maxw in the current font, "..." and as much of its end as fits (panel titles
 * start with a run name, which can be long; their end says what the panel shows). */
static const char *fit_text(cairo_t *cr, const char *s, double maxw, char *buf, size_t n)
{
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    if (te.x_advance <= maxw)
        return s;
    for (size_t skip = 1, len = strlen(s); skip < len; skip++) {
        snprintf(buf, n, "...%s", s + skip);
        cairo_text_extents(cr, buf, &te);
        if (te.x_advance <= maxw)
            return buf;
    }
    return s + strlen(s);
}

/* Adds the grid line across panel p at value v of axis dim (0: x, a vertical line; 1: y) to the path. */
static void grid_line(cairo_t *cr, const panel_t *p, int dim, double v)
{
    if (dim == 0) {
        cairo_move_to(cr, px(p, v), p->y);
        cairo_line_to(cr, px(p, v), p->y + p->h);
    } else {
        cairo_move_to(cr, p->x, py(p, v));
        cairo_line_to(cr, p->x + p->w, py(p, v));
    }
}

/* Frame, grid, ticks and labels of a panel. */
static void draw_axes(cairo_t *cr, const panel_t *p, const char *title, const char *xlabel, const char *ylabel)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_fill(cr);
    cairo_set_font_size(cr, 11);
    for (int dim = 0; dim < 2; dim++) {
        const axis_t *a = dim == 0 ? &p->ax : &p->ay;
        double ticks[64];
        int nt = 0;
        double step = 1;
        if (a->log) {
            for (double v = a->lo; v <= a->hi * 1.0001 && nt < 64; v *= 10)
                ticks[nt++] = v;
        } else {
            step = nice_step(a->hi - a->lo, dim == 0 ? 8 : 6);
            for (double v = ceil(a->lo / step - 1e-9) * step; v <= a->hi + step * 1e-6 && nt < 64; v += step)
                ticks[nt++] = v;
        }
        /* minor grid of a log axis at 2..9 x 10^k */
        if (a->log) {
            cairo_set_source_rgb(cr, 0.93, 0.93, 0.93);
            cairo_set_line_width(cr, 0.8);
            for (double dec = a->lo; dec < a->hi; dec *= 10)
                for (int k = 2; k <= 9; k++)
                    grid_line(cr, p, dim, dec * k);
            cairo_stroke(cr);
        }
        for (int i = 0; i < nt; i++) {
            double v = ticks[i];
            char buf[32];
            if (a->log)
                snprintf(buf, sizeof buf, "%g", v);
            else
                fmt_tick(v, step, buf, sizeof buf);
            cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
            cairo_set_line_width(cr, 1);
            grid_line(cr, p, dim, v);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
            if (dim == 0)
                text_at(cr, px(p, v), p->y + p->h + 6, buf, 0.5, 1);
            else
                text_at(cr, p->x - 6, py(p, v), buf, 1, 0.5);
        }
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1.2);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 12);
    if (xlabel != NULL)
        text_at(cr, p->x + p->w / 2, p->y + p->h + 26, xlabel, 0.5, 1);
    if (ylabel != NULL) {
        cairo_save(cr);
        cairo_translate(cr, p->x - 52, p->y + p->h / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, ylabel, 0.5, 0);
        cairo_restore(cr);
    }
    if (title != NULL) {
        cairo_set_font_size(cr, 13);
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        char fitted[512];
        text_at(cr, p->x, p->y - 10, fit_text(cr, title, p->w, fitted, sizeof fitted), 0, 0);
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    }
}

/* ---- colours and markers ---- */

static void run_colour(size_t i, double rgb[3])
{
    static const double pal[10][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                      {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                                      {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}, {0.74, 0.74, 0.13},
                                      {0.09, 0.75, 0.81}};
    memcpy(rgb, pal[i % 10], sizeof pal[0]);
}

/* Temperature index t of nt on a blue (t = 1) to yellow (t = nt) ramp (viridis end points). */
static void temp_colour(size_t t, size_t nt, double rgb[3])
{
    static const double stops[5][3] = {{0.27, 0.00, 0.33}, {0.23, 0.32, 0.55}, {0.13, 0.57, 0.55},
                                       {0.37, 0.79, 0.38}, {0.99, 0.91, 0.14}};
    double f = nt > 1 ? (double)t / (double)(nt - 1) : 0;
    double s = f * 4;
    int k = (int)floor(s);
    if (k >= 4)
        k = 3;
    double u = s - k;
    for (int c = 0; c < 3; c++)
        rgb[c] = stops[k][c] * (1 - u) + stops[k + 1][c] * u;
}

static void marker(cairo_t *cr, double x, double y, int shape)
{
    if (shape == 0) {
        cairo_arc(cr, x, y, 4.5, 0, 2 * M_PI);
    } else {
        cairo_rectangle(cr, x - 4, y - 4, 8, 8);
    }
    cairo_fill(cr);
}

/* Marker of an evaluation: a circle for the estimators of the NLL table, a square for the others. */
static int eval_shape(const char *estimator)
{
    const aw_estimator_ops_t *e = aw_estimator_find(estimator);
    return e != NULL && strcmp(e->table, "nll") == 0;
}

/* ---- curves ---- */

typedef struct legend_item {
    const char *text; /* label */
    double rgb[3];    /* colour */
    int kind;         /* 0 line, 1 circle marker, 2 square marker */
} legend_item_t;

/* The legend box in the top-right (bottom = 0) or bottom-right (bottom = 1) corner of p. */
static void draw_legend(cairo_t *cr, const panel_t *p, const legend_item_t *it, int n, int bottom)
{
    if (n == 0)
        return;
    cairo_set_font_size(cr, 11);
    double w = 0;
    for (int i = 0; i < n; i++) {
        cairo_text_extents_t te;
        cairo_text_extents(cr, it[i].text, &te);
        w = fmax(w, te.x_advance);
    }
    double bw = w + 44, bh = 18.0 * n + 8, bx = p->x + p->w - bw - 8, by = bottom ? p->y + p->h - bh - 8 : p->y + 8;
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double y = by + 13 + 18.0 * i;
        cairo_set_source_rgb(cr, it[i].rgb[0], it[i].rgb[1], it[i].rgb[2]);
        if (it[i].kind == 0) {
            cairo_set_line_width(cr, 2);
            cairo_move_to(cr, bx + 8, y);
            cairo_line_to(cr, bx + 30, y);
            cairo_stroke(cr);
        } else {
            marker(cr, bx + 19, y, it[i].kind - 1);
        }
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, bx + 36, y, it[i].text, 0, 0.35);
    }
}

static size_t run_temps(const aw_plot_run_t *r)
{
    size_t nt = 0;
    for (size_t i = 0; i < r->n_metrics; i++)
        nt = r->metrics[i].n_temps > nt ? r->metrics[i].n_temps : nt;
    return nt;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* The top panel's frame and scales: every epoch, and the bounds and evaluations of all runs. */
static panel_t top_panel(double W, const aw_plot_run_t *runs, size_t n, double top_h, int x_log, int64_t max_epoch)
{
    panel_t p = {.x = 80, .y = 58, .w = W - 110, .h = top_h - 110};
    /* a margin after the last epoch, so its markers are not cut by the frame */
    double xmax = (double)(max_epoch > 1 ? max_epoch : 2);
    p.ax = (axis_t){.lo = x_log ? 1 : 0, .hi = x_log ? xmax * 1.2 : xmax + fmax(0.5, 0.02 * xmax), .log = x_log};
    double ylo = INFINITY, yhi = -INFINITY;
    for (size_t r = 0; r < n; r++) {
        /* the first epochs' bounds are far above the rest: leave the first tenth out of the range */
        size_t skip = runs[r].n_metrics >= 10 ? runs[r].n_metrics / 10 : 0;
        for (size_t i = skip; i < runs[r].n_metrics; i++)
            if (isfinite(runs[r].metrics[i].bound)) {
                ylo = fmin(ylo, runs[r].metrics[i].bound);
                yhi = fmax(yhi, runs[r].metrics[i].bound);
            }
        for (size_t i = 0; i < runs[r].n_evals; i++)
            if (isfinite(runs[r].evals[i].mean)) {
                double se = isfinite(runs[r].evals[i].se) ? runs[r].evals[i].se : 0;
                ylo = fmin(ylo, runs[r].evals[i].mean - se);
                yhi = fmax(yhi, runs[r].evals[i].mean + se);
            }
    }
    if (!(ylo <= yhi))
        ylo = 0, yhi = 1;
    double pad = (yhi - ylo) * 0.05;
    p.ay = (axis_t){.lo = ylo - pad, .hi = yhi + pad};
    axis_fit(&p.ax, 8);
    axis_fit(&p.ay, 6);
    return p;
}

/* Run r's training bound as a line and its evaluations as markers with error bars, in colour rgb;
 * shapes_used[s] is set for each marker shape drawn. */
static void draw_run(cairo_t *cr, const panel_t *p, const aw_plot_run_t *run, const double rgb[3], int x_log,
                     int shapes_used[2])
{
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, 2);
    int pen = 0;
    for (size_t i = 0; i < run->n_metrics; i++) {
        const aw_store_metrics_t *m = &run->metrics[i];
        if (!isfinite(m->bound) || m->epoch < 1) {
            pen = 0;
            continue;
        }
        if (pen)
            cairo_line_to(cr, px(p, (double)m->epoch), py(p, m->bound));
        else
            cairo_move_to(cr, px(p, (double)m->epoch), py(p, m->bound));
        pen = 1;
    }
    if (run->n_metrics == 1) /* one epoch: a dot instead of a line */
        marker(cr, px(p, (double)run->metrics[0].epoch), py(p, run->metrics[0].bound), 0);
    cairo_stroke(cr);
    for (size_t i = 0; i < run->n_evals; i++) {
        const aw_plot_eval_t *e = &run->evals[i];
        if (!isfinite(e->mean) || e->epoch < (x_log ? 1 : 0))
            continue;
        double x = px(p, (double)e->epoch), y = py(p, e->mean);
        if (isfinite(e->se) && e->se > 0) {
            cairo_set_line_width(cr, 1.5);
            cairo_move_to(cr, x, py(p, e->mean - e->se));
            cairo_line_to(cr, x, py(p, e->mean + e->se));
            cairo_stroke(cr);
        }
        int s = eval_shape(e->estimator);
        shapes_used[s] = 1;
        marker(cr, x, y, s);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_set_line_width(cr, 1);
        if (s == 0)
            cairo_arc(cr, x, y, 4.5, 0, 2 * M_PI);
        else
            cairo_rectangle(cr, x - 4, y - 4, 8, 8);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    }
}

/* The top panel: training bound (lines) and evaluations (markers +- standard error), with a legend. */
static void draw_top(cairo_t *cr, const panel_t *p, const aw_plot_run_t *runs, size_t n, int x_log)
{
    draw_axes(cr, p, "Training bound (lines) and evaluations (markers, \xc2\xb1 s.e.)",
              x_log ? "epoch (log scale)" : "epoch", "nats (lower is better)");
    cairo_save(cr);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_clip(cr);
    int shapes_used[2] = {0, 0};
    for (size_t r = 0; r < n; r++) {
        double rgb[3];
        run_colour(r, rgb);
        draw_run(cr, p, &runs[r], rgb, x_log, shapes_used);
    }
    cairo_restore(cr);
    legend_item_t items[24];
    int ni = 0;
    for (size_t r = 0; r < n && ni < 20; r++) {
        items[ni].text = runs[r].name;
        run_colour(r, items[ni].rgb);
        items[ni++].kind = 0;
    }
    /* One legend line per estimator whose marker shape was drawn, e.g. "ais_nll (NLL table)". */
    char texts[4][80];
    for (int i = 0, k = 0; aw_estimator_at(i) != NULL && k < 4; i++) {
        const aw_estimator_ops_t *e = aw_estimator_at(i);
        int s = eval_shape(e->name);
        if (!shapes_used[s])
            continue;
        snprintf(texts[k], sizeof texts[k], "%s (%s table)", e->name, e->table_title);
        items[ni++] = (legend_item_t){.text = texts[k++], .rgb = {0.3, 0.3, 0.3}, .kind = 1 + s};
    }
    draw_legend(cr, p, items, ni, 0);
}

/* Temperature t's acceptance rate (which = 0) or step size (which = 1) of metrics row m; NaN if absent. */
static double temp_value(const aw_store_metrics_t *m, size_t t, int which)
{
    return t < m->n_temps ? (which == 0 ? m->accept[t] : m->step[t]) : NAN;
}

/* One line per temperature in panel q (clipped to it); few epochs also get their points. */
static void draw_temp_lines(cairo_t *cr, const panel_t *q, const aw_plot_run_t *run, size_t nt, int which)
{
    cairo_save(cr);
    cairo_rectangle(cr, q->x, q->y, q->w, q->h);
    cairo_clip(cr);
    for (size_t t = 0; t < nt; t++) {
        double rgb[3];
        temp_colour(t, nt, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_set_line_width(cr, 1.6);
        int pen = 0;
        for (size_t i = 0; i < run->n_metrics; i++) {
            const aw_store_metrics_t *m = &run->metrics[i];
            double v = temp_value(m, t, which);
            if (!isfinite(v) || (which == 1 && v <= 0) || m->epoch < 1) {
                pen = 0;
                continue;
            }
            if (pen)
                cairo_line_to(cr, px(q, (double)m->epoch), py(q, v));
            else
                cairo_move_to(cr, px(q, (double)m->epoch), py(q, v));
            pen = 1;
        }
        cairo_stroke(cr);
        if (run->n_metrics <= 3) /* few epochs: show the points */
            for (size_t i = 0; i < run->n_metrics; i++) {
                const aw_store_metrics_t *m = &run->metrics[i];
                double v = temp_value(m, t, which);
                if (isfinite(v) && (which == 0 || v > 0))
                    marker(cr, px(q, (double)m->epoch), py(q, v), 0);
            }
    }
    cairo_restore(cr);
}

/* The panel of acceptance rates (which = 0, left) or step sizes (which = 1, right, log scale when
 * they span a decade) per temperature of one run, in the row starting at y0; x scale ax as on top. */
static void draw_temp_panel(cairo_t *cr, double W, double y0, double row_h, const axis_t *ax, int x_log,
                            const aw_plot_run_t *run, size_t nt, int which)
{
    panel_t q = {.x = which == 0 ? 80 : W / 2 + 60, .y = y0 + 34, .w = W / 2 - 110, .h = row_h - 90};
    q.ax = *ax;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < run->n_metrics; i++)
        for (size_t t = 0; t < run->metrics[i].n_temps; t++) {
            double v = temp_value(&run->metrics[i], t, which);
            if (isfinite(v) && (which == 0 || v > 0)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    if (which == 0)
        q.ay = (axis_t){.lo = 0, .hi = 1};
    else
        /* log scale when the step sizes span a decade or more */
        q.ay = (axis_t){.lo = isfinite(lo) ? lo : 1e-3, .hi = isfinite(hi) ? hi : 1,
                        .log = isfinite(lo) && isfinite(hi) && hi >= 10 * lo};
    axis_fit(&q.ay, 5);
    char ttl[320];
    snprintf(ttl, sizeof ttl, "%.200s: HMC %s per temperature", run->name,
             which == 0 ? "acceptance rate" : "step size");
    draw_axes(cr, &q, ttl, x_log ? "epoch (log scale)" : "epoch",
              which == 0 ? "acceptance rate" : q.ay.log ? "step size (log scale)" : "step size");
    draw_temp_lines(cr, &q, run, nt, which);
    if (which == 1 || nt > 12)
        return;
    /* legend: temperature indexes (beta_t = t/(T-1)) */
    legend_item_t ti[12];
    char labels[12][64];
    for (size_t t = 0; t < nt; t++) {
        snprintf(labels[t], sizeof labels[t], "t=%d (beta=%.2f)", (int)t + 1, (double)(t + 1) / (double)nt);
        ti[t].text = labels[t];
        temp_colour(t, nt, ti[t].rgb);
        ti[t].kind = 0;
    }
    draw_legend(cr, &q, ti, (int)nt, 1);
}

/* Draws the curves figure on cr (size W x H): the top panel, then one row per run with
 * temperatures (acceptance rate and step size per temperature). */
static void draw_curves(cairo_t *cr, double W, const char *title, const aw_plot_run_t *runs, size_t n,
                        double top_h, double row_h, int x_log, int64_t max_epoch)
{
    cairo_set_source_rgb(cr, 0.97, 0.97, 0.97);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 15);
    if (title != NULL)
        text_at(cr, W / 2, 12, title, 0.5, 1);
    panel_t p = top_panel(W, runs, n, top_h, x_log, max_epoch);
    draw_top(cr, &p, runs, n, x_log);
    double y0 = top_h;
    for (size_t r = 0; r < n; r++) {
        size_t nt = run_temps(&runs[r]);
        if (nt == 0)
            continue;
        for (int which = 0; which < 2; which++)
            draw_temp_panel(cr, W, y0, row_h, &p.ax, x_log, &runs[r], nt, which);
        y0 += row_h;
    }
}

int aw_plot_curves(const char *path, const char *title, const aw_plot_run_t *runs, size_t n, aw_error_t *err)
{
    int svg = ends_with(path, ".svg");
    if (!svg && !ends_with(path, ".png"))
        return aw_error_set(err, AW_EARG, "%s: the picture's name must end in .png or .svg", path);
    int64_t max_epoch = 1;
    int rows = 0;
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < runs[r].n_metrics; i++)
            max_epoch = runs[r].metrics[i].epoch > max_epoch ? runs[r].metrics[i].epoch : max_epoch;
        for (size_t i = 0; i < runs[r].n_evals; i++)
            max_epoch = runs[r].evals[i].epoch > max_epoch ? runs[r].evals[i].epoch : max_epoch;
        rows += run_temps(&runs[r]) > 0;
    }
    int x_log = max_epoch >= 100;
    double W = 1100, top_h = 520, row_h = 330, H = top_h + rows * row_h;
    cairo_surface_t *surf;
    if (svg) {
#ifdef CAIRO_HAS_SVG_SURFACE
        surf = cairo_svg_surface_create(path, W, H);
#else
        return aw_error_set(err, AW_EARG, "%s: this cairo has no SVG support; use .png", path);
#endif
    } else {
        surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)W, (int)H);
    }
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        int rc = aw_error_set(err, AW_EIO, "%s: cannot create the picture: %s", path,
                              cairo_status_to_string(cairo_surface_status(surf)));
        cairo_surface_destroy(surf);
        return rc;
    }
    cairo_t *cr = cairo_create(surf);
    draw_curves(cr, W, title, runs, n, top_h, row_h, x_log, max_epoch);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && !svg)
        st = cairo_surface_write_to_png(surf, path);
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    release_caches();
    if (st != CAIRO_STATUS_SUCCESS)
        return aw_error_set(err, AW_EIO, "%s: cannot write the picture: %s", path, cairo_status_to_string(st));
    return AW_OK;
}

/* ---- image grids ---- */

/* Draws images [n, rows*cols] in a grid of gc columns at (x, y), each scaled by s, 1 = black.
 * Pairs (pair != 0): image i of a and of b side by side, a thin gap between pairs. */
static int draw_grid(cairo_t *cr, double x, double y, int rows, int cols, const float *a, const float *b, int n,
                     int gc, double s)
{
    int stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, cols);
    unsigned char *buf = malloc((size_t)stride * (size_t)rows);
    if (buf == NULL)
        return -1;
    int per = b != NULL ? 2 : 1;
    double cell = cols * s + 2, pairgap = b != NULL ? 8 : 0;
    for (int i = 0; i < n * per; i++) {
        int img = i / per, which = i % per;
        const float *src = (which == 0 ? a : b) + (size_t)img * (size_t)rows * (size_t)cols;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                float v = src[r * cols + c];
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                uint32_t g = (uint32_t)lrintf(255.0f * (1.0f - v));
                uint32_t px_ = (g << 16) | (g << 8) | g;
                memcpy(buf + (size_t)r * (size_t)stride + 4 * (size_t)c, &px_, 4);
            }
        cairo_surface_t *im = cairo_image_surface_create_for_data(buf, CAIRO_FORMAT_RGB24, cols, rows, stride);
        int slot = img % (gc / per), grow = img / (gc / per);
        double ox = x + (slot * per + which) * cell + slot * pairgap, oy = y + grow * (rows * s + 2);
        cairo_save(cr);
        cairo_translate(cr, ox, oy);
        cairo_scale(cr, s, s);
        cairo_set_source_surface(cr, im, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_flush(cairo_get_target(cr));
        cairo_surface_destroy(im);
    }
    free(buf);
    return 0;
}

int aw_plot_samples(const char *path, const char *title, int rows, int cols, const float *prior, int n_prior,
                    const float *x, const float *recon, int n_test, aw_error_t *err)
{
    if (!ends_with(path, ".png"))
        return aw_error_set(err, AW_EARG, "%s: the picture's name must end in .png", path);
    if (rows < 1 || cols < 1 || n_prior < 1 || n_test < 1 || rows > 4096 || cols > 4096)
        return aw_error_set(err, AW_EARG, "%s: bad image grid (%dx%d pixels, %d samples, %d test images)", path, rows,
                            cols, n_prior, n_test);
    double s = rows <= 32 ? 3 : 1;
    int gc1 = (int)ceil(sqrt((double)n_prior));
    int gr1 = (n_prior + gc1 - 1) / gc1;
    int pairs_per_row = (int)ceil(sqrt((double)n_test / 2.0));
    if (pairs_per_row < 1)
        pairs_per_row = 1;
    int gc2 = 2 * pairs_per_row, gr2 = (n_test + pairs_per_row - 1) / pairs_per_row;
    double cw = cols * s + 2, ch = rows * s + 2;
    double w1 = gc1 * cw, w2 = gc2 * cw + pairs_per_row * 8;
    double gh = fmax(gr1, gr2) * ch;
    double W = 40 + w1 + 50 + w2 + 40, H = 64 + 30 + gh + 40;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(W), (int)ceil(H));
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return aw_error_set(err, AW_ENOMEM, "%s: cannot create a %.0fx%.0f picture", path, W, H);
    }
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 16);
    if (title != NULL)
        text_at(cr, W / 2, 14, title, 0.5, 1);
    cairo_set_font_size(cr, 13);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    text_at(cr, 40, 60, "Decoded prior samples: sigmoid(logits(h)), h ~ N(0, I)", 0, 0);
    text_at(cr, 40 + w1 + 50, 60, "Test images (left) and reconstructions sigmoid(logits(mu(x)))", 0, 0);
    int rc = draw_grid(cr, 40, 80, rows, cols, prior, NULL, n_prior, gc1, s);
    if (rc == 0)
        rc = draw_grid(cr, 40 + w1 + 50, 80, rows, cols, x, recon, n_test, gc2, s);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (rc != 0) {
        cairo_surface_destroy(surf);
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory drawing the images", path);
    }
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png(surf, path);
    cairo_surface_destroy(surf);
    release_caches();
    if (st != CAIRO_STATUS_SUCCESS)
        return aw_error_set(err, AW_EIO, "%s: cannot write the picture: %s", path, cairo_status_to_string(st));
    return AW_OK;
}

#else /* no cairo */

int aw_plot_curves(const char *path, const char *title, const aw_plot_run_t *runs, size_t n, aw_error_t *err)
{
    (void)title, (void)runs, (void)n;
    return aw_error_set(err, AW_EARG, "%s: pictures are not built in (configure did not find cairo)", path);
}

int aw_plot_samples(const char *path, const char *title, int rows, int cols, const float *prior, int n_prior,
                    const float *x, const float *recon, int n_test, aw_error_t *err)
{
    (void)title, (void)rows, (void)cols, (void)prior, (void)n_prior, (void)x, (void)recon, (void)n_test;
    return aw_error_set(err, AW_EARG, "%s: pictures are not built in (configure did not find cairo)", path);
}

#endif
