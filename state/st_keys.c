/*
 * st_keys: the key scan's digest in the state database.
 *
 * Owns reading the digest an incremental source's last key scan left (tdi.source_state.keys,
 * migration 10) and keeping this run's in the run's tables: run_keyset (the digest, stored by
 * the commit with the watermark, and whether the key scan went to run_present in part) and
 * run_bucket (the key ranges whose buckets changed), and run_gone, the episodes gone (st_gone(),
 * which the pass of st_pass.c calls: it looks for deleted episodes only in those ranges); the
 * keys of the rows read now that no body holds, which the comparison leaves out
 * (state_keys_unheld()); lists of keys fetched (st_key_list()).
 * run/run_keys.c computes and compares the digests.
 */
#include "st_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tdi_status state_keys_last(state_db *st, const char *name, int year, const char *fingerprint,
                           unsigned char **out, size_t *len)
{
    char ystr[16];
    const char *params[3] = {name, ystr, fingerprint};
    PGresult *res = NULL;
    tdi_status s;

    *out = NULL;
    *len = 0;
    snprintf(ystr, sizeof ystr, "%d", year);
    /* Under another fingerprint the keys are other pseudonyms (or other rows): not comparable. */
    s = st_query(st, "reading the last key scan's digest",
                 "SELECT encode(keys, 'hex') FROM tdi.source_state WHERE source = $1 AND year = "
                 "$2 AND fingerprint = $3 AND keys IS NOT NULL",
                 3, params, PGRES_TUPLES_OK, &res);
    if (s == TDI_OK && PQntuples(res) > 0) {
        const char *hex = PQgetvalue(res, 0, 0);
        size_t n = strlen(hex) / 2;
        unsigned char *buf = n ? malloc(n) : NULL;
        /* not lowercase hex: not tdi's, compare every key */
        int ok = buf != NULL && tdi_hex_decode(buf, hex, 2 * n, 0);

        if (n && !buf) {
            tdi_error(WHO ": out of memory");
            s = TDI_ERR_INTERNAL;
        }
        if (ok) {
            *out = buf;
            *len = n;
        } else
            free(buf);
    }
    PQclear(res);
    return s;
}

tdi_status st_key_list(state_db *st, const char *what, const char *sql, int nparams,
                       const char *const *params, size_t max, char **keys, size_t *n)
{
    const char *p[6];
    char m[24];
    PGresult *res = NULL;
    tdi_status rc;

    *keys = NULL;
    *n = 0;
    if (nparams < 0 || nparams > 5) {
        tdi_error(WHO ": %s: %d parameters", what, nparams);
        return TDI_ERR_INTERNAL;
    }
    memcpy(p, params, (size_t)nparams * sizeof *p);
    snprintf(m, sizeof m, "%zu", max + 1); /* at most max + 1 rows fetched */
    p[nparams] = m;
    rc = st_query(st, what, sql, nparams + 1, p, PGRES_TUPLES_OK, &res);
    if (rc == TDI_OK) {
        size_t rows = (size_t)PQntuples(res);

        *n = rows;
        if (rows > 0 && rows <= max) {
            *keys = calloc(rows, STATE_KEY_WIDTH);
            if (!*keys) {
                tdi_error(WHO ": out of memory");
                rc = TDI_ERR_INTERNAL;
            }
        }
        for (size_t i = 0; *keys && i < rows; i++)
            snprintf(*keys + i * STATE_KEY_WIDTH, STATE_KEY_WIDTH, "%s",
                     PQgetvalue(res, (int)i, 0));
    }
    PQclear(res);
    return rc;
}

