/*
 * state_db: the state database (see state_db.h).
 *
 * Statements take their values as parameters; the few that cannot (COPY, identifiers of the
 * run's own temporary tables) only ever splice in numbers tdi formatted itself.
 */
#include "state.h"

#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"
#include "../disclosure/disclosure.h"
#include "../common/tdi_version.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WHO       "state database"
#define COPY_BUF  65536
#define LOCK_KEY1 "7627881" /* 'tdi' as a number: the first key of tdi's advisory locks */
#define LOCK_RUN  "1"       /* held by a run (and tdi init, year) for its whole session */
#define LOCK_INIT "2"       /* held by a migration for its transaction */
#define TIME_FMT  "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"
#define SHOW_FMT  "'YYYY-MM-DD HH24:MI:SS\"Z\"'"

struct state_db {
    PGconn *conn;
    int in_copy;  /* a COPY FROM STDIN is open */
    int in_txn;   /* commit_begin ran, commit_end or abort not yet */
    int pending;  /* state_commit_send() sent a statement, its result not read yet */
    int passes;   /* state_actions() calls that created the pass's tables */
    size_t used;  /* bytes pending in buf */
    char buf[COPY_BUF];
};

/* ------------------------------------------------------------------ statements */

static tdi_status query(state_db *st, const char *what, const char *sql, int nparams,
                        const char *const *params, ExecStatusType want, PGresult **res)
{
    return tdi_pg_query(st->conn, WHO, what, TDI_ERR_STATE, sql, nparams, params, want, res, NULL);
}

static tdi_status command(state_db *st, const char *what, const char *sql, int nparams,
                          const char *const *params)
{
    return query(st, what, sql, nparams, params, PGRES_COMMAND_OK, NULL);
}

