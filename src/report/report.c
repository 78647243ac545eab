/* report.c: the paper's NLL / ELBO tables, the run listing and per-epoch metrics, rendered from an
 * in-memory snapshot of the results database as Markdown, CSV, LaTeX or JSON (report.h). */
#include "report/report.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/sbuf.h"
#include "spec/yamltree.h"

/* ---- text buffer ---- */

/* Hands the text to the caller as *out, or fails with AW_ENOMEM. */
static int sb_finish(aw_sbuf_t *b, char **out, aw_error_t *err)
{
    *out = aw_sbuf_finish(b);
    return *out != NULL ? AW_OK : aw_error_set(err, AW_ENOMEM, "out of memory rendering the report");
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- escaping for each format ---- */

static void csv_field(aw_sbuf_t *b, const char *s)
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

static void csv_num(aw_sbuf_t *b, double v)
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

/* ---- a grid of cells with a title and notes, in any format ---- */

typedef struct cell {
    char *text; /* what md / latex show (owned) */
    double num; /* the value csv / json write when isnum */
    int isnum;  /* 1: a number (NaN = missing), 0: text */
} cell_t;

typedef struct grid {
    int ncol;            /* columns */
    const char **keys;   /* [ncol] machine names (csv header, json keys); borrowed */
    const char **heads;  /* [ncol] display headings; borrowed */
    const char *align;   /* [ncol] 'l' or 'r' */
    cell_t *cells;       /* [nrow * ncol] row-major, owned */
    size_t nrow, cap;    /* rows used and allocated */
    char **notes;        /* lines under the table, owned */
    size_t nnotes;       /* number of notes */
    int oom;             /* an allocation failed */
} grid_t;

static void grid_fini(grid_t *g)
{
    for (size_t i = 0; i < g->nrow * (size_t)g->ncol; i++)
        free(g->cells[i].text);
    for (size_t i = 0; i < g->nnotes; i++)
        free(g->notes[i]);
    free(g->cells);
    free(g->notes);
}

/* Appends an empty row and returns its first cell (NULL on OOM). */
static cell_t *grid_row(grid_t *g)
{
    if (g->oom)
        return NULL;
    if (g->nrow == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        cell_t *c = realloc(g->cells, cap * (size_t)g->ncol * sizeof *c);
        if (c == NULL) {
            g->oom = 1;
            return NULL;
        }
        g->cells = c;
        g->cap = cap;
    }
    cell_t *r = &g->cells[g->nrow * (size_t)g->ncol];
    memset(r, 0, (size_t)g->ncol * sizeof *r);
    g->nrow++;
    return r;
}

static void cell_text(grid_t *g, cell_t *c, const char *s)
{
    if (c == NULL)
        return;
    c->text = xstrdup(s);
    c->isnum = 0;
    g->oom |= c->text == NULL;
}

/* A number shown with fmt (NaN shows as "—"). */
static void cell_num(grid_t *g, cell_t *c, double v, const char *fmt)
{
    if (c == NULL)
        return;
    char buf[64];
    if (isfinite(v))
        snprintf(buf, sizeof buf, fmt, v);
    else
        snprintf(buf, sizeof buf, "\xe2\x80\x94");
    cell_text(g, c, buf);
    c->num = v;
    c->isnum = 1;
}

__attribute__((format(printf, 2, 3))) static void grid_note(grid_t *g, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **n = realloc(g->notes, (g->nnotes + 1) * sizeof *n);
    if (n == NULL || (n[g->nnotes] = xstrdup(buf)) == NULL) {
        if (n != NULL)
            g->notes = n;
        g->oom = 1;
        return;
    }
    g->notes = n;
    g->nnotes++;
}

static void render_md(const grid_t *g, const char *title, aw_sbuf_t *b)
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

static void render_latex(const grid_t *g, const char *title, aw_sbuf_t *b)
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

static void render_csv(const grid_t *g, aw_sbuf_t *b)
{
    for (size_t i = 0; i <= g->nrow; i++) {
        for (int j = 0; j < g->ncol; j++) {
            if (j > 0)
                aw_sbuf_puts(b, ",");
            if (i == 0) {
                csv_field(b, g->keys[j]);
                continue;
            }
            const cell_t *c = &g->cells[(i - 1) * (size_t)g->ncol + (size_t)j];
            if (c->isnum)
                csv_num(b, c->num);
            else
                csv_field(b, c->text);
        }
        aw_sbuf_puts(b, "\n");
    }
}

/* {"title": ..., "rows": [{key: value, ...}], "notes": [...]}. */
static void render_json(const grid_t *g, const char *title, aw_sbuf_t *b)
{
    aw_sbuf_puts(b, "{\n  \"title\": ");
    aw_json_str(b, title ? title : "");
    aw_sbuf_puts(b, ",\n  \"rows\": [");
    for (size_t i = 0; i < g->nrow; i++) {
        aw_sbuf_puts(b, i ? ",\n    {" : "\n    {");
        for (int j = 0; j < g->ncol; j++) {
            const cell_t *c = &g->cells[i * (size_t)g->ncol + (size_t)j];
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
    aw_sbuf_puts(b, g->nrow ? "\n  ],\n  \"notes\": [" : "],\n  \"notes\": [");
    for (size_t i = 0; i < g->nnotes; i++) {
        aw_sbuf_puts(b, i ? ",\n    " : "\n    ");
        aw_json_str(b, g->notes[i]);
    }
    aw_sbuf_puts(b, g->nnotes ? "\n  ]\n}\n" : "]\n}\n");
}

static int grid_render(grid_t *g, const char *title, aw_report_format_t fmt, char **out, aw_error_t *err)
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
    else
        render_json(g, title, &b);
    return sb_finish(&b, out, err);
}

/* ---- small helpers ---- */

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

void aw_report_snap_fini(aw_report_snap_t *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        aw_report_run_t *r = &s->runs[i];
        aw_store_run_fini(&r->row);
        if (r->spec_ok)
            aw_spec_fini(&r->spec);
        if (r->has_metrics) {
            free(r->last.accept);
            free(r->last.step);
        }
    }
    free(s->runs);
    aw_store_evals_free(s->evals, s->n_evals);
    memset(s, 0, sizeof *s);
}

static int hex_prefix_match(const char *identity, const char *q)
{
    size_t n = strlen(q);
    if (n == 0 || n > AW_STORE_ID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)q[i]) || tolower((unsigned char)q[i]) != identity[i])
            return 0;
    return 1;
}

/* "1a2b3c4d5e6f name, ..." for up to 12 runs (those with mark[i] set, or all when mark is NULL). */
static void list_runs(aw_sbuf_t *b, const aw_report_snap_t *s, const unsigned char *mark)
{
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        if (mark != NULL && !mark[i])
            continue;
        total++;
        if (shown == 12)
            continue;
        aw_sbuf_printf(b, "%s%.12s %s", shown ? ", " : "", s->runs[i].row.identity, s->runs[i].row.name);
        shown++;
    }
    if (total > shown)
        aw_sbuf_printf(b, " and %zu more", total - shown);
}

