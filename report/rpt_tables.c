/*
 * rpt_tables: owns the table definitions (data), the dimension builders and the counting of
 * records into a family's cells (see rpt_tables.h). Layout and titles follow the TDI workbook
 * (2022 template, ../shared/spec/tdi-workbook-cells.txt).
 */
#include "rpt_tables.h"

#include "../common/tdi_codes.h"
#include "../common/tdi_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the definitions ---- */

/* Records left out of every table: the TDI counts treatment for drugs; alcohol-primary records
 * stay in the submission (tdi-protocol.md, "Alcohol"). */
static const struct {
    tdi_item item;
    const char *code;
} outside_population[] = {
    {TDI_ITEM_PRIMARY_DRUG, "8"},
};

static const rpt_dim_def drug_rows = {"primary_drug", RPT_DIM_DRUG_TREE, TDI_ITEM_PRIMARY_DRUG,
                                      "8"};
static const rpt_dim_def status_rows = {"treatment_status", RPT_DIM_CODES,
                                        TDI_ITEM_TREATMENT_STATUS, NULL};
static const rpt_dim_def centre_cols = {"centre_type", RPT_DIM_CODES, TDI_ITEM_CENTRE_TYPE, NULL};
static const rpt_dim_def sex_cols = {"sex", RPT_DIM_CODES, TDI_ITEM_SEX, NULL};
static const rpt_dim_def age_cols = {"age_group", RPT_DIM_AGE_BANDS, -1, NULL};
static const rpt_dim_def route_cols = {"route", RPT_DIM_CODES, TDI_ITEM_ROUTE, NULL};

/* .1 all entrants = .2 never treated + .3 previously treated + status not known. */
static const rpt_variant_def by_status[] = {
    {"all", "All treatment entrants", -1, NULL},
    {"never_treated", "Never previously treated", TDI_ITEM_TREATMENT_STATUS, "1"},
    {"previously_treated", "Previously treated", TDI_ITEM_TREATMENT_STATUS, "2"},
};

/* Table 8: .1 total = .2 males + .3 females + sex not known. */
static const rpt_variant_def by_sex[] = {
    {"all", "Total (male + female + not known)", -1, NULL},
    {"male", "Males", TDI_ITEM_SEX, "1"},
    {"female", "Females", TDI_ITEM_SEX, "2"},
};

const rpt_family_def rpt_families[] = {
    {"8.1", "Type of treatment centre by treatment status (number of cases)", &status_rows,
     &centre_cols, by_sex, COUNT(by_sex), 1},
    {"9.1", "Primary drug by type of treatment centre", &drug_rows, &centre_cols, by_status,
     COUNT(by_status), 1},
    {"10.1", "Primary drug by sex", &drug_rows, &sex_cols, by_status, COUNT(by_status), 1},
    {"12.1", "Primary drug by age at entering treatment", &drug_rows, &age_cols, by_status,
     COUNT(by_status), 1},
    {"19.1", "Primary drug by route of administration", &drug_rows, &route_cols, by_status,
     COUNT(by_status), 1},
};
const size_t rpt_nfamilies = COUNT(rpt_families);

/* ---- dimensions ---- */

#define AGE_BANDS 12 /* 0-14, 15-19, ..., 60-64, 65+ */

static int add_cat(rpt_dim *d, const char *code, int parent)
{
    if (d->n >= RPT_DIM_MAX || strlen(code) >= RPT_CODE_MAX)
        return -1;
    snprintf(d->code[d->n], RPT_CODE_MAX, "%s", code);
    d->parent[d->n] = parent;
    d->aggregate[d->n] = 0;
    return (int)d->n++;
}

/* The category whose code is code, or -1. */
static int find_cat(const rpt_dim *d, const char *code)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->code[i], code) == 0)
            return (int)i;
    return -1;
}

/* Categories of an item's code list; the total is added by the caller at the end, so parents
 * that mean "the total" are set to -2 here and fixed up then. */
static int build_item_dim(rpt_dim *d, const tdi_item_def *item)
{
    for (size_t i = 0; i < item->ncodes; i++) {
        const char *code = item->codes[i].code;
        const char *dot = strchr(code, '.');
        char group[RPT_CODE_MAX];
        int cat;

        if (d->def->skip && strcmp(code, d->def->skip) == 0)
            continue;
        if (!dot || d->def->kind == RPT_DIM_CODES) {
            cat = add_cat(d, code, -2);
        } else {
            /* "X.n": in the tree a category under X; in groups, counted in X itself */
            if ((size_t)(dot - code) >= sizeof group)
                return -1;
            memcpy(group, code, (size_t)(dot - code));
            group[dot - code] = '\0';
            cat = find_cat(d, group);
            if (cat < 0)
                return -1; /* the code list puts a group before its sub-codes */
            if (d->def->kind == RPT_DIM_DRUG_TREE) {
                d->aggregate[cat] = 1;
                cat = add_cat(d, code, cat);
            }
        }
        if (cat < 0 || i >= RPT_ITEM_CODES)
            return -1;
        d->entry[i] = cat;
    }
    return 0;
}

