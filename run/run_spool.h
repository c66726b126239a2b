/*
 * run_spool: an append-only file of fixed-size entries, the run's memory of what it extracted.
 *
 * A run writes every transformed record once (in extraction order, or sorted a run at a time:
 * below) and later reads them back by position (the state database answers "which positions go
 * out, with which action"), so memory stays flat however many records there are. The file is
 * created unlinked (O_TMPFILE, or a .tdi-spool-*.tmp name removed at once where that is not
 * supported): a killed run leaves nothing behind. Writes are buffered; errors (disk full, file size
 * limit) are logged as "DIR: spool: write failed: REASON" and returned as TDI_ERR_OUTPUT.
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

/* ---- sorted runs: entries read back in key order without a read per entry ----
 * A spool made sorted keeps up to run_entries appended entries in memory, then gives them their
 * positions in the order of their keys (ties: in the order appended) and writes them as a sorted
 * run. Reading every entry in key order is then a merge of the runs, each read a buffer at a
 * time, where reading them by position in that order costs a read per entry (a body's file, in
 * the order of its episode keys: 1M entries, 1.3 s of system CPU). Memory stays flat: one run
 * of pending entries, and a merge's buffers within a fixed budget however many runs there are. */
#define RUN_SPOOL_KEY 20 /* bytes of an entry's sort key, compared as memcmp() does */

/* An entry's sort key, into key. */
typedef void (*run_spool_key_fn)(const void *entry, unsigned char key[RUN_SPOOL_KEY]);
/* Called for every entry as it gets its position (in position order); a failure fails the
 * append or settle that placed it. */
typedef tdi_status (*run_spool_sink_fn)(void *arg, uint64_t pos, const void *entry);

/* Makes the empty spool sp sorted. sink may be NULL. */
tdi_status run_spool_sorted(run_spool *sp, size_t run_entries, run_spool_key_fn key,
                            run_spool_sink_fn sink, void *arg);
/* Gives the pending entries their positions (a sorted run of them), so that a truncation to
 * run_spool_count() later drops only what was appended after (a source's attempt). A read or a
 * merge settles first. */
tdi_status run_spool_settle(run_spool *sp);
/* run_spool_settle(), then *mark = run_spool_count(): a mark a later cut can go back to (the
 * start of a source's attempt), or the entries there are to read. */
tdi_status run_spool_mark(run_spool *sp, uint64_t *mark);

typedef struct run_spool_merge run_spool_merge;

/* A read of every entry whose key is from *from on, in key order then position, across the
 * sorted runs of sp (settled first); its buffers take at most budget bytes (at least an entry a
 * run). *out is freed by run_spool_merge_close(). */
tdi_status run_spool_merge_open(run_spool *sp, const unsigned char from[RUN_SPOOL_KEY],
                                size_t budget, run_spool_merge **out);
/* The next entry in that order into entry (unless NULL: passed), with its position; *eof after
 * the last. */
tdi_status run_spool_merge_next(run_spool_merge *m, uint64_t *pos, void *entry, int *eof);
/* What run_spool_merge_next() gives next: its position and key (unless NULL), or 0 after the
 * last. */
int run_spool_merge_peek(const run_spool_merge *m, uint64_t *pos, unsigned char key[RUN_SPOOL_KEY]);
void run_spool_merge_close(run_spool_merge *m);

#endif
