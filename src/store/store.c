/* store.c: the results database over SQLite (see store.h for the contract): the schema and its
 * migrations, opening, and the runs table. Checkpoints and metrics are in store_ckpt.c, evaluations
 * and events in store_eval.c, the SQLite helpers in store_db.c. */
#include "store/store_db.h"
#include "store/store_migrate.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* Forward migrations: entry i brings user_version i to i + 1: its SQL, then its step in code. Append only. */
typedef struct migration {
    const char *sql;
    int (*step)(aw_store_t *s, aw_error_t *err);
} migration_t;

static const migration_t migrations[] = {
    /* 1: the first schema. */
    {    "CREATE TABLE aiwae_meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
    "INSERT INTO aiwae_meta(key, value) VALUES ('application', 'aiwae'), ('created', " NOW ");"
    "CREATE TABLE runs("
    " identity TEXT PRIMARY KEY NOT NULL,"
    " name TEXT NOT NULL,"
    " spec TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending','running','interrupted','failed','finished')),"
    " epochs_total INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL DEFAULT 0,"
    " created TEXT NOT NULL,"
    " updated TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " version TEXT NOT NULL,"
    " message TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX runs_name ON runs(name);"
    "CREATE TABLE metrics("
    " identity TEXT NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " loss REAL, bound REAL, lr REAL,"
    " accept TEXT NOT NULL,"
    " step TEXT NOT NULL,"
    " seconds REAL, points_per_s REAL,"
    " created TEXT NOT NULL,"
    " PRIMARY KEY (identity, epoch)) WITHOUT ROWID;"
    "CREATE TABLE checkpoints("
    " identity TEXT NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " position INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " blob BLOB NOT NULL,"
    " keep INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (identity, epoch, position));"
    "CREATE TABLE evaluations("
    " identity TEXT NOT NULL, estimator TEXT NOT NULL, settings TEXT NOT NULL,"
    " split TEXT NOT NULL, epoch INTEGER NOT NULL,"
    " n_total INTEGER NOT NULL, n_done INTEGER NOT NULL DEFAULT 0, n INTEGER NOT NULL DEFAULT 0,"
    " mean REAL, stderr REAL, seconds REAL NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL CHECK (status IN ('running','finished')),"
    " created TEXT NOT NULL, updated TEXT NOT NULL,"
    " PRIMARY KEY (identity, estimator, settings, split, epoch)) WITHOUT ROWID;"
    "CREATE TABLE eval_points("
    " identity TEXT NOT NULL, estimator TEXT NOT NULL, settings TEXT NOT NULL,"
    " split TEXT NOT NULL, epoch INTEGER NOT NULL, idx INTEGER NOT NULL, value REAL,"
    " PRIMARY KEY (identity, estimator, settings, split, epoch, idx)) WITHOUT ROWID;"
    "CREATE TABLE events(identity TEXT, time TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL);"
    "CREATE INDEX events_identity ON events(identity, time);"
    "PRAGMA application_id = " STR(AW_STORE_APPLICATION_ID) ";", NULL},
    /* 2: runs keyed by the identity of their training alone (evaluations attach to a run and an epoch). */
    {"", aw_store_migrate_identities},
    /* 3: the partial state of an evaluation call interrupted part-way (an AIS batch between temperatures). */
    {"CREATE TABLE IF NOT EXISTS eval_partial("
     " identity TEXT NOT NULL, estimator TEXT NOT NULL, settings TEXT NOT NULL,"
     " split TEXT NOT NULL, epoch INTEGER NOT NULL, first INTEGER NOT NULL,"
     " n_points INTEGER NOT NULL, done INTEGER NOT NULL, total INTEGER NOT NULL, seconds REAL NOT NULL,"
     " updated TEXT NOT NULL, blob BLOB NOT NULL,"
     " PRIMARY KEY (identity, estimator, settings, split, epoch, first)) WITHOUT ROWID;", NULL},
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(N_MIGRATIONS == AW_STORE_SCHEMA_VERSION, "one migration per schema version");

static const char *const status_names[] = {"pending", "running", "interrupted", "failed", "finished"};

const char *aw_run_status_name(aw_run_status_t st)
{
    if ((int)st < 0 || (int)st >= (int)(sizeof status_names / sizeof status_names[0]))
        return "unknown";
    return status_names[st];
}

int aw_run_status_parse(const char *word)
{
    for (int i = 0; i < (int)(sizeof status_names / sizeof status_names[0]); i++)
        if (word != NULL && strcmp(word, status_names[i]) == 0)
            return i;
    return -1;
}


/* ---- opening, identification, migrations ---- */

typedef struct db_state {
    int64_t app_id;  /* PRAGMA application_id */
    int64_t version; /* PRAGMA user_version */
    int fresh;       /* 1 if the file has no schema at all (new or empty) */
} db_state_t;

/* Runs a query returning one integer. */
static int q_int(aw_store_t *s, aw_error_t *err, const char *what, const char *sql, int64_t *v)
{
    sqlite3_stmt *st;
    int rc = aw_sq_prep(s, err, &st, what, sql, "");
    if (rc != 0)
        return rc;
    rc = aw_sq_step(s, err, st, what);
    if (rc == 1) {
        *v = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = aw_error_set(err, AW_EDB, "%s: %s: no result", s->path, what);
    }
    return aw_sq_end(s, err, st, rc, what);
}

/* Decides whether the file is an aiwae database this program can use. */
static int identify(aw_store_t *s, aw_error_t *err, db_state_t *d)
{
    int64_t nobj = 0;
    int rc = q_int(s, err, "reading the file header", "PRAGMA application_id", &d->app_id);
    if (rc == 0)
        rc = q_int(s, err, "reading the schema version", "PRAGMA user_version", &d->version);
    if (rc == 0)
        rc = q_int(s, err, "reading the schema", "SELECT count(*) FROM sqlite_master", &nobj);
    if (rc != 0)
        return rc;
    d->fresh = d->app_id == 0 && d->version == 0 && nobj == 0;
    if (d->fresh)
        return 0;
    if (d->app_id != AW_STORE_APPLICATION_ID)
        return aw_error_set(err, AW_EDB,
                            "%s: not an aiwae database (SQLite file with application_id %lld, expected %d, "
                            "and %lld schema objects)", s->path, (long long)d->app_id, AW_STORE_APPLICATION_ID,
                            (long long)nobj);
    int64_t has_meta = 0, marked = 0;
    rc = q_int(s, err, "reading aiwae_meta",
               "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'aiwae_meta'", &has_meta);
    if (rc == 0 && has_meta)
        rc = q_int(s, err, "reading aiwae_meta",
                   "SELECT count(*) FROM aiwae_meta WHERE key = 'application' AND value = 'aiwae'", &marked);
    if (rc != 0)
        return rc;
    if (!marked || d->version < 1)
        return aw_error_set(err, AW_EDB, "%s: not an aiwae database (aiwae's application_id but no aiwae_meta "
                            "marker, schema version %lld)", s->path, (long long)d->version);
    if (d->version > AW_STORE_SCHEMA_VERSION)
        return aw_error_set(err, AW_EDB, "%s: written by a newer aiwae (schema version %lld, this program knows "
                            "versions up to %d); use a newer aiwae", s->path, (long long)d->version,
                            AW_STORE_SCHEMA_VERSION);
    return 0;
}

/* Applies the missing migrations, each in its own transaction that re-reads
 * the version first, so processes opening a new file at once do not race. */
static int migrate(aw_store_t *s, aw_error_t *err)
{
    for (;;) {
        int rc = aw_sq_begin(s, err, "upgrading the schema");
        if (rc != 0)
            return rc;
        db_state_t d;
        rc = identify(s, err, &d);
        if (rc == 0 && d.version >= AW_STORE_SCHEMA_VERSION)
            return aw_sq_commit(s, err, "upgrading the schema");
        if (rc == 0) {
            int next = (int)d.version + 1;
            int e = sqlite3_exec(s->db, migrations[next - 1].sql, NULL, NULL, NULL);
            if (e != SQLITE_OK)
                rc = aw_sq_fail(s, err, e, "applying schema migration %d", next);
            if (rc == 0 && migrations[next - 1].step != NULL)
                rc = migrations[next - 1].step(s, err);
            if (rc == 0) {
                char sql[64];
                snprintf(sql, sizeof sql, "PRAGMA user_version = %d", next);
                e = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
                if (e != SQLITE_OK)
                    rc = aw_sq_fail(s, err, e, "setting schema version %d", next);
            }
            if (rc == 0)
                rc = aw_sq_commit(s, err, "upgrading the schema");
        }
        if (rc != 0) {
            aw_sq_abort(s);
            return rc;
        }
    }
}

/* mkdir -p of the directories leading to path. */
static int make_parents(const char *path, aw_error_t *err)
{
    char *p = strdup(path);
    if (p == NULL)
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory", path);
    int rc = 0;
    for (char *q = p + 1; *q != '\0' && rc == 0; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = aw_error_set(err, AW_EIO, "%s: cannot create directory %s: %s", path, p, strerror(errno));
        *q = '/';
    }
    free(p);
    return rc;
}

/* PRAGMA journal_mode = WAL, checked to have taken effect. */
static int set_wal(aw_store_t *s, aw_error_t *err, const char *path)
{
    sqlite3_stmt *st;
    int rc = aw_sq_prep(s, err, &st, "switching to WAL mode", "PRAGMA journal_mode = WAL", "");
    if (rc != 0)
        return rc;
    rc = aw_sq_step(s, err, st, "switching to WAL mode");
    if (rc == 1) {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        rc = mode != NULL && strcmp((const char *)mode, "wal") == 0
                 ? 0
                 : aw_error_set(err, AW_EDB, "%s: cannot use WAL mode (journal_mode stays %s)", path,
                                mode ? (const char *)mode : "unknown");
    } else if (rc == 0) {
        rc = aw_error_set(err, AW_EDB, "%s: switching to WAL mode: no result", path);
    }
    return aw_sq_end(s, err, st, rc, "switching to WAL mode");
}

int aw_store_open(aw_store_t **out, const char *path, int read_only, aw_error_t *err)
{
    *out = NULL;
    if (path == NULL || *path == '\0')
        return aw_error_set(err, AW_EARG, "database path is empty");
    aw_store_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory", path);
    s->path = strdup(path);
    s->read_only = read_only != 0;
    s->busy_ms = AW_STORE_BUSY_MS;
    int rc = 0;
    if (s->path == NULL) {
        free(s);
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory", path);
    }
    struct stat st;
    if (strncmp(path, "file:", 5) != 0 && stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        rc = aw_error_set(err, AW_EIO, "%s: not a database file (it is %s)", path,
                          S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
    else if (!s->read_only && strncmp(path, "file:", 5) != 0)
        rc = make_parents(path, err);
    if (rc != 0)
        goto fail;
    int flags = (s->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_URI;
    int e = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (e != SQLITE_OK) {
        rc = aw_sq_fail(s, err, e, "opening");
        goto fail;
    }
    e = sqlite3_extended_result_codes(s->db, 1);
    if (e == SQLITE_OK)
        e = sqlite3_busy_timeout(s->db, s->busy_ms);
    if (e != SQLITE_OK) {
        rc = aw_sq_fail(s, err, e, "configuring the connection");
        goto fail;
    }
    /* One read transaction, so the header and the schema come from one snapshot
     * even while another process is creating the schema. */
    db_state_t d;
    e = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    if (e != SQLITE_OK) {
        rc = aw_sq_fail(s, err, e, "starting a read transaction");
        goto fail;
    }
    rc = identify(s, err, &d);
    if (rc == 0)
        rc = aw_sq_commit(s, err, "reading the schema");
    if (rc != 0) {
        aw_sq_abort(s);
        goto fail;
    }
    if (s->read_only) {
        if (d.fresh)
            rc = aw_error_set(err, AW_EDB, "%s: not an aiwae database (the file is empty)", path);
        else if (d.version < AW_STORE_SCHEMA_VERSION)
            rc = aw_error_set(err, AW_EDB, "%s: schema version %lld is older than this program's %d; open it "
                              "once with aiwae-run to upgrade it", path, (long long)d.version,
                              AW_STORE_SCHEMA_VERSION);
        if (rc != 0)
            goto fail;
    } else {
        /* WAL lets readers work while a writer commits; FULL syncs every commit.
         * Switching a new file to WAL takes an exclusive lock that SQLite does
         * not wait for through the busy handler, so two processes creating the
         * same database at once retry here for up to the busy timeout. */
        for (int waited = 0;; waited += 20) {
            rc = set_wal(s, err, path);
            if (rc == 0 || sqlite3_errcode(s->db) != SQLITE_BUSY || waited >= AW_STORE_BUSY_MS)
                break;
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (rc == 0)
            rc = aw_sq_exec(s, err, NULL, "setting synchronous=FULL", "PRAGMA synchronous = FULL", "");
        if (rc == 0 && d.version < AW_STORE_SCHEMA_VERSION)
            rc = migrate(s, err);
        if (rc != 0)
            goto fail;
    }
    *out = s;
    return 0;
fail:
    aw_store_close(s);
    return rc;
}

void aw_store_close(aw_store_t *s)
{
    if (s == NULL)
        return;
    /* sqlite3_close_v2 cannot fail for want of finalized statements (we leave
     * none open) and its result has no one left to tell. */
    (void)sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

const char *aw_store_path(const aw_store_t *s)
{
    return s->path;
}

int aw_store_set_busy_timeout(aw_store_t *s, int ms, aw_error_t *err)
{
    int e = sqlite3_busy_timeout(s->db, ms);
    if (e != SQLITE_OK)
        return aw_sq_fail(s, err, e, "setting the busy timeout");
    s->busy_ms = ms;
    return 0;
}

struct sqlite3 *aw_store_handle(aw_store_t *s)
{
    return s->db;
}

/* ---- runs ---- */

#define RUN_COLS "identity, name, spec, status, epochs_total, epoch, created, updated, host, version, message"

void aw_store_run_fini(aw_store_run_t *r)
{
    if (r == NULL)
        return;
    free(r->name);
    free(r->spec);
    free(r->created);
    free(r->updated);
    free(r->host);
    free(r->version);
    free(r->message);
    memset(r, 0, sizeof *r);
}

void aw_store_runs_free(aw_store_run_t *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aw_store_run_fini(&runs[i]);
    free(runs);
}

/* Fills r from a row of RUN_COLS. */
static int read_run(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, aw_store_run_t *r)
{
    memset(r, 0, sizeof *r);
    const unsigned char *id = sqlite3_column_text(st, 0);
    snprintf(r->identity, sizeof r->identity, "%s", id ? (const char *)id : "");
    char *status = NULL;
    int rc = aw_sq_col_str(s, err, st, 1, 0, &r->name);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 2, 0, &r->spec);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 3, 0, &status);
    if (rc == 0) {
        int k = aw_run_status_parse(status);
        if (k < 0)
            rc = aw_error_set(err, AW_EDB, "%s: run %s has unknown status \"%s\"", s->path, r->identity, status);
        r->status = (aw_run_status_t)(k < 0 ? 0 : k);
    }
    free(status);
    r->epochs_total = sqlite3_column_int64(st, 4);
    r->epoch = sqlite3_column_int64(st, 5);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 6, 0, &r->created);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 7, 0, &r->updated);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 8, 0, &r->host);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 9, 0, &r->version);
    if (rc == 0)
        rc = aw_sq_col_str(s, err, st, 10, 0, &r->message);
    if (rc != 0)
        aw_store_run_fini(r);
    return rc;
}

