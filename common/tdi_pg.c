/* tdi_pg: libpq with interruptible waits, value-free error messages and transient-failure
 * classification; see tdi_pg.h. */
#include "tdi_pg.h"

#include "tdi_log.h"
#include "tdi_pq.h"
#include "tdi_signal.h"

#include <libpq-events.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CONNECT_TIMEOUT "30"

/* The SQLSTATE classes whose primary message names objects, settings or the server's own state,
 * never a value of a row: connection (08), feature (0A), invalid role (0P), transaction state
 * (25), authorization (28), catalog and schema names (3D, 3F), rollback (40), syntax and access
 * (42), resources and limits (53, 54), object state (55), operator intervention (57), system and
 * internal errors (58, XX). Any other class may carry a value: data (22), integrity (23), a
 * function's RAISE (P0), external routines (38, 39), foreign data (HV), a clinic's own codes. */
static int class_names_no_value(const char *state)
{
    static const char *const classes[] = {"08", "0A", "0P", "25", "28", "3D", "3F", "40",
                                          "42", "53", "54", "55", "57", "58", "XX"};

    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strncmp(state, classes[i], 2) == 0)
            return 1;
    return 0;
}

/* Whether the server's message about res may be shown for who. The state database and a
 * receiver's hold pseudonyms only; a source's rows are personal data, so its message is shown
 * only for a class that names no value, and not when it comes from a query inside the source's
 * own functions (an internal query: dynamic SQL may be built from a row). */
static int message_shown(const char *who, const PGresult *res, const char *state)
{
    if (strncmp(who, "source ", 7) != 0)
        return 1;
    return state && class_names_no_value(state) && !PQresultErrorField(res, PG_DIAG_INTERNAL_QUERY);
}

void tdi_pg_log_error(const char *who, const char *what, const PGresult *res, const PGconn *conn)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[512];

    if (state && !message_shown(who, res, state)) {
        if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
            tdi_error("%s: %s failed: SQLSTATE %s, a value of the source query does not fit "
                      "the column contract (the server's message is not shown: it may quote "
                      "personal data)",
                      who, what, state);
        else
            tdi_error("%s: %s failed: SQLSTATE %s (the server's message is not shown: it may "
                      "quote personal data)",
                      who, what, state);
        return;
    }
    if (primary) {
        tdi_error("%s: %s failed: %s (SQLSTATE %s)", who, what, primary, state ? state : "?");
        return;
    }
    /* No server message: a connection-level failure; libpq's text names the host, not data. */
    snprintf(msg, sizeof msg, "%s",
             res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
             : conn                            ? PQerrorMessage(conn)
                                               : "no connection");
    msg[strcspn(msg, "\n")] = '\0';
    tdi_error("%s: %s failed: %s", who, what, *msg ? msg : "connection lost");
}

/* libpq's default prints a server's notice (a view's RAISE NOTICE, a LOG line under the role's
 * client_min_messages) to stderr word for word, past tdi's log. Here it goes to the debug log,
 * and a source's without its text, which may quote a row (message_shown). who (arg) is the
 * caller's and outlives the connection (tdi_pg_connect). */
static void on_notice(void *arg, const PGresult *res)
{
    const char *who = arg;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (!severity)
        severity = "NOTICE";
    if (state && primary && message_shown(who, res, state))
        tdi_debug("%s: the server says (%s, SQLSTATE %s): %s", who, severity, state, primary);
    else
        tdi_debug("%s: the server sent a %s (SQLSTATE %s; its text is not shown: it may quote "
                  "personal data)",
                  who, severity, state ? state : "?");
}

int tdi_pg_transient(const PGresult *res, const PGconn *conn)
{
    static const char *const classes[] = {"08", "40", "53", "57", "58"};
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return 1;
    if (!state)
        return 1; /* libpq's own failure: the connection broke */
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strncmp(state, classes[i], 2) == 0)
            return 1;
    return 0;
}

static void set_transient(int *transient, int value)
{
    if (transient)
        *transient = value;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connect_timeout in force for conn, in milliseconds (libpq: at least 2 s, 0 = none). */
static long connect_timeout_ms(PGconn *conn)
{
    PQconninfoOption *opts = PQconninfo(conn);
    long ms = 0;

    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val)
            ms = strtol(o->val, NULL, 10) * 1000;
    PQconninfoFree(opts);
    return ms > 0 && ms < 2000 ? 2000 : ms;
}

/* PQconnectPoll driven by our own waits, so that a stop signal ends a connection attempt to
 * a host that does not answer. libpq applies connect_timeout per host: so do we. */
