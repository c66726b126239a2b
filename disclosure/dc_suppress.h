/*
 * dc_suppress: disclosure control of count tables (primary and secondary cell suppression).
 *
 * A grid is a family of tables of one shape: variants v (e.g. all entrants, first treatment,
 * previously treated) of rows r x columns c; each variant is one published table. On each axis a
 * category is either a leaf or an aggregate (a subtotal or the total) and has a parent: the
 * aggregate it sums into. Every cell may be suppressed, totals and subtotals included: only a
 * table's grand total (its total row and total column; on an axis without an aggregate, such as
 * table 11's measures, every category is its own total) is published whatever its value, unless
 * the caller marks it a part (dc_set_mark_totals).
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
 * counts the same records as a cell of another.
 *
 * Primary suppression: every cell with 0 < value < threshold but a grand total. Secondary
 * suppression, two rules per relation, repeated to a fixed point:
 *   - the sum rule: a suppressed member lies in 0 .. the sum of the relation's suppressed
 *     members, so while a relation holding a suppressed non-zero cell has suppressed members
 *     summing to less than the protection level, suppress one more member: the smallest non-zero
 *     one at least as large as what is lacking, else the largest (never a grand total; first in
 *     cell order on ties), until the sum is reached or nothing is left;
 *   - while a relation holds exactly one suppressed cell (which the published rest would give
 *     away), suppress one more of its cells: the smallest non-zero one that is not a grand
 *     total, else a zero one, a grand total only when nothing else is left (never a public
 *     one, dc_set_mark_totals).
 * Afterwards no single relation yields a suppressed value nor pins a small one within less than
 * the level; several relations together still may: dc_audit checks them all at once and asks
 * for more (dc_set_suppress_more).
 *
 * Kept cells (dc_set_keep): a set protected in stages, e.g. the TDI tables first and then the
 * tables linked to them with the TDI tables' decisions taken as given. A kept cell keeps the
 * decision it had when kept: suppressed stays suppressed, published is never suppressed, like a
 * grand total in every choice of a cell to suppress (dc_set_is_fixed: secondary suppression,
 * dc_protect's widening and whole tables, dc_audit's floor) and not even as the last resort;
 * so is a cell an exact relation of two says equals a kept published cell (it shows nothing
 * that cell does not; a 43.1.1 entrants cell beside 8.1.1's total row). A
 * relation with one suppressed cell and only kept cells to add cannot be protected so: the
 * suppression stops with TDI_ERR_DISCLOSURE and dc_set_blocked() names the cell, so the caller
 * can protect the set unstaged instead.
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
    int variant_sum;     /* variant 0 is the sum of the others (plus a residual) */
    int variant_exact;   /* ... and no residual */
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

/* The index of the grand total of the table (variant) cell i is in (file comment). */
size_t dc_grid_grand_total(const dc_grid *g, size_t i);

/* Called once per relation with its total's cell index, its members' cell indexes and whether
 * it is exact. */
typedef void (*dc_relation_fn)(void *ctx, size_t total, const size_t *members, size_t n, int exact);
/* Calls fn for every relation of g. TDI_ERR_INTERNAL when out of memory. */
tdi_status dc_grid_relations(const dc_grid *g, dc_relation_fn fn, void *ctx);

/* Clears g->suppressed, then applies primary and secondary suppression (file comment).
 * *count (may be NULL) gets the number of suppressed cells. TDI_ERR_DISCLOSURE when a relation
 * with one suppressed cell has no other cell to suppress (cannot happen: every cell may be);
 * TDI_ERR_INTERNAL when out of memory. */
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
/* dc_suppress() over the whole set, kept cells as kept: writes every grid's suppressed cells.
 * *count (may be NULL) gets their number. The sum rule's level is the threshold. */
tdi_status dc_set_suppress(dc_set *s, unsigned long threshold, size_t *count);
/* The same with the sum rule's level (0: the threshold), kept for dc_set_suppress_more(). */
tdi_status dc_set_suppress_level(dc_set *s, unsigned long threshold, unsigned long level,
                                 size_t *count);
