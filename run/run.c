/*
 * run: `tdi run`, the nightly job (see run.h). Wires the stages together and owns the run's
 * bookkeeping:
 * every extracted row is counted as written or quarantined and the balance is printed and checked.
 *
 *   lock the state database, record the run   (a second run stops here: exit 9)
 *   sweep temp files a killed run left, refuse a closed year
 *   per source, retried with backoff:  extract -> transform -> spool, one entry per record and
 *       body that takes it, with that body's pseudonyms (+ quarantine, + rows seen, + key scan)
 *   bodies whose every source was read are served; the others get nothing this run
 *   spool -> state database: in bulk, what each body holds, the counting unit (entrant flags,
 *       earlier years) and append/replace/delete per body; an incremental source whose unread
 *       episodes changed their counting is read again in full and the pass computed again
 *   per served body with changes: its actions into a work file; the state database records them
 *       (in the commit's transaction, a statement sent before the file is written and finished
 *       before it is published) while the XML is written from the spool in spool order,
 *       validated and published; the tables too when every source feeding the body was read
 *       in full
 *   commit what was published, the watermarks, the ledger      (file first: at least once)
 *
 * A watermark moves only when every body its source feeds got this run's changes: a body left
 * out gets them on the next run, and a body that already has them is not sent them twice,
 * because changes are found by content hash, not by time.
 */
#include "run.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"
#include "../disclosure/disclosure.h"
#include "../common/tdi_signal.h"
#include "run_spool.h"
#include "../common/tdi_version.h"
#include "../state/state.h"
#include "../extract/extract.h"
#include "../report/report.h"
#include "../transform/transform.h"
#include "run_spool.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MAX_MS (10L * 60 * 1000) /* one wait between attempts never exceeds this */
#define ERROR_MAX      512
#define PROGRESS_EVERY 4096

/* One spooled record for one body that takes it, with that body's pseudonyms, its content hash
 * and its state key. Fixed size; the record's source pointer is not kept, it is
 * restored from the config on reading. */
typedef struct spool_entry {
    uint32_t src;
    uint32_t body;
    char hash[REPORT_HASH_HEX + 1];
    char eid[TDI_EPISODE_KEY_MAX + 1];
    char pkey[TDI_PSEUDONYM_MAX + 1]; /* the person under the state key: for the state only */
    tdi_record rec;
} spool_entry;

typedef struct run_source {
    const tdi_source_config *cfg;
    state_mark mark;
    char fingerprint[TDI_SHA256_HEX];
    int full_read;                  /* every row of the year is read */
    char since[STATE_TIME_MAX]; /* incremental lower bound, "" for a full read */
    int attempts;
    tdi_status status; /* TDI_OK, or why the source failed */
    char error[ERROR_MAX];
    unsigned long extracted, written, quarantined;
    char max_changed[STATE_TIME_MAX];
    unsigned char *routed;         /* per body: records went there this run */
    report_quarantine *quarantine; /* open until published or aborted */
    report_published qpub;         /* its published quarantine file, when qpublished */
    int qpublished;
    int advance; /* store the watermark and fingerprint */
} run_source;

typedef struct run_body {
    int served;
    char why[ERROR_MAX];
    state_counts counts;
    uint64_t sequence;
    tdi_status status; /* of its publication */
    int published;
    report_published pub;
    int tables_due; /* no file this run, but its tables are older than its last file */
    int tables_published;
    report_published tables;
    /* The re-identification check (check_disclosure). */
    tdi_status disclosure;      /* TDI_ERR_DISCLOSURE: nothing is published for the body */
    unsigned blank_mask;        /* the quasi-identifiers its records are published with blanked */
    char blanked[128];          /* their names, blank-separated, for the header and the state */
    char disclosure_json[1024]; /* the figures, for the manifest */
} run_body;

typedef struct run_ctx {
    tdi_config *cfg;
    const char *config_path;
    int year, full;
    char run_id[32], generated[32];
    state_db *state;
    int64_t run_no;
    int delta_ready; /* the run's tables exist: the commit path records everything */
    transform_ctx *tx;
    tdi_hash *hash;
    run_spool *spool;
    report_meta meta;
    run_source *src;
    run_body *body;
    int *takes; /* scratch: bodies taking the current record */
    unsigned long extracted, written, quarantined;
    int published; /* files published */
    char message[ERROR_MAX];
} run_ctx;

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
static tdi_status worse(tdi_status a, tdi_status b)
{
    static const tdi_status order[] = {TDI_ERR_INTERRUPTED, TDI_ERR_INTERNAL,  TDI_ERR_STATE,
                                       TDI_ERR_OUTPUT,      TDI_ERR_INVALID,   TDI_ERR_CROSSWALK,
                                       TDI_ERR_SOURCE,      TDI_ERR_DISCLOSURE};

    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (a == order[i] || b == order[i])
            return order[i];
    return a != TDI_OK ? a : b;
}

