#define _GNU_SOURCE /* memmem */
/* Fuzz target: the configuration reader (tdi_config_load) on arbitrary bytes. */
#include "../../common/tdi_config.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tdi_config *cfg = NULL;

    /* query_file may name any file; a device or /proc file could block or stream forever, and
     * reading them is not the config reader's logic: leave those inputs out. */
    if (memmem(data, size, "/dev", 4) || memmem(data, size, "/proc", 5) ||
        memmem(data, size, "/sys", 4))
        return -1;
    if (tdi_config_load(fuzz_file(data, size, ".conf"), &cfg) == TDI_OK) {
        for (size_t b = 0; b < cfg->nbodies; b++)
            for (size_t s = 0; s < cfg->nsources; s++)
                (void)tdi_config_body_takes(&cfg->bodies[b], cfg->sources[s].region, "C");
    }
    tdi_config_free(cfg);
    return 0;
}
