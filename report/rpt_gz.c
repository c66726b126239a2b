/* rpt_gz: igzip (ISA-L) deflate stream with a gzip wrapper onto an rpt_file; see rpt_gz.h. */
#include "rpt_gz.h"

#include "../common/tdi_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static tdi_status deflate_error(const rpt_gz *gz, const char *what, int rc)
{
    tdi_error("%s: %s: igzip error %d", gz->file->tmp, what, rc);
    return TDI_ERR_INTERNAL;
}

/* What an inflate return says about the data (ISAL_INCORRECT_CHECKSUM covers the trailer's
 * length too). */
static const char *inflate_why(int rc)
{
    switch (rc) {
    case ISAL_INCORRECT_CHECKSUM:
        return "incorrect data check";
    case ISAL_INVALID_WRAPPER:
    case ISAL_UNSUPPORTED_METHOD:
        return "not a gzip stream";
    default:
        return "the gzip stream is corrupt";
    }
}

/* A fresh inflate state for one gzip member, or NULL (out of memory). */
static struct inflate_state *inflate_new(void)
{
    struct inflate_state *zs = malloc(sizeof *zs);

    if (zs) {
        isal_inflate_init(zs);
        zs->crc_flag = ISAL_GZIP; /* header parsed, trailer's CRC-32 and length checked */
    }
    return zs;
}

static tdi_status pump(rpt_gz *gz, int finish);
static tdi_status back_begin(rpt_gz_back *b, const char *path);
static void back_free(rpt_gz_back *b);
static tdi_status follow(rpt_gz *gz, size_t len);

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
        gz->zs.avail_in = (uint32_t)n;
        gz->total_in += (uint64_t)n;
        st = pump(gz, 0);
        if (st != TDI_OK)
            return st;
    }
    if (atomic_load(&gz->discarding))
        return TDI_OK;
    gz->zs.next_in = NULL;
    gz->zs.avail_in = 0;
    return pump(gz, 1);
}

/* igzip's working memory for a level (its suggested size; level 0 would need none). */
static size_t level_buf_size(int level)
{
    return level <= 1   ? ISAL_DEF_LVL1_DEFAULT
           : level == 2 ? ISAL_DEF_LVL2_DEFAULT
                        : ISAL_DEF_LVL3_DEFAULT;
}

