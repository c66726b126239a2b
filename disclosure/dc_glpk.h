/*
 * dc_glpk: GLPK, the linear-programming library of dc_audit and dc_widen, loaded when a table is
 * first audited (common/tdi_dl.h: linked, GLPK and the six libraries it needs started with every
 * command). dc_glpk.c defines the glp_* functions tdi calls, each forwarding to libglpk.so.40;
 * the callers include glpk.h and call them as before, after dc_glpk_load().
 */
#ifndef DC_GLPK_H
#define DC_GLPK_H

#include "../common/tdi_status.h"

/* The library opened, by its soname (Debian: libglpk40). */
#define DC_GLPK_LIBRARY "libglpk.so.40"

/* Loads GLPK (once a process; thread-safe). When it cannot be loaded, logs "disclosure: the
 * linear-programming library libglpk.so.40 cannot be loaded: REASON (...)" and returns
 * TDI_ERR_DISCLOSURE: no table can be protected. The test build opens $TDI_TEST_LIBGLPK instead
 * when it is set. */
tdi_status dc_glpk_load(void);

#endif
