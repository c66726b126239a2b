/*
 * rpt_link: the links between the cells of a body's table families that count the same records,
 * so that suppression (one linked set, disclosure/dc_suppress.c) treats them as one.
 */
#ifndef RPT_LINK_H
#define RPT_LINK_H

#include "rpt_tables.h"

#include "../disclosure/disclosure.h"

#include "../common/tdi_status.h"

#include <stddef.h>

/* Links the cells of families fams[0..n) (grid k of set is fams[k].grid) that count the same
 * records by definition (e.g. a cell of 8.1.1 and a total of 9.1.2): an exact relation each, so
 * suppression treats them as one. A measure's number is linked to its linked table: total = not
 * known + number (+ the records banded without a value). TDI_ERR_INTERNAL when out of memory. */
tdi_status rpt_link_tables(const rpt_family *fams, size_t n, dc_set *set);

#endif
