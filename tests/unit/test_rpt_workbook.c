/*
 * Unit tests for report/rpt_workbook (report_workbook_write, report_workbook_publish): a small
 * tables file written by hand against schemas/tdi-tables.xsd becomes a workbook, which is read
 * back independently of libxlsxwriter: `unzip -p` takes out the sheet, the shared strings and
 * the styles, libxml2 parses them, and each cell is looked up by its A1 name. A label of the
 * form, a number at its form cell, a suppressed cell as "c" on grey, the methodological cells;
 * then the error paths (invalid tables file, unwritable output, a missing or bad layout).
 */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_version.h"
#include "../../report/report.h"
#include "test_log.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_ID "20260105T040000Z"
#define NS     "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define ROOT                                                                                       \
    "<tables xmlns=\"urn:tdi:tables:1\" schemaVersion=\"1.0\" body=\"nl\" year=\"2025\" "          \
    "runId=\"" RUN_ID "\" generated=\"2026-01-05T04:00:00Z\" countingLevel=\"%s\" "                \
    "threshold=\"5\" suppressedCells=\"1\">\n"
/* Table 8.1.1 at rows 179-182, columns B-I of the form; 11.1.1 at rows 448.., columns B-J; the
 * code zzz and table 99.9.99 have no place in the form. */
#define TABLES                                                                                     \
    "<table id=\"8.1.1\" title=\"t\" variant=\"all\" rows=\"treatment_status\" "                   \
    "columns=\"centre_type\">\n"                                                                   \
    "<cell row=\"1\" column=\"1\" value=\"12\"/>\n"                                                \
    "<suppressed row=\"2\" column=\"1\"/>\n"                                                       \
    "<cell row=\"3\" column=\"99\" value=\"0\"/>\n"                                                \
    "<cell row=\"1\" column=\"zzz\" value=\"5\"/>\n"                                               \
    "<cell row=\"total\" column=\"total\" value=\"40\"/>\n"                                        \
    "</table>\n"                                                                                   \
    "<table id=\"11.1.1\" title=\"t\" variant=\"all\" rows=\"primary_drug\" "                      \
    "columns=\"statistics\">\n"                                                                    \
    "<cell row=\"1.1\" column=\"age_mean\" value=\"34.50\"/>\n"                                    \
    "<empty row=\"1.1\" column=\"first_use_mean\"/>\n"                                             \
    "</table>\n"                                                                                   \
    "<table id=\"99.9.99\" title=\"t\" variant=\"all\" rows=\"sex\" columns=\"sex\">\n"            \
    "<cell row=\"1\" column=\"1\" value=\"7\"/>\n"                                                 \
    "</table>\n"                                                                                   \
    "</tables>\n"

typedef struct fixture {
    char dir[64];
    char tables[128]; /* DIR/tdi-nl-2025-RUNID.tables.xml */
    test_log log;
} fixture;

