/* schema.h: the spec's own key tables, section by section, for the files that print them (canon.c,
 * describe.c). The plugins' tables come from src/methods/plugin.h. */
#ifndef AW_SPEC_SCHEMA_H
#define AW_SPEC_SCHEMA_H

#include "methods/settings.h"

typedef struct aw_spec_section {
    const char *path;     /* "" for the top level, "dataset", ..., "evaluate[]" */
    const char *doc;      /* one line */
    const aw_key_t *keys; /* its table; offsets into aw_spec_t (evaluate[]: into aw_eval_spec_t) */
} aw_spec_section_t;

/* Every section in canonical order, terminated by a row whose path is NULL. */
extern const aw_spec_section_t AW_SPEC_SECTIONS[];

enum { AW_SEC_ROOT, AW_SEC_DATASET, AW_SEC_MODEL, AW_SEC_METHOD, AW_SEC_TRAIN, AW_SEC_EVAL };

#endif
