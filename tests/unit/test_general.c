/* Unit tests for generalisation: age bands at their edges, quarters, the postcode -> region map
 * (normalising, misses, bad lines), and what blanking a quasi-identifier does to a record. */
#include "test_fs.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../disclosure/disclosure.h"
#include "../../transform/tx_derive.h"
#include "../../transform/tx_region.h"
#include "test_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *band(const tx_derive *d, int age)
{
    return tdi_item_get(TDI_ITEM_AGE_BAND)->codes[tx_derive_age_band(d, age)].code;
}

/* The age leaves only as its band: 5-year bands from 15, 0-14 below, top-coded at 65. */
static void age_band_edges_and_top_code(void **state)
{
    tx_derive d;

    (void)state;
    assert_int_equal(tx_derive_init(&d), TDI_OK);
    assert_string_equal(band(&d, 0), "0-14");
    assert_string_equal(band(&d, 14), "0-14");
    assert_string_equal(band(&d, 15), "15-19");
    assert_string_equal(band(&d, 19), "15-19");
    assert_string_equal(band(&d, 20), "20-24");
    assert_string_equal(band(&d, 59), "55-59");
    assert_string_equal(band(&d, 60), "60-64");
    assert_string_equal(band(&d, 64), "60-64");
    assert_string_equal(band(&d, 65), "65+");
    assert_string_equal(band(&d, 99), "65+");
    assert_string_equal(band(&d, 120), "65+");
}

static void quarters(void **state)
{
    (void)state;
    assert_int_equal(tx_quarter(20250101), 1);
    assert_int_equal(tx_quarter(20250331), 1);
    assert_int_equal(tx_quarter(20250401), 2);
    assert_int_equal(tx_quarter(20250630), 2);
    assert_int_equal(tx_quarter(20250701), 3);
    assert_int_equal(tx_quarter(20250930), 3);
    assert_int_equal(tx_quarter(20251001), 4);
    assert_int_equal(tx_quarter(20251231), 4);
    assert_int_equal(tx_quarter(20251301), 0);
    assert_int_equal(tx_quarter(20250001), 0);
}

static void postcode_normalising(void **state)
{
    char out[TX_POSTCODE_MAX + 1];

    (void)state;
    assert_int_equal(tx_postcode_normalise("B-2018", out), 0);
    assert_string_equal(out, "B2018");
    assert_int_equal(tx_postcode_normalise(" 1011 ab ", out), 0);
    assert_string_equal(out, "1011AB");
    assert_int_equal(tx_postcode_normalise("NL.1011-AB", out), 0);
    assert_string_equal(out, "NL1011AB");
    assert_int_equal(tx_postcode_normalise("1234567890123456", out), 0); /* 16: the most */
    assert_int_equal(tx_postcode_normalise("12345678901234567", out), -1);
    assert_string_equal(out, ""); /* wiped */
    assert_int_equal(tx_postcode_normalise(" - ", out), -1);
    assert_int_equal(tx_postcode_normalise("", out), -1);
    assert_int_equal(tx_postcode_normalise("2018/Antw", out), -1);
    assert_int_equal(tx_postcode_normalise("2018 Kiel\xc3\xa9", out), -1);
}

static char dir[] = "/tmp/tdi-test-general-XXXXXX";
static char path[256];

