/*
 * rpt_load: `tdi load`, a body's submissions applied to the receiver's database (report_load).
 *
 * The receiver's schema (tdi_receiver) comes from SCHEMA_DIR/receiver/NNN-*.sql, each applied once,
 * in order (tdi_receiver.version). Files are applied per body and year in sequence order, each in
 * one transaction: its manifest and schema checked first, then every item COPYed into a temp
 * table and applied with a few set-based statements (nothing runs per record; memory flat). Each
 * file is taken at most once (by its SHA-256); of two files with one sequence the later run's
 * wins, later by runNo, by runId only for files without one (rpt_run_cmp): the earlier is undone
 * from tdi_receiver.undo; a gap stops the body's year.
 */
#include "report.h"

#include "rpt_read.h"

#include "../common/tdi_hash.h"
#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO  "receiver database"
#define LOCK "SELECT pg_advisory_xact_lock(7627881, 15)" /* one load at a time */
/* The receiver's schema this tdi needs: SCHEMA_DIR/receiver/001-*.sql to NNN-*.sql, applied in
 * order; a change is a new numbered file and this number (a released file never changes). */
#define RECEIVER_VERSION 3
#define COPY_BUF         65536
#define WHERE_BY         " WHERE body = $1 AND year = $2"

typedef struct loader {
    PGconn *conn;
    FILE *out;
    const char *schema_dir;
    char cols[1024]; /* the staging table's attribute columns, comma separated */
    char defs[1536]; /* the same, each with its type (text) */
    char *buf;       /* COPY_BUF bytes of COPY data */
    size_t used;
} loader;

typedef enum decision {
    APPLY,
    SUPERSEDE,
    SKIP_LOADED,
    SKIP_SUPERSEDED,
    GAP,
    LATE,
    SAME_RUN
} decision;

static tdi_status query(loader *l, const char *what, const char *sql, int n,
                        const char *const *params, ExecStatusType want, PGresult **res)
{
    return tdi_pg_query(l->conn, WHO, what, TDI_ERR_STATE, sql, n, params, want, res, NULL);
}

static tdi_status command(loader *l, const char *what, const char *sql)
{
    return tdi_pg_command(l->conn, WHO, what, TDI_ERR_STATE, sql);
}

/* SCHEMA_DIR/receiver/NNN-*.sql of migration n, read whole into *sql (the caller frees it). */
static tdi_status read_migration(const char *schema_dir, int n, char *path, size_t plen, char **sql)
{
    char dir[2048], prefix[16];
    DIR *d = NULL;
    struct dirent *de;
    FILE *fp = NULL;
    long len;
    tdi_status st = TDI_ERR_STATE;

    *sql = NULL;
    path[0] = '\0';
    snprintf(dir, sizeof dir, "%s/receiver", schema_dir);
    snprintf(prefix, sizeof prefix, "%03d-", n);
    if ((d = opendir(dir)) != NULL)
        while ((de = readdir(d)) != NULL) {
            size_t k = strlen(de->d_name);
            if (strncmp(de->d_name, prefix, 4) == 0 && k > 8 &&
                strcmp(de->d_name + k - 4, ".sql") == 0 &&
                (size_t)snprintf(path, plen, "%.2047s/%.255s", dir, de->d_name) >= plen)
                path[0] = '\0';
        }
    if (!path[0]) {
        tdi_error("%s: no %s*.sql: the receiver's schema files are not all installed", dir, prefix);
        goto done;
    }
    if (!(fp = fopen(path, "r")) || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0 || !(*sql = calloc(1, (size_t)len + 1)) ||
        fread(*sql, 1, (size_t)len, fp) != (size_t)len) {
        tdi_error("%s: cannot read the receiver's schema", path);
        goto done;
    }
    st = TDI_OK;
done:
    if (d)
        closedir(d);
    if (fp)
        fclose(fp);
    return st;
}

