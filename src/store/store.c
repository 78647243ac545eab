/* store.c: the results database over SQLite (see store.h for the contract).
 * Every write is one BEGIN IMMEDIATE transaction (or one autocommit statement). */
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

struct aw_store {
    sqlite3 *db;   /* the connection */
    char *path;    /* path or URI as given, for messages */
    int read_only; /* opened with SQLITE_OPEN_READONLY */
    int busy_ms;   /* busy timeout, quoted in "locked" messages */
};

#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
#define STR_(x) #x
#define STR(x) STR_(x)

/* Forward migrations: entry i brings user_version i to i + 1. Append only. */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE aiwae_meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
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
    "PRAGMA application_id = " STR(AW_STORE_APPLICATION_ID) ";",
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

/* ---- errors and statement helpers ---- */

/* Fills err with AW_EDB: "<file>: <what>: <kind> (<sqlite message>)". Call it
 * before any other SQLite call so sqlite3_errmsg still describes rc. */
static int db_fail(const aw_store_t *s, aw_error_t *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int db_fail(const aw_store_t *s, aw_error_t *err, int rc, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *detail = s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return aw_error_set(err, AW_EDB,
                            "%s: %s: disk full, the database could not grow; nothing of this write was kept, "
                            "everything committed before is intact (%s)", s->path, what, detail);
    case SQLITE_READONLY:
        return aw_error_set(err, AW_EDB, "%s: %s: database is read-only (%s)", s->path, what, detail);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return aw_error_set(err, AW_EDB, "%s: %s: database is locked by another process (waited %d ms) (%s)",
                            s->path, what, s->busy_ms, detail);
    case SQLITE_NOTADB:
        return aw_error_set(err, AW_EDB, "%s: %s: not an SQLite database (%s)", s->path, what, detail);
    case SQLITE_CORRUPT:
        return aw_error_set(err, AW_EDB, "%s: %s: database file is corrupt (%s)", s->path, what, detail);
    case SQLITE_CANTOPEN:
        return aw_error_set(err, AW_EDB, "%s: %s: cannot open the database file (%s)", s->path, what, detail);
    case SQLITE_IOERR:
        return aw_error_set(err, AW_EDB, "%s: %s: I/O error (%s)", s->path, what, detail);
    case SQLITE_NOMEM:
        return aw_error_set(err, AW_EDB, "%s: %s: SQLite is out of memory (%s)", s->path, what, detail);
    case SQLITE_CONSTRAINT:
        return aw_error_set(err, AW_EDB, "%s: %s: the row already exists or violates the schema (%s)", s->path,
                            what, detail);
    default:
        return aw_error_set(err, AW_EDB, "%s: %s failed (%s)", s->path, what, detail);
    }
}

/* Prepares sql into *st and binds its parameters 1.. from the arguments, one per
 * letter of types: 't' text (const char *, NULL binds NULL), 'i' int64_t,
 * 'd' double (NaN/Inf stored as NULL), 'b' blob (const void *, size_t). */
static int q_vprep(aw_store_t *s, aw_error_t *err, sqlite3_stmt **st, const char *what, const char *sql,
                   const char *types, va_list ap)
{
    *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        int e = db_fail(s, err, rc, "%s", what);
        sqlite3_finalize(*st); /* NULL after a failed prepare; harmless */
        *st = NULL;
        return e;
    }
    for (int i = 0; types[i] != '\0'; i++) {
        int k = i + 1;
        switch (types[i]) {
        case 't': {
            const char *v = va_arg(ap, const char *);
            rc = v != NULL ? sqlite3_bind_text(*st, k, v, -1, SQLITE_STATIC) : sqlite3_bind_null(*st, k);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(*st, k, (sqlite3_int64)va_arg(ap, int64_t));
            break;
        case 'd': {
            double v = va_arg(ap, double);
            rc = isfinite(v) ? sqlite3_bind_double(*st, k, v) : sqlite3_bind_null(*st, k);
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = sqlite3_bind_blob64(*st, k, p, (sqlite3_uint64)n, SQLITE_STATIC);
            break;
        }
        default:
            rc = SQLITE_MISUSE;
        }
        if (rc != SQLITE_OK) {
            int e = db_fail(s, err, rc, "%s: binding parameter %d", what, k);
            sqlite3_finalize(*st);
            *st = NULL;
            return e;
        }
    }
    return 0;
}

static int q_prep(aw_store_t *s, aw_error_t *err, sqlite3_stmt **st, const char *what, const char *sql,
                  const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int rc = q_vprep(s, err, st, what, sql, types, ap);
    va_end(ap);
    return rc;
}

/* Steps st: 1 for a row, 0 when done, or a negative code with err filled. */
static int q_step(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(s, err, rc, "%s", what);
}

/* Finalizes st; a failure here is reported only if nothing failed before. */
static int q_end(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, int rc, const char *what)
{
    int f = sqlite3_finalize(st);
    if (rc == 0 && f != SQLITE_OK)
        return db_fail(s, err, f, "%s", what);
    return rc;
}

/* Runs one statement to completion; *changes (may be NULL) gets the rows it changed. */
static int q_exec(aw_store_t *s, aw_error_t *err, int *changes, const char *what, const char *sql,
                  const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    va_start(ap, types);
    int rc = q_vprep(s, err, &st, what, sql, types, ap);
    va_end(ap);
    if (rc != 0)
        return rc;
    while ((rc = q_step(s, err, st, what)) == 1)
        ;
    if (rc == 0 && changes != NULL)
        *changes = sqlite3_changes(s->db);
    return q_end(s, err, st, rc, what);
}

