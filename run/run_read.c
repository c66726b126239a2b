/*
 * run_read: reading the sources. Plans each source (full, or incremental from its watermark less
 * the overlap, by its fingerprint), then streams it extract -> transform -> spool, one spool
 * entry per record and body that takes it, with that body's pseudonyms; quarantine rows, the
 * rows seen and the key scan of an incremental read go along. A transient failure is retried
 * with backoff; nothing of a failed attempt stays.
 */
#include "run_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"
#include "../common/tdi_version.h"
#include "../extract/extract.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ planning a source */

/* What shapes a source's records besides its rows: when any of it changes, records the rows
 * did not change may change too, so the source is read in full once. */
static tdi_status fingerprint(run_ctx *rc, run_source *s)
{
    const tdi_source_config *src = s->cfg;
    tdi_status st;

    st = transform_begin_source(rc->tx, src);
    if (st == TDI_OK)
        st = tdi_hash_begin(rc->hash);
    if (st == TDI_OK) {
        const char *fields[] = {"tdi-source-fingerprint-3",
                                TDI_VERSION,
                                src->query,
                                src->region,
                                src->incremental ? src->incremental : "",
                                tdi_nid_scheme_names[src->national_id]};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0] && st == TDI_OK; i++)
            st = tdi_hash_field(rc->hash, fields[i]);
    }
    /* Each body's routing and key id (a new master key changes every pseudonym). */
    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++) {
        const tdi_body_config *body = &rc->cfg->bodies[b];
        st = tdi_hash_field(rc->hash, body->name);
        if (st == TDI_OK)
            st = tdi_hash_field(rc->hash, transform_body_key_id(rc->tx, b));
        if (st == TDI_OK)
            st = tdi_hash_field(rc->hash, body->quarter ? "quarter" : "year");
        for (size_t i = 0; i < body->nregions && st == TDI_OK; i++)
            st = tdi_hash_field(rc->hash, body->regions[i]);
        if (st == TDI_OK)
            st = tdi_hash_field(rc->hash, "");
        for (size_t i = 0; i < body->ncentres && st == TDI_OK; i++)
            st = tdi_hash_field(rc->hash, body->centres[i]);
        if (st == TDI_OK)
            st = tdi_hash_field(rc->hash, "");
    }
    if (st == TDI_OK)
        st = tdi_hash_file_into(rc->hash, src->crosswalk, TDI_ERR_CROSSWALK);
    if (st == TDI_OK && src->region_map)
        st = tdi_hash_file_into(rc->hash, src->region_map, TDI_ERR_CONFIG);
    if (st == TDI_OK)
        st = tdi_hash_end(rc->hash, s->fingerprint, 64);
    return st;
}

/* Full or incremental, and from when. A crosswalk that cannot be read fails the source. */
tdi_status run_plan_source(run_ctx *rc, run_source *s)
{
    tdi_status st;

    s->full_read = 1;
    s->since[0] = '\0';
    tdi_log_clear_last_error();
    st = fingerprint(rc, s);
    if (st == TDI_OK)
        st = state_source_mark(rc->state, s->cfg->name, rc->year, &s->mark);
    if (st != TDI_OK)
        return st;
    if (!s->cfg->incremental || rc->full || !s->mark.known || !s->mark.watermark[0])
        return TDI_OK;
    if (strcmp(s->mark.fingerprint, s->fingerprint) != 0) {
        tdi_info("source %s: its crosswalk, query, routing or key changed since the last run: "
                 "reading it in full",
                 s->cfg->name);
        return TDI_OK;
    }
    st = state_time_minus(rc->state, s->mark.watermark, rc->cfg->incremental_overlap, s->since,
                          sizeof s->since);
    if (st == TDI_OK)
        s->full_read = 0;
    return st;
}

/* ------------------------------------------------------------------ reading a source */

/* Hands one accepted record to the spool, once for each body that takes it, with that body's
 * pseudonyms; none takes it: R007. */
