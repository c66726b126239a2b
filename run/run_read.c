/*
 * run_read: reading the sources. Plans each source (full, or incremental from its watermark less
 * the overlap, by its fingerprint), then streams it extract -> transform -> spool, one spool
 * entry per record and body that takes it, with that body's pseudonyms; quarantine rows and their
 * keys, the rows seen and the key scan of an incremental read go along. A transient failure is
 * retried with backoff; nothing of a failed attempt stays.
 *
 * A read touches only what is its own (its reader, its source's run_source, its spool or
 * segment, its key files, its quarantine file), so reads of several sources run at once
 * (run_pool.c); the merge, on the run's thread and in source order, does what is shared: the
 * run's spool, the state database, stdout and the run's counts. A source read on the run's
 * thread itself sends its records to the state database as it spools them (run_load_spooled()).
 */
#include "run_int.h"
#include "run_sealed.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"
#include "../common/tdi_text.h"
#include "../common/tdi_version.h"
#include "../extract/extract.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ planning a source */

/* What shapes a source's records besides its rows: when any of it changes, records the rows
 * did not change may change too, so the source is read in full once. This is the config's part
 * (s->config_fp); the columns the query yields are added when it is described (read_once). The
 * tag changes when tdi writes unchanged rows differently (4: continuing clients' bottom-coded
 * year, issue 17) or the fingerprint covers more (5: the columns). */
static tdi_status fingerprint(run_ctx *rc, run_source *s)
{
    const tdi_source_config *src = s->cfg;
    const char *fields[] = {"tdi-source-fingerprint-5",
                            TDI_VERSION,
                            src->query,
                            src->region,
                            src->incremental ? src->incremental : "",
                            tdi_nid_scheme_names[src->national_id]};
    tdi_status st = transform_begin_source(rc->tx, src);

    if (st != TDI_OK)
        return st;
    tdi_hash_begin(rc->hash);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        tdi_hash_field(rc->hash, fields[i]);
    /* Each body's routing and key id (a new master key changes every pseudonym). */
    for (size_t b = 0; b < rc->cfg->nbodies; b++) {
        const tdi_body_config *body = &rc->cfg->bodies[b];

        tdi_hash_field(rc->hash, body->name);
        tdi_hash_field(rc->hash, transform_body_key_id(rc->tx, b));
        tdi_hash_field(rc->hash, body->quarter ? "quarter" : "year");
        for (size_t i = 0; i < body->nregions; i++)
            tdi_hash_field(rc->hash, body->regions[i]);
        tdi_hash_field(rc->hash, "");
        for (size_t i = 0; i < body->ncentres; i++)
            tdi_hash_field(rc->hash, body->centres[i]);
        tdi_hash_field(rc->hash, "");
    }
    st = tdi_hash_file_into(rc->hash, src->crosswalk, TDI_ERR_CROSSWALK);
    if (st == TDI_OK && src->region_map)
        st = tdi_hash_file_into(rc->hash, src->region_map, TDI_ERR_CONFIG);
    if (st == TDI_OK)
        tdi_hash_end(rc->hash, s->config_fp, 64);
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
    /* Incremental unless the fingerprint changed, which read_once knows once it has the columns. */
    st = state_time_minus(rc->state, s->mark.watermark, rc->cfg->incremental_overlap, s->since,
                          sizeof s->since);
    if (st == TDI_OK)
        s->full_read = 0;
    return st;
}

/* ------------------------------------------------------------------ reading a source */

/* One episode of the key scan: its key into the digest, and the pair (run_int.h's s->ids). */
static tdi_status present_key(run_source *s, const char *id, const unsigned char k[RUN_KEY_BYTES])
{
    tdi_status st = run_keys_add(s, k);

    /* the id with its \0: one from a text COPY has none inside; unlocked: this thread's file */
    if (st == TDI_OK && (fwrite_unlocked(k, RUN_KEY_BYTES, 1, s->ids) != 1 ||
                         fwrite_unlocked(id, strlen(id) + 1, 1, s->ids) != 1)) {
        tdi_error("spool: writing a source's keys failed: %s", strerror(errno));
        st = TDI_ERR_OUTPUT;
    }
    return st;
}

