/* rpt_gz: zlib deflate stream with a gzip wrapper onto an rpt_file; see rpt_gz.h. */
#include "rpt_gz.h"

#include "../common/tdi_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* windowBits 15 + 16: the largest window, gzip header and trailer instead of zlib's. */
#define GZ_WINDOW_BITS (15 + 16)
#define GZ_MEM_LEVEL   8

static tdi_status zlib_error(const rpt_gz *gz, const char *what, int rc)
{
    tdi_error("%s: %s: zlib error %d (%s)", gz->file->tmp, what, rc,
              gz->zs.msg ? gz->zs.msg : "no message");
    return TDI_ERR_INTERNAL;
}

static tdi_status pump(rpt_gz *gz, int flush);

/* The deflate thread: compresses what arrives on fd, and ends the stream at end of file. */
static tdi_status consume(int fd, void *arg)
{
    rpt_gz *gz = arg;

    for (;;) {
        ssize_t n = read(fd, gz->in, sizeof gz->in);
        tdi_status st;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tdi_error("%s: cannot read the XML stream: %s", gz->file->tmp, strerror(errno));
            return TDI_ERR_INTERNAL;
        }
        if (n == 0)
            break;
        gz->zs.next_in = gz->in;
        gz->zs.avail_in = (uInt)n;
        st = pump(gz, Z_NO_FLUSH);
        if (st != TDI_OK)
            return st;
    }
    if (atomic_load(&gz->discarding))
        return TDI_OK;
    gz->zs.next_in = Z_NULL;
    gz->zs.avail_in = 0;
    return pump(gz, Z_FINISH);
}

tdi_status rpt_gz_init(rpt_gz *gz, rpt_file *file, int level)
{
    int rc;

    gz->file = file;
    gz->zs.zalloc = Z_NULL;
    gz->zs.zfree = Z_NULL;
    gz->zs.opaque = Z_NULL;
    rc = deflateInit2(&gz->zs, level, Z_DEFLATED, GZ_WINDOW_BITS, GZ_MEM_LEVEL, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return zlib_error(gz, "deflateInit2 failed", rc);
    gz->live = 1;
    return rpt_pipe_start(&gz->pipe, consume, gz, RPT_PIPE_STOP_EARLY);
}

/* Runs deflate over the pending input with flush and writes out whatever it produces. */
static tdi_status pump(rpt_gz *gz, int flush)
{
    int rc;

    do {
        size_t have;

        gz->zs.next_out = gz->out;
        gz->zs.avail_out = sizeof gz->out;
        rc = deflate(&gz->zs, flush);
        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
            return zlib_error(gz, "deflate failed", rc);
        have = sizeof gz->out - gz->zs.avail_out;
        /* Z_BUF_ERROR only means no progress was possible; with output room and Z_FINISH
         * that cannot last, so treat a stall there as a bug rather than loop forever. */
        if (rc == Z_BUF_ERROR && have == 0 && flush == Z_FINISH)
            return zlib_error(gz, "deflate made no progress", rc);
        if (have > 0) {
            tdi_status st = rpt_file_write(gz->file, gz->out, have);
            if (st != TDI_OK)
                return st;
        }
        if (rc == Z_STREAM_END)
            break;
    } while (gz->zs.avail_out == 0 || (flush == Z_FINISH));
    return TDI_OK;
}

tdi_status rpt_gz_write(rpt_gz *gz, const void *buf, size_t len)
{
    return rpt_pipe_write(&gz->pipe, buf, len);
}

tdi_status rpt_gz_finish(rpt_gz *gz)
{
    tdi_status st;
    int rc;

    st = rpt_pipe_close(&gz->pipe);
    if (st != TDI_OK)
        return st;
    gz->total_in = (uint64_t)gz->zs.total_in;
    gz->live = 0;
    rc = deflateEnd(&gz->zs);
    if (rc != Z_OK)
        return zlib_error(gz, "deflateEnd failed", rc);
    return TDI_OK;
}

void rpt_gz_discard(rpt_gz *gz)
{
    atomic_store(&gz->discarding, 1);
    (void)rpt_pipe_close(&gz->pipe); /* the stream is dropped: its result no longer matters */
    if (gz->live) {
        gz->live = 0;
        /* Z_DATA_ERROR is expected here: the stream is being dropped unfinished. */
        (void)deflateEnd(&gz->zs);
    }
}

/* The read-back of rpt_gz_check_file: hashes and inflates what fd holds; *why says what is wrong
 * with the file (NULL when it is right). */
static tdi_status check_fd(int fd, const char *path, tdi_hash *h, z_stream *zs, unsigned char *in,
                           unsigned char *out, uint64_t want_len, const char **why)
{
    uint64_t got = 0;
    int rc = Z_OK;

    *why = NULL;
    for (;;) {
        ssize_t n = read(fd, in, RPT_GZ_CHUNK);
        tdi_status st;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tdi_error("%s: read failed: %s", path, strerror(errno));
            return TDI_ERR_OUTPUT;
        }
        if (n == 0)
            break;
        st = tdi_hash_update(h, in, (size_t)n);
        if (st != TDI_OK)
            return st;
        if (rc == Z_STREAM_END) { /* bytes after the stream's end */
            *why = "data after the end of the gzip stream";
            return TDI_OK;
        }
        zs->next_in = in;
        zs->avail_in = (uInt)n;
        while (zs->avail_in > 0 && rc != Z_STREAM_END) {
            zs->next_out = out;
            zs->avail_out = 4 * RPT_GZ_CHUNK;
            rc = inflate(zs, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END) {
                /* Z_DATA_ERROR: corrupt data, or a trailer whose CRC or length does not match. */
                *why = zs->msg ? zs->msg : "the gzip stream is corrupt";
                return TDI_OK;
            }
            got += 4 * RPT_GZ_CHUNK - zs->avail_out;
        }
        if (zs->avail_in > 0)
            *why = "data after the end of the gzip stream";
        if (*why)
            return TDI_OK;
    }
    if (rc != Z_STREAM_END)
        *why = "the gzip stream is cut short";
    else if (got != want_len)
        *why = "it inflates to another length than was written";
    return TDI_OK;
}

