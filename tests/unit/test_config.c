/* Unit tests for common/tdi_config: a good file, and each error with its exact "FILE:LINE:" text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_config.h"
#include "test_log.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/tdi-test-config-XXXXXX";
static char path[256];

static void write_conf(const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/tdi.conf", dir);
    return 0;
}

static int teardown(void **state)
{
    char sql[300];

    (void)state;
    unlink(path);
    snprintf(sql, sizeof sql, "%s/q.sql", dir);
    unlink(sql);
    return rmdir(dir);
}

static const char good[] = "# nightly\n"
                           "output_dir = out\n"
                           "key_file = /etc/tdi/key\n"
                           "gzip_level = 6\n"
                           "suppression_threshold = 10\n"
                           "\n"
                           "[source ams]\n"
                           "conninfo = service=clinic_ams\n"
                           "query = SELECT * FROM tdi_episodes;\n"
                           "crosswalk = cw/ams.cw\n"
                           "region = NL329\n"
                           "national_id = nl_bsn\n"
                           "[source rot]\n"
                           "conninfo = host=db port=5432 dbname=rot\n"
                           "query_file = q.sql\n"
                           "crosswalk = cw/rot.cw\n"
                           "region = NL33C\n"
                           "[body national]\n"
                           "regions = *\n"
                           "counting = national\n"
                           "[body nh]\n"
                           "regions = NL329\n"
                           "centres = ROT-01, ROT-02\n";

static void loads_good_file(void **state)
{
    tdi_config *cfg = NULL;
    char want[300], sql[300];
    FILE *fp;

    (void)state;
    snprintf(sql, sizeof sql, "%s/q.sql", dir);
    fp = fopen(sql, "w");
    assert_non_null(fp);
    fputs("SELECT a AS episode_id\nFROM t\n", fp);
    fclose(fp);
    write_conf(good);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_OK);
    snprintf(want, sizeof want, "%s/out", dir);
    assert_string_equal(cfg->output_dir, want);
    assert_string_equal(cfg->key_file, "/etc/tdi/key");
    assert_int_equal(cfg->gzip_level, 6);
    assert_int_equal(cfg->suppression_threshold, 10);
    assert_int_equal(cfg->nsources, 2);
    assert_int_equal(cfg->sources[0].national_id, TDI_NID_NL_BSN);
    assert_int_equal(cfg->sources[1].national_id, TDI_NID_NONE); /* the default */
    assert_string_equal(cfg->sources[0].name, "ams");
    assert_string_equal(cfg->sources[0].query, "SELECT * FROM tdi_episodes;");
    snprintf(want, sizeof want, "%s/cw/ams.cw", dir);
    assert_string_equal(cfg->sources[0].crosswalk, want);
    assert_string_equal(cfg->sources[1].query, "SELECT a AS episode_id\nFROM t\n");
    assert_int_equal(cfg->nbodies, 2);
    assert_int_equal(cfg->bodies[1].ncentres, 2);
    assert_string_equal(cfg->bodies[1].centres[1], "ROT-02");
    assert_int_equal(cfg->bodies[0].counting, TDI_COUNTING_NATIONAL);
    assert_int_equal(cfg->bodies[1].counting, TDI_COUNTING_CENTRE); /* the default */
    assert_string_equal(tdi_counting_names[cfg->bodies[0].counting], "national");
    assert_true(tdi_config_body_takes(&cfg->bodies[0], "NL33C", "X"));
    assert_true(tdi_config_body_takes(&cfg->bodies[1], "NL329", "X"));
    assert_true(tdi_config_body_takes(&cfg->bodies[1], "NL33C", "ROT-02"));
    assert_false(tdi_config_body_takes(&cfg->bodies[1], "NL33C", "ROT-03"));
    tdi_config_free(cfg);
}

static void reports_every_error_with_line(void **state)
{
    tdi_config *cfg = (tdi_config *)1;
    test_log tl;
    char want[4096];

    (void)state;
    write_conf("output_dir = out\n"
               "outptu_dir = x\n"
               "gzip_level = 11\n"
               "[source ams]\n"
               "conninfo = dbname=a\n"
               "query = SELECT 1\n"
               "query = SELECT 2\n"
               "region = NL 329\n"
               "[body national]\n"
               "regions = NL999\n"
               "[clinic x]\n"
               "key_file\n");
    test_log_start(&tl);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_ERR_CONFIG);
    test_log_stop();
    assert_null(cfg);
    snprintf(want, sizeof want,
             "%1$s:2: unknown setting 'outptu_dir' (before any section: output_dir, key_file, "
             "schema_dir, gzip_level, suppression_threshold, state, work_dir, retry_attempts, "
             "retry_delay, incremental_overlap, syslog)\n"
             "%1$s:3: gzip_level must be a whole number from 1 to 9, not '11'\n"
             "%1$s:7: give either query or query_file, once\n"
             "%1$s:8: region 'NL 329' is not a code of 1-32 characters of A-Z a-z 0-9 . _ -\n"
             "%1$s:4: [source ams] needs crosswalk\n"
             "%1$s:4: [source ams] needs region\n"
             "%1$s:11: unknown section kind 'clinic' (source, body)\n"
             "%1$s:12: expected 'key = value', '[source NAME]' or '[body NAME]'\n"
             "%1$s: key_file is not set\n"
             "%1$s:9: [body national] region 'NL999' is the region of no source\n",
             path);
    assert_string_equal(tl.text, want);

    /* The settings of this change: threshold, national id scheme, unknown source key. */
    write_conf("output_dir = out\n"
               "key_file = k\n"
               "suppression_threshold = -1\n"
               "suppression_threshold = 5x\n"
               "[source ams]\n"
               "conninfo = dbname=a\n"
               "query = SELECT 1\n"
               "crosswalk = a.cw\n"
               "region = NL329\n"
               "national_id = bsn\n"
               "nid = be_rrn\n"
               "[body national]\n"
               "regions = *\n"
               "counting = person\n"
               "cnt = centre\n");
    test_log_start(&tl);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_ERR_CONFIG);
    test_log_stop();
    assert_null(cfg);
    snprintf(want, sizeof want,
             "%1$s:3: suppression_threshold must be a whole number from 0 to 1000, not '-1'\n"
             "%1$s:4: suppression_threshold must be a whole number from 0 to 1000, not '5x'\n"
             "%1$s:10: national_id must be be_rrn, nl_bsn or none, not 'bsn'\n"
             "%1$s:11: unknown setting 'nid' in [source ams] (conninfo, query, query_file, "
             "crosswalk, region, national_id, incremental)\n"
             "%1$s:14: counting must be centre, regional or national, not 'person'\n"
             "%1$s:15: unknown setting 'cnt' in [body national] (regions, centres, counting)\n",
             path);
    assert_string_equal(tl.text, want);
}

