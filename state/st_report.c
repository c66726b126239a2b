/*
 * st_report: the read-only queries behind the run report (`tdi report`, report-RUNID.html):
 * one run of the ledger with its sources, their previous run and its files, the last runs, the
 * episodes held per body (or of one source) and year, the completeness of each source's records
 * (against its previous run), each body's disclosure figures, and the trend cells of the bodies'
 * published tables (per body and year those of the latest run up to this one). No statement here
 * writes.
 */
#include "st_int.h"

#include "../common/tdi_codes.h"
#include "../common/tdi_log.h"

#include <stdlib.h>
#include <string.h>

#define COPY_FIELD(dst, res, i, j) snprintf((dst), sizeof(dst), "%s", PQgetvalue((res), (i), (j)))

/* Columns of a run row, in this order, for read_run(). */
#define RUN_COLUMNS                                                                                \
    "run_id, year, mode, status, coalesce(exit_code, -1), "                                        \
    "coalesce(extract(epoch FROM ended_at - started_at), -1), "                                    \
    "to_char(started_at AT TIME ZONE 'UTC', " SHOW_FMT ")"

static void read_run(PGresult *res, int i, tdi_page_run *r)
{
    COPY_FIELD(r->run_id, res, i, 0);
    r->year = atoi(PQgetvalue(res, i, 1));
    COPY_FIELD(r->mode, res, i, 2);
    COPY_FIELD(r->status, res, i, 3);
    r->exit_code = atoi(PQgetvalue(res, i, 4));
    r->seconds = strtod(PQgetvalue(res, i, 5), NULL);
    COPY_FIELD(r->started, res, i, 6);
}

static tdi_status load_run(state_db *st, const char *run_id, tdi_page *out, char *run_no,
                           size_t len)
{
    const char *params[1] = {run_id};
    PGresult *res = NULL;
    tdi_status s;

    s = st_query(st, "reading the ledger",
                 run_id ? "SELECT " RUN_COLUMNS ", run_no FROM tdi.run WHERE run_id = $1"
                        : "SELECT " RUN_COLUMNS ", run_no FROM tdi.run ORDER BY run_no DESC "
                          "LIMIT 1",
                 run_id ? 1 : 0, run_id ? params : NULL, PGRES_TUPLES_OK, &res);
    if (s == TDI_OK && PQntuples(res) == 0) {
        tdi_error("state database: no run %s in the ledger", run_id ? run_id : "at all");
        s = TDI_ERR_USAGE;
    }
    if (s == TDI_OK) {
        read_run(res, 0, &out->run);
        snprintf(run_no, len, "%s", PQgetvalue(res, 0, 7));
    }
    PQclear(res);
    return s;
}

static tdi_status load_sources(state_db *st, const char *run_no, const char *source, tdi_page *out)
{
    const char *params[2] = {run_no, source};
    PGresult *res = NULL;
    tdi_status s;
    int n;

    s = st_query(st, "reading the ledger",
                 "SELECT s.source, s.status, s.mode, s.attempts, s.extracted, s.written, "
                 "s.quarantined, p.source IS NOT NULL, coalesce(p.extracted, 0), "
                 "coalesce(p.written, 0), coalesce(p.quarantined, 0) "
                 "FROM tdi.run_source s LEFT JOIN LATERAL (SELECT * FROM tdi.run_source q "
                 "WHERE q.source = s.source AND q.run_no < s.run_no ORDER BY q.run_no DESC "
                 "LIMIT 1) p ON true "
                 "WHERE s.run_no = $1 AND ($2::text IS NULL OR s.source = $2) ORDER BY s.source",
                 2, params, PGRES_TUPLES_OK, &res);
    n = s == TDI_OK ? PQntuples(res) : 0;
    if (n > 0 && !(out->sources = calloc((size_t)n, sizeof *out->sources)))
        s = TDI_ERR_INTERNAL;
    for (int i = 0; s == TDI_OK && i < n; i++) {
        tdi_page_source *r = &out->sources[out->nsources++];
        COPY_FIELD(r->name, res, i, 0);
        COPY_FIELD(r->status, res, i, 1);
        COPY_FIELD(r->mode, res, i, 2);
        r->attempts = atoi(PQgetvalue(res, i, 3));
        r->extracted = strtoul(PQgetvalue(res, i, 4), NULL, 10);
        r->written = strtoul(PQgetvalue(res, i, 5), NULL, 10);
        r->quarantined = strtoul(PQgetvalue(res, i, 6), NULL, 10);
        r->has_prev = PQgetvalue(res, i, 7)[0] == 't';
        r->prev_extracted = strtoul(PQgetvalue(res, i, 8), NULL, 10);
        r->prev_written = strtoul(PQgetvalue(res, i, 9), NULL, 10);
        r->prev_quarantined = strtoul(PQgetvalue(res, i, 10), NULL, 10);
    }
    PQclear(res);
    return s;
}

