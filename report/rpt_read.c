/*
 * rpt_read: submissions, manifests and series read back on the receiving side (rpt_read.h).
 *
 * The XML is read with libxml2's xmlTextReader from rpt_gz_reader (gzip or plain by content, one
 * gzip member and nothing after it, as tdi validate reads it): one node
 * at a time, nothing kept, so memory is flat for any size. The parser gets no network and no
 * entity substitution, and a DOCTYPE ends the read, as in the validator. The run report's trend
 * cells are read from a tables file the same way (report_trend_cells).
 */
#include "rpt_read.h"

#include "report.h"
#include "rpt_gz.h"
#include "rpt_names.h"
#include "rpt_xml.h"

#include "../common/tdi_codes.h"
#include "../common/tdi_log.h"

#include <libxml/xmlreader.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The one place where an attribute's column, type and default are said: tdi load's staging
 * table, COPY and casts follow it, and what tdi audit's rules see. The coded items' defaults are
 * their schema defaults (tdi_item_default), so their dflt here is NULL. */
_Static_assert(RPT_ATTR_ITEMS + TDI_ITEM_COUNT + 1 == RPT_NATTRS,
               "the items, then continuing, close rpt_attrs");

const rpt_attr rpt_attrs[RPT_NATTRS] = {
    [RPT_ATTR_KEY] = {"key", "key", "text", NULL},
    [RPT_ATTR_PERSON] = {"person", "person", "text", NULL},
    [RPT_ATTR_PERSON_KIND] = {"personKind", "person_kind", "text", NULL},
    [RPT_ATTR_SOURCE] = {"source", "source", "text", NULL},
    [RPT_ATTR_CENTRE] = {"centre", "centre", "text", NULL},
    [RPT_ATTR_REGION] = {"region", "region", "text", NULL},
    /* the file's year is the row's year */
    [RPT_ATTR_YEAR] = {"year", "start_year", "integer", NULL},
    [RPT_ATTR_ENTRANT] = {"entrant", "entrant", "smallint", NULL},
    [RPT_ATTR_QUARTER] = {"quarter", "quarter", "smallint", NULL},
    [RPT_ATTR_AGE] = {"age", "age", "smallint", NULL},
    [RPT_ATTR_FIRST_USE_AGE] = {"first_use_age", "first_use_age", "smallint", NULL},
    {"setting", "setting", "text", NULL},
    {"centre_type", "centre_type", "text", NULL},
    {"residential_approach", "residential_approach", "text", NULL},
    {"planned_duration", "planned_duration", "text", NULL},
    {"detox_phase", "detox_phase", "text", NULL},
    {"sex", "sex", "text", NULL},
    {"age_band", "age_band", "text", NULL},
    {"nationality", "nationality", "text", NULL},
    {"treatment_status", "treatment_status", "text", NULL},
    {"referral_source", "referral_source", "text", NULL},
    {"living_with", "living_with", "text", NULL},
    {"living_with_children", "living_with_children", "text", NULL},
    {"living_where", "living_where", "text", NULL},
    {"education", "education", "text", NULL},
    {"labour_status", "labour_status", "text", NULL},
    {"primary_drug", "primary_drug", "text", NULL},
    {"route", "route", "text", NULL},
    {"frequency", "frequency", "text", NULL},
    {"first_use_age_band", "first_use_age_band", "text", NULL},
    {"secondary_drug_1", "secondary_drug_1", "text", NULL},
    {"secondary_drug_2", "secondary_drug_2", "text", NULL},
    {"secondary_drug_3", "secondary_drug_3", "text", NULL},
    {"secondary_drug_4", "secondary_drug_4", "text", NULL},
    {"polydrug", "polydrug", "text", NULL},
    {"injecting", "injecting", "text", NULL},
    {"years_since_first_injection", "years_since_first_injection", "text", NULL},
    {"needle_sharing", "needle_sharing", "text", NULL},
    {"hiv_testing", "hiv_testing", "text", NULL},
    {"hcv_testing", "hcv_testing", "text", NULL},
    {"ost", "ost", "text", NULL},
    {"years_since_first_ost", "years_since_first_ost", "text", NULL},
    /* 2.4 */
    {"discharge_reason", "discharge_reason", "text", NULL},
    {"aftercare", "aftercare", "text", NULL},
    {"stay_band", "stay_band", "text", NULL},
    /* left out: not continuing */
    [RPT_ATTR_CONTINUING] = {"continuing", "continuing", "boolean", "0"},
};