static void missing_file(void **state)
{
    tdi_config *cfg = NULL;
    test_log tl;

    (void)state;
    test_log_start(&tl);
    assert_int_equal(tdi_config_load("/nonexistent/tdi.conf", &cfg), TDI_ERR_CONFIG);
    test_log_stop();
    assert_string_equal(tl.text, "/nonexistent/tdi.conf: cannot open: No such file or directory\n");
}

static void uncovered_source_and_duplicates(void **state)
{
    tdi_config *cfg = NULL;
    test_log tl;
    char want[1024];

    (void)state;
    write_conf("output_dir = o\nkey_file = k\n"
               "[source a]\nconninfo = x\nquery = q\ncrosswalk = c\nregion = R1\n"
               "[source a]\n"
               "[body b]\nregions = R1\n"
               "[source c]\nconninfo = x\nquery = q\ncrosswalk = c\nregion = R2\n");
    test_log_start(&tl);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_ERR_CONFIG);
    test_log_stop();
    snprintf(want, sizeof want,
             "%1$s:8: source 'a' is defined twice\n"
             "%1$s:11: [source c] region 'R2' is received by no body\n",
             path);
    assert_string_equal(tl.text, want);
}

/* The operations settings: defaults, good values, and each bad value with its line. */
static void operations_settings(void **state)
{
    tdi_config *cfg = NULL;
    test_log tl;
    char want[2048];
    static const char body[] = "[source a]\nconninfo = x\nquery = q\ncrosswalk = c\nregion = R1\n"
                               "incremental = changed_at\n[body b]\nregions = R1\n";

    (void)state;
    snprintf(want, sizeof want, "output_dir = o\nkey_file = k\n%s", body);
    write_conf(want);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_OK);
    assert_null(cfg->state);
    snprintf(want, sizeof want, "%s/o", dir);
    assert_string_equal(cfg->work_dir, want); /* defaults to output_dir */
    assert_int_equal(cfg->retry_attempts, 3);
    assert_int_equal(cfg->retry_delay_ms, 5000);
    assert_int_equal(cfg->incremental_overlap, 3600);
    assert_int_equal(cfg->syslog, 0);
    assert_string_equal(cfg->sources[0].incremental, "changed_at");
    tdi_config_free(cfg);

    snprintf(want, sizeof want,
             "output_dir = o\nkey_file = k\nstate = service=tdi_state\nwork_dir = /var/tmp\n"
             "retry_attempts = 5\nretry_delay = 0.05\nincremental_overlap = 0\nsyslog = yes\n%s",
             body);
    write_conf(want);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_OK);
    assert_string_equal(cfg->state, "service=tdi_state");
    assert_string_equal(cfg->work_dir, "/var/tmp");
    assert_int_equal(cfg->retry_attempts, 5);
    assert_int_equal(cfg->retry_delay_ms, 50);
    assert_int_equal(cfg->incremental_overlap, 0);
    assert_int_equal(cfg->syslog, 1);
    tdi_config_free(cfg);

    write_conf("output_dir = o\nkey_file = k\n"
               "retry_attempts = 0\n"
               "retry_delay = soon\n"
               "incremental_overlap = -1\n"
               "syslog = maybe\n"
               "state = a\n"
               "state = b\n"
               "[source a]\nconninfo = x\nquery = q\ncrosswalk = c\nregion = R1\n"
               "incremental = changed at\n"
               "[body b]\nregions = R1\n");
    test_log_start(&tl);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_ERR_CONFIG);
    test_log_stop();
    snprintf(want, sizeof want,
             "%1$s:3: retry_attempts must be a whole number from 1 to 100, not '0'\n"
             "%1$s:4: retry_delay must be a number of seconds from 0 to 3600, not 'soon'\n"
             "%1$s:5: incremental_overlap must be a whole number of seconds from 0 to 604800, "
             "not '-1'\n"
             "%1$s:6: syslog must be yes or no, not 'maybe'\n"
             "%1$s:8: 'state' is set twice in this section\n"
             "%1$s:14: incremental names the change-time column, e.g. changed_at, not "
             "'changed at'\n",
             path);
    assert_string_equal(tl.text, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_good_file),     cmocka_unit_test(reports_every_error_with_line),
        cmocka_unit_test(missing_file),        cmocka_unit_test(uncovered_source_and_duplicates),
        cmocka_unit_test(operations_settings),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
