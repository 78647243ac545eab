/* schema.c: the spec's own keys as tables (root, dataset, model, method, train, evaluate), and resolving
 * one run's tree into an aw_spec_t through them and through the tables of the method and estimator
 * plugins (load.h). Every default, range and doc of a key lives in exactly one table row. */
#include "spec/load.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "data/data.h"
#include "methods/plugin.h"
#include "spec/schema.h"
#include "util/fmtnum.h"
#include "util/io.h"
#include "util/sha256.h"

#define MAX_KEYS 32 /* keys of one table */

const char AW_SPEC_DEFAULT_EVALUATE_ORIGIN[] = "(default evaluate list)";

const char *aw_spec_default_evaluate(void)
{
    static char text[2048];
    if (text[0] == '\0') {
        size_t o = (size_t)snprintf(text, sizeof text, "[");
        for (int i = 0, k = 0; aw_estimator_at(i) != NULL && o < sizeof text; i++)
            if (aw_estimator_at(i)->default_entry != NULL)
                o += (size_t)snprintf(text + o, sizeof text - o, "%s%s", k++ ? ", " : "",
                                      aw_estimator_at(i)->default_entry);
        if (o < sizeof text)
            snprintf(text + o, sizeof text - o, "]");
    }
    return text;
}

int aw_spec_parse_default_evaluate(aw_ynode_t **out, aw_error_t *err)
{
    const char *t = aw_spec_default_evaluate();
    return aw_ytree_parse(t, strlen(t), AW_SPEC_DEFAULT_EVALUATE_ORIGIN, 0, out, err);
}

static const char *default_method(void)
{
    return aw_method_default()->name;
}

const char *const AW_SPEC_ROOT_KEYS[] = {"name", "seed", "repeat", "dataset", "model", "method",
                                         "train", "evaluate", "sweep", NULL};

static const char *const SPLITS[] = {"train", "test", NULL};
static const char *const TRAIN_SCHEDULES[] = {"burda", "constant", NULL};
static const char *const BINARIZE_WORDS[] = {"dynamic", "fixed", NULL};

#define S_(f) offsetof(aw_spec_t, f)
#define E_(f) offsetof(aw_eval_spec_t, f)

static const aw_key_t ROOT[] = {
    {.key = "name", .type = AW_KEY_CUSTOM, .def = "the spec file's base name",
     .expect = "1..255 of [A-Za-z0-9._,+=-], first [A-Za-z0-9_]",
     .doc = "label of the run (not in its identity); a sweep appends -KEY.PATH=VALUE per swept key",
     .offset = S_(name)},
    {.key = "seed", .type = AW_KEY_U64, .def = "0", .identity = 1, .doc = "seed of the run's random numbers",
     .offset = S_(seed)},
    {.key = "repeat", .type = AW_KEY_INT, .def = "0", .lo = 0, .identity = 1,
     .doc = "replicate index: runs that differ only in seed or repeat are replicates", .offset = S_(repeat)},
    {0}};

static const aw_key_t DATASET[] = {
    {.key = "name", .type = AW_KEY_TEXT, .def = "mnist", .words_fn = aw_dataset_names, .cap = 32,
     .identity = 1, .doc = "which data set", .offset = S_(dataset.name)},
    {.key = "dir", .type = AW_KEY_TEXT, .def = "~", .cap = 4096, .identity = 1,
     .doc = "directory of the data files; ~: $AIWAE_DATA_DIR, then data/", .offset = S_(dataset.dir)},
    {.key = "train_images", .type = AW_KEY_TEXT, .def = "~", .cap = 4096, .only = "idx", .required = 1,
     .identity = 1, .doc = "IDX file of the training images", .offset = S_(dataset.train_images)},
    {.key = "train_labels", .type = AW_KEY_TEXT, .def = "~", .cap = 4096, .only = "idx", .identity = 1,
     .doc = "IDX file of the training labels", .offset = S_(dataset.train_labels)},
    {.key = "test_images", .type = AW_KEY_TEXT, .def = "~", .cap = 4096, .only = "idx", .required = 1,
     .identity = 1, .doc = "IDX file of the test images", .offset = S_(dataset.test_images)},
    {.key = "test_labels", .type = AW_KEY_TEXT, .def = "~", .cap = 4096, .only = "idx", .identity = 1,
     .doc = "IDX file of the test labels", .offset = S_(dataset.test_labels)},
    {.key = "binarize", .type = AW_KEY_CUSTOM, .def = "dynamic", .words = BINARIZE_WORDS,
     .expect = "dynamic, fixed or a number in (0, 1)", .identity = 1,
     .doc = "dynamic (a new Bernoulli draw per use), fixed (one draw per image) or a threshold",
     .offset = S_(dataset.binarize)},
    {.key = "train_size", .type = AW_KEY_SIZE, .def = "~", .lo = 1, .identity = 1,
     .doc = "train on the first N training points; ~: all", .offset = S_(dataset.train_size)},
    {.key = "test_size", .type = AW_KEY_SIZE, .def = "~", .lo = 1, .identity = 1,
     .doc = "use the first N test points; ~: all", .offset = S_(dataset.test_size)},
    {0}};

