/*
 * rpt_html: the run report, one self-contained HTML page (report_html_write).
 *
 * What one run did, for the data manager (every source and body) or for one clinic (its source
 * only): per source extracted / written / quarantined against its previous run, the quarantine
 * reasons (rule, item, count; for unmapped codes the local code) read from its quarantine file;
 * per body its files with sequence, counts and SHA-256; the last runs' duration and exit code
 * and the episodes held per year as inline SVG. No script, no style sheet or image from
 * elsewhere, no network. The page is written with libxml2's xmlTextWriter, which escapes every
 * value; it is well-formed XML as well as HTML. Nothing identifying reaches it: the ledger
 * holds counts and names of sources and bodies, the quarantine file's keys and messages are not
 * read into it.
 */
#include "report.h"

#include "rpt_file.h"

#include "../common/tdi_log.h"
#include "../common/tdi_version.h"

#include <libxml/xmlwriter.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XC(s)     ((const xmlChar *)(s))
#define MAX_CAUSE 64
#define CODE_MAX  33

typedef struct cause {
    char rule[CODE_MAX], item[CODE_MAX], code[CODE_MAX]; /* code: R006's local code, or "" */
    unsigned long n;
} cause;

static const char style[] =
    "body{font:14px/1.4 sans-serif;margin:2em;color:#222;max-width:72em}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em}"
    "td.n{text-align:right}th{background:#f2f2f2}.ok{color:#070}.bad{color:#b00}"
    "code{font-size:.85em;word-break:break-all}td.hi{background:#fdd;font-weight:bold}"
    "td.c{text-align:center;color:#666}";

#define HIGH_SHARE 0.25 /* a not-known share from which the page highlights the item */

/* A value from a file is shown only when it is a plain code (never free text). */
static int plain(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < CODE_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-+ ") == n;
}

/* Quarantine reasons of one file: (rule, item[, code]) counted. The key, value and message
 * columns are not kept but R006's value, the local code that has no crosswalk entry. */
static size_t read_causes(const char *path, cause *c, size_t max)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    size_t n = 0;

    if (!fp)
        return 0;
    while (fgets(line, sizeof line, fp)) {
        char *save = NULL, *key = strtok_r(line, "\t", &save);
        char *rule = key ? strtok_r(NULL, "\t", &save) : NULL;
        char *item = rule ? strtok_r(NULL, "\t", &save) : NULL;
        char *value = item ? strtok_r(NULL, "\t", &save) : NULL;
        size_t i;

        if (!item || strcmp(key, "key") == 0 || !plain(rule) || !plain(item))
            continue;
        if (!value || strcmp(rule, "R006") != 0 || !plain(value))
            value = "";
        for (i = 0; i < n; i++)
            if (!strcmp(c[i].rule, rule) && !strcmp(c[i].item, item) && !strcmp(c[i].code, value))
                break;
        if (i == n) {
            if (n == max)
                continue;
            memset(&c[n], 0, sizeof c[n]);
            snprintf(c[n].rule, CODE_MAX, "%s", rule);
            snprintf(c[n].item, CODE_MAX, "%s", item);
            snprintf(c[n].code, CODE_MAX, "%s", value);
            n++;
        }
        c[i].n++;
    }
    fclose(fp);
    return n;
}

/* The writer's calls return < 0 on failure; w_* keep the first failure in *rc. */
typedef struct page {
    xmlTextWriterPtr w;
    int rc;
} page;

static void w_start(page *p, const char *el)
{
    if (p->rc >= 0)
        p->rc = xmlTextWriterStartElement(p->w, XC(el));
}

static void w_end(page *p)
{
    if (p->rc >= 0)
        p->rc = xmlTextWriterEndElement(p->w);
}

static void w_attr(page *p, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void w_attr(page *p, const char *name, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (p->rc >= 0)
        p->rc = xmlTextWriterWriteAttribute(p->w, XC(name), XC(buf));
}

/* <el [id=ID] [class=CLS]>TEXT</el>; text is escaped by the writer. */
static void w_el(page *p, const char *el, const char *id, const char *cls, const char *text)
{
    w_start(p, el);
    if (id)
        w_attr(p, "id", "%s", id);
    if (cls)
        w_attr(p, "class", "%s", cls);
    if (p->rc >= 0)
        p->rc = xmlTextWriterWriteString(p->w, XC(text));
    w_end(p);
}

static void w_num(page *p, const char *id, unsigned long v)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lu", v);
    w_el(p, "td", id, "n", buf);
}

