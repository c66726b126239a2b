/*
 * Unit tests for disclosure/dc_audit: the linear programs' intervals equal the smallest and
 * largest value of each suppressed cell over every non-negative whole-number completion of small
 * random tables (enumerated here, with the relations written out independently); two relations
 * together pinning a cell that no single relation gives away (suppression alone leaves it, the
 * audit loop protects it); the width a cell needs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../disclosure/dc_audit.h"
#include "../../disclosure/dc_protect.h"
#include "../../disclosure/dc_widen.h"
#include "../../common/tdi_signal.h"
#include "test_log.h"

#include <signal.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned long seed = 20260412;

static unsigned rnd(unsigned n)
{
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)((seed >> 33) % n);
}

/* ---- brute force ---- */

/* A small table: R x C interior cells, a total row and column (index R, C), V variants of which
 * variant 0 is the sum of the others when V > 1. Rows exact or not (records on the row total
 * only: residual). */
#define R     2
#define C     3
#define NR    (R + 1)
#define NC    (C + 1)
#define VMAX  3
#define NCELL (VMAX * NR * NC)

typedef struct small {
    size_t nv;
    int rows_exact; /* the column relations (down the rows) are exact */
    unsigned long value[NCELL];
    unsigned char sup[NCELL];
    /* enumeration */
    unsigned long try[NCELL];
    size_t hidden[NCELL], nhidden;
    unsigned long lo[NCELL], hi[NCELL];
    int found;
} small;

static size_t at(size_t v, size_t r, size_t c)
{
    return (v * NR + r) * NC + c;
}

/* Every relation holds for s->try (published cells are their values). */
static int consistent(const small *s)
{
    const unsigned long *x = s->try;

    for (size_t v = 0; v < s->nv; v++) {
        for (size_t r = 0; r < NR; r++) { /* along a row: always exact */
            unsigned long sum = 0;
            for (size_t c = 0; c < C; c++)
                sum += x[at(v, r, c)];
            if (sum != x[at(v, r, C)])
                return 0;
        }
        for (size_t c = 0; c < NC; c++) { /* down a column: exact or total >= sum */
            unsigned long sum = 0;
            for (size_t r = 0; r < R; r++)
                sum += x[at(v, r, c)];
            if (s->rows_exact ? sum != x[at(v, R, c)] : sum > x[at(v, R, c)])
                return 0;
        }
    }
    for (size_t r = 0; s->nv > 1 && r < NR; r++)
        for (size_t c = 0; c < NC; c++) {
            unsigned long sum = 0;
            for (size_t v = 1; v < s->nv; v++)
                sum += x[at(v, r, c)];
            if (sum != x[at(0, r, c)])
                return 0;
        }
    return 1;
}

/* Every completion with hidden cells from 0 to bound. */
static void enumerate(small *s, size_t k, unsigned long bound)
{
    if (k == s->nhidden) {
        if (!consistent(s))
            return;
        for (size_t j = 0; j < s->nhidden; j++) {
            size_t i = s->hidden[j];
            if (!s->found || s->try[i] < s->lo[i])
                s->lo[i] = s->try[i];
            if (!s->found || s->try[i] > s->hi[i])
                s->hi[i] = s->try[i];
        }
        s->found = 1;
        return;
    }
    for (unsigned long x = 0; x <= bound; x++) {
        s->try[s->hidden[k]] = x;
        enumerate(s, k + 1, bound);
    }
}

typedef struct seen {
    const small *s;
    size_t calls;
} seen;

static void compare(void *ctx, const dc_interval *iv)
{
    seen *sn = ctx;
    const small *s = sn->s;

    sn->calls++;
    if (iv->lo != (double)s->lo[iv->cell] || iv->hi != (double)s->hi[iv->cell])
        fail_msg("cell %zu (value %lu): LP [%g, %g], enumeration [%lu, %lu]", iv->cell,
                 s->value[iv->cell], iv->lo, iv->hi, s->lo[iv->cell], s->hi[iv->cell]);
}

