/* Unit tests for `tdi load` (report_load, report/rpt_load) against the scripted libpq
 * (harness_pq): the receiver's schema created on first use, a file applied (its COPY, the
 * set-based statements, the file's row, the commit), the same file again, gaps, two files of one
 * sequence ordered by runNo (the later applied with an undo of the earlier; the earlier skipped;
 * a second file of one run refused), a late sequence, a runNo filled in for a file loaded before
 * receiver version 2, a 2.4 episode's discharge items and continuing flag in the COPY, a manifest's
 * hash that does not match, files not taken (a manifest of another file, not schema-valid, a key
 * twice, another year), a file without a manifest left out (not published), the schema refused
 * (newer, not installed, a migration failing) and a database error mid-file. Submissions are
 * written by the test (schema 2.3); the COPY rows expected are written out by hand. */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_hash.h"
#include "../../report/report.h"
#include "harness_pq.h"
#include "test_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNINFO "dbname=tdi_receiver_test"
#define A64      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY2     "e1:00000000000000000000000000000002"
#define KEY9     "e1:00000000000000000000000000000009"

/* Episode 2 of tests/fixtures/xml/valid.xml (no exact ages: schema 2.3) and a delete. */
#define EPISODE                                                                                    \
    "<episode key=\"" KEY2 "\" person=\"v1:" A64 "\" source=\"clinic_en\" centre=\"C01\" "         \
    "region=\"VL\" year=\"2025\" setting=\"residential_hospital\" centre_type=\"2\" "              \
    "residential_approach=\"not_known\" planned_duration=\"not_known\" "                           \
    "detox_phase=\"not_known\" sex=\"99\" age_band=\"99\" nationality=\"99\" "                     \
    "treatment_status=\"3\" referral_source=\"99\" living_with=\"99\" "                            \
    "living_with_children=\"99\" living_where=\"99\" education=\"99\" labour_status=\"99\" "       \
    "primary_drug=\"99\" route=\"99\" frequency=\"99\" first_use_age_band=\"99\" "                 \
    "secondary_drug_1=\"99\" secondary_drug_2=\"99\" secondary_drug_3=\"99\" "                     \
    "secondary_drug_4=\"99\" polydrug=\"99\" injecting=\"99\" needle_sharing=\"99\" "              \
    "hiv_testing=\"99\" hcv_testing=\"99\" ost=\"99\"/>\n"
#define DELETE "<delete key=\"" KEY9 "\"/>\n"

/* Their COPY rows (the file's line 4 and 5), columns in the staging table's order: key, person,
 * person_kind, source, centre, region, start_year (year), entrant, quarter, age, first_use_age,
 * setting, centre_type, residential_approach, planned_duration, detox_phase, sex, age_band,
 * nationality, treatment_status, referral_source, living_with, living_with_children, living_where,
 * education, labour_status, primary_drug, route, frequency, first_use_age_band, secondary_drug_1 to
 * 4, polydrug, injecting, years_since_first_injection, needle_sharing, hiv_testing, hcv_testing,
 * ost, years_since_first_ost, discharge_reason, aftercare, stay_band, continuing ("0" when left
 * out). */
#define N "\\x5cN" /* \N, a NULL, with the backslash as the harness renders it (harness_pq.h) */
#define EPISODE_ROW                                                                                \
    "4\tappend\t" KEY2 "\tv1:" A64 "\t" N "\tclinic_en\tC01\tVL\t2025\t" N "\t" N "\t" N "\t" N    \
    "\tresidential_hospital\t2\tnot_known\tnot_known\tnot_known\t99\t99\t99\t3\t99\t99\t99\t99\t"  \
    "99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t" N "\t99\t99\t99\t99\t" N "\t" N "\t" N      \
    "\t" N "\t0\n"
/* a delete: its key, the 45 other columns NULL */
#define N10        "\t" N "\t" N "\t" N "\t" N "\t" N "\t" N "\t" N "\t" N "\t" N "\t" N
#define DELETE_ROW "5\tdelete\t" KEY9 N10 N10 N10 N10 "\t" N "\t" N "\t" N "\t" N "\t" N "\n"

#define RUN1 "20261123T040000Z"
#define RUN2 "20261124T060000Z" /* the clock ran fast: later than RUN3 by runId */
#define RUN3 "20261124T040000Z"

