/*
 * run_pool: the sources of a run, read max_parallel_sources at a time.
 *
 * Every source is planned first, on the run's thread (the state database says where each starts).
 * Then worker threads, each with a reader of its own (transform context, hash) made here before
 * any thread starts, take the next source in the configured order, read it into a spool segment
 * of its own (run_read_one: its own connection, counters, rule hits, quarantine file and key
 * files) and mark it done. The run's thread merges the sources in the configured order as they
 * are done (run_merge_source): the spool, the state database, stdout and the counts see what a
 * serial run gives them, so the files are the same whatever the setting. With one reader (the
 * setting is 1, or one source is left to read) no thread starts: the run's own reader writes
 * into the run's spool, source after source, as before there were workers.
 *
 * A reader's failure that stops the run (a signal, disk full, out of memory) or a failed merge
 * sets rc->abort: the readers stop at their next row, take no new source, the merging stops,
 * and every thread is joined before run_read_sources() returns, with the first such failure.
 */
#include "run_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool {
    run_ctx *rc;
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    size_t next;         /* the next source to take */
    unsigned char *done; /* per source: read or failed, ready for its merge */
    tdi_status fatal;    /* the first reader's failure that stops the run */
} pool;

typedef struct worker {
    pool *p;
    run_reader rd;
    pthread_t thread;
    int started;
} worker;

/* run_read_one between two log lines (--verbose): when each source's read began and ended shows
 * which reads overlapped. */
static tdi_status read_logged(run_ctx *rc, run_reader *rd, size_t si, run_spool *spool)
{
    double t0 = run_seconds();
    tdi_status st;

    tdi_debug("source %s: reading", rc->src[si].cfg->name);
    st = run_read_one(rc, rd, si, spool);
    tdi_debug("source %s: read in %.1f s", rc->src[si].cfg->name, run_seconds() - t0);
    return st;
}

/* Plans every source; one whose crosswalk cannot be read fails without being read. */
static tdi_status plan_all(run_ctx *rc, size_t *readable)
{
    *readable = 0;
    for (size_t si = 0; si < rc->cfg->nsources; si++) {
        run_source *s = &rc->src[si];
        tdi_status st = run_plan_source(rc, s);

        if (st == TDI_ERR_CROSSWALK) {
            s->status = st;
            s->attempts = 1;
            s->unread = 1;
            snprintf(s->error, sizeof s->error, "%s", tdi_log_last_error());
            continue;
        }
        if (st != TDI_OK)
            return st;
        (*readable)++;
    }
    return TDI_OK;
}

/* A worker's source index to read next, or nsources when there is none or the run stops. */
static size_t take(pool *p)
{
    run_ctx *rc = p->rc;
    size_t si = rc->cfg->nsources;

    (void)pthread_mutex_lock(&p->lock);
    if (tdi_stop_requested() && !atomic_load(&rc->abort)) {
        p->fatal = TDI_ERR_INTERRUPTED;
        atomic_store(&rc->abort, 1);
        (void)pthread_cond_broadcast(&p->done_cv);
    }
    if (!atomic_load(&rc->abort) && p->next < rc->cfg->nsources)
        si = p->next++;
    (void)pthread_mutex_unlock(&p->lock);
    return si;
}