static void w_row(page *p, const char *const *cells, size_t n, const char *cell)
{
    w_start(p, "tr");
    for (size_t i = 0; i < n; i++)
        w_el(p, cell, NULL, NULL, cells[i]);
    w_end(p);
}

/* A section: its heading, then a table with its header row (ended by the caller). */
static void section_table(page *p, const char *title, const char *const *head, size_t n)
{
    w_el(p, "h2", NULL, NULL, title);
    w_start(p, "table");
    w_row(p, head, n, "th");
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void run_summary(page *p, const tdi_page *r)
{
    static const char *const head[] = {"run",     "year",   "mode",     "started",
                                       "seconds", "status", "exit code"};
    char year[16], secs[32], code[16];
    const tdi_page_run *run = &r->run;

    snprintf(year, sizeof year, "%d", run->year);
    snprintf(secs, sizeof secs, "%.1f", run->seconds);
    snprintf(code, sizeof code, "%d", run->exit_code);
    w_start(p, "table");
    w_row(p, head, 7, "th");
    w_start(p, "tr");
    w_el(p, "td", "run-id", NULL, run->run_id);
    w_el(p, "td", "run-year", NULL, year);
    w_el(p, "td", NULL, NULL, run->mode);
    w_el(p, "td", NULL, NULL, run->started);
    w_el(p, "td", "run-seconds", "n", run->seconds < 0 ? "-" : secs);
    w_el(p, "td", "run-status", run->exit_code == 0 ? "ok" : "bad", run->status);
    w_el(p, "td", "run-exit", "n", code);
    w_end(p);
    w_end(p);
}

static void svg_text(page *p, int x, int y, const char *anchor, const char *text)
{
    w_start(p, "text");
    w_attr(p, "x", "%d", x);
    w_attr(p, "y", "%d", y);
    w_attr(p, "font-size", "12");
    w_attr(p, "text-anchor", "%s", anchor);
    if (p->rc >= 0)
        p->rc = xmlTextWriterWriteString(p->w, XC(text));
    w_end(p);
}

static void svg_rect(page *p, int x, int y, int w, int h, const char *fill)
{
    w_start(p, "rect");
    w_attr(p, "x", "%d", x);
    w_attr(p, "y", "%d", y);
    w_attr(p, "width", "%d", w < 0 ? 0 : w);
    w_attr(p, "height", "%d", h < 0 ? 0 : h);
    w_attr(p, "fill", "%s", fill);
    w_end(p);
}

static void svg_start(page *p, int w, int h, const char *label)
{
    w_start(p, "svg");
    w_attr(p, "xmlns", "http://www.w3.org/2000/svg");
    w_attr(p, "width", "%d", w);
    w_attr(p, "height", "%d", h);
    w_attr(p, "role", "img");
    w_attr(p, "aria-label", "%s", label);
}

/* Horizontal bars per source: written (green) and quarantined (red), to one scale. */
static void source_chart(page *p, const tdi_page *r)
{
    unsigned long max = 1;
    char buf[64];

    for (size_t i = 0; i < r->nsources; i++)
        if (r->sources[i].extracted > max)
            max = r->sources[i].extracted;
    svg_start(p, 640, 24 * (int)r->nsources + 8, "written and quarantined per source");
    for (size_t i = 0; i < r->nsources; i++) {
        const tdi_page_source *s = &r->sources[i];
        int y = 4 + 24 * (int)i;
        int ww = (int)(380.0 * (double)s->written / (double)max);
        int qw = (int)(380.0 * (double)s->quarantined / (double)max);

        svg_text(p, 140, y + 14, "end", s->name);
        svg_rect(p, 150, y, ww, 18, "#4a7");
        svg_rect(p, 150 + ww, y, qw, 18, "#d55");
        snprintf(buf, sizeof buf, "%lu + %lu", s->written, s->quarantined);
        svg_text(p, 156 + ww + qw, y + 14, "start", buf);
    }
    w_end(p);
}

static void sources(page *p, const tdi_page *r)
{
    static const char *const head[] = {"source",    "status",  "mode",        "attempts",
                                       "extracted", "written", "quarantined", "previous run"};
    char id[128], prev[128];

    section_table(p, "Sources", head, 8);
    for (size_t i = 0; i < r->nsources; i++) {
        const tdi_page_source *s = &r->sources[i];

        w_start(p, "tr");
        w_el(p, "td", NULL, NULL, s->name);
        w_el(p, "td", NULL, strcmp(s->status, "ok") == 0 ? "ok" : "bad", s->status);
        w_el(p, "td", NULL, NULL, s->mode);
        w_num(p, NULL, (unsigned long)s->attempts);
        snprintf(id, sizeof id, "src-%s-extracted", s->name);
        w_num(p, id, s->extracted);
        snprintf(id, sizeof id, "src-%s-written", s->name);
        w_num(p, id, s->written);
        snprintf(id, sizeof id, "src-%s-quarantined", s->name);
        w_num(p, id, s->quarantined);
        if (s->has_prev)
            snprintf(prev, sizeof prev, "extracted %lu, written %lu, quarantined %lu",
                     s->prev_extracted, s->prev_written, s->prev_quarantined);
        else
            snprintf(prev, sizeof prev, "none (first run)");
        w_el(p, "td", NULL, NULL, prev);
        w_end(p);
    }
    w_end(p);
    if (r->nsources > 0)
        source_chart(p, r);
}

static void quarantine(page *p, const tdi_page *r)
{
    static const char *const head[] = {"source", "rule", "item", "unmapped code", "rows"};
    cause *c = calloc(MAX_CAUSE, sizeof *c);

    section_table(p, "Quarantine: why rows were held back", head, 5);
    for (size_t f = 0; c && f < r->nfiles; f++) {
        const tdi_page_file *file = &r->files[f];
        size_t n;

        if (strcmp(file->kind, "quarantine") != 0)
            continue;
        n = read_causes(file->path, c, MAX_CAUSE);
        for (size_t i = 0; i < n; i++) {
            w_start(p, "tr");
            w_el(p, "td", NULL, NULL, file->owner);
            w_el(p, "td", NULL, NULL, c[i].rule);
            w_el(p, "td", NULL, NULL, c[i].item);
            w_el(p, "td", NULL, NULL, c[i].code);
            w_num(p, NULL, c[i].n);
            w_end(p);
        }
    }
    w_end(p);
    w_el(p, "p", NULL, NULL,
         "Rows of this run's quarantine files (a rerun that holds back the same rows publishes "
         "no new file). Rule ids are those of tdi's rule table (README, Business rules).");
    free(c);
}

static void files(page *p, const tdi_page *r)
{
    static const char *const head[] = {"kind",     "owner",   "sequence", "records",
                                       "replaces", "deletes", "file",     "SHA-256"};
    char seq[32], href[PATH_MAX + 80];

    section_table(p, "Files published", head, 8);
    for (size_t i = 0; i < r->nfiles; i++) {
        const tdi_page_file *f = &r->files[i];

        snprintf(seq, sizeof seq, "%lld", f->sequence);
        w_start(p, "tr");
        w_el(p, "td", NULL, NULL, f->kind);
        w_el(p, "td", NULL, NULL, f->owner);
        w_el(p, "td", NULL, "n", f->sequence < 0 ? "" : seq);
        w_num(p, NULL, f->records);
        w_num(p, NULL, f->replaces);
        w_num(p, NULL, f->deletes);
        w_start(p, "td");
        w_start(p, "a");
        /* relative to the page in the output directory: OWNER/FILE or quarantine/FILE */
        snprintf(href, sizeof href, "%s/%s",
                 strcmp(f->kind, "quarantine") == 0 ? "quarantine" : f->owner, base(f->path));
        w_attr(p, "href", "%s", href);
        if (p->rc >= 0)
            p->rc = xmlTextWriterWriteString(p->w, XC(base(f->path)));
        w_end(p);
        w_end(p);
        w_start(p, "td");
        w_el(p, "code", NULL, NULL, f->sha256);
        w_end(p);
        w_end(p);
    }
    w_end(p);
}

/* One share "N / M (P%)" into buf; M = 0: "-". */
static void share_text(char *buf, size_t len, unsigned long nk, unsigned long all)
{
    if (all == 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%lu / %lu (%.0f%%)", nk, all, 100.0 * (double)nk / (double)all);
}

static const tdi_page_item *find_item(const tdi_page *r, const char *source, const char *item)
{
    for (size_t i = 0; i < r->nitems; i++)
        if (!strcmp(r->items[i].source, source) && !strcmp(r->items[i].item, item))
            return &r->items[i];
    return NULL;
}

/* One item's row: per source its not-known share this run and in the source's previous run. */
static void completeness_row(page *p, const tdi_page *r, const char *item)
{
    char id[192], buf[64];

    w_start(p, "tr");
    w_el(p, "td", NULL, NULL, item);
    for (size_t s = 0; s < r->nsources; s++) {
        const tdi_page_item *it = find_item(r, r->sources[s].name, item);
        int high =
            it && it->applicable && (double)it->not_known >= HIGH_SHARE * (double)it->applicable;

        share_text(buf, sizeof buf, it ? it->not_known : 0, it ? it->applicable : 0);
        snprintf(id, sizeof id, "nk-%s-%s", r->sources[s].name, item);
        w_el(p, "td", id, high ? "n hi" : "n", buf);
        if (it && it->has_prev)
            share_text(buf, sizeof buf, it->prev_not_known, it->prev_applicable);
        w_el(p, "td", NULL, "n", it && it->has_prev ? buf : "none");
    }
    w_end(p);
}

static void completeness(page *p, const tdi_page *r)
{
    char note[320];

    w_el(p, "h2", NULL, NULL, "Completeness: items left \"not known\"");
    w_start(p, "table");
    w_start(p, "tr");
    w_el(p, "th", NULL, NULL, "item");
    for (size_t s = 0; s < r->nsources; s++) {
        w_el(p, "th", NULL, NULL, r->sources[s].name);
        w_el(p, "th", NULL, NULL, "previous run");
    }
    w_end(p);
    for (size_t i = 0; i < TDI_ITEM_COUNT; i++)
        completeness_row(p, r, tdi_item_get((tdi_item)i)->name);
    w_end(p);
    snprintf(note, sizeof note,
             "Not known / records: of the records each source wrote in the run, those an item "
             "applies to (a residential item only to residential settings) and of them those "
             "with its not-known code. Highlighted: %.0f%% or more.",
             100 * HIGH_SHARE);
    w_el(p, "p", NULL, NULL, note);
}

static void disclosure(page *p, const tdi_page *r)
{
    static const char *const head[] = {"body", "k_min",   "k reached",        "records",
                                       "met",  "blanked", "suppressed cells", "added by audit"};
    char id[128], buf[32];

    section_table(p, "Disclosure control per body", head, 8);
    for (size_t i = 0; i < r->nbodies; i++) {
        const tdi_page_body *b = &r->bodies[i];

        w_start(p, "tr");
        w_el(p, "td", NULL, NULL, b->name);
        w_num(p, NULL, (unsigned long)b->k_min);
        snprintf(id, sizeof id, "disc-%s-k", b->name);
        w_num(p, id, b->k);
        w_num(p, NULL, b->records);
        w_el(p, "td", NULL, b->met ? "ok" : "bad", b->met ? "yes" : "no: nothing published");
        snprintf(id, sizeof id, "disc-%s-blanked", b->name);
        w_el(p, "td", id, NULL, b->blanked[0] ? b->blanked : "none");
        snprintf(id, sizeof id, "disc-%s-suppressed", b->name);
        snprintf(buf, sizeof buf, "%lld", b->suppressed);
        w_el(p, "td", id, "n", b->suppressed < 0 ? "no tables" : buf);
        snprintf(buf, sizeof buf, "%lld", b->audit_added);
        w_el(p, "td", NULL, "n", b->audit_added < 0 ? "not recorded" : buf);
        w_end(p);
    }
    w_end(p);
}

/* The last runs: one bar per run, its height the duration, red when it failed. */
static void history(page *p, const tdi_page *r)
{
    double max = 1;
    char buf[160];

    w_el(p, "h2", NULL, NULL, "The last runs: duration and exit code");
    for (size_t i = 0; i < r->nhistory; i++)
        if (r->history[i].seconds > max)
            max = r->history[i].seconds;
    svg_start(p, r->nhistory < 14 ? 320 : 40 + 20 * (int)r->nhistory, 150,
              "duration and exit code of the last runs");
    for (size_t i = 0; i < r->nhistory; i++) {
        const tdi_page_run *h = &r->history[i];
        int bh = h->seconds < 0 ? 0 : 4 + (int)(100.0 * h->seconds / max);

        w_start(p, "g");
        w_start(p, "title");
        snprintf(buf, sizeof buf, "%s: %.1f s, exit %d", h->run_id, h->seconds, h->exit_code);
        if (p->rc >= 0)
            p->rc = xmlTextWriterWriteString(p->w, XC(buf));
        w_end(p);
        svg_rect(p, 30 + 20 * (int)i, 120 - bh, 14, bh, h->exit_code == 0 ? "#4a7" : "#d55");
        snprintf(buf, sizeof buf, "%d", h->exit_code);
        svg_text(p, 37 + 20 * (int)i, 136, "middle", buf);
        w_end(p);
    }
    snprintf(buf, sizeof buf, "longest %.1f s; numbers: exit codes", max);
    svg_text(p, 30, 149, "start", buf);
    w_end(p);
}

static void years(page *p, const tdi_page *r, const char *source)
{
    static const char *const head[] = {"held by", "year", "episodes", "entrants"};
    char year[16];

    w_el(p, "h2", NULL, NULL,
         source ? "Episodes of this source held per year" : "Episodes held per body and year");
    w_start(p, "table");
    w_row(p, head, 4, "th");
    for (size_t i = 0; i < r->nyears; i++) {
        const tdi_page_year *y = &r->years[i];

        snprintf(year, sizeof year, "%d", y->year);
        w_start(p, "tr");
        w_el(p, "td", NULL, NULL, y->owner);
        w_el(p, "td", NULL, NULL, year);
        w_num(p, NULL, y->episodes);
        w_num(p, NULL, y->entrants);
        w_end(p);
    }
    w_end(p);
}

/* ---- trends: the published cells of the bodies' tables, per year ---- */

#define TREND_MAX 16 /* years and categories drawn per chart */

typedef struct trend {
    const char *body, *table;
    int across_rows; /* categories are the table's rows (else its columns) */
    tdi_item item;   /* whose code list labels the categories */
    const char *tag; /* in the cells' ids when the table has another trend, else "" */
    int years[TREND_MAX];
    size_t nyears;
    const char *cats[TREND_MAX];
    size_t ncats;
    const tdi_page_cell *at[TREND_MAX][TREND_MAX]; /* [category][year], NULL: none */
} trend;

static const char *cat_of(const trend *t, const tdi_page_cell *c)
{
    return t->across_rows ? c->row : c->col;
}

static size_t slot(const char **v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i], s) == 0)
            return i;
    if (*n == TREND_MAX)
        return TREND_MAX;
    v[*n] = s;
    return (*n)++;
}

