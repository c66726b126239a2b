/*
 * tdi_pq: libpq, loaded when a command first connects to a database.
 *
 * Linked, libpq maps some 30 more shared libraries into every tdi process (Kerberos, LDAP, SASL,
 * GnuTLS, p11-kit, ...) and runs their constructors: about 2 ms of each start, which the commands
 * that never connect (`tdi validate`, `audit`, `workbook`, `keygen`, `--version`) paid for nothing
 * (issue 16: `tdi validate` no slower than xmllint). So tdi does not link libpq: tdi_pq.c defines
 * the libpq functions tdi calls, each forwarding to libpq.so.5, which tdi_pq_load opens with
 * dlopen(). The callers include libpq-fe.h and call PQ* as before; only tdi_pg_connect, through
 * which every connection is made, calls tdi_pq_load. The unit tests that link the scripted libpq
 * (tests/unit/harness_pq.c) leave this file out: the harness defines the same functions.
 *
 * A libpq function called before a successful load: the ones that free (PQclear, PQfinish, ...)
 * do nothing, as nothing can have been allocated; any other aborts with a message, a bug.
 */
#ifndef TDI_PQ_H
#define TDI_PQ_H

#include "tdi_status.h"

/* The library opened, by its soname: what the package that provides it installs. */
#define TDI_PQ_LIBRARY "libpq.so.5"

/* Loads libpq (once: later calls only say how the first went; thread-safe). When it cannot be
 * loaded logs "WHO: connecting failed: the PostgreSQL client library libpq.so.5 cannot be
 * loaded: REASON (...)" and returns err_class. The test build loads $TDI_TEST_LIBPQ instead when
 * it is set. */
tdi_status tdi_pq_load(const char *who, tdi_status err_class);

#endif
