/*
 * run_commit: the run's outcome into the state database, after the files (at least once): per
 * body what was published (its file, tables and workbook), its sequence and blanking, its
 * disclosure figures and the trend cells of its tables; per source how it was read, its counts
 * and the completeness of its records, its quarantine file, and its watermark and fingerprint
 * when they move; the ledger row.
 */
#include "run_int.h"

#include "../common/tdi_log.h"

#include <stdio.h>
#include <stdlib.h>

static void keep_message(run_ctx *rc, const char *msg)
{
    if (!rc->message[0] && msg && *msg)
        snprintf(rc->message, sizeof rc->message, "%.*s", (int)sizeof rc->message - 1, msg);
}

static tdi_status ledger_status(const run_ctx *rc, tdi_status st)
{
    for (size_t si = 0; rc->src && si < rc->cfg->nsources; si++)
        if (run_source_failure(rc->src[si].status)) /* a stopped source has the run's status */
            st = run_worse(st, rc->src[si].status);
    for (size_t b = 0; rc->body && b < rc->cfg->nbodies; b++)
        st = run_worse(st, rc->body[b].disclosure);
    return st;
}

/* The message of the ledger row: the first failure. */
static void ledger_message(run_ctx *rc, tdi_status st)
{
    for (size_t si = 0; rc->src && si < rc->cfg->nsources; si++)
        if (run_source_failure(rc->src[si].status)) {
            char msg[ERROR_MAX + 64];
            snprintf(msg, sizeof msg, "source %s failed", rc->src[si].cfg->name);
            keep_message(rc, msg);
        }
    for (size_t b = 0; rc->body && b < rc->cfg->nbodies; b++)
        if (rc->body[b].disclosure != TDI_OK)
            keep_message(rc, rc->body[b].why);
    if (st != TDI_OK)
        keep_message(rc, tdi_log_last_error());
}

/* What the run report shows of body b: its disclosure figures and its tables' trend cells. */
static tdi_status commit_report(run_ctx *rc, size_t b)
{
    run_body *rb = &rc->body[b];
    state_cell *cells = rb->ncells ? calloc(rb->ncells, sizeof *cells) : NULL;
    state_body_out o = {
        .name = rc->cfg->bodies[b].name,
        .k_min = rc->cfg->bodies[b].reid.k_min,
        .k = rb->reid_k,
        .records = rb->reid_records,
        .met = rb->reid_met,
        .blanked = rb->blanked,
        .suppressed = rb->tables_published ? (long long)rb->suppressed : -1,
        .audit_added = rb->tables_published ? (long long)rb->tables.audit_added : -1,
        .cells = cells,
        .ncells = cells ? rb->ncells : 0,
    };
    tdi_status st;

    if (rb->ncells && !cells) {
        tdi_error("out of memory recording body %s", o.name);
        return TDI_ERR_INTERNAL;
    }
    for (size_t i = 0; i < o.ncells; i++)
        cells[i] = (state_cell){rb->cells[i].table, rb->cells[i].row, rb->cells[i].col,
                                rb->cells[i].value, rb->cells[i].suppressed};
    st = state_commit_report(rc->state, rc->year, rc->run_no, &o);
    free(cells);
    return st;
}

/* Body b's files, sequence and blanking, and what the run report shows of it. */
static tdi_status commit_body(run_ctx *rc, size_t b)
{
    run_body *rb = &rc->body[b];
    const char *name = rc->cfg->bodies[b].name;
    state_file_out f = {"submission",     name,           rb->pub.path,
                        rb->pub.sha256,   rb->sequence,   rb->pub.records,
                        rb->pub.replaces, rb->pub.deletes};
    /* what the tables count: the ledger says so */
    state_file_out t = {"tables", name, rb->tables.path, rb->tables.sha256, 0, rb->tables.entrants,
                        0,        0};
    /* the numbers written into the form */
    state_file_out w = {
        "workbook", name, rb->workbook.path, rb->workbook.sha256, 0, rb->workbook.records, 0, 0};
    tdi_status st = TDI_OK;

    if (rb->published || rb->tables_published)
        st =
            state_commit_body(rc->state, rc->year, name, rb->published ? rb->sequence : 0,
                              rb->tables_published, rc->run_no, rb->published ? rb->blanked : NULL);
    if (st == TDI_OK && rb->published)
        st = state_commit_file(rc->state, rc->run_no, &f);
    if (st == TDI_OK && rb->tables_published)
        st = state_commit_file(rc->state, rc->run_no, &t);
    if (st == TDI_OK && rb->workbook_published)
        st = state_commit_file(rc->state, rc->run_no, &w);
    if (st == TDI_OK && rb->checked)
        st = commit_report(rc, b);
    return st;
}