tdi_status rpt_gz_init(rpt_gz *gz, rpt_file *file, int level)
{
    int lvl = level < 1 ? 1 : level > ISAL_DEF_MAX_LEVEL ? ISAL_DEF_MAX_LEVEL : level;
    size_t buf_size = level_buf_size(lvl);

    gz->file = file;
    gz->level_buf = malloc(buf_size);
    if (!gz->level_buf) {
        tdi_error("%s: out of memory", file->tmp);
        return TDI_ERR_INTERNAL;
    }
    isal_deflate_init(&gz->zs);
    gz->zs.level = (uint32_t)lvl;
    gz->zs.level_buf = gz->level_buf;
    gz->zs.level_buf_size = (uint32_t)buf_size;
    gz->zs.gzip_flag = IGZIP_GZIP;
    /* The file read back as it is written, on the same thread (rpt_gz_verify()). */
    gz->back_fd = open(file->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (gz->back_fd < 0) {
        tdi_error("%s: cannot open: %s", file->tmp, strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    gz->back_open = 1;
    if (back_begin(&gz->back, file->tmp) != TDI_OK)
        return TDI_ERR_INTERNAL;
    return rpt_pipe_start(&gz->pipe, consume, gz, RPT_PIPE_STOP_EARLY);
}

/* Runs deflate over the pending input (finish: and ends the stream: trailer with CRC and
 * length) and writes out whatever it produces. */
static tdi_status pump(rpt_gz *gz, int finish)
{
    gz->zs.end_of_stream = finish ? 1 : 0;
    for (;;) {
        size_t have;
        int rc;

        gz->zs.next_out = gz->out;
        gz->zs.avail_out = sizeof gz->out;
        rc = isal_deflate(&gz->zs);
        if (rc != COMP_OK)
            return deflate_error(gz, "deflate failed", rc);
        have = sizeof gz->out - gz->zs.avail_out;
        if (have > 0) {
            tdi_status st = rpt_file_write(gz->file, gz->out, have);
            if (st == TDI_OK)
                st = follow(gz, have);
            if (st != TDI_OK)
                return st;
        }
        if (finish ? gz->zs.internal_state.state == ZSTATE_END
                   : gz->zs.avail_in == 0 && gz->zs.avail_out > 0)
            break;
        /* A call with output room that gives nothing, with input left or the stream not
         * ended, would give nothing again: a bug rather than a loop forever. */
        if (have == 0)
            return deflate_error(gz, "deflate made no progress", rc);
    }
    return TDI_OK;
}

tdi_status rpt_gz_write(rpt_gz *gz, const void *buf, size_t len)
{
    return rpt_pipe_write(&gz->pipe, buf, len);
}

tdi_status rpt_gz_finish(rpt_gz *gz)
{
    tdi_status st = rpt_pipe_close(&gz->pipe);

    free(gz->level_buf); /* the stream's state holds nothing else to release */
    gz->level_buf = NULL;
    return st;
}

void rpt_gz_discard(rpt_gz *gz)
{
    atomic_store(&gz->discarding, 1);
    (void)rpt_pipe_close(&gz->pipe); /* the stream is dropped: its result no longer matters */
    free(gz->level_buf);
    gz->level_buf = NULL;
    if (gz->back_open)
        (void)close(gz->back_fd); /* read only: nothing to lose */
    gz->back_open = 0;
    back_free(&gz->back);
}

/* ---- read back ---- */

static tdi_status back_begin(rpt_gz_back *b, const char *path)
{
    b->out = malloc(4 * RPT_GZ_CHUNK);
    b->zs = inflate_new();
    if (!b->out || !b->zs) {
        tdi_error("%s: out of memory", path);
        return TDI_ERR_INTERNAL;
    }
    return tdi_hash_new(&b->h);
}

static void back_free(rpt_gz_back *b)
{
    free(b->zs);
    b->zs = NULL;
    tdi_hash_free(b->h);
    b->h = NULL;
    free(b->out);
    b->out = NULL;
}

/* n more bytes of the file: hashed and inflated; b->why says what is wrong with the file once
 * something is (NULL while nothing is). */
static tdi_status back_feed(rpt_gz_back *b, const unsigned char *in, size_t n)
{
    tdi_hash_update(b->h, in, n);
    b->read += n;
    if (b->why || n == 0)
        return TDI_OK;
    if (b->ended) { /* bytes after the stream's end */
        b->why = "data after the end of the gzip stream";
        return TDI_OK;
    }
    b->zs->next_in = (uint8_t *)(uintptr_t)in; /* igzip's next_in is not const; never written */
    b->zs->avail_in = (uint32_t)n;
    while (b->zs->avail_in > 0 && !b->ended) {
        int rc;

        b->zs->next_out = b->out;
        b->zs->avail_out = 4 * RPT_GZ_CHUNK;
        rc = isal_inflate(b->zs);
        if (rc != ISAL_DECOMP_OK) {
            /* Corrupt data, or a trailer whose CRC or length does not match. */
            b->why = inflate_why(rc);
            return TDI_OK;
        }
        b->got += 4 * RPT_GZ_CHUNK - b->zs->avail_out;
        b->ended = b->zs->block_state == ISAL_BLOCK_FINISH;
    }
    if (b->zs->avail_in > 0)
        b->why = "data after the end of the gzip stream";
    return TDI_OK;
}

/* The whole file fed: its verdict against want_len bytes written, and its SHA-256. */
static tdi_status back_end(rpt_gz_back *b, const char *path, uint64_t want_len,
                           char sha256[TDI_SHA256_HEX])
{
    if (!b->why && !b->ended)
        b->why = "the gzip stream is cut short";
    else if (!b->why && b->got != want_len)
        b->why = "it inflates to another length than was written";
    if (b->why) {
        tdi_error("%s: read back, the file is not what was written (%s)", path, b->why);
        return TDI_ERR_OUTPUT;
    }
    tdi_hash_end(b->h, sha256, 64);
    return TDI_OK;
}

/* fd from offset b->read into b: max bytes, or to its end when that comes first (*missing: the
 * bytes of max it did not hold); stops early once b has a verdict. */
static tdi_status back_read(rpt_gz_back *b, int fd, const char *path, unsigned char *in,
                            uint64_t max, uint64_t *missing)
{
    *missing = max;
    while (*missing > 0 && !b->why) {
        ssize_t n = pread(fd, in, *missing < RPT_GZ_CHUNK ? (size_t)*missing : RPT_GZ_CHUNK,
                          (off_t)b->read);
        tdi_status st;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tdi_error("%s: read failed: %s", path, strerror(errno));
            return TDI_ERR_OUTPUT;
        }
        if (n == 0)
            break;
        st = back_feed(b, in, (size_t)n);
        if (st != TDI_OK)
            return st;
        *missing -= (uint64_t)n;
    }
    return TDI_OK;
}

/* fd from offset b->read to its end, into b. */
static tdi_status back_rest(rpt_gz_back *b, int fd, const char *path, unsigned char *in)
{
    uint64_t missing;

    return back_read(b, fd, path, in, UINT64_MAX, &missing);
}

/* The deflate thread, after writing len bytes at the end of the file: the same bytes read back
 * from the file (rpt_gz_verify()). A file shorter than was written is the verdict's, not the
 * thread's failure. */
static tdi_status follow(rpt_gz *gz, size_t len)
{
    uint64_t missing;
    tdi_status st = back_read(&gz->back, gz->back_fd, gz->file->tmp, gz->back_in, len, &missing);

    if (st == TDI_OK && missing > 0 && !gz->back.why)
        gz->back.why = "the file is shorter than was written";
    return st;
}

tdi_status rpt_gz_verify(rpt_gz *gz, char sha256[TDI_SHA256_HEX])
{
    const char *path = gz->file->tmp;
    struct stat sb;
    tdi_status st;

    if (!gz->back_open) {
        tdi_error("%s: read back without a stream", path);
        return TDI_ERR_INTERNAL;
    }
    /* Anything the file holds beyond what the thread read back (a second writer), and its
     * size: what was read must be the whole file. */
    st = back_rest(&gz->back, gz->back_fd, path, gz->back_in);
    if (st == TDI_OK && fstat(gz->back_fd, &sb) != 0) {
        tdi_error("%s: cannot stat: %s", path, strerror(errno));
        st = TDI_ERR_OUTPUT;
    }
    if (st == TDI_OK && !gz->back.why && (uint64_t)sb.st_size != gz->back.read)
        gz->back.why = "the file is shorter than was written";
    if (st == TDI_OK)
        st = back_end(&gz->back, path, gz->total_in, sha256);
    return st;
}

#ifdef TDI_TEST_HOOKS
tdi_status rpt_gz_check_file(const char *path, uint64_t want_len, char sha256[TDI_SHA256_HEX])
{
    rpt_gz_back b = {0};
    unsigned char *in = malloc(RPT_GZ_CHUNK);
    tdi_status st = in ? back_begin(&b, path) : TDI_ERR_INTERNAL;
    int fd = -1;

    if (!in)
        tdi_error("%s: out of memory", path);
    if (st == TDI_OK) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            tdi_error("%s: cannot open: %s", path, strerror(errno));
            st = TDI_ERR_OUTPUT;
        }
    }
    if (st == TDI_OK)
        st = back_rest(&b, fd, path, in);
    if (st == TDI_OK)
        st = back_end(&b, path, want_len, sha256);
    if (fd >= 0 && close(fd) != 0 && st == TDI_OK) {
        tdi_error("%s: close failed: %s", path, strerror(errno));
        st = TDI_ERR_OUTPUT;
    }
    back_free(&b);
    free(in);
    return st;
}
#endif