/* buf (of *cap bytes, len of them read) doubled; the old copy wiped: it holds ids. */
static tdi_status grow_block(unsigned char **buf, size_t *cap, size_t len)
{
    unsigned char *more = *cap <= SIZE_MAX / 2 ? malloc(*cap * 2) : NULL;

    if (!more) {
        tdi_error("out of memory");
        return TDI_ERR_INTERNAL;
    }
    memcpy(more, *buf, len);
    explicit_bzero(*buf, *cap);
    free(*buf);
    *buf = more;
    *cap *= 2;
    return TDI_OK;
}

/* A block of pairs at a time, not a pair at a time through stdio: two calls a pair, 4M a night
 * of 2M ids, cost 0.08 s a scan (docs/benchmark.md, 2026-12-07 07:50). A pair cut by the end of
 * a block moves to its front, before the next read; a longer id than a block grows it. */
tdi_status run_ids_scan(FILE *fp, run_pair_fn fn, void *arg)
{
    size_t cap = 65536, len = 0, at = 0, got;
    unsigned char *buf = NULL, *nul;
    tdi_status st = TDI_OK;

    if (!fp || fseek(fp, 0, SEEK_SET) != 0) { /* also where a write of it failed */
        tdi_error("spool: reading a source's keys failed: %s", fp ? strerror(errno) : "none kept");
        return TDI_ERR_OUTPUT;
    }
    if (!(buf = malloc(cap))) {
        tdi_error("out of memory");
        return TDI_ERR_INTERNAL;
    }
    while (st == TDI_OK) {
        /* the key's bytes may hold a \0: the id's end is looked for after them */
        nul = len - at > RUN_KEY_BYTES
                  ? memchr(buf + at + RUN_KEY_BYTES, '\0', len - at - RUN_KEY_BYTES)
                  : NULL;
        if (nul) {
            st = fn(arg, buf + at, (const char *)buf + at + RUN_KEY_BYTES);
            at = (size_t)(nul - buf) + 1;
            continue;
        }
        memmove(buf, buf + at, len - at);
        len -= at;
        at = 0;
        if (len == cap && (st = grow_block(&buf, &cap, len)) != TDI_OK)
            break;
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got > 0)
            continue;
        if (ferror(fp) || len > 0) { /* else the end; with bytes left, a pair cut short */
            tdi_error("spool: reading a source's keys failed: %s",
                      ferror(fp) ? strerror(errno) : "cut short");
            st = TDI_ERR_OUTPUT;
        }
        break;
    }
    explicit_bzero(buf, cap); /* the ids read: a clinic's own */
    free(buf);
    return st;
}

/* The key scan of an incremental read in ex's snapshot: every episode of the year with an id
 * into s->ids (the pair) and the scan's digest. */
static tdi_status read_keys(run_ctx *rc, run_reader *rd, size_t si, extract_source *ex)
{
    run_source *s = &rc->src[si];
    unsigned char key[RUN_KEY_BYTES];
    const char *id;
    tdi_status st;
    int eof = 0, has_key;

    _Static_assert(RUN_KEY_BYTES == TRANSFORM_STATE_KEY_BYTES, "a state key's bytes");
    st = extract_keys_begin(ex);
    while (st == TDI_OK) {
        if (run_stopping(rc))
            return TDI_ERR_INTERRUPTED;
        st = extract_key_next(ex, &id, &eof);
        if (st != TDI_OK || eof)
            break;
        /* as bytes: its text, made and parsed back, cost 0.07 s a night of 2M ids */
        st = transform_state_key_bytes(rd->tx, id, key, &has_key);
        if (st == TDI_OK && has_key)
            st = present_key(s, id, key);
    }
    return st;
}