int aw_report_find_run(const aw_report_snap_t *s, const char *query, size_t *index, aw_error_t *err)
{
    size_t hits = 0, at = 0;
    /* An exact name wins over identity prefixes. */
    for (size_t i = 0; i < s->n_runs; i++)
        if (strcmp(s->runs[i].row.name, query) == 0)
            hits++, at = i;
    if (hits == 1) {
        *index = at;
        return AW_OK;
    }
    unsigned char *mark = calloc(s->n_runs + 1, 1);
    if (mark == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    hits = 0;
    for (size_t i = 0; i < s->n_runs; i++)
        if (strcmp(s->runs[i].row.name, query) == 0 || hex_prefix_match(s->runs[i].row.identity, query))
            mark[i] = 1, hits++, at = i;
    int rc = AW_OK;
    aw_sbuf_t b = {0};
    if (hits == 1) {
        *index = at;
    } else if (s->n_runs == 0) {
        rc = aw_error_set(err, AW_ENOTFOUND, "no run matches \"%s\": the database has no runs", query);
    } else {
        if (hits == 0) {
            aw_sbuf_printf(&b, "no run matches \"%s\" (a name or a prefix of the identity); runs: ", query);
            list_runs(&b, s, NULL);
        } else {
            aw_sbuf_printf(&b, "\"%s\" matches %zu runs; give more of the identity: ", query, hits);
            list_runs(&b, s, mark);
        }
        rc = aw_error_set(err, AW_ENOTFOUND, "%s", b.oom ? "no unique run matches" : b.p);
    }
    aw_sbuf_fini(&b);
    free(mark);
    return rc;
}

void aw_report_method_label(const aw_spec_t *spec, char *buf, size_t n)
{
    const char *m = spec->method.name;
    const aw_method_cfg_t *c = &spec->method.cfg;
    if (strcmp(m, "vae") == 0)
        snprintf(buf, n, c->samples == 1 ? "VAE" : "VAE K=%d", c->samples);
    else if (strcmp(m, "iwae") == 0)
        snprintf(buf, n, "IWAE K=%d", c->samples);
    else if (strcmp(m, "aiwae") == 0)
        snprintf(buf, n, "AIWAE K=%d T=%d L=%d", c->samples, c->temperatures, c->leapfrog);
    else {
        size_t k = 0;
        for (; m[k] && k + 1 < n && k < 31; k++)
            buf[k] = (char)toupper((unsigned char)m[k]);
        snprintf(buf + k, n - k, " K=%d", c->samples);
    }
}

double aw_report_reference(const char *method, int samples)
{
    /* SPEC section 7: IWAE paper (Burda et al. 2015) Table 1, one stochastic layer of 50, MNIST. */
    if (strcmp(method, "vae") == 0 && samples == 1)
        return 86.76;
    if (strcmp(method, "iwae") == 0) {
        if (samples == 1)
            return 86.76;
        if (samples == 5)
            return 85.54;
        if (samples == 50)
            return 84.78;
    }
    return NAN;
}

static const char *dataset_title(const char *name)
{
    if (strcmp(name, "mnist") == 0)
        return "MNIST";
    if (strcmp(name, "omniglot") == 0)
        return "Omniglot";
    if (strcmp(name, "binarized_mnist") == 0)
        return "Binarized MNIST";
    return name;
}

/* ---- the resolved spec as flat KEY.PATH=VALUE leaves ---- */

typedef struct leaves {
    char **kv;  /* "key.path=value" strings, document order, owned */
    size_t n;   /* number of leaves */
    int oom;    /* an allocation failed */
} leaves_t;

static void leaves_fini(leaves_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->kv[i]);
    free(l->kv);
    memset(l, 0, sizeof *l);
}

static void leaves_add(leaves_t *l, const char *path, const char *value)
{
    char **kv = realloc(l->kv, (l->n + 1) * sizeof *kv);
    if (kv == NULL) {
        l->oom = 1;
        return;
    }
    l->kv = kv;
    size_t n = strlen(path) + strlen(value) + 2;
    if ((kv[l->n] = malloc(n)) == NULL) {
        l->oom = 1;
        return;
    }
    snprintf(kv[l->n], n, "%s=%s", path, value);
    l->n++;
}

/* Sequences of scalars are one leaf "[a, b]"; other collections recurse. */
static void flatten(const aw_ynode_t *n, char *path, size_t cap, leaves_t *l)
{
    size_t len = strlen(path);
    if (n == NULL) {
        leaves_add(l, path, "~");
    } else if (n->kind == AW_YSCALAR) {
        leaves_add(l, path, aw_ynode_is_null(n) ? "~" : n->text);
    } else if (n->kind == AW_YSEQ) {
        int scalars = 1;
        for (int i = 0; i < n->n; i++)
            scalars &= n->vals[i]->kind == AW_YSCALAR;
        if (scalars) {
            aw_sbuf_t b = {0};
            aw_sbuf_puts(&b, "[");
            for (int i = 0; i < n->n; i++)
                aw_sbuf_printf(&b, "%s%s", i ? "," : "", n->vals[i]->text);
            aw_sbuf_puts(&b, "]");
            if (b.oom)
                l->oom = 1;
            else
                leaves_add(l, path, b.p);
            aw_sbuf_fini(&b);
            return;
        }
        for (int i = 0; i < n->n; i++) {
            snprintf(path + len, cap - len, "[%d]", i);
            flatten(n->vals[i], path, cap, l);
        }
    } else {
        for (int i = 0; i < n->n; i++) {
            snprintf(path + len, cap - len, "%s%s", len ? "." : "", n->keys[i]->text);
            flatten(n->vals[i], path, cap, l);
        }
    }
    path[len] = '\0';
}

/* Keys that do not change what a run computes (or are shown elsewhere), left out of row keys. */
static int ignored_key(const char *kv)
{
    static const char *const skip[] = {"name=", "seed=", "repeat=", "evaluate", "train.threads=",
                                       "train.checkpoint_every=", "dataset.name=", "dataset.dir=", NULL};
    for (int i = 0; skip[i]; i++)
        if (strncmp(kv, skip[i], strlen(skip[i])) == 0)
            return 1;
    return 0;
}

static int spec_leaves(const char *yaml, leaves_t *l, aw_error_t *err)
{
    aw_ynode_t *root = NULL;
    int rc = aw_ytree_parse(yaml, strlen(yaml), "run spec", 0, &root, err);
    if (rc < 0)
        return rc;
    char path[1024] = "";
    flatten(root, path, sizeof path, l);
    aw_ynode_free(root);
    if (l->oom)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    return AW_OK;
}

/* ---- --where ---- */

/* Walks key_path through the tree; NULL when absent. */
static const aw_ynode_t *lookup(const aw_ynode_t *n, const char *key_path)
{
    char seg[256];
    const char *p = key_path;
    while (n != NULL && *p) {
        size_t k = 0;
        int index = -1;
        if (*p == '[') {
            p++;
            while (*p && *p != ']' && k + 1 < sizeof seg)
                seg[k++] = *p++;
            if (*p != ']')
                return NULL;
            p++;
            seg[k] = '\0';
            char *end;
            long v = strtol(seg, &end, 10);
            if (*end || k == 0 || v < 0)
                return NULL;
            index = (int)v;
        } else {
            while (*p && *p != '.' && *p != '[' && k + 1 < sizeof seg)
                seg[k++] = *p++;
            seg[k] = '\0';
        }
        if (*p == '.')
            p++;
        if (index < 0 && n->kind == AW_YSEQ) {
            char *end;
            long v = strtol(seg, &end, 10);
            if (*end || k == 0 || v < 0)
                return NULL;
            index = (int)v;
        }
        if (index >= 0) {
            if (n->kind != AW_YSEQ || index >= n->n)
                return NULL;
            n = n->vals[index];
        } else {
            if (n->kind != AW_YMAP)
                return NULL;
            int i = aw_ynode_find(n, seg);
            if (i < 0)
                return NULL;
            n = n->vals[i];
        }
    }
    return n;
}

