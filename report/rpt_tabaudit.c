/*
 * rpt_tabaudit: `tdi audit-tables` (report_audit_tables), the table protection of a received
 * tables file checked without tdi's state. The file's tables are read back into the run's table
 * families (rpt_tables_read; a published cell with its value, a suppressed one unknown), linked
 * as the run links them (rpt_link_tables) and audited by linear programming (dc_audit, values
 * not known), so the auditor judges the program the run judged; every all-entrants grand total
 * is the header's entrants (header_totals), as a receiver reads it. A family none of whose tables
 * the file holds is left out with its relations; a cell of a held family that the file does not
 * give is an unknown like a suppressed one, but not audited.
 */
#include "report.h"

#include "rpt_link.h"
#include "rpt_read.h"
#include "rpt_tables.h"

#include "../common/tdi_log.h"

#include <stdlib.h>
#include <string.h>

typedef struct ta_file {
    const char *path;
    FILE *out;
    rpt_family *fams;        /* rpt_nfamilies, all initialised */
    unsigned char **given;   /* per family and cell: the file gives it */
    unsigned char *held;     /* per family: the file holds one of its tables */
    unsigned long threshold; /* the file's */
    unsigned long entrants;  /* the file's header entrants, when has_entrants */
    int has_entrants;
    rpt_family *cur; /* the table being read, NULL: none */
    size_t var;
    size_t *home; /* per set cell: its family (index in fams) and cell, for printing */
    size_t *homecell;
    unsigned char *audited; /* per set cell: suppressed in the file */
    size_t naudited, nfail;
} ta_file;

static tdi_status on_head(void *ctx, const rpt_tables_head *h)
{
    ta_file *t = ctx;

    t->threshold = h->threshold;
    t->entrants = h->entrants;
    t->has_entrants = h->has_entrants;
    return TDI_OK;
}

/* Table "F.n": family F, variant n - first. */
static tdi_status on_table(void *ctx, const char *id)
{
    ta_file *t = ctx;
    const char *dot = strrchr(id, '.');

    t->cur = NULL;
    for (size_t f = 0; dot && f < rpt_nfamilies && !t->cur; f++) {
        const rpt_family_def *d = t->fams[f].def;
        long n = strtol(dot + 1, NULL, 10) - d->first;
        if (strlen(d->id) == (size_t)(dot - id) && strncmp(d->id, id, (size_t)(dot - id)) == 0 &&
            n >= 0 && (size_t)n < d->nvariants) {
            t->cur = &t->fams[f];
            t->var = (size_t)n;
            t->held[f] = 1;
        }
    }
    if (!t->cur)
        tdi_error("%s: table %s is none of tdi's tables", t->path, id);
    return t->cur ? TDI_OK : TDI_ERR_INVALID;
}

static int code_index(const rpt_dim *d, const char *code)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->code[i], code) == 0)
            return (int)i;
    return -1;
}

/* The column of a count in the current family, -1 for a statistic (a mean, an SD, a rate, a
 * median: not a count, not audited), -2 for none of its columns. */
static int count_column(const rpt_family *f, const char *col)
{
    const rpt_family_def *d = f->def;
    int k;

    for (size_t m = 0; d->measures && m < d->nmeasures; m++) {
        size_t n = strlen(d->measures[m].name);
        if (strncmp(col, d->measures[m].name, n) == 0 && col[n] == '_')
            return strcmp(col + n + 1, "n") == 0 ? (int)m : -1;
    }
    if (d->measures)
        return -2;
    for (size_t dv = 0; dv < d->nderived; dv++)
        if (strcmp(col, d->derived[dv].name) == 0)
            return -1;
    k = code_index(&f->cols, col);
    return k >= 0 ? k : -2;
}

static tdi_status on_cell(void *ctx, const char *kind, const char *row, const char *col,
                          const char *value)
{
    ta_file *t = ctx;
    rpt_family *f = t->cur;
    int r = f && row ? code_index(&f->rows, row) : -1, c = f && col ? count_column(f, col) : -2;
    size_t i;

    if (c == -1)
        return TDI_OK;
    if (r < 0 || c < 0) {
        tdi_error("%s: row %s column %s is no cell of its table", t->path, row ? row : "?",
                  col ? col : "?");
        return TDI_ERR_INVALID;
    }
    i = dc_cell(&f->grid, t->var, (size_t)r, (size_t)c);
    t->given[f - t->fams][i] = 1;
    if (strcmp(kind, "suppressed") == 0)
        f->suppressed[i] = 1;
    else if (strcmp(kind, "cell") == 0 && value)
        f->value[i] = strtoul(value, NULL, 10);
    else
        return TDI_ERR_INVALID;
    return TDI_OK;
}

static void on_fail(void *ctx, const dc_interval *iv)
{
    ta_file *t = ctx;
    const rpt_family *f;
    size_t i, nrc;

    if (!t->audited[iv->cell])
        return;
    t->nfail++;
    f = &t->fams[t->home[iv->cell]];
    i = t->homecell[iv->cell];
    nrc = f->rows.n * f->cols.n;
    /* a failing interval is narrower than the need: hi is finite; the solver's lower bound may
     * be a hair under 0, which %.0f would print as -0 */
    fprintf(t->out, "%s: table %s.%zu row %s column %s%s: value in [%.0f, %.0f], needs %lu\n",
            t->path, f->def->id, i / nrc + (size_t)f->def->first, f->rows.code[i % nrc / f->cols.n],
            f->def->measures ? f->def->measures[i % f->cols.n].name : f->cols.code[i % f->cols.n],
            f->def->measures ? "_n" : "", iv->lo > 0 ? iv->lo : 0.0, iv->hi, iv->need);
}

