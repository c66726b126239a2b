/*
 * st_delta: the run's records in the state database, and a body's actions read back.
 *
 * Owns the run's temporary tables (run_rec, run_seen, run_present, run_rej, run_src, run_body; the
 * pass's own are st_pass.c's), the COPY of the run's records and key sets into them (binary form),
 * the repeated keys (through a filter of the keys put, which marks the records that may repeat one,
 * and the quarantined rows' keys),
 * the unread episodes whose counting changed, and reading a body's actions back in the order of
 * its file through a work file. Nothing here runs one statement per record.
 */
#include "st_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"
#include "../common/tdi_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the delta pass */

/* The filter of the keys put into run_rec this run (a Bloom filter, blocked): 2^24 bits in
 * 64-byte lines, 4 bits set per (source, body, key), all in one line: one cache miss a record,
 * not four (4 lines: 0.2 s of a 1M run's client CPU). A record whose 4 bits were all set before
 * may repeat an earlier record's key and is marked (run_rec.again); one with a bit not set cannot.
 * So the repeated keys are looked for among the marked records' keys (state_duplicates()), not
 * by sorting every key (1M first run: 0.55 -> 0.20 s of server CPU; docs/benchmark.md,
 * 2026-12-06: the repeated keys by a filter). False alarms: about 0.2% of a million records, 2%
 * of two million, 14% of four (then the statement costs more, never finds more). Fixed size:
 * memory stays flat as the input grows. */
#define SEEN_LOG2  24
#define SEEN_BYTES ((size_t)1 << (SEEN_LOG2 - 3))
#define SEEN_LINE  64 /* bytes: 512 bits, 9 bits a place */

/* Whether (src, body, eid) may have been marked in the filter before (1) or not; marks it when
 * mark. A key is the first 16 bytes of an HMAC, but not always (tests), so its bits are mixed
 * first. */
static int seen_mark(state_db *st, int src, int body, const unsigned char eid[16], int mark)
{
    uint64_t h1 = 0, h2 = 0;
    unsigned char *line;
    int before = 1;

    if (!st->seen)
        return 1;
    for (int i = 0; i < 8; i++) {
        h1 = h1 << 8 | eid[i];
        h2 = h2 << 8 | eid[8 + i];
    }
    h1 ^= (uint64_t)(uint32_t)src << 32 | (uint32_t)body;
    h1 = (h1 ^ h1 >> 31) * UINT64_C(0x9e3779b97f4a7c15);
    h2 = ((h2 ^ h1) ^ (h2 ^ h1) >> 29) * UINT64_C(0xbf58476d1ce4e5b9);
    line = st->seen + (h1 >> (64 - (SEEN_LOG2 - 9))) * SEEN_LINE;
    for (int i = 0; i < 4; i++, h2 >>= 9) {
        unsigned bit = (unsigned)(h2 & 511);
        unsigned char m = (unsigned char)(1u << (bit & 7));

        before &= (line[bit >> 3] & m) != 0;
        if (mark)
            line[bit >> 3] |= m;
    }
    return before;
}

tdi_status state_delta_begin(state_db *st)
{
    /* Temporary: private to this session, gone with it (also when the run is killed). The
     * records and the check's groups are in tdi's unlogged tables instead (migration 13), which
     * a second connection of the run can read (st_beside.c): emptied here, under the run lock.
     * The session's settings: ST_SESSION_SETTINGS (st_int.h). */
    tdi_status s = st_command(
        st, "creating the run's tables",
        "TRUNCATE tdi.run_rec, tdi.run_reid_g, tdi.run_reid_v, tdi.run_reid_prep;\n"
        "CREATE TEMP TABLE run_seen (src integer NOT NULL, eid bytea NOT NULL);\n"
        "CREATE TEMP TABLE run_present (src integer NOT NULL, eid bytea NOT NULL);\n"
        "CREATE TEMP TABLE run_rej (src integer NOT NULL, eid bytea NOT NULL, probe boolean NOT "
        "NULL);\n"
        "CREATE TEMP TABLE run_src (src integer PRIMARY KEY, name text NOT NULL, "
        "region text NOT NULL, ok boolean NOT NULL, full_read boolean NOT NULL);\n"
        "CREATE TEMP TABLE run_body (body integer PRIMARY KEY, name text NOT NULL, "
        "served boolean NOT NULL, counting text NOT NULL);\n"
        "CREATE TEMP TABLE run_keyset (src integer PRIMARY KEY, name text NOT NULL, "
        "part boolean NOT NULL, keys bytea NOT NULL);\n"
        "CREATE TEMP TABLE run_bucket (src integer NOT NULL, lo bytea NOT NULL, hi bytea NOT "
        "NULL);\n" ST_SESSION_SETTINGS,
        0, NULL);

    st->scratch = s == TDI_OK;
    st->bodies = 0;
    /* The keys put so far: none (seen_mark()). Without the memory for it every record is marked. */
    if (s == TDI_OK && st->seen)
        memset(st->seen, 0, SEEN_BYTES);
    else if (s == TDI_OK)
        st->seen = calloc(1, SEEN_BYTES);
    return s;
}

