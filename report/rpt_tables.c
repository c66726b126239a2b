/*
 * rpt_tables: owns the table definitions (data), the dimension builders and the counting of
 * records into a family's cells (see rpt_tables.h). Layout and titles follow the TDI workbook
 * (2022 template, ../shared/spec/tdi-workbook-cells.txt).
 */
#include "rpt_tables.h"

#include "rpt_outcome.h"

#include "../common/tdi_codes.h"
#include "../common/tdi_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the definitions ---- */

/* Dimensions: the 33 primary-drug rows, the 10 drug-group rows, and one per item. */
static const rpt_dim_def drug_rows = {
    "primary_drug", RPT_DIM_DRUG_TREE, TDI_ITEM_PRIMARY_DRUG, "8", NULL, 0, NULL};
static const rpt_dim_def group_rows = {
    "primary_drug_group", RPT_DIM_GROUPS, TDI_ITEM_PRIMARY_DRUG, "8", NULL, 0, NULL};
/* A dimension with a category per code of an item, then the total. */
#define CODES_DIM(var, name, item)                                                                 \
    static const rpt_dim_def var = {name, RPT_DIM_CODES, item, NULL, NULL, 0, NULL}
CODES_DIM(status_dim, "treatment_status", TDI_ITEM_TREATMENT_STATUS);
CODES_DIM(centre_dim, "centre_type", TDI_ITEM_CENTRE_TYPE);
CODES_DIM(sex_dim, "sex", TDI_ITEM_SEX);
CODES_DIM(age_dim, "age_band", TDI_ITEM_AGE_BAND);
CODES_DIM(route_dim, "route", TDI_ITEM_ROUTE);
CODES_DIM(referral_dim, "referral_source", TDI_ITEM_REFERRAL_SOURCE);
CODES_DIM(living_with_dim, "living_with", TDI_ITEM_LIVING_WITH);
CODES_DIM(children_dim, "living_with_children", TDI_ITEM_LIVING_WITH_CHILDREN);
CODES_DIM(living_where_dim, "living_where", TDI_ITEM_LIVING_WHERE);
CODES_DIM(education_dim, "education", TDI_ITEM_EDUCATION);
CODES_DIM(labour_dim, "labour_status", TDI_ITEM_LABOUR_STATUS);
CODES_DIM(frequency_dim, "frequency", TDI_ITEM_FREQUENCY);
CODES_DIM(first_use_dim, "first_use_age_band", TDI_ITEM_FIRST_USE_AGE_BAND);
CODES_DIM(first_injection_dim, "years_since_first_injection", TDI_ITEM_YEARS_SINCE_FIRST_INJECTION);
CODES_DIM(polydrug_dim, "polydrug", TDI_ITEM_POLYDRUG);
CODES_DIM(injecting_dim, "injecting", TDI_ITEM_INJECTING);
CODES_DIM(hiv_dim, "hiv_testing", TDI_ITEM_HIV_TESTING);
CODES_DIM(hcv_dim, "hcv_testing", TDI_ITEM_HCV_TESTING);
CODES_DIM(sharing_dim, "needle_sharing", TDI_ITEM_NEEDLE_SHARING);
CODES_DIM(ost_dim, "ost", TDI_ITEM_OST);

/* .1 all entrants = .2 never treated + .3 previously treated + status not known. */
static const rpt_variant_def by_status[] = {
    {"all", "All treatment entrants", -1, NULL, -1, NULL},
    {"never_treated", "Never previously treated", TDI_ITEM_TREATMENT_STATUS, "1", -1, NULL},
    {"previously_treated", "Previously treated", TDI_ITEM_TREATMENT_STATUS, "2", -1, NULL},
};

/* Tables 8, 14, 15: .1 total = .2 males + .3 females + sex not known. */
static const rpt_variant_def by_sex[] = {
    {"all", "Total (male + female + not known)", -1, NULL, -1, NULL},
    {"male", "Males", TDI_ITEM_SEX, "1", -1, NULL},
    {"female", "Females", TDI_ITEM_SEX, "2", -1, NULL},
};

/* A single table. */
static const rpt_variant_def all_only[] = {
    {"all", "All treatment entrants", -1, NULL, -1, NULL},
};

/* Table 25.1.1-25.1.5: one table per primary drug group; they add up to no published table (a
 * primary drug not known is in none of them). */
