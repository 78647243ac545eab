/* aiwae-report: tables, listings, pictures and exports from the results database that aiwae-run
 * writes. A thin main over src/report/ (options, calls, printing, exit codes); it never writes
 * to the database. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "methods/plugin.h"
#include "cli/cli_common.h"
#include "util/error.h"
#include "report/disk.h"
#include "report/paired.h"
#include "util/optsuggest.h"
#include "cluster/cluster.h"
#include "report/figures.h"
#include "report/grid.h"
#include "report/html.h"
#include "report/listing.h"
#include "report/report_db.h"
#include "report/results.h"
#include "store/run_match.h"
#include "store/store.h"

#define PROG "aiwae-report"
#define BUSY_MS 5000 /* how long to wait for a writer's lock before saying the database is locked */
#define WATCH_S 5    /* --watch: seconds between refreshes */

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
    fputs("  --runs                  one line per run: identity, name, the training keys that differ\n"
          "                          between the runs listed, status, epoch, bound, speed, ETA (and of\n"
          "                          cluster task files in DB.tasks/, with their job)\n"
          "  --spec RUN              the run's resolved spec (canonical YAML, as aiwae-run stored it)\n"
          "  --disk                  what each run keeps: its checkpoints, their epochs and size, and\n"
          "                          what the retention rule keeps once it has finished\n"
          "  --compare RUN_A RUN_B [--table T]\n"
          "                          the two runs' evaluations of one estimator (default nll) paired point\n"
          "                          by point: points in common, both means, B - A, its SE, 95% interval;\n"
          "                          one run twice: its evaluations with different settings, paired\n"
          "  --metrics RUN           per-epoch metrics of a run\n"
          "  --curves RUN [RUN...] -o FILE.png|FILE.svg\n"
          "                          training bound and evaluations against epoch, one colour per run\n"
          "                          (each RUN may be a glob: every match); AIWAE runs add acceptance\n"
          "                          rate and step size per temperature\n"
          "  --samples RUN -o FILE.png\n"
          "                          decoded prior samples, test images and their reconstructions\n"
          "  --export RUN -o FILE.safetensors\n"
          "                          the parameters under the original PyTorch state-dict names\n"
          "  --html -o FILE.html     one self-contained page: the tables, the runs, each run's\n"
          "                          evaluations with settings, curves and samples\n"
          "RUN is a run's name, a unique prefix of its identity (see --runs), or a quoted glob over\n"
          "names ('mnist_10epochs-*aiwae*') that matches one run (or several, for --curves).\n"
          "\n"
          "options:\n"
          "  --db FILE               results database (default " AW_STORE_DEFAULT_PATH ")\n"
          "  --format md|csv|latex|json  table format (default: md on a terminal, csv otherwise)\n"
          "  --dataset NAME          --table / --runs: only runs on this dataset (repeatable)\n"
          "  --where KEY.PATH=VALUE  --table / --runs: only runs whose resolved spec has this value\n"
          "                          (repeatable), e.g. --where train.epochs=3280 --where model.hidden=[200,200];\n"
          "                          a --dataset or --where that matches no run is an error listing what exists\n"
          "  --status WORD           --table / --runs: only runs with this status (repeatable): pending,\n"
          "                          running, interrupted, failed or finished\n"
          "  --split train|test      evaluations of this split (default test)\n"
          "  --epoch N               tables: evaluations at epoch N (default: each run's newest);\n"
          "                          --export / --samples: the checkpoint kept at the end of epoch N\n"
          "  --reference             add the IWAE paper's numbers (Burda et al. 2015, Table 1) as a column\n"
          "  --baseline LABEL        --table: under it, each row's paired difference against the row LABEL\n"
          "                          (e.g. 'IWAE K=5'), replicates matched by repeat, point by point\n"
          "  -o, --output FILE       picture or export to write\n"
          "  --seed N                generator seed for --samples (default 0)\n"
          "  --watch[=SECONDS]       with --runs: print the listing again every SECONDS (default 5)\n"
          "                          until no run is running (or Ctrl-C)\n"
          "  --help, --version\n"
          "\n"
          "exit status: 0 done, 1 error (missing, foreign, newer or locked database; unknown or ambiguous\n"
          "run; a filter that matches no run), 2 usage error\n",
          f);
}

static int die(int code, const char *msg)
{
    return aw_cli_die(PROG, code, msg);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, PROG ": error: %s (see --help)\n", msg);
    return AW_EXIT_USAGE;
}

typedef enum { CMD_NONE, CMD_TABLE, CMD_RUNS, CMD_METRICS, CMD_CURVES, CMD_SAMPLES, CMD_EXPORT, CMD_HTML,
               CMD_SPEC, CMD_DISK, CMD_COMPARE } command_t;

