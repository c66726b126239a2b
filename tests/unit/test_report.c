/* Unit tests for report/: the submission writer, its publication and the quarantine writer. */
#include "test_fs.h" /* first: it sets _XOPEN_SOURCE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/report.h"
#include "../../report/rpt_gz.h"
#include "test_log.h"

#include <openssl/evp.h>
#define ZLIB_CONST /* next_in is const: zlib writes the files the reader is tested on */
#include <zlib.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_ID        "20261123T040000Z"
#define GENERATED     "2026-11-23T04:00:00Z"
#define DATA_NAME     "tdi-flanders-2025-" RUN_ID ".xml.gz"
#define MANIFEST_NAME "tdi-flanders-2025-" RUN_ID ".manifest.json"
#define KEY1          "e1:00000000000000000000000000000001"
#define KEY2          "e1:00000000000000000000000000000002"
#define KEY3          "e1:00000000000000000000000000000003"
#define PERSON_A      "v1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PERSON_B      "v1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define HEADER_START                                                                               \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.5\" body=\"flanders\" "          \
    "year=\"2025\" sequence=\"1\" runId=\"" RUN_ID "\" runNo=\"7\" generated=\"" GENERATED         \
    "\" countingLevel=\"none\""
#define HEADER       HEADER_START ">\n<episodes>\n"
#define HEADER_KEYED HEADER_START " keyId=\"0a1b2c3d\">\n<episodes>\n"
#define FOOTER       "</episodes>\n</submission>\n"

typedef struct fixture {
    char dir[64]; /* the output directory, removed after each test */
    char body_dir[128];
    report_meta meta;
    test_log log;
} fixture;

/* ---- helpers ---- */

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tdi-test-report-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->body_dir, sizeof fx->body_dir, "%s/flanders", fx->dir);
    fx->meta = (report_meta){
        .output_dir = fx->dir,
        .schema_dir = TDI_SCHEMA_DIR,
        .run_id = RUN_ID,
        .generated = GENERATED,
        .year = 2025,
        .gzip_level = 6,
        .sequence = 1,
        .run_no = 7,
    };
    test_log_start(&fx->log);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    test_log_stop();
    chmod(fx->dir, 0700);
    test_fs_remove_tree(fx->dir);
    free(fx);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in dir, sorted, each followed by '\n'; "" when empty. */
static void list_dir(const char *dir, char *out, size_t len)
{
    char *names[64];
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;

    out[0] = '\0';
    assert_non_null(d);
    while ((de = readdir(d)) && n < 64) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s\n", names[i]);
        free(names[i]);
    }
}

static size_t read_all(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return n;
}

static void gunzip_all(const char *path, char *buf, size_t cap)
{
    gzFile gz = gzopen(path, "rb");
    int n;

    assert_non_null(gz);
    n = gzread(gz, buf, (unsigned)cap - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_int_equal(gzclose(gz), Z_OK);
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
    assert_int_equal(mdlen, 32);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void set_code(tdi_record *rec, tdi_item item, const char *code)
{
    int idx = tdi_code_index(tdi_item_get(item), code);

    assert_true(idx >= 0);
    rec->code[item] = (uint8_t)idx;
}

/* An outpatient episode: every item "not known" but those set here, the conditional items left
 * out (not applicable). */
static tdi_record make_record(const char *key, const char *person, int age)
{
    tdi_record rec;

    memset(&rec, 0, sizeof rec);
    snprintf(rec.episode, sizeof rec.episode, "%s", key);
    snprintf(rec.person, sizeof rec.person, "%s", person);
    snprintf(rec.centre, sizeof rec.centre, "C01");
    rec.source = "clinic_en";
    snprintf(rec.region, sizeof rec.region, "VL");
    rec.year = 2025;
    rec.start_ymd = 20250301;
    rec.age = age;
    rec.first_use_age = TDI_AGE_NOT_KNOWN;
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);

        rec.code[i] = def->conditional ? TDI_CODE_NOT_APPLICABLE : (uint8_t)def->not_known;
    }
    set_code(&rec, TDI_ITEM_SETTING, "outpatient");
    set_code(&rec, TDI_ITEM_CENTRE_TYPE, "1");
    set_code(&rec, TDI_ITEM_SEX, "1");
    set_code(&rec, TDI_ITEM_TREATMENT_STATUS, "2");
    set_code(&rec, TDI_ITEM_PRIMARY_DRUG, "1.1");
    set_code(&rec, TDI_ITEM_ROUTE, "1");
    return rec;
}

static void path_in(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* ---- the read-back of a published file ---- */

/* A gzip file of text at path, as tdi writes it (windowBits 15 + 16); its size into *len. */
static void write_gz(const char *path, const char *text, unsigned char *gz, size_t cap, size_t *len)
{
    z_stream zs = {0};
    FILE *fp;

    assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (const Bytef *)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *len = cap - zs.avail_out;
    assert_int_equal(deflateEnd(&zs), Z_OK);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(gz, 1, *len, fp), *len);
    assert_int_equal(fclose(fp), 0);
}

