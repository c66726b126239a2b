/* Unit tests for common/tdi_pg.c against the scripted libpq (harness_pq): connecting and its
 * failures, errors with their SQLSTATE and whether a retry may help, the COPY loops, recovery
 * after a stop, a server that stalls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_pg.h"
#include "../../common/tdi_signal.h"
#include "harness_pq.h"
#include "test_log.h"

#include <signal.h>
#include <stdlib.h>

static test_log logged;

static int setup(void **state)
{
    (void)state;
    hpq_reset();
    test_log_start(&logged);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_log_stop();
    return 0;
}

/* A connection to "dbname=x" already made, for the tests of what comes after. */
static PGconn *connected(void)
{
    PGconn *conn = NULL;
    int transient = -1;

    hpq_script(HPQ_CONNECT("dbname=x"));
    assert_int_equal(tdi_pg_connect("dbname=x", "tdi", "state database", TDI_ERR_STATE,
                                    TDI_PG_ZONE_UTC, &conn, &transient),
                     TDI_OK);
    assert_non_null(conn);
    assert_int_equal(transient, 0);
    return conn;
}

static void connect_and_finish(void **state)
{
    PGconn *conn;

    (void)state;
    conn = connected();
    hpq_script(HPQ_FINISH);
    PQfinish(conn);
    hpq_done();
    assert_string_equal(logged.text, "");
}

static void connect_refused_is_transient(void **state)
{
    PGconn *conn = (PGconn *)1;
    int transient = 0;

    (void)state;
    hpq_script(HPQ_CONNECT_FAIL("host=clinic", 2,
                                "connection to server failed: Connection refused\nmore\n"),
               HPQ_FINISH);
    assert_int_equal(tdi_pg_connect("host=clinic", "tdi", "source a", TDI_ERR_SOURCE,
                                    TDI_PG_ZONE_SOURCE, &conn, &transient),
                     TDI_ERR_SOURCE);
    assert_null(conn);
    assert_int_equal(transient, 1);
    assert_string_equal(logged.text,
                        "source a: connecting failed: connection to server failed: Connection "
                        "refused\n");
    hpq_done();
}

static void connect_bad_option_is_permanent(void **state)
{
    PGconn *conn = NULL;
    int transient = 1;

    (void)state;
    hpq_script(HPQ_CONNECT_FAIL("hots=", 1, "invalid connection option \"hots\"\n"), HPQ_FINISH);
    assert_int_equal(tdi_pg_connect("hots=clinic", "tdi", "source a", TDI_ERR_SOURCE,
                                    TDI_PG_ZONE_SOURCE, &conn, &transient),
                     TDI_ERR_SOURCE);
    assert_int_equal(transient, 0);
    assert_string_equal(logged.text,
                        "source a: connecting failed: invalid connection option \"hots\"\n");
    hpq_done();
}

/* A source's session keeps the TimeZone its server, database or role sets (a view's
 * admitted_at::date is then the date clinic IT sees); the state database's is UTC. */
static void connect_zone(void **state)
{
    PGconn *src = NULL, *conn = NULL;
    int transient = -1;

    (void)state;
    hpq_script({.fn = HPQ_FN_CONNECT, .match = "dbname=clinic", HPQ_AT},
               {.fn = HPQ_FN_SEND, .match = "SET DateStyle = ISO", .exact = 1, .ret = 1, HPQ_AT},
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               {.fn = HPQ_FN_CONNECT, .match = "dbname=x", HPQ_AT},
               {.fn = HPQ_FN_SEND,
                .match = "SET DateStyle = ISO; SET TimeZone = 'UTC'",
                .exact = 1,
                .ret = 1,
                HPQ_AT},
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_FINISH, HPQ_FINISH);
    assert_int_equal(tdi_pg_connect("dbname=clinic", "tdi", "source a", TDI_ERR_SOURCE,
                                    TDI_PG_ZONE_SOURCE, &src, &transient),
                     TDI_OK);
    assert_int_equal(tdi_pg_connect("dbname=x", "tdi", "state database", TDI_ERR_STATE,
                                    TDI_PG_ZONE_UTC, &conn, &transient),
                     TDI_OK);
    PQfinish(src);
    PQfinish(conn);
    hpq_done();
    assert_string_equal(logged.text, "");
}

