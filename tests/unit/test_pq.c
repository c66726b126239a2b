/* Unit tests for common/tdi_pq.c, libpq opened at the first connection: nothing is loaded before
 * it (a free of nothing stays free), a library that cannot be loaded is named in the error with
 * the caller's failure class, and once loaded the calls reach the real libpq. In this order: the
 * load happens once a process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_pq.h"
#include "test_child.h"
#include "test_log.h"

#include <libpq-fe.h>
#include <stdlib.h>

static void frees_before_the_load(void **state)
{
    (void)state;
    assert_int_equal(test_mapped(TDI_PQ_LIBRARY), 0);
    PQclear(NULL);
    PQfinish(NULL);
    PQfreemem(NULL);
    PQfreeCancel(NULL);
    PQconninfoFree(NULL);
    assert_int_equal(test_mapped(TDI_PQ_LIBRARY), 0);
}

#define MISSING "libpq-not-installed.so.5"

/* In a child (the load is once a process): 0 when the load failed as it should. */
static int missing_child(void)
{
    static test_log logged;
    const char *want = "state database: connecting failed: the PostgreSQL client library " MISSING
                       " cannot be loaded: " MISSING
                       ": cannot open shared object file: No such file or directory (Debian: "
                       "apt-get install libpq5)\n";

    setenv("TDI_TEST_LIBPQ", MISSING, 1);
    test_log_start(&logged);
    if (tdi_pq_load("state database", TDI_ERR_STATE) != TDI_ERR_STATE)
        return 1;
    if (strcmp(logged.text, want) != 0) {
        fprintf(stderr, "got:  %swant: %s", logged.text, want);
        return 2;
    }
    /* the second connection is told the same, with its own class */
    if (tdi_pq_load("source riverside", TDI_ERR_SOURCE) != TDI_ERR_SOURCE || logged.count != 2)
        return 3;
    return test_mapped(TDI_PQ_LIBRARY) ? 4 : 0;
}

static void missing_library(void **state)
{
    (void)state;
    test_in_child(missing_child);
}

static void loads_and_forwards(void **state)
{
    const char *const keys[] = {"no_such_option", NULL};
    const char *const vals[] = {"1", NULL};
    PGconn *conn;

    (void)state;
    assert_int_equal(tdi_pq_load("state database", TDI_ERR_STATE), TDI_OK);
    assert_int_equal(test_mapped(TDI_PQ_LIBRARY), 1);
    assert_int_equal(tdi_pq_load("state database", TDI_ERR_STATE), TDI_OK);
    assert_string_equal(PQresStatus(PGRES_TUPLES_OK), "PGRES_TUPLES_OK");
    /* libpq's own answer, without a server: the option is refused before any connecting */
    conn = PQconnectStartParams(keys, vals, 0);
    assert_non_null(conn);
    assert_int_equal(PQstatus(conn), CONNECTION_BAD);
    assert_non_null(strstr(PQerrorMessage(conn), "invalid connection option \"no_such_option\""));
    PQfinish(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frees_before_the_load),
        cmocka_unit_test(missing_library),
        cmocka_unit_test(loads_and_forwards),
    };
    return cmocka_run_group_tests_name("pq", tests, NULL, NULL);
}
