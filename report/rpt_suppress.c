/*
 * rpt_suppress: owns the relations of a grid and the suppression loop (see rpt_suppress.h).
 *
 * Tables are small (a few thousand cells), so the relations are listed once into flat arrays
 * and swept until a sweep changes nothing; each sweep only adds suppressions, so it ends.
 */
#include "rpt_suppress.h"

#include "../common/tdi_log.h"

#include <stdlib.h>
#include <string.h>

int rpt_grid_suppressible(const rpt_grid *g, size_t i)
{
    size_t c = i % g->cols.n, r = i / g->cols.n % g->rows.n;

    return !g->rows.is_aggregate[r] && !g->cols.is_aggregate[c];
}

/* The relations of variant v along one axis: for every category of the other axis (a line) and
 * every aggregate a of this axis, a's cell and the cells of the categories whose parent is a.
 * A category k of this axis is k * along_stride away, a line l of the other l * across_stride. */
static void axis_relations(const rpt_grid *g, size_t v, const rpt_axis *along, size_t along_stride,
                           const rpt_axis *across, size_t across_stride, size_t *m,
                           rpt_relation_fn fn, void *ctx)
{
    size_t base = rpt_cell(g, v, 0, 0);

    for (size_t l = 0; l < across->n; l++)
        for (size_t a = 0; a < along->n; a++) {
            size_t n = 0;
            if (!along->is_aggregate[a])
                continue;
            for (size_t k = 0; k < along->n; k++)
                if (along->parent[k] == (int)a)
                    m[n++] = base + l * across_stride + k * along_stride;
            if (n)
                fn(ctx, base + l * across_stride + a * along_stride, m, n);
        }
}

tdi_status rpt_grid_relations(const rpt_grid *g, rpt_relation_fn fn, void *ctx)
{
    size_t max = g->rows.n > g->cols.n ? g->rows.n : g->cols.n;
    size_t *m;

    if (g->nvariants > max)
        max = g->nvariants;
    m = malloc(max * sizeof *m);
    if (!m)
        return TDI_ERR_INTERNAL;
    for (size_t v = 0; v < g->nvariants; v++) {
        axis_relations(g, v, &g->cols, 1, &g->rows, g->cols.n, m, fn, ctx); /* along each row */
        axis_relations(g, v, &g->rows, g->cols.n, &g->cols, 1, m, fn, ctx); /* down each column */
    }
    if (g->variant_sum && g->nvariants > 1)
        for (size_t r = 0; r < g->rows.n; r++)
            for (size_t c = 0; c < g->cols.n; c++) {
                for (size_t v = 1; v < g->nvariants; v++)
                    m[v - 1] = rpt_cell(g, v, r, c);
                fn(ctx, rpt_cell(g, 0, r, c), m, g->nvariants - 1);
            }
    free(m);
    return TDI_OK;
}

/* Relations as flat lists: relation k is cells[start[k] .. start[k + 1]), its total first. */
typedef struct relations {
    size_t *cells, ncells, cap;
    size_t *start, n, start_cap;
    int oom;
} relations;

static int grow(size_t **arr, size_t *cap, size_t need)
{
    size_t ncap = *cap ? *cap : 256;
    size_t *p;

    while (ncap < need)
        ncap *= 2;
    if (ncap == *cap)
        return 1;
    p = realloc(*arr, ncap * sizeof *p);
    if (!p)
        return 0;
    *arr = p;
    *cap = ncap;
    return 1;
}

static void collect(void *ctx, size_t total, const size_t *members, size_t n)
{
    relations *rel = ctx;

    if (rel->oom || !grow(&rel->cells, &rel->cap, rel->ncells + n + 1) ||
        !grow(&rel->start, &rel->start_cap, rel->n + 2)) {
        rel->oom = 1;
        return;
    }
    rel->start[rel->n++] = rel->ncells;
    rel->cells[rel->ncells++] = total;
    memcpy(rel->cells + rel->ncells, members, n * sizeof *members);
    rel->ncells += n;
    rel->start[rel->n] = rel->ncells;
}

/* Suppresses one more cell of relation [cells, cells + n), which has exactly one suppressed.
 * Returns 1 when done, 0 when no cell may be suppressed. */
static int protect(rpt_grid *g, const size_t *cells, size_t n)
{
    size_t best = (size_t)-1, zero = (size_t)-1;

    for (size_t k = 0; k < n; k++) {
        size_t i = cells[k];
        if (g->suppressed[i] || !rpt_grid_suppressible(g, i))
            continue;
        if (g->value[i] == 0) {
            if (zero == (size_t)-1)
                zero = i;
        } else if (best == (size_t)-1 || g->value[i] < g->value[best]) {
            best = i;
        }
    }
    if (best == (size_t)-1)
        best = zero;
    if (best == (size_t)-1)
        return 0;
    g->suppressed[best] = 1;
    return 1;
}

tdi_status rpt_suppress(rpt_grid *g, unsigned long threshold, size_t *count)
{
    size_t ncells = g->nvariants * g->rows.n * g->cols.n, nsup = 0;
    relations rel = {0};
    tdi_status st;
    int changed = 1;

    memset(g->suppressed, 0, ncells);
    for (size_t i = 0; i < ncells; i++)
        if (rpt_grid_suppressible(g, i) && g->value[i] > 0 && g->value[i] < threshold)
            g->suppressed[i] = 1;
    st = rpt_grid_relations(g, collect, &rel);
    if (st == TDI_OK && rel.oom)
        st = TDI_ERR_INTERNAL;
    while (st == TDI_OK && changed) {
        changed = 0;
        for (size_t k = 0; k < rel.n && st == TDI_OK; k++) {
            const size_t *cells = rel.cells + rel.start[k];
            size_t n = rel.start[k + 1] - rel.start[k], hidden = 0;

            for (size_t j = 0; j < n; j++)
                hidden += g->suppressed[cells[j]];
            if (hidden != 1)
                continue;
            if (!protect(g, cells, n)) {
                tdi_error("disclosure control: a suppressed cell's relation has no other cell "
                          "that may be suppressed");
                st = TDI_ERR_DISCLOSURE;
            }
            changed = 1;
        }
    }
    if (st == TDI_ERR_INTERNAL)
        tdi_error("disclosure control: out of memory");
    for (size_t i = 0; i < ncells; i++)
        nsup += g->suppressed[i];
    if (count)
        *count = nsup;
    free(rel.cells);
    free(rel.start);
    return st;
}