tdi_status rpt_gz_check_file(const char *path, uint64_t want_len, char sha256[TDI_SHA256_HEX])
{
    unsigned char *in = malloc(RPT_GZ_CHUNK), *out = malloc(4 * RPT_GZ_CHUNK);
    z_stream zs = {.zalloc = Z_NULL, .zfree = Z_NULL, .opaque = Z_NULL};
    tdi_hash *h = NULL;
    const char *why = NULL;
    tdi_status st = TDI_ERR_INTERNAL;
    int fd = -1, live = 0, rc;

    if (!in || !out) {
        tdi_error("%s: out of memory", path);
        goto done;
    }
    rc = inflateInit2(&zs, GZ_WINDOW_BITS);
    if (rc != Z_OK) {
        tdi_error("%s: inflateInit2 failed: zlib error %d", path, rc);
        goto done;
    }
    live = 1;
    st = tdi_hash_new(&h);
    if (st == TDI_OK)
        st = tdi_hash_begin(h);
    if (st != TDI_OK)
        goto done;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tdi_error("%s: cannot open: %s", path, strerror(errno));
        st = TDI_ERR_OUTPUT;
        goto done;
    }
    st = check_fd(fd, path, h, &zs, in, out, want_len, &why);
    if (st == TDI_OK && why) {
        tdi_error("%s: read back, the file is not what was written (%s)", path, why);
        st = TDI_ERR_OUTPUT;
    }
    if (st == TDI_OK)
        st = tdi_hash_end(h, sha256, 64);

done:
    if (fd >= 0 && close(fd) != 0 && st == TDI_OK) {
        tdi_error("%s: close failed: %s", path, strerror(errno));
        st = TDI_ERR_OUTPUT;
    }
    if (live)
        (void)inflateEnd(&zs); /* Z_DATA_ERROR after a stream left unfinished: nothing to do */
    tdi_hash_free(h);
    free(in);
    free(out);
    return st;
}

/* ---- reading ---- */

enum { GZR_PLAIN = 1, GZR_GZIP };

void rpt_gz_reader_init(rpt_gz_reader *r, int fd, uint64_t max_out)
{
    r->fd = fd;
    r->max_out = max_out;
}

void rpt_gz_reader_end(rpt_gz_reader *r)
{
    if (r->live)
        (void)inflateEnd(&r->zs); /* a stream left unfinished: nothing to do */
    r->live = 0;
}

