/* html.c: the self-contained HTML report (html.h). */
#include "report/html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "methods/plugin.h"
#include "report/figures.h"
#include "report/grid.h"
#include "report/listing.h"
#include "report/run_label.h"
#include "util/io.h"
#include "util/sbuf.h"

#define PICTURE_LIMIT (64u << 20) /* bytes of one picture file read back */

/* Readable on a phone (one column, tables scroll sideways, pictures shrink) and on paper. */
static const char STYLE[] =
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:0.5rem 1rem;line-height:1.4;"
    "color:#111;background:#fff}\n"
    "h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1.05rem}\n"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;margin:0.5rem 0;font-variant-numeric:tabular-nums}\n"
    "th,td{border-bottom:1px solid #ccc;padding:0.2rem 0.6rem;white-space:nowrap}th{border-bottom:2px solid #444}\n"
    "td.r,th.r{text-align:right}td.l,th.l{text-align:left}\n"
    ".note{font-size:0.85rem;color:#444;margin:0.2rem 0}img{max-width:100%;height:auto;display:block;margin:0.5rem 0}\n"
    "td.s{white-space:normal;min-width:16rem}code{font-size:0.85rem}\n"
    "@media print{body{max-width:none}section.run{break-inside:avoid-page}.scroll{overflow:visible}}\n";

static void base64(aw_sbuf_t *b, const uint8_t *p, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {A[v >> 18 & 63], A[v >> 12 & 63], i + 1 < n ? A[v >> 6 & 63] : '=', i + 2 < n ? A[v & 63] : '='};
        aw_sbuf_put(b, q, 4);
    }
}

/* <img> of the picture file tmp (then removed), or a note with why it could not be drawn. */
static void picture(aw_sbuf_t *b, int drawn, const char *tmp, const char *mime, const char *alt, const aw_error_t *why)
{
    aw_buf_t f = {0};
    aw_error_t err = {0};
    if (drawn == AW_OK && aw_io_read_file(tmp, PICTURE_LIMIT, &f, &err) == AW_OK) {
        aw_sbuf_printf(b, "<img alt=\"%s\" src=\"data:%s;base64,", alt, mime);
        base64(b, f.data, f.size);
        aw_sbuf_puts(b, "\">\n");
    } else {
        aw_sbuf_printf(b, "<p class=\"note\">No %s: ", alt);
        aw_html_str(b, drawn == AW_OK ? err.msg : why->msg);
        aw_sbuf_puts(b, "</p>\n");
    }
    aw_buf_fini(&f);
    remove(tmp);
}

/* A run's evaluations on every split: estimator, split, epoch, value, points and settings. */
static void evaluations(aw_sbuf_t *b, const aw_report_snap_t *snap, const aw_report_run_t *r)
{
    int any = 0;
    for (size_t e = 0; e < snap->n_evals; e++) {
        const aw_store_eval_t *ev = &snap->evals[e];
        if (strcmp(ev->identity, r->row.identity) != 0)
            continue;
        if (!any++)
            aw_sbuf_puts(b, "<div class=\"scroll\"><table><thead><tr><th class=\"l\">Estimator</th><th class=\"l\">"
                            "Split</th><th class=\"r\">Epoch</th><th class=\"r\">Nats</th><th class=\"r\">Points</th>"
                            "<th class=\"l\">Settings</th></tr></thead><tbody>\n");
        aw_sbuf_puts(b, "<tr><td class=\"l\">");
        aw_html_str(b, ev->estimator);
        aw_sbuf_puts(b, "</td><td class=\"l\">");
        aw_html_str(b, ev->split);
        aw_sbuf_printf(b, "</td><td class=\"r\">%lld</td>", (long long)ev->epoch);
        if (ev->finished)
            aw_sbuf_printf(b, "<td class=\"r\">%.2f \xc2\xb1 %.2f</td><td class=\"r\">%lld</td>", ev->mean, ev->se,
                           (long long)ev->n);
        else
            aw_sbuf_printf(b, "<td class=\"r\">running</td><td class=\"r\">%lld of %lld</td>", (long long)ev->n_done,
                           (long long)ev->n_total);
        aw_sbuf_puts(b, "<td class=\"l s\"><code>");
        aw_html_str(b, ev->settings);
        aw_sbuf_puts(b, "</code></td></tr>\n");
    }
    aw_sbuf_puts(b, any ? "</tbody></table></div>\n" : "<p class=\"note\">No evaluations yet.</p>\n");
}

