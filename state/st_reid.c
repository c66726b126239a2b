/*
 * st_reid: the re-identification check's grouping, and the bookkeeping of a body's blanking.
 *
 * Owns the statement that groups what a body holds after this run's actions by the
 * quasi-identifiers a blanking keeps (README.md, "Re-identification check"), the blanking
 * recorded per body and year, and turning every record of a body into a replace when its
 * blanking changes. Which tuple positions exist and which blanking to try is disclosure/'s.
 */
#include "st_int.h"

#include "../common/tdi_log.h"
#include "../disclosure/disclosure.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The records body b (parameter B) holds after this run with their tuples: this run's, the
 * others as they were sent. run_held lists the touched persons' records (st_pass.c), or every
 * record when W (the whole year was ranked); the untouched persons' records are then as sent,
 * read from tdi.sent for year Y. Read twice (the records without a tuple are counted apart): a
 * scan costs less than writing it again as a CTE. */
#define REID_HOLD(B, Y, W)                                                                         \
    "WITH hold AS NOT MATERIALIZED (\n"                                                            \
    "    SELECT person, qi, sens FROM run_held WHERE body = " B " AND NOT gone\n"                  \
    "    UNION ALL\n"                                                                              \
    "    SELECT coalesce(s.person, s.eid), s.qi, s.sens\n"                                         \
    "      FROM tdi.sent s JOIN run_body b ON b.name = s.body\n"                                   \
    "     WHERE NOT " W " AND b.body = " B " AND s.year = " Y "\n"                                 \
    "       AND NOT EXISTS (SELECT 1 FROM run_touched t\n"                                         \
    "                        WHERE t.person = coalesce(s.person, s.eid)))\n"

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
static const char reid_sql[] = REID_HOLD(
    "$1", "$7",
    "$8") ", q AS (\n"
          "    SELECT person%s,\n"
          "           1::bigint << (array_position($3::text[], split_part(sens, '|', 1)) - 1) AS "
          "s1,\n"
          "           1::bigint << (array_position($4::text[], split_part(sens, '|', 2)) - 1) AS "
          "s2,\n"
          "           1::bigint << (array_position($5::text[], split_part(sens, '|', 3)) - 1) AS "
          "s3,\n"
          "           1::bigint << (array_position($6::text[], split_part(sens, '|', 4)) - 1) AS "
          "s4\n"
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

/* Builds reid_sql for masks[0..nmasks-1] into sql (of len) and gs[m], the gs value of mask m's
 * rows; 0 when a mask is out of range or the statement does not fit. The keys and grouping sets
 * come from our masks only: the statement is built from constants. */