/* ---- reading ---- */

enum { GZR_PLAIN = 1, GZR_GZIP };

void rpt_gz_reader_init(rpt_gz_reader *r, int fd, uint64_t max_out)
{
    r->fd = fd;
    r->max_out = max_out;
}

void rpt_gz_reader_end(rpt_gz_reader *r)
{
    free(r->zs);
    r->zs = NULL;
}

tdi_status rpt_gz_open(const char *path, uint64_t max_out, rpt_gz_reader **out)
{
    struct stat sb;
    int fd, err = 0;

    *out = NULL;
    if (strcmp(path, "-") == 0)
        fd = fcntl(0, F_DUPFD_CLOEXEC, 3); /* closed at the end, not stdin */
    else
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        tdi_error("%s: cannot open: %s", path, strerror(errno));
        return TDI_ERR_OUTPUT;
    }
    if (fstat(fd, &sb) != 0)
        err = errno;
    else if (S_ISDIR(sb.st_mode))
        err = EISDIR; /* open() accepts a directory; read() would fail later, less clearly */
    if (err) {
        close(fd);
        tdi_error("%s: cannot open: %s", path, strerror(err));
        return TDI_ERR_OUTPUT;
    }
    *out = calloc(1, sizeof **out);
    if (!*out) {
        close(fd);
        tdi_error("%s: out of memory", path);
        return TDI_ERR_INTERNAL;
    }
    rpt_gz_reader_init(*out, fd, max_out); /* *out owns fd from here */
    return TDI_OK;
}

