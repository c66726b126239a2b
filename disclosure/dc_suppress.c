/*
 * dc_suppress: owns the relations of a grid and of a set of grids, and the suppression loop
 * (see dc_suppress.h).
 *
 * Tables are small (a body's tables hold some ten thousand cells), so the relations are listed
 * once into flat arrays and swept until a sweep changes nothing; each sweep only adds
 * suppressed cells, so it ends.
 */
#include "dc_suppress.h"

#include "../common/tdi_log.h"

#include <stdlib.h>
#include <string.h>

/* The root of category k on axis a: the aggregate without a parent above it, or k itself on an
 * axis without aggregates. */
static size_t axis_root(const dc_axis *a, size_t k)
{
    while (a->parent[k] >= 0)
        k = (size_t)a->parent[k];
    return k;
}

size_t dc_grid_grand_total(const dc_grid *g, size_t i)
{
    size_t c = i % g->cols.n, r = i / g->cols.n % g->rows.n, v = i / g->cols.n / g->rows.n;

    return dc_cell(g, v, axis_root(&g->rows, r), axis_root(&g->cols, c));
}

/* 1 when category k can head its axis: an aggregate, or any category of an axis without one. A
 * category without a parent on an axis that has a total is not a total: in the any-drug tables
 * (a person counts in several rows) each drug row stands alone, and its total is a count of
 * persons like any other. */
static int axis_head(const dc_axis *a, size_t k)
{
    if (a->is_aggregate[k])
        return 1;
    for (size_t j = 0; j < a->n; j++)
        if (a->is_aggregate[j])
            return 0;
    return 1;
}

static int grand_total(const dc_grid *g, size_t i)
{
    size_t c = i % g->cols.n, r = i / g->cols.n % g->rows.n;

    return dc_grid_grand_total(g, i) == i && axis_head(&g->rows, r) && axis_head(&g->cols, c);
}

/* The relations of variant v along one axis: for every category of the other axis (a line) and
 * every aggregate a of this axis, a's cell and the cells of the categories whose parent is a.
 * A category k of this axis is k * along_stride away, a line l of the other l * across_stride. */
static void axis_relations(const dc_grid *g, size_t v, const dc_axis *along, size_t along_stride,
                           const dc_axis *across, size_t across_stride, size_t *m,
                           dc_relation_fn fn, void *ctx)
{
    size_t base = dc_cell(g, v, 0, 0);

    for (size_t l = 0; l < across->n; l++)
        for (size_t a = 0; a < along->n; a++) {
            size_t n = 0;
            if (!along->is_aggregate[a])
                continue;
            for (size_t k = 0; k < along->n; k++)
                if (along->parent[k] == (int)a)
                    m[n++] = base + l * across_stride + k * along_stride;
            if (n)
                fn(ctx, base + l * across_stride + a * along_stride, m, n,
                   along->exact && along->exact[a]);
        }
}

tdi_status dc_grid_relations(const dc_grid *g, dc_relation_fn fn, void *ctx)
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
    for (size_t r = 0; r < g->rows.n; r++)
        for (size_t c = 0; c < g->cols.n; c++) {
            if (g->variant_sum && g->nvariants > 1) {
                for (size_t v = 1; v < g->nvariants; v++)
                    m[v - 1] = dc_cell(g, v, r, c);
                fn(ctx, dc_cell(g, 0, r, c), m, g->nvariants - 1, g->variant_exact);
            }
            for (size_t k = 0; k < g->nvrel; k++) {
                const dc_vrel *vr = &g->vrel[k];
                for (size_t j = 0; j < vr->n; j++)
                    m[j] = dc_cell(g, vr->member[j], r, c);
                fn(ctx, dc_cell(g, vr->total, r, c), m, vr->n, vr->exact);
            }
        }
    free(m);
    return TDI_OK;
}

