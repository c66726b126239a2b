/*
 * Unit tests for transform/tx_crosswalk: a good file and its lookups (effective dates, quoted
 * UTF-8 codes, blanks), the empty file, and every error with its exact "PATH:LINE: message".
 * Fixtures: tests/fixtures/crosswalk/ (found from the binary's place, or $TDI_FIXTURES).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../transform/tx_crosswalk.h"
#include "test_log.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

static char fixtures[PATH_MAX]; /* .../tests/fixtures/crosswalk */

/* $TDI_FIXTURES/crosswalk, else three levels above build/asan/tests/BIN. */
static int setup(void **state)
{
    const char *env = getenv("TDI_FIXTURES");
    char exe[PATH_MAX];
    ssize_t n;

    (void)state;
    if (env) {
        snprintf(fixtures, sizeof fixtures, "%s/crosswalk", env);
        return 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return -1;
    exe[n] = '\0';
    snprintf(fixtures, sizeof fixtures, "%s/../../../tests/fixtures/crosswalk", dirname(exe));
    return 0;
}

static const char *fixture(const char *name)
{
    static char path[PATH_MAX + 64];

    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    return path;
}

/* The TDI code the crosswalk gives, or "-" when unmapped. */
static const char *lookup(const tx_crosswalk *cw, tdi_item item, const char *local, int ymd)
{
    int idx = tx_crosswalk_lookup(cw, item, local, ymd);

    return idx < 0 ? "-" : tdi_item_get(item)->codes[idx].code;
}

static tx_crosswalk *load_ok(const char *name)
{
    tx_crosswalk *cw = NULL;
    test_log tl;

    test_log_start(&tl);
    assert_int_equal(tx_crosswalk_load(fixture(name), &cw), TDI_OK);
    test_log_stop();
    assert_string_equal(tl.text, "");
    assert_non_null(cw);
    return cw;
}

static void test_ok_file(void **state)
{
    tx_crosswalk *cw = load_ok("ok.cw");

    (void)state;
    assert_int_equal(tx_crosswalk_size(cw), 66);
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "AMB", 20240101), "outpatient");
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "RES", 20240101), "residential_community");
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "ONB", 20240101), "not_known");
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "V", 20240101), "2");
    assert_string_equal(lookup(cw, TDI_ITEM_TREATMENT_STATUS, "?", 20240101), "3");
    assert_string_equal(lookup(cw, TDI_ITEM_ROUTE, "roken", 20240101), "2");
    assert_string_equal(lookup(cw, TDI_ITEM_PLANNED_DURATION, "KORT", 20240101), "short");
    assert_string_equal(lookup(cw, TDI_ITEM_AGE_BAND, "A2", 20240101), "20-24");
    assert_string_equal(lookup(cw, TDI_ITEM_INJECTING, "RECENT", 20240101), "2.3");
    /* secondary_drug lines are kept under the first secondary drug item, with its list */
    assert_string_equal(lookup(cw, TDI_ITEM_SECONDARY_DRUG_1, "GEEN", 20240101), "0");
    assert_string_equal(lookup(cw, TDI_ITEM_SECONDARY_DRUG_1, "11", 20240101), "1.3");
    assert_string_equal(lookup(cw, TDI_ITEM_SECONDARY_DRUG_1, "cannabis", 20240101), "-");
    assert_string_equal(lookup(cw, TDI_ITEM_SECONDARY_DRUG_2, "GEEN", 20240101), "-");
    tx_crosswalk_free(cw);
}

static void test_blanks_and_case(void **state)
{
    tx_crosswalk *cw = load_ok("ok.cw");

    (void)state;
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "  AMB\t", 20240101), "outpatient");
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "amb", 20240101), "-"); /* case matters */
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "AM", 20240101), "-");
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "AMBX", 20240101), "-");
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "Dagcentrum Gent", 20240101), "outpatient");
    assert_string_equal(lookup(cw, TDI_ITEM_SETTING, "Dagcentrum  Gent", 20240101), "-");
    /* Blanks inside quotes in the file are trimmed as well. */
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "padded", 20240101), "7");
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "say \"when\"", 20240101), "9");
    /* A code belongs to its item only. */
    assert_string_equal(lookup(cw, TDI_ITEM_ROUTE, "M", 20240101), "-");
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "", 20240101), "-");
    tx_crosswalk_free(cw);
}

static void test_quoted_utf8(void **state)
{
    tx_crosswalk *cw = load_ok("ok.cw");

    (void)state;
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "hero\xc3\xafne", 20240101), "1.1");
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "coca\xc3\xafne", 20240101), "2.1");
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "heroine", 20240101), "-");
    tx_crosswalk_free(cw);
}

/* A file saved with a UTF-8 byte order mark (and CRLF), as Windows editors write it: the BOM is
 * no part of the first line. */
static void test_bom(void **state)
{
    tx_crosswalk *cw = load_ok("bom.cw");

    (void)state;
    assert_int_equal(tx_crosswalk_size(cw), 2);
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "V", 20240101), "2");
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "M", 20240101), "1");
    tx_crosswalk_free(cw);
}

static void test_effective_dates(void **state)
{
    tx_crosswalk *cw = load_ok("ok.cw");

    (void)state;
    /* sex X: 99 always, 2 from 2025-07-01 */
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "X", 19000101), "99");
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "X", 20250630), "99");
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "X", 20250701), "2");
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "X", 20260101), "2");
    /* primary_drug 11: 1 always, 1.1 from 2024-01-01, 1.5 from 2025-01-01 */
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "11", 20231231), "1");
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "11", 20240101), "1.1");
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "11", 20241231), "1.1");
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "11", 20250101), "1.5");
    assert_string_equal(lookup(cw, TDI_ITEM_PRIMARY_DRUG, "11", 99991231), "1.5");
    tx_crosswalk_free(cw);
}

