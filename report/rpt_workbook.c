/*
 * rpt_workbook: the official TDI workbook filled in from a tables file (report_workbook_*).
 *
 * The layout is schemas/tdi-workbook-2022.map (made by schemas/tdi-workbook-gen.py from the
 * EMCDDA's 2022 form): every label of the form at its cell, the form row of each table's row
 * codes and the form column of its column codes, and the cells where tdi writes what it knows
 * of the methodology. The workbook is written by libxlsxwriter (one sheet, named as the form's),
 * the tables file read by rpt_tables_read (rpt_read.h, shared with the trends and
 * tdi audit-tables) after its schema check. A suppressed cell
 * is the text "c" (confidential, as in Eurostat's flags) on grey; a statistic with no value is
 * left empty. Published atomically (rpt_file) like every other output, with a manifest.
 */
#include "report.h"

#include "rpt_file.h"
#include "rpt_names.h"
#include "rpt_read.h"
#include "rpt_xlsx.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"
#include "../common/tdi_version.h"

#include <xlsxwriter.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WB_MAP        "tdi-workbook-2022.map"
#define WB_MAX_TABLES 96
#define WB_MAX_CODES  40
#define WB_CODE_MAX   24
#define WB_SUPPRESSED "c"
#define WB_SHEET      "2375" /* the form's sheet name */

typedef struct wb_code {
    char code[WB_CODE_MAX];
    int at; /* form row (1-based) or column (0-based) */
} wb_code;

typedef struct wb_table {
    char id[WB_CODE_MAX];
    wb_code rows[WB_MAX_CODES], cols[WB_MAX_CODES];
    size_t nrows, ncols;
} wb_table;

/* What is known of the file being written. */
typedef struct wb_ctx {
    const char *map_path;
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *wrap, *dec2, *grey;
    wb_table *tables; /* owned, WB_MAX_TABLES */
    size_t ntables;
    report_workbook_info *info;
    const wb_table *cur; /* the table being read, NULL when the form has none */
} wb_ctx;

/* Undoes the generator's escapes in place (\\ \n \r \t). */
static void unescape(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            *o++ = *s;
            continue;
        }
        s++;
        *o++ = *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s == 't' ? '\t' : *s;
    }
    *o = '\0';
}

static wb_table *find_table(wb_ctx *c, const char *id, int add)
{
    for (size_t i = 0; i < c->ntables; i++)
        if (strcmp(c->tables[i].id, id) == 0)
            return &c->tables[i];
    if (!add || c->ntables == WB_MAX_TABLES || strlen(id) >= WB_CODE_MAX)
        return NULL;
    snprintf(c->tables[c->ntables].id, WB_CODE_MAX, "%s", id);
    return &c->tables[c->ntables++];
}

static int find_code(const wb_code *v, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].code, code) == 0)
            return v[i].at;
    return -1;
}

