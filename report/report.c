/*
 * report: the submission writer (report_open, report_add, report_publish, report_abort).
 *
 * XML goes out through xmlTextWriter into an xmlOutputBuffer whose write callback feeds rpt_gz,
 * which deflates onto the temp file on a thread of its own: memory stays flat however many
 * episodes there are. Each <episode/> and <delete/> is one line, so a validator's line number
 * points at one record. The same bytes go to the schema check, which runs on two threads while
 * the file is written (rpt_validate_fd); publishing waits for both verdicts before anything gets
 * its final name. Checking the stream rather than reading the finished file back costs no second
 * pass over it, and the check (libxml2's XSD validation, two thirds of tdi run's CPU time) is
 * shared by the cores: each check thread gets the header and the footer and every other record
 * line, and an empty line for each of the others, which element-only content allows. Its line
 * numbers are the file's, every record is checked once, and each thread still sees episodes
 * before deletes. That is the whole check because the schema has no constraint across records
 * (no xs:unique, xs:key); one that gains such a constraint needs CHECKS 1.
 */
#include "report.h"

#include "rpt_file.h"
#include "rpt_gz.h"
#include "rpt_names.h"
#include "rpt_pipe.h"
#include "rpt_validate.h"
#include "rpt_xml.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlschemastypes.h>
#include <libxml/xmlwriter.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XC(s)          ((const xmlChar *)(s))
#define COUNTING_LEVEL "none" /* without meta.counting_level: episodes as they come */
#define EPISODE_ATTRS  (12 + TDI_ITEM_COUNT) /* key .. continuing, then one per item */
#ifndef CHECKS
#define CHECKS 2 /* schema check threads, each taking every other record line */
#endif
#define HEADER_LINES 3                      /* <?xml?>, <submission ...>, <episodes> */
#define SEQUENCE_MAX UINT64_C(999999999999) /* the schema's bound, far beyond any need */

struct report_writer {
    report_meta meta; /* copy; its strings are borrowed */
    char body[RPT_NAME_MAX + 1];
    rpt_file file;
    rpt_gz gz;
    xmlTextWriterPtr xw;    /* owns its xmlOutputBuffer */
    rpt_pipe check[CHECKS]; /* the XML, uncompressed, to the schema check threads */
    struct check_arg {
        struct report_writer *w;
        int index;
    } check_arg[CHECKS];
    int split;              /* record lines are being written: each goes to one check thread */
    int owner;              /* the check thread of the current record line */
    atomic_int abandon;     /* the document will not be finished: the checks stop quietly */
    char linebuf[4096];     /* one <episode/> line being built (put_empty_element) */
    unsigned long records;  /* episodes written */
    unsigned long replaces; /* of records */
    unsigned long deletes;
    tdi_status failed;    /* first failure: the writer refuses all further work */
    tdi_status io_status; /* what the output callback last ran into */
    int discarding;       /* the output callback drops data: the file is going away */
    char xml_error[256];  /* first libxml2 message of the current call */
};

/* Hands XML to the check threads: all of it outside the record lines; each record line to its
 * owner only, and its newline to the others, so every thread's line numbers are the file's. */
static tdi_status to_checks(report_writer *w, const char *buf, size_t len)
{
    tdi_status st = TDI_OK;

    if (!w->split) {
        for (int c = 0; c < CHECKS && st == TDI_OK; c++)
            st = rpt_pipe_write(&w->check[c], buf, len);
        return st;
    }
    while (len > 0 && st == TDI_OK) {
        const char *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) + 1 : len;

        st = rpt_pipe_write(&w->check[w->owner], buf, n);
        if (nl) {
            for (int c = 0; c < CHECKS && st == TDI_OK; c++)
                if (c != w->owner)
                    st = rpt_pipe_write(&w->check[c], "\n", 1);
            w->owner = (w->owner + 1) % CHECKS;
        }
        buf += n;
        len -= n;
    }
    return st;
}

/* libxml2's output callback: every byte of XML passes here on its way to the gzip stream and to
 * the schema check. */
static int write_xml(void *ctx, const char *buf, int len)
{
    report_writer *w = ctx;

    if (w->discarding)
        return len;
    if (w->io_status != TDI_OK || len < 0)
        return -1;
    w->io_status = rpt_gz_write(&w->gz, buf, (size_t)len);
    if (w->io_status == TDI_OK)
        w->io_status = to_checks(w, buf, (size_t)len);
    return w->io_status == TDI_OK ? len : -1;
}

