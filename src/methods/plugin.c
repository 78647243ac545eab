/* plugin.c: the method and estimator tables. Adding a method or an estimator: define its ops in its own
 * file under src/methods/ and add one row here (its declaration beside the row). */
#include "methods/plugin.h"

#include <stdio.h>
#include <string.h>

extern const aw_method_ops_t aw_vae_ops, aw_iwae_ops, aw_aiwae_ops;
static const aw_method_ops_t *const methods[] = {
    &aw_vae_ops,
    &aw_iwae_ops,
    &aw_aiwae_ops,
    NULL
};

extern const aw_estimator_ops_t aw_iwae_bound_ops, aw_ais_nll_ops, aw_active_units_ops;
static const aw_estimator_ops_t *const estimators[] = {
    &aw_iwae_bound_ops,
    &aw_ais_nll_ops,
    &aw_active_units_ops,
    NULL
};

const aw_method_ops_t *aw_method_default(void)
{
    return &aw_aiwae_ops;
}

#define N_METHODS ((int)(sizeof methods / sizeof methods[0]) - 1)
#define N_ESTIMATORS ((int)(sizeof estimators / sizeof estimators[0]) - 1)

const aw_method_ops_t *aw_method_at(int i)
{
    return i >= 0 && i < N_METHODS ? methods[i] : NULL;
}

const aw_estimator_ops_t *aw_estimator_at(int i)
{
    return i >= 0 && i < N_ESTIMATORS ? estimators[i] : NULL;
}

const aw_method_ops_t *aw_method_find(const char *name)
{
    for (int i = 0; methods[i] != NULL; i++)
        if (strcmp(methods[i]->name, name) == 0)
            return methods[i];
    return NULL;
}

const aw_estimator_ops_t *aw_estimator_find(const char *name)
{
    for (int i = 0; estimators[i] != NULL; i++)
        if (strcmp(estimators[i]->name, name) == 0)
            return estimators[i];
    return NULL;
}

int aw_method_index(const aw_method_ops_t *ops)
{
    for (int i = 0; methods[i] != NULL; i++)
        if (methods[i] == ops)
            return i;
    return -1;
}

const aw_estimator_ops_t *aw_estimator_for_table(const char *table)
{
    for (int i = 0; estimators[i] != NULL; i++)
        if (strcmp(estimators[i]->table, table) == 0)
            return estimators[i];
    return NULL;
}

void aw_estimator_tables(char *out, size_t n, const char *sep, const char *last_sep)
{
    const char *t[N_ESTIMATORS];
    int k = 0;
    for (int i = 0; i < N_ESTIMATORS; i++) {
        int seen = 0;
        for (int j = 0; j < k; j++)
            seen |= strcmp(t[j], estimators[i]->table) == 0;
        if (!seen)
            t[k++] = estimators[i]->table;
    }
    size_t o = 0;
    out[0] = '\0';
    for (int j = 0; j < k && o < n; j++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", j == 0 ? "" : j == k - 1 ? last_sep : sep, t[j]);
}

const char *const *aw_method_names(void)
{
    static const char *names[N_METHODS + 1];
    for (int i = 0; i < N_METHODS; i++)
        names[i] = methods[i]->name;
    return names;
}

const char *const *aw_estimator_names(void)
{
    static const char *names[N_ESTIMATORS + 1];
    for (int i = 0; i < N_ESTIMATORS; i++)
        names[i] = estimators[i]->name;
    return names;
}