/* ---- script pieces */
/* A statement answering r rows of n columns, its parameters checked. */
#define ROWS_P(m, p, n, r, ...)                                                                    \
    HPQ_SEND_P(m, p),                                                                              \
        HPQ_RESULT_ROWS(n, HPQ_STRINGS("a", "b", "c", "d"), r, HPQ_STRINGS(__VA_ARGS__)),          \
        HPQ_RESULT_NONE
#define NO_ROW_P(m, p)                                                                             \
    HPQ_SEND_P(m, p), HPQ_RESULT_ROWS(1, HPQ_STRINGS("v"), 0, NULL), HPQ_RESULT_NONE
#define COMMAND_P(m, p) HPQ_SEND_P(m, p), HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE
/* The schema at the version this tdi needs (3). */
#define BEGIN_LOCKED                                                                               \
    HPQ_COMMAND("BEGIN"), HPQ_VALUE("SELECT pg_advisory_xact_lock(7627881, 15)", "")
/* The schema at the version this tdi needs (3), looked for under the load lock. */
#define SCHEMA_CURRENT                                                                             \
    BEGIN_LOCKED, HPQ_VALUE("to_regclass('tdi_receiver.version')", "t"),                           \
        HPQ_VALUE("SELECT coalesce(max(version), 0) FROM tdi_receiver.version", "3"),              \
        HPQ_COMMAND("COMMIT")
/* The latest file of flanders 2025: none. */
#define LATEST_NONE                                                                                \
    HPQ_SEND_P("superseded_by IS NULL ORDER BY sequence DESC LIMIT 1", "flanders|2025"),           \
        HPQ_RESULT_ROWS(4, HPQ_STRINGS("a", "b", "c", "d"), 0, NULL), HPQ_RESULT_NONE
/* The staging table and the COPY of the file's two items. */
#define STAGED                                                                                     \
    HPQ_COMMAND("CREATE TEMP TABLE stage (pos bigint, action text, key text, person text, "        \
                "person_kind text, source text"),                                                  \
        HPQ_SEND("COPY pg_temp.stage (pos, action, key, person, person_kind, source, centre, "     \
                 "region, start_year, entrant,"),                                                  \
        HPQ_RESULT(PGRES_COPY_IN), HPQ_PUT(EPISODE_ROW DELETE_ROW), HPQ_PUT_END,                   \
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE
/* apply_stage on sequence seq: no repeated key, every episode of 2025, the old rows kept for an
 * undo, replaced, the new rows added. */