/* A schema check thread: validates the stream as the writer produces it. All but the first say
 * nothing about the header lines, which every thread checks. */
static tdi_status check_stream(int fd, void *arg)
{
    const struct check_arg *a = arg;
    const report_writer *w = a->w;

    return rpt_validate_fd(fd, w->file.tmp, w->meta.schema_dir, &a->w->abandon,
                           a->index == 0 ? 0 : HEADER_LINES);
}

static void on_xml_error(void *ctx, xmlErrorPtr err)
{
    report_writer *w = ctx;

    if (w->xml_error[0] == '\0')
        rpt_xml_message(w->xml_error, sizeof w->xml_error, err);
}

/* Status of a libxml2 writer call that returned rc. An I/O failure underneath was logged where
 * it happened; anything else is libxml2's own and logged here. */
static tdi_status xml_status(report_writer *w, int rc)
{
    if (rc >= 0)
        return TDI_OK;
    if (w->io_status != TDI_OK)
        return w->io_status;
    tdi_error("%s: XML writer failed: %s", w->file.tmp,
              w->xml_error[0] ? w->xml_error : "no message from libxml2");
    return TDI_ERR_INTERNAL;
}

static void begin_xml_call(report_writer *w, rpt_xml_guard *g)
{
    w->xml_error[0] = '\0';
    rpt_xml_capture(g, on_xml_error, w);
}

static tdi_status put_attr(report_writer *w, const char *name, const char *value)
{
    return xml_status(w, xmlTextWriterWriteAttribute(w->xw, XC(name), XC(value)));
}

static tdi_status put_newline(report_writer *w)
{
    return xml_status(w, xmlTextWriterWriteRaw(w->xw, XC("\n")));
}

/* <?xml?>, <submission ...>, <episodes>, each on its own line. */
static tdi_status write_header(report_writer *w)
{
    char year[16], sequence[32], run_no[32];
    tdi_status st;

    snprintf(year, sizeof year, "%d", w->meta.year);
    snprintf(run_no, sizeof run_no, "%" PRId64, w->meta.run_no);
    snprintf(sequence, sizeof sequence, "%" PRIu64, w->meta.sequence);
    st = xml_status(w, xmlTextWriterStartDocument(w->xw, NULL, "UTF-8", NULL));
    /* xmlns by hand: xmlTextWriterStartElementNS would put it after the other attributes. */
    if (st == TDI_OK)
        st = xml_status(w, xmlTextWriterStartElement(w->xw, XC("submission")));
    if (st == TDI_OK)
        st = put_attr(w, "xmlns", REPORT_NAMESPACE);
    if (st == TDI_OK)
        st = put_attr(w, "schemaVersion", REPORT_SCHEMA_VERSION);
    if (st == TDI_OK)
        st = put_attr(w, "body", w->body);
    if (st == TDI_OK)
        st = put_attr(w, "year", year);
    if (st == TDI_OK)
        st = put_attr(w, "sequence", sequence);
    if (st == TDI_OK)
        st = put_attr(w, "runId", w->meta.run_id);
    if (st == TDI_OK)
        st = put_attr(w, "runNo", run_no);
    if (st == TDI_OK)
        st = put_attr(w, "generated", w->meta.generated);
    if (st == TDI_OK)
        st = put_attr(w, "countingLevel",
                      w->meta.counting_level ? w->meta.counting_level : COUNTING_LEVEL);
    if (st == TDI_OK && w->meta.key_id)
        st = put_attr(w, "keyId", w->meta.key_id);
    if (st == TDI_OK && w->meta.blanked && w->meta.blanked[0])
        st = put_attr(w, "blanked", w->meta.blanked);
    if (st == TDI_OK)
        st = put_newline(w);
    if (st == TDI_OK)
        st = xml_status(w, xmlTextWriterStartElement(w->xw, XC("episodes")));
    if (st == TDI_OK)
        st = put_newline(w);
    return st;
}

