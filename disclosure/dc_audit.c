/*
 * dc_audit: owns the linear programs of the audit and the width each cell needs (see
 * dc_audit.h). GLPK does the solving; this module only states the programs.
 *
 * One program per connected part of the suppressed cells: a column per suppressed cell (>= 0),
 * a row per relation holding one of them (the published cells moved to the right-hand side).
 * Each cell is minimised and maximised over the same rows; GLPK starts each solve from the
 * previous basis, so after the first a solve is a few pivots.
 */
#include "dc_audit.h"
#include "dc_glpk.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"

#include <glpk.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- connected parts (union-find over cells) ---- */

static size_t find(size_t *up, size_t i)
{
    while (up[i] != i) {
        up[i] = up[up[i]];
        i = up[i];
    }
    return i;
}

/* up[i]: for a suppressed cell, its part's representative after find(). */
static void connect(const dc_set *s, const dc_rels *r, const unsigned char *sup, size_t *up)
{
    for (size_t i = 0; i < dc_set_ncells(s); i++)
        up[i] = i;
    for (size_t k = 0; k < r->n; k++) {
        size_t first = (size_t)-1;
        for (size_t j = r->start[k]; j < r->start[k + 1]; j++) {
            size_t c = r->cells[j];
            if (!sup[c])
                continue;
            if (first == (size_t)-1)
                first = c;
            else
                up[find(up, c)] = find(up, first);
        }
    }
}

/* The part of relation k: its first suppressed cell's, or (size_t)-1 when it has none. */
static size_t part_of(const dc_rels *r, size_t k, const unsigned char *sup, size_t *up)
{
    for (size_t j = r->start[k]; j < r->start[k + 1]; j++)
        if (sup[r->cells[j]])
            return find(up, r->cells[j]);
    return (size_t)-1;
}

/* ---- one part's program ---- */

typedef struct audit {
    const dc_set *s;
    const dc_rels *r;
    const unsigned char *sup;
    int values_known;
    unsigned long protection;
    const unsigned char *only; /* per cell, or NULL: audit only the flagged cells (asked()) */
    dc_interval_fn each, fail;
    void *ctx;
    size_t nfail, nsolves;
    int *col;            /* per cell: its column (1-based) in the current program, 0 for none */
    size_t *eq;          /* union-find: cells an exact relation of two says are equal */
    unsigned long *span; /* per class root: the smallest published grand total over it */
    dc_interval *iv;     /* the intervals found, judged once every need is known */
    size_t niv;
    double *floor;      /* per cell: its width with every cell but the grand totals suppressed */
    double *kept_floor; /* per cell, or NULL: the same with the kept cells kept (dc_audit.h) */
    double *floor_to;   /* the floor program writes here: floor or kept_floor */
    int fallback;       /* the program solved is a floor's: only a->floor_to is written */
} audit;

/* 1 when cell i is to be audited: every cell, or the flagged ones. A cell not flagged passed
 * before and is taken to pass: more suppression only widens intervals. */
static int asked(const audit *a, size_t i)
{
    return !a->only || a->only[i];
}

/* Classes of cells that count the same records (exact relations of two cells), and for each
 * the smallest published grand total of a table one of them is in: no cell of the class can be
 * told apart more finely than 0 .. that total. */
static tdi_status spans(audit *a)
{
    size_t ncells = dc_set_ncells(a->s);
    const dc_rels *r = a->r;

    a->eq = malloc((ncells ? ncells : 1) * sizeof *a->eq);
    a->span = malloc((ncells ? ncells : 1) * sizeof *a->span);
    if (!a->eq || !a->span)
        return TDI_ERR_INTERNAL;
    for (size_t i = 0; i < ncells; i++) {
        a->eq[i] = i;
        a->span[i] = (unsigned long)-1;
    }
    for (size_t k = 0; k < r->n; k++)
        if (r->exact[k] && r->start[k + 1] - r->start[k] == 2)
            a->eq[find(a->eq, r->cells[r->start[k]])] = find(a->eq, r->cells[r->start[k] + 1]);
    for (size_t i = 0; i < ncells; i++) {
        size_t gt = dc_set_grand_total(a->s, i), root = find(a->eq, i);
        unsigned long v = dc_set_value(a->s, gt);
        if (!a->sup[gt] && v < a->span[root])
            a->span[root] = v;
    }
    return TDI_OK;
}

