/* Unit tests for common/tdi_config: a good file, and each error with its exact "FILE:LINE:" text.
 */
#include "test_fs.h"

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
    assert_int_equal(test_fs_write(path, text), 0);
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
                           "protection_level = 7\n"
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
    assert_int_equal(cfg->protection_level, 7);
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
             "schema_dir, gzip_level, suppression_threshold, protection_level, region_map, k_min, "
             "quasi_identifiers, blank_order, state, work_dir, retry_attempts, "
             "retry_delay, incremental_overlap, source_stall_timeout, max_parallel_sources, "
             "syslog)\n"
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
               "protection_level = -3\n"
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
             "%1$s:5: protection_level must be a whole number from 0 to 1000, not '-3'\n"
             "%1$s:11: national_id must be be_rrn, nl_bsn, fr_nir, es_dni, it_cf, se_pnr, dk_cpr, "
             "fi_hetu, no_fnr, pl_pesel, cz_rc, plain or none, not 'bsn'\n"
             "%1$s:12: unknown setting 'nid' in [source ams] (conninfo, query, query_file, "
             "crosswalk, region, region_map, national_id, incremental)\n"
             "%1$s:15: counting must be centre, regional or national, not 'person'\n"
             "%1$s:16: unknown setting 'cnt' in [body national] (regions, centres, counting, "
             "quarter, k_min, quasi_identifiers, blank_order)\n",
             path);
    assert_string_equal(tl.text, want);

    /* Generalisation and the re-identification check. */
    write_conf("output_dir = out\n"
               "key_file = k\n"
               "k_min = 0\n"
               "quasi_identifiers = sex, age, region\n"
               "blank_order = year\n"
               "[source ams]\n"
               "conninfo = dbname=a\n"
               "query = SELECT 1\n"
               "crosswalk = a.cw\n"
               "region = NL329\n"
               "[body national]\n"
               "regions = *\n"
               "quarter = often\n"
               "blank_order = sex, sex\n"
               "[body city]\n"
               "regions = NL329\n"
               "quasi_identifiers = sex quarter\n"
               "blank_order = region\n"
               "colour = red\n");
    test_log_start(&tl);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_ERR_CONFIG);
    test_log_stop();
    assert_null(cfg);
    snprintf(
        want, sizeof want,
        "%1$s:3: k_min must be a whole number from 1 to 1000, not '0'\n"
        "%1$s:4: 'age' in quasi_identifiers is not a quasi-identifier (sex, age_band, "
        "nationality, region, year, centre_type, quarter, centre)\n"
        "%1$s:5: 'year' in blank_order cannot be blanked (year and centre cannot)\n"
        "%1$s:13: quarter must be yes or no, not 'often'\n"
        "%1$s:14: 'sex' is twice in blank_order\n"
        "%1$s:19: unknown setting 'colour' in [body city] (regions, centres, counting, quarter, "
        "k_min, quasi_identifiers, blank_order)\n"
        "%1$s:15: [body city] blank_order names region, which is not one of its "
        "quasi_identifiers\n"
        "%1$s:15: [body city] quasi_identifiers names quarter, but the body does not get it "
        "(quarter = yes)\n",
        path);
    assert_string_equal(tl.text, want);
}

/* Who gets which re-identification settings: the body's own, else the global ones, else the
 * defaults; the region map of a source, else the global one. */