/* Frees w; unless its file was handed over, removes it. */
static void writer_free(report_writer *w)
{
    rpt_xml_guard g;

    if (!w)
        return;
    w->discarding = 1;
    if (w->xw) {
        begin_xml_call(w, &g);
        xmlFreeTextWriter(w->xw);
        rpt_xml_restore(&g);
    }
    rpt_gz_discard(&w->gz);
    atomic_store(&w->abandon, 1);
    for (int c = 0; c < CHECKS; c++)
        (void)rpt_pipe_close(&w->check[c]); /* abandoned: its verdict no longer matters */
    rpt_file_discard(&w->file);
    free(w);
}

tdi_status report_open(const report_meta *meta, const char *body, report_writer **out)
{
    report_writer *w = NULL;
    xmlOutputBufferPtr ob = NULL;
    char name[PATH_MAX];
    rpt_xml_guard g;
    int guarded = 0;
    tdi_status st;

    *out = NULL;
    st = rpt_meta_check(meta, "submission", body);
    if (st != TDI_OK)
        return st;
    if (meta->sequence < 1 || meta->sequence > SEQUENCE_MAX) {
        tdi_error("submission: sequence number out of range 1..%" PRIu64, SEQUENCE_MAX);
        return TDI_ERR_INTERNAL;
    }
    if (meta->run_no < 1) {
        tdi_error("submission: run number %" PRId64 " out of range (>= 1)", meta->run_no);
        return TDI_ERR_INTERNAL;
    }
    w = calloc(1, sizeof *w); /* zeroed file and gz hold nothing to release */
    if (!w) {
        tdi_error("submission %s: out of memory", body);
        return TDI_ERR_INTERNAL;
    }
    w->meta = *meta;
    snprintf(w->body, sizeof w->body, "%s", body);

    /* libxml2 sets up its globals, the schema type table included, on first use, and not
     * thread-safely: done here, before the check threads parse the schema. */
    xmlInitParser();
    xmlSchemaInitTypes();
    snprintf(name, sizeof name, "tdi-%s-%d-%s.xml.gz", body, meta->year, meta->run_id);
    st = rpt_file_create_under(&w->file, meta->output_dir, body, name);
    if (st == TDI_OK)
        st = rpt_gz_init(&w->gz, &w->file, meta->gzip_level);
    for (int c = 0; c < CHECKS && st == TDI_OK; c++) {
        w->check_arg[c] = (struct check_arg){w, c};
        st = rpt_pipe_start(&w->check[c], check_stream, &w->check_arg[c], 0);
    }
    if (st != TDI_OK)
        goto done;

    begin_xml_call(w, &g);
    guarded = 1;
    ob = xmlOutputBufferCreateIO(write_xml, NULL, w, NULL);
    if (!ob) {
        tdi_error("%s: cannot create XML output buffer", w->file.tmp);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    w->xw = xmlNewTextWriter(ob);
    if (!w->xw) {
        tdi_error("%s: cannot create XML writer", w->file.tmp);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    ob = NULL; /* owned by w->xw from here */
    st = write_header(w);
    /* The header is with every check thread: record lines are split from here on. */
    if (st == TDI_OK)
        st = xml_status(w, xmlTextWriterFlush(w->xw));
    w->split = 1;

done:
    if (ob)
        xmlOutputBufferClose(ob); /* never handed to a writer; holds nothing written */
    if (guarded)
        rpt_xml_restore(&g);
    if (st != TDI_OK) {
        writer_free(w);
        return st;
    }
    *out = w;
    return TDI_OK;
}

/* What xmlTextWriter would not catch (it writes ill-formed XML for bad UTF-8) and what must not
 * reach a file or a log line (anything in the key slot but a pseudonym). The key, person, source,
 * centre, region and year checks are the run's check of the schema's patterns for them
 * (rpt_xsd.h); the schema checks the rest while the file is written. */
static tdi_status check_record(const report_writer *w, const tdi_record *rec)
{
    const char *file = w->file.name;
    const char *key = rec->episode;
    char year[TDI_DECIMAL_MAX];

    if (!memchr(rec->episode, '\0', sizeof rec->episode) || !rpt_episode_key_ok(rec->episode)) {
        tdi_error("%s: record %lu: key is not an episode pseudonym", file, w->records + 1);
        return TDI_ERR_INTERNAL;
    }
    if (!memchr(rec->person, '\0', sizeof rec->person) || !rpt_person_key_ok(rec->person)) {
        tdi_error("%s: record %s: person is not a pseudonym", file, key);
        return TDI_ERR_INTERNAL;
    }
    if (rec->person_kind >= TDI_PERSON_KIND_COUNT) {
        tdi_error("%s: record %s: person kind %u out of range", file, key,
                  (unsigned)rec->person_kind);
        return TDI_ERR_INTERNAL;
    }
    if (!memchr(rec->centre, '\0', sizeof rec->centre) || !rpt_local_code_ok(rec->centre)) {
        tdi_error("%s: record %s: centre is not 1..32 of [A-Za-z0-9._-]", file, key);
        return TDI_ERR_INTERNAL;
    }
    if (!rpt_name_ok(rec->source)) {
        tdi_error("%s: record %s: source %s", file, key,
                  rec->source ? "is not 1..32 of [A-Za-z0-9_-]" : "missing");
        return TDI_ERR_INTERNAL;
    }
    if (!memchr(rec->region, '\0', sizeof rec->region) || !rpt_local_code_ok(rec->region)) {
        tdi_error("%s: record %s: region %s", file, key,
                  rec->region[0] ? "is not 1..32 of [A-Za-z0-9._-]" : "missing");
        return TDI_ERR_INTERNAL;
    }
    tdi_decimal(year, rec->year);
    if (!rpt_year_ok(year)) {
        tdi_error("%s: record %s: year %s is not four digits", file, key, year);
        return TDI_ERR_INTERNAL;
    }
    if (rec->quarter > 4) {
        tdi_error("%s: record %s: quarter %u out of range", file, key, (unsigned)rec->quarter);
        return TDI_ERR_INTERNAL;
    }
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        if (rec->code[i] == TDI_CODE_NOT_APPLICABLE && def->conditional)
            continue;
        if (rec->code[i] >= def->ncodes) {
            tdi_error("%s: record %s: %s code index %u out of range", file, key, def->name,
                      (unsigned)rec->code[i]);
            return TDI_ERR_INTERNAL;
        }
    }
    return TDI_OK;
}

/* An attribute of a record's line. Every value is written as it is: a pseudonym, name or code
 * check_record() passed, a code of the code lists (test_codes), a number, a fixed word; none
 * holds markup, a quote, white space or a byte beyond ASCII. */
typedef struct xml_attr {
    const char *name, *value;
    size_t nlen, vlen; /* their strlen() */
} xml_attr;

/* The lengths of the items' names and codes, counted once: a record's content hash and its line
 * take every one of them, and their strlen() was 3% of a 1M run's client CPU (issue 16). A code
 * list longer than CODES_MAX (none: the longest has 37) has its codes counted each time. */
#define CODES_MAX 64
static size_t item_name_len[TDI_ITEM_COUNT], item_code_len[TDI_ITEM_COUNT][CODES_MAX];
static pthread_once_t item_lens_once = PTHREAD_ONCE_INIT;

static void count_item_lens(void)
{
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);

        item_name_len[i] = strlen(def->name);
        for (size_t c = 0; c < def->ncodes && c < CODES_MAX; c++)
            item_code_len[i][c] = strlen(def->codes[c].code);
    }
}

