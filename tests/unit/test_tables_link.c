/*
 * Unit tests for the totals of a body's linked tables (report/rpt_link.c): a table of some
 * primary drugs only (25.1.5: groups 4, 5, 6 and 9) is the sum of 9.1.1's rows of those groups,
 * so its grand total is protected like any other cell and related to those rows; and no grand
 * total of an all-entrants table (the header's entrants) is ever suppressed.
 */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/rpt_link.h"
#include "../../report/rpt_tables.h"

#include "../../common/tdi_codes.h"
#include "test_tableset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The all-entrants tables: each one's grand total is the header's entrants. */
static const char *const all_entrants[] = {
    "8.1.1",  "9.1.1",  "10.1.1", "12.1.1", "13.1.1", "14.1.1", "15.1.1",
    "16.1.1", "17.1.1", "18.1.1", "19.1.1", "20.1.1", "21.1.1", "22.1.1",
    "24.1.1", "25.1.6", "26.1.1", "27.1.1", "28.1.1", "29.1.1",
};
#define NALL (sizeof all_entrants / sizeof all_entrants[0])

static void tableset_add(tableset *ts, const tdi_record *rec)
{
    for (size_t f = 0; f < rpt_nfamilies; f++)
        rpt_family_add(&ts->f[f], rec);
}

/* Suppressed flag and value of set cell i. */
static int sup_of(const tableset *ts, size_t i)
{
    size_t k = 0;

    while (ts->off[k + 1] <= i)
        k++;
    return ts->f[k].suppressed[i - ts->off[k]];
}

static unsigned long value_of(const tableset *ts, size_t i)
{
    size_t k = 0;

    while (ts->off[k + 1] <= i)
        k++;
    return ts->f[k].value[i - ts->off[k]];
}

static void set_code(tdi_record *rec, tdi_item item, const char *code)
{
    int idx = tdi_code_index(tdi_item_get(item), code);

    assert_true(idx >= 0);
    rec->code[item] = (uint8_t)idx;
}

/* An entrant with every item not known (or not applicable) but its primary drug. */
static tdi_record entrant(const char *drug)
{
    tdi_record rec;

    memset(&rec, 0, sizeof rec);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        rec.code[i] = def->conditional ? TDI_CODE_NOT_APPLICABLE : (uint8_t)def->not_known;
    }
    set_code(&rec, TDI_ITEM_PRIMARY_DRUG, drug);
    set_code(&rec, TDI_ITEM_SETTING, "outpatient");
    set_code(&rec, TDI_ITEM_CENTRE_TYPE, "1");
    rec.age = TDI_AGE_NOT_KNOWN;
    rec.first_use_age = TDI_AGE_NOT_KNOWN;
    rec.client = 1;
    return rec;
}

/* The interval dc_audit gives one cell. */
typedef struct watch {
    size_t cell;
    double lo, hi;
} watch;

static void on_interval(void *ctx, const dc_interval *iv)
{
    watch *w = ctx;

    if (iv->cell == w->cell) {
        w->lo = iv->lo;
        w->hi = iv->hi;
    }
}

/* Twenty heroin entrants and one of hallucinogens (group 5): 25.1.5, the table of primary
 * drugs in groups 4, 5, 6 and 9, has grand total 1, which is 9.1.1's rows 4 + 5 + 6 + 9 of
 * column total (0 + 1 + 0 + 0). Before, 25.1.5's grand total was published as 1 (a grand
 * total, published whatever its value) and no relation said it was that sum: a receiver read
 * 9.1.1's suppressed row 5 as exactly 1. Now the grand total is a small count like any other
 * (suppressed), linked to those rows, and the auditor's program with the sum stated gives row 5
 * an interval as wide as the threshold. */
