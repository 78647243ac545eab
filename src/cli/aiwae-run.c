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
#include "core/model.h"
#include "methods/hmc_precision.h"
#include "cli/cli_common.h"
#include "util/error.h"
#include "cluster/cluster.h"
#include "util/optsuggest.h"
#include "run/run.h"
#include "run/stored.h"
#include "spec/spec.h"
#include "store/run_match.h"
#include "store/store.h"
#include "store/store_delete.h"
#include "util/sbuf.h"

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
          "       " PROG " [--db FILE] [--dry-run] [--yes] --delete RUN\n"
          "       " PROG " [options] SPEC.yaml --slurm [--wait] [--sbatch=OPTS]   (docs/cluster.md)\n"
          "       " PROG " [options] SPEC.yaml --task I [--shard E:K]\n"
          "       " PROG " --merge [--db FILE]\n"
          "       " PROG " --describe\n"
          "Trains and evaluates every run of an experiment spec. Running it again resumes\n"
          "unfinished runs from their latest checkpoint and skips finished ones.\n"
          "\n"
          "options:\n"
          "  --db FILE           results database (default results/aiwae.db)\n"
          "  --set KEY.PATH=VAL  override a spec key; VAL is YAML (repeatable), e.g.\n"
          "                      --set train.epochs=10 --set 'evaluate=[]' --set 'sweep={}'\n"
          "                      (KEY.PATH=~ is the default; a key the sweep also sets is an error:\n"
          "                      change the sweep, --set 'sweep.method.samples=[5]')\n"
          "  --dry-run           print each resolved run (canonical YAML and identity) and exit\n"
          "  --evaluate RUN      evaluate a finished run of the database (a name, an identity prefix or a\n"
          "                      glob over names) with its stored spec and the --set overrides, e.g.\n"
          "                      --evaluate mnist_iwae_k5 --set 'evaluate=[{estimator: ais_nll}]'\n"
          "  --delete RUN        remove a run (a name, an identity prefix, or a glob: every match) and all\n"
          "                      that is recorded for it, after listing it and asking (y/N) on a terminal;\n"
          "                      with --dry-run only list it\n"
          "  --yes               --delete without asking (needed when stdin is not a terminal)\n"
          "  --fresh             start a new replicate (next unused repeat) instead of resuming\n"
          "  --retry-failed      train failed runs again even if their spec and data have not changed\n"
          "  --slurm             submit the runs not yet done as Slurm job arrays (training, evaluation shards,\n"
          "                      then a merge job), print the job ids and return; with --dry-run print the\n"
          "                      sbatch scripts instead\n"
          "  --wait              with --slurm: wait for the jobs, merge, exit 0 when every run is finished\n"
          "  --sbatch=OPTS       with --slurm: more sbatch options for every job, e.g. '--time=24:00:00'\n"
          "  --parallel P        with --slurm: at most P tasks of each array at once\n"
          "  --task I            run task I only: train run I (0-based) into its own file in DB.tasks/\n"
          "  --shard E:K         with --task: evaluate shard K of evaluate entry E of run I instead\n"
          "  --merge             fold the task files of DB.tasks/ into the database named by --db\n"
          "  --threads N         threads for BLAS and element-wise work (default: train.threads)\n"
          "  --quiet             no progress output\n"
          "  --describe          print every spec key with its type, default, accepted values and meaning\n"
          "                      (markdown; docs/keys.md is this output) and exit\n"
          "  --describe=keys     print every spec key path, one a line (for shell completion), and exit\n"
          "  --help, --version   --version names the BLAS, the decoder kernels this CPU gets (fp32,\n"
          "                      and bf16 for hmc_precision: bf16), SQLite and cairo\n"
          "\n"
          "Every run's data and settings are checked before any work; a run that fails is recorded as\n"
          "failed and the sweep goes on, ending with a summary.\n"
          "\n"
          "exit status: 0 done, 1 spec/data error or a run failed (or --delete answered no), 2 usage\n"
          "             error (or --delete without --yes off a terminal),\n"
          "             3 interrupted (SIGINT, SIGTERM, SIGHUP or a broken pipe on stderr; the run\n"
          "               was checkpointed, the sweep stopped: run the same command again to resume)\n",
          f);
}

static int die(int code, const char *msg)
{
    return aw_cli_die(PROG, code, msg);
}

