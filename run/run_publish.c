/*
 * run_publish: what the run publishes. Per served body with changes, its file: its actions
 * fetched from the state database into a work file, the XML written from the spool in the order
 * of its episode keys (with the body's blanking), validated and published while the state database
 * records what was sent; its tables when every source feeding it was read in full (on a first
 * submission of the year counted while its file is written, else from what it holds, read again),
 * protected several bodies at once and published after every body's file; then the quarantine
 * files of the sources read.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "run_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"
#include "../disclosure/disclosure.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Body b's actions, what by what, fetched from the state database into an unnamed file in the
 * work directory (*fp, closed by the caller): the connection is then free for the commit's work
 * while the file is written, and memory stays flat. */
static tdi_status keep_actions(run_ctx *rc, size_t b, state_read what, FILE **fp, uint64_t *lines)
{
    tdi_status st = run_spool_stream(rc->cfg->work_dir, fp);

    return st != TDI_OK ? st : state_actions_save(rc->state, (int)b, what, *fp, lines);
}

static void close_actions(FILE *fp)
{
    if (fp)
        (void)fclose(fp); /* read only since the rewind: nothing to lose */
}

/* The buffers of a merge of the spool's runs (run_spool_merge_open()). */
#define MERGE_BUDGET (2u << 20)

/* Whether body b's file of n records reads the spool by a merge of its sorted runs from the
 * body's first key rather than an entry a position: when the file takes a sixteenth of the
 * spool or more (a first submission: all of it). A read per entry costs about what reading 16
 * entries in order does (1M: 963k reads, 1.3 s of system CPU); a night's few records out of a
 * source read in full are read by position. */
static tdi_status open_merge(run_ctx *rc, size_t b, uint64_t n, run_spool_merge **m)
{
    unsigned char from[RUN_SPOOL_KEY];

    *m = NULL;
    if (n * 16 < run_spool_count(rc->spool))
        return TDI_OK;
    run_body_key(b, from);
    return run_spool_merge_open(rc->spool, from, MERGE_BUDGET, m);
}

/* Whether (key a, position pa) comes before (b, pb) in the merge's order. */
static int merge_before(const unsigned char *a, uint64_t pa, const unsigned char *b, uint64_t pb)
{
    int c = memcmp(a, b, RUN_SPOOL_KEY);

    return c ? c < 0 : pa < pb;
}

/* The entry at pos, from the merge m when it comes next there (the records of a first
 * submission, each in turn). Otherwise it is read by its position, and the merge passes what
 * comes before it in key order: the entries the file does not take (a record not sent again,
 * another body's). An entry the merge has passed (actions not in key order) is read by position
 * too: the merge only saves reads, the actions decide the file. */
static tdi_status merged_entry(run_ctx *rc, run_spool_merge *m, uint64_t pos, spool_entry *e)
{
    unsigned char want[RUN_SPOOL_KEY], key[RUN_SPOOL_KEY];
    uint64_t at = 0;
    int eof = 0;
    tdi_status st;

    if (run_spool_merge_peek(m, &at, NULL) && at == pos) {
        st = run_spool_merge_next(m, &at, e, &eof);
        rc->spool_merged++;
        return st != TDI_OK ? st : run_entry_restore(rc, e);
    }
    st = run_read_entry(rc, pos, e);
    if (st != TDI_OK)
        return st;
    run_entry_key(e, want);
    while (st == TDI_OK && run_spool_merge_peek(m, &at, key) && !merge_before(want, pos, key, at))
        st = run_spool_merge_next(m, &at, NULL, &eof); /* up to and with pos */
    return st;
}

/* The next record of body b's actions (keep_actions()) from the spool (by position, or from the
 * merge m when not NULL), with what the state database decided of it: its entrant flag, its
 * treatment status from earlier years (R018 is counted in the pass). *eof at the end. */
