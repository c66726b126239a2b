/*
 * run_int: private to run/. The run's context (run_ctx: the config, the state database, the
 * stages' handles, one run_source per source and one run_body per body, the row counts), the
 * spool's entry, and the steps each run_*.c module offers the orchestration in run.c.
 *
 *   run.c          run_main(): lock, ledger row, setup, the steps in order, outcome, cleanup
 *   run_read.c     planning a source (full or incremental), extract -> transform -> spool, retries,
 *                  a read's merge into the run (spool, state database, summary)
 *   run_rows.c     a source's rows: the row stage and the key stage, on one thread or two
 *   run_queue.c    the bounded hand-off between them
 *   run_keys.c     an incremental read's key scan as a digest, compared with the last one's
 *   run_pool.c     the sources read max_parallel_sources at a time, merged in source order
 *   run_delta.c    spool -> state database, duplicates, in-run re-reads, which bodies are served,
 *                  the re-identification check's inputs, which watermarks move
 *   run_publish.c  bodies' files, their tables, the quarantine files
 *   run_commit.c   what was published, the sources and the ledger into the state database
 *   run_spool.c    the spool file itself
 */
#ifndef RUN_INT_H
#define RUN_INT_H

#include "run.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_record.h"
#include "../common/tdi_rules.h"
#include "../disclosure/disclosure.h"
#include "../extract/extract.h"
#include "../report/report.h"
#include "../state/state.h"
#include "../transform/transform.h"
#include "run_spool.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define BACKOFF_MAX_MS (10L * 60 * 1000) /* one wait between attempts never exceeds this */
#define ERROR_MAX      512
#define PROGRESS_EVERY 4096
/* Episodes whose counting changed unread are read again in their source's snapshot up to this
 * many at a time (their keys and ids are held in memory), in at most REFETCH_ROUNDS passes;
 * beyond either the source is read in full instead. */
#define REFETCH_MAX    100000
#define REFETCH_ROUNDS 2

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

/* What reads a source: a transform context and a hash of its own. The run's (rc->tx, rc->hash)
 * plans every source and reads when one source is read at a time; each worker thread of
 * run_pool.c has its own. */
typedef struct run_reader {
    transform_ctx *tx;
    tdi_hash *hash;
} run_reader;

typedef struct run_source {
    const tdi_source_config *cfg;
    state_mark mark;
    char config_fp[TDI_SHA256_HEX];   /* the fingerprint's config part (run_plan_source) */
    char fingerprint[TDI_SHA256_HEX]; /* it and the columns the query yields (read_once) */
    int full_read;                    /* every row of the year is read */
    char since[STATE_TIME_MAX];       /* incremental lower bound, "" for a full read */
    int attempts;
    int unread;        /* planning failed it (its crosswalk): never read */
    tdi_status status; /* TDI_OK, or why the source failed */
    char error[ERROR_MAX];
    unsigned long extracted, written, quarantined;
    char max_changed[STATE_TIME_MAX];
    unsigned char *routed;         /* per body: records went there this run */
    tdi_rule_hits hits;            /* the rules the run raised for it (R007) */
    tdi_rule_hits read_hits;       /* every rule raised by its read (keep_report()) */
    report_quarantine *quarantine; /* open until published or aborted */
    report_published qpub;         /* its published quarantine file, when qpublished */
    int qpublished;
    int advance;     /* store the watermark and fingerprint */
    int allow_empty; /* --allow-empty: a read giving no records deletes what the bodies hold */
    /* Completeness of the records written, per tdi_item: those the item applies to, those
     * with its "not known" code (the run report; tdi.run_completeness). */
    unsigned long applicable[TDI_ITEM_COUNT], not_known[TDI_ITEM_COUNT];
    /* What a read leaves for its merge (run_merge_source), which the run does in source order. */
    run_spool *seg;      /* parallel reads: its records, until appended to the run's spool */
    FILE *seen;          /* incremental reads: the keys of the rows read, one a line */
    FILE *rejected;      /* the keys of the rows quarantined (those with an episode id), likewise */
    uint64_t *keysum;    /* the key scan's digest, STATE_KEY_BUCKETS sums (run_keys.c) */
    unsigned long nkeys; /* keys in it */
    /* An incremental read's snapshot, left open (idle in its transaction) until the state pass
     * is done: episodes whose counting changed unread are read again in it. */
    extract_source *snap;
    /* With snap: its key scan's (state key, episode id) pairs, the key's RUN_KEY_BYTES bytes then
     * "id\0" each, in a sealed file (run_sealed.h: the ids are the clinic's own): the keys the
     * merge sends the state database (run_keys.c), and the ids of the episodes read again found
     * without scanning the source again (run_ids_scan()). */
    FILE *ids;
    int refetches; /* how many times episodes were read again in snap */
    char *report;  /* unmapped codes and rule counts (transform_print_source_report) */
    size_t report_len;
} run_source;

