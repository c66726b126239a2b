/*
 * st_commit: the commit of a run, one transaction begun before the files are written.
 *
 * Owns what a run records once its files are out: per body what it was sent (sent while its
 * file is written, under a savepoint that is rolled back when the file is not published), its
 * sequence number, tables and blanking; per source the ledger row, watermark and fingerprint;
 * every published file; the routes seen; and the end of the run's ledger row, then COMMIT. On
 * any failure nothing of the commit is kept.
 */
#include "st_int.h"

#include "../common/tdi_pg.h"

#include <inttypes.h>
#include <string.h>

tdi_status state_commit_begin(state_db *st)
{
    tdi_status s;

    if (st->in_txn) /* begun before the files were written (state_commit_send) */
        return TDI_OK;
    s = st_ready(st);
    if (s == TDI_OK)
        s = st_command(st, "starting the commit", "BEGIN", 0, NULL);
    st->in_txn = s == TDI_OK;
    return s;
}

/* What tdi.sent records of an episode a body was sent, from its run_rec row ($4: the sequence
 * number of the body's file); both the replaces and the appends write these columns. */
#define SENT_COLS                                                                                  \
    "ekey, source, hash, sequence, person, centre, start_ymd, status, drug, entrant, earlier, "    \
    "qi, "                                                                                         \
    "sens"
#define SENT_VALUES                                                                                \
    "r.ekey, rs.name, r.hash, $4::bigint, r.person, r.centre, r.start_ymd, r.status, r.drug, "     \
    "a.entrant, a.earlier, r.qi, r.sens"
#define SENT_FROM                                                                                  \
    "FROM run_action a JOIN run_rec r ON r.pos = a.pos JOIN run_src rs ON rs.src = r.src "         \
    "WHERE a.body = $1 AND a.action = "

/* The body's actions become what it was sent, in one statement (the deletes, the replaces in
 * place, the appends). An append is new to the body by construction (the run lock keeps other
 * writers out), so a plain INSERT; the primary key would refuse a repeat and the commit with it.
 * In key order: the index then grows at its right edge instead of touching a random page per
 * row (unsorted, the statement takes twice the server CPU at a million episodes).
 * The same statement keeps tdi.person_year: the starts for a drug the body no longer holds as
 * sent (old: read before the statement's changes, as every part of it is) count -1, the ones it
 * now holds +1, summed per person; a replace of the same person and population counts nothing.
 * In person order, for the same reason as the appends. */
static const char sent_sql[] =
    "WITH old AS (SELECT s.person, -1 AS n FROM tdi.sent s JOIN run_action a ON s.eid = a.eid\n"
    "    WHERE a.body = $1 AND a.action IN ('d', 'r') AND s.body = $2 AND s.year = $3\n"
    "      AND s.person IS NOT NULL AND s.drug IS NOT FALSE),\n"
    "new AS (SELECT r.person, 1 AS n FROM run_action a JOIN run_rec r ON r.pos = a.pos\n"
    "    WHERE a.body = $1 AND a.action IN ('a', 'r') AND r.drug),\n"
    "counted AS (INSERT INTO tdi.person_year AS p (person, year, n)\n"
    "    SELECT person, $3, sum(n) FROM (SELECT * FROM old UNION ALL SELECT * FROM new) c\n"
    "     GROUP BY person HAVING sum(n) <> 0 ORDER BY person\n"
    "    ON CONFLICT (person, year) DO UPDATE SET n = p.n + EXCLUDED.n),\n"
    "gone AS (DELETE FROM tdi.sent s USING run_action a WHERE a.body = $1 AND a.action = 'd' "
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
        s = st_command(st, "marking the body's part of the commit", "SAVEPOINT tdi_body", 0, NULL);
    if (s == TDI_OK)
        s = tdi_pg_send(st->conn, WHO, "recording what the body was sent", TDI_ERR_STATE, sent_sql,
                        4, params, NULL);
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
    if (st_ready(st) == TDI_OK &&
        st_command(st, "undoing the body's part of the commit",
                   "ROLLBACK TO SAVEPOINT tdi_body; RELEASE SAVEPOINT tdi_body", 0, NULL) == TDI_OK)
        return TDI_OK;
    state_commit_abort(st);
    return TDI_ERR_STATE;
}

