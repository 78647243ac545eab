/* store_db.c: error messages, statements, transactions and columns over SQLite for the store's files. */
#include "store/store_db.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aw_sq_fail(const aw_store_t *s, aw_error_t *err, int rc, const char *fmt, ...)
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
    case SQLITE_IOERR: {
        /* SQLite folds every failed system call into IOERR: say what the system said. */
        int sys = s->db != NULL ? sqlite3_system_errno(s->db) : 0;
        if (sys == EROFS)
            return aw_error_set(err, AW_EDB, "%s: %s: read-only file system; nothing of this write was kept (%s)",
                                s->path, what, detail);
        if (sys == ENOSPC || sys == EDQUOT)
            return aw_error_set(err, AW_EDB,
                                "%s: %s: disk full, the database could not grow; nothing of this write was kept, "
                                "everything committed before is intact (%s)", s->path, what, detail);
        return aw_error_set(err, AW_EDB, "%s: %s: I/O error%s%s (%s)", s->path, what, sys ? ": " : "",
                            sys ? strerror(sys) : "", detail);
    }
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
        int e = aw_sq_fail(s, err, rc, "%s", what);
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
            int e = aw_sq_fail(s, err, rc, "%s: binding parameter %d", what, k);
            sqlite3_finalize(*st);
            *st = NULL;
            return e;
        }
    }
    return 0;
}

int aw_sq_prep(aw_store_t *s, aw_error_t *err, sqlite3_stmt **st, const char *what, const char *sql,
               const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int rc = q_vprep(s, err, st, what, sql, types, ap);
    va_end(ap);
    return rc;
}

/* Steps st: 1 for a row, 0 when done, or a negative code with err filled. */
int aw_sq_step(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return aw_sq_fail(s, err, rc, "%s", what);
}

/* Finalizes st; a failure here is reported only if nothing failed before. */
int aw_sq_end(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, int rc, const char *what)
{
    int f = sqlite3_finalize(st);
    if (rc == 0 && f != SQLITE_OK)
        return aw_sq_fail(s, err, f, "%s", what);
    return rc;
}

/* Runs one statement to completion; *changes (may be NULL) gets the rows it changed. */
int aw_sq_exec(aw_store_t *s, aw_error_t *err, int *changes, const char *what, const char *sql,
               const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    va_start(ap, types);
    int rc = q_vprep(s, err, &st, what, sql, types, ap);
    va_end(ap);
    if (rc != 0)
        return rc;
    while ((rc = aw_sq_step(s, err, st, what)) == 1)
        ;
    if (rc == 0 && changes != NULL)
        *changes = sqlite3_changes(s->db);
    return aw_sq_end(s, err, st, rc, what);
}

int aw_sq_begin(aw_store_t *s, aw_error_t *err, const char *what)
{
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return aw_sq_fail(s, err, rc, "%s: starting a transaction", what);
    return 0;
}

int aw_sq_commit(aw_store_t *s, aw_error_t *err, const char *what)
{
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return aw_sq_fail(s, err, rc, "%s: committing", what);
    return 0;
}

/* Undoes the open transaction after a failure (SQLite may have already done so,
 * e.g. after SQLITE_FULL). Its own result is not reported: the caller returns the
 * first error, and an unfinished transaction is rolled back when the file is
 * next opened, so nothing partial can become visible. */
void aw_sq_abort(aw_store_t *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Copies text column i into *out ("" for NULL, or NULL if null_ok). */
int aw_sq_col_str(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, int i, int null_ok, char **out)
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

double aw_sq_col_double(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Makes room for one more element of size elem in *arr (capacity *cap, count n). */
int aw_sq_grow(void **arr, size_t *cap, size_t n, size_t elem)
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

int aw_sq_check_id(const aw_store_t *s, aw_error_t *err, const char *id)
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
