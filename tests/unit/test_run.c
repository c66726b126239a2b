/* Unit tests for run/ (run_main()) against the scripted libpq (harness_pq): tiny runs with one
 * clinic source and one body, the state database and the clinic both scripted: a full read, two
 * nights of an incremental source, a source that cannot be reached, the lock held, a closed
 * year. The run's files are written for real in a temporary directory. */
#include "test_run.h"

#include "test_copy.h"

#include "../../common/tdi_text.h"
#include "../../transform/transform.h"

static char row1[1024], row2[1024];

static int setup_with(const char *top, const char *source_extra)
{
    char sources[1024], cwd[256];

    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(sources, sizeof sources,
             "[source riverside]\nconninfo = " CLINIC_CONN "\nquery = SELECT * FROM tdi_episodes\n"
             "crosswalk = %s/examples/crosswalks/en.cw\nregion = BE211\n%s\n",
             cwd, source_extra);
    return fixture_open(top, sources);
}

static int setup(void **state)
{
    (void)state;
    return setup_with("", "");
}

static int setup_retry(void **state)
{
    (void)state;
    return setup_with("retry_delay = 0\n", "");
}

static int setup_incremental(void **state)
{
    (void)state;
    return setup_with("", "incremental = changed_at\n");
}

/* After the read of tiny_run's one episode: its merge, the delta, the file, its tables, the
 * commit (wb: the ledger's workbook line). */
#define TINY_RUN_REST(wb)                                                                          \
    /* the delta */                                                                                \
    HPQ_PUT(REC_START(00, 00, 00)), COPY_IN_END, HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL), \
        ACTIONS(1, "0", "a", "1"), /* the re-identification check */                               \
        HPQ_NO_ROW("FROM tdi.body_blanking"),                                                      \
        REID_FIRST("1", "1", "1", "0", "1", "1", "1", "1", "0", "1"), /* the body's file */        \
        HPQ_NO_ROW("FROM tdi.publishing"), HPQ_COMMAND("INSERT INTO tdi.publishing"),              \
        HPQ_VALUE("FROM tdi.body_sequence", "1"), COPY_OUT("action IN ('a', 'r')"),                \
        HPQ_COPY_ROW("0\ta\tt\tf\n"), HPQ_COPY_DONE, COPY_OUT("action = 'd'"), HPQ_COPY_DONE,      \
        HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"), REID_KEEP,                        \
        HPQ_SEND_P("INSERT INTO tdi.sent", "0|national|2025|1"), HPQ_RESULT(PGRES_COMMAND_OK),     \
        HPQ_RESULT_NONE, /* its sequence, while the file is read back */                           \
        HPQ_SEND_P("INSERT INTO tdi.body_sequence", "national|2025|1|5"),                          \
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, /* its tables */                            \
        COPY_OUT("FROM run_rank"), HPQ_COPY_ROW("0\th\tt\tf\tt\n"),                                \
        HPQ_COPY_DONE, /* the commit */                                                            \
        HPQ_COMMAND("INSERT INTO tdi.body_blanking"),                                              \
        HPQ_SEND_P("UPDATE tdi.body_sequence SET tables_sequence", "national|2025"),               \
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("UPDATE tdi.publishing"),       \
        HPQ_COMMAND("INSERT INTO tdi.run_file"), HPQ_COMMAND("INSERT INTO tdi.run_file"),          \
        {.fn = HPQ_FN_SEND, .match = "INSERT INTO tdi.run_file", .ret = 1, .capture = wb, HPQ_AT}, \
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("INSERT INTO tdi.run_body"),    \
        HPQ_COMMAND("INSERT INTO tdi.run_source"), HPQ_COMMAND("INSERT INTO tdi.source_state"),    \
        HPQ_COMMAND("INSERT INTO tdi.route"),                                                      \
        HPQ_SEND_P("UPDATE tdi.run SET ended_at", "5|ok|0|\\N"), HPQ_RESULT(PGRES_COMMAND_OK),     \
        HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT")