/* What the command line asks for. */
typedef struct cli {
    const char *db_path;  /* --db */
    int dry_run, fresh, quiet, threads, retry_failed;
    const char **sets;    /* [n_sets] --set KEY.PATH=VAL (owned array, borrowed strings) */
    int n_sets;
    const char *spec_path; /* the one operand */
    const char *evaluate; /* --evaluate RUN, instead of a spec */
    const char *delete_run; /* --delete RUN, instead of a spec */
    int yes;              /* --yes: --delete without asking */
    int slurm, wait, merge, parallel; /* --slurm, --wait, --merge, --parallel P */
    const char *sbatch;   /* --sbatch=OPTS */
    aw_cluster_task_t task; /* --task I [--shard E:K]; run -1: none */
} cli_t;

/* --describe: the key reference on standard output; --describe=keys: the key paths, one a line. */
static int describe(const char *what)
{
    if (what != NULL && strcmp(what, "keys") != 0) {
        fprintf(stderr, PROG ": error: --describe=%s: expected --describe or --describe=keys\n", what);
        return AW_EXIT_USAGE;
    }
    char *text = what != NULL ? aw_spec_describe_keys() : aw_spec_describe();
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
        {"describe", optional_argument, NULL, 'D'}, {"evaluate", required_argument, NULL, 'e'},
        {"delete", required_argument, NULL, 'X'}, {"yes", no_argument, NULL, 'y'},
        {"retry-failed", no_argument, NULL, 'r'}, {"slurm", no_argument, NULL, 'S'},
        {"wait", no_argument, NULL, 'W'},         {"sbatch", required_argument, NULL, 'B'},
        {"parallel", required_argument, NULL, 'P'}, {"task", required_argument, NULL, 'T'},
        {"shard", required_argument, NULL, 'K'},  {"merge", no_argument, NULL, 'M'},
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
            if (end == optarg || *end != '\0' || v < 1 || v > AW_MAX_THREADS) {
                fprintf(stderr, PROG ": error: --threads %s: expected an integer from 1 to %d\n", optarg,
                        AW_MAX_THREADS);
                return AW_EXIT_USAGE;
            }
            c->threads = (int)v;
            break;
        }
        case 'q': c->quiet = 1; break;
        case 'h': usage(stdout); return AW_EXIT_OK;
        case 'V': return aw_cli_print_version(PROG);
        case 'D': return describe(optarg);
        case 'e': c->evaluate = optarg; break;
        case 'X': c->delete_run = optarg; break;
        case 'y': c->yes = 1; break;
        case 'r': c->retry_failed = 1; break;
        case 'S': c->slurm = 1; break;
        case 'W': c->wait = 1; break;
        case 'M': c->merge = 1; break;
        case 'B': c->sbatch = optarg; break;
        case 'P':
        case 'T':
        case 'K': {
            char *end;
            long v = strtol(optarg, &end, 10), k = 0;
            if (opt == 'K' && *end == ':' && end > optarg)
                k = strtol(end + 1, &end, 10);
            if (*end != '\0' || v < 0 || k < 0 || v > 1000000 || k > 1000000 || (opt == 'P' && v < 1)) {
                fprintf(stderr, PROG ": error: --%s %s: expected %s\n", opt == 'P' ? "parallel" : opt == 'T' ? "task" : "shard",
                        optarg, opt == 'K' ? "E:K, two integers from 0" : "an integer from 0");
                return AW_EXIT_USAGE;
            }
            if (opt == 'P')
                c->parallel = (int)v;
            else if (opt == 'T')
                c->task.run = (int)v;
            else
                c->task.eval = (int)v, c->task.shard = (int)k;
            break;
        }
        default: {
            char msg[512];
            aw_option_error(opt, argv[optind - 1], optopt, longopts, msg, sizeof msg);
            fprintf(stderr, PROG ": error: %s; try --help\n", msg);
            return AW_EXIT_USAGE;
        }
        }
    }
    if (c->delete_run != NULL && (c->evaluate != NULL || optind != argc || c->n_sets > 0 || c->fresh)) {
        fprintf(stderr, PROG ": error: --delete RUN takes no spec file, --evaluate, --set or --fresh (see --help)\n");
        return AW_EXIT_USAGE;
    }
    if (c->delete_run != NULL)
        return -1;
    if (c->merge && optind == argc && c->evaluate == NULL && !c->slurm && c->task.run < 0)
        return -1;
    if (c->merge || (c->task.eval >= 0 && c->task.run < 0) || ((c->wait || c->sbatch || c->parallel) && !c->slurm) ||
        (c->slurm && (c->task.run >= 0 || c->evaluate != NULL || c->fresh))) {
        fprintf(stderr, PROG ": error: --merge takes no spec; --shard needs --task; --wait, --sbatch and --parallel "
                        "need --slurm, which takes a spec and no --task, --evaluate or --fresh (see --help)\n");
        return AW_EXIT_USAGE;
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

/* Checks every run before any work and prints each distinct problem once, with the runs it concerns;
 * returns the number of runs that cannot start (-1: out of memory). */
static int check_all(const aw_spec_list_t *list)
{
    char **msgs = calloc((size_t)list->n + 1, sizeof *msgs);
    if (msgs == NULL)
        return -1;
    int bad = 0, oom = 0;
    for (int i = 0; i < list->n; i++) {
        char fp[65];
        aw_error_t e = {0};
        if (aw_run_check(&list->runs[i], fp, &e) < 0) {
            bad++;
            oom |= (msgs[i] = strdup(e.msg)) == NULL;
        }
    }
    for (int i = 0; i < list->n && !oom; i++) {
        if (msgs[i] == NULL || msgs[i][0] == '\0')
            continue;
        aw_sbuf_t b = {0};
        int k = 0;
        for (int j = i; j < list->n; j++)
            if (msgs[j] != NULL && strcmp(msgs[j], msgs[i]) == 0 && (j == i || msgs[j][0] != '\0')) {
                if (k < 5)
                    aw_sbuf_printf(&b, "%s%s", k ? ", " : "", list->runs[j].name);
                k++;
                if (j > i)
                    msgs[j][0] = '\0';
            }
        if (k > 5)
            aw_sbuf_printf(&b, " and %d more", k - 5);
        if (list->n == 1)
            fprintf(stderr, PROG ": error: %s\n", msgs[i]);
        else
            fprintf(stderr, PROG ": error: %s (%s %s)\n", msgs[i], k > 1 ? "runs" : "run", b.oom ? "?" : b.p);
        aw_sbuf_fini(&b);
    }
    for (int i = 0; i < list->n; i++)
        free(msgs[i]);
    free(msgs);
    if (bad > 0 && list->n > 1)
        fprintf(stderr, PROG ": error: %d of %d runs cannot start; nothing was run\n", bad, list->n);
    return oom ? -1 : bad;
}

/* What became of the runs of a sweep, for its summary: each outcome's count and names. */
enum { OUT_FINISHED, OUT_FAILED, OUT_NOT_RETRIED, OUT_ELSEWHERE, OUT_INTERRUPTED, OUT_NOT_STARTED, N_OUT };
static const char *const OUT_WORDS[N_OUT] = {"finished", "failed", "not retried (failed before, unchanged)",
                                             "being run by another process", "interrupted", "not started"};

typedef struct summary {
    int count[N_OUT];
    aw_sbuf_t names[N_OUT];
} summary_t;

static void note_outcome(summary_t *sm, int out, const char *name)
{
    aw_sbuf_printf(&sm->names[out], "%s%s", sm->count[out] ? ", " : "", name);
    sm->count[out]++;
}

/* One line: "aiwae-run: 4 runs: 2 finished; 1 failed: a; 1 interrupted: b" (names except the finished). */
static void print_summary(summary_t *sm, int n)
{
    aw_sbuf_t b = {0};
    aw_sbuf_printf(&b, PROG ": %d runs:", n);
    for (int k = 0, first = 1; k < N_OUT; k++) {
        if (sm->count[k] == 0)
            continue;
        aw_sbuf_printf(&b, "%s %d %s", first ? "" : ";", sm->count[k], OUT_WORDS[k]);
        if (k != OUT_FINISHED)
            aw_sbuf_printf(&b, ": %s", sm->names[k].oom ? "?" : sm->names[k].p);
        first = 0;
    }
    fprintf(stderr, "%s\n", b.oom ? PROG ": out of memory for the summary" : b.p);
    aw_sbuf_fini(&b);
    for (int k = 0; k < N_OUT; k++)
        aw_sbuf_fini(&sm->names[k]);
}

/* "slurm job 12_3 (job id 15) on HOST" when running as a Slurm task, else NULL. */
static const char *slurm_job(void)
{
    static char label[256];
    const char *id = getenv("SLURM_JOB_ID"), *a = getenv("SLURM_ARRAY_JOB_ID"), *t = getenv("SLURM_ARRAY_TASK_ID");
    if (id == NULL)
        return NULL;
    char host[128] = "?";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    if (a != NULL && t != NULL)
        snprintf(label, sizeof label, "slurm job %.30s_%.20s (job id %.30s) on %.100s", a, t, id, host);
    else
        snprintf(label, sizeof label, "slurm job %.30s on %.100s", id, host);
    return label;
}

/* --merge: the task files into the main database. */
static int merge(const cli_t *c)
{
    aw_error_t err = {0};
    aw_cluster_merge_stats_t st;
    int rc = aw_cluster_merge(c->db_path, &st, &err);
    if (rc < 0)
        return die(rc, err.msg);
    if (!c->quiet)
        fprintf(stderr, PROG ": merged %d task files into %s; %d evaluations completed\n", st.files, c->db_path,
                st.evals_finished);
    return AW_EXIT_OK;
}

/* --slurm: submit the pending tasks; with --wait, wait for them, merge and check that nothing is left. */
static int slurm(const cli_t *c, const aw_spec_list_t *list)
{
    aw_error_t err = {0};
    aw_cluster_submit_opts_t o = {.db_path = c->db_path, .spec_path = c->spec_path, .sets = c->sets,
                                  .n_sets = c->n_sets, .threads = c->threads, .sbatch_args = c->sbatch,
                                  .parallel = c->parallel, .dry_run = c->dry_run};
    aw_cluster_jobs_t jobs;
    int rc = aw_cluster_submit(&o, list, &jobs, &err);
    if (rc == AW_OK && (c->dry_run ? fputs(jobs.text, stdout) : c->quiet ? 0 : fputs(jobs.text, stderr)) < 0)
        rc = aw_error_set(&err, AW_EIO, "cannot write the output");
    if (rc == AW_OK && c->dry_run) {
        aw_cluster_jobs_fini(&jobs);
        return AW_EXIT_OK;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (rc == AW_OK && c->wait && (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0))
        rc = aw_error_set(&err, AW_EIO, "cannot install signal handlers");
    if (rc == AW_OK && c->wait)
        rc = aw_cluster_wait(&jobs, 2.0, &stop_flag, &err);
    aw_cluster_jobs_fini(&jobs);
    if (rc == AW_EINTR) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return AW_EXIT_INTERRUPTED;
    }
    if (rc < 0)
        return die(rc, err.msg);
    int status = c->wait ? merge(c) : AW_EXIT_OK;
    if (status != AW_EXIT_OK)
        return status;
    if (!c->wait)
        return AW_EXIT_OK;
    aw_cluster_task_t *left = NULL;
    int n = 0;
    if ((rc = aw_cluster_pending(c->db_path, list, &left, &n, &err)) < 0)
        return die(rc, err.msg);
    for (int i = 0; i < n && i < 20; i++) {
        if (left[i].eval < 0)
            fprintf(stderr, PROG ": %s: not finished (see aiwae-report --runs)\n", list->runs[left[i].run].name);
        else
            fprintf(stderr, PROG ": %s: evaluate[%d] shard %d not done\n", list->runs[left[i].run].name,
                    left[i].eval, left[i].shard);
    }
    free(left);
    return n == 0 ? AW_EXIT_OK : die(AW_ENOTFOUND, "some tasks did not finish; fix the cause and submit the spec again");
}

/* Trains and evaluates every run of list in order. A run that fails is recorded and the sweep goes on;
 * an interruption, or a database or memory failure, stops it. Ends with a summary when there are several
 * runs. */
static int run_all(const cli_t *c, aw_spec_list_t *list, aw_store_t *store)
{
    progress_printer_t pr = {.tty = isatty(STDERR_FILENO), .quiet = c->quiet, .stop = &stop_flag};
    aw_run_opts_t ro = {.threads = c->threads, .stop = &stop_flag, .progress = progress_on, .progress_ctx = &pr,
                        .retry_failed = c->retry_failed};
    /* testing aids (tests/cli_resume.sh, tests/cli_term.sh) and the save cadence of evaluation calls */
    const char *env = getenv("AIWAE_STOP_AFTER_STEPS");
    if (env != NULL)
        ro.stop_after_steps = strtoll(env, NULL, 10);
    if ((env = getenv("AIWAE_STOP_AFTER_TEMPS")) != NULL)
        ro.stop_after_eval_units = strtoll(env, NULL, 10);
    if ((env = getenv("AIWAE_EVAL_SAVE_S")) != NULL)
        ro.eval_save_s = strtod(env, NULL);
    aw_error_t err = {0};
    int rc, status = AW_EXIT_OK, stopped = 0;
    if (c->task.run >= 0 && (rc = aw_cluster_task_check(list, &c->task, &err)) < 0)
        return die(rc, err.msg);
    summary_t sm;
    memset(&sm, 0, sizeof sm);
    for (int i = 0; i < list->n; i++) {
        aw_spec_t *run = &list->runs[i];
        if (c->task.run >= 0 && i != c->task.run)
            continue; /* --task I: that run alone, into its own file */
        if (stopped) {
            note_outcome(&sm, OUT_NOT_STARTED, run->name);
            continue;
        }
        /* --fresh: a new replicate, the next repeat index whose run is not in the store */
        int finished_before = 0;
        rc = c->fresh ? aw_run_next_replicate(store, run, &err) : AW_OK;
        if (rc == AW_OK && c->task.run >= 0)
            rc = aw_cluster_run_task(c->db_path, list, &c->task, slurm_job(), &ro, &finished_before, &err);
        else if (rc == AW_OK)
            rc = aw_run(run, store, &ro, &finished_before, &err);
        if (rc == AW_EINTR) {
            progress_end_line(&pr);
            fprintf(stderr, PROG ": %s: interrupted; run again to resume (%s)\n", run->name, err.msg);
            note_outcome(&sm, OUT_INTERRUPTED, run->name);
            status = AW_EXIT_INTERRUPTED;
            stopped = 1;
        } else if (rc < 0) {
            progress_end_line(&pr);
            if (list->n > 1)
                fprintf(stderr, PROG ": error: %s: %s\n", run->name, err.msg);
            else
                die(rc, err.msg);
            note_outcome(&sm, OUT_FAILED, run->name);
            status = AW_EXIT_ERROR;
            stopped = rc == AW_EDB || rc == AW_ENOMEM; /* the next runs would fail the same way */
        } else if (finished_before == 3) {
            fprintf(stderr, "%s: %s\n", run->name, err.msg);
            note_outcome(&sm, OUT_NOT_RETRIED, run->name);
            status = AW_EXIT_ERROR;
        } else if (finished_before == 2) {
            if (!c->quiet)
                fprintf(stderr, "%s: %s; skipping it\n", run->name, err.msg);
            note_outcome(&sm, OUT_ELSEWHERE, run->name);
        } else {
            if (finished_before == 1 && !c->quiet)
                fprintf(stderr, "%s: already finished (identity %.12s); nothing to do\n", run->name, run->identity);
            note_outcome(&sm, OUT_FINISHED, run->name);
        }
    }
    if (list->n > 1 && c->task.run < 0 && (!c->quiet || status != AW_EXIT_OK))
        print_summary(&sm, list->n);
    else
        for (int k = 0; k < N_OUT; k++)
            aw_sbuf_fini(&sm.names[k]);
    return status;
}

/* The one-line notice when a run asks for bf16 HMC gradients that this CPU cannot run: they run in fp32
 * (the stored settings keep what was asked). */
static void notice_bf16(const aw_spec_list_t *list, int quiet)
{
    int asked = 0;
    for (int i = 0; i < list->n && !asked; i++)
        asked = aw_run_asks_bf16(&list->runs[i]);
    if (asked && !quiet && aw_hmc_bf16_kernel() == NULL)
        fprintf(stderr, PROG ": notice: hmc_precision bf16 asked for, but this CPU has neither AMX nor "
                        "AVX512-BF16: HMC gradients run in fp32\n");
}

/* --delete: one line per run saying what goes with it. */
static int print_deletion(aw_store_t *store, const aw_store_run_t *runs, size_t n, int dry_run, aw_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        aw_store_run_usage_t u;
        int rc = aw_store_run_usage(store, runs[i].identity, &u, err);
        if (rc < 0)
            return rc;
        double kb = (double)u.checkpoint_bytes / 1e3;
        fprintf(stderr, PROG ": --delete %s run %s (%.12s, %s, epoch %lld of %lld): %lld epochs of metrics, %lld "
                "checkpoints (%.1f %s), %lld evaluations with %lld point values, %lld events\n",
                dry_run ? "would remove" : "will remove", runs[i].name, runs[i].identity,
                aw_run_status_name(runs[i].status), (long long)runs[i].epoch, (long long)runs[i].epochs_total,
                (long long)u.metrics, (long long)u.checkpoints, kb >= 1e3 ? kb / 1e3 : kb, kb >= 1e3 ? "MB" : "kB",
                (long long)u.evaluations, (long long)u.eval_points, (long long)u.events);
    }
    return AW_OK;
}