/* The session settings refused: a source's message quotes no value (class 22), the state
 * database's does. */
static void connect_settings_refused(void **state)
{
    PGconn *conn = NULL;
    int transient = 1;

    (void)state;
    hpq_script({.fn = HPQ_FN_CONNECT, .match = "dbname=x", HPQ_AT},
               HPQ_FAILS("SET DateStyle", "22023", "invalid value for parameter: \"1985-07-30\""),
               HPQ_FINISH, {.fn = HPQ_FN_CONNECT, .match = "dbname=x", HPQ_AT},
               HPQ_FAILS("SET DateStyle", "22023", "invalid value for parameter: \"x\""),
               HPQ_FINISH);
    assert_int_equal(tdi_pg_connect("dbname=x", "tdi", "source a", TDI_ERR_SOURCE,
                                    TDI_PG_ZONE_SOURCE, &conn, &transient),
                     TDI_ERR_SOURCE);
    assert_int_equal(transient, 0);
    assert_int_equal(tdi_pg_connect("dbname=x", "tdi", "state database", TDI_ERR_STATE,
                                    TDI_PG_ZONE_UTC, &conn, &transient),
                     TDI_ERR_STATE);
    assert_string_equal(logged.text,
                        "source a: setting DateStyle failed: SQLSTATE 22023, a value "
                        "of the source query does not fit the column contract (the server's "
                        "message is not shown: it may quote personal data)\n"
                        "state database: setting DateStyle and TimeZone failed: invalid value for "
                        "parameter: \"x\" (SQLSTATE 22023)\n");
    hpq_done();
}

/* Which SQLSTATE classes a retry may cure: 08 40 53 57 58, nothing else. */
static void query_error_classes(void **state)
{
    static const struct {
        const char *sqlstate;
        int transient;
    } cases[] = {{"08006", 1}, {"40001", 1}, {"53300", 1}, {"57P01", 1},
                 {"58030", 1}, {"42P01", 0}, {"23505", 0}, {"XX000", 0}};
    PGconn *conn;

    (void)state;
    conn = connected();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        PGresult *res = (PGresult *)1;
        int transient = -1;

        hpq_script(HPQ_FAILS("SELECT 1", cases[i].sqlstate, "it broke"));
        assert_int_equal(tdi_pg_query(conn, "state database", "reading", TDI_ERR_STATE, "SELECT 1",
                                      0, NULL, PGRES_TUPLES_OK, &res, &transient),
                         TDI_ERR_STATE);
        assert_null(res);
        assert_int_equal(transient, cases[i].transient);
    }
    assert_string_equal(logged.text, "state database: reading failed: it broke (SQLSTATE 08006)\n"
                                     "state database: reading failed: it broke (SQLSTATE 40001)\n"
                                     "state database: reading failed: it broke (SQLSTATE 53300)\n"
                                     "state database: reading failed: it broke (SQLSTATE 57P01)\n"
                                     "state database: reading failed: it broke (SQLSTATE 58030)\n"
                                     "state database: reading failed: it broke (SQLSTATE 42P01)\n"
                                     "state database: reading failed: it broke (SQLSTATE 23505)\n"
                                     "state database: reading failed: it broke (SQLSTATE XX000)\n");
    hpq_script(HPQ_FINISH);
    PQfinish(conn);
    hpq_done();
}

/* A source's server message is shown only for a class that names objects, never a value, and not
 * when it comes from a query inside the source's own functions; the state database's always. */
