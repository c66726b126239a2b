/*
 * run_rows: a source's rows read into the spool, in two stages with items handed between them.
 *
 *   row stage (the run's thread): COPY row -> transform (crosswalks, rules, digests) -> state
 *     keys -> which bodies take it (R007) and each one's pseudonyms: a spool entry per body;
 *     the source's counts, rule hits and quarantine file
 *   spool stage: each entry's record hash -> the spool, which gives each entry its run_rec COPY
 *     line as a sorted run of entries takes its positions (run_spool_sort(),
 *     run_load_spooled()); the rows seen (an incremental read's key file) and the rows quarantined
 *     (their keys: an episode id repeated in a quarantined row is one too, state_duplicates())
 *
 * A source read on the run's thread runs the spool stage on a thread of its own (run_queue.h),
 * so both cores work on one source: the row stage owns the transform context (every key, every
 * HMAC) and the source's counts, the spool stage the reader's hash, the spool, the state
 * database's COPY and the rows seen. Reads of several sources at once (run_pool.c) keep both
 * stages on the reader's thread: the other core reads another source. The items go in row
 * order, so the spool and every file are the same either way.
 */
#include "run_int.h"
#include "run_queue.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"
#include "../common/tdi_text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ITEM_BATCH   256 /* items handed over at a time */
#define ITEM_BATCHES 8   /* batches in flight: at most 2048 entries in memory */

/* What an item of the row stage is for the spool stage: a spool entry, or a key (its e.eid) for
 * the rows seen, the rows quarantined, or both. */
enum { ITEM_SPOOL = 1, ITEM_SEEN = 2, ITEM_REJECTED = 4 };

typedef struct row_item {
    spool_entry e;
    unsigned char kind; /* ITEM_SPOOL, or ITEM_SEEN and/or ITEM_REJECTED */
} row_item;

/* What the spool stage owns while a source is read. */
typedef struct spool_stage {
    tdi_hash *hash;
    run_spool *spool;
    FILE *seen, *rejected;
    double cpu; /* seconds of CPU its thread used (--verbose) */
} spool_stage;

/* Where the row stage puts its items: the queue to the spool stage's thread, or (q NULL) the
 * spool stage at once, on this thread. */
typedef struct sink {
    spool_stage *ss;
    run_queue *q;
    row_item one;
} sink;

int run_stopping(run_ctx *rc)
{
    return tdi_stop_requested() || atomic_load(&rc->abort);
}

/* Seconds of CPU the calling thread has used. */
static double thread_cpu(void)
{
    struct timespec ts;

    return clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 ? ts.tv_sec + ts.tv_nsec / 1e9 : 0;
}

