/* test_spec.c: experiment specs: the exact error messages of a table of bad
 * specs, defaults, --set overrides, sweeps, canonical round trips, identities, SHA-256. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/sha256.h"
#include "methods/plugin.h"
#include "spec/spec.h"
#include "spec/yamltree.h"

#ifndef AW_TEST_SRCDIR
#define AW_TEST_SRCDIR "."
#endif

static const char *srcdir(void)
{
    const char *d = getenv("AIWAE_SRCDIR");
    return d != NULL && d[0] != '\0' ? d : AW_TEST_SRCDIR;
}

/* ---- SHA-256 ---- */

START_TEST(test_sha256_vectors)
{
    /* FIPS 180-4 / NIST examples. */
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
         "mnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[AW_SHA256_HEX];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        aw_sha256_hex(v[i].msg, strlen(v[i].msg), hex);
        ck_assert_str_eq(hex, v[i].hex);
    }
    /* One million 'a', fed in uneven pieces. */
    char *a = malloc(1000000);
    ck_assert_ptr_nonnull(a);
    memset(a, 'a', 1000000);
    aw_sha256_t s;
    aw_sha256_init(&s);
    size_t off = 0, piece = 1;
    while (off < 1000000) {
        size_t n = piece < 1000000 - off ? piece : 1000000 - off;
        aw_sha256_update(&s, a + off, n);
        off += n;
        piece = piece * 7 % 1000 + 1;
    }
    uint8_t d[AW_SHA256_BYTES];
    aw_sha256_final(&s, d);
    static const uint8_t want[AW_SHA256_BYTES] = {
        0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    ck_assert_int_eq(memcmp(d, want, sizeof want), 0);
    free(a);
}
END_TEST

/* Byte-at-a-time and one-shot digests agree at every length around the
 * 55/56/64-byte padding boundaries. */
START_TEST(test_sha256_split)
{
    char buf[200];
    for (int i = 0; i < 200; i++)
        buf[i] = (char)(i * 31 + 7);
    for (size_t n = 0; n <= 200; n++) {
        uint8_t one[AW_SHA256_BYTES], many[AW_SHA256_BYTES];
        aw_sha256_t s;
        aw_sha256_init(&s);
        aw_sha256_update(&s, buf, n);
        aw_sha256_final(&s, one);
        aw_sha256_init(&s);
        for (size_t i = 0; i < n; i++)
            aw_sha256_update(&s, buf + i, 1);
        aw_sha256_final(&s, many);
        ck_assert_int_eq(memcmp(one, many, sizeof one), 0);
    }
}
END_TEST

/* ---- error messages: spec files ---- */

