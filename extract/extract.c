/*
 * extract: one clinic source as a stream of rows (see extract.h).
 *
 * The source query is wrapped, never edited: the wrapper selects the contract columns by name
 * and casts them, so a clinic maps any schema with a view or a SELECT with renames. Which columns
 * the query has is learnt first by preparing it and describing the statement (no row is read):
 * the wrapper selects only the contract columns it has, and the client fills the others in as
 * NULL (44 typed NULLs per row cost the server about as much as the rows themselves, and the
 * client their parsing). COPY text format costs the client the least CPU of the ways to read a
 * result, and PQgetCopyData hands over one row at a time.
 *
 * An incremental source adds its change-time column to the select list (as fixed-width UTC
 * text, so the largest value is the largest string) and to the filter, typed so that neither
 * depends on the session's TimeZone (put_changed); the key scan then reads
 * the episode ids of the whole year in the same snapshot, so deletions are seen whatever the
 * change times say. The snapshot can then stay open for one more COPY of chosen episodes
 * (extract_episodes_begin), their ids a transaction-local setting that a parameter sets.
 */
#include "extract.h"

#include "ex_conv.h"
#include "ex_sql.h"

#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO_MAX 64

struct extract_source {
    PGconn *conn;
    const tdi_source_config *src; /* borrowed from the config */
    int year;
    char who[WHO_MAX]; /* "source NAME", for messages */
    char *line;        /* current COPY row, owned by libpq (PQfreemem) */
    unsigned long rows;
    int in_copy;           /* 1 while a COPY has not ended */
    int incremental;       /* the rows carry the change-time column after the contract columns */
    unsigned changed_type; /* its pg_type OID (EXTRACT_OID_*) */
    PGresult *desc;        /* the source query described: its columns (extract_column) */
    ex_conv *conv;         /* NULL: the server sends UTF-8 (or a SQL_ASCII source's bytes) */
    unsigned char present[TDI_COL_COUNT]; /* the contract columns the query has (the filters) */
    char max_changed[CHANGED_LEN + 1];    /* largest change time seen, "" for none */
    char snapshot_at[CHANGED_LEN + 1];    /* the source's clock when the snapshot was taken */
};

/* Of the calling thread's last failure (sources are read in threads of their own); see
 * extract_failure_transient(). */
static _Thread_local int last_transient;

int extract_failure_transient(void)
{
    return last_transient;
}

static tdi_status run_command(extract_source *s, const char *sql, const char *what)
{
    return tdi_pg_query(s->conn, s->who, what, TDI_ERR_SOURCE, sql, 0, NULL, PGRES_COMMAND_OK, NULL,
                        &last_transient);
}

tdi_status extract_match_columns(const char *source, const char *const *names, int n,
                                 unsigned char present[TDI_COL_COUNT])
{
    char absent[64 * TDI_COL_COUNT];
    size_t used = 0;
    int nabsent = 0;
    tdi_status st = TDI_OK;

    memset(present, 0, TDI_COL_COUNT);
    for (int i = 0; i < n; i++) {
        int c = names[i] ? tdi_column_by_name(names[i]) : -1;

        if (c >= 0)
            present[c] = 1;
    }
    absent[0] = '\0';
    for (int c = 0; c < TDI_COL_COUNT; c++) {
        if (present[c])
            continue;
        if (tdi_columns[c].required) {
            tdi_error("source %s: the source query has no column %s (required; see README.md, "
                      "\"Source query\")",
                      source, tdi_columns[c].name);
            st = TDI_ERR_SOURCE;
            continue;
        }
        if (used < sizeof absent) {
            int k = snprintf(absent + used, sizeof absent - used, "%s%s", nabsent ? ", " : "",
                             tdi_columns[c].name);
            used += k > 0 ? (size_t)k : 0;
        }
        nabsent++;
    }
    if (st == TDI_OK && nabsent)
        tdi_info("source %s: %d optional column%s not in the source query, not known in every "
                 "row: %s",
                 source, nabsent, nabsent == 1 ? "" : "s", absent);
    return st;
}

/* The national_id column and the source's scheme must agree: a scheme without the column would
 * quietly key every person by SLK-581 or client id instead. */
