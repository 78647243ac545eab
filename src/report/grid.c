/* grid.c: the grid of cells and its four renderings, Markdown, CSV, LaTeX and JSON (grid.h). */
#include "report/grid.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

/* Hands the text to the caller as *out, or fails with AW_ENOMEM. */
int aw_grid_finish(aw_sbuf_t *b, char **out, aw_error_t *err)
{
    *out = aw_sbuf_finish(b);
    return *out != NULL ? AW_OK : aw_error_set(err, AW_ENOMEM, "out of memory rendering the report");
}

/* ---- escaping for each format ---- */

void aw_csv_field(aw_sbuf_t *b, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        aw_sbuf_puts(b, s);
        return;
    }
    aw_sbuf_put(b, "\"", 1);
    for (const char *c = s; *c; c++) {
        if (*c == '"')
            aw_sbuf_put(b, "\"", 1);
        aw_sbuf_put(b, c, 1);
    }
    aw_sbuf_put(b, "\"", 1);
}

void aw_csv_num(aw_sbuf_t *b, double v)
{
    if (isfinite(v))
        aw_sbuf_printf(b, "%.10g", v);
}

static void latex_str(aw_sbuf_t *b, const char *s)
{
    for (const char *c = s; *c; c++) {
        switch (*c) {
        case '_': case '%': case '&': case '#': case '$': case '{': case '}':
            aw_sbuf_put(b, "\\", 1);
            aw_sbuf_put(b, c, 1);
            break;
        case '\\': aw_sbuf_puts(b, "\\textbackslash{}"); break;
        case '~': aw_sbuf_puts(b, "\\textasciitilde{}"); break;
        case '^': aw_sbuf_puts(b, "\\textasciicircum{}"); break;
        default:
            if (strncmp(c, "\xc2\xb1", 2) == 0) { /* the plus-minus sign */
                aw_sbuf_puts(b, "$\\pm$");
                c++;
            } else if (strncmp(c, "\xe2\x80\x94", 3) == 0) { /* an em dash */
                aw_sbuf_puts(b, "---");
                c += 2;
            } else {
                aw_sbuf_put(b, c, 1);
            }
        }
    }
}

/* Columns a string takes on a terminal (UTF-8 code points). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        w += (*c & 0xc0) != 0x80;
    return w;
}

/* ---- the grid ---- */

void aw_grid_fini(aw_grid_t *g)
{
    for (size_t i = 0; i < g->nrow * (size_t)g->ncol; i++)
        free(g->cells[i].text);
    for (size_t i = 0; i < g->nnotes; i++)
        free(g->notes[i]);
    free(g->cells);
    free(g->notes);
}

/* Appends an empty row and returns its first cell (NULL on OOM). */
aw_cell_t *aw_grid_row(aw_grid_t *g)
{
    if (g->oom)
        return NULL;
    if (g->nrow == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        aw_cell_t *c = realloc(g->cells, cap * (size_t)g->ncol * sizeof *c);
        if (c == NULL) {
            g->oom = 1;
            return NULL;
        }
        g->cells = c;
        g->cap = cap;
    }
    aw_cell_t *r = &g->cells[g->nrow * (size_t)g->ncol];
    memset(r, 0, (size_t)g->ncol * sizeof *r);
    g->nrow++;
    return r;
}

void aw_grid_text(aw_grid_t *g, aw_cell_t *c, const char *s)
{
    if (c == NULL)
        return;
    c->text = strdup(s);
    c->isnum = 0;
    g->oom |= c->text == NULL;
}

/* A number shown with fmt (NaN shows as "—"). */
void aw_grid_num(aw_grid_t *g, aw_cell_t *c, double v, const char *fmt)
{
    if (c == NULL)
        return;
    char buf[64];
    if (isfinite(v))
        snprintf(buf, sizeof buf, fmt, v);
    else
        snprintf(buf, sizeof buf, "\xe2\x80\x94");
    aw_grid_text(g, c, buf);
    c->num = v;
    c->isnum = 1;
}

void aw_grid_note(aw_grid_t *g, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **n = realloc(g->notes, (g->nnotes + 1) * sizeof *n);
    if (n == NULL || (n[g->nnotes] = strdup(buf)) == NULL) {
        if (n != NULL)
            g->notes = n;
        g->oom = 1;
        return;
    }
    g->notes = n;
    g->nnotes++;
}

