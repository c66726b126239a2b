/*
 * Unit tests for report/rpt_html (report_html_write): the page of a report filled in by hand is
 * parsed back with libxml2's XML parser (it must be well-formed), and its figures are read by
 * their ids and places: the run, each source against its previous run, the quarantine reasons
 * read from a quarantine file, the files, the history and the years; a hostile value is escaped
 * (it comes back as text, never as markup); the page refers to nothing outside itself; the
 * per-source page leaves out the bodies' files. Then the error path (unwritable output).
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

#define RUN_ID  "20260105T040000Z"
#define HOSTILE "<script>alert(1)</script>&\"'"

typedef struct fixture {
    char dir[64];
    char page[128];
    char qfile[128];
    tdi_page r;
    tdi_page_source sources[2];
    tdi_page_file files[3];
    tdi_page_run history[3];
    tdi_page_year years[2];
    char *text; /* the page as written */
    xmlDocPtr doc;
    test_log log;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    tdi_page *r;

    assert_non_null(fx);
    r = &fx->r;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-html-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->page, sizeof fx->page, "%s/report.html", fx->dir);
    snprintf(fx->qfile, sizeof fx->qfile, "%s/quarantine-riverside-2025-" RUN_ID ".tsv", fx->dir);
    /* Keys, values and messages are never shown; R006's local code is, when it is a plain code. */
    assert_int_equal(test_fs_write(fx->qfile,
                                   "key\trule\titem\tvalue\tmessage\n"
                                   "e1:01\tR006\tprimary_drug\tXY-7\tno crosswalk entry\n"
                                   "e1:02\tR006\tprimary_drug\tXY-7\tno crosswalk entry\n"
                                   "e1:03\tR006\tprimary_drug\tJan <Doe>\tsecret free text\n"
                                   "e1:04\tR002\tsex\t9\tout of range\n"
                                   "e1:05\tR0<b>\tsex\t9\tnot a plain rule\n"
                                   "short line\n"),
                     0);

    r->run = (tdi_page_run){RUN_ID, 2025, "full", "ok", 0, 12.34, "2026-01-05 04:00:00Z"};
    fx->sources[0] =
        (tdi_page_source){"northside", "failed", "incremental", 3, 10, 0, 0, 0, 0, 0, 0};
    fx->sources[1] = (tdi_page_source){"riverside", "ok", "full", 1, 120, 117, 3, 1, 110, 108, 2};
    fx->files[0] =
        (tdi_page_file){"submission",
                        "nl",
                        4,
                        117,
                        5,
                        2,
                        "/srv/out/nl/tdi-nl-2025-" RUN_ID ".xml.gz",
                        "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"};
    fx->files[1] = (tdi_page_file){
        "tables", "nl", -1, 117, 0, 0, "/srv/out/nl/tdi-nl-2025-" RUN_ID ".tables.xml", "cd34"};
    snprintf(fx->files[2].kind, sizeof fx->files[2].kind, "quarantine");
    snprintf(fx->files[2].owner, sizeof fx->files[2].owner, "riverside");
    fx->files[2].sequence = -1;
    fx->files[2].records = 5;
    snprintf(fx->files[2].path, sizeof fx->files[2].path, "%s", fx->qfile);
    fx->history[0] = (tdi_page_run){"20260103T040000Z", 2025, "full", "ok", 0, 30.0, ""};
    fx->history[1] = (tdi_page_run){"20260104T040000Z", 2025, "full", "TDI_ERR_STATE", 5, 7.5, ""};
    fx->history[2] = r->run;
    fx->years[0] = (tdi_page_year){"nl", 2024, 900, 850};
    fx->years[1] = (tdi_page_year){"nl", 2025, 117, 111};
    r->sources = fx->sources;
    r->nsources = 2;
    r->files = fx->files;
    r->nfiles = 3;
    r->history = fx->history;
    r->nhistory = 3;
    r->years = fx->years;
    r->nyears = 2;
    test_log_start(&fx->log);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    test_log_stop();
    xmlFreeDoc(fx->doc);
    free(fx->text);
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* Writes the page of fx->r (source: the per-source page), reads it back and parses it. */
static void write_page(fixture *fx, const char *source)
{
    FILE *fp;
    long len;

    xmlFreeDoc(fx->doc);
    free(fx->text);
    assert_int_equal(report_html_write(&fx->r, source, fx->page), TDI_OK);
    assert_string_equal(fx->log.text, "");
    fp = fopen(fx->page, "r");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    rewind(fp);
    fx->text = malloc((size_t)len + 1);
    assert_non_null(fx->text);
    assert_int_equal(fread(fx->text, 1, (size_t)len, fp), (size_t)len);
    fx->text[len] = '\0';
    fclose(fp);
    /* well-formed: the strict XML parser, no recovery, no network */
    fx->doc = xmlReadMemory(fx->text, (int)len, "report.html", NULL, XML_PARSE_NONET);
    assert_non_null(fx->doc);
}

