/* Shared by unit tests: a cmocka fixture of a scratch directory and the captured log, made before
 * each test and removed after it. Include it first in a test file (it includes test_fs.h, which
 * asks for nftw with _XOPEN_SOURCE before any system header). */
#ifndef TEST_SCRATCH_H
#define TEST_SCRATCH_H

#include "test_fs.h"
#include "test_log.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct test_scratch {
    char dir[64]; /* scratch directory for generated inputs */
    test_log log;
} test_scratch;

/* A new test_scratch into *state, its directory /tmp/tdi-test-NAME-XXXXXX, the log captured from
 * here on; -1 when either cannot be had. */
static inline int test_scratch_setup(void **state, const char *name)
{
    test_scratch *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-%s-XXXXXX", name);
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    test_log_start(&fx->log);
    *state = fx;
    return 0;
}

/* The log no longer captured, the directory and everything in it removed, *state freed. */
static inline int test_scratch_teardown(void **state)
{
    test_scratch *fx = *state;

    test_log_stop();
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

#endif