static void put_file(const char *path, const unsigned char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void read_back_checks_the_file_itself(void **state)
{
    fixture *fx = *state;
    const char *text = HEADER FOOTER;
    unsigned char gz[1024], bad[1024];
    char path[128], sha[65], want[65], expect[512];
    size_t len = 0;

    snprintf(path, sizeof path, "%s/check.xml.gz", fx->dir);
    write_gz(path, text, gz, sizeof gz, &len);
    assert_int_equal(rpt_gz_check_file(path, strlen(text), sha), TDI_OK);
    sha256_hex(gz, len, want);
    assert_string_equal(sha, want);
    assert_int_equal(fx->log.count, 0);

    /* Another length than the writer fed in. */
    assert_int_equal(rpt_gz_check_file(path, strlen(text) + 1, sha), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect,
             "%s: read back, the file is not what was written (it inflates to another length "
             "than was written)\n",
             path);
    assert_string_equal(fx->log.text, expect);

    /* A CRC-32 in the trailer that does not match the data. */
    memcpy(bad, gz, len);
    bad[len - 8] ^= 0x01;
    put_file(path, bad, len);
    test_log_start(&fx->log);
    assert_int_equal(rpt_gz_check_file(path, strlen(text), sha), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect,
             "%s: read back, the file is not what was written (incorrect data check)\n", path);
    assert_string_equal(fx->log.text, expect);

    /* Cut short. */
    put_file(path, gz, len - 4);
    test_log_start(&fx->log);
    assert_int_equal(rpt_gz_check_file(path, strlen(text), sha), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect,
             "%s: read back, the file is not what was written (the gzip stream is cut short)\n",
             path);
    assert_string_equal(fx->log.text, expect);

    /* Bytes after the end of the stream. */
    memcpy(bad, gz, len);
    memcpy(bad + len, "junk", 4);
    put_file(path, bad, len + 4);
    test_log_start(&fx->log);
    assert_int_equal(rpt_gz_check_file(path, strlen(text), sha), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect,
             "%s: read back, the file is not what was written (data after the end of the gzip "
             "stream)\n",
             path);
    assert_string_equal(fx->log.text, expect);

    /* No file. */
    assert_int_equal(unlink(path), 0);
    test_log_start(&fx->log);
    assert_int_equal(rpt_gz_check_file(path, strlen(text), sha), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s: cannot open: No such file or directory\n", path);
    assert_string_equal(fx->log.text, expect);
}

/* A stream written through rpt_gz into dir/name, finished and closed, for rpt_gz_verify(). */
static void gz_stream(rpt_file *f, rpt_gz *gz, const char *dir, const char *text)
{
    memset(f, 0, sizeof *f);
    memset(gz, 0, sizeof *gz);
    assert_int_equal(rpt_file_create(f, dir, "follow.xml.gz"), TDI_OK);
    assert_int_equal(rpt_gz_init(gz, f, 1), TDI_OK);
    assert_int_equal(rpt_gz_write(gz, text, strlen(text)), TDI_OK);
    assert_int_equal(rpt_gz_finish(gz), TDI_OK);
    assert_int_equal(rpt_file_close(f), TDI_OK);
}

/* rpt_gz_verify() refuses the file f that gz wrote and something changed since, saying why;
 * both are discarded. */
static void verify_refuses(fixture *fx, rpt_gz *gz, rpt_file *f, const char *why)
{
    char sha[65], expect[PATH_MAX + 128];

    test_log_start(&fx->log);
    assert_int_equal(rpt_gz_verify(gz, sha), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s: read back, the file is not what was written (%s)\n",
             f->tmp, why);
    assert_string_equal(fx->log.text, expect);
    rpt_gz_discard(gz);
    rpt_file_discard(f);
}

/* The read-back the deflate thread does as it writes: the file's SHA-256 as rpt_gz_check_file
 * reads it, and a file changed behind the writer (bytes added, bytes cut) refused. */
static void read_back_follows_the_writer(void **state)
{
    fixture *fx = *state;
    const char *text = HEADER FOOTER;
    char sha[65], want[65];
    rpt_file f;
    rpt_gz *gz = calloc(1, sizeof *gz);
    FILE *fp;

    assert_non_null(gz);
    gz_stream(&f, gz, fx->dir, text);
    assert_int_equal(rpt_gz_verify(gz, sha), TDI_OK);
    assert_int_equal(rpt_gz_check_file(f.tmp, strlen(text), want), TDI_OK);
    assert_string_equal(sha, want);
    assert_int_equal(fx->log.count, 0);
    rpt_gz_discard(gz);
    rpt_file_discard(&f);

    /* Bytes added after the writer's last. */
    gz_stream(&f, gz, fx->dir, text);
    fp = fopen(f.tmp, "ab");
    assert_non_null(fp);
    assert_int_equal(fputs("junk", fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    verify_refuses(fx, gz, &f, "data after the end of the gzip stream");

    /* Cut short after the writer's last. */
    gz_stream(&f, gz, fx->dir, text);
    assert_int_equal(truncate(f.tmp, 10), 0);
    verify_refuses(fx, gz, &f, "the file is shorter than was written");
    free(gz);
}

/* ---- submissions ---- */

static void publish_writes_exact_xml_and_manifest(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    tdi_record r1 = make_record(KEY1, PERSON_A, 34);
    tdi_record r2 = make_record(KEY2, PERSON_A, TDI_AGE_NOT_KNOWN);
    tdi_record r3 = make_record(KEY3, PERSON_B, 0);
    char xml[8192], gz[8192], json[1024], expect[2048], sha[65], listing[512], path[256];
    size_t gzlen;
    struct stat sb;

    set_code(&r2, TDI_ITEM_SETTING, "not_known");
    set_code(&r2, TDI_ITEM_CENTRE_TYPE, "99");
    set_code(&r2, TDI_ITEM_SEX, "99");
    set_code(&r2, TDI_ITEM_TREATMENT_STATUS, "3");
    set_code(&r2, TDI_ITEM_PRIMARY_DRUG, "99");
    set_code(&r2, TDI_ITEM_ROUTE, "99");
    snprintf(r3.centre, sizeof r3.centre, "C.02-x_y");
    set_code(&r3, TDI_ITEM_SETTING, "residential_hospital");
    set_code(&r3, TDI_ITEM_CENTRE_TYPE, "2");
    set_code(&r3, TDI_ITEM_SEX, "2");
    set_code(&r3, TDI_ITEM_TREATMENT_STATUS, "1");
    set_code(&r3, TDI_ITEM_PRIMARY_DRUG, "7.1");
    set_code(&r3, TDI_ITEM_ROUTE, "2");
    set_code(&r3, TDI_ITEM_RESIDENTIAL_APPROACH, "twelve_step");
    set_code(&r3, TDI_ITEM_PLANNED_DURATION, "short");
    set_code(&r3, TDI_ITEM_DETOX_PHASE, "not_known");
    set_code(&r3, TDI_ITEM_SECONDARY_DRUG_1, "8");
    set_code(&r3, TDI_ITEM_SECONDARY_DRUG_2, "0");
    set_code(&r3, TDI_ITEM_INJECTING, "1");
    set_code(&r3, TDI_ITEM_OST, "2");
    set_code(&r3, TDI_ITEM_YEARS_SINCE_FIRST_OST, "16+");
    set_code(&r1, TDI_ITEM_AGE_BAND, "30-34");
    set_code(&r1, TDI_ITEM_FIRST_USE_AGE_BAND, "15-19");
    set_code(&r1, TDI_ITEM_INJECTING, "2.3");
    set_code(&r1, TDI_ITEM_YEARS_SINCE_FIRST_INJECTION, "3");
    r1.first_use_age = 17;
    r3.quarter = 2;
    r2.person_kind = TDI_PERSON_CLIENT;
    r3.person_kind = TDI_PERSON_SLK581;

    fx->meta.key_id = "0a1b2c3d";
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &r1), TDI_OK);
    assert_int_equal(report_add(w, &r2), TDI_OK);
    assert_int_equal(report_add(w, &r3), TDI_OK);
    assert_int_equal(report_publish(w, &pub), TDI_OK);
    assert_string_equal(fx->log.text, "");

    path_in(path, sizeof path, fx->body_dir, DATA_NAME);
    assert_string_equal(pub.path, path);
    path_in(path, sizeof path, fx->body_dir, MANIFEST_NAME);
    assert_string_equal(pub.manifest, path);
    assert_int_equal(pub.records, 3);

    gunzip_all(pub.path, xml, sizeof xml);
    /* Ages only as bands (the age in years is not written), the quarter only when given, coded
     * items left out where they do not apply and (schema 2.4) where they are at their default,
     * not known: record 2 knows nothing, so it has no item at all; the residential detox_phase
     * of record 3 has no default and keeps its not_known. */
    assert_string_equal(xml, HEADER_KEYED
                        "<episode key=\"" KEY1 "\" person=\"" PERSON_A "\" personKind=\"nid\" "
                        "source=\"clinic_en\" centre=\"C01\" "
                        "region=\"VL\" year=\"2025\" setting=\"outpatient\" "
                        "centre_type=\"1\" sex=\"1\" age_band=\"30-34\" "
                        "treatment_status=\"2\" "
                        "primary_drug=\"1.1\" route=\"1\" first_use_age_band=\"15-19\" "
                        "injecting=\"2.3\" years_since_first_injection=\"3\"/>\n"
                        "<episode key=\"" KEY2 "\" person=\"" PERSON_A "\" personKind=\"client\" "
                        "source=\"clinic_en\" centre=\"C01\" region=\"VL\" year=\"2025\"/>\n"
                        "<episode key=\"" KEY3 "\" person=\"" PERSON_B "\" personKind=\"slk581\" "
                        "source=\"clinic_en\" "
                        "centre=\"C.02-x_y\" region=\"VL\" year=\"2025\" quarter=\"2\" "
                        "setting=\"residential_hospital\" centre_type=\"2\" "
                        "residential_approach=\"twelve_step\" planned_duration=\"short\" "
                        "detox_phase=\"not_known\" sex=\"2\" "
                        "treatment_status=\"1\" "
                        "primary_drug=\"7.1\" route=\"2\" "
                        "secondary_drug_1=\"8\" secondary_drug_2=\"0\" "
                        "injecting=\"1\" ost=\"2\" years_since_first_ost=\"16+\"/>\n" FOOTER);

    /* The digest is recomputed here over the bytes on disk, independently of report/. */
    gzlen = read_all(pub.path, gz, sizeof gz);
    assert_true(gzlen > 18 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    sha256_hex(gz, gzlen, sha);
    assert_string_equal(pub.sha256, sha);
    read_all(pub.manifest, json, sizeof json);
    snprintf(expect, sizeof expect,
             "{\"file\":\"" DATA_NAME "\",\"sha256\":\"%s\",\"records\":3,"
             "\"schemaVersion\":\"2.5\",\"body\":\"flanders\",\"year\":2025,"
             "\"sequence\":1,\"appends\":3,\"replaces\":0,\"deletes\":0,\"runId\":\"" RUN_ID
             "\",\"runNo\":7,\"generated\":\"" GENERATED "\",\"keyId\":\"0a1b2c3d\"}\n",
             sha);
    assert_string_equal(json, expect);

    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, MANIFEST_NAME "\n" DATA_NAME "\n");
    assert_int_equal(stat(pub.path, &sb), 0);
    assert_int_equal(sb.st_mode & 0027, 0); /* created 0640: no group write, nothing for others */
}

/* The lines of text, split in place at '\n'; returns how many (at most max). */
static int split_lines(char *text, char **lines, int max)
{
    int n = 0;

    for (char *p = text; *p && n < max; n++) {
        char *nl = strchr(p, '\n');
        lines[n] = p;
        if (!nl)
            return n + 1;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A delta: a replace carries action="replace" first, an append none (the schema's default), a
 * delete only the key, after every episode; the header and the manifest carry the sequence. */
static void publish_delta_with_replace_and_delete(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    tdi_record r1 = make_record(KEY1, PERSON_A, 34);
    tdi_record r2 = make_record(KEY2, PERSON_B, 40);
    char xml[16384], json[1024], expect[1024], *line[16];

    fx->meta.sequence = 42;
    fx->meta.blanked = "region sex";
    fx->meta.disclosure = "{\"k\":5}";
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add_action(w, &r1, REPORT_REPLACE), TDI_OK);
    assert_int_equal(report_add(w, &r2), TDI_OK);
    assert_int_equal(report_delete(w, KEY3), TDI_OK);
    assert_int_equal(report_delete(w, "e1:0000000000000000000000000000000f"), TDI_OK);
    assert_int_equal(report_publish(w, &pub), TDI_OK);
    assert_string_equal(fx->log.text, "");
    assert_int_equal(pub.records, 2);
    assert_int_equal(pub.replaces, 1);
    assert_int_equal(pub.deletes, 2);
    gunzip_all(pub.path, xml, sizeof xml);
    assert_int_equal(split_lines(xml, line, 16), 9);
    assert_string_equal(line[1],
                        "<submission xmlns=\"urn:tdi:submission:2\" schemaVersion=\"2.5\" "
                        "body=\"flanders\" year=\"2025\" sequence=\"42\" runId=\"" RUN_ID
                        "\" runNo=\"7\" generated=\"" GENERATED "\" countingLevel=\"none\" "
                        "blanked=\"region sex\">");
    assert_string_equal(line[2], "<episodes>");
    assert_true(starts_with(line[3],
                            "<episode action=\"replace\" key=\"" KEY1 "\" person=\"" PERSON_A
                            "\" personKind=\"nid\" source=\"clinic_en\" "));
    assert_true(starts_with(line[4], "<episode key=\"" KEY2 "\" person=\"" PERSON_B "\" "));
    assert_string_equal(line[5], "<delete key=\"" KEY3 "\"/>");
    assert_string_equal(line[6], "<delete key=\"e1:0000000000000000000000000000000f\"/>");
    assert_string_equal(line[7], "</episodes>");
    assert_string_equal(line[8], "</submission>");
    read_all(pub.manifest, json, sizeof json);
    snprintf(expect, sizeof expect,
             "{\"file\":\"" DATA_NAME "\",\"sha256\":\"%s\",\"records\":2,"
             "\"schemaVersion\":\"2.5\",\"body\":\"flanders\",\"year\":2025,"
             "\"sequence\":42,\"appends\":1,\"replaces\":1,\"deletes\":2,\"runId\":\"" RUN_ID
             "\",\"runNo\":7,\"generated\":\"" GENERATED "\",\"disclosure\":{\"k\":5}}\n",
             pub.sha256);
    assert_string_equal(json, expect);
}

/* Deletes come last; a delete needs a key; sequence 0 is no sequence. */
static void delta_order_and_keys_are_checked(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    tdi_record r1 = make_record(KEY1, PERSON_A, 34);
    char listing[512];

    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_delete(w, KEY2), TDI_OK);
    assert_int_equal(report_add(w, &r1), TDI_ERR_INTERNAL);
    assert_string_equal(fx->log.text, DATA_NAME ": episode after a delete: deletes come last\n");
    report_abort(w);

    fx->log.text[0] = '\0';
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_delete(w, "row:7"), TDI_ERR_INTERNAL);
    assert_string_equal(fx->log.text, DATA_NAME ": delete 1: key is not an episode pseudonym\n");
    report_abort(w);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");

    fx->log.text[0] = '\0';
    fx->meta.sequence = 0;
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_ERR_INTERNAL);
    assert_string_equal(fx->log.text, "submission: sequence number out of range 1..999999999999\n");
}

/* Appends "name\0value\0" to canon at n; returns the new length. */
static size_t canon_put(char *canon, size_t n, size_t cap, const char *name, size_t nlen,
                        const char *v, size_t vlen)
{
    assert_true(n + nlen + vlen + 2 < cap);
    memcpy(canon + n, name, nlen);
    n += nlen;
    canon[n++] = '\0';
    memcpy(canon + n, v, vlen);
    n += vlen;
    canon[n++] = '\0';
    return n;
}

/* "name\0value\0" for every attribute of an <episode .../> line but action, parsed from the text
 * as written, into canon, the coded items after the other attributes in item order, each item
 * the line leaves out at its schema default (2.4) spelled out, as a 2.3 line has them; returns
 * the length. */
static size_t canonical_from_line(const char *line, char *canon, size_t cap)
{
    const char *p = strchr(line, ' ');
    size_t n = 0;

    while (p && *p == ' ') {
        const char *eq = strchr(p, '='), *v, *end;
        size_t nlen, vlen;
        char name[64];

        if (!eq || eq[1] != '"')
            break;
        v = eq + 2;
        end = strchr(v, '"');
        assert_non_null(end);
        nlen = (size_t)(eq - p - 1);
        vlen = (size_t)(end - v);
        snprintf(name, sizeof name, "%.*s", (int)nlen, p + 1);
        if (strcmp(name, "action") != 0 && !tdi_item_by_name(name, NULL))
            n = canon_put(canon, n, cap, name, nlen, v, vlen);
        p = end + 1;
    }
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const char *name = tdi_item_get((tdi_item)i)->name, *v = tdi_item_default((tdi_item)i);
        char pat[64];
        const char *at;

        snprintf(pat, sizeof pat, " %s=\"", name);
        if ((at = strstr(line, pat)) != NULL)
            v = at + strlen(pat);
        if (v)
            n = canon_put(canon, n, cap, name, strlen(name), v,
                          at ? (size_t)(strchr(v, '"') - v) : strlen(v));
    }
    return n;
}

