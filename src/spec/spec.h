/* spec.h: experiment specs. A YAML file (plus --set overrides) becomes a list
 * of fully resolved runs, each with its canonical YAML and identity hash.
 *
 * Errors (code AW_ESPEC) are one line, "WHERE: KEY.PATH: what was expected,
 * what was found", where WHERE is
 *   FILE:LINE:COL          for a node of the spec file (1-based, libyaml's marks),
 *   LABEL:LINE:COL         for a spec given as a string (aw_spec_load_string),
 *   --set KEY.PATH=VALUE   for a node that an override created (the argument as given).
 * KEY.PATH names sequence items as evaluate[1].samples. Bad YAML reads
 * "WHERE: bad YAML: <libyaml's problem> (<context> at L:C)".
 *
 * Rules of the format (the keys, their defaults and what they accept are the
 * tables of src/spec/schema.c and of each plugin; `aiwae-run --describe`
 * prints them, docs/keys.md is generated from it):
 * - Every key may be left out or set to ~ (null): it then takes its default.
 *   Keys whose default is "none" (dataset.dir, *_size, evaluate[].size/every) print as ~.
 * - An empty document is an error ("empty spec"); {} means all defaults.
 * - --set KEY.PATH=VALUE (repeatable, applied in order before validation):
 *   VALUE is parsed as YAML and replaces the node at KEY.PATH (an empty VALUE is
 *   an error: write ~ for the default); missing mappings
 *   on the way are created. KEY.PATH segments are keys or sequence indexes,
 *   written evaluate[1].samples or evaluate.1.samples (0-based). Indexing an
 *   absent evaluate list first fills in the default list. Under sweep the rest
 *   of the path is one key: --set sweep.method.samples=[1,5].
 * - sweep: {KEY.PATH: [v1, v2, ...], ...}: one run per combination, first key
 *   varying slowest. Values are set as by --set and validated like the key.
 *   A run's name is the base name then "-KEY.PATH=VALUE" per sweep key, with
 *   KEY.PATH in dotted form (evaluate.0.size) and VALUE as written (sequence
 *   items joined by ","; mapping pairs as k=v joined by ","; null as "null");
 *   characters outside [A-Za-z0-9._,+=-] become "_". E.g.
 *   mnist_iwae-method.samples=5-repeat=1 (at most 255 bytes). name and sweep
 *   cannot be swept; two runs with the same identity are an error (sweeping a
 *   key outside the identity, or a value given twice). A --set of a key that the
 *   sweep also sets (the same key, one under it, or a parent whose value holds it)
 *   is an error, since the sweep's values would replace it: change the sweep
 *   (--set sweep.KEY.PATH=[...]) instead.
 * - canonical: every applicable key with its resolved value in a fixed order,
 *   floats printed in the shortest form that reads back to the same float,
 *   free strings (name, paths) double-quoted; no sweep key. identity: hex
 *   SHA-256 of the canonical text of what changes the trained parameters:
 *   without name, train.threads, train.checkpoint_every and the evaluate list
 *   (evaluations attach to a run and an epoch). Loading a canonical text gives
 *   the same spec, canonical and identity. */
#ifndef AW_SPEC_H
#define AW_SPEC_H

#include <stdint.h>

#include "util/error.h"
#include "core/model.h"
#include "methods/plugin.h"

#define AW_MAX_EVAL 8        /* entries in a spec's evaluate list */
#define AW_SPEC_MAX_RUNS 1000 /* runs one sweep may expand to */
#define AW_SPEC_NAME_MAX 255 /* bytes of a run name, sweep suffix included */
#define AW_MAX_THREADS 1024   /* train.threads and --threads */

typedef struct aw_eval_spec {
    char estimator[32];        /* the estimator's name (a row of the plugin table) */
    const aw_estimator_ops_t *ops; /* that row */
    aw_cfg_t cfg;              /* its settings: the estimator's own config struct */
    int batch;                 /* points processed together (memory / speed knob) */
    char split[8];             /* train | test */
    long size;                 /* points evaluated; 0 = the whole split */
    int every;                 /* also every N epochs; 0 = only after the last epoch */
    int shards;                /* cluster mode: tasks the final evaluation is split into (not in its key) */
} aw_eval_spec_t;

