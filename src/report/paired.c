/* paired.c: point-by-point comparisons of evaluations that share points (paired.h). */
#include "report/paired.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/plugin.h"
#include "report/results_table.h"

/* The normal quantile of a two-sided 95% interval. */
#define Z95 1.959963984540054

/* Loads an evaluation's stored values: values[n_total] and have[n_total]. */
static int load_points(aw_store_t *store, const aw_store_eval_t *e, double **values, uint8_t **have,
                       aw_error_t *err)
{
    *values = malloc(sizeof(double) * (size_t)(e->n_total + 1));
    *have = calloc((size_t)e->n_total + 1, 1);
    if (*values == NULL || *have == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory for %lld points", (long long)e->n_total);
    aw_store_eval_key_t key = {e->identity, e->estimator, e->settings, e->split, e->epoch};
    return aw_store_eval_points(store, &key, e->n_total, *values, *have, err);
}

int aw_report_pair(aw_store_t *store, const aw_store_eval_t *a, const aw_store_eval_t *b, aw_paired_t *out,
                   aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->diff = out->se = out->lo = out->hi = out->mean_a = out->mean_b = NAN;
    double *va = NULL, *vb = NULL;
    uint8_t *ha = NULL, *hb = NULL;
    int rc = load_points(store, a, &va, &ha, err);
    if (rc == AW_OK)
        rc = load_points(store, b, &vb, &hb, err);
    const int64_t n = a->n_total < b->n_total ? a->n_total : b->n_total;
    double sa = 0, sb = 0, sd = 0, sdd = 0;
    int64_t k = 0;
    for (int64_t i = 0; rc == AW_OK && i < n; i++) {
        if (!ha[i] || !hb[i])
            continue;
        double d = vb[i] - va[i];
        sa += va[i], sb += vb[i], sd += d, sdd += d * d;
        k++;
    }
    if (rc == AW_OK && k == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "the two evaluations share no point");
    if (rc == AW_OK) {
        out->n = k;
        out->mean_a = sa / (double)k;
        out->mean_b = sb / (double)k;
        out->diff = sd / (double)k;
        double var = k > 1 ? (sdd - sd * sd / (double)k) / (double)(k - 1) : NAN;
        out->se = k > 1 ? sqrt(var > 0 ? var : 0) / sqrt((double)k) : NAN;
        out->lo = out->diff - Z95 * out->se;
        out->hi = out->diff + Z95 * out->se;
    }
    free(va);
    free(vb);
    free(ha);
    free(hb);
    return rc;
}

/* The finished evaluations of run identity id with estimator and split, into list[*n] (borrowed). */
static size_t evals_of(const aw_report_snap_t *s, const char *id, const char *estimator, const char *split,
                       int64_t epoch, const aw_store_eval_t **list)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_evals; i++) {
        const aw_store_eval_t *e = &s->evals[i];
        if (e->finished && strcmp(e->identity, id) == 0 && strcmp(e->estimator, estimator) == 0 &&
            strcmp(e->split, split) == 0 && (epoch < 0 || e->epoch == epoch))
            list[n++] = e;
    }
    return n;
}

/* The newest epoch among list[n] with these settings, or NULL. */
static const aw_store_eval_t *newest(const aw_store_eval_t *const *list, size_t n, const char *settings)
{
    const aw_store_eval_t *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->settings, settings) == 0 && (best == NULL || list[i]->epoch > best->epoch))
            best = list[i];
    return best;
}

static const char *COMPARE_KEYS[] = {"settings", "epoch_a", "epoch_b", "points", "mean_a", "mean_b", "diff",
                                           "se", "ci_low", "ci_high"};
static const char *COMPARE_HEADS[] = {"Settings", "Epoch A", "Epoch B", "Points", "Mean A", "Mean B",
                                            "B - A", "SE", "95% low", "95% high"};

/* The end of the top-level item of flow map text starting at i (the next comma outside brackets, or the
 * closing brace). */
static size_t item_end(const char *t, size_t i, size_t len)
{
    int depth = 0;
    for (; i + 1 < len && (depth > 0 || t[i] != ','); i++)
        depth += t[i] == '{' || t[i] == '[' ? 1 : t[i] == '}' || t[i] == ']' ? -1 : 0;
    return i;
}