static int build_age_dim(rpt_dim *d)
{
    char code[32];

    if (add_cat(d, "0-14", -2) < 0)
        return -1;
    for (int lo = 15; lo < 65; lo += 5) {
        snprintf(code, sizeof code, "%d-%d", lo, lo + 4);
        if (add_cat(d, code, -2) < 0)
            return -1;
    }
    if (add_cat(d, "65+", -2) < 0 || add_cat(d, "99", -2) < 0)
        return -1;
    return 0;
}

static tdi_status build_dim(rpt_dim *d, const rpt_dim_def *def)
{
    const tdi_item_def *item = def->item >= 0 ? tdi_item_get((tdi_item)def->item) : NULL;
    int total, rc;

    memset(d, 0, sizeof *d);
    d->def = def;
    for (size_t i = 0; i < RPT_ITEM_CODES; i++)
        d->entry[i] = -1;
    if (def->kind == RPT_DIM_AGE_BANDS)
        rc = build_age_dim(d);
    else
        rc = item && item->ncodes <= RPT_ITEM_CODES ? build_item_dim(d, item) : -1;
    total = rc == 0 ? add_cat(d, "total", -1) : -1;
    if (total < 0) {
        tdi_error("table dimension %s does not fit its code list", def->name);
        return TDI_ERR_INTERNAL;
    }
    d->aggregate[total] = 1;
    for (size_t i = 0; i < d->n; i++)
        if (d->parent[i] == -2)
            d->parent[i] = total;
    return TDI_OK;
}

/* The category a record enters a dimension at, or -1 (not in this table: an item that does
 * not apply to the episode, or a code the dimension skips). */
static int entry_of(const rpt_dim *d, const tdi_record *rec)
{
    if (d->def->kind == RPT_DIM_AGE_BANDS) {
        if (rec->age == TDI_AGE_NOT_KNOWN || rec->age < 0)
            return AGE_BANDS; /* "99" */
        if (rec->age < 15)
            return 0;
        if (rec->age >= 65)
            return AGE_BANDS - 1;
        return 1 + (rec->age - 15) / 5;
    }
    if (rec->code[d->def->item] == TDI_CODE_NOT_APPLICABLE)
        return -1;
    return d->entry[rec->code[d->def->item]];
}

/* ---- families ---- */

tdi_status rpt_family_init(rpt_family *f, const rpt_family_def *def)
{
    size_t ncells;
    tdi_status st;

    memset(f, 0, sizeof *f);
    f->def = def;
    if (def->nvariants == 0 || def->nvariants > RPT_VARIANTS_MAX) {
        tdi_error("table %s: %zu variants", def->id, def->nvariants);
        return TDI_ERR_INTERNAL;
    }
    st = build_dim(&f->rows, def->rows);
    if (st == TDI_OK)
        st = build_dim(&f->cols, def->cols);
    if (st != TDI_OK)
        return st;
    for (size_t v = 0; v < def->nvariants; v++) {
        const rpt_variant_def *var = &def->variants[v];
        f->variant_code[v] = -1;
        if (var->item >= 0) {
            f->variant_code[v] = tdi_code_index(tdi_item_get((tdi_item)var->item), var->code);
            if (f->variant_code[v] < 0) {
                tdi_error("table %s: variant %s selects no code", def->id, var->name);
                return TDI_ERR_INTERNAL;
            }
        }
    }
    ncells = def->nvariants * f->rows.n * f->cols.n;
    f->value = calloc(ncells, sizeof *f->value);
    f->suppressed = calloc(ncells, 1);
    if (!f->value || !f->suppressed) {
        tdi_error("table %s: out of memory", def->id);
        rpt_family_free(f);
        return TDI_ERR_INTERNAL;
    }
    f->grid = (rpt_grid){
        .nvariants = def->nvariants,
        .variant_sum = def->variant_sum,
        .rows = {f->rows.n, f->rows.parent, f->rows.aggregate},
        .cols = {f->cols.n, f->cols.parent, f->cols.aggregate},
        .value = f->value,
        .suppressed = f->suppressed,
    };
    return TDI_OK;
}

void rpt_family_free(rpt_family *f)
{
    free(f->value);
    free(f->suppressed);
    f->value = NULL;
    f->suppressed = NULL;
}

int rpt_tables_population(const tdi_record *rec)
{
    for (size_t i = 0; i < COUNT(outside_population); i++) {
        const tdi_item_def *def = tdi_item_get(outside_population[i].item);
        if (strcmp(def->codes[rec->code[outside_population[i].item]].code,
                   outside_population[i].code) == 0)
            return 0;
    }
    return 1;
}

void rpt_family_add(rpt_family *f, const tdi_record *rec)
{
    int er = entry_of(&f->rows, rec), ec = entry_of(&f->cols, rec);

    if (er < 0 || ec < 0 || !rpt_tables_population(rec))
        return;
    for (size_t v = 0; v < f->def->nvariants; v++) {
        const rpt_variant_def *var = &f->def->variants[v];

        if (var->item >= 0 && rec->code[var->item] != (unsigned)f->variant_code[v])
            continue;
        /* the cell and every aggregate above it on both axes */
        for (int r = er; r >= 0; r = f->rows.parent[r])
            for (int c = ec; c >= 0; c = f->cols.parent[c])
                f->value[rpt_cell(&f->grid, v, (size_t)r, (size_t)c)]++;
    }
}