/* A full read of one episode, sent to the body as an append with its tables; the ledger. */
static void tiny_run(void **state)
{
    char wb[HPQ_CAPTURE_MAX];

    (void)state;
    /* the clinic, read on the run's thread (its lane: the records go to the state database on
     * the spool stage's thread, in no fixed order against the clinic's calls) */
    hpq_lane(CLINIC_CONN, CLINIC_OPEN(CLINIC_CONN), COPY_OUT("COPY (SELECT"),
             HPQ_COPY_ROW(episode(row1, sizeof row1, "1", "M", NULL)), HPQ_COPY_DONE,
             HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"),
               /* its records into the state database from the first as it is read */
               COPY_IN("COPY tdi.run_rec"), TINY_RUN_REST(wb));
    assert_int_equal(run(), TDI_OK);
    /* the workbook in the ledger: 5|PATH|workbook|national|\N|NUMBERS|0|0|SHA256 */
    assert_non_null(strstr(wb, ".workbook.xlsx|workbook|national|\\N|"));
    assert_non_null(strstr(fx.out, "source riverside: extracted 1, written 1, quarantined 0\n"));
    assert_non_null(strstr(fx.out, "body national: 1 records, 0 replaces, 0 deletes, sequence 1"));
    /* one record, fewer entrants than the threshold: every cell but the exempt grand totals is
     * suppressed, zeros too (dc_protect.h): 488 by the sum rule, then 11088 more (until
     * 2026-12-07 11587: the all-entrants grand totals, the header's entrants, could be
     * suppressed, and 25.1.1-25.1.5's could not) */
    assert_non_null(strstr(fx.out, "tables national: 81 tables, 11576 cells suppressed (11088 of "
                                   "them added by the audit) -> "));
    assert_non_null(strstr(fx.out, "balance: extracted 1 = written 1 + quarantined 0\n"));
    finish();
}

/* The clinic's connection breaks after the first record was read: it was still in the hand-off
 * to the spool stage, so none of the attempt reaches run_rec; the retry's record goes in at
 * position 0. */
static void source_lost_while_loading(void **state)
{
    char wb[HPQ_CAPTURE_MAX];

    (void)state;
    hpq_lane(CLINIC_CONN, CLINIC_OPEN(CLINIC_CONN), COPY_OUT("COPY (SELECT"),
             HPQ_COPY_ROW(episode(row1, sizeof row1, "1", "M", NULL)), HPQ_COPY_RET(-2),
             HPQ_RESULT_ERROR("08006", "connection lost"), HPQ_RESULT_NONE, HPQ_FINISH,
             /* the second attempt */
             CLINIC_OPEN(CLINIC_CONN), COPY_OUT("COPY (SELECT"),
             HPQ_COPY_ROW(episode(row1, sizeof row1, "1", "M", NULL)), HPQ_COPY_DONE,
             HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), COPY_IN("COPY tdi.run_rec"),
               TINY_RUN_REST(wb));
    assert_int_equal(run(), TDI_OK);
    assert_non_null(strstr(fx.out, "source riverside: extracted 1, written 1, quarantined 0\n"));
    finish();
}

/* The types of the incremental view's columns: the change time a timestamptz (1184). */
static const Oid incremental_types[TDI_COL_NATIONAL_ID + 1] = {[TDI_COL_NATIONAL_ID] = 1184};

/* The clinic's side of opening an incremental read (the describe has the change-time column). */
#define CLINIC_OPEN_INCREMENTAL                                                                    \
    HPQ_CONNECT(CLINIC_CONN), HPQ_COMMAND("BEGIN ISOLATION LEVEL REPEATABLE READ"),                \
        {.fn = HPQ_FN_PREPARE, .res = {.status = PGRES_COMMAND_OK}, HPQ_AT},                       \
        {.fn = HPQ_FN_DESCRIBE,                                                                    \
         .res = {.status = PGRES_COMMAND_OK,                                                       \
                 .nfields = TDI_COL_NATIONAL_ID + 1,                                               \
                 .fields = names,                                                                  \
                 .types = incremental_types},                                                      \
         HPQ_AT},                                                                                  \
        HPQ_VALUE("SELECT to_char(now()", "2025-06-01T00:00:00.000000Z")

/* The first night of an incremental source: read in full (no mark), its fingerprint and
 * watermark recorded; then a new session of the state database. value receives the mark the next
 * night starts from (watermark|fingerprint). */
