/*
 * Unit tests for transform/tx_person: Belgian national register numbers (mod 97, with the
 * "2" prefix rule for people born from 2000 on), Dutch BSNs (11-proef), and SLK-581 keys
 * (letter positions, padding, diacritics, refusals). Check digits below were worked out by hand
 * from the definitions in tx_person.c's comments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../transform/tx_person.h"

#include <string.h>

static void assert_nid(tdi_nid_scheme scheme, const char *raw, const char *want)
{
    char digits[TX_NID_MAX + 1];
    const char *why = NULL;

    if (tx_person_nid(scheme, raw, digits, &why) != 0)
        fail_msg("'%s' refused: %s", raw, why);
    assert_string_equal(digits, want);
}

static void assert_nid_refused(tdi_nid_scheme scheme, const char *raw, const char *want_why)
{
    char digits[TX_NID_MAX + 1];
    const char *why = NULL;

    assert_int_equal(tx_person_nid(scheme, raw, digits, &why), -1);
    assert_non_null(why);
    assert_string_equal(why, want_why);
}

static void test_be_rrn(void **state)
{
    (void)state;
    /* 850730033: 850730033 mod 97 = 69, 97 - 69 = 28 */
    assert_nid(TDI_NID_BE_RRN, "85.07.30-033.28", "85073003328");
    assert_nid(TDI_NID_BE_RRN, "85073003328", "85073003328");
    assert_nid(TDI_NID_BE_RRN, " 850730 033 28 ", "85073003328");
    assert_nid(TDI_NID_BE_RRN, "85/07/30-033-28", "85073003328");
    /* born 2001: 2010523311 mod 97 = 43, 97 - 43 = 54; the pre-2000 rule would want 25 */
    assert_nid(TDI_NID_BE_RRN, "01.05.23-311.54", "01052331154");
    /* a remainder of 0 gives check digits 97 */
    assert_nid(TDI_NID_BE_RRN, "69.12.01-145.97", "69120114597");
    /* birth date not known (00 month and day): the same check */
    assert_nid(TDI_NID_BE_RRN, "80.00.00-501.15", "80000050115");

    assert_nid_refused(TDI_NID_BE_RRN, "85.07.30-033.29", "check digits");
    /* serials 000, 998 and 999 are never issued (the register's day counter runs 001-997):
     * placeholders that would link unrelated people, refused though their check digits hold */
    assert_nid_refused(TDI_NID_BE_RRN, "85.07.30-000.61", "placeholder");
    assert_nid_refused(TDI_NID_BE_RRN, "85.07.30-998.33", "placeholder");
    assert_nid_refused(TDI_NID_BE_RRN, "85.07.30-999.32", "placeholder");
    assert_nid_refused(TDI_NID_BE_RRN, "00000000097", "placeholder");
    assert_nid(TDI_NID_BE_RRN, "85.07.30-997.34", "85073099734");
    assert_nid(TDI_NID_BE_RRN, "85.07.30-001.60", "85073000160");
    /* 25 would be right for someone born in 1901 (no prefix): either rule is accepted */
    assert_nid(TDI_NID_BE_RRN, "01.05.23-311.25", "01052331125");
    assert_nid_refused(TDI_NID_BE_RRN, "01.05.23-311.55", "check digits");
    assert_nid_refused(TDI_NID_BE_RRN, "88.04.08-262.30", "check digits");
    assert_nid_refused(TDI_NID_BE_RRN, "8507300332", "length");
    assert_nid_refused(TDI_NID_BE_RRN, "850730033280", "length");
    assert_nid_refused(TDI_NID_BE_RRN, "850730033280000000000", "length");
    assert_nid_refused(TDI_NID_BE_RRN, "", "length");
    assert_nid_refused(TDI_NID_BE_RRN, "85.07.30-O33.28", "not digits"); /* letter O */
    assert_nid_refused(TDI_NID_BE_RRN, "85073003328\xc2\xa0", "not digits");
}