static void write_map(const char *text)
{
    assert_int_equal(test_fs_write(path, text), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/regions.map", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_fs_remove_tree(dir);
    return 0;
}

static void region_map_hits_and_misses(void **state)
{
    tx_region_map *m = NULL;

    (void)state;
    write_map("# NUTS-3\n"
              "B-2018 BE211\n"
              "\n"
              "\"b 2800\"   BE212   # Mechelen: quoted, it holds a blank\n"
              "1000 BE100\n");
    assert_int_equal(tx_region_map_load(path, &m), TDI_OK);
    assert_int_equal(tx_region_map_size(m), 3);
    assert_string_equal(tx_region_of(m, "B-2018"), "BE211");
    assert_string_equal(tx_region_of(m, "b2018"), "BE211");
    assert_string_equal(tx_region_of(m, "B 2800"), "BE212");
    assert_string_equal(tx_region_of(m, "1000"), "BE100");
    /* misses: not in the map, not a postcode, missing */
    assert_null(tx_region_of(m, "2018"));
    assert_null(tx_region_of(m, "B-2019"));
    assert_null(tx_region_of(m, "B-2018 Antwerpen!"));
    assert_null(tx_region_of(m, ""));
    assert_null(tx_region_of(m, NULL));
    assert_null(tx_region_of(NULL, "B-2018"));
    tx_region_map_free(m);
}

static void region_map_errors(void **state)
{
    tx_region_map *m = NULL;
    test_log tl;
    char want[2048];

    (void)state;
    write_map("B-2018 BE211\n"
              "B-2020\n"
              "B-2030 BE211 extra\n"
              "20/18 BE211\n"
              "B-2040 BE 211\n"
              "B-2050 \"BE 211\"\n"
              "b2018 BE212\n");
    test_log_start(&tl);
    assert_int_equal(tx_region_map_load(path, &m), TDI_ERR_CONFIG);
    test_log_stop();
    assert_null(m);
    snprintf(want, sizeof want,
             "%1$s:2: expected 'POSTCODE REGION'\n"
             "%1$s:3: expected 'POSTCODE REGION'\n"
             "%1$s:4: '20/18' is not a postcode (1-16 of A-Z a-z 0-9, blanks - . ignored)\n"
             "%1$s:5: expected 'POSTCODE REGION'\n"
             "%1$s:6: region 'BE 211' is not a code of 1-32 characters of A-Z a-z 0-9 . _ -\n"
             "%1$s: postcode B2018 is given twice\n",
             path);
    assert_string_equal(tl.text, want);
}

static tdi_record coded_record(void)
{
    tdi_record rec;

    memset(&rec, 0, sizeof rec);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        rec.code[i] = def->conditional ? TDI_CODE_NOT_APPLICABLE : (uint8_t)def->not_known;
    }
    rec.code[TDI_ITEM_SEX] = (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_SEX), "2");
    rec.code[TDI_ITEM_AGE_BAND] = (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_AGE_BAND), "30-34");
    rec.code[TDI_ITEM_NATIONALITY] =
        (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_NATIONALITY), "3");
    rec.code[TDI_ITEM_SETTING] =
        (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_SETTING), "residential_community");
    rec.code[TDI_ITEM_CENTRE_TYPE] =
        (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_CENTRE_TYPE), "2");
    rec.code[TDI_ITEM_PLANNED_DURATION] =
        (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_PLANNED_DURATION), "long");
    rec.code[TDI_ITEM_PRIMARY_DRUG] =
        (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_PRIMARY_DRUG), "1.1");
    rec.code[TDI_ITEM_INJECTING] = (uint8_t)tdi_code_index(tdi_item_get(TDI_ITEM_INJECTING), "2.3");
    snprintf(rec.region, sizeof rec.region, "BE211");
    snprintf(rec.centre, sizeof rec.centre, "RR-RESI");
    rec.year = 2025;
    rec.quarter = 2;
    return rec;
}

static void tuples_and_blanking(void **state)
{
    tdi_record rec = coded_record();
    char qi[DC_QI_TUPLE_MAX];

    (void)state;
    dc_qi_tuple(&rec, qi);
    assert_string_equal(qi, "2|30-34|3|BE211|2025|2|2|RR-RESI");
    dc_qi_sensitive_tuple(&rec, qi);
    assert_string_equal(qi, "1.1|2.3|99|99");

    dc_qi_blank(&rec, TDI_QI_REGION);
    dc_qi_blank(&rec, TDI_QI_SEX);
    dc_qi_blank(&rec, TDI_QI_QUARTER);
    dc_qi_blank(&rec, TDI_QI_YEAR);   /* cannot be blanked: unchanged */
    dc_qi_blank(&rec, TDI_QI_CENTRE); /* idem */
    dc_qi_tuple(&rec, qi);
    assert_string_equal(qi, "99|30-34|3|99|2025|2|0|RR-RESI");
    /* the centre type gives the setting away, and the residential attributes a residential one */
    dc_qi_blank(&rec, TDI_QI_CENTRE_TYPE);
    dc_qi_blank(&rec, TDI_QI_AGE_BAND);
    dc_qi_blank(&rec, TDI_QI_NATIONALITY);
    dc_qi_tuple(&rec, qi);
    assert_string_equal(qi, "99|99|99|99|2025|99|0|RR-RESI");
    assert_int_equal(rec.code[TDI_ITEM_SETTING], tdi_item_get(TDI_ITEM_SETTING)->not_known);
    assert_int_equal(rec.code[TDI_ITEM_PLANNED_DURATION], TDI_CODE_NOT_APPLICABLE);
    assert_int_equal(rec.code[TDI_ITEM_RESIDENTIAL_APPROACH], TDI_CODE_NOT_APPLICABLE);
    assert_int_equal(rec.code[TDI_ITEM_DETOX_PHASE], TDI_CODE_NOT_APPLICABLE);
    /* sensitive items are never touched */
    dc_qi_sensitive_tuple(&rec, qi);
    assert_string_equal(qi, "1.1|2.3|99|99");

    /* the state database counts a group's distinct values as bits of a bigint: one a code */
    for (int i = 0; i < DC_QI_NSENSITIVE; i++)
        assert_true(tdi_item_get(dc_qi_sensitive[i])->ncodes <= 63);
    assert_int_equal(tdi_qi_by_name("age_band"), TDI_QI_AGE_BAND);
    assert_int_equal(tdi_qi_by_name("age"), -1);
    assert_string_equal(tdi_qi_name(TDI_QI_CENTRE_TYPE), "centre_type");
}

