/* dc_qi: quasi-identifier tuples and blanking (see dc_qi.h). */
#include "dc_qi.h"

#include <stdio.h>
#include <string.h>

/* The coded item behind a quasi-identifier, -1 for the others. */
static const int item_of[TDI_QI_COUNT] = {
    [TDI_QI_SEX] = TDI_ITEM_SEX,
    [TDI_QI_AGE_BAND] = TDI_ITEM_AGE_BAND,
    [TDI_QI_NATIONALITY] = TDI_ITEM_NATIONALITY,
    [TDI_QI_REGION] = -1,
    [TDI_QI_YEAR] = -1,
    [TDI_QI_CENTRE_TYPE] = TDI_ITEM_CENTRE_TYPE,
    [TDI_QI_QUARTER] = -1,
    [TDI_QI_CENTRE] = -1,
};

const tdi_item dc_qi_sensitive[DC_QI_NSENSITIVE] = {TDI_ITEM_PRIMARY_DRUG, TDI_ITEM_INJECTING,
                                                    TDI_ITEM_HIV_TESTING, TDI_ITEM_HCV_TESTING};

/* The code of item in rec, "" when it does not apply. */
static const char *code_of(const tdi_record *rec, tdi_item item)
{
    const tdi_item_def *def = tdi_item_get(item);
    uint8_t c = rec->code[item];

    return c < def->ncodes ? def->codes[c].code : "";
}

void dc_qi_tuple(const tdi_record *rec, char out[DC_QI_TUPLE_MAX])
{
    snprintf(out, DC_QI_TUPLE_MAX, "%s|%s|%s|%s|%d|%s|%u|%s", code_of(rec, TDI_ITEM_SEX),
             code_of(rec, TDI_ITEM_AGE_BAND), code_of(rec, TDI_ITEM_NATIONALITY), rec->region,
             rec->year, code_of(rec, TDI_ITEM_CENTRE_TYPE), (unsigned)rec->quarter, rec->centre);
}

void dc_qi_sensitive_tuple(const tdi_record *rec, char out[DC_QI_TUPLE_MAX])
{
    snprintf(out, DC_QI_TUPLE_MAX, "%s|%s|%s|%s", code_of(rec, dc_qi_sensitive[0]),
             code_of(rec, dc_qi_sensitive[1]), code_of(rec, dc_qi_sensitive[2]),
             code_of(rec, dc_qi_sensitive[3]));
}

void dc_qi_blank(tdi_record *rec, tdi_qi qi)
{
    if ((unsigned)qi >= TDI_QI_COUNT || !tdi_qi_blankable(qi))
        return;
    if (item_of[qi] >= 0)
        rec->code[item_of[qi]] = (uint8_t)tdi_item_get((tdi_item)item_of[qi])->not_known;
    if (qi == TDI_QI_CENTRE_TYPE) {
        rec->code[TDI_ITEM_SETTING] = (uint8_t)tdi_item_get(TDI_ITEM_SETTING)->not_known;
        rec->code[TDI_ITEM_RESIDENTIAL_APPROACH] = TDI_CODE_NOT_APPLICABLE;
        rec->code[TDI_ITEM_PLANNED_DURATION] = TDI_CODE_NOT_APPLICABLE;
        rec->code[TDI_ITEM_DETOX_PHASE] = TDI_CODE_NOT_APPLICABLE;
    } else if (qi == TDI_QI_REGION) {
        snprintf(rec->region, sizeof rec->region, "%s", DC_QI_REGION_BLANK);
    } else if (qi == TDI_QI_QUARTER) {
        rec->quarter = 0;
    }
}