void rpt_gz_close(rpt_gz_reader *r)
{
    if (!r)
        return;
    rpt_gz_reader_end(r);
    close(r->fd); /* read-only: a close error cannot change what was read */
    free(r);
}

const char *rpt_gz_why(int problem)
{
    switch (problem) {
    case RPT_GZ_TRUNCATED:
        return "gzip data ends early: the file is truncated";
    case RPT_GZ_CORRUPT:
        return "gzip data is corrupt";
    case RPT_GZ_TRAILING:
        return "trailing data after the gzip stream";
    case RPT_GZ_TOO_BIG:
        return "the XML is larger than allowed";
    case RPT_GZ_NO_MEMORY:
        return "out of memory";
    default:
        return "read failed";
    }
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
    r->zs = inflate_new();
    if (!r->zs) {
        gzr_fail(r, RPT_GZ_NO_MEMORY, 0);
        return;
    }
    r->zs->next_in = r->in;
    r->zs->avail_in = (uint32_t)r->have;
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
    if (r->zs->avail_in == 0)
        n = read_some(r->fd, r->in, sizeof r->in);
    if (n < 0)
        gzr_fail(r, RPT_GZ_READ_ERROR, errno);
    else if (n > 0 || r->zs->avail_in > 0)
        gzr_fail(r, RPT_GZ_TRAILING, 0);
}

static int gzr_inflate(rpt_gz_reader *r, unsigned char *buf, unsigned len)
{
    struct inflate_state *zs = r->zs;
    ssize_t n;
    int rc;

    zs->next_out = buf;
    zs->avail_out = len;
    while (zs->avail_out == len && !r->ended && !r->problem) {
        if (zs->avail_in == 0) {
            n = read_some(r->fd, r->in, sizeof r->in);
            if (n <= 0) {
                gzr_fail(r, n < 0 ? RPT_GZ_READ_ERROR : RPT_GZ_TRUNCATED, n < 0 ? errno : 0);
                break;
            }
            zs->next_in = r->in;
            zs->avail_in = (uint32_t)n;
        }
        rc = isal_inflate(zs);
        if (rc != ISAL_DECOMP_OK)
            gzr_fail(r, RPT_GZ_CORRUPT, rc);
        else if (zs->block_state == ISAL_BLOCK_FINISH)
            gzr_check_end(r);
    }
    /* Bytes inflated by a call that then met bad data are not the document's: dropped. */
    if (r->problem == RPT_GZ_CORRUPT)
        return -1;
    return (int)(len - zs->avail_out);
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
