/* store.h: the results database (SQLite): runs, per-epoch metrics, checkpoints,
 * evaluations with their per-point values, and an event log.
 *
 * Durability: WAL mode, synchronous=FULL, every write is one BEGIN IMMEDIATE
 * transaction, so a crash, kill -9 or full disk at any moment leaves the last
 * committed state; several processes may share one file (busy timeout 30 s).
 * The schema is versioned by PRAGMA user_version and built by a list of forward
 * migrations; the file is marked by PRAGMA application_id and table aiwae_meta.
 *
 * Cluster mode (src/cluster, docs/cluster.md): array tasks each write their own file
 * with this schema; the merge takes the union of their rows, because
 * every key is natural -- run identity (SHA-256 hex of the resolved spec), epoch,
 * checkpoint position, evaluation (estimator, settings, split, epoch) and point
 * index -- never an autoincrement id, so rows from different files never collide
 * unless they describe the same thing.
 *
 * Epoch numbering: metrics epoch e (>= 1) is the e-th completed epoch. A
 * checkpoint is keyed (epoch, position): the state after `epoch` completed
 * epochs plus `position` minibatches of the next epoch (the runner's unit);
 * (e, 0) is the end of epoch e, and newer means larger (epoch, position).
 *
 * Ownership: strings passed in are borrowed for the call. Rows returned are
 * owned by the caller and released with the matching _free/_fini function;
 * blobs are malloc'd and released with free(). Times are UTC ISO-8601 text
 * ("2024-05-01T12:00:00.000Z") set by the store. Every failure of SQLite is
 * AW_EDB with a message naming the file and what failed. */
#ifndef AW_STORE_H
#define AW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define AW_STORE_DEFAULT_PATH "results/aiwae.db"
#define AW_STORE_SCHEMA_VERSION 3      /* the newest schema this program knows */
#define AW_STORE_APPLICATION_ID 0x41495741 /* "AIWA", PRAGMA application_id */
#define AW_STORE_BUSY_MS 30000         /* default wait for another process's lock */
#define AW_STORE_ID_LEN 64             /* hex digits of a run identity */

typedef struct aw_store aw_store_t; /* an open connection (opaque) */

typedef enum aw_run_status {
    AW_RUN_PENDING = 0, /* created, never started */
    AW_RUN_RUNNING,     /* a process is training it (or died without saying so) */
    AW_RUN_INTERRUPTED, /* stopped by a signal after checkpointing; resumable */
    AW_RUN_FAILED,      /* stopped by an error (message says which) */
    AW_RUN_FINISHED     /* all epochs done */
} aw_run_status_t;

/* What the caller knows about a run when registering it (all borrowed). */
typedef struct aw_store_run_info {
    const char *identity; /* 64 lowercase hex digits */
    const char *name;     /* human name from the spec */
    const char *spec;     /* resolved spec, canonical YAML */
    int64_t epochs_total; /* epochs the spec asks for */
    const char *host;     /* host name; NULL means gethostname() */
    const char *version;  /* program version, e.g. PACKAGE_VERSION */
} aw_store_run_info_t;

/* One row of table runs (owned strings; release with aw_store_run_fini). */
typedef struct aw_store_run {
    char identity[AW_STORE_ID_LEN + 1]; /* 64 hex digits */
    char *name;                         /* human name */
    char *spec;                         /* resolved spec, canonical YAML */
    aw_run_status_t status;             /* lifecycle state */
    int64_t epochs_total;               /* epochs asked for */
    int64_t epoch;                      /* epochs completed and committed */
    char *created;                      /* time of the first registration */
    char *updated;                      /* time of the last change */
    char *host;                         /* host that registered the run */
    char *version;                      /* program version that registered it */
    char *message;                      /* last status message ("" if none) */
} aw_store_run_t;

/* One epoch's metrics. As input the arrays are borrowed; rows returned by
 * aw_store_metrics_list own them (release with aw_store_metrics_free).
 * Non-finite values are stored as NULL and read back as NaN. */
typedef struct aw_store_metrics {
    int64_t epoch;       /* 1-based number of the completed epoch */
    double loss;         /* epoch mean of the minimized loss */
    double bound;        /* epoch mean of the training bound (positive NLL, nats) */
    double lr;           /* learning rate used */
    size_t n_temps;      /* number of HMC temperatures (0 if the method has none) */
    double *accept;      /* [n_temps] acceptance rate per temperature */
    double *step;        /* [n_temps] step size per temperature at the end of the epoch */
    double seconds;      /* wall time of the epoch */
    double points_per_s; /* training throughput */
} aw_store_metrics_t;

