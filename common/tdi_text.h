/*
 * tdi_text: line-oriented text input shared by the config and crosswalk readers, and the small
 * string checks every stage needs (dates, names, cleaning values for messages).
 */
#ifndef TDI_TEXT_H
#define TDI_TEXT_H

#include "tdi_status.h"

#include <stddef.h>
#include <stdio.h>

typedef struct tdi_lines {
    FILE *fp;
    char *buf; /* owned; reused for every line */
    size_t cap;
    unsigned long lineno; /* number of the line last returned, 1-based */
    const char *path;     /* borrowed, for messages */
} tdi_lines;

/* Opens path; logs "PATH: cannot open: REASON" and returns err_class on failure. */
tdi_status tdi_lines_open(tdi_lines *lr, const char *path, tdi_status err_class);
/* The UTF-8 byte order mark some editors write at the start of a text file. */
#define TDI_UTF8_BOM "\xef\xbb\xbf"

/* *line points at the next line without its \n or \r\n (nor, on line 1, a UTF-8 byte order
 * mark), valid until the next call.
 * Returns 1 for a line, 0 at end of file, -1 on a read error or a line that is not valid UTF-8
 * or holds a NUL byte (logged as "PATH:LINE: ..."). */
int tdi_lines_next(tdi_lines *lr, char **line);
void tdi_lines_close(tdi_lines *lr);

/* Splits line in place into at most max fields separated by blanks. A field in double quotes may
 * hold blanks; inside it \" and \\ are escapes. A # where a field would start ends the line.
 * Returns the number of fields, or -1 with *why set (static text) on an unterminated quote or
 * more than max fields. */
int tdi_split_fields(char *line, char **fields, int max, const char **why);

/* Strips leading and trailing blanks in place; returns the start. */
char *tdi_trim(char *s);

/* Strict YYYY-MM-DD, a real calendar date. Returns 0 and sets *ymd = YYYYMMDD, or -1. */
int tdi_parse_date(const char *s, int *ymd);
/* Completed years between two YYYYMMDD dates (birthday rule: 29 Feb counts on 1 Mar). */
int tdi_age_years(int birth_ymd, int at_ymd);
/* Days from one YYYYMMDD date to another (negative when to is earlier), proleptic Gregorian. */
long tdi_days_between(int from_ymd, int to_ymd);

/* 1 when s is 1..max characters of [A-Za-z0-9._-]. */
int tdi_name_ok(const char *s, size_t max);
/* 1 when s[0..len) is valid UTF-8 without NUL or C0 control characters other than tab. */
int tdi_utf8_ok(const char *s, size_t len);
/* 1 when the NUL-terminated s is well-formed UTF-8 (RFC 3629: shortest forms, no surrogates, at
 * most U+10FFFF); control characters pass (a source's values: R019, transform). */
int tdi_utf8_str_ok(const char *s);
/* Makes the NUL-terminated s well-formed UTF-8 in place: each byte that starts no well-formed
 * sequence (a stray byte of another encoding, a character cut short) becomes '?'. */
void tdi_utf8_repair(char *s);
/* Copies src into dst for a message or quarantine field: printable ASCII kept, anything else
 * replaced by '?', truncated with "..." to fit dstlen. */
void tdi_clean_value(char *dst, size_t dstlen, const char *src);

/* ---- text written per record, without printf's cost (issue 16: a run formatted ~20 numbers
 * and strings a record through snprintf) ---- */
#define TDI_DECIMAL_MAX 21 /* "-9223372036854775808" and its NUL */
/* v in decimal, as printf's "%lld" writes it, NUL-terminated into out; returns its length. */
size_t tdi_decimal(char out[TDI_DECIMAL_MAX], long long v);
/* Appends src to the string of len bytes in dst (cap bytes), NUL-terminated and truncated to
 * cap - 1 bytes as snprintf truncates; returns the string's new length. len < cap. */
size_t tdi_append(char *dst, size_t cap, size_t len, const char *src);

/* n bytes as 2n lowercase hex digits, NUL-terminated into out (2n + 1 bytes). */
void tdi_hex_encode(char *out, const unsigned char *in, size_t n);
/* ndigits (even) hex digits at hex into ndigits / 2 bytes at out; 1 when every one is a hex
 * digit: lowercase only (tdi's keys, which tdi.sent compares as bytes), or either case when
 * any_case. */
int tdi_hex_decode(unsigned char *out, const char *hex, size_t ndigits, int any_case);
/* key, prefix ("e1:", "p1:", ...) then exactly 2 * nbytes lowercase hex digits (a key as
 * transform/ makes it), as its nbytes bytes into out; 1 when it is of that form. */
int tdi_hex_key(unsigned char *out, const char *key, const char *prefix, size_t nbytes);

#endif
