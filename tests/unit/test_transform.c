/*
 * Unit tests for transform/: every rule with a row that triggers it and one that does not, the
 * exact rejection fields, a good row's exact record, the rule order, the unmapped report text,
 * its memory bound, the counters, and which identifier the person pseudonym comes from. Expected
 * pseudonyms were computed independently with `openssl kdf ... HKDF` and `openssl dgst -sha256
 * -mac HMAC` (see test_pseudo.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../transform/transform.h"
#include "../../common/tdi_rules.h"
#include "test_log.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define YEAR    2024
#define TODAY   20240615

/* For body "flanders" of KEY_HEX: the client id C1001 of source clinic_a (kind client), the
 * national number 85073003328 (be_rrn), the SLK-581 UATEB300719851, and episode E1 of clinic_a;
 * and E1 under the quarantine key. */
#define PERSON_C1001  "v1:10f77eb4aaac907e5e2199c2a0b16e3ebe05d524ce217f3943f735f0cc1880e9"
#define PERSON_NID    "v1:4f54c3afd831b1c784d9e41455dc2db4e1efa3e41fd99aff18b3eacc024ca9e6"
#define PERSON_SLK    "v1:9bdd8d7378e2fdca6e8019827c8545a3fd352c59ab1bfc669f3b9c2e7ff61717"
#define EPISODE_E1    "e1:7a624748ffb416201e27f398efda221d"
#define QUARANTINE_E1 "e1:d816b27193acd0746bb9b03c8f1663b3"

static char dir[] = "/tmp/tdi-test-transform-XXXXXX";
static char key_path[64];
static char cw_path[PATH_MAX + 64];
static tdi_source_config src;
static tdi_body_config body = {.name = (char *)"flanders"};
static tdi_config cfg = {.bodies = &body, .nbodies = 1};
static transform_ctx *tx;

static int setup(void **state)
{
    const char *env = getenv("TDI_FIXTURES");
    char exe[PATH_MAX];
    ssize_t n;
    FILE *fp;

    (void)state;
    if (env) {
        snprintf(cw_path, sizeof cw_path, "%s/crosswalk/ok.cw", env);
    } else {
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0)
            return -1;
        exe[n] = '\0';
        snprintf(cw_path, sizeof cw_path, "%s/../../../tests/fixtures/crosswalk/ok.cw",
                 dirname(exe));
    }
    if (!mkdtemp(dir))
        return -1;
    snprintf(key_path, sizeof key_path, "%s/key", dir);
    fp = fopen(key_path, "w");
    if (!fp)
        return -1;
    fputs(KEY_HEX "\n", fp);
    fclose(fp);
    if (chmod(key_path, 0600) != 0) /* git keeps no modes: set it here */
        return -1;
    src.name = (char *)"clinic_a";
    src.region = (char *)"BE211";
    src.crosswalk = cw_path;
    cfg.key_file = key_path;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(key_path);
    return rmdir(dir);
}

/* A fresh context and source for each test, so counters start at zero. */
static int begin(void **state)
{
    (void)state;
    src.national_id = TDI_NID_NONE;
    if (transform_open(&cfg, YEAR, TODAY, &tx) != TDI_OK)
        return -1;
    return transform_begin_source(tx, &src) == TDI_OK ? 0 : -1;
}

static int end(void **state)
{
    (void)state;
    transform_close(tx);
    tx = NULL;
    return 0;
}

/* An outpatient episode with every column given (the residential ones do not apply). */
static tdi_raw_row good_row(void)
{
    tdi_raw_row r;

    memset(&r, 0, sizeof r);
    r.col[TDI_COL_EPISODE_ID] = "E1";
    r.col[TDI_COL_CLIENT_ID] = "C1001";
    r.col[TDI_COL_CENTRE_ID] = "GENT-01";
    r.col[TDI_COL_START_DATE] = "2024-03-15";
    r.col[TDI_COL_BIRTH_DATE] = "1990-05-20";
    r.col[TDI_COL_SETTING] = "AMB";
    r.col[TDI_COL_SEX] = "M";
    r.col[TDI_COL_NATIONALITY] = "BE";
    r.col[TDI_COL_TREATMENT_STATUS] = "nooit";
    r.col[TDI_COL_REFERRAL_SOURCE] = "HA";
    r.col[TDI_COL_LIVING_WITH] = "ALLEEN";
    r.col[TDI_COL_LIVING_WITH_CHILDREN] = "NEE";
    r.col[TDI_COL_LIVING_WHERE] = "VAST";
    r.col[TDI_COL_EDUCATION] = "SEC";
    r.col[TDI_COL_LABOUR_STATUS] = "WERKLOOS";
    r.col[TDI_COL_PRIMARY_DRUG] = "hero\xc3\xafne";
    r.col[TDI_COL_ROUTE] = "spuiten";
    r.col[TDI_COL_FREQUENCY] = "DAG";
    r.col[TDI_COL_FIRST_USE_AGE] = "17";
    r.col[TDI_COL_SECONDARY_DRUG_1] = "cannabis"; /* a primary_drug line */
    r.col[TDI_COL_SECONDARY_DRUG_2] = "alcohol";  /* a secondary_drug line */
    r.col[TDI_COL_SECONDARY_DRUG_3] = "GEEN";
    r.col[TDI_COL_POLYDRUG] = "J";
    r.col[TDI_COL_INJECTING] = "RECENT";
    r.col[TDI_COL_FIRST_INJECTION_AGE] = "20";
    r.col[TDI_COL_NEEDLE_SHARING] = "NOOIT";
    r.col[TDI_COL_HIV_TESTING] = "RECENT";
    r.col[TDI_COL_HCV_TESTING] = "NOOIT";
    r.col[TDI_COL_OST] = "NU";
    r.col[TDI_COL_FIRST_OST_YEAR] = "2014";
    r.row_number = 7;
    return r;
}

/* The record's code of item, or "-" when the item does not apply. */
static const char *code_of(const tdi_record *rec, tdi_item item)
{
    if (rec->code[item] == TDI_CODE_NOT_APPLICABLE)
        return "-";
    return tdi_item_get(item)->codes[rec->code[item]].code;
}

/* Runs the row, which must be accepted with no pseudonym yet; returns the record with the
 * pseudonyms of body 0. */
static tdi_record accept_row(const tdi_raw_row *row)
{
    tdi_record rec;
    tdi_rejection rej;
    int accepted = -1;

    assert_int_equal(transform_row(tx, row, &rec, &rej, &accepted), TDI_OK);
    if (!accepted)
        fail_msg("rejected: %s %s '%s'", rej.rule_id, rej.item, rej.value);
    assert_string_equal(rec.person, "");
    assert_string_equal(rec.episode, "");
    assert_int_equal(transform_pseudonymise(tx, 0, &rec), TDI_OK);
    return rec;
}

/* Runs the row, which must be rejected with exactly these fields; rec must be left empty. */
static void assert_rejected(const tdi_raw_row *row, const char *rule, const char *item,
                            const char *message, const char *value)
{
    static const tdi_record zero;
    tdi_record rec;
    tdi_rejection rej;
    int accepted = -1;

    assert_int_equal(transform_row(tx, row, &rec, &rej, &accepted), TDI_OK);
    assert_int_equal(accepted, 0);
    assert_string_equal(rej.rule_id, rule);
    assert_string_equal(rej.item, item);
    assert_string_equal(rej.message, message);
    assert_string_equal(rej.value, value);
    assert_memory_equal(&rec, &zero, sizeof rec);
}

/* Runs the row, which must be accepted with want as its code of item. */
static void assert_code(const tdi_raw_row *row, tdi_item item, const char *want)
{
    tdi_record rec = accept_row(row);

    if (strcmp(code_of(&rec, item), want) != 0)
        fail_msg("%s: %s, want %s", tdi_item_get(item)->name, code_of(&rec, item), want);
}

/* The source report, with more (may be NULL) merged into its rule lines. */
static char *report_text_with(const tdi_rule_hits *more)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    assert_non_null(fp);
    transform_print_source_report(tx, more, fp);
    fclose(fp);
    return buf; /* caller frees */
}

static char *report_text(void)
{
    return report_text_with(NULL);
}

/* The summary line of rule_id counted n times outside transform_row(), as the run prints R018. */
static char *capture_rule(const char *rule_id, unsigned long n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    tdi_rule_hits hits = {{0}};
    tdi_rule_idx idx;

    assert_non_null(fp);
    assert_non_null(tdi_rule_get(rule_id, &idx));
    tdi_rule_count(&hits, idx, n);
    tdi_rule_print(&hits, fp);
    fclose(fp);
    return buf; /* caller frees */
}

/* ---- a good row ---- */

