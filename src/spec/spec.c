/* spec.c: experiment specs from YAML: overrides, validation with FILE:LINE:COL
 * messages, defaults, sweep expansion, canonical text and identity (spec.h).
 *
 * Keys, defaults and accepted values (~ anywhere means "the default"):
 *
 *   key                          default              accepted
 *   name                         file base name       1..255 of [A-Za-z0-9._,+=-], first [A-Za-z0-9_]
 *   seed                         0                    integer 0..2^64-1
 *   repeat                       0                    integer >= 0
 *   dataset.name                 mnist                mnist | omniglot | binarized_mnist | idx
 *   dataset.dir                  ~ (data default)     path
 *   dataset.train_images         (idx: required)      path; idx only
 *   dataset.test_images          (idx: required)      path; idx only
 *   dataset.train_labels         ~                    path; idx only
 *   dataset.test_labels          ~                    path; idx only
 *   dataset.binarize             dynamic              dynamic | fixed | number in (0, 1) (threshold)
 *   dataset.train_size/test_size ~ (all)              integer >= 1
 *   model.latent                 50                   integer >= 1
 *   model.hidden                 [200, 200]           1..4 integers >= 1
 *   method.name                  aiwae                vae | iwae | aiwae
 *   method.samples               vae 1, else 5        integer >= 1 (vae: exactly 1)
 *   method.temperatures          5                    integer >= 2; aiwae only
 *   method.leapfrog              5                    integer >= 1; aiwae only
 *   method.step_size.init        0.1                  number > 0, min <= init <= max; aiwae only
 *   method.step_size.min         0.001                number > 0
 *   method.step_size.max         0.3                  number > 0
 *   method.step_size.target_accept 0.6                number in (0, 1)
 *   train.epochs                 3280                 integer >= 1
 *   train.batch_size             aiwae 128, else 20   integer >= 1
 *   train.learning_rate          0.001                number > 0
 *   train.schedule               burda                burda | constant
 *   train.adam.beta1/beta2       0.9 / 0.999          number in [0, 1)
 *   train.adam.eps               0.0001               number > 0
 *   train.checkpoint_every       10                   integer >= 1
 *   train.threads                2                    integer >= 1 (not in the identity)
 *   evaluate                     the two entries below; [] = none; at most 8 entries
 *   evaluate[].estimator         (required)           iwae_bound | ais_nll
 *   evaluate[].split             test                 train | test
 *   evaluate[].size              ~ (whole split)      integer >= 1
 *   evaluate[].every             ~ (after last epoch) integer >= 1
 *   evaluate[].batch             iwae_bound 32, ais_nll 256 (the original scripts' batches)
 *   evaluate[].samples           5000                 integer >= 1; iwae_bound only
 *   evaluate[].chains            16                   integer >= 1; ais_nll only
 *   evaluate[].temperatures      10000                integer >= 2; ais_nll only
 *   evaluate[].leapfrog          10                   integer >= 1; ais_nll only
 *   evaluate[].schedule          linear               linear | sigmoid; ais_nll only
 *   evaluate[].step_size         init 0.1, min 0.02, max 0.3, target_accept 0.6 (the original
 *                                IWAE_AIS.py values); same rules as method.step_size; ais_nll only
 *   sweep                        none                 mapping KEY.PATH -> non-empty sequence
 *
 * Default evaluate list: iwae_bound (samples 5000, split test) and ais_nll
 * (chains 16, temperatures 10000, leapfrog 10, split test, size 1000). */
#include "spec/spec.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"
#include "util/sha256.h"
#include "spec/yamltree.h"

#define PATH_MAX_LEN 512   /* bytes of a KEY.PATH in messages */
#define MAX_SEGS 16        /* segments of a KEY.PATH */

static const char DEFAULT_EVALUATE[] =
    "[{estimator: iwae_bound, samples: 5000, split: test},"
    " {estimator: ais_nll, chains: 16, temperatures: 10000, leapfrog: 10, split: test, size: 1000}]";
static const char DEFAULT_EVALUATE_ORIGIN[] = "(default evaluate list)";

/* Key sets, NULL-terminated, in canonical order. */
static const char *const ROOT_KEYS[] = {"name", "seed", "repeat", "dataset", "model", "method",
                                        "train", "evaluate", "sweep", NULL};
static const char *const DATASET_KEYS[] = {"name", "dir", "train_images", "train_labels", "test_images",
                                           "test_labels", "binarize", "train_size", "test_size", NULL};
static const char *const DATASET_IDX_KEYS[] = {"train_images", "train_labels", "test_images", "test_labels", NULL};
static const char *const DATASET_NAMES[] = {"mnist", "omniglot", "binarized_mnist", "idx", NULL};
static const char *const MODEL_KEYS[] = {"latent", "hidden", NULL};
static const char *const METHOD_KEYS[] = {"name", "samples", "temperatures", "leapfrog", "step_size", NULL};
static const char *const METHOD_AIWAE_KEYS[] = {"temperatures", "leapfrog", "step_size", NULL};
static const char *const METHOD_NAMES[] = {"vae", "iwae", "aiwae", NULL};
static const char *const STEP_KEYS[] = {"init", "min", "max", "target_accept", NULL};
static const char *const TRAIN_KEYS[] = {"epochs", "batch_size", "learning_rate", "schedule", "adam",
                                         "checkpoint_every", "threads", NULL};
static const char *const TRAIN_SCHEDULES[] = {"burda", "constant", NULL};
static const char *const ADAM_KEYS[] = {"beta1", "beta2", "eps", NULL};
static const char *const EVAL_KEYS[] = {"estimator", "split", "size", "every", "batch", "samples", "chains",
                                        "temperatures", "leapfrog", "schedule", "step_size", NULL};
static const char *const EVAL_IWAE_KEYS[] = {"samples", NULL};
static const char *const EVAL_AIS_KEYS[] = {"chains", "temperatures", "leapfrog", "schedule", "step_size", NULL};
static const char *const ESTIMATOR_NAMES[] = {"iwae_bound", "ais_nll", NULL};
static const char *const SPLITS[] = {"train", "test", NULL};
static const char *const AIS_SCHEDULES[] = {"linear", "sigmoid", NULL};

/* Ranges of numbers. */
typedef enum frange { GT0, UNIT_CLOSED_OPEN, UNIT_OPEN } frange_t;
static const char *const FRANGE_TEXT[] = {"a number > 0", "a number in [0, 1)", "a number in (0, 1)"};

