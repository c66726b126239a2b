/* tdi_pq: libpq opened with dlopen() at the first connection, its functions forwarded; see
 * tdi_pq.h. */
#include "tdi_pq.h"

#include "tdi_dl.h"
#include "tdi_log.h"

#include <libpq-events.h>
#include <libpq-fe.h>

/* The libpq functions tdi calls that return a value: X(type, name, (parameters), (arguments)).
 * A function added to tdi's calls goes here (or in PQ_VOIDS): the link fails until it does. */
#define PQ_FUNCS(X)                                                                                \
    X(PGconn *, PQconnectStartParams,                                                              \
      (const char *const *keywords, const char *const *values, int expand_dbname),                 \
      (keywords, values, expand_dbname))                                                           \
    X(PostgresPollingStatusType, PQconnectPoll, (PGconn * conn), (conn))                           \
    X(ConnStatusType, PQstatus, (const PGconn *conn), (conn))                                      \
    X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))                  \
    X(const char *, PQparameterStatus, (const PGconn *conn, const char *name), (conn, name))       \
    X(char *, PQerrorMessage, (const PGconn *conn), (conn))                                        \
    X(int, PQsocket, (const PGconn *conn), (conn))                                                 \
    X(PQconninfoOption *, PQconninfo, (PGconn * conn), (conn))                                     \
    X(int, PQsetClientEncoding, (PGconn * conn, const char *encoding), (conn, encoding))           \
    X(PGcancel *, PQgetCancel, (PGconn * conn), (conn))                                            \
    X(int, PQcancel, (PGcancel * cancel, char *errbuf, int size), (cancel, errbuf, size))          \
    X(int, PQsendQuery, (PGconn * conn, const char *query), (conn, query))                         \
    X(int, PQsendQueryParams,                                                                      \
      (PGconn * conn, const char *command, int n, const Oid *types, const char *const *values,     \
       const int *lengths, const int *formats, int result_format),                                 \
      (conn, command, n, types, values, lengths, formats, result_format))                          \
    X(PGresult *, PQprepare,                                                                       \
      (PGconn * conn, const char *name, const char *query, int n, const Oid *types),               \
      (conn, name, query, n, types))                                                               \
    X(PGresult *, PQdescribePrepared, (PGconn * conn, const char *name), (conn, name))             \
    X(PGresult *, PQgetResult, (PGconn * conn), (conn))                                            \
    X(int, PQisBusy, (PGconn * conn), (conn))                                                      \
    X(int, PQconsumeInput, (PGconn * conn), (conn))                                                \
    X(int, PQputCopyData, (PGconn * conn, const char *buf, int n), (conn, buf, n))                 \
    X(int, PQputCopyEnd, (PGconn * conn, const char *errmsg), (conn, errmsg))                      \
    X(int, PQgetCopyData, (PGconn * conn, char **buf, int async), (conn, buf, async))              \
    X(ExecStatusType, PQresultStatus, (const PGresult *res), (res))                                \
    X(char *, PQresStatus, (ExecStatusType status), (status))                                      \
    X(char *, PQresultErrorMessage, (const PGresult *res), (res))                                  \
    X(char *, PQresultErrorField, (const PGresult *res, int code), (res, code))                    \
    X(int, PQntuples, (const PGresult *res), (res))                                                \
    X(int, PQnfields, (const PGresult *res), (res))                                                \
    X(char *, PQfname, (const PGresult *res, int col), (res, col))                                 \
    X(Oid, PQftype, (const PGresult *res, int col), (res, col))                                    \
    X(char *, PQgetvalue, (const PGresult *res, int row, int col), (res, row, col))                \
    X(int, PQgetisnull, (const PGresult *res, int row, int col), (res, row, col))                  \
    X(int, PQregisterEventProc, (PGconn * conn, PGEventProc proc, const char *name, void *pass),   \
      (conn, proc, name, pass))                                                                    \
    X(int, PQsetInstanceData, (PGconn * conn, PGEventProc proc, void *data), (conn, proc, data))   \
    X(void *, PQinstanceData, (const PGconn *conn, PGEventProc proc), (conn, proc))                \
    X(PQnoticeReceiver, PQsetNoticeReceiver, (PGconn * conn, PQnoticeReceiver proc, void *arg),    \
      (conn, proc, arg))

/* The ones that free: without libpq there is nothing to free (tdi_pq.h). */
#define PQ_VOIDS(X)                                                                                \
    X(PQfinish, (PGconn * conn), (conn))                                                           \
    X(PQclear, (PGresult * res), (res))                                                            \
    X(PQfreemem, (void *ptr), (ptr))                                                               \
    X(PQfreeCancel, (PGcancel * cancel), (cancel))                                                 \
    X(PQconninfoFree, (PQconninfoOption * opts), (opts))

/* The addresses in libpq, set by tdi_dl_load() before `loaded` says they may be read. */
PQ_FUNCS(TDI_DL_POINTER)
PQ_VOIDS(TDI_DL_VOID_POINTER)

static const tdi_dl_slot slots[] = {PQ_FUNCS(TDI_DL_SLOT) PQ_VOIDS(TDI_DL_VOID_SLOT)};
static tdi_dl libpq = TDI_DL_INIT(TDI_PQ_LIBRARY, "TDI_TEST_LIBPQ", slots);
#define TDI_DL_SELF libpq

tdi_status tdi_pq_load(const char *who, tdi_status err_class)
{
    if (tdi_dl_load(&libpq))
        return TDI_OK;
    tdi_error("%s: connecting failed: the PostgreSQL client library %s cannot be loaded: %s "
              "(Debian: apt-get install libpq5)",
              who, tdi_dl_library(&libpq), libpq.failure);
    return err_class;
}

/* A free before the load has nothing to free (tdi_pq.h). */
#define PQ_FREE_FORWARD(name, params, args)                                                        \
    void name params                                                                               \
    {                                                                                              \
        if (atomic_load(&libpq.loaded))                                                            \
            p_##name args;                                                                         \
    }
PQ_FUNCS(TDI_DL_FORWARD)
PQ_VOIDS(PQ_FREE_FORWARD)
