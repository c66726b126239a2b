/* Unit tests for common/tdi_dl.c and the libraries loaded through it when first needed
 * (disclosure/dc_glpk.c, report/rpt_xlsx.c): neither is mapped before its load, a library that
 * cannot be loaded or lacks a function is named in the error, and once loaded the calls reach
 * the real library. The loads happen once a process: the failures are tried in children. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_dl.h"
#include "../../disclosure/dc_glpk.h"
#include "../../report/rpt_xlsx.h"
#include "test_child.h"
#include "test_log.h"

#include <glpk.h>
#include <pthread.h>
#include <stdlib.h>
#include <xlsxwriter.h>

static void none_mapped_at_start(void **state)
{
    (void)state;
    assert_int_equal(test_mapped(DC_GLPK_LIBRARY), 0);
    assert_int_equal(test_mapped(RPT_XLSX_LIBRARY), 0);
}

static int logged_is(const test_log *tl, const char *want)
{
    if (strcmp(tl->text, want) == 0)
        return 1;
    fprintf(stderr, "got:  %swant: %s", tl->text, want);
    return 0;
}

static int glpk_missing_child(void)
{
    static test_log logged;

    setenv("TDI_TEST_LIBGLPK", "libglpk-not-installed.so.40", 1);
    test_log_start(&logged);
    if (dc_glpk_load() != TDI_ERR_DISCLOSURE || dc_glpk_load() != TDI_ERR_DISCLOSURE)
        return 1;
    if (!logged_is(&logged, "disclosure: the linear-programming library "
                            "libglpk-not-installed.so.40 cannot be loaded: "
                            "libglpk-not-installed.so.40: cannot open shared object file: No "
                            "such file or directory (Debian: apt-get install libglpk40)\n"
                            "disclosure: the linear-programming library "
                            "libglpk-not-installed.so.40 cannot be loaded: "
                            "libglpk-not-installed.so.40: cannot open shared object file: No "
                            "such file or directory (Debian: apt-get install libglpk40)\n"))
        return 2;
    if (test_mapped(DC_GLPK_LIBRARY))
        return 3;
    if (dc_glpk_release() != 0) /* nothing loaded: nothing to free, no call into GLPK */
        return 5;
    /* not re-entrant when it cannot be loaded, and nothing more said: dc_glpk_load() says why */
    return dc_glpk_threads() == 0 && logged.count == 2 ? 0 : 4;
}

static void glpk_missing(void **state)
{
    (void)state;
    test_in_child(glpk_missing_child);
}

static int xlsx_missing_child(void)
{
    static test_log logged;

    setenv("TDI_TEST_LIBXLSXWRITER", "libxlsxwriter-not-installed.so.4", 1);
    test_log_start(&logged);
    if (rpt_xlsx_load("out/national-2025.workbook.xlsx") != TDI_ERR_OUTPUT)
        return 1;
    if (!logged_is(&logged, "out/national-2025.workbook.xlsx: cannot write the workbook: the "
                            "spreadsheet library libxlsxwriter-not-installed.so.4 cannot be "
                            "loaded: libxlsxwriter-not-installed.so.4: cannot open shared "
                            "object file: No such file or directory (Debian: apt-get install "
                            "libxlsxwriter4)\n"))
        return 2;
    return test_mapped(RPT_XLSX_LIBRARY) ? 3 : 0;
}

static void xlsx_missing(void **state)
{
    (void)state;
    test_in_child(xlsx_missing_child);
}

/* A library that is there but lacks a function the list names: not loaded, and said why. */
static int (*p_no_such_function)(void);
static void function_missing(void **state)
{
    static const tdi_dl_slot slots[] = {{"no_such_function", &p_no_such_function}};
    static tdi_dl zlib = TDI_DL_INIT("libz.so.1", NULL, slots);

    (void)state;
    assert_int_equal(tdi_dl_load(&zlib), 0);
    assert_string_equal(zlib.failure, "it has no no_such_function");
    assert_null(p_no_such_function);
    assert_int_equal(tdi_dl_load(&zlib), 0); /* tried once */
}

/* max x + y with x <= 3, y <= 2, x + y <= 4, through the forwarded functions: 1 when GLPK
 * solves it to 4. */
static int small_program(void)
{
    int ia[] = {0, 1, 1}, ja[] = {0, 1, 2}, ok;
    double ar[] = {0, 1, 1};
    glp_smcp parm;
    glp_prob *lp;

    glp_term_out(GLP_OFF);
    lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    ok = glp_add_rows(lp, 1) == 1 && glp_add_cols(lp, 2) == 1;
    glp_set_row_bnds(lp, 1, GLP_UP, 0, 4);
    glp_set_col_bnds(lp, 1, GLP_DB, 0, 3);
    glp_set_col_bnds(lp, 2, GLP_DB, 0, 2);
    glp_set_obj_coef(lp, 1, 1);
    glp_set_obj_coef(lp, 2, 1);
    glp_load_matrix(lp, 2, ia, ja, ar);
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    ok = ok && glp_simplex(lp, &parm) == 0 && glp_get_status(lp) == GLP_OPT &&
         glp_get_obj_val(lp) == 4.0 && glp_get_col_prim(lp, 1) + glp_get_col_prim(lp, 2) == 4.0;
    glp_delete_prob(lp);
    return ok;
}

static void glpk_loads_and_forwards(void **state)
{
    (void)state;
    assert_int_equal(dc_glpk_load(), TDI_OK);
    assert_int_equal(test_mapped(DC_GLPK_LIBRARY), 1);
    assert_true(small_program());
}

static void *program_thread(void *arg)
{
    int *ok = arg;

    for (int i = 0; i < 200; i++)
        *ok += small_program();
    /* its own state, once: freed, then none left */
    *ok += dc_glpk_release() == 1 && dc_glpk_release() == 0;
    return NULL;
}

/* Debian's GLPK keeps its state per thread (run/run_publish.c protects bodies' tables on threads
 * of their own when it does): two threads solving at once each get their answers, and a thread
 * frees its own state before it ends (GLPK keeps it until then). */
static void glpk_threads(void **state)
{
    pthread_t th;
    int ok_thread = 0, ok_main = 0;

    (void)state;
    assert_int_equal(dc_glpk_load(), TDI_OK);
    assert_int_equal(dc_glpk_threads(), 1);
    assert_int_equal(pthread_create(&th, NULL, program_thread, &ok_thread), 0);
    for (int i = 0; i < 200; i++)
        ok_main += small_program();
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(ok_thread, 201);
    assert_int_equal(ok_main, 200);
}

static void xlsx_loads_and_forwards(void **state)
{
    (void)state;
    assert_int_equal(rpt_xlsx_load("w.xlsx"), TDI_OK);
    assert_int_equal(test_mapped(RPT_XLSX_LIBRARY), 1);
    assert_int_equal(lxw_name_to_col("AB7"), 27);
    assert_int_equal(lxw_name_to_row("AB7"), 6);
    assert_string_equal(lxw_strerror(LXW_ERROR_MEMORY_MALLOC_FAILED),
                        "Memory error, failed to malloc() required memory.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(none_mapped_at_start),
        cmocka_unit_test(glpk_missing),
        cmocka_unit_test(xlsx_missing),
        cmocka_unit_test(function_missing),
        cmocka_unit_test(glpk_loads_and_forwards),
        cmocka_unit_test(glpk_threads),
        cmocka_unit_test(xlsx_loads_and_forwards),
    };
    return cmocka_run_group_tests_name("dl", tests, NULL, NULL);
}