static const rpt_variant_def by_primary_group[] = {
    {"opioids", "Primary opioids", TDI_ITEM_PRIMARY_DRUG, "1 1.*", -1, NULL},
    {"cocaine", "Primary cocaine", TDI_ITEM_PRIMARY_DRUG, "2 2.*", -1, NULL},
    {"stimulants", "Primary stimulants other than cocaine", TDI_ITEM_PRIMARY_DRUG, "3 3.*", -1,
     NULL},
    {"cannabis", "Primary cannabis", TDI_ITEM_PRIMARY_DRUG, "7 7.*", -1, NULL},
    {"other", "Primary other drugs (hypnotics and sedatives, hallucinogens, inhalants, other)",
     TDI_ITEM_PRIMARY_DRUG, "4 4.* 5 5.* 6 9", -1, NULL},
};

/* The workbook's 12 groups of secondary drugs (table 25.1.1-25.1.5), in its order. */
#define SECONDARY_GRID                                                                             \
    {"heroin", "1.1"}, {"other_opioids", "1 1.2 1.3 1.4 1.5"}, {"cocaine", "2 2.1 2.3"},           \
        {"crack", "2.2"}, {"amphetamines", "3.1 3.2"}, {"cannabis", "7 7.*"},                      \
        {"stimulants", "3 3.3 3.4 3.5"}, {"hypnotics", "4 4.*"}, {"alcohol", "8"},                 \
        {"other", "5 5.* 6 9"}, {"none", "0"},                                                     \
    {                                                                                              \
        "99", "99"                                                                                 \
    }
static const rpt_map_cat secondary_grid[] = {SECONDARY_GRID};
static const rpt_dim_def second_grid_dim = {
    "secondary_drug_2_group", RPT_DIM_MAP, TDI_ITEM_SECONDARY_DRUG_2, NULL, secondary_grid,
    COUNT(secondary_grid),    NULL};
static const rpt_dim_def first_grid_dim = {
    "secondary_drug_1_group", RPT_DIM_MAP, TDI_ITEM_SECONDARY_DRUG_1, NULL, secondary_grid,
    COUNT(secondary_grid),    NULL};

/* Tables 22 and 25.1.6: any drug a record uses. A secondary drug slot not known counts nowhere;
 * in 25.1.6 a first secondary drug not known counts in row 99. */
static const rpt_also secondary_drugs = {{TDI_ITEM_SECONDARY_DRUG_1, TDI_ITEM_SECONDARY_DRUG_2,
                                          TDI_ITEM_SECONDARY_DRUG_3, TDI_ITEM_SECONDARY_DRUG_4},
                                         4,
                                         "99"};
static const rpt_also later_secondary_drugs = {
    {TDI_ITEM_SECONDARY_DRUG_2, TDI_ITEM_SECONDARY_DRUG_3, TDI_ITEM_SECONDARY_DRUG_4}, 3, "99"};
static const rpt_dim_def any_drug_rows = {
    "any_drug", RPT_DIM_DRUG_TREE, TDI_ITEM_PRIMARY_DRUG, "8", NULL, 0, &secondary_drugs};
static const rpt_dim_def secondary_rows = {
    "secondary_drug",      RPT_DIM_DRUG_TREE, TDI_ITEM_SECONDARY_DRUG_1, "0", NULL, 0,
    &later_secondary_drugs};
static const rpt_dim_def primary_cols = {
    "primary_drug", RPT_DIM_DRUG_TREE, TDI_ITEM_PRIMARY_DRUG, "8", NULL, 0, NULL};

/* Table 29.1.2's drug rows. */
static const rpt_map_cat ost_drug_groups[] = {
    {"heroin", "1.1"},       {"other_opioids", "1 1.2 1.3 1.4 1.5"}, {"cocaine", "2 2.*"},
    {"stimulants", "3 3.*"}, {"other", "4 4.* 5 5.* 6 7 7.* 9"},     {"99", "99"},
};
static const rpt_dim_def ost_drug_dim = {
    "primary_drug_ost_group", RPT_DIM_MAP, TDI_ITEM_PRIMARY_DRUG, "8", ost_drug_groups,
    COUNT(ost_drug_groups),   NULL};
CODES_DIM(ost_years_dim, "years_since_first_ost", TDI_ITEM_YEARS_SINCE_FIRST_OST);

