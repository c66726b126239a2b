/*
 * dc_widen: owns the program that chooses the published cells to release for one cell (see
 * dc_widen.h): the neighbourhood it covers, its rows and columns, and the cost of a release.
 */
#include "dc_widen.h"

#include "dc_glpk.h"

#include "../common/tdi_signal.h"

#include <glpk.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define NONE SIZE_MAX

struct dc_widen {
    const dc_set *s;
    const dc_rels *r;
    size_t ncells;
    size_t *col;          /* per cell: its x column (y is col + 1), NONE: not in the program */
    size_t *depth;        /* per cell in the program: relations from the widened cell */
    size_t *cells, ncell; /* the program's cells, in the order found */
    unsigned char *relin; /* per relation: in the program */
    size_t *rels, nrel;
};

dc_widen *dc_widen_new(const dc_set *s, const dc_rels *r)
{
    dc_widen *w = calloc(1, sizeof *w);
    size_t n = dc_set_ncells(s);

    if (!w)
        return NULL;
    w->s = s;
    w->r = r;
    w->ncells = n;
    w->col = malloc((n ? n : 1) * sizeof *w->col);
    w->depth = malloc((n ? n : 1) * sizeof *w->depth);
    w->cells = malloc((n ? n : 1) * sizeof *w->cells);
    w->relin = calloc(r->n ? r->n : 1, 1);
    w->rels = malloc((r->n ? r->n : 1) * sizeof *w->rels);
    if (!w->col || !w->depth || !w->cells || !w->relin || !w->rels) {
        dc_widen_free(w);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        w->col[i] = NONE;
    return w;
}

void dc_widen_free(dc_widen *w)
{
    if (!w)
        return;
    free(w->col);
    free(w->depth);
    free(w->cells);
    free(w->relin);
    free(w->rels);
    free(w);
}

static void join(dc_widen *w, size_t c, size_t depth)
{
    w->col[c] = NONE - 1; /* in the program: numbered when it is built */
    w->depth[c] = depth;
    w->cells[w->ncell++] = c;
}

/* The program's cells and relations (dc_widen.h): breadth first from the asked cell; a cell
 * nearer than hops brings every member of its relations, any other only the suppressed ones.
 * Every cell brought brings its relations, so the program is the whole one restricted to the
 * neighbourhood; a guess (!ask->exact) stops at DC_WIDEN_GUESS relations beyond hops: the
 * cells there are unknowns whose other relations are left out. */
static void gather(dc_widen *w, const unsigned char *sup, const dc_widen_ask *ask)
{
    size_t hops = ask->hops;
    size_t reach =
        ask->exact || hops > SIZE_MAX - DC_WIDEN_GUESS ? SIZE_MAX : hops + DC_WIDEN_GUESS;

    w->ncell = w->nrel = 0;
    join(w, ask->cell, 0);
    for (size_t q = 0; q < w->ncell; q++) {
        size_t c = w->cells[q], d = w->depth[c];
        if (d >= reach)
            continue;
        for (size_t b = w->r->by_start[c]; b < w->r->by_start[c + 1]; b++) {
            size_t k = w->r->by[b];
            if (!w->relin[k]) {
                w->relin[k] = 1;
                w->rels[w->nrel++] = k;
            }
            for (size_t j = w->r->start[k]; j < w->r->start[k + 1]; j++) {
                size_t m = w->r->cells[j];
                if (w->col[m] == NONE && (d < hops || sup[m]))
                    join(w, m, d + 1);
            }
        }
    }
}

static void ungather(dc_widen *w)
{
    for (size_t q = 0; q < w->ncell; q++)
        w->col[w->cells[q]] = NONE;
    for (size_t k = 0; k < w->nrel; k++)
        w->relin[w->rels[k]] = 0;
}

/* The cost of releasing a cell of value v, per unit it moves: a cell well above need keeps
 * its own interval at or above the level; a small one or a zero would itself need widening. */
static double cost(unsigned long v, double need)
{
    if (v == 0)
        return 8;
    if ((double)v < need)
        return 4;
    return (double)v < 2 * need ? 2 : 1;
}

/* The matrix being built: GLPK's 1-based triplets. */
typedef struct mat {
    int *ia, *ja;
    double *ar;
    int ne;
} mat;

static void put(mat *m, int row, int col, double v)
{
    m->ne++;
    m->ia[m->ne] = row;
    m->ja[m->ne] = col;
    m->ar[m->ne] = v;
}

/* Columns: per copy and cell that may move, its rise p and fall m from its value (x = v + p -
 * m; m <= v keeps x >= 0), costing nothing in a suppressed cell and cost() in a published one;
 * per copy of every inexact relation, its residual's rise and fall (the fall at most the true
 * residual), so that no move at all is every column at its lower bound 0. Rows: each relation per
 * copy (the values satisfy it with their true residual, so only the moves and the residual's change
 * are unknowns), the width. *xcol: per cell, the first of its four columns (p, m of x, then of y).
 */
static void build(dc_widen *w, glp_prob *lp, const unsigned char *sup, size_t cell, double need,
                  mat *m)
{
    int ncol = 0, row = 0;

    for (size_t q = 0; q < w->ncell; q++) {
        size_t c = w->cells[q];
        double v = (double)dc_set_value(w->s, c);
        double wt = sup[c] ? 0 : cost(dc_set_value(w->s, c), need);
        if (!sup[c] && dc_set_is_fixed(w->s, c)) {
            w->col[c] = 0; /* a constant inside the neighbourhood */
            continue;
        }
        w->col[c] = (size_t)ncol + 1;
        glp_add_cols(lp, 4);
        for (int k = 1; k <= 4; k++) {
            if (k % 2)
                glp_set_col_bnds(lp, ncol + k, GLP_LO, 0, 0);
            else if (v > 0)
                glp_set_col_bnds(lp, ncol + k, GLP_DB, 0, v);
            else
                glp_set_col_bnds(lp, ncol + k, GLP_FX, 0, 0);
            glp_set_obj_coef(lp, ncol + k, wt);
        }
        ncol += 4;
    }
    for (size_t k = 0; k < w->nrel; k++) {
        size_t rel = w->rels[k];
        double resid = 0; /* the true residual: total - members */
        for (size_t j = w->r->start[rel]; j < w->r->start[rel + 1]; j++)
            resid += (j == w->r->start[rel] ? 1 : -1) * (double)dc_set_value(w->s, w->r->cells[j]);
        for (int copy = 0; copy < 2; copy++) {
            glp_add_rows(lp, 1);
            row++;
            for (size_t j = w->r->start[rel]; j < w->r->start[rel + 1]; j++) {
                size_t c = w->r->cells[j];
                double sign = j == w->r->start[rel] ? 1 : -1;
                if (w->col[c] == NONE || w->col[c] == 0)
                    continue;
                put(m, row, (int)w->col[c] + 2 * copy, sign);
                put(m, row, (int)w->col[c] + 2 * copy + 1, -sign);
            }
            /* moves - (residual - resid) = 0, residual >= 0 */
            if (!w->r->exact[rel]) {
                glp_add_cols(lp, 2);
                glp_set_col_bnds(lp, ncol + 1, GLP_LO, 0, 0);
                if (resid > 0)
                    glp_set_col_bnds(lp, ncol + 2, GLP_DB, 0, resid);
                else
                    glp_set_col_bnds(lp, ncol + 2, GLP_FX, 0, 0);
                put(m, row, ncol + 1, -1);
                put(m, row, ncol + 2, 1);
                ncol += 2;
            }
            glp_set_row_bnds(lp, row, GLP_FX, 0, 0);
        }
    }
    glp_add_rows(lp, 1);
    row++;
    /* x - y = (p_x - m_x) - (p_y - m_y) >= need */
    put(m, row, (int)w->col[cell], 1);
    put(m, row, (int)w->col[cell] + 1, -1);
    put(m, row, (int)w->col[cell] + 2, -1);
    put(m, row, (int)w->col[cell] + 3, 1);
    glp_set_row_bnds(lp, row, GLP_LO, need, 0);
}

/* Room for the matrix: two entries per copy of a relation member, two per copy of its residual,
 * four for the width. */
static size_t entries(const dc_widen *w)
{
    size_t ne = 4;

    for (size_t k = 0; k < w->nrel; k++)
        ne += 2 * (2 * (w->r->start[w->rels[k] + 1] - w->r->start[w->rels[k]]) + 2);
    return ne;
}

/* The width x and y show for every cell of the program: both are completions once the released
 * cells are suppressed, and so are the true values; whole numbers as the audit rounds them. */
static void show(const dc_widen *w, glp_prob *lp, double *shown)
{
    for (size_t q = 0; q < w->ncell; q++) {
        size_t c = w->cells[q];
        int j = (int)w->col[c];
        double v = (double)dc_set_value(w->s, c), lo = v, hi = v, width;
        if (j <= 0)
            continue;
        for (int copy = 0; copy < 2; copy++) {
            double x =
                v + glp_get_col_prim(lp, j + 2 * copy) - glp_get_col_prim(lp, j + 2 * copy + 1);
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        width = floor(hi + 1e-6) - ceil(lo - 1e-6);
        if (width > shown[c])
            shown[c] = width;
    }
}

tdi_status dc_widen_cell(dc_widen *w, const unsigned char *sup, const dc_widen_ask *ask,
                         size_t *out, size_t *nout, double *shown)
{
    glp_prob *lp = NULL;
    mat m = {0};
    glp_smcp parm;
    size_t ne;
    int ret;
    tdi_status st = TDI_ERR_INTERNAL;

    *nout = 0;
    if (tdi_stop_requested())
        return TDI_ERR_INTERRUPTED;
    if (dc_glpk_load() != TDI_OK)
        return TDI_ERR_DISCLOSURE;
    gather(w, sup, ask);
    if (w->ncell > DC_WIDEN_MAX_CELLS) {
        st = TDI_ERR_DISCLOSURE; /* a program this large costs more than whole tables */
        goto done;
    }
    ne = entries(w);
    m.ia = malloc((ne + 1) * sizeof *m.ia);
    m.ja = malloc((ne + 1) * sizeof *m.ja);
    m.ar = malloc((ne + 1) * sizeof *m.ar);
    lp = m.ia && m.ja && m.ar ? glp_create_prob() : NULL;
    if (!lp)
        goto done;
    glp_set_obj_dir(lp, GLP_MIN);
    build(w, lp, sup, ask->cell, ask->need, &m);
    glp_load_matrix(lp, m.ne, m.ia, m.ja, m.ar);
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    /* From no move at all (every column at its lower bound 0) only the width row is violated
     * and every reduced cost is a cost >= 0: a dual feasible start, two to three times faster
     * than the primal simplex after presolve on the sample clinics' tables. */
    parm.meth = GLP_DUALP;
    ret = glp_simplex(lp, &parm);
    if (ret == GLP_ENOPFS || (ret == 0 && glp_get_status(lp) == GLP_NOFEAS)) {
        st = TDI_ERR_DISCLOSURE;
        goto done;
    }
    if (ret != 0 || glp_get_status(lp) != GLP_OPT)
        goto done;
    /* the released cells: those whose deviation column moved */
    for (size_t q = 0; q < w->ncell; q++) {
        size_t c = w->cells[q];
        int j = (int)w->col[c];
        if (!sup[c] && j > 0 &&
            glp_get_col_prim(lp, j) + glp_get_col_prim(lp, j + 1) + glp_get_col_prim(lp, j + 2) +
                    glp_get_col_prim(lp, j + 3) >
                1e-7)
            out[(*nout)++] = c;
    }
    if (shown && ask->exact)
        show(w, lp, shown);
    st = TDI_OK;
done:
    if (lp)
        glp_delete_prob(lp);
    free(m.ia);
    free(m.ja);
    free(m.ar);
    ungather(w);
    return st;
}