static size_t year_slot(trend *t, int year)
{
    for (size_t i = 0; i < t->nyears; i++)
        if (t->years[i] == year)
            return i;
    if (t->nyears == TREND_MAX)
        return TREND_MAX;
    t->years[t->nyears] = year;
    return t->nyears++;
}

/* The label of a category: the code list's, "total", or the code itself. */
static const char *cat_label(const trend *t, const char *code)
{
    const tdi_item_def *d = tdi_item_get(t->item);
    int i = tdi_code_index(d, code);

    return i >= 0 ? d->codes[i].label : code;
}

/* Bars per category, one per year (darker for later years); a suppressed cell is an empty
 * frame marked "c": its count is not on the page. The total is in the table, not drawn. */
static void trend_chart(page *p, const trend *t)
{
    static const char *const fill[] = {"#bcd", "#9bc", "#7ab", "#589", "#367", "#245"};
    unsigned long max = 1;
    int bw = 12, gw = bw * (int)t->nyears + 14;
    char label[64];

    for (size_t c = 0; c < t->ncats; c++)
        for (size_t y = 0; y < t->nyears; y++)
            if (t->at[c][y] && !t->at[c][y]->suppressed && strcmp(t->cats[c], "total") != 0 &&
                t->at[c][y]->value > max)
                max = t->at[c][y]->value;
    svg_start(p, 40 + gw * (int)t->ncats, 170, "published counts per year");
    for (size_t c = 0; c < t->ncats; c++) {
        if (strcmp(t->cats[c], "total") == 0)
            continue;
        for (size_t y = 0; y < t->nyears; y++) {
            const tdi_page_cell *cell = t->at[c][y];
            int x = 30 + gw * (int)c + bw * (int)y, h;

            if (!cell)
                continue;
            h = cell->suppressed ? 0 : (int)(110.0 * (double)cell->value / (double)max);
            svg_rect(p, x, 130 - h, bw - 2, h, fill[y % 6]);
            if (cell->suppressed)
                svg_text(p, x + 5, 128, "middle", "c");
        }
        snprintf(label, sizeof label, "%s", t->cats[c]);
        svg_text(p, 30 + gw * (int)c + bw * (int)t->nyears / 2, 146, "middle", label);
    }
    snprintf(label, sizeof label, "years %d-%d, left to right; c: suppressed", t->years[0],
             t->years[t->nyears - 1]);
    svg_text(p, 30, 164, "start", label);
    w_end(p);
}

