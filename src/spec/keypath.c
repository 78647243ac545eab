/* keypath.c: KEY.PATH parsing (keypath.h) and the tree edits of --set overrides (load.h). */
#include "spec/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int key_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Parses text[len] as a KEY.PATH: segments joined by ".", each a key of
 * [A-Za-z0-9_] optionally followed by [N] indexes, or a bare index N. After a
 * leading "sweep." the rest is one key. Returns 0, or -1 when malformed. */
int aw_keypath_parse(const char *text, size_t len, aw_keypath_t *p)
{
    memset(p, 0, sizeof *p);
    size_t i = 0;
    while (i < len) {
        if (p->n == 1 && p->index[0] < 0 && strcmp(p->key[0], "sweep") == 0) {
            if (len - i >= sizeof p->key[1])
                return -1;
            memcpy(p->key[1], text + i, len - i);
            p->index[1] = -1;
            p->n = 2;
            i = len;
            break;
        }
        size_t j = i;
        while (j < len && key_char_ok(text[j]))
            j++;
        if (j == i || j - i >= sizeof p->key[0] || p->n >= AW_KEYPATH_MAX_SEGS)
            return -1;
        int all_digits = 1;
        for (size_t k = i; k < j; k++)
            all_digits &= text[k] >= '0' && text[k] <= '9';
        if (all_digits) {
            if (j - i > 6)
                return -1;
            p->index[p->n] = atoi(text + i);
        } else {
            memcpy(p->key[p->n], text + i, j - i);
            p->key[p->n][j - i] = '\0';
            p->index[p->n] = -1;
        }
        p->n++;
        while (j < len && text[j] == '[') {
            size_t k = j + 1;
            while (k < len && text[k] >= '0' && text[k] <= '9')
                k++;
            if (k == j + 1 || k - j - 1 > 6 || k >= len || text[k] != ']' || p->n >= AW_KEYPATH_MAX_SEGS)
                return -1;
            p->index[p->n++] = atoi(text + j + 1);
            j = k + 1;
        }
        if (j < len && text[j] != '.')
            return -1;
        if (j < len && j + 1 == len)
            return -1; /* trailing dot */
        i = j < len ? j + 1 : j;
    }
    if (p->n == 0)
        return -1;
    size_t od = 0, op = 0;
    for (int k = 0; k < p->n; k++) {
        char seg[160];
        if (p->index[k] >= 0)
            snprintf(seg, sizeof seg, "%d", p->index[k]);
        else
            snprintf(seg, sizeof seg, "%s", p->key[k]);
        od += (size_t)snprintf(p->dotted + od, od < sizeof p->dotted ? sizeof p->dotted - od : 0, "%s%s",
                               k ? "." : "", seg);
        if (p->index[k] >= 0)
            op += (size_t)snprintf(p->pretty + op, op < sizeof p->pretty ? sizeof p->pretty - op : 0, "[%s]", seg);
        else
            op += (size_t)snprintf(p->pretty + op, op < sizeof p->pretty ? sizeof p->pretty - op : 0, "%s%s",
                                   k ? "." : "", seg);
    }
    if (od >= sizeof p->dotted || op >= sizeof p->pretty)
        return -1;
    return 0;
}

/* Sets the node at path p under root (a mapping) to value (owned, freed on
 * failure). Missing mappings are created with origin/line/col; a null on the
 * way becomes a mapping; an absent or null evaluate list that is indexed is
 * first filled with the default list. at locates path errors. */