/* The run's files; with a source only its quarantine file. */
static tdi_status load_files(state_db *st, const char *run_no, const char *source, tdi_page *out)
{
    const char *params[2] = {run_no, source};
    PGresult *res = NULL;
    tdi_status s;
    int n;

    s = st_query(st, "reading the ledger",
                 "SELECT kind, owner, coalesce(sequence, -1), records, replaces, deletes, path, "
                 "sha256 FROM tdi.run_file WHERE run_no = $1 AND ($2::text IS NULL OR "
                 "(kind = 'quarantine' AND owner = $2)) ORDER BY kind = 'quarantine', owner, kind",
                 2, params, PGRES_TUPLES_OK, &res);
    n = s == TDI_OK ? PQntuples(res) : 0;
    if (n > 0 && !(out->files = calloc((size_t)n, sizeof *out->files)))
        s = TDI_ERR_INTERNAL;
    for (int i = 0; s == TDI_OK && i < n; i++) {
        tdi_page_file *f = &out->files[out->nfiles++];
        COPY_FIELD(f->kind, res, i, 0);
        COPY_FIELD(f->owner, res, i, 1);
        f->sequence = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        f->records = strtoul(PQgetvalue(res, i, 3), NULL, 10);
        f->replaces = strtoul(PQgetvalue(res, i, 4), NULL, 10);
        f->deletes = strtoul(PQgetvalue(res, i, 5), NULL, 10);
        COPY_FIELD(f->path, res, i, 6);
        COPY_FIELD(f->sha256, res, i, 7);
    }
    PQclear(res);
    return s;
}

/* The last STATE_REPORT_RUNS runs up to this one, oldest first. */
static tdi_status load_history(state_db *st, const char *run_no, tdi_page *out)
{
    char limit[16];
    const char *params[2] = {run_no, limit};
    PGresult *res = NULL;
    tdi_status s;
    int n;

    snprintf(limit, sizeof limit, "%d", STATE_REPORT_RUNS);
    s = st_query(st, "reading the ledger",
                 "SELECT * FROM (SELECT " RUN_COLUMNS ", run_no FROM tdi.run WHERE run_no <= $1 "
                 "ORDER BY run_no DESC LIMIT $2) r ORDER BY run_no",
                 2, params, PGRES_TUPLES_OK, &res);
    n = s == TDI_OK ? PQntuples(res) : 0;
    if (n > 0 && !(out->history = calloc((size_t)n, sizeof *out->history)))
        s = TDI_ERR_INTERNAL;
    for (int i = 0; s == TDI_OK && i < n; i++)
        read_run(res, i, &out->history[out->nhistory++]);
    PQclear(res);
    return s;
}