static void lp_equals_enumeration(void **state)
{
    static const int parent_r[NR] = {R, R, -1}, parent_c[NC] = {C, C, C, -1};
    static const unsigned char agg_r[NR] = {0, 0, 1}, agg_c[NC] = {0, 0, 0, 1};
    static const unsigned char exact_r[NR] = {0, 0, 1}, inexact_r[NR] = {0, 0, 0};
    static const unsigned char exact_c[NC] = {0, 0, 0, 1};
    size_t trials = 0, cells = 0, narrow = 0;

    (void)state;
    for (int round = 0; round < 300; round++) {
        small s = {.nv = 1 + rnd(VMAX), .rows_exact = rnd(3) != 0};
        unsigned char sup[NCELL];
        dc_grid g = {.nvariants = s.nv,
                     .variant_sum = s.nv > 1,
                     .variant_exact = 1,
                     .rows = {NR, parent_r, agg_r, s.rows_exact ? exact_r : inexact_r},
                     .cols = {NC, parent_c, agg_c, exact_c},
                     .value = s.value,
                     .suppressed = sup};
        dc_grid *gp = &g;
        dc_set *set;
        seen sn = {&s, 0};
        size_t ncell = s.nv * NR * NC, gt = at(0, R, C);

        /* records: interior cells (and, rows not exact, some on the total row only) */
        for (unsigned k = 4 + rnd(9); k > 0; k--) {
            size_t v = s.nv > 1 ? 1 + rnd((unsigned)s.nv - 1) : 0;
            size_t r = s.rows_exact ? rnd(R) : rnd(R + 1), c = rnd(C);
            for (size_t vv = 0; vv <= v; vv += v ? v : 1)
                for (size_t rr = r; rr <= R; rr += R - r ? R - r : 1)
                    for (size_t cc = c; cc <= C; cc += C - c)
                        s.value[at(vv, rr, cc)]++;
        }
        /* up to 4 suppressed cells, the grand total of variant 0 published: half the time a
         * rectangle (each of its rows and columns two unknowns), else cells at random */
        memset(sup, 0, sizeof sup);
        if (rnd(2)) {
            size_t v = rnd((unsigned)s.nv), c0 = rnd(C), c1 = (c0 + 1 + rnd(C - 1)) % C;
            size_t corner[4] = {at(v, 0, c0), at(v, 0, c1), at(v, 1, c0), at(v, 1, c1)};
            for (size_t k = 0; k < 4; k++) {
                s.hidden[s.nhidden++] = corner[k];
                sup[corner[k]] = 1;
            }
        }
        for (unsigned k = s.nhidden ? 0 : 2 + rnd(3); k > 0; k--) {
            size_t i = rnd((unsigned)ncell);
            if (i != gt && !sup[i])
                s.hidden[s.nhidden++] = i;
            if (i != gt)
                sup[i] = 1;
        }
        memcpy(s.try, s.value, sizeof s.try);
        enumerate(&s, 0, s.value[gt]);
        assert_true(s.found); /* the true values are a completion */

        set = dc_set_new(&gp, 1);
        assert_non_null(set);
        assert_int_equal(dc_audit(set, 0, 0, compare, NULL, &sn, NULL), TDI_OK);
        assert_int_equal(sn.calls, s.nhidden);
        dc_set_free(set);
        for (size_t j = 0; j < s.nhidden; j++)
            narrow += s.hi[s.hidden[j]] == s.lo[s.hidden[j]];
        cells += s.nhidden;
        trials++;
    }
    print_message("%zu cells, %zu pinned\n", cells, narrow);
    /* the generator must give pinned cells and free ones */
    assert_true(cells > 600);
    assert_true(narrow > 100 && narrow < cells - 100);
    (void)trials;
}

/* One column of n - 1 cells (n is 3 or 5) and their exact total. */
static dc_grid col_grid(size_t n, const unsigned long *v, unsigned char *sup)
{
    static const int pr[2][5] = {{2, 2, -1}, {4, 4, 4, 4, -1}}, pc[1] = {-1};
    static const unsigned char ar[2][5] = {{0, 0, 1}, {0, 0, 0, 0, 1}}, ac[1] = {0};
    dc_grid g = {.nvariants = 1,
                 .rows = {n, pr[n / 4], ar[n / 4], ar[n / 4]},
                 .cols = {1, pc, ac, NULL},
                 .value = v,
                 .suppressed = sup};

    return g;
}

/* ---- two relations together ---- */

/* Grid a: x, y and their total T1 (one column). Grid b: x', y', z, w and their total T2; x'
 * counts what x counts, y' what y counts. Every cell but w and the totals is small: x, y, x',
 * y', z are suppressed, every relation holds two or three of them, so no single relation gives
 * one away; but T2 - T1 - w = z. (Without w, T2 - T1 = z: the grand totals alone would give z
 * away, which no suppression of other cells changes, and the audit accepts, dc_audit.h.) */