static void keep_message(run_ctx *rc, const char *msg)
{
    if (!rc->message[0] && msg && *msg)
        snprintf(rc->message, sizeof rc->message, "%.*s", (int)sizeof rc->message - 1, msg);
}

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
static tdi_status plan_source(run_ctx *rc, run_source *s)
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
                transform_reject_no_body(rc->tx, &rej);
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
static tdi_status read_source(run_ctx *rc, size_t si)
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
    transform_print_source_report(rc->tx, stdout);
    rc->extracted += s->extracted;
    rc->written += s->written;
    rc->quarantined += s->quarantined;
    return TDI_OK;
}

/* ------------------------------------------------------------------ which bodies are served */

/* 1 when body b may receive records of source s: by region, or through its centres when s has
 * sent it records before (or nothing is known yet of where s's centres go). */
static tdi_status depends(run_ctx *rc, size_t b, size_t si, int *dep)
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

static tdi_status decide_served(run_ctx *rc)
{
    for (size_t b = 0; b < rc->cfg->nbodies; b++) {
        rc->body[b].served = 1;
        for (size_t si = 0; si < rc->cfg->nsources && rc->body[b].served; si++) {
            int dep = 0;
            tdi_status st;

            if (rc->src[si].status == TDI_OK)
                continue;
            st = depends(rc, b, si, &dep);
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

static tdi_status read_entry(run_ctx *rc, uint64_t pos, spool_entry *e)
{
    tdi_status st = run_spool_read(rc->spool, pos, e);

    if (st == TDI_OK && (e->src >= rc->cfg->nsources || e->body >= rc->cfg->nbodies))
        st = TDI_ERR_INTERNAL;
    if (st == TDI_OK) {
        e->rec.source = rc->cfg->sources[e->src].name;
    }
    return st;
}

/* The treatment status code the source gave (before transform_history()). */
static const char *status_code(const tdi_record *rec)
{
    const tdi_item_def *def = tdi_item_get(TDI_ITEM_TREATMENT_STATUS);
    uint8_t i = rec->code[TDI_ITEM_TREATMENT_STATUS];

    return i < def->ncodes ? def->codes[i].code : "";
}

/* The spooled records from position from on into the state database. */
static tdi_status load_spool(run_ctx *rc, uint64_t from)
{
    uint64_t n = run_spool_count(rc->spool);
    spool_entry e;
    tdi_status st, cst;

    st = state_copy_begin(rc->state, STATE_COPY_RECORDS);
    for (uint64_t pos = from; pos < n && st == TDI_OK; pos++) {
        if (tdi_stop_requested()) {
            st = TDI_ERR_INTERRUPTED;
            break;
        }
        char qi[DC_QI_TUPLE_MAX], sens[DC_QI_TUPLE_MAX];

        st = read_entry(rc, pos, &e);
        if (st == TDI_OK) {
            dc_qi_tuple(&e.rec, qi);
            dc_qi_sensitive_tuple(&e.rec, sens);
            st = state_put_record(rc->state, pos, (int)e.src, (int)e.body, e.eid, e.rec.episode,
                                      e.hash, e.pkey, e.rec.centre, e.rec.start_ymd,
                                      status_code(&e.rec), qi, sens);
        }
    }
    cst = state_copy_end(rc->state, st != TDI_OK);
    return st != TDI_OK ? st : cst;
}

/* A source whose episode ids repeat breaks the column contract: its records cannot be told
 * apart, so it fails like a source that could not be read. */
static tdi_status check_duplicates(run_ctx *rc)
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
 * content the run does not have, so the source is read again, in full, in this run. */
static tdi_status reread_source(run_ctx *rc, size_t si)
{
    run_source *s = &rc->src[si];
    uint64_t from = run_spool_count(rc->spool);
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
        st = read_source(rc, si);
    if (st == TDI_OK && s->status == TDI_OK)
        st = load_spool(rc, from);
    return st;
}

/* The state database's pass; again after each source read in full because of it (each source at
 * most once: a full read leaves nothing unread). */
static tdi_status compute_actions(run_ctx *rc)
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
        again = 0;
        for (size_t si = 0; si < ns; si++)
            sin[si] = (state_source_in){rc->src[si].cfg->name, rc->src[si].cfg->region,
                                            rc->src[si].status == TDI_OK, rc->src[si].full_read};
        for (size_t b = 0; b < nb; b++)
            bin[b] = (state_body_in){rc->cfg->bodies[b].name, rc->body[b].served,
                                         tdi_counting_names[rc->cfg->bodies[b].counting]};
        st = state_actions(rc->state, rc->year, sin, ns, bin, nb, counts, reread, r018);
        for (size_t si = 0; si < ns && st == TDI_OK; si++) {
            if (!reread[si] || rc->src[si].status != TDI_OK || rc->src[si].full_read)
                continue;
            st = reread_source(rc, si);
            again = 1;
        }
        if (st == TDI_OK && again)
            st = check_duplicates(rc);
        if (st == TDI_OK && again)
            st = decide_served(rc);
        if (st != TDI_OK)
            break;
    }
    for (size_t b = 0; st == TDI_OK && b < nb; b++)
        rc->body[b].counts = counts[b];
    for (size_t si = 0; st == TDI_OK && si < ns; si++) {
        if (!r018[si])
            continue;
        printf("source %s, against earlier years:\n", rc->src[si].cfg->name);
        transform_print_rule("R018", r018[si], stdout);
    }
    free(sin);
    free(bin);
    free(counts);
    free(reread);
    free(r018);
    return st;
}

/* Body b's actions, what by what, fetched from the state database into an unnamed file in the
 * work directory (*fp, closed by the caller): the connection is then free for the commit's work
 * while the file is written, and memory stays flat. */
static tdi_status keep_actions(run_ctx *rc, size_t b, state_read what, FILE **fp)
{
    tdi_status st = run_spool_stream(rc->cfg->work_dir, fp);

    return st != TDI_OK ? st : state_actions_save(rc->state, (int)b, what, *fp);
}

static void close_actions(FILE *fp)
{
    if (fp)
        (void)fclose(fp); /* read only since the rewind: nothing to lose */
}

/* The next record of body b's actions (keep_actions()) from the spool, with what the state
 * database decided of it: its entrant flag, its treatment status from earlier years (R018 is
 * counted in the pass). *eof at the end. */
static tdi_status next_record(run_ctx *rc, size_t b, FILE *fp, spool_entry *e, state_action *a,
                              int *eof)
{
    tdi_status st = state_actions_read(fp, a, eof);

    if (st != TDI_OK || *eof)
        return st;
    st = read_entry(rc, a->pos, e);
    if (st == TDI_OK && e->body != b)
        st = TDI_ERR_INTERNAL;
    if (st == TDI_OK)
        (void)transform_history(&e->rec, a->entrant, a->earlier);
    return st;
}

/* Writes body b's file from its actions and the spool, and publishes it. The state database
 * records the actions as what the body was sent meanwhile, in the commit's transaction: the file
 * is published only when that succeeded, and the transaction commits after it (at least once). */
static tdi_status publish_body(run_ctx *rc, size_t b)
{
    run_body *rb = &rc->body[b];
    report_writer *w = NULL;
    FILE *episodes = NULL, *deletes = NULL;
    spool_entry e;
    state_action a;
    tdi_status st;
    int eof = 0, sent = 0;

    st = state_next_sequence(rc->state, rc->cfg->bodies[b].name, rc->year, &rb->sequence);
    if (st != TDI_OK)
        return st;
    rc->meta.sequence = rb->sequence;
    rc->meta.key_id = transform_body_key_id(rc->tx, b);
    rc->meta.counting_level = tdi_counting_names[rc->cfg->bodies[b].counting];
    rc->meta.blanked = rb->blanked;
    rc->meta.disclosure = rb->disclosure_json[0] ? rb->disclosure_json : NULL;
    st = report_open(&rc->meta, rc->cfg->bodies[b].name, &w);
    rc->meta.key_id = NULL;
    rc->meta.counting_level = NULL;
    rc->meta.blanked = rc->meta.disclosure = NULL;
    if (st == TDI_OK)
        st = keep_actions(rc, b, STATE_READ_EPISODES, &episodes);
    if (st == TDI_OK)
        st = keep_actions(rc, b, STATE_READ_DELETES, &deletes);
    if (st == TDI_OK) {
        st = state_commit_send(rc->state, rc->year, (int)b, rc->cfg->bodies[b].name,
                                   rb->sequence);
        sent = st == TDI_OK;
    }
    while (st == TDI_OK) {
        if (tdi_stop_requested()) {
            st = TDI_ERR_INTERRUPTED;
            break;
        }
        st = next_record(rc, b, episodes, &e, &a, &eof);
        /* The file shows the body's blanking; its tables count the records as they are. */
        for (int q = 0; q < TDI_QI_COUNT; q++)
            if (rb->blank_mask & 1u << q)
                dc_qi_blank(&e.rec, (tdi_qi)q);
        if (st == TDI_OK && !eof)
            st = report_add_action(w, &e.rec, a.replace ? REPORT_REPLACE : REPORT_APPEND);
        if (eof)
            break;
    }
    while (st == TDI_OK) {
        st = state_actions_read(deletes, &a, &eof);
        if (st != TDI_OK || eof)
            break;
        st = report_delete(w, a.ekey);
    }
    if (st == TDI_OK && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    if (st == TDI_OK)
        st = state_commit_wait(rc->state);
    if (st == TDI_OK) {
        st = report_publish(w, &rb->pub);
        w = NULL;
    }
    report_abort(w);
    if (st != TDI_OK && sent) /* not published: what was recorded of it goes */
        st = worse(st, state_commit_undo(rc->state));
    close_actions(episodes);
    close_actions(deletes);
    rb->status = st;
    rb->published = st == TDI_OK;
    rc->published += rb->published;
    return st;
}

/* *partial = the first source feeding body b that was read incrementally this run, or nsources
 * when every one was read in full: then this run's records are all the body holds. */
static tdi_status read_in_full(run_ctx *rc, size_t b, size_t *partial)
{
    *partial = rc->cfg->nsources;
    for (size_t si = 0; si < rc->cfg->nsources; si++) {
        int dep = 0;
        tdi_status st;

        if (rc->src[si].full_read)
            continue;
        st = depends(rc, b, si, &dep);
        if (st != TDI_OK)
            return st;
        if (dep) {
            *partial = si;
            return TDI_OK;
        }
    }
    return TDI_OK;
}

/* The body's standard tables count every record it holds: a snapshot, so they are written only
 * when every source feeding the body was read in full this run (the records of the others are
 * not in this run's spool); the next full read brings them. */
static tdi_status publish_tables(run_ctx *rc, size_t b)
{
    run_body *rb = &rc->body[b];
    const char *name = rc->cfg->bodies[b].name;
    report_tables *t = NULL;
    FILE *held = NULL;
    size_t hidden = 0;
    spool_entry e;
    state_action a;
    tdi_status st;
    int eof = 0;

    size_t partial;

    st = read_in_full(rc, b, &partial);
    if (st != TDI_OK)
        return st;
    if (partial < rc->cfg->nsources) {
        printf("tables %s: not published: source %s was read incrementally (a full read "
               "publishes them)\n",
               name, rc->src[partial].cfg->name);
        return TDI_OK;
    }
    /* What the body holds, every record of it read this run (its sources were read in full),
     * with the counting unit: only entrants count. */
    rc->meta.counting_level = tdi_counting_names[rc->cfg->bodies[b].counting];
    st = report_tables_open(&rc->meta, name, rc->cfg->suppression_threshold, &t);
    rc->meta.counting_level = NULL;
    if (st == TDI_OK)
        st = keep_actions(rc, b, STATE_READ_HELD, &held);
    while (st == TDI_OK) {
        st = next_record(rc, b, held, &e, &a, &eof);
        if (st == TDI_OK && !eof)
            st = report_tables_add(t, &e.rec);
        if (eof)
            break;
    }
    close_actions(held);
    if (st == TDI_OK && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    if (st != TDI_OK) {
        report_tables_abort(t);
        return st;
    }
    st = report_tables_publish(t, &rb->tables, &hidden);
    if (st != TDI_OK)
        return st;
    rb->tables_published = 1;
    rc->published++;
    printf("tables %s: %zu tables, %zu cells suppressed -> %s\n", name, report_tables_count(),
           hidden, rb->tables.path);
    return TDI_OK;
}

/* ------------------------------------------------------------------ re-identification */

/* The names of the quasi-identifiers in mask, in tdi_qi order, blank-separated ("" for none). */
static void qi_names(unsigned mask, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (int q = 0; q < TDI_QI_COUNT && used < len; q++)
        if (mask & 1u << q)
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "",
                                     tdi_qi_name((tdi_qi)q));
}

/* The quasi-identifiers named in names (as qi_names writes them). */
static unsigned qi_mask_of(const char *names)
{
    char copy[128], *save = NULL;
    unsigned mask = 0;

    snprintf(copy, sizeof copy, "%s", names);
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        int q = tdi_qi_by_name(t);
        if (q >= 0 && tdi_qi_blankable((tdi_qi)q))
            mask |= 1u << q;
    }
    return mask;
}

/* The figures f of body b's records with blank blanked, on the summary and (kept for the
 * manifest) as JSON; *ok when k reaches k_min (or there is nothing). */
static void reid_report(run_ctx *rc, size_t b, unsigned blank, const state_reid *f, int *ok)
{
    const tdi_body_config *body = &rc->cfg->bodies[b];
    run_body *rb = &rc->body[b];
    unsigned by = body->reid.qi_mask & ~blank;
    char bnames[128], gnames[128];
    double highest = f->k ? 1.0 / (double)f->k : 0;
    double average = f->records ? f->average : 0;
    const char *s0 = tdi_item_get(dc_qi_sensitive[0])->name;
    const char *s1 = tdi_item_get(dc_qi_sensitive[1])->name;
    const char *s2 = tdi_item_get(dc_qi_sensitive[2])->name;
    const char *s3 = tdi_item_get(dc_qi_sensitive[3])->name;

    *ok = (f->k >= (unsigned long)body->reid.k_min || f->records == 0) && f->legacy == 0;
    qi_names(blank, bnames, sizeof bnames);
    qi_names(by, gnames, sizeof gnames);
    printf("disclosure %s: blanked %s: %lu records in %lu groups by %s; k %lu (minimum %d), %lu "
           "at risk, highest risk %.4f, average risk %.4f; fewest distinct per group: %s %lu, %s "
           "%lu, %s %lu, %s %lu\n",
           body->name, blank ? bnames : "none", f->records, f->groups, by ? gnames : "nothing",
           f->k, body->reid.k_min, f->at_risk, highest, average, s0, f->l[0], s1, f->l[1], s2,
           f->l[2], s3, f->l[3]);
    snprintf(rb->disclosure_json, sizeof rb->disclosure_json,
             "{\"quasiIdentifiers\":\"%s\",\"blanked\":\"%s\",\"kMin\":%d,\"records\":%lu,"
             "\"groups\":%lu,\"k\":%lu,\"recordsAtRisk\":%lu,\"highestRisk\":%.4f,"
             "\"averageRisk\":%.4f,\"fewestDistinct\":{\"%s\":%lu,\"%s\":%lu,\"%s\":%lu,\"%s\":"
             "%lu}}",
             gnames, bnames, body->reid.k_min, f->records, f->groups, f->k, f->at_risk, highest,
             average, s0, f->l[0], s1, f->l[1], s2, f->l[2], s3, f->l[3]);
}

/* Nothing is published for body b this run; the others are served. */
static void disclosure_failed(run_ctx *rc, size_t b, const char *why)
{
    run_body *rb = &rc->body[b];

    rb->served = 0;
    rb->disclosure = TDI_ERR_DISCLOSURE;
    snprintf(rb->why, sizeof rb->why, "%s", why);
    tdi_error("body %s: %s", rc->cfg->bodies[b].name, why);
}

/* The re-identification check of every served body over what it holds after this run. How
 * its records look (which quasi-identifiers are blanked) may change only in a run that reads
 * every source feeding it in full: a new blanking changes every record, so every record is sent
 * again, and only such a run has them all. Then the least blanking (in blank_order) that
 * reaches k_min is taken; an incremental run keeps the body's blanking, and if that no longer
 * suffices, the body waits for a full run. */
static tdi_status check_disclosure(run_ctx *rc)
{
    for (size_t b = 0; b < rc->cfg->nbodies; b++) {
        const tdi_body_config *body = &rc->cfg->bodies[b];
        run_body *rb = &rc->body[b];
        char stored[128] = "", why[ERROR_MAX], names[128];
        unsigned held, blank = 0, blanks[TDI_QI_COUNT + 1], masks[TDI_QI_COUNT + 1];
        state_reid figures[TDI_QI_COUNT + 1];
        size_t partial, nlevels;
        int found = 0, ok = 0, full;
        tdi_status st;

        if (!rb->served)
            continue;
        st = state_blanked(rc->state, body->name, rc->year, stored, sizeof stored, &found);
        if (st == TDI_OK)
            st = read_in_full(rc, b, &partial);
        if (st != TDI_OK)
            return st;
        held = qi_mask_of(stored);
        full = partial == rc->cfg->nsources;
        /* The blankings to try, least first: with a full read every step of blank_order, else
         * only the body's own. The least is grouped first, the others only if it falls short. */
        nlevels = full ? body->reid.nblank + 1 : 1;
        for (size_t n = 0; n < nlevels; n++) {
            blanks[n] = !full ? held : n ? blanks[n - 1] | 1u << body->reid.blank[n - 1] : 0;
            masks[n] = body->reid.qi_mask & ~blanks[n];
        }
        st = state_reid_check(rc->state, (int)b, masks, nlevels, body->reid.k_min, figures);
        if (st != TDI_OK)
            return st;
        for (size_t n = 0; n < nlevels && !ok; n++) {
            blank = blanks[n];
            reid_report(rc, b, blank, &figures[n], &ok);
        }
        if (!ok) {
            if (figures[0].legacy)
                snprintf(why, sizeof why,
                         "%lu of its records were sent before tdi kept their quasi-identifiers "
                         "(state schema 3): run 'tdi run --full' once",
                         figures[0].legacy);
            else if (full)
                snprintf(why, sizeof why,
                         "disclosure control not met: groups smaller than k_min %d remain with "
                         "every quasi-identifier of blank_order blanked",
                         body->reid.k_min);
            else
                snprintf(why, sizeof why,
                         "disclosure control not met at the body's blanking (%s): a new "
                         "blanking changes every record, and source %s was read incrementally; "
                         "run 'tdi run --full'",
                         held ? stored : "none", rc->src[partial].cfg->name);
            disclosure_failed(rc, b, why);
            continue;
        }
        rb->blank_mask = blank;
        qi_names(blank, rb->blanked, sizeof rb->blanked);
        if (blank)
            printf("disclosure %s: k reached with %s blanked\n", body->name, rb->blanked);
        if (blank != held) {
            qi_names(held, names, sizeof names);
            tdi_info("body %s: blanking changes from '%s' to '%s': every record is sent again",
                     body->name, names, rb->blanked);
            st = state_replace_all(rc->state, (int)b, &rb->counts);
            if (st != TDI_OK)
                return st;
        }
    }
    return TDI_OK;
}

static tdi_status publish_bodies(run_ctx *rc)
{
    tdi_status st = TDI_OK;

    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++) {
        run_body *rb = &rc->body[b];
        const char *name = rc->cfg->bodies[b].name;

        if (!rb->served) {
            printf("body %s: nothing published: %s\n", name, rb->why);
            continue;
        }
        if (rb->counts.appends + rb->counts.replaces + rb->counts.deletes == 0) {
            int due = 0;
            printf("body %s: no changes, nothing published\n", name);
            /* Tables an incremental run left behind: this (full) run can bring them. */
            st = state_tables_due(rc->state, name, rc->year, &due);
            if (st == TDI_OK && due)
                rb->tables_due = 1;
            continue;
        }
        st = publish_body(rc, b);
        if (st == TDI_OK)
            printf("body %s: %lu records, %lu replaces, %lu deletes, sequence %" PRIu64 " -> %s\n",
                   name, rb->pub.records, rb->pub.replaces, rb->pub.deletes, rb->sequence,
                   rb->pub.path);
    }
    /* Tables after every submission: a tables failure (disclosure) keeps no body waiting. */
    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++)
        if (rc->body[b].published || rc->body[b].tables_due)
            st = publish_tables(rc, b);
    return st;
}