static void test_dated_only(void **state)
{
    tx_crosswalk *cw = NULL;
    char dir[] = "/tmp/tdi-test-cw-XXXXXX", path[64];
    FILE *fp;

    (void)state;
    /* A mapping that starts on a date leaves earlier episodes unmapped. */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/dated.cw", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("route spuiten 1 2024-03-01\r\nroute roken 2", fp); /* CRLF, no final newline */
    fclose(fp);
    assert_int_equal(tx_crosswalk_load(path, &cw), TDI_OK);
    assert_string_equal(lookup(cw, TDI_ITEM_ROUTE, "spuiten", 20240229), "-");
    assert_string_equal(lookup(cw, TDI_ITEM_ROUTE, "spuiten", 20240301), "1");
    assert_string_equal(lookup(cw, TDI_ITEM_ROUTE, "roken", 20240301), "2");
    tx_crosswalk_free(cw);
    unlink(path);
    rmdir(dir);
}

static void test_empty_files(void **state)
{
    tx_crosswalk *cw;

    (void)state;
    cw = load_ok("empty.cw");
    assert_int_equal(tx_crosswalk_size(cw), 0);
    assert_string_equal(lookup(cw, TDI_ITEM_SEX, "M", 20240101), "-");
    tx_crosswalk_free(cw);
    cw = load_ok("comments.cw");
    assert_int_equal(tx_crosswalk_size(cw), 0);
    tx_crosswalk_free(cw);
}

/* Every crosswalk item, once: secondary_drug serves the four secondary drug columns. */
#define VALID_ITEMS                                                                                \
    "setting, residential_approach, planned_duration, detox_phase, sex, age_band, nationality, "   \
    "treatment_status, referral_source, living_with, living_with_children, living_where, "         \
    "education, labour_status, primary_drug, route, frequency, first_use_age_band, "               \
    "secondary_drug, polydrug, injecting, needle_sharing, hiv_testing, hcv_testing, ost, "         \
    "discharge_reason, aftercare"

static void test_errors(void **state)
{
    static const char *const want[] = {
        "2: unknown item 'sexe' (valid: " VALID_ITEMS ")",
        "3: unknown item 'centre_type' (valid: " VALID_ITEMS ")",
        "4: '1.9' is not a TDI code of item primary_drug",
        "5: VALID_FROM '2025-02-30' is not a YYYY-MM-DD date",
        "6: expected ITEM LOCAL_CODE TDI_CODE [VALID_FROM], found 2 fields",
        "7: expected ITEM LOCAL_CODE TDI_CODE [VALID_FROM], found 5 fields",
        "9: unterminated quote",
        "10: line is not valid UTF-8 text",
        "11: empty LOCAL_CODE (blank values need no mapping: they are not known)",
        "16: VALID_FROM '2024-1-01' is not a YYYY-MM-DD date",
        "17: unknown item 'bogus' (valid: " VALID_ITEMS ")",
        "17: VALID_FROM 'notadate' is not a YYYY-MM-DD date",
        "18: too many fields",
        "20: unknown item 'secondary_drug_2' (valid: " VALID_ITEMS ")",
        "21: unknown item 'years_since_first_ost' (valid: " VALID_ITEMS ")",
        "23: '0' is not a TDI code of item primary_drug",
        /* duplicates come last, found once the mappings are sorted */
        "12: duplicate mapping of sex 'M' from always (first at line 8)",
        "15: duplicate mapping of sex 'M' from always (first at line 8)",
        "14: duplicate mapping of sex 'X' from 2025-01-01 (first at line 13)",
    };
    char expect[8192] = "";
    const char *path = fixture("errors.cw");
    tx_crosswalk *cw = (tx_crosswalk *)1;
    test_log tl;

    (void)state;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t used = strlen(expect);

        snprintf(expect + used, sizeof expect - used, "%s:%s\n", path, want[i]);
    }
    test_log_start(&tl);
    assert_int_equal(tx_crosswalk_load(path, &cw), TDI_ERR_CROSSWALK);
    test_log_stop();
    assert_null(cw);
    assert_string_equal(tl.text, expect);
}

static void test_unterminated_only(void **state)
{
    const char *path = fixture("unterminated.cw");
    tx_crosswalk *cw = (tx_crosswalk *)1;
    char expect[PATH_MAX + 64];
    test_log tl;

    (void)state;
    snprintf(expect, sizeof expect, "%s:2: unterminated quote\n", path);
    test_log_start(&tl);
    assert_int_equal(tx_crosswalk_load(path, &cw), TDI_ERR_CROSSWALK);
    test_log_stop();
    assert_null(cw);
    assert_string_equal(tl.text, expect);
}

static void test_missing_file(void **state)
{
    const char *path = fixture("no-such-file.cw");
    tx_crosswalk *cw = (tx_crosswalk *)1;
    char expect[PATH_MAX + 64];
    test_log tl;

    (void)state;
    snprintf(expect, sizeof expect, "%s: cannot open: No such file or directory\n", path);
    test_log_start(&tl);
    assert_int_equal(tx_crosswalk_load(path, &cw), TDI_ERR_CROSSWALK);
    test_log_stop();
    assert_null(cw);
    assert_string_equal(tl.text, expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_file),      cmocka_unit_test(test_blanks_and_case),
        cmocka_unit_test(test_quoted_utf8),  cmocka_unit_test(test_effective_dates),
        cmocka_unit_test(test_dated_only),   cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_unterminated_only),
        cmocka_unit_test(test_missing_file), cmocka_unit_test(test_bom),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