/* Reads every row of a prepared runs query into a new array (st is finalized). */
static int read_runs(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, const char *what, aw_store_run_t **runs,
                     size_t *n)
{
    aw_store_run_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = aw_sq_step(s, err, st, what)) == 1) {
        if (aw_sq_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        rc = read_run(s, err, st, &arr[cnt]);
        if (rc != 0)
            break;
        cnt++;
    }
    rc = aw_sq_end(s, err, st, rc, what);
    if (rc != 0) {
        aw_store_runs_free(arr, cnt);
        *runs = NULL;
        *n = 0;
        return rc;
    }
    *runs = arr;
    *n = cnt;
    return 0;
}

/* Fetches one run; AW_ENOTFOUND if absent. */
static int get_run(aw_store_t *s, aw_error_t *err, const char *identity, aw_store_run_t *out)
{
    sqlite3_stmt *st;
    int rc = aw_sq_prep(s, err, &st, "reading a run", "SELECT " RUN_COLS " FROM runs WHERE identity = ?", "t", identity);
    if (rc != 0)
        return rc;
    rc = aw_sq_step(s, err, st, "reading a run");
    if (rc == 1)
        rc = read_run(s, err, st, out);
    else if (rc == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: no run %s", s->path, identity);
    return aw_sq_end(s, err, st, rc, "reading a run");
}

int aw_store_run_upsert(aw_store_t *s, const aw_store_run_info_t *info, aw_store_run_t *out, int *created,
                        aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    int rc = aw_sq_check_id(s, err, info->identity);
    if (rc != 0)
        return rc;
    if (info->name == NULL || info->spec == NULL || info->version == NULL)
        return aw_error_set(err, AW_EARG, "%s: run %s: name, spec and version are required", s->path, info->identity);
    char host[256];
    if (info->host != NULL) {
        snprintf(host, sizeof host, "%s", info->host);
    } else {
        if (gethostname(host, sizeof host) != 0)
            return aw_error_set(err, AW_EIO, "gethostname: %s", strerror(errno));
        host[sizeof host - 1] = '\0';
    }
    const char *what = "registering a run";
    rc = aw_sq_begin(s, err, what);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = aw_sq_exec(s, err, &changes, what,
                "INSERT OR IGNORE INTO runs(identity, name, spec, status, epochs_total, epoch, created, updated,"
                " host, version, message) VALUES (?, ?, ?, 'pending', ?, 0, " NOW ", " NOW ", ?, ?, '')",
                "tttitt", info->identity, info->name, info->spec, info->epochs_total, host, info->version);
    /* A known run takes the name and spec text it was last given (the training in them is the same, by
     * its identity; the evaluations and presentation keys may be new). */
    if (rc == 0 && changes == 0)
        rc = aw_sq_exec(s, err, NULL, what,
                        "UPDATE runs SET name = ?, spec = ? WHERE identity = ? AND (name <> ? OR spec <> ?)", "ttttt",
                        info->name, info->spec, info->identity, info->name, info->spec);
    if (rc == 0)
        rc = get_run(s, err, info->identity, out);
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0) {
        aw_sq_abort(s);
        aw_store_run_fini(out);
        return rc;
    }
    if (created != NULL)
        *created = changes == 1;
    return 0;
}

