/*
 * rpt_link: owns the links between the cells of a body's table families (see rpt_link.h): the
 * predicate of every cell (what records it counts, as code sets per item), cells of equal
 * predicates related as equal, a measure's number related to its linked table, and the
 * outcome and clients tables' own relations (rpt_outcome.h).
 */
#include "rpt_link.h"

#include "rpt_outcome.h"

#include "../common/tdi_codes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What a cell counts, as one code set per item (all ones: any code, or not applicable), and for
 * a measure's number the measure (all ones: a count of records). Two cells with equal predicates
 * count the same records whatever the data. */
#define PRED_MEASURE TDI_ITEM_COUNT
#define PRED_BASE    (TDI_ITEM_COUNT + 1) /* rpt_base; all ones: entrants */
typedef struct predicate {
    uint64_t mask[TDI_ITEM_COUNT + 2];
    size_t cell; /* set number */
} predicate;

/* The codes that count in category k of d. */
static uint64_t category_codes(const rpt_dim *d, size_t k)
{
    uint64_t set = 0;

    for (size_t i = 0; i < RPT_ITEM_CODES; i++)
        for (int c = d->entry[i]; c >= 0; c = d->parent[c])
            if (c == (int)k) {
                set |= UINT64_C(1) << i;
                break;
            }
    return set;
}

/* Whether a code of one of d's other items (rpt_dim_def.also) counts in category k; when none
 * does (row 99 of table 22: a secondary drug not known counts nowhere), k counts the records of
 * its own item's codes only, as a one-item dimension would. */
static int also_reaches(const rpt_dim *d, size_t k)
{
    for (size_t a = 0; a < d->def->also->nitems; a++)
        for (size_t i = 0; i < RPT_ITEM_CODES; i++)
            for (int c = d->also_entry[a][i]; c >= 0; c = d->parent[c])
                if (c == (int)k)
                    return 1;
    return 0;
}

static void restrict_item(predicate *p, int item, uint64_t set)
{
    const tdi_item_def *def = tdi_item_get((tdi_item)item);
    uint64_t all = def->ncodes >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << def->ncodes) - 1;

    p->mask[item] &= set & all;
    /* every code of an item that always applies is no restriction */
    if (p->mask[item] == all && !def->conditional)
        p->mask[item] = ~UINT64_C(0);
}

/* The primary drugs of the TDI population (tdi_in_population()): every cell counts only them. */
static uint64_t population_codes(void)
{
    uint64_t set = 0;

    for (unsigned i = 0; i < RPT_ITEM_CODES; i++)
        if (tdi_in_population(i))
            set |= UINT64_C(1) << i;
    return set;
}

static int mask_cmp(const void *a, const void *b)
{
    const predicate *x = a, *y = b;

    return memcmp(x->mask, y->mask, sizeof x->mask);
}

static int predicate_cmp(const void *a, const void *b)
{
    const predicate *x = a, *y = b;
    int c = mask_cmp(a, b);

    if (c)
        return c;
    return x->cell < y->cell ? -1 : x->cell > y->cell;
}

static void predicate_of(const rpt_family *fam, size_t fi, size_t v, size_t r, size_t c,
                         predicate *q)
{
    const rpt_variant_def *var = &fam->def->variants[v];
    int flag = !fam->def->measures && fam->cols.def->kind == RPT_DIM_CONTINUING;

    memset(q->mask, 0xff, sizeof q->mask);
    restrict_item(q, TDI_ITEM_PRIMARY_DRUG, population_codes());
    if (!fam->rows.def->also || (!fam->rows.gaggregate[r] && !also_reaches(&fam->rows, r)))
        restrict_item(q, fam->rows.def->item, category_codes(&fam->rows, r));
    else if (!fam->rows.gaggregate[r]) /* any of several items: no other table counts that */
        q->mask[PRED_MEASURE] = UINT64_C(1) << 40 | (uint64_t)fi << 8 | r;
    if (fam->def->measures)
        q->mask[PRED_MEASURE] = c;
    else if (!flag)
        restrict_item(q, fam->cols.def->item, category_codes(&fam->cols, c));
    if (var->item >= 0)
        restrict_item(q, var->item, fam->variant_codes[v]);
    if (var->item2 >= 0)
        restrict_item(q, var->item2, fam->variant_codes2[v]);
    if (fam->def->base != RPT_BASE_ENTRANTS) /* its cells link among themselves only */
        q->mask[PRED_BASE] = rpt_outcome_normalise(fam->def->base, q->mask);
    if (flag) /* no item tells its columns apart: the column does */
        q->mask[PRED_BASE] |= (uint64_t)(c + 1) << 8;
}

