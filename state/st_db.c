/*
 * st_db: the connection to the state database, its schema and the run lock.
 *
 * Owns state_open/state_close, the query helpers every state/ module uses (st_int.h), the
 * migrations (`tdi init`: the .sql files under schemas/state/, embedded at build time by
 * state/st_embed.sh, each applied in its own transaction), the schema check every other command
 * makes, and the session advisory lock a run holds.
 */
#include "st_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"
#include "../common/tdi_version.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ statements */

tdi_status st_query(state_db *st, const char *what, const char *sql, int nparams,
                    const char *const *params, ExecStatusType want, PGresult **res)
{
    return tdi_pg_query(st->conn, WHO, what, TDI_ERR_STATE, sql, nparams, params, want, res, NULL);
}

tdi_status st_command(state_db *st, const char *what, const char *sql, int nparams,
                      const char *const *params)
{
    return st_query(st, what, sql, nparams, params, PGRES_COMMAND_OK, NULL);
}

tdi_status st_query_value(state_db *st, const char *what, const char *sql, int nparams,
                          const char *const *params, char *out, size_t len, int *found)
{
    PGresult *res = NULL;
    tdi_status s = st_query(st, what, sql, nparams, params, PGRES_TUPLES_OK, &res);

    if (found)
        *found = 0;
    if (len)
        out[0] = '\0';
    if (s == TDI_OK && PQntuples(res) > 0) {
        if (found)
            *found = 1;
        snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return s;
}

tdi_status st_name_year_value(state_db *st, const char *what, const char *sql, const char *name,
                              int year, char *out, size_t len, int *found)
{
    char ystr[16];
    const char *params[2] = {name, ystr};

    snprintf(ystr, sizeof ystr, "%d", year);
    return st_query_value(st, what, sql, 2, params, out, len, found);
}

tdi_status state_open(const char *conninfo, state_db **out)
{
    state_db *st = calloc(1, sizeof *st);
    tdi_status s;

    *out = NULL;
    if (!st) {
        tdi_error(WHO ": out of memory");
        return TDI_ERR_INTERNAL;
    }
    st->conninfo = strdup(conninfo);
    s = st->conninfo
            ? tdi_pg_connect(conninfo, "tdi", WHO, TDI_ERR_STATE, TDI_PG_ZONE_UTC, &st->conn, NULL)
            : TDI_ERR_INTERNAL;
    if (s == TDI_ERR_INTERNAL)
        tdi_error(WHO ": out of memory");
    if (s != TDI_OK) {
        free(st->conninfo);
        free(st);
        return s;
    }
    *out = st;
    return TDI_OK;
}

void state_close(state_db *st)
{
    char done[8];

    if (!st)
        return;
    /* The session's end releases the run lock too, but only once the server has seen it: a run
     * started right after this one could still find the lock held. Released here, it is free
     * when this returns. A run's unlogged tables (st_delta.c) are emptied first, under the lock:
     * its records do not stay on disk until the next run (1M: about 300 MB). */
    if (st->locked && PQstatus(st->conn) == CONNECTION_OK &&
        PQtransactionStatus(st->conn) == PQTRANS_IDLE)
        (void)st_query_value(st, "releasing the run lock",
                             st->scratch ? "TRUNCATE tdi.run_rec, tdi.run_reid_g, tdi.run_reid_v, "
                                           "tdi.run_reid_prep; SELECT pg_advisory_unlock(" LOCK_KEY1
                                           ", " LOCK_RUN ")"
                                         : "SELECT pg_advisory_unlock(" LOCK_KEY1 ", " LOCK_RUN ")",
                             0, NULL, done, sizeof done, NULL);
    PQfinish(st->conn); /* ends the session: temporary tables go with it */
    st_beside_free(st);
    free(st->seen);
    free(st->conninfo);
    free(st);
}

tdi_status st_ready(state_db *st)
{
    if (tdi_pg_recover(st->conn, 5000))
        return TDI_OK;
    tdi_error(WHO ": the connection is not usable after the interruption");
    return TDI_ERR_STATE;
}

/* ------------------------------------------------------------------ schema */

typedef struct st_migration {
    int version;
    const char *description; /* recorded in tdi.schema_version */
    const char *sql;         /* the file's whole text */
} st_migration;

/* st_migrations[] and ST_MIGRATION_LAST, generated from schemas/state/NNN-*.sql (the Makefile
 * runs state/st_embed.sh). Append only: a released migration never changes, the next change is
 * the next file. */
#include "../build/gen/st_migrations.inc"

_Static_assert(ST_MIGRATION_LAST == STATE_SCHEMA_VERSION,
               "schemas/state/ and STATE_SCHEMA_VERSION (state.h) disagree");

#define NMIGRATIONS ((int)(sizeof st_migrations / sizeof st_migrations[0]))

/* The schema version of the database: 0 when tdi's schema is not there (*exists = 0) or has
 * no version recorded. */
static tdi_status schema_version(state_db *st, int *version, int *exists)
{
    char buf[32];
    tdi_status s;

    *version = 0;
    s = st_query_value(st, "reading the schema version",
                       "SELECT to_regclass('tdi.schema_version') IS NOT NULL", 0, NULL, buf,
                       sizeof buf, NULL);
    if (exists)
        *exists = s == TDI_OK && strcmp(buf, "t") == 0;
    if (s != TDI_OK || strcmp(buf, "t") != 0)
        return s;
    s = st_query_value(st, "reading the schema version",
                       "SELECT coalesce(max(version), 0) FROM tdi.schema_version", 0, NULL, buf,
                       sizeof buf, NULL);
    if (s == TDI_OK)
        *version = atoi(buf);
    return s;
}

static tdi_status apply(state_db *st, const st_migration *m, int *applied)
{
    char version[16];
    const char *params[3] = {version, TDI_VERSION, m->description};
    tdi_status s;
    int now = 0;

    *applied = 0;
    snprintf(version, sizeof version, "%d", m->version);
    s = st_command(st, "starting a migration", "BEGIN", 0, NULL);
    /* Two tdi init at once: the second waits here, then finds the work done. */
    if (s == TDI_OK)
        s = st_query(st, "locking the schema",
                     "SELECT pg_advisory_xact_lock(" LOCK_KEY1 ", " LOCK_INIT ")", 0, NULL,
                     PGRES_TUPLES_OK, NULL);
    if (s == TDI_OK)
        s = schema_version(st, &now, NULL);
    if (s == TDI_OK && now < m->version) {
        s = st_command(st, "applying a migration", m->sql, 0, NULL);
        if (s == TDI_OK)
            s = st_command(st, "recording a migration",
                           "INSERT INTO tdi.schema_version (version, tdi_version, description) "
                           "VALUES ($1, $2, $3)",
                           3, params);
        *applied = s == TDI_OK;
    }
    if (s == TDI_OK)
        s = st_command(st, "committing a migration", "COMMIT", 0, NULL);
    if (s != TDI_OK) {
        *applied = 0;
        if (s != TDI_ERR_INTERRUPTED || tdi_pg_recover(st->conn, 5000))
            (void)st_command(st, "rolling back a migration", "ROLLBACK", 0, NULL);
    }
    return s;
}

tdi_status state_migrate(state_db *st, int *from, int *to)
{
    tdi_status s = schema_version(st, from, NULL);

    *to = *from;
    if (s != TDI_OK)
        return s;
    if (*from > STATE_SCHEMA_VERSION) {
        tdi_error(WHO ": schema version %d is newer than this tdi knows (%d): use a newer tdi",
                  *from, STATE_SCHEMA_VERSION);
        return TDI_ERR_STATE;
    }
    for (int i = 0; i < NMIGRATIONS && s == TDI_OK; i++) {
        int applied = 0;
        if (st_migrations[i].version <= *to)
            continue;
        s = apply(st, &st_migrations[i], &applied);
        if (s == TDI_OK)
            *to = st_migrations[i].version;
    }
    return s;
}

tdi_status state_check(state_db *st)
{
    int version = 0, exists = 0;
    tdi_status s = schema_version(st, &version, &exists);

    if (s != TDI_OK)
        return s;
    if (version == STATE_SCHEMA_VERSION)
        return TDI_OK;
    if (!exists)
        tdi_error(WHO ": no tdi schema in it: run 'tdi init' with this configuration first");
    else if (version < STATE_SCHEMA_VERSION)
        tdi_error(WHO ": schema version %d is older than this tdi needs (%d): run 'tdi init' "
                      "with this configuration to upgrade it",
                  version, STATE_SCHEMA_VERSION);
    else
        tdi_error(WHO ": schema version %d is newer than this tdi knows (%d): use a newer tdi",
                  version, STATE_SCHEMA_VERSION);
    return TDI_ERR_STATE;
}

/* ------------------------------------------------------------------ the run lock */

tdi_status state_lock(state_db *st)
{
    char got[8], pid[32];
    tdi_status s;

    s = st_query_value(st, "taking the run lock",
                       "SELECT pg_try_advisory_lock(" LOCK_KEY1 ", " LOCK_RUN ")", 0, NULL, got,
                       sizeof got, NULL);
    if (s != TDI_OK)
        return s;
    if (strcmp(got, "t") == 0) {
        st->locked = 1;
        return TDI_OK;
    }
    /* Who holds it, for the operator: a server pid leads to pg_stat_activity. */
    s = st_query_value(st, "finding the holder of the run lock",
                       "SELECT string_agg(pid::text, ', ') FROM pg_locks WHERE locktype = "
                       "'advisory' AND classid = " LOCK_KEY1 " AND objid = " LOCK_RUN
                       " AND objsubid = 2 AND granted",
                       0, NULL, pid, sizeof pid, NULL);
    if (s != TDI_OK)
        return s;
    tdi_error("another tdi run is active (it holds the run lock in the state database, server "
              "process %s); this one stops without changing anything",
              *pid ? pid : "unknown");
    return TDI_ERR_LOCKED;
}
