/* tdi_codes: the code lists of the TDI items (workbook codes, 2022 edition). */
#include "tdi_codes.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The code lists write tdi_code.outside only where it is 1 (the primary drug's list): a code
 * without it is a code with it 0, as C has it. Only for the lists, up to the items' table. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const tdi_code setting_codes[] = {
    {"outpatient", "Outpatient (ambulatory, day care)"},
    {"low_threshold", "Low-threshold agency"},
    {"general_practitioner", "General practitioner"},
    {"prison", "Treatment unit in prison"},
    {"residential_community", "Residential, community-based"},
    {"residential_hospital", "Residential, hospital-based"},
    {"inpatient_detox", "Inpatient detoxification only"},
    {"other", "Other"},
    {"not_known", "Not known"},
};

static const tdi_code centre_type_codes[] = {
    {"1", "Outpatient treatment centre"},
    {"2", "Inpatient treatment centre"},
    {"3", "Treatment unit in prison"},
    {"4", "General practitioner"},
    {"5", "Low-threshold agency"},
    {"6", "Other"},
    {"99", "Not known"},
};

/* residential-typology.md: for residential episodes only. */
static const tdi_code residential_approach_codes[] = {
    {"therapeutic_community", "Therapeutic community"},
    {"twelve_step", "12-step / Minnesota model"},
    {"cbt", "Cognitive-behavioural"},
    {"other_psychotherapeutic", "Other psychotherapeutic"},
    {"combined", "Combined, hybrid or eclectic"},
    {"not_known", "Not known"},
};

static const tdi_code planned_duration_codes[] = {
    {"short", "Planned stay of 3 months or less"},
    {"long", "Planned stay of more than 3 months"},
    {"not_known", "Not known"},
};

static const tdi_code detox_phase_codes[] = {
    {"yes", "Starts with a medically supervised withdrawal phase"},
    {"no", "No detoxification phase"},
    {"not_known", "Not known"},
};

static const tdi_code sex_codes[] = {
    {"1", "Male"},
    {"2", "Female"},
    {"99", "Not known"},
};

/* The workbook's age groups, used for the age at entry and the age at first use. */
static const tdi_code age_band_codes[] = {
    {"0-14", "Under 15"},  {"15-19", "15 to 19"}, {"20-24", "20 to 24"}, {"25-29", "25 to 29"},
    {"30-34", "30 to 34"}, {"35-39", "35 to 39"}, {"40-44", "40 to 44"}, {"45-49", "45 to 49"},
    {"50-54", "50 to 54"}, {"55-59", "55 to 59"}, {"60-64", "60 to 64"}, {"65+", "65 and over"},
    {"99", "Not known"},
};

/* A protocol item the workbook does not tabulate: recorded as a country group. */
static const tdi_code nationality_codes[] = {
    {"1", "National"},
    {"2", "Other EU country"},
    {"3", "Non-EU country"},
    {"99", "Not known"},
};

static const tdi_code treatment_status_codes[] = {
    {"1", "Never previously treated"},
    {"2", "Previously treated"},
    {"3", "Not known"},
};

static const tdi_code referral_source_codes[] = {
    {"1", "Court, probation or police"},
    {"2", "General practitioner"},
    {"3", "Other drug treatment centre"},
    {"4", "Other health, medical or social service"},
    {"5", "Educational services"},
    {"6", "Self, family or friends"},
    {"7", "Other"},
    {"99", "Not known"},
};

static const tdi_code living_with_codes[] = {
    {"1", "Alone"},
    {"2", "With the family of origin"},
    {"3", "With partner and/or children"},
    {"4", "With friends or others (no family)"},
    {"5", "In detention"},
    {"6", "In an institution or shelter (not detention)"},
    {"7", "Other"},
    {"99", "Not known"},
};

static const tdi_code living_with_children_codes[] = {
    {"1", "Not living with children"},
    {"2", "Living with children"},
    {"99", "Not known"},
};