static int reid_build(const unsigned *masks, size_t nmasks, char *sql, size_t len, unsigned *gs)
{
    char keys[3072] = "", sets[256] = "", grouping[256] = "0";
    size_t kused = 0, sused = 0, gused = 0, nkeys = 0;
    int fits = 1;

    for (size_t m = 0; m < nmasks; m++) {
        if (masks[m] >> REID_COLUMNS)
            return 0;
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
        return 0;
    for (size_t m = 0, k = 0; m < nmasks; m++) {
        unsigned ones = (1u << nkeys) - 1;
        gs[m] = !masks[m] ? ones : ones & ~(1u << (nkeys - 1 - k++));
    }
    snprintf(sql, len, reid_sql, keys, grouping, sets);
    return 1;
}

/* The figures of reid_sql's rows into out[m] (the row whose gs is gs[m]); *legacy: the records
 * without a tuple. */
static void reid_figures(const PGresult *res, const unsigned *gs, size_t nmasks, state_reid *out,
                         unsigned long *legacy)
{
    for (int r = 0; r < PQntuples(res); r++) {
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
}

/* The figures of masks[0..nmasks-1] in one statement (reid_sql); *legacy: the records without a
 * tuple. A mask of nothing groups all records as one (the empty grouping set, no key). */
static tdi_status reid_groupings(state_db *st, int b, const unsigned *masks, size_t nmasks,
                                 int k_min, state_reid *out, unsigned long *legacy)
{
    char sql[sizeof reid_sql + 4096], bstr[16], kstr[16], ystr[16];
    const char *params[8] = {bstr, kstr, NULL, NULL, NULL, NULL, ystr, st->whole ? "t" : "f"};
    char *codes[DC_QI_NSENSITIVE] = {NULL};
    unsigned gs[TDI_QI_COUNT + 1];
    PGresult *res = NULL;
    tdi_status s = TDI_ERR_INTERNAL;

    *legacy = 0;
    if (nmasks > sizeof gs / sizeof gs[0] || !reid_build(masks, nmasks, sql, sizeof sql, gs))
        goto done;
    for (int i = 0; i < DC_QI_NSENSITIVE; i++) {
        const tdi_item_def *def = tdi_item_get(dc_qi_sensitive[i]);
        const char *list[64];

        if (def->ncodes > 63)
            goto done; /* one bit a code */
        for (size_t c = 0; c < def->ncodes; c++)
            list[c] = def->codes[c].code;
        codes[i] = st_array_literal(list, def->ncodes);
        if (!codes[i])
            goto done;
        params[2 + i] = codes[i];
    }
    snprintf(bstr, sizeof bstr, "%d", b);
    snprintf(kstr, sizeof kstr, "%d", k_min);
    snprintf(ystr, sizeof ystr, "%d", st->year);
    s = st_query(st, "grouping the records by their quasi-identifiers", sql, 8, params,
                 PGRES_TUPLES_OK, &res);
    if (s == TDI_OK)
        reid_figures(res, gs, nmasks, out, legacy);
    /* No row for a grouping: the body holds nothing. The records without a tuple are the same
     * for every grouping; with no row at all, they are counted apart. */
    if (s == TDI_OK && PQntuples(res) == 0) {
        char value[32];
        const char *p1[3] = {bstr, ystr, params[7]};

        PQclear(res);
        res = NULL;
        s = st_query_value(st, "counting the records without quasi-identifiers",
                           REID_HOLD("$1", "$2", "$3") "SELECT count(*) FROM hold WHERE qi IS NULL",
                           3, p1, value, sizeof value, NULL);
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

/* ---- the groups kept between runs (schema 9) ----
 *
 * The first grouping (the blanking the body's files have, or the least) is not grouped from
 * every record the body holds when the state database keeps its groups (tdi.reid_group, per body
 * and year, of the grouping tdi.reid_kept names) and the pass listed only the touched persons'
 * records: the groups those persons' records are in, before and after this run, are moved (their
 * records, their persons, their sensitive codes), and the figures are taken over the kept groups
 * with these in their place. A group's size is its persons: every record of a touched person is
 * in run_held (st_pass.c), as this run leaves it and as sent (was_person, was_qi, was_sens for a
 * record read now; the row as sent otherwise), so per group and person whether it was there and
 * whether it is says how the group's persons change. Otherwise (no groups kept, another grouping,
 * a whole-year pass) the first grouping is made from every record, per group. Either way the
 * groups found go to run_reid_g (and their codes to run_reid_v), which the commit makes the kept
 * ones (st_reid_commit()). The figures are those of reid_sql over the same groups. */

/* Per group: its distinct codes of each sensitive item (NULL for none, as reid_sql's bit_or). */
#define D_COUNTS                                                                                   \
    "SELECT g, nullif(count(*) FILTER (WHERE item = 1 AND n > 0), 0) AS d1,\n"                     \
    "       nullif(count(*) FILTER (WHERE item = 2 AND n > 0), 0) AS d2,\n"                        \
    "       nullif(count(*) FILTER (WHERE item = 3 AND n > 0), 0) AS d3,\n"                        \
    "       nullif(count(*) FILTER (WHERE item = 4 AND n > 0), 0) AS d4"

/* The codes of c's rows (g, sens, n) per group, item and code. */
#define CODES_OF_C                                                                                 \
    "SELECT x.g, i.i AS item, split_part(x.sens, '|', i.i) AS code, x.n\n"                         \
    "  FROM (SELECT g, sens, sum(n) AS n FROM c WHERE g IS NOT NULL GROUP BY 1, 2) x\n"            \
    "  CROSS JOIN generate_series(1, 4) i(i)"

/* Every group of body $1 from every record (hold); the records without a tuple as the group of
 * no key (g NULL). Its persons (p) and its codes (c) are two groupings of one scan of hold, as
 * grouping sets: (g, person), about a row a record, and (g, sens); the group key (%s, of qi) is
 * made once a record, not once a grouping (1M first run: the key's split_part()s were 0.4 s of
 * server CPU each time, the scan 0.1-0.3 s; docs/benchmark.md, 2026-12-06). Grouping (g, person)
 * then (g, person, sens) again by g would cost a second hash of a row a record (100 sources of
 * 10k, 947k persons: 4.4 -> 2.4 s); the rows of both sets are grouped once more, by (g, s, sens),
 * which leaves a row per group (s 1: its records and persons) and per group and codes (s 2).
 * The first set is written person first: it is sorted in that order, and a person's 16 bytes
 * tell two records apart at once where the group keys (6000 of them) are mostly equal (2M: the
 * sort 3.0 -> 0.9 s; docs/benchmark.md, 2026-12-06 09:00-09:40). */
static const char groups_all_sql[] =
    "%s, gs AS (\n"
    "    SELECT g, GROUPING(person, sens) AS s, sens, count(*) AS n\n"
    "      FROM (SELECT CASE WHEN qi IS NOT NULL THEN %s END AS g, person, sens\n"
    "              FROM hold) h\n"
    "     GROUP BY GROUPING SETS ((person, g), (g, sens))),\n"
    "a AS MATERIALIZED (SELECT g, s, sens, sum(n) AS n, count(*) AS p\n"
    "                     FROM gs GROUP BY 1, 2, 3),\n"
    "p AS (SELECT g, n, p FROM a WHERE s = 1),\n"
    "c AS (SELECT g, sens, n FROM a WHERE s = 2 AND g IS NOT NULL),\n"
    "v AS (SELECT g, item, code, sum(n) AS n FROM (" CODES_OF_C ") y\n"
    "       WHERE code <> '' GROUP BY 1, 2, 3),\n"
    "iv AS (INSERT INTO tdi.run_reid_v SELECT $1::integer, g, item, code, n FROM v),\n"
    "d AS (" D_COUNTS " FROM v GROUP BY g)\n"
    "INSERT INTO tdi.run_reid_g SELECT $1::integer, p.g, p.n, p.p, d.d1, d.d2, d.d3, d.d4\n"
    "  FROM p LEFT JOIN d ON d.g = p.g";

/* groups_all_sql's hold (its first %s): REID_HOLD, or on a first submission of the year (nothing
 * sent of it; run_held is then the served bodies' rows of run_rec, st_pass.c) the body's rows of
 * run_rec themselves, which a second connection can read (st_beside.c): the same records. */
static const char hold_general[] = REID_HOLD("$1", "$2", "$3");
static const char hold_first[] =
    "WITH hold AS NOT MATERIALIZED (SELECT person, qi, sens FROM tdi.run_rec WHERE body = $1)\n";

/* The groups of body $1 the touched persons' records are in, moved from the kept ones (year $2):
 * each record as this run leaves it +1, as sent -1; a record not read now and not gone is both
 * as sent and as left, one row of 0 (it was two that cancelled: 45k rows -> 30k a night of 2M
 * held). Per group, person and codes, a counts the rows as left, b the rows as sent. %s: the
 * group key of qi. */
static const char groups_moved_sql[] =
    "WITH chg AS (\n"
    "    SELECT person, qi, sens, 1 AS n FROM run_held\n"
    "     WHERE body = $1 AND pos IS NOT NULL AND NOT gone AND qi IS NOT NULL\n"
    "    UNION ALL\n"
    "    SELECT coalesce(was_person, eid), was_qi, was_sens, -1 FROM run_held\n"
    "     WHERE body = $1 AND pos IS NOT NULL AND NOT fresh AND was_qi IS NOT NULL\n"
    "    UNION ALL\n"
    "    SELECT person, qi, sens, CASE WHEN gone THEN -1 ELSE 0 END FROM run_held\n"
    "     WHERE body = $1 AND pos IS NULL AND qi IS NOT NULL),\n"
    "c AS MATERIALIZED (\n"
    "    SELECT %s AS g, person, sens, sum(n) AS n, count(*) FILTER (WHERE n >= 0) AS a,\n"
    "           count(*) FILTER (WHERE n <= 0) AS b\n"
    "      FROM chg GROUP BY 1, 2, 3),\n"
    "dg AS (SELECT g, sum(dn) AS dn, sum(dp) AS dp\n"
    "         FROM (SELECT g, sum(n) AS dn, sign(sum(a)) - sign(sum(b)) AS dp FROM c\n"
    "                GROUP BY g, person) x GROUP BY g),\n"
    "kept AS (SELECT s.* FROM tdi.reid_group s JOIN run_body b ON b.name = s.body\n"
    "          WHERE b.body = $1 AND s.year = $2 AND s.gkey IN (SELECT g FROM dg)),\n"
    "v AS (SELECT g, item, code, sum(n) AS n FROM (\n"
    "          SELECT s.gkey AS g, s.item, s.code, s.n\n"
    "            FROM tdi.reid_sens s JOIN run_body b ON b.name = s.body\n"
    "           WHERE b.body = $1 AND s.year = $2 AND s.gkey IN (SELECT g FROM dg)\n"
    "          UNION ALL " CODES_OF_C ") y\n"
    "        WHERE code <> '' GROUP BY 1, 2, 3),\n"
    "iv AS (INSERT INTO tdi.run_reid_v SELECT $1::integer, g, item, code, n FROM v),\n"
    "d AS (" D_COUNTS " FROM v GROUP BY g)\n"
    "INSERT INTO tdi.run_reid_g\n"
    "SELECT $1::integer, dg.g, coalesce(k.records, 0) + dg.dn, coalesce(k.persons, 0) + dg.dp,\n"
    "       d.d1, d.d2, d.d3, d.d4\n"
    "  FROM dg LEFT JOIN kept k ON k.gkey = dg.g LEFT JOIN d ON d.g = dg.g";

/* The figures (as reid_sql's) over the groups found (run_reid_g) and (%s: groups_kept_sql, unless
 * they are all) the kept groups not among them; the records without a tuple. $2: k_min. */
static const char groups_figures_sql[] =
    "WITH g AS (\n"
    "    SELECT n, p, d1, d2, d3, d4 FROM tdi.run_reid_g WHERE body = $1 AND g IS NOT NULL AND n > "
    "0\n"
    "%s)\n"
    "SELECT coalesce(sum(n), 0), count(*), coalesce(min(p), 0),\n"
    "       coalesce(sum(n) FILTER (WHERE p < $2), 0), coalesce(min(d1), 0), coalesce(min(d2), "
    "0),\n"
    "       coalesce(min(d3), 0), coalesce(min(d4), 0),\n"
    "       (SELECT coalesce(sum(n), 0) FROM tdi.run_reid_g WHERE body = $1 AND g IS NULL),\n"
    "       coalesce(sum(n::float8 / nullif(p, 0)) / nullif(sum(n), 0), 0)\n"
    "  FROM g";
/* The kept groups of year $3 not among those found. */
static const char groups_kept_sql[] =
    "    UNION ALL\n"
    "    SELECT s.records, s.persons, s.d1, s.d2, s.d3, s.d4\n"
    "      FROM tdi.reid_group s JOIN run_body b ON b.name = s.body\n"
    "     WHERE b.body = $1 AND s.year = $3\n"
    "       AND NOT EXISTS (SELECT 1 FROM tdi.run_reid_g r WHERE r.body = $1 AND r.g = s.gkey)";

/* The group key of mask over the tuple qi, into out (of len): its fields joined by '|' (as
 * reid_build's keys). 0 when mask is out of range. */
static int group_key(unsigned mask, char *out, size_t len)
{
    size_t used = 0;
    int fits = 1;

    if (mask >> REID_COLUMNS)
        return 0;
    if (!mask)
        return append(out, len, &used, "''::text");
    fits &= append(out, len, &used, "concat_ws('|'");
    for (int i = 0; i < REID_COLUMNS; i++)
        if (mask & 1u << i)
            fits &= append(out, len, &used, ", split_part(qi, '|', %d)", i + 1);
    return fits && append(out, len, &used, ")");
}

/* The check's tables for body b emptied, and a note of which grouping they will hold (mask),
 * all (rebuild) or the moved groups only. */
static tdi_status groups_start(state_db *st, int b, unsigned mask, int rebuild)
{
    char sql[512];
    tdi_status s;

    snprintf(
        sql, sizeof sql,
        "DELETE FROM tdi.run_reid_g WHERE body = %d; DELETE FROM tdi.run_reid_v WHERE body = %d; "
        "DELETE FROM tdi.run_reid_prep WHERE body = %d; "
        "INSERT INTO tdi.run_reid_prep VALUES (%d, %u, %s)",
        b, b, b, b, mask, rebuild ? "true" : "false");
    s = st_command(st, "starting the check's groups", sql, 0, NULL);
    st->reid_made |= s == TDI_OK;
    return s;
}

/* The figures of body b's groups in run_reid_g (with the kept ones unless rebuilt) into *out;
 * *legacy: the records without a tuple. */
static tdi_status groups_figures(state_db *st, int b, int k_min, int moved, state_reid *out,
                                 unsigned long *legacy)
{
    char bstr[16], kstr[16], ystr[16], sql[sizeof groups_figures_sql + sizeof groups_kept_sql];
    PGresult *res = NULL;
    tdi_status s;

    snprintf(bstr, sizeof bstr, "%d", b);
    snprintf(kstr, sizeof kstr, "%d", k_min);
    snprintf(ystr, sizeof ystr, "%d", st->year);
    snprintf(sql, sizeof sql, groups_figures_sql, moved ? groups_kept_sql : "");
    s = st_query(st, "taking the check's figures", sql, moved ? 3 : 2,
                 (const char *[]){bstr, kstr, ystr}, PGRES_TUPLES_OK, &res);
    if (s == TDI_OK && PQntuples(res) == 1) {
        unsigned long v[9];

        for (int i = 0; i < 9; i++)
            v[i] = strtoul(PQgetvalue(res, 0, i), NULL, 10);
        *out = (state_reid){.records = v[0], .groups = v[1], .k = v[2], .at_risk = v[3]};
        for (int i = 0; i < STATE_NSENSITIVE; i++)
            out->l[i] = v[4 + i];
        *legacy = v[8];
        out->average = strtod(PQgetvalue(res, 0, 9), NULL);
    }
    PQclear(res);
    return s;
}

tdi_status st_reid_first(state_db *st, int b, unsigned mask, int k_min, state_reid *out,
                         unsigned long *legacy)
{
    char bstr[16], ystr[16], kept[16] = "", key[512] = "";
    char sql[sizeof groups_moved_sql + sizeof groups_all_sql + sizeof hold_general + sizeof key];
    const char *params[3] = {bstr, ystr, st->whole ? "t" : "f"};
    int found = 0, moved;
    tdi_status s = TDI_OK;

    snprintf(bstr, sizeof bstr, "%d", b);
    snprintf(ystr, sizeof ystr, "%d", st->year);
    if (!group_key(mask, key, sizeof key)) {
        tdi_error(WHO ": the re-identification check cannot be built");
        return TDI_ERR_INTERNAL;
    }
    /* A whole-year pass groups every record: what is kept does not matter. */
    if (!st->whole)
        s = st_query_value(st, "reading the check's kept grouping",
                           "SELECT k.mask FROM tdi.reid_kept k JOIN run_body b ON b.name = k.body "
                           "WHERE b.body = $1 AND k.year = $2",
                           2, params, kept, sizeof kept, &found);
    moved = s == TDI_OK && !st->whole && found && strtoul(kept, NULL, 10) == mask;
    if (s == TDI_OK) {
        tdi_debug(WHO ": body %d grouped %s", b,
                  moved ? "from its kept groups and the run's changes" : "from every record");
        s = groups_start(st, b, mask, !moved);
    }
    if (moved)
        snprintf(sql, sizeof sql, groups_moved_sql, key);
    else
        snprintf(sql, sizeof sql, groups_all_sql, st->first ? hold_first : hold_general, key);
    if (s == TDI_OK)
        s = st_command(st, "grouping the records by their quasi-identifiers", sql,
                       moved       ? 2
                       : st->first ? 1
                                   : 3,
                       params);
    if (s == TDI_OK)
        s = groups_figures(st, b, k_min, moved, out, legacy);
    return s;
}

/* The first grouping alone (from the kept groups when it can), then (only when it falls short)
 * the others in one statement: a run mostly stops at the first, and each grouping costs a sort of
 * the persons in its groups (at a million records, the five of the default blank_order in one
 * statement took 8.8 s of server CPU). */
tdi_status state_reid_check(state_db *st, int b, const unsigned *masks, size_t nmasks, int k_min,
                            state_reid *out)
{
    unsigned long legacy = 0;
    size_t done = nmasks ? 1 : 0;
    tdi_status s = TDI_OK;

    memset(out, 0, nmasks * sizeof *out);
    if (nmasks)
        s = st_beside_take(st, b, masks[0], out, &legacy)
                ? TDI_OK
                : st_reid_first(st, b, masks[0], k_min, out, &legacy);
    if (s == TDI_OK && nmasks > 1 &&
        ((out[0].k < (unsigned long)k_min && out[0].records) || legacy)) {
        s = reid_groupings(st, b, masks + 1, nmasks - 1, k_min, out + 1, &legacy);
        done = nmasks;
    }
    for (size_t m = 0; m < done; m++)
        out[m].legacy = legacy;
    return s;
}

tdi_status st_reid_commit(state_db *st, int b, const char *body, int year, unsigned mask)
{
    char bstr[16], ystr[16], mstr[16], rebuild[8] = "", legacy[8] = "f";
    const char *params[4] = {bstr, body, ystr, mstr};
    int found = 0;
    tdi_status s = TDI_OK;

    snprintf(bstr, sizeof bstr, "%d", b);
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(mstr, sizeof mstr, "%u", mask);
    if (st->reid_made)
        s = st_query_value(st, "reading the check's groups",
                           "SELECT rebuild FROM tdi.run_reid_prep WHERE body = $1 AND mask = $2", 2,
                           (const char *[]){bstr, mstr}, rebuild, sizeof rebuild, &found);
    /* Groups made from what the run holds equal what tdi.sent holds after the commit unless a row
     * sent before schema 3 (no tuple) or 2 (no person) stays as it was: then none are kept. */
    if (s == TDI_OK && found && rebuild[0] == 't')
        s = st_query_value(st, "looking for rows sent without a tuple",
                           "SELECT EXISTS (SELECT 1 FROM tdi.sent WHERE body = $1 AND year = $2 "
                           "AND (person IS NULL OR qi IS NULL))",
                           2, params + 1, legacy, sizeof legacy, NULL);
    found &= legacy[0] != 't';
    if (s == TDI_OK && (!found || rebuild[0] == 't'))
        s = st_command(st, "dropping the check's kept groups",
                       "WITH g AS (DELETE FROM tdi.reid_group WHERE body = $1 AND year = $2), "
                       "v AS (DELETE FROM tdi.reid_sens WHERE body = $1 AND year = $2) "
                       "DELETE FROM tdi.reid_kept WHERE body = $1 AND year = $2",
                       2, params + 1);
    /* Temporary tables have no statistics unless analysed (autovacuum does not see them). */
    if (s == TDI_OK && found)
        s = st_command(st, "analysing the check's groups", "ANALYZE tdi.run_reid_g, tdi.run_reid_v",
                       0, NULL);
    if (s == TDI_OK && found)
        s = st_command(
            st, "keeping the check's groups",
            "WITH dg AS (DELETE FROM tdi.reid_group s WHERE s.body = $2 AND s.year = $3 AND "
            "s.gkey IN (SELECT g FROM tdi.run_reid_g WHERE body = $1 AND n <= 0)),\n"
            "ug AS (INSERT INTO tdi.reid_group (body, year, gkey, records, persons, d1, d2, d3, "
            "d4) "
            "SELECT $2, $3, g, n, p, d1, d2, d3, d4 FROM tdi.run_reid_g WHERE body = $1 AND g IS "
            "NOT "
            "NULL AND n > 0 ON CONFLICT (body, year, gkey) DO UPDATE SET records = "
            "EXCLUDED.records, persons = EXCLUDED.persons, d1 = EXCLUDED.d1, d2 = EXCLUDED.d2, "
            "d3 = EXCLUDED.d3, d4 = EXCLUDED.d4),\n"
            "dv AS (DELETE FROM tdi.reid_sens s WHERE s.body = $2 AND s.year = $3 AND (s.gkey, "
            "s.item, s.code) IN (SELECT g, item, code FROM tdi.run_reid_v WHERE body = $1 AND n <= "
            "0)),"
            "\n"
            "uv AS (INSERT INTO tdi.reid_sens (body, year, gkey, item, code, n) SELECT $2, $3, g, "
            "item, code, n FROM tdi.run_reid_v WHERE body = $1 AND n > 0 ON CONFLICT (body, year, "
            "gkey, item, code) DO UPDATE SET n = EXCLUDED.n)\n"
            "INSERT INTO tdi.reid_kept (body, year, mask) VALUES ($2, $3, $4) ON CONFLICT (body, "
            "year) DO UPDATE SET mask = EXCLUDED.mask",
            4, params);
    /* Rebuilt (a first run: from none to every group), the kept tables are analysed: with the
     * statistics of before, the next night's deletes took the year's groups for one row and ran
     * as nested loops (200k held: 0.73 s). */
    if (s == TDI_OK && found && rebuild[0] == 't')
        s = st_command(st, "analysing the check's kept groups",
                       "ANALYZE tdi.reid_group, tdi.reid_sens", 0, NULL);
    return s;
}

tdi_status state_blanked(state_db *st, const char *body, int year, char *out, size_t len,
                         int *found)
{
    return st_name_year_value(st, "reading the blanking",
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
    s = st_command(
        st, "turning every record into a replace",
        "INSERT INTO run_action (body, pos, src, eid, ekey, action, entrant, earlier) "
        "SELECT k.body, k.pos, k.src, k.eid, k.ekey, 'r', k.entrant, k.earlier "
        "FROM run_rank k WHERE k.body = $1 AND k.pos IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM run_action a WHERE a.body = $1 AND a.eid = k.eid)",
        1, params);
    if (s == TDI_OK)
        s = st_query(st, "counting the actions",
                     "SELECT action, count(*) FROM run_action WHERE body = $1 GROUP BY action", 1,
                     params, PGRES_TUPLES_OK, &res);
    if (s == TDI_OK) {
        memset(counts, 0, sizeof *counts);
        for (int i = 0; i < PQntuples(res); i++)
            st_set_count(counts, PQgetvalue(res, i, 0), strtoul(PQgetvalue(res, i, 1), NULL, 10));
    }
    PQclear(res);
    return s;
}