/* The content hash: SHA-256 over "name\0value\0" of every attribute the episode carries and
 * "start\0YYYYMMDD\0", the first 128 bits in hex; recomputed here from the written line. Any
 * attribute change changes it, and a moved start; the action and the entrant flag do not. */
static void record_hash_is_over_the_attributes(void **state)
{
    fixture *fx = *state;
    tdi_record r = make_record(KEY1, PERSON_A, 34);
    report_writer *w = NULL;
    report_published pub;
    tdi_hash *h = NULL;
    char hex[REPORT_HASH_HEX + 1], again[REPORT_HASH_HEX + 1], sha[65];
    char xml[16384], canon[4096], *line[8];
    size_t n;

    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add_action(w, &r, REPORT_REPLACE), TDI_OK);
    assert_int_equal(report_publish(w, &pub), TDI_OK);
    gunzip_all(pub.path, xml, sizeof xml);
    assert_int_equal(split_lines(xml, line, 8), 6);
    n = canonical_from_line(line[3], canon, sizeof canon);
    assert_true(n > 100);
    /* then the start date, which the line does not carry */
    n += (size_t)snprintf(canon + n, sizeof canon - n, "start%c%d", '\0', r.start_ymd) + 1;
    sha256_hex(canon, n, sha);
    sha[REPORT_HASH_HEX] = '\0';

    assert_int_equal(tdi_hash_new(&h), TDI_OK);
    assert_int_equal(report_record_hash(h, &r, hex), TDI_OK);
    assert_string_equal(hex, sha);
    /* the value tdi 2.3 computed for this record: leaving defaults out of the file (2.4) changes
     * no hash, so the first run after the upgrade replaces nothing it sent before */
    assert_string_equal(hex, "b90db59d4afdd2ae77f6f4652f659d1f");
    assert_null(strstr(line[3], "=\"99\""));
    assert_int_equal(report_record_hash(h, &r, again), TDI_OK); /* the context is reused */
    assert_string_equal(hex, again);
    r.entrant = TDI_ENTRANT_YES; /* the state database's to compare, not content */
    assert_int_equal(report_record_hash(h, &r, again), TDI_OK);
    assert_string_equal(hex, again);
    r.start_ymd++;
    assert_int_equal(report_record_hash(h, &r, again), TDI_OK);
    assert_string_not_equal(hex, again);
    r.start_ymd--;
    set_code(&r, TDI_ITEM_ROUTE, "2");
    assert_int_equal(report_record_hash(h, &r, again), TDI_OK);
    assert_string_not_equal(hex, again);
    r = make_record(KEY1, PERSON_A, TDI_AGE_NOT_KNOWN); /* the age is not written */
    assert_int_equal(report_record_hash(h, &r, again), TDI_OK);
    assert_string_equal(hex, again);
    r.quarter = 3;
    assert_int_equal(report_record_hash(h, &r, again), TDI_OK);
    assert_string_not_equal(hex, again);
    tdi_hash_free(h);
}

