/* store_migrate.h: schema migrations done in code (internal to src/store). Each runs inside the
 * transaction of its migration step. */
#ifndef AW_STORE_MIGRATE_H
#define AW_STORE_MIGRATE_H

#include "store/store.h"

/* Schema 2: every run re-keyed by the identity of its training (aw_spec_identity_of); runs of one training
 * folded into one. AW_EDB naming the run when a stored spec does not load. */
int aw_store_migrate_identities(aw_store_t *s, aw_error_t *err);

#endif
