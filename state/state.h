/*
 * state_db: the state database, and every SQL statement tdi runs against it.
 *
 * A PostgreSQL database of the receiving side (config key `state`) holds, in schema `tdi`:
 *   - the run ledger: one row per run (start, end, status, exit code, why it failed), per source
 *     (mode, attempts, row counts, error) and per published file (path, sha256, sequence, counts);
 *   - per source and year the watermark of incremental reads and the fingerprint of what shapes
 *     the source's records (crosswalk, query, routing, key): a new fingerprint forces a full read;
 *   - per body and year the sequence number of the last file, and per episode key what the body
 *     was last sent (the content hash, the entrant flag, the person, centre and start): the base
 *     every delta and the counting unit are computed against; earlier years' rows stay;
 *   - the routes seen (which source's records went to which body), and the closed years.
 * The schema is versioned: its migrations are schemas/state/NNN-*.sql, embedded into tdi at
 * build time; state_migrate() (`tdi init`) creates or upgrades it in place, and every other
 * command refuses a database whose schema is missing or not the version it knows.
 *
 * A run holds a session advisory lock for its whole length: a second run fails at once with
 * TDI_ERR_LOCKED. The delta of a run is computed in the database in bulk: the run COPYs its
 * records (position in its spool, key, content hash, bodies, person key, centre, start) and the
 * key sets of incremental sources into temporary tables, a few statements compute what each body
 * holds, the TDI counting unit over it and every action, and the run reads the actions back with
 * COPY in spool order. Nothing here runs one statement per record. The state database never holds
 * an identifier: keys and persons are pseudonyms (persons under the state key, in no file).
 *
 * Every failure is logged ("state database: WHAT failed: REASON") and returned as TDI_ERR_STATE
 * (TDI_ERR_INTERRUPTED when a stop signal ended a wait).
 *
 * Implemented by state/st_db.c (connection, schema, lock), st_ledger.c (ledger, years, what
 * earlier runs left), st_delta.c (the run's records, the actions read back), st_pass.c (the
 * action pass), st_keys.c (the key scan's digest, what is gone), st_reid.c (the
 * re-identification grouping, the blanking) and st_commit.c (the commit); st_int.h is what they
 * share.
 */
#ifndef STATE_H
#define STATE_H

#include "../common/tdi_page.h"
#include "../common/tdi_status.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATE_SCHEMA_VERSION 16 /* the migrations state_migrate() knows */
#define STATE_TIME_MAX       32 /* YYYY-MM-DDTHH:MM:SS.ffffffZ and a NUL, with room */

typedef struct state_db state_db;

/* Connects to the state database. */
tdi_status state_open(const char *conninfo, state_db **out);
void state_close(state_db *st);

/* ---- schema ---- */
/* Applies the missing migrations, each in its own transaction; *from and *to get the versions
 * before and after. Refuses a schema newer than STATE_SCHEMA_VERSION. */
tdi_status state_migrate(state_db *st, int *from, int *to);
/* TDI_OK when the schema is exactly STATE_SCHEMA_VERSION; else logs what to do. */
tdi_status state_check(state_db *st);

/* ---- the run lock ---- */
/* Takes the session advisory lock of tdi runs; TDI_ERR_LOCKED (the message names the holder's
 * server process) when another session holds it. Released when the connection closes. */
tdi_status state_lock(state_db *st);

/* ---- the ledger ---- */
/* Records a run in status "running" and returns its number. Rows of runs still "running" are
 * set to "abandoned" first (the lock proves they are not). *taken = 1 (and nothing recorded)
 * when run_id is already in the ledger: the caller waits for the next second. */
tdi_status state_run_begin(state_db *st, const char *run_id, int year, int full, int64_t *run_no,
                           int *taken);
/* The end of a run that did not get to state_commit_*: status and message only. */
tdi_status state_run_end(state_db *st, int64_t run_no, tdi_status status, const char *message);
/* Prints the last n runs, newest first, with their sources and files. */
tdi_status state_print_runs(state_db *st, int n, FILE *fp);

