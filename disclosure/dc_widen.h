/*
 * dc_widen: which published cells to suppress so that one suppressed cell's interval gets as
 * wide as it needs, chosen by linear programming (GLPK), for the loop of dc_protect.h.
 *
 * The program holds two completions x and y of the set (every relation with its residual >= 0,
 * non-negativity) that agree with every published cell except those it releases, and asks
 * x[cell] - y[cell] >= need. A released cell c costs w(c) per unit it moves away from its value
 * in each completion (a rise and a fall per completion, the fall at most its value), so the
 * optimum releases few cells, and large ones first: a large released cell keeps its own
 * interval at or above the protection level, a zero or small one would itself need protecting
 * (dc_audit.h). Any feasible answer is
 * a proof: with the released cells suppressed, x and y are completions an attacker cannot tell
 * apart, so the cell's interval is at least need wide (in the linear relaxation the audit
 * judges too). Grand totals and kept cells (dc_set_is_fixed) never move.
 *
 * The program covers the cells within `hops` relations of the cell, and every suppressed cell
 * linked to those through relations (they are unknowns whatever their distance); the other
 * published cells are constants. A small neighbourhood keeps the program small; when it is
 * infeasible the caller asks again with more hops.
 */
#ifndef DC_WIDEN_H
#define DC_WIDEN_H

#include "dc_suppress.h"

#include "../common/tdi_status.h"

#include <stddef.h>

#ifndef DC_WIDEN_MAX_CELLS
#define DC_WIDEN_MAX_CELLS 9000 /* cells in a program, at most (dc_widen_cell) */
#endif

typedef struct dc_widen dc_widen;

/* A workspace for s (borrowed, with its relations r: both outlive it); NULL when out of
 * memory. */
dc_widen *dc_widen_new(const dc_set *s, const dc_rels *r);
void dc_widen_free(dc_widen *w);

/* The published cells out[0..*nout) to suppress, besides those flagged in sup (per cell: the
 * cells suppressed or already chosen), so that cell's interval is need wide (file comment),
 * looking within hops relations of it ((size_t)-1: everywhere). out has room for every cell.
 * TDI_ERR_DISCLOSURE when no release within hops makes it so or the program would hold more
 * than DC_WIDEN_MAX_CELLS cells (seconds a solve: whole tables are the cheaper last resort),
 * TDI_ERR_INTERRUPTED when a signal asked to stop, TDI_ERR_INTERNAL when out of memory or the
 * solver fails. */
tdi_status dc_widen_cell(dc_widen *w, const unsigned char *sup, size_t cell, double need,
                         size_t hops, size_t *out, size_t *nout);

#endif
