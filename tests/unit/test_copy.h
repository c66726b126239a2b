/* Shared by unit tests of the state database's COPYs: reads back what tdi sent by a binary COPY
 * (PostgreSQL's "COPY", "Binary Format"), from a harness capture (harness_pq.h), field by field,
 * failing the test (cmocka) where the bytes are not what the format or the test wants. Every
 * integer is in network byte order. */
#ifndef TEST_COPY_H
#define TEST_COPY_H

#include "harness_pq.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct copy_read {
    unsigned char b[HPQ_CAPTURE_MAX];
    size_t n, at; /* bytes held, bytes read */
} copy_read;

/* The bytes of capture, a COPY_PUT's (the whole of it: a capture cut short fails). */
static inline void copy_read_open(copy_read *c, const char *capture)
{
    c->n = hpq_bytes(capture, c->b, sizeof c->b);
    c->at = 0;
    assert_true(c->n != (size_t)-1);
    assert_true(strlen(capture) < HPQ_CAPTURE_MAX - 1);
}

/* The next nbytes as an unsigned big-endian number. */
static inline uint64_t copy_read_be(copy_read *c, size_t nbytes)
{
    uint64_t v = 0;

    assert_true(c->at + nbytes <= c->n);
    for (size_t i = 0; i < nbytes; i++)
        v = v << 8 | c->b[c->at++];
    return v;
}

/* The stream's header: the signature, flags 0, no header extension. */
static inline void copy_read_header(copy_read *c)
{
    static const unsigned char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

    assert_true(c->n >= sizeof sig);
    assert_memory_equal(c->b, sig, sizeof sig);
    c->at = sizeof sig;
    assert_int_equal(copy_read_be(c, 4), 0);
    assert_int_equal(copy_read_be(c, 4), 0);
}

/* A tuple's start: its field count. */
static inline void copy_read_tuple(copy_read *c, int nfields)
{
    assert_int_equal(copy_read_be(c, 2), nfields);
}

/* An integer field of width bytes (int8, int4; a boolean is 1 byte: 0 or 1). */
static inline uint64_t copy_read_int(copy_read *c, size_t width)
{
    assert_int_equal(copy_read_be(c, 4), width);
    return copy_read_be(c, width);
}

/* A field of bytes into out (len holds it and a NUL): as they are (text), or as lowercase hex
 * (hex = 1: a bytea). */
static inline const char *copy_read_field(copy_read *c, char *out, size_t len, int hex)
{
    size_t n = (size_t)copy_read_be(c, 4);

    assert_true(c->at + n <= c->n);
    assert_true((hex ? 2 * n : n) < len);
    for (size_t i = 0; i < n; i++) {
        if (hex)
            snprintf(out + 2 * i, 3, "%02x", c->b[c->at + i]);
        else
            out[i] = (char)c->b[c->at + i];
    }
    out[hex ? 2 * n : n] = '\0';
    c->at += n;
    return out;
}

/* The trailer (a field count of -1), and nothing after it. */
static inline void copy_read_trailer(copy_read *c)
{
    assert_int_equal(copy_read_be(c, 2), 0xffff);
    assert_int_equal(c->at, c->n);
}

#endif