#define APPLIED(seq)                                                                               \
    NO_ROW_P("GROUP BY key HAVING count(*) > 1", ""),                                              \
        NO_ROW_P("continuing WHEN '1' THEN start_year::int >= $1", "2025"),                        \
        COMMAND_P("DELETE FROM tdi_receiver.undo WHERE body = $1 AND year = $2", "flanders|2025"), \
        COMMAND_P("INSERT INTO tdi_receiver.undo SELECT $1, $2::int, $3::bigint",                  \
                  "flanders|2025|" #seq),                                                          \
        COMMAND_P("DELETE FROM tdi_receiver.episode e USING pg_temp.stage s", "flanders|2025"),    \
        COMMAND_P("INSERT INTO tdi_receiver.episode (body, year, key, person, person_kind, "       \
                  "source, centre, region, start_year, entrant, quarter, age, first_use_age",      \
                  "flanders|2025")

typedef struct fixture {
    char dir[64];
    char out[8192]; /* what load printed */
} fixture;

static test_log logged;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-rpt-load-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    hpq_reset();
    test_log_start(&logged);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    test_log_stop();
    hpq_reset();
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* DIR/NAME.xml: a submission of flanders 2025 (schema 2.3) holding items, and its manifest (with
 * sha256 when given, else the file's). *sha: the file's SHA-256. */
static void put_file(const fixture *fx, const char *name, int seq, const char *run_id, int run_no,
                     const char *items, const char *sha256, char sha[TDI_SHA256_HEX])
{
    char text[8192], path[256], mf[256], json[512];

    snprintf(text, sizeof text,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.3\" body=\"flanders\" "
             "year=\"2025\" sequence=\"%d\" runId=\"%s\" runNo=\"%d\" "
             "generated=\"2026-11-23T04:00:00Z\" countingLevel=\"none\">\n"
             "<episodes>\n%s</episodes>\n</submission>\n",
             seq, run_id, run_no, items);
    snprintf(path, sizeof path, "%s/%s.xml", fx->dir, name);
    assert_int_equal(test_fs_write(path, text), 0);
    assert_int_equal(tdi_sha256_file(path, sha), TDI_OK);
    snprintf(json, sizeof json,
             "{\"sha256\":\"%s\",\"body\":\"flanders\",\"year\":2025,\"sequence\":%d,"
             "\"runId\":\"%s\",\"runNo\":%d}\n",
             sha256 ? sha256 : sha, seq, run_id, run_no);
    snprintf(mf, sizeof mf, "%s/%s.manifest.json", fx->dir, name);
    assert_int_equal(test_fs_write(mf, json), 0);
}

/* report_load on everything in the fixture's directory; what it printed in fx->out. */
static tdi_status load(fixture *fx, const char *schema_dir)
{
    char *args[1] = {fx->dir};
    FILE *out = tmpfile();
    tdi_status st;
    size_t n;

    assert_non_null(out);
    st = report_load(CONNINFO, args, 1, schema_dir, out);
    rewind(out);
    n = fread(fx->out, 1, sizeof fx->out - 1, out);
    fx->out[n] = '\0';
    fclose(out);
    return st;
}

/* First use: no schema tdi_receiver, so 001, 002 and 003 are applied, each in its own transaction
 * under the load lock; then sequence 1 is applied and recorded. */
static void first_use(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], p[256], file[256], expect[1024];

    put_file(fx, "f1", 1, RUN1, 1, EPISODE DELETE, NULL, sha);
    snprintf(p, sizeof p, "%s", sha);
    snprintf(file, sizeof file, "flanders|2025|1|" RUN1 "|f1.xml|%s|\\N|2.3|1|0|1|1", sha);
    hpq_script(
        /* 001: looked for only under the load lock (a second load waits for this one) */
        HPQ_CONNECT(CONNINFO), BEGIN_LOCKED, HPQ_VALUE("to_regclass('tdi_receiver.version')", "f"),
        HPQ_COMMAND("CREATE SCHEMA tdi_receiver;"),
        COMMAND_P("UPDATE tdi_receiver.version SET version = $1", "1"), HPQ_COMMAND("COMMIT"),
        /* 002 */
        BEGIN_LOCKED, HPQ_VALUE("to_regclass('tdi_receiver.version')", "t"),
        HPQ_VALUE("coalesce(max(version), 0)", "1"),
        HPQ_COMMAND("ALTER TABLE tdi_receiver.file ADD COLUMN run_no bigint;"),
        COMMAND_P("UPDATE tdi_receiver.version SET version = $1", "2"), HPQ_COMMAND("COMMIT"),
        /* 003 */
        BEGIN_LOCKED, HPQ_VALUE("to_regclass('tdi_receiver.version')", "t"),
        HPQ_VALUE("coalesce(max(version), 0)", "2"),
        HPQ_COMMAND("ALTER TABLE tdi_receiver.episode\n    ADD COLUMN discharge_reason text,"),
        COMMAND_P("UPDATE tdi_receiver.version SET version = $1", "3"), HPQ_COMMAND("COMMIT"),
        SCHEMA_CURRENT,
        /* no file loaded before version 2 names this one */
        NO_ROW_P("AND sequence = $3 AND run_id = $4 AND run_no IS NULL", "flanders|2025|1|" RUN1),
        /* sequence 1 */
        BEGIN_LOCKED, NO_ROW_P("SELECT 1 FROM tdi_receiver.file WHERE sha256 = $1", p), LATEST_NONE,
        STAGED, APPLIED(1),
        COMMAND_P("INSERT INTO tdi_receiver.file (body, year, sequence, run_id, file_name, "
                  "sha256, key_id, schema_version, appends, replaces, deletes, run_no)",
                  file),
        HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_OK);
    hpq_done();
    snprintf(expect, sizeof expect,
             "receiver database: created the schema tdi_receiver (%s/receiver/001-receiver.sql)\n"
             "receiver database: schema tdi_receiver now version 2 "
             "(%s/receiver/002-run-no.sql)\n"
             "receiver database: schema tdi_receiver now version 3 "
             "(%s/receiver/003-discharges.sql)\n",
             TDI_SCHEMA_DIR, TDI_SCHEMA_DIR, TDI_SCHEMA_DIR);
    assert_string_equal(logged.text, expect);
    snprintf(expect, sizeof expect,
             "flanders 2025 sequence 1 (run " RUN1 ", runNo 1): 1 appends, 0 replaces, 1 deletes "
             "<- %s/f1.xml\n",
             fx->dir);
    assert_string_equal(fx->out, expect);
}

/* The same file again: found by its SHA-256, rolled back, nothing applied. */
static void already_loaded(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], expect[512];

    put_file(fx, "f1", 1, RUN1, 1, EPISODE DELETE, NULL, sha);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT,
               NO_ROW_P("run_no IS NULL", "flanders|2025|1|" RUN1), BEGIN_LOCKED,
               HPQ_SEND_P("SELECT 1 FROM tdi_receiver.file WHERE sha256 = $1", sha),
               HPQ_RESULT_ROWS(1, HPQ_STRINGS("v"), 1, HPQ_STRINGS("1")), HPQ_RESULT_NONE,
               HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_OK);
    hpq_done();
    assert_string_equal(logged.text, "");
    snprintf(expect, sizeof expect,
             "flanders 2025 sequence 1 (run " RUN1 ", runNo 1): already loaded, nothing changed "
             "<- %s/f1.xml\n",
             fx->dir);
    assert_string_equal(fx->out, expect);
}

