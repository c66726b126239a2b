/* tdi_signal: stop flag, handlers and interruptible waits; see tdi_signal.h. */
#include "tdi_signal.h"

#include "tdi_log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* A signal landing between a look at the flag and the wait that follows is only seen when that
 * wait ends: waits are cut into slices of this length so such a stop is late by at most this. */
#define SLICE_MS 200

/* Atomic, not only volatile: the readers of several sources look at it from their threads while
 * the handler sets it on whichever thread the signal reached (lock-free: async-signal-safe). */
static atomic_int stop_signal;
static int stop_acknowledged;

static void on_stop(int sig)
{
    atomic_store(&stop_signal, sig);
}

void tdi_signal_setup(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking poll() or nanosleep() must return EINTR so we look at the flag. */
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
}

int tdi_stop_requested(void)
{
    return atomic_load(&stop_signal);
}

void tdi_stop_acknowledge(void)
{
    stop_acknowledged = 1;
}

#ifdef TDI_TEST_HOOKS
void tdi_signal_reset(void)
{
    atomic_store(&stop_signal, 0);
    stop_acknowledged = 0;
}
#endif

tdi_status tdi_sleep_ms(long ms)
{
    while (!stop_signal) {
        long slice = ms < SLICE_MS ? ms : SLICE_MS;
        struct timespec ts = {.tv_sec = slice / 1000, .tv_nsec = (slice % 1000) * 1000000L};

        if (ms <= 0)
            return TDI_OK;
        if (nanosleep(&ts, NULL) != 0 && errno != EINTR) {
            tdi_error("nanosleep failed: %s", strerror(errno));
            return TDI_ERR_INTERNAL;
        }
        ms -= slice; /* an EINTR slice counts as slept: the flag is looked at right away */
    }
    return TDI_ERR_INTERRUPTED;
}

tdi_status tdi_wait_fd(int fd, int for_write, int timeout_ms, int *ready)
{
    struct pollfd pfd = {.fd = fd, .events = for_write ? POLLOUT : POLLIN};

    *ready = 0;
    for (;;) {
        int slice = timeout_ms < 0 || timeout_ms > SLICE_MS ? SLICE_MS : timeout_ms;
        int rc;

        if (stop_signal && !stop_acknowledged)
            return TDI_ERR_INTERRUPTED;
        rc = poll(&pfd, 1, slice);
        if (rc > 0) {
            *ready = 1;
            return TDI_OK;
        }
        if (rc < 0 && errno != EINTR) {
            tdi_error("poll failed: %s", strerror(errno));
            return TDI_ERR_INTERNAL;
        }
        if (rc == 0 && timeout_ms >= 0) {
            timeout_ms -= slice;
            if (timeout_ms <= 0)
                return TDI_OK;
        }
    }
}

int tdi_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t block, old;
    int err;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    err = pthread_sigmask(SIG_BLOCK, &block, &old); /* inherited by the new thread */
    if (err == 0) {
        err = pthread_create(thread, NULL, fn, arg);
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL); /* cannot fail: old came from the call */
    }
    return err;
}