/* One row of one column, copied into out (NULL becomes ""); *found = 0 when no row. */
static tdi_status query_value(state_db *st, const char *what, const char *sql, int nparams,
                              const char *const *params, char *out, size_t len, int *found)
{
    PGresult *res = NULL;
    tdi_status s = query(st, what, sql, nparams, params, PGRES_TUPLES_OK, &res);

    if (found)
        *found = 0;
    if (len)
        out[0] = '\0';
    if (s == TDI_OK && PQntuples(res) > 0) {
        if (found)
            *found = 1;
        snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return s;
}

/* query_value with two parameters, a name and a year: the shape of most lookups here. */
static tdi_status name_year_value(state_db *st, const char *what, const char *sql,
                                  const char *name, int year, char *out, size_t len, int *found)
{
    char ystr[16];
    const char *params[2] = {name, ystr};

    snprintf(ystr, sizeof ystr, "%d", year);
    return query_value(st, what, sql, 2, params, out, len, found);
}

tdi_status state_open(const char *conninfo, state_db **out)
{
    state_db *st = calloc(1, sizeof *st);
    tdi_status s;

    *out = NULL;
    if (!st) {
        tdi_error(WHO ": out of memory");
        return TDI_ERR_INTERNAL;
    }
    s = tdi_pg_connect(conninfo, "tdi", WHO, TDI_ERR_STATE, &st->conn, NULL);
    if (s != TDI_OK) {
        free(st);
        return s;
    }
    *out = st;
    return TDI_OK;
}

void state_close(state_db *st)
{
    if (!st)
        return;
    PQfinish(st->conn); /* ends the session: temporary tables and the run lock go with it */
    free(st);
}

/* ------------------------------------------------------------------ schema */

typedef struct migration {
    int version;
    const char *description;
    const char *sql;
} migration;

/* Append only: a released migration never changes, the next change is the next version. */
static const migration migrations[] = {
    {1, "run ledger, watermarks, sequences, what each body was sent, routes, closed years",
     "CREATE SCHEMA tdi;\n"
     "COMMENT ON SCHEMA tdi IS 'tdi state: run ledger, watermarks, what each receiving body was "
     "sent. Managed by tdi init.';\n"
     "CREATE TABLE tdi.schema_version (\n"
     "    version     integer PRIMARY KEY,\n"
     "    applied_at  timestamptz NOT NULL DEFAULT now(),\n"
     "    tdi_version text NOT NULL,\n"
     "    description text NOT NULL);\n"
     "CREATE TABLE tdi.run (\n"
     "    run_no      bigserial PRIMARY KEY,\n"
     "    run_id      text NOT NULL UNIQUE,\n"
     "    year        integer NOT NULL,\n"
     "    mode        text NOT NULL CHECK (mode IN ('normal', 'full')),\n"
     "    started_at  timestamptz NOT NULL DEFAULT now(),\n"
     "    ended_at    timestamptz,\n"
     "    status      text NOT NULL,\n" /* running, abandoned, or the exit code's name */
     "    exit_code   integer,\n"
     "    message     text,\n"
     "    host        text NOT NULL,\n"
     "    pid         integer NOT NULL,\n"
     "    tdi_version text NOT NULL);\n"
     "CREATE TABLE tdi.run_source (\n"
     "    run_no      bigint NOT NULL REFERENCES tdi.run ON DELETE CASCADE,\n"
     "    source      text NOT NULL,\n"
     "    mode        text NOT NULL,\n"
     "    since       timestamptz,\n"
     "    attempts    integer NOT NULL,\n"
     "    extracted   bigint NOT NULL,\n"
     "    written     bigint NOT NULL,\n"
     "    quarantined bigint NOT NULL,\n"
     "    status      text NOT NULL,\n"
     "    error       text,\n"
     "    PRIMARY KEY (run_no, source));\n"
     "CREATE TABLE tdi.run_file (\n"
     "    run_no   bigint NOT NULL REFERENCES tdi.run ON DELETE CASCADE,\n"
     "    path     text NOT NULL,\n"
     "    kind     text NOT NULL CHECK (kind IN ('submission', 'tables', 'quarantine')),\n"
     "    owner    text NOT NULL,\n"
     "    sequence bigint,\n"
     "    records  bigint NOT NULL,\n"
     "    replaces bigint NOT NULL,\n"
     "    deletes  bigint NOT NULL,\n"
     "    sha256   text NOT NULL,\n"
     "    PRIMARY KEY (run_no, path));\n"
     "CREATE TABLE tdi.source_state (\n"
     "    source      text NOT NULL,\n"
     "    year        integer NOT NULL,\n"
     "    watermark   timestamptz,\n"
     "    fingerprint text NOT NULL,\n"
     "    run_no      bigint NOT NULL,\n"
     "    PRIMARY KEY (source, year));\n"
     "CREATE TABLE tdi.body_sequence (\n"
     "    body     text NOT NULL,\n"
     "    year     integer NOT NULL,\n"
     "    sequence bigint NOT NULL,\n"
     "    tables_sequence bigint,\n" /* the tables were last written with this file */
     "    run_no   bigint NOT NULL,\n"
     "    PRIMARY KEY (body, year));\n"
     "CREATE TABLE tdi.sent (\n"
     "    body     text NOT NULL,\n"
     "    year     integer NOT NULL,\n"
     "    eid      text NOT NULL,\n" /* the episode under the state key */
     "    ekey     text NOT NULL,\n" /* the episode's key in the body's files */
     "    source   text NOT NULL,\n"
     "    hash     bytea NOT NULL,\n"
     "    sequence bigint NOT NULL,\n"
     "    PRIMARY KEY (body, year, eid));\n"
     "CREATE TABLE tdi.route (\n"
     "    body   text NOT NULL,\n"
     "    source text NOT NULL,\n"
     "    year   integer NOT NULL,\n"
     "    PRIMARY KEY (body, source, year));\n"
     "CREATE TABLE tdi.closed_year (\n"
     "    year      integer PRIMARY KEY,\n"
     "    closed_at timestamptz NOT NULL DEFAULT now(),\n"
     "    closed_by text NOT NULL);\n"
     "CREATE TABLE tdi.year_event (\n"
     "    at      timestamptz NOT NULL DEFAULT now(),\n"
     "    year    integer NOT NULL,\n"
     "    action  text NOT NULL CHECK (action IN ('close', 'reopen')),\n"
     "    by_user text NOT NULL);\n"},
    {2, "the counting unit: person key, centre, start and entrant flag of each episode sent",
     /* person: the person under the state key (never in a file); earlier years' rows stay, so a
      * person's earlier treatment is known whatever source or body it came from. No index on
      * person: the pass reads earlier years' persons in one scan anyway, and an index over
      * pseudonyms puts every insert on a random page (4.6 s of server CPU per million sent). */
     "ALTER TABLE tdi.sent ADD COLUMN person text, ADD COLUMN centre text,\n"
     "    ADD COLUMN start_ymd integer, ADD COLUMN status text, ADD COLUMN entrant boolean,\n"
     "    ADD COLUMN earlier boolean;\n"
     "COMMENT ON COLUMN tdi.sent.person IS 'the person under the state key: links sources, "
     "bodies and years; never written to a file';\n"
     "COMMENT ON COLUMN tdi.sent.status IS 'treatment status as the source gave it';\n"
     "COMMENT ON COLUMN tdi.sent.entrant IS 'sent as the counted treatment demand (entrant=1)';\n"
     "COMMENT ON COLUMN tdi.sent.earlier IS 'the person had a treatment start in an earlier "
     "year when it was sent';\n"},
    {3, "quasi-identifiers of what each body was sent, and each body's blanking",
     "ALTER TABLE tdi.sent ADD COLUMN qi text, ADD COLUMN sens text;\n"
     "COMMENT ON COLUMN tdi.sent.qi IS 'the episode''s quasi-identifiers as the body got them "
     "before blanking (sex|age_band|nationality|region|year|centre_type|quarter|centre): "
     "generalised codes only';\n"
     "COMMENT ON COLUMN tdi.sent.sens IS 'its sensitive items "
     "(primary_drug|injecting|hiv_testing|hcv_testing)';\n"
     "CREATE TABLE tdi.body_blanking (\n"
     "    body    text NOT NULL,\n"
     "    year    integer NOT NULL,\n"
     "    blanked text NOT NULL,\n" /* the quasi-identifiers withheld, blank-separated; '' none */
     "    run_no  bigint NOT NULL,\n"
     "    PRIMARY KEY (body, year));\n"},
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* The schema version of the database: 0 when tdi's schema is not there (*exists = 0) or has
 * no version recorded. */
static tdi_status schema_version(state_db *st, int *version, int *exists)
{
    char buf[32];
    tdi_status s;

    *version = 0;
    s = query_value(st, "reading the schema version",
                    "SELECT to_regclass('tdi.schema_version') IS NOT NULL", 0, NULL, buf,
                    sizeof buf, NULL);
    if (exists)
        *exists = s == TDI_OK && strcmp(buf, "t") == 0;
    if (s != TDI_OK || strcmp(buf, "t") != 0)
        return s;
    s = query_value(st, "reading the schema version",
                    "SELECT coalesce(max(version), 0) FROM tdi.schema_version", 0, NULL, buf,
                    sizeof buf, NULL);
    if (s == TDI_OK)
        *version = atoi(buf);
    return s;
}

static tdi_status apply(state_db *st, const migration *m, int *applied)
{
    char version[16];
    const char *params[3] = {version, TDI_VERSION, m->description};
    tdi_status s;
    int now = 0;

    *applied = 0;
    snprintf(version, sizeof version, "%d", m->version);
    s = command(st, "starting a migration", "BEGIN", 0, NULL);
    /* Two tdi init at once: the second waits here, then finds the work done. */
    if (s == TDI_OK)
        s = query(st, "locking the schema",
                  "SELECT pg_advisory_xact_lock(" LOCK_KEY1 ", " LOCK_INIT ")", 0, NULL,
                  PGRES_TUPLES_OK, NULL);
    if (s == TDI_OK)
        s = schema_version(st, &now, NULL);
    if (s == TDI_OK && now < m->version) {
        s = command(st, "applying a migration", m->sql, 0, NULL);
        if (s == TDI_OK)
            s = command(st, "recording a migration",
                        "INSERT INTO tdi.schema_version (version, tdi_version, description) "
                        "VALUES ($1, $2, $3)",
                        3, params);
        *applied = s == TDI_OK;
    }
    if (s == TDI_OK)
        s = command(st, "committing a migration", "COMMIT", 0, NULL);
    if (s != TDI_OK) {
        *applied = 0;
        if (s != TDI_ERR_INTERRUPTED || tdi_pg_recover(st->conn, 5000))
            (void)command(st, "rolling back a migration", "ROLLBACK", 0, NULL);
    }
    return s;
}

tdi_status state_migrate(state_db *st, int *from, int *to)
{
    tdi_status s = schema_version(st, from, NULL);

    *to = *from;
    if (s != TDI_OK)
        return s;
    if (*from > STATE_SCHEMA_VERSION) {
        tdi_error(WHO ": schema version %d is newer than this tdi knows (%d): use a newer tdi",
                  *from, STATE_SCHEMA_VERSION);
        return TDI_ERR_STATE;
    }
    for (int i = 0; i < NMIGRATIONS && s == TDI_OK; i++) {
        int applied = 0;
        if (migrations[i].version <= *to)
            continue;
        s = apply(st, &migrations[i], &applied);
        if (s == TDI_OK)
            *to = migrations[i].version;
    }
    return s;
}

tdi_status state_check(state_db *st)
{
    int version = 0, exists = 0;
    tdi_status s = schema_version(st, &version, &exists);

    if (s != TDI_OK)
        return s;
    if (version == STATE_SCHEMA_VERSION)
        return TDI_OK;
    if (!exists)
        tdi_error(WHO ": no tdi schema in it: run 'tdi init' with this configuration first");
    else if (version < STATE_SCHEMA_VERSION)
        tdi_error(WHO ": schema version %d is older than this tdi needs (%d): run 'tdi init' "
                      "with this configuration to upgrade it",
                  version, STATE_SCHEMA_VERSION);
    else
        tdi_error(WHO ": schema version %d is newer than this tdi knows (%d): use a newer tdi",
                  version, STATE_SCHEMA_VERSION);
    return TDI_ERR_STATE;
}

/* ------------------------------------------------------------------ the run lock */

tdi_status state_lock(state_db *st)
{
    char got[8], pid[32];
    tdi_status s;

    s = query_value(st, "taking the run lock",
                    "SELECT pg_try_advisory_lock(" LOCK_KEY1 ", " LOCK_RUN ")", 0, NULL, got,
                    sizeof got, NULL);
    if (s != TDI_OK || strcmp(got, "t") == 0)
        return s;
    /* Who holds it, for the operator: a server pid leads to pg_stat_activity. */
    s = query_value(st, "finding the holder of the run lock",
                    "SELECT string_agg(pid::text, ', ') FROM pg_locks WHERE locktype = "
                    "'advisory' AND classid = " LOCK_KEY1 " AND objid = " LOCK_RUN
                    " AND objsubid = 2 AND granted",
                    0, NULL, pid, sizeof pid, NULL);
    if (s != TDI_OK)
        return s;
    tdi_error("another tdi run is active (it holds the run lock in the state database, server "
              "process %s); this one stops without changing anything",
              *pid ? pid : "unknown");
    return TDI_ERR_LOCKED;
}

/* ------------------------------------------------------------------ the ledger */

tdi_status state_run_begin(state_db *st, const char *run_id, int year, int full,
                               int64_t *run_no, int *taken)
{
    char ystr[16], pidstr[16], host[256] = "", value[32];
    const char *params[6] = {run_id, ystr, full ? "full" : "normal", host, pidstr, TDI_VERSION};
    tdi_status s;
    int found = 0;

    *run_no = 0;
    *taken = 0;
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(pidstr, sizeof pidstr, "%ld", (long)getpid());
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    s = command(st, "closing the ledger rows of runs that ended without a word",
                "UPDATE tdi.run SET status = 'abandoned', message = 'no end was recorded: the "
                "run was killed or lost the state database' WHERE status = 'running'",
                0, NULL);
    if (s == TDI_OK)
        s = query_value(st, "recording the run",
                        "INSERT INTO tdi.run (run_id, year, mode, status, host, pid, tdi_version) "
                        "VALUES ($1, $2, $3, 'running', $4, $5, $6) ON CONFLICT (run_id) DO "
                        "NOTHING RETURNING run_no",
                        6, params, value, sizeof value, &found);
    if (s != TDI_OK)
        return s;
    if (!found)
        *taken = 1;
    else
        *run_no = strtoll(value, NULL, 10);
    return TDI_OK;
}

/* The ledger's text for status: the exit code's name. */
static void status_params(tdi_status status, char *code, size_t len)
{
    snprintf(code, len, "%d", (int)status);
}

/* After an interrupted call the connection may still be busy: get it idle again. */
static tdi_status ready(state_db *st)
{
    if (tdi_pg_recover(st->conn, 5000))
        return TDI_OK;
    tdi_error(WHO ": the connection is not usable after the interruption");
    return TDI_ERR_STATE;
}

tdi_status state_run_end(state_db *st, int64_t run_no, tdi_status status, const char *message)
{
    char no[32], code[16];
    const char *params[4] = {no, tdi_status_name(status), code,
                             message && *message ? message : NULL};

    snprintf(no, sizeof no, "%" PRId64, run_no);
    status_params(status, code, sizeof code);
    if (!st->in_txn && ready(st) != TDI_OK)
        return TDI_ERR_STATE;
    return command(st, "recording the end of the run",
                   "UPDATE tdi.run SET ended_at = now(), status = $2, exit_code = $3, message = "
                   "$4 WHERE run_no = $1",
                   4, params);
}

static tdi_status print_run_details(state_db *st, const char *run_no, FILE *fp)
{
    const char *params[1] = {run_no};
    PGresult *res = NULL;
    tdi_status s;

    s = query(st, "reading the ledger",
              "SELECT source, status, mode, coalesce(to_char(since AT TIME ZONE 'UTC', " TIME_FMT
              "), ''), attempts, extracted, written, quarantined, coalesce(error, '') "
              "FROM tdi.run_source WHERE run_no = $1 ORDER BY source",
              1, params, PGRES_TUPLES_OK, &res);
    for (int i = 0; s == TDI_OK && i < PQntuples(res); i++) {
        const char *since = PQgetvalue(res, i, 3), *error = PQgetvalue(res, i, 8);
        int attempts = atoi(PQgetvalue(res, i, 4));

        fprintf(fp,
                "  source %s: %s, %s%s%s, %d attempt%s: extracted %s, written %s, "
                "quarantined %s\n",
                PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                *since ? " since " : "", since, attempts, attempts == 1 ? "" : "s",
                PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 7));
        if (*error)
            fprintf(fp, "    error: %s\n", error);
    }
    PQclear(res);
    res = NULL;
    if (s == TDI_OK)
        s = query(st, "reading the ledger",
                  "SELECT kind, owner, coalesce(sequence::text, ''), records, replaces, deletes, "
                  "path, sha256 FROM tdi.run_file WHERE run_no = $1 "
                  "ORDER BY kind = 'quarantine', owner, kind",
                  1, params, PGRES_TUPLES_OK, &res);
    for (int i = 0; s == TDI_OK && i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 0), "submission") == 0)
            fprintf(fp, "  body %s: sequence %s, %s records (%s replaces), %s deletes -> %s\n",
                    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                    PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6));
        else if (strcmp(PQgetvalue(res, i, 0), "tables") == 0)
            fprintf(fp, "  tables %s: %s records -> %s\n", PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 3), PQgetvalue(res, i, 6));
        else
            fprintf(fp, "  quarantine %s: %s rows -> %s\n", PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 3), PQgetvalue(res, i, 6));
        fprintf(fp, "    sha256 %s\n", PQgetvalue(res, i, 7));
    }
    PQclear(res);
    return s;
}