typedef struct cli {
    const char *db;              /* database path */
    command_t cmd;               /* what to do */
    const char *run;             /* RUN of --metrics / --samples / --export / --spec / first of --curves */
    aw_report_query_t q;         /* table query */
    int have_format;             /* --format given */
    aw_report_format_t fmt;      /* its value */
    const char *output;          /* -o */
    uint64_t seed;               /* --seed */
    const char *const *names;    /* --curves: the runs to draw (argv[optind - 1 ..]) */
    int n_names;                 /* their number */
    int watch;                   /* --runs --watch[=SECONDS]: seconds between refreshes, 0 without */
    const char *baseline;        /* --table --baseline LABEL */
} cli_t;

static int print_text(char *text)
{
    int rc = fputs(text, stdout) < 0 || fflush(stdout) != 0;
    free(text);
    return rc ? die(AW_EIO, "cannot write to standard output") : AW_EXIT_OK;
}

/* The runs the command names (store/run_match.h) into sel[*n] (room for snap->n_runs): for --curves
 * every match of each RUN, each run once; for the others the one run RUN names. */
static int select_runs(const aw_report_snap_t *snap, const cli_t *c, size_t *sel, size_t *n, aw_error_t *err)
{
    *n = 0;
    if (c->run == NULL)
        return AW_OK;
    const aw_store_run_t **rows = malloc((snap->n_runs + 1) * sizeof *rows);
    size_t *hits = malloc((snap->n_runs + 1) * sizeof *hits);
    int rc = rows == NULL || hits == NULL ? aw_error_set(err, AW_ENOMEM, "out of memory") : AW_OK;
    for (size_t i = 0; i < snap->n_runs && rc == AW_OK; i++)
        rows[i] = &snap->runs[i].row;
    int curves = c->cmd == CMD_CURVES, many = c->cmd == CMD_CURVES || c->cmd == CMD_COMPARE;
    for (int q = 0; q < (many ? c->n_names : 1) && rc == AW_OK; q++) {
        size_t k = 0;
        rc = aw_store_run_match(rows, snap->n_runs, many ? c->names[q] : c->run, curves, hits, &k, err);
        if (rc == AW_OK && c->cmd == CMD_COMPARE) { /* A and B in order, even when they are one run */
            sel[(*n)++] = hits[0];
            continue;
        }
        for (size_t j = 0; j < k; j++) {
            int seen = 0;
            for (size_t m = 0; m < *n && !seen; m++)
                seen = sel[m] == hits[j];
            if (!seen)
                sel[(*n)++] = hits[j];
        }
    }
    free(rows);
    free(hits);
    return rc;
}

/* --spec: the run's stored resolved spec, its identity in a comment line first. */
static char *spec_text(const aw_report_run_t *r)
{
    size_t n = strlen(r->row.spec) + AW_STORE_ID_LEN + 32;
    char *t = malloc(n);
    if (t != NULL)
        snprintf(t, n, "# identity: %s\n%s", r->row.identity, r->row.spec);
    return t;
}

/* --baseline: the paired block after the table's text. */
static int append_baseline(aw_store_t *store, const aw_report_snap_t *snap, const cli_t *c, char **text,
                           aw_error_t *err)
{
    char *block = NULL;
    int rc = aw_report_baseline(store, snap, &c->q, c->baseline, c->fmt, &block, err);
    if (rc == AW_OK) {
        size_t n = strlen(*text) + strlen(block) + 2;
        char *both = malloc(n);
        if (both == NULL)
            rc = aw_error_set(err, AW_ENOMEM, "out of memory");
        else
            snprintf(both, n, "%s\n%s", *text, block);
        free(*text);
        *text = both;
    }
    free(block);
    return rc;
}

