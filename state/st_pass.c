/*
 * st_pass: the action pass of a run, computed in the state database in bulk.
 *
 * Owns the pass's temporary tables (run_touched, run_held, run_rank, run_action; run_gone is
 * st_keys.c's st_gone()) and the statements that make them: what each body holds, the TDI counting
 * unit, every action, the unread episodes whose counting changed, and the rows rule R018 is about,
 * with the statistics of the year's table of tdi.sent brought up to date first (and that table
 * made for the year's first rows); a first submission of the year takes a shorter pass
 * (pass_first), and the patch of a pass whose episodes read again are as sent
 * (state_actions_patch()). Nothing here runs one statement per record.
 */
#include "st_int.h"

#include "../common/tdi_log.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The action pass, in statements over the run's tables (run_gone and run_touched first).
 *
 * run_held: what each served body holds after this run. Records go to the bodies that take them
 * (one run_rec row each, with the body's pseudonyms); against what each body was sent, by the
 * episode's state key. An episode the body was sent and does not get now is gone (deleted) when
 * its source was read and the episode is known to be gone from the body: the source was read in
 * full, or the row was read now (it breaks a rule or goes to other bodies now), or the key scan
 * does not have it (deleted, or out of the year); also when its source is no longer configured.
 * Unchanged rows an incremental read skipped are in the key scan: kept, as they were sent
 * (run_gone: st_gone(), st_keys.c). Bodies not served this run are left out entirely. When the pass
 * does not rank the whole year, run_held lists only the touched persons' episodes (run_touched):
 * the others' are as sent, and the ranking would not read them (200k held, 10k changed: 0.74 s a
 * pass to write every held episode, 0.25 s to analyse them). Each row carries its tuple (qi, sens:
 * this run's or as sent) for the re-identification check, which reads the untouched persons'
 * tuples from tdi.sent (st_reid.c), a record its person and tuples as sent (was_person,
 * was_qi, was_sens: the check's groups kept in the state database move by them), and each row
 * its episode key (this run's for a record read now), for the order of the body's file. rec and
 * sent are not materialised: a million-row CTE costs more to write than its table does to read
 * again, and the second branch reads rec only when the body holds something.
 *
 * run_rank: the counting unit over what is held. Per body, the person's first start for a drug
 * in the year (at each centre, in each source region, or across the body's centres: counting)
 * is the entrant; only episodes in the TDI population (drug: tdi_in_population(), which the run
 * passes per record) are ranked for it, so an alcohol, gambling or other non-drug episode is
 * never an entrant and never hides a later drug start; ties go to the smaller state key (bytewise,
 * whatever the database's collation), so the choice does not depend on the order rows come in. The
 * person leads the sort, bytewise: its first bytes then decide most comparisons (1M first run: 2.8
 * -> 2.2 s of server CPU; on an en_US.UTF-8 database, where text comparisons cost strcoll, 4.3
 * -> 2.1 s). earlier: the person has a start for a drug in an earlier year in tdi.sent, whatever
 * body or source it went to (an earlier alcohol episode does not make a person previously treated:
 * tdi-protocol.md), as tdi.person_year counts them: looked up by index for the run's persons only
 * (LIMIT 1 keeps it a probe per person), so the cost does not grow with the years held (scanning
 * earlier years of tdi.sent: 0.66 -> 1.82 s of statement time at 200k with two earlier years);
 * and only for a person no row of the year was sent for under that person key: otherwise the
 * flag as sent is the person's (EARLIER_AS_SENT), and a night of 10k changes probes almost
 * nothing (a probe reads a heap page for each person with an earlier year: 200k held, 5 earlier
 * years, 51k -> 68k blocks; docs/benchmark.md, 2026-12-05: the nightly run flat in the years).
 * Not a correlated EXISTS: the planner may hash one over every earlier person year instead.
 * A run ranks only the persons it touched (touched: an episode read this run, gone, or whose
 * person changed): an untouched person's episodes and earlier years are as when last ranked, so
 * are its flags as sent. Every record a body's tables read is one read this run, so touched too.
 * Not so, and the whole year is ranked (whole), when a served body's last file of the year was
 * ranked at another level or before schema 7 (or there is none), or a run of an earlier year came
 * after that file (it may have changed tdi.person_year); also when every source was read in full
 * (everyone is touched: the filter would only cost). whole_sql decides it before run_held is
 * made, which then holds what is ranked. docs/benchmark.md, 2026-12-05: the nightly run's rank
 * statement.
 *
 * run_action: a new episode is an append ('a'); a held one is replaced ('r') when its content
 * hash, its entrant flag or its earlier flag changed; gone ones are deleted ('d'); was_entrant
 * (as sent) lets the commit keep the body's count of entrants without counting tdi.sent. A kept row
 * (not read this run) whose flags changed would need a replace whose content the run does not
 * have: 'f', and the caller reads those episodes again (state_unread_keys()) or that source in
 * full, and computes the pass again. */
/* run_touched: the persons this run touches (see run_rank), found before run_held so that it
 * lists only their episodes: the persons read, their persons as sent, the persons of what is
 * gone. A row read now that was sent without a person (before migration 2) is its own person
 * here, as in run_held: the check then leaves its row as sent out. */
static const char touched_sql[] =
    "CREATE TEMP TABLE run_touched AS\n" HELD_REC_SENT "SELECT person FROM rec\n"
    "UNION SELECT coalesce(sent.person, sent.eid) FROM rec\n"
    "  JOIN sent ON sent.body = rec.body AND sent.eid = rec.eid\n"
    "UNION SELECT person FROM run_gone";
/* The same with the persons as sent looked up one primary-key probe per record read (LATERAL,
 * kept apart by OFFSET 0): pricing a random page at four sequential ones, the planner hashed the
 * records and scanned the bodies' whole year for them (1M held, 6.4k read: 0.65 s a pass against
 * 0.1 s). Taken when the records read are few beside what the bodies hold (few_sql): a source read
 * in full beside incremental ones makes the probes the slower way. */
static const char touched_probe_sql[] =
    "CREATE TEMP TABLE run_touched AS\n" HELD_REC_SENT "SELECT person FROM rec\n"
    "UNION SELECT coalesce(s.person, s.eid) FROM rec JOIN run_body b ON b.body = rec.body\n"
    "  CROSS JOIN LATERAL (SELECT t.person, t.eid FROM tdi.sent t WHERE t.body = b.name\n"
    "                        AND t.year = $1 AND t.eid = rec.eid OFFSET 0) s\n"
    "UNION SELECT person FROM run_gone";
/* How few the records read for the served bodies are beside what those bodies hold of the year
 * ($1): 'persons' under a two-hundredth, 'keys' under a twentieth, else 'scan'. A probe by key
 * costs about what scanning twenty rows does (docs/benchmark.md, 2026-12-05: the touched persons
 * by key); a touched person's probe by the year's index by person about ninety (2M held: 17 us
 * against 0.19 us a row scanned), and a record read touches about 1.5 persons (docs/benchmark.md,
 * 2026-12-07). */
static const char few_sql[] =
    "SELECT CASE WHEN r * 200 < h THEN 'persons' WHEN r * 20 < h THEN 'keys' ELSE 'scan' END\n"
    "  FROM (SELECT (SELECT count(*) FROM tdi.run_rec r JOIN run_body b ON b.body = r.body\n"
    "                 WHERE b.served) AS r,\n"
    "               (SELECT coalesce(sum(q.episodes), 0) FROM tdi.body_sequence q\n"
    "                  JOIN run_body b ON b.name = q.body AND b.served WHERE q.year = $1) AS h) x";

/* The rows sent and not read now: kept as sent, or gone. Whether the body gets the episode now
 * is a NOT EXISTS on its own, which is a hash anti join (a LEFT JOIN to the DISTINCT records
 * sorted both sides: 1M held, 7.0 -> 4.8 s of server CPU). A row sent before migration 2 has no
 * person: it counts as a person of its own until its source is read in full. $2: the whole year
 * is ranked (every sent row listed), else only the touched persons' rows. */
#define HELD_READ                                                                                  \
    "CREATE TEMP TABLE run_held AS\n" HELD_REC_SENT                                                \
    "SELECT rec.body, rec.pos, rec.src, rec.eid, rec.ekey, rec.person, rec.centre,\n"              \
    "       rec.start_ymd, rec.drug, sent.eid IS NULL AS fresh, sent.hash IS DISTINCT FROM "       \
    "rec.hash AS changed,\n"                                                                       \
    "       sent.entrant AS was_entrant, sent.earlier AS was_earlier, false AS gone, rec.qi,\n"    \
    "       rec.sens, sent.person AS was_person, sent.qi AS was_qi, sent.sens AS was_sens\n"       \
    "  FROM rec LEFT JOIN sent ON sent.body = rec.body AND sent.eid = rec.eid\n"                   \
    "UNION ALL\n"
#define HELD_KEPT                                                                                  \
    "SELECT sent.body, NULL, rs.src, sent.eid, sent.ekey, coalesce(sent.person, sent.eid),\n"      \
    "       sent.centre, coalesce(sent.start_ymd, 0), coalesce(sent.drug, true), false, false,\n"  \
    "       sent.entrant, sent.earlier, g.eid IS NOT NULL, sent.qi, sent.sens, NULL, NULL, NULL\n"
#define HELD_KEPT_JOINS                                                                            \
    "  LEFT JOIN run_src rs ON rs.name = sent.source\n"                                            \
    "  LEFT JOIN run_gone g ON g.body = sent.body AND g.eid = sent.eid\n"                          \
    " WHERE NOT EXISTS (SELECT 1 FROM rec r WHERE r.body = sent.body AND r.eid = sent.eid)\n"
static const char held_sql[] = HELD_READ HELD_KEPT
    "  FROM sent\n" HELD_KEPT_JOINS
    "   AND ($2 OR coalesce(sent.person, sent.eid) IN (SELECT person FROM run_touched))";

/* The same when very few records were read (few_sql: 'persons'): the touched persons' rows found
 * by the year's index by person (migration 15), a probe per person and body (LATERAL, kept apart
 * by OFFSET 0 as in touched_probe_sql), not by scanning the year (2M held, 10k changed: the
 * statement 0.42-0.48 -> 0.22 s a night; the index made once, 1.8 s at 2M; docs/benchmark.md,
 * 2026-12-07). */
static const char held_probe_sql[] = HELD_READ HELD_KEPT
    "  FROM run_touched t JOIN run_body b ON b.served\n"
    "  CROSS JOIN LATERAL (SELECT " HELD_SENT_COLS
    "                        FROM tdi.sent s WHERE s.body = b.name AND s.year = $1\n"
    "                         AND coalesce(s.person, s.eid) = t.person OFFSET 0) "
    "sent\n" HELD_KEPT_JOINS;

/* Whether the served bodies hold nothing of the year: 't' or 'f'. Per served body one probe of
 * tdi.sent's primary key (the order by eid makes it one): a scan for a first row read every
 * earlier year's rows first (before migration 11), or the whole year when the body held nothing
 * of it. */
static const char first_sql[] =
    "SELECT NOT EXISTS (SELECT 1 FROM run_body b\n"
    "    CROSS JOIN LATERAL (SELECT 1 FROM tdi.sent s WHERE s.body = b.name AND s.year = $1\n"
    "                         ORDER BY s.eid LIMIT 1) x WHERE b.served)";

/* Whether the pass ranks the whole year (rank_sql): 't' or 'f'. */
static const char whole_sql[] =
    "SELECT NOT EXISTS (SELECT 1 FROM run_src WHERE NOT full_read)\n"
    "    OR EXISTS (SELECT 1 FROM run_body b LEFT JOIN tdi.body_sequence q\n"
    "                   ON q.body = b.name AND q.year = $1\n"
    "                WHERE b.served AND (q.counting IS DISTINCT FROM b.counting\n"
    "                   OR EXISTS (SELECT 1 FROM tdi.run r\n"
    "                               WHERE r.year < $1 AND r.run_no > q.run_no)))";

/* A row whose earlier flag as sent holds for its person now, unless the whole year is ranked
 * ($2): a row of the year sent under the same person (any row kept; a row read now whose person
 * did not change). An earlier flag depends only on the person's earlier years, which only a run
 * of an earlier year changes, and after one the whole year is ranked (whole_sql). */
#define EARLIER_AS_SENT                                                                            \
    "NOT $2::boolean AND was_earlier IS NOT NULL AND (pos IS NULL OR was_person = person)"

/* The persons of the ranking with a start for a drug in an earlier year: looked up in
 * tdi.person_year unless the flag as sent holds (EARLIER_AS_SENT); $2: the whole year is ranked. */
#define EARLIER_KEPT                                                                               \
    "(SELECT d.person FROM (SELECT person,\n"                                                      \
    "                 bool_or(was_earlier) FILTER (WHERE " EARLIER_AS_SENT ") AS t,\n"             \
    "                 bool_and(was_earlier) FILTER (WHERE " EARLIER_AS_SENT ") AS a\n"             \
    "               FROM ranked GROUP BY person) d\n"                                              \
    "             LEFT JOIN LATERAL (SELECT 1 AS found FROM tdi.person_year p\n"                   \
    "                 WHERE (d.t = d.a) IS NOT TRUE AND p.person = d.person AND p.year < $1\n"     \
    "                   AND p.n > 0 LIMIT 1) x ON true\n"                                          \
    "             WHERE CASE WHEN d.t = d.a THEN d.t ELSE x.found IS NOT NULL END)"
/* The same when nothing was sent of the year (a first submission): every person of the year is
 * looked up, so the earlier years' person years are read once and matched by a join rather than
 * probed a person at a time in each year's table (five earlier years of 200k: the ranking 1139 ->
 * 1018 ms, its blocks 464k -> 5k; docs/benchmark.md, 2026-12-05 11:50), and without the grouping
 * EARLIER_KEPT needs (200k: the ranking 711 -> 610 ms). A register's first year has no earlier
 * table to read. */
#define EARLIER_LOOKED_UP                                                                          \
    "(SELECT DISTINCT p.person FROM tdi.person_year p\n"                                           \
    "   WHERE p.year < $1 AND p.n > 0 AND p.person IN (SELECT person FROM ranked))"

/* The ranking over run_held into TABLE: COLS (h: run_held), entrant, earlier (from EARLIER),
 * then TAIL. The window runs over a narrow projection of the drug rows only (a non-drug row is
 * never an entrant), and only the rows it does not count (later: a drug start of a unit with an
 * earlier one, a few thousand at 1M) are joined back, by (body, eid) and pos, which is one row of
 * run_held: the wide rows are read once and never sorted (1M first run: an external sort of 963k
 * rows 297 bytes wide, 181 MB, against 886k of about 100; docs/benchmark.md, 2026-12-06). */
#define RANK_SQL(TABLE, COLS, TAIL, EARLIER)                                                       \
    "CREATE TEMP TABLE " TABLE " AS\n"                                                             \
    "WITH ranked AS NOT MATERIALIZED (SELECT * FROM run_held h WHERE NOT h.gone),\n"               \
    "later AS (SELECT w.body, w.eid, w.pos FROM (\n"                                               \
    "    SELECT h.body, h.eid, h.pos,\n"                                                           \
    "           row_number() OVER (PARTITION BY h.person, h.body,\n"                               \
    "                                CASE b.counting WHEN 'centre' THEN h.centre\n"                \
    "                                                WHEN 'regional' THEN rs.region END\n"         \
    "                              ORDER BY h.start_ymd, h.eid) AS n\n"                            \
    "      FROM ranked h JOIN run_body b ON b.body = h.body\n"                                     \
    "      LEFT JOIN run_src rs ON rs.src = h.src WHERE h.drug) w WHERE w.n > 1)\n"                \
    "SELECT " COLS ",\n"                                                                           \
    "       h.drug AND l.eid IS NULL AS entrant,\n"                                                \
    "       e.person IS NOT NULL AS earlier" TAIL "\n"                                             \
    "  FROM ranked h\n"                                                                            \
    "  LEFT JOIN later l ON l.body = h.body AND l.eid = h.eid AND l.pos IS NOT DISTINCT FROM "     \
    "h.pos\n"                                                                                      \
    "  LEFT JOIN " EARLIER " e ON e.person = h.person"

static const char rank_sql[] = RANK_SQL("run_rank",
                                        "h.body, h.pos, h.src, h.eid, h.ekey, h.fresh, h.changed, "
                                        "h.was_entrant, h.was_earlier",
                                        "", EARLIER_KEPT);

/* A first submission of the year (the served bodies hold nothing of it): every record read is
 * an append. run_held is then run_rec's rows for the served bodies as they are (a view: nothing
 * to write, nothing to analyse), the ranking goes straight into run_action, and run_rank is a
 * view over that: two table writes and an ANALYZE less, the same rows in each (200k episodes,
 * statement time 973 -> 517 ms, the run's server CPU 4.00 -> 3.56 s: docs/benchmark.md). */
static const char first_held_sql[] =
    "CREATE TEMP VIEW run_held AS\n"
    "SELECT r.body, r.pos, r.src, r.eid, r.ekey, r.person, r.centre, r.start_ymd, r.drug,\n"
    "       true AS fresh, true AS changed, NULL::boolean AS was_entrant,\n"
    "       NULL::boolean AS was_earlier, false AS gone, r.qi, r.sens, NULL::bytea AS was_person,\n"
    "       NULL::text AS was_qi, NULL::text AS was_sens, r.hash, r.status\n"
    "  FROM tdi.run_rec r JOIN run_body b ON b.body = r.body WHERE b.served";
/* run_action of a first submission carries what the commit writes to tdi.sent (after
 * was_entrant), so that the commit reads it alone instead of joining run_rec twice (sent_first_sql,
 * st_commit.c; docs/benchmark.md, 2026-12-05: the first run's commit). */
static const char first_action_sql[] =
    RANK_SQL("run_action", "h.body, h.pos, h.src, h.eid, h.ekey, 'a'::text AS action",
             ", h.was_entrant, h.hash, h.person, h.centre, h.start_ymd, h.status, h.drug, h.qi, "
             "h.sens",
             EARLIER_LOOKED_UP);
static const char first_rank_sql[] =
    "CREATE TEMP VIEW run_rank AS\n"
    "SELECT body, pos, src, eid, ekey, true AS fresh, true AS changed,\n"
    "       NULL::boolean AS was_entrant, NULL::boolean AS was_earlier, entrant, earlier\n"
    "  FROM run_action";

static const char action_sql[] =
    "CREATE TEMP TABLE run_action AS\n"
    "SELECT body, pos, src, eid, ekey, 'd'::text AS action, NULL::boolean AS entrant,\n"
    "       NULL::boolean AS earlier, was_entrant\n"
    "  FROM run_held WHERE gone\n"
    "UNION ALL\n"
    "SELECT body, pos, src, eid, ekey,\n"
    "       CASE WHEN pos IS NULL THEN 'f' WHEN fresh THEN 'a' ELSE 'r' END, entrant, earlier,\n"
    "       was_entrant\n"
    "  FROM run_rank\n"
    " WHERE (pos IS NOT NULL AND (fresh OR changed))\n"
    "    OR entrant IS DISTINCT FROM was_entrant OR earlier IS DISTINCT FROM was_earlier";

/* R018 per source: rows read that say "never previously treated" of a person with a start in
 * an earlier year (the rule's other half is transform_history()), from the ranking. */
#define R018_SQL(GATE)                                                                             \
    "SELECT r.src, count(DISTINCT r.eid) FROM run_rank k JOIN tdi.run_rec r ON r.pos = k.pos\n"    \
    " WHERE k.earlier AND r.status = '1'" GATE " GROUP BY r.src"
static const char r018_sql[] = R018_SQL("");
/* The same for a first submission, whose earlier flags come from the person years of earlier
 * years alone (EARLIER_LOOKED_UP): with none ($1: the year), as in a register's first year,
 * nobody is earlier and the ranking is not read (1M: 0.12 s of server CPU). */
static const char r018_first_sql[] =
    R018_SQL("\n   AND EXISTS (SELECT 1 FROM tdi.person_year p WHERE p.year < $1 AND p.n > 0)");

/* The episodes whose counting changed unread ('f') were read again: their records (run_rec from
 * position $1 on, the served bodies') against what the served bodies were sent of those episodes
 * (year $2): the records that differ, or have no row sent, or a row sent none; plus any repeated
 * (body, episode). A record as sent takes, in the pass computed again, the place of its row as
 * sent in run_held with the same ranking inputs (person, centre, start, drug, source), the same
 * content hash (so no replace where no flag changed), key (the file's order) and tuples (the
 * check), and its person is one the pass touched ($3: or the whole year was ranked), so the
 * ranking, the touched persons and what is gone come out the same. The rows sent are found by
 * (body, year, key), tdi.sent's primary key. */
static const char reread_differ_sql[] =
    "WITH f AS (SELECT DISTINCT src, eid FROM run_action WHERE action = 'f'),\n"
    "rr AS (SELECT r.* FROM tdi.run_rec r JOIN run_body b ON b.body = r.body AND b.served\n"
    "        WHERE r.pos >= $1::bigint),\n"
    "sent AS (SELECT b.body, rs.src, s.eid, s.ekey, s.hash, s.person, s.centre, s.start_ymd,\n"
    "                s.drug, s.qi, s.sens\n"
    "           FROM f JOIN run_src rs ON rs.src = f.src CROSS JOIN run_body b\n"
    "           JOIN tdi.sent s ON s.body = b.name AND s.year = $2::integer AND s.eid = f.eid\n"
    "          WHERE b.served AND s.source = rs.name)\n"
    "SELECT (SELECT count(*) FROM rr FULL JOIN sent s\n"
    "            ON s.body = rr.body AND s.src = rr.src AND s.eid = rr.eid\n"
    "         WHERE rr.pos IS NULL OR s.eid IS NULL\n"
    "            OR (rr.ekey, rr.hash, rr.person, rr.centre, rr.start_ymd, rr.drug, rr.qi, "
    "rr.sens)\n"
    "               IS DISTINCT FROM\n"
    "               (s.ekey, s.hash, s.person, s.centre, s.start_ymd, s.drug, s.qi, s.sens)\n"
    "            OR NOT ($3::boolean OR EXISTS (SELECT 1 FROM run_touched t\n"
    "                                            WHERE t.person = rr.person)))\n"
    "     + (SELECT count(*) - count(DISTINCT (body, eid)) FROM rr)";

/* The patch when none differs: each record read again in place of its row as sent in run_held
 * (read now: its position, and its person and tuples as sent, which are its own) and run_rank,
 * and each 'f' a replace of it, with the flags the pass found. What the pass computed again
 * would hold, row for row. */
static const char reread_patch_sql[] =
    "WITH rr AS (SELECT r.body, r.eid, r.pos FROM tdi.run_rec r\n"
    "             JOIN run_body b ON b.body = r.body AND b.served WHERE r.pos >= $1::bigint),\n"
    "h AS (UPDATE run_held h SET pos = rr.pos, was_person = h.person, was_qi = h.qi,\n"
    "                            was_sens = h.sens\n"
    "        FROM rr WHERE h.body = rr.body AND h.eid = rr.eid AND h.pos IS NULL AND NOT h.gone),\n"
    "k AS (UPDATE run_rank k SET pos = rr.pos\n"
    "        FROM rr WHERE k.body = rr.body AND k.eid = rr.eid AND k.pos IS NULL)\n"
    "UPDATE run_action a SET action = 'r', pos = rr.pos\n"
    "  FROM rr WHERE a.action = 'f' AND a.body = rr.body AND a.eid = rr.eid";

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

/* A text array literal (st_array_literal) of the string at offset in each of n items of size
 * bytes; names: room for n pointers. */
static char *text_array(const char **names, size_t n, const void *items, size_t size, size_t offset)
{
    for (size_t i = 0; i < n; i++)
        names[i] = *(const char *const *)((const char *)items + i * size + offset);
    return st_array_literal(names, n);
}

/* Per source from a two-column result (src, number) of sql, which takes the pass's year as $1
 * when by_year: flags (number > 0) and/or counts. */
static tdi_status per_source(state_db *st, const char *what, const char *sql, int by_year,
                             size_t nsources, unsigned char *flags, unsigned long *counts)
{
    char ystr[16];
    const char *yp[1] = {ystr};
    PGresult *res = NULL;
    tdi_status s;

    snprintf(ystr, sizeof ystr, "%d", st->year);
    s = st_query(st, what, sql, by_year ? 1 : 0, yp, PGRES_TUPLES_OK, &res);

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

void st_set_count(state_counts *c, const char *action, unsigned long n)
{
    if (*action == 'a')
        c->appends = n;
    else if (*action == 'r')
        c->replaces = n;
    else if (*action == 'd')
        c->deletes = n;
}

/* The pass's run_src and run_body from the config's sources and bodies (by index), after the
 * last pass's tables are dropped: a second pass (after a source was read again) starts from the
 * run's tables. TDI_ERR_INTERNAL (not logged) when out of memory. */
static tdi_status pass_inputs(state_db *st, const state_source_in *sources, size_t nsources,
                              const state_body_in *bodies, size_t nbodies)
{
    const char **names = calloc(nsources + nbodies + 1, sizeof *names);
    char *snames = NULL, *bnames = NULL, *sok = NULL, *sfull = NULL, *bserved = NULL,
         *bcounting = NULL, *sregions = NULL;
    tdi_status s = TDI_ERR_INTERNAL;

    if (!names)
        goto done;
    sok = bool_array(nsources, sources, sizeof *sources, offsetof(state_source_in, ok));
    sfull = bool_array(nsources, sources, sizeof *sources, offsetof(state_source_in, full_read));
    bserved = bool_array(nbodies, bodies, sizeof *bodies, offsetof(state_body_in, served));
    snames = text_array(names, nsources, sources, sizeof *sources, offsetof(state_source_in, name));
    sregions =
        text_array(names, nsources, sources, sizeof *sources, offsetof(state_source_in, region));
    bnames = text_array(names, nbodies, bodies, sizeof *bodies, offsetof(state_body_in, name));
    bcounting =
        text_array(names, nbodies, bodies, sizeof *bodies, offsetof(state_body_in, counting));
    if (!snames || !sregions || !bnames || !bcounting || !sok || !sfull || !bserved)
        goto done;
    s = !st->passes
            ? TDI_OK
            : st_command(
                  st, "clearing the last pass",
                  st->first
                      ? "DROP VIEW IF EXISTS run_rank, run_held; DROP TABLE IF EXISTS run_action, "
                        "run_touched, run_gone; TRUNCATE run_src, run_body"
                      : "DROP TABLE IF EXISTS run_action, run_rank, run_held, "
                        "run_touched, run_gone; TRUNCATE run_src, run_body",
                  0, NULL);
    if (s == TDI_OK)
        s = st_command(st, "recording the run's sources",
                       "INSERT INTO run_src SELECT n - 1, name, region, ok, full_read FROM "
                       "unnest($1::text[], $2::text[], $3::boolean[], $4::boolean[]) WITH "
                       "ORDINALITY AS u(name, region, ok, full_read, n)",
                       4, (const char *[]){snames, sregions, sok, sfull});
    if (s == TDI_OK)
        s = st_command(st, "recording the run's bodies",
                       "INSERT INTO run_body SELECT n - 1, name, served, counting FROM "
                       "unnest($1::text[], $2::boolean[], $3::text[]) WITH ORDINALITY AS "
                       "u(name, served, counting, n)",
                       3, (const char *[]){bnames, bserved, bcounting});
done:
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

/* tdi.sent's table of a year (migration 11: one per year, so that a run reads one year only;
 * docs/benchmark.md, 2026-12-05: the nightly run independent of history). */
#define SENT_YEAR_TABLE "sent_%d"

/* The year's table analysed when its statistics no longer describe a served body's rows. Its
 * rows of a body arrive in bulk, one run after another (a first submission, then the next run
 * minutes later, or the first nights of a year), sooner than autovacuum looks, and without
 * their statistics the planner takes a body's year for one row: the held statement then runs
 * its anti join as a nested loop over every record of the run, quadratic when a source is read
 * in full (a re-read at 20k: 82 s; with the statistics 2.3 s). So per served body holding rows
 * of the year (body_sequence.episodes, kept by the commit): the rows the planner expects for it
 * (the table's rows times the share of its body among the most common values: none when it is
 * missing, as for a new body's first rows, or the table was never analysed) must be within 10%
 * of what it holds, and the rows changed since the last analysis under 10% of what it holds;
 * else ANALYZE of that year's table ('year': a fixed-size sample; earlier years are not read).
 * The planner estimates a join of tdi.sent (the pass joins it with run_body by the body's name)
 * by the statistics of all years together, which only ANALYZE tdi.sent makes (autovacuum never
 * does), sampling every year's table and analysing each again: without them it took the night's
 * year of 200k for 963 rows and scanned it for a branch that reads nothing (run_gone: 215 -> 338
 * ms). So when a served body holding rows of the year is not among those statistics' bodies (a
 * new database's second run, a new body's), 'all'. A body's first run of a year holds nothing
 * yet: nothing to estimate. $2: the year's table. */
static const char stale_sql[] =
    "WITH share AS (SELECT st.tablename, u.v, u.f FROM pg_stats st,\n"
    "                 unnest(st.most_common_vals::text::text[], st.most_common_freqs) u(v, f)\n"
    "               WHERE st.schemaname = 'tdi' AND st.tablename IN ('sent', $2)\n"
    "                 AND st.attname = 'body'),\n"
    "tab AS (SELECT c.reltuples, coalesce(t.n_mod_since_analyze, 0) AS n_mod\n"
    "          FROM pg_class c LEFT JOIN pg_stat_user_tables t ON t.relid = c.oid\n"
    "         WHERE c.oid = to_regclass('tdi.' || quote_ident($2)))\n"
    "SELECT CASE WHEN bool_or(pb.v IS NULL) THEN 'all'\n"
    "            WHEN bool_or(abs(tab.reltuples * coalesce(fb.f, 0) - q.episodes) > 0.1 * "
    "q.episodes\n"
    "                         OR tab.n_mod > 0.1 * q.episodes) THEN 'year' ELSE 'none' END\n"
    "  FROM run_body b JOIN tdi.body_sequence q ON q.body = b.name AND q.year = $1\n"
    "  CROSS JOIN tab\n"
    "  LEFT JOIN share fb ON fb.tablename = $2 AND fb.v = b.name\n"
    "  LEFT JOIN share pb ON pb.tablename = 'sent' AND pb.v = b.name\n"
    " WHERE b.served AND q.episodes > 0";

static tdi_status sent_statistics(state_db *st, int year, const char *const *yp)
{
    char stale[8] = "", table[32], sql[64];
    tdi_status s;

    snprintf(table, sizeof table, SENT_YEAR_TABLE, year);
    s = st_query_value(st, "looking at the statistics of what was sent", stale_sql, 2,
                       (const char *[]){yp[0], table}, stale, sizeof stale, NULL);
    if (s == TDI_OK && strcmp(stale, "all") == 0) {
        tdi_debug(WHO ": analysing what was sent (a served body is not in the statistics of all "
                      "years)");
        s = st_command(st, "analysing what was sent", "ANALYZE tdi.sent", 0, NULL);
    } else if (s == TDI_OK && strcmp(stale, "year") == 0) {
        tdi_debug(WHO ": analysing what was sent (a served body's year is not in its statistics)");
        snprintf(sql, sizeof sql, "ANALYZE tdi.\"" SENT_YEAR_TABLE "\"", year);
        s = st_command(st, "analysing what was sent", sql, 0, NULL);
    } else if (s == TDI_OK)
        tdi_debug(WHO ": the statistics of what was sent still hold");
    return s;
}

/* The year's tables of tdi.sent and tdi.person_year (migration 12), made when the served bodies
 * hold nothing of the year (its first rows may follow; earlier, nothing of the year is held). In
 * a statement of its own, before the commit: making a partition locks the table against every
 * reader until its transaction ends. */
static tdi_status sent_year_table(state_db *st, const char *const *yp)
{
    char done[8];

    return st_query_value(st, "making the year's table of what was sent",
                          "SELECT tdi.sent_year_table($1::integer)", 1, yp, done, sizeof done,
                          NULL);
}

/* The pass of a first submission of the year (first_held_sql), at ST_FIRST_SETTINGS from here to
 * the end of the run (its commit). */
static tdi_status pass_first(state_db *st, const char *const *yp)
{
    tdi_status s = st_command(st, "setting up a first submission", ST_FIRST_SETTINGS, 0, NULL);

    if (s == TDI_OK)
        s = st_command(st, "computing what the bodies hold", first_held_sql, 0, NULL);

    if (s == TDI_OK)
        s = st_beside_rank(st, "ranking the treatment demands", first_action_sql, 1, yp);
    if (s == TDI_OK)
        s = st_command(st, "computing the actions", first_rank_sql, 0, NULL);
    return s;
}

/* The year's index by person (migration 15), made by the first pass that wants it. */
static tdi_status person_index(state_db *st, const char *const *yp)
{
    char made[8] = "";
    tdi_status s =
        st_query_value(st, "indexing the year's rows sent by person",
                       "SELECT tdi.sent_person_index($1::integer)", 1, yp, made, sizeof made, NULL);

    if (s == TDI_OK && strcmp(made, "t") == 0)
        tdi_debug(WHO ": the year's rows sent indexed by person (its first pass with very few "
                      "records)");
    return s;
}

/* persons: the records read are very few beside what the bodies hold (few_sql). */
static tdi_status pass_general(state_db *st, const char *ystr, const char *whole, int persons)
{
    const char *yp[1] = {ystr};
    tdi_status s = persons ? person_index(st, yp) : TDI_OK;

    if (s == TDI_OK && persons)
        s = st_command(st, "computing what the bodies hold", held_probe_sql, 1, yp);
    else if (s == TDI_OK)
        s = st_command(st, "computing what the bodies hold", held_sql, 2,
                       (const char *[]){ystr, whole});

    if (s == TDI_OK)
        s = st_command(st, "analysing what the bodies hold",
                       "ANALYZE run_held (body, src, eid, person, gone, qi)", 0, NULL);
    if (s == TDI_OK)
        s = st_command(st, "ranking the treatment demands", rank_sql, 2,
                       (const char *[]){ystr, whole});
    if (s == TDI_OK)
        s = st_command(st, "computing the actions", action_sql, 0, NULL);
    return s;
}

/* The pass's statements for year (st_gone(), touched_sql unless the whole year is ranked,
 * held_sql, rank_sql, action_sql; pass_first's when the served bodies hold nothing of the year);
 * st->year, st->whole and st->first for the check and the next pass. */
static tdi_status pass_compute(state_db *st, int year)
{
    char ystr[16], whole[8] = "t", first[8] = "f", few[8] = "scan";
    const char *yp[1] = {ystr};
    tdi_status s = TDI_OK;

    snprintf(ystr, sizeof ystr, "%d", year);
    /* What was sent does not change between the passes of a run. */
    if (!st->passes)
        s = sent_statistics(st, year, yp);
    /* Temporary tables are never analysed by autovacuum: without this the planner guesses
     * their size, badly at a million rows. Only the columns the pass and the check join, filter
     * or group on: the size comes with any column, and the statistics of the tuples, hashes and
     * keys read for output cost as much again (200k: 200 -> 95 ms). */
    if (s == TDI_OK)
        s = st_command(st, "analysing the run's tables",
                       "ANALYZE tdi.run_rec (pos, src, body, eid, person, drug, cont, status), "
                       "run_seen, run_present, run_src, run_body, run_bucket",
                       0, NULL);
    if (s == TDI_OK)
        s = st_query_value(st, "finding what the ranking covers", whole_sql, 1, yp, whole,
                           sizeof whole, NULL);
    if (s == TDI_OK)
        s = st_query_value(st, "finding whether the bodies hold anything of the year", first_sql, 1,
                           yp, first, sizeof first, NULL);
    /* Nothing held of the year: every record is an append, the whole year is ranked. */
    st->first = s == TDI_OK && strcmp(first, "t") == 0;
    if (st->first) {
        tdi_debug("delta: a first submission of %d: the bodies hold nothing of it", year);
        strcpy(whole, "t");
        if (!st->passes)
            s = sent_year_table(st, yp);
    }
    st->year = year;
    st->whole = strcmp(whole, "t") == 0;
    if (s == TDI_OK)
        s = st_gone(st, yp);
    st->passes += s == TDI_OK;
    if (s == TDI_OK && !st->whole)
        s = st_query_value(st, "comparing the records read with what is held", few_sql, 1, yp, few,
                           sizeof few, NULL);
    if (s == TDI_OK && strcmp(few, "scan") != 0)
        tdi_debug("delta: few records read beside what the bodies hold: the persons as sent "
                  "looked up by key%s",
                  strcmp(few, "persons") == 0 ? ", their other rows by person" : "");
    /* Made (empty) on a whole-year pass too: run_held and the check name it. */
    if (s == TDI_OK)
        s = st_command(st, "finding the persons the run touches",
                       st->whole                  ? "CREATE TEMP TABLE run_touched AS SELECT "
                                                    "NULL::bytea AS person WHERE false"
                       : strcmp(few, "scan") != 0 ? touched_probe_sql
                                                  : touched_sql,
                       st->whole ? 0 : 1, yp);
    if (s == TDI_OK)
        s = st_command(st, "analysing the persons the run touches", "ANALYZE run_touched, run_gone",
                       0, NULL);
    if (s == TDI_OK && st->first)
        s = pass_first(st, yp);
    else if (s == TDI_OK)
        s = pass_general(st, ystr, whole, strcmp(few, "persons") == 0);
    /* The commit joins run_action with run_src: unanalysed, its rows of a body were guessed at a
     * handful, and with 100 sources the join became a nested loop over all of them (1M records:
     * 17 s; docs/benchmark.md). Its size and these few columns' values need no large sample:
     * 3,000 rows, not the default 30,000, which read every page of a million (0.15 -> 0.02 s). */
    if (s == TDI_OK)
        s = st_command(st, "analysing the actions",
                       "SET default_statistics_target = 10; "
                       "ANALYZE run_action (body, action, src, pos); "
                       "RESET default_statistics_target",
                       0, NULL);
    return s;
}

int state_first(const state_db *st)
{
    return st && st->passes && st->first;
}

/* counts[b] (of nbodies) from run_action. */
static tdi_status count_actions(state_db *st, size_t nbodies, state_counts *counts)
{
    PGresult *res = NULL;
    tdi_status s = st_query(st, "counting the actions",
                            "SELECT body, action, count(*) FROM run_action GROUP BY body, action",
                            0, NULL, PGRES_TUPLES_OK, &res);

    for (int i = 0; s == TDI_OK && i < PQntuples(res); i++) {
        long b = strtol(PQgetvalue(res, i, 0), NULL, 10);
        const char *action = PQgetvalue(res, i, 1);
        unsigned long n = strtoul(PQgetvalue(res, i, 2), NULL, 10);

        if (b < 0 || (size_t)b >= nbodies)
            continue;
        st_set_count(&counts[b], action, n);
    }
    PQclear(res);
    return s;
}

tdi_status state_actions(state_db *st, int year, const state_source_in *sources, size_t nsources,
                         const state_body_in *bodies, size_t nbodies, state_counts *counts,
                         unsigned char *reread, unsigned long *r018)
{
    tdi_status s;

    memset(counts, 0, nbodies * sizeof *counts);
    memset(reread, 0, nsources);
    memset(r018, 0, nsources * sizeof *r018);
    s = pass_inputs(st, sources, nsources, bodies, nbodies);
    if (s == TDI_OK)
        s = pass_compute(st, year);
    if (s == TDI_OK && !st_beside_counts(st, nbodies, counts))
        s = count_actions(st, nbodies, counts);
    /* A first submission's actions are all appends (first_action_sql): no 'f' to look for. */
    if (s == TDI_OK && !st->first)
        s = per_source(st, "finding episodes whose counting changed unread",
                       "SELECT src, count(*) FROM run_action WHERE action = 'f' GROUP BY src", 0,
                       nsources, reread, NULL);
    if (s == TDI_OK)
        s = per_source(st, "counting rule R018", st->first ? r018_first_sql : r018_sql, st->first,
                       nsources, NULL, r018);
    if (s == TDI_ERR_INTERNAL)
        tdi_error(WHO ": out of memory");
    return s;
}

tdi_status state_actions_patch(state_db *st, uint64_t from, size_t nsources, size_t nbodies,
                               state_counts *counts, unsigned char *reread, unsigned long *r018,
                               int *patched, unsigned long *differ)
{
    char fstr[32], ystr[16], n[32] = "";
    const char *params[3] = {fstr, ystr, st->whole ? "t" : "f"};
    tdi_status s;

    *patched = 0;
    *differ = 0;
    /* A first submission's pass holds nothing as sent: it has no episode to read again. */
    if (!st->passes || st->first)
        return TDI_OK;
    snprintf(fstr, sizeof fstr, "%" PRIu64, from);
    snprintf(ystr, sizeof ystr, "%d", st->year);
    /* The statistics of run_rec are the pass's, from before the records read again: the planner
     * took them for no row and patched run_held row by row for each (200k held, 1,449 read again:
     * 22 s). */
    s = st_command(st, "analysing the records read again", "ANALYZE tdi.run_rec (pos, body, eid)",
                   0, NULL);
    if (s == TDI_OK)
        s = st_query_value(st, "comparing the episodes read again with what was sent",
                           reread_differ_sql, 3, params, n, sizeof n, NULL);
    *differ = strtoul(n, NULL, 10);
    if (s != TDI_OK || *differ > 0)
        return s;
    s = st_command(st, "patching the actions with the episodes read again", reread_patch_sql, 1,
                   params);
    memset(counts, 0, nbodies * sizeof *counts);
    memset(reread, 0, nsources);
    memset(r018, 0, nsources * sizeof *r018);
    if (s == TDI_OK && !st_beside_counts(st, nbodies, counts))
        s = count_actions(st, nbodies, counts);
    if (s == TDI_OK)
        s = per_source(st, "counting rule R018", r018_sql, 0, nsources, NULL, r018);
    *patched = s == TDI_OK;
    return s;
}