#define VALUES_MAX 4096 /* an episode's attribute values, NULs included (about 700 bytes used) */

struct rpt_reader {
    const char *path; /* borrowed */
    int fd;           /* the file, owned; -1 when not open */
    rpt_gz_reader gz;
    xmlTextReaderPtr xr;
    rpt_xml_guard guard;
    int captured;            /* guard holds libxml2's previous handler */
    int failed;              /* an error was said */
    int year;                /* the header's */
    char values[VALUES_MAX]; /* the current item's attribute values */
};

int rpt_attr_index(const char *name)
{
    for (int i = 0; i < RPT_NATTRS; i++)
        if (strcmp(rpt_attrs[i].name, name) == 0)
            return i;
    return -1;
}

static void on_error(void *ctx, xmlErrorPtr err)
{
    rpt_reader *r = ctx;
    char msg[512];

    if (!err || err->level < XML_ERR_ERROR || r->failed)
        return; /* the first error says it; the rest follow from it */
    rpt_xml_message(msg, sizeof msg, err);
    tdi_error("%s:%d: %s", r->path, err->line, msg);
    r->failed = 1;
}

static int read_gz(void *ctx, char *buf, int len)
{
    rpt_reader *r = ctx;
    int problem = RPT_GZ_OK, detail = 0;
    int n = rpt_gz_read(&r->gz, buf, (unsigned)len, &problem, &detail);

    if (n >= 0)
        return n;
    tdi_error("%s: %s", r->path,
              problem == RPT_GZ_READ_ERROR ? strerror(detail) : rpt_gz_why(problem));
    r->failed = 1;
    return -1;
}

static int close_gz(void *ctx)
{
    (void)ctx; /* closed in rpt_reader_close */
    return 0;
}

/* One node on; 1 at an element, 0 at the end, -1 after an error (said). */
static int next_element(rpt_reader *r)
{
    int rc;

    while ((rc = xmlTextReaderRead(r->xr)) == 1) {
        int type = xmlTextReaderNodeType(r->xr);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
            tdi_error("%s:%ld: a DOCTYPE is not allowed", r->path,
                      xmlGetLineNo(xmlTextReaderCurrentNode(r->xr)));
            r->failed = 1;
            return -1;
        }
        if (type == XML_READER_TYPE_ELEMENT)
            return 1;
    }
    if (rc < 0 && !r->failed) {
        tdi_error("%s: not well-formed XML", r->path);
        r->failed = 1;
    }
    return rc < 0 || r->failed ? -1 : 0;
}

/* Copies the root's attribute name into dst; 0 when missing or too long. */
static int header_field(rpt_reader *r, const char *name, char *dst, size_t len)
{
    xmlChar *x = xmlTextReaderGetAttribute(r->xr, (const xmlChar *)name);
    const char *v = (const char *)x;
    int ok = v && strlen(v) < len;

    if (ok)
        memcpy(dst, v, strlen(v) + 1);
    xmlFree(x);
    return ok;
}