/* Quarantine files of the sources read, when they hold a row and differ from the source's last
 * one: a rerun that holds back the same rows publishes nothing new. With publish = 0 (the run
 * is stopping) they are all dropped. */
static tdi_status publish_quarantine(run_ctx *rc, int publish)
{
    tdi_status st = TDI_OK;

    for (size_t si = 0; si < rc->cfg->nsources; si++) {
        run_source *s = &rc->src[si];
        char sha[65];
        int same = 0;

        if (!s->quarantine)
            continue;
        if (publish && st == TDI_OK && s->status == TDI_OK && s->quarantined > 0) {
            st = report_quarantine_finish(s->quarantine, sha);
            if (st == TDI_OK)
                st = state_quarantine_same(rc->state, s->cfg->name, rc->year, sha, &same);
            if (st == TDI_OK && same)
                printf("quarantine %s: %lu rows, the same as in the last file, not published "
                       "again\n",
                       s->cfg->name, s->quarantined);
        }
        if (!publish || st != TDI_OK || s->status != TDI_OK || s->quarantined == 0 || same) {
            report_quarantine_abort(s->quarantine);
            s->quarantine = NULL;
            continue;
        }
        st = report_quarantine_publish(s->quarantine, &s->qpub);
        s->quarantine = NULL;
        if (st != TDI_OK)
            continue;
        s->qpublished = 1;
        rc->published++;
        printf("quarantine %s: %lu rows -> %s\n", s->cfg->name, s->qpub.records, s->qpub.path);
    }
    return st;
}

