/*
 * Unit tests for report/rpt_tables and report_tables: the dimensions are the workbook's rows and
 * columns in its order, a record counts in its cell and every aggregate above it in the variants
 * it matches, alcohol-primary records are in no table, no shipped table has a relation that
 * suppression could not protect, and publishing writes a valid file with its manifest.
 */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/report.h"
#include "../../report/rpt_link.h"
#include "../../report/rpt_outcome.h"
#include "../../report/rpt_tables.h"
#include "test_log.h"
#include "test_tableset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_ID    "20261123T040000Z"
#define GENERATED "2026-11-23T04:00:00Z"

static const rpt_family_def *family(const char *id)
{
    for (size_t i = 0; i < rpt_nfamilies; i++)
        if (strcmp(rpt_families[i].id, id) == 0)
            return &rpt_families[i];
    fail_msg("no table family %s", id);
    return NULL;
}

/* The category codes of d, blank-separated. */
static void codes(const rpt_dim *d, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < d->n; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", d->code[i]);
}

static void set_code(tdi_record *rec, tdi_item item, const char *code)
{
    int idx = tdi_code_index(tdi_item_get(item), code);

    assert_true(idx >= 0);
    rec->code[item] = (uint8_t)idx;
}

/* A record with every item not known (or not applicable), then these; the age band is the
 * age's, as transform derives it. */
static tdi_record record(const char *drug, const char *sex, const char *status, int age)
{
    static const char *const bands[] = {"0-14",  "15-19", "20-24", "25-29", "30-34", "35-39",
                                        "40-44", "45-49", "50-54", "55-59", "60-64", "65+"};
    tdi_record rec;

    memset(&rec, 0, sizeof rec);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        rec.code[i] = def->conditional ? TDI_CODE_NOT_APPLICABLE : (uint8_t)def->not_known;
    }
    snprintf(rec.episode, sizeof rec.episode, "e1:00000000000000000000000000000001");
    set_code(&rec, TDI_ITEM_AGE_BAND,
             age < 0 ? "99"
                     : bands[age < 15    ? 0
                             : age >= 65 ? 11
                                         : 1 + (age - 15) / 5]);
    set_code(&rec, TDI_ITEM_SETTING, "outpatient");
    set_code(&rec, TDI_ITEM_CENTRE_TYPE, "1");
    set_code(&rec, TDI_ITEM_SEX, sex);
    set_code(&rec, TDI_ITEM_TREATMENT_STATUS, status);
    set_code(&rec, TDI_ITEM_PRIMARY_DRUG, drug);
    set_code(&rec, TDI_ITEM_ROUTE, "1");
    rec.age = age;
    rec.first_use_age = TDI_AGE_NOT_KNOWN;
    rec.client = 1; /* an entrant is its person's counted client (table 43.1), as a run marks it */
    return rec;
}

/* The count at (variant, row code, column code), the records added so far summed. */
static unsigned long at(rpt_family *f, size_t v, const char *row, const char *col)
{
    size_t r = 0, c = 0;

    rpt_family_sum(f);
    while (r < f->rows.n && strcmp(f->rows.code[r], row) != 0)
        r++;
    while (c < f->cols.n && strcmp(f->cols.code[c], col) != 0)
        c++;
    assert_true(r < f->rows.n);
    assert_true(c < f->cols.n);
    return f->value[dc_cell(&f->grid, v, r, c)];
}