static tdi_status read_header(rpt_reader *r, rpt_header *hdr)
{
    char year[16] = "", seq[32] = "", run_no[32] = "", *end;
    const xmlChar *ns;

    memset(hdr, 0, sizeof *hdr);
    if (next_element(r) != 1)
        return TDI_ERR_INVALID;
    hdr->line = xmlGetLineNo(xmlTextReaderCurrentNode(r->xr));
    ns = xmlTextReaderConstNamespaceUri(r->xr);
    if (!ns || strcmp((const char *)ns, REPORT_NAMESPACE) != 0 ||
        strcmp((const char *)xmlTextReaderConstLocalName(r->xr), "submission") != 0) {
        tdi_error("%s:%ld: not a submission of schema 2 (root element in %s)", r->path, hdr->line,
                  REPORT_NAMESPACE);
        return TDI_ERR_INVALID;
    }
    if (!header_field(r, "body", hdr->body, sizeof hdr->body) ||
        !header_field(r, "year", year, sizeof year) ||
        !header_field(r, "sequence", seq, sizeof seq) ||
        !header_field(r, "runId", hdr->run_id, sizeof hdr->run_id) ||
        !header_field(r, "schemaVersion", hdr->schema_version, sizeof hdr->schema_version)) {
        tdi_error("%s:%ld: the header lacks body, year, sequence, runId or schemaVersion", r->path,
                  hdr->line);
        return TDI_ERR_INVALID;
    }
    header_field(r, "keyId", hdr->key_id, sizeof hdr->key_id);
    if (header_field(r, "runNo", run_no, sizeof run_no)) {
        errno = 0;
        hdr->run_no = strtoll(run_no, &end, 10);
        if (*end || errno || hdr->run_no < 1) {
            tdi_error("%s:%ld: the header's runNo is not a positive number", r->path, hdr->line);
            return TDI_ERR_INVALID;
        }
    }
    errno = 0;
    hdr->year = (int)strtol(year, &end, 10);
    if (*end || errno)
        hdr->year = 0;
    hdr->sequence = strtoumax(seq, &end, 10);
    if (*end || errno || hdr->year <= 0 || hdr->sequence == 0) {
        tdi_error("%s:%ld: the header's year or sequence is not a positive number", r->path,
                  hdr->line);
        return TDI_ERR_INVALID;
    }
    return TDI_OK;
}

tdi_status rpt_reader_open(const char *path, rpt_header *hdr, rpt_reader **out)
{
    rpt_reader *r = calloc(1, sizeof *r);
    tdi_status st;

    *out = r;
    if (!r)
        return TDI_ERR_INTERNAL;
    r->path = path;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        tdi_error("%s: cannot open: %s", path, strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    rpt_gz_reader_init(&r->gz, r->fd, 0);
    rpt_xml_capture(&r->guard, on_error, r);
    r->captured = 1;
    r->xr = xmlReaderForIO(read_gz, close_gz, r, path, NULL, XML_PARSE_NONET);
    if (!r->xr) {
        tdi_error("%s: cannot start the XML reader", path);
        return TDI_ERR_INTERNAL;
    }
    xmlTextReaderSetStructuredErrorHandler(r->xr, on_error, r);
    st = read_header(r, hdr);
    r->year = hdr->year;
    return st;
}

/* An absent attribute's value: a coded item's schema default (schema 2.4 leaves "not known"
 * out; neither xmlTextReader nor the receiver's validation inserts defaults, so the reader says
 * so itself; a file before 2.4 has every item and reads as it always did), else rpt_attrs' dflt. */
static const char *attr_default(int i)
{
    if (i >= RPT_ATTR_ITEMS && i < RPT_ATTR_ITEMS + TDI_ITEM_COUNT)
        return tdi_item_default((tdi_item)(i - RPT_ATTR_ITEMS));
    return rpt_attrs[i].dflt;
}

tdi_status rpt_reader_next(rpt_reader *r, rpt_item *item, int *eof)
{
    int rc;

    memset(item, 0, sizeof *item);
    item->file_year = r->year;
    *eof = 0;
    while ((rc = next_element(r)) == 1) {
        const char *name = (const char *)xmlTextReaderConstLocalName(r->xr);
        size_t used = 0;

        item->is_delete = strcmp(name, "delete") == 0;
        if (!item->is_delete && strcmp(name, "episode") != 0)
            continue; /* <episodes> */
        item->line = xmlGetLineNo(xmlTextReaderCurrentNode(r->xr));
        while (xmlTextReaderMoveToNextAttribute(r->xr) == 1) {
            const char *an = (const char *)xmlTextReaderConstLocalName(r->xr);
            const char *av = (const char *)xmlTextReaderConstValue(r->xr);
            size_t len = av ? strlen(av) + 1 : 1;
            int i = rpt_attr_index(an);

            if (strcmp(an, "action") == 0) {
                item->replace = av && strcmp(av, "replace") == 0;
                continue;
            }
            if (i < 0 || !av)
                continue; /* xmlns; anything else the schema check reports */
            if (used + len > VALUES_MAX) {
                tdi_error("%s:%ld: attributes too long", r->path, item->line);
                return TDI_ERR_INVALID;
            }
            memcpy(r->values + used, av, len);
            item->attr[i] = r->values + used;
            used += len;
        }
        xmlTextReaderMoveToElement(r->xr);
        for (int i = 0; !item->is_delete && i < RPT_NATTRS; i++)
            if (!item->attr[i])
                item->attr[i] = attr_default(i);
        if (!item->attr[RPT_ATTR_KEY]) {
            tdi_error("%s:%ld: %s without a key", r->path, item->line, name);
            return TDI_ERR_INVALID;
        }
        return TDI_OK;
    }
    if (rc < 0)
        return TDI_ERR_INVALID;
    *eof = 1;
    return TDI_OK;
}

void rpt_reader_close(rpt_reader *r)
{
    if (!r)
        return;
    if (r->xr)
        xmlFreeTextReader(r->xr);
    if (r->captured)
        rpt_xml_restore(&r->guard);
    rpt_gz_reader_end(&r->gz);
    if (r->fd >= 0)
        (void)close(r->fd); /* read-only: a close error cannot change what was read */
    free(r);
}

/* ---- manifests ---- */

int rpt_manifest_path(const char *xml_path, char *out, size_t len)
{
    size_t n = strlen(xml_path);
    size_t cut = n > 7 && strcmp(xml_path + n - 7, ".xml.gz") == 0 ? 7
                 : n > 4 && strcmp(xml_path + n - 4, ".xml") == 0  ? 4
                                                                   : 0;

    if (!cut || n - cut + sizeof ".manifest.json" > len)
        return 0;
    snprintf(out, len, "%.*s.manifest.json", (int)(n - cut), xml_path);
    return 1;
}

/* The value of the top-level "name": in json (flat scalars; nested objects skipped), copied into
 * dst without quotes. 0 when missing or too long. */
static int json_scalar(const char *json, const char *name, char *dst, size_t len)
{
    size_t nlen = strlen(name);
    int depth = 0;

    for (const char *p = json; *p; p++) {
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']')
            depth--;
        else if (*p == '"') {
            const char *s = p + 1, *e = s;
            while (*e && *e != '"')
                e += *e == '\\' && e[1] ? 2 : 1;
            if (!*e)
                return 0;
            p = e;
            if (depth != 1 || (size_t)(e - s) != nlen || strncmp(s, name, nlen) != 0)
                continue;
            for (s = e + 1; *s == ' ' || *s == ':'; s++)
                ;
            if (*s == '"')
                for (e = ++s; *e && *e != '"'; e++)
                    ;
            else
                for (e = s; *e && *e != ',' && *e != '}' && *e != ' '; e++)
                    ;
            if ((size_t)(e - s) >= len || e == s)
                return 0;
            memcpy(dst, s, (size_t)(e - s));
            dst[e - s] = '\0';
            return 1;
        }
    }
    return 0;
}

