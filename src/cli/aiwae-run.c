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

#include "util/error.h"
#include "cluster/cluster.h"
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
          "  --dry-run           print each resolved run (canonical YAML and identity) and exit\n"
          "  --evaluate RUN      evaluate a finished run of the database (a name, an identity prefix or a\n"
          "                      glob over names) with its stored spec and the --set overrides, e.g.\n"
          "                      --evaluate mnist_iwae_k5 --set 'evaluate=[{estimator: ais_nll}]'\n"
          "  --fresh             start a new replicate (next unused repeat) instead of resuming\n"
          "  --threads N         threads for BLAS and element-wise work (default: train.threads)\n"
          "  --quiet             no progress output\n"
          "  --slurm             submit the runs not yet done as Slurm job arrays (training, evaluation shards,\n"
          "                      then a merge job), print the job ids and return; with --dry-run print the\n"
          "                      sbatch scripts instead\n"
          "  --wait              with --slurm: wait for the jobs, merge, exit 0 when every run is finished\n"
          "  --sbatch=OPTS       with --slurm: more sbatch options for every job, e.g. '--time=24:00:00'\n"
          "  --parallel P        with --slurm: at most P tasks of each array at once\n"
          "  --task I            run task I only: train run I (0-based) into its own file in DB.tasks/\n"
          "  --shard E:K         with --task: evaluate shard K of evaluate entry E of run I instead\n"
          "  --merge             fold the task files of DB.tasks/ into the database named by --db\n"
          "  --describe          print every spec key with its type, default, accepted values and meaning\n"
          "                      (markdown; docs/keys.md is this output) and exit\n"
          "  --help, --version\n"
          "\n"
          "exit status: 0 done, 1 spec/data/run error, 2 usage error,\n"
          "             3 interrupted (SIGINT/SIGTERM; the run was checkpointed)\n",
          f);
}

/* Progress printing: a live bar on a terminal, one line per epoch otherwise. */
typedef struct printer {
    int tty;       /* stderr is a terminal */
    int quiet;     /* print nothing */
    int bar_open;  /* a \r-bar is on screen */
} printer_t;

static void fmt_eta(double s, char *buf, size_t n)
{
    if (s < 0 || !isfinite(s))
        snprintf(buf, n, "--");
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void end_bar(printer_t *pr)
{
    if (pr->bar_open) {
        fputc('\n', stderr);
        pr->bar_open = 0;
    }
}

static void on_progress(void *ctx, const aw_progress_t *p)
{
    printer_t *pr = ctx;
    if (pr->quiet)
        return;
    char eta[32];
    fmt_eta(p->eta_s, eta, sizeof eta);
    switch (p->kind) {
    case AW_PROGRESS_START:
    case AW_PROGRESS_NOTE:
        end_bar(pr);
        fprintf(stderr, "%s: %s\n", p->run, p->message);
        break;
    case AW_PROGRESS_STEP:
        if (!pr->tty)
            break;
        {
            int width = 24, filled = p->steps > 0 ? (int)(width * p->step / p->steps) : 0;
            char bar[32];
            for (int i = 0; i < width; i++)
                bar[i] = i < filled ? '#' : '.';
            bar[width] = '\0';
            fprintf(stderr, "\r%s: epoch %lld/%lld [%s] loss %.3f  %.0f pts/s  ETA %s   ", p->run,
                    (long long)p->epoch + 1, (long long)p->epochs, bar, p->loss, p->points_per_s, eta);
            pr->bar_open = 1;
        }
        break;
    case AW_PROGRESS_EPOCH:
        end_bar(pr);
        fprintf(stderr, "%s: epoch %lld/%lld  loss %.4f  bound %.4f  %.0f pts/s\n", p->run, (long long)p->epoch,
                (long long)p->epochs, p->loss, p->bound, p->points_per_s);
        break;
    case AW_PROGRESS_EVAL:
        if (pr->tty) {
            fprintf(stderr, "\r%s: %s %lld/%lld points   ", p->run, p->estimator, (long long)p->done,
                    (long long)p->total);
            pr->bar_open = 1;
        }
        break;
    case AW_PROGRESS_EVAL_DONE:
        end_bar(pr);
        fprintf(stderr, "%s: %s at epoch %lld: %.4f +- %.4f nats (%lld points)\n", p->run, p->estimator,
                (long long)p->epoch, p->value, p->stderr_, (long long)p->total);
        break;
    case AW_PROGRESS_DONE:
        end_bar(pr);
        fprintf(stderr, "%s: finished (%lld epochs)\n", p->run, (long long)p->epoch);
        break;
    }
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
    int slurm, wait, merge, parallel; /* --slurm, --wait, --merge, --parallel P */
    const char *sbatch;   /* --sbatch=OPTS */
    aw_cluster_task_t task; /* --task I [--shard E:K]; run -1: none */
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
        {"slurm", no_argument, NULL, 'S'},        {"wait", no_argument, NULL, 'W'},
        {"sbatch", required_argument, NULL, 'B'}, {"parallel", required_argument, NULL, 'P'},
        {"task", required_argument, NULL, 'T'},   {"shard", required_argument, NULL, 'K'},
        {"merge", no_argument, NULL, 'M'},        {NULL, 0, NULL, 0}};
    if ((c->sets = calloc((size_t)argc, sizeof *c->sets)) == NULL)
        return die(AW_ENOMEM, "out of memory");
    int opt;
    while ((opt = getopt_long(argc, argv, "d:s:nft:qhV", longopts, NULL)) != -1) {
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
        default: usage(stderr); return AW_EXIT_USAGE;
        }
    }
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