int aw_store_run_get(aw_store_t *s, const char *identity, aw_store_run_t *out, aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    int rc = aw_sq_check_id(s, err, identity);
    return rc != 0 ? rc : get_run(s, err, identity, out);
}

int aw_store_run_set_status(aw_store_t *s, const char *identity, aw_run_status_t status, const char *message,
                            aw_error_t *err)
{
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    if ((int)status < 0 || (int)status > AW_RUN_FINISHED)
        return aw_error_set(err, AW_EARG, "%s: run %s: invalid status %d", s->path, identity, (int)status);
    int changes = 0;
    rc = aw_sq_exec(s, err, &changes, "setting a run's status",
                "UPDATE runs SET status = ?, message = ?, updated = " NOW " WHERE identity = ?", "ttt",
                aw_run_status_name(status), message ? message : "", identity);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: no run %s", s->path, identity);
    return rc;
}

int aw_store_run_claim(aw_store_t *s, const char *identity, const char *owner,
                       int (*is_alive)(const char *owner, void *ctx), void *ctx, int *claimed, char *holder,
                       size_t holder_len, aw_error_t *err)
{
    *claimed = 0;
    if (holder_len > 0)
        holder[0] = '\0';
    int rc = aw_sq_check_id(s, err, identity);
    if (rc != 0)
        return rc;
    const char *what = "claiming a run";
    if ((rc = aw_sq_begin(s, err, what)) != 0)
        return rc;
    sqlite3_stmt *st;
    rc = aw_sq_prep(s, err, &st, what, "SELECT status, message FROM runs WHERE identity = ?", "t", identity);
    if (rc != 0) {
        aw_sq_abort(s);
        return rc;
    }
    int busy = 0, found = 0;
    rc = aw_sq_step(s, err, st, what);
    if (rc == 1) {
        found = 1;
        const char *status = (const char *)sqlite3_column_text(st, 0);
        const char *msg = (const char *)sqlite3_column_text(st, 1);
        if (status != NULL && strcmp(status, "running") == 0 && msg != NULL && strcmp(msg, owner) != 0 &&
            is_alive(msg, ctx)) {
            busy = 1;
            if (holder_len > 0)
                snprintf(holder, holder_len, "%s", msg);
        }
        rc = 0;
    }
    rc = aw_sq_end(s, err, st, rc, what);
    if (rc == 0 && !found)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: no run %s", s->path, identity);
    if (rc == 0 && !busy)
        rc = aw_sq_exec(s, err, NULL, what,
                    "UPDATE runs SET status = 'running', message = ?, updated = " NOW " WHERE identity = ?", "tt",
                    owner, identity);
    if (rc == 0)
        rc = aw_sq_commit(s, err, what);
    if (rc != 0) {
        aw_sq_abort(s);
        return rc;
    }
    *claimed = !busy;
    return 0;
}

int aw_store_runs_list(aw_store_t *s, aw_store_run_t **runs, size_t *n, aw_error_t *err)
{
    *runs = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = aw_sq_prep(s, err, &st, "listing runs", "SELECT " RUN_COLS " FROM runs ORDER BY created, identity", "");
    return rc != 0 ? rc : read_runs(s, err, st, "listing runs", runs, n);
}

