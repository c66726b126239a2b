/* rpt_xlsx: libxlsxwriter opened when a workbook is first written, its functions forwarded; see
 * rpt_xlsx.h. */
#include "rpt_xlsx.h"

#include "../common/tdi_dl.h"
#include "../common/tdi_log.h"

#include <xlsxwriter.h>

/* The libxlsxwriter functions tdi calls: X(type, name, (parameters), (arguments)), and those
 * returning nothing. A function added to tdi's calls goes here: the link fails until it does. */
#define XLSX_FUNCS(X)                                                                              \
    X(lxw_workbook *, workbook_new_opt, (const char *filename, lxw_workbook_options *options),     \
      (filename, options))                                                                         \
    X(lxw_worksheet *, workbook_add_worksheet, (lxw_workbook * workbook, const char *sheetname),   \
      (workbook, sheetname))                                                                       \
    X(lxw_format *, workbook_add_format, (lxw_workbook * workbook), (workbook))                    \
    X(lxw_error, workbook_close, (lxw_workbook * workbook), (workbook))                            \
    X(lxw_error, worksheet_write_number,                                                           \
      (lxw_worksheet * worksheet, lxw_row_t row, lxw_col_t col, double number,                     \
       lxw_format *format),                                                                        \
      (worksheet, row, col, number, format))                                                       \
    X(lxw_error, worksheet_write_string,                                                           \
      (lxw_worksheet * worksheet, lxw_row_t row, lxw_col_t col, const char *string,                \
       lxw_format *format),                                                                        \
      (worksheet, row, col, string, format))                                                       \
    X(lxw_error, worksheet_set_column,                                                             \
      (lxw_worksheet * worksheet, lxw_col_t first_col, lxw_col_t last_col, double width,           \
       lxw_format *format),                                                                        \
      (worksheet, first_col, last_col, width, format))                                             \
    X(uint32_t, lxw_name_to_row, (const char *row_str), (row_str))                                 \
    X(uint16_t, lxw_name_to_col, (const char *col_str), (col_str))                                 \
    X(char *, lxw_strerror, (lxw_error error_num), (error_num))
#define XLSX_VOIDS(X)                                                                              \
    X(format_set_text_wrap, (lxw_format * format), (format))                                       \
    X(format_set_align, (lxw_format * format, uint8_t alignment), (format, alignment))             \
    X(format_set_num_format, (lxw_format * format, const char *num_format), (format, num_format))  \
    X(format_set_bg_color, (lxw_format * format, lxw_color_t color), (format, color))

XLSX_FUNCS(TDI_DL_POINTER)
XLSX_VOIDS(TDI_DL_VOID_POINTER)

static const tdi_dl_slot slots[] = {XLSX_FUNCS(TDI_DL_SLOT) XLSX_VOIDS(TDI_DL_VOID_SLOT)};
static tdi_dl xlsx = TDI_DL_INIT(RPT_XLSX_LIBRARY, "TDI_TEST_LIBXLSXWRITER", slots);
#define TDI_DL_SELF xlsx

tdi_status rpt_xlsx_load(const char *path)
{
    if (tdi_dl_load(&xlsx))
        return TDI_OK;
    tdi_error("%s: cannot write the workbook: the spreadsheet library %s cannot be loaded: %s "
              "(Debian: apt-get install libxlsxwriter4)",
              path, tdi_dl_library(&xlsx), xlsx.failure);
    return TDI_ERR_OUTPUT;
}

XLSX_FUNCS(TDI_DL_FORWARD)
XLSX_VOIDS(TDI_DL_VOID_FORWARD)