/* dir, made, holding an empty file of each name. */
static void empty_files(const char *dir, const char *const *names, size_t n)
{
    char path[256];

    assert_int_equal(mkdir(dir, 0700), 0);
    for (size_t i = 0; i < n; i++) {
        FILE *fp;
        path_in(path, sizeof path, dir, names[i]);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fclose(fp);
    }
}

/* The sweep removes tdi's temp files (.tdi-*.tmp, .quarantine-*.tmp, the run page's
 * .report-*.tmp), nothing else; a link planted at such a name is removed itself, never what it
 * points to (red team 7: kept, it blocked the name for good). */
static void sweep_removes_only_temp_files(void **state)
{
    fixture *fx = *state;
    static const char *const files[] = {".tdi-flanders-2025-x.xml.gz.tmp",
                                        ".quarantine-s-2025-x.tsv.tmp",
                                        ".tdi-spool-abc.tmp",
                                        ".report-20251201T020000Z.html.tmp",
                                        ".keep",
                                        "tdi-flanders-2025-x.xml.gz",
                                        ".tdi-x.tmpx"};
    char path[256], listing[512];
    unsigned long removed = 0;

    empty_files(fx->body_dir, files, sizeof files / sizeof files[0]);
    path_in(path, sizeof path, fx->body_dir, ".tdi-link.tmp");
    assert_int_equal(symlink("/etc/hostname", path), 0);
    assert_int_equal(report_sweep_temp(fx->body_dir, &removed), TDI_OK);
    assert_int_equal(removed, 5);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, ".keep\n.tdi-x.tmpx\ntdi-flanders-2025-x.xml.gz\n");
    assert_int_equal(access("/etc/hostname", F_OK), 0);
    removed = 0;
    assert_int_equal(report_sweep_temp("/nonexistent/dir", &removed), TDI_OK);
    assert_int_equal(removed, 0);
}

