/*
 * rpt_gz: a gzip (deflate, RFC 1952) stream written onto an rpt_file.
 *
 * The submission writer feeds the XML through it as libxml2 produces it, so neither the XML nor
 * the compressed file is ever held in memory.
 */
#ifndef RPT_GZ_H
#define RPT_GZ_H

#include "rpt_file.h"

#ifndef ZLIB_CONST
#define ZLIB_CONST /* next_in is const: the input is never written through */
#endif
#include <zlib.h>

#define RPT_GZ_CHUNK 65536

typedef struct rpt_gz {
    z_stream zs;
    int live;       /* deflateInit2 succeeded and deflateEnd is still due */
    rpt_file *file; /* borrowed */
    unsigned char out[RPT_GZ_CHUNK];
} rpt_gz;

/* level 1..9. gz must be zeroed (calloc'd) before the first call. */
tdi_status rpt_gz_init(rpt_gz *gz, rpt_file *file, int level);
tdi_status rpt_gz_write(rpt_gz *gz, const void *buf, size_t len);
/* Writes the end of the stream (trailer with CRC and length) and releases zlib's state. */
tdi_status rpt_gz_finish(rpt_gz *gz);
/* Releases zlib's state without writing anything more. */
void rpt_gz_discard(rpt_gz *gz);

#endif
