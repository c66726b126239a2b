/*
 * run_spool: an append-only file of fixed-size entries, the run's memory of what it extracted.
 *
 * A run writes every transformed record once, in extraction order, and later reads them back by
 * position (the state database answers "which positions go out, with which action"), so memory
 * stays flat however many records there are. The file is created unlinked (O_TMPFILE, or a
 * .tdi-spool-*.tmp name removed at once where that is not supported): a killed run leaves
 * nothing behind. Writes are buffered; errors (disk full, file size limit) are logged as
 * "DIR: spool: write failed: REASON" and returned as TDI_ERR_OUTPUT.
 */
#ifndef RUN_SPOOL_H
#define RUN_SPOOL_H

#include "../common/tdi_status.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct run_spool run_spool;

/* Creates an empty spool in dir for entries of entry_size bytes. */
tdi_status run_spool_open(const char *dir, size_t entry_size, run_spool **out);
/* An unnamed stdio file in dir, created the same way, for a stream written once and read back
 * (the actions of a body, fetched from the state database before its file is written). */
tdi_status run_spool_stream(const char *dir, FILE **out);
/* Closes and frees sp (NULL is fine); the space is returned to the file system. */
void run_spool_close(run_spool *sp);

tdi_status run_spool_append(run_spool *sp, const void *entry);
/* Number of entries appended (and not truncated away). */
uint64_t run_spool_count(const run_spool *sp);
/* Drops every entry from position count on (a source's failed attempt). */
tdi_status run_spool_truncate(run_spool *sp, uint64_t count);

/* Writes out what is buffered and frees the buffer (made again by the next append or read): a
 * finished source's segment waiting for its merge holds no memory. */
tdi_status run_spool_rest(run_spool *sp);

/* Copies the entry at position pos (< count) into entry. Reads ahead, so ascending positions
 * cost one read per buffer. Appends may follow reads (a source read again), and reads appends. */
tdi_status run_spool_read(run_spool *sp, uint64_t pos, void *entry);

#endif
