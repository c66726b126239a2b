/*
 * dc_suppress: disclosure control of count tables (primary and secondary cell suppression).
 *
 * A grid is a family of tables of one shape: variants v (e.g. all entrants, first treatment,
 * previously treated) of rows r x columns c. On each axis a category is either a leaf or an
 * aggregate (a subtotal or the total) and has a parent: the aggregate it sums into. The cells
 * of a leaf row and a leaf column are interior and may be suppressed; a cell in an aggregate
 * row or column is a total and is always published as computed.
 *
 * Relations (a total and the cells that sum to it, plus perhaps records counted only in the
 * total, such as a drug coded only as its group; such a residual is taken as known to an
 * attacker, which can only over-protect; a relation without one is exact):
 *   - per variant and row, per aggregate column A: cell(v,r,A) = sum of cell(v,r,c), parent c = A;
 *   - per variant and column, per aggregate row A: likewise down the rows;
 *   - when variant_sum is set, per (r,c): cell(0,r,c) = sum over v >= 1 of cell(v,r,c);
 *   - per dc_vrel and (r,c): cell(total,r,c) = sum over its members m of cell(m,r,c).
 *
 * A set (dc_set) is several grids suppressed as one: the tables of a body, whose cells are
 * linked across grids by further relations (dc_set_relate), e.g. a cell of one table that
 * counts the same records as a cell of another. A cell is public when it is a total or
 * subtotal, or follows from public cells through an exact relation (it is the only non-public
 * cell of one): it is published as computed, small or not, since hiding it would hide nothing.
 *
 * Primary suppression: every non-public cell with 0 < value < threshold. Secondary suppression:
 * while some relation holds exactly one suppressed cell (which its total and the published rest
 * would give away), suppress one more of its non-public cells: the smallest non-zero one (first
 * in cell order on ties), a zero cell only when no non-zero one is left. Repeats to a fixed
 * point, so afterwards no single relation yields a suppressed value.
 */
#ifndef DC_SUPPRESS_H
#define DC_SUPPRESS_H

#include "../common/tdi_status.h"

#include <stddef.h>

typedef struct dc_axis {
    size_t n;
    const int *parent;                 /* parent[i]: aggregate category index, -1 for none */
    const unsigned char *is_aggregate; /* 1 for a subtotal or the total */
    const unsigned char *exact; /* exact[a]: aggregate a is exactly its parts; NULL: none is */
} dc_axis;

#define DC_VREL_MAX 8

/* A relation between variants: variant total is the sum of the member variants. */
typedef struct dc_vrel {
    size_t total;
    size_t n;
    size_t member[DC_VREL_MAX];
    int exact; /* no record is in total but in none of the members */
} dc_vrel;

typedef struct dc_grid {
    size_t nvariants;
    int variant_sum;      /* variant 0 is the sum of the others (plus a residual) */
    int variant_exact;    /* ... and no residual */
    const dc_vrel *vrel; /* further relations between variants */
    size_t nvrel;
    dc_axis rows, cols;
    const unsigned long *value; /* [(v * rows.n + r) * cols.n + c] */
    unsigned char *suppressed;  /* same index; written by dc_suppress() */
} dc_grid;

static inline size_t dc_cell(const dc_grid *g, size_t v, size_t r, size_t c)
{
    return (v * g->rows.n + r) * g->cols.n + c;
}

/* 1 when cell index i is interior (may be suppressed). */
int dc_grid_suppressible(const dc_grid *g, size_t i);

/* Called once per relation with its total's cell index, its members' cell indexes and whether
 * it is exact. */
typedef void (*dc_relation_fn)(void *ctx, size_t total, const size_t *members, size_t n,
                                int exact);
/* Calls fn for every relation of g. TDI_ERR_INTERNAL when out of memory. */
tdi_status dc_grid_relations(const dc_grid *g, dc_relation_fn fn, void *ctx);

/* Clears g->suppressed, then applies primary and secondary suppression (file comment).
 * *count (may be NULL) gets the number of suppressed cells. TDI_ERR_DISCLOSURE when a relation
 * with one suppressed cell has no other cell that may be suppressed (cannot happen with
 * categories of two or more leaves each); TDI_ERR_INTERNAL when out of memory. */
tdi_status dc_suppress(dc_grid *g, unsigned long threshold, size_t *count);

/* Grids suppressed together (file comment). A cell of the set is numbered across its grids:
 * grid 0's cells first. */
typedef struct dc_set dc_set;

/* A set of the n grids (borrowed: they must outlive it); NULL when out of memory. */
dc_set *dc_set_new(dc_grid *const *grids, size_t n);
void dc_set_free(dc_set *s);
/* The set's number of cell i of grid g. */
size_t dc_set_cell(const dc_set *s, size_t g, size_t i);
/* Adds a relation across grids: cells[0] is the sum of cells[1..n) (plus a residual unless
 * exact). TDI_ERR_INTERNAL when out of memory. */
tdi_status dc_set_relate(dc_set *s, const size_t *cells, size_t n, int exact);
/* Calls fn for every relation of the set, the grids' and the added ones, in set numbers. */
tdi_status dc_set_relations(const dc_set *s, dc_relation_fn fn, void *ctx);
/* dc_suppress() over the whole set: writes every grid's suppressed cells. *count (may be
 * NULL) gets their number. */
tdi_status dc_set_suppress(dc_set *s, unsigned long threshold, size_t *count);
/* After dc_set_suppress(): 1 when cell i (set number) is public (file comment). */
int dc_set_public(const dc_set *s, size_t i);

#endif