static void trend_table(page *p, const trend *t)
{
    char id[256], buf[32];

    w_start(p, "table");
    w_start(p, "tr");
    w_el(p, "th", NULL, NULL, "category");
    for (size_t y = 0; y < t->nyears; y++) {
        snprintf(buf, sizeof buf, "%d", t->years[y]);
        w_el(p, "th", NULL, NULL, buf);
    }
    w_end(p);
    for (size_t c = 0; c < t->ncats; c++) {
        w_start(p, "tr");
        snprintf(id, sizeof id, "%s %s", t->cats[c], cat_label(t, t->cats[c]));
        w_el(p, "td", NULL, NULL, strcmp(t->cats[c], "total") == 0 ? "total" : id);
        for (size_t y = 0; y < t->nyears; y++) {
            const tdi_page_cell *cell = t->at[c][y];
            snprintf(id, sizeof id, "trend-%s-%s-%d-%s%s", t->body, t->table, t->years[y], t->tag,
                     t->cats[c]);
            snprintf(buf, sizeof buf, "%lu", cell ? cell->value : 0);
            w_el(p, "td", id, cell && cell->suppressed ? "c" : "n",
                 !cell              ? ""
                 : cell->suppressed ? "c"
                                    : buf);
        }
        w_end(p);
    }
    w_end(p);
}