/* The parts of a workbook, parsed. */
typedef struct book {
    xmlDocPtr sheet, strings, styles;
} book;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    char text[4096];

    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-workbook-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->tables, sizeof fx->tables, "%s/tdi-nl-2025-" RUN_ID ".tables.xml", fx->dir);
    snprintf(text, sizeof text, ROOT TABLES, "national");
    assert_int_equal(test_fs_write(fx->tables, text), 0);
    test_log_start(&fx->log);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    test_log_stop();
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* One member of the zip at path, parsed (unzip -p: Debian's unzip, installed by the Makefile). */
static xmlDocPtr member(const char *path, const char *name)
{
    char cmd[512], *text = NULL;
    size_t len = 0, n;
    FILE *fp;
    xmlDocPtr doc;

    snprintf(cmd, sizeof cmd, "unzip -p '%s' '%s'", path, name);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    for (;;) {
        text = realloc(text, len + 65536);
        assert_non_null(text);
        n = fread(text + len, 1, 65536, fp);
        len += n;
        if (n == 0)
            break;
    }
    assert_int_equal(pclose(fp), 0);
    doc = xmlReadMemory(text, (int)len, name, NULL, XML_PARSE_NONET);
    free(text);
    assert_non_null(doc);
    return doc;
}

static book open_book(const char *path)
{
    book b = {member(path, "xl/worksheets/sheet1.xml"), member(path, "xl/sharedStrings.xml"),
              member(path, "xl/styles.xml")};
    return b;
}

static void close_book(book *b)
{
    xmlFreeDoc(b->sheet);
    xmlFreeDoc(b->strings);
    xmlFreeDoc(b->styles);
}

/* The text of the first node expr selects in doc (a copy), or NULL when it selects none. */
static char *xpath_text(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr obj;
    char *text = NULL;

    assert_non_null(ctx);
    assert_int_equal(xmlXPathRegisterNs(ctx, (const xmlChar *)"s", (const xmlChar *)NS), 0);
    obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    assert_non_null(obj);
    if (obj->nodesetval && obj->nodesetval->nodeNr > 0) {
        xmlChar *c = xmlNodeGetContent(obj->nodesetval->nodeTab[0]);
        text = strdup((const char *)c);
        xmlFree(c);
    }
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return text;
}

/* What cell ref (A1) shows: a number as written, a string (shared or inline) as its text; NULL
 * when the cell is not in the sheet. The caller frees it. */
static char *cell(const book *b, const char *ref)
{
    char expr[256], *type, *v;

    snprintf(expr, sizeof expr, "//s:sheetData/s:row/s:c[@r='%s']", ref);
    v = xpath_text(b->sheet, expr);
    if (!v)
        return NULL;
    free(v);
    snprintf(expr, sizeof expr, "//s:sheetData/s:row/s:c[@r='%s']/@t", ref);
    type = xpath_text(b->sheet, expr);
    snprintf(expr, sizeof expr, "//s:sheetData/s:row/s:c[@r='%s']/%s", ref,
             type && strcmp(type, "inlineStr") == 0 ? "s:is" : "s:v");
    v = xpath_text(b->sheet, expr);
    if (type && strcmp(type, "s") == 0) {
        assert_non_null(v);
        snprintf(expr, sizeof expr, "/s:sst/s:si[%d]", atoi(v) + 1);
        free(v);
        v = xpath_text(b->strings, expr);
    }
    free(type);
    return v;
}

static void assert_cell(const book *b, const char *ref, const char *want)
{
    char *got = cell(b, ref);

    if (!want && got)
        fail_msg("%s holds \"%s\", want nothing", ref, got);
    if (want && !got)
        fail_msg("%s is not in the sheet, want \"%s\"", ref, want);
    if (want)
        assert_string_equal(got, want);
    free(got);
}

/* The background colour of cell ref (styles: cellXfs -> fills), or NULL when it has none. */
static char *cell_fill(const book *b, const char *ref)
{
    char expr[256], *style, *fill, *rgb;

    snprintf(expr, sizeof expr, "//s:sheetData/s:row/s:c[@r='%s']/@s", ref);
    style = xpath_text(b->sheet, expr);
    if (!style)
        return NULL;
    snprintf(expr, sizeof expr, "/s:styleSheet/s:cellXfs/s:xf[%d]/@fillId", atoi(style) + 1);
    fill = xpath_text(b->styles, expr);
    assert_non_null(fill);
    snprintf(expr, sizeof expr, "/s:styleSheet/s:fills/s:fill[%d]/s:patternFill/s:fgColor/@rgb",
             atoi(fill) + 1);
    rgb = xpath_text(b->styles, expr);
    free(style);
    free(fill);
    return rgb;
}

/* The number format of cell ref ("0.00"), or NULL for the general one. */
static char *cell_format(const book *b, const char *ref)
{
    char expr[256], *style, *id, *code;

    snprintf(expr, sizeof expr, "//s:sheetData/s:row/s:c[@r='%s']/@s", ref);
    style = xpath_text(b->sheet, expr);
    if (!style)
        return NULL;
    snprintf(expr, sizeof expr, "/s:styleSheet/s:cellXfs/s:xf[%d]/@numFmtId", atoi(style) + 1);
    id = xpath_text(b->styles, expr);
    assert_non_null(id);
    snprintf(expr, sizeof expr, "/s:styleSheet/s:numFmts/s:numFmt[@numFmtId='%s']/@formatCode", id);
    code = xpath_text(b->styles, expr);
    free(style);
    free(id);
    return code;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Nothing in dir but the tables file (no workbook, no temp file). */
static void only_tables_left(const fixture *fx)
{
    char cmd[256];
    FILE *fp;
    char line[256];
    int n = 0;

    snprintf(cmd, sizeof cmd, "ls -A '%s'", fx->dir);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp)) {
        assert_string_equal(line, "tdi-nl-2025-" RUN_ID ".tables.xml\n");
        n++;
    }
    assert_int_equal(pclose(fp), 0);
    assert_int_equal(n, 1);
}

