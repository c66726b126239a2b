/* tdi_codes: the code lists of the TDI items (workbook codes, 2022 edition). */
#include "tdi_codes.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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

static const tdi_code sex_codes[] = {
    {"1", "Male"},
    {"2", "Female"},
    {"99", "Not known"},
};

static const tdi_code treatment_status_codes[] = {
    {"1", "Never previously treated"},
    {"2", "Previously treated"},
    {"3", "Not known"},
};

static const tdi_code drug_codes[] = {
    {"1", "Opioids"},
    {"1.1", "Heroin"},
    {"1.2", "Methadone misused"},
    {"1.3", "Buprenorphine misused"},
    {"1.4", "Fentanyls misused"},
    {"1.5", "Other opioids"},
    {"2", "Cocaine"},
    {"2.1", "Powder cocaine"},
    {"2.2", "Crack cocaine"},
    {"2.3", "Other cocaine"},
    {"3", "Stimulants other than cocaine"},
    {"3.1", "Amphetamines"},
    {"3.2", "Methamphetamines"},
    {"3.3", "MDMA and derivatives"},
    {"3.4", "Synthetic cathinones"},
    {"3.5", "Other stimulants"},
    {"4", "Hypnotics and sedatives"},
    {"4.1", "Barbiturates misused"},
    {"4.2", "Benzodiazepines misused"},
    {"4.3", "GHB/GBL"},
    {"4.4", "Other hypnotics and sedatives"},
    {"5", "Hallucinogens"},
    {"5.1", "LSD"},
    {"5.2", "Ketamine"},
    {"5.3", "Other hallucinogens"},
    {"6", "Volatile inhalants"},
    {"7", "Cannabis"},
    {"7.1", "Herbal cannabis or resin"},
    {"7.2", "Synthetic cannabinoids"},
    {"7.3", "Other cannabis"},
    {"8", "Alcohol"},
    {"9", "Other substances"},
    {"99", "Not known"},
};

static const tdi_code route_codes[] = {
    {"1", "Inject"},
    {"2", "Smoke/inhale"},
    {"3", "Eat/drink"},
    {"4", "Sniff"},
    {"5", "Other"},
    {"99", "Not known"},
};

#define ITEM(nm, lbl, list, nk, mp) {nm, lbl, list, COUNT(list), nk, mp}

static const tdi_item_def items[TDI_ITEM_COUNT] = {
    [TDI_ITEM_SETTING] = ITEM("setting", "Setting class", setting_codes, 8, 1),
    [TDI_ITEM_CENTRE_TYPE] = ITEM("centre_type", "Type of treatment centre", centre_type_codes, 6, 0),
    [TDI_ITEM_SEX] = ITEM("sex", "Sex", sex_codes, 2, 1),
    [TDI_ITEM_TREATMENT_STATUS] =
        ITEM("treatment_status", "Ever previously treated", treatment_status_codes, 2, 1),
    [TDI_ITEM_PRIMARY_DRUG] = ITEM("primary_drug", "Primary drug", drug_codes, 32, 1),
    [TDI_ITEM_ROUTE] = ITEM("route", "Usual route of administration", route_codes, 5, 1),
};

const tdi_item_def *tdi_item_get(tdi_item item)
{
    if ((unsigned)item >= TDI_ITEM_COUNT)
        return NULL;
    return &items[item];
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

int tdi_code_index(const tdi_item_def *def, const char *code)
{
    for (size_t i = 0; i < def->ncodes; i++)
        if (strcmp(def->codes[i].code, code) == 0)
            return (int)i;
    return -1;
}