static const tdi_code living_where_codes[] = {
    {"1", "Stable accommodation"}, {"2", "Unstable accommodation and/or homeless"},
    {"3", "In detention"},         {"4", "Other"},
    {"99", "Not known"},
};

static const tdi_code education_codes[] = {
    {"1", "Never went to school or primary not completed (ISCED 0)"},
    {"2", "Primary level (ISCED 1)"},
    {"3", "Secondary level (ISCED 2-3)"},
    {"4", "Higher education (ISCED 4-6)"},
    {"99", "Not known"},
};

static const tdi_code labour_status_codes[] = {
    {"1", "Occasionally employed"},
    {"2", "Regularly employed"},
    {"3", "Student"},
    {"4", "Unemployed or discouraged"},
    {"5", "Receiving social benefits, pensioner, house-maker or disabled"},
    {"6", "Other"},
    {"99", "Not known"},
};

/* The TDI drug list, shared by the primary drug and the secondary drugs, but for "not known".
 * Alcohol is on it (a secondary drug; tdi-protocol.md, "Alcohol") and outside the population. */
/* clang-format off */
#define DRUG_LIST                                                                                  \
    {"1", "Opioids"},                                                                              \
    {"1.1", "Heroin"},                                                                             \
    {"1.2", "Methadone misused"},                                                                  \
    {"1.3", "Buprenorphine misused"},                                                              \
    {"1.4", "Fentanyls misused"},                                                                  \
    {"1.5", "Other opioids"},                                                                      \
    {"2", "Cocaine"},                                                                              \
    {"2.1", "Powder cocaine"},                                                                     \
    {"2.2", "Crack cocaine"},                                                                      \
    {"2.3", "Other cocaine"},                                                                      \
    {"3", "Stimulants other than cocaine"},                                                        \
    {"3.1", "Amphetamines"},                                                                       \
    {"3.2", "Methamphetamines"},                                                                   \
    {"3.3", "MDMA and derivatives"},                                                               \
    {"3.4", "Synthetic cathinones"},                                                               \
    {"3.5", "Other stimulants"},                                                                   \
    {"4", "Hypnotics and sedatives"},                                                              \
    {"4.1", "Barbiturates misused"},                                                               \
    {"4.2", "Benzodiazepines misused"},                                                            \
    {"4.3", "GHB/GBL"},                                                                            \
    {"4.4", "Other hypnotics and sedatives"},                                                      \
    {"5", "Hallucinogens"},                                                                        \
    {"5.1", "LSD"},                                                                                \
    {"5.2", "Ketamine"},                                                                           \
    {"5.3", "Other hallucinogens"},                                                                \
    {"6", "Volatile inhalants"},                                                                   \
    {"7", "Cannabis"},                                                                             \
    {"7.1", "Herbal cannabis or resin"},                                                           \
    {"7.2", "Synthetic cannabinoids"},                                                             \
    {"7.3", "Other cannabis"},                                                                     \
    {"8", "Alcohol", 1},                                                                           \
    {"9", "Other substances"}
/* clang-format on */

/* The primary problem: a drug of the list, or a problem outside the TDI population (alcohol
 * above, and the non-drug ones here: never a secondary drug), or not known. */
static const tdi_code drug_codes[] = {
    DRUG_LIST,
    {"gambling", "Gambling (not a drug: outside the TDI population)", 1},
    {"gaming", "Gaming, video or online games (not a drug: outside the TDI population)", 1},
    {"tobacco", "Tobacco or nicotine (outside the TDI population)", 1},
    {"other_behaviour", "Other non-drug behaviour (outside the TDI population)", 1},
    {"99", "Not known"},
};

/* The secondary drugs add "none", a column of the workbook's secondary-drug tables. */
static const tdi_code secondary_drug_codes[] = {
    {"0", "No secondary drug"},
    DRUG_LIST,
    {"99", "Not known"},
};

