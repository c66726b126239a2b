/* tdi_pq: libpq opened with dlopen() at the first connection, its functions forwarded; see
 * tdi_pq.h. */
#include "tdi_pq.h"

#include "tdi_log.h"

#include <dlfcn.h>
#include <libpq-events.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    X(void *, PQinstanceData, (const PGconn *conn, PGEventProc proc), (conn, proc))

/* The ones that free: without libpq there is nothing to free (tdi_pq.h). */
#define PQ_VOIDS(X)                                                                                \
    X(PQfinish, (PGconn * conn), (conn))                                                           \
    X(PQclear, (PGresult * res), (res))                                                            \
    X(PQfreemem, (void *ptr), (ptr))                                                               \
    X(PQfreeCancel, (PGcancel * cancel), (cancel))                                                 \
    X(PQconninfoFree, (PQconninfoOption * opts), (opts))

/* The addresses in libpq, set once by load() before `loaded` says they may be read. */
#define PQ_POINTER(type, name, params, args) static type(*p_##name) params;
#define PQ_VOID_POINTER(name, params, args)  static void(*p_##name) params;
PQ_FUNCS(PQ_POINTER)
PQ_VOIDS(PQ_VOID_POINTER)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int loaded; /* 1 when every p_ is set */
static char failure[512]; /* why the load failed, for every caller of tdi_pq_load */

static const char *library(void)
{
#ifdef TDI_TEST_HOOKS
    const char *name = getenv("TDI_TEST_LIBPQ");

    if (name && *name)
        return name;
#endif
    return TDI_PQ_LIBRARY;
}

/* Where each address goes, by name. */
#define PQ_SLOT(type, name, params, args) {#name, &p_##name},
#define PQ_VOID_SLOT(name, params, args)  {#name, &p_##name},
static const struct {
    const char *name;
    void *slot; /* a p_ above */
} slots[] = {PQ_FUNCS(PQ_SLOT) PQ_VOIDS(PQ_VOID_SLOT)};

/* Local, so libpq's symbols never stand in for another library's; kept open to the end. */
static void load(void)
{
    void *lib = dlopen(library(), RTLD_NOW | RTLD_LOCAL);
    const char *err;

    if (!lib) {
        err = dlerror();
        snprintf(failure, sizeof failure, "%s", err ? err : "dlopen failed");
        return;
    }
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        void *sym = dlsym(lib, slots[i].name);

        if (!sym) {
            snprintf(failure, sizeof failure, "it has no %s", slots[i].name);
            dlclose(lib);
            return;
        }
        /* POSIX guarantees dlsym's object pointer holds the function's address. */
        memcpy(slots[i].slot, &sym, sizeof sym);
    }
    atomic_store(&loaded, 1);
}

tdi_status tdi_pq_load(const char *who, tdi_status err_class)
{
    pthread_once(&once, load);
    if (atomic_load(&loaded))
        return TDI_OK;
    tdi_error("%s: connecting failed: the PostgreSQL client library %s cannot be loaded: %s "
              "(Debian: apt-get install libpq5)",
              who, library(), failure);
    return err_class;
}

/* Only a call without a connection or result gets here before the load: a bug. */
static void not_loaded(const char *name)
{
    fprintf(stderr, "tdi: internal error: %s called before %s was loaded\n", name, library());
    abort();
}

#define PQ_FORWARD(type, name, params, args)                                                       \
    type name params                                                                               \
    {                                                                                              \
        if (!atomic_load(&loaded))                                                                 \
            not_loaded(#name);                                                                     \
        return p_##name args;                                                                      \
    }
#define PQ_VOID_FORWARD(name, params, args)                                                        \
    void name params                                                                               \
    {                                                                                              \
        if (atomic_load(&loaded))                                                                  \
            p_##name args;                                                                         \
    }
PQ_FUNCS(PQ_FORWARD)
PQ_VOIDS(PQ_VOID_FORWARD)
