/*
 * tdi_pg: libpq the way every tdi connection uses it (clinic sources and the state database).
 *
 *   - errors of a source (who starts with "source ") are logged without the values a server
 *     message may quote (SQLSTATE classes 22 and 23 can carry a cell of the row, which may be a
 *     birth date or a name); the state database holds no personal data;
 *   - every wait for the server is a poll() that a SIGINT/SIGTERM interrupts: the query is then
 *     cancelled and TDI_ERR_INTERRUPTED returned, so a stop never waits for a slow query;
 *   - each failure says whether it is transient (connection lost, server shutting down, out of
 *     resources), which is what the retry with backoff acts on;
 *   - a connection may have a stall limit (tdi_pg_set_stall_timeout): a wait that hears nothing
 *     from the server for that long cancels the statement and fails as transient.
 *
 * who names the other end in messages ("source riverside", "state database"); what names the
 * step ("the source query"). Messages read "WHO: WHAT failed: REASON".
 */
#ifndef TDI_PG_H
#define TDI_PG_H

#include "tdi_status.h"

#include <libpq-fe.h>

/* Logs "WHO: WHAT failed: ..." for res (or, without a result, the connection's message). For a
 * source ("source ..."), the server's message only when its class names no value. */
void tdi_pg_log_error(const char *who, const char *what, const PGresult *res, const PGconn *conn);
/* 1 when the failure behind res (or the connection's state) may go away on a retry. */
int tdi_pg_transient(const PGresult *res, const PGconn *conn);

/* The session's TimeZone. A source's stays the one its server, database or role sets (what
 * clinic IT sees in psql: a view's admitted_at::date, tdi's ::date of a timestamptz); tdi's own
 * databases (state, a receiver's) are read in UTC. */
typedef enum tdi_pg_zone { TDI_PG_ZONE_UTC, TDI_PG_ZONE_SOURCE } tdi_pg_zone;

/* Connects (connect_timeout 30 and application_name unless conninfo sets them), UTF8 client
 * encoding, ISO dates, the TimeZone of zone; the server's notices go to the debug log, a source's
 * without their text. who must outlive the connection (the notices name it). On failure logs, sets
 * *transient and returns err_class. The first call loads libpq (tdi_pq.h); when it cannot, that is
 * a failure too, not transient. */
tdi_status tdi_pg_connect(const char *conninfo, const char *appname, const char *who,
                          tdi_status err_class, tdi_pg_zone zone, PGconn **out, int *transient);

/* From now on a wait on conn that hears nothing from the server for ms milliseconds (no result,
 * no COPY data) gives up: the statement is cancelled (PQcancel), "WHO: sent nothing for N s:
 * given up" logged, and the call fails with its err_class as transient. 0: no limit (the
 * default). Once per connection; kept with it (libpq instance data), gone with PQfinish. */
tdi_status tdi_pg_set_stall_timeout(PGconn *conn, const char *who, long ms);

/* Runs sql with nparams text parameters (NULL entries are SQL NULL), waiting interruptibly.
 * Succeeds when the result status is want; *out (may be NULL: cleared here) receives the result.
 * On failure logs, sets *transient (may be NULL) and returns err_class, or TDI_ERR_INTERRUPTED. */
tdi_status tdi_pg_query(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                        const char *sql, int nparams, const char *const *params,
                        ExecStatusType want, PGresult **out, int *transient);
/* tdi_pg_query in two halves: _send sends sql and returns at once, so the server works while
 * the caller does; _result waits (interruptibly) for its results, as tdi_pg_query does. */
tdi_status tdi_pg_send(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                       const char *sql, int nparams, const char *const *params, int *transient);
tdi_status tdi_pg_result(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                         ExecStatusType want, PGresult **out, int *transient);
/* tdi_pg_query wanting PGRES_COMMAND_OK, no parameters, result dropped. */
tdi_status tdi_pg_command(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                          const char *sql);

/* In COPY OUT: the next row into *line (len bytes, freed with PQfreemem), or *eof = 1 after the
 * last row once the COPY's final result was read and found good. */
tdi_status tdi_pg_copy_get(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                           char **line, int *len, int *eof, int *transient);
/* In COPY IN: sends len bytes. */
tdi_status tdi_pg_copy_put(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                           const char *buf, size_t len);
/* Ends a COPY IN: with errmsg NULL commits the rows, otherwise makes the server drop them all.
 * Reads the final result. */
tdi_status tdi_pg_copy_end(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                           const char *errmsg);

/* After an interrupted or failed call: cancels what the server is doing, discards what it still
 * sends, and returns 1 when conn is idle and usable again (0: close it). Waits at most
 * timeout_ms in all, whatever the stop flag says. */
int tdi_pg_recover(PGconn *conn, int timeout_ms);

#endif
