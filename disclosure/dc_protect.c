/*
 * dc_protect: owns the audit -> suppress more loop (see dc_protect.h): which cells a round
 * suppresses, which parts the next round audits, and when the loop stops.
 */
#include "dc_protect.h"

#include "dc_audit.h"

#include "../common/tdi_log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The cells failing an audit, and per cell the width it lacks. */
typedef struct failing {
    size_t *cell, *release, n, cap;
    double *deficit;
    int oom;
} failing;

static void note_fail(void *ctx, const dc_interval *iv)
{
    failing *f = ctx;

    if (!f->oom && f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 256;
        size_t *c = realloc(f->cell, cap * sizeof *c);
        double *d = c ? realloc(f->deficit, cap * sizeof *d) : NULL;
        size_t *r = d ? realloc(f->release, cap * sizeof *r) : NULL;
        if (c)
            f->cell = c;
        if (d)
            f->deficit = d;
        if (r)
            f->release = r;
        if (c && d && r)
            f->cap = cap;
        else
            f->oom = 1;
    }
    if (f->oom)
        return;
    f->deficit[f->n] = (double)iv->need - (iv->hi - iv->lo);
    f->release[f->n] = iv->release;
    f->cell[f->n++] = iv->cell;
}

/* What a run of the loop keeps: the relations, and per cell the relations holding it. */
typedef struct loop {
    dc_set *s;
    dc_rels r;
    size_t ncells;
    size_t *by_start, *by; /* cell i is in relations by[by_start[i] .. by_start[i + 1]) */
    size_t *table;         /* per cell: its table's grand total (dc_set_grand_total) */
    unsigned char *sup;    /* suppressed flags before the round */
    unsigned char *dirty;  /* cells the next audit must look at (dc_audit_opts.only) */
    unsigned char *mark;   /* scratch: tables to suppress throughout, cells to suppress */
    double *lacked;        /* per cell: the width it lacked in the last audit, 0: it passed */
    size_t *more, nmore;
} loop;

static tdi_status loop_init(loop *l, dc_set *s)
{
    size_t n = dc_set_ncells(s), m;
    tdi_status st = dc_set_rels(s, &l->r);

    l->s = s;
    l->ncells = n;
    if (st != TDI_OK)
        return st;
    m = l->r.n ? l->r.start[l->r.n] : 0;
    l->by_start = calloc(n + 2, sizeof *l->by_start);
    l->by = malloc((m ? m : 1) * sizeof *l->by);
    l->table = malloc((n ? n : 1) * sizeof *l->table);
    l->sup = calloc(n ? n : 1, 1);
    l->dirty = calloc(n ? n : 1, 1);
    l->mark = calloc(n ? n : 1, 1);
    l->more = malloc((n ? n : 1) * sizeof *l->more);
    l->lacked = calloc(n ? n : 1, sizeof *l->lacked);
    if (!l->by_start || !l->by || !l->table || !l->sup || !l->dirty || !l->mark || !l->more ||
        !l->lacked)
        return TDI_ERR_INTERNAL;
    /* counting sort of (cell, relation) pairs by cell */
    for (size_t j = 0; j < m; j++)
        l->by_start[l->r.cells[j] + 2]++;
    for (size_t i = 0; i < n; i++)
        l->by_start[i + 2] += l->by_start[i + 1];
    for (size_t k = 0; k < l->r.n; k++)
        for (size_t j = l->r.start[k]; j < l->r.start[k + 1]; j++)
            l->by[l->by_start[l->r.cells[j] + 1]++] = k;
    for (size_t i = 0; i < n; i++)
        l->table[i] = dc_set_grand_total(s, i);
    return TDI_OK;
}

static void loop_free(loop *l)
{
    free(l->by_start);
    free(l->by);
    free(l->table);
    free(l->sup);
    free(l->dirty);
    free(l->mark);
    free(l->more);
    free(l->lacked);
}