static uint8_t code_at(tdi_item item, const char *code)
{
    return (uint8_t)tdi_code_index(tdi_item_get(item), code);
}

/* Blanking a quasi-identifier blanks every item that bounds it, and nothing else. */
static void linked_blanking(void **state)
{
    tdi_record rec = coded_record(), before;
    const tdi_item aged[] = {TDI_ITEM_AGE_BAND, TDI_ITEM_FIRST_USE_AGE_BAND,
                             TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, TDI_ITEM_YEARS_SINCE_FIRST_OST};

    (void)state;
    rec.code[TDI_ITEM_FIRST_USE_AGE_BAND] = code_at(TDI_ITEM_FIRST_USE_AGE_BAND, "15-19");
    rec.code[TDI_ITEM_YEARS_SINCE_FIRST_INJECTION] =
        code_at(TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, "3");
    rec.code[TDI_ITEM_YEARS_SINCE_FIRST_OST] = code_at(TDI_ITEM_YEARS_SINCE_FIRST_OST, "11-15");
    before = rec;

    /* sex bounds nothing: only the sex changes */
    dc_qi_blank(&rec, TDI_QI_SEX);
    assert_int_equal(rec.code[TDI_ITEM_SEX], tdi_item_get(TDI_ITEM_SEX)->not_known);
    rec.code[TDI_ITEM_SEX] = before.code[TDI_ITEM_SEX];
    assert_memory_equal(&rec, &before, sizeof rec);

    dc_qi_blank(&rec, TDI_QI_AGE_BAND);
    for (size_t i = 0; i < sizeof aged / sizeof aged[0]; i++) {
        assert_int_equal(rec.code[aged[i]], tdi_item_get(aged[i])->not_known);
        rec.code[aged[i]] = before.code[aged[i]];
    }
    assert_memory_equal(&rec, &before, sizeof rec);

    /* an item that does not apply (never injected) stays left out */
    rec.code[TDI_ITEM_YEARS_SINCE_FIRST_INJECTION] = TDI_CODE_NOT_APPLICABLE;
    dc_qi_blank(&rec, TDI_QI_AGE_BAND);
    assert_int_equal(rec.code[TDI_ITEM_YEARS_SINCE_FIRST_INJECTION], TDI_CODE_NOT_APPLICABLE);
    assert_int_equal(rec.code[TDI_ITEM_FIRST_USE_AGE_BAND],
                     code_at(TDI_ITEM_FIRST_USE_AGE_BAND, "99"));

    /* the region: nothing else comes from the postcode */
    rec = before;
    dc_qi_blank(&rec, TDI_QI_REGION);
    assert_string_equal(rec.region, DC_QI_REGION_BLANK);
    snprintf(rec.region, sizeof rec.region, "%s", before.region);
    assert_memory_equal(&rec, &before, sizeof rec);

    /* every link names a quasi-identifier that can be blanked and a real item */
    for (size_t i = 0; i < tdi_qi_nlinks; i++) {
        assert_true(tdi_qi_blankable(tdi_qi_links[i].qi));
        assert_non_null(tdi_item_get(tdi_qi_links[i].item));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(age_band_edges_and_top_code),
        cmocka_unit_test(quarters),
        cmocka_unit_test(postcode_normalising),
        cmocka_unit_test(region_map_hits_and_misses),
        cmocka_unit_test(region_map_errors),
        cmocka_unit_test(tuples_and_blanking),
        cmocka_unit_test(linked_blanking),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