/* The width cell i needs (dc_audit.h): the floor only once it is known (for failing cells). */
static unsigned long need_of(const audit *a, size_t i)
{
    unsigned long span = a->span[find(a->eq, i)], need;

    need = span < a->protection ? span : a->protection;
    if (a->floor && !isnan(a->floor[i]) && a->floor[i] < (double)need)
        need = (unsigned long)a->floor[i];
    return need;
}

/* Row k of the program: its coefficients into ia/ja/ar from ne + 1 on; returns the new ne. */
static int state_row(glp_prob *lp, const audit *a, size_t k, int row, int ne, int *ia, int *ja,
                     double *ar)
{
    const dc_rels *r = a->r;
    double known = 0; /* published total - published members */

    for (size_t j = r->start[k]; j < r->start[k + 1]; j++) {
        size_t c = r->cells[j];
        double sign = j == r->start[k] ? 1.0 : -1.0, v = (double)dc_set_value(a->s, c);
        if (a->sup[c]) {
            ne++;
            ia[ne] = row;
            ja[ne] = a->col[c];
            ar[ne] = sign;
        } else {
            known += sign * v;
        }
    }
    /* suppressed part + known = residual; exact: residual 0; else residual >= 0: no table
     * publishes it (where one does, a relation links its cells) */
    if (r->exact[k])
        glp_set_row_bnds(lp, row, GLP_FX, -known, -known);
    else
        glp_set_row_bnds(lp, row, GLP_LO, -known, 0);
    return ne;
}

/* What the solves so far showed: per column the smallest and largest value it took in a
 * feasible solution. An interval is at least that wide, so a column already seen as wide as it
 * needs is not solved for (unless every interval is asked for). */
typedef struct seen {
    double *lo, *hi;
    size_t n;
    size_t solves;
    int stopped; /* a signal asked to stop: no solve was started */
} seen;

/* One simplex run from the current basis (warm start; presolve is off by default), unless a
 * signal asked to stop: a part's solves can take long, a stop must not wait for all of them. */
static int simplex(glp_prob *lp, seen *sn)
{
    glp_smcp parm;

    if (tdi_stop_requested()) {
        sn->stopped = 1;
        return 0;
    }
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    sn->solves++;
    return glp_simplex(lp, &parm) == 0;
}

static void see(glp_prob *lp, seen *sn)
{
    for (size_t k = 0; k < sn->n; k++) {
        double x = glp_get_col_prim(lp, (int)k + 1);
        if (x < sn->lo[k])
            sn->lo[k] = x;
        if (x > sn->hi[k])
            sn->hi[k] = x;
    }
}

/* Optimises column j (dir GLP_MIN or GLP_MAX): *x, INFINITY when unbounded. 0 when GLPK fails. */
static int optimise(glp_prob *lp, int j, int dir, seen *sn, double *x)
{
    int ok;

    glp_set_obj_coef(lp, j, 1.0);
    glp_set_obj_dir(lp, dir);
    ok = simplex(lp, sn);
    if (ok && glp_get_status(lp) == GLP_UNBND && dir == GLP_MAX) {
        *x = INFINITY;
    } else if (ok && glp_get_status(lp) == GLP_OPT) {
        *x = dir == GLP_MIN ? ceil(glp_get_obj_val(lp) - 1e-6) : floor(glp_get_obj_val(lp) + 1e-6);
        see(lp, sn);
    } else {
        ok = 0;
    }
    glp_set_obj_coef(lp, j, 0.0);
    return ok;
}

/* The seeds' objectives: seed 0 maximises the sum of all columns (every cell as large as it
 * gets together), seed 1 minimises it, later seeds maximise a fixed pseudo-random +-1 mix. Their
 * solutions spread the cells' values: most cells are seen wide enough there and need no solve
 * of their own. */
#define DC_SEEDS 6

static unsigned long next_rand(unsigned long *x)
{
    *x = *x * 6364136223846793005UL + 1442695040888963407UL;
    return *x >> 33;
}

/* Solves seed k and notes the solution (also an unbounded ray's last feasible basis). 0 when
 * GLPK fails. */