/* One state key a line into fp (a key file the merge copies into the state database). */
static tdi_status put_key(FILE *fp, const char *key)
{
    if (fputs(key, fp) < 0 || putc('\n', fp) == EOF) {
        tdi_error("spool: writing a source's keys failed: %s", strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    return TDI_OK;
}

/* The spool stage of one item. */
static tdi_status spool_item(spool_stage *ss, row_item *it)
{
    tdi_status st;

    if (it->kind != ITEM_SPOOL) {
        st = (it->kind & ITEM_SEEN) ? put_key(ss->seen, it->e.eid) : TDI_OK;
        if (st == TDI_OK && (it->kind & ITEM_REJECTED))
            st = put_key(ss->rejected, it->e.eid);
        return st;
    }
    st = report_record_hash(ss->hash, &it->e.rec, it->e.hash);
    it->e.rec.source = NULL; /* restored from the config on reading */
    /* the run's spool gives the entry to run_load_spooled() once placed (run_spool_sort()) */
    if (st == TDI_OK)
        st = run_spool_append(ss->spool, &it->e);
    return st;
}

/* The spool stage on its own thread: every item, in order, until the end or a failure. */
static tdi_status spool_thread(run_queue *q, void *arg)
{
    spool_stage *ss = arg;
    void *it;
    int end = 0;
    tdi_status st;

    while ((st = run_queue_take(q, &it, &end)) == TDI_OK && !end)
        if ((st = spool_item(ss, it)) != TDI_OK)
            break;
    ss->cpu = thread_cpu();
    return st;
}

/* An empty item to fill. */
static tdi_status sink_slot(sink *o, row_item **it)
{
    void *slot;
    tdi_status st;

    if (!o->q) {
        memset(&o->one, 0, sizeof o->one);
        *it = &o->one;
        return TDI_OK;
    }
    st = run_queue_slot(o->q, &slot);
    *it = slot;
    return st;
}

/* The item filled, to the spool stage. */
static tdi_status sink_push(sink *o)
{
    if (!o->q)
        return spool_item(o->ss, &o->one);
    run_queue_push(o->q);
    return TDI_OK;
}

/* An accepted record, once for each body that takes it, with that body's pseudonyms; *taken = 0
 * when none does (R007). */
static tdi_status spool_record(run_ctx *rc, transform_ctx *tx, sink *o, size_t si,
                               const tdi_record *rec, const char *eid, int *taken)
{
    row_item *it;
    char pkey[TDI_PSEUDONYM_MAX + 1];
    tdi_status st = transform_person_state_key(tx, pkey, sizeof pkey);

    *taken = 0;
    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++) {
        /* Routed by the centre's region (the source's), not the person's region of residence. */
        if (!tdi_config_body_takes(&rc->cfg->bodies[b], rc->cfg->sources[si].region, rec->centre))
            continue;
        st = sink_slot(o, &it);
        if (st != TDI_OK)
            break;
        it->kind = ITEM_SPOOL;
        it->e.src = (uint32_t)si;
        it->e.body = (uint32_t)b;
        it->e.rec = *rec;
        if (!rc->cfg->bodies[b].quarter)
            it->e.rec.quarter = 0; /* dates leave as the year only */
        tdi_append(it->e.eid, sizeof it->e.eid, 0, eid);
        memcpy(it->e.pkey, pkey, sizeof it->e.pkey);
        st = transform_pseudonymise(tx, b, &it->e.rec);
        if (st == TDI_OK)
            st = sink_push(o);
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

/* A row's key for the rows seen (s->seen: the state database learns of every row an incremental
 * read read) and/or the rows quarantined (kind). */
static tdi_status key_item(sink *o, const char *eid, unsigned char kind)
{
    row_item *it;
    tdi_status st = sink_slot(o, &it);

    if (st != TDI_OK)
        return st;
    it->kind = kind;
    tdi_append(it->e.eid, sizeof it->e.eid, 0, eid);
    return sink_push(o);
}

/* The state key's text of a rejected row's episode id (*has_key 0: none), for the rows seen and
 * the rows quarantined. */
static tdi_status rejected_key(transform_ctx *tx, const char *id, char eid[RUN_KEY_CHARS + 1],
                               int *has_key)
{
    unsigned char k[RUN_KEY_BYTES];
    tdi_status st = transform_state_key_bytes(tx, id, k, has_key);

    if (st == TDI_OK && *has_key)
        run_key_unpack(k, eid);
    return st;
}

/* The row stage of one row. */
static tdi_status row_stage(run_ctx *rc, transform_ctx *tx, sink *o, size_t si,
                            const tdi_raw_row *row)
{
    run_source *s = &rc->src[si];
    char key[TDI_EPISODE_KEY_MAX + 32], eid[TDI_EPISODE_KEY_MAX + 1];
    tdi_record rec;
    tdi_rejection rej;
    int accepted, taken, has_eid;
    tdi_status st = transform_row(tx, row, &rec, &rej, &accepted);

    has_eid = st == TDI_OK && accepted; /* an accepted row has an episode id */
    if (has_eid)
        st = transform_episode_state_key(tx, eid, sizeof eid);
    else if (st == TDI_OK)
        st = rejected_key(tx, row->col[TDI_COL_EPISODE_ID], eid, &has_eid);
    if (st == TDI_OK && accepted) {
        st = spool_record(rc, tx, o, si, &rec, eid, &taken);
        if (st == TDI_OK && !taken) {
            /* The centre is the value: centre codes are not personal. */
            tdi_rule_raise(&s->hits, TDI_R007, NULL, rec.centre, &rej);
            accepted = 0;
        }
    }
    /* A quarantined row's id (R007's too) counts for the duplicate check as a record's does. */
    if (st == TDI_OK && has_eid && (s->seen || !accepted))
        st = key_item(o, eid, (s->seen ? ITEM_SEEN : 0) | (accepted ? 0 : ITEM_REJECTED));
    if (st != TDI_OK)
        return st;
    s->extracted++;
    if (accepted) {
        s->written++;
        count_items(s, &rec);
        return TDI_OK;
    }
    transform_rejection_key(tx, row, key, sizeof key);
    s->quarantined++;
    return report_quarantine_add(s->quarantine, key, &rej);
}

tdi_status run_read_rows(run_ctx *rc, run_reader *rd, run_spool *spool, size_t si,
                         extract_source *ex, int two_threads)
{
    run_source *s = &rc->src[si];
    spool_stage ss = {.hash = rd->hash, .spool = spool, .seen = s->seen, .rejected = s->rejected};
    sink o = {.ss = &ss};
    tdi_raw_row row;
    double cpu = thread_cpu();
    tdi_status st = TDI_OK;
    int eof = 0;

    if (two_threads)
        st = run_queue_start(sizeof(row_item), ITEM_BATCH, ITEM_BATCHES, spool_thread, &ss, &o.q);
    while (st == TDI_OK) {
        if (run_stopping(rc))
            st = TDI_ERR_INTERRUPTED;
        else if ((s->extracted + 1) % PROGRESS_EVERY == 0)
            tdi_progress("source %s: %lu rows", s->cfg->name, s->extracted + 1);
        if (st == TDI_OK)
            st = extract_next(ex, &row, &eof);
        if (st != TDI_OK || eof)
            break;
        st = row_stage(rc, rd->tx, &o, si, &row);
    }
    tdi_progress_end();
    if (o.q) {
        st = run_queue_end(o.q, st);
        /* where the two stages' balance shows */
        tdi_debug("source %s: CPU of the row stage %.2f s, of the spool stage %.2f s", s->cfg->name,
                  thread_cpu() - cpu, ss.cpu);
    }
    explicit_bzero(&o.one, sizeof o.one);
    return st;
}