/* Episodes and entrants held per body and year, or of one source (each episode once). */
static tdi_status load_years(state_db *st, const char *source, tdi_page *out)
{
    const char *params[1] = {source};
    PGresult *res = NULL;
    tdi_status s;
    int n;

    if (source)
        s = st_query(st, "reading what the bodies hold",
                     "SELECT $1::text, year, count(DISTINCT eid), count(DISTINCT eid) FILTER "
                     "(WHERE entrant) FROM tdi.sent WHERE source = $1 GROUP BY year ORDER BY year",
                     1, params, PGRES_TUPLES_OK, &res);
    else
        /* Kept by each commit (st_commit.c): counting tdi.sent would read every year held. */
        s = st_query(st, "reading what the bodies hold",
                     "SELECT body, year, episodes, entrants FROM tdi.body_sequence "
                     "WHERE episodes > 0 ORDER BY body, year",
                     0, NULL, PGRES_TUPLES_OK, &res);
    n = s == TDI_OK ? PQntuples(res) : 0;
    if (n > 0 && !(out->years = calloc((size_t)n, sizeof *out->years)))
        s = TDI_ERR_INTERNAL;
    for (int i = 0; s == TDI_OK && i < n; i++) {
        tdi_page_year *y = &out->years[out->nyears++];
        COPY_FIELD(y->owner, res, i, 0);
        y->year = atoi(PQgetvalue(res, i, 1));
        y->episodes = strtoul(PQgetvalue(res, i, 2), NULL, 10);
        y->entrants = strtoul(PQgetvalue(res, i, 3), NULL, 10);
    }
    PQclear(res);
    return s;
}

/* Per source and item (in the items' order), the records written that it applies to and those
 * not known, with the source's previous run that recorded them. */
static tdi_status load_items(state_db *st, const char *run_no, const char *source, tdi_page *out)
{
    const char *names[TDI_ITEM_COUNT];
    char *order;
    const char *params[3] = {run_no, source, NULL};
    PGresult *res = NULL;
    tdi_status s;
    int n;

    for (size_t i = 0; i < TDI_ITEM_COUNT; i++)
        names[i] = tdi_item_get((tdi_item)i)->name;
    if (!(params[2] = order = st_array_literal(names, TDI_ITEM_COUNT)))
        return TDI_ERR_INTERNAL;
    s = st_query(st, "reading the completeness",
                 "SELECT c.source, c.item, c.applicable, c.not_known, p.applicable IS NOT NULL, "
                 "coalesce(p.applicable, 0), coalesce(p.not_known, 0) "
                 "FROM tdi.run_completeness c LEFT JOIN LATERAL (SELECT q.applicable, q.not_known "
                 "FROM tdi.run_completeness q WHERE q.source = c.source AND q.item = c.item AND "
                 "q.run_no < c.run_no ORDER BY q.run_no DESC LIMIT 1) p ON true "
                 "WHERE c.run_no = $1 AND ($2::text IS NULL OR c.source = $2) "
                 "ORDER BY c.source, array_position($3::text[], c.item), c.item",
                 3, params, PGRES_TUPLES_OK, &res);
    free(order);
    n = s == TDI_OK ? PQntuples(res) : 0;
    if (n > 0 && !(out->items = calloc((size_t)n, sizeof *out->items)))
        s = TDI_ERR_INTERNAL;
    for (int i = 0; s == TDI_OK && i < n; i++) {
        tdi_page_item *r = &out->items[out->nitems++];
        COPY_FIELD(r->source, res, i, 0);
        COPY_FIELD(r->item, res, i, 1);
        r->applicable = strtoul(PQgetvalue(res, i, 2), NULL, 10);
        r->not_known = strtoul(PQgetvalue(res, i, 3), NULL, 10);
        r->has_prev = PQgetvalue(res, i, 4)[0] == 't';
        r->prev_applicable = strtoul(PQgetvalue(res, i, 5), NULL, 10);
        r->prev_not_known = strtoul(PQgetvalue(res, i, 6), NULL, 10);
    }
    PQclear(res);
    return s;
}

