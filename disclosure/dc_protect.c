/*
 * dc_protect: owns the audit -> suppress more loop (see dc_protect.h): which cells a round
 * suppresses, which parts the next round audits, and when the loop stops.
 */
#include "dc_protect.h"

#include "dc_audit.h"
#include "dc_widen.h"

#include "../common/tdi_log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The cells failing an audit, and per cell the width it needs. */
typedef struct failing {
    size_t *cell, n, cap;
    double *need;
    int oom;
} failing;

static void note_fail(void *ctx, const dc_interval *iv)
{
    failing *f = ctx;

    if (!f->oom && f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 256;
        size_t *c = realloc(f->cell, cap * sizeof *c);
        double *nd = c ? realloc(f->need, cap * sizeof *nd) : NULL;
        if (c)
            f->cell = c;
        if (nd)
            f->need = nd;
        if (c && nd)
            f->cap = cap;
        else
            f->oom = 1;
    }
    if (f->oom)
        return;
    f->need[f->n] = (double)iv->need;
    f->cell[f->n++] = iv->cell;
}

/* What a run of the loop keeps: the relations, and per cell the relations holding it. */
typedef struct loop {
    dc_set *s;
    dc_rels r;
    size_t ncells;
    size_t *table;        /* per cell: its table's grand total (dc_set_grand_total) */
    unsigned char *sup;   /* suppressed flags before the round */
    unsigned char *dirty; /* cells the next audit must look at (dc_audit_opts.only) */
    unsigned char *mark;  /* scratch: tables to suppress throughout, cells to suppress */
    unsigned char *taken; /* suppressed, or chosen this round */
    dc_widen *w;
    unsigned char *failed; /* per cell: failed an earlier audit */
    double *shown;         /* per cell: the width this round's programs show (dc_widen_cell) */
    size_t *more, nmore;
    size_t *empty, nempty; /* this round: failing cells whose exact program asked for none */
    size_t guessed;        /* this round: failing cells whose guess asked for no release */
    size_t exact;          /* exact programs solved (dc_protect_stats.exact) */
} loop;

static tdi_status loop_init(loop *l, dc_set *s)
{
    size_t n = dc_set_ncells(s);
    tdi_status st = dc_set_rels(s, &l->r);

    l->s = s;
    l->ncells = n;
    if (st != TDI_OK)
        return st;
    l->table = malloc((n ? n : 1) * sizeof *l->table);
    l->sup = calloc(n ? n : 1, 1);
    l->dirty = calloc(n ? n : 1, 1);
    l->mark = calloc(n ? n : 1, 1);
    l->taken = calloc(n ? n : 1, 1);
    l->more = malloc((n ? n : 1) * sizeof *l->more);
    l->empty = malloc((n ? n : 1) * sizeof *l->empty);
    l->failed = calloc(n ? n : 1, 1);
    l->shown = malloc((n ? n : 1) * sizeof *l->shown);
    l->w = dc_widen_new(s, &l->r);
    if (!l->table || !l->sup || !l->dirty || !l->mark || !l->more || !l->failed || !l->taken ||
        !l->shown || !l->w || !l->empty)
        return TDI_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++)
        l->table[i] = dc_set_grand_total(s, i);
    /* cells an audit of these same cells found too narrow start as failed: exact programs */
    for (size_t k = 0, m = dc_set_narrow(s, l->more); k < m; k++)
        l->failed[l->more[k]] = 1;
    return TDI_OK;
}

static void loop_free(loop *l)
{
    free(l->table);
    free(l->sup);
    free(l->dirty);
    free(l->mark);
    free(l->taken);
    dc_widen_free(l->w);
    free(l->more);
    free(l->empty);
    free(l->failed);
    free(l->shown);
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
        l->taken[c] = 1;
        l->more[l->nmore++] = c;
    }
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
        for (size_t b = l->r.by_start[i]; b < l->r.by_start[i + 1]; b++)
            for (size_t j = l->r.start[l->r.by[b]]; j < l->r.start[l->r.by[b] + 1]; j++)
                any |= mark_table(l, tables, l->table[l->r.cells[j]]);
    }
    for (size_t c = 0; c < l->ncells; c++)
        if (tables[l->table[c]] && may_suppress(l, c))
            add_more(l, c);
    return any;
}

/* Releases for failing cell i by linear programming (dc_widen.h), looking 2, 4, 8, then 16
 * relations around it (further, the programs cost seconds each and the whole tables of the
 * last resort are cheaper). A cell's first programs are guesses (dc_widen_ask.exact 0: several
 * times cheaper, right for most cells, and the next audit judges them); a cell that failed
 * before gets exact ones, asking for one more (the audit's intervals are whole numbers, the
 * program's need not be), then, at the widest, for its need. TDI_ERR_DISCLOSURE when nothing
 * within reach widens it. */
