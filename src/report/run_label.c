/* run_label.c: method label plus what differs between the runs shown (run_label.h). */
#include "report/run_label.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/plugin.h"
#include "report/spec_paths.h"
#include "util/sbuf.h"

/* Leaves that say nothing about what a run computes, or that the method label already says. */
static int left_out(const char *kv)
{
    static const char *const skip[] = {"name=", "train.threads=", "train.checkpoint_every=", "evaluate", NULL};
    for (int i = 0; skip[i] != NULL; i++)
        if (strncmp(kv, skip[i], strlen(skip[i])) == 0)
            return 1;
    return 0;
}

/* 1 if leaves l lack the exact leaf kv. */
static int lacks(const aw_report_leaves_t *l, const char *kv)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->kv[i], kv) == 0)
            return 0;
    return 1;
}

/* 1 if leaf kv of run i differs in some other shown run (for a method key: one with the same method label). */
static int differs(const aw_report_leaves_t *lv, char **method, int n, int i, const char *kv)
{
    int is_method = strncmp(kv, "method.", 7) == 0;
    for (int k = 0; k < n; k++) {
        if (k == i || lv[k].n == 0 || (is_method && strcmp(method[k], method[i]) != 0))
            continue;
        if (lacks(&lv[k], kv))
            return 1;
    }
    return 0;
}

/* labels[i] = method[i] plus the differing leaves of run i. */
static void compose(const aw_report_leaves_t *lv, char **method, int n, char **labels)
{
    for (int i = 0; i < n; i++) {
        aw_sbuf_t b = {0};
        aw_sbuf_puts(&b, method[i]);
        for (size_t j = 0; j < lv[i].n; j++) {
            const char *kv = lv[i].kv[j];
            if (!left_out(kv) && differs(lv, method, n, i, kv))
                aw_sbuf_printf(&b, ", %s", kv);
        }
        labels[i] = aw_sbuf_finish(&b);
    }
}

/* Runs whose labels are still equal get " (NAME)". */
static int disambiguate(const aw_report_run_t *const *runs, int n, char **labels)
{
    unsigned char *same = calloc((size_t)n + 1, 1);
    if (same == NULL)
        return AW_ENOMEM;
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            if (strcmp(labels[i], labels[k]) == 0)
                same[i] = same[k] = 1;
    int rc = AW_OK;
    for (int i = 0; i < n && rc == AW_OK; i++) {
        if (!same[i])
            continue;
        aw_sbuf_t b = {0};
        aw_sbuf_printf(&b, "%s (%s)", labels[i], runs[i]->row.name);
        char *p = aw_sbuf_finish(&b);
        if (p == NULL)
            rc = AW_ENOMEM;
        else {
            free(labels[i]);
            labels[i] = p;
        }
    }
    free(same);
    return rc;
}

int aw_report_run_labels(const aw_report_run_t *const *runs, int n, char **labels, aw_error_t *err)
{
    aw_report_leaves_t *lv = calloc((size_t)n + 1, sizeof *lv);
    char **method = calloc((size_t)n + 1, sizeof *method);
    int rc = lv == NULL || method == NULL ? AW_ENOMEM : AW_OK;
    for (int i = 0; i < n; i++)
        labels[i] = NULL;
    for (int i = 0; i < n && rc == AW_OK; i++) {
        const aw_report_run_t *r = runs[i];
        char buf[256];
        if (r->spec_ok) {
            r->spec.method.ops->label(r->spec.method.cfg.bytes, buf, sizeof buf);
            if ((rc = aw_report_spec_leaves(r->row.spec, &lv[i], err)) < 0)
                break;
        } else {
            snprintf(buf, sizeof buf, "%s", r->row.name);
        }
        if ((method[i] = strdup(buf)) == NULL)
            rc = AW_ENOMEM;
    }
    if (rc == AW_OK) {
        compose(lv, method, n, labels);
        for (int i = 0; i < n; i++)
            if (labels[i] == NULL)
                rc = AW_ENOMEM;
    }
    if (rc == AW_OK)
        rc = disambiguate(runs, n, labels);
    for (int i = 0; lv != NULL && method != NULL && i < n; i++) {
        aw_report_leaves_fini(&lv[i]);
        free(method[i]);
        if (rc < 0) {
            free(labels[i]);
            labels[i] = NULL;
        }
    }
    free(lv);
    free(method);
    if (rc == AW_ENOMEM)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    return rc;
}