/* The texts of the nodes expr selects, joined by '|'; "" when none. SVG elements are in the
 * SVG namespace (prefix v). The result lives until the next call. */
static const char *all(const fixture *fx, const char *expr)
{
    static char out[8192];
    xmlXPathContextPtr ctx = xmlXPathNewContext(fx->doc);
    xmlXPathObjectPtr obj;
    size_t used = 0;

    out[0] = '\0';
    assert_non_null(ctx);
    assert_int_equal(xmlXPathRegisterNs(ctx, (const xmlChar *)"v",
                                        (const xmlChar *)"http://www.w3.org/2000/svg"),
                     0);
    obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    xmlXPathFreeContext(ctx);
    assert_non_null(obj);
    for (int i = 0; obj->nodesetval && i < obj->nodesetval->nodeNr && used < sizeof out; i++) {
        xmlChar *c = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
        used +=
            (size_t)snprintf(out + used, sizeof out - used, "%s%s", i ? "|" : "", (const char *)c);
        xmlFree(c);
    }
    xmlXPathFreeObject(obj);
    assert_true(used < sizeof out);
    return out;
}

static void assert_xpath(const fixture *fx, const char *expr, const char *want)
{
    const char *got = all(fx, expr);

    if (strcmp(got, want) != 0)
        fail_msg("%s: \"%s\", want \"%s\"", expr, got, want);
}

/* Nothing the page would fetch: no script, style sheet, image, frame or object, no url() in the
 * style, every link relative; the only URL is the SVG namespace name. */
static void assert_self_contained(const fixture *fx)
{
    const char *p;

    assert_xpath(fx, "//script|//link|//img|//iframe|//object|//embed|//@src", "");
    assert_null(strstr(fx->text, "url("));
    assert_null(strstr(fx->text, "@import"));
    for (p = fx->text; (p = strstr(p, "://")) != NULL; p++)
        assert_int_equal(strncmp(p - 4, "http://www.w3.org/2000/svg\"", 27), 0);
    assert_xpath(fx, "//a/@href[contains(., ':') or starts-with(., '/')]", "");
}