static xml_attr attr(const char *name, const char *value)
{
    return (xml_attr){name, value, strlen(name), strlen(value)};
}

/* The caller's buffers for the numbers of an episode's attributes. */
typedef struct episode_numbers {
    char year[TDI_DECIMAL_MAX], quarter[2];
} episode_numbers;

/* The attributes of rec's <episode/> (without action), in the order written, with the numbers in
 * num. Returns how many. With omit_defaults, a coded item at its schema default (its "not known"
 * code, tdi_item_default) is left out, as schema 2.4 lets a file do; without, every item is
 * there (the content hash, which must not change with the schema version). */
static size_t episode_attrs(const tdi_record *rec, xml_attr attrs[EPISODE_ATTRS],
                            episode_numbers *num, int omit_defaults)
{
    size_t n = 0;

    /* not printf: twice a record (issue 16) */
    (void)pthread_once(&item_lens_once, count_item_lens); /* fails only on bad arguments */
    tdi_decimal(num->year, rec->year);
    num->quarter[0] = (char)('0' + rec->quarter % 10);
    num->quarter[1] = '\0';
    attrs[n++] = attr("key", rec->episode);
    attrs[n++] = attr("person", rec->person);
    attrs[n++] = attr("personKind", tdi_person_kind_names[rec->person_kind]);
    attrs[n++] = attr("source", rec->source);
    attrs[n++] = attr("centre", rec->centre);
    attrs[n++] = attr("region", rec->region);
    attrs[n++] = attr("year", num->year);
    /* Generalised (README.md, "Generalisation"): the date only as its year, and its quarter for
     * bodies configured to get it; ages only as their bands (age_band, first_use_age_band): the
     * age in years (rec->age, rec->first_use_age) stays in memory, for the tables. */
    if (rec->quarter)
        attrs[n++] = attr("quarter", num->quarter);
    /* Decided after transform, so never part of the content hash (report_record_hash). */
    if (rec->entrant != TDI_ENTRANT_UNRANKED)
        attrs[n++] = attr("entrant", rec->entrant == TDI_ENTRANT_YES ? "1" : "0");
    /* Since 2.4: started before the file's year, open in it (never an entrant); since 2.5 its year
     * is bottom-coded (transform: the file's year minus one, "then or earlier"). */
    if (rec->continuing)
        attrs[n++] = attr("continuing", "1");
    /* Coded items are left out where they do not apply, and, in the file, where they are not
     * known: the schema's default says it (half the bytes of a sparse source's records). */
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        size_t c = rec->code[i];

        if (c == TDI_CODE_NOT_APPLICABLE ||
            (omit_defaults && c == def->not_known && !def->conditional))
            continue;
        attrs[n++] = (xml_attr){def->name, def->codes[c].code, item_name_len[i],
                                c < CODES_MAX ? item_code_len[i][c] : strlen(def->codes[c].code)};
    }
    return n;
}