static void two_relations_pin_a_cell(void **state)
{
    static const unsigned long va[3] = {2, 2, 4}, vb[5] = {2, 2, 3, 6, 13};
    unsigned char sa[3], sb[5];
    dc_grid a = col_grid(3, va, sa), b = col_grid(5, vb, sb);
    dc_grid *grids[2] = {&a, &b};
    dc_set *set = dc_set_new(grids, 2);
    size_t link[2], n = 0, nfail = 9;
    dc_protect_stats ps;

    (void)state;
    assert_non_null(set);
    for (size_t k = 0; k < 2; k++) {
        link[0] = dc_set_cell(set, 0, k);
        link[1] = dc_set_cell(set, 1, k);
        assert_int_equal(dc_set_relate(set, link, 2, 1), TDI_OK);
    }
    /* suppression alone: every small cell hidden, every relation with two or more */
    assert_int_equal(dc_set_suppress(set, 5, &n), TDI_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(sb, ((unsigned char[5]){1, 1, 1, 0, 0}), 5);
    /* ... yet z is pinned: the audit says so */
    assert_int_equal(dc_audit(set, 5, 1, NULL, NULL, NULL, &nfail), TDI_OK);
    assert_int_equal(nfail, 1);
    /* the loop suppresses more until nothing is pinned: w, the only cell left around z */
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_OK);
    assert_int_equal(ps.after, 6);
    assert_int_equal(ps.rounds, 2);
    assert_memory_equal(sb, ((unsigned char[5]){1, 1, 1, 1, 0}), 5);
    assert_int_equal(dc_audit(set, 5, 0, NULL, NULL, NULL, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    dc_set_free(set);
}

/* The width a cell needs: the protection level, or its table's published grand total when
 * smaller; a failing cell is reported with its interval. */
typedef struct fails {
    dc_interval iv[8];
    size_t n;
} fails;

static void note(void *ctx, const dc_interval *iv)
{
    fails *f = ctx;

    if (f->n < 8)
        f->iv[f->n++] = *iv;
}

/* One row of n - 1 cells (n is 3 or 4) and their exact total. */
static dc_grid row_grid(size_t n, const unsigned long *v, unsigned char *sup)
{
    static const int pr[1] = {-1}, pc[2][4] = {{2, 2, -1, 0}, {3, 3, 3, -1}};
    static const unsigned char ar[1] = {0}, ac[2][4] = {{0, 0, 1, 0}, {0, 0, 0, 1}};
    dc_grid g = {.nvariants = 1,
                 .rows = {1, pr, ar, NULL},
                 .cols = {n, pc[n - 3], ac[n - 3], ac[n - 3]},
                 .value = v,
                 .suppressed = sup};

    return g;
}

static void width_needed(void **state)
{
    /* 1 x 2 interior, total column; x = 1, y = 2, total 3 (under the threshold, published) */
    static const unsigned long v[3] = {1, 2, 3};
    unsigned char sup[3] = {1, 1, 0};
    dc_grid g = row_grid(3, v, sup);
    dc_grid *gp = &g;
    dc_set *set = dc_set_new(&gp, 1);
    fails f = {0};
    size_t nfail = 0;

    (void)state;
    assert_non_null(set);
    /* [0, 3] each: as wide as the grand total allows */
    assert_int_equal(dc_audit(set, 5, 1, NULL, note, &f, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    /* the total suppressed as well: nothing bounds them above, the level applies */
    sup[2] = 1;
    assert_int_equal(dc_audit(set, 5, 0, NULL, note, &f, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    /* y published: x = 3 - 2 exactly */
    sup[1] = 0;
    sup[2] = 0;
    assert_int_equal(dc_audit(set, 5, 1, NULL, note, &f, &nfail), TDI_OK);
    assert_int_equal(nfail, 1);
    assert_int_equal(f.iv[0].cell, 0);
    assert_true(f.iv[0].lo == 1 && f.iv[0].hi == 1);
    assert_int_equal(f.iv[0].need, 3);
    dc_set_free(set);
}

/* A suppressed cell pinned at zero counts no one, one pinned at or above the level could be
 * published: neither fails; one pinned between does. */
static void pinned_zero_or_safe(void **state)
{
    unsigned long v[3] = {0, 9, 9};
    unsigned char sup[3] = {1, 0, 0};
    dc_grid g = row_grid(3, v, sup);
    dc_grid *gp = &g;
    dc_set *set = dc_set_new(&gp, 1);
    size_t nfail = 9;

    (void)state;
    assert_non_null(set);
    assert_int_equal(dc_audit(set, 5, 1, NULL, NULL, NULL, &nfail), TDI_OK); /* [0, 0] */
    assert_int_equal(nfail, 0);
    v[0] = 6;
    v[2] = 15;
    assert_int_equal(dc_audit(set, 5, 1, NULL, NULL, NULL, &nfail), TDI_OK); /* [6, 6] */
    assert_int_equal(nfail, 0);
    v[0] = 4;
    v[2] = 13;
    assert_int_equal(dc_audit(set, 5, 1, NULL, NULL, NULL, &nfail), TDI_OK); /* [4, 4] */
    assert_int_equal(nfail, 1);
    dc_set_free(set);
}

/* Grand totals alone can pin a cell narrower than the protection level: then no suppression
 * gives it more, and it needs only the width it has when every cell but the grand totals is
 * suppressed. Grid a: x + y = 6 (x = 2, y = 4); grid b: y' + u = 4 (u = 0), y' counts what y
 * counts. With a and b suppressed throughout, y <= 4 so x is in [2, 6]: 4 wide, not 5. */
static void grand_totals_pin_the_need(void **state)
{
    static const unsigned long va[3] = {2, 4, 6}, vb[3] = {4, 0, 4};
    unsigned char sa[3], sb[3];
    dc_grid a = col_grid(3, va, sa), b = col_grid(3, vb, sb);
    dc_grid *grids[2] = {&a, &b};
    dc_set *set;
    size_t link[2], nfail = 9;
    dc_protect_stats ps;
    fails f = {0};

    (void)state;
    set = dc_set_new(grids, 2);
    assert_non_null(set);
    link[0] = dc_set_cell(set, 0, 1);
    link[1] = dc_set_cell(set, 1, 0);
    assert_int_equal(dc_set_relate(set, link, 2, 1), TDI_OK);
    /* passes as suppression leaves it: x, y, y' and u (y' alone in b's relation) */
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_OK);
    assert_int_equal(ps.before, 4);
    assert_int_equal(ps.after, 4);
    assert_int_equal(ps.rounds, 1);
    assert_memory_equal(sa, ((unsigned char[3]){1, 1, 0}), 3);
    assert_memory_equal(sb, ((unsigned char[3]){1, 1, 0}), 3);
    /* what an auditor sees from the published cells: x in [2, 6], needing 4 */
    assert_int_equal(dc_audit(set, 5, 0, note, NULL, &f, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    assert_int_equal(f.n, 4);
    assert_int_equal(f.iv[0].cell, 0);
    assert_true(f.iv[0].lo == 2 && f.iv[0].hi == 6);
    assert_int_equal(f.iv[0].need, 4);
    assert_int_equal(f.iv[1].need, 4); /* y: [0, 4], its class's grand total 4 */
    dc_set_free(set);
}

/* Grid a: x, y and their total T, all suppressed, values va; grid b: x' + u = T2, all published
 * (2 + 3 = 5), x' counts what x counts. x is pinned at 2; with every cell but the grand totals
 * suppressed, x' + u = 5 leaves x in [0, 5], so it needs 5 and fails, whether the values are
 * known or not: the floor's program leaves the suppressed grand total T unknown either way. */
static void grand_total_stays_unknown(const unsigned long va[3], int values_known)
{
    static const unsigned long vb[3] = {2, 3, 5};
    unsigned char sa[3] = {1, 1, 1}, sb[3] = {0, 0, 0};
    dc_grid a = col_grid(3, va, sa), b = col_grid(3, vb, sb);
    dc_grid *grids[2] = {&a, &b};
    dc_set *set = dc_set_new(grids, 2);
    size_t link[2], nfail = 9;
    fails f = {0};

    assert_non_null(set);
    link[0] = dc_set_cell(set, 0, 0);
    link[1] = dc_set_cell(set, 1, 0);
    assert_int_equal(dc_set_relate(set, link, 2, 1), TDI_OK);
    assert_int_equal(dc_audit(set, 5, values_known, NULL, note, &f, &nfail), TDI_OK);
    assert_int_equal(nfail, 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.iv[0].cell, 0);
    assert_true(f.iv[0].lo == 2 && f.iv[0].hi == 2);
    assert_int_equal(f.iv[0].need, 5);
    dc_set_free(set);
}

/* What a receiver audits (values not known, 0 in the grid as a reader of a file leaves them).
 * (Taking T as published 0 gave x the floor 0, so it passed.) */
static void receiver_grand_total_unknown(void **state)
{
    static const unsigned long va[3] = {0, 0, 0};

    (void)state;
    grand_total_stays_unknown(va, 0);
}

/* The same with the true values known, as the run audits: x = 2, y = 1, T = 3. (Taking T as
 * known, 3, gave the need 3: with every cell but the grand totals suppressed, x + y = 3 bounds x
 * by 3.) */
static void known_values_same_floor(void **state)
{
    static const unsigned long va[3] = {2, 1, 3};

    (void)state;
    grand_total_stays_unknown(va, 1);
}

/* kept_cells_pin's relations on the set of grids a, e, b: A = x + y, B = x + z, C = y + z (A, B,
 * C in e; x in a; y, z in b). Returns x. */
static size_t pin_relations(dc_set *set)
{
    size_t x = dc_set_cell(set, 0, 0), y = dc_set_cell(set, 2, 0), z = dc_set_cell(set, 2, 1);

    assert_int_equal(dc_set_relate(set, (size_t[3]){dc_set_cell(set, 1, 0), x, y}, 3, 1), TDI_OK);
    assert_int_equal(dc_set_relate(set, (size_t[3]){dc_set_cell(set, 1, 1), x, z}, 3, 1), TDI_OK);
    assert_int_equal(dc_set_relate(set, (size_t[3]){dc_set_cell(set, 1, 2), y, z}, 3, 1), TDI_OK);
    return x;
}

/* A second stage whose kept cells pin a cell: the loop says so after its first audit, before
 * any program to widen it. Kept from the first stage: a = (x, p | 10) with x = 1 and p
 * suppressed, e = (A, B, C | 28) = (7, 8, 13) published. The extra table b = (y, z, w | 22) =
 * (6, 7, 9) and A = x + y, B = x + z, C = y + z: the sum rule suppresses y and z beside x, every
 * relation then holds two suppressed cells, yet x = (A + B - C) / 2 = 1 whatever b publishes. */
static void kept_cells_pin(void **state)
{
    static const unsigned long va[3] = {1, 9, 10}, ve[4] = {7, 8, 13, 28}, vb[4] = {6, 7, 9, 22};
    unsigned char sa[3] = {1, 1, 0}, se[4] = {0, 0, 0, 0}, sb[4] = {0, 0, 0, 0};
    dc_grid a = row_grid(3, va, sa), e = row_grid(4, ve, se), b = row_grid(4, vb, sb);
    dc_grid *grids[3] = {&a, &e, &b};
    dc_set *set = dc_set_new(grids, 3);
    dc_protect_stats ps;
    size_t x;

    (void)state;
    assert_non_null(set);
    x = pin_relations(set);
    for (size_t g = 0; g < 2; g++)
        for (size_t i = 0; i < (g ? 4 : 3); i++) {
            size_t c = dc_set_cell(set, g, i);
            assert_int_equal(dc_set_keep(set, &c, 1), TDI_OK);
        }
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_ERR_DISCLOSURE);
    assert_memory_equal(sb, ((unsigned char[4]){1, 1, 0, 0}), 4);
    assert_int_equal(ps.rounds, 1);
    assert_int_equal(ps.failing, 1);
    assert_int_equal(ps.blocked, x);
    /* the first audit's failing cell is marked, for the set protected without its keeps */
    {
        size_t marked[11] = {0};
        assert_int_equal(dc_set_narrow(set, marked), 1);
        assert_int_equal(marked[0], x);
    }
    dc_set_free(set);
}

/* kept_cells_pin's cells protected without keeps, as the set built again after a blocked
 * stage is: x still fails its first audit (A + B - C pins it), and a program releases what widens
 * it. Its first program is a guess; with x marked narrow (the blocked stage's marks handed on)
 * an exact one. Both pass the audit, in two rounds. *exact: the exact programs solved. */
static void unkept_pin(int mark, size_t *exact)
{
    static const unsigned long va[3] = {1, 9, 10}, ve[4] = {7, 8, 13, 28}, vb[4] = {6, 7, 9, 22};
    unsigned char sa[3] = {0}, se[4] = {0}, sb[4] = {0};
    dc_grid a = row_grid(3, va, sa), e = row_grid(4, ve, se), b = row_grid(4, vb, sb);
    dc_grid *grids[3] = {&a, &e, &b};
    dc_set *set = dc_set_new(grids, 3);
    dc_protect_stats ps;
    size_t x, nfail = 9;

    assert_non_null(set);
    x = pin_relations(set);
    if (mark)
        assert_int_equal(dc_set_mark_narrow(set, &x, 1), TDI_OK);
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_OK);
    assert_int_equal(dc_audit(set, 5, 0, NULL, NULL, NULL, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    assert_int_equal(ps.failing, 1);
    assert_int_equal(ps.rounds, 2);
    *exact = ps.exact;
    dc_set_free(set);
}

static void marked_cells_start_exact(void **state)
{
    size_t exact;

    (void)state;
    unkept_pin(0, &exact);
    assert_int_equal(exact, 0); /* a guess widened x */
    unkept_pin(1, &exact);
    assert_int_equal(exact, 1);
}

/* An audit of some cells only (dc_audit_opts.only): x + y = 3 under a published 9 and total 12
 * pins both to [0, 3], narrower than 5; flagged, only x is solved and judged (y passed before,
 * and more suppression only widens it). */
#define SOLVES_ALL 12
#define SOLVES_ONE 10
static void audit_flagged_cells_only(void **state)
{
    static const unsigned long v[4] = {1, 2, 9, 12};
    unsigned char sup[4] = {1, 1, 0, 0}, only[4] = {1, 0, 0, 0};
    dc_grid g = row_grid(4, v, sup);
    dc_grid *gp = &g;
    dc_set *set = dc_set_new(&gp, 1);
    fails f = {0}, all = {0};
    dc_audit_opts o = {5, 1, NULL, NULL, note, &all, NULL, NULL};
    size_t nfail = 0, solves_all = 0, solves_one = 0;

    (void)state;
    assert_non_null(set);
    assert_int_equal(dc_audit_some(set, &o, &nfail, &solves_all), TDI_OK);
    assert_int_equal(nfail, 2);
    assert_int_equal(all.n, 2);
    o.only = only;
    o.ctx = &f;
    assert_int_equal(dc_audit_some(set, &o, &nfail, &solves_one), TDI_OK);
    assert_int_equal(nfail, 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.iv[0].cell, 0);
    assert_true(f.iv[0].lo == 0 && f.iv[0].hi == 3);
    print_message("solves: all %zu, x only %zu\n", solves_all, solves_one);
    assert_int_equal(solves_all, SOLVES_ALL);
    assert_int_equal(solves_one, SOLVES_ONE);
    dc_set_free(set);
}

/* Every cell but the grand total suppressed: each interval is its floor, all it needs, so the
 * verdict takes no program; asked for every interval (each), the programs run and agree. */
static void hidden_throughout_passes(void **state)
{
    static const unsigned long v[4] = {1, 2, 9, 12};
    unsigned char sup[4] = {1, 1, 1, 0};
    dc_grid g = row_grid(4, v, sup);
    dc_grid *gp = &g;
    dc_set *set = dc_set_new(&gp, 1);
    fails f = {0}, all = {0};
    dc_audit_opts o = {5, 0, NULL, NULL, note, &f, NULL, NULL};
    size_t nfail = 9, solves = 9;

    (void)state;
    assert_non_null(set);
    assert_int_equal(dc_audit_some(set, &o, &nfail, &solves), TDI_OK);
    assert_int_equal(nfail, 0);
    assert_int_equal(solves, 0);
    o.each = note;
    o.ctx = &all;
    assert_int_equal(dc_audit_some(set, &o, &nfail, &solves), TDI_OK);
    assert_int_equal(nfail, 0);
    assert_true(solves > 0);
    assert_int_equal(all.n, 3);
    for (size_t k = 0; k < 3; k++)
        assert_true(all.iv[k].lo == 0 && all.iv[k].hi == 12);
    dc_set_free(set);
}

/* A body with no one counted (every count 0, grand total 0 below the level): nothing is
 * suppressed, zeros stay published; with a count under the level, every cell but the grand total
 * is suppressed at once (dc_protect.h), no round needed. */
static void below_level_body(void **state)
{
    static const unsigned long zero[4] = {0, 0, 0, 0}, few[4] = {0, 3, 0, 3};
    unsigned char sup[4] = {0};
    dc_grid g = row_grid(4, zero, sup);
    dc_grid *gp = &g;
    dc_set *set = dc_set_new(&gp, 1);
    dc_protect_stats ps;

    (void)state;
    assert_non_null(set);
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_OK);
    assert_int_equal(ps.after, 0);
    assert_memory_equal(sup, ((unsigned char[4]){0, 0, 0, 0}), 4);
    dc_set_free(set);
    g = row_grid(4, few, sup);
    set = dc_set_new(&gp, 1);
    assert_non_null(set);
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_OK);
    assert_int_equal(ps.after, 3);
    assert_int_equal(ps.rounds, 0);
    assert_memory_equal(sup, ((unsigned char[4]){1, 1, 1, 0}), 4);
    dc_set_free(set);
}

/* A table of L x L counts with a total row and column (index L). */
#define L  3
#define LN ((L + 1) * (L + 1))

/* One record in row r, column c. */
static void count_in(unsigned long *v, size_t r, size_t c)
{
    v[r * (L + 1) + c]++;
    v[r * (L + 1) + L]++;
    v[L * (L + 1) + c]++;
    v[L * (L + 1) + L]++;
}

/* The width of cell `want` in an audit (values not known), or -1 when it is not suppressed. */
typedef struct width_of {
    size_t want;
    double width;
} width_of;

static void take_width(void *ctx, const dc_interval *iv)
{
    width_of *w = ctx;

    if (iv->cell == w->want)
        w->width = iv->hi - iv->lo;
}

/* Every suppressed cell's width into ctx (per cell; others left alone). */
static void every_width(void *ctx, const dc_interval *iv)
{
    ((double *)ctx)[iv->cell] = iv->hi - iv->lo;
}

/* dc_widen: on random R x C tables suppressed at threshold 3, for every cell the audit fails
 * at protection 4, the cells the program names make it as wide as it needs once suppressed
 * (judged by dc_audit, another program; one variant, so the tables' programs have whole-number
 * optima); every cell the program shows wide (shown) is at least that wide in the audit; and
 * a need wider than the grand total allows is refused. */
static void widen_makes_wide(void **state)
{
    static const int parent_r[NR] = {R, R, -1}, parent_c[NC] = {C, C, C, -1};
    static const unsigned char agg_r[NR] = {0, 0, 1}, agg_c[NC] = {0, 0, 0, 1};
    static const unsigned char exact_r[NR] = {0, 0, 1}, exact_c[NC] = {0, 0, 0, 1};
    size_t widened = 0, refused = 0, others = 0;

    (void)state;
    for (int round = 0; round < 300; round++) {
        unsigned long value[NR * NC] = {0};
        unsigned char sup[NR * NC], before[NR * NC];
        dc_grid g = {.nvariants = 1,
                     .rows = {NR, parent_r, agg_r, exact_r},
                     .cols = {NC, parent_c, agg_c, exact_c},
                     .value = value,
                     .suppressed = sup};
        dc_grid *gp = &g;
        dc_set *set = dc_set_new(&gp, 1);
        dc_rels rels;
        dc_widen *w;
        size_t out[NR * NC], nout, gt = at(0, R, C);

        for (unsigned k = 3 + rnd(12); k > 0; k--) {
            size_t r = rnd(R), c = rnd(C);
            value[at(0, r, c)]++;
            value[at(0, r, C)]++;
            value[at(0, R, c)]++;
            value[gt]++;
        }
        assert_non_null(set);
        assert_int_equal(dc_set_suppress(set, 3, NULL), TDI_OK);
        assert_int_equal(dc_set_rels(set, &rels), TDI_OK);
        w = dc_widen_new(set, &rels);
        assert_non_null(w);
        memcpy(before, sup, sizeof sup);
        for (size_t i = 0; i < NR * NC; i++) {
            width_of wo = {i, -1};
            dc_widen_ask ask = {i, 4, (size_t)-1, 1};
            double shown[NR * NC], widths[NR * NC];
            if (!before[i])
                continue;
            memcpy(sup, before, sizeof sup);
            assert_int_equal(dc_audit(set, 4, 0, take_width, NULL, &wo, NULL), TDI_OK);
            if (wo.width >= 4 || wo.width == 0)
                continue;
            for (size_t k = 0; k < NR * NC; k++) {
                shown[k] = 0;
                widths[k] = -1; /* not suppressed */
            }
            if ((double)value[gt] < 4) {
                assert_int_equal(dc_widen_cell(w, sup, &ask, out, &nout, shown),
                                 TDI_ERR_DISCLOSURE);
                refused++;
                continue;
            }
            assert_int_equal(dc_widen_cell(w, sup, &ask, out, &nout, shown), TDI_OK);
            assert_true(nout > 0);
            assert_true(shown[i] >= 4);
            for (size_t k = 0; k < nout; k++) {
                assert_int_equal(sup[out[k]], 0);
                assert_true(out[k] != gt);
                sup[out[k]] = 1;
            }
            assert_int_equal(dc_audit(set, 4, 0, every_width, NULL, widths, NULL), TDI_OK);
            if (widths[i] < 4)
                fail_msg("round %d cell %zu: width %g after %zu released", round, i, widths[i],
                         nout);
            /* what the program shows of every other cell, the audit finds too */
            for (size_t k = 0; k < NR * NC; k++) {
                if (shown[k] > 0 && widths[k] < shown[k])
                    fail_msg("round %d cell %zu: shown %g wide, the audit says %g", round, k,
                             shown[k], widths[k]);
                others += k != i && shown[k] >= 4;
            }
            widened++;
        }
        dc_widen_free(w);
        dc_set_free(set);
    }
    print_message("%zu cells widened, %zu refused, %zu other cells shown wide enough\n", widened,
                  refused, others);
    assert_true(widened > 50);
    assert_true(refused > 0);
    assert_true(others > 0);
}

/* The set of grids a and b, linked by their row totals (protect_always_passes). */
static dc_set *linked_rows(dc_grid *a, dc_grid *b)
{
    dc_grid *grids[2] = {a, b};
    dc_set *set = dc_set_new(grids, 2);

    assert_non_null(set);
    for (size_t r = 0; r <= L; r++) {
        size_t link[2] = {dc_set_cell(set, 0, r * (L + 1) + L),
                          dc_set_cell(set, 1, r * (L + 1) + L)};
        assert_int_equal(dc_set_relate(set, link, 2, 1), TDI_OK);
    }
    return set;
}

/* The same cells protected again from scratch, their first audit's failing cells marked narrow
 * beforehand (dc_set_mark_narrow, as a blocked second stage hands them on): still a pass that
 * the audit confirms; the marked cells' programs are exact from the first round. *exact: the
 * exact programs solved. */
static void protect_marked(dc_grid *a, dc_grid *b, const size_t *narrow, size_t n, size_t *exact)
{
    dc_set *set = linked_rows(a, b);
    dc_protect_stats ps;
    size_t nfail = 9;

    memset(a->suppressed, 0, LN);
    memset(b->suppressed, 0, LN);
    assert_int_equal(dc_set_mark_narrow(set, narrow, n), TDI_OK);
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_OK);
    assert_int_equal(dc_audit(set, 5, 0, NULL, NULL, NULL, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    *exact += ps.exact;
    dc_set_free(set);
}

/* Two linked L x L tables of random small counts: the loop always ends with a pass, grand
 * totals published, and what it publishes passes the audit from published cells alone. Some
 * sets must need more than suppression gives, some whole tables. The first audit's failing
 * cells are marked narrow; protected again with those marks, the sets pass too and ask for
 * more exact programs in all than without them. */
static void protect_always_passes(void **state)
{
    static const int p[L + 1] = {L, L, L, -1};
    static const unsigned char ag[L + 1] = {0, 0, 0, 1}, ex[L + 1] = {0, 0, 0, 1};
    size_t whole = 0, widened = 0, exact = 0, exact_marked = 0;

    (void)state;
    for (int round = 0; round < 300; round++) {
        unsigned long va[LN] = {0}, vb[LN] = {0};
        unsigned char sa[LN], sb[LN];
        dc_grid a = {.nvariants = 1,
                     .rows = {L + 1, p, ag, ex},
                     .cols = {L + 1, p, ag, ex},
                     .value = va,
                     .suppressed = sa};
        dc_grid b = a;
        dc_set *set;
        dc_protect_stats ps;
        size_t nfail = 9, narrow[2 * LN], nnarrow;

        b.value = vb;
        b.suppressed = sb;
        /* the same records by row in both (the shared margin), columns apart */
        for (unsigned k = 2 + rnd(14); k > 0; k--) {
            size_t r = rnd(L);
            count_in(va, r, rnd(L));
            count_in(vb, r, rnd(L));
        }
        set = linked_rows(&a, &b);
        assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_OK);
        assert_int_equal(sa[LN - 1] | sb[LN - 1], 0);
        assert_int_equal(dc_audit(set, 5, 0, NULL, NULL, NULL, &nfail), TDI_OK);
        assert_int_equal(nfail, 0);
        whole += ps.tables > 0;
        widened += ps.rounds > 1;
        exact += ps.exact;
        nnarrow = dc_set_narrow(set, narrow);
        assert_int_equal(nnarrow, ps.failing);
        dc_set_free(set);
        protect_marked(&a, &b, narrow, nnarrow, &exact_marked);
    }
    print_message("%zu of 300 widened, %zu by whole tables; %zu exact programs, %zu with the "
                  "first audit's cells marked\n",
                  widened, whole, exact, exact_marked);
    assert_true(widened > 0);
    assert_true(exact_marked > exact);
}

/* A stop asked for by a signal ends the audit before its next solve. Last: the flag stays. */
static void signal_stops_the_audit(void **state)
{
    static const unsigned long v[4] = {2, 3, 9, 14};
    unsigned char sup[4] = {1, 1, 0, 0};
    dc_grid g = row_grid(4, v, sup);
    dc_grid *gp = &g;
    dc_set *set = dc_set_new(&gp, 1);
    dc_protect_stats ps;

    (void)state;
    assert_non_null(set);
    tdi_signal_setup();
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(dc_audit(set, 5, 1, NULL, NULL, NULL, NULL), TDI_ERR_INTERRUPTED);
    assert_int_equal(dc_set_protect(set, 5, 0, &ps), TDI_ERR_INTERRUPTED);
    assert_int_equal(ps.rounds, 1);
    dc_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lp_equals_enumeration),
        cmocka_unit_test(two_relations_pin_a_cell),
        cmocka_unit_test(width_needed),
        cmocka_unit_test(pinned_zero_or_safe),
        cmocka_unit_test(grand_totals_pin_the_need),
        cmocka_unit_test(receiver_grand_total_unknown),
        cmocka_unit_test(known_values_same_floor),
        cmocka_unit_test(kept_cells_pin),
        cmocka_unit_test(marked_cells_start_exact),
        cmocka_unit_test(audit_flagged_cells_only),
        cmocka_unit_test(hidden_throughout_passes),
        cmocka_unit_test(below_level_body),
        cmocka_unit_test(widen_makes_wide),
        cmocka_unit_test(protect_always_passes),
        cmocka_unit_test(signal_stops_the_audit),
    };

    return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