/* One load: the error record and the origin strings of --set nodes. */
typedef struct load {
    aw_error_t *err;       /* where problems go */
    char **origins;        /* owned "--set ..." labels that nodes borrow */
    int n_origins;         /* used entries */
    int cap_origins;       /* allocated entries */
} load_t;

/* One KEY.PATH: keys and sequence indexes. */
typedef struct kpath {
    int n;                          /* segments */
    char key[MAX_SEGS][128];        /* segment key (when index < 0) */
    int index[MAX_SEGS];            /* segment index, or -1 for a key */
    char dotted[PATH_MAX_LEN];      /* a.b.0.c, for run names */
    char pretty[PATH_MAX_LEN];      /* a.b[0].c, for messages */
} kpath_t;

/* ---- small utilities ---- */

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

/* "a, b, c" */
static void join_list(const char *const *list, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; list[i] != NULL && o < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", list[i]);
}

/* out = path.key (or key at the top). */
static void join_path(char *out, size_t size, const char *path, const char *key)
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

__attribute__((format(printf, 4, 5))) static int fail(load_t *L, const aw_ynode_t *at, const char *path,
                                                      const char *fmt, ...)
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
static int expected(load_t *L, const aw_ynode_t *at, const char *path, const char *what)
{
    char found[256];
    aw_ynode_describe(at, found, sizeof found);
    return fail(L, at, path, "expected %s, found %s", what, found);
}

static int oom(load_t *L)
{
    return aw_error_set(L->err, AW_ENOMEM, "out of memory while loading a spec");
}

/* ---- typed reads of scalars ---- */

/* Value node of key in map, or NULL when map is NULL, the key is absent or its
 * value is null (~ means the default). */
static const aw_ynode_t *get(const aw_ynode_t *map, const char *key)
{
    if (map == NULL)
        return NULL;
    int i = aw_ynode_find(map, key);
    if (i < 0 || aw_ynode_is_null(map->vals[i]))
        return NULL;
    return map->vals[i];
}

/* Integer in lo..hi from node v (path names it in messages). */
static int read_int(load_t *L, const aw_ynode_t *v, const char *path, long long lo, long long hi, long long *out)
{
    char what[128];
    if (hi == INT_MAX || hi == LONG_MAX || hi == LLONG_MAX)
        snprintf(what, sizeof what, "an integer >= %lld", lo);
    else
        snprintf(what, sizeof what, "an integer in %lld..%lld", lo, hi);
    if (aw_ynode_number_kind(v) != 1)
        return expected(L, v, path, what);
    errno = 0;
    long long x = strtoll(v->text, NULL, 10);
    if (errno == ERANGE || (x > hi && hi == LLONG_MAX)) {
        snprintf(what, sizeof what, "an integer in %lld..%lld", lo, hi);
        return expected(L, v, path, what);
    }
    if (x < lo)
        return expected(L, v, path, what);
    if (x > hi) {
        snprintf(what, sizeof what, "an integer in %lld..%lld", lo, hi);
        return expected(L, v, path, what);
    }
    *out = x;
    return AW_OK;
}

/* map[key] as an integer in lo..hi, def when absent. */
static int get_int(load_t *L, const aw_ynode_t *map, const char *path, const char *key, long long lo,
                   long long hi, long long def, long long *out)
{
    const aw_ynode_t *v = get(map, key);
    *out = def;
    if (v == NULL)
        return AW_OK;
    char p[PATH_MAX_LEN];
    join_path(p, sizeof p, path, key);
    return read_int(L, v, p, lo, hi, out);
}

static int get_i32(load_t *L, const aw_ynode_t *map, const char *path, const char *key, int lo, int def, int *out)
{
    long long x;
    int rc = get_int(L, map, path, key, lo, INT_MAX, def, &x);
    *out = (int)x;
    return rc;
}

/* A float read as strtof reads it; -0 becomes 0. */
static int read_float(load_t *L, const aw_ynode_t *v, const char *path, frange_t r, float *out)
{
    int kind = aw_ynode_number_kind(v);
    if (kind == 0)
        return expected(L, v, path, FRANGE_TEXT[r]);
    float f = INFINITY;
    if (strchr(v->text, 'n') == NULL && strchr(v->text, 'N') == NULL) /* not .inf / .nan */
        f = strtof(v->text, NULL);
    if (f == 0.0f)
        f = 0.0f;
    if (!isfinite(f))
        return expected(L, v, path, "a finite number within float range");
    int ok = r == GT0 ? f > 0.0f : r == UNIT_CLOSED_OPEN ? f >= 0.0f && f < 1.0f : f > 0.0f && f < 1.0f;
    if (!ok)
        return expected(L, v, path, FRANGE_TEXT[r]);
    *out = f;
    return AW_OK;
}

static int get_float(load_t *L, const aw_ynode_t *map, const char *path, const char *key, frange_t r, float def,
                     float *out, const aw_ynode_t **node)
{
    const aw_ynode_t *v = get(map, key);
    *out = def;
    if (node != NULL)
        *node = v;
    if (v == NULL)
        return AW_OK;
    char p[PATH_MAX_LEN];
    join_path(p, sizeof p, path, key);
    return read_float(L, v, p, r, out);
}

/* map[key] as one of names (index in *out), def when absent. */
static int get_enum(load_t *L, const aw_ynode_t *map, const char *path, const char *key,
                    const char *const *names, int def, int *out)
{
    const aw_ynode_t *v = get(map, key);
    *out = def;
    if (v == NULL)
        return AW_OK;
    char p[PATH_MAX_LEN], list[256], what[300];
    join_path(p, sizeof p, path, key);
    int i = v->kind == AW_YSCALAR ? in_list(names, v->text) : -1;
    if (i < 0 || v->len != strlen(v->text)) {
        join_list(names, list, sizeof list);
        snprintf(what, sizeof what, "one of %s", list);
        return expected(L, v, p, what);
    }
    *out = i;
    return AW_OK;
}

/* A string value (any non-null scalar) of at most size-1 bytes without NUL. */
static int read_string(load_t *L, const aw_ynode_t *v, const char *path, const char *what, char *out, size_t size)
{
    if (v->kind != AW_YSCALAR || v->len != strlen(v->text) || v->len >= size) {
        char w[128];
        snprintf(w, sizeof w, "%s of at most %zu bytes without NUL", what, size - 1);
        return expected(L, v, path, w);
    }
    memcpy(out, v->text, v->len + 1);
    return AW_OK;
}