/* <NAME a="v" .../> and a newline in one raw write: byte for byte what xmlTextWriter's
 * StartElement, WriteAttribute..., EndElement and a newline write, without the writer's work per
 * attribute (allocations, a list lookup, an output call each), which was a third of the main
 * thread's time. Every value is written as it is (xml_attr). A line longer than the buffer (more
 * than the items' names and values can make) is refused, never cut. */
static tdi_status put_empty_element(report_writer *w, const char *name, const xml_attr *attrs,
                                    size_t n)
{
    char *p = w->linebuf, *end = w->linebuf + sizeof w->linebuf;
    size_t len = strlen(name);

    if ((size_t)(end - p) < len + 1)
        goto too_long;
    *p++ = '<';
    memcpy(p, name, len);
    p += len;
    for (size_t i = 0; i < n; i++) {
        if ((size_t)(end - p) < attrs[i].nlen + attrs[i].vlen + 4)
            goto too_long;
        *p++ = ' ';
        memcpy(p, attrs[i].name, attrs[i].nlen);
        p += attrs[i].nlen;
        *p++ = '=';
        *p++ = '"';
        memcpy(p, attrs[i].value, attrs[i].vlen);
        p += attrs[i].vlen;
        *p++ = '"';
    }
    if (end - p < 3)
        goto too_long;
    memcpy(p, "/>\n", 3);
    p += 3;
    return xml_status(w, xmlTextWriterWriteRawLen(w->xw, XC(w->linebuf), (int)(p - w->linebuf)));
too_long:
    tdi_error("%s: record %lu: its line is longer than %zu bytes", w->file.name, w->records + 1,
              sizeof w->linebuf);
    return TDI_ERR_INTERNAL;
}

static tdi_status write_episode(report_writer *w, const tdi_record *rec, report_action action)
{
    xml_attr attrs[1 + EPISODE_ATTRS];
    episode_numbers num;
    size_t n = 0;

    /* An append is the schema's default action: first versions of records look as in 1.0. */
    if (action == REPORT_REPLACE)
        attrs[n++] = attr("action", "replace");
    n += episode_attrs(rec, attrs + n, &num, 1);
    return put_empty_element(w, "episode", attrs, n);
}

/* len bytes of s and a NUL at *p, within end; 0 when they do not fit. */
static int put_field(char **p, const char *end, const char *s, size_t len)
{
    if ((size_t)(end - *p) < len + 1)
        return 0;
    memcpy(*p, s, len);
    (*p)[len] = '\0';
    *p += len + 1;
    return 1;
}

