/* Unit tests for extract/ against the scripted libpq (harness_pq): the describe, the rows and
 * their NULLs, a COPY that breaks off or ends in an error, how a failure is classed, the
 * incremental read and the key scan, closing early. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../extract/extract.h"
#include "harness_pq.h"
#include "test_log.h"

#include <stdio.h>
#include <string.h>

#define COPY_SQL "COPY (SELECT tdi_src.\"episode_id\"::"
#define KEYS_SQL "COPY (SELECT tdi_src.\"episode_id\"::text FROM"

static test_log logged;
static const char *names[TDI_COL_COUNT + 1]; /* the contract's columns, then "changed_at" */
static char rows[4][2048];                   /* COPY lines scripted by copy_row() */
static Oid col_types[TDI_COL_COUNT + 1];     /* their types: text, changed_at timestamptz */

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < TDI_COL_COUNT; i++)
        names[i] = tdi_columns[i].name;
    names[TDI_COL_COUNT] = "changed_at";
    for (int i = 0; i < TDI_COL_COUNT; i++)
        col_types[i] = 25;
    col_types[TDI_COL_COUNT] = 1184;
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

static tdi_source_config source(void)
{
    tdi_source_config src = {.name = "riverside",
                             .conninfo = "host=clinic dbname=ehr",
                             .query = "SELECT * FROM tdi_episodes;",
                             .national_id = TDI_NID_BE_RRN};
    return src;
}

/* COPY line i: fields "c<col>", episode_id "E<i>", the fields in nulls as \N; extra (or NULL)
 * appended as one more field. */
static const char *copy_row(int i, const int *nulls, size_t nnulls, const char *extra)
{
    size_t used = 0;

    for (int c = 0; c < TDI_COL_COUNT; c++) {
        int null = 0;
        for (size_t k = 0; k < nnulls; k++)
            null |= nulls[k] == c;
        used += (size_t)snprintf(rows[i] + used, sizeof rows[i] - used, "%s", c ? "\t" : "");
        if (null)
            used += (size_t)snprintf(rows[i] + used, sizeof rows[i] - used, "\\N");
        else if (c == TDI_COL_EPISODE_ID)
            used += (size_t)snprintf(rows[i] + used, sizeof rows[i] - used, "E%d", i);
        else
            used += (size_t)snprintf(rows[i] + used, sizeof rows[i] - used, "c%d", c);
    }
    if (extra)
        used += (size_t)snprintf(rows[i] + used, sizeof rows[i] - used, "\t%s", extra);
    snprintf(rows[i] + used, sizeof rows[i] - used, "\n");
    return rows[i];
}

/* Connecting, the snapshot, the prepare of a statement with query in it and the describe (nfields
 * of names, of types). */
static void script_open_query(const char *query, int nfields, const Oid *types)
{
    hpq_script(
        HPQ_CONNECT("host=clinic dbname=ehr"),
        HPQ_COMMAND("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        {.fn = HPQ_FN_PREPARE, .match = query, .res = {.status = PGRES_COMMAND_OK}, HPQ_AT},
        {.fn = HPQ_FN_DESCRIBE,
         .res = {.status = PGRES_COMMAND_OK, .nfields = nfields, .fields = names, .types = types},
         HPQ_AT});
}

/* The same for the query SELECT * FROM tdi_episodes, its columns text. */
static void script_open(int nfields)
{
    script_open_query("SELECT * FROM tdi_episodes\n)", nfields, col_types);
}

/* The whole source read: rows, a NULL, the end of the COPY, the snapshot ended. */
static void read_all_rows(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 1, nulls[] = {TDI_COL_BIRTH_DATE, TDI_COL_POSTCODE};

    (void)state;
    script_open(TDI_COL_COUNT);
    hpq_script(HPQ_SEND(COPY_SQL), HPQ_RESULT(PGRES_COPY_OUT),
               HPQ_COPY_ROW(copy_row(0, NULL, 0, NULL)), HPQ_COPY_ROW(copy_row(1, nulls, 2, NULL)),
               HPQ_COPY_DONE, HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 0);
    assert_int_equal(row.row_number, 1);
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E0");
    assert_string_equal(row.col[TDI_COL_CLIENT_ID], "c1");
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(row.row_number, 2);
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E1");
    assert_null(row.col[TDI_COL_BIRTH_DATE]);
    assert_null(row.col[TDI_COL_POSTCODE]);
    assert_string_equal(row.col[TDI_COL_CLIENT_ID], "c1");
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK); /* after the end: still the end */
    assert_int_equal(eof, 1);
    assert_string_equal(extract_max_changed(s), "");
    assert_int_equal(extract_close(s), TDI_OK);
    assert_string_equal(logged.text, "");
    hpq_done();
}

