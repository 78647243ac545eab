/* results.c: rendering the paper's tables (results.h): the wide grid of methods by datasets for
 * md and latex, one record per cell for csv and json, and the notes under the table. */
#include "report/results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/sbuf.h"
#include "data/data.h"
#include "methods/plugin.h"
#include "report/results_table.h"

double aw_report_reference(const aw_spec_t *spec)
{
    const aw_method_ops_t *m = spec->method.ops;
    return m->reference != NULL ? m->reference(spec->method.cfg.bytes) : NAN;
}

static void fmt_cell(const aw_res_cell_t *c, int show_n, char *buf, size_t n)
{
    if (c->n == 0) {
        snprintf(buf, n, "\xe2\x80\x94");
        return;
    }
    int w = c->n >= 2 ? snprintf(buf, n, "%.2f \xc2\xb1 %.2f", c->mean, c->sd) : snprintf(buf, n, "%.2f", c->mean);
    if (show_n && w > 0 && (size_t)w < n)
        snprintf(buf + w, n - (size_t)w, " (n=%d)", c->n);
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
static void add_notes(const aw_res_table_t *t, aw_grid_t *g)
{
    const aw_report_query_t *q = t->q;
    if (t->nitems == 0)
        aw_grid_note(g, "No finished %s evaluations on the %s split match.", t->estimator, t->split);
    for (int k = 0; k < t->nskeys; k++) {
        /* "[a] ais_nll {chains: 16, ...}, test split, epoch 3; points evaluated: 100 (MNIST)." */
        char *sk = strdup(t->skeys[k]), *sp, *ep;
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
                aw_sbuf_printf(&pb, " (%s)", aw_dataset_title(t->cols[c]));
        }
        char letter[8] = "";
        if (t->nskeys > 1)
            snprintf(letter, sizeof letter, "[%c] ", 'a' + k % 26);
        if (pb.oom)
            g->oom = 1;
        else
            aw_grid_note(g, "%s%s %s, %s split, epoch %s; points evaluated: %s.", letter, t->estimator, sk, sp, ep, pb.p);
        aw_sbuf_fini(&pb);
        free(sk);
    }
    if (t->nitems > 0) {
        if (t->nmax == 1)
            aw_grid_note(g, "Each cell is one run (no replicates, so no standard deviation).");
        else if (t->nmin == t->nmax)
            aw_grid_note(g, "Each cell: mean \xc2\xb1 standard deviation over %d replicates (runs that differ only in "
                      "repeat or seed).", t->nmax);
        else
            aw_grid_note(g, "Cells: mean \xc2\xb1 standard deviation over the n replicates shown (runs that differ only "
                      "in repeat or seed); one replicate shows its value alone.");
        if (q->epoch < 0)
            aw_grid_note(g, "Each run's newest finished evaluation is used (--epoch N picks one epoch).");
    }
    if (t->running > 0)
        aw_grid_note(g, "%zu unfinished evaluation%s not shown.", t->running, t->running == 1 ? " is" : "s are");
    if (t->skipped_spec > 0)
        aw_grid_note(g, "%zu run%s skipped: the stored spec does not load.", t->skipped_spec,
                  t->skipped_spec == 1 ? "" : "s");
    if (q->reference)
        aw_grid_note(g, "Reference: Burda et al. (2015), IWAE paper Table 1, MNIST, NLL by 5000-sample importance "
                  "sampling after 3280 epochs; \xe2\x80\x94 where the paper has no number.");
}

/* The wide table (md, latex): method rows, dataset columns, the reference column if asked. */
static void fill_grid(const aw_res_table_t *t, aw_grid_t *g, const char **keys, const char **heads, char *align)
{
    int nc = t->ncols;
    keys[0] = "method";
    heads[0] = "Method";
    align[0] = 'l';
    for (int c = 0; c < nc; c++) {
        keys[1 + c] = t->cols[c];
        heads[1 + c] = aw_dataset_title(t->cols[c]);
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
        aw_cell_t *row = aw_grid_row(g);
        if (row == NULL)
            return;
        aw_grid_text(g, &row[0], t->rows[r].label);
        for (int c = 0; c < nc; c++) {
            char buf[96];
            fmt_cell(&t->cells[r * nc + c], t->nmin != t->nmax, buf, sizeof buf);
            aw_grid_text(g, &row[1 + c], buf);
        }
        if (t->q->reference) {
            const aw_spec_t *sp = &t->rows[r].first->spec;
            aw_grid_num(g, &row[g->ncol - 1], aw_report_reference(sp), "%.2f");
        }
    }
}