static tdi_status check_national_id(const tdi_source_config *src,
                                    const unsigned char present[TDI_COL_COUNT])
{
    if (src->national_id != TDI_NID_NONE && !present[TDI_COL_NATIONAL_ID]) {
        tdi_error("source %s: national_id = %s in the config, but the source query yields no "
                  "national_id column",
                  src->name, tdi_nid_scheme_names[src->national_id]);
        return TDI_ERR_SOURCE;
    }
    if (src->national_id == TDI_NID_NONE && present[TDI_COL_NATIONAL_ID])
        tdi_warn("source %s: the source query yields a national_id column, but national_id = "
                 "none in the config: it is not used",
                 src->name);
    return TDI_OK;
}

/* The change-time column an incremental source names must be there, of a time type: without
 * it every read would fail on it anyway; say which column, once. Its type goes to
 * s->changed_type. */
static tdi_status check_incremental(extract_source *s, const tdi_source_config *src,
                                    const PGresult *res, const char *const *names, int n)
{
    if (!src->incremental)
        return TDI_OK;
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], src->incremental) == 0) {
            s->changed_type = PQftype(res, i);
            return extract_check_changed_type(src->name, src->incremental, s->changed_type);
        }
    tdi_error("source %s: incremental = %s in the config, but the source query yields no %s "
              "column",
              src->name, src->incremental, src->incremental);
    return TDI_ERR_SOURCE;
}

/* Marks the date columns the source types as dates or timestamps (pg_type OIDs 1082, 1114,
 * 1184): casting those to date on the server cannot fail. */
static void mark_typed_dates(const PGresult *res, const char *const *names, int n,
                             unsigned char present[TDI_COL_COUNT])
{
    for (int i = 0; i < n; i++) {
        int c = names[i] ? tdi_column_by_name(names[i]) : -1;
        Oid t = PQftype(res, i);

        if (c >= 0 && tdi_columns[c].kind == TDI_KIND_DATE &&
            (t == EXTRACT_OID_DATE || t == EXTRACT_OID_TIMESTAMP || t == EXTRACT_OID_TIMESTAMPTZ))
            present[c] = EXTRACT_DATE_TYPED;
    }
}

/* How the source's text reaches tdi. A SQL_ASCII database checks no encoding: its text is bytes,
 * and with client_encoding UTF8 the server refuses to send a row whose bytes are no UTF-8 (22021),
 * which fails the whole COPY; it is read as the bytes it holds and tdi checks every cell (R019).
 * Another encoding's conversion fails the whole COPY too at a byte it cannot convert (22P05): a
 * source in one ex_conv converts is read as stored and converted a cell at a time, so that the row
 * goes to quarantine, not the source. The others are converted by the server. */
static tdi_status choose_encoding(extract_source *s)
{
    const char *enc = PQparameterStatus(s->conn, "server_encoding");
    tdi_status st;

    if (enc && strcmp(enc, "SQL_ASCII") == 0) {
        if (PQsetClientEncoding(s->conn, "SQL_ASCII") != 0) {
            tdi_pg_log_error(s->who, "setting client_encoding SQL_ASCII", NULL, s->conn);
            return TDI_ERR_SOURCE;
        }
        return TDI_OK;
    }
    if (!enc || strcmp(enc, "UTF8") == 0)
        return TDI_OK;
    if ((st = ex_conv_open(s->who, enc, &s->conv)) != TDI_OK || !s->conv)
        return st;
    if (PQsetClientEncoding(s->conn, enc) != 0) {
        tdi_pg_log_error(s->who, "setting client_encoding to the server's", NULL, s->conn);
        last_transient = tdi_pg_transient(NULL, s->conn);
        return TDI_ERR_SOURCE;
    }
    return TDI_OK;
}

/* sql as the source reads it: *conv NULL when sql goes as it is (UTF-8 to a server that converts,
 * or ASCII), else sql converted (malloc'd, *conv_len bytes); what has a character the source's
 * encoding has not is an error naming what and the encoding. */
static tdi_status to_source(extract_source *s, const char *sql, const char *what, char **conv,
                            size_t *conv_len)
{
    tdi_status st;

    *conv = NULL;
    if (!s->conv || !ex_conv_needed(sql, strlen(sql)))
        return TDI_OK;
    st = ex_conv_to_source(s->conv, sql, conv, conv_len);
    if (st == TDI_ERR_SOURCE)
        tdi_error("%s: %s has a character the database's encoding %s cannot hold", s->who, what,
                  PQparameterStatus(s->conn, "server_encoding"));
    else if (st != TDI_OK)
        tdi_error("%s: %s: converting to the database's encoding failed", s->who, what);
    last_transient = 0;
    return st;
}