/* The trend of body's table from r's cells (ordered by body, table, year): its rows in column
 * total (across_rows), else its columns in row total; a trend with_total 0 leaves the grand
 * total to the table's other trend, and its cells' ids say "by-" before the category. */
static void trend_of(page *p, const tdi_page *r, const char *body, const char *table,
                     int across_rows, int with_total, tdi_item item, const char *title)
{
    trend *t = calloc(1, sizeof *t);
    char h[256];

    if (!t) {
        p->rc = -1;
        return;
    }
    t->body = body;
    t->table = table;
    t->across_rows = across_rows;
    t->item = item;
    t->tag = with_total ? "" : "by-"; /* the table's other trend: ids of their own */
    for (size_t i = 0; i < r->ncells; i++) {
        const tdi_page_cell *c = &r->cells[i];
        size_t ci, yi;

        if (strcmp(c->body, body) != 0 || strcmp(c->table, table) != 0 ||
            strcmp(across_rows ? c->col : c->row, "total") != 0 ||
            (!with_total && strcmp(cat_of(t, c), "total") == 0))
            continue;
        ci = slot(t->cats, &t->ncats, cat_of(t, c));
        yi = year_slot(t, c->year);
        if (ci < TREND_MAX && yi < TREND_MAX)
            t->at[ci][yi] = c;
    }
    if (t->nyears > 0) {
        snprintf(h, sizeof h, "%s: %s (table %s)", body, title, table);
        w_el(p, "h3", NULL, NULL, h);
        trend_table(p, t);
        trend_chart(p, t);
    }
    free(t);
}