static int get_path(load_t *L, const aw_ynode_t *map, const char *path, const char *key, char *out, size_t size)
{
    const aw_ynode_t *v = get(map, key);
    out[0] = '\0';
    if (v == NULL)
        return AW_OK;
    char p[PATH_MAX_LEN];
    join_path(p, sizeof p, path, key);
    return read_string(L, v, p, "a path", out, size);
}

static int name_char_ok(char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
        return 1;
    return !first && (c == '.' || c == ',' || c == '+' || c == '=' || c == '-');
}

/* ---- mappings: unknown and duplicate keys, keys for another variant ---- */

/* Checks every key of map: a scalar, one of known, not repeated. */
static int check_keys(load_t *L, const aw_ynode_t *map, const char *path, const char *const *known)
{
    for (int i = 0; i < map->n; i++) {
        const aw_ynode_t *k = map->keys[i];
        if (k->kind != AW_YSCALAR)
            return expected(L, k, path, "a key name");
        char p[PATH_MAX_LEN];
        join_path(p, sizeof p, path, k->text);
        if (in_list(known, k->text) < 0) {
            char list[512];
            join_list(known, list, sizeof list);
            return fail(L, k, p, "unknown key (expected one of %s)", list);
        }
        int first = aw_ynode_find(map, k->text);
        if (first < i) {
            const aw_ynode_t *f = map->keys[first];
            if (f->line > 0)
                return fail(L, k, p, "duplicate key (first given at line %d, column %d)", f->line, f->col);
            return fail(L, k, p, "duplicate key");
        }
    }
    return AW_OK;
}

/* Rejects keys of only_keys present in map when the variant (kind what, e.g.
 * "method iwae") is not the one they belong to (owner, e.g. "aiwae"). */
static int check_applies(load_t *L, const aw_ynode_t *map, const char *path, const char *const *only_keys,
                         int applies, const char *what, const char *owner)
{
    if (map == NULL || applies)
        return AW_OK;
    for (int i = 0; i < map->n; i++) {
        if (in_list(only_keys, map->keys[i]->text) < 0)
            continue;
        char p[PATH_MAX_LEN];
        join_path(p, sizeof p, path, map->keys[i]->text);
        return fail(L, map->keys[i], p, "does not apply to %s (only to %s)", what, owner);
    }
    return AW_OK;
}

/* map[key] as a section: NULL when absent or null, else a mapping whose keys
 * are checked against known. */
static int get_section(load_t *L, const aw_ynode_t *map, const char *path, const char *key,
                       const char *const *known, const aw_ynode_t **out)
{
    const aw_ynode_t *v = get(map, key);
    *out = NULL;
    if (v == NULL)
        return AW_OK;
    char p[PATH_MAX_LEN];
    join_path(p, sizeof p, path, key);
    if (v->kind != AW_YMAP)
        return expected(L, v, p, "a mapping");
    int rc = check_keys(L, v, p, known);
    if (rc == AW_OK)
        *out = v;
    return rc;
}

/* ---- resolution of one run ---- */

static void format_float(char out[32], float v);
static void fix_exponent(char *t, size_t size);

/* step_size {init, min, max, target_accept} with min <= init <= max. */
static int resolve_step(load_t *L, const aw_ynode_t *parent, const char *path, float dinit, float dmin, float dmax,
                        float *init, float *min, float *max, float *target)
{
    const aw_ynode_t *m, *ni, *nmin, *nmax;
    char p[PATH_MAX_LEN];
    join_path(p, sizeof p, path, "step_size");
    int rc = get_section(L, parent, path, "step_size", STEP_KEYS, &m);
    if (rc == AW_OK)
        rc = get_float(L, m, p, "init", GT0, dinit, init, &ni);
    if (rc == AW_OK)
        rc = get_float(L, m, p, "min", GT0, dmin, min, &nmin);
    if (rc == AW_OK)
        rc = get_float(L, m, p, "max", GT0, dmax, max, &nmax);
    if (rc == AW_OK)
        rc = get_float(L, m, p, "target_accept", UNIT_OPEN, 0.6f, target, NULL);
    if (rc != AW_OK)
        return rc;
    /* Blame a value the spec gave (the defaults are consistent). */
    char q[PATH_MAX_LEN], what[128], a[32], b[32];
    const aw_ynode_t *at;
    if (*min > *max) {
        at = nmax != NULL ? nmax : nmin;
        format_float(a, at == nmax ? *min : *max);
        snprintf(what, sizeof what, "a number %s %s (%s)", at == nmax ? ">=" : "<=", at == nmax ? "min" : "max", a);
        join_path(q, sizeof q, p, at == nmax ? "max" : "min");
        return expected(L, at, q, what);
    }
    if (*init < *min || *init > *max) {
        at = ni != NULL ? ni : *init < *min ? nmin : nmax;
        if (at == ni) {
            format_float(a, *min);
            format_float(b, *max);
            snprintf(what, sizeof what, "a number in [min, max] = [%s, %s]", a, b);
        } else {
            format_float(a, *init);
            snprintf(what, sizeof what, "a number %s init (%s)", at == nmin ? "<=" : ">=", a);
        }
        join_path(q, sizeof q, p, at == ni ? "init" : at == nmin ? "min" : "max");
        return expected(L, at, q, what);
    }
    return AW_OK;
}