static void first_night(char *value, size_t len)
{
    char mark[HPQ_CAPTURE_MAX];
    const char *fp;

    hpq_script(
        RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), CLINIC_OPEN_INCREMENTAL,
        COPY_OUT("COPY (SELECT"), HPQ_COPY_DONE, HPQ_COMMAND("COMMIT"), HPQ_FINISH,
        /* no row: what the bodies hold of it (nothing, a new source) */
        HPQ_VALUE("count(DISTINCT eid)", "0"), HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL),
        ACTIONS(0, NULL), HPQ_NO_ROW("FROM tdi.body_blanking"),
        REID_FIRST("0", "0", "0", "0", "0", "0", "0", "0", "0", "0"),
        HPQ_NO_ROW("FROM tdi.publishing"), HPQ_VALUE("tables_sequence", "f"), HPQ_COMMAND("BEGIN"),
        HPQ_COMMAND("INSERT INTO tdi.run_body"), HPQ_COMMAND("INSERT INTO tdi.run_source"),
        {.fn = HPQ_FN_SEND,
         .match = "INSERT INTO tdi.source_state",
         .ret = 1,
         .capture = mark,
         HPQ_AT},
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("INSERT INTO tdi.route"),
        HPQ_COMMAND("UPDATE tdi.run SET ended_at"), HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_OK);
    assert_non_null(strstr(fx.out, "body national: no changes, nothing published\n"));
    /* riverside|2025|\N (no row, no change time)|FINGERPRINT|5 */
    assert_true(strncmp(mark, "riverside|2025|\\N|", 18) == 0);
    fp = mark + 18;
    assert_int_equal(strlen(fp), 64 + 2);
    snprintf(value, len, "2025-05-01T00:00:00.000000Z|%.64s", fp);
    /* The next night: a new session. */
    hpq_script(RUN_UNLOCK, HPQ_FINISH, HPQ_CONNECT(STATE_CONN));
    state_close(fx.state);
    assert_int_equal(state_open(STATE_CONN, &fx.state), TDI_OK);
}

/* An incremental source: the first run reads it in full (no mark) and records its fingerprint
 * and watermark; the second reads the rows changed since, tells the state database the rows
 * seen and the key scan, sends a replace and a delete, holds one row back in quarantine, and
 * leaves the tables for a full read. */
static void incremental_runs(void **state)
{
    char value[HPQ_CAPTURE_MAX];

    (void)state;
    first_night(value, sizeof value);
    hpq_lane(CLINIC_CONN, CLINIC_OPEN_INCREMENTAL,
             COPY_OUT("> TIMESTAMPTZ '2025-04-30T23:00:00.000000Z'"),
             HPQ_COPY_ROW(episode(row1, sizeof row1, "1", "M", "2025-05-10T00:00:00.000000Z")),
             HPQ_COPY_ROW(episode(row2, sizeof row2, "2", "Q", "2025-05-11T00:00:00.000000Z")),
             HPQ_COPY_DONE,
             /* the key scan */
             COPY_OUT("COPY (SELECT tdi_src.\"episode_id\"::text"), HPQ_COPY_ROW("1\n"),
             HPQ_COPY_ROW("2\n"), HPQ_COPY_DONE,
             /* the snapshot, kept for episodes whose counting could have changed unread, ends */
             HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    hpq_script(RUN_START, HPQ_VALUE("FROM tdi.source_state", value),
               HPQ_VALUE("make_interval", "2025-04-30T23:00:00.000000Z"),
               COPY_IN("COPY tdi.run_rec"), /* opened by the first record read */
               /* the source's merge: its records, the rows it read, the row it quarantined,
                * the episodes it holds */
               HPQ_PUT(REC_START(00, 00, 00)), COPY_IN_END, COPY_IN("COPY run_seen"),
               HPQ_PUT(KEY_START(00)), COPY_IN_END, COPY_IN("COPY run_rej"), HPQ_PUT(REJ_START(00)),
               COPY_IN_END, HPQ_NO_ROW("encode(keys, 'hex')"), COPY_IN("COPY run_present"),
               HPQ_PUT(KEY_START(00)), COPY_IN_END, HPQ_COMMAND("INSERT INTO run_keyset"),
               /* the delta: a replace and a delete */
               HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL),
               ACTIONS(2, "0", "r", "1", "0", "d", "1"), HPQ_VALUE("FROM tdi.body_blanking", ""),
               REID_FIRST("1", "1", "1", "0", "1", "1", "1", "1", "0", "1"),
               HPQ_NO_ROW("FROM tdi.publishing"), HPQ_COMMAND("INSERT INTO tdi.publishing"),
               HPQ_VALUE("FROM tdi.body_sequence", "2"), COPY_OUT("action IN ('a', 'r')"),
               HPQ_COPY_ROW("0\tr\tt\tf\n"), HPQ_COPY_DONE, COPY_OUT("action = 'd'"),
               HPQ_COPY_ROW("e1:0123456789abcdef0123456789abcdef\td\t\\N\t\\N\n"), HPQ_COPY_DONE,
               HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"), REID_KEEP,
               HPQ_SEND("INSERT INTO tdi.sent"), HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_COMMAND("INSERT INTO tdi.body_sequence"),
               /* the quarantine file: not the same as the last one */
               HPQ_NO_ROW("f.kind = 'quarantine'"),
               /* the commit */
               HPQ_COMMAND("INSERT INTO tdi.body_blanking"), HPQ_COMMAND("UPDATE tdi.publishing"),
               HPQ_COMMAND("INSERT INTO tdi.run_file"), HPQ_COMMAND("INSERT INTO tdi.run_body"),
               {.fn = HPQ_FN_SEND,
                .match = "INSERT INTO tdi.run_source",
                .ret = 1,
                .capture = value,
                HPQ_AT},
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_COMMAND("INSERT INTO tdi.source_state"), HPQ_COMMAND("INSERT INTO tdi.run_file"),
               HPQ_COMMAND("INSERT INTO tdi.route"), HPQ_COMMAND("UPDATE tdi.run SET ended_at"),
               HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_OK);
    assert_non_null(strstr(fx.out, "source riverside: extracted 2, written 1, quarantined 1 "
                                   "(changed since 2025-04-30T23:00:00.000000Z)\n"));
    /* its row, with the completeness of the one record written: setting known, detox_phase
     * not applicable to an outpatient, sex (M) known */
    assert_true(strncmp(value,
                        "5|riverside|incremental|2025-04-30T23:00:00.000000Z|1|2|1|1|ok|\\N|{",
                        66) == 0);
    assert_non_null(strstr(value, "}|{\"1\",\"1\",\"0\",\"0\",\"0\",\"1\","));
    assert_non_null(strstr(value, "}|{\"0\",\"0\",\"0\",\"0\",\"0\",\"0\","));
    assert_non_null(strstr(fx.out, "body national: 1 records, 1 replaces, 1 deletes, sequence 2"));
    assert_non_null(strstr(fx.out, "tables national: not published: source riverside was read "
                                   "incrementally (a full read publishes them)\n"));
    assert_non_null(strstr(fx.out, "quarantine riverside: 1 rows -> "));
    finish();
}