tdi_status state_print_runs(state_db *st, int n, FILE *fp)
{
    char limit[16];
    const char *params[1] = {limit};
    PGresult *res = NULL;
    tdi_status s;

    snprintf(limit, sizeof limit, "%d", n);
    s = query(st, "reading the ledger",
              "SELECT run_no, run_id, year, mode, status, coalesce(exit_code::text, '-'), "
              "to_char(started_at AT TIME ZONE 'UTC', " SHOW_FMT "), "
              "coalesce(to_char(ended_at AT TIME ZONE 'UTC', " SHOW_FMT "), '-'), "
              "coalesce(round(extract(epoch FROM ended_at - started_at))::text || ' s', '-'), "
              "coalesce(message, '') FROM tdi.run ORDER BY run_no DESC LIMIT $1",
              1, params, PGRES_TUPLES_OK, &res);
    if (s == TDI_OK && PQntuples(res) == 0)
        fprintf(fp, "no runs recorded yet\n");
    for (int i = 0; s == TDI_OK && i < PQntuples(res); i++) {
        fprintf(fp, "run %s: year %s%s, %s (exit %s)\n", PQgetvalue(res, i, 1),
                PQgetvalue(res, i, 2), strcmp(PQgetvalue(res, i, 3), "full") == 0 ? ", --full" : "",
                PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
        fprintf(fp, "  started %s, ended %s, took %s\n", PQgetvalue(res, i, 6),
                PQgetvalue(res, i, 7), PQgetvalue(res, i, 8));
        if (*PQgetvalue(res, i, 9))
            fprintf(fp, "  message: %s\n", PQgetvalue(res, i, 9));
        s = print_run_details(st, PQgetvalue(res, i, 0), fp);
    }
    PQclear(res);
    return s;
}

/* ------------------------------------------------------------------ reporting years */

tdi_status state_year_closed(state_db *st, int year, int *closed, char *since, size_t len)
{
    char ystr[16];
    const char *params[1] = {ystr};

    snprintf(ystr, sizeof ystr, "%d", year);
    return query_value(st, "reading the closed years",
                       "SELECT to_char(closed_at AT TIME ZONE 'UTC', " SHOW_FMT
                       ") || ' by ' || closed_by FROM tdi.closed_year WHERE year = $1",
                       1, params, since, len, closed);
}

tdi_status state_year_set(state_db *st, int year, int close, const char *by, int *changed)
{
    char ystr[16], value[16];
    const char *params[2] = {ystr, by};

    snprintf(ystr, sizeof ystr, "%d", year);
    /* One statement: the change and its event row are one atomic step. */
    return query_value(
        st, close ? "closing the year" : "reopening the year",
        close ? "WITH c AS (INSERT INTO tdi.closed_year (year, closed_by) VALUES ($1, $2) ON "
                "CONFLICT (year) DO NOTHING RETURNING year) INSERT INTO tdi.year_event (year, "
                "action, by_user) SELECT year, 'close', $2 FROM c RETURNING year"
              : "WITH c AS (DELETE FROM tdi.closed_year WHERE year = $1 RETURNING year) INSERT "
                "INTO tdi.year_event (year, action, by_user) SELECT year, 'reopen', $2 FROM c "
                "RETURNING year",
        2, params, value, sizeof value, changed);
}

/* ------------------------------------------------------------------ sources and routes */

tdi_status state_source_mark(state_db *st, const char *source, int year, state_mark *out)
{
    char both[STATE_TIME_MAX + sizeof out->fingerprint + 1], *bar;
    tdi_status s;

    memset(out, 0, sizeof *out);
    /* One value, "watermark|fingerprint": neither can hold a bar. */
    s = name_year_value(st, "reading the source watermark",
                        "SELECT coalesce(to_char(watermark AT TIME ZONE 'UTC', " TIME_FMT
                        "), '') || '|' || fingerprint FROM tdi.source_state WHERE source = $1 "
                        "AND year = $2",
                        source, year, both, sizeof both, &out->known);
    bar = strchr(both, '|');
    if (s == TDI_OK && out->known && bar) {
        *bar = '\0';
        snprintf(out->watermark, sizeof out->watermark, "%.*s", (int)sizeof out->watermark - 1,
                 both);
        snprintf(out->fingerprint, sizeof out->fingerprint, "%.*s",
                 (int)sizeof out->fingerprint - 1, bar + 1);
    }
    return s;
}

tdi_status state_time_minus(state_db *st, const char *watermark, long seconds, char *out,
                                size_t len)
{
    char secs[32];
    const char *params[2] = {watermark, secs};

    snprintf(secs, sizeof secs, "%ld", seconds);
    return query_value(st, "computing the incremental lower bound",
                       "SELECT to_char(($1::timestamptz - make_interval(secs => $2::bigint)) AT "
                       "TIME ZONE 'UTC', " TIME_FMT ")",
                       2, params, out, len, NULL);
}

tdi_status state_route_seen(state_db *st, const char *body, const char *source, int year,
                                int *seen)
{
    char ystr[16], value[8];
    const char *params[3] = {body, source, ystr};
    tdi_status s;

    snprintf(ystr, sizeof ystr, "%d", year);
    s = query_value(st, "reading the routes",
                    "SELECT EXISTS (SELECT 1 FROM tdi.route WHERE body = $1 AND source = $2 AND "
                    "year = $3)",
                    3, params, value, sizeof value, NULL);
    *seen = s == TDI_OK && strcmp(value, "t") == 0;
    return s;
}

tdi_status state_quarantine_same(state_db *st, const char *source, int year,
                                     const char *sha256, int *same)
{
    char value[80];
    int found = 0;
    tdi_status s =
        name_year_value(st, "reading the last quarantine file",
                        "SELECT f.sha256 FROM tdi.run_file f JOIN tdi.run r ON r.run_no = f.run_no "
                        "WHERE f.kind = 'quarantine' AND f.owner = $1 AND r.year = $2::integer "
                        "ORDER BY f.run_no DESC LIMIT 1",
                        source, year, value, sizeof value, &found);

    *same = s == TDI_OK && found && strcmp(value, sha256) == 0;
    return s;
}

tdi_status state_tables_due(state_db *st, const char *body, int year, int *due)
{
    char value[8];
    tdi_status s = name_year_value(st, "reading when the tables were written",
                                   "SELECT sequence > coalesce(tables_sequence, 0) FROM "
                                   "tdi.body_sequence WHERE body = $1 AND year = $2",
                                   body, year, value, sizeof value, NULL);

    *due = s == TDI_OK && strcmp(value, "t") == 0;
    return s;
}

tdi_status state_next_sequence(state_db *st, const char *body, int year, uint64_t *seq)
{
    char value[32];
    tdi_status s = name_year_value(st, "reading the sequence number",
                                   "SELECT coalesce((SELECT sequence FROM tdi.body_sequence WHERE "
                                   "body = $1 AND year = $2), 0) + 1",
                                   body, year, value, sizeof value, NULL);

    *seq = s == TDI_OK ? strtoull(value, NULL, 10) : 0;
    return s;
}

/* ------------------------------------------------------------------ the delta pass */

tdi_status state_delta_begin(state_db *st)
{
    /* Temporary: private to this session, gone with it (also when the run is killed). */
    return command(st, "creating the run's tables",
                   "CREATE TEMP TABLE run_rec (pos bigint NOT NULL, src integer NOT NULL, "
                   "body integer NOT NULL, eid text NOT NULL, ekey text NOT NULL, hash bytea NOT "
                   "NULL, person text NOT NULL, centre text NOT NULL, start_ymd integer NOT "
                   "NULL, status text NOT NULL, qi text NOT NULL, sens text NOT NULL);\n"
                   "CREATE TEMP TABLE run_seen (src integer NOT NULL, eid text NOT NULL);\n"
                   "CREATE TEMP TABLE run_present (src integer NOT NULL, eid text NOT NULL);\n"
                   "CREATE TEMP TABLE run_src (src integer PRIMARY KEY, name text NOT NULL, "
                   "region text NOT NULL, ok boolean NOT NULL, full_read boolean NOT NULL);\n"
                   "CREATE TEMP TABLE run_body (body integer PRIMARY KEY, name text NOT NULL, "
                   "served boolean NOT NULL, counting text NOT NULL)",
                   0, NULL);
}

tdi_status state_copy_begin(state_db *st, state_copy table)
{
    tdi_status s;

    s = query(st, "starting a COPY",
              table == STATE_COPY_RECORDS
                  ? "COPY run_rec (pos, src, body, eid, ekey, hash, person, centre, start_ymd, "
                    "status, qi, sens) FROM STDIN"
              : table == STATE_COPY_SEEN ? "COPY run_seen (src, eid) FROM STDIN"
                                       : "COPY run_present (src, eid) FROM STDIN",
              0, NULL, PGRES_COPY_IN, NULL);
    st->in_copy = s == TDI_OK;
    st->used = 0;
    return s;
}

static tdi_status copy_flush(state_db *st)
{
    tdi_status s = tdi_pg_copy_put(st->conn, WHO, "COPY", TDI_ERR_STATE, st->buf, st->used);

    st->used = 0;
    return s;
}

/* 1 when s can go into a COPY text field as it is: no tab, newline, backslash or control. */
static int copy_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '\\' || *s == 0x7f)
            return 0;
    return 1;
}