/* The unmapped codes and rule counts of the source just read, kept for its merge. */
static tdi_status keep_report(run_reader *rd, run_source *s)
{
    FILE *fp = open_memstream(&s->report, &s->report_len);

    if (!fp) {
        tdi_error("source %s: out of memory", s->cfg->name);
        return TDI_ERR_INTERNAL;
    }
    transform_print_source_report(rd->tx, &s->hits, fp);
    transform_rule_hits(rd->tx, &s->read_hits);
    tdi_rule_hits_add(&s->read_hits, &s->hits);
    if (fclose(fp) != 0) {
        tdi_error("source %s: out of memory", s->cfg->name);
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}

static void close_keys(run_source *s)
{
    if (s->seen)
        fclose(s->seen); /* unlinked temp files: nothing to keep */
    s->seen = NULL;
    if (s->rejected)
        fclose(s->rejected);
    s->rejected = NULL;
    free(s->keysum);
    s->keysum = NULL;
    s->nkeys = 0;
}

void run_source_release(run_source *s)
{
    close_keys(s);
    run_spool_close(s->seg);
    s->seg = NULL;
    free(s->report);
    s->report = NULL;
    s->report_len = 0;
}

void run_snapshot_close(run_source *s)
{
    /* Read only: how its transaction ends changes nothing; a lost connection is no failure. */
    (void)extract_close(s->snap);
    s->snap = NULL;
    if (s->ids)
        fclose(s->ids); /* sealed and unlinked: nothing to keep */
    s->ids = NULL;
}

/* s->fingerprint: the config's part and the columns ex's query yields, names and types in
 * order (a new column changes the records of rows that did not change). One that differs from
 * the last run's makes an incremental read a full one: a full read replaces, nothing is lost. A
 * fingerprint kept by an earlier tdi (without the columns) differs too: one full read. */
static void columns_fingerprint(run_reader *rd, run_source *s, const extract_source *ex)
{
    char type[16];

    tdi_hash_begin(rd->hash);
    tdi_hash_field(rd->hash, s->config_fp);
    for (int i = 0; i < extract_ncolumns(ex); i++) {
        unsigned oid;

        tdi_hash_field(rd->hash, extract_column(ex, i, &oid));
        snprintf(type, sizeof type, "%u", oid);
        tdi_hash_field(rd->hash, type);
    }
    tdi_hash_end(rd->hash, s->fingerprint, 64);
    if (!s->full_read && strcmp(s->mark.fingerprint, s->fingerprint) != 0) {
        tdi_info("source %s: its crosswalk, query, the columns the query yields, routing or key "
                 "changed since the last run: reading it in full",
                 s->cfg->name);
        s->full_read = 1;
        s->since[0] = '\0';
    }
}

/* One attempt at a source. What it leaves on failure (spool entries, quarantine rows, keys) the
 * caller drops. */
static tdi_status read_once(run_ctx *rc, run_reader *rd, run_spool *spool, size_t si)
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
    st = transform_begin_source(rd->tx, s->cfg);
    if (st == TDI_OK)
        st = report_quarantine_open(&rc->meta, s->cfg->name, &s->quarantine);
    if (st == TDI_OK) /* the quarantined rows' keys, for the duplicate check */
        st = run_spool_stream(rc->cfg->work_dir, &s->rejected);
    if (st == TDI_OK)
        st = extract_connect(s->cfg, rc->year, &ex);
    if (st == TDI_OK)
        columns_fingerprint(rd, s, ex);
    /* An incremental read tells the state database every row it read (a row read now that a
     * body holds and does not get any more is deleted there) and every episode of the year. */
    if (st == TDI_OK && !s->full_read)
        st = run_spool_stream(rc->cfg->work_dir, &s->seen);
    if (st == TDI_OK && !s->full_read)
        st = run_sealed_open(rc->cfg->work_dir, &s->ids);
    if (st == TDI_OK)
        st = extract_rows_begin(ex, s->full_read ? NULL : s->since);
    if (st == TDI_OK)
        st = run_read_rows(rc, rd, spool, si, ex, spool == rc->spool);
    if (st == TDI_OK && s->cfg->incremental)
        snprintf(s->max_changed, sizeof s->max_changed, "%s", extract_max_changed(ex));
    if (st == TDI_OK && !s->full_read)
        st = read_keys(rc, rd, si, ex);
    /* Kept for the episodes whose counting may change unread (run_read_episodes()). */
    if (st == TDI_OK && !s->full_read) {
        s->snap = ex;
        ex = NULL;
    }
    if (ex) {
        cst = extract_close(ex);
        if (st == TDI_OK)
            st = cst;
    }
    if (st == TDI_OK)
        st = keep_report(rd, s);
    return st;
}

/* A failed attempt leaves nothing: not its spool entries, keys, report or quarantine file. */
static tdi_status drop_attempt(run_source *s, run_spool *spool, uint64_t mark)
{
    report_quarantine_abort(s->quarantine);
    s->quarantine = NULL;
    close_keys(s);
    run_snapshot_close(s);
    free(s->report);
    s->report = NULL;
    return run_spool_truncate(spool, mark);
}