static void test_good_row(void **state)
{
    static const char *const want[TDI_ITEM_COUNT] = {
        [TDI_ITEM_SETTING] = "outpatient",
        [TDI_ITEM_CENTRE_TYPE] = "1",
        [TDI_ITEM_RESIDENTIAL_APPROACH] = "-",
        [TDI_ITEM_PLANNED_DURATION] = "-",
        [TDI_ITEM_DETOX_PHASE] = "-",
        [TDI_ITEM_SEX] = "1",
        [TDI_ITEM_AGE_BAND] = "30-34",
        [TDI_ITEM_NATIONALITY] = "1",
        [TDI_ITEM_TREATMENT_STATUS] = "1",
        [TDI_ITEM_REFERRAL_SOURCE] = "2",
        [TDI_ITEM_LIVING_WITH] = "1",
        [TDI_ITEM_LIVING_WITH_CHILDREN] = "1",
        [TDI_ITEM_LIVING_WHERE] = "1",
        [TDI_ITEM_EDUCATION] = "3",
        [TDI_ITEM_LABOUR_STATUS] = "4",
        [TDI_ITEM_PRIMARY_DRUG] = "1.1",
        [TDI_ITEM_ROUTE] = "1",
        [TDI_ITEM_FREQUENCY] = "1",
        [TDI_ITEM_FIRST_USE_AGE_BAND] = "15-19",
        [TDI_ITEM_SECONDARY_DRUG_1] = "7.1",
        [TDI_ITEM_SECONDARY_DRUG_2] = "8",
        [TDI_ITEM_SECONDARY_DRUG_3] = "0",
        [TDI_ITEM_SECONDARY_DRUG_4] = "0", /* after "none", a blank is none too */
        [TDI_ITEM_POLYDRUG] = "1",
        [TDI_ITEM_INJECTING] = "2.3",
        [TDI_ITEM_YEARS_SINCE_FIRST_INJECTION] = "4", /* 33 - 20 = 13 years */
        [TDI_ITEM_NEEDLE_SHARING] = "1",
        [TDI_ITEM_HIV_TESTING] = "2.2",
        [TDI_ITEM_HCV_TESTING] = "1",
        [TDI_ITEM_OST] = "3",
        [TDI_ITEM_YEARS_SINCE_FIRST_OST] = "10", /* 2024 - 2014 */
        [TDI_ITEM_DISCHARGE_REASON] = "-",       /* open: no end date */
        [TDI_ITEM_AFTERCARE] = "-",
        [TDI_ITEM_STAY_BAND] = "open",
    };
    tdi_raw_row row = good_row();
    tdi_record rec = accept_row(&row);

    (void)state;
    assert_string_equal(rec.person, PERSON_C1001);
    assert_int_equal(rec.person_kind, TDI_PERSON_CLIENT);
    assert_string_equal(rec.episode, EPISODE_E1);
    assert_string_equal(rec.centre, "GENT-01");
    assert_string_equal(rec.source, "clinic_a");
    assert_string_equal(rec.region, "BE211");
    assert_int_equal(rec.year, 2024);
    assert_int_equal(rec.start_ymd, 20240315);
    assert_int_equal(rec.age, 33);
    assert_int_equal(rec.first_use_age, 17);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        assert_non_null(want[i]);
        if (strcmp(code_of(&rec, (tdi_item)i), want[i]) != 0)
            fail_msg("%s: %s, want %s", tdi_item_get((tdi_item)i)->name, code_of(&rec, (tdi_item)i),
                     want[i]);
    }

    const transform_stats *st = transform_source_stats(tx);
    assert_int_equal(st->rows, 1);
    assert_int_equal(st->accepted, 1);
    assert_int_equal(st->rejected, 0);
    char *text = report_text();
    assert_string_equal(text, ""); /* only non-zero lines */
    free(text);
}

/* A source with only the required columns: every item not known, nothing derived but the
 * centre type. */
static void test_required_columns_only(void **state)
{
    tdi_raw_row row, full = good_row();
    tdi_record rec;

    (void)state;
    memset(&row, 0, sizeof row);
    row.col[TDI_COL_EPISODE_ID] = full.col[TDI_COL_EPISODE_ID];
    row.col[TDI_COL_CLIENT_ID] = full.col[TDI_COL_CLIENT_ID];
    row.col[TDI_COL_CENTRE_ID] = full.col[TDI_COL_CENTRE_ID];
    row.col[TDI_COL_START_DATE] = full.col[TDI_COL_START_DATE];
    row.no_end_date = 1; /* as extract says of a source without the column */
    rec = accept_row(&row);
    assert_int_equal(rec.age, TDI_AGE_NOT_KNOWN);
    assert_int_equal(rec.first_use_age, TDI_AGE_NOT_KNOWN);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);

        if (def->conditional)
            assert_int_equal(rec.code[i], TDI_CODE_NOT_APPLICABLE);
        else
            assert_int_equal(rec.code[i], def->not_known);
    }
}

static void test_not_known_and_dates_in_crosswalk(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    /* NULL or blank local values are the item's "not known"; no birth date: age not known. */
    row.col[TDI_COL_SEX] = NULL;
    row.col[TDI_COL_ROUTE] = "  ";
    row.col[TDI_COL_TREATMENT_STATUS] = "";
    row.col[TDI_COL_SETTING] = NULL;
    row.col[TDI_COL_BIRTH_DATE] = NULL;
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_SEX), "99");
    assert_string_equal(code_of(&rec, TDI_ITEM_ROUTE), "99");
    assert_string_equal(code_of(&rec, TDI_ITEM_TREATMENT_STATUS), "3");
    assert_string_equal(code_of(&rec, TDI_ITEM_SETTING), "not_known");
    assert_string_equal(code_of(&rec, TDI_ITEM_CENTRE_TYPE), "99");
    assert_int_equal(rec.age, TDI_AGE_NOT_KNOWN);

    row.col[TDI_COL_BIRTH_DATE] = " ";
    rec = accept_row(&row);
    assert_int_equal(rec.age, TDI_AGE_NOT_KNOWN);

    /* The crosswalk applies on the start date: primary_drug 11 is 1 before 2024, 1.1 after. */
    row = good_row();
    row.col[TDI_COL_PRIMARY_DRUG] = " 11 ";
    assert_code(&row, TDI_ITEM_PRIMARY_DRUG, "1.1");
}

static void test_centre_types(void **state)
{
    static const char *const cases[][2] = {
        {"AMB", "1"},      {"RES", "2"}, {"KLIN", "2"},   {"DETOX", "2"}, {"GEV", "3"},
        {"HUISARTS", "4"}, {"LDR", "5"}, {"ANDERS", "6"}, {"ONB", "99"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tdi_raw_row row = good_row();
        tdi_record rec;

        row.col[TDI_COL_SETTING] = cases[i][0];
        rec = accept_row(&row);
        assert_string_equal(code_of(&rec, TDI_ITEM_CENTRE_TYPE), cases[i][1]);
    }
}

static void test_person_normalised(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    row.col[TDI_COL_CLIENT_ID] = " c-10.01 ";
    rec = accept_row(&row);
    assert_string_equal(rec.person, PERSON_C1001);
}

/* ---- which identifier the person pseudonym comes from ---- */

static void test_person_kinds(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    row.col[TDI_COL_NATIONAL_ID] = "85.07.30-033.28";
    row.col[TDI_COL_FAMILY_NAME] = "Quartermaine";
    row.col[TDI_COL_GIVEN_NAME] = "Zebulon";
    row.col[TDI_COL_BIRTH_DATE] = "1985-07-30";
    row.col[TDI_COL_SEX] = "M";

    /* The source has no national id scheme: its national_id is not used; the names are. */
    rec = accept_row(&row);
    assert_int_equal(rec.person_kind, TDI_PERSON_SLK581);
    assert_string_equal(rec.person, PERSON_SLK);
    assert_string_equal(rec.episode, EPISODE_E1); /* the episode key does not depend on it */

    /* With the scheme, the national id wins, whatever the names and the client id say. */
    src.national_id = TDI_NID_BE_RRN;
    rec = accept_row(&row);
    assert_int_equal(rec.person_kind, TDI_PERSON_NID);
    assert_string_equal(rec.person, PERSON_NID);
    row.col[TDI_COL_CLIENT_ID] = "other";
    row.col[TDI_COL_FAMILY_NAME] = NULL;
    rec = accept_row(&row);
    assert_string_equal(rec.person, PERSON_NID);

    /* No national id: SLK-581 when both names and the birth date are there... */
    row.col[TDI_COL_NATIONAL_ID] = "  ";
    row.col[TDI_COL_FAMILY_NAME] = "quarter-maine";
    rec = accept_row(&row);
    assert_int_equal(rec.person_kind, TDI_PERSON_SLK581);
    assert_string_equal(rec.person, PERSON_SLK);

    /* ...else the client id. */
    row.col[TDI_COL_CLIENT_ID] = "C1001";
    row.col[TDI_COL_BIRTH_DATE] = NULL;
    rec = accept_row(&row);
    assert_int_equal(rec.person_kind, TDI_PERSON_CLIENT);
    assert_string_equal(rec.person, PERSON_C1001);
    row.col[TDI_COL_BIRTH_DATE] = "1985-07-30";
    row.col[TDI_COL_GIVEN_NAME] = "- -";
    rec = accept_row(&row);
    assert_int_equal(rec.person_kind, TDI_PERSON_CLIENT);
    assert_string_equal(rec.person, PERSON_C1001);
}

/* ---- R020 national id check ---- */

static void test_r020(void **state)
{
    const char *msg = "national id fails the length or check digits of its scheme";
    tdi_raw_row row = good_row();
    tdi_record a, b;
    char key[64];

    (void)state;
    src.national_id = TDI_NID_BE_RRN;
    row.col[TDI_COL_NATIONAL_ID] = "85.07.30-033.29";
    assert_rejected(&row, "R020", "national_id", msg, "check digits"); /* never the number */
    row.col[TDI_COL_NATIONAL_ID] = "85.07.30-033";
    assert_rejected(&row, "R020", "national_id", msg, "length");
    row.col[TDI_COL_NATIONAL_ID] = "85.07.30-O33.28";
    assert_rejected(&row, "R020", "national_id", msg, "not digits");
    transform_rejection_key(tx, &row, key, sizeof key);
    assert_string_equal(key, QUARANTINE_E1);

    src.national_id = TDI_NID_NL_BSN;
    row.col[TDI_COL_NATIONAL_ID] = "85073003328";
    assert_rejected(&row, "R020", "national_id", msg, "length");
    row.col[TDI_COL_NATIONAL_ID] = "123456782";
    assert_int_equal(accept_row(&row).person_kind, TDI_PERSON_NID);

    /* The canonical form links one person however the number is written; the scheme is in the
     * digest's domain, so the same characters under another scheme are another person. */
    src.national_id = TDI_NID_SE_PNR;
    row.col[TDI_COL_NATIONAL_ID] = "811218-9876";
    a = accept_row(&row);
    assert_int_equal(a.person_kind, TDI_PERSON_NID);
    row.col[TDI_COL_NATIONAL_ID] = "19811218 9876";
    b = accept_row(&row);
    assert_string_equal(a.person, b.person);
    src.national_id = TDI_NID_PLAIN;
    row.col[TDI_COL_NATIONAL_ID] = "198112189876";
    b = accept_row(&row);
    assert_string_not_equal(a.person, b.person);
    src.national_id = TDI_NID_SE_PNR;
    row.col[TDI_COL_NATIONAL_ID] = "811232-9874";
    assert_rejected(&row, "R020", "national_id", msg, "date");
    src.national_id = TDI_NID_FI_HETU;
    row.col[TDI_COL_NATIONAL_ID] = "131052-900W";
    assert_rejected(&row, "R020", "national_id", msg, "placeholder");
}

static void test_r020_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    /* A wrong number in a source without a scheme is not looked at. */
    row.col[TDI_COL_NATIONAL_ID] = "85.07.30-033.29";
    assert_int_equal(accept_row(&row).person_kind, TDI_PERSON_CLIENT);
    /* A missing one falls back. */
    src.national_id = TDI_NID_BE_RRN;
    row.col[TDI_COL_NATIONAL_ID] = NULL;
    assert_int_equal(accept_row(&row).person_kind, TDI_PERSON_CLIENT);
    /* R006 before R020, R020 before the consistency rules */
    row.col[TDI_COL_NATIONAL_ID] = "bad";
    row.col[TDI_COL_SEX] = "Q";
    assert_rejected(&row, "R006", "sex", "local code has no crosswalk entry", "Q");
    row.col[TDI_COL_SEX] = "M";
    row.col[TDI_COL_START_DATE] = "2024-06-16";
    assert_rejected(&row, "R020", "national_id",
                    "national id fails the length or check digits of its scheme", "not digits");
}

