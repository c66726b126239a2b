/*
 * run_order: a spool's entries in an order of the caller's, not their positions, in bounded
 * memory (an external merge sort).
 *
 * A body's file goes out in the order of its episode keys, HMACs: fetched one at a time, every
 * entry is a read at a random place of the spool (1M records: ~1.9 s of the kernel's CPU for the
 * calls and page-cache lookups). Sorted instead, the spool is read once in sequence, the kept
 * entries are sorted a chunk at a time and written as sorted runs to a second unnamed file, and
 * the runs are merged as they are read back, again in sequence. Memory: the chunk, then one
 * buffer per run, both within the mem given; the work directory holds the runs beside the spool
 * (as large as the entries kept) until run_order_close().
 */
#ifndef RUN_ORDER_H
#define RUN_ORDER_H

#include "run_spool.h"

#include "../common/tdi_status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct run_order run_order;

/* Orders two entries: < 0, 0, > 0. Ties go by spool position. */
typedef int (*run_order_cmp)(const void *a, const void *b);
/* 1 when the entry is to be ordered, 0 to leave it out. */
typedef int (*run_order_keep)(const void *entry, void *arg);

/* Sorts the entries of sp that keep(entry, arg) keeps (every one when keep is NULL) by cmp, then
 * position, with at most mem bytes (but room for one entry) for the chunk and for the merge's
 * buffers; the sorted runs go to an unnamed file in dir. sp is read, not changed, and must outlive
 * nothing here: *out holds what it needs. */
tdi_status run_order_open(run_spool *sp, run_order_cmp cmp, run_order_keep keep, void *arg,
                          const char *dir, size_t mem, run_order **out);
/* The next entry in order into entry (the spool's entry size) and its spool position into *pos;
 * *eof = 1 after the last. */
tdi_status run_order_next(run_order *o, void *entry, uint64_t *pos, int *eof);
/* Frees o and its file (NULL is fine). */
void run_order_close(run_order *o);

#endif