static ssize_t read_some(int fd, void *buf, size_t len)
{
    ssize_t n;

    while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
        ;
    return n;
}

/* Records a problem for the read that returns -1. */
static void gzr_fail(rpt_gz_reader *r, int problem, int detail)
{
    r->problem = problem;
    r->detail = detail;
}

/* First read: gzip's magic (1f 8b) or plain. */
static void gzr_detect(rpt_gz_reader *r)
{
    ssize_t n;
    int rc;

    while (r->have < 2) {
        n = read_some(r->fd, r->in + r->have, sizeof r->in - r->have);
        if (n < 0) {
            gzr_fail(r, RPT_GZ_READ_ERROR, errno);
            return;
        }
        if (n == 0)
            break;
        r->have += (size_t)n;
    }
    r->mode = r->have >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b ? GZR_GZIP : GZR_PLAIN;
    if (r->mode == GZR_PLAIN)
        return;
    rc = inflateInit2(&r->zs, GZ_WINDOW_BITS);
    if (rc != Z_OK) {
        gzr_fail(r, RPT_GZ_ZLIB_ERROR, rc);
        return;
    }
    r->live = 1;
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt)r->have;
}

static int gzr_plain(rpt_gz_reader *r, unsigned char *buf, unsigned len)
{
    size_t k = r->have - r->used;
    ssize_t n;

    if (k > 0) {
        if (k > len)
            k = len;
        memcpy(buf, r->in + r->used, k);
        r->used += k;
        return (int)k;
    }
    n = read_some(r->fd, buf, len);
    if (n < 0) {
        gzr_fail(r, RPT_GZ_READ_ERROR, errno);
        return -1;
    }
    return (int)n;
}

/* At the stream's end: anything left in the buffer or the file is refused. */
static void gzr_check_end(rpt_gz_reader *r)
{
    ssize_t n = 0;

    r->ended = 1;
    if (r->zs.avail_in == 0)
        n = read_some(r->fd, r->in, sizeof r->in);
    if (n < 0)
        gzr_fail(r, RPT_GZ_READ_ERROR, errno);
    else if (n > 0 || r->zs.avail_in > 0)
        gzr_fail(r, RPT_GZ_TRAILING, 0);
}

static int gzr_inflate(rpt_gz_reader *r, unsigned char *buf, unsigned len)
{
    ssize_t n;
    int rc;

    r->zs.next_out = buf;
    r->zs.avail_out = len;
    while (r->zs.avail_out == len && !r->ended && !r->problem) {
        if (r->zs.avail_in == 0) {
            n = read_some(r->fd, r->in, sizeof r->in);
            if (n <= 0) {
                gzr_fail(r, n < 0 ? RPT_GZ_READ_ERROR : RPT_GZ_TRUNCATED, n < 0 ? errno : 0);
                break;
            }
            r->zs.next_in = r->in;
            r->zs.avail_in = (uInt)n;
        }
        rc = inflate(&r->zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            gzr_check_end(r);
        else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
            gzr_fail(r, RPT_GZ_CORRUPT, rc);
        else if (rc != Z_OK && rc != Z_BUF_ERROR) /* Z_BUF_ERROR: no progress, more input */
            gzr_fail(r, RPT_GZ_ZLIB_ERROR, rc);
    }
    /* Bytes inflated by a call that then met bad data are not the document's: dropped. */
    if (r->problem == RPT_GZ_CORRUPT || r->problem == RPT_GZ_ZLIB_ERROR)
        return -1;
    return (int)(len - r->zs.avail_out);
}

int rpt_gz_read(rpt_gz_reader *r, void *buf, unsigned len, int *problem, int *detail)
{
    int n = 0;

    if (!r->mode && !r->problem)
        gzr_detect(r);
    if (!r->problem && len > 0)
        n = r->mode == GZR_GZIP ? gzr_inflate(r, buf, len) : gzr_plain(r, buf, len);
    if (n > 0) {
        r->out += (uint64_t)n;
        if (r->max_out && r->out > r->max_out) {
            gzr_fail(r, RPT_GZ_TOO_BIG, 0);
            n = 0;
        }
    }
    if (n > 0 || !r->problem)
        return n < 0 ? 0 : n;
    *problem = r->problem;
    *detail = r->detail;
    return -1;
}
