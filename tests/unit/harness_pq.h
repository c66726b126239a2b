/*
 * harness_pq: a scripted libpq for unit tests of the database code, without a server (the idea of
 * pgBackRest's harnessPq).
 *
 * A test binary that uses it is linked with harness_pq.c instead of common/tdi_pq.c (which opens
 * libpq): the harness defines every libpq function tdi calls, and tdi_pq_load. The test scripts, in
 * order, the calls that talk to the server (connecting, sending a statement, each PQgetResult, each
 * PQgetCopyData, each PQputCopyData and PQputCopyEnd, a cancel, PQfinish), each with its canned
 * answer; the harness fails the test (cmocka) on a call the script does not expect next, on a wrong
 * argument (a statement is matched by a substring the script gives, so reformatting SQL breaks no
 * test), and, in hpq_done(), on script lines left unused, results not cleared and connections not
 * finished.
 *
 * The bytes of PQputCopyData are matched and captured in a printable form, so that a binary COPY
 * (with NUL bytes) can be matched as a text one is: printable ASCII, tab and newline as they are,
 * every other byte and the backslash as \xHH (two lowercase hex digits). A text COPY reads as
 * sent but for its backslashes (\N is \x5cN); a binary one's int32 8 is \x00\x00\x00\x08.
 * hpq_bytes() turns a capture back into the bytes.
 *
 * The calls that only look at a result or at the connection (PQntuples, PQgetvalue, PQstatus,
 * PQisBusy, PQconsumeInput, PQtransactionStatus, ...) are not scripted: they answer from the
 * canned results and from a model of the connection (busy until PQgetResult returned NULL, in a
 * COPY after a COPY result, in a transaction after BEGIN, broken after a scripted loss), and fail
 * the test when used the way libpq forbids (a row out of range, a statement sent while the last
 * one's results are not all read, PQputCopyData outside a COPY IN). PQsocket gives a real socket
 * that is always readable and writable, so the waits' poll() returns at once; after
 * hpq_silent_socket(1) one that is never readable (a server that sends nothing). Event
 * procedures keep their instance data (one procedure per connection).
 *
 * Threads: the harness is locked, so the run's reader threads (run/run_pool.c) may talk to
 * connections of their own while the test's thread uses another. Their order against each other
 * is not known, so each such connection follows a script of its own, a lane (hpq_lane): a
 * connection whose conninfo contains the lane's key takes its calls from that lane, in order;
 * every other connection from the main script (hpq_script). A harness failure on a thread other
 * than the test's prints its message and aborts the test binary (cmocka cannot fail a test from
 * there).
 */
#ifndef HARNESS_PQ_H
#define HARNESS_PQ_H

#include <libpq-events.h>
#include <libpq-fe.h>
#include <stddef.h>

#define HPQ_CAPTURE_MAX 16384

/* The value of an SQL NULL in hpq_res.values. */
extern const char HPQ_NULL[];

typedef enum hpq_fn {
    HPQ_FN_END = 0,  /* ends a script given to hpq_script() */
    HPQ_FN_CONNECT,  /* PQconnectStartParams: match in the conninfo */
    HPQ_FN_SEND,     /* PQsendQuery or PQsendQueryParams: match in the SQL, params checked */
    HPQ_FN_PREPARE,  /* PQprepare: match in the SQL; returns res */
    HPQ_FN_DESCRIBE, /* PQdescribePrepared; returns res */
    HPQ_FN_RESULT,   /* PQgetResult: returns res, or NULL when none */
    HPQ_FN_COPY_GET, /* PQgetCopyData: data (a row), or ret (0, -1, -2) when data is NULL */
    HPQ_FN_COPY_PUT, /* PQputCopyData: match in the bytes sent, rendered printable (above);
                      * returns ret (default 1) */
    HPQ_FN_COPY_END, /* PQputCopyEnd: match in the error message (NULL: none expected) */
    HPQ_FN_CANCEL,   /* PQcancel */
    HPQ_FN_FINISH    /* PQfinish */
} hpq_fn;

/* A canned result. */
typedef struct hpq_res {
    ExecStatusType status;
    const char *sqlstate; /* error results: PG_DIAG_SQLSTATE */
    const char *message;  /* error results: PG_DIAG_MESSAGE_PRIMARY */
    const char *severity; /* PG_DIAG_SEVERITY_NONLOCALIZED (a notice's NOTICE, WARNING, ...) */
    const char *internal; /* PG_DIAG_INTERNAL_QUERY: the error came from a function's query */
    int nfields;
    const char *const *fields; /* the column names */
    int ntuples;
    const char *const *values; /* ntuples * nfields, row by row; HPQ_NULL for NULL */
    const Oid *types;          /* nfields column type OIDs (PQftype); NULL: every one text (25) */
} hpq_res;