/* --delete RUN: lists the runs RUN names, asks on a terminal (unless --yes), deletes them in one transaction. */
static int delete_runs(const cli_t *c)
{
    aw_error_t err = {0};
    aw_store_t *store = NULL;
    aw_store_run_t *runs = NULL;
    size_t n = 0;
    /* never create a database only to find nothing in it */
    int rc = strncmp(c->db_path, "file:", 5) != 0 && access(c->db_path, F_OK) != 0
                 ? aw_error_set(&err, AW_EIO, "%s: no such database; --db names another", c->db_path)
                 : aw_store_open(&store, c->db_path, c->dry_run, &err);
    if (rc == AW_OK)
        rc = aw_store_runs_named(store, c->delete_run, 1, &runs, &n, &err);
    if (rc == AW_OK)
        rc = print_deletion(store, runs, n, c->dry_run, &err);
    int status = rc < 0 ? die(rc, err.msg) : AW_EXIT_OK;
    if (status == AW_EXIT_OK && !c->dry_run && !c->yes) {
        char answer[16] = "";
        if (!isatty(STDIN_FILENO)) {
            status = die(AW_EARG, "--delete asks before deleting and standard input is not a terminal: give --yes to "
                         "delete without asking");
        } else {
            fprintf(stderr, "Delete %s? [y/N] ", n == 1 ? "it" : "them");
            int got = fgets(answer, sizeof answer, stdin) != NULL;
            if (!got || (strcmp(answer, "y\n") != 0 && strcmp(answer, "yes\n") != 0)) {
                fprintf(stderr, PROG ": nothing deleted\n");
                status = AW_EXIT_ERROR;
            }
        }
    }
    const char **ids = status == AW_EXIT_OK && !c->dry_run ? calloc(n + 1, sizeof *ids) : NULL;
    if (status == AW_EXIT_OK && !c->dry_run && ids == NULL)
        status = die(AW_ENOMEM, "out of memory");
    for (size_t i = 0; ids != NULL && i < n; i++)
        ids[i] = runs[i].identity;
    if (ids != NULL && (rc = aw_store_runs_delete(store, ids, n, aw_run_owner_alive, NULL, &err)) < 0)
        status = die(rc, err.msg);
    else if (ids != NULL)
        fprintf(stderr, PROG ": deleted %zu run%s\n", n, n == 1 ? "" : "s");
    free(ids);
    aw_store_runs_free(runs, n);
    aw_store_close(store);
    return status;
}

