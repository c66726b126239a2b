/* rpt_xml: scoped libxml2 error handler and message cleaning; see rpt_xml.h. */
#include "rpt_xml.h"

#include "../common/tdi_text.h"

#include <libxml/globals.h>

#include <string.h>

#define MESSAGE_MAX 1024

void rpt_xml_capture(rpt_xml_guard *g, xmlStructuredErrorFunc fn, void *ctx)
{
    g->fn = xmlStructuredError;
    g->ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(ctx, fn);
}

void rpt_xml_restore(const rpt_xml_guard *g)
{
    xmlSetStructuredErrorFunc(g->ctx, g->fn);
}

void rpt_xml_message(char *dst, size_t len, const xmlError *err)
{
    char raw[MESSAGE_MAX];
    size_t n;

    snprintf(raw, sizeof raw, "%s", err && err->message ? err->message : "unknown error");
    n = strlen(raw);
    while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
        raw[--n] = '\0';
    /* Messages quote the document; a hostile file must not put control bytes in our log. */
    tdi_clean_value(dst, len, raw);
}