/* ---- R001 required value missing ---- */

static void test_r001(void **state)
{
    static const tdi_column cols[] = {TDI_COL_EPISODE_ID, TDI_COL_CLIENT_ID, TDI_COL_CENTRE_ID,
                                      TDI_COL_START_DATE};
    const char *msg = "required value missing";

    (void)state;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        tdi_raw_row row = good_row();

        row.col[cols[i]] = NULL;
        assert_rejected(&row, "R001", tdi_columns[cols[i]].name, msg, "missing");
        row.col[cols[i]] = " \t ";
        assert_rejected(&row, "R001", tdi_columns[cols[i]].name, msg, "missing");
    }
    /* A client id with no letter or digit normalises to nothing. */
    tdi_raw_row row = good_row();
    row.col[TDI_COL_CLIENT_ID] = "-- / --";
    assert_rejected(&row, "R001", "client_id", msg, "missing");
    row.col[TDI_COL_CLIENT_ID] = "\xe2\x80\x94\xc2\xa0"; /* an em dash, a no-break space */
    assert_rejected(&row, "R001", "client_id", msg, "missing");
}

static void test_r001_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    row.col[TDI_COL_CLIENT_ID] = "x";     /* one letter is enough */
    row.col[TDI_COL_EPISODE_ID] = " E1 "; /* blanks around a value are not "missing" */
    row.col[TDI_COL_BIRTH_DATE] = NULL;   /* not required */
    rec = accept_row(&row);
    assert_string_equal(rec.centre, "GENT-01");
    row.col[TDI_COL_CLIENT_ID] = "\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1"; /* Ωμέγα: letters */
    rec = accept_row(&row);
    assert_string_equal(rec.centre, "GENT-01");
}

/* ---- R002 centre code ---- */

static void test_r002(void **state)
{
    const char *msg = "centre code must be 1-32 characters of A-Z a-z 0-9 . _ -";
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_CENTRE_ID] = "GENT 01";
    /* not the shape of a code (a blank, a non-ASCII letter, too long): length and fingerprint */
    assert_rejected(&row, "R002", "centre_id", msg, "len=7 hmac=e48d84f2e466");
    row.col[TDI_COL_CENTRE_ID] = "G\xc3\xabnt";
    assert_rejected(&row, "R002", "centre_id", msg, "len=5 hmac=2f4533330d32");
    row.col[TDI_COL_CENTRE_ID] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"; /* 33 */
    assert_rejected(&row, "R002", "centre_id", msg, "len=33 hmac=04bde81ecb79");
    row.col[TDI_COL_CENTRE_ID] = "C/1";
    assert_rejected(&row, "R002", "centre_id", msg, "C/1");
}

static void test_r002_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    row.col[TDI_COL_CENTRE_ID] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"; /* 32 */
    rec = accept_row(&row);
    assert_string_equal(rec.centre, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345");
    row.col[TDI_COL_CENTRE_ID] = "  a.b_c-9\t"; /* blanks around it are dropped */
    rec = accept_row(&row);
    assert_string_equal(rec.centre, "a.b_c-9");
}

/* ---- R004 future (R003, outside the reporting year, is retired: extract reads only starts in
 * the year, so transform never sees another; the record takes the year of its start) ---- */

static void test_start_year(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_START_DATE] = "2024-01-01";
    assert_int_equal(accept_row(&row).year, 2024);
    row.col[TDI_COL_START_DATE] = "2023-12-31";
    assert_int_equal(accept_row(&row).year, 2023);
}

static void test_r004(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_START_DATE] = "2024-06-16";
    assert_rejected(&row, "R004", "start_date", "treatment start in the future", "2024");
}

static void test_r004_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_START_DATE] = "2024-06-15"; /* today */
    accept_row(&row);
}

/* ---- R005 age ---- */

static void test_r005(void **state)
{
    const char *msg = "age at treatment start outside 10-99";
    tdi_raw_row row = good_row(); /* start 2024-03-15 */

    (void)state;
    row.col[TDI_COL_BIRTH_DATE] = "2014-03-16"; /* 9, one day short of 10 */
    assert_rejected(&row, "R005", "birth_date", msg, "9");
    row.col[TDI_COL_BIRTH_DATE] = "1924-03-15"; /* 100 that day */
    assert_rejected(&row, "R005", "birth_date", msg, "100");
    row.col[TDI_COL_BIRTH_DATE] = "2025-01-01"; /* born after the start: -1, not "not known" */
    assert_rejected(&row, "R005", "birth_date", msg, "-1");
}

static void test_r005_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_FIRST_USE_AGE] = NULL; /* 17, 20: not at the age of 10 */
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    row.col[TDI_COL_BIRTH_DATE] = "2014-03-15";
    assert_int_equal(accept_row(&row).age, 10);
    row.col[TDI_COL_BIRTH_DATE] = "1924-03-16";
    assert_int_equal(accept_row(&row).age, 99);
}

/* ---- R006 unmapped local code ---- */

static void test_r006(void **state)
{
    const char *msg = "local code has no crosswalk entry";
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_PRIMARY_DRUG] = " heroine ";
    assert_rejected(&row, "R006", "primary_drug", msg, "heroine");
    row.col[TDI_COL_PRIMARY_DRUG] = "k\xc3\xa9tamine";
    assert_rejected(&row, "R006", "primary_drug", msg, "len=9 hmac=b381c5e32cba");
    /* Several unmapped columns: the first in column order is the rejection. */
    row.col[TDI_COL_SETTING] = "XYZ";
    row.col[TDI_COL_ROUTE] = "snuiven";
    assert_rejected(&row, "R006", "setting", msg, "XYZ");
    row = good_row();
    row.col[TDI_COL_SEX] = "x"; /* the crosswalk has X: case matters */
    assert_rejected(&row, "R006", "sex", msg, "x");
}

/* A cell is shown in the quarantine file and the run summary only when it has the shape of a
 * code (at most 16 of A-Z a-z 0-9 . _ - + /, at most 4 digits); otherwise its length in bytes and
 * a fingerprint, HMAC-SHA256 under the quarantine key (12 hex digits): a name or a national
 * number put in a code column never leaves in clear. */
static void test_values_echoed_only_as_codes(void **state)
{
    const char *msg = "local code has no crosswalk entry";
    tdi_raw_row row = good_row();
    char *text;

    (void)state;
    row.col[TDI_COL_PRIMARY_DRUG] = " Zebulon Quartermaine 85.07.30-033.28 ";
    assert_rejected(&row, "R006", "primary_drug", msg, "len=36 hmac=0e1fe9481034");
    row.col[TDI_COL_PRIMARY_DRUG] = "85.07.30-033.28"; /* code characters, but 11 digits */
    assert_rejected(&row, "R006", "primary_drug", msg, "len=15 hmac=74a8cab3ee12");
    row = good_row();
    row.col[TDI_COL_CENTRE_ID] = "Zebulon Quartermaine 85.07.30-033.28";
    assert_rejected(&row, "R002", "centre_id",
                    "centre code must be 1-32 characters of A-Z a-z 0-9 . _ -",
                    "len=36 hmac=0e1fe9481034");
    text = report_text();
    assert_string_equal(text, "  unmapped primary_drug 'len=15 hmac=74a8cab3ee12': 1\n"
                              "  unmapped primary_drug 'len=36 hmac=0e1fe9481034': 1\n"
                              "  rule R002 (reject) centre code must be 1-32 characters of A-Z "
                              "a-z 0-9 . _ -: 1\n"
                              "  rule R006 (reject) local code has no crosswalk entry: 2\n");
    assert_null(strstr(text, "Zebulon"));
    free(text);
}

