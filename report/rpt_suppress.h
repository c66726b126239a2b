/*
 * rpt_suppress: disclosure control of count tables (primary and secondary cell suppression).
 *
 * A grid is a family of tables of one shape: variants v (e.g. all entrants, first treatment,
 * previously treated) of rows r x columns c. On each axis a category is either a leaf or an
 * aggregate (a subtotal or the total) and has a parent: the aggregate it sums into. The cells
 * of a leaf row and a leaf column are interior and may be suppressed; a cell in an aggregate
 * row or column is a total and is always published as computed.
 *
 * Relations (a total and the cells that sum to it, plus perhaps records counted only in the
 * total, such as a drug coded only as its group; such a residual is taken as known to an
 * attacker, which can only over-protect):
 *   - per variant and row, per aggregate column A: cell(v,r,A) = sum of cell(v,r,c), parent c = A;
 *   - per variant and column, per aggregate row A: likewise down the rows;
 *   - when variant_sum is set, per (r,c): cell(0,r,c) = sum over v >= 1 of cell(v,r,c).
 *
 * Primary suppression: every interior cell with 0 < value < threshold. Secondary suppression:
 * while some relation holds exactly one suppressed cell (which its total and the published rest
 * would give away), suppress one more of its suppressible cells: the smallest non-zero one
 * (first in cell order on ties), a zero cell only when no non-zero one is left. Repeats to a
 * fixed point, so afterwards no relation yields a suppressed value.
 */
#ifndef RPT_SUPPRESS_H
#define RPT_SUPPRESS_H

#include "../common/tdi_status.h"

#include <stddef.h>

typedef struct rpt_axis {
    size_t n;
    const int *parent;                 /* parent[i]: aggregate category index, -1 for none */
    const unsigned char *is_aggregate; /* 1 for a subtotal or the total */
} rpt_axis;

typedef struct rpt_grid {
    size_t nvariants;
    int variant_sum; /* variant 0 is the sum of the others (plus a residual) */
    rpt_axis rows, cols;
    const unsigned long *value; /* [(v * rows.n + r) * cols.n + c] */
    unsigned char *suppressed;  /* same index; written by rpt_suppress() */
} rpt_grid;

static inline size_t rpt_cell(const rpt_grid *g, size_t v, size_t r, size_t c)
{
    return (v * g->rows.n + r) * g->cols.n + c;
}

/* 1 when cell index i is interior (may be suppressed). */
int rpt_grid_suppressible(const rpt_grid *g, size_t i);

/* Called once per relation with its total's cell index and its members' cell indexes. */
typedef void (*rpt_relation_fn)(void *ctx, size_t total, const size_t *members, size_t n);
/* Calls fn for every relation of g. TDI_ERR_INTERNAL when out of memory. */
tdi_status rpt_grid_relations(const rpt_grid *g, rpt_relation_fn fn, void *ctx);

/* Clears g->suppressed, then applies primary and secondary suppression (file comment).
 * *count (may be NULL) gets the number of suppressed cells. TDI_ERR_DISCLOSURE when a relation
 * with one suppressed cell has no other cell that may be suppressed (cannot happen with
 * categories of two or more leaves each); TDI_ERR_INTERNAL when out of memory. */
tdi_status rpt_suppress(rpt_grid *g, unsigned long threshold, size_t *count);

#endif