/* model.hidden's expect text spells these out. */
_Static_assert(AW_MAX_WIDTH == 65536 && AW_MAX_HIDDEN == 4, "update model.hidden's expect text");
static const aw_key_t MODEL[] = {
    {.key = "latent", .type = AW_KEY_INT, .def = "50", .lo = 1, .hi = AW_MAX_WIDTH, .identity = 1, .doc = "H, latent units",
     .offset = S_(model.latent)},
    {.key = "hidden", .type = AW_KEY_CUSTOM, .def = "[200, 200]", .expect = "a sequence of 1 to 4 integers in 1..65536",
     .identity = 1, .doc = "widths of each network's tanh layers (the decoder uses them in reverse)",
     .offset = S_(model.hidden)},
    {.key = "init", .type = AW_KEY_TEXT, .def = "~", .cap = 4096, .identity = 0, .omit_default = 1,
     .doc = "safetensors file (original state-dict names, as aiwae-report --export writes) the parameters "
            "start from; ~: random (docs/evaluate-your-model.md)",
     .offset = S_(model.init)},
    {.key = "init_sha256", .type = AW_KEY_TEXT, .def = "~", .cap = 65, .identity = 1, .omit_default = 1,
     .expect = "64 lowercase hex digits",
     .doc = "SHA-256 of model.init (64 hex digits), computed when the spec resolves; given, the run checks it",
     .offset = S_(model.init_sha256)},
    {0}};

static const aw_key_t METHOD[] = {
    {.key = "name", .type = AW_KEY_TEXT, .def_fn = default_method, .words_fn = aw_method_names, .cap = 32, .identity = 1,
     .doc = "training method; its own keys follow", .offset = S_(method.name)},
    {0}};

#define EPOCHS_EXPECT "an integer >= 1 (0 only with model.init)"
static const aw_key_t TRAIN[] = {
    {.key = "epochs", .type = AW_KEY_INT, .def = "3280", .lo = 0, .identity = 1, .expect = EPOCHS_EXPECT,
     .doc = "epochs to train (Burda's schedule has 3280); 0 with model.init: evaluate it only",
     .offset = S_(train.epochs)},
    {.key = "batch_size", .type = AW_KEY_INT, .def = NULL, .lo = 1, .identity = 1,
     .doc = "B, points per minibatch; the default is the method's", .offset = S_(train.batch_size)},
    {.key = "learning_rate", .type = AW_KEY_FLOAT, .def = "0.001", .range = AW_GT0, .identity = 1,
     .doc = "base learning rate", .offset = S_(train.learning_rate)},
    {.key = "schedule", .type = AW_KEY_TEXT, .def = "burda", .words = TRAIN_SCHEDULES, .cap = 16, .identity = 1,
     .doc = "burda: 3^i epochs at rate * 10^(-i/7), i = 0..7; constant: the base rate throughout",
     .offset = S_(train.schedule)},
    {.key = "adam.beta1", .type = AW_KEY_FLOAT, .def = "0.9", .range = AW_UNIT_CO, .identity = 1,
     .doc = "Adam's first-moment decay", .offset = S_(train.adam.beta1)},
    {.key = "adam.beta2", .type = AW_KEY_FLOAT, .def = "0.999", .range = AW_UNIT_CO, .identity = 1,
     .doc = "Adam's second-moment decay", .offset = S_(train.adam.beta2)},
    {.key = "adam.eps", .type = AW_KEY_FLOAT, .def = "0.0001", .range = AW_GT0, .identity = 1,
     .doc = "Adam's epsilon", .offset = S_(train.adam.eps)},
    {.key = "checkpoint_every", .type = AW_KEY_OPTINT, .def = "~", .lo = 1, .identity = 0,
     .doc = "also keep every N-th epoch's checkpoint; ~: only the default set (the last epoch, the ends of "
            "the schedule's stages, epochs with an `every` evaluation due; docs/cli.md#disk-use)",
     .offset = S_(train.checkpoint_every)},
    {.key = "threads", .type = AW_KEY_INT, .def = "2", .lo = 1, .hi = AW_MAX_THREADS, .identity = 0,
     .doc = "OpenMP threads (results do not depend on them)", .offset = S_(train.threads)},
    {0}};

