/*
 * run_delta: what each body gets this run. The spool into the state database, sources whose
 * episode ids repeat failed, which bodies are served (every source feeding them was read), the
 * state database's pass (the counting unit, append/replace/delete per body) with the in-run
 * re-read of the episodes of an incremental source whose counting changed unread (in the snapshot
 * of its read, or else the source in full) and the pass patched or computed again after it, the
 * re-identification check's inputs, and, after publishing, which watermarks move.
 */
#include "run_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"
#include "../common/tdi_text.h"
#include "../disclosure/disclosure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ which bodies are served */

/* 1 when body b may receive records of source s: by region, or through its centres when s has
 * sent it records before (or nothing is known yet of where s's centres go). */
tdi_status run_depends(run_ctx *rc, size_t b, size_t si, int *dep)
{
    const tdi_body_config *body = &rc->cfg->bodies[b];
    const run_source *s = &rc->src[si];
    int seen = 0;
    tdi_status st;

    *dep = tdi_config_body_takes(body, s->cfg->region, NULL) || s->routed[b];
    if (*dep || body->ncentres == 0)
        return TDI_OK;
    if (!s->mark.known) {
        *dep = 1;
        return TDI_OK;
    }
    st = state_route_seen(rc->state, body->name, s->cfg->name, rc->year, &seen);
    *dep = seen;
    return st;
}

tdi_status run_decide_served(run_ctx *rc)
{
    for (size_t b = 0; b < rc->cfg->nbodies; b++) {
        rc->body[b].served = 1;
        for (size_t si = 0; si < rc->cfg->nsources && rc->body[b].served; si++) {
            int dep = 0;
            tdi_status st;

            if (rc->src[si].status == TDI_OK)
                continue;
            st = run_depends(rc, b, si, &dep);
            if (st != TDI_OK)
                return st;
            if (dep) {
                rc->body[b].served = 0;
                snprintf(rc->body[b].why, sizeof rc->body[b].why, "source %s failed",
                         rc->src[si].cfg->name);
            }
        }
    }
    return TDI_OK;
}

/* ------------------------------------------------------------------ the delta */

tdi_status run_entry_restore(run_ctx *rc, spool_entry *e)
{
    if (e->src >= rc->cfg->nsources || e->body >= rc->cfg->nbodies)
        return TDI_ERR_INTERNAL;
    e->rec.source = rc->cfg->sources[e->src].name;
    return TDI_OK;
}

tdi_status run_read_entry(run_ctx *rc, uint64_t pos, spool_entry *e)
{
    tdi_status st = run_spool_read(rc->spool, pos, e);

    return st != TDI_OK ? st : run_entry_restore(rc, e);
}

void run_body_key(size_t b, unsigned char key[RUN_SPOOL_KEY])
{
    memset(key, 0, RUN_SPOOL_KEY);
    for (int i = 0; i < 4; i++)
        key[i] = (unsigned char)(b >> (24 - 8 * i));
}

/* An entry's sort key: its body (big-endian), then its episode key's bytes, as tdi.run_rec
 * keeps them (state_put_record()) and the state database orders a body's episodes
 * (state_actions_save(): by key, then position). A key that is not one (refused by the COPY
 * anyway) sorts first. */
void run_entry_key(const void *entry, unsigned char key[RUN_SPOOL_KEY])
{
    const spool_entry *e = entry;

    run_body_key(e->body, key);
    if (!tdi_hex_key(key + 4, e->rec.episode, "e1:", RUN_SPOOL_KEY - 4))
        memset(key + 4, 0, RUN_SPOOL_KEY - 4);
}

static tdi_status entry_placed(void *arg, uint64_t pos, const void *entry)
{
    return run_load_spooled(arg, pos, entry);
}

/* Runs of 8192 entries (3.5 MB): 122 runs at 1M, a merge's 2 MB of buffers then reads 39 entries
 * at a time from each. */
#define SORT_RUN 8192

tdi_status run_spool_sort(run_ctx *rc)
{
    return run_spool_sorted(rc->spool, SORT_RUN, run_entry_key, entry_placed, rc);
}

/* The treatment status code the source gave (before transform_history()). A continuing client's
 * is as of a start in an earlier year, which R018 cannot weigh: none. */
static const char *status_code(const tdi_record *rec)
{
    const tdi_item_def *def = tdi_item_get(TDI_ITEM_TREATMENT_STATUS);
    uint8_t i = rec->code[TDI_ITEM_TREATMENT_STATUS];

    return i < def->ncodes && !rec->continuing ? def->codes[i].code : "";
}

