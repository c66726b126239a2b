/*
 * st_commit: the commit of a run, one transaction begun before the files are written.
 *
 * Owns what a run records once its files are out: per body what it was sent (sent while its
 * file is written, under a savepoint that is rolled back when the file is not published), its
 * sequence number, tables and blanking, what the run report shows of it (disclosure figures,
 * the trend cells of its tables); per source the ledger row, watermark, fingerprint and the
 * completeness of its records; every published file; the routes seen; and the end of the run's
 * ledger row, then COMMIT. On any failure nothing of the commit is kept.
 */
#include "st_int.h"

#include "../common/tdi_codes.h"
#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

tdi_status state_commit_begin(state_db *st)
{
    tdi_status s;

    if (st->in_txn) /* begun before the files were written (state_commit_send) */
        return TDI_OK;
    /* A new transaction would record the files without what their bodies were sent. */
    if (st->lost) {
        tdi_error(WHO ": the record of this run's published files was lost with its transaction; "
                      "the next run sends their changes again");
        return TDI_ERR_STATE;
    }
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
    "FROM run_action a JOIN tdi.run_rec r ON r.pos = a.pos JOIN run_src rs ON rs.src = r.src "     \
    "WHERE a.body = $1 AND a.action = "

/* The appends (the last part of both statements below). */
#define SENT_APPENDS                                                                               \
    "INSERT INTO tdi.sent (body, year, eid, " SENT_COLS ") SELECT $2, $3, a.eid, " SENT_VALUES     \
    " " SENT_FROM "'a' ORDER BY a.eid"

/* The body's actions become what it was sent, in one statement (the deletes, the replaces in
 * place, the appends). An append is new to the body by construction (the run lock keeps other
 * writers out), so a plain INSERT; the primary key would refuse a repeat and the commit with it.
 * In key order: the index then grows at its right edge instead of touching a random page per
 * row (unsorted, the statement takes twice the server CPU at a million episodes).
 * The same statement keeps tdi.person_year: the starts for a drug the body no longer holds as
 * sent (old: read before the statement's changes, as every part of it is) count -1, the ones it
 * now holds +1, summed per person; a replace of the same person and population counts nothing.
 * In person order, for the same reason as the appends. The rows go to the year's table of
 * tdi.person_year (migration 12), whose index holds that year's persons only. */
static const char sent_sql[] =
    "WITH old AS (SELECT s.person, -1 AS n FROM tdi.sent s JOIN run_action a ON s.eid = a.eid\n"
    "    WHERE a.body = $1 AND a.action IN ('d', 'r') AND s.body = $2 AND s.year = $3\n"
    "      AND s.person IS NOT NULL AND s.drug IS NOT FALSE),\n"
    "new AS (SELECT r.person, 1 AS n FROM run_action a JOIN tdi.run_rec r ON r.pos = a.pos\n"
    "    WHERE a.body = $1 AND a.action IN ('a', 'r') AND r.drug),\n"
    "counted AS (INSERT INTO tdi.person_year AS p (person, year, n)\n"
    "    SELECT person, $3, sum(n) FROM (SELECT * FROM old UNION ALL SELECT * FROM new) c\n"
    "     GROUP BY person HAVING sum(n) <> 0 ORDER BY person\n"
    "    ON CONFLICT (person, year) DO UPDATE SET n = p.n + EXCLUDED.n),\n"
    "gone AS (DELETE FROM tdi.sent s USING run_action a WHERE a.body = $1 AND a.action = 'd' "
    "AND s.body = $2 AND s.year = $3 AND s.eid = a.eid),\n"
    "changed AS (UPDATE tdi.sent s SET (" SENT_COLS ") = (" SENT_VALUES ") " SENT_FROM
    "'r' AND s.body = $2 AND s.year = $3 AND s.eid = a.eid)\n" SENT_APPENDS;

/* The upsert of the starts counted in new (person, n: all of them new to the body) into the
 * year's tdi.person_year, for the appends-only statements below. */
#define COUNTED_NEW                                                                                \
    "counted AS (INSERT INTO tdi.person_year AS p (person, year, n)\n"                             \
    "    SELECT person, $3, n FROM new ORDER BY person\n"                                          \
    "    ON CONFLICT (person, year) DO UPDATE SET n = p.n + EXCLUDED.n)\n"

/* sent_sql when the body has appends only (a first submission of the year): the old starts,
 * the deletes and the replaces would each scan the body's year of tdi.sent for nothing (a
 * data-modifying CTE runs whatever it finds; 200k: 45 ms, more with earlier years held), and
 * every person counted is new to the body (the upsert stays: another body may count it). */
static const char sent_appends_sql[] =
    "WITH new AS (SELECT r.person, count(*) AS n FROM run_action a JOIN tdi.run_rec r ON r.pos = "
    "a.pos\n"
    "    WHERE a.body = $1 AND a.action = 'a' AND r.drug GROUP BY r.person),\n" COUNTED_NEW
        SENT_APPENDS;

/* The same for a first submission of the year (st->first: the pass's run_action carries each
 * record's columns, st_pass.c): one scan of run_action for each part, no join with run_rec
 * (200k episodes: the two joins were 0.4 of the statement's 1.5 s, docs/benchmark.md).
 * The persons counted by sorting (the subquery's ORDER BY makes it a GroupAggregate, whose rows
 * come in the order the upsert wants) rather than hashed and then sorted, and, when the year's
 * tdi.person_year holds no row yet (the run's first body to commit), a plain INSERT: nothing can
 * conflict and the upsert's probe per row only costs (1M: the person years 2.2 -> 1.0 s of server
 * CPU; docs/benchmark.md, 2026-12-06). Whether it holds one is read once (held), before either
 * inserts: exactly one of the two runs (a gate each, read after the other's rows went in, read
 * the year's index through them). Under the run lock nothing else writes the table; if something
 * did, the primary key would refuse the plain INSERT and the commit with it. */
static const char sent_first_sql[] =
    "WITH new AS NOT MATERIALIZED (SELECT person, count(*) AS n FROM (SELECT person FROM "
    "run_action\n"
    "    WHERE body = $1 AND action = 'a' AND drug ORDER BY person) s GROUP BY person),\n"
    "held AS MATERIALIZED (SELECT EXISTS (SELECT FROM tdi.person_year WHERE year = $3) AS y),\n"
    "counted AS (INSERT INTO tdi.person_year AS p (person, year, n)\n"
    "    SELECT person, $3, n FROM new WHERE (SELECT y FROM held) ORDER BY person\n"
    "    ON CONFLICT (person, year) DO UPDATE SET n = p.n + EXCLUDED.n),\n"
    "fresh AS (INSERT INTO tdi.person_year (person, year, n)\n"
    "    SELECT person, $3, n FROM new WHERE NOT (SELECT y FROM held) ORDER BY person)\n"
    "INSERT INTO tdi.sent (body, year, eid, " SENT_COLS ") SELECT $2, $3, a.eid, a.ekey, rs.name, "
    "a.hash, $4::bigint, a.person, a.centre, a.start_ymd, a.status, a.drug, a.entrant, a.earlier, "
    "a.qi, a.sens FROM run_action a JOIN run_src rs ON rs.src = a.src\n"
    " WHERE a.body = $1 AND a.action = 'a' ORDER BY a.eid";

tdi_status state_commit_send(state_db *st, int year, int b, const char *body, uint64_t seq,
                             int appends_only, unsigned reid_mask)
{
    char bstr[16], ystr[16], sstr[32];
    const char *params[4] = {bstr, body, ystr, sstr};
    tdi_status s = state_commit_begin(st);

    snprintf(bstr, sizeof bstr, "%d", b);
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(sstr, sizeof sstr, "%" PRIu64, seq);
    if (s == TDI_OK)
        s = st_command(st, "marking the body's part of the commit", "SAVEPOINT tdi_body", 0, NULL);
    /* The check's groups first: they read nothing of tdi.sent that the statement below changes
     * (st_reid.c), and the statement holds the connection until the file is written. */
    if (s == TDI_OK)
        s = st_reid_commit(st, b, body, year, reid_mask);
    if (s == TDI_OK)
        s = tdi_pg_send(st->conn, WHO, "recording what the body was sent", TDI_ERR_STATE,
                        st->first      ? sent_first_sql
                        : appends_only ? sent_appends_sql
                                       : sent_sql,
                        4, params, NULL);
    st->pending = s == TDI_OK;
    st->kept += st->part; /* the body before this one stayed */
    st->part = s == TDI_OK;
    st->pending_what = "recording what the body was sent";
    return s;
}

tdi_status state_commit_wait(state_db *st)
{
    tdi_status s;

    if (!st->pending)
        return TDI_OK;
    s = tdi_pg_result(st->conn, WHO, st->pending_what, TDI_ERR_STATE, PGRES_COMMAND_OK, NULL, NULL);
    /* Interrupted, the statement may still run: state_commit_undo() cancels it. The
     * savepoint stays until the commit: publishing the file may still fail. */
    st->pending = s == TDI_ERR_INTERRUPTED;
    return s;
}

tdi_status state_commit_undo(state_db *st)
{
    st->pending = 0;
    st->part = 0;
    if (!st->in_txn)
        return TDI_OK;
    if (st_ready(st) == TDI_OK &&
        st_command(st, "undoing the body's part of the commit",
                   "ROLLBACK TO SAVEPOINT tdi_body; RELEASE SAVEPOINT tdi_body", 0, NULL) == TDI_OK)
        return TDI_OK;
    state_commit_abort(st);
    return TDI_ERR_STATE;
}

/* episodes and entrants: what the body held, moved by this run's actions (the run page's
 * figures, without counting tdi.sent); counting: the level this file was ranked at (the next run
 * may then rank only the persons it touches: st_pass.c, rank_sql). tables_sequence: by
 * state_commit_body(), when the tables are published too. The row's columns, then its update when
 * the body has a row for the year; both statements below write it. */
#define SEQUENCE_INTO                                                                              \
    "INSERT INTO tdi.body_sequence AS q (body, year, sequence, tables_sequence, run_no, "          \
    "episodes, entrants, counting) "
#define SEQUENCE_UPSERT                                                                            \
    "ON CONFLICT (body, year) DO UPDATE SET sequence = EXCLUDED.sequence, "                        \
    "run_no = EXCLUDED.run_no, episodes = q.episodes + EXCLUDED.episodes, "                        \
    "entrants = q.entrants + EXCLUDED.entrants, counting = EXCLUDED.counting"

static const char sequence_sql[] = SEQUENCE_INTO
    "SELECT $1, $2, $3, NULL, $4, "
    "count(*) FILTER (WHERE a.action = 'a') - count(*) FILTER (WHERE a.action = 'd'), "
    "count(*) FILTER (WHERE a.entrant) - count(*) FILTER (WHERE a.was_entrant), "
    "(SELECT counting FROM run_body WHERE name = $1) "
    "FROM run_action a JOIN run_body b ON b.body = a.body "
    "WHERE b.name = $1 AND a.action IN ('a', 'r', 'd') " SEQUENCE_UPSERT;

/* sequence_sql with the figures a first submission's writer counted ($5, $6): no scan of the
 * body's actions (1M: 0.18 s of server CPU). */
static const char sequence_moved_sql[] =
    SEQUENCE_INTO "SELECT $1, $2, $3, NULL, $4, $5, $6, (SELECT counting FROM run_body WHERE name "
                  "= $1) " SEQUENCE_UPSERT;

/* A scan of the body's actions (1M: 0.3 s) while the client reads its file back, unless a first
 * submission's writer counted what they move. */
tdi_status state_commit_sequence(state_db *st, int year, const char *body, uint64_t seq,
                                 int64_t run_no, const state_moved *moved)
{
    char ystr[16], sstr[32], rstr[32], estr[32], nstr[32];
    const char *params[6] = {body, ystr, sstr, rstr, estr, nstr};
    int counted = moved && st->first;
    tdi_status s;

    if (st->pending || !st->in_txn) {
        tdi_error(WHO ": a body's sequence recorded outside its part of the commit");
        return TDI_ERR_INTERNAL;
    }
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(sstr, sizeof sstr, "%" PRIu64, seq);
    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    if (counted) {
        snprintf(estr, sizeof estr, "%lu", moved->episodes);
        snprintf(nstr, sizeof nstr, "%lu", moved->entrants);
    }
    s = tdi_pg_send(st->conn, WHO, "recording the sequence number", TDI_ERR_STATE,
                    counted ? sequence_moved_sql : sequence_sql, counted ? 6 : 4, params, NULL);
    st->pending = s == TDI_OK;
    st->pending_what = "recording the sequence number";
    return s;
}

tdi_status state_commit_body(state_db *st, int year, const char *body, uint64_t seq, int tables,
                             int64_t run_no, const char *blanked)
{
    char ystr[16], rstr[32];
    const char *params[2] = {body, ystr};
    tdi_status s = TDI_OK;

    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    if (seq && blanked)
        s = st_command(st, "recording the blanking",
                       "INSERT INTO tdi.body_blanking (body, year, blanked, run_no) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT (body, year) DO UPDATE SET "
                       "blanked = EXCLUDED.blanked, run_no = EXCLUDED.run_no",
                       4, (const char *[]){body, ystr, blanked, rstr});
    /* The tables are as of the body's latest file (its sequence: state_commit_sequence()). */
    if (s == TDI_OK && tables)
        s = st_command(st, "recording the tables",
                       "UPDATE tdi.body_sequence SET tables_sequence = sequence WHERE body = $1 "
                       "AND year = $2",
                       2, params);
    /* What is recorded is no longer possibly out unrecorded (state_publishing_mark()). */
    if (s == TDI_OK)
        s = st_command(st, "recording what was published",
                       "UPDATE tdi.publishing SET file = file AND NOT $3, tables = tables AND NOT "
                       "$4 WHERE body = $1 AND year = $2",
                       4, (const char *[]){body, ystr, seq ? "t" : "f", tables ? "t" : "f"});
    return s;
}

/* The completeness arrays of src as array literals (item names, applicable, not known) into
 * a[0..2], or all NULL when there is nothing to record; TDI_ERR_INTERNAL when out of memory. */
static tdi_status completeness_arrays(const state_source_out *src, char *a[3])
{
    const char *names[TDI_ITEM_COUNT], *apps[TDI_ITEM_COUNT], *nks[TDI_ITEM_COUNT];
    char num[2][TDI_ITEM_COUNT][24];

    a[0] = a[1] = a[2] = NULL;
    if (!src->applicable || !src->not_known)
        return TDI_OK;
    for (size_t i = 0; i < TDI_ITEM_COUNT; i++) {
        names[i] = tdi_item_get((tdi_item)i)->name;
        snprintf(num[0][i], sizeof num[0][i], "%lu", src->applicable[i]);
        snprintf(num[1][i], sizeof num[1][i], "%lu", src->not_known[i]);
        apps[i] = num[0][i];
        nks[i] = num[1][i];
    }
    a[0] = st_array_literal(names, TDI_ITEM_COUNT);
    a[1] = st_array_literal(apps, TDI_ITEM_COUNT);
    a[2] = st_array_literal(nks, TDI_ITEM_COUNT);
    return a[0] && a[1] && a[2] ? TDI_OK : TDI_ERR_INTERNAL;
}

tdi_status state_commit_source(state_db *st, int year, int64_t run_no, const state_source_out *src)
{
    char rstr[32], ystr[16], att[16], ex[32], wr[32], qu[32], *arr[3] = {NULL, NULL, NULL};
    const char *run_params[13] = {rstr,
                                  src->name,
                                  src->mode,
                                  src->since,
                                  att,
                                  ex,
                                  wr,
                                  qu,
                                  tdi_status_name(src->status),
                                  src->error && *src->error ? src->error : NULL,
                                  NULL,
                                  NULL,
                                  NULL};
    const char *mark_params[5] = {src->name, ystr, src->watermark, src->fingerprint, rstr};
    tdi_status s = completeness_arrays(src, arr);

    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(att, sizeof att, "%d", src->attempts);
    snprintf(ex, sizeof ex, "%lu", src->extracted);
    snprintf(wr, sizeof wr, "%lu", src->written);
    snprintf(qu, sizeof qu, "%lu", src->quarantined);
    for (int i = 0; i < 3; i++)
        run_params[10 + i] = arr[i];
    if (s == TDI_ERR_INTERNAL)
        tdi_error("state database: out of memory recording source %s", src->name);
    /* Its completeness in the same statement: one per source, whatever the items. */
    if (s == TDI_OK)
        s = st_command(st, "recording a source of the run",
                       "WITH c AS (INSERT INTO tdi.run_completeness (run_no, source, item, "
                       "applicable, not_known) SELECT $1, $2, i, a, n FROM unnest($11::text[], "
                       "$12::bigint[], $13::bigint[]) u(i, a, n)) "
                       "INSERT INTO tdi.run_source (run_no, source, mode, since, attempts, "
                       "extracted, written, quarantined, status, error) VALUES ($1, $2, $3, $4, "
                       "$5, $6, $7, $8, $9, $10)",
                       13, run_params);
    for (int i = 0; i < 3; i++)
        free(arr[i]);
    /* Under an unchanged fingerprint the watermark only moves up; under a new one (a full
     * read) it is what this read saw. The key scan's digest with it (none after a full read):
     * every body the source feeds now holds only episodes that scan had. A source read without
     * the watermark moving may have changed what some of its bodies hold: its digest goes, and
     * the next incremental read compares every key (st_keys.c). A source that failed changed
     * nothing: no body it feeds was served. */
    if (s == TDI_OK && src->advance)
        s = st_command(
            st, "recording the source watermark",
            "INSERT INTO tdi.source_state (source, year, watermark, fingerprint, run_no, keys) "
            "VALUES ($1, $2, $3, $4, $5, (SELECT keys FROM run_keyset WHERE name = $1)) "
            "ON CONFLICT (source, year) DO UPDATE SET "
            "watermark = CASE WHEN tdi.source_state.fingerprint = EXCLUDED.fingerprint "
            "THEN greatest(tdi.source_state.watermark, EXCLUDED.watermark) ELSE "
            "EXCLUDED.watermark END, fingerprint = EXCLUDED.fingerprint, run_no = "
            "EXCLUDED.run_no, keys = EXCLUDED.keys",
            5, mark_params);
    else if (s == TDI_OK && src->attempts > 0 && src->status == TDI_OK)
        s = st_command(st, "forgetting the key scan's digest",
                       "UPDATE tdi.source_state SET keys = NULL WHERE source = $1 AND year = $2 "
                       "AND keys IS NOT NULL",
                       2, mark_params);
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

/* The cells as three array literals of codes (table, row, column), one of values and one of
 * suppressed flags into a[0..4]; TDI_ERR_INTERNAL when out of memory. */
static tdi_status cell_arrays(const state_body_out *b, char *a[5])
{
    const char **col[5];
    char(*num)[24] = b->ncells ? calloc(b->ncells, sizeof *num) : NULL;
    tdi_status s = TDI_OK;

    memset(a, 0, 5 * sizeof *a);
    for (int k = 0; k < 5; k++)
        col[k] = calloc(b->ncells ? b->ncells : 1, sizeof *col[k]);
    for (int k = 0; k < 5; k++)
        if (!col[k])
            s = TDI_ERR_INTERNAL;
    if (b->ncells && !num)
        s = TDI_ERR_INTERNAL;
    for (size_t i = 0; s == TDI_OK && i < b->ncells; i++) {
        const state_cell *c = &b->cells[i];
        snprintf(num[i], sizeof num[i], "%lu", c->suppressed ? 0 : c->value);
        col[0][i] = c->table;
        col[1][i] = c->row;
        col[2][i] = c->col;
        col[3][i] = num[i];
        col[4][i] = c->suppressed ? "t" : "f";
    }
    for (int k = 0; s == TDI_OK && k < 5; k++)
        if (!(a[k] = st_array_literal(col[k], b->ncells)))
            s = TDI_ERR_INTERNAL;
    for (int k = 0; k < 5; k++)
        free(col[k]);
    free(num);
    return s;
}

tdi_status state_commit_report(state_db *st, int year, int64_t run_no, const state_body_out *b)
{
    char rstr[32], ystr[16], kmin[16], k[32], rec[32], sup[32], aud[32], *arr[5];
    const char *params[15] = {rstr,
                              b->name,
                              ystr,
                              kmin,
                              k,
                              rec,
                              b->met ? "t" : "f",
                              b->blanked,
                              b->suppressed < 0 ? NULL : sup,
                              b->audit_added < 0 ? NULL : aud};
    tdi_status s = cell_arrays(b, arr);

    snprintf(rstr, sizeof rstr, "%" PRId64, run_no);
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(kmin, sizeof kmin, "%d", b->k_min);
    snprintf(k, sizeof k, "%lu", b->k);
    snprintf(rec, sizeof rec, "%lu", b->records);
    snprintf(sup, sizeof sup, "%lld", b->suppressed);
    snprintf(aud, sizeof aud, "%lld", b->audit_added);
    for (int i = 0; i < 5; i++)
        params[10 + i] = arr[i];
    if (s == TDI_ERR_INTERNAL)
        tdi_error("state database: out of memory recording body %s", b->name);
    /* The cells in the same statement: one per body, whatever its tables. */
    if (s == TDI_OK)
        s = st_command(st, "recording a body's disclosure and tables",
                       "WITH c AS (INSERT INTO tdi.run_cell (run_no, body, year, tbl, row_code, "
                       "col_code, value, suppressed) SELECT $1, $2, $3, t, r, c, CASE WHEN x THEN "
                       "NULL ELSE v END, x FROM unnest($11::text[], $12::text[], $13::text[], "
                       "$14::bigint[], $15::boolean[]) u(t, r, c, v, x)) "
                       "INSERT INTO tdi.run_body (run_no, body, year, k_min, k, records, met, "
                       "blanked, suppressed, audit_added) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                       "$8, $9, $10)",
                       15, params);
    for (int i = 0; i < 5; i++)
        free(arr[i]);
    return s;
}

tdi_status state_commit_end(state_db *st, int year, int64_t run_no, const state_route *routes,
                            size_t nroutes, tdi_status status, const char *message)
{
    char ystr[16], *bodies = NULL, *sources = NULL;
    const char **b = calloc(nroutes + 1, sizeof *b), **src = calloc(nroutes + 1, sizeof *src);
    const char *params[3] = {ystr, NULL, NULL};
    tdi_status s = TDI_ERR_INTERNAL;

    snprintf(ystr, sizeof ystr, "%d", year);
    for (size_t i = 0; b && src && i < nroutes; i++) {
        b[i] = routes[i].body;
        src[i] = routes[i].source;
    }
    if (b && src) {
        params[1] = bodies = st_array_literal(b, nroutes);
        params[2] = sources = st_array_literal(src, nroutes);
    }
    /* The routes seen: which bodies depend on which source, for a later run's failures. From
     * the run, which knows them, not from the records (a scan of run_rec: 1M, 0.15 s). */
    if (bodies && sources)
        s = st_command(st, "recording the routes",
                       "INSERT INTO tdi.route (body, source, year) SELECT r.b, r.s, $1::integer "
                       "FROM unnest($2::text[], $3::text[]) AS r(b, s) ON CONFLICT DO NOTHING",
                       3, params);
    else
        tdi_error(WHO ": out of memory");
    free(bodies);
    free(sources);
    free(b);
    free(src);
    if (s == TDI_OK)
        s = state_run_end(st, run_no, status, message);
    if (s == TDI_OK)
        s = st_command(st, "committing", "COMMIT", 0, NULL);
    if (s != TDI_OK) {
        state_commit_abort(st);
        return s;
    }
    st->in_txn = 0;
    st->part = st->kept = 0;
    return TDI_OK;
}

void state_commit_abort(state_db *st)
{
    if (!st || !st->in_txn)
        return;
    st->in_txn = 0;
    st->pending = 0;
    st->lost = st->part || st->kept > 0;
    st->part = st->kept = 0;
    if (tdi_pg_recover(st->conn, 5000))
        (void)st_command(st, "rolling back", "ROLLBACK", 0, NULL);
}