/* A killed run's data files without their manifest (a submission, tables, a workbook) are removed
 * from a body's folder, one info line each; a published file (its manifest there), a manifest, a
 * file not named as tdi names its files, and a directory stay. */
static void sweep_removes_unmanifested(void **state)
{
    fixture *fx = *state;
    static const char *const files[] = {
        "tdi-flanders-2025-20251201T020000Z.xml.gz",
        "tdi-flanders-2025-20251201T020000Z.manifest.json",
        "tdi-flanders-2025-20251202T020000Z.xml.gz",
        "tdi-flanders-2025-20251202T020000Z.tables.xml",
        "tdi-flanders-2025-20251202T020000Z.workbook.xlsx",
        "tdi-flanders-2025-20251203T020000Z.tables.xml",
        "tdi-flanders-2025-20251203T020000Z.tables.manifest.json",
        "tdi-flanders-2025-20251204T020000Z.manifest.json",
        "national.xml.gz",
    };
    char path[256], listing[1024];

    empty_files(fx->body_dir, files, sizeof files / sizeof files[0]);
    path_in(path, sizeof path, fx->body_dir, "tdi-dir.xml.gz");
    assert_int_equal(mkdir(path, 0700), 0);
    test_log_start(&fx->log);
    assert_int_equal(report_sweep_unmanifested(fx->body_dir), TDI_OK);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "national.xml.gz\n"
                                 "tdi-dir.xml.gz\n"
                                 "tdi-flanders-2025-20251201T020000Z.manifest.json\n"
                                 "tdi-flanders-2025-20251201T020000Z.xml.gz\n"
                                 "tdi-flanders-2025-20251203T020000Z.tables.manifest.json\n"
                                 "tdi-flanders-2025-20251203T020000Z.tables.xml\n"
                                 "tdi-flanders-2025-20251204T020000Z.manifest.json\n");
    /* in readdir's order: each line once */
    assert_non_null(strstr(fx->log.text, "removed tdi-flanders-2025-20251202T020000Z.xml.gz: an "
                                         "interrupted run left it without its manifest (not "
                                         "published)\n"));
    assert_non_null(strstr(fx->log.text, "removed tdi-flanders-2025-20251202T020000Z.tables.xml: "
                                         "an interrupted run left it without its manifest (not "
                                         "published)\n"));
    assert_non_null(strstr(fx->log.text, "removed tdi-flanders-2025-20251202T020000Z.workbook.xlsx:"
                                         " an interrupted run left it without its manifest (not "
                                         "published)\n"));
    assert_int_equal(fx->log.count, 3);
    assert_int_equal(report_sweep_unmanifested("/nonexistent/dir"), TDI_OK);
}

static void publish_empty_submission(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    char xml[4096], json[1024];

    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_publish(w, &pub), TDI_OK);
    assert_int_equal(pub.records, 0);
    gunzip_all(pub.path, xml, sizeof xml);
    assert_string_equal(xml, HEADER FOOTER);
    read_all(pub.manifest, json, sizeof json);
    assert_non_null(strstr(json, "\"records\":0,"));
}

static void bad_utf8_centre_aborts_and_leaves_nothing(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    tdi_record good = make_record(KEY1, PERSON_A, 30);
    tdi_record bad = make_record(KEY2, PERSON_A, 30);
    char listing[512];

    snprintf(bad.centre, sizeof bad.centre, "C\xc3\x28");
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &good), TDI_OK);
    assert_int_equal(report_add(w, &bad), TDI_ERR_INTERNAL);
    assert_string_equal(fx->log.text,
                        DATA_NAME ": record " KEY2 ": centre is not 1..32 of [A-Za-z0-9._-]\n");
    /* The writer stays failed: no more records, and publishing publishes nothing. */
    assert_int_equal(report_add(w, &good), TDI_ERR_INTERNAL);
    assert_int_equal(report_publish(w, &pub), TDI_ERR_INTERNAL);
    assert_int_equal(fx->log.count, 1);
    assert_string_equal(pub.path, "");
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

