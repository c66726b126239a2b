/* tdi_record: the source column contract (see README.md, "Source query"). */
#include "tdi_record.h"

#include "tdi_text.h"

#include <string.h>

/* name, cast, kind, required, identifying, item, min, max */
#define ID(nm, type)                                                                               \
    {                                                                                              \
        nm, type, TDI_KIND_TEXT, 1, 1, -1, 0, 0                                                    \
    }
#define CODE(nm, item)                                                                             \
    {                                                                                              \
        nm, "text", TDI_KIND_CODE, 0, 0, item, 0, 0                                                \
    }
/* Numbers are read as text and checked by transform (rule R014): a cast on the server would stop
 * the whole source at the first bad cell. */
#define NUMBER(nm, lo, hi)                                                                         \
    {                                                                                              \
        nm, "text", TDI_KIND_NUMBER, 0, 0, -1, lo, hi                                              \
    }

const tdi_column_def tdi_columns[TDI_COL_COUNT] = {
    [TDI_COL_EPISODE_ID] = ID("episode_id", "text"),
    [TDI_COL_CLIENT_ID] = ID("client_id", "text"),
    [TDI_COL_CENTRE_ID] = {"centre_id", "text", TDI_KIND_TEXT, 1, 0, -1, 0, 0},
    [TDI_COL_START_DATE] = {"start_date", "date", TDI_KIND_DATE, 1, 0, -1, 0, 0},
    [TDI_COL_BIRTH_DATE] = {"birth_date", "date", TDI_KIND_DATE, 0, 1, -1, 0, 0},
    [TDI_COL_SETTING] = CODE("setting", TDI_ITEM_SETTING),
    [TDI_COL_RESIDENTIAL_APPROACH] = CODE("residential_approach", TDI_ITEM_RESIDENTIAL_APPROACH),
    [TDI_COL_PLANNED_DURATION] = CODE("planned_duration", TDI_ITEM_PLANNED_DURATION),
    [TDI_COL_DETOX_PHASE] = CODE("detox_phase", TDI_ITEM_DETOX_PHASE),
    [TDI_COL_SEX] = CODE("sex", TDI_ITEM_SEX),
    [TDI_COL_AGE_BAND] = CODE("age_band", TDI_ITEM_AGE_BAND),
    [TDI_COL_NATIONALITY] = CODE("nationality", TDI_ITEM_NATIONALITY),
    [TDI_COL_TREATMENT_STATUS] = CODE("treatment_status", TDI_ITEM_TREATMENT_STATUS),
    [TDI_COL_REFERRAL_SOURCE] = CODE("referral_source", TDI_ITEM_REFERRAL_SOURCE),
    [TDI_COL_LIVING_WITH] = CODE("living_with", TDI_ITEM_LIVING_WITH),
    [TDI_COL_LIVING_WITH_CHILDREN] = CODE("living_with_children", TDI_ITEM_LIVING_WITH_CHILDREN),
    [TDI_COL_LIVING_WHERE] = CODE("living_where", TDI_ITEM_LIVING_WHERE),
    [TDI_COL_EDUCATION] = CODE("education", TDI_ITEM_EDUCATION),
    [TDI_COL_LABOUR_STATUS] = CODE("labour_status", TDI_ITEM_LABOUR_STATUS),
    [TDI_COL_PRIMARY_DRUG] = CODE("primary_drug", TDI_ITEM_PRIMARY_DRUG),
    [TDI_COL_ROUTE] = CODE("route", TDI_ITEM_ROUTE),
    [TDI_COL_FREQUENCY] = CODE("frequency", TDI_ITEM_FREQUENCY),
    [TDI_COL_FIRST_USE_AGE] = NUMBER("first_use_age", 0, 120),
    [TDI_COL_FIRST_USE_AGE_BAND] = CODE("first_use_age_band", TDI_ITEM_FIRST_USE_AGE_BAND),
    [TDI_COL_SECONDARY_DRUG_1] = CODE("secondary_drug_1", TDI_ITEM_SECONDARY_DRUG_1),
    [TDI_COL_SECONDARY_DRUG_2] = CODE("secondary_drug_2", TDI_ITEM_SECONDARY_DRUG_2),
    [TDI_COL_SECONDARY_DRUG_3] = CODE("secondary_drug_3", TDI_ITEM_SECONDARY_DRUG_3),
    [TDI_COL_SECONDARY_DRUG_4] = CODE("secondary_drug_4", TDI_ITEM_SECONDARY_DRUG_4),
    [TDI_COL_POLYDRUG] = CODE("polydrug", TDI_ITEM_POLYDRUG),
    [TDI_COL_INJECTING] = CODE("injecting", TDI_ITEM_INJECTING),
    [TDI_COL_FIRST_INJECTION_AGE] = NUMBER("first_injection_age", 0, 120),
    [TDI_COL_FIRST_INJECTION_YEAR] = NUMBER("first_injection_year", 1900, 2999),
    [TDI_COL_NEEDLE_SHARING] = CODE("needle_sharing", TDI_ITEM_NEEDLE_SHARING),
    [TDI_COL_HIV_TESTING] = CODE("hiv_testing", TDI_ITEM_HIV_TESTING),
    [TDI_COL_HCV_TESTING] = CODE("hcv_testing", TDI_ITEM_HCV_TESTING),
    [TDI_COL_OST] = CODE("ost", TDI_ITEM_OST),
    [TDI_COL_FIRST_OST_YEAR] = NUMBER("first_ost_year", 1900, 2999),
    [TDI_COL_NATIONAL_ID] = {"national_id", "text", TDI_KIND_TEXT, 0, 1, -1, 0, 0},
    [TDI_COL_FAMILY_NAME] = {"family_name", "text", TDI_KIND_TEXT, 0, 1, -1, 0, 0},
    [TDI_COL_GIVEN_NAME] = {"given_name", "text", TDI_KIND_TEXT, 0, 1, -1, 0, 0},
    /* Identifying: it only selects a region code (README.md, "Generalisation"). */
    [TDI_COL_POSTCODE] = {"postcode", "text", TDI_KIND_TEXT, 0, 1, -1, 0, 0},
    /* Not written: the stay band is (README.md, "Discharges and continuing clients"). */
    [TDI_COL_END_DATE] = {"end_date", "date", TDI_KIND_DATE, 0, 0, -1, 0, 0},
    [TDI_COL_DISCHARGE_REASON] = CODE("discharge_reason", TDI_ITEM_DISCHARGE_REASON),
    [TDI_COL_AFTERCARE] = CODE("aftercare", TDI_ITEM_AFTERCARE),
};

