/* Unit tests for run/run_pool.c: sources read max_parallel_sources at a time by worker threads,
 * through run_main() against the scripted libpq (harness_pq, each clinic's connection on a lane of
 * its own): the same output, records and ledger rows as read one at a time, a source that fails
 * alone, a stop while readers wait, a reader's failure that stops the run. */
#include "test_run.h"

#include "../../common/tdi_signal.h"
#include "test_copy.h"

#include <signal.h>

/* Three clinics (one episode each, ids 1 to 3), read max_parallel_sources at a time
 * (run/run_pool.c). Each clinic's connection follows a lane of its own (hpq_lane): its calls come
 * from a worker thread, in no known order against the others'; the state database's follow the
 * main script, the same for every setting, since the merge takes the sources in config order. */
#define NSRC 3
static const char *const clinics[NSRC] = {"alder", "birch", "cedar"};

static int setup_sources(int parallel)
{
    char top[64], sources[2048], cwd[256];
    size_t used = 0;

    assert_non_null(getcwd(cwd, sizeof cwd));
    /* threshold 1: the tables publish nothing suppressed, so no audit loop (seconds of CPU
     * under ThreadSanitizer for three records); their protection is test_tables' */
    snprintf(top, sizeof top, "max_parallel_sources = %d\nsuppression_threshold = 1\n", parallel);
    for (int i = 0; i < NSRC; i++)
        used += (size_t)snprintf(sources + used, sizeof sources - used,
                                 "[source %s]\nconninfo = dbname=clinic_%s\n"
                                 "query = SELECT * FROM tdi_episodes\n"
                                 "crosswalk = %s/examples/crosswalks/en.cw\nregion = BE211\n\n",
                                 clinics[i], clinics[i], cwd);
    return fixture_open(top, sources);
}

/* Clinic i's lane: a full read of its one episode (id i + 1), or a refused connection, twice. */
static void clinic_lane(int i, int refused)
{
    char lane[32], row[1024], id[16];

    snprintf(lane, sizeof lane, "clinic_%s", clinics[i]);
    snprintf(id, sizeof id, "%d", i + 1);
    if (refused) {
        hpq_lane(lane, HPQ_CONNECT_FAIL(lane, 2, "Connection refused\n"), HPQ_FINISH,
                 HPQ_CONNECT_FAIL(lane, 2, "Connection refused\n"), HPQ_FINISH);
        return;
    }
    hpq_lane(lane, CLINIC_OPEN(lane), COPY_OUT("COPY (SELECT"),
             HPQ_COPY_ROW(episode(row, sizeof row, id, "M", NULL)), HPQ_COPY_DONE,
             HPQ_COMMAND("COMMIT"), HPQ_FINISH);
}

/* What a run of the three clinics left to compare: stdout, the records as the spool gave them
 * to the state database (in spool order: one COPY a source read, at its merge), each source's
 * ledger row. */
typedef struct pool_run {
    tdi_status st;
    char out[sizeof fx.out];
    char rec[NSRC][HPQ_CAPTURE_MAX];
    char ledger[NSRC][HPQ_CAPTURE_MAX];
} pool_run;

/* Each source's row of the ledger (INSERT INTO tdi.run_source) into ledger[i], with its
 * watermark row after it when advance; a source read (bit i of forget) without the watermark
 * moving forgets its key scan's digest. */
static void ledger_rows(char (*ledger)[HPQ_CAPTURE_MAX], int advance, unsigned forget)
{
    for (int i = 0; i < NSRC; i++) {
        hpq_script({.fn = HPQ_FN_SEND,
                    .match = "INSERT INTO tdi.run_source",
                    .ret = 1,
                    .capture = ledger[i],
                    HPQ_AT},
                   HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE);
        if (advance)
            hpq_script(HPQ_COMMAND("INSERT INTO tdi.source_state"));
        else if (forget & 1u << i)
            hpq_script(HPQ_COMMAND("UPDATE tdi.source_state SET keys = NULL"));
    }
}

