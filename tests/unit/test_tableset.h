/*
 * Shared by the unit tests of the shipped tables (test_tables.c, test_tables_link.c): random
 * records, every family of the shipped tables as one set of cells, and a cell by its table id,
 * row and column. Include after cmocka.h and report/rpt_tables.h.
 */
#ifndef TEST_TABLESET_H
#define TEST_TABLESET_H

#include "../../common/tdi_codes.h"

#include <stdio.h>
#include <string.h>

static unsigned long seed = 20261123;

static unsigned rnd(unsigned n)
{
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)((seed >> 33) % n);
}

/* A record with random codes; a conditional item is not applicable one time in three. */
static tdi_record random_record(void)
{
    tdi_record rec;

    memset(&rec, 0, sizeof rec);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        rec.code[i] = def->conditional && rnd(3) == 0 ? TDI_CODE_NOT_APPLICABLE
                                                      : (uint8_t)rnd((unsigned)def->ncodes);
    }
    rec.age = rnd(8) ? 12 + (int)rnd(60) : TDI_AGE_NOT_KNOWN;
    rec.first_use_age = rnd(8) ? 10 + (int)rnd(40) : TDI_AGE_NOT_KNOWN; /* after entry: no lag */
    return rec;
}

typedef struct tableset {
    rpt_family f[64];
    dc_grid *grids[64]; /* family k's grid */
    size_t off[65];     /* set number of family k's cell 0 */
} tableset;

static void tableset_init(tableset *ts)
{
    assert_true(rpt_nfamilies <= 64);
    for (size_t k = 0; k < rpt_nfamilies; k++) {
        assert_int_equal(rpt_family_init(&ts->f[k], &rpt_families[k]), TDI_OK);
        ts->grids[k] = &ts->f[k].grid;
        ts->off[k + 1] = ts->off[k] + ts->f[k].def->nvariants * ts->f[k].rows.n * ts->f[k].cols.n;
    }
}

static void tableset_free(tableset *ts)
{
    for (size_t k = 0; k < rpt_nfamilies; k++)
        rpt_family_free(&ts->f[k]);
}

/* The set number of (table id, row, column), or fails. */
static size_t find_cell(const tableset *ts, const char *id, const char *row, const char *col)
{
    for (size_t k = 0; k < rpt_nfamilies; k++) {
        const rpt_family *f = &ts->f[k];
        for (size_t v = 0; v < f->def->nvariants; v++) {
            char tid[32];
            snprintf(tid, sizeof tid, "%s.%zu", f->def->id, v + (size_t)f->def->first);
            if (strcmp(tid, id) != 0)
                continue;
            for (size_t r = 0; r < f->rows.n; r++)
                for (size_t c = 0; c < f->cols.n; c++)
                    if (strcmp(f->rows.code[r], row) == 0 && strcmp(f->cols.code[c], col) == 0)
                        return ts->off[k] + dc_cell(&f->grid, v, r, c);
        }
    }
    fail_msg("no cell %s %s %s", id, row, col);
    return 0;
}

#endif
