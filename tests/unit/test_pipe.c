/* Unit tests for rpt_pipe: the stream reaches the consumer thread whole and in order, and a
 * consumer that gives up early neither blocks the producer nor loses its verdict; worker threads
 * (tdi_thread_start) leave the stop signals to the thread that starts them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../report/rpt_pipe.h"
#include "../../common/tdi_signal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define BIG (8u * 1024 * 1024) /* well past a pipe's buffer and a staging chunk */

typedef struct tally {
    uint64_t bytes;
    uint64_t weighted; /* sum of byte * (position + 1): changes when bytes are reordered */
} tally;

static tdi_status count_all(int fd, void *arg)
{
    tally *t = arg;
    unsigned char buf[3001];
    ssize_t n;

    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return TDI_ERR_INTERNAL;
        for (ssize_t i = 0; i < n; i++)
            t->weighted += (uint64_t)buf[i] * (t->bytes + (uint64_t)i + 1);
        t->bytes += (uint64_t)n;
    }
    return TDI_OK;
}

static tdi_status give_up(int fd, void *arg)
{
    (void)fd;
    (void)arg;
    return TDI_ERR_INVALID;
}

static unsigned char byte_at(uint64_t pos)
{
    return (unsigned char)(pos % 251);
}

static void stream_arrives_whole_and_in_order(void **state)
{
    rpt_pipe *p = calloc(1, sizeof *p);
    tally t = {0, 0};
    unsigned char piece[8000];
    uint64_t pos = 0, weighted = 0;
    size_t len = 1;

    (void)state;
    assert_non_null(p);
    assert_int_equal(rpt_pipe_start(p, count_all, &t, 0), TDI_OK);
    /* Odd sizes, from 1 byte to more than a staging chunk at once. */
    while (pos < BIG) {
        size_t n = pos == 4096 ? RPT_PIPE_CHUNK + 17 : len;
        unsigned char *buf = n > sizeof piece ? malloc(n) : piece;

        assert_non_null(buf);
        for (size_t i = 0; i < n; i++) {
            buf[i] = byte_at(pos + i);
            weighted += (uint64_t)buf[i] * (pos + i + 1);
        }
        assert_int_equal(rpt_pipe_write(p, buf, n), TDI_OK);
        if (buf != piece)
            free(buf);
        pos += n;
        len = len * 7 % 7919 + 1;
    }
    assert_int_equal(rpt_pipe_close(p), TDI_OK);
    assert_true(t.bytes == pos);
    assert_true(t.weighted == weighted);
    assert_int_equal(rpt_pipe_close(p), TDI_OK); /* a second close does nothing */
    free(p);
}

static void early_consumer_does_not_block_producer(void **state)
{
    rpt_pipe *p = calloc(1, sizeof *p);
    unsigned char *buf = calloc(1, BIG);

    (void)state;
    assert_non_null(p);
    assert_non_null(buf);
    assert_int_equal(rpt_pipe_start(p, give_up, NULL, 0), TDI_OK);
    /* The consumer read nothing; its thread drains the pipe, so these writes return. */
    assert_int_equal(rpt_pipe_write(p, buf, BIG), TDI_OK);
    assert_int_equal(rpt_pipe_write(p, buf, 10), TDI_OK);
    assert_int_equal(rpt_pipe_close(p), TDI_ERR_INVALID);
    free(buf);
    free(p);
}

static void stop_early_fails_a_later_write(void **state)
{
    rpt_pipe *p = calloc(1, sizeof *p);
    unsigned char buf[4096] = {0};
    tdi_status st = TDI_OK;

    (void)state;
    assert_non_null(p);
    assert_int_equal(rpt_pipe_start(p, give_up, NULL, RPT_PIPE_STOP_EARLY), TDI_OK);
    for (unsigned long i = 0; i < 1000000 && st == TDI_OK; i++) {
        st = rpt_pipe_write(p, buf, sizeof buf);
        if (st == TDI_OK && i % 64 == 0)
            usleep(1000); /* time for the consumer thread to give up */
    }
    assert_int_equal(st, TDI_ERR_INVALID);
    assert_int_equal(rpt_pipe_close(p), TDI_ERR_INVALID);
    free(p);
}

static void unstarted_pipe(void **state)
{
    rpt_pipe *p = calloc(1, sizeof *p);

    (void)state;
    assert_non_null(p);
    assert_int_equal(rpt_pipe_write(p, "x", 1), TDI_ERR_INTERNAL);
    assert_int_equal(rpt_pipe_close(p), TDI_OK);
    free(p);
}

/* Which of SIGINT and SIGTERM the calling thread blocks: bit 0 and bit 1. */
static int stop_signals_blocked(void)
{
    sigset_t cur;

    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
    return sigismember(&cur, SIGINT) | sigismember(&cur, SIGTERM) << 1;
}

static void *note_mask(void *arg)
{
    *(int *)arg = stop_signals_blocked();
    return NULL;
}

/* tdi_thread_start(), which the pipe, the run's queue and the tables' threads start workers
 * with: the worker blocks both stop signals, so they reach the run's thread; the starter's own
 * mask is as it was. */
static void workers_leave_stop_signals_to_their_starter(void **state)
{
    pthread_t th;
    int in_worker = -1;

    (void)state;
    assert_int_equal(stop_signals_blocked(), 0);
    assert_int_equal(tdi_thread_start(&th, note_mask, &in_worker), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(in_worker, 3);
    assert_int_equal(stop_signals_blocked(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_arrives_whole_and_in_order),
        cmocka_unit_test(early_consumer_does_not_block_producer),
        cmocka_unit_test(stop_early_fails_a_later_write),
        cmocka_unit_test(unstarted_pipe),
        cmocka_unit_test(workers_leave_stop_signals_to_their_starter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