/* The state database's side of a run of the three clinics, all read. */
static void three_read(pool_run *r)
{
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), HPQ_NO_ROW("FROM tdi.source_state"),
               HPQ_NO_ROW("FROM tdi.source_state"), COPY_IN("COPY tdi.run_rec"),
               {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = r->rec[0], HPQ_AT}, COPY_IN_END,
               COPY_IN("COPY tdi.run_rec"),
               {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = r->rec[1], HPQ_AT}, COPY_IN_END,
               COPY_IN("COPY tdi.run_rec"),
               {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = r->rec[2], HPQ_AT}, COPY_IN_END,
               HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL), ACTIONS(1, "0", "a", "3"),
               HPQ_NO_ROW("FROM tdi.body_blanking"),
               REID_FIRST("3", "1", "3", "0", "1", "1", "1", "1", "0", "0.3333"),
               HPQ_NO_ROW("FROM tdi.publishing"), HPQ_COMMAND("INSERT INTO tdi.publishing"),
               HPQ_VALUE("FROM tdi.body_sequence", "1"), COPY_OUT("action IN ('a', 'r')"),
               HPQ_COPY_ROW("0\ta\tt\tf\n"), HPQ_COPY_ROW("1\ta\tt\tf\n"),
               HPQ_COPY_ROW("2\ta\tt\tf\n"), HPQ_COPY_DONE, COPY_OUT("action = 'd'"), HPQ_COPY_DONE,
               HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"), REID_KEEP,
               HPQ_COMMAND("INSERT INTO tdi.sent"), HPQ_COMMAND("INSERT INTO tdi.body_sequence"),
               /* held: entrants, so each its person's client in treatment (the fifth field) */
               COPY_OUT("FROM run_rank"), HPQ_COPY_ROW("0\th\tt\tf\tt\n"),
               HPQ_COPY_ROW("1\th\tt\tf\tt\n"), HPQ_COPY_ROW("2\th\tt\tf\tt\n"), HPQ_COPY_DONE,
               HPQ_COMMAND("INSERT INTO tdi.body_blanking"),
               HPQ_COMMAND("UPDATE tdi.body_sequence SET tables_sequence"),
               HPQ_COMMAND("UPDATE tdi.publishing"), HPQ_COMMAND("INSERT INTO tdi.run_file"),
               HPQ_COMMAND("INSERT INTO tdi.run_file"), HPQ_COMMAND("INSERT INTO tdi.run_file"),
               HPQ_COMMAND("INSERT INTO tdi.run_body"));
    ledger_rows(r->ledger, 1, 0);
    hpq_script(HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_SEND_P("UPDATE tdi.run SET ended_at", "5|ok|0|\\N"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
}

/* The state database's side of a run of the three clinics where birch cannot be reached: the
 * body depending on it gets nothing; the two records read are loaded all the same. */
static void birch_refused(pool_run *r)
{
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), HPQ_NO_ROW("FROM tdi.source_state"),
               HPQ_NO_ROW("FROM tdi.source_state"), COPY_IN("COPY tdi.run_rec"),
               {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = r->rec[0], HPQ_AT}, COPY_IN_END,
               COPY_IN("COPY tdi.run_rec"),
               {.fn = HPQ_FN_COPY_PUT, .ret = 1, .capture = r->rec[1], HPQ_AT}, COPY_IN_END,
               HPQ_ROWS("GROUP BY src, eid HAVING", 3, 0, NULL), ACTIONS(0, NULL),
               HPQ_COMMAND("BEGIN"));
    ledger_rows(r->ledger, 0, 1u << 0 | 1u << 2); /* alder and cedar were read */
    hpq_script(HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_SEND_P("UPDATE tdi.run SET ended_at", "5|source|5|source birch failed"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
}

/* capture, a COPY of run_rec, starts with one record at spool position pos of source src for
 * body 0 (the rest of a record: test_st_copy.c). */
static void rec_starts(const char *capture, uint64_t pos, int src)
{
    copy_read c;

    copy_read_open(&c, capture);
    copy_read_header(&c);
    copy_read_tuple(&c, 15);
    assert_int_equal(copy_read_int(&c, 8), pos);
    assert_int_equal(copy_read_int(&c, 4), src);
    assert_int_equal(copy_read_int(&c, 4), 0);
}

/* 1 when p starts with a run id, YYYYMMDDTHHMMSSZ. */
static int is_run_id(const char *p)
{
    for (int i = 0; i < 16; i++) {
        int want = i == 8 ? 'T' : i == 15 ? 'Z' : 0;

        if (want ? p[i] != want : (p[i] < '0' || p[i] > '9'))
            return 0;
    }
    return 1;
}

/* Replaces in out each n bytes at p for which match(p) holds with to. */
static void replace_all(char *out, const char *what, size_t n, int (*match)(const char *),
                        const char *to)
{
    for (char *p = out; *p; p++)
        if (match ? match(p) : strncmp(p, what, n) == 0) {
            memmove(p + strlen(to), p + n, strlen(p + n) + 1);
            memcpy(p, to, strlen(to));
        }
}

/* out without what differs from run to run: the run's directory (DIR) and id (RUNID). */
static void normalise(char *out)
{
    replace_all(out, fx.dir, strlen(fx.dir), NULL, "DIR");
    replace_all(out, NULL, 16, is_run_id, "RUNID");
}

/* One run of the three clinics with the setting parallel, clinic refused (-1: none) refusing
 * the connection; what it left into r. */
static void run_three(int parallel, int refused, pool_run *r)
{
    setup_sources(parallel);
    for (int i = 0; i < NSRC; i++)
        clinic_lane(i, i == refused);
    if (refused < 0)
        three_read(r);
    else
        birch_refused(r);
    r->st = run();
    normalise(fx.out);
    memcpy(r->out, fx.out, sizeof r->out);
    finish();
    teardown(NULL);
}

/* Read three at a time, the run gives what one at a time gives: the same lines in the same order,
 * the same records in the same spool order (the merge's), the same ledger rows. */
static void parallel_same_as_serial(void **state)
{
    static pool_run serial, parallel;

    (void)state;
    run_three(1, -1, &serial);
    run_three(3, -1, &parallel);
    assert_int_equal(serial.st, TDI_OK);
    assert_int_equal(parallel.st, TDI_OK);
    assert_non_null(strstr(serial.out, "source alder: extracted 1, written 1, quarantined 0\n"
                                       "source birch: extracted 1, written 1, quarantined 0\n"
                                       "source cedar: extracted 1, written 1, quarantined 0\n"));
    assert_non_null(strstr(serial.out, "balance: extracted 3 = written 3 + quarantined 0\n"));
    assert_string_equal(parallel.out, serial.out);
    /* pos, src, body, ...: source 0's record first, then 1's, then 2's, each at its merge */
    for (int i = 0; i < NSRC; i++) {
        rec_starts(serial.rec[i], i, i);
        assert_string_equal(parallel.rec[i], serial.rec[i]);
    }
    for (int i = 0; i < NSRC; i++) {
        char want[64];

        snprintf(want, sizeof want, "5|%s|full|\\N|1|1|1|0|ok|\\N|{", clinics[i]);
        assert_true(strncmp(serial.ledger[i], want, strlen(want)) == 0);
        assert_string_equal(parallel.ledger[i], serial.ledger[i]);
    }
}

/* A source that fails (its connection refused, twice) fails alone when read three at a time as
 * when read one at a time: the others are read and merged in order around it, the same lines,
 * records and ledger rows, exit 5. */
static void parallel_source_fails(void **state)
{
    static pool_run serial, parallel;

    (void)state;
    run_three(1, 1, &serial);
    run_three(3, 1, &parallel);
    assert_int_equal(serial.st, TDI_ERR_SOURCE);
    assert_int_equal(parallel.st, TDI_ERR_SOURCE);
    assert_non_null(strstr(serial.out, "source alder: extracted 1, written 1, quarantined 0\n"
                                       "source birch: FAILED after 2 attempts: source birch: "
                                       "connecting failed: Connection refused\n"
                                       "source cedar: extracted 1, written 1, quarantined 0\n"));
    assert_non_null(strstr(serial.out, "body national: nothing published: source birch failed\n"));
    assert_string_equal(parallel.out, serial.out);
    rec_starts(serial.rec[0], 0, 0);
    rec_starts(serial.rec[1], 1, 2); /* cedar's, after alder's */
    assert_string_equal(parallel.rec[0], serial.rec[0]);
    assert_string_equal(parallel.rec[1], serial.rec[1]);
    assert_string_equal(serial.ledger[1], "5|birch|full|\\N|2|0|0|0|source|source birch: "
                                          "connecting failed: Connection refused|\\N|\\N|\\N");
    for (int i = 0; i < NSRC; i++)
        assert_string_equal(parallel.ledger[i], serial.ledger[i]);
}

/* A stop (SIGTERM) while two readers wait on their clinics, three sources two at a time: each
 * reader ends its connection, the third source is not read, nothing is published, the run is
 * recorded as interrupted; TDI_ERR_INTERRUPTED. */
static void parallel_stopped(void **state)
{
    char ledger[NSRC][HPQ_CAPTURE_MAX];

    (void)state;
    setup_sources(2);
    tdi_signal_setup();
    tdi_signal_reset(); /* the earlier runs acknowledged a stop: waits would no longer see one */
    for (int i = 0; i < 2; i++) {
        char lane[32];

        snprintf(lane, sizeof lane, "clinic_%s", clinics[i]);
        hpq_lane(lane, {.fn = HPQ_FN_CONNECT, .match = lane, .stall = 1, HPQ_AT},
                 HPQ_SEND("SET DateStyle"), HPQ_FINISH);
    }
    hpq_raise_when_stalled(SIGTERM, 2);
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), HPQ_NO_ROW("FROM tdi.source_state"),
               HPQ_NO_ROW("FROM tdi.source_state"), HPQ_COMMAND("BEGIN"));
    ledger_rows(ledger, 0, 0);
    hpq_script(HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_SEND_P("UPDATE tdi.run SET ended_at", "5|interrupted|10|\\N"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_ERR_INTERRUPTED);
    tdi_signal_reset();
    /* No source's summary: none was merged. The two read are recorded as begun and stopped (an
     * attempt, nothing extracted), the third as not read. */
    assert_string_equal(strchr(fx.out, '\n'), "\n");
    assert_string_equal(fx.log.text, "stopped by signal 15; nothing of this run was published\n");
    assert_string_equal(ledger[0], "5|alder|full|\\N|1|0|0|0|interrupted|\\N|\\N|\\N|\\N");
    assert_string_equal(ledger[1], "5|birch|full|\\N|1|0|0|0|interrupted|\\N|\\N|\\N|\\N");
    assert_string_equal(ledger[2], "5|cedar|not read|\\N|0|0|0|0|interrupted|\\N|\\N|\\N|\\N");
    finish();
}