/* 1 when published cell c may be suppressed to widen another: never a grand total nor a kept
 * published cell (dc_set_is_fixed). The one place that says so for the loop. */
static int may_suppress(const loop *l, size_t c)
{
    return !l->sup[c] && !dc_set_is_fixed(l->s, c);
}

static void add_more(loop *l, size_t c)
{
    if (!l->mark[c]) {
        l->mark[c] = 1;
        l->more[l->nmore++] = c;
    }
}

/* How good published cell c (not a grand total) is to suppress for a cell lacking deficit:
 * lower is better. A cell at least as large as the deficit widens the interval enough in one
 * step (the smallest such: the least information lost), else the largest smaller one; zero
 * cells widen nothing in the relation but may elsewhere. */
static double rank_of(const dc_set *s, size_t c, double deficit)
{
    double v = (double)dc_set_value(s, c);

    if (v == 0)
        return 3e18;
    return v >= deficit ? v : 1e18 - v;
}

/* For failing cell i: the best published cell of every relation holding it, never a grand
 * total (published whatever its value). 0 when there is none. */
static int widen(loop *l, size_t i, double deficit)
{
    int got = 0;

    for (size_t b = l->by_start[i]; b < l->by_start[i + 1]; b++) {
        size_t k = l->by[b], best = (size_t)-1;
        double best_rank = 0;
        for (size_t j = l->r.start[k]; j < l->r.start[k + 1]; j++) {
            size_t c = l->r.cells[j];
            int open = may_suppress(l, c);
            double rank = open ? rank_of(l->s, c, deficit) : 0;
            if (open && (best == (size_t)-1 || rank < best_rank)) {
                best = c;
                best_rank = rank;
            }
        }
        if (best != (size_t)-1) {
            add_more(l, best);
            got = 1;
        }
    }
    return got;
}

/* Marks table t to be suppressed throughout: 1 when it has a published cell that may be. */
static int mark_table(loop *l, unsigned char *tables, size_t t)
{
    int open = 0;

    if (tables[t])
        return 1;
    for (size_t c = 0; c < l->ncells && !open; c++)
        open |= l->table[c] == t && may_suppress(l, c);
    tables[t] = (unsigned char)(tables[t] || open);
    return open;
}

/* Whole tables for the failing cells cells[0..n) (dc_protect.h). 0 when none has any cell
 * left to suppress. */
static int whole_tables(loop *l, const size_t *cells, size_t n, unsigned char *tables)
{
    int any = 0;

    for (size_t k = 0; k < n; k++) {
        size_t i = cells[k];
        if (mark_table(l, tables, l->table[i])) {
            any = 1;
            continue;
        }
        for (size_t b = l->by_start[i]; b < l->by_start[i + 1]; b++)
            for (size_t j = l->r.start[l->by[b]]; j < l->r.start[l->by[b] + 1]; j++)
                any |= mark_table(l, tables, l->table[l->r.cells[j]]);
    }
    for (size_t c = 0; c < l->ncells; c++)
        if (tables[l->table[c]] && may_suppress(l, c))
            add_more(l, c);
    return any;
}

