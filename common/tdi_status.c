/* tdi_status: names and descriptions of the status codes, as one table. */
#include "tdi_status.h"

#include <stddef.h>

static const struct {
    const char *name;
    const char *text;
} status_table[TDI_STATUS_COUNT] = {
    [TDI_OK] = {"ok", "success"},
    [TDI_ERR_INTERNAL] = {"internal", "internal error or out of memory"},
    [TDI_ERR_USAGE] = {"usage", "invalid command line"},
    [TDI_ERR_CONFIG] = {"config", "configuration file is wrong or unreadable"},
    [TDI_ERR_KEY] = {"key", "pseudonymisation key missing, unreadable, too open or failing"},
    [TDI_ERR_SOURCE] = {"source",
                        "a clinic source failed: unreadable, repeated episode ids or empty"},
    [TDI_ERR_CROSSWALK] = {"crosswalk", "a crosswalk file is wrong or unreadable"},
    [TDI_ERR_OUTPUT] = {"output", "an output file could not be written or published"},
    [TDI_ERR_INVALID] = {"invalid", "a file failed schema validation"},
    [TDI_ERR_LOCKED] = {"locked", "another run is active"},
    [TDI_ERR_INTERRUPTED] = {"interrupted", "stopped by a signal"},
    [TDI_ERR_DISCLOSURE] = {"disclosure", "disclosure control could not be met"},
    [TDI_ERR_STATE] = {"state", "state database unreachable, not initialised or too old"},
    [TDI_ERR_CLOSED] = {"closed", "the reporting year is closed"},
};

const char *tdi_status_name(tdi_status st)
{
    if ((unsigned)st >= TDI_STATUS_COUNT)
        return "unknown";
    return status_table[st].name;
}

const char *tdi_status_text(tdi_status st)
{
    if ((unsigned)st >= TDI_STATUS_COUNT)
        return "unknown status";
    return status_table[st].text;
}