static const aw_key_t EVAL[] = {
    {.key = "estimator", .type = AW_KEY_TEXT, .def = NULL, .words_fn = aw_estimator_names, .cap = 32,
     .required = 1, .identity = 1, .doc = "which estimator; its own keys follow", .offset = E_(estimator)},
    {.key = "split", .type = AW_KEY_TEXT, .def = "test", .words = SPLITS, .cap = 8, .identity = 1,
     .doc = "data split evaluated", .offset = E_(split)},
    {.key = "size", .type = AW_KEY_SIZE, .def = "~", .lo = 1, .identity = 1,
     .doc = "evaluate the first N points of the split; ~: all of it", .offset = E_(size)},
    {.key = "every", .type = AW_KEY_OPTINT, .def = "~", .lo = 1, .identity = 1,
     .doc = "also evaluate every N epochs; ~: only after the last epoch", .offset = E_(every)},
    {.key = "batch", .type = AW_KEY_INT, .def = NULL, .lo = 1, .identity = 1,
     .doc = "points processed together (memory and speed, not the result); the default is the estimator's",
     .offset = E_(batch)},
    {.key = "shards", .type = AW_KEY_INT, .def = "1", .lo = 1, .hi = 100000, .identity = 0,
     .doc = "cluster mode: the final evaluation as N tasks of whole batches of points (the same values; not in "
            "the settings string)",
     .offset = E_(shards)},
    {0}};

const aw_spec_section_t AW_SPEC_SECTIONS[] = {
    {"", "the run", ROOT},
    {"dataset", "the data and its binarization", DATASET},
    {"model", "the network shape", MODEL},
    {"method", "the training method", METHOD},
    {"train", "the optimizer and its schedule", TRAIN},
    {"evaluate[]", "each entry of the evaluate list", EVAL},
    {NULL, NULL, NULL}};

/* ---- key-name lists ---- */

/* Names of a section's direct keys ("step_size" for "step_size.init"), in order, without repeats. */
typedef struct names {
    int n;
    char s[MAX_KEYS * 2][32];
    const char *p[MAX_KEYS * 2 + 1]; /* NULL-terminated view of s */
} names_t;

static size_t prefix_len(const char *key)
{
    const char *dot = strchr(key, '.');
    return dot != NULL ? (size_t)(dot - key) + 1 : 0;
}

static void names_add(names_t *nm, const char *name, size_t len)
{
    for (int i = 0; i < nm->n; i++)
        if (strlen(nm->s[i]) == len && strncmp(nm->s[i], name, len) == 0)
            return;
    if (nm->n >= MAX_KEYS * 2 || len >= sizeof nm->s[0])
        return;
    memcpy(nm->s[nm->n], name, len);
    nm->s[nm->n][len] = '\0';
    nm->p[nm->n] = nm->s[nm->n];
    nm->p[++nm->n] = NULL;
}

/* Adds the direct key names of keys[n] (prefix NULL), or the nested names under "prefix.". */
static void names_of(names_t *nm, const aw_key_t *keys, int n, const char *prefix)
{
    size_t want = prefix != NULL ? strlen(prefix) : 0;
    for (int i = 0; i < n; i++) {
        const char *k = keys[i].key;
        size_t pl = prefix_len(k);
        if (prefix == NULL)
            names_add(nm, k, pl > 0 ? pl - 1 : strlen(k));
        else if (pl == want + 1 && strncmp(k, prefix, want) == 0)
            names_add(nm, k + pl, strlen(k + pl));
    }
}