/* Each body's disclosure figures of the run. */
static tdi_status load_bodies(state_db *st, const char *run_no, tdi_page *out)
{
    const char *params[1] = {run_no};
    PGresult *res = NULL;
    tdi_status s;
    int n;

    s = st_query(st, "reading the disclosure figures",
                 "SELECT body, k_min, k, records, met, blanked, coalesce(suppressed, -1), "
                 "coalesce(audit_added, -1) FROM tdi.run_body WHERE run_no = $1 ORDER BY body",
                 1, params, PGRES_TUPLES_OK, &res);
    n = s == TDI_OK ? PQntuples(res) : 0;
    if (n > 0 && !(out->bodies = calloc((size_t)n, sizeof *out->bodies)))
        s = TDI_ERR_INTERNAL;
    for (int i = 0; s == TDI_OK && i < n; i++) {
        tdi_page_body *b = &out->bodies[out->nbodies++];
        COPY_FIELD(b->name, res, i, 0);
        b->k_min = atoi(PQgetvalue(res, i, 1));
        b->k = strtoul(PQgetvalue(res, i, 2), NULL, 10);
        b->records = strtoul(PQgetvalue(res, i, 3), NULL, 10);
        b->met = PQgetvalue(res, i, 4)[0] == 't';
        COPY_FIELD(b->blanked, res, i, 5);
        b->suppressed = strtoll(PQgetvalue(res, i, 6), NULL, 10);
        b->audit_added = strtoll(PQgetvalue(res, i, 7), NULL, 10);
    }
    PQclear(res);
    return s;
}

/* The trend cells: per body and year those of the latest run up to this one that published
 * the body's tables of that year. A suppressed cell comes without a value. */
static tdi_status load_cells(state_db *st, const char *run_no, tdi_page *out)
{
    const char *params[1] = {run_no};
    PGresult *res = NULL;
    tdi_status s;
    int n;

    s = st_query(st, "reading the trends",
                 "SELECT c.body, c.year, c.tbl, c.row_code, c.col_code, coalesce(c.value, 0), "
                 "c.suppressed FROM tdi.run_cell c WHERE c.run_no = (SELECT max(m.run_no) FROM "
                 "tdi.run_cell m WHERE m.body = c.body AND m.year = c.year AND m.run_no <= $1) "
                 "ORDER BY c.body, c.tbl, c.year, c.row_code, c.col_code",
                 1, params, PGRES_TUPLES_OK, &res);
    n = s == TDI_OK ? PQntuples(res) : 0;
    if (n > 0 && !(out->cells = calloc((size_t)n, sizeof *out->cells)))
        s = TDI_ERR_INTERNAL;
    for (int i = 0; s == TDI_OK && i < n; i++) {
        tdi_page_cell *c = &out->cells[out->ncells++];
        COPY_FIELD(c->body, res, i, 0);
        c->year = atoi(PQgetvalue(res, i, 1));
        COPY_FIELD(c->table, res, i, 2);
        COPY_FIELD(c->row, res, i, 3);
        COPY_FIELD(c->col, res, i, 4);
        c->suppressed = PQgetvalue(res, i, 6)[0] == 't';
        c->value = c->suppressed ? 0 : strtoul(PQgetvalue(res, i, 5), NULL, 10);
    }
    PQclear(res);
    return s;
}

tdi_status state_report_load(state_db *st, const char *run_id, const char *source, tdi_page *out)
{
    char run_no[32];
    tdi_status s;

    memset(out, 0, sizeof *out);
    s = st_ready(st);
    if (s == TDI_OK)
        s = load_run(st, run_id, out, run_no, sizeof run_no);
    if (s == TDI_OK)
        s = load_sources(st, run_no, source, out);
    if (s == TDI_OK)
        s = load_files(st, run_no, source, out);
    if (s == TDI_OK)
        s = load_history(st, run_no, out);
    if (s == TDI_OK)
        s = load_years(st, source, out);
    if (s == TDI_OK)
        s = load_items(st, run_no, source, out);
    /* A body's figures count every clinic feeding it: none on one clinic's page. */
    if (s == TDI_OK && !source)
        s = load_bodies(st, run_no, out);
    if (s == TDI_OK && !source)
        s = load_cells(st, run_no, out);
    if (s == TDI_ERR_INTERNAL)
        tdi_error("state database: out of memory reading the report");
    if (s != TDI_OK)
        tdi_page_free(out);
    return s;
}