/* A source's watermark moves when it was read and every body it feeds has this run's changes. */
static tdi_status decide_advance(run_ctx *rc)
{
    for (size_t si = 0; si < rc->cfg->nsources; si++) {
        run_source *s = &rc->src[si];

        s->advance = s->status == TDI_OK && s->attempts > 0;
        for (size_t b = 0; b < rc->cfg->nbodies && s->advance; b++) {
            const run_body *rb = &rc->body[b];
            int ok =
                rb->served && (rb->published ||
                               rb->counts.appends + rb->counts.replaces + rb->counts.deletes == 0);
            int dep = 0;
            tdi_status st;

            if (ok)
                continue;
            st = depends(rc, b, si, &dep);
            if (st != TDI_OK)
                return st;
            s->advance = !dep;
        }
    }
    return TDI_OK;
}

/* ------------------------------------------------------------------ the ledger */

static tdi_status commit(run_ctx *rc, tdi_status run_st)
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
                                rb->tables.records,
                                0,
                                0};

        if (!rb->published && !rb->tables_published)
            continue;
        st = state_commit_body(rc->state, rc->year, rc->cfg->bodies[b].name,
                                   rb->published ? rb->sequence : 0, rb->tables_published,
                                   rc->run_no, rb->published ? rb->blanked : NULL);
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

