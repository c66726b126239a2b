/*
 * run_commit: the run's outcome into the state database, after the files (at least once): per
 * body what was published, its sequence and blanking; per source how it was read, its counts,
 * its quarantine file, and its watermark and fingerprint when they move; the ledger row.
 */
#include "run_int.h"

#include "../common/tdi_log.h"

#include <stdio.h>

static void keep_message(run_ctx *rc, const char *msg)
{
    if (!rc->message[0] && msg && *msg)
        snprintf(rc->message, sizeof rc->message, "%.*s", (int)sizeof rc->message - 1, msg);
}

static tdi_status ledger_status(const run_ctx *rc, tdi_status st)
{
    for (size_t si = 0; rc->src && si < rc->cfg->nsources; si++)
        st = run_worse(st, rc->src[si].status);
    for (size_t b = 0; rc->body && b < rc->cfg->nbodies; b++)
        st = run_worse(st, rc->body[b].disclosure);
    return st;
}

/* The message of the ledger row: the first failure. */
static void ledger_message(run_ctx *rc, tdi_status st)
{
    for (size_t si = 0; rc->src && si < rc->cfg->nsources; si++)
        if (rc->src[si].status != TDI_OK) {
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

/* What was published and how each source was read, in the commit's transaction. */
static tdi_status commit_files(run_ctx *rc, tdi_status run_st)
{
    tdi_status st = state_commit_begin(rc->state);

    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++) {
        run_body *rb = &rc->body[b];
        state_file_out f = {
            "submission", rc->cfg->bodies[b].name, rb->pub.path,     rb->pub.sha256,
            rb->sequence, rb->pub.records,         rb->pub.replaces, rb->pub.deletes};

        state_file_out t = {"tables",
                            rc->cfg->bodies[b].name,
                            rb->tables.path,
                            rb->tables.sha256,
                            0,
                            rb->tables.entrants, /* what the tables count: the ledger says so */
                            0,
                            0};

        if (!rb->published && !rb->tables_published)
            continue;
        st = state_commit_body(rc->state, rc->year, rc->cfg->bodies[b].name,
                               rb->published ? rb->sequence : 0, rb->tables_published, rc->run_no,
                               rb->published ? rb->blanked : NULL);
        if (st == TDI_OK && rb->published)
            st = state_commit_file(rc->state, rc->run_no, &f);
        if (st == TDI_OK && rb->tables_published)
            st = state_commit_file(rc->state, rc->run_no, &t);
    }
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
        };
        st = state_commit_source(rc->state, rc->year, rc->run_no, &o);
        if (st == TDI_OK && s->qpublished)
            st = state_commit_file(rc->state, rc->run_no, &f);
    }
    return st;
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
            cst = state_commit_end(rc->state, rc->year, rc->run_no, st, rc->message);
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
