/* aiwae-report: tables, listings, pictures and exports from the results database that aiwae-run
 * writes. A thin main over src/report/ (options, calls, printing, exit codes); it never writes
 * to the database. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "methods/plugin.h"
#include "util/error.h"
#include "cluster/cluster.h"
#include "report/figures.h"
#include "report/find.h"
#include "report/grid.h"
#include "report/listing.h"
#include "report/report_db.h"
#include "report/results.h"
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
    char tables[128], head[160];
    aw_estimator_tables(tables, sizeof tables, "|", "|");
    snprintf(head, sizeof head, "--table %s", tables);
    fprintf(f, "usage: " PROG " [--db FILE] COMMAND [options]\n"
               "Reads the results database that aiwae-run writes (never writes to it; works while runs are "
               "going).\n\ncommands:\n  %-22s  the paper's tables: methods x datasets, mean +- sd over replicates\n",
            head);
    fputs("  --runs                  one line per run: identity, name, status, epoch, bound, speed, ETA\n"
          "                          (and of cluster task files in DB.tasks/, with their job)\n"
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
    const char *const *names;    /* --curves: the runs to draw (argv[optind - 1 ..]) */
    int n_names;                 /* their number */
} cli_t;

static int print_text(char *text)
{
    int rc = fputs(text, stdout) < 0 || fflush(stdout) != 0;
    free(text);
    return rc ? die(AW_EIO, "cannot write to standard output") : AW_EXIT_OK;
}

/* The one command's work, with the snapshot loaded; returns the exit status. */
static int run_command(aw_store_t *store, const aw_report_snap_t *snap, const cli_t *c)
{
    aw_error_t err = {0};
    char *text = NULL;
    size_t at = 0;
    int rc = AW_OK;
    if (c->run != NULL && c->cmd != CMD_CURVES && (rc = aw_report_find_run(snap, c->run, &at, &err)) < 0)
        return die(rc, err.msg);
    const aw_report_run_t *r = c->run != NULL && c->cmd != CMD_CURVES ? &snap->runs[at] : NULL;
    int64_t ep = -1;
    switch (c->cmd) {
    case CMD_TABLE:
        rc = aw_report_results(snap, &c->q, c->fmt, &text, &err);
        break;
    case CMD_RUNS:
        rc = aw_report_runs(snap, c->fmt, &text, &err);
        break;
    case CMD_METRICS: {
        aw_store_metrics_t *rows = NULL;
        size_t n = 0;
        rc = aw_store_metrics_list(store, r->row.identity, &rows, &n, &err);
        if (rc == AW_OK)
            rc = aw_report_metrics(snap, r, rows, n, c->fmt, &text, &err);
        aw_store_metrics_free(rows, n);
        break;
    }
    case CMD_CURVES:
        rc = aw_report_curves(store, snap, c->names, c->n_names, c->q.split, c->output, &err);
        if (rc == AW_OK)
            fprintf(stderr, "%s: wrote %s\n", PROG, c->output);
        break;
    case CMD_SAMPLES:
        rc = aw_report_samples(store, r, c->q.epoch, c->seed, c->output, &ep, &err);
        if (rc == AW_OK)
            fprintf(stderr, "%s: wrote %s (epoch %lld)\n", PROG, c->output, (long long)ep);
        break;
    case CMD_EXPORT:
        rc = aw_report_export(store, r, c->q.epoch, c->output, PACKAGE_VERSION, &ep, &err);
        if (rc == AW_OK)
            fprintf(stderr, "%s: wrote %s (%s, epoch %lld)\n", PROG, c->output, r->row.name, (long long)ep);
        break;
    case CMD_NONE:
        break;
    }
    if (rc < 0)
        return die(rc, err.msg);
    return text != NULL ? print_text(text) : AW_EXIT_OK;
}

/* --epoch / --seed N: an integer >= 0 into *v; a usage error's exit status otherwise, else -1. */
static int parse_count(const char *opt, const char *arg, long long *v)
{
    char *end, msg[512];
    *v = strtoll(arg, &end, 10);
    if (*end != '\0' || end == arg || *v < 0) {
        snprintf(msg, sizeof msg, "--%s %s: expected an integer >= 0", opt, arg);
        return usage_error(msg);
    }
    return -1;
}

