/* cluster_sql.h: what the cluster files share (internal to src/cluster): SQL on a store's connection,
 * task files attached read-only, and the task directory's listing. */
#ifndef AW_CLUSTER_SQL_H
#define AW_CLUSTER_SQL_H

#include <sqlite3.h>
#include <stddef.h>

#include "store/store.h"
#include "util/error.h"

/* Runs sql to completion on s's connection with text parameters texts[n] as ?1..?n; *changes (may be NULL)
 * gets the rows changed. AW_EDB naming s's file and what failed. */
int aw_cl_exec(aw_store_t *s, aw_error_t *err, const char *what, const char *sql, int n, const char *const *texts,
               int *changes);

/* Prepares sql on s's connection with text parameters texts[n]. */
int aw_cl_prep(aw_store_t *s, aw_error_t *err, const char *what, const char *sql, int n, const char *const *texts,
               sqlite3_stmt **st);

/* Attaches the database file path read-only to s's connection as schema alias / detaches it. */
int aw_cl_attach(aw_store_t *s, const char *path, const char *alias, aw_error_t *err);
void aw_cl_detach(aw_store_t *s, const char *alias);

/* The "*.db" files of directory dir, sorted by name, into a new array *names of *n full paths (free with
 * aw_cl_names_free); a missing directory has none. */
int aw_cl_list(const char *dir, char ***names, size_t *n, aw_error_t *err);
void aw_cl_names_free(char **names, size_t n);

/* Whether path names a training task's file ("<64 hex>.db"), not a shard's. */
int aw_cl_is_train_file(const char *path);

#endif
