/*
 * dc_protect: suppression that passes the audit. dc_set_suppress() (dc_suppress.h), then audit
 * (dc_audit.h) -> suppress more -> audit again, until every suppressed cell is as wide as it
 * needs, in a bounded number of rounds:
 *   - a round audits only the parts of the set that changed since the last (a part no new
 *     cell joined has the same program, and passed);
 *   - for every failing cell at once it suppresses, in each relation holding the cell, the
 *     published cell that widens it best (the smallest at least as large as the width it
 *     lacks, else the largest; zeros and totals last), then secondary suppression again;
 *   - from round DC_PROTECT_WIDEN + 1 on it suppresses every cell but the grand total of each
 *     table a failing cell is in (and, when that table has nothing left, of the tables sharing
 *     a relation with the cell): a table suppressed throughout leaves its cells 0 .. its grand
 *     total, which dc_audit's need allows. Every round suppresses at least one more cell or
 *     stops, so the loop ends; a failing cell with nothing left around it is
 *     TDI_ERR_DISCLOSURE.
 */
#ifndef DC_PROTECT_H
#define DC_PROTECT_H

#include "dc_suppress.h"

#include "../common/tdi_status.h"

#include <stddef.h>

#ifndef DC_PROTECT_WIDEN
#define DC_PROTECT_WIDEN 3 /* rounds that suppress cell by cell before whole tables */
#endif

typedef struct dc_protect_stats {
    size_t before;  /* suppressed cells after dc_set_suppress() */
    size_t after;   /* suppressed cells when the audit passes (or stops) */
    size_t rounds;  /* audits run */
    size_t solves;  /* linear programs solved */
    size_t failing; /* cells failing the first audit */
    size_t tables;  /* rounds that suppressed whole tables */
} dc_protect_stats;

/* The loop (file comment). protection 0 means threshold. *stats (may be NULL) gets the figures,
 * also on failure. TDI_ERR_DISCLOSURE when a failing cell has nothing left to suppress around
 * it, TDI_ERR_INTERRUPTED when a signal asked to stop, TDI_ERR_INTERNAL when out of memory or
 * the solver fails. */
tdi_status dc_set_protect(dc_set *s, unsigned long threshold, unsigned long protection,
                          dc_protect_stats *stats);

#endif