tdi_status run_read_one(run_ctx *rc, run_reader *rd, size_t si, run_spool *spool)
{
    run_source *s = &rc->src[si];
    long delay = rc->cfg->retry_delay_ms;
    uint64_t mark;
    /* the entries before the mark placed: a failed attempt's cut leaves them whole */
    tdi_status st = run_spool_mark(spool, &mark);

    if (st != TDI_OK)
        return st;
    for (s->attempts = 1;; s->attempts++) {
        int transient;

        tdi_log_clear_thread_error();
        st = read_once(rc, rd, spool, si);
        if (st == TDI_OK)
            break;
        transient = st == TDI_ERR_SOURCE && extract_failure_transient();
        snprintf(s->error, sizeof s->error, "%s", tdi_log_thread_error());
        if (spool == rc->spool)
            run_load_discard(rc);
        {
            tdi_status tst = drop_attempt(s, spool, mark);
            if (tst != TDI_OK)
                return tst;
        }
        if (!run_source_failure(st))
            break; /* interrupted, disk full, out of memory: the run stops */
        if (!transient || s->attempts >= rc->cfg->retry_attempts)
            break;
        tdi_warn("source %s: attempt %d of %d failed; trying again in %ld ms", s->cfg->name,
                 s->attempts, rc->cfg->retry_attempts, delay);
        st = tdi_sleep_ms(delay);
        if (st == TDI_OK && atomic_load(&rc->abort))
            st = TDI_ERR_INTERRUPTED;
        if (st != TDI_OK)
            break;
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    /* the ledger records how the source ended, also when the run stops with it */
    s->status = st;
    if (st != TDI_OK)
        s->extracted = s->written = s->quarantined = 0;
    return run_source_failure(st) ? TDI_OK : st;
}

/* Source si's keys of one kind into the state database. The rows quarantined only when there are
 * some: a read whose rows all pass costs the state database nothing more. */
static tdi_status merge_keys(run_ctx *rc, size_t si, FILE *fp, state_copy table)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    tdi_status st, cst;

    if (!fp || (table == STATE_COPY_REJECTED && ftello(fp) == 0))
        return TDI_OK;
    if (fflush(fp) != 0 || fseek(fp, 0, SEEK_SET) != 0) {
        tdi_error("spool: reading a source's keys failed: %s", strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    st = state_copy_begin(rc->state, table);
    while (st == TDI_OK && (n = getline(&line, &cap, fp)) > 0) {
        line[n - 1] = '\0';
        st = state_put_key(rc->state, (int)si, line);
    }
    if (st == TDI_OK && ferror(fp)) {
        tdi_error("spool: reading a source's keys failed: %s", strerror(errno));
        st = TDI_ERR_OUTPUT;
    }
    free(line);
    cst = state_copy_end(rc->state, st != TDI_OK);
    return st != TDI_OK ? st : cst;
}

/* A parallel read's segment appended to the run's spool. */
static tdi_status merge_segment(run_ctx *rc, run_spool *seg)
{
    spool_entry e;
    uint64_t n = seg ? run_spool_count(seg) : 0;
    tdi_status st = TDI_OK;

    for (uint64_t i = 0; i < n && st == TDI_OK; i++) {
        st = run_spool_read(seg, i, &e);
        if (st == TDI_OK)
            st = run_spool_append(rc->spool, &e);
    }
    return st;
}

/* The rule raised most often (the first in table order of equals). */
static tdi_rule_idx top_rule(const tdi_rule_hits *hits)
{
    int top = 0;

    for (int i = 1; i < TDI_RULE_COUNT; i++)
        if (hits->n[i] > hits->n[top])
            top = i;
    return (tdi_rule_idx)top;
}

/* A source that gave no records, while the bodies hold episodes of the year from it, has more
 * likely lost them to a broken view (a wrong WHERE, a truncated table) than the clinic all its
 * clients: publishing would delete every one from every body. It fails like a source that could
 * not be read, unless --allow-empty names it. Empty is no record written: a full read deletes
 * what its quarantined rows held (st_gone()), and an incremental read with no episode of the year
 * in its key scan deletes everything too; one that only found nothing changed is not empty.
 * Asked only of a read that gave nothing, so a night pays nothing for it. */
static tdi_status check_empty(run_ctx *rc, run_source *s)
{
    unsigned long held = 0;
    char what[128];
    tdi_status st;

    if (s->written > 0 || (!s->full_read && s->nkeys > 0))
        return TDI_OK;
    st = state_source_held(rc->state, s->cfg->name, rc->year, &held);
    if (st != TDI_OK || held == 0)
        return st;
    if (!s->full_read)
        snprintf(what, sizeof what, "its key scan found no episode of %d", rc->year);
    else if (s->extracted == 0)
        snprintf(what, sizeof what, "a full read gave no rows");
    else { /* the quarantine file is not published: its most frequent rule says why */
        tdi_rule_idx top = top_rule(&s->read_hits);

        snprintf(what, sizeof what,
                 "a full read gave no records (all %lu rows quarantined, most by %s: %lu)",
                 s->extracted, tdi_rule_at(top)->id, s->read_hits.n[top]);
    }
    if (s->allow_empty) {
        tdi_warn(
            "source %s: %s: its %lu episodes of %d are deleted from every body (--allow-empty)",
            s->cfg->name, what, held, rc->year);
        return TDI_OK;
    }
    tdi_log_clear_last_error();
    tdi_error("source %s: %s, while the bodies hold %lu of its episodes of %d: nothing of it is "
              "published. Check the source query and the tables behind it; if the clinic really "
              "has no episodes of %d, run with --allow-empty=%s to delete them",
              s->cfg->name, what, held, rc->year, rc->year, s->cfg->name);
    snprintf(s->error, sizeof s->error, "%s", tdi_log_last_error());
    s->status = TDI_ERR_SOURCE;
    s->extracted = s->written = s->quarantined = 0;
    report_quarantine_abort(s->quarantine);
    s->quarantine = NULL;
    run_snapshot_close(s);
    return TDI_OK;
}

tdi_status run_merge_source(run_ctx *rc, size_t si)
{
    run_source *s = &rc->src[si];
    tdi_status st = TDI_OK;

    if (s->status == TDI_OK && (st = check_empty(rc, s)) != TDI_OK) {
        run_source_release(s);
        return st;
    }
    if (s->status != TDI_OK && s->unread) /* planning failed it */
        printf("source %s: FAILED: %s\n", s->cfg->name, s->error);
    else if (s->status != TDI_OK)
        printf("source %s: FAILED after %d attempt%s: %s\n", s->cfg->name, s->attempts,
               s->attempts == 1 ? "" : "s", s->error);
    if (s->status != TDI_OK) {
        run_source_release(s);
        return TDI_OK;
    }
    st = merge_segment(rc, s->seg);
    if (st == TDI_OK)
        st = run_load_spool(rc);
    if (st == TDI_OK)
        st = merge_keys(rc, si, s->seen, STATE_COPY_SEEN);
    /* after every record of the source: state_put_key() looks for each key among them */
    if (st == TDI_OK)
        st = merge_keys(rc, si, s->rejected, STATE_COPY_REJECTED);
    if (st == TDI_OK)
        st = run_keys_merge(rc, si);
    if (st == TDI_OK) {
        if (s->full_read)
            printf("source %s: extracted %lu, written %lu, quarantined %lu\n", s->cfg->name,
                   s->extracted, s->written, s->quarantined);
        else
            printf("source %s: extracted %lu, written %lu, quarantined %lu (changed since %s)\n",
                   s->cfg->name, s->extracted, s->written, s->quarantined, s->since);
        if (s->report_len > 0)
            fwrite(s->report, 1, s->report_len, stdout);
        rc->extracted += s->extracted;
        rc->written += s->written;
        rc->quarantined += s->quarantined;
    }
    run_source_release(s);
    return st;
}

/* ------------------------------------------------------------------ episodes read again */

static int key_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++) {
        explicit_bzero(ids[i], strlen(ids[i])); /* a clinic's own episode id */
        free(ids[i]);
    }
    free(ids);
}

