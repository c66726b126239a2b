/* harness_pq: the scripted libpq; see harness_pq.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness_pq.h"

#include "../../common/tdi_pq.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LINES 512
#define MAX_LANES 8 /* lane 0, the main script, and up to 7 hpq_lane() scripts */

const char HPQ_NULL[] = "\\N (harness NULL)";

/* A script of its own: lane 0 is the main one (hpq_script), the others are hpq_lane()'s, each
 * followed by the connections whose conninfo contains its key. */
typedef struct lane {
    const char *key; /* NULL: lane 0 */
    hpq_line lines[MAX_LINES];
    int n, pos, busy_served, polls;
} lane;

struct pg_conn {
    int id;
    lane *lane;      /* the script its calls follow */
    int bad;         /* broken: PQstatus says CONNECTION_BAD */
    int busy;        /* a statement was sent, PQgetResult has not returned NULL yet */
    int copy;        /* 0, or PGRES_COPY_OUT / PGRES_COPY_IN while a COPY runs */
    int txn;         /* PQTRANS_IDLE, PQTRANS_INTRANS or PQTRANS_INERROR between statements */
    int next_txn;    /* what txn becomes when the statement's results are read */
    int fail_poll;   /* PQconnectPoll fails */
    const char *err; /* PQerrorMessage */
    int sock[2];     /* PQsocket: sock[0], kept readable by a byte in sock[1] */
    int quiet[2];    /* PQsocket under hpq_silent_socket(1): quiet[0], never readable */
    PGEventProc ev;  /* PQregisterEventProc's procedure (one per connection here) */
    void *evdata;    /* and its PQsetInstanceData */
    PQnoticeReceiver notice; /* PQsetNoticeReceiver's, and its argument: hpq_notice */
    void *notice_arg;
    int raw;     /* client_encoding the server's: rows arrive as the bytes they are */
    int stall;   /* PQsocket: quiet[0], whatever hpq_silent_socket says */
    int waiting; /* stalled, and PQisBusy said 1: counted for hpq_raise_when_stalled */
};

struct pg_result {
    hpq_res r;
    char errmsg[256];
    struct pg_result *next; /* the live results, for hpq_reset */
};

struct pg_cancel {
    PGconn *conn;
};

static lane lanes[MAX_LANES] = {[0] = {.busy_served = -1}};
static int nlanes = 1, nconns, open_conns, live_copy, silent;
static int stall_sig, stall_n, stalled; /* hpq_raise_when_stalled */
/* Every call that reads or changes the scripts, the live results, the counts: the run's reader
 * threads call libpq on connections of their own while the test's thread uses the state one. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int holding; /* this thread holds mu */
static pthread_t test_thread;     /* the thread cmocka runs the test on */
static int test_thread_known;

#define LOCK()                                                                                     \
    do {                                                                                           \
        (void)pthread_mutex_lock(&mu);                                                             \
        holding = 1;                                                                               \
    } while (0)
#define UNLOCK()                                                                                   \
    do {                                                                                           \
        holding = 0;                                                                               \
        (void)pthread_mutex_unlock(&mu);                                                           \
    } while (0)

/* Fails the test. cmocka's fail_msg jumps back into the test: only on the test's thread, and
 * with mu released; another thread (a reader of run_pool.c) cannot jump there, so it prints
 * the message and aborts the test binary, which fails it as well. */
static void hpq_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void hpq_fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (holding)
        UNLOCK();
    if (!test_thread_known || !pthread_equal(pthread_self(), test_thread)) {
        fprintf(stderr, "%s (on a reader thread)\n", msg);
        abort();
    }
    fail_msg("%s", msg);
    abort(); /* not reached: fail_msg does not return */
}
#undef fail_msg
#define fail_msg(...) hpq_fail(__VA_ARGS__)
static const char *server_encoding = "UTF8"; /* PQparameterStatus */
static struct pg_result *live;

/* libpq hands out char * to what the caller must not change: so does the harness. */
static char *unconst(const char *s)
{
    union {
        const char *c;
        char *m;
    } u = {.c = s};
    return u.m;
}

