/*
 * rpt_load: `tdi load`, a body's submissions applied to the receiver's database (report_load).
 *
 * The receiver's schema (tdi_receiver) comes from SCHEMA_DIR/receiver/001-receiver.sql, run once
 * when missing. Files are applied per body and year in sequence order, each in one transaction:
 * its manifest and schema checked first, then every item COPYed into a temp table and applied
 * with a few set-based statements (nothing runs per record; memory flat). Each file is taken at
 * most once (by its SHA-256); of two files with one sequence the later run's wins (the earlier
 * is undone from tdi_receiver.undo); a gap stops the body's year.
 */
#include "report.h"

#include "rpt_read.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO      "receiver database"
#define LOCK     "SELECT pg_advisory_xact_lock(7627881, 15)" /* one load at a time */
#define SQL_FILE "receiver/001-receiver.sql"
#define COPY_BUF 65536
#define WHERE_BY " WHERE body = $1 AND year = $2"

typedef struct loader {
    PGconn *conn;
    FILE *out;
    const char *schema_dir;
    char cols[1024]; /* the staging table's attribute columns, comma separated */
    char defs[1536]; /* the same, each with its type (text) */
    char *buf;       /* COPY_BUF bytes of COPY data */
    size_t used;
} loader;

typedef enum decision { APPLY, SUPERSEDE, SKIP_LOADED, SKIP_SUPERSEDED, GAP, LATE } decision;

static tdi_status query(loader *l, const char *what, const char *sql, int n,
                        const char *const *params, ExecStatusType want, PGresult **res)
{
    return tdi_pg_query(l->conn, WHO, what, TDI_ERR_STATE, sql, n, params, want, res, NULL);
}

static tdi_status command(loader *l, const char *what, const char *sql)
{
    return tdi_pg_command(l->conn, WHO, what, TDI_ERR_STATE, sql);
}