/* Each file of tests/spec/errors/ and the message after its path. */
static const struct {
    const char *file;
    const char *msg;
} file_errors[] = {
    {"alias_recursive", ":1:8: bad YAML: recursive alias *x (inside the node it names)"},
    {"bad_utf8", ":2:9: bad YAML: invalid leading UTF-8 octet"},
    {"bad_yaml_flow", ":3:5: bad YAML: did not find expected ',' or ']' (while parsing a flow sequence at 2:9)"},
    {"bad_yaml_indent", ":3:2: bad YAML: did not find expected key (while parsing a block mapping at 1:1)"},
    {"bad_yaml_tab", ":2:1: bad YAML: found character that cannot start any token (while scanning for the next token at 2:1)"},
    {"beta1_one", ":2:17: train.adam.beta1: expected a number in [0, 1), found 1"},
    {"binarize_out_of_range", ":2:13: dataset.binarize: expected dynamic, fixed or a number in (0, 1), found 1.5"},
    {"binarize_word", ":2:13: dataset.binarize: expected dynamic, fixed or a number in (0, 1), found \"static\""},
    {"dataset_unknown", ":2:9: dataset.name: expected one of mnist, omniglot, binarized_mnist, idx, found \"cifar10\""},
    {"duplicate_key", ":3:1: seed: duplicate key (first given at line 1, column 1)"},
    {"duplicate_nested", ":3:3: train.epochs: duplicate key (first given at line 2, column 3)"},
    {"empty", ":1:1: empty spec: expected a mapping of spec keys (write {} for all defaults)"},
    {"empty_comments", ":1:1: empty spec: expected a mapping of spec keys (write {} for all defaults)"},
    {"eval_ais_step", ":3:22: evaluate[0].step_size.min: expected a number <= init (0.1), found 0.5"},
    {"eval_entry_scalar", ":2:5: evaluate[0]: expected a mapping with an estimator key, found \"iwae_bound\""},
    {"eval_every_zero", ":3:12: evaluate[0].every: expected an integer >= 1, found 0"},
    {"eval_missing_estimator", ":2:5: evaluate[0]: missing key estimator (expected one of {estimators})"},
    {"eval_not_applicable", ":2:29: evaluate[0].chains: does not apply to estimator iwae_bound (only to ais_nll)"},
    {"eval_not_sequence", ":1:11: evaluate: expected a sequence of estimator entries, found a mapping"},
    {"eval_split", ":3:12: evaluate[0].split: expected one of train, test, found \"valid\""},
    {"eval_too_many", ":2:3: evaluate: expected at most 8 entries, found 9"},
    {"eval_unknown_estimator", ":2:16: evaluate[0].estimator: expected one of {estimators}, found \"exact\""},
    {"hidden_item", ":2:17: model.hidden[1]: expected an integer in 1..65536, found \"wide\""},
    {"hidden_scalar", ":2:11: model.hidden: expected a sequence of 1 to 4 integers in 1..65536, found 200"},
    {"hidden_too_deep", ":2:11: model.hidden: expected a sequence of 1 to 4 integers in 1..65536, found a sequence of 5 items"},
    {"idx_key_for_mnist", ":3:3: dataset.train_images: does not apply to dataset mnist (only to idx)"},
    {"idx_missing_test", ":2:3: dataset: missing key test_images (required for dataset idx)"},
    {"int_fraction", ":2:11: model.latent: expected an integer in 1..65536, found 1.5"},
    {"int_overflow", ":2:11: train.epochs: expected an integer >= 1 (0 only with model.init), found 99999999999"},
    {"int_sequence", ":2:11: train.epochs: expected an integer >= 1 (0 only with model.init), found a sequence of 2 items"},
    {"int_word", ":2:12: method.samples: expected an integer >= 1, found \"five\""},
    {"int_zero_flow", ":1:31: method.samples: expected an integer >= 1, found 0"},
    {"lr_negative", ":2:18: train.learning_rate: expected a number > 0, found -1.0e-3"},
    {"lr_overflow", ":2:18: train.learning_rate: expected a finite number within float range, found 1e39"},
    {"lr_word", ":2:18: train.learning_rate: expected a number > 0, found \"fast\""},
    {"name_empty", ":1:7: name: expected a non-empty name, found \"\""},
    {"name_spaces", ":1:7: name: expected a name of letters, digits and . _ , + = - (starting with a letter, digit or _), found \"my run\""},
    {"not_for_iwae", ":3:3: method.temperatures: does not apply to method iwae (only to aiwae)"},
    {"path_nul", ":2:8: dataset.dir: expected a path of at most 4095 bytes without NUL, found \"data\\x00x\""},
    {"repeat_negative", ":1:9: repeat: expected an integer >= 0, found -2"},
    {"schedule_unknown", ":2:13: train.schedule: expected one of burda, constant, found \"cosine\""},
    {"section_scalar", ":1:8: train: expected a mapping, found 5"},
    {"seed_negative", ":1:7: seed: expected an integer in 0..18446744073709551615, found -1"},
    {"seed_overflow", ":1:7: seed: expected an integer in 0..18446744073709551615, found 18446744073709551616"},
    {"seed_quoted", ":1:7: seed: expected an integer in 0..18446744073709551615, found \"5\""},
    {"step_init_above_max", ":2:21: method.step_size.init: expected a number in [min, max] = [0.001, 0.3], found 0.5"},
    {"step_min_above_max", ":4:10: method.step_size.max: expected a number >= min (0.01), found 0.005"},
    {"sweep_bad_path", ":2:3: sweep: expected a KEY.PATH like method.samples or evaluate[0].size, found \"method..samples\""},
    {"sweep_bad_value", ":3:23: method.samples: expected an integer >= 1, found \"five\""},
    {"sweep_empty_values", ":2:19: sweep.method.samples: expected a non-empty sequence of values, found an empty sequence"},
    {"sweep_index_range", ":2:3: evaluate: expected an index below 2, found [2]"},
    {"sweep_name", ":2:3: sweep.name: cannot be swept (sweep a key that changes the run)"},
    {"sweep_not_for_iwae", ":3:3: method.leapfrog: does not apply to method iwae (only to aiwae)"},
    {"sweep_not_mapping", ":1:8: sweep: expected a mapping of KEY.PATH: [values], found a sequence of 1 item"},
    {"sweep_not_sequence", ":2:19: sweep.method.samples: expected a non-empty sequence of values, found 5"},
    {"sweep_repeated_value", ":2:3: sweep: expected every run to be a different experiment, found sweep_repeated_value-repeat=0 and sweep_repeated_value-repeat=0 identical (identity bdd944a77b6c...); sweep only keys of the training (not train.threads, train.checkpoint_every or evaluations: list several evaluate entries instead) and give each value once"},
    {"sweep_threads", ":2:3: sweep: expected every run to be a different experiment, found sweep_threads-train.threads=1 and sweep_threads-train.threads=2 identical (identity bdd944a77b6c...); sweep only keys of the training (not train.threads, train.checkpoint_every or evaluations: list several evaluate entries instead) and give each value once"},
    {"sweep_unknown_key", ":2:3: method.sampels: unknown key (expected one of name, samples, temperatures, leapfrog, step_size, hmc_precision); did you mean method.samples?"},
    {"target_accept_one", ":3:20: method.step_size.target_accept: expected a number in (0, 1), found 1"},
    {"temperatures_one", ":2:17: method.temperatures: expected an integer >= 2, found 1"},
    {"threads_zero", ":2:12: train.threads: expected an integer in 1..1024, found 0"},
    {"top_sequence", ":1:1: expected a mapping of spec keys, found a sequence of 2 items"},
    {"train_size_zero", ":2:15: dataset.train_size: expected an integer >= 1, found 0"},
    {"two_documents", ":3:1: bad YAML: expected one document, found a second one"},
    {"unknown_key", ":3:3: method.sampels: unknown key (expected one of name, samples, temperatures, leapfrog, step_size, hmc_precision); did you mean method.samples?"},
    {"unknown_top_key", ":1:1: epochs: unknown key (expected one of name, seed, repeat, dataset, model, method, train, evaluate, sweep)"},
    {"vae_samples", ":3:12: method.samples: expected 1 (method vae draws one sample), found 5"},
};
#define N_FILE_ERRORS ((int)(sizeof file_errors / sizeof file_errors[0]))

/* msg with "{estimators}" replaced by the plugin table's estimator names ("a, b, c"): a new estimator
 * changes these messages without a change here. */
static void expand_names(const char *msg, char *out, size_t n)
{
    const char *at = strstr(msg, "{estimators}");
    if (at == NULL) {
        snprintf(out, n, "%s", msg);
        return;
    }
    size_t o = (size_t)snprintf(out, n, "%.*s", (int)(at - msg), msg);
    const char *const *names = aw_estimator_names();
    for (int i = 0; names[i] != NULL && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? ", " : "", names[i]);
    if (o < n)
        snprintf(out + o, n - o, "%s", at + strlen("{estimators}"));
}

START_TEST(test_error_files)
{
    char path[2048], want[4096], msg[2048];
    snprintf(path, sizeof path, "%s/tests/spec/errors/%s.yaml", srcdir(), file_errors[_i].file);
    expand_names(file_errors[_i].msg, msg, sizeof msg);
    snprintf(want, sizeof want, "%s%s", path, msg);
    aw_spec_list_t l = {7, (aw_spec_t *)&l};
    aw_error_t err = {0};
    int rc = aw_spec_load(path, NULL, 0, &l, &err);
    ck_assert_int_eq(rc, AW_ESPEC);
    ck_assert_int_eq(err.code, AW_ESPEC);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(l.n, 0);
    ck_assert_ptr_null(l.runs);
}
END_TEST

/* Every fixture file is in the table (none is left untested). */
START_TEST(test_error_files_all_listed)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/spec/errors", srcdir());
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        int found = 0;
        for (int i = 0; i < N_FILE_ERRORS; i++)
            found |= strlen(file_errors[i].file) == len - 5 && strncmp(file_errors[i].file, e->d_name, len - 5) == 0;
        ck_assert_msg(found, "%s is not in the table", e->d_name);
        n++;
    }
    closedir(d);
    ck_assert_int_eq(n, N_FILE_ERRORS);
}
END_TEST