/* The state key of episode id of the fixture's source (under the fixture's key). */
static void state_key_of(const char *id, char *key, size_t len)
{
    transform_ctx *tx = NULL;
    unsigned char k[TRANSFORM_STATE_KEY_BYTES];
    int has = 0;

    assert_true(len > 3 + 2 * sizeof k);
    assert_int_equal(transform_open(fx.cfg, 2025, 20250601, &tx), TDI_OK);
    assert_int_equal(transform_begin_source(tx, &fx.cfg->sources[0]), TDI_OK);
    assert_int_equal(transform_state_key_bytes(tx, id, k, &has), TDI_OK);
    assert_int_equal(has, 1);
    memcpy(key, "e1:", 3); /* its text: "e1:" + hex */
    tdi_hex_encode(key + 3, k, sizeof k);
    transform_close(tx);
}

/* The pass after the first (no statistics of tdi.sent), with r counts rows. */
#define PASS_AGAIN(r, ...)                                                                         \
    HPQ_COMMAND("DROP TABLE IF EXISTS run_action"), HPQ_COMMAND("INSERT INTO run_src"),            \
        HPQ_COMMAND("INSERT INTO run_body"), HPQ_COMMAND("ANALYZE tdi.run_rec"), HELD_TOUCHED,     \
        HPQ_COMMAND("CREATE TEMP TABLE run_rank"), HPQ_COMMAND("CREATE TEMP TABLE run_action"),    \
        HPQ_COMMAND("ANALYZE run_action"), HPQ_ROWS("GROUP BY body, action", 3, r, __VA_ARGS__),   \
        HPQ_ROWS("action = 'f'", 2, 0, NULL), HPQ_ROWS("k.earlier", 2, 0, NULL)

/* The comparison of the episodes read again (from spool position 1, year 2025, the touched
 * persons ranked) with what was sent, their statistics first: d of them differ. */
#define REREAD_DIFFER(d)                                                                           \
    HPQ_COMMAND("ANALYZE tdi.run_rec (pos, body, eid)"),                                           \
        HPQ_SEND_P("FULL JOIN sent s", "1|2025|f"),                                                \
        HPQ_RESULT_ROWS(1, ((const char *const[]){"n"}), 1, ((const char *const[]){d})),           \
        HPQ_RESULT_NONE

/* The second night reads episode 1 (changed); the pass finds that episode 2, not read, changed
 * its counting ('f'): the run asks for its key, finds id 2 under it among the pairs the read's
 * key scan kept (no second scan) and reads that row alone in the snapshot kept, its id a
 * parameter; the row goes to
 * the rows seen and the records. When it is as sent (differ "0") the pass is patched: episode 2
 * a replace with the flags found; else the pass runs again and episode 2 is a replace. The
 * snapshot ends after the pass. */