const char *const rpt_count_names[RPT_NCOUNTS] = {"records", "appends", "replaces", "deletes"};

/* The counts buf states into m->count (-1: not stated); 0 when one is not a number. */
static int manifest_counts(const char *buf, rpt_manifest *m)
{
    char num[32], *end;

    for (int i = 0; i < RPT_NCOUNTS; i++) {
        m->count[i] = -1;
        if (!json_scalar(buf, rpt_count_names[i], num, sizeof num))
            continue;
        errno = 0;
        m->count[i] = strtoll(num, &end, 10);
        if (*end || errno || num[0] < '0' || num[0] > '9')
            return 0;
    }
    return 1;
}

tdi_status rpt_manifest_read(const char *path, rpt_manifest *m)
{
    char buf[16384], year[16], seq[32], run_no[32], *end;
    FILE *fp = fopen(path, "r");
    size_t n;

    memset(m, 0, sizeof *m);
    if (!fp)
        return TDI_ERR_OUTPUT;
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if (!manifest_counts(buf, m))
        return TDI_ERR_INVALID;
    if (!json_scalar(buf, "sha256", m->sha256, sizeof m->sha256) || strlen(m->sha256) != 64 ||
        !json_scalar(buf, "body", m->body, sizeof m->body) ||
        !json_scalar(buf, "runId", m->run_id, sizeof m->run_id) ||
        !json_scalar(buf, "year", year, sizeof year) ||
        !json_scalar(buf, "sequence", seq, sizeof seq))
        return TDI_ERR_INVALID;
    m->year = (int)strtol(year, &end, 10);
    if (*end)
        return TDI_ERR_INVALID;
    m->sequence = strtoumax(seq, &end, 10);
    if (*end)
        return TDI_ERR_INVALID;
    if (json_scalar(buf, "runNo", run_no, sizeof run_no)) {
        errno = 0;
        m->run_no = strtoll(run_no, &end, 10);
        if (*end || errno || m->run_no < 1)
            return TDI_ERR_INVALID;
    }
    return TDI_OK;
}