/* Trains and evaluates every run of list in order, stopping at the first failure or interruption. */
static int run_all(const cli_t *c, aw_spec_list_t *list, aw_store_t *store)
{
    printer_t pr = {.tty = isatty(STDERR_FILENO), .quiet = c->quiet};
    aw_run_opts_t ro = {.threads = c->threads, .stop = &stop_flag, .progress = on_progress, .progress_ctx = &pr};
    const char *env_stop = getenv("AIWAE_STOP_AFTER_STEPS"); /* testing aid, see tests/cli_resume.sh */
    if (env_stop != NULL)
        ro.stop_after_steps = strtoll(env_stop, NULL, 10);
    aw_error_t err = {0};
    int rc, status = AW_EXIT_OK;
    if (c->task.run >= 0 && (rc = aw_cluster_task_check(list, &c->task, &err)) < 0)
        return die(rc, err.msg);
    for (int i = 0; i < list->n && status == AW_EXIT_OK; i++) {
        aw_spec_t *run = &list->runs[i];
        /* --fresh: a new replicate, the next repeat index whose run is not in the store */
        if (c->fresh && (rc = aw_run_next_replicate(store, run, &err)) < 0)
            return die(rc, err.msg);
        int finished_before = 0;
        if (c->task.run >= 0 && i != c->task.run)
            continue;
        if (c->task.run >= 0)
            rc = aw_cluster_run_task(c->db_path, list, &c->task, slurm_job(), &ro, &finished_before, &err);
        else
            rc = aw_run(run, store, &ro, &finished_before, &err);
        if (rc == AW_EINTR) {
            end_bar(&pr);
            fprintf(stderr, PROG ": %s: interrupted; run again to resume (%s)\n", run->name, err.msg);
            status = AW_EXIT_INTERRUPTED;
        } else if (rc < 0) {
            end_bar(&pr);
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
static void print_runs(const aw_spec_list_t *list)
{
    for (int i = 0; i < list->n; i++)
        printf("# run %d of %d: %s\n# identity: %s\n%s%s", i + 1, list->n, list->runs[i].name,
               list->runs[i].identity, list->runs[i].canonical, i + 1 < list->n ? "---\n" : "");
}

int main(int argc, char **argv)
{
    cli_t c = {.db_path = AW_STORE_DEFAULT_PATH, .task = {.run = -1, .eval = -1}};
    int status = parse_args(argc, argv, &c);
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
        print_runs(&list);
    else if (store == NULL && c.task.run < 0 && (rc = aw_store_open(&store, c.db_path, 0, &err)) < 0)
        status = die(rc, err.msg);
    else if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        status = die(AW_EIO, "cannot install signal handlers");
    else
        status = run_all(&c, &list, store);
    aw_store_close(store);
    aw_spec_list_fini(&list);
    free(c.sets);
    return status;
}