/* A cell that is no UTF-8 (a SQL_ASCII source sends its bytes as they are), or that extract
 * could not convert to it (a byte a WIN1252 source's encoding has no character for): R019 before
 * any other rule, naming the column, never the bytes. */
static void test_r019(void **state)
{
    const char *msg = "text is not valid UTF-8, or not convertible to it";
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_PRIMARY_DRUG] = "HERO\xefNE";
    assert_rejected(&row, "R019", "primary_drug", msg, "not UTF-8");
    row = good_row();
    row.col[TDI_COL_FAMILY_NAME] = "Fran\xe7ois"; /* Latin-1 */
    row.col[TDI_COL_CLIENT_ID] = NULL;            /* R019 comes before R001 */
    assert_rejected(&row, "R019", "family_name", msg, "not UTF-8");
    row = good_row();
    row.col[TDI_COL_FAMILY_NAME] = "\xc0\xaf"; /* an overlong '/' */
    assert_rejected(&row, "R019", "family_name", msg, "not UTF-8");
    row.col[TDI_COL_FAMILY_NAME] = "\xed\xa0\x80"; /* a surrogate */
    assert_rejected(&row, "R019", "family_name", msg, "not UTF-8");
    row.col[TDI_COL_FAMILY_NAME] = "Fran\xc3\xa7ois \xf0\x9f\x98\x80"; /* fine */
    accept_row(&row);
    row = good_row();
    row.col[TDI_COL_SEX] = "\xff\x81"; /* 0x81 of WIN1252, as extract leaves it */
    row.unconverted = (uint64_t)1 << TDI_COL_SEX;
    assert_rejected(&row, "R019", "sex", msg, "not convertible");
    row.col[TDI_COL_CLIENT_ID] = NULL; /* before R001 too */
    assert_rejected(&row, "R019", "sex", msg, "not convertible");
    row = good_row();
    row.col[TDI_COL_SETTING] = "AMB\xe7";
    row.col[TDI_COL_SEX] = "\xff\x81";
    row.unconverted = (uint64_t)1 << TDI_COL_SEX;
    assert_rejected(&row, "R019", "setting", msg, "not UTF-8"); /* the first column's */
    row.col[TDI_COL_SETTING] = NULL; /* a mark of a NULL is not looked at */
    row.unconverted |= (uint64_t)1 << TDI_COL_SETTING;
    assert_rejected(&row, "R019", "sex", msg, "not convertible");
}

static void test_r006_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    /* sex X maps to 99 until 2025-07-01 and to 2 from then: the 2024 start takes 99. */
    row.col[TDI_COL_SEX] = "X";
    assert_code(&row, TDI_ITEM_SEX, "99");
}

/* ---- R008 invalid date ---- */

static void test_r008(void **state)
{
    const char *msg = "date is not a valid YYYY-MM-DD date";
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_START_DATE] = "2024-02-30";
    assert_rejected(&row, "R008", "start_date", msg, "invalid");
    row.col[TDI_COL_START_DATE] = "15/03/2024";
    assert_rejected(&row, "R008", "start_date", msg, "invalid");
    row = good_row();
    row.col[TDI_COL_BIRTH_DATE] = "1990-13-01"; /* never echoed */
    assert_rejected(&row, "R008", "birth_date", msg, "invalid");
}

static void test_r008_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_START_DATE] = "2024-02-29";
    row.col[TDI_COL_BIRTH_DATE] = "2000-02-29";
    assert_int_equal(accept_row(&row).age, 24);
}

/* ---- derived values (tx_derive) ---- */

static void test_residential_attributes(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    /* residential: given ones mapped, a missing one not known */
    row.col[TDI_COL_SETTING] = "KLIN";
    row.col[TDI_COL_RESIDENTIAL_APPROACH] = "MIN";
    row.col[TDI_COL_PLANNED_DURATION] = "LANG";
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_CENTRE_TYPE), "2");
    assert_string_equal(code_of(&rec, TDI_ITEM_RESIDENTIAL_APPROACH), "twelve_step");
    assert_string_equal(code_of(&rec, TDI_ITEM_PLANNED_DURATION), "long");
    assert_string_equal(code_of(&rec, TDI_ITEM_DETOX_PHASE), "not_known");
    /* inpatient detox is inpatient, not residential treatment: not applicable */
    row.col[TDI_COL_SETTING] = "DETOX";
    row.col[TDI_COL_RESIDENTIAL_APPROACH] = NULL;
    row.col[TDI_COL_PLANNED_DURATION] = NULL;
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_CENTRE_TYPE), "2");
    assert_string_equal(code_of(&rec, TDI_ITEM_RESIDENTIAL_APPROACH), "-");
    assert_string_equal(code_of(&rec, TDI_ITEM_PLANNED_DURATION), "-");
    assert_string_equal(code_of(&rec, TDI_ITEM_DETOX_PHASE), "-");
}

static void test_age_groups(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    /* no birth date: the source's own group, mapped */
    row.col[TDI_COL_BIRTH_DATE] = NULL;
    row.col[TDI_COL_AGE_BAND] = "A2";
    rec = accept_row(&row);
    assert_int_equal(rec.age, TDI_AGE_NOT_KNOWN);
    assert_string_equal(code_of(&rec, TDI_ITEM_AGE_BAND), "20-24");
    /* a source group across two TDI groups maps to not known */
    row.col[TDI_COL_AGE_BAND] = "A9";
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL; /* no age to count the years from */
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_AGE_BAND), "99");
    assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION), "99");
    /* an exact age wins over the group column */
    row.col[TDI_COL_BIRTH_DATE] = "1959-03-15"; /* 65 on the day */
    row.col[TDI_COL_AGE_BAND] = "A2";
    assert_code(&row, TDI_ITEM_AGE_BAND, "65+");
    row.col[TDI_COL_BIRTH_DATE] = "2010-03-16"; /* 13: R005 rejects under 10 only */
    row.col[TDI_COL_FIRST_USE_AGE] = "12";
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_AGE_BAND), "0-14");
    assert_string_equal(code_of(&rec, TDI_ITEM_FIRST_USE_AGE_BAND), "0-14");
    /* first use: the group column when the age is not given, the exact age when it is */
    row = good_row();
    row.col[TDI_COL_FIRST_USE_AGE] = NULL;
    row.col[TDI_COL_FIRST_USE_AGE_BAND] = "F2";
    rec = accept_row(&row);
    assert_int_equal(rec.first_use_age, TDI_AGE_NOT_KNOWN);
    assert_string_equal(code_of(&rec, TDI_ITEM_FIRST_USE_AGE_BAND), "15-19");
    row.col[TDI_COL_FIRST_USE_AGE] = "24";
    assert_code(&row, TDI_ITEM_FIRST_USE_AGE_BAND, "20-24");
}

static void test_secondary_drugs(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;
    char *text;

    (void)state;
    /* secondary_drug lines win over primary_drug lines (11 is 1.1 as a primary drug in 2024) */
    row.col[TDI_COL_SECONDARY_DRUG_1] = "11";
    row.col[TDI_COL_SECONDARY_DRUG_2] = NULL;
    row.col[TDI_COL_SECONDARY_DRUG_3] = NULL;
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_SECONDARY_DRUG_1), "1.3");
    assert_string_equal(code_of(&rec, TDI_ITEM_SECONDARY_DRUG_2), "99"); /* not known */
    assert_string_equal(code_of(&rec, TDI_ITEM_SECONDARY_DRUG_4), "99");
    /* "none" first: the rest, when not given, are none too */
    row.col[TDI_COL_SECONDARY_DRUG_1] = "GEEN";
    rec = accept_row(&row);
    for (int i = TDI_ITEM_SECONDARY_DRUG_1; i <= TDI_ITEM_SECONDARY_DRUG_4; i++)
        assert_string_equal(code_of(&rec, (tdi_item)i), "0");
    /* none is not a primary drug: the primary_drug list does not take it */
    row = good_row();
    row.col[TDI_COL_PRIMARY_DRUG] = "GEEN";
    assert_rejected(&row, "R006", "primary_drug", "local code has no crosswalk entry", "GEEN");
    /* an unmapped secondary code is reported under the crosswalk item secondary_drug */
    row = good_row();
    row.col[TDI_COL_SECONDARY_DRUG_4] = "kratom";
    assert_rejected(&row, "R006", "secondary_drug_4", "local code has no crosswalk entry",
                    "kratom");
    text = report_text();
    assert_string_equal(text, "  unmapped primary_drug 'GEEN': 1\n"
                              "  unmapped secondary_drug 'kratom': 1\n"
                              "  rule R006 (reject) local code has no crosswalk entry: 2\n");
    free(text);
}

static void test_injecting_derived(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    /* not known + route inject: ever injected */
    row.col[TDI_COL_INJECTING] = NULL;
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_INJECTING), "2");
    assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION), "99");
    /* not known + a first injection: ever injected, years from the year of first injection */
    row.col[TDI_COL_ROUTE] = "roken";
    row.col[TDI_COL_FIRST_INJECTION_YEAR] = "2022";
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_INJECTING), "2");
    assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION), "2"); /* 2 years */
    /* the year wins over the age: 2024 - 2023 = 1, although 33 - 20 = 13 */
    row.col[TDI_COL_FIRST_INJECTION_YEAR] = "2023";
    row.col[TDI_COL_FIRST_INJECTION_AGE] = "20";
    assert_code(&row, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, "1");
    /* no sign of injecting: not known stays, years not applicable */
    row.col[TDI_COL_FIRST_INJECTION_YEAR] = NULL;
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_INJECTING), "99");
    assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION), "-");
    /* "does not want to answer" is an answer: kept, even with route inject */
    row.col[TDI_COL_INJECTING] = "WEIGERT";
    row.col[TDI_COL_ROUTE] = "spuiten";
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_INJECTING), "3");
    assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION), "-");
    /* never injected, no first injection: not applicable */
    row.col[TDI_COL_INJECTING] = "NOOIT";
    row.col[TDI_COL_ROUTE] = "roken";
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_INJECTING), "1");
    assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION), "-");
}

