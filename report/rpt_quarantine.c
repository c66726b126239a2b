/*
 * report_quarantine: the quarantine file of one source (report_quarantine_*).
 *
 * Plain TSV, one line per rejected row: key, rule, item, value, message. Every field goes through
 * tdi_clean_value, so a field never holds a tab, a newline or a non-printable byte and a line is
 * always one row. Written through a buffer onto a temp file and published like a submission.
 */
#include "report.h"

#include "rpt_file.h"
#include "rpt_names.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUARANTINE_HEADER "key\trule\titem\tvalue\tmessage\n"
#define QUARANTINE_BUF    65536
#define KEY_MAX           96
#define RULE_MAX          32
#define ITEM_MAX          48
#define MESSAGE_MAX       256

struct report_quarantine {
    char source[RPT_NAME_MAX + 1];
    rpt_file file;
    unsigned long rows;
    tdi_status failed; /* first failure: refuses all further work */
    int finished;      /* closed, sha256 known */
    char sha256[65];
    size_t used; /* bytes pending in buf */
    char buf[QUARANTINE_BUF];
};

static tdi_status flush_buf(report_quarantine *q)
{
    tdi_status st = rpt_file_write(&q->file, q->buf, q->used);

    q->used = 0;
    return st;
}

static tdi_status append(report_quarantine *q, const char *text, size_t len)
{
    if (len > sizeof q->buf - q->used) {
        tdi_status st = flush_buf(q);
        if (st != TDI_OK)
            return st;
    }
    if (len > sizeof q->buf) /* cannot happen with the field limits; do not overflow anyway */
        return rpt_file_write(&q->file, text, len);
    memcpy(q->buf + q->used, text, len);
    q->used += len;
    return TDI_OK;
}

static void quarantine_free(report_quarantine *q)
{
    if (!q)
        return;
    rpt_file_discard(&q->file);
    free(q);
}

tdi_status report_quarantine_open(const report_meta *meta, const char *source,
                                  report_quarantine **out)
{
    report_quarantine *q = NULL;
    char name[PATH_MAX];
    tdi_status st;

    *out = NULL;
    st = rpt_meta_check(meta, "quarantine", source);
    if (st != TDI_OK)
        return st;
    q = calloc(1, sizeof *q); /* a zeroed rpt_file holds nothing to release */
    if (!q) {
        tdi_error("quarantine %s: out of memory", source);
        return TDI_ERR_INTERNAL;
    }
    snprintf(q->source, sizeof q->source, "%s", source);
    snprintf(name, sizeof name, "quarantine-%s-%d-%s.tsv", source, meta->year, meta->run_id);
    st = rpt_file_create_under(&q->file, meta->output_dir, "quarantine", name);
    if (st == TDI_OK)
        st = append(q, QUARANTINE_HEADER, strlen(QUARANTINE_HEADER));
    if (st != TDI_OK) {
        quarantine_free(q);
        return st;
    }
    *out = q;
    return TDI_OK;
}

/* tdi_clean_value writes "NULL" for a null pointer; an empty field reads better in a TSV. */
static void clean_field(char *dst, size_t len, const char *src)
{
    tdi_clean_value(dst, len, src ? src : "");
}

/* For a fixed char[TDI_VALUE_MAX]: bounded even if the producer forgot the terminator. */
static void clean_array_field(char *dst, size_t len, const char src[TDI_VALUE_MAX])
{
    char raw[TDI_VALUE_MAX + 1];

    memcpy(raw, src, TDI_VALUE_MAX);
    raw[TDI_VALUE_MAX] = '\0';
    tdi_clean_value(dst, len, raw);
}

tdi_status report_quarantine_add(report_quarantine *q, const char *key, const tdi_rejection *rej)
{
    char k[KEY_MAX], rule[RULE_MAX], item[ITEM_MAX], value[TDI_VALUE_MAX], msg[MESSAGE_MAX];
    char line[KEY_MAX + RULE_MAX + ITEM_MAX + TDI_VALUE_MAX + MESSAGE_MAX + 8];
    tdi_status st;
    int n;

    if (!q || !rej)
        return TDI_ERR_INTERNAL;
    if (q->failed != TDI_OK)
        return q->failed;
    if (q->finished)
        return TDI_ERR_INTERNAL;
    clean_field(k, sizeof k, key);
    clean_field(rule, sizeof rule, rej->rule_id);
    clean_field(item, sizeof item, rej->item);
    clean_array_field(value, sizeof value, rej->value);
    clean_field(msg, sizeof msg, rej->message);
    n = snprintf(line, sizeof line, "%s\t%s\t%s\t%s\t%s\n", k, rule, item, value, msg);
    st = append(q, line, (size_t)n);
    if (st != TDI_OK) {
        q->failed = st;
        return st;
    }
    q->rows++;
    return TDI_OK;
}

tdi_status report_quarantine_finish(report_quarantine *q, char sha256[65])
{
    tdi_status st;

    if (!q)
        return TDI_ERR_INTERNAL;
    st = q->failed;
    if (st == TDI_OK && !q->finished) {
        st = flush_buf(q);
        if (st == TDI_OK)
            st = rpt_file_close(&q->file);
        if (st == TDI_OK)
            st = tdi_sha256_file(q->file.tmp, q->sha256);
        if (st == TDI_OK)
            q->finished = 1;
        else
            q->failed = st;
    }
    if (st == TDI_OK && sha256)
        memcpy(sha256, q->sha256, sizeof q->sha256);
    return st;
}

tdi_status report_quarantine_publish(report_quarantine *q, report_published *out)
{
    tdi_status st;

    if (out)
        memset(out, 0, sizeof *out);
    if (!q)
        return TDI_ERR_INTERNAL;
    st = report_quarantine_finish(q, NULL);
    if (st == TDI_OK)
        st = rpt_file_publish(&q->file);
    if (st == TDI_OK) {
        if (out) {
            snprintf(out->path, sizeof out->path, "%s", q->file.path);
            out->records = q->rows;
            memcpy(out->sha256, q->sha256, sizeof out->sha256);
        }
        rpt_file_keep(&q->file);
    }
    quarantine_free(q); /* on failure removes the file, published or not */
    return st;
}

void report_quarantine_abort(report_quarantine *q)
{
    quarantine_free(q);
}