static void dimensions_are_the_workbooks(void **state)
{
    /* the 33 primary-drug rows and the 10 drug-group rows: alcohol has none */
#define DRUGS                                                                                      \
    "1 1.1 1.2 1.3 1.4 1.5 2 2.1 2.2 2.3 3 3.1 3.2 3.3 3.4 3.5 4 4.1 4.2 4.3 4.4 5 5.1 5.2 5.3 6 " \
    "7 "                                                                                           \
    "7.1 7.2 7.3 9 99 total"
#define GROUPS "1 2 3 4 5 6 7 9 99 total"
#define AGES   "0-14 15-19 20-24 25-29 30-34 35-39 40-44 45-49 50-54 55-59 60-64 65+ 99 total"
#define CENTRE "1 2 3 4 5 6 99 total"
#define INJ    "1 2 2.1 2.2 2.3 3 99 total"
#define SETTINGS                                                                                   \
    "outpatient low_threshold general_practitioner prison residential_community "                  \
    "residential_hospital inpatient_detox other not_known total"
#define APPROACHES                                                                                 \
    "therapeutic_community twelve_step cbt other_psychotherapeutic combined not_known total"
#define GRID                                                                                       \
    "heroin other_opioids cocaine crack amphetamines cannabis stimulants hypnotics alcohol other " \
    "none 99 total"
#define SECONDARY                                                                                  \
    "1 1.1 1.2 1.3 1.4 1.5 2 2.1 2.2 2.3 3 3.1 3.2 3.3 3.4 3.5 4 4.1 4.2 4.3 4.4 5 5.1 5.2 5.3 6 " \
    "7 7.1 7.2 7.3 8 9 99 total"
    static const struct {
        const char *id, *rows, *cols;
        size_t variants;
        int sum, first; /* variant 0 is the sum of the others; the number of its table */
    } want[] = {
        {"8.1", "1 2 3 total", CENTRE, 3, 1, 1},
        {"9.1", DRUGS, CENTRE, 3, 1, 1},
        {"10.1", DRUGS, "1 2 99 total", 3, 1, 1},
        {"11.1", DRUGS, "age first_use lag", 9, 0, 1},
        {"12.1", DRUGS, AGES, 3, 1, 1},
        {"13.1", GROUPS, "1 2 3 4 5 6 7 99 total", 3, 1, 1},
        {"14.1", GROUPS, "1 2 3 4 5 6 7 99 total", 3, 1, 1},
        {"15.1", GROUPS, "1 2 99 total", 3, 1, 1},
        {"16.1", GROUPS, "1 2 3 4 99 total", 3, 1, 1},
        {"17.1", GROUPS, "1 2 3 4 99 total", 3, 1, 1},
        {"18.1", GROUPS, "1 2 3 4 5 6 99 total", 3, 1, 1},
        {"19.1", DRUGS, "1 2 3 4 5 99 total", 3, 1, 1},
        {"20.1", DRUGS, "1 2 3 4 5 99 total", 3, 1, 1},
        {"21.1", DRUGS, AGES, 3, 1, 1},
        {"22.1", DRUGS, INJ, 3, 1, 1},
        {"23.1", AGES, "1 2 3 4 99 total", 3, 1, 1},
        {"24.1", "1 2 3 total", "1 2 99 total", 1, 0, 1},
        {"26.1", "1 2 2.1 2.2 3 99 total", INJ, 3, 1, 1},
        {"27.1", "1 2 2.1 2.2 3 99 total", INJ, 3, 1, 1},
        {"28.1", "1 2 2.1 2.2 2.3 3 99 total", INJ, 1, 0, 1},
        {"25.1", GRID, GRID, 5, 0, 1},
        {"25.1", SECONDARY, DRUGS, 1, 0, 6},
        {"29.1", DRUGS, "1 2 3 99 total", 1, 0, 1},
        {"29.1", "heroin other_opioids cocaine stimulants other 99 total",
         "0 1 2 3 4 5 6 7 8 9 10 11-15 16+ 99 total", 1, 0, 2},
        {"40.1", SETTINGS, "completed not_completed not_known total", 1, 0, 1},
        {"40.2", SETTINGS, "referred none not_known total", 1, 0, 1},
        {"41.1", APPROACHES, "completed not_completed not_known total", 3, 1, 1},
        {"41.2", APPROACHES, "referred none not_known total", 3, 1, 1},
        {"42.1", "short long not_known total", "within_28 over_28 not_known total", 1, 0, 1},
        {"43.1", CENTRE, "continuing entrants total", 1, 0, 1},
        {"43.2", APPROACHES, "short long not_known total", 1, 0, 1},
    };
    char buf[512];
    size_t tables = 0;

    (void)state;
    assert_int_equal(rpt_nfamilies, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        rpt_family f;

        assert_string_equal(rpt_families[i].id, want[i].id);
        assert_int_equal(rpt_families[i].nvariants, want[i].variants);
        assert_int_equal(rpt_families[i].variant_sum, want[i].sum);
        assert_int_equal(rpt_families[i].first, want[i].first);
        assert_int_equal(rpt_family_init(&f, &rpt_families[i]), TDI_OK);
        codes(&f.rows, buf, sizeof buf);
        assert_string_equal(buf, want[i].rows);
        codes(&f.cols, buf, sizeof buf);
        assert_string_equal(buf, want[i].cols);
        tables += want[i].variants;
        rpt_family_free(&f);
    }
    assert_int_equal(tables, 81);
    assert_int_equal(report_tables_count(), 81);
}

