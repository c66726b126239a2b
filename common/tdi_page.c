/* tdi_page: the report page's figures (see tdi_page.h). */
#include "tdi_page.h"

#include <stdlib.h>
#include <string.h>

void tdi_page_free(tdi_page *r)
{
    if (!r)
        return;
    free(r->sources);
    free(r->files);
    free(r->history);
    free(r->years);
    free(r->items);
    free(r->bodies);
    free(r->cells);
    memset(r, 0, sizeof *r);
}
