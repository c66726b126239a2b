/*
 * rpt_xml: libxml2's diagnostics into tdi_log.
 *
 * libxml2 reports some errors (I/O, memory, the writer, parts of the parser) on its global error
 * channel, which prints to stderr when no handler is set. report/ installs a handler for the
 * length of each call into libxml2 and puts the previous one back afterwards, so nothing slips
 * past tdi_log and other libxml2 users in the process keep theirs.
 */
#ifndef RPT_XML_H
#define RPT_XML_H

#include <libxml/xmlerror.h>

#include <stddef.h>

typedef struct rpt_xml_guard {
    xmlStructuredErrorFunc fn;
    void *ctx;
} rpt_xml_guard;

/* Makes fn(ctx, err) libxml2's structured error handler until rpt_xml_restore(g). */
void rpt_xml_capture(rpt_xml_guard *g, xmlStructuredErrorFunc fn, void *ctx);
void rpt_xml_restore(const rpt_xml_guard *g);

/* err's message for one log line: trailing newline dropped, non-printable bytes as '?',
 * truncated with "..." to fit. */
void rpt_xml_message(char *dst, size_t len, const xmlError *err);

#endif