static const char *fn_name(hpq_fn fn)
{
    static const char *const names[] = {"the end of the script",
                                        "PQconnectStartParams",
                                        "PQsendQuery",
                                        "PQprepare",
                                        "PQdescribePrepared",
                                        "PQgetResult",
                                        "PQgetCopyData",
                                        "PQputCopyData",
                                        "PQputCopyEnd",
                                        "PQcancel",
                                        "PQfinish"};
    return names[fn];
}

/* Memory the script's copies live in, freed by hpq_reset(). */
struct keep {
    struct keep *next;
    max_align_t data[];
};
static struct keep *kept;

static void *keep(size_t n)
{
    struct keep *k = malloc(sizeof *k + n);

    if (!k)
        fail_msg("harness_pq: out of memory");
    k->next = kept;
    kept = k;
    return k->data;
}

static const char *keep_str(const char *s)
{
    char *copy;

    if (!s || s == HPQ_NULL)
        return s;
    copy = keep(strlen(s) + 1);
    return strcpy(copy, s);
}

static const char *const *keep_strs(const char *const *v, size_t n)
{
    const char **copy;

    if (!v)
        return NULL;
    copy = keep(n * sizeof *copy + 1);
    for (size_t i = 0; i < n; i++)
        copy[i] = keep_str(v[i]);
    return copy;
}

/* The lines are copied with every string and array they point to: a test may build them in a
 * helper function or in buffers it reuses. */
static void add_lines(lane *ln, const hpq_line *lines)
{
    for (; lines->fn != HPQ_FN_END; lines++) {
        hpq_line *l = &ln->lines[ln->n];

        if (ln->n >= MAX_LINES)
            fail_msg("harness_pq: more than %d script lines", MAX_LINES);
        *l = *lines;
        l->match = keep_str(l->match);
        l->params = keep_str(l->params);
        l->data = keep_str(l->data);
        l->error = keep_str(l->error);
        l->res.sqlstate = keep_str(l->res.sqlstate);
        l->res.message = keep_str(l->res.message);
        l->res.severity = keep_str(l->res.severity);
        l->res.internal = keep_str(l->res.internal);
        l->res.fields = keep_strs(l->res.fields, (size_t)l->res.nfields);
        l->res.values = keep_strs(l->res.values, (size_t)l->res.nfields * (size_t)l->res.ntuples);
        if (l->res.types) {
            Oid *t = keep((size_t)l->res.nfields * sizeof *t + 1);

            memcpy(t, l->res.types, (size_t)l->res.nfields * sizeof *t);
            l->res.types = t;
        }
        ln->n++;
    }
}

static void note_test_thread(void)
{
    test_thread = pthread_self();
    test_thread_known = 1;
}

void hpq_script_add(const hpq_line *lines)
{
    LOCK();
    note_test_thread();
    add_lines(&lanes[0], lines);
    UNLOCK();
}

void hpq_lane_add(const char *key, const hpq_line *lines)
{
    lane *ln = NULL;

    LOCK();
    note_test_thread();
    for (int i = 1; i < nlanes && !ln; i++)
        if (strcmp(lanes[i].key, key) == 0)
            ln = &lanes[i];
    if (!ln) {
        if (nlanes >= MAX_LANES)
            fail_msg("harness_pq: more than %d lanes", MAX_LANES - 1);
        ln = &lanes[nlanes++];
        ln->key = keep_str(key);
    }
    add_lines(ln, lines);
    UNLOCK();
}

/* The lane a new connection follows: the first whose key its conninfo contains, else lane 0. */
static lane *lane_of(const char *conninfo)
{
    for (int i = 1; i < nlanes && conninfo; i++)
        if (strstr(conninfo, lanes[i].key))
            return &lanes[i];
    return &lanes[0];
}

/* The next line of ln, which must be for fn (and conn); the test fails otherwise. */
static const hpq_line *expect_in(lane *ln, hpq_fn fn, const PGconn *conn, const char *what)
{
    const hpq_line *l = ln->pos < ln->n ? &ln->lines[ln->pos] : NULL;
    const char *in = ln->key ? ln->key : "the script";

    if (!l)
        fail_msg("harness_pq: unexpected call %s(%s) after the end of %s", fn_name(fn),
                 what ? what : "", in);
    if (l->fn != fn)
        fail_msg("harness_pq: call %s(%.200s) where %s (test line %d) expects %s", fn_name(fn),
                 what ? what : "", in, l->at, fn_name(l->fn));
    if (l->conn && conn && l->conn != conn->id)
        fail_msg("harness_pq: %s on connection %d where the script (test line %d) expects "
                 "connection %d",
                 fn_name(fn), conn->id, l->at, l->conn);
    ln->pos++;
    if (l->then)
        l->then();
    return l;
}

