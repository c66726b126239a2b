/* Fuzz target: the crosswalk reader (tx_crosswalk_load) on arbitrary bytes, then lookups. */
#include "../../transform/tx_crosswalk.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const locals[] = {"", "M", "HEROIN", "heroïne", " x ", "SPICE"};
    tx_crosswalk *cw = NULL;

    if (tx_crosswalk_load(fuzz_file(data, size, ".cw"), &cw) == TDI_OK) {
        for (int item = 0; item < TDI_ITEM_COUNT; item++)
            for (size_t i = 0; i < sizeof locals / sizeof locals[0]; i++) {
                (void)tx_crosswalk_lookup(cw, (tdi_item)item, locals[i], 20250701);
                (void)tx_crosswalk_lookup(cw, (tdi_item)item, locals[i], 19000101);
            }
        (void)tx_crosswalk_size(cw);
    }
    tx_crosswalk_free(cw);
    return 0;
}
