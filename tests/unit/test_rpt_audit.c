/* Unit tests for `tdi audit` (report_audit, report/rpt_audit): a series built from the valid
 * fixture, with manifests: clean (a killed run and its rerun, ordered by runNo: only an info
 * line), one runNo twice in a sequence, a gap, a tampered file, a file without its manifest
 * (left out: not published; the gap it leaves is found), a repeated key, a replace of a key never
 * appended, and a broken cross-field rule; each with file and line; a manifest's counts that are
 * not the file's.
 * Schema 2.4's rules (discharge items, continuing clients), each broken once and kept.
 */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_hash.h"
#include "../../report/report.h"
#include "test_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TDI_FIXTURE_DIR
#define TDI_FIXTURE_DIR TDI_SCHEMA_DIR "/../tests/fixtures/xml"
#endif
#define EP1 "<episode key=\"e1:00000000000000000000000000000001\""

typedef struct fixture {
    char dir[64];
    char out[16384]; /* what audit printed */
    test_log log;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-rpt-audit-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    test_log_start(&fx->log);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    test_log_stop();
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* Replaces the first "from" in s (size len) by "to". */
static void replace(char *s, size_t len, const char *from, const char *to)
{
    char *p = strstr(s, from);
    size_t a = strlen(from), b = strlen(to);

    assert_non_null(p);
    assert_true(strlen(s) - a + b < len);
    memmove(p + b, p + a, strlen(p + a) + 1);
    memcpy(p, to, b);
}

/* DIR/NAME.xml from the valid fixture with the given sequence, run and episodes' tail edit (a
 * replacement of the first episode's start, NULL: none), and its manifest (manifest 0: none). */
static void put_file(const fixture *fx, const char *name, int seq, const char *run_id, int run_no,
                     const char *from, const char *ep1, int manifest)
{
    char text[16384], head[256], path[256], mf[256], sha[TDI_SHA256_HEX], json[512];
    FILE *fp = fopen(TDI_FIXTURE_DIR "/valid.xml", "r");
    size_t n;

    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    snprintf(head, sizeof head, "sequence=\"%d\" runId=\"%s\" runNo=\"%d\"", seq, run_id, run_no);
    replace(text, sizeof text, "sequence=\"1\" runId=\"20261123T040000Z\"", head);
    /* schema 2.3 (runNo): no exact ages from 2.2 */
    replace(text, sizeof text, "schemaVersion=\"2.0\"", "schemaVersion=\"2.3\"");
    replace(text, sizeof text, " age=\"34\" first_use_age=\"17\"", "");
    replace(text, sizeof text, " age=\"19\"", "");
    if (ep1)
        replace(text, sizeof text, from ? from : EP1, ep1);
    snprintf(path, sizeof path, "%s/%s.xml", fx->dir, name);
    assert_int_equal(test_fs_write(path, text), 0);
    if (!manifest)
        return;
    assert_int_equal(tdi_sha256_file(path, sha), TDI_OK);
    snprintf(json, sizeof json,
             "{\"sha256\":\"%s\",\"body\":\"flanders\",\"year\":2025,\"sequence\":%d,"
             "\"runId\":\"%s\",\"runNo\":%d}\n",
             sha, seq, run_id, run_no);
    snprintf(mf, sizeof mf, "%s/%s.manifest.json", fx->dir, name);
    assert_int_equal(test_fs_write(mf, json), 0);
}

static tdi_status audit(fixture *fx, unsigned long *findings)
{
    char *args[1] = {fx->dir};
    FILE *out = tmpfile();
    tdi_status st;
    size_t n;

    assert_non_null(out);
    st = report_audit(args, 1, TDI_SCHEMA_DIR, out, findings);
    rewind(out);
    n = fread(fx->out, 1, sizeof fx->out - 1, out);
    fx->out[n] = '\0';
    fclose(out);
    if (getenv("AUDIT_DEBUG"))
        fputs(fx->out, stderr);
    return st;
}

/* A line of the output that starts with DIR/NAME.xml:LINE: and contains text. */
static int has(const fixture *fx, const char *name, int line, const char *text)
{
    char start[256];
    const char *p = fx->out;

    snprintf(start, sizeof start, "%s/%s.xml:%d: ", fx->dir, name, line);
    for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)len, p);
        if (strncmp(buf, start, strlen(start)) == 0 && strstr(buf, text))
            return 1;
    }
    return 0;
}

/* Run 2 (clock fast) published sequence 2 and died; run 3 published it again: runNo orders
 * them. The series is clean; only the info line says that runId disagrees. */