static void records_count_in_cells_and_aggregates(void **state)
{
    rpt_family f;
    tdi_record heroin = record("1.1", "1", "1", 34);
    tdi_record opioid = record("1", "2", "2", 15); /* coded at group level */
    tdi_record cannabis = record("7.1", "99", "3", TDI_AGE_NOT_KNOWN);
    tdi_record alcohol = record("8", "1", "1", 40); /* in no table */
    tdi_record young = record("99", "2", "1", 14);
    tdi_record old = record("99", "2", "1", 65);

    (void)state;
    assert_int_equal(rpt_family_init(&f, family("12.1")), TDI_OK);
    rpt_family_add(&f, &heroin);
    rpt_family_add(&f, &opioid);
    rpt_family_add(&f, &cannabis);
    rpt_family_add(&f, &alcohol);
    rpt_family_add(&f, &young);
    rpt_family_add(&f, &old);
    /* variant 0: all entrants */
    assert_int_equal(at(&f, 0, "1.1", "30-34"), 1);
    assert_int_equal(at(&f, 0, "1.1", "total"), 1);
    assert_int_equal(at(&f, 0, "1", "30-34"), 1);
    assert_int_equal(at(&f, 0, "1", "15-19"), 1);
    assert_int_equal(at(&f, 0, "1", "total"), 2); /* 1.1 plus the group-level record */
    assert_int_equal(at(&f, 0, "1.5", "total"), 0);
    assert_int_equal(at(&f, 0, "7", "99"), 1);
    assert_int_equal(at(&f, 0, "7.1", "99"), 1);
    assert_int_equal(at(&f, 0, "99", "0-14"), 1);
    assert_int_equal(at(&f, 0, "99", "65+"), 1);
    assert_int_equal(at(&f, 0, "total", "total"), 5); /* not the alcohol record */
    /* variant 1: never treated; variant 2: previously treated; status 3 is in neither */
    assert_int_equal(at(&f, 1, "total", "total"), 3);
    assert_int_equal(at(&f, 1, "1.1", "30-34"), 1);
    assert_int_equal(at(&f, 2, "total", "total"), 1);
    assert_int_equal(at(&f, 2, "1", "15-19"), 1);
    assert_int_equal(at(&f, 2, "7.1", "99"), 0);
    rpt_family_free(&f);

    /* table 8: variants by sex, rows by status */
    assert_int_equal(rpt_family_init(&f, family("8.1")), TDI_OK);
    rpt_family_add(&f, &heroin);
    rpt_family_add(&f, &opioid);
    rpt_family_add(&f, &cannabis);
    rpt_family_add(&f, &alcohol);
    assert_int_equal(at(&f, 0, "total", "total"), 3);
    assert_int_equal(at(&f, 0, "3", "1"), 1);
    assert_int_equal(at(&f, 1, "1", "1"), 1); /* males */
    assert_int_equal(at(&f, 1, "total", "total"), 1);
    assert_int_equal(at(&f, 2, "2", "total"), 1); /* females */
    rpt_family_free(&f);

    /* table 23: ever-injectors only (years since first injection applies to them only) */
    assert_int_equal(rpt_family_init(&f, family("23.1")), TDI_OK);
    rpt_family_add(&f, &heroin); /* not applicable: in no cell */
    set_code(&heroin, TDI_ITEM_INJECTING, "2.3");
    set_code(&heroin, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, "2");
    rpt_family_add(&f, &heroin);
    assert_int_equal(at(&f, 0, "30-34", "2"), 1);
    assert_int_equal(at(&f, 0, "total", "total"), 1);
    assert_int_equal(at(&f, 1, "total", "total"), 1);
    rpt_family_free(&f);

    /* table 11: per measure the number, sum and sum of squares of the values, in nine variants */
    assert_int_equal(rpt_family_init(&f, family("11.1")), TDI_OK);
    heroin.first_use_age = 20;    /* lag 14 */
    opioid.first_use_age = 16;    /* after entry at 15: a first use, no lag */
    rpt_family_add(&f, &heroin);  /* male, never treated */
    rpt_family_add(&f, &opioid);  /* female, previously treated */
    rpt_family_add(&f, &alcohol); /* in no table */
    assert_int_equal(at(&f, 0, "1", "age"), 2);
    assert_int_equal(f.sum[dc_cell(&f.grid, 0, 0, 0)], 34 + 15);
    assert_int_equal(f.sumsq[dc_cell(&f.grid, 0, 0, 0)], 34 * 34 + 15 * 15);
    assert_int_equal(at(&f, 0, "1", "first_use"), 2);
    assert_int_equal(at(&f, 0, "1", "lag"), 1);
    assert_int_equal(at(&f, 0, "1.1", "age"), 1);
    assert_int_equal(at(&f, 1, "total", "age"), 1); /* never treated */
    assert_int_equal(at(&f, 3, "total", "age"), 1); /* males */
    assert_int_equal(at(&f, 4, "1.1", "lag"), 1);   /* males never treated */
    assert_int_equal(at(&f, 5, "total", "age"), 0); /* males previously treated */
    assert_int_equal(at(&f, 8, "1", "age"), 1);     /* females previously treated */
    assert_int_equal(at(&f, 8, "1", "lag"), 0);
    assert_int_equal(f.sum[dc_cell(&f.grid, 8, 0, 0)], 15);
    rpt_family_free(&f);

    /* table 22: every drug a record uses, each row once; 25.1.6: its secondary drugs */
    set_code(&heroin, TDI_ITEM_SECONDARY_DRUG_1, "1.2");
    set_code(&heroin, TDI_ITEM_SECONDARY_DRUG_2, "1.2"); /* twice: once in the table */
    set_code(&heroin, TDI_ITEM_SECONDARY_DRUG_3, "8");
    set_code(&heroin, TDI_ITEM_SECONDARY_DRUG_4, "99"); /* a slot not known: nowhere */
    set_code(&heroin, TDI_ITEM_INJECTING, "2.3");
    set_code(&opioid, TDI_ITEM_SECONDARY_DRUG_1, "0"); /* no secondary drug */
    assert_int_equal(rpt_family_init(&f, family("22.1")), TDI_OK);
    rpt_family_add(&f, &heroin);
    rpt_family_add(&f, &opioid);
    assert_int_equal(at(&f, 0, "1.1", "2.3"), 1);
    assert_int_equal(at(&f, 0, "1.2", "2.3"), 1);
    assert_int_equal(at(&f, 0, "1", "2.3"), 1); /* one person, two opioids */
    assert_int_equal(at(&f, 0, "1", "total"), 2);
    assert_int_equal(at(&f, 0, "99", "total"), 0);
    assert_int_equal(at(&f, 0, "total", "total"), 2);
    assert_int_equal(at(&f, 1, "total", "2.3"), 1);
    rpt_family_free(&f);
    assert_int_equal(rpt_family_init(&f, &rpt_families[rpt_nfamilies - 10]), TDI_OK);
    assert_int_equal(f.def->first, 6); /* 25.1.6 */
    rpt_family_add(&f, &heroin);
    rpt_family_add(&f, &opioid);
    assert_int_equal(at(&f, 0, "1.2", "1.1"), 1);
    assert_int_equal(at(&f, 0, "1", "1.1"), 1);
    assert_int_equal(at(&f, 0, "8", "1"), 1);
    assert_int_equal(at(&f, 0, "99", "1"), 0);
    assert_int_equal(at(&f, 0, "total", "1"), 2); /* persons, with or without a secondary drug */
    assert_int_equal(at(&f, 0, "total", "total"), 2);
    rpt_family_free(&f);

    assert_int_equal(rpt_tables_population(&heroin), 1);
    assert_int_equal(rpt_tables_population(&alcohol), 0);
    set_code(&alcohol, TDI_ITEM_PRIMARY_DRUG, "gambling"); /* no table has a row for it */
    assert_int_equal(rpt_tables_population(&alcohol), 0);
    set_code(&alcohol, TDI_ITEM_PRIMARY_DRUG, "99");
    assert_int_equal(rpt_tables_population(&alcohol), 1);
}

