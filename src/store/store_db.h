/* store_db.h: what the store's files share (internal to src/store): the connection and the
 * statement, transaction and column helpers of store_db.c. Every write is one BEGIN IMMEDIATE
 * transaction (or one autocommit statement). */
#ifndef AW_STORE_DB_H
#define AW_STORE_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct aw_store {
    sqlite3 *db;   /* the connection */
    char *path;    /* path or URI as given, for messages */
    int read_only; /* opened with SQLITE_OPEN_READONLY */
    int busy_ms;   /* busy timeout, quoted in "locked" messages */
};

/* SQL for the current UTC time, as stored in every time column. */
#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/* Fills err with AW_EDB: "<file>: <what>: <kind> (<sqlite message>)". Call it
 * before any other SQLite call so sqlite3_errmsg still describes rc. */
int aw_sq_fail(const aw_store_t *s, aw_error_t *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepares sql into *st and binds its parameters 1.. from the arguments, one per
 * letter of types: 't' text (const char *, NULL binds NULL), 'i' int64_t,
 * 'd' double (NaN/Inf stored as NULL), 'b' blob (const void *, size_t). */
int aw_sq_prep(aw_store_t *s, aw_error_t *err, sqlite3_stmt **st, const char *what, const char *sql,
               const char *types, ...);

/* Steps st: 1 for a row, 0 when done, or a negative code with err filled. */
int aw_sq_step(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, const char *what);

/* Finalizes st; a failure here is reported only if nothing failed before. */
int aw_sq_end(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, int rc, const char *what);

/* Runs one statement to completion (parameters as aw_sq_prep); *changes (may be NULL) gets the rows
 * it changed. */
int aw_sq_exec(aw_store_t *s, aw_error_t *err, int *changes, const char *what, const char *sql,
               const char *types, ...);

/* BEGIN IMMEDIATE / COMMIT of one write transaction. */
int aw_sq_begin(aw_store_t *s, aw_error_t *err, const char *what);
int aw_sq_commit(aw_store_t *s, aw_error_t *err, const char *what);

/* Undoes the open transaction after a failure (SQLite may have already done so,
 * e.g. after SQLITE_FULL). Its own result is not reported: the caller returns the
 * first error, and an unfinished transaction is rolled back when the file is
 * next opened, so nothing partial can become visible. */
void aw_sq_abort(aw_store_t *s);

/* Copies text column i into *out ("" for NULL, or NULL if null_ok). */
int aw_sq_col_str(aw_store_t *s, aw_error_t *err, sqlite3_stmt *st, int i, int null_ok, char **out);

/* Real column i, NaN for NULL. */
double aw_sq_col_double(sqlite3_stmt *st, int i);

/* Makes room for one more element of size elem in *arr (capacity *cap, count n). */
int aw_sq_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* AW_EARG unless id is a run identity (AW_STORE_ID_LEN lowercase hex digits). */
int aw_sq_check_id(const aw_store_t *s, aw_error_t *err, const char *id);

#endif
