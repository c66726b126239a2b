/*
 * dc_protect: suppression that passes the audit. dc_set_suppress_level() (dc_suppress.h: the
 * sum rule at the protection level); a set without kept cells whose published grand totals are
 * all below the level (a body with fewer entrants than the threshold) then gets every cell but
 * the grand totals suppressed, which gives each cell its floor, all it needs (dc_audit.h), with
 * no audit; else audit (dc_audit.h: the program `tdi audit-tables`
 * judges; the true values only give its solves a start) -> suppress more -> audit again, until
 * every suppressed cell is as wide as it needs, in a bounded number of rounds:
 *   - a round re-solves only the cells that failed, the cells just suppressed and the
 *     suppressed zeros (dc_audit_opts.only): more suppression only widens an interval, so a
 *     cell that passed as wide as it needs stays passed; a zero that passed as zero throughout
 *     may not;
 *   - for every failing cell, unless a cell chosen this round is within two relations of it
 *     (the next audit tells whether that was enough: a cell's siblings fail together) or an
 *     exact program of this round showed it wide enough, a linear program (dc_widen.h) names
 *     the published cells whose suppression makes it as wide as it needs, looking 2, 4, 8,
 *     then 16 relations around it: a guess the first time, exact once it failed again or
 *     when the set marks it too narrow (dc_set_mark_narrow: an earlier audit of the same cells
 *     found it so, such as a blocked second stage's; a guess then rarely widens it); then
 *     secondary suppression again;
 *   - with cells kept (a second stage), a failing cell that the kept cells pin narrower than
 *     it needs whatever else is suppressed (dc_audit_opts.kept_floor) ends the loop after the
 *     first audit: no round could protect it;
 *   - a cell no release widens, or every failing cell from round DC_PROTECT_WIDEN + 1 on, gets
 *     every cell but the grand total of its table suppressed (and, when that table has nothing
 *     left, of the tables sharing a relation with the cell): a table suppressed throughout
 *     leaves its cells 0 .. its grand total, which dc_audit's need allows. A failing cell whose
 *     guess asks for no release waits for the next round's exact program; one whose exact
 *     program asks for none counts as a cell no release widens when nothing else is suppressed
 *     that round. Every round suppresses at least one more cell, or turns guesses exact, or
 *     stops, so the loop ends; a failing cell with nothing left around it is
 *     TDI_ERR_DISCLOSURE.
 */
#ifndef DC_PROTECT_H
#define DC_PROTECT_H

#include "dc_suppress.h"

#include "../common/tdi_status.h"

#include <stddef.h>

#ifndef DC_PROTECT_WIDEN
#define DC_PROTECT_WIDEN 12 /* rounds that suppress cell by cell before whole tables */
#endif

typedef struct dc_protect_stats {
    size_t before;  /* suppressed cells after dc_set_suppress() */
    size_t after;   /* suppressed cells when the audit passes (or stops) */
    size_t rounds;  /* audits run */
    size_t solves;  /* linear programs solved */
    size_t failing; /* cells failing the first audit */
    size_t tables;  /* rounds that suppressed whole tables */
    size_t blocked; /* a failing cell what is kept pins, or (size_t)-1 */
    size_t exact;   /* programs asked exact (dc_widen_ask.exact): for cells that failed before */
} dc_protect_stats;

/* The loop (file comment). protection 0 means threshold. *stats (may be NULL) gets the figures,
 * also on failure. The cells the first audit finds too narrow are marked so in s
 * (dc_set_mark_narrow), for a later protection of the same cells to start from. TDI_ERR_DISCLOSURE
 * when a failing cell has nothing left to suppress around it, or when the kept cells (dc_set_keep)
 * pin one narrower than it needs whatever else is suppressed (stats->blocked: found after the first
 * audit, before any program to widen it: the caller then protects the set without its keeps),
 * TDI_ERR_INTERRUPTED when a signal asked to stop, TDI_ERR_INTERNAL when out of memory or the
 * solver fails. */
tdi_status dc_set_protect(dc_set *s, unsigned long threshold, unsigned long protection,
                          dc_protect_stats *stats);

#endif