static int resolve_dataset(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    const aw_ynode_t *d;
    int rc = get_section(L, root, "", "dataset", DATASET_KEYS, &d);
    int name;
    if (rc == AW_OK)
        rc = get_enum(L, d, "dataset", "name", DATASET_NAMES, 0, &name);
    if (rc != AW_OK)
        return rc;
    snprintf(s->dataset.name, sizeof s->dataset.name, "%s", DATASET_NAMES[name]);
    int idx = strcmp(DATASET_NAMES[name], "idx") == 0;
    char what[64];
    snprintf(what, sizeof what, "dataset %s", DATASET_NAMES[name]);
    rc = check_applies(L, d, "dataset", DATASET_IDX_KEYS, idx, what, "idx");
    if (rc == AW_OK)
        rc = get_path(L, d, "dataset", "dir", s->dataset.dir, sizeof s->dataset.dir);
    if (rc == AW_OK)
        rc = get_path(L, d, "dataset", "train_images", s->dataset.train_images, sizeof s->dataset.train_images);
    if (rc == AW_OK)
        rc = get_path(L, d, "dataset", "train_labels", s->dataset.train_labels, sizeof s->dataset.train_labels);
    if (rc == AW_OK)
        rc = get_path(L, d, "dataset", "test_images", s->dataset.test_images, sizeof s->dataset.test_images);
    if (rc == AW_OK)
        rc = get_path(L, d, "dataset", "test_labels", s->dataset.test_labels, sizeof s->dataset.test_labels);
    if (rc != AW_OK)
        return rc;
    if (idx && (s->dataset.train_images[0] == '\0' || s->dataset.test_images[0] == '\0'))
        return fail(L, d != NULL ? d : root, "dataset", "missing key %s (required for dataset idx)",
                    s->dataset.train_images[0] == '\0' ? "train_images" : "test_images");
    const aw_ynode_t *b = get(d, "binarize");
    snprintf(s->dataset.binarize, sizeof s->dataset.binarize, "dynamic");
    if (b != NULL) {
        const char *what_b = "dynamic, fixed or a number in (0, 1)";
        if (b->kind == AW_YSCALAR && (strcmp(b->text, "dynamic") == 0 || strcmp(b->text, "fixed") == 0)) {
            snprintf(s->dataset.binarize, sizeof s->dataset.binarize, "%s", b->text);
        } else {
            int kind = aw_ynode_number_kind(b);
            double t = kind != 0 && strpbrk(b->text, "nN") == NULL ? strtod(b->text, NULL) : NAN;
            if (!(t > 0.0 && t < 1.0))
                return expected(L, b, "dataset.binarize", what_b);
            /* Shortest text that reads back to the same double. */
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(s->dataset.binarize, sizeof s->dataset.binarize, "%.*g", prec, t);
                if (strtod(s->dataset.binarize, NULL) == t)
                    break;
            }
            fix_exponent(s->dataset.binarize, sizeof s->dataset.binarize);
        }
    }
    long long x;
    rc = get_int(L, d, "dataset", "train_size", 1, LONG_MAX, 0, &x);
    s->dataset.train_size = (long)x;
    if (rc == AW_OK)
        rc = get_int(L, d, "dataset", "test_size", 1, LONG_MAX, 0, &x);
    s->dataset.test_size = (long)x;
    return rc;
}

static int resolve_model(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    const aw_ynode_t *m;
    int rc = get_section(L, root, "", "model", MODEL_KEYS, &m);
    if (rc == AW_OK)
        rc = get_i32(L, m, "model", "latent", 1, 50, &s->model.latent);
    if (rc != AW_OK)
        return rc;
    const aw_ynode_t *h = get(m, "hidden");
    if (h == NULL) {
        s->model.n_hidden = 2;
        s->model.hidden[0] = s->model.hidden[1] = 200;
        return AW_OK;
    }
    if (h->kind != AW_YSEQ || h->n < 1 || h->n > AW_MAX_HIDDEN)
        return expected(L, h, "model.hidden", "a sequence of 1 to 4 integers >= 1");
    s->model.n_hidden = h->n;
    for (int i = 0; i < h->n; i++) {
        char p[64];
        long long x;
        snprintf(p, sizeof p, "model.hidden[%d]", i);
        rc = read_int(L, h->vals[i], p, 1, INT_MAX, &x);
        if (rc != AW_OK)
            return rc;
        s->model.hidden[i] = (int)x;
    }
    return AW_OK;
}

static int resolve_method(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    const aw_ynode_t *m;
    int name;
    int rc = get_section(L, root, "", "method", METHOD_KEYS, &m);
    if (rc == AW_OK)
        rc = get_enum(L, m, "method", "name", METHOD_NAMES, 2, &name);
    if (rc != AW_OK)
        return rc;
    const char *mn = METHOD_NAMES[name];
    snprintf(s->method.name, sizeof s->method.name, "%s", mn);
    int aiwae = strcmp(mn, "aiwae") == 0, vae = strcmp(mn, "vae") == 0;
    char what[64];
    snprintf(what, sizeof what, "method %s", mn);
    aw_method_cfg_t *c = &s->method.cfg;
    rc = check_applies(L, m, "method", METHOD_AIWAE_KEYS, aiwae, what, "aiwae");
    if (rc == AW_OK)
        rc = get_i32(L, m, "method", "samples", 1, vae ? 1 : 5, &c->samples);
    if (rc != AW_OK)
        return rc;
    if (vae && c->samples != 1) {
        const aw_ynode_t *v = get(m, "samples");
        return expected(L, v, "method.samples", "1 (method vae draws one sample)");
    }
    if (!aiwae)
        return AW_OK;
    rc = get_i32(L, m, "method", "temperatures", 2, 5, &c->temperatures);
    if (rc == AW_OK)
        rc = get_i32(L, m, "method", "leapfrog", 1, 5, &c->leapfrog);
    if (rc == AW_OK)
        rc = resolve_step(L, m, "method", 0.1f, 0.001f, 0.3f, &c->step_init, &c->step_min, &c->step_max,
                          &c->target_accept);
    return rc;
}

static int resolve_train(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    const aw_ynode_t *t, *a;
    int sched;
    int rc = get_section(L, root, "", "train", TRAIN_KEYS, &t);
    if (rc == AW_OK)
        rc = get_i32(L, t, "train", "epochs", 1, 3280, &s->train.epochs);
    if (rc == AW_OK)
        rc = get_i32(L, t, "train", "batch_size", 1, strcmp(s->method.name, "aiwae") == 0 ? 128 : 20,
                     &s->train.batch_size);
    if (rc == AW_OK)
        rc = get_float(L, t, "train", "learning_rate", GT0, 1.0e-3f, &s->train.learning_rate, NULL);
    if (rc == AW_OK)
        rc = get_enum(L, t, "train", "schedule", TRAIN_SCHEDULES, 0, &sched);
    if (rc != AW_OK)
        return rc;
    snprintf(s->train.schedule, sizeof s->train.schedule, "%s", TRAIN_SCHEDULES[sched]);
    aw_method_cfg_t *c = &s->method.cfg;
    rc = get_section(L, t, "train", "adam", ADAM_KEYS, &a);
    if (rc == AW_OK)
        rc = get_float(L, a, "train.adam", "beta1", UNIT_CLOSED_OPEN, 0.9f, &c->beta1, NULL);
    if (rc == AW_OK)
        rc = get_float(L, a, "train.adam", "beta2", UNIT_CLOSED_OPEN, 0.999f, &c->beta2, NULL);
    if (rc == AW_OK)
        rc = get_float(L, a, "train.adam", "eps", GT0, 1.0e-4f, &c->eps, NULL);
    if (rc == AW_OK)
        rc = get_i32(L, t, "train", "checkpoint_every", 1, 10, &s->train.checkpoint_every);
    if (rc == AW_OK)
        rc = get_i32(L, t, "train", "threads", 1, 2, &s->train.threads);
    return rc;
}

