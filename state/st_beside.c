/*
 * st_beside: the re-identification check's first grouping on a second connection to the state
 * database, beside the ranking of a first submission of the year.
 *
 * Owns that connection (the first's conninfo and session settings, no run lock; closed before the
 * pass goes on, on every path), what the run says the check will ask of each body
 * (state_reid_beside()), and the figures found, which state_reid_check() takes in place of
 * grouping on the first connection (st_beside_take()). Only on a first submission: what a body
 * holds is then the run's records, tdi.run_rec, which both sessions see (migration 13), the
 * repeated keys already removed and the served bodies decided; the groups go to tdi.run_reid_g
 * and tdi.run_reid_v as on the first connection, for the commit there. The ranking is sent
 * (not waited for) on the first connection, the grouping runs on the second, then the ranking's
 * result is read: two backends, two cores (1M first run: the ranking 2.4 s, the grouping 1.6 s,
 * one after the other before; docs/benchmark.md, 2026-12-06). A failure of either fails the pass
 * as it did one after the other: its message names the statement.
 */
#include "st_int.h"

#include "../common/tdi_log.h"
#include "../common/tdi_pg.h"

#include <stdlib.h>
#include <string.h>

/* Body b's first grouping: asked (want), then made (done: fig, legacy). */
typedef struct st_plan {
    unsigned mask;
    int k_min;
    int want;
    int done;
    state_reid fig;
    unsigned long legacy;
    int counted; /* appends is the body's count of actions */
    unsigned long appends;
} st_plan;

struct st_beside {
    state_reid_plan_fn plan;
    void *arg;
    size_t nbodies;
    st_plan p[];
};

tdi_status state_reid_beside(state_db *st, state_reid_plan_fn plan, void *arg, size_t nbodies)
{
    free(st->beside);
    st->beside = calloc(1, sizeof *st->beside + nbodies * sizeof st->beside->p[0]);
    if (!st->beside) {
        tdi_error(WHO ": out of memory");
        return TDI_ERR_INTERNAL;
    }
    *st->beside = (st_beside){.plan = plan, .arg = arg, .nbodies = nbodies};
    return TDI_OK;
}

void st_beside_free(state_db *st)
{
    free(st->beside);
    st->beside = NULL;
}

/* What the check will ask of each body, on the first connection (idle: nothing sent yet); *n:
 * the bodies it will group. */
static tdi_status plan_bodies(state_db *st, size_t *n)
{
    st_beside *bs = st->beside;
    tdi_status s = TDI_OK;

    *n = 0;
    for (size_t b = 0; b < bs->nbodies && s == TDI_OK; b++) {
        st_plan *p = &bs->p[b];

        *p = (st_plan){0};
        s = bs->plan(bs->arg, (int)b, &p->mask, &p->k_min, &p->want);
        *n += s == TDI_OK && p->want;
    }
    return s;
}

/* The second connection: as the first was opened, with its own session settings. The test
 * build can make its statements time out (TDI_TEST_BESIDE_FAIL: a failure there). */
static tdi_status side_open(const state_db *st, state_db **side)
{
    const char *conninfo = st->conninfo;
    tdi_status s;

#ifdef TDI_TEST_HOOKS
    /* The test build can refuse it a connection (TDI_TEST_BESIDE_NOCONN: no server there). */
    if (getenv("TDI_TEST_BESIDE_NOCONN"))
        conninfo = "host=/nonexistent connect_timeout=2";
#endif
    s = state_open(conninfo, side);

    if (s != TDI_OK)
        return s;
    s = st_command(*side, "setting up the second connection", ST_BESIDE_SETTINGS, 0, NULL);
#ifdef TDI_TEST_HOOKS
    if (s == TDI_OK && getenv("TDI_TEST_BESIDE_FAIL"))
        s = st_command(*side, "setting up the second connection", "SET statement_timeout = 1", 0,
                       NULL);
#endif
    (*side)->year = st->year;
    (*side)->whole = st->whole;
    (*side)->first = st->first;
    if (s != TDI_OK) {
        state_close(*side);
        *side = NULL;
    }
    return s;
}