static int spread(glp_prob *lp, seen *sn, int k)
{
    unsigned long x = 20260412UL + (unsigned long)k;
    int ok, status;

    for (size_t c = 0; c < sn->n; c++)
        glp_set_obj_coef(lp, (int)c + 1, k < 2 || next_rand(&x) % 2 ? 1.0 : -1.0);
    glp_set_obj_dir(lp, k == 1 ? GLP_MIN : GLP_MAX);
    ok = simplex(lp, sn);
    status = glp_get_status(lp);
    if (ok && (status == GLP_OPT || status == GLP_UNBND))
        see(lp, sn);
    else
        ok = 0;
    for (size_t c = 0; c < sn->n; c++)
        glp_set_obj_coef(lp, (int)c + 1, 0.0);
    return ok;
}

/* Columns not yet seen as wide as they need. */
static size_t narrow(const audit *a, const seen *sn, const size_t *cells)
{
    size_t n = 0;

    for (size_t k = 0; k < sn->n; k++)
        n += asked(a, cells[k]) && sn->hi[k] - sn->lo[k] < (double)need_of(a, cells[k]);
    return n;
}

/* With the true values known: pushes every column not yet seen wide enough towards v + need
 * (dir GLP_MAX) or v - need (GLP_MIN) at once, each held within that bound: a vertex can have
 * any number of columns at a bound, so one solve shows many columns wide enough (an optimum
 * without such bounds has few non-zero columns). Repeats while that shows more; the bounds are
 * undone after. 0 when GLPK fails. */
static int push(glp_prob *lp, const audit *a, seen *sn, const size_t *cells, int dir)
{
    size_t left = narrow(a, sn, cells), was = left + 1;
    int ok = 1;

    for (int round = 0; ok && left > 0 && left < was && round < 8; round++) {
        for (size_t k = 0; k < sn->n; k++) {
            double v = (double)dc_set_value(a->s, cells[k]), need = (double)need_of(a, cells[k]);
            int wide = !asked(a, cells[k]) || sn->hi[k] - sn->lo[k] >= need;
            int j = (int)k + 1;
            if (dir == GLP_MAX)
                glp_set_col_bnds(lp, j, wide ? GLP_LO : GLP_DB, 0, v + need);
            else
                glp_set_col_bnds(lp, j, GLP_LO, wide || v < need ? 0 : v - need, 0);
            glp_set_obj_coef(lp, j, wide || (dir == GLP_MIN && v < need) ? 0.0 : 1.0);
        }
        glp_set_obj_dir(lp, dir);
        ok = simplex(lp, sn) && glp_get_status(lp) == GLP_OPT;
        if (ok)
            see(lp, sn);
        was = left;
        left = narrow(a, sn, cells);
    }
    for (size_t k = 0; k < sn->n; k++) {
        glp_set_col_bnds(lp, (int)k + 1, GLP_LO, 0, 0);
        glp_set_obj_coef(lp, (int)k + 1, 0.0);
    }
    return ok;
}

/* Column j's interval, or enough of it to show the column wide enough. With the true value v
 * known the column is first held within [v - need, v + need] (the simplex stops at the bound, not
 * at the far extreme): an interval reaching either end is wide enough, one inside both is exact. */
static int bounds(glp_prob *lp, int j, seen *sn, double need, double v, int all, double *lo,
                  double *hi)
{
    size_t k = (size_t)j - 1;
    int capped = !all && !isnan(v) && need > 0, ok;

    if (!all && sn->hi[k] - sn->lo[k] >= need) {
        *lo = sn->lo[k];
        *hi = sn->hi[k];
        return 1;
    }
    if (capped)
        glp_set_col_bnds(lp, j, GLP_DB, v - need > 0 ? v - need : 0, v + need);
    ok = optimise(lp, j, GLP_MAX, sn, hi);
    if (ok && !all && *hi - sn->lo[k] >= need) {
        *lo = sn->lo[k];
    } else if (ok && sn->lo[k] <= 1e-9) { /* non-negative: a solution at 0 is the minimum */
        *lo = 0;
    } else if (ok) {
        ok = optimise(lp, j, GLP_MIN, sn, lo);
    }
    if (capped)
        glp_set_col_bnds(lp, j, GLP_LO, 0, 0);
    if (ok && *lo < 0)
        *lo = 0;
    return ok;
}

/* Narrow, and not all zero nor all at or above the level: it shows a small count. */
static int fails(const audit *a, const dc_interval *iv)
{
    return iv->hi - iv->lo < (double)need_of(a, iv->cell) && iv->hi > 0 &&
           iv->lo < (double)a->protection;
}