static const tdi_code route_codes[] = {
    {"1", "Inject"}, {"2", "Smoke/inhale"}, {"3", "Eat/drink"},
    {"4", "Sniff"},  {"5", "Other"},        {"99", "Not known"},
};

static const tdi_code frequency_codes[] = {
    {"1", "Daily"},
    {"2", "4 to 6 days a week"},
    {"3", "2 to 3 days a week"},
    {"4", "Once a week or less"},
    {"5", "Not used in the last 30 days"},
    {"99", "Not known"},
};

static const tdi_code polydrug_codes[] = {
    {"1", "Yes"},
    {"2", "No"},
    {"99", "Not known"},
};

static const tdi_code injecting_codes[] = {
    {"1", "Never injected"},
    {"2", "Ever injected (timing not known)"},
    {"2.1", "Injected, not in the last 12 months"},
    {"2.2", "Injected in the last 12 months, not in the last 30 days"},
    {"2.3", "Injected in the last 30 days"},
    {"3", "Does not want to answer"},
    {"99", "Not known"},
};

static const tdi_code years_since_first_injection_codes[] = {
    {"1", "1 year or less"},   {"2", "2 to 4 years"}, {"3", "5 to 9 years"},
    {"4", "10 years or more"}, {"99", "Not known"},
};

static const tdi_code needle_sharing_codes[] = {
    {"1", "Never shared"},
    {"2", "Ever shared (timing not known)"},
    {"2.1", "Shared, not in the last 12 months"},
    {"2.2", "Shared in the last 12 months, not in the last 30 days"},
    {"2.3", "Shared in the last 30 days"},
    {"3", "Does not want to answer"},
    {"99", "Not known"},
};

/* HIV and HCV testing share their codes. */
static const tdi_code testing_codes[] = {
    {"1", "Never tested"},
    {"2", "Ever tested (timing not known)"},
    {"2.1", "Tested, not in the last 12 months"},
    {"2.2", "Tested in the last 12 months"},
    {"3", "Does not want to answer"},
    {"99", "Not known"},
};

static const tdi_code ost_codes[] = {
    {"1", "Never in opioid substitution treatment"},
    {"2", "Ever in opioid substitution treatment, not currently"},
    {"3", "Currently in opioid substitution treatment"},
    {"99", "Not known"},
};

static const tdi_code years_since_first_ost_codes[] = {
    {"0", "Less than 1 year"},
    {"1", "1 year"},
    {"2", "2 years"},
    {"3", "3 years"},
    {"4", "4 years"},
    {"5", "5 years"},
    {"6", "6 years"},
    {"7", "7 years"},
    {"8", "8 years"},
    {"9", "9 years"},
    {"10", "10 years"},
    {"11-15", "11 to 15 years"},
    {"16+", "More than 15 years"},
    {"99", "Not known"},
};

/* Why a closed episode ended (TEDS-D's reason for discharge, grouped). */
static const tdi_code discharge_reason_codes[] = {
    {"completed", "Treatment completed"},
    {"dropped_out", "Dropped out (left against advice, did not return)"},
    {"referred_on", "Referred on to another programme"},
    {"transferred", "Transferred to another unit of the same provider"},
    {"incarcerated", "Incarcerated"},
    {"died", "Died"},
    {"other", "Other"},
    {"not_known", "Not known"},
};

/* Continuity of care: what the person was referred to after the stay. */
static const tdi_code aftercare_codes[] = {
    {"none", "No referral to continuing care"},
    {"outpatient", "Outpatient treatment or counselling"},
    {"self_help", "Self-help or mutual-aid group"},
    {"housing", "Supported or recovery housing"},
    {"other", "Other continuing care"},
    {"not_known", "Not known"},
};