/* A discharged episode for the outcome tables: closed on end with reason and aftercare. */
static tdi_record discharged(const char *setting, int start, int end, const char *reason,
                             const char *aftercare, const char *band)
{
    tdi_record rec = record("1.1", "1", "1", 30);

    set_code(&rec, TDI_ITEM_SETTING, setting);
    rec.start_ymd = start;
    rec.end_ymd = end;
    rec.entrant = TDI_ENTRANT_YES;
    set_code(&rec, TDI_ITEM_DISCHARGE_REASON, reason);
    set_code(&rec, TDI_ITEM_AFTERCARE, aftercare);
    set_code(&rec, TDI_ITEM_STAY_BAND, band);
    return rec;
}

static void residential(tdi_record *rec, const char *approach, const char *duration,
                        const char *detox)
{
    set_code(rec, TDI_ITEM_RESIDENTIAL_APPROACH, approach);
    set_code(rec, TDI_ITEM_PLANNED_DURATION, duration);
    set_code(rec, TDI_ITEM_DETOX_PHASE, detox);
}

/* Tables 40-42 count the episodes discharged in the year, entrants, later starts and
 * continuing clients alike, in the TDI population; the TDI tables none but the entrant. */
static void outcome_tables_count_discharges(void **state)
{
    rpt_family f[6];
    const char *ids[6] = {"8.1", "40.1", "40.2", "41.1", "42.1", "41.2"};
    tdi_record rec[5];
    double x;
    int defined;

    (void)state;
    rec[0] =
        discharged("residential_community", 20250110, 20250205, "completed", "self_help", "8-28");
    residential(&rec[0], "twelve_step", "short", "yes");
    rec[1] =
        discharged("residential_community", 20240601, 20250301, "dropped_out", "none", "181-365");
    residential(&rec[1], "therapeutic_community", "long", "no");
    rec[1].continuing = 1;
    rec[1].entrant = TDI_ENTRANT_NO;
    rec[2] = discharged("residential_hospital", 20250301, 20260115, "completed", "none", "181-365");
    residential(&rec[2], "cbt", "long", "yes"); /* discharged after the year */
    rec[3] = discharged("residential_community", 20250301, 20250401, "completed", "none", "29-90");
    residential(&rec[3], "cbt", "long", "yes");
    set_code(&rec[3], TDI_ITEM_PRIMARY_DRUG, "8"); /* alcohol: outside the population */
    rec[4] = discharged("outpatient", 20250101, 20250111, "completed", "not_known", "8-28");
    rec[4].entrant = TDI_ENTRANT_NO; /* a later start */
    for (size_t k = 0; k < 6; k++) {
        assert_int_equal(rpt_family_init(&f[k], family(ids[k])), TDI_OK);
        f[k].year = 2025;
        for (size_t i = 0; i < 5; i++)
            rpt_family_add(&f[k], &rec[i]);
    }
    assert_int_equal(at(&f[0], 0, "total", "total"), 2); /* the entrants 0 and 2 only */
    assert_int_equal(at(&f[1], 0, "residential_community", "completed"), 1);
    assert_int_equal(at(&f[1], 0, "residential_community", "not_completed"), 1);
    assert_int_equal(at(&f[1], 0, "residential_hospital", "total"), 0);
    assert_int_equal(at(&f[1], 0, "outpatient", "completed"), 1);
    assert_int_equal(at(&f[1], 0, "total", "total"), 3);
    assert_int_equal(at(&f[2], 0, "residential_community", "referred"), 1);
    assert_int_equal(at(&f[2], 0, "total", "not_known"), 1);
    assert_int_equal(at(&f[3], 0, "therapeutic_community", "not_completed"), 1);
    assert_int_equal(at(&f[3], 1, "twelve_step", "completed"), 1); /* short */
    assert_int_equal(at(&f[3], 2, "total", "total"), 1);           /* long */
    assert_int_equal(at(&f[3], 0, "total", "total"), 2);
    assert_int_equal(at(&f[4], 0, "short", "within_28"), 1); /* detox phase only */
    assert_int_equal(at(&f[4], 0, "total", "total"), 1);
    /* derived, row residential_community (4) and total (9) of 40.1: rate, median of 26, 273 */
    assert_int_equal(rpt_outcome_value(&f[1], 0, 4, 0, 1, &x, &defined), 0);
    assert_true(defined && x == 50.0);
    assert_int_equal(rpt_outcome_value(&f[1], 0, 4, 1, 1, &x, &defined), 0);
    assert_true(defined && x == 149.5);
    assert_int_equal(rpt_outcome_value(&f[1], 0, 9, 1, 1, &x, &defined), 0);
    assert_true(defined && x == 26.0);                                       /* 10, 26, 273 */
    assert_int_equal(rpt_outcome_value(&f[1], 0, 4, 1, 3, &x, &defined), 1); /* 2 < 3 */
    assert_int_equal(rpt_outcome_value(&f[1], 0, 5, 1, 1, &x, &defined), 0);
    assert_false(defined);                             /* none discharged from hospital */
    f[1].suppressed[dc_cell(&f[1].grid, 0, 4, 0)] = 1; /* completed hidden: so is its rate */
    assert_int_equal(rpt_outcome_value(&f[1], 0, 4, 0, 1, &x, &defined), 1);
    for (size_t k = 0; k < 6; k++)
        rpt_family_free(&f[k]);
}