/* Creates the schema from its file when the database has none. */
static tdi_status ensure_schema(loader *l)
{
    PGresult *res = NULL;
    char path[4096], *sql = NULL;
    FILE *fp = NULL;
    long len;
    tdi_status st;

    st = query(l, "looking for the schema", "SELECT to_regclass('tdi_receiver.file') IS NOT NULL",
               0, NULL, PGRES_TUPLES_OK, &res);
    if (st != TDI_OK || strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        goto done;
    snprintf(path, sizeof path, "%s/%s", l->schema_dir, SQL_FILE);
    if (!(fp = fopen(path, "r")) || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0 || !(sql = calloc(1, (size_t)len + 1)) ||
        fread(sql, 1, (size_t)len, fp) != (size_t)len) {
        tdi_error("%s: cannot read the receiver's schema", path);
        st = TDI_ERR_STATE;
        goto done;
    }
    st = command(l, "starting", "BEGIN");
    if (st == TDI_OK)
        st = query(l, "taking the load lock", LOCK, 0, NULL, PGRES_TUPLES_OK, NULL);
    if (st == TDI_OK) {
        PQclear(res);
        res = NULL;
        st = query(l, "looking for the schema", "SELECT to_regclass('tdi_receiver.file') IS NULL",
                   0, NULL, PGRES_TUPLES_OK, &res);
    }
    if (st == TDI_OK && strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        st = command(l, "creating the schema tdi_receiver", sql);
    if (st == TDI_OK)
        st = command(l, "committing the schema", "COMMIT");
    if (st == TDI_OK)
        tdi_info("%s: created the schema tdi_receiver (%s)", WHO, path);
    else
        (void)command(l, "rolling back", "ROLLBACK");
done:
    if (fp)
        fclose(fp);
    free(sql);
    PQclear(res);
    return st;
}

/* The manifest is there, names this file's header, and its SHA-256 is the file's. */
static tdi_status check_manifest(const rpt_entry *e)
{
    char mf[4096], sha[TDI_SHA256_HEX];
    rpt_manifest m;
    tdi_status st;

    if (!rpt_manifest_path(e->path, mf, sizeof mf) || rpt_manifest_read(mf, &m) == TDI_ERR_OUTPUT) {
        tdi_error("%s: no readable manifest %s: not taken (a manifest is written after its file)",
                  e->path, mf);
        return TDI_ERR_INVALID;
    }
    if ((st = rpt_manifest_read(mf, &m)) != TDI_OK || strcmp(m.body, e->hdr.body) != 0 ||
        m.year != e->hdr.year || m.sequence != e->hdr.sequence ||
        strcmp(m.run_id, e->hdr.run_id) != 0) {
        tdi_error("%s: the manifest is malformed or names another file", mf);
        return TDI_ERR_INVALID;
    }
    if ((st = tdi_sha256_file(e->path, sha)) != TDI_OK)
        return st;
    if (strcmp(sha, m.sha256) != 0) {
        tdi_error("%s: SHA-256 %s, the manifest says %s: the file was changed or damaged; not "
                  "taken",
                  e->path, sha, m.sha256);
        return TDI_ERR_INVALID;
    }
    return TDI_OK;
}

/* What to do with e given what the database holds of its body and year (in the transaction). */
static tdi_status decide(loader *l, const rpt_entry *e, const char *sha, decision *d,
                         uint64_t *last, char *last_run, size_t run_len)
{
    char year[16], seq[32];
    const char *p[3] = {e->hdr.body, year, seq};
    PGresult *res = NULL;
    tdi_status st;

    snprintf(year, sizeof year, "%d", e->hdr.year);
    snprintf(seq, sizeof seq, "%" PRIu64, e->hdr.sequence);
    *last = 0;
    last_run[0] = '\0';
    st = query(l, "looking for the file", "SELECT 1 FROM tdi_receiver.file WHERE sha256 = $1", 1,
               &sha, PGRES_TUPLES_OK, &res);
    if (st != TDI_OK)
        goto done;
    if (PQntuples(res) > 0) {
        *d = SKIP_LOADED;
        goto done;
    }
    PQclear(res);
    st = query(l, "reading the latest file",
               "SELECT sequence, run_id FROM tdi_receiver.file" WHERE_BY
               " AND superseded_by IS NULL ORDER BY sequence DESC LIMIT 1",
               2, p, PGRES_TUPLES_OK, &res);
    if (st != TDI_OK)
        goto done;
    if (PQntuples(res) > 0) {
        *last = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(last_run, run_len, "%s", PQgetvalue(res, 0, 1));
    }
    if (e->hdr.sequence == *last + 1)
        *d = APPLY;
    else if (e->hdr.sequence > *last + 1)
        *d = GAP;
    else if (e->hdr.sequence == *last && strcmp(e->hdr.run_id, last_run) > 0)
        *d = SUPERSEDE;
    else {
        /* An earlier sequence: settled when the run loaded for it is later than this one. */
        PQclear(res);
        st = query(l, "reading the file of the sequence",
                   "SELECT run_id FROM tdi_receiver.file" WHERE_BY
                   " AND sequence = $3 AND superseded_by IS NULL",
                   3, p, PGRES_TUPLES_OK, &res);
        if (st == TDI_OK && PQntuples(res) > 0) {
            snprintf(last_run, run_len, "%s", PQgetvalue(res, 0, 0));
            *d = strcmp(e->hdr.run_id, last_run) < 0 ? SKIP_SUPERSEDED : LATE;
        } else
            *d = LATE;
    }
done:
    PQclear(res);
    return st;
}

/* Appends s (NULL: SQL NULL) and end to the COPY data, escaped for COPY's text format. */
static tdi_status put(loader *l, const char *s, char end)
{
    if (!s) {
        tdi_status st = put(l, "", '\\');
        if (st == TDI_OK)
            l->buf[l->used++] = 'N'; /* put leaves room for 3 bytes */
        if (st == TDI_OK)
            l->buf[l->used++] = end;
        return st;
    }
    for (;; s++) {
        if (l->used + 3 > COPY_BUF) {
            tdi_status st =
                tdi_pg_copy_put(l->conn, WHO, "COPY of the file", TDI_ERR_STATE, l->buf, l->used);
            if (st != TDI_OK)
                return st;
            l->used = 0;
        }
        if (!*s)
            break;
        if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r') {
            l->buf[l->used++] = '\\';
            l->buf[l->used++] = *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\';
        } else
            l->buf[l->used++] = *s;
    }
    l->buf[l->used++] = end;
    return TDI_OK;
}

/* Streams the file's items into the temp table stage. */
static tdi_status copy_items(loader *l, const rpt_entry *e, unsigned long counts[3])
{
    char sql[1200], pos[32];
    rpt_header hdr;
    rpt_reader *r = NULL;
    rpt_item it;
    tdi_status st;
    int eof = 0;

    snprintf(sql, sizeof sql, "COPY pg_temp.stage (pos, action, %s) FROM STDIN", l->cols);
    st = query(l, "starting the COPY", sql, 0, NULL, PGRES_COPY_IN, NULL);
    if (st != TDI_OK)
        return st;
    l->used = 0;
    st = rpt_reader_open(e->path, &hdr, &r);
    while (st == TDI_OK && (st = rpt_reader_next(r, &it, &eof)) == TDI_OK && !eof) {
        const char *action = it.is_delete ? "delete" : it.replace ? "replace" : "append";
        counts[it.is_delete ? 2 : it.replace ? 1 : 0]++;
        snprintf(pos, sizeof pos, "%ld", it.line);
        st = put(l, pos, '\t');
        if (st == TDI_OK)
            st = put(l, action, '\t');
        for (int i = 0; st == TDI_OK && i < RPT_NATTRS; i++)
            st = put(l, it.attr[i], i + 1 < RPT_NATTRS ? '\t' : '\n');
    }
    rpt_reader_close(r);
    if (st == TDI_OK && l->used)
        st = tdi_pg_copy_put(l->conn, WHO, "COPY of the file", TDI_ERR_STATE, l->buf, l->used);
    if (st == TDI_ERR_STATE || st == TDI_ERR_INTERRUPTED)
        return st;
    return tdi_pg_copy_end(l->conn, WHO, "COPY of the file", TDI_ERR_STATE,
                           st == TDI_OK ? NULL : "the file could not be read") == TDI_OK
               ? st
               : TDI_ERR_STATE;
}

/* Puts back what the latest file of the body and year changed, and marks it superseded. */
static tdi_status undo_last(loader *l, const char *const p[3], const char *by)
{
    const char *q[4] = {p[0], p[1], p[2], by};
    tdi_status st;

    st = query(l, "undoing the superseded file",
               "DELETE FROM tdi_receiver.episode e USING tdi_receiver.undo u WHERE u.body = $1 "
               "AND u.year = $2 AND u.sequence = $3 AND e.body = $1 AND e.year = $2 "
               "AND e.key = u.key",
               3, p, PGRES_COMMAND_OK, NULL);
    if (st == TDI_OK)
        st = query(
            l, "undoing the superseded file",
            "INSERT INTO tdi_receiver.episode SELECT (u.old).* FROM tdi_receiver.undo u" WHERE_BY
            " AND sequence = $3 AND (u.old).key IS NOT NULL",
            3, p, PGRES_COMMAND_OK, NULL);
    if (st == TDI_OK)
        st = query(l, "marking the superseded file",
                   "UPDATE tdi_receiver.file SET superseded_by = $4" WHERE_BY
                   " AND sequence = $3 AND superseded_by IS NULL",
                   4, q, PGRES_COMMAND_OK, NULL);
    return st;
}

/* Applies the staged items: deletes and new versions, with the old rows kept for an undo. */
static tdi_status apply_stage(loader *l, const rpt_entry *e, const char *const p[3])
{
    char sql[8192], sel[2048];
    size_t n = 0;
    PGresult *res = NULL;
    tdi_status st;

    st = query(l, "looking for repeated keys",
               "SELECT min(pos) FROM pg_temp.stage GROUP BY key HAVING count(*) > 1 ORDER BY 1 "
               "LIMIT 1",
               0, NULL, PGRES_TUPLES_OK, &res);
    if (st == TDI_OK && PQntuples(res) > 0) {
        tdi_error("%s:%s: a key that appears twice in the file; not taken", e->path,
                  PQgetvalue(res, 0, 0));
        st = TDI_ERR_INVALID;
    }
    PQclear(res);
    res = NULL;
    if (st == TDI_OK)
        st = query(l, "checking the year",
                   "SELECT min(pos) FROM pg_temp.stage WHERE action <> 'delete' AND year <> $1 "
                   "HAVING count(*) > 0",
                   1, p + 1, PGRES_TUPLES_OK, &res);
    if (st == TDI_OK && PQntuples(res) > 0) {
        tdi_error("%s:%s: an episode of another year than the file's; not taken", e->path,
                  PQgetvalue(res, 0, 0));
        st = TDI_ERR_INVALID;
    }
    PQclear(res);
    if (st != TDI_OK)
        return st;
    st = query(l, "keeping the old rows", "DELETE FROM tdi_receiver.undo" WHERE_BY, 2, p,
               PGRES_COMMAND_OK, NULL);
    if (st == TDI_OK)
        st = query(l, "keeping the old rows",
                   "INSERT INTO tdi_receiver.undo SELECT $1, $2::int, $3::bigint, s.key, "
                   "CASE WHEN e.key IS NULL THEN NULL ELSE e END FROM pg_temp.stage s LEFT JOIN "
                   "tdi_receiver.episode e ON e.body = $1 AND e.year = $2 AND e.key = s.key",
                   3, p, PGRES_COMMAND_OK, NULL);
    if (st == TDI_OK)
        st = query(l, "removing the old rows",
                   "DELETE FROM tdi_receiver.episode e USING pg_temp.stage s WHERE e.body = $1 "
                   "AND e.year = $2 AND e.key = s.key",
                   2, p, PGRES_COMMAND_OK, NULL);
    /* Every attribute but year (the file's) as its column's type. */
    for (int i = 0; i < RPT_NATTRS; i++) {
        const char *c = rpt_attr_columns[i];
        int num = !strcmp(c, "entrant") || !strcmp(c, "quarter") || !strcmp(c, "age") ||
                  !strcmp(c, "first_use_age");
        if (strcmp(c, "year") != 0)
            n += (size_t)snprintf(sel + n, sizeof sel - n, ", %s%s", c, num ? "::smallint" : "");
    }
    /* the column list is the select list without the casts */
    {
        char cols[2048];
        size_t m = 0;
        for (int i = 0; i < RPT_NATTRS; i++)
            if (strcmp(rpt_attr_columns[i], "year") != 0)
                m += (size_t)snprintf(cols + m, sizeof cols - m, ", %s", rpt_attr_columns[i]);
        snprintf(sql, sizeof sql,
                 "INSERT INTO tdi_receiver.episode (body, year%s) SELECT $1, $2::int%s FROM "
                 "pg_temp.stage WHERE action <> 'delete'",
                 cols, sel);
    }
    if (st == TDI_OK)
        st = query(l, "adding the new rows", sql, 2, p, PGRES_COMMAND_OK, NULL);
    return st;
}

static tdi_status record_file(loader *l, const rpt_entry *e, const char *const p[3],
                              const char *sha, const unsigned long counts[3])
{
    char a[32], r[32], d[32];
    const char *base = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;
    const char *q[11] = {p[0],
                         p[1],
                         p[2],
                         e->hdr.run_id,
                         base,
                         sha,
                         e->hdr.key_id[0] ? e->hdr.key_id : NULL,
                         e->hdr.schema_version,
                         a,
                         r,
                         d};

    snprintf(a, sizeof a, "%lu", counts[0]);
    snprintf(r, sizeof r, "%lu", counts[1]);
    snprintf(d, sizeof d, "%lu", counts[2]);
    return query(l, "recording the file",
                 "INSERT INTO tdi_receiver.file (body, year, sequence, run_id, file_name, sha256, "
                 "key_id, schema_version, appends, replaces, deletes) VALUES ($1, $2, $3, $4, $5, "
                 "$6, $7, $8, $9, $10, $11)",
                 11, q, PGRES_COMMAND_OK, NULL);
}

/* One file in one transaction. *gap is set when the body's year cannot go on. */
static tdi_status load_one(loader *l, const rpt_entry *e, int *gap)
{
    char year[16], seq[32], sha[TDI_SHA256_HEX], last_run[32], sql[2048];
    const char *p[3] = {e->hdr.body, year, seq};
    unsigned long counts[3] = {0, 0, 0};
    uint64_t last = 0;
    decision d = APPLY;
    tdi_status st;

    snprintf(year, sizeof year, "%d", e->hdr.year);
    snprintf(seq, sizeof seq, "%" PRIu64, e->hdr.sequence);
    if ((st = check_manifest(e)) != TDI_OK || (st = tdi_sha256_file(e->path, sha)) != TDI_OK)
        return st;
    if ((st = report_validate_file(e->path, l->schema_dir)) != TDI_OK) {
        tdi_error("%s: not valid against its schema; not taken", e->path);
        return st;
    }
    st = command(l, "starting", "BEGIN");
    if (st == TDI_OK)
        st = query(l, "taking the load lock", LOCK, 0, NULL, PGRES_TUPLES_OK, NULL);
    if (st == TDI_OK)
        st = decide(l, e, sha, &d, &last, last_run, sizeof last_run);
    if (st != TDI_OK || d == SKIP_LOADED || d == SKIP_SUPERSEDED || d == GAP || d == LATE)
        goto done;
    snprintf(sql, sizeof sql,
             "CREATE TEMP TABLE stage (pos bigint, action text, %s) ON COMMIT DROP", l->defs);
    st = command(l, "making the staging table", sql);
    if (st == TDI_OK && d == SUPERSEDE)
        st = undo_last(l, p, e->hdr.run_id);
    if (st == TDI_OK)
        st = copy_items(l, e, counts);
    if (st == TDI_OK)
        st = apply_stage(l, e, p);
    if (st == TDI_OK)
        st = record_file(l, e, p, sha, counts);
    if (st == TDI_OK)
        st = command(l, "committing", "COMMIT");
done:
    if (st != TDI_OK || d != APPLY)
        (void)command(l, "rolling back", "ROLLBACK");
    if (st != TDI_OK)
        return st;
    switch (d) {
    case APPLY:
    case SUPERSEDE:
        fprintf(l->out,
                "%s %d sequence %s (run %s): %lu appends, %lu replaces, %lu deletes%s <- %s\n",
                e->hdr.body, e->hdr.year, seq, e->hdr.run_id, counts[0], counts[1], counts[2],
                d == SUPERSEDE ? " (in place of the earlier run's file of this sequence)" : "",
                e->path);
        return TDI_OK;
    case SKIP_LOADED:
        fprintf(l->out, "%s %d sequence %s (run %s): already loaded, nothing changed <- %s\n",
                e->hdr.body, e->hdr.year, seq, e->hdr.run_id, e->path);
        return TDI_OK;
    case SKIP_SUPERSEDED:
        fprintf(l->out,
                "%s %d sequence %s (run %s): superseded by the later run %s, skipped <- %s\n",
                e->hdr.body, e->hdr.year, seq, e->hdr.run_id, last_run, e->path);
        return TDI_OK;
    case GAP:
        *gap = 1;
        if (last == 0)
            tdi_error("%s: sequence %s of %s %d, but nothing of it is loaded: sequence 1 is "
                      "missing; nothing of %s %d from here on is loaded",
                      e->path, seq, e->hdr.body, e->hdr.year, e->hdr.body, e->hdr.year);
        else
            tdi_error("%s: sequence %s of %s %d follows %" PRIu64 ": sequence %" PRIu64
                      " is missing; nothing of %s %d from here on is loaded",
                      e->path, seq, e->hdr.body, e->hdr.year, last, last + 1, e->hdr.body,
                      e->hdr.year);
        return TDI_ERR_INVALID;
    case LATE:
        tdi_error("%s: sequence %s of %s %d (run %s) comes after sequence %" PRIu64
                  " was loaded and is not superseded by a loaded file: refused (reload the "
                  "year from its first file)",
                  e->path, seq, e->hdr.body, e->hdr.year, e->hdr.run_id, last);
        return TDI_ERR_INVALID;
    }
    return TDI_OK;
}

tdi_status report_load(const char *conninfo, char *const *paths, int npaths, const char *schema_dir,
                       FILE *out)
{
    loader l = {.out = out, .schema_dir = schema_dir};
    rpt_series s;
    tdi_status st, worst;
    size_t n = 0;
    int transient = 0;

    for (int i = 0, m = 0; i < RPT_NATTRS; i++) {
        n += (size_t)snprintf(l.cols + n, sizeof l.cols - n, "%s%s", i ? ", " : "",
                              rpt_attr_columns[i]);
        m += snprintf(l.defs + m, sizeof l.defs - (size_t)m, "%s%s text", i ? ", " : "",
                      rpt_attr_columns[i]);
    }
    worst = rpt_series_collect(paths, npaths, &s);
    if (worst == TDI_ERR_INTERNAL)
        goto done;
    for (size_t i = 0; i < s.norphans; i++) {
        tdi_error("%s: a manifest without its submission", s.orphans[i]);
        worst = worst == TDI_OK ? TDI_ERR_INVALID : worst;
    }
    if (!(l.buf = malloc(COPY_BUF))) {
        worst = TDI_ERR_INTERNAL;
        goto done;
    }
    st = tdi_pg_connect(conninfo, "tdi load", WHO, TDI_ERR_STATE, &l.conn, &transient);
    if (st == TDI_OK)
        st = ensure_schema(&l);
    if (st != TDI_OK) {
        worst = st;
        goto done;
    }
    for (size_t i = 0, gap = 0; i < s.n; i++) {
        const rpt_entry *e = &s.e[i];
        int g = 0;
        if (e->bad)
            continue; /* said when collected */
        if (gap && i > 0 && strcmp(s.e[i - 1].hdr.body, e->hdr.body) == 0 &&
            s.e[i - 1].hdr.year == e->hdr.year) {
            tdi_error("%s: not loaded: an earlier file of %s %d is missing or was not taken",
                      e->path, e->hdr.body, e->hdr.year);
            continue;
        }
        st = load_one(&l, e, &g);
        gap = (size_t)g;
        if (st == TDI_ERR_STATE || st == TDI_ERR_INTERRUPTED || st == TDI_ERR_INTERNAL) {
            worst = st;
            break;
        }
        if (st != TDI_OK && worst == TDI_OK)
            worst = st;
        if (st != TDI_OK)
            gap = 1; /* a file not taken: nothing after it of its body and year */
    }
done:
    if (l.conn)
        PQfinish(l.conn);
    free(l.buf);
    rpt_series_free(&s);
    return worst;
}
