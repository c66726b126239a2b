/*
 * rpt_audit: `tdi audit`, a series of submissions checked without tdi's state (report_audit).
 *
 * Per file: its manifest (there, naming the file, SHA-256 and counts equal), the schema (the
 * validator's messages become findings), then one streaming pass over its items: keys repeated in
 * the file, replaces and deletes of keys the body does not hold after the earlier files, and the
 * cross-field rules (rpt_rules). Per body and year: sequences from 1 without a gap, runs growing
 * with the sequence; a repeated sequence from a later run takes the earlier one's place
 * (delivery is at least once), from the same run it is a finding. Runs are ordered by runNo, by
 * runId only for files without one (rpt_run_cmp); where runId says otherwise than runNo an
 * "info" line says so (a sender's clock went back or was fast: not a fault of the series, not
 * counted). Keys are kept in memory (the file's, and what the body holds): about 60 bytes a key.
 */
#include "report.h"

#include "rpt_read.h"
#include "rpt_rules.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- a set of keys with the line each was seen on ---- */
typedef struct key_set {
    char **key;
    long *line;
    size_t cap, n;
} key_set;

static size_t slot(const key_set *s, const char *k)
{
    size_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    for (h &= s->cap - 1; s->key[h] && strcmp(s->key[h], k) != 0; h = (h + 1) & (s->cap - 1))
        ;
    return h;
}

static void set_clear(key_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->key[i]);
    free(s->key);
    free(s->line);
    memset(s, 0, sizeof *s);
}

static long set_get(const key_set *s, const char *k)
{
    size_t i;
    if (!s->n)
        return 0;
    i = slot(s, k);
    return s->key[i] ? s->line[i] : 0;
}

/* Sets k's line (line 0 removes it: a tombstone-free set rebuilt on the next grow). */
static tdi_status set_put(key_set *s, const char *k, long line)
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap) {
        key_set g = {calloc(s->cap ? s->cap * 2 : 1024, sizeof(char *)),
                     calloc(s->cap ? s->cap * 2 : 1024, sizeof(long)), s->cap ? s->cap * 2 : 1024,
                     0};
        if (!g.key || !g.line) {
            free(g.key);
            free(g.line);
            return TDI_ERR_INTERNAL;
        }
        for (size_t j = 0; j < s->cap; j++)
            if (s->key[j]) {
                size_t t = slot(&g, s->key[j]);
                g.key[t] = s->key[j];
                g.line[t] = s->line[j];
                g.n++;
            }
        free(s->key);
        free(s->line);
        *s = g;
    }
    i = slot(s, k);
    if (!s->key[i]) {
        if (!(s->key[i] = strdup(k)))
            return TDI_ERR_INTERNAL;
        s->n++;
    }
    s->line[i] = line;
    return TDI_OK;
}

/* ---- findings ---- */
typedef struct auditor {
    FILE *out;
    const char *path; /* the file being validated: its messages become findings */
    unsigned long findings;
    key_set held; /* what the body holds after the files so far: key -> 1, deleted: 0 */
    key_set seen; /* this file's keys */
} auditor;