START_TEST(test_missing_file)
{
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_spec_load("/nonexistent/x.yaml", NULL, 0, &l, &err), AW_EIO);
    ck_assert_str_eq(err.msg, "/nonexistent/x.yaml: cannot open: No such file or directory");
    ck_assert_int_eq(l.n, 0);
}
END_TEST

/* ---- error messages: strings and --set ---- */

static const struct {
    const char *yaml;
    const char *set[2];
    const char *msg;
} set_errors[] = {
    {"{}", {"method.samples=five"}, "--set method.samples=five: method.samples: expected an integer >= 1, found \"five\""},
    {"{}", {"method.samples"},
     "--set method.samples: expected KEY.PATH=VALUE with KEY.PATH like method.samples or evaluate[0].size"},
    {"{}", {"method..samples=1"},
     "--set method..samples=1: expected KEY.PATH=VALUE with KEY.PATH like method.samples or evaluate[0].size"},
    {"{}", {"model.hidden=[1,"},
     "--set model.hidden=[1,: bad YAML: did not find expected node content (while parsing a flow node) "
     "(at the end of the value)"},
    {"{}", {"model.hidden=[1, ]]"},
     "--set model.hidden=[1, ]]: bad YAML: did not find expected <document start> (at column 6 of the value)"},
    {"seed: 5\n", {"seed.x=1"}, "--set seed.x=1: seed: expected a mapping (to hold key x), found 5"},
    {"{}", {"seed.x=1"}, "--set seed.x=1: seed: expected an integer in 0..18446744073709551615, found a mapping"},
    {"{}", {"evaluate[5].size=1"}, "--set evaluate[5].size=1: evaluate: expected an index below 2, found [5]"},
    {"{}", {"evaluate.0.chains=4"},
     "--set evaluate.0.chains=4: evaluate[0].chains: does not apply to estimator iwae_bound (only to ais_nll)"},
    {"evaluate: {a: 1}\n", {"evaluate[0].size=1"},
     "--set evaluate[0].size=1: evaluate: expected a sequence (to index [0]), found a mapping"},
    /* The key was in the file: its mark is the file's; the value's is the --set. */
    {"method:\n  temperatures: 5\n", {"method.name=iwae"},
     "t.yaml:2:3: method.temperatures: does not apply to method iwae (only to aiwae)"},
    {"{}", {"method.name=iwae", "method.leapfrog=3"},
     "--set method.leapfrog=3: method.leapfrog: does not apply to method iwae (only to aiwae)"},
    {"{}", {"method.step_size.init=0.5"},
     "--set method.step_size.init=0.5: method.step_size.init: expected a number in [min, max] = [0.001, 0.3], "
     "found 0.5"},
    {"{}", {"modle.latent=5"},
     "--set modle.latent=5: modle: unknown key (expected one of name, seed, repeat, dataset, model, method, train, "
     "evaluate, sweep); did you mean model?"},
    {"{}", {"sweep.repeat=3"}, "--set sweep.repeat=3: sweep.repeat: expected a non-empty sequence of values, found 3"},
    {"{}", {"sweep.train.epochs=[1, x]"}, "--set sweep.train.epochs=[1, x]: train.epochs: expected an integer >= 1 (0 only with model.init), found \"x\""},
    {"{}", {"dataset={name: idx, train_images: a}"},
     "--set dataset={name: idx, train_images: a}: dataset: missing key test_images (required for dataset idx)"},
    {"{}", {"name=a/b"}, "--set name=a/b: name: expected a name of letters, digits and . _ , + = - (starting with a "
                       "letter, digit or _), found \"a/b\""},
    /* An empty value is not the default (that is ~). */
    {"{}", {"train.epochs="}, "--set train.epochs=: expected a value after '=' (write train.epochs=~ for the key's "
                              "default)"},
    /* A --set of what the sweep also sets: the sweep would win, so it is an error. */
    {"sweep: {method.samples: [1, 5]}\n", {"method.samples=5"},
     "--set method.samples=5: the spec's sweep also sets method.samples, and the sweep's values would replace this; "
     "change the sweep instead (--set 'sweep.method.samples=[...]') or drop it (--set 'sweep={}')"},
    {"sweep: {method.samples: [1, 5]}\n", {"method={name: iwae, samples: 2}"},
     "--set method={name: iwae, samples: 2}: the spec's sweep also sets method.samples, and the sweep's values would "
     "replace this; change the sweep instead (--set 'sweep.method.samples=[...]') or drop it (--set 'sweep={}')"},
    {"sweep: {method: [{name: vae}, {name: iwae}]}\n", {"method.samples=5"},
     "--set method.samples=5: the spec's sweep also sets method, and the sweep's values would replace this; change "
     "the sweep instead (--set 'sweep.method=[...]') or drop it (--set 'sweep={}')"},
    {"sweep: {method.samples: [1, 5]}\n", {"sweep.method.samples=[2]", "method.samples=2"},
     "--set method.samples=2: the spec's sweep also sets method.samples, and the sweep's values would replace this; "
     "change the sweep instead (--set 'sweep.method.samples=[...]') or drop it (--set 'sweep={}')"},
    /* Strings carry the label and positions of the text. */
    {"seed: 1\nmodel:\n  latent: 0\n", {NULL}, "t.yaml:3:11: model.latent: expected an integer in 1..65536, found 0"},
    {"a: &x {b: *x}\n", {NULL}, "t.yaml:1:11: bad YAML: recursive alias *x (inside the node it names)"},
    {"a: *y\n", {NULL}, "t.yaml:1:4: bad YAML: alias *y names no anchor before it"},
    {"train: {epochs: 1\n", {NULL},
     "t.yaml:2:1: bad YAML: did not find expected ',' or '}' (while parsing a flow mapping at 1:8)"},
    {"name: [a]\n", {NULL}, "t.yaml:1:7: name: expected a name of at most 255 bytes without NUL, found a sequence of 1 item"},
    {"? [a]\n: 1\n", {NULL}, "t.yaml:1:3: expected a key name, found a sequence of 1 item"},
    {"method:\n  name: aiwae\n  samples: \"" "0123456789012345678901234567890123456789xyz" "\"\n", {NULL},
     "t.yaml:3:12: method.samples: expected an integer >= 1, found \"0123456789012345678901234567890123456789...\""},
};
#define N_SET_ERRORS ((int)(sizeof set_errors / sizeof set_errors[0]))

