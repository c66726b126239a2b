/*
 * Shared by the fuzz targets (clang libFuzzer, `make fuzz`): the readers under test take a path,
 * so each input is written to a scratch file first, and diagnostics are swallowed (a fuzzer
 * makes millions of them; what matters is that no input crashes, leaks or hangs).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "../../common/tdi_log.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fuzz_quiet(void *ctx, tdi_log_level level, const char *msg)
{
    (void)ctx;
    (void)level;
    (void)msg;
}

/* Writes data to a per-process scratch file (suffix names its kind) and returns its path. */
static const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[256];
    const char *tmp = getenv("TMPDIR");
    FILE *fp;

    if (!path[0]) {
        snprintf(path, sizeof path, "%s/tdi-fuzz-%ld%s", tmp && *tmp ? tmp : "/tmp", (long)getpid(),
                 suffix);
        tdi_log_set_sink(fuzz_quiet, NULL);
    }
    fp = fopen(path, "wb");
    if (!fp)
        abort(); /* the harness itself is broken: say so loudly */
    if (size && fwrite(data, 1, size, fp) != size)
        abort();
    if (fclose(fp) != 0)
        abort();
    return path;
}

#endif