/* 1 if flow map b has the top-level item a[i, i + n). */
static int has_item(const char *b, const char *item, size_t n)
{
    const size_t lb = strlen(b);
    for (size_t i = 1; i + 1 < lb;) {
        const size_t j = item_end(b, i, lb);
        if (j - i == n && strncmp(b + i, item, n) == 0)
            return 1;
        for (i = j + 1; i < lb && b[i] == ' '; i++) {
        }
    }
    return 0;
}

/* The top-level items ("key: value") of flow map a that b lacks, joined by ", ", into out[n]. */
static void items_not_in(const char *a, const char *b, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    const size_t la = strlen(a);
    for (size_t i = 1; i + 1 < la;) { /* inside the outer braces */
        const size_t j = item_end(a, i, la);
        if (!has_item(b, a + i, j - i) && o < n) {
            int w = snprintf(out + o, n - o, "%s%.*s", o ? ", " : "", (int)(j - i), a + i);
            o += w > 0 ? (size_t)w : 0;
        }
        for (i = j + 1; i < la && a[i] == ' '; i++) {
        }
    }
    if (o == 0)
        snprintf(out, n, "(the same)");
}

/* The columns both comparison tables end with, from c: the two epochs, then p's points, means, difference,
 * standard error and interval. */
static void put_pair(aw_grid_t *g, aw_cell_t *c, int64_t epoch_a, int64_t epoch_b, const aw_paired_t *p)
{
    aw_grid_num(g, &c[0], (double)epoch_a, "%.0f");
    aw_grid_num(g, &c[1], (double)epoch_b, "%.0f");
    aw_grid_num(g, &c[2], (double)p->n, "%.0f");
    aw_grid_num(g, &c[3], p->mean_a, "%.3f");
    aw_grid_num(g, &c[4], p->mean_b, "%.3f");
    aw_grid_num(g, &c[5], p->diff, "%.3f");
    aw_grid_num(g, &c[6], p->se, "%.3f");
    aw_grid_num(g, &c[7], p->lo, "%.3f");
    aw_grid_num(g, &c[8], p->hi, "%.3f");
}

static const char *WITHIN_KEYS[] = {"settings_a", "settings_b", "epoch_a", "epoch_b", "points", "mean_a",
                                    "mean_b", "diff", "se", "ci_low", "ci_high"};
static const char *WITHIN_HEADS[] = {"A's settings", "B's settings", "Epoch A", "Epoch B", "Points", "Mean A",
                                     "Mean B", "B - A", "SE", "95% low", "95% high"};

/* --compare RUN RUN: the run's evaluations of est with different settings, each pair (at each settings'
 * newest epoch) paired point by point; the settings columns give what differs. */
static int compare_within(aw_store_t *store, const aw_report_run_t *A, const aw_store_eval_t *const *l, size_t n,
                          const aw_estimator_ops_t *est, const char *split, aw_report_format_t fmt, char **out,
                          aw_error_t *err)
{
    aw_grid_t g = {.ncol = 11, .keys = WITHIN_KEYS, .heads = WITHIN_HEADS, .align = "llrrrrrrrrr"};
    int rc = AW_OK, rows = 0;
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        if (newest(l, n, l[i]->settings) != l[i])
            continue;
        for (size_t j = i + 1; j < n && rc == AW_OK; j++) {
            if (newest(l, n, l[j]->settings) != l[j] || strcmp(l[i]->settings, l[j]->settings) == 0)
                continue;
            aw_paired_t p;
            if ((rc = aw_report_pair(store, l[i], l[j], &p, err)) == AW_ENOTFOUND) {
                aw_error_clear(err); /* no points in common: no row */
                rc = AW_OK;
                continue;
            }
            aw_cell_t *row = rc == AW_OK ? aw_grid_row(&g) : NULL;
            if (row == NULL)
                break;
            char da[512], db[512];
            items_not_in(l[i]->settings, l[j]->settings, da, sizeof da);
            items_not_in(l[j]->settings, l[i]->settings, db, sizeof db);
            aw_grid_text(&g, &row[0], da);
            aw_grid_text(&g, &row[1], db);
            put_pair(&g, row + 2, l[i]->epoch, l[j]->epoch, &p);
            rows++;
        }
    }
    if (rc == AW_OK && rows == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "run %s has no two finished %s evaluations with different settings "
                          "that share points on the %s split", A->row.name, est->name, split);
    if (rc == AW_OK) {
        aw_grid_note(&g, "Evaluations of one run, %s (%.12s), with different settings (the columns give the items "
                     "that differ), paired point by point on the points both have: B - A is the mean per-point "
                     "difference, SE its standard error, the interval mean +- 1.96 SE.", A->row.name,
                     A->row.identity);
        char title[256];
        snprintf(title, sizeof title, "Paired %s within one run (%s, %s split, %s): B - A", est->table_title,
                 est->name, split, est->unit);
        rc = aw_grid_render(&g, title, fmt, out, err);
    }
    aw_grid_fini(&g);
    return rc;
}