static int resolve_eval_entry(load_t *L, const aw_ynode_t *e, const char *path, aw_eval_spec_t *ev)
{
    if (e->kind != AW_YMAP)
        return expected(L, e, path, "a mapping with an estimator key");
    int rc = check_keys(L, e, path, EVAL_KEYS);
    if (rc != AW_OK)
        return rc;
    if (get(e, "estimator") == NULL)
        return fail(L, e, path, "missing key estimator (expected one of iwae_bound, ais_nll)");
    int est, split, sched;
    rc = get_enum(L, e, path, "estimator", ESTIMATOR_NAMES, 0, &est);
    if (rc != AW_OK)
        return rc;
    const char *en = ESTIMATOR_NAMES[est];
    snprintf(ev->estimator, sizeof ev->estimator, "%s", en);
    int ais = strcmp(en, "ais_nll") == 0;
    char what[64];
    snprintf(what, sizeof what, "estimator %s", en);
    rc = check_applies(L, e, path, EVAL_IWAE_KEYS, !ais, what, "iwae_bound");
    if (rc == AW_OK)
        rc = check_applies(L, e, path, EVAL_AIS_KEYS, ais, what, "ais_nll");
    if (rc == AW_OK)
        rc = get_enum(L, e, path, "split", SPLITS, 1, &split);
    if (rc != AW_OK)
        return rc;
    snprintf(ev->split, sizeof ev->split, "%s", SPLITS[split]);
    long long x;
    rc = get_int(L, e, path, "size", 1, LONG_MAX, 0, &x);
    ev->size = (long)x;
    aw_estimator_cfg_t *c = &ev->cfg;
    if (rc == AW_OK)
        rc = get_i32(L, e, path, "every", 1, 0, &ev->every);
    if (rc == AW_OK)
        rc = get_i32(L, e, path, "batch", 1, ais ? 256 : 32, &c->batch);
    if (rc != AW_OK)
        return rc;
    if (!ais)
        return get_i32(L, e, path, "samples", 1, 5000, &c->samples);
    rc = get_i32(L, e, path, "chains", 1, 16, &c->chains);
    if (rc == AW_OK)
        rc = get_i32(L, e, path, "temperatures", 2, 10000, &c->temperatures);
    if (rc == AW_OK)
        rc = get_i32(L, e, path, "leapfrog", 1, 10, &c->leapfrog);
    if (rc == AW_OK)
        rc = get_enum(L, e, path, "schedule", AIS_SCHEDULES, 0, &sched);
    if (rc != AW_OK)
        return rc;
    c->sigmoid = sched == 1;
    return resolve_step(L, e, path, 0.1f, 0.02f, 0.3f, &c->step_init, &c->step_min, &c->step_max,
                        &c->target_accept);
}

static int resolve_evaluate(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    const aw_ynode_t *v = get(root, "evaluate");
    aw_ynode_t *def = NULL;
    if (v == NULL) {
        int rc = aw_ytree_parse(DEFAULT_EVALUATE, strlen(DEFAULT_EVALUATE), DEFAULT_EVALUATE_ORIGIN, 0, &def,
                                L->err);
        if (rc != AW_OK)
            return rc;
        v = def;
    }
    int rc = AW_OK;
    if (v->kind != AW_YSEQ) {
        rc = expected(L, v, "evaluate", "a sequence of estimator entries");
    } else if (v->n > AW_MAX_EVAL) {
        rc = fail(L, v, "evaluate", "expected at most %d entries, found %d", AW_MAX_EVAL, v->n);
    } else {
        s->n_eval = v->n;
        for (int i = 0; i < v->n && rc == AW_OK; i++) {
            char p[32];
            snprintf(p, sizeof p, "evaluate[%d]", i);
            rc = resolve_eval_entry(L, v->vals[i], p, &s->eval[i]);
        }
    }
    aw_ynode_free(def);
    return rc;
}

/* Validates the tree of one run (sweep already removed) into s (zeroed by the
 * caller); default_name is used when the spec gives none. */
static int resolve(load_t *L, const aw_ynode_t *root, const char *default_name, aw_spec_t *s)
{
    int rc = check_keys(L, root, "", ROOT_KEYS);
    if (rc != AW_OK)
        return rc;
    const aw_ynode_t *n = get(root, "name");
    if (n != NULL) {
        rc = read_string(L, n, "name", "a name", s->name, AW_SPEC_NAME_MAX + 1);
        if (rc != AW_OK)
            return rc;
        if (s->name[0] == '\0')
            return expected(L, n, "name", "a non-empty name");
        for (size_t i = 0; s->name[i] != '\0'; i++)
            if (!name_char_ok(s->name[i], i == 0))
                return expected(L, n, "name",
                                "a name of letters, digits and . _ , + = - (starting with a letter, digit or _)");
    } else {
        snprintf(s->name, sizeof s->name, "%s", default_name);
    }
    const aw_ynode_t *sd = get(root, "seed");
    if (sd != NULL) {
        const char *what = "an integer in 0..18446744073709551615";
        if (aw_ynode_number_kind(sd) != 1 || sd->text[0] == '-')
            return expected(L, sd, "seed", what);
        errno = 0;
        unsigned long long x = strtoull(sd->text, NULL, 10);
        if (errno == ERANGE)
            return expected(L, sd, "seed", what);
        s->seed = (uint64_t)x;
    }
    rc = get_i32(L, root, "", "repeat", 0, 0, &s->repeat);
    if (rc == AW_OK)
        rc = resolve_dataset(L, root, s);
    if (rc == AW_OK)
        rc = resolve_model(L, root, s);
    if (rc == AW_OK)
        rc = resolve_method(L, root, s);
    if (rc == AW_OK)
        rc = resolve_train(L, root, s);
    if (rc == AW_OK)
        rc = resolve_evaluate(L, root, s);
    return rc;
}

