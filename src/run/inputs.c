/* inputs.c: a run's inputs (its resolved spec and its data files): checking them before any work, their
 * fingerprint, and the rule that a failed run is not retried while its inputs are those it failed with. */
#include "run/run_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"

/* Event kind of a failure, with message "inputs FINGERPRINT: MESSAGE". */
#define FAILED_EVENT "failed"
#define INPUTS_TAG "inputs "

/* The splits a run reads: train, and each evaluation's split once. */
static int check_splits(const aw_spec_t *spec, aw_sha256_t *fp, aw_error_t *err)
{
    aw_data_opts_t o;
    aw_run_data_opts(spec, &o);
    int rc = aw_data_check(&o, "train", fp, err);
    for (int i = 0; i < spec->n_eval && rc == AW_OK; i++) {
        int seen = strcmp(spec->eval[i].split, "train") == 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(spec->eval[j].split, spec->eval[i].split) == 0;
        if (!seen)
            rc = aw_data_check(&o, spec->eval[i].split, fp, err);
    }
    return rc;
}

int aw_run_check(const aw_spec_t *spec, char fingerprint[AW_SHA256_HEX], aw_error_t *err)
{
    fingerprint[0] = '\0';
    if (aw_method_find(spec->method.name) == NULL)
        return aw_error_set(err, AW_ESPEC, "%s: method.name: unknown method %s", spec->source, spec->method.name);
    aw_binarize_t bin;
    int rc = aw_binarize_parse(spec->dataset.binarize, &bin, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < spec->n_eval; i++)
        if (spec->eval[i].ops == NULL)
            return aw_error_set(err, AW_ESPEC, "%s: evaluate[%d].estimator: unknown estimator %s", spec->source,
                                i, spec->eval[i].estimator);
    aw_sha256_t fp;
    aw_sha256_init(&fp);
    aw_sha256_update(&fp, spec->canonical, strlen(spec->canonical) + 1);
    if ((rc = check_splits(spec, &fp, err)) < 0)
        return rc;
    uint8_t digest[AW_SHA256_BYTES];
    aw_sha256_final(&fp, digest);
    for (int i = 0; i < AW_SHA256_BYTES; i++)
        snprintf(fingerprint + 2 * i, 3, "%02x", digest[i]);
    return AW_OK;
}

/* The fingerprint and message of the run's newest failure event into fp[65] / msg[n] ("" when none). */
static int last_failure(aw_store_t *store, const char *identity, char *fp, char *msg, size_t n, aw_error_t *err)
{
    fp[0] = msg[0] = '\0';
    aw_store_event_t *ev = NULL;
    size_t nev = 0;
    int rc = aw_store_events_list(store, identity, &ev, &nev, err);
    if (rc < 0)
        return rc;
    for (size_t i = nev; i-- > 0;) {
        const char *m = ev[i].message;
        if (strcmp(ev[i].kind, FAILED_EVENT) != 0 || strncmp(m, INPUTS_TAG, strlen(INPUTS_TAG)) != 0)
            continue;
        m += strlen(INPUTS_TAG);
        size_t k = strspn(m, "0123456789abcdef");
        if (k == AW_SHA256_HEX - 1 && m[k] == ':') {
            memcpy(fp, m, k);
            fp[k] = '\0';
            snprintf(msg, n, "%s", m + k + (m[k + 1] == ' ' ? 2 : 1));
        }
        break;
    }
    aw_store_events_free(ev, nev);
    return AW_OK;
}

int aw_run_failed_unchanged(const aw_spec_t *spec, aw_store_t *store, int *unchanged, aw_error_t *err)
{
    *unchanged = 0;
    char was[AW_SHA256_HEX], now[AW_SHA256_HEX], msg[AW_ERROR_MSG_MAX - 200];
    int rc = last_failure(store, spec->identity, was, msg, sizeof msg, err);
    if (rc < 0)
        return rc;
    aw_error_t check = {0};
    if (was[0] == '\0' || aw_run_check(spec, now, &check) < 0 || strcmp(was, now) != 0)
        return AW_OK; /* inputs unknown, broken or changed: the run is tried again */
    *unchanged = 1;
    return aw_error_set(err, AW_OK, "failed before (%s) and its spec and data have not changed since; not retried "
                        "(--retry-failed retries it)", msg);
}

int aw_run_log_failure(const aw_spec_t *spec, aw_store_t *store, const char *message, aw_error_t *err)
{
    char fp[AW_SHA256_HEX], line[AW_ERROR_MSG_MAX + 100];
    aw_error_t check = {0};
    if (aw_run_check(spec, fp, &check) < 0)
        snprintf(fp, sizeof fp, "unknown");
    snprintf(line, sizeof line, INPUTS_TAG "%s: %s", fp, message);
    return aw_store_log_event(store, spec->identity, FAILED_EVENT, line, err);
}