tdi_status state_keys_unheld(state_db *st, int src, const char *name, int year,
                             const unsigned char *in, int bits, size_t max, char **keys, size_t *n)
{
    char sstr[16], ystr[16], shift[16], flags[2 * STATE_KEY_BUCKETS / 8 + 3];

    if (bits < 0 || bits > 16) {
        tdi_error(WHO ": %d bits of buckets", bits);
        return TDI_ERR_INTERNAL;
    }
    snprintf(sstr, sizeof sstr, "%d", src);
    snprintf(ystr, sizeof ystr, "%d", year);
    snprintf(shift, sizeof shift, "%d", 16 - bits);
    memcpy(flags, "\\x", 2);
    tdi_hex_encode(flags + 2, in, bits >= 3 ? (size_t)1 << (bits - 3) : 1);
    /* in as a bytea, whose bits get_bit() numbers from each byte's lowest. What any body holds
     * of the source's year, whether served now or not: tdi.route names every body it was sent
     * rows of; a probe of tdi.sent's key per body and row asked about. */
    return st_key_list(st, "finding the rows read now that no body holds",
                       "SELECT 'e1:' || encode(x.eid, 'hex') FROM run_seen x\n"
                       " WHERE x.src = $1\n"
                       "   AND get_bit($4::bytea, (get_byte(x.eid, 0) * 256 + get_byte(x.eid, 1)) "
                       ">> $5::integer) = 1\n"
                       "   AND NOT EXISTS (\n"
                       "    SELECT 1 FROM tdi.route ro JOIN tdi.sent s ON s.body = ro.body AND "
                       "s.year = ro.year AND s.eid = x.eid\n"
                       "     WHERE ro.source = $2 AND ro.year = $3)\n"
                       " LIMIT $6",
                       5, (const char *[]){sstr, name, ystr, flags, shift}, max, keys, n);
}

/* {a,b,...} of n numbers; NULL when out of memory. */
static char *int_array(const unsigned *v, size_t n)
{
    char *out = malloc(n * 8 + 3);
    size_t used = 0;

    if (!out)
        return NULL;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)sprintf(out + used, "%s%u", i ? "," : "", v[i]);
    out[used++] = '}';
    out[used] = '\0';
    return out;
}

tdi_status state_keys_keep(state_db *st, int src, const char *name, const unsigned char *digest,
                           size_t len, int part, const unsigned *lo, const unsigned *hi, size_t n)
{
    char sstr[16], *hex = malloc(2 * len + 1), *los = int_array(lo, part ? n : 0),
                   *his = int_array(hi, part ? n : 0);
    const char *params[6] = {sstr, name, part ? "t" : "f", hex, los, his};
    tdi_status s = TDI_ERR_INTERNAL;

    if (!hex || !los || !his) {
        tdi_error(WHO ": out of memory");
        goto done;
    }
    tdi_hex_encode(hex, digest, len);
    snprintf(sstr, sizeof sstr, "%d", src);
    /* A range's bounds as key prefixes: bytea compares bytewise, a shorter prefix first, so
     * [lo, hi) holds every 16-byte key whose first two bytes are in it; past the last bucket
     * 17 bytes of ff, above every key. */
    s = st_command(st, "keeping the key scan's digest",
                   "WITH k AS (INSERT INTO run_keyset (src, name, part, keys) VALUES ($1, $2, $3, "
                   "decode($4, 'hex')))\n"
                   "INSERT INTO run_bucket (src, lo, hi)\n"
                   "SELECT $1, decode(lpad(to_hex(l), 4, '0'), 'hex'),\n"
                   "       CASE WHEN h >= 65536 THEN decode(repeat('ff', 17), 'hex')\n"
                   "            ELSE decode(lpad(to_hex(h), 4, '0'), 'hex') END\n"
                   "  FROM unnest($5::integer[], $6::integer[]) u(l, h)",
                   6, params);
    if (s == TDI_OK) {
        st->keys_part += part != 0;
        st->keys_whole += !part;
    }
done:
    free(hex);
    free(los);
    free(his);
    return s;
}