static tdi_status widen_lp(loop *l, size_t i, double need, size_t *out)
{
    static const size_t hops[] = {2, 4, 8, 16};
    const size_t nh = sizeof hops / sizeof *hops;
    dc_widen_ask ask = {i, need + l->failed[i], 0, l->failed[i]};
    tdi_status st = TDI_ERR_DISCLOSURE;
    size_t n = 0;

    for (size_t h = 0; st == TDI_ERR_DISCLOSURE && h < nh; h++) {
        ask.hops = hops[h];
        st = dc_widen_cell(l->w, l->taken, &ask, out, &n, l->shown);
        l->exact += (size_t)ask.exact;
    }
    if (st == TDI_ERR_DISCLOSURE && ask.need > need) {
        ask.need = need;
        st = dc_widen_cell(l->w, l->taken, &ask, out, &n, l->shown);
        l->exact++;
    }
    /* the audit found it narrow, yet no program asks for a release: a guess (its chain cut
     * short) or a program whose fractional completions are wide enough where the audit's whole
     * numbers are not. A guess waits for the next round's exact programs, which ask for one
     * more (l->guessed); an exact one counts as stuck when nothing else is suppressed (l->empty) */
    if (st == TDI_OK && n == 0 && ask.exact)
        l->empty[l->nempty++] = i;
    l->guessed += st == TDI_OK && n == 0 && !ask.exact;
    for (size_t k = 0; st == TDI_OK && k < n; k++)
        add_more(l, out[k]);
    return st;
}

/* 1 when a cell chosen this round is within two relations of cell i: the audit after the round
 * tells whether that widened i too (most often it does: i's sibling cells fail together), which
 * is cheaper than a program for i now. */
static int near_chosen(const loop *l, size_t i)
{
    for (size_t b = l->r.by_start[i]; b < l->r.by_start[i + 1]; b++)
        for (size_t j = l->r.start[l->r.by[b]]; j < l->r.start[l->r.by[b] + 1]; j++) {
            size_t m = l->r.cells[j];
            if (l->mark[m])
                return 1;
            for (size_t b2 = l->r.by_start[m]; b2 < l->r.by_start[m + 1]; b2++)
                for (size_t j2 = l->r.start[l->r.by[b2]]; j2 < l->r.start[l->r.by[b2] + 1]; j2++)
                    if (l->mark[l->r.cells[j2]])
                        return 1;
        }
    return 0;
}

