/* Unit tests for report_validate_file: valid, invalid, broken, hostile and unreadable inputs, of
 * both kinds (submission and tables: the schema is chosen by the root element's namespace). */
#include "test_scratch.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/report.h"
#include "test_log.h"

#include <zlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TDI_FIXTURE_DIR
#define TDI_FIXTURE_DIR TDI_SCHEMA_DIR "/../tests/fixtures/xml"
#endif

#define FIX(name)       TDI_FIXTURE_DIR "/" name
#define DOCTYPE_REFUSED ":2: DOCTYPE not allowed: a submission has no DTD and no entities\n"
#define PERSON          "v1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

typedef test_scratch fixture;

static int setup(void **state)
{
    return test_scratch_setup(state, "validate");
}

static size_t read_all(const char *path, char *buf, size_t cap)
{
    size_t n = test_fs_read(path, buf, cap);

    assert_true(n != (size_t)-1);
    return n;
}

static void write_all(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Writes src gzip-compressed to dst; returns the compressed size. */
static size_t gzip_file(const char *src, const char *dst)
{
    char buf[16384];
    size_t n = read_all(src, buf, sizeof buf);
    gzFile gz = gzopen(dst, "wb9");
    FILE *fp;
    long size;

    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, buf, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
    fp = fopen(dst, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fclose(fp);
    return (size_t)size;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- valid ---- */

static void valid_plain_and_gzip(void **state)
{
    fixture *fx = *state;
    char gz[128];

    assert_int_equal(report_validate_file(FIX("valid.xml"), TDI_SCHEMA_DIR), TDI_OK);
    snprintf(gz, sizeof gz, "%s/valid.xml.gz", fx->dir);
    gzip_file(FIX("valid.xml"), gz);
    assert_int_equal(report_validate_file(gz, TDI_SCHEMA_DIR), TDI_OK);
    assert_string_equal(fx->log.text, "");
}

/* ---- invalid ---- */

static void wrong_code_names_the_line(void **state)
{
    fixture *fx = *state;
    const char *path = FIX("bad-code.xml");
    char expect[1024];

    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    /* A 2.0 file: checked against the kept 2.1 schema, whose code list this is. */
    snprintf(expect, sizeof expect,
             "%s:5: Element '{urn:tdi:submission:2}episode', attribute 'primary_drug': "
             "[facet 'pattern'] The value '1.9' is not accepted by the pattern "
             "'[13](\\.[1-5])?|[257](\\.[1-3])?|4(\\.[1-4])?|[68]|99?'.\n",
             path);
    assert_string_equal(fx->log.text, expect);
}

static void not_well_formed(void **state)
{
    fixture *fx = *state;
    const char *path = FIX("not-well-formed.xml");
    char expect[1024];

    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s:5: Element '{urn:tdi:submission:2}episode': Character content is not allowed, "
             "because the content type is empty.\n"
             "%s:5: Opening and ending tag mismatch: episode line 4 and episodes\n"
             "%s:6: Opening and ending tag mismatch: episodes line 3 and submission\n"
             "%s:7: Premature end of data in tag submission line 2\n",
             path, path, path, path);
    assert_string_equal(fx->log.text, expect);
}

static void not_xml_at_all(void **state)
{
    fixture *fx = *state;
    char path[128], expect[512];

    snprintf(path, sizeof path, "%s/notes.txt", fx->dir);
    write_all(path, "key,value\n1,2\n", 14);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect, "%s:1: Start tag expected, '<' not found\n", path);
    assert_string_equal(fx->log.text, expect);
}

static void wrong_namespace(void **state)
{
    fixture *fx = *state;
    char path[128], expect[512];
    static const char doc[] =
        "<?xml version=\"1.0\"?>\n"
        "<submission xmlns=\"urn:tdi:submission:3\" schemaVersion=\"3.0\" body=\"b\" "
        "year=\"2025\" runId=\"20261123T040000Z\" generated=\"2026-11-23T04:00:00Z\" "
        "countingLevel=\"none\"><episodes/></submission>\n";

    snprintf(path, sizeof path, "%s/ns.xml", fx->dir);
    write_all(path, doc, sizeof doc - 1);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s:2: root element {urn:tdi:submission:3}submission is neither a TDI submission "
             "(urn:tdi:submission:2, or urn:tdi:submission:1 of tdi 0.1) nor TDI tables "
             "(urn:tdi:tables:1)\n",
             path);
    assert_string_equal(fx->log.text, expect);
}

