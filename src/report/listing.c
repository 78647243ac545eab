/* listing.c: the run listing and per-epoch metrics (listing.h). */
#include "report/listing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/filter.h"
#include "report/spec_diff.h"

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

/* Seconds per point of run identity's evaluations (estimator, settings, split) so far, from the work stored
 * and the partial states of calls; NaN when nothing is known. */
static double seconds_per_point(const aw_report_snap_t *s, const aw_store_eval_t *like)
{
    double secs = 0, pts = 0;
    for (size_t i = 0; i < s->n_evals; i++) {
        const aw_store_eval_t *e = &s->evals[i];
        if (strcmp(e->identity, like->identity) == 0 && strcmp(e->estimator, like->estimator) == 0 &&
            strcmp(e->settings, like->settings) == 0 && strcmp(e->split, like->split) == 0) {
            secs += e->seconds + e->partial_seconds;
            pts += (double)e->n_done + e->partial_points;
        }
    }
    return pts > 0 ? secs / pts : NAN;
}

/* Seconds of evaluation work left to run r: the rest of each evaluation begun, and for an evaluation done at
 * an earlier epoch whose run has not reached its last one, the same again at the end. NaN if a rate is
 * unknown; 0 when nothing is left. */
static double eval_eta(const aw_report_snap_t *s, const aw_report_run_t *r)
{
    double left = 0;
    for (size_t i = 0; i < s->n_evals; i++) {
        const aw_store_eval_t *e = &s->evals[i];
        if (strcmp(e->identity, r->row.identity) != 0)
            continue;
        int at_end = e->epoch >= r->row.epochs_total;
        double todo = e->finished ? 0 : (double)e->n_total - (double)e->n_done - e->partial_points;
        if (!at_end) { /* is the last epoch's evaluation of these settings still to come? */
            int later = 0;
            for (size_t j = 0; j < s->n_evals && !later; j++) {
                const aw_store_eval_t *f = &s->evals[j];
                later = strcmp(f->identity, e->identity) == 0 && strcmp(f->estimator, e->estimator) == 0 &&
                        strcmp(f->settings, e->settings) == 0 && strcmp(f->split, e->split) == 0 &&
                        f->epoch > e->epoch;
            }
            if (!later)
                todo += (double)e->n_total;
        }
        if (todo <= 0)
            continue;
        double spp = seconds_per_point(s, e);
        if (!isfinite(spp))
            return NAN;
        left += spp * todo;
    }
    return left;
}

enum { RUN_FIXED = 9, RUN_LEAD = 2 }; /* columns of every listing; the differing keys go after the first two */

/* One run's row: identity, name, its values of the differing keys, then status to ETA. Returns 1 when the run
 * is stale (marked running, but the process of this host that claimed it is gone), else 0. */
static int run_row(aw_grid_t *g, const aw_report_snap_t *s, const aw_report_run_t *r, aw_report_format_t fmt,
                   const aw_report_diff_t *d, size_t di, int jobs)
{
    aw_cell_t *row = aw_grid_row(g);
    if (row == NULL)
        return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%.12s", r->row.identity);
    aw_grid_text(g, &row[0], fmt == AW_FMT_CSV || fmt == AW_FMT_JSON ? r->row.identity : buf);
    aw_grid_text(g, &row[1], r->row.name);
    for (size_t k = 0; k < d->n_keys; k++) {
        const char *v = d->values[di * d->n_keys + k];
        aw_grid_text(g, &row[RUN_LEAD + k], v != NULL ? v : "");
    }
    row += d->n_keys;
    const int stale = r->row.status == AW_RUN_RUNNING && aw_store_owner_alive(r->row.message) == 0;
    aw_grid_text(g, &row[2], stale ? "stale" : aw_run_status_name(r->row.status));
    aw_grid_num(g, &row[3], (double)r->row.epoch, "%.0f");
    aw_grid_num(g, &row[4], (double)r->row.epochs_total, "%.0f");
    aw_grid_num(g, &row[5], r->has_metrics ? r->last.bound : NAN, "%.2f");
    aw_grid_num(g, &row[6], r->has_metrics ? r->last.points_per_s : NAN, "%.0f");
    /* "2024-05-01T12:00:00.000Z" -> "2024-05-01 12:00:00" (UTC) */
    snprintf(buf, sizeof buf, "%.19s", r->row.updated ? r->row.updated : "");
    if (strlen(buf) == 19 && buf[10] == 'T')
        buf[10] = ' ';
    aw_grid_text(g, &row[7], buf);
    double eta = NAN;
    const int running = r->row.status == AW_RUN_RUNNING && !stale, trained = r->row.epoch >= r->row.epochs_total;
    if (running) {
        eta = trained ? 0
              : isfinite(r->recent_epoch_s) ? r->recent_epoch_s * (double)(r->row.epochs_total - r->row.epoch) : NAN;
        eta += eval_eta(s, r);
    }
    char dur[32];
    fmt_duration(eta, dur, sizeof dur);
    if (running && trained && isfinite(eta))
        snprintf(buf, sizeof buf, "evaluating, %s", dur); /* training is done; the final evaluations run */
    else if (running && trained)
        snprintf(buf, sizeof buf, "evaluating");
    else
        snprintf(buf, sizeof buf, "%s", dur);
    aw_grid_text(g, &row[8], buf);
    row[8].num = eta;
    row[8].isnum = 1;
    if (jobs)
        aw_grid_text(g, &row[9], r->job);
    return stale;
}

