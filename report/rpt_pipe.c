/* rpt_pipe: a byte stream to a consumer thread through a pipe; see rpt_pipe.h. */
#define _GNU_SOURCE /* F_SETPIPE_SZ, pipe2 */
#include "rpt_pipe.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define PIPE_BYTES (1024 * 1024) /* room for a few chunks: the two sides rarely wait */

static void *consume(void *arg)
{
    rpt_pipe *p = arg;
    unsigned char sink[4096];
    ssize_t n;

    p->result = p->fn(p->rfd, p->arg);
    atomic_store(&p->done, 1);
    /* Whatever the consumer left unread: drained, so the producer never blocks for ever. */
    while ((n = read(p->rfd, sink, sizeof sink)) > 0 || (n < 0 && errno == EINTR))
        ;
    return NULL;
}

tdi_status rpt_pipe_start(rpt_pipe *p, rpt_pipe_fn fn, void *arg, int flags)
{
    int fds[2], rc;

    p->fn = fn;
    p->arg = arg;
    p->flags = flags;
    p->rfd = p->wfd = -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        tdi_error("cannot create a pipe for a worker thread: %s", strerror(errno));
        return TDI_ERR_INTERNAL;
    }
    p->rfd = fds[0];
    p->wfd = fds[1];
    (void)fcntl(p->wfd, F_SETPIPE_SZ, PIPE_BYTES); /* a hint: the default 64 KiB works too */

    rc = tdi_thread_start(&p->thread, consume, p);
    if (rc != 0) {
        tdi_error("cannot start a worker thread: %s", strerror(rc));
        (void)close(p->rfd); /* nothing was written: nothing to lose */
        (void)close(p->wfd);
        p->rfd = p->wfd = -1;
        return TDI_ERR_INTERNAL;
    }
    p->started = 1;
    return TDI_OK;
}

static tdi_status send_all(rpt_pipe *p, const unsigned char *buf, size_t len)
{
    while (len > 0 && p->failed == TDI_OK) {
        ssize_t n = write(p->wfd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tdi_error("cannot hand data to a worker thread: %s", strerror(errno));
            p->failed = TDI_ERR_INTERNAL;
            break;
        }
        buf += n;
        len -= (size_t)n;
    }
    return p->failed;
}

tdi_status rpt_pipe_write(rpt_pipe *p, const void *buf, size_t len)
{
    const unsigned char *b = buf;

    if (!p->started || p->wfd < 0)
        return TDI_ERR_INTERNAL;
    if ((p->flags & RPT_PIPE_STOP_EARLY) && atomic_load(&p->done) && p->result != TDI_OK)
        return p->result;
    if (p->staged == 0 && len >= sizeof p->buf) /* a whole chunk already: no staging copy */
        return send_all(p, b, len);
    while (len > 0 && p->failed == TDI_OK) {
        size_t n = sizeof p->buf - p->staged;

        if (n > len)
            n = len;
        memcpy(p->buf + p->staged, b, n);
        p->staged += n;
        b += n;
        len -= n;
        if (p->staged == sizeof p->buf) {
            p->staged = 0;
            send_all(p, p->buf, sizeof p->buf);
        }
    }
    return p->failed;
}

tdi_status rpt_pipe_close(rpt_pipe *p)
{
    int rc;

    if (!p->started)
        return TDI_OK;
    if (p->staged > 0)
        send_all(p, p->buf, p->staged);
    p->staged = 0;
    /* End of file for the consumer. A pipe's close reports no lost data: what was written is in
     * the kernel's buffer already. */
    (void)close(p->wfd);
    p->wfd = -1;
    rc = pthread_join(p->thread, NULL);
    p->started = 0;
    (void)close(p->rfd);
    p->rfd = -1;
    if (rc != 0) {
        tdi_error("cannot wait for a worker thread: %s", strerror(rc));
        return TDI_ERR_INTERNAL;
    }
    return p->failed != TDI_OK ? p->failed : p->result;
}