static void clean_rerun(void **state)
{
    fixture *fx = *state;
    unsigned long findings = 99;

    put_file(fx, "a1", 1, "20261123T040000Z", 1, NULL, NULL, 1);
    put_file(fx, "a2-fast", 2, "20261124T060000Z", 2, NULL, NULL, 1);
    put_file(fx, "a2-rerun", 2, "20261124T040000Z", 3, NULL, NULL, 1);
    put_file(fx, "a3", 3, "20261125T040000Z", 4, NULL, NULL, 1);
    assert_int_equal(audit(fx, &findings), TDI_OK);
    assert_int_equal(findings, 0);
    assert_true(has(fx, "a2-rerun", 2,
                    "info: run 20261124T040000Z, runNo 3 of sequence 2 is later than run "
                    "20261124T060000Z, runNo 2 of sequence 2 by runNo, earlier by runId"));
    assert_null(strstr(fx->out, "order:"));
    assert_int_equal(strchr(fx->out, '\n') - fx->out + 1, (long)strlen(fx->out)); /* one line */
}

static void faults(void **state)
{
    fixture *fx = *state;
    unsigned long findings = 0;
    char path[256], expect[512];

    put_file(fx, "b1", 1, "20261123T040000Z", 1, NULL, NULL, 1);
    /* sequence 2 twice from runNo 2 */
    put_file(fx, "b2", 2, "20261124T040000Z", 2, NULL, NULL, 1);
    put_file(fx, "b2-same", 2, "20261124T050000Z", 2, NULL, NULL, 1);
    /* sequence 3 missing: only a file without its manifest (a killed run's: not published,
     * left out with a warning, the gap stays one); 4 replaces a key never appended */
    put_file(fx, "b3", 3, "20261125T040000Z", 3, NULL, NULL, 0);
    put_file(fx, "b4", 4, "20261126T040000Z", 4, NULL,
             "<episode action=\"replace\" key=\"e1:000000000000000000000000000000ff\"", 1);
    /* 5: tampered after its manifest */
    put_file(fx, "b5", 5, "20261127T040000Z", 5, NULL, NULL, 1);
    snprintf(path, sizeof path, "%s/b5.xml", fx->dir);
    {
        FILE *fp = fopen(path, "a");
        assert_non_null(fp);
        fputs("<!-- changed -->\n", fp);
        fclose(fp);
    }
    put_file(fx, "b6", 6, "20261128T040000Z", 6,
             " injecting=\"2.3\" years_since_first_injection=\"3\"", " injecting=\"1\"", 1);
    assert_int_equal(audit(fx, &findings), TDI_ERR_INVALID);
    /* one runNo: sorted by path, b2-same.xml first */
    assert_true(has(fx, "b2", 2, "sequence: sequence 2 of run 20261124T040000Z, runNo 2 twice"));
    assert_true(has(fx, "b4", 2, "sequence: sequence 4 follows 2: 3 to 3 missing"));
    assert_true(has(fx, "b4", 4, "unknown-key: replace of a key the body does not hold"));
    assert_true(has(fx, "b5", 1, "manifest: SHA-256"));
    assert_true(has(fx, "b6", 4, "R012: route inject for a person who never injected"));
    assert_int_equal(findings, 5);
    snprintf(expect, sizeof expect,
             "%s/b3.xml: no manifest, so not published (its run is publishing it or was "
             "interrupted): skipped\n",
             fx->dir);
    assert_string_equal(fx->log.text, expect);
}

/* A file of a later sequence from an earlier run: an order finding. */
static void order_finding(void **state)
{
    fixture *fx = *state;
    unsigned long findings = 0;

    put_file(fx, "c1", 1, "20261123T040000Z", 5, NULL, NULL, 1);
    put_file(fx, "c2", 2, "20261124T040000Z", 4, NULL, NULL, 1);
    assert_int_equal(audit(fx, &findings), TDI_ERR_INVALID);
    assert_int_equal(findings, 1);
    assert_true(has(fx, "c2", 2,
                    "order: run 20261124T040000Z, runNo 4 of sequence 2 is not later than run "
                    "20261123T040000Z, runNo 5 of sequence 1"));
}

/* Adds the counts (records, appends, replaces, deletes) to DIR/NAME.manifest.json. */
static void put_counts(const fixture *fx, const char *name, const char *counts)
{
    char mf[256], json[1024];
    size_t n;

    snprintf(mf, sizeof mf, "%s/%s.manifest.json", fx->dir, name);
    n = test_fs_read(mf, json, sizeof json - 1);
    assert_true(n != (size_t)-1);
    json[n] = '\0';
    replace(json, sizeof json, "}\n", counts);
    assert_int_equal(test_fs_write(mf, json), 0);
}