static void bad_record_fields_are_named_not_quoted(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    tdi_record rec;
    char listing[512];

    /* Something that is not a pseudonym in the key slot is never logged. */
    rec = make_record("e1:not-a-pseudonym-0123456789", PERSON_A, 30);
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_ERR_INTERNAL);
    report_abort(w);

    rec = make_record(KEY1, "19800101-1234", 30);
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_ERR_INTERNAL);
    report_abort(w);

    rec = make_record(KEY1, PERSON_A, 30);
    rec.person_kind = TDI_PERSON_KIND_COUNT;
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_ERR_INTERNAL);
    report_abort(w);

    rec = make_record(KEY1, PERSON_A, 30);
    snprintf(rec.region, sizeof rec.region, "VL\x1b[31m");
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_ERR_INTERNAL);
    report_abort(w);

    rec = make_record(KEY1, PERSON_A, 30);
    rec.code[TDI_ITEM_PRIMARY_DRUG] = 200;
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_ERR_INTERNAL);
    report_abort(w);

    /* "not applicable" only for items that can be left out */
    rec = make_record(KEY1, PERSON_A, 30);
    rec.code[TDI_ITEM_SEX] = TDI_CODE_NOT_APPLICABLE;
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_ERR_INTERNAL);
    report_abort(w);

    /* clang-format off */
    assert_string_equal(fx->log.text,
        DATA_NAME ": record 1: key is not an episode pseudonym\n"
        DATA_NAME ": record " KEY1 ": person is not a pseudonym\n"
        DATA_NAME ": record " KEY1 ": person kind 3 out of range\n"
        DATA_NAME ": record " KEY1 ": region is not 1..32 of [A-Za-z0-9._-]\n"
        DATA_NAME ": record " KEY1 ": primary_drug code index 200 out of range\n"
        DATA_NAME ": record " KEY1 ": sex code index 255 out of range\n");
    /* clang-format on */
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

/* Adds recs to a new submission and checks that publishing it is refused with exactly the
 * validator's message for line, then the refusal, and that nothing is left behind. */
static void expect_schema_refusal(fixture *fx, const tdi_record *recs, size_t n, int line,
                                  const char *message)
{
    report_writer *w = NULL;
    report_published pub;
    char listing[512], expect[1024];

    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(report_add(w, &recs[i]), TDI_OK);
    assert_int_equal(report_publish(w, &pub), TDI_ERR_INVALID);
    snprintf(expect, sizeof expect,
             "%s/." DATA_NAME ".tmp:%d: %s\n%s/" DATA_NAME ": fails schema validation, not "
             "published\n",
             fx->body_dir, line, message, fx->body_dir);
    assert_string_equal(fx->log.text, expect);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

static void schema_failure_publishes_nothing(void **state)
{
    /* The second record's year: only the schema knows its range. */
    tdi_record recs[] = {make_record(KEY1, PERSON_A, 30), make_record(KEY2, PERSON_A, 30)};

    recs[1].year = 1850;
    expect_schema_refusal(*state, recs, 2, 5,
                          "Element '{urn:tdi:submission:2}episode', attribute 'year': [facet "
                          "'minInclusive'] The value '1850' is less than the minimum value "
                          "allowed ('1900').");
}

/* Every code of every item, a record each, through the writer: each record's line carries the
 * item's attribute with that code (but the not-known code the writer leaves out), and the file
 * is valid against the schema as published. The run's own check has the code patterns as
 * lengths only (rpt_xsd.h): this is what shows that the line builder pairs an item with its own
 * list. */
static void every_code_pairs_with_its_item(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    static char xml[1 << 20];
    char key[48], want[96], *line;
    unsigned n = 0;

    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);

        for (size_t c = 0; c < def->ncodes; c++) {
            tdi_record rec;

            snprintf(key, sizeof key, "e1:%032x", ++n);
            rec = make_record(key, PERSON_A, 30);
            rec.code[i] = (uint8_t)c;
            assert_int_equal(report_add(w, &rec), TDI_OK);
        }
    }
    assert_int_equal(report_publish(w, &pub), TDI_OK);
    assert_string_equal(fx->log.text, "");
    assert_int_equal(report_validate_file(pub.path, TDI_SCHEMA_DIR), TDI_OK);
    gunzip_all(pub.path, xml, sizeof xml);
    n = 0;
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);

        for (size_t c = 0; c < def->ncodes; c++) {
            char *end;

            snprintf(key, sizeof key, "key=\"e1:%032x\"", ++n);
            line = strstr(xml, key);
            assert_non_null(line);
            end = strchr(line, '\n');
            assert_non_null(end);
            *end = '\0';
            snprintf(want, sizeof want, " %s=\"%s\"", def->name, def->codes[c].code);
            if ((strstr(line, want) != NULL) != (c != def->not_known || def->conditional))
                fail_msg("item %s, code %s: line %s", def->name, def->codes[c].code, line);
            *end = '\n';
        }
    }
}

/* The source, centre, region and year are checked as the schema's patterns have them before a
 * record is written (the run's check leaves those patterns to the writer: rpt_xsd.h): markup,
 * white space, a dot in a source name, a year of three digits, a centre longer than its buffer
 * holds. The log names what is wrong,
 * never the value. */
