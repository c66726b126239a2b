/*
 * rpt_xlsx: libxlsxwriter, which writes the workbook (rpt_workbook.c), loaded when a workbook is
 * first written (common/tdi_dl.h: linked, it and the libraries it needs, OpenSSL's among them,
 * started with every command). rpt_xlsx.c defines the libxlsxwriter functions tdi calls, each
 * forwarding to libxlsxwriter.so.4; rpt_workbook.c includes xlsxwriter.h and calls them as
 * before, after rpt_xlsx_load().
 */
#ifndef RPT_XLSX_H
#define RPT_XLSX_H

#include "../common/tdi_status.h"

/* The library opened, by its soname (Debian: libxlsxwriter4). */
#define RPT_XLSX_LIBRARY "libxlsxwriter.so.4"

/* Loads libxlsxwriter (once a process; thread-safe). When it cannot be loaded, logs "PATH:
 * cannot write the workbook: the spreadsheet library libxlsxwriter.so.4 cannot be loaded:
 * REASON (...)" and returns TDI_ERR_OUTPUT. The test build opens $TDI_TEST_LIBXLSXWRITER instead
 * when it is set. */
tdi_status rpt_xlsx_load(const char *path);

#endif