/* The counting family with that id (its first table numbered 1), or NULL. */
static const rpt_family *family_by_id(const rpt_family *fams, size_t n, const char *id)
{
    for (size_t f = 0; f < n; f++)
        if (strcmp(fams[f].def->id, id) == 0 && fams[f].def->first == 1 && !fams[f].def->measures)
            return &fams[f];
    return NULL;
}

/* A measure's number N of cell q: the linked table's cell T counting the same records without
 * the measure and its cell K of those with no value in the linked column: T = K + N + the
 * records banded without a value (taken as known, as every residual). */
static tdi_status link_measure(const rpt_family *fams, size_t n, const predicate *sorted,
                               size_t ncells, const predicate *q, dc_set *set)
{
    const rpt_measure *m = NULL;
    const rpt_family *linked;
    predicate key;
    const predicate *total, *nk;
    size_t rel[3];
    int k = -1;

    for (size_t f = 0; f < n && !m; f++)
        if (fams[f].def->measures && q->cell >= dc_set_cell(set, f, 0) &&
            q->cell <
                dc_set_cell(set, f, 0) + fams[f].def->nvariants * fams[f].rows.n * fams[f].cols.n)
            m = &fams[f].def->measures[q->mask[PRED_MEASURE]];
    if (!m || !m->linked || !(linked = family_by_id(fams, n, m->linked)))
        return TDI_OK;
    for (size_t c = 0; c < linked->cols.n && k < 0; c++)
        if (strcmp(linked->cols.code[c], m->not_known) == 0)
            k = (int)c;
    if (k < 0)
        return TDI_OK;
    key = *q;
    key.mask[PRED_MEASURE] = ~UINT64_C(0);
    total = bsearch(&key, sorted, ncells, sizeof key, mask_cmp);
    restrict_item(&key, linked->cols.def->item, category_codes(&linked->cols, (size_t)k));
    nk = bsearch(&key, sorted, ncells, sizeof key, mask_cmp);
    if (!total || !nk)
        return TDI_OK; /* no table counts the records without a value: they stay unknown */
    rel[0] = total->cell;
    rel[1] = nk->cell;
    rel[2] = q->cell;
    return dc_set_relate(set, rel, 3, 0);
}

/* ---- sums: a cell whose predicate is the disjoint union of those of one line's cells ---- */

/* Where set cell k is (rpt_link_tables numbers the cells in family, variant, row, column order). */
typedef struct place {
    size_t f, v, r, c;
} place;

/* A cell keyed for the sums along item j: its predicate with item j's mask all ones (key.cell:
 * its set number), own its mask of item j (every code when it is no restriction), line the line
 * of its table along which j varies ((size_t)-1: none). */
typedef struct keyed {
    predicate key;
    uint64_t own;
    size_t line;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    return predicate_cmp(&((const keyed *)a)->key, &((const keyed *)b)->key);
}

/* Members of one line first, the widest first within it. */
static int line_cmp(const void *a, const void *b)
{
    const keyed *x = *(const keyed *const *)a, *y = *(const keyed *const *)b;
    int wx = __builtin_popcountll(x->own), wy = __builtin_popcountll(y->own);

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return wx != wy ? wy - wx : (x->key.cell > y->key.cell) - (x->key.cell < y->key.cell);
}

