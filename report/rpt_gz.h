/*
 * rpt_gz: a gzip (deflate, RFC 1952) stream written onto an rpt_file.
 *
 * The submission writer feeds the XML through it as libxml2 produces it, so neither the XML nor
 * the compressed file is ever held in memory. Deflate (ISA-L's igzip: at its level 1 a sixth of
 * zlib's CPU at level 1, and a smaller file; docs/benchmark.md) and the file writes run on a thread
 * of their own (rpt_pipe), so compression takes the second core; once rpt_gz_init has returned,
 * gz->zs and gz->file belong to that thread until rpt_gz_finish or rpt_gz_discard has returned.
 * The thread also reads each block back from the file as it writes it, and rpt_gz_verify gives the
 * verdict: its SHA-256 for the manifest, and an inflate that checks the file against the stream.
 * rpt_gz_reader reads a file given to tdi validate or read back by tdi load and audit, gzip or
 * plain.
 */
#ifndef RPT_GZ_H
#define RPT_GZ_H

#include "rpt_file.h"
#include "rpt_pipe.h"

#include "../common/tdi_hash.h"

#include <stdint.h>

#include <isa-l/igzip_lib.h>

#define RPT_GZ_CHUNK 65536

/* What a read-back has seen of a file: its bytes hashed and inflated as they come. */
typedef struct rpt_gz_back {
    struct inflate_state *zs; /* owned */
    int ended;                /* the gzip stream ended (its trailer checked) */
    tdi_hash *h;              /* owned */
    uint64_t read;            /* bytes of the file fed */
    uint64_t got;             /* bytes they inflated to */
    const char *why;          /* what is wrong with the file (a literal), NULL while nothing */
    unsigned char *out;       /* 4 * RPT_GZ_CHUNK, owned */
} rpt_gz_back;

typedef struct rpt_gz {
    struct isal_zstream zs;
    unsigned char *level_buf; /* igzip's working memory for the level, owned */
    rpt_file *file;           /* borrowed */
    atomic_int discarding;    /* the stream is being dropped: no trailer is written */
    uint64_t total_in;        /* the bytes the stream was fed (zs.total_in is 32 bits) */
    rpt_pipe pipe;            /* to the deflate thread */
    rpt_gz_back back;         /* the file read back as the thread writes it: the thread's, then
                               * rpt_gz_verify()'s */
    int back_fd;              /* the file again, read only; open when back_open */
    int back_open;
    unsigned char in[RPT_GZ_CHUNK];
    unsigned char out[RPT_GZ_CHUNK];
    unsigned char back_in[RPT_GZ_CHUNK];
} rpt_gz;

/* level 1..9: igzip's levels 1 (fastest) to 3 (smallest); above 3, as 3. gz must be zeroed
 * (calloc'd) before the first call. Starts the deflate thread. */
tdi_status rpt_gz_init(rpt_gz *gz, rpt_file *file, int level);
/* Queues len bytes. A write or deflate failure of the thread (logged there) is returned by the
 * next call after it, and by rpt_gz_finish. */
tdi_status rpt_gz_write(rpt_gz *gz, const void *buf, size_t len);
/* Writes the end of the stream (trailer with CRC and length), waits for the thread and releases
 * igzip's state. */
tdi_status rpt_gz_finish(rpt_gz *gz);
/* Stops the thread and releases igzip's state without finishing the stream. */
void rpt_gz_discard(rpt_gz *gz);
/* After rpt_gz_finish and rpt_file_close: the verdict of the read-back the deflate thread did
 * as it wrote (each block read from the file just after writing it), then whatever the file
 * holds beyond that and its size; sha256 (hex) of the file. The file itself is checked, not only
 * the stream that fed it: inflate compares the trailer's CRC-32 and length with the data, the data
 * must be gz->total_in bytes and the file must end where the stream does. TDI_ERR_OUTPUT, logged,
 * when the file is not what was written. */
tdi_status rpt_gz_verify(rpt_gz *gz, char sha256[TDI_SHA256_HEX]);
#ifdef TDI_TEST_HOOKS
/* Test builds only: the same verdict over a whole file at path read in one pass, want_len bytes
 * written (a crafted file: a bad CRC, a wrong length, cut short, bytes after the stream). */
tdi_status rpt_gz_check_file(const char *path, uint64_t want_len, char sha256[TDI_SHA256_HEX]);
#endif

/* ---- reading (tdi validate) ---- */

/* Why a read stopped short. */
enum {
    RPT_GZ_OK,
    RPT_GZ_READ_ERROR, /* detail: errno */
    RPT_GZ_TRUNCATED,  /* the file ends inside the gzip stream */
    RPT_GZ_CORRUPT,    /* bad data, or a trailer whose CRC-32 or length does not match */
    RPT_GZ_TRAILING,   /* bytes after the gzip stream (text, a second member): gzip -t refuses */
    RPT_GZ_TOO_BIG,    /* more than max_out bytes */
    RPT_GZ_NO_MEMORY   /* the inflate state could not be allocated */
};

/* A file read as gzip when it starts with gzip's magic, as plain bytes otherwise (as gzread
 * does), with igzip's inflate: one gzip member and nothing after it, so no bytes pass unseen.
 * Memory is the struct and its inflate state, whatever the size of the file. */
typedef struct rpt_gz_reader {
    int fd;            /* borrowed */
    int mode;          /* 0 until the first read, then GZR_PLAIN or GZR_GZIP */
    int ended;         /* the gzip stream ended and nothing follows it */
    int problem;       /* RPT_GZ_*: met after bytes were returned, returned by the next read */
    int detail;        /* of problem */
    uint64_t out;      /* bytes returned */
    uint64_t max_out;  /* 0: no limit */
    size_t have, used; /* plain: bytes of in read to detect the format, not yet returned */
    struct inflate_state *zs; /* owned, once the file is known to be gzip */
    unsigned char in[RPT_GZ_CHUNK];
} rpt_gz_reader;

/* r must be zeroed (calloc'd). max_out: the most bytes the stream may give (0: no limit). */
void rpt_gz_reader_init(rpt_gz_reader *r, int fd, uint64_t max_out);
/* Reads up to len bytes: their count, 0 at the end, or -1 with *problem (RPT_GZ_*) and *detail. */
int rpt_gz_read(rpt_gz_reader *r, void *buf, unsigned len, int *problem, int *detail);
/* What a problem (RPT_GZ_*, not RPT_GZ_READ_ERROR, whose detail says it) means, for a message. */
const char *rpt_gz_why(int problem);
/* Releases the inflate state (not fd). */
void rpt_gz_reader_end(rpt_gz_reader *r);
/* Opens path ("-": a copy of standard input) into a new reader in *out that owns its fd: regular
 * gzip or plain files, pipes and anything else read(2) can read to its end; not directories.
 * TDI_ERR_OUTPUT (said, as "PATH: cannot open: why") when it cannot be opened. */
tdi_status rpt_gz_open(const char *path, uint64_t max_out, rpt_gz_reader **out);
/* Ends, closes and frees a reader of rpt_gz_open() (NULL: nothing). */
void rpt_gz_close(rpt_gz_reader *r);

#endif
