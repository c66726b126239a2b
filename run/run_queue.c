/*
 * run_queue: the ring of batches between a producer and its consumer thread (run_queue.h). The
 * producer fills batch (produced % nbatches) while the consumer empties batch (consumed %
 * nbatches); a batch changes hands under the lock, its items never move.
 */
#include "run_queue.h"

#include "../common/tdi_log.h"
#include "../common/tdi_signal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run_queue {
    size_t size, batch, nbatches;
    unsigned char *items; /* nbatches * batch * size bytes */
    size_t *filled;       /* per batch: its items, set when it is handed over */
    pthread_mutex_t lock;
    pthread_cond_t cv;      /* a batch handed over or given back, the end, a failure */
    unsigned long produced; /* batches handed to the consumer (lock) */
    unsigned long consumed; /* batches given back (lock) */
    int ended;              /* the producer pushes no more (lock) */
    tdi_status failed;      /* the first failure of either side (lock) */
    int consumer_failed;    /* it was the consumer's (lock) */
    char error[512];        /* the consumer's error message, when it failed first */
    size_t ppos;            /* producer: items in its batch */
    size_t cpos, cfill;     /* consumer: the next item of its batch, the batch's items */
    int cbusy;              /* consumer: it holds batch (consumed % nbatches) */
    run_queue_fn fn;
    void *arg;
    pthread_t thread;
};

static unsigned char *batch_at(run_queue *q, unsigned long n)
{
    return q->items + (n % q->nbatches) * q->batch * q->size;
}

/* The first failure stops both sides. Called with the lock held. */
static void fail_locked(run_queue *q, tdi_status st, int consumer)
{
    if (q->failed != TDI_OK || st == TDI_OK)
        return;
    q->failed = st;
    q->consumer_failed = consumer;
    if (consumer)
        snprintf(q->error, sizeof q->error, "%s", tdi_log_thread_error());
    (void)pthread_cond_broadcast(&q->cv);
}

static void *consume(void *arg)
{
    run_queue *q = arg;
    tdi_status st;

    tdi_log_clear_thread_error();
    st = q->fn(q, q->arg);
    (void)pthread_mutex_lock(&q->lock);
    fail_locked(q, st, 1);
    (void)pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void queue_free(run_queue *q)
{
    if (q->items)
        explicit_bzero(q->items, q->nbatches * q->batch * q->size); /* records, digests */
    free(q->items);
    free(q->filled);
    free(q);
}

/* The consumer thread, with SIGINT and SIGTERM blocked (inherited from this thread's mask). */
static tdi_status start_thread(run_queue *q)
{
    int err = tdi_thread_start(&q->thread, consume, q);

    if (err != 0) {
        tdi_error("cannot start a worker thread: %s", strerror(err));
        return TDI_ERR_INTERNAL;
    }
    return TDI_OK;
}

tdi_status run_queue_start(size_t item_size, size_t batch, size_t nbatches, run_queue_fn fn,
                           void *arg, run_queue **out)
{
    run_queue *q = calloc(1, sizeof *q);
    tdi_status st = TDI_ERR_INTERNAL;

    *out = NULL;
    if (!q || !item_size || !batch || !nbatches)
        goto done;
    q->size = item_size;
    q->batch = batch;
    q->nbatches = nbatches;
    q->fn = fn;
    q->arg = arg;
    q->items = calloc(nbatches * batch, item_size);
    q->filled = calloc(nbatches, sizeof *q->filled);
    if (!q->items || !q->filled)
        goto done;
    (void)pthread_mutex_init(&q->lock, NULL); /* default attributes: cannot fail on Linux */
    (void)pthread_cond_init(&q->cv, NULL);
    st = start_thread(q);
    if (st != TDI_OK) {
        (void)pthread_cond_destroy(&q->cv);
        (void)pthread_mutex_destroy(&q->lock);
    }
done:
    if (st != TDI_OK && q && !q->items)
        tdi_error("out of memory");
    if (st != TDI_OK && q)
        queue_free(q);
    else
        *out = q;
    return st;
}

tdi_status run_queue_slot(run_queue *q, void **item)
{
    tdi_status st = TDI_OK;

    *item = NULL;
    if (q->ppos == 0) { /* a new batch: wait until the consumer has given one back */
        (void)pthread_mutex_lock(&q->lock);
        while (q->failed == TDI_OK && q->produced - q->consumed >= q->nbatches)
            (void)pthread_cond_wait(&q->cv, &q->lock);
        st = q->failed;
        (void)pthread_mutex_unlock(&q->lock);
    } else if (q->ppos % 64 == 0) { /* a failed consumer stops the producer within a batch */
        (void)pthread_mutex_lock(&q->lock);
        st = q->failed;
        (void)pthread_mutex_unlock(&q->lock);
    }
    if (st != TDI_OK)
        return st;
    *item = batch_at(q, q->produced) + q->ppos * q->size;
    memset(*item, 0, q->size);
    return TDI_OK;
}

/* Hands the producer's batch over, full or not. */
static void hand_over(run_queue *q)
{
    (void)pthread_mutex_lock(&q->lock);
    q->filled[q->produced % q->nbatches] = q->ppos;
    q->produced++;
    (void)pthread_cond_broadcast(&q->cv);
    (void)pthread_mutex_unlock(&q->lock);
    q->ppos = 0;
}

void run_queue_push(run_queue *q)
{
    if (++q->ppos == q->batch)
        hand_over(q);
}

tdi_status run_queue_end(run_queue *q, tdi_status st)
{
    tdi_status first;

    if (st == TDI_OK && q->ppos > 0)
        hand_over(q);
    (void)pthread_mutex_lock(&q->lock);
    fail_locked(q, st, 0);
    q->ended = 1;
    (void)pthread_cond_broadcast(&q->cv);
    (void)pthread_mutex_unlock(&q->lock);
    (void)pthread_join(q->thread, NULL);
    first = q->failed;
    if (first != TDI_OK && q->consumer_failed)
        tdi_log_set_thread_error(q->error);
    (void)pthread_cond_destroy(&q->cv);
    (void)pthread_mutex_destroy(&q->lock);
    queue_free(q);
    return first;
}

tdi_status run_queue_take(run_queue *q, void **item, int *end)
{
    tdi_status st;

    *item = NULL;
    *end = 0;
    if (q->cbusy && q->cpos < q->cfill) {
        *item = batch_at(q, q->consumed) + q->cpos++ * q->size;
        return TDI_OK;
    }
    (void)pthread_mutex_lock(&q->lock);
    if (q->cbusy) { /* its items are all taken: the batch goes back */
        q->consumed++;
        q->cbusy = 0;
        (void)pthread_cond_broadcast(&q->cv);
    }
    while (q->failed == TDI_OK && !q->ended && q->produced == q->consumed)
        (void)pthread_cond_wait(&q->cv, &q->lock);
    st = q->failed;
    if (st == TDI_OK && q->produced > q->consumed) {
        q->cbusy = 1;
        q->cfill = q->filled[q->consumed % q->nbatches];
        q->cpos = 0;
    }
    (void)pthread_mutex_unlock(&q->lock);
    if (st != TDI_OK)
        return st;
    if (!q->cbusy) {
        *end = 1;
        return TDI_OK;
    }
    *item = batch_at(q, q->consumed) + q->cpos++ * q->size;
    return TDI_OK;
}
