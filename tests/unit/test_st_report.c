/*
 * Unit tests for state/st_report (state_report_load, tdi_page_free) against the scripted
 * libpq (harness_pq): each of the eight read-only queries answers canned rows and the report
 * holds exactly them; the per-source variant sends the source, asks its episodes and its
 * completeness and no body's disclosure figures or trend cells; no such run;
 * a query the server refuses leaves nothing allocated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_st.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F11 HPQ_STRINGS("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k")
/* A statement sent with parameters p answering r rows of n columns. */
#define ROWS_P(m, p, n, r, ...)                                                                    \
    HPQ_SEND_P(m, p), HPQ_RESULT_ROWS(n, F11, r, HPQ_STRINGS(__VA_ARGS__)), HPQ_RESULT_NONE
#define NO_ROWS_P(m, p, n) HPQ_SEND_P(m, p), HPQ_RESULT_ROWS(n, F11, 0, NULL), HPQ_RESULT_NONE

/* A run row: run_id, year, mode, status, exit code, seconds, started, run_no. */
#define RUN_ROW(id, code, secs, no)                                                                \
    id, "2025", "full", code[0] == '0' ? "ok" : "TDI_ERR_STATE", code, secs,                       \
        "2026-01-05 04:00:00Z", no

/* The whole report of one run: every query once, in order, each row where it belongs. */
static void whole_run(void **state)
{
    tdi_page r;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(ROWS_P("FROM tdi.run WHERE run_id = $1", "20260105T040000Z", 8, 1,
                      RUN_ROW("20260105T040000Z", "0", "12.5", "42")),
               ROWS_P("FROM tdi.run_source s LEFT JOIN LATERAL", "42|\\N", 11, 2, "northside",
                      "failed", "incremental", "3", "10", "0", "0", "f", "0", "0", "0", "riverside",
                      "ok", "full", "1", "120", "117", "3", "t", "110", "108", "2"),
               ROWS_P("FROM tdi.run_file WHERE run_no = $1", "42|\\N", 8, 2, "submission", "nl",
                      "4", "117", "5", "2", "/out/nl/tdi-nl-2025-20260105T040000Z.xml.gz", "ab12",
                      "quarantine", "riverside", "-1", "3", "0", "0",
                      "/out/quarantine/quarantine-riverside-2025-20260105T040000Z.tsv", "cd34"),
               ROWS_P("ORDER BY run_no DESC LIMIT $2) r ORDER BY run_no", "42|30", 8, 2,
                      RUN_ROW("20260104T040000Z", "5", "7.25", "41"),
                      RUN_ROW("20260105T040000Z", "0", "12.5", "42")),
               HPQ_SEND_P("FROM tdi.body_sequence WHERE episodes > 0", ""),
               HPQ_RESULT_ROWS(4, F11, 2,
                               HPQ_STRINGS("nl", "2024", "900", "850", "nl", "2025", "117", "111")),
               HPQ_RESULT_NONE,
               HPQ_ROWS("FROM tdi.run_completeness c LEFT JOIN LATERAL", 7, 2, "riverside", "sex",
                        "117", "4", "t", "108", "0", "riverside", "detox_phase", "9", "9", "f", "0",
                        "0"),
               ROWS_P("FROM tdi.run_body WHERE run_no = $1", "42", 8, 1, "nl", "5", "7", "117", "t",
                      "region sex", "812", "-1"),
               ROWS_P("FROM tdi.run_cell c WHERE c.run_no = (SELECT max(m.run_no)", "42", 7, 2,
                      "nl", "2024", "9.1.1", "1", "total", "40", "f", "nl", "2025", "9.1.1", "1",
                      "total", "0", "t"));
    assert_int_equal(state_report_load(st, "20260105T040000Z", NULL, &r), TDI_OK);
    assert_string_equal(logged.text, "");

    assert_string_equal(r.run.run_id, "20260105T040000Z");
    assert_int_equal(r.run.year, 2025);
    assert_string_equal(r.run.mode, "full");
    assert_string_equal(r.run.status, "ok");
    assert_int_equal(r.run.exit_code, 0);
    assert_true(r.run.seconds == 12.5);
    assert_string_equal(r.run.started, "2026-01-05 04:00:00Z");

    assert_int_equal(r.nsources, 2);
    assert_string_equal(r.sources[0].name, "northside");
    assert_string_equal(r.sources[0].status, "failed");
    assert_string_equal(r.sources[0].mode, "incremental");
    assert_int_equal(r.sources[0].attempts, 3);
    assert_int_equal(r.sources[0].extracted, 10);
    assert_int_equal(r.sources[0].has_prev, 0);
    assert_string_equal(r.sources[1].name, "riverside");
    assert_int_equal(r.sources[1].extracted, 120);
    assert_int_equal(r.sources[1].written, 117);
    assert_int_equal(r.sources[1].quarantined, 3);
    assert_int_equal(r.sources[1].has_prev, 1);
    assert_int_equal(r.sources[1].prev_extracted, 110);
    assert_int_equal(r.sources[1].prev_written, 108);
    assert_int_equal(r.sources[1].prev_quarantined, 2);

    assert_int_equal(r.nfiles, 2);
    assert_string_equal(r.files[0].kind, "submission");
    assert_string_equal(r.files[0].owner, "nl");
    assert_int_equal(r.files[0].sequence, 4);
    assert_int_equal(r.files[0].records, 117);
    assert_int_equal(r.files[0].replaces, 5);
    assert_int_equal(r.files[0].deletes, 2);
    assert_string_equal(r.files[0].path, "/out/nl/tdi-nl-2025-20260105T040000Z.xml.gz");
    assert_string_equal(r.files[0].sha256, "ab12");
    assert_string_equal(r.files[1].kind, "quarantine");
    assert_int_equal(r.files[1].sequence, -1);
    assert_int_equal(r.files[1].records, 3);

    assert_int_equal(r.nhistory, 2);
    assert_string_equal(r.history[0].run_id, "20260104T040000Z");
    assert_string_equal(r.history[0].status, "TDI_ERR_STATE");
    assert_int_equal(r.history[0].exit_code, 5);
    assert_true(r.history[0].seconds == 7.25);
    assert_string_equal(r.history[1].run_id, "20260105T040000Z");

    assert_int_equal(r.nyears, 2);
    assert_string_equal(r.years[0].owner, "nl");
    assert_int_equal(r.years[0].year, 2024);
    assert_int_equal(r.years[0].episodes, 900);
    assert_int_equal(r.years[0].entrants, 850);
    assert_int_equal(r.years[1].year, 2025);
    assert_int_equal(r.years[1].episodes, 117);
    assert_int_equal(r.years[1].entrants, 111);

    assert_int_equal(r.nitems, 2);
    assert_string_equal(r.items[0].source, "riverside");
    assert_string_equal(r.items[0].item, "sex");
    assert_int_equal(r.items[0].applicable, 117);
    assert_int_equal(r.items[0].not_known, 4);
    assert_int_equal(r.items[0].has_prev, 1);
    assert_int_equal(r.items[0].prev_applicable, 108);
    assert_int_equal(r.items[0].prev_not_known, 0);
    assert_string_equal(r.items[1].item, "detox_phase");
    assert_int_equal(r.items[1].not_known, 9);
    assert_int_equal(r.items[1].has_prev, 0);

    assert_int_equal(r.nbodies, 1);
    assert_string_equal(r.bodies[0].name, "nl");
    assert_int_equal(r.bodies[0].k_min, 5);
    assert_int_equal(r.bodies[0].k, 7);
    assert_int_equal(r.bodies[0].records, 117);
    assert_int_equal(r.bodies[0].met, 1);
    assert_string_equal(r.bodies[0].blanked, "region sex");
    assert_int_equal(r.bodies[0].suppressed, 812);
    assert_int_equal(r.bodies[0].audit_added, -1);

    /* a suppressed cell keeps no value, whatever the row said */
    assert_int_equal(r.ncells, 2);
    assert_string_equal(r.cells[0].table, "9.1.1");
    assert_int_equal(r.cells[0].year, 2024);
    assert_int_equal(r.cells[0].value, 40);
    assert_int_equal(r.cells[0].suppressed, 0);
    assert_int_equal(r.cells[1].year, 2025);
    assert_int_equal(r.cells[1].suppressed, 1);
    assert_int_equal(r.cells[1].value, 0);

    tdi_page_free(&r);
    assert_null(r.sources);
    assert_int_equal(r.nsources, 0);
    tdi_page_free(NULL);
    closed(st);
}