/* A file of tdi 0.1 (schema 1.1, a full snapshot) is checked against tdi-submission-1.xsd. */
static void version_1_file(void **state)
{
    fixture *fx = *state;

    assert_int_equal(report_validate_file(FIX("valid-1.1.xml"), TDI_SCHEMA_DIR), TDI_OK);
    assert_string_equal(fx->log.text, "");
}

/* The fixture name with its schemaVersion 2.X made 2.minor, written to DIR/as.xml (into path),
 * then checked. */
static tdi_status validate_as(const fixture *fx, const char *name, char minor, char *path,
                              size_t len)
{
    char doc[16384], *v;
    size_t n = read_all(name, doc, sizeof doc - 1);

    doc[n] = '\0';
    v = strstr(doc, "schemaVersion=\"2.");
    assert_non_null(v);
    v[17] = minor;
    snprintf(path, len, "%s/as.xml", fx->dir);
    write_all(path, doc, n);
    return report_validate_file(path, TDI_SCHEMA_DIR);
}

/* 2.4 leaves a not-known item out (its default): valid-2.4.xml is valid-2.3.xml so written, and
 * both are valid, as is the same 2.3 file labelled 2.2, so every file tdi wrote stays checkable;
 * 2.5 (a continuing client's year bottom-coded) changes no attribute's form, so the 2.4 file
 * labelled 2.5 is valid too; not as a version the schema does not list. */
static void versions_2_2_to_2_5(void **state)
{
    fixture *fx = *state;
    char path[128];

    assert_int_equal(report_validate_file(FIX("valid-2.4.xml"), TDI_SCHEMA_DIR), TDI_OK);
    assert_int_equal(report_validate_file(FIX("valid-2.3.xml"), TDI_SCHEMA_DIR), TDI_OK);
    assert_int_equal(validate_as(fx, FIX("valid-2.3.xml"), '2', path, sizeof path), TDI_OK);
    assert_int_equal(validate_as(fx, FIX("valid-2.4.xml"), '5', path, sizeof path), TDI_OK);
    assert_string_equal(fx->log.text, "");
    assert_int_equal(validate_as(fx, FIX("valid-2.4.xml"), '6', path, sizeof path),
                     TDI_ERR_INVALID);
}

/* From schemaVersion 2.2 on, ages leave only as bands: exact age and first_use_age are refused by
 * the schema itself (an auditor with xmllint sees it too). The same episodes in a 2.0 or 2.1 file
 * stay valid, checked against the kept 2.1 schema. */
static void exact_ages_refused_from_2_2(void **state)
{
    fixture *fx = *state;
    char path[128], expect[1024];

    assert_int_equal(validate_as(fx, FIX("valid.xml"), '1', path, sizeof path), TDI_OK);
    assert_string_equal(fx->log.text, "");
    assert_int_equal(validate_as(fx, FIX("valid.xml"), '2', path, sizeof path), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%1$s:4: Element '{urn:tdi:submission:2}episode', attribute 'age': The attribute "
             "'age' is not allowed.\n"
             "%1$s:4: Element '{urn:tdi:submission:2}episode', attribute 'first_use_age': The "
             "attribute 'first_use_age' is not allowed.\n"
             "%1$s:6: Element '{urn:tdi:submission:2}episode', attribute 'age': The attribute "
             "'age' is not allowed.\n",
             path);
    assert_string_equal(fx->log.text, expect);
}

/* ---- tables ---- */