int aw_report_compare(aw_store_t *store, const aw_report_snap_t *s, size_t ia, size_t ib,
                      const aw_report_query_t *q, aw_report_format_t fmt, char **out, aw_error_t *err)
{
    *out = NULL;
    const aw_estimator_ops_t *est = aw_estimator_for_table(q->table != NULL ? q->table : "nll");
    if (est == NULL)
        return aw_error_set(err, AW_EARG, "no estimator fills table %s", q->table);
    if (est->n_values != NULL)
        return aw_error_set(err, AW_EARG, "--compare pairs per-point values; %s's values are not per point",
                            est->name);
    const char *split = q->split != NULL ? q->split : "test";
    const aw_report_run_t *A = &s->runs[ia], *B = &s->runs[ib];
    const aw_store_eval_t **la = calloc(s->n_evals + 1, sizeof *la), **lb = calloc(s->n_evals + 1, sizeof *lb);
    if (la == NULL || lb == NULL) {
        free(la);
        free(lb);
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    }
    size_t na = evals_of(s, A->row.identity, est->name, split, q->epoch, la);
    size_t nb = evals_of(s, B->row.identity, est->name, split, q->epoch, lb);
    if (ia == ib) {
        int rc = compare_within(store, A, la, na, est, split, fmt, out, err);
        free(la);
        free(lb);
        return rc;
    }
    aw_grid_t g = {.ncol = 10, .keys = COMPARE_KEYS, .heads = COMPARE_HEADS, .align = "lrrrrrrrrr"};
    int rc = AW_OK, rows = 0;
    for (size_t i = 0; i < na && rc == AW_OK; i++) {
        const aw_store_eval_t *ea = newest(la, na, la[i]->settings), *eb = newest(lb, nb, la[i]->settings);
        if (ea != la[i] || eb == NULL)
            continue; /* one row per settings both runs have, at each run's newest epoch */
        aw_paired_t p;
        if ((rc = aw_report_pair(store, ea, eb, &p, err)) < 0)
            break;
        aw_cell_t *row = aw_grid_row(&g);
        if (row == NULL)
            break;
        aw_grid_text(&g, &row[0], ea->settings);
        put_pair(&g, row + 1, ea->epoch, eb->epoch, &p);
        rows++;
    }
    free(la);
    free(lb);
    if (rc == AW_OK && rows == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "runs %s and %s have no finished %s evaluation with the same settings "
                          "on the %s split", A->row.name, B->row.name, est->name, split);
    if (rc == AW_OK) {
        aw_grid_note(&g, "A = %s (%.12s), B = %s (%.12s). Each row pairs the two runs' values point by point (the "
                     "points both have): B - A is the mean per-point difference, SE its standard error, the "
                     "interval mean +- 1.96 SE.", A->row.name, A->row.identity, B->row.name, B->row.identity);
        char title[256];
        snprintf(title, sizeof title, "Paired %s (%s, %s split, %s): B - A", est->table_title, est->name, split,
                 est->unit);
        rc = aw_grid_render(&g, title, fmt, out, err);
    }
    aw_grid_fini(&g);
    return rc;
}

/* ---- the baseline block under a results table ---- */

static const char *BASE_KEYS[] = {"method", "dataset", "pairs", "points", "diff", "se", "ci_low", "ci_high"};
static const char *BASE_HEADS[] = {"Method", "Dataset", "Pairs", "Points", "Row - baseline", "SE",
                                         "95% low", "95% high"};

/* Row r's paired difference against row b in column c: replicates matched by repeat and seed, the mean over
 * pairs of each pair's mean per-point difference, with the standard error over pairs (over points when
 * there is one pair). */
