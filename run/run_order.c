/* run_order: an external merge sort of a spool's entries; see run_order.h. */
#define _GNU_SOURCE /* qsort_r */
#include "run_order.h"

#include "../common/tdi_log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One sorted run being merged: its records not yet read, [next, end) of the runs file, and a
 * buffer of cap records of which have were read, the current one at. */
typedef struct cursor {
    uint64_t next, end;
    unsigned char *buf;
    size_t cap, have, at;
} cursor;

struct run_order {
    run_spool *runs; /* every sorted run, one after another; a record is the entry, then its
                      * spool position */
    size_t esize, rsize;
    run_order_cmp cmp;
    uint64_t *start; /* run i is the records [start[i], start[i + 1]) */
    size_t nruns;
    cursor *cur;
    size_t *heap; /* runs with records left, by their current record, the least first */
    size_t nheap;
    unsigned char *bufs; /* the cursors' buffers, one block */
};

static uint64_t rec_pos(const run_order *o, const unsigned char *rec)
{
    uint64_t pos;

    memcpy(&pos, rec + o->esize, sizeof pos);
    return pos;
}

static int rec_cmp(const run_order *o, const unsigned char *a, const unsigned char *b)
{
    int c = o->cmp(a, b);
    uint64_t pa, pb;

    if (c != 0)
        return c;
    pa = rec_pos(o, a);
    pb = rec_pos(o, b);
    return (pa > pb) - (pa < pb);
}

static int sort_cmp(const void *a, const void *b, void *arg)
{
    return rec_cmp(arg, *(unsigned char *const *)a, *(unsigned char *const *)b);
}

static tdi_status no_memory(void)
{
    tdi_error("ordering the spool: out of memory");
    return TDI_ERR_INTERNAL;
}

/* The chunk's n records (idx points at each), sorted, appended to the runs file as one run. */
static tdi_status write_run(run_order *o, unsigned char **idx, size_t n)
{
    uint64_t *start = realloc(o->start, (o->nruns + 2) * sizeof *start);
    tdi_status st = TDI_OK;

    if (!start)
        return no_memory();
    o->start = start;
    qsort_r(idx, n, sizeof *idx, sort_cmp, o);
    for (size_t i = 0; i < n && st == TDI_OK; i++)
        st = run_spool_append(o->runs, idx[i]);
    o->nruns++;
    o->start[o->nruns] = run_spool_count(o->runs);
    return st;
}

/* Reads sp in sequence into a chunk of what mem holds; each full chunk, and the last, becomes a
 * sorted run. */
static tdi_status sort_runs(run_order *o, run_spool *sp, run_order_keep keep, void *arg, size_t mem)
{
    uint64_t count = run_spool_count(sp);
    size_t cap = mem / (o->rsize + sizeof(unsigned char *)), n = 0;
    unsigned char *chunk = NULL, **idx = NULL;
    tdi_status st = TDI_OK;

    if (cap == 0)
        cap = 1;
    if (cap > count)
        cap = (size_t)count;
    if (cap == 0)
        return TDI_OK;
    chunk = malloc(cap * o->rsize);
    idx = malloc(cap * sizeof *idx);
    if (!chunk || !idx)
        st = no_memory();
    for (uint64_t pos = 0; pos < count && st == TDI_OK; pos++) {
        unsigned char *r = chunk + n * o->rsize;

        st = run_spool_read(sp, pos, r);
        if (st != TDI_OK || (keep && !keep(r, arg)))
            continue;
        memcpy(r + o->esize, &pos, sizeof pos);
        idx[n++] = r;
        if (n == cap) {
            st = write_run(o, idx, n);
            n = 0;
        }
    }
    if (st == TDI_OK && n > 0)
        st = write_run(o, idx, n);
    free(chunk);
    free(idx);
    return st;
}

static const unsigned char *head(const run_order *o, size_t run)
{
    const cursor *c = &o->cur[run];

    return c->buf + c->at * o->rsize;
}

static int less(const run_order *o, size_t i, size_t j)
{
    return rec_cmp(o, head(o, o->heap[i]), head(o, o->heap[j])) < 0;
}

static void swap(run_order *o, size_t i, size_t j)
{
    size_t t = o->heap[i];

    o->heap[i] = o->heap[j];
    o->heap[j] = t;
}

