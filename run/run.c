/*
 * run: `tdi run`, the nightly job (see run.h). Wires the stages together and owns the run's
 * bookkeeping:
 * every extracted row is counted as written or quarantined and the balance is printed and checked.
 *
 *   lock the state database, record the run   (a second run stops here: exit 9)
 *   sweep temp files (and data files without their manifest) a killed run left, refuse a
 *   closed year
 *   per source, retried with backoff:  extract -> transform -> spool, one entry per record and
 *       body that takes it, with that body's pseudonyms (+ quarantine, + rows seen, + key scan);
 *       max_parallel_sources at a time, merged in the configured order (run_pool.c)
 *   bodies whose every source was read are served; the others get nothing this run
 *   spool -> state database: in bulk, what each body holds, the counting unit (entrant flags,
 *       earlier years) and append/replace/delete per body; an incremental source whose unread
 *       episodes changed their counting has those episodes read again in the snapshot of its
 *       read (or, where that cannot be done, is read again in full) and the pass computed again
 *   per served body with changes: its actions into a work file; the state database records them
 *       (in the commit's transaction, a statement sent before the file is written and finished
 *       before it is published) while the XML is written from the spool in the order of the
 *       body's episode keys (a merge of the spool's sorted runs), validated and published;
 *       the tables too when every source feeding the body was read in full
 *   commit what was published, the watermarks, the ledger      (file first: at least once)
 *
 * A watermark moves only when every body its source feeds got this run's changes: a body left
 * out gets them on the next run, and a body that already has them is not sent them twice,
 * because changes are found by content hash, not by time.
 */
#include "run_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* ------------------------------------------------------------------ small helpers */