static const hpq_line *expect(hpq_fn fn, const PGconn *conn, const char *what)
{
    return expect_in(conn->lane, fn, conn, what);
}

static void check_match(const hpq_line *l, const char *text)
{
    if (l->match && (!text || !(l->exact ? strcmp(text, l->match) == 0 : !!strstr(text, l->match))))
        fail_msg("harness_pq: %s got \"%.300s\", which does not %s \"%s\" (test line %d)",
                 fn_name(l->fn), text ? text : "(null)", l->exact ? "equal" : "contain", l->match,
                 l->at);
}

static void after_call(PGconn *conn, const hpq_line *l)
{
    if (l->error)
        conn->err = l->error;
    if (l->lost) {
        conn->bad = 1;
        if (!l->error)
            conn->err = "server closed the connection unexpectedly\n";
    }
}

static void check_conn(const PGconn *conn, const char *fn)
{
    if (!conn)
        fail_msg("harness_pq: %s on a NULL connection", fn);
}

static PGresult *new_result(const hpq_res *r)
{
    PGresult *res = calloc(1, sizeof *res);

    if (!res)
        fail_msg("harness_pq: out of memory");
    res->r = *r;
    if (r->message)
        snprintf(res->errmsg, sizeof res->errmsg, "ERROR:  %s\n", r->message);
    res->next = live;
    live = res;
    return res;
}

static void free_conn(PGconn *conn)
{
    close(conn->sock[0]);
    close(conn->sock[1]);
    close(conn->quiet[0]);
    close(conn->quiet[1]);
    free(conn);
    open_conns--;
}

static void reset_all(void)
{
    while (live) {
        struct pg_result *next = live->next;
        free(live);
        live = next;
    }
    while (kept) {
        struct keep *next = kept->next;
        free(kept);
        kept = next;
    }
    memset(lanes, 0, sizeof lanes);
    lanes[0].busy_served = -1;
    nlanes = 1;
    server_encoding = "UTF8";
    nconns = open_conns = live_copy = silent = 0;
    stall_sig = stall_n = stalled = 0;
}

void hpq_reset(void)
{
    LOCK();
    reset_all();
    UNLOCK();
}

void hpq_done(void)
{
    int results = 0, conns, rows;

    LOCK();
    conns = open_conns;
    rows = live_copy;
    for (struct pg_result *r = live; r; r = r->next)
        results++;
    for (int i = 0; i < nlanes; i++) {
        const lane *ln = &lanes[i];
        int left = ln->n - ln->pos;

        if (left > 0) {
            char in[128];
            hpq_fn fn = ln->lines[ln->pos].fn;
            int at = ln->lines[ln->pos].at;

            snprintf(in, sizeof in, "%s", ln->key ? ln->key : "the script");
            reset_all();
            fail_msg("harness_pq: %d line(s) of %s not used, the first %s (test line %d)", left, in,
                     fn_name(fn), at);
        }
    }
    reset_all();
    UNLOCK();
    if (results)
        fail_msg("harness_pq: %d result(s) not cleared (PQclear)", results);
    if (rows)
        fail_msg("harness_pq: %d COPY row(s) not freed (PQfreemem)", rows);
    if (conns)
        fail_msg("harness_pq: %d connection(s) not finished (PQfinish)", conns);
}

/* ------------------------------------------------------------------ connections */

/* common/tdi_pq.c, which opens the real libpq, is not linked: the harness is the library. */
tdi_status tdi_pq_load(const char *who, tdi_status err_class)
{
    (void)who;
    (void)err_class;
    return TDI_OK;
}

PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values,
                             int expand_dbname)
{
    const char *dbname = NULL;
    const hpq_line *l;
    lane *ln;
    PGconn *conn;

    (void)expand_dbname;
    for (int i = 0; keywords[i]; i++)
        if (strcmp(keywords[i], "dbname") == 0)
            dbname = values[i];
    LOCK();
    ln = lane_of(dbname);
    l = expect_in(ln, HPQ_FN_CONNECT, NULL, dbname);
    check_match(l, dbname);
    conn = calloc(1, sizeof *conn);
    if (!conn || socketpair(AF_UNIX, SOCK_STREAM, 0, conn->sock) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, conn->quiet) != 0 || write(conn->sock[1], "x", 1) != 1)
        fail_msg("harness_pq: cannot make the socket");
    conn->lane = ln;
    conn->id = ++nconns;
    conn->txn = conn->next_txn = PQTRANS_IDLE;
    conn->err = "";
    open_conns++;
    if (l->ret == 1)
        conn->bad = 1;
    if (l->ret)
        conn->err = l->error ? l->error : "connection refused\n";
    conn->fail_poll = l->ret == 2;
    conn->stall = l->stall;
    UNLOCK();
    return conn;
}

PostgresPollingStatusType PQconnectPoll(PGconn *conn)
{
    check_conn(conn, "PQconnectPoll");
    if (conn->fail_poll) {
        conn->bad = 1;
        return PGRES_POLLING_FAILED;
    }
    return conn->bad ? PGRES_POLLING_FAILED : PGRES_POLLING_OK;
}

PQconninfoOption *PQconninfo(PGconn *conn)
{
    PQconninfoOption *o = calloc(2, sizeof *o);

    (void)conn;
    if (!o)
        return NULL;
    o[0].keyword = unconst("connect_timeout"); /* never written: PQconninfoFree frees o only */
    o[0].val = unconst("30");
    return o;
}

void PQconninfoFree(PQconninfoOption *connOptions)
{
    free(connOptions);
}

ConnStatusType PQstatus(const PGconn *conn)
{
    return !conn || conn->bad ? CONNECTION_BAD : CONNECTION_OK;
}

PGTransactionStatusType PQtransactionStatus(const PGconn *conn)
{
    if (!conn || conn->bad)
        return PQTRANS_UNKNOWN;
    return conn->busy ? PQTRANS_ACTIVE : (PGTransactionStatusType)conn->txn;
}

char *PQerrorMessage(const PGconn *conn)
{
    return unconst(conn ? conn->err : "connection pointer is NULL\n");
}

int PQsocket(const PGconn *conn)
{
    return !conn || conn->bad ? -1 : silent || conn->stall ? conn->quiet[0] : conn->sock[0];
}

void hpq_raise_when_stalled(int sig, int n)
{
    LOCK();
    stall_sig = sig;
    stall_n = n;
    stalled = 0;
    UNLOCK();
}

void hpq_silent_socket(int on)
{
    silent = on;
}

/* One procedure per connection is all tdi registers (tdi_pg's stall limit). */
int PQregisterEventProc(PGconn *conn, PGEventProc proc, const char *name, void *passThrough)
{
    (void)name;
    (void)passThrough;
    check_conn(conn, "PQregisterEventProc");
    if (!proc || conn->ev)
        return 0;
    conn->ev = proc;
    return 1;
}

int PQsetInstanceData(PGconn *conn, PGEventProc proc, void *data)
{
    check_conn(conn, "PQsetInstanceData");
    if (!proc || proc != conn->ev)
        return 0;
    conn->evdata = data;
    return 1;
}

void *PQinstanceData(const PGconn *conn, PGEventProc proc)
{
    return conn && proc && proc == conn->ev ? conn->evdata : NULL;
}

PQnoticeReceiver PQsetNoticeReceiver(PGconn *conn, PQnoticeReceiver proc, void *arg)
{
    PQnoticeReceiver old;

    check_conn(conn, "PQsetNoticeReceiver");
    old = conn->notice;
    conn->notice = proc;
    conn->notice_arg = arg;
    return old;
}

PGresult *hpq_result(const hpq_res *r)
{
    PGresult *res;

    LOCK();
    res = new_result(r);
    UNLOCK();
    return res;
}

void hpq_notice(PGconn *conn, const hpq_res *notice)
{
    struct pg_result res = {.r = *notice};

    check_conn(conn, "hpq_notice");
    res.r.status = PGRES_NONFATAL_ERROR;
    if (conn->notice)
        conn->notice(conn->notice_arg, &res);
}