/* Table 11: its nine variants, all / never / previously treated for all, males, females. */
static const rpt_variant_def by_sex_and_status[] = {
    {"all", "All treatment entrants, total", -1, NULL, -1, NULL},
    {"never_treated", "Never previously treated, total", TDI_ITEM_TREATMENT_STATUS, "1", -1, NULL},
    {"previously_treated", "Previously treated, total", TDI_ITEM_TREATMENT_STATUS, "2", -1, NULL},
    {"male", "All treatment entrants, males", TDI_ITEM_SEX, "1", -1, NULL},
    {"male_never_treated", "Never previously treated, males", TDI_ITEM_SEX, "1",
     TDI_ITEM_TREATMENT_STATUS, "1"},
    {"male_previously_treated", "Previously treated, males", TDI_ITEM_SEX, "1",
     TDI_ITEM_TREATMENT_STATUS, "2"},
    {"female", "All treatment entrants, females", TDI_ITEM_SEX, "2", -1, NULL},
    {"female_never_treated", "Never previously treated, females", TDI_ITEM_SEX, "2",
     TDI_ITEM_TREATMENT_STATUS, "1"},
    {"female_previously_treated", "Previously treated, females", TDI_ITEM_SEX, "2",
     TDI_ITEM_TREATMENT_STATUS, "2"},
};
/* all = never + previously (+ status not known); total = males + females (+ sex not known) */
static const dc_vrel sex_and_status_sums[] = {
    {0, 2, {1, 2}, 0}, {3, 2, {4, 5}, 0}, {6, 2, {7, 8}, 0},
    {0, 2, {3, 6}, 0}, {1, 2, {4, 7}, 0}, {2, 2, {5, 8}, 0},
};

static int age_value(const tdi_record *rec)
{
    return rec->age >= 0 ? rec->age : -1;
}

static int first_use_value(const tdi_record *rec)
{
    return rec->first_use_age >= 0 ? rec->first_use_age : -1;
}

/* Years from first use to this treatment; a first use after the start is no value. */
static int lag_value(const tdi_record *rec)
{
    return rec->age >= 0 && rec->first_use_age >= 0 && rec->age >= rec->first_use_age
               ? rec->age - rec->first_use_age
               : -1;
}

static const rpt_measure ages[] = {
    {"age", age_value, "12.1", "99"},
    {"first_use", first_use_value, "21.1", "99"},
    {"lag", lag_value, NULL, NULL},
};

#define FAMILY_OF(id, first, title, rows, cols, variants, sum, extra)                              \
    {                                                                                              \
        id, title, &rows, &cols, variants, COUNT(variants), sum, first, NULL, 0, NULL, 0,          \
            RPT_BASE_ENTRANTS, NULL, 0, extra                                                      \
    }
#define FAMILY_AT(id, first, title, rows, cols, variants, sum)                                     \
    FAMILY_OF(id, first, title, rows, cols, variants, sum, 0)
#define FAMILY(id, title, rows, cols, variants)                                                    \
    FAMILY_AT(id, 1, title, rows, cols, variants, COUNT(variants) > 1)

