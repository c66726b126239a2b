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

/* The first grouping alone, then (only when it falls short) the others in one statement: a
 * run mostly stops at the first, and each grouping costs a sort of the persons in its groups
 * (at a million records, the five of the default blank_order in one statement took 8.8 s of
 * server CPU). */
tdi_status state_reid_check(state_db *st, int b, const unsigned *masks, size_t nmasks, int k_min,
                            state_reid *out)
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