/* The grid's columns: the fixed ones with the differing keys after the first two. */
static int run_columns(const aw_report_diff_t *d, int jobs, const char ***keys, const char ***heads, char **align)
{
    /* cluster mode (task files, docs/cluster.md) adds each task's latest job as a last column */
    static const char *k0[] = {"identity", "name", "status", "epoch", "epochs", "bound", "points_per_s", "updated",
                               "eta_s", "job"};
    static const char *h0[] = {"Run", "Name", "Status", "Epoch", "of", "Train bound", "Points/s", "Updated", "ETA",
                               "Job"};
    static const char a0[] = "lllrrrrlrl";
    size_t nc = RUN_FIXED + (size_t)jobs + d->n_keys;
    *keys = calloc(nc, sizeof **keys);
    *heads = calloc(nc, sizeof **heads);
    *align = malloc(nc + 1);
    if (*keys == NULL || *heads == NULL || *align == NULL)
        return AW_ENOMEM;
    for (size_t j = 0; j < nc; j++) {
        int fixed = j < RUN_LEAD || j >= RUN_LEAD + d->n_keys;
        size_t f = j < RUN_LEAD ? j : j - d->n_keys;
        (*keys)[j] = fixed ? k0[f] : d->keys[j - RUN_LEAD];
        (*heads)[j] = fixed ? h0[f] : d->keys[j - RUN_LEAD];
        (*align)[j] = fixed ? a0[f] : 'l';
    }
    (*align)[nc] = '\0';
    return AW_OK;
}

/* The notes under the listing. */
static void run_notes(aw_grid_t *g, const aw_report_snap_t *s, size_t shown, int running, int n_stale,
                      size_t n_keys)
{
    if (s->n_runs == 0)
        aw_grid_note(g, "The database has no runs yet.");
    else if (shown == 0)
        aw_grid_note(g, "No run of the %zu in the database has the status asked for.", s->n_runs);
    if (n_keys > 0)
        aw_grid_note(g, "Columns after Name: the keys of the training whose values differ between the runs listed.");
    if (running > 0)
        aw_grid_note(g, "Times are UTC. ETA: remaining epochs at the mean time of the last (up to 5) epochs, plus "
                     "the evaluations left at the speed of those done so far with the same settings; a run of "
                     "another host marked running whose update is old may have died (run aiwae-run again to "
                     "resume it).");
    else if (shown > 0)
        aw_grid_note(g, "Times are UTC.");
    if (n_stale > 0)
        aw_grid_note(g, "stale: marked running, but the process that claimed it is gone (killed, or its machine "
                     "rebooted); run aiwae-run again to resume it.");
}

int aw_report_runs(const aw_report_snap_t *s, const aw_report_query_t *q, aw_report_format_t fmt, char **out,
                   aw_error_t *err)
{
    unsigned char *keep = calloc(s->n_runs + 1, 1);
    const char **specs = calloc(s->n_runs + 1, sizeof *specs);
    const char **keys = NULL, **heads = NULL;
    char *align = NULL;
    aw_report_diff_t d = {0};
    int rc = keep == NULL || specs == NULL ? aw_error_set(err, AW_ENOMEM, "out of memory") : AW_OK;
    if (rc == AW_OK)
        rc = aw_report_filter_runs(s, q, keep, err);
    size_t shown = 0;
    for (size_t i = 0; i < s->n_runs && rc == AW_OK; i++)
        if (keep[i])
            specs[shown++] = s->runs[i].row.spec;
    if (rc == AW_OK)
        rc = aw_report_spec_diff(specs, shown, &d, err);
    int jobs = 0;
    for (size_t i = 0; i < s->n_runs; i++)
        jobs |= keep != NULL && keep[i] && s->runs[i].job[0] != '\0';
    if (rc == AW_OK && run_columns(&d, jobs, &keys, &heads, &align) < 0)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    if (rc == AW_OK) {
        aw_grid_t g = {.ncol = RUN_FIXED + jobs + (int)d.n_keys, .keys = keys, .heads = heads, .align = align};
        int running = 0, n_stale = 0;
        for (size_t i = 0, di = 0; i < s->n_runs; i++) {
            if (!keep[i])
                continue;
            int stale = run_row(&g, s, &s->runs[i], fmt, &d, di++, jobs);
            n_stale += stale;
            running += s->runs[i].row.status == AW_RUN_RUNNING && !stale;
        }
        run_notes(&g, s, shown, running, n_stale, d.n_keys);
        rc = aw_grid_render(&g, "Runs", fmt, out, err);
        aw_grid_fini(&g);
    }
    aw_report_diff_fini(&d);
    free(keys);
    free(heads);
    free(align);
    free(specs);
    free(keep);
    return rc;
}