START_TEST(test_error_strings)
{
    const char *const *set = set_errors[_i].set;
    int n = set[0] == NULL ? 0 : set[1] == NULL ? 1 : 2;
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_spec_load_string(set_errors[_i].yaml, "t.yaml", set, n, &l, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, set_errors[_i].msg);
    ck_assert_int_eq(l.n, 0);
}
END_TEST

/* ---- defaults ---- */

static aw_spec_t load_one(const char *yaml, const char *const *set, int n)
{
    aw_spec_list_t l;
    aw_error_t err = {0};
    int rc = aw_spec_load_string(yaml, "experiments/unit.yaml", set, n, &l, &err);
    ck_assert_msg(rc == AW_OK, "%s", err.msg);
    ck_assert_int_eq(l.n, 1);
    aw_spec_t s = l.runs[0];
    free(l.runs);
    return s;
}

/* A plugin setting of a resolved spec as a number (int, word index or float), NaN when the plugin has no such
 * key. */
static double setting(const aw_settings_t *st, const aw_cfg_t *c, const char *key)
{
    const aw_key_t *k = aw_keys_find(st->keys, key);
    if (k == NULL)
        return NAN;
    if (k->type == AW_KEY_FLOAT) {
        float f;
        memcpy(&f, c->bytes + k->offset, sizeof f);
        return f;
    }
    int v;
    memcpy(&v, c->bytes + k->offset, sizeof v);
    return v;
}
#define MV(sp, key) setting(&(sp)->method.ops->settings, &(sp)->method.cfg, key)
#define EV(ep, key) setting(&(ep)->ops->settings, &(ep)->cfg, key)

START_TEST(test_defaults_aiwae)
{
    aw_spec_t s = load_one("{}", NULL, 0);
    ck_assert_str_eq(s.name, "unit");
    ck_assert_str_eq(s.source, "experiments/unit.yaml");
    ck_assert_uint_eq(s.seed, 0);
    ck_assert_int_eq(s.repeat, 0);
    ck_assert_str_eq(s.dataset.name, "mnist");
    ck_assert_str_eq(s.dataset.dir, "");
    ck_assert_str_eq(s.dataset.binarize, "dynamic");
    ck_assert_int_eq(s.dataset.train_size, 0);
    ck_assert_int_eq(s.dataset.test_size, 0);
    ck_assert_int_eq(s.model.latent, 50);
    ck_assert_int_eq(s.model.n_hidden, 2);
    ck_assert_int_eq(s.model.hidden[0], 200);
    ck_assert_int_eq(s.model.hidden[1], 200);
    ck_assert_str_eq(s.method.name, "aiwae");
    ck_assert_int_eq(MV(&s, "samples"), 5);
    ck_assert_int_eq(MV(&s, "temperatures"), 5);
    ck_assert_int_eq(MV(&s, "leapfrog"), 5);
    ck_assert(MV(&s, "step_size.init") == 0.1f && MV(&s, "step_size.min") == 0.001f &&
              MV(&s, "step_size.max") == 0.3f && MV(&s, "step_size.target_accept") == 0.6f);
    ck_assert(s.train.adam.beta1 == 0.9f && s.train.adam.beta2 == 0.999f && s.train.adam.eps == 1e-4f);
    ck_assert_int_eq(s.train.epochs, 3280);
    ck_assert_int_eq(s.train.batch_size, 128);
    ck_assert(s.train.learning_rate == 1e-3f);
    ck_assert_str_eq(s.train.schedule, "burda");
    ck_assert_int_eq(s.train.checkpoint_every, 0);
    ck_assert_int_eq(s.train.threads, 2);
    ck_assert_int_eq(s.n_eval, 2);
    const aw_eval_spec_t *e = &s.eval[0];
    ck_assert_str_eq(e->estimator, "iwae_bound");
    ck_assert_str_eq(e->split, "test");
    ck_assert_int_eq(e->size, 0);
    ck_assert_int_eq(e->every, 0);
    ck_assert_int_eq(EV(e, "samples"), 5000);
    ck_assert_int_eq(e->batch, 32);
    ck_assert(isnan(EV(e, "chains")));
    e = &s.eval[1];
    ck_assert_str_eq(e->estimator, "ais_nll");
    ck_assert_int_eq(e->size, 1000);
    ck_assert_int_eq(EV(e, "chains"), 16);
    ck_assert_int_eq(EV(e, "temperatures"), 10000);
    ck_assert_int_eq(EV(e, "leapfrog"), 10);
    ck_assert_int_eq(EV(e, "schedule"), 0);
    ck_assert_int_eq(e->batch, 256);
    ck_assert(isnan(EV(e, "samples")));
    ck_assert(EV(e, "step_size.init") == 0.1f && EV(e, "step_size.min") == 0.0001f && EV(e, "step_size.max") == 10.0f &&
              EV(e, "step_size.target_accept") == 0.6f);
    ck_assert_int_eq((int)strlen(s.identity), 64);
    aw_spec_fini(&s);
}
END_TEST

START_TEST(test_defaults_per_method)
{
    aw_spec_t s = load_one("method: {name: iwae}\n", NULL, 0);
    ck_assert_int_eq(MV(&s, "samples"), 5);
    ck_assert_int_eq(s.train.batch_size, 20);
    ck_assert(isnan(MV(&s, "temperatures")));
    ck_assert(isnan(MV(&s, "step_size.init")));
    ck_assert(s.train.adam.beta1 == 0.9f);
    ck_assert_ptr_null(strstr(s.canonical, "temperatures: 5"));
    aw_spec_fini(&s);
    s = load_one("method: {name: vae}\n", NULL, 0);
    ck_assert_int_eq(MV(&s, "samples"), 1);
    ck_assert_int_eq(s.train.batch_size, 20);
    aw_spec_fini(&s);
    /* ~ means the default everywhere. */
    s = load_one("method: {name: iwae, samples: ~}\ntrain: ~\nevaluate: ~\nseed: null\n", NULL, 0);
    ck_assert_int_eq(MV(&s, "samples"), 5);
    ck_assert_int_eq(s.train.epochs, 3280);
    ck_assert_int_eq(s.n_eval, 2);
    aw_spec_fini(&s);
}
END_TEST