static void source_messages_by_class(void **state)
{
    static const struct {
        const char *who, *sqlstate, *internal;
    } cases[] = {
        {"source a", "42P01", NULL}, {"source a", "08006", NULL},
        {"source a", "57014", NULL}, {"source a", "P0001", NULL},
        {"source a", "38000", NULL}, {"source a", "HV000", NULL},
        {"source a", "ZZ001", NULL}, {"source a", "42601", "SELECT 'Vandersloot'"},
        {"source a", "22007", NULL}, {"state database", "P0001", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hpq_res r = {.status = PGRES_FATAL_ERROR,
                     .sqlstate = cases[i].sqlstate,
                     .message = "patient Vandersloot",
                     .internal = cases[i].internal};

        PGresult *res = hpq_result(&r);

        tdi_pg_log_error(cases[i].who, "reading", res, NULL);
        PQclear(res);
    }
    assert_string_equal(
        logged.text,
        "source a: reading failed: patient Vandersloot (SQLSTATE 42P01)\n"
        "source a: reading failed: patient Vandersloot (SQLSTATE 08006)\n"
        "source a: reading failed: patient Vandersloot (SQLSTATE 57014)\n"
        "source a: reading failed: SQLSTATE P0001 (the server's message is not shown: it may "
        "quote personal data)\n"
        "source a: reading failed: SQLSTATE 38000 (the server's message is not shown: it may "
        "quote personal data)\n"
        "source a: reading failed: SQLSTATE HV000 (the server's message is not shown: it may "
        "quote personal data)\n"
        "source a: reading failed: SQLSTATE ZZ001 (the server's message is not shown: it may "
        "quote personal data)\n"
        "source a: reading failed: SQLSTATE 42601 (the server's message is not shown: it may "
        "quote personal data)\n"
        "source a: reading failed: SQLSTATE 22007, a value of the source query does not fit the "
        "column contract (the server's message is not shown: it may quote personal data)\n"
        "state database: reading failed: patient Vandersloot (SQLSTATE P0001)\n");
}

/* A server's notice goes to the debug log, not to stderr by libpq; a source's without its text. */
static void notices_to_the_log(void **state)
{
    const hpq_res raise = {.sqlstate = "00000", .severity = "WARNING", .message = "Vandersloot"};
    const hpq_res named = {.sqlstate = "42P07", .severity = "NOTICE", .message = "t exists"};
    PGconn *src = NULL, *conn;
    int transient = -1;

    (void)state;
    tdi_log_set_level(TDI_LOG_DEBUG);
    conn = connected();
    hpq_script(HPQ_CONNECT("dbname=clinic"));
    assert_int_equal(tdi_pg_connect("dbname=clinic", "tdi", "source a", TDI_ERR_SOURCE,
                                    TDI_PG_ZONE_SOURCE, &src, &transient),
                     TDI_OK);
    hpq_notice(src, &raise);
    hpq_notice(src, &named);
    hpq_notice(conn, &raise);
    tdi_log_set_level(TDI_LOG_INFO);
    hpq_notice(conn, &named); /* debug only */
    assert_string_equal(logged.text,
                        "source a: the server sent a WARNING (SQLSTATE 00000; its text is not "
                        "shown: it may quote personal data)\n"
                        "source a: the server says (NOTICE, SQLSTATE 42P07): t exists\n"
                        "state database: the server says (WARNING, SQLSTATE 00000): Vandersloot\n");
    hpq_script(HPQ_FINISH, HPQ_FINISH);
    PQfinish(src);
    PQfinish(conn);
    hpq_done();
}

/* Parameters go as text, NULL as SQL NULL; the result is the caller's; a wait for a result
 * that is not there yet polls the socket. */
static void query_params_rows_and_wait(void **state)
{
    const char *params[2] = {"riverside", NULL};
    PGresult *res = NULL;
    PGconn *conn;

    (void)state;
    conn = connected();
    hpq_script(HPQ_SEND_P("WHERE source = $1", "riverside|\\N"),
               {.fn = HPQ_FN_RESULT,
                .busy = 1,
                .res = {.status = PGRES_TUPLES_OK,
                        .nfields = 2,
                        .fields = (const char *const[]){"a", "b"},
                        .ntuples = 1,
                        .values = (const char *const[]){"1", HPQ_NULL}},
                HPQ_AT},
               HPQ_RESULT_NONE);
    assert_int_equal(tdi_pg_query(conn, "state database", "reading", TDI_ERR_STATE,
                                  "SELECT a, b FROM t WHERE source = $1 AND x = $2", 2, params,
                                  PGRES_TUPLES_OK, &res, NULL),
                     TDI_OK);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
    assert_true(PQgetisnull(res, 0, 1));
    PQclear(res);
    hpq_script(HPQ_FINISH);
    PQfinish(conn);
    hpq_done();
}

/* The wrong kind of result; an error after a good result; several statements at once. */
static void query_unexpected_results(void **state)
{
    PGconn *conn;
    int transient = -1;

    (void)state;
    conn = connected();
    hpq_script(HPQ_COMMAND("DELETE"), HPQ_SEND("BEGIN; UPDATE"), HPQ_RESULT(PGRES_COMMAND_OK),
               HPQ_RESULT_ERROR("40P01", "deadlock detected"), HPQ_RESULT_ERROR("25P02", "aborted"),
               HPQ_RESULT_NONE, HPQ_SEND("SELECT"), HPQ_RESULT_NONE);
    assert_int_equal(tdi_pg_query(conn, "state database", "deleting", TDI_ERR_STATE, "DELETE", 0,
                                  NULL, PGRES_TUPLES_OK, NULL, &transient),
                     TDI_ERR_STATE);
    assert_int_equal(transient, 0);
    assert_int_equal(tdi_pg_query(conn, "state database", "updating", TDI_ERR_STATE,
                                  "BEGIN; UPDATE t SET a = 1; UPDATE u SET b = 2", 0, NULL,
                                  PGRES_COMMAND_OK, NULL, &transient),
                     TDI_ERR_STATE);
    assert_int_equal(transient, 1); /* the first error decides: a deadlock */
    assert_int_equal(tdi_pg_command(conn, "state database", "selecting", TDI_ERR_STATE, "SELECT"),
                     TDI_ERR_STATE);
    assert_string_equal(logged.text,
                        "state database: deleting failed: unexpected result PGRES_COMMAND_OK\n"
                        "state database: updating failed: deadlock detected (SQLSTATE 40P01)\n"
                        "state database: selecting failed: unexpected result (none)\n");
    hpq_script(HPQ_FINISH);
    PQfinish(conn);
    hpq_done();
}

/* A statement that cannot be sent: the connection broke, a retry may help. */
static void send_on_lost_connection(void **state)
{
    PGconn *conn;
    int transient = 0;

    (void)state;
    conn = connected();
    hpq_script({.fn = HPQ_FN_SEND, .match = "SELECT", .lost = 1, HPQ_AT}, HPQ_FINISH);
    assert_int_equal(tdi_pg_send(conn, "source a", "the source query", TDI_ERR_SOURCE, "SELECT 1",
                                 0, NULL, &transient),
                     TDI_ERR_SOURCE);
    assert_int_equal(transient, 1);
    assert_string_equal(logged.text, "source a: the source query failed: server closed the "
                                     "connection unexpectedly\n");
    assert_int_equal(tdi_pg_recover(conn, 100), 0);
    PQfinish(conn);
    hpq_done();
}

/* COPY OUT the pg_dump way: rows until -1, then the results until none; a row not there yet
 * (0) is waited for. The next statement can then be sent (the harness refuses it otherwise). */
static void copy_out_to_the_end(void **state)
{
    PGconn *conn;
    char *line;
    int len, eof, transient = -1;

    (void)state;
    conn = connected();
    hpq_script(HPQ_SEND("COPY (SELECT"), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW("a\t1\n"),
               HPQ_COPY_RET(0), HPQ_COPY_ROW("b\t\\N\n"), HPQ_COPY_DONE, HPQ_COMMAND("COMMIT"));
    assert_int_equal(tdi_pg_query(conn, "source a", "the source query", TDI_ERR_SOURCE,
                                  "COPY (SELECT a, b FROM t) TO STDOUT", 0, NULL, PGRES_COPY_OUT,
                                  NULL, NULL),
                     TDI_OK);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, NULL),
        TDI_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(line, "a\t1\n", 4);
    assert_int_equal(eof, 0);
    PQfreemem(line);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, NULL),
        TDI_OK);
    assert_memory_equal(line, "b\t\\N\n", 5);
    PQfreemem(line);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, &transient),
        TDI_OK);
    assert_int_equal(eof, 1);
    assert_null(line);
    assert_int_equal(transient, 0);
    assert_int_equal(tdi_pg_command(conn, "source a", "ending", TDI_ERR_SOURCE, "COMMIT"), TDI_OK);
    assert_string_equal(logged.text, "");
    hpq_script(HPQ_FINISH);
    PQfinish(conn);
    hpq_done();
}