/* The columns of a metrics table: six per epoch, then per temperature (or, beyond 16 temperatures in
 * md / latex, their minimum and maximum). */
typedef struct mcols {
    int machine;         /* csv / json: seconds as a number, every temperature its own column */
    size_t nt;           /* temperatures (the most any row has) */
    int wide;            /* one column per temperature */
    int ncol;            /* columns */
    const char **keys;   /* [ncol] */
    const char **heads;  /* [ncol] */
    char *align;         /* [ncol + 1] */
    char (*names)[2][32];  /* [nt] accept_t, step_t */
    char (*hnames)[2][32]; /* [nt] acc t=, step t= */
} mcols_t;

enum { NCORE = 6 }; /* epoch, loss, bound, lr, seconds (or time), points/s */

static void mcols_fini(mcols_t *c)
{
    free(c->keys);
    free(c->heads);
    free(c->align);
    free(c->names);
    free(c->hnames);
}

static int mcols_init(mcols_t *c, const aw_store_metrics_t *rows, size_t n, aw_report_format_t fmt, aw_error_t *err)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++)
        c->nt = rows[i].n_temps > c->nt ? rows[i].n_temps : c->nt;
    size_t nt = c->nt;
    c->machine = fmt == AW_FMT_CSV || fmt == AW_FMT_JSON;
    /* Per-temperature columns in every format, up to 16 temperatures; beyond that md / latex summarize. */
    c->wide = nt <= 16 || c->machine;
    c->ncol = NCORE + (nt == 0 ? 0 : c->wide ? 2 * (int)nt : 4);
    c->keys = calloc((size_t)c->ncol, sizeof *c->keys);
    c->heads = calloc((size_t)c->ncol, sizeof *c->heads);
    c->align = malloc((size_t)c->ncol + 1);
    c->names = calloc(nt + 1, sizeof *c->names);
    c->hnames = calloc(nt + 1, sizeof *c->hnames);
    if (c->keys == NULL || c->heads == NULL || c->align == NULL || c->names == NULL || c->hnames == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    /* "Time" is the formatted epoch time; csv / json keep only seconds. */
    static const char *k0[] = {"epoch", "loss", "bound", "lr", "seconds", "points_per_s"};
    static const char *h0[] = {"Epoch", "Loss", "Bound", "LR", "Seconds", "Points/s"};
    for (int j = 0; j < NCORE; j++) {
        c->keys[j] = k0[j];
        c->heads[j] = h0[j];
    }
    if (!c->machine) {
        c->keys[4] = "epoch_time";
        c->heads[4] = "Time";
    }
    if (nt > 0 && c->wide) {
        for (size_t t = 0; t < nt; t++) {
            snprintf(c->names[t][0], sizeof c->names[t][0], "accept_%zu", t + 1);
            snprintf(c->names[t][1], sizeof c->names[t][1], "step_%zu", t + 1);
            snprintf(c->hnames[t][0], sizeof c->hnames[t][0], "acc t=%zu", t + 1);
            snprintf(c->hnames[t][1], sizeof c->hnames[t][1], "step t=%zu", t + 1);
            c->keys[NCORE + (int)t] = c->names[t][0];
            c->heads[NCORE + (int)t] = c->hnames[t][0];
            c->keys[NCORE + (int)(nt + t)] = c->names[t][1];
            c->heads[NCORE + (int)(nt + t)] = c->hnames[t][1];
        }
    } else if (nt > 0) {
        static const char *ks[] = {"accept_min", "accept_max", "step_min", "step_max"};
        static const char *hs[] = {"acc min", "acc max", "step min", "step max"};
        for (int j = 0; j < 4; j++) {
            c->keys[NCORE + j] = ks[j];
            c->heads[NCORE + j] = hs[j];
        }
    }
    memset(c->align, 'r', (size_t)c->ncol);
    c->align[c->ncol] = '\0';
    return AW_OK;
}