/* --dry-run: each resolved run's canonical YAML and identity; a failed write is an error (> /dev/full). */
static int print_runs(const aw_spec_list_t *list)
{
    signal(SIGPIPE, SIG_IGN); /* `--dry-run | head`: an error to report, not a death */
    int ok = 1;
    for (int i = 0; i < list->n && ok; i++)
        ok = printf("# run %d of %d: %s\n# identity: %s\n%s%s", i + 1, list->n, list->runs[i].name,
                    list->runs[i].identity, list->runs[i].canonical, i + 1 < list->n ? "---\n" : "") >= 0;
    ok = ok && fflush(stdout) == 0;
    return ok ? AW_EXIT_OK : die(AW_EIO, "cannot write to standard output");
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
    aw_cli_blas_core(PROG, argv);
    cli_t c = {.db_path = AW_STORE_DEFAULT_PATH, .task = {.run = -1, .eval = -1}};
    int status = parse_args(argc, argv, &c);
    if (status < 0 && c.delete_run != NULL)
        status = delete_runs(&c);
    if (status < 0 && c.merge)
        status = merge(&c);
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
    else if (c.slurm)
        status = slurm(&c, &list);
    else if (c.dry_run)
        status = print_runs(&list);
    else if ((rc = check_all(&list)) != 0)
        status = rc < 0 ? die(AW_ENOMEM, "out of memory") : AW_EXIT_ERROR;
    else if (store == NULL && c.task.run < 0 && (rc = aw_store_open(&store, c.db_path, 0, &err)) < 0)
        status = die(rc, err.msg);
    else if (install_signals(&sa) != 0)
        status = die(AW_EIO, "cannot install signal handlers");
    else {
        notice_bf16(&list, c.quiet);
        status = run_all(&c, &list, store);
    }
    aw_store_close(store);
    aw_spec_list_fini(&list);
    free(c.sets);
    return status;
}
