/* Unit tests for common/tdi_text: splitting, dates, ages, UTF-8 and value cleaning. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_text.h"
#include "test_log.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static void split_plain_and_quoted(void **state)
{
    char line[] = "primary_drug  \"hero\\\"ine x\"\t1.1   # comment";
    char *f[4];
    const char *why = NULL;

    (void)state;
    assert_int_equal(tdi_split_fields(line, f, 4, &why), 3);
    assert_string_equal(f[0], "primary_drug");
    assert_string_equal(f[1], "hero\"ine x");
    assert_string_equal(f[2], "1.1");
}

static void split_errors(void **state)
{
    char unterminated[] = "sex \"M 1";
    char toomany[] = "a b c d e";
    char glued[] = "\"a\"b c";
    char *f[4];
    const char *why = NULL;

    (void)state;
    assert_int_equal(tdi_split_fields(unterminated, f, 4, &why), -1);
    assert_string_equal(why, "unterminated quote");
    assert_int_equal(tdi_split_fields(toomany, f, 4, &why), -1);
    assert_string_equal(why, "too many fields");
    assert_int_equal(tdi_split_fields(glued, f, 4, &why), -1);
    assert_string_equal(why, "a quoted field must be followed by a blank");
}

static void dates(void **state)
{
    int ymd = 0;

    (void)state;
    assert_int_equal(tdi_parse_date("2024-02-29", &ymd), 0);
    assert_int_equal(ymd, 20240229);
    assert_int_equal(tdi_parse_date("2023-02-29", &ymd), -1);
    assert_int_equal(tdi_parse_date("2025-13-01", &ymd), -1);
    assert_int_equal(tdi_parse_date("2025-1-01", &ymd), -1);
    assert_int_equal(tdi_parse_date("2025-01-011", &ymd), -1);
    assert_int_equal(tdi_parse_date("", &ymd), -1);
}

static void ages(void **state)
{
    (void)state;
    assert_int_equal(tdi_age_years(19850730, 20250729), 39);
    assert_int_equal(tdi_age_years(19850730, 20250730), 40);
    /* Born on 29 February: a year completes on 1 March in common years. */
    assert_int_equal(tdi_age_years(20000229, 20250228), 24);
    assert_int_equal(tdi_age_years(20000229, 20250301), 25);
}

/* Checked against date(1): date -d 2025-03-01 +%s minus date -d 2024-02-28 +%s, / 86400. */
static void days(void **state)
{
    (void)state;
    assert_int_equal(tdi_days_between(20240228, 20240228), 0);
    assert_int_equal(tdi_days_between(20240228, 20240301), 2); /* leap day */
    assert_int_equal(tdi_days_between(20250228, 20250301), 1);
    assert_int_equal(tdi_days_between(20231231, 20240101), 1);
    assert_int_equal(tdi_days_between(20240101, 20250101), 366);
    assert_int_equal(tdi_days_between(20250101, 20260101), 365);
    assert_int_equal(tdi_days_between(20240228, 20250301), 367);
    assert_int_equal(tdi_days_between(19991231, 20000301), 61); /* 2000 is a leap year */
    assert_int_equal(tdi_days_between(21000228, 21000301), 1);  /* 2100 is not */
    assert_int_equal(tdi_days_between(20240301, 20240228), -2);
    assert_int_equal(tdi_days_between(19700101, 20250101), 20089);
    assert_int_equal(tdi_days_between(101, 10101), 366); /* year 0 is a leap year */
}

static void utf8(void **state)
{
    (void)state;
    assert_true(tdi_utf8_ok("hero\xc3\xafne", 8));
    assert_false(tdi_utf8_ok("\xc3", 1));         /* truncated */
    assert_false(tdi_utf8_ok("\xc0\xaf", 2));     /* overlong */
    assert_false(tdi_utf8_ok("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(tdi_utf8_ok("a\x01"
                             "b",
                             3)); /* control character */
    assert_true(tdi_utf8_ok("a\tb", 3));
}

static void names_and_cleaning(void **state)
{
    char out[8];

    (void)state;
    assert_true(tdi_name_ok("BE-211.a_1", 32));
    assert_false(tdi_name_ok("BE 211", 32));
    assert_false(tdi_name_ok("", 32));
    assert_false(tdi_name_ok("abcdef", 5));
    tdi_clean_value(out, sizeof out, "a\tb\xc3\xaf");
    assert_string_equal(out, "a?b??");
    tdi_clean_value(out, sizeof out, "0123456789");
    assert_string_equal(out, "0123...");
    tdi_clean_value(out, sizeof out, NULL);
    assert_string_equal(out, "NULL");
}

static void utf8_strings(void **state)
{
    (void)state;
    assert_true(tdi_utf8_str_ok("caf\xc3\xa9 \x01\t")); /* controls pass */
    assert_true(tdi_utf8_str_ok("\xf4\x8f\xbf\xbf"));   /* U+10FFFF */
    assert_false(tdi_utf8_str_ok("\xc0\x80"));          /* overlong NUL */
    assert_false(tdi_utf8_str_ok("\xed\xa0\x80"));      /* a surrogate */
    assert_false(tdi_utf8_str_ok("\xf4\x90\x80\x80"));  /* past U+10FFFF */
    assert_false(tdi_utf8_str_ok("caf\xc3"));           /* cut short */
}

/* tdi_decimal() against snprintf's "%lld" at the edges and over a sweep of magnitudes. */
/* Log lines and the ledger's errors are UTF-8 whatever a server or a path put in them: a byte
 * that starts no well-formed sequence becomes '?'; a message cut inside a character too. */