#define TABLES_HEAD                                                                                \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<tables xmlns=\"urn:tdi:tables:1\" schemaVersion=\"1.0\" body=\"b\" year=\"2025\" "           \
    "runId=\"20261123T040000Z\" generated=\"2026-11-23T04:00:00Z\" countingLevel=\"none\" "        \
    "threshold=\"5\" suppressedCells=\"2\">\n"                                                     \
    "<table id=\"10.1.1\" title=\"Primary drug by sex: All\" variant=\"all\" "                     \
    "rows=\"primary_drug\" columns=\"sex\">\n"

/* A tables document validates against tdi-tables.xsd; a suppressed cell with a number, a table
 * id twice or a cell twice do not. */
static void tables_documents(void **state)
{
    fixture *fx = *state;
    char path[128], expect[1024];
    static const char good[] = TABLES_HEAD "<cell row=\"1.1\" column=\"1\" value=\"12\"/>\n"
                                           "<suppressed row=\"1.1\" column=\"2\"/>\n"
                                           "<cell row=\"total\" column=\"total\" value=\"0\"/>\n"
                                           "</table>\n</tables>\n";
    static const char number[] = TABLES_HEAD "<cell row=\"1.1\" column=\"1\" value=\"12\"/>\n"
                                             "<suppressed row=\"1.1\" column=\"2\" value=\"3\"/>\n"
                                             "</table>\n</tables>\n";
    static const char twice[] = TABLES_HEAD "<cell row=\"1.1\" column=\"1\" value=\"12\"/>\n"
                                            "<suppressed row=\"1.1\" column=\"1\"/>\n"
                                            "</table>\n"
                                            "<table id=\"10.1.1\" title=\"t\" variant=\"all\" "
                                            "rows=\"primary_drug\" columns=\"sex\"/>\n"
                                            "</tables>\n";

    snprintf(path, sizeof path, "%s/tables.xml", fx->dir);
    write_all(path, good, sizeof good - 1);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_OK);
    assert_string_equal(fx->log.text, "");

    write_all(path, number, sizeof number - 1);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s:5: Element '{urn:tdi:tables:1}suppressed', attribute 'value': The attribute "
             "'value' is not allowed.\n",
             path);
    assert_string_equal(fx->log.text, expect);

    fx->log.text[0] = '\0';
    write_all(path, twice, sizeof twice - 1);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%1$s:5: Element '{urn:tdi:tables:1}suppressed': Duplicate key-sequence ['1.1', '1'] "
             "in unique identity-constraint '{urn:tdi:tables:1}cellPosition'.\n"
             "%1$s:7: Element '{urn:tdi:tables:1}table': Duplicate key-sequence ['10.1.1'] in "
             "unique identity-constraint '{urn:tdi:tables:1}tableId'.\n",
             path);
    assert_string_equal(fx->log.text, expect);
}

/* ---- broken gzip ---- */

