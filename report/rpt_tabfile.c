/*
 * report_tables: the TDI standard tables of one receiving body (report_tables_*).
 *
 * Counts are kept in memory as records are added (rpt_tables; a few thousand cells whatever
 * the number of records). Publishing applies disclosure control to all the tables at once
 * (dc_set_protect: suppression, audited by linear programming until it passes), writes the XML
 * (xmlTextWriter into a memory buffer: the document is small and bounded), validates it against
 * schemas/tdi-tables.xsd and publishes it like a submission (temp file, fsync, rename, directory
 * fsync), then its manifest.
 */
#include "report.h"

#include "rpt_file.h"
#include "rpt_link.h"
#include "rpt_names.h"
#include "rpt_outcome.h"
#include "rpt_tables.h"
#include "rpt_xml.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XC(s) ((const xmlChar *)(s))

/* Records are counted a batch at a time, family by family: a family's lookups and counters stay
 * in the cache over the batch instead of being fetched again for every record. */
#define TABLES_BATCH 64

struct report_tables {
    report_meta meta; /* copy; its strings are borrowed */
    char body[RPT_NAME_MAX + 1];
    unsigned long threshold;
    unsigned long protection; /* 0: the threshold */
    unsigned long records;    /* added, entrants or not */
    unsigned long entrants;   /* added and counted: entrants in the TDI population */
    rpt_family *families;     /* owned, rpt_nfamilies */
    size_t nfamilies;         /* initialised so far */
    size_t audit_added;       /* cells the audit loop suppressed beyond the sum rule */
    /* per item, the codes a record may hold: below the first, or also the second (not
     * applicable, for a conditional item); looked up once, not per record */
    size_t ncodes[TDI_ITEM_COUNT];
    unsigned char other[TDI_ITEM_COUNT];
    tdi_record batch[TABLES_BATCH]; /* added, not yet counted */
    size_t nbatch;
    int is_protected;      /* report_tables_protect() ran: its verdict below */
    tdi_status protect_st; /* TDI_OK, TDI_ERR_DISCLOSURE, ... */
    size_t suppressed;     /* the cells withheld (suppress()) */
};

/* Counts the batch into every family, and empties it. */
static void count_batch(report_tables *t)
{
    for (size_t f = 0; f < t->nfamilies; f++)
        for (size_t i = 0; i < t->nbatch; i++)
            rpt_family_add(&t->families[f], &t->batch[i]);
    t->nbatch = 0;
}

tdi_status report_tables_open(const report_meta *meta, const char *body, int threshold,
                              report_tables **out)
{
    report_tables *t;
    tdi_status st;

    *out = NULL;
    st = rpt_meta_check(meta, "tables", body);
    if (st != TDI_OK)
        return st;
    if (threshold < 0) {
        tdi_error("tables %s: negative suppression threshold", body);
        return TDI_ERR_INTERNAL;
    }
    t = calloc(1, sizeof *t);
    if (t)
        t->families = calloc(rpt_nfamilies, sizeof *t->families);
    if (!t || !t->families) {
        tdi_error("tables %s: out of memory", body);
        report_tables_abort(t);
        return TDI_ERR_INTERNAL;
    }
    t->meta = *meta;
    snprintf(t->body, sizeof t->body, "%s", body);
    t->threshold = (unsigned long)threshold;
    t->protection = meta->protection_level > 0 ? (unsigned long)meta->protection_level : 0;
    for (int i = 0; i < TDI_ITEM_COUNT; i++) {
        const tdi_item_def *def = tdi_item_get((tdi_item)i);
        t->ncodes[i] = def->ncodes;
        t->other[i] = def->conditional ? TDI_CODE_NOT_APPLICABLE : 0;
    }
    for (; t->nfamilies < rpt_nfamilies; t->nfamilies++) {
        st = rpt_family_init(&t->families[t->nfamilies], &rpt_families[t->nfamilies]);
        if (st != TDI_OK) {
            report_tables_abort(t);
            return st;
        }
        t->families[t->nfamilies].year = meta->year;
    }
    *out = t;
    return TDI_OK;
}