void hpq_server_encoding(const char *encoding)
{
    server_encoding = encoding;
}

const char *PQparameterStatus(const PGconn *conn, const char *paramName)
{
    check_conn(conn, "PQparameterStatus");
    return strcmp(paramName, "server_encoding") == 0 ? server_encoding : NULL;
}

/* UTF8, or the server's own encoding (read as the bytes it holds: SQL_ASCII, or one tdi converts
 * itself). */
int PQsetClientEncoding(PGconn *conn, const char *encoding)
{
    check_conn(conn, "PQsetClientEncoding");
    if (strcmp(encoding, "UTF8") != 0 && strcmp(encoding, server_encoding) != 0)
        fail_msg("harness_pq: client encoding %s on a %s server", encoding, server_encoding);
    conn->raw = strcmp(encoding, "UTF8") != 0;
    return conn->bad ? -1 : 0;
}

void PQfinish(PGconn *conn)
{
    if (!conn)
        return;
    LOCK();
    expect(HPQ_FN_FINISH, conn, NULL);
    free_conn(conn);
    UNLOCK();
}

/* ------------------------------------------------------------------ statements */

/* The transaction state sql leaves when it succeeds (the first word decides). */
static int txn_after(const PGconn *conn, const char *sql)
{
    while (*sql == ' ' || *sql == '\n')
        sql++;
    if (strncasecmp(sql, "BEGIN", 5) == 0 || strncasecmp(sql, "START TRANSACTION", 17) == 0)
        return PQTRANS_INTRANS;
    if (strncasecmp(sql, "COMMIT", 6) == 0 || strncasecmp(sql, "ROLLBACK", 8) == 0 ||
        strncasecmp(sql, "END", 3) == 0)
        return strncasecmp(sql, "ROLLBACK TO", 11) == 0 ? PQTRANS_INTRANS : PQTRANS_IDLE;
    return conn->txn == PQTRANS_INERROR ? PQTRANS_INERROR : conn->txn;
}

static int send_locked(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    char got[4096] = "";
    size_t used = 0;
    const hpq_line *l;

    check_conn(conn, "PQsendQuery");
    if (conn->busy || conn->copy)
        fail_msg("harness_pq: PQsendQuery(%.200s) while the last statement's results are not all "
                 "read (PQgetResult until NULL)",
                 sql);
    l = expect(HPQ_FN_SEND, conn, sql);
    check_match(l, sql);
    for (int i = 0; i < nparams; i++) {
        int n = snprintf(got + used, sizeof got - used, "%s%s", i ? "|" : "",
                         params[i] ? params[i] : "\\N");
        used += n > 0 && (size_t)n < sizeof got - used ? (size_t)n : 0;
    }
    if (l->capture)
        snprintf(l->capture, HPQ_CAPTURE_MAX, "%.*s", HPQ_CAPTURE_MAX - 1, got);
    if (l->params && strcmp(l->params, got) != 0)
        fail_msg("harness_pq: %.100s... sent with parameters \"%s\", the script (test line %d) "
                 "expects \"%s\"",
                 sql, got, l->at, l->params);
    after_call(conn, l);
    if (l->ret != 1 || conn->bad)
        return 0;
    conn->busy = 1;
    conn->next_txn = txn_after(conn, sql);
    return 1;
}

static int send_statement(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    int ret;

    LOCK();
    ret = send_locked(conn, sql, nparams, params);
    UNLOCK();
    return ret;
}

int PQsendQuery(PGconn *conn, const char *query)
{
    return send_statement(conn, query, 0, NULL);
}

int PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                      const char *const *paramValues, const int *paramLengths,
                      const int *paramFormats, int resultFormat)
{
    if (paramTypes || paramLengths || paramFormats || resultFormat)
        fail_msg("harness_pq: PQsendQueryParams with types, lengths or formats: not modelled");
    return send_statement(conn, command, nParams, paramValues);
}

PGresult *PQprepare(PGconn *conn, const char *stmtName, const char *query, int nParams,
                    const Oid *paramTypes)
{
    const hpq_line *l;

    (void)stmtName;
    (void)nParams;
    (void)paramTypes;
    PGresult *res;

    check_conn(conn, "PQprepare");
    LOCK();
    l = expect(HPQ_FN_PREPARE, conn, query);
    check_match(l, query);
    after_call(conn, l);
    if (l->res.status == PGRES_FATAL_ERROR && conn->txn == PQTRANS_INTRANS)
        conn->txn = conn->next_txn = PQTRANS_INERROR;
    res = new_result(&l->res);
    UNLOCK();
    return res;
}

