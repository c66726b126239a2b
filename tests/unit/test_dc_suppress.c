/*
 * Unit tests for disclosure/dc_suppress: an exact small case, and a property check over many
 * generated tables (flat and with subtotals, with and without variants): afterwards every small
 * count but a table's grand total is suppressed, subtotals and totals included, and for every
 * suppressed cell no relation (a row, a column, a subtotal, a variant total) of published cells
 * yields its value.
 *
 * The relations are enumerated here, independently of dc_grid_relations().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../disclosure/dc_suppress.h"
#include "test_log.h"

#include <stdlib.h>
#include <string.h>

#define MAXN 24

typedef struct shape {
    size_t nrows, ncols, nvariants;
    int variant_sum;
    int rparent[MAXN], cparent[MAXN];
    unsigned char ragg[MAXN], cagg[MAXN];
} shape;

static unsigned long seed = 20261123;

static unsigned rnd(unsigned n)
{
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)((seed >> 33) % n);
}

static dc_grid grid_of(const shape *s, const unsigned long *value, unsigned char *suppressed)
{
    return (dc_grid){
        .nvariants = s->nvariants,
        .variant_sum = s->variant_sum,
        .rows = {s->nrows, s->rparent, s->ragg},
        .cols = {s->ncols, s->cparent, s->cagg},
        .value = value,
        .suppressed = suppressed,
    };
}

/* ---- an exact case ---- */

/* 3 x 3 interior cells plus a total row and column, one variant:
 *
 *        c0  c1  c2 | tot
 *   r0   10   2  20 |  32     2 is primary. Row r0 then needs one more: 10 (smaller than 20).
 *   r1    8  30   6 |  44     Column c0 has 10 alone: 8 joins. Column c1 has 2 alone: 30
 *   r2    0   0  40 |  40     joins (the non-zero one; 0 only when nothing else is left).
 *   tot  18  32  66 | 116     Row r1 now has 8 and 30: every relation holds 0 or 2+.
 */