static void truncated_gzip(void **state)
{
    fixture *fx = *state;
    char gz[128], cut[128], buf[16384], expect[512];
    size_t n;

    snprintf(gz, sizeof gz, "%s/valid.xml.gz", fx->dir);
    snprintf(cut, sizeof cut, "%s/cut.xml.gz", fx->dir);
    n = gzip_file(FIX("valid.xml"), gz);
    assert_int_equal(read_all(gz, buf, sizeof buf), n);

    /* Only the trailer lost: the XML inside is complete and well-formed, still invalid. */
    write_all(cut, buf, n - 4);
    assert_int_equal(report_validate_file(cut, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect, "%s: gzip data ends early: the file is truncated\n", cut);
    assert_string_equal(fx->log.text, expect);

    /* Cut in the middle: the gzip message comes first, then where the XML stopped. */
    test_log_start(&fx->log);
    write_all(cut, buf, n / 2);
    assert_int_equal(report_validate_file(cut, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_true(strncmp(fx->log.text, expect, strlen(expect)) == 0);
    assert_non_null(strstr(fx->log.text, "Premature end of data"));
}

static void corrupt_gzip(void **state)
{
    fixture *fx = *state;
    char gz[128], buf[16384], expect[512];
    size_t n;

    snprintf(gz, sizeof gz, "%s/corrupt.xml.gz", fx->dir);
    n = gzip_file(FIX("valid.xml"), gz);
    read_all(gz, buf, sizeof buf);
    buf[n / 2] ^= 0x55;
    write_all(gz, buf, n);
    assert_int_equal(report_validate_file(gz, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect, "%s: gzip data is corrupt\n", gz);
    assert_true(strncmp(fx->log.text, expect, strlen(expect)) == 0);
}

/* Bytes after the gzip stream are refused, as by gzip -t: plain text (it could be anything) and a
 * second gzip member alike; the document before them is valid. */
static void trailing_data_after_gzip(void **state)
{
    fixture *fx = *state;
    char gz[128], two[128], buf[32768], expect[512];
    static const char tail[] = "Zebulon Quartermaine 85.07.30-033.28\n";
    size_t n, m;

    snprintf(gz, sizeof gz, "%s/valid.xml.gz", fx->dir);
    snprintf(two, sizeof two, "%s/two.xml.gz", fx->dir);
    n = gzip_file(FIX("valid.xml"), gz);
    assert_int_equal(read_all(gz, buf, sizeof buf), n);
    memcpy(buf + n, tail, sizeof tail - 1);
    write_all(two, buf, n + sizeof tail - 1);
    assert_int_equal(report_validate_file(two, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect, "%s: trailing data after the gzip stream\n", two);
    assert_string_equal(fx->log.text, expect);

    /* a second member: the whole file again */
    test_log_start(&fx->log);
    memcpy(buf + n, buf, n);
    write_all(two, buf, 2 * n);
    assert_int_equal(report_validate_file(two, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_string_equal(fx->log.text, expect);

    /* one byte, a NUL */
    test_log_start(&fx->log);
    buf[n] = '\0';
    m = n + 1;
    write_all(two, buf, m);
    assert_int_equal(report_validate_file(two, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_string_equal(fx->log.text, expect);
}

/* A size cap for auditors: XML over max_bytes (inflated) is refused once it is read that far. */
static void size_cap(void **state)
{
    fixture *fx = *state;
    char gz[128], expect[512];

    snprintf(gz, sizeof gz, "%s/valid.xml.gz", fx->dir);
    gzip_file(FIX("valid.xml"), gz);
    assert_int_equal(report_validate_file_max(gz, TDI_SCHEMA_DIR, 1 << 20), TDI_OK);
    assert_string_equal(fx->log.text, "");
    assert_int_equal(report_validate_file_max(gz, TDI_SCHEMA_DIR, 1000), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect, "%s: the XML is larger than 1000 bytes (--max-bytes)\n", gz);
    assert_true(strncmp(fx->log.text, expect, strlen(expect)) == 0);
}

/* ---- hostile ---- */

static void refused_quickly(fixture *fx, const char *path)
{
    struct timespec t0;
    char expect[512];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_true(seconds_since(&t0) < 1.0);
    snprintf(expect, sizeof expect, "%s" DOCTYPE_REFUSED, path);
    assert_string_equal(fx->log.text, expect);
}

static void xxe_is_refused(void **state)
{
    fixture *fx = *state;

    refused_quickly(fx, FIX("xxe.xml"));
    assert_null(strstr(fx->log.text, "root:")); /* nothing of /etc/passwd came through */
}

static void billion_laughs_is_refused(void **state)
{
    refused_quickly(*state, FIX("billion-laughs.xml"));
}

static void external_dtd_is_refused(void **state)
{
    refused_quickly(*state, FIX("external-dtd.xml"));
}

/* ---- limits ---- */

/* An element with 200,000 attributes (or namespace declarations): refused once it has more than
 * any TDI element can have, before libxml2's duplicate check, quadratic in their number, runs over
 * all of them. On the root element (read by the first parser) and on an episode. */
static void many_attributes_refused(void **state)
{
    fixture *fx = *state;
    char path[128], expect[512];
    FILE *fp;

    snprintf(path, sizeof path, "%s/attrs.xml", fx->dir);
    for (int k = 0; k < 3; k++) {
        int episode = k == 0, xmlns = k == 2;

        fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp, "<?xml version=\"1.0\"?>\n"
                    "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.0\" body=\"b\" "
                    "year=\"2025\" sequence=\"1\" runId=\"20261123T040000Z\" "
                    "generated=\"2026-11-23T04:00:00Z\" countingLevel=\"none\"");
        if (episode)
            fprintf(fp, ">\n<episodes>\n<episode");
        for (int i = 0; i < 200000; i++)
            fprintf(fp, xmlns ? " xmlns:p%d=\"u\"" : " a%d=\"1\"", i);
        fprintf(fp, episode ? "/>\n</episodes>\n</submission>\n" : "><episodes/></submission>\n");
        assert_int_equal(fclose(fp), 0);

        test_log_start(&fx->log);
        assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
        snprintf(expect, sizeof expect,
                 xmlns ? "%s:%d: more than 16 namespace declarations in scope are refused\n"
                       : "%s:%d: an element with more than 100 attributes is refused\n",
                 path, episode ? 4 : 2);
        assert_string_equal(fx->log.text, expect);
    }
}

static tdi_log_level last_level;
static char last_message[1024];
static int message_count;

static void counting_sink(void *ctx, tdi_log_level level, const char *msg)
{
    (void)ctx;
    last_level = level;
    snprintf(last_message, sizeof last_message, "%s", msg);
    message_count++;
}

static void errors_are_capped_at_100(void **state)
{
    fixture *fx = *state;
    char path[128], expect[256];
    FILE *fp;

    snprintf(path, sizeof path, "%s/many.xml", fx->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.0\" body=\"b\" "
                "year=\"2025\" sequence=\"1\" runId=\"20261123T040000Z\" "
                "generated=\"2026-11-23T04:00:00Z\" "
                "countingLevel=\"none\">\n<episodes>\n");
    for (int i = 0; i < 150; i++)
        fprintf(fp,
                "<episode key=\"e1:%032x\" person=\"" PERSON "\" source=\"s\" centre=\"c\" "
                "region=\"r\" year=\"2025\" setting=\"outpatient\" centre_type=\"1\" sex=\"1\" "
                "age_band=\"99\" nationality=\"99\" treatment_status=\"1\" "
                "referral_source=\"99\" living_with=\"99\" living_with_children=\"99\" "
                "living_where=\"99\" education=\"99\" labour_status=\"99\" primary_drug=\"1.9\" "
                "route=\"1\" frequency=\"99\" first_use_age_band=\"99\" secondary_drug_1=\"99\" "
                "secondary_drug_2=\"99\" secondary_drug_3=\"99\" secondary_drug_4=\"99\" "
                "polydrug=\"99\" injecting=\"2\" years_since_first_injection=\"99\" "
                "needle_sharing=\"99\" hiv_testing=\"99\" hcv_testing=\"99\" ost=\"99\"/>\n",
                i);
    fprintf(fp, "</episodes>\n</submission>\n");
    assert_int_equal(fclose(fp), 0);

    message_count = 0;
    tdi_log_set_sink(counting_sink, NULL);
    assert_int_equal(report_validate_file(path, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    assert_int_equal(message_count, 101);
    snprintf(expect, sizeof expect, "%s: ... 50 more errors", path);
    assert_string_equal(last_message, expect);
    assert_int_equal(last_level, TDI_LOG_ERROR);
}

/* ---- pipes ---- */

/* A child writes len bytes of buf into a pipe; returns its read end. */
static int pipe_from(const void *buf, size_t len, pid_t *child)
{
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    *child = fork();
    assert_true(*child >= 0);
    if (*child == 0) {
        const char *p = buf;

        close(fds[0]);
        while (len > 0) {
            ssize_t n = write(fds[1], p, len);
            if (n <= 0)
                _exit(1);
            p += n;
            len -= (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    return fds[0];
}

static tdi_status validate_piped(const char *file, const char *as_path, int on_stdin)
{
    static char buf[65536];
    size_t n = read_all(file, buf, sizeof buf);
    char path[64];
    pid_t child;
    int fd = pipe_from(buf, n, &child), saved = -1, status;
    tdi_status st;

    if (on_stdin) {
        saved = dup(0);
        assert_int_equal(dup2(fd, 0), 0);
        close(fd);
        st = report_validate_file("-", TDI_SCHEMA_DIR);
        assert_int_equal(dup2(saved, 0), 0);
        close(saved);
    } else {
        snprintf(path, sizeof path, "/dev/fd/%d", fd);
        st = report_validate_file(as_path ? as_path : path, TDI_SCHEMA_DIR);
        close(fd);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    return st;
}

/* A pipe is read once: the schema is chosen from the bytes that are checked, so nothing of the
 * document is lost to a first look at it ("-" is standard input, as for xmllint). */
static void pipe_is_read_once(void **state)
{
    fixture *fx = *state;
    char gz[128], expect[1024];

    assert_int_equal(validate_piped(FIX("valid.xml"), NULL, 0), TDI_OK);
    assert_string_equal(fx->log.text, "");
    assert_int_equal(validate_piped(FIX("valid.xml"), NULL, 1), TDI_OK);
    assert_string_equal(fx->log.text, "");
    snprintf(gz, sizeof gz, "%s/valid.xml.gz", fx->dir);
    gzip_file(FIX("valid.xml"), gz);
    assert_int_equal(validate_piped(gz, NULL, 1), TDI_OK);
    assert_string_equal(fx->log.text, "");

    assert_int_equal(validate_piped(FIX("bad-code.xml"), NULL, 1), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "-:5: Element '{urn:tdi:submission:2}episode', attribute 'primary_drug': "
             "[facet 'pattern'] The value '1.9' is not accepted by the pattern "
             "'[13](\\.[1-5])?|[257](\\.[1-3])?|4(\\.[1-4])?|[68]|99?'.\n");
    assert_string_equal(fx->log.text, expect);
}

/* valid.xml (ASCII, 2406 bytes, 8 lines) as UTF-16LE with a byte order mark, declared so, into
 * dst; returns its length. */
static size_t utf16_of_valid(char *dst, size_t cap)
{
    char ascii[4096];
    size_t n = read_all(FIX("valid.xml"), ascii, sizeof ascii), len = 0;
    char *decl = strstr(ascii, "UTF-8");

    assert_non_null(decl);
    memmove(decl + 6, decl + 5, n - (size_t)(decl + 5 - ascii)); /* UTF-8 -> UTF-16 */
    memcpy(decl, "UTF-16", 6);
    n++;
    assert_true(2 + 2 * n <= cap);
    dst[len++] = '\xff';
    dst[len++] = '\xfe';
    for (size_t i = 0; i < n; i++) {
        dst[len++] = ascii[i];
        dst[len++] = '\0';
    }
    return len;
}

/* A document followed by a NUL byte and anything: libxml2 takes the NUL for the end of its input,
 * so the bytes after it were never parsed. Refused, plain, gzip and piped, saying where; a UTF-16
 * document, whose every other byte is NUL, is valid as before. */
static void nul_then_garbage(void **state)
{
    fixture *fx = *state;
    static const char tail[] =
        "\0<delete key=\"e1:00000000000000000000000000000000\"/> junk <<<&&&\n";
    char nul[128], gz[128], buf[16384], expect[512];
    size_t n = read_all(FIX("valid.xml"), buf, sizeof buf);

    snprintf(nul, sizeof nul, "%s/nul.xml", fx->dir);
    snprintf(gz, sizeof gz, "%s/nul.xml.gz", fx->dir);
    memcpy(buf + n, tail, sizeof tail - 1);
    write_all(nul, buf, n + sizeof tail - 1);
    assert_int_equal(report_validate_file(nul, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s:9: Extra content at the end of the document: from byte 2406 on, of 2471\n", nul);
    assert_string_equal(fx->log.text, expect);

    test_log_start(&fx->log);
    gzip_file(nul, gz);
    assert_int_equal(report_validate_file(gz, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s:9: Extra content at the end of the document: from byte 2406 on, of 2471\n", gz);
    assert_string_equal(fx->log.text, expect);

    test_log_start(&fx->log);
    assert_int_equal(validate_piped(gz, NULL, 1), TDI_ERR_INVALID);
    assert_string_equal(
        fx->log.text,
        "-:9: Extra content at the end of the document: from byte 2406 on, of 2471\n");

    /* UTF-16: valid; with a NUL character and more after it, refused. */
    test_log_start(&fx->log);
    n = utf16_of_valid(buf, sizeof buf);
    write_all(nul, buf, n);
    assert_int_equal(report_validate_file(nul, TDI_SCHEMA_DIR), TDI_OK);
    gzip_file(nul, gz);
    assert_int_equal(report_validate_file(gz, TDI_SCHEMA_DIR), TDI_OK);
    assert_string_equal(fx->log.text, "");
    memcpy(buf + n, "\0\0<\0a\0/\0>\0", 10);
    write_all(nul, buf, n + 10);
    assert_int_equal(report_validate_file(nul, TDI_SCHEMA_DIR), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s:9: Extra content at the end of the document: from byte 4816 on, of 4826\n", nul);
    assert_string_equal(fx->log.text, expect);
}

/* ---- unreadable ---- */

static void unreadable_input(void **state)
{
    fixture *fx = *state;
    char expect[512];

    assert_int_equal(report_validate_file("/nonexistent/x.xml.gz", TDI_SCHEMA_DIR), TDI_ERR_OUTPUT);
    assert_int_equal(report_validate_file(fx->dir, TDI_SCHEMA_DIR), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect,
             "/nonexistent/x.xml.gz: cannot open: No such file or directory\n"
             "%s: cannot open: Is a directory\n",
             fx->dir);
    assert_string_equal(fx->log.text, expect);
}

static void missing_or_broken_schema(void **state)
{
    fixture *fx = *state;
    char xsd[128], expect[512];
    const char *tail;
    static const char broken[] = "<?xml version=\"1.0\"?>\n"
                                 "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n"
                                 "  <xs:element name=\"x\" type=\"xs:nosuchtype\"/>\n"
                                 "</xs:schema>\n";

    assert_int_equal(report_validate_file(FIX("valid.xml"), "/nonexistent-schemas"),
                     TDI_ERR_INTERNAL);
    assert_string_equal(fx->log.text, "/nonexistent-schemas/tdi-submission-2.1.xsd: cannot open "
                                      "schema: No such file or directory\n");

    test_log_start(&fx->log);
    snprintf(xsd, sizeof xsd, "%s/tdi-submission-2.1.xsd", fx->dir);
    write_all(xsd, broken, sizeof broken - 1);
    assert_int_equal(report_validate_file(FIX("valid.xml"), fx->dir), TDI_ERR_INTERNAL);
    /* libxml2's own complaint, with the schema's line, then ours. */
    snprintf(expect, sizeof expect, "%s:3: ", xsd);
    assert_true(strncmp(fx->log.text, expect, strlen(expect)) == 0);
    snprintf(expect, sizeof expect, "%s: cannot load schema\n", xsd);
    assert_true(strlen(fx->log.text) > strlen(expect));
    tail = fx->log.text + strlen(fx->log.text) - strlen(expect);
    assert_string_equal(tail, expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(valid_plain_and_gzip, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(wrong_code_names_the_line, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(not_well_formed, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(not_xml_at_all, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(wrong_namespace, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(version_1_file, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(exact_ages_refused_from_2_2, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(versions_2_2_to_2_5, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(tables_documents, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(truncated_gzip, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(corrupt_gzip, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(trailing_data_after_gzip, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(size_cap, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(nul_then_garbage, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(xxe_is_refused, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(billion_laughs_is_refused, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(external_dtd_is_refused, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(many_attributes_refused, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(errors_are_capped_at_100, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(pipe_is_read_once, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(unreadable_input, setup, test_scratch_teardown),
        cmocka_unit_test_setup_teardown(missing_or_broken_schema, setup, test_scratch_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