/* Relations as flat lists: relation k is cells[start[k] .. start[k + 1]), its total first. */
typedef struct relations {
    size_t *cells, ncells, cap;
    size_t *start, n, start_cap;
    unsigned char *exact; /* per relation; start_cap long */
    size_t offset;        /* added to every cell collected (a grid's place in a set) */
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

static void collect(void *ctx, size_t total, const size_t *members, size_t n, int exact)
{
    relations *rel = ctx;
    size_t old_cap = rel->start_cap;

    if (rel->oom || !grow(&rel->cells, &rel->cap, rel->ncells + n + 1) ||
        !grow(&rel->start, &rel->start_cap, rel->n + 2)) {
        rel->oom = 1;
        return;
    }
    if (rel->start_cap != old_cap || !rel->exact) {
        unsigned char *p = realloc(rel->exact, rel->start_cap);
        if (!p) {
            rel->oom = 1;
            return;
        }
        rel->exact = p;
    }
    rel->exact[rel->n] = (unsigned char)(exact != 0);
    rel->start[rel->n++] = rel->ncells;
    rel->cells[rel->ncells++] = rel->offset + total;
    for (size_t k = 0; k < n; k++)
        rel->cells[rel->ncells++] = rel->offset + members[k];
    rel->start[rel->n] = rel->ncells;
}

static void relations_free(relations *rel)
{
    free(rel->cells);
    free(rel->start);
    free(rel->exact);
}

struct dc_set {
    dc_grid **grids; /* borrowed */
    size_t ngrids;
    size_t *offset;   /* offset[g]: set number of grid g's cell 0; offset[ngrids]: cells */
    relations added;  /* dc_set_relate() */
    relations all;    /* every relation, listed by dc_set_suppress() */
    size_t *by_start; /* dc_rels.by_start and by, from dc_set_rels() */
    size_t *by;
    unsigned char *gt;     /* per cell: 1 for a grand total */
    unsigned char *role;   /* per cell (NULL: none marked): DC_TOTAL_* (dc_set_mark_totals) */
    unsigned char *keep;   /* per cell (NULL: none kept): KEEP_* */
    size_t blocked;        /* dc_set_blocked() */
    unsigned char *narrow; /* per cell (NULL: none marked): dc_set_mark_narrow() */
    unsigned long level;   /* the sum rule's level (secondary()), set by dc_set_suppress_level() */
};

enum { KEEP_NONE, KEEP_PUBLISHED, KEEP_SUPPRESSED };

dc_set *dc_set_new(dc_grid *const *grids, size_t n)
{
    dc_set *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->grids = malloc((n ? n : 1) * sizeof *s->grids);
    s->offset = malloc((n + 1) * sizeof *s->offset);
    if (!s->grids || !s->offset) {
        dc_set_free(s);
        return NULL;
    }
    s->ngrids = n;
    s->blocked = (size_t)-1;
    s->offset[0] = 0;
    for (size_t g = 0; g < n; g++) {
        s->grids[g] = grids[g];
        s->offset[g + 1] = s->offset[g] + grids[g]->nvariants * grids[g]->rows.n * grids[g]->cols.n;
    }
    return s;
}

void dc_set_free(dc_set *s)
{
    if (!s)
        return;
    free(s->grids);
    free(s->offset);
    free(s->gt);
    free(s->role);
    free(s->keep);
    free(s->narrow);
    free(s->by_start);
    free(s->by);
    relations_free(&s->added);
    relations_free(&s->all);
    free(s);
}

size_t dc_set_cell(const dc_set *s, size_t g, size_t i)
{
    return s->offset[g] + i;
}

tdi_status dc_set_relate(dc_set *s, const size_t *cells, size_t n, int exact)
{
    if (n < 2)
        return TDI_ERR_INTERNAL;
    collect(&s->added, cells[0], cells + 1, n - 1, exact);
    return s->added.oom ? TDI_ERR_INTERNAL : TDI_OK;
}

/* Passes a grid's relations on in set numbers. */
typedef struct shift {
    size_t offset, *buf;
    dc_relation_fn fn;
    void *ctx;
} shift;

static void shifted(void *ctx, size_t total, const size_t *members, size_t n, int exact)
{
    shift *sh = ctx;

    for (size_t k = 0; k < n; k++)
        sh->buf[k] = sh->offset + members[k];
    sh->fn(sh->ctx, sh->offset + total, sh->buf, n, exact);
}

tdi_status dc_set_relations(const dc_set *s, dc_relation_fn fn, void *ctx)
{
    size_t max = 1;
    tdi_status st = TDI_OK;
    shift sh = {.fn = fn, .ctx = ctx};

    for (size_t g = 0; g < s->ngrids; g++) {
        const dc_grid *gr = s->grids[g];
        size_t m = gr->rows.n > gr->cols.n ? gr->rows.n : gr->cols.n;
        if (gr->nvariants > m)
            m = gr->nvariants;
        if (m > max)
            max = m;
    }
    sh.buf = malloc(max * sizeof *sh.buf);
    if (!sh.buf)
        return TDI_ERR_INTERNAL;
    for (size_t g = 0; g < s->ngrids && st == TDI_OK; g++) {
        sh.offset = s->offset[g];
        st = dc_grid_relations(s->grids[g], shifted, &sh);
    }
    free(sh.buf);
    for (size_t k = 0; k < s->added.n && st == TDI_OK; k++) {
        const size_t *cells = s->added.cells + s->added.start[k];
        fn(ctx, cells[0], cells + 1, s->added.start[k + 1] - s->added.start[k] - 1,
           s->added.exact[k]);
    }
    return st;
}

size_t dc_set_ncells(const dc_set *s)
{
    return s->offset[s->ngrids];
}

/* The grid cell i (set number) is in. */
static size_t grid_of(const dc_set *s, size_t i)
{
    size_t g = 0;

    while (g + 1 < s->ngrids && s->offset[g + 1] <= i)
        g++;
    return g;
}

unsigned long dc_set_value(const dc_set *s, size_t i)
{
    size_t g = grid_of(s, i);

    return s->grids[g]->value[i - s->offset[g]];
}

int dc_set_suppressed(const dc_set *s, size_t i)
{
    size_t g = grid_of(s, i);

    return s->grids[g]->suppressed[i - s->offset[g]];
}

size_t dc_set_grand_total(const dc_set *s, size_t i)
{
    size_t g = grid_of(s, i);

    return s->offset[g] + dc_grid_grand_total(s->grids[g], i - s->offset[g]);
}

tdi_status dc_set_keep(dc_set *s, const size_t *cells, size_t n)
{
    size_t ncells = s->offset[s->ngrids];

    if (!s->keep && !(s->keep = calloc(ncells ? ncells : 1, 1)))
        return TDI_ERR_INTERNAL;
    for (size_t k = 0; k < n; k++)
        if (cells[k] < ncells)
            s->keep[cells[k]] = dc_set_suppressed(s, cells[k]) ? KEEP_SUPPRESSED : KEEP_PUBLISHED;
    return TDI_OK;
}

/* Is cell i public (dc_set_mark_totals)? */
static int public_cell(const dc_set *s, size_t i)
{
    return s->role && s->role[i] == DC_TOTAL_PUBLIC;
}

/* Whether cell i is published whatever its value: its grid's grand total unless marked a part,
 * or marked public. */
static unsigned char exempt(const dc_set *s, size_t g, size_t i)
{
    unsigned char role = s->role ? s->role[s->offset[g] + i] : 0;

    if (role)
        return role == DC_TOTAL_PUBLIC;
    return (unsigned char)grand_total(s->grids[g], i);
}

tdi_status dc_set_mark_totals(dc_set *s, const size_t *cells, size_t n, dc_total role)
{
    size_t ncells = s->offset[s->ngrids];

    if (n == 0)
        return TDI_OK;
    if (!s->role && !(s->role = calloc(ncells ? ncells : 1, 1)))
        return TDI_ERR_INTERNAL;
    for (size_t k = 0; k < n; k++)
        if (cells[k] < ncells) {
            s->role[cells[k]] = (unsigned char)role;
            if (s->gt) /* marked after a suppression listed them */
                s->gt[cells[k]] = role == DC_TOTAL_PUBLIC;
        }
    return TDI_OK;
}

int dc_set_is_public(const dc_set *s, size_t i)
{
    return public_cell(s, i);
}

/* May cell i not be newly suppressed (dc_set_is_fixed)? */
static int fixed(const dc_set *s, size_t i)
{
    if (public_cell(s, i))
        return 1;
    if (s->keep && s->keep[i] != KEEP_NONE)
        return s->keep[i] == KEEP_PUBLISHED;
    return s->gt ? s->gt[i] : 0;
}

int dc_set_is_fixed(const dc_set *s, size_t i)
{
    return fixed(s, i);
}

size_t dc_set_blocked(const dc_set *s)
{
    return s->blocked;
}

tdi_status dc_set_mark_narrow(dc_set *s, const size_t *cells, size_t n)
{
    size_t ncells = s->offset[s->ngrids];

    if (n == 0)
        return TDI_OK; /* nothing to mark: no array (a set that passes its first audit) */
    if (!s->narrow && !(s->narrow = calloc(ncells ? ncells : 1, 1)))
        return TDI_ERR_INTERNAL;
    for (size_t k = 0; k < n; k++)
        if (cells[k] < ncells)
            s->narrow[cells[k]] = 1;
    return TDI_OK;
}

size_t dc_set_narrow(const dc_set *s, size_t *cells)
{
    size_t n = 0;

    for (size_t i = 0; s->narrow && i < s->offset[s->ngrids]; i++)
        if (s->narrow[i])
            cells[n++] = i;
    return n;
}

/* 1 when published cell i may be suppressed to protect another: never a grand total (published
 * whatever its value) nor a kept published cell. The one place that says so for secondary
 * suppression. */
static int may_suppress(const dc_set *s, const unsigned char *sup, size_t i)
{
    return !sup[i] && !fixed(s, i);
}

/* Relation [cells, cells + n) holds exactly one suppressed cell: suppresses one more, the
 * smallest non-zero cell that may be, else a zero one, else a grand total that is neither kept
 * nor public (dc_set_mark_totals: never, as a receiver knows its value). Returns 1 when done, 0
 * when every cell is suppressed, kept published or public already. */
static int pair(const dc_set *s, const unsigned long *value, unsigned char *sup,
                const size_t *cells, size_t n)
{
    size_t best = (size_t)-1, zero = (size_t)-1, total = (size_t)-1;

    for (size_t k = 0; k < n; k++) {
        size_t i = cells[k];
        if (sup[i] || (s->keep && s->keep[i] == KEEP_PUBLISHED) || public_cell(s, i))
            continue;
        if (!may_suppress(s, sup, i)) {
            if (total == (size_t)-1)
                total = i;
        } else if (value[i] == 0) {
            if (zero == (size_t)-1)
                zero = i;
        } else if (best == (size_t)-1 || value[i] < value[best]) {
            best = i;
        }
    }
    if (best == (size_t)-1)
        best = zero;
    if (best == (size_t)-1)
        best = total;
    if (best == (size_t)-1)
        return 0;
    sup[best] = 1;
    return 1;
}

/* The suppressed cell of relation [cells, cells + n) when a kept published cell is in it. */
static size_t blocked_by_keep(const dc_set *s, const unsigned char *sup, const size_t *cells,
                              size_t n)
{
    size_t hidden = (size_t)-1;
    int kept = 0;

    for (size_t j = 0; j < n; j++) {
        kept |= s->keep && s->keep[cells[j]] == KEEP_PUBLISHED;
        if (sup[cells[j]])
            hidden = cells[j];
    }
    return kept ? hidden : (size_t)-1;
}

/* 1 when every cell of relation [cells, cells + n) but the suppressed ones is public
 * (dc_set_mark_totals): nothing in it may be suppressed, but a residual (records counted in
 * the total only) is unknown, so the published cells do not give the suppressed one away; the
 * audit by linear programming judges it with every relation (dc_protect). */
static int public_rest(const dc_set *s, const unsigned char *sup, const size_t *cells, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!sup[cells[j]] && !public_cell(s, cells[j]))
            return 0;
    return 1;
}