/* Prepares the source query (unnamed statement) and describes it: the names of its columns,
 * without running it. */
static tdi_status describe_query(extract_source *s, const tdi_source_config *src,
                                 unsigned char present[TDI_COL_COUNT])
{
    size_t qlen = ex_query_len(src->query), cap = qlen + 64, conv_len = 0;
    const char **names = NULL;
    PGresult *res = NULL;
    char *sql = malloc(cap), *conv = NULL;
    tdi_status st = TDI_OK;
    int n;

    if (!sql)
        return TDI_ERR_INTERNAL;
    snprintf(sql, cap, "SELECT * FROM (\n%.*s\n) AS tdi_src", (int)qlen, src->query);
    if ((st = to_source(s, sql, "the source query", &conv, &conv_len)) != TDI_OK)
        goto done;
    /* Metadata only, no row is read: these short synchronous calls keep no stop waiting. */
    res = PQprepare(s->conn, "", conv ? conv : sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        tdi_pg_log_error(s->who, "the source query", res, s->conn);
        last_transient = tdi_pg_transient(res, s->conn);
        st = TDI_ERR_SOURCE;
        goto done;
    }
    PQclear(res);
    res = PQdescribePrepared(s->conn, "");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        tdi_pg_log_error(s->who, "describing the source query", res, s->conn);
        last_transient = tdi_pg_transient(res, s->conn);
        st = TDI_ERR_SOURCE;
        goto done;
    }
    n = PQnfields(res);
    names = calloc(n > 0 ? (size_t)n : 1, sizeof *names);
    if (!names) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    for (int i = 0; i < n; i++)
        names[i] = PQfname(res, i);
    st = extract_match_columns(src->name, names, n, present);
    mark_typed_dates(res, names, n, present);
    memcpy(s->present, present, sizeof s->present);
    if (st == TDI_OK)
        st = check_national_id(src, present);
    if (st == TDI_OK)
        st = check_incremental(s, src, res, names, n);
    /* Kept: its columns' names and types are part of the source's fingerprint. */
    s->desc = res;
    res = NULL;
done:
    free(names);
    PQclear(res);
    free(sql);
    free(conv);
    return st;
}

/* Starts sql, a COPY ... TO STDOUT, on the connection. */
static tdi_status start_copy(extract_source *s, const char *sql, const char *what)
{
    char *conv = NULL;
    size_t conv_len = 0;
    tdi_status st;

    if (!sql) {
        tdi_error("%s: %s: cannot build the statement", s->who, what);
        return TDI_ERR_INTERNAL;
    }
    if ((st = to_source(s, sql, what, &conv, &conv_len)) != TDI_OK)
        return st;
    st = tdi_pg_query(s->conn, s->who, what, TDI_ERR_SOURCE, conv ? conv : sql, 0, NULL,
                      PGRES_COPY_OUT, NULL, &last_transient);
    free(conv);
    if (st == TDI_OK) {
        s->in_copy = 1;
        s->rows = 0;
    }
    return st;
}

/* The source's clock at the start of the snapshot (now() is the transaction's start). */
static tdi_status read_snapshot_time(extract_source *s)
{
    PGresult *res = NULL;
    tdi_status st;

    st = tdi_pg_query(
        s->conn, s->who, "reading the server's clock", TDI_ERR_SOURCE,
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", 0, NULL,
        PGRES_TUPLES_OK, &res, &last_transient);
    if (st == TDI_OK && (PQntuples(res) != 1 || !ex_changed_ok(PQgetvalue(res, 0, 0)))) {
        tdi_error("%s: reading the server's clock failed: unexpected answer", s->who);
        st = TDI_ERR_SOURCE;
    }
    if (st == TDI_OK)
        memcpy(s->snapshot_at, PQgetvalue(res, 0, 0), CHANGED_LEN + 1);
    PQclear(res);
    return st;
}

