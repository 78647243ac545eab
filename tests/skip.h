/* skip.h: a Check test that cannot run says so instead of passing silently.
 *
 * AW_SKIP("reason", ...) inside a START_TEST body prints one line
 *     aiwae-skip: <test function>: <reason>
 * to standard output and ends the test. tests/summary.sh counts these lines:
 * a skipped test is reported as skipped (with its reason), not as passed. */
#ifndef AW_TESTS_SKIP_H
#define AW_TESTS_SKIP_H

#include <stdio.h>

#define AW_SKIP(...)                                        \
    do {                                                    \
        printf("aiwae-skip: %s: ", __func__);               \
        printf(__VA_ARGS__);                                \
        printf("\n");                                       \
        fflush(stdout);                                     \
        return;                                             \
    } while (0)

#endif