/* ---- reporting years ---- */
/* *closed = 1 when year is closed; since then holds when (YYYY-MM-DD HH:MM:SSZ) and by whom. */
tdi_status state_year_closed(state_db *st, int year, int *closed, char *since, size_t len);
/* Closes (close = 1) or reopens year; *changed = 0 when it already was. by: the OS user. */
tdi_status state_year_set(state_db *st, int year, int close, const char *by, int *changed);

/* ---- sources and routes ---- */
typedef struct state_mark {
    int known;                      /* a run has read the source for this year */
    char watermark[STATE_TIME_MAX]; /* YYYY-MM-DDTHH:MM:SS.ffffffZ, "" when none */
    char fingerprint[72];
} state_mark;

tdi_status state_source_mark(state_db *st, const char *source, int year, state_mark *out);
/* *held = the episodes of year that source's records left in what the bodies hold (tdi.sent):
 * what a full read giving no records would delete. */
tdi_status state_source_held(state_db *st, const char *source, int year, unsigned long *held);
/* watermark minus seconds, in the same format (the lower bound of an incremental read). */
tdi_status state_time_minus(state_db *st, const char *watermark, long seconds, char *out,
                            size_t len);
/* *seen = 1 when records of source have gone to body in year. */
tdi_status state_route_seen(state_db *st, const char *body, const char *source, int year,
                            int *seen);
/* *same = 1 when the last quarantine file recorded for source and year has this sha256. */
tdi_status state_quarantine_same(state_db *st, const char *source, int year, const char *sha256,
                                 int *same);
/* *due = 1 when the body's tables are older than its last file for year (a run read a source
 * incrementally and left them for a full read). */
tdi_status state_tables_due(state_db *st, const char *body, int year, int *due);
/* What an earlier run marked as publishing for body and year and never recorded: *file (a
 * submission) and *tables, 1 or 0 (tdi.publishing, migration 16). */
tdi_status state_publishing_left(state_db *st, const char *body, int year, int *file, int *tables);
/* Marks body's file and/or tables for year as about to be published by run run_no, committed at
 * once (outside the commit's transaction: TDI_ERR_INTERNAL inside it); what an earlier run left
 * stays marked. state_commit_body() clears what it records. */
tdi_status state_publishing_mark(state_db *st, const char *body, int year, int64_t run_no, int file,
                                 int tables);
/* The sequence number the body's next file for year gets (1 for the first). */
tdi_status state_next_sequence(state_db *st, const char *body, int year, uint64_t *seq);

/* ---- the delta pass ---- */
/* Creates the run's temporary tables (sources and bodies by index, as in the config). */
tdi_status state_delta_begin(state_db *st);

/* COPY into the run's tables, in the binary form (st_delta.c). Between begin and end no other
 * call may use the connection.
 *   RECORDS  state_put_record(): what goes to each body
 *   SEEN     state_put_key(): every row an incremental read read (accepted or quarantined)
 *   PRESENT  state_put_key(): the episodes of the year an incremental source holds now (every
 *            one, or those in the buckets its key digest says changed: state_keys_keep())
 *   REJECTED state_put_key(): the rows a read quarantined that have an episode id (for
 *            state_duplicates()), each after every record of its source: whether a record may
 *            have its key is asked of the filter of the records put */
typedef enum state_copy {
    STATE_COPY_RECORDS,
    STATE_COPY_SEEN,
    STATE_COPY_PRESENT,
    STATE_COPY_REJECTED
} state_copy;
tdi_status state_copy_begin(state_db *st, state_copy table);
/* The record at spool position pos of source src for body: its state key eid, its key ekey in
 * the body's files, its content hash (hex), for the counting unit its person under the state
 * key (transform_person_state_key(), never a body's pseudonym), centre, start (YYYYMMDD),
 * treatment status code as the source gave it and drug (state_drug: whether it is in the TDI
 * population), and for the re-identification check its quasi-identifier and sensitive tuples
 * (disclosure/dc_qi.h). */