static void reid_settings_resolve(void **state)
{
    tdi_config *cfg = NULL;

    (void)state;
    write_conf("output_dir = out\n"
               "key_file = k\n"
               "region_map = nuts.map\n"
               "k_min = 3\n"
               "blank_order = quarter, region, sex\n"
               "[source ams]\n"
               "conninfo = dbname=a\n"
               "query = SELECT 1\n"
               "crosswalk = a.cw\n"
               "region = NL329\n"
               "[source rdam]\n"
               "conninfo = dbname=b\n"
               "query = SELECT 1\n"
               "crosswalk = b.cw\n"
               "region = NL33C\n"
               "region_map = /etc/rdam.map\n"
               "[body national]\n"
               "regions = *\n"
               "quarter = yes\n"
               "[body city]\n"
               "regions = NL329\n"
               "k_min = 10\n"
               "quasi_identifiers = sex, age_band, region\n"
               "blank_order = age_band region\n"
               "[body open]\n"
               "regions = NL33C\n"
               "blank_order = none\n"
               "[body rest]\n"
               "regions = NL33C\n");
    assert_int_equal(tdi_config_load(path, &cfg), TDI_OK);
    assert_non_null(strstr(cfg->sources[0].region_map, "/nuts.map"));
    assert_string_equal(cfg->sources[1].region_map, "/etc/rdam.map");
    /* national: global k_min, default quasi-identifiers with the quarter, default order */
    assert_int_equal(cfg->bodies[0].quarter, 1);
    assert_int_equal(cfg->bodies[0].reid.k_min, 3);
    assert_int_equal(cfg->bodies[0].reid.qi_mask,
                     1u << TDI_QI_SEX | 1u << TDI_QI_AGE_BAND | 1u << TDI_QI_NATIONALITY |
                         1u << TDI_QI_REGION | 1u << TDI_QI_YEAR | 1u << TDI_QI_CENTRE_TYPE |
                         1u << TDI_QI_QUARTER);
    assert_int_equal(cfg->bodies[0].reid.nblank, 3); /* the global blank_order */
    assert_int_equal(cfg->bodies[0].reid.blank[0], TDI_QI_QUARTER);
    assert_int_equal(cfg->bodies[0].reid.blank[1], TDI_QI_REGION);
    assert_int_equal(cfg->bodies[0].reid.blank[2], TDI_QI_SEX);
    /* city: its own */
    assert_int_equal(cfg->bodies[1].quarter, 0);
    assert_int_equal(cfg->bodies[1].reid.k_min, 10);
    assert_int_equal(cfg->bodies[1].reid.qi_mask,
                     1u << TDI_QI_SEX | 1u << TDI_QI_AGE_BAND | 1u << TDI_QI_REGION);
    assert_int_equal(cfg->bodies[1].reid.nblank, 2);
    assert_int_equal(cfg->bodies[1].reid.blank[0], TDI_QI_AGE_BAND);
    assert_int_equal(cfg->bodies[1].reid.blank[1], TDI_QI_REGION);
    /* open: nothing may be blanked; no quarter, so none in its default quasi-identifiers */
    assert_int_equal(cfg->bodies[2].reid.nblank, 0);
    assert_int_equal(cfg->bodies[2].reid.qi_mask & 1u << TDI_QI_QUARTER, 0);
    /* rest: the global blank_order without the quarter it does not get */
    assert_int_equal(cfg->bodies[3].reid.nblank, 2);
    assert_int_equal(cfg->bodies[3].reid.blank[0], TDI_QI_REGION);
    assert_int_equal(cfg->bodies[3].reid.blank[1], TDI_QI_SEX);
    tdi_config_free(cfg);
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

/* A query_file saved with a UTF-8 byte order mark: the server would read the BOM as part of the
 * query (syntax error at or near "FROM", naming neither file nor BOM). Refused here, as a
 * crosswalk's first line with one is: the file, its line 1 and the reason. */
/* Files saved with a UTF-8 byte order mark, as Windows editors write them: the BOM is no part of
 * the config's first setting nor of the query (the server would read it as part of the query's
 * first word). */
static void files_with_bom(void **state)
{
    tdi_config *cfg = NULL;
    test_log tl;
    char sql[300];

    (void)state;
    snprintf(sql, sizeof sql, "%s/q.sql", dir);
    assert_int_equal(test_fs_write(sql, "\xef\xbb\xbfSELECT * FROM tdi_episodes\n"), 0);
    write_conf("\xef\xbb\xbfoutput_dir = o\r\nkey_file = k\n"
               "[source a]\nconninfo = x\nquery_file = q.sql\ncrosswalk = c\nregion = R1\n"
               "[body b]\nregions = R1\n");
    test_log_start(&tl);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_OK);
    test_log_stop();
    assert_string_equal(tl.text, "");
    assert_string_equal(cfg->sources[0].query, "SELECT * FROM tdi_episodes\n");
    tdi_config_free(cfg);
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

/* A body's files go to OUTPUT_DIR/BODY/: a body may not take the name of a folder tdi writes
 * other files to (quarantine), or its files would land among them. */
static void reserved_body_name(void **state)
{
    tdi_config *cfg = NULL;
    test_log tl;
    char want[1024];

    (void)state;
    write_conf("output_dir = o\nkey_file = k\n"
               "[source a]\nconninfo = x\nquery = q\ncrosswalk = c\nregion = R1\n"
               "[body national]\nregions = R1\n"
               "[body quarantine]\nregions = R1\n");
    test_log_start(&tl);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_ERR_CONFIG);
    test_log_stop();
    assert_null(cfg);
    snprintf(want, sizeof want,
             "%1$s:10: body name 'quarantine' is reserved: OUTPUT_DIR/quarantine/ holds the "
             "quarantine files\n",
             path);
    assert_string_equal(tl.text, want);
}

