/*
 * tx_person: national id check digits and the SLK-581 linkage key (see tx_person.h).
 */
#include "tx_person.h"

#include <string.h>

/* ---- national ids ---- */

/* Belgian national register number YYMMDDSSSCC: CC = 97 - (YYMMDDSSS mod 97), and for people
 * born from 2000 on the same over 2YYMMDDSSS. The birth date part may be partly zero (date not
 * known) or shifted (BIS numbers): the check is the same. The serial SSS counts the people born
 * on one day, 001-997 (odd for men, even for women): 000, 998 and 999 are never issued, so a
 * number with one is a placeholder (000000-000-97 passes the check) that would link everybody
 * who got it (2: refused). */
static int be_rrn_ok(const char *d, size_t len)
{
    unsigned long long base = 0;
    unsigned check, serial;

    if (len != 11)
        return -1;
    serial = (unsigned)(d[6] - '0') * 100 + (unsigned)(d[7] - '0') * 10 + (unsigned)(d[8] - '0');
    if (serial == 0 || serial > 997)
        return 2;
    for (int i = 0; i < 9; i++)
        base = base * 10 + (unsigned)(d[i] - '0');
    check = (unsigned)(d[9] - '0') * 10 + (unsigned)(d[10] - '0');
    return check == 97 - base % 97 || check == 97 - (2000000000ULL + base) % 97 ? 0 : 1;
}

/* Dutch BSN, 9 digits: 9*d1 + 8*d2 + ... + 2*d8 - d9 is a multiple of 11 (the 11-proef), and
 * not all zero. */
static int nl_bsn_ok(const char *d, size_t len)
{
    long sum = 0;
    int nonzero = 0;

    if (len != 9)
        return -1;
    for (int i = 0; i < 9; i++) {
        int v = d[i] - '0';
        sum += i < 8 ? (9 - i) * v : -v;
        nonzero |= v;
    }
    return nonzero && sum % 11 == 0 ? 0 : 1;
}

int tx_person_nid(tdi_nid_scheme scheme, const char *raw, char digits[TX_NID_MAX + 1],
                  const char **why)
{
    char buf[TX_NID_MAX + 2];
    size_t n = 0;
    int r;

    for (const char *s = raw; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '.' || *s == '-' || *s == '/')
            continue;
        if (*s < '0' || *s > '9') {
            *why = "not digits";
            return -1;
        }
        if (n < sizeof buf - 1)
            buf[n] = *s;
        n++;
    }
    if (n >= sizeof buf - 1) {
        *why = "length";
        return -1;
    }
    buf[n] = '\0';
    if (scheme == TDI_NID_NL_BSN && n == 8) { /* a BSN written without its leading zero */
        memmove(buf + 1, buf, n + 1);
        buf[0] = '0';
        n++;
    }
    switch (scheme) {
    case TDI_NID_BE_RRN:
        r = be_rrn_ok(buf, n);
        break;
    case TDI_NID_NL_BSN:
        r = nl_bsn_ok(buf, n);
        break;
    default:
        r = -1;
        break;
    }
    if (r != 0) {
        *why = r < 0 ? "length" : r == 2 ? "placeholder" : "check digits";
        memset(buf, 0, sizeof buf);
        return -1;
    }
    memcpy(digits, buf, n + 1);
    memset(buf, 0, sizeof buf);
    return 0;
}

/* ---- SLK-581 ---- */

/* Base letters of U+00C0..U+00FF ('.' for the two that are no letter) and U+0100..U+017F. */
static const char latin1[] = "AAAAAAACEEEEIIIIDNOOOOO.OUUUUYTS"
                             "AAAAAAACEEEEIIIIDNOOOOO.OUUUUYTY";
static const char latin_ext_a[] = "AAAAAACCCCCCCCDDDDEEEEEEEEEEGGGGGGGGHHHHIIIIIIIIIIIIJJKKK"
                                  "LLLLLLLLLLNNNNNNNNNOOOOOOOORRRRRRSSSSSSSSTTTTTTUUUUUUUUUUUU"
                                  "WWYYYZZZZZZS";

/* The next letter of the name at *s (A-Z), advancing past it; 0 at the end. Bytes that do not
 * start a letter are skipped. */
static char next_letter(const unsigned char **s)
{
    while (**s) {
        unsigned char c = **s;
        unsigned cp;

        if (c < 0x80) {
            (*s)++;
            if (c >= 'a' && c <= 'z')
                return (char)(c - 'a' + 'A');
            if (c >= 'A' && c <= 'Z')
                return (char)c;
            continue;
        }
        /* Two-byte UTF-8 covers U+0080..U+07FF: all the Latin letters we fold. */
        if ((c & 0xe0) == 0xc0 && ((*s)[1] & 0xc0) == 0x80) {
            cp = (unsigned)(c & 0x1f) << 6 | ((*s)[1] & 0x3f);
            *s += 2;
            if (cp >= 0xc0 && cp <= 0xff && latin1[cp - 0xc0] != '.')
                return latin1[cp - 0xc0];
            if (cp >= 0x100 && cp <= 0x17f)
                return latin_ext_a[cp - 0x100];
            continue;
        }
        (*s)++; /* any other byte: skipped */
    }
    return 0;
}

/* Letters at the 1-based positions pos[0..n) of name, '2' where the name is too short.
 * Returns the number of letters in the name (up to the last position asked). */
static int take_letters(const char *name, const int *pos, int n, char *out)
{
    const unsigned char *s = (const unsigned char *)name;
    int count = 0, k = 0;
    char c;

    for (int i = 0; i < n; i++)
        out[i] = '2';
    while (k < n && (c = next_letter(&s)) != 0) {
        count++;
        if (count == pos[k])
            out[k++] = c;
    }
    return count;
}

int tx_person_slk581(const char *family, const char *given, int birth_ymd, char sex_digit,
                     char out[TX_SLK581_LEN + 1])
{
    static const int family_pos[] = {2, 3, 5}, given_pos[] = {2, 3};
    int y = birth_ymd / 10000, m = birth_ymd / 100 % 100, d = birth_ymd % 100;

    if (!family || !given || birth_ymd <= 0 || y > 9999)
        return -1;
    /* The SLK itself never holds letter 1, but a name without any letter is no name. */
    if (take_letters(family, family_pos, 3, out) == 0 ||
        take_letters(given, given_pos, 2, out + 3) == 0) {
        memset(out, 0, TX_SLK581_LEN + 1);
        return -1;
    }
    /* DDMMYYYY, digit by digit: each part is in range, checked above. */
    out[5] = (char)('0' + d / 10);
    out[6] = (char)('0' + d % 10);
    out[7] = (char)('0' + m / 10);
    out[8] = (char)('0' + m % 10);
    for (int i = 12; i >= 9; i--, y /= 10)
        out[i] = (char)('0' + y % 10);
    out[13] = sex_digit;
    out[14] = '\0';
    return 0;
}