int aw_report_spec_match(const char *yaml, const char *key_path, const char *value, aw_error_t *err)
{
    aw_ynode_t *root = NULL;
    int rc = aw_ytree_parse(yaml, strlen(yaml), "run spec", 0, &root, err);
    if (rc < 0)
        return rc;
    const aw_ynode_t *n = lookup(root, key_path);
    int res;
    if (n == NULL) {
        res = -1;
    } else if (n->kind == AW_YSEQ) {
        /* A list of scalars matches its flat form: --where model.hidden=[200,200] */
        leaves_t l = {0};
        char path[8] = "";
        flatten(n, path, sizeof path, &l);
        res = !l.oom && l.n == 1 && strcmp(l.kv[0] + 1, value) == 0;
        if (!res && !l.oom && l.n == 1) {
            /* ignore spaces in the value: [200, 200] */
            char compact[256];
            size_t k = 0;
            for (const char *c = value; *c && k + 1 < sizeof compact; c++)
                if (*c != ' ')
                    compact[k++] = *c;
            compact[k] = '\0';
            res = strcmp(l.kv[0] + 1, compact) == 0;
        }
        rc = l.oom ? aw_error_set(err, AW_ENOMEM, "out of memory") : AW_OK;
        leaves_fini(&l);
    } else if (n->kind != AW_YSCALAR) {
        res = 0;
    } else if (aw_ynode_is_null(n)) {
        res = aw_ynode_is_null(&(aw_ynode_t){.kind = AW_YSCALAR, .text = (char *)value, .len = strlen(value)});
    } else if (strcmp(n->text, value) == 0) {
        res = 1;
    } else {
        char *e1, *e2;
        double a = strtod(n->text, &e1), v = strtod(value, &e2);
        res = *n->text && *value && *e1 == '\0' && *e2 == '\0' && a == v;
    }
    aw_ynode_free(root);
    return rc < 0 ? rc : res;
}

/* ---- the results table ---- */

/* One finished evaluation that made it into the table. */
typedef struct item {
    const aw_report_run_t *run;  /* its run */
    const aw_store_eval_t *ev;   /* the evaluation */
    char *rowcfg;                /* the run's leaves that tell rows apart, joined by '\n' (owned) */
    char *skey;                  /* estimator settings without the size, then "|split|epoch" (owned) */
    int64_t points;              /* points evaluated */
    int row;                     /* row index */
    int col;                     /* dataset column */
} item_t;

typedef struct trow {
    const aw_report_run_t *first; /* a run of the row, for its method fields */
    const char *rowcfg;           /* borrowed from an item */
    const char *skey;             /* borrowed from an item */
    int64_t points;               /* -1 unless points split this row */
    int sid;                      /* settings letter index */
    char label[512];              /* what the first column shows */
} trow_t;

/* The settings string without its "size: N" member; N goes to *points. */
static char *strip_size(const char *settings)
{
    char *s = xstrdup(settings);
    if (s == NULL)
        return NULL;
    char *p = strstr(s, "size: ");
    while (p != NULL && p > s && p[-1] != ' ' && p[-1] != '{')
        p = strstr(p + 1, "size: ");
    if (p == NULL)
        return s;
    char *e = p + 6;
    while (*e && *e != ',' && *e != '}')
        e++;
    if (*e == ',') {
        e++;
        while (*e == ' ')
            e++;
    } else if (p > s + 1 && p[-1] == ' ' && p[-2] == ',') {
        p -= 2;
    }
    memmove(p, e, strlen(e) + 1);
    return s;
}

static int method_rank(const char *m)
{
    return strcmp(m, "vae") == 0 ? 0 : strcmp(m, "iwae") == 0 ? 1 : strcmp(m, "aiwae") == 0 ? 2 : 3;
}

/* strcmp, except that runs of digits compare as numbers ("epochs=3" < "epochs=10"). */
static int natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            const char *x = a, *y = b;
            while (*x == '0')
                x++;
            while (*y == '0')
                y++;
            size_t nx = 0, ny = 0;
            while (isdigit((unsigned char)x[nx]))
                nx++;
            while (isdigit((unsigned char)y[ny]))
                ny++;
            if (nx != ny)
                return nx < ny ? -1 : 1;
            int c = strncmp(x, y, nx);
            if (c != 0)
                return c;
            a = x + nx;
            b = y + ny;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (*a != 0) - (*b != 0);
}

