/*
 * Unit tests for disclosure/dc_reid, the re-identification check's policy, with a scripted
 * grouping in place of the state database: which masks are asked for (least blanking first; a
 * full read walks blank_order, an incremental run only the held blanking), which blanking is
 * taken, the change flag, the manifest's JSON, and the three failures' exact messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../disclosure/disclosure.h"
#include "test_log.h"

#include <stdlib.h>
#include <string.h>

#define B(q) (1u << (q))

/* The scripted grouping: the figures to give per call position, and what was asked. */
typedef struct script {
    dc_reid_figures fig[TDI_QI_COUNT + 1];
    unsigned asked[TDI_QI_COUNT + 1];
    size_t nasked;
    int k_min;
    tdi_status status;
} script;

static tdi_status group(void *arg, const unsigned *masks, size_t nmasks, int k_min,
                        dc_reid_figures *out)
{
    script *s = arg;

    s->nasked = nmasks;
    s->k_min = k_min;
    memcpy(s->asked, masks, nmasks * sizeof *masks);
    memcpy(out, s->fig, nmasks * sizeof *out);
    return s->status;
}

/* Groups by sex, age band and region; blank region, then age band. */
static const tdi_reid_config reid = {
    .k_min = 5,
    .qi_mask = B(TDI_QI_SEX) | B(TDI_QI_AGE_BAND) | B(TDI_QI_REGION),
    .blank = {TDI_QI_REGION, TDI_QI_AGE_BAND},
    .nblank = 2,
    .blank_set = 1,
};

static void test_names(void **state)
{
    char out[DC_REID_NAMES_MAX];

    (void)state;
    dc_reid_names(B(TDI_QI_REGION) | B(TDI_QI_SEX), out, sizeof out);
    assert_string_equal(out, "sex region");
    dc_reid_names(0, out, sizeof out);
    assert_string_equal(out, "");
    /* year and centre are never blanked; unknown names are ignored */
    assert_int_equal(dc_reid_mask_of("region sex year centre bogus"),
                     B(TDI_QI_REGION) | B(TDI_QI_SEX));
}

/* A full read: none falls short, region blanked reaches k; the change is flagged and logged. */
static void test_full_takes_least(void **state)
{
    script s = {.status = TDI_OK};
    dc_reid_body body = {"flanders", &reid, "", NULL};
    dc_reid_outcome out;
    test_log tl;

    (void)state;
    s.fig[0] = (dc_reid_figures){.records = 20, .groups = 9, .k = 1, .at_risk = 6, .average = 0.5};
    s.fig[1] =
        (dc_reid_figures){.records = 20, .groups = 2, .k = 5, .average = 0.1, .l = {1, 2, 3, 4}};
    test_log_start(&tl);
    assert_int_equal(dc_reid_check(&body, group, &s, &out), TDI_OK);
    test_log_stop();
    assert_int_equal(s.nasked, 3);
    assert_int_equal(s.k_min, 5);
    assert_int_equal(s.asked[0], reid.qi_mask);
    assert_int_equal(s.asked[1], B(TDI_QI_SEX) | B(TDI_QI_AGE_BAND));
    assert_int_equal(s.asked[2], B(TDI_QI_SEX));
    assert_true(out.met);
    assert_true(out.changed);
    assert_int_equal(out.blank_mask, B(TDI_QI_REGION));
    assert_string_equal(out.blanked, "region");
    assert_string_equal(out.json,
                        "{\"quasiIdentifiers\":\"sex age_band\",\"blanked\":\"region\",\"kMin\":5,"
                        "\"records\":20,\"groups\":2,\"k\":5,\"recordsAtRisk\":0,"
                        "\"highestRisk\":0.2000,\"averageRisk\":0.1000,\"fewestDistinct\":{"
                        "\"primary_drug\":1,\"injecting\":2,\"hiv_testing\":3,\"hcv_testing\":4}}");
    assert_string_equal(tl.text, "body flanders: blanking changes from none to region: every "
                                 "record it holds is sent again\n");
}

/* The first run of the year for the body (no blanking recorded): region is taken, and there is
 * nothing to send again, so nothing is said of a change. */
