/* Unit tests for the receiving side's reading (report/rpt_read): runNo from the header and the
 * manifest, the order of two runs' files of one sequence (rpt_run_cmp: runNo, runId only when
 * neither has one), a series sorted by it whatever the run ids (clock times) say, an
 * episode's absent coded items read as their schema defaults (2.4), a file without its manifest
 * left out of a series, and a gzip file with bytes
 * after its stream refused, as tdi validate refuses it (gzread would skip them). */
#include "test_scratch.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/rpt_read.h"
#include "test_log.h"

#include <zlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef test_scratch fixture;

static int setup(void **state)
{
    return test_scratch_setup(state, "rpt-read");
}

/* DIR/NAME: a submission header of sequence seq, run id, and runNo (NULL: none). */
static void write_sub(const fixture *fx, const char *name, int seq, const char *run_id,
                      const char *run_no, char *path, size_t len)
{
    char text[1024], no[64] = "";

    if (run_no)
        snprintf(no, sizeof no, " runNo=\"%s\"", run_no);
    snprintf(
        text, sizeof text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<submission xmlns=\"urn:tdi:submission:2\" "
        "schemaVersion=\"2.3\" body=\"national\" year=\"2025\" sequence=\"%d\" runId=\"%s\"%s>"
        "\n<episodes>\n</episodes>\n</submission>\n",
        seq, run_id, no);
    snprintf(path, len, "%s/%s", fx->dir, name);
    assert_int_equal(test_fs_write(path, text), 0);
}

static void test_run_cmp(void **state)
{
    (void)state;
    /* runNo decides, whatever the run ids say */
    assert_true(rpt_run_cmp(3, "20250101T000000Z", 2, "20250101T020000Z") > 0);
    assert_true(rpt_run_cmp(2, "20250101T020000Z", 3, "20250101T000000Z") < 0);
    assert_int_equal(rpt_run_cmp(3, "20250101T000000Z", 3, "20250101T020000Z"), 0);
    assert_false(rpt_run_by_id(3, 2));
    /* neither has one: runId */
    assert_true(rpt_run_cmp(0, "20250101T020000Z", 0, "20250101T000000Z") > 0);
    assert_int_equal(rpt_run_cmp(0, "20250101T000000Z", 0, "20250101T000000Z"), 0);
    assert_true(rpt_run_by_id(0, 0));
    /* only one has one: that one is the later (a newer tdi wrote it) */
    assert_true(rpt_run_cmp(1, "20250101T000000Z", 0, "20250101T020000Z") > 0);
    assert_true(rpt_run_cmp(0, "20250101T020000Z", 1, "20250101T000000Z") < 0);
    assert_false(rpt_run_by_id(0, 1));
}

static void test_header_run_no(void **state)
{
    fixture *fx = *state;
    char path[256];
    rpt_header h;
    rpt_reader *r = NULL;

    write_sub(fx, "a.xml", 1, "20250101T000000Z", "42", path, sizeof path);
    assert_int_equal(rpt_reader_open(path, &h, &r), TDI_OK);
    rpt_reader_close(r);
    assert_int_equal(h.run_no, 42);
    write_sub(fx, "b.xml", 1, "20250101T000000Z", NULL, path, sizeof path);
    assert_int_equal(rpt_reader_open(path, &h, &r), TDI_OK);
    rpt_reader_close(r);
    assert_int_equal(h.run_no, 0);
    write_sub(fx, "c.xml", 1, "20250101T000000Z", "0", path, sizeof path);
    assert_int_equal(rpt_reader_open(path, &h, &r), TDI_ERR_INVALID);
    rpt_reader_close(r);
    assert_non_null(strstr(fx->log.text, "the header's runNo is not a positive number"));
}

#define MANIFEST(tail)                                                                             \
    "{\"sha256\":\"%064d\",\"body\":\"national\",\"year\":2025,\"sequence\":2,"                    \
    "\"runId\":\"20250101T000000Z\"" tail "}\n"

