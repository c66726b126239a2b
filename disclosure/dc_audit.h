/*
 * dc_audit: the audit of a suppressed set of tables by linear programming (GLPK).
 *
 * For every suppressed cell of a set (dc_suppress.h), the smallest and largest value consistent
 * with every published cell, every relation of the set (within and across its grids) and
 * non-negativity: an interval an attacker holding the published tables can compute, whatever
 * they combine. A relation's residual (records counted only in its total) is any non-negative
 * number, in the run as in a received file: no table publishes it (where one does, a relation
 * links its cells), and taken as known it pins cells no suppression can free (the status not
 * known of 8.1 is 9.1's residual per cell), so the run and `tdi audit-tables` judge the same
 * program; the run only knows one completion more (the true values) to start from.
 *
 * A cell fails when its interval shows a small count: it is narrower than the cell needs, and
 * neither zero throughout (no one is counted) nor at or above the protection level throughout
 * (a count that could be published). The width a cell needs: the protection level, or its
 * floor when that is smaller: the width of its interval when every cell but the grand totals
 * is suppressed. The published grand totals alone can pin a cell narrower than the level
 * (on the demo, 11.1.4's age of cannabis entrants, value 1: [0, 3] beside a grand total of 6);
 * no suppression of other cells makes it wider, and with all of them suppressed every cell
 * has its floor and passes, so the loop (dc_protect.h) always ends with a pass (and such a
 * set's verdict needs no program: dc_audit_some skips them unless every interval is asked for).
 * What the grand totals give away on their own (a difference of two of them) is accepted: they are
 * published whatever their value. The floor takes a program over the whole set, so it is solved
 * only for cells that fail otherwise (dc_audit_opts.floor keeps it across audits); before it the
 * need is the level or, when smaller, the smallest published grand total of a table that counts the
 * cell (its own, or one of a cell an exact relation of two says is equal): never below the
 * floor.
 *
 * The linear programs are solved per connected part of the suppressed cells (cells sharing a
 * relation), so the cost grows with the number of tables and suppressed cells, not with the
 * number of records counted. A part's program is built once; its solves only change the
 * objective and start from the previous basis. Every optimum is a completion, so the audit
 * first solves a few objectives that spread the cells' values (the sum of all, largest and
 * smallest, and fixed pseudo-random mixes) and solves for a cell of its own only when the
 * values seen so far do not already span its need.
 */
#ifndef DC_AUDIT_H
#define DC_AUDIT_H

#include "dc_suppress.h"

#include "../common/tdi_status.h"

#include <stddef.h>

typedef struct dc_interval {
    size_t cell;        /* set number */
    double lo, hi;      /* whole numbers; hi is INFINITY when nothing bounds the cell above */
    unsigned long need; /* the width the cell needs */
} dc_interval;

typedef void (*dc_interval_fn)(void *ctx, const dc_interval *iv);

/* Audits s: calls each (may be NULL) for every suppressed cell's interval and fail (may be
 * NULL) for every cell that does not pass (file comment); *nfail (may be NULL) gets their
 * number. values_known: the grids hold the true value of every cell (else only the published
 * ones). protection: the width needed (0: none). TDI_ERR_INTERNAL when out of memory or the
 * solver fails. */
tdi_status dc_audit(dc_set *s, unsigned long protection, int values_known, dc_interval_fn each,
                    dc_interval_fn fail, void *ctx, size_t *nfail);

/* dc_audit() with its options in one place, and of some cells only. */
typedef struct dc_audit_opts {
    unsigned long protection;
    int values_known;
    const unsigned char *only; /* per cell, or NULL: solve and judge only the flagged cells; the
                                * rest are taken as passing (each, fail and nfail never see
                                * them): suppressing more only widens an interval */
    dc_interval_fn each, fail;
    void *ctx;
    double *floor; /* per cell, or NULL: the floors found (NAN: not yet), kept across calls */
    /* per cell, or NULL: the width of every failing cell with every cell suppressed but the
     * grand totals and the kept published ones (dc_set_is_fixed), kept across calls like floor.
     * Below the need, no suppression that keeps what is kept protects the cell: the caller
     * protects the set without its keeps (dc_protect.h). It never lowers the need: an auditor
     * knows nothing of what tdi kept. */
    double *kept_floor;
} dc_audit_opts;
/* *nsolves (may be NULL): the linear programs solved. TDI_ERR_INTERRUPTED when a signal asked
 * to stop (common/tdi_signal.h; looked at before every solve). */
tdi_status dc_audit_some(dc_set *s, const dc_audit_opts *o, size_t *nfail, size_t *nsolves);

#endif