static void names_checked_before_writing(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    tdi_record rec;
    char listing[512];

    for (int i = 0; i < 5; i++) {
        rec = make_record(KEY1, PERSON_A, 30);
        if (i == 0)
            snprintf(rec.centre, sizeof rec.centre, "%s", "R&D<\"1\">");
        else if (i == 1)
            snprintf(rec.region, sizeof rec.region, "V L");
        else if (i == 2)
            rec.source = "bench.2";
        else if (i == 3)
            rec.year = 812;
        else
            memset(rec.centre, 'A', sizeof rec.centre); /* 33 letters, no end */
        assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
        assert_int_equal(report_add(w, &rec), TDI_ERR_INTERNAL);
        assert_int_equal(report_publish(w, &pub), TDI_ERR_INTERNAL);
        assert_string_equal(pub.path, "");
    }
    /* clang-format off */
    assert_string_equal(fx->log.text,
        DATA_NAME ": record " KEY1 ": centre is not 1..32 of [A-Za-z0-9._-]\n"
        DATA_NAME ": record " KEY1 ": region is not 1..32 of [A-Za-z0-9._-]\n"
        DATA_NAME ": record " KEY1 ": source is not 1..32 of [A-Za-z0-9_-]\n"
        DATA_NAME ": record " KEY1 ": year 812 is not four digits\n"
        DATA_NAME ": record " KEY1 ": centre is not 1..32 of [A-Za-z0-9._-]\n");
    /* clang-format on */
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

static void missing_schema_publishes_nothing(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    tdi_record rec = make_record(KEY1, PERSON_A, 30);
    char listing[512];

    fx->meta.schema_dir = "/nonexistent-tdi-schemas";
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_OK);
    assert_int_equal(report_publish(w, &pub), TDI_ERR_INTERNAL);
    assert_string_equal(fx->log.text, "/nonexistent-tdi-schemas/tdi-submission.xsd: cannot open "
                                      "schema: No such file or directory\n");
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

static void creates_missing_output_dir(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_quarantine *q = NULL;
    char missing[128], listing[512];
    struct stat sb;

    /* A first run on a new machine: output_dir and its parent do not exist yet. */
    snprintf(missing, sizeof missing, "%s/missing/out", fx->dir);
    fx->meta.output_dir = missing;
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_quarantine_open(&fx->meta, "clinic_en", &q), TDI_OK);
    report_abort(w);
    report_quarantine_abort(q);
    assert_string_equal(fx->log.text, "");
    assert_int_equal(stat(missing, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    list_dir(missing, listing, sizeof listing);
    assert_string_equal(listing, "flanders\nquarantine\n");
    snprintf(listing, sizeof listing, "%s/flanders", missing);
    rmdir(listing);
    snprintf(listing, sizeof listing, "%s/quarantine", missing);
    rmdir(listing);
    rmdir(missing);
    snprintf(listing, sizeof listing, "%s/missing", fx->dir);
    rmdir(listing);
}

static void body_path_taken_by_a_file(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    char expect[512], listing[512];
    FILE *fp = fopen(fx->body_dir, "w");

    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s: cannot open directory: Not a directory\n", fx->body_dir);
    assert_string_equal(fx->log.text, expect);
    list_dir(fx->dir, listing, sizeof listing);
    assert_string_equal(listing, "flanders\n");
}

static void read_only_output_dir(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    char expect[512], listing[512];

    if (geteuid() == 0)
        skip(); /* root writes through mode bits; the other failure tests cover this path */
    assert_int_equal(mkdir(fx->body_dir, 0500), 0);
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s/." DATA_NAME ".tmp: cannot create: Permission denied\n",
             fx->body_dir);
    assert_string_equal(fx->log.text, expect);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

static void same_run_twice_is_refused(void **state)
{
    fixture *fx = *state;
    report_writer *w1 = NULL, *w2 = NULL;
    report_published pub;
    char expect[512], listing[512];

    assert_int_equal(report_open(&fx->meta, "flanders", &w1), TDI_OK);
    assert_int_equal(report_open(&fx->meta, "flanders", &w2), TDI_ERR_OUTPUT);
    assert_null(w2);
    snprintf(expect, sizeof expect, "%s/." DATA_NAME ".tmp: cannot create: File exists\n",
             fx->body_dir);
    assert_string_equal(fx->log.text, expect);
    /* The failed second writer must not have removed the first one's temp file. */
    assert_int_equal(report_publish(w1, &pub), TDI_OK);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, MANIFEST_NAME "\n" DATA_NAME "\n");
}

static void write_failure_leaves_nothing(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    tdi_record rec = make_record(KEY1, PERSON_A, 30);
    struct rlimit old, small;
    void (*old_handler)(int);
    char expect[512], listing[512];
    tdi_status st;

    /* A file size limit makes write() fail with EFBIG, as a full disk fails with ENOSPC. */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 16;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_OK);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    st = report_publish(w, &pub);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(st, TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s/." DATA_NAME ".tmp: write failed: File too large\n",
             fx->body_dir);
    assert_string_equal(fx->log.text, expect);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

static void manifest_failure_removes_data_file(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_published pub;
    tdi_record rec = make_record(KEY1, PERSON_A, 30);
    char blocker[256], expect[512], listing[512];

    /* A directory where the manifest goes makes its rename fail after the data file is out. */
    assert_int_equal(mkdir(fx->body_dir, 0750), 0);
    path_in(blocker, sizeof blocker, fx->body_dir, MANIFEST_NAME);
    assert_int_equal(mkdir(blocker, 0750), 0);
    path_in(expect, sizeof expect, blocker, "keep");
    assert_int_equal(mkdir(expect, 0750), 0); /* non-empty: rename cannot replace it */

    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_OK);
    assert_int_equal(report_publish(w, &pub), TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s/." MANIFEST_NAME ".tmp: rename failed: Is a directory\n",
             fx->body_dir);
    assert_string_equal(fx->log.text, expect);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, MANIFEST_NAME "\n");
}

