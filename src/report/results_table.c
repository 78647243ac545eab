/* results_table.c: building the results table (results_table.h): which finished evaluations go
 * in, the dataset columns, the rows (one per method configuration and estimator settings, split by
 * points where a cell would mix them), their order and labels, and the mean and standard
 * deviation of each cell. */
#include "report/results_table.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"
#include "data/data.h"
#include "methods/plugin.h"
#include "report/filter.h"
#include "report/spec_paths.h"
#include "spec/spec.h"

/* The settings string without its "size: N" member; N goes to *points. */
static char *strip_size(const char *settings)
{
    char *s = strdup(settings);
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

int aw_res_method_int(const aw_spec_t *spec, const char *key)
{
    int v;
    return aw_settings_int(&spec->method.ops->settings, spec->method.cfg.bytes, key, &v) ? v : -1;
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
    const aw_res_row_t *x = a, *y = b;
    const aw_spec_t *p = &x->first->spec, *q = &y->first->spec;
    /* Methods in plugin-table order, then by their integer settings in table order. */
    int c = aw_method_index(p->method.ops) - aw_method_index(q->method.ops);
    const aw_key_t *keys = p->method.ops->settings.keys;
    for (int i = 0; c == 0 && keys[i].key != NULL; i++)
        if (keys[i].type == AW_KEY_INT)
            c = aw_res_method_int(p, keys[i].key) - aw_res_method_int(q, keys[i].key);
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
static void distinguish(aw_res_row_t *rows, int nrows, int r, char *out, size_t n)
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

/* Which runs the table uses: keep[i] for run i, those that pass the filters and whose spec loads. */
static int filter_runs(aw_res_table_t *t, unsigned char *keep, aw_error_t *err)
{
    int rc = aw_report_filter_runs(t->s, t->q, keep, err);
    for (size_t i = 0; i < t->s->n_runs && rc == AW_OK; i++)
        if (!t->s->runs[i].spec_ok) {
            t->skipped_spec++;
            keep[i] = 0;
        }
    return rc;
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

/* Whether a spec leaf ("key=value") does not tell rows apart: keys outside the run's identity, the
 * replicate keys (seed, repeat) and the data set (the columns). */
static int ignored_key(const char *kv)
{
    char path[256];
    size_t n = strcspn(kv, "=");
    snprintf(path, sizeof path, "%.*s", (int)(n < sizeof path ? n : sizeof path - 1), kv);
    static const char *const skip[] = {"seed", "repeat", "dataset.name", "dataset.dir", NULL};
    for (int i = 0; skip[i]; i++)
        if (strcmp(path, skip[i]) == 0)
            return 1;
    return !aw_spec_path_in_identity(path);
}

/* Fills the item's row configuration (the spec leaves that tell rows apart) and settings key. */
static int item_keys(aw_res_item_t *it, aw_error_t *err)
{
    aw_report_leaves_t l = {0};
    int rc = aw_report_spec_leaves(it->run->row.spec, &l, err);
    if (rc < 0) {
        aw_report_leaves_fini(&l);
        return rc;
    }
    aw_sbuf_t cb = {0}, kb = {0};
    aw_sbuf_puts(&cb, "");
    for (size_t k = 0; k < l.n; k++)
        if (!ignored_key(l.kv[k]))
            aw_sbuf_printf(&cb, "%s\n", l.kv[k]);
    aw_report_leaves_fini(&l);
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
static int select_items(aw_res_table_t *t, aw_error_t *err)
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
        aw_res_item_t *it = &t->items[t->nitems++];
        it->run = &s->runs[ri];
        it->ev = ev;
        it->points = ev->n > 0 ? ev->n : ev->n_total;
        rc = item_keys(it, err);
    }
    free(keep);
    return rc;
}

/* Rank of a dataset column: the data table's order (the paper's datasets first), then the rest. */
static int col_rank(const char *d)
{
    int i = aw_dataset_index(d);
    return i < 0 ? INT_MAX : i;
}

static int cmp_cols(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = col_rank(x), ry = col_rank(y);
    int c = (rx > ry) - (rx < ry);
    return c != 0 ? c : strcmp(x, y);
}

/* Dataset columns and the distinct settings keys. */
static int make_columns(aw_res_table_t *t, aw_error_t *err)
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

static int same_row_key(const aw_res_item_t *a, const aw_res_item_t *b)
{
    return strcmp(a->rowcfg, b->rowcfg) == 0 && strcmp(a->skey, b->skey) == 0;
}

/* Rows are (row configuration, settings); where one of a row's cells would mix evaluations of
 * different point counts, the row is split by points. Then rows are sorted (method, K, T, L,
 * configuration, settings, points) and the items point at their row. */
static int make_rows(aw_res_table_t *t, aw_error_t *err)
{
    size_t n = t->nitems;
    unsigned char *mixed = calloc(n + 1, 1), *split = calloc(n + 1, 1);
    int *order = malloc((n + 1) * sizeof *order);
    aw_res_row_t *sorted = malloc((n + 1) * sizeof *sorted);
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
        aw_res_item_t *it = &t->items[i];
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
static int label_rows(aw_res_table_t *t, aw_error_t *err)
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
        const aw_spec_t *sp = &t->rows[r].first->spec;
        sp->method.ops->label(sp->method.cfg.bytes, t->rows[r].label, sizeof t->rows[r].label);
    }
    char(*extra)[400] = calloc((size_t)t->nrows + 1, sizeof *extra);
    if (extra == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    for (int r = 0; r < t->nrows; r++)
        distinguish(t->rows, t->nrows, r, extra[r], sizeof extra[r]);
    for (int r = 0; r < t->nrows; r++) {
        aw_res_row_t *row = &t->rows[r];
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
static int fill_cells(aw_res_table_t *t, aw_error_t *err)
{
    int nc = t->ncols;
    t->cells = calloc((size_t)t->nrows * (size_t)nc + 1, sizeof *t->cells);
    if (t->cells == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nitems; i++) {
        aw_res_cell_t *c = &t->cells[t->items[i].row * nc + t->items[i].col];
        c->sum += t->items[i].ev->mean;
        c->n++;
        c->points = t->items[i].points;
    }
    for (int k = 0; k < t->nrows * nc; k++) {
        aw_res_cell_t *c = &t->cells[k];
        if (c->n == 0)
            continue;
        c->mean = c->sum / c->n;
        t->nmin = t->nmin == 0 || c->n < t->nmin ? c->n : t->nmin;
        t->nmax = c->n > t->nmax ? c->n : t->nmax;
    }
    for (size_t i = 0; i < t->nitems; i++) {
        aw_res_cell_t *c = &t->cells[t->items[i].row * nc + t->items[i].col];
        double d = t->items[i].ev->mean - c->mean;
        c->sumsq += d * d;
    }
    for (int k = 0; k < t->nrows * nc; k++)
        t->cells[k].sd = t->cells[k].n >= 2 ? sqrt(t->cells[k].sumsq / (t->cells[k].n - 1)) : NAN;
    return AW_OK;
}

int aw_res_table_build(aw_res_table_t *t, aw_error_t *err)
{
    int rc = select_items(t, err);
    if (rc == AW_OK)
        rc = make_columns(t, err);
    if (rc == AW_OK)
        rc = make_rows(t, err);
    if (rc == AW_OK)
        rc = label_rows(t, err);
    if (rc == AW_OK)
        rc = fill_cells(t, err);
    return rc;
}

void aw_res_table_fini(aw_res_table_t *t)
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
