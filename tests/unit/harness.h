/* harness.h: the little that every Check test executable shares.
 *
 * Each tests/unit/test_<module>.c defines `Suite *<module>_suite(void)` and ends with
 * RAPT_TEST_MAIN(<module>_suite). Check forks per test (CK_FORK=no runs in-process for gdb or
 * valgrind) and enforces the per-case timeout set with RAPT_TCASE.
 */
#ifndef RAPT_TEST_HARNESS_H
#define RAPT_TEST_HARNESS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* Adds a test case named after its single test with a timeout in seconds. */
#define RAPT_TCASE(suite, fn, timeout)     \
    do {                                   \
        TCase *tc_ = tcase_create(#fn);    \
        tcase_set_timeout(tc_, (timeout)); \
        tcase_add_test(tc_, fn);           \
        suite_add_tcase((suite), tc_);     \
    } while (0)

#define RAPT_TEST_MAIN(suite_fn)                     \
    int main(void)                                   \
    {                                                \
        SRunner *sr = srunner_create(suite_fn());    \
        srunner_run_all(sr, CK_NORMAL);              \
        int failed = srunner_ntests_failed(sr);      \
        srunner_free(sr);                            \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS; \
    }

/* Path of a fixture tree, tests/fixtures/<name>. Returns a static buffer. */
static inline const char *fixture(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s", RAPT_FIXTURES, name);
    return buf;
}

/* "<$TMPDIR or /tmp>/<name>" into buf (for mkdtemp/mkostemp templates). Returns buf. */
static inline char *tmp_path(char *buf, size_t len, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, len, "%s/%s", t && *t ? t : "/tmp", name);
    return buf;
}

#endif /* RAPT_TEST_HARNESS_H */