static tdi_status connect_poll(PGconn *conn, int *timed_out)
{
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    long limit = connect_timeout_ms(conn), start = now_ms();
    int sock = PQsocket(conn);

    *timed_out = 0;
    while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
        int ready = 0, wait = -1;
        tdi_status st;

        if (PQsocket(conn) != sock) { /* next host or address: its own timeout */
            sock = PQsocket(conn);
            start = now_ms();
        }
        if (limit > 0) {
            wait = (int)(limit - (now_ms() - start));
            if (wait <= 0) {
                *timed_out = 1;
                return TDI_ERR_SOURCE;
            }
        }
        st = tdi_wait_fd(sock, ps == PGRES_POLLING_WRITING, wait, &ready);
        if (st != TDI_OK)
            return st;
        if (ready)
            ps = PQconnectPoll(conn);
    }
    return ps == PGRES_POLLING_OK ? TDI_OK : TDI_ERR_SOURCE;
}

tdi_status tdi_pg_connect(const char *conninfo, const char *appname, const char *who,
                          tdi_status err_class, tdi_pg_zone zone, PGconn **out, int *transient)
{
    /* Later keywords override earlier ones, and the conninfo expands in place of dbname: our
     * defaults go first so the connection's own settings win. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const vals[] = {DEFAULT_CONNECT_TIMEOUT, appname, conninfo, NULL};
    PGconn *conn;
    tdi_status st;
    int timed_out = 0;

    *out = NULL;
    set_transient(transient, 0);
    /* libpq is loaded here, by the first connection (tdi_pq.h); missing, it stays missing. */
    st = tdi_pq_load(who, err_class);
    if (st != TDI_OK)
        return st;
    conn = PQconnectStartParams(keys, vals, 1);
    if (!conn) {
        tdi_error("%s: connecting failed: out of memory", who);
        return TDI_ERR_INTERNAL;
    }
    st = PQstatus(conn) == CONNECTION_BAD ? TDI_ERR_SOURCE : connect_poll(conn, &timed_out);
    if (st == TDI_ERR_INTERRUPTED)
        goto done;
    if (st != TDI_OK) {
        if (timed_out)
            tdi_error("%s: connecting failed: timeout expired", who);
        else
            tdi_pg_log_error(who, "connecting", NULL, conn);
        /* A wrong conninfo (bad keyword) fails the same way on every attempt. */
        set_transient(transient,
                      PQstatus(conn) == CONNECTION_BAD &&
                          strstr(PQerrorMessage(conn), "invalid connection option") == NULL);
        st = err_class;
        goto done;
    }
    PQsetNoticeReceiver(conn, on_notice, (void *)(uintptr_t)who); /* only read */
    if (PQsetClientEncoding(conn, "UTF8") != 0) {
        tdi_pg_log_error(who, "setting client_encoding UTF8", NULL, conn);
        set_transient(transient, tdi_pg_transient(NULL, conn));
        st = err_class;
        goto done;
    }
    /* ISO dates whatever the server's default. A source keeps its own TimeZone: a view's
     * admitted_at::date must be the date clinic IT sees in psql, not UTC's. */
    if (zone == TDI_PG_ZONE_SOURCE)
        st = tdi_pg_query(conn, who, "setting DateStyle", err_class, "SET DateStyle = ISO", 0, NULL,
                          PGRES_COMMAND_OK, NULL, transient);
    else
        st = tdi_pg_query(conn, who, "setting DateStyle and TimeZone", err_class,
                          "SET DateStyle = ISO; SET TimeZone = 'UTC'", 0, NULL, PGRES_COMMAND_OK,
                          NULL, transient);

done:
    if (st == TDI_OK)
        *out = conn;
    else
        PQfinish(conn);
    return st;
}

/* ---- the stall limit: libpq's instance data of this (do-nothing) event procedure */

static int stall_event(PGEventId id, void *info, void *pass)
{
    (void)id;
    (void)info;
    (void)pass;
    return 1;
}