static int cmp_rows(const void *a, const void *b)
{
    const trow_t *x = a, *y = b;
    const aw_spec_t *p = &x->first->spec, *q = &y->first->spec;
    int c = method_rank(p->method.name) - method_rank(q->method.name);
    if (c == 0)
        c = strcmp(p->method.name, q->method.name);
    if (c == 0)
        c = p->method.cfg.samples - q->method.cfg.samples;
    if (c == 0)
        c = p->method.cfg.temperatures - q->method.cfg.temperatures;
    if (c == 0)
        c = p->method.cfg.leapfrog - q->method.cfg.leapfrog;
    if (c == 0)
        c = natcmp(x->rowcfg, y->rowcfg);
    if (c == 0)
        c = natcmp(x->skey, y->skey);
    if (c == 0)
        c = (x->points > y->points) - (x->points < y->points);
    return c;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "train.epochs=3, model.latent=20": the leaves of row r that differ among rows with r's label. */
static void distinguish(trow_t *rows, int nrows, int r, char *out, size_t n)
{
    out[0] = '\0';
    size_t used = 0;
    const char *cfg = rows[r].rowcfg;
    for (const char *line = cfg; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        int differs = 0;
        for (int k = 0; k < nrows && !differs; k++) {
            if (k == r || strcmp(rows[k].label, rows[r].label) != 0)
                continue;
            /* differs if row k lacks this exact line */
            const char *o = rows[k].rowcfg;
            int found = 0;
            for (const char *m = o; *m && !found;) {
                const char *me = strchr(m, '\n');
                size_t ml = me ? (size_t)(me - m) : strlen(m);
                found = ml == len && strncmp(m, line, len) == 0;
                m = me ? me + 1 : m + ml;
            }
            differs = !found;
        }
        if (differs && strncmp(line, "method.name=", 12) != 0 && strncmp(line, "method.samples=", 15) != 0 &&
            strncmp(line, "method.temperatures=", 20) != 0 && strncmp(line, "method.leapfrog=", 16) != 0) {
            int w = snprintf(out + used, n - used, "%s%.*s", used ? ", " : "", (int)len, line);
            if (w > 0 && (size_t)w < n - used)
                used += (size_t)w;
        }
        line = end ? end + 1 : line + len;
    }
}

typedef struct cellv {
    double sum, sumsq; /* of the replicate means */
    double mean, sd;   /* results */
    int n;             /* replicates */
    int64_t points;    /* points evaluated (same for all, by construction) */
} cellv_t;

static void fmt_cell(const cellv_t *c, int show_n, char *buf, size_t n)
{
    if (c->n == 0) {
        snprintf(buf, n, "\xe2\x80\x94");
        return;
    }
    int w = c->n >= 2 ? snprintf(buf, n, "%.2f \xc2\xb1 %.2f", c->mean, c->sd) : snprintf(buf, n, "%.2f", c->mean);
    if (show_n && w > 0 && (size_t)w < n)
        snprintf(buf + w, n - (size_t)w, " (n=%d)", c->n);
}

/* The results table under construction. */
typedef struct table {
    const aw_report_snap_t *s;  /* the snapshot (borrowed) */
    const aw_report_query_t *q; /* what was asked (borrowed) */
    const char *estimator;      /* "ais_nll" or "iwae_bound" */
    const char *split;          /* data split */
    item_t *items;              /* [nitems] evaluations in the table (owned) */
    size_t nitems;              /* number of items */
    size_t running;             /* matching evaluations not finished yet */
    size_t skipped_spec;        /* runs whose stored spec does not load */
    const char **cols;          /* [ncols] dataset names (borrowed from the specs) */
    int ncols;                  /* dataset columns */
    char **skeys;               /* [nskeys] distinct settings keys, in letter order (borrowed from items) */
    int nskeys;                 /* settings keys */
    trow_t *rows;               /* [nrows] rows, in display order (owned) */
    int nrows;                  /* rows */
    cellv_t *cells;             /* [nrows * ncols] cell statistics (owned) */
    int nmin, nmax;             /* fewest and most replicates in a non-empty cell */
} table_t;

static void table_fini(table_t *t)
{
    for (size_t i = 0; i < t->nitems; i++) {
        free(t->items[i].rowcfg);
        free(t->items[i].skey);
    }
    free(t->items);
    free(t->cols);
    free(t->skeys);
    free(t->rows);
    free(t->cells);
}

/* Which runs pass --dataset and --where: keep[i] for run i. A --where key that no run has is an error. */
static int filter_runs(table_t *t, unsigned char *keep, aw_error_t *err)
{
    const aw_report_snap_t *s = t->s;
    const aw_report_query_t *q = t->q;
    int seen[AW_REPORT_MAX_FILTERS] = {0};
    for (size_t i = 0; i < s->n_runs; i++) {
        const aw_report_run_t *r = &s->runs[i];
        if (!r->spec_ok) {
            t->skipped_spec++;
            continue;
        }
        int ok = q->n_datasets == 0;
        for (int d = 0; d < q->n_datasets; d++)
            ok |= strcmp(r->spec.dataset.name, q->datasets[d]) == 0;
        for (int w = 0; w < q->n_where && ok; w++) {
            const char *eq = strchr(q->where[w], '=');
            char key[512];
            snprintf(key, sizeof key, "%.*s", (int)(eq - q->where[w]), q->where[w]);
            int m = aw_report_spec_match(r->row.spec, key, eq + 1, err);
            if (m < -1)
                return m;
            seen[w] |= m >= 0;
            ok = m == 1;
        }
        keep[i] = (unsigned char)ok;
    }
    for (int w = 0; w < q->n_where; w++)
        if (!seen[w] && s->n_runs > 0) {
            const char *eq = strchr(q->where[w], '=');
            return aw_error_set(err, AW_ENOTFOUND, "--where %s: no run's resolved spec has the key %.*s", q->where[w],
                                (int)(eq - q->where[w]), q->where[w]);
        }
    return AW_OK;
}

/* 1 if a finished evaluation of the same run, estimator, settings and split has a later epoch. */
static int has_newer(const aw_report_snap_t *s, const aw_store_eval_t *ev)
{
    for (size_t f = 0; f < s->n_evals; f++) {
        const aw_store_eval_t *o = &s->evals[f];
        if (o->finished && o->epoch > ev->epoch && strcmp(o->identity, ev->identity) == 0 &&
            strcmp(o->estimator, ev->estimator) == 0 && strcmp(o->split, ev->split) == 0 &&
            strcmp(o->settings, ev->settings) == 0)
            return 1;
    }
    return 0;
}

/* Fills the item's row configuration (the spec leaves that tell rows apart) and settings key. */
static int item_keys(item_t *it, aw_error_t *err)
{
    leaves_t l = {0};
    int rc = spec_leaves(it->run->row.spec, &l, err);
    if (rc < 0) {
        leaves_fini(&l);
        return rc;
    }
    aw_sbuf_t cb = {0}, kb = {0};
    aw_sbuf_puts(&cb, "");
    for (size_t k = 0; k < l.n; k++)
        if (!ignored_key(l.kv[k]))
            aw_sbuf_printf(&cb, "%s\n", l.kv[k]);
    leaves_fini(&l);
    char *stripped = strip_size(it->ev->settings);
    if (stripped != NULL)
        aw_sbuf_printf(&kb, "%s|%s|%lld", stripped, it->ev->split, (long long)it->ev->epoch);
    free(stripped);
    if (cb.oom || kb.oom || stripped == NULL) {
        aw_sbuf_fini(&cb);
        aw_sbuf_fini(&kb);
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    }
    it->rowcfg = cb.p;
    it->skey = kb.p;
    return AW_OK;
}

/* The finished evaluations of the kept runs with this estimator and split, at the epoch asked
 * for or each run's newest. */
static int select_items(table_t *t, aw_error_t *err)
{
    const aw_report_snap_t *s = t->s;
    unsigned char *keep = calloc(s->n_runs + 1, 1);
    t->items = calloc(s->n_evals + 1, sizeof *t->items);
    if (keep == NULL || t->items == NULL) {
        free(keep);
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    }
    int rc = filter_runs(t, keep, err);
    for (size_t e = 0; e < s->n_evals && rc == AW_OK; e++) {
        const aw_store_eval_t *ev = &s->evals[e];
        if (strcmp(ev->estimator, t->estimator) != 0 || strcmp(ev->split, t->split) != 0)
            continue;
        size_t ri = s->n_runs;
        for (size_t i = 0; i < s->n_runs && ri == s->n_runs; i++)
            if (strcmp(s->runs[i].row.identity, ev->identity) == 0)
                ri = i;
        if (ri == s->n_runs || !keep[ri] || (t->q->epoch >= 0 && ev->epoch != t->q->epoch))
            continue;
        if (!ev->finished) {
            t->running++;
            continue;
        }
        if (t->q->epoch < 0 && has_newer(s, ev))
            continue;
        item_t *it = &t->items[t->nitems++];
        it->run = &s->runs[ri];
        it->ev = ev;
        it->points = ev->n > 0 ? ev->n : ev->n_total;
        rc = item_keys(it, err);
    }
    free(keep);
    return rc;
}

/* Rank of a dataset column: the paper's datasets first, then the rest by name. */
static int col_rank(const char *d)
{
    return strcmp(d, "mnist") == 0 ? 0 : strcmp(d, "omniglot") == 0 ? 1 : 2;
}

static int cmp_cols(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int c = col_rank(x) - col_rank(y);
    return c != 0 ? c : strcmp(x, y);
}

/* Dataset columns and the distinct settings keys. */
static int make_columns(table_t *t, aw_error_t *err)
{
    t->cols = calloc(t->nitems + 1, sizeof *t->cols);
    t->skeys = calloc(t->nitems + 1, sizeof *t->skeys);
    if (t->cols == NULL || t->skeys == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nitems; i++) {
        const char *d = t->items[i].run->spec.dataset.name;
        int found = 0;
        for (int c = 0; c < t->ncols && !found; c++)
            found = strcmp(t->cols[c], d) == 0;
        if (!found)
            t->cols[t->ncols++] = d;
        found = 0;
        for (int k = 0; k < t->nskeys && !found; k++)
            found = strcmp(t->skeys[k], t->items[i].skey) == 0;
        if (!found)
            t->skeys[t->nskeys++] = t->items[i].skey;
    }
    qsort(t->cols, (size_t)t->ncols, sizeof *t->cols, cmp_cols);
    qsort(t->skeys, (size_t)t->nskeys, sizeof *t->skeys, cmp_str);
    for (size_t i = 0; i < t->nitems; i++)
        for (int c = 0; c < t->ncols; c++)
            if (strcmp(t->cols[c], t->items[i].run->spec.dataset.name) == 0)
                t->items[i].col = c;
    return AW_OK;
}

static int same_row_key(const item_t *a, const item_t *b)
{
    return strcmp(a->rowcfg, b->rowcfg) == 0 && strcmp(a->skey, b->skey) == 0;
}

/* Rows are (row configuration, settings); where one of a row's cells would mix evaluations of
 * different point counts, the row is split by points. Then rows are sorted (method, K, T, L,
 * configuration, settings, points) and the items point at their row. */
static int make_rows(table_t *t, aw_error_t *err)
{
    size_t n = t->nitems;
    unsigned char *mixed = calloc(n + 1, 1), *split = calloc(n + 1, 1);
    int *order = malloc((n + 1) * sizeof *order);
    trow_t *sorted = malloc((n + 1) * sizeof *sorted);
    t->rows = calloc(n + 1, sizeof *t->rows);
    int rc = AW_OK;
    if (mixed == NULL || split == NULL || order == NULL || sorted == NULL || t->rows == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n && !mixed[i]; k++)
            mixed[i] = same_row_key(&t->items[k], &t->items[i]) && t->items[k].col == t->items[i].col &&
                       t->items[k].points != t->items[i].points;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n && !split[i]; k++)
            split[i] = mixed[k] && same_row_key(&t->items[k], &t->items[i]);
    for (size_t i = 0; i < n; i++) {
        item_t *it = &t->items[i];
        int64_t pts = split[i] ? it->points : -1;
        int r = 0;
        while (r < t->nrows && !(strcmp(t->rows[r].skey, it->skey) == 0 &&
                                 strcmp(t->rows[r].rowcfg, it->rowcfg) == 0 && t->rows[r].points == pts))
            r++;
        if (r == t->nrows) {
            t->rows[r].first = it->run;
            t->rows[r].rowcfg = it->rowcfg;
            t->rows[r].skey = it->skey;
            t->rows[r].points = pts;
            t->rows[r].sid = r; /* identifies the row while sorting */
            t->nrows++;
        }
        it->row = r;
    }
    memcpy(sorted, t->rows, (size_t)t->nrows * sizeof *sorted);
    qsort(sorted, (size_t)t->nrows, sizeof *sorted, cmp_rows);
    for (int k = 0; k < t->nrows; k++)
        order[sorted[k].sid] = k;
    for (size_t i = 0; i < n; i++)
        t->items[i].row = order[t->items[i].row];
    memcpy(t->rows, sorted, (size_t)t->nrows * sizeof *sorted);
out:
    free(mixed);
    free(split);
    free(order);
    free(sorted);
    return rc;
}

