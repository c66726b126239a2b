/* run_spool: fixed-size entries in an unlinked temp file; see run_spool.h. */
#define _GNU_SOURCE /* O_TMPFILE, mkostemps */
#include "run_spool.h"

#include "../common/tdi_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_BUF (256 * 1024)

struct run_spool {
    int fd;
    char dir[PATH_MAX]; /* for messages */
    size_t size;        /* bytes per entry */
    uint64_t count;     /* entries in the file and the buffer */
    uint64_t flushed;   /* entries in the file */
    int reading;        /* buf holds entries read from the file, from position first */
    uint64_t first;
    size_t used; /* bytes in buf */
    unsigned char *buf;
    size_t cap; /* whole entries that fit in buf, in bytes */
    /* sorted (run_spool_sorted): count and flushed are then the placed entries only */
    run_spool_key_fn key;
    run_spool_sink_fn sink;
    void *sink_arg;
    size_t run_max;      /* entries a run holds */
    size_t npend;        /* appended, not yet placed */
    unsigned char *pend; /* their bytes, in the order appended (mapped with order, keys) */
    unsigned char *keys; /* their keys, RUN_SPOOL_KEY bytes each */
    uint32_t *order;     /* their indexes, sorted by key when the run is placed */
    uint64_t *runs;      /* first position of each run */
    size_t nruns, runs_cap;
};

static tdi_status io_error(const run_spool *sp, const char *what, int err)
{
    tdi_error("%s: spool: %s: %s", sp->dir, what, strerror(err));
    return TDI_ERR_OUTPUT;
}

/* An unnamed file in dir: O_TMPFILE where the file system has it, else a name unlinked at once
 * (in the window between, the .tdi-*.tmp name is what the next run's sweep removes). */
static int open_unlinked(const char *dir, int *err)
{
    char path[PATH_MAX];
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) {
        *err = errno;
        return fd;
    }
    if (snprintf(path, sizeof path, "%s/.tdi-spool-XXXXXX.tmp", dir) >= (int)sizeof path) {
        *err = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemps(path, 4, O_CLOEXEC);
    *err = errno;
    if (fd >= 0 && unlink(path) != 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

tdi_status run_spool_stream(const char *dir, FILE **out)
{
    int err = 0;
    int fd = open_unlinked(dir, &err);

    *out = fd >= 0 ? fdopen(fd, "w+") : NULL;
    if (*out)
        return TDI_OK;
    if (fd >= 0) {
        err = errno;
        close(fd);
    }
    tdi_error("%s: spool: cannot create: %s", dir, strerror(err));
    return TDI_ERR_OUTPUT;
}

tdi_status run_spool_open(const char *dir, size_t entry_size, run_spool **out)
{
    run_spool *sp;
    int err = 0;

    *out = NULL;
    if (entry_size == 0 || entry_size > SPOOL_BUF) {
        tdi_error("%s: spool: entry size %zu out of range", dir, entry_size);
        return TDI_ERR_INTERNAL;
    }
    sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->buf = malloc(SPOOL_BUF))) {
        free(sp);
        tdi_error("%s: spool: out of memory", dir);
        return TDI_ERR_INTERNAL;
    }
    snprintf(sp->dir, sizeof sp->dir, "%s", dir);
    sp->size = entry_size;
    sp->cap = SPOOL_BUF / entry_size * entry_size;
    sp->fd = open_unlinked(dir, &err);
    if (sp->fd < 0) {
        tdi_status st = io_error(sp, "cannot create", err);
        free(sp->buf);
        free(sp);
        return st;
    }
    *out = sp;
    return TDI_OK;
}

/* Pages for a run's pending entries or a merge's buffers, given back to the system when freed.
 * Not malloc(): freeing a block that size makes glibc keep the next ones of that size in its
 * heap, and the run's peak RSS grew by 6.6 MB at 1M. NULL when there are none. */