/* A stored checkpoint's key and size (no blob). */
typedef struct aw_store_ckpt_ref {
    int64_t epoch;    /* completed epochs */
    int64_t position; /* minibatches of the next epoch done */
    int keep;         /* 1 if kept for good by the retention rule (run/retention.h) */
    size_t bytes;     /* blob length */
} aw_store_ckpt_ref_t;

/* Names an evaluation (all borrowed). */
typedef struct aw_store_eval_key {
    const char *identity;  /* run identity */
    const char *estimator; /* an estimator plugin's name */
    const char *settings;  /* canonical string of the estimator settings */
    const char *split;     /* data split, e.g. "test" */
    int64_t epoch;         /* epoch of the checkpoint evaluated */
} aw_store_eval_key_t;

/* One row of table evaluations (owned strings; release with aw_store_eval_fini). */
typedef struct aw_store_eval {
    char identity[AW_STORE_ID_LEN + 1]; /* run identity */
    char *estimator;                    /* estimator name */
    char *settings;                     /* settings string */
    char *split;                        /* data split */
    int64_t epoch;                      /* epoch evaluated */
    int64_t n_total;                    /* points in the evaluation */
    int64_t n_done;                     /* points whose value is stored */
    int64_t n;                          /* points in the final mean (0 until finished) */
    double mean;                        /* final mean (NaN until finished) */
    double se;                          /* standard error of the mean (NaN until finished) */
    double seconds;                     /* evaluation time accumulated over all chunks */
    int finished;                       /* 1 once aw_store_eval_finish ran */
    double partial_points;              /* points' worth of work in the partial states of unfinished calls */
    double partial_seconds;             /* the work time of those partial states */
    char *updated;                      /* time of the last change */
} aw_store_eval_t;

/* One row of table events (owned strings; release with aw_store_events_free). */
typedef struct aw_store_event {
    char *identity; /* run identity, or NULL for events about no run */
    char *time;     /* when it was logged */
    char *kind;     /* short machine word, e.g. "resume", "checkpoint_bad" */
    char *message;  /* one line for humans */
} aw_store_event_t;

/* ---- connection ---- */

/* Opens (creating if needed, with its parent directories) the database at path;
 * "file:" URIs are accepted (e.g. "file:x.db?mode=ro"). Writable mode sets WAL,
 * synchronous=FULL and brings the schema up to AW_STORE_SCHEMA_VERSION with the
 * migration list. read_only uses SQLITE_OPEN_READONLY, changes nothing, and works
 * while a writer is active. Fails with AW_EDB naming the file if it is not SQLite,
 * not an aiwae database, or from a newer program (user_version too high);
 * AW_EIO if a parent directory cannot be created. *out is NULL on failure. */
int aw_store_open(aw_store_t **out, const char *path, int read_only, aw_error_t *err);

/* Closes s (NULL is ignored). */
void aw_store_close(aw_store_t *s);

/* The path s was opened with (borrowed). */
const char *aw_store_path(const aw_store_t *s);

/* Sets how long a write waits for another process's lock before failing with
 * "database is locked by another process". Returns 0 or AW_EDB. */
int aw_store_set_busy_timeout(aw_store_t *s, int ms, aw_error_t *err);

/* The raw SQLite handle (borrowed; for tests and ad-hoc queries). */
struct sqlite3 *aw_store_handle(aw_store_t *s);

/* "pending", "running", ...; aw_run_status_parse returns -1 for an unknown word. */
const char *aw_run_status_name(aw_run_status_t st);
int aw_run_status_parse(const char *word);

/* ---- runs ---- */

/* Registers a run as pending if its identity is new; otherwise changes nothing.
 * Either way fills *out with the stored row (caller compares spec if it cares)
 * and *created with 1 if the row was inserted now, else 0 (created may be NULL). */
int aw_store_run_upsert(aw_store_t *s, const aw_store_run_info_t *info, aw_store_run_t *out, int *created,
                        aw_error_t *err);

/* Fills *out with run identity's row; AW_ENOTFOUND if there is none. */
int aw_store_run_get(aw_store_t *s, const char *identity, aw_store_run_t *out, aw_error_t *err);

