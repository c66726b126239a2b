/* Shared by the unit tests of run/ (test_run.c, test_run_pool.c): a run's fixture (a temporary
 * directory with the key, a config, the scripted state database), run_main() with stdout
 * captured, and the script lines every run sends the state database. */
#ifndef TEST_RUN_H
#define TEST_RUN_H

#include "test_fs.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../run/run.h"
#include "harness_pq.h"
#include "test_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_CONN  "dbname=tdi_state"
#define CLINIC_CONN "dbname=clinic_en"
#define COPY_OUT(m) HPQ_SEND(m), HPQ_RESULT(PGRES_COPY_OUT)
#define COPY_IN(m)  HPQ_SEND(m), HPQ_RESULT(PGRES_COPY_IN)
#define COPY_IN_END HPQ_PUT_END, HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE
/* The start of a tuple of the binary COPY of run_rec as the harness renders it (harness_pq.h): 15
 * fields, pos (int8), src and body (int4), each a number below 9 as two hex digits. */
#define REC_START(pos, src, body)                                                                  \
    "\\x00\\x0f\\x00\\x00\\x00\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x" #pos                    \
    "\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x" #src "\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x" #body
/* Likewise a tuple of run_seen or run_present: 2 fields, src (int4, below 9), the key's 16 bytes.
 */
#define KEY_START(src)                                                                             \
    "\\x00\\x02\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x" #src "\\x00\\x00\\x00\\x10"
/* A tuple of run_rej: the same with a third field, the probe (a boolean). */
#define REJ_START(src)                                                                             \
    "\\x00\\x03\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x" #src "\\x00\\x00\\x00\\x10"

typedef struct fixture {
    char dir[64];
    char config[128];
    tdi_config *cfg;
    state_db *state;
    test_log log;
    char out[16384]; /* what the run printed */
    int saved;       /* stdout while run() has it redirected, else -1 */
} fixture;

static fixture fx;
static const char *names[TDI_COL_COUNT];
/* One episode as the clinic's COPY yields it (the view's contract columns, those before
 * national_id, in contract order; \N not known), with sex and, when changed is not NULL, the
 * change time after them. */
