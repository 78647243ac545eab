/* plugin.c: the method and estimator tables. Adding a method: define its
 * aw_method_ops_t in its own file and add one row here. */
#include "methods/plugin.h"

#include <string.h>

#include "core/ais.h"
#include "core/objective.h"

static const aw_method_ops_t *const methods[] = {
    &aw_vae_ops,
    &aw_iwae_ops,
    &aw_aiwae_ops,
    NULL
};

static const aw_estimator_ops_t *const estimators[] = {
    &aw_iwae_bound_ops,
    &aw_ais_nll_ops,
    NULL
};

const aw_method_ops_t *aw_method_find(const char *name)
{
    for (size_t i = 0; methods[i] != NULL; i++)
        if (strcmp(methods[i]->name, name) == 0)
            return methods[i];
    return NULL;
}

const aw_estimator_ops_t *aw_estimator_find(const char *name)
{
    for (size_t i = 0; estimators[i] != NULL; i++)
        if (strcmp(estimators[i]->name, name) == 0)
            return estimators[i];
    return NULL;
}

const char *const *aw_method_names(void)
{
    static const char *names[sizeof methods / sizeof methods[0]];
    for (size_t i = 0; methods[i] != NULL; i++)
        names[i] = methods[i]->name;
    return names;
}

const char *const *aw_estimator_names(void)
{
    static const char *names[sizeof estimators / sizeof estimators[0]];
    for (size_t i = 0; estimators[i] != NULL; i++)
        names[i] = estimators[i]->name;
    return names;
}