START_TEST(test_full_spec)
{
    const char *yaml = "name: mnist_aiwae_k5\n"
                       "seed: 18446744073709551615\n"
                       "repeat: 3\n"
                       "dataset: {name: idx, dir: /data, train_images: tr.gz, test_images: te.gz,\n"
                       "          test_labels: tl.gz, binarize: 0.5, train_size: 2000, test_size: 500}\n"
                       "model: {latent: 10, hidden: [64, 32, 16]}\n"
                       "method: {name: aiwae, samples: 3, temperatures: 2, leapfrog: 1,\n"
                       "         step_size: {init: 0.05, min: 0.01, max: 0.2, target_accept: 0.65}}\n"
                       "train: {epochs: 7, batch_size: 64, learning_rate: 3.0e-4, schedule: constant,\n"
                       "        adam: {beta1: 0.5, beta2: 0, eps: 1e-8}, checkpoint_every: 2, threads: 1}\n"
                       "evaluate:\n"
                       "  - {estimator: ais_nll, chains: 4, temperatures: 100, leapfrog: 3, schedule: sigmoid,\n"
                       "     split: train, size: 50, every: 2, batch: 10, step_size: {init: 0.2}}\n";
    aw_spec_t s = load_one(yaml, NULL, 0);
    ck_assert_str_eq(s.name, "mnist_aiwae_k5");
    ck_assert_uint_eq(s.seed, UINT64_MAX);
    ck_assert_int_eq(s.repeat, 3);
    ck_assert_str_eq(s.dataset.name, "idx");
    ck_assert_str_eq(s.dataset.dir, "/data");
    ck_assert_str_eq(s.dataset.train_images, "tr.gz");
    ck_assert_str_eq(s.dataset.train_labels, "");
    ck_assert_str_eq(s.dataset.test_images, "te.gz");
    ck_assert_str_eq(s.dataset.test_labels, "tl.gz");
    ck_assert_str_eq(s.dataset.binarize, "0.5");
    ck_assert_int_eq(s.dataset.train_size, 2000);
    ck_assert_int_eq(s.dataset.test_size, 500);
    ck_assert_int_eq(s.model.n_hidden, 3);
    ck_assert_int_eq(s.model.hidden[2], 16);
    ck_assert_int_eq(MV(&s, "temperatures"), 2);
    ck_assert(MV(&s, "step_size.init") == 0.05f && MV(&s, "step_size.target_accept") == 0.65f);
    ck_assert(s.train.adam.beta1 == 0.5f && s.train.adam.beta2 == 0.0f && s.train.adam.eps == 1e-8f);
    ck_assert(s.train.learning_rate == 3e-4f);
    ck_assert_str_eq(s.train.schedule, "constant");
    ck_assert_int_eq(s.n_eval, 1);
    ck_assert_int_eq(EV(&s.eval[0], "schedule"), 1);
    ck_assert_int_eq(s.eval[0].every, 2);
    ck_assert_str_eq(s.eval[0].split, "train");
    ck_assert(EV(&s.eval[0], "step_size.init") == 0.2f && EV(&s.eval[0], "step_size.min") == 0.0001f);
    /* The canonical text prints floats in their shortest exact form. */
    ck_assert_ptr_nonnull(strstr(s.canonical, "  learning_rate: 0.0003\n"));
    ck_assert_ptr_nonnull(strstr(s.canonical, "    eps: 1.0e-08\n"));
    ck_assert_ptr_nonnull(strstr(s.canonical, "  train_labels: ~\n"));
    ck_assert_ptr_nonnull(strstr(s.canonical, "seed: 18446744073709551615\n"));
    aw_spec_fini(&s);
}
END_TEST

static void assert_same_spec(const aw_spec_t *a, const aw_spec_t *b)
{
    aw_spec_t x = *a, y = *b;
    memset(x.source, 0, sizeof x.source);
    memset(y.source, 0, sizeof y.source);
    x.canonical = y.canonical = NULL;
    ck_assert_int_eq(memcmp(&x, &y, sizeof x), 0);
    ck_assert_str_eq(a->canonical, b->canonical);
    ck_assert_str_eq(a->identity, b->identity);
}

/* ---- overrides ---- */

START_TEST(test_overrides)
{
    const char *yaml = "method: {name: iwae, samples: 50}\nsweep: {repeat: [0, 1]}\n";
    const char *set[] = {"evaluate=[]", "sweep={}", "dataset.train_size=2000", "model.hidden=[100,100]",
                         "method.samples=5", "train.adam.eps=1e-8", "method.samples=7", "dataset.dir=~"};
    aw_spec_t s = load_one(yaml, set, 8);
    ck_assert_int_eq(s.n_eval, 0);
    ck_assert_int_eq(s.dataset.train_size, 2000);
    ck_assert_int_eq(s.model.n_hidden, 2);
    ck_assert_int_eq(s.model.hidden[0], 100);
    ck_assert_int_eq(s.model.hidden[1], 100);
    ck_assert_int_eq(MV(&s, "samples"), 7); /* later overrides win */
    ck_assert(s.train.adam.eps == 1e-8f);      /* missing train and train.adam were created */
    ck_assert_str_eq(s.method.name, "iwae");
    ck_assert_str_eq(s.name, "unit");
    ck_assert_ptr_nonnull(strstr(s.canonical, "evaluate: []\n"));
    aw_spec_fini(&s);

    /* Indexing the absent evaluate list starts from the default list. */
    const char *set2[] = {"evaluate[1].temperatures=100", "evaluate.0.size=10", "method={name: vae}"};
    s = load_one("method: {name: aiwae, temperatures: 9}\n", set2, 3);
    ck_assert_int_eq(s.n_eval, 2);
    ck_assert_int_eq(s.eval[0].size, 10);
    ck_assert_int_eq(EV(&s.eval[0], "samples"), 5000);
    ck_assert_int_eq(EV(&s.eval[1], "temperatures"), 100);
    ck_assert_int_eq(s.eval[1].size, 1000);
    ck_assert_str_eq(s.method.name, "vae"); /* the whole mapping was replaced */
    aw_spec_fini(&s);
}
END_TEST

/* ---- sweeps ---- */