/* ---- reading keys through a table ---- */

/* Reads CUSTOM key k from v (NULL when absent) into base. */
typedef int (*custom_fn)(load_t *L, const aw_key_t *k, const aw_ynode_t *v, const aw_ynode_t *map,
                         const char *path, void *base, const void *ctx);

static int read_u64(load_t *L, const aw_ynode_t *v, const char *path, const aw_key_t *k, uint64_t *out)
{
    char what[128];
    aw_key_accepts(k, what, sizeof what);
    if (aw_ynode_number_kind(v) != 1 || v->text[0] == '-')
        return aw_spec_expected(L, v, path, what);
    errno = 0;
    unsigned long long x = strtoull(v->text, NULL, 10);
    if (errno == ERANGE)
        return aw_spec_expected(L, v, path, what);
    *out = (uint64_t)x;
    return AW_OK;
}

/* Reads v as key k's value into the struct at base. */
static int read_value(load_t *L, const aw_key_t *k, const aw_ynode_t *v, const char *path, void *base)
{
    char *p = (char *)base + k->offset;
    long long x;
    int rc = AW_OK, w;
    switch (k->type) {
    case AW_KEY_INT:
    case AW_KEY_OPTINT:
        rc = aw_spec_read_int(L, v, path, k->lo, k->hi ? k->hi : INT_MAX, k->expect, &x);
        if (rc == AW_OK)
            *(int *)(void *)p = (int)x;
        return rc;
    case AW_KEY_SIZE:
        rc = aw_spec_read_int(L, v, path, k->lo, k->hi ? k->hi : LONG_MAX, k->expect, &x);
        if (rc == AW_OK)
            *(long *)(void *)p = (long)x;
        return rc;
    case AW_KEY_FLOAT:
        return aw_spec_read_float(L, v, path, k, (float *)(void *)p);
    case AW_KEY_WORD:
        return aw_spec_read_word(L, v, path, aw_key_words(k), (int *)(void *)p);
    case AW_KEY_TEXT:
        if (aw_key_words(k) == NULL)
            return aw_spec_read_string(L, v, path, "a path", p, k->cap);
        rc = aw_spec_read_word(L, v, path, aw_key_words(k), &w);
        if (rc == AW_OK)
            snprintf(p, k->cap, "%s", aw_key_words(k)[w]);
        return rc;
    case AW_KEY_U64:
        return read_u64(L, v, path, k, (uint64_t *)(void *)p);
    case AW_KEY_CUSTOM:
        break;
    }
    return aw_error_set(L->err, AW_EARG, "%s: a custom key read as a plain one", path);
}

/* Reads keys[0..n) from map (NULL: every key takes its default) at path into base; given[i] = 1 when key i
 * was in the spec. Keys for another variant are skipped (the caller rejected them); nested keys are read
 * from their sub-mapping, whose keys are checked. A key whose default is NULL keeps what base holds. */