/* A manifest's counts are compared with the file's: e1 (3 appends) states them right; e2 (1
 * replace, 2 appends, no delete) states its replaces right and the rest wrong. */
static void manifest_counts(void **state)
{
    fixture *fx = *state;
    unsigned long findings = 0;
    char expect[1024];

    put_file(fx, "e1", 1, "20261123T040000Z", 1, NULL, NULL, 1);
    put_counts(fx, "e1", ",\"records\":3,\"appends\":3,\"replaces\":0,\"deletes\":0}\n");
    put_file(fx, "e2", 2, "20261124T040000Z", 2, NULL,
             "<episode action=\"replace\" key=\"e1:00000000000000000000000000000001\"", 1);
    put_counts(fx, "e2", ",\"records\":999999,\"appends\":5,\"replaces\":1,\"deletes\":9}\n");
    assert_int_equal(audit(fx, &findings), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s/e2.manifest.json:1: manifest: records 999999, the file has 3\n"
             "%s/e2.manifest.json:1: manifest: appends 5, the file has 2\n"
             "%s/e2.manifest.json:1: manifest: deletes 9, the file has 0\n",
             fx->dir, fx->dir, fx->dir);
    assert_string_equal(fx->out, expect);
    assert_int_equal(findings, 3);
}

/* Episode 2 of the valid fixture but its key and year: required attributes only. */
#define EP(k, year, more)                                                                          \
    "<episode key=\"e1:000000000000000000000000000000" k "\" person=\"v1:"                         \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" source=\"clinic_en\" "     \
    "centre=\"C01\" region=\"VL\" year=\"" year "\"" more " setting=\"outpatient\" "               \
    "centre_type=\"1\" sex=\"99\" age_band=\"99\" nationality=\"99\" treatment_status=\"3\" "      \
    "referral_source=\"99\" living_with=\"99\" living_with_children=\"99\" living_where=\"99\" "   \
    "education=\"99\" labour_status=\"99\" primary_drug=\"99\" route=\"99\" frequency=\"99\" "     \
    "first_use_age_band=\"99\" secondary_drug_1=\"99\" secondary_drug_2=\"99\" "                   \
    "secondary_drug_3=\"99\" secondary_drug_4=\"99\" polydrug=\"99\" injecting=\"99\" "            \
    "needle_sharing=\"99\" hiv_testing=\"99\" hcv_testing=\"99\" ost=\"99\"/>\n"

/* Schema 2.4's rules: discharge items on an episode not closed (lines 4-7), continuing clients
 * counted or not of an earlier year (8-10); lines 11-14 keep them; the fixture's own from 15. */
static void discharge_rules(void **state)
{
    static const char *const eps[] = {
        EP("10", "2025", " stay_band=\"open\" discharge_reason=\"completed\""),
        EP("11", "2025", " aftercare=\"none\""),
        EP("12", "2025", " discharge_reason=\"died\""),
        EP("13", "2025", " stay_band=\"open\" aftercare=\"housing\""),
        EP("14", "2024", " entrant=\"1\" continuing=\"1\""),
        EP("15", "2025", " entrant=\"0\" continuing=\"1\""),
        EP("16", "2026", " entrant=\"0\" continuing=\"1\""),
        EP("17", "2025", " stay_band=\"366+\" discharge_reason=\"other\" aftercare=\"none\""),
        EP("18", "2025", " stay_band=\"not_known\" discharge_reason=\"not_known\""),
        EP("19", "2024", " entrant=\"0\" continuing=\"1\" stay_band=\"open\""),
        EP("1a", "2025", " stay_band=\"open\""),
    };
    static const char *const want[] = {
        "R033: a discharge reason for an episode without an end date (stay band open or left out)",
        "R034: aftercare for an episode without an end date (stay band open or left out)",
        "R033: a discharge reason",
        "R034: aftercare",
        "continuing-entrant: a continuing client that is not entrant 0",
        "continuing-year: a continuing client not of a year before the file's",
        "continuing-year:",
    };
    fixture *fx = *state;
    unsigned long findings = 0;
    char items[12288] = "";

    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++)
        strcat(items, eps[i]);
    strcat(items, EP1);
    put_file(fx, "d1", 1, "20261123T040000Z", 1, NULL, items, 1);
    assert_int_equal(audit(fx, &findings), TDI_ERR_INVALID);
    for (int i = 0; i < (int)(sizeof want / sizeof want[0]); i++)
        assert_true(has(fx, "d1", 4 + i, want[i]));
    assert_int_equal(findings, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(clean_rerun, setup, teardown),
        cmocka_unit_test_setup_teardown(faults, setup, teardown),
        cmocka_unit_test_setup_teardown(order_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(manifest_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(discharge_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