static void write_and_read_back(void **state)
{
    fixture *fx = *state;
    report_workbook_info info;
    char out[128], notes[512], *s;
    book b;

    snprintf(out, sizeof out, "%s/form.xlsx", fx->dir);
    assert_int_equal(report_workbook_write(fx->tables, TDI_SCHEMA_DIR, out, &info), TDI_OK);
    assert_string_equal(fx->log.text, "");
    assert_string_equal(info.body, "nl");
    assert_string_equal(info.run_id, RUN_ID);
    assert_string_equal(info.counting_level, "national");
    assert_int_equal(info.year, 2025);
    assert_int_equal(info.threshold, 5);
    assert_int_equal(info.numbers, 4); /* 12, 0, 40, 34.50: not zzz, not table 99.9.99 */
    assert_int_equal(info.suppressed, 1);
    assert_int_equal(strlen(info.sha256), 64);

    b = open_book(out);
    /* labels of the form */
    assert_cell(&b, "A24", "2.1.1 EMCDDA collection year");
    assert_cell(&b, "A25", "2015");
    assert_cell(&b, "A179", "1. Never previously treated");
    assert_cell(&b, "B43", " Outpatient\n treatment\n centres  ");
    /* table 8.1.1: row code 1 is form row 179, column code 1 is B, 99 is H, total I182 */
    assert_cell(&b, "B179", "12");
    assert_cell(&b, "B180", "c");
    assert_cell(&b, "H181", "0");
    assert_cell(&b, "I182", "40");
    assert_cell(&b, "C179", NULL);
    s = cell_fill(&b, "B180");
    assert_string_equal(s, "FFC0C0C0"); /* silver */
    free(s);
    assert_null(cell_fill(&b, "B179"));
    /* table 11.1.1: a mean with two decimals; an empty statistic stays empty */
    assert_cell(&b, "B449", "34.5");
    s = cell_format(&b, "B449");
    assert_string_equal(s, "0.00");
    free(s);
    assert_cell(&b, "E449", NULL);
    /* the methodological cells */
    assert_cell(&b, "B24", "2026");
    assert_cell(&b, "B32", "nl");
    assert_cell(&b, "B35", "2025");
    assert_cell(&b, "B71", "X");
    assert_cell(&b, "B74", "X"); /* national */
    assert_cell(&b, "B72", NULL);
    assert_cell(&b, "B73", NULL);
    snprintf(notes, sizeof notes,
             "Filled by tdi " TDI_VERSION " from the tables of body nl, run " RUN_ID
             ". Cells marked \"c\" (grey) are withheld by disclosure control: counts from 1 to 4 "
             "and the cells that would reveal them. Totals are as computed.");
    assert_cell(&b, "B168", notes);
    close_book(&b);

    /* written again over the first: replaced, with the same content */
    assert_int_equal(report_workbook_write(fx->tables, TDI_SCHEMA_DIR, out, &info), TDI_OK);
    assert_true(exists(out));
}

/* Another counting level marks another cell. */
static void counting_level(void **state)
{
    fixture *fx = *state;
    report_workbook_info info;
    char text[4096], out[128];
    book b;

    snprintf(text, sizeof text, ROOT TABLES, "centre");
    assert_int_equal(test_fs_write(fx->tables, text), 0);
    snprintf(out, sizeof out, "%s/form.xlsx", fx->dir);
    assert_int_equal(report_workbook_write(fx->tables, TDI_SCHEMA_DIR, out, &info), TDI_OK);
    b = open_book(out);
    assert_cell(&b, "B72", "X");
    assert_cell(&b, "B74", NULL);
    close_book(&b);
}

