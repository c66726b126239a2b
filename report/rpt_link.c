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

tdi_status rpt_link_tables(const rpt_family *fams, size_t n, dc_set *set)
{
    size_t ncells = 0, k = 0;
    predicate *p, *sorted;
    tdi_status st = TDI_OK;

    for (size_t f = 0; f < n; f++)
        ncells += fams[f].def->nvariants * fams[f].rows.n * fams[f].cols.n;
    p = malloc((ncells ? ncells : 1) * sizeof *p);
    sorted = malloc((ncells ? ncells : 1) * sizeof *sorted);
    if (!p || !sorted) {
        free(p);
        free(sorted);
        return TDI_ERR_INTERNAL;
    }
    for (size_t f = 0; f < n; f++) {
        const rpt_family *fam = &fams[f];
        for (size_t v = 0; v < fam->def->nvariants; v++)
            for (size_t r = 0; r < fam->rows.n; r++)
                for (size_t c = 0; c < fam->cols.n; c++) {
                    predicate_of(fam, f, v, r, c, &p[k]);
                    p[k++].cell = dc_set_cell(set, f, dc_cell(&fam->grid, v, r, c));
                }
    }
    memcpy(sorted, p, ncells * sizeof *p);
    qsort(sorted, ncells, sizeof *sorted, predicate_cmp);
    for (size_t i = 1; i < ncells && st == TDI_OK; i++)
        if (mask_cmp(&sorted[i - 1], &sorted[i]) == 0) {
            size_t pair[2] = {sorted[i - 1].cell, sorted[i].cell};
            st = dc_set_relate(set, pair, 2, 1);
        }
    for (size_t i = 0; i < ncells && st == TDI_OK; i++)
        if (p[i].mask[PRED_MEASURE] != ~UINT64_C(0))
            st = link_measure(fams, n, sorted, ncells, &p[i], set);
    if (st == TDI_OK)
        st = rpt_outcome_link(fams, n, set);
    free(p);
    free(sorted);
    return st;
}
