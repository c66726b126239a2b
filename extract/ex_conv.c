/*
 * ex_conv: a non-UTF-8 source's cells converted to UTF-8 with iconv (see ex_conv.h).
 *
 * The table maps PostgreSQL's server encodings (docs: "Character Set Support") to glibc's iconv
 * names. An encoding is in it only when glibc gives the very UTF-8 PostgreSQL's conversion gives
 * (tests/integration/test_encodings.sh compares every byte 0x80-0xFF and every pair of a
 * single-byte encoding, every character of a multi-byte one), so an id with an accented letter
 * keeps its pseudonym whichever side converts. The others stay with the server, as before.
 */
#include "ex_conv.h"

#include "../common/tdi_log.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ESCAPE 0xFF /* never in UTF-8: marks a byte that did not convert */

static const struct {
    const char *pg, *iconv; /* iconv NULL: left to the server (why in the comment) */
} names[] = {
    {"LATIN1", "ISO-8859-1"},
    {"LATIN2", "ISO-8859-2"},
    {"LATIN3", "ISO-8859-3"},
    {"LATIN4", "ISO-8859-4"},
    {"LATIN5", "ISO-8859-9"},
    {"LATIN6", "ISO-8859-10"},
    {"LATIN7", "ISO-8859-13"},
    {"LATIN8", "ISO-8859-14"},
    {"LATIN9", "ISO-8859-15"},
    {"LATIN10", "ISO-8859-16"},
    {"ISO_8859_5", "ISO-8859-5"},
    {"ISO_8859_6", "ISO-8859-6"},
    {"ISO_8859_7", "ISO-8859-7"},
    {"ISO_8859_8", "ISO-8859-8"},
    {"KOI8R", "KOI8-R"},
    {"KOI8U", "KOI8-U"},
    {"WIN866", "CP866"},
    {"WIN874", "CP874"},
    {"WIN1250", "CP1250"},
    {"WIN1251", "CP1251"},
    {"WIN1252", "CP1252"},
    {"WIN1253", "CP1253"},
    {"WIN1254", "CP1254"},
    {"WIN1255", NULL}, /* glibc composes a letter and its point (U+05D0 U+05B7 -> U+FB2E) */
    {"WIN1256", "CP1256"},
    {"WIN1257", "CP1257"},
    {"WIN1258", NULL}, /* glibc composes a letter and its accent (A U+0301 -> U+00C1) */
    {"EUC_CN", "EUC-CN"},
    {"EUC_JP", "EUC-JP-MS"}, /* not EUC-JP: 196 characters differ (0xA1C1 U+301C, not U+FF5E) */
    {"EUC_JIS_2004", NULL}, /* EUC-JISX0213: 0xA1B1 U+FFE3, not U+203E; 0xA1EF U+FFE5, not U+00A5 */
    {"EUC_KR", "EUC-KR"},
    {"EUC_TW", "EUC-TW"},
    {"MULE_INTERNAL", NULL}, /* no iconv of glibc reads it */
};

struct ex_conv {
    iconv_t to_utf8, from_utf8;
    char *buf; /* the converted cells of the current row */
    size_t cap, used;
};

const char *ex_conv_iconv_name(const char *pg)
{
    for (size_t i = 0; pg && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].pg, pg) == 0)
            return names[i].iconv;
    return NULL;
}

tdi_status ex_conv_open(const char *who, const char *pg, ex_conv **out)
{
    const char *name = ex_conv_iconv_name(pg);
    ex_conv *cv;

    *out = NULL;
    if (!name) {
        tdi_debug("%s: server encoding %s: converted to UTF-8 by the server", who, pg ? pg : "?");
        return TDI_OK;
    }
    cv = calloc(1, sizeof *cv);
    if (!cv) {
        tdi_error("%s: out of memory", who);
        return TDI_ERR_INTERNAL;
    }
    cv->to_utf8 = iconv_open("UTF-8", name);
    cv->from_utf8 = iconv_open(name, "UTF-8");
    if (cv->to_utf8 == (iconv_t)-1 || cv->from_utf8 == (iconv_t)-1) {
        tdi_debug("%s: server encoding %s: iconv has no %s, converted to UTF-8 by the server", who,
                  pg, name);
        ex_conv_close(cv);
        return TDI_OK;
    }
    tdi_debug("%s: server encoding %s: read as stored, converted to UTF-8 by tdi (iconv %s)", who,
              pg, name);
    *out = cv;
    return TDI_OK;
}