/* Sequence 3 when 1 is the latest loaded: refused, and 4 after it is not tried. */
static void gap_refused(void **state)
{
    fixture *fx = *state;
    char sha3[TDI_SHA256_HEX], sha4[TDI_SHA256_HEX], expect[1024];

    put_file(fx, "f3", 3, RUN3, 3, DELETE, NULL, sha3);
    put_file(fx, "f4", 4, "20261125T040000Z", 4, DELETE, NULL, sha4);
    hpq_script(
        HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
        NO_ROW_P("run_no IS NULL", NULL), BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha3),
        ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "1", RUN1, "1", "2.3"),
        HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/f3.xml: sequence 3 of flanders 2025 follows 1: sequence 2 is missing; nothing of "
             "flanders 2025 from here on is loaded\n"
             "%s/f4.xml: not loaded: an earlier file of flanders 2025 is missing or was not "
             "taken\n",
             fx->dir, fx->dir);
    assert_string_equal(logged.text, expect);
    assert_string_equal(fx->out, "");
}

/* Sequence 2 from run 2 (its clock fast) and again from run 3: ordered by runNo, run 2's file is
 * applied first, then run 3's in its place (run 2's undone and marked superseded). */
static void rerun_by_run_no(void **state)
{
    fixture *fx = *state;
    char fast[TDI_SHA256_HEX], rerun[TDI_SHA256_HEX], f_fast[256], f_rerun[256], expect[1024];

    put_file(fx, "f2-fast", 2, RUN2, 2, EPISODE DELETE, NULL, fast);
    put_file(fx, "f2-rerun", 2, RUN3, 3, EPISODE DELETE, NULL, rerun);
    snprintf(f_fast, sizeof f_fast, "flanders|2025|2|" RUN2 "|f2-fast.xml|%s|\\N|2.3|1|0|1|2",
             fast);
    snprintf(f_rerun, sizeof f_rerun, "flanders|2025|2|" RUN3 "|f2-rerun.xml|%s|\\N|2.3|1|0|1|3",
             rerun);
    hpq_script(
        HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", "flanders|2025|2|" RUN2),
        NO_ROW_P("run_no IS NULL", "flanders|2025|2|" RUN3),
        /* run 2's: sequence 1 is the latest */
        BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", fast),
        ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "1", RUN1, "1", "2.3"),
        STAGED, APPLIED(2), COMMAND_P("INSERT INTO tdi_receiver.file", f_fast),
        HPQ_COMMAND("COMMIT"),
        /* run 3's: run 2's file of sequence 2 is the latest */
        BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", rerun),
        ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "2", RUN2, "2", "2.3"),
        HPQ_COMMAND("CREATE TEMP TABLE stage"),
        COMMAND_P("DELETE FROM tdi_receiver.episode e USING tdi_receiver.undo u",
                  "flanders|2025|2"),
        COMMAND_P("INSERT INTO tdi_receiver.episode SELECT (u.old).* FROM tdi_receiver.undo u",
                  "flanders|2025|2"),
        COMMAND_P("UPDATE tdi_receiver.file SET superseded_by = $4", "flanders|2025|2|" RUN3),
        HPQ_SEND("COPY pg_temp.stage"), HPQ_RESULT(PGRES_COPY_IN), HPQ_PUT(EPISODE_ROW DELETE_ROW),
        HPQ_PUT_END, HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, APPLIED(2),
        COMMAND_P("INSERT INTO tdi_receiver.file", f_rerun), HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_OK);
    hpq_done();
    assert_string_equal(logged.text, "");
    snprintf(expect, sizeof expect,
             "flanders 2025 sequence 2 (run " RUN2 ", runNo 2): 1 appends, 0 replaces, 1 deletes "
             "<- %s/f2-fast.xml\n"
             "flanders 2025 sequence 2 (run " RUN3 ", runNo 3): 1 appends, 0 replaces, 1 deletes "
             "(in place of the earlier run " RUN2 ", runNo 2; ordered by runNo) <- "
             "%s/f2-rerun.xml\n",
             fx->dir, fx->dir);
    assert_string_equal(fx->out, expect);
}

