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

#include "core/model.h"
#include "methods/hmc_precision.h"
#include "util/error.h"
#include "run/run.h"
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
          "       " PROG " --describe\n"
          "Trains and evaluates every run of an experiment spec. Running it again resumes\n"
          "unfinished runs from their latest checkpoint and skips finished ones.\n"
          "\n"
          "options:\n"
          "  --db FILE           results database (default results/aiwae.db)\n"
          "  --set KEY.PATH=VAL  override a spec key; VAL is YAML (repeatable), e.g.\n"
          "                      --set train.epochs=10 --set 'evaluate=[]' --set 'sweep={}'\n"
          "  --dry-run           print each resolved run (canonical YAML and identity) and exit\n"
          "  --fresh             start a new replicate (next unused repeat) instead of resuming\n"
          "  --threads N         threads for BLAS and element-wise work (default: train.threads)\n"
          "  --quiet             no progress output\n"
          "  --describe          print every spec key with its type, default, accepted values and meaning\n"
          "                      (markdown; docs/keys.md is this output) and exit\n"
          "  --help, --version   --version also names the decoder kernels this CPU gets (fp32, bf16)\n"
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
        {"describe", no_argument, NULL, 'D'},     {NULL, 0, NULL, 0}};
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
        case 'V': {
            char line[200];
            aw_model_kernels_describe(line, sizeof line);
            printf(PROG " " PACKAGE_VERSION "\ndecoder kernels on this CPU: %s\n", line);
            return AW_EXIT_OK;
        }
        case 'D': return describe();
        default: usage(stderr); return AW_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, PROG ": error: expected exactly one spec file (see --help)\n");
        return AW_EXIT_USAGE;
    }
    c->spec_path = argv[optind];
    return -1;
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
    for (int i = 0; i < list->n && status == AW_EXIT_OK; i++) {
        aw_spec_t *run = &list->runs[i];
        /* --fresh: a new replicate, the next repeat index whose run is not in the store */
        if (c->fresh && (rc = aw_run_next_replicate(store, run, &err)) < 0)
            return die(rc, err.msg);
        int finished_before = 0;
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

/* 1 if settings cfg of table st ask for bf16 HMC gradients. */
static int asks_bf16(const aw_settings_t *st, const void *cfg)
{
    int v;
    return aw_settings_int(st, cfg, "hmc_precision", &v) && v == AW_HMC_BF16;
}

/* The one-line notice when a run asks for bf16 HMC gradients that this CPU cannot run: they run in fp32
 * (the stored settings keep what was asked). */
static void notice_bf16(const aw_spec_list_t *list, int quiet)
{
    int asked = 0;
    for (int i = 0; i < list->n && !asked; i++) {
        const aw_spec_t *r = &list->runs[i];
        asked = asks_bf16(&r->method.ops->settings, r->method.cfg.bytes);
        for (int e = 0; e < r->n_eval && !asked; e++)
            asked = asks_bf16(&r->eval[e].ops->settings, r->eval[e].cfg.bytes);
    }
    if (asked && !quiet && aw_hmc_bf16_kernel() == NULL)
        fprintf(stderr, PROG ": notice: hmc_precision bf16 asked for, but this CPU has neither AMX nor "
                        "AVX512-BF16: HMC gradients run in fp32\n");
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
    int rc = aw_spec_load(c.spec_path, c.sets, c.n_sets, &list, &err);
    status = AW_EXIT_OK;
    if (rc < 0)
        status = die(rc, err.msg);
    else if (c.dry_run)
        print_runs(&list);
    else if ((rc = aw_store_open(&store, c.db_path, 0, &err)) < 0)
        status = die(rc, err.msg);
    else if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
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