/* Sets the run's status and message (NULL means ""); AW_ENOTFOUND if unknown. */
int aw_store_run_set_status(aw_store_t *s, const char *identity, aw_run_status_t status, const char *message,
                            aw_error_t *err);

/* Claims run identity for the calling process in one transaction: unless the
 * run is `running` under another owner (its message) that is_alive(owner, ctx)
 * says is still at work, sets it running with message = owner and *claimed = 1;
 * otherwise changes nothing, *claimed = 0 and holder[holder_len] gets the
 * other owner. Two processes can thus share a sweep without training the same
 * run twice. AW_ENOTFOUND if the run is unknown. */
int aw_store_run_claim(aw_store_t *s, const char *identity, const char *owner,
                       int (*is_alive)(const char *owner, void *ctx), void *ctx, int *claimed, char *holder,
                       size_t holder_len, aw_error_t *err);

/* The owner string of a claim by the calling process, "pid N on HOST", into buf[n]. */
void aw_store_owner_self(char *buf, size_t n);

/* Whether the process a claim names (an owner string) is alive: 1 yes, 0 no (this host has no such process),
 * -1 unknown (another host's claim, or not an owner string). */
int aw_store_owner_alive(const char *owner);

/* All runs, oldest first, into a new array *runs of *n rows (free with aw_store_runs_free). */
int aw_store_runs_list(aw_store_t *s, aw_store_run_t **runs, size_t *n, aw_error_t *err);

/* Runs by what people type (name, identity prefix, glob): store/run_match.h. */

/* Free a row's strings (r is zeroed) / an array of n rows and the array. */
void aw_store_run_fini(aw_store_run_t *r);
void aw_store_runs_free(aw_store_run_t *runs, size_t n);

/* ---- epochs and checkpoints ---- */

/* In ONE transaction: inserts metrics row m->epoch (AW_EDB if it exists),
 * stores blob as checkpoint (m->epoch, 0) with keep (1 = kept for good by the
 * retention rule, run/retention.h), sets the run's completed epoch to m->epoch, and
 * deletes the run's other checkpoints that are neither kept nor the newest.
 * On any failure nothing of it is written. */
int aw_store_commit_epoch(aw_store_t *s, const char *identity, const aw_store_metrics_t *m, const void *blob,
                          size_t nblob, int keep, aw_error_t *err);

/* Stores a mid-epoch checkpoint (epoch, position) (replacing one with the same
 * key but keeping its keep flag) and prunes like commit_epoch, never deleting
 * the one just written; one transaction. */
int aw_store_save_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, int64_t position,
                             const void *blob, size_t nblob, aw_error_t *err);

/* The run's checkpoints, newest first, into a new array *refs of *n (free()). */
int aw_store_checkpoints_list(aw_store_t *s, const char *identity, aw_store_ckpt_ref_t **refs, size_t *n,
                              aw_error_t *err);

/* Copies checkpoint (epoch, position) into a new malloc'd *blob of *n bytes
 * (caller frees); AW_ENOTFOUND if it does not exist. */
int aw_store_load_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, int64_t position,
                             uint8_t **blob, size_t *n, aw_error_t *err);

/* Decides whether a stored checkpoint blob is usable (decoding it into ctx): 0 takes it; AW_ENOMEM ends
 * the search with that error; any other error rejects the blob as damaged (err says why). */
typedef struct aw_store_ckpt_taker {
    int (*take)(void *ctx, const uint8_t *blob, size_t n, aw_error_t *err);
    void (*rejected)(void *ctx, const char *message); /* told of each rejection (may be NULL) */
    void *ctx;
} aw_store_ckpt_taker_t;

/* Offers the run's checkpoints to t->take, newest first, until it takes one, and puts that one's key in
 * *taken (may be NULL). epoch < 0 offers every checkpoint, epoch >= 0 only the end-of-epoch one kept at
 * that epoch. Each rejected one is logged as event "checkpoint_bad" (unless the store is read-only) with
 * the message t->rejected gets ("checkpoint at epoch E step P is unusable (why); trying the previous
 * one"). AW_ENOTFOUND if none is taken (err says how many were rejected and why the oldest was). A
 * caller resuming from the one taken then calls aw_store_rollback to drop the newer, bad state. */
