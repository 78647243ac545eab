/* read.c: the spec loader's errors, typed reads of YAML scalars and key checks of mappings (load.h). */
#include "spec/load.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/suggest.h"

/* ---- small utilities ---- */

int aw_spec_in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

/* "a, b, c" */
void aw_spec_join_list(const char *const *list, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; list[i] != NULL && o < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", list[i]);
}

/* out = path.key (or key at the top). */
void aw_spec_join_path(char *out, size_t size, const char *path, const char *key)
{
    /* Copied by hand: paths are short, and a cut one is still a fine message. */
    size_t o = 0;
    for (const char *q = path; *q != '\0' && o + 1 < size; q++)
        out[o++] = *q;
    if (path[0] != '\0' && o + 1 < size)
        out[o++] = '.';
    for (const char *q = key; *q != '\0' && o + 1 < size; q++)
        out[o++] = *q;
    out[o] = '\0';
}

/* ---- errors ---- */

int aw_spec_fail(load_t *L, const aw_ynode_t *at, const char *path, const char *fmt, ...)
{
    char where[1024], what[AW_ERROR_MSG_MAX];
    aw_ynode_where(at, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (path[0] != '\0')
        return aw_error_set(L->err, AW_ESPEC, "%s: %s: %s", where, path, what);
    return aw_error_set(L->err, AW_ESPEC, "%s: %s", where, what);
}

/* "WHERE: PATH: expected WHAT, found <at>" */
int aw_spec_expected(load_t *L, const aw_ynode_t *at, const char *path, const char *what)
{
    char found[256];
    aw_ynode_describe(at, found, sizeof found);
    return aw_spec_fail(L, at, path, "expected %s, found %s", what, found);
}

int aw_spec_oom(load_t *L)
{
    return aw_error_set(L->err, AW_ENOMEM, "out of memory while loading a spec");
}

/* ---- typed reads of scalars ---- */

/* Value node of key in map, or NULL when map is NULL, the key is absent or its
 * value is null (~ means the default). */
const aw_ynode_t *aw_spec_get(const aw_ynode_t *map, const char *key)
{
    if (map == NULL)
        return NULL;
    int i = aw_ynode_find(map, key);
    if (i < 0 || aw_ynode_is_null(map->vals[i]))
        return NULL;
    return map->vals[i];
}

/* Integer in lo..hi from node v (path names it in messages). */
int aw_spec_read_int(load_t *L, const aw_ynode_t *v, const char *path, long long lo, long long hi,
                     const char *expect, long long *out)
{
    char what[160], range[128];
    snprintf(range, sizeof range, "an integer in %lld..%lld", lo, hi);
    if (expect != NULL)
        snprintf(what, sizeof what, "%s", expect);
    else if (hi == INT_MAX || hi == LONG_MAX || hi == LLONG_MAX)
        snprintf(what, sizeof what, "an integer >= %lld", lo);
    else
        snprintf(what, sizeof what, "%s", range);
    if (aw_ynode_number_kind(v) != 1)
        return aw_spec_expected(L, v, path, what);
    errno = 0;
    long long x = strtoll(v->text, NULL, 10);
    if (errno == ERANGE || x > hi)
        return aw_spec_expected(L, v, path, expect != NULL ? what : range);
    if (x < lo)
        return aw_spec_expected(L, v, path, what);
    *out = x;
    return AW_OK;
}

/* A float read as strtof reads it; -0 becomes 0. */
int aw_spec_read_float(load_t *L, const aw_ynode_t *v, const char *path, const aw_key_t *k, float *out)
{
    char what[160];
    aw_key_accepts(k, what, sizeof what);
    if (aw_ynode_number_kind(v) == 0)
        return aw_spec_expected(L, v, path, what);
    float f = INFINITY;
    if (strchr(v->text, 'n') == NULL && strchr(v->text, 'N') == NULL) /* not .inf / .nan */
        f = strtof(v->text, NULL);
    if (f == 0.0f)
        f = 0.0f;
    if (!isfinite(f))
        return aw_spec_expected(L, v, path, "a finite number within float range");
    if (!aw_key_float_ok(k, f))
        return aw_spec_expected(L, v, path, what);
    *out = f;
    return AW_OK;
}

int aw_spec_read_word(load_t *L, const aw_ynode_t *v, const char *path, const char *const *words, int *out)
{
    int i = v->kind == AW_YSCALAR ? aw_spec_in_list(words, v->text) : -1;
    if (i < 0 || v->len != strlen(v->text)) {
        char list[256], what[300];
        aw_spec_join_list(words, list, sizeof list);
        snprintf(what, sizeof what, "one of %s", list);
        return aw_spec_expected(L, v, path, what);
    }
    *out = i;
    return AW_OK;
}

/* A string value (any non-null scalar) of at most size-1 bytes without NUL. */
int aw_spec_read_string(load_t *L, const aw_ynode_t *v, const char *path, const char *what, char *out, size_t size)
{
    if (v->kind != AW_YSCALAR || v->len != strlen(v->text) || v->len >= size) {
        char w[128];
        snprintf(w, sizeof w, "%s of at most %zu bytes without NUL", what, size - 1);
        return aw_spec_expected(L, v, path, w);
    }
    memcpy(out, v->text, v->len + 1);
    return AW_OK;
}

int aw_spec_name_char_ok(char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
        return 1;
    return !first && (c == '.' || c == ',' || c == '+' || c == '=' || c == '-');
}

/* ---- mappings: unknown and duplicate keys, keys for another variant ---- */

/* Checks every key of map: a scalar, one of known, not repeated. */
int aw_spec_check_keys(load_t *L, const aw_ynode_t *map, const char *path, const char *const *known)
{
    for (int i = 0; i < map->n; i++) {
        const aw_ynode_t *k = map->keys[i];
        if (k->kind != AW_YSCALAR)
            return aw_spec_expected(L, k, path, "a key name");
        char p[PATH_MAX_LEN];
        aw_spec_join_path(p, sizeof p, path, k->text);
        if (aw_spec_in_list(known, k->text) < 0) {
            char list[512];
            aw_spec_join_list(known, list, sizeof list);
            const char *near = aw_suggest(k->text, known);
            if (near == NULL)
                return aw_spec_fail(L, k, p, "unknown key (expected one of %s)", list);
            char sp[PATH_MAX_LEN];
            aw_spec_join_path(sp, sizeof sp, path, near);
            return aw_spec_fail(L, k, p, "unknown key (expected one of %s); did you mean %s?", list, sp);
        }
        int first = aw_ynode_find(map, k->text);
        if (first < i) {
            const aw_ynode_t *f = map->keys[first];
            if (f->line > 0)
                return aw_spec_fail(L, k, p, "duplicate key (first given at line %d, column %d)", f->line, f->col);
            return aw_spec_fail(L, k, p, "duplicate key");
        }
    }
    return AW_OK;
}

/* Rejects keys of only_keys present in map when the variant (kind what, e.g.
 * are checked against known. */
int aw_spec_get_section(load_t *L, const aw_ynode_t *map, const char *path, const char *key,
                       const char *const *known, const aw_ynode_t **out)
{
    const aw_ynode_t *v = aw_spec_get(map, key);
    *out = NULL;
    if (v == NULL)
        return AW_OK;
    char p[PATH_MAX_LEN];
    aw_spec_join_path(p, sizeof p, path, key);
    if (v->kind != AW_YMAP)
        return aw_spec_expected(L, v, p, "a mapping");
    int rc = aw_spec_check_keys(L, v, p, known);
    if (rc == AW_OK)
        *out = v;
    return rc;
}
