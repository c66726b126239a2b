/*
 * tx_derive: derived values as data (see tx_derive.h). Each table names codes by their workbook
 * string; tx_derive_init() turns them into indices and checks that every table and code list
 * cover each other, so a code added to tdi_codes.c without its row here stops the run at start.
 */
#include "tx_derive.h"

#include "../common/tdi_log.h"

#include <limits.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* residential-typology.md: the TDI centre type of each setting class, and the classes the
 * residential attributes (approach, planned duration, detox phase) apply to. Inpatient detox is
 * inpatient but not residential treatment. */
static const struct {
    const char *setting, *centre_type;
    int residential;
} settings[] = {
    {"outpatient", "1", 0},
    {"low_threshold", "5", 0},
    {"general_practitioner", "4", 0},
    {"prison", "3", 0},
    {"residential_community", "2", 1},
    {"residential_hospital", "2", 1},
    {"inpatient_detox", "2", 0},
    {"other", "6", 0},
    {"not_known", "99", 0},
};

/* A class of whole numbers [lo, hi] and its code. */
typedef struct tx_class {
    int lo, hi;
    const char *code;
} tx_class;

/* The workbook's age groups, for the age at entry and the age at first use. */
static const tx_class age_bands[] = {
    {0, 14, "0-14"},   {15, 19, "15-19"}, {20, 24, "20-24"}, {25, 29, "25-29"},
    {30, 34, "30-34"}, {35, 39, "35-39"}, {40, 44, "40-44"}, {45, 49, "45-49"},
    {50, 54, "50-54"}, {55, 59, "55-59"}, {60, 64, "60-64"}, {65, INT_MAX, "65+"},
};

/* Table 23: years since first injection. */
static const tx_class injection_years[] = {
    {0, 1, "1"},
    {2, 4, "2"},
    {5, 9, "3"},
    {10, INT_MAX, "4"},
};

/* Table 29.1.2: years since first OST. */
static const tx_class ost_years[] = {
    {0, 0, "0"},    {1, 1, "1"},       {2, 2, "2"},          {3, 3, "3"}, {4, 4, "4"},
    {5, 5, "5"},    {6, 6, "6"},       {7, 7, "7"},          {8, 8, "8"}, {9, 9, "9"},
    {10, 10, "10"}, {11, 15, "11-15"}, {16, INT_MAX, "16+"},
};

/* What each answer says about "ever". Refusing to answer says nothing. */
typedef struct tx_answer {
    const char *code;
    tx_ever ever;
} tx_answer;

static const tx_answer injecting_answers[] = {
    {"1", TX_EVER_NEVER}, {"2", TX_EVER_YES},       {"2.1", TX_EVER_YES},      {"2.2", TX_EVER_YES},
    {"2.3", TX_EVER_YES}, {"3", TX_EVER_NOT_KNOWN}, {"99", TX_EVER_NOT_KNOWN},
};

static const tx_answer ost_answers[] = {
    {"1", TX_EVER_NEVER},
    {"2", TX_EVER_YES},
    {"3", TX_EVER_YES},
    {"99", TX_EVER_NOT_KNOWN},
};

#define INJECTED_EVER  "2" /* injecting: ever injected, timing not known */
#define ROUTE_INJECT   "1" /* route: inject */
#define SECONDARY_NONE "0" /* secondary drug: none */

static const tdi_item residential_items[] = {
    TDI_ITEM_RESIDENTIAL_APPROACH,
    TDI_ITEM_PLANNED_DURATION,
    TDI_ITEM_DETOX_PHASE,
};

static const tdi_item secondary_items[] = {
    TDI_ITEM_SECONDARY_DRUG_1,
    TDI_ITEM_SECONDARY_DRUG_2,
    TDI_ITEM_SECONDARY_DRUG_3,
    TDI_ITEM_SECONDARY_DRUG_4,
};

/* The index of code in item's list into *out; logs and returns -1 when it is not there. */
static int resolve(tdi_item item, const char *code, uint8_t *out)
{
    const tdi_item_def *def = tdi_item_get(item);
    int idx = tdi_code_index(def, code);

    if (idx < 0 || def->ncodes > TX_CODES_MAX) {
        tdi_error("derivation tables: '%s' is not a code of %s", code, def->name);
        return -1;
    }
    *out = (uint8_t)idx;
    return 0;
}

/* Every code of item but "not known" is in covered[] (1 = seen). */
static int check_cover(tdi_item item, const uint8_t covered[TX_CODES_MAX], int with_not_known)
{
    const tdi_item_def *def = tdi_item_get(item);

    for (size_t i = 0; i < def->ncodes; i++) {
        if (covered[i] || (!with_not_known && i == def->not_known))
            continue;
        tdi_error("derivation tables: code '%s' of %s has no row", def->codes[i].code, def->name);
        return -1;
    }
    return 0;
}