/* The COPY ends (-1) with an error result: a cancelled statement, worth a retry. */
static void copy_out_ends_with_error(void **state)
{
    PGconn *conn;
    char *line;
    int len, eof, transient = 0;

    (void)state;
    conn = connected();
    hpq_script(HPQ_SEND("COPY"), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_RET(-1),
               HPQ_RESULT_ERROR("57014", "canceling statement due to statement timeout"),
               HPQ_RESULT_NONE, HPQ_FINISH);
    assert_int_equal(tdi_pg_query(conn, "source a", "the source query", TDI_ERR_SOURCE, "COPY", 0,
                                  NULL, PGRES_COPY_OUT, NULL, NULL),
                     TDI_OK);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, &transient),
        TDI_ERR_SOURCE);
    assert_int_equal(eof, 1);
    assert_int_equal(transient, 1);
    assert_string_equal(logged.text, "source a: reading failed: canceling statement due to "
                                     "statement timeout (SQLSTATE 57014)\n");
    PQfinish(conn);
    hpq_done();
}

/* -2: the stream broke. With the connection's error result, or with no result at all. */
static void copy_out_breaks(void **state)
{
    PGconn *conn;
    char *line;
    int len, eof, transient = 0;

    (void)state;
    conn = connected();
    hpq_script(HPQ_SEND("COPY"), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW("a\n"),
               {.fn = HPQ_FN_COPY_GET, .ret = -2, .error = "lost synchronization\n", HPQ_AT},
               HPQ_RESULT_NONE);
    assert_int_equal(tdi_pg_query(conn, "source a", "the source query", TDI_ERR_SOURCE, "COPY", 0,
                                  NULL, PGRES_COPY_OUT, NULL, NULL),
                     TDI_OK);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, NULL),
        TDI_OK);
    PQfreemem(line);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, &transient),
        TDI_ERR_SOURCE);
    assert_int_equal(eof, 0);
    assert_int_equal(transient, 1);

    /* The connection goes with the error result: the loop stops there, no spinning. */
    hpq_script(HPQ_SEND("COPY"), HPQ_RESULT(PGRES_COPY_OUT),
               {.fn = HPQ_FN_COPY_GET, .ret = -2, .lost = 1, HPQ_AT},
               {.fn = HPQ_FN_RESULT,
                .res = {.status = PGRES_FATAL_ERROR, .message = "server closed the connection"},
                HPQ_AT},
               HPQ_FINISH);
    assert_int_equal(tdi_pg_query(conn, "source a", "the key scan", TDI_ERR_SOURCE, "COPY", 0, NULL,
                                  PGRES_COPY_OUT, NULL, NULL),
                     TDI_OK);
    transient = 0;
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, &transient),
        TDI_ERR_SOURCE);
    assert_int_equal(transient, 1);
    assert_string_equal(logged.text, "source a: reading failed: lost synchronization\n"
                                     "source a: reading failed: server closed the connection "
                                     "(SQLSTATE ?)\n");
    PQfinish(conn);
    hpq_done();
}