/* A start_date the source types as a date is filtered with a cast that cannot fail; as text it is
 * compared as text, so a value that is no date reaches the client (R008) instead of failing the
 * COPY. A SQL_ASCII server is read as the bytes it holds: a cell that is no UTF-8 reaches the
 * client as it is (R019 there), not as a refused COPY. */
static void typed_dates_and_sql_ascii(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 1;
    Oid types[TDI_COL_COUNT];
    char bad[2048];

    (void)state;
    for (int i = 0; i < TDI_COL_COUNT; i++)
        types[i] = i == TDI_COL_START_DATE ? 1082 : 25;
    char *cell;

    snprintf(bad, sizeof bad, "%s", copy_row(0, NULL, 0, NULL));
    cell = strstr(bad, "\tc2\t") + 1; /* centre_id's cell becomes the byte 0xEF: not UTF-8 */
    cell[0] = (char)0xEF;
    memmove(cell + 1, cell + 2, strlen(cell + 2) + 1);
    hpq_server_encoding("SQL_ASCII");
    script_open_query("SELECT * FROM tdi_episodes\n)", TDI_COL_COUNT, types);
    hpq_script(HPQ_SEND("tdi_src.\"start_date\"::date >= DATE '2025-01-01' AND "
                        "tdi_src.\"start_date\"::date < DATE '2026-01-01'"),
               HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW(bad), HPQ_COPY_DONE, HPQ_COMMAND("COMMIT"),
               HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 0);
    assert_string_equal(row.col[TDI_COL_CENTRE_ID], "\xEF");
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_close(s), TDI_OK);
    hpq_done();
}

/* The field "\t<from>\t" of line replaced by to. */
static void set_field(char *line, const char *from, const char *to)
{
    char rest[2048], want[16], *at;

    snprintf(want, sizeof want, "\t%s\t", from);
    at = strstr(line, want);
    assert_non_null(at);
    snprintf(rest, sizeof rest, "%s", at + strlen(want) - 1);
    snprintf(at + 1, 2048 - (size_t)(at + 1 - line), "%s%s", to, rest);
}

/* A WIN1252 server is read as stored (client_encoding WIN1252) and converted by tdi: the query's
 * è goes as 0xE8, a client id's 0xE9 arrives as é, a cell with 0x81 (no character in WIN1252)
 * is marked for R019 without costing the read; the key scan's ids are converted as the rows'
 * are, and go back as the server holds them. (The server's conversion failed the whole COPY at
 * 0x81, SQLSTATE 22P05.) */