START_TEST(test_sweep_expansion)
{
    const char *yaml = "name: mnist_iwae\nmethod: {name: iwae}\nsweep:\n  method.samples: [1, 5, 50]\n"
                       "  repeat: [0, 1, 2]\n";
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_spec_load_string(yaml, "x.yaml", NULL, 0, &l, &err), AW_OK);
    ck_assert_int_eq(l.n, 9);
    static const int samples[] = {1, 5, 50};
    for (int i = 0; i < 9; i++) {
        char name[64];
        snprintf(name, sizeof name, "mnist_iwae-method.samples=%d-repeat=%d", samples[i / 3], i % 3);
        ck_assert_str_eq(l.runs[i].name, name);
        ck_assert_int_eq(MV(&l.runs[i], "samples"), samples[i / 3]);
        ck_assert_int_eq(l.runs[i].repeat, i % 3);
        ck_assert_ptr_null(strstr(l.runs[i].canonical, "sweep"));
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(l.runs[i].identity, l.runs[j].identity);
    }
    aw_spec_list_fini(&l);
    ck_assert_int_eq(l.n, 0);
    ck_assert_ptr_null(l.runs);

    /* Sequence values, index paths, sanitized values; --set sweep.KEY replaces a sweep's values. */
    yaml = "sweep:\n  model.hidden: [[100], [200, 200]]\n  evaluate[1].size: [10, 20]\n"
           "  dataset.dir: [\"/d 1\"]\n";
    const char *set[] = {"sweep.evaluate[1].size=[30]"};
    ck_assert_int_eq(aw_spec_load_string(yaml, "dir/base.v2.yaml", set, 1, &l, &err), AW_OK);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.runs[0].name, "base.v2-model.hidden=100-evaluate.1.size=30-dataset.dir=_d_1");
    ck_assert_str_eq(l.runs[1].name, "base.v2-model.hidden=200,200-evaluate.1.size=30-dataset.dir=_d_1");
    ck_assert_int_eq(l.runs[1].model.n_hidden, 2);
    ck_assert_int_eq(l.runs[0].eval[1].size, 30);
    ck_assert_str_eq(l.runs[0].dataset.dir, "/d 1");
    /* A run of a sweep reads back from its canonical text, name included. */
    aw_spec_t back;
    ck_assert_int_eq(aw_spec_from_canonical(l.runs[1].canonical, "run x", &back, &err), AW_OK);
    assert_same_spec(&l.runs[1], &back);
    aw_spec_fini(&back);
    aw_spec_list_fini(&l);

    /* A --set beside a sweep: a parent of a swept key whose value leaves that key to the sweep, or with the
     * sweep dropped, is fine. */
    const char *beside[] = {"method={name: iwae}", "train.epochs=4"};
    ck_assert_int_eq(aw_spec_load_string("sweep: {method.samples: [1, 5]}\n", "s.yaml", beside, 2, &l, &err), AW_OK);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(MV(&l.runs[1], "samples"), 5);
    ck_assert_int_eq(l.runs[1].train.epochs, 4);
    aw_spec_list_fini(&l);
    const char *dropped[] = {"sweep={}", "method.samples=7"};
    ck_assert_int_eq(aw_spec_load_string("sweep: {method.samples: [1, 5]}\n", "s.yaml", dropped, 2, &l, &err), AW_OK);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(MV(&l.runs[0], "samples"), 7);
    aw_spec_list_fini(&l);

    /* Run names may reach 255 bytes with the suffix, not more. */
    char big[400], zeros[300], want[700];
    memset(zeros, '0', 246);
    zeros[246] = '\0';
    snprintf(big, sizeof big, "name: %s\nsweep: {repeat: [1, 10]}\n", zeros);
    ck_assert_int_eq(aw_spec_load_string(big, "b.yaml", NULL, 0, &l, &err), AW_ESPEC);
    snprintf(want, sizeof want,
             "b.yaml:2:9: sweep: expected run names of at most 255 bytes, found 256 (%s-repeat=10); shorten name",
             zeros);
    ck_assert_str_eq(err.msg, want);
    snprintf(big, sizeof big, "name: %s\nsweep: {repeat: [1, 10]}\n", zeros + 1);
    ck_assert_int_eq(aw_spec_load_string(big, "b.yaml", NULL, 0, &l, &err), AW_OK);
    ck_assert_int_eq((int)strlen(l.runs[1].name), 255);
    ck_assert_int_eq(aw_spec_from_canonical(l.runs[1].canonical, "run x", &back, &err), AW_OK);
    assert_same_spec(&l.runs[1], &back);
    aw_spec_fini(&back);
    aw_spec_list_fini(&l);

    /* Sweeping a method changes which keys apply and the defaults. */
    ck_assert_int_eq(aw_spec_load_string("sweep: {method.name: [vae, aiwae]}\n", "m.yaml", NULL, 0, &l, &err), AW_OK);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(l.runs[0].train.batch_size, 20);
    ck_assert_int_eq(l.runs[1].train.batch_size, 128);
    aw_spec_list_fini(&l);

    /* sweep: {} and sweep: ~ are one run. */
    ck_assert_int_eq(aw_spec_load_string("sweep: ~\n", "m.yaml", NULL, 0, &l, &err), AW_OK);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.runs[0].name, "m");
    aw_spec_list_fini(&l);
}
END_TEST

START_TEST(test_sweep_limit)
{
    const char *yaml = "sweep:\n  seed: [0,1,2,3,4,5,6,7,8,9,10]\n  repeat: [0,1,2,3,4,5,6,7,8,9]\n"
                       "  model.latent: [1,2,3,4,5,6,7,8,9,10]\n";
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_spec_load_string(yaml, "x.yaml", NULL, 0, &l, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "x.yaml:2:3: sweep: expected at most 1000 runs, found more");
}
END_TEST

/* ---- canonical text and identity ---- */

