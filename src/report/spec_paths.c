/* spec_paths.c: a resolved spec as KEY.PATH=VALUE leaves, and KEY.PATH lookups for --where
 * (spec_paths.h). */
#include "report/spec_paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"
#include "spec/keypath.h"
#include "spec/yamltree.h"
#include "util/suggest.h"

void aw_report_leaves_fini(aw_report_leaves_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->kv[i]);
    free(l->kv);
    memset(l, 0, sizeof *l);
}

static void leaves_add(aw_report_leaves_t *l, const char *path, const char *value)
{
    char **kv = realloc(l->kv, (l->n + 1) * sizeof *kv);
    if (kv == NULL) {
        l->oom = 1;
        return;
    }
    l->kv = kv;
    size_t n = strlen(path) + strlen(value) + 2;
    if ((kv[l->n] = malloc(n)) == NULL) {
        l->oom = 1;
        return;
    }
    snprintf(kv[l->n], n, "%s=%s", path, value);
    l->n++;
}

/* Sequences of scalars are one leaf "[a, b]"; other collections recurse. */
static void flatten(const aw_ynode_t *n, char *path, size_t cap, aw_report_leaves_t *l)
{
    size_t len = strlen(path);
    if (n == NULL) {
        leaves_add(l, path, "~");
    } else if (n->kind == AW_YSCALAR) {
        leaves_add(l, path, aw_ynode_is_null(n) ? "~" : n->text);
    } else if (n->kind == AW_YSEQ) {
        int scalars = 1;
        for (int i = 0; i < n->n; i++)
            scalars &= n->vals[i]->kind == AW_YSCALAR;
        if (scalars) {
            aw_sbuf_t b = {0};
            aw_sbuf_puts(&b, "[");
            for (int i = 0; i < n->n; i++)
                aw_sbuf_printf(&b, "%s%s", i ? "," : "", n->vals[i]->text);
            aw_sbuf_puts(&b, "]");
            if (b.oom)
                l->oom = 1;
            else
                leaves_add(l, path, b.p);
            aw_sbuf_fini(&b);
            return;
        }
        for (int i = 0; i < n->n; i++) {
            snprintf(path + len, cap - len, "[%d]", i);
            flatten(n->vals[i], path, cap, l);
        }
    } else {
        for (int i = 0; i < n->n; i++) {
            snprintf(path + len, cap - len, "%s%s", len ? "." : "", n->keys[i]->text);
            flatten(n->vals[i], path, cap, l);
        }
    }
    path[len] = '\0';
}

int aw_report_spec_leaves(const char *yaml, aw_report_leaves_t *l, aw_error_t *err)
{
    aw_ynode_t *root = NULL;
    int rc = aw_ytree_parse(yaml, strlen(yaml), "run spec", 0, &root, err);
    if (rc < 0)
        return rc;
    char path[1024] = "";
    flatten(root, path, sizeof path, l);
    aw_ynode_free(root);
    if (l->oom)
        return aw_error_set(err, AW_ENOMEM, "out of memory");
    return AW_OK;
}

void aw_report_spec_suggest(const char *yaml, const char *key_path, char *out, size_t n)
{
    aw_report_leaves_t l = {0};
    aw_error_t err = {0};
    out[0] = '\0';
    char **keys = NULL;
    if (aw_report_spec_leaves(yaml, &l, &err) == AW_OK && (keys = calloc(l.n + 1, sizeof *keys)) != NULL) {
        for (size_t i = 0; i < l.n; i++) {
            keys[i] = l.kv[i];
            keys[i][strcspn(keys[i], "=")] = '\0'; /* the key part only */
        }
        const char *near = aw_suggest(key_path, (const char *const *)keys);
        if (near != NULL)
            snprintf(out, n, "%s", near);
    }
    free(keys);
    aw_report_leaves_fini(&l);
}

/* ---- --where ---- */

/* Walks key_path (a KEY.PATH as specs and --set write it) through the tree; NULL when absent or malformed. */
static const aw_ynode_t *lookup(const aw_ynode_t *n, const char *key_path)
{
    aw_keypath_t p;
    if (aw_keypath_parse(key_path, strlen(key_path), &p) != 0)
        return NULL;
    for (int k = 0; k < p.n && n != NULL; k++) {
        if (p.index[k] >= 0) {
            if (n->kind != AW_YSEQ || p.index[k] >= n->n)
                return NULL;
            n = n->vals[p.index[k]];
        } else {
            int i = n->kind == AW_YMAP ? aw_ynode_find(n, p.key[k]) : -1;
            n = i >= 0 ? n->vals[i] : NULL;
        }
    }
    return n;
}

int aw_report_spec_match(const char *yaml, const char *key_path, const char *value, aw_error_t *err)
{
    aw_ynode_t *root = NULL;
    int rc = aw_ytree_parse(yaml, strlen(yaml), "run spec", 0, &root, err);
    if (rc < 0)
        return rc;
    const aw_ynode_t *n = lookup(root, key_path);
    int res;
    if (n == NULL) {
        res = -1;
    } else if (n->kind == AW_YSEQ) {
        /* A list of scalars matches its flat form: --where model.hidden=[200,200] */
        aw_report_leaves_t l = {0};
        char path[8] = "";
        flatten(n, path, sizeof path, &l);
        res = !l.oom && l.n == 1 && strcmp(l.kv[0] + 1, value) == 0;
        if (!res && !l.oom && l.n == 1) {
            /* ignore spaces in the value: [200, 200] */
            char compact[256];
            size_t k = 0;
            for (const char *c = value; *c && k + 1 < sizeof compact; c++)
                if (*c != ' ')
                    compact[k++] = *c;
            compact[k] = '\0';
            res = strcmp(l.kv[0] + 1, compact) == 0;
        }
        rc = l.oom ? aw_error_set(err, AW_ENOMEM, "out of memory") : AW_OK;
        aw_report_leaves_fini(&l);
    } else if (n->kind != AW_YSCALAR) {
        res = 0;
    } else if (aw_ynode_is_null(n)) {
        res = aw_ynode_is_null(&(aw_ynode_t){.kind = AW_YSCALAR, .text = (char *)value, .len = strlen(value)});
    } else if (strcmp(n->text, value) == 0) {
        res = 1;
    } else {
        char *e1, *e2;
        double a = strtod(n->text, &e1), v = strtod(value, &e2);
        res = *n->text && *value && *e1 == '\0' && *e2 == '\0' && a == v;
    }
    aw_ynode_free(root);
    return rc < 0 ? rc : res;
}

int aw_report_spec_value(const char *yaml, const char *key_path, char *buf, size_t n, aw_error_t *err)
{
    aw_ynode_t *root = NULL;
    int rc = aw_ytree_parse(yaml, strlen(yaml), "run spec", 0, &root, err);
    if (rc < 0)
        return rc;
    const aw_ynode_t *v = lookup(root, key_path);
    aw_report_leaves_t l = {0};
    char path[8] = "";
    if (v != NULL && v->kind == AW_YMAP) {
        snprintf(buf, n, "{...}");
    } else if (v != NULL) {
        flatten(v, path, sizeof path, &l);
        if (l.oom)
            rc = aw_error_set(err, AW_ENOMEM, "out of memory");
        else
            snprintf(buf, n, "%s", l.n == 1 && l.kv[0][0] == '=' ? l.kv[0] + 1 : "[...]");
    }
    aw_report_leaves_fini(&l);
    aw_ynode_free(root);
    return rc < 0 ? rc : v != NULL;
}