static void whole_page(void **state)
{
    fixture *fx = *state;

    write_page(fx, NULL);
    assert_int_equal(strncmp(fx->text, "<!DOCTYPE html>\n<html lang=\"en\">", 32), 0);
    assert_xpath(fx, "/html/head/title", "tdi run " RUN_ID);
    assert_xpath(fx, "/html/body/h1", "tdi run " RUN_ID);
    /* the run */
    assert_xpath(fx, "//td[@id='run-id']", RUN_ID);
    assert_xpath(fx, "//td[@id='run-year']", "2025");
    assert_xpath(fx, "//td[@id='run-seconds']", "12.3");
    assert_xpath(fx, "//td[@id='run-status']", "ok");
    assert_xpath(fx, "//td[@id='run-status']/@class", "ok");
    assert_xpath(fx, "//td[@id='run-exit']", "0");
    /* the sources, with their previous run */
    assert_xpath(fx, "//td[@id='src-riverside-extracted']", "120");
    assert_xpath(fx, "//td[@id='src-riverside-written']", "117");
    assert_xpath(fx, "//td[@id='src-riverside-quarantined']", "3");
    assert_xpath(fx, "//tr[td[1]='riverside']/td[8]", "extracted 110, written 108, quarantined 2");
    assert_xpath(fx, "//tr[td[1]='northside']/td[8]", "none (first run)");
    assert_xpath(fx, "//tr[td[1]='northside']/td[2]/@class", "bad");
    assert_xpath(fx, "//tr[td[1]='northside']/td[4]", "3");
    /* the chart: one label and one count per source */
    assert_xpath(fx, "//v:svg[@aria-label='written and quarantined per source']/v:text",
                 "northside|0 + 0|riverside|117 + 3");
    /* the quarantine reasons: R006 with its plain local code (twice), the free text not shown */
    assert_xpath(fx, "//h2[starts-with(., 'Quarantine')]/following-sibling::table[1]/tr[td]",
                 "riversideR006primary_drugXY-72|riversideR006primary_drug1|riversideR002sex1");
    assert_null(strstr(fx->text, "Jan"));
    assert_null(strstr(fx->text, "secret"));
    assert_null(strstr(fx->text, "e1:0"));
    /* the files: relative links, sequence only for a submission */
    assert_xpath(fx, "//h2[.='Files published']/following-sibling::table[1]/tr/td[1]",
                 "submission|tables|quarantine");
    assert_xpath(fx, "//h2[.='Files published']/following-sibling::table[1]/tr/td[3]", "4||");
    assert_xpath(fx, "//a/@href",
                 "nl/tdi-nl-2025-" RUN_ID ".xml.gz|nl/tdi-nl-2025-" RUN_ID
                 ".tables.xml|quarantine/quarantine-riverside-2025-" RUN_ID ".tsv");
    assert_xpath(fx, "//h2[.='Files published']/following-sibling::table[1]/tr[2]/td[4]", "117");
    assert_xpath(fx, "//h2[.='Files published']/following-sibling::table[1]/tr[2]/td[5]", "5");
    assert_xpath(fx, "//h2[.='Files published']/following-sibling::table[1]/tr[2]/td[6]", "2");
    assert_xpath(fx, "//code",
                 "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12|cd34|");
    /* the history: a bar per run, red when it failed, the longest run's 30 s the scale */
    assert_xpath(fx, "//v:g/v:title",
                 "20260103T040000Z: 30.0 s, exit 0|20260104T040000Z: 7.5 s, exit 5|" RUN_ID
                 ": 12.3 s, exit 0");
    assert_xpath(fx, "//v:g/v:rect/@fill", "#4a7|#d55|#4a7");
    assert_xpath(fx, "//v:g/v:rect/@height", "104|29|45");
    assert_xpath(fx, "//v:svg[@aria-label='duration and exit code of the last runs']/v:text",
                 "longest 30.0 s; numbers: exit codes");
    /* the years */
    assert_xpath(fx, "//h2[.='Episodes held per body and year']/following-sibling::table[1]/tr/td",
                 "nl|2024|900|850|nl|2025|117|111");
    assert_xpath(fx, "/html/body/p[last()]",
                 "Made by tdi " TDI_VERSION " from the state database.");
    assert_self_contained(fx);
}