tdi_status report_tables_add(report_tables *t, const tdi_record *rec)
{
    if (!t || !rec)
        return TDI_ERR_INTERNAL;
    for (int i = 0; i < TDI_ITEM_COUNT; i++)
        if (rec->code[i] >= t->ncodes[i] && rec->code[i] != t->other[i]) {
            tdi_error("tables %s: record %s: %s code index out of range", t->body, rec->episode,
                      tdi_item_get((tdi_item)i)->name);
            return TDI_ERR_INTERNAL;
        }
    t->records++;
    /* each family takes the records of its base: the TDI tables entrants only, not a later
     * start nor a continuing client (rpt_outcome_counts()) */
    t->batch[t->nbatch++] = *rec;
    if (t->nbatch == TABLES_BATCH)
        count_batch(t);
    t->entrants += rpt_tables_population(rec) && rec->entrant != TDI_ENTRANT_NO && !rec->continuing;
    return TDI_OK;
}

void report_tables_abort(report_tables *t)
{
    if (!t)
        return;
    for (size_t f = 0; f < t->nfamilies; f++)
        rpt_family_free(&t->families[f]);
    free(t->families);
    explicit_bzero(t->batch, sizeof t->batch); /* pseudonyms, not left in freed memory */
    free(t);
}

/* ---- the document ---- */

typedef struct doc {
    xmlTextWriterPtr xw;
    int rc; /* < 0 after the first failed writer call */
} doc;

static void put(doc *d, int rc)
{
    if (d->rc >= 0 && rc < 0)
        d->rc = rc;
}

static void attr(doc *d, const char *name, const char *value)
{
    if (d->rc >= 0)
        put(d, xmlTextWriterWriteAttribute(d->xw, XC(name), XC(value)));
}

static void attr_ul(doc *d, const char *name, unsigned long value)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lu", value);
    attr(d, name, buf);
}

static void start(doc *d, const char *name)
{
    if (d->rc >= 0)
        put(d, xmlTextWriterStartElement(d->xw, XC(name)));
}

/* Ends the open element and starts a new line: one element a line, so a validator's line
 * number points at one cell. */
static void end(doc *d)
{
    if (d->rc >= 0)
        put(d, xmlTextWriterEndElement(d->xw));
    if (d->rc >= 0)
        put(d, xmlTextWriterWriteRaw(d->xw, XC("\n")));
}

static void newline(doc *d)
{
    if (d->rc >= 0)
        put(d, xmlTextWriterWriteRaw(d->xw, XC("\n")));
}

/* A statistic of table 11 (stat 0 the mean, 1 the SD) over the records counted in cell i: 1 when
 * withheld (its number is suppressed or below the threshold), 0 when published or not defined
 * (no record; the SD of one); *x gets the value, *defined whether there is one. */
static int stat_withheld(const rpt_family *f, size_t i, int stat, unsigned long threshold,
                         double *x, int *defined)
{
    unsigned long n = f->value[i];
    double dn = (double)n, sum = (double)f->sum[i], sumsq = (double)f->sumsq[i];

    *x = 0;
    *defined = 0;
    if (n == 0)
        return 0;
    if (f->suppressed[i] || n < threshold)
        return 1;
    if (stat == 0) {
        *x = sum / dn;
        *defined = 1;
    } else if (n > 1) {
        /* the sample standard deviation, from exact integer sums */
        double var = (dn * sumsq - sum * sum) / (dn * (dn - 1));
        *x = sqrt(var > 0 ? var : 0);
        *defined = 1;
    }
    return 0;
}

/* The number of statistics withheld in all tables. */
static size_t stats_withheld(const report_tables *t)
{
    size_t n = 0;

    for (size_t k = 0; k < t->nfamilies; k++) {
        const rpt_family *f = &t->families[k];
        size_t ncells = f->def->nvariants * f->rows.n * f->cols.n;
        double x;
        int defined;

        for (size_t i = 0; f->def->measures && i < ncells; i++)
            for (int stat = 0; stat < 2; stat++)
                n += (size_t)stat_withheld(f, i, stat, t->threshold, &x, &defined);
        for (size_t v = 0; v < f->def->nvariants; v++)
            for (size_t r = 0; r < f->rows.n; r++)
                for (size_t dv = 0; dv < f->def->nderived; dv++)
                    n += (size_t)rpt_outcome_value(f, v, r, dv, t->threshold, &x, &defined);
    }
    return n;
}