static void test_ost_years(void **state)
{
    static const char *const cases[][2] = {
        {"2024", "0"},     {"2023", "1"},   {"2014", "10"},  {"2013", "11-15"},
        {"2009", "11-15"}, {"2008", "16+"}, {"1950", "16+"},
    };
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        row.col[TDI_COL_FIRST_OST_YEAR] = cases[i][0];
        rec = accept_row(&row);
        assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_OST), cases[i][1]);
    }
    row.col[TDI_COL_FIRST_OST_YEAR] = NULL; /* in OST, year not known */
    assert_code(&row, TDI_ITEM_YEARS_SINCE_FIRST_OST, "99");
    row.col[TDI_COL_OST] = NULL; /* nothing known about OST: not applicable */
    assert_code(&row, TDI_ITEM_YEARS_SINCE_FIRST_OST, "-");
    row.col[TDI_COL_FIRST_OST_YEAR] = "2020"; /* status not known, but a first OST */
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_OST), "99");
    assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_OST), "4");
    row.col[TDI_COL_OST] = "NOOIT";
    row.col[TDI_COL_FIRST_OST_YEAR] = NULL;
    assert_code(&row, TDI_ITEM_YEARS_SINCE_FIRST_OST, "-");
}

static void test_injection_years(void **state)
{
    static const char *const cases[][2] = {
        {"33", "1"}, {"32", "1"}, {"31", "2"}, {"29", "2"},
        {"28", "3"}, {"24", "3"}, {"23", "4"}, {"0", "4"},
    };
    tdi_raw_row row = good_row(); /* age 33 */
    tdi_record rec;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        row.col[TDI_COL_FIRST_INJECTION_AGE] = cases[i][0];
        rec = accept_row(&row);
        assert_string_equal(code_of(&rec, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION), cases[i][1]);
    }
}

/* ---- R009 first use after the age at start ---- */

static void test_r009(void **state)
{
    const char *msg = "age at first use above the age at treatment start";
    tdi_raw_row row = good_row(); /* age 33 */

    (void)state;
    row.col[TDI_COL_FIRST_USE_AGE] = "34";
    assert_rejected(&row, "R009", "first_use_age", msg, "34>33");
    /* groups: surely later only when the whole first-use group is above the age group */
    row.col[TDI_COL_BIRTH_DATE] = NULL;
    row.col[TDI_COL_AGE_BAND] = "A2"; /* 20-24 */
    row.col[TDI_COL_FIRST_USE_AGE] = NULL;
    row.col[TDI_COL_FIRST_USE_AGE_BAND] = "F6"; /* 30-34 */
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    assert_rejected(&row, "R009", "first_use_age", msg, "30-34>20-24");
    row.col[TDI_COL_FIRST_USE_AGE] = "25";
    assert_rejected(&row, "R009", "first_use_age", msg, "25>20-24");
}

static void test_r009_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_FIRST_USE_AGE] = "33";
    assert_int_equal(accept_row(&row).first_use_age, 33);
    row.col[TDI_COL_BIRTH_DATE] = NULL;
    row.col[TDI_COL_AGE_BAND] = "A2"; /* 20-24 */
    row.col[TDI_COL_FIRST_USE_AGE] = "24";
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    accept_row(&row);
    row.col[TDI_COL_AGE_BAND] = "A9"; /* not known: nothing to compare */
    row.col[TDI_COL_FIRST_USE_AGE] = "90";
    accept_row(&row);
}

/* ---- R010 first injection after the start ---- */

static void test_r010(void **state)
{
    const char *msg = "first injection after the treatment start";
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_FIRST_INJECTION_AGE] = "34";
    assert_rejected(&row, "R010", "first_injection_age", msg, "34>33");
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    row.col[TDI_COL_FIRST_INJECTION_YEAR] = "2025";
    assert_rejected(&row, "R010", "first_injection_year", msg, "2025>2024");
}

static void test_r010_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_FIRST_INJECTION_AGE] = "33";
    row.col[TDI_COL_FIRST_INJECTION_YEAR] = "2024";
    assert_code(&row, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, "1");
}

/* ---- R011 first injection of a person who never injected, R012 route inject ---- */

static void test_r011(void **state)
{
    const char *msg = "first injection given for a person who never injected";
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_INJECTING] = "NOOIT";
    row.col[TDI_COL_ROUTE] = "roken";
    assert_rejected(&row, "R011", "first_injection_age", msg, "20");
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    row.col[TDI_COL_FIRST_INJECTION_YEAR] = "2010";
    assert_rejected(&row, "R011", "first_injection_year", msg, "2010");
}

static void test_r011_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_INJECTING] = "OOIT";
    accept_row(&row);
    row.col[TDI_COL_INJECTING] = "NOOIT";
    row.col[TDI_COL_ROUTE] = "roken";
    row.col[TDI_COL_FIRST_INJECTION_AGE] = " ";
    accept_row(&row);
}

static void test_r012(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_INJECTING] = "NOOIT";
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    assert_rejected(&row, "R012", "route", "route inject for a person who never injected", "1");
}

static void test_r012_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_INJECTING] = "OOIT";
    accept_row(&row);
    row.col[TDI_COL_INJECTING] = "NOOIT";
    row.col[TDI_COL_ROUTE] = "roken";
    row.col[TDI_COL_FIRST_INJECTION_AGE] = NULL;
    accept_row(&row);
}

/* ---- R013 (warn) secondary drug repeats ---- */

static void test_r013(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;
    char *text;

    (void)state;
    row.col[TDI_COL_SECONDARY_DRUG_1] = "hero\xc3\xafne"; /* the primary drug */
    rec = accept_row(&row);                               /* a warning: the row goes on */
    assert_string_equal(code_of(&rec, TDI_ITEM_SECONDARY_DRUG_1), "1.1");
    row = good_row();
    row.col[TDI_COL_SECONDARY_DRUG_3] = "cannabis"; /* the first secondary drug again */
    accept_row(&row);
    text = report_text();
    assert_string_equal(text, "  rule R013 (warn) secondary drug repeats the primary drug or an "
                              "earlier secondary drug: 2\n");
    free(text);
    assert_int_equal(transform_source_stats(tx)->accepted, 2);
}

static void test_r013_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    char *text;

    (void)state;
    row.col[TDI_COL_SECONDARY_DRUG_1] = "GEEN"; /* none, none, none, none */
    accept_row(&row);
    row = good_row();
    row.col[TDI_COL_SECONDARY_DRUG_1] = NULL; /* not known twice */
    row.col[TDI_COL_SECONDARY_DRUG_2] = NULL;
    row.col[TDI_COL_SECONDARY_DRUG_3] = "11"; /* 1.3, the primary is 1.1 */
    accept_row(&row);
    text = report_text();
    assert_string_equal(text, "");
    free(text);
}

/* ---- R014 numbers ---- */

static void test_r014(void **state)
{
    static const char *const bad[][2] = {
        {"abc", "abc"},
        {"-3", "-3"},
        {"121", "121"},
        {"17.5", "17.5"},
        {"1 7", "len=3 hmac=9cb2ae0ff8f8"},
        {"+17", "+17"},
        {"0017000000", "len=10 hmac=dd3281372a0f"},
    };
    const char *msg = "not a whole number in the accepted range";
    tdi_raw_row row = good_row();

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        row.col[TDI_COL_FIRST_USE_AGE] = bad[i][0];
        assert_rejected(&row, "R014", "first_use_age", msg, bad[i][1]);
    }
    row = good_row();
    row.col[TDI_COL_FIRST_OST_YEAR] = "1899";
    assert_rejected(&row, "R014", "first_ost_year", msg, "1899");
    row.col[TDI_COL_FIRST_OST_YEAR] = "3000";
    assert_rejected(&row, "R014", "first_ost_year", msg, "3000");
}

static void test_r014_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_FIRST_USE_AGE] = " 017\t";
    assert_int_equal(accept_row(&row).first_use_age, 17);
    row.col[TDI_COL_FIRST_USE_AGE] = "0";
    assert_int_equal(accept_row(&row).first_use_age, 0);
    row.col[TDI_COL_FIRST_USE_AGE] = "";
    assert_int_equal(accept_row(&row).first_use_age, TDI_AGE_NOT_KNOWN);
    row.col[TDI_COL_FIRST_OST_YEAR] = "1900";
    accept_row(&row);
}

/* ---- R015, R016 first OST ---- */

static void test_r015(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_FIRST_OST_YEAR] = "2025";
    assert_rejected(&row, "R015", "first_ost_year",
                    "first opioid substitution treatment after the treatment start year",
                    "2025>2024");
}

static void test_r015_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_FIRST_OST_YEAR] = "2024";
    accept_row(&row);
}

static void test_r016(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_OST] = "NOOIT";
    assert_rejected(&row, "R016", "first_ost_year",
                    "first opioid substitution treatment given for a person never in it", "2014");
}

static void test_r016_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_OST] = "NOOIT";
    row.col[TDI_COL_FIRST_OST_YEAR] = NULL;
    accept_row(&row);
}

/* ---- discharges (end_date, discharge_reason, aftercare) and continuing clients ---- */

/* A closed episode: its stay band from the dates (the end date itself is kept in memory only),
 * its reason and aftercare through the crosswalk, not known when not given. */