int aw_spec_set_path(load_t *L, aw_ynode_t *root, const aw_keypath_t *p, aw_ynode_t *value, const aw_ynode_t *at)
{
    aw_ynode_t *cur = root;
    char so_far[PATH_MAX_LEN] = "";
    int rc = AW_OK;
    for (int k = 0; k < p->n; k++) {
        int last = k == p->n - 1;
        int next_is_index = !last && p->index[k + 1] >= 0;
        if (p->index[k] < 0) {
            if (cur->kind != AW_YMAP) {
                char found[256];
                aw_ynode_describe(cur, found, sizeof found);
                rc = aw_spec_fail(L, at, so_far, "expected a mapping (to hold key %s), found %s", p->key[k], found);
                goto out;
            }
            int i = aw_ynode_find(cur, p->key[k]);
            aw_ynode_t *child = NULL;
            if (!last) {
                int is_eval = cur == root && strcmp(p->key[k], "evaluate") == 0 && next_is_index;
                if (i < 0 || aw_ynode_is_null(cur->vals[i])) {
                    if (is_eval) {
                        rc = aw_spec_parse_default_evaluate(&child, L->err);
                        if (rc != AW_OK)
                            goto out;
                    } else {
                        child = aw_ynode_new(AW_YMAP, at->origin, at->line, at->col);
                        if (child == NULL) {
                            rc = aw_spec_oom(L);
                            goto out;
                        }
                    }
                }
            } else {
                child = value;
                value = NULL;
            }
            if (child != NULL) {
                if (i >= 0) {
                    aw_ynode_free(cur->vals[i]);
                    cur->vals[i] = child;
                } else {
                    aw_ynode_t *key = aw_ynode_new_scalar(p->key[k], strlen(p->key[k]), 0, at->origin, at->line,
                                                          at->col);
                    if (key == NULL) {
                        aw_ynode_free(child);
                        rc = aw_spec_oom(L);
                        goto out;
                    }
                    if (aw_ynode_append(cur, key, child) != AW_OK) {
                        rc = aw_spec_oom(L);
                        goto out;
                    }
                    i = cur->n - 1;
                }
            }
            cur = cur->vals[i];
            char tmp[PATH_MAX_LEN];
            aw_spec_join_path(tmp, sizeof tmp, so_far, p->key[k]);
            memcpy(so_far, tmp, sizeof so_far);
        } else {
            if (cur->kind != AW_YSEQ) {
                char found[256];
                aw_ynode_describe(cur, found, sizeof found);
                rc = aw_spec_fail(L, at, so_far, "expected a sequence (to index [%d]), found %s", p->index[k], found);
                goto out;
            }
            if (p->index[k] >= cur->n) {
                rc = aw_spec_fail(L, at, so_far, "expected an index below %d, found [%d]", cur->n, p->index[k]);
                goto out;
            }
            if (last) {
                aw_ynode_free(cur->vals[p->index[k]]);
                cur->vals[p->index[k]] = value;
                value = NULL;
            }
            cur = cur->vals[p->index[k]];
            size_t o = strlen(so_far);
            snprintf(so_far + o, sizeof so_far - o, "[%d]", p->index[k]);
        }
    }
out:
    aw_ynode_free(value);
    return rc;
}

/* Keeps an owned copy of an origin string for the nodes of one override. */
static const char *add_origin(load_t *L, const char *s)
{
    if (L->n_origins == L->cap_origins) {
        int cap = L->cap_origins ? 2 * L->cap_origins : 8;
        char **o = realloc(L->origins, (size_t)cap * sizeof *o);
        if (o == NULL)
            return NULL;
        L->origins = o;
        L->cap_origins = cap;
    }
    char *c = strdup(s);
    if (c == NULL)
        return NULL;
    L->origins[L->n_origins++] = c;
    return c;
}

/* Applies one "KEY.PATH=VALUE" override to root. */
int aw_spec_apply_override(load_t *L, aw_ynode_t *root, const char *arg)
{
    char label[1200];
    snprintf(label, sizeof label, "--set %.1000s%s", arg, strlen(arg) > 1000 ? "..." : "");
    const char *origin = add_origin(L, label);
    if (origin == NULL)
        return aw_spec_oom(L);
    const char *eq = strchr(arg, '=');
    aw_keypath_t p;
    if (eq == NULL || aw_keypath_parse(arg, (size_t)(eq - arg), &p) != 0)
        return aw_error_set(L->err, AW_ESPEC,
                            "%s: expected KEY.PATH=VALUE with KEY.PATH like method.samples or evaluate[0].size",
                            origin);
    if (eq[1 + strspn(eq + 1, " \t")] == '\0')
        return aw_error_set(L->err, AW_ESPEC, "%s: expected a value after '=' (write %.*s=~ for the key's default)",
                            origin, (int)(eq - arg), arg);
    aw_ynode_t *value;
    int rc = aw_ytree_parse(eq + 1, strlen(eq + 1), origin, 0, &value, L->err);
    if (rc != AW_OK)
        return rc;
    if (value == NULL && (value = aw_ynode_new_scalar("", 0, 0, origin, 0, 0)) == NULL)
        return aw_spec_oom(L);
    aw_ynode_t at = {.kind = AW_YSCALAR, .origin = origin};
    return aw_spec_set_path(L, root, &p, value, &at);
}