/* ---- the order of two runs' files ---- */

int rpt_run_by_id(int64_t no_a, int64_t no_b)
{
    return no_a < 1 && no_b < 1;
}

int rpt_run_cmp(int64_t no_a, const char *id_a, int64_t no_b, const char *id_b)
{
    if ((no_a > 0) != (no_b > 0))
        return no_a > 0 ? 1 : -1;
    if (no_a > 0)
        return no_a < no_b ? -1 : no_a > no_b;
    return strcmp(id_a, id_b); /* never the clock when a runNo is there (red team 5) */
}

/* ---- series ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int grow(void **arr, size_t n, size_t size)
{
    void *p;

    if (n & (n - 1) || (n && n < 16))
        return 1; /* room left: sizes 16, 32, 64, ... */
    p = realloc(*arr, (n ? n * 2 : 16) * size);
    if (!p)
        return 0;
    *arr = p;
    return 1;
}

static tdi_status add_path(rpt_series *s, const char *path, int named)
{
    char mf[4096];
    struct stat sb;
    rpt_reader *r = NULL;
    rpt_entry *e;
    tdi_status st;

    if (ends_with(path, ".manifest.json") && !ends_with(path, ".tables.manifest.json") &&
        !ends_with(path, ".workbook.manifest.json")) {
        if (!grow((void **)&s->orphans, s->norphans, sizeof *s->orphans) ||
            !(s->orphans[s->norphans] = strdup(path)))
            return TDI_ERR_INTERNAL;
        s->norphans++; /* kept below when its submission is there */
        return TDI_OK;
    }
    /* The manifest is written after its file: without it, a file found is not published. One
     * named is taken as asked (refused by tdi load; a finding, and checked, by tdi audit). */
    if (!named && rpt_manifest_path(path, mf, sizeof mf) && stat(mf, &sb) != 0 && errno == ENOENT) {
        tdi_warn("%s: no manifest, so not published (its run is publishing it or was "
                 "interrupted): skipped",
                 path);
        return TDI_OK;
    }
    if (!grow((void **)&s->e, s->n, sizeof *s->e))
        return TDI_ERR_INTERNAL;
    e = &s->e[s->n];
    memset(e, 0, sizeof *e);
    if (!(e->path = strdup(path)))
        return TDI_ERR_INTERNAL;
    s->n++;
    st = rpt_reader_open(path, &e->hdr, &r);
    rpt_reader_close(r);
    e->bad = st != TDI_OK;
    return st == TDI_ERR_INTERNAL ? st : st != TDI_OK ? TDI_ERR_INVALID : TDI_OK;
}