/* Appends a line of nfields fields, each already COPY-safe ("\\N" passes as it is). */
static tdi_status copy_line(state_db *st, const char *const *fields, int nfields)
{
    size_t need = 1;

    for (int i = 0; i < nfields; i++)
        need += strlen(fields[i]) + 1;
    if (need > sizeof st->buf) {
        tdi_error(WHO ": a COPY line of %zu bytes is longer than the buffer", need);
        return TDI_ERR_INTERNAL;
    }
    if (st->used + need > sizeof st->buf) {
        tdi_status s = copy_flush(st);
        if (s != TDI_OK)
            return s;
    }
    for (int i = 0; i < nfields; i++) {
        size_t n = strlen(fields[i]);
        memcpy(st->buf + st->used, fields[i], n);
        st->used += n;
        st->buf[st->used++] = i + 1 < nfields ? '\t' : '\n';
    }
    return TDI_OK;
}

tdi_status state_put_record(state_db *st, uint64_t pos, int src, int body, const char *eid,
                                const char *ekey, const char *hash, const char *person,
                                const char *centre, int start_ymd, const char *status,
                                const char *qi, const char *sens)
{
    char p[32], s[16], b[16], h[80], d[16];
    const char *fields[12] = {p, s, b, eid, ekey, h, person, centre, d, status, qi, sens};

    if (!st->in_copy || !copy_safe(eid) || !copy_safe(ekey) || !copy_safe(hash) ||
        strlen(hash) > 64 || !copy_safe(person) || !copy_safe(centre) || !copy_safe(status) ||
        !copy_safe(qi) || !copy_safe(sens)) {
        tdi_error(WHO ": a record cannot go into the COPY stream");
        return TDI_ERR_INTERNAL;
    }
    snprintf(p, sizeof p, "%" PRIu64, pos);
    snprintf(s, sizeof s, "%d", src);
    snprintf(b, sizeof b, "%d", body);
    /* bytea in hex input form; COPY text wants its backslash doubled. */
    snprintf(h, sizeof h, "\\\\x%s", hash);
    snprintf(d, sizeof d, "%d", start_ymd);
    return copy_line(st, fields, 12);
}

tdi_status state_put_key(state_db *st, int src, const char *eid)
{
    char s[16];
    const char *fields[2] = {s, eid};

    if (!st->in_copy || !copy_safe(eid)) {
        tdi_error(WHO ": an episode key cannot go into the COPY stream");
        return TDI_ERR_INTERNAL;
    }
    snprintf(s, sizeof s, "%d", src);
    return copy_line(st, fields, 2);
}

tdi_status state_copy_end(state_db *st, int discard)
{
    tdi_status s = TDI_OK;

    if (!st->in_copy)
        return TDI_OK;
    if (!discard)
        s = copy_flush(st);
    st->used = 0;
    st->in_copy = 0;
    if (s != TDI_OK)
        discard = 1;
    {
        tdi_status e = tdi_pg_copy_end(st->conn, WHO, "COPY", TDI_ERR_STATE,
                                       discard ? "discarded by tdi" : NULL);
        return s != TDI_OK ? s : e;
    }
}

tdi_status state_forget_source(state_db *st, int src)
{
    char s[16];
    const char *params[1] = {s};
    tdi_status rc;

    snprintf(s, sizeof s, "%d", src);
    rc = command(st, "dropping a source's records to read it again",
                 "DELETE FROM run_rec WHERE src = $1", 1, params);
    if (rc == TDI_OK)
        rc = command(st, "dropping a source's rows seen to read it again",
                     "DELETE FROM run_seen WHERE src = $1", 1, params);
    if (rc == TDI_OK)
        rc = command(st, "dropping a source's key scan to read it again",
                     "DELETE FROM run_present WHERE src = $1", 1, params);
    return rc;
}

tdi_status state_duplicates(state_db *st, size_t nsources, unsigned long *count, char *example,
                                size_t len)
{
    PGresult *res = NULL;
    tdi_status rc;

    memset(count, 0, nsources * sizeof *count);
    for (size_t i = 0; i < nsources; i++)
        example[i * len] = '\0';
    /* Every source in one pass: a pass per source would read all the run's records each time. */
    rc = query(st, "looking for repeated keys",
               "SELECT src, count(DISTINCT eid), min(eid) FROM (SELECT src, eid FROM run_rec "
               "GROUP BY src, body, eid HAVING count(*) > 1) d GROUP BY src",
               0, NULL, PGRES_TUPLES_OK, &res);
    for (int i = 0; rc == TDI_OK && i < PQntuples(res); i++) {
        long src = strtol(PQgetvalue(res, i, 0), NULL, 10);

        if (src < 0 || (size_t)src >= nsources)
            continue;
        count[src] = strtoul(PQgetvalue(res, i, 1), NULL, 10);
        snprintf(example + (size_t)src * len, len, "%s", PQgetvalue(res, i, 2));
    }
    PQclear(res);
    return rc;
}

/* An array literal {"a","b"} of n strings (names: no quote or backslash in them). */
static char *array_literal(const char *const *items, size_t n)
{
    size_t cap = 3, used = 0;
    char *out;

    for (size_t i = 0; i < n; i++)
        cap += strlen(items[i]) + 3;
    out = malloc(cap);
    if (!out)
        return NULL;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s\"%s\"", i ? "," : "", items[i]);
    out[used++] = '}';
    out[used] = '\0';
    return out;
}

/* The action pass, in three statements over the run's tables.
 *
 * run_held: what each served body holds after this run. Records go to the bodies that take them
 * (one run_rec row each, with the body's pseudonyms); against what each body was sent, by the
 * episode's state key. An episode the body was sent and does not get now is gone (deleted) when
 * its source was read and the episode is known to be gone from the body: the source was read in
 * full, or the row was read now (it breaks a rule or goes to other bodies now), or the key scan
 * does not have it (deleted, or out of the year); also when its source is no longer configured.
 * Unchanged rows an incremental read skipped are in the key scan: kept, as they were sent.
 * Bodies not served this run are left out entirely. Each row carries its tuple (qi, sens: this
 * run's or as sent) for the re-identification check, which then reads this table alone. rec and
 * sent are not materialised: a million-row CTE costs more to write than its table does to read
 * again, and the second branch reads rec only when the body holds something.
 *
 * run_rank: the counting unit over what is held. Per body, the person's first start in the year
 * (at each centre, in each source region, or across the body's centres: counting) is the
 * entrant; ties go to the smaller state key (bytewise, whatever the database's collation), so
 * the choice does not depend on the order rows come in. The person leads the sort, bytewise: its
 * first bytes then decide most comparisons (1M first run: 2.8 -> 2.2 s of server CPU; on an
 * en_US.UTF-8 database, where text comparisons cost strcoll, 4.3 -> 2.1 s). earlier: the person
 * has a start in an earlier year in tdi.sent, whatever body or source it went to.
 *
 * run_action: a new episode is an append ('a'); a held one is replaced ('r') when its content
 * hash, its entrant flag or its earlier flag changed; gone ones are deleted ('d'). A kept row
 * (not read this run) whose flags changed would need a replace whose content the run does not
 * have: 'f', and the caller reads that source in full and computes the pass again. */