typedef struct hpq_line {
    hpq_fn fn;
    int conn;           /* 1 for the first connection opened, ...; 0: any */
    const char *match;  /* substring of the SQL, conninfo, COPY data or COPY error */
    int exact;          /* match is the whole text, not a substring of it */
    const char *params; /* SEND: the parameters joined by '|', NULL ones as \N ("" none);
                         * NULL: not checked */
    int ret;            /* what the call returns (see hpq_fn); CONNECT: 1 fails at once, 2
                         * fails while polling */
    const char *data;   /* COPY_GET: the row returned */
    const char *error;  /* the connection's error message from this call on */
    int lost;           /* the connection is broken from this call on */
    int busy;           /* RESULT: PQisBusy says 1 once before it (so the caller polls) */
    int none;           /* RESULT: PQgetResult returns NULL */
    hpq_res res;        /* RESULT, PREPARE, DESCRIBE */
    char *capture;      /* SEND: receives the parameters sent (as params reads them), for
                         * values a test cannot know before; COPY_PUT: the bytes sent,
                         * rendered printable (up to HPQ_CAPTURE_MAX - 1 characters) */
    int stall;          /* CONNECT: this connection's socket never becomes readable (as
                         * hpq_silent_socket, for one connection) */
    void (*then)(void); /* called once the call is taken, before it answers (under the
                         * harness's lock: it must not call libpq), e.g. to change the
                         * files a run is about to use at exactly this point */
    int at;             /* the script's source line, for messages */
} hpq_line;

/* Appends lines (up to one HPQ_FN_END line) to the script; copies them and the strings and
 * arrays they point to. */
void hpq_script_add(const hpq_line *lines);
#define hpq_script(...) hpq_script_add((const hpq_line[]){__VA_ARGS__, {.fn = HPQ_FN_END}})
/* Appends lines to the lane of key (made on first use, up to 7): the script of the connections
 * whose conninfo contains key. hpq_done() checks every lane. */
void hpq_lane_add(const char *key, const hpq_line *lines);
#define hpq_lane(key, ...) hpq_lane_add((key), (const hpq_line[]){__VA_ARGS__, {.fn = HPQ_FN_END}})
/* The bytes of text, a COPY_PUT capture (rendered printable), into out (the first len of
 * them): their count, or (size_t)-1 when text is not such a rendering. */
size_t hpq_bytes(const char *text, unsigned char *out, size_t len);
/* Fails the test when script lines are left, results or COPY rows not freed, connections not
 * finished; then forgets the script. Call at the end of every test that used the harness. */
void hpq_done(void);
/* Forgets the script and everything left (after a test failed half-way). */
void hpq_reset(void);
/* A result as libpq would make it from r; PQclear frees it (or hpq_reset). */
PGresult *hpq_result(const hpq_res *r);
/* The server sends notice (its sqlstate, severity, message, internal) on conn now: the notice
 * receiver set with PQsetNoticeReceiver gets it (none set: dropped). */
void hpq_notice(PGconn *conn, const hpq_res *notice);
/* What PQparameterStatus(conn, "server_encoding") answers from now on (default "UTF8"; reset by
 * hpq_reset and hpq_done). */
void hpq_server_encoding(const char *encoding);
/* 1: PQsocket answers a socket that never becomes readable, a server that stalls (reset by
 * hpq_reset and hpq_done). */
void hpq_silent_socket(int on);

/* Raises sig (SIGTERM: a stop) once n connections opened with .stall wait on their server
 * (PQisBusy said 1): readers of several threads all stopped while they wait (reset by
 * hpq_reset and hpq_done). */
void hpq_raise_when_stalled(int sig, int n);

/* ---- script lines. Each notes where in the test it was written. */
#define HPQ_AT .at = __LINE__
/* A connection whose conninfo contains m, then tdi_pg_connect's session settings. */
#define HPQ_CONNECT(m) {.fn = HPQ_FN_CONNECT, .match = (m), HPQ_AT}, HPQ_COMMAND("SET DateStyle")
/* A connection that fails: at once (ret 1) or while polling (ret 2), with error text e. */
#define HPQ_CONNECT_FAIL(m, r, e)                                                                  \
    {                                                                                              \
        .fn = HPQ_FN_CONNECT, .match = (m), .ret = (r), .error = (e), HPQ_AT                       \
    }