static int resolve_classes(tdi_item item, const tx_class *classes, size_t n,
                           uint8_t out[TX_CODES_MAX])
{
    uint8_t covered[TX_CODES_MAX] = {0};

    for (size_t i = 0; i < n; i++) {
        if (resolve(item, classes[i].code, &out[i]) != 0)
            return -1;
        covered[out[i]] = 1;
    }
    return check_cover(item, covered, 0);
}

static int resolve_answers(tdi_item item, const tx_answer *answers, size_t n,
                           uint8_t out[TX_CODES_MAX])
{
    uint8_t covered[TX_CODES_MAX] = {0};
    uint8_t idx;

    for (size_t i = 0; i < n; i++) {
        if (resolve(item, answers[i].code, &idx) != 0)
            return -1;
        out[idx] = (uint8_t)answers[i].ever;
        covered[idx] = 1;
    }
    return check_cover(item, covered, 1);
}

static int resolve_settings(tx_derive *d)
{
    uint8_t covered[TX_CODES_MAX] = {0};
    uint8_t s, c;

    for (size_t i = 0; i < COUNT(settings); i++) {
        if (resolve(TDI_ITEM_SETTING, settings[i].setting, &s) != 0 ||
            resolve(TDI_ITEM_CENTRE_TYPE, settings[i].centre_type, &c) != 0)
            return -1;
        d->centre_type_of[s] = c;
        d->residential[s] = (uint8_t)settings[i].residential;
        covered[s] = 1;
    }
    return check_cover(TDI_ITEM_SETTING, covered, 1);
}

