/* Unit tests for extract/: COPY text-format parsing, the column check, and the wrapped query. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../extract/extract.h"
#include "test_log.h"

#include <stdlib.h>
#include <string.h>

/* A COPY line of TDI_COL_COUNT fields: field i is "c<i>" unless given in vals. */
static void copy_line(char *buf, size_t len, const char *const vals[TDI_COL_COUNT])
{
    size_t used = 0;

    for (int i = 0; i < TDI_COL_COUNT; i++) {
        int n = vals[i] ? snprintf(buf + used, len - used, "%s%s", i ? "\t" : "", vals[i])
                        : snprintf(buf + used, len - used, "%sc%d", i ? "\t" : "", i);
        assert_true(n > 0 && (size_t)n < len - used);
        used += (size_t)n;
    }
    snprintf(buf + used, len - used, "\n");
}

/* present[] of a query with every contract column. */
static const unsigned char *all_columns(void)
{
    static unsigned char all[TDI_COL_COUNT];

    memset(all, 1, sizeof all);
    return all;
}

static void parse_line_with_escapes_and_nulls(void **state)
{
    const char *vals[TDI_COL_COUNT] = {0};
    char line[2048];
    tdi_raw_row row;

    (void)state;
    vals[TDI_COL_EPISODE_ID] = "E1";
    vals[TDI_COL_CLIENT_ID] = "85.07.30\\t033";
    vals[TDI_COL_BIRTH_DATE] = "\\N";
    vals[TDI_COL_SETTING] = "OP\\\\X";
    vals[TDI_COL_SEX] = "h\\303\\257";
    vals[TDI_COL_TREATMENT_STATUS] = "\\N";
    vals[TDI_COL_PRIMARY_DRUG] = "\\x41";
    vals[TDI_COL_ROUTE] = "";
    vals[TDI_COL_FIRST_OST_YEAR] = "\\N"; /* the last field */
    copy_line(line, sizeof line, vals);
    assert_int_equal(extract_parse_copy_line(line, strlen(line), all_columns(), &row), TDI_OK);
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E1");
    assert_string_equal(row.col[TDI_COL_CLIENT_ID], "85.07.30\t033");
    assert_string_equal(row.col[TDI_COL_CENTRE_ID], "c2");
    assert_null(row.col[TDI_COL_BIRTH_DATE]);
    assert_string_equal(row.col[TDI_COL_SETTING], "OP\\X");
    assert_string_equal(row.col[TDI_COL_SEX], "h\xc3\xaf");
    assert_null(row.col[TDI_COL_TREATMENT_STATUS]);
    assert_string_equal(row.col[TDI_COL_PRIMARY_DRUG], "A");
    assert_string_equal(row.col[TDI_COL_ROUTE], "");
    assert_string_equal(row.col[TDI_COL_HCV_TESTING], "c34");
    assert_null(row.col[TDI_COL_FIRST_OST_YEAR]);
}

/* A line of the columns the query has only: each lands in its contract column, the others are
 * NULL; a line of the other count is malformed. */
static void parse_line_present_columns_only(void **state)
{
    unsigned char present[TDI_COL_COUNT] = {0};
    char line[] = "E1\tC1\tCTR-001\t2025-03-04\tINJ\t\\N\tx\n";
    char longer[] = "E1\tC1\tCTR-001\t2025-03-04\tINJ\t\\N\tx\ty\n";
    tdi_raw_row row;

    (void)state;
    present[TDI_COL_EPISODE_ID] = present[TDI_COL_CLIENT_ID] = present[TDI_COL_CENTRE_ID] = 1;
    present[TDI_COL_START_DATE] = EXTRACT_DATE_TYPED;
    present[TDI_COL_ROUTE] = present[TDI_COL_POSTCODE] = present[TDI_COL_AFTERCARE] = 1;
    memset(&row, 0xA5, sizeof row); /* nothing left over from an earlier row */
    assert_int_equal(extract_parse_copy_line(line, strlen(line), present, &row), TDI_OK);
    for (int c = 0; c < TDI_COL_COUNT; c++) {
        if (present[c])
            continue;
        if (row.col[c])
            fail_msg("column %s: not in the statement but not NULL", tdi_columns[c].name);
    }
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E1");
    assert_string_equal(row.col[TDI_COL_CLIENT_ID], "C1");
    assert_string_equal(row.col[TDI_COL_CENTRE_ID], "CTR-001");
    assert_string_equal(row.col[TDI_COL_START_DATE], "2025-03-04");
    assert_string_equal(row.col[TDI_COL_ROUTE], "INJ");
    assert_null(row.col[TDI_COL_POSTCODE]);
    assert_string_equal(row.col[TDI_COL_AFTERCARE], "x");
    assert_int_equal(extract_parse_copy_line(longer, strlen(longer), present, &row),
                     TDI_ERR_SOURCE);
}

