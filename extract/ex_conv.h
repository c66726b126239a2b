/*
 * ex_conv: the text of a clinic database in an encoding other than UTF-8, converted on the client
 * with iconv(3), a cell at a time, so that a byte the encoding cannot convert costs its row (R019),
 * not the whole COPY (the server's conversion fails the statement, SQLSTATE 22P05, naming no row).
 * The source is read as stored (client_encoding = its server encoding); statements go to it
 * converted back. Which PostgreSQL encodings tdi converts, and to which iconv name, is a table
 * checked against the server's own conversion (tests/integration/test_encodings.sh).
 */
#ifndef TDI_EX_CONV_H
#define TDI_EX_CONV_H

#include "../common/tdi_status.h"

#include <stddef.h>

typedef struct ex_conv ex_conv;

/* The iconv name tdi converts PostgreSQL server encoding pg from, or NULL when the server
 * converts it (UTF8, SQL_ASCII, an encoding whose glibc conversion differs from PostgreSQL's,
 * one iconv has not, or a name not in the table). */
const char *ex_conv_iconv_name(const char *pg);

/* A converter for a source whose server encoding is pg, into *out; *out NULL (TDI_OK) when tdi
 * leaves pg to the server: ex_conv_iconv_name() has none, or iconv_open() refuses it (said in a
 * debug line naming who). TDI_ERR_INTERNAL when out of memory. */
tdi_status ex_conv_open(const char *who, const char *pg, ex_conv **out);
void ex_conv_close(ex_conv *cv); /* NULL is fine */

/* 1 when s[0..len) has a byte >= 0x80: every server encoding is a superset of ASCII, so text
 * without one needs no conversion. */
int ex_conv_needed(const char *s, size_t len);

/* Before the cells of one COPY line of len bytes: makes room for all of them converted (the buffer
 * grows to the longest line, never per row). TDI_ERR_INTERNAL when out of memory. */
tdi_status ex_conv_row(ex_conv *cv, size_t len);
/* The NUL-terminated cell in to UTF-8, *out pointing to it (in itself when it is ASCII; else in
 * cv's buffer, valid until the next ex_conv_row). 0: converted; 1: a byte (or sequence) the
 * encoding cannot convert, written as 0xFF and the byte, so the cell is never UTF-8 and never
 * equal to a converted one; -1: more than ex_conv_row made room for (a bug). */
int ex_conv_cell(ex_conv *cv, const char *in, const char **out);

/* UTF-8 text (a statement, a parameter) in the source's encoding, malloc'd into *out (*out_len
 * bytes with the NUL, for a wipe); the cells' 0xFF escapes back to their byte. TDI_ERR_SOURCE
 * when it holds a character the encoding has not (*out NULL), TDI_ERR_INTERNAL when out of
 * memory. */
tdi_status ex_conv_to_source(ex_conv *cv, const char *in, char **out, size_t *out_len);

#endif