/* The line of the cell at pl along which item j varies: its column when its rows are j's
 * categories, its row when its columns are; (size_t)-1 when neither. */
static size_t line_of(const rpt_family *fams, const place *pl, int j)
{
    const rpt_family *fam = &fams[pl->f];
    size_t base = (pl->f * RPT_VARIANTS_MAX + pl->v) * 2;

    if (fam->rows.def->kind != RPT_DIM_CONTINUING && fam->rows.def->item == j)
        return base * RPT_DIM_MAX + pl->c;
    if (!fam->def->measures && fam->cols.def->kind != RPT_DIM_CONTINUING &&
        fam->cols.def->item == j)
        return (base + 1) * RPT_DIM_MAX + pl->r;
    return (size_t)-1;
}

/* The relations a group adds (rep numbers, sorted members after the total): no two alike. */
typedef struct sums {
    size_t *cells, n, cap;
    size_t mark; /* the group's first relation in cells */
    dc_set *set;
} sums;

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return (x > y) - (x < y);
}

/* Relates rel[0] = rel[1] + ... + rel[n - 1] unless the group has related it already. */
static tdi_status add_sum(sums *sm, size_t *rel, size_t n)
{
    size_t *p;

    qsort(rel + 1, n - 1, sizeof *rel, size_cmp);
    for (size_t k = sm->mark; k < sm->n; k += sm->cells[k] + 1)
        if (sm->cells[k] == n && memcmp(sm->cells + k + 1, rel, n * sizeof *rel) == 0)
            return TDI_OK;
    if (sm->n + n + 1 > sm->cap) {
        size_t cap = (sm->n + n + 1) * 2;
        if (!(p = realloc(sm->cells, cap * sizeof *p)))
            return TDI_ERR_INTERNAL;
        sm->cells = p;
        sm->cap = cap;
    }
    sm->cells[sm->n] = n;
    memcpy(sm->cells + sm->n + 1, rel, n * sizeof *rel);
    sm->n += n + 1;
    return dc_set_relate(sm->set, rel, n, 1);
}

/* In line[0..n) (one line's members, widest first), the cells that partition q's mask, greedily
 * (the categories of a dimension nest): their number into rel from 1, 0 when they do not, or
 * when the line has a cell of q's mask (its own relation holds it). */
static size_t partition(const keyed *q, keyed *const *line, size_t n, const size_t *rep,
                        size_t *rel)
{
    uint64_t got = 0;
    size_t m = 1;

    for (size_t k = 0; k < n; k++) {
        uint64_t own = line[k]->own;
        if (own == q->own)
            return 0;
        if ((own & ~q->own) == 0 && (own & got) == 0 && own) {
            got |= own;
            rel[m++] = rep[line[k]->key.cell];
        }
    }
    rel[0] = rep[q->key.cell];
    return got == q->own && m > 2 ? m : 0;
}

/* Group g[0..n): cells whose predicates differ in item j only. Every distinct mask of it that a
 * line of a table partitions is their sum, exactly. */
static tdi_status sum_group(keyed *g, size_t n, keyed **by_line, size_t *rel, const size_t *rep,
                            sums *sm)
{
    size_t nl = 0;
    tdi_status st = TDI_OK;

    for (size_t k = 0; k < n; k++)
        if (g[k].line != (size_t)-1)
            by_line[nl++] = &g[k];
    if (nl < 2)
        return TDI_OK;
    qsort(by_line, nl, sizeof *by_line, line_cmp);
    sm->mark = sm->n;
    for (size_t q = 0; q < n && st == TDI_OK; q++) {
        int seen = 0;
        for (size_t e = 0; e < q && !seen; e++)
            seen = g[e].own == g[q].own;
        for (size_t a = 0, b; !seen && a < nl && st == TDI_OK; a = b) {
            size_t m;
            for (b = a; b < nl && by_line[b]->line == by_line[a]->line;)
                b++;
            if ((m = partition(&g[q], by_line + a, b - a, rep, rel)) > 0)
                st = add_sum(sm, rel, m);
        }
    }
    return st;
}

