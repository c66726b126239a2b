/*
 * tx_crosswalk: one source's crosswalk (local code -> TDI code, by effective date).
 *
 * Private to transform/. File format: see the comment at the top of tx_crosswalk.c.
 */
#ifndef TX_CROSSWALK_H
#define TX_CROSSWALK_H

#include "../common/tdi_codes.h"
#include "../common/tdi_status.h"

#include <stddef.h>

typedef struct tx_crosswalk tx_crosswalk;

/* Reads and checks the whole file. Each problem is logged as "PATH:LINE: message"; after the
 * last line, any problem makes it TDI_ERR_CROSSWALK and *out stays NULL. On success *out is
 * freed with tx_crosswalk_free(). */
tdi_status tx_crosswalk_load(const char *path, tx_crosswalk **out);
void tx_crosswalk_free(tx_crosswalk *cw);

/* Number of mappings loaded. */
size_t tx_crosswalk_size(const tx_crosswalk *cw);

/* Index into the item's code list of the mapping of local (blanks around it ignored) in force
 * on date_ymd (YYYYMMDD): the one with the latest VALID_FROM <= date_ymd. -1 when none. */
int tx_crosswalk_lookup(const tx_crosswalk *cw, tdi_item item, const char *local, int date_ymd);

#endif