/* The schema's version in the database: 0 when there is no schema tdi_receiver. */
static tdi_status schema_version(loader *l, int *version)
{
    PGresult *res = NULL;
    tdi_status st;

    *version = 0;
    st =
        query(l, "looking for the schema", "SELECT to_regclass('tdi_receiver.version') IS NOT NULL",
              0, NULL, PGRES_TUPLES_OK, &res);
    if (st == TDI_OK && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        PQclear(res);
        res = NULL;
        st = query(l, "reading the schema's version",
                   "SELECT coalesce(max(version), 0) FROM tdi_receiver.version", 0, NULL,
                   PGRES_TUPLES_OK, &res);
        if (st == TDI_OK)
            *version = atoi(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return st;
}

/* Brings the schema to RECEIVER_VERSION: each missing NNN-*.sql in order, each in one
 * transaction that takes the load lock before it looks for the schema, so of two loads starting
 * at once the second waits, then finds it made. Looked for before the lock, a schema made
 * meanwhile can stay unseen in the transaction (the server's cached "no such schema"), and the
 * second load failed creating it. */
static tdi_status migrate(loader *l)
{
    char path[4096] = "", to[16];
    char *sql = NULL;
    tdi_status st = TDI_OK;
    int version = 0, n;

    while (st == TDI_OK) {
        const char *p[1] = {to};

        st = command(l, "starting", "BEGIN");
        if (st == TDI_OK)
            st = query(l, "taking the load lock", LOCK, 0, NULL, PGRES_TUPLES_OK, NULL);
        if (st == TDI_OK)
            st = schema_version(l, &version);
        if (st == TDI_OK && version > RECEIVER_VERSION) {
            tdi_error("%s: schema tdi_receiver version %d is newer than this tdi knows (%d): use "
                      "a newer tdi",
                      WHO, version, RECEIVER_VERSION);
            st = TDI_ERR_STATE;
        }
        n = version + 1;
        snprintf(to, sizeof to, "%d", n);
        free(sql);
        sql = NULL;
        if (st == TDI_OK && n <= RECEIVER_VERSION &&
            (st = read_migration(l->schema_dir, n, path, sizeof path, &sql)) == TDI_OK)
            st = command(l, "updating the schema tdi_receiver", sql);
        if (st == TDI_OK && n <= RECEIVER_VERSION)
            st =
                query(l, "recording the schema's version",
                      "UPDATE tdi_receiver.version SET version = $1", 1, p, PGRES_COMMAND_OK, NULL);
        if (st == TDI_OK)
            st = command(l, "committing the schema", "COMMIT");
        if (st != TDI_OK)
            (void)command(l, "rolling back", "ROLLBACK");
        else if (n > RECEIVER_VERSION)
            break; /* up to date */
        else if (n == 1)
            tdi_info("%s: created the schema tdi_receiver (%s)", WHO, path);
        else
            tdi_info("%s: schema tdi_receiver now version %d (%s)", WHO, n, path);
    }
    free(sql);
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
        strcmp(m.run_id, e->hdr.run_id) != 0 || m.run_no != e->hdr.run_no) {
        tdi_error("%s: the manifest is malformed or names another file (body, year, sequence, "
                  "runId, runNo)",
                  mf);
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

/* The run of the file loaded for a sequence: its runId and runNo (0: none). */
typedef struct loaded_run {
    char id[32];
    int64_t no;
    int unknown; /* a file of schema 2.3 or later loaded before run_no was recorded */
} loaded_run;

/* Columns col.. of row 0: run_id, run_no, schema_version. */
static void get_run(PGresult *res, int col, loaded_run *r)
{
    int major = 0, minor = 0;

    snprintf(r->id, sizeof r->id, "%s", PQgetvalue(res, 0, col));
    r->no = PQgetisnull(res, 0, col + 1) ? 0 : strtoll(PQgetvalue(res, 0, col + 1), NULL, 10);
    if (sscanf(PQgetvalue(res, 0, col + 2), "%d.%d", &major, &minor) == 2)
        r->unknown = r->no == 0 && (major > 2 || (major == 2 && minor >= 3));
}

/* The order of e and the loaded run: rpt_run_cmp, but by runId when the loaded file's runNo was
 * not recorded (fill_run_no fills it in when that file is named again). */
static int run_cmp(const rpt_entry *e, const loaded_run *r)
{
    return r->unknown ? strcmp(e->hdr.run_id, r->id)
                      : rpt_run_cmp(e->hdr.run_no, e->hdr.run_id, r->no, r->id);
}

/* A file loaded before tdi_receiver had run_no (version 1) has none recorded: when the file is
 * named again, its runNo is filled in (after its manifest and SHA-256 are checked), before any
 * file is ordered against it. */
static tdi_status fill_run_no(loader *l, const rpt_entry *e)
{
    char year[16], seq[32], no[32], sha[TDI_SHA256_HEX];
    const char *p[6] = {e->hdr.body, year, seq, e->hdr.run_id, no, sha};
    PGresult *res = NULL;
    tdi_status st;

    if (e->bad || e->hdr.run_no < 1)
        return TDI_OK;
    snprintf(year, sizeof year, "%d", e->hdr.year);
    snprintf(seq, sizeof seq, "%" PRIu64, e->hdr.sequence);
    snprintf(no, sizeof no, "%" PRId64, e->hdr.run_no);
    st = query(l, "looking for a runNo to fill in",
               "SELECT sha256 FROM tdi_receiver.file" WHERE_BY
               " AND sequence = $3 AND run_id = $4 AND run_no IS NULL",
               4, p, PGRES_TUPLES_OK, &res);
    if (st != TDI_OK || PQntuples(res) == 0)
        goto done;
    if (check_manifest(e) != TDI_OK || tdi_sha256_file(e->path, sha) != TDI_OK ||
        strcmp(sha, PQgetvalue(res, 0, 0)) != 0)
        goto done; /* said when the file itself comes */
    st = query(l, "filling in the runNo",
               "UPDATE tdi_receiver.file SET run_no = $5" WHERE_BY
               " AND sequence = $3 AND run_id = $4 AND sha256 = $6 AND run_no IS NULL",
               6, p, PGRES_COMMAND_OK, NULL);
done:
    PQclear(res);
    return st;
}

/* What to do with e given what the database holds of its body and year (in the transaction).
 * *last: the latest sequence loaded; *run: the run of the file loaded for e's sequence. */
static tdi_status decide(loader *l, const rpt_entry *e, const char *sha, decision *d,
                         uint64_t *last, loaded_run *run)
{
    char year[16], seq[32];
    const char *p[3] = {e->hdr.body, year, seq};
    PGresult *res = NULL;
    tdi_status st;
    int c;

    snprintf(year, sizeof year, "%d", e->hdr.year);
    snprintf(seq, sizeof seq, "%" PRIu64, e->hdr.sequence);
    *last = 0;
    memset(run, 0, sizeof *run);
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
               "SELECT sequence, run_id, run_no, schema_version FROM tdi_receiver.file" WHERE_BY
               " AND superseded_by IS NULL ORDER BY sequence DESC LIMIT 1",
               2, p, PGRES_TUPLES_OK, &res);
    if (st != TDI_OK)
        goto done;
    if (PQntuples(res) > 0)
        *last = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    if (e->hdr.sequence == *last + 1) {
        *d = APPLY;
        goto done;
    }
    if (e->hdr.sequence > *last + 1) {
        *d = GAP;
        goto done;
    }
    if (e->hdr.sequence < *last) {
        /* An earlier sequence: settled when the run loaded for it is later than this one. */
        PQclear(res);
        st = query(l, "reading the file of the sequence",
                   "SELECT sequence, run_id, run_no, schema_version FROM tdi_receiver.file" WHERE_BY
                   " AND sequence = $3 AND superseded_by IS NULL",
                   3, p, PGRES_TUPLES_OK, &res);
        if (st != TDI_OK || PQntuples(res) == 0) {
            *d = LATE;
            goto done;
        }
    }
    get_run(res, 1, run);
    c = run_cmp(e, run);
    *d = c == 0 ? SAME_RUN : c < 0 ? SKIP_SUPERSEDED : e->hdr.sequence == *last ? SUPERSEDE : LATE;
done:
    PQclear(res);
    return st;
}

/* Appends s (NULL: SQL NULL) and end to the COPY data, escaped for COPY's text format. */
static tdi_status put(loader *l, const char *s, char end)
{
    if (!s) {
        tdi_status st = put(l, "", '\\');
        if (st == TDI_OK) { /* put leaves room for 3 bytes */
            l->buf[l->used++] = 'N';
            l->buf[l->used++] = end;
        }
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
    /* the file's year, but a continuing client's: an earlier one (schema 2.4: the year it started;
     * 2.5: the year before the file's, bottom-coded) */
    if (st == TDI_OK)
        st = query(l, "checking the year",
                   "SELECT min(pos) FROM pg_temp.stage WHERE action <> 'delete' AND CASE "
                   "continuing WHEN '1' THEN start_year::int >= $1 ELSE start_year::int <> $1 END "
                   "HAVING count(*) > 0",
                   1, p + 1, PGRES_TUPLES_OK, &res);
    if (st == TDI_OK && PQntuples(res) > 0) {
        tdi_error("%s:%s: an episode of another year than the file's, or a continuing one not of "
                  "an earlier year; not taken",
                  e->path, PQgetvalue(res, 0, 0));
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
    /* Every attribute as its column's type (rpt_attrs); the row's year is the file's. */
    for (int i = 0; i < RPT_NATTRS; i++) {
        const char *t = rpt_attrs[i].type;
        n += (size_t)snprintf(sel + n, sizeof sel - n, ", %s%s%s", rpt_attrs[i].column,
                              strcmp(t, "text") ? "::" : "", strcmp(t, "text") ? t : "");
    }
    snprintf(sql, sizeof sql,
             "INSERT INTO tdi_receiver.episode (body, year, %s) SELECT $1, $2::int%s FROM "
             "pg_temp.stage WHERE action <> 'delete'",
             l->cols, sel);
    if (st == TDI_OK)
        st = query(l, "adding the new rows", sql, 2, p, PGRES_COMMAND_OK, NULL);
    return st;
}

static tdi_status record_file(loader *l, const rpt_entry *e, const char *const p[3],
                              const char *sha, const unsigned long counts[3])
{
    char a[32], r[32], d[32], no[32];
    const char *base = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;
    const char *q[12] = {p[0],
                         p[1],
                         p[2],
                         e->hdr.run_id,
                         base,
                         sha,
                         e->hdr.key_id[0] ? e->hdr.key_id : NULL,
                         e->hdr.schema_version,
                         a,
                         r,
                         d,
                         e->hdr.run_no > 0 ? no : NULL};

    snprintf(no, sizeof no, "%" PRId64, e->hdr.run_no);
    snprintf(a, sizeof a, "%lu", counts[0]);
    snprintf(r, sizeof r, "%lu", counts[1]);
    snprintf(d, sizeof d, "%lu", counts[2]);
    return query(l, "recording the file",
                 "INSERT INTO tdi_receiver.file (body, year, sequence, run_id, file_name, sha256, "
                 "key_id, schema_version, appends, replaces, deletes, run_no) VALUES ($1, $2, $3, "
                 "$4, $5, $6, $7, $8, $9, $10, $11, $12)",
                 12, q, PGRES_COMMAND_OK, NULL);
}

/* "run ID, runNo N" (or "run ID, no runNo") into buf. */
static const char *run_text(char *buf, size_t len, const char *id, int64_t no)
{
    if (no > 0)
        snprintf(buf, len, "run %s, runNo %" PRId64, id, no);
    else
        snprintf(buf, len, "run %s, no runNo", id);
    return buf;
}

/* How e and the loaded run's file of one sequence were ordered, for the messages. */
static const char *order_text(const rpt_entry *e, const loaded_run *r)
{
    return r->unknown ? "ordered by runId: the loaded file's runNo is not recorded (loaded "
                        "before tdi_receiver version 2; name it again to fill it in)"
           : rpt_run_by_id(e->hdr.run_no, r->no)
               ? "ordered by runId: neither file has a runNo (schema before 2.3)"
           : e->hdr.run_no > 0 && r->no > 0 ? "ordered by runNo"
                                            : "ordered by runNo: only the later file has one";
}

/* Says what load_one decided; the status of the file. */
static tdi_status tell(loader *l, const rpt_entry *e, decision d, uint64_t last,
                       const loaded_run *run, const unsigned long counts[3], int *gap)
{
    const rpt_header *h = &e->hdr;
    char mine[80], theirs[80];

    run_text(mine, sizeof mine, h->run_id, h->run_no);
    run_text(theirs, sizeof theirs, run->id, run->no);
    switch (d) {
    case APPLY:
    case SUPERSEDE:
        fprintf(l->out, "%s %d sequence %" PRIu64 " (%s): %lu appends, %lu replaces, %lu deletes",
                h->body, h->year, h->sequence, mine, counts[0], counts[1], counts[2]);
        if (d == SUPERSEDE)
            fprintf(l->out, " (in place of the earlier %s; %s)", theirs, order_text(e, run));
        fprintf(l->out, " <- %s\n", e->path);
        return TDI_OK;
    case SKIP_LOADED:
        fprintf(l->out, "%s %d sequence %" PRIu64 " (%s): already loaded, nothing changed <- %s\n",
                h->body, h->year, h->sequence, mine, e->path);
        return TDI_OK;
    case SKIP_SUPERSEDED:
        fprintf(l->out,
                "%s %d sequence %" PRIu64 " (%s): superseded by the later %s (%s), skipped <- "
                "%s\n",
                h->body, h->year, h->sequence, mine, theirs, order_text(e, run), e->path);
        return TDI_OK;
    case GAP:
        *gap = 1;
        if (last == 0)
            tdi_error("%s: sequence %" PRIu64 " of %s %d, but nothing of it is loaded: sequence "
                      "1 is missing; nothing of %s %d from here on is loaded",
                      e->path, h->sequence, h->body, h->year, h->body, h->year);
        else
            tdi_error("%s: sequence %" PRIu64 " of %s %d follows %" PRIu64 ": sequence %" PRIu64
                      " is missing; nothing of %s %d from here on is loaded",
                      e->path, h->sequence, h->body, h->year, last, last + 1, h->body, h->year);
        return TDI_ERR_INVALID;
    case LATE:
        tdi_error("%s: sequence %" PRIu64 " of %s %d (%s) comes after sequence %" PRIu64
                  " was loaded and is not superseded by a loaded file: refused (reload the "
                  "year from its first file)",
                  e->path, h->sequence, h->body, h->year, mine, last);
        return TDI_ERR_INVALID;
    case SAME_RUN:
        tdi_error("%s: sequence %" PRIu64 " of %s %d (%s) differs from the loaded file of the "
                  "same run (%s): one run writes one file of a sequence; refused",
                  e->path, h->sequence, h->body, h->year, mine, theirs);
        return TDI_ERR_INVALID;
    }
    return TDI_OK;
}

/* One file in one transaction. *gap is set when the body's year cannot go on. */
static tdi_status load_one(loader *l, const rpt_entry *e, int *gap)
{
    char year[16], seq[32], sha[TDI_SHA256_HEX], sql[2048];
    const char *p[3] = {e->hdr.body, year, seq};
    unsigned long counts[3] = {0, 0, 0};
    uint64_t last = 0;
    loaded_run run = {"", 0, 0};
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
        st = decide(l, e, sha, &d, &last, &run);
    if (st != TDI_OK || (d != APPLY && d != SUPERSEDE))
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
    if (st != TDI_OK || (d != APPLY && d != SUPERSEDE))
        (void)command(l, "rolling back", "ROLLBACK");
    return st != TDI_OK ? st : tell(l, e, d, last, &run, counts, gap);
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
                              rpt_attrs[i].column);
        m += snprintf(l.defs + m, sizeof l.defs - (size_t)m, "%s%s text", i ? ", " : "",
                      rpt_attrs[i].column);
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
    st = tdi_pg_connect(conninfo, "tdi load", WHO, TDI_ERR_STATE, TDI_PG_ZONE_UTC, &l.conn,
                        &transient);
    if (st == TDI_OK)
        st = migrate(&l);
    if (st != TDI_OK) {
        worst = st;
        goto done;
    }
    for (size_t i = 0; i < s.n && st == TDI_OK; i++)
        st = fill_run_no(&l, &s.e[i]);
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