static void finding(auditor *a, const char *path, long line, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void finding(auditor *a, const char *path, long line, const char *rule, const char *fmt, ...)
{
    va_list ap;

    fprintf(a->out, "%s:%ld: %s: ", path, line, rule);
    va_start(ap, fmt);
    vfprintf(a->out, fmt, ap);
    va_end(ap);
    fputc('\n', a->out);
    a->findings++;
}

/* An informational line in the findings' format; not a finding (not counted). */
static void note(auditor *a, const char *path, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note(auditor *a, const char *path, long line, const char *fmt, ...)
{
    va_list ap;

    fprintf(a->out, "%s:%ld: info: ", path, line);
    va_start(ap, fmt);
    vfprintf(a->out, fmt, ap);
    va_end(ap);
    fputc('\n', a->out);
}

/* "run ID, runNo N" (or "run ID") into buf. */
static const char *run_text(char *buf, size_t len, const rpt_header *h)
{
    if (h->run_no > 0)
        snprintf(buf, len, "run %s, runNo %" PRId64, h->run_id, h->run_no);
    else
        snprintf(buf, len, "run %s", h->run_id);
    return buf;
}

/* The validator's "PATH:LINE: message" lines, as schema findings. */
static void on_log(void *ctx, tdi_log_level level, const char *msg)
{
    auditor *a = ctx;
    size_t n = strlen(a->path);
    char *end;
    long line = 1;

    if (level != TDI_LOG_ERROR)
        return;
    if (strncmp(msg, a->path, n) == 0 && msg[n] == ':') {
        msg += n + 1;
        line = strtol(msg, &end, 10);
        if (end != msg && *end == ':')
            msg = end + 1 + (end[1] == ' ');
        else
            line = 1;
    }
    finding(a, a->path, line, "schema", "%s", msg);
}

/* e's manifest, read into *m at mf (mf_len bytes); 0 when there is none or it does not fit e
 * (a finding), so that its counts are not compared. */
static int check_manifest(auditor *a, const rpt_entry *e, char *mf, size_t mf_len, rpt_manifest *m)
{
    char sha[TDI_SHA256_HEX];
    tdi_status st;

    if (!rpt_manifest_path(e->path, mf, mf_len) ||
        (st = rpt_manifest_read(mf, m)) == TDI_ERR_OUTPUT) {
        finding(a, e->path, 1, "manifest", "no manifest (a file is complete once it has one)");
        return 0;
    }
    if (st != TDI_OK || strcmp(m->body, e->hdr.body) != 0 || m->year != e->hdr.year ||
        m->sequence != e->hdr.sequence || strcmp(m->run_id, e->hdr.run_id) != 0 ||
        m->run_no != e->hdr.run_no) {
        finding(a, mf, 1, "manifest",
                "malformed, or names another body, year, sequence or run (runId, runNo)");
        return 0;
    }
    if (tdi_sha256_file(e->path, sha) != TDI_OK)
        finding(a, e->path, 1, "manifest", "cannot be read to compute its SHA-256");
    else if (strcmp(sha, m->sha256) != 0)
        finding(a, e->path, 1, "manifest", "SHA-256 %s, its manifest says %s: changed or damaged",
                sha, m->sha256);
    return 1;
}

/* Each count the manifest at mf states that is not the file's (got, read to its end). */
static void check_counts(auditor *a, const char *mf, const rpt_manifest *m,
                         const int64_t got[RPT_NCOUNTS])
{
    for (int i = 0; i < RPT_NCOUNTS; i++)
        if (m->count[i] >= 0 && m->count[i] != got[i])
            finding(a, mf, 1, "manifest", "%s %" PRId64 ", the file has %" PRId64,
                    rpt_count_names[i], m->count[i], got[i]);
}

/* Sequence and order of e after prev (NULL: the first file of its body and year). */
static void check_series(auditor *a, const rpt_entry *e, const rpt_entry *prev)
{
    const rpt_header *h = &e->hdr, *p = prev ? &prev->hdr : NULL;
    char mine[80], theirs[80];
    int by_no, c;

    if (!p) {
        if (h->sequence != 1)
            finding(a, e->path, h->line, "sequence",
                    "the first file of %s %d has sequence %" PRIu64 ": 1 to %" PRIu64 " missing",
                    h->body, h->year, h->sequence, h->sequence - 1);
        return;
    }
    run_text(mine, sizeof mine, h);
    run_text(theirs, sizeof theirs, p);
    by_no = h->run_no > 0 && p->run_no > 0;
    if (h->sequence > p->sequence + 1)
        finding(a, e->path, h->line, "sequence",
                "sequence %" PRIu64 " follows %" PRIu64 ": %" PRIu64 " to %" PRIu64 " missing",
                h->sequence, p->sequence, p->sequence + 1, h->sequence - 1);
    c = rpt_run_cmp(h->run_no, h->run_id, p->run_no, p->run_id);
    if (h->sequence == p->sequence && c == 0)
        finding(a, e->path, h->line, "sequence", "sequence %" PRIu64 " of %s twice (also %s)",
                h->sequence, mine, prev->path);
    else if (h->sequence != p->sequence && c <= 0)
        finding(a, e->path, h->line, "order",
                "%s of sequence %" PRIu64 " is not later than %s of sequence %" PRIu64, mine,
                h->sequence, theirs, p->sequence);
    else if (by_no && strcmp(h->run_id, p->run_id) < 0)
        note(a, e->path, h->line,
             "%s of sequence %" PRIu64 " is later than %s of sequence %" PRIu64
             " by runNo, earlier by runId (the sender's clock): runNo decides",
             mine, h->sequence, theirs, p->sequence);
}

/* One pass over the items of e. superseded: a later run's file of the same sequence follows,
 * so this one does not change what the body holds. m: e's manifest at mf, whose counts are
 * compared once the file is read to its end (NULL: none to compare). */
static tdi_status check_items(auditor *a, const rpt_entry *e, int superseded, const char *mf,
                              const rpt_manifest *m)
{
    int64_t got[RPT_NCOUNTS] = {0};
    rpt_reader *r = NULL;
    rpt_header hdr;
    rpt_item it;
    tdi_status st;
    int eof = 0;

    set_clear(&a->seen);
    st = rpt_reader_open(e->path, &hdr, &r);
    while (st == TDI_OK && (st = rpt_reader_next(r, &it, &eof)) == TDI_OK && !eof) {
        const char *key = it.attr[RPT_ATTR_KEY];
        long first = set_get(&a->seen, key), held = set_get(&a->held, key);

        got[RPT_RECORDS] += !it.is_delete;
        got[it.is_delete ? RPT_DELETES : it.replace ? RPT_REPLACES : RPT_APPENDS]++;

        if (first)
            finding(a, e->path, it.line, "duplicate-key", "key also on line %ld", first);
        else if ((st = set_put(&a->seen, key, it.line)) != TDI_OK)
            break;
        if ((it.is_delete || it.replace) && held <= 0)
            finding(a, e->path, it.line, "unknown-key", "%s of a key the body does not hold",
                    it.is_delete ? "delete" : "replace");
        for (int i = 0; !it.is_delete && i < rpt_nrules; i++)
            if (rpt_rules[i].broken(&it))
                finding(a, e->path, it.line, rpt_rules[i].id, "%s", rpt_rules[i].message);
        if (!superseded && (st = set_put(&a->held, key, it.is_delete ? -1 : it.line)) != TDI_OK)
            break;
    }
    rpt_reader_close(r);
    if (st == TDI_OK && eof && m)
        check_counts(a, mf, m, got);
    if (st == TDI_ERR_INVALID)
        st = TDI_OK; /* a parse error was a schema finding already */
    return st;
}

static int same_series(const rpt_entry *x, const rpt_entry *y)
{
    return strcmp(x->hdr.body, y->hdr.body) == 0 && x->hdr.year == y->hdr.year;
}

tdi_status report_audit(char *const *paths, int npaths, const char *schema_dir, FILE *out,
                        unsigned long *findings)
{
    auditor a = {.out = out};
    const rpt_entry *prev = NULL;
    rpt_series s;
    tdi_status st, worst;

    worst = rpt_series_collect(paths, npaths, &s);
    if (worst == TDI_ERR_INVALID)
        worst = TDI_OK; /* each bad file is a finding below */
    for (size_t i = 0; i < s.norphans; i++)
        finding(&a, s.orphans[i], 1, "missing", "a manifest without its submission");
    for (size_t i = 0; i < s.n && worst != TDI_ERR_INTERNAL; i++) {
        const rpt_entry *e = &s.e[i];
        char mf[4096];
        rpt_manifest m;
        int has_manifest, superseded = i + 1 < s.n && !s.e[i + 1].bad &&
                                       same_series(e, &s.e[i + 1]) &&
                                       s.e[i + 1].hdr.sequence == e->hdr.sequence;

        a.path = e->path;
        tdi_log_set_sink(on_log, &a);
        if (e->bad) {
            finding(&a, e->path, 1, "schema", "not a readable submission of schema 2");
            tdi_log_set_sink(NULL, NULL);
            continue;
        }
        st = report_validate_file(e->path, schema_dir);
        if (!prev || !same_series(prev, e)) {
            set_clear(&a.held);
            prev = NULL;
        }
        has_manifest = check_manifest(&a, e, mf, sizeof mf, &m);
        check_series(&a, e, prev);
        if (st == TDI_OK || st == TDI_ERR_INVALID)
            st = check_items(&a, e, superseded, mf, has_manifest ? &m : NULL);
        tdi_log_set_sink(NULL, NULL);
        if (st != TDI_OK && st != TDI_ERR_INVALID)
            worst = st;
        prev = e;
    }
    set_clear(&a.held);
    set_clear(&a.seen);
    rpt_series_free(&s);
    *findings = a.findings;
    if (worst == TDI_OK && a.findings)
        worst = TDI_ERR_INVALID;
    return worst;
}