/* One round's suppression for the cells of f; *count: the set's suppressed cells after. */
static tdi_status suppress_round(loop *l, const failing *f, int tables, size_t *count)
{
    unsigned char *t = calloc(l->ncells ? l->ncells : 1, 1);
    size_t *stuck = malloc((f->n ? f->n : 1) * sizeof *stuck), nstuck = 0;
    tdi_status st = t && stuck ? TDI_OK : TDI_ERR_INTERNAL;

    l->nmore = 0;
    memset(l->mark, 0, l->ncells);
    for (size_t i = 0; i < l->ncells; i++)
        l->sup[i] = (unsigned char)dc_set_suppressed(l->s, i);
    /* cell by cell; a cell with nothing left in its relations, or every cell in the late
     * rounds, by whole tables */
    for (size_t k = 0; st == TDI_OK && k < f->n; k++) {
        size_t c = f->release[k], i = f->cell[k];
        /* the duals' cell, and the cells one step away when that did not help last round (a
         * degenerate program: the dual promised a gain the next bound took away) */
        int hinted = !tables && c != (size_t)-1 && may_suppress(l, c), near = 0;
        if (hinted)
            add_more(l, c);
        if (!tables && (!hinted || l->lacked[i] == f->deficit[k]))
            near = widen(l, i, f->deficit[k]);
        if (tables || (!hinted && !near))
            stuck[nstuck++] = i;
    }
    for (size_t k = 0; k < f->n; k++)
        l->lacked[f->cell[k]] = f->deficit[k];
    /* the last resort: every table (its floor, dc_audit.h, is what each cell then has) */
    if (st == TDI_OK && !whole_tables(l, stuck, nstuck, t) && l->nmore == 0)
        for (size_t c = 0; c < l->ncells; c++)
            if (may_suppress(l, c))
                add_more(l, c);
    if (st == TDI_OK && l->nmore == 0) {
        tdi_error("disclosure audit: a suppressed cell cannot be protected: every cell around "
                  "it is suppressed already");
        st = TDI_ERR_DISCLOSURE;
    }
    free(t);
    free(stuck);
    if (st == TDI_OK)
        st = dc_set_suppress_more(l->s, l->more, l->nmore, count);
    /* the next audit: the new cells, the failing ones, and the suppressed zeros: more
     * suppression only widens an interval, so a cell that passed as wide as it needs stays
     * passed, but one that passed as zero throughout ([0, 0]) may now show [0, 2] */
    memset(l->dirty, 0, l->ncells);
    for (size_t i = 0; st == TDI_OK && i < l->ncells; i++)
        l->dirty[i] = (unsigned char)(dc_set_suppressed(l->s, i) &&
                                      (!l->sup[i] || dc_set_value(l->s, i) == 0));
    for (size_t k = 0; k < f->n; k++)
        l->dirty[f->cell[k]] = 1;
    return st;
}

tdi_status dc_set_protect(dc_set *s, unsigned long threshold, unsigned long protection,
                          dc_protect_stats *stats)
{
    dc_protect_stats sx = {0};
    failing f = {0};
    loop l = {0};
    tdi_status st = dc_set_suppress_level(s, threshold, protection, &sx.before);
    size_t ncells = dc_set_ncells(s);
    double *floor = malloc((ncells ? ncells : 1) * sizeof *floor);
    dc_audit_opts o = {protection ? protection : threshold, 0, NULL, NULL, note_fail, &f, floor};

    sx.after = sx.before;
    for (size_t i = 0; floor && i < ncells; i++)
        floor[i] = NAN; /* the floors do not change with the suppression: found once */
    if (st == TDI_OK)
        st = floor ? loop_init(&l, s) : TDI_ERR_INTERNAL;
    while (st == TDI_OK) {
        size_t solves = 0;
        f.n = 0;
        sx.rounds++;
        st = dc_audit_some(s, &o, NULL, &solves);
        sx.solves += solves;
        if (st == TDI_OK && f.oom)
            st = TDI_ERR_INTERNAL;
        if (sx.rounds == 1)
            sx.failing = f.n;
        if (st != TDI_OK || f.n == 0)
            break;
        tdi_debug("disclosure audit: round %zu: %zu cells too narrow, %zu solves", sx.rounds, f.n,
                  solves);
        sx.tables += sx.rounds > DC_PROTECT_WIDEN;
        st = suppress_round(&l, &f, sx.rounds > DC_PROTECT_WIDEN, &sx.after);
        o.only = l.dirty;
    }
    free(f.cell);
    free(f.deficit);
    free(f.release);
    free(floor);
    loop_free(&l);
    if (stats)
        *stats = sx;
    return st;
}