/* One option (getopt_long's opt, optarg) into c: -1 to go on, or the exit status to end with. */
static int take_option(int opt, const char *arg, cli_t *c)
{
    aw_error_t err = {0};
    char msg[512];
    long long v;
    int st;
    switch (opt) {
    case 'd': c->db = arg; return -1;
    case 'T':
        if (aw_estimator_for_table(arg) == NULL) {
            char tables[128];
            aw_estimator_tables(tables, sizeof tables, ", ", " or ");
            snprintf(msg, sizeof msg, "--table %s: expected %s", arg, tables);
            return usage_error(msg);
        }
        c->q.table = arg;
        return -1;
    case 'M': case 'C': case 'S': case 'E': c->run = arg; return -1;
    case 'f':
        if (aw_report_format_parse(arg, &c->fmt, &err) < 0)
            return usage_error(err.msg);
        c->have_format = 1;
        return -1;
    case 'D':
    case 'w':
        if ((opt == 'D' ? c->q.n_datasets : c->q.n_where) >= AW_REPORT_MAX_FILTERS)
            return usage_error("too many --dataset / --where options");
        if (opt == 'D')
            c->q.datasets[c->q.n_datasets++] = arg;
        else if (strchr(arg, '=') == NULL || arg[0] == '=') {
            snprintf(msg, sizeof msg, "--where %s: expected KEY.PATH=VALUE", arg);
            return usage_error(msg);
        } else
            c->q.where[c->q.n_where++] = arg;
        return -1;
    case 's': c->q.split = arg; return -1;
    case 'e':
        if ((st = parse_count("epoch", arg, &v)) < 0)
            c->q.epoch = v;
        return st;
    case 'z':
        if ((st = parse_count("seed", arg, &v)) < 0)
            c->seed = (uint64_t)v;
        return st;
    case 'r': c->q.reference = 1; return -1;
    case 'o': c->output = arg; return -1;
    case 'R': return -1;
    case 'h': usage(stdout); return AW_EXIT_OK;
    case 'V': puts(PROG " " PACKAGE_VERSION); return AW_EXIT_OK;
    default: usage(stderr); return AW_EXIT_USAGE;
    }
}

/* The command an option names, or CMD_NONE. */
static command_t option_command(int opt)
{
    switch (opt) {
    case 'T': return CMD_TABLE;
    case 'R': return CMD_RUNS;
    case 'M': return CMD_METRICS;
    case 'C': return CMD_CURVES;
    case 'S': return CMD_SAMPLES;
    case 'E': return CMD_EXPORT;
    default: return CMD_NONE;
    }
}

/* The command line into c: -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, cli_t *c)
{
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
    char msg[512];
    int opt;
    while ((opt = getopt_long(argc, argv, "o:hV", longopts, NULL)) != -1) {
        int st = take_option(opt, optarg, c);
        if (st >= 0)
            return st;
        command_t cmd = option_command(opt);
        if (cmd != CMD_NONE) {
            if (c->cmd != CMD_NONE)
                return usage_error("give one command (--table, --runs, --metrics, --curves, --samples or --export)");
            c->cmd = cmd;
        }
    }
    if (c->cmd == CMD_NONE)
        return usage_error("no command (--table, --runs, --metrics, --curves, --samples or --export)");
    if (optind < argc && c->cmd != CMD_CURVES) {
        snprintf(msg, sizeof msg, "unexpected argument \"%s\"", argv[optind]);
        return usage_error(msg);
    }
    int needs_output = c->cmd == CMD_CURVES || c->cmd == CMD_SAMPLES || c->cmd == CMD_EXPORT;
    if (needs_output && c->output == NULL)
        return usage_error("this command writes a file: give -o FILE");
    if (!needs_output && c->output != NULL)
        return usage_error("-o goes with --curves, --samples or --export");
    if (!c->have_format)
        c->fmt = isatty(STDOUT_FILENO) ? AW_FMT_MD : AW_FMT_CSV;
    return -1;
}

int main(int argc, char **argv)
{
    cli_t c = {.db = AW_STORE_DEFAULT_PATH, .q = {.epoch = -1}};
    int st = parse_args(argc, argv, &c);
    if (st >= 0)
        return st;
    /* --curves RUN [RUN...]: the first RUN, then the operands getopt moved to the end */
    const char **names = NULL;
    if (c.cmd == CMD_CURVES) {
        c.n_names = 1 + (argc - optind);
        if ((names = malloc((size_t)c.n_names * sizeof *names)) == NULL)
            return die(AW_ENOMEM, "out of memory");
        names[0] = c.run;
        for (int i = 1; i < c.n_names; i++)
            names[i] = argv[optind + i - 1];
        c.names = names;
    }
    aw_error_t err = {0};
    aw_store_t *store = NULL;
    aw_report_snap_t snap;
    int rc = aw_report_open(&store, c.db, BUSY_MS, &err);
    if (rc == AW_OK && (rc = aw_report_snap_load(store, &snap, &err)) < 0)
        aw_store_close(store);
    int n_task_files = 0; /* --runs: the runs still in cluster task files too (docs/cluster.md) */
    if (rc == AW_OK && c.cmd == CMD_RUNS && (rc = aw_cluster_overlay(c.db, &snap, &n_task_files, &err)) < 0) {
        aw_report_snap_fini(&snap);
        aw_store_close(store);
    }
    if (rc < 0) {
        free(names);
        return die(rc, err.msg);
    }
    int status = run_command(store, &snap, &c);
    aw_report_snap_fini(&snap);
    aw_store_close(store);
    free(names);
    return status;
}
