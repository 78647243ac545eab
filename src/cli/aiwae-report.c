/* aiwae-report: tables, listings, pictures and exports from the results database that aiwae-run
 * writes. A thin main over report.h / report_db.h / plot.h; it never writes to the database. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "util/error.h"
#include "report/plot.h"
#include "report/report.h"
#include "report/report_db.h"
#include "util/rng.h"
#include "run/run.h"
#include "store/store.h"

#define PROG "aiwae-report"
#define BUSY_MS 5000 /* how long to wait for a writer's lock before saying the database is locked */

/* Under LeakSanitizer (the sanitizer build): fontconfig, which cairo uses for text, keeps a
 * process-wide cache that only FcFini frees. It is not ours to free; nothing else is suppressed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static void usage(FILE *f)
{
    fputs("usage: " PROG " [--db FILE] COMMAND [options]\n"
          "Reads the results database that aiwae-run writes (never writes to it; works while runs are going).\n"
          "\n"
          "commands:\n"
          "  --table nll|elbo        the paper's tables: methods x datasets, mean +- sd over replicates\n"
          "  --runs                  one line per run: identity, name, status, epoch, bound, speed, ETA\n"
          "  --metrics RUN           per-epoch metrics of a run\n"
          "  --curves RUN [RUN...] -o FILE.png|FILE.svg\n"
          "                          training bound and evaluations against epoch; AIWAE runs add\n"
          "                          acceptance rate and step size per temperature\n"
          "  --samples RUN -o FILE.png\n"
          "                          decoded prior samples, test images and their reconstructions\n"
          "  --export RUN -o FILE.safetensors\n"
          "                          the parameters under the original PyTorch state-dict names\n"
          "RUN is a run's name or a unique prefix of its identity (see --runs).\n"
          "\n"
          "options:\n"
          "  --db FILE               results database (default " AW_STORE_DEFAULT_PATH ")\n"
          "  --format md|csv|latex|json  table format (default: md on a terminal, csv otherwise)\n"
          "  --dataset NAME          only runs on this dataset (repeatable)\n"
          "  --where KEY.PATH=VALUE  only runs whose resolved spec has this value (repeatable), e.g.\n"
          "                          --where train.epochs=3280 --where model.hidden=[200,200]\n"
          "  --split train|test      evaluations of this split (default test)\n"
          "  --epoch N               tables: evaluations at epoch N (default: each run's newest);\n"
          "                          --export / --samples: the checkpoint kept at the end of epoch N\n"
          "  --reference             add the IWAE paper's numbers (Burda et al. 2015, Table 1) as a column\n"
          "  -o, --output FILE       picture or export to write\n"
          "  --seed N                generator seed for --samples (default 0)\n"
          "  --help, --version\n"
          "\n"
          "exit status: 0 done, 1 error (missing, foreign, newer or locked database; unknown run), 2 usage error\n",
          f);
}

static int die(int code, const char *msg)
{
    fprintf(stderr, PROG ": error: %s\n", msg);
    return aw_error_exit_status(code);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, PROG ": error: %s (see --help)\n", msg);
    return AW_EXIT_USAGE;
}

typedef enum { CMD_NONE, CMD_TABLE, CMD_RUNS, CMD_METRICS, CMD_CURVES, CMD_SAMPLES, CMD_EXPORT } command_t;

typedef struct cli {
    const char *db;              /* database path */
    command_t cmd;               /* what to do */
    const char *run;             /* RUN of --metrics / --samples / --export / first of --curves */
    aw_report_query_t q;         /* table query */
    int have_format;             /* --format given */
    aw_report_format_t fmt;      /* its value */
    const char *output;          /* -o */
    uint64_t seed;               /* --seed */
} cli_t;

static int print_text(char *text)
{
    int rc = fputs(text, stdout) < 0 || fflush(stdout) != 0;
    free(text);
    return rc ? die(AW_EIO, "cannot write to standard output") : AW_EXIT_OK;
}

