/* Unit tests for state/ (the public state.h only) against the scripted libpq (harness_pq):
 * opening, the schema check and migrations, the run lock, the ledger, the closed years, the
 * source marks and lookups, the delta pass's actions (its COPYs: test_st_copy.c), the
 * re-identification check and the commit's paths. Statements are matched by short substrings, so
 * moving the SQL around breaks nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_codes.h"
#include "test_st.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void open_and_close(void **state)
{
    state_db *st = (state_db *)1;

    (void)state;
    closed(opened());
    state_close(NULL);
    hpq_script(HPQ_CONNECT_FAIL(CONNINFO, 2, "Connection refused\n"), HPQ_FINISH);
    assert_int_equal(state_open(CONNINFO, &st), TDI_ERR_STATE);
    assert_null(st);
    assert_string_equal(logged.text, "state database: connecting failed: Connection refused\n");
    hpq_done();
}

/* The schema version this tdi knows, as text: the tests follow it. */
#define VERSION_(v)  #v
#define VERSION_S(v) VERSION_(v)
#define VERSION      VERSION_S(STATE_SCHEMA_VERSION)

/* The schema check: missing, older, current, newer. */
static void check_versions(void **state)
{
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(HPQ_VALUE("to_regclass('tdi.schema_version')", "f"), HPQ_VALUE("to_regclass", "t"),
               HPQ_VALUE("max(version)", "3"), HPQ_VALUE("to_regclass", "t"),
               HPQ_VALUE("max(version)", VERSION), HPQ_VALUE("to_regclass", "t"),
               HPQ_VALUE("max(version)", "99"),
               HPQ_FAILS("to_regclass", "42501", "permission denied for schema tdi"));
    assert_int_equal(state_check(st), TDI_ERR_STATE);
    assert_int_equal(state_check(st), TDI_ERR_STATE);
    assert_int_equal(state_check(st), TDI_OK);
    assert_int_equal(state_check(st), TDI_ERR_STATE);
    assert_int_equal(state_check(st), TDI_ERR_STATE);
    assert_string_equal(
        logged.text,
        "state database: no tdi schema in it: run 'tdi init' with this configuration first\n"
        "state database: schema version 3 is older than this tdi needs (" VERSION
        "): run 'tdi init' with "
        "this configuration to upgrade it\n"
        "state database: schema version 99 is newer than this tdi knows (" VERSION
        "): use a newer tdi\n"
        "state database: reading the schema version failed: permission denied for schema tdi "
        "(SQLSTATE 42501)\n");
    closed(st);
}