/* The sum rule: a suppressed member of a relation lies in 0 .. the sum of the relation's
 * suppressed members (what the total and the published members leave), so while a relation
 * holding a suppressed non-zero cell has its suppressed members summing to less than level,
 * suppress the smallest member that may be and makes up the rest, else the largest (zeros add
 * nothing). The total is left out of the sum: when it is suppressed too, its own width is
 * what the others get, and that is judged in its other relations. Returns 1 when it suppressed
 * a cell, 0 when the relation has enough or nothing left. */
static int fill(const dc_set *s, const unsigned long *value, unsigned char *sup,
                const size_t *cells, size_t n, unsigned long level)
{
    unsigned long sum = 0, lack;
    size_t best = (size_t)-1, large = (size_t)-1;
    int small = 0;

    for (size_t k = 0; k < n; k++)
        if (sup[cells[k]]) {
            small |= value[cells[k]] > 0;
            sum += k > 0 ? value[cells[k]] : 0;
        }
    if (!small || sum >= level)
        return 0;
    lack = level - sum;
    for (size_t k = 1; k < n; k++) {
        size_t i = cells[k];
        if (!may_suppress(s, sup, i) || value[i] == 0)
            continue;
        if (value[i] >= lack && (best == (size_t)-1 || value[i] < value[best]))
            best = i;
        if (large == (size_t)-1 || value[i] > value[large])
            large = i;
    }
    if (best == (size_t)-1)
        best = large;
    if (best == (size_t)-1)
        return 0;
    sup[best] = 1;
    return 1;
}

