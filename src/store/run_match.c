/* run_match.c: runs by name, identity prefix or glob over names (run_match.h). */
#include "store/run_match.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

enum { LIST_MAX = 12, LIST_BYTES = 700 }; /* runs named in one message, and its length before "and N more" */

static int is_glob(const char *q)
{
    return strpbrk(q, "*?[") != NULL;
}

static int hex_prefix(const char *identity, const char *q)
{
    size_t n = strlen(q);
    if (n == 0 || n > AW_STORE_ID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)q[i]) || tolower((unsigned char)q[i]) != identity[i])
            return 0;
    return 1;
}

/* "1a2b3c4d5e6f name[ (status, epoch E of T)], ..." for the rows at which[nw] (every row when which is NULL). */
static void list_rows(aw_sbuf_t *b, const aw_store_run_t *const *rows, size_t n, const size_t *which, size_t nw,
                      int detail)
{
    size_t total = which != NULL ? nw : n, shown = 0;
    for (; shown < total && shown < LIST_MAX && b->n < LIST_BYTES; shown++) {
        const aw_store_run_t *r = rows[which != NULL ? which[shown] : shown];
        aw_sbuf_printf(b, "%s%.12s %s", shown ? ", " : "", r->identity, r->name);
        if (detail)
            aw_sbuf_printf(b, " (%s, epoch %lld of %lld)", aw_run_status_name(r->status), (long long)r->epoch,
                           (long long)r->epochs_total);
    }
    if (total > shown)
        aw_sbuf_printf(b, " and %zu more", total - shown);
}

/* Nothing matches query: say what there is, the runs whose names contain it first. */
static int none(const aw_store_run_t *const *rows, size_t n, const char *query, size_t *scratch, aw_error_t *err)
{
    if (n == 0)
        return aw_error_set(err, AW_ENOTFOUND, "no run matches \"%s\": the database has no runs", query);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strstr(rows[i]->name, query) != NULL)
            scratch[k++] = i;
    aw_sbuf_t b = {0};
    aw_sbuf_printf(&b, "no run matches \"%s\" (a name, a unique prefix of an identity, or a quoted glob over "
                   "names); %s: ", query, k > 0 ? "runs whose names contain it" : "runs");
    list_rows(&b, rows, n, k > 0 ? scratch : NULL, k, 0);
    int rc = aw_error_set(err, AW_ENOTFOUND, "%s", b.oom ? "no run matches" : b.p);
    aw_sbuf_fini(&b);
    return rc;
}

/* Several runs match where one is needed: list them and say what tells them apart. */
static int several(const aw_store_run_t *const *rows, size_t n, const char *query, const char *how,
                   const size_t *hits, size_t k, aw_error_t *err)
{
    aw_sbuf_t b = {0};
    if (strcmp(how, "name") == 0)
        aw_sbuf_printf(&b, "\"%s\" names %zu runs (one name, different trainings); give a prefix of the identity "
                       "instead: ", query, k);
    else if (strcmp(how, "glob") == 0)
        aw_sbuf_printf(&b, "\"%s\" matches %zu runs and this command takes one; give its name or a prefix of its "
                       "identity: ", query, k);
    else
        aw_sbuf_printf(&b, "\"%s\" starts %zu identities; give more of the identity: ", query, k);
    list_rows(&b, rows, n, hits, k, 1);
    int rc = aw_error_set(err, AW_ENOTFOUND, "%s", b.oom ? "no unique run matches" : b.p);
    aw_sbuf_fini(&b);
    return rc;
}

int aw_store_run_match(const aw_store_run_t *const *rows, size_t n, const char *query, int many, size_t *hits,
                       size_t *n_hits, aw_error_t *err)
{
    *n_hits = 0;
    if (query == NULL || query[0] == '\0')
        return aw_error_set(err, AW_EARG, "an empty run name: expected a run's name, a prefix of its identity or a "
                            "glob over names");
    size_t k = 0;
    const char *how = "name";
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i]->name, query) == 0)
            hits[k++] = i;
    if (k == 0 && is_glob(query)) {
        how = "glob";
        for (size_t i = 0; i < n; i++)
            if (fnmatch(query, rows[i]->name, 0) == 0)
                hits[k++] = i;
    } else if (k == 0) {
        how = "prefix";
        for (size_t i = 0; i < n; i++)
            if (hex_prefix(rows[i]->identity, query))
                hits[k++] = i;
    }
    if (k == 0)
        return none(rows, n, query, hits, err);
    if (k > 1 && !(many && strcmp(how, "glob") == 0))
        return several(rows, n, query, how, hits, k, err);
    *n_hits = k;
    return AW_OK;
}

int aw_store_runs_named(aw_store_t *s, const char *query, int many, aw_store_run_t **runs, size_t *n,
                        aw_error_t *err)
{
    *runs = NULL;
    *n = 0;
    aw_store_run_t *all;
    size_t m;
    int rc = aw_store_runs_list(s, &all, &m, err);
    if (rc < 0)
        return rc;
    const aw_store_run_t **rows = malloc((m + 1) * sizeof *rows);
    size_t *hits = malloc((m + 1) * sizeof *hits), k = 0;
    if (rows == NULL || hits == NULL)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    for (size_t i = 0; i < m && rc == AW_OK; i++)
        rows[i] = &all[i];
    if (rc == AW_OK)
        rc = aw_store_run_match(rows, m, query, many, hits, &k, err);
    /* hits ascend, so swapping each to the front never moves a later one */
    for (size_t j = 0; j < k && rc == AW_OK; j++) {
        aw_store_run_t t = all[j];
        all[j] = all[hits[j]];
        all[hits[j]] = t;
    }
    free(rows);
    free(hits);
    if (rc < 0) {
        aw_store_runs_free(all, m);
        return rc;
    }
    for (size_t i = k; i < m; i++)
        aw_store_run_fini(&all[i]);
    *runs = all;
    *n = k;
    return AW_OK;
}