static void test_discharge_closed(void **state)
{
    tdi_raw_row row = good_row(); /* starts 2024-03-15 */
    tdi_record rec;
    char *text;

    (void)state;
    row.col[TDI_COL_END_DATE] = "2024-04-12"; /* 28 days */
    row.col[TDI_COL_DISCHARGE_REASON] = "AFGEROND";
    row.col[TDI_COL_AFTERCARE] = "ZELFHULP";
    rec = accept_row(&row);
    assert_int_equal(rec.end_ymd, 20240412);
    assert_int_equal(rec.continuing, 0);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "8-28");
    assert_string_equal(code_of(&rec, TDI_ITEM_DISCHARGE_REASON), "completed");
    assert_string_equal(code_of(&rec, TDI_ITEM_AFTERCARE), "self_help");
    row.col[TDI_COL_END_DATE] = "2024-04-13"; /* 29 days */
    row.col[TDI_COL_DISCHARGE_REASON] = NULL;
    row.col[TDI_COL_AFTERCARE] = " ";
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "29-90");
    assert_string_equal(code_of(&rec, TDI_ITEM_DISCHARGE_REASON), "not_known");
    assert_string_equal(code_of(&rec, TDI_ITEM_AFTERCARE), "not_known");
    row.col[TDI_COL_END_DATE] = "2024-03-15"; /* the same day */
    assert_code(&row, TDI_ITEM_STAY_BAND, "0-7");
    row.col[TDI_COL_DISCHARGE_REASON] = "WEG"; /* no crosswalk line */
    assert_rejected(&row, "R006", "discharge_reason", "local code has no crosswalk entry", "WEG");
    row.col[TDI_COL_DISCHARGE_REASON] = NULL;
    row.col[TDI_COL_END_DATE] = "2024-02-30";
    assert_rejected(&row, "R008", "end_date", "date is not a valid YYYY-MM-DD date", "invalid");
    text = report_text(); /* no discharge rule raised by the accepted rows */
    assert_null(strstr(text, "R03"));
    free(text);
}

/* A source without an end_date column has no discharge data: the three items are left out,
 * the records as before 2.4; with the column, no end date is an open stay. */
static void test_discharge_no_column(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    row.no_end_date = 1;
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "-");
    assert_string_equal(code_of(&rec, TDI_ITEM_DISCHARGE_REASON), "-");
    assert_string_equal(code_of(&rec, TDI_ITEM_AFTERCARE), "-");
    assert_int_equal(rec.end_ymd, 0);
    row.no_end_date = 0;
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "open");
    assert_string_equal(code_of(&rec, TDI_ITEM_DISCHARGE_REASON), "-");
}

/* An episode started before the reporting year (the continuing clients' window) is a continuing
 * client: flagged, outside the population the tables and the counting unit follow; its year is
 * bottom-coded to the year before the reporting year ("then or earlier"), without a quarter, and
 * what is derived from the start (the stay band) comes from the true start. */
static void test_continuing(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    row.col[TDI_COL_START_DATE] = "2017-06-12";
    rec = accept_row(&row);
    assert_int_equal(rec.continuing, 1);
    assert_int_equal(rec.year, 2023);
    assert_int_equal(rec.quarter, 0);
    assert_int_equal(rec.start_ymd, 20170612);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "open");
    row.col[TDI_COL_END_DATE] = "2024-01-02"; /* 2395 days from the true start */
    rec = accept_row(&row);
    assert_int_equal(rec.year, 2023);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "366+");
    row.col[TDI_COL_END_DATE] = NULL;
    row.col[TDI_COL_START_DATE] = "2023-12-31";
    rec = accept_row(&row);
    assert_int_equal(rec.continuing, 1);
    assert_int_equal(rec.year, 2023);
    assert_int_equal(rec.quarter, 0);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "open");
    assert_true(tdi_in_population(rec.code[TDI_ITEM_PRIMARY_DRUG]));
    assert_false(tdi_record_in_population(&rec));
    row.col[TDI_COL_END_DATE] = "2024-01-02"; /* closed in the year: 2 days */
    rec = accept_row(&row);
    assert_int_equal(rec.continuing, 1);
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "0-7");
    row.col[TDI_COL_START_DATE] = "2024-01-01";
    rec = accept_row(&row);
    assert_int_equal(rec.continuing, 0);
    assert_int_equal(rec.year, 2024);
    assert_int_equal(rec.quarter, 1);
    assert_true(tdi_record_in_population(&rec));
}

static void test_r030(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_END_DATE] = "2024-03-14";
    assert_rejected(&row, "R030", "end_date", "treatment end before its start", "-1 days");
}

static void test_r030_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    row.col[TDI_COL_END_DATE] = "2024-03-15";
    rec = accept_row(&row);
    assert_int_equal(tdi_record_stay_days(&rec), 0);
}

static void test_r031(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_END_DATE] = "2024-06-16"; /* TODAY + 1 */
    assert_rejected(&row, "R031", "end_date", "treatment end in the future", "2024");
}

static void test_r031_not_triggered(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    row.col[TDI_COL_END_DATE] = "2024-06-15"; /* TODAY */
    assert_code(&row, TDI_ITEM_STAY_BAND, "91-180");
}

/* Longer than 5 years: the closed stay to its end, the open one to today; 5 years to the day is
 * not longer. */
static void test_r032(void **state)
{
    tdi_raw_row row = good_row();
    char *text;

    (void)state;
    row.col[TDI_COL_START_DATE] = "2019-06-14";
    accept_row(&row); /* open until today 2024-06-15: 5 years and a day */
    row.col[TDI_COL_START_DATE] = "2018-03-15";
    row.col[TDI_COL_END_DATE] = "2024-03-16";
    assert_code(&row, TDI_ITEM_STAY_BAND, "366+");
    text = report_text();
    assert_string_equal(text, "  rule R032 (warn) stay longer than 5 years (open: up to today): "
                              "kept: 2\n");
    free(text);
}

static void test_r032_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    char *text;

    (void)state;
    row.col[TDI_COL_START_DATE] = "2019-06-15";
    accept_row(&row); /* open: 5 years to the day */
    row.col[TDI_COL_START_DATE] = "2018-03-15";
    row.col[TDI_COL_END_DATE] = "2023-03-15";
    accept_row(&row);
    row.col[TDI_COL_START_DATE] = "2015-01-01"; /* no end_date column: no open stay either */
    row.col[TDI_COL_END_DATE] = NULL;
    row.no_end_date = 1;
    accept_row(&row);
    text = report_text();
    assert_string_equal(text, "");
    free(text);
}

static void test_r033_r034(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;
    char *text;

    (void)state;
    row.col[TDI_COL_DISCHARGE_REASON] = "VERWEZEN";
    row.col[TDI_COL_AFTERCARE] = "AMB";
    rec = accept_row(&row); /* left out: not true before a discharge */
    assert_string_equal(code_of(&rec, TDI_ITEM_STAY_BAND), "open");
    assert_int_equal(rec.code[TDI_ITEM_DISCHARGE_REASON], TDI_CODE_NOT_APPLICABLE);
    assert_int_equal(rec.code[TDI_ITEM_AFTERCARE], TDI_CODE_NOT_APPLICABLE);
    text = report_text();
    assert_string_equal(text,
                        "  rule R033 (warn) discharge reason without an end date: left out: 1\n"
                        "  rule R034 (warn) aftercare without an end date: left out: 1\n");
    free(text);
}

static void test_r033_r034_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    char *text;

    (void)state;
    row.col[TDI_COL_END_DATE] = "2024-05-01";
    row.col[TDI_COL_DISCHARGE_REASON] = "VERWEZEN";
    row.col[TDI_COL_AFTERCARE] = "AMB";
    accept_row(&row);
    text = report_text();
    assert_string_equal(text, "");
    free(text);
}

/* ---- R017 (warn) residential attribute outside the residential classes ---- */

static void test_r017(void **state)
{
    tdi_raw_row row = good_row(); /* outpatient */
    tdi_record rec;
    char *text;

    (void)state;
    row.col[TDI_COL_DETOX_PHASE] = "J";
    rec = accept_row(&row);
    assert_string_equal(code_of(&rec, TDI_ITEM_DETOX_PHASE), "-"); /* left out */
    text = report_text();
    assert_string_equal(text, "  rule R017 (warn) residential attribute given for a "
                              "non-residential setting: left out: 1\n");
    free(text);
}

static void test_r017_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    char *text;

    (void)state;
    row.col[TDI_COL_SETTING] = "RES";
    row.col[TDI_COL_DETOX_PHASE] = "J";
    assert_code(&row, TDI_ITEM_DETOX_PHASE, "yes");
    text = report_text();
    assert_string_equal(text, "");
    free(text);
}

/* ---- order and R007 ---- */

