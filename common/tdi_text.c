/* tdi_text: line reader, field splitter and small string checks; see tdi_text.h. */
#define _GNU_SOURCE /* getline */
#include "tdi_text.h"

#include "tdi_log.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

tdi_status tdi_lines_open(tdi_lines *lr, const char *path, tdi_status err_class)
{
    memset(lr, 0, sizeof *lr);
    lr->path = path;
    lr->fp = fopen(path, "re");
    if (!lr->fp) {
        tdi_error("%s: cannot open: %s", path, strerror(errno));
        return err_class;
    }
    return TDI_OK;
}

int tdi_lines_next(tdi_lines *lr, char **line)
{
    ssize_t n;

    errno = 0;
    n = getline(&lr->buf, &lr->cap, lr->fp);
    if (n < 0) {
        if (ferror(lr->fp)) {
            tdi_error("%s: read error: %s", lr->path, strerror(errno ? errno : EIO));
            return -1;
        }
        return 0;
    }
    lr->lineno++;
    /* A byte order mark, as Windows editors save UTF-8, is no part of the first line. */
    if (lr->lineno == 1 && n >= 3 && memcmp(lr->buf, TDI_UTF8_BOM, 3) == 0) {
        n -= 3;
        memmove(lr->buf, lr->buf + 3, (size_t)n + 1);
    }
    if (n > 0 && lr->buf[n - 1] == '\n')
        lr->buf[--n] = '\0';
    if (n > 0 && lr->buf[n - 1] == '\r')
        lr->buf[--n] = '\0';
    if (memchr(lr->buf, '\0', (size_t)n) || !tdi_utf8_ok(lr->buf, (size_t)n)) {
        tdi_error("%s:%lu: line is not valid UTF-8 text", lr->path, lr->lineno);
        return -1;
    }
    *line = lr->buf;
    return 1;
}

void tdi_lines_close(tdi_lines *lr)
{
    if (lr->fp)
        fclose(lr->fp);
    free(lr->buf);
    memset(lr, 0, sizeof *lr);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int tdi_split_fields(char *line, char **fields, int max, const char **why)
{
    int n = 0;
    char *p = line;

    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            return n;
        if (n == max) {
            *why = "too many fields";
            return -1;
        }
        if (*p == '"') {
            /* Unescape in place: w trails p. */
            char *w = ++p;
            fields[n++] = w;
            for (;;) {
                if (*p == '\0') {
                    *why = "unterminated quote";
                    return -1;
                }
                if (*p == '"')
                    break;
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                *w++ = *p++;
            }
            p++;
            if (*p != '\0' && !is_blank(*p)) {
                *w = '\0';
                *why = "a quoted field must be followed by a blank";
                return -1;
            }
            *w = '\0';
            if (*p)
                p++;
        } else {
            fields[n++] = p;
            while (*p && !is_blank(*p))
                p++;
            if (*p)
                *p++ = '\0';
        }
    }
}