/* Secondary suppression to a fixed point (dc_suppress.h). */
static tdi_status secondary(dc_set *s, const unsigned long *value, unsigned char *sup)
{
    const relations *rel = &s->all;
    int changed = 1;

    while (changed) {
        changed = 0;
        for (size_t k = 0; k < rel->n; k++) {
            const size_t *cells = rel->cells + rel->start[k];
            size_t n = rel->start[k + 1] - rel->start[k], hidden = 0;

            for (size_t j = 0; j < n; j++)
                hidden += sup[cells[j]];
            if (hidden == 0)
                continue;
            while (fill(s, value, sup, cells, n, s->level)) {
                hidden++;
                changed = 1;
            }
            if (hidden == 1 && !pair(s, value, sup, cells, n)) {
                if (!rel->exact[k] && public_rest(s, sup, cells, n))
                    continue; /* a residual hides it from the public cells: the audit judges */
                s->blocked = blocked_by_keep(s, sup, cells, n);
                if (s->blocked != (size_t)-1) {
                    tdi_debug("disclosure control: a relation of set cell %zu has only kept "
                              "cells left to suppress",
                              s->blocked);
                    return TDI_ERR_DISCLOSURE;
                }
                tdi_error("disclosure control: a suppressed cell's relation has no other cell "
                          "that may be suppressed");
                return TDI_ERR_DISCLOSURE;
            }
            changed |= hidden == 1;
        }
    }
    return TDI_OK;
}

