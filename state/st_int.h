/*
 * st_int: what the state/ modules share, private to state/ (callers use state.h).
 *
 * The state_db handle, the constants of tdi's advisory locks and timestamp formats, and the
 * small query helpers every module runs its statements through (st_db.c). Every failure is
 * logged as "state database: WHAT failed: REASON" and returned as TDI_ERR_STATE.
 *
 * Statements take their values as parameters; the few that cannot (COPY, identifiers of the
 * run's own temporary tables) only ever splice in numbers tdi formatted itself.
 */
#ifndef ST_INT_H
#define ST_INT_H

#include "state.h"

#include <libpq-fe.h>
#include <stddef.h>

#define WHO       "state database"
#define COPY_BUF  65536
#define LOCK_KEY1 "7627881" /* 'tdi' as a number: the first key of tdi's advisory locks */
#define LOCK_RUN  "1"       /* held by a run (and tdi init, year) for its whole session */
#define LOCK_INIT "2"       /* held by a migration for its transaction */
#define TIME_FMT  "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"
#define SHOW_FMT  "'YYYY-MM-DD HH24:MI:SS\"Z\"'"

typedef struct st_beside st_beside;

struct state_db {
    PGconn *conn;
    char *conninfo;    /* as opened: a second connection opens the same (st_beside.c) */
    st_beside *beside; /* the check's first groupings beside the ranking (st_beside.c) */
    int in_copy;       /* a COPY FROM STDIN is open */
    int in_txn;        /* commit_begin ran, commit_end or abort not yet */
    int part;          /* a body's part is open: sent, neither undone nor followed by another */
    int kept;          /* bodies' parts the transaction holds besides the open one */
    int lost;          /* aborted while holding a part not undone: its file is out, its record
                        * gone */
    int locked;        /* state_lock took the run lock */
    int scratch; /* state_delta_begin emptied the run's unlogged tables (emptied at the close) */
    int pending; /* state_commit_send() or _sequence() sent a statement, its result not read yet */
    const char *pending_what; /* that statement, for its message (a literal) */
    int passes;               /* state_actions() calls that created the pass's tables */
    int year;                 /* the last pass's year */
    int whole;      /* the last pass listed every held record in run_held (whole-year ranking) */
    int first;      /* the last pass was a first submission's: run_held and run_rank are views */
    int reid_made;  /* the check's temporary tables exist (st_reid.c) */
    int keys_part;  /* sources whose key scan went to run_present in part (st_keys.c) */
    int keys_whole; /* incremental sources whose key scan went in full */
    unsigned char *seen; /* the keys put into run_rec this run, a filter (st_delta.c); owned */
    int bodies;          /* 1 + the highest body put into run_rec this run */
    int copy_table;      /* the state_copy of the open COPY */
    size_t used;         /* bytes pending in buf */
    char buf[COPY_BUF];
};

/* The settings of every session a run opens (st_delta.c, st_beside.c). No JIT: the ranking's
 * estimate passes jit_above_cost at any size, and compiling it cost 0.55-0.7 s a pass, more than
 * the statement's own work on a nightly run (200k held, 10k changed: 0.25 s). work_mem: at the
 * default 4 MB every sort and hash of a first run of 200k spilled to disk (the commit's 37 MB, the
 * key order's, the ranking's, the repeated keys'); 64 MB keeps them in memory up to about 200k
 * records, and bounds what one sort of a larger run may take (docs/benchmark.md, 2026-12-05: the
 * first run's CPU). */
#define ST_SESSION_SETTINGS "SET jit = off; SET work_mem = '64MB'"
/* The main connection's from a first submission's pass on (st_pass.c): its ranking and its
 * commit sort and hash about a record each, and take less CPU in pieces of 16 MB than of 64 MB
 * (docs/benchmark.md, 2026-12-07), as the check's grouping does (below). */
#define ST_FIRST_SETTINGS "SET work_mem = '16MB'"
/* The second connection's (st_beside.c), which runs the check's first grouping only: a hash of
 * about one group a record, faster in pieces that fit the processor's caches than as one table
 * of 130 MB (1M, the statement alone: 1.35-1.44 s at 8-32 MB against 1.64-1.70 s at 64-256 MB,
 * 1.86 s at 4 MB; docs/benchmark.md, 2026-12-07 01:30). */
#define ST_BESIDE_SETTINGS "SET jit = off; " ST_FIRST_SETTINGS

/* ---- st_db.c: statements ---- */
/* One statement; *res (when res is given) is the caller's to PQclear. */
tdi_status st_query(state_db *st, const char *what, const char *sql, int nparams,
                    const char *const *params, ExecStatusType want, PGresult **res);