static void write_cell(doc *d, const char *row, const char *col, int hidden, const char *value)
{
    /* A suppressed cell carries no number: another element, so the schema can say so. An empty
     * one is a statistic with no value to give. */
    start(d, hidden ? "suppressed" : value ? "cell" : "empty");
    attr(d, "row", row);
    attr(d, "column", col);
    if (!hidden && value)
        attr(d, "value", value);
    end(d);
}

/* Table 11's rows: per measure its mean, SD and number. */
static void write_stats(doc *d, const rpt_family *f, size_t v, unsigned long threshold)
{
    static const char *const suffix[3] = {"mean", "sd", "n"};

    for (size_t r = 0; r < f->rows.n; r++)
        for (size_t m = 0; m < f->cols.n; m++) {
            size_t i = dc_cell(&f->grid, v, r, m);
            for (int stat = 0; stat < 3; stat++) {
                char col[RPT_CODE_MAX + 8], value[32];
                double x;
                int defined = 0, hidden;

                snprintf(col, sizeof col, "%s_%s", f->cols.code[m], suffix[stat]);
                if (stat == 2) {
                    hidden = f->suppressed[i];
                    snprintf(value, sizeof value, "%lu", f->value[i]);
                    defined = 1;
                } else {
                    hidden = stat_withheld(f, i, stat, threshold, &x, &defined);
                    snprintf(value, sizeof value, "%.2f", x);
                }
                write_cell(d, f->rows.code[r], col, hidden, defined ? value : NULL);
            }
        }
}

/* An outcome table's row: its rates and median after its counts (rpt_outcome.h). */
static void write_derived(doc *d, const rpt_family *f, size_t v, size_t r, unsigned long threshold)
{
    for (size_t dv = 0; dv < f->def->nderived; dv++) {
        char value[32];
        double x;
        int defined, hidden = rpt_outcome_value(f, v, r, dv, threshold, &x, &defined);

        snprintf(value, sizeof value, "%.2f", x);
        write_cell(d, f->rows.code[r], f->def->derived[dv].name, hidden, defined ? value : NULL);
    }
}

static void write_table(doc *d, const rpt_family *f, size_t v, unsigned long threshold)
{
    const rpt_variant_def *var = &f->def->variants[v];
    char id[32], title[256];

    snprintf(id, sizeof id, "%s.%zu", f->def->id, v + (size_t)f->def->first);
    snprintf(title, sizeof title, "%s: %s", f->def->title, var->title);
    start(d, "table");
    attr(d, "id", id);
    attr(d, "title", title);
    attr(d, "variant", var->name);
    attr(d, "rows", f->rows.def->name);
    attr(d, "columns", f->def->measures ? "statistics" : f->cols.def->name);
    newline(d);
    if (f->def->measures)
        write_stats(d, f, v, threshold);
    for (size_t r = 0; !f->def->measures && r < f->rows.n; r++)
        for (size_t c = 0; c < f->cols.n; c++) {
            size_t i = dc_cell(&f->grid, v, r, c);
            char value[32];

            snprintf(value, sizeof value, "%lu", f->value[i]);
            write_cell(d, f->rows.code[r], f->cols.code[c], f->suppressed[i], value);
            if (c + 1 == f->cols.n)
                write_derived(d, f, v, r, threshold);
        }
    end(d);
}

static void write_doc(doc *d, const report_tables *t, size_t suppressed)
{
    char year[16];

    snprintf(year, sizeof year, "%d", t->meta.year);
    put(d, xmlTextWriterStartDocument(d->xw, NULL, "UTF-8", NULL));
    start(d, "tables");
    attr(d, "xmlns", REPORT_TABLES_NAMESPACE);
    attr(d, "schemaVersion", REPORT_TABLES_SCHEMA_VERSION);
    attr(d, "body", t->body);
    attr(d, "year", year);
    attr(d, "runId", t->meta.run_id);
    attr(d, "generated", t->meta.generated);
    attr(d, "countingLevel", t->meta.counting_level ? t->meta.counting_level : "none");
    attr_ul(d, "threshold", t->threshold);
    attr_ul(d, "suppressedCells", suppressed);
    attr_ul(d, "records", t->records);
    attr_ul(d, "entrants", t->entrants);
    newline(d);
    for (size_t f = 0; f < t->nfamilies; f++)
        for (size_t v = 0; v < t->families[f].def->nvariants; v++)
            write_table(d, &t->families[f], v, t->threshold);
    if (d->rc >= 0)
        put(d, xmlTextWriterEndDocument(d->xw)); /* </tables> and a newline */
    if (d->rc >= 0)
        put(d, xmlTextWriterFlush(d->xw));
}