/* The set's values and suppressed flags into flat arrays, and back. */
static void gather(const dc_set *s, unsigned long *value, unsigned char *sup)
{
    for (size_t g = 0; g < s->ngrids; g++) {
        size_t n = s->offset[g + 1] - s->offset[g];
        memcpy(sup + s->offset[g], s->grids[g]->suppressed, n);
        for (size_t i = 0; i < n; i++)
            value[s->offset[g] + i] = s->grids[g]->value[i];
    }
}

static size_t scatter(const dc_set *s, const unsigned char *sup)
{
    size_t nsup = 0;

    for (size_t g = 0; g < s->ngrids; g++)
        memcpy(s->grids[g]->suppressed, sup + s->offset[g], s->offset[g + 1] - s->offset[g]);
    for (size_t i = 0; i < s->offset[s->ngrids]; i++)
        nsup += sup[i];
    return nsup;
}

/* Spreads a mark along the exact relations of two cells: step(s, a, b) for each such relation
 * until no step changes anything. */
static void along_equal(dc_set *s, int (*step)(dc_set *s, size_t a, size_t b))
{
    const relations *rel = &s->all;
    int changed = 1;

    while (changed) {
        changed = 0;
        for (size_t k = 0; k < rel->n; k++) {
            const size_t *c = rel->cells + rel->start[k];
            if (rel->exact[k] && rel->start[k + 1] - rel->start[k] == 2)
                changed |= step(s, c[0], c[1]);
        }
    }
}

/* A cell an exact relation of two says equals a public cell is public too (43.1.1's entrants
 * of all centre types beside 8.1.1's grand total): a receiver knows it as well. */
static int public_step(dc_set *s, size_t a, size_t b)
{
    if (public_cell(s, a) == public_cell(s, b))
        return 0;
    s->role[a] = s->role[b] = DC_TOTAL_PUBLIC;
    s->gt[a] = s->gt[b] = 1;
    return 1;
}

/* Lists every relation and marks the grand totals, once. */
static tdi_status prepare(dc_set *s)
{
    size_t ncells = s->offset[s->ngrids];
    tdi_status st;

    if (s->gt)
        return TDI_OK;
    s->gt = calloc(ncells ? ncells : 1, 1);
    if (!s->gt)
        return TDI_ERR_INTERNAL;
    for (size_t g = 0; g < s->ngrids; g++)
        for (size_t i = 0; i < s->offset[g + 1] - s->offset[g]; i++)
            s->gt[s->offset[g] + i] = exempt(s, g, i);
    st = dc_set_relations(s, collect, &s->all);
    if (st == TDI_OK && s->all.oom)
        st = TDI_ERR_INTERNAL;
    if (st == TDI_OK && s->role)
        along_equal(s, public_step);
    return st;
}

/* The relations per cell (dc_rels.by_start, by), once: a counting sort of (cell, relation)
 * pairs by cell. The relations are listed once too (prepare). */