tdi_status tdi_pg_set_stall_timeout(PGconn *conn, const char *who, long ms)
{
    if (ms <= 0)
        return TDI_OK;
    if (!PQregisterEventProc(conn, stall_event, "tdi stall timeout", NULL) ||
        !PQsetInstanceData(conn, stall_event, (void *)(intptr_t)ms)) {
        tdi_error("%s: setting the stall timeout failed", who);
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}

/* conn's stall limit in milliseconds, -1 for none (tdi_wait_fd's "no timeout"). */
static int stall_limit(const PGconn *conn)
{
    intptr_t ms = (intptr_t)PQinstanceData(conn, stall_event);

    return ms > 0 ? (int)ms : -1;
}

/* Waits until conn's socket is readable; *stalled = 1 (TDI_OK) when the stall limit passed first.
 */
static tdi_status wait_read(PGconn *conn, int *stalled)
{
    int ready = 0;
    tdi_status st = tdi_wait_fd(PQsocket(conn), 0, stall_limit(conn), &ready);

    *stalled = st == TDI_OK && !ready;
    return st;
}

/* The server sent nothing for the stall limit: cancel what it is doing (it may be sleeping, or
 * stuck on a lock, and would go on after the connection is closed) and fail as transient. */
static tdi_status give_up(PGconn *conn, const char *who, tdi_status err_class, int *transient)
{
    PGcancel *cancel = PQgetCancel(conn);
    char errbuf[256];

    if (cancel) {
        (void)PQcancel(cancel, errbuf, sizeof errbuf);
        PQfreeCancel(cancel);
    }
    tdi_error("%s: sent nothing for %g s: given up", who, stall_limit(conn) / 1000.0);
    set_transient(transient, 1);
    return err_class;
}

/* Waits until a whole result can be read without blocking; *stalled as wait_read. */
static tdi_status wait_result(PGconn *conn, int *stalled)
{
    *stalled = 0;
    while (PQisBusy(conn)) {
        tdi_status st = wait_read(conn, stalled);

        if (st != TDI_OK || *stalled)
            return st;
        if (!PQconsumeInput(conn))
            return TDI_ERR_SOURCE; /* the caller asks PQgetResult, which says why */
    }
    return TDI_OK;
}

tdi_status tdi_pg_send(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                       const char *sql, int nparams, const char *const *params, int *transient)
{
    int sent;

    set_transient(transient, 0);
    /* Without parameters the simple protocol, which takes several statements at once. */
    sent = nparams > 0 ? PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
                       : PQsendQuery(conn, sql);
    if (!sent) {
        tdi_pg_log_error(who, what, NULL, conn);
        set_transient(transient, tdi_pg_transient(NULL, conn));
        return err_class;
    }
    return TDI_OK;
}

tdi_status tdi_pg_query(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                        const char *sql, int nparams, const char *const *params,
                        ExecStatusType want, PGresult **out, int *transient)
{
    tdi_status st;

    if (out)
        *out = NULL;
    st = tdi_pg_send(conn, who, what, err_class, sql, nparams, params, transient);
    return st != TDI_OK ? st : tdi_pg_result(conn, who, what, err_class, want, out, transient);
}

tdi_status tdi_pg_result(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                         ExecStatusType want, PGresult **out, int *transient)
{
    PGresult *res, *kept = NULL;
    tdi_status st = TDI_OK;

    if (out)
        *out = NULL;
    set_transient(transient, 0);
    for (;;) {
        ExecStatusType rs;
        int stalled = 0;

        if (wait_result(conn, &stalled) == TDI_ERR_INTERRUPTED) {
            PQclear(kept);
            return TDI_ERR_INTERRUPTED;
        }
        if (stalled) {
            PQclear(kept);
            return give_up(conn, who, err_class, transient);
        }
        res = PQgetResult(conn);
        if (!res)
            break;
        rs = PQresultStatus(res);
        if (rs == PGRES_FATAL_ERROR || rs == PGRES_NONFATAL_ERROR || rs == PGRES_BAD_RESPONSE) {
            if (st == TDI_OK) {
                tdi_pg_log_error(who, what, res, conn);
                set_transient(transient, tdi_pg_transient(res, conn));
                st = err_class;
            }
            PQclear(res);
            continue;
        }
        PQclear(kept);
        kept = res;
        /* A COPY result stays current until the COPY is done: the caller takes over. */
        if (rs == PGRES_COPY_OUT || rs == PGRES_COPY_IN || rs == PGRES_COPY_BOTH)
            break;
    }
    if (st == TDI_OK && (!kept || PQresultStatus(kept) != want)) {
        tdi_error("%s: %s failed: unexpected result %s", who, what,
                  kept ? PQresStatus(PQresultStatus(kept)) : "(none)");
        st = err_class;
    }
    if (st == TDI_OK && out) {
        *out = kept;
        kept = NULL;
    }
    PQclear(kept);
    return st;
}

tdi_status tdi_pg_command(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                          const char *sql)
{
    return tdi_pg_query(conn, who, what, err_class, sql, 0, NULL, PGRES_COMMAND_OK, NULL, NULL);
}

/* Reads the results that end a COPY; only COMMAND_OK is success (pg_dump does the same). */
static tdi_status copy_results(PGconn *conn, const char *who, const char *what,
                               tdi_status err_class, int *transient)
{
    tdi_status st = TDI_OK;
    PGresult *res;

    for (;;) {
        int stalled = 0;

        if (wait_result(conn, &stalled) == TDI_ERR_INTERRUPTED)
            return TDI_ERR_INTERRUPTED;
        if (stalled)
            return give_up(conn, who, err_class, transient);
        res = PQgetResult(conn);
        if (!res)
            break;
        if (PQresultStatus(res) != PGRES_COMMAND_OK && st == TDI_OK) {
            tdi_pg_log_error(who, what, res, conn);
            set_transient(transient, tdi_pg_transient(res, conn));
            st = err_class;
        }
        PQclear(res);
        /* A COPY state left over can only end with the connection: do not spin. */
        if (PQstatus(conn) != CONNECTION_OK)
            break;
    }
    return st;
}

tdi_status tdi_pg_copy_get(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                           char **line, int *len, int *eof, int *transient)
{
    *line = NULL;
    *len = 0;
    *eof = 0;
    set_transient(transient, 0);
    for (;;) {
        int n = PQgetCopyData(conn, line, 1), stalled = 0;
        tdi_status st;

        if (n > 0) {
            *len = n;
            return TDI_OK;
        }
        if (n == -1) {
            *eof = 1;
            return copy_results(conn, who, what, err_class, transient);
        }
        if (n == -2) {
            st = copy_results(conn, who, what, err_class, transient);
            if (st == TDI_OK) { /* the stream broke without a result saying why */
                tdi_pg_log_error(who, what, NULL, conn);
                set_transient(transient, 1);
                st = err_class;
            }
            return st;
        }
        st = wait_read(conn, &stalled);
        if (st != TDI_OK)
            return st;
        if (stalled)
            return give_up(conn, who, err_class, transient);
        if (!PQconsumeInput(conn)) {
            tdi_pg_log_error(who, what, NULL, conn);
            set_transient(transient, 1);
            return err_class;
        }
    }
}

tdi_status tdi_pg_copy_put(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                           const char *buf, size_t len)
{
    while (len > 0) {
        int n = len > (1u << 30) ? 1 << 30 : (int)len;

        if (PQputCopyData(conn, buf, n) != 1) {
            tdi_pg_log_error(who, what, NULL, conn);
            return err_class;
        }
        buf += n;
        len -= (size_t)n;
    }
    return TDI_OK;
}

tdi_status tdi_pg_copy_end(PGconn *conn, const char *who, const char *what, tdi_status err_class,
                           const char *errmsg)
{
    if (PQputCopyEnd(conn, errmsg) != 1) {
        tdi_pg_log_error(who, what, NULL, conn);
        return err_class;
    }
    if (errmsg) { /* the server answers with the error we asked for: expected, not logged */
        PGresult *res;
        int stalled = 0;
        while (wait_result(conn, &stalled) == TDI_OK && !stalled &&
               (res = PQgetResult(conn)) != NULL)
            PQclear(res);
        return TDI_OK;
    }
    return copy_results(conn, who, what, err_class, NULL);
}

int tdi_pg_recover(PGconn *conn, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    char errbuf[256];
    PGcancel *cancel;
    PGresult *res;

    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return 0;
    if (PQtransactionStatus(conn) != PQTRANS_ACTIVE)
        return 1;
    cancel = PQgetCancel(conn);
    if (cancel) {
        PQcancel(cancel, errbuf, sizeof errbuf);
        PQfreeCancel(cancel);
    }
    /* In a COPY IN the server waits for us: end it with an error so it drops the rows. In a
     * COPY OUT, read and drop what is still coming. */
    for (;;) {
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        long left = deadline - now_ms();
        char *buf;
        int n;

        if (left <= 0 || PQstatus(conn) != CONNECTION_OK || !PQconsumeInput(conn))
            return 0;
        while ((n = PQgetCopyData(conn, &buf, 1)) > 0)
            PQfreemem(buf);
        if (n == 0 || PQisBusy(conn)) {
            (void)poll(&pfd, 1, (int)(left < 200 ? left : 200)); /* EINTR: look again */
            continue;
        }
        res = PQgetResult(conn);
        if (!res)
            return PQtransactionStatus(conn) != PQTRANS_ACTIVE;
        if (PQresultStatus(res) == PGRES_COPY_IN)
            PQputCopyEnd(conn, "tdi stopped");
        PQclear(res);
    }
}