const char *const tdi_person_kind_names[TDI_PERSON_KIND_COUNT] = {
    [TDI_PERSON_NID] = "nid",
    [TDI_PERSON_SLK581] = "slk581",
    [TDI_PERSON_CLIENT] = "client",
};

int tdi_column_by_name(const char *name)
{
    for (int i = 0; i < TDI_COL_COUNT; i++)
        if (strcmp(tdi_columns[i].name, name) == 0)
            return i;
    return -1;
}

long tdi_record_stay_days(const tdi_record *rec)
{
    return rec->end_ymd ? tdi_days_between(rec->start_ymd, rec->end_ymd) : -1;
}

int tdi_record_in_population(const tdi_record *rec)
{
    return !rec->continuing && tdi_in_population(rec->code[TDI_ITEM_PRIMARY_DRUG]);
}

static const char *const qi_names[TDI_QI_COUNT] = {
    [TDI_QI_SEX] = "sex",
    [TDI_QI_AGE_BAND] = "age_band",
    [TDI_QI_NATIONALITY] = "nationality",
    [TDI_QI_REGION] = "region",
    [TDI_QI_YEAR] = "year",
    [TDI_QI_CENTRE_TYPE] = "centre_type",
    [TDI_QI_QUARTER] = "quarter",
    [TDI_QI_CENTRE] = "centre",
};

const char *tdi_qi_name(tdi_qi qi)
{
    return (unsigned)qi < TDI_QI_COUNT ? qi_names[qi] : "?";
}

int tdi_qi_by_name(const char *name)
{
    for (int i = 0; i < TDI_QI_COUNT; i++)
        if (strcmp(qi_names[i], name) == 0)
            return i;
    return -1;
}

int tdi_qi_blankable(tdi_qi qi)
{
    return qi != TDI_QI_YEAR && qi != TDI_QI_CENTRE && (unsigned)qi < TDI_QI_COUNT;
}

/* QI -> the items blanked with it. A new item derived from one of them (or from the postcode,
 * which gives the region) gets a row here, or blanking the qi leaves it as a bound. */
const tdi_qi_link tdi_qi_links[] = {
    {TDI_QI_SEX, TDI_ITEM_SEX, TDI_QI_TO_NOT_KNOWN},
    {TDI_QI_AGE_BAND, TDI_ITEM_AGE_BAND, TDI_QI_TO_NOT_KNOWN},
    /* the age at first use is at most the age */
    {TDI_QI_AGE_BAND, TDI_ITEM_FIRST_USE_AGE_BAND, TDI_QI_TO_NOT_KNOWN},
    /* with the reporting year, the years since a first event bound the age from below */
    {TDI_QI_AGE_BAND, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, TDI_QI_TO_NOT_KNOWN},
    {TDI_QI_AGE_BAND, TDI_ITEM_YEARS_SINCE_FIRST_OST, TDI_QI_TO_NOT_KNOWN},
    {TDI_QI_NATIONALITY, TDI_ITEM_NATIONALITY, TDI_QI_TO_NOT_KNOWN},
    /* region: the postcode gives nothing but the region (transform/tx_region.c) */
    {TDI_QI_CENTRE_TYPE, TDI_ITEM_CENTRE_TYPE, TDI_QI_TO_NOT_KNOWN},
    /* the setting gives the centre type away, the residential attributes a residential one */
    {TDI_QI_CENTRE_TYPE, TDI_ITEM_SETTING, TDI_QI_TO_NOT_KNOWN},
    {TDI_QI_CENTRE_TYPE, TDI_ITEM_RESIDENTIAL_APPROACH, TDI_QI_TO_NOT_APPLICABLE},
    {TDI_QI_CENTRE_TYPE, TDI_ITEM_PLANNED_DURATION, TDI_QI_TO_NOT_APPLICABLE},
    {TDI_QI_CENTRE_TYPE, TDI_ITEM_DETOX_PHASE, TDI_QI_TO_NOT_APPLICABLE},
};
const size_t tdi_qi_nlinks = sizeof tdi_qi_links / sizeof tdi_qi_links[0];