static void night_read_again(const char *differ)
{
    char value[HPQ_CAPTURE_MAX], key2[64];

    first_night(value, sizeof value);
    state_key_of("2", key2, sizeof key2);
    hpq_lane(CLINIC_CONN, CLINIC_OPEN_INCREMENTAL, COPY_OUT("> TIMESTAMPTZ"),
             HPQ_COPY_ROW(episode(row1, sizeof row1, "1", "M", "2025-05-10T00:00:00.000000Z")),
             HPQ_COPY_DONE, COPY_OUT("COPY (SELECT tdi_src.\"episode_id\"::text"),
             HPQ_COPY_ROW("1\n"), HPQ_COPY_ROW("2\n"), HPQ_COPY_DONE,
             /* episode 2 again, in the same snapshot */
             HPQ_SEND_P("set_config", "{\"2\"}"),
             HPQ_RESULT_ROWS(1, HPQ_STRINGS("length"), 1, HPQ_STRINGS("5")), HPQ_RESULT_NONE,
             COPY_OUT("current_setting"),
             HPQ_COPY_ROW(episode(row2, sizeof row2, "2", "M", "2025-01-01T00:00:00.000000Z")),
             HPQ_COPY_DONE,
             /* the snapshot ends after the pass */
             HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    hpq_script(
        RUN_START, HPQ_VALUE("FROM tdi.source_state", value),
        HPQ_VALUE("make_interval", "2025-04-30T23:00:00.000000Z"), COPY_IN("COPY tdi.run_rec"),
        HPQ_PUT(REC_START(00, 00, 00)), COPY_IN_END, COPY_IN("COPY run_seen"),
        HPQ_PUT(KEY_START(00)), COPY_IN_END, HPQ_NO_ROW("encode(keys, 'hex')"),
        COPY_IN("COPY run_present"), HPQ_PUT(KEY_START(00)), COPY_IN_END,
        HPQ_COMMAND("INSERT INTO run_keyset"), HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL),
        HPQ_COMMAND("INSERT INTO run_src"), HPQ_COMMAND("INSERT INTO run_body"),
        HPQ_VALUE("n_mod_since_analyze", "none"), HPQ_COMMAND("ANALYZE tdi.run_rec"), HELD_TOUCHED,
        HPQ_COMMAND("CREATE TEMP TABLE run_rank"), HPQ_COMMAND("CREATE TEMP TABLE run_action"),
        HPQ_COMMAND("ANALYZE run_action"), HPQ_ROWS("GROUP BY body, action", 3, 1, "0", "f", "1"),
        HPQ_ROWS("action = 'f'", 2, 1, "0", "1"), HPQ_ROWS("k.earlier", 2, 0, NULL),
        /* episode 2 again, in the same snapshot (the clinic's lane) */
        HPQ_ROWS("WHERE action = 'f' AND src = $1", 1, 1, key2), COPY_IN("COPY run_seen"),
        HPQ_PUT(KEY_START(00)), COPY_IN_END, COPY_IN("COPY tdi.run_rec"),
        HPQ_PUT(REC_START(01, 00, 00)), COPY_IN_END,
        HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL), REREAD_DIFFER(differ));
    if (strcmp(differ, "0") == 0)
        hpq_script(HPQ_SEND_P("UPDATE run_action a SET action = 'r', pos = rr.pos", "1"),
                   HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
                   HPQ_ROWS("GROUP BY body, action", 3, 1, "0", "r", "1"),
                   HPQ_ROWS("k.earlier", 2, 0, NULL));
    else
        hpq_script(PASS_AGAIN(1, "0", "r", "2"));
    hpq_script(/* the body's file: the replace of episode 2 (position 1), as an entrant */
               HPQ_VALUE("FROM tdi.body_blanking", ""),
               /* not a whole-year pass: the kept grouping looked up first */
               HPQ_NO_ROW("FROM tdi.reid_kept"),
               REID_FIRST("1", "1", "1", "0", "1", "1", "1", "1", "0", "1"),
               HPQ_NO_ROW("FROM tdi.publishing"), HPQ_COMMAND("INSERT INTO tdi.publishing"),
               HPQ_VALUE("FROM tdi.body_sequence", "2"), COPY_OUT("action IN ('a', 'r')"),
               HPQ_COPY_ROW("1\tr\tt\tf\n"), HPQ_COPY_DONE, COPY_OUT("action = 'd'"), HPQ_COPY_DONE,
               HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"), REID_KEEP,
               HPQ_SEND("INSERT INTO tdi.sent"), HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_COMMAND("INSERT INTO tdi.body_sequence"),
               HPQ_COMMAND("INSERT INTO tdi.body_blanking"), HPQ_COMMAND("UPDATE tdi.publishing"),
               HPQ_COMMAND("INSERT INTO tdi.run_file"), HPQ_COMMAND("INSERT INTO tdi.run_body"),
               HPQ_COMMAND("INSERT INTO tdi.run_source"),
               HPQ_COMMAND("INSERT INTO tdi.source_state"), HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_COMMAND("UPDATE tdi.run SET ended_at"), HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_OK);
    assert_non_null(strstr(fx.out, "source riverside: the counting of 1 episode not read this run "
                                   "changed: reading it again in the same snapshot\n"
                                   "source riverside: read again 1, written 1, quarantined 0 (the "
                                   "same snapshot)\n"));
    assert_non_null(strstr(fx.out, "balance: extracted 2 = written 2 + quarantined 0\n"));
    assert_non_null(strstr(fx.out, "body national: 1 records, 1 replaces, 0 deletes, "));
    finish();
}

