/*
 * report: writes what leaves the building, and checks it.
 *
 *   - one submission per receiving body: gzip-compressed XML, one <episode/> or <delete/> per
 *     line, streamed (xmlTextWriter over an igzip deflate stream, no DOM), validated against
 *     schemas/tdi-submission.xsd before it is published (temp file, fsync, rename, fsync dir),
 *     then a manifest (sequence, counts, SHA-256 of the .xml.gz, schema version). A submission
 *     is a delta: each episode is an append or a replace, a delete carries only the key;
 *   - the content hash of a record: what decides whether a record changed since it was sent;
 *   - one quarantine file per source (TSV: key, rule, item, value, message), published the same
 * way;
 *   - the TDI standard tables per receiving body: counts in memory, disclosure control, XML
 *     validated against schemas/tdi-tables.xsd, published the same way with a manifest;
 *   - the streaming validator behind `tdi validate` (.xml and .xml.gz, errors with line numbers,
 *     no network, no external entities; the schema is chosen by the root element's namespace).
 */
#ifndef TDI_REPORT_H
#define TDI_REPORT_H

#include "../common/tdi_hash.h"
#include "../common/tdi_page.h"
#include "../common/tdi_record.h"
#include "../common/tdi_status.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_SCHEMA_VERSION        "2.5"
#define REPORT_NAMESPACE             "urn:tdi:submission:2"
#define REPORT_TABLES_SCHEMA_VERSION "1.0"
#define REPORT_TABLES_NAMESPACE      "urn:tdi:tables:1"
#define REPORT_BODY_MAX              32 /* a body name: [A-Za-z0-9_-]{1,32} */
#define REPORT_HASH_HEX              32 /* a record's content hash: 128 bits of SHA-256, in hex */

/* What every file of one run shares. Strings are borrowed for the writers' lifetime. */
typedef struct report_meta {
    const char
        *output_dir; /* published files go under OUTPUT_DIR/BODY/ and OUTPUT_DIR/quarantine/ */
    const char *schema_dir; /* directory holding tdi-submission.xsd */
    const char *run_id;     /* UTC stamp YYYYMMDDTHHMMSSZ: in file names and the header */
    int64_t run_no;         /* the run's number in the ledger, >= 1: grows with every run,
                             * whatever the clock says (header and manifests: runNo) */
    const char *generated;  /* UTC time, ISO 8601 (YYYY-MM-DDTHH:MM:SSZ) */
    int year;               /* reporting year */
    int gzip_level;         /* 1..9 */
    const char *key_id;     /* the body's key id (8 lowercase hex digits) or NULL: submissions */
    uint64_t sequence;      /* submissions: the body's sequence number for this year, >= 1 */
    const char *counting_level; /* submissions: the header's countingLevel; NULL: "none" */
    const char *blanked;        /* submissions: the quasi-identifiers withheld ("region sex"), or
                                 * NULL: the header's blanked attribute */
    const char *disclosure;     /* submissions: a JSON object, the re-identification check's
                                 * figures, for the manifest's "disclosure", or NULL */
    int protection_level; /* tables: the width a suppressed cell's interval needs (dc_audit.h);
                           * 0: the suppression threshold */
} report_meta;

typedef struct report_published {
    char path[PATH_MAX];     /* the published .xml.gz (or .tsv for quarantine) */
    char manifest[PATH_MAX]; /* the manifest, empty for quarantine files */
    unsigned long records;   /* episodes (appends + replaces), quarantined rows, or the records
                              * tables were made of */
    unsigned long entrants;  /* tables: the entrants they count (the TDI population) */
    size_t audit_added;      /* tables: suppressed cells the audit loop added (dc_protect.h) */
    unsigned long replaces;  /* of records */
    unsigned long deletes;
    char sha256[65]; /* hex SHA-256 of the published file */
} report_published;

typedef enum report_action { REPORT_APPEND, REPORT_REPLACE } report_action;

/* ---- submissions ---- */
typedef struct report_writer report_writer;

/* Creates OUTPUT_DIR/BODY/ if needed and starts a temp file there. *out is released by exactly one
 * of report_publish() or report_abort(). */
tdi_status report_open(const report_meta *meta, const char *body, report_writer **out);
/* An episode the body does not have yet (report_add) or has in another version. */
tdi_status report_add(report_writer *w, const tdi_record *rec);
tdi_status report_add_action(report_writer *w, const tdi_record *rec, report_action action);
/* A <delete key="..."/>: the body drops the episode with that key. Deletes come after every
 * episode of the file (the schema's order): an episode after a delete is refused. */
tdi_status report_delete(report_writer *w, const char *episode_key);
/* Finishes the document, validates the temp file against the schema, renames it to
 * tdi-BODY-YEAR-RUNID.xml.gz and writes tdi-BODY-YEAR-RUNID.manifest.json. Frees w. On any
 * failure nothing is left in the output directory. */