/* Settings letters in the order the rows first use them; labels: the method, what tells rows of
 * the same method apart, the settings letter (when there are several), the points (when split). */
static int label_rows(table_t *t, aw_error_t *err)
{
    int next = 0;
    for (int r = 0; r < t->nrows; r++) {
        int k = 0;
        while (strcmp(t->skeys[k], t->rows[r].skey) != 0)
            k++;
        if (k >= next) {
            char *tmp = t->skeys[k];
            memmove(&t->skeys[next + 1], &t->skeys[next], (size_t)(k - next) * sizeof *t->skeys);
            t->skeys[next++] = tmp;
        }
    }
    for (int r = 0; r < t->nrows; r++) {
        t->rows[r].sid = 0;
        while (strcmp(t->skeys[t->rows[r].sid], t->rows[r].skey) != 0)
            t->rows[r].sid++;
        aw_report_method_label(&t->rows[r].first->spec, t->rows[r].label, sizeof t->rows[r].label);
    }
    char(*extra)[400] = calloc((size_t)t->nrows + 1, sizeof *extra);
    if (extra == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    for (int r = 0; r < t->nrows; r++)
        distinguish(t->rows, t->nrows, r, extra[r], sizeof extra[r]);
    for (int r = 0; r < t->nrows; r++) {
        trow_t *row = &t->rows[r];
        size_t len = strlen(row->label);
        if (extra[r][0] && len < sizeof row->label)
            len += (size_t)snprintf(row->label + len, sizeof row->label - len, " (%s)", extra[r]);
        if (t->nskeys > 1 && len < sizeof row->label)
            len += (size_t)snprintf(row->label + len, sizeof row->label - len, " [%c]", 'a' + row->sid % 26);
        if (row->points >= 0 && len < sizeof row->label)
            snprintf(row->label + len, sizeof row->label - len, " (%lld points)", (long long)row->points);
    }
    free(extra);
    return AW_OK;
}

/* Mean and sample standard deviation over the replicates of each cell. */
static int fill_cells(table_t *t, aw_error_t *err)
{
    int nc = t->ncols;
    t->cells = calloc((size_t)t->nrows * (size_t)nc + 1, sizeof *t->cells);
    if (t->cells == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nitems; i++) {
        cellv_t *c = &t->cells[t->items[i].row * nc + t->items[i].col];
        c->sum += t->items[i].ev->mean;
        c->n++;
        c->points = t->items[i].points;
    }
    for (int k = 0; k < t->nrows * nc; k++) {
        cellv_t *c = &t->cells[k];
        if (c->n == 0)
            continue;
        c->mean = c->sum / c->n;
        t->nmin = t->nmin == 0 || c->n < t->nmin ? c->n : t->nmin;
        t->nmax = c->n > t->nmax ? c->n : t->nmax;
    }
    for (size_t i = 0; i < t->nitems; i++) {
        cellv_t *c = &t->cells[t->items[i].row * nc + t->items[i].col];
        double d = t->items[i].ev->mean - c->mean;
        c->sumsq += d * d;
    }
    for (int k = 0; k < t->nrows * nc; k++)
        t->cells[k].sd = t->cells[k].n >= 2 ? sqrt(t->cells[k].sumsq / (t->cells[k].n - 1)) : NAN;
    return AW_OK;
}

/* Splits a settings key "settings|split|epoch" in place. */
static void split_skey(char *sk, char **split, char **epoch)
{
    char *bar2 = strrchr(sk, '|');
    *bar2 = '\0';
    char *bar1 = strrchr(sk, '|');
    *bar1 = '\0';
    *split = bar1 + 1;
    *epoch = bar2 + 1;
}

/* The lines under the table: estimator settings per letter with the points evaluated,
 * what a cell holds, and what was left out. */
static void add_notes(const table_t *t, grid_t *g)
{
    const aw_report_query_t *q = t->q;
    if (t->nitems == 0)
        grid_note(g, "No finished %s evaluations on the %s split match.", t->estimator, t->split);
    for (int k = 0; k < t->nskeys; k++) {
        /* "[a] ais_nll {chains: 16, ...}, test split, epoch 3; points evaluated: 100 (MNIST)." */
        char *sk = xstrdup(t->skeys[k]), *sp, *ep;
        aw_sbuf_t pb = {0};
        if (sk == NULL) {
            g->oom = 1;
            return;
        }
        split_skey(sk, &sp, &ep);
        aw_sbuf_puts(&pb, "");
        for (int c = 0; c < t->ncols; c++) {
            int64_t seen[16];
            int ns = 0;
            for (size_t i = 0; i < t->nitems; i++) {
                if (t->items[i].col != c || strcmp(t->items[i].skey, t->skeys[k]) != 0)
                    continue;
                int dup = 0;
                for (int m = 0; m < ns; m++)
                    dup |= seen[m] == t->items[i].points;
                if (!dup && ns < 16)
                    seen[ns++] = t->items[i].points;
            }
            for (int m = 0; m < ns; m++)
                aw_sbuf_printf(&pb, "%s%lld", pb.n ? (m ? "/" : "; ") : "", (long long)seen[m]);
            if (ns > 0)
                aw_sbuf_printf(&pb, " (%s)", dataset_title(t->cols[c]));
        }
        char letter[8] = "";
        if (t->nskeys > 1)
            snprintf(letter, sizeof letter, "[%c] ", 'a' + k % 26);
        if (pb.oom)
            g->oom = 1;
        else
            grid_note(g, "%s%s %s, %s split, epoch %s; points evaluated: %s.", letter, t->estimator, sk, sp, ep, pb.p);
        aw_sbuf_fini(&pb);
        free(sk);
    }
    if (t->nitems > 0) {
        if (t->nmax == 1)
            grid_note(g, "Each cell is one run (no replicates, so no standard deviation).");
        else if (t->nmin == t->nmax)
            grid_note(g, "Each cell: mean \xc2\xb1 standard deviation over %d replicates (runs that differ only in "
                      "repeat or seed).", t->nmax);
        else
            grid_note(g, "Cells: mean \xc2\xb1 standard deviation over the n replicates shown (runs that differ only "
                      "in repeat or seed); one replicate shows its value alone.");
        if (q->epoch < 0)
            grid_note(g, "Each run's newest finished evaluation is used (--epoch N picks one epoch).");
    }
    if (t->running > 0)
        grid_note(g, "%zu unfinished evaluation%s not shown.", t->running, t->running == 1 ? " is" : "s are");
    if (t->skipped_spec > 0)
        grid_note(g, "%zu run%s skipped: the stored spec does not load.", t->skipped_spec,
                  t->skipped_spec == 1 ? "" : "s");
    if (q->reference)
        grid_note(g, "Reference: Burda et al. (2015), IWAE paper Table 1, MNIST, NLL by 5000-sample importance "
                  "sampling after 3280 epochs; \xe2\x80\x94 where the paper has no number.");
}

/* The wide table (md, latex): method rows, dataset columns, the reference column if asked. */
static void fill_grid(const table_t *t, grid_t *g, const char **keys, const char **heads, char *align)
{
    int nc = t->ncols;
    keys[0] = "method";
    heads[0] = "Method";
    align[0] = 'l';
    for (int c = 0; c < nc; c++) {
        keys[1 + c] = t->cols[c];
        heads[1 + c] = dataset_title(t->cols[c]);
        align[1 + c] = 'r';
    }
    if (t->q->reference) {
        keys[g->ncol - 1] = "reference";
        heads[g->ncol - 1] = "IWAE paper (MNIST)";
        align[g->ncol - 1] = 'r';
    }
    g->keys = keys;
    g->heads = heads;
    g->align = align;
    for (int r = 0; r < t->nrows; r++) {
        cell_t *row = grid_row(g);
        if (row == NULL)
            return;
        cell_text(g, &row[0], t->rows[r].label);
        for (int c = 0; c < nc; c++) {
            char buf[96];
            fmt_cell(&t->cells[r * nc + c], t->nmin != t->nmax, buf, sizeof buf);
            cell_text(g, &row[1 + c], buf);
        }
        if (t->q->reference) {
            const aw_spec_t *sp = &t->rows[r].first->spec;
            cell_num(g, &row[g->ncol - 1], aw_report_reference(sp->method.name, sp->method.cfg.samples), "%.2f");
        }
    }
}

/* csv and json: one record per non-empty cell, with the numbers at full precision. */
static void render_records(const table_t *t, const grid_t *g, const char *title, aw_report_format_t fmt, aw_sbuf_t *b)
{
    const char *table = t->q->table == AW_TABLE_NLL ? "nll" : "elbo";
    if (fmt == AW_FMT_CSV) {
        aw_sbuf_puts(b, "table,method,label,samples,temperatures,leapfrog,dataset,mean,sd,replicates,points,estimator,"
                   "settings,split,epoch,reference\n");
    } else {
        aw_sbuf_puts(b, "{\n  \"title\": ");
        aw_json_str(b, title);
        aw_sbuf_printf(b, ",\n  \"table\": \"%s\",\n  \"estimator\": \"%s\",\n  \"split\": ", table, t->estimator);
        aw_json_str(b, t->split);
        aw_sbuf_puts(b, ",\n  \"cells\": [");
    }
    int first = 1;
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            const cellv_t *cv = &t->cells[r * t->ncols + c];
            if (cv->n == 0)
                continue;
            const aw_spec_t *sp = &t->rows[r].first->spec;
            char *sk = xstrdup(t->skeys[t->rows[r].sid]), *split, *epoch;
            if (sk == NULL) {
                b->oom = 1;
                return;
            }
            split_skey(sk, &split, &epoch);
            int aiwae = strcmp(sp->method.name, "aiwae") == 0;
            double ref = t->q->reference ? aw_report_reference(sp->method.name, sp->method.cfg.samples) : NAN;
            if (fmt == AW_FMT_CSV) {
                aw_sbuf_printf(b, "%s,%s,", table, sp->method.name);
                csv_field(b, t->rows[r].label);
                aw_sbuf_printf(b, ",%d,", sp->method.cfg.samples);
                if (aiwae)
                    aw_sbuf_printf(b, "%d,%d", sp->method.cfg.temperatures, sp->method.cfg.leapfrog);
                else
                    aw_sbuf_puts(b, ",");
                aw_sbuf_printf(b, ",%s,", t->cols[c]);
                csv_num(b, cv->mean);
                aw_sbuf_puts(b, ",");
                csv_num(b, cv->sd);
                aw_sbuf_printf(b, ",%d,%lld,%s,", cv->n, (long long)cv->points, t->estimator);
                csv_field(b, sk);
                aw_sbuf_printf(b, ",%s,%s,", split, epoch);
                csv_num(b, ref);
                aw_sbuf_puts(b, "\n");
            } else {
                aw_sbuf_puts(b, first ? "\n    {\"method\": " : ",\n    {\"method\": ");
                aw_json_str(b, sp->method.name);
                aw_sbuf_puts(b, ", \"label\": ");
                aw_json_str(b, t->rows[r].label);
                aw_sbuf_printf(b, ", \"samples\": %d, \"temperatures\": ", sp->method.cfg.samples);
                if (aiwae)
                    aw_sbuf_printf(b, "%d, \"leapfrog\": %d", sp->method.cfg.temperatures, sp->method.cfg.leapfrog);
                else
                    aw_sbuf_puts(b, "null, \"leapfrog\": null");
                aw_sbuf_puts(b, ", \"dataset\": ");
                aw_json_str(b, t->cols[c]);
                aw_sbuf_puts(b, ", \"mean\": ");
                aw_json_num(b, cv->mean);
                aw_sbuf_puts(b, ", \"sd\": ");
                aw_json_num(b, cv->sd);
                aw_sbuf_printf(b, ", \"replicates\": %d, \"points\": %lld, \"settings\": ", cv->n,
                               (long long)cv->points);
                aw_json_str(b, sk);
                aw_sbuf_printf(b, ", \"epoch\": %s, \"runs\": [", epoch);
                int fr = 1;
                for (size_t i = 0; i < t->nitems; i++)
                    if (t->items[i].row == r && t->items[i].col == c) {
                        aw_sbuf_printf(b, "%s\"%s\"", fr ? "" : ", ", t->items[i].run->row.identity);
                        fr = 0;
                    }
                aw_sbuf_puts(b, "]");
                if (t->q->reference) {
                    aw_sbuf_puts(b, ", \"reference\": ");
                    aw_json_num(b, ref);
                }
                aw_sbuf_puts(b, "}");
            }
            first = 0;
            free(sk);
        }
    if (fmt == AW_FMT_JSON) {
        aw_sbuf_puts(b, first ? "],\n  \"notes\": [" : "\n  ],\n  \"notes\": [");
        for (size_t i = 0; i < g->nnotes; i++) {
            aw_sbuf_puts(b, i ? ",\n    " : "\n    ");
            aw_json_str(b, g->notes[i]);
        }
        aw_sbuf_puts(b, g->nnotes ? "\n  ]\n}\n" : "]\n}\n");
    }
}