/* A hostile value (a source name from the ledger) comes back as the same text, never markup. */
static void hostile_values(void **state)
{
    fixture *fx = *state;

    snprintf(fx->sources[0].name, sizeof fx->sources[0].name, "%s", HOSTILE);
    snprintf(fx->files[0].owner, sizeof fx->files[0].owner, "%s", HOSTILE);
    snprintf(fx->r.run.status, sizeof fx->r.run.status, "%s", HOSTILE);
    write_page(fx, NULL);
    assert_null(strstr(fx->text, "<script"));
    assert_non_null(strstr(fx->text, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;"));
    assert_xpath(fx, "//td[@id='run-status']", HOSTILE);
    assert_xpath(fx, "//tr[td[4]='3']/td[1]", HOSTILE);
    /* in an attribute: the id, quotes escaped */
    assert_non_null(
        strstr(fx->text, "id=\"src-&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;'-extracted\""));
    assert_xpath(fx, "//td[@id=concat('src-<script>alert(1)</script>&', '\"', \"'-extracted\")]",
                 "10");
    assert_xpath(fx, "(//v:svg)[1]/v:text[1]", HOSTILE);
    assert_xpath(fx, "//h2[.='Files published']/following-sibling::table[1]/tr[2]/td[2]", HOSTILE);
    assert_self_contained(fx);
}

/* One clinic's page: its source, its quarantine file, no body's files. */
static void per_source(void **state)
{
    fixture *fx = *state;

    fx->r.sources = &fx->sources[1];
    fx->r.nsources = 1;
    fx->r.files = &fx->files[2];
    fx->r.nfiles = 1;
    snprintf(fx->years[0].owner, sizeof fx->years[0].owner, "riverside");
    fx->r.nyears = 1;
    write_page(fx, "riverside");
    assert_xpath(fx, "/html/head/title", "tdi run " RUN_ID ": source riverside");
    assert_xpath(fx, "//h2",
                 "Sources|Quarantine: why rows were held back|Completeness: items left \"not "
                 "known\"|The last runs: duration and exit code|Episodes of this source held per "
                 "year");
    assert_xpath(fx, "//td[@id='src-riverside-written']", "117");
    assert_xpath(fx, "//td[starts-with(@id, 'src-northside')]", "");
    assert_xpath(fx, "//a", "");
    assert_null(strstr(fx->text, "tdi-nl-2025"));
    assert_xpath(fx,
                 "//h2[.='Episodes of this source held per year']/following-sibling::table[1]/"
                 "tr/td",
                 "riverside|2024|900|850");
    assert_self_contained(fx);
}

/* The sections of the run report's figures: completeness per source (a high share highlighted,
 * the previous run beside it), disclosure per body, and the trends from published cells: a
 * suppressed cell is "c" in the table and an empty frame in the chart, never its value. */
static void figures(void **state)
{
    fixture *fx = *state;
    tdi_page_item items[2] = {{"riverside", "sex", 117, 4, 1, 108, 0},
                              {"riverside", "detox_phase", 9, 9, 0, 0, 0}};
    tdi_page_body bodies[1] = {{"nl", 5, 7, 117, 1, "region sex", 812, -1}};
    tdi_page_cell cells[3] = {{"nl", 2024, "9.1.1", "1", "total", 40, 0},
                              {"nl", 2025, "9.1.1", "1", "total", 98765, 1},
                              {"nl", 2025, "9.1.1", "total", "total", 111, 0}};

    fx->r.items = items;
    fx->r.nitems = 2;
    fx->r.bodies = bodies;
    fx->r.nbodies = 1;
    fx->r.cells = cells;
    fx->r.ncells = 3;
    write_page(fx, NULL);
    assert_xpath(fx, "//td[@id='nk-riverside-sex']", "4 / 117 (3%)");
    assert_xpath(fx, "//td[@id='nk-riverside-sex']/@class", "n");
    assert_xpath(fx, "//td[@id='nk-riverside-detox_phase']", "9 / 9 (100%)");
    assert_xpath(fx, "//td[@id='nk-riverside-detox_phase']/@class", "n hi");
    assert_xpath(fx, "//td[@id='nk-riverside-sex']/following-sibling::td[1]", "0 / 108 (0%)");
    assert_xpath(fx, "//td[@id='nk-northside-sex']", "-");
    assert_xpath(fx, "//td[@id='disc-nl-k']", "7");
    assert_xpath(fx, "//td[@id='disc-nl-blanked']", "region sex");
    assert_xpath(fx, "//td[@id='disc-nl-suppressed']", "812");
    assert_xpath(fx, "//h3", "nl: entrants by primary drug group (table 9.1.1)");
    assert_xpath(fx, "//td[@id='trend-nl-9.1.1-2024-1']", "40");
    assert_xpath(fx, "//td[@id='trend-nl-9.1.1-2025-1']", "c");
    assert_xpath(fx, "//td[@id='trend-nl-9.1.1-2025-total']", "111");
    assert_null(strstr(fx->text, "98765"));
    assert_self_contained(fx);
    /* one clinic's page: its completeness, no body's figures */
    fx->r.nbodies = fx->r.ncells = 0;
    write_page(fx, "riverside");
    assert_xpath(fx, "//td[@id='nk-riverside-sex']", "4 / 117 (3%)");
    assert_xpath(fx, "//td[starts-with(@id, 'disc-')]", "");
    assert_xpath(fx, "//td[starts-with(@id, 'trend-')]", "");
    fx->r.items = NULL;
    fx->r.bodies = NULL;
    fx->r.cells = NULL;
}

/* Issue 14's residential trends from table 43.2.1: its approaches (column total, with the
 * total) and its planned durations (row total, the total left to the first), labelled from their
 * code lists; "not_known" of both axes kept apart by the second trend's ids ("by-"). */
static void residential_trends(void **state)
{
    fixture *fx = *state;
    tdi_page_cell cells[6] = {
        {"nl", 2025, "43.2.1", "not_known", "total", 6, 0},
        {"nl", 2025, "43.2.1", "other_psychotherapeutic", "total", 2, 1},
        {"nl", 2025, "43.2.1", "total", "not_known", 7, 0},
        {"nl", 2025, "43.2.1", "total", "short", 3, 1},
        {"nl", 2025, "43.2.1", "total", "total", 31, 0},
        {"nl", 2025, "43.2.1", "twelve_step", "short", 3, 0}, /* an interior cell: no trend's */
    };

    fx->r.cells = cells;
    fx->r.ncells = 6;
    write_page(fx, NULL);
    assert_xpath(fx, "//h3",
                 "nl: residential entrants by approach (table 43.2.1)|nl: residential "
                 "entrants by planned duration (total: above) (table 43.2.1)");
    assert_xpath(fx, "//td[@id='trend-nl-43.2.1-2025-not_known']", "6");
    assert_xpath(fx, "//td[@id='trend-nl-43.2.1-2025-other_psychotherapeutic']", "c");
    assert_xpath(fx, "//td[@id='trend-nl-43.2.1-2025-other_psychotherapeutic']/../td[1]",
                 "other_psychotherapeutic Other psychotherapeutic");
    assert_xpath(fx, "//td[@id='trend-nl-43.2.1-2025-total']", "31");
    assert_xpath(fx, "//td[@id='trend-nl-43.2.1-2025-by-not_known']", "7");
    assert_xpath(fx, "//td[@id='trend-nl-43.2.1-2025-by-short']", "c");
    assert_xpath(fx, "//td[@id='trend-nl-43.2.1-2025-by-short']/../td[1]",
                 "short Planned stay of 3 months or less");
    assert_xpath(fx, "//td[starts-with(@id, 'trend-')]", "6|c|31|7|c");
    assert_self_contained(fx);
    fx->r.cells = NULL;
    fx->r.ncells = 0;
}

/* A run still going (no duration, no exit code), no sources, a quarantine file gone: the page is
 * still whole. */
static void empty_run(void **state)
{
    fixture *fx = *state;

    fx->r.run.seconds = -1;
    fx->r.run.exit_code = -1;
    snprintf(fx->r.run.status, sizeof fx->r.run.status, "running");
    fx->r.nsources = 0;
    fx->r.nyears = 0;
    fx->r.nhistory = 1;
    fx->r.history = &fx->r.run;
    assert_int_equal(remove(fx->qfile), 0);
    write_page(fx, NULL);
    assert_xpath(fx, "//td[@id='run-seconds']", "-");
    assert_xpath(fx, "//td[@id='run-status']/@class", "bad");
    assert_xpath(fx, "//v:svg/@aria-label", "duration and exit code of the last runs");
    assert_xpath(fx, "//v:g/v:rect/@height", "0");
    assert_xpath(fx, "//h2[starts-with(., 'Quarantine')]/following-sibling::table[1]/tr[td]", "");
}

static void unwritable_output(void **state)
{
    fixture *fx = *state;
    char path[160], want[256];

    snprintf(path, sizeof path, "%s/missing/report.html", fx->dir);
    assert_int_equal(report_html_write(&fx->r, NULL, path), TDI_ERR_OUTPUT);
    snprintf(want, sizeof want, "%s/missing", fx->dir);
    assert_non_null(strstr(fx->log.text, want));
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(whole_page, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_values, setup, teardown),
        cmocka_unit_test_setup_teardown(per_source, setup, teardown),
        cmocka_unit_test_setup_teardown(figures, setup, teardown),
        cmocka_unit_test_setup_teardown(residential_trends, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_run, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_output, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