static void parse_line_wrong_column_count(void **state)
{
    const char *vals[TDI_COL_COUNT] = {0};
    char short_line[] = "a\tb\tc\n";
    char line[2048], nul_escape[2048];
    tdi_raw_row row;

    (void)state;
    assert_int_equal(extract_parse_copy_line(short_line, strlen(short_line), all_columns(), &row),
                     TDI_ERR_SOURCE);
    copy_line(line, sizeof line, vals);
    line[strlen(line) - 1] = '\0';
    strcat(line, "\textra\n"); /* one field too many */
    assert_int_equal(extract_parse_copy_line(line, strlen(line), all_columns(), &row),
                     TDI_ERR_SOURCE);
    vals[0] = "\\000";
    copy_line(nul_escape, sizeof nul_escape, vals);
    assert_int_equal(extract_parse_copy_line(nul_escape, strlen(nul_escape), all_columns(), &row),
                     TDI_ERR_SOURCE);
}

#define CHANGED                                                                                    \
    ", to_char(tdi_src.\"changed_at\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define YEAR_2025                                                                                  \
    "WHERE (tdi_src.\"start_date\" IS NULL OR (tdi_src.\"start_date\"::date >= DATE "              \
    "'2025-01-01' AND tdi_src.\"start_date\"::date < DATE '2026-01-01'))"
/* The same on a start_date of no date type: its text, no cast that can fail. */
#define YEAR_2025_TEXT                                                                             \
    ", LATERAL (SELECT left(btrim(tdi_src.\"start_date\"::text), 10) AS d) AS tdi_start WHERE "    \
    "(tdi_start.d IS NULL OR tdi_start.d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' OR (tdi_start.d >= "    \
    "'2025-01-01' AND tdi_start.d < '2026-01-01'))"

#define CONT_2025                                                                                  \
    "WHERE (tdi_src.\"start_date\" IS NULL OR (tdi_src.\"start_date\"::date >= DATE "              \
    "'2025-01-01' AND tdi_src.\"start_date\"::date < DATE '2026-01-01') OR "                       \
    "(tdi_src.\"start_date\"::date < DATE '2025-01-01' AND (tdi_src.\"end_date\" IS NULL OR "      \
    "tdi_src.\"end_date\"::date >= DATE '2025-01-01')))"
#define CONT_2025_TEXT                                                                             \
    ", LATERAL (SELECT left(btrim(tdi_src.\"start_date\"::text), 10) AS d) AS tdi_start, "         \
    "LATERAL (SELECT left(btrim(tdi_src.\"end_date\"::text), 10) AS e) AS tdi_end WHERE "          \
    "(tdi_start.d IS NULL OR tdi_start.d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' OR (tdi_start.d >= "    \
    "'2025-01-01' AND tdi_start.d < '2026-01-01') OR (tdi_start.d < '2025-01-01' AND "             \
    "(tdi_end.e IS NULL OR tdi_end.e >= '2025-01-01' OR tdi_end.e !~ "                             \
    "'^[0-9]{4}-[0-9]{2}-[0-9]{2}$')))"

/* Only the required columns and setting: the other columns are not selected (no typed NULLs:
 * they cost the server as much as the rows, and the reader fills them in). */
static void copy_sql_wraps_query(void **state)
{
    tdi_source_config src = {.name = "x", .query = "SELECT * FROM v -- note\n ;; "};
    unsigned char present[TDI_COL_COUNT] = {0};
    char *sql;

    (void)state;
    present[TDI_COL_EPISODE_ID] = present[TDI_COL_CLIENT_ID] = 1;
    present[TDI_COL_CENTRE_ID] = present[TDI_COL_SETTING] = 1;
    present[TDI_COL_START_DATE] = EXTRACT_DATE_TYPED; /* a date column: the cast cannot fail */
    sql = extract_copy_sql(&src, 2025, present, 0, NULL);
    assert_non_null(sql);
    assert_string_equal(sql,
                        "COPY (SELECT tdi_src.\"episode_id\"::text, tdi_src.\"client_id\"::text, "
                        "tdi_src.\"centre_id\"::text, tdi_src.\"start_date\"::date, "
                        "tdi_src.\"setting\"::text FROM (\nSELECT * FROM v -- note\n) AS "
                        "tdi_src " YEAR_2025 ") TO STDOUT");
    free(sql);

    /* Every column present, the dates of no date type (text, say): no cast a value can fail,
     * the dates sent as text for tdi to parse (R008), the year filter on the text. */
    memset(present, 1, sizeof present);
    present[TDI_COL_END_DATE] = 0; /* the continuing clients' window: copy_sql_continuing */
    sql = extract_copy_sql(&src, 2025, present, 0, NULL);
    assert_non_null(sql);
    assert_non_null(strstr(sql, ", tdi_src.\"start_date\"::text, tdi_src.\"birth_date\"::text, "
                                "tdi_src.\"setting\"::text, "));
    assert_null(strstr(sql, "\"::date"));
    assert_non_null(
        strstr(sql, " FROM (\nSELECT * FROM v -- note\n) AS tdi_src" YEAR_2025_TEXT ") TO STDOUT"));
    assert_non_null(strstr(sql, ", tdi_src.\"first_ost_year\"::text, "));
    assert_non_null(
        strstr(sql, ", tdi_src.\"given_name\"::text, tdi_src.\"postcode\"::text, "
                    "tdi_src.\"discharge_reason\"::text, tdi_src.\"aftercare\"::text FROM (\n"));
    free(sql);
}

/* sql starts with the contract columns and ends with tail. */
static void assert_copy_tail(const char *sql, const char *tail)
{
    size_t n = strlen(sql), t = strlen(tail);

    assert_non_null(strstr(sql, "COPY (SELECT tdi_src.\"episode_id\"::text, "));
    assert_true(n > t);
    assert_string_equal(sql + n - t, tail);
}

/* An incremental source: its change time as fixed-width UTC text after the contract columns,
 * and, with a lower bound, only rows changed after it or without a change time. */
static void copy_sql_incremental(void **state)
{
    tdi_source_config src = {.name = "x", .query = "SELECT * FROM v", .incremental = "changed_at"};
    unsigned char present[TDI_COL_COUNT];
    char *full, *since;

    (void)state;
    memset(present, 1, sizeof present);
    present[TDI_COL_START_DATE] = EXTRACT_DATE_TYPED;
    present[TDI_COL_END_DATE] = 0;
    full = extract_copy_sql(&src, 2025, present, EXTRACT_OID_TIMESTAMPTZ, NULL);
    since = extract_copy_sql(&src, 2025, present, EXTRACT_OID_TIMESTAMPTZ,
                             "2025-03-01T10:00:00.000000Z");
    assert_non_null(full);
    assert_non_null(since);
    assert_copy_tail(full, "tdi_src.\"aftercare\"::text" CHANGED
                           " FROM (\nSELECT * FROM v\n) AS tdi_src " YEAR_2025 ") TO STDOUT");
    assert_copy_tail(since, "tdi_src.\"aftercare\"::text" CHANGED
                            " FROM (\nSELECT * FROM v\n) AS tdi_src " YEAR_2025
                            " AND (tdi_src.\"changed_at\" IS NULL OR tdi_src.\"changed_at\" > "
                            "TIMESTAMPTZ '2025-03-01T10:00:00.000000Z')) TO STDOUT");
    free(full);
    free(since);
    /* The bound is spliced into SQL: anything but the exact shape is refused. */
    assert_null(
        extract_copy_sql(&src, 2025, present, EXTRACT_OID_TIMESTAMPTZ, "2025-03-01' OR true --"));
    assert_null(
        extract_copy_sql(&src, 2025, present, EXTRACT_OID_TIMESTAMPTZ, "2025-03-01T10:00:00Z"));
    src.incremental = NULL;
    assert_null(extract_copy_sql(&src, 2025, present, EXTRACT_OID_TIMESTAMPTZ,
                                 "2025-03-01T10:00:00.000000Z"));
}

/* A change time of type timestamp or date is taken as UTC (what tdi did when every session was
 * in UTC): the change time sent and the filter mean the same in the source's own TimeZone, so a
 * watermark saved before still skips nothing. */
static void copy_sql_changed_typed(void **state)
{
    tdi_source_config src = {.name = "x", .query = "SELECT * FROM v", .incremental = "changed_at"};
    unsigned char present[TDI_COL_COUNT] = {0};
    char *ts, *date, *episodes;

    (void)state;
    present[TDI_COL_EPISODE_ID] = 1;
    present[TDI_COL_START_DATE] = EXTRACT_DATE_TYPED;
    ts =
        extract_copy_sql(&src, 2025, present, EXTRACT_OID_TIMESTAMP, "2025-03-01T10:00:00.000000Z");
    date = extract_copy_sql(&src, 2025, present, EXTRACT_OID_DATE, "2025-03-01T10:00:00.000000Z");
    episodes = extract_episodes_sql(&src, 2025, present, EXTRACT_OID_TIMESTAMP);
    assert_non_null(ts);
    assert_non_null(date);
    assert_non_null(episodes);
    assert_string_equal(
        ts, "COPY (SELECT tdi_src.\"episode_id\"::text, tdi_src.\"start_date\"::date, "
            "to_char((tdi_src.\"changed_at\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM (\nSELECT * FROM v\n) AS tdi_src " YEAR_2025
            " AND (tdi_src.\"changed_at\" IS NULL OR (tdi_src.\"changed_at\" AT TIME ZONE 'UTC') > "
            "TIMESTAMPTZ '2025-03-01T10:00:00.000000Z')) TO STDOUT");
    assert_string_equal(
        date, "COPY (SELECT tdi_src.\"episode_id\"::text, tdi_src.\"start_date\"::date, "
              "to_char((tdi_src.\"changed_at\"::timestamp AT TIME ZONE 'UTC') AT TIME ZONE "
              "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM (\nSELECT * FROM v\n) AS "
              "tdi_src " YEAR_2025 " AND (tdi_src.\"changed_at\" IS NULL OR "
              "(tdi_src.\"changed_at\"::timestamp AT TIME ZONE 'UTC') > TIMESTAMPTZ "
              "'2025-03-01T10:00:00.000000Z')) TO STDOUT");
    assert_string_equal(
        episodes,
        "COPY (SELECT tdi_src.\"episode_id\"::text, tdi_src.\"start_date\"::date, "
        "to_char((tdi_src.\"changed_at\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM (\nSELECT * FROM v\n) AS tdi_src " YEAR_2025
        " AND tdi_src.\"episode_id\"::text IN (SELECT "
        "unnest(current_setting('tdi.episode_ids')::text[]))) TO STDOUT");
    free(ts);
    free(date);
    free(episodes);
}

/* A source with an end_date column: the year's starts, or (the continuing clients' window) a
 * start before the year with no end date or one on or after 1 January. Typed dates as dates,
 * text ones as text; the key scan has the same filter. */
static void copy_sql_continuing(void **state)
{
    tdi_source_config src = {.name = "x", .query = "SELECT * FROM v"};
    unsigned char present[TDI_COL_COUNT] = {0};
    char *sql;

    (void)state;
    present[TDI_COL_EPISODE_ID] = present[TDI_COL_CLIENT_ID] = present[TDI_COL_CENTRE_ID] = 1;
    present[TDI_COL_START_DATE] = present[TDI_COL_END_DATE] = EXTRACT_DATE_TYPED;
    sql = extract_copy_sql(&src, 2025, present, 0, NULL);
    assert_non_null(sql);
    assert_copy_tail(sql, "tdi_src.\"start_date\"::date, tdi_src.\"end_date\"::date FROM (\nSELECT "
                          "* FROM v\n) AS tdi_src " CONT_2025 ") TO STDOUT");
    free(sql);
    sql = extract_keys_sql(&src, 2025, present);
    assert_non_null(sql);
    assert_string_equal(sql, "COPY (SELECT tdi_src.\"episode_id\"::text FROM (\nSELECT * FROM v"
                             "\n) AS tdi_src " CONT_2025 ") TO STDOUT");
    free(sql);
    present[TDI_COL_START_DATE] = present[TDI_COL_END_DATE] = 1; /* text */
    sql = extract_copy_sql(&src, 2025, present, 0, NULL);
    assert_non_null(sql);
    assert_copy_tail(sql, "tdi_src.\"start_date\"::text, tdi_src.\"end_date\"::text FROM (\nSELECT "
                          "* FROM v\n) AS tdi_src" CONT_2025_TEXT ") TO STDOUT");
    free(sql);
}

static void keys_sql(void **state)
{
    tdi_source_config src = {.name = "x", .query = "SELECT * FROM v;"};
    unsigned char present[TDI_COL_COUNT] = {[TDI_COL_START_DATE] = EXTRACT_DATE_TYPED};
    char *sql = extract_keys_sql(&src, 2025, present);

    (void)state;
    assert_non_null(sql);
    assert_string_equal(sql, "COPY (SELECT tdi_src.\"episode_id\"::text FROM (\nSELECT * FROM v"
                             "\n) AS tdi_src " YEAR_2025 ") TO STDOUT");
    free(sql);
    present[TDI_COL_START_DATE] = 1;
    sql = extract_keys_sql(&src, 2025, present); /* the rows' filter, on text */
    assert_non_null(sql);
    assert_string_equal(sql, "COPY (SELECT tdi_src.\"episode_id\"::text FROM (\nSELECT * FROM v"
                             "\n) AS tdi_src" YEAR_2025_TEXT ") TO STDOUT");
    free(sql);
}

static void columns_all_there(void **state)
{
    const char *names[TDI_COL_COUNT + 1];
    unsigned char present[TDI_COL_COUNT];
    test_log tl;

    (void)state;
    for (int i = 0; i < TDI_COL_COUNT; i++)
        names[TDI_COL_COUNT - 1 - i] = tdi_columns[i].name; /* any order */
    names[TDI_COL_COUNT] = "national_no";                   /* extra columns are ignored */
    test_log_start(&tl);
    assert_int_equal(extract_match_columns("s", names, TDI_COL_COUNT + 1, present), TDI_OK);
    test_log_stop();
    assert_string_equal(tl.text, "");
    for (int i = 0; i < TDI_COL_COUNT; i++)
        assert_int_equal(present[i], 1);
}

static void columns_optional_missing(void **state)
{
    const char *names[] = {"start_date", "centre_id", "client_id", "episode_id",
                           "route",      "Sex",       "remark"};
    unsigned char present[TDI_COL_COUNT];
    test_log tl;

    (void)state;
    test_log_start(&tl);
    assert_int_equal(extract_match_columns("riverside", names, 7, present), TDI_OK);
    test_log_stop();
    assert_int_equal(tl.count, 1);
    assert_string_equal(
        tl.text,
        "source riverside: 39 optional columns not in the source query, not known in every row: "
        "birth_date, setting, residential_approach, planned_duration, detox_phase, sex, "
        "age_band, nationality, treatment_status, referral_source, living_with, "
        "living_with_children, living_where, education, labour_status, primary_drug, "
        "frequency, first_use_age, first_use_age_band, secondary_drug_1, secondary_drug_2, "
        "secondary_drug_3, secondary_drug_4, polydrug, injecting, first_injection_age, "
        "first_injection_year, needle_sharing, hiv_testing, hcv_testing, ost, first_ost_year, "
        "national_id, family_name, given_name, postcode, end_date, discharge_reason, aftercare\n");
    assert_int_equal(present[TDI_COL_ROUTE], 1);
    assert_int_equal(present[TDI_COL_SEX], 0); /* names match exactly */
    assert_int_equal(present[TDI_COL_START_DATE], 1);
}

static void columns_required_missing(void **state)
{
    const char *names[] = {"episode_id", "centre", "start_date"};
    unsigned char present[TDI_COL_COUNT];
    test_log tl;

    (void)state;
    test_log_start(&tl);
    assert_int_equal(extract_match_columns("debrug", names, 3, present), TDI_ERR_SOURCE);
    test_log_stop();
    /* Each missing required column named; no info line on a failed source. */
    assert_string_equal(tl.text, "source debrug: the source query has no column client_id "
                                 "(required; see README.md, \"Source query\")\n"
                                 "source debrug: the source query has no column centre_id "
                                 "(required; see README.md, \"Source query\")\n");
}

/* A change time of any other type than timestamptz, timestamp or date is refused, naming the
 * source, the column, its type and what to do; no statement is built for one. */
static void changed_type_refused(void **state)
{
    tdi_source_config src = {.name = "x", .query = "SELECT * FROM v", .incremental = "changed_at"};
    unsigned char present[TDI_COL_COUNT] = {0};
    const unsigned ok[] = {EXTRACT_OID_TIMESTAMPTZ, EXTRACT_OID_TIMESTAMP, EXTRACT_OID_DATE};
    test_log tl;

    (void)state;
    present[TDI_COL_EPISODE_ID] = 1;
    test_log_start(&tl);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(extract_check_changed_type("riverside", "changed_at", ok[i]), TDI_OK);
    assert_int_equal(extract_check_changed_type("riverside", "changed_at", 25), TDI_ERR_SOURCE);
    assert_int_equal(extract_check_changed_type("debrug", "upd", 3802), TDI_ERR_SOURCE);
    test_log_stop();
    assert_string_equal(
        tl.text, "source riverside: incremental = changed_at: the column is of type text; a "
                 "change time must be timestamptz, timestamp or date. Cast it in the source query "
                 "(changed_at::timestamptz AS changed_at: a value that is no time then fails "
                 "there) or remove incremental from the config\n"
                 "source debrug: incremental = upd: the column is of type OID 3802; a change time "
                 "must be timestamptz, timestamp or date. Cast it in the source query "
                 "(upd::timestamptz AS upd: a value that is no time then fails there) or remove "
                 "incremental from the config\n");
    assert_null(extract_copy_sql(&src, 2025, present, 25, NULL));
    assert_null(extract_episodes_sql(&src, 2025, present, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_line_with_escapes_and_nulls),
        cmocka_unit_test(parse_line_present_columns_only),
        cmocka_unit_test(parse_line_wrong_column_count),
        cmocka_unit_test(copy_sql_wraps_query),
        cmocka_unit_test(columns_all_there),
        cmocka_unit_test(columns_optional_missing),
        cmocka_unit_test(columns_required_missing),
        cmocka_unit_test(copy_sql_incremental),
        cmocka_unit_test(copy_sql_changed_typed),
        cmocka_unit_test(changed_type_refused),
        cmocka_unit_test(copy_sql_continuing),
        cmocka_unit_test(keys_sql),
    };
    return cmocka_run_group_tests_name("extract", tests, NULL, NULL);
}