/* Episode 2 read again is not what was sent (its row was edited without moving the
 * watermark): the pass runs again. */
static void episodes_read_again(void **state)
{
    (void)state;
    night_read_again("1");
}

/* Episode 2 read again is as sent: the first pass is patched, not run again. */
static void episodes_read_again_as_sent(void **state)
{
    (void)state;
    night_read_again("0");
}

/* The clinic refuses the connection twice (a retry after the first): the source fails, the
 * body depending on it gets nothing, the ledger says why; exit 5. */
static void source_unreachable(void **state)
{
    (void)state;
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"),
               HPQ_CONNECT_FAIL(CLINIC_CONN, 2, "Connection refused\n"), HPQ_FINISH,
               HPQ_CONNECT_FAIL(CLINIC_CONN, 2, "Connection refused\n"), HPQ_FINISH,
               HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL), ACTIONS(0, NULL),
               HPQ_COMMAND("BEGIN"),
               HPQ_SEND_P("INSERT INTO tdi.run_source",
                          "5|riverside|full|\\N|2|0|0|0|source|source riverside: connecting "
                          "failed: Connection refused|\\N|\\N|\\N"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_SEND_P("UPDATE tdi.run SET ended_at", "5|source|5|source riverside failed"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_ERR_SOURCE);
    assert_non_null(strstr(fx.out, "source riverside: FAILED after 2 attempts: source riverside: "
                                   "connecting failed: Connection refused\n"));
    assert_non_null(strstr(fx.out, "body national: nothing published: source riverside failed\n"));
    finish();
}

/* A full read that gives no rows while the bodies hold 40 episodes of the source: the source
 * fails as one that cannot be read (its records would all be deleted), the body gets nothing, the
 * ledger says why and how to go on; exit 5. */
#define EMPTY_MSG                                                                                  \
    "source riverside: a full read gave no rows, while the bodies hold 40 of its episodes of "     \
    "2025: nothing of it is published. Check the source query and the tables behind it; if the "   \
    "clinic really has no episodes of 2025, run with --allow-empty=riverside to delete them"
static void empty_read_fails_source(void **state)
{
    (void)state;
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), CLINIC_OPEN(CLINIC_CONN),
               COPY_OUT("COPY (SELECT"), HPQ_COPY_DONE, HPQ_COMMAND("COMMIT"), HPQ_FINISH,
               HPQ_SEND_P("count(DISTINCT eid)", "riverside|2025"),
               HPQ_RESULT_ROWS(1, ((const char *const[]){"v"}), 1, ((const char *const[]){"40"})),
               HPQ_RESULT_NONE, HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL), ACTIONS(0, NULL),
               HPQ_COMMAND("BEGIN"),
               HPQ_SEND_P("INSERT INTO tdi.run_source",
                          "5|riverside|full|\\N|1|0|0|0|source|" EMPTY_MSG "|\\N|\\N|\\N"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_SEND_P("UPDATE tdi.run SET ended_at", "5|source|5|source riverside failed"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_ERR_SOURCE);
    assert_non_null(strstr(fx.out, "source riverside: FAILED after 1 attempt: " EMPTY_MSG "\n"));
    assert_non_null(strstr(fx.out, "body national: nothing published: source riverside failed\n"));
    assert_non_null(strstr(fx.log.text, EMPTY_MSG));
    finish();
}

/* One episode id on two rows of a read, the first quarantined (sex Q has no crosswalk entry:
 * R006), the second written: the quarantined row's state key goes to the state database
 * (run_rej) after the source's records, the duplicate check finds the id there, and the source
 * fails as for two records of one id (exit 5; nothing published). */
