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

void run_spool_close(run_spool *sp)
{
    if (!sp)
        return;
    close(sp->fd); /* nothing written to it is kept: no error to act on */
    free(sp->buf);
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

tdi_status run_spool_append(run_spool *sp, const void *entry)
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

tdi_status run_spool_rest(run_spool *sp)
{
    tdi_status st = TDI_OK;

    if (!sp->reading)
        st = flush(sp);
    end_reading(sp);
    free(sp->buf);
    sp->buf = NULL;
    return st;
}

uint64_t run_spool_count(const run_spool *sp)
{
    return sp->count;
}

tdi_status run_spool_truncate(run_spool *sp, uint64_t count)
{
    if (count > sp->count) {
        tdi_error("%s: spool: cut to %" PRIu64 " entries, but it holds %" PRIu64, sp->dir, count,
                  sp->count);
        return TDI_ERR_INTERNAL;
    }
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

tdi_status run_spool_read(run_spool *sp, uint64_t pos, void *entry)
{
    if (pos >= sp->count) {
        tdi_error("%s: spool: entry %" PRIu64 " read, but it holds %" PRIu64, sp->dir, pos,
                  sp->count);
        return TDI_ERR_INTERNAL;
    }
    if (need_buffer(sp) != TDI_OK)
        return TDI_ERR_INTERNAL;
    if (!sp->reading) {
        tdi_status st = flush(sp);
        if (st != TDI_OK)
            return st;
        sp->reading = 1;
    }
    if (pos < sp->first || (pos - sp->first) * sp->size >= sp->used) {
        uint64_t left = (sp->count - pos) * sp->size;
        size_t want = left < sp->cap ? (size_t)left : sp->cap;
        off_t off = (off_t)(pos * sp->size);
        /* Reads in position order (the tables) fill the buffer ahead; a read far from the
         * buffer (a body's file, in its episode key order) takes the one entry: a whole
         * buffer per record would copy 256 KB for each. */
        if (sp->used > 0 && (pos < sp->first || pos - sp->first >= 2 * (sp->cap / sp->size)))
            want = sp->size;

        sp->first = pos;
        sp->used = 0;
        while (sp->used < want) {
            ssize_t n = pread(sp->fd, sp->buf + sp->used, want - sp->used, off + (off_t)sp->used);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 || n == 0) {
                tdi_status st = io_error(sp, "read failed", n < 0 ? errno : EIO);
                sp->used = 0;
                return st;
            }
            sp->used += (size_t)n;
        }
    }
    memcpy(entry, sp->buf + (pos - sp->first) * sp->size, sp->size);
    return TDI_OK;
}