typedef struct run_body {
    int served;
    char why[ERROR_MAX];
    state_counts counts;
    uint64_t sequence;
    tdi_status status; /* of its publication */
    int published;
    report_published pub;
    int tables_due;         /* no file this run, but its tables are older than its last file */
    report_tables *counted; /* a first submission's tables, counted while its file was written
                             * (state_first()), until the tables step publishes them; owned */
    int tables_published;
    report_published tables;
    report_published workbook; /* the tables in the official form, when workbook_published */
    int workbook_published;
    size_t suppressed;  /* cells its tables suppressed, when tables_published */
    report_cell *cells; /* the trend cells of its published tables (run report), owned */
    size_t ncells;
    int checked;  /* the re-identification check ran: */
    int reid_met; /* it was met */
    unsigned long reid_k, reid_records;
    /* The re-identification check (check_disclosure). */
    tdi_status disclosure; /* TDI_ERR_DISCLOSURE: nothing is published for the body */
    unsigned blank_mask;   /* the quasi-identifiers its records are published with blanked */
    char
        blanked[DC_REID_NAMES_MAX]; /* their names, blank-separated, for the header and the state */
    char disclosure_json[DC_REID_JSON_MAX]; /* the figures, for the manifest */
} run_body;

typedef struct run_ctx {
    tdi_config *cfg;
    const char *config_path;
    int year, full;
    char *const *allow_empty; /* the sources named by --allow-empty (run_options) */
    size_t nallow_empty;
    char run_id[32], generated[32];
    state_db *state;
    int64_t run_no;
    int delta_ready;  /* the run's tables exist: the commit path records everything */
    int actions_done; /* the delta pass completed (re-reads included): the per-body counts are
                       * real; until then no watermark may move */
    transform_ctx *tx;
    tdi_hash *hash;
    run_spool *spool;
    uint64_t loaded;  /* the spool's entries before this one are in the state database */
    int load_as_read; /* sources read one after another on the run's thread: each source's
                       * records go to the state database as it is read (run_load_spooled()) */
    int loading;      /* a COPY of run_rec is open and takes each record as it is spooled */
    report_meta meta;
    run_source *src;
    run_body *body;
    int *takes;       /* scratch: bodies taking the current record */
    int today;        /* YYYYMMDD, for the readers' transform contexts */
    atomic_int abort; /* a reader hit what stops the run: the other readers stop too */
    unsigned long extracted, written, quarantined;
    int published;              /* files published */
    unsigned long spool_reads;  /* records read back from the spool for the files and tables */
    unsigned long spool_merged; /* of them, the records a merge of its sorted runs gave */
    char message[ERROR_MAX];
} run_ctx;

/* run.c: the failure that decides the exit code when several happened. */
tdi_status run_worse(tdi_status a, tdi_status b);
/* run.c: 1 when st is a source's own failure (source, crosswalk): the run goes on without the
 * source; any other failure stops the run. */
int run_source_failure(tdi_status st);
/* run.c: seconds since the last call (the phases' times in --verbose). */
double run_lap(void);
/* run.c: seconds on the monotonic clock (any thread: the steps' times in --verbose). */
double run_seconds(void);