static void report(audit *a, size_t cell, double lo, double hi)
{
    a->iv[a->niv++] = (dc_interval){cell, lo, hi, 0};
}

/* The floor program's part: every cell asked for (a->only) held within v +- protection when
 * the values are known (wide enough is all it needs to show), else solved to its extremes. */
static int floor_part(glp_prob *lp, audit *a, seen *sn, const size_t *cells)
{
    double lo, hi, need = (double)a->protection;

    for (size_t k = 0; k < sn->n; k++) {
        double v = a->values_known ? (double)dc_set_value(a->s, cells[k]) : NAN;
        if (!asked(a, cells[k]))
            continue;
        if (!bounds(lp, (int)k + 1, sn, need, v, 0, &lo, &hi))
            return 0;
        a->floor_to[cells[k]] = hi - lo;
    }
    return 1;
}

/* The program of one part: cells[0..nc), relations rel[0..nr). */
static tdi_status solve_part(audit *a, const size_t *cells, size_t nc, const size_t *rel, size_t nr)
{
    glp_prob *lp;
    int *ia = NULL, *ja = NULL, ne = 0;
    double *ar = NULL, lo, hi;
    size_t nz = 0;
    seen sn = {0};
    tdi_status st = TDI_OK;

    if (nr == 0) { /* nothing relates the cell to anything published */
        for (size_t k = 0; k < nc; k++)
            if (a->fallback)
                a->floor_to[cells[k]] = INFINITY;
            else
                report(a, cells[k], 0, INFINITY);
        return TDI_OK;
    }
    for (size_t k = 0; k < nr; k++)
        nz += a->r->start[rel[k] + 1] - a->r->start[rel[k]];
    lp = glp_create_prob();
    ia = malloc((nz + 1) * sizeof *ia);
    ja = malloc((nz + 1) * sizeof *ja);
    ar = malloc((nz + 1) * sizeof *ar);
    sn.lo = malloc(nc * sizeof *sn.lo);
    sn.hi = malloc(nc * sizeof *sn.hi);
    if (!ia || !ja || !ar || !sn.lo || !sn.hi) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    glp_add_cols(lp, (int)nc);
    for (size_t k = 0; k < nc; k++) {
        a->col[cells[k]] = (int)k + 1;
        glp_set_col_bnds(lp, (int)k + 1, GLP_LO, 0, 0);
    }
    glp_add_rows(lp, (int)nr);
    for (size_t k = 0; k < nr; k++)
        ne = state_row(lp, a, rel[k], (int)k + 1, ne, ia, ja, ar);
    glp_load_matrix(lp, ne, ia, ja, ar);
    sn.n = nc;
    for (size_t k = 0; k < nc; k++) {
        /* the true values are a solution; else a first solve finds one */
        sn.lo[k] = a->values_known ? (double)dc_set_value(a->s, cells[k]) : INFINITY;
        sn.hi[k] = a->values_known ? sn.lo[k] : -INFINITY;
    }
    if (!a->values_known && !optimise(lp, 1, GLP_MIN, &sn, &lo))
        st = TDI_ERR_INTERNAL;
    if (a->fallback) {
        if (st == TDI_OK && !floor_part(lp, a, &sn, cells))
            st = TDI_ERR_INTERNAL;
    } else if (a->values_known && !a->each) {
        if (!push(lp, a, &sn, cells, GLP_MAX) || !push(lp, a, &sn, cells, GLP_MIN))
            st = TDI_ERR_INTERNAL;
    }
    for (int k = 0;
         k < DC_SEEDS && st == TDI_OK && !a->fallback && (a->each || narrow(a, &sn, cells)); k++)
        if (!spread(lp, &sn, k))
            st = TDI_ERR_INTERNAL;
    for (size_t k = 0; k < nc && st == TDI_OK && !a->fallback; k++) {
        double v = a->values_known ? (double)dc_set_value(a->s, cells[k]) : NAN;
        if (!asked(a, cells[k]))
            continue;
        double need = (double)need_of(a, cells[k]);
        if (!bounds(lp, (int)k + 1, &sn, need, v, a->each != NULL, &lo, &hi))
            st = TDI_ERR_INTERNAL;
        else
            report(a, cells[k], lo, hi);
    }
    if (st != TDI_OK && sn.stopped)
        st = TDI_ERR_INTERRUPTED;
    else if (st != TDI_OK)
        tdi_error("disclosure audit: the linear program of a cell has no solution");
    a->nsolves += sn.solves;
    tdi_debug("disclosure audit: part of %zu cells, %zu relations%s: %zu solves", nc, nr,
              a->fallback ? " (floors)" : "", sn.solves);
done:
    for (size_t k = 0; k < nc; k++)
        a->col[cells[k]] = 0;
    glp_delete_prob(lp);
    free(ia);
    free(ja);
    free(ar);
    free(sn.lo);
    free(sn.hi);
    return st;
}

