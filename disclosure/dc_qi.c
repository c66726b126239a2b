/* dc_qi: quasi-identifier tuples and blanking (see dc_qi.h). */
#include "dc_qi.h"

#include "../common/tdi_text.h"

#include <stdio.h>
#include <string.h>

const tdi_item dc_qi_sensitive[DC_QI_NSENSITIVE] = {TDI_ITEM_PRIMARY_DRUG, TDI_ITEM_INJECTING,
                                                    TDI_ITEM_HIV_TESTING, TDI_ITEM_HCV_TESTING};

/* The code of item in rec, "" when it does not apply. */
static const char *code_of(const tdi_record *rec, tdi_item item)
{
    const tdi_item_def *def = tdi_item_get(item);
    uint8_t c = rec->code[item];

    return c < def->ncodes ? def->codes[c].code : "";
}

/* parts joined by '|' into out: both tuples are made for every record (issue 16), so appended,
 * not printed. */
static void join(char out[DC_QI_TUPLE_MAX], const char *const *part, size_t nparts)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < nparts; i++) {
        if (i)
            n = tdi_append(out, DC_QI_TUPLE_MAX, n, "|");
        n = tdi_append(out, DC_QI_TUPLE_MAX, n, part[i]);
    }
}

void dc_qi_tuple(const tdi_record *rec, char out[DC_QI_TUPLE_MAX])
{
    char year[TDI_DECIMAL_MAX], quarter[TDI_DECIMAL_MAX];
    const char *part[] = {code_of(rec, TDI_ITEM_SEX),
                          code_of(rec, TDI_ITEM_AGE_BAND),
                          code_of(rec, TDI_ITEM_NATIONALITY),
                          rec->region,
                          year,
                          code_of(rec, TDI_ITEM_CENTRE_TYPE),
                          quarter,
                          rec->centre};

    tdi_decimal(year, rec->year);
    tdi_decimal(quarter, rec->quarter);
    join(out, part, sizeof part / sizeof part[0]);
}

void dc_qi_sensitive_tuple(const tdi_record *rec, char out[DC_QI_TUPLE_MAX])
{
    const char *part[DC_QI_NSENSITIVE];

    for (size_t i = 0; i < DC_QI_NSENSITIVE; i++)
        part[i] = code_of(rec, dc_qi_sensitive[i]);
    join(out, part, DC_QI_NSENSITIVE);
}

void dc_qi_blank(tdi_record *rec, tdi_qi qi)
{
    if ((unsigned)qi >= TDI_QI_COUNT || !tdi_qi_blankable(qi))
        return;
    /* the qi's own item and every item that bounds it (common/tdi_record.c) */
    for (size_t i = 0; i < tdi_qi_nlinks; i++) {
        const tdi_qi_link *l = &tdi_qi_links[i];
        uint8_t *c = &rec->code[l->item];

        if (l->qi != qi)
            continue;
        if (l->to == TDI_QI_TO_NOT_APPLICABLE)
            *c = TDI_CODE_NOT_APPLICABLE;
        else if (*c != TDI_CODE_NOT_APPLICABLE)
            *c = (uint8_t)tdi_item_get(l->item)->not_known;
    }
    if (qi == TDI_QI_REGION)
        snprintf(rec->region, sizeof rec->region, "%s", DC_QI_REGION_BLANK);
    else if (qi == TDI_QI_QUARTER)
        rec->quarter = 0;
}