void ex_conv_close(ex_conv *cv)
{
    if (!cv)
        return;
    if (cv->to_utf8 != (iconv_t)-1 && cv->to_utf8)
        iconv_close(cv->to_utf8);
    if (cv->from_utf8 != (iconv_t)-1 && cv->from_utf8)
        iconv_close(cv->from_utf8);
    free(cv->buf);
    free(cv);
}

int ex_conv_needed(const char *s, size_t len)
{
    uint64_t any = 0, w;
    size_t i = 0;

    /* Eight bytes at a time: every row of such a source is scanned (91 -> 13 ns a line of 273
     * bytes, -O2, 2026-12-08). */
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        any |= w;
    }
    for (; i < len; i++)
        any |= (unsigned char)s[i];
    return (any & 0x8080808080808080u) != 0;
}

tdi_status ex_conv_row(ex_conv *cv, size_t len)
{
    /* A byte becomes at most 3 bytes of UTF-8 (2 bytes of EUC_JIS_2004 can be 2 characters of 3)
     * or 2 escaped; one NUL a cell, and a line has no more cells than bytes. */
    size_t need = 4 * len + 1;

    cv->used = 0;
    if (need > cv->cap) {
        char *more = realloc(cv->buf, need);
        if (!more)
            return TDI_ERR_INTERNAL;
        cv->buf = more;
        cv->cap = need;
    }
    return TDI_OK;
}

int ex_conv_cell(ex_conv *cv, const char *in, const char **out)
{
    size_t len = strlen(in), left, room = cv->cap - cv->used;
    char *src = (char *)(uintptr_t)in, *dst = cv->buf + cv->used; /* iconv only reads it */
    int bad = 0;

    *out = in;
    if (!ex_conv_needed(in, len))
        return 0;
    iconv(cv->to_utf8, NULL, NULL, NULL, NULL); /* the initial state */
    for (left = len; left > 0;) {
        if (iconv(cv->to_utf8, &src, &left, &dst, &room) != (size_t)-1)
            break;
        if ((errno != EILSEQ && errno != EINVAL) || room < 2)
            return -1; /* E2BIG: ex_conv_row made too little room */
        *dst++ = (char)ESCAPE;
        *dst++ = *src++;
        room -= 2;
        left--;
        bad = 1;
    }
    if (iconv(cv->to_utf8, NULL, NULL, &dst, &room) == (size_t)-1 || room < 1)
        return -1; /* a character iconv held back, flushed */
    *dst++ = '\0';
    *out = cv->buf + cv->used;
    cv->used = (size_t)(dst - cv->buf);
    return bad;
}

tdi_status ex_conv_to_source(ex_conv *cv, const char *in, char **out, size_t *out_len)
{
    /* A character of UTF-8 is at most 1.5 times as long in a server encoding (U+00EB: 2 bytes,
     * 3 in EUC_JP), so 2 * len is room enough. */
    size_t left = strlen(in), cap = 2 * left + 16, room = cap - 1;
    char *src = (char *)(uintptr_t)in, *buf = malloc(cap), *dst = buf; /* iconv only reads src */
    tdi_status st = TDI_OK;

    *out = NULL;
    if (!buf)
        return TDI_ERR_INTERNAL;
    iconv(cv->from_utf8, NULL, NULL, NULL, NULL);
    while (left > 0 && iconv(cv->from_utf8, &src, &left, &dst, &room) == (size_t)-1) {
        if (errno == EILSEQ && (unsigned char)*src == ESCAPE && left >= 2 && room >= 1) {
            *dst++ = src[1]; /* a cell's byte that did not convert, as it was */
            room--;
            src += 2;
            left -= 2;
            continue;
        }
        st = errno == E2BIG || room < 1 ? TDI_ERR_INTERNAL : TDI_ERR_SOURCE;
        goto done;
    }
    if (iconv(cv->from_utf8, NULL, NULL, &dst, &room) == (size_t)-1) {
        st = TDI_ERR_INTERNAL;
        goto done;
    }
    *dst = '\0';
    *out = buf;
    *out_len = cap;
    buf = NULL;
done:
    if (buf) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    return st;
}
