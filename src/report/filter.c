/* filter.c: the runs that pass --dataset, --where and --status (filter.h). */
#include "report/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"
#include "report/spec_paths.h"

enum { VALUES_MAX = 10 }; /* distinct values listed in one message */

/* "a (3 runs), b (1 run)": the distinct strings of vals[n] (NULL ones skipped) with how many have each. */
static void list_counts(aw_sbuf_t *b, const char *const *vals, size_t n)
{
    size_t shown = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        if (vals[i] == NULL)
            continue;
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            first = vals[j] == NULL || strcmp(vals[j], vals[i]) != 0;
        if (!first)
            continue;
        if (shown == VALUES_MAX) {
            other++;
            continue;
        }
        size_t c = 0;
        for (size_t j = i; j < n; j++)
            c += vals[j] != NULL && strcmp(vals[j], vals[i]) == 0;
        aw_sbuf_printf(b, "%s%s (%zu run%s)", shown ? ", " : "", vals[i], c, c == 1 ? "" : "s");
        shown++;
    }
    if (other > 0)
        aw_sbuf_printf(b, " and %zu other value%s", other, other == 1 ? "" : "s");
}

static int fail_with(aw_sbuf_t *b, int code, aw_error_t *err)
{
    int rc = aw_error_set(err, b->oom ? AW_ENOMEM : code, "%s", b->oom ? "out of memory" : b->p);
    aw_sbuf_fini(b);
    return rc;
}

/* --dataset d names no run's dataset: list the datasets there are. */
static int no_dataset(const aw_report_snap_t *s, const char *d, aw_error_t *err)
{
    const char **vals = calloc(s->n_runs + 1, sizeof *vals);
    if (vals == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_runs; i++)
        vals[i] = s->runs[i].spec_ok ? s->runs[i].spec.dataset.name : NULL;
    aw_sbuf_t b = {0};
    aw_sbuf_printf(&b, "--dataset %s: no run is on that dataset; the runs' datasets: ", d);
    list_counts(&b, vals, s->n_runs);
    free(vals);
    return fail_with(&b, AW_ENOTFOUND, err);
}