/* The ids found so far of the keys wanted (keys: nkeys sorted, STATE_KEY_WIDTH apart). bucket:
 * a bit for each 16-bit key prefix among them, so the scan's other keys (nearly all: a night
 * wants a few hundred of 2M) skip the binary search (strcmp was 5% of the night's client CPU). */
typedef struct wanted {
    const char *keys;
    size_t nkeys;
    char **ids;
    size_t nids, cap;
    unsigned char bucket[STATE_KEY_BUCKETS / 8];
} wanted;

static tdi_status want_key(void *arg, const unsigned char key[RUN_KEY_BYTES], const char *id)
{
    wanted *w = arg;
    unsigned prefix = run_key_bucket(key);
    char hex[RUN_KEY_CHARS + 1];

    if (!(w->bucket[prefix / 8] & 1u << prefix % 8))
        return TDI_OK;
    run_key_unpack(key, hex);
    if (!bsearch(hex, w->keys, w->nkeys, STATE_KEY_WIDTH, key_cmp))
        return TDI_OK;
    if (w->nids == w->cap) { /* an id on two rows: the duplicate check fails the source later */
        size_t cap = w->cap ? 2 * w->cap : 16;
        char **more = realloc(w->ids, cap * sizeof *more);
        if (!more) {
            tdi_error("out of memory");
            return TDI_ERR_INTERNAL;
        }
        w->ids = more;
        w->cap = cap;
    }
    if (!(w->ids[w->nids] = strdup(id))) {
        tdi_error("out of memory");
        return TDI_ERR_INTERNAL;
    }
    w->nids++;
    return TDI_OK;
}

