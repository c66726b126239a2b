/*
 * dc_audit: the audit of a suppressed set of tables by linear programming (GLPK).
 *
 * For every suppressed cell of a set (dc_suppress.h), the smallest and largest value consistent
 * with every published cell, every relation of the set (within and across its grids) and
 * non-negativity: an interval an attacker holding the published tables can compute, whatever
 * they combine. A relation's residual (records counted only in its total) is taken as known
 * when the audit has the true values (the run: it can only over-protect), and as any
 * non-negative number when it has only the published cells (a received file).
 *
 * A cell passes when its interval is at least as wide as it needs: the protection level, or
 * the smallest published grand total of a table that counts the cell (its own, or one of a
 * cell an exact relation of two says is equal) when that is smaller: no count of a table can be
 * told apart more finely than 0..its published grand total, which may be under the threshold.
 *
 * The linear programs are solved per connected part of the suppressed cells (cells sharing a
 * relation), so the cost grows with the number of tables and suppressed cells, not with the
 * number of records counted.
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
tdi_status dc_audit(const dc_set *s, unsigned long protection, int values_known,
                    dc_interval_fn each, dc_interval_fn fail, void *ctx, size_t *nfail);

/* dc_set_suppress(), then audit -> suppress more -> audit until every cell passes. protection
 * 0 means threshold. *count (may be NULL): suppressed cells; *rounds (may be NULL): audits run.
 * TDI_ERR_DISCLOSURE when a failing cell has nothing left to suppress around it. */
tdi_status dc_set_protect(dc_set *s, unsigned long threshold, unsigned long protection,
                          size_t *count, size_t *rounds);

#endif
