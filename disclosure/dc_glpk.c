/* dc_glpk: GLPK opened when a table is first audited, its functions forwarded; see dc_glpk.h. */
#include "dc_glpk.h"

#include "../common/tdi_dl.h"
#include "../common/tdi_log.h"

#include <glpk.h>

/* The GLPK functions tdi calls: X(type, name, (parameters), (arguments)), and those returning
 * nothing. A function added to tdi's calls goes here: the link fails until it does. */
#define GLP_FUNCS(X)                                                                               \
    X(glp_prob *, glp_create_prob, (void), ())                                                     \
    X(int, glp_add_rows, (glp_prob * P, int nrs), (P, nrs))                                        \
    X(int, glp_add_cols, (glp_prob * P, int ncs), (P, ncs))                                        \
    X(int, glp_simplex, (glp_prob * P, const glp_smcp *parm), (P, parm))                           \
    X(int, glp_get_status, (glp_prob * P), (P))                                                    \
    X(double, glp_get_obj_val, (glp_prob * P), (P))                                                \
    X(double, glp_get_col_prim, (glp_prob * P, int j), (P, j))                                     \
    X(int, glp_term_out, (int flag), (flag))                                                       \
    X(const char *, glp_config, (const char *option), (option))                                    \
    X(int, glp_free_env, (void), ())
#define GLP_VOIDS(X)                                                                               \
    X(glp_set_obj_dir, (glp_prob * P, int dir), (P, dir))                                          \
    X(glp_set_row_bnds, (glp_prob * P, int i, int type, double lb, double ub),                     \
      (P, i, type, lb, ub))                                                                        \
    X(glp_set_col_bnds, (glp_prob * P, int j, int type, double lb, double ub),                     \
      (P, j, type, lb, ub))                                                                        \
    X(glp_set_obj_coef, (glp_prob * P, int j, double coef), (P, j, coef))                          \
    X(glp_load_matrix, (glp_prob * P, int ne, const int ia[], const int ja[], const double ar[]),  \
      (P, ne, ia, ja, ar))                                                                         \
    X(glp_delete_prob, (glp_prob * P), (P))                                                        \
    X(glp_init_smcp, (glp_smcp * parm), (parm))

GLP_FUNCS(TDI_DL_POINTER)
GLP_VOIDS(TDI_DL_VOID_POINTER)

static const tdi_dl_slot slots[] = {GLP_FUNCS(TDI_DL_SLOT) GLP_VOIDS(TDI_DL_VOID_SLOT)};
static tdi_dl glpk = TDI_DL_INIT(DC_GLPK_LIBRARY, "TDI_TEST_LIBGLPK", slots);
#define TDI_DL_SELF glpk

tdi_status dc_glpk_load(void)
{
    if (tdi_dl_load(&glpk))
        return TDI_OK;
    tdi_error("disclosure: the linear-programming library %s cannot be loaded: %s (Debian: "
              "apt-get install libglpk40)",
              tdi_dl_library(&glpk), glpk.failure);
    return TDI_ERR_DISCLOSURE;
}

/* GLPK's state is per thread when it was built re-entrant (4.61 on, with thread-local storage:
 * glp_config("TLS") names the storage class then, NULL otherwise); else one state serves every
 * thread and two threads solving at once would corrupt it. */
int dc_glpk_threads(void)
{
    const char *tls;

    if (!tdi_dl_load(&glpk))
        return 0;
    tls = glp_config("TLS");
    return tls != NULL && tls[0] != '\0';
}

int dc_glpk_release(void)
{
    /* glp_free_env(): 0 when it freed the thread's state, 1 when there was none */
    return atomic_load(&glpk.loaded) && glp_free_env() == 0;
}

GLP_FUNCS(TDI_DL_FORWARD)
GLP_VOIDS(TDI_DL_VOID_FORWARD)