/* The cells keyed for item j, sorted; then every group's sums. */
static tdi_status sums_along(const rpt_family *fams, const predicate *p, const place *where,
                             size_t ncells, int j, const size_t *rep, keyed *k, keyed **by_line,
                             size_t *rel, sums *sm)
{
    const tdi_item_def *def = tdi_item_get((tdi_item)j);
    uint64_t all = def->ncodes >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << def->ncodes) - 1;
    tdi_status st = TDI_OK;

    for (size_t i = 0; i < ncells; i++) {
        k[i].key = p[i];
        k[i].own = p[i].mask[j] == ~UINT64_C(0) && !def->conditional ? all : p[i].mask[j];
        k[i].key.mask[j] = ~UINT64_C(0);
        k[i].line = line_of(fams, &where[i], j);
    }
    qsort(k, ncells, sizeof *k, keyed_cmp);
    for (size_t a = 0, b; a < ncells && st == TDI_OK; a = b) {
        for (b = a + 1; b < ncells && mask_cmp(&k[a].key, &k[b].key) == 0;)
            b++;
        if (b - a > 2)
            st = sum_group(k + a, b - a, by_line, rel, rep, sm);
    }
    return st;
}

/* 1 when item j is the item of a row or column dimension of a family. */
static int line_item(const rpt_family *fams, size_t n, int j)
{
    for (size_t f = 0; f < n; f++)
        if ((fams[f].rows.def->kind != RPT_DIM_CONTINUING && fams[f].rows.def->item == j) ||
            (!fams[f].def->measures && fams[f].cols.def->kind != RPT_DIM_CONTINUING &&
             fams[f].cols.def->item == j))
            return 1;
    return 0;
}

/* Relates every cell whose predicate is the disjoint union of the predicates of cells in one
 * line (a row or a column) of a table, along an item the line's dimension is of: e.g. 25.1.5's
 * grand total (primary drug in groups 4, 5, 6 or 9) = 9.1.1's rows 4, 5, 6 and 9 of column
 * total. A line that holds a cell of the same predicate is left out: its table's own relation
 * and the equal cells' links hold it. Cells are named by the first of their equals (rep). */
static tdi_status link_sums(const rpt_family *fams, size_t n, const predicate *p,
                            const place *where, size_t ncells, const size_t *rep, dc_set *set)
{
    keyed *k = malloc((ncells ? ncells : 1) * sizeof *k);
    keyed **by_line = malloc((ncells ? ncells : 1) * sizeof *by_line);
    size_t *rel = malloc((ncells + 1) * sizeof *rel);
    sums sm = {.set = set};
    tdi_status st = k && by_line && rel ? TDI_OK : TDI_ERR_INTERNAL;

    for (int j = 0; j < TDI_ITEM_COUNT && st == TDI_OK; j++)
        if (line_item(fams, n, j))
            st = sums_along(fams, p, where, ncells, j, rep, k, by_line, rel, &sm);
    free(k);
    free(by_line);
    free(rel);
    free(sm.cells);
    return st;
}

/* ---- totals: which a receiver knows, which count a part ---- */

/* Marks the set's totals (dc_set_mark_totals): every cell counting all entrants (the grand
 * total of every all-entrants table, the header's entrants) public, and the grand total of a
 * table of some primary drugs only (25.1.1-25.1.5) a part, a cell like any other. */
