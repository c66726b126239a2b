/*
 * extract: one clinic source as a stream of rows (see extract.h).
 *
 * The source query is wrapped, never edited: the wrapper selects the contract columns by name
 * and casts them, so a clinic maps any schema with a view or a SELECT with renames. Which columns
 * the query has is learnt first by preparing it and describing the statement (no row is read):
 * optional columns it lacks become typed NULLs in the wrapper. COPY text format costs the client
 * the least CPU of the ways to read a result, and PQgetCopyData hands over one row at a time.
 */
#include "extract.h"

#include "../common/tdi_log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct extract_source {
    PGconn *conn;
    const char *name; /* borrowed from the config */
    char *line;       /* current COPY row, owned by libpq (PQfreemem) */
    unsigned long rows;
    int in_copy;      /* 1 while the COPY has not ended */
};

/* Logs a server error without the values it may quote. Class 22 (data exception) and 23
 * (integrity) messages can carry a cell of the row, which may be a birth date or a name. */
static void log_pg_error(const char *source, const char *what, const PGresult *res,
                         const PGconn *conn)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)) {
        tdi_error("source %s: %s failed: SQLSTATE %s, a value of the source query does not fit "
                  "the column contract (the server's message is not shown: it may quote "
                  "personal data)",
                  source, what, state);
        return;
    }
    if (primary) {
        tdi_error("source %s: %s failed: %s (SQLSTATE %s)", source, what, primary,
                  state ? state : "?");
        return;
    }
    /* No result: a connection-level failure; libpq's text names the host, not data. */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", conn ? PQerrorMessage(conn) : "no connection");
    msg[strcspn(msg, "\n")] = '\0';
    tdi_error("source %s: %s failed: %s", source, what, msg);
}

static tdi_status run_command(extract_source *s, const char *sql, const char *what)
{
    PGresult *res = PQexec(s->conn, sql);
    tdi_status st = TDI_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        log_pg_error(s->name, what, res, s->conn);
        st = TDI_ERR_SOURCE;
    }
    PQclear(res);
    return st;
}

/* Length of the source query without the blanks and semicolons at its end: a trailing semicolon
 * would end the wrapped query early. */
static size_t query_len(const char *query)
{
    size_t qlen = strlen(query);

    while (qlen > 0 && strchr(" \t\r\n;", query[qlen - 1]))
        qlen--;
    return qlen;
}

char *extract_copy_sql(const tdi_source_config *src, int year,
                       const unsigned char present[TDI_COL_COUNT])
{
    size_t qlen = query_len(src->query), cap;
    char *sql, *p;
    int n;

    cap = qlen + 1024 + 80 * TDI_COL_COUNT;
    sql = malloc(cap);
    if (!sql)
        return NULL;
    p = sql;
    p += snprintf(p, cap, "COPY (SELECT ");
    for (int i = 0; i < TDI_COL_COUNT; i++) {
        if (present[i])
            p += snprintf(p, cap - (size_t)(p - sql), "%stdi_src.\"%s\"::%s", i ? ", " : "",
                          tdi_columns[i].name, tdi_columns[i].sql_type);
        else
            p += snprintf(p, cap - (size_t)(p - sql), "%sNULL::%s", i ? ", " : "",
                          tdi_columns[i].sql_type);
    }
    /* The newline keeps a trailing -- comment in the source query from eating the wrapper. */
    n = snprintf(p, cap - (size_t)(p - sql),
                 " FROM (\n%.*s\n) AS tdi_src WHERE tdi_src.\"start_date\" IS NULL OR "
                 "(tdi_src.\"start_date\"::date >= DATE '%04d-01-01' AND "
                 "tdi_src.\"start_date\"::date < DATE '%04d-01-01')) TO STDOUT",
                 (int)qlen, src->query, year, year + 1);
    if (n < 0 || (size_t)n >= cap - (size_t)(p - sql)) {
        free(sql);
        return NULL;
    }
    return sql;
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

/* Prepares the source query (unnamed statement) and describes it: the names of its columns,
 * without running it. */
static tdi_status describe_query(extract_source *s, const tdi_source_config *src,
                                 unsigned char present[TDI_COL_COUNT])
{
    size_t qlen = query_len(src->query), cap = qlen + 64;
    const char **names = NULL;
    PGresult *res = NULL;
    char *sql = malloc(cap);
    tdi_status st = TDI_OK;
    int n;

    if (!sql)
        return TDI_ERR_INTERNAL;
    snprintf(sql, cap, "SELECT * FROM (\n%.*s\n) AS tdi_src", (int)qlen, src->query);
    res = PQprepare(s->conn, "", sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        log_pg_error(s->name, "the source query", res, s->conn);
        st = TDI_ERR_SOURCE;
        goto done;
    }
    PQclear(res);
    res = PQdescribePrepared(s->conn, "");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        log_pg_error(s->name, "describing the source query", res, s->conn);
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
    st = extract_match_columns(s->name, names, n, present);
    if (st == TDI_OK)
        st = check_national_id(src, present);
done:
    free(names);
    PQclear(res);
    free(sql);
    return st;
}

tdi_status extract_open(const tdi_source_config *src, int year, extract_source **out)
{
    /* Later keywords override earlier ones, and the conninfo expands in place of dbname: our
     * defaults go first so the source's own settings win. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const vals[] = {"30", "tdi", src->conninfo, NULL};
    unsigned char present[TDI_COL_COUNT];
    extract_source *s;
    PGresult *res = NULL;
    char *sql = NULL;
    tdi_status st = TDI_OK;

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return TDI_ERR_INTERNAL;
    s->name = src->name;
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        log_pg_error(s->name, "connecting", NULL, s->conn);
        st = TDI_ERR_SOURCE;
        goto done;
    }
    if (PQsetClientEncoding(s->conn, "UTF8") != 0) {
        log_pg_error(s->name, "setting client_encoding UTF8", NULL, s->conn);
        st = TDI_ERR_SOURCE;
        goto done;
    }
    /* ISO dates whatever the server's default; one snapshot for the whole read. */
    st = run_command(s, "SET DateStyle = ISO", "setting DateStyle");
    if (st == TDI_OK)
        st = run_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                         "starting the read-only snapshot");
    if (st == TDI_OK)
        st = describe_query(s, src, present);
    if (st != TDI_OK)
        goto done;

    sql = extract_copy_sql(src, year, present);
    if (!sql) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        log_pg_error(s->name, "the source query", res, s->conn);
        st = TDI_ERR_SOURCE;
        goto done;
    }
    s->in_copy = 1;