/* One round's suppression for the cells of f; *count: the set's suppressed cells after. */
static tdi_status suppress_round(loop *l, const failing *f, int tables, size_t *count)
{
    unsigned char *t = calloc(l->ncells ? l->ncells : 1, 1);
    size_t *stuck = malloc((f->n ? f->n : 1) * sizeof *stuck), nstuck = 0;
    size_t *out = malloc((l->ncells ? l->ncells : 1) * sizeof *out);
    tdi_status st = t && stuck && out ? TDI_OK : TDI_ERR_INTERNAL;

    l->nmore = l->nempty = l->guessed = 0;
    memset(l->mark, 0, l->ncells);
    for (size_t i = 0; i < l->ncells; i++) {
        l->taken[i] = l->sup[i] = (unsigned char)dc_set_suppressed(l->s, i);
        l->shown[i] = 0;
    }
    /* cell by cell, each release set named by a program; a cell nothing widens, or every
     * cell in the late rounds, by whole tables */
    for (size_t k = 0; st == TDI_OK && k < f->n; k++) {
        size_t i = f->cell[k];
        if (tables) {
            stuck[nstuck++] = i;
            continue;
        }
        if (l->shown[i] >= f->need[k] || near_chosen(l, i))
            continue;
        st = widen_lp(l, i, f->need[k], out);
        if (st == TDI_ERR_DISCLOSURE) {
            stuck[nstuck++] = i;
            st = TDI_OK;
        }
    }
    for (size_t k = 0; k < f->n; k++)
        l->failed[f->cell[k]] = 1;
    /* nothing else to suppress: a cell its exact program saw wide enough (l->empty) is pinned
     * by what lies beyond its reach, or shows fractional widths only */
    for (size_t k = 0; st == TDI_OK && l->nmore == 0 && k < l->nempty; k++)
        stuck[nstuck++] = l->empty[k];
    /* the last resort: every table (its floor, dc_audit.h, is what each cell then has) */
    if (st == TDI_OK && nstuck && !whole_tables(l, stuck, nstuck, t) && l->nmore == 0)
        for (size_t c = 0; c < l->ncells; c++)
            if (may_suppress(l, c))
                add_more(l, c);
    if (st == TDI_OK && l->nmore == 0 && l->guessed == 0) {
        tdi_debug("disclosure audit: a suppressed cell cannot be protected: every cell around "
                  "it is suppressed already");
        st = TDI_ERR_DISCLOSURE;
    }
    free(t);
    free(stuck);
    free(out);
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

/* A failing cell narrower than it needs even with every cell suppressed but the grand totals
 * and the kept ones (dc_audit_opts.kept_floor), or (size_t)-1: no round can protect it. */
static size_t pinned(const failing *f, const double *kept)
{
    for (size_t k = 0; k < f->n; k++)
        if (!isnan(kept[f->cell[k]]) && kept[f->cell[k]] < f->need[k])
            return f->cell[k];
    return (size_t)-1;
}

/* A set without kept cells whose published grand totals are all below the level (a body with
 * fewer entrants than the threshold): every cell but the grand totals suppressed gives each cell
 * its floor, which is what it needs (dc_audit.h), so that is the protection, without the rounds
 * (an audit of a set suppressed almost throughout is its dearest: a minute on one body's
 * tables). 1 when it applied; *count: the set's suppressed cells after. */
static int below_level(dc_set *s, unsigned long level, size_t *count, tdi_status *st)
{
    size_t ncells = dc_set_ncells(s), n = 0, *all;
    int any = 0; /* nothing suppressed (no count under the threshold): nothing to protect */

    for (size_t i = 0; i < ncells; i++) {
        if (dc_set_is_grand_total(s, i) ? !dc_set_suppressed(s, i) && dc_set_value(s, i) >= level
                                        : dc_set_is_fixed(s, i))
            return 0;
        any |= dc_set_suppressed(s, i);
    }
    if (!any)
        return 0;
    all = malloc((ncells ? ncells : 1) * sizeof *all);
    for (size_t i = 0; all && i < ncells; i++)
        if (!dc_set_suppressed(s, i) && !dc_set_is_fixed(s, i))
            all[n++] = i;
    *st = all ? dc_set_suppress_more(s, all, n, count) : TDI_ERR_INTERNAL;
    free(all);
    return 1;
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
    double *kept = malloc((ncells ? ncells : 1) * sizeof *kept);
    dc_audit_opts o = {
        protection ? protection : threshold, 1, NULL, NULL, note_fail, &f, floor, NULL};
    int small;

    sx.after = sx.before;
    sx.blocked = (size_t)-1;
    for (size_t i = 0; floor && kept && i < ncells; i++) {
        floor[i] = kept[i] = NAN; /* the floors do not change with the suppression: found once */
        if (st == TDI_OK && dc_set_is_fixed(s, i) && !dc_set_is_grand_total(s, i))
            o.kept_floor = kept; /* a stage with cells kept: it may have to give them up */
    }
    small = st == TDI_OK && below_level(s, o.protection, &sx.after, &st);
    if (st == TDI_OK && !small)
        st = floor && kept ? loop_init(&l, s) : TDI_ERR_INTERNAL;
    while (st == TDI_OK && !small) {
        size_t solves = 0;
        f.n = 0;
        sx.rounds++;
        st = dc_audit_some(s, &o, NULL, &solves);
        sx.solves += solves;
        if (st == TDI_OK && f.oom)
            st = TDI_ERR_INTERNAL;
        if (st == TDI_OK && sx.rounds == 1) {
            sx.failing = f.n;
            st = dc_set_mark_narrow(s, f.cell, f.n);
        }
        if (st != TDI_OK || f.n == 0)
            break;
        if (o.kept_floor && (sx.blocked = pinned(&f, kept)) != (size_t)-1) {
            tdi_debug("disclosure audit: a suppressed cell cannot be protected: what is kept "
                      "pins it");
            st = TDI_ERR_DISCLOSURE;
            break;
        }
        tdi_debug("disclosure audit: round %zu: %zu cells too narrow, %zu solves", sx.rounds, f.n,
                  solves);
        sx.tables += sx.rounds > DC_PROTECT_WIDEN;
        st = suppress_round(&l, &f, sx.rounds > DC_PROTECT_WIDEN, &sx.after);
        o.only = l.dirty;
    }
    free(f.cell);
    free(f.need);
    free(floor);
    free(kept);
    sx.exact = l.exact;
    loop_free(&l);
    if (stats)
        *stats = sx;
    return st;
}
