/* sweep.c: sweep expansion: one run per combination of the sweep's values, named after them (load.h). */
#include "spec/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

/* Writes value v as it appears in a run name (unsanitized). */
static void value_text(aw_sbuf_t *b, const aw_ynode_t *v)
{
    if (v->kind == AW_YSCALAR) {
        aw_sbuf_printf(b, "%s", aw_ynode_is_null(v) ? "null" : v->text);
        return;
    }
    for (int i = 0; i < v->n; i++) {
        if (i > 0)
            aw_sbuf_printf(b, ",");
        if (v->kind == AW_YMAP) {
            value_text(b, v->keys[i]);
            aw_sbuf_printf(b, "=");
        }
        value_text(b, v->vals[i]);
    }
}

/* Base name from a file name: base name without extension, unsafe bytes as _. */
void aw_spec_default_name(const char *label, char *out, size_t size)
{
    const char *base = strrchr(label, '/');
    base = base ? base + 1 : label;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        n = (size_t)(dot - base);
    if (n > AW_SPEC_NAME_MAX)
        n = AW_SPEC_NAME_MAX;
    if (n == 0) {
        snprintf(out, size, "spec");
        return;
    }
    for (size_t i = 0; i < n && i + 1 < size; i++)
        out[i] = aw_spec_name_char_ok(base[i], i == 0) ? base[i] : '_';
    out[n < size ? n : size - 1] = '\0';
}

/* Reads the sweep mapping of root into keys[*nk] and removes it from root. */
int aw_spec_take_sweep(load_t *L, aw_ynode_t *root, aw_sweep_key_t **keys, int *nk, aw_ynode_t **sweep, long *nruns)
{
    *keys = NULL, *nk = 0, *sweep = NULL, *nruns = 1;
    int i = aw_ynode_find(root, "sweep");
    if (i < 0)
        return AW_OK;
    aw_ynode_t *sw = root->vals[i];
    root->vals[i] = NULL;
    aw_ynode_remove(root, i);
    *sweep = sw;
    if (aw_ynode_is_null(sw))
        return AW_OK;
    if (sw->kind != AW_YMAP)
        return aw_spec_expected(L, sw, "sweep", "a mapping of KEY.PATH: [values]");
    if (sw->n == 0)
        return AW_OK;
    *keys = calloc((size_t)sw->n, sizeof **keys);
    if (*keys == NULL)
        return aw_spec_oom(L);
    for (int k = 0; k < sw->n; k++) {
        const aw_ynode_t *kn = sw->keys[k], *vn = sw->vals[k];
        aw_sweep_key_t *sk = &(*keys)[k];
        if (kn->kind != AW_YSCALAR || aw_keypath_parse(kn->text, kn->len, &sk->path) != 0)
            return aw_spec_expected(L, kn, "sweep", "a KEY.PATH like method.samples or evaluate[0].size");
        char p[PATH_MAX_LEN];
        aw_spec_join_path(p, sizeof p, "sweep", kn->text);
        if (sk->path.index[0] < 0 && (strcmp(sk->path.key[0], "sweep") == 0 || strcmp(sk->path.key[0], "name") == 0))
            return aw_spec_fail(L, kn, p, "cannot be swept (sweep a key that changes the run)");
        for (int j = 0; j < k; j++)
            if (strcmp((*keys)[j].path.dotted, sk->path.dotted) == 0)
                return aw_spec_fail(L, kn, p, "duplicate key (the same path as %s)", sw->keys[j]->text);
        if (vn->kind != AW_YSEQ || vn->n == 0)
            return aw_spec_expected(L, vn, p, "a non-empty sequence of values");
        sk->key = kn;
        sk->vals = vn;
        *nk = k + 1;
        *nruns *= vn->n;
        if (*nruns > AW_SPEC_MAX_RUNS)
            return aw_spec_fail(L, sw, "sweep", "expected at most %d runs, found more", AW_SPEC_MAX_RUNS);
    }
    return AW_OK;
}

/* ---- --set against the sweep ---- */

/* 1 if the first n segments of a and b are the same key or index. */
static int same_segments(const aw_keypath_t *a, const aw_keypath_t *b, int n)
{
    for (int k = 0; k < n; k++)
        if (a->index[k] != b->index[k] || (a->index[k] < 0 && strcmp(a->key[k], b->key[k]) != 0))
            return 0;
    return 1;
}