/* ---- canonical text and identity ---- */

/* Shortest decimal that strtof reads back as v; "1.0e-05" rather than "1e-05"
 * so that YAML 1.1 readers also see a float. */
static void fix_exponent(char *t, size_t size)
{
    char *e = strchr(t, 'e');
    if (e != NULL && strchr(t, '.') == NULL && strlen(t) + 3 <= size) {
        memmove(e + 2, e, strlen(e) + 1);
        e[0] = '.', e[1] = '0';
    }
}

static void format_float(char out[32], float v)
{
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(out, 32, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v)
            break;
    }
    fix_exponent(out, 32);
}

static void put_float(aw_sbuf_t *b, const char *indent, const char *key, float v)
{
    char t[32];
    format_float(t, v);
    aw_sbuf_printf(b, "%s%s: %s\n", indent, key, t);
}

/* A free string, double-quoted with YAML escapes (reads back byte for byte). */
static void put_string(aw_sbuf_t *b, const char *indent, const char *key, const char *v)
{
    if (v[0] == '\0') {
        aw_sbuf_printf(b, "%s%s: ~\n", indent, key);
        return;
    }
    aw_sbuf_printf(b, "%s%s: \"", indent, key);
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            aw_sbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            aw_sbuf_printf(b, "\\x%02x", *p);
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* C1 controls, written raw libyaml rejects */
            aw_sbuf_printf(b, "\\x%02x", *++p);
        else
            aw_sbuf_printf(b, "%c", *p);
    }
    aw_sbuf_printf(b, "\"\n");
}

static void put_size(aw_sbuf_t *b, const char *indent, const char *key, long v)
{
    if (v == 0)
        aw_sbuf_printf(b, "%s%s: ~\n", indent, key);
    else
        aw_sbuf_printf(b, "%s%s: %ld\n", indent, key, v);
}

static void put_step(aw_sbuf_t *b, const char *indent, float init, float min, float max, float target)
{
    char in2[16];
    snprintf(in2, sizeof in2, "%s  ", indent);
    aw_sbuf_printf(b, "%sstep_size:\n", indent);
    put_float(b, in2, "init", init);
    put_float(b, in2, "min", min);
    put_float(b, in2, "max", max);
    put_float(b, in2, "target_accept", target);
}

/* The canonical text of s; with identity != 0 without name and train.threads. */
static char *write_canonical(const aw_spec_t *s, int identity)
{
    aw_sbuf_t b = {0};
    if (!identity)
        put_string(&b, "", "name", s->name);
    aw_sbuf_printf(&b, "seed: %" PRIu64 "\nrepeat: %d\n", s->seed, s->repeat);
    aw_sbuf_printf(&b, "dataset:\n  name: %s\n", s->dataset.name);
    put_string(&b, "  ", "dir", s->dataset.dir);
    if (strcmp(s->dataset.name, "idx") == 0) {
        put_string(&b, "  ", "train_images", s->dataset.train_images);
        put_string(&b, "  ", "train_labels", s->dataset.train_labels);
        put_string(&b, "  ", "test_images", s->dataset.test_images);
        put_string(&b, "  ", "test_labels", s->dataset.test_labels);
    }
    aw_sbuf_printf(&b, "  binarize: %s\n", s->dataset.binarize);
    put_size(&b, "  ", "train_size", s->dataset.train_size);
    put_size(&b, "  ", "test_size", s->dataset.test_size);
    aw_sbuf_printf(&b, "model:\n  latent: %d\n  hidden: [", s->model.latent);
    for (int i = 0; i < s->model.n_hidden; i++)
        aw_sbuf_printf(&b, "%s%d", i ? ", " : "", s->model.hidden[i]);
    const aw_method_cfg_t *c = &s->method.cfg;
    aw_sbuf_printf(&b, "]\nmethod:\n  name: %s\n  samples: %d\n", s->method.name, c->samples);
    if (strcmp(s->method.name, "aiwae") == 0) {
        aw_sbuf_printf(&b, "  temperatures: %d\n  leapfrog: %d\n", c->temperatures, c->leapfrog);
        put_step(&b, "  ", c->step_init, c->step_min, c->step_max, c->target_accept);
    }
    aw_sbuf_printf(&b, "train:\n  epochs: %d\n  batch_size: %d\n", s->train.epochs, s->train.batch_size);
    put_float(&b, "  ", "learning_rate", s->train.learning_rate);
    aw_sbuf_printf(&b, "  schedule: %s\n  adam:\n", s->train.schedule);
    put_float(&b, "    ", "beta1", c->beta1);
    put_float(&b, "    ", "beta2", c->beta2);
    put_float(&b, "    ", "eps", c->eps);
    aw_sbuf_printf(&b, "  checkpoint_every: %d\n", s->train.checkpoint_every);
    if (!identity)
        aw_sbuf_printf(&b, "  threads: %d\n", s->train.threads);
    aw_sbuf_printf(&b, "evaluate:%s\n", s->n_eval == 0 ? " []" : "");
    for (int i = 0; i < s->n_eval; i++) {
        const aw_eval_spec_t *e = &s->eval[i];
        aw_sbuf_printf(&b, "  - estimator: %s\n    split: %s\n", e->estimator, e->split);
        put_size(&b, "    ", "size", e->size);
        put_size(&b, "    ", "every", e->every);
        aw_sbuf_printf(&b, "    batch: %d\n", e->cfg.batch);
        if (strcmp(e->estimator, "ais_nll") == 0) {
            aw_sbuf_printf(&b, "    chains: %d\n    temperatures: %d\n    leapfrog: %d\n    schedule: %s\n",
                      e->cfg.chains, e->cfg.temperatures, e->cfg.leapfrog, e->cfg.sigmoid ? "sigmoid" : "linear");
            put_step(&b, "    ", e->cfg.step_init, e->cfg.step_min, e->cfg.step_max, e->cfg.target_accept);
        } else {
            aw_sbuf_printf(&b, "    samples: %d\n", e->cfg.samples);
        }
    }
    return aw_sbuf_finish(&b);
}

/* Fills s->canonical and s->identity. */
static int finish(load_t *L, aw_spec_t *s)
{
    char *id = write_canonical(s, 1);
    s->canonical = write_canonical(s, 0);
    if (id == NULL || s->canonical == NULL) {
        free(id);
        free(s->canonical);
        s->canonical = NULL;
        return oom(L);
    }
    aw_sha256_hex(id, strlen(id), s->identity);
    free(id);
    return AW_OK;
}