/* A manifest whose SHA-256 is not the file's: refused before any transaction. */
static void hash_mismatch(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], expect[1024];
    const char *wrong = "00000000000000000000000000000000000000000000000000000000000000ff";

    put_file(fx, "f1", 1, RUN1, 1, EPISODE DELETE, wrong, sha);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/f1.xml: SHA-256 %s, the manifest says %s: the file was changed or damaged; not "
             "taken\n",
             fx->dir, sha, wrong);
    assert_string_equal(logged.text, expect);
    assert_string_equal(fx->out, "");
}

/* The server fails while the new rows are added: rolled back, TDI_ERR_STATE, nothing said on
 * out, and the files after it not tried. */
static void database_error_rolled_back(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], sha2[TDI_SHA256_HEX];

    put_file(fx, "f1", 1, RUN1, 1, EPISODE DELETE, NULL, sha);
    put_file(fx, "f2", 2, RUN2, 2, DELETE, NULL, sha2);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
               NO_ROW_P("run_no IS NULL", NULL), BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha),
               LATEST_NONE, STAGED, NO_ROW_P("GROUP BY key HAVING count(*) > 1", ""),
               NO_ROW_P("ELSE start_year::int <> $1 END", "2025"),
               HPQ_COMMAND("DELETE FROM tdi_receiver.undo"),
               HPQ_COMMAND("INSERT INTO tdi_receiver.undo"),
               HPQ_COMMAND("DELETE FROM tdi_receiver.episode e USING pg_temp.stage s"),
               HPQ_FAILS("INSERT INTO tdi_receiver.episode (body", "23502",
                         "null value in column \"setting\" violates not-null constraint"),
               HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_STATE);
    hpq_done();
    assert_string_equal(logged.text,
                        "receiver database: adding the new rows failed: null value in column "
                        "\"setting\" violates not-null constraint (SQLSTATE 23502)\n");
    assert_string_equal(fx->out, "");
}

/* Run 2's file of sequence 2 after run 3's was loaded: skipped (ordered by runNo); a second file
 * of sequence 2 from run 3 that is not the loaded one: refused. */
static void superseded_and_same_run(void **state)
{
    fixture *fx = *state;
    char fast[TDI_SHA256_HEX], same[TDI_SHA256_HEX], expect[1024];

    put_file(fx, "f2-fast", 2, RUN2, 2, DELETE, NULL, fast);
    put_file(fx, "f2-same", 2, RUN3, 3, EPISODE, NULL, same);
    hpq_script(
        HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
        NO_ROW_P("run_no IS NULL", NULL), BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", fast),
        ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "2", RUN3, "3", "2.3"),
        HPQ_COMMAND("ROLLBACK"), BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", same),
        ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "2", RUN3, "3", "2.3"),
        HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "flanders 2025 sequence 2 (run " RUN2 ", runNo 2): superseded by the later run " RUN3
             ", runNo 3 (ordered by runNo), skipped <- %s/f2-fast.xml\n",
             fx->dir);
    assert_string_equal(fx->out, expect);
    snprintf(expect, sizeof expect,
             "%s/f2-same.xml: sequence 2 of flanders 2025 (run " RUN3 ", runNo 3) differs from "
             "the loaded file of the same run (run " RUN3 ", runNo 3): one run writes one file of "
             "a sequence; refused\n",
             fx->dir);
    assert_string_equal(logged.text, expect);
}