static void exact_small_case(void **state)
{
    static const unsigned long v[16] = {10, 2, 20, 32, 8, 30, 6, 44, 0, 0, 40, 40, 18, 32, 66, 116};
    static const unsigned char want[16] = {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    shape s = {.nrows = 4, .ncols = 4, .nvariants = 1};
    unsigned char sup[16];
    dc_grid g;
    size_t n = 0;

    (void)state;
    for (int i = 0; i < 3; i++)
        s.rparent[i] = s.cparent[i] = 3;
    s.rparent[3] = s.cparent[3] = -1;
    s.ragg[3] = s.cagg[3] = 1;
    g = grid_of(&s, v, sup);
    assert_int_equal(dc_suppress(&g, 5, &n), TDI_OK);
    assert_memory_equal(sup, want, sizeof want);
    assert_int_equal(n, 4);

    /* threshold 0 or 1: nothing is below it */
    assert_int_equal(dc_suppress(&g, 1, &n), TDI_OK);
    assert_int_equal(n, 0);
    assert_int_equal(dc_suppress(&g, 0, &n), TDI_OK);
    assert_int_equal(n, 0);
}

/* A subtotal with a single leaf under it: the subtotal is as small as its leaf and suppressed
 * with it (it was published, and gave the leaf away, when totals were always public). */
static void single_leaf_subtotal(void **state)
{
    /* rows: r0 leaf under r1 (subtotal) under r2 (total); cols: c0, c1 under c2 */
    static const unsigned long v[9] = {3, 7, 10, 3, 7, 10, 3, 7, 10};
    static const unsigned char want[9] = {1, 1, 0, 1, 1, 0, 1, 1, 0};
    shape s = {.nrows = 3, .ncols = 3, .nvariants = 1};
    unsigned char sup[9];
    dc_grid g;
    size_t n = 0;

    (void)state;
    s.rparent[0] = 1;
    s.rparent[1] = 2;
    s.rparent[2] = -1;
    s.ragg[1] = s.ragg[2] = 1;
    s.cparent[0] = s.cparent[1] = 2;
    s.cparent[2] = -1;
    s.cagg[2] = 1;
    g = grid_of(&s, v, sup);
    assert_int_equal(dc_suppress(&g, 5, &n), TDI_OK);
    assert_memory_equal(sup, want, sizeof want);
    assert_int_equal(n, 6);
}

/* The sum rule: one row of four counts and its published total (the grand total). A suppressed
 * count lies in 0 .. the sum of the row's suppressed counts, so 1 and 2 together give [0, 3],
 * narrower than the level 5; the one more cell must make the sum 5 or more: the smallest such,
 * 6 (not 20, which would hide more than needed, nor 2, the smallest, which leaves [0, 3]). */
static void sum_rule(void **state)
{
    static const unsigned long v[5] = {1, 2, 6, 20, 29};
    static const int rparent[1] = {-1}, cparent[5] = {4, 4, 4, 4, -1};
    static const unsigned char ragg[1] = {0}, cagg[5] = {0, 0, 0, 0, 1};
    static const unsigned char want5[5] = {1, 1, 1, 0, 0}, want2[5] = {1, 0, 1, 0, 0};
    unsigned char sup[5];
    dc_grid g = {.nvariants = 1,
                 .rows = {1, rparent, ragg, NULL},
                 .cols = {5, cparent, cagg, NULL},
                 .value = v,
                 .suppressed = sup};
    dc_grid *gp = &g;
    dc_set *set;
    size_t n = 0;

    (void)state;
    /* threshold 5: 1 and 2 are primary and sum to 3: 6 joins */
    assert_int_equal(dc_suppress(&g, 5, &n), TDI_OK);
    assert_memory_equal(sup, want5, sizeof want5);
    assert_int_equal(n, 3);
    /* threshold 2, level 5: 1 is primary and lacks 4: 6, not the 2 */
    set = dc_set_new(&gp, 1);
    assert_non_null(set);
    assert_int_equal(dc_set_suppress_level(set, 2, 5, &n), TDI_OK);
    assert_memory_equal(sup, want2, sizeof want2);
    assert_int_equal(n, 2);
    /* level 0 is the threshold: 1 lacks 1, and the smallest non-zero is 2 */
    assert_int_equal(dc_set_suppress_level(set, 2, 0, &n), TDI_OK);
    assert_int_equal(sup[1], 1);
    assert_int_equal(n, 2);
    dc_set_free(set);
}

/* Two grids of 2 x 2 interior cells with totals; grid a's cell (r0, c0) counts what grid b's
 * total (total, c0) counts. Every small count but the grand totals is suppressed, margins too,
 * and the link holds two suppressed cells:
 *
 *   a:  2  1 |  3      b:  1  8 |  9
 *       1  6 |  7          1  9 | 10
 *       3  7 | 10          2 17 | 19
 *
 * a: 2, 1, 3, 1 and the margin 3 are small; row r1 then needs 6, the total row 7, the total
 * column 7: all of a but its grand total. b: 1, 1 and the margin 2, then 8, 9 and 17. */
static void linked_grids(void **state)
{
    static const unsigned long va[9] = {2, 1, 3, 1, 6, 7, 3, 7, 10};
    static const unsigned long vb[9] = {1, 8, 9, 1, 9, 10, 2, 17, 19};
    static const unsigned char want_a[9] = {1, 1, 1, 1, 1, 1, 1, 1, 0};
    static const unsigned char want_b[9] = {1, 1, 0, 1, 1, 0, 1, 1, 0};
    static const int parent[3] = {2, 2, -1};
    static const unsigned char agg[3] = {0, 0, 1}, exact[3] = {0, 0, 1};
    unsigned char sa[9], sb[9];
    dc_grid a = {.nvariants = 1,
                 .rows = {3, parent, agg, exact},
                 .cols = {3, parent, agg, exact},
                 .value = va,
                 .suppressed = sa};
    dc_grid b = a;
    dc_grid *grids[2] = {&a, &b};
    dc_set *set;
    size_t link[2], n = 0;

    (void)state;
    b.value = vb;
    b.suppressed = sb;
    for (int exact_link = 1; exact_link >= 0; exact_link--) {
        set = dc_set_new(grids, 2);
        assert_non_null(set);
        link[0] = dc_set_cell(set, 1, 6); /* b (total, c0) = a (r0, c0) */
        link[1] = dc_set_cell(set, 0, 0);
        assert_int_equal(dc_set_relate(set, link, 2, exact_link), TDI_OK);
        assert_int_equal(dc_set_suppress(set, 5, &n), TDI_OK);
        assert_memory_equal(sa, want_a, 9);
        assert_memory_equal(sb, want_b, 9);
        assert_int_equal(n, 14);
        dc_set_free(set);
    }
}

/* ---- kept cells: protection in stages ---- */

/* Grids a (a TDI table, protected first) and b (an extra table), 2 x 2 interior cells with
 * totals each; cells numbered 0-8 in a, 9-17 in b:
 *
 *   a:  8 20 |  28      b:  2  8 | 10
 *      30 45 |  75          6  9 | 15
 *      38 65 | 103          8 17 | 25
 */
static const unsigned long keep_va[9] = {8, 20, 28, 30, 45, 75, 38, 65, 103};
static const unsigned long keep_vb[9] = {2, 8, 10, 6, 9, 15, 8, 17, 25};
static const int keep_parent[3] = {2, 2, -1};
static const unsigned char keep_agg[3] = {0, 0, 1}, keep_exact[3] = {0, 0, 1};

static size_t keep_cell(const dc_set *set, size_t k)
{
    return k < 9 ? dc_set_cell(set, 0, k) : dc_set_cell(set, 1, k - 9);
}

/* Stage 1 (a alone, into sa), then the set of a and b with relation x (x[0] = x[1] + x[2] plus
 * a residual; NULL: none) and the exact pair (NULL: none), a's cells kept when keep is set: the
 * status of stage 2; *out the set (the caller frees it). */
static tdi_status two_stages(const size_t *x, const size_t *pair, int keep, unsigned char *sa,
                             unsigned char *sb, dc_set **out)
{
    static dc_grid a, b;
    dc_grid *grids[2] = {&a, &b};
    dc_set *first;
    size_t rel[3], n = 0;

    a = (dc_grid){.nvariants = 1,
                  .rows = {3, keep_parent, keep_agg, keep_exact},
                  .cols = {3, keep_parent, keep_agg, keep_exact},
                  .value = keep_va,
                  .suppressed = sa};
    b = a;
    b.value = keep_vb;
    b.suppressed = sb;
    first = dc_set_new(grids, 1);
    assert_non_null(first);
    assert_int_equal(dc_set_suppress(first, 5, &n), TDI_OK);
    assert_int_equal(n, 0); /* nothing in a is below 5 */
    dc_set_free(first);
    *out = dc_set_new(grids, 2);
    assert_non_null(*out);
    for (int k = 0; x && k < 3; k++)
        rel[k] = keep_cell(*out, x[k]);
    if (x)
        assert_int_equal(dc_set_relate(*out, rel, 3, 0), TDI_OK);
    for (int k = 0; pair && k < 2; k++)
        rel[k] = keep_cell(*out, pair[k]);
    if (pair)
        assert_int_equal(dc_set_relate(*out, rel, 2, 1), TDI_OK);
    for (size_t i = 0; keep && i < 9; i++) {
        size_t c = dc_set_cell(*out, 0, i);
        assert_int_equal(dc_set_keep(*out, &c, 1), TDI_OK);
    }
    return dc_set_suppress(*out, 5, &n);
}

/* x: b's row total r0 (10) = b's 2 + a's 8. b's 2 is primary; b's row r0 takes 8, its column
 * c0 6, column c1 9; then x holds only the 2: unstaged, its smallest other cell is a's 8 (and a
 * then needs 20, 30 and 45); with a kept, b's 10 instead (and b's column c2 then 15). */
static void kept_cells_never_chosen(void **state)
{
    static const size_t x[3] = {9 + 2, 9 + 0, 0};
    static const unsigned char none[9] = {0};
    static const unsigned char kept_b[9] = {1, 1, 1, 1, 1, 1, 0, 0, 0};
    static const unsigned char square[9] = {1, 1, 0, 1, 1, 0, 0, 0, 0};
    unsigned char sa[9], sb[9];
    dc_set *set;
    size_t more, n = 0;

    (void)state;
    assert_int_equal(two_stages(x, NULL, 1, sa, sb, &set), TDI_OK);
    assert_memory_equal(sa, none, 9);
    assert_memory_equal(sb, kept_b, 9);
    assert_int_equal(dc_set_blocked(set), (size_t)-1);
    assert_true(dc_set_is_fixed(set, keep_cell(set, 0)));      /* kept published */
    assert_true(dc_set_is_fixed(set, keep_cell(set, 9 + 8)));  /* b's grand total */
    assert_false(dc_set_is_fixed(set, keep_cell(set, 9 + 0))); /* b's 2 */
    assert_false(dc_set_is_fixed(set, keep_cell(set, 9 + 7))); /* b's 17 */
    /* asked for more, a kept published cell stays published */
    more = keep_cell(set, 4);
    assert_int_equal(dc_set_suppress_more(set, &more, 1, &n), TDI_OK);
    assert_memory_equal(sa, none, 9);
    assert_int_equal(n, 6);
    dc_set_free(set);

    assert_int_equal(two_stages(x, NULL, 0, sa, sb, &set), TDI_OK);
    assert_memory_equal(sa, square, 9);
    assert_memory_equal(sb, square, 9);
    assert_false(dc_set_is_fixed(set, keep_cell(set, 0)));
    dc_set_free(set);
}

/* x: a's row total r0 (28) = a's 20 + b's 2. Once b's own relations have partners for the 2, x
 * holds only it and every other cell of x is kept published: stage 2 stops, naming b's 2, and
 * logs no error (the caller protects unstaged). Unstaged, x takes a's 20 (smaller than 28), and
 * a then needs its 8, 30 and 45. */
static void kept_cells_blocked(void **state)
{
    static const size_t x[3] = {2, 1, 9 + 0};
    static const unsigned char square[9] = {1, 1, 0, 1, 1, 0, 0, 0, 0};
    unsigned char sa[9], sb[9];
    dc_set *set;
    test_log tl;

    (void)state;
    test_log_start(&tl);
    assert_int_equal(two_stages(x, NULL, 1, sa, sb, &set), TDI_ERR_DISCLOSURE);
    test_log_stop();
    assert_int_equal(dc_set_blocked(set), keep_cell(set, 9 + 0));
    assert_null(strstr(tl.text, "no other cell"));
    dc_set_free(set);

    assert_int_equal(two_stages(x, NULL, 0, sa, sb, &set), TDI_OK);
    assert_int_equal(dc_set_blocked(set), (size_t)-1);
    assert_memory_equal(sa, square, 9);
    assert_memory_equal(sb, square, 9);
    dc_set_free(set);
}

/* An exact pair says b's 8 (r0, c1) counts what a's kept 8 counts (as 43.1.1's entrants count
 * what 8.1.1's total row does): b's 8 is kept published too, so b's row r0 gives its 2 the row
 * total 10 (not the 8, which would leave the pair with one suppressed cell and nothing to add),
 * column c0 the 6, column c2 the 15. */
static void kept_equal_cells(void **state)
{
    static const size_t pair[2] = {9 + 1, 0};
    static const unsigned char none[9] = {0};
    static const unsigned char want_b[9] = {1, 0, 1, 1, 0, 1, 0, 0, 0};
    unsigned char sa[9], sb[9];
    dc_set *set;

    (void)state;
    assert_int_equal(two_stages(NULL, pair, 1, sa, sb, &set), TDI_OK);
    assert_memory_equal(sa, none, 9);
    assert_memory_equal(sb, want_b, 9);
    assert_true(dc_set_is_fixed(set, keep_cell(set, 9 + 1)));
    dc_set_free(set);
}

/* ---- the property ---- */

static size_t cell(const shape *s, size_t v, size_t r, size_t c)
{
    return (v * s->nrows + r) * s->ncols + c;
}

/* One axis: n leaves under the total, some of them grouped under subtotals (each with at least
 * two leaves), the total last; as the drug rows are built. */
static size_t make_axis(int *parent, unsigned char *agg, int with_groups)
{
    size_t n = 0, total;
    unsigned groups = with_groups ? 1 + rnd(3) : 0, loose = 2 + rnd(4);

    for (unsigned g = 0; g < groups; g++) {
        size_t sub = n++;
        unsigned kids = 2 + rnd(4);

        agg[sub] = 1;
        parent[sub] = -2; /* the total, once its index is known */
        for (unsigned k = 0; k < kids; k++) {
            parent[n] = (int)sub;
            agg[n++] = 0;
        }
    }
    for (unsigned k = 0; k < loose; k++) {
        parent[n] = -2;
        agg[n++] = 0;
    }
    total = n++;
    agg[total] = 1;
    parent[total] = -1;
    for (size_t i = 0; i < total; i++)
        if (parent[i] == -2)
            parent[i] = (int)total;
    return n;
}

/* Adds one record at (v, r, c) and every aggregate above, in v and (variant_sum) in 0. */
static void add(const shape *s, unsigned long *value, size_t v, int r, int c)
{
    for (int rr = r; rr >= 0; rr = s->rparent[rr])
        for (int cc = c; cc >= 0; cc = s->cparent[cc]) {
            value[cell(s, v, (size_t)rr, (size_t)cc)]++;
            if (s->variant_sum && v > 0)
                value[cell(s, 0, (size_t)rr, (size_t)cc)]++;
        }
}

/* The grand total of cell i's variant: its total row and total column (both last). */
static int grand_total(const shape *s, size_t i)
{
    return i / s->ncols % s->nrows == s->nrows - 1 && i % s->ncols == s->ncols - 1;
}

typedef struct check {
    const shape *s;
    const unsigned long *value;
    const unsigned char *sup;
    size_t relations, suppressed_in_relations;
} check;

/* total = sum(members) (+ residual): each suppressed cell needs another suppressed one in here. */
static void check_relation(check *ck, size_t total, const size_t *m, size_t n)
{
    size_t cells[MAXN + 1], hidden = 0;

    cells[0] = total;
    memcpy(cells + 1, m, n * sizeof *m);
    ck->relations++;
    for (size_t i = 0; i <= n; i++)
        hidden += ck->sup[cells[i]];
    if (hidden == 1) {
        for (size_t i = 0; i <= n; i++)
            if (ck->sup[cells[i]])
                fail_msg("cell %zu (value %lu) is the only suppressed cell of the relation of "
                         "total cell %zu: its total and the published rest give it away",
                         cells[i], ck->value[cells[i]], total);
    }
    ck->suppressed_in_relations += hidden;
}

static void check_all(check *ck)
{
    const shape *s = ck->s;
    size_t m[MAXN];

    for (size_t v = 0; v < s->nvariants; v++) {
        for (size_t r = 0; r < s->nrows; r++)
            for (size_t a = 0; a < s->ncols; a++) {
                size_t n = 0;
                unsigned long sum = 0;
                if (!s->cagg[a])
                    continue;
                for (size_t c = 0; c < s->ncols; c++)
                    if (s->cparent[c] == (int)a) {
                        m[n++] = cell(s, v, r, c);
                        sum += ck->value[cell(s, v, r, c)];
                    }
                assert_true(sum <= ck->value[cell(s, v, r, a)]); /* totals stay as computed */
                check_relation(ck, cell(s, v, r, a), m, n);
            }
        for (size_t c = 0; c < s->ncols; c++)
            for (size_t a = 0; a < s->nrows; a++) {
                size_t n = 0;
                if (!s->ragg[a])
                    continue;
                for (size_t r = 0; r < s->nrows; r++)
                    if (s->rparent[r] == (int)a)
                        m[n++] = cell(s, v, r, c);
                check_relation(ck, cell(s, v, a, c), m, n);
            }
    }
    if (s->variant_sum)
        for (size_t r = 0; r < s->nrows; r++)
            for (size_t c = 0; c < s->ncols; c++) {
                for (size_t v = 1; v < s->nvariants; v++)
                    m[v - 1] = cell(s, v, r, c);
                check_relation(ck, cell(s, 0, r, c), m, s->nvariants - 1);
            }
}

static void secondary_suppression_property(void **state)
{
    size_t tables = 0, total_suppressed = 0, total_secondary = 0, total_aggregates = 0;

    (void)state;
    for (int round = 0; round < 400; round++) {
        shape s = {0};
        unsigned long *value;
        unsigned char *sup;
        size_t ncells, nsup = 0;
        unsigned records, threshold = 2 + rnd(9);
        dc_grid g;
        check ck;

        s.nrows = make_axis(s.rparent, s.ragg, rnd(2));
        s.ncols = make_axis(s.cparent, s.cagg, rnd(4) == 0);
        s.variant_sum = rnd(2);
        s.nvariants = s.variant_sum ? 2 + rnd(3) : 1;
        ncells = s.nvariants * s.nrows * s.ncols;
        value = calloc(ncells, sizeof *value);
        sup = calloc(ncells, 1);
        assert_non_null(value);
        assert_non_null(sup);
        /* Sparse, small counts: many cells below the threshold. Some records sit on a subtotal
         * (a drug coded at group level), some in variant 0 only (status not known). */
        records = (unsigned)(s.nrows * s.ncols) / (1 + rnd(3)) + rnd(40);
        for (unsigned k = 0; k < records; k++) {
            int r = (int)rnd((unsigned)s.nrows - 1), c = (int)rnd((unsigned)s.ncols - 1);
            size_t v = s.nvariants > 1 ? rnd((unsigned)s.nvariants) : 0;
            if (s.cagg[c])
                c = (int)s.ncols - 2; /* a leaf column */
            add(&s, value, v, r, c);
        }

        g = grid_of(&s, value, sup);
        assert_int_equal(dc_suppress(&g, threshold, &nsup), TDI_OK);
        for (size_t i = 0; i < ncells; i++) {
            if (!grand_total(&s, i) && value[i] > 0 && value[i] < threshold)
                assert_true(sup[i]); /* primary, totals and subtotals too */
            else if (sup[i])
                total_secondary++;
            total_aggregates += sup[i] && !grand_total(&s, i) &&
                                (s.ragg[i / s.ncols % s.nrows] || s.cagg[i % s.ncols]);
        }
        ck = (check){&s, value, sup, 0, 0};
        check_all(&ck);
        total_suppressed += nsup;
        tables++;
        free(value);
        free(sup);
    }
    /* The generator must exercise what it claims to. */
    assert_int_equal(tables, 400);
    assert_true(total_suppressed > 2000);
    assert_true(total_secondary > 500);
    assert_true(total_aggregates > 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_small_case),
        cmocka_unit_test(single_leaf_subtotal),
        cmocka_unit_test(sum_rule),
        cmocka_unit_test(linked_grids),
        cmocka_unit_test(kept_cells_never_chosen),
        cmocka_unit_test(kept_cells_blocked),
        cmocka_unit_test(kept_equal_cells),
        cmocka_unit_test(secondary_suppression_property),
    };

    return cmocka_run_group_tests_name("suppress", tests, NULL, NULL);
}