/* Length of stay in days, generalised (the date never leaves, only the band). */
static const tdi_code stay_band_codes[] = {
    {"0-7", "0 to 7 days"},        {"8-28", "8 to 28 days"},       {"29-90", "29 to 90 days"},
    {"91-180", "91 to 180 days"},  {"181-365", "181 to 365 days"}, {"366+", "More than 365 days"},
    {"open", "Open: no end date"}, {"not_known", "Not known"},
};

/* The last day of each band of stay_band_codes, in order; then "open". */
static const long stay_band_last_day[] = {7, 28, 90, 180, 365};

#pragma GCC diagnostic pop

/* name, label, code list, crosswalk item, fallback item, conditional; the last code of every list
 * is its "not known". */
#define ITEM(nm, lbl, list, cw, fb, cond)                                                          \
    {                                                                                              \
        nm, lbl, list, COUNT(list), COUNT(list) - 1, cw, fb, cond                                  \
    }
#define MAPPED(nm, lbl, list) ITEM(nm, lbl, list, nm, -1, 0)
#define SECONDARY(nm, lbl)                                                                         \
    ITEM(nm, lbl, secondary_drug_codes, "secondary_drug", TDI_ITEM_PRIMARY_DRUG, 0)

static const tdi_item_def items[TDI_ITEM_COUNT] = {
    [TDI_ITEM_SETTING] = MAPPED("setting", "Setting class", setting_codes),
    [TDI_ITEM_CENTRE_TYPE] =
        ITEM("centre_type", "Type of treatment centre", centre_type_codes, NULL, -1, 0),
    [TDI_ITEM_RESIDENTIAL_APPROACH] =
        ITEM("residential_approach", "Therapeutic approach of residential treatment",
             residential_approach_codes, "residential_approach", -1, 1),
    [TDI_ITEM_PLANNED_DURATION] = ITEM("planned_duration", "Planned duration of residential stay",
                                       planned_duration_codes, "planned_duration", -1, 1),
    [TDI_ITEM_DETOX_PHASE] = ITEM("detox_phase", "Residential programme starts with detoxification",
                                  detox_phase_codes, "detox_phase", -1, 1),
    [TDI_ITEM_SEX] = MAPPED("sex", "Sex", sex_codes),
    [TDI_ITEM_AGE_BAND] = MAPPED("age_band", "Age group at treatment start", age_band_codes),
    [TDI_ITEM_NATIONALITY] =
        MAPPED("nationality", "Nationality (country group)", nationality_codes),
    [TDI_ITEM_TREATMENT_STATUS] =
        MAPPED("treatment_status", "Ever previously treated", treatment_status_codes),
    [TDI_ITEM_REFERRAL_SOURCE] =
        MAPPED("referral_source", "Source of referral", referral_source_codes),
    [TDI_ITEM_LIVING_WITH] = MAPPED("living_with", "Living status (with whom)", living_with_codes),
    [TDI_ITEM_LIVING_WITH_CHILDREN] =
        MAPPED("living_with_children", "Living with children", living_with_children_codes),
    [TDI_ITEM_LIVING_WHERE] = MAPPED("living_where", "Living status (where)", living_where_codes),
    [TDI_ITEM_EDUCATION] =
        MAPPED("education", "Highest educational level completed", education_codes),
    [TDI_ITEM_LABOUR_STATUS] = MAPPED("labour_status", "Labour status", labour_status_codes),
    [TDI_ITEM_PRIMARY_DRUG] = MAPPED("primary_drug", "Primary drug", drug_codes),
    [TDI_ITEM_ROUTE] = MAPPED("route", "Usual route of administration", route_codes),
    [TDI_ITEM_FREQUENCY] =
        MAPPED("frequency", "Frequency of use in the last 30 days", frequency_codes),
    [TDI_ITEM_FIRST_USE_AGE_BAND] =
        MAPPED("first_use_age_band", "Age group at first use of the primary drug", age_band_codes),
    [TDI_ITEM_SECONDARY_DRUG_1] = SECONDARY("secondary_drug_1", "First secondary drug"),
    [TDI_ITEM_SECONDARY_DRUG_2] = SECONDARY("secondary_drug_2", "Second secondary drug"),
    [TDI_ITEM_SECONDARY_DRUG_3] = SECONDARY("secondary_drug_3", "Third secondary drug"),
    [TDI_ITEM_SECONDARY_DRUG_4] = SECONDARY("secondary_drug_4", "Fourth secondary drug"),
    [TDI_ITEM_POLYDRUG] = MAPPED("polydrug", "Polydrug use problem", polydrug_codes),
    [TDI_ITEM_INJECTING] = MAPPED("injecting", "Injecting behaviour (any drug)", injecting_codes),
    [TDI_ITEM_YEARS_SINCE_FIRST_INJECTION] =
        ITEM("years_since_first_injection", "Years since first injection",
             years_since_first_injection_codes, NULL, -1, 1),
    [TDI_ITEM_NEEDLE_SHARING] =
        MAPPED("needle_sharing", "Needle or syringe sharing", needle_sharing_codes),
    [TDI_ITEM_HIV_TESTING] = MAPPED("hiv_testing", "HIV testing", testing_codes),
    [TDI_ITEM_HCV_TESTING] = MAPPED("hcv_testing", "HCV testing", testing_codes),
    [TDI_ITEM_OST] = MAPPED("ost", "Opioid substitution treatment", ost_codes),
    [TDI_ITEM_YEARS_SINCE_FIRST_OST] =
        ITEM("years_since_first_ost", "Years since first opioid substitution treatment",
             years_since_first_ost_codes, NULL, -1, 1),
    [TDI_ITEM_DISCHARGE_REASON] = ITEM("discharge_reason", "Reason for discharge",
                                       discharge_reason_codes, "discharge_reason", -1, 1),
    [TDI_ITEM_AFTERCARE] = ITEM("aftercare", "Referral to continuing care after discharge",
                                aftercare_codes, "aftercare", -1, 1),
    [TDI_ITEM_STAY_BAND] = ITEM("stay_band", "Length of stay", stay_band_codes, NULL, -1, 1),
};