static void test_manifest_run_no(void **state)
{
    fixture *fx = *state;
    char path[256];
    char text[512];
    rpt_manifest m;

    snprintf(path, sizeof path, "%s/m.manifest.json", fx->dir);
    snprintf(text, sizeof text, MANIFEST(",\"runNo\":7"), 0);
    assert_int_equal(test_fs_write(path, text), 0);
    assert_int_equal(rpt_manifest_read(path, &m), TDI_OK);
    assert_int_equal(m.run_no, 7);
    assert_int_equal(m.sequence, 2);
    snprintf(text, sizeof text, MANIFEST(""), 0);
    assert_int_equal(test_fs_write(path, text), 0);
    assert_int_equal(rpt_manifest_read(path, &m), TDI_OK);
    assert_int_equal(m.run_no, 0);
    snprintf(text, sizeof text, MANIFEST(",\"runNo\":-1"), 0);
    assert_int_equal(test_fs_write(path, text), 0);
    assert_int_equal(rpt_manifest_read(path, &m), TDI_ERR_INVALID);
}

/* DIR/NAME.xml as write_sub, and a manifest next to it (its content is not read here). */
static void write_published(const fixture *fx, const char *name, int seq, const char *run_id,
                            const char *run_no)
{
    char path[256], file[64];

    snprintf(path, sizeof path, "%s/%s.manifest.json", fx->dir, name);
    assert_int_equal(test_fs_write(path, "{}\n"), 0);
    snprintf(file, sizeof file, "%s.xml", name);
    write_sub(fx, file, seq, run_id, run_no, path, sizeof path);
}

/* Three files of sequence 2 whose run ids go the other way from their runNo, and sequence 1:
 * sorted by sequence, then runNo. A file without its manifest (a killed run's) found in the
 * directory is not published: left out, with a warning; named, it is kept. */
static void test_series_by_run_no(void **state)
{
    fixture *fx = *state;
    char path[256], expect[1024], *args[1] = {fx->dir};
    rpt_series s;

    write_published(fx, "s2-fast", 2, "20250101T090000Z", "2");
    write_published(fx, "s2-rerun", 2, "20250101T010000Z", "4");
    write_published(fx, "s2-mid", 2, "20250101T050000Z", "3");
    write_published(fx, "s1", 1, "20250101T080000Z", "1");
    write_sub(fx, "s2-killed.xml", 2, "20250101T070000Z", "5", path, sizeof path);
    assert_int_equal(rpt_series_collect(args, 1, &s), TDI_OK);
    snprintf(expect, sizeof expect,
             "%s: no manifest, so not published (its run is publishing it or was interrupted): "
             "skipped\n",
             path);
    assert_string_equal(fx->log.text, expect);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.e[0].hdr.run_no, 1);
    assert_int_equal(s.e[1].hdr.run_no, 2);
    assert_int_equal(s.e[2].hdr.run_no, 3);
    assert_int_equal(s.e[3].hdr.run_no, 4);
    assert_non_null(strstr(s.e[3].path, "s2-rerun.xml"));
    rpt_series_free(&s);
    /* named: kept, as asked (tdi load refuses it, tdi audit checks it and has a finding) */
    args[0] = path;
    assert_int_equal(rpt_series_collect(args, 1, &s), TDI_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.e[0].hdr.run_no, 5);
    assert_string_equal(fx->log.text, expect);
    rpt_series_free(&s);
}

/* Schema 2.4 leaves a not-known item out: the reader gives it its default, the not-known code
 * spelled here (not taken from tdi_codes), without a validator; an item that applies only to
 * some episodes stays absent (NULL); what the file says is kept; a delete gets nothing. */
