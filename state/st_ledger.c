/*
 * st_ledger: the run ledger, the reporting years, and what earlier runs left per source and body.
 *
 * Owns the ledger rows of a run (begun, ended, printed by `tdi status`), closing and reopening
 * years, and the small lookups a run makes before it reads: a source's watermark and
 * fingerprint, the routes seen, the last quarantine file, whether a body's tables are due, and
 * the next sequence number of a body's file. The commit writes the rest (st_commit.c).
 */
#include "st_int.h"

#include "../common/tdi_codes.h"
#include "../common/tdi_log.h"
#include "../common/tdi_version.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ the ledger */

tdi_status state_run_begin(state_db *st, const char *run_id, int year, int full, int64_t *run_no,
                           int *taken)
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
    s = st_command(st, "closing the ledger rows of runs that ended without a word",
                   "UPDATE tdi.run SET status = 'abandoned', message = 'no end was recorded: the "
                   "run was killed or lost the state database' WHERE status = 'running'",
                   0, NULL);
    if (s == TDI_OK)
        s = st_query_value(
            st, "recording the run",
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

tdi_status state_run_end(state_db *st, int64_t run_no, tdi_status status, const char *message)
{
    char no[32], code[16];
    const char *params[4] = {no, tdi_status_name(status), code,
                             message && *message ? message : NULL};

    snprintf(no, sizeof no, "%" PRId64, run_no);
    status_params(status, code, sizeof code);
    if (!st->in_txn && st_ready(st) != TDI_OK)
        return TDI_ERR_STATE;
    return st_command(st, "recording the end of the run",
                      "UPDATE tdi.run SET ended_at = now(), status = $2, exit_code = $3, message = "
                      "$4 WHERE run_no = $1",
                      4, params);
}

static tdi_status print_run_details(state_db *st, const char *run_no, FILE *fp)
{
    const char *params[1] = {run_no};
    PGresult *res = NULL;
    tdi_status s;

    s = st_query(st, "reading the ledger",
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
        s = st_query(
            st, "reading the ledger",
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
            fprintf(fp, "  tables %s: %s " TDI_POPULATION " -> %s\n", PQgetvalue(res, i, 1),
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
    s = st_query(st, "reading the ledger",
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
    return st_query_value(st, "reading the closed years",
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
    return st_query_value(
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
    s = st_name_year_value(st, "reading the source watermark",
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

/* Asked only of a read that gave no records (run_read.c), so it costs a night nothing: a scan of
 * the year's table of tdi.sent, which has no index by source. */
tdi_status state_source_held(state_db *st, const char *source, int year, unsigned long *held)
{
    char value[32];
    int found = 0;
    tdi_status s = st_name_year_value(st, "counting a source's episodes",
                                      "SELECT count(DISTINCT eid) FROM tdi.sent WHERE source = $1 "
                                      "AND year = $2::integer",
                                      source, year, value, sizeof value, &found);

    *held = s == TDI_OK && found ? strtoul(value, NULL, 10) : 0;
    return s;
}

tdi_status state_time_minus(state_db *st, const char *watermark, long seconds, char *out,
                            size_t len)
{
    char secs[32];
    const char *params[2] = {watermark, secs};

    snprintf(secs, sizeof secs, "%ld", seconds);
    return st_query_value(st, "computing the incremental lower bound",
                          "SELECT to_char(($1::timestamptz - make_interval(secs => $2::bigint)) AT "
                          "TIME ZONE 'UTC', " TIME_FMT ")",
                          2, params, out, len, NULL);
}

tdi_status state_route_seen(state_db *st, const char *body, const char *source, int year, int *seen)
{
    char ystr[16], value[8];
    const char *params[3] = {body, source, ystr};
    tdi_status s;

    snprintf(ystr, sizeof ystr, "%d", year);
    s = st_query_value(st, "reading the routes",
                       "SELECT EXISTS (SELECT 1 FROM tdi.route WHERE body = $1 AND source = $2 AND "
                       "year = $3)",
                       3, params, value, sizeof value, NULL);
    *seen = s == TDI_OK && strcmp(value, "t") == 0;
    return s;
}

tdi_status state_quarantine_same(state_db *st, const char *source, int year, const char *sha256,
                                 int *same)
{
    char value[80];
    int found = 0;
    tdi_status s = st_name_year_value(
        st, "reading the last quarantine file",
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
    tdi_status s = st_name_year_value(st, "reading when the tables were written",
                                      "SELECT sequence > coalesce(tables_sequence, 0) FROM "
                                      "tdi.body_sequence WHERE body = $1 AND year = $2",
                                      body, year, value, sizeof value, NULL);

    *due = s == TDI_OK && strcmp(value, "t") == 0;
    return s;
}

tdi_status state_publishing_left(state_db *st, const char *body, int year, int *file, int *tables)
{
    char value[8] = "";
    int found = 0;
    tdi_status s = st_name_year_value(
        st, "reading what an earlier run may have published",
        "SELECT file::int + 2 * tables::int FROM tdi.publishing WHERE body = $1 AND year = $2",
        body, year, value, sizeof value, &found);
    int v = s == TDI_OK && found ? atoi(value) : 0;

    *file = v & 1;
    *tables = (v & 2) != 0;
    return s;
}

tdi_status state_publishing_mark(state_db *st, const char *body, int year, int64_t run_no, int file,
                                 int tables)
{
    char ystr[16], rstr[32];

    /* Committed before the first rename, so never inside a transaction. */
    if (st->in_txn || PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
        tdi_error(WHO ": a body marked as publishing inside the commit");
        return TDI_ERR_INTERNAL;
    }
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    return st_command(st, "marking a body as publishing",
                      "INSERT INTO tdi.publishing AS p (body, year, run_no, file, tables) "
                      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (body, year) DO UPDATE SET "
                      "run_no = EXCLUDED.run_no, file = p.file OR EXCLUDED.file, "
                      "tables = p.tables OR EXCLUDED.tables",
                      5, (const char *[]){body, ystr, rstr, file ? "t" : "f", tables ? "t" : "f"});
}

tdi_status state_next_sequence(state_db *st, const char *body, int year, uint64_t *seq)
{
    char value[32];
    tdi_status s =
        st_name_year_value(st, "reading the sequence number",
                           "SELECT coalesce((SELECT sequence FROM tdi.body_sequence WHERE "
                           "body = $1 AND year = $2), 0) + 1",
                           body, year, value, sizeof value, NULL);

    *seq = s == TDI_OK ? strtoull(value, NULL, 10) : 0;
    return s;
}