static void *room_map(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

static void room_unmap(void *p, size_t len)
{
    if (p)
        (void)munmap(p, len); /* fails only for a range not mapped */
}

/* The pending entries, their keys and their order in one mapping. */
static size_t pending_bytes(const run_spool *sp)
{
    return sp->run_max * (sp->size + RUN_SPOOL_KEY + sizeof(uint32_t));
}

/* The room of a run of pending entries: made at the first append, freed by a merge. */
static void free_pending(run_spool *sp)
{
    room_unmap(sp->pend, pending_bytes(sp));
    sp->pend = sp->keys = NULL;
    sp->order = NULL;
}

void run_spool_close(run_spool *sp)
{
    if (!sp)
        return;
    close(sp->fd); /* nothing written to it is kept: no error to act on */
    free(sp->buf);
    free_pending(sp);
    free(sp->runs);
    free(sp);
}

/* The buffer, made again after run_spool_rest(). */
static tdi_status need_buffer(run_spool *sp)
{
    if (sp->buf)
        return TDI_OK;
    sp->buf = malloc(SPOOL_BUF);
    if (sp->buf)
        return TDI_OK;
    tdi_error("%s: spool: out of memory", sp->dir);
    return TDI_ERR_INTERNAL;
}

static tdi_status write_all(run_spool *sp, const unsigned char *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(sp->fd, p, len, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_error(sp, "write failed", errno);
        if (n == 0)
            return io_error(sp, "write failed", EIO);
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return TDI_OK;
}

static tdi_status flush(run_spool *sp)
{
    tdi_status st;

    if (sp->used == 0)
        return TDI_OK;
    st = write_all(sp, sp->buf, sp->used, (off_t)(sp->flushed * sp->size));
    sp->used = 0; /* on failure the entries are lost: the caller gives up on the spool */
    if (st == TDI_OK)
        sp->flushed = sp->count;
    return st;
}

/* Back to writing after reads: the first read flushed every entry, so the buffer holds only
 * copies of the file's. */
static void end_reading(run_spool *sp)
{
    if (!sp->reading)
        return;
    sp->reading = 0;
    sp->used = 0;
    sp->first = 0;
    sp->flushed = sp->count;
}

/* entry after the placed ones. */
static tdi_status put(run_spool *sp, const void *entry)
{
    tdi_status st = need_buffer(sp);

    if (st != TDI_OK)
        return st;
    end_reading(sp);
    if (sp->used + sp->size > sp->cap) {
        st = flush(sp);
        if (st != TDI_OK)
            return st;
    }
    memcpy(sp->buf + sp->used, entry, sp->size);
    sp->used += sp->size;
    sp->count++;
    return TDI_OK;
}

static tdi_status need_pending(run_spool *sp)
{
    if (sp->pend)
        return TDI_OK;
    sp->pend = room_map(pending_bytes(sp));
    if (!sp->pend) {
        tdi_error("%s: spool: out of memory", sp->dir);
        return TDI_ERR_INTERNAL;
    }
    /* the order's uint32s first after the entries: their offset is a multiple of 4 */
    sp->order = (uint32_t *)(void *)(sp->pend + sp->run_max * sp->size);
    sp->keys = (unsigned char *)(sp->order + sp->run_max);
    return TDI_OK;
}

tdi_status run_spool_append(run_spool *sp, const void *entry)
{
    tdi_status st;

    if (!sp->key)
        return put(sp, entry);
    st = sp->npend == sp->run_max ? run_spool_settle(sp) : need_pending(sp);
    if (st != TDI_OK)
        return st;
    memcpy(sp->pend + sp->npend * sp->size, entry, sp->size);
    sp->key(entry, sp->keys + sp->npend * RUN_SPOOL_KEY);
    sp->order[sp->npend] = (uint32_t)sp->npend;
    sp->npend++;
    return TDI_OK;
}

tdi_status run_spool_sorted(run_spool *sp, size_t run_entries, run_spool_key_fn key,
                            run_spool_sink_fn sink, void *arg)
{
    if (sp->count > 0 || run_entries == 0 || run_entries > UINT32_MAX || !key) {
        tdi_error("%s: spool: cannot sort runs of %zu entries here", sp->dir, run_entries);
        return TDI_ERR_INTERNAL;
    }
    sp->run_max = run_entries;
    sp->key = key;
    sp->sink = sink;
    sp->sink_arg = arg;
    return TDI_OK;
}

/* A key's first 8 bytes as a number (big-endian): the body and 4 bytes of an HMAC, which mostly
 * decide a comparison without a call (1M: 27M comparisons in the sorts and merges). */
static inline uint64_t key_head(const unsigned char *k)
{
    return (uint64_t)k[0] << 56 | (uint64_t)k[1] << 48 | (uint64_t)k[2] << 40 |
           (uint64_t)k[3] << 32 | (uint64_t)k[4] << 24 | (uint64_t)k[5] << 16 |
           (uint64_t)k[6] << 8 | (uint64_t)k[7];
}

/* Two keys as memcmp() orders them, their heads (key_head()) given: the merge keeps each run's. */
static inline int head_cmp(uint64_t ha, const unsigned char *a, uint64_t hb, const unsigned char *b)
{
    if (ha != hb)
        return ha < hb ? -1 : 1;
    return memcmp(a + 8, b + 8, RUN_SPOOL_KEY - 8);
}

/* Two keys as memcmp() orders them. */
static inline int key_cmp(const unsigned char *a, const unsigned char *b)
{
    return head_cmp(key_head(a), a, key_head(b), b);
}

/* Two pending entries by key, then in the order appended (arg: the keys). */
static int key_order(const void *a, const void *b, void *arg)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const unsigned char *keys = arg;
    int c = key_cmp(keys + (size_t)x * RUN_SPOOL_KEY, keys + (size_t)y * RUN_SPOOL_KEY);

    return c ? c : (x > y) - (x < y);
}

tdi_status run_spool_settle(run_spool *sp)
{
    tdi_status st = TDI_OK;

    if (sp->npend == 0)
        return TDI_OK;
    if (sp->nruns == sp->runs_cap) {
        size_t cap = sp->runs_cap ? 2 * sp->runs_cap : 64;
        uint64_t *runs = realloc(sp->runs, cap * sizeof *runs);

        if (!runs) {
            tdi_error("%s: spool: out of memory", sp->dir);
            return TDI_ERR_INTERNAL;
        }
        sp->runs = runs;
        sp->runs_cap = cap;
    }
    qsort_r(sp->order, sp->npend, sizeof *sp->order, key_order, sp->keys);
    sp->runs[sp->nruns++] = sp->count;
    /* Through the write buffer: pwritev() straight from the pending entries cost more system
     * CPU than the copy saves (1M: +0.15 s against about 0.05 s). */
    for (size_t i = 0; i < sp->npend && st == TDI_OK; i++) {
        const unsigned char *e = sp->pend + (size_t)sp->order[i] * sp->size;

        st = put(sp, e);
        if (st == TDI_OK && sp->sink)
            st = sp->sink(sp->sink_arg, sp->count - 1, e);
    }
    sp->npend = 0; /* on failure the caller gives up on the spool */
    return st;
}

tdi_status run_spool_mark(run_spool *sp, uint64_t *mark)
{
    tdi_status st = run_spool_settle(sp);

    *mark = run_spool_count(sp);
    return st;
}

tdi_status run_spool_rest(run_spool *sp)
{
    tdi_status st = run_spool_settle(sp);

    if (st == TDI_OK && !sp->reading)
        st = flush(sp);
    end_reading(sp);
    free(sp->buf);
    sp->buf = NULL;
    return st;
}

uint64_t run_spool_count(const run_spool *sp)
{
    return sp->count + sp->npend;
}

tdi_status run_spool_truncate(run_spool *sp, uint64_t count)
{
    if (count > sp->count + sp->npend) {
        tdi_error("%s: spool: cut to %" PRIu64 " entries, but it holds %" PRIu64, sp->dir, count,
                  sp->count + sp->npend);
        return TDI_ERR_INTERNAL;
    }
    if (count > sp->count && count < sp->count + sp->npend) {
        /* the pending entries are one run: marks are taken settled (run_spool_mark()) */
        tdi_error("%s: spool: cut to %" PRIu64 " entries, inside the run not yet placed", sp->dir,
                  count);
        return TDI_ERR_INTERNAL;
    }
    if (count > sp->count)
        return TDI_OK;
    sp->npend = 0;
    while (sp->nruns > 0 && sp->runs[sp->nruns - 1] >= count)
        sp->nruns--;
    end_reading(sp);
    if (count >= sp->flushed) { /* only buffered entries go */
        sp->used = (size_t)(count - sp->flushed) * sp->size;
        sp->count = count;
        return TDI_OK;
    }
    sp->used = 0;
    sp->count = sp->flushed = count;
    if (ftruncate(sp->fd, (off_t)(count * sp->size)) != 0)
        return io_error(sp, "truncate failed", errno);
    return TDI_OK;
}

/* len bytes of the file at off into p. */
static tdi_status read_at(const run_spool *sp, unsigned char *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pread(sp->fd, p, len, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return io_error(sp, "read failed", n < 0 ? errno : EIO);
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return TDI_OK;
}

/* Every entry placed and in the file: what reads by position and merges need. */
static tdi_status settle_and_flush(run_spool *sp)
{
    tdi_status st = run_spool_settle(sp);

    if (st == TDI_OK && !sp->reading)
        st = flush(sp);
    return st;
}

tdi_status run_spool_read(run_spool *sp, uint64_t pos, void *entry)
{
    tdi_status st = need_buffer(sp);

    if (st == TDI_OK && (sp->npend > 0 || !sp->reading)) {
        st = settle_and_flush(sp);
        sp->reading = st == TDI_OK;
    }
    if (st != TDI_OK)
        return st;
    if (pos >= sp->count) {
        tdi_error("%s: spool: entry %" PRIu64 " read, but it holds %" PRIu64, sp->dir, pos,
                  sp->count);
        return TDI_ERR_INTERNAL;
    }
    if (pos < sp->first || (pos - sp->first) * sp->size >= sp->used) {
        uint64_t left = (sp->count - pos) * sp->size;
        size_t want = left < sp->cap ? (size_t)left : sp->cap;
        /* Reads in position order (the tables) fill the buffer ahead; a read far from the
         * buffer (a body's file, in its episode key order, when few records go out) takes the
         * one entry: a whole buffer per record would copy 256 KB for each. */
        if (sp->used > 0 && (pos < sp->first || pos - sp->first >= 2 * (sp->cap / sp->size)))
            want = sp->size;

        sp->first = pos;
        sp->used = 0;
        st = read_at(sp, sp->buf, want, (off_t)(pos * sp->size));
        if (st != TDI_OK)
            return st;
        sp->used = want;
    }
    memcpy(entry, sp->buf + (pos - sp->first) * sp->size, sp->size);
    return TDI_OK;
}

/* ------------------------------------------------------------------ merging the runs */

/* One run's part of a merge: positions next..end-1 still to give, a buffer of them. */
typedef struct merge_run {
    uint64_t next, end;
    uint64_t first; /* position of buf's first entry */
    size_t have;    /* entries in buf */
    unsigned char *buf;
    unsigned char key[RUN_SPOOL_KEY]; /* of the entry at next */
    uint64_t head;                    /* its first 8 bytes (key_head()) */
} merge_run;

struct run_spool_merge {
    run_spool *sp;
    size_t chunk; /* entries a run's buffer holds */
    merge_run *r;
    size_t *heap; /* runs not yet ended, least (key, next) first */
    size_t nheap;
    unsigned char *mem; /* the buffers (room_map()) */
    size_t mem_len;
};

/* Run r's entry at next into its buffer (a chunk from there when not in it) and its key. */
static tdi_status run_at_next(run_spool_merge *m, merge_run *r)
{
    run_spool *sp = m->sp;

    if (r->next < r->first || r->next >= r->first + r->have) {
        uint64_t left = r->end - r->next;
        size_t n = left < m->chunk ? (size_t)left : m->chunk;
        tdi_status st = read_at(sp, r->buf, n * sp->size, (off_t)(r->next * sp->size));

        r->have = 0;
        if (st != TDI_OK)
            return st;
        r->first = r->next;
        r->have = n;
    }
    sp->key(r->buf + (size_t)(r->next - r->first) * sp->size, r->key);
    r->head = key_head(r->key);
    return TDI_OK;
}

/* The first position of run r whose key is from from on: a binary search, one entry read a
 * probe (into the run's buffer, read again from there by run_at_next()). */
static tdi_status run_seek(run_spool_merge *m, merge_run *r, const unsigned char *from)
{
    run_spool *sp = m->sp;
    uint64_t lo = r->next, hi = r->end;

    r->have = 0;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        tdi_status st = read_at(sp, r->buf, sp->size, (off_t)(mid * sp->size));

        if (st != TDI_OK)
            return st;
        sp->key(r->buf, r->key);
        if (key_cmp(r->key, from) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    r->next = lo;
    return TDI_OK;
}

static int heap_less(const run_spool_merge *m, size_t a, size_t b)
{
    const merge_run *x = &m->r[m->heap[a]], *y = &m->r[m->heap[b]];
    int c = head_cmp(x->head, x->key, y->head, y->key);

    return c ? c < 0 : x->next < y->next;
}

static void heap_down(run_spool_merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, least = i, t;

        if (l < m->nheap && heap_less(m, l, least))
            least = l;
        if (l + 1 < m->nheap && heap_less(m, l + 1, least))
            least = l + 1;
        if (least == i)
            return;
        t = m->heap[i];
        m->heap[i] = m->heap[least];
        m->heap[least] = t;
        i = least;
    }
}

tdi_status run_spool_merge_open(run_spool *sp, const unsigned char from[RUN_SPOOL_KEY],
                                size_t budget, run_spool_merge **out)
{
    run_spool_merge *m = NULL;
    size_t n, chunk, max = sp->cap / sp->size;
    tdi_status st;

    *out = NULL;
    if (!sp->key) {
        tdi_error("%s: spool: merged, but its runs are not sorted", sp->dir);
        return TDI_ERR_INTERNAL;
    }
    st = settle_and_flush(sp);
    if (st != TDI_OK)
        return st;
    free_pending(sp); /* not needed while the spool is read: made again by an append */
    n = sp->nruns;    /* the settle may have made one */
    chunk = n ? budget / n / sp->size : 1;
    m = calloc(1, sizeof *m);
    if (m) {
        m->sp = sp;
        m->chunk = chunk < 1 ? 1 : chunk > max ? max : chunk;
        m->r = calloc(n + 1, sizeof *m->r);
        m->heap = calloc(n + 1, sizeof *m->heap);
        m->mem_len = (n + 1) * m->chunk * sp->size;
        m->mem = room_map(m->mem_len);
    }
    if (!m || !m->r || !m->heap || !m->mem) {
        tdi_error("%s: spool: out of memory", sp->dir);
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    for (size_t i = 0; i < n && st == TDI_OK; i++) {
        merge_run *r = &m->r[i];

        r->buf = m->mem + i * m->chunk * sp->size;
        r->next = sp->runs[i];
        r->end = i + 1 < n ? sp->runs[i + 1] : sp->count;
        st = run_seek(m, r, from);
        if (st == TDI_OK && r->next < r->end)
            st = run_at_next(m, r);
        if (st == TDI_OK && r->next < r->end)
            m->heap[m->nheap++] = i;
    }
    for (size_t i = m->nheap / 2; i-- > 0;)
        heap_down(m, i);
done:
    if (st != TDI_OK)
        run_spool_merge_close(m);
    else
        *out = m;
    return st;
}

tdi_status run_spool_merge_next(run_spool_merge *m, uint64_t *pos, void *entry, int *eof)
{
    merge_run *r;
    tdi_status st = TDI_OK;

    *eof = m->nheap == 0;
    if (*eof)
        return TDI_OK;
    r = &m->r[m->heap[0]];
    *pos = r->next;
    if (entry)
        memcpy(entry, r->buf + (size_t)(r->next - r->first) * m->sp->size, m->sp->size);
    if (++r->next < r->end)
        st = run_at_next(m, r);
    else
        m->heap[0] = m->heap[--m->nheap];
    heap_down(m, 0);
    return st;
}

int run_spool_merge_peek(const run_spool_merge *m, uint64_t *pos, unsigned char key[RUN_SPOOL_KEY])
{
    const merge_run *r;

    if (m->nheap == 0)
        return 0;
    r = &m->r[m->heap[0]];
    *pos = r->next;
    if (key)
        memcpy(key, r->key, RUN_SPOOL_KEY);
    return 1;
}

void run_spool_merge_close(run_spool_merge *m)
{
    if (!m)
        return;
    free(m->r);
    free(m->heap);
    room_unmap(m->mem, m->mem_len);
    free(m);
}