int aw_report_results(const aw_report_snap_t *s, const aw_report_query_t *q, aw_report_format_t fmt, char **out,
                      aw_error_t *err)
{
    *out = NULL;
    for (int w = 0; w < q->n_where; w++) {
        const char *eq = strchr(q->where[w], '=');
        if (eq == NULL || eq == q->where[w])
            return aw_error_set(err, AW_EARG, "--where %s: expected KEY.PATH=VALUE", q->where[w]);
    }
    if (q->n_where > AW_REPORT_MAX_FILTERS || q->n_datasets > AW_REPORT_MAX_FILTERS)
        return aw_error_set(err, AW_EARG, "at most %d --where and --dataset filters", AW_REPORT_MAX_FILTERS);
    table_t t = {.s = s, .q = q, .estimator = q->table == AW_TABLE_NLL ? "ais_nll" : "iwae_bound",
                 .split = q->split ? q->split : "test"};
    int rc = select_items(&t, err);
    if (rc == AW_OK)
        rc = make_columns(&t, err);
    if (rc == AW_OK)
        rc = make_rows(&t, err);
    if (rc == AW_OK)
        rc = label_rows(&t, err);
    if (rc == AW_OK)
        rc = fill_cells(&t, err);
    if (rc < 0) {
        table_fini(&t);
        return rc;
    }
    char title[256];
    snprintf(title, sizeof title, "%s %s (%s, nats, lower is better)",
             strcmp(t.split, "test") == 0 ? "Test" : strcmp(t.split, "train") == 0 ? "Training" : t.split,
             q->table == AW_TABLE_NLL ? "NLL" : "ELBO",
             q->table == AW_TABLE_NLL ? "-log p(x) by annealed importance sampling, estimator ais_nll"
                                      : "the importance-weighted bound -log mean_s w_s, estimator iwae_bound");
    grid_t g = {.ncol = 1 + t.ncols + (q->reference ? 1 : 0)};
    const char **keys = calloc((size_t)g.ncol, sizeof *keys), **heads = calloc((size_t)g.ncol, sizeof *heads);
    char *align = calloc((size_t)g.ncol + 1, 1);
    if (keys == NULL || heads == NULL || align == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    } else {
        fill_grid(&t, &g, keys, heads, align);
        add_notes(&t, &g);
        if (fmt == AW_FMT_MD || fmt == AW_FMT_LATEX) {
            rc = grid_render(&g, title, fmt, out, err);
        } else {
            aw_sbuf_t b = {.oom = g.oom};
            render_records(&t, &g, title, fmt, &b);
            rc = sb_finish(&b, out, err);
        }
    }
    grid_fini(&g);
    free(keys);
    free(heads);
    free(align);
    table_fini(&t);
    return rc;
}

