/* aiwae-run: trains and evaluates the runs of an experiment spec, resuming
 * each from its latest checkpoint. A thin main over the library (run.h). */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_progress.h"
#include "util/error.h"
#include "util/optsuggest.h"
#include "run/run.h"
#include "run/stored.h"
#include "spec/spec.h"
#include "store/store.h"

#define PROG "aiwae-run"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fputs("usage: " PROG " [options] SPEC.yaml\n"
          "       " PROG " [options] --evaluate RUN\n"
          "       " PROG " --describe\n"
          "Trains and evaluates every run of an experiment spec. Running it again resumes\n"
          "unfinished runs from their latest checkpoint and skips finished ones.\n"
          "\n"
          "options:\n"
          "  --db FILE           results database (default results/aiwae.db)\n"
          "  --set KEY.PATH=VAL  override a spec key; VAL is YAML (repeatable), e.g.\n"
          "                      --set train.epochs=10 --set 'evaluate=[]' --set 'sweep={}'\n"
          "  --dry-run           print each resolved run (canonical YAML and identity) and exit\n"
          "  --evaluate RUN      evaluate a finished run of the database (a name, an identity prefix or a\n"
          "                      glob over names) with its stored spec and the --set overrides, e.g.\n"
          "                      --evaluate mnist_iwae_k5 --set 'evaluate=[{estimator: ais_nll}]'\n"
          "  --fresh             start a new replicate (next unused repeat) instead of resuming\n"
          "  --threads N         threads for BLAS and element-wise work (default: train.threads)\n"
          "  --quiet             no progress output\n"
          "  --describe          print every spec key with its type, default, accepted values and meaning\n"
          "                      (markdown; docs/keys.md is this output) and exit\n"
          "  --help, --version\n"
          "\n"
          "exit status: 0 done, 1 spec/data/run error, 2 usage error,\n"
          "             3 interrupted (SIGINT, SIGTERM, SIGHUP or a broken pipe on stderr; the run\n"
          "               was checkpointed: run the same command again to resume)\n",
          f);
}

static int die(int code, const char *msg)
{
    fprintf(stderr, PROG ": error: %s\n", msg);
    return aw_error_exit_status(code);
}

/* What the command line asks for. */
typedef struct cli {
    const char *db_path;  /* --db */
    int dry_run, fresh, quiet, threads;
    const char **sets;    /* [n_sets] --set KEY.PATH=VAL (owned array, borrowed strings) */
    int n_sets;
    const char *spec_path; /* the one operand */
    const char *evaluate; /* --evaluate RUN, instead of a spec */
} cli_t;

/* --describe: the key reference on standard output. */
static int describe(void)
{
    char *text = aw_spec_describe();
    if (text == NULL)
        return die(AW_ENOMEM, "out of memory");
    int ok = fputs(text, stdout) >= 0 && fflush(stdout) == 0;
    free(text);
    return ok ? AW_EXIT_OK : die(AW_EIO, "cannot write to standard output");
}

/* The command line into c (c->sets allocated here): -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, cli_t *c)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},     {"set", required_argument, NULL, 's'},
        {"dry-run", no_argument, NULL, 'n'},      {"fresh", no_argument, NULL, 'f'},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"describe", no_argument, NULL, 'D'},     {"evaluate", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0}};
    if ((c->sets = calloc((size_t)argc, sizeof *c->sets)) == NULL)
        return die(AW_ENOMEM, "out of memory");
    int opt;
    opterr = 0; /* refused options are reported below, in one line */
    while ((opt = getopt_long(argc, argv, ":d:s:nft:qhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd': c->db_path = optarg; break;
        case 's':
            if (strchr(optarg, '=') == NULL) {
                fprintf(stderr, PROG ": error: --set %s: expected KEY.PATH=VALUE\n", optarg);
                return AW_EXIT_USAGE;
            }
            c->sets[c->n_sets++] = optarg;
            break;
        case 'n': c->dry_run = 1; break;
        case 'f': c->fresh = 1; break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1 || v > 1024) {
                fprintf(stderr, PROG ": error: --threads %s: expected an integer from 1 to 1024\n", optarg);
                return AW_EXIT_USAGE;
            }
            c->threads = (int)v;
            break;
        }
        case 'q': c->quiet = 1; break;
        case 'h': usage(stdout); return AW_EXIT_OK;
        case 'V': puts(PROG " " PACKAGE_VERSION); return AW_EXIT_OK;
        case 'D': return describe();
        case 'e': c->evaluate = optarg; break;
        default: {
            char msg[512];
            aw_option_error(opt, argv[optind - 1], optopt, longopts, msg, sizeof msg);
            fprintf(stderr, PROG ": error: %s; try --help\n", msg);
            return AW_EXIT_USAGE;
        }
        }
    }
    if (c->evaluate != NULL && optind == argc)
        return -1;
    if (c->evaluate != NULL || optind != argc - 1) {
        fprintf(stderr, PROG ": error: expected exactly one spec file, or --evaluate RUN without one (see --help)\n");
        return AW_EXIT_USAGE;
    }
    c->spec_path = argv[optind];
    return -1;
}