static int today_ymd(time_t now)
{
    struct tm tm;

    localtime_r(&now, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static void set_run_id(run_ctx *rc, time_t now)
{
    struct tm utc;

    gmtime_r(&now, &utc);
    strftime(rc->run_id, sizeof rc->run_id, "%Y%m%dT%H%M%SZ", &utc);
    strftime(rc->generated, sizeof rc->generated, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

/* The failure that decides the exit code when several happened: a stop first, then what broke
 * the run as a whole, then what only kept bodies from being served. */
tdi_status run_worse(tdi_status a, tdi_status b)
{
    static const tdi_status order[] = {TDI_ERR_INTERRUPTED, TDI_ERR_INTERNAL,  TDI_ERR_STATE,
                                       TDI_ERR_OUTPUT,      TDI_ERR_INVALID,   TDI_ERR_CROSSWALK,
                                       TDI_ERR_SOURCE,      TDI_ERR_DISCLOSURE};

    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (a == order[i] || b == order[i])
            return order[i];
    return a != TDI_OK ? a : b;
}

int run_source_failure(tdi_status st)
{
    return st == TDI_ERR_SOURCE || st == TDI_ERR_CROSSWALK;
}

/* ------------------------------------------------------------------ the run */

/* The clock the run id is taken from. The test build can set it off (TDI_TEST_CLOCK_OFFSET,
 * seconds): a run whose clock is fast or slow, for the tests of the ordering (runNo). */
static time_t run_clock(void)
{
    time_t now = time(NULL);
#ifdef TDI_TEST_HOOKS
    const char *off = getenv("TDI_TEST_CLOCK_OFFSET");

    if (off)
        now += (time_t)strtol(off, NULL, 10);
#endif
    return now;
}

/* Records the run under a run id of its own: two runs in one second would name their files
 * alike, so the second waits for the next second. The run id is only a name: what orders the
 * files is the ledger's run number (runNo), which the clock cannot set back. */
static tdi_status begin_run(run_ctx *rc)
{
    for (int tries = 0;; tries++) {
        int taken = 0;
        tdi_status st;

        set_run_id(rc, run_clock());
        st = state_run_begin(rc->state, rc->run_id, rc->year, rc->full, &rc->run_no, &taken);
        if (st != TDI_OK || !taken)
            return st;
        if (tries == 3) {
            tdi_error("run id %s is already in the ledger: is the clock right?", rc->run_id);
            return TDI_ERR_STATE;
        }
        st = tdi_sleep_ms(1000);
        if (st != TDI_OK)
            return st;
    }
}

static tdi_status sweep(run_ctx *rc)
{
    unsigned long removed = 0;
    char dir[PATH_MAX];
    tdi_status st = report_sweep_temp(rc->cfg->work_dir, &removed);

    if (st == TDI_OK)
        st = report_sweep_temp(rc->cfg->output_dir, &removed);
    for (size_t b = 0; b <= rc->cfg->nbodies && st == TDI_OK; b++) {
        snprintf(dir, sizeof dir, "%s/%s", rc->cfg->output_dir,
                 b < rc->cfg->nbodies ? rc->cfg->bodies[b].name : "quarantine");
        st = report_sweep_temp(dir, &removed);
        if (st == TDI_OK && b < rc->cfg->nbodies)
            st = report_sweep_unmanifested(dir);
    }
    if (st == TDI_OK && removed > 0)
        tdi_info("removed %lu temp file%s left by an interrupted run", removed,
                 removed == 1 ? "" : "s");
    return st;
}

static tdi_status check_year(run_ctx *rc)
{
    char since[128];
    int closed = 0;
    tdi_status st = state_year_closed(rc->state, rc->year, &closed, since, sizeof since);

    if (st != TDI_OK || !closed)
        return st;
    tdi_error("reporting year %d is closed (since %s): nothing is sent for it; 'tdi year reopen "
              "%d --config %s' lets runs change it again",
              rc->year, since, rc->year, rc->config_path);
    return TDI_ERR_CLOSED;
}

static tdi_status setup(run_ctx *rc)
{
    tdi_status st;

    rc->today = today_ymd(time(NULL));
    st = check_year(rc);
    if (st == TDI_OK)
        st = sweep(rc);
    if (st == TDI_OK)
        st = transform_open(rc->cfg, rc->year, rc->today, &rc->tx);
    if (st == TDI_OK)
        st = tdi_hash_new(&rc->hash);
    if (st == TDI_OK)
        st = report_ensure_dir(rc->cfg->work_dir);
    if (st == TDI_OK)
        st = run_spool_open(rc->cfg->work_dir, sizeof(spool_entry), &rc->spool);
    if (st == TDI_OK)
        st = run_spool_sort(rc);
    if (st == TDI_OK)
        st = state_delta_begin(rc->state);
    if (st != TDI_OK)
        return st;
    rc->delta_ready = 1;
    rc->src = calloc(rc->cfg->nsources, sizeof *rc->src);
    rc->body = calloc(rc->cfg->nbodies, sizeof *rc->body);
    rc->takes = calloc(rc->cfg->nbodies, sizeof *rc->takes);
    if (!rc->src || !rc->body || !rc->takes)
        return TDI_ERR_INTERNAL;
    for (size_t si = 0; si < rc->cfg->nsources; si++) {
        rc->src[si].cfg = &rc->cfg->sources[si];
        for (size_t i = 0; i < rc->nallow_empty; i++)
            if (strcmp(rc->allow_empty[i], rc->src[si].cfg->name) == 0)
                rc->src[si].allow_empty = 1;
        rc->src[si].routed = calloc(rc->cfg->nbodies, 1);
        if (!rc->src[si].routed)
            return TDI_ERR_INTERNAL;
    }
    rc->meta = (report_meta){
        .output_dir = rc->cfg->output_dir,
        .schema_dir = rc->cfg->schema_dir,
        .run_id = rc->run_id,
        .run_no = rc->run_no,
        .generated = rc->generated,
        .year = rc->year,
        .gzip_level = rc->cfg->gzip_level,
    };
    return TDI_OK;
}

/* Seconds on the monotonic clock (the steps' times in --verbose). */
double run_seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + now.tv_nsec / 1e9;
}

/* Seconds since the last call (the phases' times in --verbose). */
double run_lap(void)
{
    static double last;
    double now = run_seconds(), d = last > 0 ? now - last : 0;

    last = now;
    return d;
}

/* Extract, compute the delta, publish. Returns the run's status; source failures are in it
 * only through the ledger status (run_commit.c). */
static tdi_status work(run_ctx *rc)
{
    tdi_status st = TDI_OK;

    printf("tdi run %s: reporting year %d, %zu sources, %zu bodies%s\n", rc->run_id, rc->year,
           rc->cfg->nsources, rc->cfg->nbodies, rc->full ? ", full read" : "");
    (void)run_lap();
    st = run_read_sources(rc);
    tdi_debug("sources: read in %.1f s", run_lap());
    if (st == TDI_OK && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    if (st == TDI_OK)
        st = run_check_duplicates(rc);
    if (st == TDI_OK)
        st = run_decide_served(rc);
    if (st == TDI_OK)
        st = run_reid_beside(rc);
    if (st == TDI_OK)
        st = run_compute_actions(rc);
    tdi_debug("delta: %" PRIu64 " spool entries to the state database, actions computed, in %.1f s",
              run_spool_count(rc->spool), run_lap());
    if (st == TDI_OK)
        st = run_check_disclosure(rc);
    tdi_debug("disclosure: re-identification check in %.1f s", run_lap());
    if (st == TDI_OK)
        st = run_publish_bodies(rc);
    tdi_debug("bodies: files written and published in %.1f s", run_lap());
    if (st == TDI_OK && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    {
        tdi_status qst = run_publish_quarantine(rc, st == TDI_OK);
        st = run_worse(st, qst);
        tdi_debug("quarantine: files published in %.1f s", run_lap());
    }
    return st;
}

static void cleanup(run_ctx *rc)
{
    for (size_t si = 0; rc->src && si < rc->cfg->nsources; si++) {
        report_quarantine_abort(rc->src[si].quarantine);
        run_snapshot_close(&rc->src[si]);
        run_source_release(&rc->src[si]);
        free(rc->src[si].routed);
    }
    free(rc->src);
    for (size_t b = 0; rc->body && b < rc->cfg->nbodies; b++) {
        free(rc->body[b].cells);
        report_tables_abort(rc->body[b].counted);
    }
    free(rc->body);
    free(rc->takes);
    run_spool_close(rc->spool);
    tdi_hash_free(rc->hash);
    transform_close(rc->tx);
}

/* The balance (when the run went through) and why the run failed, if it did. Returns st, or
 * TDI_ERR_INTERNAL when the row counts do not balance. */
static tdi_status print_outcome(const run_ctx *rc, tdi_status st, tdi_status fatal)
{
    if (st == TDI_OK || fatal == TDI_OK) {
        printf("balance: extracted %lu = written %lu + quarantined %lu\n", rc->extracted,
               rc->written, rc->quarantined);
        if (rc->extracted != rc->written + rc->quarantined) {
            tdi_error("row counts do not balance");
            st = TDI_ERR_INTERNAL;
        }
    }
    if (st == TDI_ERR_INTERRUPTED)
        tdi_error("stopped by signal %d; %s", tdi_stop_requested(),
                  rc->published ? "the files listed above are published and recorded"
                                : "nothing of this run was published");
    else if (st != TDI_OK && rc->published)
        tdi_error("run failed (%s) after publishing the %d files listed above", tdi_status_name(st),
                  rc->published);
    else if (st != TDI_OK)
        tdi_error("run failed (%s); nothing of this run was published", tdi_status_name(st));
    return st;
}

tdi_status run_main(const run_options *opt)
{
    run_ctx rc;
    tdi_status st, fatal = TDI_OK;

    memset(&rc, 0, sizeof rc);
    rc.cfg = opt->cfg;
    rc.state = opt->state;
    rc.config_path = opt->config_path;
    rc.year = opt->year;
    rc.full = opt->full;
    rc.allow_empty = opt->allow_empty;
    rc.nallow_empty = opt->nallow_empty;
    if (!rc.year)
        rc.year = today_ymd(time(NULL)) / 10000;
    st = state_lock(rc.state);
    if (st == TDI_OK)
        st = begin_run(&rc);
    if (st != TDI_OK) {
        cleanup(&rc);
        return st;
    }

    /* From here every outcome is written to the ledger. */
    st = setup(&rc);
    if (st == TDI_OK)
        st = work(&rc);
    fatal = st;
    if (st == TDI_OK && tdi_stop_requested())
        fatal = st = TDI_ERR_INTERRUPTED;
    /* What is left is bounded: the ledger gets written, whatever signal comes now. */
    tdi_stop_acknowledge();
    st = run_commit(&rc, st);
    /* A run that failed, stopped or published nothing leaves nothing in the output
     * directory; its page is `tdi report --run RUNID`. */
    if (opt->page && st == TDI_OK && rc.published > 0)
        run_publish_page(&rc);
    st = print_outcome(&rc, st, fatal);
    fflush(stdout);
    cleanup(&rc);
    return st;
}