static tdi_status next_record(run_ctx *rc, size_t b, FILE *fp, run_spool_merge *m, spool_entry *e,
                              state_action *a, int *eof)
{
    tdi_status st = state_actions_read(fp, a, eof);

    if (st != TDI_OK || *eof)
        return st;
    st = m ? merged_entry(rc, m, a->pos, e) : run_read_entry(rc, a->pos, e);
    rc->spool_reads++;
    if (st == TDI_OK && e->body != b)
        st = TDI_ERR_INTERNAL;
    if (st == TDI_OK) {
        (void)transform_history(&e->rec, a->entrant, !e->rec.continuing && a->earlier);
        e->rec.client = (uint8_t)a->client;
    }
    return st;
}

/* Body b's tables, empty, opened as the tables file's header wants them. */
static tdi_status open_tables(run_ctx *rc, size_t b, report_tables **t)
{
    tdi_status st;

    rc->meta.counting_level = tdi_counting_names[rc->cfg->bodies[b].counting];
    rc->meta.protection_level = rc->cfg->protection_level;
    st = report_tables_open(&rc->meta, rc->cfg->bodies[b].name, rc->cfg->suppression_threshold, t);
    rc->meta.counting_level = NULL;
    return st;
}

/* *with = 1 when body b's tables are counted while its file is written: on a first submission
 * of the year every record the body holds is an append of its file (state_first()), so a second
 * read of the spool for the tables would read the same records again (1M: 1.6-1.8 s); and only
 * when its tables are published (every source feeding it read in full). The test build can count
 * them by that second read as before (TDI_TEST_TABLES_REREAD), to compare the two. */
static tdi_status tables_with_file(run_ctx *rc, size_t b, int *with)
{
    size_t partial = 0;
    tdi_status st;

    *with = 0;
#ifdef TDI_TEST_HOOKS
    if (getenv("TDI_TEST_TABLES_REREAD"))
        return TDI_OK;
#endif
    if (!state_first(rc->state))
        return TDI_OK;
    st = run_read_in_full(rc, b, &partial);
    *with = st == TDI_OK && partial == rc->cfg->nsources;
    return st;
}

/* Body b's records, from its n actions in fp (open_merge() decides how the spool is read), into
 * w; each counted into t first when t is given: the tables count the records as they are, the
 * file shows the body's blanking. *moved: the appends written and the entrants among them (what
 * a first submission's file moves). */
static tdi_status write_records(run_ctx *rc, size_t b, FILE *fp, uint64_t n, report_writer *w,
                                report_tables *t, state_moved *moved)
{
    unsigned blank = rc->body[b].blank_mask;
    run_spool_merge *m = NULL;
    spool_entry e;
    state_action a;
    tdi_status st = open_merge(rc, b, n, &m);
    int eof = 0;

    while (st == TDI_OK) {
        if (tdi_stop_requested()) {
            st = TDI_ERR_INTERRUPTED;
            break;
        }
        st = next_record(rc, b, fp, m, &e, &a, &eof);
        if (st != TDI_OK || eof)
            break;
        if (t)
            st = report_tables_add(t, &e.rec);
        for (int q = 0; q < TDI_QI_COUNT; q++)
            if (blank & 1u << q)
                dc_qi_blank(&e.rec, (tdi_qi)q);
        if (st == TDI_OK)
            st = report_add_action(w, &e.rec, a.replace ? REPORT_REPLACE : REPORT_APPEND);
        moved->episodes += !a.replace;
        moved->entrants += !a.replace && a.entrant;
    }
    run_spool_merge_close(m);
    return st;
}

/* The body's file is published: the state database's record of it (the sequence, sent while the
 * file was read back) must go in with it. A stop now waits for that one statement's answer
 * rather than undo a record whose file is out (the run then stops before the next body). */
static tdi_status wait_published(run_ctx *rc)
{
    tdi_status st = state_commit_wait(rc->state);

    if (st == TDI_ERR_INTERRUPTED) {
        tdi_stop_acknowledge();
        st = state_commit_wait(rc->state);
    }
    return st;
}