/* ---- key paths and tree edits (--set and sweep) ---- */

static int key_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Parses text[len] as a KEY.PATH: segments joined by ".", each a key of
 * [A-Za-z0-9_] optionally followed by [N] indexes, or a bare index N. After a
 * leading "sweep." the rest is one key. Returns 0, or -1 when malformed. */
static int parse_path(const char *text, size_t len, kpath_t *p)
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
        if (j == i || j - i >= sizeof p->key[0] || p->n >= MAX_SEGS)
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
            if (k == j + 1 || k - j - 1 > 6 || k >= len || text[k] != ']' || p->n >= MAX_SEGS)
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
static int set_path(load_t *L, aw_ynode_t *root, const kpath_t *p, aw_ynode_t *value, const aw_ynode_t *at)
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
                rc = fail(L, at, so_far, "expected a mapping (to hold key %s), found %s", p->key[k], found);
                goto out;
            }
            int i = aw_ynode_find(cur, p->key[k]);
            aw_ynode_t *child = NULL;
            if (!last) {
                int is_eval = cur == root && strcmp(p->key[k], "evaluate") == 0 && next_is_index;
                if (i < 0 || aw_ynode_is_null(cur->vals[i])) {
                    if (is_eval) {
                        rc = aw_ytree_parse(DEFAULT_EVALUATE, strlen(DEFAULT_EVALUATE), DEFAULT_EVALUATE_ORIGIN,
                                            0, &child, L->err);
                        if (rc != AW_OK)
                            goto out;
                    } else {
                        child = aw_ynode_new(AW_YMAP, at->origin, at->line, at->col);
                        if (child == NULL) {
                            rc = oom(L);
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
                        rc = oom(L);
                        goto out;
                    }
                    if (aw_ynode_append(cur, key, child) != AW_OK) {
                        rc = oom(L);
                        goto out;
                    }
                    i = cur->n - 1;
                }
            }
            cur = cur->vals[i];
            char tmp[PATH_MAX_LEN];
            join_path(tmp, sizeof tmp, so_far, p->key[k]);
            memcpy(so_far, tmp, sizeof so_far);
        } else {
            if (cur->kind != AW_YSEQ) {
                char found[256];
                aw_ynode_describe(cur, found, sizeof found);
                rc = fail(L, at, so_far, "expected a sequence (to index [%d]), found %s", p->index[k], found);
                goto out;
            }
            if (p->index[k] >= cur->n) {
                rc = fail(L, at, so_far, "expected an index below %d, found [%d]", cur->n, p->index[k]);
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
static int apply_override(load_t *L, aw_ynode_t *root, const char *arg)
{
    char label[1200];
    snprintf(label, sizeof label, "--set %.1000s%s", arg, strlen(arg) > 1000 ? "..." : "");
    const char *origin = add_origin(L, label);
    if (origin == NULL)
        return oom(L);
    const char *eq = strchr(arg, '=');
    kpath_t p;
    if (eq == NULL || parse_path(arg, (size_t)(eq - arg), &p) != 0)
        return aw_error_set(L->err, AW_ESPEC,
                            "%s: expected KEY.PATH=VALUE with KEY.PATH like method.samples or evaluate[0].size",
                            origin);
    aw_ynode_t *value;
    int rc = aw_ytree_parse(eq + 1, strlen(eq + 1), origin, 0, &value, L->err);
    if (rc != AW_OK)
        return rc;
    if (value == NULL && (value = aw_ynode_new_scalar("", 0, 0, origin, 0, 0)) == NULL)
        return oom(L);
    aw_ynode_t at = {.kind = AW_YSCALAR, .origin = origin};
    return set_path(L, root, &p, value, &at);
}

/* ---- sweep ---- */

/* One sweep key with its values. */
typedef struct sweep_key {
    kpath_t path;            /* where values go */
    const aw_ynode_t *key;   /* borrowed: the key node (locates created nodes) */
    const aw_ynode_t *vals;  /* borrowed: the sequence of values */
} sweep_key_t;

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
static void default_name(const char *label, char *out, size_t size)
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
        out[i] = name_char_ok(base[i], i == 0) ? base[i] : '_';
    out[n < size ? n : size - 1] = '\0';
}

/* Reads the sweep mapping of root into keys[*nk] and removes it from root. */
static int take_sweep(load_t *L, aw_ynode_t *root, sweep_key_t **keys, int *nk, aw_ynode_t **sweep, long *nruns)
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
        return expected(L, sw, "sweep", "a mapping of KEY.PATH: [values]");
    if (sw->n == 0)
        return AW_OK;
    *keys = calloc((size_t)sw->n, sizeof **keys);
    if (*keys == NULL)
        return oom(L);
    for (int k = 0; k < sw->n; k++) {
        const aw_ynode_t *kn = sw->keys[k], *vn = sw->vals[k];
        sweep_key_t *sk = &(*keys)[k];
        if (kn->kind != AW_YSCALAR || parse_path(kn->text, kn->len, &sk->path) != 0)
            return expected(L, kn, "sweep", "a KEY.PATH like method.samples or evaluate[0].size");
        char p[PATH_MAX_LEN];
        join_path(p, sizeof p, "sweep", kn->text);
        if (sk->path.index[0] < 0 && (strcmp(sk->path.key[0], "sweep") == 0 || strcmp(sk->path.key[0], "name") == 0))
            return fail(L, kn, p, "cannot be swept (sweep a key that changes the run)");
        for (int j = 0; j < k; j++)
            if (strcmp((*keys)[j].path.dotted, sk->path.dotted) == 0)
                return fail(L, kn, p, "duplicate key (the same path as %s)", sw->keys[j]->text);
        if (vn->kind != AW_YSEQ || vn->n == 0)
            return expected(L, vn, p, "a non-empty sequence of values");
        sk->key = kn;
        sk->vals = vn;
        *nk = k + 1;
        *nruns *= vn->n;
        if (*nruns > AW_SPEC_MAX_RUNS)
            return fail(L, sw, "sweep", "expected at most %d runs, found more", AW_SPEC_MAX_RUNS);
    }
    return AW_OK;
}