tdi_status report_publish(report_writer *w, report_published *out);
/* Removes the temp file and frees w (NULL is fine). */
void report_abort(report_writer *w);

/* The content hash of rec (hex, REPORT_HASH_HEX digits) over every attribute its <episode/>
 * carries but entrant, and its start date, so two versions of a record hash alike exactly when
 * the body would see the same and the person's starts rank alike. */
tdi_status report_record_hash(tdi_hash *h, const tdi_record *rec, char hex[REPORT_HASH_HEX + 1]);

/* ---- quarantine ---- */
typedef struct report_quarantine report_quarantine;

tdi_status report_quarantine_open(const report_meta *meta, const char *source,
                                  report_quarantine **out);
tdi_status report_quarantine_add(report_quarantine *q, const char *key, const tdi_rejection *rej);
/* Finishes the temp file and gives its SHA-256 (the caller may find it holds nothing new and
 * abort instead of publishing). */
tdi_status report_quarantine_finish(report_quarantine *q, char sha256[65]);
/* Publishes OUTPUT_DIR/quarantine/quarantine-SOURCE-YEAR-RUNID.tsv (header line only when no
 * row was rejected) and frees q. */
tdi_status report_quarantine_publish(report_quarantine *q, report_published *out);
void report_quarantine_abort(report_quarantine *q);

/* ---- tables ---- */
typedef struct report_tables report_tables;

/* Starts the tables of body: in memory only until published. threshold: non-zero counts below
 * it are suppressed (0 or 1: none). *out is released by exactly one of report_tables_publish()
 * or report_tables_abort(). */
tdi_status report_tables_open(const report_meta *meta, const char *body, int threshold,
                              report_tables **out);
/* Counts rec (with the body's pseudonyms; only its codes and age are used), unless it is not
 * an entrant (TDI_ENTRANT_NO): the tables count each person once at the counting level. */
tdi_status report_tables_add(report_tables *t, const tdi_record *rec);
/* Applies disclosure control to t (the linear programs of disclosure/: the dearest part of
 * publishing tables), unless done already, and returns its verdict (TDI_ERR_DISCLOSURE when a
 * table cannot be protected), which report_tables_publish() then keeps. Tables of different
 * bodies may be protected on different threads at once when dc_glpk_threads() says so; each such
 * thread calls dc_glpk_release() before it ends. */
tdi_status report_tables_protect(report_tables *t);
/* Applies disclosure control (report_tables_protect(), unless done), writes
 * OUTPUT_DIR/BODY/tdi-BODY-YEAR-RUNID.tables.xml, validates
 * it against schema_dir/tdi-tables.xsd, publishes it and tdi-BODY-YEAR-RUNID.tables.manifest.json,
 * and frees t. out->records is the number of records counted; *suppressed (may be NULL) the
 * number of suppressed cells. TDI_ERR_DISCLOSURE when a table cannot be protected; on any
 * failure nothing is left in the output directory. */
tdi_status report_tables_publish(report_tables *t, report_published *out, size_t *suppressed);
void report_tables_abort(report_tables *t);
/* Number of tables in a tables file. */
size_t report_tables_count(void);
/* ---- the workbook (rpt_workbook) ---- */
typedef struct report_workbook_info {
    char body[REPORT_BODY_MAX + 1];
    char run_id[17];
    char counting_level[16];
    int year, threshold;
    unsigned long numbers;    /* cells written from the tables' numbers */
    unsigned long suppressed; /* cells marked suppressed */
    char sha256[65];          /* of the workbook written */
} report_workbook_info;

/* Writes the official TDI workbook (the layout schema_dir/tdi-workbook-2022.map) filled in from
 * the tables file at tables (checked against its schema first) to out_path, atomically: every
 * number at its row and column of the form, suppressed cells as "c" on grey, the methodological
 * cells tdi knows. TDI_ERR_INVALID when the tables file is not valid. */
tdi_status report_workbook_write(const char *tables, const char *schema_dir, const char *out_path,
                                 report_workbook_info *info);
/* The same next to a published tables file DIR/tdi-BODY-YEAR-RUNID.tables.xml:
 * DIR/tdi-BODY-YEAR-RUNID.workbook.xlsx and its .workbook.manifest.json. */
tdi_status report_workbook_publish(const char *tables, const char *schema_dir,
                                   report_published *out);

/* ---- the run report's trends: published cells of the tables (rpt_read) ---- */
#define REPORT_TREND_DRUG   "9.1.1" /* entrants by primary drug: its group rows, column total */
#define REPORT_TREND_CENTRE "8.1.1" /* entrants by type of treatment centre: row total */
#define REPORT_TREND_RESIDENTIAL                                                                   \
    "43.2.1" /* residential entrants: by approach (column total), by                               \
              * planned duration (row total) */
#define REPORT_CODE_MAX 32

typedef struct report_cell {
    char table[REPORT_CODE_MAX], row[REPORT_CODE_MAX], col[REPORT_CODE_MAX];
    unsigned long value; /* 0 when suppressed: the count stays in the tables file's hands */
    int suppressed;
} report_cell;