static const char held_sql[] =
    "CREATE TEMP TABLE run_held AS\n"
    "WITH rec AS NOT MATERIALIZED (\n"
    "    SELECT r.body, r.pos, r.src, r.eid, r.hash, r.person, r.centre, r.start_ymd, r.qi,\n"
    "           r.sens\n"
    "      FROM run_rec r JOIN run_body b ON b.body = r.body\n"
    "     WHERE b.served),\n"
    "sent AS NOT MATERIALIZED (\n"
    "    SELECT b.body, s.eid, s.ekey, s.hash, s.source, s.person, s.centre, s.start_ymd,\n"
    "           s.entrant, s.earlier, s.qi, s.sens\n"
    "      FROM tdi.sent s JOIN run_body b ON b.name = s.body\n"
    "     WHERE s.year = $1 AND b.served)\n"
    "SELECT rec.body, rec.pos, rec.src, rec.eid, NULL::text AS ekey, rec.person, rec.centre,\n"
    "       rec.start_ymd, sent.eid IS NULL AS fresh, sent.hash IS DISTINCT FROM rec.hash AS "
    "changed,\n"
    "       sent.entrant AS was_entrant, sent.earlier AS was_earlier, false AS gone, rec.qi,\n"
    "       rec.sens\n"
    "  FROM rec LEFT JOIN sent ON sent.body = rec.body AND sent.eid = rec.eid\n"
    "UNION ALL\n"
    /* Joins, not EXISTS in an OR: PostgreSQL runs such a sublink once per row, a quadratic plan
     * at a million episodes; hash joins keep the statement linear. Whether the body gets the
     * episode now is a NOT EXISTS on its own, which is a hash anti join (a LEFT JOIN to the
     * DISTINCT records sorted both sides: 1M held, 7.0 -> 4.8 s of server CPU). A row sent before
     * migration 2 has no person: it counts as a person of its own until its source is read in
     * full. */
    "SELECT sent.body, NULL, rs.src, sent.eid, sent.ekey, coalesce(sent.person, sent.eid),\n"
    "       sent.centre, coalesce(sent.start_ymd, 0), false, false, sent.entrant, "
    "sent.earlier,\n"
    "       rs.src IS NULL OR (rs.ok AND (rs.full_read OR x.eid IS NOT NULL OR p.eid IS NULL)),\n"
    "       sent.qi, sent.sens\n"
    "  FROM sent\n"
    "  LEFT JOIN run_src rs ON rs.name = sent.source\n"
    "  LEFT JOIN (SELECT DISTINCT src, eid FROM run_seen) x ON x.src = rs.src AND x.eid = "
    "sent.eid\n"
    "  LEFT JOIN (SELECT DISTINCT src, eid FROM run_present) p ON p.src = rs.src AND p.eid = "
    "sent.eid\n"
    " WHERE NOT EXISTS (SELECT 1 FROM rec r WHERE r.body = sent.body AND r.eid = sent.eid)";

static const char rank_sql[] =
    "CREATE TEMP TABLE run_rank AS\n"
    "SELECT h.body, h.pos, h.src, h.eid, h.ekey, h.fresh, h.changed, h.was_entrant, "
    "h.was_earlier,\n"
    "       row_number() OVER (PARTITION BY h.person COLLATE \"C\", h.body,\n"
    "                                       CASE b.counting WHEN 'centre' THEN h.centre\n"
    "                                                       WHEN 'regional' THEN rs.region END\n"
    "                          ORDER BY h.start_ymd, h.eid COLLATE \"C\") = 1 AS entrant,\n"
    "       e.person IS NOT NULL AS earlier\n"
    "  FROM run_held h JOIN run_body b ON b.body = h.body\n"
    "  LEFT JOIN run_src rs ON rs.src = h.src\n"
    "  LEFT JOIN (SELECT DISTINCT person FROM tdi.sent WHERE year < $1 AND person IS NOT NULL) "
    "e\n"
    "         ON e.person = h.person\n"
    " WHERE NOT h.gone";

static const char action_sql[] =
    "CREATE TEMP TABLE run_action AS\n"
    "SELECT body, pos, src, eid, ekey, 'd'::text AS action, NULL::boolean AS entrant,\n"
    "       NULL::boolean AS earlier\n"
    "  FROM run_held WHERE gone\n"
    "UNION ALL\n"
    "SELECT body, pos, src, eid, ekey,\n"
    "       CASE WHEN pos IS NULL THEN 'f' WHEN fresh THEN 'a' ELSE 'r' END, entrant, earlier\n"
    "  FROM run_rank\n"
    " WHERE (pos IS NOT NULL AND (fresh OR changed))\n"
    "    OR entrant IS DISTINCT FROM was_entrant OR earlier IS DISTINCT FROM was_earlier";

/* R018 per source: rows read that say "never previously treated" of a person with a start in
 * an earlier year (the rule's other half is transform_history()), from the ranking. */
static const char r018_sql[] =
    "SELECT r.src, count(DISTINCT r.eid) FROM run_rank k JOIN run_rec r ON r.pos = k.pos\n"
    " WHERE k.earlier AND r.status = '1' GROUP BY r.src";

/* A boolean array literal {t,f,...}: the int flag at offset in each of n items of size bytes. */
static char *bool_array(size_t n, const void *items, size_t size, size_t offset)
{
    char *out = malloc(2 * n + 3);
    size_t used = 0;

    if (!out)
        return NULL;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        const int *flag = (const int *)((const char *)items + i * size + offset);
        if (i)
            out[used++] = ',';
        out[used++] = *flag ? 't' : 'f';
    }
    out[used++] = '}';
    out[used] = '\0';
    return out;
}

/* Per source from a two-column result (src, number): flags (number > 0) and/or counts. */
static tdi_status per_source(state_db *st, const char *what, const char *sql, size_t nsources,
                             unsigned char *flags, unsigned long *counts)
{
    PGresult *res = NULL;
    tdi_status s = query(st, what, sql, 0, NULL, PGRES_TUPLES_OK, &res);

    for (int i = 0; s == TDI_OK && i < PQntuples(res); i++) {
        long src = strtol(PQgetvalue(res, i, 0), NULL, 10);
        unsigned long n = strtoul(PQgetvalue(res, i, 1), NULL, 10);

        if (src < 0 || (size_t)src >= nsources)
            continue;
        if (flags)
            flags[src] = n > 0;
        if (counts)
            counts[src] = n;
    }
    PQclear(res);
    return s;
}

/* The count of one action ('a', 'r', 'd'; others are not a body's) of run_action into c. */
static void set_count(state_counts *c, const char *action, unsigned long n)
{
    if (*action == 'a')
        c->appends = n;
    else if (*action == 'r')
        c->replaces = n;
    else if (*action == 'd')
        c->deletes = n;
}

