/* settings.h: settings described by a key table. Each key has a type, a
 * default, an accepted range or word list, a one-line doc and an identity
 * flag, and names where its value lives in a C struct (by offset). The spec
 * reads, validates, defaults and prints every section through such tables
 * (src/spec/schema.c), plugins describe their own settings with them
 * (src/methods/plugin.h), and `aiwae-run --describe` prints them.
 *
 * Values of a plugin's settings live in its own config struct, stored in the
 * spec as an opaque aw_cfg_t of at most AW_CFG_MAX bytes. */
#ifndef AW_SETTINGS_H
#define AW_SETTINGS_H

#include <stddef.h>

#include "util/error.h"
#include "util/sbuf.h"

typedef enum aw_key_type {
    AW_KEY_INT,     /* int in lo..hi */
    AW_KEY_FLOAT,   /* float in range */
    AW_KEY_WORD,    /* one of words; stored as its int index */
    AW_KEY_TEXT,    /* a string of at most cap-1 bytes (one of words when words are given); stored in char[cap] */
    AW_KEY_SIZE,    /* long >= lo, or ~ (none), stored as 0 */
    AW_KEY_OPTINT,  /* int >= lo, or ~ (none), stored as 0 */
    AW_KEY_U64,     /* uint64_t */
    AW_KEY_CUSTOM   /* read and written by code of the table's owner (the doc says what it accepts) */
} aw_key_type_t;

typedef enum aw_frange {
    AW_GT0,         /* > 0 */
    AW_UNIT_CO,     /* [0, 1) */
    AW_UNIT_OPEN    /* (0, 1) */
} aw_frange_t;

typedef struct aw_key {
    const char *key;          /* "samples", or "step_size.init" (one level of nesting) */
    aw_key_type_t type;
    const char *def;          /* default as the canonical text prints it ("~": none); NULL: def_fn's, or
                                 given by the section's owner (e.g. train.batch_size by the method) */
    const char *(*def_fn)(void); /* the default when it is computed (e.g. the default method's name) */
    long long lo, hi;         /* INT, SIZE, OPTINT: accepted range (hi 0 means INT_MAX) */
    aw_frange_t range;        /* FLOAT */
    const char *const *words; /* WORD, TEXT: accepted words, NULL-terminated */
    const char *const *(*words_fn)(void); /* or a function giving them (names of plugins, datasets) */
    size_t cap;               /* TEXT: bytes of the char array */
    const char *expect;       /* NULL, or what an error says is expected instead of the range */
    const char *only;         /* NULL, or the one variant of the section it applies to (dataset idx) */
    int required;             /* 1: must be given wherever it applies */
    int identity;             /* 1: part of the run's identity */
    int omit_default;         /* 1: left out of canonical text, identities and settings strings while at
                                 its default (def), so that adding the key kept every earlier run's
                                 identity (read back, the absent key is that default again) */
    const char *doc;          /* one line */
    size_t offset;            /* where the value lives in the struct the table describes */
} aw_key_t;

/* Cross-key rules of a table: check() returns 0, or -1 after aw_check_fail. */
typedef struct aw_check {
    const aw_key_t *keys;       /* the table */
    const unsigned char *given; /* given[i]: key i was set in the spec, not defaulted */
    const char *blame;          /* out: the key to blame */
    char what[200];             /* out: what was expected, e.g. "a number <= max (0.3)" */
} aw_check_t;

typedef struct aw_settings {
    const aw_key_t *keys;       /* terminated by a row whose key is NULL */
    size_t size;                /* bytes of the config struct (<= AW_CFG_MAX) */
    int (*check)(const void *cfg, aw_check_t *c); /* NULL: no rules across keys */
} aw_settings_t;

#define AW_CFG_MAX 128
/* Storage for one plugin's config struct. */
typedef struct aw_cfg {
    _Alignas(16) unsigned char bytes[AW_CFG_MAX];
} aw_cfg_t;

/* Number of keys in a table; the key named key (or NULL). */
int aw_keys_count(const aw_key_t *keys);
const aw_key_t *aw_keys_find(const aw_key_t *keys, const char *key);
/* Accepted words of k (words or words_fn()), or NULL. */
const char *const *aw_key_words(const aw_key_t *k);

/* Whether key i was given, by name; records the blame and message, returns -1. */
int aw_check_given(const aw_check_t *c, const char *key);
__attribute__((format(printf, 3, 4))) int aw_check_fail(aw_check_t *c, const char *key, const char *fmt, ...);

/* What k accepts, as error messages and --describe say it ("an integer >= 1", "a number in (0, 1)",
 * "one of linear, sigmoid"). */
void aw_key_accepts(const aw_key_t *k, char *out, size_t n);

/* Checks an INT/SIZE/OPTINT value or a FLOAT value against k's range: 1 when accepted. */
int aw_key_int_ok(const aw_key_t *k, long long v);
int aw_key_float_ok(const aw_key_t *k, float v);

/* Stores text ("16", "0.1", "sigmoid", "~" for none) as k's value in the struct at base: 0, or -1 when
 * it is not of k's type or not accepted. */
int aw_key_set_text(const aw_key_t *k, void *base, const char *text);

/* Sets key from text, as a C caller would (tests, tools): "16", "0.1", "sigmoid"; AW_ESPEC when the key is
 * unknown, the text is not of its type or out of range (check rules are not applied). */
int aw_settings_set(const aw_settings_t *s, void *cfg, const char *key, const char *text, aw_error_t *err);

/* Checks every value of cfg against its key's range or words, then the check rules: what a plugin's
 * create does with a config struct it did not get from the spec. AW_ESPEC names the key. */
int aw_settings_validate(const aw_settings_t *s, const void *cfg, aw_error_t *err);

/* Fills cfg (s->size bytes) with every default of s, then applies check. */
int aw_settings_defaults(const aw_settings_t *s, void *cfg, aw_error_t *err);

/* Value of an INT or WORD key as an int: 1 and *out when cfg's table has key, else 0. */
int aw_settings_int(const aw_settings_t *s, const void *cfg, const char *key, int *out);

/* Value of key k (not CUSTOM) in the struct at base as canonical text: shortest floats, words, "~". */
void aw_key_format(const aw_key_t *k, const void *base, char *out, size_t n);

/* Writes keys as YAML: block style, one "indent key: value" line each with nested keys under a
 * "prefix:" line; or flow style, "k: v, nest: {a: x, b: y}" (no braces around the whole). With
 * identity_only the keys whose identity flag is 0 are left out; keys with an `only` variant other than
 * variant are left out; CUSTOM keys are written by custom (skipped when it is NULL). */
typedef void (*aw_custom_write_fn)(aw_sbuf_t *b, const aw_key_t *k, const void *base);
void aw_settings_write_block(const aw_key_t *keys, const void *base, aw_sbuf_t *b, const char *indent,
                             int identity_only, const char *variant, aw_custom_write_fn custom);

/* A free string as YAML: double-quoted with escapes so that it reads back byte for byte; "~" when empty. */
void aw_settings_write_string(aw_sbuf_t *b, const char *v);
void aw_settings_write_flow(const aw_key_t *keys, const void *base, aw_sbuf_t *b);

#endif