static void utf8_repaired(void **state)
{
    char s1[] = "relation \"tdi_\xe9pisodes\"", s2[] = "caf\xc3\xa9 \xe2\x82\xac",
         s3[] = "\xc0\xaf-\xed\xa0\x80", s4[] = "cut \xe2\x82", msg[3000];
    test_log tl;

    (void)state;
    tdi_utf8_repair(s1);
    assert_string_equal(s1, "relation \"tdi_?pisodes\"");
    tdi_utf8_repair(s2);
    assert_string_equal(s2, "caf\xc3\xa9 \xe2\x82\xac"); /* well-formed: untouched */
    tdi_utf8_repair(s3);
    assert_string_equal(s3, "??"
                            "-"
                            "???"); /* overlong, surrogate */
    tdi_utf8_repair(s4);
    assert_string_equal(s4, "cut ??");
    test_log_start(&tl);
    tdi_error("a\xe9"
              "b");
    assert_string_equal(tdi_log_last_error(), "a?b");
    /* cut at the log's limit inside a euro sign: what is left of it goes too */
    memset(msg, 'x', sizeof msg);
    for (size_t i = 0; i + 3 < sizeof msg; i += 3)
        memcpy(msg + i, "\xe2\x82\xac", 3);
    msg[sizeof msg - 1] = '\0';
    tdi_error("%s", msg);
    test_log_stop();
    assert_true(tdi_utf8_str_ok(tdi_log_last_error()));
    assert_true(tdi_utf8_str_ok(tl.text));
}

static void decimals(void **state)
{
    const long long edge[] = {0,   1,        -1,      9,       10,        -10,       99,
                              100, 20251231, INT_MAX, INT_MIN, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1};
    char got[TDI_DECIMAL_MAX], want[TDI_DECIMAL_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        snprintf(want, sizeof want, "%lld", edge[i]);
        assert_int_equal(tdi_decimal(got, edge[i]), strlen(want));
        assert_string_equal(got, want);
    }
    for (long long v = 1; v < LLONG_MAX / 3; v = v * 3 + 1)
        for (int sign = -1; sign <= 1; sign += 2) {
            snprintf(want, sizeof want, "%lld", sign * v);
            assert_int_equal(tdi_decimal(got, sign * v), strlen(want));
            assert_string_equal(got, want);
        }
}

/* tdi_append() builds what snprintf("%s%s...") builds, truncation included. */
static void appending(void **state)
{
    char got[8];
    size_t n;

    (void)state;
    n = tdi_append(got, sizeof got, 0, "ab");
    n = tdi_append(got, sizeof got, n, "|");
    n = tdi_append(got, sizeof got, n, "");
    assert_int_equal(n, 3);
    assert_string_equal(got, "ab|");
    /* 9 bytes: the first 7 kept, as snprintf(got, 8, "%s%s%s", "ab", "|", "cdefgh") keeps them */
    n = tdi_append(got, sizeof got, n, "cdefgh");
    assert_int_equal(n, 7);
    assert_string_equal(got, "ab|cdef");
    assert_int_equal(tdi_append(got, sizeof got, n, "x"), 7); /* full: nothing more */
    assert_string_equal(got, "ab|cdef");
}

/* tdi_hex_encode() of every byte value, against snprintf's "%02x"; tdi_hex_decode() back, and
 * its refusals: uppercase unless any_case, a byte that is no hex digit on either side. */
static void hex_both_ways(void **state)
{
    unsigned char bytes[256], back[256];
    char got[513], want[513];

    (void)state;
    for (int i = 0; i < 256; i++) {
        bytes[i] = (unsigned char)i;
        snprintf(want + 2 * i, 3, "%02x", i);
    }
    tdi_hex_encode(got, bytes, sizeof bytes);
    assert_string_equal(got, want);
    memset(back, 0, sizeof back);
    assert_int_equal(tdi_hex_decode(back, got, 512, 0), 1);
    assert_memory_equal(back, bytes, sizeof bytes);
    assert_int_equal(tdi_hex_decode(back, "0aFf", 4, 0), 0);
    assert_int_equal(tdi_hex_decode(back, "0aFf", 4, 1), 1);
    assert_int_equal(back[0], 0x0a);
    assert_int_equal(back[1], 0xff);
    assert_int_equal(tdi_hex_decode(back, "0g", 2, 1), 0);
    assert_int_equal(tdi_hex_decode(back, "/0", 2, 1), 0);
    assert_int_equal(tdi_hex_decode(back, "0:", 2, 1), 0);
    assert_int_equal(tdi_hex_decode(back,
                                    "\xff"
                                    "0",
                                    2, 1),
                     0);
    tdi_hex_encode(got, bytes, 0);
    assert_string_equal(got, "");
}

/* tdi_hex_key(): a key of its prefix and exactly 2n lowercase digits, nothing else. */
static void hex_keys(void **state)
{
    static const char *const bad[] = {
        "e2:00ff",  /* another prefix */
        "e1:00f",   /* a digit short */
        "e1:00ff0", /* a digit more */
        "e1:00FF",  /* upper case */
        "e1:00fg",  /* not hex */
        "e1:",      /* the prefix alone */
        "",
    };
    unsigned char out[2] = {0, 0};

    (void)state;
    assert_int_equal(tdi_hex_key(out, "e1:00ff", "e1:", 2), 1);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xff);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(tdi_hex_key(out, bad[i], "e1:", 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_plain_and_quoted),
        cmocka_unit_test(split_errors),
        cmocka_unit_test(dates),
        cmocka_unit_test(ages),
        cmocka_unit_test(days),
        cmocka_unit_test(utf8),
        cmocka_unit_test(names_and_cleaning),
        cmocka_unit_test(utf8_strings),
        cmocka_unit_test(utf8_repaired),
        cmocka_unit_test(decimals),
        cmocka_unit_test(appending),
        cmocka_unit_test(hex_both_ways),
        cmocka_unit_test(hex_keys),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