tdi_status state_actions(state_db *st, int year, const state_source_in *sources,
                             size_t nsources, const state_body_in *bodies, size_t nbodies,
                             state_counts *counts, unsigned char *reread, unsigned long *r018)
{
    const char **names = calloc(nsources + nbodies + 1, sizeof *names);
    char *snames = NULL, *bnames = NULL, *sok = NULL, *sfull = NULL, *bserved = NULL,
         *bcounting = NULL, *sregions = NULL, ystr[16];
    PGresult *res = NULL;
    tdi_status s = TDI_ERR_INTERNAL;

    memset(counts, 0, nbodies * sizeof *counts);
    memset(reread, 0, nsources);
    memset(r018, 0, nsources * sizeof *r018);
    if (!names)
        goto done;
    sok = bool_array(nsources, sources, sizeof *sources, offsetof(state_source_in, ok));
    sfull =
        bool_array(nsources, sources, sizeof *sources, offsetof(state_source_in, full_read));
    bserved = bool_array(nbodies, bodies, sizeof *bodies, offsetof(state_body_in, served));
    for (size_t i = 0; i < nsources; i++)
        names[i] = sources[i].name;
    snames = array_literal(names, nsources);
    for (size_t i = 0; i < nsources; i++)
        names[i] = sources[i].region;
    sregions = array_literal(names, nsources);
    for (size_t i = 0; i < nbodies; i++)
        names[i] = bodies[i].name;
    bnames = array_literal(names, nbodies);
    for (size_t i = 0; i < nbodies; i++)
        names[i] = bodies[i].counting;
    bcounting = array_literal(names, nbodies);
    if (!snames || !sregions || !bnames || !bcounting || !sok || !sfull || !bserved)
        goto done;
    snprintf(ystr, sizeof ystr, "%d", year);
    {
        const char *sp[4] = {snames, sregions, sok, sfull};
        const char *bp[3] = {bnames, bserved, bcounting};
        const char *yp[1] = {ystr};

        /* A second pass (after a source was read again) starts from the run's tables. */
        s = !st->passes ? TDI_OK
                        : command(st, "clearing the last pass",
                                  "DROP TABLE IF EXISTS run_action, run_rank, run_held; "
                                  "TRUNCATE run_src, run_body",
                                  0, NULL);
        if (s == TDI_OK)
            s = command(st, "recording the run's sources",
                        "INSERT INTO run_src SELECT n - 1, name, region, ok, full_read FROM "
                        "unnest($1::text[], $2::text[], $3::boolean[], $4::boolean[]) WITH "
                        "ORDINALITY AS u(name, region, ok, full_read, n)",
                        4, sp);
        if (s == TDI_OK)
            s = command(st, "recording the run's bodies",
                        "INSERT INTO run_body SELECT n - 1, name, served, counting FROM "
                        "unnest($1::text[], $2::boolean[], $3::text[]) WITH ORDINALITY AS "
                        "u(name, served, counting, n)",
                        3, bp);
        /* Temporary tables are never analysed by autovacuum: without this the planner guesses
         * their size, badly at a million rows. */
        if (s == TDI_OK)
            s = command(st, "analysing the run's tables",
                        "ANALYZE run_rec, run_seen, run_present, run_src, run_body", 0, NULL);
        if (s == TDI_OK)
            s = command(st, "computing what the bodies hold", held_sql, 1, yp);
        st->passes += s == TDI_OK;
        if (s == TDI_OK)
            s = command(st, "analysing what the bodies hold", "ANALYZE run_held", 0, NULL);
        if (s == TDI_OK)
            s = command(st, "ranking the treatment demands", rank_sql, 1, yp);
        if (s == TDI_OK)
            s = command(st, "computing the actions", action_sql, 0, NULL);
        if (s == TDI_OK)
            s = query(st, "counting the actions",
                      "SELECT body, action, count(*) FROM run_action GROUP BY body, action", 0,
                      NULL, PGRES_TUPLES_OK, &res);
    }
    for (int i = 0; s == TDI_OK && i < PQntuples(res); i++) {
        long b = strtol(PQgetvalue(res, i, 0), NULL, 10);
        const char *action = PQgetvalue(res, i, 1);
        unsigned long n = strtoul(PQgetvalue(res, i, 2), NULL, 10);

        if (b < 0 || (size_t)b >= nbodies)
            continue;
        set_count(&counts[b], action, n);
    }
    if (s == TDI_OK)
        s = per_source(st, "finding episodes whose counting changed unread",
                       "SELECT src, count(*) FROM run_action WHERE action = 'f' GROUP BY src",
                       nsources, reread, NULL);
    if (s == TDI_OK)
        s = per_source(st, "counting rule R018", r018_sql, nsources, NULL, r018);

done:
    if (s == TDI_ERR_INTERNAL)
        tdi_error(WHO ": out of memory");
    PQclear(res);
    free(names);
    free(snames);
    free(bnames);
    free(sok);
    free(sfull);
    free(bserved);
    free(bcounting);
    free(sregions);
    return s;
}

tdi_status state_actions_save(state_db *st, int body, state_read what, FILE *fp)
{
    char sql[320];
    tdi_status s;
    int eof = 0;

    /* Every line: position (or key), action, entrant, earlier; \N where there is none. */
    snprintf(sql, sizeof sql,
             what == STATE_READ_DELETES
                 ? "COPY (SELECT ekey, action, entrant, earlier FROM run_action WHERE body = %d "
                   "AND action = 'd' ORDER BY ekey) TO STDOUT"
             : what == STATE_READ_EPISODES
                 ? "COPY (SELECT pos, action, entrant, earlier FROM run_action WHERE body = %d "
                   "AND action IN ('a', 'r') ORDER BY pos) TO STDOUT"
                 : "COPY (SELECT pos, 'h', entrant, earlier FROM run_rank WHERE body = %d AND "
                   "pos IS NOT NULL ORDER BY pos) TO STDOUT",
             body);
    s = query(st, "reading the actions", sql, 0, NULL, PGRES_COPY_OUT, NULL);
    while (s == TDI_OK) {
        char *line = NULL;
        int n = 0;

        s = tdi_pg_copy_get(st->conn, WHO, "reading the actions", TDI_ERR_STATE, &line, &n, &eof,
                            NULL);
        if (s != TDI_OK || eof)
            break;
        if (fwrite(line, 1, (size_t)n, fp) != (size_t)n) {
            tdi_error(WHO ": keeping the actions failed: %s", strerror(errno));
            s = TDI_ERR_OUTPUT;
        }
        PQfreemem(line);
    }
    if (s == TDI_OK && (fflush(fp) != 0 || fseek(fp, 0, SEEK_SET) != 0)) {
        tdi_error(WHO ": keeping the actions failed: %s", strerror(errno));
        s = TDI_ERR_OUTPUT;
    }
    return s;
}

tdi_status state_actions_read(FILE *fp, state_action *a, int *eof)
{
    char line[128], *field[4];
    int nf = 0;
    size_t n;

    *eof = 0;
    memset(a, 0, sizeof *a);
    if (!fgets(line, sizeof line, fp)) {
        if (ferror(fp)) {
            tdi_error(WHO ": reading the kept actions failed: %s", strerror(errno));
            return TDI_ERR_OUTPUT;
        }
        *eof = 1;
        return TDI_OK;
    }
    n = strlen(line);
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    for (char *p = line; p && nf < 4; nf++) {
        field[nf] = p;
        p = strchr(p, '\t');
        if (p)
            *p++ = '\0';
    }
    if (nf == 4 && strlen(field[0]) < sizeof a->ekey && field[1][0]) {
        a->pos = strtoull(field[0], NULL, 10);
        snprintf(a->ekey, sizeof a->ekey, "%s", field[0]);
        a->replace = field[1][0] == 'r';
        a->entrant = field[2][0] == 't';
        a->earlier = field[3][0] == 't';
        return TDI_OK;
    }
    tdi_error(WHO ": an action line is malformed");
    return TDI_ERR_STATE;
}

/* ------------------------------------------------------------------ re-identification */

/* The records body b ($1) holds after this run (run_held, not gone) with their tuples: this
 * run's, the others as they were sent. Read twice (the records without a tuple are counted
 * apart): a scan of run_held costs less than writing it again as a CTE. */
#define REID_HOLD                                                                                  \
    "WITH hold AS NOT MATERIALIZED (\n"                                                            \
    "    SELECT person, qi, sens FROM run_held WHERE body = $1 AND NOT gone)\n"

/* The statement of the check: each grouping (one per blanking to try) in one pass over the
 * body's records. A grouping is by one key, k1..kN (the first %s: the key columns), the fields of
 * the tuple it keeps joined by '|' (no field holds one): a sort by one text costs less than by
 * six (at a million records 2.1 s of server CPU against 3.4 s). A group's size is its persons,
 * not its records: the person pseudonym links one person's episodes, so five episodes of one
 * person in a group are one person to find (each record's risk is 1 / the persons of its group);
 * that one takes count(DISTINCT person), a sort. A sensitive item's distinct values in a group
 * are counted as bits of a bigint (each code its place in the item's code list, $3-$6), OR-ed
 * over the group, rather than by four more count(DISTINCT) (measured before persons were
 * counted: one grouping of a million records 2.3 s against 3.7 s). gs (the second %s) says which
 * grouping a row is of: GROUPING() of the keys, a bit set for each one not grouped by, the first
 * the highest; the third %s: the GROUPING SETS. */
static const char reid_sql[] = REID_HOLD
    ", q AS (\n"
    "    SELECT person%s,\n"
    "           1::bigint << (array_position($3::text[], split_part(sens, '|', 1)) - 1) AS s1,\n"
    "           1::bigint << (array_position($4::text[], split_part(sens, '|', 2)) - 1) AS s2,\n"
    "           1::bigint << (array_position($5::text[], split_part(sens, '|', 3)) - 1) AS s3,\n"
    "           1::bigint << (array_position($6::text[], split_part(sens, '|', 4)) - 1) AS s4\n"
    "      FROM hold WHERE qi IS NOT NULL),\n"
    "g AS (\n"
    "    SELECT %s AS gs, count(*) AS n, count(DISTINCT person) AS p,\n"
    "           bit_or(s1) AS b1, bit_or(s2) AS b2, bit_or(s3) AS b3, bit_or(s4) AS b4\n"
    "      FROM q GROUP BY GROUPING SETS (%s))\n"
    "SELECT gs, sum(n), count(*), min(p), coalesce(sum(n) FILTER (WHERE p < $2), 0),\n"
    "       min(length(replace(b1::bit(64)::text, '0', ''))),\n"
    "       min(length(replace(b2::bit(64)::text, '0', ''))),\n"
    "       min(length(replace(b3::bit(64)::text, '0', ''))),\n"
    "       min(length(replace(b4::bit(64)::text, '0', ''))),\n"
    "       (SELECT count(*) FROM hold WHERE qi IS NULL),\n"
    "       sum(n::float8 / p) / sum(n)\n"
    "  FROM g GROUP BY gs";

