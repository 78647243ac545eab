/* submit.c: the pending tasks of a spec as Slurm job arrays and a merge job (cluster.h): the sbatch
 * scripts, their dependencies, submitting them and waiting for them. */
#include "cluster/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/sbuf.h"

#define SIGNAL_LEAD_S 120 /* seconds before the time limit at which a task checkpoints and requeues */

/* path in single quotes for sh. */
static void shq(aw_sbuf_t *b, const char *s)
{
    aw_sbuf_puts(b, "'");
    for (; *s != '\0'; s++)
        aw_sbuf_puts(b, *s == '\'' ? "'\\''" : (char[2]){*s, '\0'});
    aw_sbuf_puts(b, "'");
}

/* Runs argv with stdin_text on its standard input; its standard output (and error) into *out (owned). The
 * exit status in *status (-1 if it did not exit). */
static int capture(char *const *argv, const char *stdin_text, char **out, int *status, aw_error_t *err)
{
    int in[2], o[2];
    *out = NULL;
    if (pipe(in) != 0)
        return aw_error_set(err, AW_EIO, "%s: cannot make a pipe (%s)", argv[0], strerror(errno));
    if (pipe(o) != 0) {
        close(in[0]);
        close(in[1]);
        return aw_error_set(err, AW_EIO, "%s: cannot make a pipe (%s)", argv[0], strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(o[1], 1);
        dup2(o[1], 2);
        close(in[0]), close(in[1]), close(o[0]), close(o[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    if (pid < 0) {
        close(in[1]);
        close(o[0]);
        return aw_error_set(err, AW_EIO, "%s: cannot start it (%s)", argv[0], strerror(errno));
    }
    size_t len = stdin_text ? strlen(stdin_text) : 0, done = 0;
    while (done < len) {
        ssize_t w = write(in[1], stdin_text + done, len - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(in[1]);
    aw_sbuf_t b = {0};
    char buf[4096];
    ssize_t r;
    while ((r = read(o[0], buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            aw_sbuf_printf(&b, "%.*s", (int)r, buf);
    close(o[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    *out = aw_sbuf_finish(&b);
    if (*out == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    if (*status == 127)
        return aw_error_set(err, AW_EIO, "%s: cannot run it (is Slurm installed and on PATH?)", argv[0]);
    return AW_OK;
}

/* "0-3,5,7%P" from sorted indexes idx[n]. */
static void array_spec(aw_sbuf_t *b, const int *idx, int n, int parallel)
{
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && idx[j + 1] == idx[j] + 1)
            j++;
        aw_sbuf_printf(b, "%s%d", i ? "," : "", idx[i]);
        if (j > i)
            aw_sbuf_printf(b, "-%d", idx[j]);
        i = j + 1;
    }
    if (parallel > 0)
        aw_sbuf_printf(b, "%%%d", parallel);
}

/* One array (or the merge job): its script and what it depends on. */
typedef struct job {
    aw_sbuf_t script;
    char dep[64];    /* "aftercorr:" + index of the job depended on, or "" */
    int dep_on;      /* that job's index in the plan, -1 none */
    int merge;       /* the merge job: afterany on every other job */
    char what[128];  /* for the summary */
} job_t;

static void script_head(job_t *jb, const char *name, const char *dir, const int *idx, int n, int threads,
                        const aw_cluster_submit_opts_t *o)
{
    aw_sbuf_t *b = &jb->script;
    aw_sbuf_printf(b, "#!/bin/sh\n# aiwae cluster task (docs/cluster.md): %s\n#SBATCH --job-name=aiwae-%s\n", jb->what,
                   name);
    if (idx != NULL) {
        aw_sbuf_puts(b, "#SBATCH --array=");
        array_spec(b, idx, n, o->parallel);
        aw_sbuf_printf(b, "\n#SBATCH --requeue\n#SBATCH --signal=B:USR1@%d\n#SBATCH --cpus-per-task=%d\n",
                       SIGNAL_LEAD_S, threads);
        if (jb->dep_on >= 0)
            aw_sbuf_puts(b, "#SBATCH --kill-on-invalid-dep=yes\n");
    }
    aw_sbuf_printf(b, "#SBATCH --open-mode=append\n#SBATCH --output=%s", dir);
    aw_sbuf_puts(b, idx != NULL ? "/slurm-%x-%A_%a.out\n" : "/slurm-%x-%j.out\n");
}

/* The body of a task script: the task in the background, SIGTERM passed on to it, and a requeue when it
 * stopped after checkpointing (exit status 3). */
static void script_task(aw_sbuf_t *b, const char *exe, const aw_cluster_submit_opts_t *o, int eval, int shard)
{
    shq(b, exe);
    aw_sbuf_puts(b, " --db ");
    shq(b, o->db_path);
    aw_sbuf_puts(b, " --task \"$SLURM_ARRAY_TASK_ID\"");
    if (eval >= 0)
        aw_sbuf_printf(b, " --shard %d:%d", eval, shard);
    if (o->threads > 0)
        aw_sbuf_printf(b, " --threads %d", o->threads);
    for (int i = 0; i < o->n_sets; i++) {
        aw_sbuf_puts(b, " --set ");
        shq(b, o->sets[i]);
    }
    aw_sbuf_puts(b, " ");
    shq(b, o->spec_path);
    /* USR1 (--signal=B:USR1@N, to this shell only) is the time limit: stop and requeue; TERM is scancel
     * or the end of the job: stop, and stay stopped */
    aw_sbuf_puts(b, " &\npid=$!\nrequeue=0\ntrap 'kill -TERM \"$pid\" 2>/dev/null' TERM\n"
                    "trap 'requeue=1; kill -TERM \"$pid\" 2>/dev/null' USR1\nst=0; wait \"$pid\" || st=$?\n"
                    "while kill -0 \"$pid\" 2>/dev/null; do st=0; wait \"$pid\" || st=$?; done\n"
                    "if [ \"$st\" -eq 3 ] && [ \"$requeue\" -eq 1 ]; then scontrol requeue \"$SLURM_JOB_ID\" && exit 0; fi\n"
                    "exit \"$st\"\n");
}

/* Absolute forms of the paths the scripts use (they run in another directory, perhaps on another host). */
static int absolute(const char *p, char *out, aw_error_t *err)
{
    if (p[0] == '/') {
        snprintf(out, AW_CLUSTER_PATH_MAX, "%s", p);
        return AW_OK;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return aw_error_set(err, AW_EIO, "cannot read the working directory (%s)", strerror(errno));
    if (snprintf(out, AW_CLUSTER_PATH_MAX, "%s/%s", cwd, p) >= AW_CLUSTER_PATH_MAX)
        return aw_error_set(err, AW_EARG, "%s: path too long", p);
    return AW_OK;
}

/* Submits one script (stdin of sbatch --parsable) and appends its job id to jobs. */
static int sbatch(const aw_cluster_submit_opts_t *o, const char *dep, const char *script, aw_cluster_jobs_t *jobs,
                  aw_error_t *err)
{
    char *args = strdup(o->sbatch_args ? o->sbatch_args : "");
    char *argv[64];
    int n = 0;
    argv[n++] = "sbatch";
    argv[n++] = "--parsable";
    if (dep[0] != '\0')
        argv[n++] = (char *)dep;
    char *save = NULL;
    for (char *w = args ? strtok_r(args, " \t\n", &save) : NULL; w != NULL && n < 63; w = strtok_r(NULL, " \t\n", &save))
        argv[n++] = w;
    argv[n] = NULL;
    char *out = NULL;
    int status = 0;
    int rc = args == NULL ? aw_error_set(err, AW_ENOMEM, "out of memory") : capture(argv, script, &out, &status, err);
    free(args);
    if (rc == AW_OK) {
        char *nl = strpbrk(out, ";\n");
        if (nl != NULL)
            *nl = '\0';
        if (status != 0 || out[0] < '0' || out[0] > '9')
            rc = aw_error_set(err, AW_EIO, "sbatch failed (exit %d): %.600s", status, out);
    }
    char **g = rc == AW_OK ? realloc(jobs->ids, (size_t)(jobs->n + 1) * sizeof *g) : NULL;
    if (rc == AW_OK && g == NULL)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    if (rc == AW_OK) {
        jobs->ids = g;
        jobs->ids[jobs->n++] = out;
        out = NULL;
    }
    free(out);
    return rc;
}

void aw_cluster_jobs_fini(aw_cluster_jobs_t *j)
{
    for (int i = 0; i < j->n; i++)
        free(j->ids[i]);
    free(j->ids);
    free(j->text);
    memset(j, 0, sizeof *j);
}

/* The plan: the training array, then per (entry, shard) an array that waits for its runs' training tasks
 * and one for runs already trained; then the merge job. */
typedef struct plan {
    job_t *jobs;
    int n, cap;
} plan_t;

static job_t *plan_add(plan_t *p)
{
    if (p->n == p->cap) {
        int nc = p->cap ? 2 * p->cap : 8;
        job_t *g = realloc(p->jobs, (size_t)nc * sizeof *g);
        if (g == NULL)
            return NULL;
        p->jobs = g;
        p->cap = nc;
    }
    job_t *j = &p->jobs[p->n++];
    memset(j, 0, sizeof *j);
    j->dep_on = -1;
    return j;
}

static void plan_fini(plan_t *p)
{
    for (int i = 0; i < p->n; i++)
        free(aw_sbuf_finish(&p->jobs[i].script));
    free(p->jobs);
}

typedef struct paths {
    char db[AW_CLUSTER_PATH_MAX], spec[AW_CLUSTER_PATH_MAX], dir[AW_CLUSTER_DIR_MAX], exe[AW_CLUSTER_PATH_MAX];
} paths_t;

static int build_plan(const aw_cluster_submit_opts_t *o, const aw_spec_list_t *list, const aw_cluster_task_t *t,
                      int nt, const paths_t *pa, plan_t *p, aw_error_t *err)
{
    int threads = o->threads;
    for (int i = 0; i < list->n && o->threads == 0; i++)
        threads = list->runs[i].train.threads > threads ? list->runs[i].train.threads : threads;
    int *idx = malloc(sizeof(int) * (size_t)(nt + 1)), *trained = calloc((size_t)list->n + 1, sizeof(int));
    if (idx == NULL || trained == NULL) {
        free(idx);
        free(trained);
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    }
    aw_cluster_submit_opts_t so = *o;
    so.db_path = pa->db;
    so.spec_path = pa->spec;
    int m = 0, train_job = -1;
    for (int i = 0; i < nt; i++)
        if (t[i].eval < 0) {
            idx[m++] = t[i].run;
            trained[t[i].run] = 1; /* trained by this submission */
        }
    job_t *jb;
    int rc = AW_OK, oom = 0;
    if (m > 0 && !(oom = (jb = plan_add(p)) == NULL)) {
        snprintf(jb->what, sizeof jb->what, "training of %d run%s (array index = run of the spec)", m, m > 1 ? "s" : "");
        script_head(jb, "train", pa->dir, idx, m, threads, o);
        script_task(&jb->script, pa->exe, &so, -1, 0);
        train_job = p->n - 1;
    }
    /* shard tasks come grouped by run; each (entry, shard) pair in turn, once for each side of "trained now" */
    for (int first = 0; first < nt; first++) {
        if (t[first].eval < 0)
            continue;
        int dup = 0;
        for (int q = 0; q < first && !dup; q++)
            dup = t[q].eval == t[first].eval && t[q].shard == t[first].shard;
        for (int side = 1; side >= 0 && !dup; side--) {
            m = 0;
            for (int i = first; i < nt; i++)
                if (t[i].eval == t[first].eval && t[i].shard == t[first].shard && trained[t[i].run] == side)
                    idx[m++] = t[i].run;
            if (m == 0 || (oom |= (jb = plan_add(p)) == NULL))
                continue;
            jb->dep_on = side ? train_job : -1;
            snprintf(jb->what, sizeof jb->what, "evaluate[%d] shard %d of %d run%s%s", t[first].eval, t[first].shard,
                     m, m > 1 ? "s" : "", side ? " (each after its training task)" : "");
            char name[48];
            snprintf(name, sizeof name, "eval%d-shard%d", t[first].eval, t[first].shard);
            script_head(jb, name, pa->dir, idx, m, threads, o);
            script_task(&jb->script, pa->exe, &so, t[first].eval, t[first].shard);
        }
    }
    if (p->n > 0 && !(oom |= (jb = plan_add(p)) == NULL)) {
        jb->merge = 1;
        snprintf(jb->what, sizeof jb->what, "merge of the task files into the main database (after all the others)");
        script_head(jb, "merge", pa->dir, NULL, 0, 1, o);
        shq(&jb->script, pa->exe);
        aw_sbuf_puts(&jb->script, " --merge --db ");
        shq(&jb->script, pa->db);
        aw_sbuf_puts(&jb->script, "\n");
    }
    for (int i = 0; i < p->n; i++)
        oom |= p->jobs[i].script.oom;
    if (oom)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    free(idx);
    free(trained);
    return rc;
}

/* The dependency option of job i ("" for none), with job ids or, in a dry run, $JOB<k> placeholders. */
static void dependency(const plan_t *p, int i, const aw_cluster_jobs_t *jobs, aw_sbuf_t *b)
{
    const job_t *j = &p->jobs[i];
    if (j->dep_on >= 0) {
        aw_sbuf_puts(b, "--dependency=aftercorr:");
        if (jobs->n > j->dep_on)
            aw_sbuf_puts(b, jobs->ids[j->dep_on]);
        else
            aw_sbuf_printf(b, "$JOB%d", j->dep_on + 1);
    } else if (j->merge) {
        aw_sbuf_puts(b, "--dependency=afterany");
        for (int k = 0; k < i; k++) {
            if (jobs->n > k)
                aw_sbuf_printf(b, ":%s", jobs->ids[k]);
            else
                aw_sbuf_printf(b, ":$JOB%d", k + 1);
        }
    }
}

int aw_cluster_submit(const aw_cluster_submit_opts_t *o, const aw_spec_list_t *list, aw_cluster_jobs_t *jobs,
                      aw_error_t *err)
{
    memset(jobs, 0, sizeof *jobs);
    paths_t *pa = calloc(1, sizeof *pa);
    if (pa == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    int rc = absolute(o->db_path, pa->db, err);
    if (rc == AW_OK)
        rc = absolute(o->spec_path, pa->spec, err);
    if (rc == AW_OK)
        rc = aw_cluster_dir(pa->db, pa->dir, err);
    ssize_t len = readlink("/proc/self/exe", pa->exe, sizeof pa->exe - 1);
    if (rc == AW_OK && len <= 0)
        rc = aw_error_set(err, AW_EIO, "cannot find this program's own path (/proc/self/exe: %s)", strerror(errno));
    if (len > 0)
        pa->exe[len] = '\0';
    /* the main database exists from the start, so that aiwae-report --runs works while the tasks run */
    aw_store_t *s = NULL;
    if (rc == AW_OK && !o->dry_run && (rc = aw_store_open(&s, pa->db, 0, err)) == AW_OK)
        aw_store_close(s);
    /* Slurm writes the tasks' output there before they start */
    if (rc == AW_OK && !o->dry_run && mkdir(pa->dir, 0777) != 0 && errno != EEXIST)
        rc = aw_error_set(err, AW_EIO, "%s: cannot create the task directory (%s)", pa->dir, strerror(errno));
    if (rc == AW_OK && strpbrk(pa->dir, " \t\n'\"\\%") != NULL)
        rc = aw_error_set(err, AW_EARG, "%s: Slurm's output path cannot hold blanks, quotes, '\\' or '%%'", pa->dir);
    aw_cluster_task_t *t = NULL;
    int nt = 0;
    if (rc == AW_OK)
        rc = aw_cluster_pending(pa->db, list, &t, &nt, err);
    plan_t p = {0};
    if (rc == AW_OK)
        rc = build_plan(o, list, t, nt, pa, &p, err);
    aw_sbuf_t text = {0};
    if (rc == AW_OK && nt == 0)
        aw_sbuf_printf(&text, "nothing to submit: every run and shard of %s is done\n", o->spec_path);
    for (int i = 0; i < p.n && rc == AW_OK; i++) {
        aw_sbuf_t dep = {0};
        dependency(&p, i, jobs, &dep);
        char *d = aw_sbuf_finish(&dep);
        const char *script = p.jobs[i].script.p;
        if (d == NULL)
            rc = aw_error_set(err, AW_ENOMEM, "out of memory");
        else if (o->dry_run)
            aw_sbuf_printf(&text, "# JOB%d: sbatch --parsable %s%s%s <<'EOF'\n%sEOF\n", i + 1, d, d[0] ? " " : "",
                           o->sbatch_args ? o->sbatch_args : "", script);
        else if ((rc = sbatch(o, d, script, jobs, err)) == AW_OK)
            aw_sbuf_printf(&text, "submitted job %s: %s\n", jobs->ids[jobs->n - 1], p.jobs[i].what);
        free(d);
    }
    free(t);
    plan_fini(&p);
    free(pa);
    jobs->text = aw_sbuf_finish(&text);
    if (rc == AW_OK && jobs->text == NULL)
        rc = aw_error_set(err, AW_ENOMEM, "out of memory");
    return rc;
}

int aw_cluster_wait(const aw_cluster_jobs_t *jobs, double poll_s, volatile sig_atomic_t *stop, aw_error_t *err)
{
    if (jobs->n == 0)
        return AW_OK;
    aw_sbuf_t ids = {0};
    for (int i = 0; i < jobs->n; i++)
        aw_sbuf_printf(&ids, "%s%s", i ? "," : "", jobs->ids[i]);
    char *list = aw_sbuf_finish(&ids);
    if (list == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    char *argv[] = {"squeue", "-h", "-o", "%i", "-j", list, NULL};
    int rc = AW_OK, failures = 0;
    for (;;) {
        char *out = NULL;
        int status = 0;
        if ((rc = capture(argv, NULL, &out, &status, err)) < 0)
            break;
        /* jobs that left the controller's memory are "invalid" ids: done */
        int gone = status != 0 && strstr(out, "Invalid job id") != NULL;
        int empty = status == 0 && strspn(out, " \t\n") == strlen(out);
        if (status != 0 && !gone && ++failures >= 10)
            rc = aw_error_set(err, AW_EIO, "squeue failed 10 times (exit %d): %.600s", status, out);
        free(out);
        if (rc < 0 || gone || empty)
            break;
        if (status == 0)
            failures = 0;
        if (stop != NULL && *stop) {
            rc = aw_error_set(err, AW_EINTR, "interrupted while waiting for jobs %s (they go on running)", list);
            break;
        }
        struct timespec ts = {.tv_sec = (time_t)poll_s, .tv_nsec = (long)((poll_s - (double)(time_t)poll_s) * 1e9)};
        nanosleep(&ts, NULL);
    }
    free(list);
    return rc;
}
