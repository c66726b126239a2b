/* Shared by the unit tests of state/ against the scripted libpq (test_state.c, test_st_copy.c,
 * test_st_report.c): the log captured (logged), each test's setup and teardown, a state database
 * opened and closed, the harness's script checked at the close. */
#ifndef TEST_ST_H
#define TEST_ST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../state/state.h"
#include "harness_pq.h"
#include "test_log.h"

#define CONNINFO "dbname=tdi_state"

static test_log logged;

static inline int setup(void **state)
{
    (void)state;
    hpq_reset();
    test_log_start(&logged);
    return 0;
}

static inline int teardown(void **state)
{
    (void)state;
    test_log_stop();
    return 0;
}

static inline state_db *opened(void)
{
    state_db *st = NULL;

    hpq_script(HPQ_CONNECT(CONNINFO));
    assert_int_equal(state_open(CONNINFO, &st), TDI_OK);
    assert_non_null(st);
    return st;
}

static inline void closed(state_db *st)
{
    hpq_script(HPQ_FINISH);
    state_close(st);
    hpq_done();
}

#endif