START_TEST(test_canonical_round_trip)
{
    static const char *const yamls[] = {
        "{}",
        "method: {name: vae}\nevaluate: []\n",
        ("name: x\nseed: 12345678901234\ndataset: {name: idx, dir: \"we\\\"ird: #path \\\\ \\t ü \\x85 \\x01\", "
         "train_images: \"null\", test_images: '~', binarize: 0.30000000000000004}\n"
         "train: {learning_rate: 1.17549435e-38, adam: {beta1: 0.123456789, eps: 3.4e38}}\n"
         "method: {step_size: {init: 0.1000001, max: 0.30000001}}\n"),
        ("model: {hidden: [1]}\nevaluate: [{estimator: ais_nll, schedule: sigmoid, every: 5}, "
         "{estimator: iwae_bound, samples: 1, split: train}]\n"),
        "dataset: {name: omniglot, binarize: fixed}\nname: \"1e3\"\n",
        "dataset: {binarize: 1e-7}\n",
    };
    for (size_t i = 0; i < sizeof yamls / sizeof yamls[0]; i++) {
        aw_spec_list_t l;
        aw_error_t err = {0};
        ck_assert_msg(aw_spec_load_string(yamls[i], "rt.yaml", NULL, 0, &l, &err) == AW_OK, "%s", err.msg);
        aw_spec_t back;
        char label[128];
        snprintf(label, sizeof label, "run %s", l.runs[0].identity);
        ck_assert_msg(aw_spec_from_canonical(l.runs[0].canonical, label, &back, &err) == AW_OK, "%s: %s", err.msg,
                      l.runs[0].canonical);
        assert_same_spec(&l.runs[0], &back);
        ck_assert_str_eq(back.source, label);
        aw_spec_fini(&back);
        aw_spec_list_fini(&l);
    }
    /* Strings came back byte for byte. */
    aw_spec_t s = load_one(yamls[2], NULL, 0);
    ck_assert_str_eq(s.dataset.dir, "we\"ird: #path \\ \t \xc3\xbc \xc2\x85 \x01");
    ck_assert_str_eq(s.dataset.train_images, "null");
    ck_assert_str_eq(s.dataset.test_images, "~");
    ck_assert_str_eq(s.dataset.binarize, "0.30000000000000004");
    aw_spec_fini(&s);
    s = load_one(yamls[5], NULL, 0);
    ck_assert_str_eq(s.dataset.binarize, "1.0e-07");
    aw_spec_fini(&s);
    /* And the other specs hold what they say (the round trip alone would pass a reader that dropped it). */
    s = load_one(yamls[1], NULL, 0);
    ck_assert_str_eq(s.method.name, "vae");
    ck_assert_int_eq(s.n_eval, 0);
    aw_spec_fini(&s);
    s = load_one(yamls[3], NULL, 0);
    ck_assert_int_eq(s.model.n_hidden, 1);
    ck_assert_int_eq(s.model.hidden[0], 1);
    ck_assert_int_eq(s.n_eval, 2);
    ck_assert_str_eq(s.eval[0].estimator, "ais_nll");
    ck_assert_int_eq(EV(&s.eval[0], "schedule"), 1);
    ck_assert_int_eq(s.eval[0].every, 5);
    ck_assert_str_eq(s.eval[1].estimator, "iwae_bound");
    ck_assert_int_eq(EV(&s.eval[1], "samples"), 1);
    ck_assert_str_eq(s.eval[1].split, "train");
    aw_spec_fini(&s);
    s = load_one(yamls[4], NULL, 0);
    ck_assert_str_eq(s.dataset.name, "omniglot");
    ck_assert_str_eq(s.dataset.binarize, "fixed");
    ck_assert_str_eq(s.name, "1e3");
    aw_spec_fini(&s);
}
END_TEST

/* evaluate[].shards (cluster mode) is neither in the run's identity nor in the evaluation's settings string:
 * a sharded evaluation is stored under the unsharded one's key. */
START_TEST(test_shards_outside_keys)
{
    aw_spec_t a = load_one("evaluate: [{estimator: ais_nll, size: 50, batch: 5}]\n", NULL, 0);
    aw_spec_t b = load_one("evaluate: [{estimator: ais_nll, size: 50, batch: 5, shards: 4}]\n", NULL, 0);
    ck_assert_int_eq(a.eval[0].shards, 1);
    ck_assert_int_eq(b.eval[0].shards, 4);
    ck_assert_str_eq(a.identity, b.identity);
    char *sa = aw_spec_eval_settings(&a.eval[0], 50), *sb = aw_spec_eval_settings(&b.eval[0], 50);
    ck_assert_ptr_nonnull(sa);
    ck_assert_ptr_nonnull(sb);
    ck_assert_str_eq(sa, sb);
    ck_assert_ptr_null(strstr(sa, "shards"));
    ck_assert_ptr_nonnull(strstr(b.canonical, "    shards: 4\n"));
    free(sa);
    free(sb);
    aw_spec_fini(&a);
    aw_spec_fini(&b);
}
END_TEST

START_TEST(test_canonical_text)
{
    aw_spec_t s = load_one("name: k5\nmethod: {name: iwae}\nevaluate: [{estimator: iwae_bound, size: 100}]\n",
                           NULL, 0);
    ck_assert_str_eq(s.canonical, "name: \"k5\"\n"
                                  "seed: 0\n"
                                  "repeat: 0\n"
                                  "dataset:\n"
                                  "  name: mnist\n"
                                  "  dir: ~\n"
                                  "  binarize: dynamic\n"
                                  "  train_size: ~\n"
                                  "  test_size: ~\n"
                                  "model:\n"
                                  "  latent: 50\n"
                                  "  hidden: [200, 200]\n"
                                  "method:\n"
                                  "  name: iwae\n"
                                  "  samples: 5\n"
                                  "train:\n"
                                  "  epochs: 3280\n"
                                  "  batch_size: 20\n"
                                  "  learning_rate: 0.001\n"
                                  "  schedule: burda\n"
                                  "  adam:\n"
                                  "    beta1: 0.9\n"
                                  "    beta2: 0.999\n"
                                  "    eps: 0.0001\n"
                                  "  checkpoint_every: ~\n"
                                  "  threads: 2\n"
                                  "evaluate:\n"
                                  "  - estimator: iwae_bound\n"
                                  "    split: test\n"
                                  "    size: 100\n"
                                  "    every: ~\n"
                                  "    batch: 32\n"
                                  "    shards: 1\n"
                                  "    samples: 5000\n");
    /* The identity hashes the training: the same text up to the evaluations, without the name,
     * checkpoint_every and threads lines. */
    const char *c = s.canonical;
    const char *nl = strchr(c, '\n') + 1, *ck = strstr(c, "  checkpoint_every: ~\n");
    char buf[2048];
    size_t n1 = (size_t)(ck - nl);
    memcpy(buf, nl, n1);
    buf[n1] = '\0';
    char hex[AW_SHA256_HEX];
    aw_sha256_hex(buf, strlen(buf), hex);
    ck_assert_str_eq(s.identity, hex);
    aw_spec_fini(&s);
}
END_TEST