/* An episode state key is "e1:" + 32 hex digits (RUN_KEY_CHARS); packed, its 16 bytes. */
#define RUN_KEY_BYTES 16
#define RUN_KEY_CHARS 35
/* run_keys.c: 1 when key is a state key, its bytes in out; else 0. */
int run_key_pack(const char *key, unsigned char out[RUN_KEY_BYTES]);
/* run_keys.c: a packed key as its text. */
void run_key_unpack(const unsigned char key[RUN_KEY_BYTES], char out[RUN_KEY_CHARS + 1]);
/* run_keys.c: the 16-bit bucket of a packed key (its first two bytes). */
unsigned run_key_bucket(const unsigned char key[RUN_KEY_BYTES]);
/* run_keys.c: an episode state key of the key scan, packed, into s's digest (s->keysum,
 * allocated when NULL). Any thread: the reader's. */
tdi_status run_keys_add(run_source *s, const unsigned char key[RUN_KEY_BYTES]);
/* run_keys.c: the last 8 bytes of each of the n keys (STATE_KEY_WIDTH bytes apart) taken from
 * their buckets' sums in sum (STATE_KEY_BUCKETS of them); 0 when a key is not a state key. */
int run_keys_leave_out(uint64_t *sum, const char *keys, size_t n);
/* run_keys.c: *prefix = the 16-bit bucket of a state key ("e1:" + 32 hex digits); 0 when key is
 * not one. */
int run_key_prefix(const char *key, unsigned *prefix);
/* run_keys.c: source si's key scan (the keys of s->ids) into the state database: compared with the
 * digest the last scan left, only the keys of the buckets that changed (all without a digest), and
 * this scan's digest kept for the commit. The run's thread. */
tdi_status run_keys_merge(run_ctx *rc, size_t si);

/* run_read.c: full or incremental, and from when (a crosswalk that cannot be read fails the
 * source: TDI_ERR_CROSSWALK). */
tdi_status run_plan_source(run_ctx *rc, run_source *s);
/* run_rows.c: 1 when a reader stops: the run is stopped by a signal or another reader's failure. */
int run_stopping(run_ctx *rc);
/* run_rows.c: the rows of ex (a source's COPY) through rd into spool, the source's counts, rule
 * hits, quarantine file and rows seen (s->seen); two_threads: the key stage (state keys,
 * pseudonyms, record hash, spool, the run_rec COPY) on a thread of its own. */
tdi_status run_read_rows(run_ctx *rc, run_reader *rd, run_spool *spool, size_t si,
                         extract_source *ex, int two_threads);
/* run_read.c: reads source si with rd into spool (the run's, or a segment of its own), retrying a
 * transient failure with backoff; prints nothing (run_merge_source does). Any thread. Returns
 * only what stops the run as a whole; a source failure is left in its status. */
tdi_status run_read_one(run_ctx *rc, run_reader *rd, size_t si, run_spool *spool);
/* run_read.c, on the run's thread, in source order: source si's segment into the run's spool, its
 * keys into the state database, its summary printed, its counts added to the run's. */
tdi_status run_merge_source(run_ctx *rc, size_t si);
/* run_read.c: run_read_one with the run's own reader into the run's spool, then the merge (a
 * source read again in the run). */
tdi_status run_read_source(run_ctx *rc, size_t si);
/* What a scan of a key scan's pairs does with each: its packed key and its id (a clinic's own:
 * never kept past the call). */
typedef tdi_status (*run_pair_fn)(void *arg, const unsigned char key[RUN_KEY_BYTES],
                                  const char *id);
/* run_read.c: fn for every pair of a key scan's file (s->ids), from its start; stops at the first
 * status that is not TDI_OK and returns it. A pair cut short or a failed read is logged:
 * TDI_ERR_OUTPUT; out of memory, TDI_ERR_INTERNAL. The ids' buffer is wiped before it is freed. */