static int read_keys(load_t *L, const aw_ynode_t *map, const char *path, const aw_key_t *keys, int n,
                     const char *variant, void *base, unsigned char *given, custom_fn custom, const void *ctx)
{
    const aw_ynode_t *sub = NULL;
    const char *open = NULL;
    char subpath[PATH_MAX_LEN];
    for (int i = 0; i < n; i++) {
        const aw_key_t *k = &keys[i];
        given[i] = 0;
        if (k->only != NULL && (variant == NULL || strcmp(k->only, variant) != 0))
            continue;
        size_t pl = prefix_len(k->key);
        const aw_ynode_t *m = map;
        const char *at = path;
        if (pl > 0) {
            if (open == NULL || strncmp(open, k->key, pl) != 0) {
                char prefix[64];
                snprintf(prefix, sizeof prefix, "%.*s", (int)(pl - 1), k->key);
                names_t nm = {0};
                names_of(&nm, keys, n, prefix);
                aw_spec_join_path(subpath, sizeof subpath, path, prefix);
                int rc = aw_spec_get_section(L, map, path, prefix, nm.p, &sub);
                if (rc != AW_OK)
                    return rc;
                open = k->key;
            }
            m = sub;
            at = subpath;
        }
        const aw_ynode_t *v = aw_spec_get(m, k->key + pl);
        char kp[PATH_MAX_LEN];
        aw_spec_join_path(kp, sizeof kp, at, k->key + pl);
        given[i] = v != NULL;
        int rc;
        if (k->type == AW_KEY_CUSTOM)
            rc = custom(L, k, v, map, kp, base, ctx);
        else if (v != NULL)
            rc = read_value(L, k, v, kp, base);
        else {
            const char *def = k->def != NULL ? k->def : k->def_fn != NULL ? k->def_fn() : NULL;
            rc = def == NULL || aw_key_set_text(k, base, def) == 0
                     ? AW_OK
                     : aw_error_set(L->err, AW_EARG, "%s: bad default %s in its key table", kp, def);
        }
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

/* The value node of key (maybe nested) in map, or NULL. */
static const aw_ynode_t *node_of(const aw_ynode_t *map, const char *key)
{
    size_t pl = prefix_len(key);
    if (pl == 0)
        return aw_spec_get(map, key);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(pl - 1), key);
    return aw_spec_get(aw_spec_get(map, prefix), key + pl);
}

/* Applies the table's check to cfg; on failure blames the key it names ("WHERE: PATH.KEY: expected ..."). */
static int check_rules(load_t *L, const aw_settings_t *st, const void *cfg, const unsigned char *given,
                       const aw_ynode_t *map, const aw_ynode_t *parent, const char *path)
{
    aw_check_t c = {.keys = st->keys, .given = given};
    if (st->check == NULL || st->check(cfg, &c) == 0)
        return AW_OK;
    char kp[PATH_MAX_LEN];
    aw_spec_join_path(kp, sizeof kp, path, c.blame);
    const aw_ynode_t *at = node_of(map, c.blame);
    if (at == NULL)
        return aw_spec_fail(L, map != NULL ? map : parent, kp, "expected %s", c.what);
    return aw_spec_expected(L, at, kp, c.what);
}

/* Rejects a key of map that the section knows (known) but that is not one of own: "does not apply to WHAT
 * (only to OWNERS)", owners being the variants (variants[i] with tables[i]) that have it. */
static int check_applies(load_t *L, const aw_ynode_t *map, const char *path, const char *const *own,
                         const char *what, const char *const *variants, const aw_key_t *const *tables)
{
    for (int i = 0; map != NULL && i < map->n; i++) {
        const char *key = map->keys[i]->text;
        if (aw_spec_in_list(own, key) >= 0)
            continue;
        char owners[256] = "";
        size_t o = 0;
        for (int j = 0; variants[j] != NULL; j++) {
            names_t nm = {0};
            names_of(&nm, tables[j], aw_keys_count(tables[j]), NULL);
            if (aw_spec_in_list(nm.p, key) >= 0 && o < sizeof owners)
                o += (size_t)snprintf(owners + o, sizeof owners - o, "%s%s", o ? ", " : "", variants[j]);
        }
        if (o == 0)
            continue; /* a key of the section itself */
        char p[PATH_MAX_LEN];
        aw_spec_join_path(p, sizeof p, path, key);
        return aw_spec_fail(L, map->keys[i], p, "does not apply to %s (only to %s)", what, owners);
    }
    return AW_OK;
}

/* ---- custom keys: name, dataset.binarize, model.hidden ---- */

static int read_name(load_t *L, const aw_ynode_t *n, aw_spec_t *s, const char *default_name)
{
    if (n == NULL) {
        snprintf(s->name, sizeof s->name, "%s", default_name);
        return AW_OK;
    }
    int rc = aw_spec_read_string(L, n, "name", "a name", s->name, AW_SPEC_NAME_MAX + 1);
    if (rc != AW_OK)
        return rc;
    if (s->name[0] == '\0')
        return aw_spec_expected(L, n, "name", "a non-empty name");
    for (size_t i = 0; s->name[i] != '\0'; i++)
        if (!aw_spec_name_char_ok(s->name[i], i == 0))
            return aw_spec_expected(L, n, "name",
                                    "a name of letters, digits and . _ , + = - (starting with a letter, digit or _)");
    return AW_OK;
}

static int read_binarize(load_t *L, const aw_key_t *k, const aw_ynode_t *b, const char *path, char out[32])
{
    snprintf(out, 32, "%s", k->def);
    if (b == NULL)
        return AW_OK;
    if (b->kind == AW_YSCALAR && aw_spec_in_list(k->words, b->text) >= 0) {
        snprintf(out, 32, "%s", b->text);
        return AW_OK;
    }
    int kind = aw_ynode_number_kind(b);
    double t = kind != 0 && strpbrk(b->text, "nN") == NULL ? strtod(b->text, NULL) : NAN;
    if (!(t > 0.0 && t < 1.0))
        return aw_spec_expected(L, b, path, k->expect);
    aw_fmt_double(t, out);
    return AW_OK;
}

static int read_hidden(load_t *L, const aw_key_t *k, const aw_ynode_t *h, aw_spec_t *s)
{
    if (h == NULL) {
        s->model.n_hidden = 2;
        s->model.hidden[0] = s->model.hidden[1] = 200;
        return AW_OK;
    }
    if (h->kind != AW_YSEQ || h->n < 1 || h->n > AW_MAX_HIDDEN)
        return aw_spec_expected(L, h, "model.hidden", k->expect);
    s->model.n_hidden = h->n;
    for (int i = 0; i < h->n; i++) {
        char p[64];
        long long x;
        snprintf(p, sizeof p, "model.hidden[%d]", i);
        int rc = aw_spec_read_int(L, h->vals[i], p, 1, AW_MAX_WIDTH, NULL, &x);
        if (rc != AW_OK)
            return rc;
        s->model.hidden[i] = (int)x;
    }
    return AW_OK;
}

static int read_custom(load_t *L, const aw_key_t *k, const aw_ynode_t *v, const aw_ynode_t *map,
                       const char *path, void *base, const void *ctx)
{
    aw_spec_t *s = base;
    if (k->offset == S_(name))
        return read_name(L, v, s, ctx);
    if (k->offset == S_(dataset.binarize))
        return read_binarize(L, k, v, path, s->dataset.binarize);
    if (k->offset == S_(model.hidden))
        return read_hidden(L, k, v, s);
    return aw_error_set(L->err, AW_EARG, "%s: no reader for this custom key", path);
}

/* ---- the sections ---- */

static int resolve_dataset(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    const int n = aw_keys_count(DATASET);
    unsigned char given[MAX_KEYS];
    names_t nm = {0};
    names_of(&nm, DATASET, n, NULL);
    const aw_ynode_t *d;
    int rc = aw_spec_get_section(L, root, "", "dataset", nm.p, &d);
    if (rc == AW_OK)
        rc = read_keys(L, d, "dataset", DATASET, 1, NULL, s, given, read_custom, NULL);
    if (rc != AW_OK)
        return rc;
    /* Keys of another data set: each key with an `only` variant is that variant's. */
    const char *variant = s->dataset.name, *owner = NULL;
    names_t own = {0};
    for (int i = 0; i < n; i++) {
        if (DATASET[i].only == NULL || strcmp(DATASET[i].only, variant) == 0)
            names_add(&own, DATASET[i].key, strlen(DATASET[i].key));
        else
            owner = DATASET[i].only;
    }
    char what[64];
    snprintf(what, sizeof what, "dataset %s", variant);
    const char *const variants[] = {owner, NULL};
    const aw_key_t *const tables[] = {DATASET, NULL};
    if (owner != NULL && (rc = check_applies(L, d, "dataset", own.p, what, variants, tables)) != AW_OK)
        return rc;
    rc = read_keys(L, d, "dataset", DATASET + 1, n - 1, variant, s, given + 1, read_custom, NULL);
    if (rc != AW_OK)
        return rc;
    for (int i = 1; i < n; i++)
        if (DATASET[i].required && DATASET[i].only != NULL && strcmp(DATASET[i].only, variant) == 0 && !given[i])
            return aw_spec_fail(L, d != NULL ? d : root, "dataset", "missing key %s (required for dataset %s)",
                                DATASET[i].key, variant);
    return AW_OK;
}

/* model.init_sha256: checked when given (a canonical text read back gives it, so that no file is read),
 * else the SHA-256 of model.init's bytes; an error without model.init. */
static int resolve_init(load_t *L, const aw_ynode_t *m, aw_spec_t *s)
{
    char *h = s->model.init_sha256;
    if (s->model.init[0] == '\0')
        return h[0] == '\0' ? AW_OK
                            : aw_spec_fail(L, aw_spec_get(m, "init_sha256"), "model.init_sha256",
                                           "given without model.init");
    if (h[0] != '\0') {
        size_t n = strspn(h, "0123456789abcdef");
        if (n != 64 || h[n] != '\0')
            return aw_spec_expected(L, aw_spec_get(m, "init_sha256"), "model.init_sha256",
                                    aw_keys_find(MODEL, "init_sha256")->expect);
        return AW_OK;
    }
    aw_buf_t b = {0};
    aw_error_t e = {0};
    if (aw_io_read_file(s->model.init, AW_IO_MAX_BYTES, &b, &e) < 0)
        return aw_spec_fail(L, aw_spec_get(m, "init"), "model.init", "%s", e.msg);
    aw_sha256_hex(b.data, b.size, h);
    aw_buf_fini(&b);
    return AW_OK;
}

static int resolve_model(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    unsigned char given[MAX_KEYS];
    names_t nm = {0};
    names_of(&nm, MODEL, aw_keys_count(MODEL), NULL);
    const aw_ynode_t *m;
    int rc = aw_spec_get_section(L, root, "", "model", nm.p, &m);
    if (rc == AW_OK)
        rc = read_keys(L, m, "model", MODEL, aw_keys_count(MODEL), NULL, s, given, read_custom, NULL);
    return rc == AW_OK ? resolve_init(L, m, s) : rc;
}

/* Names and key tables of every method (estimator: every estimator), NULL-terminated. */
static void plugin_tables(int estimators, const char **names, const aw_key_t **tables)
{
    int i = 0;
    for (;; i++) {
        if (estimators) {
            const aw_estimator_ops_t *e = aw_estimator_at(i);
            if (e == NULL)
                break;
            names[i] = e->name, tables[i] = e->settings.keys;
        } else {
            const aw_method_ops_t *m = aw_method_at(i);
            if (m == NULL)
                break;
            names[i] = m->name, tables[i] = m->settings.keys;
        }
    }
    names[i] = NULL, tables[i] = NULL;
}

/* Rejects the keys of section map that neither the section's own keys (own[n_own]) nor the plugin's
 * settings st take but another plugin does: "does not apply to method iwae (only to aiwae)". */
static int plugin_applies(load_t *L, const aw_ynode_t *map, const char *path, int estimators, const char *name,
                          const aw_key_t *own, int n_own, const aw_settings_t *st)
{
    const char *names[64];
    const aw_key_t *tables[64];
    plugin_tables(estimators, names, tables);
    names_t mine = {0};
    names_of(&mine, own, n_own, NULL);
    names_of(&mine, st->keys, aw_keys_count(st->keys), NULL);
    char what[64];
    snprintf(what, sizeof what, "%s %s", estimators ? "estimator" : "method", name);
    return check_applies(L, map, path, mine.p, what, names, tables);
}

/* Reads the plugin's settings st from section map into cfg and applies its rules. */
static int plugin_read(load_t *L, const aw_ynode_t *map, const aw_ynode_t *parent, const char *path,
                       const aw_settings_t *st, void *cfg)
{
    unsigned char given[MAX_KEYS];
    const int n = aw_keys_count(st->keys);
    if (n > MAX_KEYS || st->size > AW_CFG_MAX)
        return aw_error_set(L->err, AW_EARG, "%s: the plugin's settings table is too large", path);
    memset(cfg, 0, AW_CFG_MAX);
    int rc = read_keys(L, map, path, st->keys, n, NULL, cfg, given, NULL, NULL);
    if (rc == AW_OK)
        rc = check_rules(L, st, cfg, given, map, parent, path);
    return rc;
}

/* Every direct key name a section with its own keys own and these plugins' keys knows, in order. */
static void section_names(names_t *nm, const aw_key_t *own, int estimators)
{
    const char *names[64];
    const aw_key_t *tables[64];
    plugin_tables(estimators, names, tables);
    names_of(nm, own, aw_keys_count(own), NULL);
    for (int i = 0; tables[i] != NULL; i++)
        names_of(nm, tables[i], aw_keys_count(tables[i]), NULL);
}

static int resolve_method(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    names_t nm = {0};
    section_names(&nm, METHOD, 0);
    const aw_ynode_t *m;
    unsigned char given[MAX_KEYS];
    int rc = aw_spec_get_section(L, root, "", "method", nm.p, &m);
    if (rc == AW_OK)
        rc = read_keys(L, m, "method", METHOD, aw_keys_count(METHOD), NULL, s, given, NULL, NULL);
    if (rc != AW_OK)
        return rc;
    s->method.ops = aw_method_find(s->method.name);
    const aw_settings_t *st = &s->method.ops->settings;
    rc = plugin_applies(L, m, "method", 0, s->method.name, METHOD, aw_keys_count(METHOD), st);
    return rc == AW_OK ? plugin_read(L, m, root, "method", st, s->method.cfg.bytes) : rc;
}

static int resolve_train(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    names_t nm = {0};
    names_of(&nm, TRAIN, aw_keys_count(TRAIN), NULL);
    const aw_ynode_t *t;
    unsigned char given[MAX_KEYS];
    s->train.batch_size = s->method.ops->batch_size;
    int rc = aw_spec_get_section(L, root, "", "train", nm.p, &t);
    if (rc == AW_OK)
        rc = read_keys(L, t, "train", TRAIN, aw_keys_count(TRAIN), NULL, s, given, NULL, NULL);
    if (rc == AW_OK && s->train.epochs == 0 && s->model.init[0] == '\0')
        return aw_spec_expected(L, aw_spec_get(t, "epochs"), "train.epochs", EPOCHS_EXPECT);
    return rc;
}

static int resolve_eval_entry(load_t *L, const aw_ynode_t *e, const char *path, aw_eval_spec_t *ev)
{
    if (e->kind != AW_YMAP)
        return aw_spec_expected(L, e, path, "a mapping with an estimator key");
    names_t nm = {0};
    section_names(&nm, EVAL, 1);
    int rc = aw_spec_check_keys(L, e, path, nm.p);
    if (rc != AW_OK)
        return rc;
    if (aw_spec_get(e, "estimator") == NULL) {
        char list[256];
        aw_spec_join_list(aw_estimator_names(), list, sizeof list);
        return aw_spec_fail(L, e, path, "missing key estimator (expected one of %s)", list);
    }
    unsigned char given[MAX_KEYS];
    const int n = aw_keys_count(EVAL);
    if ((rc = read_keys(L, e, path, EVAL, 1, NULL, ev, given, NULL, NULL)) != AW_OK)
        return rc;
    ev->ops = aw_estimator_find(ev->estimator);
    ev->batch = ev->ops->batch;
    /* Keys of another estimator are the first problem to report; then the entry's keys, then the
     * estimator's, in canonical order. */
    const aw_settings_t *st = &ev->ops->settings;
    if ((rc = plugin_applies(L, e, path, 1, ev->estimator, EVAL, n, st)) != AW_OK)
        return rc;
    if ((rc = read_keys(L, e, path, EVAL + 1, n - 1, NULL, ev, given + 1, NULL, NULL)) != AW_OK)
        return rc;
    return plugin_read(L, e, e, path, st, ev->cfg.bytes);
}

static int resolve_evaluate(load_t *L, const aw_ynode_t *root, aw_spec_t *s)
{
    const aw_ynode_t *v = aw_spec_get(root, "evaluate");
    aw_ynode_t *def = NULL;
    if (v == NULL) {
        int rc = aw_spec_parse_default_evaluate(&def, L->err);
        if (rc != AW_OK)
            return rc;
        v = def;
    }
    int rc = AW_OK;
    if (v->kind != AW_YSEQ) {
        rc = aw_spec_expected(L, v, "evaluate", "a sequence of estimator entries");
    } else if (v->n > AW_MAX_EVAL) {
        rc = aw_spec_fail(L, v, "evaluate", "expected at most %d entries, found %d", AW_MAX_EVAL, v->n);
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

int aw_spec_resolve(load_t *L, const aw_ynode_t *root, const char *default_name, aw_spec_t *s)
{
    int rc = aw_spec_check_keys(L, root, "", AW_SPEC_ROOT_KEYS);
    unsigned char given[MAX_KEYS];
    if (rc == AW_OK)
        rc = read_keys(L, root, "", ROOT, aw_keys_count(ROOT), NULL, s, given, read_custom, default_name);
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