/* Whether rec can be an entrant, or is a continuing client who counts among the clients in
 * treatment: both in the TDI population (tdi_in_population() of the primary drug). */
static state_drug population(const tdi_record *rec)
{
    if (!tdi_in_population(rec->code[TDI_ITEM_PRIMARY_DRUG]))
        return STATE_DRUG_NONE;
    return rec->continuing ? STATE_DRUG_CONTINUING : STATE_DRUG_START;
}

/* One spool entry at pos into the open COPY of run_rec. */
static tdi_status load_entry(run_ctx *rc, uint64_t pos, const spool_entry *e)
{
    char qi[DC_QI_TUPLE_MAX], sens[DC_QI_TUPLE_MAX];

    dc_qi_tuple(&e->rec, qi);
    dc_qi_sensitive_tuple(&e->rec, sens);
    return state_put_record(rc->state, pos, (int)e->src, (int)e->body, e->eid, e->rec.episode,
                            e->hash, e->pkey, e->rec.centre, e->rec.start_ymd, status_code(&e->rec),
                            population(&e->rec), qi, sens);
}

tdi_status run_load_spooled(run_ctx *rc, uint64_t pos, const spool_entry *e)
{
    tdi_status st;

    if (!rc->loading) {
        /* opened only where everything spooled before is loaded: the positions stay in order */
        if (!rc->load_as_read || rc->loaded != pos)
            return TDI_OK;
        st = state_copy_begin(rc->state, STATE_COPY_RECORDS);
        if (st != TDI_OK)
            return st;
        rc->loading = 1;
    }
    return load_entry(rc, pos, e);
}

void run_load_discard(run_ctx *rc)
{
    if (!rc->loading)
        return;
    rc->loading = 0;
    /* nothing of it reaches run_rec; a lost connection fails the next statement */
    (void)state_copy_end(rc->state, 1);
}

tdi_status run_load_spool(run_ctx *rc)
{
    uint64_t n;
    spool_entry e;
    tdi_status st = run_spool_mark(rc->spool, &n), cst;

    if (st != TDI_OK)
        return st;
    if (rc->loading) { /* every entry went in as it was spooled */
        rc->loading = 0;
        st = state_copy_end(rc->state, 0);
        if (st == TDI_OK)
            rc->loaded = n;
        return st;
    }
    if (rc->loaded == n)
        return TDI_OK;
    st = state_copy_begin(rc->state, STATE_COPY_RECORDS);
    for (uint64_t pos = rc->loaded; pos < n && st == TDI_OK; pos++) {
        if (tdi_stop_requested()) {
            st = TDI_ERR_INTERRUPTED;
            break;
        }
        st = run_read_entry(rc, pos, &e);
        if (st == TDI_OK)
            st = load_entry(rc, pos, &e);
    }
    cst = state_copy_end(rc->state, st != TDI_OK);
    if (st == TDI_OK && cst == TDI_OK)
        rc->loaded = n;
    return st != TDI_OK ? st : cst;
}

/* A source whose episode ids repeat breaks the column contract: its records cannot be told
 * apart, so it fails like a source that could not be read. */
tdi_status run_check_duplicates(run_ctx *rc)
{
    size_t ns = rc->cfg->nsources, len = TDI_EPISODE_KEY_MAX + 1;
    unsigned long *count = calloc(ns + 1, sizeof *count);
    char *example = calloc(ns + 1, len);
    tdi_status st = TDI_ERR_INTERNAL;

    if (count && example)
        st = state_duplicates(rc->state, ns, count, example, len);
    else
        tdi_error("out of memory");
    for (size_t si = 0; si < ns && st == TDI_OK; si++) {
        run_source *s = &rc->src[si];

        if (s->status != TDI_OK || count[si] == 0)
            continue;
        tdi_log_clear_last_error();
        tdi_error("source %s: %lu episode ids appear more than once (one of them has the state "
                  "key %s): episode_id must be unique within a source",
                  s->cfg->name, count[si], example + si * len);
        snprintf(s->error, sizeof s->error, "%s", tdi_log_last_error());
        s->status = TDI_ERR_SOURCE;
        printf("source %s: FAILED: %lu episode ids are not unique\n", s->cfg->name, count[si]);
        rc->extracted -= s->extracted;
        rc->written -= s->written;
        rc->quarantined -= s->quarantined;
        s->extracted = s->written = s->quarantined = 0;
    }
    free(count);
    free(example);
    return st;
}

/* Source si was read incrementally, and an episode of it that the run did not read changed its
 * counting (an earlier start of the person arrived, or the counted one went): its replace needs
 * content the run does not have, and reading it again in the snapshot could not be done
 * (read_unread()), so the source is read again, in full, in this run (a new snapshot). */