int aw_store_take_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, const aw_store_ckpt_taker_t *t,
                             aw_store_ckpt_ref_t *taken, aw_error_t *err);

/* Rolls the run back to checkpoint (epoch, position) in one transaction:
 * deletes metrics rows, evaluations and their per-point values with epoch > `epoch`, checkpoints newer
 * than the key (position -1 at epoch 0: every checkpoint), and sets the run's completed epoch to
 * min(current, epoch). */
int aw_store_rollback(aw_store_t *s, const char *identity, int64_t epoch, int64_t position, aw_error_t *err);

/* The run's metrics, by epoch, into a new array *rows of *n (free with aw_store_metrics_free). */
int aw_store_metrics_list(aw_store_t *s, const char *identity, aw_store_metrics_t **rows, size_t *n,
                          aw_error_t *err);
/* Frees n rows from aw_store_metrics_list (their arrays and the array). */
void aw_store_metrics_free(aw_store_metrics_t *rows, size_t n);

/* ---- evaluations ---- */

/* Gets or creates evaluation key with n_total points and fills *out (may be
 * NULL). AW_EDB if it exists with a different n_total. */
int aw_store_eval_begin(aw_store_t *s, const aw_store_eval_key_t *key, int64_t n_total, aw_store_eval_t *out,
                        aw_error_t *err);

/* Stores values[n] for points first..first+n-1 (replacing stored ones), adds
 * seconds (and the work time of the call's partial state, which it deletes) to
 * the evaluation's time and updates n_done, in one transaction.
 * AW_EARG if the range leaves [0, n_total); AW_ENOTFOUND if not begun. */
int aw_store_eval_put_points(aw_store_t *s, const aw_store_eval_key_t *key, int64_t first, const double *values,
                             size_t n, double seconds, aw_error_t *err);

/* Stores the partial state (blob[n], the estimator's) of the call that evaluates points first ..
 * first + n_points - 1, replacing the one stored before, with its progress (done of total units) and the
 * work time it holds. aw_store_eval_put_points of those points deletes it, in its transaction. */
int aw_store_eval_put_partial(aw_store_t *s, const aw_store_eval_key_t *key, int64_t first, int64_t n_points,
                              int64_t done, int64_t total, double seconds, const void *blob, size_t n,
                              aw_error_t *err);

/* The partial state stored for the call at point first: a new malloc'd *blob of *n bytes and the work time
 * *seconds it holds, or *blob = NULL (*n = 0, *seconds = 0) when there is none. */
int aw_store_eval_get_partial(aw_store_t *s, const aw_store_eval_key_t *key, int64_t first, uint8_t **blob,
                              size_t *n, double *seconds, aw_error_t *err);

/* Reads the stored points: have[i] = 1 and values[i] set for each stored index
 * i < n_total, have[i] = 0 (values[i] untouched) otherwise. Both arrays [n_total]. */
int aw_store_eval_points(aw_store_t *s, const aw_store_eval_key_t *key, int64_t n_total, double *values,
                         uint8_t *have, aw_error_t *err);

/* Marks the evaluation finished with its mean, standard error, point count and
 * total seconds. AW_ENOTFOUND if not begun. */
int aw_store_eval_finish(aw_store_t *s, const aw_store_eval_key_t *key, double mean, double se, int64_t n,
                         double seconds, aw_error_t *err);

/* Evaluations of one run (identity) or of all runs (NULL), into a new array
 * (free with aw_store_evals_free). */
int aw_store_evals_list(aw_store_t *s, const char *identity, aw_store_eval_t **rows, size_t *n, aw_error_t *err);
/* Free one row's strings (e is zeroed) / n rows and the array. */
void aw_store_eval_fini(aw_store_eval_t *e);
void aw_store_evals_free(aw_store_eval_t *rows, size_t n);

/* ---- events ---- */

/* Appends an event; identity may be NULL. */
int aw_store_log_event(aw_store_t *s, const char *identity, const char *kind, const char *message,
                       aw_error_t *err);

/* Events of one run (or all with NULL), oldest first (free with aw_store_events_free). */
int aw_store_events_list(aw_store_t *s, const char *identity, aw_store_event_t **rows, size_t *n,
                         aw_error_t *err);
/* Frees n rows from aw_store_events_list and the array. */
void aw_store_events_free(aw_store_event_t *rows, size_t n);

#endif