static void *work(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    run_ctx *rc = p->rc;
    size_t si;

    while ((si = take(p)) < rc->cfg->nsources) {
        run_source *s = &rc->src[si];
        tdi_status st = TDI_OK;

        if (s->status == TDI_OK) { /* not failed by its plan */
            st = run_spool_open(rc->cfg->work_dir, sizeof(spool_entry), &s->seg);
            if (st == TDI_OK)
                st = read_logged(rc, &w->rd, si, s->seg);
            if (st == TDI_OK)
                st = run_spool_rest(s->seg); /* waiting for its merge, it holds no buffer */
        }
        (void)pthread_mutex_lock(&p->lock);
        /* A reader stopped by another's failure reports nothing: the first failure counts. */
        if (st != TDI_OK && !atomic_load(&rc->abort))
            p->fatal = st;
        if (st != TDI_OK)
            atomic_store(&rc->abort, 1);
        p->done[si] = 1;
        (void)pthread_cond_broadcast(&p->done_cv);
        (void)pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

/* The run's thread: each source merged in order once it is done; stops when the run does. */
static tdi_status merge_in_order(pool *p)
{
    run_ctx *rc = p->rc;
    tdi_status st = TDI_OK;

    for (size_t si = 0; si < rc->cfg->nsources && st == TDI_OK; si++) {
        int ready;

        (void)pthread_mutex_lock(&p->lock);
        while (!p->done[si] && !atomic_load(&rc->abort))
            (void)pthread_cond_wait(&p->done_cv, &p->lock);
        ready = p->done[si] && !atomic_load(&rc->abort);
        (void)pthread_mutex_unlock(&p->lock);
        if (!ready)
            break;
        st = run_merge_source(rc, si);
        if (st != TDI_OK)
            atomic_store(&rc->abort, 1);
    }
    return st;
}

static tdi_status read_parallel(run_ctx *rc, size_t nworkers)
{
    pool p = {.rc = rc, .fatal = TDI_OK};
    worker *w = calloc(nworkers, sizeof *w);
    tdi_status st = TDI_OK;

    p.done = calloc(rc->cfg->nsources, 1);
    if (!w || !p.done) {
        tdi_error("out of memory");
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    (void)pthread_mutex_init(&p.lock, NULL); /* default attributes: cannot fail on Linux */
    (void)pthread_cond_init(&p.done_cv, NULL);
    /* Readers are made before any thread starts: transform_open() runs the self-tests and reads
     * the key file on this thread; the readers share nothing afterwards. */
    for (size_t i = 0; i < nworkers && st == TDI_OK; i++) {
        w[i].p = &p;
        st = transform_open(rc->cfg, rc->year, rc->today, &w[i].rd.tx);
        if (st == TDI_OK)
            st = tdi_hash_new(&w[i].rd.hash);
    }
    for (size_t i = 0; i < nworkers && st == TDI_OK; i++) {
        int err = pthread_create(&w[i].thread, NULL, work, &w[i]);

        if (err != 0) {
            tdi_error("cannot start a reader thread: %s", strerror(err));
            st = TDI_ERR_INTERNAL;
            atomic_store(&rc->abort, 1);
            break;
        }
        w[i].started = 1;
    }
    if (st == TDI_OK)
        st = merge_in_order(&p);
    for (size_t i = 0; i < nworkers; i++)
        if (w[i].started)
            (void)pthread_join(w[i].thread, NULL);
    if (st == TDI_OK)
        st = p.fatal;
    (void)pthread_cond_destroy(&p.done_cv);
    (void)pthread_mutex_destroy(&p.lock);
done:
    for (size_t i = 0; w && i < nworkers; i++) {
        tdi_hash_free(w[i].rd.hash);
        transform_close(w[i].rd.tx);
    }
    free(w);
    free(p.done);
    return st;
}

tdi_status run_read_sources(run_ctx *rc)
{
    size_t readable = 0, nworkers;
    tdi_status st = plan_all(rc, &readable);

    if (st != TDI_OK)
        return st;
    nworkers = (size_t)rc->cfg->max_parallel_sources;
    if (nworkers > readable)
        nworkers = readable;
    if (nworkers > 1)
        return read_parallel(rc, nworkers);
    rc->load_as_read = 1; /* the state database is idle while a source is read */
    for (size_t si = 0; si < rc->cfg->nsources && st == TDI_OK; si++) {
        run_reader rd = {rc->tx, rc->hash};

        if (rc->src[si].status == TDI_OK)
            st = read_logged(rc, &rd, si, rc->spool);
        if (st == TDI_OK)
            st = run_merge_source(rc, si);
    }
    rc->load_as_read = 0;
    run_load_discard(rc); /* a run stopped between a read and its merge */
    return st;
}