/* Sequence 3 is the latest loaded. Sequence 1 from run 1, where run 4's is loaded: skipped;
 * sequence 2 from run 5 where no file of 2 is current: refused as late. */
static void earlier_sequences(void **state)
{
    fixture *fx = *state;
    char sha1[TDI_SHA256_HEX], sha2[TDI_SHA256_HEX], expect[1024];

    put_file(fx, "f1", 1, RUN1, 1, DELETE, NULL, sha1);
    put_file(fx, "f2", 2, "20261130T040000Z", 5, DELETE, NULL, sha2);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
               NO_ROW_P("run_no IS NULL", NULL), BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha1),
               ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "3",
                      "20261126T040000Z", "6", "2.3"),
               ROWS_P("AND sequence = $3 AND superseded_by IS NULL", "flanders|2025|1", 4, 1, "1",
                      "20261127T040000Z", "4", "2.3"),
               HPQ_COMMAND("ROLLBACK"), BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha2),
               ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "3",
                      "20261126T040000Z", "6", "2.3"),
               HPQ_SEND_P("AND sequence = $3 AND superseded_by IS NULL", "flanders|2025|2"),
               HPQ_RESULT_ROWS(4, HPQ_STRINGS("a", "b", "c", "d"), 0, NULL), HPQ_RESULT_NONE,
               HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "flanders 2025 sequence 1 (run " RUN1 ", runNo 1): superseded by the later run "
             "20261127T040000Z, runNo 4 (ordered by runNo), skipped <- %s/f1.xml\n",
             fx->dir);
    assert_string_equal(fx->out, expect);
    snprintf(expect, sizeof expect,
             "%s/f2.xml: sequence 2 of flanders 2025 (run 20261130T040000Z, runNo 5) comes after "
             "sequence 3 was loaded and is not superseded by a loaded file: refused (reload the "
             "year from its first file)\n",
             fx->dir);
    assert_string_equal(logged.text, expect);
}

/* A file loaded before tdi_receiver version 2 (no run_no recorded) named again: its runNo is
 * filled in, then it is found loaded. A file of its sequence from a later run is then ordered by
 * runId against a loaded file whose runNo is still unknown. */
static void run_no_filled_in(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], sha2[TDI_SHA256_HEX], p[256], expect[1024];

    put_file(fx, "f1", 1, RUN1, 1, DELETE, NULL, sha);
    put_file(fx, "f2", 2, RUN3, 3, DELETE, NULL, sha2);
    snprintf(p, sizeof p, "flanders|2025|1|" RUN1 "|1|%s", sha);
    hpq_script(
        HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT,
        ROWS_P("run_no IS NULL", "flanders|2025|1|" RUN1, 1, 1, sha),
        COMMAND_P("UPDATE tdi_receiver.file SET run_no = $5", p),
        NO_ROW_P("run_no IS NULL", "flanders|2025|2|" RUN3), BEGIN_LOCKED,
        HPQ_SEND_P("WHERE sha256 = $1", sha),
        HPQ_RESULT_ROWS(1, HPQ_STRINGS("v"), 1, HPQ_STRINGS("1")), HPQ_RESULT_NONE,
        HPQ_COMMAND("ROLLBACK"), BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha2),
        ROWS_P("ORDER BY sequence DESC LIMIT 1", "flanders|2025", 4, 1, "2", RUN2, HPQ_NULL, "2.3"),
        HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_OK);
    hpq_done();
    assert_string_equal(logged.text, "");
    snprintf(expect, sizeof expect,
             "flanders 2025 sequence 1 (run " RUN1 ", runNo 1): already loaded, nothing changed "
             "<- %s/f1.xml\n"
             "flanders 2025 sequence 2 (run " RUN3 ", runNo 3): superseded by the later run " RUN2
             ", no runNo (ordered by runId: the loaded file's runNo is not recorded (loaded before "
             "tdi_receiver version 2; name it again to fill it in)), skipped <- %s/f2.xml\n",
             fx->dir, fx->dir);
    assert_string_equal(fx->out, expect);
}