/* An index and its part, sorted by part. */
typedef struct keyed {
    size_t part, idx;
} keyed;

static int by_part(const void *x, const void *y)
{
    const keyed *a = x, *b = y;

    return a->part < b->part ? -1 : a->part > b->part;
}

/* Every part's program, given the relations and the suppressed cells. */
static tdi_status audit_parts(audit *a, size_t *up)
{
    size_t ncells = dc_set_ncells(a->s), nc = 0, nr = 0;
    keyed *cells = malloc((ncells ? ncells : 1) * sizeof *cells);
    keyed *rel = malloc((a->r->n ? a->r->n : 1) * sizeof *rel);
    size_t *ci = malloc((ncells ? ncells : 1) * sizeof *ci);
    size_t *ri = malloc((a->r->n ? a->r->n : 1) * sizeof *ri);
    tdi_status st = TDI_OK;

    if (!cells || !rel || !ci || !ri) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    connect(a->s, a->r, a->sup, up);
    for (size_t i = 0; i < ncells; i++)
        if (a->sup[i])
            cells[nc++] = (keyed){find(up, i), i};
    for (size_t k = 0; k < a->r->n; k++) {
        size_t p = part_of(a->r, k, a->sup, up);
        if (p != (size_t)-1)
            rel[nr++] = (keyed){p, k};
    }
    qsort(cells, nc, sizeof *cells, by_part);
    qsort(rel, nr, sizeof *rel, by_part);
    for (size_t i = 0; i < nc; i++)
        ci[i] = cells[i].idx;
    for (size_t k = 0; k < nr; k++)
        ri[k] = rel[k].idx;
    for (size_t i = 0, k = 0; i < nc && st == TDI_OK;) {
        size_t p = cells[i].part, i2 = i, k2;
        while (i2 < nc && cells[i2].part == p)
            i2++;
        while (k < nr && rel[k].part < p)
            k++;
        int wanted = !a->only;
        for (k2 = k; k2 < nr && rel[k2].part == p;)
            k2++;
        for (size_t j = i; j < i2 && !wanted; j++)
            wanted = asked(a, ci[j]);
        if (wanted)
            st = solve_part(a, ci + i, i2 - i, ri + k, k2 - k);
        i = i2;
        k = k2;
    }
done:
    free(cells);
    free(rel);
    free(ci);
    free(ri);
    return st;
}

/* The set's suppressed flags and the audit's work arrays. */
static tdi_status load(const dc_set *s, audit *a, unsigned char **sup, size_t **up)
{
    size_t ncells = dc_set_ncells(s);

    *sup = malloc(ncells ? ncells : 1);
    *up = malloc((ncells ? ncells : 1) * sizeof **up);
    a->col = calloc(ncells ? ncells : 1, sizeof *a->col);
    if (!*sup || !*up || !a->col)
        return TDI_ERR_INTERNAL;
    for (size_t i = 0; i < ncells; i++)
        (*sup)[i] = (unsigned char)dc_set_suppressed(s, i);
    return TDI_OK;
}

/* The floor of every failing cell whose floor is not known yet: their parts of the program
 * with every cell suppressed but the grand totals (the last suppression the loop can reach,
 * dc_protect.h: its intervals are the widest any suppression gives). Kept cells (dc_set_keep)
 * do not lower it: `tdi audit-tables` knows none, so a cell that kept published cells pin is
 * not accepted. kept: the kept floor instead (dc_audit_opts.kept_floor), with the kept published
 * cells published too. A grand total suppressed stays unknown: a received file gives no value
 * for it, and the loop never publishes a suppressed cell. */