static tdi_status walk(rpt_series *s, const char *path, int named)
{
    struct stat sb;
    tdi_status st = TDI_OK, worst = TDI_OK;
    DIR *d;
    struct dirent *de;

    if (stat(path, &sb) != 0) {
        tdi_error("%s: %s", path, strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    if (!S_ISDIR(sb.st_mode)) {
        if (named ||
            ((ends_with(path, ".xml.gz") || ends_with(path, ".xml") ||
              ends_with(path, ".manifest.json")) &&
             !ends_with(path, ".tables.xml") && !ends_with(path, ".tables.manifest.json") &&
             !ends_with(path, ".workbook.manifest.json")))
            return add_path(s, path, named);
        return TDI_OK;
    }
    if (!(d = opendir(path))) {
        tdi_error("%s: %s", path, strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    while ((de = readdir(d)) != NULL) {
        char sub[4096];
        if (de->d_name[0] == '.')
            continue; /* ., .., and temp files of a run still writing */
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= sizeof sub)
            continue;
        st = walk(s, sub, 0);
        if (st == TDI_ERR_INTERNAL) {
            worst = st;
            break;
        }
        if (st != TDI_OK && worst == TDI_OK)
            worst = st;
    }
    closedir(d);
    return worst;
}

static int cmp_entry(const void *a, const void *b)
{
    const rpt_entry *x = a, *y = b;
    int c;

    if (x->bad != y->bad)
        return y->bad - x->bad;
    if ((c = strcmp(x->hdr.body, y->hdr.body)) != 0)
        return c;
    if (x->hdr.year != y->hdr.year)
        return x->hdr.year < y->hdr.year ? -1 : 1;
    if (x->hdr.sequence != y->hdr.sequence)
        return x->hdr.sequence < y->hdr.sequence ? -1 : 1;
    if ((c = rpt_run_cmp(x->hdr.run_no, x->hdr.run_id, y->hdr.run_no, y->hdr.run_id)) != 0)
        return c;
    return strcmp(x->path, y->path);
}

/* Drops the manifests whose submission was found: what is left are orphans. */
static void keep_orphans(rpt_series *s)
{
    size_t kept = 0;

    for (size_t i = 0; i < s->norphans; i++) {
        int found = 0;
        for (size_t j = 0; j < s->n && !found; j++) {
            char mf[4096];
            found =
                rpt_manifest_path(s->e[j].path, mf, sizeof mf) && strcmp(mf, s->orphans[i]) == 0;
        }
        if (found)
            free(s->orphans[i]);
        else
            s->orphans[kept++] = s->orphans[i];
    }
    s->norphans = kept;
}

tdi_status rpt_series_collect(char *const *args, int nargs, rpt_series *out)
{
    tdi_status st, worst = TDI_OK;

    memset(out, 0, sizeof *out);
    for (int i = 0; i < nargs; i++) {
        st = walk(out, args[i], 1);
        if (st == TDI_ERR_INTERNAL)
            return st;
        if (st == TDI_ERR_OUTPUT || (st != TDI_OK && worst == TDI_OK))
            worst = st;
    }
    if (out->n)
        qsort(out->e, out->n, sizeof *out->e, cmp_entry);
    keep_orphans(out);
    return worst;
}

void rpt_series_free(rpt_series *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].path);
    for (size_t i = 0; i < s->norphans; i++)
        free(s->orphans[i]);
    free(s->e);
    free(s->orphans);
    memset(s, 0, sizeof *s);
}

/* ---- the run report's trend cells of a tables file ---- */

/* Whether a cell of table id at (row, col) is one the trends draw (report.h). */
static int trend_cell(const char *id, const char *row, const char *col)
{
    if (strcmp(id, REPORT_TREND_DRUG) == 0)
        return strcmp(col, "total") == 0 && !strchr(row, '.');
    if (strcmp(id, REPORT_TREND_RESIDENTIAL) == 0)
        return strcmp(col, "total") == 0 || strcmp(row, "total") == 0;
    return strcmp(id, REPORT_TREND_CENTRE) == 0 && strcmp(row, "total") == 0;
}

typedef struct trend_ctx {
    char id[REPORT_CODE_MAX];
    report_cell *cells;
    size_t n;
} trend_ctx;

static tdi_status trend_table(void *ctx, const char *id)
{
    snprintf(((trend_ctx *)ctx)->id, REPORT_CODE_MAX, "%s", id ? id : "");
    return TDI_OK;
}

static tdi_status add_trend_cell(void *ctx, const char *kind, const char *row, const char *col,
                                 const char *val)
{
    trend_ctx *t = ctx;
    int suppressed = strcmp(kind, "suppressed") == 0;
    report_cell *c;

    if (!suppressed && strcmp(kind, "cell") != 0)
        return TDI_OK;
    if (!row || !col || (!suppressed && !val))
        return TDI_ERR_INVALID;
    if (!trend_cell(t->id, row, col))
        return TDI_OK;
    /* Only the cells the trends keep must fit a report_cell: other tables have longer codes. */
    if (strlen(row) >= REPORT_CODE_MAX || strlen(col) >= REPORT_CODE_MAX)
        return TDI_ERR_INVALID;
    if (!grow((void **)&t->cells, t->n, sizeof *t->cells))
        return TDI_ERR_INTERNAL;
    c = &t->cells[t->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->table, sizeof c->table, "%s", t->id);
    snprintf(c->row, sizeof c->row, "%s", row);
    snprintf(c->col, sizeof c->col, "%s", col);
    c->suppressed = suppressed;
    c->value = suppressed ? 0 : strtoul(val, NULL, 10);
    return TDI_OK;
}

tdi_status report_trend_cells(const char *path, report_cell **out, size_t *n)
{
    trend_ctx t = {0};
    rpt_tables_visit v = {.ctx = &t, .table = trend_table, .cell = add_trend_cell};
    tdi_status st = rpt_tables_read(path, &v);

    if (st == TDI_ERR_INTERNAL)
        tdi_error("%s: out of memory reading its cells", path);
    if (st != TDI_OK) {
        free(t.cells);
        t.cells = NULL;
        t.n = 0;
    }
    *out = t.cells;
    *n = t.n;
    return st;
}

/* ---- a tables file ---- */

static char *xattr(xmlTextReaderPtr r, const char *name)
{
    return (char *)xmlTextReaderGetAttribute(r, (const xmlChar *)name);
}

/* The root element: a <tables> of tdi's namespace with the attributes a reader needs. */
static tdi_status tables_head(xmlTextReaderPtr r, const rpt_tables_visit *v)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(r);
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(r);
    char *body = xattr(r, "body"), *year = xattr(r, "year"), *run = xattr(r, "runId");
    char *level = xattr(r, "countingLevel"), *thr = xattr(r, "threshold");
    char *entrants = xattr(r, "entrants");
    rpt_tables_head h = {0};
    tdi_status st = TDI_ERR_INVALID;

    if (name && strcmp(name, "tables") == 0 && ns && strcmp(ns, REPORT_TABLES_NAMESPACE) == 0 &&
        body && rpt_name_ok(body) && year && run && rpt_run_id_ok(run) && level &&
        strlen(level) < sizeof h.counting_level && thr) {
        snprintf(h.body, sizeof h.body, "%s", body);
        snprintf(h.run_id, sizeof h.run_id, "%s", run);
        snprintf(h.counting_level, sizeof h.counting_level, "%s", level);
        h.year = atoi(year);
        h.threshold = strtoul(thr, NULL, 10);
        h.has_entrants = entrants != NULL;
        h.entrants = entrants ? strtoul(entrants, NULL, 10) : 0;
        st = v->head ? v->head(v->ctx, &h) : TDI_OK;
    }
    xmlFree(body);
    xmlFree(year);
    xmlFree(run);
    xmlFree(level);
    xmlFree(thr);
    xmlFree(entrants);
    return st;
}

