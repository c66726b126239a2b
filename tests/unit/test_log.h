/* Shared by unit tests: captures tdi_log messages so tests can assert their exact text. */
#ifndef TEST_LOG_H
#define TEST_LOG_H

#include "../../common/tdi_log.h"

#include <stdio.h>
#include <string.h>

typedef struct test_log {
    char text[16384]; /* every message, each followed by '\n' */
    int count;
} test_log;

static void test_log_sink(void *ctx, tdi_log_level level, const char *msg)
{
    test_log *tl = ctx;
    size_t used = strlen(tl->text);

    (void)level;
    snprintf(tl->text + used, sizeof tl->text - used, "%s\n", msg);
    tl->count++;
}

static inline void test_log_start(test_log *tl)
{
    memset(tl, 0, sizeof *tl);
    tdi_log_set_sink(test_log_sink, tl);
}

static inline void test_log_stop(void)
{
    tdi_log_set_sink(NULL, NULL);
}

#endif