/* The source's episode ids whose state keys are among w's keys: the state database holds only
 * the keys, so they are looked up in the pairs the read's key scan kept (s->ids, sealed). w->ids
 * in memory only (free_ids()): never written in the clear, never logged. */
static tdi_status find_ids(run_source *s, wanted *w)
{
    return run_ids_scan(s->ids, want_key, w);
}

/* The rows of the episodes ids into the run's spool, their keys into the rows seen (and the rows
 * quarantined). */
static tdi_status read_again(run_ctx *rc, run_reader *rd, size_t si, char **ids, size_t nids)
{
    run_source *s = &rc->src[si];
    tdi_status st = run_spool_stream(rc->cfg->work_dir, &s->seen);

    if (st == TDI_OK)
        st = run_spool_stream(rc->cfg->work_dir, &s->rejected);
    if (st == TDI_OK)
        st = extract_episodes_begin(s->snap, (const char *const *)ids, nids);
    if (st == TDI_OK)
        st = run_read_rows(rc, rd, rc->spool, si, s->snap, 0); /* a few rows */
    return st;
}

tdi_status run_read_episodes(run_ctx *rc, size_t si, const char *keys, size_t nkeys, int *done)
{
    run_source *s = &rc->src[si];
    run_reader rd = {rc->tx, rc->hash};
    unsigned long extracted = s->extracted, written = s->written, quarantined = s->quarantined;
    uint64_t from;
    tdi_status st = run_spool_mark(rc->spool, &from);
    wanted w = {.keys = keys, .nkeys = nkeys};

    *done = 0;
    if (st != TDI_OK)
        return st;
    memset(&s->hits, 0, sizeof s->hits);
    for (size_t i = 0; i < nkeys; i++) {
        unsigned prefix;

        if (run_key_prefix(keys + i * STATE_KEY_WIDTH, &prefix))
            w.bucket[prefix / 8] |= (unsigned char)(1u << prefix % 8);
    }
    st = transform_begin_source(rc->tx, s->cfg);
    if (st == TDI_OK)
        st = find_ids(s, &w);
    if (st == TDI_OK && w.nids < nkeys) {
        tdi_warn("source %s: %zu of the %zu episodes to read again are not in its snapshot",
                 s->cfg->name, nkeys - w.nids, nkeys);
        st = TDI_ERR_SOURCE;
    }
    if (st == TDI_OK)
        st = read_again(rc, &rd, si, w.ids, w.nids);
    free_ids(w.ids, w.nids);
    if (st == TDI_ERR_SOURCE) { /* the snapshot is lost or the source fails: read it in full */
        s->extracted = extracted;
        s->written = written;
        s->quarantined = quarantined;
        close_keys(s);
        /* What the attempt spooled is in no table: gone, or the full read's load would take it */
        return run_spool_truncate(rc->spool, from);
    }
    if (st == TDI_OK)
        st = merge_keys(rc, si, s->seen, STATE_COPY_SEEN);
    if (st == TDI_OK)
        st = run_load_spool(rc);
    if (st == TDI_OK) /* after the records, as in run_merge_source() (state_put_key()) */
        st = merge_keys(rc, si, s->rejected, STATE_COPY_REJECTED);
    close_keys(s);
    if (st != TDI_OK)
        return st;
    *done = 1;
    printf("source %s: read again %lu, written %lu, quarantined %lu (the same snapshot)\n",
           s->cfg->name, s->extracted - extracted, s->written - written,
           s->quarantined - quarantined);
    transform_print_source_report(rc->tx, &s->hits, stdout);
    rc->extracted += s->extracted - extracted;
    rc->written += s->written - written;
    rc->quarantined += s->quarantined - quarantined;
    return TDI_OK;
}

tdi_status run_read_source(run_ctx *rc, size_t si)
{
    run_reader rd = {rc->tx, rc->hash};
    tdi_status st = run_read_one(rc, &rd, si, rc->spool);

    return st == TDI_OK ? run_merge_source(rc, si) : st;
}