/* The workbook's tables, one line each. */
const rpt_family_def rpt_families[] = {
    FAMILY("8.1", "Type of treatment centre by treatment status (number of cases)", status_dim,
           centre_dim, by_sex),
    FAMILY("9.1", "Primary drug by type of treatment centre", drug_rows, centre_dim, by_status),
    FAMILY("10.1", "Primary drug by sex", drug_rows, sex_dim, by_status),
    {"11.1", "Primary drug by mean age at entering treatment, at first use, and lag to treatment",
     &drug_rows, NULL, by_sex_and_status, COUNT(by_sex_and_status), 0, 1, sex_and_status_sums,
     COUNT(sex_and_status_sums), ages, COUNT(ages), RPT_BASE_ENTRANTS, NULL, 0, 0},
    FAMILY("12.1", "Primary drug by age at entering treatment", drug_rows, age_dim, by_status),
    FAMILY("13.1", "Primary drug by source of referral", group_rows, referral_dim, by_status),
    FAMILY("14.1", "Primary drug by living status (with whom)", group_rows, living_with_dim,
           by_sex),
    FAMILY("15.1", "Primary drug by living status (with children)", group_rows, children_dim,
           by_sex),
    FAMILY("16.1", "Primary drug by living status (where)", group_rows, living_where_dim,
           by_status),
    FAMILY("17.1", "Primary drug by educational level", group_rows, education_dim, by_status),
    FAMILY("18.1", "Primary drug by labour status", group_rows, labour_dim, by_status),
    FAMILY("19.1", "Primary drug by route of administration", drug_rows, route_dim, by_status),
    FAMILY("20.1", "Primary drug by frequency of use", drug_rows, frequency_dim, by_status),
    FAMILY("21.1", "Primary drug by age at first use", drug_rows, first_use_dim, by_status),
    FAMILY("22.1", "Any drug used (primary or secondary) by injecting behaviour", any_drug_rows,
           injecting_dim, by_status),
    FAMILY("23.1", "Age at entering treatment by years since first injection (ever injectors)",
           age_dim, first_injection_dim, by_status),
    FAMILY("24.1", "Polydrug use problem by treatment status", status_dim, polydrug_dim, all_only),
    FAMILY("26.1", "HIV testing by injecting behaviour", hiv_dim, injecting_dim, by_status),
    FAMILY("27.1", "HCV testing by injecting behaviour", hcv_dim, injecting_dim, by_status),
    FAMILY("28.1", "Needle or syringe sharing by injecting behaviour", sharing_dim, injecting_dim,
           all_only),
    FAMILY_AT("25.1", 1, "Second by first secondary drug", second_grid_dim, first_grid_dim,
              by_primary_group, 0),
    FAMILY_AT("25.1", 6, "Secondary drugs by primary drug", secondary_rows, primary_cols, all_only,
              0),
    FAMILY("29.1", "Primary drug by OST status", drug_rows, ost_dim, all_only),
    FAMILY_AT("29.1", 2, "Primary drug by years since first OST (persons ever in OST)",
              ost_drug_dim, ost_years_dim, all_only, 0),
    /* Residential outcomes (rpt_outcome.h): episodes discharged in the year, not entrants. Extra
     * tables from here on: protected after the TDI tables (rpt_family_def.extra). */
    RPT_OUTCOME("40.1", "Discharged episodes by setting class and completion", rpt_setting_rows,
                rpt_completion_cols, rpt_discharged_all, rpt_completion_derived),
    RPT_OUTCOME("40.2", "Discharged episodes by setting class and referral to aftercare",
                rpt_setting_rows, rpt_aftercare_cols, rpt_discharged_all, rpt_aftercare_derived),
    RPT_OUTCOME("41.1", "Discharged residential episodes by approach and completion",
                rpt_approach_rows, rpt_completion_cols, rpt_by_duration, rpt_completion_derived),
    RPT_OUTCOME("41.2", "Discharged residential episodes by approach and referral to aftercare",
                rpt_approach_rows, rpt_aftercare_cols, rpt_by_duration, rpt_aftercare_derived),
    {"42.1", "Discharged residential episodes by planned duration and stay against 28 days",
     &rpt_duration_rows, &rpt_stay_cols, rpt_detox_only, 1, 0, 1, NULL, 0, NULL, 0,
     RPT_BASE_DISCHARGED, NULL, 0, 1},
    /* Clients in treatment (each person once) and residential entrants (rpt_outcome.h). */
    {"43.1", "Clients in treatment by type of treatment centre", &rpt_centre_rows, &rpt_client_cols,
     rpt_clients_all, 1, 0, 1, NULL, 0, NULL, 0, RPT_BASE_CLIENTS, NULL, 0, 1},
    FAMILY_OF("43.2", 1, "Residential treatment entrants by approach and planned duration",
              rpt_approach_rows, rpt_duration_rows, rpt_residential_entrants,
              COUNT(rpt_residential_entrants) > 1, 1),
};
const size_t rpt_nfamilies = COUNT(rpt_families);

/* ---- dimensions ---- */

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

/* The code indexes of item named by list (rpt_map_cat.members) into *set; -1 when a name is
 * not a code of the item. */
static int code_set(const tdi_item_def *item, const char *list, uint64_t *set)
{
    char name[RPT_CODE_MAX];

    *set = 0;
    while (*list) {
        size_t len = strcspn(list, " ");
        int found = 0;

        if (len == 0 || len >= sizeof name)
            return -1;
        memcpy(name, list, len);
        name[len] = '\0';
        for (size_t i = 0; i < item->ncodes && i < RPT_ITEM_CODES; i++) {
            const char *code = item->codes[i].code;
            /* "X.*": every code "X.n" */
            int match = len > 2 && strcmp(name + len - 2, ".*") == 0
                            ? strncmp(code, name, len - 1) == 0 && code[len - 1] != '\0'
                            : strcmp(code, name) == 0;
            if (match) {
                *set |= UINT64_C(1) << i;
                found = 1;
            }
        }
        if (!found)
            return -1;
        list += len;
        list += strspn(list, " ");
    }
    return 0;
}

/* 1 when code i of the dimension's item has no category: the skipped code, or a primary drug
 * outside the TDI population (tdi_in_population()), which no table counts. */