/* Suppression never has to hide a grand total within a shipped table: every relation has no or
 * at least two cells that are not a grand total. */
typedef struct protectable {
    const dc_grid *g;
    const char *id;
} protectable;

static void check_protectable(void *ctx, size_t total, const size_t *m, size_t n, int exact)
{
    protectable *p = ctx;
    size_t k = dc_grid_grand_total(p->g, total) != total;

    (void)exact;
    for (size_t i = 0; i < n; i++)
        k += dc_grid_grand_total(p->g, m[i]) != m[i];
    if (k == 1)
        fail_msg("table %s: a relation with a single cell that is not a grand total", p->id);
}

static void shipped_tables_are_protectable(void **state)
{
    (void)state;
    for (size_t i = 0; i < rpt_nfamilies; i++) {
        rpt_family f;
        protectable p;

        assert_int_equal(rpt_family_init(&f, &rpt_families[i]), TDI_OK);
        p = (protectable){&f.grid, f.def->id};
        assert_int_equal(dc_grid_relations(&f.grid, check_protectable, &p), TDI_OK);
        rpt_family_free(&f);
    }
}

/* ---- suppression across linked tables ---- */

/* Family k and its cell of set number i. */
static const rpt_family *cell_of(const tableset *ts, size_t i, size_t *local)
{
    size_t k = 0;

    while (ts->off[k + 1] <= i)
        k++;
    *local = i - ts->off[k];
    return &ts->f[k];
}

static void cell_name(const tableset *ts, size_t i, char *buf, size_t len)
{
    size_t local;
    const rpt_family *f = cell_of(ts, i, &local);
    size_t c = local % f->cols.n, r = local / f->cols.n % f->rows.n;
    size_t v = local / f->cols.n / f->rows.n;

    snprintf(buf, len, "%s.%zu %s %s", f->def->id, v + (size_t)f->def->first, f->rows.code[r],
             f->cols.code[c]);
}

/* Cells that count the same records, found from the data alone: over many random records, each
 * cell's record set is summed up by its size and two hashes of the record numbers. Cells with
 * fewer than 15 of the sample's records are left out: two of those may hold the same few records
 * by chance. */
typedef struct fingerprint {
    unsigned long n;
    uint64_t h1, h2;
} fingerprint;

static size_t data_equal_pairs(size_t **pairs_out)
{
    tableset ts = {0};
    fingerprint *fp;
    unsigned long *before;
    size_t ncells, npairs = 0, *pairs;

    tableset_init(&ts);
    ncells = ts.off[rpt_nfamilies];
    fp = calloc(ncells, sizeof *fp);
    before = calloc(ncells, sizeof *before);
    pairs = calloc(2 * ncells * 4, sizeof *pairs);
    assert_non_null(fp);
    assert_non_null(before);
    assert_non_null(pairs);
    for (uint64_t k = 1; k <= 20000; k++) {
        tdi_record rec = random_record();
        uint64_t a = k * 0x9E3779B97F4A7C15ULL, b = (k ^ 0x5bd1e995ULL) * 0xC2B2AE3D27D4EB4FULL;
        for (size_t f = 0; f < rpt_nfamilies; f++) {
            size_t n = ts.off[f + 1] - ts.off[f];
            memcpy(before + ts.off[f], ts.f[f].value, n * sizeof *before);
            rpt_family_add(&ts.f[f], &rec);
            rpt_family_sum(&ts.f[f]);
            for (size_t i = 0; i < n; i++)
                if (ts.f[f].value[i] != before[ts.off[f] + i]) {
                    fingerprint *p = &fp[ts.off[f] + i];
                    p->n++;
                    p->h1 += a;
                    p->h2 ^= b;
                }
        }
    }
    /* quadratic, but on a few thousand cells */
    for (size_t i = 0; i < ncells; i++)
        for (size_t j = i + 1; j < ncells && fp[i].n >= 15; j++)
            if (fp[i].n == fp[j].n && fp[i].h1 == fp[j].h1 && fp[i].h2 == fp[j].h2) {
                assert_true(npairs < ncells * 4);
                pairs[2 * npairs] = i;
                pairs[2 * npairs++ + 1] = j;
            }
    free(fp);
    free(before);
    tableset_free(&ts);
    *pairs_out = pairs;
    return npairs;
}