static tdi_status reread_source(run_ctx *rc, size_t si)
{
    run_source *s = &rc->src[si];
    tdi_status st;

    printf("source %s: the counting of episodes not read this run changed: reading it in full\n",
           s->cfg->name);
    rc->extracted -= s->extracted;
    rc->written -= s->written;
    rc->quarantined -= s->quarantined;
    report_quarantine_abort(s->quarantine);
    s->quarantine = NULL;
    s->full_read = 1;
    s->since[0] = '\0';
    st = state_forget_source(rc->state, (int)si);
    if (st == TDI_OK)
        st = run_read_source(rc, si); /* its records go to the state database at its merge */
    return st;
}

/* Why source si's episodes whose counting changed unread cannot be read again in its snapshot
 * (NULL: they can). The test build can make the run read in full as before
 * (TDI_TEST_REREAD_FULL), to compare the two. */
static const char *no_refetch(const run_source *s)
{
#ifdef TDI_TEST_HOOKS
    if (getenv("TDI_TEST_REREAD_FULL"))
        return "TDI_TEST_REREAD_FULL is set";
#endif
    if (!extract_in_snapshot(s->snap))
        return "its snapshot is closed";
    if (s->refetches >= REFETCH_ROUNDS)
        return "they were read again already";
    return NULL;
}

/* Source si's episodes whose counting changed unread (the pass's 'f' actions): read again in the
 * snapshot its read left open, which gives their rows as the read would have given them (a
 * replace is the same record with its flags changed), or else the source read in full.
 * Which one happened is printed. */