static void publish(void **state)
{
    fixture *fx = *state;
    report_published pub;
    char want[1024], text[1024], wb[160];
    FILE *fp;
    size_t n;

    assert_int_equal(report_workbook_publish(fx->tables, TDI_SCHEMA_DIR, &pub), TDI_OK);
    snprintf(wb, sizeof wb, "%s/tdi-nl-2025-" RUN_ID ".workbook.xlsx", fx->dir);
    assert_string_equal(pub.path, wb);
    snprintf(want, sizeof want, "%s/tdi-nl-2025-" RUN_ID ".workbook.manifest.json", fx->dir);
    assert_string_equal(pub.manifest, want);
    assert_int_equal(pub.records, 4);
    fp = fopen(pub.manifest, "r");
    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    snprintf(want, sizeof want,
             "{\"file\":\"tdi-nl-2025-" RUN_ID ".workbook.xlsx\",\"sha256\":\"%s\","
             "\"layout\":\"tdi-workbook-2022.map\",\"numbers\":4,\"suppressedCells\":1,"
             "\"body\":\"nl\",\"year\":2025,\"runId\":\"" RUN_ID "\"}\n",
             pub.sha256);
    assert_string_equal(text, want);

    /* not a tables file's name */
    assert_int_equal(report_workbook_publish(wb, TDI_SCHEMA_DIR, &pub), TDI_ERR_INTERNAL);
    snprintf(want, sizeof want, "%s: not a tables file name\n", wb);
    assert_string_equal(fx->log.text, want);
}

static void invalid_tables(void **state)
{
    fixture *fx = *state;
    report_workbook_info info;
    report_published pub;
    char text[4096], out[128];

    snprintf(text, sizeof text, ROOT TABLES, "galaxy");
    assert_int_equal(test_fs_write(fx->tables, text), 0);
    snprintf(out, sizeof out, "%s/form.xlsx", fx->dir);
    assert_int_equal(report_workbook_write(fx->tables, TDI_SCHEMA_DIR, out, &info),
                     TDI_ERR_INVALID);
    assert_non_null(strstr(fx->log.text, "countingLevel"));
    assert_int_equal(report_workbook_publish(fx->tables, TDI_SCHEMA_DIR, &pub), TDI_ERR_INVALID);
    only_tables_left(fx);
}

static void unwritable_output(void **state)
{
    fixture *fx = *state;
    report_workbook_info info;
    char out[128], want[256];

    snprintf(out, sizeof out, "%s/missing/form.xlsx", fx->dir);
    assert_int_equal(report_workbook_write(fx->tables, TDI_SCHEMA_DIR, out, &info), TDI_ERR_OUTPUT);
    snprintf(want, sizeof want, "%s/missing", fx->dir);
    assert_non_null(strstr(fx->log.text, want));
    fx->log.text[0] = '\0';
    snprintf(out, sizeof out, "%s/", fx->dir);
    assert_int_equal(report_workbook_write(fx->tables, TDI_SCHEMA_DIR, out, &info), TDI_ERR_USAGE);
    snprintf(want, sizeof want, "%s/: not a file name\n", fx->dir);
    assert_string_equal(fx->log.text, want);
    only_tables_left(fx);
}

/* A schema directory with the tables schema but no layout, then a layout with a bad line. */
static void bad_layout(void **state)
{
    fixture *fx = *state;
    report_workbook_info info;
    char schemas[128], xsd[160], map[160], out[128], want[512];

    snprintf(schemas, sizeof schemas, "%s/schemas", fx->dir);
    assert_int_equal(mkdir(schemas, 0700), 0);
    snprintf(xsd, sizeof xsd, "%s/tdi-tables.xsd", schemas);
    assert_int_equal(symlink(TDI_SCHEMA_DIR "/tdi-tables.xsd", xsd), 0);
    snprintf(out, sizeof out, "%s/form.xlsx", fx->dir);
    assert_int_equal(report_workbook_write(fx->tables, schemas, out, &info), TDI_ERR_OUTPUT);
    snprintf(want, sizeof want,
             "%s/tdi-workbook-2022.map: cannot open the workbook layout: No such file or "
             "directory\n",
             schemas);
    assert_string_equal(fx->log.text, want);
    assert_false(exists(out));

    fx->log.text[0] = '\0';
    snprintf(map, sizeof map, "%s/tdi-workbook-2022.map", schemas);
    assert_int_equal(test_fs_write(map, "# a comment\n\nsheet\t2375\nwidth\tA\t20\n"
                                        "label\tA1\ts\tTitle\\tone\\\\\n"
                                        "row\t8.1.1\t1\t0\n"),
                     0);
    assert_int_equal(report_workbook_write(fx->tables, schemas, out, &info), TDI_ERR_INVALID);
    snprintf(want, sizeof want, "%s:6: not a line of the workbook layout\n", map);
    assert_string_equal(fx->log.text, want);
    assert_false(exists(out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(write_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(counting_level, setup, teardown),
        cmocka_unit_test_setup_teardown(publish, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_output, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_layout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