/* The one command's work, with the snapshot loaded and its runs sel[n_sel]; returns the exit status. */
static int run_command(aw_store_t *store, const aw_report_snap_t *snap, const cli_t *c, const size_t *sel,
                       size_t n_sel)
{
    aw_error_t err = {0};
    char *text = NULL;
    int rc = AW_OK;
    const aw_report_run_t *r = n_sel > 0 ? &snap->runs[sel[0]] : NULL;
    int64_t ep = -1;
    switch (c->cmd) {
    case CMD_TABLE:
        rc = aw_report_results(snap, &c->q, c->fmt, &text, &err);
        if (rc == AW_OK && c->baseline != NULL)
            rc = append_baseline(store, snap, c, &text, &err);
        break;
    case CMD_COMPARE:
        rc = aw_report_compare(store, snap, sel[0], sel[1], &c->q, c->fmt, &text, &err);
        break;
    case CMD_RUNS:
        rc = aw_report_runs(snap, &c->q, c->fmt, &text, &err);
        break;
    case CMD_SPEC:
        if ((text = spec_text(r)) == NULL)
            rc = aw_error_set(&err, AW_ENOMEM, "out of memory");
        break;
    case CMD_DISK:
        rc = aw_report_disk(store, snap, c->fmt, &text, &err);
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
        rc = aw_report_curves(store, snap, sel, n_sel, c->q.split, c->output, &err);
        if (rc == AW_OK)
            fprintf(stderr, "%s: wrote %s (%zu run%s)\n", PROG, c->output, n_sel, n_sel == 1 ? "" : "s");
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
    case CMD_HTML:
        rc = aw_report_html(store, snap, &c->q, c->output, &err);
        if (rc == AW_OK)
            fprintf(stderr, "%s: wrote %s (%zu runs)\n", PROG, c->output, snap->n_runs);
        break;
    case CMD_NONE:
        break;
    }
    if (rc < 0) {
        free(text); /* e.g. the table, when its --baseline block failed */
        return die(rc, err.msg);
    }
    return text != NULL ? print_text(text) : AW_EXIT_OK;
}

/* --runs --watch: the listing again every c->watch seconds (the screen cleared first on a terminal)
 * until no run is running; Ctrl-C ends it too. Returns the exit status. */
static int watch_runs(aw_store_t *store, const cli_t *c)
{
    const int tty = isatty(STDOUT_FILENO);
    for (int first = 1;; first = 0) {
        aw_error_t err = {0};
        aw_report_snap_t snap;
        char *text = NULL;
        int rc = aw_report_snap_load(store, &snap, &err);
        if (rc < 0)
            return die(rc, err.msg);
        size_t running = 0;
        for (size_t i = 0; i < snap.n_runs; i++)
            running += snap.runs[i].row.status == AW_RUN_RUNNING;
        rc = aw_report_runs(&snap, &c->q, c->fmt, &text, &err);
        aw_report_snap_fini(&snap);
        if (rc < 0)
            return die(rc, err.msg);
        if (!first && fputs(tty ? "\033[H\033[2J" : "\n", stdout) < 0)
            return die(AW_EIO, "cannot write to standard output");
        int st = print_text(text);
        if (st != AW_EXIT_OK || running == 0)
            return st;
        if (tty)
            printf("(%zu running; refreshing every %d s, Ctrl-C to stop)\n", running, c->watch);
        fflush(stdout);
        sleep((unsigned)c->watch);
    }
}

/* --epoch / --seed N: an integer >= 0 into *v; a usage error's exit status otherwise, else -1. */
static int parse_count(const char *opt, const char *arg, long long *v)
{
    char *end, msg[512];
    errno = 0;
    *v = strtoll(arg, &end, 10);
    if (*end != '\0' || end == arg || *v < 0 || errno == ERANGE) {
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
    case 'M': case 'C': case 'S': case 'E': case 'P': case 'Q': c->run = arg; return -1;
    case 'B': c->baseline = arg; return -1;
    case 'u': {
        int word = aw_run_status_parse(arg);
        if (word < 0) {
            snprintf(msg, sizeof msg, "--status %s: expected pending, running, interrupted, failed or finished", arg);
            return usage_error(msg);
        }
        if (c->q.n_status >= AW_REPORT_MAX_FILTERS)
            return usage_error("too many --status options");
        c->q.status[c->q.n_status++] = word;
        return -1;
    }
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
    case 'R': case 'H': case 'K': return -1;
    case 'W':
        if (arg == NULL) {
            c->watch = WATCH_S;
            return -1;
        }
        if ((st = parse_count("watch", arg, &v)) < 0) {
            if (v < 1 || v > 3600) {
                snprintf(msg, sizeof msg, "--watch=%s: expected seconds from 1 to 3600", arg);
                return usage_error(msg);
            }
            c->watch = (int)v;
        }
        return st;
    case 'h': usage(stdout); return AW_EXIT_OK;
    case 'V': return aw_cli_print_version(PROG);
    default: usage(stderr); return AW_EXIT_USAGE;
    }
}

/* The command an option names, or CMD_NONE. */
static command_t option_command(int opt)
{
    switch (opt) {
    case 'T': return CMD_TABLE;
    case 'R': return CMD_RUNS;
    case 'K': return CMD_DISK;
    case 'Q': return CMD_COMPARE;
    case 'M': return CMD_METRICS;
    case 'C': return CMD_CURVES;
    case 'S': return CMD_SAMPLES;
    case 'E': return CMD_EXPORT;
    case 'H': return CMD_HTML;
    case 'P': return CMD_SPEC;
    default: return CMD_NONE;
    }
}

/* -o FILE: the directory it goes into must exist (checked before any work); the exit status of the error
 * naming it, else -1. */