static void test_first_run_says_no_change(void **state)
{
    script s = {.status = TDI_OK};
    dc_reid_body body = {"flanders", &reid, NULL, NULL};
    dc_reid_outcome out;
    test_log tl;

    (void)state;
    s.fig[0] = (dc_reid_figures){.records = 20, .groups = 9, .k = 1, .at_risk = 6, .average = 0.5};
    s.fig[1] = (dc_reid_figures){.records = 20, .groups = 2, .k = 5, .average = 0.1};
    test_log_start(&tl);
    assert_int_equal(dc_reid_check(&body, group, &s, &out), TDI_OK);
    test_log_stop();
    assert_true(out.met);
    assert_int_equal(out.blank_mask, B(TDI_QI_REGION));
    assert_string_equal(tl.text, "");
}

/* The held blanking still suffices: nothing changes, nothing is logged. */
static void test_full_keeps_held(void **state)
{
    script s = {.status = TDI_OK};
    dc_reid_body body = {"flanders", &reid, "", NULL};
    dc_reid_outcome out;
    test_log tl;

    (void)state;
    s.fig[0] = (dc_reid_figures){.records = 0};
    test_log_start(&tl);
    assert_int_equal(dc_reid_check(&body, group, &s, &out), TDI_OK);
    test_log_stop();
    assert_true(out.met);
    assert_false(out.changed);
    assert_int_equal(out.blank_mask, 0);
    assert_string_equal(out.blanked, "");
    assert_int_equal(tl.count, 0);
}

/* An incremental run tries only the held blanking; falling short names the source. */
static void test_incremental(void **state)
{
    script s = {.status = TDI_OK};
    dc_reid_body body = {"flanders", &reid, "region", "clinic_b"};
    dc_reid_outcome out;
    test_log tl;

    (void)state;
    s.fig[0] = (dc_reid_figures){.records = 8, .groups = 3, .k = 2, .at_risk = 2};
    test_log_start(&tl);
    assert_int_equal(dc_reid_check(&body, group, &s, &out), TDI_OK);
    test_log_stop();
    assert_int_equal(s.nasked, 1);
    assert_int_equal(s.asked[0], B(TDI_QI_SEX) | B(TDI_QI_AGE_BAND));
    assert_false(out.met);
    assert_string_equal(out.why, "disclosure control not met at the body's blanking (region): a "
                                 "new blanking changes every record, and source clinic_b was "
                                 "read incrementally; run 'tdi run --full'");
    assert_string_equal(tl.text, "body flanders: disclosure control not met at the body's "
                                 "blanking (region): a new blanking changes every record, and "
                                 "source clinic_b was read incrementally; run 'tdi run --full'\n");
}

/* A full read where every blanking falls short; records without tuples. */
static void test_failures(void **state)
{
    script s = {.status = TDI_OK};
    dc_reid_body body = {"flanders", &reid, "", NULL};
    dc_reid_outcome out;
    test_log tl;

    (void)state;
    for (int i = 0; i < 3; i++)
        s.fig[i] = (dc_reid_figures){.records = 8, .groups = 3, .k = 2};
    test_log_start(&tl);
    assert_int_equal(dc_reid_check(&body, group, &s, &out), TDI_OK);
    assert_false(out.met);
    assert_string_equal(out.why, "disclosure control not met: groups smaller than k_min 5 remain "
                                 "with every quasi-identifier of blank_order blanked");
    s.fig[0] = (dc_reid_figures){.records = 8, .groups = 1, .k = 8, .legacy = 3};
    assert_int_equal(dc_reid_check(&body, group, &s, &out), TDI_OK);
    test_log_stop();
    assert_false(out.met);
    assert_string_equal(out.why, "3 of its records were sent before tdi kept their "
                                 "quasi-identifiers (state schema 3): run 'tdi run --full' once");
    assert_int_equal(tl.count, 2);
    /* The grouping's failure is returned as it is. */
    s.status = TDI_ERR_STATE;
    assert_int_equal(dc_reid_check(&body, group, &s, &out), TDI_ERR_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),           cmocka_unit_test(test_full_takes_least),
        cmocka_unit_test(test_full_keeps_held), cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_failures),        cmocka_unit_test(test_first_run_says_no_change),
    };

    return cmocka_run_group_tests_name("dc_reid", tests, NULL, NULL);
}
