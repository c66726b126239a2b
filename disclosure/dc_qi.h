/*
 * dc_qi: the tuple of a record's quasi-identifiers and what blanking one of them means.
 *
 * The re-identification check (README.md, "Re-identification check") groups a body's records by
 * a configured set of quasi-identifiers; where the smallest group is too small, the body's
 * records are published with quasi-identifiers blanked in a configured order. Which items are
 * quasi-identifiers, and their names, is record data (tdi_qi in common/tdi_record.h); this
 * module owns the tuple of a record as the state database keeps it (already generalised values
 * only: what the body's file shows, never an identifier), and the blanking of a record.
 */
#ifndef DC_QI_H
#define DC_QI_H

#include "../common/tdi_record.h"

#include <stddef.h>

/* The sensitive items whose distinct values per group are counted (l-diversity). */
#define DC_QI_NSENSITIVE 4
extern const tdi_item dc_qi_sensitive[DC_QI_NSENSITIVE];

#define DC_QI_TUPLE_MAX    128  /* "|"-joined tuple of a record, NUL included */
#define DC_QI_REGION_BLANK "99" /* the region code of a record whose region is blanked */

/* The record's quasi-identifiers, "|"-joined in tdi_qi order, and its sensitive items likewise.
 * Only codes and region/centre codes: COPY-safe, no identifier. */
void dc_qi_tuple(const tdi_record *rec, char out[DC_QI_TUPLE_MAX]);
void dc_qi_sensitive_tuple(const tdi_record *rec, char out[DC_QI_TUPLE_MAX]);

/* Blanks qi in rec with every item linked to it (tdi_qi_links: the age band takes the age at
 * first use and the years since first injection and first OST along; the centre type the setting
 * and the residential attributes): a coded item becomes its "not known" code or is left out, the
 * region becomes DC_QI_REGION_BLANK, the quarter is left out. */
void dc_qi_blank(tdi_record *rec, tdi_qi qi);

#endif
