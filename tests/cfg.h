/* cfg.h: a plugin's config struct built in a test from its defaults and key/value texts. */
#ifndef AW_TESTS_CFG_H
#define AW_TESTS_CFG_H

#include "methods/plugin.h"

/* c = the defaults of st, then each "key=value" of the NULL-terminated list applied; the test fails on any
 * rejected value. Returns c->bytes. */
void *test_cfg(const aw_settings_t *st, aw_cfg_t *c, const char *const *kv);

/* The method (estimator) of that name; the test fails when there is none. */
const aw_method_ops_t *test_method(const char *name);
const aw_estimator_ops_t *test_estimator(const char *name);

/* Adam's defaults (train.adam). */
extern const aw_adam_cfg_t test_adam;

#endif