/* One epoch's row. */
static void metrics_row(aw_grid_t *g, const mcols_t *c, const aw_store_metrics_t *m)
{
    aw_cell_t *row = aw_grid_row(g);
    if (row == NULL)
        return;
    aw_grid_num(g, &row[0], (double)m->epoch, "%.0f");
    aw_grid_num(g, &row[1], m->loss, "%.4f");
    aw_grid_num(g, &row[2], m->bound, "%.4f");
    aw_grid_num(g, &row[3], m->lr, "%.3g");
    if (c->machine) {
        aw_grid_num(g, &row[4], m->seconds, "%.3f");
    } else {
        char buf[32];
        fmt_duration(m->seconds, buf, sizeof buf);
        aw_grid_text(g, &row[4], buf);
    }
    aw_grid_num(g, &row[5], m->points_per_s, "%.0f");
    size_t nt = c->nt;
    if (nt > 0 && c->wide) {
        for (size_t t = 0; t < nt; t++) {
            aw_grid_num(g, &row[NCORE + (int)t], t < m->n_temps ? m->accept[t] : NAN, "%.3f");
            aw_grid_num(g, &row[NCORE + (int)(nt + t)], t < m->n_temps ? m->step[t] : NAN, "%.4f");
        }
    } else if (nt > 0) {
        double amin = INFINITY, amax = -INFINITY, smin = INFINITY, smax = -INFINITY;
        for (size_t t = 0; t < m->n_temps; t++) {
            amin = fmin(amin, m->accept[t]);
            amax = fmax(amax, m->accept[t]);
            smin = fmin(smin, m->step[t]);
            smax = fmax(smax, m->step[t]);
        }
        aw_grid_num(g, &row[NCORE], amin, "%.3f");
        aw_grid_num(g, &row[NCORE + 1], amax, "%.3f");
        aw_grid_num(g, &row[NCORE + 2], smin, "%.4f");
        aw_grid_num(g, &row[NCORE + 3], smax, "%.4f");
    }
}

/* The lines under the metrics: what the temperature columns are, the run's evaluations, its message. */
static void metrics_notes(aw_grid_t *g, const aw_report_snap_t *s, const aw_report_run_t *r, size_t n, size_t nt)
{
    if (n == 0)
        aw_grid_note(g, "No epoch has finished yet.");
    if (nt > 0)
        aw_grid_note(g, "acc t / step t: HMC acceptance rate over the epoch and step size at its end, at temperature "
                     "index t = 1..%zu.", nt);
    for (size_t e = 0; e < s->n_evals; e++) {
        const aw_store_eval_t *ev = &s->evals[e];
        if (strcmp(ev->identity, r->row.identity) != 0)
            continue;
        if (ev->finished)
            aw_grid_note(g, "%s on %lld %s points at epoch %lld: %.4f \xc2\xb1 %.4f nats (standard error); %s",
                         ev->estimator, (long long)ev->n, ev->split, (long long)ev->epoch, ev->mean, ev->se,
                         ev->settings);
        else
            aw_grid_note(g, "%s at epoch %lld: running, %lld of %lld %s points done; %s", ev->estimator,
                         (long long)ev->epoch, (long long)ev->n_done, (long long)ev->n_total, ev->split,
                         ev->settings);
    }
    if (r->row.message != NULL && r->row.message[0])
        aw_grid_note(g, "Status message: %s", r->row.message);
}

int aw_report_metrics(const aw_report_snap_t *s, const aw_report_run_t *r, const aw_store_metrics_t *rows, size_t n,
                      aw_report_format_t fmt, char **out, aw_error_t *err)
{
    mcols_t c;
    int rc = mcols_init(&c, rows, n, fmt, err);
    if (rc < 0) {
        mcols_fini(&c);
        return rc;
    }
    aw_grid_t g = {.ncol = c.ncol, .keys = c.keys, .heads = c.heads, .align = c.align};
    for (size_t i = 0; i < n && !g.oom; i++)
        metrics_row(&g, &c, &rows[i]);
    metrics_notes(&g, s, r, n, c.nt);
    char title[512];
    snprintf(title, sizeof title, "Metrics of %s (%.12s), %s, epoch %lld of %lld", r->row.name, r->row.identity,
             aw_run_status_name(r->row.status), (long long)r->row.epoch, (long long)r->row.epochs_total);
    rc = aw_grid_render(&g, title, fmt, out, err);
    aw_grid_fini(&g);
    mcols_fini(&c);
    return rc;
}