const tdi_item_def *tdi_item_get(tdi_item item)
{
    if ((unsigned)item >= TDI_ITEM_COUNT)
        return NULL;
    return &items[item];
}

const char *tdi_item_default(tdi_item item)
{
    const tdi_item_def *def = tdi_item_get(item);

    return def && !def->conditional ? def->codes[def->not_known].code : NULL;
}

const tdi_item_def *tdi_item_by_name(const char *name, tdi_item *item_out)
{
    for (size_t i = 0; i < TDI_ITEM_COUNT; i++) {
        if (strcmp(items[i].name, name) == 0) {
            if (item_out)
                *item_out = (tdi_item)i;
            return &items[i];
        }
    }
    return NULL;
}

const tdi_item_def *tdi_item_by_cw_name(const char *cw_name, tdi_item *item_out)
{
    for (size_t i = 0; i < TDI_ITEM_COUNT; i++) {
        if (items[i].cw_name && strcmp(items[i].cw_name, cw_name) == 0) {
            if (item_out)
                *item_out = (tdi_item)i;
            return &items[i];
        }
    }
    return NULL;
}

int tdi_in_population(unsigned primary_drug)
{
    return primary_drug < COUNT(drug_codes) && !drug_codes[primary_drug].outside;
}

unsigned tdi_stay_band(long days)
{
    size_t i = 0;

    if (days < 0)
        return (unsigned)COUNT(stay_band_codes) - 2; /* open */
    while (i < COUNT(stay_band_last_day) && days > stay_band_last_day[i])
        i++;
    return (unsigned)i; /* past the last: 366+ */
}

int tdi_code_index(const tdi_item_def *def, const char *code)
{
    for (size_t i = 0; i < def->ncodes; i++)
        if (strcmp(def->codes[i].code, code) == 0)
            return (int)i;
    return -1;
}