/* Trains and evaluates every run of list in order, stopping at the first failure or interruption. */
static int run_all(const cli_t *c, aw_spec_list_t *list, aw_store_t *store)
{
    progress_printer_t pr = {.tty = isatty(STDERR_FILENO), .quiet = c->quiet, .stop = &stop_flag};
    aw_run_opts_t ro = {.threads = c->threads, .stop = &stop_flag, .progress = progress_on, .progress_ctx = &pr};
    /* testing aids (tests/cli_resume.sh, tests/cli_term.sh) and the save cadence of evaluation calls */
    const char *env = getenv("AIWAE_STOP_AFTER_STEPS");
    if (env != NULL)
        ro.stop_after_steps = strtoll(env, NULL, 10);
    if ((env = getenv("AIWAE_STOP_AFTER_TEMPS")) != NULL)
        ro.stop_after_eval_units = strtoll(env, NULL, 10);
    if ((env = getenv("AIWAE_EVAL_SAVE_S")) != NULL)
        ro.eval_save_s = strtod(env, NULL);
    aw_error_t err = {0};
    int rc, status = AW_EXIT_OK;
    for (int i = 0; i < list->n && status == AW_EXIT_OK; i++) {
        aw_spec_t *run = &list->runs[i];
        /* --fresh: a new replicate, the next repeat index whose run is not in the store */
        if (c->fresh && (rc = aw_run_next_replicate(store, run, &err)) < 0)
            return die(rc, err.msg);
        int finished_before = 0;
        rc = aw_run(run, store, &ro, &finished_before, &err);
        if (rc == AW_EINTR) {
            progress_end_line(&pr);
            fprintf(stderr, PROG ": %s: interrupted; run again to resume (%s)\n", run->name, err.msg);
            status = AW_EXIT_INTERRUPTED;
        } else if (rc < 0) {
            progress_end_line(&pr);
            status = die(rc, err.msg);
        } else if (finished_before == 2 && !c->quiet) {
            fprintf(stderr, "%s: %s; skipping it\n", run->name, err.msg);
        } else if (finished_before == 1 && !c->quiet) {
            fprintf(stderr, "%s: already finished (identity %.12s); nothing to do\n", run->name, run->identity);
        }
    }
    return status;
}

/* --dry-run: each resolved run's canonical YAML and identity. */
static int print_runs(const aw_spec_list_t *list)
{
    signal(SIGPIPE, SIG_IGN); /* `--dry-run | head`: an error to report, not a death */
    for (int i = 0; i < list->n; i++)
        printf("# run %d of %d: %s\n# identity: %s\n%s%s", i + 1, list->n, list->runs[i].name,
               list->runs[i].identity, list->runs[i].canonical, i + 1 < list->n ? "---\n" : "");
    return fflush(stdout) != 0 || ferror(stdout) ? -1 : 0;
}

/* SIGINT, SIGTERM and SIGHUP (an ssh connection dropped) stop the run at the next step with a checkpoint; a
 * broken pipe is an error of the write (run_progress.c then stops the run the same way), not a death. */
static int install_signals(const struct sigaction *sa)
{
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    return sigaction(SIGINT, sa, NULL) != 0 || sigaction(SIGTERM, sa, NULL) != 0 ||
           sigaction(SIGHUP, sa, NULL) != 0 || sigaction(SIGPIPE, &ign, NULL) != 0;
}

int main(int argc, char **argv)
{
    cli_t c = {.db_path = AW_STORE_DEFAULT_PATH};
    int status = parse_args(argc, argv, &c);
    if (status >= 0) {
        free(c.sets);
        return status;
    }
    aw_error_t err = {0};
    aw_spec_list_t list = {0};
    aw_store_t *store = NULL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* The runs: a spec's, or those --evaluate names in the database (with their stored specs). */
    int rc = c.evaluate != NULL ? aw_store_open(&store, c.db_path, c.dry_run, &err) : AW_OK;
    if (rc == AW_OK)
        rc = c.evaluate != NULL ? aw_run_stored_specs(store, c.evaluate, c.sets, c.n_sets, &list, &err)
                                : aw_spec_load(c.spec_path, c.sets, c.n_sets, &list, &err);
    status = AW_EXIT_OK;
    if (rc < 0)
        status = die(rc, err.msg);
    else if (c.dry_run && print_runs(&list) != 0)
        status = die(AW_EIO, "cannot write to standard output");
    else if (c.dry_run)
        status = AW_EXIT_OK;
    else if (store == NULL && (rc = aw_store_open(&store, c.db_path, 0, &err)) < 0)
        status = die(rc, err.msg);
    else if (install_signals(&sa) != 0)
        status = die(AW_EIO, "cannot install signal handlers");
    else
        status = run_all(&c, &list, store);
    aw_store_close(store);
    aw_spec_list_fini(&list);
    free(c.sets);
    return status;
}