/* Writes body b's file from its actions and the spool, and publishes it. The state database
 * records the actions as what the body was sent meanwhile, in the commit's transaction: the file
 * is published only when that succeeded, and the transaction commits after it (at least once).
 * On a first submission its tables are counted meanwhile (tables_with_file()) and kept in
 * rb->counted for tables_of(). */
static tdi_status publish_body(run_ctx *rc, size_t b)
{
    run_body *rb = &rc->body[b];
    report_writer *w = NULL;
    report_tables *t = NULL;
    FILE *episodes = NULL, *deletes = NULL;
    uint64_t n = 0;
    state_moved moved = {0, 0};
    state_action a;
    tdi_status st;
    int eof = 0, sent = 0, with = 0;
    double t0 = run_seconds(), t1 = 0;

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
        st = tables_with_file(rc, b, &with);
    if (st == TDI_OK && with)
        st = open_tables(rc, b, &t);
    if (st == TDI_OK)
        st = keep_actions(rc, b, t ? STATE_READ_FIRST : STATE_READ_EPISODES, &episodes, &n);
    /* A first submission deletes nothing: every action is an append (state_first()). */
    if (st == TDI_OK && !state_first(rc->state))
        st = keep_actions(rc, b, STATE_READ_DELETES, &deletes, NULL);
    if (st == TDI_OK) {
        st = state_commit_send(rc->state, rc->year, (int)b, rc->cfg->bodies[b].name, rb->sequence,
                               rb->counts.replaces + rb->counts.deletes == 0,
                               rc->cfg->bodies[b].reid.qi_mask & ~rb->blank_mask);
        sent = st == TDI_OK;
    }
    if (st == TDI_OK)
        st = write_records(rc, b, episodes, n, w, t, &moved);
    while (st == TDI_OK && deletes) {
        st = state_actions_read(deletes, &a, &eof);
        if (st != TDI_OK || eof)
            break;
        st = report_delete(w, a.ekey);
    }
    if (st == TDI_OK && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    t1 = run_seconds();
    if (st == TDI_OK)
        st = state_commit_wait(rc->state);
    tdi_debug("body %s: file written%s in %.1f s, the state database's record of it %.1f s later",
              rc->cfg->bodies[b].name, t ? " and its tables counted" : "", t1 - t0,
              run_seconds() - t1);
    /* The body's sequence is recorded while its file is read back (report_publish()). */
    if (st == TDI_OK)
        st = state_commit_sequence(rc->state, rc->year, rc->cfg->bodies[b].name, rb->sequence,
                                   rc->run_no, &moved);
    if (st == TDI_OK) {
        st = report_publish(w, &rb->pub);
        w = NULL;
    }
    if (st == TDI_OK)
        st = wait_published(rc);
    report_abort(w);
    /* Not published: what was recorded of it goes. Stopped, the undo is the winding down (one
     * statement): a wait it broke off would roll back the bodies published before this one. */
    if (st == TDI_ERR_INTERRUPTED)
        tdi_stop_acknowledge();
    if (st != TDI_OK && sent)
        st = run_worse(st, state_commit_undo(rc->state));
    close_actions(episodes);
    close_actions(deletes);
    if (st == TDI_OK)
        rb->counted = t;
    else
        report_tables_abort(t);
    rb->status = st;
    rb->published = st == TDI_OK;
    rc->published += rb->published;
    return st;
}

/* Body b's tables counted from every record it holds after this run, read again from the spool;
 * *t stays NULL (TDI_OK) when they are not published: a snapshot, so they are written only when
 * every source feeding the body was read in full this run (the records of the others are not in
 * this run's spool); the next full read brings them. *partial: the first source that was not,
 * else nsources. */
static tdi_status count_held(run_ctx *rc, size_t b, report_tables **t, size_t *partial)
{
    FILE *held = NULL;
    spool_entry e;
    state_action a;
    int eof = 0;
    tdi_status st = run_read_in_full(rc, b, partial);

    *t = NULL;
    if (st != TDI_OK || *partial < rc->cfg->nsources)
        return st;
    /* What the body holds, every record of it read this run (its sources were read in full),
     * with the counting unit: only entrants count. */
    st = open_tables(rc, b, t);
    if (st == TDI_OK)
        st = keep_actions(rc, b, STATE_READ_HELD, &held, NULL);
    while (st == TDI_OK) {
        st = next_record(rc, b, held, NULL, &e, &a, &eof);
        if (st == TDI_OK && !eof)
            st = report_tables_add(*t, &e.rec);
        if (eof)
            break;
    }
    close_actions(held);
    if (st != TDI_OK) {
        report_tables_abort(*t);
        *t = NULL;
    }
    return st;
}

/* Body b's tables to publish into *t: counted with its file (a first submission) or now from
 * what it holds (count_held()); *t stays NULL when they are not published (*partial: the source
 * read incrementally, else nsources). */
static tdi_status tables_of(run_ctx *rc, size_t b, report_tables **t, size_t *partial)
{
    run_body *rb = &rc->body[b];
    double t0 = run_seconds();
    tdi_status st = TDI_OK;

    *partial = rc->cfg->nsources;
    *t = rb->counted;
    rb->counted = NULL;
    if (!*t) {
        st = count_held(rc, b, t, partial);
        if (st == TDI_OK && *t)
            tdi_debug("tables %s: records counted in %.1f s", rc->cfg->bodies[b].name,
                      run_seconds() - t0);
    }
    if (st == TDI_OK && *t && tdi_stop_requested())
        st = TDI_ERR_INTERRUPTED;
    if (st != TDI_OK) {
        report_tables_abort(*t);
        *t = NULL;
    }
    return st;
}

/* Body b's tables t, protected (report_tables_protect()) with verdict pst: published, and the
 * official workbook made from them. Frees t. */
static tdi_status publish_protected(run_ctx *rc, size_t b, report_tables *t, tdi_status pst)
{
    run_body *rb = &rc->body[b];
    const char *name = rc->cfg->bodies[b].name;
    size_t hidden = 0;
    tdi_status st;
    double t1 = run_seconds();

    if (pst != TDI_OK) {
        report_tables_abort(t);
        return pst;
    }
    st = report_tables_publish(t, &rb->tables, &hidden);
    tdi_debug("tables %s: written in %.1f s", name, run_seconds() - t1);
    if (st != TDI_OK)
        return st;
    rb->tables_published = 1;
    rb->suppressed = hidden;
    rc->published++;
    /* The run report's trends come from the cells as published, never from the counts. */
    st = report_trend_cells(rb->tables.path, &rb->cells, &rb->ncells);
    if (st != TDI_OK)
        return st;
    printf("tables %s: %zu tables, %zu cells suppressed (%zu of them added by the audit) -> %s\n",
           name, report_tables_count(), hidden, rb->tables.audit_added, rb->tables.path);
    printf("tables %s: counting %lu " TDI_POPULATION " of %lu records\n", name, rb->tables.entrants,
           rb->tables.records);
    /* The official workbook filled in from them, next to them, with its manifest. */
    t1 = run_seconds();
    st = report_workbook_publish(rb->tables.path, rc->meta.schema_dir, &rb->workbook);
    tdi_debug("workbook %s: written in %.1f s", name, run_seconds() - t1);
    if (st != TDI_OK)
        return st;
    rb->workbook_published = 1;
    rc->published++;
    printf("workbook %s: %lu numbers -> %s\n", name, rb->workbook.records, rb->workbook.path);
    return TDI_OK;
}

/* ---- the bodies' tables protected at once ----
 * Protecting a body's tables (disclosure/: rounds of linear programs) is the dearest step of a
 * run whose bodies count few persons: on the sample clinics, a minute for one body whose tables
 * are protected as one set. The bodies' tables share nothing, so up to TABLES_THREADS of them
 * are protected at once, one a processor; they are counted before (the spool and the state
 * database are the run's thread's) and published after, in the configured order, so the files,
 * stdout and the run's verdict are what one after another gives. */
#define TABLES_THREADS 8 /* bodies protected at once, at most */

typedef struct tables_job {
    report_tables *t; /* NULL: not published (partial) */
    size_t body;
    size_t partial; /* tables_of() */
    tdi_status st;  /* report_tables_protect()'s verdict */
} tables_job;

typedef struct tables_group {
    tables_job *job;
    size_t n;
    atomic_size_t next; /* the next job to take */
    const run_ctx *rc;
} tables_group;

/* Takes the group's jobs until none is left. */
static void protect_jobs(tables_group *g)
{
    size_t k;

    while ((k = atomic_fetch_add(&g->next, 1)) < g->n) {
        double t0 = run_seconds();
        if (!g->job[k].t)
            continue;
        g->job[k].st = report_tables_protect(g->job[k].t);
        tdi_debug("tables %s: protected in %.1f s", g->rc->cfg->bodies[g->job[k].body].name,
                  run_seconds() - t0);
    }
}

static void *protect_thread(void *arg)
{
    protect_jobs(arg);
    (void)dc_glpk_release(); /* GLPK keeps a thread's state until it is freed */
    return NULL;
}

/* Protects the group's jobs on nthreads threads, this one among them; returns how many took
 * part (fewer when a thread cannot start). */
static size_t protect_group(tables_group *g, size_t nthreads)
{
    pthread_t th[TABLES_THREADS];
    size_t started = 0;

    /* SIGINT and SIGTERM stay with this thread; a thread that cannot start leaves its share to
     * the others. */
    while (started + 1 < nthreads && tdi_thread_start(&th[started], protect_thread, g) == 0)
        started++;
    protect_jobs(g);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return started + 1;
}

/* How many bodies' tables to protect at once: one a processor the run may use (its affinity:
 * taskset, a container's cpuset), when GLPK is re-entrant. */
static size_t tables_threads(void)
{
    cpu_set_t set;
    int cpus;

    if (sched_getaffinity(0, sizeof set, &set) != 0 || (cpus = CPU_COUNT(&set)) <= 1 ||
        !dc_glpk_threads())
        return 1;
    return cpus < TABLES_THREADS ? (size_t)cpus : TABLES_THREADS;
}

/* The tables of every body that published a file or has tables due, a group at a time. The
 * first failure in body order is returned; no body after it publishes tables, as before. */
static tdi_status publish_all_tables(run_ctx *rc)
{
    size_t nthreads = 0, b = 0;
    tables_job job[TABLES_THREADS];
    tdi_status st = TDI_OK;

    while (st == TDI_OK && b < rc->cfg->nbodies) {
        tables_group g = {job, 0, 0, rc};
        tdi_status cst = TDI_OK;
        size_t ntables = 0;

        for (; cst == TDI_OK && b < rc->cfg->nbodies && g.n < TABLES_THREADS &&
               (!nthreads || ntables < nthreads);
             b++) {
            report_tables *t = NULL;
            size_t partial;
            if (!rc->body[b].published && !rc->body[b].tables_due)
                continue;
            if (!nthreads) /* asked once there are tables to protect (it loads GLPK) */
                nthreads = tables_threads();
            cst = tables_of(rc, b, &t, &partial);
            if (cst == TDI_OK) {
                job[g.n++] = (tables_job){t, b, partial, TDI_OK};
                ntables += t != NULL;
            }
        }
        if (ntables > 0) {
            size_t used = protect_group(&g, nthreads < ntables ? nthreads : ntables);
            tdi_debug("tables of %zu %s protected on %zu %s", ntables,
                      ntables == 1 ? "body" : "bodies", used, used == 1 ? "thread" : "threads");
        }
        /* in config order, as one body after the other would say it */
        for (size_t k = 0; k < g.n; k++)
            if (st == TDI_OK && !job[k].t)
                printf("tables %s: not published: source %s was read incrementally (a full "
                       "read publishes them)\n",
                       rc->cfg->bodies[job[k].body].name, rc->src[job[k].partial].cfg->name);
            else if (st == TDI_OK)
                st = publish_protected(rc, job[k].body, job[k].t, job[k].st);
            else
                report_tables_abort(job[k].t);
        if (st == TDI_OK)
            st = cst;
    }
    return st;
}

/* What body b publishes this run: a file when it has changes, or when an earlier run may have
 * published one it did not record (its sequence comes again, empty if need be: a receiver keeps
 * the file of the larger runNo); else maybe its tables (rb->tables_due). Then marks what it is
 * about to publish, committed before any rename, so that a run that dies between a rename and
 * its commit leaves the mark to the next (docs/operations.md, "Publishing: at least once"). */
static tdi_status plan_body(run_ctx *rc, size_t b, int *publish)
{
    run_body *rb = &rc->body[b];
    const char *name = rc->cfg->bodies[b].name;
    int file = 0, tables = 0, due = 0;
    tdi_status st = state_publishing_left(rc->state, name, rc->year, &file, &tables);

    *publish = rb->counts.appends + rb->counts.replaces + rb->counts.deletes > 0 || file;
    if (st == TDI_OK && !*publish)
        st = state_tables_due(rc->state, name, rc->year, &due);
    rb->tables_due = !*publish && (due || tables);
    /* Its tables, whether or not this run can publish them (a full read): marked, they are due
     * to the next full read, as they are after any file. */
    if (st == TDI_OK && (*publish || rb->tables_due))
        st = state_publishing_mark(rc->state, name, rc->year, rc->run_no, *publish, 1);
    if (st == TDI_OK && file)
        printf("body %s: an earlier run may have published a file it did not record: its "
               "sequence number is published again\n",
               name);
    return st;
}

tdi_status run_publish_bodies(run_ctx *rc)
{
    tdi_status st = TDI_OK;
    unsigned char *publish = calloc(rc->cfg->nbodies + 1, 1);

    if (!publish) {
        tdi_error("out of memory planning the bodies' files");
        return TDI_ERR_INTERNAL;
    }
    /* Every mark before the first body's part of the commit begins its transaction. */
    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++) {
        int p = 0;
        if (rc->body[b].served)
            st = plan_body(rc, b, &p);
        publish[b] = (unsigned char)p;
    }
    for (size_t b = 0; b < rc->cfg->nbodies && st == TDI_OK; b++) {
        run_body *rb = &rc->body[b];
        const char *name = rc->cfg->bodies[b].name;

        if (!rb->served) {
            printf("body %s: nothing published: %s\n", name, rb->why);
            continue;
        }
        if (!publish[b]) {
            printf("body %s: no changes, nothing published\n", name);
            continue;
        }
        st = publish_body(rc, b);
        if (st == TDI_OK)
            printf("body %s: %lu records, %lu replaces, %lu deletes, sequence %" PRIu64 " -> %s\n",
                   name, rb->pub.records, rb->pub.replaces, rb->pub.deletes, rb->sequence,
                   rb->pub.path);
    }
    free(publish);
    /* Tables after every submission: a tables failure (disclosure) keeps no body waiting. */
    if (st == TDI_OK)
        st = publish_all_tables(rc);
    tdi_debug("bodies: %lu records read back from the spool for the files and tables, %lu of them "
              "in key order from its sorted runs",
              rc->spool_reads, rc->spool_merged);
    return st;
}

/* Quarantine files of the sources read, when they hold a row and differ from the source's last
 * one: a rerun that holds back the same rows publishes nothing new. With publish = 0 (the run
 * is stopping) they are all dropped. */
tdi_status run_publish_quarantine(run_ctx *rc, int publish)
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

void run_publish_page(run_ctx *rc)
{
    tdi_page rep;
    char path[PATH_MAX];

    snprintf(path, sizeof path, "%s/report-%s.html", rc->cfg->output_dir, rc->run_id);
    if (state_report_load(rc->state, rc->run_id, NULL, &rep) != TDI_OK)
        return;
    if (report_html_write(&rep, NULL, path) == TDI_OK)
        printf("report -> %s\n", path);
    else
        tdi_warn("the run's page was not written; tdi report --run %s makes it", rc->run_id);
    tdi_page_free(&rep);
}