/* Every relation: exactly one suppressed cell gives it away. */
static void check_relation(const tableset *ts, const unsigned char *sup, size_t total,
                           const size_t *m, size_t n)
{
    size_t hidden = sup[total], last = total;
    char name[96];

    for (size_t k = 0; k < n; k++)
        if (sup[m[k]]) {
            hidden++;
            last = m[k];
        }
    if (hidden == 1) {
        cell_name(ts, last, name, sizeof name);
        fail_msg("%s is the only suppressed cell of a relation", name);
    }
}

static void check_measure_links(const tableset *ts, const unsigned char *sup)
{
    static const struct {
        const char *stats, *counts, *measure;
    } links[] = {
        {"11.1.1", "12.1.1", "age"},       {"11.1.2", "12.1.2", "age"},
        {"11.1.3", "12.1.3", "age"},       {"11.1.1", "21.1.1", "first_use"},
        {"11.1.2", "21.1.2", "first_use"}, {"11.1.3", "21.1.3", "first_use"},
    };
    const rpt_family *drugs = &ts->f[1]; /* 9.1: the 33 drug rows */

    assert_string_equal(drugs->def->id, "9.1");
    for (size_t k = 0; k < sizeof links / sizeof links[0]; k++)
        for (size_t r = 0; r < drugs->rows.n; r++) {
            const char *row = drugs->rows.code[r];
            size_t m[2] = {find_cell(ts, links[k].counts, row, "99"),
                           find_cell(ts, links[k].stats, row, links[k].measure)};
            check_relation(ts, sup, find_cell(ts, links[k].counts, row, "total"), m, 2);
        }
}

static void linked_suppression_property(void **state)
{
    size_t *pairs, npairs = data_equal_pairs(&pairs), small_public = 0, small_totals = 0,
                   suppressed = 0;
    char name[96];

    (void)state;
    /* The links the data shows: 8.1.1's status rows are margins of 9.1.2 and 9.1.3; table 10's
     * single-code drug rows (6, 9, 99) by sex are margins of tables 14 and 15 (males, females). */
    assert_true(npairs > 14);
    for (int round = 0; round < 40; round++) {
        tableset ts = {0};
        dc_grid *grids[64];
        dc_set *set;
        unsigned records = 60 + rnd(500), threshold = 2 + rnd(9);
        size_t ncells, m[64];
        unsigned char *sup;

        tableset_init(&ts);
        ncells = ts.off[rpt_nfamilies];
        for (unsigned k = 0; k < records; k++) {
            tdi_record rec = random_record();
            for (size_t f = 0; f < rpt_nfamilies; f++)
                rpt_family_add(&ts.f[f], &rec);
        }
        for (size_t f = 0; f < rpt_nfamilies; f++) {
            rpt_family_sum(&ts.f[f]);
            grids[f] = &ts.f[f].grid;
        }
        set = dc_set_new(grids, rpt_nfamilies);
        assert_non_null(set);
        assert_int_equal(rpt_link_tables(ts.f, rpt_nfamilies, set), TDI_OK);
        assert_int_equal(dc_set_suppress(set, threshold, NULL), TDI_OK);
        sup = calloc(ncells, 1);
        assert_non_null(sup);
        for (size_t f = 0; f < rpt_nfamilies; f++)
            memcpy(sup + ts.off[f], ts.f[f].suppressed, ts.off[f + 1] - ts.off[f]);

        for (size_t i = 0; i < ncells; i++) {
            size_t local;
            const rpt_family *f = cell_of(&ts, i, &local);
            unsigned long v = f->value[local];
            int grand = dc_grid_grand_total(&f->grid, local) == local;

            cell_name(&ts, i, name, sizeof name);
            /* no count from 1 to threshold - 1 but a grand total, subtotals and totals too */
            if (!grand && v > 0 && v < threshold && !sup[i])
                fail_msg("%s = %lu published at threshold %u", name, v, threshold);
            small_public += grand && v > 0 && v < threshold && !sup[i];
            small_totals += !grand && v > 0 && v < threshold &&
                            (f->rows.gaggregate[local / f->cols.n % f->rows.n] ||
                             f->cols.gaggregate[local % f->cols.n]);
            suppressed += sup[i];
        }
        /* Rows, columns and variant sums of each table, as the dimensions say. */
        for (size_t fi = 0; fi < rpt_nfamilies; fi++) {
            const rpt_family *f = &ts.f[fi];
            for (size_t v = 0; v < f->def->nvariants; v++) {
                for (size_t r = 0; r < f->rows.n; r++)
                    for (size_t a = 0; a < f->cols.n; a++) {
                        size_t n = 0;
                        for (size_t c = 0; c < f->cols.n; c++)
                            if (f->grid.cols.parent[c] == (int)a)
                                m[n++] = ts.off[fi] + dc_cell(&f->grid, v, r, c);
                        if (n)
                            check_relation(&ts, sup, ts.off[fi] + dc_cell(&f->grid, v, r, a), m, n);
                    }
                for (size_t c = 0; c < f->cols.n; c++)
                    for (size_t a = 0; a < f->rows.n; a++) {
                        size_t n = 0;
                        for (size_t r = 0; r < f->rows.n; r++)
                            if (f->grid.rows.parent[r] == (int)a)
                                m[n++] = ts.off[fi] + dc_cell(&f->grid, v, r, c);
                        if (n)
                            check_relation(&ts, sup, ts.off[fi] + dc_cell(&f->grid, v, a, c), m, n);
                    }
            }
            if (f->def->variant_sum)
                for (size_t r = 0; r < f->rows.n; r++)
                    for (size_t c = 0; c < f->cols.n; c++) {
                        for (size_t v = 1; v < f->def->nvariants; v++)
                            m[v - 1] = ts.off[fi] + dc_cell(&f->grid, v, r, c);
                        check_relation(&ts, sup, ts.off[fi] + dc_cell(&f->grid, 0, r, c), m,
                                       f->def->nvariants - 1);
                    }
            for (size_t k = 0; k < f->def->nvrel; k++)
                for (size_t r = 0; r < f->rows.n; r++)
                    for (size_t c = 0; c < f->cols.n; c++) {
                        const dc_vrel *vr = &f->def->vrel[k];
                        for (size_t j = 0; j < vr->n; j++)
                            m[j] = ts.off[fi] + dc_cell(&f->grid, vr->member[j], r, c);
                        check_relation(&ts, sup, ts.off[fi] + dc_cell(&f->grid, vr->total, r, c), m,
                                       vr->n);
                    }
        }
        /* Table 11's numbers of ages (first use) against table 12 (21): total = not known + N. */
        check_measure_links(&ts, sup);
        /* Across tables: cells that count the same records are both published or both not. */
        for (size_t k = 0; k < npairs; k++)
            if (sup[pairs[2 * k]] != sup[pairs[2 * k + 1]]) {
                char other[96];
                cell_name(&ts, pairs[2 * k], name, sizeof name);
                cell_name(&ts, pairs[2 * k + 1], other, sizeof other);
                fail_msg("%s and %s count the same records; one is suppressed", name, other);
            }
        free(sup);
        dc_set_free(set);
        tableset_free(&ts);
    }
    /* The generator must exercise what it claims to. */
    assert_true(small_public > 20);  /* small grand totals, published */
    assert_true(small_totals > 200); /* small subtotals and margins, suppressed */
    assert_true(suppressed > 5000);
    free(pairs);
}