/* 1 if the YAML text value has a node at segments from..p->n-1 of p; 0 if not (or it does not parse). */
static int value_has(const char *value, const aw_keypath_t *p, int from, aw_error_t *err)
{
    aw_ynode_t *root = NULL;
    if (aw_ytree_parse(value, strlen(value), "--set", 0, &root, err) != AW_OK)
        return 0;
    const aw_ynode_t *n = root;
    for (int k = from; k < p->n && n != NULL; k++) {
        if (p->index[k] >= 0)
            n = n->kind == AW_YSEQ && p->index[k] < n->n ? n->vals[p->index[k]] : NULL;
        else if (n->kind == AW_YMAP && aw_ynode_find(n, p->key[k]) >= 0)
            n = n->vals[aw_ynode_find(n, p->key[k])];
        else
            n = NULL;
    }
    int has = n != NULL;
    aw_ynode_free(root);
    return has;
}

int aw_spec_check_sweep_overrides(load_t *L, const char *const *overrides, int n, const aw_sweep_key_t *keys,
                                  int nk)
{
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(overrides[i], '=');
        aw_keypath_t p;
        if (eq == NULL || aw_keypath_parse(overrides[i], (size_t)(eq - overrides[i]), &p) != 0)
            continue; /* applying it has already said what is wrong */
        if (p.index[0] < 0 && strcmp(p.key[0], "sweep") == 0)
            continue;
        for (int k = 0; k < nk; k++) {
            const aw_keypath_t *sp = &keys[k].path;
            int common = p.n < sp->n ? p.n : sp->n;
            if (!same_segments(&p, sp, common))
                continue;
            aw_error_t scratch = {0};
            if (p.n < sp->n && !value_has(eq + 1, sp, p.n, &scratch))
                continue; /* a parent of the swept key whose value leaves the key to the sweep */
            return aw_error_set(L->err, AW_ESPEC, "--set %.300s: the spec's sweep also sets %s, and the sweep's "
                                "values would replace this; change the sweep instead (--set 'sweep.%s=[...]') or "
                                "drop it (--set 'sweep={}')", overrides[i], sp->pretty, keys[k].key->text);
        }
    }
    return AW_OK;
}

/* Builds run r of the sweep (odometer, first key slowest) into s. */
int aw_spec_make_run(load_t *L, const aw_ynode_t *root, const aw_sweep_key_t *keys, int nk, long r, const char *base,
                    aw_spec_t *s)
{
    aw_ynode_t *t = aw_ynode_copy(root);
    if (t == NULL)
        return aw_spec_oom(L);
    aw_sbuf_t suffix = {0};
    aw_sbuf_printf(&suffix, "%s", "");
    int rc = AW_OK;
    long stride = 1;
    for (int k = nk - 1; k >= 0; k--)
        stride *= keys[k].vals->n;
    for (int k = 0; k < nk && rc == AW_OK; k++) {
        stride /= keys[k].vals->n;
        const aw_ynode_t *v = keys[k].vals->vals[(r / stride) % keys[k].vals->n];
        aw_ynode_t *c = aw_ynode_copy(v);
        if (c == NULL) {
            rc = aw_spec_oom(L);
            break;
        }
        rc = aw_spec_set_path(L, t, &keys[k].path, c, keys[k].key);
        aw_sbuf_printf(&suffix, "-%s=", keys[k].path.dotted);
        value_text(&suffix, v);
    }
    if (rc == AW_OK && suffix.oom)
        rc = aw_spec_oom(L);
    if (rc == AW_OK)
        rc = aw_spec_resolve(L, t, base, s);
    if (rc == AW_OK && nk > 0) {
        for (char *q = suffix.p; *q != '\0'; q++)
            if (!aw_spec_name_char_ok(*q, 0))
                *q = '_';
        size_t n = strlen(s->name);
        if (n + suffix.n >= sizeof s->name) {
            const aw_ynode_t *sw = keys[0].key;
            rc = aw_spec_fail(L, sw, "sweep", "expected run names of at most %zu bytes, found %zu (%s%s); shorten name",
                      sizeof s->name - 1, n + suffix.n, s->name, suffix.p);
        } else {
            memcpy(s->name + n, suffix.p, suffix.n + 1);
        }
    }
    if (rc == AW_OK)
        rc = aw_spec_finish(L, s);
    aw_sbuf_fini(&suffix);
    aw_ynode_free(t);
    return rc;
}