START_TEST(test_identity)
{
    aw_spec_t base = load_one("name: a\nseed: 1\n", NULL, 0);
    /* The identity is the training's: evaluations and the presentation and storage keys are not in it. */
    const char *same[] = {"name: b\nseed: 1\n", "name: a\nseed: 1\ntrain: {threads: 7}\n",
                          "seed: 1\nmethod: {samples: 5, leapfrog: 5}\ntrain: {learning_rate: 0.0010}\n",
                          "name: a\nseed: 1\nevaluate: []\n", "name: a\nseed: 1\ntrain: {checkpoint_every: 5}\n",
                          "name: a\nseed: 1\nevaluate: [{estimator: ais_nll, temperatures: 100}]\n"};
    const char *differ[] = {"name: a\nseed: 2\n", "name: a\nseed: 1\nrepeat: 1\n",
                            "name: a\nseed: 1\ndataset: {test_size: 100}\n",
                            "name: a\nseed: 1\ntrain: {batch_size: 64}\n",
                            "name: a\nseed: 1\nmethod: {step_size: {min: 0.002}}\n"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        aw_spec_t s = load_one(same[i], NULL, 0);
        ck_assert_str_eq(s.identity, base.identity);
        aw_spec_fini(&s);
    }
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        aw_spec_t s = load_one(differ[i], NULL, 0);
        ck_assert_str_ne(s.identity, base.identity);
        aw_spec_fini(&s);
    }
    /* A copy owns its own canonical text. */
    aw_spec_t c;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_spec_copy(&c, &base, &err), AW_OK);
    ck_assert_ptr_ne(c.canonical, base.canonical);
    assert_same_spec(&c, &base);
    aw_spec_fini(&c);
    ck_assert_ptr_null(c.canonical);
    aw_spec_fini(&base);
}
END_TEST

START_TEST(test_from_canonical_rejects_sweep)
{
    aw_spec_t s;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_spec_from_canonical("sweep: {repeat: [0, 1]}\n", "run abc", &s, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "run abc: expected one run, found a sweep of 2");
    ck_assert_int_eq(aw_spec_from_canonical("seed: x\n", "run abc", &s, &err), AW_ESPEC);
    ck_assert_str_eq(err.msg, "run abc:1:7: seed: expected an integer in 0..18446744073709551615, found \"x\"");
}
END_TEST

START_TEST(test_file_load)
{
    char path[] = "/tmp/aw_test_spec_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs("method: {name: iwae}\nsweep: {method.samples: [1, 2]}\n", f);
    ck_assert_int_eq(fclose(f), 0);
    const char *set[] = {"seed=4"};
    aw_spec_list_t l;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_spec_load(path, set, 1, &l, &err), AW_OK);
    ck_assert_int_eq(l.n, 2);
    char want[64];
    snprintf(want, sizeof want, "%s-method.samples=2", strrchr(path, '/') + 1); /* no extension to strip */
    ck_assert_str_eq(l.runs[1].name, want);
    ck_assert_str_eq(l.runs[1].source, path);
    ck_assert_uint_eq(l.runs[1].seed, 4);
    aw_spec_list_fini(&l);
    unlink(path);
}
END_TEST

/* ---- the node tree ---- */

START_TEST(test_ytree_scalars)
{
    static const struct {
        const char *yaml;
        int kind;
        const char *describe;
    } v[] = {
        {"5", 1, "5"},          {"-0012", 1, "-0012"},     {"+3", 1, "+3"},      {"1.5", 2, "1.5"},
        {".5", 2, ".5"},        {"1e3", 2, "1e3"},         {"1.e-3", 2, "1.e-3"}, {"-.inf", 2, "-.inf"},
        {".NaN", 2, ".NaN"},    {"-.nan", 0, "\"-.nan\""}, {"'5'", 0, "\"5\""},  {"0x1f", 0, "\"0x1f\""},
        {"1_000", 0, "\"1_000\""}, {"e3", 0, "\"e3\""},    {".", 0, "\".\""},    {"~", 0, "null"},
        {"[]", 0, "an empty sequence"}, {"{a: 1}", 0, "a mapping"}, {"{}", 0, "an empty mapping"},
        {"\"a\\\"b\"", 0, "\"a\\\"b\""},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        aw_ynode_t *n;
        aw_error_t err = {0};
        ck_assert_int_eq(aw_ytree_parse(v[i].yaml, strlen(v[i].yaml), "v", 0, &n, &err), AW_OK);
        ck_assert_ptr_nonnull(n);
        ck_assert_msg(aw_ynode_number_kind(n) == v[i].kind, "%s", v[i].yaml);
        char d[128];
        aw_ynode_describe(n, d, sizeof d);
        ck_assert_str_eq(d, v[i].describe);
        aw_ynode_free(n);
    }
    aw_ynode_t *n;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_ytree_parse("", 0, "v", 1, &n, &err), AW_OK);
    ck_assert_ptr_null(n);
    /* Aliases are expanded into copies with the anchor's positions. */
    const char *y = "a: &x [1, 2]\nb: *x\n";
    ck_assert_int_eq(aw_ytree_parse(y, strlen(y), "f", 1, &n, &err), AW_OK);
    ck_assert_int_eq(n->n, 2);
    ck_assert_int_eq(n->vals[1]->n, 2);
    ck_assert_ptr_ne(n->vals[0], n->vals[1]);
    ck_assert_int_eq(n->keys[1]->line, 2);
    char w[64];
    aw_ynode_where(n->vals[1]->vals[1], w, sizeof w);
    ck_assert_str_eq(w, "f:1:11");
    aw_ynode_t *c = aw_ynode_copy(n);
    ck_assert_ptr_nonnull(c);
    aw_ynode_remove(c, 0);
    ck_assert_int_eq(c->n, 1);
    ck_assert_int_eq(aw_ynode_find(c, "b"), 0);
    ck_assert_int_eq(aw_ynode_find(c, "a"), -1);
    aw_ynode_free(c);
    aw_ynode_free(n);
}
END_TEST

static Suite *spec_suite(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("sha256");
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_sha256_split);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_error_files, 0, N_FILE_ERRORS);
    tcase_add_test(tc, test_error_files_all_listed);
    tcase_add_test(tc, test_missing_file);
    tcase_add_loop_test(tc, test_error_strings, 0, N_SET_ERRORS);
    suite_add_tcase(s, tc);
    tc = tcase_create("spec");
    tcase_add_test(tc, test_defaults_aiwae);
    tcase_add_test(tc, test_defaults_per_method);
    tcase_add_test(tc, test_full_spec);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_sweep_expansion);
    tcase_add_test(tc, test_sweep_limit);
    tcase_add_test(tc, test_canonical_round_trip);
    tcase_add_test(tc, test_canonical_text);
    tcase_add_test(tc, test_shards_outside_keys);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_from_canonical_rejects_sweep);
    tcase_add_test(tc, test_file_load);
    tcase_add_test(tc, test_ytree_scalars);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