/* ------------------------------------------------------------------ the run */

/* Records the run under a run id of its own: two runs in one second would name their files
 * alike, so the second waits for the next second. */
static tdi_status begin_run(run_ctx *rc)
{
    for (int tries = 0;; tries++) {
        int taken = 0;
        tdi_status st;

        set_run_id(rc, time(NULL));
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
    time_t now = time(NULL);
    tdi_status st;

    st = check_year(rc);
    if (st == TDI_OK)
        st = sweep(rc);
    if (st == TDI_OK)
        st = transform_open(rc->cfg, rc->year, today_ymd(now), &rc->tx);
    if (st == TDI_OK)
        st = tdi_hash_new(&rc->hash);
    if (st == TDI_OK)
        st = report_ensure_dir(rc->cfg->work_dir);
    if (st == TDI_OK)
        st = run_spool_open(rc->cfg->work_dir, sizeof(spool_entry), &rc->spool);
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
        rc->src[si].routed = calloc(rc->cfg->nbodies, 1);
        if (!rc->src[si].routed)
            return TDI_ERR_INTERNAL;
    }
    rc->meta = (report_meta){
        .output_dir = rc->cfg->output_dir,
        .schema_dir = rc->cfg->schema_dir,
        .run_id = rc->run_id,
        .generated = rc->generated,
        .year = rc->year,
        .gzip_level = rc->cfg->gzip_level,
    };
    return TDI_OK;
}

