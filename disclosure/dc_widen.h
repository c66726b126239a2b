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
 * infeasible the caller asks again with more hops. A guess (dc_widen_ask.exact 0) cuts the
 * suppressed cells' chain short too.
 */
#ifndef DC_WIDEN_H
#define DC_WIDEN_H

#include "dc_suppress.h"

#include "../common/tdi_status.h"

#include <stddef.h>

#ifndef DC_WIDEN_MAX_CELLS
#define DC_WIDEN_MAX_CELLS 9000 /* cells in a program, at most (dc_widen_cell) */
#endif
#ifndef DC_WIDEN_GUESS
#define DC_WIDEN_GUESS 2 /* a guess's reach beyond hops, in relations (dc_widen_ask) */
#endif

typedef struct dc_widen dc_widen;

/* A workspace for s (borrowed, with its relations r: both outlive it); NULL when out of
 * memory. */
dc_widen *dc_widen_new(const dc_set *s, const dc_rels *r);
void dc_widen_free(dc_widen *w);

/* What dc_widen_cell() is asked: the width need for cell, looking within hops relations of it
 * ((size_t)-1: everywhere). exact 0 asks for a guess: the program stops DC_WIDEN_GUESS
 * relations beyond hops, its outermost suppressed cells unknowns whose other relations are left
 * out. That is a relaxation, several times smaller on linked tables: its answer is no proof
 * (the next audit judges it) and shows no width (shown is left alone). */
typedef struct dc_widen_ask {
    size_t cell;
    double need;
    size_t hops;
    int exact;
} dc_widen_ask;

/* The published cells out[0..*nout) to suppress, besides those flagged in sup (per cell: the
 * cells suppressed or already chosen), so that the asked cell's interval is need wide (file
 * comment). out has room for every cell.
 * shown (per cell, may be NULL): raised, for every cell of an exact program, to the width its
 * two completions show it has once out is suppressed (the other failing cells often get as
 * wide: they need no program of their own).
 * TDI_ERR_DISCLOSURE when no release within hops makes it so or the program would hold more
 * than DC_WIDEN_MAX_CELLS cells (seconds a solve: whole tables are the cheaper last resort),
 * TDI_ERR_INTERRUPTED when a signal asked to stop, TDI_ERR_INTERNAL when out of memory or the
 * solver fails. */
tdi_status dc_widen_cell(dc_widen *w, const unsigned char *sup, const dc_widen_ask *ask,
                         size_t *out, size_t *nout, double *shown);

#endif