static void trends(page *p, const tdi_page *r)
{
    w_el(p, "h2", NULL, NULL, "Trends: entrants per year, as the tables published them");
    w_el(p, "p", NULL, NULL,
         "From each body's published tables of each year (the latest run that published them): "
         "a suppressed cell is shown as c, never its count. The type of treatment centre is "
         "the TDI grouping of the setting class; the residential settings (community and "
         "hospital) by their approach and planned duration.");
    for (size_t i = 0; i < r->ncells; i++) {
        if (i > 0 && strcmp(r->cells[i].body, r->cells[i - 1].body) == 0)
            continue;
        const char *b = r->cells[i].body;
        trend_of(p, r, b, REPORT_TREND_DRUG, 1, 1, TDI_ITEM_PRIMARY_DRUG,
                 "entrants by primary drug group");
        trend_of(p, r, b, REPORT_TREND_CENTRE, 0, 1, TDI_ITEM_CENTRE_TYPE,
                 "entrants by type of treatment centre");
        trend_of(p, r, b, REPORT_TREND_RESIDENTIAL, 1, 1, TDI_ITEM_RESIDENTIAL_APPROACH,
                 "residential entrants by approach");
        trend_of(p, r, b, REPORT_TREND_RESIDENTIAL, 0, 0, TDI_ITEM_PLANNED_DURATION,
                 "residential entrants by planned duration (total: above)");
    }
}

