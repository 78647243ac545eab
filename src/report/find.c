/* find.c: finding a run of the snapshot by name or identity prefix (find.h). */
#include "report/find.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

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