#define REID_COLUMNS 8 /* the tuple's fields (tdi_qi order) */

/* Appends to out (of len, *used so far) what snprintf makes of fmt; 0 when it does not fit. */
static int append(char *out, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char *out, size_t len, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*used >= len)
        return 0;
    va_start(ap, fmt);
    n = vsnprintf(out + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *used) {
        *used = len;
        return 0;
    }
    *used += (size_t)n;
    return 1;
}

/* The figures of masks[0..nmasks-1] in one statement (reid_sql); *legacy: the records without a
 * tuple. A mask of nothing groups all records as one (the empty grouping set, no key). */
static tdi_status reid_groupings(state_db *st, int b, const unsigned *masks, size_t nmasks,
                                 int k_min, state_reid *out, unsigned long *legacy)
{
    char sql[sizeof reid_sql + 4096], keys[3072] = "", sets[256] = "", grouping[256] = "0",
                                      bstr[16], kstr[16];
    const char *params[6] = {bstr, kstr, NULL, NULL, NULL, NULL};
    char *codes[DC_QI_NSENSITIVE] = {NULL};
    unsigned gs[TDI_QI_COUNT + 1];
    PGresult *res = NULL;
    size_t kused = 0, sused = 0, gused = 0, nkeys = 0;
    int fits = 1;
    tdi_status s = TDI_ERR_INTERNAL;

    *legacy = 0;
    if (nmasks > sizeof gs / sizeof gs[0])
        goto done;
    /* The keys and grouping sets, from our masks only: the statement is built from constants. */
    for (size_t m = 0; m < nmasks; m++) {
        if (masks[m] >> REID_COLUMNS)
            goto done;
        if (!masks[m]) {
            fits &= append(sets, sizeof sets, &sused, "%s()", m ? ", " : "");
            continue;
        }
        nkeys++;
        fits &= append(keys, sizeof keys, &kused, ",\n           concat_ws('|'");
        for (int i = 0; i < REID_COLUMNS; i++)
            if (masks[m] & 1u << i)
                fits &= append(keys, sizeof keys, &kused, ", split_part(qi, '|', %d)", i + 1);
        fits &= append(keys, sizeof keys, &kused, ") AS k%zu", nkeys);
        fits &= append(sets, sizeof sets, &sused, "%s(k%zu)", m ? ", " : "", nkeys);
    }
    if (nkeys) { /* GROUPING() takes only keys some grouping set has; none: gs is 0 */
        fits &= append(grouping, sizeof grouping, &gused, "GROUPING(");
        for (size_t k = 1; k <= nkeys; k++)
            fits &= append(grouping, sizeof grouping, &gused, "%sk%zu", k > 1 ? ", " : "", k);
        fits &= append(grouping, sizeof grouping, &gused, ")");
    }
    if (!fits)
        goto done;
    for (size_t m = 0, k = 0; m < nmasks; m++) {
        unsigned ones = (1u << nkeys) - 1;
        gs[m] = !masks[m] ? ones : ones & ~(1u << (nkeys - 1 - k++));
    }
    for (int i = 0; i < DC_QI_NSENSITIVE; i++) {
        const tdi_item_def *def = tdi_item_get(dc_qi_sensitive[i]);
        const char *list[64];

        if (def->ncodes > 63)
            goto done; /* one bit a code */
        for (size_t c = 0; c < def->ncodes; c++)
            list[c] = def->codes[c].code;
        codes[i] = array_literal(list, def->ncodes);
        if (!codes[i])
            goto done;
        params[2 + i] = codes[i];
    }
    snprintf(sql, sizeof sql, reid_sql, keys, grouping, sets);
    snprintf(bstr, sizeof bstr, "%d", b);
    snprintf(kstr, sizeof kstr, "%d", k_min);
    s = query(st, "grouping the records by their quasi-identifiers", sql, 6, params,
              PGRES_TUPLES_OK, &res);
    for (int r = 0; s == TDI_OK && r < PQntuples(res); r++) {
        unsigned long v[10];
        double average = strtod(PQgetvalue(res, r, 10), NULL);

        for (int i = 0; i < 10; i++)
            v[i] = strtoul(PQgetvalue(res, r, i), NULL, 10);
        *legacy = v[9];
        for (size_t m = 0; m < nmasks; m++) {
            if (gs[m] != v[0])
                continue;
            out[m].records = v[1];
            out[m].groups = v[2];
            out[m].k = v[3];
            out[m].at_risk = v[4];
            out[m].average = average;
            for (int i = 0; i < STATE_NSENSITIVE; i++)
                out[m].l[i] = v[5 + i];
        }
    }
    /* No row for a grouping: the body holds nothing. The records without a tuple are the same
     * for every grouping; with no row at all, they are counted apart. */
    if (s == TDI_OK && PQntuples(res) == 0) {
        char value[32];
        const char *p1[1] = {bstr};

        PQclear(res);
        res = NULL;
        s = query_value(st, "counting the records without quasi-identifiers",
                        REID_HOLD "SELECT count(*) FROM hold WHERE qi IS NULL", 1, p1, value,
                        sizeof value, NULL);
        *legacy = s == TDI_OK ? strtoul(value, NULL, 10) : 0;
    }
done:
    if (s == TDI_ERR_INTERNAL)
        tdi_error(WHO ": the re-identification check cannot be built");
    for (int i = 0; i < DC_QI_NSENSITIVE; i++)
        free(codes[i]);
    PQclear(res);
    return s;
}

/* The first grouping alone, then (only when it falls short) the others in one statement: a
 * run mostly stops at the first, and each grouping costs a sort of the persons in its groups
 * (at a million records, the five of the default blank_order in one statement took 8.8 s of
 * server CPU). */
tdi_status state_reid_check(state_db *st, int b, const unsigned *masks, size_t nmasks,
                                int k_min, state_reid *out)
{
    unsigned long legacy = 0;
    size_t done = nmasks ? 1 : 0;
    tdi_status s;

    memset(out, 0, nmasks * sizeof *out);
    s = reid_groupings(st, b, masks, done, k_min, out, &legacy);
    if (s == TDI_OK && nmasks > 1 &&
        ((out[0].k < (unsigned long)k_min && out[0].records) || legacy)) {
        s = reid_groupings(st, b, masks + 1, nmasks - 1, k_min, out + 1, &legacy);
        done = nmasks;
    }
    for (size_t m = 0; m < done; m++)
        out[m].legacy = legacy;
    return s;
}

tdi_status state_blanked(state_db *st, const char *body, int year, char *out, size_t len,
                             int *found)
{
    return name_year_value(st, "reading the blanking",
                           "SELECT blanked FROM tdi.body_blanking WHERE body = $1 AND year = $2",
                           body, year, out, len, found);
}

tdi_status state_replace_all(state_db *st, int b, state_counts *counts)
{
    char bstr[16];
    const char *params[1] = {bstr};
    PGresult *res = NULL;
    tdi_status s;

    snprintf(bstr, sizeof bstr, "%d", b);
    s = command(st, "turning every record into a replace",
                "INSERT INTO run_action (body, pos, src, eid, ekey, action, entrant, earlier) "
                "SELECT k.body, k.pos, k.src, k.eid, k.ekey, 'r', k.entrant, k.earlier "
                "FROM run_rank k WHERE k.body = $1 AND k.pos IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM run_action a WHERE a.body = $1 AND a.eid = k.eid)",
                1, params);
    if (s == TDI_OK)
        s = query(st, "counting the actions",
                  "SELECT action, count(*) FROM run_action WHERE body = $1 GROUP BY action", 1,
                  params, PGRES_TUPLES_OK, &res);
    if (s == TDI_OK) {
        memset(counts, 0, sizeof *counts);
        for (int i = 0; i < PQntuples(res); i++)
            set_count(counts, PQgetvalue(res, i, 0), strtoul(PQgetvalue(res, i, 1), NULL, 10));
    }
    PQclear(res);
    return s;
}

/* ------------------------------------------------------------------ the commit */

tdi_status state_commit_begin(state_db *st)
{
    tdi_status s;

    if (st->in_txn) /* begun before the files were written (state_commit_send) */
        return TDI_OK;
    s = ready(st);
    if (s == TDI_OK)
        s = command(st, "starting the commit", "BEGIN", 0, NULL);
    st->in_txn = s == TDI_OK;
    return s;
}

