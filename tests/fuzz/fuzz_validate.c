/* Fuzz target: the streaming validator (report_validate_file) on arbitrary bytes, plain XML or
 * gzip, against the real schema. tdi validate checks some attributes in code rather than by the
 * schema's patterns (report/rpt_xsd.h): an input it calls valid must also be valid, by libxml2
 * alone, under one of the schemas as published, and the same input followed by a NUL byte and
 * more (which libxml2 takes for the end of the input) must be refused, else the target aborts. */
#include "../../report/report.h"
#include "fuzz_common.h"

#include <libxml/xmlschemas.h>

#ifndef TDI_SCHEMA_DIR
#error "TDI_SCHEMA_DIR must name the schemas directory"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schemas[] = {"tdi-submission.xsd", "tdi-submission-2.1.xsd",
                                      "tdi-submission-1.xsd", "tdi-tables.xsd"};
#define NSCHEMAS (sizeof schemas / sizeof schemas[0])

static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

/* 1 when libxml2 alone finds the file at path valid under one of the published schemas (each
 * parsed once, kept for the process). */
static int valid_as_published(const char *path)
{
    static xmlSchemaPtr xsd[NSCHEMAS];

    xmlSetStructuredErrorFunc(NULL, quiet); /* tdi's own handler is back by now */

    for (size_t i = 0; i < NSCHEMAS; i++) {
        xmlSchemaValidCtxtPtr vc;
        int rc;

        if (!xsd[i]) {
            char file[512];
            xmlSchemaParserCtxtPtr pc;

            snprintf(file, sizeof file, "%s/%s", TDI_SCHEMA_DIR, schemas[i]);
            pc = xmlSchemaNewParserCtxt(file);
            xsd[i] = pc ? xmlSchemaParse(pc) : NULL;
            xmlSchemaFreeParserCtxt(pc);
            if (!xsd[i])
                abort(); /* the harness itself is broken */
        }
        vc = xmlSchemaNewValidCtxt(xsd[i]);
        if (!vc)
            abort();
        xmlSchemaSetValidStructuredErrors(vc, quiet, NULL);
        rc = xmlSchemaValidateFile(vc, path, 0);
        xmlSchemaFreeValidCtxt(vc);
        if (rc == 0)
            return 1;
    }
    return 0;
}

/* 1 when tdi validate refuses data followed by a NUL byte and text. */
static int refused_with_nul_after(const uint8_t *data, size_t size)
{
    static const char tail[] = "\0junk";
    uint8_t *buf = malloc(size + sizeof tail);
    int refused;

    if (!buf)
        abort();
    memcpy(buf, data, size);
    memcpy(buf + size, tail, sizeof tail - 1);
    refused = report_validate_file(fuzz_file(buf, size + sizeof tail - 1, ".xml"),
                                   TDI_SCHEMA_DIR) != TDI_OK;
    free(buf);
    return refused;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".xml");

    if (report_validate_file(path, TDI_SCHEMA_DIR) != TDI_OK)
        return 0;
    if (!valid_as_published(path))
        abort(); /* tdi validate passed what the published schemas refuse */
    if (!refused_with_nul_after(data, size))
        abort(); /* tdi validate passed bytes libxml2 never parsed */
    return 0;
}