/* COPY IN: the rows, the end, the result; an end with an error drops the rows quietly. */
static void copy_in(void **state)
{
    PGconn *conn;

    (void)state;
    conn = connected();
    hpq_script(HPQ_SEND("FROM STDIN"), HPQ_RESULT(PGRES_COPY_IN), HPQ_PUT("1\tk1\n"), HPQ_PUT_END,
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_SEND("FROM STDIN"),
               HPQ_RESULT(PGRES_COPY_IN),
               {.fn = HPQ_FN_COPY_END, .match = "dropped", .ret = 1, HPQ_AT},
               HPQ_RESULT_ERROR("57014", "COPY from stdin failed: dropped"), HPQ_RESULT_NONE,
               HPQ_SEND("FROM STDIN"), HPQ_RESULT(PGRES_COPY_IN),
               {.fn = HPQ_FN_COPY_PUT, .ret = -1, .lost = 1, HPQ_AT}, HPQ_FINISH);
    assert_int_equal(tdi_pg_query(conn, "state database", "copying", TDI_ERR_STATE,
                                  "COPY t FROM STDIN", 0, NULL, PGRES_COPY_IN, NULL, NULL),
                     TDI_OK);
    assert_int_equal(
        tdi_pg_copy_put(conn, "state database", "copying", TDI_ERR_STATE, "1\tk1\n", 5), TDI_OK);
    assert_int_equal(tdi_pg_copy_end(conn, "state database", "copying", TDI_ERR_STATE, NULL),
                     TDI_OK);
    assert_int_equal(tdi_pg_query(conn, "state database", "copying", TDI_ERR_STATE,
                                  "COPY t FROM STDIN", 0, NULL, PGRES_COPY_IN, NULL, NULL),
                     TDI_OK);
    assert_int_equal(tdi_pg_copy_end(conn, "state database", "copying", TDI_ERR_STATE, "dropped"),
                     TDI_OK);
    assert_string_equal(logged.text, "");
    assert_int_equal(tdi_pg_query(conn, "state database", "copying", TDI_ERR_STATE,
                                  "COPY t FROM STDIN", 0, NULL, PGRES_COPY_IN, NULL, NULL),
                     TDI_OK);
    assert_int_equal(tdi_pg_copy_put(conn, "state database", "copying", TDI_ERR_STATE, "x", 1),
                     TDI_ERR_STATE);
    assert_string_equal(logged.text, "state database: copying failed: server closed the "
                                     "connection unexpectedly\n");
    PQfinish(conn);
    hpq_done();
}