typedef struct aw_spec {
    char name[256];            /* label (presentation only), with the sweep suffix */
    char source[4096];         /* file (or label) the spec came from, for messages */
    uint64_t seed;             /* seed of the run's generator */
    int repeat;                /* replicate index; part of the run's identity */
    struct {
        char name[32];         /* mnist | omniglot | binarized_mnist | idx */
        char dir[4096];        /* directory of the data files; "" = the data layer's default */
        char train_images[4096], train_labels[4096]; /* idx only: paths; "" = not given */
        char test_images[4096], test_labels[4096];   /* idx only: paths; "" = not given */
        char binarize[32];     /* dynamic | fixed | a threshold in (0,1) in shortest round-trip form */
        long train_size;       /* first N training points; 0 = all */
        long test_size;        /* first N test points; 0 = all */
    } dataset;                 /* which data and how it is binarized */
    struct {
        int latent;            /* H, latent size */
        int n_hidden;          /* number of deterministic layers, 1..AW_MAX_HIDDEN */
        int hidden[AW_MAX_HIDDEN]; /* their widths, as listed in model.hidden */
        char init[4096];       /* safetensors file the parameters start from; "" = random initialization */
        char init_sha256[65];  /* its SHA-256 (hex), computed when the spec resolves; "" without init */
    } model;                   /* network shape */
    struct {
        char name[32];         /* the method's name (a row of the plugin table) */
        const aw_method_ops_t *ops; /* that row */
        aw_cfg_t cfg;          /* its settings: the method's own config struct */
    } method;                  /* training method */
    struct {
        int epochs;            /* epochs to train */
        int batch_size;        /* B, points per minibatch */
        float learning_rate;   /* base learning rate */
        char schedule[16];     /* burda | constant */
        aw_adam_cfg_t adam;    /* Adam's beta1, beta2, eps */
        int checkpoint_every;  /* also keep every N-th epoch's checkpoint; 0 = none (run/retention.h) */
        int threads;           /* OpenMP threads (presentation only: not in the identity) */
    } train;                   /* optimizer and schedule */
    int n_eval;                /* entries used in eval, 0..AW_MAX_EVAL */
    aw_eval_spec_t eval[AW_MAX_EVAL]; /* evaluations, in spec order */
    char *canonical;           /* canonical resolved YAML, owned */
    char identity[65];         /* hex SHA-256 of the canonical text of the training (see above) */
} aw_spec_t;

typedef struct aw_spec_list {
    int n;                     /* number of runs */
    aw_spec_t *runs;           /* [n], owned (aw_spec_list_fini) */
} aw_spec_list_t;

/* Loads the spec file at path, applies overrides[n_overrides] ("KEY.PATH=VALUE"
 * strings, in order), validates and expands the sweep into out (owned by the
 * caller; release with aw_spec_list_fini). The default name is the file's base
 * name without extension. On failure out is empty ({0, NULL}) and err says why
 * (AW_EIO: unreadable file, AW_ESPEC: invalid spec, AW_ENOMEM). */
int aw_spec_load(const char *path, const char *const *overrides, int n_overrides, aw_spec_list_t *out,
                 aw_error_t *err);

/* Same for the spec text yaml; label stands for the file in messages and
 * gives the default name. Used for the canonical YAML stored in the database. */
int aw_spec_load_string(const char *yaml, const char *label, const char *const *overrides, int n_overrides,
                        aw_spec_list_t *out, aw_error_t *err);

/* Rebuilds exactly one run from a canonical text (e.g. label "run <hash>"):
 * like aw_spec_load_string without overrides, but an error if the text expands
 * to more than one run. out is owned by the caller (aw_spec_fini). */
int aw_spec_from_canonical(const char *yaml, const char *label, aw_spec_t *out, aw_error_t *err);

/* Frees every run's canonical text and the array; leaves {0, NULL}. */
void aw_spec_list_fini(aw_spec_list_t *list);

/* Frees s->canonical (and sets it to NULL). */
void aw_spec_fini(aw_spec_t *s);

/* Deep copy of src into dst (dst's previous contents are not freed). */
int aw_spec_copy(aw_spec_t *dst, const aw_spec_t *src, aw_error_t *err);

/* The settings string of evaluation e over n_points points: the text under which its results are stored,
 * "{<the estimator's settings in flow YAML>, size: N, batch: B}" (docs/schema.md). */
char *aw_spec_eval_settings(const aw_eval_spec_t *e, long n_points);

/* The identity of the run a canonical text describes, by the current rule (what changes the trained
 * parameters: dataset, model, method, train without threads and checkpoint_every, seed, repeat): out[65].
 * AW_ESPEC when the text does not load. Used to migrate databases keyed by an older rule. */
int aw_spec_identity_of(const char *canonical, const char *label, char out[65], aw_error_t *err);

/* Whether KEY.PATH (dotted, as aiwae-report's spec leaves write it: "train.threads", "evaluate.0.size") is
 * part of a run's identity. */
int aw_spec_path_in_identity(const char *key_path);

/* Every spec key with its type, default, accepted values and doc, as markdown tables (aiwae-run
 * --describe; docs/keys.md is this text). NULL when out of memory. */
char *aw_spec_describe(void);

/* Every spec key path, one a line ("train.epochs", "evaluate[0].samples"; plugins' keys once each), for
 * shell completion (aiwae-run --describe=keys). A new malloc'd string, NULL when out of memory. */
char *aw_spec_describe_keys(void);

#endif
