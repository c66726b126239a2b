/*
 * tdi_codes: the TDI Protocol 3.0 items and their code lists, as data.
 *
 * One table per item, each code with the workbook's code and label. The same codes are listed in
 * the documentation of the item's type in schemas/tdi-submission.xsd, and its pattern accepts
 * exactly them; tests/unit/test_codes.c checks the two agree.
 * An item's name is its stable id: the XML attribute name and, for items a crosswalk maps, the
 * crosswalk item name (cw_name; the four secondary drugs share one: secondary_drug).
 */
#ifndef TDI_CODES_H
#define TDI_CODES_H

#include <stddef.h>

/* In the order of the XML attributes. */
typedef enum tdi_item {
    TDI_ITEM_SETTING,              /* setting class (residential typology) */
    TDI_ITEM_CENTRE_TYPE,          /* derived from the setting class */
    TDI_ITEM_RESIDENTIAL_APPROACH, /* residential classes only */
    TDI_ITEM_PLANNED_DURATION,     /* residential classes only */
    TDI_ITEM_DETOX_PHASE,          /* residential classes only */
    TDI_ITEM_SEX,
    TDI_ITEM_AGE_BAND, /* from the age, or crosswalked from a source's own bands */
    TDI_ITEM_NATIONALITY,
    TDI_ITEM_TREATMENT_STATUS, /* ever previously treated */
    TDI_ITEM_REFERRAL_SOURCE,
    TDI_ITEM_LIVING_WITH,
    TDI_ITEM_LIVING_WITH_CHILDREN,
    TDI_ITEM_LIVING_WHERE,
    TDI_ITEM_EDUCATION,
    TDI_ITEM_LABOUR_STATUS,
    TDI_ITEM_PRIMARY_DRUG,
    TDI_ITEM_ROUTE,              /* usual route of the primary drug */
    TDI_ITEM_FREQUENCY,          /* of the primary drug, last 30 days */
    TDI_ITEM_FIRST_USE_AGE_BAND, /* age at first use of the primary drug, banded */
    TDI_ITEM_SECONDARY_DRUG_1,
    TDI_ITEM_SECONDARY_DRUG_2,
    TDI_ITEM_SECONDARY_DRUG_3,
    TDI_ITEM_SECONDARY_DRUG_4,
    TDI_ITEM_POLYDRUG,
    TDI_ITEM_INJECTING,                   /* injecting behaviour, any drug */
    TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, /* derived; ever-injectors only */
    TDI_ITEM_NEEDLE_SHARING,
    TDI_ITEM_HIV_TESTING,
    TDI_ITEM_HCV_TESTING,
    TDI_ITEM_OST,                   /* opioid substitution treatment status */
    TDI_ITEM_YEARS_SINCE_FIRST_OST, /* derived; persons ever in OST only */
    TDI_ITEM_DISCHARGE_REASON,      /* closed episodes (an end date) only */
    TDI_ITEM_AFTERCARE,             /* referral to continuing care; closed episodes only */
    TDI_ITEM_STAY_BAND, /* derived: length of stay as a band, "open" without an end date; only
                         * for sources that have an end_date column */
    TDI_ITEM_COUNT
} tdi_item;

typedef struct tdi_code {
    const char *code;  /* workbook code as written in the XML, e.g. "1.1" */
    const char *label; /* English label, for documentation and reports */
    int outside;       /* primary drug list: 1 for a problem outside the TDI population (alcohol,
                        * gambling, gaming, tobacco, other non-drug behaviour); see
                        * tdi_in_population() */
} tdi_code;

typedef struct tdi_item_def {
    const char *name;      /* stable id: the XML attribute */
    const char *label;     /* human-readable item name */
    const tdi_code *codes; /* the code list */
    size_t ncodes;
    size_t not_known;    /* index of the "not known" code in codes */
    const char *cw_name; /* crosswalk item that maps local codes onto it; NULL: derived only */
    int fallback;        /* a tdi_item whose crosswalk lines are tried when cw_name has none
                          * for a local code, or -1 (secondary drugs fall back on primary_drug) */
    int conditional;     /* 1: does not apply to every episode; then the attribute is left out */
} tdi_item_def;

const tdi_item_def *tdi_item_get(tdi_item item);
/* The item's attribute default in the submission (schema 2.4 on): its "not known" code, which
 * the writer leaves out and every reader puts back when absent. NULL for a conditional item
 * (absent there means "does not apply") and for an item out of range. */
const char *tdi_item_default(tdi_item item);
/* The item whose XML attribute is name, or NULL. */
const tdi_item_def *tdi_item_by_name(const char *name, tdi_item *item_out);
/* The first item a crosswalk item of that name maps, or NULL: crosswalk entries are kept under
 * that item. */
const tdi_item_def *tdi_item_by_cw_name(const char *cw_name, tdi_item *item_out);
/* The TDI population, defined here and nowhere else (tdi-protocol.md, "All treatment entrants",
 * "Alcohol"): 1 when an episode whose primary drug has index primary_drug in the primary drug's
 * code list is a treatment for a drug, "not known" included (the workbook's primary-drug tables
 * have a row 99). Only such an episode can be a treatment entrant, make a person's first start or
 * count in a table; the others stay in the submission. 0 for an index out of the list. */
int tdi_in_population(unsigned primary_drug);
/* What an entrant count counts, said with every such count (summary, manifest, status). */
#define TDI_POPULATION "entrants (TDI population: first start for a drug)"
/* The stay_band index of a stay of days days (end date minus start date; 0 for a stay that
 * ends on the day it starts), the "open" code for days < 0 (no end date). The bands are
 * 0-7, 8-28, 29-90, 91-180, 181-365, 366+ (the 28 of the detox limit is a boundary). */
unsigned tdi_stay_band(long days);
/* Index of code in the item's list, or -1. */
int tdi_code_index(const tdi_item_def *def, const char *code);

#endif
