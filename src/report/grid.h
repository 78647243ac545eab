/* grid.h: the one table abstraction every aiwae-report listing and table renders through: a grid
 * of cells (text, or a number with its display text) with column keys, headings and alignment, a
 * title and notes, written as Markdown, CSV, LaTeX or JSON.
 *
 * Allocation failures are sticky (g->oom), as in aw_sbuf_t: fill the grid, then render once and
 * let aw_grid_render report AW_ENOMEM. The grid owns its cells' texts and its notes; keys,
 * heads and align are borrowed. */
#ifndef AW_REPORT_GRID_H
#define AW_REPORT_GRID_H

#include <stddef.h>

#include "util/error.h"
#include "util/sbuf.h"

typedef enum aw_report_format {
    AW_FMT_MD = 0, /* Markdown pipe table plus notes: for terminals and READMEs */
    AW_FMT_CSV,    /* comma-separated, header line first (RFC 4180 quoting) */
    AW_FMT_LATEX,  /* a booktabs table environment */
    AW_FMT_JSON,   /* one JSON object */
    AW_FMT_HTML    /* an HTML fragment: heading, table, notes (for aiwae-report --html; not a --format word) */
} aw_report_format_t;

/* "md" | "csv" | "latex" | "json" -> *fmt; AW_EARG naming the word otherwise. */
int aw_report_format_parse(const char *word, aw_report_format_t *fmt, aw_error_t *err);

typedef struct aw_cell {
    char *text; /* what md / latex show (owned) */
    double num; /* the value csv / json write when isnum */
    int isnum;  /* 1: a number (NaN = missing), 0: text */
} aw_cell_t;

/* Zero-initialise and set ncol, keys, heads and align. */
typedef struct aw_grid {
    int ncol;            /* columns */
    const char **keys;   /* [ncol] machine names (csv header, json keys); borrowed */
    const char **heads;  /* [ncol] display headings; borrowed */
    const char *align;   /* [ncol] 'l' or 'r' */
    aw_cell_t *cells;    /* [nrow * ncol] row-major, owned */
    size_t nrow, cap;    /* rows used and allocated */
    char **notes;        /* lines under the table, owned */
    size_t nnotes;       /* number of notes */
    int oom;             /* an allocation failed */
} aw_grid_t;

/* Frees what the grid owns. */
void aw_grid_fini(aw_grid_t *g);

/* Appends an empty row and returns its first cell (NULL on OOM, with g->oom set). */
aw_cell_t *aw_grid_row(aw_grid_t *g);

/* Sets cell c (of g; NULL does nothing) to the text s. */
void aw_grid_text(aw_grid_t *g, aw_cell_t *c, const char *s);

/* Sets cell c to the number v, shown with the printf format fmt (NaN shows as an em dash). */
void aw_grid_num(aw_grid_t *g, aw_cell_t *c, double v, const char *fmt);

/* Appends a note line (printf-formatted, at most 2047 bytes). */
void aw_grid_note(aw_grid_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Renders g with title (md, latex, json; csv has none) into a new string *out that the caller
 * frees. AW_ENOMEM when the grid or the text ran out of memory. */
int aw_grid_render(const aw_grid_t *g, const char *title, aw_report_format_t fmt, char **out, aw_error_t *err);

/* Hands b's text to the caller as *out, or fails with AW_ENOMEM (b->oom). */
int aw_grid_finish(aw_sbuf_t *b, char **out, aw_error_t *err);

/* Ends a JSON object whose last member is an open array (with no elements when empty): closes the
 * array, then writes g's notes as "notes": [...] and the closing brace, as the json format does. */
void aw_grid_json_tail(const aw_grid_t *g, int empty, aw_sbuf_t *b);

/* A CSV field: as it is, or double-quoted with '"' doubled when it holds ',', '"' or a line break. */
void aw_csv_field(aw_sbuf_t *b, const char *s);

/* A CSV number ("%.10g"); nothing (an empty field) when v is not finite. */
void aw_csv_num(aw_sbuf_t *b, double v);

/* Appends text to b with &, <, > and " escaped for HTML. */
void aw_html_str(aw_sbuf_t *b, const char *text);

#endif
