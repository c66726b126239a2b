/*
 * Unit tests for report/rpt_tables' counting against its definition: rpt_family_add() keeps a
 * record once and rpt_family_sum() spreads it into the variants and aggregates; here every cell
 * of every shipped family is checked against a count made per record the plain way (each
 * variant the record matches, its entry and every aggregate above it on both axes, every row of
 * a dimension over several items), on random records, over two sums in a row; and
 * report_tables_add(), which counts records a batch at a time, counts every one of them.
 */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/report.h"
#include "../../report/rpt_outcome.h"
#include "../../report/rpt_tables.h"

#include "../../common/tdi_codes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed = 20261206;

static unsigned draw(unsigned n)
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((seed >> 33) % n);
}

/* Every item random (a conditional one not applicable one time in four; a secondary drug often
 * none or not known, so that some records have no row in table 25.1.6 but its total), and the
 * fields the families' bases look at: entrants, later starts, continuing clients, discharges. */
static tdi_record any_record(void)
{
    static const char *const rare[] = {"0", "99"};
    tdi_record rec;

    memset(&rec, 0, sizeof rec);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        rec.code[i] = def->conditional && draw(4) == 0 ? TDI_CODE_NOT_APPLICABLE
                                                       : (uint8_t)draw((unsigned)def->ncodes);
    }
    for (int i = TDI_ITEM_SECONDARY_DRUG_1; i <= TDI_ITEM_SECONDARY_DRUG_4; i++)
        if (draw(3))
            rec.code[i] = (uint8_t)tdi_code_index(tdi_item_get((tdi_item)i), rare[draw(2)]);
    rec.age = draw(6) ? 12 + (int)draw(60) : TDI_AGE_NOT_KNOWN;
    rec.first_use_age = draw(6) ? 8 + (int)draw(50) : TDI_AGE_NOT_KNOWN;
    rec.entrant = (uint8_t)draw(3);
    rec.continuing = draw(8) == 0;
    rec.client = (uint8_t)draw(2);
    rec.start_ymd = 20250101 + (int)draw(12) * 100 + (int)draw(28);
    rec.end_ymd = draw(2) ? 0 : 20251201 + (int)draw(2) * 10000 + (int)draw(28);
    return rec;
}

static int entry(const rpt_dim *d, const tdi_record *rec)
{
    if (d->def->kind == RPT_DIM_CONTINUING)
        return rec->continuing ? 0 : 1;
    return rec->code[d->def->item] == TDI_CODE_NOT_APPLICABLE ? -1
                                                              : d->entry[rec->code[d->def->item]];
}

static int matches(int item, uint64_t codes, const tdi_record *rec)
{
    return item < 0 || (rec->code[item] < RPT_ITEM_CODES && (codes >> rec->code[item] & 1));
}

/* The rows rec counts in: its entry and the aggregates above it, for a dimension over several
 * items the total and those of each of its codes. */
static uint64_t rows_of(const rpt_dim *d, int er, const tdi_record *rec)
{
    uint64_t rows = d->def->also ? UINT64_C(1) << (d->n - 1) : 0;

    for (int r = er; r >= 0; r = d->parent[r])
        rows |= UINT64_C(1) << r;
    for (size_t k = 0; d->def->also && k < d->def->also->nitems; k++) {
        unsigned code = rec->code[d->def->also->items[k]];
        for (int r = code < RPT_ITEM_CODES ? d->also_entry[k][code] : -1; r >= 0; r = d->parent[r])
            rows |= UINT64_C(1) << r;
    }
    return rows;
}

typedef struct expected {
    unsigned long *value;
    uint64_t *sum, *sumsq;
} expected;

static void count_plainly(const rpt_family *f, const tdi_record *rec, expected *e)
{
    int er = entry(&f->rows, rec), ec = f->def->measures ? 0 : entry(&f->cols, rec);

    if ((er < 0 && !f->rows.def->also) || ec < 0 ||
        !tdi_in_population(rec->code[TDI_ITEM_PRIMARY_DRUG]) || !rpt_outcome_counts(f, rec))
        return;
    for (size_t v = 0; v < f->def->nvariants; v++) {
        const rpt_variant_def *var = &f->def->variants[v];
        uint64_t rows = rows_of(&f->rows, er, rec);
        if (!matches(var->item, f->variant_codes[v], rec) ||
            !matches(var->item2, f->variant_codes2[v], rec))
            continue;
        for (size_t r = 0; r < f->rows.n; r++) {
            if (!(rows >> r & 1))
                continue;
            for (size_t m = 0; f->def->measures && m < f->def->nmeasures; m++) {
                int x = f->def->measures[m].value(rec);
                size_t i = dc_cell(&f->grid, v, r, m);
                if (x < 0)
                    continue;
                e->value[i]++;
                e->sum[i] += (uint64_t)x;
                e->sumsq[i] += (uint64_t)x * (uint64_t)x;
            }
            for (int c = f->def->measures ? -1 : ec; c >= 0; c = f->cols.parent[c])
                e->value[dc_cell(&f->grid, v, r, (size_t)c)]++;
        }
    }
}

