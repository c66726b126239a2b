/* ex_sql: the statements of a source read, built from the config and what the describe step
 * learnt (see ex_sql.h); no connection here. */
#include "ex_sql.h"

#include "../common/tdi_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ex_changed_ok(const char *s)
{
    static const char shape[] = "9999-99-99T99:99:99.999999Z";

    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == '9' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return 0;
    return s[sizeof shape - 1] == '\0';
}

/* The continuing-clients window (README.md, "Continuing clients"): an episode that started
 * before the year and is open in it (no end date, or one on or after 1 January). Only for a
 * source with an end_date column: without one, no episode can be told open from closed, and the
 * window would be every episode ever started. Typed dates are compared as dates; text ones as
 * text (a start that is no date already passes the year's filter, for R008; an end that is none
 * passes here, for R008 too). */
static int put_continuing(char *p, size_t cap, const char *start, int start_typed, int end_kind,
                          int year)
{
    if (!end_kind)
        return 0;
    return snprintf(
        p, cap, " OR (%s%s < %s'%04d-01-01' AND (%s IS NULL OR %s%s >= %s'%04d-01-01'%s))", start,
        start_typed ? "::date" : "", start_typed ? "DATE " : "", year,
        end_kind == EXTRACT_DATE_TYPED ? "tdi_src.\"end_date\"" : "tdi_end.e",
        end_kind == EXTRACT_DATE_TYPED ? "tdi_src.\"end_date\"" : "tdi_end.e",
        end_kind == EXTRACT_DATE_TYPED ? "::date" : "",
        end_kind == EXTRACT_DATE_TYPED ? "DATE " : "", year,
        end_kind == EXTRACT_DATE_TYPED ? "" : " OR tdi_end.e !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'");
}

/* Appends the wrapped query and the year filter: " FROM (QUERY) AS tdi_src WHERE ...". A typed
 * start_date is cast to date (which cannot fail); any other is compared as text, with no cast a
 * value can fail: one that is no YYYY-MM-DD date passes the filter and gets R008 in tdi. The
 * continuing clients are the same statement's second window (put_continuing): one COPY, one
 * snapshot, and the key scan sees what the rows' read sees, so a continuing episode that goes
 * is a delete like any other. */
static int put_from_where(char *p, size_t cap, const char *query, size_t qlen, int year,
                          const unsigned char present[TDI_COL_COUNT])
{
    int start_typed = present[TDI_COL_START_DATE] == EXTRACT_DATE_TYPED;
    int end_kind = present[TDI_COL_END_DATE];
    const char *end_text = end_kind && end_kind != EXTRACT_DATE_TYPED
                               ? ", LATERAL (SELECT left(btrim(tdi_src.\"end_date\"::text), 10) "
                                 "AS e) AS tdi_end"
                               : "";
    int n;

    /* The newline keeps a trailing -- comment in the source query from eating the wrapper. */
    if (start_typed)
        n = snprintf(p, cap,
                     " FROM (\n%.*s\n) AS tdi_src%s WHERE (tdi_src.\"start_date\" IS NULL OR "
                     "(tdi_src.\"start_date\"::date >= DATE '%04d-01-01' AND "
                     "tdi_src.\"start_date\"::date < DATE '%04d-01-01')",
                     (int)qlen, query, end_text, year, year + 1);
    else
        n = snprintf(p, cap,
                     " FROM (\n%.*s\n) AS tdi_src, LATERAL (SELECT left(btrim("
                     "tdi_src.\"start_date\"::text), 10) AS d) AS tdi_start%s WHERE "
                     "(tdi_start.d IS NULL OR tdi_start.d !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' OR "
                     "(tdi_start.d >= '%04d-01-01' AND tdi_start.d < '%04d-01-01')",
                     (int)qlen, query, end_text, year, year + 1);
    if (n < 0 || (size_t)n >= cap)
        return n;
    n += put_continuing(p + n, cap - (size_t)n,
                        start_typed ? "tdi_src.\"start_date\"" : "tdi_start.d", start_typed,
                        end_kind, year);
    if (n < 0 || (size_t)n + 1 >= cap)
        return n;
    p[n++] = ')';
    p[n] = '\0';
    return n;
}

size_t ex_query_len(const char *query)
{
    size_t qlen = strlen(query);

    while (qlen > 0 && strchr(" \t\r\n;", query[qlen - 1]))
        qlen--;
    return qlen;
}

/* Ends the statement in sql (its end at p, cap bytes in all) with ") TO STDOUT". NULL, and sql
 * freed, when the statement did not fit. */
static char *end_copy_sql(char *sql, char *p, size_t cap)
{
    size_t used = (size_t)(p - sql);
    int n = used < cap ? snprintf(p, cap - used, ") TO STDOUT") : -1;

    if (n < 0 || (size_t)n >= cap - used) {
        free(sql);
        return NULL;
    }
    return sql;
}

/* The change-time column col of pg_type type as a timestamptz that means the same whatever the
 * session's TimeZone (a source's is its own): a timestamp or a date is taken as UTC, as tdi took
 * it when every session was in UTC, so a watermark saved then still means the same instant. */
