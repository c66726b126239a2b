/*
 * Unit tests for report/rpt_tabaudit (report_audit_tables): the hand-made tables files of
 * tests/fixtures (a cell pinned by the relations together, and the same table protected; each
 * file says how it is built and what its intervals are), the protection level, statistics and
 * derived columns left out, and the files it refuses: a submission, a table or a cell that is
 * none of tdi's, a file that does not exist.
 */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/report.h"
#include "test_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURES  TDI_SCHEMA_DIR "/../tests/fixtures"
#define PINNED    FIXTURES "/tables-pinned.xml"
#define PROTECTED FIXTURES "/tables-protected.xml"
#define ROOT                                                                                       \
    "<tables xmlns=\"urn:tdi:tables:1\" schemaVersion=\"1.0\" body=\"b\" year=\"2025\" "           \
    "runId=\"20260105T040000Z\" generated=\"2026-01-05T04:00:00Z\" countingLevel=\"national\" "    \
    "threshold=\"5\" suppressedCells=\"2\">\n"

typedef struct fixture {
    char dir[64], path[128];
    FILE *out;
    char text[4096];
    test_log log;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-tabaudit-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/t.tables.xml", fx->dir);
    fx->out = tmpfile();
    assert_non_null(fx->out);
    test_log_start(&fx->log);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    test_log_stop();
    fclose(fx->out);
    unlink(fx->path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Audits paths into fx->text; returns the status. */
static tdi_status run(fixture *fx, char **paths, int n, unsigned long protection, size_t *nfail)
{
    tdi_status st = report_audit_tables(paths, n, TDI_SCHEMA_DIR, protection, fx->out, nfail);
    size_t len;

    rewind(fx->out);
    len = fread(fx->text, 1, sizeof fx->text - 1, fx->out);
    fx->text[len] = '\0';
    return st;
}

static void pinned_and_protected(void **state)
{
    fixture *fx = *state;
    char *paths[2] = {PINNED, PROTECTED};
    size_t nfail = 9;

    assert_int_equal(run(fx, paths, 2, 0, &nfail), TDI_ERR_INVALID);
    assert_int_equal(nfail, 2);
    assert_string_equal(fx->text,
                        PINNED ": table 8.1.1 row 1 column 1: value in [0, 3], needs 5\n" PINNED
                               ": table 8.1.1 row 2 column 3: value in [0, 3], needs 5\n" PINNED
                               ": 6 suppressed cells audited, 2 fail\n" PROTECTED
                               ": 6 suppressed cells audited, 0 fail\n");
    assert_int_equal(fx->log.count, 0);
}

/* 3 wide is enough for a level of 3 */
static void protection_level(void **state)
{
    fixture *fx = *state;
    char *paths[1] = {PINNED};
    size_t nfail = 9;

    assert_int_equal(run(fx, paths, 1, 3, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    assert_string_equal(fx->text, PINNED ": 6 suppressed cells audited, 0 fail\n");
}

/* A number of table 11 is a count; its mean and SD, an outcome table's rate and median are not.
 * Only 11.1.1 of its family is given: the rest is unknown, so the number is not pinned. */
static void statistics_left_out(void **state)
{
    fixture *fx = *state;
    char *paths[1] = {fx->path};
    size_t nfail = 9;

    assert_int_equal(
        test_fs_write(fx->path,
                      ROOT "<table id=\"11.1.1\" title=\"t\" variant=\"all\" rows=\"primary_drug\" "
                           "columns=\"statistics\">\n"
                           "<suppressed row=\"1.1\" column=\"age_mean\"/>\n"
                           "<suppressed row=\"1.1\" column=\"age_n\"/>\n"
                           "<cell row=\"1.2\" column=\"age_n\" value=\"7\"/>\n"
                           "</table>\n"
                           "<table id=\"40.1.1\" title=\"t\" variant=\"all\" rows=\"setting\" "
                           "columns=\"completion\">\n"
                           "<cell row=\"outpatient\" column=\"total\" value=\"3\"/>\n"
                           "<empty row=\"outpatient\" column=\"completion_rate\"/>\n"
                           "<suppressed row=\"outpatient\" column=\"median_stay\"/>\n"
                           "</table>\n</tables>\n"),
        0);
    assert_int_equal(run(fx, paths, 1, 0, &nfail), TDI_OK);
    assert_int_equal(nfail, 0);
    assert_non_null(strstr(fx->text, ": 1 suppressed cells audited, 0 fail\n"));
}

static void refused(void **state)
{
    fixture *fx = *state;
    char *paths[1] = {fx->path};
    static const char *const body[3] = {
        "<table id=\"99.9.99\" title=\"t\" variant=\"all\" rows=\"sex\" columns=\"sex\">\n"
        "</table>\n",
        "<table id=\"8.1.1\" title=\"t\" variant=\"all\" rows=\"treatment_status\" "
        "columns=\"centre_type\">\n<cell row=\"1\" column=\"zzz\" value=\"5\"/>\n</table>\n",
        "<table id=\"8.1.1\" title=\"t\" variant=\"all\" rows=\"treatment_status\" "
        "columns=\"centre_type\">\n<suppressed row=\"zzz\" column=\"1\"/>\n</table>\n"};
    static const char *const msg[3] = {"table 99.9.99 is none of tdi's tables",
                                       "row 1 column zzz is no cell of its table",
                                       "row zzz column 1 is no cell of its table"};
    char text[1024], want[512];

    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof text, ROOT "%s</tables>\n", body[k]);
        assert_int_equal(test_fs_write(fx->path, text), 0);
        test_log_start(&fx->log);
        assert_int_equal(run(fx, paths, 1, 0, NULL), TDI_ERR_INVALID);
        snprintf(want, sizeof want, "%s: %s\n%s: not a tables file tdi can read\n", fx->path,
                 msg[k], fx->path);
        assert_string_equal(fx->log.text, want);
    }
    /* a submission passes its own schema, then is no tables file */
    paths[0] = FIXTURES "/xml/valid.xml";
    test_log_start(&fx->log);
    assert_int_equal(run(fx, paths, 1, 0, NULL), TDI_ERR_INVALID);
    assert_string_equal(fx->log.text, FIXTURES "/xml/valid.xml: not a tables file tdi can read\n");
    /* cannot be read: the worst status is kept */
    paths[0] = "/nonexistent/t.tables.xml";
    assert_int_equal(run(fx, paths, 1, 0, NULL), TDI_ERR_OUTPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pinned_and_protected, setup, teardown),
        cmocka_unit_test_setup_teardown(protection_level, setup, teardown),
        cmocka_unit_test_setup_teardown(statistics_left_out, setup, teardown),
        cmocka_unit_test_setup_teardown(refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