PGresult *PQdescribePrepared(PGconn *conn, const char *stmt)
{
    const hpq_line *l;
    PGresult *res;

    check_conn(conn, "PQdescribePrepared");
    LOCK();
    l = expect(HPQ_FN_DESCRIBE, conn, stmt);
    after_call(conn, l);
    res = new_result(&l->res);
    UNLOCK();
    return res;
}

int PQisBusy(PGconn *conn)
{
    const hpq_line *l;
    lane *ln;
    int busy = 0;

    check_conn(conn, "PQisBusy");
    LOCK();
    ln = conn->lane;
    l = ln->pos < ln->n ? &ln->lines[ln->pos] : NULL;
    /* A result scripted busy is not there until the caller waited and consumed input; while
     * a statement runs and the script has no result next, the server has not answered yet. */
    if ((l && l->fn == HPQ_FN_RESULT && l->busy && ln->busy_served != ln->pos) ||
        (conn->busy && !conn->copy && !conn->bad && (!l || l->fn != HPQ_FN_RESULT))) {
        if (++ln->polls > 1000)
            fail_msg("harness_pq: PQisBusy polled 1000 times while the script expects %s next",
                     fn_name(l ? l->fn : HPQ_FN_END));
        busy = 1;
        if (conn->stall && !conn->waiting) {
            conn->waiting = 1;
            if (stall_sig && ++stalled == stall_n)
                (void)raise(stall_sig);
        }
    } else
        ln->polls = 0;
    UNLOCK();
    return busy;
}

int PQconsumeInput(PGconn *conn)
{
    check_conn(conn, "PQconsumeInput");
    if (conn->bad)
        return 0;
    LOCK();
    conn->lane->busy_served = conn->lane->pos;
    UNLOCK();
    return 1;
}

static PGresult *get_result_locked(PGconn *conn)
{
    const hpq_line *l;
    PGresult *res;

    check_conn(conn, "PQgetResult");
    l = expect(HPQ_FN_RESULT, conn, NULL);
    after_call(conn, l);
    if (l->none) {
        if (!conn->busy)
            fail_msg("harness_pq: PQgetResult returns NULL twice (test line %d)", l->at);
        conn->busy = 0;
        conn->txn = conn->next_txn;
        return NULL;
    }
    if (!conn->busy)
        fail_msg("harness_pq: PQgetResult with no statement sent (test line %d)", l->at);
    res = new_result(&l->res);
    if (l->res.status == PGRES_FATAL_ERROR)
        conn->next_txn = conn->txn == PQTRANS_IDLE ? PQTRANS_IDLE : PQTRANS_INERROR;
    if (l->res.status == PGRES_COPY_OUT || l->res.status == PGRES_COPY_IN)
        conn->copy = l->res.status;
    return res;
}

PGresult *PQgetResult(PGconn *conn)
{
    PGresult *ret;

    LOCK();
    ret = get_result_locked(conn);
    UNLOCK();
    return ret;
}

/* ------------------------------------------------------------------ COPY */

/* 1 when s[0..n) is well-formed UTF-8 (what the scripted server checks before it converts). */
static int utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    while (p < end) {
        int len = *p < 0x80             ? 1
                  : (*p & 0xE0) == 0xC0 ? 2
                  : (*p & 0xF0) == 0xE0 ? 3
                  : (*p & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!len || end - p < len)
            return 0;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += len;
    }
    return 1;
}