static void win1252_converted_by_tdi(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    const char *id = NULL, *ids[] = {"Cl\xc3\xa9-1", "E\xff\x81"};
    char plain[2048], accented[2048];
    tdi_raw_row row;
    int eof = 1;

    (void)state;
    src.query = "SELECT * FROM tdi_episodes WHERE centre_id <> 'Gen\xc3\xa8ve'";
    snprintf(plain, sizeof plain, "%s", copy_row(0, NULL, 0, NULL));
    snprintf(accented, sizeof accented, "%s", copy_row(1, NULL, 0, NULL));
    set_field(accented, "c1", "Cl\xe9-1"); /* the client id */
    set_field(accented, "c9", "\x81\x80"); /* sex: 0x81, then a euro sign */
    hpq_server_encoding("WIN1252");
    script_open_query("WHERE centre_id <> 'Gen\xe8ve'\n)", TDI_COL_COUNT, col_types);
    hpq_script(
        HPQ_SEND("WHERE centre_id <> 'Gen\xe8ve'\n) AS tdi_src"), HPQ_RESULT(PGRES_COPY_OUT),
        HPQ_COPY_ROW(plain), HPQ_COPY_ROW(accented), HPQ_COPY_DONE, HPQ_SEND(KEYS_SQL),
        HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW("Cl\xe9-1\n"), HPQ_COPY_ROW("E\x81\n"),
        HPQ_COPY_DONE,
        HPQ_SEND_P("SELECT length(set_config('tdi.episode_ids', $1, true))",
                   "{\"Cl\xe9-1\",\"E\x81\"}"),
        HPQ_RESULT_ROWS(1, ((const char *const[]){"length"}), 1, ((const char *const[]){"15"})),
        HPQ_RESULT_NONE, HPQ_SEND("unnest(current_setting('tdi.episode_ids')::text[])"),
        HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_DONE, HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 0);
    assert_string_equal(row.col[TDI_COL_CLIENT_ID], "c1");
    assert_true(row.unconverted == 0);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E1");
    assert_string_equal(row.col[TDI_COL_CLIENT_ID], "Cl\xc3\xa9-1");
    assert_string_equal(row.col[TDI_COL_SEX], "\xff\x81\xe2\x82\xac");
    assert_string_equal(row.col[TDI_COL_AFTERCARE], "c43");
    assert_true(row.unconverted == (uint64_t)1 << TDI_COL_SEX);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_keys_begin(s), TDI_OK);
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_OK);
    assert_string_equal(id, "Cl\xc3\xa9-1");
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_OK);
    assert_string_equal(id, "E\xff\x81");
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_episodes_begin(s, ids, 2), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_close(s), TDI_OK);
    assert_string_equal(logged.text, "");
    hpq_done();
}

/* A query with a character the source's encoding has not: refused before it is sent, naming the
 * source and the encoding (the server would say 22P05 of the statement). An encoding tdi leaves
 * to the server keeps client_encoding UTF8. */
static void win1252_query_refused_mule_left(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    src.query = "SELECT * FROM tdi_episodes WHERE centre_id <> '\xce\xa9'";
    hpq_server_encoding("WIN1252");
    hpq_script(HPQ_CONNECT("host=clinic dbname=ehr"),
               HPQ_COMMAND("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
               HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);
    assert_false(extract_failure_transient());
    assert_string_equal(logged.text, "source riverside: the source query has a character the "
                                     "database's encoding WIN1252 cannot hold\n");
    hpq_done();
    src = source();
    hpq_server_encoding("MULE_INTERNAL");
    script_open(TDI_COL_COUNT);
    hpq_script(HPQ_SEND(COPY_SQL), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_DONE, HPQ_COMMAND("COMMIT"),
               HPQ_FINISH);
    logged.text[0] = '\0';
    tdi_log_set_level(TDI_LOG_DEBUG);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    tdi_log_set_level(TDI_LOG_INFO);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_close(s), TDI_OK);
    assert_string_equal(logged.text, "source riverside: server encoding MULE_INTERNAL: converted "
                                     "to UTF-8 by the server\n");
    hpq_done();
}

/* Optional columns the query lacks are not selected, NULL in every row, and said once. */
static void optional_columns_missing(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    copy_row(0, NULL, 0, NULL);
    strcpy(strrchr(rows[0], '\t'), "\n"); /* the row without its last field */
    script_open(TDI_COL_COUNT - 1);       /* no aftercare, the last */
    hpq_script(HPQ_SEND(", tdi_src.\"discharge_reason\"::text FROM (\nSELECT * FROM "
                        "tdi_episodes\n) AS tdi_src"),
               HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW(rows[0]), HPQ_COPY_DONE,
               HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 0);
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E0");
    assert_string_equal(row.col[TDI_COL_DISCHARGE_REASON], "c42");
    assert_null(row.col[TDI_COL_AFTERCARE]);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_close(s), TDI_OK);
    assert_string_equal(logged.text, "source riverside: 1 optional column not in the source "
                                     "query, not known in every row: aftercare\n");
    hpq_done();
}