static const char *episode(char *buf, size_t len, const char *id, const char *sex,
                           const char *changed)
{
    const char *v[TDI_COL_COUNT] = {0};
    size_t used = 0;

    v[TDI_COL_EPISODE_ID] = id;
    v[TDI_COL_CLIENT_ID] = id;
    v[TDI_COL_CENTRE_ID] = "RR-NORTH";
    v[TDI_COL_START_DATE] = "2025-02-10";
    v[TDI_COL_BIRTH_DATE] = "1985-07-30";
    v[TDI_COL_SETTING] = "OUTPT";
    v[TDI_COL_SEX] = sex;
    v[TDI_COL_TREATMENT_STATUS] = "Y";
    v[TDI_COL_PRIMARY_DRUG] = "HEROIN";
    v[TDI_COL_ROUTE] = "INJ";
    for (int c = 0; c < TDI_COL_NATIONAL_ID; c++)
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s", c ? "\t" : "", v[c] ? v[c] : "\\N");
    if (changed)
        used += (size_t)snprintf(buf + used, len - used, "\t%s", changed);
    snprintf(buf + used, len - used, "\n");
    return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* A fresh directory with the key and a config of the settings top, the [source] sections
 * sources and one body, loaded; the state database opened (scripted). */
static int fixture_open(const char *top, const char *sources)
{
    char path[256], conf[4096], key[128] = "";
    FILE *fp;

    for (int i = 0; i < TDI_COL_COUNT; i++)
        names[i] = tdi_columns[i].name;
    names[TDI_COL_NATIONAL_ID] = "changed_at"; /* the clinic has no national id, no names */
    hpq_reset();
    memset(&fx, 0, sizeof fx);
    fx.saved = -1;
    snprintf(fx.dir, sizeof fx.dir, "/tmp/tdi-test-run.XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    fp = fopen("tests/fixtures/test.key", "r");
    assert_non_null(fp);
    assert_non_null(fgets(key, sizeof key, fp));
    fclose(fp);
    snprintf(path, sizeof path, "%s/tdi.key", fx.dir);
    write_file(path, key, 0600);
    snprintf(conf, sizeof conf,
             "output_dir = out\nkey_file = tdi.key\nk_min = 1\nstate = " STATE_CONN "\n"
             "retry_attempts = 2\nretry_delay = 0.01\n%s\n%s"
             "[body national]\nregions = *\ncounting = national\n",
             top, sources);
    snprintf(fx.config, sizeof fx.config, "%s/tdi.conf", fx.dir);
    write_file(fx.config, conf, 0644);
    assert_int_equal(tdi_config_load(fx.config, &fx.cfg), TDI_OK);
    hpq_script(HPQ_CONNECT(STATE_CONN));
    assert_int_equal(state_open(STATE_CONN, &fx.state), TDI_OK);
    test_log_start(&fx.log);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_log_stop();
    if (fx.saved >= 0) { /* a failure left run() half-way: stdout back, what the run said */
        char path[128], line[512];
        FILE *fp;

        fflush(stdout);
        dup2(fx.saved, 1);
        close(fx.saved);
        snprintf(path, sizeof path, "%s/stdout", fx.dir);
        fp = fopen(path, "r");
        while (fp && fgets(line, sizeof line, fp))
            fputs(line, stderr);
        if (fp)
            fclose(fp);
    }
    tdi_config_free(fx.cfg);
    test_fs_remove_tree(fx.dir);
    return 0;
}

/* Runs run_main() with stdout into fx.out. */
static tdi_status run(void)
{
    run_options opt = {.cfg = fx.cfg, .state = fx.state, .config_path = fx.config, .year = 2025};
    char path[128];
    int fd;
    ssize_t n;
    tdi_status st;

    snprintf(path, sizeof path, "%s/stdout", fx.dir);
    fflush(stdout);
    fx.saved = dup(1);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fx.saved >= 0 && fd >= 0);
    dup2(fd, 1);
    st = run_main(&opt);
    fflush(stdout);
    dup2(fx.saved, 1);
    close(fx.saved);
    fx.saved = -1;
    n = pread(fd, fx.out, sizeof fx.out - 1, 0);
    fx.out[n > 0 ? n : 0] = '\0';
    close(fd);
    return st;
}

/* The end of a test whose run took the run lock: the close releases it before the session ends
 * (state_close), so a run started right after finds it free. */
#define RUN_UNLOCK HPQ_VALUE("pg_advisory_unlock(7627881, 1)", "t")

static void finish_session(int locked)
{
    if (locked)
        hpq_script(RUN_UNLOCK, HPQ_FINISH);
    else
        hpq_script(HPQ_FINISH);
    state_close(fx.state);
    hpq_done();
}

static void finish(void)
{
    finish_session(1);
}

/* The run's start: the lock, the ledger row, the year open, the run's tables. */
#define RUN_START                                                                                  \
    HPQ_VALUE("pg_try_advisory_lock", "t"), HPQ_COMMAND("SET status = 'abandoned'"),               \
        HPQ_VALUE("INSERT INTO tdi.run ", "5"), HPQ_NO_ROW("FROM tdi.closed_year"),                \
        HPQ_COMMAND("TRUNCATE tdi.run_rec")
/* The clinic's side of opening a full read of the view, for a connection whose conninfo has m. */
#define CLINIC_OPEN(m)                                                                             \
    HPQ_CONNECT(m), HPQ_COMMAND("BEGIN ISOLATION LEVEL REPEATABLE READ"),                          \
        {.fn = HPQ_FN_PREPARE,                                                                     \
         .match = "tdi_episodes",                                                                  \
         .res = {.status = PGRES_COMMAND_OK},                                                      \
         HPQ_AT},                                                                                  \
    {                                                                                              \
        .fn = HPQ_FN_DESCRIBE,                                                                     \
        .res = {.status = PGRES_COMMAND_OK, .nfields = TDI_COL_NATIONAL_ID, .fields = names},      \
        HPQ_AT                                                                                     \
    }
/* What the bodies hold when the whole year is ranked; the bodies hold something of the year (the
 * general pass, not a first submission's: test_state). */
#define HELD_WHOLE                                                                                 \
    HPQ_VALUE("FROM run_src WHERE NOT full_read", "t"),                                            \
        HPQ_VALUE("ORDER BY s.eid LIMIT 1) x WHERE b.served", "f"),                                \
        HPQ_COMMAND("CREATE TEMP TABLE run_gone"), HELD_TAIL
/* The same when only the touched persons are ranked, the records read not few beside what the
 * bodies hold (the persons as sent by a join, not by key). */
#define HELD_TOUCHED                                                                               \
    HPQ_VALUE("FROM run_src WHERE NOT full_read", "f"),                                            \
        HPQ_VALUE("ORDER BY s.eid LIMIT 1) x WHERE b.served", "f"),                                \
        HPQ_COMMAND("CREATE TEMP TABLE run_gone"),                                                 \
        HPQ_VALUE("WHEN r * 20 < h THEN 'keys'", "scan"), HELD_TAIL
#define HELD_TAIL                                                                                  \
    HPQ_COMMAND("CREATE TEMP TABLE run_touched"), HPQ_COMMAND("ANALYZE run_touched"),              \
        HPQ_COMMAND("CREATE TEMP TABLE run_held"), HPQ_COMMAND("ANALYZE run_held")
/* The action pass, with body 0's counts rows. */
#define ACTIONS(r, ...)                                                                            \
    HPQ_COMMAND("INSERT INTO run_src"), HPQ_COMMAND("INSERT INTO run_body"),                       \
        HPQ_VALUE("n_mod_since_analyze", "none"), HPQ_COMMAND("ANALYZE tdi.run_rec"), HELD_WHOLE,  \
        HPQ_COMMAND("CREATE TEMP TABLE run_rank"), HPQ_COMMAND("CREATE TEMP TABLE run_action"),    \
        HPQ_COMMAND("ANALYZE run_action"), HPQ_ROWS("GROUP BY body, action", 3, r, __VA_ARGS__),   \
        HPQ_ROWS("action = 'f'", 2, 0, NULL), HPQ_ROWS("k.earlier", 2, 0, NULL)

/* The re-identification check's first grouping with no groups kept (state/st_reid.c): the groups
 * from every record, then its figures (records, groups, k, at risk, the four fewest distinct,
 * the records without a tuple, the average risk). */
#define REID_FIRST(...)                                                                            \
    HPQ_COMMAND("DELETE FROM tdi.run_reid_g"), HPQ_COMMAND("INSERT INTO tdi.run_reid_g"),          \
        HPQ_ROWS("FROM tdi.run_reid_g WHERE body = $1 AND g IS NULL", 10, 1, __VA_ARGS__)
/* The commit of a body's groups the check made from every record: kept. */
#define REID_KEEP                                                                                  \
    HPQ_VALUE("SELECT rebuild FROM tdi.run_reid_prep", "t"),                                       \
        HPQ_VALUE("SELECT EXISTS (SELECT 1 FROM tdi.sent", "f"),                                   \
        HPQ_COMMAND("DELETE FROM tdi.reid_kept"), HPQ_COMMAND("ANALYZE tdi.run_reid_g"),           \
        HPQ_COMMAND("INSERT INTO tdi.reid_kept"), HPQ_COMMAND("ANALYZE tdi.reid_group")

#endif