/* --curves: metrics and finished evaluations of each run. */
static int cmd_curves(aw_store_t *store, const aw_report_snap_t *snap, const cli_t *c, char **names, int n_names)
{
    aw_error_t err = {0};
    aw_plot_run_t *pr = calloc((size_t)n_names, sizeof *pr);
    aw_store_metrics_t **ms = calloc((size_t)n_names, sizeof *ms);
    size_t *nms = calloc((size_t)n_names, sizeof *nms);
    aw_plot_eval_t *ev = calloc(snap->n_evals + 1, sizeof *ev);
    int rc = AW_OK, status = AW_EXIT_OK;
    if (pr == NULL || ms == NULL || nms == NULL || ev == NULL) {
        status = die(AW_ENOMEM, "out of memory");
        goto out;
    }
    size_t nev = 0;
    for (int i = 0; i < n_names && rc == AW_OK; i++) {
        size_t at;
        if ((rc = aw_report_find_run(snap, names[i], &at, &err)) < 0)
            break;
        const aw_report_run_t *r = &snap->runs[at];
        if ((rc = aw_store_metrics_list(store, r->row.identity, &ms[i], &nms[i], &err)) < 0)
            break;
        pr[i].name = r->row.name;
        pr[i].metrics = ms[i];
        pr[i].n_metrics = nms[i];
        pr[i].evals = ev + nev;
        for (size_t e = 0; e < snap->n_evals; e++) {
            const aw_store_eval_t *x = &snap->evals[e];
            if (strcmp(x->identity, r->row.identity) != 0 || !x->finished ||
                strcmp(x->split, c->q.split ? c->q.split : "test") != 0)
                continue;
            ev[nev++] = (aw_plot_eval_t){.estimator = x->estimator, .split = x->split, .epoch = x->epoch,
                                         .mean = x->mean, .se = x->se};
            pr[i].n_evals++;
        }
    }
    if (rc == AW_OK)
        rc = aw_plot_curves(c->output, "aiwae training curves", pr, (size_t)n_names, &err);
    if (rc < 0)
        status = die(rc, err.msg);
    else
        fprintf(stderr, "%s: wrote %s\n", PROG, c->output);
out:
    for (int i = 0; ms != NULL && i < n_names; i++)
        aw_store_metrics_free(ms[i], nms[i]);
    free(pr);
    free(ms);
    free(nms);
    free(ev);
    return status;
}

/* --samples: 64 prior samples and 32 test images with their reconstructions. */
static int cmd_samples(aw_store_t *store, const aw_report_run_t *r, const cli_t *c)
{
    enum { N_PRIOR = 64, N_TEST = 32 };
    aw_error_t err = {0};
    if (!r->spec_ok)
        return die(AW_ESPEC, r->spec_error);
    aw_model_t m;
    memset(&m, 0, sizeof m);
    int64_t epoch = -1;
    int rc = aw_run_load_model(store, r->row.identity, c->q.epoch, &m, &epoch, &err);
    if (rc < 0)
        return die(rc, err.msg);
    aw_binarize_t bin;
    aw_data_opts_t opts;
    aw_dataset_t ds;
    memset(&ds, 0, sizeof ds);
    float *buf = NULL;
    aw_model_ws_t *ws = NULL;
    int status = AW_EXIT_OK;
    if ((rc = aw_binarize_parse(r->spec.dataset.binarize, &bin, &err)) < 0)
        goto fail;
    aw_run_data_opts(&r->spec, &opts);
    opts.bin = &bin;
    if ((rc = aw_data_load(&opts, "test", &ds, &err)) < 0)
        goto fail;
    int D = m.shape.D, H = m.shape.H;
    if ((size_t)D != ds.dim || ds.rows * ds.cols != D) {
        rc = aw_error_set(&err, AW_EFORMAT, "%s: images have %zu pixels, the model %d", ds.source, ds.dim, D);
        goto fail;
    }
    int nt = ds.n < N_TEST ? (int)ds.n : N_TEST;
    size_t need = (size_t)N_PRIOR * (size_t)(H + D) + (size_t)nt * (size_t)(3 * D + 2 * H);
    buf = malloc(need * sizeof *buf);
    ws = aw_model_ws_new(&m.shape, nt, nt);
    if (buf == NULL || ws == NULL || nt < 1) {
        rc = aw_error_set(&err, nt < 1 ? AW_EFORMAT : AW_ENOMEM, "%s", nt < 1 ? "the test split is empty" : "out of memory");
        goto fail;
    }
    float *h = buf, *prior = h + (size_t)N_PRIOR * H, *x = prior + (size_t)N_PRIOR * D, *mu = x + (size_t)nt * D,
          *ls = mu + (size_t)nt * H, *recon = ls + (size_t)nt * H;
    aw_rng_t rng;
    aw_rng_seed(&rng, c->seed, 0x53414d504c45ULL);
    aw_rng_fill_normal(&rng, h, (size_t)N_PRIOR * (size_t)H);
    if ((rc = aw_report_decode(&m, h, N_PRIOR, prior, &err)) < 0)
        goto fail;
    size_t idx[N_TEST];
    for (int i = 0; i < nt; i++)
        idx[i] = (size_t)i;
    if ((rc = aw_data_batch(&ds, idx, nt, &bin, &rng, x)) < 0 ||
        (rc = aw_model_encode(&m, ws, x, nt, mu, ls)) < 0 || (rc = aw_report_decode(&m, mu, nt, recon, &err)) < 0) {
        if (err.code == AW_OK)
            aw_error_set(&err, rc, "cannot encode or decode the test images");
        goto fail;
    }
    char title[512];
    snprintf(title, sizeof title, "%.200s (%.12s), epoch %lld, %s test set", r->row.name, r->row.identity,
             (long long)epoch, r->spec.dataset.name);
    if ((rc = aw_plot_samples(c->output, title, ds.rows, ds.cols, prior, N_PRIOR, x, recon, nt, &err)) < 0)
        goto fail;
    fprintf(stderr, "%s: wrote %s (epoch %lld)\n", PROG, c->output, (long long)epoch);
    goto out;
fail:
    status = die(rc, err.msg);
out:
    aw_model_ws_free(ws);
    free(buf);
    aw_dataset_fini(&ds);
    aw_model_fini(&m);
    return status;
}