tdi_status extract_connect(const tdi_source_config *src, int year, extract_source **out)
{
    unsigned char present[TDI_COL_COUNT];
    extract_source *s;
    tdi_status st;

    *out = NULL;
    last_transient = 0;
    s = calloc(1, sizeof *s);
    if (!s)
        return TDI_ERR_INTERNAL;
    s->src = src;
    s->year = year;
    s->incremental = src->incremental != NULL;
    snprintf(s->who, sizeof s->who, "source %s", src->name);
    st = tdi_pg_connect(src->conninfo, "tdi", s->who, TDI_ERR_SOURCE, TDI_PG_ZONE_SOURCE, &s->conn,
                        &last_transient);
    /* A clinic server that stalls must not hold the night's run (README: source_stall_timeout). */
    if (st == TDI_OK)
        st = tdi_pg_set_stall_timeout(s->conn, s->who, src->stall_timeout * 1000);
    if (st == TDI_OK)
        st = choose_encoding(s);
    /* One snapshot for the rows and the key scan. */
    if (st == TDI_OK)
        st = run_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                         "starting the read-only snapshot");
    if (st == TDI_OK)
        st = describe_query(s, src, present);
    if (st == TDI_OK && s->incremental)
        st = read_snapshot_time(s);
    if (st == TDI_OK)
        *out = s;
    else
        extract_close(s);
    return st;
}

int extract_ncolumns(const extract_source *s)
{
    return s->desc ? PQnfields(s->desc) : 0;
}

const char *extract_column(const extract_source *s, int i, unsigned *type)
{
    *type = PQftype(s->desc, i);
    return PQfname(s->desc, i);
}

tdi_status extract_rows_begin(extract_source *s, const char *since)
{
    char *sql = extract_copy_sql(s->src, s->year, s->present, s->changed_type, since);
    tdi_status st = start_copy(s, sql, "the source query");

    free(sql);
    return st;
}

tdi_status extract_open(const tdi_source_config *src, int year, const char *since,
                        extract_source **out)
{
    tdi_status st = extract_connect(src, year, out);

    if (st == TDI_OK && (st = extract_rows_begin(*out, since)) != TDI_OK) {
        extract_close(*out);
        *out = NULL;
    }
    return st;
}

/* Decodes one backslash escape of COPY text format starting at *pp (just past the backslash)
 * and returns the byte; advances *pp. */