static void body(page *p, const tdi_page *r, const char *source)
{
    char title[256];

    snprintf(title, sizeof title, "tdi run %s%s%s", r->run.run_id, source ? ": source " : "",
             source ? source : "");
    w_start(p, "html");
    w_attr(p, "lang", "en");
    w_start(p, "head");
    w_start(p, "meta");
    w_attr(p, "charset", "utf-8");
    w_end(p);
    w_el(p, "title", NULL, NULL, title);
    w_el(p, "style", NULL, NULL, style);
    w_end(p);
    w_start(p, "body");
    w_el(p, "h1", NULL, NULL, title);
    run_summary(p, r);
    sources(p, r);
    quarantine(p, r);
    completeness(p, r);
    if (!source) {
        disclosure(p, r);
        files(p, r);
        trends(p, r);
    }
    history(p, r);
    years(p, r, source);
    snprintf(title, sizeof title, "Made by tdi %s from the state database.", TDI_VERSION);
    w_el(p, "p", NULL, NULL, title);
    w_end(p);
    w_end(p);
}

tdi_status report_html_write(const tdi_page *r, const char *source, const char *out_path)
{
    xmlBufferPtr buf = xmlBufferCreate();
    page p = {.w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL, .rc = 0};
    rpt_file f = {.fd = -1};
    char dir[PATH_MAX];
    const char *slash = strrchr(out_path, '/');
    tdi_status st = TDI_OK;

    if (!p.w) {
        tdi_error("%s: out of memory", out_path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    p.rc = xmlTextWriterStartDTD(p.w, XC("html"), NULL, NULL);
    if (p.rc >= 0)
        p.rc = xmlTextWriterEndDTD(p.w);
    if (p.rc >= 0)
        p.rc = xmlTextWriterWriteString(p.w, XC("\n"));
    body(&p, r, source);
    if (p.rc >= 0)
        p.rc = xmlTextWriterEndDocument(p.w);
    if (p.rc < 0) {
        tdi_error("%s: cannot write the page", out_path);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    xmlFreeTextWriter(p.w); /* flushes into buf */
    p.w = NULL;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out_path) : 1, slash ? out_path : ".");
    st = rpt_file_put(&f, slash == out_path ? "/" : dir, slash ? slash + 1 : out_path,
                      xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
    if (st == TDI_OK)
        rpt_file_keep(&f);
    rpt_file_discard(&f);
done:
    if (p.w)
        xmlFreeTextWriter(p.w);
    if (buf)
        xmlBufferFree(buf);
    return st;
}