/* One section per run: label, name and status, evaluations, curves, samples. */
static void run_section(aw_sbuf_t *b, aw_store_t *store, const aw_report_snap_t *snap, const aw_report_query_t *q,
                        size_t i, const char *label, const char *path)
{
    const aw_report_run_t *r = &snap->runs[i];
    char tmp[4096];
    aw_error_t err = {0};
    aw_sbuf_puts(b, "<section class=\"run\"><h3>");
    aw_html_str(b, label);
    aw_sbuf_puts(b, "</h3>\n<p class=\"note\">");
    aw_html_str(b, r->row.name);
    aw_sbuf_printf(b, ", identity %.12s, %lld of %lld epochs</p>\n", r->row.identity, (long long)r->row.epoch,
                   (long long)r->row.epochs_total);
    evaluations(b, snap, r);
    snprintf(tmp, sizeof tmp, "%s.part.svg", path);
    const size_t at = (size_t)(r - snap->runs);
    int rc = aw_report_curves(store, snap, &at, 1, q->split, tmp, &err);
    picture(b, rc, tmp, "image/svg+xml", "training curves", &err);
    snprintf(tmp, sizeof tmp, "%s.part.png", path);
    err = (aw_error_t){0};
    rc = r->row.epoch > 0 ? aw_report_samples(store, r, -1, 0, tmp, NULL, &err)
                          : aw_error_set(&err, AW_ENOTFOUND, "no epoch finished yet");
    picture(b, rc, tmp, "image/png", "samples", &err);
    aw_sbuf_puts(b, "</section>\n");
}

/* The tables, the listing and the run sections into b. */
static int page_body(aw_sbuf_t *b, aw_store_t *store, const aw_report_snap_t *snap, const aw_report_query_t *q,
                     const char *path, aw_error_t *err)
{
    int rc = AW_OK;
    char *text = NULL;
    for (int i = 0; aw_estimator_at(i) != NULL && rc == AW_OK; i++) {
        aw_report_query_t tq = *q;
        tq.table = aw_estimator_at(i)->table;
        if ((rc = aw_report_results(snap, &tq, AW_FMT_HTML, &text, err)) == AW_OK)
            aw_sbuf_puts(b, text);
        free(text);
        text = NULL;
    }
    if (rc == AW_OK && (rc = aw_report_runs(snap, q, AW_FMT_HTML, &text, err)) == AW_OK)
        aw_sbuf_puts(b, text);
    free(text);
    const aw_report_run_t **runs = calloc(snap->n_runs + 1, sizeof *runs);
    char **labels = calloc(snap->n_runs + 1, sizeof *labels);
    if (rc == AW_OK && (runs == NULL || labels == NULL))
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == AW_OK && i < snap->n_runs; i++)
        runs[i] = &snap->runs[i];
    if (rc == AW_OK && (rc = aw_report_run_labels(runs, (int)snap->n_runs, labels, err)) == AW_OK) {
        aw_sbuf_puts(b, "<h2>Each run</h2>\n");
        for (size_t i = 0; i < snap->n_runs; i++)
            run_section(b, store, snap, q, i, labels[i], path);
    }
    for (size_t i = 0; labels != NULL && i < snap->n_runs; i++)
        free(labels[i]);
    free(labels);
    free(runs);
    return rc;
}

int aw_report_html(aw_store_t *store, const aw_report_snap_t *snap, const aw_report_query_t *q, const char *path,
                   aw_error_t *err)
{
    aw_sbuf_t b = {0};
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    aw_sbuf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>aiwae report</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>aiwae report</h1>\n"
                       "<p class=\"note\">%zu runs, written %s by aiwae-report.</p>\n",
                   STYLE, snap->n_runs, when);
    int rc = page_body(&b, store, snap, q, path, err);
    aw_sbuf_puts(&b, "</body>\n</html>\n");
    if (rc == AW_OK && b.oom)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    FILE *f = rc == AW_OK ? fopen(path, "wb") : NULL;
    if (rc == AW_OK && f == NULL)
        rc = aw_error_set(err, AW_EIO, "%s: cannot write", path);
    if (f != NULL && (fwrite(b.p, 1, b.n, f) != b.n) + (fclose(f) != 0))
        rc = aw_error_set(err, AW_EIO, "%s: cannot write", path);
    aw_sbuf_fini(&b);
    return rc;
}