/* What the describe finds wrong: a required column, the national id, the change-time column. */
static void describe_refuses(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;

    (void)state;
    names[TDI_COL_CLIENT_ID] = "client";
    script_open(TDI_COL_COUNT);
    hpq_script(HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);
    assert_null(s);
    assert_int_equal(extract_failure_transient(), 0);
    names[TDI_COL_CLIENT_ID] = tdi_columns[TDI_COL_CLIENT_ID].name;

    script_open(TDI_COL_NATIONAL_ID);
    hpq_script(HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);

    src.incremental = "updated_at";
    script_open(TDI_COL_COUNT);
    hpq_script(HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);

    /* A change time in text: refused at the describe step, no COPY sent. */
    src.incremental = "changed_at";
    col_types[TDI_COL_COUNT] = 25;
    script_open(TDI_COL_COUNT + 1);
    hpq_script(HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);
    assert_string_equal(
        logged.text,
        "source riverside: the source query has no column client_id (required; see README.md, "
        "\"Source query\")\n"
        "source riverside: 7 optional columns not in the source query, not known in every row: "
        "national_id, family_name, given_name, postcode, end_date, discharge_reason, aftercare\n"
        "source riverside: national_id = be_rrn in the config, but the source query yields no "
        "national_id column\n"
        "source riverside: incremental = updated_at in the config, but the source query yields "
        "no updated_at column\n"
        "source riverside: incremental = changed_at: the column is of type text; a change time "
        "must be timestamptz, timestamp or date. Cast it in the source query "
        "(changed_at::timestamptz AS changed_at: a value that is no time then fails there) or "
        "remove incremental from the config\n");
    hpq_done();
}

/* A query the server cannot prepare: a wrong query, not worth a retry; the snapshot is
 * already aborted, so no COMMIT. A refused connection is worth one. */
static void prepare_fails_and_connect_refused(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;

    (void)state;
    hpq_script(HPQ_CONNECT("dbname=ehr"), HPQ_COMMAND("BEGIN ISOLATION"),
               {.fn = HPQ_FN_PREPARE,
                .res = {.status = PGRES_FATAL_ERROR,
                        .sqlstate = "42P01",
                        .message = "relation \"tdi_episodes\" does not exist"},
                HPQ_AT},
               HPQ_FINISH, HPQ_CONNECT_FAIL("dbname=ehr", 2, "Connection refused\n"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);
    assert_int_equal(extract_failure_transient(), 0);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);
    assert_int_equal(extract_failure_transient(), 1);
    assert_string_equal(logged.text, "source riverside: the source query failed: relation "
                                     "\"tdi_episodes\" does not exist (SQLSTATE 42P01)\n"
                                     "source riverside: connecting failed: Connection refused\n");
    hpq_done();
}

/* The COPY breaks off: the connection is lost, a retry may help; closing needs no COMMIT. */
static void copy_breaks_off(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    script_open(TDI_COL_COUNT);
    hpq_script(HPQ_SEND(COPY_SQL), HPQ_RESULT(PGRES_COPY_OUT),
               HPQ_COPY_ROW(copy_row(0, NULL, 0, NULL)),
               {.fn = HPQ_FN_COPY_GET, .ret = -2, .lost = 1, HPQ_AT},
               {.fn = HPQ_FN_RESULT,
                .res = {.status = PGRES_FATAL_ERROR,
                        .message = "server closed the connection unexpectedly"},
                HPQ_AT},
               HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_ERR_SOURCE);
    assert_int_equal(extract_failure_transient(), 1);
    assert_int_equal(extract_close(s), TDI_OK);
    assert_string_equal(logged.text, "source riverside: reading the COPY stream failed: server "
                                     "closed the connection unexpectedly (SQLSTATE ?)\n");
    hpq_done();
}

/* A value that breaks the column contract ends the COPY with a class 22 error: logged without
 * the server's text (it quotes the value), not worth a retry. */
