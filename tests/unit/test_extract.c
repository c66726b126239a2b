/* Unit tests for extract/: COPY text-format parsing and the wrapped source query. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../extract/extract.h"

#include <stdlib.h>
#include <string.h>

static void parse_line_with_escapes_and_nulls(void **state)
{
    char line[] = "E1\t85.07.30\\t033\tC-1\t2025-03-01\t\\N\tOP\\\\X\th\\303\\257\t\\N\t\\x41\t\n";
    tdi_raw_row row;

    (void)state;
    assert_int_equal(extract_parse_copy_line(line, strlen(line), &row), TDI_OK);
    assert_string_equal(row.col[TDI_COL_EPISODE_ID], "E1");
    assert_string_equal(row.col[TDI_COL_CLIENT_ID], "85.07.30\t033");
    assert_string_equal(row.col[TDI_COL_START_DATE], "2025-03-01");
    assert_null(row.col[TDI_COL_BIRTH_DATE]);
    assert_string_equal(row.col[TDI_COL_SETTING], "OP\\X");
    assert_string_equal(row.col[TDI_COL_SEX], "h\xc3\xaf");
    assert_null(row.col[TDI_COL_TREATMENT_STATUS]);
    assert_string_equal(row.col[TDI_COL_PRIMARY_DRUG], "A");
    assert_string_equal(row.col[TDI_COL_ROUTE], "");
}

static void parse_line_wrong_column_count(void **state)
{
    char short_line[] = "a\tb\tc\n";
    char long_line[] = "1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\n";
    char nul_escape[] = "\\000\t2\t3\t4\t5\t6\t7\t8\t9\t10\n";
    tdi_raw_row row;

    (void)state;
    assert_int_equal(extract_parse_copy_line(short_line, strlen(short_line), &row),
                     TDI_ERR_SOURCE);
    assert_int_equal(extract_parse_copy_line(long_line, strlen(long_line), &row), TDI_ERR_SOURCE);
    assert_int_equal(extract_parse_copy_line(nul_escape, strlen(nul_escape), &row),
                     TDI_ERR_SOURCE);
}

static void copy_sql_wraps_query(void **state)
{
    tdi_source_config src = {.name = "x", .query = "SELECT * FROM v -- note\n ;; "};
    char *sql = extract_copy_sql(&src, 2025);

    (void)state;
    assert_non_null(sql);
    assert_string_equal(
        sql, "COPY (SELECT tdi_src.\"episode_id\"::text, tdi_src.\"client_id\"::text, "
             "tdi_src.\"centre_id\"::text, tdi_src.\"start_date\"::date, "
             "tdi_src.\"birth_date\"::date, tdi_src.\"setting\"::text, tdi_src.\"sex\"::text, "
             "tdi_src.\"treatment_status\"::text, tdi_src.\"primary_drug\"::text, "
             "tdi_src.\"route\"::text FROM (\nSELECT * FROM v -- note\n) AS tdi_src WHERE "
             "tdi_src.\"start_date\" IS NULL OR (tdi_src.\"start_date\"::date >= DATE "
             "'2025-01-01' AND tdi_src.\"start_date\"::date < DATE '2026-01-01')) TO STDOUT");
    free(sql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_line_with_escapes_and_nulls),
        cmocka_unit_test(parse_line_wrong_column_count),
        cmocka_unit_test(copy_sql_wraps_query),
    };
    return cmocka_run_group_tests_name("extract", tests, NULL, NULL);
}