static void bad_meta_is_refused(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    report_meta meta = fx->meta;
    char listing[512];

    assert_int_equal(report_open(&meta, "..", &w), TDI_ERR_INTERNAL);
    assert_int_equal(report_open(&meta, "a/b", &w), TDI_ERR_INTERNAL);
    meta.run_id = "2026-11-23";
    assert_int_equal(report_open(&meta, "flanders", &w), TDI_ERR_INTERNAL);
    meta = fx->meta;
    meta.run_no = 0;
    assert_int_equal(report_open(&meta, "flanders", &w), TDI_ERR_INTERNAL);
    meta = fx->meta;
    meta.gzip_level = 0;
    assert_int_equal(report_open(&meta, "flanders", &w), TDI_ERR_INTERNAL);
    meta = fx->meta;
    meta.key_id = "0A1B2C3D";
    assert_int_equal(report_open(&meta, "flanders", &w), TDI_ERR_INTERNAL);
    meta.key_id = "0a1b2c3";
    assert_int_equal(report_open(&meta, "flanders", &w), TDI_ERR_INTERNAL);
    assert_null(w);
    assert_string_equal(fx->log.text, "submission: name is not 1..32 of [A-Za-z0-9_-]\n"
                                      "submission: name is not 1..32 of [A-Za-z0-9_-]\n"
                                      "submission: run id is not YYYYMMDDTHHMMSSZ\n"
                                      "submission: run number 0 out of range (>= 1)\n"
                                      "submission: gzip level out of range 1..9\n"
                                      "submission: key id is not 8 lowercase hex digits\n"
                                      "submission: key id is not 8 lowercase hex digits\n");
    list_dir(fx->dir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

static void abort_removes_temp_file(void **state)
{
    fixture *fx = *state;
    report_writer *w = NULL;
    tdi_record rec = make_record(KEY1, PERSON_A, 30);
    char listing[512];

    assert_int_equal(report_open(&fx->meta, "flanders", &w), TDI_OK);
    assert_int_equal(report_add(w, &rec), TDI_OK);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "." DATA_NAME ".tmp\n");
    report_abort(w);
    report_abort(NULL);
    list_dir(fx->body_dir, listing, sizeof listing);
    assert_string_equal(listing, "");
    assert_string_equal(fx->log.text, "");
}

/* ---- quarantine ---- */

#define QUARANTINE_NAME "quarantine-clinic_en-2025-" RUN_ID ".tsv"

static void quarantine_rows_are_cleaned(void **state)
{
    fixture *fx = *state;
    report_quarantine *q = NULL;
    report_published pub;
    tdi_rejection r1 = {"R003", "primary_drug", "no crosswalk entry for the local code", ""};
    tdi_rejection r2 = {"R010", "birth_date", "age out of range\tat start", ""};
    char qdir[128], path[256], text[2048], sha[65], listing[512];
    size_t len;

    snprintf(r1.value, sizeof r1.value, "he\troin\nx");
    snprintf(r2.value, sizeof r2.value, "age 131");
    snprintf(qdir, sizeof qdir, "%s/quarantine", fx->dir);
    assert_int_equal(report_quarantine_open(&fx->meta, "clinic_en", &q), TDI_OK);
    assert_int_equal(report_quarantine_add(q, KEY1, &r1), TDI_OK);
    assert_int_equal(report_quarantine_add(q, "row:17", &r2), TDI_OK);
    assert_int_equal(report_quarantine_publish(q, &pub), TDI_OK);
    assert_string_equal(fx->log.text, "");

    path_in(path, sizeof path, qdir, QUARANTINE_NAME);
    assert_string_equal(pub.path, path);
    assert_string_equal(pub.manifest, "");
    assert_int_equal(pub.records, 2);
    len = read_all(pub.path, text, sizeof text);
    /* clang-format off */
    assert_string_equal(text,
        "key\trule\titem\tvalue\tmessage\n"
        KEY1 "\tR003\tprimary_drug\the?roin?x\tno crosswalk entry for the local code\n"
        "row:17\tR010\tbirth_date\tage 131\tage out of range?at start\n");
    /* clang-format on */
    sha256_hex(text, len, sha);
    assert_string_equal(pub.sha256, sha);
    list_dir(qdir, listing, sizeof listing);
    assert_string_equal(listing, QUARANTINE_NAME "\n");
}

static void quarantine_without_rows_has_header_only(void **state)
{
    fixture *fx = *state;
    report_quarantine *q = NULL;
    report_published pub;
    char text[256];

    assert_int_equal(report_quarantine_open(&fx->meta, "clinic_en", &q), TDI_OK);
    assert_int_equal(report_quarantine_publish(q, &pub), TDI_OK);
    assert_int_equal(pub.records, 0);
    read_all(pub.path, text, sizeof text);
    assert_string_equal(text, "key\trule\titem\tvalue\tmessage\n");
}

static void quarantine_abort_and_write_failure(void **state)
{
    fixture *fx = *state;
    report_quarantine *q = NULL;
    report_published pub;
    tdi_rejection rej = {"R003", "sex", "unknown code", "X"};
    struct rlimit old, small;
    void (*old_handler)(int);
    char qdir[128], listing[512], expect[512];
    tdi_status st;

    snprintf(qdir, sizeof qdir, "%s/quarantine", fx->dir);
    assert_int_equal(report_quarantine_open(&fx->meta, "clinic_en", &q), TDI_OK);
    assert_int_equal(report_quarantine_add(q, KEY1, &rej), TDI_OK);
    report_quarantine_abort(q);
    report_quarantine_abort(NULL);
    list_dir(qdir, listing, sizeof listing);
    assert_string_equal(listing, "");

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 10;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(report_quarantine_open(&fx->meta, "clinic_en", &q), TDI_OK);
    assert_int_equal(report_quarantine_add(q, KEY1, &rej), TDI_OK);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    st = report_quarantine_publish(q, &pub);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(st, TDI_ERR_OUTPUT);
    snprintf(expect, sizeof expect, "%s/." QUARANTINE_NAME ".tmp: write failed: File too large\n",
             qdir);
    assert_string_equal(fx->log.text, expect);
    list_dir(qdir, listing, sizeof listing);
    assert_string_equal(listing, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(publish_writes_exact_xml_and_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(publish_empty_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back_checks_the_file_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back_follows_the_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(publish_delta_with_replace_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(delta_order_and_keys_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(record_hash_is_over_the_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(sweep_removes_only_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(sweep_removes_unmanifested, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_utf8_centre_aborts_and_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_record_fields_are_named_not_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_failure_publishes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(names_checked_before_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(every_code_pairs_with_its_item, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_schema_publishes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(creates_missing_output_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(body_path_taken_by_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(read_only_output_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(same_run_twice_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(write_failure_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(manifest_failure_removes_data_file, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_meta_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(abort_removes_temp_file, setup, teardown),
        cmocka_unit_test_setup_teardown(quarantine_rows_are_cleaned, setup, teardown),
        cmocka_unit_test_setup_teardown(quarantine_without_rows_has_header_only, setup, teardown),
        cmocka_unit_test_setup_teardown(quarantine_abort_and_write_failure, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