/* --where key=value holds for no run: list the values the runs have at key (or say no spec has it). */
static int no_where(const aw_report_snap_t *s, const char *w, const char *key, aw_error_t *err)
{
    char **vals = calloc(s->n_runs + 1, sizeof *vals);
    if (vals == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    int rc = AW_OK;
    size_t found = 0;
    for (size_t i = 0; i < s->n_runs && rc == AW_OK; i++) {
        char buf[256];
        if (!s->runs[i].spec_ok)
            continue;
        rc = aw_report_spec_value(s->runs[i].row.spec, key, buf, sizeof buf, err);
        if (rc == 1 && (vals[i] = strdup(buf)) == NULL)
            rc = aw_error_set(err, AW_ENOMEM, "out of memory");
        found += rc == 1;
        rc = rc < 0 ? rc : AW_OK;
    }
    aw_sbuf_t b = {0};
    if (rc == AW_OK && found == 0) {
        char near[512] = "";
        for (size_t i = 0; i < s->n_runs && near[0] == '\0'; i++)
            if (s->runs[i].spec_ok)
                aw_report_spec_suggest(s->runs[i].row.spec, key, near, sizeof near);
        if (near[0] != '\0')
            aw_sbuf_printf(&b, "--where %s: no run's resolved spec has the key %s; did you mean %s?", w, key, near);
        else
            aw_sbuf_printf(&b, "--where %s: no run's resolved spec has the key %s (aiwae-report --spec RUN prints "
                           "one)", w, key);
    } else if (rc == AW_OK) {
        aw_sbuf_printf(&b, "--where %s: no run has that value; the runs' values of %s: ", w, key);
        list_counts(&b, (const char *const *)vals, s->n_runs);
    }
    for (size_t i = 0; i < s->n_runs; i++)
        free(vals[i]);
    free(vals);
    if (rc < 0) {
        aw_sbuf_fini(&b);
        return rc;
    }
    return fail_with(&b, AW_ENOTFOUND, err);
}

/* Every filter matches some run, but no run passes them all. */
static int none_together(const aw_report_query_t *q, aw_error_t *err)
{
    aw_sbuf_t b = {0};
    aw_sbuf_puts(&b, "no run passes");
    for (int d = 0; d < q->n_datasets; d++)
        aw_sbuf_printf(&b, " --dataset %s", q->datasets[d]);
    for (int w = 0; w < q->n_where; w++)
        aw_sbuf_printf(&b, " --where %s", q->where[w]);
    aw_sbuf_puts(&b, " together (each alone matches runs; aiwae-report --runs lists them with the keys that differ)");
    return fail_with(&b, AW_ENOTFOUND, err);
}

/* keep[i] for --dataset and --where, with hit[w * n + i] = where w holds for run i; then the errors. */
static int spec_filters(const aw_report_snap_t *s, const aw_report_query_t *q, unsigned char *keep,
                        unsigned char *hit, aw_error_t *err)
{
    size_t n = s->n_runs;
    for (int w = 0; w < q->n_where; w++) {
        const char *eq = strchr(q->where[w], '=');
        char key[512];
        if (eq == NULL || eq == q->where[w])
            return aw_error_set(err, AW_EARG, "--where %s: expected KEY.PATH=VALUE", q->where[w]);
        snprintf(key, sizeof key, "%.*s", (int)(eq - q->where[w]), q->where[w]);
        for (size_t i = 0; i < n; i++) {
            int m = s->runs[i].spec_ok ? aw_report_spec_match(s->runs[i].row.spec, key, eq + 1, err) : 0;
            if (m < -1)
                return m;
            hit[(size_t)w * n + i] = m == 1;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const aw_report_run_t *r = &s->runs[i];
        int ok = r->spec_ok && q->n_datasets == 0;
        for (int d = 0; d < q->n_datasets && r->spec_ok; d++)
            ok |= strcmp(r->spec.dataset.name, q->datasets[d]) == 0;
        for (int w = 0; w < q->n_where; w++)
            ok &= hit[(size_t)w * n + i];
        keep[i] = (unsigned char)ok;
        kept += (size_t)ok;
    }
    if (n == 0)
        return AW_OK;
    for (int d = 0; d < q->n_datasets; d++) {
        int any = 0;
        for (size_t i = 0; i < n && !any; i++)
            any = s->runs[i].spec_ok && strcmp(s->runs[i].spec.dataset.name, q->datasets[d]) == 0;
        if (!any)
            return no_dataset(s, q->datasets[d], err);
    }
    if (kept > 0)
        return AW_OK;
    for (int w = 0; w < q->n_where; w++) {
        int any = 0;
        for (size_t i = 0; i < n && !any; i++)
            any = hit[(size_t)w * n + i];
        if (!any) {
            char key[512];
            snprintf(key, sizeof key, "%.*s", (int)strcspn(q->where[w], "="), q->where[w]);
            return no_where(s, q->where[w], key, err);
        }
    }
    return none_together(q, err);
}

int aw_report_filter_runs(const aw_report_snap_t *s, const aw_report_query_t *q, unsigned char *keep,
                          aw_error_t *err)
{
    for (size_t i = 0; i < s->n_runs; i++)
        keep[i] = 1;
    if (q == NULL)
        return AW_OK;
    if (q->n_datasets > 0 || q->n_where > 0) {
        unsigned char *hit = calloc((size_t)q->n_where * s->n_runs + 1, 1);
        if (hit == NULL)
            return aw_error_set(err, AW_ENOMEM, "out of memory");
        int rc = spec_filters(s, q, keep, hit, err);
        free(hit);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < s->n_runs && q->n_status > 0; i++) {
        int ok = 0;
        for (int k = 0; k < q->n_status; k++)
            ok |= (int)s->runs[i].row.status == q->status[k];
        keep[i] &= (unsigned char)ok;
    }
    return AW_OK;
}