static tdi_status floors(audit *a, size_t *up, int kept)
{
    size_t ncells = dc_set_ncells(a->s), nwant = 0;
    unsigned char *all = malloc(ncells ? ncells : 1), *want = calloc(ncells ? ncells : 1, 1);
    const unsigned char *sup = a->sup, *only = a->only;
    tdi_status st = all && want ? TDI_OK : TDI_ERR_INTERNAL;

    a->floor_to = kept ? a->kept_floor : a->floor;
    for (size_t k = 0; st == TDI_OK && k < a->niv; k++) {
        size_t c = a->iv[k].cell;
        if (isnan(a->floor_to[c]) && fails(a, &a->iv[k]))
            nwant += want[c] = 1;
    }
    if (st == TDI_OK && nwant > 0) {
        for (size_t i = 0; i < ncells; i++)
            all[i] =
                sup[i] || !(dc_set_is_grand_total(a->s, i) || (kept && dc_set_is_fixed(a->s, i)));
        a->sup = all;
        a->only = want;
        a->fallback = 1;
        st = audit_parts(a, up);
        a->fallback = 0;
        a->sup = sup;
        a->only = only;
    }
    free(all);
    free(want);
    return st;
}

/* Every interval to each and, when it fails, to fail. */
static void judge(audit *a)
{
    for (size_t k = 0; k < a->niv; k++) {
        dc_interval *iv = &a->iv[k];
        iv->need = need_of(a, iv->cell);
        if (a->each)
            a->each(a->ctx, iv);
        if (fails(a, iv)) {
            a->nfail++;
            if (a->fail)
                a->fail(a->ctx, iv);
        }
    }
}

/* 1 when every cell but the grand totals is suppressed (or unknown): each cell's interval is
 * then its floor by definition, all it needs, so every cell passes without a program (an audit
 * of such a set is the dearest there is: more than 15 minutes on seven entrants' tables). */
static int hidden_throughout(const audit *a)
{
    for (size_t i = 0; i < dc_set_ncells(a->s); i++)
        if (!a->sup[i] && !dc_set_is_grand_total(a->s, i))
            return 0;
    return 1;
}

tdi_status dc_audit_some(dc_set *s, const dc_audit_opts *o, size_t *nfail, size_t *nsolves)
{
    dc_rels r = {0};
    unsigned char *sup = NULL;
    size_t *up = NULL, ncells = dc_set_ncells(s);
    double *floor = o->floor;
    audit a = {.s = s,
               .r = &r,
               .values_known = o->values_known,
               .protection = o->protection,
               .only = o->only,
               .each = o->each,
               .fail = o->fail,
               .ctx = o->ctx,
               .kept_floor = o->kept_floor};
    tdi_status st = dc_glpk_load();

    if (st != TDI_OK)
        goto done;
    glp_term_out(GLP_OFF);
    a.iv = malloc((ncells ? ncells : 1) * sizeof *a.iv);
    if (!floor && (floor = malloc((ncells ? ncells : 1) * sizeof *floor)) != NULL)
        for (size_t i = 0; i < ncells; i++)
            floor[i] = NAN;
    a.floor = floor;
    st = a.iv && floor ? dc_set_rels(s, &r) : TDI_ERR_INTERNAL;
    if (st == TDI_OK)
        st = load(s, &a, &sup, &up);
    a.sup = sup;
    /* every interval asked for (each) needs its programs; a verdict alone does not */
    if (st == TDI_OK && !a.each && hidden_throughout(&a))
        goto done;
    if (st == TDI_OK)
        st = spans(&a);
    if (st == TDI_OK)
        st = audit_parts(&a, up);
    if (st == TDI_OK)
        st = floors(&a, up, 0);
    if (st == TDI_OK && a.kept_floor)
        st = floors(&a, up, 1);
    if (st == TDI_OK)
        judge(&a);
done:
    if (st == TDI_ERR_INTERNAL)
        tdi_error("disclosure audit: out of memory or the solver failed");
    if (nfail)
        *nfail = a.nfail;
    if (nsolves)
        *nsolves = a.nsolves;
    if (floor != o->floor)
        free(floor);
    free(a.iv);
    free(sup);
    free(up);
    free(a.col);
    free(a.eq);
    free(a.span);
    return st;
}

tdi_status dc_audit(dc_set *s, unsigned long protection, int values_known, dc_interval_fn each,
                    dc_interval_fn fail, void *ctx, size_t *nfail)
{
    dc_audit_opts o = {protection, values_known, NULL, each, fail, ctx, NULL, NULL};

    return dc_audit_some(s, &o, nfail, NULL);
}