typedef enum state_drug {
    STATE_DRUG_NONE = 0,      /* outside the TDI population: alcohol, a non-drug problem */
    STATE_DRUG_START = 1,     /* tdi_record_in_population(): a start that can be an entrant */
    STATE_DRUG_CONTINUING = 2 /* a continuing client in the TDI population: never an entrant,
                               * but a client in treatment (STATE_READ_HELD's client flag) */
} state_drug;
tdi_status state_put_record(state_db *st, uint64_t pos, int src, int body, const char *eid,
                            const char *ekey, const char *hash, const char *person,
                            const char *centre, int start_ymd, const char *status, state_drug drug,
                            const char *qi, const char *sens);
/* An episode's state key, for SEEN, PRESENT and REJECTED. */
tdi_status state_put_key(state_db *st, int src, const char *eid);
/* The key scan's digest (run/run_keys.c): per bucket of the episode keys' leading 16 bits, folded
 * to a power of two of buckets, the sum of the keys' last 8 bytes, 8 bytes big-endian a bucket.
 * state_keys_last(): the digest source name's last key scan of year left under fingerprint
 * (*out, len bytes, the caller frees; NULL and 0 when there is none). state_keys_keep(): this
 * run's digest of source src (stored by the commit when the watermark moves) and how its key
 * scan went to PRESENT: in full (part = 0), or only the keys whose 16-bit prefix lies in one of
 * the n ranges [lo[i], hi[i]) (hi up to 65536), the only ones where the pass looks for deletes. */
#define STATE_KEY_BUCKETS 65536
tdi_status state_keys_last(state_db *st, const char *name, int year, const char *fingerprint,
                           unsigned char **out, size_t *len);
tdi_status state_keys_keep(state_db *st, int src, const char *name, const unsigned char *digest,
                           size_t len, int part, const unsigned *lo, const unsigned *hi, size_t n);
/* The keys of the rows of source src read now (SEEN) that no body holds of year (new episodes,
 * or rows the bodies were not sent) among those in a flagged bucket: of 2^bits buckets of the
 * keys' leading bits, bucket b is flagged by bit b % 8, from the lowest, of in[b / 8]. The key
 * scan's digest is compared without them (a new key changes its bucket but is no delete). As
 * state_unread_keys(): at most max, STATE_KEY_WIDTH bytes each of *keys (the caller frees it),
 * *n = max + 1 and *keys NULL when there are more. */
tdi_status state_keys_unheld(state_db *st, int src, const char *name, int year,
                             const unsigned char *in, int bits, size_t max, char **keys, size_t *n);
/* Ends the COPY; discard = 1 drops every row of this COPY (a failed attempt). */
tdi_status state_copy_end(state_db *st, int discard);
/* Drops every row of source src from the run's tables (records, rows seen, rows quarantined, key
 * scan): the source is read again. */
tdi_status state_forget_source(state_db *st, int src);

/* Episodes that a source yields more than once, whatever became of each row (two records to one
 * body, a record and a quarantined row, two quarantined rows: REJECTED), for the nsources sources
 * at once: count[src] of them and one's state key in example + src * len (example holds nsources
 * strings of len bytes). */
tdi_status state_duplicates(state_db *st, size_t nsources, unsigned long *count, char *example,
                            size_t len);

typedef struct state_source_in {
    const char *name;
    const char *region; /* of its centres: counting = regional counts a person once per region */
    int ok;             /* read completely this run */
    int full_read;      /* every row of the year was read (not incremental) */
} state_source_in;

typedef struct state_body_in {
    const char *name;
    int served;           /* every source it depends on was read */
    const char *counting; /* "centre": a person counted once per centre and year, "regional":
                           * per region of the sources, "national": once a year */
} state_body_in;

typedef struct state_counts {
    unsigned long appends, replaces, deletes;
} state_counts;