static void repeated_id_quarantined(void **state)
{
    char rej[HPQ_CAPTURE_MAX], key1[64], f[40], ledger[256];
    copy_read c;

    (void)state;
    state_key_of("1", key1, sizeof key1);
    snprintf(ledger, sizeof ledger,
             "5|riverside|full|\\N|1|0|0|0|source|source riverside: 1 episode ids appear more "
             "than once (one of them has the state key %s): episode_id must be unique within a "
             "source|\\N|\\N|\\N",
             key1);
    hpq_lane(CLINIC_CONN, CLINIC_OPEN(CLINIC_CONN), COPY_OUT("COPY (SELECT"),
             HPQ_COPY_ROW(episode(row1, sizeof row1, "1", "Q", NULL)),
             HPQ_COPY_ROW(episode(row2, sizeof row2, "1", "M", NULL)), HPQ_COPY_DONE,
             HPQ_COMMAND("COMMIT"), HPQ_FINISH);
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), COPY_IN("COPY tdi.run_rec"),
               HPQ_PUT(REC_START(00, 00, 00)), COPY_IN_END,
               COPY_IN("COPY run_rej (src, eid, probe)"),
               {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = rej, HPQ_AT}, COPY_IN_END,
               HPQ_ROWS("GROUP BY src, eid HAVING", 3, 1, "0", "1", key1), ACTIONS(0, NULL),
               HPQ_COMMAND("BEGIN"), HPQ_SEND_P("INSERT INTO tdi.run_source", ledger),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_SEND_P("UPDATE tdi.run SET ended_at", "5|source|5|source riverside failed"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_ERR_SOURCE);
    assert_non_null(strstr(fx.log.text, "source riverside: 1 episode ids appear more than once "
                                        "(one of them has the state key e1:"));
    assert_non_null(strstr(fx.out, "source riverside: FAILED: 1 episode ids are not unique\n"));
    assert_non_null(strstr(fx.out, "body national: nothing published: source riverside failed\n"));
    /* the quarantined row's key, once: source 0, the key's 16 bytes, a probe (the record with
     * its key was put before it) */
    copy_read_open(&c, rej);
    copy_read_header(&c);
    copy_read_tuple(&c, 3);
    assert_int_equal(copy_read_int(&c, 4), 0);
    assert_string_equal(copy_read_field(&c, f, sizeof f, 1), key1 + 3);
    assert_int_equal(copy_read_int(&c, 1), 1);
    copy_read_trailer(&c);
    finish();
}

/* Another run holds the lock: nothing is recorded. */
static void lock_held(void **state)
{
    (void)state;
    hpq_script(HPQ_VALUE("pg_try_advisory_lock", "f"), HPQ_VALUE("FROM pg_locks", "77"));
    assert_int_equal(run(), TDI_ERR_LOCKED);
    finish_session(0);
}

/* A closed year: the ledger row ends at once, exit 14. */
static void year_closed(void **state)
{
    char params[64];

    (void)state;
    snprintf(params, sizeof params, "5|closed|%d|", TDI_ERR_CLOSED);
    hpq_script(HPQ_VALUE("pg_try_advisory_lock", "t"), HPQ_COMMAND("SET status = 'abandoned'"),
               HPQ_VALUE("INSERT INTO tdi.run ", "5"),
               HPQ_VALUE("FROM tdi.closed_year", "2026-01-05 10:00:00Z by ops"),
               HPQ_SEND("UPDATE tdi.run SET ended_at"), HPQ_RESULT(PGRES_COMMAND_OK),
               HPQ_RESULT_NONE);
    assert_int_equal(run(), TDI_ERR_CLOSED);
    assert_non_null(strstr(fx.log.text, "reporting year 2025 is closed (since 2026-01-05 "
                                        "10:00:00Z by ops)"));
    finish();
}

/* The page's figures as the run's page and `tdi report` load them (state_report_load): every
 * field in its place; no such run leaves the page empty. */
#define F11 HPQ_STRINGS("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k")
#define P_ROWS(m, p, n, r, ...)                                                                    \
    HPQ_SEND_P(m, p), HPQ_RESULT_ROWS(n, F11, r, HPQ_STRINGS(__VA_ARGS__)), HPQ_RESULT_NONE