/* The binary COPY form (PostgreSQL's "COPY", "Binary Format"): the server reads the numbers and
 * the bytea columns as the bytes they are, not parsed from text and hex (run_rec, 2M rows, on
 * the server alone: 2.02 -> 1.22 s; docs/benchmark.md, 2026-12-06). Every integer is in network
 * byte order. The header: signature, flags 0, no header extension. */
static const char copy_header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n',
                                     0,   0,   0,   0,   0,   0,   0,    0,      0};

tdi_status state_copy_begin(state_db *st, state_copy table)
{
    tdi_status s;

    s = st_query(
        st, "starting a COPY",
        table == STATE_COPY_RECORDS
            ? "COPY tdi.run_rec (pos, src, body, eid, ekey, hash, person, centre, start_ymd, "
              "status, drug, qi, sens, cont, again) FROM STDIN (FORMAT binary)"
        : table == STATE_COPY_SEEN     ? "COPY run_seen (src, eid) FROM STDIN (FORMAT binary)"
        : table == STATE_COPY_REJECTED ? "COPY run_rej (src, eid, probe) FROM STDIN (FORMAT binary)"
                                       : "COPY run_present (src, eid) FROM STDIN (FORMAT binary)",
        0, NULL, PGRES_COPY_IN, NULL);
    st->in_copy = s == TDI_OK;
    st->copy_table = table;
    st->used = 0;
    if (st->in_copy) { /* sent with the first flush */
        memcpy(st->buf, copy_header, sizeof copy_header);
        st->used = sizeof copy_header;
    }
    return s;
}

static tdi_status copy_flush(state_db *st)
{
    tdi_status s = tdi_pg_copy_put(st->conn, WHO, "COPY", TDI_ERR_STATE, st->buf, st->used);

    st->used = 0;
    return s;
}

/* Room for need more bytes in the buffer: what it holds is sent first when they do not fit. */
static tdi_status copy_room(state_db *st, size_t need)
{
    if (need > sizeof st->buf) {
        tdi_error(WHO ": a COPY tuple of %zu bytes is longer than the buffer", need);
        return TDI_ERR_INTERNAL;
    }
    return st->used + need > sizeof st->buf ? copy_flush(st) : TDI_OK;
}

