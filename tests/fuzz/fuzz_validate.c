/* Fuzz target: the streaming validator (report_validate_file) on arbitrary bytes, plain XML or
 * gzip, against the real schema. */
#include "../../report/report.h"
#include "fuzz_common.h"

#ifndef TDI_SCHEMA_DIR
#error "TDI_SCHEMA_DIR must name the schemas directory"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)report_validate_file(fuzz_file(data, size, ".xml"), TDI_SCHEMA_DIR);
    return 0;
}