/* Sequence 2 with nothing loaded, and a manifest without its submission. */
static void gap_from_nothing_and_orphan(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], sha3[TDI_SHA256_HEX], path[256], expect[1024];

    put_file(fx, "f2", 2, RUN2, 2, DELETE, NULL, sha);
    put_file(fx, "f3", 3, RUN3, 3, DELETE, NULL, sha3);
    snprintf(path, sizeof path, "%s/f3.xml", fx->dir);
    assert_int_equal(remove(path), 0);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
               BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha), LATEST_NONE,
               HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/f3.manifest.json: a manifest without its submission\n"
             "%s/f2.xml: sequence 2 of flanders 2025, but nothing of it is loaded: sequence 1 is "
             "missing; nothing of flanders 2025 from here on is loaded\n",
             fx->dir, fx->dir);
    assert_string_equal(logged.text, expect);
    assert_string_equal(fx->out, "");
}

/* The receiver's schema: newer than this tdi; its files not installed; a migration the server
 * refuses (rolled back). Each is TDI_ERR_STATE and nothing is loaded. */
static void schema_refusals(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], expect[1024];

    put_file(fx, "f1", 1, RUN1, 1, DELETE, NULL, sha);
    hpq_script(HPQ_CONNECT(CONNINFO), BEGIN_LOCKED, HPQ_VALUE("to_regclass", "t"),
               HPQ_VALUE("coalesce(max(version), 0)", "4"), HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_STATE);
    hpq_done();
    assert_string_equal(logged.text, "receiver database: schema tdi_receiver version 4 is newer "
                                     "than this tdi knows (3): use a newer tdi\n");
    logged.text[0] = '\0';
    hpq_script(HPQ_CONNECT(CONNINFO), BEGIN_LOCKED, HPQ_VALUE("to_regclass", "f"),
               HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, fx->dir), TDI_ERR_STATE);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/receiver: no 001-*.sql: the receiver's schema files are not all installed\n",
             fx->dir);
    assert_string_equal(logged.text, expect);
    logged.text[0] = '\0';
    hpq_script(HPQ_CONNECT(CONNINFO), BEGIN_LOCKED, HPQ_VALUE("to_regclass", "f"),
               HPQ_FAILS("CREATE SCHEMA tdi_receiver;", "42501",
                         "permission denied for database tdi_receiver_test"),
               HPQ_COMMAND("ROLLBACK"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_STATE);
    hpq_done();
    assert_string_equal(logged.text,
                        "receiver database: updating the schema tdi_receiver failed: permission "
                        "denied for database tdi_receiver_test (SQLSTATE 42501)\n");
    assert_string_equal(fx->out, "");
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

/* Files not taken: a key twice and an episode of 2024 (the server finds them in the staging
 * table; rolled back); a file not valid against its schema, one whose manifest names another
 * sequence (refused before any transaction); one without a manifest is not published: left out. */
static void staged_refusals(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], items[4096], path[256], expect[1024];

    put_file(fx, "f1", 1, RUN1, 1, EPISODE EPISODE, NULL, sha);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
               BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha), LATEST_NONE,
               HPQ_COMMAND("CREATE TEMP TABLE stage"), HPQ_SEND("COPY pg_temp.stage"),
               HPQ_RESULT(PGRES_COPY_IN), HPQ_PUT("\n5\tappend\t" KEY2 "\tv1:"), HPQ_PUT_END,
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               ROWS_P("GROUP BY key HAVING count(*) > 1", "", 1, 1, "4"), HPQ_COMMAND("ROLLBACK"),
               HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/f1.xml:4: a key that appears twice in the file; not taken\n", fx->dir);
    assert_string_equal(logged.text, expect);

    /* a delete before an episode: not valid against the schema, refused before any
     * transaction */
    logged.text[0] = '\0';
    put_file(fx, "f1", 1, RUN1, 1, DELETE EPISODE, NULL, sha);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/f1.xml:5: Element '{urn:tdi:submission:2}episode': This element is not "
             "expected. Expected is ( {urn:tdi:submission:2}delete ).\n"
             "%s/f1.xml: not valid against its schema; not taken\n",
             fx->dir, fx->dir);
    assert_string_equal(logged.text, expect);

    logged.text[0] = '\0';
    snprintf(items, sizeof items, "%s", EPISODE DELETE);
    replace(items, sizeof items, "year=\"2025\"", "year=\"2024\"");
    put_file(fx, "f1", 1, RUN1, 1, items, NULL, sha);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
               BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha), LATEST_NONE,
               HPQ_COMMAND("CREATE TEMP TABLE stage"), HPQ_SEND("COPY pg_temp.stage"),
               HPQ_RESULT(PGRES_COPY_IN), HPQ_PUT("\tVL\t2024\t"), HPQ_PUT_END,
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               NO_ROW_P("GROUP BY key HAVING count(*) > 1", ""),
               ROWS_P("ELSE start_year::int <> $1 END", "2025", 1, 1, "4"), HPQ_COMMAND("ROLLBACK"),
               HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/f1.xml:4: an episode of another year than the file's, or a continuing one not "
             "of an earlier year; not taken\n",
             fx->dir);
    assert_string_equal(logged.text, expect);
    assert_string_equal(fx->out, "");

    /* no manifest: not published (a killed run's file), left out with a warning; then one
     * naming another sequence: refused before any transaction */
    logged.text[0] = '\0';
    snprintf(path, sizeof path, "%s/f1.manifest.json", fx->dir);
    assert_int_equal(remove(path), 0);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_OK);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s/f1.xml: no manifest, so not published (its run is publishing it or was "
             "interrupted): skipped\n",
             fx->dir);
    assert_string_equal(logged.text, expect);
    logged.text[0] = '\0';
    assert_int_equal(test_fs_write(path, "{\"sha256\":\"00\",\"body\":\"flanders\",\"year\":2025,"
                                         "\"sequence\":7,\"runId\":\"" RUN1 "\",\"runNo\":1}\n"),
                     0);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    hpq_done();
    snprintf(expect, sizeof expect,
             "%s: the manifest is malformed or names another file (body, year, sequence, runId, "
             "runNo)\n",
             path);
    assert_string_equal(logged.text, expect);
}