tdi_status run_ids_scan(FILE *fp, run_pair_fn fn, void *arg);
/* run_read.c: frees what a read left for its merge (after the merge, or when the run stops). */
void run_source_release(run_source *s);
/* run_read.c: ends the snapshot an incremental read left open (nothing when there is none). */
void run_snapshot_close(run_source *s);
/* run_read.c: source si's episodes of the nkeys state keys (sorted, STATE_KEY_WIDTH bytes apart)
 * read again in its snapshot into the run's spool and the state database, as its read had read
 * them; *done = 0 when the snapshot cannot give them (lost, the source fails now): nothing of the
 * attempt is left in the state database, and the caller reads the source in full. */
tdi_status run_read_episodes(run_ctx *rc, size_t si, const char *keys, size_t nkeys, int *done);
/* run_pool.c: plans every source, then reads them, max_parallel_sources at a time, each merged in
 * source order. Returns only what stops the run as a whole. */
tdi_status run_read_sources(run_ctx *rc);

/* run_delta.c: the spool entry at pos, its source restored from the config. */
tdi_status run_read_entry(run_ctx *rc, uint64_t pos, spool_entry *e);
/* run_delta.c: the same for an entry read by a merge of the spool's runs (run_spool_merge). */
tdi_status run_entry_restore(run_ctx *rc, spool_entry *e);
/* run_delta.c: the run's spool sorted (run_spool_sorted()) by body, then episode key (the order
 * of a body's file), each entry into the state database as it gets its position
 * (run_load_spooled()). */
tdi_status run_spool_sort(run_ctx *rc);
/* run_delta.c: the sort key of body b's first entry (a merge from there reads its records). */
void run_body_key(size_t b, unsigned char key[RUN_SPOOL_KEY]);
/* run_delta.c: a spool entry's sort key (run_spool_sort()). */
void run_entry_key(const void *entry, unsigned char key[RUN_SPOOL_KEY]);
/* run_delta.c: *dep = 1 when body b may receive records of source si. */
tdi_status run_depends(run_ctx *rc, size_t b, size_t si, int *dep);
/* run_delta.c: *partial = the first source feeding body b read incrementally, or nsources. */
tdi_status run_read_in_full(run_ctx *rc, size_t b, size_t *partial);
/* run_delta.c: the spool's entries from rc->loaded on into the state database (each source's at
 * its merge, so the server copies them while the other sources are read). */
tdi_status run_load_spool(run_ctx *rc);
/* run_delta.c: with rc->load_as_read, the entry just spooled at pos into the state database,
 * in a COPY opened with the source's first record, so the server copies the records while the
 * client reads; run_load_spool() ends it, run_load_discard() drops it with a failed attempt. */
tdi_status run_load_spooled(run_ctx *rc, uint64_t pos, const spool_entry *e);
void run_load_discard(run_ctx *rc);
/* run_delta.c: the steps between reading and publishing, in this order. */
tdi_status run_check_duplicates(run_ctx *rc);
tdi_status run_decide_served(run_ctx *rc);
tdi_status run_compute_actions(run_ctx *rc);
/* The check's first groupings made beside a first submission's ranking (state_reid_beside()):
 * before run_compute_actions(). */
tdi_status run_reid_beside(run_ctx *rc);
tdi_status run_check_disclosure(run_ctx *rc);
/* run_delta.c: which sources' watermarks move (s->advance), after publishing. */
tdi_status run_decide_advance(run_ctx *rc);

/* run_publish.c: every served body's file (and tables); the quarantine files (dropped when
 * publish = 0). */
tdi_status run_publish_bodies(run_ctx *rc);
tdi_status run_publish_quarantine(run_ctx *rc, int publish);
/* The run's page, OUTPUT_DIR/report-RUNID.html, from the ledger once the run is recorded; a
 * failure is only logged (`tdi report` makes the page again). */
void run_publish_page(run_ctx *rc);

/* run_commit.c: the run's outcome into the state database (the ledger row included) when its
 * tables exist, else the ledger row alone; st is the run's status, returned made worse by a
 * failed commit. */
tdi_status run_commit(run_ctx *rc, tdi_status st);

#endif
