/*
 * tx_region: generalisation of what a record would otherwise carry too precisely: the postcode
 * of residence becomes a region code through a configured map (NUTS-3 or the body's own region
 * list), the treatment start date its quarter. The postcode never leaves this module: it is
 * normalised into a buffer that is wiped after the lookup, and never logged.
 *
 * Map file (README.md, "Generalisation"): one `POSTCODE REGION` per line, blanks between (a
 * postcode that holds a blank in double quotes),
 * `#` starts a comment. Postcodes are compared normalised (A-Z upper-cased, blanks, `-` and `.`
 * dropped), so `1000`, `NL-1011 AB` and `1011ab` style variants match their line.
 */
#ifndef TX_REGION_H
#define TX_REGION_H

#include "../common/tdi_record.h"
#include "../common/tdi_status.h"

#include <stddef.h>

#define TX_POSTCODE_MAX 16 /* normalised postcode characters, NUL excluded */

typedef struct tx_region_map tx_region_map;

/* Reads path. Every bad line is logged as "PATH:LINE: message" (a line that is not two fields,
 * a postcode that is empty or too long after normalising, a region that is not 1-32 of
 * A-Z a-z 0-9 . _ -, a postcode given twice) and gives TDI_ERR_CONFIG. */
tdi_status tx_region_map_load(const char *path, tx_region_map **out);
void tx_region_map_free(tx_region_map *m);
size_t tx_region_map_size(const tx_region_map *m);

/* Normalises postcode into out (TX_POSTCODE_MAX + 1 bytes). Returns 0, or -1 when nothing is
 * left or it is too long or holds a character other than A-Z a-z 0-9 and the dropped ones. */
int tx_postcode_normalise(const char *postcode, char out[TX_POSTCODE_MAX + 1]);

/* The region code of postcode (as given in a row), or NULL when it is missing, not a postcode
 * or not in the map. The normalised copy is wiped before returning. */
const char *tx_region_of(const tx_region_map *m, const char *postcode);

/* The quarter (1-4) of a YYYYMMDD date, 0 when the month is not 1-12. */
int tx_quarter(int ymd);

#endif
