/* Unit tests for run_queue: items reach the consumer thread in the order pushed, across the ring's
 * wrap-around; a consumer's failure stops the producer (with the consumer's status and message)
 * and a producer's failure stops the consumer, with no item after it and no end seen. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../common/tdi_log.h"
#include "../../run/run_queue.h"

#include <stdint.h>
#include <string.h>

#define MANY 100000

typedef struct seen {
    uint64_t items, next; /* items taken; the value the next one must have */
    int out_of_order, ended;
    uint64_t fail_after; /* the consumer fails after this many items (0: never) */
    tdi_status last;     /* the last status run_queue_take() returned */
} seen;

static tdi_status consume(run_queue *q, void *arg)
{
    seen *s = arg;
    void *it;
    int end = 0;
    tdi_status st;

    while ((st = run_queue_take(q, &it, &end)) == TDI_OK && !end) {
        uint64_t v;

        memcpy(&v, it, sizeof v);
        s->out_of_order += v != s->next;
        s->next = v + 1;
        if (++s->items == s->fail_after) {
            tdi_error("consumer: disk full");
            return TDI_ERR_OUTPUT;
        }
    }
    s->ended = end;
    s->last = st;
    return st;
}

/* Pushes values from 0 up, skipping every 5th slot (filled, not pushed: the slot is used again),
 * until n are pushed or a slot is refused; returns the last status, *pushed the count. */
static tdi_status produce(run_queue *q, uint64_t n, uint64_t *pushed)
{
    uint64_t v = 0, tries = 0;
    void *it;
    tdi_status st = TDI_OK;

    *pushed = 0;
    while (*pushed < n && (st = run_queue_slot(q, &it)) == TDI_OK) {
        if (tries++ % 5 == 4) {
            memset(it, 0xff, 16);
            continue;
        }
        memcpy(it, &v, sizeof v);
        v++;
        run_queue_push(q);
        (*pushed)++;
    }
    return st;
}

static void items_arrive_in_order(void **state)
{
    seen s = {0};
    run_queue *q;
    uint64_t pushed;

    (void)state;
    /* 7 items a batch, 3 batches: the ring wraps many times, the last batch is part full */
    assert_int_equal(run_queue_start(16, 7, 3, consume, &s, &q), TDI_OK);
    assert_int_equal(produce(q, MANY, &pushed), TDI_OK);
    assert_int_equal(run_queue_end(q, TDI_OK), TDI_OK);
    assert_int_equal(pushed, MANY);
    assert_int_equal(s.items, MANY);
    assert_int_equal(s.out_of_order, 0);
    assert_int_equal(s.ended, 1);
    assert_int_equal(s.last, TDI_OK);
}

static void nothing_pushed_is_an_end(void **state)
{
    seen s = {0};
    run_queue *q;

    (void)state;
    assert_int_equal(run_queue_start(16, 7, 3, consume, &s, &q), TDI_OK);
    assert_int_equal(run_queue_end(q, TDI_OK), TDI_OK);
    assert_int_equal(s.items, 0);
    assert_int_equal(s.ended, 1);
}

static void consumer_failure_stops_the_producer(void **state)
{
    seen s = {.fail_after = 10};
    run_queue *q;
    uint64_t pushed;

    (void)state;
    tdi_log_clear_thread_error();
    assert_int_equal(run_queue_start(16, 7, 3, consume, &s, &q), TDI_OK);
    /* the producer is refused a slot with the consumer's status, long before MANY */
    assert_int_equal(produce(q, MANY, &pushed), TDI_ERR_OUTPUT);
    assert_true(pushed >= 10);
    assert_true(pushed <= 10 + 4 * 7);
    assert_int_equal(run_queue_end(q, TDI_ERR_OUTPUT), TDI_ERR_OUTPUT);
    assert_int_equal(s.items, 10);
    /* the consumer's message is the producer's thread's last error: the source's error */
    assert_string_equal(tdi_log_thread_error(), "consumer: disk full");
}

static void producer_failure_stops_the_consumer(void **state)
{
    seen s = {0};
    run_queue *q;
    uint64_t pushed;

    (void)state;
    tdi_log_clear_thread_error();
    assert_int_equal(run_queue_start(16, 7, 3, consume, &s, &q), TDI_OK);
    assert_int_equal(produce(q, 5, &pushed), TDI_OK); /* less than a batch: never handed over */
    assert_int_equal(run_queue_end(q, TDI_ERR_INTERRUPTED), TDI_ERR_INTERRUPTED);
    assert_int_equal(s.items, 0);
    assert_int_equal(s.ended, 0);
    assert_int_equal(s.last, TDI_ERR_INTERRUPTED);
    assert_string_equal(tdi_log_thread_error(), ""); /* the producer's own failure: its message */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(items_arrive_in_order),
        cmocka_unit_test(nothing_pushed_is_an_end),
        cmocka_unit_test(consumer_failure_stops_the_producer),
        cmocka_unit_test(producer_failure_stops_the_consumer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