static int put_changed(char *p, size_t cap, const char *col, unsigned type)
{
    if (type == EXTRACT_OID_TIMESTAMPTZ)
        return snprintf(p, cap, "tdi_src.\"%s\"", col);
    return snprintf(p, cap, "(tdi_src.\"%s\"%s AT TIME ZONE 'UTC')", col,
                    type == EXTRACT_OID_DATE ? "::timestamp" : "");
}

static int changed_type_ok(unsigned type)
{
    return type == EXTRACT_OID_TIMESTAMPTZ || type == EXTRACT_OID_TIMESTAMP ||
           type == EXTRACT_OID_DATE;
}

/* The SQL name of the built-in types a change column is likely to have by mistake. */
static const char *type_name(unsigned type)
{
    static const struct {
        unsigned oid;
        const char *name;
    } names[] = {{16, "boolean"},
                 {20, "bigint"},
                 {21, "smallint"},
                 {23, "integer"},
                 {25, "text"},
                 {700, "real"},
                 {701, "double precision"},
                 {1042, "character"},
                 {1043, "character varying"},
                 {1083, "time"},
                 {1266, "time with time zone"},
                 {1700, "numeric"}};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].oid == type)
            return names[i].name;
    return NULL;
}

tdi_status extract_check_changed_type(const char *source, const char *column, unsigned type)
{
    const char *name = type_name(type);
    char oid[32];

    if (changed_type_ok(type))
        return TDI_OK;
    snprintf(oid, sizeof oid, "OID %u", type);
    tdi_error("source %s: incremental = %s: the column is of type %s; a change time must be "
              "timestamptz, timestamp or date. Cast it in the source query (%s::timestamptz AS "
              "%s: a value that is no time then fails there) or remove incremental from the "
              "config",
              source, column, name ? name : oid, column, column);
    return TDI_ERR_SOURCE;
}

/* The rows' COPY (extract_copy_sql), or with episodes the targeted one (extract_episodes_sql). */
static char *copy_sql(const tdi_source_config *src, int year,
                      const unsigned char present[TDI_COL_COUNT], unsigned changed_type,
                      const char *since, int episodes)
{
    const char *col = src->incremental;
    size_t qlen = ex_query_len(src->query), cap;
    char *sql, *p;
    int ncol = 0;

    if ((since && (!col || !ex_changed_ok(since))) || (col && !changed_type_ok(changed_type)))
        return NULL;
    cap = qlen + 1024 + 80 * TDI_COL_COUNT + (col ? 4 * strlen(col) + 256 : 0);
    sql = malloc(cap);
    if (!sql)
        return NULL;
    p = sql;
    p += snprintf(p, cap, "COPY (SELECT ");
    for (int i = 0; i < TDI_COL_COUNT; i++) {
        int as_text = tdi_columns[i].kind == TDI_KIND_DATE && present[i] != EXTRACT_DATE_TYPED;

        if (present[i])
            p += snprintf(p, cap - (size_t)(p - sql), "%stdi_src.\"%s\"::%s", ncol++ ? ", " : "",
                          tdi_columns[i].name, as_text ? "text" : tdi_columns[i].sql_type);
    }
    if (col) {
        p += snprintf(p, cap - (size_t)(p - sql), ", to_char(");
        p += put_changed(p, cap - (size_t)(p - sql), col, changed_type);
        p += snprintf(p, cap - (size_t)(p - sql),
                      " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    }
    p += put_from_where(p, cap - (size_t)(p - sql), src->query, qlen, year, present);
    /* A NULL change time cannot be compared: such a row is read every time, never missed. */
    if (since) {
        p += snprintf(p, cap - (size_t)(p - sql), " AND (tdi_src.\"%s\" IS NULL OR ", col);
        p += put_changed(p, cap - (size_t)(p - sql), col, changed_type);
        p += snprintf(p, cap - (size_t)(p - sql), " > TIMESTAMPTZ '%s')", since);
    }
    /* The ids come as a transaction-local setting, which a parameter sets (COPY takes none): no
     * id is in the statement's text, which the server shows in pg_stat_activity and its log. A
     * semi join reads the setting once; the view is scanned once, as by the key scan. */
    if (episodes)
        p += snprintf(p, cap - (size_t)(p - sql),
                      " AND tdi_src.\"episode_id\"::text IN (SELECT "
                      "unnest(current_setting('" EXTRACT_IDS_SETTING "')::text[]))");
    return end_copy_sql(sql, p, cap);
}

char *extract_copy_sql(const tdi_source_config *src, int year,
                       const unsigned char present[TDI_COL_COUNT], unsigned changed_type,
                       const char *since)
{
    return copy_sql(src, year, present, changed_type, since, 0);
}

char *extract_episodes_sql(const tdi_source_config *src, int year,
                           const unsigned char present[TDI_COL_COUNT], unsigned changed_type)
{
    return copy_sql(src, year, present, changed_type, NULL, 1);
}

char *extract_keys_sql(const tdi_source_config *src, int year,
                       const unsigned char present[TDI_COL_COUNT])
{
    size_t qlen = ex_query_len(src->query), cap = qlen + 1024;
    char *sql = malloc(cap), *p;

    if (!sql)
        return NULL;
    p = sql;
    p += snprintf(p, cap, "COPY (SELECT tdi_src.\"episode_id\"::text");
    p += put_from_where(p, cap - (size_t)(p - sql), src->query, qlen, year, present);
    return end_copy_sql(sql, p, cap);
}