tdi_status tx_derive_init(tx_derive *d)
{
    memset(d, 0, sizeof *d);
    if (resolve_settings(d) != 0 ||
        resolve_classes(TDI_ITEM_AGE_BAND, age_bands, COUNT(age_bands), d->age_band_of_class) ||
        resolve_classes(TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, injection_years,
                        COUNT(injection_years), d->injection_years_code) ||
        resolve_classes(TDI_ITEM_YEARS_SINCE_FIRST_OST, ost_years, COUNT(ost_years),
                        d->ost_years_code) ||
        resolve_answers(TDI_ITEM_INJECTING, injecting_answers, COUNT(injecting_answers),
                        d->injecting_ever) ||
        resolve_answers(TDI_ITEM_OST, ost_answers, COUNT(ost_answers), d->ost_ever) ||
        resolve(TDI_ITEM_INJECTING, INJECTED_EVER, &d->injected_ever) ||
        resolve(TDI_ITEM_ROUTE, ROUTE_INJECT, &d->route_inject) ||
        resolve(TDI_ITEM_SECONDARY_DRUG_1, SECONDARY_NONE, &d->secondary_none))
        return TDI_ERR_INTERNAL;
    /* The first-use groups are read with the age-group table: the lists must be one. */
    if (tdi_item_get(TDI_ITEM_FIRST_USE_AGE_BAND)->codes !=
        tdi_item_get(TDI_ITEM_AGE_BAND)->codes) {
        tdi_error("derivation tables: first_use_age_band and age_band lists differ");
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}

/* The code index of the class holding v, or the item's "not known" when none does. */
static uint8_t classify(const tx_class *classes, size_t n, const uint8_t codes[TX_CODES_MAX],
                        tdi_item item, int v)
{
    for (size_t i = 0; v >= 0 && i < n; i++)
        if (v >= classes[i].lo && v <= classes[i].hi)
            return codes[i];
    return (uint8_t)tdi_item_get(item)->not_known;
}

uint8_t tx_derive_age_band(const tx_derive *d, int age)
{
    return classify(age_bands, COUNT(age_bands), d->age_band_of_class, TDI_ITEM_AGE_BAND, age);
}

int tx_derive_age_band_bounds(const tx_derive *d, uint8_t code, int *lo, int *hi)
{
    for (size_t i = 0; i < COUNT(age_bands); i++) {
        if (d->age_band_of_class[i] == code) {
            *lo = age_bands[i].lo;
            *hi = age_bands[i].hi;
            return 0;
        }
    }
    return -1;
}

int tx_derive_is_residential(const tx_derive *d, const tdi_record *rec)
{
    return d->residential[rec->code[TDI_ITEM_SETTING]];
}

tx_ever tx_derive_injecting_ever(const tx_derive *d, const tdi_record *rec)
{
    return (tx_ever)d->injecting_ever[rec->code[TDI_ITEM_INJECTING]];
}

tx_ever tx_derive_ost_ever(const tx_derive *d, const tdi_record *rec)
{
    return (tx_ever)d->ost_ever[rec->code[TDI_ITEM_OST]];
}

int tx_derive_route_inject(const tx_derive *d, const tdi_record *rec)
{
    return rec->code[TDI_ITEM_ROUTE] == d->route_inject;
}

int tx_derive_residential_given(const tx_derive *d, const tdi_record *rec, tdi_item *item)
{
    (void)d;
    for (size_t i = 0; i < COUNT(residential_items); i++) {
        uint8_t c = rec->code[residential_items[i]];

        if (c != tdi_item_get(residential_items[i])->not_known) {
            *item = residential_items[i];
            return 1;
        }
    }
    return 0;
}

/* Years between two known values, or -1. */
static int years_between(int from, int to)
{
    return from >= 0 && to >= 0 ? to - from : -1;
}

void tx_derive_record(const tx_derive *d, const tx_numbers *n, tdi_record *rec)
{
    int inj_known = n->first_injection_age >= 0 || n->first_injection_year >= 0;
    int years;

    rec->code[TDI_ITEM_CENTRE_TYPE] = d->centre_type_of[rec->code[TDI_ITEM_SETTING]];
    if (!tx_derive_is_residential(d, rec))
        for (size_t i = 0; i < COUNT(residential_items); i++)
            rec->code[residential_items[i]] = TDI_CODE_NOT_APPLICABLE;

    if (n->age >= 0)
        rec->code[TDI_ITEM_AGE_BAND] = tx_derive_age_band(d, n->age);
    if (n->first_use_age >= 0)
        rec->code[TDI_ITEM_FIRST_USE_AGE_BAND] = tx_derive_age_band(d, n->first_use_age);

    for (size_t i = 1; i < COUNT(secondary_items); i++) {
        const tdi_item_def *def = tdi_item_get(secondary_items[i]);

        if (rec->code[secondary_items[i - 1]] == d->secondary_none &&
            rec->code[secondary_items[i]] == def->not_known)
            rec->code[secondary_items[i]] = d->secondary_none;
    }

    /* "Does not want to answer" is an answer: only "not known" is filled in. */
    if (rec->code[TDI_ITEM_INJECTING] == tdi_item_get(TDI_ITEM_INJECTING)->not_known &&
        (tx_derive_route_inject(d, rec) || inj_known))
        rec->code[TDI_ITEM_INJECTING] = d->injected_ever;

    if (tx_derive_injecting_ever(d, rec) == TX_EVER_YES || inj_known) {
        years = years_between(n->first_injection_year, n->start_year);
        if (years < 0)
            years = years_between(n->first_injection_age, n->age);
        rec->code[TDI_ITEM_YEARS_SINCE_FIRST_INJECTION] =
            classify(injection_years, COUNT(injection_years), d->injection_years_code,
                     TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, years);
    } else {
        rec->code[TDI_ITEM_YEARS_SINCE_FIRST_INJECTION] = TDI_CODE_NOT_APPLICABLE;
    }

    if (tx_derive_ost_ever(d, rec) == TX_EVER_YES || n->first_ost_year >= 0)
        rec->code[TDI_ITEM_YEARS_SINCE_FIRST_OST] =
            classify(ost_years, COUNT(ost_years), d->ost_years_code, TDI_ITEM_YEARS_SINCE_FIRST_OST,
                     years_between(n->first_ost_year, n->start_year));
    else
        rec->code[TDI_ITEM_YEARS_SINCE_FIRST_OST] = TDI_CODE_NOT_APPLICABLE;
}

int tx_derive_history(tdi_record *rec, int entrant, int treated_earlier)
{
    const tdi_item_def *def = tdi_item_get(TDI_ITEM_TREATMENT_STATUS);
    const char *given = rec->code[TDI_ITEM_TREATMENT_STATUS] < def->ncodes
                            ? def->codes[rec->code[TDI_ITEM_TREATMENT_STATUS]].code
                            : "";

    rec->entrant = entrant ? TDI_ENTRANT_YES : TDI_ENTRANT_NO;
    if (!treated_earlier)
        return 0;
    /* "Not known" is what an earlier start answers; "never" is the source's word against it: kept,
     * and warned of, since the two can be different persons under one slk581 key. */
    if (strcmp(given, "3") == 0) {
        int prev = tdi_code_index(def, "2");
        if (prev >= 0)
            rec->code[TDI_ITEM_TREATMENT_STATUS] = (uint8_t)prev;
        return 0;
    }
    return strcmp(given, "1") == 0;
}