static tdi_status spool_record(run_ctx *rc, size_t si, const tdi_record *rec, const char *eid,
                               int *taken)
{
    spool_entry e;
    char pkey[TDI_PSEUDONYM_MAX + 1];
    tdi_status st = transform_person_state_key(rc->tx, pkey, sizeof pkey);

    *taken = 0;
    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++) {
        /* Routed by the centre's region (the source's), not the person's region of residence. */
        if (!tdi_config_body_takes(&rc->cfg->bodies[b], rc->cfg->sources[si].region, rec->centre))
            continue;
        memset(&e, 0, sizeof e);
        e.src = (uint32_t)si;
        e.body = (uint32_t)b;
        e.rec = *rec;
        if (!rc->cfg->bodies[b].quarter)
            e.rec.quarter = 0; /* dates leave as the year only */
        snprintf(e.eid, sizeof e.eid, "%s", eid);
        memcpy(e.pkey, pkey, sizeof e.pkey);
        st = transform_pseudonymise(rc->tx, b, &e.rec);
        if (st == TDI_OK)
            st = report_record_hash(rc->hash, &e.rec, e.hash);
        e.rec.source = NULL;
        if (st == TDI_OK)
            st = run_spool_append(rc->spool, &e);
        rc->src[si].routed[b] = 1;
        (*taken)++;
    }
    return st;
}

/* A written record's items into the source's completeness counts: an item that does not apply
 * to the episode counts nowhere. */
static void count_items(run_source *s, const tdi_record *rec)
{
    for (size_t i = 0; i < TDI_ITEM_COUNT; i++) {
        if (rec->code[i] == TDI_CODE_NOT_APPLICABLE)
            continue;
        s->applicable[i]++;
        s->not_known[i] += rec->code[i] == tdi_item_get((tdi_item)i)->not_known;
    }
}

/* rows seen: the state database learns of every row an incremental read read (when seen). */
static tdi_status read_rows(run_ctx *rc, size_t si, extract_source *ex, int seen)
{
    run_source *s = &rc->src[si];
    char key[TDI_EPISODE_KEY_MAX + 32], eid[TDI_EPISODE_KEY_MAX + 1];
    tdi_raw_row row;
    tdi_record rec;
    tdi_rejection rej;
    tdi_status st = TDI_OK;
    int eof = 0, accepted, taken, has_eid;

    while (st == TDI_OK) {
        if (tdi_stop_requested())
            return TDI_ERR_INTERRUPTED;
        st = extract_next(ex, &row, &eof);
        if (st != TDI_OK || eof)
            break;
        if ((s->extracted + 1) % PROGRESS_EVERY == 0)
            tdi_progress("source %s: %lu rows", s->cfg->name, s->extracted + 1);
        st = transform_row(rc->tx, &row, &rec, &rej, &accepted);
        if (st == TDI_OK)
            st =
                transform_state_key(rc->tx, row.col[TDI_COL_EPISODE_ID], eid, sizeof eid, &has_eid);
        if (st == TDI_OK && accepted) {
            st = spool_record(rc, si, &rec, eid, &taken);
            if (st == TDI_OK && !taken) {
                /* The centre is the value: centre codes are not personal. */
                tdi_rule_raise(&s->hits, TDI_R007, NULL, rec.centre, &rej);
                accepted = 0;
            }
        }
        if (st == TDI_OK && seen && has_eid)
            st = state_put_key(rc->state, (int)si, eid);
        if (st != TDI_OK)
            break;
        s->extracted++;
        if (accepted) {
            s->written++;
            count_items(s, &rec);
            continue;
        }
        transform_rejection_key(rc->tx, &row, key, sizeof key);
        st = report_quarantine_add(s->quarantine, key, &rej);
        s->quarantined++;
    }
    tdi_progress_end();
    return st;
}

/* The key scan of an incremental read, into the state database. On failure the keys of this
 * attempt are dropped there. */
static tdi_status read_keys(run_ctx *rc, size_t si, extract_source *ex)
{
    char key[TDI_EPISODE_KEY_MAX + 1];
    const char *id;
    tdi_status st, cst;
    int eof = 0, has_key;

    st = extract_keys_begin(ex);
    if (st != TDI_OK)
        return st;
    st = state_copy_begin(rc->state, STATE_COPY_PRESENT);
    while (st == TDI_OK) {
        if (tdi_stop_requested()) {
            st = TDI_ERR_INTERRUPTED;
            break;
        }
        st = extract_key_next(ex, &id, &eof);
        if (st != TDI_OK || eof)
            break;
        st = transform_state_key(rc->tx, id, key, sizeof key, &has_key);
        if (st == TDI_OK && has_key)
            st = state_put_key(rc->state, (int)si, key);
    }
    cst = state_copy_end(rc->state, st != TDI_OK);
    return st != TDI_OK ? st : cst;
}