static void copy_ends_with_data_error(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    script_open(TDI_COL_COUNT);
    hpq_script(HPQ_SEND(COPY_SQL), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_RET(-1),
               HPQ_RESULT_ERROR("22007", "invalid input syntax for type date: \"30.07.1985\""),
               HPQ_RESULT_NONE, HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_ERR_SOURCE);
    assert_int_equal(extract_failure_transient(), 0);
    assert_int_equal(extract_close(s), TDI_OK);
    assert_string_equal(logged.text, "source riverside: reading the COPY stream failed: SQLSTATE "
                                     "22007, a value of the source query does not fit the column "
                                     "contract (the server's message is not shown: it may quote "
                                     "personal data)\n");
    assert_null(strstr(logged.text, "1985"));
    hpq_done();
}

/* A malformed row is an error; closing in the middle of the COPY cancels it and drains it. */
static void malformed_row_and_early_close(void **state)
{
    tdi_source_config src = source();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    script_open(TDI_COL_COUNT);
    hpq_script(HPQ_SEND(COPY_SQL), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW("E1\tonly two\n"),
               HPQ_CANCEL, HPQ_COPY_ROW(copy_row(1, NULL, 0, NULL)), HPQ_COPY_RET(-1),
               HPQ_RESULT_ERROR("57014", "canceling statement due to user request"),
               HPQ_RESULT_NONE, HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_ERR_SOURCE);
    assert_int_equal(extract_failure_transient(), 0);
    assert_int_equal(extract_close(s), TDI_ERR_SOURCE);
    assert_string_equal(logged.text, "source riverside: row 1 of the COPY stream is malformed\n");
    hpq_done();
}

/* An incremental source, its open scripted up to the source's clock (2025-06-01T10:00). */
static tdi_source_config incremental_open(void)
{
    tdi_source_config src = source();

    src.incremental = "changed_at";
    script_open(TDI_COL_COUNT + 1);
    hpq_script(HPQ_VALUE("SELECT to_char(now()", "2025-06-01T10:00:00.000000Z"));
    return src;
}

/* An incremental read: the source's clock, rows changed since, the largest change time (never
 * past the clock), then the key scan of the year in the same snapshot. */
static void incremental_read_and_key_scan(void **state)
{
    tdi_source_config src = incremental_open();
    extract_source *s = NULL;
    const char *id = "x";
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    hpq_script(HPQ_SEND("tdi_src.\"changed_at\" > TIMESTAMPTZ '2025-05-01T00:00:00.000000Z'"),
               HPQ_RESULT(PGRES_COPY_OUT),
               HPQ_COPY_ROW(copy_row(0, NULL, 0, "2025-05-02T00:00:00.000000Z")),
               HPQ_COPY_ROW(copy_row(1, NULL, 0, "\\N")),
               HPQ_COPY_ROW(copy_row(2, NULL, 0, "2025-05-30T00:00:00.000000Z")), HPQ_COPY_DONE);
    assert_int_equal(extract_open(&src, 2025, "2025-05-01T00:00:00.000000Z", &s), TDI_OK);
    assert_int_equal(extract_keys_begin(s), TDI_ERR_INTERNAL); /* rows first */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
        assert_int_equal(eof, 0);
    }
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_string_equal(extract_max_changed(s), "2025-05-30T00:00:00.000000Z");

    hpq_script(HPQ_SEND(KEYS_SQL), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW("E0\n"),
               HPQ_COPY_ROW("\\N\n"), HPQ_COPY_ROW("a\tb\n"), HPQ_CANCEL, HPQ_COPY_DONE,
               HPQ_FINISH);
    assert_int_equal(extract_keys_begin(s), TDI_OK);
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_OK);
    assert_string_equal(id, "E0");
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_OK);
    assert_null(id);
    assert_int_equal(eof, 0);
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_ERR_SOURCE);
    assert_int_equal(extract_close(s), TDI_ERR_SOURCE);
    assert_string_equal(logged.text,
                        "source riverside: key scan started before the rows were read\n"
                        "source riverside: row 3 of the key scan is malformed\n");
    hpq_done();
}

