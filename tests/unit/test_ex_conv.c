/* Unit tests for extract/ex_conv: which server encodings tdi converts, a cell to UTF-8 (one that
 * does not convert marked and escaped), and text back to the source's encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../extract/ex_conv.h"
#include "test_log.h"

#include <stdlib.h>
#include <string.h>

static void names(void **state)
{
    (void)state;
    assert_string_equal(ex_conv_iconv_name("WIN1252"), "CP1252");
    assert_string_equal(ex_conv_iconv_name("WIN1250"), "CP1250");
    assert_string_equal(ex_conv_iconv_name("LATIN1"), "ISO-8859-1");
    assert_string_equal(ex_conv_iconv_name("LATIN5"), "ISO-8859-9");
    assert_string_equal(ex_conv_iconv_name("LATIN10"), "ISO-8859-16");
    assert_string_equal(ex_conv_iconv_name("ISO_8859_7"), "ISO-8859-7");
    assert_string_equal(ex_conv_iconv_name("KOI8U"), "KOI8-U");
    assert_string_equal(ex_conv_iconv_name("WIN866"), "CP866");
    assert_string_equal(ex_conv_iconv_name("EUC_JP"), "EUC-JP-MS");
    assert_string_equal(ex_conv_iconv_name("EUC_KR"), "EUC-KR");
    /* the server converts these */
    assert_null(ex_conv_iconv_name("UTF8"));
    assert_null(ex_conv_iconv_name("SQL_ASCII"));
    assert_null(ex_conv_iconv_name("MULE_INTERNAL"));
    assert_null(ex_conv_iconv_name("WIN1255"));
    assert_null(ex_conv_iconv_name("WIN1258"));
    assert_null(ex_conv_iconv_name("EUC_JIS_2004"));
    assert_null(ex_conv_iconv_name("win1252")); /* the server's names are upper case */
    assert_null(ex_conv_iconv_name("BIG5"));    /* a client-only encoding */
    assert_null(ex_conv_iconv_name(NULL));
}

/* A byte >= 0x80 anywhere: in a word of eight, in the tail; not past len. */
static void needed(void **state)
{
    char s[21];

    (void)state;
    memset(s, 'a', sizeof s);
    assert_int_equal(ex_conv_needed(s, sizeof s), 0);
    assert_int_equal(ex_conv_needed(s, 0), 0);
    for (size_t i = 0; i < sizeof s; i++) {
        s[i] = (char)0x80;
        assert_int_equal(ex_conv_needed(s, sizeof s), 1);
        assert_int_equal(ex_conv_needed(s, i), 0);
        assert_int_equal(ex_conv_needed(s, i + 1), 1);
        s[i] = 0x7F;
        assert_int_equal(ex_conv_needed(s, sizeof s), 0);
        s[i] = 'a';
    }
}

static void left_to_the_server(void **state)
{
    ex_conv *cv = (ex_conv *)1;
    test_log logged;

    (void)state;
    test_log_start(&logged);
    tdi_log_set_level(TDI_LOG_DEBUG);
    assert_int_equal(ex_conv_open("source s", "MULE_INTERNAL", &cv), TDI_OK);
    assert_null(cv);
    assert_int_equal(ex_conv_open("source s", "UTF8", &cv), TDI_OK);
    assert_null(cv);
    assert_int_equal(ex_conv_open("source s", "WIN1252", &cv), TDI_OK);
    ex_conv_close(cv);
    tdi_log_set_level(TDI_LOG_INFO);
    test_log_stop();
    assert_string_equal(
        logged.text, "source s: server encoding MULE_INTERNAL: converted to UTF-8 by the server\n"
                     "source s: server encoding UTF8: converted to UTF-8 by the server\n"
                     "source s: server encoding WIN1252: read as stored, converted to UTF-8 by "
                     "tdi (iconv CP1252)\n");
}

static ex_conv *open_conv(const char *pg)
{
    ex_conv *cv = NULL;

    assert_int_equal(ex_conv_open("source s", pg, &cv), TDI_OK);
    assert_non_null(cv);
    return cv;
}

/* A row's cells: ASCII ones as they are (no copy), the others converted side by side in the
 * buffer; 0x81 (no character in WIN1252) marked and escaped, the rest of its cell converted. */