static void on_xml_error(void *ctx, xmlErrorPtr err)
{
    char *msg = ctx;

    if (msg[0] == '\0')
        rpt_xml_message(msg, 256, err);
}

/* The whole document into the temp file f. */
static tdi_status write_file(const report_tables *t, size_t suppressed, rpt_file *f)
{
    xmlBufferPtr buf = NULL;
    doc d = {0};
    rpt_xml_guard g;
    char msg[256] = "";
    tdi_status st = TDI_OK;

    xmlInitParser();
    rpt_xml_capture(&g, on_xml_error, msg);
    buf = xmlBufferCreate();
    d.xw = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    if (!d.xw) {
        tdi_error("%s: cannot create XML writer", f->tmp);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    write_doc(&d, t, suppressed);
    if (d.rc < 0) {
        tdi_error("%s: XML writer failed: %s", f->tmp, msg[0] ? msg : "no message from libxml2");
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    st = rpt_file_write(f, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
done:
    if (d.xw)
        xmlFreeTextWriter(d.xw);
    if (buf)
        xmlBufferFree(buf);
    rpt_xml_restore(&g);
    return st;
}

static tdi_status write_manifest(const report_tables *t, const rpt_file *data, const char *sha256,
                                 size_t suppressed, rpt_file *mf)
{
    char name[PATH_MAX], json[1024];
    int n;

    snprintf(name, sizeof name, "tdi-%s-%d-%s.tables.manifest.json", t->body, t->meta.year,
             t->meta.run_id);
    /* Every string here passed rpt_names' patterns: nothing needs JSON escaping. */
    n = snprintf(json, sizeof json,
                 "{\"file\":\"%s\",\"sha256\":\"%s\",\"records\":%lu,\"entrants\":%lu,"
                 "\"population\":\"" TDI_POPULATION "\",\"tables\":%zu,"
                 "\"threshold\":%lu,\"suppressedCells\":%zu,\"schemaVersion\":\"%s\","
                 "\"body\":\"%s\",\"year\":%d,\"runId\":\"%s\",\"runNo\":%" PRId64
                 ",\"generated\":\"%s\"}\n",
                 data->name, sha256, t->records, t->entrants, report_tables_count(), t->threshold,
                 suppressed, REPORT_TABLES_SCHEMA_VERSION, t->body, t->meta.year, t->meta.run_id,
                 t->meta.run_no, t->meta.generated);
    if (n < 0 || (size_t)n >= sizeof json) {
        tdi_error("%s: manifest too long", data->path);
        return TDI_ERR_INTERNAL;
    }
    return rpt_file_put(mf, data->dir, name, json, (size_t)n);
}

size_t report_tables_count(void)
{
    size_t n = 0;

    for (size_t f = 0; f < rpt_nfamilies; f++)
        n += rpt_families[f].nvariants;
    return n;
}

/* A linked set of the families fams[0..n) (copies of a body's families may be passed: a
 * family's grid points at its counts); *grids is owned by the caller with the set. */
static tdi_status linked_set(rpt_family *fams, size_t n, dc_grid ***grids, dc_set **out)
{
    tdi_status st = TDI_ERR_INTERNAL;

    *out = NULL;
    *grids = calloc(n ? n : 1, sizeof **grids);
    for (size_t f = 0; *grids && f < n; f++)
        (*grids)[f] = &fams[f].grid;
    *out = *grids ? dc_set_new(*grids, n) : NULL;
    if (*out)
        st = rpt_link_tables(fams, n, *out);
    return st;
}

/* One stage's protection of set: suppression with the sum rule at the protection level, then the
 * audit loop until every suppressed count is as wide as the protection level asks (dc_protect.h).
 * *suppressed (may be NULL): the set's suppressed cells. */
static tdi_status protect_set(report_tables *t, dc_set *set, size_t *suppressed)
{
    dc_protect_stats ps = {0};
    struct timespec t0, t1;
    tdi_status st;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = dc_set_protect(set, t->threshold, t->protection, &ps);
    clock_gettime(CLOCK_MONOTONIC, &t1);

    if (st == TDI_OK) {
        t->audit_added += ps.after - ps.before;
        if (suppressed)
            *suppressed = ps.after;
    }
    tdi_debug("tables %s: suppressed %zu, %zu after the audit (%zu rounds, %zu programs, %zu "
              "failing the first audit) in %.2f s",
              t->body, ps.before, ps.after, ps.rounds, ps.solves, ps.failing,
              (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return st;
}

/* Keeps the cells of the TDI tables (rpt_family_def.extra 0) of set, the set of all families:
 * every one (the second stage), or (only_suppressed) the suppressed ones, their published ones
 * left free: the unstaged protection then starts from what the TDI tables alone needed (the
 * first stage) and adds to it. On the sample clinics read without end dates that suppresses
 * fewer cells than starting from the primary suppression, in less time (docs/benchmark.md,
 * 2026-12-07 16:50). */
static tdi_status keep_tdi(const report_tables *t, dc_set *set, int only_suppressed)
{
    tdi_status st = TDI_OK;

    for (size_t f = 0; f < t->nfamilies && st == TDI_OK; f++) {
        const rpt_family *fam = &t->families[f];
        size_t n = fam->def->nvariants * fam->rows.n * fam->cols.n;
        for (size_t i = 0; i < n && st == TDI_OK && !fam->def->extra; i++) {
            size_t c = dc_set_cell(set, f, i);
            if (!only_suppressed || dc_set_suppressed(set, c))
                st = dc_set_keep(set, &c, 1);
        }
    }
    return st;
}

/* Warns that the extra tables could not be protected with the TDI tables' decisions kept,
 * naming the table of the set's cell i when known ((size_t)-1: not). */
static void warn_unstaged(const report_tables *t, const dc_set *set, size_t i)
{
    char what[96] = "the extra tables"; /* table IDs are short: a longer one is cut, not lost */

    for (size_t f = 0; i != (size_t)-1 && f < t->nfamilies; f++) {
        const rpt_family *fam = &t->families[f];
        size_t n = fam->rows.n * fam->cols.n, first = dc_set_cell(set, f, 0);
        if (i >= first && i < first + fam->def->nvariants * n) {
            snprintf(what, sizeof what, "table %s.%zu", fam->def->id,
                     (i - first) / n + (size_t)fam->def->first);
            break;
        }
    }
    tdi_warn("tables %s: %s cannot be protected with the TDI tables' suppression kept; all "
             "tables protected as one set from it: every TDI cell the TDI tables suppress on "
             "their own stays suppressed, and more may be for the extra tables",
             t->body, what);
}

/* Disclosure control in two stages (docs/design.md, "Clients in treatment and the TDI tables'
 * suppression"): the TDI tables alone, then all tables as one linked set with the TDI tables'
 * decisions kept, so the extra tables never change which TDI cell is suppressed; when that
 * cannot protect them, all tables as one set from the first stage's suppression (a warning).
 * *suppressed: the set's count. */
static tdi_status protect_staged(report_tables *t, size_t *suppressed)
{
    rpt_family *tdi = malloc((t->nfamilies ? t->nfamilies : 1) * sizeof *tdi);
    dc_grid **g1 = NULL, **g2 = NULL;
    dc_set *first = NULL, *all = NULL;
    size_t ntdi = 0, *narrow = NULL;
    tdi_status st = tdi ? TDI_OK : TDI_ERR_INTERNAL;

    for (size_t f = 0; tdi && f < t->nfamilies; f++)
        if (!t->families[f].def->extra)
            tdi[ntdi++] = t->families[f]; /* a shallow copy: its grid writes the family's flags */
    if (st == TDI_OK)
        st = linked_set(tdi, ntdi, &g1, &first);
    if (st == TDI_OK)
        st = protect_set(t, first, NULL);
    if (st == TDI_OK)
        st = linked_set(t->families, t->nfamilies, &g2, &all);
    if (st == TDI_OK)
        st = keep_tdi(t, all, 0);
    if (st == TDI_OK)
        st = protect_set(t, all, suppressed);
    if (st == TDI_ERR_DISCLOSURE && all) {
        size_t nnarrow;
        warn_unstaged(t, all, dc_set_blocked(all));
        /* the cells the second stage's audit found too narrow, the same cells of the set
         * rebuilt: they start on exact programs there (dc_set_mark_narrow) */
        narrow = malloc((dc_set_ncells(all) ? dc_set_ncells(all) : 1) * sizeof *narrow);
        nnarrow = narrow ? dc_set_narrow(all, narrow) : 0;
        dc_set_free(all);
        free(g2);
        all = NULL;
        g2 = NULL;
        /* the first stage's additions stay (kept suppressed), the second's were not counted */
        st = narrow ? linked_set(t->families, t->nfamilies, &g2, &all) : TDI_ERR_INTERNAL;
        if (st == TDI_OK)
            st = keep_tdi(t, all, 1);
        if (st == TDI_OK)
            st = dc_set_mark_narrow(all, narrow, nnarrow);
        if (st == TDI_OK)
            st = protect_set(t, all, suppressed);
    }
    if (st == TDI_ERR_INTERNAL)
        tdi_error("tables %s: out of memory, or the solver failed", t->body);
    dc_set_free(first);
    dc_set_free(all);
    free(g1);
    free(g2);
    free(narrow);
    free(tdi);
    return st;
}

/* Disclosure control over all the tables: their cells are linked across tables. */
static tdi_status suppress(report_tables *t, size_t *suppressed)
{
    tdi_status st = protect_staged(t, suppressed);

    if (st == TDI_OK)
        *suppressed += stats_withheld(t);
    if (st == TDI_ERR_DISCLOSURE)
        tdi_error("tables %s: the tables cannot be protected; not published", t->body);
    return st;
}

tdi_status report_tables_protect(report_tables *t)
{
    if (!t)
        return TDI_ERR_INTERNAL;
    if (!t->is_protected) {
        count_batch(t);
        for (size_t f = 0; f < t->nfamilies; f++)
            rpt_family_sum(&t->families[f]); /* the counts of report_tables_add(), in every cell */
        t->protect_st = suppress(t, &t->suppressed);
        t->is_protected = 1;
    }
    return t->protect_st;
}

tdi_status report_tables_publish(report_tables *t, report_published *out, size_t *suppressed_out)
{
    rpt_file file = {.fd = -1}, manifest = {.fd = -1};
    char name[PATH_MAX], sha256[65] = "";
    size_t suppressed = 0;
    tdi_status st = TDI_OK;

    if (out)
        memset(out, 0, sizeof *out);
    if (!t)
        return TDI_ERR_INTERNAL;
    st = report_tables_protect(t);
    suppressed = t->suppressed;
    snprintf(name, sizeof name, "tdi-%s-%d-%s.tables.xml", t->body, t->meta.year, t->meta.run_id);
    if (st == TDI_OK)
        st = rpt_file_create_under(&file, t->meta.output_dir, t->body, name);
    if (st == TDI_OK)
        st = write_file(t, suppressed, &file);
    if (st == TDI_OK)
        st = rpt_file_close(&file);
    if (st == TDI_OK) {
        st = report_validate_file(file.tmp, t->meta.schema_dir);
        if (st == TDI_ERR_INVALID)
            tdi_error("%s: fails schema validation, not published", file.path);
    }
    if (st == TDI_OK)
        st = tdi_sha256_file(file.tmp, sha256);
    if (st == TDI_OK)
        st = rpt_file_publish(&file);
    if (st == TDI_OK)
        st = write_manifest(t, &file, sha256, suppressed, &manifest);
    if (suppressed_out)
        *suppressed_out = suppressed;
    if (st == TDI_OK) {
        if (out) {
            snprintf(out->path, sizeof out->path, "%s", file.path);
            snprintf(out->manifest, sizeof out->manifest, "%s", manifest.path);
            out->records = t->records;
            out->entrants = t->entrants;
            out->audit_added = t->audit_added;
            memcpy(out->sha256, sha256, sizeof out->sha256);
        }
        rpt_file_keep(&file);
        rpt_file_keep(&manifest);
    }
    /* On failure these remove the data file and the manifest, published or not. */
    rpt_file_discard(&manifest);
    rpt_file_discard(&file);
    report_tables_abort(t);
    return st;
}