done:
    PQclear(res);
    free(sql);
    if (st == TDI_OK)
        *out = s;
    else
        extract_close(s);
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

tdi_status extract_parse_copy_line(char *line, size_t len, tdi_raw_row *row)
{
    char *end = line + len, *w = line;
    const char *r = line;
    int col = 0;

    if (len > 0 && end[-1] == '\n')
        end--;
    row->col[col] = w;
    while (r < end) {
        if (*r == '\t') {
            *w++ = '\0';
            r++;
            if (++col >= TDI_COL_COUNT)
                return TDI_ERR_SOURCE;
            row->col[col] = w;
        } else if (*r == '\\' && r + 1 < end) {
            r++;
            if (*r == 'N' && w == row->col[col] && (r + 1 == end || r[1] == '\t')) {
                row->col[col] = NULL;
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
    return col == TDI_COL_COUNT - 1 ? TDI_OK : TDI_ERR_SOURCE;
}

/* Ends the COPY the pg_dump way: every result is drained, and only COMMAND_OK is success. */
static tdi_status finish_copy(extract_source *s)
{
    tdi_status st = TDI_OK;
    PGresult *res;

    s->in_copy = 0;
    while ((res = PQgetResult(s->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && st == TDI_OK) {
            log_pg_error(s->name, "reading the COPY stream", res, s->conn);
            st = TDI_ERR_SOURCE;
        }
        PQclear(res);
    }
    return st;
}

tdi_status extract_next(extract_source *s, tdi_raw_row *row, int *eof)
{
    int n;

    *eof = 0;
    if (s->line) {
        PQfreemem(s->line);
        s->line = NULL;
    }
    if (!s->in_copy) {
        *eof = 1;
        return TDI_OK;
    }
    n = PQgetCopyData(s->conn, &s->line, 0);
    if (n > 0) {
        s->rows++;
        row->row_number = s->rows;
        if (extract_parse_copy_line(s->line, (size_t)n, row) != TDI_OK) {
            tdi_error("source %s: row %lu of the COPY stream is malformed", s->name, s->rows);
            return TDI_ERR_SOURCE;
        }
        return TDI_OK;
    }
    if (n == -1) {
        *eof = 1;
        return finish_copy(s);
    }
    /* -2: the stream broke; the reason is in the pending result. */
    if (finish_copy(s) == TDI_OK)
        log_pg_error(s->name, "reading the COPY stream", NULL, s->conn);
    return TDI_ERR_SOURCE;
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
            /* Closed early (a signal, an error downstream): stop the server sending. */
            char errbuf[256];
            PGcancel *cancel = PQgetCancel(s->conn);
            if (cancel) {
                PQcancel(cancel, errbuf, sizeof errbuf);
                PQfreeCancel(cancel);
            }
            char *buf;
            while (PQgetCopyData(s->conn, &buf, 0) > 0)
                PQfreemem(buf);
            finish_copy(s);
            st = TDI_ERR_SOURCE;
        } else if (PQtransactionStatus(s->conn) == PQTRANS_INTRANS) {
            st = run_command(s, "COMMIT", "ending the snapshot");
        }
    }
    PQfinish(s->conn);
    free(s);
    return st;
}