/* run_gone: the episodes a served body was sent and does not get now, that are gone (deleted):
 * the source is no longer configured or was read in full, or the row was read now (it breaks a
 * rule or goes to other bodies now: run_seen), or the key scan does not have it (deleted, or out
 * of the year). Unchanged rows an incremental read skipped are in the key scan: kept. One branch
 * a reason, each a plain (anti or semi) join: an EXISTS in an OR runs once per row, quadratic at
 * a million episodes, and the LEFT JOINs to the DISTINCT key sets it replaces cost 0.45 s a pass
 * at 200k (docs/benchmark.md, 2026-12-05: run_held for the touched persons only). A source no
 * longer configured is found through tdi.route (every body, source and year the bodies were
 * sent rows of, kept by the commit that sends them), not by reading the year for it (75 ms a
 * pass at 200k); it has no row read now; only the branch of the sources read in full, which
 * would list them whole, leaves out the rows read now: in the others that anti join came after
 * one the planner takes for one row, as a nested loop over the run's records (4 s at 200k). A
 * row read now in run_gone is harmless: held_sql looks only rows not read now up in it, and its
 * person as sent is touched anyway.
 * The key scan's branch: a source whose last key scan left a digest sent to run_present only the
 * keys of the buckets whose digest changed (run/run_keys.c); in an unchanged bucket every key
 * the last scan had is still there, and what the bodies hold of the source was in the last scan
 * (the digest is kept only when every body it feeds got that run's changes), so nothing there is
 * gone. Its rows sent are then looked up by key range (tdi.sent's primary key), a few per
 * bucket, rather than every row of the year against every key (200k held, 10k changed: 0.35 s
 * and the COPY of 198k keys a pass). The lookup is a LATERAL subquery kept apart (OFFSET 0):
 * joined as a plain range join, the planner, which cannot know how narrow a range of unknown
 * bounds is, compared every row of the year with every range (67 s at 200k). A source without
 * a digest compares every key, as before.
 * Each branch is in the statement only when a source takes it: a branch the planner could not
 * rule out would scan the year for nothing. */
/* A branch over the rows sent of an incremental source read now: its condition follows. */
#define GONE_INCREMENTAL                                                                           \
    "SELECT sent.body, sent.eid, coalesce(sent.person, sent.eid)\n"                                \
    "  FROM sent JOIN run_src rs ON rs.name = sent.source AND rs.ok AND NOT rs.full_read\n"        \
    " WHERE "
static const char gone_sql[] =
    "CREATE TEMP TABLE run_gone AS\n" HELD_REC_SENT
    "SELECT b.body, s.eid, coalesce(s.person, s.eid) AS person\n"
    "  FROM tdi.route ro JOIN run_body b ON b.name = ro.body AND b.served\n"
    "  JOIN tdi.sent s ON s.body = ro.body AND s.year = ro.year AND s.source = ro.source\n"
    " WHERE ro.year = $1 AND ro.source NOT IN (SELECT name FROM run_src)\n"
    "UNION\n"
    "SELECT sent.body, sent.eid, coalesce(sent.person, sent.eid)\n"
    "  FROM sent JOIN run_src rs ON rs.name = sent.source AND rs.ok AND rs.full_read\n"
    " WHERE NOT EXISTS (SELECT 1 FROM rec r WHERE r.body = sent.body AND r.eid = sent.eid)\n"
    "UNION\n" GONE_INCREMENTAL
    "EXISTS (SELECT 1 FROM run_seen x WHERE x.src = rs.src AND x.eid = sent.eid)\n";
static const char gone_whole[] =
    "UNION\n" GONE_INCREMENTAL
    "NOT EXISTS (SELECT 1 FROM run_keyset k WHERE k.src = rs.src AND k.part)\n"
    "   AND NOT EXISTS (SELECT 1 FROM run_present p WHERE p.src = rs.src AND p.eid = sent.eid)\n";
static const char gone_part[] =
    "UNION\n"
    "SELECT b.body, s.eid, coalesce(s.person, s.eid)\n"
    "  FROM run_bucket k JOIN run_src rs ON rs.src = k.src AND rs.ok AND NOT rs.full_read\n"
    "  JOIN run_body b ON b.served\n"
    "  CROSS JOIN LATERAL (SELECT t.eid, t.person FROM tdi.sent t\n"
    "                       WHERE t.body = b.name AND t.year = $1 AND t.eid >= k.lo\n"
    "                         AND t.eid < k.hi AND t.source = rs.name OFFSET 0) s\n"
    " WHERE NOT EXISTS (SELECT 1 FROM run_present p WHERE p.src = rs.src AND p.eid = s.eid)\n";

tdi_status st_gone(state_db *st, const char *const *yp)
{
    char sql[sizeof gone_sql + sizeof gone_whole + sizeof gone_part];

    snprintf(sql, sizeof sql, "%s%s%s", gone_sql, st->keys_whole ? gone_whole : "",
             st->keys_part ? gone_part : "");
    return st_command(st, "finding what is gone", sql, 1, yp);
}