/* Extract, compute the delta, publish. Returns the run's status; source failures are in it
 * only through run_status(). */
/* Seconds since the last call (the phases' times in --verbose). */
static double lap(void)
{
    static struct timespec last;
    struct timespec now;
    double d;

    clock_gettime(CLOCK_MONOTONIC, &now);
    d = last.tv_sec ? (double)(now.tv_sec - last.tv_sec) + (now.tv_nsec - last.tv_nsec) / 1e9 : 0;
    last = now;
    return d;
}

static tdi_status work(run_ctx *rc)
{
    tdi_status st = TDI_OK;

    printf("tdi run %s: reporting year %d, %zu sources, %zu bodies%s\n", rc->run_id, rc->year,
           rc->cfg->nsources, rc->cfg->nbodies, rc->full ? ", full read" : "");
    for (size_t si = 0; si < rc->cfg->nsources && st == TDI_OK; si++) {
        run_source *s = &rc->src[si];

        st = plan_source(rc, s);
        if (st == TDI_ERR_CROSSWALK) { /* its crosswalk is unreadable: the source fails */
            s->status = st;
            s->attempts = 1;
            snprintf(s->error, sizeof s->error, "%s", tdi_log_last_error());
            printf("source %s: FAILED: %s\n", s->cfg->name, s->error);
            st = TDI_OK;
            continue;
        }
        (void)lap();
        if (st == TDI_OK)
            st = read_source(rc, si);
        tdi_debug("source %s: read in %.1f s", s->cfg->name, lap());
    }
    if (st == TDI_OK && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    if (st == TDI_OK)
        st = load_spool(rc, 0);
    if (st == TDI_OK)
        st = check_duplicates(rc);
    if (st == TDI_OK)
        st = decide_served(rc);
    if (st == TDI_OK)
        st = compute_actions(rc);
    tdi_debug("delta: %" PRIu64 " spool entries to the state database, actions computed, in %.1f s",
              run_spool_count(rc->spool), lap());
    if (st == TDI_OK)
        st = check_disclosure(rc);
    tdi_debug("disclosure: re-identification check in %.1f s", lap());
    if (st == TDI_OK)
        st = publish_bodies(rc);
    tdi_debug("bodies: files written and published in %.1f s", lap());
    if (st == TDI_OK && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    {
        tdi_status qst = publish_quarantine(rc, st == TDI_OK);
        st = worse(st, qst);
        tdi_debug("quarantine: files published in %.1f s", lap());
    }
    return st;
}

static tdi_status run_status(const run_ctx *rc, tdi_status st)
{
    for (size_t si = 0; rc->src && si < rc->cfg->nsources; si++)
        st = worse(st, rc->src[si].status);
    for (size_t b = 0; rc->body && b < rc->cfg->nbodies; b++)
        st = worse(st, rc->body[b].disclosure);
    return st;
}

/* The message of the ledger row: the first failure. */
static void run_message(run_ctx *rc, tdi_status st)
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

static void cleanup(run_ctx *rc)
{
    for (size_t si = 0; rc->src && si < rc->cfg->nsources; si++) {
        report_quarantine_abort(rc->src[si].quarantine);
        free(rc->src[si].routed);
    }
    free(rc->src);
    free(rc->body);
    free(rc->takes);
    run_spool_close(rc->spool);
    tdi_hash_free(rc->hash);
    transform_close(rc->tx);
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
    if (rc.delta_ready && st != TDI_ERR_STATE) {
        tdi_status cst = decide_advance(&rc);
        st = run_status(&rc, st);
        run_message(&rc, st);
        if (cst == TDI_OK)
            cst = commit(&rc, st);
        if (cst == TDI_OK)
            cst = state_commit_end(rc.state, rc.year, rc.run_no, st, rc.message);
        tdi_debug("commit: the state database brought up to date in %.1f s", lap());
        if (cst != TDI_OK) {
            state_commit_abort(rc.state);
            st = worse(st, TDI_ERR_STATE);
        }
    } else {
        st = run_status(&rc, st);
        run_message(&rc, st);
        state_commit_abort(rc.state);
        if (st != TDI_ERR_STATE)
            (void)state_run_end(rc.state, rc.run_no, st, rc.message);
    }

    if (st == TDI_OK || fatal == TDI_OK) {
        printf("balance: extracted %lu = written %lu + quarantined %lu\n", rc.extracted, rc.written,
               rc.quarantined);
        if (rc.extracted != rc.written + rc.quarantined) {
            tdi_error("row counts do not balance");
            st = TDI_ERR_INTERNAL;
        }
    }
    if (st == TDI_ERR_INTERRUPTED)
        tdi_error("stopped by signal %d; %s", tdi_stop_requested(),
                  rc.published ? "the files listed above are published and recorded"
                               : "nothing of this run was published");
    else if (st != TDI_OK && rc.published)
        tdi_error("run failed (%s) after publishing the %d files listed above", tdi_status_name(st),
                  rc.published);
    else if (st != TDI_OK)
        tdi_error("run failed (%s); nothing of this run was published", tdi_status_name(st));
    fflush(stdout);
    cleanup(&rc);
    return st;
}