static void test_nl_bsn(void **state)
{
    (void)state;
    /* 9*1 + 8*2 + 7*3 + 6*4 + 5*5 + 4*6 + 3*7 + 2*8 - 2 = 154 = 14 * 11 */
    assert_nid(TDI_NID_NL_BSN, "123456782", "123456782");
    assert_nid(TDI_NID_NL_BSN, "1234.56.782", "123456782");
    /* 8 digits: a leading zero was dropped. 8*1+7*2+6*3+5*4+4*5+3*6+2*7-2 = 110 = 10 * 11 */
    assert_nid(TDI_NID_NL_BSN, "12345672", "012345672");
    assert_nid(TDI_NID_NL_BSN, "012345672", "012345672");

    assert_nid_refused(TDI_NID_NL_BSN, "123456781", "check digits");
    assert_nid_refused(TDI_NID_NL_BSN, "000000000", "check digits"); /* passes the sum, not a BSN */
    assert_nid_refused(TDI_NID_NL_BSN, "1234567", "length");
    assert_nid_refused(TDI_NID_NL_BSN, "1234567820", "length");
    assert_nid_refused(TDI_NID_NL_BSN, "12345678x", "not digits");
    /* A valid Belgian number is no BSN. */
    assert_nid_refused(TDI_NID_NL_BSN, "85073003328", "length");
    assert_nid_refused(TDI_NID_NONE, "123456782", "length");
}

static void assert_slk(const char *family, const char *given, int ymd, char sex, const char *want)
{
    char out[TX_SLK581_LEN + 1];

    assert_int_equal(tx_person_slk581(family, given, ymd, sex, out), 0);
    assert_string_equal(out, want);
}

static void test_slk581(void **state)
{
    char out[TX_SLK581_LEN + 1];

    (void)state;
    /* QUARTERMAINE: 2 U, 3 A, 5 T; ZEBULON: 2 E, 3 B */
    assert_slk("Quartermaine", "Zebulon", 19850730, '1', "UATEB300719851");
    /* Blanks, hyphens, apostrophes and case do not count. */
    assert_slk("quarter-maine", " zeb'ulon ", 19850730, '1', "UATEB300719851");
    /* Too short: '2' where there is no letter. NG: 2 G; AL: 2 L */
    assert_slk("Ng", "Al", 20010102, '2', "G22L2020120012");
    assert_slk("O", "J", 19991231, '9', "22222311219999");
    /* Diacritics count as their base letter: RUŸSBROECK, JOËLLE -> U Ÿ=Y B, O Ë=E */
    assert_slk("Ru\xc3\xbfsbroeck", "Jo\xc3\xablle", 19871205, '2', "UYBOE051219872");
    assert_slk("Ruysbroeck", "Joelle", 19871205, '2', "UYBOE051219872");
    /* Latin Extended-A: ŁUKASIEWICZ -> U K S; ŽOFIA -> O F */
    assert_slk("\xc5\x81ukasiewicz", "\xc5\xbdofia", 19700101, '2', "UKSOF010119702");
    /* Digits and other scripts are skipped. */
    assert_slk("Smith2nd", "\xd0\x90nna", 19700101, '2', "MIHNA010119702");

    /* No letter in a name, or no birth date: no key. */
    assert_int_equal(tx_person_slk581("--", "Ann", 19700101, '2', out), -1);
    assert_int_equal(tx_person_slk581("Smith", "", 19700101, '2', out), -1);
    assert_int_equal(tx_person_slk581(NULL, "Ann", 19700101, '2', out), -1);
    assert_int_equal(tx_person_slk581("Smith", NULL, 19700101, '2', out), -1);
    assert_int_equal(tx_person_slk581("Smith", "Ann", 0, '2', out), -1);
    /* Broken UTF-8 is skipped byte by byte, never read past the end. */
    assert_slk("Sm\xc3", "An\xe2\x82", 19700101, '2', "M22N2010119702");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be_rrn),
        cmocka_unit_test(test_nl_bsn),
        cmocka_unit_test(test_slk581),
    };

    return cmocka_run_group_tests_name("person", tests, NULL, NULL);
}