tdi_status report_record_hash(tdi_hash *h, const tdi_record *rec, char hex[REPORT_HASH_HEX + 1])
{
    xml_attr attrs[EPISODE_ATTRS];
    episode_numbers num;
    tdi_record content = *rec;
    char start[TDI_DECIMAL_MAX], buf[4096], *p = buf;
    const char *end = buf + sizeof buf;
    size_t n;
    int fits = 1;

    /* The source's content only: the entrant flag is the state database's to compare. The start
     * date is not written but ranks the person's starts: a moved one must reach the state. Each
     * attribute's name and value with their NULs, then "start" and the date: one update. */
    content.entrant = TDI_ENTRANT_UNRANKED;
    n = episode_attrs(&content, attrs, &num, 0);
    tdi_decimal(start, rec->start_ymd);
    for (size_t i = 0; i < n && fits; i++)
        fits = put_field(&p, end, attrs[i].name, attrs[i].nlen) &&
               put_field(&p, end, attrs[i].value, attrs[i].vlen);
    fits = fits && put_field(&p, end, "start", 5) && put_field(&p, end, start, strlen(start));
    if (!fits) {
        tdi_error("record %s: its content is longer than %zu bytes", rec->episode, sizeof buf);
        return TDI_ERR_INTERNAL;
    }
    tdi_hash_begin(h);
    tdi_hash_update(h, buf, (size_t)(p - buf));
    tdi_hash_end(h, hex, REPORT_HASH_HEX);
    return TDI_OK;
}

tdi_status report_add(report_writer *w, const tdi_record *rec)
{
    return report_add_action(w, rec, REPORT_APPEND);
}

tdi_status report_add_action(report_writer *w, const tdi_record *rec, report_action action)
{
    rpt_xml_guard g;
    tdi_status st;

    if (!w || !rec)
        return TDI_ERR_INTERNAL;
    if (w->failed != TDI_OK)
        return w->failed;
    if (w->deletes > 0) {
        tdi_error("%s: episode after a delete: deletes come last", w->file.name);
        st = TDI_ERR_INTERNAL;
    } else {
        st = check_record(w, rec);
    }
    if (st == TDI_OK) {
        begin_xml_call(w, &g);
        st = write_episode(w, rec, action);
        rpt_xml_restore(&g);
    }
    if (st != TDI_OK) {
        w->failed = st;
        return st;
    }
    w->records++;
    w->replaces += action == REPORT_REPLACE;
    return TDI_OK;
}

tdi_status report_delete(report_writer *w, const char *episode_key)
{
    rpt_xml_guard g;
    tdi_status st;

    if (!w || !episode_key)
        return TDI_ERR_INTERNAL;
    if (w->failed != TDI_OK)
        return w->failed;
    if (!rpt_episode_key_ok(episode_key)) {
        tdi_error("%s: delete %lu: key is not an episode pseudonym", w->file.name, w->deletes + 1);
        w->failed = TDI_ERR_INTERNAL;
        return w->failed;
    }
    begin_xml_call(w, &g);
    st = xml_status(w, xmlTextWriterStartElement(w->xw, XC("delete")));
    if (st == TDI_OK)
        st = put_attr(w, "key", episode_key);
    if (st == TDI_OK)
        st = xml_status(w, xmlTextWriterEndElement(w->xw));
    if (st == TDI_OK)
        st = put_newline(w);
    rpt_xml_restore(&g);
    if (st != TDI_OK) {
        w->failed = st;
        return st;
    }
    w->deletes++;
    return TDI_OK;
}

/* Ends the document and drains libxml2's buffer into the gzip stream, then ends that. */
static tdi_status finish_file(report_writer *w)
{
    rpt_xml_guard g;
    tdi_status st;

    begin_xml_call(w, &g);
    /* The last record lines to their owners; the footer to every check thread. */
    st = xml_status(w, xmlTextWriterFlush(w->xw));
    w->split = 0;
    if (st == TDI_OK)
        st = xml_status(w, xmlTextWriterEndElement(w->xw)); /* </episodes> */
    if (st == TDI_OK)
        st = put_newline(w);
    if (st == TDI_OK)
        st = xml_status(w, xmlTextWriterEndDocument(w->xw)); /* </submission> and a newline */
    /* EndDocument adds the flush result into its byte count: check the flush on its own. */
    if (st == TDI_OK)
        st = xml_status(w, xmlTextWriterFlush(w->xw));
    rpt_xml_restore(&g);
    if (st == TDI_OK)
        st = rpt_gz_finish(&w->gz);
    if (st == TDI_OK)
        st = rpt_file_close(&w->file);
    return st;
}