/* The cells the run report draws trends from, of the tables file at path, as published (a
 * <suppressed/> cell is marked, its count is not there): REPORT_TREND_DRUG's group rows (codes
 * without a dot) and total in column total, REPORT_TREND_CENTRE's row total,
 * REPORT_TREND_RESIDENTIAL's column total and row total. *out (malloc'd, the
 * caller frees it; NULL when none) gets *n cells. TDI_ERR_INVALID when path is no tables file. */
tdi_status report_trend_cells(const char *path, report_cell **out, size_t *n);

/* ---- the run report (rpt_html) ---- */
/* Writes the run report r as one self-contained HTML page to out_path, atomically; source: r
 * holds that source only, and the page is that clinic's (no body's files). */
tdi_status report_html_write(const tdi_page *r, const char *source, const char *out_path);

/* ---- housekeeping ---- */
/* Creates dir and its missing parents (mode 0750) when missing; TDI_ERR_OUTPUT when dir is a
 * symbolic link, not owned by the running user, or writable by group or others. */
tdi_status report_ensure_dir(const char *dir);
/* Removes from dir the temp files a killed run left: .tdi-*.tmp (submissions, manifests, spools),
 * .quarantine-*.tmp and .report-*.tmp (the run's page), regular files and links planted at those
 * names (the link, never its target). *removed counts them. A missing dir is fine; an untrusted one
 * (report_ensure_dir) is refused. Only safe while no other run can be writing there (under the run
 * lock). */
tdi_status report_sweep_temp(const char *dir, unsigned long *removed);
/* Removes from a body's folder dir each data file of a publication a killed run left without its
 * manifest (the manifest, written after the file, is what makes it published): tdi-*.xml.gz,
 * tdi-*.tables.xml and tdi-*.workbook.xlsx whose manifest is not there, each said in an info line
 * (the file's name). A missing dir is fine; an untrusted one is refused. Only under the run lock:
 * a run publishing at the same time is between the two renames. */
tdi_status report_sweep_unmanifested(const char *dir);

/* ---- validation ---- */
/* Validates path (.xml or .xml.gz, by content; "-" is standard input; a pipe works, it is read
 * once) against the schema of its root element's namespace in schema_dir (tdi-submission.xsd or
 * tdi-tables.xsd), streaming. Each error is logged as "PATH:LINE: message". Returns TDI_OK,
 * TDI_ERR_INVALID, or TDI_ERR_OUTPUT/TDI_ERR_INTERNAL when the file or schema cannot be read. */
tdi_status report_validate_file(const char *path, const char *schema_dir);
/* The same, refusing (TDI_ERR_INVALID) a document whose XML (inflated) is over max_bytes bytes
 * (0: no limit), as soon as it is: a small .gz can inflate to gigabytes of whitespace. */
tdi_status report_validate_file_max(const char *path, const char *schema_dir,
                                    unsigned long long max_bytes);

/* ---- the receiving side ---- */
/* `tdi load`: applies the submissions among paths (files or directories) to the receiver's
 * database at conninfo (schema tdi_receiver, created from schema_dir/receiver/001-receiver.sql
 * when missing), per body and year in sequence order, one transaction per file, each file after
 * its manifest's SHA-256 and its schema check. One line per file on out. A file already loaded
 * changes nothing; of two files with one sequence the later run's is kept. TDI_ERR_INVALID when
 * a file was not taken (a gap, a bad hash, an invalid file: logged; nothing after it of its body
 * and year is applied), TDI_ERR_STATE when the database fails. */
tdi_status report_load(const char *conninfo, char *const *paths, int npaths, const char *schema_dir,
                       FILE *out);
/* `tdi audit`: checks the submissions among paths without tdi's state: schema, manifests,
 * sequence continuity and order, repeated keys in a file, replaces and deletes of keys never
 * appended, and the cross-field rules (schemas/tdi-rules.sch). One line per finding on out,
 * "FILE:LINE: rule: message"; *findings counts them. TDI_ERR_INVALID when there is one. */
tdi_status report_audit(char *const *paths, int npaths, const char *schema_dir, FILE *out,
                        unsigned long *findings);

/* `tdi audit-tables`: audits the table protection of each tables file among paths without tdi's
 * state (rpt_tabaudit.c): every suppressed cell's interval from the published cells and the
 * relations the run knows (dc_audit, values not known), against protection (0: the file's
 * threshold). On out, per failing cell "FILE: table T row R column C: value in [LO, HI], needs
 * N" and per file "FILE: N suppressed cells audited, M fail". *nfail (may be NULL) gets the
 * failing cells of all files. TDI_ERR_INVALID when one fails or a file is not a valid tables
 * file (logged), TDI_ERR_INTERNAL when out of memory or the solver fails. */
tdi_status report_audit_tables(char *const *paths, int npaths, const char *schema_dir,
                               unsigned long protection, FILE *out, size_t *nfail);

#endif