/* One attempt at a source. What it leaves on failure (spool entries, quarantine rows, keys) the
 * caller drops. */
static tdi_status read_once(run_ctx *rc, size_t si)
{
    run_source *s = &rc->src[si];
    extract_source *ex = NULL;
    tdi_status st, cst;

    s->extracted = s->written = s->quarantined = 0;
    s->max_changed[0] = '\0';
    memset(s->routed, 0, rc->cfg->nbodies);
    memset(&s->hits, 0, sizeof s->hits);
    memset(s->applicable, 0, sizeof s->applicable);
    memset(s->not_known, 0, sizeof s->not_known);
    st = transform_begin_source(rc->tx, s->cfg);
    if (st == TDI_OK)
        st = report_quarantine_open(&rc->meta, s->cfg->name, &s->quarantine);
    if (st == TDI_OK)
        st = extract_open(s->cfg, rc->year, s->full_read ? NULL : s->since, &ex);
    /* An incremental read tells the state database every row it read: a row read now that a
     * body holds and does not get any more is deleted there. */
    if (st == TDI_OK && !s->full_read) {
        tdi_status cst2;
        st = state_copy_begin(rc->state, STATE_COPY_SEEN);
        if (st == TDI_OK)
            st = read_rows(rc, si, ex, 1);
        cst2 = state_copy_end(rc->state, st != TDI_OK);
        if (st == TDI_OK)
            st = cst2;
    } else if (st == TDI_OK) {
        st = read_rows(rc, si, ex, 0);
    }
    if (st == TDI_OK && s->cfg->incremental)
        snprintf(s->max_changed, sizeof s->max_changed, "%s", extract_max_changed(ex));
    if (st == TDI_OK && !s->full_read)
        st = read_keys(rc, si, ex);
    if (ex) {
        cst = extract_close(ex);
        if (st == TDI_OK)
            st = cst;
    }
    return st;
}

/* Reads source si, retrying a transient failure with backoff. Returns only what stops the run
 * as a whole; a source failure is left in s->status. */
tdi_status run_read_source(run_ctx *rc, size_t si)
{
    run_source *s = &rc->src[si];
    long delay = rc->cfg->retry_delay_ms;
    uint64_t mark = run_spool_count(rc->spool);
    tdi_status st = TDI_OK;

    for (s->attempts = 1;; s->attempts++) {
        int transient;

        tdi_log_clear_last_error();
        st = read_once(rc, si);
        if (st == TDI_OK)
            break;
        transient = st == TDI_ERR_SOURCE && extract_failure_transient();
        snprintf(s->error, sizeof s->error, "%s", tdi_log_last_error());
        /* Nothing of a failed attempt stays: not its spool entries, not its quarantine file. */
        report_quarantine_abort(s->quarantine);
        s->quarantine = NULL;
        {
            tdi_status tst = run_spool_truncate(rc->spool, mark);
            if (tst != TDI_OK)
                return tst;
        }
        if (st != TDI_ERR_SOURCE && st != TDI_ERR_CROSSWALK)
            return st; /* interrupted, disk full, state database gone: the run stops */
        if (!transient || s->attempts >= rc->cfg->retry_attempts)
            break;
        tdi_warn("source %s: attempt %d of %d failed; trying again in %ld ms", s->cfg->name,
                 s->attempts, rc->cfg->retry_attempts, delay);
        st = tdi_sleep_ms(delay);
        if (st != TDI_OK)
            return st;
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    s->status = st;
    if (st != TDI_OK) {
        s->extracted = s->written = s->quarantined = 0;
        printf("source %s: FAILED after %d attempt%s: %s\n", s->cfg->name, s->attempts,
               s->attempts == 1 ? "" : "s", s->error);
        return TDI_OK;
    }
    if (s->full_read)
        printf("source %s: extracted %lu, written %lu, quarantined %lu\n", s->cfg->name,
               s->extracted, s->written, s->quarantined);
    else
        printf("source %s: extracted %lu, written %lu, quarantined %lu (changed since %s)\n",
               s->cfg->name, s->extracted, s->written, s->quarantined, s->since);
    transform_print_source_report(rc->tx, &s->hits, stdout);
    rc->extracted += s->extracted;
    rc->written += s->written;
    rc->quarantined += s->quarantined;
    return TDI_OK;
}