/* Writes DIR/tdi-BODY-YEAR-RUNID.manifest.json through its own temp file. */
static tdi_status write_manifest(report_writer *w, const char *sha256, rpt_file *mf)
{
    char name[PATH_MAX], json[3072], key_id[32] = "", disclosure[2048] = "";
    int n;

    snprintf(name, sizeof name, "tdi-%s-%d-%s.manifest.json", w->body, w->meta.year,
             w->meta.run_id);
    if (w->meta.key_id)
        snprintf(key_id, sizeof key_id, ",\"keyId\":\"%s\"", w->meta.key_id);
    if (w->meta.disclosure && snprintf(disclosure, sizeof disclosure, ",\"disclosure\":%s",
                                       w->meta.disclosure) >= (int)sizeof disclosure) {
        tdi_error("%s: manifest too long", w->file.path);
        return TDI_ERR_INTERNAL;
    }
    /* Every string here passed rpt_names' patterns: nothing needs JSON escaping. */
    n = snprintf(json, sizeof json,
                 "{\"file\":\"%s\",\"sha256\":\"%s\",\"records\":%lu,\"schemaVersion\":\"%s\","
                 "\"body\":\"%s\",\"year\":%d,\"sequence\":%" PRIu64 ",\"appends\":%lu,"
                 "\"replaces\":%lu,\"deletes\":%lu,\"runId\":\"%s\",\"runNo\":%" PRId64
                 ",\"generated\":\"%s\"%s%s}\n",
                 w->file.name, sha256, w->records, REPORT_SCHEMA_VERSION, w->body, w->meta.year,
                 w->meta.sequence, w->records - w->replaces, w->replaces, w->deletes,
                 w->meta.run_id, w->meta.run_no, w->meta.generated, key_id, disclosure);
    if (n < 0 || (size_t)n >= sizeof json) {
        tdi_error("%s: manifest too long", w->file.path);
        return TDI_ERR_INTERNAL;
    }
    return rpt_file_put(mf, w->file.dir, name, json, (size_t)n);
}

tdi_status report_publish(report_writer *w, report_published *out)
{
    rpt_file manifest = {0};
    char sha256[65] = "";
    tdi_status st;

    if (out)
        memset(out, 0, sizeof *out);
    if (!w)
        return TDI_ERR_INTERNAL;
    st = w->failed;
    if (st == TDI_OK)
        st = finish_file(w);
    if (st == TDI_OK) {
        /* The whole stream has gone to the check threads: wait for their verdicts. */
        for (int c = 0; c < CHECKS; c++) {
            tdi_status cst = rpt_pipe_close(&w->check[c]);

            if (st == TDI_OK || (st == TDI_ERR_INVALID && cst != TDI_OK))
                st = cst;
        }
        if (st == TDI_ERR_INVALID)
            tdi_error("%s: fails schema validation, not published", w->file.path);
    }
    /* Read back (as it was written, on the deflate thread): the manifest's SHA-256, and the file
     * inflated against what was written. */
    if (st == TDI_OK)
        st = rpt_gz_verify(&w->gz, sha256);
    /* Data first, directory synced, then the manifest: a manifest on disk vouches for a
     * durable data file. */
    if (st == TDI_OK)
        st = rpt_file_publish(&w->file);
    if (st == TDI_OK)
        st = write_manifest(w, sha256, &manifest);
    if (st == TDI_OK) {
        if (out) {
            snprintf(out->path, sizeof out->path, "%s", w->file.path);
            snprintf(out->manifest, sizeof out->manifest, "%s", manifest.path);
            out->records = w->records;
            out->replaces = w->replaces;
            out->deletes = w->deletes;
            memcpy(out->sha256, sha256, sizeof out->sha256);
        }
        rpt_file_keep(&w->file);
        rpt_file_keep(&manifest);
    }
    /* On failure these remove the data file and the manifest, published or not. */
    rpt_file_discard(&manifest);
    writer_free(w);
    return st;
}

void report_abort(report_writer *w)
{
    writer_free(w);
}
