/*
 * tx_person: national id schemes (a table: normalisation, check) and the SLK-581 linkage key
 * (see tx_person.h).
 */
#include "tx_person.h"

#include <string.h>

/* ---- national ids ---- */

/* What a check found: the index into why_text (static text, never the value). */
enum { NID_OK, NID_LENGTH, NID_NOT_DIGITS, NID_CHARS, NID_CHECK, NID_PLACEHOLDER, NID_DATE };
static const char *const why_text[] = {
    [NID_LENGTH] = "length",      [NID_NOT_DIGITS] = "not digits",   [NID_CHARS] = "characters",
    [NID_CHECK] = "check digits", [NID_PLACEHOLDER] = "placeholder", [NID_DATE] = "date",
};

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

static int upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* The number written by the digits d[0..n). */
static unsigned long long num(const char *d, size_t n)
{
    unsigned long long v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(d[i] - '0');
    return v;
}

static int all_zero(const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != '0')
            return 0;
    return 1;
}

/* 1 when d is a day of month m of year y (y < 0: the century is not known, 29 February passes). */
static int date_ok(int y, int m, int d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    return m != 2 || d != 29 || y < 0 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* Belgian national register number YYMMDDSSSCC: CC = 97 - (YYMMDDSSS mod 97), and for people
 * born from 2000 on the same over 2YYMMDDSSS. The birth date part may be partly zero (date not
 * known) or shifted (BIS numbers): the check is the same. The serial SSS counts the people born
 * on one day, 001-997 (odd for men, even for women): 000, 998 and 999 are never issued, so a
 * number with one is a placeholder (000000-000-97 passes the check) that would link everybody
 * who got it. */
static int be_rrn(const char *d, size_t len)
{
    unsigned long long base;
    unsigned check, serial;

    if (len != 11)
        return NID_LENGTH;
    serial = (unsigned)num(d + 6, 3);
    if (serial == 0 || serial > 997)
        return NID_PLACEHOLDER;
    base = num(d, 9);
    check = (unsigned)num(d + 9, 2);
    return check == 97 - base % 97 || check == 97 - (2000000000ULL + base) % 97 ? NID_OK
                                                                                : NID_CHECK;
}

/* A number written without its leading zero (a BSN's 8 digits, a DNI's 7 and its letter) gets
 * it back: the canonical form has it. */
static int pad_zero(char *d, size_t *len, int ref_year)
{
    (void)ref_year;
    if (*len == 8 && digit(d[0])) {
        memmove(d + 1, d, 9);
        d[0] = '0';
        *len = 9;
    }
    return NID_OK;
}

/* Dutch BSN, 9 digits (8: a leading zero was dropped): 9*d1 + 8*d2 + ... + 2*d8 - d9 is a
 * multiple of 11 (the 11-proef), and not all zero. */
static int nl_bsn(const char *d, size_t len)
{
    long sum = 0;

    if (len != 9)
        return NID_LENGTH;
    for (int i = 0; i < 9; i++)
        sum += i < 8 ? (9 - i) * (d[i] - '0') : -(d[i] - '0');
    return !all_zero(d, 9) && sum % 11 == 0 ? NID_OK : NID_CHECK;
}

/* French NIR (INSEE), S YY MM DD CCC OOO KK: KK = 97 - (the 13 characters mod 97), where the
 * Corsican departments 2A and 2B count as 19 and 18 (INSEE; Sécurité sociale, "clé de
 * contrôle"). The canonical form keeps 2A/2B. The order number OOO runs from 001: 000 is a
 * placeholder. Months 20-42 and 50-99 (birth month not known) are valid: no date check. */
static int fr_nir(const char *d, size_t len)
{
    char n[13];

    if (len != 15)
        return NID_LENGTH;
    memcpy(n, d, 13);
    if (d[5] == '2' && (d[6] == 'A' || d[6] == 'B')) {
        n[5] = '1';
        n[6] = d[6] == 'A' ? '9' : '8';
    }
    for (int i = 0; i < 15; i++)
        if (!digit(i < 13 ? n[i] : d[i]))
            return NID_NOT_DIGITS;
    if (num(d + 13, 2) != 97 - num(n, 13) % 97)
        return NID_CHECK;
    return all_zero(d + 10, 3) ? NID_PLACEHOLDER : NID_OK;
}

/* Spanish DNI, 8 digits + letter, and NIE, X/Y/Z + 7 digits + letter (X, Y, Z count as 0, 1,
 * 2): the letter is TRWAGMYFPDXBNJZSQVHLCKE[number mod 23] (Ministerio del Interior, "Cálculo
 * del dígito de control del NIF/NIE"). A DNI written with 7 digits lost its leading zero. The
 * number 00000000 is never issued: a placeholder. */
static int es_dni(const char *d, size_t len)
{
    static const char letters[] = "TRWAGMYFPDXBNJZSQVHLCKE", prefixes[] = "XYZ";
    const char *nie = NULL;
    unsigned long long v;

    if (len != 9)
        return NID_LENGTH;
    if (!digit(d[0]) && (nie = strchr(prefixes, d[0])) == NULL)
        return NID_CHARS;
    for (int i = 1; i < 8; i++)
        if (!digit(d[i]))
            return NID_CHARS;
    if (!upper(d[8]))
        return NID_CHARS;
    v = (nie ? (unsigned long long)(nie - prefixes) * 10000000ULL : num(d, 1) * 10000000ULL) +
        num(d + 1, 7);
    if (d[8] != letters[v % 23])
        return NID_CHECK;
    return v == 0 ? NID_PLACEHOLDER : NID_OK;
}

/* Italian codice fiscale: 6 letters (surname, name), YY, month letter, DD (+40 for women),
 * the place code (a letter and 3 digits), check letter. Where two people would share a code,
 * digits are replaced by the letters LMNPQRSTUV for 0-9 (omocodia): such a code is another
 * person's and is kept as it is. The check letter is A + (sum over the odd positions, 1-based,
 * of the odd table, plus over the even ones of the even table: digits 0-9, letters 0-25) mod 26
 * (Decreto ministeriale 23 dicembre 1976, allegato). */
static int it_cf(const char *d, size_t len)
{
    static const unsigned char odd[26] = {1,  0,  5, 7, 9, 13, 15, 17, 19, 21, 2,  4,  18,
                                          20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};
    static const char omocodes[] = "LMNPQRSTUV", months[] = "ABCDEHLMPRST";
    static const char shape[] = "LLLLLLNNMNNLNNNL"; /* L letter, N digit or omocode, M month */
    char day[2];
    unsigned sum = 0;
    int dd;

    if (len != 16)
        return NID_LENGTH;
    for (int i = 0; i < 16; i++) {
        int ok = shape[i] == 'N'   ? digit(d[i]) || (upper(d[i]) && strchr(omocodes, d[i]))
                 : shape[i] == 'M' ? upper(d[i]) && strchr(months, d[i]) != NULL
                                   : upper(d[i]);
        if (!ok)
            return NID_CHARS;
    }
    for (int i = 0; i < 2; i++)
        day[i] = digit(d[9 + i]) ? d[9 + i] : (char)('0' + (strchr(omocodes, d[9 + i]) - omocodes));
    dd = (int)num(day, 2);
    if (!date_ok(-1, (int)(strchr(months, d[8]) - months) + 1, dd > 40 ? dd - 40 : dd))
        return NID_DATE;
    for (int i = 0; i < 15; i++) {
        unsigned v = digit(d[i]) ? (unsigned)(d[i] - '0') : (unsigned)(d[i] - 'A');
        /* Odd (1-based) positions: digits share the table of the letters A-J. */
        sum += i % 2 == 0 ? odd[v] : v;
    }
    return d[15] == (char)('A' + sum % 26) ? NID_OK : NID_CHECK;
}

/* Swedish personnummer, YYMMDD-NNNC or YYYYMMDDNNNC (Skatteverket, SKV 704): C is the Luhn
 * check digit over YYMMDDNNN. Canonical form: the 12 digits. Written with 10, the century
 * follows from the reporting year: the latest year not after it, 100 years earlier when the
 * separator is '+' (the person is 100 or older). Coordination numbers have 60 added to the day.
 * Birth number 000 is never issued: a placeholder. Skatteverket's test numbers are a published
 * list, not a range (birth numbers 98x for older dates, 23x-39x for recent ones, the same as
 * real people's): they cannot be told by rule and are accepted. */
static int se_canon(char *d, size_t *len, int ref_year)
{
    char n[12];
    size_t k = 0;
    int sep = 0, y;

    for (size_t i = 0; i < *len; i++) {
        if (digit(d[i])) {
            if (k == sizeof n)
                return NID_LENGTH;
            n[k++] = d[i];
        } else if (sep || *len - i != 5) { /* one separator, before NNNC */
            return NID_NOT_DIGITS;
        } else {
            sep = d[i];
        }
    }
    if (k == 10) {
        y = ref_year - ref_year % 100 + (int)num(n, 2);
        y -= (y > ref_year ? 100 : 0) + (sep == '+' ? 100 : 0);
        memmove(n + 2, n, 10);
        n[0] = (char)('0' + y / 1000 % 10);
        n[1] = (char)('0' + y / 100 % 10);
    } else if (k != 12) {
        return NID_LENGTH;
    }
    memcpy(d, n, 12);
    d[12] = '\0';
    *len = 12;
    return NID_OK;
}

static int se_pnr(const char *n, size_t len)
{
    int sum = 0, y, m, dd;

    if (len != 12)
        return NID_LENGTH;
    y = (int)num(n, 4);
    m = (int)num(n + 4, 2);
    dd = (int)num(n + 6, 2);
    if (!date_ok(y, m, dd > 60 ? dd - 60 : dd))
        return NID_DATE;
    for (int i = 0; i < 10; i++) {
        int v = (n[2 + i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += i < 9 ? v / 10 + v % 10 : 0;
    }
    if (n[11] - '0' != (10 - sum % 10) % 10)
        return NID_CHECK;
    return all_zero(n + 8, 3) ? NID_PLACEHOLDER : NID_OK;
}

/* Danish CPR number DDMMYY-SSSS: the 7th digit and YY give the century (CPR-kontoret). Since
 * 2007 numbers that fail the old mod-11 check are issued (CPR-kontoret, "Personnumre uden
 * kontrolciffer"): the official stance is that mod 11 must not be used to reject a number, so
 * only the date is checked. */
static int dk_cpr(const char *d, size_t len)
{
    int yy, c7, y;

    if (len != 10)
        return NID_LENGTH;
    yy = (int)num(d + 4, 2);
    c7 = d[6] - '0';
    if (c7 <= 3)
        y = 1900 + yy;
    else if (c7 == 4 || c7 == 9)
        y = yy <= 36 ? 2000 + yy : 1900 + yy;
    else
        y = yy <= 57 ? 2000 + yy : 1800 + yy;
    return date_ok(y, (int)num(d + 2, 2), (int)num(d, 2)) ? NID_OK : NID_DATE;
}

/* Finnish henkilötunnus DDMMYYCZZZQ: C the century sign ('+' 1800s; '-' and, since 2023, Y X W
 * V U 1900s; A and B C D E F 2000s), ZZZ the individual number, Q =
 * 0123456789ABCDEFHJKLMNPRSTUVWXY[DDMMYYZZZ mod 31] (Digital and Population Data Services
 * Agency, DVV). The sign is part of the code (kept). ZZZ 002-899 are issued; 900-999 are
 * temporary codes and 000-001 unused: placeholders. */
static int fi_hetu(const char *d, size_t len)
{
    static const char checks[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
    static const char signs[] = "+-YXWVUABCDEF";
    char n[9];
    const char *sign;
    unsigned serial;
    int y;

    if (len != 11)
        return NID_LENGTH;
    for (int i = 0; i < 10; i++)
        if (i != 6 && !digit(d[i]))
            return NID_NOT_DIGITS;
    if ((sign = strchr(signs, d[6])) == NULL || !(digit(d[10]) || upper(d[10])))
        return NID_CHARS;
    y = (sign == signs ? 1800 : sign - signs < 7 ? 1900 : 2000) + (int)num(d + 4, 2);
    if (!date_ok(y, (int)num(d + 2, 2), (int)num(d, 2)))
        return NID_DATE;
    memcpy(n, d, 6);
    memcpy(n + 6, d + 7, 3);
    if (d[10] != checks[num(n, 9) % 31])
        return NID_CHECK;
    serial = (unsigned)num(d + 7, 3);
    return serial < 2 || serial >= 900 ? NID_PLACEHOLDER : NID_OK;
}

/* One mod-11 check digit over d[0..n) with weights w: 11 - (sum mod 11), 11 -> 0, 10 means no
 * valid number (-1). */
static int mod11(const char *d, const int *w, int n)
{
    int sum = 0, k;

    for (int i = 0; i < n; i++)
        sum += w[i] * (d[i] - '0');
    k = 11 - sum % 11;
    return k == 11 ? 0 : k == 10 ? -1 : k;
}

/* Norwegian fødselsnummer DDMMYYIIIK1K2: two mod-11 check digits, weights 3 7 6 1 8 9 4 5 2
 * and 5 4 3 2 7 6 5 4 3 2 (Skatteetaten). D-numbers add 40 to the day, H-numbers 40 to the
 * month; the individual number III and YY give the century. Skatteetaten's synthetic test
 * numbers (Tenor) add 80 to the month: placeholders. */
static int no_fnr(const char *d, size_t len)
{
    static const int w1[] = {3, 7, 6, 1, 8, 9, 4, 5, 2}, w2[] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
    int dd, m, yy, ind, y;

    if (len != 11)
        return NID_LENGTH;
    if (mod11(d, w1, 9) != d[9] - '0' || mod11(d, w2, 10) != d[10] - '0')
        return NID_CHECK;
    dd = (int)num(d, 2);
    m = (int)num(d + 2, 2);
    yy = (int)num(d + 4, 2);
    ind = (int)num(d + 6, 3);
    if (m > 80)
        return NID_PLACEHOLDER;
    if (ind < 500)
        y = 1900 + yy;
    else if (ind < 750 && yy >= 54)
        y = 1800 + yy;
    else if (yy < 40)
        y = 2000 + yy;
    else if (ind >= 900)
        y = 1900 + yy;
    else
        return NID_DATE; /* 500-899 with YY 40-99 (500-749: 40-53) gives no century */
    return date_ok(y, m > 40 ? m - 40 : m, dd > 40 ? dd - 40 : dd) ? NID_OK : NID_DATE;
}

/* Polish PESEL YYMMDDZZZXQ: Q = (10 - (1 3 7 9 1 3 7 9 1 3 . digits) mod 10) mod 10; the month
 * carries the century: +80 1800s, +0 1900s, +20 2000s, +40 2100s, +60 2200s (Ustawa o
 * ewidencji ludności, MSWiA). */
static int pl_pesel(const char *d, size_t len)
{
    static const int w[] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
    int sum = 0, m;

    if (len != 11)
        return NID_LENGTH;
    m = (int)num(d + 2, 2);
    if (!date_ok((m >= 80 ? 1800 : 1900 + m / 20 * 100) + (int)num(d, 2), m % 20,
                 (int)num(d + 4, 2)))
        return NID_DATE;
    for (int i = 0; i < 10; i++)
        sum += w[i] * (d[i] - '0');
    return d[10] - '0' == (10 - sum % 10) % 10 ? NID_OK : NID_CHECK;
}

/* Czech and Slovak rodné číslo YYMMDD/SSS(C): 9 digits for people born before 1954 (no check);
 * 10 digits otherwise, the number a multiple of 11, except that a YYMMDDSSS with remainder 10
 * has check digit 0 (issued until 1985; zákon 133/2000 Sb., § 13). The month has 50 added for
 * women and, from 2004 when a day's numbers run out, 20 more. */
static int cz_rc(const char *d, size_t len)
{
    int yy, y, m, c;

    if (len != 9 && len != 10)
        return NID_LENGTH;
    yy = (int)num(d, 2);
    if (len == 9 && yy >= 54)
        return NID_LENGTH; /* 9 digits were issued up to 1953 only */
    y = (len == 9 || yy >= 54 ? 1900 : 2000) + yy;
    m = (int)num(d + 2, 2) % 50;
    if (m > 20 && y >= 2004)
        m -= 20;
    if (!date_ok(y, m, (int)num(d + 4, 2)))
        return NID_DATE;
    if (len == 10) {
        c = (int)(num(d, 9) % 11);
        if (d[9] - '0' != (c == 10 ? 0 : c))
            return NID_CHECK;
    }
    return NID_OK;
}

/* An id of the register's own: no check; only zeros is a placeholder. */
static int plain(const char *d, size_t len)
{
    if (len == 0)
        return NID_LENGTH;
    return all_zero(d, len) ? NID_PLACEHOLDER : NID_OK;
}

/* The schemes: what is dropped from the raw value (the rest is upper-cased), which characters
 * may remain besides digits (letters: any A-Z; extra: these), what rewrites the value into its
 * canonical form (NULL: it is already), and the check. Indexed by tdi_nid_scheme. */
typedef struct nid_scheme {
    const char *drop;
    int letters;
    const char *extra;
    int (*canon)(char *d, size_t *len, int ref_year);
    int (*check)(const char *d, size_t len);
} nid_scheme;

#define SEPARATORS " \t.-/"
static const nid_scheme schemes[TDI_NID_SCHEME_COUNT] = {
    [TDI_NID_BE_RRN] = {SEPARATORS, 0, "", NULL, be_rrn},
    [TDI_NID_NL_BSN] = {SEPARATORS, 0, "", pad_zero, nl_bsn},
    [TDI_NID_FR_NIR] = {SEPARATORS, 1, "", NULL, fr_nir},
    [TDI_NID_ES_DNI] = {SEPARATORS, 1, "", pad_zero, es_dni},
    [TDI_NID_IT_CF] = {SEPARATORS, 1, "", NULL, it_cf},
    [TDI_NID_SE_PNR] = {" \t.", 0, "-+", se_canon, se_pnr}, /* '+' and '-' tell the century */
    [TDI_NID_DK_CPR] = {SEPARATORS, 0, "", NULL, dk_cpr},
    [TDI_NID_FI_HETU] = {" \t.", 1, "+-", NULL, fi_hetu}, /* the century sign may be '-' */
    [TDI_NID_NO_FNR] = {SEPARATORS, 0, "", NULL, no_fnr},
    [TDI_NID_PL_PESEL] = {SEPARATORS, 0, "", NULL, pl_pesel},
    [TDI_NID_CZ_RC] = {SEPARATORS, 0, "", NULL, cz_rc},
    [TDI_NID_PLAIN] = {SEPARATORS "_:", 1, "", NULL, plain},
};

int tx_person_nid(tdi_nid_scheme scheme, const char *raw, int ref_year, char out[TX_NID_MAX + 1],
                  const char **why)
{
    const nid_scheme *sc = (unsigned)scheme < TDI_NID_SCHEME_COUNT ? &schemes[scheme] : NULL;
    char buf[TX_NID_MAX + 1];
    size_t n = 0;
    int r = NID_OK;

    if (!sc || !sc->check) {
        *why = why_text[NID_LENGTH];
        return -1;
    }
    for (const char *s = raw; *s && r == NID_OK; s++) {
        char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;

        if (strchr(sc->drop, c))
            continue;
        if (!digit(c) && !(sc->letters && upper(c)) && !strchr(sc->extra, c))
            r = sc->letters ? NID_CHARS : NID_NOT_DIGITS;
        else if (n < TX_NID_MAX) /* a canonical form is never longer than the value */
            buf[n++] = c;
        else
            r = NID_LENGTH;
    }
    if (r == NID_OK) {
        buf[n] = '\0';
        r = sc->canon ? sc->canon(buf, &n, ref_year) : NID_OK;
        if (r == NID_OK)
            r = sc->check(buf, n);
    }
    if (r != NID_OK) {
        *why = why_text[r];
        explicit_bzero(buf, sizeof buf);
        return -1;
    }
    memcpy(out, buf, n);
    out[n] = '\0';
    explicit_bzero(buf, sizeof buf);
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