/* ---- listings ---- */

/* Durations for people: 0.4s, 42s, 3m05s, 2h07m, 3d04h. */
static void fmt_duration(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "\xe2\x80\x94");
    else if (s < 10)
        snprintf(buf, n, "%.1fs", s);
    else if (s < 60)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else if (s < 86400)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s, 3600) / 60);
    else
        snprintf(buf, n, "%dd%02dh", (int)(s / 86400), (int)fmod(s, 86400) / 3600);
}

int aw_report_runs(const aw_report_snap_t *s, aw_report_format_t fmt, char **out, aw_error_t *err)
{
    static const char *keys[] = {"identity", "name", "status", "epoch", "epochs", "bound", "points_per_s", "updated",
                                 "eta_s"};
    static const char *heads[] = {"Run", "Name", "Status", "Epoch", "of", "Train bound", "Points/s", "Updated",
                                  "ETA"};
    grid_t g = {.ncol = 9, .keys = keys, .heads = heads, .align = "lllrrrrlr"};
    int running = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        const aw_report_run_t *r = &s->runs[i];
        cell_t *row = grid_row(&g);
        if (row == NULL)
            break;
        char buf[64];
        snprintf(buf, sizeof buf, "%.12s", r->row.identity);
        if (fmt == AW_FMT_CSV || fmt == AW_FMT_JSON)
            cell_text(&g, &row[0], r->row.identity);
        else
            cell_text(&g, &row[0], buf);
        cell_text(&g, &row[1], r->row.name);
        cell_text(&g, &row[2], aw_run_status_name(r->row.status));
        cell_num(&g, &row[3], (double)r->row.epoch, "%.0f");
        cell_num(&g, &row[4], (double)r->row.epochs_total, "%.0f");
        cell_num(&g, &row[5], r->has_metrics ? r->last.bound : NAN, "%.2f");
        cell_num(&g, &row[6], r->has_metrics ? r->last.points_per_s : NAN, "%.0f");
        /* "2024-05-01T12:00:00.000Z" -> "2024-05-01 12:00:00" (UTC) */
        snprintf(buf, sizeof buf, "%.19s", r->row.updated ? r->row.updated : "");
        if (strlen(buf) == 19 && buf[10] == 'T')
            buf[10] = ' ';
        cell_text(&g, &row[7], buf);
        double eta = NAN;
        if (r->row.status == AW_RUN_RUNNING) {
            running++;
            if (isfinite(r->recent_epoch_s) && r->row.epoch < r->row.epochs_total)
                eta = r->recent_epoch_s * (double)(r->row.epochs_total - r->row.epoch);
        }
        if (r->row.status == AW_RUN_RUNNING && r->row.epoch >= r->row.epochs_total)
            snprintf(buf, sizeof buf, "evaluating"); /* training is done; the final evaluations run */
        else
            fmt_duration(eta, buf, sizeof buf);
        cell_text(&g, &row[8], buf);
        row[8].num = eta;
        row[8].isnum = 1;
    }
    if (s->n_runs == 0)
        grid_note(&g, "The database has no runs yet.");
    if (running > 0)
        grid_note(&g, "Times are UTC. ETA: remaining epochs at the mean time of the last (up to 5) epochs; a run "
                  "marked running whose update is old may have died (run aiwae-run again to resume it).");
    else if (s->n_runs > 0)
        grid_note(&g, "Times are UTC.");
    int rc = grid_render(&g, "Runs", fmt, out, err);
    grid_fini(&g);
    return rc;
}