/* A cell named in the map ("B24") as row and column; 0 when it is not one. */
static int cell_ref(const char *ref, lxw_row_t *row, lxw_col_t *col)
{
    size_t letters = strspn(ref, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

    if (letters == 0 || letters > 3 || ref[letters] < '1' || ref[letters] > '9' ||
        strspn(ref + letters, "0123456789") != strlen(ref + letters))
        return 0;
    *row = lxw_name_to_row(ref);
    *col = lxw_name_to_col(ref);
    return 1;
}

/* One line of the map: a width, a label (written now), a table's row or column, a meta cell
 * (kept in meta for later: NAME=CELL lines). */
static tdi_status map_line(wb_ctx *c, char *line, char meta[][2][WB_CODE_MAX], size_t *nmeta)
{
    char *f[4] = {NULL};
    char *save = NULL, *p = line;
    lxw_row_t r;
    lxw_col_t col;
    size_t n = 0;

    if (line[0] == '#' || line[0] == '\0')
        return TDI_OK;
    /* The label text is the last field and may hold anything but a tab. */
    while (n < 4 && (f[n] = strtok_r(n < 3 ? p : NULL, n < 3 ? "\t" : "", &save)) != NULL) {
        p = NULL;
        n++;
    }
    if (n >= 2 && strcmp(f[0], "sheet") == 0)
        return TDI_OK;
    if (n == 3 && strcmp(f[0], "width") == 0) {
        col = lxw_name_to_col(f[1]);
        return worksheet_set_column(c->ws, col, col, strtod(f[2], NULL), NULL) == LXW_NO_ERROR
                   ? TDI_OK
                   : TDI_ERR_INVALID;
    }
    if (n == 4 && strcmp(f[0], "label") == 0 && cell_ref(f[1], &r, &col)) {
        unescape(f[3]);
        if (strcmp(f[2], "n") == 0)
            return worksheet_write_number(c->ws, r, col, strtod(f[3], NULL), NULL) == LXW_NO_ERROR
                       ? TDI_OK
                       : TDI_ERR_INVALID;
        return worksheet_write_string(c->ws, r, col, f[3], strchr(f[3], '\n') ? c->wrap : NULL) ==
                       LXW_NO_ERROR
                   ? TDI_OK
                   : TDI_ERR_INVALID;
    }
    if (n == 4 && (strcmp(f[0], "row") == 0 || strcmp(f[0], "col") == 0)) {
        wb_table *t = find_table(c, f[1], 1);
        int is_row = f[0][0] == 'r';
        wb_code *v = t ? (is_row ? t->rows : t->cols) : NULL;
        size_t *nv = t ? (is_row ? &t->nrows : &t->ncols) : NULL;
        long at = is_row ? strtol(f[3], NULL, 10) : (long)lxw_name_to_col(f[3]);

        if (!t || *nv == WB_MAX_CODES || strlen(f[2]) >= WB_CODE_MAX || at < (is_row ? 1 : 0))
            return TDI_ERR_INVALID;
        snprintf(v[*nv].code, WB_CODE_MAX, "%s", f[2]);
        v[(*nv)++].at = (int)at;
        return TDI_OK;
    }
    if (n == 3 && strcmp(f[0], "meta") == 0 && *nmeta < 16 && strlen(f[1]) < WB_CODE_MAX &&
        strlen(f[2]) < WB_CODE_MAX && cell_ref(f[2], &r, &col)) {
        snprintf(meta[*nmeta][0], WB_CODE_MAX, "%s", f[1]);
        snprintf(meta[(*nmeta)++][1], WB_CODE_MAX, "%s", f[2]);
        return TDI_OK;
    }
    return TDI_ERR_INVALID;
}

/* Reads the map: writes the labels and widths, keeps the tables' rows and columns and the meta
 * cells. */
static tdi_status load_map(wb_ctx *c, char meta[][2][WB_CODE_MAX], size_t *nmeta)
{
    FILE *fp = fopen(c->map_path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    tdi_status st = TDI_OK;

    if (!fp) {
        tdi_error("%s: cannot open the workbook layout: %s", c->map_path, strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    while (st == TDI_OK && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = '\0';
        st = map_line(c, line, meta, nmeta);
        if (st != TDI_OK)
            tdi_error("%s:%lu: not a line of the workbook layout", c->map_path, lineno);
    }
    if (st == TDI_OK && ferror(fp)) {
        tdi_error("%s: read error", c->map_path);
        st = TDI_ERR_OUTPUT;
    }
    free(line);
    fclose(fp);
    return st;
}

/* One <cell>, <suppressed> or <empty> of the current table, at its form cell. A code the form
 * has no place for (none today: the generator checks) is skipped. */
static tdi_status put_cell(void *ctx, const char *kind, const char *row, const char *col,
                           const char *val)
{
    wb_ctx *c = ctx;
    const wb_table *t = c->cur;
    int fr = t && row ? find_code(t->rows, t->nrows, row) : -1;
    int fc = t && col ? find_code(t->cols, t->ncols, col) : -1;
    lxw_error e = LXW_NO_ERROR;

    if (fr > 0 && fc >= 0) {
        if (strcmp(kind, "cell") == 0 && val) {
            e = worksheet_write_number(c->ws, (lxw_row_t)(fr - 1), (lxw_col_t)fc, strtod(val, NULL),
                                       strchr(val, '.') ? c->dec2 : NULL);
            c->info->numbers++;
        } else if (strcmp(kind, "suppressed") == 0) {
            e = worksheet_write_string(c->ws, (lxw_row_t)(fr - 1), (lxw_col_t)fc, WB_SUPPRESSED,
                                       c->grey);
            c->info->suppressed++;
        }
    }
    return e == LXW_NO_ERROR ? TDI_OK : TDI_ERR_OUTPUT;
}

static tdi_status put_table(void *ctx, const char *id)
{
    wb_ctx *c = ctx;

    c->cur = find_table(c, id, 0);
    return TDI_OK;
}

/* The root's attributes: what the methodology cells and the file names need. */
static tdi_status read_root(void *ctx, const rpt_tables_head *h)
{
    report_workbook_info *in = ((wb_ctx *)ctx)->info;

    snprintf(in->body, sizeof in->body, "%s", h->body);
    snprintf(in->run_id, sizeof in->run_id, "%s", h->run_id);
    snprintf(in->counting_level, sizeof in->counting_level, "%s", h->counting_level);
    in->year = h->year;
    in->threshold = (int)h->threshold;
    return TDI_OK;
}

static tdi_status read_tables(wb_ctx *c, const char *path)
{
    rpt_tables_visit v = {.ctx = c, .head = read_root, .table = put_table, .cell = put_cell};

    return rpt_tables_read(path, &v);
}

/* The methodological cells tdi knows: collection year (the year after the treatment year),
 * country or region (the body), year of treatment, the level of double-counting control. */
static tdi_status put_meta(wb_ctx *c, char meta[][2][WB_CODE_MAX], size_t nmeta)
{
    const report_workbook_info *in = c->info;
    char notes[512];
    lxw_error e = LXW_NO_ERROR;

    snprintf(notes, sizeof notes,
             "Filled by tdi %s from the tables of body %s, run %s. Cells marked \"" WB_SUPPRESSED
             "\" (grey) are withheld by disclosure control: counts from 1 to %d and the cells "
             "that would reveal them. Totals are as computed.",
             TDI_VERSION, in->body, in->run_id, in->threshold > 0 ? in->threshold - 1 : 0);
    for (size_t i = 0; i < nmeta && e == LXW_NO_ERROR; i++) {
        const char *name = meta[i][0];
        lxw_row_t r = lxw_name_to_row(meta[i][1]);
        lxw_col_t col = lxw_name_to_col(meta[i][1]);

        if (strcmp(name, "collection_year") == 0)
            e = worksheet_write_number(c->ws, r, col, in->year + 1, NULL);
        else if (strcmp(name, "treatment_year") == 0)
            e = worksheet_write_number(c->ws, r, col, in->year, NULL);
        else if (strcmp(name, "country") == 0)
            e = worksheet_write_string(c->ws, r, col, in->body, NULL);
        else if (strcmp(name, "counting_existing") == 0)
            e = worksheet_write_string(c->ws, r, col, "X", NULL);
        else if (strncmp(name, "counting_", 9) == 0 && strcmp(name + 9, in->counting_level) == 0)
            e = worksheet_write_string(c->ws, r, col, "X", NULL);
        else if (strcmp(name, "notes") == 0)
            e = worksheet_write_string(c->ws, r, col, notes, c->wrap);
    }
    return e == LXW_NO_ERROR ? TDI_OK : TDI_ERR_OUTPUT;
}

/* Writes the workbook of the tables file at tables into f's temp file (created here). */
static tdi_status write_workbook(const char *tables, const char *schema_dir, rpt_file *f,
                                 report_workbook_info *info)
{
    char map_path[PATH_MAX], meta[16][2][WB_CODE_MAX];
    lxw_workbook_options opts = {.constant_memory = 0, .tmpdir = f->dir, .use_zip64 = 0};
    wb_ctx c = {.info = info};
    size_t nmeta = 0;
    tdi_status st;
    lxw_error e;

    st = rpt_xlsx_load(f->path);
    if (st != TDI_OK)
        return st;
    snprintf(map_path, sizeof map_path, "%s/%s", schema_dir, WB_MAP);
    c.map_path = map_path;
    c.tables = calloc(WB_MAX_TABLES, sizeof *c.tables);
    /* libxlsxwriter writes the zip to the temp file's path itself (the same inode). */
    c.wb = c.tables ? workbook_new_opt(f->tmp, &opts) : NULL;
    c.ws = c.wb ? workbook_add_worksheet(c.wb, WB_SHEET) : NULL;
    if (!c.ws) {
        tdi_error("%s: cannot start the workbook", f->path);
        st = TDI_ERR_OUTPUT;
        goto done;
    }
    c.wrap = workbook_add_format(c.wb);
    format_set_text_wrap(c.wrap);
    format_set_align(c.wrap, LXW_ALIGN_VERTICAL_TOP);
    c.dec2 = workbook_add_format(c.wb);
    format_set_num_format(c.dec2, "0.00");
    c.grey = workbook_add_format(c.wb);
    format_set_bg_color(c.grey, LXW_COLOR_SILVER);
    format_set_align(c.grey, LXW_ALIGN_CENTER);
    st = load_map(&c, meta, &nmeta);
    if (st == TDI_OK)
        st = read_tables(&c, tables);
    if (st == TDI_OK)
        st = put_meta(&c, meta, nmeta);
done:
    if (c.wb) {
        e = workbook_close(c.wb);
        if (e != LXW_NO_ERROR && st == TDI_OK) {
            tdi_error("%s: cannot write the workbook: %s", f->path, lxw_strerror(e));
            st = TDI_ERR_OUTPUT;
        }
    }
    free(c.tables);
    return st;
}

/* DIR and NAME of path (NAME points into path). */
static tdi_status split_path(const char *path, char dir[PATH_MAX], const char **name)
{
    const char *slash = strrchr(path, '/');

    *name = slash ? slash + 1 : path;
    if (!**name || strlen(path) >= PATH_MAX) {
        tdi_error("%s: not a file name", path);
        return TDI_ERR_USAGE;
    }
    if (!slash)
        snprintf(dir, PATH_MAX, ".");
    else if (slash == path)
        snprintf(dir, PATH_MAX, "/");
    else
        snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
    return TDI_OK;
}

tdi_status report_workbook_write(const char *tables, const char *schema_dir, const char *out_path,
                                 report_workbook_info *info)
{
    rpt_file f = {.fd = -1};
    char dir[PATH_MAX];
    const char *name;
    tdi_status st;

    memset(info, 0, sizeof *info);
    st = report_validate_file(tables, schema_dir);
    if (st == TDI_OK)
        st = split_path(out_path, dir, &name);
    if (st == TDI_OK)
        st = rpt_file_create(&f, dir, name);
    if (st == TDI_OK)
        st = write_workbook(tables, schema_dir, &f, info);
    if (st == TDI_OK)
        st = rpt_file_close(&f);
    if (st == TDI_OK)
        st = tdi_sha256_file(f.tmp, info->sha256);
    if (st == TDI_OK)
        st = rpt_file_publish(&f);
    if (st == TDI_OK)
        rpt_file_keep(&f);
    rpt_file_discard(&f);
    return st;
}

tdi_status report_workbook_publish(const char *tables, const char *schema_dir,
                                   report_published *out)
{
    rpt_file mf = {.fd = -1};
    report_workbook_info info;
    char path[PATH_MAX], dir[PATH_MAX], mname[PATH_MAX], json[1024];
    const char *name, *suffix = ".tables.xml";
    size_t len = strlen(tables), slen = strlen(suffix);
    tdi_status st;
    int n;

    memset(out, 0, sizeof *out);
    if (len <= slen || strcmp(tables + len - slen, suffix) != 0 || len - slen + 20 >= PATH_MAX) {
        tdi_error("%s: not a tables file name", tables);
        return TDI_ERR_INTERNAL;
    }
    snprintf(path, sizeof path, "%.*s.workbook.xlsx", (int)(len - slen), tables);
    st = report_workbook_write(tables, schema_dir, path, &info);
    if (st == TDI_OK)
        st = split_path(path, dir, &name);
    if (st != TDI_OK)
        return st;
    snprintf(mname, sizeof mname, "tdi-%s-%d-%s.workbook.manifest.json", info.body, info.year,
             info.run_id);
    /* body and runId passed rpt_names' patterns: nothing needs JSON escaping. */
    n = snprintf(json, sizeof json,
                 "{\"file\":\"%s\",\"sha256\":\"%s\",\"layout\":\"%s\",\"numbers\":%lu,"
                 "\"suppressedCells\":%lu,\"body\":\"%s\",\"year\":%d,\"runId\":\"%s\"}\n",
                 name, info.sha256, WB_MAP, info.numbers, info.suppressed, info.body, info.year,
                 info.run_id);
    if (n < 0 || (size_t)n >= sizeof json)
        st = TDI_ERR_INTERNAL;
    if (st == TDI_OK)
        st = rpt_file_put(&mf, dir, mname, json, (size_t)n);
    if (st == TDI_OK) {
        rpt_file_keep(&mf);
        snprintf(out->path, sizeof out->path, "%s", path);
        snprintf(out->manifest, sizeof out->manifest, "%s", mf.path);
        out->records = info.numbers;
        memcpy(out->sha256, info.sha256, sizeof out->sha256);
    } else if (remove(path) != 0) { /* no workbook without its manifest */
        tdi_error("%s: cannot remove: %s", path, strerror(errno));
    }
    rpt_file_discard(&mf);
    return st;
}