/* The operations settings: defaults, good values, and each bad value with its line. */
static void operations_settings(void **state)
{
    tdi_config *cfg = NULL;
    test_log tl;
    char want[4096];
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
    assert_int_equal(cfg->source_stall_timeout, 300);
    assert_int_equal(cfg->max_parallel_sources, 16);
    assert_int_equal(cfg->sources[0].stall_timeout, 300);
    assert_int_equal(cfg->syslog, 0);
    assert_string_equal(cfg->sources[0].incremental, "changed_at");
    tdi_config_free(cfg);

    snprintf(want, sizeof want,
             "output_dir = o\nkey_file = k\nstate = service=state_db\nwork_dir = /var/tmp\n"
             "retry_attempts = 5\nretry_delay = 0.05\nincremental_overlap = 0\nsyslog = yes\n"
             "source_stall_timeout = 1\nmax_parallel_sources = 256\n%s",
             body);
    write_conf(want);
    assert_int_equal(tdi_config_load(path, &cfg), TDI_OK);
    assert_string_equal(cfg->state, "service=state_db");
    assert_string_equal(cfg->work_dir, "/var/tmp");
    assert_int_equal(cfg->retry_attempts, 5);
    assert_int_equal(cfg->retry_delay_ms, 50);
    assert_int_equal(cfg->incremental_overlap, 0);
    assert_int_equal(cfg->syslog, 1);
    assert_int_equal(cfg->sources[0].stall_timeout, 1);
    assert_int_equal(cfg->max_parallel_sources, 256);
    tdi_config_free(cfg);

    write_conf("output_dir = o\nkey_file = k\n"
               "retry_attempts = 0\n"
               "retry_delay = soon\n"
               "incremental_overlap = -1\n"
               "syslog = maybe\n"
               "state = a\n"
               "state = b\n"
               "source_stall_timeout = 2h\n"
               "max_parallel_sources = 0\n"
               "max_parallel_sources = -3\n"
               "max_parallel_sources = 257\n"
               "max_parallel_sources = 99999999999999999999\n"
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
             "%1$s:9: source_stall_timeout must be a whole number of seconds from 0 to 86400, "
             "not '2h'\n"
             "%1$s:10: max_parallel_sources must be a whole number from 1 to 256, not '0'\n"
             "%1$s:11: max_parallel_sources must be a whole number from 1 to 256, not '-3'\n"
             "%1$s:12: max_parallel_sources must be a whole number from 1 to 256, not '257'\n"
             "%1$s:13: max_parallel_sources must be a whole number from 1 to 256, not "
             "'99999999999999999999'\n"
             "%1$s:19: incremental names the change-time column, e.g. changed_at, not "
             "'changed at'\n",
             path);
    assert_string_equal(tl.text, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_good_file),
        cmocka_unit_test(reports_every_error_with_line),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(files_with_bom),
        cmocka_unit_test(uncovered_source_and_duplicates),
        cmocka_unit_test(reserved_body_name),
        cmocka_unit_test(operations_settings),
        cmocka_unit_test(reid_settings_resolve),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
