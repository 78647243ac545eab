/* cluster_sql.c: SQL helpers and the task directory's listing (cluster_sql.h). */
#include "cluster/cluster_sql.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sql_fail(aw_store_t *s, aw_error_t *err, const char *what)
{
    return aw_error_set(err, AW_EDB, "%s: %s: %s", aw_store_path(s), what, sqlite3_errmsg(aw_store_handle(s)));
}

int aw_cl_prep(aw_store_t *s, aw_error_t *err, const char *what, const char *sql, int n, const char *const *texts,
               sqlite3_stmt **st)
{
    *st = NULL;
    if (sqlite3_prepare_v2(aw_store_handle(s), sql, -1, st, NULL) != SQLITE_OK)
        return sql_fail(s, err, what);
    for (int i = 0; i < n; i++)
        if (sqlite3_bind_text(*st, i + 1, texts[i], -1, SQLITE_TRANSIENT) != SQLITE_OK) {
            int rc = sql_fail(s, err, what);
            sqlite3_finalize(*st);
            *st = NULL;
            return rc;
        }
    return AW_OK;
}

int aw_cl_exec(aw_store_t *s, aw_error_t *err, const char *what, const char *sql, int n, const char *const *texts,
               int *changes)
{
    sqlite3_stmt *st;
    int rc = aw_cl_prep(s, err, what, sql, n, texts, &st);
    if (rc < 0)
        return rc;
    int e;
    while ((e = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (e != SQLITE_DONE)
        rc = sql_fail(s, err, what);
    else if (changes != NULL)
        *changes = sqlite3_changes(aw_store_handle(s));
    sqlite3_finalize(st);
    return rc;
}

int aw_cl_attach(aw_store_t *s, const char *path, const char *alias, aw_error_t *err)
{
    /* A read-only URI: the characters that mean something in a URI are percent-encoded. */
    size_t n = strlen(path);
    char *uri = malloc(3 * n + 32);
    if (uri == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    char *p = uri + sprintf(uri, "file:");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch == '%' || ch == '?' || ch == '#' || ch < 0x21 || ch >= 0x7f)
            p += sprintf(p, "%%%02X", ch);
        else
            *p++ = (char)ch;
    }
    strcpy(p, "?mode=ro");
    char sql[64];
    snprintf(sql, sizeof sql, "ATTACH DATABASE ?1 AS %s", alias);
    const char *args[1] = {uri};
    char what[AW_ERROR_MSG_MAX / 2];
    snprintf(what, sizeof what, "attaching %.400s", path);
    int rc = aw_cl_exec(s, err, what, sql, 1, args, NULL);
    free(uri);
    return rc;
}

void aw_cl_detach(aw_store_t *s, const char *alias)
{
    char sql[64];
    snprintf(sql, sizeof sql, "DETACH DATABASE %s", alias);
    (void)sqlite3_exec(aw_store_handle(s), sql, NULL, NULL, NULL);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void aw_cl_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int aw_cl_list(const char *dir, char ***names, size_t *n, aw_error_t *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? AW_OK : aw_error_set(err, AW_EIO, "%s: cannot list the task directory (%s)", dir,
                                                       strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    int rc = AW_OK;
    while (rc == AW_OK && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".db") != 0 || de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            char **g = realloc(*names, nc * sizeof *g);
            if (g == NULL) {
                rc = aw_error_set(err, AW_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            *names = g;
            cap = nc;
        }
        size_t need = strlen(dir) + len + 2;
        if (((*names)[*n] = malloc(need)) == NULL) {
            rc = aw_error_set(err, AW_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        snprintf((*names)[*n], need, "%s/%s", dir, de->d_name);
        (*n)++;
    }
    closedir(d);
    if (rc < 0) {
        aw_cl_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        return rc;
    }
    if (*n > 1)
        qsort(*names, *n, sizeof **names, by_name);
    return AW_OK;
}

int aw_cl_is_train_file(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strlen(base) != AW_STORE_ID_LEN + 3 || strcmp(base + AW_STORE_ID_LEN, ".db") != 0)
        return 0;
    for (int i = 0; i < AW_STORE_ID_LEN; i++)
        if (!((base[i] >= '0' && base[i] <= '9') || (base[i] >= 'a' && base[i] <= 'f')))
            return 0;
    return 1;
}
