/* report.h: what aiwae-report prints, built from an in-memory snapshot of the results database:
 * the paper's NLL / ELBO tables, the run listing and a run's per-epoch metrics, as md, csv, latex or json.
 *
 * Every function renders into a new malloc'd NUL-terminated string *out that the caller frees;
 * nothing here prints or reads the database (report_db.h fills the snapshot). The snapshot owns
 * all its rows; functions taking it borrow it. */
#ifndef AW_REPORT_H
#define AW_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "spec/spec.h"
#include "store/store.h"

typedef enum aw_report_format {
    AW_FMT_MD = 0, /* Markdown pipe table plus notes: for terminals and READMEs */
    AW_FMT_CSV,    /* comma-separated, header line first (RFC 4180 quoting) */
    AW_FMT_LATEX,  /* a booktabs table environment */
    AW_FMT_JSON    /* one JSON object */
} aw_report_format_t;

/* "md" | "csv" | "latex" | "json" -> *fmt; AW_EARG naming the word otherwise. */
int aw_report_format_parse(const char *word, aw_report_format_t *fmt, aw_error_t *err);

/* One run of the snapshot. */
typedef struct aw_report_run {
    aw_store_run_t row;       /* its row of table runs (owned) */
    aw_spec_t spec;           /* resolved spec rebuilt from row.spec (owned; valid when spec_ok) */
    int spec_ok;              /* 1 if row.spec loaded */
    char spec_error[256];     /* why it did not load, else "" */
    int has_metrics;          /* 1 if at least one epoch's metrics exist */
    aw_store_metrics_t last;  /* the newest metrics row (owned arrays; valid when has_metrics) */
    double recent_epoch_s;    /* mean wall seconds of the newest (up to 5) epochs; NaN without metrics */
} aw_report_run_t;

/* Everything the tables read, taken in one read transaction. */
typedef struct aw_report_snap {
    aw_report_run_t *runs;  /* [n_runs], oldest first (owned) */
    size_t n_runs;          /* number of runs */
    aw_store_eval_t *evals; /* [n_evals] evaluations of all runs (owned) */
    size_t n_evals;         /* number of evaluations */
} aw_report_snap_t;

/* Releases what a snapshot owns and zeroes it; safe on a zeroed snapshot. */
void aw_report_snap_fini(aw_report_snap_t *s);

/* The run named by query: its full name, or a unique prefix of its identity (hex, any case).
 * *index receives its position in s->runs. AW_ENOTFOUND when nothing matches (the message
 * lists the runs there are, or says the database has none) or when several do (it lists them). */
int aw_report_find_run(const aw_report_snap_t *s, const char *query, size_t *index, aw_error_t *err);

/* ---- the paper's tables ---- */

typedef enum aw_report_table {
    AW_TABLE_NLL = 0, /* estimator ais_nll: "NLL" */
    AW_TABLE_ELBO     /* estimator iwae_bound: "ELBO" (IWAE bound, nats) */
} aw_report_table_t;

#define AW_REPORT_MAX_FILTERS 16

/* What to put in a results table. Strings are borrowed. */
typedef struct aw_report_query {
    aw_report_table_t table;                       /* which table */
    const char *split;                             /* data split evaluated ("test" if NULL) */
    int64_t epoch;                                 /* evaluations at this epoch; < 0: each run's newest */
    int n_datasets;                                /* 0: every dataset */
    const char *datasets[AW_REPORT_MAX_FILTERS];   /* keep runs whose dataset.name is one of these */
    int n_where;                                   /* conditions, all must hold */
    const char *where[AW_REPORT_MAX_FILTERS];      /* "KEY.PATH=VALUE" on the resolved spec */
    int reference;                                 /* 1: add the IWAE paper's numbers (SPEC 7) as a column */
} aw_report_query_t;

/* Renders the table: rows are methods with their settings (and whatever else tells runs apart),
 * columns datasets, cells mean +- standard deviation of the finished evaluations over replicates
 * (runs whose resolved specs differ only in name, repeat, seed and threads). Evaluations with
 * different estimator settings, split, epoch or points never share a cell; the settings are
 * listed under the table. Returns 0, AW_EARG (bad where clause), AW_ENOTFOUND (a where key no
 * run has) or AW_ENOMEM. */
int aw_report_results(const aw_report_snap_t *s, const aw_report_query_t *q, aw_report_format_t fmt, char **out,
                      aw_error_t *err);

/* 1 if the canonical spec yaml has a scalar at key_path ("a.b[0].c" or "a.b.0.c") equal to
 * value (as text, or as numbers when both read as numbers), 0 if it differs or is not a scalar,
 * -1 if the key is absent; AW_ESPEC / AW_ENOMEM (< -1) when yaml does not parse. */
int aw_report_spec_match(const char *yaml, const char *key_path, const char *value, aw_error_t *err);

/* The published MNIST test NLL for the run's method and settings (its plugin's reference: the IWAE paper,
 * Table 1), or NaN. */
double aw_report_reference(const aw_spec_t *spec);

/* ---- listings ---- */

/* One line per run: short identity, name, status, epoch / total, last training bound, points/s,
 * last update, and an ETA for running runs (from the recent epochs' time). */
int aw_report_runs(const aw_report_snap_t *s, aw_report_format_t fmt, char **out, aw_error_t *err);

/* The per-epoch metrics rows[n] of run r (acceptance rate and step size per temperature for
 * methods that have temperatures), with its finished evaluations from s listed under the table. */
int aw_report_metrics(const aw_report_snap_t *s, const aw_report_run_t *r, const aw_store_metrics_t *rows, size_t n,
                      aw_report_format_t fmt, char **out, aw_error_t *err);

/* Method label as in the paper's tables: "VAE", "IWAE K=5", "AIWAE K=5 T=5 L=5". */
void aw_report_method_label(const aw_spec_t *spec, char *buf, size_t n);

#endif
