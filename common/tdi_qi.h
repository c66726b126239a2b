/*
 * tdi_qi: the quasi-identifiers of a published record and what blanking one of them means.
 *
 * The re-identification check (README.md, "Re-identification check") groups a body's records by
 * a configured set of quasi-identifiers; where the smallest group is too small, the body's
 * records are published with quasi-identifiers blanked in a configured order. This module owns
 * the names, the tuple of a record as the state database keeps it (already generalised values
 * only: what the body's file shows, never an identifier), and the blanking of a record.
 */
#ifndef TDI_QI_H
#define TDI_QI_H

#include "tdi_record.h"

#include <stddef.h>

/* In the order of the stored tuple (never reorder: the state database keeps tuples). */
typedef enum tdi_qi {
    TDI_QI_SEX,
    TDI_QI_AGE_BAND,
    TDI_QI_NATIONALITY,
    TDI_QI_REGION,
    TDI_QI_YEAR,
    TDI_QI_CENTRE_TYPE,
    TDI_QI_QUARTER,
    TDI_QI_CENTRE,
    TDI_QI_COUNT
} tdi_qi;

/* The sensitive items whose distinct values per group are counted (l-diversity). */
#define TDI_QI_NSENSITIVE 4
extern const tdi_item tdi_qi_sensitive[TDI_QI_NSENSITIVE];

#define TDI_QI_TUPLE_MAX    128  /* "|"-joined tuple of a record, NUL included */
#define TDI_QI_REGION_BLANK "99" /* the region code of a record whose region is blanked */

/* "sex", "age_band", ...: the config names, which are the XML attributes. */
const char *tdi_qi_name(tdi_qi qi);
/* The quasi-identifier of that name, or -1. */
int tdi_qi_by_name(const char *name);
/* 1 when the quasi-identifier can be blanked (year and centre cannot: a body's file is one
 * year, and the centre code is what the receiving body needs to act on a record). */
int tdi_qi_blankable(tdi_qi qi);

/* The record's quasi-identifiers, "|"-joined in tdi_qi order, and its sensitive items likewise.
 * Only codes and region/centre codes: COPY-safe, no identifier. */
void tdi_qi_tuple(const tdi_record *rec, char out[TDI_QI_TUPLE_MAX]);
void tdi_qi_sensitive_tuple(const tdi_record *rec, char out[TDI_QI_TUPLE_MAX]);

/* Blanks qi in rec: a coded item becomes its "not known" code (blanking the centre type also
 * makes the setting not known and leaves the residential attributes out, as the setting gives
 * the centre type away), the region becomes TDI_QI_REGION_BLANK, the quarter is left out. */
void tdi_qi_blank(tdi_record *rec, tdi_qi qi);

#endif