static unsigned char *put_be(unsigned char *p, uint64_t v, int nbytes)
{
    for (int i = nbytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
    return p + nbytes;
}

/* A tuple's field: len bytes at data, as the column's binary form wants them. */
typedef struct copy_field {
    const void *data;
    size_t len;
} copy_field;

/* Appends a tuple of n fields (never NULL here), whole: the buffer is sent before it when it
 * does not fit, never with half of it. */
static tdi_status copy_tuple(state_db *st, const copy_field *f, int n)
{
    size_t need = 2;
    unsigned char *p;
    tdi_status s;

    for (int i = 0; i < n; i++)
        need += 4 + f[i].len;
    s = copy_room(st, need);
    if (s != TDI_OK)
        return s;
    p = put_be((unsigned char *)st->buf + st->used, (uint64_t)n, 2);
    for (int i = 0; i < n; i++) {
        p = put_be(p, f[i].len, 4);
        memcpy(p, f[i].data, f[i].len);
        p += f[i].len;
    }
    st->used += need;
    return TDI_OK;
}

tdi_status state_put_record(state_db *st, uint64_t pos, int src, int body, const char *eid,
                            const char *ekey, const char *hash, const char *person,
                            const char *centre, int start_ymd, const char *status, state_drug drug,
                            const char *qi, const char *sens)
{
    unsigned char p[8], s[4], b[4], e[16], k[16], h[32], pk[32], d[4];
    unsigned char start = drug == STATE_DRUG_START, cont = drug == STATE_DRUG_CONTINUING, again;
    size_t hlen = strlen(hash);
    /* In the COPY's column order. Text goes as it is: the binary form has no escapes, so no
     * byte of a code can break the stream (the server still checks the encoding). */
    const copy_field fields[15] = {{p, 8},                   /* pos bigint */
                                   {s, 4},                   /* src integer */
                                   {b, 4},                   /* body integer */
                                   {e, 16},                  /* eid bytea */
                                   {k, 16},                  /* ekey bytea */
                                   {h, hlen / 2},            /* hash bytea */
                                   {pk, 32},                 /* person bytea */
                                   {centre, strlen(centre)}, /* centre text */
                                   {d, 4},                   /* start_ymd integer */
                                   {status, strlen(status)}, /* status text */
                                   {&start, 1},              /* drug boolean */
                                   {qi, strlen(qi)},         /* qi text */
                                   {sens, strlen(sens)},     /* sens text */
                                   {&cont, 1},               /* cont boolean */
                                   {&again, 1}};             /* again boolean */

    /* keys as transform/ makes them, into the bytes tdi.sent keeps (schema 8) */
    if (!st->in_copy || !tdi_hex_key(e, eid, "e1:", sizeof e) ||
        !tdi_hex_key(k, ekey, "e1:", sizeof k) || !tdi_hex_key(pk, person, "p1:", sizeof pk) ||
        hlen > 64 || hlen % 2 != 0 || !tdi_hex_decode(h, hash, hlen, 1)) {
        tdi_error(WHO ": a record cannot go into the COPY stream");
        return TDI_ERR_INTERNAL;
    }
    /* not printf: this runs for every record (issue 16) */
    put_be(p, pos, 8);
    put_be(s, (uint32_t)src, 4);
    put_be(b, (uint32_t)body, 4);
    put_be(d, (uint32_t)start_ymd, 4);
    again = (unsigned char)seen_mark(st, src, body, e, 1);
    st->bodies = body >= st->bodies ? body + 1 : st->bodies;
    return copy_tuple(st, fields, 15);
}

tdi_status state_put_key(state_db *st, int src, const char *eid)
{
    unsigned char s[4], e[16], probe = 0;
    const copy_field fields[3] = {{s, 4}, {e, 16}, {&probe, 1}};
    int rejected = st->copy_table == STATE_COPY_REJECTED;

    if (!st->in_copy || !tdi_hex_key(e, eid, "e1:", sizeof e)) {
        tdi_error(WHO ": an episode key cannot go into the COPY stream");
        return TDI_ERR_INTERNAL;
    }
    put_be(s, (uint32_t)src, 4);
    /* A quarantined row's key is looked for among the records (state_duplicates()) only when the
     * filter says a record may have it: the source's records are put before its quarantined rows'
     * keys (run/run_read.c). */
    for (int b = 0; rejected && !probe && b < st->bodies; b++)
        probe = (unsigned char)seen_mark(st, src, b, e, 0);
    return copy_tuple(st, fields, rejected ? 3 : 2);
}

tdi_status state_copy_end(state_db *st, int discard)
{
    static const char trailer[2] = {'\377', '\377'}; /* a field count of -1 */
    tdi_status s = TDI_OK;

    if (!st->in_copy)
        return TDI_OK;
    /* A discarded COPY gets no trailer: PQputCopyEnd's error message fails it, nothing of it
     * is loaded, whatever of it was sent. */
    if (!discard)
        s = copy_room(st, sizeof trailer);
    if (!discard && s == TDI_OK) {
        memcpy(st->buf + st->used, trailer, sizeof trailer);
        st->used += sizeof trailer;
        s = copy_flush(st);
    }
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
    rc = st_command(st, "dropping a source's records to read it again",
                    "DELETE FROM tdi.run_rec WHERE src = $1", 1, params);
    if (rc == TDI_OK)
        rc = st_command(st, "dropping a source's rows seen to read it again",
                        "DELETE FROM run_seen WHERE src = $1", 1, params);
    if (rc == TDI_OK)
        rc = st_command(st, "dropping a source's key scan to read it again",
                        "WITH k AS (DELETE FROM run_keyset WHERE src = $1), b AS (DELETE FROM "
                        "run_bucket WHERE src = $1), r AS (DELETE FROM run_rej WHERE src = $1) "
                        "DELETE FROM run_present WHERE src = $1",
                        1, params);
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
    /* Every source in one pass: a pass per source would read all the run's records each time.
     * A key that repeats among the records is marked at its second sight (seen_mark()), and a
     * quarantined row's key (run_rej) is a probe when the filter has it (state_put_key()): only
     * the records with such a key are taken, with the quarantined rows as body -1, and grouped by
     * key. A key repeats when a body (or the quarantine) has it twice, or the quarantine and a
     * body have it. One scan of the records against a hash of the few candidates, never a sort
     * or hash of every record (1M records, 27k quarantined: see docs/benchmark.md, 2026-12-08). */
    rc = st_query(st, "looking for repeated keys",
                  "SELECT src, count(*), 'e1:' || min(encode(eid, 'hex')) FROM (SELECT src, eid "
                  "FROM (SELECT src, eid, body FROM tdi.run_rec WHERE (eid, src) IN (SELECT eid, "
                  "src FROM tdi.run_rec WHERE again UNION ALL SELECT eid, src FROM run_rej WHERE "
                  "probe) UNION ALL SELECT src, eid, -1 FROM run_rej) c GROUP BY src, eid HAVING "
                  "count(*) > count(DISTINCT body) OR min(body) < 0 AND count(*) > 1) d GROUP BY "
                  "src",
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

char *st_array_literal(const char *const *items, size_t n)
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

/* What a body holds, for its tables (every source feeding it was read in full, so every held
 * record is in run_rec): position, entrant, earlier, and the client flag. The clients in treatment
 * (README.md, "Clients in treatment") are the persons with an entrant or a continuing episode in
 * the TDI population, each once at the body's counting level, as the entrants are ranked
 * (rank_sql): the latest start counts, so a person who entered in the year counts at the
 * entrant's centre type (a continuing episode started before the year); among continuing ones
 * the latest, ties to the smaller state key. Computed here, not in the pass: only a run that
 * publishes tables pays for it, and nothing is stored.
 * A person has at most one entrant at a level, and it starts after every continuing episode, so
 * without a continuing episode the client is the entrant: the ranking (c) runs only over the
 * persons with one (cp). Over every held record it tripled the read (200k first run, statement
 * time at load 8-11: 1859 -> 581 ms; docs/benchmark.md). ORDER: spool order (STATE_READ_HELD), or
 * the file's, by episode key (STATE_READ_FIRST). */
#define HELD_COPY(ORDER)                                                                           \
    "COPY (WITH me AS (SELECT %d AS body),\n"                                                      \
    "cp AS (SELECT person FROM tdi.run_rec WHERE cont AND body = (SELECT body FROM me)),\n"        \
    "c AS (SELECT pos FROM (\n"                                                                    \
    "    SELECT r.pos, row_number() OVER (\n"                                                      \
    "               PARTITION BY r.person,\n"                                                      \
    "                            CASE b.counting WHEN 'centre' THEN r.centre\n"                    \
    "                                            WHEN 'regional' THEN rs.region END\n"             \
    "               ORDER BY r.start_ymd DESC, r.eid) AS n\n"                                      \
    "      FROM run_rank k JOIN tdi.run_rec r ON r.pos = k.pos JOIN run_body b ON b.body = "       \
    "k.body\n"                                                                                     \
    "      LEFT JOIN run_src rs ON rs.src = r.src\n"                                               \
    "     WHERE k.body = (SELECT body FROM me) AND (k.entrant OR r.cont)\n"                        \
    "       AND r.person IN (SELECT person FROM cp)) w WHERE n = 1)\n"                             \
    "SELECT k.pos, 'h', k.entrant, k.earlier, k.entrant OR k.pos IN (SELECT pos FROM c)\n"         \
    "  FROM run_rank k WHERE k.body = (SELECT body FROM me) AND k.pos IS NOT NULL\n"               \
    " ORDER BY " ORDER ") TO STDOUT"

tdi_status state_unread_keys(state_db *st, int src, size_t max, char **keys, size_t *n)
{
    char s[16];

    snprintf(s, sizeof s, "%d", src);
    /* One row per episode, whatever the number of bodies that hold it; bytewise order, as
     * strcmp() sorts, for the caller's binary search. */
    return st_key_list(st, "finding the episodes whose counting changed unread",
                       "SELECT 'e1:' || encode(eid, 'hex') FROM (SELECT DISTINCT eid FROM "
                       "run_action WHERE action = 'f' AND src = $1) k ORDER BY eid LIMIT $2",
                       1, (const char *[]){s}, max, keys, n);
}

tdi_status state_actions_save(state_db *st, int body, state_read what, FILE *fp, uint64_t *lines)
{
    char sql[1600];
    tdi_status s;
    int eof = 0;

    /* On a first submission run_rank is run_action (st_pass.c, first_rank_sql), every record an
     * append: what the body holds, in key order, is its file. */
    if (what == STATE_READ_FIRST && !st->first) {
        tdi_error(WHO ": a first submission's records asked for after another pass");
        return TDI_ERR_INTERNAL;
    }
    /* Every line: position (or key), action, entrant, earlier (held: and client); \N where there
     * is none. A body's
     * episodes go in the order of its episode keys, an HMAC under the body's key: two bodies
     * that get the same records get them in unrelated orders, not in spool order (red team 6).
     * run_action carries the key of a record read now (run_held takes it from run_rec), so the
     * order needs no join back to run_rec (200k, statement time: 534 -> 153 ms). */
    snprintf(sql, sizeof sql,
             what == STATE_READ_DELETES
                 ? "COPY (SELECT 'e1:' || encode(ekey, 'hex') AS k, action, entrant, earlier FROM "
                   "run_action WHERE body = %d AND action = 'd' ORDER BY ekey) TO STDOUT"
             : what == STATE_READ_EPISODES
                 ? "COPY (SELECT pos, action, entrant, earlier FROM run_action WHERE body = %d "
                   "AND action IN ('a', 'r') ORDER BY ekey, pos) TO STDOUT"
             : what == STATE_READ_HELD ? HELD_COPY("k.pos")
                                       : HELD_COPY("k.ekey, k.pos"),
             body);
    if (lines)
        *lines = 0;
    s = st_query(st, "reading the actions", sql, 0, NULL, PGRES_COPY_OUT, NULL);
    while (s == TDI_OK) {
        char *line = NULL;
        int n = 0;

        s = tdi_pg_copy_get(st->conn, WHO, "reading the actions", TDI_ERR_STATE, &line, &n, &eof,
                            NULL);
        if (s != TDI_OK || eof)
            break;
        if (lines)
            ++*lines;
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
    char line[128], *field[5];
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
    for (char *p = line; p && nf < 5; nf++) {
        field[nf] = p;
        p = strchr(p, '\t');
        if (p)
            *p++ = '\0';
    }
    /* a fifth field, the client flag, on held lines only */
    if ((nf == 4 || (nf == 5 && field[1][0] == 'h')) && strlen(field[0]) < sizeof a->ekey &&
        field[1][0]) {
        a->pos = strtoull(field[0], NULL, 10);
        memcpy(a->ekey, field[0], strlen(field[0]) + 1); /* shorter: checked above */
        a->replace = field[1][0] == 'r';
        a->entrant = field[2][0] == 't';
        a->earlier = field[3][0] == 't';
        a->client = nf == 5 && field[4][0] == 't';
        return TDI_OK;
    }
    tdi_error(WHO ": an action line is malformed");
    return TDI_ERR_STATE;
}