static void test_rule_order(void **state)
{
    tdi_raw_row row = good_row();

    (void)state;
    /* R001 before R002 */
    row.col[TDI_COL_CLIENT_ID] = NULL;
    row.col[TDI_COL_CENTRE_ID] = "bad centre";
    assert_rejected(&row, "R001", "client_id", "required value missing", "missing");
    /* R002 before R008 */
    row = good_row();
    row.col[TDI_COL_CENTRE_ID] = "bad centre";
    row.col[TDI_COL_START_DATE] = "2024-02-30";
    assert_rejected(&row, "R002", "centre_id",
                    "centre code must be 1-32 characters of A-Z a-z 0-9 . _ -",
                    "len=10 hmac=0caed2bbd911");
    /* R008 before R006 */
    row = good_row();
    row.col[TDI_COL_BIRTH_DATE] = "nope";
    row.col[TDI_COL_SEX] = "Q";
    assert_rejected(&row, "R008", "birth_date", "date is not a valid YYYY-MM-DD date", "invalid");
    /* R006 before R005 */
    row = good_row();
    row.col[TDI_COL_SEX] = "Q";
    row.col[TDI_COL_BIRTH_DATE] = "2020-01-01";
    assert_rejected(&row, "R006", "sex", "local code has no crosswalk entry", "Q");
    /* R005 before R004 */
    row = good_row();
    row.col[TDI_COL_START_DATE] = "2030-03-15";
    row.col[TDI_COL_BIRTH_DATE] = "2025-01-01";
    assert_rejected(&row, "R005", "birth_date", "age at treatment start outside 10-99", "5");
    /* R003 is retired: a start in a later year is R004's */
    row = good_row();
    row.col[TDI_COL_START_DATE] = "2030-01-01";
    assert_rejected(&row, "R004", "start_date", "treatment start in the future", "2030");
}

/* R007 is the run's (no body takes an accepted record), raised through tdi_rules into the run's
 * hits for the source; the source report merges them into its rule lines, in table order. */
static void test_r007_no_body(void **state)
{
    tdi_raw_row row = good_row();
    tdi_rule_hits run_hits = {{0}};
    tdi_rejection rej;
    tdi_record rec;
    char *text;

    (void)state;
    rec = accept_row(&row);
    tdi_rule_raise(&run_hits, TDI_R007, NULL, rec.centre, &rej);
    assert_string_equal(rej.rule_id, "R007");
    assert_string_equal(rej.item, "centre_id");
    assert_string_equal(rej.message, "no receiving body takes this centre");
    assert_string_equal(rej.value, "GENT-01"); /* the centre of the record, not an identifier */
    assert_int_equal(run_hits.n[TDI_R007], 1);
    text = report_text_with(&run_hits);
    assert_string_equal(text, "  rule R007 (reject) no receiving body takes this centre: 1\n");
    free(text);
    /* A rule of transform's own (R001) and the run's R007 print in table order. */
    row = good_row();
    row.col[TDI_COL_CENTRE_ID] = "";
    assert_rejected(&row, "R001", "centre_id", "required value missing", "missing");
    text = report_text_with(&run_hits);
    assert_string_equal(text, "  rule R001 (reject) required value missing: 1\n"
                              "  rule R007 (reject) no receiving body takes this centre: 1\n");
    free(text);
    text = report_text(); /* transform's own only */
    assert_string_equal(text, "  rule R001 (reject) required value missing: 1\n");
    free(text);
}

static void test_keygen(void **state)
{
    char path[128];
    transform_ctx *t2 = NULL;

    (void)state;
    snprintf(path, sizeof path, "%s/gen-key", dir);
    assert_int_equal(transform_keygen(path), TDI_OK);
    cfg.key_file = path;
    assert_int_equal(transform_open(&cfg, YEAR, TODAY, &t2), TDI_OK);
    cfg.key_file = key_path;
    assert_int_equal(strlen(transform_body_key_id(t2, 0)), 8);
    assert_string_not_equal(transform_body_key_id(t2, 0), transform_body_key_id(tx, 0));
    transform_close(t2);
    unlink(path);
}

/* ---- R018 (warn) never previously treated, treated in an earlier year; the counting unit ---- */

/* What the state database says of a record: the entrant flag is set, and "not known" becomes
 * "previously treated" for a person with a start in an earlier year. */
static void test_r018(void **state)
{
    tdi_raw_row row = good_row(); /* treatment status "nooit": 1, never previously treated */
    tdi_record rec;
    char *text;

    (void)state;
    rec = accept_row(&row);
    assert_int_equal(rec.entrant, TDI_ENTRANT_UNRANKED); /* transform does not rank */
    assert_int_equal(transform_history(&rec, 1, 1), 1);  /* R018: kept as given */
    assert_string_equal(code_of(&rec, TDI_ITEM_TREATMENT_STATUS), "1");
    assert_int_equal(rec.entrant, TDI_ENTRANT_YES);
    text = capture_rule("R018", 3);
    assert_string_equal(text, "  rule R018 (warn) never previously treated, but the person started "
                              "a treatment in an earlier year: kept as given: 3\n");
    free(text);
    text = capture_rule("R018", 0); /* nothing to say */
    assert_string_equal(text, "");
    free(text);
}

static void test_r018_not_triggered(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;

    (void)state;
    rec = accept_row(&row);
    assert_int_equal(transform_history(&rec, 0, 0), 0); /* "never", and nothing earlier */
    assert_string_equal(code_of(&rec, TDI_ITEM_TREATMENT_STATUS), "1");
    assert_int_equal(rec.entrant, TDI_ENTRANT_NO);
    row.col[TDI_COL_TREATMENT_STATUS] = "?"; /* not known ... */
    rec = accept_row(&row);
    assert_int_equal(transform_history(&rec, 1, 0), 0); /* ... and nothing earlier: stays 3 */
    assert_string_equal(code_of(&rec, TDI_ITEM_TREATMENT_STATUS), "3");
    rec = accept_row(&row);
    assert_int_equal(transform_history(&rec, 1, 1), 0); /* ... treated earlier: 2 */
    assert_string_equal(code_of(&rec, TDI_ITEM_TREATMENT_STATUS), "2");
    row.col[TDI_COL_TREATMENT_STATUS] = "eerder";
    rec = accept_row(&row);
    assert_int_equal(transform_history(&rec, 1, 1), 0); /* previously treated: agrees */
    assert_string_equal(code_of(&rec, TDI_ITEM_TREATMENT_STATUS), "2");
}

/* The episode key of the state database: the HMAC under the state key of the episode digest
 * (values from Python's hmac, tdi's HKDF derivation done again), from an id or from the row just
 * accepted, the same; none after a rejected row. */
static void test_episode_state_key(void **state)
{
    /* e1:272bd6738829036a3669fe562ed2efc7 */
    static const unsigned char e1[TRANSFORM_STATE_KEY_BYTES] = {0x27, 0x2b, 0xd6, 0x73, 0x88, 0x29,
                                                                0x03, 0x6a, 0x36, 0x69, 0xfe, 0x56,
                                                                0x2e, 0xd2, 0xef, 0xc7};
    tdi_raw_row row = good_row();
    unsigned char bytes[TRANSFORM_STATE_KEY_BYTES];
    char again[TDI_EPISODE_KEY_MAX + 1];
    int has = 0;

    (void)state;
    accept_row(&row);
    assert_int_equal(transform_state_key_bytes(tx, "E1", bytes, &has), TDI_OK);
    assert_int_equal(has, 1);
    assert_memory_equal(bytes, e1, sizeof e1);
    assert_int_equal(transform_state_key_bytes(tx, "  ", bytes, &has), TDI_OK);
    assert_int_equal(has, 0); /* a blank id has no key */
    assert_int_equal(transform_episode_state_key(tx, again, sizeof again), TDI_OK);
    assert_string_equal(again, "e1:272bd6738829036a3669fe562ed2efc7");
    row.col[TDI_COL_EPISODE_ID] = "E2";
    accept_row(&row);
    assert_int_equal(transform_episode_state_key(tx, again, sizeof again), TDI_OK);
    assert_string_equal(again, "e1:e1b5347bc62c73397d9106c8dc9425ef");
    row.col[TDI_COL_CENTRE_ID] = NULL; /* rejected: no key */
    assert_rejected(&row, "R001", "centre_id", "required value missing", "missing");
    assert_int_equal(transform_episode_state_key(tx, again, sizeof again), TDI_ERR_INTERNAL);
}

/* The person key of the state database: under the state key, the same for the same person from
 * any source, and no body's pseudonym. */
static void test_person_state_key(void **state)
{
    tdi_raw_row row = good_row();
    tdi_record rec;
    char key[TDI_PSEUDONYM_MAX + 1], again[TDI_PSEUDONYM_MAX + 1];

    (void)state;
    rec = accept_row(&row);
    assert_int_equal(transform_person_state_key(tx, key, sizeof key), TDI_OK);
    assert_int_equal(strlen(key), 67);
    assert_memory_equal(key, "p1:", 3);
    assert_int_equal(transform_pseudonymise(tx, 0, &rec), TDI_OK);
    assert_string_equal(rec.person, PERSON_C1001);
    assert_string_not_equal(key + 3, rec.person + 3);
    row.col[TDI_COL_EPISODE_ID] = "E2"; /* another episode of the same client */
    accept_row(&row);
    assert_int_equal(transform_person_state_key(tx, again, sizeof again), TDI_OK);
    assert_string_equal(again, key);
    row.col[TDI_COL_CLIENT_ID] = "C1002";
    accept_row(&row);
    assert_int_equal(transform_person_state_key(tx, again, sizeof again), TDI_OK);
    assert_string_not_equal(again, key);
    row.col[TDI_COL_CENTRE_ID] = NULL; /* rejected: no key */
    assert_rejected(&row, "R001", "centre_id", "required value missing", "missing");
    assert_int_equal(transform_person_state_key(tx, again, sizeof again), TDI_ERR_INTERNAL);
}

/* ---- keys, report, counters ---- */

static void test_rejection_key(void **state)
{
    tdi_raw_row row = good_row();
    char key[64];

    (void)state;
    transform_rejection_key(tx, &row, key, sizeof key);
    assert_string_equal(key, QUARANTINE_E1); /* the quarantine key: no body's episode key */
    row.col[TDI_COL_EPISODE_ID] = NULL;
    transform_rejection_key(tx, &row, key, sizeof key);
    assert_string_equal(key, "row:7");
    row.col[TDI_COL_EPISODE_ID] = "  ";
    transform_rejection_key(tx, &row, key, sizeof key);
    assert_string_equal(key, "row:7");
}