/* Computes every action of the run for year in bulk (what each body holds, the counting unit,
 * the actions; see st_pass.c); counts[b] per body (nbodies). reread[s] = 1 (per source) when
 * an episode of incremental source s that this run did not read changed its counting (an
 * earlier start arrived, the counted one went): the run reads those episodes again
 * (state_unread_keys()) or s in full, then calls this again.
 * r018[s]: rows of s that give "never previously treated" for a person with a start in an
 * earlier year (rule R018). May be called again: each call starts over. */
tdi_status state_actions(state_db *st, int year, const state_source_in *sources, size_t nsources,
                         const state_body_in *bodies, size_t nbodies, state_counts *counts,
                         unsigned char *reread, unsigned long *r018);

/* After the episodes of the last state_actions()'s reread[] were read again (their records in
 * the run's records from spool position from on): when each record read again is what the
 * served bodies hold as sent (the same bodies, content hash, key, person, centre, start, drug
 * and tuples: what the ranking, the actions and the re-identification check read), the pass
 * state_actions() would compute again gives the same ranking, so its tables are patched instead:
 * those records join them as read now, the episodes whose counting changed unread become
 * replaces with the flags already found; *patched = 1, and counts, reread (all 0) and r018 are
 * what state_actions() would give. Otherwise *patched = 0, nothing changed, *differ the records
 * that differ (a changed config, crosswalk or row): the caller calls state_actions() again. */
tdi_status state_actions_patch(state_db *st, uint64_t from, size_t nsources, size_t nbodies,
                               state_counts *counts, unsigned char *reread, unsigned long *r018,
                               int *patched, unsigned long *differ);
/* 1 when the last state_actions() was a first submission's (the served bodies held nothing of
 * the year): every record a served body holds is then an append of its file (STATE_READ_FIRST). */
int state_first(const state_db *st);

/* The state keys of source src's episodes that the last state_actions() found changed in their
 * counting unread (what made reread[src] 1), sorted bytewise, each in STATE_KEY_WIDTH bytes of
 * *keys (malloc'd, the caller frees it); *n of them. More than max: *n = max + 1 and *keys NULL. */
#define STATE_KEY_WIDTH 48
tdi_status state_unread_keys(state_db *st, int src, size_t max, char **keys, size_t *n);

typedef enum state_read {
    STATE_READ_EPISODES, /* appends and replaces, in the order of the body's episode keys */
    STATE_READ_DELETES,  /* the keys to delete, in key order */
    STATE_READ_HELD,     /* every record the body holds after this run, in spool order (tables),
                          * with its client flag */
    STATE_READ_FIRST     /* a first submission's (state_first()): what it holds, each record an
                          * append, in the order of its episode keys, with the held lines'
                          * flags: the file and its tables from one read */
} state_read;

typedef struct state_action {
    uint64_t pos;  /* spool position (episodes, held) */
    char ekey[48]; /* the "e1:" key to delete (deletes) */
    int replace;   /* episodes: a replace, not an append */
    int entrant;   /* the person's counted treatment demand */
    int earlier;   /* the person started a treatment in an earlier year */
    int client;    /* held: the person's counted client in treatment at the counting level (an
                    * entrant, or else the latest continuing episode; README.md, "Clients in
                    * treatment") */
} state_action;

/* Copies the actions of body, what by what, into fp (one line each) and rewinds it: the body's
 * file is then written from fp while the connection does the commit's work (the COPY would hold
 * it otherwise). *lines (unless NULL): how many. The episodes (STATE_READ_EPISODES,
 * STATE_READ_FIRST) come by episode key, then position (the order of the run's sorted spool).
 * TDI_ERR_OUTPUT when fp cannot be written. */
tdi_status state_actions_save(state_db *st, int body, state_read what, FILE *fp, uint64_t *lines);
/* The next action from a file state_actions_save() filled, or *eof. */
tdi_status state_actions_read(FILE *fp, state_action *a, int *eof);