static void sub_population_total_is_a_sum(void **state)
{
    tableset ts = {0};
    dc_set *set, *attacker;
    dc_rels r;
    tdi_record heroin = entrant("1.1"), other = entrant("5");
    size_t gt25, rows[4], rel[5], found = 0, nfail = 0;
    dc_protect_stats ps;
    watch w = {0, NAN, NAN};
    const char *const groups[4] = {"4", "5", "6", "9"};

    (void)state;
    tableset_init(&ts);
    for (int k = 0; k < 20; k++)
        tableset_add(&ts, &heroin);
    tableset_add(&ts, &other);
    for (size_t f = 0; f < rpt_nfamilies; f++)
        rpt_family_sum(&ts.f[f]);
    gt25 = find_cell(&ts, "25.1.5", "total", "total");
    for (int k = 0; k < 4; k++)
        rows[k] = find_cell(&ts, "9.1.1", groups[k], "total");
    assert_int_equal(value_of(&ts, gt25), 1);
    assert_int_equal(value_of(&ts, rows[1]), 1);

    set = dc_set_new(ts.grids, rpt_nfamilies);
    assert_non_null(set);
    assert_int_equal(rpt_link_tables(ts.f, rpt_nfamilies, set), TDI_OK);
    assert_int_equal(dc_set_rels(set, &r), TDI_OK);
    /* the sum is a relation: 25.1.5's grand total = four cells counting groups 4, 5, 6, 9 */
    for (size_t k = r.by_start[gt25]; k < r.by_start[gt25 + 1]; k++) {
        const size_t *c = r.cells + r.start[r.by[k]];
        size_t n = r.start[r.by[k] + 1] - r.start[r.by[k]];
        unsigned long sum = 0;
        if (c[0] != gt25 || n != 5 || !r.exact[r.by[k]])
            continue;
        for (size_t j = 1; j < n; j++)
            sum += value_of(&ts, c[j]);
        assert_int_equal(sum, 1);
        found++;
    }
    assert_int_equal(found, 1);
    assert_int_equal(dc_set_protect(set, 5, 5, &ps), TDI_OK);
    assert_int_equal(sup_of(&ts, gt25), 1);    /* 1: small, suppressed */
    assert_int_equal(sup_of(&ts, rows[1]), 1); /* 9.1.1 row 5 */
    for (size_t t = 0; t < NALL; t++)          /* 21 entrants: published */
        assert_int_equal(sup_of(&ts, find_cell(&ts, all_entrants[t], "total", "total")), 0);

    /* a receiver who states the sum himself: row 5 is in [0, 21] (was [1, 1]) */
    attacker = dc_set_new(ts.grids, rpt_nfamilies);
    assert_non_null(attacker);
    assert_int_equal(rpt_link_tables(ts.f, rpt_nfamilies, attacker), TDI_OK);
    rel[0] = gt25;
    memcpy(rel + 1, rows, sizeof rows);
    assert_int_equal(dc_set_relate(attacker, rel, 5, 1), TDI_OK);
    w.cell = rows[1];
    assert_int_equal(dc_audit(attacker, 5, 0, on_interval, NULL, &w, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    assert_int_equal(lround(w.lo), 0);
    assert_int_equal(lround(w.hi), 21);
    dc_set_free(attacker);
    dc_set_free(set);
    tableset_free(&ts);
}

/* Random small bodies at thresholds 3 to 10: no all-entrants table's grand total is ever
 * suppressed (a receiver reads it in the header), and it is one number throughout. Before, the
 * suppression fell back on a grand total when a relation held one suppressed cell and nothing
 * else that might be: 600 all-entrants grand totals were suppressed in these 30 rounds, all 20
 * tables' in every round. */
static void all_entrants_totals_published(void **state)
{
    size_t hidden = 0;

    (void)state;
    for (int round = 0; round < 30; round++) {
        tableset ts = {0};
        dc_set *set;
        unsigned records = 4 + rnd(40), threshold = 3 + rnd(8);

        tableset_init(&ts);
        for (unsigned k = 0; k < records; k++) {
            tdi_record rec = random_record();
            tableset_add(&ts, &rec);
        }
        for (size_t f = 0; f < rpt_nfamilies; f++)
            rpt_family_sum(&ts.f[f]);
        set = dc_set_new(ts.grids, rpt_nfamilies);
        assert_non_null(set);
        assert_int_equal(rpt_link_tables(ts.f, rpt_nfamilies, set), TDI_OK);
        assert_int_equal(dc_set_suppress(set, threshold, NULL), TDI_OK);
        for (size_t t = 0; t < NALL; t++) {
            size_t c = find_cell(&ts, all_entrants[t], "total", "total");
            hidden += sup_of(&ts, c);
            assert_int_equal(value_of(&ts, c),
                             value_of(&ts, find_cell(&ts, "8.1.1", "total", "total")));
        }
        dc_set_free(set);
        tableset_free(&ts);
    }
    assert_int_equal(hidden, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sub_population_total_is_a_sum),
        cmocka_unit_test(all_entrants_totals_published),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