/* What tdi.sent records of an episode a body was sent, from its run_rec row ($4: the sequence
 * number of the body's file); both the replaces and the appends write these columns. */
#define SENT_COLS                                                                                  \
    "ekey, source, hash, sequence, person, centre, start_ymd, status, entrant, earlier, qi, sens"
#define SENT_VALUES                                                                                \
    "r.ekey, rs.name, r.hash, $4::bigint, r.person, r.centre, r.start_ymd, r.status, a.entrant, "  \
    "a.earlier, r.qi, r.sens"
#define SENT_FROM                                                                                  \
    "FROM run_action a JOIN run_rec r ON r.pos = a.pos JOIN run_src rs ON rs.src = r.src "         \
    "WHERE a.body = $1 AND a.action = "

/* The body's actions become what it was sent, in one statement (the deletes, the replaces in
 * place, the appends). An append is new to the body by construction (the run lock keeps other
 * writers out), so a plain INSERT; the primary key would refuse a repeat and the commit with it.
 * In key order: the index then grows at its right edge instead of touching a random page per
 * row (unsorted, the statement takes twice the server CPU at a million episodes). */
static const char sent_sql[] =
    "WITH gone AS (DELETE FROM tdi.sent s USING run_action a WHERE a.body = $1 AND a.action = 'd' "
    "AND s.body = $2 AND s.year = $3 AND s.eid = a.eid),\n"
    "changed AS (UPDATE tdi.sent s SET (" SENT_COLS ") = (" SENT_VALUES ") " SENT_FROM
    "'r' AND s.body = $2 AND s.year = $3 AND s.eid = a.eid)\n"
    "INSERT INTO tdi.sent (body, year, eid, " SENT_COLS ") SELECT $2, $3, a.eid, " SENT_VALUES
    " " SENT_FROM "'a' ORDER BY a.eid";

tdi_status state_commit_send(state_db *st, int year, int b, const char *body, uint64_t seq)
{
    char bstr[16], ystr[16], sstr[32];
    const char *params[4] = {bstr, body, ystr, sstr};
    tdi_status s = state_commit_begin(st);

    snprintf(bstr, sizeof bstr, "%d", b);
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(sstr, sizeof sstr, "%" PRIu64, seq);
    if (s == TDI_OK)
        s = command(st, "marking the body's part of the commit", "SAVEPOINT tdi_body", 0, NULL);
    if (s == TDI_OK)
        s = tdi_pg_send(st->conn, WHO, "recording what the body was sent", TDI_ERR_STATE,
                        sent_sql, 4, params, NULL);
    st->pending = s == TDI_OK;
    return s;
}

tdi_status state_commit_wait(state_db *st)
{
    tdi_status s;

    if (!st->pending)
        return TDI_OK;
    s = tdi_pg_result(st->conn, WHO, "recording what the body was sent", TDI_ERR_STATE,
                      PGRES_COMMAND_OK, NULL, NULL);
    /* Interrupted, the statement may still run: state_commit_undo() cancels it. The
     * savepoint stays until the commit: publishing the file may still fail. */
    st->pending = s == TDI_ERR_INTERRUPTED;
    return s;
}

tdi_status state_commit_undo(state_db *st)
{
    st->pending = 0;
    if (!st->in_txn)
        return TDI_OK;
    if (ready(st) == TDI_OK &&
        command(st, "undoing the body's part of the commit",
                "ROLLBACK TO SAVEPOINT tdi_body; RELEASE SAVEPOINT tdi_body", 0, NULL) == TDI_OK)
        return TDI_OK;
    state_commit_abort(st);
    return TDI_ERR_STATE;
}

tdi_status state_commit_body(state_db *st, int year, const char *body, uint64_t seq,
                                 int tables, int64_t run_no, const char *blanked)
{
    char ystr[16], sstr[32], rstr[32];
    const char *params[5] = {body, ystr, sstr, rstr, tables ? "t" : "f"};
    tdi_status s = TDI_OK;

    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(sstr, sizeof sstr, "%" PRIu64, seq);
    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    if (!seq) /* no file, only the tables brought up to date */
        return command(st, "recording the tables",
                       "UPDATE tdi.body_sequence SET tables_sequence = sequence WHERE body = $1 "
                       "AND year = $2",
                       2, params);
    if (blanked)
        s = command(st, "recording the blanking",
                    "INSERT INTO tdi.body_blanking (body, year, blanked, run_no) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (body, year) DO UPDATE SET "
                    "blanked = EXCLUDED.blanked, run_no = EXCLUDED.run_no",
                    4, (const char *[]){body, ystr, blanked, rstr});
    if (s == TDI_OK)
        s = command(st, "recording the sequence number",
                    "INSERT INTO tdi.body_sequence (body, year, sequence, tables_sequence, run_no) "
                    "VALUES ($1, $2, $3, CASE WHEN $5::boolean THEN $3::bigint END, $4) "
                    "ON CONFLICT (body, year) DO UPDATE SET sequence = EXCLUDED.sequence, "
                    "tables_sequence = coalesce(EXCLUDED.tables_sequence, "
                    "tdi.body_sequence.tables_sequence), run_no = EXCLUDED.run_no",
                    5, params);
    return s;
}

tdi_status state_commit_source(state_db *st, int year, int64_t run_no,
                                   const state_source_out *src)
{
    char rstr[32], ystr[16], att[16], ex[32], wr[32], qu[32];
    const char *run_params[10] = {rstr,
                                  src->name,
                                  src->mode,
                                  src->since,
                                  att,
                                  ex,
                                  wr,
                                  qu,
                                  tdi_status_name(src->status),
                                  src->error && *src->error ? src->error : NULL};
    const char *mark_params[5] = {src->name, ystr, src->watermark, src->fingerprint, rstr};
    tdi_status s;

    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(att, sizeof att, "%d", src->attempts);
    snprintf(ex, sizeof ex, "%lu", src->extracted);
    snprintf(wr, sizeof wr, "%lu", src->written);
    snprintf(qu, sizeof qu, "%lu", src->quarantined);
    s = command(st, "recording a source of the run",
                "INSERT INTO tdi.run_source (run_no, source, mode, since, attempts, extracted, "
                "written, quarantined, status, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                "$9, $10)",
                10, run_params);
    /* Under an unchanged fingerprint the watermark only moves up; under a new one (a full
     * read) it is what this read saw. */
    if (s == TDI_OK && src->advance)
        s = command(st, "recording the source watermark",
                    "INSERT INTO tdi.source_state (source, year, watermark, fingerprint, run_no) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, year) DO UPDATE SET "
                    "watermark = CASE WHEN tdi.source_state.fingerprint = EXCLUDED.fingerprint "
                    "THEN greatest(tdi.source_state.watermark, EXCLUDED.watermark) ELSE "
                    "EXCLUDED.watermark END, fingerprint = EXCLUDED.fingerprint, run_no = "
                    "EXCLUDED.run_no",
                    5, mark_params);
    return s;
}

tdi_status state_commit_file(state_db *st, int64_t run_no, const state_file_out *f)
{
    char rstr[32], seq[32], rec[32], rep[32], del[32];
    const char *params[9] = {rstr, f->path, f->kind, f->owner, f->sequence ? seq : NULL,
                             rec,  rep,     del,     f->sha256};

    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    snprintf(seq, sizeof seq, "%" PRIu64, f->sequence);
    snprintf(rec, sizeof rec, "%lu", f->records);
    snprintf(rep, sizeof rep, "%lu", f->replaces);
    snprintf(del, sizeof del, "%lu", f->deletes);
    return command(st, "recording a published file",
                   "INSERT INTO tdi.run_file (run_no, path, kind, owner, sequence, records, "
                   "replaces, deletes, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                   9, params);
}

tdi_status state_commit_end(state_db *st, int year, int64_t run_no, tdi_status status,
                                const char *message)
{
    char ystr[16];
    const char *params[1] = {ystr};
    tdi_status s;

    snprintf(ystr, sizeof ystr, "%d", year);
    /* The routes seen: which bodies depend on which source, for a later run's failures. */
    s = command(
        st, "recording the routes",
        "INSERT INTO tdi.route (body, source, year) SELECT DISTINCT b.name, rs.name, $1::integer "
        "FROM run_rec r JOIN run_src rs ON rs.src = r.src JOIN run_body b ON b.body = r.body "
        "ON CONFLICT DO NOTHING",
        1, params);
    if (s == TDI_OK)
        s = state_run_end(st, run_no, status, message);
    if (s == TDI_OK)
        s = command(st, "committing", "COMMIT", 0, NULL);
    if (s != TDI_OK) {
        state_commit_abort(st);
        return s;
    }
    st->in_txn = 0;
    return TDI_OK;
}

void state_commit_abort(state_db *st)
{
    if (!st || !st->in_txn)
        return;
    st->in_txn = 0;
    st->pending = 0;
    if (tdi_pg_recover(st->conn, 5000))
        (void)command(st, "rolling back", "ROLLBACK", 0, NULL);
}
