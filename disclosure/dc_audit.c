/*
 * dc_audit: owns the linear programs of the audit and the audit -> suppress more loop (see
 * dc_audit.h). GLPK does the solving; this module only states the programs.
 *
 * One program per connected part of the suppressed cells: a column per suppressed cell (>= 0),
 * a row per relation holding one of them (the published cells moved to the right-hand side).
 * Each cell is minimised and maximised over the same rows; GLPK starts each solve from the
 * previous basis, so after the first a solve is a few pivots.
 */
#include "dc_audit.h"

#include "../common/tdi_log.h"

#include <glpk.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Every relation of the set as flat lists, as dc_suppress keeps them. */
typedef struct rels {
    size_t *cells, ncells, cap;
    size_t *start, n, start_cap; /* relation k: cells[start[k] .. start[k + 1]), total first */
    unsigned char *exact;
    int oom;
} rels;

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 256;
    void *p;

    while (ncap < need)
        ncap *= 2;
    if (ncap == *cap)
        return 1;
    p = realloc(*arr, ncap * size);
    if (!p)
        return 0;
    *arr = p;
    *cap = ncap;
    return 1;
}

static void collect(void *ctx, size_t total, const size_t *members, size_t n, int exact)
{
    rels *r = ctx;
    size_t scap = r->start_cap;

    if (r->oom || !grow((void **)&r->cells, &r->cap, r->ncells + n + 1, sizeof *r->cells) ||
        !grow((void **)&r->start, &r->start_cap, r->n + 2, sizeof *r->start)) {
        r->oom = 1;
        return;
    }
    if (!r->exact || scap != r->start_cap) {
        unsigned char *p = realloc(r->exact, r->start_cap);
        if (!p) {
            r->oom = 1;
            return;
        }
        r->exact = p;
    }
    r->exact[r->n] = (unsigned char)(exact != 0);
    r->start[r->n++] = r->ncells;
    r->cells[r->ncells++] = total;
    memcpy(r->cells + r->ncells, members, n * sizeof *members);
    r->ncells += n;
    r->start[r->n] = r->ncells;
}

static void rels_free(rels *r)
{
    free(r->cells);
    free(r->start);
    free(r->exact);
}

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
static void connect(const dc_set *s, const rels *r, const unsigned char *sup, size_t *up)
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
static size_t part_of(const rels *r, size_t k, const unsigned char *sup, size_t *up)
{
    for (size_t j = r->start[k]; j < r->start[k + 1]; j++)
        if (sup[r->cells[j]])
            return find(up, r->cells[j]);
    return (size_t)-1;
}

/* ---- one part's program ---- */

typedef struct audit {
    const dc_set *s;
    const rels *r;
    const unsigned char *sup;
    int values_known;
    unsigned long protection;
    dc_interval_fn each, fail;
    void *ctx;
    size_t nfail;
    int *col;            /* per cell: its column (1-based) in the current program, 0 for none */
    size_t *eq;          /* union-find: cells an exact relation of two says are equal */
    unsigned long *span; /* per class root: the smallest published grand total over it */
} audit;

/* Classes of cells that count the same records (exact relations of two cells), and for each
 * the smallest published grand total of a table one of them is in: no cell of the class can be
 * told apart more finely than 0 .. that total. */