/* The whole of a small file, NUL-terminated, into buf. */
/* How often needle occurs in text. */
static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void read_text(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "r");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, cap - 1, fp);
    fclose(fp);
    buf[n] = '\0';
}

/* Publishing: the file validates (report_validate_file runs inside), the manifest says what it
 * holds, and the suppressed cells carry no value. */
static void publish_tables(void **state)
{
    char dir[] = "/tmp/tdi-test-tables-XXXXXX", path[256];
    static char text[1 << 21]; /* the whole tables file */
    report_meta meta = {.schema_dir = TDI_SCHEMA_DIR,
                        .run_id = RUN_ID,
                        .run_no = 3,
                        .generated = GENERATED,
                        .year = 2025,
                        .gzip_level = 1};
    report_tables *t = NULL;
    report_published pub;
    tdi_record heroin = record("1.1", "1", "1", 34);
    size_t hidden = 0;
    test_log tl;

    (void)state;
    assert_non_null(mkdtemp(dir));
    meta.output_dir = dir;
    assert_int_equal(report_tables_open(&meta, "flanders", 5, &t), TDI_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(report_tables_add(t, &heroin), TDI_OK);
    heroin.code[TDI_ITEM_SEX] = 200;
    test_log_start(&tl);
    assert_int_equal(report_tables_add(t, &heroin), TDI_ERR_INTERNAL);
    test_log_stop();
    assert_string_equal(tl.text, "tables flanders: record e1:00000000000000000000000000000001: "
                                 "sex code index out of range\n");
    /* records, not entrants: a later start, and gambling (not ranked: the population decides) */
    heroin.code[TDI_ITEM_SEX] = 0;
    heroin.entrant = TDI_ENTRANT_NO;
    heroin.client = 0;
    assert_int_equal(report_tables_add(t, &heroin), TDI_OK);
    heroin.entrant = TDI_ENTRANT_UNRANKED;
    set_code(&heroin, TDI_ITEM_PRIMARY_DRUG, "gambling");
    assert_int_equal(report_tables_add(t, &heroin), TDI_OK);
    assert_int_equal(report_tables_publish(t, &pub, &hidden), TDI_OK);
    assert_int_equal(pub.records, 9);
    assert_int_equal(pub.entrants, 7);
    assert_int_equal(hidden, 0); /* 7 is not below 5; every other interior cell is 0 */
    snprintf(path, sizeof path, "%s/flanders/tdi-flanders-2025-" RUN_ID ".tables.xml", dir);
    assert_string_equal(pub.path, path);
    assert_int_equal(report_validate_file(pub.path, TDI_SCHEMA_DIR), TDI_OK);
    read_text(pub.path, text, sizeof text);
    assert_non_null(strstr(text, " threshold=\"5\" suppressedCells=\"0\" records=\"9\" "
                                 "entrants=\"7\">\n"));
    assert_non_null(strstr(text, "<table id=\"9.1.2\" title=\"Primary drug by type of treatment "
                                 "centre: Never previously treated\" variant=\"never_treated\" "
                                 "rows=\"primary_drug\" columns=\"centre_type\">\n"));
    assert_non_null(strstr(text, "\n<cell row=\"1.1\" column=\"1\" value=\"7\"/>\n"));
    assert_null(strstr(text, "<suppressed"));
    /* table 11: mean, SD and number of the seven ages of 34; no first use recorded */
    assert_non_null(strstr(text, "<table id=\"11.1.4\" title=\"Primary drug by mean age at "
                                 "entering treatment, at first use, and lag to treatment: All "
                                 "treatment entrants, males\" variant=\"male\" "
                                 "rows=\"primary_drug\" columns=\"statistics\">\n"));
    assert_non_null(strstr(text, "\n<cell row=\"1.1\" column=\"age_mean\" value=\"34.00\"/>\n"
                                 "<cell row=\"1.1\" column=\"age_sd\" value=\"0.00\"/>\n"
                                 "<cell row=\"1.1\" column=\"age_n\" value=\"7\"/>\n"
                                 "<empty row=\"1.1\" column=\"first_use_mean\"/>\n"
                                 "<empty row=\"1.1\" column=\"first_use_sd\"/>\n"
                                 "<cell row=\"1.1\" column=\"first_use_n\" value=\"0\"/>\n"));
    read_text(pub.manifest, text, sizeof text);
    assert_non_null(strstr(text,
                           "\"records\":9,\"entrants\":7,\"population\":\"entrants (TDI "
                           "population: first start for a drug)\",\"tables\":81,"
                           "\"threshold\":5,\"suppressedCells\":0,\"schemaVersion\":\"1.0\","));
    assert_non_null(strstr(text, "\"runId\":\"" RUN_ID "\",\"runNo\":3,"));

    /* Threshold 10: the 7s are suppressed, and so much else that nothing gives them away. */
    assert_int_equal(report_tables_open(&meta, "small", 10, &t), TDI_OK);
    set_code(&heroin, TDI_ITEM_PRIMARY_DRUG, "1.1");
    heroin.entrant = TDI_ENTRANT_YES;
    heroin.client = 1;
    for (int i = 0; i < 7; i++)
        assert_int_equal(report_tables_add(t, &heroin), TDI_OK);
    assert_int_equal(report_tables_publish(t, &pub, &hidden), TDI_OK);
    assert_true(hidden > 0);
    read_text(pub.path, text, sizeof text);
    assert_non_null(strstr(text, "\n<suppressed row=\"1.1\" column=\"1\"/>\n"));
    /* every count is 7, under 10: the drug's row totals too (any-drug tables included); only
     * a grand total may be published under the threshold (43.1.1's), and most are suppressed,
     * since the zeros beside them would give the 7 away */
    assert_int_equal(occurrences(text, "column=\"total\" value=\"7\"/>"),
                     occurrences(text, "row=\"total\" column=\"total\" value=\"7\"/>"));
    assert_non_null(strstr(text, "\n<suppressed row=\"total\" column=\"total\"/>\n"));
    /* table 11: the number of a drug is suppressed, so are its mean and SD; so is the total's
     * number: 12.1.1's grand total (7, the header's entrants: public) = its not-known column
     * (0, suppressed) + 11.1.1's total age_n + records without an age, and the one cell left to
     * pair the 0 with is that number (it was 12.1.1's grand total, which the header gives) */
    assert_non_null(strstr(text, "\n<suppressed row=\"1.1\" column=\"age_mean\"/>\n"
                                 "<suppressed row=\"1.1\" column=\"age_sd\"/>\n"
                                 "<suppressed row=\"1.1\" column=\"age_n\"/>\n"));
    assert_non_null(strstr(text, "\n<suppressed row=\"total\" column=\"age_mean\"/>\n"
                                 "<suppressed row=\"total\" column=\"age_sd\"/>\n"
                                 "<suppressed row=\"total\" column=\"age_n\"/>\n"));
    /* no all-entrants table's grand total is suppressed: 9.1.1's is 7 */
    assert_non_null(strstr(text, "<table id=\"9.1.1\""));
    assert_non_null(strstr(strstr(text, "<table id=\"9.1.1\""),
                           "<cell row=\"total\" column=\"total\" value=\"7\"/>"));
    report_tables_abort(NULL);
    test_fs_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dimensions_are_the_workbooks),
        cmocka_unit_test(records_count_in_cells_and_aggregates),
        cmocka_unit_test(outcome_tables_count_discharges),
        cmocka_unit_test(shipped_tables_are_protectable),
        cmocka_unit_test(linked_suppression_property),
        cmocka_unit_test(publish_tables),
    };

    return cmocka_run_group_tests_name("tables", tests, NULL, NULL);
}