/* ---- the re-identification check (README.md, "Re-identification check") ---- */
#define STATE_NSENSITIVE 4

typedef struct state_reid {
    unsigned long records; /* the body's records after this run (with a stored tuple) */
    unsigned long groups;  /* distinct tuples of the quasi-identifiers grouped by */
    unsigned long k;       /* the fewest persons in a group; 0 without records */
    unsigned long at_risk; /* records in groups of fewer than k_min persons */
    double average;        /* mean over records of 1 / the persons of the record's group */
    unsigned long legacy;  /* records sent before tuples were kept (schema version 3) */
    unsigned long l[STATE_NSENSITIVE]; /* per sensitive item: its fewest distinct values in
                                        * a group */
} state_reid;

/* Groups what body b holds after this run's actions (what it was sent, less this run's
 * deletes, with this run's records in place of their earlier versions) by the tuple positions
 * (tdi_qi, common/tdi_record.h) set in masks[0..nmasks-1] (distinct, least blanking first); out[m]
 * gets the figures of masks[m]. Masks after the first are grouped only when the first falls short
 * (k below k_min with records, or records without a tuple): their out[] stays zero otherwise. Call
 * after state_actions(). */
tdi_status state_reid_check(state_db *st, int b, const unsigned *masks, size_t nmasks, int k_min,
                            state_reid *out);
/* What the check of body b will ask first (masks[0] and k_min of its state_reid_check()); *want 0:
 * it will not be checked (not served). */
typedef tdi_status (*state_reid_plan_fn)(void *arg, int b, unsigned *mask, int *k_min, int *want);
/* On a first submission of the year the pass (state_actions(), bodies 0..nbodies-1) asks plan of
 * each body before its ranking and makes that first grouping on a second connection to the state
 * database while the first ranks (st_beside.c); state_reid_check() then takes its figures. Call
 * before state_actions(); the run's callback, plan and arg, must outlive st's pass. */
tdi_status state_reid_beside(state_db *st, state_reid_plan_fn plan, void *arg, size_t nbodies);
/* The quasi-identifiers the body's files of year are blanked at (blank-separated, "" none);
 * *found = 0 when nothing is recorded (then none). */
tdi_status state_blanked(state_db *st, const char *body, int year, char *out, size_t len,
                         int *found);
/* Every record of body b this run that has no action becomes a replace (a new blanking changes
 * how every record looks); *counts is recounted. */
tdi_status state_replace_all(state_db *st, int b, state_counts *counts);

/* ---- the commit: one transaction, begun before the files are written, committed after ---- */
typedef struct state_source_out {
    const char *name;
    const char *mode;  /* "full", "incremental", or "not read" */
    const char *since; /* lower bound of an incremental read, or NULL */
    int attempts;
    unsigned long extracted, written, quarantined;
    tdi_status status;
    const char *error;     /* why it failed, or NULL */
    int advance;           /* 1: store watermark and fingerprint */
    const char *watermark; /* NULL: none seen (no incremental column or no row) */
    const char *fingerprint;
    /* Completeness of the records written, per tdi_item (TDI_ITEM_COUNT each): how many the
     * item applies to, how many have its "not known" code; NULL: nothing to record. */
    const unsigned long *applicable, *not_known;
} state_source_out;

typedef struct state_file_out {
    const char *kind;  /* "submission", "tables", "workbook" or "quarantine" */
    const char *owner; /* body or source */
    const char *path;
    const char *sha256;
    uint64_t sequence; /* 0 for quarantine */
    unsigned long records, replaces, deletes;
} state_file_out;