static void check_family(const rpt_family *f, const expected *e, int round)
{
    size_t n = f->def->nvariants * f->rows.n * f->cols.n;

    for (size_t i = 0; i < n; i++) {
        size_t c = i % f->cols.n, r = i / f->cols.n % f->rows.n, v = i / f->cols.n / f->rows.n;
        if (f->value[i] != e->value[i] ||
            (f->sum && (f->sum[i] != e->sum[i] || f->sumsq[i] != e->sumsq[i])))
            fail_msg("round %d, table %s variant %zu row %s column %s: %lu, expected %lu", round,
                     f->def->id, v, f->rows.code[r], f->cols.code[c], f->value[i], e->value[i]);
    }
}

static void sums_are_every_records_cells(void **state)
{
    rpt_family *fams = calloc(rpt_nfamilies, sizeof *fams);
    expected *e = calloc(rpt_nfamilies, sizeof *e);
    unsigned long total = 0;

    (void)state;
    assert_non_null(fams);
    assert_non_null(e);
    for (size_t k = 0; k < rpt_nfamilies; k++) {
        size_t n;
        assert_int_equal(rpt_family_init(&fams[k], &rpt_families[k]), TDI_OK);
        fams[k].year = 2025;
        n = fams[k].def->nvariants * fams[k].rows.n * fams[k].cols.n;
        e[k].value = calloc(n, sizeof *e[k].value);
        e[k].sum = calloc(n, sizeof *e[k].sum);
        e[k].sumsq = calloc(n, sizeof *e[k].sumsq);
        assert_true(e[k].value && e[k].sum && e[k].sumsq);
    }
    /* twice: a second sum adds to the first and counts nothing twice */
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < 4000; i++) {
            tdi_record rec = any_record();
            for (size_t k = 0; k < rpt_nfamilies; k++) {
                rpt_family_add(&fams[k], &rec);
                count_plainly(&fams[k], &rec, &e[k]);
            }
        }
        for (size_t k = 0; k < rpt_nfamilies; k++) {
            rpt_family_sum(&fams[k]);
            check_family(&fams[k], &e[k], round);
        }
    }
    for (size_t k = 0; k < rpt_nfamilies; k++) {
        total += fams[k].value[dc_grid_grand_total(&fams[k].grid, 0)];
        rpt_family_free(&fams[k]);
        free(e[k].value);
        free(e[k].sum);
        free(e[k].sumsq);
    }
    assert_true(total > 8000); /* the records did reach the tables */
    free(fams);
    free(e);
}

/* Two full batches and a part of one, published: table 9.1.1's grand total counts every entrant
 * of the population (no cell suppressed at threshold 1). */
static void every_batch_is_counted(void **state)
{
    char dir[] = "/tmp/tdi-test-tables-sum-XXXXXX", want[96];
    static char text[1 << 21];
    report_meta meta = {.schema_dir = TDI_SCHEMA_DIR,
                        .run_id = "20261206T050000Z",
                        .run_no = 1,
                        .generated = "2026-12-06T05:00:00Z",
                        .year = 2025,
                        .gzip_level = 1};
    report_tables *t = NULL;
    report_published pub;
    unsigned long entrants = 0;
    size_t hidden = 0, n;
    char *table;
    FILE *fp;

    (void)state;
    assert_non_null(mkdtemp(dir));
    meta.output_dir = dir;
    assert_int_equal(report_tables_open(&meta, "batches", 1, &t), TDI_OK);
    for (int i = 0; i < 2 * 64 + 37; i++) {
        tdi_record rec = any_record();
        entrants += tdi_in_population(rec.code[TDI_ITEM_PRIMARY_DRUG]) &&
                    rec.entrant != TDI_ENTRANT_NO && !rec.continuing;
        assert_int_equal(report_tables_add(t, &rec), TDI_OK);
    }
    assert_int_equal(report_tables_publish(t, &pub, &hidden), TDI_OK);
    fp = fopen(pub.path, "r");
    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    table = strstr(text, "<table id=\"9.1.1\"");
    assert_non_null(table);
    assert_non_null(strstr(table, "</table>"));
    *strstr(table, "</table>") = '\0'; /* this table only */
    snprintf(want, sizeof want, "<cell row=\"total\" column=\"total\" value=\"%lu\"/>", entrants);
    assert_non_null(strstr(table, want));
    assert_true(entrants > 64 && entrants < 2 * 64 + 37);
    assert_int_equal(pub.entrants, entrants);
    test_fs_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sums_are_every_records_cells),
        cmocka_unit_test(every_batch_is_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