/* The newest run (no run id sent), one source's rows; a run with no rows at all elsewhere. */
static void newest_run_of_one_source(void **state)
{
    tdi_page r;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(
        ROWS_P("FROM tdi.run ORDER BY run_no DESC LIMIT 1", "", 8, 1,
               RUN_ROW("20260106T040000Z", "-1", "-1", "43")),
        ROWS_P("FROM tdi.run_source s", "43|riverside", 11, 1, "riverside", "running", "full", "1",
               "0", "0", "0", "t", "120", "117", "3"),
        NO_ROWS_P("kind = 'quarantine' AND owner = $2", "43|riverside", 8),
        ROWS_P("WHERE run_no <= $1", "43|30", 8, 1, RUN_ROW("20260106T040000Z", "-1", "-1", "43")),
        ROWS_P("FROM tdi.sent WHERE source = $1 GROUP BY year", "riverside", 4, 1, "riverside",
               "2025", "117", "111"),
        HPQ_ROWS("FROM tdi.run_completeness c", 7, 1, "riverside", "sex", "117", "4", "f", "0",
                 "0"));
    assert_int_equal(state_report_load(st, NULL, "riverside", &r), TDI_OK);
    assert_string_equal(r.run.run_id, "20260106T040000Z");
    assert_int_equal(r.run.exit_code, -1);
    assert_true(r.run.seconds == -1);
    assert_int_equal(r.nsources, 1);
    assert_string_equal(r.sources[0].status, "running");
    assert_int_equal(r.sources[0].prev_written, 117);
    assert_int_equal(r.nfiles, 0);
    assert_null(r.files);
    assert_int_equal(r.nhistory, 1);
    assert_int_equal(r.nyears, 1);
    assert_string_equal(r.years[0].owner, "riverside");
    assert_int_equal(r.years[0].episodes, 117);
    assert_int_equal(r.nitems, 1);
    assert_int_equal(r.nbodies, 0);
    assert_int_equal(r.ncells, 0);
    tdi_page_free(&r);
    closed(st);
}

