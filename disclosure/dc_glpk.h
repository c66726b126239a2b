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
/* 1 when sets may be audited and protected on several threads at once, each thread with sets of
 * its own: GLPK keeps its state per thread (a re-entrant build, as Debian's); 0 when it does not,
 * or cannot be loaded (dc_glpk_load() then says why). */
int dc_glpk_threads(void);
/* Frees the calling thread's GLPK state, which GLPK keeps until then: a thread that audited or
 * protected a set calls it before it ends, once every program of it is deleted (dc_audit and
 * dc_widen delete theirs before they return). 1 when there was state to free, 0 when there was
 * none (GLPK never loaded, or nothing solved on this thread since). */
int dc_glpk_release(void);

#endif