static tdi_status spans(audit *a)
{
    size_t ncells = dc_set_ncells(a->s);
    const rels *r = a->r;

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

/* The width cell i needs (dc_audit.h). */
static unsigned long need_of(const audit *a, size_t i)
{
    unsigned long span = a->span[find(a->eq, i)];

    return span < a->protection ? span : a->protection;
}

/* Row k of the program: its coefficients into ia/ja/ar from ne + 1 on; returns the new ne. */
static int state_row(glp_prob *lp, const audit *a, size_t k, int row, int ne, int *ia, int *ja,
                     double *ar)
{
    const rels *r = a->r;
    double known = 0, residual = 0; /* published total - published members; the residual */

    for (size_t j = r->start[k]; j < r->start[k + 1]; j++) {
        size_t c = r->cells[j];
        double sign = j == r->start[k] ? 1.0 : -1.0, v = (double)dc_set_value(a->s, c);
        residual += sign * v;
        if (a->sup[c]) {
            ne++;
            ia[ne] = row;
            ja[ne] = a->col[c];
            ar[ne] = sign;
        } else {
            known += sign * v;
        }
    }
    /* suppressed part + known = residual; exact: residual 0; not known: residual >= 0 */
    if (r->exact[k])
        glp_set_row_bnds(lp, row, GLP_FX, -known, -known);
    else if (a->values_known)
        glp_set_row_bnds(lp, row, GLP_FX, residual - known, residual - known);
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
} seen;

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
    glp_smcp parm;
    int ok;

    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    glp_set_obj_coef(lp, j, 1.0);
    glp_set_obj_dir(lp, dir);
    ok = glp_simplex(lp, &parm) == 0;
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

/* Maximises the sum of all columns and notes the solution (also an unbounded ray's last
 * feasible basis). 0 when GLPK fails. */
static int spread(glp_prob *lp, seen *sn)
{
    glp_smcp parm;
    int ok, status;

    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    for (size_t k = 0; k < sn->n; k++)
        glp_set_obj_coef(lp, (int)k + 1, 1.0);
    glp_set_obj_dir(lp, GLP_MAX);
    ok = glp_simplex(lp, &parm) == 0;
    status = glp_get_status(lp);
    if (ok && (status == GLP_OPT || status == GLP_UNBND))
        see(lp, sn);
    else
        ok = 0;
    for (size_t k = 0; k < sn->n; k++)
        glp_set_obj_coef(lp, (int)k + 1, 0.0);
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

static void report(audit *a, size_t cell, double lo, double hi)
{
    dc_interval iv = {cell, lo, hi, need_of(a, cell)};

    if (a->each)
        a->each(a->ctx, &iv);
    if (hi - lo < (double)iv.need) {
        a->nfail++;
        if (a->fail)
            a->fail(a->ctx, &iv);
    }
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
    /* one solve with every cell as large as it gets together: most cells are seen wide enough
     * there, and need no solve of their own */
    if (st == TDI_OK && !spread(lp, &sn))
        st = TDI_ERR_INTERNAL;
    for (size_t k = 0; k < nc && st == TDI_OK; k++) {
        double v = a->values_known ? (double)dc_set_value(a->s, cells[k]) : NAN;
        if (!bounds(lp, (int)k + 1, &sn, (double)need_of(a, cells[k]), v, a->each != NULL, &lo,
                    &hi))
            st = TDI_ERR_INTERNAL;
        else
            report(a, cells[k], lo, hi);
    }
    if (st != TDI_OK)
        tdi_error("disclosure audit: the linear program of a cell has no solution");
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
        for (k2 = k; k2 < nr && rel[k2].part == p;)
            k2++;
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

/* The set's relations and suppressed flags; the caller frees both. */
static tdi_status load(const dc_set *s, rels *r, unsigned char **sup, size_t **up, int **col)
{
    size_t ncells = dc_set_ncells(s);
    tdi_status st = dc_set_relations(s, collect, r);

    *sup = malloc(ncells ? ncells : 1);
    *up = malloc((ncells ? ncells : 1) * sizeof **up);
    *col = calloc(ncells ? ncells : 1, sizeof **col);
    if (st == TDI_OK && (r->oom || !*sup || !*up || !*col))
        st = TDI_ERR_INTERNAL;
    for (size_t i = 0; st == TDI_OK && i < ncells; i++)
        (*sup)[i] = (unsigned char)dc_set_suppressed(s, i);
    return st;
}

tdi_status dc_audit(const dc_set *s, unsigned long protection, int values_known,
                    dc_interval_fn each, dc_interval_fn fail, void *ctx, size_t *nfail)
{
    rels r = {0};
    unsigned char *sup = NULL;
    size_t *up = NULL;
    audit a = {.s = s,
               .r = &r,
               .values_known = values_known,
               .protection = protection,
               .each = each,
               .fail = fail,
               .ctx = ctx};
    tdi_status st;

    glp_term_out(GLP_OFF);
    st = load(s, &r, &sup, &up, &a.col);
    a.sup = sup;
    if (st == TDI_OK)
        st = spans(&a);
    if (st == TDI_OK)
        st = audit_parts(&a, up);
    if (st == TDI_ERR_INTERNAL)
        tdi_error("disclosure audit: out of memory or the solver failed");
    if (nfail)
        *nfail = a.nfail;
    rels_free(&r);
    free(sup);
    free(up);
    free(a.col);
    free(a.eq);
    free(a.span);
    return st;
}

/* ---- the loop ---- */

typedef struct failing {
    size_t *cell, n, cap;
    double *deficit; /* per failing cell: the width it lacks */
    size_t dcap;
    int oom;
} failing;

static void note_fail(void *ctx, const dc_interval *iv)
{
    failing *f = ctx;

    if (!f->oom && (!grow((void **)&f->cell, &f->cap, f->n + 1, sizeof *f->cell) ||
                    !grow((void **)&f->deficit, &f->dcap, f->n + 1, sizeof *f->deficit)))
        f->oom = 1;
    if (f->oom)
        return;
    f->deficit[f->n] = (double)iv->need - (iv->hi - iv->lo);
    f->cell[f->n++] = iv->cell;
}

/* How good published cell c (value v) is to suppress for a cell lacking deficit: lower is
 * better. A cell at least as large as the deficit widens the interval enough in one step (the
 * smallest such: the least information lost), else the largest smaller one; zero cells widen
 * nothing in the relation but may elsewhere; a grand total last. */
static double rank_of(const dc_set *s, size_t c, double deficit)
{
    double v = (double)dc_set_value(s, c);

    if (dc_set_grand_total(s, c) == c)
        return 4e18;
    if (v == 0)
        return 3e18;
    return v >= deficit ? v : 1e18 - v;
}

/* The published cell of relation k of best rank_of(), (size_t)-1 when it has none. */
static size_t best_of(const dc_set *s, const rels *r, const unsigned char *sup, size_t k,
                      double deficit)
{
    size_t best = (size_t)-1;
    double best_rank = 0;

    for (size_t j = r->start[k]; j < r->start[k + 1]; j++) {
        size_t c = r->cells[j];
        double rank = sup[c] ? 0 : rank_of(s, c, deficit);
        if (!sup[c] && (best == (size_t)-1 || rank < best_rank)) {
            best = c;
            best_rank = rank;
        }
    }
    return best;
}

/* More cells to suppress for failing cell i into *more: the best cell of every relation holding
 * i (a round widens i along each of its relations at once: fewer rounds), else the best cell of
 * a relation holding a cell of i's part. 0 when there is none (every such relation suppressed
 * throughout); -1 when out of memory. */
static int widen(const dc_set *s, const rels *r, const unsigned char *sup, size_t *up, size_t i,
                 double deficit, failing *more)
{
    size_t n0 = more->n, best = (size_t)-1;
    double best_rank = 0;

    for (size_t k = 0; k < r->n; k++) {
        int in = 0;
        size_t c;
        for (size_t j = r->start[k]; j < r->start[k + 1] && !in; j++)
            in = r->cells[j] == i;
        if (in && (c = best_of(s, r, sup, k, deficit)) != (size_t)-1) {
            if (!grow((void **)&more->cell, &more->cap, more->n + 1, sizeof *more->cell))
                return -1;
            more->cell[more->n++] = c;
        }
    }
    for (size_t k = 0; more->n == n0 && k < r->n; k++) {
        int in = 0;
        size_t c;
        for (size_t j = r->start[k]; j < r->start[k + 1] && !in; j++)
            in = sup[r->cells[j]] && find(up, r->cells[j]) == find(up, i);
        if (in && (c = best_of(s, r, sup, k, deficit)) != (size_t)-1 &&
            (best == (size_t)-1 || rank_of(s, c, deficit) < best_rank)) {
            best = c;
            best_rank = rank_of(s, c, deficit);
        }
    }
    if (more->n == n0 && best != (size_t)-1) {
        if (!grow((void **)&more->cell, &more->cap, more->n + 1, sizeof *more->cell))
            return -1;
        more->cell[more->n++] = best;
    }
    return more->n > n0;
}

/* More cells for every failing cell, then secondary suppression again. */
static tdi_status widen_all(dc_set *s, const failing *f, size_t *count)
{
    rels r = {0};
    unsigned char *sup = NULL;
    size_t *up = NULL;
    failing more = {0};
    int *col = NULL;
    tdi_status st = load(s, &r, &sup, &up, &col);

    if (st == TDI_OK)
        connect(s, &r, sup, up);
    for (size_t k = 0; st == TDI_OK && k < f->n; k++) {
        int got = widen(s, &r, sup, up, f->cell[k], f->deficit[k], &more);
        if (got < 0) {
            st = TDI_ERR_INTERNAL;
        } else if (got == 0) {
            tdi_error("disclosure audit: a suppressed cell cannot be protected: every cell "
                      "around it is suppressed already");
            st = TDI_ERR_DISCLOSURE;
        }
    }
    if (st == TDI_OK)
        st = dc_set_suppress_more(s, more.cell, more.n, count);
    rels_free(&r);
    free(sup);
    free(up);
    free(col);
    free(more.cell);
    return st;
}

tdi_status dc_set_protect(dc_set *s, unsigned long threshold, unsigned long protection,
                          size_t *count, size_t *rounds)
{
    failing f = {0};
    size_t n = 0, nrounds = 0;
    tdi_status st = dc_set_suppress(s, threshold, &n);

    if (protection == 0)
        protection = threshold;
    while (st == TDI_OK) {
        f.n = 0;
        nrounds++;
        st = dc_audit(s, protection, 1, NULL, note_fail, &f, NULL);
        if (st == TDI_OK && f.oom)
            st = TDI_ERR_INTERNAL;
        if (st != TDI_OK || f.n == 0)
            break;
        tdi_debug("disclosure audit: round %zu: %zu cells too narrow", nrounds, f.n);
        st = widen_all(s, &f, &n);
    }
    free(f.cell);
    free(f.deficit);
    if (count)
        *count = n;
    if (rounds)
        *rounds = nrounds;
    return st;
}