static void test_report(void **state)
{
    tdi_raw_row row;
    char *text;

    (void)state;
    row = good_row();
    accept_row(&row);
    row.col[TDI_COL_PRIMARY_DRUG] = "heroine";
    assert_rejected(&row, "R006", "primary_drug", "local code has no crosswalk entry", "heroine");
    assert_rejected(&row, "R006", "primary_drug", "local code has no crosswalk entry", "heroine");
    row.col[TDI_COL_PRIMARY_DRUG] = "k\xc3\xa9tamine";
    assert_rejected(&row, "R006", "primary_drug", "local code has no crosswalk entry",
                    "len=9 hmac=b381c5e32cba");
    row = good_row();
    row.col[TDI_COL_SETTING] = "XYZ";
    row.col[TDI_COL_ROUTE] = "snuiven";
    assert_rejected(&row, "R006", "setting", "local code has no crosswalk entry", "XYZ");
    row = good_row();
    row.col[TDI_COL_CLIENT_ID] = NULL;
    assert_rejected(&row, "R001", "client_id", "required value missing", "missing");
    row = good_row();
    row.col[TDI_COL_BIRTH_DATE] = "2020-01-01";
    assert_rejected(&row, "R005", "birth_date", "age at treatment start outside 10-99", "4");

    text = report_text();
    assert_string_equal(text, "  unmapped primary_drug 'heroine': 2\n"
                              "  unmapped primary_drug 'len=9 hmac=b381c5e32cba': 1\n"
                              "  unmapped route 'snuiven': 1\n"
                              "  unmapped setting 'XYZ': 1\n"
                              "  rule R001 (reject) required value missing: 1\n"
                              "  rule R005 (reject) age at treatment start outside 10-99: 1\n"
                              "  rule R006 (reject) local code has no crosswalk entry: 4\n");
    free(text);
    assert_int_equal(transform_source_stats(tx)->rows, 7);
    assert_int_equal(transform_source_stats(tx)->accepted, 1);
    assert_int_equal(transform_source_stats(tx)->rejected, 6);

    /* A new source starts from zero. */
    assert_int_equal(transform_begin_source(tx, &src), TDI_OK);
    text = report_text();
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(transform_source_stats(tx)->rows, 0);
}

static void test_unmapped_bounded(void **state)
{
    tdi_raw_row row = good_row();
    char code[16], *text, *last;
    tdi_record rec;
    tdi_rejection rej;
    int accepted, lines = 0;

    (void)state;
    for (int i = 0; i < 1005; i++) {
        snprintf(code, sizeof code, "d%04d", i);
        row.col[TDI_COL_PRIMARY_DRUG] = code;
        assert_int_equal(transform_row(tx, &row, &rec, &rej, &accepted), TDI_OK);
        assert_int_equal(accepted, 0);
    }
    row.col[TDI_COL_PRIMARY_DRUG] = "d0000"; /* listed ones still count */
    assert_int_equal(transform_row(tx, &row, &rec, &rej, &accepted), TDI_OK);
    row.col[TDI_COL_PRIMARY_DRUG] = "d1004"; /* so do the others */
    assert_int_equal(transform_row(tx, &row, &rec, &rej, &accepted), TDI_OK);

    text = report_text();
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1000 + 2);
    assert_true(strncmp(text,
                        "  unmapped primary_drug 'd0000': 2\n"
                        "  unmapped primary_drug 'd0001': 1\n",
                        70) == 0);
    text[strlen(text) - 1] = '\0';
    last = strrchr(text, '\n');
    assert_non_null(last);
    *last = '\0';
    assert_string_equal(last + 1, "  rule R006 (reject) local code has no crosswalk entry: 1007");
    assert_string_equal(strrchr(text, '\n') + 1, "  unmapped primary_drug (other codes): 6");
    free(text);
}

static void test_before_begin_source(void **state)
{
    transform_ctx *t2 = NULL;
    tdi_raw_row row = good_row();
    tdi_record rec;
    tdi_rejection rej;
    int accepted = -1;
    test_log tl;

    (void)state;
    assert_int_equal(transform_open(&cfg, YEAR, TODAY, &t2), TDI_OK);
    test_log_start(&tl);
    assert_int_equal(transform_pseudonymise(t2, 0, &rec), TDI_ERR_INTERNAL);
    assert_int_equal(transform_row(t2, &row, &rec, &rej, &accepted), TDI_ERR_INTERNAL);
    test_log_stop();
    assert_int_equal(accepted, 0);
    assert_string_equal(tl.text, "transform_pseudonymise: no accepted row or no body 0\n"
                                 "transform_row called before transform_begin_source\n");
    transform_close(t2);
}

static void test_bad_key_and_crosswalk(void **state)
{
    transform_ctx *t2 = (transform_ctx *)1;
    tdi_source_config bad = src;
    char want[256];
    test_log tl;

    (void)state;
    assert_int_equal(chmod(key_path, 0644), 0);
    test_log_start(&tl);
    assert_int_equal(transform_open(&cfg, YEAR, TODAY, &t2), TDI_ERR_KEY);
    test_log_stop();
    assert_int_equal(chmod(key_path, 0600), 0);
    assert_null(t2);
    snprintf(want, sizeof want, "%s: permissions 0644 are too open; use chmod 600\n", key_path);
    assert_string_equal(tl.text, want);

    bad.crosswalk = (char *)"/nonexistent/x.cw";
    test_log_start(&tl);
    assert_int_equal(transform_begin_source(tx, &bad), TDI_ERR_CROSSWALK);
    test_log_stop();
    assert_string_equal(tl.text, "/nonexistent/x.cw: cannot open: No such file or directory\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_row, begin, end),
        cmocka_unit_test_setup_teardown(test_not_known_and_dates_in_crosswalk, begin, end),
        cmocka_unit_test_setup_teardown(test_centre_types, begin, end),
        cmocka_unit_test_setup_teardown(test_person_normalised, begin, end),
        cmocka_unit_test_setup_teardown(test_person_kinds, begin, end),
        cmocka_unit_test_setup_teardown(test_r020, begin, end),
        cmocka_unit_test_setup_teardown(test_r020_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r001, begin, end),
        cmocka_unit_test_setup_teardown(test_r001_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r002, begin, end),
        cmocka_unit_test_setup_teardown(test_r002_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_start_year, begin, end),
        cmocka_unit_test_setup_teardown(test_r004, begin, end),
        cmocka_unit_test_setup_teardown(test_r004_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r005, begin, end),
        cmocka_unit_test_setup_teardown(test_r005_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r006, begin, end),
        cmocka_unit_test_setup_teardown(test_values_echoed_only_as_codes, begin, end),
        cmocka_unit_test_setup_teardown(test_r019, begin, end),
        cmocka_unit_test_setup_teardown(test_r006_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r008, begin, end),
        cmocka_unit_test_setup_teardown(test_r008_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_required_columns_only, begin, end),
        cmocka_unit_test_setup_teardown(test_residential_attributes, begin, end),
        cmocka_unit_test_setup_teardown(test_age_groups, begin, end),
        cmocka_unit_test_setup_teardown(test_secondary_drugs, begin, end),
        cmocka_unit_test_setup_teardown(test_injecting_derived, begin, end),
        cmocka_unit_test_setup_teardown(test_ost_years, begin, end),
        cmocka_unit_test_setup_teardown(test_injection_years, begin, end),
        cmocka_unit_test_setup_teardown(test_r009, begin, end),
        cmocka_unit_test_setup_teardown(test_r009_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r010, begin, end),
        cmocka_unit_test_setup_teardown(test_r010_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r011, begin, end),
        cmocka_unit_test_setup_teardown(test_r011_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r012, begin, end),
        cmocka_unit_test_setup_teardown(test_r012_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r013, begin, end),
        cmocka_unit_test_setup_teardown(test_r013_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r014, begin, end),
        cmocka_unit_test_setup_teardown(test_r014_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r015, begin, end),
        cmocka_unit_test_setup_teardown(test_r015_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r016, begin, end),
        cmocka_unit_test_setup_teardown(test_r016_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_discharge_closed, begin, end),
        cmocka_unit_test_setup_teardown(test_discharge_no_column, begin, end),
        cmocka_unit_test_setup_teardown(test_continuing, begin, end),
        cmocka_unit_test_setup_teardown(test_r030, begin, end),
        cmocka_unit_test_setup_teardown(test_r030_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r031, begin, end),
        cmocka_unit_test_setup_teardown(test_r031_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r032, begin, end),
        cmocka_unit_test_setup_teardown(test_r032_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r033_r034, begin, end),
        cmocka_unit_test_setup_teardown(test_r033_r034_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r017, begin, end),
        cmocka_unit_test_setup_teardown(test_r017_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_r018, begin, end),
        cmocka_unit_test_setup_teardown(test_r018_not_triggered, begin, end),
        cmocka_unit_test_setup_teardown(test_person_state_key, begin, end),
        cmocka_unit_test_setup_teardown(test_episode_state_key, begin, end),
        cmocka_unit_test_setup_teardown(test_rule_order, begin, end),
        cmocka_unit_test_setup_teardown(test_r007_no_body, begin, end),
        cmocka_unit_test_setup_teardown(test_keygen, begin, end),
        cmocka_unit_test_setup_teardown(test_rejection_key, begin, end),
        cmocka_unit_test_setup_teardown(test_report, begin, end),
        cmocka_unit_test_setup_teardown(test_unmapped_bounded, begin, end),
        cmocka_unit_test_setup_teardown(test_before_begin_source, begin, end),
        cmocka_unit_test_setup_teardown(test_bad_key_and_crosswalk, begin, end),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