static int check_output_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return -1;
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    struct stat st;
    char msg[4200];
    if (stat(dir, &st) != 0) {
        snprintf(msg, sizeof msg, "-o %s: no directory %s (%s); create it first", path, dir, strerror(errno));
        return die(AW_EIO, msg);
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, sizeof msg, "-o %s: %s is not a directory", path, dir);
        return die(AW_EIO, msg);
    }
    return -1;
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
        {"version", no_argument, NULL, 'V'},       {"watch", optional_argument, NULL, 'W'},
        {"html", no_argument, NULL, 'H'},          {"spec", required_argument, NULL, 'P'},
        {"status", required_argument, NULL, 'u'},  {"disk", no_argument, NULL, 'K'},
        {"compare", required_argument, NULL, 'Q'}, {"baseline", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0}};
    char msg[512];
    int opt;
    opterr = 0; /* refused options are reported here, in one line */
    while ((opt = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            aw_option_error(opt, argv[optind - 1], optopt, longopts, msg, sizeof msg);
            fprintf(stderr, PROG ": error: %s; try --help\n", msg);
            return AW_EXIT_USAGE;
        }
        int st = take_option(opt, optarg, c);
        if (st >= 0)
            return st;
        command_t cmd = option_command(opt);
        /* --compare takes --table as the table whose estimator it pairs */
        if ((cmd == CMD_TABLE && c->cmd == CMD_COMPARE) || (cmd == CMD_COMPARE && c->cmd == CMD_TABLE))
            c->cmd = CMD_NONE, cmd = CMD_COMPARE;
        if (cmd != CMD_NONE) {
            if (c->cmd != CMD_NONE)
                return usage_error("give one command (--table, --runs, --spec, --disk, --metrics, --curves, --samples, "
                                   "--export or --html)");
            c->cmd = cmd;
        }
    }
    if (c->cmd == CMD_NONE)
        return usage_error("no command (--table, --runs, --spec, --disk, --metrics, --curves, --samples, --export or "
                           "--html)");
    if (c->cmd == CMD_COMPARE && argc - optind != 1)
        return usage_error("--compare RUN_A RUN_B: give the second run after the first");
    if (c->baseline != NULL && c->cmd != CMD_TABLE)
        return usage_error("--baseline goes with --table");
    if (optind < argc && c->cmd != CMD_CURVES && c->cmd != CMD_COMPARE) {
        snprintf(msg, sizeof msg, "unexpected argument \"%s\"", argv[optind]);
        return usage_error(msg);
    }
    int needs_output = c->cmd == CMD_CURVES || c->cmd == CMD_SAMPLES || c->cmd == CMD_EXPORT || c->cmd == CMD_HTML;
    if (needs_output && c->output == NULL)
        return usage_error("this command writes a file: give -o FILE");
    if (!needs_output && c->output != NULL)
        return usage_error("-o goes with --curves, --samples, --export or --html");
    if (c->watch > 0 && c->cmd != CMD_RUNS)
        return usage_error("--watch goes with --runs");
    if (c->cmd != CMD_TABLE && c->cmd != CMD_RUNS && c->q.n_datasets + c->q.n_where + c->q.n_status > 0)
        return usage_error("--dataset, --where and --status go with --table or --runs");
    if (!c->have_format)
        c->fmt = isatty(STDOUT_FILENO) ? AW_FMT_MD : AW_FMT_CSV;
    return c->output != NULL ? check_output_dir(c->output) : -1;
}

int main(int argc, char **argv)
{
    aw_cli_blas_core(PROG, argv);
    cli_t c = {.db = AW_STORE_DEFAULT_PATH, .q = {.epoch = -1}};
    int st = parse_args(argc, argv, &c);
    if (st >= 0)
        return st;
    /* --curves RUN [RUN...]: the first RUN, then the operands getopt moved to the end */
    const char **names = NULL;
    if (c.cmd == CMD_COMPARE) {
        static const char *pair[2];
        pair[0] = c.run, pair[1] = argv[optind];
        c.names = pair;
        c.n_names = 2;
    } else if (c.cmd == CMD_CURVES) {
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
    size_t *sel = malloc((snap.n_runs + 1) * sizeof *sel), n_sel = 0;
    int status;
    if (sel == NULL)
        status = die(AW_ENOMEM, "out of memory");
    else if ((rc = select_runs(&snap, &c, sel, &n_sel, &err)) < 0)
        status = die(rc, err.msg);
    else
        status = c.watch > 0 ? watch_runs(store, &c) : run_command(store, &snap, &c, sel, n_sel);
    free(sel);
    aw_report_snap_fini(&snap);
    aw_store_close(store);
    free(names);
    return status;
}