static int row_vs_base(aw_store_t *store, const aw_res_table_t *t, int r, int b, int c, aw_grid_t *g,
                       aw_error_t *err)
{
    double sum = 0, sumsq = 0, one_se = NAN;
    int pairs = 0;
    int64_t points = 0;
    for (size_t i = 0; i < t->nitems; i++) {
        const aw_res_item_t *x = &t->items[i];
        if (x->row != r || x->col != c)
            continue;
        for (size_t j = 0; j < t->nitems; j++) {
            const aw_res_item_t *y = &t->items[j];
            if (y->row != b || y->col != c || y->run->spec.repeat != x->run->spec.repeat ||
                y->run->spec.seed != x->run->spec.seed)
                continue;
            aw_paired_t p;
            int rc = aw_report_pair(store, y->ev, x->ev, &p, err);
            if (rc == AW_ENOTFOUND) {
                aw_error_clear(err);
                continue;
            }
            if (rc < 0)
                return rc;
            sum += p.diff, sumsq += p.diff * p.diff, one_se = p.se;
            points = p.n;
            pairs++;
        }
    }
    if (pairs == 0)
        return AW_OK;
    double mean = sum / pairs;
    double se = pairs > 1 ? sqrt(fmax(0, (sumsq - sum * sum / pairs) / (pairs - 1)) / pairs) : one_se;
    aw_cell_t *row = aw_grid_row(g);
    if (row == NULL)
        return AW_OK;
    aw_grid_text(g, &row[0], t->rows[r].label);
    aw_grid_text(g, &row[1], t->cols[c]);
    aw_grid_num(g, &row[2], pairs, "%.0f");
    aw_grid_num(g, &row[3], (double)points, "%.0f");
    aw_grid_num(g, &row[4], mean, "%.3f");
    aw_grid_num(g, &row[5], se, "%.3f");
    aw_grid_num(g, &row[6], mean - Z95 * se, "%.3f");
    aw_grid_num(g, &row[7], mean + Z95 * se, "%.3f");
    return AW_OK;
}

int aw_report_baseline(aw_store_t *store, const aw_report_snap_t *s, const aw_report_query_t *q,
                       const char *baseline, aw_report_format_t fmt, char **out, aw_error_t *err)
{
    *out = NULL;
    const aw_estimator_ops_t *est = aw_estimator_for_table(q->table != NULL ? q->table : "nll");
    if (est == NULL)
        return aw_error_set(err, AW_EARG, "no estimator fills table %s", q->table);
    if (est->n_values != NULL)
        return aw_error_set(err, AW_EARG, "--baseline pairs per-point values; %s's values are not per point",
                            est->name);
    aw_res_table_t t = {.s = s, .q = q, .estimator = est->name, .split = q->split ? q->split : "test"};
    int rc = aw_res_table_build(&t, err);
    int b = -1;
    for (int r = 0; rc == AW_OK && r < t.nrows; r++)
        if (strcmp(t.rows[r].label, baseline) == 0)
            b = r;
    if (rc == AW_OK && b < 0) {
        char rows[1024] = "";
        size_t o = 0;
        for (int r = 0; r < t.nrows && o < sizeof rows; r++)
            o += (size_t)snprintf(rows + o, sizeof rows - o, "%s\"%s\"", r ? ", " : "", t.rows[r].label);
        rc = aw_error_set(err, AW_ENOTFOUND, "--baseline %s: no row of the %s table has that label; its rows: %s",
                          baseline, est->table, t.nrows ? rows : "(none)");
    }
    aw_grid_t g = {.ncol = 8, .keys = BASE_KEYS, .heads = BASE_HEADS, .align = "llrrrrrr"};
    for (int r = 0; rc == AW_OK && r < t.nrows; r++)
        for (int c = 0; rc == AW_OK && c < t.ncols; c++)
            if (r != b)
                rc = row_vs_base(store, &t, r, b, c, &g, err);
    if (rc == AW_OK) {
        aw_grid_note(&g, "Each row's replicates are paired with the baseline's of the same repeat and seed, point "
                     "by point on the points both evaluated; the difference is the mean over pairs of each pair's "
                     "mean per-point difference, its SE the standard error over pairs (over points for one pair).");
        char title[256];
        snprintf(title, sizeof title, "Paired %s against %s (%s, %s)", est->table_title, baseline, est->name,
                 est->unit);
        rc = aw_grid_render(&g, title, fmt, out, err);
    }
    aw_grid_fini(&g);
    aw_res_table_fini(&t);
    return rc;
}