int aw_report_metrics(const aw_report_snap_t *s, const aw_report_run_t *r, const aw_store_metrics_t *rows, size_t n,
                      aw_report_format_t fmt, char **out, aw_error_t *err)
{
    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        nt = rows[i].n_temps > nt ? rows[i].n_temps : nt;
    /* Per-temperature columns in every format, up to 16 temperatures; beyond that md / latex summarize. */
    int wide = nt <= 16 || fmt == AW_FMT_CSV || fmt == AW_FMT_JSON;
    int ncol = 7 + (nt == 0 ? 0 : wide ? 2 * (int)nt : 4);
    const char **keys = calloc((size_t)ncol, sizeof *keys);
    const char **heads = calloc((size_t)ncol, sizeof *heads);
    char *align = malloc((size_t)ncol + 1);
    char (*names)[2][32] = calloc(nt + 1, sizeof *names);
    char (*hnames)[2][32] = calloc(nt + 1, sizeof *hnames);
    int rc = AW_OK;
    if (keys == NULL || heads == NULL || align == NULL || names == NULL || hnames == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
        goto out;
    }
    static const char *k0[] = {"epoch", "loss", "bound", "lr", "seconds", "points_per_s", "epoch_time"};
    static const char *h0[] = {"Epoch", "Loss", "Bound", "LR", "Seconds", "Points/s", "Time"};
    for (int j = 0; j < 7; j++) {
        keys[j] = k0[j];
        heads[j] = h0[j];
        align[j] = 'r';
    }
    /* "Time" is the formatted epoch time; csv / json keep only seconds. */
    int ncore = 7;
    if (fmt == AW_FMT_CSV || fmt == AW_FMT_JSON) {
        ncore = 6;
        ncol--;
    } else {
        keys[4] = k0[6];
        heads[4] = h0[6];
        keys[6] = k0[4];
        heads[6] = h0[4];
        ncore = 6;
        ncol--;
    }
    if (nt > 0 && wide) {
        for (size_t t = 0; t < nt; t++) {
            snprintf(names[t][0], sizeof names[t][0], "accept_%zu", t + 1);
            snprintf(names[t][1], sizeof names[t][1], "step_%zu", t + 1);
            snprintf(hnames[t][0], sizeof hnames[t][0], "acc t=%zu", t + 1);
            snprintf(hnames[t][1], sizeof hnames[t][1], "step t=%zu", t + 1);
            keys[ncore + (int)t] = names[t][0];
            heads[ncore + (int)t] = hnames[t][0];
            keys[ncore + (int)(nt + t)] = names[t][1];
            heads[ncore + (int)(nt + t)] = hnames[t][1];
        }
    } else if (nt > 0) {
        static const char *ks[] = {"accept_min", "accept_max", "step_min", "step_max"};
        static const char *hs[] = {"acc min", "acc max", "step min", "step max"};
        for (int j = 0; j < 4; j++) {
            keys[ncore + j] = ks[j];
            heads[ncore + j] = hs[j];
        }
    }
    for (int j = ncore; j < ncol; j++)
        align[j] = 'r';
    align[ncol] = '\0';
    grid_t g = {.ncol = ncol, .keys = keys, .heads = heads, .align = align};
    for (size_t i = 0; i < n; i++) {
        const aw_store_metrics_t *m = &rows[i];
        cell_t *row = grid_row(&g);
        if (row == NULL)
            break;
        cell_num(&g, &row[0], (double)m->epoch, "%.0f");
        cell_num(&g, &row[1], m->loss, "%.4f");
        cell_num(&g, &row[2], m->bound, "%.4f");
        cell_num(&g, &row[3], m->lr, "%.3g");
        if (fmt == AW_FMT_CSV || fmt == AW_FMT_JSON) {
            cell_num(&g, &row[4], m->seconds, "%.3f");
        } else {
            char buf[32];
            fmt_duration(m->seconds, buf, sizeof buf);
            cell_text(&g, &row[4], buf);
        }
        cell_num(&g, &row[5], m->points_per_s, "%.0f");
        if (nt > 0 && wide) {
            for (size_t t = 0; t < nt; t++) {
                cell_num(&g, &row[ncore + (int)t], t < m->n_temps ? m->accept[t] : NAN, "%.3f");
                cell_num(&g, &row[ncore + (int)(nt + t)], t < m->n_temps ? m->step[t] : NAN, "%.4f");
            }
        } else if (nt > 0) {
            double amin = INFINITY, amax = -INFINITY, smin = INFINITY, smax = -INFINITY;
            for (size_t t = 0; t < m->n_temps; t++) {
                amin = fmin(amin, m->accept[t]);
                amax = fmax(amax, m->accept[t]);
                smin = fmin(smin, m->step[t]);
                smax = fmax(smax, m->step[t]);
            }
            cell_num(&g, &row[ncore], amin, "%.3f");
            cell_num(&g, &row[ncore + 1], amax, "%.3f");
            cell_num(&g, &row[ncore + 2], smin, "%.4f");
            cell_num(&g, &row[ncore + 3], smax, "%.4f");
        }
    }
    char title[512];
    snprintf(title, sizeof title, "Metrics of %s (%.12s), %s, epoch %lld of %lld", r->row.name, r->row.identity,
             aw_run_status_name(r->row.status), (long long)r->row.epoch, (long long)r->row.epochs_total);
    if (n == 0)
        grid_note(&g, "No epoch has finished yet.");
    if (nt > 0)
        grid_note(&g, "acc t / step t: HMC acceptance rate over the epoch and step size at its end, at temperature "
                  "index t = 1..%zu.", nt);
    for (size_t e = 0; e < s->n_evals; e++) {
        const aw_store_eval_t *ev = &s->evals[e];
        if (strcmp(ev->identity, r->row.identity) != 0)
            continue;
        if (ev->finished)
            grid_note(&g, "%s on %lld %s points at epoch %lld: %.4f \xc2\xb1 %.4f nats (standard error); %s",
                      ev->estimator, (long long)ev->n, ev->split, (long long)ev->epoch, ev->mean, ev->se,
                      ev->settings);
        else
            grid_note(&g, "%s at epoch %lld: running, %lld of %lld %s points done; %s", ev->estimator,
                      (long long)ev->epoch, (long long)ev->n_done, (long long)ev->n_total, ev->split, ev->settings);
    }
    if (r->row.message != NULL && r->row.message[0])
        grid_note(&g, "Status message: %s", r->row.message);
    rc = grid_render(&g, title, fmt, out, err);
    grid_fini(&g);
out:
    free(keys);
    free(heads);
    free(align);
    free(names);
    free(hnames);
    return rc;
}
