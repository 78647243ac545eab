/* fuzz_spec.c: libFuzzer target for spec text and --set values (spec/). The input is split at the first
 * NUL byte: before it a spec file's text, after it one --set override. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t first = strlen(text);
    const char *set[1] = {first < size ? text + first + 1 : NULL};
    aw_spec_list_t l;
    aw_error_t err = {0};
    if (aw_spec_load_string(text, "fuzz.yaml", set, set[0] != NULL && strchr(set[0], '=') ? 1 : 0, &l, &err) == 0)
        aw_spec_list_fini(&l);
    free(text);
    return 0;
}
