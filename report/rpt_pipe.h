/*
 * rpt_pipe: hands a byte stream to a consumer running on a thread of its own, through a pipe.
 *
 * tdi runs on small machines with two cores: the submission writer produces XML on the calling
 * thread while deflate (rpt_gz) and the schema check (report.c) consume it on their own threads,
 * so both cores work. The pipe is the kernel's bounded buffer: the producer blocks when the
 * consumer falls behind, so memory stays flat. Writes are staged in RPT_PIPE_CHUNK bytes, so the
 * consumer is woken once per chunk, not once per line of XML.
 *
 * The consumer's function runs once and reads the pipe up to end of file. If it returns earlier
 * (an error), the thread reads and discards the rest, so the producer never blocks on a pipe
 * nobody reads; the producer learns the result from rpt_pipe_close(), or from rpt_pipe_write()
 * with RPT_PIPE_STOP_EARLY. Worker threads block SIGINT and SIGTERM: signals reach the main
 * thread, which polls for them.
 */
#ifndef RPT_PIPE_H
#define RPT_PIPE_H

#include "../common/tdi_status.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define RPT_PIPE_CHUNK (128 * 1024)

/* Reads fd (blocking) up to end of file and returns what it made of the stream. It must not close
 * fd. */
typedef tdi_status (*rpt_pipe_fn)(int fd, void *arg);

enum { RPT_PIPE_STOP_EARLY = 1 }; /* rpt_pipe_start flag: a failed consumer fails the next write */

typedef struct rpt_pipe {
    rpt_pipe_fn fn;
    void *arg;
    int flags;
    int rfd, wfd; /* -1 when closed */
    int started;  /* the thread runs and must be joined */
    pthread_t thread;
    atomic_int done;   /* the consumer's function has returned; result is set */
    tdi_status result; /* written by the thread before done, read after done or join */
    tdi_status failed; /* the producer's own first write error */
    size_t staged;
    unsigned char buf[RPT_PIPE_CHUNK];
} rpt_pipe;

/* Starts the consumer thread. p must be zeroed (calloc'd) before. */
tdi_status rpt_pipe_start(rpt_pipe *p, rpt_pipe_fn fn, void *arg, int flags);
/* Queues len bytes for the consumer. */
tdi_status rpt_pipe_write(rpt_pipe *p, const void *buf, size_t len);
/* Sends what is staged, ends the stream, waits for the consumer and returns its result (or the
 * producer's own write error, which comes first). Does nothing more on a pipe already closed or
 * never started (zeroed): returns TDI_OK then. */
tdi_status rpt_pipe_close(rpt_pipe *p);

#endif