/* Builds run r of the sweep (odometer, first key slowest) into s. */
static int make_run(load_t *L, const aw_ynode_t *root, const sweep_key_t *keys, int nk, long r, const char *base,
                    aw_spec_t *s)
{
    aw_ynode_t *t = aw_ynode_copy(root);
    if (t == NULL)
        return oom(L);
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
            rc = oom(L);
            break;
        }
        rc = set_path(L, t, &keys[k].path, c, keys[k].key);
        aw_sbuf_printf(&suffix, "-%s=", keys[k].path.dotted);
        value_text(&suffix, v);
    }
    if (rc == AW_OK && suffix.oom)
        rc = oom(L);
    if (rc == AW_OK)
        rc = resolve(L, t, base, s);
    if (rc == AW_OK && nk > 0) {
        for (char *q = suffix.p; *q != '\0'; q++)
            if (!name_char_ok(*q, 0))
                *q = '_';
        size_t n = strlen(s->name);
        if (n + suffix.n >= sizeof s->name) {
            const aw_ynode_t *sw = keys[0].key;
            rc = fail(L, sw, "sweep", "expected run names of at most %zu bytes, found %zu (%s%s); shorten name",
                      sizeof s->name - 1, n + suffix.n, s->name, suffix.p);
        } else {
            memcpy(s->name + n, suffix.p, suffix.n + 1);
        }
    }
    if (rc == AW_OK)
        rc = finish(L, s);
    aw_sbuf_fini(&suffix);
    aw_ynode_free(t);
    return rc;
}

/* ---- public API ---- */

void aw_spec_fini(aw_spec_t *s)
{
    if (s == NULL)
        return;
    free(s->canonical);
    s->canonical = NULL;
}

void aw_spec_list_fini(aw_spec_list_t *list)
{
    if (list == NULL)
        return;
    for (int i = 0; i < list->n; i++)
        aw_spec_fini(&list->runs[i]);
    free(list->runs);
    list->runs = NULL;
    list->n = 0;
}

int aw_spec_copy(aw_spec_t *dst, const aw_spec_t *src, aw_error_t *err)
{
    memcpy(dst, src, sizeof *dst);
    dst->canonical = NULL;
    if (src->canonical != NULL && (dst->canonical = strdup(src->canonical)) == NULL)
        return aw_error_set(err, AW_ENOMEM, "out of memory copying spec %s", src->name);
    return AW_OK;
}

/* Loads from text with label; name_from gives the default name. */
static int load_text(const char *yaml, size_t len, const char *label, const char *const *overrides,
                     int n_overrides, aw_spec_list_t *out, aw_error_t *err)
{
    out->n = 0;
    out->runs = NULL;
    load_t L = {.err = err};
    aw_ynode_t *root = NULL, *sweep = NULL;
    sweep_key_t *keys = NULL;
    int nk = 0;
    long nruns = 1;
    char base[AW_SPEC_NAME_MAX + 1];
    default_name(label, base, sizeof base);
    int rc = aw_ytree_parse(yaml, len, label, 1, &root, err);
    if (rc != AW_OK)
        goto done;
    if (root == NULL || aw_ynode_is_null(root)) {
        aw_ynode_free(root);
        if ((root = aw_ynode_new(AW_YMAP, label, 1, 1)) == NULL) {
            rc = oom(&L);
            goto done;
        }
    }
    if (root->kind != AW_YMAP) {
        rc = expected(&L, root, "", "a mapping of spec keys");
        goto done;
    }
    rc = check_keys(&L, root, "", ROOT_KEYS);
    for (int i = 0; i < n_overrides && rc == AW_OK; i++)
        rc = apply_override(&L, root, overrides[i]);
    if (rc == AW_OK)
        rc = take_sweep(&L, root, &keys, &nk, &sweep, &nruns);
    if (rc != AW_OK)
        goto done;
    out->runs = calloc((size_t)nruns, sizeof *out->runs);
    if (out->runs == NULL) {
        rc = oom(&L);
        goto done;
    }
    for (long r = 0; r < nruns && rc == AW_OK; r++) {
        rc = make_run(&L, root, keys, nk, r, base, &out->runs[r]);
        snprintf(out->runs[r].source, sizeof out->runs[r].source, "%s", label);
        out->n = (int)r + 1; /* so that a failed run's canonical (NULL) is finalized too */
    }
    /* Distinct runs must be distinct experiments. */
    for (int i = 0; i < out->n && rc == AW_OK; i++)
        for (int j = 0; j < i && rc == AW_OK; j++)
            if (strcmp(out->runs[i].identity, out->runs[j].identity) == 0)
                rc = fail(&L, sweep, "sweep",
                          "expected every run to be a different experiment, found %s and %s identical "
                          "(identity %.12s...); do not sweep train.threads and give each value once",
                          out->runs[j].name, out->runs[i].name, out->runs[i].identity);
done:
    if (rc != AW_OK)
        aw_spec_list_fini(out);
    free(keys);
    aw_ynode_free(sweep);
    aw_ynode_free(root);
    for (int i = 0; i < L.n_origins; i++)
        free(L.origins[i]);
    free(L.origins);
    return rc;
}

int aw_spec_load_string(const char *yaml, const char *label, const char *const *overrides, int n_overrides,
                        aw_spec_list_t *out, aw_error_t *err)
{
    return load_text(yaml, strlen(yaml), label, overrides, n_overrides, out, err);
}

int aw_spec_load(const char *path, const char *const *overrides, int n_overrides, aw_spec_list_t *out,
                 aw_error_t *err)
{
    out->n = 0;
    out->runs = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return aw_error_set(err, AW_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = AW_OK;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8192;
            char *b = realloc(buf, cap);
            if (b == NULL) {
                rc = aw_error_set(err, AW_ENOMEM, "%s: out of memory reading the spec", path);
                break;
            }
            buf = b;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f))
                rc = aw_error_set(err, AW_EIO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc == AW_OK)
        rc = load_text(buf, n, path, overrides, n_overrides, out, err);
    free(buf);
    return rc;
}

int aw_spec_from_canonical(const char *yaml, const char *label, aw_spec_t *out, aw_error_t *err)
{
    aw_spec_list_t list;
    memset(out, 0, sizeof *out);
    int rc = aw_spec_load_string(yaml, label, NULL, 0, &list, err);
    if (rc != AW_OK)
        return rc;
    if (list.n != 1) {
        rc = aw_error_set(err, AW_ESPEC, "%s: expected one run, found a sweep of %d", label, list.n);
        aw_spec_list_fini(&list);
        return rc;
    }
    *out = list.runs[0];
    free(list.runs);
    return AW_OK;
}