/* Begins the commit's transaction (nothing when it is begun already). */
tdi_status state_commit_begin(state_db *st);
/* Body b's actions become what it was sent (sequence seq, the number of its file): the statement
 * is sent and the call returns at once, so the server does the work while the file is written.
 * Begins the transaction. Then, before the next call on st: _wait for its result once the file
 * is complete (publish the file only when that succeeded), and _undo when the file is not
 * published (also after _wait): the body's part is rolled back, what earlier bodies recorded
 * stays. _undo fails
 * (TDI_ERR_STATE, the transaction aborted) only when the connection is not usable.
 * appends_only: the body's actions are appends only (its counts have no replace or delete).
 * reid_mask: the tuple positions the body's file is grouped by in the re-identification check
 * (its quasi-identifiers less its blanking): the check's groups of it are kept for the next run
 * when state_reid_check() grouped by it, else dropped. */
tdi_status state_commit_send(state_db *st, int year, int b, const char *body, uint64_t seq,
                             int appends_only, unsigned reid_mask);
tdi_status state_commit_wait(state_db *st);
tdi_status state_commit_undo(state_db *st);
/* What a first submission's file moves (state_first()): its records, every one an append, and
 * the entrants among them, counted by the caller as the file is written. */
typedef struct state_moved {
    unsigned long episodes, entrants;
} state_moved;

/* After _wait, while the body's file is read back and published: its sequence number seq and run
 * run_no, and the episodes and entrants its actions move, sent and not waited for (the next _wait
 * reads the result; _undo takes it back with the body's part). moved: those figures as counted
 * by the caller, taken on a first submission (else, or NULL, counted from the body's actions). */
tdi_status state_commit_sequence(state_db *st, int year, const char *body, uint64_t seq,
                                 int64_t run_no, const state_moved *moved);
/* Body's file with sequence seq is published (its sent rows and its sequence recorded by _send
 * and _sequence): tables = 1 when its tables were published with it; blanked (or NULL:
 * unchanged) the quasi-identifiers its file withheld. seq 0: no file, only the tables (brought
 * up to date). */
tdi_status state_commit_body(state_db *st, int year, const char *body, uint64_t seq, int tables,
                             int64_t run_no, const char *blanked);
tdi_status state_commit_source(state_db *st, int year, int64_t run_no, const state_source_out *src);
tdi_status state_commit_file(state_db *st, int64_t run_no, const state_file_out *f);
/* A published cell of a body's tables that the run report draws trends from. */
typedef struct state_cell {
    const char *table, *row, *col; /* codes of the tables file */
    unsigned long value;           /* not recorded when suppressed */
    int suppressed;
} state_cell;

/* What the run report shows of a body (tdi.run_body): the re-identification check's figures,
 * the suppression of its tables, and the trend cells of its tables as published. */
typedef struct state_body_out {
    const char *name;
    int k_min;
    unsigned long k, records; /* at the blanking taken, or the last tried when none met k_min */
    int met;                  /* 0: nothing was published for the body */
    const char *blanked;      /* blank-separated; "" none */
    long long suppressed;     /* cells its tables suppressed; -1: no tables this run */
    long long audit_added;    /* cells an audit added; -1: none recorded */
    const state_cell *cells;  /* ncells, of the tables published this run */
    size_t ncells;
} state_body_out;

tdi_status state_commit_report(state_db *st, int year, int64_t run_no, const state_body_out *b);
/* A route seen this run: records of source went to body. */
typedef struct state_route {
    const char *body;
    const char *source;
} state_route;

/* Records the routes of this run (nroutes of routes), ends the ledger row and commits. On any
 * failure of the commit_* calls nothing of them is kept. */
tdi_status state_commit_end(state_db *st, int year, int64_t run_no, const state_route *routes,
                            size_t nroutes, tdi_status status, const char *message);
void state_commit_abort(state_db *st);

/* ---- the run report's queries (st_report.c; read only) ---- */
#define STATE_REPORT_RUNS 30 /* runs in the report's history */

/* Loads the report of run_id (NULL: the newest run); only source's rows when source is not NULL
 * (its sources and quarantine files, its episodes per year, its completeness; no body's files,
 * disclosure figures or trends). TDI_ERR_USAGE when there is no such run. */
tdi_status state_report_load(state_db *st, const char *run_id, const char *source, tdi_page *out);

#endif