char *tdi_trim(char *s)
{
    size_t n;

    while (is_blank(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 ? 28 + leap : days[m - 1];
}

int tdi_parse_date(const char *s, int *ymd)
{
    int y, m, d;

    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return -1;
        } else if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    if (s[10] != '\0')
        return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *ymd = y * 10000 + m * 100 + d;
    return 0;
}

int tdi_age_years(int birth_ymd, int at_ymd)
{
    /* Comparing MMDD works for every birthday, 29 February included: on 28 February of a
     * common year 0228 < 0229, so the year is not complete until 1 March. */
    int age = at_ymd / 10000 - birth_ymd / 10000;

    if (at_ymd % 10000 < birth_ymd % 10000)
        age--;
    return age;
}

/* Days since 1 March of year 0 (Howard Hinnant's days_from_civil, shifted: the epoch cancels). */
static long days_from_civil(int ymd)
{
    long y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
    long era, yoe, doy;

    y -= m <= 2;
    y += 400; /* year 0000 parses: keep y >= 0 (the shift cancels in a difference) */
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;
}

long tdi_days_between(int from_ymd, int to_ymd)
{
    return days_from_civil(to_ymd) - days_from_civil(from_ymd);
}

int tdi_name_ok(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= max;
}

/* The length of the well-formed UTF-8 sequence that starts with the non-ASCII byte s[0], of at
 * most left bytes, or 0 when there is none (RFC 3629: shortest forms, no surrogates, at most
 * U+10FFFF). A NUL ends it as any byte that is not a continuation does. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned c = s[0], cp;
    size_t need;

    if (c >= 0xc2 && c <= 0xdf)
        need = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        need = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 3, cp = c & 0x07;
    else
        return 0;
    if (need >= left)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need + 1;
}

int tdi_utf8_ok(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        size_t n = 1;

        if (s[i] < 0x80) {
            if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
                return 0;
        } else if ((n = utf8_sequence(s + i, len - i)) == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}

int tdi_utf8_str_ok(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s) {
        size_t n = *s < 0x80 ? 1 : utf8_sequence(s, SIZE_MAX);

        if (n == 0)
            return 0;
        s += n;
    }
    return 1;
}

void tdi_utf8_repair(char *str)
{
    unsigned char *s = (unsigned char *)str;

    while (*s) {
        size_t n = *s < 0x80 ? 1 : utf8_sequence(s, SIZE_MAX);

        if (n == 0) {
            *s = '?';
            n = 1;
        }
        s += n;
    }
}

void tdi_clean_value(char *dst, size_t dstlen, const char *src)
{
    size_t n = 0, srclen;

    if (dstlen == 0)
        return;
    if (!src) {
        snprintf(dst, dstlen, "NULL");
        return;
    }
    srclen = strlen(src);
    for (size_t i = 0; i < srclen && n + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
    if (srclen > n && dstlen > 4)
        memcpy(dst + dstlen - 4, "...", 4);
}

size_t tdi_decimal(char out[TDI_DECIMAL_MAX], long long v)
{
    /* the magnitude as unsigned: -LLONG_MIN does not fit a long long */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char rev[TDI_DECIMAL_MAX];
    size_t n = 0, len = 0;

    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = rev[--n];
    out[len] = '\0';
    return len;
}

size_t tdi_append(char *dst, size_t cap, size_t len, const char *src)
{
    size_t n = strlen(src);

    if (n > cap - 1 - len)
        n = cap - 1 - len;
    memcpy(dst + len, src, n);
    dst[len + n] = '\0';
    return len + n;
}

void tdi_hex_encode(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* A hex digit's value + 1, 0 for any other byte: a table, not a test per byte, since every
 * record passes about 150 digits into the state database and a night 2M keys' (issue 16). */
#define HEX_DIGITS                                                                                 \
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,        \
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16
static const unsigned char lower_hex[256] = {HEX_DIGITS};
static const unsigned char any_hex[256] = {
    HEX_DIGITS, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16};

int tdi_hex_decode(unsigned char *out, const char *hex, size_t ndigits, int any_case)
{
    const unsigned char *table = any_case ? any_hex : lower_hex;
    unsigned bad = 0;

    for (size_t i = 0; i + 1 < ndigits; i += 2) {
        unsigned hi = table[(unsigned char)hex[i]], lo = table[(unsigned char)hex[i + 1]];

        bad |= (hi == 0) | (lo == 0);
        out[i / 2] = (unsigned char)((hi - 1) << 4 | ((lo - 1) & 0xf));
    }
    return !bad;
}

int tdi_hex_key(unsigned char *out, const char *key, const char *prefix, size_t nbytes)
{
    size_t plen = strlen(prefix);

    /* the length first: the decoder reads every digit asked for, past a short key's NUL too */
    return strncmp(key, prefix, plen) == 0 && strnlen(key + plen, 2 * nbytes + 1) == 2 * nbytes &&
           tdi_hex_decode(out, key + plen, 2 * nbytes, 0);
}