tdi_status state_commit_body(state_db *st, int year, const char *body, uint64_t seq, int tables,
                             int64_t run_no, const char *blanked)
{
    char ystr[16], sstr[32], rstr[32];
    const char *params[5] = {body, ystr, sstr, rstr, tables ? "t" : "f"};
    tdi_status s = TDI_OK;

    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(sstr, sizeof sstr, "%" PRIu64, seq);
    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    if (!seq) /* no file, only the tables brought up to date */
        return st_command(st, "recording the tables",
                          "UPDATE tdi.body_sequence SET tables_sequence = sequence WHERE body = $1 "
                          "AND year = $2",
                          2, params);
    if (blanked)
        s = st_command(st, "recording the blanking",
                       "INSERT INTO tdi.body_blanking (body, year, blanked, run_no) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT (body, year) DO UPDATE SET "
                       "blanked = EXCLUDED.blanked, run_no = EXCLUDED.run_no",
                       4, (const char *[]){body, ystr, blanked, rstr});
    /* episodes and entrants: what the body held, moved by this run's actions (the run page's
     * figures, without counting tdi.sent). */
    if (s == TDI_OK)
        s = st_command(
            st, "recording the sequence number",
            "INSERT INTO tdi.body_sequence AS q (body, year, sequence, tables_sequence, run_no, "
            "episodes, entrants) "
            "SELECT $1, $2, $3, CASE WHEN $5::boolean THEN $3::bigint END, $4, "
            "count(*) FILTER (WHERE a.action = 'a') - count(*) FILTER (WHERE a.action = 'd'), "
            "count(*) FILTER (WHERE a.entrant) - count(*) FILTER (WHERE a.was_entrant) "
            "FROM run_action a JOIN run_body b ON b.body = a.body "
            "WHERE b.name = $1 AND a.action IN ('a', 'r', 'd') "
            "ON CONFLICT (body, year) DO UPDATE SET sequence = EXCLUDED.sequence, "
            "tables_sequence = coalesce(EXCLUDED.tables_sequence, q.tables_sequence), "
            "run_no = EXCLUDED.run_no, episodes = q.episodes + EXCLUDED.episodes, "
            "entrants = q.entrants + EXCLUDED.entrants",
            5, params);
    return s;
}

tdi_status state_commit_source(state_db *st, int year, int64_t run_no, const state_source_out *src)
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
    s = st_command(st, "recording a source of the run",
                   "INSERT INTO tdi.run_source (run_no, source, mode, since, attempts, extracted, "
                   "written, quarantined, status, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                   "$9, $10)",
                   10, run_params);
    /* Under an unchanged fingerprint the watermark only moves up; under a new one (a full
     * read) it is what this read saw. */
    if (s == TDI_OK && src->advance)
        s = st_command(
            st, "recording the source watermark",
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
    return st_command(st, "recording a published file",
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
    s = st_command(
        st, "recording the routes",
        "INSERT INTO tdi.route (body, source, year) SELECT DISTINCT b.name, rs.name, $1::integer "
        "FROM run_rec r JOIN run_src rs ON rs.src = r.src JOIN run_body b ON b.body = r.body "
        "ON CONFLICT DO NOTHING",
        1, params);
    if (s == TDI_OK)
        s = state_run_end(st, run_no, status, message);
    if (s == TDI_OK)
        s = st_command(st, "committing", "COMMIT", 0, NULL);
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
        (void)st_command(st, "rolling back", "ROLLBACK", 0, NULL);
}