static tdi_status read_unread(run_ctx *rc, size_t si, int *in_snap)
{
    run_source *s = &rc->src[si];
    const char *why = no_refetch(s);
    char *keys = NULL;
    size_t n = 0;
    int done = 0;
    tdi_status st = TDI_OK;

    if (!why)
        st = state_unread_keys(rc->state, (int)si, REFETCH_MAX, &keys, &n);
    if (st == TDI_OK && !why && !keys)
        why = n > REFETCH_MAX ? "too many" : "none found";
    if (st == TDI_OK && !why) {
        printf("source %s: the counting of %zu episode%s not read this run changed: reading %s "
               "again in the same snapshot\n",
               s->cfg->name, n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
        s->refetches++;
        st = run_read_episodes(rc, si, keys, n, &done);
        if (st == TDI_OK && !done)
            why = "the source failed";
    }
    free(keys);
    *in_snap = done;
    if (st != TDI_OK || done)
        return st;
    tdi_info("source %s: episodes whose counting changed cannot be read again in the same "
             "snapshot (%s)",
             s->cfg->name, why);
    run_snapshot_close(s);
    return reread_source(rc, si);
}

static size_t sources_ok(const run_ctx *rc)
{
    size_t n = 0;

    for (size_t si = 0; si < rc->cfg->nsources; si++)
        n += rc->src[si].status == TDI_OK;
    return n;
}

/* After the episodes whose counting changed unread were read again (their records from spool
 * position from on): the pass patched when each is what the bodies were sent
 * (state_actions_patch(): the pass computed again would rank the same), else *again, and the
 * pass is computed again. why: a reason it cannot be patched (a source read in full or failed),
 * or NULL. --verbose says which. The test build can make the run compute it again as before
 * (TDI_TEST_SECOND_PASS_FULL), to compare the two. */
static tdi_status second_pass(run_ctx *rc, uint64_t from, const char *why, state_counts *counts,
                              unsigned char *reread, unsigned long *r018, int *again)
{
    unsigned long differ = 0;
    int patched = 0;
    tdi_status st = TDI_OK;

#ifdef TDI_TEST_HOOKS
    if (!why && getenv("TDI_TEST_SECOND_PASS_FULL"))
        why = "TDI_TEST_SECOND_PASS_FULL is set";
#endif
    if (!why)
        st = state_actions_patch(rc->state, from, rc->cfg->nsources, rc->cfg->nbodies, counts,
                                 reread, r018, &patched, &differ);
    *again = st == TDI_OK && !patched;
    if (st != TDI_OK)
        return st;
    if (patched)
        tdi_debug("delta: the episodes read again are as the bodies were sent them: the pass "
                  "patched, not computed again");
    else if (why)
        tdi_debug("delta: the pass computed again (%s)", why);
    else
        tdi_debug("delta: the pass computed again (%lu record%s read again differ%s from what the "
                  "bodies were sent)",
                  differ, differ == 1 ? "" : "s", differ == 1 ? "s" : "");
    return TDI_OK;
}

/* The state database's pass; after each source whose unread episodes changed their counting was
 * read again (those episodes, or in full: each source in full at most once, since a full read
 * leaves nothing unread), patched or computed again (second_pass()). The snapshots kept for it
 * are closed at the end. */
tdi_status run_compute_actions(run_ctx *rc)
{
    size_t ns = rc->cfg->nsources, nb = rc->cfg->nbodies;
    state_source_in *sin = calloc(ns, sizeof *sin);
    state_body_in *bin = calloc(nb, sizeof *bin);
    state_counts *counts = calloc(nb, sizeof *counts);
    unsigned char *reread = calloc(ns, 1);
    unsigned long *r018 = calloc(ns, sizeof *r018);
    tdi_status st = TDI_ERR_INTERNAL;
    int again = 1;

    while (sin && bin && counts && reread && r018 && again) {
        /* every entry is placed and loaded here (run_load_spool()): what a re-read adds comes
         * after from */
        uint64_t from = run_spool_count(rc->spool);
        size_t ok = sources_ok(rc);
        const char *why = NULL;

        again = 0;
        for (size_t si = 0; si < ns; si++)
            sin[si] = (state_source_in){rc->src[si].cfg->name, rc->src[si].cfg->region,
                                        rc->src[si].status == TDI_OK, rc->src[si].full_read};
        for (size_t b = 0; b < nb; b++)
            bin[b] = (state_body_in){rc->cfg->bodies[b].name, rc->body[b].served,
                                     tdi_counting_names[rc->cfg->bodies[b].counting]};
        st = state_actions(rc->state, rc->year, sin, ns, bin, nb, counts, reread, r018);
        for (size_t si = 0; si < ns && st == TDI_OK; si++) {
            int in_snap = 0;

            if (!reread[si] || rc->src[si].status != TDI_OK || rc->src[si].full_read)
                continue;
            st = read_unread(rc, si, &in_snap);
            why = in_snap ? why : "a source was read again in full";
            again = 1;
        }
        if (st == TDI_OK && again)
            st = run_check_duplicates(rc);
        if (st == TDI_OK && again)
            st = run_decide_served(rc);
        if (st == TDI_OK && again)
            st = second_pass(rc, from,
                             why                   ? why
                             : sources_ok(rc) < ok ? "a source failed"
                                                   : NULL,
                             counts, reread, r018, &again);
        if (st != TDI_OK)
            break;
    }
    for (size_t si = 0; si < ns; si++)
        run_snapshot_close(&rc->src[si]);
    for (size_t b = 0; st == TDI_OK && b < nb; b++)
        rc->body[b].counts = counts[b];
    rc->actions_done = st == TDI_OK;
    for (size_t si = 0; st == TDI_OK && si < ns; si++) {
        if (!r018[si])
            continue;
        tdi_rule_hits hits = {{0}};

        tdi_rule_count(&hits, TDI_R018, r018[si]);
        printf("source %s, against earlier years:\n", rc->src[si].cfg->name);
        tdi_rule_print(&hits, stdout);
    }
    free(sin);
    free(bin);
    free(counts);
    free(reread);
    free(r018);
    return st;
}

/* *partial = the first source feeding body b that was read incrementally this run, or nsources
 * when every one was read in full: then this run's records are all the body holds. */
tdi_status run_read_in_full(run_ctx *rc, size_t b, size_t *partial)
{
    *partial = rc->cfg->nsources;
    for (size_t si = 0; si < rc->cfg->nsources; si++) {
        int dep = 0;
        tdi_status st;

        if (rc->src[si].full_read)
            continue;
        st = run_depends(rc, b, si, &dep);
        if (st != TDI_OK)
            return st;
        if (dep) {
            *partial = si;
            return TDI_OK;
        }
    }
    return TDI_OK;
}

/* ------------------------------------------------------------------ re-identification */

/* What dc_reid_check() groups by: body b's records after this run, in the state database. */
typedef struct reid_arg {
    run_ctx *rc;
    size_t b;
} reid_arg;

_Static_assert(STATE_NSENSITIVE == DC_QI_NSENSITIVE, "state and disclosure count alike");

static tdi_status group_body(void *arg, const unsigned *masks, size_t nmasks, int k_min,
                             dc_reid_figures *out)
{
    const reid_arg *ra = arg;
    state_reid f[TDI_QI_COUNT + 1];
    tdi_status st;

    if (nmasks > TDI_QI_COUNT + 1)
        return TDI_ERR_INTERNAL;
    memset(f, 0, sizeof f);
    st = state_reid_check(ra->rc->state, (int)ra->b, masks, nmasks, k_min, f);
    for (size_t m = 0; m < nmasks && st == TDI_OK; m++) {
        out[m] = (dc_reid_figures){.records = f[m].records,
                                   .groups = f[m].groups,
                                   .k = f[m].k,
                                   .at_risk = f[m].at_risk,
                                   .average = f[m].average,
                                   .legacy = f[m].legacy};
        memcpy(out[m].l, f[m].l, sizeof out[m].l);
    }
    return st;
}

/* What dc_reid_check() is told of body b: its blanking as stored (into stored, of len) and the
 * first source feeding it read incrementally. */
static tdi_status reid_input(run_ctx *rc, size_t b, char *stored, size_t len, dc_reid_body *in)
{
    const tdi_body_config *body = &rc->cfg->bodies[b];
    size_t partial = rc->cfg->nsources;
    int found = 0;
    tdi_status st = state_blanked(rc->state, body->name, rc->year, stored, len, &found);

    if (st == TDI_OK)
        st = run_read_in_full(rc, b, &partial);
    *in = (dc_reid_body){body->name, &body->reid, found ? stored : NULL,
                         partial < rc->cfg->nsources ? rc->src[partial].cfg->name : NULL};
    return st;
}

/* The first grouping the check of body b will ask for (state_reid_beside()): a served body's. */
static tdi_status reid_plan(void *arg, int b, unsigned *mask, int *k_min, int *want)
{
    run_ctx *rc = arg;
    char stored[DC_REID_NAMES_MAX] = "";
    dc_reid_body in;
    tdi_status st;

    *want = rc->body[b].served;
    if (!*want)
        return TDI_OK;
    st = reid_input(rc, (size_t)b, stored, sizeof stored, &in);
    *mask = dc_reid_first_mask(&in);
    *k_min = in.reid->k_min;
    return st;
}

tdi_status run_reid_beside(run_ctx *rc)
{
    return state_reid_beside(rc->state, reid_plan, rc, rc->cfg->nbodies);
}

/* The re-identification check of every served body over what it holds after this run
 * (dc_reid_check()). A body that fails it gets nothing this run; the others are served. A new
 * blanking makes every record of the body a replace. */
tdi_status run_check_disclosure(run_ctx *rc)
{
    for (size_t b = 0; b < rc->cfg->nbodies; b++) {
        run_body *rb = &rc->body[b];
        char stored[DC_REID_NAMES_MAX] = "";
        reid_arg ra = {rc, b};
        dc_reid_outcome out;
        dc_reid_body in;
        tdi_status st;

        if (!rb->served)
            continue;
        st = reid_input(rc, b, stored, sizeof stored, &in);
        if (st == TDI_OK)
            st = dc_reid_check(&in, group_body, &ra, &out);
        if (st != TDI_OK)
            return st;
        snprintf(rb->disclosure_json, sizeof rb->disclosure_json, "%s", out.json);
        rb->checked = 1;
        rb->reid_met = out.met;
        rb->reid_k = out.k;
        rb->reid_records = out.records;
        if (!out.met) {
            rb->served = 0;
            rb->disclosure = TDI_ERR_DISCLOSURE;
            snprintf(rb->why, sizeof rb->why, "%s", out.why);
            continue;
        }
        rb->blank_mask = out.blank_mask;
        snprintf(rb->blanked, sizeof rb->blanked, "%s", out.blanked);
        if (out.changed) {
            st = state_replace_all(rc->state, (int)b, &rb->counts);
            if (st != TDI_OK)
                return st;
        }
    }
    return TDI_OK;
}

/* A source's watermark moves when the delta pass completed and every body the source feeds has
 * this run's changes (published, or none due). */
tdi_status run_decide_advance(run_ctx *rc)
{
    for (size_t si = 0; si < rc->cfg->nsources; si++) {
        run_source *s = &rc->src[si];

        /* Without a completed delta pass the counts say nothing: a body's changes may be unsent. */
        s->advance = rc->actions_done && s->status == TDI_OK && s->attempts > 0;
        for (size_t b = 0; b < rc->cfg->nbodies && s->advance; b++) {
            const run_body *rb = &rc->body[b];
            int ok =
                rb->served && (rb->published ||
                               rb->counts.appends + rb->counts.replaces + rb->counts.deletes == 0);
            int dep = 0;
            tdi_status st;

            if (ok)
                continue;
            st = run_depends(rc, b, si, &dep);
            if (st != TDI_OK)
                return st;
            s->advance = !dep;
        }
    }
    return TDI_OK;
}