/* One migration applied: its own transaction under the migration lock, recorded. */
#define MIGRATION(from, version)                                                                   \
    HPQ_COMMAND("BEGIN"), HPQ_VALUE("pg_advisory_xact_lock", ""),                                  \
        HPQ_VALUE("to_regclass", (from) ? "t" : "f"), HPQ_VALUE("max(version)", #from),            \
        HPQ_COMMAND(NULL), HPQ_COMMAND("INSERT INTO tdi.schema_version"), HPQ_COMMAND("COMMIT")

static void migrate_from_nothing(void **state)
{
    state_db *st;
    int from = -1, to = -1;

    (void)state;
    st = opened();
    hpq_script(HPQ_VALUE("to_regclass", "f"), HPQ_COMMAND("BEGIN"),
               HPQ_VALUE("pg_advisory_xact_lock", ""), HPQ_VALUE("to_regclass", "f"),
               HPQ_COMMAND("CREATE SCHEMA tdi"), HPQ_SEND("INSERT INTO tdi.schema_version"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"),
               MIGRATION(1, 2), MIGRATION(2, 3), MIGRATION(3, 4), MIGRATION(4, 5), MIGRATION(5, 6),
               MIGRATION(6, 7), MIGRATION(7, 8), MIGRATION(8, 9), MIGRATION(9, 10),
               MIGRATION(10, 11), MIGRATION(11, 12), MIGRATION(12, 13), MIGRATION(13, 14),
               MIGRATION(14, 15), MIGRATION(15, 16));
    assert_int_equal(state_migrate(st, &from, &to), TDI_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, STATE_SCHEMA_VERSION);
    assert_string_equal(logged.text, "");
    closed(st);
}

/* Up to date: nothing to do; newer: refused; a second tdi init found the work done while it
 * waited for the lock; a migration that fails is rolled back and the version stays. */
static void migrate_other_cases(void **state)
{
    state_db *st;
    int from = -1, to = -1;

    (void)state;
    st = opened();
    hpq_script(HPQ_VALUE("to_regclass", "t"), HPQ_VALUE("max(version)", VERSION));
    assert_int_equal(state_migrate(st, &from, &to), TDI_OK);
    assert_int_equal(from, STATE_SCHEMA_VERSION);
    assert_int_equal(to, STATE_SCHEMA_VERSION);
    hpq_script(HPQ_VALUE("to_regclass", "t"), HPQ_VALUE("max(version)", "99"));
    assert_int_equal(state_migrate(st, &from, &to), TDI_ERR_STATE);
    assert_int_equal(to, 99);
    /* from 2: each migration's transaction finds another init has brought it up to date */
    hpq_script(HPQ_VALUE("to_regclass", "t"), HPQ_VALUE("max(version)", "2"));
    for (int v = 3; v <= STATE_SCHEMA_VERSION; v++)
        hpq_script(HPQ_COMMAND("BEGIN"), HPQ_VALUE("pg_advisory_xact_lock", ""),
                   HPQ_VALUE("to_regclass", "t"), HPQ_VALUE("max(version)", VERSION),
                   HPQ_COMMAND("COMMIT"));
    assert_int_equal(state_migrate(st, &from, &to), TDI_OK);
    assert_int_equal(from, 2);
    assert_int_equal(to, STATE_SCHEMA_VERSION);
    hpq_script(HPQ_VALUE("to_regclass", "t"), HPQ_VALUE("max(version)", "2"), HPQ_COMMAND("BEGIN"),
               HPQ_VALUE("pg_advisory_xact_lock", ""), HPQ_VALUE("to_regclass", "t"),
               HPQ_VALUE("max(version)", "2"),
               HPQ_FAILS(NULL, "42P07", "relation \"x\" already exists"), HPQ_COMMAND("ROLLBACK"));
    assert_int_equal(state_migrate(st, &from, &to), TDI_ERR_STATE);
    assert_int_equal(to, 2);
    assert_string_equal(
        logged.text,
        "state database: schema version 99 is newer than this tdi knows (" VERSION
        "): use a newer tdi\n"
        "state database: applying a migration failed: relation \"x\" already exists (SQLSTATE "
        "42P07)\n");
    closed(st);
}

/* The run lock: taken; held by another session (named), or by one that cannot be named. */
static void run_lock(void **state)
{
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(HPQ_VALUE("pg_try_advisory_lock(7627881, 1)", "t"),
               HPQ_VALUE("pg_try_advisory_lock", "f"), HPQ_VALUE("FROM pg_locks", "4242"),
               HPQ_VALUE("pg_try_advisory_lock", "f"), HPQ_VALUE("FROM pg_locks", HPQ_NULL));
    assert_int_equal(state_lock(st), TDI_OK);
    assert_int_equal(state_lock(st), TDI_ERR_LOCKED);
    assert_int_equal(state_lock(st), TDI_ERR_LOCKED);
    assert_string_equal(logged.text,
                        "another tdi run is active (it holds the run lock in the state database, "
                        "server process 4242); this one stops without changing anything\n"
                        "another tdi run is active (it holds the run lock in the state database, "
                        "server process unknown); this one stops without changing anything\n");
    /* taken, so released before the session ends: a run right after finds it free */
    hpq_script(HPQ_VALUE("pg_advisory_unlock(7627881, 1)", "t"));
    closed(st);
}

/* The ledger: a run recorded (abandoned ones closed first), a run id taken, the end. */
static void ledger(void **state)
{
    char params[128];
    state_db *st;
    int64_t run_no = -1;
    int taken = -1;

    (void)state;
    st = opened();
    hpq_script(HPQ_COMMAND("SET status = 'abandoned'"), HPQ_VALUE("INSERT INTO tdi.run ", "17"),
               HPQ_COMMAND("SET status = 'abandoned'"), HPQ_NO_ROW("INSERT INTO tdi.run "));
    assert_int_equal(state_run_begin(st, "20250101T000000Z", 2025, 1, &run_no, &taken), TDI_OK);
    assert_int_equal(run_no, 17);
    assert_int_equal(taken, 0);
    assert_int_equal(state_run_begin(st, "20250101T000000Z", 2025, 0, &run_no, &taken), TDI_OK);
    assert_int_equal(run_no, 0);
    assert_int_equal(taken, 1);
    snprintf(params, sizeof params, "17|source|%d|source riverside failed", TDI_ERR_SOURCE);
    hpq_script(HPQ_SEND_P("UPDATE tdi.run SET ended_at", params), HPQ_RESULT(PGRES_COMMAND_OK),
               HPQ_RESULT_NONE, HPQ_SEND_P("UPDATE tdi.run SET ended_at", "18|ok|0|\\N"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE);
    assert_int_equal(state_run_end(st, 17, TDI_ERR_SOURCE, "source riverside failed"), TDI_OK);
    assert_int_equal(state_run_end(st, 18, TDI_OK, ""), TDI_OK);
    closed(st);
}

static void print_runs(void **state)
{
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    state_db *st;

    (void)state;
    assert_non_null(fp);
    st = opened();
    hpq_script(HPQ_ROWS("FROM tdi.run ORDER BY run_no DESC", 10, 0, NULL),
               HPQ_ROWS("FROM tdi.run ORDER BY run_no DESC", 10, 2, "18", "R18", "2025", "full",
                        "failed", "5", "2025-03-01 02:00:00Z", "2025-03-01 02:00:09Z", "9 s",
                        "source riverside failed", "17", "R17", "2025", "normal", "running", "-",
                        "2025-02-01 02:00:00Z", "-", "-", ""),
               HPQ_ROWS("FROM tdi.run_source", 9, 2, "eastside", "ok", "incremental",
                        "2025-02-01T02:00:00.000000Z", "1", "10", "9", "1", "", "riverside",
                        "source", "full", "", "3", "0", "0", "0", "connection refused"),
               HPQ_ROWS("FROM tdi.run_file", 8, 3, "submission", "nl", "4", "9", "2", "1",
                        "/out/nl-4.xml.gz", "ab12", "tables", "nl", "", "30", "0", "0",
                        "/out/nl-tables.xml", "cd34", "quarantine", "eastside", "", "1", "0", "0",
                        "/out/q.csv", "ef56"),
               HPQ_ROWS("FROM tdi.run_source", 9, 0, NULL),
               HPQ_ROWS("FROM tdi.run_file", 8, 0, NULL));
    assert_int_equal(state_print_runs(st, 5, fp), TDI_OK);
    assert_int_equal(state_print_runs(st, 5, fp), TDI_OK);
    fclose(fp);
    assert_string_equal(out,
                        "no runs recorded yet\n"
                        "run R18: year 2025, --full, failed (exit 5)\n"
                        "  started 2025-03-01 02:00:00Z, ended 2025-03-01 02:00:09Z, took 9 s\n"
                        "  message: source riverside failed\n"
                        "  source eastside: ok, incremental since 2025-02-01T02:00:00.000000Z, "
                        "1 attempt: extracted 10, written 9, quarantined 1\n"
                        "  source riverside: source, full, 3 attempts: extracted 0, written 0, "
                        "quarantined 0\n"
                        "    error: connection refused\n"
                        "  body nl: sequence 4, 9 records (2 replaces), 1 deletes -> "
                        "/out/nl-4.xml.gz\n"
                        "    sha256 ab12\n"
                        "  tables nl: 30 " TDI_POPULATION " -> /out/nl-tables.xml\n"
                        "    sha256 cd34\n"
                        "  quarantine eastside: 1 rows -> /out/q.csv\n"
                        "    sha256 ef56\n"
                        "run R17: year 2025, running (exit -)\n"
                        "  started 2025-02-01 02:00:00Z, ended -, took -\n");
    free(out);
    closed(st);
}

/* Closing and reopening a year, and asking whether it is closed. */
static void years(void **state)
{
    char since[64] = "x";
    state_db *st;
    int closed_ = -1, changed = -1;

    (void)state;
    st = opened();
    hpq_script(HPQ_VALUE("FROM tdi.closed_year WHERE year", "2026-01-05 10:00:00Z by ops"),
               HPQ_NO_ROW("FROM tdi.closed_year WHERE year"),
               HPQ_SEND_P("INSERT INTO tdi.closed_year", "2025|ops"),
               HPQ_RESULT_ROWS(1, HPQ_STRINGS("year"), 1, HPQ_STRINGS("2025")), HPQ_RESULT_NONE,
               HPQ_NO_ROW("INSERT INTO tdi.closed_year"),
               HPQ_SEND_P("DELETE FROM tdi.closed_year", "2025|ops"),
               HPQ_RESULT_ROWS(1, HPQ_STRINGS("year"), 1, HPQ_STRINGS("2025")), HPQ_RESULT_NONE);
    assert_int_equal(state_year_closed(st, 2025, &closed_, since, sizeof since), TDI_OK);
    assert_int_equal(closed_, 1);
    assert_string_equal(since, "2026-01-05 10:00:00Z by ops");
    assert_int_equal(state_year_closed(st, 2025, &closed_, since, sizeof since), TDI_OK);
    assert_int_equal(closed_, 0);
    assert_string_equal(since, "");
    assert_int_equal(state_year_set(st, 2025, 1, "ops", &changed), TDI_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(state_year_set(st, 2025, 1, "ops", &changed), TDI_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(state_year_set(st, 2025, 0, "ops", &changed), TDI_OK);
    assert_int_equal(changed, 1);
    closed(st);
}

/* The source marks and the small lookups before a run reads its sources. */
static void marks_and_lookups(void **state)
{
    char bound[STATE_TIME_MAX];
    state_mark mark;
    state_db *st;
    uint64_t seq = 0;
    int seen = -1, same = -1, due = -1;

    (void)state;
    st = opened();
    hpq_script(
        HPQ_SEND_P("FROM tdi.source_state", "riverside|2025"),
        HPQ_RESULT_ROWS(1, HPQ_STRINGS("v"), 1, HPQ_STRINGS("2025-05-01T00:00:00.000000Z|fp1")),
        HPQ_RESULT_NONE, HPQ_VALUE("FROM tdi.source_state", "|fp2"),
        HPQ_NO_ROW("FROM tdi.source_state"),
        HPQ_SEND_P("make_interval", "2025-05-01T00:00:00.000000Z|600"),
        HPQ_RESULT_ROWS(1, HPQ_STRINGS("v"), 1, HPQ_STRINGS("2025-04-30T23:50:00.000000Z")),
        HPQ_RESULT_NONE, HPQ_VALUE("FROM tdi.route", "t"), HPQ_VALUE("FROM tdi.route", "f"),
        HPQ_VALUE("f.kind = 'quarantine'", "ab12"), HPQ_VALUE("f.kind = 'quarantine'", "cd34"),
        HPQ_NO_ROW("f.kind = 'quarantine'"), HPQ_VALUE("tables_sequence", "t"),
        HPQ_NO_ROW("tables_sequence"), HPQ_VALUE("FROM tdi.body_sequence", "5"));
    assert_int_equal(state_source_mark(st, "riverside", 2025, &mark), TDI_OK);
    assert_int_equal(mark.known, 1);
    assert_string_equal(mark.watermark, "2025-05-01T00:00:00.000000Z");
    assert_string_equal(mark.fingerprint, "fp1");
    assert_int_equal(state_source_mark(st, "riverside", 2025, &mark), TDI_OK);
    assert_int_equal(mark.known, 1);
    assert_string_equal(mark.watermark, "");
    assert_string_equal(mark.fingerprint, "fp2");
    assert_int_equal(state_source_mark(st, "riverside", 2025, &mark), TDI_OK);
    assert_int_equal(mark.known, 0);
    assert_int_equal(state_time_minus(st, "2025-05-01T00:00:00.000000Z", 600, bound, sizeof bound),
                     TDI_OK);
    assert_string_equal(bound, "2025-04-30T23:50:00.000000Z");
    assert_int_equal(state_route_seen(st, "nl", "riverside", 2025, &seen), TDI_OK);
    assert_int_equal(seen, 1);
    assert_int_equal(state_route_seen(st, "nl", "riverside", 2025, &seen), TDI_OK);
    assert_int_equal(seen, 0);
    assert_int_equal(state_quarantine_same(st, "riverside", 2025, "ab12", &same), TDI_OK);
    assert_int_equal(same, 1);
    assert_int_equal(state_quarantine_same(st, "riverside", 2025, "ab12", &same), TDI_OK);
    assert_int_equal(same, 0);
    assert_int_equal(state_quarantine_same(st, "riverside", 2025, "ab12", &same), TDI_OK);
    assert_int_equal(same, 0);
    assert_int_equal(state_tables_due(st, "nl", 2025, &due), TDI_OK);
    assert_int_equal(due, 1);
    assert_int_equal(state_tables_due(st, "nl", 2025, &due), TDI_OK);
    assert_int_equal(due, 0);
    assert_int_equal(state_next_sequence(st, "nl", 2025, &seq), TDI_OK);
    assert_int_equal(seq, 5);
    closed(st);
}

/* A source read again: its rows dropped (records, rows seen and quarantined, key scan); the
 * repeated keys found per source, among the records and the quarantined rows. */
static void forget_and_duplicates(void **state)
{
    char example[2 * 16];
    unsigned long count[2] = {9, 9};
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(HPQ_SEND_P("DELETE FROM tdi.run_rec WHERE src", "1"), HPQ_RESULT(PGRES_COMMAND_OK),
               HPQ_RESULT_NONE, HPQ_COMMAND("DELETE FROM run_seen WHERE src"),
               HPQ_COMMAND("DELETE FROM run_rej WHERE src = $1) DELETE FROM run_present WHERE src"),
               HPQ_FAILS("DELETE FROM tdi.run_rec", "57P01", "terminating connection"),
               /* the records whose key a marked record or a quarantined row that is a probe has,
                * grouped with the quarantined rows (body -1) */
               HPQ_ROWS("FROM tdi.run_rec WHERE (eid, src) IN (SELECT eid, src FROM tdi.run_rec "
                        "WHERE again UNION ALL SELECT eid, src FROM run_rej WHERE probe) UNION ALL "
                        "SELECT src, eid, -1 FROM run_rej) c GROUP BY src, eid HAVING count(*) > "
                        "count(DISTINCT body) OR min(body) < 0 AND count(*) > 1",
                        3, 2, "1", "2", "eid7", "5", "1", "x"));
    assert_int_equal(state_forget_source(st, 1), TDI_OK);
    assert_int_equal(state_forget_source(st, 1), TDI_ERR_STATE);
    assert_int_equal(state_duplicates(st, 2, count, example, 16), TDI_OK);
    assert_int_equal(count[0], 0);
    assert_int_equal(count[1], 2);
    assert_string_equal(example, "");
    assert_string_equal(example + 16, "eid7");
    closed(st);
}

/* A nightly pass up to how few its records are (few_sql answers few): the run's sources and
 * bodies as arrays, the year's table of tdi.sent analysed when its statistics are stale ("year";
 * the first pass only), what is gone. */
#define NIGHT_HEAD(few)                                                                            \
    HPQ_SEND_P("INSERT INTO run_src", "{\"riverside\",\"eastside\"}|{\"R1\",\"R2\"}|{t,t}|{t,f}"), \
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,                                             \
        HPQ_SEND_P("INSERT INTO run_body", "{\"nl\",\"be\"}|{t,f}|{\"centre\",\"national\"}"),     \
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,                                             \
        HPQ_SEND_P("n_mod_since_analyze", "2025|sent_2025"),                                       \
        HPQ_RESULT_ROWS(1, ((const char *const[]){"v"}), 1, ((const char *const[]){"year"})),      \
        HPQ_RESULT_NONE, HPQ_COMMAND("ANALYZE tdi.\"sent_2025\""),                                 \
        HPQ_COMMAND("ANALYZE tdi.run_rec"), HPQ_VALUE("FROM run_src WHERE NOT full_read", "f"),    \
        HPQ_VALUE("ORDER BY s.eid LIMIT 1) x WHERE b.served", "f"),                                \
        HPQ_SEND_P("CREATE TEMP TABLE run_gone", "2025"), HPQ_RESULT(PGRES_COMMAND_OK),            \
        HPQ_RESULT_NONE, HPQ_VALUE("WHEN r * 200 < h THEN 'persons' WHEN r * 20 < h THEN", few)

/* The action pass of a night with very few records ('persons'): the statements in order, the
 * persons as sent by key, their other rows by the year's index by person (made when missing), the
 * counts per body, the sources to read again, R018; its patch after episodes were read again
 * (nothing when they differ from what was sent); a second pass starts over. */
static void actions(void **state)
{
    const state_source_in sources[2] = {{"riverside", "R1", 1, 1}, {"eastside", "R2", 1, 0}};
    const state_body_in bodies[2] = {{"nl", 1, "centre"}, {"be", 0, "national"}};
    state_counts counts[2];
    unsigned char reread[2];
    unsigned long r018[2], differ = 0;
    int patched = 0;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(
        NIGHT_HEAD("persons"),
        HPQ_SEND_P("CROSS JOIN LATERAL (SELECT t.person, t.eid FROM tdi.sent t", "2025"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("ANALYZE run_touched"),
        HPQ_SEND_P("SELECT tdi.sent_person_index($1::integer)", "2025"),
        HPQ_RESULT_ROWS(1, HPQ_STRINGS("v"), 1, HPQ_STRINGS("t")), HPQ_RESULT_NONE,
        HPQ_SEND_P("AND coalesce(s.person, s.eid) = t.person OFFSET 0) sent\n", "2025"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("ANALYZE run_held"),
        HPQ_SEND_P("CREATE TEMP TABLE run_rank AS\nWITH ranked AS NOT MATERIALIZED (SELECT * FROM "
                   "run_held h WHERE NOT h.gone),\nlater AS (SELECT w.body, w.eid, w.pos FROM (",
                   "2025|f"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("CREATE TEMP TABLE run_action"),
        HPQ_COMMAND("SET default_statistics_target = 10; ANALYZE run_action (body, action, src, "
                    "pos); RESET default_statistics_target"),
        HPQ_ROWS("GROUP BY body, action", 3, 5, "0", "a", "3", "0", "r", "1", "1", "d", "2", "0",
                 "f", "1", "9", "a", "1"),
        HPQ_ROWS("action = 'f'", 2, 1, "1", "2"), HPQ_ROWS("k.earlier", 2, 2, "0", "4", "7", "1"));
    assert_int_equal(state_actions(st, 2025, sources, 2, bodies, 2, counts, reread, r018), TDI_OK);
    assert_int_equal(counts[0].appends, 3);
    assert_int_equal(counts[0].replaces, 1);
    assert_int_equal(counts[0].deletes, 0);
    assert_int_equal(counts[1].deletes, 2);
    assert_int_equal(counts[1].appends, 0);
    assert_int_equal(reread[0], 0);
    assert_int_equal(reread[1], 1);
    assert_int_equal(r018[0], 4);
    assert_int_equal(r018[1], 0);
    /* eastside's episode read again (spool position 17 on) differs from what was sent: nothing
     * patched, nothing else asked; then it is as sent: the 'f' becomes a replace, the counts and
     * R018 are counted again, nothing is left to read again */
    hpq_script(HPQ_COMMAND("ANALYZE tdi.run_rec (pos, body, eid)"),
               HPQ_SEND_P("FULL JOIN sent s", "17|2025|f"),
               HPQ_RESULT_ROWS(1, ((const char *const[]){"n"}), 1, ((const char *const[]){"2"})),
               HPQ_RESULT_NONE);
    assert_int_equal(state_actions_patch(st, 17, 2, 2, counts, reread, r018, &patched, &differ),
                     TDI_OK);
    assert_int_equal(patched, 0);
    assert_int_equal(differ, 2);
    assert_int_equal(reread[1], 1);
    hpq_script(HPQ_COMMAND("ANALYZE tdi.run_rec (pos, body, eid)"),
               HPQ_VALUE("FULL JOIN sent s", "0"),
               HPQ_SEND_P("UPDATE run_action a SET action = 'r', pos = rr.pos", "17"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_ROWS("GROUP BY body, action", 3, 3, "0", "a", "3", "0", "r", "1", "1", "r", "1"),
               HPQ_ROWS("k.earlier", 2, 1, "1", "1"));
    assert_int_equal(state_actions_patch(st, 17, 2, 2, counts, reread, r018, &patched, &differ),
                     TDI_OK);
    assert_int_equal(patched, 1);
    assert_int_equal(differ, 0);
    assert_int_equal(counts[0].appends, 3);
    assert_int_equal(counts[0].replaces, 1);
    assert_int_equal(counts[1].replaces, 1);
    assert_int_equal(counts[1].deletes, 0);
    assert_int_equal(reread[0] + reread[1], 0);
    assert_int_equal(r018[0], 0);
    assert_int_equal(r018[1], 1);
    /* the comparison fails: an error, nothing patched */
    hpq_script(HPQ_COMMAND("ANALYZE tdi.run_rec (pos, body, eid)"),
               HPQ_FAILS("FULL JOIN sent s", "57P01", "terminating connection"));
    assert_int_equal(state_actions_patch(st, 17, 2, 2, counts, reread, r018, &patched, &differ),
                     TDI_ERR_STATE);
    assert_int_equal(patched, 0);
    hpq_script(HPQ_COMMAND("DROP TABLE IF EXISTS run_action"), HPQ_COMMAND("INSERT INTO run_src"),
               HPQ_COMMAND("INSERT INTO run_body"), HPQ_COMMAND("ANALYZE tdi.run_rec"),
               HPQ_VALUE("FROM run_src WHERE NOT full_read", "t"),
               HPQ_VALUE("ORDER BY s.eid LIMIT 1) x WHERE b.served", "f"),
               HPQ_COMMAND("CREATE TEMP TABLE run_gone"),
               HPQ_SEND_P("CREATE TEMP TABLE run_touched AS SELECT NULL::bytea", ""),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("ANALYZE run_touched"),
               HPQ_FAILS("CREATE TEMP TABLE run_held", "53100", "could not extend file"));
    assert_int_equal(state_actions(st, 2025, sources, 2, bodies, 2, counts, reread, r018),
                     TDI_ERR_STATE);
    assert_int_equal(counts[0].appends, 0);
    closed(st);
}

/* Fewer records than a twentieth of what is held, not a two-hundredth ('keys'): the persons as sent
 * by key, their other rows by a scan of the year (no index made); more ('scan'): both by the
 * year's scan. run_held fails here: the statements up to it are what is checked. */
static void actions_few_or_many(void **state)
{
    const state_source_in sources[2] = {{"riverside", "R1", 1, 1}, {"eastside", "R2", 1, 0}};
    const state_body_in bodies[2] = {{"nl", 1, "centre"}, {"be", 0, "national"}};
    static const char *const answers[2] = {"keys", "scan"};
    static const char *const touched[2] = {"CROSS JOIN LATERAL (SELECT t.person, t.eid",
                                           "UNION SELECT coalesce(sent.person, sent.eid) FROM rec"};
    state_counts counts[2];
    unsigned char reread[2];
    unsigned long r018[2];

    (void)state;
    for (int i = 0; i < 2; i++) {
        state_db *st = opened();

        hpq_script(NIGHT_HEAD(answers[i]), HPQ_SEND_P(touched[i], "2025"),
                   HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
                   HPQ_COMMAND("ANALYZE run_touched"),
                   HPQ_SEND_P("IN (SELECT person FROM run_touched)", "2025|f"),
                   HPQ_RESULT_ERROR("53100", "could not extend file"), HPQ_RESULT_NONE);
        assert_int_equal(state_actions(st, 2025, sources, 2, bodies, 2, counts, reread, r018),
                         TDI_ERR_STATE);
        closed(st);
    }
}

/* A first submission of the year (the served bodies hold nothing of it): tdi.sent analysed as a
 * whole when a served body is missing from its statistics ("all"), the year's table of tdi.sent
 * made unless it exists (migration 11), run_held is a view of the records, the ranking
 * goes straight into run_action, run_rank is a view of that; the whole year is ranked (no touched
 * persons: run_touched empty); a second pass drops the views. */
/* A first submission's pass up to its ranking: its work_mem (ST_FIRST_SETTINGS), what the bodies
 * hold, a view of run_rec. */
#define FIRST_HELD                                                                                 \
    HPQ_COMMAND("INSERT INTO run_src"), HPQ_COMMAND("INSERT INTO run_body"),                       \
        HPQ_VALUE("n_mod_since_analyze", "all"), HPQ_COMMAND("ANALYZE tdi.sent"),                  \
        HPQ_COMMAND("ANALYZE tdi.run_rec"), HPQ_VALUE("FROM run_src WHERE NOT full_read", "f"),    \
        HPQ_VALUE("ORDER BY s.eid LIMIT 1) x WHERE b.served", "t"),                                \
        HPQ_VALUE("SELECT tdi.sent_year_table($1::integer)", ""),                                  \
        HPQ_COMMAND("CREATE TEMP TABLE run_gone"),                                                 \
        HPQ_SEND_P("CREATE TEMP TABLE run_touched AS SELECT NULL::bytea", ""),                     \
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("ANALYZE run_touched"),         \
        HPQ_COMMAND("SET work_mem = '16MB'"),                                                      \
        HPQ_COMMAND("CREATE TEMP VIEW run_held AS\nSELECT r.body, r.pos, r.src, r.eid, "           \
                    "r.ekey, r.person, r.centre, r.start_ymd, r.drug,\n       true AS fresh")
/* Its ranking sent (the results are the caller's), straight into run_action. */
#define FIRST_RANK                                                                                 \
    HPQ_SEND_P("LEFT JOIN run_src rs ON rs.src = h.src WHERE h.drug) w WHERE w.n > 1)\n"           \
               "SELECT h.body, h.pos, h.src, h.eid, h.ekey, 'a'::text AS action,\n"                \
               "       h.drug AND l.eid IS NULL AS entrant,",                                      \
               "2025")
/* After the ranking: run_rank a view, run_action analysed. */
#define FIRST_VIEWS                                                                                \
    HPQ_COMMAND("CREATE TEMP VIEW run_rank AS\nSELECT body, pos, src, eid, ekey, true "            \
                "AS fresh, true AS changed,\n       NULL::boolean AS was_entrant, "                \
                "NULL::boolean AS was_earlier, entrant, earlier\n  FROM run_action"),              \
        HPQ_COMMAND("SET default_statistics_target = 10; ANALYZE run_action (body, action, src, "  \
                    "pos); RESET default_statistics_target")
/* Then 7 appends counted; no 'f' actions looked for (a first submission has none). */
#define FIRST_TAIL                                                                                 \
    FIRST_VIEWS, HPQ_ROWS("GROUP BY body, action", 3, 1, "0", "a", "7"), HPQ_ROWS("k.earlier", 2, 0)

static void actions_first_submission(void **state)
{
    const state_source_in sources[1] = {{"riverside", "R1", 1, 0}};
    const state_body_in bodies[1] = {{"nl", 1, "centre"}};
    state_counts counts[1];
    unsigned char reread[1];
    unsigned long r018[1], differ = 0;
    int patched = 1;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(FIRST_HELD, FIRST_RANK, HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, FIRST_TAIL);
    assert_int_equal(state_actions(st, 2025, sources, 1, bodies, 1, counts, reread, r018), TDI_OK);
    assert_int_equal(counts[0].appends, 7);
    assert_int_equal(counts[0].replaces, 0);
    assert_int_equal(reread[0], 0);
    /* nothing held as sent, nothing to patch: no statement */
    assert_int_equal(state_actions_patch(st, 7, 1, 1, counts, reread, r018, &patched, &differ),
                     TDI_OK);
    assert_int_equal(patched, 0);
    assert_int_equal(counts[0].appends, 7);
    /* its commit reads what it writes from run_action alone (no join with run_rec) */
    hpq_script(HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"),
               HPQ_COMMAND("DELETE FROM tdi.reid_kept"),
               HPQ_SEND("WITH new AS NOT MATERIALIZED (SELECT person, count(*) AS n FROM "
                        "(SELECT person FROM run_action\n"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE);
    assert_int_equal(state_commit_send(st, 2025, 0, "nl", 1, 1, 17), TDI_OK);
    assert_int_equal(state_commit_wait(st), TDI_OK);
    /* its sequence takes the figures its writer counted (7 appends, 5 of them entrants), not a
     * scan of run_action */
    hpq_script(HPQ_SEND_P("INSERT INTO tdi.body_sequence AS q (body, year, sequence, "
                          "tables_sequence, run_no, episodes, entrants, counting) SELECT $1, $2, "
                          "$3, NULL, $4, $5, $6, (SELECT counting FROM run_body WHERE name = $1)",
                          "nl|2025|1|17|7|5"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE);
    assert_int_equal(state_commit_sequence(st, 2025, "nl", 1, 17, &(state_moved){7, 5}), TDI_OK);
    assert_int_equal(state_commit_wait(st), TDI_OK);
    hpq_script(HPQ_COMMAND("DROP VIEW IF EXISTS run_rank, run_held; DROP TABLE IF EXISTS "
                           "run_action, run_touched, run_gone; TRUNCATE run_src, run_body"),
               HPQ_FAILS("INSERT INTO run_src", "57P01", "terminating connection"));
    assert_int_equal(state_actions(st, 2025, sources, 1, bodies, 1, counts, reread, r018),
                     TDI_ERR_STATE);
    closed(st);
}

/* The keys of a source's episodes whose counting changed unread: one each, sorted, in fixed
 * widths; more than the caller's maximum: none, and the count says so; a failure. */
static void unread_keys(void **state)
{
    char *keys = NULL;
    size_t n = 9;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(HPQ_ROWS("WHERE action = 'f' AND src = $1) k ORDER BY eid LIMIT $2", 1, 2, "e1:0a",
                        "e1:0b"));
    assert_int_equal(state_unread_keys(st, 1, 2, &keys, &n), TDI_OK);
    assert_int_equal(n, 2);
    assert_non_null(keys);
    assert_string_equal(keys, "e1:0a");
    assert_string_equal(keys + STATE_KEY_WIDTH, "e1:0b");
    free(keys);
    hpq_script(HPQ_SEND_P("WHERE action = 'f'", "0|2"),
               HPQ_RESULT_ROWS(1, HPQ_STRINGS("eid"), 2, HPQ_STRINGS("e1:0a", "e1:0b")),
               HPQ_RESULT_NONE, HPQ_FAILS("WHERE action = 'f'", "57P01", "terminating connection"));
    assert_int_equal(state_unread_keys(st, 0, 1, &keys, &n), TDI_OK);
    assert_int_equal(n, 2);
    assert_null(keys);
    assert_int_equal(state_unread_keys(st, 0, 1, &keys, &n), TDI_ERR_STATE);
    assert_int_equal(n, 0);
    assert_null(keys);
    closed(st);
}

/* The rows read now that no body holds, asked only in the flagged buckets: the flags go as a
 * bytea of the digest's 2^bits buckets (bucket b: bit b % 8 of byte b / 8, from the lowest;
 * here 0, 2 and 255 of 256) with the shift that takes a key's 16-bit prefix to its bucket; one
 * row, kept; more than the maximum: none; a bucket count past 16 bits: refused, nothing sent. */
static void unheld_keys(void **state)
{
    unsigned char in[STATE_KEY_BUCKETS / 8] = {0x05, [31] = 0x80};
    char *keys = NULL;
    size_t n = 9;
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(
        HPQ_SEND_P(">> $5::integer) = 1",
                   "1|riverside|2025|"
                   "\\x0500000000000000000000000000000000000000000000000000000000000080|8|3"),
        HPQ_RESULT_ROWS(1, HPQ_STRINGS("k"), 1, HPQ_STRINGS("e1:0a")), HPQ_RESULT_NONE,
        HPQ_SEND_P("NOT EXISTS",
                   "1|riverside|2025|"
                   "\\x0500000000000000000000000000000000000000000000000000000000000080|8|2"),
        HPQ_RESULT_ROWS(1, HPQ_STRINGS("k"), 2, HPQ_STRINGS("e1:0a", "e1:0b")), HPQ_RESULT_NONE);
    assert_int_equal(state_keys_unheld(st, 1, "riverside", 2025, in, 8, 2, &keys, &n), TDI_OK);
    assert_int_equal(n, 1);
    assert_non_null(keys);
    assert_string_equal(keys, "e1:0a");
    free(keys);
    assert_int_equal(state_keys_unheld(st, 1, "riverside", 2025, in, 8, 1, &keys, &n), TDI_OK);
    assert_int_equal(n, 2);
    assert_null(keys);
    assert_int_equal(state_keys_unheld(st, 1, "riverside", 2025, in, 17, 1, &keys, &n),
                     TDI_ERR_INTERNAL);
    assert_null(keys);
    closed(st);
}

/* The next action of fp is at pos with those flags. */
static void next_action(FILE *fp, uint64_t pos, int replace, int entrant, int earlier, int client)
{
    state_action a;
    int eof = -1;

    assert_int_equal(state_actions_read(fp, &a, &eof), TDI_OK);
    assert_int_equal(eof, 0);
    assert_int_equal(a.pos, pos);
    assert_int_equal(a.replace, replace);
    assert_int_equal(a.entrant, entrant);
    assert_int_equal(a.earlier, earlier);
    assert_int_equal(a.client, client);
}

/* The actions kept in a file and read back: episodes, deletes, a malformed line. */
static void actions_save_and_read(void **state)
{
    FILE *fp = tmpfile();
    state_action a;
    state_db *st;
    uint64_t lines = 99;
    int eof = -1;

    (void)state;
    assert_non_null(fp);
    st = opened();
    /* by key, then position: the order of the run's sorted spool (run_spool_sort()) */
    hpq_script(HPQ_SEND("action IN ('a', 'r') ORDER BY ekey, pos)"), HPQ_RESULT(PGRES_COPY_OUT),
               HPQ_COPY_ROW("12\ta\tt\tf\n"), HPQ_COPY_ROW("13\tr\tf\tt\n"), HPQ_COPY_DONE);
    assert_int_equal(state_actions_save(st, 0, STATE_READ_EPISODES, fp, &lines), TDI_OK);
    assert_int_equal(lines, 2);
    next_action(fp, 12, 0, 1, 0, 0);
    next_action(fp, 13, 1, 0, 1, 0);
    assert_int_equal(state_actions_read(fp, &a, &eof), TDI_OK);
    assert_int_equal(eof, 1);
    fclose(fp);

    fp = tmpfile();
    assert_non_null(fp);
    hpq_script(HPQ_SEND("action = 'd' ORDER BY ekey"), HPQ_RESULT(PGRES_COPY_OUT),
               HPQ_COPY_ROW("e1:abc\td\t\\N\t\\N\n"), HPQ_COPY_ROW("junk\n"), HPQ_COPY_DONE,
               HPQ_SEND("(SELECT 1 AS body)"), HPQ_RESULT(PGRES_COPY_OUT), HPQ_COPY_RET(-1),
               HPQ_RESULT_ERROR("57014", "canceled"), HPQ_RESULT_NONE);
    assert_int_equal(state_actions_save(st, 1, STATE_READ_DELETES, fp, NULL), TDI_OK);
    assert_int_equal(state_actions_read(fp, &a, &eof), TDI_OK);
    assert_string_equal(a.ekey, "e1:abc");
    assert_int_equal(a.entrant, 0);
    assert_int_equal(state_actions_read(fp, &a, &eof), TDI_ERR_STATE);
    assert_int_equal(state_actions_save(st, 1, STATE_READ_HELD, fp, NULL), TDI_ERR_STATE);
    fclose(fp);
    assert_string_equal(logged.text, "state database: an action line is malformed\n"
                                     "state database: reading the actions failed: canceled "
                                     "(SQLSTATE 57014)\n");

    /* what a body holds: a fifth field, the client flag, on held lines only */
    fp = tmpfile();
    assert_non_null(fp);
    hpq_script(HPQ_SEND("(SELECT 2 AS body)"), HPQ_RESULT(PGRES_COPY_OUT),
               HPQ_COPY_ROW("5\th\tt\tf\tt\n"), HPQ_COPY_ROW("6\th\tf\tf\tf\n"),
               HPQ_COPY_ROW("7\ta\tt\tf\tt\n"), HPQ_COPY_DONE);
    assert_int_equal(state_actions_save(st, 2, STATE_READ_HELD, fp, NULL), TDI_OK);
    next_action(fp, 5, 0, 1, 0, 1);
    next_action(fp, 6, 0, 0, 0, 0);
    assert_int_equal(state_actions_read(fp, &a, &eof), TDI_ERR_STATE);
    fclose(fp);

    /* a first submission's records (the file and its tables from one read): only after a first
     * submission's pass, which this session has not had; nothing is sent */
    fp = tmpfile();
    assert_non_null(fp);
    assert_int_equal(state_first(st), 0);
    logged.text[0] = '\0';
    assert_int_equal(state_actions_save(st, 2, STATE_READ_FIRST, fp, NULL), TDI_ERR_INTERNAL);
    assert_string_equal(logged.text,
                        "state database: a first submission's records asked for after another "
                        "pass\n");
    fclose(fp);
    closed(st);
}

/* The re-identification check: the first grouping alone when it is enough, from every record
 * when the state database keeps no groups of it, else from the kept groups and the run's changes;
 * the others in a second statement when it falls short; a body that holds nothing. */
#define FIGURES(...)                                                                               \
    HPQ_ROWS("FROM tdi.run_reid_g WHERE body = $1 AND g IS NULL", 10, 1, __VA_ARGS__)
static void reid_check(void **state)
{
    const unsigned masks[3] = {0x3f, 0x1f, 0};
    state_reid out[3];
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(HPQ_NO_ROW("FROM tdi.reid_kept"),
               HPQ_COMMAND("INSERT INTO tdi.run_reid_prep VALUES (0, 63, true)"),
               /* one scan of hold, the key of the six fields made once a record */
               HPQ_SEND_P("split_part(qi, '|', 6)) END AS g, person, sens\n"
                          "              FROM hold) h\n"
                          "     GROUP BY GROUPING SETS ((person, g), (g, sens))",
                          "0|0|f"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               FIGURES("10", "3", "5", "0", "2", "1", "3", "1", "0", "0.25"));
    assert_int_equal(state_reid_check(st, 0, masks, 3, 3, out), TDI_OK);
    assert_int_equal(out[0].records, 10);
    assert_int_equal(out[0].groups, 3);
    assert_int_equal(out[0].k, 5);
    assert_int_equal(out[0].at_risk, 0);
    assert_int_equal(out[0].l[0], 2);
    assert_int_equal(out[0].l[2], 3);
    assert_true(out[0].average > 0.249 && out[0].average < 0.251);
    assert_int_equal(out[1].records, 0); /* not grouped */

    /* kept groups of the first grouping: moved; k 2 under 3: the two others, one with no key
     * (every record one group), from every record. */
    hpq_script(HPQ_VALUE("FROM tdi.reid_kept", "63"),
               HPQ_COMMAND("INSERT INTO tdi.run_reid_prep VALUES (0, 63, false)"),
               HPQ_SEND_P("WITH chg AS", "0|0"), HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_SEND_P("FROM tdi.run_reid_g WHERE body = $1 AND g IS NULL", "0|3|0"),
               HPQ_RESULT_ROWS(10, HPQ_STRINGS("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), 1,
                               HPQ_STRINGS("10", "6", "2", "3", "1", "1", "1", "1", "1", "0.5")),
               HPQ_RESULT_NONE,
               HPQ_ROWS("GROUPING SETS ((k1), ())", 11, 2, "0", "10", "4", "3", "0", "1", "1", "2",
                        "1", "1", "0.3", "1", "10", "1", "9", "0", "4", "2", "5", "3", "1", "0.1"));
    assert_int_equal(state_reid_check(st, 0, masks, 3, 3, out), TDI_OK);
    assert_int_equal(out[0].k, 2);
    assert_int_equal(out[0].at_risk, 3);
    assert_int_equal(out[1].k, 3);
    assert_int_equal(out[1].groups, 4);
    assert_int_equal(out[2].k, 9);
    assert_int_equal(out[2].l[3], 3);
    assert_int_equal(out[0].legacy, 1);
    assert_int_equal(out[2].legacy, 1);

    /* kept groups of another grouping: every record */
    hpq_script(HPQ_VALUE("FROM tdi.reid_kept", "31"),
               HPQ_COMMAND("INSERT INTO tdi.run_reid_prep VALUES (1, 63, true)"),
               HPQ_COMMAND("INSERT INTO tdi.run_reid_g SELECT $1::integer, p.g"),
               FIGURES("0", "0", "0", "0", "0", "0", "0", "0", "4", "0"),
               HPQ_ROWS("GROUPING SETS ((k1), ())", 11, 0, NULL),
               HPQ_VALUE("SELECT count(*) FROM hold WHERE qi IS NULL", "4"));
    assert_int_equal(state_reid_check(st, 1, masks, 3, 3, out), TDI_OK);
    assert_int_equal(out[0].records, 0);
    assert_int_equal(out[0].legacy, 4);
    assert_int_equal(out[1].legacy, 4);
    closed(st);
}

/* The check plans body 0's first grouping (all six fields, k_min 3); no other body. */
static tdi_status plan_body0(void *arg, int b, unsigned *mask, int *k_min, int *want)
{
    (void)arg;
    *want = b == 0;
    *mask = 0x3f;
    *k_min = 3;
    return TDI_OK;
}

/* A first submission with the check's first grouping planned (state_reid_beside()): a second
 * connection opened as the first, with the run's settings; the ranking sent on the first; on the
 * second the grouping of the body's rows of tdi.run_rec and its figures; the second closed; the
 * ranking's result read. The check then takes those figures with no statement. A grouping that
 * fails there fails the pass with its message, and the ranking is cancelled. */
static void actions_first_beside(void **state)
{
    const state_source_in sources[1] = {{"riverside", "R1", 1, 0}};
    const state_body_in bodies[1] = {{"nl", 1, "centre"}};
    const unsigned masks[2] = {0x3f, 0x1f};
    state_counts counts[1];
    state_reid out[2];
    unsigned char reread[1];
    unsigned long r018[1];
    state_db *st;

    (void)state;
    st = opened();
    assert_int_equal(state_reid_beside(st, plan_body0, NULL, 1), TDI_OK);
    hpq_script(
        FIRST_HELD, HPQ_CONNECT(CONNINFO), HPQ_COMMAND("SET jit = off; SET work_mem = '16MB'"),
        FIRST_RANK, HPQ_COMMAND("INSERT INTO tdi.run_reid_prep VALUES (0, 63, true)"),
        HPQ_SEND_P("WITH hold AS NOT MATERIALIZED (SELECT person, qi, sens FROM "
                   "tdi.run_rec WHERE body = $1)",
                   "0"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND_P("FROM tdi.run_reid_g WHERE body = $1 AND g IS NULL", "0|3"),
        HPQ_RESULT_ROWS(10, HPQ_STRINGS("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), 1,
                        HPQ_STRINGS("7", "4", "1", "2", "1", "1", "1", "1", "0", "0.6")),
        HPQ_RESULT_NONE,
        /* its actions counted there too (all appends): none counted after the ranking */
        HPQ_SEND_P("SELECT count(*) FROM tdi.run_rec WHERE body = $1", "0"),
        HPQ_RESULT_ROWS(1, HPQ_STRINGS("count"), 1, HPQ_STRINGS("7")), HPQ_RESULT_NONE, HPQ_FINISH,
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, FIRST_VIEWS, HPQ_ROWS("k.earlier", 2, 0));
    assert_int_equal(state_actions(st, 2025, sources, 1, bodies, 1, counts, reread, r018), TDI_OK);
    assert_int_equal(counts[0].appends, 7);
    /* k 1 under 3: the second grouping on this connection, the first's figures as found there */
    hpq_script(HPQ_ROWS("GROUPING SETS ((k1))", 11, 1, "0", "7", "2", "3", "0", "1", "1", "1", "1",
                        "0", "0.3"));
    assert_int_equal(state_reid_check(st, 0, masks, 2, 3, out), TDI_OK);
    assert_int_equal(out[0].records, 7);
    assert_int_equal(out[0].groups, 4);
    assert_int_equal(out[0].k, 1);
    assert_int_equal(out[0].at_risk, 2);
    assert_true(out[0].average > 0.599 && out[0].average < 0.601);
    assert_int_equal(out[1].k, 3);
    closed(st);

    st = opened();
    assert_int_equal(state_reid_beside(st, plan_body0, NULL, 1), TDI_OK);
    hpq_script(
        FIRST_HELD, HPQ_CONNECT(CONNINFO), HPQ_COMMAND("SET jit = off; SET work_mem = '16MB'"),
        FIRST_RANK, HPQ_COMMAND("INSERT INTO tdi.run_reid_prep VALUES (0, 63, true)"),
        HPQ_FAILS("WITH hold AS NOT MATERIALIZED", "57014",
                  "canceling statement due to statement timeout"),
        HPQ_FINISH, HPQ_CANCEL,
        HPQ_RESULT_ERROR("57014", "canceling statement due to user request"), HPQ_RESULT_NONE);
    assert_int_equal(state_actions(st, 2025, sources, 1, bodies, 1, counts, reread, r018),
                     TDI_ERR_STATE);
    assert_non_null(strstr(logged.text, "state database: grouping the records by their "
                                        "quasi-identifiers failed: "));
    assert_non_null(strstr(logged.text, "statement timeout"));
    closed(st);
}

/* The blanking recorded for a body; every record turned into a replace. */
static void blanked_and_replace_all(void **state)
{
    char blanked[64];
    state_counts counts = {9, 9, 9};
    state_db *st;
    int found = -1;

    (void)state;
    st = opened();
    hpq_script(HPQ_VALUE("FROM tdi.body_blanking", "age sex"),
               HPQ_SEND_P("INSERT INTO run_action", "1"), HPQ_RESULT(PGRES_COMMAND_OK),
               HPQ_RESULT_NONE, HPQ_ROWS("GROUP BY action", 2, 3, "a", "2", "r", "5", "d", "1"));
    assert_int_equal(state_blanked(st, "nl", 2025, blanked, sizeof blanked, &found), TDI_OK);
    assert_int_equal(found, 1);
    assert_string_equal(blanked, "age sex");
    assert_int_equal(state_replace_all(st, 1, &counts), TDI_OK);
    assert_int_equal(counts.appends, 2);
    assert_int_equal(counts.replaces, 5);
    assert_int_equal(counts.deletes, 1);
    closed(st);
}

/* The commit that succeeds: the body's rows sent while its file is written, the body, the
 * source, the file, the routes and the ledger's end, one transaction. */
static void commit_success(void **state)
{
    unsigned long applicable[TDI_ITEM_COUNT] = {9, 9, 2}, not_known[TDI_ITEM_COUNT] = {0, 1, 2};
    char params[2048];
    size_t n;

    const state_source_out src = {.name = "riverside",
                                  .mode = "full",
                                  .attempts = 1,
                                  .extracted = 10,
                                  .written = 9,
                                  .quarantined = 1,
                                  .status = TDI_OK,
                                  .advance = 1,
                                  .watermark = "2025-05-01T00:00:00.000000Z",
                                  .fingerprint = "fp1",
                                  .applicable = applicable,
                                  .not_known = not_known};
    const state_cell cells[2] = {{"9.1.1", "1", "total", 40, 0}, {"8.1.1", "total", "2", 3, 1}};
    const state_body_out body = {"nl", 5, 7, 9, 1, "age", 812, -1, cells, 2};
    const state_file_out file = {.kind = "submission",
                                 .owner = "nl",
                                 .path = "/out/nl-4.xml.gz",
                                 .sha256 = "ab12",
                                 .sequence = 4,
                                 .records = 9,
                                 .replaces = 2,
                                 .deletes = 1};
    state_db *st;

    (void)state;
    /* the source's row with its completeness: item names, applicable, not known */
    n = (size_t)snprintf(params, sizeof params, "17|riverside|full|\\N|1|10|9|1|ok|\\N|{");
    for (size_t i = 0; i < TDI_ITEM_COUNT; i++)
        n += (size_t)snprintf(params + n, sizeof params - n, "%s\"%s\"", i ? "," : "",
                              tdi_item_get((tdi_item)i)->name);
    for (int k = 0; k < 2; k++) {
        n += (size_t)snprintf(params + n, sizeof params - n, "}|{");
        for (size_t i = 0; i < TDI_ITEM_COUNT; i++)
            n += (size_t)snprintf(params + n, sizeof params - n, "%s\"%lu\"", i ? "," : "",
                                  k ? not_known[i] : applicable[i]);
    }
    snprintf(params + n, sizeof params - n, "}");
    assert_non_null(strstr(params, "{\"setting\",\"centre_type\",\"residential_approach\","));
    assert_non_null(strstr(params, "}|{\"9\",\"9\",\"2\",\"0\","));
    st = opened();
    hpq_script(
        HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"),
        HPQ_COMMAND("DELETE FROM tdi.reid_kept"), HPQ_SEND_P("WITH old AS", "0|nl|2025|4"),
        {.fn = HPQ_FN_RESULT, .busy = 1, .res = {.status = PGRES_COMMAND_OK}, HPQ_AT},
        HPQ_RESULT_NONE,
        /* the sequence, sent while the file is read back */
        HPQ_SEND_P("INSERT INTO tdi.body_sequence", "nl|2025|4|17"),
        {.fn = HPQ_FN_RESULT, .busy = 1, .res = {.status = PGRES_COMMAND_OK}, HPQ_AT},
        HPQ_RESULT_NONE, HPQ_SEND_P("INSERT INTO tdi.body_blanking", "nl|2025|age|17"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND_P("UPDATE tdi.body_sequence SET tables_sequence = sequence", "nl|2025"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND_P("UPDATE tdi.publishing", "nl|2025|t|t"), HPQ_RESULT(PGRES_COMMAND_OK),
        HPQ_RESULT_NONE, HPQ_SEND_P("INSERT INTO tdi.run_source", params),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND_P("INSERT INTO tdi.source_state",
                   "riverside|2025|2025-05-01T00:00:00.000000Z|fp1|17"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND_P("INSERT INTO tdi.run_file", "17|/out/nl-4.xml.gz|submission|nl|4|9|2|1|ab12"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        /* a suppressed cell's value goes as 0 (the statement stores NULL) */
        HPQ_SEND_P("INSERT INTO tdi.run_body",
                   "17|nl|2025|5|7|9|t|age|812|\\N|{\"9.1.1\",\"8.1.1\"}|{\"1\",\"total\"}|"
                   "{\"total\",\"2\"}|{\"40\",\"0\"}|{\"f\",\"t\"}"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND_P("INSERT INTO tdi.route", "2025|{\"nl\",\"be\"}|{\"riverside\",\"riverside\"}"),
        HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
        HPQ_SEND_P("UPDATE tdi.run SET ended_at", "17|ok|0|\\N"), HPQ_RESULT(PGRES_COMMAND_OK),
        HPQ_RESULT_NONE, HPQ_COMMAND("COMMIT"));
    assert_int_equal(state_commit_wait(st), TDI_OK); /* nothing sent: nothing to wait for */
    assert_int_equal(state_commit_send(st, 2025, 0, "nl", 4, 0, 17), TDI_OK);
    assert_int_equal(state_commit_begin(st), TDI_OK); /* begun already */
    assert_int_equal(state_commit_wait(st), TDI_OK);
    /* not a first submission: the figures given are not taken, the actions are counted */
    assert_int_equal(state_commit_sequence(st, 2025, "nl", 4, 17, &(state_moved){7, 5}), TDI_OK);
    assert_int_equal(state_commit_wait(st), TDI_OK);
    assert_int_equal(state_commit_body(st, 2025, "nl", 4, 1, 17, "age"), TDI_OK);
    assert_int_equal(state_commit_source(st, 2025, 17, &src), TDI_OK);
    assert_int_equal(state_commit_file(st, 17, &file), TDI_OK);
    assert_int_equal(state_commit_report(st, 2025, 17, &body), TDI_OK);
    assert_int_equal(state_commit_end(st, 2025, 17,
                                      (state_route[]){{"nl", "riverside"}, {"be", "riverside"}}, 2,
                                      TDI_OK, NULL),
                     TDI_OK);
    state_commit_abort(st); /* after the end: nothing */
    assert_string_equal(logged.text, "");
    closed(st);
}

/* The commit's failures: a body's rows refused (its part undone, the file not published), the
 * tables-only update, then the COMMIT refused: everything rolled back. */
static void commit_failures(void **state)
{
    const state_source_out src = {.name = "eastside",
                                  .mode = "not read",
                                  .status = TDI_ERR_SOURCE,
                                  .error = "connection refused"};
    state_db *st;

    (void)state;
    st = opened();
    /* appends only: the statement without the deletes, replaces and old starts */
    hpq_script(HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"),
               HPQ_COMMAND("DELETE FROM tdi.reid_kept"),
               HPQ_SEND("WITH new AS (SELECT r.person, count(*) AS n"),
               HPQ_RESULT_ERROR("23505", "duplicate key value violates unique constraint"),
               HPQ_RESULT_NONE, HPQ_COMMAND("ROLLBACK TO SAVEPOINT tdi_body"),
               HPQ_SEND_P("SET tables_sequence = sequence", "be|2025"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_SEND_P("UPDATE tdi.publishing", "be|2025|f|t"), HPQ_RESULT(PGRES_COMMAND_OK),
               HPQ_RESULT_NONE,
               HPQ_SEND_P("INSERT INTO tdi.run_source", "17|eastside|not read|\\N|0|0|0|0|source|"
                                                        "connection refused|\\N|\\N|\\N"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("INSERT INTO tdi.route"),
               HPQ_COMMAND("UPDATE tdi.run SET ended_at"),
               HPQ_FAILS("COMMIT", "40001", "could not serialize access"), HPQ_COMMAND("ROLLBACK"));
    assert_int_equal(state_commit_send(st, 2025, 1, "nl", 5, 1, 17), TDI_OK);
    assert_int_equal(state_commit_wait(st), TDI_ERR_STATE);
    assert_int_equal(state_commit_undo(st), TDI_OK);
    assert_int_equal(state_commit_body(st, 2025, "be", 0, 1, 17, NULL), TDI_OK);
    assert_int_equal(state_commit_source(st, 2025, 17, &src), TDI_OK);
    assert_int_equal(state_commit_end(st, 2025, 17, NULL, 0, TDI_ERR_SOURCE, "a source failed"),
                     TDI_ERR_STATE);
    assert_int_equal(state_commit_undo(st), TDI_OK); /* no transaction: nothing */
    assert_string_equal(logged.text,
                        "state database: recording what the body was sent failed: duplicate key "
                        "value violates unique constraint (SQLSTATE 23505)\n"
                        "state database: committing failed: could not serialize access (SQLSTATE "
                        "40001)\n");
    closed(st);
}

/* The undo itself refused: the whole transaction is rolled back, the caller told. When the part
 * undone was the only one, a new transaction is fine (nothing published was in it); after an
 * earlier body's part stayed, that body's file is out and what it was sent is gone with the
 * transaction, so no new transaction may record the run's files. */
static void commit_lost_after_a_body(void **state)
{
    state_db *st;

    (void)state;
    st = opened();
    hpq_script(HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"),
               HPQ_COMMAND("DELETE FROM tdi.reid_kept"), HPQ_SEND("INSERT INTO tdi.sent"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_FAILS("ROLLBACK TO SAVEPOINT", "25P02", "current transaction is aborted"),
               HPQ_COMMAND("ROLLBACK"), HPQ_COMMAND("BEGIN"), HPQ_COMMAND("ROLLBACK"),
               HPQ_COMMAND("BEGIN"), HPQ_COMMAND("SAVEPOINT tdi_body"),
               HPQ_COMMAND("DELETE FROM tdi.reid_kept"), HPQ_SEND("INSERT INTO tdi.sent"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE, HPQ_COMMAND("SAVEPOINT tdi_body"),
               HPQ_COMMAND("DELETE FROM tdi.reid_kept"), HPQ_SEND("INSERT INTO tdi.sent"),
               HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE,
               HPQ_FAILS("ROLLBACK TO SAVEPOINT", "25P02", "current transaction is aborted"),
               HPQ_COMMAND("ROLLBACK"));
    /* one part, its undo refused (its file not out): a new transaction may begin */
    assert_int_equal(state_commit_send(st, 2025, 0, "nl", 4, 0, 17), TDI_OK);
    assert_int_equal(state_commit_wait(st), TDI_OK);
    assert_int_equal(state_commit_undo(st), TDI_ERR_STATE);
    state_commit_abort(NULL);
    assert_int_equal(state_commit_begin(st), TDI_OK);
    state_commit_abort(st);
    /* two: the first stayed (its file out), the second's undo refused */
    assert_int_equal(state_commit_send(st, 2025, 0, "nl", 4, 0, 17), TDI_OK);
    assert_int_equal(state_commit_wait(st), TDI_OK);
    assert_int_equal(state_commit_send(st, 2025, 1, "be", 2, 0, 17), TDI_OK);
    assert_int_equal(state_commit_wait(st), TDI_OK);
    assert_int_equal(state_commit_undo(st), TDI_ERR_STATE);
    logged.text[0] = '\0';
    assert_int_equal(state_commit_begin(st), TDI_ERR_STATE);
    assert_string_equal(logged.text,
                        "state database: the record of this run's published files was lost with "
                        "its transaction; the next run sends their changes again\n");
    closed(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_lost_after_a_body, setup, teardown),
        cmocka_unit_test_setup_teardown(check_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_from_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_other_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(run_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(print_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(years, setup, teardown),
        cmocka_unit_test_setup_teardown(marks_and_lookups, setup, teardown),
        cmocka_unit_test_setup_teardown(forget_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(actions, setup, teardown),
        cmocka_unit_test_setup_teardown(actions_few_or_many, setup, teardown),
        cmocka_unit_test_setup_teardown(actions_first_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(actions_first_beside, setup, teardown),
        cmocka_unit_test_setup_teardown(unread_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(unheld_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(actions_save_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(reid_check, setup, teardown),
        cmocka_unit_test_setup_teardown(blanked_and_replace_all, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_success, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