static void render_md(const aw_grid_t *g, const char *title, aw_sbuf_t *b)
{
    size_t *w = calloc((size_t)g->ncol, sizeof *w);
    if (w == NULL) {
        b->oom = 1;
        return;
    }
    for (int j = 0; j < g->ncol; j++) {
        w[j] = text_width(g->heads[j]);
        if (w[j] < 3)
            w[j] = 3;
        for (size_t i = 0; i < g->nrow; i++) {
            size_t t = text_width(g->cells[i * (size_t)g->ncol + (size_t)j].text);
            if (t > w[j])
                w[j] = t;
        }
    }
    if (title != NULL)
        aw_sbuf_printf(b, "%s\n\n", title);
    for (size_t i = 0; i <= g->nrow + 1; i++) {
        aw_sbuf_puts(b, "|");
        for (int j = 0; j < g->ncol; j++) {
            if (i == 1) {
                aw_sbuf_puts(b, g->align[j] == 'r' ? " " : " :");
                for (size_t k = 1; k < w[j]; k++)
                    aw_sbuf_puts(b, "-");
                aw_sbuf_puts(b, g->align[j] == 'r' ? ": |" : " |");
                continue;
            }
            const char *s = i == 0 ? g->heads[j] : g->cells[(i - 2) * (size_t)g->ncol + (size_t)j].text;
            size_t pad = w[j] - text_width(s);
            aw_sbuf_puts(b, " ");
            if (g->align[j] == 'r')
                for (size_t k = 0; k < pad; k++)
                    aw_sbuf_puts(b, " ");
            aw_sbuf_puts(b, s);
            if (g->align[j] != 'r')
                for (size_t k = 0; k < pad; k++)
                    aw_sbuf_puts(b, " ");
            aw_sbuf_puts(b, " |");
        }
        aw_sbuf_puts(b, "\n");
    }
    if (g->nnotes > 0)
        aw_sbuf_puts(b, "\n");
    for (size_t i = 0; i < g->nnotes; i++)
        aw_sbuf_printf(b, "%s\n", g->notes[i]);
    free(w);
}

static void render_latex(const aw_grid_t *g, const char *title, aw_sbuf_t *b)
{
    aw_sbuf_puts(b, "\\begin{table}[htbp]\n\\centering\n");
    if (title != NULL) {
        aw_sbuf_puts(b, "\\caption{");
        latex_str(b, title);
        aw_sbuf_puts(b, "}\n");
    }
    aw_sbuf_puts(b, "\\begin{tabular}{");
    for (int j = 0; j < g->ncol; j++)
        aw_sbuf_put(b, g->align[j] == 'r' ? "r" : "l", 1);
    aw_sbuf_puts(b, "}\n\\toprule\n");
    for (size_t i = 0; i <= g->nrow; i++) {
        for (int j = 0; j < g->ncol; j++) {
            if (j > 0)
                aw_sbuf_puts(b, " & ");
            latex_str(b, i == 0 ? g->heads[j] : g->cells[(i - 1) * (size_t)g->ncol + (size_t)j].text);
        }
        aw_sbuf_puts(b, i == 0 ? " \\\\\n\\midrule\n" : " \\\\\n");
    }
    aw_sbuf_puts(b, "\\bottomrule\n\\end{tabular}\n");
    if (g->nnotes > 0) {
        aw_sbuf_puts(b, "\\par\\smallskip\n{\\footnotesize\n");
        for (size_t i = 0; i < g->nnotes; i++) {
            latex_str(b, g->notes[i]);
            aw_sbuf_puts(b, "\\par\n");
        }
        aw_sbuf_puts(b, "}\n");
    }
    aw_sbuf_puts(b, "\\end{table}\n");
}

void aw_html_str(aw_sbuf_t *b, const char *text)
{
    for (const char *p = text; *p != '\0'; p++)
        switch (*p) {
        case '&': aw_sbuf_puts(b, "&amp;"); break;
        case '<': aw_sbuf_puts(b, "&lt;"); break;
        case '>': aw_sbuf_puts(b, "&gt;"); break;
        case '"': aw_sbuf_puts(b, "&quot;"); break;
        default: aw_sbuf_put(b, p, 1);
        }
}