/* After dc_set_suppress(): suppresses cells[0..n) (set numbers; a kept published one is left
 * published) as well, then secondary suppression again; *count (may be NULL) gets the set's
 * number of suppressed cells. */
tdi_status dc_set_suppress_more(dc_set *s, const size_t *cells, size_t n, size_t *count);

/* The set's relations as flat lists (listed once, kept by the set): relation k is
 * cells[start[k] .. start[k + 1]), its total first, exact[k] whether it has no residual. */
typedef struct dc_rels {
    const size_t *cells, *start;
    const unsigned char *exact;
    size_t n;
    const size_t *by_start, *by; /* cell i is in relations by[by_start[i] .. by_start[i + 1]) */
} dc_rels;
/* Fills *out; valid until s is freed. TDI_ERR_INTERNAL when out of memory. */
tdi_status dc_set_rels(dc_set *s, dc_rels *out);
/* 1 when cell i is a grand total, published whatever its value (after dc_set_rels() or a
 * suppression; 0 before). */
int dc_set_is_grand_total(const dc_set *s, size_t i);

/* What a caller knows about a table's total that its grid does not (dc_set_mark_totals):
 *   - DC_TOTAL_PART: a grand total of its grid that counts a part of what the set's tables count
 *     (25.1.5: entrants of some primary drugs), a cell like any other: suppressed when small,
 *     suppressible as a complement, unknown in dc_audit's floor;
 *   - DC_TOTAL_PUBLIC: a cell a receiver knows whatever is suppressed (every all-entrants
 *     table's grand total: the header's entrants): a grand total that is never suppressed, not
 *     even as the last resort of pair or whole tables, and known in every audit. */
typedef enum dc_total { DC_TOTAL_PART = 1, DC_TOTAL_PUBLIC = 2 } dc_total;
/* Marks cells[0..n) (set numbers) so; call before the first suppression or dc_set_rels().
 * TDI_ERR_INTERNAL when out of memory. */
tdi_status dc_set_mark_totals(dc_set *s, const size_t *cells, size_t n, dc_total role);
/* 1 when cell i is marked DC_TOTAL_PUBLIC. */
int dc_set_is_public(const dc_set *s, size_t i);

/* Keeps cells[0..n) (set numbers) as they are now (file comment): call after their grids'
 * suppressed flags hold the first stage's decisions. Cumulative; TDI_ERR_INTERNAL when out of
 * memory. */
tdi_status dc_set_keep(dc_set *s, const size_t *cells, size_t n);
/* 1 when cell i may not be newly suppressed: a kept published cell, or a grand total that is
 * not kept suppressed (after dc_set_rels() or a suppression for grand totals). The one test
 * every choice of a cell to suppress goes through. */
int dc_set_is_fixed(const dc_set *s, size_t i);
/* After a suppression that returned TDI_ERR_DISCLOSURE: a suppressed cell whose relation only a
 * kept cell could have protected (set number), or (size_t)-1 when none did. */
size_t dc_set_blocked(const dc_set *s);
/* Marks cells[0..n) (set numbers) too narrow: an audit of these same cells found them so, in
 * this set (dc_set_protect marks the cells its first audit fails) or in an earlier set of the
 * same grids (the caller carries them over). dc_set_protect starts a marked cell on exact
 * programs, as a cell that failed an earlier round (dc_protect.h). Cumulative;
 * TDI_ERR_INTERNAL when out of memory. */
tdi_status dc_set_mark_narrow(dc_set *s, const size_t *cells, size_t n);
/* The marked cells into cells (room for dc_set_ncells()), in set order; their number. */
size_t dc_set_narrow(const dc_set *s, size_t *cells);

/* The set's cells, the value and suppressed flag of cell i (its grid's arrays), and the set
 * number of the grand total of i's table. */
size_t dc_set_ncells(const dc_set *s);
unsigned long dc_set_value(const dc_set *s, size_t i);
int dc_set_suppressed(const dc_set *s, size_t i);
size_t dc_set_grand_total(const dc_set *s, size_t i);

#endif