/* Recovery: an idle connection is usable as it is; a COPY OUT is cancelled and drained. */
static void recover_after_copy_out(void **state)
{
    PGconn *conn;

    (void)state;
    conn = connected();
    assert_int_equal(tdi_pg_recover(conn, 1000), 1); /* idle: no call at all */
    hpq_script(HPQ_SEND("COPY"), HPQ_RESULT(PGRES_COPY_OUT), HPQ_CANCEL, HPQ_COPY_ROW("a\n"),
               HPQ_COPY_ROW("b\n"), HPQ_COPY_RET(-1),
               HPQ_RESULT_ERROR("57014", "canceling statement due to user request"),
               HPQ_RESULT_NONE);
    assert_int_equal(tdi_pg_query(conn, "source a", "the source query", TDI_ERR_SOURCE, "COPY", 0,
                                  NULL, PGRES_COPY_OUT, NULL, NULL),
                     TDI_OK);
    assert_int_equal(tdi_pg_recover(conn, 1000), 1);
    hpq_script(HPQ_FINISH);
    PQfinish(conn);
    hpq_done();
}

/* Recovery in a COPY IN: the server waits for us, the COPY is ended with an error. */
static void recover_after_copy_in(void **state)
{
    PGconn *conn;

    (void)state;
    conn = connected();
    hpq_script(HPQ_SEND("FROM STDIN"), HPQ_RESULT(PGRES_COPY_IN), HPQ_CANCEL,
               HPQ_RESULT(PGRES_COPY_IN),
               {.fn = HPQ_FN_COPY_END, .match = "tdi stopped", .ret = 1, HPQ_AT},
               HPQ_RESULT_ERROR("57014", "COPY from stdin failed: tdi stopped"), HPQ_RESULT_NONE,
               HPQ_FINISH);
    assert_int_equal(tdi_pg_query(conn, "state database", "copying", TDI_ERR_STATE,
                                  "COPY t FROM STDIN", 0, NULL, PGRES_COPY_IN, NULL, NULL),
                     TDI_OK);
    assert_int_equal(tdi_pg_recover(conn, 1000), 1);
    PQfinish(conn);
    hpq_done();
}

/* A server that sends nothing for the stall limit while tdi waits for a result: the statement is
 * cancelled, the failure logged and transient (the retry acts on it). */