static int tx_begin(aw_store_t *s, aw_error_t *err, const char *what)
{
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, err, rc, "%s: starting a transaction", what);
    return 0;
}

static int tx_commit(aw_store_t *s, aw_error_t *err, const char *what)
{
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, err, rc, "%s: committing", what);
    return 0;
}

/* Undoes the open transaction after a failure (SQLite may have already done so,
 * e.g. after SQLITE_FULL). Its own result is not reported: the caller returns the
 * first error, and an unfinished transaction is rolled back when the file is
 * next opened, so nothing partial can become visible. */
static void tx_abort(aw_store_t *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Copies text column i into *out ("" for NULL, or NULL if null_ok). */
static int col_str(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, int i, int null_ok, char **out)
{
    *out = NULL;
    const unsigned char *t = sqlite3_column_text(st, i);
    if (t == NULL) {
        if (sqlite3_column_type(st, i) != SQLITE_NULL)
            return aw_error_set(err, AW_ENOMEM, "%s: out of memory reading a text column", s->path);
        if (null_ok)
            return 0;
        t = (const unsigned char *)"";
    }
    *out = strdup((const char *)t);
    if (*out == NULL)
        return aw_error_set(err, AW_ENOMEM, "%s: out of memory copying a text column", s->path);
    return 0;
}

static double col_double(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Makes room for one more element of size elem in *arr (capacity *cap, count n). */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 16;
    void *p = realloc(*arr, c * elem);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static int check_id(const aw_store_t *s, aw_error_t *err, const char *id)
{
    size_t n = id ? strnlen(id, AW_STORE_ID_LEN + 1) : 0;
    int ok = n == AW_STORE_ID_LEN;
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
    if (!ok)
        return aw_error_set(err, AW_EARG, "%s: run identity \"%.80s\" is not %d lowercase hex digits", s->path,
                            id ? id : "(null)", AW_STORE_ID_LEN);
    return 0;
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
    int rc = q_prep(s, err, &st, what, sql, "");
    if (rc != 0)
        return rc;
    rc = q_step(s, err, st, what);
    if (rc == 1) {
        *v = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = aw_error_set(err, AW_EDB, "%s: %s: no result", s->path, what);
    }
    return q_end(s, err, st, rc, what);
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
        int rc = tx_begin(s, err, "upgrading the schema");
        if (rc != 0)
            return rc;
        db_state_t d;
        rc = identify(s, err, &d);
        if (rc == 0 && d.version >= AW_STORE_SCHEMA_VERSION)
            return tx_commit(s, err, "upgrading the schema");
        if (rc == 0) {
            int next = (int)d.version + 1;
            int e = sqlite3_exec(s->db, migrations[next - 1], NULL, NULL, NULL);
            if (e != SQLITE_OK)
                rc = db_fail(s, err, e, "applying schema migration %d", next);
            if (rc == 0) {
                char sql[64];
                snprintf(sql, sizeof sql, "PRAGMA user_version = %d", next);
                e = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
                if (e != SQLITE_OK)
                    rc = db_fail(s, err, e, "setting schema version %d", next);
            }
            if (rc == 0)
                rc = tx_commit(s, err, "upgrading the schema");
        }
        if (rc != 0) {
            tx_abort(s);
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
    int rc = q_prep(s, err, &st, "switching to WAL mode", "PRAGMA journal_mode = WAL", "");
    if (rc != 0)
        return rc;
    rc = q_step(s, err, st, "switching to WAL mode");
    if (rc == 1) {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        rc = mode != NULL && strcmp((const char *)mode, "wal") == 0
                 ? 0
                 : aw_error_set(err, AW_EDB, "%s: cannot use WAL mode (journal_mode stays %s)", path,
                                mode ? (const char *)mode : "unknown");
    } else if (rc == 0) {
        rc = aw_error_set(err, AW_EDB, "%s: switching to WAL mode: no result", path);
    }
    return q_end(s, err, st, rc, "switching to WAL mode");
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
    if (!s->read_only && strncmp(path, "file:", 5) != 0)
        rc = make_parents(path, err);
    if (rc != 0)
        goto fail;
    int flags = (s->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_URI;
    int e = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (e != SQLITE_OK) {
        rc = db_fail(s, err, e, "opening");
        goto fail;
    }
    e = sqlite3_extended_result_codes(s->db, 1);
    if (e == SQLITE_OK)
        e = sqlite3_busy_timeout(s->db, s->busy_ms);
    if (e != SQLITE_OK) {
        rc = db_fail(s, err, e, "configuring the connection");
        goto fail;
    }
    /* One read transaction, so the header and the schema come from one snapshot
     * even while another process is creating the schema. */
    db_state_t d;
    e = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    if (e != SQLITE_OK) {
        rc = db_fail(s, err, e, "starting a read transaction");
        goto fail;
    }
    rc = identify(s, err, &d);
    if (rc == 0)
        rc = tx_commit(s, err, "reading the schema");
    if (rc != 0) {
        tx_abort(s);
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
            rc = q_exec(s, err, NULL, "setting synchronous=FULL", "PRAGMA synchronous = FULL", "");
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
        return db_fail(s, err, e, "setting the busy timeout");
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
    int rc = col_str(s, err, st, 1, 0, &r->name);
    if (rc == 0)
        rc = col_str(s, err, st, 2, 0, &r->spec);
    if (rc == 0)
        rc = col_str(s, err, st, 3, 0, &status);
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
        rc = col_str(s, err, st, 6, 0, &r->created);
    if (rc == 0)
        rc = col_str(s, err, st, 7, 0, &r->updated);
    if (rc == 0)
        rc = col_str(s, err, st, 8, 0, &r->host);
    if (rc == 0)
        rc = col_str(s, err, st, 9, 0, &r->version);
    if (rc == 0)
        rc = col_str(s, err, st, 10, 0, &r->message);
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
    while ((rc = q_step(s, err, st, what)) == 1) {
        if (grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        rc = read_run(s, err, st, &arr[cnt]);
        if (rc != 0)
            break;
        cnt++;
    }
    rc = q_end(s, err, st, rc, what);
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
    int rc = q_prep(s, err, &st, "reading a run", "SELECT " RUN_COLS " FROM runs WHERE identity = ?", "t", identity);
    if (rc != 0)
        return rc;
    rc = q_step(s, err, st, "reading a run");
    if (rc == 1)
        rc = read_run(s, err, st, out);
    else if (rc == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: no run %s", s->path, identity);
    return q_end(s, err, st, rc, "reading a run");
}

int aw_store_run_upsert(aw_store_t *s, const aw_store_run_info_t *info, aw_store_run_t *out, int *created,
                        aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    int rc = check_id(s, err, info->identity);
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
    rc = tx_begin(s, err, what);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = q_exec(s, err, &changes, what,
                "INSERT OR IGNORE INTO runs(identity, name, spec, status, epochs_total, epoch, created, updated,"
                " host, version, message) VALUES (?, ?, ?, 'pending', ?, 0, " NOW ", " NOW ", ?, ?, '')",
                "tttitt", info->identity, info->name, info->spec, info->epochs_total, host, info->version);
    if (rc == 0)
        rc = get_run(s, err, info->identity, out);
    if (rc == 0)
        rc = tx_commit(s, err, what);
    if (rc != 0) {
        tx_abort(s);
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
    int rc = check_id(s, err, identity);
    return rc != 0 ? rc : get_run(s, err, identity, out);
}

int aw_store_run_set_status(aw_store_t *s, const char *identity, aw_run_status_t status, const char *message,
                            aw_error_t *err)
{
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    if ((int)status < 0 || (int)status > AW_RUN_FINISHED)
        return aw_error_set(err, AW_EARG, "%s: run %s: invalid status %d", s->path, identity, (int)status);
    int changes = 0;
    rc = q_exec(s, err, &changes, "setting a run's status",
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
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    const char *what = "claiming a run";
    if ((rc = tx_begin(s, err, what)) != 0)
        return rc;
    sqlite3_stmt *st;
    rc = q_prep(s, err, &st, what, "SELECT status, message FROM runs WHERE identity = ?", "t", identity);
    if (rc != 0) {
        tx_abort(s);
        return rc;
    }
    int busy = 0, found = 0;
    rc = q_step(s, err, st, what);
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
    rc = q_end(s, err, st, rc, what);
    if (rc == 0 && !found)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: no run %s", s->path, identity);
    if (rc == 0 && !busy)
        rc = q_exec(s, err, NULL, what,
                    "UPDATE runs SET status = 'running', message = ?, updated = " NOW " WHERE identity = ?", "tt",
                    owner, identity);
    if (rc == 0)
        rc = tx_commit(s, err, what);
    if (rc != 0) {
        tx_abort(s);
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
    int rc = q_prep(s, err, &st, "listing runs", "SELECT " RUN_COLS " FROM runs ORDER BY created, identity", "");
    return rc != 0 ? rc : read_runs(s, err, st, "listing runs", runs, n);
}

int aw_store_run_find(aw_store_t *s, const char *query, aw_store_run_t **runs, size_t *n, aw_error_t *err)
{
    *runs = NULL;
    *n = 0;
    if (query == NULL)
        return aw_error_set(err, AW_EARG, "%s: finding a run: no query", s->path);
    sqlite3_stmt *st;
    int rc = q_prep(s, err, &st, "finding a run",
                    "SELECT " RUN_COLS " FROM runs WHERE name = ?1 OR (length(?1) BETWEEN 1 AND 64"
                    " AND substr(identity, 1, length(?1)) = lower(?1)) ORDER BY created, identity",
                    "t", query);
    return rc != 0 ? rc : read_runs(s, err, st, "finding a run", runs, n);
}

/* ---- metrics and checkpoints ---- */

/* "[a,b,...]" with %.17g (non-finite values as null); malloc'd, NULL if out of memory. */
static char *json_array(const double *x, size_t n)
{
    size_t cap = 3 + n * 26;
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    size_t k = 0;
    b[k++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            b[k++] = ',';
        if (isfinite(x[i]))
            k += (size_t)snprintf(b + k, cap - k, "%.17g", x[i]);
        else
            k += (size_t)snprintf(b + k, cap - k, "null");
    }
    b[k++] = ']';
    b[k] = '\0';
    return b;
}

/* Parses what json_array wrote into a new array (NULL when empty); -1 if malformed, -2 out of memory. */
static int json_parse(const char *t, double **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = t; *p; p++)
        cap += *p == ',';
    while (*t == ' ')
        t++;
    if (*t++ != '[')
        return -1;
    while (*t == ' ')
        t++;
    if (*t == ']') {
        t++;
        goto tail;
    }
    double *x = malloc(cap * sizeof *x);
    if (x == NULL)
        return -2;
    size_t k = 0;
    for (;;) {
        while (*t == ' ')
            t++;
        if (strncmp(t, "null", 4) == 0) {
            x[k] = NAN;
            t += 4;
        } else {
            char *end;
            x[k] = strtod(t, &end);
            if (end == t || !isfinite(x[k])) {
                free(x);
                return -1;
            }
            t = end;
        }
        k++;
        while (*t == ' ')
            t++;
        if (*t == ']') {
            t++;
            break;
        }
        if (*t++ != ',' || k == cap) {
            free(x);
            return -1;
        }
    }
    *out = x;
    *n = k;
tail:
    while (*t == ' ')
        t++;
    if (*t != '\0') {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* Inserts (or replaces, keeping an existing keep flag) checkpoint (epoch, position). */
static int put_ckpt(aw_store_t *s, aw_error_t *err, const char *what, const char *identity, int64_t epoch,
                    int64_t position, const void *blob, size_t nblob, int64_t keep)
{
    return q_exec(s, err, NULL, what,
                  "INSERT OR REPLACE INTO checkpoints(identity, epoch, position, created, blob, keep)"
                  " VALUES (?1, ?2, ?3, " NOW ", ?4, max(?5, coalesce((SELECT keep FROM checkpoints"
                  " WHERE identity = ?1 AND epoch = ?2 AND position = ?3), 0)))",
                  "tiibi", identity, epoch, position, blob, nblob, keep);
}

/* Deletes the run's checkpoints that are not kept, not (epoch, position) and not the newest. */
static int prune(aw_store_t *s, aw_error_t *err, const char *what, const char *identity, int64_t epoch,
                 int64_t position)
{
    return q_exec(s, err, NULL, what,
                  "DELETE FROM checkpoints WHERE identity = ?1 AND keep = 0 AND NOT (epoch = ?2 AND position = ?3)"
                  " AND rowid <> (SELECT rowid FROM checkpoints WHERE identity = ?1"
                  " ORDER BY epoch DESC, position DESC LIMIT 1)",
                  "tii", identity, epoch, position);
}

int aw_store_commit_epoch(aw_store_t *s, const char *identity, const aw_store_metrics_t *m, const void *blob,
                          size_t nblob, int keep, aw_error_t *err)
{
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    if (blob == NULL || nblob == 0 || m->epoch < 1 || (m->n_temps > 0 && (m->accept == NULL || m->step == NULL)))
        return aw_error_set(err, AW_EARG, "%s: run %s epoch %lld: commit needs epoch >= 1, a checkpoint and "
                            "n_temps values", s->path, identity, (long long)m->epoch);
    char what[160];
    snprintf(what, sizeof what, "committing epoch %lld of run %.12s", (long long)m->epoch, identity);
    char *acc = json_array(m->accept, m->n_temps), *stp = json_array(m->step, m->n_temps);
    if (acc == NULL || stp == NULL) {
        free(acc);
        free(stp);
        return aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
    }
    rc = tx_begin(s, err, what);
    if (rc != 0)
        goto out;
    int changes = 0;
    rc = q_exec(s, err, &changes, what, "UPDATE runs SET epoch = ?2, updated = " NOW " WHERE identity = ?1", "ti",
                identity, m->epoch);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no run %s", s->path, what, identity);
    if (rc == 0)
        rc = q_exec(s, err, NULL, what,
                    "INSERT INTO metrics(identity, epoch, loss, bound, lr, accept, step, seconds, points_per_s,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, " NOW ")",
                    "tidddttdd", identity, m->epoch, m->loss, m->bound, m->lr, acc, stp, m->seconds,
                    m->points_per_s);
    if (rc == 0)
        rc = put_ckpt(s, err, what, identity, m->epoch, 0, blob, nblob, keep ? 1 : 0);
    if (rc == 0)
        rc = prune(s, err, what, identity, m->epoch, 0);
    if (rc == 0)
        rc = tx_commit(s, err, what);
    if (rc != 0)
        tx_abort(s);
out:
    free(acc);
    free(stp);
    return rc;
}

int aw_store_save_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, int64_t position,
                             const void *blob, size_t nblob, aw_error_t *err)
{
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    if (blob == NULL || nblob == 0 || epoch < 0 || position < 0)
        return aw_error_set(err, AW_EARG, "%s: run %s: checkpoint (%lld, %lld) needs a blob and a key >= 0",
                            s->path, identity, (long long)epoch, (long long)position);
    char what[160];
    snprintf(what, sizeof what, "saving checkpoint (epoch %lld, position %lld) of run %.12s", (long long)epoch,
             (long long)position, identity);
    rc = tx_begin(s, err, what);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = q_exec(s, err, &changes, what, "UPDATE runs SET updated = " NOW " WHERE identity = ?", "t", identity);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no run %s", s->path, what, identity);
    if (rc == 0)
        rc = put_ckpt(s, err, what, identity, epoch, position, blob, nblob, 0);
    if (rc == 0)
        rc = prune(s, err, what, identity, epoch, position);
    if (rc == 0)
        rc = tx_commit(s, err, what);
    if (rc != 0)
        tx_abort(s);
    return rc;
}

int aw_store_checkpoints_list(aw_store_t *s, const char *identity, aw_store_ckpt_ref_t **refs, size_t *n,
                              aw_error_t *err)
{
    *refs = NULL;
    *n = 0;
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    const char *what = "listing checkpoints";
    sqlite3_stmt *st;
    rc = q_prep(s, err, &st, what,
                "SELECT epoch, position, keep, length(blob) FROM checkpoints WHERE identity = ?"
                " ORDER BY epoch DESC, position DESC", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_ckpt_ref_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = q_step(s, err, st, what)) == 1) {
        if (grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        arr[cnt].epoch = sqlite3_column_int64(st, 0);
        arr[cnt].position = sqlite3_column_int64(st, 1);
        arr[cnt].keep = sqlite3_column_int(st, 2) != 0;
        arr[cnt].bytes = (size_t)sqlite3_column_int64(st, 3);
        cnt++;
    }
    rc = q_end(s, err, st, rc, what);
    if (rc != 0) {
        free(arr);
        return rc;
    }
    *refs = arr;
    *n = cnt;
    return 0;
}

int aw_store_load_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, int64_t position,
                             uint8_t **blob, size_t *n, aw_error_t *err)
{
    *blob = NULL;
    *n = 0;
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    char what[160];
    snprintf(what, sizeof what, "loading checkpoint (epoch %lld, position %lld) of run %.12s", (long long)epoch,
             (long long)position, identity);
    sqlite3_stmt *st;
    rc = q_prep(s, err, &st, what,
                "SELECT blob FROM checkpoints WHERE identity = ? AND epoch = ? AND position = ?", "tii", identity,
                epoch, position);
    if (rc != 0)
        return rc;
    rc = q_step(s, err, st, what);
    if (rc == 1) {
        const void *p = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if (p == NULL && len > 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
        } else {
            *blob = malloc(len > 0 ? (size_t)len : 1);
            if (*blob == NULL) {
                rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory for %d bytes", s->path, what, len);
            } else {
                if (len > 0)
                    memcpy(*blob, p, (size_t)len);
                *n = (size_t)len;
                rc = 0;
            }
        }
    } else if (rc == 0) {
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no such checkpoint", s->path, what);
    }
    rc = q_end(s, err, st, rc, what);
    if (rc != 0) {
        free(*blob);
        *blob = NULL;
        *n = 0;
    }
    return rc;
}

/* Offers checkpoint ref of the run to t->take; on a rejection logs and reports it. Returns 0 taken,
 * AW_ENOTFOUND rejected (why in *why), another error to end the search. */
static int offer_ckpt(aw_store_t *s, const char *identity, const aw_store_ckpt_ref_t *ref,
                      const aw_store_ckpt_taker_t *t, aw_error_t *why, aw_error_t *err)
{
    uint8_t *blob = NULL;
    size_t nb = 0;
    int rc = aw_store_load_checkpoint(s, identity, ref->epoch, ref->position, &blob, &nb, err);
    if (rc != 0)
        return rc;
    aw_error_clear(why);
    rc = t->take(t->ctx, blob, nb, why);
    free(blob);
    if (rc == 0)
        return 0;
    if (rc == AW_ENOMEM)
        return aw_error_set(err, rc, "%s", why->msg);
    char msg[AW_ERROR_MSG_MAX + 128];
    snprintf(msg, sizeof msg, "checkpoint at epoch %lld step %lld is unusable (%s); trying the previous one",
             (long long)ref->epoch, (long long)ref->position, why->msg);
    if (t->rejected != NULL)
        t->rejected(t->ctx, msg);
    if (!s->read_only && (rc = aw_store_log_event(s, identity, "checkpoint_bad", msg, err)) != 0)
        return rc;
    return AW_ENOTFOUND;
}

int aw_store_take_checkpoint(aw_store_t *s, const char *identity, int64_t epoch, const aw_store_ckpt_taker_t *t,
                             aw_store_ckpt_ref_t *taken, aw_error_t *err)
{
    aw_store_ckpt_ref_t *refs;
    size_t n;
    int rc = aw_store_checkpoints_list(s, identity, &refs, &n, err);
    if (rc != 0)
        return rc;
    int bad = 0;
    aw_error_t why;
    aw_error_clear(&why);
    rc = AW_ENOTFOUND;
    for (size_t i = 0; i < n && rc == AW_ENOTFOUND; i++) {
        if (epoch >= 0 && (refs[i].epoch != epoch || refs[i].position != 0))
            continue;
        rc = offer_ckpt(s, identity, &refs[i], t, &why, err);
        if (rc == 0 && taken != NULL)
            *taken = refs[i];
        bad += rc == AW_ENOTFOUND;
    }
    free(refs);
    if (rc != AW_ENOTFOUND)
        return rc;
    char which[64] = "checkpoint";
    if (epoch >= 0)
        snprintf(which, sizeof which, "checkpoint kept at epoch %lld", (long long)epoch);
    if (bad == 0)
        return aw_error_set(err, rc, "%s: run %.12s has no %s", s->path, identity, which);
    return aw_error_set(err, rc, "%s: run %.12s has no usable %s (%d failed their checks, the oldest: %s)", s->path,
                        identity, which, bad, why.msg);
}

int aw_store_rollback(aw_store_t *s, const char *identity, int64_t epoch, int64_t position, aw_error_t *err)
{
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    char what[160];
    snprintf(what, sizeof what, "rolling run %.12s back to (epoch %lld, position %lld)", identity,
             (long long)epoch, (long long)position);
    rc = tx_begin(s, err, what);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = q_exec(s, err, &changes, what,
                "UPDATE runs SET epoch = min(epoch, ?2), updated = " NOW " WHERE identity = ?1", "ti", identity,
                epoch);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: no run %s", s->path, what, identity);
    if (rc == 0)
        rc = q_exec(s, err, NULL, what, "DELETE FROM metrics WHERE identity = ? AND epoch > ?", "ti", identity,
                    epoch);
    if (rc == 0)
        rc = q_exec(s, err, NULL, what,
                    "DELETE FROM checkpoints WHERE identity = ?1 AND (epoch > ?2 OR (epoch = ?2 AND position > ?3))",
                    "tii", identity, epoch, position);
    if (rc == 0)
        rc = tx_commit(s, err, what);
    if (rc != 0)
        tx_abort(s);
    return rc;
}

void aw_store_metrics_free(aw_store_metrics_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].accept);
        free(rows[i].step);
    }
    free(rows);
}

int aw_store_metrics_list(aw_store_t *s, const char *identity, aw_store_metrics_t **rows, size_t *n,
                          aw_error_t *err)
{
    *rows = NULL;
    *n = 0;
    int rc = check_id(s, err, identity);
    if (rc != 0)
        return rc;
    const char *what = "listing metrics";
    sqlite3_stmt *st;
    rc = q_prep(s, err, &st, what,
                "SELECT epoch, loss, bound, lr, accept, step, seconds, points_per_s FROM metrics"
                " WHERE identity = ? ORDER BY epoch", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_metrics_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = q_step(s, err, st, what)) == 1) {
        if (grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        aw_store_metrics_t *m = &arr[cnt];
        memset(m, 0, sizeof *m);
        m->epoch = sqlite3_column_int64(st, 0);
        m->loss = col_double(st, 1);
        m->bound = col_double(st, 2);
        m->lr = col_double(st, 3);
        m->seconds = col_double(st, 6);
        m->points_per_s = col_double(st, 7);
        cnt++;
        const unsigned char *ta = sqlite3_column_text(st, 4), *ts = sqlite3_column_text(st, 5);
        size_t na = 0, ns = 0;
        int ea = ta ? json_parse((const char *)ta, &m->accept, &na) : -1;
        int es = ts ? json_parse((const char *)ts, &m->step, &ns) : -1;
        if (ea == -2 || es == -2) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        if (ea != 0 || es != 0 || na != ns) {
            rc = aw_error_set(err, AW_EDB, "%s: metrics of run %.12s epoch %lld: accept/step are not two JSON "
                              "number arrays of one length", s->path, identity, (long long)m->epoch);
            break;
        }
        m->n_temps = na;
    }
    rc = q_end(s, err, st, rc, what);
    if (rc != 0) {
        aw_store_metrics_free(arr, cnt);
        return rc;
    }
    *rows = arr;
    *n = cnt;
    return 0;
}

/* ---- evaluations ---- */

#define EVAL_WHERE "identity = ?1 AND estimator = ?2 AND settings = ?3 AND split = ?4 AND epoch = ?5"
#define EVAL_COLS "identity, estimator, settings, split, epoch, n_total, n_done, n, mean, stderr, seconds, status, updated"

static int check_key(const aw_store_t *s, aw_error_t *err, const aw_store_eval_key_t *k)
{
    int rc = check_id(s, err, k->identity);
    if (rc == 0 && (k->estimator == NULL || k->settings == NULL || k->split == NULL || k->epoch < 0))
        rc = aw_error_set(err, AW_EARG, "%s: evaluation of run %.12s: estimator, settings, split and epoch >= 0 "
                          "are required", s->path, k->identity);
    return rc;
}

void aw_store_eval_fini(aw_store_eval_t *e)
{
    if (e == NULL)
        return;
    free(e->estimator);
    free(e->settings);
    free(e->split);
    free(e->updated);
    memset(e, 0, sizeof *e);
}

void aw_store_evals_free(aw_store_eval_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aw_store_eval_fini(&rows[i]);
    free(rows);
}

static int read_eval(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, aw_store_eval_t *e)
{
    memset(e, 0, sizeof *e);
    const unsigned char *id = sqlite3_column_text(st, 0);
    snprintf(e->identity, sizeof e->identity, "%s", id ? (const char *)id : "");
    int rc = col_str(s, err, st, 1, 0, &e->estimator);
    if (rc == 0)
        rc = col_str(s, err, st, 2, 0, &e->settings);
    if (rc == 0)
        rc = col_str(s, err, st, 3, 0, &e->split);
    e->epoch = sqlite3_column_int64(st, 4);
    e->n_total = sqlite3_column_int64(st, 5);
    e->n_done = sqlite3_column_int64(st, 6);
    e->n = sqlite3_column_int64(st, 7);
    e->mean = col_double(st, 8);
    e->se = col_double(st, 9);
    e->seconds = col_double(st, 10);
    const unsigned char *status = sqlite3_column_text(st, 11);
    e->finished = status != NULL && strcmp((const char *)status, "finished") == 0;
    if (rc == 0)
        rc = col_str(s, err, st, 12, 0, &e->updated);
    if (rc != 0)
        aw_store_eval_fini(e);
    return rc;
}

int aw_store_eval_begin(aw_store_t *s, const aw_store_eval_key_t *key, int64_t n_total, aw_store_eval_t *out,
                        aw_error_t *err)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    if (n_total < 1)
        return aw_error_set(err, AW_EARG, "%s: evaluation needs n_total >= 1, got %lld", s->path, (long long)n_total);
    char what[256];
    snprintf(what, sizeof what, "starting evaluation %s/%s of run %.12s epoch %lld", key->estimator, key->split,
             key->identity, (long long)key->epoch);
    rc = tx_begin(s, err, what);
    if (rc != 0)
        return rc;
    rc = q_exec(s, err, NULL, what,
                "INSERT OR IGNORE INTO evaluations(identity, estimator, settings, split, epoch, n_total, n_done, n,"
                " mean, stderr, seconds, status, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 0, NULL, NULL, 0, 'running', " NOW ", " NOW ")",
                "ttttii", key->identity, key->estimator, key->settings, key->split, key->epoch, n_total);
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        rc = q_prep(s, err, &st, what, "SELECT " EVAL_COLS " FROM evaluations WHERE " EVAL_WHERE, "tttti",
                    key->identity, key->estimator, key->settings, key->split, key->epoch);
    if (rc == 0) {
        aw_store_eval_t e;
        rc = q_step(s, err, st, what);
        if (rc == 1) {
            rc = read_eval(s, err, st, &e);
            if (rc == 0) {
                if (e.n_total != n_total)
                    rc = aw_error_set(err, AW_EDB, "%s: %s: it exists with %lld points, asked for %lld", s->path,
                                      what, (long long)e.n_total, (long long)n_total);
                if (rc == 0 && out != NULL)
                    *out = e;
                else
                    aw_store_eval_fini(&e);
            }
        } else if (rc == 0) {
            rc = aw_error_set(err, AW_EDB, "%s: %s: the row vanished", s->path, what);
        }
        rc = q_end(s, err, st, rc, what);
    }
    if (rc == 0)
        rc = tx_commit(s, err, what);
    if (rc != 0) {
        tx_abort(s);
        if (out != NULL)
            aw_store_eval_fini(out);
    }
    return rc;
}

int aw_store_eval_put_points(aw_store_t *s, const aw_store_eval_key_t *key, int64_t first, const double *values,
                             size_t n, double seconds, aw_error_t *err)
{
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    char what[256];
    snprintf(what, sizeof what, "storing points %lld..%lld of evaluation %s/%s of run %.12s epoch %lld",
             (long long)first, (long long)first + (long long)n - 1, key->estimator, key->split, key->identity,
             (long long)key->epoch);
    if (n > 0 && values == NULL)
        return aw_error_set(err, AW_EARG, "%s: %s: no values", s->path, what);
    rc = tx_begin(s, err, what);
    if (rc != 0)
        return rc;
    int64_t n_total = -1;
    sqlite3_stmt *st = NULL;
    rc = q_prep(s, err, &st, what, "SELECT n_total FROM evaluations WHERE " EVAL_WHERE, "tttti", key->identity,
                key->estimator, key->settings, key->split, key->epoch);
    if (rc == 0) {
        rc = q_step(s, err, st, what);
        if (rc == 1) {
            n_total = sqlite3_column_int64(st, 0);
            rc = 0;
        } else if (rc == 0) {
            rc = aw_error_set(err, AW_ENOTFOUND, "%s: %s: the evaluation was not begun", s->path, what);
        }
        rc = q_end(s, err, st, rc, what);
    }
    if (rc == 0 && (first < 0 || n > (size_t)INT64_MAX || first > n_total - (int64_t)n))
        rc = aw_error_set(err, AW_EARG, "%s: %s: range outside [0, %lld)", s->path, what, (long long)n_total);
    if (rc == 0)
        rc = q_prep(s, err, &st, what,
                    "INSERT OR REPLACE INTO eval_points(identity, estimator, settings, split, epoch, idx, value)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", "tttti", key->identity, key->estimator, key->settings,
                    key->split, key->epoch);
    if (rc == 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            int e = sqlite3_bind_int64(st, 6, (sqlite3_int64)(first + (int64_t)i));
            if (e == SQLITE_OK)
                e = isfinite(values[i]) ? sqlite3_bind_double(st, 7, values[i]) : sqlite3_bind_null(st, 7);
            if (e != SQLITE_OK) {
                rc = db_fail(s, err, e, "%s: binding", what);
                break;
            }
            rc = q_step(s, err, st, what);
            if (rc == 1)
                rc = aw_error_set(err, AW_EDB, "%s: %s: insert returned a row", s->path, what);
            if (rc == 0 && (e = sqlite3_reset(st)) != SQLITE_OK)
                rc = db_fail(s, err, e, "%s", what);
        }
        rc = q_end(s, err, st, rc, what);
    }
    if (rc == 0)
        rc = q_exec(s, err, NULL, what,
                    "UPDATE evaluations SET n_done = (SELECT count(*) FROM eval_points WHERE " EVAL_WHERE "),"
                    " seconds = seconds + ?6, updated = " NOW " WHERE " EVAL_WHERE,
                    "ttttid", key->identity, key->estimator, key->settings, key->split, key->epoch,
                    isfinite(seconds) ? seconds : 0.0);
    if (rc == 0)
        rc = tx_commit(s, err, what);
    if (rc != 0)
        tx_abort(s);
    return rc;
}

int aw_store_eval_points(aw_store_t *s, const aw_store_eval_key_t *key, int64_t n_total, double *values,
                         uint8_t *have, aw_error_t *err)
{
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    if (n_total < 0)
        return aw_error_set(err, AW_EARG, "%s: reading evaluation points: n_total %lld < 0", s->path,
                            (long long)n_total);
    memset(have, 0, (size_t)n_total);
    const char *what = "reading evaluation points";
    sqlite3_stmt *st;
    rc = q_prep(s, err, &st, what, "SELECT idx, value FROM eval_points WHERE " EVAL_WHERE " ORDER BY idx",
                "tttti", key->identity, key->estimator, key->settings, key->split, key->epoch);
    if (rc != 0)
        return rc;
    while ((rc = q_step(s, err, st, what)) == 1) {
        int64_t i = sqlite3_column_int64(st, 0);
        if (i < 0 || i >= n_total) {
            rc = aw_error_set(err, AW_EDB, "%s: evaluation %s/%s of run %.12s: stored point %lld outside [0, %lld)",
                              s->path, key->estimator, key->split, key->identity, (long long)i, (long long)n_total);
            break;
        }
        values[i] = col_double(st, 1);
        have[i] = 1;
    }
    return q_end(s, err, st, rc, what);
}

int aw_store_eval_finish(aw_store_t *s, const aw_store_eval_key_t *key, double mean, double se, int64_t n,
                         double seconds, aw_error_t *err)
{
    int rc = check_key(s, err, key);
    if (rc != 0)
        return rc;
    int changes = 0;
    rc = q_exec(s, err, &changes, "finishing an evaluation",
                "UPDATE evaluations SET mean = ?6, stderr = ?7, n = ?8, seconds = ?9, status = 'finished',"
                " updated = " NOW " WHERE " EVAL_WHERE,
                "ttttiddid", key->identity, key->estimator, key->settings, key->split, key->epoch, mean, se, n,
                seconds);
    if (rc == 0 && changes == 0)
        rc = aw_error_set(err, AW_ENOTFOUND, "%s: evaluation %s/%s of run %.12s epoch %lld was not begun", s->path,
                          key->estimator, key->split, key->identity, (long long)key->epoch);
    return rc;
}

int aw_store_evals_list(aw_store_t *s, const char *identity, aw_store_eval_t **rows, size_t *n, aw_error_t *err)
{
    *rows = NULL;
    *n = 0;
    int rc = identity != NULL ? check_id(s, err, identity) : 0;
    if (rc != 0)
        return rc;
    const char *what = "listing evaluations";
    sqlite3_stmt *st;
    rc = q_prep(s, err, &st, what,
                "SELECT " EVAL_COLS " FROM evaluations WHERE ?1 IS NULL OR identity = ?1"
                " ORDER BY identity, estimator, settings, split, epoch", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_eval_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = q_step(s, err, st, what)) == 1) {
        if (grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        rc = read_eval(s, err, st, &arr[cnt]);
        if (rc != 0)
            break;
        cnt++;
    }
    rc = q_end(s, err, st, rc, what);
    if (rc != 0) {
        aw_store_evals_free(arr, cnt);
        return rc;
    }
    *rows = arr;
    *n = cnt;
    return 0;
}

/* ---- events ---- */

int aw_store_log_event(aw_store_t *s, const char *identity, const char *kind, const char *message,
                       aw_error_t *err)
{
    if (kind == NULL || message == NULL)
        return aw_error_set(err, AW_EARG, "%s: an event needs a kind and a message", s->path);
    return q_exec(s, err, NULL, "logging an event",
                  "INSERT INTO events(identity, time, kind, message) VALUES (?, " NOW ", ?, ?)", "ttt", identity,
                  kind, message);
}

void aw_store_events_free(aw_store_event_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].identity);
        free(rows[i].time);
        free(rows[i].kind);
        free(rows[i].message);
    }
    free(rows);
}

int aw_store_events_list(aw_store_t *s, const char *identity, aw_store_event_t **rows, size_t *n,
                         aw_error_t *err)
{
    *rows = NULL;
    *n = 0;
    const char *what = "listing events";
    sqlite3_stmt *st;
    int rc = q_prep(s, err, &st, what,
                    "SELECT identity, time, kind, message FROM events WHERE ?1 IS NULL OR identity = ?1"
                    " ORDER BY time, rowid", "t", identity);
    if (rc != 0)
        return rc;
    aw_store_event_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = q_step(s, err, st, what)) == 1) {
        if (grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
            rc = aw_error_set(err, AW_ENOMEM, "%s: %s: out of memory", s->path, what);
            break;
        }
        aw_store_event_t *e = &arr[cnt];
        memset(e, 0, sizeof *e);
        cnt++;
        rc = col_str(s, err, st, 0, 1, &e->identity);
        if (rc == 0)
            rc = col_str(s, err, st, 1, 0, &e->time);
        if (rc == 0)
            rc = col_str(s, err, st, 2, 0, &e->kind);
        if (rc == 0)
            rc = col_str(s, err, st, 3, 0, &e->message);
        if (rc != 0)
            break;
    }
    rc = q_end(s, err, st, rc, what);
    if (rc != 0) {
        aw_store_events_free(arr, cnt);
        return rc;
    }
    *rows = arr;
    *n = cnt;
    return 0;
}