static void sift_up(run_order *o, size_t k)
{
    while (k > 0 && less(o, k, (k - 1) / 2)) {
        swap(o, k, (k - 1) / 2);
        k = (k - 1) / 2;
    }
}

static void sift_down(run_order *o, size_t k)
{
    for (;;) {
        size_t l = 2 * k + 1, least = k;

        if (l < o->nheap && less(o, l, least))
            least = l;
        if (l + 1 < o->nheap && less(o, l + 1, least))
            least = l + 1;
        if (least == k)
            return;
        swap(o, k, least);
        k = least;
    }
}

/* The next records of run into its buffer. */
static tdi_status fill(run_order *o, size_t run)
{
    cursor *c = &o->cur[run];
    uint64_t left = c->end - c->next;
    size_t n = left < c->cap ? (size_t)left : c->cap;
    tdi_status st = run_spool_read_many(o->runs, c->next, n, c->buf);

    c->next += n;
    c->have = n;
    c->at = 0;
    return st;
}

/* A buffer per run from what mem holds (a run is never longer than the chunk was), each filled,
 * every run in the heap. */
static tdi_status start_merge(run_order *o, size_t mem)
{
    size_t per = mem / o->nruns / o->rsize, longest = 1;
    tdi_status st = TDI_OK;

    for (size_t i = 0; i < o->nruns; i++)
        if (o->start[i + 1] - o->start[i] > longest)
            longest = (size_t)(o->start[i + 1] - o->start[i]);
    if (per == 0)
        per = 1;
    if (per > longest)
        per = longest;
    o->cur = calloc(o->nruns, sizeof *o->cur);
    o->heap = malloc(o->nruns * sizeof *o->heap);
    o->bufs = malloc(o->nruns * per * o->rsize);
    if (!o->cur || !o->heap || !o->bufs)
        return no_memory();
    for (size_t i = 0; i < o->nruns && st == TDI_OK; i++) {
        cursor *c = &o->cur[i];

        c->next = o->start[i];
        c->end = o->start[i + 1];
        c->buf = o->bufs + i * per * o->rsize;
        c->cap = per;
        st = fill(o, i);
        o->heap[o->nheap] = i;
        sift_up(o, o->nheap++);
    }
    return st;
}

tdi_status run_order_open(run_spool *sp, run_order_cmp cmp, run_order_keep keep, void *arg,
                          const char *dir, size_t mem, run_order **out)
{
    run_order *o = calloc(1, sizeof *o);
    tdi_status st;

    *out = NULL;
    if (!o)
        return no_memory();
    o->esize = run_spool_entry_size(sp);
    o->rsize = o->esize + sizeof(uint64_t);
    o->cmp = cmp;
    o->start = calloc(1, sizeof *o->start);
    st = o->start ? run_spool_open(dir, o->rsize, &o->runs) : no_memory();
    if (st == TDI_OK)
        st = sort_runs(o, sp, keep, arg, mem);
    if (st == TDI_OK)
        st = run_spool_rest(o->runs); /* written out; its write buffer is not needed again */
    if (st == TDI_OK && o->nruns > 0)
        st = start_merge(o, mem);
    if (st != TDI_OK) {
        run_order_close(o);
        return st;
    }
    tdi_debug("spool ordered: %" PRIu64 " entries, sorted runs: %zu",
              o->nruns ? o->start[o->nruns] : 0, o->nruns);
    *out = o;
    return TDI_OK;
}

tdi_status run_order_next(run_order *o, void *entry, uint64_t *pos, int *eof)
{
    size_t run;
    cursor *c;
    tdi_status st = TDI_OK;

    *eof = o->nheap == 0;
    if (*eof)
        return TDI_OK;
    run = o->heap[0];
    c = &o->cur[run];
    memcpy(entry, head(o, run), o->esize);
    *pos = rec_pos(o, head(o, run));
    if (++c->at == c->have) {
        if (c->next == c->end)
            o->heap[0] = o->heap[--o->nheap]; /* the run is done */
        else if ((st = fill(o, run)) != TDI_OK)
            o->nheap = 0; /* nothing more comes out after a failed read */
    }
    if (o->nheap > 0)
        sift_down(o, 0);
    return st;
}

void run_order_close(run_order *o)
{
    if (!o)
        return;
    run_spool_close(o->runs);
    free(o->start);
    free(o->cur);
    free(o->heap);
    free(o->bufs);
    free(o);
}