static void test_absent_items_are_not_known(void **state)
{
    fixture *fx = *state;
    char path[256];
    rpt_header h;
    rpt_reader *r = NULL;
    rpt_item it;
    int eof = 0;
    static const char *const want[][2] = {
        {"setting", "not_known"},
        {"centre_type", "99"},
        {"sex", "2"},
        {"age_band", "99"},
        {"treatment_status", "3"},
        {"primary_drug", "99"},
        {"secondary_drug_4", "99"},
        {"ost", "99"},
        {"hcv_testing", "99"},
    };

    snprintf(path, sizeof path, "%s/d.xml", fx->dir);
    assert_int_equal(
        test_fs_write(path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.4\" "
                            "body=\"national\" year=\"2025\" sequence=\"1\" "
                            "runId=\"20250101T000000Z\" runNo=\"1\">\n<episodes>\n"
                            "<episode key=\"e1:00000000000000000000000000000001\" sex=\"2\"/>\n"
                            "<delete key=\"e1:00000000000000000000000000000002\"/>\n"
                            "</episodes>\n</submission>\n"),
        0);
    assert_int_equal(rpt_reader_open(path, &h, &r), TDI_OK);
    assert_string_equal(h.schema_version, "2.4");
    assert_int_equal(rpt_reader_next(r, &it, &eof), TDI_OK);
    assert_false(eof);
    assert_false(it.is_delete);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int a = rpt_attr_index(want[i][0]);
        assert_true(a >= RPT_ATTR_ITEMS);
        assert_non_null(it.attr[a]);
        assert_string_equal(it.attr[a], want[i][1]);
    }
    assert_null(it.attr[rpt_attr_index("residential_approach")]);
    assert_null(it.attr[rpt_attr_index("years_since_first_injection")]);
    assert_null(it.attr[rpt_attr_index("years_since_first_ost")]);
    assert_null(it.attr[rpt_attr_index("quarter")]); /* no item: no default */
    assert_int_equal(rpt_reader_next(r, &it, &eof), TDI_OK);
    assert_true(it.is_delete);
    for (int i = 1; i < RPT_NATTRS; i++)
        assert_null(it.attr[i]);
    assert_int_equal(rpt_reader_next(r, &it, &eof), TDI_OK);
    assert_true(eof);
    rpt_reader_close(r);
}

/* One episode read from a gzip file with "junk" after its stream: the read fails, naming the
 * file, whatever the XML said before it. */
static void test_gzip_trailing_data_refused(void **state)
{
    fixture *fx = *state;
    const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.4\" "
                      "body=\"national\" year=\"2025\" sequence=\"1\" "
                      "runId=\"20250101T000000Z\" runNo=\"1\">\n<episodes>\n"
                      "<episode key=\"e1:00000000000000000000000000000001\" sex=\"2\"/>\n"
                      "</episodes>\n</submission>\n";
    char path[256], expect[512];
    rpt_header h;
    rpt_reader *r = NULL;
    rpt_item it;
    int eof = 0, items = 0;
    tdi_status st = TDI_OK;
    gzFile gz;
    FILE *fp;

    snprintf(path, sizeof path, "%s/t.xml.gz", fx->dir);
    gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzputs(gz, doc), (int)strlen(doc));
    assert_int_equal(gzclose(gz), Z_OK);
    fp = fopen(path, "ab");
    assert_non_null(fp);
    assert_true(fputs("junk", fp) >= 0);
    assert_int_equal(fclose(fp), 0);

    st = rpt_reader_open(path, &h, &r);
    while (st == TDI_OK && !eof) {
        st = rpt_reader_next(r, &it, &eof);
        items += st == TDI_OK && !eof;
    }
    rpt_reader_close(r);
    assert_int_not_equal(st, TDI_OK);
    assert_true(items <= 1);
    snprintf(expect, sizeof expect, "%s: trailing data after the gzip stream\n", path);
    assert_non_null(strstr(fx->log.text, expect));
}

/* The named indexes the receiver's rules use (rpt_rules.c) are those of the attributes' table. */
static void test_attr_names(void **state)
{
    static const struct {
        int index;
        const char *name;
    } want[] = {{RPT_ATTR_KEY, "key"},
                {RPT_ATTR_PERSON_KIND, "personKind"},
                {RPT_ATTR_YEAR, "year"},
                {RPT_ATTR_ENTRANT, "entrant"},
                {RPT_ATTR_FIRST_USE_AGE, "first_use_age"},
                {RPT_ATTR_ITEMS, "setting"},
                {RPT_ATTR_CONTINUING, "continuing"}};

    (void)state;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(rpt_attrs[want[i].index].name, want[i].name);
        assert_int_equal(rpt_attr_index(want[i].name), want[i].index);
    }
    for (int i = 0; i < RPT_NATTRS; i++)
        assert_non_null(rpt_attrs[i].name); /* no hole left by the designated initialisers */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attr_names),
        cmocka_unit_test(test_run_cmp),
        cmocka_unit_test_setup_teardown(test_header_run_no, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(test_manifest_run_no, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(test_series_by_run_no, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(test_absent_items_are_not_known, setup,
                                        test_scratch_teardown),
        cmocka_unit_test_setup_teardown(test_gzip_trailing_data_refused, setup,
                                        test_scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