static tdi_status tables_cell(xmlTextReaderPtr r, const char *kind, const rpt_tables_visit *v)
{
    char *row = xattr(r, "row"), *col = xattr(r, "column"), *val = xattr(r, "value");
    tdi_status st = v->cell ? v->cell(v->ctx, kind, row, col, val) : TDI_OK;

    xmlFree(row);
    xmlFree(col);
    xmlFree(val);
    return st;
}

tdi_status rpt_tables_read(const char *path, const rpt_tables_visit *v)
{
    xmlTextReaderPtr r = xmlReaderForFile(path, NULL, XML_PARSE_NONET);
    tdi_status st = TDI_OK;
    int ret, root = 0;

    if (!r) {
        tdi_error("%s: cannot read", path);
        return TDI_ERR_OUTPUT;
    }
    while (st == TDI_OK && (ret = xmlTextReaderRead(r)) == 1) {
        const char *name = (const char *)xmlTextReaderConstLocalName(r);

        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT || !name)
            continue;
        if (!root) {
            root = 1;
            st = tables_head(r, v);
        } else if (strcmp(name, "table") == 0) {
            char *id = xattr(r, "id");
            st = id ? (v->table ? v->table(v->ctx, id) : TDI_OK) : TDI_ERR_INVALID;
            xmlFree(id);
        } else {
            st = tables_cell(r, name, v);
        }
    }
    if (st == TDI_OK && (ret != 0 || !root))
        st = TDI_ERR_INVALID;
    if (st == TDI_ERR_INVALID)
        tdi_error("%s: not a tables file tdi can read", path);
    xmlFreeTextReader(r);
    return st;
}