static int get_copy_locked(PGconn *conn, char **buffer, int async)
{
    const hpq_line *l;
    size_t n;

    check_conn(conn, "PQgetCopyData");
    *buffer = NULL;
    if (!async)
        fail_msg("harness_pq: PQgetCopyData must not block (async 0)");
    if (conn->copy != PGRES_COPY_OUT) {
        conn->err = "no COPY in progress\n"; /* what libpq says */
        return -2;
    }
    l = expect(HPQ_FN_COPY_GET, conn, NULL);
    after_call(conn, l);
    if (!l->data) {
        if (l->ret < 0)
            conn->copy = 0;
        return l->ret;
    }
    n = strlen(l->data);
    /* As the server does: a SQL_ASCII database's bytes that are no UTF-8, sent to a client that
     * asked for UTF8, fail the COPY (22021). */
    if (strcmp(server_encoding, "SQL_ASCII") == 0 && !conn->raw && !utf8_ok(l->data, n)) {
        conn->err = "ERROR:  invalid byte sequence for encoding \"UTF8\"\n";
        conn->copy = 0;
        return -2;
    }
    *buffer = malloc(n + 1);
    if (!*buffer)
        fail_msg("harness_pq: out of memory");
    memcpy(*buffer, l->data, n + 1);
    live_copy++;
    return (int)n;
}

int PQgetCopyData(PGconn *conn, char **buffer, int async)
{
    int ret;

    LOCK();
    ret = get_copy_locked(conn, buffer, async);
    UNLOCK();
    return ret;
}

/* The printable form of n bytes (see harness_pq.h); the caller frees it. */
static char *render(const char *bytes, size_t n)
{
    char *text = malloc(4 * n + 1), *t = text;

    if (!text)
        fail_msg("harness_pq: out of memory");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bytes[i];

        if ((c >= 0x20 && c < 0x7f && c != '\\') || c == '\t' || c == '\n')
            *t++ = (char)c;
        else
            t += sprintf(t, "\\x%02x", c);
    }
    *t = '\0';
    return text;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t hpq_bytes(const char *text, unsigned char *out, size_t len)
{
    size_t n = 0;

    for (; *text; n++) {
        int hi = 0, lo = 0;

        if (*text == '\\' &&
            (text[1] != 'x' || (hi = hex_digit(text[2])) < 0 || (lo = hex_digit(text[3])) < 0))
            return (size_t)-1;
        if (n < len)
            out[n] = *text == '\\' ? (unsigned char)(hi << 4 | lo) : (unsigned char)*text;
        text += *text == '\\' ? 4 : 1;
    }
    return n;
}

static int put_copy_locked(PGconn *conn, const char *buffer, int nbytes)
{
    const hpq_line *l;
    char *text;

    check_conn(conn, "PQputCopyData");
    if (conn->copy != PGRES_COPY_IN)
        fail_msg("harness_pq: PQputCopyData outside a COPY IN");
    text = render(buffer, (size_t)nbytes);
    l = expect(HPQ_FN_COPY_PUT, conn, text);
    if (l->capture)
        snprintf(l->capture, HPQ_CAPTURE_MAX, "%.*s", HPQ_CAPTURE_MAX - 1, text);
    if (l->match && !strstr(text, l->match)) {
        char shown[301]; /* what the failure shows (check_match prints 300 bytes) */
        snprintf(shown, sizeof shown, "%s", text);
        free(text);
        check_match(l, shown);
    }
    free(text);
    after_call(conn, l);
    return l->ret;
}

int PQputCopyData(PGconn *conn, const char *buffer, int nbytes)
{
    int ret;

    LOCK();
    ret = put_copy_locked(conn, buffer, nbytes);
    UNLOCK();
    return ret;
}

static int put_copy_end_locked(PGconn *conn, const char *errormsg)
{
    const hpq_line *l;

    check_conn(conn, "PQputCopyEnd");
    if (conn->copy != PGRES_COPY_IN)
        fail_msg("harness_pq: PQputCopyEnd outside a COPY IN");
    l = expect(HPQ_FN_COPY_END, conn, errormsg);
    if (!l->match && errormsg)
        fail_msg("harness_pq: PQputCopyEnd(\"%s\") where the script (test line %d) expects no "
                 "error",
                 errormsg, l->at);
    check_match(l, errormsg);
    after_call(conn, l);
    if (l->ret == 1)
        conn->copy = 0;
    return l->ret;
}

int PQputCopyEnd(PGconn *conn, const char *errormsg)
{
    int ret;

    LOCK();
    ret = put_copy_end_locked(conn, errormsg);
    UNLOCK();
    return ret;
}

void PQfreemem(void *ptr)
{
    LOCK();
    if (ptr)
        live_copy--;
    UNLOCK();
    free(ptr);
}