#define HPQ_SEND(m)                                                                                \
    {                                                                                              \
        .fn = HPQ_FN_SEND, .match = (m), .ret = 1, HPQ_AT                                          \
    }
#define HPQ_SEND_P(m, p)                                                                           \
    {                                                                                              \
        .fn = HPQ_FN_SEND, .match = (m), .params = (p), .ret = 1, HPQ_AT                           \
    }
#define HPQ_RESULT(st)                                                                             \
    {                                                                                              \
        .fn = HPQ_FN_RESULT, .res = {.status = (st)}, HPQ_AT                                       \
    }
#define HPQ_RESULT_NONE                                                                            \
    {                                                                                              \
        .fn = HPQ_FN_RESULT, .none = 1, HPQ_AT                                                     \
    }
/* An error result with SQLSTATE s and primary message msg. */
#define HPQ_RESULT_ERROR(s, msg)                                                                   \
    {                                                                                              \
        .fn = HPQ_FN_RESULT,                                                                       \
        .res = {.status = PGRES_FATAL_ERROR, .sqlstate = (s), .message = (msg)}, HPQ_AT            \
    }
/* Rows: n fields named by the array f, r rows of values v (row by row). */
#define HPQ_RESULT_ROWS(n, f, r, v)                                                                \
    {                                                                                              \
        .fn = HPQ_FN_RESULT,                                                                       \
        .res = {.status = PGRES_TUPLES_OK,                                                         \
                .nfields = (n),                                                                    \
                .fields = (f),                                                                     \
                .ntuples = (r),                                                                    \
                .values = (v)},                                                                    \
        HPQ_AT                                                                                     \
    }
/* A literal array of strings: a result's column names or its values. */
#define HPQ_STRINGS(...) ((const char *const[]){__VA_ARGS__})
/* A statement answering r rows of n columns (at most 11, named a, b, ...: the code reads them
 * by position), values row by row. */
#define HPQ_ROWS(m, n, r, ...)                                                                     \
    HPQ_SEND(m),                                                                                   \
        HPQ_RESULT_ROWS(n, HPQ_STRINGS("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"), r,  \
                        HPQ_STRINGS(__VA_ARGS__)),                                                 \
        HPQ_RESULT_NONE
/* A statement that succeeds with no rows (BEGIN, UPDATE, ...). */
#define HPQ_COMMAND(m) HPQ_SEND(m), HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE
/* A statement answering one row of one column, value v (HPQ_NULL for NULL). */
#define HPQ_VALUE(m, v)                                                                            \
    HPQ_SEND(m), HPQ_RESULT_ROWS(1, ((const char *const[]){"v"}), 1, ((const char *const[]){v})),  \
        HPQ_RESULT_NONE
/* A statement answering no row (one column). */
#define HPQ_NO_ROW(m)                                                                              \
    HPQ_SEND(m), HPQ_RESULT_ROWS(1, ((const char *const[]){"v"}), 0, NULL), HPQ_RESULT_NONE
/* A statement the server refuses with SQLSTATE s. */
#define HPQ_FAILS(m, s, msg) HPQ_SEND(m), HPQ_RESULT_ERROR(s, msg), HPQ_RESULT_NONE
#define HPQ_COPY_ROW(d)                                                                            \
    {                                                                                              \
        .fn = HPQ_FN_COPY_GET, .data = (d), HPQ_AT                                                 \
    }
#define HPQ_COPY_RET(r)                                                                            \
    {                                                                                              \
        .fn = HPQ_FN_COPY_GET, .ret = (r), HPQ_AT                                                  \
    }
/* The end of a COPY OUT the pg_dump way: -1, the COPY's result, then no more results. */
#define HPQ_COPY_DONE HPQ_COPY_RET(-1), HPQ_RESULT(PGRES_COMMAND_OK), HPQ_RESULT_NONE
#define HPQ_PUT(m)                                                                                 \
    {                                                                                              \
        .fn = HPQ_FN_COPY_PUT, .match = (m), .ret = 1, HPQ_AT                                      \
    }
#define HPQ_PUT_END                                                                                \
    {                                                                                              \
        .fn = HPQ_FN_COPY_END, .ret = 1, HPQ_AT                                                    \
    }
#define HPQ_CANCEL                                                                                 \
    {                                                                                              \
        .fn = HPQ_FN_CANCEL, HPQ_AT                                                                \
    }
#define HPQ_FINISH                                                                                 \
    {                                                                                              \
        .fn = HPQ_FN_FINISH, HPQ_AT                                                                \
    }

#endif