/* <h2>title</h2>, a <table> with a header row (the cells' display texts), the notes as paragraphs. */
static void render_html(const aw_grid_t *g, const char *title, aw_sbuf_t *b)
{
    if (title != NULL) {
        aw_sbuf_puts(b, "<h2>");
        aw_html_str(b, title);
        aw_sbuf_puts(b, "</h2>\n");
    }
    aw_sbuf_puts(b, "<div class=\"scroll\"><table>\n<thead><tr>");
    for (int j = 0; j < g->ncol; j++) {
        aw_sbuf_printf(b, "<th class=\"%c\">", g->align[j] == 'r' ? 'r' : 'l');
        aw_html_str(b, g->heads[j]);
        aw_sbuf_puts(b, "</th>");
    }
    aw_sbuf_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < g->nrow; i++) {
        aw_sbuf_puts(b, "<tr>");
        for (int j = 0; j < g->ncol; j++) {
            aw_sbuf_printf(b, "<td class=\"%c\">", g->align[j] == 'r' ? 'r' : 'l');
            aw_html_str(b, g->cells[i * (size_t)g->ncol + (size_t)j].text);
            aw_sbuf_puts(b, "</td>");
        }
        aw_sbuf_puts(b, "</tr>\n");
    }
    aw_sbuf_puts(b, "</tbody></table></div>\n");
    for (size_t i = 0; i < g->nnotes; i++) {
        aw_sbuf_puts(b, "<p class=\"note\">");
        aw_html_str(b, g->notes[i]);
        aw_sbuf_puts(b, "</p>\n");
    }
}

static void render_csv(const aw_grid_t *g, aw_sbuf_t *b)
{
    for (size_t i = 0; i <= g->nrow; i++) {
        for (int j = 0; j < g->ncol; j++) {
            if (j > 0)
                aw_sbuf_puts(b, ",");
            if (i == 0) {
                aw_csv_field(b, g->keys[j]);
                continue;
            }
            const aw_cell_t *c = &g->cells[(i - 1) * (size_t)g->ncol + (size_t)j];
            if (c->isnum)
                aw_csv_num(b, c->num);
            else
                aw_csv_field(b, c->text);
        }
        aw_sbuf_puts(b, "\n");
    }
}

void aw_grid_json_tail(const aw_grid_t *g, int empty, aw_sbuf_t *b)
{
    aw_sbuf_puts(b, empty ? "],\n  \"notes\": [" : "\n  ],\n  \"notes\": [");
    for (size_t i = 0; i < g->nnotes; i++) {
        aw_sbuf_puts(b, i ? ",\n    " : "\n    ");
        aw_json_str(b, g->notes[i]);
    }
    aw_sbuf_puts(b, g->nnotes ? "\n  ]\n}\n" : "]\n}\n");
}

/* {"title": ..., "rows": [{key: value, ...}], "notes": [...]}. */
static void render_json(const aw_grid_t *g, const char *title, aw_sbuf_t *b)
{
    aw_sbuf_puts(b, "{\n  \"title\": ");
    aw_json_str(b, title ? title : "");
    aw_sbuf_puts(b, ",\n  \"rows\": [");
    for (size_t i = 0; i < g->nrow; i++) {
        aw_sbuf_puts(b, i ? ",\n    {" : "\n    {");
        for (int j = 0; j < g->ncol; j++) {
            const aw_cell_t *c = &g->cells[i * (size_t)g->ncol + (size_t)j];
            if (j > 0)
                aw_sbuf_puts(b, ", ");
            aw_json_str(b, g->keys[j]);
            aw_sbuf_puts(b, ": ");
            if (c->isnum)
                aw_json_num(b, c->num);
            else
                aw_json_str(b, c->text);
        }
        aw_sbuf_puts(b, "}");
    }
    aw_grid_json_tail(g, g->nrow == 0, b);
}

int aw_grid_render(const aw_grid_t *g, const char *title, aw_report_format_t fmt, char **out, aw_error_t *err)
{
    aw_sbuf_t b = {0};
    if (g->oom)
        b.oom = 1;
    else if (fmt == AW_FMT_MD)
        render_md(g, title, &b);
    else if (fmt == AW_FMT_LATEX)
        render_latex(g, title, &b);
    else if (fmt == AW_FMT_CSV)
        render_csv(g, &b);
    else if (fmt == AW_FMT_HTML)
        render_html(g, title, &b);
    else
        render_json(g, title, &b);
    return aw_grid_finish(&b, out, err);
}

int aw_report_format_parse(const char *word, aw_report_format_t *fmt, aw_error_t *err)
{
    static const char *const names[] = {"md", "csv", "latex", "json"};
    for (int i = 0; i < 4; i++)
        if (strcmp(word, names[i]) == 0) {
            *fmt = (aw_report_format_t)i;
            return AW_OK;
        }
    return aw_error_set(err, AW_EARG, "unknown format \"%s\" (expected md, csv, latex or json)", word);
}
