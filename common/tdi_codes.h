/*
 * tdi_codes: the TDI Protocol 3.0 items and their code lists, as data.
 *
 * One table per item, each code with the workbook's code and label. The same codes are listed as
 * enumerations in schemas/tdi-submission.xsd; tests/unit/test_codes.c checks the two agree.
 * An item's name is its stable id: the crosswalk item name and the XML attribute name.
 */
#ifndef TDI_CODES_H
#define TDI_CODES_H

#include <stddef.h>

typedef enum tdi_item {
    TDI_ITEM_SETTING,          /* setting class (residential typology) */
    TDI_ITEM_CENTRE_TYPE,      /* derived from the setting class */
    TDI_ITEM_SEX,
    TDI_ITEM_TREATMENT_STATUS, /* ever previously treated */
    TDI_ITEM_PRIMARY_DRUG,
    TDI_ITEM_ROUTE,            /* usual route of the primary drug */
    TDI_ITEM_COUNT
} tdi_item;

typedef struct tdi_code {
    const char *code;  /* workbook code as written in the XML, e.g. "1.1" */
    const char *label; /* English label, for documentation and reports */
} tdi_code;

typedef struct tdi_item_def {
    const char *name;      /* stable id: crosswalk item and XML attribute */
    const char *label;     /* human-readable item name */
    const tdi_code *codes; /* the code list */
    size_t ncodes;
    size_t not_known;      /* index of the "not known" code in codes */
    int mapped;            /* 1 when a crosswalk maps local codes onto it, 0 when derived */
} tdi_item_def;

const tdi_item_def *tdi_item_get(tdi_item item);
/* The item with that stable name, or NULL. */
const tdi_item_def *tdi_item_by_name(const char *name, tdi_item *item_out);
/* Index of code in the item's list, or -1. */
int tdi_code_index(const tdi_item_def *def, const char *code);

#endif