static tdi_status mark_totals(const rpt_family *fams, size_t n, const predicate *p, size_t ncells,
                              dc_set *set)
{
    predicate all = {{0}, 0};
    size_t *pub = malloc((ncells ? ncells : 1) * sizeof *pub), npub = 0, part[RPT_VARIANTS_MAX];
    tdi_status st = pub ? TDI_OK : TDI_ERR_INTERNAL;

    memset(all.mask, 0xff, sizeof all.mask);
    restrict_item(&all, TDI_ITEM_PRIMARY_DRUG, population_codes());
    for (size_t i = 0; pub && i < ncells; i++)
        if (mask_cmp(&p[i], &all) == 0)
            pub[npub++] = p[i].cell;
    if (st == TDI_OK)
        st = dc_set_mark_totals(set, pub, npub, DC_TOTAL_PUBLIC);
    for (size_t f = 0; f < n && st == TDI_OK; f++) {
        size_t nparts = 0, first = dc_set_cell(set, f, 0);
        for (size_t v = 0; v < fams[f].def->nvariants; v++) {
            size_t gt = dc_grid_grand_total(&fams[f].grid, dc_cell(&fams[f].grid, v, 0, 0));
            uint64_t drugs = p[first + gt].mask[TDI_ITEM_PRIMARY_DRUG];
            if (drugs != all.mask[TDI_ITEM_PRIMARY_DRUG])
                part[nparts++] = first + gt;
        }
        st = dc_set_mark_totals(set, part, nparts, DC_TOTAL_PART);
    }
    free(pub);
    return st;
}

/* Cells of equal predicates related as equal; rep[cell]: the first of its equals (cells are
 * numbered from 0: the set's first grid is fams[0]'s). */
static tdi_status link_equal(const predicate *sorted, size_t ncells, size_t *rep, dc_set *set)
{
    tdi_status st = TDI_OK;

    for (size_t i = 0; i < ncells; i++)
        rep[sorted[i].cell] = i > 0 && mask_cmp(&sorted[i - 1], &sorted[i]) == 0
                                  ? rep[sorted[i - 1].cell]
                                  : sorted[i].cell;
    for (size_t i = 1; i < ncells && st == TDI_OK; i++)
        if (mask_cmp(&sorted[i - 1], &sorted[i]) == 0) {
            size_t pair[2] = {sorted[i - 1].cell, sorted[i].cell};
            st = dc_set_relate(set, pair, 2, 1);
        }
    return st;
}

tdi_status rpt_link_tables(const rpt_family *fams, size_t n, dc_set *set)
{
    size_t ncells = 0, k = 0, *rep;
    predicate *p, *sorted;
    place *where;
    tdi_status st = TDI_OK;

    for (size_t f = 0; f < n; f++)
        ncells += fams[f].def->nvariants * fams[f].rows.n * fams[f].cols.n;
    p = malloc((ncells ? ncells : 1) * sizeof *p);
    sorted = malloc((ncells ? ncells : 1) * sizeof *sorted);
    where = malloc((ncells ? ncells : 1) * sizeof *where);
    rep = malloc((ncells ? ncells : 1) * sizeof *rep);
    if (!p || !sorted || !where || !rep) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    for (size_t f = 0; f < n; f++) {
        const rpt_family *fam = &fams[f];
        for (size_t v = 0; v < fam->def->nvariants; v++)
            for (size_t r = 0; r < fam->rows.n; r++)
                for (size_t c = 0; c < fam->cols.n; c++) {
                    predicate_of(fam, f, v, r, c, &p[k]);
                    where[k] = (place){f, v, r, c};
                    p[k++].cell = dc_set_cell(set, f, dc_cell(&fam->grid, v, r, c));
                }
    }
    memcpy(sorted, p, ncells * sizeof *p);
    qsort(sorted, ncells, sizeof *sorted, predicate_cmp);
    st = ncells ? link_equal(sorted, ncells, rep, set) : TDI_OK;
    if (st == TDI_OK)
        st = link_sums(fams, n, p, where, ncells, rep, set);
    for (size_t i = 0; i < ncells && st == TDI_OK; i++)
        if (p[i].mask[PRED_MEASURE] != ~UINT64_C(0))
            st = link_measure(fams, n, sorted, ncells, &p[i], set);
    if (st == TDI_OK)
        st = rpt_outcome_link(fams, n, set);
    if (st == TDI_OK)
        st = mark_totals(fams, n, p, ncells, set);
done:
    free(p);
    free(sorted);
    free(where);
    free(rep);
    return st;
}
