/*
 * run_sealed: an unnamed temporary file whose bytes on disk are encrypted, for what a run must
 * keep a while but must never write in the clear (a clinic's own episode ids).
 *
 * The stream is AES-256-CTR (nettle) under a key and counter drawn from the kernel at open,
 * held only in this process's memory and wiped at fclose: a killed run leaves an unlinked file
 * no one can read. Plain stdio for the caller (fopencookie): written once from the start, then
 * read from the start (fseek(fp, 0, SEEK_SET), as many times as wanted). A seek that needs the
 * file at another position, and a write after the first seek, fail with EINVAL. No integrity tag:
 * the file never leaves the run.
 */
#ifndef RUN_SEALED_H
#define RUN_SEALED_H

#include "../common/tdi_status.h"

#include <stdio.h>

/* A new sealed file in dir (an unlinked file there, as run_spool_stream). Closed with fclose. */
tdi_status run_sealed_open(const char *dir, FILE **out);

#endif
