/*
 * Unit tests for common/tdi_rules: the table's ids, severities and messages (stable: quarantine
 * files, reports and scripts use them), raising a rule (the rejection's fields, the count), a
 * warning raised without a rejection, counting and adding hits, and the summary lines in table
 * order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_rules.h"

#include <stdlib.h>
#include <string.h>

static char *printed(const tdi_rule_hits *hits)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    assert_non_null(fp);
    tdi_rule_print(hits, fp);
    fclose(fp);
    return buf; /* caller frees */
}

/* The ids are stable: quarantine files, reports and scripts use them. */
static void test_rule_table(void **state)
{
    static const char *const want[][3] = {
        {"R001", "reject", "required value missing"},
        {"R002", "reject", "centre code must be 1-32 characters of A-Z a-z 0-9 . _ -"},
        {"R004", "reject", "treatment start in the future"},
        {"R005", "reject", "age at treatment start outside 10-99"},
        {"R006", "reject", "local code has no crosswalk entry"},
        {"R007", "reject", "no receiving body takes this centre"},
        {"R008", "reject", "date is not a valid YYYY-MM-DD date"},
        {"R009", "reject", "age at first use above the age at treatment start"},
        {"R010", "reject", "first injection after the treatment start"},
        {"R011", "reject", "first injection given for a person who never injected"},
        {"R012", "reject", "route inject for a person who never injected"},
        {"R013", "warn", "secondary drug repeats the primary drug or an earlier secondary drug"},
        {"R014", "reject", "not a whole number in the accepted range"},
        {"R015", "reject", "first opioid substitution treatment after the treatment start year"},
        {"R016", "reject", "first opioid substitution treatment given for a person never in it"},
        {"R017", "warn", "residential attribute given for a non-residential setting: left out"},
        {"R018", "warn",
         "never previously treated, but the person started a treatment in an earlier year: kept "
         "as given"},
        {"R019", "reject", "text is not valid UTF-8, or not convertible to it"},
        {"R020", "reject", "national id fails the length or check digits of its scheme"},
        {"R030", "reject", "treatment end before its start"},
        {"R031", "reject", "treatment end in the future"},
        {"R032", "warn", "stay longer than 5 years (open: up to today): kept"},
        {"R033", "warn", "discharge reason without an end date: left out"},
        {"R034", "warn", "aftercare without an end date: left out"},
    };
    tdi_rule_idx idx;

    (void)state;
    /* R003 is retired (extract reads only the reporting year): its id names no rule */
    assert_null(tdi_rule_get("R003", NULL));
    assert_int_equal(TDI_RULE_COUNT, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const tdi_rule *r = tdi_rule_get(want[i][0], &idx);

        assert_non_null(r);
        assert_int_equal(idx, i);
        assert_ptr_equal(tdi_rule_at(idx), r);
        assert_string_equal(tdi_severity_name(r->severity), want[i][1]);
        assert_string_equal(r->message, want[i][2]);
    }
    assert_null(tdi_rule_get("R021", NULL)); /* the next free id */
    assert_null(tdi_rule_at(TDI_RULE_COUNT));
}

/* The rule's own item wins over the given one; without one, the given one is used; the value
 * is cleaned. */
static void test_raise(void **state)
{
    tdi_rule_hits hits = {{0}};
    tdi_rejection rej;

    (void)state;
    tdi_rule_raise(&hits, TDI_R002, "ignored", "bad code\n", &rej);
    assert_string_equal(rej.rule_id, "R002");
    assert_string_equal(rej.item, "centre_id");
    assert_string_equal(rej.message, "centre code must be 1-32 characters of A-Z a-z 0-9 . _ -");
    assert_string_equal(rej.value, "bad code?");
    tdi_rule_raise(&hits, TDI_R006, "sex", "x", &rej);
    assert_string_equal(rej.item, "sex");
    assert_string_equal(rej.value, "x");
    tdi_rule_raise(&hits, TDI_R006, "sex", "y", &rej);
    assert_int_equal(hits.n[TDI_R002], 1);
    assert_int_equal(hits.n[TDI_R006], 2);
    /* A warning is counted without a rejection. */
    tdi_rule_raise(&hits, TDI_R013, "secondary_drug_1", "x", NULL);
    assert_int_equal(hits.n[TDI_R013], 1);
}

/* Lines in table order whatever the order of raising; a rule without hits says nothing. */
static void test_print(void **state)
{
    tdi_rule_hits a = {{0}}, b = {{0}};
    char *text;

    (void)state;
    text = printed(&a);
    assert_string_equal(text, "");
    free(text);
    tdi_rule_count(&a, TDI_R018, 3);
    tdi_rule_raise(&b, TDI_R007, NULL, "GENT-01", NULL);
    tdi_rule_count(&b, TDI_R018, 2);
    tdi_rule_hits_add(&a, &b);
    text = printed(&a);
    assert_string_equal(text, "  rule R007 (reject) no receiving body takes this centre: 1\n"
                              "  rule R018 (warn) never previously treated, but the person "
                              "started a treatment in an earlier year: kept as given: 5\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_raise),
        cmocka_unit_test(test_print),
    };

    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