/* After the key scan, in the same snapshot: chosen episodes read again, their ids a parameter
 * (an array literal, quotes and backslashes escaped), never in the COPY's text; not while a COPY
 * runs; the snapshot ends with the source. */
static void episodes_read_again(void **state)
{
    tdi_source_config src = incremental_open();
    extract_source *s = NULL;
    const char *ids[] = {"E1", "a\"b\\c"};
    const char *id = NULL;
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    hpq_script(HPQ_SEND(COPY_SQL), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_DONE, HPQ_SEND(KEYS_SQL),
               HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW("E1\n"), HPQ_COPY_DONE);
    assert_int_equal(extract_open(&src, 2025, "2025-05-01T00:00:00.000000Z", &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(extract_keys_begin(s), TDI_OK);
    assert_false(extract_in_snapshot(s)); /* in the key scan's COPY */
    assert_int_equal(extract_episodes_begin(s, ids, 2), TDI_ERR_INTERNAL);
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_OK);
    assert_int_equal(extract_key_next(s, &id, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_true(extract_in_snapshot(s));

    hpq_script(
        HPQ_SEND_P("SELECT length(set_config('tdi.episode_ids', $1, true))",
                   "{\"E1\",\"a\\\"b\\\\c\"}"),
        HPQ_RESULT_ROWS(1, ((const char *const[]){"length"}), 1, ((const char *const[]){"15"})),
        HPQ_RESULT_NONE,
        HPQ_SEND(" AND tdi_src.\"episode_id\"::text IN (SELECT "
                 "unnest(current_setting('tdi.episode_ids')::text[]))) TO STDOUT"),
        HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_ROW(copy_row(1, NULL, 0, "\\N")), HPQ_COPY_DONE,
        HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_episodes_begin(s, ids, 2), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 0);
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E1");
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    assert_int_equal(extract_close(s), TDI_OK);
    assert_string_equal(logged.text,
                        "source riverside: episodes read again outside the snapshot\n");
    hpq_done();
}

/* A change time past the source's clock does not carry the watermark past it; a change time
 * that is not one is an error. */
static void change_time_checks(void **state)
{
    tdi_source_config src = incremental_open();
    extract_source *s = NULL;
    tdi_raw_row row;
    int eof = 0;

    (void)state;
    hpq_script(HPQ_SEND(COPY_SQL), HPQ_RESULT(PGRES_COPY_OUT),
               HPQ_COPY_ROW(copy_row(0, NULL, 0, "2031-01-01T00:00:00.000000Z")),
               HPQ_COPY_ROW(copy_row(1, NULL, 0, "yesterday")), HPQ_CANCEL, HPQ_COPY_DONE,
               HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_OK);
    assert_int_equal(extract_next(s, &row, &eof), TDI_OK);
    assert_string_equal(extract_max_changed(s), "2025-06-01T10:00:00.000000Z");
    assert_int_equal(extract_next(s, &row, &eof), TDI_ERR_SOURCE);
    assert_int_equal(extract_close(s), TDI_ERR_SOURCE);

    /* The clock answers something else than a time. */
    script_open(TDI_COL_COUNT + 1);
    hpq_script(HPQ_VALUE("SELECT to_char(now()", "tomorrow"), HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(extract_open(&src, 2025, NULL, &s), TDI_ERR_SOURCE);
    assert_string_equal(logged.text,
                        "source riverside: row 2: the change time is not a timestamp\n"
                        "source riverside: reading the server's clock failed: unexpected answer\n");
    hpq_done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(read_all_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(optional_columns_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(typed_dates_and_sql_ascii, setup, teardown),
        cmocka_unit_test_setup_teardown(win1252_converted_by_tdi, setup, teardown),
        cmocka_unit_test_setup_teardown(win1252_query_refused_mule_left, setup, teardown),
        cmocka_unit_test_setup_teardown(describe_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(prepare_fails_and_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_breaks_off, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_ends_with_data_error, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_row_and_early_close, setup, teardown),
        cmocka_unit_test_setup_teardown(incremental_read_and_key_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(change_time_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(episodes_read_again, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