/* Every planned (served) body's first grouping on side, then its actions counted: on a first
 * submission each of its records is an append (st_pass.c, first_action_sql), so the count of its
 * records is that of its actions, taken here while the first connection still ranks rather than
 * by a scan of run_action after it (1M: 0.17 s with the client waiting). */
static tdi_status side_group(state_db *st, state_db *side)
{
    tdi_status s = TDI_OK;

    for (size_t b = 0; b < st->beside->nbodies && s == TDI_OK; b++) {
        st_plan *p = &st->beside->p[b];
        char bstr[24], n[32] = "";

        if (!p->want)
            continue;
        s = st_reid_first(side, (int)b, p->mask, p->k_min, &p->fig, &p->legacy);
        p->done = s == TDI_OK;
        snprintf(bstr, sizeof bstr, "%zu", b);
        if (s == TDI_OK)
            s = st_query_value(side, "counting the actions",
                               "SELECT count(*) FROM tdi.run_rec WHERE body = $1", 1,
                               (const char *[]){bstr}, n, sizeof n, NULL);
        p->counted = s == TDI_OK;
        p->appends = strtoul(n, NULL, 10);
    }
    st->reid_made |= side->reid_made;
    return s;
}

tdi_status st_beside_rank(state_db *st, const char *what, const char *sql, int nparams,
                          const char *const *params)
{
    state_db *side = NULL;
    size_t n = 0;
    tdi_status s = TDI_OK, gs;

    if (st->beside && st->first)
        s = plan_bodies(st, &n);
#ifdef TDI_TEST_HOOKS
    /* The test build can keep the check on the first connection, to compare the two. */
    if (getenv("TDI_TEST_BESIDE_OFF"))
        n = 0;
#endif
    if (s != TDI_OK || n == 0)
        return s != TDI_OK ? s : st_command(st, what, sql, nparams, params);
    tdi_debug(WHO ": the check's first grouping of %zu bod%s on a second connection, beside the "
                  "ranking",
              n, n == 1 ? "y" : "ies");
    /* Without a second connection (a role's CONNECTION LIMIT, a server out of connections) the
     * check groups on the first after the ranking, as a night does: slower, not a failure. */
    if (side_open(st, &side) != TDI_OK) {
        tdi_warn(WHO ": no second connection (above): the check groups after the ranking");
        tdi_log_clear_last_error();
        return st_command(st, what, sql, nparams, params);
    }
    s = tdi_pg_send(st->conn, WHO, what, TDI_ERR_STATE, sql, nparams, params, NULL);
    if (s != TDI_OK) {
        state_close(side);
        return s;
    }
    gs = side_group(st, side);
    /* The grouping failed (or was interrupted): what the server still does on either connection
     * is cancelled (a backend left grouping would hold the tables the next run empties), and the
     * first is idle again. */
    if (gs != TDI_OK)
        (void)tdi_pg_recover(side->conn, 5000);
    state_close(side);
    if (gs != TDI_OK) {
        (void)st_ready(st);
        return gs;
    }
    return tdi_pg_result(st->conn, WHO, what, TDI_ERR_STATE, PGRES_COMMAND_OK, NULL, NULL);
}

int st_beside_take(state_db *st, int b, unsigned mask, state_reid *out, unsigned long *legacy)
{
    st_plan *p = st->beside && b >= 0 && (size_t)b < st->beside->nbodies ? &st->beside->p[b] : NULL;

    if (!p || !p->done || p->mask != mask)
        return 0;
    p->done = 0;
    out[0] = p->fig;
    *legacy = p->legacy;
    return 1;
}

int st_beside_counts(state_db *st, size_t nbodies, state_counts *counts)
{
    st_beside *bs = st->beside;

    if (!bs || !st->first || bs->nbodies != nbodies)
        return 0;
    for (size_t b = 0; b < nbodies; b++)
        if (bs->p[b].want && !bs->p[b].counted)
            return 0;
    for (size_t b = 0; b < nbodies; b++) {
        if (bs->p[b].want)
            st_set_count(&counts[b], "a", bs->p[b].appends);
        bs->p[b].counted = 0;
    }
    return 1;
}
