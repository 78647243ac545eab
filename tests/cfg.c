/* cfg.c: plugin config structs for tests (cfg.h). */
#include "cfg.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

const aw_adam_cfg_t test_adam = {0.9f, 0.999f, 1e-4f};

void *test_cfg(const aw_settings_t *st, aw_cfg_t *c, const char *const *kv)
{
    aw_error_t err = {0};
    ck_assert_msg(aw_settings_defaults(st, c->bytes, &err) == 0, "%s", err.msg);
    for (int i = 0; kv != NULL && kv[i] != NULL; i++) {
        char key[128];
        const char *eq = strchr(kv[i], '=');
        ck_assert_ptr_nonnull(eq);
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv[i]), kv[i]);
        ck_assert_msg(aw_settings_set(st, c->bytes, key, eq + 1, &err) == 0, "%s", err.msg);
    }
    return c->bytes;
}

const aw_method_ops_t *test_method(const char *name)
{
    const aw_method_ops_t *m = aw_method_find(name);
    ck_assert_ptr_nonnull(m);
    return m;
}

const aw_estimator_ops_t *test_estimator(const char *name)
{
    const aw_estimator_ops_t *e = aw_estimator_find(name);
    ck_assert_ptr_nonnull(e);
    return e;
}