static void win1252_cells(void **state)
{
    ex_conv *cv = open_conv("WIN1252");
    const char *id = "Cl\xe9-12", *ascii = "HEROIN", *bad = "HERO\x81NE \x80", *euro = "\x80 5";
    const char *a, *b, *c, *d;

    (void)state;
    assert_int_equal(ex_conv_needed("HEROIN", 6), 0);
    assert_int_equal(ex_conv_needed(id, strlen(id)), 1);
    assert_int_equal(ex_conv_row(cv, 40), TDI_OK);
    assert_int_equal(ex_conv_cell(cv, id, &a), 0);
    assert_int_equal(ex_conv_cell(cv, ascii, &b), 0);
    assert_int_equal(ex_conv_cell(cv, bad, &c), 1);
    assert_int_equal(ex_conv_cell(cv, euro, &d), 0);
    assert_string_equal(a, "Cl\xc3\xa9-12");
    assert_ptr_equal(b, ascii);
    assert_string_equal(c, "HERO\xff\x81NE \xe2\x82\xac");
    assert_string_equal(d, "\xe2\x82\xac 5");
    /* the next row reuses the buffer */
    assert_int_equal(ex_conv_row(cv, 10), TDI_OK);
    assert_int_equal(ex_conv_cell(cv, "\xe9", &a), 0);
    assert_string_equal(a, "\xc3\xa9");
    ex_conv_close(cv);
}

/* A cell that fills all the room ex_conv_row made for its line: 3 bytes of UTF-8 a byte, and a
 * byte that does not convert is 2. */
static void room_for_a_line(void **state)
{
    ex_conv *cv = open_conv("WIN1252");
    char line[301];
    const char *out;

    (void)state;
    memset(line, 0x80, 300); /* the euro sign: 3 bytes of UTF-8 */
    line[300] = '\0';
    assert_int_equal(ex_conv_row(cv, 300), TDI_OK);
    assert_int_equal(ex_conv_cell(cv, line, &out), 0);
    assert_int_equal(strlen(out), 900);
    memset(line, 0x81, 300);
    assert_int_equal(ex_conv_row(cv, 300), TDI_OK);
    assert_int_equal(ex_conv_cell(cv, line, &out), 1);
    assert_int_equal(strlen(out), 600);
    assert_memory_equal(out, "\xff\x81\xff\x81", 4);
    ex_conv_close(cv);
}

/* A multi-byte encoding: katakana, and a lead byte cut off at the end of the cell (iconv's
 * EINVAL) or followed by ASCII (EILSEQ). */
static void euc_jp_cells(void **state)
{
    ex_conv *cv = open_conv("EUC_JP");
    const char *a, *b, *c;

    (void)state;
    assert_int_equal(ex_conv_row(cv, 20), TDI_OK);
    assert_int_equal(ex_conv_cell(cv, "\xa5\xaf-1", &a), 0);
    assert_int_equal(ex_conv_cell(cv, "x\xa5", &b), 1);
    assert_int_equal(ex_conv_cell(cv, "\xa5x", &c), 1);
    assert_string_equal(a, "\xe3\x82\xaf-1"); /* U+30AF */
    assert_string_equal(b, "x\xff\xa5");
    assert_string_equal(c, "\xff\xa5x");
    /* PostgreSQL's EUC_JP, not glibc's EUC-JP: 0xA1C1 is U+FF5E */
    assert_int_equal(ex_conv_cell(cv, "\xa1\xc1", &a), 0);
    assert_string_equal(a, "\xef\xbd\x9e");
    ex_conv_close(cv);
}

/* Statements and ids back in the source's encoding: a cell's escaped byte as it was; a character
 * the encoding has not is refused. */
static void to_source(void **state)
{
    ex_conv *cv = open_conv("WIN1252");
    char *out = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(ex_conv_to_source(cv, "WHERE c = 'Cl\xc3\xa9' -- \xe2\x82\xac", &out, &len),
                     TDI_OK);
    assert_string_equal(out, "WHERE c = 'Cl\xe9' -- \x80");
    assert_true(len > strlen(out));
    free(out);
    assert_int_equal(ex_conv_to_source(cv, "{\"HERO\xff\x81NE\"}", &out, &len), TDI_OK);
    assert_string_equal(out, "{\"HERO\x81NE\"}");
    free(out);
    assert_int_equal(ex_conv_to_source(cv, "'\xce\xa9'", &out, &len), TDI_ERR_SOURCE); /* Omega */
    assert_null(out);
    assert_int_equal(ex_conv_to_source(cv, "x\xff", &out, &len), TDI_ERR_SOURCE); /* no byte */
    assert_null(out);
    ex_conv_close(cv);
    cv = open_conv("EUC_JP");
    /* longer than the UTF-8: U+00EB is 3 bytes of EUC_JP (JIS X 0212) */
    assert_int_equal(ex_conv_to_source(cv, "\xc3\xab\xc3\xab", &out, &len), TDI_OK);
    assert_int_equal(strlen(out), 6);
    free(out);
    ex_conv_close(cv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(needed),
        cmocka_unit_test(left_to_the_server),
        cmocka_unit_test(win1252_cells),
        cmocka_unit_test(room_for_a_line),
        cmocka_unit_test(euc_jp_cells),
        cmocka_unit_test(to_source),
    };
    return cmocka_run_group_tests_name("ex_conv", tests, NULL, NULL);
}
