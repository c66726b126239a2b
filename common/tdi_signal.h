/*
 * tdi_signal: how a run learns it must stop, and the waits that must notice it.
 *
 * SIGINT and SIGTERM only set a flag (the handler does nothing else); every place that can wait
 * for long (a socket, a retry delay) waits in a way the signal interrupts and then looks at the
 * flag, so a stop takes effect at once and the run still cleans up. SIGXFSZ and SIGPIPE are
 * ignored so that a file size limit or a closed pipe turns into an error return of write(),
 * which is reported and cleaned up like any other write error.
 */
#ifndef TDI_SIGNAL_H
#define TDI_SIGNAL_H

#include "tdi_status.h"

#include <pthread.h>

/* Installs the handlers (SIGINT, SIGTERM) and ignores SIGXFSZ and SIGPIPE. */
void tdi_signal_setup(void);
/* The signal that asked to stop, or 0. */
int tdi_stop_requested(void);
/* The stop was seen and the caller now winds down (bounded work: removing temp files, writing
 * the ledger): from here waits no longer end early because of it. */
void tdi_stop_acknowledge(void);
/* Starts a worker thread running fn(arg) with SIGINT and SIGTERM blocked, so that they reach
 * the thread that started it (a worker learns of a stop from tdi_stop_requested()). 0, or
 * pthread_create()'s error number. */
int tdi_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);
/* Sleeps ms milliseconds; TDI_ERR_INTERRUPTED as soon as a stop is requested. */
tdi_status tdi_sleep_ms(long ms);
/* Waits until fd is readable (or writable when for_write), a stop is requested and not yet
 * acknowledged (TDI_ERR_INTERRUPTED) or timeout_ms passes (-1: no timeout). 1 ready, 0 timeout,
 * via *ready. */
tdi_status tdi_wait_fd(int fd, int for_write, int timeout_ms, int *ready);

#ifdef TDI_TEST_HOOKS
/* Test builds only: forgets a stop and its acknowledgement, as a new process would start (a unit
 * test binary makes many runs). */
void tdi_signal_reset(void);
#endif

#endif