static int skipped(const rpt_dim *d, const tdi_item_def *item, size_t i)
{
    return (d->def->skip && strcmp(item->codes[i].code, d->def->skip) == 0) ||
           (d->def->item == TDI_ITEM_PRIMARY_DRUG && !tdi_in_population((unsigned)i));
}

/* Categories of a map: each code of the item in exactly one, but the skipped codes in none. */
static int build_map_dim(rpt_dim *d, const tdi_item_def *item)
{

    for (size_t k = 0; k < d->def->nmap; k++) {
        int cat = add_cat(d, d->def->map[k].code, -2);
        uint64_t set;

        if (cat < 0 || code_set(item, d->def->map[k].members, &set) < 0)
            return -1;
        for (size_t i = 0; i < item->ncodes; i++)
            if (set >> i & 1) {
                if (d->entry[i] >= 0 || skipped(d, item, i))
                    return -1;
                d->entry[i] = cat;
            }
    }
    for (size_t i = 0; i < item->ncodes; i++)
        if (d->entry[i] < 0 && !skipped(d, item, i))
            return -1;
    return 0;
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

        if (skipped(d, item, i))
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

/* The codes of def->also's items, by their text in the dimension item's list; and the axis
 * suppression sees. */
static tdi_status build_also(rpt_dim *d, const tdi_item_def *item, int total)
{
    const rpt_also *also = d->def->also;

    for (size_t i = 0; i < d->n; i++) {
        d->gparent[i] = also ? -1 : d->parent[i];
        d->gaggregate[i] = also ? (int)i == total : d->aggregate[i];
    }
    for (size_t k = 0; also && k < also->nitems; k++) {
        const tdi_item_def *other = k < 4 ? tdi_item_get((tdi_item)also->items[k]) : NULL;
        if (!other || other->ncodes > RPT_ITEM_CODES) {
            tdi_error("table dimension %s: bad item list", d->def->name);
            return TDI_ERR_INTERNAL;
        }
        for (size_t i = 0; i < RPT_ITEM_CODES; i++) {
            int own = i < other->ncodes ? tdi_code_index(item, other->codes[i].code) : -1;
            d->also_entry[k][i] =
                own < 0 || (also->skip && strcmp(other->codes[i].code, also->skip) == 0)
                    ? -1
                    : d->entry[own];
        }
    }
    return TDI_OK;
}

/* rpt_dim.up: each category with the aggregates above it. */
static void set_up(rpt_dim *d)
{
    for (size_t i = 0; i < d->n; i++)
        for (int r = (int)i; r >= 0; r = d->parent[r])
            d->up[i] |= UINT64_C(1) << r;
}

static tdi_status build_dim(rpt_dim *d, const rpt_dim_def *def)
{
    const tdi_item_def *item =
        def->kind == RPT_DIM_CONTINUING ? NULL : tdi_item_get((tdi_item)def->item);
    int total, rc = 0;

    memset(d, 0, sizeof *d);
    d->def = def;
    for (size_t i = 0; i < RPT_ITEM_CODES; i++)
        d->entry[i] = -1;
    for (size_t k = 0; def->kind == RPT_DIM_CONTINUING && k < def->nmap; k++)
        rc |= add_cat(d, def->map[k].code, -2) < 0 || def->nmap != 2;
    if (def->kind != RPT_DIM_CONTINUING)
        rc = !item || item->ncodes > RPT_ITEM_CODES ? -1
             : def->kind == RPT_DIM_MAP             ? build_map_dim(d, item)
                                                    : build_item_dim(d, item);
    total = rc == 0 ? add_cat(d, "total", -1) : -1;
    if (total < 0) {
        tdi_error("table dimension %s does not fit its code list", def->name);
        return TDI_ERR_INTERNAL;
    }
    d->aggregate[total] = 1;
    for (size_t i = 0; i < d->n; i++)
        if (d->parent[i] == -2)
            d->parent[i] = total;
    /* an aggregate some code enters at directly (a drug coded at group level) is more than the
     * sum of its parts */
    for (size_t i = 0; i < d->n; i++)
        d->exact[i] = d->aggregate[i];
    for (size_t i = 0; i < RPT_ITEM_CODES; i++)
        if (d->entry[i] >= 0)
            d->exact[d->entry[i]] = 0;
    set_up(d);
    return build_also(d, item, total);
}

/* The category a record enters a dimension at, or -1 (not in this table: an item that does
 * not apply to the episode, or a code the dimension skips). */
static int entry_of(const rpt_dim *d, const tdi_record *rec)
{
    if (d->def->kind == RPT_DIM_CONTINUING)
        return rec->continuing ? 0 : 1;
    if (rec->code[d->def->item] == TDI_CODE_NOT_APPLICABLE)
        return -1;
    return d->entry[rec->code[d->def->item]];
}

/* The columns of a statistics table: one per measure (its number; mean and SD are derived when
 * written), none an aggregate, so no relation runs along a row. */
static tdi_status build_measures(rpt_dim *d, const rpt_family_def *def)
{
    memset(d, 0, sizeof *d);
    if (def->nmeasures == 0 || def->nmeasures > RPT_DIM_MAX) {
        tdi_error("table %s: %zu measures", def->id, def->nmeasures);
        return TDI_ERR_INTERNAL;
    }
    for (size_t m = 0; m < def->nmeasures; m++) {
        if (add_cat(d, def->measures[m].name, -1) < 0) {
            tdi_error("table %s: measure name %s too long", def->id, def->measures[m].name);
            return TDI_ERR_INTERNAL;
        }
        d->gparent[m] = -1;
    }
    for (size_t i = 0; i < RPT_ITEM_CODES; i++)
        d->entry[i] = -1;
    set_up(d);
    return TDI_OK;
}

/* ---- families ---- */

/* 1 when variants 1.. together select every code of their item: variant 0 is exactly their sum. */
static int variants_cover(const rpt_family *f)
{
    const rpt_family_def *def = f->def;
    uint64_t all = 0;
    int item = def->nvariants > 1 ? def->variants[1].item : -1;
    const tdi_item_def *idef;

    if (item < 0)
        return 0;
    for (size_t v = 1; v < def->nvariants; v++) {
        if (def->variants[v].item != item || def->variants[v].item2 >= 0)
            return 0;
        all |= f->variant_codes[v];
    }
    idef = tdi_item_get((tdi_item)item);
    for (size_t i = 0; i < idef->ncodes; i++)
        if (!(all >> i & 1))
            return 0;
    return !idef->conditional;
}

/* The variants of f that select code c (RPT_ITEM_CODES: not applicable) of item. */
static uint16_t selecting(const rpt_family *f, int item, size_t c)
{
    uint16_t set = 0;

    for (size_t v = 0; v < f->def->nvariants; v++) {
        const rpt_variant_def *var = &f->def->variants[v];
        int in1 = c < RPT_ITEM_CODES && (f->variant_codes[v] >> c & 1);
        int in2 = c < RPT_ITEM_CODES && (f->variant_codes2[v] >> c & 1);
        if ((var->item != item || in1) && (var->item2 != item || in2))
            set |= (uint16_t)(1u << v);
    }
    return set;
}

/* rpt_family.sel_item, sel_mask and the classes: the items the variants select on (at most two;
 * one not needed is the primary drug with every variant in every mask), and the distinct sets
 * of variants their codes can give. */
static tdi_status build_classes(rpt_family *f)
{
    const rpt_family_def *def = f->def;

    f->sel_item[0] = f->sel_item[1] = -1;
    for (size_t v = 0; v < def->nvariants; v++) {
        const int items[2] = {def->variants[v].item, def->variants[v].item2};
        for (int j = 0; j < 2; j++) {
            if (items[j] < 0 || items[j] == f->sel_item[0] || items[j] == f->sel_item[1])
                continue;
            if (f->sel_item[1] >= 0) {
                tdi_error("table %s: variants select on more than two items", def->id);
                return TDI_ERR_INTERNAL;
            }
            f->sel_item[f->sel_item[0] >= 0] = items[j];
        }
    }
    for (int j = 0; j < 2; j++) {
        for (size_t c = 0; c <= RPT_ITEM_CODES; c++)
            f->sel_mask[j][c] = f->sel_item[j] < 0 ? (uint16_t)((1u << def->nvariants) - 1)
                                                   : selecting(f, f->sel_item[j], c);
        if (f->sel_item[j] < 0)
            f->sel_item[j] = TDI_ITEM_PRIMARY_DRUG;
    }
    for (size_t a = 0; a <= RPT_ITEM_CODES; a++)
        for (size_t b = 0; b <= RPT_ITEM_CODES; b++) {
            uint16_t set = f->sel_mask[0][a] & f->sel_mask[1][b];
            size_t k = 0;
            while (k < f->nclass && f->class_mask[k] != set)
                k++;
            if (set == 0 || k < f->nclass)
                continue;
            if (k == RPT_CLASS_MAX) {
                tdi_error("table %s: more than %d sets of variants", def->id, RPT_CLASS_MAX);
                return TDI_ERR_INTERNAL;
            }
            f->class_mask[f->nclass++] = set;
            f->class_of[set] = (uint8_t)k;
        }
    return TDI_OK;
}

tdi_status rpt_family_init(rpt_family *f, const rpt_family_def *def)
{
    size_t ncells, nleaves;
    tdi_status st;

    memset(f, 0, sizeof *f);
    f->def = def;
    if (def->nvariants == 0 || def->nvariants > RPT_VARIANTS_MAX) {
        tdi_error("table %s: %zu variants", def->id, def->nvariants);
        return TDI_ERR_INTERNAL;
    }
    st = build_dim(&f->rows, def->rows);
    if (st == TDI_OK)
        st = def->measures ? build_measures(&f->cols, def) : build_dim(&f->cols, def->cols);
    if (st != TDI_OK)
        return st;
    for (size_t v = 0; v < def->nvariants; v++) {
        const rpt_variant_def *var = &def->variants[v];
        f->variant_codes[v] = f->variant_codes2[v] = ~UINT64_C(0);
        if ((var->item >= 0 &&
             code_set(tdi_item_get((tdi_item)var->item), var->codes, &f->variant_codes[v]) < 0) ||
            (var->item2 >= 0 && code_set(tdi_item_get((tdi_item)var->item2), var->codes2,
                                         &f->variant_codes2[v]) < 0)) {
            tdi_error("table %s: variant %s selects no code", def->id, var->name);
            return TDI_ERR_INTERNAL;
        }
    }
    for (size_t k = 0; k < def->nvrel; k++)
        for (size_t j = 0; j < def->vrel[k].n; j++)
            if (def->vrel[k].total >= def->nvariants || def->vrel[k].member[j] >= def->nvariants) {
                tdi_error("table %s: a variant sum names no variant", def->id);
                return TDI_ERR_INTERNAL;
            }
    st = build_classes(f);
    if (st != TDI_OK)
        return st;
    nleaves = (f->nclass ? f->nclass : 1) * f->rows.n * f->cols.n;
    ncells = def->nvariants * f->rows.n * f->cols.n;
    f->value = calloc(ncells, sizeof *f->value);
    f->suppressed = calloc(ncells, 1);
    f->leaf = calloc(nleaves, sizeof *f->leaf);
    if (def->measures) {
        f->sum = calloc(ncells, sizeof *f->sum);
        f->sumsq = calloc(ncells, sizeof *f->sumsq);
        f->leaf_sum = calloc(nleaves, sizeof *f->leaf_sum);
        f->leaf_sumsq = calloc(nleaves, sizeof *f->leaf_sumsq);
    }
    if (!f->value || !f->suppressed || !f->leaf ||
        (def->measures && (!f->sum || !f->sumsq || !f->leaf_sum || !f->leaf_sumsq)) ||
        rpt_outcome_init(f) != TDI_OK) {
        tdi_error("table %s: out of memory", def->id);
        rpt_family_free(f);
        return TDI_ERR_INTERNAL;
    }
    f->grid = (dc_grid){
        .nvariants = def->nvariants,
        .variant_sum = def->variant_sum,
        .variant_exact = def->variant_sum && variants_cover(f),
        .vrel = def->vrel,
        .nvrel = def->nvrel,
        .rows = {f->rows.n, f->rows.gparent, f->rows.gaggregate, f->rows.exact},
        .cols = {f->cols.n, f->cols.gparent, f->cols.gaggregate, f->cols.exact},
        .value = f->value,
        .suppressed = f->suppressed,
    };
    return TDI_OK;
}

void rpt_family_free(rpt_family *f)
{
    free(f->value);
    free(f->suppressed);
    free(f->sum);
    free(f->sumsq);
    free(f->leaf);
    free(f->leaf_sum);
    free(f->leaf_sumsq);
    rpt_outcome_free(f);
    f->value = NULL;
    f->suppressed = NULL;
    f->sum = f->sumsq = NULL;
    f->leaf = NULL;
    f->leaf_sum = f->leaf_sumsq = NULL;
}

int rpt_tables_population(const tdi_record *rec)
{
    return tdi_record_in_population(rec);
}

/* The variants rec is counted in (bits): the one lookup per selecting item. */
static unsigned variants_of(const rpt_family *f, const tdi_record *rec)
{
    unsigned a = rec->code[f->sel_item[0]], b = rec->code[f->sel_item[1]];

    return f->sel_mask[0][a < RPT_ITEM_CODES ? a : RPT_ITEM_CODES] &
           f->sel_mask[1][b < RPT_ITEM_CODES ? b : RPT_ITEM_CODES];
}

/* A statistics table: per measure with a value, the count, sum and sum of squares in the row
 * the record enters at (rpt_family_sum() adds them to the aggregates above it). */
static void add_measures(rpt_family *f, size_t leaf, const tdi_record *rec)
{
    for (size_t m = 0; m < f->def->nmeasures; m++) {
        int x = f->def->measures[m].value(rec);
        if (x < 0)
            continue;
        f->leaf[leaf + m]++;
        f->leaf_sum[leaf + m] += (uint64_t)x;
        f->leaf_sumsq[leaf + m] += (uint64_t)x * (uint64_t)x;
    }
}

/* The categories of d a record counts in, each once: its entry and every aggregate above it, for
 * the dimension's item and (rpt_dim_def.also) the other items. */
static uint64_t categories_of(const rpt_dim *d, int entry, const tdi_record *rec)
{
    uint64_t set = UINT64_C(1) << (d->n - 1); /* the total: every record, once */

    if (entry >= 0)
        set |= d->up[entry];
    for (size_t k = 0; d->def->also && k < d->def->also->nitems; k++) {
        unsigned code = rec->code[d->def->also->items[k]];
        int r = code < RPT_ITEM_CODES ? d->also_entry[k][code] : -1;
        if (r >= 0)
            set |= d->up[r];
    }
    return set;
}

void rpt_family_add(rpt_family *f, const tdi_record *rec)
{
    int er = entry_of(&f->rows, rec), ec = f->def->measures ? 0 : entry_of(&f->cols, rec);
    unsigned set;
    size_t row0;

    /* over several items, a record none of whose codes has a row is in the total row only */
    if ((er < 0 && !f->rows.def->also) || ec < 0 ||
        !tdi_in_population(rec->code[TDI_ITEM_PRIMARY_DRUG]) || !rpt_outcome_counts(f, rec))
        return; /* the drug population for every base; which records: rpt_outcome_counts() */
    set = variants_of(f, rec);
    if (set == 0)
        return;
    for (unsigned s = set; f->stays && s; s &= s - 1)
        rpt_outcome_add(f, (size_t)__builtin_ctz(s), er, rec);
    row0 = (size_t)f->class_of[set] * f->rows.n;
    if (f->def->measures) {
        add_measures(f, (row0 + (size_t)er) * f->cols.n, rec);
    } else if (f->rows.def->also) {
        /* every row it counts in here, the columns' aggregates when summed */
        for (uint64_t rows = categories_of(&f->rows, er, rec); rows; rows &= rows - 1)
            f->leaf[(row0 + (size_t)__builtin_ctzll(rows)) * f->cols.n + (size_t)ec]++;
    } else {
        f->leaf[(row0 + (size_t)er) * f->cols.n + (size_t)ec]++;
    }
}

/* Leaf i's count (and sums) into variant v's cell (r, c) and every aggregate above it, on the rows
 * only when the leaf's row is the entry (not already every row, rpt_dim_def.also). */
static void sum_leaf(rpt_family *f, size_t i, size_t v, size_t r, size_t c)
{
    uint64_t rows = f->rows.def->also ? UINT64_C(1) << r : f->rows.up[r];

    for (; rows; rows &= rows - 1)
        for (uint64_t cols = f->cols.up[c]; cols; cols &= cols - 1) {
            size_t j =
                dc_cell(&f->grid, v, (size_t)__builtin_ctzll(rows), (size_t)__builtin_ctzll(cols));
            f->value[j] += f->leaf[i];
            if (f->sum) {
                f->sum[j] += f->leaf_sum[i];
                f->sumsq[j] += f->leaf_sumsq[i];
            }
        }
}

void rpt_family_sum(rpt_family *f)
{
    for (size_t k = 0; k < f->nclass; k++)
        for (size_t r = 0; r < f->rows.n; r++)
            for (size_t c = 0; c < f->cols.n; c++) {
                size_t i = (k * f->rows.n + r) * f->cols.n + c;
                if (f->leaf[i] == 0)
                    continue;
                for (unsigned s = f->class_mask[k]; s; s &= s - 1)
                    sum_leaf(f, i, (size_t)__builtin_ctz(s), r, c);
                f->leaf[i] = 0;
                if (f->sum)
                    f->leaf_sum[i] = f->leaf_sumsq[i] = 0;
            }
}