int main(int argc, char **argv)
{
    cli_t c = {.db = AW_STORE_DEFAULT_PATH, .q = {.epoch = -1}};
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},      {"table", required_argument, NULL, 'T'},
        {"runs", no_argument, NULL, 'R'},          {"metrics", required_argument, NULL, 'M'},
        {"curves", required_argument, NULL, 'C'},  {"samples", required_argument, NULL, 'S'},
        {"export", required_argument, NULL, 'E'},  {"format", required_argument, NULL, 'f'},
        {"dataset", required_argument, NULL, 'D'}, {"where", required_argument, NULL, 'w'},
        {"split", required_argument, NULL, 's'},   {"epoch", required_argument, NULL, 'e'},
        {"reference", no_argument, NULL, 'r'},     {"output", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 'z'},    {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
    aw_error_t err = {0};
    int opt;
    char msg[512];
    while ((opt = getopt_long(argc, argv, "o:hV", longopts, NULL)) != -1) {
        command_t cmd = CMD_NONE;
        switch (opt) {
        case 'd':
            c.db = optarg;
            break;
        case 'T':
            cmd = CMD_TABLE;
            if (strcmp(optarg, "nll") == 0)
                c.q.table = AW_TABLE_NLL;
            else if (strcmp(optarg, "elbo") == 0)
                c.q.table = AW_TABLE_ELBO;
            else {
                snprintf(msg, sizeof msg, "--table %s: expected nll or elbo", optarg);
                return usage_error(msg);
            }
            break;
        case 'R':
            cmd = CMD_RUNS;
            break;
        case 'M':
        case 'C':
        case 'S':
        case 'E':
            cmd = opt == 'M' ? CMD_METRICS : opt == 'C' ? CMD_CURVES : opt == 'S' ? CMD_SAMPLES : CMD_EXPORT;
            c.run = optarg;
            break;
        case 'f':
            if (aw_report_format_parse(optarg, &c.fmt, &err) < 0)
                return usage_error(err.msg);
            c.have_format = 1;
            break;
        case 'D':
        case 'w':
            if ((opt == 'D' ? c.q.n_datasets : c.q.n_where) >= AW_REPORT_MAX_FILTERS)
                return usage_error("too many --dataset / --where options");
            if (opt == 'D')
                c.q.datasets[c.q.n_datasets++] = optarg;
            else if (strchr(optarg, '=') == NULL || optarg[0] == '=') {
                snprintf(msg, sizeof msg, "--where %s: expected KEY.PATH=VALUE", optarg);
                return usage_error(msg);
            } else
                c.q.where[c.q.n_where++] = optarg;
            break;
        case 's':
            c.q.split = optarg;
            break;
        case 'e':
        case 'z': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end != '\0' || end == optarg || v < 0) {
                snprintf(msg, sizeof msg, "--%s %s: expected an integer >= 0", opt == 'e' ? "epoch" : "seed", optarg);
                return usage_error(msg);
            }
            if (opt == 'e')
                c.q.epoch = v;
            else
                c.seed = (uint64_t)v;
            break;
        }
        case 'r':
            c.q.reference = 1;
            break;
        case 'o':
            c.output = optarg;
            break;
        case 'h':
            usage(stdout);
            return AW_EXIT_OK;
        case 'V':
            puts(PROG " " PACKAGE_VERSION);
            return AW_EXIT_OK;
        default:
            usage(stderr);
            return AW_EXIT_USAGE;
        }
        if (cmd != CMD_NONE) {
            if (c.cmd != CMD_NONE)
                return usage_error("give one command (--table, --runs, --metrics, --curves, --samples or --export)");
            c.cmd = cmd;
        }
    }
    if (c.cmd == CMD_NONE)
        return usage_error("no command (--table, --runs, --metrics, --curves, --samples or --export)");
    if (optind < argc && c.cmd != CMD_CURVES) {
        snprintf(msg, sizeof msg, "unexpected argument \"%s\"", argv[optind]);
        return usage_error(msg);
    }
    int needs_output = c.cmd == CMD_CURVES || c.cmd == CMD_SAMPLES || c.cmd == CMD_EXPORT;
    if (needs_output && c.output == NULL)
        return usage_error("this command writes a file: give -o FILE");
    if (!needs_output && c.output != NULL)
        return usage_error("-o goes with --curves, --samples or --export");
    if (!c.have_format)
        c.fmt = isatty(STDOUT_FILENO) ? AW_FMT_MD : AW_FMT_CSV;

    aw_store_t *store = NULL;
    int rc = aw_report_open(&store, c.db, BUSY_MS, &err);
    if (rc < 0)
        return die(rc, err.msg);
    aw_report_snap_t snap;
    if ((rc = aw_report_snap_load(store, &snap, &err)) < 0) {
        aw_store_close(store);
        return die(rc, err.msg);
    }
    int status = AW_EXIT_OK;
    char *text = NULL;
    size_t at = 0;
    if (c.run != NULL && c.cmd != CMD_CURVES && (rc = aw_report_find_run(&snap, c.run, &at, &err)) < 0) {
        status = die(rc, err.msg);
        goto out;
    }
    switch (c.cmd) {
    case CMD_TABLE:
        rc = aw_report_results(&snap, &c.q, c.fmt, &text, &err);
        break;
    case CMD_RUNS:
        rc = aw_report_runs(&snap, c.fmt, &text, &err);
        break;
    case CMD_METRICS: {
        aw_store_metrics_t *rows = NULL;
        size_t n = 0;
        rc = aw_store_metrics_list(store, snap.runs[at].row.identity, &rows, &n, &err);
        if (rc == AW_OK)
            rc = aw_report_metrics(&snap, &snap.runs[at], rows, n, c.fmt, &text, &err);
        aw_store_metrics_free(rows, n);
        break;
    }
    case CMD_CURVES: {
        int n = 1 + (argc - optind);
        char **names = malloc((size_t)n * sizeof *names);
        if (names == NULL) {
            status = die(AW_ENOMEM, "out of memory");
            goto out;
        }
        names[0] = (char *)c.run;
        for (int i = 1; i < n; i++)
            names[i] = argv[optind + i - 1];
        status = cmd_curves(store, &snap, &c, names, n);
        free(names);
        goto out;
    }
    case CMD_SAMPLES:
        status = cmd_samples(store, &snap.runs[at], &c);
        goto out;
    case CMD_EXPORT: {
        int64_t ep = -1;
        rc = aw_report_export(store, &snap.runs[at], c.q.epoch, c.output, PACKAGE_VERSION, &ep, &err);
        if (rc == AW_OK)
            fprintf(stderr, "%s: wrote %s (%s, epoch %lld)\n", PROG, c.output, snap.runs[at].row.name, (long long)ep);
        break;
    }
    case CMD_NONE:
        break;
    }
    if (rc < 0)
        status = die(rc, err.msg);
    else if (text != NULL)
        status = print_text(text);
out:
    aw_report_snap_fini(&snap);
    aw_store_close(store);
    return status;
}