static tdi_status index_by_cell(dc_set *s)
{
    size_t m = s->all.n ? s->all.start[s->all.n] : 0, n = s->offset[s->ngrids];

    if (s->by_start)
        return TDI_OK;
    s->by_start = calloc(n + 2, sizeof *s->by_start);
    s->by = malloc((m ? m : 1) * sizeof *s->by);
    if (!s->by_start || !s->by)
        return TDI_ERR_INTERNAL;
    for (size_t j = 0; j < m; j++)
        s->by_start[s->all.cells[j] + 2]++;
    for (size_t i = 0; i < n; i++)
        s->by_start[i + 2] += s->by_start[i + 1];
    for (size_t k = 0; k < s->all.n; k++)
        for (size_t j = s->all.start[k]; j < s->all.start[k + 1]; j++)
            s->by[s->by_start[s->all.cells[j] + 1]++] = k;
    return TDI_OK;
}

tdi_status dc_set_rels(dc_set *s, dc_rels *out)
{
    tdi_status st = prepare(s);

    memset(out, 0, sizeof *out);
    if (st == TDI_OK)
        st = index_by_cell(s);
    if (st != TDI_OK)
        return st;
    out->cells = s->all.cells;
    out->start = s->all.start;
    out->exact = s->all.exact;
    out->n = s->all.n;
    out->by_start = s->by_start;
    out->by = s->by;
    return TDI_OK;
}

int dc_set_is_grand_total(const dc_set *s, size_t i)
{
    return s->gt ? s->gt[i] : 0;
}

/* A cell an exact relation of two says equals a kept published cell is kept published too:
 * it shows nothing that cell does not (dc_set_keep). */
static int keep_step(dc_set *s, size_t a, size_t b)
{
    if ((s->keep[a] == KEEP_PUBLISHED) == (s->keep[b] == KEEP_PUBLISHED) ||
        (s->keep[a] != KEEP_NONE && s->keep[b] != KEEP_NONE))
        return 0;
    s->keep[a] = s->keep[b] = KEEP_PUBLISHED;
    return 1;
}

/* Marks cells[0..n) (primary: every small cell but a grand total, when cells is NULL), then
 * secondary suppression. */
static tdi_status suppress(dc_set *s, unsigned long threshold, const size_t *cells, size_t n,
                           size_t *count)
{
    size_t ncells = s->offset[s->ngrids], nsup = 0;
    unsigned long *value = malloc((ncells ? ncells : 1) * sizeof *value);
    unsigned char *sup = calloc(ncells ? ncells : 1, 1);
    tdi_status st = value && sup ? prepare(s) : TDI_ERR_INTERNAL;

    s->blocked = (size_t)-1;
    if (st != TDI_OK)
        goto done;
    gather(s, value, sup);
    if (s->keep)
        along_equal(s, keep_step);
    for (size_t i = 0; !cells && i < ncells; i++) {
        if (s->keep && s->keep[i] != KEEP_NONE)
            sup[i] = s->keep[i] == KEEP_SUPPRESSED;
        else
            sup[i] = !s->gt[i] && value[i] > 0 && value[i] < threshold;
    }
    for (size_t k = 0; cells && k < n; k++)
        if (cells[k] < ncells && !(s->keep && s->keep[cells[k]] == KEEP_PUBLISHED) &&
            !public_cell(s, cells[k]))
            sup[cells[k]] = 1;
    st = secondary(s, value, sup);
    nsup = scatter(s, sup);
done:
    if (st == TDI_ERR_INTERNAL)
        tdi_error("disclosure control: out of memory");
    if (count)
        *count = nsup;
    free(value);
    free(sup);
    return st;
}

tdi_status dc_set_suppress(dc_set *s, unsigned long threshold, size_t *count)
{
    return dc_set_suppress_level(s, threshold, 0, count);
}

tdi_status dc_set_suppress_level(dc_set *s, unsigned long threshold, unsigned long level,
                                 size_t *count)
{
    s->level = level ? level : threshold;
    return suppress(s, threshold, NULL, 0, count);
}

tdi_status dc_set_suppress_more(dc_set *s, const size_t *cells, size_t n, size_t *count)
{
    return suppress(s, 0, cells, n, count);
}

tdi_status dc_suppress(dc_grid *g, unsigned long threshold, size_t *count)
{
    dc_set *s = dc_set_new(&g, 1);
    tdi_status st;

    if (!s) {
        tdi_error("disclosure control: out of memory");
        if (count)
            *count = 0;
        return TDI_ERR_INTERNAL;
    }
    st = dc_set_suppress(s, threshold, count);
    dc_set_free(s);
    return st;
}