/* out/quarantine made a file: no quarantine file can be made there (out exists by then). */
static void quarantine_blocked(void)
{
    char path[128];

    snprintf(path, sizeof path, "%s/out/quarantine", fx.dir);
    write_file(path, "", 0600);
}

/* A reader's failure that stops the run (its quarantine file cannot be made: out/quarantine turns
 * into a file once the sources are planned), three sources two at a time: the other readers
 * stop, nothing is merged, no clinic is asked for anything, the run fails with the reader's
 * error. */
static void parallel_reader_fails(void **state)
{
    char ledger[NSRC][HPQ_CAPTURE_MAX], want[256], row[512];

    (void)state;
    setup_sources(2);
    hpq_script(RUN_START, HPQ_NO_ROW("FROM tdi.source_state"), HPQ_NO_ROW("FROM tdi.source_state"),
               HPQ_SEND("FROM tdi.source_state"),
               HPQ_RESULT_ROWS(1, ((const char *const[]){"v"}), 0, NULL),
               {.fn = HPQ_FN_RESULT, .none = 1, .then = quarantine_blocked, HPQ_AT},
               HPQ_COMMAND("BEGIN"));
    ledger_rows(ledger, 0, 0);
    hpq_script(HPQ_COMMAND("INSERT INTO tdi.route"), HPQ_SEND("UPDATE tdi.run SET ended_at"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
    assert_int_equal(run(), TDI_ERR_OUTPUT);
    assert_string_equal(strchr(fx.out, '\n'), "\n");
    /* alder is read first, whichever reader takes it; birch by the other reader, or not at all
     * when alder's failure came first; cedar never (both readers have stopped by then) */
    snprintf(want, sizeof want, "%s/out/quarantine: cannot open directory: Not a directory",
             fx.dir);
    assert_non_null(strstr(fx.log.text, want));
    assert_non_null(
        strstr(fx.log.text, "\nrun failed (output); nothing of this run was published\n"));
    snprintf(row, sizeof row, "5|alder|full|\\N|1|0|0|0|output|%s|\\N|\\N|\\N", want);
    assert_string_equal(ledger[0], row);
    snprintf(row, sizeof row, "5|birch|full|\\N|1|0|0|0|output|%s|\\N|\\N|\\N", want);
    if (strcmp(ledger[1], row) != 0)
        assert_string_equal(ledger[1], "5|birch|not read|\\N|0|0|0|0|output|\\N|\\N|\\N|\\N");
    assert_string_equal(ledger[2], "5|cedar|not read|\\N|0|0|0|0|output|\\N|\\N|\\N|\\N");
    finish();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parallel_same_as_serial),
        cmocka_unit_test(parallel_source_fails),
        cmocka_unit_test_teardown(parallel_stopped, teardown),
        cmocka_unit_test_teardown(parallel_reader_fails, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