static char decode_escape(const char **pp)
{
    const char *p = *pp;
    char c = *p++;
    int v = 0, k;

    switch (c) {
    case 'b':
        c = '\b';
        break;
    case 'f':
        c = '\f';
        break;
    case 'n':
        c = '\n';
        break;
    case 'r':
        c = '\r';
        break;
    case 't':
        c = '\t';
        break;
    case 'v':
        c = '\v';
        break;
    case 'x':
        for (k = 0; k < 2 && strchr("0123456789abcdefABCDEF", *p) && *p; k++, p++)
            v = v * 16 + (*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
        c = k ? (char)v : 'x';
        break;
    default:
        if (c >= '0' && c <= '7') {
            v = c - '0';
            for (k = 1; k < 3 && *p >= '0' && *p <= '7'; k++, p++)
                v = v * 8 + (*p - '0');
            c = (char)v;
        }
        break; /* any other character stands for itself */
    }
    *pp = p;
    return c;
}

/* Splits one COPY text-format line in place into exactly ncols fields (NULL for \\N). */
static tdi_status parse_fields(char *line, size_t len, const char **cols, int ncols)
{
    char *end = line + len, *w = line;
    const char *r = line;
    int col = 0;

    if (len > 0 && end[-1] == '\n')
        end--;
    cols[col] = w;
    while (r < end) {
        if (*r == '\t') {
            *w++ = '\0';
            r++;
            if (++col >= ncols)
                return TDI_ERR_SOURCE;
            cols[col] = w;
        } else if (*r == '\\' && r + 1 < end) {
            r++;
            if (*r == 'N' && w == cols[col] && (r + 1 == end || r[1] == '\t')) {
                cols[col] = NULL;
                r++;
                continue;
            }
            char c = decode_escape(&r);
            if (c == '\0')
                return TDI_ERR_SOURCE; /* a NUL byte cannot be in a text value */
            *w++ = c;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return col == ncols - 1 ? TDI_OK : TDI_ERR_SOURCE;
}

/* Splits one COPY line of the rows' statement (copy_sql: the columns present marks, in contract
 * order, then with extra the change time into *extra) into row->col, the absent columns NULL. */
static tdi_status parse_row(char *line, size_t len, const unsigned char present[TDI_COL_COUNT],
                            int extra, tdi_raw_row *row, const char **extra_out)
{
    const char *cols[TDI_COL_COUNT + 1];
    int n = 0;

    for (int c = 0; c < TDI_COL_COUNT; c++)
        n += present[c] != 0;
    if (parse_fields(line, len, cols, n + extra) != TDI_OK)
        return TDI_ERR_SOURCE;
    n = 0;
    for (int c = 0; c < TDI_COL_COUNT; c++)
        row->col[c] = present[c] ? cols[n++] : NULL;
    if (extra)
        *extra_out = cols[n];
    return TDI_OK;
}

tdi_status extract_parse_copy_line(char *line, size_t len,
                                   const unsigned char present[TDI_COL_COUNT], tdi_raw_row *row)
{
    return parse_row(line, len, present, 0, row, NULL);
}

/* The next line of the current COPY into s->line; *eof after the last. */
static tdi_status next_line(extract_source *s, const char *what, int *len, int *eof)
{
    tdi_status st;

    if (s->line) {
        PQfreemem(s->line);
        s->line = NULL;
    }
    *eof = 0;
    if (!s->in_copy) {
        *eof = 1;
        return TDI_OK;
    }
    st =
        tdi_pg_copy_get(s->conn, s->who, what, TDI_ERR_SOURCE, &s->line, len, eof, &last_transient);
    if (st != TDI_OK || *eof)
        s->in_copy = st == TDI_ERR_INTERRUPTED; /* interrupted: still in it, close cancels */
    return st;
}

/* The cells of a row of len bytes to UTF-8 (ex_conv), a cell that does not convert marked in
 * row->unconverted for R019. A line without a byte >= 0x80 (the common case) costs one scan. */
static tdi_status convert_row(extract_source *s, size_t len, tdi_raw_row *row)
{
    row->unconverted = 0;
    if (!s->conv || !ex_conv_needed(s->line, len))
        return TDI_OK;
    if (ex_conv_row(s->conv, len) != TDI_OK) {
        tdi_error("%s: out of memory", s->who);
        return TDI_ERR_INTERNAL;
    }
    for (int c = 0; c < TDI_COL_COUNT; c++) {
        int r = row->col[c] ? ex_conv_cell(s->conv, row->col[c], &row->col[c]) : 0;

        if (r < 0) {
            tdi_error("%s: row %lu: converting to UTF-8 failed", s->who, s->rows);
            return TDI_ERR_INTERNAL;
        }
        if (r)
            row->unconverted |= (uint64_t)1 << c;
    }
    return TDI_OK;
}

tdi_status extract_next(extract_source *s, tdi_raw_row *row, int *eof)
{
    const char *changed = NULL;
    int n = 0;
    tdi_status st = next_line(s, "reading the COPY stream", &n, eof);

    if (st != TDI_OK || *eof)
        return st;
    s->rows++;
    row->row_number = s->rows;
    if (parse_row(s->line, (size_t)n, s->present, s->incremental, row, &changed) != TDI_OK) {
        tdi_error("%s: row %lu of the COPY stream is malformed", s->who, s->rows);
        last_transient = 0;
        return TDI_ERR_SOURCE;
    }
    row->no_end_date = !s->present[TDI_COL_END_DATE];
    if ((st = convert_row(s, (size_t)n, row)) != TDI_OK)
        return st;
    if (changed) {
        if (!ex_changed_ok(changed)) {
            tdi_error("%s: row %lu: the change time is not a timestamp", s->who, s->rows);
            last_transient = 0;
            return TDI_ERR_SOURCE;
        }
        if (strcmp(changed, s->max_changed) > 0)
            memcpy(s->max_changed, changed, sizeof s->max_changed);
    }
    return TDI_OK;
}

const char *extract_max_changed(const extract_source *s)
{
    /* A change time ahead of the source's clock (clock skew, a typo) must not carry the
     * watermark into the future, where it would hide the next real changes. */
    if (s->snapshot_at[0] && strcmp(s->max_changed, s->snapshot_at) > 0)
        return s->snapshot_at;
    return s->max_changed;
}

tdi_status extract_keys_begin(extract_source *s)
{
    char *sql;
    tdi_status st;

    if (s->in_copy) {
        tdi_error("%s: key scan started before the rows were read", s->who);
        return TDI_ERR_INTERNAL;
    }
    sql = extract_keys_sql(s->src, s->year, s->present);
    st = start_copy(s, sql, "the key scan");
    free(sql);
    return st;
}

tdi_status extract_key_next(extract_source *s, const char **episode_id, int *eof)
{
    const char *cols[1];
    int n = 0;
    tdi_status st = next_line(s, "reading the key scan", &n, eof);

    *episode_id = NULL;
    if (st != TDI_OK || *eof)
        return st;
    s->rows++;
    if (parse_fields(s->line, (size_t)n, cols, 1) != TDI_OK) {
        tdi_error("%s: row %lu of the key scan is malformed", s->who, s->rows);
        last_transient = 0;
        return TDI_ERR_SOURCE;
    }
    *episode_id = cols[0];
    /* As the rows' episode ids, so that both give the same keys. */
    if (s->conv && cols[0] && ex_conv_needed(s->line, (size_t)n) &&
        (ex_conv_row(s->conv, (size_t)n) != TDI_OK ||
         ex_conv_cell(s->conv, cols[0], episode_id) < 0)) {
        tdi_error("%s: row %lu of the key scan: converting to UTF-8 failed", s->who, s->rows);
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}

/* ids as one PostgreSQL array literal, {"a","b"}, quotes and backslashes escaped; malloc'd
 * (*len bytes with the NUL, for the caller's wipe), NULL when out of memory. */
static char *ids_literal(const char *const *ids, size_t n, size_t *len)
{
    size_t cap = 3, used = 0;
    char *out;

    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(ids[i]) + 3;
    out = malloc(cap);
    if (!out)
        return NULL;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            out[used++] = ',';
        out[used++] = '"';
        for (const char *c = ids[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                out[used++] = '\\';
            out[used++] = *c;
        }
        out[used++] = '"';
    }
    out[used++] = '}';
    out[used] = '\0';
    *len = cap;
    return out;
}

tdi_status extract_episodes_begin(extract_source *s, const char *const *ids, size_t n)
{
    char *sql = NULL, *lit, *conv = NULL;
    size_t len = 0, conv_len = 0;
    tdi_status st;

    if (s->in_copy || PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
        tdi_error("%s: episodes read again outside the snapshot", s->who);
        return TDI_ERR_INTERNAL;
    }
    last_transient = 0;
    lit = ids_literal(ids, n, &len);
    if (!lit)
        return TDI_ERR_INTERNAL;
    /* In the source's encoding, as the key scan read them. */
    st = to_source(s, lit, "an episode id read again", &conv, &conv_len);
    /* length(): the answer is a number, not the ids again. */
    if (st == TDI_OK)
        st = tdi_pg_query(s->conn, s->who, "passing the episodes to read again", TDI_ERR_SOURCE,
                          "SELECT length(set_config('" EXTRACT_IDS_SETTING "', $1, true))", 1,
                          (const char *const[]){conv ? conv : lit}, PGRES_TUPLES_OK, NULL,
                          &last_transient);
    explicit_bzero(lit, len);
    free(lit);
    if (conv)
        explicit_bzero(conv, conv_len);
    free(conv);
    if (st == TDI_OK) {
        sql = extract_episodes_sql(s->src, s->year, s->present, s->changed_type);
        st = start_copy(s, sql, "reading episodes again");
    }
    free(sql);
    return st;
}

int extract_in_snapshot(const extract_source *s)
{
    return s && !s->in_copy && PQstatus(s->conn) == CONNECTION_OK &&
           PQtransactionStatus(s->conn) == PQTRANS_INTRANS;
}

tdi_status extract_close(extract_source *s)
{
    tdi_status st = TDI_OK;

    if (!s)
        return TDI_OK;
    if (s->line)
        PQfreemem(s->line);
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) {
        if (s->in_copy) {
            /* Closed early (a signal, an error downstream): stop the server sending. The
             * connection is closed right after, so how the cancel ends does not matter. */
            (void)tdi_pg_recover(s->conn, 2000);
            st = TDI_ERR_SOURCE;
        } else if (PQtransactionStatus(s->conn) == PQTRANS_INTRANS) {
            st = run_command(s, "COMMIT", "ending the snapshot");
        }
    }
    PQfinish(s->conn);
    PQclear(s->desc);
    ex_conv_close(s->conv);
    free(s);
    return st;
}