/* ------------------------------------------------------------------ cancel */

PGcancel *PQgetCancel(PGconn *conn)
{
    PGcancel *c = calloc(1, sizeof *c);

    if (c)
        c->conn = conn;
    return c;
}

int PQcancel(PGcancel *cancel, char *errbuf, int errbufsize)
{
    const hpq_line *l;
    int ok;

    LOCK();
    l = expect(HPQ_FN_CANCEL, cancel->conn, NULL);
    ok = l->ret == 0;
    UNLOCK();
    if (errbufsize > 0)
        errbuf[0] = '\0';
    return ok;
}

void PQfreeCancel(PGcancel *cancel)
{
    free(cancel);
}

/* ------------------------------------------------------------------ results */

static const hpq_res *res_of(const PGresult *res, const char *fn)
{
    if (!res)
        fail_msg("harness_pq: %s on a NULL result", fn);
    return &res->r;
}

ExecStatusType PQresultStatus(const PGresult *res)
{
    return res ? res->r.status : PGRES_FATAL_ERROR;
}

char *PQresStatus(ExecStatusType status)
{
    static const char *const names[] = {
        "PGRES_EMPTY_QUERY", "PGRES_COMMAND_OK",   "PGRES_TUPLES_OK",      "PGRES_COPY_OUT",
        "PGRES_COPY_IN",     "PGRES_BAD_RESPONSE", "PGRES_NONFATAL_ERROR", "PGRES_FATAL_ERROR",
        "PGRES_COPY_BOTH",   "PGRES_SINGLE_TUPLE"};
    return unconst((unsigned)status < sizeof names / sizeof names[0] ? names[status]
                                                                     : "invalid ExecStatusType");
}

char *PQresultErrorMessage(const PGresult *res)
{
    return unconst(res ? res->errmsg : "");
}

char *PQresultErrorField(const PGresult *res, int fieldcode)
{
    if (!res)
        return NULL;
    if (fieldcode == PG_DIAG_SQLSTATE)
        return unconst(res->r.sqlstate);
    if (fieldcode == PG_DIAG_MESSAGE_PRIMARY)
        return unconst(res->r.message);
    if (fieldcode == PG_DIAG_SEVERITY_NONLOCALIZED)
        return unconst(res->r.severity);
    if (fieldcode == PG_DIAG_INTERNAL_QUERY)
        return unconst(res->r.internal);
    return NULL;
}

int PQntuples(const PGresult *res)
{
    return res_of(res, "PQntuples")->ntuples;
}

int PQnfields(const PGresult *res)
{
    return res_of(res, "PQnfields")->nfields;
}

Oid PQftype(const PGresult *res, int field_num)
{
    const hpq_res *r = res_of(res, "PQftype");

    if (field_num < 0 || field_num >= r->nfields)
        return 0; /* InvalidOid, as libpq */
    return r->types ? r->types[field_num] : 25;
}

char *PQfname(const PGresult *res, int field_num)
{
    const hpq_res *r = res_of(res, "PQfname");

    return field_num >= 0 && field_num < r->nfields ? unconst(r->fields[field_num]) : NULL;
}

static const char *value(const PGresult *res, int row, int col, const char *fn)
{
    const hpq_res *r = res_of(res, fn);

    if (row < 0 || row >= r->ntuples || col < 0 || col >= r->nfields)
        fail_msg("harness_pq: %s(%d, %d) outside a result of %d row(s) of %d field(s)", fn, row,
                 col, r->ntuples, r->nfields);
    return r->values[row * r->nfields + col];
}

char *PQgetvalue(const PGresult *res, int tup_num, int field_num)
{
    const char *v = value(res, tup_num, field_num, "PQgetvalue");

    return unconst(v == HPQ_NULL ? "" : v);
}

int PQgetisnull(const PGresult *res, int tup_num, int field_num)
{
    return value(res, tup_num, field_num, "PQgetisnull") == HPQ_NULL;
}

void PQclear(PGresult *res)
{
    struct pg_result **p = &live;

    if (!res)
        return;
    LOCK();
    while (*p && *p != res)
        p = &(*p)->next;
    if (!*p)
        fail_msg("harness_pq: PQclear of a result that is not live (cleared twice?)");
    *p = res->next;
    UNLOCK();
    free(res);
}