/* A statement that returns no rows. */
tdi_status st_command(state_db *st, const char *what, const char *sql, int nparams,
                      const char *const *params);
/* One row of one column, copied into out (NULL becomes ""); *found = 0 when no row. */
tdi_status st_query_value(state_db *st, const char *what, const char *sql, int nparams,
                          const char *const *params, char *out, size_t len, int *found);
/* st_query_value with two parameters, a name and a year: the shape of most lookups here. */
tdi_status st_name_year_value(state_db *st, const char *what, const char *sql, const char *name,
                              int year, char *out, size_t len, int *found);
/* After an interrupted call the connection may still be busy: get it idle again. */
tdi_status st_ready(state_db *st);

/* ---- the pass (st_pass.c, st_keys.c) ---- */
/* The columns of what a served body b was sent (s: tdi.sent), as the pass reads them. */
#define HELD_SENT_COLS                                                                             \
    "b.body, s.eid, s.ekey, s.hash, s.source, s.person, s.centre, s.start_ymd,\n"                  \
    "           s.drug, s.entrant, s.earlier, s.qi, s.sens\n"
/* The run's records for the served bodies, and what those bodies were sent of the year. */
#define HELD_REC_SENT                                                                              \
    "WITH rec AS NOT MATERIALIZED (\n"                                                             \
    "    SELECT r.body, r.pos, r.src, r.eid, r.ekey, r.hash, r.person, r.centre, r.start_ymd,\n"   \
    "           r.drug, r.qi, r.sens\n"                                                            \
    "      FROM tdi.run_rec r JOIN run_body b ON b.body = r.body\n"                                \
    "     WHERE b.served),\n"                                                                      \
    "sent AS NOT MATERIALIZED (\n"                                                                 \
    "    SELECT " HELD_SENT_COLS "      FROM tdi.sent s JOIN run_body b ON b.name = s.body\n"      \
    "     WHERE s.year = $1 AND b.served)\n"
/* run_gone for the year in yp[0] (st_keys.c). */
tdi_status st_gone(state_db *st, const char *const *yp);
/* st_keys.c: the first column of sql's rows, "e1:" keys, in STATE_KEY_WIDTH bytes each of *keys
 * (malloc'd, the caller frees it), *n of them; more than max rows: *n = max + 1 and *keys NULL.
 * sql takes nparams (at most 5) parameters, then the row limit as the last ($nparams+1). */
tdi_status st_key_list(state_db *st, const char *what, const char *sql, int nparams,
                       const char *const *params, size_t max, char **keys, size_t *n);

/* ---- st_delta.c and st_pass.c: shared with the re-identification bookkeeping ---- */
/* st_delta.c: an array literal {"a","b"} of n strings (names: no quote or backslash in them); the
 * caller frees it. NULL when out of memory. */
char *st_array_literal(const char *const *items, size_t n);
/* st_pass.c: the count of one action ('a', 'r', 'd'; others are not a body's) of run_action into c.
 */
void st_set_count(state_counts *c, const char *action, unsigned long n);

/* ---- st_reid.c: the commit of the check's groups ---- */
/* In the commit's savepoint of body b (named body): the groups kept for year move to what the
 * check found, when it grouped by mask (the grouping the body's file is blanked at); otherwise
 * they are dropped (a later run builds them again). */
tdi_status st_reid_commit(state_db *st, int b, const char *body, int year, unsigned mask);

/* The check's first grouping of body b by mask: its groups into run_reid_g and run_reid_v, its
 * figures into *out (the records without a tuple: *legacy). On st's connection, whichever it is. */
tdi_status st_reid_first(state_db *st, int b, unsigned mask, int k_min, state_reid *out,
                         unsigned long *legacy);

/* ---- st_beside.c: the check's first grouping on a second connection ---- */
/* The ranking (sql) on st's connection, and meanwhile, on a first submission with the bodies
 * planned (state_reid_beside()), their first groupings on a second connection; else the ranking
 * alone, as st_command(). */
tdi_status st_beside_rank(state_db *st, const char *what, const char *sql, int nparams,
                          const char *const *params);
/* 1 when body b was grouped by mask beside the ranking: its figures into out[0] and *legacy
 * (once). */
int st_beside_take(state_db *st, int b, unsigned mask, state_reid *out, unsigned long *legacy);
/* 1 when every served body's actions were counted beside the ranking (a first submission: all
 * appends): their counts into counts[0..nbodies-1] (once); 0: count them from run_action. */
int st_beside_counts(state_db *st, size_t nbodies, state_counts *counts);
/* state_close()'s: the plans freed. */
void st_beside_free(state_db *st);

#endif