/* Schema 2.4's items: a continuing client of 2024 discharged in the year, its discharge items
 * and continuing="1" in their staging columns (their COPY row in full); the file is applied. */
static void discharge_items(void **state)
{
    fixture *fx = *state;
    char sha[TDI_SHA256_HEX], items[4096], file[256];

    snprintf(items, sizeof items, "%s", EPISODE);
    replace(items, sizeof items, " year=\"2025\"",
            " year=\"2024\" entrant=\"0\" continuing=\"1\" stay_band=\"29-90\" "
            "discharge_reason=\"referred_on\" aftercare=\"housing\"");
    put_file(fx, "f1", 1, RUN1, 1, items, NULL, sha);
    snprintf(file, sizeof file, "flanders|2025|1|" RUN1 "|f1.xml|%s|\\N|2.3|1|0|0|1", sha);
    hpq_script(HPQ_CONNECT(CONNINFO), SCHEMA_CURRENT, NO_ROW_P("run_no IS NULL", NULL),
               BEGIN_LOCKED, NO_ROW_P("WHERE sha256 = $1", sha), LATEST_NONE,
               HPQ_COMMAND("CREATE TEMP TABLE stage"), HPQ_SEND("COPY pg_temp.stage"),
               HPQ_RESULT(PGRES_COPY_IN),
               HPQ_PUT("4\tappend\t" KEY2 "\tv1:" A64 "\t" N "\tclinic_en\tC01\tVL\t2024\t0\t" N
                       "\t" N "\t" N "\tresidential_hospital\t2\tnot_known\tnot_known\tnot_known\t"
                       "99\t99\t99\t3\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t99\t"
                       "99\t" N "\t99\t99\t99\t99\t" N "\treferred_on\thousing\t29-90\t1\n"),
               HPQ_PUT_END, HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, APPLIED(1),
               COMMAND_P("INSERT INTO tdi_receiver.file", file), HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    assert_int_equal(load(fx, TDI_SCHEMA_DIR), TDI_OK);
    hpq_done();
    assert_string_equal(logged.text, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_use, setup, teardown),
        cmocka_unit_test_setup_teardown(already_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(gap_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rerun_by_run_no, setup, teardown),
        cmocka_unit_test_setup_teardown(hash_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(database_error_rolled_back, setup, teardown),
        cmocka_unit_test_setup_teardown(superseded_and_same_run, setup, teardown),
        cmocka_unit_test_setup_teardown(earlier_sequences, setup, teardown),
        cmocka_unit_test_setup_teardown(run_no_filled_in, setup, teardown),
        cmocka_unit_test_setup_teardown(gap_from_nothing_and_orphan, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(staged_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(discharge_items, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