/* csv and json: one record per non-empty cell, with the numbers at full precision. */
static void render_records(const aw_res_table_t *t, const aw_grid_t *g, const char *title, aw_report_format_t fmt, aw_sbuf_t *b)
{
    const char *table = t->q->table;
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
            const aw_res_cell_t *cv = &t->cells[r * t->ncols + c];
            if (cv->n == 0)
                continue;
            const aw_spec_t *sp = &t->rows[r].first->spec;
            char *sk = strdup(t->skeys[t->rows[r].sid]), *split, *epoch;
            if (sk == NULL) {
                b->oom = 1;
                return;
            }
            split_skey(sk, &split, &epoch);
            const int samples = aw_res_method_int(sp, "samples"), temps = aw_res_method_int(sp, "temperatures"),
                      leapfrog = aw_res_method_int(sp, "leapfrog"), annealed = temps >= 0 && leapfrog >= 0;
            double ref = t->q->reference ? aw_report_reference(sp) : NAN;
            if (fmt == AW_FMT_CSV) {
                aw_sbuf_printf(b, "%s,%s,", table, sp->method.name);
                aw_csv_field(b, t->rows[r].label);
                aw_sbuf_printf(b, ",%d,", samples);
                if (annealed)
                    aw_sbuf_printf(b, "%d,%d", temps, leapfrog);
                else
                    aw_sbuf_puts(b, ",");
                aw_sbuf_printf(b, ",%s,", t->cols[c]);
                aw_csv_num(b, cv->mean);
                aw_sbuf_puts(b, ",");
                aw_csv_num(b, cv->sd);
                aw_sbuf_printf(b, ",%d,%lld,%s,", cv->n, (long long)cv->points, t->estimator);
                aw_csv_field(b, sk);
                aw_sbuf_printf(b, ",%s,%s,", split, epoch);
                aw_csv_num(b, ref);
                aw_sbuf_puts(b, "\n");
            } else {
                aw_sbuf_puts(b, first ? "\n    {\"method\": " : ",\n    {\"method\": ");
                aw_json_str(b, sp->method.name);
                aw_sbuf_puts(b, ", \"label\": ");
                aw_json_str(b, t->rows[r].label);
                aw_sbuf_printf(b, ", \"samples\": %d, \"temperatures\": ", samples);
                if (annealed)
                    aw_sbuf_printf(b, "%d, \"leapfrog\": %d", temps, leapfrog);
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
        aw_grid_json_tail(g, first, b);
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
    const aw_estimator_ops_t *est = aw_estimator_for_table(q->table != NULL ? q->table : "");
    if (est == NULL)
        return aw_error_set(err, AW_EARG, "no estimator fills table %s", q->table != NULL ? q->table : "(none)");
    aw_res_table_t t = {.s = s, .q = q, .estimator = est->name, .split = q->split ? q->split : "test"};
    int rc = aw_res_table_build(&t, err);
    if (rc < 0) {
        aw_res_table_fini(&t);
        return rc;
    }
    char title[256];
    snprintf(title, sizeof title, "%s %s (%s, estimator %s, %s, %s is better)",
             strcmp(t.split, "test") == 0 ? "Test" : strcmp(t.split, "train") == 0 ? "Training" : t.split,
             est->table_title, est->what, est->name, est->unit, est->better);
    aw_grid_t g = {.ncol = 1 + t.ncols + (q->reference ? 1 : 0)};
    const char **keys = calloc((size_t)g.ncol, sizeof *keys), **heads = calloc((size_t)g.ncol, sizeof *heads);
    char *align = calloc((size_t)g.ncol + 1, 1);
    if (keys == NULL || heads == NULL || align == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    } else {
        fill_grid(&t, &g, keys, heads, align);
        add_notes(&t, &g);
        if (fmt == AW_FMT_MD || fmt == AW_FMT_LATEX || fmt == AW_FMT_HTML) {
            rc = aw_grid_render(&g, title, fmt, out, err);
        } else {
            aw_sbuf_t b = {.oom = g.oom};
            render_records(&t, &g, title, fmt, &b);
            rc = aw_grid_finish(&b, out, err);
        }
    }
    aw_grid_fini(&g);
    free(keys);
    free(heads);
    free(align);
    aw_res_table_fini(&t);
    return rc;
}
