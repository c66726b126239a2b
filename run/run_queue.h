/*
 * run_queue: hands fixed-size items from the calling thread (the producer) to a consumer running
 * on a thread of its own, in order, through a bounded ring of batches: memory stays flat (at most
 * nbatches * batch items exist), and the threads meet once a batch, not once an item. The
 * producer fills slots in place (run_queue_slot, run_queue_push); the consumer's function takes
 * them in the order pushed (run_queue_take) until the end.
 *
 * Either side's failure stops both: a consumer that returns a failure makes the producer's next
 * run_queue_slot() return it; a producer that ends with a failure makes the consumer's next
 * run_queue_take() return it. run_queue_end() joins the consumer and returns the first failure,
 * with its error message as the calling thread's (tdi_log_thread_error()). The consumer thread
 * blocks SIGINT and SIGTERM: signals reach the producer's thread, which polls for them. The
 * items are wiped when the queue is freed.
 */
#ifndef RUN_QUEUE_H
#define RUN_QUEUE_H

#include "../common/tdi_status.h"

#include <stddef.h>

typedef struct run_queue run_queue;

/* The consumer: run_queue_take() until *end or a failure; what it returns ends its side. */
typedef tdi_status (*run_queue_fn)(run_queue *q, void *arg);

/* A queue of nbatches batches of batch items of item_size bytes, and its consumer fn(q, arg)
 * started on a thread of its own. Fails only when memory or a thread cannot be had (logged). */
tdi_status run_queue_start(size_t item_size, size_t batch, size_t nbatches, run_queue_fn fn,
                           void *arg, run_queue **out);

/* Producer: *item = the next slot to fill (zeroed), waiting while every batch is in use; the
 * consumer's failure when it has failed. */
tdi_status run_queue_slot(run_queue *q, void **item);
/* Producer: the slot filled; a full batch goes to the consumer. */
void run_queue_push(run_queue *q);
/* Producer, last: st is its own status (TDI_OK: the items pushed are all; else the consumer stops
 * at its next take). Hands over what is left, joins the consumer, frees q; returns the first
 * failure of either side, or TDI_OK. */
tdi_status run_queue_end(run_queue *q, tdi_status st);

/* Consumer: *item = the next item pushed (valid until the next call), or *end = 1 after the last;
 * the producer's failure when it ended with one. */
tdi_status run_queue_take(run_queue *q, void **item, int *end);

#endif