static void page_figures(void **state)
{
    tdi_page r;

    (void)state;
    hpq_script(
        P_ROWS("FROM tdi.run WHERE run_id = $1", "20260105T040000Z", 8, 1, "20260105T040000Z",
               "2025", "full", "ok", "0", "12.5", "2026-01-05 04:00:00Z", "42"),
        P_ROWS("FROM tdi.run_source s LEFT JOIN LATERAL", "42|\\N", 11, 1, "riverside", "ok",
               "full", "1", "120", "117", "3", "t", "110", "108", "2"),
        P_ROWS("FROM tdi.run_file WHERE run_no = $1", "42|\\N", 8, 1, "submission", "nl", "4",
               "117", "5", "2", "/out/nl/tdi-nl-2025-20260105T040000Z.xml.gz", "ab12"),
        P_ROWS("ORDER BY run_no DESC LIMIT $2) r ORDER BY run_no", "42|30", 8, 1,
               "20260104T040000Z", "2025", "full", "TDI_ERR_STATE", "5", "7.25",
               "2026-01-04 04:00:00Z", "41"),
        P_ROWS("FROM tdi.body_sequence WHERE episodes > 0", "", 4, 1, "nl", "2025", "117", "111"),
        HPQ_SEND("FROM tdi.run_completeness c"), HPQ_RESULT_ROWS(7, F11, 0, NULL), HPQ_RESULT_NONE,
        P_ROWS("FROM tdi.run_body", "42", 8, 0, NULL),
        P_ROWS("FROM tdi.run_cell", "42", 7, 0, NULL));
    assert_int_equal(state_report_load(fx.state, "20260105T040000Z", NULL, &r), TDI_OK);
    assert_string_equal(r.run.run_id, "20260105T040000Z");
    assert_int_equal(r.run.year, 2025);
    assert_string_equal(r.run.mode, "full");
    assert_string_equal(r.run.status, "ok");
    assert_int_equal(r.run.exit_code, 0);
    assert_true(r.run.seconds == 12.5);
    assert_string_equal(r.run.started, "2026-01-05 04:00:00Z");
    assert_int_equal(r.nsources, 1);
    assert_string_equal(r.sources[0].name, "riverside");
    assert_string_equal(r.sources[0].status, "ok");
    assert_string_equal(r.sources[0].mode, "full");
    assert_int_equal(r.sources[0].attempts, 1);
    assert_int_equal(r.sources[0].extracted, 120);
    assert_int_equal(r.sources[0].written, 117);
    assert_int_equal(r.sources[0].quarantined, 3);
    assert_int_equal(r.sources[0].has_prev, 1);
    assert_int_equal(r.sources[0].prev_extracted, 110);
    assert_int_equal(r.sources[0].prev_written, 108);
    assert_int_equal(r.sources[0].prev_quarantined, 2);
    assert_int_equal(r.nfiles, 1);
    assert_string_equal(r.files[0].kind, "submission");
    assert_string_equal(r.files[0].owner, "nl");
    assert_int_equal(r.files[0].sequence, 4);
    assert_int_equal(r.files[0].records, 117);
    assert_int_equal(r.files[0].replaces, 5);
    assert_int_equal(r.files[0].deletes, 2);
    assert_string_equal(r.files[0].path, "/out/nl/tdi-nl-2025-20260105T040000Z.xml.gz");
    assert_string_equal(r.files[0].sha256, "ab12");
    assert_int_equal(r.nhistory, 1);
    assert_string_equal(r.history[0].run_id, "20260104T040000Z");
    assert_string_equal(r.history[0].status, "TDI_ERR_STATE");
    assert_int_equal(r.history[0].exit_code, 5);
    assert_true(r.history[0].seconds == 7.25);
    assert_string_equal(r.history[0].started, "2026-01-04 04:00:00Z");
    assert_int_equal(r.nyears, 1);
    assert_string_equal(r.years[0].owner, "nl");
    assert_int_equal(r.years[0].year, 2025);
    assert_int_equal(r.years[0].episodes, 117);
    assert_int_equal(r.years[0].entrants, 111);
    tdi_page_free(&r);
    assert_null(r.sources);
    assert_int_equal(r.nsources, 0);

    hpq_script(HPQ_SEND_P("FROM tdi.run WHERE run_id = $1", "20200101T000000Z"),
               HPQ_RESULT_ROWS(8, F11, 0, NULL), HPQ_RESULT_NONE);
    assert_int_equal(state_report_load(fx.state, "20200101T000000Z", NULL, &r), TDI_ERR_USAGE);
    assert_null(r.sources);
    assert_null(r.years);
    finish_session(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tiny_run, setup, teardown),
        cmocka_unit_test_setup_teardown(source_lost_while_loading, setup_retry, teardown),
        cmocka_unit_test_setup_teardown(incremental_runs, setup_incremental, teardown),
        cmocka_unit_test_setup_teardown(episodes_read_again, setup_incremental, teardown),
        cmocka_unit_test_setup_teardown(episodes_read_again_as_sent, setup_incremental, teardown),
        cmocka_unit_test_setup_teardown(source_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_read_fails_source, setup, teardown),
        cmocka_unit_test_setup_teardown(repeated_id_quarantined, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_held, setup, teardown),
        cmocka_unit_test_setup_teardown(year_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(page_figures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