static void stall_waiting_for_result(void **state)
{
    PGconn *conn;
    int transient = -1;

    (void)state;
    conn = connected();
    assert_int_equal(tdi_pg_set_stall_timeout(conn, "source a", 20), TDI_OK);
    hpq_silent_socket(1);
    hpq_script(HPQ_SEND("pg_sleep"), HPQ_CANCEL, HPQ_FINISH);
    assert_int_equal(tdi_pg_query(conn, "source a", "the source query", TDI_ERR_SOURCE,
                                  "SELECT pg_sleep(3600)", 0, NULL, PGRES_TUPLES_OK, NULL,
                                  &transient),
                     TDI_ERR_SOURCE);
    assert_int_equal(transient, 1);
    assert_string_equal(logged.text, "source a: sent nothing for 0.02 s: given up\n");
    PQfinish(conn);
    hpq_done();
}

/* The same mid-COPY: rows came, then nothing. Without a limit set (0) a connection has none. */
static void stall_mid_copy(void **state)
{
    PGconn *conn;
    char *line = NULL;
    int len, eof, transient = -1;

    (void)state;
    conn = connected();
    assert_int_equal(tdi_pg_set_stall_timeout(conn, "source a", 0), TDI_OK);
    assert_int_equal(tdi_pg_set_stall_timeout(conn, "source a", 1000), TDI_OK);
    hpq_script(HPQ_SEND("COPY (SELECT"), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW("a\t1\n"),
               HPQ_COPY_RET(0), HPQ_CANCEL, HPQ_FINISH);
    assert_int_equal(tdi_pg_query(conn, "source a", "the source query", TDI_ERR_SOURCE,
                                  "COPY (SELECT a FROM t) TO STDOUT", 0, NULL, PGRES_COPY_OUT, NULL,
                                  NULL),
                     TDI_OK);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, NULL),
        TDI_OK);
    PQfreemem(line);
    hpq_silent_socket(1);
    assert_int_equal(
        tdi_pg_copy_get(conn, "source a", "reading", TDI_ERR_SOURCE, &line, &len, &eof, &transient),
        TDI_ERR_SOURCE);
    assert_null(line);
    assert_int_equal(eof, 0);
    assert_int_equal(transient, 1);
    assert_string_equal(logged.text, "source a: sent nothing for 1 s: given up\n");
    PQfinish(conn);
    hpq_done();
}

/* A stop signal ends the wait for a result at once; recovery then cancels the statement. Last:
 * the stop flag stays set for the rest of the binary. */
static void stop_interrupts_wait(void **state)
{
    PGconn *conn;

    (void)state;
    conn = connected();
    hpq_script(HPQ_SEND("pg_sleep"), HPQ_CANCEL,
               HPQ_RESULT_ERROR("57014", "canceling statement due to user request"),
               HPQ_RESULT_NONE, HPQ_FINISH);
    tdi_signal_setup();
    raise(SIGTERM);
    assert_int_equal(tdi_pg_query(conn, "state database", "sleeping", TDI_ERR_STATE,
                                  "SELECT pg_sleep(3600)", 0, NULL, PGRES_TUPLES_OK, NULL, NULL),
                     TDI_ERR_INTERRUPTED);
    assert_int_equal(tdi_pg_recover(conn, 1000), 1);
    PQfinish(conn);
    hpq_done();
    assert_string_equal(logged.text, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(connect_and_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_refused_is_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_bad_option_is_permanent, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_settings_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(query_error_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(source_messages_by_class, setup, teardown),
        cmocka_unit_test_setup_teardown(notices_to_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(query_params_rows_and_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(query_unexpected_results, setup, teardown),
        cmocka_unit_test_setup_teardown(send_on_lost_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_out_to_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_out_ends_with_error, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_out_breaks, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_in, setup, teardown),
        cmocka_unit_test_setup_teardown(recover_after_copy_out, setup, teardown),
        cmocka_unit_test_setup_teardown(recover_after_copy_in, setup, teardown),
        cmocka_unit_test_setup_teardown(stall_waiting_for_result, setup, teardown),
        cmocka_unit_test_setup_teardown(stall_mid_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_interrupts_wait, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
