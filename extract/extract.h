/*
 * extract: reads one clinic source as a stream of tdi_raw_row.
 *
 * One connection per source, one READ ONLY REPEATABLE READ transaction (a consistent snapshot).
 * The source query is first described (prepared, never run) to learn which contract columns it
 * yields: a missing required column is an error naming it, a missing optional one is NULL in every
 * row (logged once, at info level). Then one COPY (SELECT <the tdi columns it has> FROM (<source
 * query>)) TO STDOUT in text format, parsed row by row: memory does not grow with the number of
 * rows. The year filter is applied in the query. An incremental source (src->incremental names its
 * change-time column) reads only the rows changed after a given time, and then, in the same
 * snapshot, the episode ids of the whole year (extract_keys_begin), from which deletions are
 * found; the snapshot can stay open after that, to read chosen episodes again in it
 * (extract_episodes_begin). Errors from the server are logged without the values they may quote
 * (they can be identifiers); waits end at once on SIGINT or SIGTERM (TDI_ERR_INTERRUPTED).
 */
#ifndef TDI_EXTRACT_H
#define TDI_EXTRACT_H

#include "../common/tdi_config.h"
#include "../common/tdi_record.h"
#include "../common/tdi_status.h"

typedef struct extract_source extract_source;

/* Connects, opens the snapshot and starts the COPY for rows whose start_date is in year (or NULL),
 * and, when since is not NULL (YYYY-MM-DDTHH:MM:SS.ffffffZ, incremental sources only), whose
 * change time is after since or NULL. On success *out owns the connection and src must outlive
 * it; release it with extract_close(). */
tdi_status extract_open(const tdi_source_config *src, int year, const char *since,
                        extract_source **out);
/* extract_open in two steps: _connect connects, opens the snapshot and describes the query (the
 * columns are then known: extract_column); _rows_begin starts the rows' COPY. On failure of
 * _rows_begin the caller closes s. */
tdi_status extract_connect(const tdi_source_config *src, int year, extract_source **out);
tdi_status extract_rows_begin(extract_source *s, const char *since);
/* The columns the source query yields, as described: their number, and column i's name (valid
 * until extract_close) and pg_type OID into *type. */
int extract_ncolumns(const extract_source *s);
const char *extract_column(const extract_source *s, int i, unsigned *type);

/* Fills row with the next row, or sets *eof. Row strings stay valid until the next call. */
tdi_status extract_next(extract_source *s, tdi_raw_row *row, int *eof);

/* Incremental sources: the largest change time of the rows read so far (same format as since),
 * but never later than the source's clock at the start of the snapshot; "" when no row had one. */
const char *extract_max_changed(const extract_source *s);

/* After the last row: starts reading the episode id of every row of the year (the same
 * snapshot), one per extract_key_next() call, *episode_id NULL for a NULL id. */
tdi_status extract_keys_begin(extract_source *s);
tdi_status extract_key_next(extract_source *s, const char **episode_id, int *eof);

/* After the key scan, in the same snapshot: starts reading again the rows of the year (as
 * extract_open reads them, whatever their change time) whose episode id is one of the n ids, as
 * extract_key_next() gave them; read with extract_next(). The ids travel as a parameter, never in
 * the statement's text; the copy made for it is wiped. For the episodes whose counting changed
 * unread (run/run_delta.c). */
tdi_status extract_episodes_begin(extract_source *s, const char *const *ids, size_t n);
/* 1 when s is between statements in its open snapshot (the connection alive): another COPY in
 * the same snapshot can start. */
int extract_in_snapshot(const extract_source *s);

/* 1 when the calling thread's last failure of extract_open/next/keys could go away on a retry (the
 * connection was refused or lost, the server shut down or ran out of resources); 0 for a wrong
 * query, a value that breaks the column contract, a malformed row. */
int extract_failure_transient(void);

/* Ends the COPY and the transaction, closes the connection and frees s (NULL is fine).
 * Returns the first error seen if the stream did not end cleanly. */
tdi_status extract_close(extract_source *s);

/* Parses one COPY text-format line in place (tabs, \N, backslash escapes) of the rows' statement
 * into row->col: the line holds the columns present marks, in contract order; the others are
 * NULL. Exposed for unit tests. Returns TDI_ERR_SOURCE on a malformed line or wrong column
 * count. */
tdi_status extract_parse_copy_line(char *line, size_t len,
                                   const unsigned char present[TDI_COL_COUNT], tdi_raw_row *row);

/* Which contract columns are among the n column names a source query yields: present[c] = 1 or 0
 * (extract_open then marks typed dates EXTRACT_DATE_TYPED).
 * Logs every missing required column as an error naming it (then returns TDI_ERR_SOURCE) and the
 * missing optional ones in one info line. Exposed for unit tests. */
tdi_status extract_match_columns(const char *source, const char *const *names, int n,
                                 unsigned char present[TDI_COL_COUNT]);

/* present[c] of a date column the source types date, timestamp or timestamptz: cast to date on
 * the server, which cannot fail. Any other date column is sent as text and parsed by tdi (R008),
 * so one bad value costs its row, not the source. */
#define EXTRACT_DATE_TYPED 2

/* The pg_type OIDs of date, timestamp and timestamptz (the typed dates; the types a change-time
 * column may have). */
#define EXTRACT_OID_DATE        1082
#define EXTRACT_OID_TIMESTAMP   1114
#define EXTRACT_OID_TIMESTAMPTZ 1184

/* An incremental source's change-time column must be of type timestamptz, timestamp or date
 * (EXTRACT_OID_*): text has no time zone tdi could know, and one value that is no time would
 * fail every read, naming neither the column nor the row. Any other type is logged as an error
 * naming source, column and type, and what the data manager can do; TDI_ERR_SOURCE. */
tdi_status extract_check_changed_type(const char *source, const char *column, unsigned type);

/* The COPY statements for src and year, malloc'd; the caller frees them. Only the columns
 * present are selected, in contract order (the reader fills in the others as NULL); no cast that a
 * value can fail: text columns and untyped dates are sent as text, and the year filter on an
 * untyped start_date compares its text (a value that is no YYYY-MM-DD date passes, for R008). since
 * as for extract_open. changed_type: the pg_type OID of an incremental source's change-time
 * column (EXTRACT_OID_*): a timestamp or date is taken as UTC, so the change time and the filter
 * mean the same in any session TimeZone. NULL when out of memory, since is malformed or
 * changed_type is none of the three (extract_check_changed_type). Exposed for tests. */
char *extract_copy_sql(const tdi_source_config *src, int year,
                       const unsigned char present[TDI_COL_COUNT], unsigned changed_type,
                       const char *since);
/* The key scan: the episode ids under the rows' own filter (the year, and the continuing
 * clients' window of a source with an end_date column). */
/* The rows' COPY restricted to the episode ids extract_episodes_begin() sets. */
char *extract_episodes_sql(const tdi_source_config *src, int year,
                           const unsigned char present[TDI_COL_COUNT], unsigned changed_type);
char *extract_keys_sql(const tdi_source_config *src, int year,
                       const unsigned char present[TDI_COL_COUNT]);

#endif