/* No such run: TDI_ERR_USAGE, named; the ledger empty: "at all". */
static void no_such_run(void **state)
{
    tdi_page r;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(NO_ROWS_P("FROM tdi.run WHERE run_id = $1", "20200101T000000Z", 8),
               NO_ROWS_P("FROM tdi.run ORDER BY run_no DESC LIMIT 1", "", 8));
    assert_int_equal(state_report_load(st, "20200101T000000Z", NULL, &r), TDI_ERR_USAGE);
    assert_int_equal(state_report_load(st, NULL, NULL, &r), TDI_ERR_USAGE);
    assert_string_equal(logged.text, "state database: no run 20200101T000000Z in the ledger\n"
                                     "state database: no run at all in the ledger\n");
    assert_null(r.sources);
    closed(st);
}

/* A query refused half-way: TDI_ERR_STATE, logged, and what was read is freed (the harness and
 * ASan see every result cleared and nothing leaked). */
static void query_fails(void **state)
{
    tdi_page r;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(ROWS_P("FROM tdi.run WHERE run_id = $1", "20260105T040000Z", 8, 1,
                      RUN_ROW("20260105T040000Z", "0", "12.5", "42")),
               ROWS_P("FROM tdi.run_source s", "42|\\N", 11, 1, "riverside", "ok", "full", "1",
                      "120", "117", "3", "f", "0", "0", "0"),
               HPQ_FAILS("FROM tdi.run_file", "42P01", "relation \"tdi.run_file\" does not exist"));
    assert_int_equal(state_report_load(st, "20260105T040000Z", NULL, &r), TDI_ERR_STATE);
    assert_string_equal(logged.text,
                        "state database: reading the ledger failed: relation \"tdi.run_file\" "
                        "does not exist (SQLSTATE 42P01)\n");
    assert_null(r.sources);
    assert_int_equal(r.nsources, 0);
    assert_null(r.files);

    logged.text[0] = '\0';
    hpq_script(
        ROWS_P("FROM tdi.run WHERE run_id = $1", "20260105T040000Z", 8, 1,
               RUN_ROW("20260105T040000Z", "0", "12.5", "42")),
        NO_ROWS_P("FROM tdi.run_source s", "42|\\N", 11),
        NO_ROWS_P("FROM tdi.run_file", "42|\\N", 8), NO_ROWS_P("WHERE run_no <= $1", "42|30", 8),
        HPQ_FAILS("FROM tdi.body_sequence", "57014", "canceling statement due to user request"));
    assert_int_equal(state_report_load(st, "20260105T040000Z", NULL, &r), TDI_ERR_STATE);
    assert_string_equal(logged.text, "state database: reading what the bodies hold failed: "
                                     "canceling statement due to user request (SQLSTATE 57014)\n");
    closed(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(whole_run, setup, teardown),
        cmocka_unit_test_setup_teardown(newest_run_of_one_source, setup, teardown),
        cmocka_unit_test_setup_teardown(no_such_run, setup, teardown),
        cmocka_unit_test_setup_teardown(query_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