/* Every all-entrants grand total (dc_set_is_public) is the header's entrants, which a receiver
 * reads there whatever the table says: known, not audited. */
static void header_totals(ta_file *t, const dc_set *set)
{
    for (size_t c = 0; t->has_entrants && c < dc_set_ncells(set); c++) {
        rpt_family *f = &t->fams[t->home[c]];
        if (!dc_set_is_public(set, c))
            continue;
        t->naudited -= t->audited[c];
        t->audited[c] = 0;
        f->suppressed[t->homecell[c]] = 0;
        f->value[t->homecell[c]] = t->entrants;
    }
}

/* The held families as one set, as the run builds it; unknown what the file does not give. */
static tdi_status audit_set(ta_file *t, unsigned long protection)
{
    rpt_family *held = calloc(rpt_nfamilies, sizeof *held);
    dc_grid **grids = calloc(rpt_nfamilies, sizeof *grids);
    dc_set *set = NULL;
    size_t n = 0, ncells;
    tdi_status st = TDI_ERR_INTERNAL;

    for (size_t f = 0; held && grids && f < rpt_nfamilies; f++)
        if (t->held[f]) {
            held[n] = t->fams[f];
            grids[n] = &held[n].grid;
            n++;
        }
    set = grids && held ? dc_set_new(grids, n) : NULL;
    if (!set)
        goto done;
    ncells = dc_set_ncells(set);
    t->home = malloc((ncells ? ncells : 1) * sizeof *t->home);
    t->homecell = malloc((ncells ? ncells : 1) * sizeof *t->homecell);
    t->audited = calloc(ncells ? ncells : 1, 1);
    if (!t->home || !t->homecell || !t->audited)
        goto done;
    for (size_t f = 0, k = 0; f < rpt_nfamilies; f++) {
        size_t nc = t->fams[f].def->nvariants * t->fams[f].rows.n * t->fams[f].cols.n;
        for (size_t i = 0; t->held[f] && i < nc; i++) {
            size_t c = dc_set_cell(set, k, i);
            if (!t->given[f][i])
                t->fams[f].suppressed[i] = 1; /* not given: unknown */
            t->audited[c] = t->given[f][i] && t->fams[f].suppressed[i];
            t->naudited += t->audited[c];
            t->home[c] = f;
            t->homecell[c] = i;
        }
        k += t->held[f];
    }
    st = rpt_link_tables(held, n, set);
    if (st == TDI_OK) {
        header_totals(t, set);
        st = dc_audit(set, protection ? protection : t->threshold, 0, NULL, on_fail, t, NULL);
    }
done:
    if (st == TDI_ERR_INTERNAL)
        tdi_error("%s: out of memory or the solver failed", t->path);
    dc_set_free(set);
    free(grids);
    free(held);
    return st;
}

static tdi_status audit_file(const char *path, const char *schema_dir, unsigned long protection,
                             FILE *out, size_t *nfail)
{
    ta_file t = {.path = path, .out = out};
    rpt_tables_visit v = {.ctx = &t, .head = on_head, .table = on_table, .cell = on_cell};
    size_t ninit = 0;
    tdi_status st = report_validate_file(path, schema_dir);

    if (st != TDI_OK) {
        if (st != TDI_ERR_OUTPUT)
            tdi_error("%s: not a valid tables file", path);
        return st == TDI_ERR_OUTPUT ? st : TDI_ERR_INVALID;
    }
    t.fams = calloc(rpt_nfamilies, sizeof *t.fams);
    t.given = calloc(rpt_nfamilies, sizeof *t.given);
    t.held = calloc(rpt_nfamilies, 1);
    st = t.fams && t.given && t.held ? TDI_OK : TDI_ERR_INTERNAL;
    for (; st == TDI_OK && ninit < rpt_nfamilies; ninit++) {
        st = rpt_family_init(&t.fams[ninit], &rpt_families[ninit]);
        size_t nc = rpt_families[ninit].nvariants * t.fams[ninit].rows.n * t.fams[ninit].cols.n;
        if (st == TDI_OK && !(t.given[ninit] = calloc(nc ? nc : 1, 1)))
            st = TDI_ERR_INTERNAL;
    }
    if (st == TDI_OK)
        st = rpt_tables_read(path, &v);
    if (st == TDI_OK)
        st = audit_set(&t, protection);
    if (st == TDI_OK) {
        fprintf(out, "%s: %zu suppressed cells audited, %zu fail\n", path, t.naudited, t.nfail);
        *nfail += t.nfail;
    }
    for (size_t f = 0; f < ninit; f++) {
        rpt_family_free(&t.fams[f]);
        free(t.given[f]);
    }
    free(t.fams);
    free(t.given);
    free(t.held);
    free(t.home);
    free(t.homecell);
    free(t.audited);
    return st;
}

tdi_status report_audit_tables(char *const *paths, int npaths, const char *schema_dir,
                               unsigned long protection, FILE *out, size_t *nfail)
{
    tdi_status worst = TDI_OK;
    size_t failing = 0;

    for (int i = 0; i < npaths; i++) {
        tdi_status st = audit_file(paths[i], schema_dir, protection, out, &failing);
        if (st != TDI_OK && (worst == TDI_OK || worst == TDI_ERR_INVALID))
            worst = st;
    }
    if (nfail)
        *nfail = failing;
    return worst == TDI_OK && failing > 0 ? TDI_ERR_INVALID : worst;
}