/* What was published and how each source was read, in the commit's transaction. */
static tdi_status commit_files(run_ctx *rc, tdi_status run_st)
{
    tdi_status st = state_commit_begin(rc->state);

    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++)
        st = commit_body(rc, b);
    for (size_t si = 0; si < rc->cfg->nsources && st == TDI_OK; si++) {
        run_source *s = &rc->src[si];
        state_file_out f = {
            "quarantine", s->cfg->name, s->qpub.path, s->qpub.sha256, 0, s->qpub.records, 0, 0};
        state_source_out o = {
            .name = s->cfg->name,
            .mode = s->attempts == 0 ? "not read"
                    : s->full_read   ? "full"
                                     : "incremental",
            .since = s->attempts > 0 && !s->full_read && s->since[0] ? s->since : NULL,
            .attempts = s->attempts,
            .extracted = s->extracted,
            .written = s->written,
            .quarantined = s->quarantined,
            .status = s->attempts == 0 && s->status == TDI_OK ? run_st : s->status,
            .error = s->error,
            .advance = s->advance && run_st != TDI_ERR_INTERRUPTED,
            .watermark = s->max_changed[0] ? s->max_changed : NULL,
            .fingerprint = s->fingerprint,
            .applicable = s->written ? s->applicable : NULL,
            .not_known = s->written ? s->not_known : NULL,
        };
        st = state_commit_source(rc->state, rc->year, rc->run_no, &o);
        if (st == TDI_OK && s->qpublished)
            st = state_commit_file(rc->state, rc->run_no, &f);
    }
    return st;
}

/* The routes this run saw (a source read whose records went to a body: what run_rec holds),
 * the ledger row's end and the COMMIT. */
static tdi_status commit_end(run_ctx *rc, tdi_status st)
{
    state_route *routes = calloc(rc->cfg->nsources * rc->cfg->nbodies + 1, sizeof *routes);
    size_t n = 0;
    tdi_status cst;

    if (!routes)
        return TDI_ERR_INTERNAL;
    for (size_t si = 0; si < rc->cfg->nsources; si++)
        for (size_t b = 0; b < rc->cfg->nbodies && rc->src[si].status == TDI_OK; b++)
            if (rc->src[si].routed[b])
                routes[n++] = (state_route){rc->cfg->bodies[b].name, rc->cfg->sources[si].name};
    cst = state_commit_end(rc->state, rc->year, rc->run_no, routes, n, st, rc->message);
    free(routes);
    return cst;
}

tdi_status run_commit(run_ctx *rc, tdi_status st)
{
    if (rc->delta_ready && st != TDI_ERR_STATE) {
        tdi_status cst = run_decide_advance(rc);

        st = ledger_status(rc, st);
        ledger_message(rc, st);
        if (cst == TDI_OK)
            cst = commit_files(rc, st);
        if (cst == TDI_OK)
            cst = commit_end(rc, st);
        tdi_debug("commit: the state database brought up to date in %.1f s", run_lap());
        if (cst != TDI_OK) {
            state_commit_abort(rc->state);
            st = run_worse(st, TDI_ERR_STATE);
        }
        return st;
    }
    st = ledger_status(rc, st);
    ledger_message(rc, st);
    state_commit_abort(rc->state);
    if (st != TDI_ERR_STATE)
        (void)state_run_end(rc->state, rc->run_no, st, rc->message);
    return st;
}
